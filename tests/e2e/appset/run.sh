#!/bin/bash
# End to end: an ApplicationSet with a git directories generator, rendered
# by a root app, through `edgecd serve`, kubesim and real kubectl.
#   1. The root app registers the appset; it generates one app per folder
#      of apps/, whose ConfigMaps appear; `edgecd appset list|get` and the
#      API show it; no ApplicationSet object reaches the cluster.
#   2. A folder added in Git makes a new app and its resources appear.
#   3. A folder removed from Git deletes its app with its resources (the
#      template carries resources-finalizer.argocd.argoproj.io).
#   4. A broken template changes nothing: the apps and their resources
#      stay, a folder added then gets no app, the error shows in the
#      appset and in the root app.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/root"
appset() { # NAME-TEMPLATE
    cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: team
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - git:
      repoURL: 'file://$repo'
      revision: main
      directories:
      - path: 'apps/*'
      - path: apps/ignored
        exclude: true
  template:
    metadata:
      name: '$1'
      finalizers: [resources-finalizer.argocd.argoproj.io]
    spec:
      project: default
      source: {repoURL: 'file://$repo', targetRevision: main, path: '{{ .path.path }}'}
      destination: {server: 'https://kubernetes.default.svc', namespace: default}
      syncPolicy: {automated: {prune: true, selfHeal: true}}
YAML
}
folder() { # NAME
    mkdir -p "$repo/apps/$1"
    cat >"$repo/apps/$1/cm.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-$1}
data: {team: $1}
YAML
}
appset 'team-{{ .path.basename | lower }}' >"$repo/root/appset.yaml"
folder web
folder db
folder ignored
git -C "$repo" init -q -b main
e2e_commit "$repo" "site"

e2e_site_settings >"$work/site.yaml"
e2e_start_serve --bootstrap "file://$repo@main:root"

cm() { $KUBECTL get configmap "$1" -n default -o name; }
wait_for 30 "team-web's ConfigMap" cm cm-web
wait_for 30 "team-db's ConfigMap" cm cm-db
cm cm-ignored >/dev/null 2>&1 && fail "an excluded folder was deployed"
"$EDGECD_BIN" app get team-ignored -o json >/dev/null 2>&1 && fail "an excluded folder got an app"
$KUBECTL get applicationsets.argoproj.io -A >/dev/null 2>&1 &&
    fail "ApplicationSet objects reached the cluster" || echo "ok: no ApplicationSet in the cluster"
wait_for 15 "root app Synced" app_field root 'o["status"]["sync"]["status"]' Synced
json=$(app_json root)
check_json "$json" '[r["kind"]+"/"+r["name"]+": "+r["message"] for r in o["status"]["resources"]]' \
    '["ApplicationSet/team: generates 2 application(s)"]'
echo "ok: the root app lists the appset"
wait_for 15 "team-web Synced and Healthy" app_field team-web 'o["status"]["sync"]["status"]+"/"+o["status"]["health"]["status"]' Synced/Healthy
json=$("$EDGECD_BIN" appset get team -o json)
check_json "$json" '[r["name"] for r in o["status"]["resources"]]' '["team-db", "team-web"]'
check_json "$json" '[c["status"] for c in o["status"]["conditions"] if c["type"]=="ErrorOccurred"]' '["False"]'
check_json "$json" 'o["metadata"]["annotations"]["edgecd.io/parent"]' root
"$EDGECD_BIN" appset list | grep -E '^team +root +2 +UpToDate' >/dev/null || fail "appset list: $("$EDGECD_BIN" appset list)"
"$EDGECD_BIN" appset get team | grep -E '^team-web +Synced +Healthy' >/dev/null || fail "appset get: $("$EDGECD_BIN" appset get team)"
echo "ok: appset list and get"

# 2. a folder added in Git
folder cache
e2e_commit "$repo" "cache"
wait_for 30 "team-cache's ConfigMap" cm cm-cache

# 3. a folder removed from Git: its app and its resources go
git -C "$repo" rm -rq apps/db
e2e_commit "$repo" "no db"
gone_db() { ! cm cm-db; }
wait_for 30 "team-db's ConfigMap deleted (cascade)" gone_db
no_app() { ! "$EDGECD_BIN" app get "$1" -o json; }
wait_for 10 "team-db unregistered" no_app team-db

# 4. a broken template changes nothing
appset '{{ .path.nosuchkey }}' >"$repo/root/appset.yaml"
e2e_commit "$repo" "broken"
has_error() {
    "$EDGECD_BIN" appset get team -o json | python3 -c 'import json,sys; o=json.load(sys.stdin); sys.exit(0 if any(c["type"]=="ErrorOccurred" and c["status"]=="True" and "map has no entry for key" in c["message"] for c in o["status"]["conditions"]) else 1)'
}
wait_for 30 "the template error in the appset" has_error
wait_for 15 "root app OutOfSync" app_field root 'o["status"]["sync"]["status"]' OutOfSync
folder extra
e2e_commit "$repo" "a folder while the template is broken"
app_field root '[r for r in o["status"]["resources"] if r["kind"]=="ApplicationSet"][0]["health"]["status"]' Degraded ||
    fail "the appset's resource in the root is not Degraded"
sleep 2
for n in web cache; do
    cm "cm-$n" >/dev/null || fail "cm-$n was deleted by a broken template"
    "$EDGECD_BIN" app get "team-$n" -o json >/dev/null || fail "team-$n was deleted by a broken template"
done
cm cm-extra >/dev/null 2>&1 && fail "a broken template deployed a new folder"
echo "ok: nothing changed"
echo "PASS"
