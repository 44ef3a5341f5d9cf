#!/bin/bash
# End to end: what an operator does by hand, through the CLI and the API.
#   1. an app without automated sync stays OutOfSync until `edgecd app
#      sync`, which waits for the operation and exits 0; --dry-run changes
#      nothing; --resource syncs only the one named;
#   2. `edgecd app history` lists each sync; `edgecd app rollback NAME 1`
#      brings back the first revision's objects with the Git server gone;
#   3. a PreSync hook that never ends is stopped by `edgecd app
#      terminate-op`; the operation ends Failed "Operation terminated";
#   4. rollback, and sync --revision to another revision than
#      targetRevision, are refused while automated sync is on, as Argo CD
#      does; without it, sync --revision deploys a tag while the app
#      still compares with main (OutOfSync), and a revision that does not
#      exist ends the operation in Error;
#   5. app delete with and without cascade;
#   6. managedNamespaceMetadata with CreateNamespace=true, read back with
#      kubectl (and kept applied when it changes), and a custom resource
#      with SkipDryRunOnMissingResource=true whose CRD kubectl installs
#      while the sync waits for its first wave.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/app"
cm() { # NAME VALUE
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {v: "%s"}\n' "$1" "$2"
}
{ cm one 1; echo ---; cm two 1; } >"$repo/app/all.yaml"
git -C "$repo" init -q -b main
e2e_commit "$repo" "v1"

{
    e2e_site_settings "syncWaveDelaySeconds: 0"
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: manual}
spec:
  source: {repoURL: 'file://$repo', targetRevision: main, path: app}
  destination: {server: 'https://kubernetes.default.svc', namespace: default}
YAML
} >"$work/site.yaml"
e2e_start_serve

value() { $KUBECTL get configmap "$1" -n default -o jsonpath='{.data.v}' 2>/dev/null; }
wait_for 15 "manual app OutOfSync" app_field manual 'o["status"]["sync"]["status"]' OutOfSync
[ -z "$(value one)" ] || fail "an app without automated sync was synced"

"$EDGECD_BIN" app sync manual --dry-run --timeout 30 >"$work/dry.out" || fail "dry run failed: $(cat "$work/dry.out")"
[ -z "$(value one)" ] || fail "--dry-run created an object"
echo "ok: --dry-run changes nothing"

"$EDGECD_BIN" app sync manual --resource :ConfigMap:one --timeout 30 >"$work/one.out" || fail "sync of one resource"
[ "$(value one)" = 1 ] || fail "ConfigMap one not synced"
[ -z "$(value two)" ] || fail "--resource synced more than the one named"
echo "ok: --resource syncs only the one named"

"$EDGECD_BIN" app sync manual --timeout 30 >"$work/sync.out" || fail "sync: $(cat "$work/sync.out")"
grep -q "operation Succeeded" "$work/sync.out" || fail "sync did not report success: $(cat "$work/sync.out")"
[ "$(value two)" = 1 ] || fail "ConfigMap two not synced"
"$EDGECD_BIN" app wait manual --sync --timeout 15 >/dev/null || fail "app wait --sync"
echo "ok: app sync waits for the operation"
"$EDGECD_BIN" app list -o wide | grep -qE '^manual +Synced +Healthy +[0-9a-f]{7} +2 +default ' ||
    fail "app list -o wide: $("$EDGECD_BIN" app list -o wide)"
"$EDGECD_BIN" app get manual -o yaml | grep -q '^  name: manual$' || fail "app get -o yaml"
echo "ok: -o wide and -o yaml"

# 2. history and rollback without Git
{ cm one 2; echo ---; cm two 2; } >"$repo/app/all.yaml"
e2e_commit "$repo" "v2"
wait_for 15 "v2 seen" app_field manual 'o["status"]["sync"]["status"]' OutOfSync
"$EDGECD_BIN" app sync manual --timeout 30 >/dev/null || fail "sync of v2"
[ "$(value one)" = 2 ] || fail "v2 not deployed"
"$EDGECD_BIN" app history manual >"$work/history.out"
n=$(grep -cE '^[0-9]+ ' "$work/history.out")
[ "$n" -ge 2 ] || fail "history lists $n entries: $(cat "$work/history.out")"
first=$(awk '$1 ~ /^[0-9]+$/ {print $1; exit}' "$work/history.out")
second_rev=$(awk '$1 ~ /^[0-9]+$/ {r=$3} END {print r}' "$work/history.out")
[ "$second_rev" = "$(git -C "$repo" rev-parse --short=7 HEAD)" ] || fail "last history revision $second_rev"
echo "ok: history lists the syncs"
mv "$repo" "$repo.away"
# the entry with both ConfigMaps at v1 is the last one before v2
v1=$(awk '$1 ~ /^[0-9]+$/ {ids[NR]=$1} END {print ids[NR-1]}' "$work/history.out")
"$EDGECD_BIN" app rollback manual "$v1" --timeout 30 >"$work/rollback.out" || fail "rollback: $(cat "$work/rollback.out")"
[ "$(value one)" = 1 ] && [ "$(value two)" = 1 ] || fail "rollback did not bring back v1"
echo "ok: rollback to history entry $v1 with the Git repository gone"
mv "$repo.away" "$repo"
# Git wants v2, the cluster has v1 again: app diff says so, exit 1
set +e
"$EDGECD_BIN" app diff manual >"$work/diff.out"
code=$?
set -e
[ "$code" = 1 ] || fail "app diff exit $code (want 1): $(cat "$work/diff.out")"
grep -q '^--- desired/ConfigMap/default/one' "$work/diff.out" || fail "diff header: $(cat "$work/diff.out")"
grep -q '^-  v: "2"' "$work/diff.out" && grep -q '^+  v: "1"' "$work/diff.out" ||
    fail "diff body: $(cat "$work/diff.out")"
grep -q "resourceVersion\|managedFields\|creationTimestamp" "$work/diff.out" &&
    fail "server-side fields in the diff: $(cat "$work/diff.out")"
echo "ok: app diff shows desired vs live and exits 1"

# sync --revision: a tag of the first commit, while the app follows main
git -C "$repo" tag first HEAD~1
"$EDGECD_BIN" app sync manual --timeout 30 >/dev/null || fail "sync of main"
[ "$(value one)" = 2 ] || fail "main not deployed"
"$EDGECD_BIN" app sync manual --revision first --timeout 30 >"$work/rev.out" ||
    fail "sync --revision first: $(cat "$work/rev.out")"
[ "$(value one)" = 1 ] && [ "$(value two)" = 1 ] || fail "sync --revision did not deploy the tag"
first_sha=$(git -C "$repo" rev-parse first^{commit})
app_field manual 'o["status"]["operationState"]["syncResult"]["revision"]' "$first_sha" ||
    fail "operationState.syncResult.revision is not the tag's commit"
wait_for 15 "compared with main again: OutOfSync" app_field manual \
    'o["status"]["sync"]["status"]+" "+o["status"]["sync"]["revision"]' "OutOfSync $(git -C "$repo" rev-parse main)"
"$EDGECD_BIN" app history manual | awk '$1 ~ /^[0-9]+$/ {r=$3} END {print r}' | grep -qx "${first_sha:0:7}" ||
    fail "history does not end with the tag's commit: $("$EDGECD_BIN" app history manual)"
echo "ok: sync --revision deploys the tag; the app compares with main"
if "$EDGECD_BIN" app sync manual --revision no-such-tag --timeout 30 >"$work/norev.out" 2>&1; then
    fail "sync to a revision that does not exist succeeded"
fi
grep -q "operation Error: revision no-such-tag: " "$work/norev.out" || fail "unresolvable revision: $(cat "$work/norev.out")"
[ "$(value one)" = 1 ] || fail "a failed sync --revision changed the cluster"
echo "ok: a revision that does not exist ends the operation in Error"

# 3. terminate a hook that never ends
mkdir -p "$repo/app"
cat >>"$repo/app/all.yaml" <<'YAML'
---
apiVersion: v1
kind: Pod
metadata:
  name: forever
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  restartPolicy: Never
  containers: [{name: w, image: busybox:crashloop}]
YAML
e2e_commit "$repo" "hook"
wait_for 15 "hook commit seen" app_field manual 'o["status"]["sync"]["revision"]' "$(git -C "$repo" rev-parse HEAD)"
"$EDGECD_BIN" app sync manual --async >/dev/null || fail "sync --async"
wait_for 15 "operation running" app_field manual 'o["status"]["operationState"]["phase"]' Running
"$EDGECD_BIN" app terminate-op manual >/dev/null || fail "terminate-op"
wait_for 15 "operation terminated" app_field manual 'o["status"]["operationState"]["message"]' "Operation terminated"
app_field manual 'o["status"]["operationState"]["phase"]' Failed || fail "terminated operation is not Failed"
echo "ok: terminate-op stops a running operation"
"$EDGECD_BIN" app terminate-op manual 2>"$work/term.err" && fail "terminate-op without an operation succeeded"
grep -q "no operation running" "$work/term.err" || fail "terminate-op error: $(cat "$work/term.err")"

# 4. rollback refused with automated sync on
curl_api() { # METHOD PATH BODY
    api_curl -s -o "$work/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $EDGECD_TOKEN" \
        -H 'Content-Type: application/json' --data "$3" "$EDGECD_SERVER$2"
}
python3 - "$work/site.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("namespace: default}\n", "namespace: default}\n  syncPolicy: {automated: {}}\n", 1)
open(p, "w").write(s)
PY
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
e2e_start_serve
code=$(curl_api POST /api/v1/applications/manual/rollback '{"id": 1}')
[ "$code" = 400 ] || fail "rollback with automated sync answered $code: $(cat "$work/api.out")"
grep -q "auto-sync is enabled" "$work/api.out" || fail "rollback refusal: $(cat "$work/api.out")"
if "$EDGECD_BIN" app sync manual --revision first --timeout 10 2>"$work/autorev.err"; then
    fail "sync --revision with automated sync on was accepted"
fi
grep -q "Cannot sync to first: auto-sync currently set to main" "$work/autorev.err" ||
    fail "sync --revision refusal: $(cat "$work/autorev.err")"
code=$(curl_api POST /api/v1/applications/manual/sync '{"revisions": ["first"], "sourcePositions": [1]}')
[ "$code" = 400 ] || fail "revisions/sourcePositions answered $code: $(cat "$work/api.out")"
code=$(curl_api POST /api/v1/applications/manual/sync '{"revision": "main", "dryRun": true}')
[ "$code" = 202 ] || fail "a dry run at targetRevision answered $code: $(cat "$work/api.out")"
code=$(curl_api POST /api/v1/applications/nosuch/sync '{}')
[ "$code" = 404 ] || fail "sync of an unknown app answered $code"
code=$(api_curl -s -o /dev/null -w '%{http_code}' -X POST "$EDGECD_SERVER/api/v1/applications/manual/sync")
[ "$code" = 401 ] || fail "sync without a token answered $code"
code=$(curl_api POST /api/v1/applications/manual/sync '{"prune": tru')
[ "$code" = 400 ] || fail "a malformed body answered $code: $(cat "$work/api.out")"
code=$(api_curl -s -o "$work/api.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $EDGECD_TOKEN" \
    -H 'Transfer-Encoding: chunked' --data-binary '{}' "$EDGECD_SERVER/api/v1/applications/manual/sync")
[ "$code" = 411 ] || fail "a chunked body answered $code: $(cat "$work/api.out")"
echo "ok: the API refuses what it must"

# 5. delete: without cascade the objects stay, with it they go
"$EDGECD_BIN" app delete manual --cascade=false >/dev/null || fail "app delete --cascade=false"
gone() { ! "$EDGECD_BIN" app get manual -o json; }
wait_for 10 "app deleted" gone
[ -n "$(value one)" ] || fail "--cascade=false deleted the resources"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
e2e_start_serve # the site config registers it again
wait_for 15 "app back from the site config" app_field manual 'o["metadata"]["name"]' manual
$KUBECTL annotate configmap two -n default argocd.argoproj.io/sync-options=Delete=false >/dev/null
"$EDGECD_BIN" app delete manual >/dev/null || fail "app delete"
no_cm() { [ -z "$(value one)" ]; }
wait_for 15 "resources deleted with the app" no_cm
[ -n "$(value two)" ] || fail "a Delete=false object was deleted with the app"
echo "ok: app delete with and without cascade; Delete=false kept"

# 6. managedNamespaceMetadata and SkipDryRunOnMissingResource
mkdir -p "$repo/extras"
cat >"$repo/extras/all.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: widget-operator
  annotations: {kubesim.edgecd.io/ready-delay-ms: "4000"}
spec:
  selector: {matchLabels: {app: wop}}
  template:
    metadata: {labels: {app: wop}}
    spec: {containers: [{name: op, image: busybox}]}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  annotations:
    argocd.argoproj.io/sync-wave: "1"
    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
spec: {size: 3}
YAML
e2e_commit "$repo" "extras"
extras_site() { # LABELS
    e2e_site_settings "syncWaveDelaySeconds: 0" >"$work/site.yaml"
    cat >>"$work/site.yaml" <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: extras}
spec:
  source: {repoURL: 'file://$repo', targetRevision: main, path: extras}
  destination: {server: 'https://kubernetes.default.svc', namespace: team-ns}
  syncPolicy:
    automated: {selfHeal: true}
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata:
      labels: $1
      annotations: {contact: ops@example.com}
YAML
}
extras_site "{team: edge, tier: gold}"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
e2e_start_serve
wait_for 15 "wave 0 applied" $KUBECTL get deployment widget-operator -n team-ns
ns_label() { $KUBECTL get namespace team-ns -o "jsonpath={.metadata.$1}"; }
[ "$(ns_label labels.team)" = edge ] && [ "$(ns_label labels.tier)" = gold ] ||
    fail "namespace labels: $($KUBECTL get namespace team-ns -o jsonpath='{.metadata.labels}')"
[ "$(ns_label 'annotations.contact')" = ops@example.com ] || fail "namespace annotation"
echo "ok: the namespace edgecd created carries managedNamespaceMetadata (kubectl)"
# the CRD arrives while the sync waits for wave 0 (as an operator would install it)
cat >"$work/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
YAML
$KUBECTL apply --server-side -f "$work/crd.yaml" >/dev/null || fail "kubectl apply of the CRD"
wait_for 30 "the sync applied the custom resource" app_field extras 'o["status"]["operationState"]["phase"]' Succeeded
[ "$($KUBECTL get widget w1 -n team-ns -o jsonpath='{.spec.size}')" = 3 ] || fail "widget w1"
echo "ok: SkipDryRunOnMissingResource: the custom resource waited for its CRD"
# someone else's label stays; a label the app no longer sets goes
$KUBECTL label namespace team-ns other=kept >/dev/null
extras_site "{team: core}"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
e2e_start_serve
ns_tier_gone() { [ -z "$(ns_label labels.tier)" ] && [ "$(ns_label labels.team)" = core ]; }
wait_for 20 "managedNamespaceMetadata applied again" ns_tier_gone
[ "$(ns_label labels.other)" = kept ] || fail "a label edgecd did not set was removed"
echo "ok: managedNamespaceMetadata kept applied; others' labels stay"
echo "PASS"
