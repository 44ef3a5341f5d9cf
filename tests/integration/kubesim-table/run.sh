#!/bin/bash
# Server-side printing: kubectl asks for a meta.k8s.io Table on get, list
# and watch; kubesim answers with the real columns of the real API server
# (READY 2/2, PORT(S) 80:30080/TCP, ...). Checked through real kubectl's
# output (headers and cells, default and -o wide, get -w) and through the
# raw Table JSON; Accept without as=Table still gets the plain objects.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/kubesim-table.XXXXXX")
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
    cat "$work/kubesim.log" >&2 || true
    exit 1
}

"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" >"$work/kubesim.log" 2>&1 &
sim=$!
for i in $(seq 100); do
    [ -f "$work/sim/kubeconfig" ] && break
    kill -0 "$sim" 2>/dev/null || fail "kubesim exited"
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim wrote no kubeconfig"
server=$(sed -n 's/^ *server: //p' "$work/sim/kubeconfig" | head -n 1)

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
raw() {
    curl -sS --fail --cacert "$work/sim/ca.crt" --cert "$work/sim/client.crt" \
        --key "$work/sim/client.key" "$@"
}
TABLE_ACCEPT='application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'

# kubectl pads columns with at least three spaces; "|" between cells makes
# lines easy to match (cells such as NOMINATED NODE keep their one space).
cells() { sed -E 's/ {2,}/|/g' "$1"; }
# has FILE REGEX: some line of FILE (cells joined by |) matches ^REGEX$.
has() {
    cells "$1" | grep -qE "^$2\$" || fail "$1: no line matching ^$2\$ in:
$(cat "$1")"
}
AGE='[0-9]+(s|m[0-9]*s?)'

cat >"$work/app.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
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
        - name: nginx
          image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: NodePort
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
      nodePort: 30080
---
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: shop
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
    - port: 443
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: blue
  size: "3"
---
apiVersion: v1
kind: Secret
metadata:
  name: token
  namespace: shop
type: Opaque
stringData:
  token: abc
YAML
kc apply -f "$work/app.yaml" >/dev/null
kc -n shop rollout status deploy/web --timeout=30s >/dev/null || fail "rollout did not finish"
# the load balancer gets its address on its own schedule (kubesim's tick)
for _ in $(seq 150); do
    [ -n "$(kc -n shop get svc lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}')" ] && break
    sleep 0.2
done

kc -n shop get deploy,rs,pods,svc,cm,ns >"$work/get" || fail "kubectl get"
has "$work/get" 'NAME|READY|UP-TO-DATE|AVAILABLE|AGE'
has "$work/get" "deployment.apps/web\|2/2\|2\|2\|$AGE"
has "$work/get" 'NAME|DESIRED|CURRENT|READY|AGE'
has "$work/get" "replicaset.apps/web-[a-z0-9]+\|2\|2\|2\|$AGE"
has "$work/get" 'NAME|READY|STATUS|RESTARTS|AGE'
[ "$(cells "$work/get" | grep -cE "^pod/web-[a-z0-9]+-[a-z0-9]+\|1/1\|Running\|0\|$AGE\$")" = 2 ] ||
    fail "expected two Running 1/1 pods in: $(cat "$work/get")"
has "$work/get" 'NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT\(S\)|AGE'
has "$work/get" "service/web\|NodePort\|[0-9.]+\|<none>\|80:30080/TCP\|$AGE"
has "$work/get" "service/lb\|LoadBalancer\|[0-9.]+\|[0-9.]+\|443:[0-9]+/TCP\|$AGE"
has "$work/get" 'NAME|DATA|AGE'
has "$work/get" "configmap/settings\|2\|$AGE"
has "$work/get" 'NAME|STATUS|AGE'
has "$work/get" "namespace/shop\|Active\|$AGE"
has "$work/get" "namespace/default\|Active\|$AGE"

kc -n shop get deploy,rs,pods,svc -o wide >"$work/wide" || fail "kubectl get -o wide"
has "$work/wide" 'NAME|READY|UP-TO-DATE|AVAILABLE|AGE|CONTAINERS|IMAGES|SELECTOR'
has "$work/wide" "deployment.apps/web\|2/2\|2\|2\|$AGE\|nginx\|nginx:1.27\|app=web"
has "$work/wide" 'NAME|DESIRED|CURRENT|READY|AGE|CONTAINERS|IMAGES|SELECTOR'
has "$work/wide" "replicaset.apps/web-[a-z0-9]+\|2\|2\|2\|$AGE\|nginx\|nginx:1.27\|app=web,pod-template-hash=[a-z0-9]+"
has "$work/wide" 'NAME|READY|STATUS|RESTARTS|AGE|IP|NODE|NOMINATED NODE|READINESS GATES'
has "$work/wide" "pod/web-[a-z0-9]+-[a-z0-9]+\|1/1\|Running\|0\|$AGE\|[0-9.]+\|[a-z0-9-]+\|<none>\|<none>"
has "$work/wide" 'NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT\(S\)|AGE|SELECTOR'
has "$work/wide" "service/web\|NodePort\|[0-9.]+\|<none>\|80:30080/TCP\|$AGE\|app=web"

kc -n shop get secret token >"$work/secret" || fail "kubectl get secret"
has "$work/secret" 'NAME|TYPE|DATA|AGE'
has "$work/secret" "token\|Opaque\|1\|$AGE"

# A kind without a printer of its own: Name and Age.
printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n  namespace: shop\n' |
    kc apply -f - >/dev/null
kc -n shop get sa robot >"$work/sa" || fail "kubectl get sa"
has "$work/sa" 'NAME|AGE'
has "$work/sa" "robot\|$AGE"

# The raw Table: shape, column definitions, the row's partial metadata.
raw -H "Accept: $TABLE_ACCEPT" "$server/apis/apps/v1/namespaces/shop/deployments?limit=500" \
    >"$work/table.json" || fail "GET deployments as Table"
python3 - "$work/table.json" <<'PY' || fail "Table shape: $(cat "$work/table.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1", t
assert t["metadata"]["resourceVersion"].isdigit()
cols = [(c["name"], c["type"], c["priority"]) for c in t["columnDefinitions"]]
assert cols == [("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "integer", 0),
                ("Available", "integer", 0), ("Age", "string", 0), ("Containers", "string", 1),
                ("Images", "string", 1), ("Selector", "string", 1)], cols
assert t["columnDefinitions"][0]["format"] == "name"
assert all(c["description"] for c in t["columnDefinitions"])
assert len(t["rows"]) == 1
row = t["rows"][0]
assert row["cells"][:4] == ["web", "2/2", 2, 2], row["cells"]
assert row["cells"][5:] == ["nginx", "nginx:1.27", "app=web"], row["cells"]
o = row["object"]
assert o["kind"] == "PartialObjectMetadata" and o["apiVersion"] == "meta.k8s.io/v1", o
assert o["metadata"]["name"] == "web" and o["metadata"]["namespace"] == "shop"
assert "spec" not in o
PY

# limit and continue carry over into the Table's metadata.
raw -H "Accept: $TABLE_ACCEPT" "$server/api/v1/namespaces?limit=2" >"$work/ns.json" ||
    fail "GET namespaces as Table"
python3 - "$work/ns.json" <<'PY' || fail "Table list metadata: $(cat "$work/ns.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["kind"] == "Table" and len(t["rows"]) == 2
assert t["metadata"]["continue"]
assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Status", "Age"]
PY

# One object, includeObject=Object, and the v1beta1 Table when only that is asked.
raw -H 'Accept: application/json;as=Table;v=v1beta1;g=meta.k8s.io' \
    "$server/api/v1/namespaces/shop/services/web?includeObject=Object" >"$work/svc.json" ||
    fail "GET service as Table"
python3 - "$work/svc.json" <<'PY' || fail "one-object Table: $(cat "$work/svc.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1beta1", t
assert len(t["rows"]) == 1
r = t["rows"][0]
assert r["cells"][:5] == ["web", "NodePort", r["cells"][2], "<none>", "80:30080/TCP"], r["cells"]
assert r["object"]["kind"] == "Service" and r["object"]["spec"]["type"] == "NodePort"
assert t["metadata"]["resourceVersion"] == r["object"]["metadata"]["resourceVersion"]
PY

# Plain JSON is unchanged.
raw -H 'Accept: application/json' "$server/apis/apps/v1/namespaces/shop/deployments" \
    >"$work/plain.json" || fail "GET deployments"
python3 - "$work/plain.json" <<'PY' || fail "plain list: $(cat "$work/plain.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["kind"] == "DeploymentList" and t["items"][0]["spec"]["replicas"] == 2
PY

# kubectl get -w prints the header once, then a row per event.
kc -n shop get cm -w >"$work/getw" 2>&1 &
watcher=$!
sleep 1
# (kubectl create sends protobuf, which kubesim does not speak: apply.)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  namespace: shop\ndata: {a: "1", b: "2", c: "3"}\n' |
    kc apply -f - >/dev/null
sleep 1
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
[ "$(cells "$work/getw" | grep -c '^NAME|DATA|AGE$')" = 1 ] || fail "get -w header: $(cat "$work/getw")"
has "$work/getw" "settings\|2\|$AGE"
has "$work/getw" "later\|3\|$AGE"

# Watch as Table: one-row Tables, column definitions on the first only.
raw -N -H "Accept: $TABLE_ACCEPT" \
    "$server/api/v1/namespaces/shop/configmaps?watch=1&timeoutSeconds=1" >"$work/watch.json" ||
    fail "watch configmaps as Table"
python3 - "$work/watch.json" <<'PY' || fail "watch Table: $(cat "$work/watch.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(ev) >= 2, ev
for i, e in enumerate(ev):
    t = e["object"]
    assert e["type"] == "ADDED" and t["kind"] == "Table" and len(t["rows"]) == 1, e
    assert bool(t["columnDefinitions"]) == (i == 0), e
names = sorted(e["object"]["rows"][0]["cells"][0] for e in ev)
assert "settings" in names, names
PY

# Pod status from the waiting reason, restarts, and a Job's row.
cat >"$work/more.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crash
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: crash
  template:
    metadata:
      labels:
        app: crash
    spec:
      containers:
        - name: main
          image: busybox:crashloop
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
YAML
kc apply -f "$work/more.yaml" >/dev/null
kc -n shop wait --for=condition=complete job/once --timeout=30s >/dev/null || fail "job did not complete"
kc -n shop get job once >"$work/job" || fail "kubectl get job"
has "$work/job" 'NAME|STATUS|COMPLETIONS|DURATION|AGE'
has "$work/job" "once\|Complete\|1/1\|$AGE\|$AGE"
for i in $(seq 100); do
    kc -n shop get pods -l app=crash >"$work/crash" 2>&1 || true
    cells "$work/crash" | grep -qE '\|CrashLoopBackOff\|[1-9]' && break
    sleep 0.2
done
has "$work/crash" "crash-[a-z0-9]+-[a-z0-9]+\|0/1\|CrashLoopBackOff\|[1-9][0-9]* \($AGE ago\)\|$AGE"

# StatefulSet and DaemonSet rows once the simulator made them ready.
cat >"$work/sets.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  replicas: 1
  serviceName: db
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
        - name: pg
          image: postgres:17
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: shop
spec:
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
          image: agent:1
YAML
kc apply -f "$work/sets.yaml" >/dev/null
kc -n shop rollout status sts/db --timeout=30s >/dev/null || fail "statefulset rollout"
kc -n shop rollout status ds/agent --timeout=30s >/dev/null || fail "daemonset rollout"
kc -n shop get sts,ds -o wide >"$work/sets" || fail "kubectl get sts,ds"
has "$work/sets" 'NAME|READY|AGE|CONTAINERS|IMAGES'
has "$work/sets" "statefulset.apps/db\|1/1\|$AGE\|pg\|postgres:17"
has "$work/sets" 'NAME|DESIRED|CURRENT|READY|UP-TO-DATE|AVAILABLE|NODE SELECTOR|AGE|CONTAINERS|IMAGES|SELECTOR'
has "$work/sets" "daemonset.apps/agent\|1\|1\|1\|1\|1\|<none>\|$AGE\|agent\|agent:1\|app=agent"

# A PVC (the simulator binds it to a new PV) and the simulated node.
printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: shop\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n' |
    kc apply -f - >/dev/null
kc -n shop wait --for=jsonpath='{.status.phase}'=Bound pvc/data --timeout=30s >/dev/null || fail "pvc not bound"
kc -n shop get pvc data >"$work/pvc" || fail "kubectl get pvc"
has "$work/pvc" 'NAME|STATUS|VOLUME|CAPACITY|ACCESS MODES|STORAGECLASS|VOLUMEATTRIBUTESCLASS|AGE'
has "$work/pvc" "data\|Bound\|pvc-[a-z0-9-]+\|1Gi\|RWO\|<unset>\|$AGE"
kc get nodes >"$work/nodes" || fail "kubectl get nodes"
has "$work/nodes" 'NAME|STATUS|ROLES|AGE|VERSION'
has "$work/nodes" "[a-z0-9-]+\|Ready\|[a-z,-]+\|$AGE\|v1\.35\..*"

# CRDs print Name and Created At; their custom resources Name and Age.
cat >"$work/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
YAML
kc apply -f "$work/crd.yaml" >/dev/null
kc get crd widgets.example.com >"$work/crd" || fail "kubectl get crd"
has "$work/crd" 'NAME|CREATED AT'
has "$work/crd" 'widgets.example.com\|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z'
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: shop\n' |
    kc apply -f - >/dev/null
kc -n shop get widgets >"$work/widgets" || fail "kubectl get widgets"
has "$work/widgets" 'NAME|AGE'
has "$work/widgets" "w1\|$AGE"

# A CRD's additionalPrinterColumns (simple JSONPaths) replace Name/Age.
cat >"$work/crd2.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: gadgets
    singular: gadget
    kind: Gadget
  versions:
    - name: v1
      served: true
      storage: true
      additionalPrinterColumns:
        - name: Size
          type: integer
          jsonPath: .spec.size
        - name: Color
          type: string
          jsonPath: .spec.colors[0]
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
        - name: Owner
          type: string
          priority: 1
          jsonPath: .spec.owner
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
YAML
kc apply -f "$work/crd2.yaml" >/dev/null
printf 'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: shop\nspec:\n  size: 7\n  colors: [red, blue]\n' |
    kc apply -f - >/dev/null
kc -n shop get gadgets >"$work/gadgets" || fail "kubectl get gadgets"
has "$work/gadgets" 'NAME|SIZE|COLOR|AGE'
has "$work/gadgets" "g1\|7\|red\|$AGE"
kc -n shop get gadgets -o wide >"$work/gadgets-wide" || fail "kubectl get gadgets -o wide"
has "$work/gadgets-wide" 'NAME|SIZE|COLOR|AGE|OWNER'
has "$work/gadgets-wide" "g1\|7\|red\|$AGE\|?" # no owner: a null cell

echo "kubesim-table: ok"
