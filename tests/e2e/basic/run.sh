#!/bin/bash
# End to end, as an operator would see it: a Git repository made with real
# git, kubesim as the cluster, `edgecd serve` keeping them in step, real
# kubectl and the edgecd CLI checking the result.
#   1. Namespace, ConfigMap, Deployment and Service appear, tracked.
#   2. A ConfigMap change in Git reaches the cluster within the poll interval.
#   3. A file deleted from Git is pruned.
#   4. Broken YAML: nothing is pruned, the error is visible through the API.
#   5. Fixed again: synced.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/site"
cat >"$repo/site/namespace.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
YAML
cat >"$repo/site/configmap.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  color: blue
YAML
cat >"$repo/site/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.local/web:1.0
YAML
cat >"$repo/site/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
YAML
git -C "$repo" init -q -b main
e2e_commit "$repo" "first site"

e2e_write_site shop "file://$repo" main site shop
e2e_start_serve

echo "== 1. objects appear with the tracking label and annotation"
wait_for 20 "deployment applied" $KUBECTL get deploy web -n shop
for obj in "namespace shop|:/Namespace:/shop" "configmap shop-config -n shop|:/ConfigMap:shop/shop-config" \
    "deployment web -n shop|:apps/Deployment:shop/web" "service web -n shop|:/Service:shop/web"; do
    what=${obj%%|*}
    id=shop${obj#*|}
    # shellcheck disable=SC2086
    json=$($KUBECTL get $what -o json)
    check_json "$json" "o['metadata']['labels']['edgecd.io/app']" shop
    check_json "$json" "o['metadata']['annotations']['edgecd.io/tracking-id']" "$id"
done
head=$(git -C "$repo" rev-parse HEAD)
wait_for 20 "app synced at $head" app_field shop "o['status']['sync']['revision']" "$head"
check_json "$(app_json shop)" "o['status']['sync']['status']" Synced
check_json "$(app_json shop)" "len(o['status']['resources'])" 4
"$EDGECD_BIN" app list | grep -E '^shop +Synced'

echo "== the API refuses requests without the token"
code=$(api_curl -s -o /dev/null -w '%{http_code}' "$EDGECD_SERVER/api/v1/applications")
[ "$code" = 401 ] || fail "unauthenticated request answered $code"
code=$(api_curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$EDGECD_SERVER/api/v1/applications")
[ "$code" = 401 ] || fail "wrong token answered $code"
[ "$(api_curl -s "$EDGECD_SERVER/healthz" -o /dev/null -w '%{http_code}')" = 200 ] || fail "healthz"

echo "== 2. a change in Git reaches the cluster within the poll interval"
sed -i 's/color: blue/color: green/' "$repo/site/configmap.yaml"
e2e_commit "$repo" "green"
wait_for 10 "configmap updated" kube_field "configmap shop-config -n shop" "o['data']['color']" green

echo "== 3. a file deleted from Git is pruned"
git -C "$repo" rm -q site/service.yaml
e2e_commit "$repo" "no service"
wait_for 10 "service pruned" gone "service web -n shop"
head=$(git -C "$repo" rev-parse HEAD)
wait_for 10 "app synced at $head" app_field shop "o['status']['sync']['revision']" "$head"

echo "== 4. broken YAML: nothing is pruned, the error is visible"
good=$head
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n' >"$repo/site/configmap.yaml"
git -C "$repo" rm -q site/deployment.yaml
e2e_commit "$repo" "broken"
wait_for 10 "error recorded" app_has_error shop configmap.yaml
$KUBECTL get deploy web -n shop >/dev/null || fail "deployment was pruned although Git was broken"
$KUBECTL get configmap shop-config -n shop >/dev/null || fail "configmap was pruned although Git was broken"
check_json "$(app_json shop)" "o['status']['sync']['revision']" "$good"
"$EDGECD_BIN" app get shop | grep -q 'Last Error: .*configmap.yaml' || fail "app get shows no error"

echo "== 5. fixed: synced again, deployment now pruned"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-config\ndata:\n  color: red\n' >"$repo/site/configmap.yaml"
e2e_commit "$repo" "fixed"
wait_for 10 "deployment pruned" gone "deployment web -n shop"
wait_for 10 "configmap red" kube_field "configmap shop-config -n shop" "o['data']['color']" red
check_json "$(app_json shop)" "o['status']['sync']['status']" Synced
check_json "$(app_json shop)" "o['status'].get('conditions', [])" "[]"
echo "e2e basic: all checks passed"
