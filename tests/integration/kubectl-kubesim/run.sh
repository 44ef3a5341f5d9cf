#!/bin/bash
# Real kubectl against kubesim: server-side apply, get, label selectors,
# re-apply, a CRD and its custom resource, delete, AlreadyExists,
# client-certificate auth and a rejected token. Default kubectl flags
# (validation on) throughout: kubesim serves the OpenAPI v3 that kubectl's
# validation asks for.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/kubectl-kubesim.XXXXXX")
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
grep -q 'kubesim: serving https://127.0.0.1:' "$work/kubesim.log" || fail "no serving line"

# A cache directory per run: kubectl caches discovery per host:port.
kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
kc_cert() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig-cert" --cache-dir "$work/cache" "$@"; }

# json_check FILE PYTHON-EXPRESSION: the expression over `o` (the parsed
# file) must be true.
json_check() {
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
        fail "$1: expected $2, got: $(cat "$1")"
}

# expect_fail TEXT CMD...: CMD must fail and say TEXT on stderr.
expect_fail() {
    local text=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        fail "$* succeeded; expected failure with: $text"
    fi
    grep -qF -- "$text" "$work/err" || fail "$*: expected '$text', got: $(cat "$work/err")"
}

cat >"$work/app.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels:
    app: x
data:
  color: blue
  size: "3"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
  namespace: shop
  labels:
    app: other
data:
  a: b
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
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
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
    - port: 80
YAML

echo "== apply --server-side"
kc apply --server-side -f "$work/app.yaml" >"$work/out" || fail "apply: $(cat "$work/out")"
grep -q 'configmap/settings serverside-applied' "$work/out" || fail "apply output: $(cat "$work/out")"

echo "== get"
kc get ns shop -o json >"$work/ns.json"
json_check "$work/ns.json" 'o["status"]["phase"] == "Active"'
kc get cm settings -n shop -o json >"$work/cm.json"
json_check "$work/cm.json" 'o["data"] == {"color": "blue", "size": "3"} and o["metadata"]["labels"]["app"] == "x"'
json_check "$work/cm.json" 'int(o["metadata"]["resourceVersion"]) > 0 and len(o["metadata"]["uid"]) == 36'
# Status comes from kubesim's workload simulator a moment later, as on a
# cluster.
kc rollout status deploy/web -n shop --timeout=60s >/dev/null 2>"$work/err" || fail "rollout: $(cat "$work/err")"
kc get deploy web -n shop -o json >"$work/deploy.json"
json_check "$work/deploy.json" 'o["spec"]["replicas"] == 1 and o["metadata"]["generation"] == 1'
json_check "$work/deploy.json" 'o["status"]["readyReplicas"] == 1 and o["status"]["observedGeneration"] == 1'
kc get svc web -n shop -o json >"$work/svc.json"
json_check "$work/svc.json" 'o["spec"]["clusterIP"].startswith("10.") and o["spec"]["clusterIPs"] == [o["spec"]["clusterIP"]] and o["spec"]["type"] == "ClusterIP"'
json_check "$work/svc.json" 'o["spec"]["ports"][0]["protocol"] == "TCP"'
kc get cm settings -n shop -o json --show-managed-fields >"$work/cm-mf.json"
json_check "$work/cm-mf.json" '[m["manager"] for m in o["metadata"]["managedFields"]] == ["kubectl"] and o["metadata"]["managedFields"][0]["operation"] == "Apply"'
kc get cm,deploy,svc -n shop >"$work/out"
grep -q 'deployment.apps/web' "$work/out" || fail "table get: $(cat "$work/out")"

echo "== label selectors"
kc get cm -n shop -l app=x -o name >"$work/out"
[ "$(cat "$work/out")" = "configmap/settings" ] || fail "-l app=x: $(cat "$work/out")"
kc get cm -A -l 'app in (x,other)' -o name >"$work/out"
[ "$(wc -l <"$work/out")" = 2 ] || fail "-l 'app in (x,other)': $(cat "$work/out")"
kc get cm -n shop -l 'app!=x,app' -o name >"$work/out"
[ "$(cat "$work/out")" = "configmap/other" ] || fail "-l 'app!=x,app': $(cat "$work/out")"

kc get cm -n shop -l 'app notin (x)' -o name >"$work/out"
[ "$(cat "$work/out")" = "configmap/other" ] || fail "-l 'app notin (x)': $(cat "$work/out")"
kc get cm -n shop -l '!app' -o name >"$work/out"
[ ! -s "$work/out" ] || fail "-l '!app': $(cat "$work/out")"
kc get cm -A --field-selector metadata.name=other -o name >"$work/out"
[ "$(cat "$work/out")" = "configmap/other" ] || fail "--field-selector: $(cat "$work/out")"

echo "== re-apply unchanged keeps resourceVersion and generation"
rv1=$(kc get deploy web -n shop -o jsonpath='{.metadata.resourceVersion}')
kc apply --server-side -f "$work/app.yaml" >/dev/null
rv2=$(kc get deploy web -n shop -o jsonpath='{.metadata.resourceVersion}')
[ "$rv1" = "$rv2" ] || fail "unchanged re-apply moved resourceVersion $rv1 -> $rv2"

echo "== re-apply a changed ConfigMap"
sed -e 's/color: blue/color: green/' -e '/size: "3"/d' "$work/app.yaml" >"$work/app2.yaml"
kc apply --server-side -f "$work/app2.yaml" >/dev/null
kc get cm settings -n shop -o json >"$work/cm2.json"
json_check "$work/cm2.json" 'o["data"] == {"color": "green"}'
json_check "$work/cm2.json" "int(o['metadata']['resourceVersion']) > $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$work/cm.json")"

echo "== scaling bumps generation"
sed -e 's/^spec:$/spec:\n  replicas: 3/' "$work/app2.yaml" | python3 -c '
import sys
text = sys.stdin.read()
# only the Deployment gets replicas
parts = text.split("---\n")
parts = [p if "kind: Deployment" in p else p.replace("  replicas: 3\n", "") for p in parts]
sys.stdout.write("---\n".join(parts))' >"$work/app3.yaml"
kc apply --server-side -f "$work/app3.yaml" >/dev/null
kc get deploy web -n shop -o json >"$work/deploy3.json"
json_check "$work/deploy3.json" 'o["metadata"]["generation"] == 2'
kc rollout status deploy/web -n shop --timeout=60s >/dev/null 2>"$work/err" || fail "rollout: $(cat "$work/err")"
kc get deploy web -n shop -o json >"$work/deploy3.json"
json_check "$work/deploy3.json" 'o["spec"]["replicas"] == 3 and o["metadata"]["generation"] == 2 and o["status"]["readyReplicas"] == 3'

echo "== CRD and custom resource"
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
    shortNames: [wg]
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
YAML
cat >"$work/cr.yaml" <<'YAML'
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: shop
spec:
  size: 3
YAML
kc apply --server-side -f "$work/crd.yaml" >/dev/null
kc api-resources --api-group=example.com >"$work/out"
grep -q 'widgets.*wg.*example.com/v1.*true.*Widget' "$work/out" || fail "api-resources: $(cat "$work/out")"
kc apply --server-side -f "$work/cr.yaml" >/dev/null
kc get wg w1 -n shop -o json >"$work/cr.json"
json_check "$work/cr.json" 'o["kind"] == "Widget" and o["apiVersion"] == "example.com/v1" and o["spec"]["size"] == 3'

echo "== AlreadyExists"
expect_fail 'configmaps "settings" already exists' kc create -f "$work/app.yaml"
expect_fail 'widgets.example.com "w1" already exists' kc create -f "$work/cr.yaml"

echo "== RBAC names are path segments (system:... roles), other kinds DNS subdomains"
printf 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: "system:edge:reader"\nrules: []\n' |
    kc apply --server-side -f - >/dev/null
kc get clusterrole system:edge:reader -o jsonpath='{.metadata.name}' | grep -qx 'system:edge:reader' ||
    fail "ClusterRole system:edge:reader not stored"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "a:b"\n  namespace: shop\n' >"$work/colon.yaml"
expect_fail 'a lowercase RFC 1123 subdomain' kc apply --server-side -f "$work/colon.yaml"

echo "== delete"
kc delete -f "$work/cr.yaml" >/dev/null
expect_fail 'widgets.example.com "w1" not found' kc get widget w1 -n shop
kc delete cm other -n shop >/dev/null
expect_fail 'configmaps "other" not found' kc get cm other -n shop
kc delete crd widgets.example.com >/dev/null
kc get --raw /apis >"$work/apis.json"
json_check "$work/apis.json" '"example.com" not in [g["name"] for g in o["groups"]]'

echo "== client-certificate auth"
kc_cert get cm settings -n shop -o jsonpath='{.data.color}' >"$work/out"
[ "$(cat "$work/out")" = green ] || fail "cert auth get: $(cat "$work/out")"
kc_cert apply --server-side -f "$work/crd.yaml" >/dev/null
kc_cert delete crd widgets.example.com >/dev/null

echo "== namespace deletion removes its contents"
kc delete ns shop >/dev/null
expect_fail 'namespaces "shop" not found' kc get ns shop
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: shop\n' >"$work/late.yaml"
expect_fail 'namespaces "shop" not found' kc apply --server-side -f "$work/late.yaml"
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n' >"$work/ns.yaml"
kc create -f "$work/ns.yaml" >/dev/null
kc get cm -n shop -o name >"$work/out"
[ ! -s "$work/out" ] || fail "objects survived namespace deletion: $(cat "$work/out")"

echo "== rejected credentials"
expect_fail 'Unauthorized' "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" --token not-the-token get ns
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
