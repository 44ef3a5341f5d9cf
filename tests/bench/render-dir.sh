#!/bin/bash
# Benchmark: rendering a directory source of N files (2 objects each: a
# ConfigMap and a Deployment; 20 subfolders, recurse on) with `edgecd
# render` from a local folder. The reference is `kubectl kustomize` of a
# generated kustomization listing the same files (kubectl's own reader and
# YAML writer, no cluster needed). Prints seconds, objects per second and
# the ratio (edgecd / kubectl: below 1 is better).
# usage: tests/bench/render-dir.sh [BUILD_DIR] [FILES]   (default build/release, 2000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-2000}
bin=$PWD/$build/appliance/edgecd
kubectl=$PWD/$build/tools/kubectl
[ -x "$bin" ] || { echo "build first: no $bin" >&2; exit 1; }
sh tests/tools/get-kubectl.sh "$PWD/$build/tools" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/render-dir-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

python3 - "$work/src" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
names = []
for i in range(n):
    d = os.path.join(root, "team-%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    rel = "team-%02d/app-%04d.yaml" % (i % 20, i)
    names.append(rel)
    with open(os.path.join(root, rel), "w") as f:
        f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-%04d\n  labels: {app: a%04d}\n"
                "data:\n  mode: edge\n  index: \"%d\"\n---\n" % (i, i, i))
        f.write("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-%04d\nspec:\n"
                "  replicas: 1\n  selector: {matchLabels: {app: a%04d}}\n  template:\n"
                "    metadata: {labels: {app: a%04d}}\n    spec:\n      containers:\n"
                "      - name: web\n        image: nginx:1.27\n        envFrom: [{configMapRef: {name: cfg-%04d}}]\n"
                % (i, i, i, i))
os.makedirs(root + "-k", exist_ok=True)
with open(os.path.join(root + "-k", "kustomization.yaml"), "w") as f:
    f.write("resources:\n" + "".join("- ../src/%s\n" % r for r in names))
PY
objects=$((2 * n))

t0=$(now)
"$bin" render "$work/src" --recurse >"$work/edgecd.yaml"
t1=$(now)
"$kubectl" kustomize "$work/src-k" --load-restrictor LoadRestrictionsNone >"$work/kubectl.yaml"
t2=$(now)
got=$(grep -c '^kind:' "$work/edgecd.yaml")
want=$(grep -c '^kind:' "$work/kubectl.yaml")
[ "$got" = "$objects" ] && [ "$want" = "$objects" ] || { echo "object counts: edgecd $got, kubectl $want, want $objects" >&2; exit 1; }
python3 - "$t0" "$t1" "$t2" "$n" "$objects" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4]); n, objs = int(sys.argv[4]), int(sys.argv[5])
e, k = t1 - t0, t2 - t1
print("directory render: %d files, %d objects" % (n, objs))
print("  edgecd render       %6.3f s  %8.0f objects/s" % (e, objs / e))
print("  kubectl kustomize   %6.3f s  %8.0f objects/s" % (k, objs / k))
print("  ratio edgecd/kubectl %.3f" % (e / k))
PY
