#!/bin/bash
# End to end: the application routes of the REST API with real curl.
#   1. resource tree: a Deployment's ReplicaSet and Pod linked by
#      ownerReferences, with health;
#   2. managed resources with live/target state and diff; a Secret's value
#      never appears in any answer (tree, managed resources, resource,
#      diff, app, events), masked as runs of '+';
#   3. pod logs, tail and follow (a line appended to the pod's log after
#      the follow started arrives);
#   4. the SSE stream sends MODIFIED after a commit and a refresh;
#   5. create, upsert, update of Applications: conflicts and bad specs
#      answer 409/400 and store nothing; API apps survive a restart; apps
#      of the site config are refused; list filters.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
sim_url=$(sed -n 's/^ *server: *//p' "$work/sim/kubeconfig" | head -1)
sim_token=$(sed -n 's/^ *token: *//p' "$work/sim/kubeconfig" | head -1)
sim() { curl -sS --fail --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $sim_token" "$@"; }

secret=s3cr3t-Value-4711
secret_b64=$(printf %s "$secret" | base64)
repo=$work/repo
mkdir -p "$repo/web" "$repo/other"
cat >"$repo/web/all.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: front
  namespace: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: front}
  template:
    metadata:
      labels: {app: front}
    spec:
      containers:
        - name: main
          image: nginx:1.25
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: web
stringData:
  password: $secret
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: web
data:
  color: blue
YAML
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: default\ndata:\n  a: "1"\n' \
    >"$repo/other/cm.yaml"
git -C "$repo" init -q -b main
e2e_commit "$repo" "web"
# selfHeal off: a Secret changed with kubectl stays changed for the diff
e2e_write_site web "file://$repo" main web web
sed -i 's/selfHeal: true/selfHeal: false/' "$work/site.yaml"
e2e_start_serve
serve_pid=${pids[-1]}

api() { api_curl -sS -H "Authorization: Bearer $EDGECD_TOKEN" "$@"; }
# code METHOD PATH [curl args...]: the HTTP status only
code() {
    local m=$1 p=$2
    shift 2
    api -o "$work/last.json" -w '%{http_code}' -X "$m" "$EDGECD_SERVER$p" "$@"
}
# every answer is kept, to look for the Secret's value in all of them
answers=$work/answers
mkdir -p "$answers"
n=0
get() {
    n=$((n + 1))
    api --fail "$EDGECD_SERVER$1" | tee "$answers/$n.json"
}

wait_for 30 "web Synced" app_field web 'o["status"]["sync"]["status"]' Synced
pod_ready() { get /api/v1/applications/web/resource-tree | grep -q '"kind":"Pod"'; }
wait_for 30 "the tree shows the Deployment's Pod" pod_ready

# 1. the tree
tree=$(get /api/v1/applications/web/resource-tree)
check_json "$tree" '[x["parentRefs"][0]["kind"] for x in o["nodes"] if x["kind"]=="ReplicaSet"]' '["Deployment"]'
check_json "$tree" '[x["parentRefs"][0]["kind"] for x in o["nodes"] if x["kind"]=="Pod"]' '["ReplicaSet"]'
check_json "$tree" '[x["health"]["status"] for x in o["nodes"] if x["kind"]=="Deployment"][0] in ("Healthy","Progressing")' true
check_json "$tree" '[x["uid"]!="" for x in o["nodes"] if x["kind"]=="Secret"]' '[true]'
pod=$(python3 -c 'import json,sys; print([x["name"] for x in json.loads(sys.argv[1])["nodes"] if x["kind"]=="Pod"][0])' "$tree")
echo "ok: tree Deployment -> ReplicaSet -> Pod $pod"

# 2. managed resources, Secret masked everywhere
managed=$(get /api/v1/applications/web/managed-resources)
check_json "$managed" '[json.loads(x["liveState"])["data"]["password"] for x in o["items"] if x["kind"]=="Secret"]' '["++++++++"]'
check_json "$managed" '[json.loads(x["targetState"])["data"]["password"] for x in o["items"] if x["kind"]=="Secret"]' '["++++++++"]'
check_json "$managed" '[x["status"] for x in o["items"] if x["kind"]=="ConfigMap"]' '["Synced"]'
check_json "$managed" '[json.loads(x["liveState"])["data"]["color"] for x in o["items"] if x["kind"]=="ConfigMap"]' '["blue"]'
res=$(get "/api/v1/applications/web/resource?namespace=web&resourceName=creds&kind=Secret&version=v1")
check_json "$res" 'json.loads(o["manifest"])["data"]["password"]' '++++++++'
get "/api/v1/applications/web/resource?namespace=web&resourceName=front&kind=Deployment&group=apps&version=v1" >/dev/null
[ "$(code GET "/api/v1/applications/web/resource?namespace=kube-system&resourceName=x&kind=Secret")" = 404 ] ||
    fail "a Secret outside the app's tree must not be readable"
# the live Secret changes: the diff shows a change, never a value
$KUBECTL -n web patch secret creds --type merge -p '{"stringData":{"password":"other-Value-0815"}}' >/dev/null
diff=$(get /api/v1/applications/web/diff)
grep -qF -- '-  password: \"++++++++\"' <<<"$diff" || fail "the diff does not show the changed password masked: $diff"
grep -qF -- '+  password: \"++++++++++++\"' <<<"$diff" || fail "the diff does not show the changed password masked: $diff"
"$EDGECD_BIN" app diff web >"$answers/cli-diff.txt" 2>&1 || true
grep -qF 'password: "++++++++++++"' "$answers/cli-diff.txt" || fail "edgecd app diff: $(cat "$answers/cli-diff.txt")"
get /api/v1/applications/web >/dev/null
get /api/v1/applications >/dev/null
get /api/v1/applications/web/managed-resources >/dev/null
get "/api/v1/applications/web/events?resourceName=creds&resourceNamespace=web" >/dev/null
for v in "$secret" "$secret_b64" other-Value-0815 "$(printf other-Value-0815 | base64)"; do
    ! grep -rlF -- "$v" "$answers" || fail "a Secret value appears in an answer"
done
echo "ok: no answer holds a Secret value"

# resource events from the cluster
uid=$(python3 -c 'import json,sys; print([x["uid"] for x in json.loads(sys.argv[1])["nodes"] if x["kind"]=="Deployment"][0])' "$tree")
cat <<YAML | $KUBECTL create -f - >/dev/null
apiVersion: v1
kind: Event
metadata:
  name: front.1
  namespace: web
involvedObject:
  apiVersion: apps/v1
  kind: Deployment
  name: front
  namespace: web
  uid: $uid
reason: ScalingReplicaSet
message: Scaled up replica set front-1 to 1
type: Normal
YAML
events=$(get "/api/v1/applications/web/events?resourceName=front&resourceNamespace=web&resourceUID=$uid")
check_json "$events" '[x["reason"] for x in o["items"]]' '["ScalingReplicaSet"]'

# 3. logs: tail, then follow
logs=$(get "/api/v1/applications/web/logs?namespace=web&podName=$pod&tailLines=1")
check_json "$logs" 'o["result"]["content"]' 'kubesim: ready'
check_json "$logs" 'o["result"]["podName"]' "$pod"
api -N "$EDGECD_SERVER/api/v1/applications/web/logs?namespace=web&podName=$pod&tailLines=0&follow=true" \
    >"$work/follow.out" 2>&1 &
follow_pid=$!
pids+=($follow_pid)
sleep 1
sim -X POST --data-binary 'hello from the follow' \
    "$sim_url/kubesim/admin/podlog?namespace=web&pod=$pod" >/dev/null
wait_for 10 "the followed log line arrives" grep -q 'hello from the follow' "$work/follow.out"
kill "$follow_pid"
[ "$(code GET "/api/v1/applications/web/logs?namespace=web&podName=nope")" = 404 ] ||
    fail "logs of a pod outside the app: $(cat "$work/last.json")"

# 4. SSE: a commit, refreshed, arrives as MODIFIED
api -N "$EDGECD_SERVER/api/v1/stream/applications" >"$work/sse.out" 2>&1 &
sse_pid=$!
pids+=($sse_pid)
wait_for 10 "the stream sends the apps as ADDED" grep -q '"type":"ADDED"' "$work/sse.out"
sed -i 's/color: blue/color: green/' "$repo/web/all.yaml"
e2e_commit "$repo" "green"
[ "$(code GET "/api/v1/applications/web?refresh=normal")" = 200 ] || fail "refresh"
wait_for 20 "the stream sends MODIFIED for web" grep -q '"type":"MODIFIED","application":{"metadata":{"name":"web"' "$work/sse.out"
kill "$sse_pid"
[ "$(code GET "/api/v1/applications/web?refresh=sideways")" = 400 ] || fail "refresh=sideways accepted"
[ "$(code GET "/api/v1/applications/web?refresh=hard")" = 200 ] || fail "hard refresh"

# 5. create, update, conflicts
app_body() { # NAME PATH [LABEL]
    cat <<JSON
{"apiVersion":"argoproj.io/v1alpha1","kind":"Application",
 "metadata":{"name":"$1","labels":{"team":"${3:-a}"}},
 "spec":{"project":"default","source":{"repoURL":"file://$repo","targetRevision":"main","path":"$2"},
         "destination":{"server":"https://kubernetes.default.svc","namespace":"default"},
         "syncPolicy":{"automated":{}}}}
JSON
}
[ "$(code POST /api/v1/applications -d "$(app_body made other)")" = 200 ] || fail "create: $(cat "$work/last.json")"
check_json "$(cat "$work/last.json")" 'o["metadata"]["annotations"]["edgecd.io/origin"]' api
wait_for 30 "made synced" app_field made 'o["status"]["sync"]["status"]' Synced
wait_for 10 "made's ConfigMap applied" kube_field "configmap other -n default" 'o["data"]["a"]' 1
[ "$(code POST /api/v1/applications -d "$(app_body made other)")" = 409 ] || fail "create twice"
[ "$(code POST "/api/v1/applications?upsert=true" -d "$(app_body made other b)")" = 200 ] || fail "upsert"
check_json "$(cat "$work/last.json")" 'o["metadata"]["labels"]["team"]' b
bad='{"metadata":{"name":"made"},"spec":{"source":{"repoURL":"file:///x","path":"."}}}'
[ "$(code PUT /api/v1/applications/made -d "$bad")" = 400 ] || fail "a spec without destination accepted"
grep -q destination "$work/last.json" || fail "the 400 does not name the field: $(cat "$work/last.json")"
check_json "$(get /api/v1/applications/made)" 'o["metadata"]["labels"]["team"]' b
[ "$(code PUT /api/v1/applications/made -d "$(app_body made other c)")" = 200 ] || fail "update"
[ "$(code PUT /api/v1/applications/nothere -d "$(app_body nothere other)")" = 404 ] || fail "update of an unknown app"
[ "$(code PUT /api/v1/applications/web -d "$(app_body web web)")" = 409 ] || fail "overwrote the site config's app"
grep -q "site config" "$work/last.json" || fail "the 409 does not say why: $(cat "$work/last.json")"
[ "$(code POST /api/v1/applications -d "$(app_body 'Bad_Name' other)")" = 400 ] || fail "a bad name accepted"
[ "$(code GET /api/v1/applications/Bad_Name)" = 404 ] || fail "a refused app was stored"

# list filters
names() { python3 -c 'import json,sys; print(" ".join(sorted(a["metadata"]["name"] for a in json.load(sys.stdin)["items"])))'; }
[ "$(get "/api/v1/applications?search=MAD" | names)" = made ] || fail "search"
[ "$(get "/api/v1/applications?selector=team%3Dc" | names)" = made ] || fail "selector team=c"
[ "$(get "/api/v1/applications?selector=team%20in%20(a,b)" | names)" = "" ] || fail "selector in"
[ "$(get "/api/v1/applications?selector=!team" | names)" = web ] || fail "selector !team"
[ "$(get "/api/v1/applications?projects=default&projects=other" | names)" = "made web" ] || fail "projects"
[ "$(get "/api/v1/applications?projects=other" | names)" = "" ] || fail "projects=other"
[ "$(code GET "/api/v1/applications?selector=team%20in")" = 400 ] || fail "a malformed selector accepted"

# an API app survives a restart and can be deleted
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
e2e_start_serve
check_json "$(get /api/v1/applications/made)" 'o["metadata"]["labels"]["team"]' c
[ "$(code DELETE /api/v1/applications/made)" = 202 ] || fail "delete: $(cat "$work/last.json")"
not_there() { [ "$(code GET /api/v1/applications/made)" = 404 ]; }
wait_for 20 "made deleted" not_there
echo "PASS"
