#!/bin/bash
# Compare doc_parse_yaml with real kubectl on every file in cases/ (both
# must produce the same JSON) and fail/ (both must refuse it). kubectl's
# `create --dry-run=client` needs an API server for discovery only; kubesim
# plays it. EDGECD_YAML_KUBECONFIG names another server's kubeconfig
# instead (for debugging without kubesim).
set -u
here=$(cd "$(dirname "$0")" && pwd)
doc_to_json=${EDGECD_BINARY_DIR}/tests/integration/yaml-kubectl/doc_to_json
kubectl=${EDGECD_KUBECTL}
tmp=${EDGECD_TEST_TMP:-/tmp}/yaml-kubectl.$$
mkdir -p "$tmp"
sim_pid=
cleanup() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null
        wait "$sim_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${EDGECD_YAML_KUBECONFIG:-}" ]; then
    kubeconfig=$EDGECD_YAML_KUBECONFIG
else
    if [ ! -x "${EDGECD_KUBESIM:-}" ]; then
        echo "FAIL: kubesim not built at ${EDGECD_KUBESIM:-<unset>}" >&2
        exit 1
    fi
    "$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$tmp/sim" >"$tmp/kubesim.log" 2>&1 &
    sim_pid=$!
    kubeconfig=$tmp/sim/kubeconfig
    for _ in $(seq 1 100); do
        [ -s "$kubeconfig" ] && break
        if ! kill -0 "$sim_pid" 2>/dev/null; then
            echo "FAIL: kubesim exited"; cat "$tmp/kubesim.log"; exit 1
        fi
        sleep 0.1
    done
    [ -s "$kubeconfig" ] || { echo "FAIL: kubesim wrote no kubeconfig"; exit 1; }
fi

failed=0
kube() {
    "$kubectl" create --dry-run=client -o json --validate=false -f "$1" --kubeconfig "$kubeconfig"
}

for f in "$here"/cases/*.yaml; do
    name=$(basename "$f")
    if ! kube "$f" >"$tmp/kubectl.json" 2>"$tmp/kubectl.err"; then
        echo "FAIL $name: kubectl refused it: $(cat "$tmp/kubectl.err")"; failed=1; continue
    fi
    if ! "$doc_to_json" "$f" >"$tmp/doc.json" 2>"$tmp/doc.err"; then
        echo "FAIL $name: doc_parse_yaml refused it: $(cat "$tmp/doc.err")"; failed=1; continue
    fi
    # kubectl prints one JSON object per document; doc_to_json one
    # array. The comparison ignores key order and treats 1000 and 1000.0
    # alike, as Kubernetes does.
    if python3 - "$tmp/kubectl.json" "$tmp/doc.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
k, pos, dec = [], 0, json.JSONDecoder()
while text[pos:].strip():
    while text[pos].isspace():
        pos += 1
    obj, pos = dec.raw_decode(text, pos)
    k.append(obj)
d = json.load(open(sys.argv[2]))
# Strict types (Python has True == 1) but numbers by value as float64, the
# way Kubernetes holds them (kubectl prints 2**63 as 9223372036854776000).
def norm(v):
    if isinstance(v, bool) or v is None:
        return ("lit", v)
    if isinstance(v, (int, float)):
        return ("num", float(v))
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, list):
        return ("list", [norm(x) for x in v])
    return ("map", {key: norm(x) for key, x in v.items()})
if norm(k) == norm(d):
    sys.exit(0)
def diff(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                print("  %s.%s: kubectl %r, doc %r" % (path, key, a.get(key, "<missing>"), b.get(key, "<missing>")))
            else:
                diff(a[key], b[key], path + "." + key)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i))
    elif norm(a) != norm(b):
        print("  %s: kubectl %r, doc %r" % (path, a, b))
diff(k, d, "")
sys.exit(1)
PY
    then
        echo "ok   $name"
    else
        echo "FAIL $name: JSON differs"; failed=1
    fi
done

for f in "$here"/fail/*.yaml; do
    name=fail/$(basename "$f")
    kube "$f" >/dev/null 2>"$tmp/kubectl.err"; krc=$?
    "$doc_to_json" "$f" >/dev/null 2>"$tmp/doc.err"; drc=$?
    if [ $krc -ne 0 ] && [ $drc -ne 0 ]; then
        echo "ok   $name: both refuse ($(head -c 120 "$tmp/doc.err"))"
    else
        echo "FAIL $name: kubectl rc=$krc, doc_to_json rc=$drc"
        cat "$tmp/kubectl.err" "$tmp/doc.err"; failed=1
    fi
done
exit $failed
