#!/bin/bash
# kubesim's watch, list and delete semantics against real kubectl 1.35 and
# raw HTTPS (rawhttp.py shows the chunked wire format a library would
# hide). Watches that start from a known resourceVersion replay the
# history, so most checks start the watch after the writes and need no
# timing luck; kubectl's own `get -w` is polled for with a deadline.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "$EDGECD_TEST_TMP/kubesim-watch.XXXXXX")
sim=
bg=()
cleanup() {
    for p in "${bg[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    if [ -n "$sim" ]; then
        kill "$sim" 2>/dev/null || true
        wait "$sim" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- kubesim log" >&2
    cat "$work/kubesim.log" >&2 || true
    exit 1
}

# A small history so that 410 Expired is reachable with a few writes.
HISTORY=40
"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" --watch-history $HISTORY >"$work/kubesim.log" 2>&1 &
sim=$!
for i in $(seq 200); do
    [ -f "$work/sim/kubeconfig" ] && break
    kill -0 "$sim" 2>/dev/null || fail "kubesim exited"
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim wrote no kubeconfig"

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
raw() { python3 "$here/rawhttp.py" "$work/sim" "$@"; }

# py FILE EXPR: EXPR (python, over `o` = FILE parsed as JSON) must hold.
json_check() {
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
        fail "$1: expected $2, got: $(cat "$1")"
}
# events FILE: the watch events in FILE (kubectl's pretty JSON stream or
# rawhttp's CHUNK lines) as one line each: TYPE NAME RV.
events() {
    python3 - "$1" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
objs = []
if text.startswith("STATUS"):
    for line in text.splitlines():
        if line.startswith("CHUNK "):
            objs.append(json.loads(json.loads(line[6:])))
else:
    dec, i = json.JSONDecoder(), 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            break
        o, i = dec.raw_decode(text, i)
        objs.append(o)
for o in objs:
    m = o["object"].get("metadata", {})
    print(o["type"], m.get("name", "-"), m.get("resourceVersion", "-"))
PY
}
# expect_fail TEXT CMD...: CMD must fail and say TEXT on stderr.
expect_fail() {
    local text=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        fail "$* succeeded; expected failure with: $text"
    fi
    grep -qF -- "$text" "$work/err" || fail "$*: expected '$text', got: $(cat "$work/err")"
}
# wait_for FILE TEXT: poll until FILE contains TEXT (60 s at most).
wait_for() {
    for i in $(seq 600); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "timed out waiting for '$2' in $1: $(cat "$1")"
}
list_rv() { kc get --raw "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'; }
# cm NAME [LABEL]: a ConfigMap manifest in namespace w.
cm() {
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: w\n' "$1"
    [ -z "${2:-}" ] || printf '  labels:\n    app: "%s"\n' "$2"
    printf 'data:\n  k: v\n'
}

printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: w\n' | kc apply --server-side -f - >/dev/null
cm first | kc apply --server-side -f - >/dev/null

echo "== kubectl get -w sees ADDED, MODIFIED, DELETED"
timeout 60 "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" \
    get cm -n w -w --output-watch-events -o json >"$work/kw.out" 2>"$work/kw.err" &
bg+=($!)
wait_for "$work/kw.out" '"first"'
cm b | kc apply --server-side -f - >/dev/null
kc patch cm b -n w --type=merge -p '{"data":{"k":"v2"}}' >/dev/null
kc delete cm b -n w >/dev/null
for i in $(seq 600); do
    events "$work/kw.out" | grep -q '^DELETED b ' && break
    sleep 0.1
done
events "$work/kw.out" | grep ' b ' >"$work/kw.ev" || true
[ "$(cut -d' ' -f1 "$work/kw.ev" | tr '\n' ' ')" = "ADDED MODIFIED DELETED " ] ||
    fail "kubectl get -w events for b: $(cat "$work/kw.ev"); stderr: $(cat "$work/kw.err")"
sort -n -k3 -c "$work/kw.ev" 2>/dev/null || fail "resourceVersions not increasing: $(cat "$work/kw.ev")"

echo "== raw watch from a resourceVersion: chunked, one event per chunk and line"
rv0=$(list_rv /api/v1/namespaces/w/configmaps)
cm c y | kc apply --server-side -f - >/dev/null
kc label cm c -n w app=x --overwrite >/dev/null
kc label cm c -n w app=z --overwrite >/dev/null
kc delete cm c -n w >/dev/null
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=$rv0&timeoutSeconds=2" >"$work/raw1" ||
    fail "rawhttp: $(cat "$work/raw1")"
grep -qx 'STATUS 200' "$work/raw1" || fail "watch status: $(cat "$work/raw1")"
grep -qx 'HEADER transfer-encoding: chunked' "$work/raw1" || fail "not chunked: $(cat "$work/raw1")"
grep -qx 'HEADER content-type: application/json' "$work/raw1" || fail "content type: $(cat "$work/raw1")"
grep -qx 'END terminated' "$work/raw1" || fail "timeoutSeconds did not end the watch properly: $(cat "$work/raw1")"
python3 - "$work/raw1" <<'PY' || fail "chunk framing: $(cat "$work/raw1")"
import json, sys
chunks = [json.loads(l[6:]) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
assert len(chunks) == 4, chunks
for c in chunks:
    assert c.endswith("\n") and c.count("\n") == 1, c
    e = json.loads(c)
    assert set(e) == {"type", "object"}, e
    assert e["object"]["kind"] == "ConfigMap" and e["object"]["apiVersion"] == "v1", e
PY
[ "$(events "$work/raw1" | cut -d' ' -f1-2 | tr '\n' ' ')" = "ADDED c MODIFIED c MODIFIED c DELETED c " ] ||
    fail "raw watch events: $(events "$work/raw1")"

echo "== label selector: an object entering and leaving the selection is ADDED and DELETED"
raw "/api/v1/namespaces/w/configmaps?watch=1&resourceVersion=$rv0&timeoutSeconds=1&labelSelector=app%3Dx" >"$work/raw2"
[ "$(events "$work/raw2" | cut -d' ' -f1-2 | tr '\n' ' ')" = "ADDED c DELETED c " ] ||
    fail "label-selected watch: $(events "$work/raw2")"
python3 - "$work/raw2" <<'PY' || fail "DELETED on leaving the selection carries the old state: $(cat "$work/raw2")"
import json, sys
ev = [json.loads(json.loads(l[6:])) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
assert ev[1]["object"]["metadata"]["labels"] == {"app": "x"}, ev[1]
assert int(ev[1]["object"]["metadata"]["resourceVersion"]) > int(ev[0]["object"]["metadata"]["resourceVersion"])
PY

echo "== field selector, all namespaces, cluster-scoped kinds"
cm d | kc apply --server-side -f - >/dev/null
raw "/api/v1/configmaps?watch=true&resourceVersion=$rv0&timeoutSeconds=1&fieldSelector=metadata.name%3Dd" >"$work/raw3"
[ "$(events "$work/raw3" | cut -d' ' -f1-2 | tr '\n' ' ')" = "ADDED d " ] || fail "field-selected watch: $(events "$work/raw3")"
raw "/api/v1/configmaps?watch=true&resourceVersion=$rv0&timeoutSeconds=1&fieldSelector=metadata.namespace%3Ddefault" >"$work/raw3b"
[ -z "$(events "$work/raw3b")" ] || fail "namespace field selector: $(events "$work/raw3b")"
rv1=$(list_rv /api/v1/namespaces)
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: w2\n' | kc apply --server-side -f - >/dev/null
raw "/api/v1/namespaces?watch=true&resourceVersion=$rv1&timeoutSeconds=1" >"$work/raw4"
[ "$(events "$work/raw4" | cut -d' ' -f1-2 | tr '\n' ' ')" = "ADDED w2 " ] || fail "namespace watch: $(events "$work/raw4")"
raw "/api/v1/namespaces/w/configmaps?watch=true&timeoutSeconds=1" >"$work/raw5"
[ "$(events "$work/raw5" | cut -d' ' -f1-2 | sort | tr '\n' ' ')" = "ADDED d ADDED first " ] ||
    fail "watch without resourceVersion starts with the current objects: $(events "$work/raw5")"
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1" >"$work/raw5b"
[ "$(events "$work/raw5b" | cut -d' ' -f1-2 | sort | tr '\n' ' ')" = "ADDED d ADDED first " ] ||
    fail "watch from resourceVersion 0: $(events "$work/raw5b")"
raw "/api/v1/configmaps?watch=true&timeoutSeconds=1&fieldSelector=spec.nope%3Dx" >"$work/raw6"
grep -qx 'STATUS 400' "$work/raw6" && grep -q 'field label not supported: spec.nope' "$work/raw6" ||
    fail "unknown field in a watch: $(cat "$work/raw6")"

echo "== a resourceVersion the store has not reached: 504 after waiting, as the watch cache"
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=99999999&timeoutSeconds=30" >"$work/ahead"
python3 - "$work/ahead" <<'PY' || fail "watch from the future: $(cat "$work/ahead")"
import json, sys
ev = [json.loads(json.loads(l[6:])) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
assert len(ev) == 1 and ev[0]["type"] == "ERROR", ev
st = ev[0]["object"]
assert st["code"] == 504 and st["reason"] == "Timeout" and st["message"].startswith("Too large resource version: 99999999, current: "), st
assert st["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge", st
PY

echo "== list pagination: kubectl --chunk-size, limit and continue, remainingItemCount"
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: p\n' | kc apply --server-side -f - >/dev/null
for n in p1 p2 p3 p4 p5; do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: p\n---\n' $n
done | kc apply --server-side -f - >/dev/null
kc get cm -n p --chunk-size=2 -o name -v=6 >"$work/chunk.out" 2>"$work/chunk.err"
[ "$(tr '\n' ' ' <"$work/chunk.out")" = "configmap/p1 configmap/p2 configmap/p3 configmap/p4 configmap/p5 " ] ||
    fail "kubectl --chunk-size=2: $(cat "$work/chunk.out")"
[ "$(grep -c 'configmaps?continue=' "$work/chunk.err")" = 2 ] ||
    fail "kubectl --chunk-size=2 did not page: $(grep GET "$work/chunk.err")"
tok() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["continue"])' "$1"; }
kc get --raw '/api/v1/namespaces/p/configmaps?limit=2' >"$work/page1.json"
json_check "$work/page1.json" '[i["metadata"]["name"] for i in o["items"]] == ["p1", "p2"] and o["metadata"]["remainingItemCount"] == 3'
tok1=$(tok "$work/page1.json")
kc get --raw "/api/v1/namespaces/p/configmaps?limit=2&continue=$tok1" >"$work/page2.json"
json_check "$work/page2.json" '[i["metadata"]["name"] for i in o["items"]] == ["p3", "p4"] and o["metadata"]["remainingItemCount"] == 1'
json_check "$work/page2.json" "o['metadata']['resourceVersion'] == '$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$work/page1.json")'"
kc get --raw "/api/v1/namespaces/p/configmaps?limit=2&continue=$(tok "$work/page2.json")" >"$work/page3.json"
json_check "$work/page3.json" '[i["metadata"]["name"] for i in o["items"]] == ["p5"] and "continue" not in o["metadata"]'
kc get --raw '/api/v1/configmaps?limit=1&labelSelector=nope!%3Dx' >"$work/page4.json"
json_check "$work/page4.json" 'len(o["items"]) == 1 and o["metadata"]["continue"] and "remainingItemCount" not in o["metadata"]'
expect_fail 'invalid continue token' kc get --raw '/api/v1/namespaces/p/configmaps?limit=2&continue=bm90LWpzb24'
expect_fail 'specifying resource version is not allowed when using continue' \
    kc get --raw "/api/v1/namespaces/p/configmaps?limit=2&continue=$tok1&resourceVersion=5"

echo "== field selectors on list"
# A ten-minute ready delay keeps kubesim's workload simulator from moving
# these pods along while the test sets their phases.
for p in run1 pend1; do
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: p\n  annotations:\n    kubesim.edgecd.io/ready-delay-ms: "600000"\nspec:\n  containers:\n  - name: c\n    image: busybox\n---\n' $p
done | kc apply --server-side -f - >/dev/null
kc patch pod run1 -n p --subresource=status --type=merge -p '{"status":{"phase":"Running"}}' >/dev/null
kc patch pod pend1 -n p --subresource=status --type=merge -p '{"status":{"phase":"Pending"}}' >/dev/null
[ "$(kc get pods -n p --field-selector status.phase=Running -o name)" = pod/run1 ] ||
    fail "status.phase=Running: $(kc get pods -n p --field-selector status.phase=Running -o name)"
[ "$(kc get pods -A --field-selector 'status.phase!=Running' -o name)" = pod/pend1 ] ||
    fail "status.phase!=Running: $(kc get pods -A --field-selector 'status.phase!=Running' -o name)"
[ "$(kc get cm -n p --field-selector metadata.name=p2 -o name)" = configmap/p2 ] ||
    fail "metadata.name=p2: $(kc get cm -n p --field-selector metadata.name=p2 -o name)"
[ "$(kc get cm -A --field-selector metadata.namespace=p,metadata.name!=p1 -o name | wc -l)" = 4 ] ||
    fail "metadata.namespace=p,metadata.name!=p1: $(kc get cm -A --field-selector metadata.namespace=p,metadata.name!=p1 -o name)"
expect_fail 'field label not supported: status.phase' kc get cm -n p --field-selector status.phase=Running
expect_fail 'field label not supported: spec.x' kc get pods -n p --field-selector spec.x=y

echo "== JSON patch (RFC 6902) and JSON merge patch"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: jp\n  namespace: p\ndata:\n  x: "1"\n  q: "2"\n' |
    kc apply --server-side -f - >/dev/null
kc patch cm jp -n p --type=json -p '[{"op":"test","path":"/data/x","value":"1"},
  {"op":"add","path":"/data/z","value":"3"},{"op":"replace","path":"/data/x","value":"9"},
  {"op":"remove","path":"/data/q"},{"op":"copy","from":"/data/z","path":"/data/c"},
  {"op":"move","from":"/data/c","path":"/data/m"},
  {"op":"add","path":"/metadata/labels","value":{"a~b/c":"1"}},
  {"op":"add","path":"/metadata/labels/a~0b~1d","value":"2"}]' >/dev/null
kc get cm jp -n p -o json >"$work/jp.json"
json_check "$work/jp.json" 'o["data"] == {"x": "9", "z": "3", "m": "3"} and o["metadata"]["labels"] == {"a~b/c": "1", "a~b/d": "2"}'
rvjp=$(kc get cm jp -n p -o jsonpath='{.metadata.resourceVersion}')
expect_fail 'testing value /data/x failed' kc patch cm jp -n p --type=json -p '[{"op":"remove","path":"/data/z"},{"op":"test","path":"/data/x","value":"1"}]'
kc patch cm jp -n p --type=json -p '[{"op":"test","path":"/data/x","value":"1"}]' -v=6 >"$work/out" 2>&1 || true
grep -q 'status="422 Unprocessable Entity"' "$work/out" || fail "a failed test operation is not 422: $(cat "$work/out")"
expect_fail 'Unable to remove nonexistent key: /data/nope' kc patch cm jp -n p --type=json -p '[{"op":"remove","path":"/data/nope"}]'
expect_fail 'add operation does not apply' kc patch cm jp -n p --type=json -p '[{"op":"add","path":"/spec/a/b","value":1}]'
expect_fail 'cannot unmarshal object into Go value of type jsonpatch.Patch' kc patch cm jp -n p --type=json -p '{"op":"remove","path":"/data"}'
[ "$(kc get cm jp -n p -o jsonpath='{.metadata.resourceVersion}')" = "$rvjp" ] || fail "a failed JSON patch changed the object"
kc patch cm jp -n p --type=merge -p '{"data":{"z":null,"n":"1"},"metadata":{"labels":{"a~b/c":null}}}' >/dev/null
kc get cm jp -n p -o json >"$work/jp2.json"
json_check "$work/jp2.json" 'o["data"] == {"x": "9", "m": "3", "n": "1"} and o["metadata"]["labels"] == {"a~b/d": "2"}'

echo "== a watch on one object's URL, and on a custom resource"
rv3=$(list_rv /api/v1/namespaces/p/configmaps)
kc annotate cm p1 -n p touched=1 >/dev/null
kc annotate cm p2 -n p touched=1 >/dev/null
raw "/api/v1/namespaces/p/configmaps/p2?watch=true&resourceVersion=$rv3&timeoutSeconds=1" >"$work/one"
[ "$(events "$work/one" | cut -d' ' -f1-2 | tr '\n' ' ')" = "MODIFIED p2 " ] || fail "watch on one object: $(events "$work/one")"
cat >"$work/crd.yaml" <<'YAML'
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
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
YAML
kc apply --server-side -f "$work/crd.yaml" >/dev/null
rv4=$(list_rv /apis/example.com/v1/gadgets)
printf 'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: p\nspec:\n  size: 1\n' |
    kc apply --server-side -f - >/dev/null
raw "/apis/example.com/v1/gadgets?watch=true&resourceVersion=$rv4&timeoutSeconds=4" >"$work/crw" &
crwpid=$!
bg+=($crwpid)
wait_for "$work/crw" 'CHUNK '
kc delete crd gadgets.example.com >/dev/null
wait "$crwpid" || fail "rawhttp failed: $(cat "$work/crw")"
[ "$(events "$work/crw" | cut -d' ' -f1-2 | tr '\n' ' ')" = "ADDED g1 DELETED g1 " ] ||
    fail "custom resource watch (the CRD's deletion deletes its objects): $(cat "$work/crw")"
grep -q '"apiVersion\\":\\"example.com/v1\\"' "$work/crw" || fail "custom resource events' apiVersion: $(cat "$work/crw")"

echo "== bookmarks"
rv2=$(list_rv /api/v1/namespaces/w/configmaps)
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=$rv2&timeoutSeconds=3&allowWatchBookmarks=true" >"$work/raw7"
python3 - "$work/raw7" "$rv2" <<'PY' || fail "bookmarks: $(cat "$work/raw7")"
import json, sys
ev = [json.loads(json.loads(l[6:])) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
assert ev and all(e["type"] == "BOOKMARK" for e in ev), ev
for e in ev:
    assert e["object"] == {"kind": "ConfigMap", "apiVersion": "v1",
                           "metadata": {"resourceVersion": sys.argv[2]}}, e
PY
raw "/api/v1/namespaces/w/configmaps?watch=true&timeoutSeconds=2&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan" >"$work/raw8"
python3 - "$work/raw8" <<'PY' || fail "sendInitialEvents: $(cat "$work/raw8")"
import json, sys
ev = [json.loads(json.loads(l[6:])) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
assert [e["type"] for e in ev[:3]] == ["ADDED", "ADDED", "BOOKMARK"], ev
assert ev[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}, ev[2]
PY

echo "== concurrent watchers all see every write, in order"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stress\n  namespace: w\ndata:\n  n: "0"\n' |
    kc apply --server-side -f - >/dev/null
timeout 300 python3 "$here/stress.py" "$work/sim" w stress 20 30 >"$work/stress.out" 2>&1 ||
    fail "concurrent watchers: $(cat "$work/stress.out")"

echo "== a resourceVersion older than the history is 410 Expired"
for i in $(seq $HISTORY); do
    kc annotate cm d -n w n="$i" --overwrite >/dev/null
done
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=$rv0&timeoutSeconds=5" >"$work/raw9"
python3 - "$work/raw9" "$rv0" <<'PY' || fail "expired watch: $(cat "$work/raw9")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert "STATUS 200" in lines and lines[-1] == "END terminated", lines
ev = [json.loads(json.loads(l[6:])) for l in lines if l.startswith("CHUNK ")]
assert len(ev) == 1 and ev[0]["type"] == "ERROR", ev
st = ev[0]["object"]
assert st["kind"] == "Status" and st["code"] == 410 and st["reason"] == "Expired", st
assert st["message"].startswith("too old resource version: %s (" % sys.argv[2]), st
PY

echo "== a continue token older than the history is 410 Expired, with a token to go on"
raw "/api/v1/namespaces/p/configmaps?limit=2&continue=$tok1" >"$work/page5"
python3 - "$work/page5" <<'PY' || fail "expired continue: $(cat "$work/page5")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert "STATUS 410" in lines, lines
st = json.loads(json.loads([l for l in lines if l.startswith("BODY ")][0][5:]))
assert st["reason"] == "Expired" and st["code"] == 410, st
assert st["message"].startswith("The provided continue parameter is too old to display a consistent list result."), st
open(sys.argv[1] + ".tok", "w").write(st["metadata"]["continue"])
PY
kc get --raw "/api/v1/namespaces/p/configmaps?limit=2&continue=$(cat "$work/page5.tok")" >"$work/page6.json"
json_check "$work/page6.json" '[i["metadata"]["name"] for i in o["items"]] == ["p3", "p4"]'
expect_fail 'The resourceVersion for the provided list is too old' \
    kc get --raw "/api/v1/namespaces/w/configmaps?resourceVersion=$rv0&resourceVersionMatch=Exact"
expect_fail 'Too large resource version' kc get --raw "/api/v1/namespaces/w/configmaps?resourceVersion=99999999"

# owned NAME OWNER [FINALIZER]: a ConfigMap in w owned by ConfigMap OWNER.
owned() {
    local uid
    uid=$(kc get cm "$2" -n w -o jsonpath='{.metadata.uid}')
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: w\n' "$1"
    [ -z "${3:-}" ] || printf '  finalizers: ["%s"]\n' "$3"
    printf '  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: %s\n    uid: %s\n    blockOwnerDeletion: true\n' "$2" "$uid"
}
gone() {
    for i in $(seq 300); do
        kc get "$@" >/dev/null 2>&1 || return 0
        sleep 0.1
    done
    fail "$* still exists"
}
meta_check() { kc get cm "$1" -n "${3:-w}" -o json >"$work/m.json" && json_check "$work/m.json" "$2"; }

echo "== finalizers keep a deleted object until an update removes the last one"
rvd=$(list_rv /api/v1/namespaces/w/configmaps)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: w\n  finalizers: ["example.com/a", "example.com/b"]\n' |
    kc apply --server-side -f - >/dev/null
kc delete cm held -n w --wait=false >/dev/null
meta_check held 'o["metadata"]["deletionTimestamp"] and o["metadata"]["deletionGracePeriodSeconds"] == 0 and o["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]'
expect_fail 'no new finalizers can be added if the object is being deleted' \
    kc patch cm held -n w --type=json -p '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/c"}]'
kc patch cm held -n w --type=json -p '[{"op":"remove","path":"/metadata/finalizers/0"}]' >/dev/null
meta_check held 'o["metadata"]["finalizers"] == ["example.com/b"] and o["metadata"]["deletionTimestamp"]'
kc patch cm held -n w --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
expect_fail 'configmaps "held" not found' kc get cm held -n w
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=$rvd&timeoutSeconds=1&fieldSelector=metadata.name%3Dheld" >"$work/fin"
[ "$(events "$work/fin" | cut -d' ' -f1 | tr '\n' ' ')" = "ADDED MODIFIED MODIFIED DELETED " ] ||
    fail "finalizer events: $(events "$work/fin")"
python3 - "$work/fin" <<'PY' || fail "the DELETED event's object: $(tail -2 "$work/fin")"
import json, sys
ev = [json.loads(json.loads(l[6:])) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
m = ev[-1]["object"]["metadata"]
assert "finalizers" not in m and m["deletionTimestamp"], m
PY
expect_fail 'Unsupported value: "Sideways"' kc delete --raw "/api/v1/namespaces/w/configmaps/first?propagationPolicy=Sideways"

echo "== DELETE answers: a Status when the object went, the object when it stays or is a pod"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone1\n  namespace: w\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held2\n  namespace: w\n  finalizers: ["example.com/x"]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod1\n  namespace: w\nspec:\n  containers:\n  - name: c\n    image: busybox\n' |
    kc apply --server-side -f - >/dev/null
uid1=$(kc get cm gone1 -n w -o jsonpath='{.metadata.uid}')
kc delete --raw /api/v1/namespaces/w/configmaps/gone1 >"$work/d1.json"
json_check "$work/d1.json" "o['kind'] == 'Status' and o['status'] == 'Success' and o['details'] == {'name': 'gone1', 'kind': 'configmaps', 'uid': '$uid1'}"
kc delete --raw /api/v1/namespaces/w/configmaps/held2 >"$work/d2.json"
json_check "$work/d2.json" 'o["kind"] == "ConfigMap" and o["metadata"]["deletionTimestamp"] and o["metadata"]["finalizers"] == ["example.com/x"]'
kc patch cm held2 -n w --type=merge -p '{"metadata":{"finalizers":[]}}' >/dev/null
expect_fail 'configmaps "held2" not found' kc get cm held2 -n w
kc delete --raw /api/v1/namespaces/w/pods/pod1 >"$work/d3.json"
json_check "$work/d3.json" 'o["kind"] == "Pod" and o["metadata"]["name"] == "pod1"'

echo "== propagation: background deletes dependents once their owners are gone"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bg-o\n  namespace: w\n' | kc apply --server-side -f - >/dev/null
{ owned bg-d1 bg-o; echo ---; owned bg-d2 bg-o; } | kc apply --server-side -f - >/dev/null
owned bg-d3 bg-d1 | kc apply --server-side -f - >/dev/null
kc delete cm bg-o -n w --cascade=background >/dev/null
gone cm bg-d1 -n w
gone cm bg-d2 -n w
gone cm bg-d3 -n w

echo "== propagation: foreground deletes dependents first; blocking ones hold the owner"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fg-o\n  namespace: w\n' | kc apply --server-side -f - >/dev/null
owned fg-d fg-o example.com/hold | kc apply --server-side -f - >/dev/null
rvf=$(list_rv /api/v1/namespaces/w/configmaps)
kc delete cm fg-o -n w --cascade=foreground --wait=false >/dev/null
meta_check fg-o 'o["metadata"]["deletionTimestamp"] and o["metadata"]["finalizers"] == ["foregroundDeletion"]'
meta_check fg-d 'o["metadata"]["deletionTimestamp"] and "example.com/hold" in o["metadata"]["finalizers"]'
kc patch cm fg-d -n w --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
gone cm fg-o -n w
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=$rvf&timeoutSeconds=1" >"$work/fg"
events "$work/fg" | grep '^DELETED' | cut -d' ' -f2 | tr '\n' ' ' >"$work/fg.del"
[ "$(cat "$work/fg.del")" = "fg-d fg-o " ] || fail "foreground order: $(events "$work/fg")"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fg2-o\n  namespace: w\n' | kc apply --server-side -f - >/dev/null
owned fg2-d fg2-o | kc apply --server-side -f - >/dev/null
timeout 60 "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" \
    delete cm fg2-o -n w --cascade=foreground >/dev/null || fail "kubectl delete --cascade=foreground did not finish"
expect_fail 'configmaps "fg2-d" not found' kc get cm fg2-d -n w

echo "== propagation: orphan keeps dependents and drops the owner from them"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: or-o\n  namespace: w\n' | kc apply --server-side -f - >/dev/null
owned or-d or-o | kc apply --server-side -f - >/dev/null
rvo=$(list_rv /api/v1/namespaces/w/configmaps)
kc delete cm or-o -n w --cascade=orphan >/dev/null
expect_fail 'configmaps "or-o" not found' kc get cm or-o -n w
meta_check or-d '"ownerReferences" not in o["metadata"] and "deletionTimestamp" not in o["metadata"]'
raw "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=$rvo&timeoutSeconds=1&fieldSelector=metadata.name%3Dor-o" >"$work/or"
python3 - "$work/or" <<'PY' || fail "orphan events: $(cat "$work/or")"
import json, sys
ev = [json.loads(json.loads(l[6:])) for l in open(sys.argv[1]) if l.startswith("CHUNK ")]
assert [e["type"] for e in ev] == ["MODIFIED", "DELETED"], ev
assert ev[0]["object"]["metadata"]["finalizers"] == ["orphan"], ev[0]
PY

echo "== namespace deletion: Terminating, contents deleted first, then the namespace"
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: t\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: t\n  finalizers: ["example.com/hold"]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loose\n  namespace: t\n' |
    kc apply --server-side -f - >/dev/null
kc delete ns t --wait=false >/dev/null
kc get ns t -o json >"$work/t.json"
json_check "$work/t.json" 'o["status"]["phase"] == "Terminating" and o["metadata"]["deletionTimestamp"] and o["spec"]["finalizers"] == ["kubernetes"]'
json_check "$work/t.json" '{c["type"]: (c["status"], c["message"]) for c in o["status"]["conditions"]}["NamespaceContentRemaining"] == ("True", "Some resources are remaining: configmaps. has 1 resource instances")'
json_check "$work/t.json" '{c["type"]: (c["status"], c["message"]) for c in o["status"]["conditions"]}["NamespaceFinalizersRemaining"] == ("True", "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")'
kc label ns t touched=yes >/dev/null
kc get ns t -o json >"$work/t2.json"
json_check "$work/t2.json" 'o["status"]["phase"] == "Terminating" and len(o["status"]["conditions"]) == 5 and o["metadata"]["labels"]["touched"] == "yes"'
expect_fail 'configmaps "loose" not found' kc get cm loose -n t
meta_check keep 'o["metadata"]["deletionTimestamp"]' t
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: t\n' >"$work/late.yaml"
expect_fail 'configmaps "late" is forbidden: unable to create new content in namespace t because it is being terminated' \
    kc apply --server-side -f "$work/late.yaml"
expect_fail 'unable to create new content in namespace t because it is being terminated' kc create -f "$work/late.yaml"
kc patch cm keep -n t --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
gone ns t

echo "== cut: every open watch ends without its terminating chunk"
raw "/api/v1/namespaces/w/configmaps?watch=true&timeoutSeconds=60" >"$work/raw10" &
cutpid=$!
bg+=($cutpid)
raw "/api/v1/namespaces?watch=true&timeoutSeconds=60" >"$work/raw11" &
cutpid2=$!
bg+=($cutpid2)
wait_for "$work/raw10" 'CHUNK '
wait_for "$work/raw11" 'CHUNK '
kill -USR1 "$sim"
wait "$cutpid" || true
wait "$cutpid2" || true
grep -qx 'END abrupt' "$work/raw10" || fail "cut watch: $(tail -3 "$work/raw10")"
grep -qx 'END abrupt' "$work/raw11" || fail "cut watch: $(tail -3 "$work/raw11")"
kill -0 "$sim" || fail "kubesim died on SIGUSR1"
kc get cm first -n w >/dev/null || fail "kubesim stopped answering after the cut"

echo "== clean exit on SIGTERM"
kill -TERM "$sim"
rc=0
wait "$sim" || rc=$?
sim=
[ "$rc" = 0 ] || fail "kubesim exited with $rc after SIGTERM"
if grep -qE 'Sanitizer|runtime error' "$work/kubesim.log"; then
    fail "sanitizer report in the kubesim log"
fi
echo "OK"
