#!/bin/bash
# Accounts and sessions as an operator and a browser meet them, over HTTPS
# with real curl and the real 600,000-iteration password hashes:
#   1. First start makes the account admin with a random password, printed
#      once and written to DATA/admin-password (0600); a restart neither
#      changes nor prints it.
#   2. A browser login: a wrong password is 401 and sets nothing; the
#      right one sets an HttpOnly, Secure, SameSite=Strict cookie; a write
#      needs the CSRF token; logout ends the session.
#   3. `edgecd account` on the data directory: a read-only account and a
#      token for it; the token reads but cannot sync (403), and revoked it
#      is refused; a disabled account cannot log in.
#   4. `edgecd login --password-stdin` keeps a token in the login config
#      (0600) and `edgecd app list` then needs no token from the node.
#   5. rbacConfigFile: a project-scoped role from policy.csv sees only its
#      project's apps.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
mkdir -p "$work/repo"
git -C "$work/repo" init -q -b main
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "1"\n' >"$work/repo/cm.yaml"
e2e_commit "$work/repo" init
cat >"$work/rbac.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
data:
  policy.csv: |
    p, role:team-a, applications, get, team-a/*, allow
    g, alice, role:team-a
YAML
e2e_site_settings "rbacConfigFile: rbac.yaml" >"$work/site.yaml"
for app in web:team-a db:team-b; do
    cat >>"$work/site.yaml" <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${app%%:*}
spec:
  project: ${app##*:}
  source:
    repoURL: file://$work/repo
    targetRevision: main
    path: .
  destination:
    server: https://kubernetes.default.svc
    namespace: ${app%%:*}
YAML
done

# 1. the admin password, once
e2e_start_serve
pwfile=$work/data/admin-password
[ -f "$pwfile" ] || fail "no $pwfile"
[ "$(stat -c %a "$pwfile")" = 600 ] || fail "$pwfile mode $(stat -c %a "$pwfile")"
admin_pw=$(cat "$pwfile")
[ ${#admin_pw} -ge 20 ] || fail "admin password too short: ${#admin_pw}"
grep -qF "created account admin with password $admin_pw" "$work/serve.out" ||
    fail "serve did not print the admin password"
grep -qF "$admin_pw" "$work/serve.log" && fail "the admin password went into the log"
kill "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
unset 'pids[-1]'
e2e_start_serve
[ "$(cat "$pwfile")" = "$admin_pw" ] || fail "a restart changed the admin password"
grep -q "created account admin" "$work/serve.out" && fail "a restart printed the password again"
echo "ok: admin password written once, 0600"

# 2. browser session
api=$EDGECD_SERVER/api/v1
jar=$work/cookies
code=$(api_curl -s -o "$work/out" -w '%{http_code}' -c "$jar" -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"wrong-password"}' "$api/session")
[ "$code" = 401 ] || fail "wrong password: $code"
grep -q edgecd_session "$jar" && fail "a failed login set a cookie"
body=$(python3 -c 'import json,sys; print(json.dumps({"username":"admin","password":sys.argv[1]}))' "$admin_pw")
api_curl -s -D "$work/hdr" -o "$work/out" -c "$jar" -H 'Content-Type: application/json' -d "$body" "$api/session"
head -n 1 "$work/hdr" | grep -q " 200 " || fail "login: $(head -n 1 "$work/hdr")"
tr -d '\r' <"$work/hdr" | grep -i '^Set-Cookie: edgecd_session=' | grep 'HttpOnly' | grep 'Secure' |
    grep -q 'SameSite=Strict' || fail "cookie flags: $(grep -i set-cookie "$work/hdr")"
csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$work/out")
check_json "$(api_curl -s -b "$jar" "$api/session/userinfo")" 'o["username"]' admin
code=$(api_curl -s -o /dev/null -w '%{http_code}' -b "$jar" -X POST -d '{}' "$api/applications/web/sync")
[ "$code" = 403 ] || fail "sync without CSRF token: $code"
code=$(api_curl -s -o "$work/out" -w '%{http_code}' -b "$jar" -H "X-CSRF-Token: $csrf" -X POST -d '{}' \
    "$api/applications/web/sync")
[ "$code" = 202 ] || fail "sync with CSRF token: $code $(cat "$work/out")"
code=$(api_curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H "X-CSRF-Token: $csrf" -X DELETE "$api/session")
[ "$code" = 200 ] || fail "logout: $code"
code=$(api_curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$api/session/userinfo")
[ "$code" = 401 ] || fail "after logout: $code"
echo "ok: browser session, CSRF, logout"

# 3. accounts and tokens on the data directory
echo 'viewer-pass-1' | "$EDGECD_BIN" account create viewer --role role:readonly --password-stdin \
    --data "$work/data" >/dev/null
"$EDGECD_BIN" account list --data "$work/data" | grep -E '^viewer +true +0 +role:readonly' >/dev/null ||
    fail "account list: $("$EDGECD_BIN" account list --data "$work/data")"
tok=$("$EDGECD_BIN" account token create viewer --id ci --data "$work/data")
"$EDGECD_BIN" account token list viewer --data "$work/data" | grep -q '^viewer  *ci ' || fail "token list"
check_json "$(api_curl -s -H "Authorization: Bearer $tok" "$api/applications")" 'len(o["items"])' 2
code=$(api_curl -s -o "$work/out" -w '%{http_code}' -H "Authorization: Bearer $tok" -X POST -d '{}' \
    "$api/applications/web/sync")
[ "$code" = 403 ] || fail "read-only token sync: $code"
grep -q 'permission denied: applications, sync, team-a/web' "$work/out" || fail "403 body: $(cat "$work/out")"
"$EDGECD_BIN" account token revoke viewer ci --data "$work/data" >/dev/null
code=$(api_curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$api/applications")
[ "$code" = 401 ] || fail "revoked token: $code"
"$EDGECD_BIN" account disable viewer --data "$work/data" >/dev/null
code=$(api_curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"username":"viewer","password":"viewer-pass-1"}' "$api/session")
[ "$code" = 401 ] || fail "a disabled account logged in: $code"
"$EDGECD_BIN" account enable viewer --data "$work/data" >/dev/null
echo "ok: edgecd account, role-bound token, revoke, disable"

# 4. edgecd login, then the CLI without the node's token
export EDGECD_LOGIN_CONFIG=$work/home/edgecd/config
echo 'viewer-pass-1' | "$EDGECD_BIN" login --username viewer --password-stdin --ca-file "$EDGECD_CA_FILE" \
    >"$work/login.out"
[ "$(stat -c %a "$EDGECD_LOGIN_CONFIG")" = 600 ] || fail "login config mode"
server=$EDGECD_SERVER
unset EDGECD_TOKEN EDGECD_CA_FILE EDGECD_SERVER
"$EDGECD_BIN" app list | grep -q '^web ' || fail "app list with the login token: $("$EDGECD_BIN" app list 2>&1)"
"$EDGECD_BIN" app sync web >"$work/sync.out" 2>&1 && fail "a read-only login could sync"
grep -q 'permission denied' "$work/sync.out" || fail "sync refusal: $(cat "$work/sync.out")"
# the node's own token still works with --data
"$EDGECD_BIN" app list --server "$server" --data "$work/data" | grep -q '^db ' || fail "app list --data"
echo "ok: edgecd login"

# 5. a project-scoped role from the site's policy.csv
echo 'alice-pass-1' | "$EDGECD_BIN" account create alice --password-stdin --data "$work/data" >/dev/null
body='{"username":"alice","password":"alice-pass-1"}'
api_curl() { curl --cacert "$work/data/keys/tls.crt" "$@"; }
api_curl -s -o /dev/null -c "$jar" -H 'Content-Type: application/json' -d "$body" "$server/api/v1/session"
check_json "$(api_curl -s -b "$jar" "$server/api/v1/applications")" '[a["metadata"]["name"] for a in o["items"]]' '["web"]'
code=$(api_curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$server/api/v1/applications/db")
[ "$code" = 403 ] || fail "alice reading db: $code"
echo "ok: RBAC from rbacConfigFile"
