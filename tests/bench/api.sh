#!/bin/bash
# Benchmark: the API under load while the engine works. `edgecd serve`
# keeps APPS Applications (RESOURCES ConfigMaps each, one folder per app
# in a real Git repository) in step with kubesim, polling every POLL
# seconds, so passes run during the measurement; wrk (Debian's) then
# requests GET /api/v1/applications over HTTPS with the bearer token for
# DURATION seconds on CONNECTIONS kept-alive connections.
# Reference in the same run: the same wrk against GET /healthz (the
# server's floor: TLS, the request path, a tiny answer), and the ratio.
# Memory: VmRSS (highest seen, sampled every 0.2 s) and VmHWM of
# edgecd serve during each run.
# usage: tests/bench/api.sh [BUILD_DIR] [APPS] [RESOURCES]
#        (default build/release 100 5; environment: DURATION=15,
#        CONNECTIONS=8, THREADS=2, POLL=5)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
apps=${2:-100}
per=${3:-5}
duration=${DURATION:-15}
conns=${CONNECTIONS:-8}
threads=${THREADS:-2}
poll=${POLL:-5}
export EDGECD_TEST_TMP=$PWD/$build/test-tmp EDGECD_BIN=$PWD/$build/appliance/edgecd
export EDGECD_KUBESIM=$PWD/$build/tests/kubesim/kubesim EDGECD_KUBECTL=$PWD/$build/tools/kubectl
[ -x "$EDGECD_BIN" ] && [ -x "$EDGECD_KUBESIM" ] || { echo "build first: no $EDGECD_BIN" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (tests/tools/install-packages.sh)" >&2; exit 1; }
mkdir -p "$EDGECD_TEST_TMP"
. tests/e2e/lib.sh

repo=$work/repo
python3 - "$repo" "$apps" "$per" <<'PY'
import os, sys
repo, apps, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for a in range(apps):
    d = os.path.join(repo, "apps", "app-%03d" % a)
    os.makedirs(d)
    for j in range(per):
        open(os.path.join(d, "cm-%02d.yaml" % j), "w").write(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%02d\ndata:\n"
            "  text: value %d of app %d\n" % (j, j, a))
PY
git -C "$repo" init -q -b main
e2e_commit "$repo" bench
e2e_start_kubesim
{
    cat <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
listen: 127.0.0.1:0
pollSeconds: $poll
logLevel: info
clusters:
  - kubeconfig: $work/sim/kubeconfig
YAML
    for a in $(seq 0 $((apps - 1))); do
        cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $(printf app-%03d "$a")}
spec:
  source: {repoURL: 'file://$repo', targetRevision: main, path: $(printf apps/app-%03d "$a")}
  destination: {server: 'https://kubernetes.default.svc', namespace: $(printf bench-%03d "$a")}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
YAML
    done
} >"$work/site.yaml"
e2e_start_serve
serve_pid=${pids[-1]}

synced_count() {
    api_curl -s -H "Authorization: Bearer $EDGECD_TOKEN" "$EDGECD_SERVER/api/v1/applications" |
        python3 -c 'import json,sys; print(sum(a["status"]["sync"]["status"] == "Synced" for a in json.load(sys.stdin)["items"]))'
}
all_synced() { [ "$(synced_count)" = "$apps" ]; }
wait_for 600 "all $apps apps Synced" all_synced
size=$(api_curl -s -H "Authorization: Bearer $EDGECD_TOKEN" "$EDGECD_SERVER/api/v1/applications" | wc -c)

# run NAME PATH: wrk against PATH while sampling serve's memory; prints
# "requests/s p99_ms max_rss_kb hwm_kb"
run() {
    local out=$work/wrk-$1.txt max=0 rss
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency \
        -H "Authorization: Bearer $EDGECD_TOKEN" "$EDGECD_SERVER$2" >"$out" 2>&1 &
    local wrk_pid=$!
    while kill -0 "$wrk_pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")
        [ "$rss" -gt "$max" ] && max=$rss
        sleep 0.2
    done
    wait "$wrk_pid" || fail "wrk failed: $(cat "$out")"
    grep -q 'Non-2xx' "$out" && fail "wrk saw errors: $(cat "$out")"
    python3 - "$out" "$max" "$(awk '/^VmHWM:/ {print $2}' "/proc/$serve_pid/status")" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
v, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", text).groups()
p99 = float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print("%.0f %.2f %s %s" % (rps, p99, sys.argv[2], sys.argv[3]))
PY
}
# reconcile passes so far, from the server's own metrics
passes() {
    api_curl -s -H "Authorization: Bearer $EDGECD_TOKEN" "$EDGECD_SERVER/metrics" |
        awk '$1 == "argocd_app_reconcile_count" {print $2}'
}
p0=$(passes)
read -r h_rps h_p99 h_rss h_hwm <<<"$(run healthz /healthz)"
p1=$(passes)
read -r a_rps a_p99 a_rss a_hwm <<<"$(run apps /api/v1/applications)"
p2=$(passes)

echo
echo "API benchmark: $apps apps x $per ConfigMaps, poll every ${poll}s, wrk -t$threads -c$conns -d${duration}s over HTTPS"
printf '%-28s %12s %12s %14s %12s\n' "" "requests/s" "p99 ms" "max VmRSS kB" "VmHWM kB"
printf '%-28s %12s %12s %14s %12s\n' "GET /healthz (reference)" "$h_rps" "$h_p99" "$h_rss" "$h_hwm"
printf '%-28s %12s %12s %14s %12s\n' "GET /api/v1/applications" "$a_rps" "$a_p99" "$a_rss" "$a_hwm"
echo "app list: $size bytes per answer; its throughput is $(echo "scale=3; $a_rps / $h_rps" | bc -l) of /healthz's"
echo "engine reconcile passes during the runs: $((p1 - p0)) (healthz), $((p2 - p1)) (app list)"
