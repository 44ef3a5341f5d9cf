#!/bin/bash
# End to end: a restore does not fight the app that manages what it
# restores. `edgecd serve` runs an app with automated sync and selfHeal;
# a backup is taken, Git moves on, and `edgecd restore create` (same data
# directory, so the same store) writes the old objects back slowly (kubesim
# latency on the namespace's ConfigMaps):
#   - while it runs, the app's automated sync is paused ("automated sync
#     paused: restore r1 in progress"), so the restored old value stays;
#   - the restore's record names the app it held back;
#   - once the restore ends, the pause is gone and self-heal brings the
#     app back to Git.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/app"
write_app() { # VALUE
    {
        printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a-setting}\ndata: {v: "%s"}\n' "$1"
        for i in $(seq 1 30); do
            printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: filler-%d}\ndata: {n: "%d"}\n' "$i" "$i"
        done
    } >"$repo/app/all.yaml"
}
write_app 1
git -C "$repo" init -q -b main
e2e_commit "$repo" "v1"
{
    e2e_site_settings
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  source: {repoURL: 'file://$repo', targetRevision: main, path: app}
  destination: {server: 'https://kubernetes.default.svc', namespace: shop}
  syncPolicy:
    automated: {selfHeal: true}
    syncOptions: [CreateNamespace=true]
YAML
} >"$work/site.yaml"
e2e_start_serve

value() { $KUBECTL get configmap a-setting -n shop -o jsonpath='{.data.v}' 2>/dev/null; }
is_value() { [ "$(value)" = "$1" ]; }
wait_for 20 "first sync" is_value 1
wait_for 10 "app Synced" app_field shop 'o["status"]["sync"]["status"]' Synced

"$EDGECD_BIN" backup create b1 --include-namespaces shop --data "$work/data" \
    --kubeconfig "$work/sim/kubeconfig" >/dev/null || fail "backup create"
write_app 2
e2e_commit "$repo" "v2"
wait_for 20 "v2 synced" is_value 2

sim_url=$(sed -n 's/^ *server: *//p' "$work/sim/kubeconfig" | head -1)
sim_token=$(sed -n 's/^ *token: *//p' "$work/sim/kubeconfig" | head -1)
admin() { curl -sS --fail --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $sim_token" "$@"; }
# every request for the namespace's ConfigMaps takes 150 ms: the restore
# of 31 of them takes seconds; a-setting, the one Git changed, is written
# first (archive order), so the engine sees it drift while the rest goes on
admin -X POST "$sim_url/kubesim/admin/faults" \
    -d '{"latencyMs": 150, "pathPrefix": "/api/v1/namespaces/shop/configmaps"}' >/dev/null

"$EDGECD_BIN" restore create r1 --from-backup b1 --existing-resource-policy update --data "$work/data" \
    --kubeconfig "$work/sim/kubeconfig" >"$work/restore.out" 2>&1 &
restore_pid=$!
paused() { app_json shop | grep -q 'automated sync paused: restore r1 in progress'; }
wait_for 15 "the app paused by the restore" paused
wait_for 15 "the restored old value in the cluster" is_value 1
sleep 1.5
[ "$(value)" = 1 ] || fail "self-heal reverted the restore while it ran"
wait "$restore_pid" || fail "restore failed: $(cat "$work/restore.out")"
admin -X DELETE "$sim_url/kubesim/admin/faults" >/dev/null
"$EDGECD_BIN" restore describe r1 --data "$work/data" -o json >"$work/r1.json" 2>/dev/null ||
    "$EDGECD_BIN" restore describe r1 --data "$work/data" >"$work/r1.json"
grep -q '"heldApps"' "$work/r1.json" && grep -q '"shop"' "$work/r1.json" ||
    fail "the restore's record does not name the app it held: $(head -c 600 "$work/r1.json")"
echo "ok: the app's automated sync was held back while the restore ran"

wait_for 20 "self-heal back to Git once the restore ended" is_value 2
not_paused() { ! paused; }
wait_for 10 "the pause gone" not_paused
echo PASS
