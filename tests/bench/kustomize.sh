#!/bin/bash
# Benchmark: build every case of the Kustomize parity corpus
# (tests/integration/kustomize-parity/cases) ROUNDS times with edgecd's
# built-in Kustomize (`edgecd render`) and with the reference, real
# `kubectl kustomize` (kubectl 1.35, kustomize 5.7). Both run as one
# process per build, as the appliance and Argo CD's repo server do.
# Prints wall times and the ratio (edgecd / kubectl: below 1 is better).
# usage: tests/bench/kustomize.sh [BUILD_DIR] [ROUNDS]   (default build/release, 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
rounds=${2:-5}
edgecd=$PWD/$build/appliance/edgecd
kubectl=$PWD/$build/tools/kubectl
[ -x "$edgecd" ] || { echo "build first: no $edgecd" >&2; exit 1; }
sh tests/tools/get-kubectl.sh "$PWD/$build/tools" >/dev/null
corpus=tests/integration/kustomize-parity/cases
cases=$(ls "$corpus")
ncases=$(echo "$cases" | wc -w)

now() { date +%s.%N; }
run_edgecd() {
    for c in $cases; do
        rel=.
        [ -f "$corpus/$c/ROOT" ] && rel=$(cat "$corpus/$c/ROOT")
        "$edgecd" render "$corpus/$c" --path "$rel" >/dev/null
    done
}
run_kubectl() {
    for c in $cases; do
        rel=.
        [ -f "$corpus/$c/ROOT" ] && rel=$(cat "$corpus/$c/ROOT")
        "$kubectl" kustomize "$corpus/$c/$rel" >/dev/null 2>&1
    done
}
run_edgecd
run_kubectl # warm the page cache for both
t0=$(now)
for _ in $(seq "$rounds"); do run_edgecd; done
t1=$(now)
for _ in $(seq "$rounds"); do run_kubectl; done
t2=$(now)
python3 - "$t0" "$t1" "$t2" "$rounds" "$ncases" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4]); rounds, n = int(sys.argv[4]), int(sys.argv[5])
e, k = t1 - t0, t2 - t1
print("kustomize builds: %d cases x %d rounds" % (n, rounds))
print("  edgecd render       %7.3f s  (%.2f ms per build)" % (e, 1000 * e / (n * rounds)))
print("  kubectl kustomize   %7.3f s  (%.2f ms per build)" % (k, 1000 * k / (n * rounds)))
print("  ratio edgecd/kubectl %.3f  (goal: under 0.1)" % (e / k))
PY
