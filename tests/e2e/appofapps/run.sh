#!/bin/bash
# End to end: one command brings up a site from a root App of Apps.
#   1. `edgecd serve --bootstrap file://REPO@main:root` on an empty data
#      folder creates the root app; it renders two child Applications,
#      which edgecd registers (not applies) and syncs: their ConfigMaps
#      appear, PreSync hook and waves included, with health recorded.
#   2. A child removed from Git with resources-finalizer goes with its
#      resources (cascade); one without it is unregistered and its
#      resources are left running (orphaned).
#   3. A restart with --bootstrap again does not touch the root app.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/root" "$repo/apps/a" "$repo/apps/b"
child() { # NAME FINALIZER
    cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: child-$1
  namespace: argocd
$([ "$2" = yes ] && printf '  finalizers: [resources-finalizer.argocd.argoproj.io]\n')
spec:
  project: default
  source: {repoURL: 'file://$repo', targetRevision: main, path: apps/$1}
  destination: {server: 'https://kubernetes.default.svc', namespace: default}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
YAML
}
echo "The site's applications." >"$repo/root/README.md"
child a no >"$repo/root/a.yaml"
child b yes >"$repo/root/b.yaml"
for n in a b; do
    cat >"$repo/apps/$n/all.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-$n, annotations: {argocd.argoproj.io/sync-wave: "1"}}
data: {app: $n}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: pre-$n
  annotations: {argocd.argoproj.io/hook: PreSync}
data: {hook: "yes"}
YAML
done
git -C "$repo" init -q -b main
e2e_commit "$repo" "site"

e2e_site_settings "syncWaveDelaySeconds: 0" >"$work/site.yaml"
e2e_start_serve --bootstrap "file://$repo@main:root"

cm() { $KUBECTL get configmap "$1" -n default -o name; }
wait_for 30 "child a's ConfigMap" cm cm-a
wait_for 30 "child b's ConfigMap" cm cm-b
wait_for 10 "the PreSync hook of child a ran" cm pre-a
$KUBECTL get applications.argoproj.io -A >/dev/null 2>&1 &&
    fail "Application objects reached the cluster" || echo "ok: no Application object in the cluster"
wait_for 15 "root app Synced" app_field root 'o["status"]["sync"]["status"]' Synced
wait_for 15 "child a Synced and Healthy" app_field child-a 'o["status"]["sync"]["status"]+"/"+o["status"]["health"]["status"]' Synced/Healthy
app_field child-a 'o["status"]["operationState"]["phase"]' Succeeded || fail "child a's operation did not succeed"
json=$(app_json root)
check_json "$json" '[r["kind"]+"/"+r["name"] for r in o["status"]["resources"]]' '["Application/child-a", "Application/child-b"]'
echo "ok: the root app lists its children"

# 2. children leave Git
git -C "$repo" rm -q root/a.yaml root/b.yaml
e2e_commit "$repo" "children gone"
gone_b() { ! cm cm-b; }
wait_for 30 "child b's ConfigMap deleted (cascade)" gone_b
no_app() { ! "$EDGECD_BIN" app get "$1" -o json; }
wait_for 10 "child a unregistered" no_app child-a
wait_for 10 "child b unregistered" no_app child-b
cm cm-a >/dev/null || fail "child a's ConfigMap was deleted although it had no finalizer"
echo "ok: child a's resources left running"

# 3. a restart keeps the root app as Git and the store have it
kill "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
e2e_start_serve --bootstrap "file://$repo@main:root"
wait_for 15 "root app Synced after a restart" app_field root 'o["status"]["sync"]["status"]' Synced
grep -c "bootstrap: root application root created" "$work/serve.log" | grep -qx 1 ||
    fail "the root app was created more than once"
echo "PASS"
