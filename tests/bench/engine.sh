#!/bin/bash
# Benchmark: the engine at a site's scale. APPS Applications of RESOURCES
# objects each (ConfigMaps, Secrets, Services and Deployments that kubesim's
# workload simulator makes ready after 100 ms), one folder per app in a real
# Git repository, synced by `edgecd serve` into kubesim; the reference, real
# kubectl 1.35, applies the same objects into a fresh kubesim of its own in
# the same run.
#   first sync:   from `edgecd serve` starting until every app is Synced
#                 (and then Healthy), vs `kubectl apply --server-side -R -f
#                 DIR`; GET /api/v1/applications (800 KB at 100 x 50, about
#                 40 ms of edgecd's CPU) is polled every 0.25 s only once
#                 the log shows every app's operation done, so the
#                 polling does not slow down what it measures
#   steady state: with pollSeconds 5 and nothing changing, CPU of edgecd
#                 serve (utime+stime from /proc) per app pass (passes are
#                 the debug log's "reconciled APP in" lines), and kubesim's
#                 request counters over the same window: PATCHes (applies),
#                 dry runs and all requests must stay 0 (no API polling
#                 then, so the API server is not what is measured)
#   self-heal:    EDITS edits with kubectl (patch a managed ConfigMap's data,
#                 every other time delete it instead), each timed from
#                 kubectl returning until the object is as Git has it again,
#                 polled every 20 ms over one kept-alive HTTPS connection
#                 (a kubectl get takes longer than that to start); from the
#                 debug log, how long each change waited between the watch
#                 event and the start of its app's next pass (a poll that
#                 was due anyway, or the pass the event asked for)
#   memory:       VmRSS and VmHWM of edgecd serve after the steady state,
#                 beside kubectl's peak RSS for its apply
# kubesim's request counters are printed for the first sync of both, and
# kubesim's own CPU and edgecd's disk writes for the steady state, so a
# reader can tell what the figures are made of.
# usage: tests/bench/engine.sh [BUILD_DIR] [APPS] [RESOURCES]
#        (default build/release 100 50; environment: STEADY_SECONDS=30,
#        EDITS=40, SITE_EXTRA: more SiteConfig lines, e.g.
#        SITE_EXTRA='renderCacheEntries: 128' to try another setting,
#        SITE_EXTRA='fullCompareSeconds: 0' for the cost of full passes)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
apps=${2:-100}
per=${3:-50}
steady=${STEADY_SECONDS:-30}
edits=${EDITS:-40}
poll=5
export EDGECD_TEST_TMP=$PWD/$build/test-tmp EDGECD_BIN=$PWD/$build/appliance/edgecd
export EDGECD_KUBESIM=$PWD/$build/tests/kubesim/kubesim EDGECD_KUBECTL=$PWD/$build/tools/kubectl
[ -x "$EDGECD_BIN" ] && [ -x "$EDGECD_KUBESIM" ] || { echo "build first: no $EDGECD_BIN" >&2; exit 1; }
sh tests/tools/get-kubectl.sh "$PWD/$build/tools"
mkdir -p "$EDGECD_TEST_TMP"
. tests/e2e/lib.sh

now() { date +%s.%N; }
sim_flags=(--ready-delay-ms 100)
total=$((apps * per))
# kubesim's counters: URL, token and CA from the kubeconfig it wrote.
counters() {
    local url token
    url=$(sed -n 's/^ *server: *//p' "$work/sim/kubeconfig" | head -1)
    token=$(sed -n 's/^ *token: *//p' "$work/sim/kubeconfig" | head -1)
    curl -sS --fail --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $token" "$url/kubesim/admin/faults"
}
# counters_delta BEFORE AFTER: "requests PATCH dry-runs GET other-writes"
counters_delta() {
    python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(f))["counters"] for f in sys.argv[1:3])
m = {k: b["byMethod"][k] - a["byMethod"][k] for k in a["byMethod"]}
print(b["requests"] - a["requests"], m["PATCH"], b["dryRun"] - a["dryRun"], m["GET"],
      m["POST"] + m["PUT"] + m["DELETE"] + m["other"])
PY
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# The objects: the Git repository (apps/app-NNN/, no namespaces: each app's
# destination namespace is filled in) and the same objects with their
# namespaces for kubectl (plus the namespaces, first).
repo=$work/repo
python3 - "$repo" "$work/kubectl" "$apps" "$per" <<'PY'
import base64, os, sys
repo, kdir, apps, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def obj(a, j):
    k = j % 10
    if k < 5:
        return "cm-%03d" % j, ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\n"
            "  labels: {app.kubernetes.io/part-of: app-%03d}\ndata:\n  index: \"%d\"\n"
            "  text: some configuration value for item %d of app %d\n" % (j, a, j, j, a))
    if k < 7:
        v = base64.b64encode(b"secret value %d of app %d" % (j, a)).decode()
        return "secret-%03d" % j, ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-%03d\n"
            "type: Opaque\ndata:\n  password: %s\n" % (j, v))
    if k < 9:
        return "svc-%03d" % j, ("apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%03d\n"
            "spec:\n  selector: {app: web-%03d}\n  ports:\n    - {name: http, port: 80, targetPort: 8080}\n"
            % (j, j))
    return "web-%03d" % j, ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-%03d\n"
        "spec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web-%03d}\n  template:\n"
        "    metadata:\n      labels: {app: web-%03d}\n    spec:\n      containers:\n"
        "        - name: web\n          image: nginx:1.27\n          ports:\n"
        "            - containerPort: 8080\n          env:\n            - {name: INDEX, value: \"%d\"}\n"
        % (j, j, j, j))
os.makedirs(kdir)
ns = []
for a in range(apps):
    d = os.path.join(repo, "apps", "app-%03d" % a)
    kd = os.path.join(kdir, "app-%03d" % a)
    os.makedirs(d)
    os.makedirs(kd)
    ns.append("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-%03d\n" % a)
    for j in range(per):
        name, text = obj(a, j)
        open(os.path.join(d, name + ".yaml"), "w").write(text)
        open(os.path.join(kd, name + ".yaml"), "w").write(
            text.replace("metadata:\n", "metadata:\n  namespace: bench-%03d\n" % a, 1))
open(os.path.join(kdir, "00-namespaces.yaml"), "w").write("---\n".join(ns))
PY
git -C "$repo" init -q -b main
e2e_commit "$repo" bench

# ---- reference: kubectl into a fresh kubesim
e2e_start_kubesim "${sim_flags[@]}"
counters >"$work/kcount0.json"
t0=$(now)
python3 - "$work/kubectl.rss" $KUBECTL --cache-dir "$work/kcache" apply --server-side -R -f "$work/kubectl" <<'PY' >/dev/null
import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
t1=$(now)
kubectl_apply=$(echo "$t1 - $t0" | bc -l)
kubectl_rss=$(cat "$work/kubectl.rss")
counters >"$work/kcount1.json"
read -r k_req k_patch k_dry _ _ <<<"$(counters_delta "$work/kcount0.json" "$work/kcount1.json")"
[ "$($KUBECTL get cm,secret,svc,deploy -A -o name | grep -c /)" -ge "$total" ] ||
    fail "kubectl did not store every object"
kill "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
rm -rf "$work/sim"

# ---- edgecd into a fresh kubesim
e2e_start_kubesim "${sim_flags[@]}"
sim_pid=${pids[-1]}
SIM_URL=$(sed -n 's/^ *server: *//p' "$work/sim/kubeconfig" | head -1)
SIM_TOKEN=$(sed -n 's/^ *token: *//p' "$work/sim/kubeconfig" | head -1)
export SIM_URL SIM_TOKEN SIM_CA=$work/sim/ca.crt
{
    cat <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
listen: 127.0.0.1:0
pollSeconds: $poll
logLevel: debug
${SITE_EXTRA:-}
clusters:
  - kubeconfig: $work/sim/kubeconfig
YAML
    for a in $(seq 0 $((apps - 1))); do
        cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $(printf app-%03d "$a")
spec:
  project: default
  source:
    repoURL: file://$repo
    targetRevision: main
    path: $(printf apps/app-%03d "$a")
  destination:
    server: https://kubernetes.default.svc
    namespace: $(printf bench-%03d "$a")
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions: [CreateNamespace=true]
YAML
    done
} >"$work/site.yaml"

counters >"$work/ecount0.json"
t0=$(now)
e2e_start_serve
serve_pid=${pids[-1]}
# Prints the seconds since $t0 at which every app first was Synced with all
# its resources, then at which every app was also Healthy.
python3 - "$t0" "$apps" "$per" "$work/serve.log" >"$work/first.txt" <<'PY' || fail "first sync: $(cat "$work/first.txt")"
import json, os, re, ssl, sys, time, urllib.request
ca = os.environ.get("EDGECD_CA_FILE")
tls = ssl.create_default_context(cafile=ca) if ca else None
t0, apps, per, log = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
req = urllib.request.Request(os.environ["EDGECD_SERVER"] + "/api/v1/applications",
                             headers={"Authorization": "Bearer " + os.environ["EDGECD_TOKEN"]})
done, part = set(), ""
with open(log) as f:
    while len(done) < apps and time.time() - t0 < 900:
        part += f.readline()
        if not part.endswith("\n"):
            time.sleep(0.02)
            continue
        m = re.search(r"app (\S+): operation \d+ Succeeded", part)
        if m:
            done.add(m.group(1))
        part = ""
synced = None
ok = []
while time.time() - t0 < 900:
    items = json.load(urllib.request.urlopen(req, context=tls))["items"]
    st = [i.get("status", {}) for i in items]
    ok = [s for s in st if s.get("sync", {}).get("status") == "Synced" and len(s.get("resources", [])) == per]
    if len(items) == apps and len(ok) == apps:
        if synced is None:
            synced = time.time() - t0
        if all(s.get("health", {}).get("status") == "Healthy" for s in st):
            print(synced, time.time() - t0)
            sys.exit(0)
    time.sleep(0.25)
print("timed out: %d of %d apps Synced" % (len(ok), apps))
sys.exit(1)
PY
read -r edgecd_synced edgecd_healthy <"$work/first.txt"
counters >"$work/ecount1.json"
read -r e_req e_patch e_dry _ _ <<<"$(counters_delta "$work/ecount0.json" "$work/ecount1.json")"
first_cpu=$(echo "$(cpu_ticks "$serve_pid") / $hz" | bc -l)

# ---- steady state: let every app have a quiet pass first, then measure a
# window with no API polling at all.
sleep $((poll + 3))
passes() { grep -c 'reconciled app-[0-9]* in' "$work/serve.log" || true; }
written() { sed -n 's/^write_bytes: //p' "/proc/$1/io"; }
counters >"$work/count0.json"
c0=$(cpu_ticks "$serve_pid")
s0=$(cpu_ticks "$sim_pid")
w0=$(written "$serve_pid")
p0=$(passes)
l0=$(wc -l <"$work/serve.log")
t0=$(now)
sleep "$steady"
c1=$(cpu_ticks "$serve_pid")
s1=$(cpu_ticks "$sim_pid")
w1=$(written "$serve_pid")
t1=$(now)
p1=$(passes)
l1=$(wc -l <"$work/serve.log")
counters >"$work/count1.json"
window=$(echo "$t1 - $t0" | bc -l)
steady_passes=$((p1 - p0))
[ "$steady_passes" -gt 0 ] || fail "no reconcile pass in ${steady}s"
steady_cpu_ms=$(echo "($c1 - $c0) * 1000 / $hz / $steady_passes" | bc -l)
steady_cpu_total=$(echo "($c1 - $c0) / $hz" | bc -l)
sim_cpu_total=$(echo "($s1 - $s0) / $hz" | bc -l)
written_kb=$(((w1 - w0) / 1024))
read -r req_all req_patch req_dry req_get req_other <<<"$(counters_delta "$work/count0.json" "$work/count1.json")"
# The passes' own timings from the log (wall time of each pass).
sed -n "$((l0 + 1)),${l1}p" "$work/serve.log" >"$work/steady.log"
log_kb=$(($(stat -c %s "$work/steady.log") / 1024))
read -r pass_mean pass_p95 woken settled <<<"$(python3 - "$work/steady.log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
d = sorted(float(x) for x in re.findall(r"reconciled app-\d+ in ([0-9.]+)s", t))
print("%.4f %.4f %d %d" % (sum(d) / len(d), d[int(0.95 * (len(d) - 1))], t.count("changed in the cluster"),
                           len(re.findall(r"reconciled app-\d+ in [0-9.]+s \(settled", t))))
PY
)"
status_kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
rss_kb=$(status_kb "$serve_pid" VmRSS)
hwm_kb=$(status_kb "$serve_pid" VmHWM)

# ---- self-heal: edits with kubectl, the object polled over one connection
python3 - "$edits" "$apps" "$per" "$KUBECTL" "$work/serve.log" <<'PY' >"$work/heal.txt" || fail "self-heal: $(cat "$work/heal.txt")"
import calendar, http.client, json, os, re, ssl, subprocess, sys, time, urllib.parse
edits, apps, per, kubectl = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
log = sys.argv[5]
u = urllib.parse.urlparse(os.environ["SIM_URL"])
ctx = ssl.create_default_context(cafile=os.environ["SIM_CA"])
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
hdr = {"Authorization": "Bearer " + os.environ["SIM_TOKEN"], "Accept": "application/json"}
def get(ns, name):
    conn.request("GET", "/api/v1/namespaces/%s/configmaps/%s" % (ns, name), headers=hdr)
    r = conn.getresponse()
    body = r.read()
    return json.loads(body) if r.status == 200 else None
lat = {"patch": [], "delete": []}
done = []  # (app, "ns/name", wall clock before the edit)
cms = [j for j in range(per) if j % 10 < 5]
for k in range(edits):
    a = (k * 7) % apps
    j = cms[(k // 2) % len(cms)]
    ns, name = "bench-%03d" % a, "cm-%03d" % j
    want = {"index": str(j), "text": "some configuration value for item %d of app %d" % (j, a)}
    before = get(ns, name)
    assert before and before["data"] == want, "%s/%s not as Git has it before the edit" % (ns, name)
    how = "patch" if k % 2 == 0 else "delete"
    if how == "patch":
        cmd = ["patch", "configmap", name, "-n", ns, "--type", "merge", "-p",
               json.dumps({"data": {"index": "drift-%d" % k}})]
    else:
        cmd = ["delete", "configmap", name, "-n", ns, "--wait=false"]
    started = time.time()
    subprocess.run(kubectl + cmd, check=True, stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    while True:
        o = get(ns, name)
        if o and o.get("data") == want and (how == "patch" or o["metadata"]["uid"] != before["metadata"]["uid"]):
            break
        if time.monotonic() - t0 > 60:
            print("not healed within 60 s: %s/%s (%s)" % (ns, name, how))
            sys.exit(1)
        time.sleep(0.02)
    lat[how].append(time.monotonic() - t0)
    done.append(("app-%03d" % a, ns + "/" + name, started))
    time.sleep(0.2)
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
# The log: each edit's watch event, then the first pass of its app that
# started after it ("reconciled APP in S" is logged at the end of a pass).
def stamp(line):
    return calendar.timegm(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) + float(line[19:23])
lines = open(log).read().splitlines()
waits = []
for app, obj, started in done:
    event = None
    for line in lines:
        if event is None:
            if ("app %s: ConfigMap %s " % (app, obj)) in line and stamp(line) >= started - 0.01:
                event = stamp(line)
            continue
        m = re.search(r"reconciled %s in ([0-9.]+)s" % app, line)
        if m and stamp(line) - float(m.group(1)) >= event - 0.0005:
            waits.append(stamp(line) - float(m.group(1)) - event)
            break
allv = lat["patch"] + lat["delete"]
print(pct(allv, .5), pct(allv, .95), max(allv), pct(lat["patch"], .5), pct(lat["delete"], .5),
      pct(waits, .5) if waits else -1, max(waits) if waits else -1, len(waits))
PY
read -r heal_p50 heal_p95 heal_max heal_patch heal_delete wait_p50 wait_max wait_n <"$work/heal.txt"
rss_end_kb=$(status_kb "$serve_pid" VmRSS)

printf '\nengine: %d apps x %d resources (%d objects: ConfigMaps, Secrets, Services, Deployments) into kubesim (same run)\n' \
    "$apps" "$per" "$total"
printf '%-44s %10s %10s %8s\n' "measure" "edgecd" "kubectl" "ratio"
printf '%-44s %9.2fs %9.2fs %8.2f\n' "first sync: every app Synced" "$edgecd_synced" "$kubectl_apply" \
    "$(echo "$edgecd_synced / $kubectl_apply" | bc -l)"
printf '%-44s %9.2fs\n' "  and every app Healthy" "$edgecd_healthy"
printf '%-44s %9.2fs\n' "  edgecd CPU until then" "$first_cpu"
printf '%-44s %10s %10s\n' "  kubesim requests / PATCH / dry runs" "$e_req/$e_patch/$e_dry" "$k_req/$k_patch/$k_dry"
printf '%-44s %8.2fms %10s %8s\n' "steady state: CPU per app pass (goal < 1 ms)" "$steady_cpu_ms" "" ""
printf '%-44s %10s\n' "  passes in the window" "$steady_passes in $(printf %.0f "$window") s"
printf '%-44s %10s\n' "  of them settled (nothing changed) / full" "$settled / $((steady_passes - settled))"
printf '%-44s %9.2fs\n' "  CPU in the window" "$steady_cpu_total"
printf '%-44s %9.2fs\n' "  kubesim CPU in the window" "$sim_cpu_total"
printf '%-44s %8dkB %8dkB\n' "  written to disk in the window / debug log" "$written_kb" "$log_kb"
printf '%-44s %8.1fms %10s\n' "  pass wall time, mean / p95 (debug log)" "$(echo "$pass_mean * 1000" | bc -l)" \
    "$(printf %.1fms "$(echo "$pass_p95 * 1000" | bc -l)")"
printf '%-44s %10s\n' "  kubesim requests / PATCH / dry runs" "$req_all / $req_patch / $req_dry"
printf '%-44s %10s\n' "  GET / other writes / watch wake-ups" "$req_get / $req_other / $woken"
printf '%-44s %9.2fs %10s\n' "self-heal p50 (goal p95 < 2 s)" "$heal_p50" ""
printf '%-44s %9.2fs\n' "self-heal p95" "$heal_p95"
printf '%-44s %9.2fs\n' "self-heal max" "$heal_max"
printf '%-44s %9.2fs %9.2fs\n' "  p50 of patches / of deletions" "$heal_patch" "$heal_delete"
printf '%-44s %9.2fs %9.2fs\n' "  watch event to its pass, p50 / max (log)" "$wait_p50" "$wait_max"
[ "$wait_n" = "$edits" ] || echo "NOTE: the log showed the pass of only $wait_n of $edits edits"
printf '%-44s %8dMB %8dMB %8.2f\n' "VmHWM (peak RSS; goal < 64 MB)" "$((hwm_kb / 1024))" "$((kubectl_rss / 1024))" \
    "$(echo "$hwm_kb / $kubectl_rss" | bc -l)"
printf '%-44s %8dMB\n' "VmRSS after the steady state" "$((rss_kb / 1024))"
printf '%-44s %8dMB\n' "VmRSS after the self-heal edits" "$((rss_end_kb / 1024))"
[ "$req_patch" = 0 ] || echo "NOTE: $req_patch PATCH requests during the steady state (goal 0)"
