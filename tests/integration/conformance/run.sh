#!/bin/bash
# The conformance list: the same scenarios run through each client against
# a fresh kubesim: edgecd's own client (the kubeclient tool), real kubectl
# 1.35 and real kubectl 1.20. Every scenario checks what a user would: the
# objects' contents, resourceVersions, ownership, what is gone.
# usage: run.sh KUBECLIENT [CLIENT...]   (CLIENT: edgecd, kubectl, kubectl-1.20)
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}"
kubeclient=$1
shift
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(edgecd kubectl kubectl-1.20)
kubectl_old=${EDGECD_KUBECTL_OLD:-$(dirname "$EDGECD_KUBECTL")/kubectl-1.20}

work=$(mktemp -d "$EDGECD_TEST_TMP/conformance.XXXXXX")
sim=
cleanup() {
    if [ -n "$sim" ]; then
        kill "$sim" 2>/dev/null || true
        wait "$sim" 2>/dev/null || true
    fi
}
trap cleanup EXIT

client=
fail() {
    echo "FAIL [$client]: $*" >&2
    echo "--- kubesim log (tail)" >&2
    tail -n 20 "$work/kubesim.log" >&2 || true
    exit 1
}

start_kubesim() {
    cleanup
    rm -rf "$work/sim"
    "$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" >"$work/kubesim.log" 2>&1 &
    sim=$!
    for _ in $(seq 100); do
        [ -f "$work/sim/kubeconfig" ] && return 0
        kill -0 "$sim" 2>/dev/null || fail "kubesim exited"
        sleep 0.1
    done
    fail "kubesim wrote no kubeconfig"
}

# Reference kubectl 1.35 for set-up steps that are not under test.
ref() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache-ref" "$@"; }

# --- the drivers: the same verbs through each client --------------------
# d_apply [--dry-run] FILE       prints the object the server answered
# d_get APIVERSION KIND NS NAME  prints the object; fails when absent
# d_list APIVERSION KIND NS SEL  prints a JSON array of the items
# d_delete APIVERSION KIND NS NAME POLICY
kubectl_bin=
kc() { "$kubectl_bin" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache-$client" "$@"; }
ns_flag() { if [ "$1" = - ]; then echo --all-namespaces=false; else echo "--namespace=$1"; fi; }
kres() { # kubectl's name for a kind in a group/version: Kind.version.group
    local av=$1 kind=$2
    case $av in
    */*) echo "$kind.${av#*/}.${av%/*}" ;;
    *) echo "$kind" ;;
    esac
}

d_apply() { # [--dry-run] [--manager M] [--force|--no-force] FILE
    local dry= manager= force=
    while [ $# -gt 1 ]; do
        case $1 in
        --dry-run) dry=1 ;;
        --manager) manager=$2; shift ;;
        --force) force=yes ;;
        --no-force) force=no ;;
        esac
        shift
    done
    case $client in
    edgecd) "$kubeclient" "$work/sim/kubeconfig" apply ${dry:+--dry-run} \
        ${manager:+--manager "$manager"} $([ "$force" = no ] && echo --no-force) "$1" ;;
    *) kc apply --server-side ${dry:+--dry-run=server} ${manager:+--field-manager="$manager"} \
        $([ "$force" = yes ] && echo --force-conflicts) -o json -f "$1" |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' ;;
    esac
}
d_get() {
    case $client in
    edgecd) "$kubeclient" "$work/sim/kubeconfig" get "$1" "$2" "$3" "$4" ;;
    *) kc get "$(kres "$1" "$2")" "$4" $(ns_flag "$3") -o json |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' ;;
    esac
}
d_list() {
    case $client in
    edgecd) "$kubeclient" "$work/sim/kubeconfig" list "$1" "$2" "$3" "$4" ;;
    *) kc get "$(kres "$1" "$2")" $(ns_flag "$3") -l "$4" -o json |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["items"]))' ;;
    esac
}
d_delete() {
    case $client in
    edgecd) "$kubeclient" "$work/sim/kubeconfig" delete "$1" "$2" "$3" "$4" "$5" ;;
    *) kc delete "$(kres "$1" "$2")" "$4" $(ns_flag "$3") --wait=false \
        --cascade="$(echo "$5" | tr '[:upper:]' '[:lower:]')" >/dev/null ;;
    esac
}

# d_watch APIVERSION KIND NS: stream events as JSON ({"type","object"})
# until killed.
d_watch() {
    case $client in
    edgecd) exec "$kubeclient" "$work/sim/kubeconfig" watch "$1" "$2" "$3" 600 ;;
    *) exec "$kubectl_bin" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache-$client" \
        get "$(kres "$1" "$2")" $(ns_flag "$3") -w --output-watch-events -o json ;;
    esac
}
# The types of the events about NAME in a stream of JSON values.
events_of() {
    python3 - "$1" "$2" <<'PY'
import json, sys
text, name, pos, out = open(sys.argv[1]).read(), sys.argv[2], 0, []
dec = json.JSONDecoder()
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    try:
        ev, pos = dec.raw_decode(text, pos)
    except ValueError:
        break  # a line cut when the watcher was stopped
    if ev.get("object", {}).get("metadata", {}).get("name") == name:
        out.append(ev["type"])
print(" ".join(out))
PY
}

# jq-like checks with python3: field EXPR of the JSON in $1 must print $3.
expect() {
    local got
    got=$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2") ||
        fail "cannot evaluate $2 on: $1"
    [ "$got" = "$3" ] || fail "$2 is '$got', expected '$3'"
}
absent() { # APIVERSION KIND NS NAME: the object must be gone within 20 s
    for _ in $(seq 100); do
        d_get "$@" >/dev/null 2>&1 || return 0
        sleep 0.2
    done
    fail "$2 $3/$4 still exists"
}

write() { cat >"$work/$1"; }
# A ConfigMap NAME owned by the ConfigMap OWNER (by uid), applied with the
# reference kubectl.
make_dependent() {
    local uid
    uid=$(ref get configmap "$2" -n default -o jsonpath='{.metadata.uid}')
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: default\n  ownerReferences:\n  - {apiVersion: v1, kind: ConfigMap, name: %s, uid: %s, blockOwnerDeletion: true}\ndata: {k: v}\n' \
        "$1" "$2" "$uid" | ref apply --server-side -f - >/dev/null
}
make_cm() {
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: default\ndata: {k: %s}\n' \
        "$1" "${2:-v}" | ref apply --server-side --force-conflicts -f - >/dev/null
}

write cm.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
  namespace: default
  labels: {tier: web}
data:
  a: "1"
  b: "2"
EOF
write cm-less.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
  namespace: default
  labels: {tier: web}
data:
  a: "1"
EOF
write cm-dry.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
  namespace: default
  labels: {tier: web}
data:
  a: "dry"
EOF
write other.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
  namespace: default
data:
  x: "y"
EOF
write crd.yaml <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
EOF
write cr.yaml <<'EOF'
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g1
  namespace: default
spec:
  size: 3
EOF
write ns.yaml <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: doomed
EOF
write ns-cm.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: inside
  namespace: doomed
data: {k: v}
EOF

write shared-other.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
  namespace: default
data:
  a: theirs
EOF
write shared-mine.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
  namespace: default
data:
  a: mine
EOF

# --- the scenarios ---------------------------------------------------------
scenario_apply() {
    local o
    o=$(d_apply "$work/cm.yaml") || fail "apply failed"
    expect "$o" 'o["data"]' '{"a": "1", "b": "2"}'
    o=$(d_get v1 ConfigMap default conf) || fail "get after apply failed"
    expect "$o" 'o["metadata"]["labels"]["tier"]' web
    [ -n "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["uid"])' "$o")" ] ||
        fail "no uid"
}

scenario_reapply_unchanged() {
    local before after
    before=$(d_get v1 ConfigMap default conf)
    d_apply "$work/cm.yaml" >/dev/null || fail "re-apply failed"
    after=$(d_get v1 ConfigMap default conf)
    expect "$after" 'o["metadata"]["resourceVersion"]' \
        "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["resourceVersion"])' "$before")"
}

scenario_apply_removed_field() {
    local o
    d_apply "$work/cm-less.yaml" >/dev/null || fail "apply without b failed"
    o=$(d_get v1 ConfigMap default conf)
    expect "$o" 'sorted(o["data"])' '["a"]'
}

scenario_dry_run() {
    local o before
    before=$(d_get v1 ConfigMap default conf)
    o=$(d_apply --dry-run "$work/cm-dry.yaml") || fail "dry-run apply failed"
    expect "$o" 'o["data"]["a"]' dry
    o=$(d_get v1 ConfigMap default conf)
    expect "$o" 'o["data"]["a"]' 1
    expect "$o" 'o["metadata"]["resourceVersion"]' \
        "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["resourceVersion"])' "$before")"
}

scenario_get_list() {
    local o
    d_apply "$work/other.yaml" >/dev/null || fail "apply plain failed"
    o=$(d_list v1 ConfigMap default tier=web) || fail "list failed"
    expect "$o" '[i["metadata"]["name"] for i in o]' '["conf"]'
    o=$(d_list v1 ConfigMap default '!tier') || fail "list !tier failed"
    expect "$o" '"plain" in [i["metadata"]["name"] for i in o] and "conf" not in [i["metadata"]["name"] for i in o]' true
    if d_get v1 ConfigMap default missing >/dev/null 2>&1; then fail "get of a missing object succeeded"; fi
}

scenario_crd_then_cr() {
    d_apply "$work/crd.yaml" >/dev/null || fail "apply CRD failed"
    local o
    o=$(d_apply "$work/cr.yaml") || fail "apply custom resource right after its CRD failed"
    expect "$o" 'o["spec"]["size"]' 3
    o=$(d_get example.com/v1 Gadget default g1) || fail "get custom resource failed"
    expect "$o" 'o["kind"]' Gadget
}

scenario_delete() {
    d_delete v1 ConfigMap default plain Background || fail "delete failed"
    absent v1 ConfigMap default plain
    if d_delete v1 ConfigMap default plain Background 2>/dev/null; then
        fail "deleting a missing object succeeded"
    fi
}

scenario_namespace_deletion() {
    d_apply "$work/ns.yaml" >/dev/null || fail "apply namespace failed"
    d_apply "$work/ns-cm.yaml" >/dev/null || fail "apply into namespace failed"
    d_delete v1 Namespace - doomed Background || fail "namespace delete failed"
    absent v1 Namespace - doomed
    absent v1 ConfigMap doomed inside
}

scenario_conflicting_managers() {
    local o err
    ref apply --server-side --field-manager=other -f "$work/shared-other.yaml" >/dev/null
    if err=$(d_apply --manager mine --no-force "$work/shared-mine.yaml" 2>&1 >/dev/null); then
        fail "apply over another manager's field without force succeeded"
    fi
    case $err in
    *conflict*'"other"'*) ;;
    *) fail "conflict error does not name the other manager: $err" ;;
    esac
    o=$(d_get v1 ConfigMap default shared)
    expect "$o" 'o["data"]["a"]' theirs
    o=$(d_apply --manager mine --force "$work/shared-mine.yaml") || fail "forced apply failed"
    expect "$o" 'o["data"]["a"]' mine
    o=$(ref get configmap shared -n default -o json --show-managed-fields)
    expect "$o" '[m["manager"] for m in o["metadata"]["managedFields"] if "f:a" in m.get("fieldsV1", {}).get("f:data", {})]' '["mine"]'
}

scenario_watch() {
    local out=$work/watch-$client.out pid types
    make_cm watched one
    : >"$out"
    d_watch v1 ConfigMap default >"$out" 2>"$work/watch-$client.err" &
    pid=$!
    for _ in $(seq 300); do
        [ "$(events_of "$out" watched)" = ADDED ] && break
        sleep 0.1
    done
    make_cm watched two
    ref delete configmap watched -n default >/dev/null
    for _ in $(seq 300); do
        types=$(events_of "$out" watched)
        [ "$types" = "ADDED MODIFIED DELETED" ] && break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$types" = "ADDED MODIFIED DELETED" ] ||
        fail "watch saw '$types' for the object, expected ADDED MODIFIED DELETED ($(cat "$work/watch-$client.err"))"
}

scenario_delete_propagation() {
    local o
    make_cm owner-bg && make_dependent dep-bg owner-bg
    d_delete v1 ConfigMap default owner-bg Background || fail "background delete failed"
    absent v1 ConfigMap default owner-bg
    absent v1 ConfigMap default dep-bg

    make_cm owner-fg && make_dependent dep-fg owner-fg
    d_delete v1 ConfigMap default owner-fg Foreground || fail "foreground delete failed"
    absent v1 ConfigMap default owner-fg
    absent v1 ConfigMap default dep-fg

    make_cm owner-or && make_dependent dep-or owner-or
    d_delete v1 ConfigMap default owner-or Orphan || fail "orphan delete failed"
    absent v1 ConfigMap default owner-or
    sleep 0.5
    o=$(d_get v1 ConfigMap default dep-or) || fail "the orphaned dependent was deleted"
    expect "$o" 'o["metadata"].get("ownerReferences", [])' '[]'
}

scenarios=(apply reapply_unchanged apply_removed_field dry_run get_list conflicting_managers watch
    crd_then_cr delete delete_propagation namespace_deletion)

for client in "${clients[@]}"; do
    case $client in
    edgecd) [ -x "$kubeclient" ] || fail "no kubeclient at $kubeclient" ;;
    kubectl) kubectl_bin=$EDGECD_KUBECTL ;;
    kubectl-1.20) kubectl_bin=$kubectl_old ;;
    *) fail "unknown client $client" ;;
    esac
    if [ "$client" != edgecd ]; then
        [ -x "$kubectl_bin" ] || fail "no $client at $kubectl_bin"
        "$kubectl_bin" version --client 2>/dev/null | sed -n 1p
    fi
    start_kubesim
    for s in "${scenarios[@]}"; do
        "scenario_$s"
        echo "ok [$client] $s"
    done
done
