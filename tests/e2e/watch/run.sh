#!/bin/bash
# End to end: the watch cache wakes the engine. The poll interval is 300 s,
# so anything that happens within seconds below was set off by a watch
# event, not by polling.
#   1. selfHeal on: a managed ConfigMap deleted with kubectl is re-created
#      within seconds; one changed with kubectl is changed back.
#   2. selfHeal off: a deleted managed ConfigMap is only recorded
#      (OutOfSync), not re-created.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
for ns in heal watch; do
    mkdir -p "$repo/$ns"
    printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$ns" >"$repo/$ns/namespace.yaml"
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\ndata:\n  color: blue\n' \
        "$ns" >"$repo/$ns/configmap.yaml"
done
git -C "$repo" init -q -b main
e2e_commit "$repo" "two apps"

app_yaml() { # NAME PATH SELFHEAL
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $1
spec:
  project: default
  source:
    repoURL: file://$repo
    targetRevision: main
    path: $2
  destination:
    server: https://kubernetes.default.svc
    namespace: $2
  syncPolicy:
    automated:
      prune: true
      selfHeal: $3
YAML
}
{
    cat <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
listen: 127.0.0.1:0
pollSeconds: 300
logLevel: debug
clusters:
  - kubeconfig: $work/sim/kubeconfig
YAML
    app_yaml healed heal true
    app_yaml watched watch false
} >"$work/site.yaml"
e2e_start_serve

head=$(git -C "$repo" rev-parse HEAD)
wait_for 30 "healed synced" app_field healed "o['status']['sync']['status']" Synced
wait_for 30 "watched synced" app_field watched "o['status']['sync']['status']" Synced
wait_for 30 "ConfigMaps watched" grep -q 'watch ConfigMap (all namespaces): listed' "$work/serve.log"

echo "== 1. selfHeal on: a deleted ConfigMap comes back within seconds"
uid=$($KUBECTL get configmap heal-config -n heal -o jsonpath='{.metadata.uid}')
$KUBECTL delete configmap heal-config -n heal >/dev/null
new_uid() { [ "$($KUBECTL get configmap heal-config -n heal -o jsonpath='{.metadata.uid}')" != "$uid" ]; }
wait_for 5 "configmap re-created" new_uid
check_json "$($KUBECTL get configmap heal-config -n heal -o json)" "o['metadata']['labels']['edgecd.io/app']" healed
grep -q 'app healed: changed in the cluster; reconciling now' "$work/serve.log" || fail "no watch-driven pass logged"

echo "== and a change made with kubectl is changed back"
$KUBECTL patch configmap heal-config -n heal --type merge -p '{"data":{"color":"red"}}' >/dev/null
wait_for 5 "configmap blue again" kube_field "configmap heal-config -n heal" "o['data']['color']" blue
wait_for 5 "healed synced" app_field healed "o['status']['sync']['status']" Synced

echo "== 2. selfHeal off: the deletion is recorded, not reverted"
$KUBECTL delete configmap watch-config -n watch >/dev/null
wait_for 5 "watched OutOfSync" app_field watched "o['status']['sync']['status']" OutOfSync
check_json "$(app_json watched)" "[r['status'] for r in o['status']['resources'] if r['kind']=='ConfigMap'][0]" Missing
sleep 2
gone "configmap watch-config -n watch" || fail "configmap was re-created although selfHeal is off"
check_json "$(app_json watched)" "o['status']['sync']['revision']" "$head"

echo "== the other app was left alone"
check_json "$(app_json healed)" "o['status']['sync']['status']" Synced
echo "e2e watch: all checks passed"
