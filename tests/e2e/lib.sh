# Helpers for end-to-end tests (sourced). Each test gets a scratch folder,
# kubesim, and an `edgecd serve`; all are stopped when the test exits.
# Needs EDGECD_BIN, EDGECD_KUBESIM, EDGECD_KUBECTL, EDGECD_TEST_TMP.

work=$EDGECD_TEST_TMP/$(basename "$(dirname "$0")").$$
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$work"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

# wait_for SECONDS WHAT COMMAND...: retry COMMAND every 0.2 s.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || fail "timed out after ${limit}s waiting for: $what"
        sleep 0.2
    done
    echo "ok: $what"
}

# check_json JSON PYEXPR EXPECTED: PYEXPR over o (the parsed JSON) must
# print EXPECTED.
check_json() {
    local got
    got=$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2") ||
        fail "cannot evaluate $2"
    [ "$got" = "$3" ] || fail "$2 is \"$got\", expected \"$3\""
}

e2e_start_kubesim() { # [kubesim flags...]
    "$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" "$@" >"$work/kubesim.log" 2>&1 &
    pids+=($!)
    local i=0
    until [ -f "$work/sim/kubeconfig" ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "kubesim did not start"
        sleep 0.1
    done
    KUBECTL="$EDGECD_KUBECTL --kubeconfig $work/sim/kubeconfig"
}

e2e_commit() {
    git -C "$1" add -A
    git -C "$1" -c user.name=e2e -c user.email=e2e@edgecd.invalid commit -q -m "$2"
}

# e2e_site_settings [SETTING...]: the settings document for kubesim
# (poll every second, debug log) with each SETTING ("key: value") added.
e2e_site_settings() {
    cat <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
listen: 127.0.0.1:0
pollSeconds: 1
logLevel: debug
clusters:
  - kubeconfig: $work/sim/kubeconfig
YAML
    local s
    for s in "$@"; do printf '%s\n' "$s"; done
}

# e2e_write_site APP REPO_URL REVISION PATH NAMESPACE
e2e_write_site() {
    e2e_site_settings >"$work/site.yaml"
    cat >>"$work/site.yaml" <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $1
spec:
  project: default
  source:
    repoURL: $2
    targetRevision: $3
    path: $4
  destination:
    server: https://kubernetes.default.svc
    namespace: $5
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
YAML
}

e2e_start_serve() { # [more serve flags...]
    # gone first: a restart must not read the address the last one printed
    rm -f "$work/serve.out"
    "$EDGECD_BIN" serve --data "$work/data" --config "$work/site.yaml" "$@" \
        >"$work/serve.out" 2>>"$work/serve.log" &
    pids+=($!)
    local i=0
    until grep -q 'API at' "$work/serve.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "edgecd serve did not start"
        sleep 0.1
    done
    EDGECD_SERVER=$(sed -n 's|.*API at \(https\{0,1\}://[^/]*\)/api/v1.*|\1|p' "$work/serve.out")
    EDGECD_TOKEN=$(cat "$work/data/keys/api-token")
    # The certificate serve uses (generated into the data directory unless
    # the site configures one): what the CLI and curl_api trust.
    EDGECD_CA_FILE=$(sed -n 's|.*TLS certificate \(.*\) SHA-256 fingerprint.*|\1|p' "$work/serve.out")
    case $EDGECD_CA_FILE in
    keys/tls.crt) EDGECD_CA_FILE=$work/data/keys/tls.crt ;;
    esac
    export EDGECD_SERVER EDGECD_TOKEN EDGECD_CA_FILE
}

# api_curl [curl args...]: curl that trusts the server's certificate (when
# serve runs HTTPS) and fails on transport errors only.
api_curl() {
    if [ -n "${EDGECD_CA_FILE:-}" ]; then
        curl --cacert "$EDGECD_CA_FILE" "$@"
    else
        curl "$@"
    fi
}

app_json() {
    "$EDGECD_BIN" app get "$1" -o json
}

app_field() {
    local json
    json=$(app_json "$1") || return 1
    [ "$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$json" "$2")" = "$3" ]
}

app_has_error() {
    app_json "$1" | python3 -c 'import json,sys; o=json.load(sys.stdin); c=o["status"].get("conditions",[]); sys.exit(0 if c and sys.argv[1] in c[0]["message"] else 1)' "$2"
}

kube_field() {
    local json
    # shellcheck disable=SC2086
    json=$($KUBECTL get $1 -o json) || return 1
    [ "$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$json" "$2")" = "$3" ]
}

gone() {
    local out
    # shellcheck disable=SC2086
    out=$($KUBECTL get $1 2>&1) && return 1
    grep -q NotFound <<<"$out"
}
