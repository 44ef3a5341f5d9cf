#!/bin/bash
# Git over HTTPS as a site sees it: git http-backend behind lighttpd with
# basic auth and a server certificate from a CA made here with openssl;
# `edgecd serve` keeps kubesim in step with it.
#   (mbedTLS 2.28 matches certificates by DNS name, so the URL says
#   localhost)
#   1. no CA for the server: the certificate is refused, and with a
#      different CA file too
#   2. right CA, wrong password: ERR_AUTH "authentication failed", asked
#      once, the mirror stays empty
#   3. right password: the semver constraint ">=1.2.0 <2" deploys v1.3.0
#      (not the pre-release, not 2.0.0)
#   4. polls with unchanged refs download nothing (no git-upload-pack POST
#      in the server's access log); a new tag is fetched and deployed
#   5. ssh:// gives "ssh is not supported by this build"
#   6. a mirror rule sends an app to a file:// mirror; when the mirror
#      breaks, fallback fetches upstream and the status says so
#   7. a different key file cannot open the password: a clear error;
#      repo add refuses bad input (ssh, a path, userinfo, a missing CA
#      file, an empty or multi-line password) and changes nothing
#   8. the password appears in no log, no output, not in state.db
set -euo pipefail
. "$(dirname "$0")/../../e2e/lib.sh"
command -v lighttpd >/dev/null || fail "lighttpd is not installed (tests/tools/install-packages.sh)"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git() { command git -c user.name=t -c user.email=t@e -c init.defaultBranch=main "$@"; }
PASSWORD='c0rrect-h0rse'
EDGECD_DATA=$work/data
export EDGECD_DATA

# --- certificates: a CA, a server certificate for 127.0.0.1, another CA
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=edgecd-test-ca \
    -keyout ca.key -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
    -keyout other.key -out other.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr \
    2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile san.ext -out server.crt 2>/dev/null
cat server.crt server.key >server.pem

# --- repositories served over HTTP
cm() { # NAME VALUE
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {version: "%s"}\n' "$1" "$2" \
        >"$work/src/app/cm.yaml"
}
mkdir -p srv src/app
git init -q src
for v in 1.2.0 1.3.0 1.4.0-rc1 2.0.0; do
    cm web "$v"
    git -C src add -A && git -C src commit -qm "$v" && git -C src tag "v$v"
done
git clone -q --bare src srv/config.git
# the fb app: upstream has a newer commit than the local mirror
mkdir -p fb/app
git init -q fb
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fb}\ndata: {from: "mirror"}\n' >fb/app/cm.yaml
git -C fb add -A && git -C fb commit -qm one
mkdir -p localmirror
git clone -q --bare fb localmirror/fb.git
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fb}\ndata: {from: "upstream"}\n' >fb/app/cm.yaml
git -C fb add -A && git -C fb commit -qm two
git clone -q --bare fb srv/fb.git

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'alice:%s\n' "$PASSWORD" >users
cat >lighttpd.conf <<CONF
server.document-root = "$work/srv"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$work/lighttpd-error.log"
server.modules = ("mod_access", "mod_alias", "mod_setenv", "mod_auth", "mod_authn_file",
                  "mod_cgi", "mod_openssl", "mod_accesslog")
accesslog.filename = "$work/access.log"
accesslog.format = "%h %u \"%r\" %>s"
ssl.engine = "enable"
ssl.pemfile = "$work/server.pem"
alias.url = ("/git" => "/usr/lib/git-core/git-http-backend")
cgi.assign = ("" => "")
setenv.add-environment = ("GIT_PROJECT_ROOT" => "$work/srv", "GIT_HTTP_EXPORT_ALL" => "1",
                          "GIT_CONFIG_NOSYSTEM" => "1")
auth.backend = "plain"
auth.backend.plain.userfile = "$work/users"
auth.require = ("/git" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
CONF
lighttpd -D -f lighttpd.conf >lighttpd.log 2>&1 &
pids+=($!)
BASE=https://localhost:$port/git
wait_for 10 "lighttpd serves git over TLS" \
    curl -sfk -u "alice:$PASSWORD" "$BASE/config.git/info/refs?service=git-upload-pack"
curl -sk -o /dev/null -w '%{http_code}' "$BASE/config.git/info/refs?service=git-upload-pack" |
    grep -qx 401 || fail "the test server does not ask for a password"

# --- edgecd: three apps and a mirror rule for the fb app
e2e_start_kubesim
cat >"$work/site.yaml" <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
listen: 127.0.0.1:0
pollSeconds: 1
pollJitterSeconds: 0
logLevel: debug
clusters:
  - kubeconfig: $work/sim/kubeconfig
mirrors:
  - prefix: $BASE/fb
    mirror: file://$work/localmirror/fb
    fallback: true
YAML
app() { # NAME URL REVISION
    cat >>"$work/site.yaml" <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $1}
spec:
  source: {repoURL: '$2', targetRevision: '$3', path: app}
  destination: {server: https://kubernetes.default.svc, namespace: default}
  syncPolicy: {automated: {prune: true}}
YAML
}
app web "$BASE/config.git" ">=1.2.0 <2"
app viassh "ssh://git@localhost:$port/config.git" main
app fb "$BASE/fb.git" main
e2e_start_serve

# 1. certificate checks
wait_for 20 "an untrusted certificate is refused" app_has_error web "server certificate refused"
app_has_error web "not trusted for localhost" || fail "refusal does not name the host"
"$EDGECD_BIN" repo add "https://localhost:$port/" --username alice --ca-file "$work/other.pem" \
    --password-stdin <<<"$PASSWORD" >/dev/null
wait_for 20 "a certificate from another CA is refused" app_has_error web "under CA file $work/other.pem"

# 2. wrong password
mirror_of() { echo "$work/data/mirrors/$(printf %s "$1" | sha256sum | cut -c1-16).git"; }
"$EDGECD_BIN" repo add "https://localhost:$port/" --username alice --ca-file "$work/ca.pem" \
    --password-stdin <<<"wrong-password" >/dev/null
wait_for 20 "a wrong password is refused" app_has_error web "$BASE/config.git: authentication failed"
[ -z "$(git --git-dir="$(mirror_of "$BASE/config.git")" for-each-ref)" ] ||
    fail "the mirror changed after a refused login"
# asked once per fetch: every refused fetch is one 401 on info/refs plus
# at most one retry with the password
n401=$(grep -c '" 401$' access.log || true)
npoll=$(grep -c 'config.git/info/refs' access.log || true)
[ "$n401" -le "$npoll" ] || fail "credentials were offered more than once per fetch"

# 3. the right password: the highest 1.x release, no pre-release
"$EDGECD_BIN" repo add "https://localhost:$port/" --username alice --ca-file "$work/ca.pem" \
    --password-stdin <<<"$PASSWORD" >"$work/add.out"
"$EDGECD_BIN" repo list >"$work/list.out"
grep -q "alice .*yes .*no .*$work/ca.pem" "$work/list.out" || fail "repo list: $(cat "$work/list.out")"
v130=$(git -C src rev-parse 'v1.3.0^{commit}')
wait_for 30 "web synced at v1.3.0" app_field web 'o["status"]["sync"]["revision"]' "$v130"
wait_for 10 "web's ConfigMap is v1.3.0" kube_field "configmap web -n default" 'o["data"]["version"]' 1.3.0

# 4. unchanged refs: listed, not downloaded. edgecd logs each fetch; the
# server's access log (written in batches) must show one git-upload-pack
# POST per "downloaded" and none for the skipped polls.
count() { grep -c "$1" "$2" || true; }
sleep 4
downloads=$(count "fetched $BASE/config.git: downloaded" serve.log)
skips=$(count "fetched $BASE/config.git: refs unchanged, nothing downloaded" serve.log)
[ "$downloads" = 1 ] || fail "$downloads downloads for one change"
[ "$skips" -ge 2 ] || fail "only $skips polls skipped the download"
posts_are() { [ "$(count 'POST /git/config.git/git-upload-pack' access.log)" = "$1" ]; }
lists_at_least() { [ "$(count 'alice "GET /git/config.git/info/refs' access.log)" -ge "$1" ]; }
wait_for 15 "the server listed refs for every poll" lists_at_least $((downloads + skips))
posts_are "$downloads" || fail "the server saw $(count POST access.log) pack downloads, edgecd logged $downloads"
echo "ok: $skips polls with unchanged refs downloaded nothing"
posts=$downloads
cm web 1.5.0
git -C src add -A && git -C src commit -qm 1.5.0 && git -C src tag v1.5.0
git -C src push -q "$work/srv/config.git" main v1.5.0
v150=$(git -C src rev-parse 'v1.5.0^{commit}')
wait_for 30 "web moves to the new tag v1.5.0" app_field web 'o["status"]["sync"]["revision"]' "$v150"
# lighttpd writes its access log in batches
more_posts() { [ "$(grep -c 'POST /git/config.git/git-upload-pack' access.log)" -gt "$posts" ]; }
wait_for 10 "the new tag was downloaded (a git-upload-pack POST)" more_posts

# 5. ssh
wait_for 10 "ssh is refused clearly" app_has_error viassh "ssh is not supported by this build; use https or a file mirror"

# 6. mirror rule, then fallback
wait_for 30 "fb deployed from the file:// mirror" kube_field "configmap fb -n default" 'o["data"]["from"]' mirror
app_field fb 'o["status"].get("sourceMessage", "")' "" || fail "fb has a message while the mirror works"
[ "$(grep -c 'fb.git/' access.log || true)" = 0 ] || fail "fb went upstream while the mirror worked"
mv localmirror/fb.git localmirror/fb.git.broken
wait_for 30 "fb falls back to upstream" kube_field "configmap fb -n default" 'o["data"]["from"]' upstream
app_json fb >"$work/fb.json"
check_json "$(cat "$work/fb.json")" 'o["status"]["sourceMessage"].startswith("fetched from upstream '"$BASE"'/fb.git: mirror file://'"$work"'/localmirror/fb.git failed: ")' true
"$EDGECD_BIN" app get fb >"$work/fb.txt"
grep -q "^Message: *fetched from upstream $BASE/fb.git" "$work/fb.txt" || fail "app get: $(cat "$work/fb.txt")"
echo "ok: $(grep '^Message' "$work/fb.txt")"
mv localmirror/fb.git.broken localmirror/fb.git
git -C fb push -q "$work/localmirror/fb.git" main
wait_for 30 "the message clears when the mirror is back" app_field fb 'o["status"].get("sourceMessage", "")' ""

# 7. another key cannot open the stored password: a clear error, not garbage
cp "$work/data/keys/secret.key" "$work/secret.key.saved"
head -c 32 /dev/urandom >"$work/data/keys/secret.key"
wait_for 20 "a wrong key is a clear error" \
    app_has_error web "repository credentials for https://localhost:$port/ cannot be decrypted"
cp "$work/secret.key.saved" "$work/data/keys/secret.key"
wait_for 20 "the right key works again" app_field web 'o["status"].get("conditions", [])' "[]"

# repo add refuses bad input and changes nothing
"$EDGECD_BIN" repo list >"$work/before.out"
refused() { # MESSAGE STDIN args...
    local msg=$1 input=$2
    shift 2
    if printf '%s' "$input" | "$EDGECD_BIN" repo add "$@" >/dev/null 2>"$work/err.out"; then
        fail "repo add $* was accepted"
    fi
    grep -qF -- "$msg" "$work/err.out" || fail "repo add $*: $(cat "$work/err.out"), expected \"$msg\""
}
refused "ssh is not supported by this build" "" "ssh://git@localhost/x.git"
refused "credentials are for http:// and https:// URLs" "" "$work/srv/config.git"
refused "not in the URL" "" "https://alice:pw@localhost:$port/"
refused "--ca-file $work/none.pem: not a readable file" "" "https://localhost:$port/" --ca-file "$work/none.pem"
refused "stdin must hold one non-empty line" "" "https://localhost:$port/" --password-stdin
refused "stdin must hold one non-empty line" $'a\nb\n' "https://localhost:$port/" --password-stdin
"$EDGECD_BIN" repo list >"$work/after.out"
cmp -s "$work/before.out" "$work/after.out" || fail "a refused repo add changed the stored credentials"
echo "ok: repo add refuses bad input and changes nothing"
if "$EDGECD_BIN" repo rm "https://nothing.lan/" 2>"$work/err.out"; then fail "repo rm of nothing succeeded"; fi
grep -q 'has no stored credentials' "$work/err.out" || fail "repo rm: $(cat "$work/err.out")"

# 8. the secret is nowhere in clear
for f in "$work"/*.log "$work"/*.out "$work"/*.json "$work"/*.txt "$work"/data/state.db*; do
    [ -f "$f" ] || continue
    if grep -qF "$PASSWORD" "$f"; then fail "the password is in $f"; fi
done
echo "ok: the password is in no log, output or database file"
echo "PASS"
