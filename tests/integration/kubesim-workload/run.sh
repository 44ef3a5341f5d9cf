#!/bin/bash
# kubesim's workload simulator and admin endpoint against real kubectl and
# curl: a Deployment rolls out (and rolls over), a crash-looping one hits
# its progress deadline, Jobs complete and fail, a PVC binds, a
# LoadBalancer Service gets an address, pods carry their owners and go
# with them, and the fault endpoint adds latency, 429s, 500s and dropped
# connections until it is reset.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/kubesim-workload.XXXXXX")
token=workload-test-token
sim=
cleanup() {
    if [ -n "$sim" ]; then
        kill "$sim" 2>/dev/null || true
        wait "$sim" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- kubesim log (tail)" >&2
    tail -50 "$work/kubesim.log" >&2 || true
    exit 1
}

"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" --token "$token" --ready-delay-ms 300 \
    >"$work/kubesim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do
    [ -f "$work/sim/kubeconfig" ] && break
    kill -0 "$sim" 2>/dev/null || fail "kubesim exited"
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim wrote no kubeconfig"
url=$(grep -m 1 -o 'https://127.0.0.1:[0-9]*' "$work/kubesim.log")

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
# curl against kubesim with the API's credentials; extra args follow.
api() { curl -sS --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $token" "$@"; }

# json_check FILE PYTHON-EXPRESSION: the expression over `o` must be true.
json_check() {
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
        fail "$1: expected $2, got: $(cat "$1")"
}

# wait_json SECONDS FILE PYTHON-EXPRESSION CMD...: run CMD into FILE until
# the expression holds.
wait_json() {
    local secs=$1 file=$2 expr=$3
    shift 3
    local deadline=$((SECONDS + secs))
    while :; do
        if "$@" >"$file" 2>/dev/null &&
            python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$file" "$expr" 2>/dev/null; then
            return 0
        fi
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for $expr; last: $(cat "$file")"
        sleep 0.2
    done
}

cat >"$work/ns.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
YAML
kc apply --server-side -f "$work/ns.yaml" >/dev/null

deploy() { # deploy NAME IMAGE REPLICAS [EXTRA-SPEC-YAML] [ANNOTATION-DELAY]
    local ann=
    if [ -n "${5:-}" ]; then
        ann=$(printf '  annotations:\n    kubesim.edgecd.io/ready-delay-ms: "%s"' "$5")
    fi
    cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
  namespace: shop
$ann
spec:
  replicas: $3
${4:-}
  selector:
    matchLabels:
      app: $1
  template:
    metadata:
      labels:
        app: $1
    spec:
      containers:
        - name: main
          image: $2
YAML
}

echo "== a Deployment rolls out"
deploy web nginx:1.27 2 >"$work/web.yaml"
# A Deployment that takes ten minutes per pod: still unready below.
deploy slow nginx:1.27 1 "" 600000 >"$work/slow.yaml"
kc apply --server-side -f "$work/web.yaml" -f "$work/slow.yaml" >/dev/null
kc rollout status deploy/web -n shop --timeout=60s >"$work/out" 2>"$work/err" ||
    fail "rollout status: $(cat "$work/out" "$work/err")"
grep -q 'deployment "web" successfully rolled out' "$work/out" || fail "rollout output: $(cat "$work/out")"
kc get deploy web -n shop -o json >"$work/d1.json"
json_check "$work/d1.json" 'o["metadata"]["generation"] == 1 and o["status"]["observedGeneration"] == 1'
json_check "$work/d1.json" 'all(o["status"][k] == 2 for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"))'
json_check "$work/d1.json" '{c["type"]: c["reason"] for c in o["status"]["conditions"]} == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}'
json_check "$work/d1.json" 'all(c["status"] == "True" and c["lastUpdateTime"] and c["lastTransitionTime"] for c in o["status"]["conditions"])'
json_check "$work/d1.json" 'o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"'
rs=$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print([c for c in o["status"]["conditions"] if c["type"]=="Progressing"][0]["message"].split("\"")[1])' "$work/d1.json")
json_check "$work/d1.json" "[c['message'] for c in o['status']['conditions'] if c['type'] == 'Progressing'] == ['ReplicaSet \"$rs\" has successfully progressed.']"

echo "== the ReplicaSet and pods belong to it"
uid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["uid"])' "$work/d1.json")
kc get rs "$rs" -n shop -o json >"$work/rs.json"
json_check "$work/rs.json" "o['metadata']['ownerReferences'] == [{'apiVersion': 'apps/v1', 'kind': 'Deployment', 'name': 'web', 'uid': '$uid', 'controller': True, 'blockOwnerDeletion': True}]"
json_check "$work/rs.json" "'$rs'.startswith('web-') and o['metadata']['labels']['pod-template-hash'] == '$rs'[4:] and o['spec']['selector']['matchLabels']['pod-template-hash'] == '$rs'[4:]"
json_check "$work/rs.json" 'o["spec"]["replicas"] == 2 and o["status"]["readyReplicas"] == 2'
kc get pods -n shop -l app=web -o json >"$work/pods.json"
json_check "$work/pods.json" "len(o['items']) == 2 and all(p['metadata']['ownerReferences'][0]['kind'] == 'ReplicaSet' and p['metadata']['ownerReferences'][0]['name'] == '$rs' and p['metadata']['name'].startswith('$rs-') for p in o['items'])"
json_check "$work/pods.json" 'all(p["status"]["phase"] == "Running" and p["status"]["podIP"].startswith("10.42.") and p["status"]["hostIP"] and p["spec"]["nodeName"] == "kubesim-node" for p in o["items"])'
json_check "$work/pods.json" 'all({c["type"]: c["status"] for c in p["status"]["conditions"]}.items() >= {"Ready": "True", "ContainersReady": "True", "PodScheduled": "True", "Initialized": "True"}.items() for p in o["items"])'
json_check "$work/pods.json" 'all(cs["ready"] and cs["restartCount"] == 0 and "running" in cs["state"] for p in o["items"] for cs in p["status"]["containerStatuses"])'
kc get pods -n shop -o 'custom-columns=NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind' --no-headers >"$work/owners"
grep -qE "^$rs-[a-z0-9]{5} +ReplicaSet$" "$work/owners" || fail "pods with owners: $(cat "$work/owners")"
kc get nodes -o name >"$work/out"
[ "$(cat "$work/out")" = node/kubesim-node ] || fail "nodes: $(cat "$work/out")"

echo "== the per-object delay holds a Deployment back"
kc get deploy slow -n shop -o json >"$work/slow.json"
json_check "$work/slow.json" 'o["status"]["observedGeneration"] == 1 and o["status"].get("readyReplicas", 0) == 0 and o["status"]["unavailableReplicas"] == 1'
json_check "$work/slow.json" '{c["type"]: c["status"] for c in o["status"]["conditions"]} == {"Available": "False", "Progressing": "True"}'
kc get pods -n shop -l app=slow -o json >"$work/out"
json_check "$work/out" 'len(o["items"]) == 1 and o["items"][0]["status"]["phase"] == "Pending" and o["items"][0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"'
kc rollout status deploy/slow -n shop --watch=false >"$work/out" 2>&1 || fail "rollout status --watch=false: $(cat "$work/out")"
grep -q 'Waiting for deployment "slow" rollout to finish: 0 of 1 updated replicas are available' "$work/out" ||
    fail "slow rollout: $(cat "$work/out")"

echo "== a new template rolls over to a new ReplicaSet"
sed 's/nginx:1.27/nginx:1.28/' "$work/web.yaml" >"$work/web2.yaml"
kc apply --server-side -f "$work/web2.yaml" >/dev/null
kc rollout status deploy/web -n shop --timeout=60s >"$work/out" 2>"$work/err" ||
    fail "rollout status after update: $(cat "$work/out" "$work/err")"
kc get deploy web -n shop -o json >"$work/d2.json"
json_check "$work/d2.json" 'o["metadata"]["generation"] == 2 and o["status"]["observedGeneration"] == 2 and o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"'
wait_json 30 "$work/rsl.json" "sorted((r['metadata']['name'] == '$rs', r['spec']['replicas']) for r in o['items']) == [(False, 2), (True, 0)]" \
    kc get rs -n shop -l app=web -o json
wait_json 30 "$work/pods2.json" "len(o['items']) == 2 and all(p['spec']['containers'][0]['image'] == 'nginx:1.28' for p in o['items'])" \
    kc get pods -n shop -l app=web -o json

echo "== a crash-looping image misses the progress deadline"
deploy crash nginx:crashloop 1 "  progressDeadlineSeconds: 3" >"$work/crash.yaml"
kc apply --server-side -f "$work/crash.yaml" >/dev/null
if kc rollout status deploy/crash -n shop --timeout=60s >"$work/out" 2>"$work/err"; then
    fail "rollout status of a crash loop succeeded: $(cat "$work/out")"
fi
grep -q 'error: deployment "crash" exceeded its progress deadline' "$work/err" || fail "crash rollout: $(cat "$work/err")"
kc get deploy crash -n shop -o json >"$work/c.json"
json_check "$work/c.json" '{c["type"]: (c["status"], c["reason"]) for c in o["status"]["conditions"]} == {"Available": ("False", "MinimumReplicasUnavailable"), "Progressing": ("False", "ProgressDeadlineExceeded")}'
json_check "$work/c.json" '[c["message"] for c in o["status"]["conditions"] if c["type"] == "Progressing"][0].endswith("has timed out progressing.")'
kc get pods -n shop -l app=crash -o json >"$work/cp.json"
json_check "$work/cp.json" 'len(o["items"]) == 1 and o["items"][0]["status"]["phase"] == "Running"'
json_check "$work/cp.json" '[c["status"] for c in o["items"][0]["status"]["conditions"] if c["type"] == "Ready"] == ["False"]'
json_check "$work/cp.json" 'o["items"][0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"'
json_check "$work/cp.json" 'o["items"][0]["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1 and o["items"][0]["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "Error"'
json_check "$work/cp.json" 'not o["items"][0]["status"]["containerStatuses"][0]["ready"]'
restarts=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["status"]["containerStatuses"][0]["restartCount"])' "$work/cp.json")
wait_json 30 "$work/cp2.json" "o['items'][0]['status']['containerStatuses'][0]['restartCount'] > $restarts" \
    kc get pods -n shop -l app=crash -o json

echo "== Jobs complete and fail"
cat >"$work/jobs.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
---
apiVersion: batch/v1
kind: Job
metadata:
  name: broken
  namespace: shop
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:fail
YAML
kc apply --server-side -f "$work/jobs.yaml" >/dev/null
kc wait --for=condition=complete job/migrate -n shop --timeout=60s >"$work/out" 2>"$work/err" ||
    fail "wait complete: $(cat "$work/out" "$work/err")"
kc get job migrate -n shop -o json >"$work/j.json"
json_check "$work/j.json" 'o["status"]["succeeded"] == 1 and o["status"]["completionTime"] and o["status"].get("active", 0) == 0'
json_check "$work/j.json" '[(c["type"], c["status"]) for c in o["status"]["conditions"] if c["type"] in ("Complete", "Failed")] == [("Complete", "True")]'
kc get pods -n shop -l job-name=migrate -o json >"$work/jp.json"
json_check "$work/jp.json" 'len(o["items"]) == 1 and o["items"][0]["status"]["phase"] == "Succeeded" and o["items"][0]["metadata"]["ownerReferences"][0]["kind"] == "Job" and o["items"][0]["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"'
kc wait --for=condition=failed job/broken -n shop --timeout=60s >"$work/out" 2>"$work/err" ||
    fail "wait failed: $(cat "$work/out" "$work/err")"
kc get job broken -n shop -o json >"$work/jb.json"
json_check "$work/jb.json" '[(c["type"], c["reason"]) for c in o["status"]["conditions"] if c["type"] == "Failed"] == [("Failed", "BackoffLimitExceeded")]'
json_check "$work/jb.json" 'o["status"]["failed"] == 2 and "completionTime" not in o["status"]'
kc get pods -n shop -l job-name=broken -o json >"$work/jbp.json"
json_check "$work/jbp.json" 'len(o["items"]) == 2 and all(p["status"]["phase"] == "Failed" and p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1 for p in o["items"])'

echo "== a PVC binds and a LoadBalancer gets an address"
cat >"$work/infra.yaml" <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  resources:
    requests:
      storage: 2Gi
---
apiVersion: v1
kind: Service
metadata:
  name: front
  namespace: shop
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
    - port: 80
YAML
kc apply --server-side -f "$work/infra.yaml" >/dev/null
wait_json 30 "$work/pvc.json" 'o.get("status", {}).get("phase") == "Bound"' kc get pvc data -n shop -o json
json_check "$work/pvc.json" 'o["spec"]["volumeName"].startswith("pvc-") and o["status"]["capacity"]["storage"] == "2Gi" and o["status"]["accessModes"] == ["ReadWriteOnce"]'
pv=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spec"]["volumeName"])' "$work/pvc.json")
kc get pv "$pv" -o json >"$work/pv.json"
json_check "$work/pv.json" 'o["status"]["phase"] == "Bound" and o["spec"]["claimRef"]["name"] == "data" and o["spec"]["claimRef"]["namespace"] == "shop" and o["spec"]["storageClassName"] == "local-path" and o["spec"]["capacity"]["storage"] == "2Gi"'
wait_json 30 "$work/svc.json" 'o.get("status", {}).get("loadBalancer", {}).get("ingress", [{}])[0].get("ip", "").startswith("172.18.255.")' \
    kc get svc front -n shop -o json
kc delete pvc data -n shop >/dev/null
wait_json 30 "$work/pvs.json" "'$pv' not in [p['metadata']['name'] for p in o['items']]" kc get pv -o json

echo "== a StatefulSet and a DaemonSet roll out"
cat >"$work/sets.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  replicas: 2
  serviceName: db
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
        - name: db
          image: postgres:16
  volumeClaimTemplates:
    - metadata:
        name: pgdata
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 1Gi
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: shop
spec:
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
        - name: agent
          image: fluent-bit:3
YAML
kc apply --server-side -f "$work/sets.yaml" >/dev/null
kc rollout status sts/db -n shop --timeout=60s >"$work/out" 2>"$work/err" || fail "sts rollout: $(cat "$work/out" "$work/err")"
kc rollout status ds/agent -n shop --timeout=60s >"$work/out" 2>"$work/err" || fail "ds rollout: $(cat "$work/out" "$work/err")"
kc get sts db -n shop -o json >"$work/sts.json"
json_check "$work/sts.json" 'o["status"]["readyReplicas"] == 2 and o["status"]["currentRevision"] == o["status"]["updateRevision"] and o["status"]["updateRevision"].startswith("db-")'
kc get pods db-0 db-1 -n shop -o json >"$work/stsp.json"
json_check "$work/stsp.json" 'all(p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet" for p in o["items"])'
wait_json 30 "$work/stspvc.json" 'sorted(p["metadata"]["name"] for p in o["items"] if p.get("status", {}).get("phase") == "Bound") == ["pgdata-db-0", "pgdata-db-1"]' \
    kc get pvc -n shop -o json
kc get ds agent -n shop -o json >"$work/ds.json"
json_check "$work/ds.json" 'o["status"]["desiredNumberScheduled"] == 1 and o["status"]["numberReady"] == 1 and o["status"]["currentNumberScheduled"] == 1'

echo "== deleting a Deployment takes its ReplicaSets and pods"
kc delete deploy web -n shop >/dev/null
wait_json 30 "$work/gone.json" 'len(o["items"]) == 0' kc get pods -n shop -l app=web -o json
kc get rs -n shop -l app=web -o json >"$work/gone-rs.json"
json_check "$work/gone-rs.json" 'len(o["items"]) == 0'

echo "== faults: latency"
faults() { api -X "$1" "$url/kubesim/admin/faults" ${2:+-d "$2"}; }
faults POST '{"latencyMs": 1500}' >"$work/f.json"
json_check "$work/f.json" 'o["settings"]["latencyMs"] == 1500'
t=$(api -o /dev/null -w '%{time_total}' "$url/api/v1/namespaces")
python3 -c "import sys; sys.exit(0 if float('$t') >= 1.5 else 1)" || fail "request with 1500 ms latency took $t s"
# The admin endpoint is never slowed down or faulted.
t=$(api -o /dev/null -w '%{time_total}' "$url/kubesim/admin/faults")
python3 -c "import sys; sys.exit(0 if float('$t') < 1.5 else 1)" || fail "admin request took $t s"

echo "== faults: a share of 429s"
faults DELETE >/dev/null
faults GET >"$work/before.json"
faults POST '{"rate429": 0.5, "retryAfterSeconds": 3}' >/dev/null
n429=0
for _ in $(seq 40); do
    code=$(api -o "$work/body" -D "$work/headers" -w '%{http_code}' "$url/api/v1/namespaces/shop/configmaps")
    if [ "$code" = 429 ]; then
        n429=$((n429 + 1))
        grep -qi '^Retry-After: 3' "$work/headers" || fail "429 without Retry-After: $(cat "$work/headers")"
        json_check "$work/body" 'o["reason"] == "TooManyRequests" and o["code"] == 429 and o["details"]["retryAfterSeconds"] == 3'
    else
        [ "$code" = 200 ] || fail "unexpected $code: $(cat "$work/body")"
    fi
done
[ "$n429" -gt 0 ] && [ "$n429" -lt 40 ] || fail "$n429 of 40 requests got 429 at a share of 0.5"
faults GET >"$work/after.json"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["counters"]; a = json.load(open(sys.argv[2]))["counters"]
sys.exit(0 if a["injected"]["429"] - b["injected"]["429"] == int(sys.argv[3]) and a["requests"] - b["requests"] == 40 else 1)' \
    "$work/before.json" "$work/after.json" "$n429" || fail "counters do not match $n429 429s in 40: $(cat "$work/before.json" "$work/after.json")"

echo "== faults: 500s and dropped connections"
faults POST '{"rate429": 0, "rate500": 1}' >/dev/null
code=$(api -o "$work/body" -w '%{http_code}' "$url/api/v1/namespaces")
[ "$code" = 500 ] || fail "rate500 1: got $code"
json_check "$work/body" 'o["reason"] == "InternalError"'
faults POST '{"rate500": 0, "dropRate": 1}' >/dev/null
rc=0
api -o /dev/null "$url/api/v1/namespaces" 2>"$work/err" || rc=$?
[ "$rc" = 52 ] || fail "dropped connection: curl exit $rc: $(cat "$work/err")"
grep -q 'Empty reply from server' "$work/err" || fail "dropped connection: $(cat "$work/err")"

echo "== faults: bad input changes nothing"
code=$(api -o "$work/body" -w '%{http_code}' -X POST "$url/kubesim/admin/faults" -d '{"rate429": 0.5, "dropRate": 0.9}')
[ "$code" = 400 ] || fail "sum over 1: got $code"
grep -q 'at most 1' "$work/body" || fail "sum over 1: $(cat "$work/body")"
code=$(api -o "$work/body" -w '%{http_code}' -X POST "$url/kubesim/admin/faults" -d '{"latencyMs": 5, "speed": 1}')
[ "$code" = 400 ] || fail "unknown key: got $code"
faults GET >"$work/f.json"
json_check "$work/f.json" 'o["settings"]["dropRate"] == 1 and o["settings"]["rate429"] == 0 and o["settings"]["latencyMs"] == 0'
code=$(curl -sS --cacert "$work/sim/ca.crt" -o /dev/null -w '%{http_code}' -X DELETE "$url/kubesim/admin/faults")
[ "$code" = 401 ] || fail "admin without credentials: got $code"

echo "== faults: reset"
faults DELETE >"$work/f.json"
json_check "$work/f.json" 'o["settings"] == {"latencyMs": 0, "rate429": 0, "rate500": 0, "dropRate": 0, "retryAfterSeconds": 1, "pathPrefix": ""}'
json_check "$work/f.json" 'o["counters"]["injected"]["drop"] == 1 and o["counters"]["injected"]["500"] == 1'
for _ in $(seq 10); do
    code=$(api -o /dev/null -w '%{http_code}' "$url/api/v1/namespaces")
    [ "$code" = 200 ] || fail "after reset: got $code"
done
kc get ns shop -o name >/dev/null || fail "kubectl after reset"

echo "== faults: cutting watches"
curl -sS -N --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $token" \
    "$url/api/v1/namespaces/shop/configmaps?watch=true" >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
wait_json 30 "$work/f.json" 'o["counters"]["openWatches"] == 1' faults GET
faults POST '{"cutWatches": true}' >"$work/f.json"
json_check "$work/f.json" 'o["counters"]["injected"]["watchCut"] == 1'
for _ in $(seq 100); do
    kill -0 "$watcher" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$watcher" 2>/dev/null; then
    kill "$watcher"
    fail "the watch stream is still open after cutWatches"
fi
rc=0
wait "$watcher" || rc=$?
# Cut without the terminating chunk: curl sees a transfer cut short.
[ "$rc" = 18 ] || fail "cut watch: curl exit $rc: $(cat "$work/watch.err")"
wait_json 30 "$work/f.json" 'o["counters"]["openWatches"] == 0' faults GET

echo "== state dump"
api "$url/kubesim/admin/state?kind=Deployment&namespace=shop" >"$work/state.json"
json_check "$work/state.json" 'sorted(x["metadata"]["name"] for x in o["objects"]) == ["crash", "slow"] and all(x["kind"] == "Deployment" for x in o["objects"])'
json_check "$work/state.json" 'o["counters"]["requests"] > 50 and o["counters"]["injected"]["429"] > 0 and int(o["resourceVersion"]) > 1000'
api "$url/kubesim/admin/state?kind=pods" >"$work/state-pods.json"
json_check "$work/state-pods.json" 'len(o["objects"]) > 0 and all(x["kind"] == "Pod" for x in o["objects"])'
api "$url/kubesim/admin/state" >"$work/state-all.json"
json_check "$work/state-all.json" '{"Namespace", "Deployment", "ReplicaSet", "Pod", "Job", "PersistentVolume", "Service", "Node"} <= {x["kind"] for x in o["objects"]}'

echo "== clean exit on SIGTERM"
kill -TERM "$sim"
rc=0
wait "$sim" || rc=$?
sim=
[ "$rc" = 0 ] || fail "kubesim exited with $rc after SIGTERM"
if grep -qE 'Sanitizer|runtime error' "$work/kubesim.log"; then
    fail "sanitizer report in the kubesim log"
fi
echo "OK"
