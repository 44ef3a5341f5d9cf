#!/bin/bash
# Benchmark: syncing N objects from Git into a cluster (kubesim), edgecd
# against the reference, real kubectl 1.35, in the same run.
#   first sync:  `edgecd serve` from start until the app reports Synced with
#                N resources, vs `kubectl apply --server-side -f DIR`
#   no-op pass:  one more reconcile with nothing changed (compare only),
#                vs `kubectl diff --server-side -f DIR`
#   memory:      peak RSS of edgecd serve vs peak RSS of kubectl apply
#   size:        the static edgecd binary
# usage: tests/bench/sync.sh [BUILD_DIR] [N]   (default build/release, 300)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-300}
export EDGECD_TEST_TMP=$PWD/$build/test-tmp EDGECD_BIN=$PWD/$build/appliance/edgecd
export EDGECD_KUBESIM=$PWD/$build/tests/kubesim/kubesim EDGECD_KUBECTL=$PWD/$build/tools/kubectl
sh tests/tools/get-kubectl.sh "$PWD/$build/tools"
mkdir -p "$EDGECD_TEST_TMP"
. tests/e2e/lib.sh

now() { date +%s.%N; }
peak_rss_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/objs"
for i in $(seq 1 "$n"); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\n  labels: {bench: "yes"}\ndata:\n  index: "%d"\n  text: some configuration value for item %d\n' \
        "$i" "$i" "$i" >"$repo/objs/cm-$i.yaml"
done
git -C "$repo" init -q -b main
e2e_commit "$repo" bench

# kubesim speaks JSON and YAML, not protobuf (what `kubectl create namespace`
# sends), so namespaces are made by server-side apply.
make_ns() { printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$1" |
    $KUBECTL apply --server-side -f - >/dev/null; }

# Reference: kubectl into namespace kubectl-ns.
make_ns kubectl-ns
t0=$(now)
python3 - "$work/kubectl.rss" $KUBECTL apply --server-side -n kubectl-ns -f "$repo/objs" <<'PY' >/dev/null
import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
t1=$(now)
kubectl_apply=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
$KUBECTL diff --server-side -n kubectl-ns -f "$repo/objs" >/dev/null || true
t1=$(now)
kubectl_diff=$(echo "$t1 - $t0" | bc -l)

# edgecd into namespace edgecd-ns; a long poll so the second pass is timed
# by the log line, not by waiting.
make_ns edgecd-ns
e2e_write_site bench "file://$repo" main objs edgecd-ns
sed -i 's/^pollSeconds: 1/pollSeconds: 2/' "$work/site.yaml"
t0=$(now)
e2e_start_serve
serve_pid=${pids[-1]}
until app_field bench "len(o['status']['resources'])" "$n" 2>/dev/null &&
    app_field bench "o['status']['sync']['status']" Synced 2>/dev/null; do sleep 0.05; done
t1=$(now)
edgecd_first=$(echo "$t1 - $t0" | bc -l)
# No-op passes: time two consecutive reconcile passes from the log.
sleep 5
edgecd_rss=$(peak_rss_kb "$serve_pid")
edgecd_noop=$(python3 - "$work/serve.log" <<'PY'
import sys, re, datetime
# pass timing: the gap between consecutive "reconciled" lines is the pass
# plus the poll wait; edgecd logs each pass's duration itself.
d=[float(m.group(1)) for m in re.finditer(r'reconciled bench in ([0-9.]+)s', open(sys.argv[1]).read())]
print(min(d[1:]) if len(d) > 1 else float('nan'))
PY
)
kubectl_rss=$(cat "$work/kubectl.rss")
size=$(stat -c %s "$EDGECD_BIN")

printf '\nsync of %d ConfigMaps into kubesim (same run)\n' "$n"
printf '%-28s %10s %10s %8s\n' "measure" "edgecd" "kubectl" "ratio"
printf '%-28s %9.2fs %9.2fs %8.2f\n' "first sync (apply all)" "$edgecd_first" "$kubectl_apply" "$(echo "$edgecd_first / $kubectl_apply" | bc -l)"
printf '%-28s %9.2fs %9.2fs %8.2f\n' "no-op pass (compare all)" "$edgecd_noop" "$kubectl_diff" "$(echo "$edgecd_noop / $kubectl_diff" | bc -l)"
printf '%-28s %8dMB %8dMB %8.2f\n' "peak RSS" "$((edgecd_rss / 1024))" "$((kubectl_rss / 1024))" "$(echo "$edgecd_rss / $kubectl_rss" | bc -l)"
printf '%-28s %9.1fMB\n' "edgecd binary (static)" "$(echo "$size / 1048576" | bc -l)"
