#!/bin/bash
# End to end: the site routes of `edgecd serve` over HTTPS with real curl,
# against kubesim, a file:// repository and a password-protected Git
# server (git http-backend behind lighttpd with basic auth).
#   1. /readyz answers without a token and turns 200 once the engine has
#      been through the apps; /metrics needs the token and then shows the
#      app (argocd_app_info with its sync and health), the Git requests,
#      the Kubernetes requests, the sync and reconcile counts and the
#      process figures
#   2. openapi.json lists every route; version and settings answer
#   3. AppProjects: created, listed, used by nothing and deleted; the site
#      config's project cannot be changed (409)
#   4. repositories: added with a password (never in an answer, the log or
#      state.db in clear), validated against the HTTP server (a wrong
#      password: Failed; the right one: Successful; the app deploys from
#      it), removed by its URL-encoded name
#   5. clusters: listed from the config without credentials; validate runs
#      discovery against kubesim; a second kubesim is added from its
#      kubeconfig (never in an answer, the log or state.db in clear), an
#      app created through the API deploys to it and not to the first, a
#      bad or file-reading kubeconfig is refused, the config's cluster
#      cannot be removed, the added one can, and the app then says its
#      cluster is gone; `backup create --cluster` backs the added one up
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
command -v lighttpd >/dev/null || fail "lighttpd is not installed (tests/tools/install-packages.sh)"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
PASSWORD='Sesame-0pen-4711'

# --- a file:// repository and the same over plain HTTP with basic auth
repo=$work/repo
mkdir -p "$repo/app" "$work/srv"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: site}\ndata: {v: "1"}\n' >"$repo/app/cm.yaml"
git -C "$repo" init -q -b main
e2e_commit "$repo" v1
git clone -q --bare "$repo" "$work/srv/site.git"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'bob:%s\n' "$PASSWORD" >"$work/users"
cat >"$work/lighttpd.conf" <<CONF
server.document-root = "$work/srv"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$work/lighttpd-error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi")
alias.url = ("/git" => "/usr/lib/git-core/git-http-backend")
cgi.assign = ("" => "")
setenv.add-environment = ("GIT_PROJECT_ROOT" => "$work/srv", "GIT_HTTP_EXPORT_ALL" => "1")
auth.backend = "plain"
auth.backend.plain.userfile = "$work/users"
auth.require = ("/git" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
CONF
lighttpd -D -f "$work/lighttpd.conf" >"$work/lighttpd.log" 2>&1 &
pids+=($!)
GITURL=http://127.0.0.1:$port/git/site.git
wait_for 10 "lighttpd serves git" curl -sf -u "bob:$PASSWORD" "$GITURL/info/refs?service=git-upload-pack"

e2e_start_kubesim
{
    e2e_site_settings
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: fixed}
spec: {sourceRepos: ['*'], destinations: [{server: '*', namespace: '*'}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook}
spec:
  project: fixed
  source: {repoURL: 'file://$repo', targetRevision: main, path: app}
  destination: {server: 'https://kubernetes.default.svc', namespace: default}
  syncPolicy: {automated: {}}
YAML
} >"$work/site.yaml"
e2e_start_serve

api() { # METHOD PATH [BODY]: prints the body, then the status on a line of its own
    local args=(-s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $EDGECD_TOKEN")
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    api_curl "${args[@]}" "$EDGECD_SERVER$2"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
expect() { # OUTPUT STATUS WHAT
    [ "$(status_of "$1")" = "$2" ] || fail "$3: status $(status_of "$1"), expected $2: $(body_of "$1")"
}

# --- 1. readiness and metrics
ready() { local c; c=$(api_curl -s -o /dev/null -w "%{http_code}" "$EDGECD_SERVER/readyz"); [ "$c" = 200 ]; }
ready_first=$(api_curl -s -o /dev/null -w "%{http_code}" "$EDGECD_SERVER/readyz")
case $ready_first in 200 | 503) ;; *) fail "/readyz answered $ready_first" ;; esac
wait_for 30 "/readyz turns 200 without a token" ready
synced() { api_curl -s -H "Authorization: Bearer $EDGECD_TOKEN" "$EDGECD_SERVER/metrics" |
    grep -q 'argocd_app_info{name="guestbook",namespace="argocd",project="fixed",sync_status="Synced",health_status="Healthy"'; }
wait_for 30 "argocd_app_info shows guestbook Synced and Healthy" synced
out=$(api_curl -s -w '\n%{http_code}' "$EDGECD_SERVER/metrics")
expect "$out" 401 "/metrics without a token"
api_curl -s -D "$work/metrics.head" -o "$work/metrics.txt" -H "Authorization: Bearer $EDGECD_TOKEN" \
    "$EDGECD_SERVER/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$work/metrics.head" || fail "metrics content type"
python3 - "$work/metrics.txt" "file://$repo" <<'PY' || fail "metrics: see above"
import re, sys
text = open(sys.argv[1]).read()
samples = {}
for line in text.splitlines():
    if line.startswith("#") or not line:
        continue
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)', line)
    assert m, "not a sample line: %r" % line
    samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
def total(prefix):
    return sum(v for k, v in samples.items() if k.startswith(prefix))
checks = {
    "git ls-remote of the repository": samples.get(
        'argocd_git_request_total{repo="%s",request_type="ls-remote"}' % sys.argv[2], 0) >= 1,
    "a git fetch": samples.get(
        'argocd_git_request_total{repo="%s",request_type="fetch"}' % sys.argv[2], 0) >= 1,
    "Kubernetes PATCHes (applies) answered 2xx": total(
        'edgecd_kube_request_total{verb="PATCH",code="20') >= 1,
    "Kubernetes GETs timed": total('edgecd_kube_request_duration_seconds_count{verb="GET"}') >= 1,
    "reconcile passes": samples.get("argocd_app_reconcile_count", 0) >= 1,
    "reconcile +Inf bucket is the count": samples.get('argocd_app_reconcile_bucket{le="+Inf"}')
        == samples.get("argocd_app_reconcile_count"),
    "a sync counted": samples.get('argocd_app_sync_total{phase="Succeeded"}', 0) >= 1,
    "resident memory": samples.get("process_resident_memory_bytes", 0) > 1e6,
    "cpu seconds": "process_cpu_seconds_total" in samples,
    "start time": samples.get("process_start_time_seconds", 0) > 1e9,
}
bad = [k for k, ok in checks.items() if not ok]
if bad:
    print("metrics: failed:", bad, file=sys.stderr)
    sys.exit(1)
PY
echo "ok: metrics"

# --- 2. the API's description, version, settings
out=$(api GET /api/v1/openapi.json)
expect "$out" 200 openapi
check_json "$(body_of "$out")" 'o["openapi"]' 3.0.3
check_json "$(body_of "$out")" 'o["paths"]["/api/v1/repositories/{name}/validate"]["post"]["x-rbac"]["resource"]' repositories
check_json "$(body_of "$out")" 'o["paths"]["/readyz"]["get"]["security"]' '[]'
out=$(api GET /api/v1/version)
expect "$out" 200 version
check_json "$(body_of "$out")" 'o["Version"] == "'"$("$EDGECD_BIN" version | head -1 | cut -d' ' -f2)"'"' true
out=$(api GET /api/v1/settings)
expect "$out" 200 settings
check_json "$(body_of "$out")" 'o["appLabelKey"]' edgecd.io/app

# --- 3. projects
out=$(api POST /api/v1/projects '{"metadata":{"name":"lab"},"spec":{"sourceRepos":["*"]}}')
expect "$out" 200 "create project lab"
out=$(api GET /api/v1/projects)
check_json "$(body_of "$out")" 'sorted(p["metadata"]["name"] for p in o["items"])' '["default", "fixed", "lab"]'
expect "$(api PUT /api/v1/projects/fixed '{"metadata":{"name":"fixed"},"spec":{}}')" 409 "change the config's project"
expect "$(api DELETE /api/v1/projects/fixed)" 409 "delete the config's project"
expect "$(api DELETE /api/v1/projects/lab)" 200 "delete project lab"
expect "$(api GET /api/v1/projects/lab)" 404 "project lab after delete"

# --- 4. repositories
enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$GITURL")
out=$(api POST /api/v1/repositories '{"repo":"'"$GITURL"'","username":"bob","password":"wrong-one"}')
expect "$out" 200 "add repository"
out=$(api POST "/api/v1/repositories/$enc/validate")
expect "$out" 200 "validate with a wrong password"
check_json "$(body_of "$out")" 'o["status"]' Failed
out=$(api POST /api/v1/repositories '{"repo":"'"$GITURL"'","username":"bob","password":"'"$PASSWORD"'"}')
expect "$out" 200 "replace the repository's password"
out=$(api POST "/api/v1/repositories/$enc/validate")
check_json "$(body_of "$out")" 'o["status"]' Successful
check_json "$(body_of "$out")" 'o["message"]' "1 branch and tag"
out=$(api GET /api/v1/repositories)
check_json "$(body_of "$out")" '[(r["repo"], r["username"], r["connectionState"]["status"]) for r in o["items"]]' \
    "[[\"$GITURL\", \"bob\", \"Successful\"]]"
# an app from the protected server deploys with the stored password
cat >>"$work/site.yaml" <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: private}
spec:
  source: {repoURL: '$GITURL', targetRevision: main, path: app}
  destination: {server: 'https://kubernetes.default.svc', namespace: private}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
YAML
kill "${pids[-1]}" && wait "${pids[-1]}" 2>/dev/null || true
e2e_start_serve
private_synced() { [ "$($KUBECTL get configmap site -n private -o jsonpath='{.data.v}')" = 1 ]; }
wait_for 30 "the app from the password-protected server deploys" private_synced
expect "$(api DELETE "/api/v1/repositories/$enc")" 200 "remove the repository"
out=$(api GET /api/v1/repositories)
check_json "$(body_of "$out")" 'len(o["items"])' 0
expect "$(api DELETE "/api/v1/repositories/$enc")" 404 "remove it again"

# --- 5. clusters
out=$(api GET /api/v1/clusters)
expect "$out" 200 clusters
check_json "$(body_of "$out")" '[c["name"] for c in o["items"]]' '["in-cluster"]'
body_of "$out" | grep -q kubeconfig && fail "the cluster list names the kubeconfig"
out=$(api POST /api/v1/clusters/in-cluster/validate)
check_json "$(body_of "$out")" 'o["status"]' Successful
check_json "$(body_of "$out")" 'o["message"].startswith("discovery: ")' true
expect "$(api POST /api/v1/clusters/elsewhere/validate)" 404 "validate an unknown cluster"
# a second cluster, added from its kubeconfig through the API
"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/lab" --token lab-Secret-Token-99 >"$work/lab.log" 2>&1 &
pids+=($!)
wait_for 10 "the second kubesim starts" test -f "$work/lab/kubeconfig"
LAB_KUBECTL="$EDGECD_KUBECTL --kubeconfig $work/lab/kubeconfig"
lab_server=$(python3 -c 'import sys,re; print(re.search(r"server: (\S+)", open(sys.argv[1]).read()).group(1))' "$work/lab/kubeconfig")
cluster_body() { # NAME KUBECONFIG-FILE
    python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "kubeconfig": open(sys.argv[2]).read()}))' "$1" "$2"
}
out=$(api POST /api/v1/clusters "$(cluster_body lab "$work/lab/kubeconfig")")
expect "$out" 200 "add a cluster from its kubeconfig"
check_json "$(body_of "$out")" '[o["name"], o["server"], o["origin"]]' "[\"lab\", \"$lab_server\", \"api\"]"
expect "$(api POST /api/v1/clusters "$(cluster_body lab "$work/lab/kubeconfig")")" 409 "add it twice"
expect "$(api POST /api/v1/clusters "$(cluster_body other "$work/lab/kubeconfig")")" 409 "add its server under another name"
printf 'current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://127.0.0.1:1", certificate-authority: %s}}]\nusers: [{name: u, user: {token: t}}]\n' \
    "$work/data/keys/secret.key" >"$work/reads-a-file"
out=$(api POST /api/v1/clusters "$(cluster_body other "$work/reads-a-file")")
expect "$out" 400 "a kubeconfig that names a file of the node"
body_of "$out" | grep -q "file reference" || fail "the refusal does not say why: $out"
printf 'apiVersion: v1\nkind: Config\n' >"$work/empty-kubeconfig"
expect "$(api POST /api/v1/clusters "$(cluster_body other "$work/empty-kubeconfig")")" 400 "a kubeconfig without a context"
out=$(api GET /api/v1/clusters)
check_json "$(body_of "$out")" '[c["name"] + ":" + c["origin"] for c in o["items"]]' '["in-cluster:config", "lab:api"]'
out=$(api POST /api/v1/clusters/lab/validate)
check_json "$(body_of "$out")" 'o["status"]' Successful
out=$(api POST /api/v1/applications '{"apiVersion":"argoproj.io/v1alpha1","kind":"Application",
 "metadata":{"name":"on-lab"},
 "spec":{"project":"default","source":{"repoURL":"file://'"$repo"'","targetRevision":"main","path":"app"},
         "destination":{"name":"lab","namespace":"labns"},
         "syncPolicy":{"automated":{},"syncOptions":["CreateNamespace=true"]}}}')
expect "$out" 200 "create an app on the added cluster"
lab_synced() { [ "$($LAB_KUBECTL get configmap site -n labns -o jsonpath='{.data.v}' 2>/dev/null)" = 1 ]; }
wait_for 30 "the app deploys to the added cluster" lab_synced
$KUBECTL get namespace labns >/dev/null 2>&1 && fail "the app on the added cluster deployed to the first one"
# a backup of the added cluster by its name, as of the config's
out=$("$EDGECD_BIN" backup create lab-backup --data "$work/data" --config "$work/site.yaml" --cluster lab \
    --include-namespaces labns 2>&1) || fail "backup of the added cluster: $out"
out=$("$EDGECD_BIN" backup describe lab-backup --data "$work/data" -o json)
check_json "$out" '[o["status"]["cluster"]["name"], o["status"]["cluster"]["server"], o["status"]["phase"]]' \
    "[\"lab\", \"$lab_server\", \"Completed\"]"
check_json "$out" 'o["status"]["counts"]["resources"]["configmaps"]' 1
expect "$(api DELETE /api/v1/clusters/in-cluster)" 409 "remove the config's cluster"
expect "$(api DELETE /api/v1/clusters/lab)" 200 "remove the added cluster"
expect "$(api DELETE /api/v1/clusters/lab)" 404 "remove it again"
out=$(api GET /api/v1/clusters)
check_json "$(body_of "$out")" '[c["name"] for c in o["items"]]' '["in-cluster"]'
wait_for 15 "the app says its cluster is gone" app_field on-lab 'o["status"]["conditions"][0]["message"].find("no configured cluster has name \"lab\"") >= 0' True
# the CLI, as `argocd cluster add CONTEXT`: a kubeconfig whose CA and
# token are files on the operator's machine is read there and sent inline
mkdir -p "$work/ops"
python3 - "$work/lab/kubeconfig" "$work/ops" <<'PY'
import base64, re, sys
text = open(sys.argv[1]).read()
ca = re.search(r"certificate-authority-data: (\S+)", text).group(1)
open(sys.argv[2] + "/ca.crt", "wb").write(base64.b64decode(ca))
open(sys.argv[2] + "/token", "w").write(re.search(r"token: (\S+)", text).group(1) + "\n")
text = text.replace("certificate-authority-data: " + ca, "certificate-authority: ca.crt")
text = re.sub(r"token: \S+", "tokenFile: token", text)
open(sys.argv[2] + "/config", "w").write(text)
PY
grep -q "certificate-authority: ca.crt" "$work/ops/config" || fail "the operator's kubeconfig does not name its CA file"
expect "$(api POST /api/v1/clusters "$(cluster_body lab "$work/ops/config")")" 400 "the API takes no file reference"
out=$(KUBECONFIG=$work/ops/config "$EDGECD_BIN" cluster add kubesim --name lab) || fail "cluster add: $out"
[ "$out" = "cluster lab added: $lab_server" ] || fail "cluster add printed: $out"
out=$("$EDGECD_BIN" cluster list)
grep -q "^lab  *$lab_server  *api " <<<"$out" || fail "cluster list: $out"
out=$("$EDGECD_BIN" cluster validate lab) || fail "cluster validate: $out"
case $out in "Successful: discovery: "*) ;; *) fail "cluster validate printed: $out" ;; esac
wait_for 30 "the app on the cluster added again is back in sync" app_field on-lab 'o["status"]["sync"]["status"]' Synced
"$EDGECD_BIN" cluster rm in-cluster 2>"$work/rm.err" && fail "cluster rm removed the config's cluster"
grep -q "site config" "$work/rm.err" || fail "cluster rm of the config's cluster: $(cat "$work/rm.err")"
[ "$("$EDGECD_BIN" cluster rm lab)" = "cluster lab removed" ] || fail "cluster rm"
"$EDGECD_BIN" cluster list -o json | python3 -c 'import json,sys; assert [c["name"] for c in json.load(sys.stdin)["items"]] == ["in-cluster"]' ||
    fail "cluster list after rm"
for f in "$work"/serve.log "$work"/serve.out "$work"/data/state.db*; do
    [ -f "$f" ] || continue
    grep -q "lab-Secret-Token-99" "$f" && fail "the added cluster's token is in $f"
done

# --- no password in clear anywhere
for f in "$work"/serve.log "$work"/serve.out "$work"/data/state.db*; do
    [ -f "$f" ] || continue
    grep -q "$PASSWORD" "$f" && fail "the repository password is in $f"
done
echo "PASS"
