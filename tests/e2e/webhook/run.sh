#!/bin/bash
# End to end: push webhooks through `edgecd serve`, with no API token.
# The app polls once an hour, so only the webhook can bring a commit in:
#   1. a GitHub push signed with the secret from an argocd-secret file
#      (HMAC made by openssl) refreshes the app: the commit reaches the
#      cluster within seconds (the refresh itself is logged within one);
#   2. a wrong signature, a push of another branch, and a GitLab push with
#      a wrong token change nothing (401 / no refresh);
#   3. a GitLab push with the right token refreshes it;
#   4. a provider without a configured secret is refused; no secret
#      appears in the answers or the log.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/app"
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hooked}\ndata: {v: "%s"}\n' "$1"; }
cm 1 >"$repo/app/cm.yaml"
git -C "$repo" init -q -b main
e2e_commit "$repo" "v1"
gh_secret='gh-Secret-4711'
gl_secret='gl-Token-0815'
cat >"$work/argocd-secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: argocd-secret}
stringData:
  webhook.github.secret: '$gh_secret'
  webhook.gitlab.secret: '$gl_secret'
YAML
{
    e2e_site_settings "secretsFile: $work/argocd-secret.yaml"
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: hooked}
spec:
  source: {repoURL: 'file://$repo', targetRevision: main, path: app}
  destination: {server: 'https://kubernetes.default.svc', namespace: default}
  syncPolicy: {automated: {}}
YAML
} >"$work/site.yaml"
sed -i 's/^pollSeconds: 1$/pollSeconds: 3600\npollJitterSeconds: 0/' "$work/site.yaml"
grep -q '^pollSeconds: 3600$' "$work/site.yaml" || fail "site.yaml: pollSeconds not set"
e2e_start_serve

value() { $KUBECTL get configmap hooked -n default -o jsonpath='{.data.v}' 2>/dev/null; }
is_value() { [ "$(value)" = "$1" ]; }
wait_for 20 "first sync" is_value 1

hook() { # BODY HEADER... : POST /api/webhook, no token; prints the status
    local body=$1
    shift
    local args=()
    for h in "$@"; do args+=(-H "$h"); done
    api_curl -s -o "$work/hook.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        "${args[@]}" --data-binary "$body" "$EDGECD_SERVER/api/webhook"
}
hmac() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= //'; }
github_body() { # REF
    printf '{"ref":"%s","repository":{"html_url":"file://%s","clone_url":"file://%s.git"}}' "$1" "$repo" "$repo"
}

echo "== 1. a signed GitHub push brings the commit in"
cm 2 >"$repo/app/cm.yaml"
e2e_commit "$repo" "v2"
body=$(github_body refs/heads/main)
t0=$(date +%s.%N)
code=$(hook "$body" "X-GitHub-Event: push" "X-Hub-Signature-256: sha256=$(hmac "$gh_secret" "$body")")
[ "$code" = 200 ] || fail "signed GitHub push answered $code: $(cat "$work/hook.out")"
grep -q '"provider": *"github"' "$work/hook.out" || fail "answer: $(cat "$work/hook.out")"
wait_for 10 "v2 in the cluster after the GitHub push" is_value 2
t1=$(date +%s.%N)
echo "ok: commit in the cluster $(echo "$t1 - $t0" | bc -l | cut -c1-4)s after the webhook"
grep -q "app hooked: refresh requested" "$work/serve.log" || fail "no refresh in the log"

echo "== 2. what must change nothing"
cm 3 >"$repo/app/cm.yaml"
e2e_commit "$repo" "v3"
body=$(github_body refs/heads/main)
code=$(hook "$body" "X-GitHub-Event: push" "X-Hub-Signature-256: sha256=$(hmac "not-the-secret" "$body")")
[ "$code" = 401 ] || fail "wrong signature answered $code"
code=$(hook "$body" "X-GitHub-Event: push")
[ "$code" = 401 ] || fail "no signature answered $code"
other=$(github_body refs/heads/feature)
code=$(hook "$other" "X-GitHub-Event: push" "X-Hub-Signature-256: sha256=$(hmac "$gh_secret" "$other")")
[ "$code" = 200 ] || fail "push of another branch answered $code"
gl_body=$(printf '{"ref":"refs/heads/main","project":{"web_url":"file://%s"}}' "$repo")
code=$(hook "$gl_body" "X-Gitlab-Event: Push Hook" "X-Gitlab-Token: wrong-token")
[ "$code" = 401 ] || fail "wrong GitLab token answered $code"
code=$(hook "$gl_body" "X-Gitea-Event: push" "X-Gitea-Signature: $(hmac "$gh_secret" "$gl_body")")
[ "$code" = 401 ] || fail "Gitea without a configured secret answered $code"
grep -q "webhook.gogs.secret is not set" "$work/hook.out" || fail "Gitea refusal: $(cat "$work/hook.out")"
code=$(hook '{}')
[ "$code" = 400 ] || fail "no provider headers answered $code"
sleep 3
[ "$(value)" = 2 ] || fail "a refused or foreign push brought v3 in"
echo "ok: wrong or missing signatures, another branch, an unconfigured provider change nothing"

echo "== 3. a GitLab push with the right token"
code=$(hook "$gl_body" "X-Gitlab-Event: Push Hook" "X-Gitlab-Token: $gl_secret")
[ "$code" = 200 ] || fail "GitLab push answered $code: $(cat "$work/hook.out")"
wait_for 10 "v3 in the cluster after the GitLab push" is_value 3

echo "== 4. no secret leaves"
for s in "$gh_secret" "$gl_secret"; do
    ! grep -qF "$s" "$work/serve.log" || fail "a webhook secret is in the log"
    ! grep -qF "$s" "$work/hook.out" || fail "a webhook secret is in an answer"
done
echo PASS
