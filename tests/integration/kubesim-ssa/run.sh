#!/bin/bash
# Server-side apply as real kubectl sees it from a real API server:
# managedFields per manager in the fieldsV1 format, lists of maps merged by
# key, a field an applier stops applying removed while other managers'
# fields stay, conflicts (exit code and the server's wording), forcing,
# server-side dry-run, defaulting, generation, status and identity.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/kubesim-ssa.XXXXXX")
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
    echo "--- kubesim log" >&2
    tail -50 "$work/kubesim.log" >&2 || true
    exit 1
}

"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" >"$work/kubesim.log" 2>&1 &
sim=$!
for _ in $(seq 300); do
    [ -f "$work/sim/kubeconfig" ] && break
    kill -0 "$sim" 2>/dev/null || fail "kubesim exited"
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim wrote no kubeconfig"

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }

# get_json NAME KUBECTL-GET-ARGS...: the object with its managedFields.
get_json() {
    local out=$1
    shift
    kc get "$@" -o json --show-managed-fields >"$work/$out.json" || fail "get $*"
}

# json_check NAME PYTHON-EXPRESSION: true over `o` (the file $work/NAME.json)
# with helpers mf(manager) -> that manager's managedFields entry or None.
json_check() {
    python3 - "$work/$1.json" "$2" <<'PY' || fail "$1: expected $2, got: $(cat "$work/$1.json")"
import json, sys
o = json.load(open(sys.argv[1]))
def mf(manager, operation=None):
    for e in o["metadata"].get("managedFields", []):
        if e["manager"] == manager and (operation is None or e["operation"] == operation):
            return e
    return None
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

field() { python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$work/$1.json" "$2"; }

# expect_fail TEXT CMD...: CMD must fail and say TEXT on stderr.
expect_fail() {
    local text=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        fail "$* succeeded; expected failure with: $text"
    fi
    grep -qF -- "$text" "$work/err" || fail "$*: expected '$text', got: $(cat "$work/err")"
}

cat >"$work/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
          env:
            - name: MODE
              value: fast
            - name: LEVEL
              value: "3"
        - name: side
          image: busybox
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector:
    app: web
  ports:
    - name: http
      port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  color: blue
  size: "3"
YAML

echo "== apply records the applier's fields in fieldsV1"
kc apply --server-side -f "$work/web.yaml" >/dev/null || fail "apply"
get_json d1 deploy web
json_check d1 '[e["manager"] for e in o["metadata"]["managedFields"]] == ["kubectl"]'
json_check d1 'mf("kubectl")["operation"] == "Apply" and mf("kubectl")["apiVersion"] == "apps/v1" and mf("kubectl")["fieldsType"] == "FieldsV1" and mf("kubectl")["time"].endswith("Z")'
json_check d1 'mf("kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:env"]["k:{\"name\":\"MODE\"}"] == {".": {}, "f:name": {}, "f:value": {}}'
json_check d1 'mf("kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:ports"] == {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}'
json_check d1 'mf("kubectl")["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}}}'
# Defaulted fields belong to nobody.
json_check d1 '"f:strategy" not in mf("kubectl")["fieldsV1"]["f:spec"] and "f:imagePullPolicy" not in mf("kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]'
get_json cm1 cm settings
json_check cm1 'mf("kubectl")["fieldsV1"] == {"f:data": {"f:color": {}, "f:size": {}}}'
uid=$(field d1 'o["metadata"]["uid"]')
created=$(field d1 'o["metadata"]["creationTimestamp"]')
python3 -c 'import re,sys; sys.exit(0 if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sys.argv[1]) else 1)' "$uid" ||
    fail "uid is not a random UUID: $uid"

echo "== defaults: Deployment"
json_check d1 'o["metadata"]["generation"] == 1'
json_check d1 'o["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}'
json_check d1 'o["spec"]["revisionHistoryLimit"] == 10 and o["spec"]["progressDeadlineSeconds"] == 600'
json_check d1 'all(o["spec"]["template"]["spec"][k] == v for k, v in {"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "securityContext": {}}.items())'
json_check d1 '[(c["name"], c["imagePullPolicy"], c["terminationMessagePath"], c["terminationMessagePolicy"]) for c in o["spec"]["template"]["spec"]["containers"]] == [("web", "IfNotPresent", "/dev/termination-log", "File"), ("side", "Always", "/dev/termination-log", "File")]'
json_check d1 'o["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]'

echo "== a create's manager owns what it sent and the defaults it got"
sed -e '0,/name: web$/s//name: made-web/' "$work/web.yaml" | python3 -c 'import sys; print(sys.stdin.read().split("---")[0])' >"$work/made-web.yaml"
kc create -f "$work/made-web.yaml" >/dev/null || fail "create deployment"
get_json mw deploy made-web
json_check mw '[(e["manager"], e["operation"]) for e in o["metadata"]["managedFields"]] == [("kubectl-create", "Update")]'
json_check mw 'mf("kubectl-create")["fieldsV1"]["f:spec"]["f:selector"] == {} and "." not in mf("kubectl-create")["fieldsV1"]["f:spec"]'
json_check mw 'mf("kubectl-create")["fieldsV1"]["f:spec"]["f:strategy"] == {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}}'
json_check mw 'set(mf("kubectl-create")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]) >= {".", "f:imagePullPolicy", "f:terminationMessagePath", "f:resources"}'
json_check d1 'mf("kubectl")["fieldsV1"]["f:spec"]["f:selector"] == {}'

echo "== defaults: Service"
get_json s1 svc web
json_check s1 'o["spec"]["type"] == "ClusterIP" and o["spec"]["sessionAffinity"] == "None"'
json_check s1 'o["spec"]["ipFamilies"] == ["IPv4"] and o["spec"]["ipFamilyPolicy"] == "SingleStack" and o["spec"]["internalTrafficPolicy"] == "Cluster"'
json_check s1 'o["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]'
python3 - "$work/s1.json" <<'PY' || fail "clusterIP not in 10.96.0.0/12: $(cat "$work/s1.json")"
import ipaddress, json, sys
o = json.load(open(sys.argv[1]))
ip = ipaddress.ip_address(o["spec"]["clusterIP"])
sys.exit(0 if ip in ipaddress.ip_network("10.96.0.0/12") and o["spec"]["clusterIPs"] == [str(ip)] else 1)
PY
json_check s1 'mf("kubectl")["fieldsV1"]["f:spec"]["f:ports"] == {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}}'
json_check s1 '"generation" not in o["metadata"]'

echo "== defaults: other kinds"
cat >"$work/kinds.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: extra
---
apiVersion: v1
kind: Secret
metadata:
  name: s
  namespace: extra
stringData:
  k: v
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: extra
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: extra
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          image: postgres:16
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: extra
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
        - name: agent
          image: agent:latest
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: extra
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: run
          image: busybox:1.36
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: extra
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: run
              image: busybox:1.36
YAML
kc apply --server-side -f "$work/kinds.yaml" >/dev/null || fail "apply kinds"
get_json ns ns extra
json_check ns 'o["spec"]["finalizers"] == ["kubernetes"] and o["status"]["phase"] == "Active" and o["metadata"]["labels"]["kubernetes.io/metadata.name"] == "extra"'
# Only server-owned fields applied: nothing is recorded.
json_check ns 'mf("kubectl") is None'
get_json sec secret s -n extra
json_check sec 'o["type"] == "Opaque"'
get_json pvc pvc data -n extra
json_check pvc 'o["spec"]["volumeMode"] == "Filesystem" and o["status"]["phase"] in ("Pending", "Bound")'
get_json sts sts db -n extra
json_check sts 'o["spec"]["replicas"] == 1 and o["spec"]["podManagementPolicy"] == "OrderedReady" and o["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}} and o["spec"]["revisionHistoryLimit"] == 10'
get_json ds ds agent -n extra
json_check ds 'o["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}} and o["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"'
get_json job job once -n extra
json_check job 'all(o["spec"][k] == v for k, v in {"backoffLimit": 6, "completions": 1, "parallelism": 1, "completionMode": "NonIndexed", "suspend": False}.items())'
json_check job 'o["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == o["metadata"]["uid"]'
json_check job '"f:selector" not in mf("kubectl")["fieldsV1"]["f:spec"]'
get_json cj cronjob nightly -n extra
json_check cj 'o["spec"]["concurrencyPolicy"] == "Allow" and o["spec"]["successfulJobsHistoryLimit"] == 3 and o["spec"]["failedJobsHistoryLimit"] == 1 and o["spec"]["suspend"] is False'
json_check cj 'o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["schedulerName"] == "default-scheduler"'

echo "== a write without fieldManager is recorded under the client's program name"
python3 - "$work/sim" <<'PY' || fail "POST without fieldManager"
import http.client, json, re, ssl, sys
d = sys.argv[1]
kc = open(d + "/kubeconfig").read()
port = int(re.search(r"127\.0\.0\.1:(\d+)", kc).group(1))
token = re.search(r"token: (\S+)", kc).group(1)
c = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=d + "/ca.crt"))
body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "raw"}, "data": {"a": "b"}})
c.request("POST", "/api/v1/namespaces/default/configmaps", body,
          {"Authorization": "Bearer " + token, "Content-Type": "application/json",
           "User-Agent": "site-tool/2.1 (linux/amd64) build/abc"})
r = c.getresponse()
sys.exit(0 if r.status == 201 else 1)
PY
get_json raw cm raw
json_check raw '[(e["manager"], e["operation"]) for e in o["metadata"]["managedFields"]] == [("site-tool", "Update")]'

echo "== re-apply unchanged: same resourceVersion, same managedFields time"
# The workload simulator writes the Deployment's status as it rolls out;
# wait for that to settle so only the re-apply could move the version.
kc rollout status deploy/web --timeout=60s >/dev/null || fail "web did not roll out"
get_json d1 deploy web
sleep 1.1
kc apply --server-side -f "$work/web.yaml" >/dev/null
get_json d2 deploy web
[ "$(field d1 'o["metadata"]["resourceVersion"]')" = "$(field d2 'o["metadata"]["resourceVersion"]')" ] ||
    fail "unchanged re-apply moved the resourceVersion"
[ "$(field d1 'mf("kubectl")["time"]')" = "$(field d2 'mf("kubectl")["time"]')" ] ||
    fail "unchanged re-apply moved the managedFields time"

echo "== a field the applier stops applying goes; defaults come back"
python3 - "$work/web.yaml" "$work/web2.yaml" <<'PY'
import sys
t = open(sys.argv[1]).read()
t = t.replace("            - name: LEVEL\n              value: \"3\"\n", "")
t = t.replace("        - name: side\n          image: busybox\n", "")
t = t.replace("  replicas: 2\n", "")
t = t.replace("  size: \"3\"\n", "")
open(sys.argv[2], "w").write(t)
PY
kc apply --server-side -f "$work/web2.yaml" >/dev/null || fail "apply web2"
get_json d3 deploy web
json_check d3 '[c["name"] for c in o["spec"]["template"]["spec"]["containers"]] == ["web"]'
json_check d3 'o["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "fast"}]'
json_check d3 'o["spec"]["replicas"] == 1 and o["metadata"]["generation"] == 2'
json_check d3 '"k:{\"name\":\"side\"}" not in mf("kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]'
get_json cm3 cm settings
json_check cm3 'o["data"] == {"color": "blue"}'

echo "== fields other managers own stay"
cat >"$work/extra.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  template:
    spec:
      containers:
        - name: extra
          image: busybox:1.36
YAML
kc apply --server-side --field-manager=sidecar -f "$work/extra.yaml" >/dev/null || fail "apply extra"
kc apply --server-side -f "$work/web2.yaml" >/dev/null
get_json d4 deploy web
json_check d4 '[c["name"] for c in o["spec"]["template"]["spec"]["containers"]] == ["web", "extra"]'
json_check d4 'list(mf("sidecar", "Apply")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]) == ["k:{\"name\":\"extra\"}"]'

echo "== two managers: a conflict names the other manager and the field"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  key: one\n  a-only: x\n' >"$work/a.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  key: two\n  b-only: beta\n' >"$work/b.yaml"
kc apply --server-side --field-manager=a -f "$work/a.yaml" >/dev/null || fail "apply a"
get_json sh0 cm shared
rc=0
kc apply --server-side --field-manager=b -f "$work/b.yaml" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "conflicting apply exited $rc: $(cat "$work/err")"
grep -qF 'Apply failed with 1 conflict: conflict with "a": .data.key' "$work/err" ||
    fail "conflict message: $(cat "$work/err")"
get_json sh1 cm shared
json_check sh1 'o["data"] == {"key": "one", "a-only": "x"}'
[ "$(field sh0 'o["metadata"]["resourceVersion"]')" = "$(field sh1 'o["metadata"]["resourceVersion"]')" ] ||
    fail "a rejected apply changed the object"

echo "== the same value is shared, not a conflict"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  key: one\n' >"$work/b-same.yaml"
kc apply --server-side --field-manager=b -f "$work/b-same.yaml" >/dev/null || fail "co-owning apply"
get_json sh2 cm shared
json_check sh2 'mf("a")["fieldsV1"]["f:data"] == {"f:a-only": {}, "f:key": {}} and mf("b")["fieldsV1"] == {"f:data": {"f:key": {}}}'

echo "== --force-conflicts takes ownership"
kc apply --server-side --field-manager=b --force-conflicts -f "$work/b.yaml" >/dev/null || fail "forced apply"
get_json sh3 cm shared
json_check sh3 'o["data"] == {"key": "two", "a-only": "x", "b-only": "beta"}'
json_check sh3 'mf("a")["fieldsV1"] == {"f:data": {"f:a-only": {}}} and mf("b")["fieldsV1"] == {"f:data": {"f:b-only": {}, "f:key": {}}}'
# a now owns only a-only: dropping key from its config removes nothing of b's.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  a-only: x\n' >"$work/a2.yaml"
kc apply --server-side --field-manager=a -f "$work/a2.yaml" >/dev/null || fail "apply a2"
get_json sh4 cm shared
json_check sh4 'o["data"] == {"key": "two", "a-only": "x", "b-only": "beta"}'

echo "== conflicts with an Update manager name its apiVersion"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\n  namespace: default\ndata:\n  key: one\n' >"$work/made.yaml"
kc create -f "$work/made.yaml" >/dev/null
get_json m1 cm made
json_check m1 'mf("kubectl-create", "Update")["fieldsV1"] == {"f:data": {".": {}, "f:key": {}}} and mf("kubectl-create")["apiVersion"] == "v1"'
sed 's/key: one/key: two/' "$work/made.yaml" >"$work/made2.yaml"
expect_fail 'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.key' \
    kc apply --server-side --field-manager=mine -f "$work/made2.yaml"
kc label cm made -n default tier=gold >/dev/null
get_json m2 cm made
json_check m2 'mf("kubectl-label", "Update")["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}'

echo "== --dry-run=server answers the would-be object and stores nothing"
get_json dr0 cm settings
sed 's/color: blue/color: red/' "$work/web2.yaml" >"$work/web3.yaml"
kc apply --server-side --dry-run=server -f "$work/web3.yaml" -o json >"$work/dry.json" || fail "dry-run apply"
python3 - "$work/dry.json" <<'PY' || fail "dry-run answer: $(cat "$work/dry.json")"
import json, sys
o = json.load(open(sys.argv[1]))
items = o["items"] if o.get("kind") == "List" else [o]
cm = [i for i in items if i["kind"] == "ConfigMap"][0]
sys.exit(0 if cm["data"]["color"] == "red" else 1)
PY
get_json dr1 cm settings
json_check dr1 'o["data"]["color"] == "blue"'
[ "$(field dr0 'o["metadata"]["resourceVersion"]')" = "$(field dr1 'o["metadata"]["resourceVersion"]')" ] ||
    fail "dry-run moved the resourceVersion"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never\n  namespace: default\ndata:\n  a: b\n' >"$work/never.yaml"
kc get --raw /kubesim/admin/faults >"$work/count0.json" || fail "counters"
kc apply --server-side --dry-run=server -f "$work/never.yaml" >/dev/null || fail "dry-run create"
kc get --raw /kubesim/admin/faults >"$work/count1.json" || fail "counters"
# kubesim counts requests by method and its dry runs (benchmarks prove a
# quiet pass sent no apply with them): this one was a PATCH and a dry run.
python3 - "$work/count0.json" "$work/count1.json" <<'PY2' || fail "counters: $(cat "$work/count0.json" "$work/count1.json")"
import json, sys
a, b = (json.load(open(f))["counters"] for f in sys.argv[1:3])
d = {m: b["byMethod"][m] - a["byMethod"][m] for m in a["byMethod"]}
sys.exit(0 if d["PATCH"] == 1 and b["dryRun"] - a["dryRun"] == 1 and d["POST"] == d["PUT"] == d["DELETE"] == 0
         and b["requests"] - a["requests"] == sum(d.values()) else 1)
PY2
expect_fail 'configmaps "never" not found' kc get cm never -n default

echo "== generation moves only with the spec"
get_json g0 deploy web
sed '0,/^    app: web$/s//    app: web\n    tier: front/' "$work/web2.yaml" >"$work/web4.yaml"
grep -q 'tier: front' "$work/web4.yaml" || fail "test bug: label not added"
kc apply --server-side -f "$work/web4.yaml" >/dev/null
get_json g1 deploy web
json_check g1 'o["metadata"]["labels"]["tier"] == "front"'
[ "$(field g0 'o["metadata"]["generation"]')" = "$(field g1 'o["metadata"]["generation"]')" ] ||
    fail "a label change moved the generation"
[ "$(field g0 'o["metadata"]["resourceVersion"]')" != "$(field g1 'o["metadata"]["resourceVersion"]')" ] ||
    fail "a label change kept the resourceVersion"
sed 's/nginx:1.27/nginx:1.28/' "$work/web4.yaml" >"$work/web5.yaml"
kc apply --server-side -f "$work/web5.yaml" >/dev/null
get_json g2 deploy web
json_check g2 "o['metadata']['generation'] == $(field g1 'o["metadata"]["generation"]') + 1"
get_json cmg cm settings
json_check cmg '"generation" not in o["metadata"]'

echo "== strategic merge patch merges containers by name"
kc patch deploy web -n default -p '{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"busybox:1.37"}]}}}}' >/dev/null
get_json p1 deploy web
json_check p1 '[(c["name"], c["image"]) for c in o["spec"]["template"]["spec"]["containers"]] == [("web", "nginx:1.28"), ("extra", "busybox:1.37")]'
json_check p1 'mf("kubectl-patch", "Update")["fieldsV1"] == {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"extra\"}": {"f:image": {}}}}}}}'
json_check p1 '"k:{\"name\":\"extra\"}" in mf("sidecar", "Apply")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]'
expect_fail 'conflict with "kubectl-patch" using apps/v1: .spec.template.spec.containers[name="extra"].image' \
    kc apply --server-side --field-manager=sidecar -f "$work/extra.yaml"

echo "== status is not written through the main resource"
cat >"$work/edge.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: edge
  namespace: default
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
    - name: http
      port: 80
YAML
kc apply --server-side -f "$work/edge.yaml" >/dev/null || fail "apply LoadBalancer"
get_json st0 svc edge
json_check st0 'o["spec"]["externalTrafficPolicy"] == "Cluster" and o["spec"]["allocateLoadBalancerNodePorts"] is True and 30000 <= o["spec"]["ports"][0]["nodePort"] <= 32767'
kc patch svc edge -n default --subresource=status --type=merge \
    -p '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}' >/dev/null || fail "status patch"
cp "$work/edge.yaml" "$work/svc-status.yaml"
cat >>"$work/svc-status.yaml" <<'YAML'
status:
  loadBalancer:
    ingress:
      - ip: 198.51.100.1
YAML
kc apply --server-side -f "$work/svc-status.yaml" >/dev/null || fail "apply with status"
kc label svc edge -n default x=y >/dev/null
get_json st1 svc edge
json_check st1 'o["status"] == {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}'
json_check st1 '"f:status" not in mf("kubectl")["fieldsV1"]'
json_check st1 'o["spec"]["clusterIP"] == "'"$(field st0 'o["spec"]["clusterIP"]')"'" and o["spec"]["ports"] == json.load(open(sys.argv[1].replace("st1", "st0")))["spec"]["ports"]'

echo "== uid and creationTimestamp never change; a Deployment's annotations move its generation"
sleep 1.1
get_json id0 deploy web
kc annotate deploy web -n default note=later >/dev/null
get_json id1 deploy web
json_check id1 'o["metadata"]["uid"] == "'"$uid"'" and o["metadata"]["creationTimestamp"] == "'"$created"'"'
json_check id1 "o['metadata']['generation'] == $(field id0 'o["metadata"]["generation"]') + 1"

echo "== client-side apply moves to server-side apply without conflicts"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\n  namespace: default\ndata:\n  key: one\n  old: x\n' >"$work/csa.yaml"
kc apply -f "$work/csa.yaml" >/dev/null
get_json csa0 cm csa
json_check csa0 'mf("kubectl-client-side-apply", "Update") is not None'
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\n  namespace: default\ndata:\n  key: two\n' >"$work/csa2.yaml"
kc apply --server-side -f "$work/csa2.yaml" >"$work/out" 2>"$work/err" || fail "CSA to SSA: $(cat "$work/err")"
if grep -q 'Warning' "$work/err"; then fail "CSA to SSA warned: $(cat "$work/err")"; fi
get_json csa1 cm csa
json_check csa1 'o["data"] == {"key": "two"} and mf("kubectl-client-side-apply") is None'
json_check csa1 'json.loads(o["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])["data"] == {"key": "two"}'

echo "== status applies through the status subresource, with their own manager"
expect_fail 'Apply failed with 1 conflict: conflict with "kubectl-patch" with subresource "status" using v1: .status.loadBalancer.ingress' \
    kc apply --server-side --subresource=status --field-manager=lb -f "$work/svc-status.yaml"
kc apply --server-side --subresource=status --field-manager=lb --force-conflicts -f "$work/svc-status.yaml" >/dev/null ||
    fail "status apply"
get_json st2 svc edge
json_check st2 'o["status"]["loadBalancer"]["ingress"] == [{"ip": "198.51.100.1"}]'
json_check st2 'mf("lb")["subresource"] == "status" and mf("lb")["operation"] == "Apply" and mf("lb")["fieldsV1"] == {"f:status": {"f:loadBalancer": {"f:ingress": {}}}}'
json_check st2 'o["spec"] == json.load(open(sys.argv[1].replace("st2", "st1")))["spec"]'

echo "== a Service that is no longer a LoadBalancer loses what only that type needed"
grep -v '  type: LoadBalancer' "$work/edge.yaml" >"$work/edge2.yaml"
kc apply --server-side -f "$work/edge2.yaml" >/dev/null || fail "apply ClusterIP"
get_json st3 svc edge
json_check st3 'o["spec"]["type"] == "ClusterIP" and "nodePort" not in o["spec"]["ports"][0] and "externalTrafficPolicy" not in o["spec"] and "allocateLoadBalancerNodePorts" not in o["spec"]'
json_check st3 'o["status"] == {"loadBalancer": {}} and o["spec"]["clusterIP"] == "'"$(field st0 'o["spec"]["clusterIP"]')"'"'

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
