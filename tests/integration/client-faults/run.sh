#!/bin/bash
# edgecd's Kubernetes client (through kubeclient) against a kubesim that
# answers a share of requests with 429 (Retry-After), 500 or a dropped
# connection: every apply, list and get still succeeds, the faults really
# happened (kubesim's counters), a missing object is still NotFound, and a
# server that always fails gives a bounded, clear error.
# usage: run.sh KUBECLIENT
set -euo pipefail
: "${EDGECD_KUBESIM:?}" "${EDGECD_TEST_TMP:?}"
kubeclient=$1
work=$(mktemp -d "$EDGECD_TEST_TMP/client-faults.XXXXXX")
token=client-faults-token
sim=
cleanup() {
    if [ -n "$sim" ]; then
        kill "$sim" 2>/dev/null || true
        wait "$sim" 2>/dev/null || true
    fi
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    tail -n 20 "$work/kubesim.log" >&2 || true
    exit 1
}

"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" --token "$token" --no-workloads \
    >"$work/kubesim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do
    [ -f "$work/sim/kubeconfig" ] && break
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim did not start"
url=$(grep -m 1 -o 'https://127.0.0.1:[0-9]*' "$work/kubesim.log")
admin() { curl -sS --fail --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $token" "$@"; }
kcl() { "$kubeclient" "$work/sim/kubeconfig" "$@"; }

n=60
for i in $(seq 1 $n); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: default\n  labels: {suite: faults}\ndata: {i: "%d"}\n---\n' "$i" "$i"
done >"$work/objs.yaml"

# A share small enough that five attempts practically always get through
# (0.15^5 per request), large enough that 60 requests meet several faults.
admin -X POST "$url/kubesim/admin/faults" \
    -d '{"rate429": 0.05, "rate500": 0.05, "dropRate": 0.05, "retryAfterSeconds": 1}' >/dev/null

kcl apply "$work/objs.yaml" >"$work/applied" 2>"$work/apply.err" ||
    fail "apply under faults failed: $(cat "$work/apply.err")"
[ "$(grep -c . "$work/applied")" = $n ] || fail "apply answered $(grep -c . "$work/applied") objects"
kcl list v1 ConfigMap default suite=faults >"$work/list" || fail "list under faults failed"
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); sys.exit(0 if len(l)==int(sys.argv[2]) else 1)' \
    "$work/list" $n || fail "list did not return $n objects"
for i in 1 30 60; do
    kcl get v1 ConfigMap default "cm-$i" >/dev/null || fail "get cm-$i under faults failed"
done
rc=0
kcl get v1 ConfigMap default missing >/dev/null 2>"$work/missing.err" || rc=$?
[ $rc = 3 ] || fail "a missing object under faults gave exit $rc: $(cat "$work/missing.err")"

admin "$url/kubesim/admin/faults" >"$work/counters"
python3 - "$work/counters" <<'PY' || fail "no faults were injected: $(cat "$work/counters")"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]["injected"]
print("faults injected:", c)
sys.exit(0 if c["429"] + c["500"] + c["drop"] > 0 else 1)
PY

# Always failing: the client gives up after its bounded attempts, saying so.
admin -X POST "$url/kubesim/admin/faults" -d '{"rate429": 0, "rate500": 1, "dropRate": 0}' >/dev/null
start=$SECONDS
if kcl get v1 ConfigMap default cm-1 >/dev/null 2>"$work/down.err"; then
    fail "get succeeded against a server answering only 500"
fi
[ $((SECONDS - start)) -lt 60 ] || fail "giving up took $((SECONDS - start)) s"
grep -q 'attempts' "$work/down.err" || fail "the error does not say it retried: $(cat "$work/down.err")"
admin -X DELETE "$url/kubesim/admin/faults" >/dev/null
kcl get v1 ConfigMap default cm-1 >/dev/null || fail "get after the faults were reset failed"

# Faults limited to one path: that object fails, its neighbour answers.
admin -X POST "$url/kubesim/admin/faults" \
    -d '{"rate500": 1, "pathPrefix": "/api/v1/namespaces/default/configmaps/cm-1"}' >/dev/null
kcl get v1 ConfigMap default cm-2 >/dev/null || fail "a path outside pathPrefix was faulted"
if kcl get v1 ConfigMap default cm-1 >/dev/null 2>"$work/prefix.err"; then
    fail "the path under pathPrefix was not faulted"
fi
grep -q 'fault injected by kubesim' "$work/prefix.err" || fail "cm-1: $(cat "$work/prefix.err")"
admin -X POST "$url/kubesim/admin/faults" -d '{"pathPrefix": 7}' >/dev/null 2>&1 &&
    fail "a pathPrefix that is not a string was taken"
admin -X DELETE "$url/kubesim/admin/faults" >/dev/null
echo "ok: client-faults"
