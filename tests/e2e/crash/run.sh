#!/bin/bash
# End to end: `edgecd serve` killed with SIGKILL at any point of a sync.
# An automated app syncs a PreSync hook Job, three waves (a ConfigMap, a
# Deployment kubesim makes ready after a while, a ConfigMap carrying the
# commit's value) and a PostSync hook Job, with a second between waves.
# Each round commits a new value, waits for the sync of that commit to
# start, kills edgecd serve with SIGKILL after a different delay (inside
# the hook, a wave, the delay between waves, the end), and starts it
# again. After each restart:
#   - the operation of that commit resumes to Succeeded, or ends Failed or
#     Error with its reason, and then a new one succeeds (never stuck
#     Running, never lost);
#   - the store opens, and the history holds every earlier round's entry;
#   - the cluster converges: the last ConfigMap has the commit's value,
#     the Deployment is there, no hook Job is left behind.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/app"
write_app() { # VALUE
    cat >"$repo/app/all.yaml" <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
    kubesim.edgecd.io/ready-delay-ms: '300'
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
  annotations: {argocd.argoproj.io/sync-wave: '-1'}
data: {v: "$1"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {kubesim.edgecd.io/ready-delay-ms: '400'}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {round: "$1"}}
    spec:
      containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: last
  annotations: {argocd.argoproj.io/sync-wave: '1'}
data: {v: "$1"}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: notify
  annotations:
    argocd.argoproj.io/hook: PostSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
    kubesim.edgecd.io/ready-delay-ms: '300'
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: n, image: busybox}]
YAML
}
write_app 0
git -C "$repo" init -q -b main
e2e_commit "$repo" "round 0"
{
    e2e_site_settings "syncWaveDelaySeconds: 1"
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: crash}
spec:
  source: {repoURL: 'file://$repo', targetRevision: main, path: app}
  destination: {server: 'https://kubernetes.default.svc', namespace: default}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
YAML
} >"$work/site.yaml"
e2e_start_serve

value() { $KUBECTL get configmap "$1" -n default -o jsonpath='{.data.v}' 2>/dev/null; }
op_field() { # KEY of status.operationState (syncResult.revision for the revision)
    app_json crash | python3 -c "import json,sys
o = json.load(sys.stdin)['status'].get('operationState', {})
print(o.get('syncResult', {}).get('revision', '') if '$1' == 'revision' else o.get('$1', ''))"
}
converged() { # VALUE
    [ "$(value last)" = "$1" ] && [ "$(value first)" = "$1" ] &&
        [ "$(op_field phase)" = Succeeded ] &&
        app_field crash 'o["status"]["sync"]["status"]' Synced
}
wait_for 30 "first sync" converged 0

history_count() { "$EDGECD_BIN" app history crash -o json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['items']))"; }
synced_rounds=$(history_count)
round=0
# Delays after the operation of the new commit starts: inside the PreSync
# hook, wave -1, the wave delay, the Deployment's wave, the last wave,
# the PostSync hook, and at random.
for delay in 0.05 0.4 0.9 1.6 2.4 3.3 4.1 $(python3 -c 'import random; print("%.2f" % random.uniform(0, 4.5))'); do
    round=$((round + 1))
    write_app "$round"
    e2e_commit "$repo" "round $round"
    sha=$(git -C "$repo" rev-parse HEAD)
    started() { [ "$(op_field revision)" = "$sha" ]; }
    wait_for 15 "round $round: the sync of $sha started" started
    [ "$(op_field phase)" = Running ] || fail "round $round: the sync was not running when seen: $(op_field phase)"
    sleep "$delay"
    kill -9 "${pids[-1]}"
    wait "${pids[-1]}" 2>/dev/null || true
    echo "round $round: killed ${delay}s into the sync"
    e2e_start_serve
    wait_for 40 "round $round: converged after the restart" converged "$round"
    [ "$(op_field phase)" = Succeeded ] || fail "round $round: operation $(op_field phase): $(op_field message)"
    # nothing left behind: the hooks' Jobs were deleted on success
    ! $KUBECTL get job notify -n default >/dev/null 2>&1 || fail "round $round: PostSync Job left behind"
    leftover=$($KUBECTL get jobs -n default -o name | grep -c migrate- || true)
    [ "$leftover" = 0 ] || fail "round $round: $leftover PreSync Job(s) left behind"
    n=$(history_count)
    [ "$n" -gt "$synced_rounds" ] || [ "$n" -ge 10 ] || fail "round $round: history has $n entries, had $synced_rounds"
    synced_rounds=$n
    "$EDGECD_BIN" app history crash -o json | grep -q "$sha" || fail "round $round: no history entry for $sha"
done
echo "ok: killed in every part of a sync, the operation resumed and the cluster converged"
echo PASS
