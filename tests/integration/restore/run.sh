#!/bin/bash
# `edgecd restore` against kubesim, with objects made by real kubectl: a
# backup of a namespace (ConfigMaps, a Secret, a CRD and its custom
# resource, a Deployment with the ReplicaSet and Pod kubesim makes for it, a
# NodePort Service, an object an edgecd app manages, one owned by the custom
# resource), the namespace and the CRD deleted, restored: the same objects,
# server fields new, owned workload objects recreated by their controllers,
# ownerReferences pointing at the restored owner. Then namespace mappings
# (tracking removed from the copies), existingResourcePolicy none vs update,
# a dry run, tampered/cut/traversal/foreign/unencrypted archives refused
# with not one request sent to the cluster, kill -9 midway followed by a
# second run that finishes, `-o json` with every object's result, more
# warnings than a record lists (all counted), and nothing left in the data
# directory's tmp/ after any of them.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}" "${EDGECD_BIN:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/restore.XXXXXX")
sim=
bgpid=
cleanup() {
    if [ -n "$bgpid" ]; then
        kill -9 "$bgpid" 2>/dev/null || true
    fi
    if [ -n "$sim" ]; then
        kill "$sim" 2>/dev/null || true
        wait "$sim" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" >"$work/kubesim.log" 2>&1 &
sim=$!
for _ in $(seq 200); do
    [ -f "$work/sim/kubeconfig" ] && break
    kill -0 "$sim" 2>/dev/null || fail "kubesim exited"
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim wrote no kubeconfig"
url=$(grep -m 1 -o 'https://127.0.0.1:[0-9]*' "$work/kubesim.log")

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
admin() { curl -sS --fail --cacert "$work/sim/ca.crt" --cert "$work/sim/client.crt" --key "$work/sim/client.key" "$@"; }
requests() { admin "$url/kubesim/admin/faults" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["requests"])'; }
writes() { admin "$url/kubesim/admin/faults" | python3 -c '
import json,sys
m = json.load(sys.stdin)["counters"]["byMethod"]
print(sum(m.get(k, 0) for k in ("POST", "PUT", "PATCH", "DELETE")))'; }
data="$work/data"
KEY="$work/backup.key"
bk() { "$EDGECD_BIN" backup "$@" --data "$data"; }
rs() { "$EDGECD_BIN" restore "$@" --data "$data"; }
restore() { rs create "$@" --kubeconfig "$work/sim/kubeconfig"; }
expect_fail() {
    local text=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        fail "$* succeeded; expected failure with: $text"
    fi
    grep -qF -- "$text" "$work/err" || fail "$*: expected '$text', got: $(cat "$work/err") $(cat "$work/out")"
}
# An object as a user compares it: what a restore must bring back, without
# the fields the server fills in and the restore's own labels.
norm() {
    kc get "$@" -o json | python3 -c '
import json, sys
o = json.load(sys.stdin)
m = o["metadata"]
for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "ownerReferences", "selfLink"):
    m.pop(k, None)
for k in ("velero.io/restore-name", "velero.io/backup-name"):
    m.get("labels", {}).pop(k, None)
if not m.get("labels"):
    m.pop("labels", None)
o.pop("status", None)
print(json.dumps(o, sort_keys=True))'
}
jq_() { python3 -c "import json,sys; o=json.load(sys.stdin); print($1)"; }

SECRET_VALUE="r3st0re-edge-secret-42"
echo "== objects made by kubectl"
cat >"$work/crd.yaml" <<'EOF2'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.edge.example.com}
spec:
  group: edge.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
EOF2
kc apply --server-side -f "$work/crd.yaml" >/dev/null
for _ in $(seq 50); do kc get widgets -A >/dev/null 2>&1 && break; sleep 0.1; done
cat <<EOF2 | kc apply --server-side -f - >/dev/null
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {password: $SECRET_VALUE}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop, labels: {app: web}}
data: {greeting: hello, colour: blue}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: managed
  namespace: shop
  labels: {edgecd.io/app: shop-app}
  annotations: {edgecd.io/tracking-id: "shop-app:/ConfigMap:shop/managed"}
data: {owner: gitops}
---
apiVersion: edge.example.com/v1
kind: Widget
metadata: {name: w1, namespace: shop}
spec: {size: 3}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
EOF2
w1uid=$(kc get widget w1 -n shop -o jsonpath='{.metadata.uid}')
cat <<EOF2 | kc apply --server-side -f - >/dev/null
apiVersion: v1
kind: ConfigMap
metadata:
  name: child
  namespace: shop
  ownerReferences: [{apiVersion: edge.example.com/v1, kind: Widget, name: w1, uid: $w1uid}]
data: {of: w1}
EOF2
for i in $(seq 150); do
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bulk-%03d\n  namespace: lab\ndata: {i: "%d"}\n' "$i" "$i"
done | { printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n'; cat; } | kc apply --server-side -f - >/dev/null
for _ in $(seq 100); do
    [ "$(kc get pods -n shop --no-headers 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.1
done
kc get rs -n shop --no-headers | grep -q '^web-' || fail "kubesim made no ReplicaSet for the Deployment"
kc get pods -n shop --no-headers | grep -q '^web-' || fail "kubesim made no Pod for the Deployment"
for o in "cm web" "cm managed" "cm child" "secret db" "widget w1" "deploy web" "ns shop"; do
    # shellcheck disable=SC2086
    norm $o -n shop >"$work/before.$(echo "$o" | tr ' ' _)"
done
head -c 32 /dev/urandom >"$KEY"
chmod 600 "$KEY"
bk create b1 --include-namespaces shop --include-cluster-resources=true --key-file "$KEY" \
    --kubeconfig "$work/sim/kubeconfig" >/dev/null
bk create lab1 --include-namespaces lab --key-file "$KEY" --kubeconfig "$work/sim/kubeconfig" >/dev/null
bk create plain1 --include-namespaces shop --format velero --kubeconfig "$work/sim/kubeconfig" >/dev/null

echo "== refused archives: clear error, not one request to the cluster"
loc="$work/bad"
mkdir -p "$loc"
# bad NAME FILE: a backup folder NAME whose archive is FILE, its record
# saying FILE's size (so the location lists it whole and the reader judges).
bad() {
    local name=$1 file=$2 src=${3:-b1}
    mkdir -p "$loc/$name"
    local ext=tar.gz.enc
    [ "$src" = plain1 ] && ext=tar.gz
    cp "$file" "$loc/$name/$name.$ext"
    python3 - "$data/backups/$src/edgecd-backup.json" "$loc/$name/edgecd-backup.json" "$name" "$ext" "$(stat -c %s "$file")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["metadata"]["name"] = sys.argv[3]
r["status"]["archive"]["file"] = sys.argv[3] + "." + sys.argv[4]
r["status"]["archive"]["size"] = int(sys.argv[5])
json.dump(r, open(sys.argv[2], "w"))
PY
}
arch="$data/backups/b1/b1.tar.gz.enc"
size=$(stat -c %s "$arch")
cp "$arch" "$work/flip"
printf '\x55' | dd of="$work/flip" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$arch" "$work/flip" && printf '\xaa' | dd of="$work/flip" bs=1 seek=$((size / 2)) conv=notrunc status=none
bad flipped "$work/flip"
head -c $((size - 100)) "$arch" >"$work/cut"
bad cut "$work/cut"
python3 - "$work/evil.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("metadata/version", b"1.1.0"),
                       ("resources/configmaps/namespaces/../../../../tmp/evil.json", b"{}")):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
bad traversal "$work/evil.tar.gz" plain1
python3 - "$work/abs.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("metadata/version", b"1.1.0"), ("/etc/evil.json", b"{}")):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
bad absolute "$work/abs.tar.gz" plain1
head -c 4096 /dev/urandom >"$work/foreign"
bad foreign "$work/foreign"
cp -a "$data/backups/plain1" "$loc/plain1"
head -c 32 /dev/urandom >"$work/other.key"
chmod 600 "$work/other.key"
kc get cm,secret,widget -n shop -o name | sort >"$work/cluster.before"
r0=$(requests)
expect_fail 'fails authentication' restore t1 --from-backup flipped --location "$loc" --key-file "$KEY"
expect_fail 'fails authentication' restore t2 --from-backup cut --location "$loc" --key-file "$KEY"
expect_fail 'a ".." component' restore t3 --from-backup traversal --location "$loc" --format velero
expect_fail 'absolute' restore t4 --from-backup absolute --location "$loc" --format velero
expect_fail 'not a backup archive' restore t5 --from-backup foreign --location "$loc" --key-file "$KEY"
expect_fail 'not encrypted' restore t6 --from-backup plain1 --location "$loc" --key-file "$KEY"
expect_fail 'wrong key' restore t7 --from-backup b1 --key-file "$work/other.key"
expect_fail 'backup nope: not found' restore t8 --from-backup nope --key-file "$KEY"
truncate -s -10 "$loc/cut/cut.tar.gz.enc"
expect_fail "the archive's size differs" restore t9 --from-backup cut --location "$loc" --key-file "$KEY"
[ "$(requests)" = "$r0" ] || fail "a refused restore sent $(($(requests) - r0)) requests to the cluster"
kc get cm,secret,widget -n shop -o name | sort | diff - "$work/cluster.before" >/dev/null ||
    fail "the cluster changed"
rs describe t1 --location "$loc" >"$work/d.out"
grep -q '^Phase: *FailedValidation' "$work/d.out" || fail "describe t1: $(cat "$work/d.out")"
grep -q '^Validation error: .*fails authentication' "$work/d.out" || fail "describe t1: $(cat "$work/d.out")"
# what a restore keeps in the data directory's tmp/ while it runs has no name, and is gone after
no_temp() { [ -z "$(ls -A "$data/tmp")" ] || fail "$1: left in $data/tmp: $(ls -A "$data/tmp")"; }
no_temp "the refused restores"

echo "== backup, namespace and CRD deleted, restore: the same objects"
kc delete ns shop --wait=true >/dev/null
kc delete crd widgets.edge.example.com --wait=true >/dev/null
kc get ns shop >/dev/null 2>&1 && fail "namespace shop still there"
restore r1 --from-backup b1 --key-file "$KEY" >"$work/r1.out" || fail "restore r1: $(cat "$work/r1.out")"
grep -q '^restore r1 Completed:' "$work/r1.out" || fail "r1: $(cat "$work/r1.out")"
for o in "cm web" "cm managed" "cm child" "secret db" "widget w1" "deploy web" "ns shop"; do
    # shellcheck disable=SC2086
    norm $o -n shop | diff "$work/before.$(echo "$o" | tr ' ' _)" - || fail "$o differs after the restore"
done
# (kubesim keeps a Secret's stringData as written; a cluster would show data)
kc get secret db -n shop -o json | jq_ 'o.get("stringData", {}).get("password") or __import__("base64").b64decode(o["data"]["password"]).decode()' |
    grep -qx "$SECRET_VALUE" || fail "secret value"
kc get cm web -n shop -o json | jq_ 'o["metadata"]["labels"]["velero.io/restore-name"] + " " + o["metadata"]["labels"]["velero.io/backup-name"]' |
    grep -qx 'r1 b1' || fail "restore labels"
# the app-managed object, restored in place, keeps its tracking
kc get cm managed -n shop -o json | jq_ 'o["metadata"]["labels"]["edgecd.io/app"] + " " + o["metadata"]["annotations"]["edgecd.io/tracking-id"]' |
    grep -qx 'shop-app shop-app:/ConfigMap:shop/managed' || fail "tracking not kept in place"
# ownerReference rewritten to the restored Widget's new uid (the old one would be collected)
new_w1=$(kc get widget w1 -n shop -o jsonpath='{.metadata.uid}')
[ "$new_w1" != "$w1uid" ] || fail "the Widget kept its old uid"
[ "$(kc get cm child -n shop -o jsonpath='{.metadata.ownerReferences[0].uid}')" = "$new_w1" ] ||
    fail "child's ownerReference: $(kc get cm child -n shop -o jsonpath='{.metadata.ownerReferences}')"
# the Service gets a new cluster IP and node port
kc get svc web -n shop -o jsonpath='{.spec.clusterIP}' | grep -qE '^[0-9]' || fail "service has no clusterIP"
rs describe r1 >"$work/d.out"
grep -qE '^  skipped-owned +replicasets.apps shop/web-.*owned by Deployment web' "$work/d.out" || fail "describe r1: $(cat "$work/d.out")"
grep -qE '^  skipped-owned +pods shop/web-.*owned by ReplicaSet web-' "$work/d.out" || fail "describe r1: $(cat "$work/d.out")"
grep -qE '^  created +customresourcedefinitions.apiextensions.k8s.io widgets.edge.example.com' "$work/d.out" || fail "describe r1: $(cat "$work/d.out")"
grep -qE '^  created +widgets.edge.example.com shop/w1' "$work/d.out" || fail "describe r1: $(cat "$work/d.out")"
# Velero's order: CRD, Namespace, Secrets, ConfigMaps, ..., Deployment
rs describe r1 -o json | python3 -c '
import json, sys
order = []
for i in json.load(sys.stdin)["results"]["items"]:
    if not order or order[-1] != i["resource"]:
        order.append(i["resource"])
print("\n".join(order))' >"$work/order"
python3 - "$work/order" <<'PY' || fail "order: $(cat "$work/order")"
import sys
order = [l.strip() for l in open(sys.argv[1])]
want = ["customresourcedefinitions.apiextensions.k8s.io", "namespaces", "secrets", "configmaps", "pods", "replicasets.apps"]
pos = [order.index(w) for w in want]
assert pos == sorted(pos), pos
assert order.index("deployments.apps") > order.index("replicasets.apps")
assert order.index("widgets.edge.example.com") > order.index("namespaces")
# the ConfigMap owned by the Widget waits for it (its reference names the new uid)
assert order[-1] == "configmaps" and order[-2] == "widgets.edge.example.com", order
PY
# kubesim's controllers recreate what was skipped
for _ in $(seq 100); do
    kc get pods -n shop --no-headers 2>/dev/null | grep -q '^web-' && break
    sleep 0.1
done
kc get pods -n shop --no-headers | grep -q '^web-' || fail "the Deployment's pod was not recreated"
rs list >"$work/list.out"
grep -qE '^r1 +b1 +Completed ' "$work/list.out" || fail "list: $(cat "$work/list.out")"
bk list | grep -q restores && fail "restore records listed as backups"
expect_fail 'restore r1: exists already (Completed)' restore r1 --from-backup b1 --key-file "$KEY"

echo "== existingResourcePolicy: none leaves, update patches"
kc patch cm web -n shop --type merge -p '{"data":{"colour":"red"}}' >/dev/null
restore r2 --from-backup b1 --key-file "$KEY" --include-namespaces shop >"$work/r2.out" || fail "r2: $(cat "$work/r2.out")"
[ "$(kc get cm web -n shop -o jsonpath='{.data.colour}')" = red ] || fail "policy none changed web"
rs describe r2 >"$work/d.out"
grep -qE '^  skipped-exists +configmaps shop/web: exists; the in-cluster version differs' "$work/d.out" || fail "r2: $(cat "$work/d.out")"
grep -q 'could not restore, ConfigMap "web" already exists' "$work/d.out" || fail "r2 warning: $(cat "$work/d.out")"
grep -qE '^restore r2 Completed: 0 created' "$work/r2.out" || fail "r2: $(cat "$work/r2.out")"
restore r3 --from-backup b1 --key-file "$KEY" --include-namespaces shop --existing-resource-policy update >"$work/r3.out" ||
    fail "r3: $(cat "$work/r3.out")"
[ "$(kc get cm web -n shop -o jsonpath='{.data.colour}')" = blue ] || fail "policy update did not restore web"
rs describe r3 | grep -qE '^  updated +configmaps shop/web$' || fail "r3: $(rs describe r3)"
expect_fail 'existingResourcePolicy: none or update' restore r3b --from-backup b1 --key-file "$KEY" --existing-resource-policy replace

echo "== dry run: reported, nothing changed"
kc delete cm web -n shop >/dev/null
w0=$(writes)
restore r4 --from-backup b1 --key-file "$KEY" --include-namespaces shop --dry-run >"$work/r4.out" || fail "r4: $(cat "$work/r4.out")"
[ "$(writes)" = "$w0" ] || fail "a dry run wrote to the cluster"
kc get cm web -n shop >/dev/null 2>&1 && fail "a dry run created web"
grep -q 'dry run, nothing changed' "$work/r4.out" || fail "r4: $(cat "$work/r4.out")"
rs describe r4 >"$work/d.out"
grep -qE '^  would-create +configmaps shop/web$' "$work/d.out" || fail "r4: $(cat "$work/d.out")"
grep -qE '^  skipped-exists +secrets shop/db$' "$work/d.out" || fail "r4: $(cat "$work/d.out")"
# -o json prints the whole record, each object's result included
restore r4j --from-backup b1 --key-file "$KEY" --include-namespaces shop --dry-run -o json |
    python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"]["phase"] == "Completed", r["status"]
acts = {(i["resource"], i["name"]): i["action"] for i in r["results"]["items"]}
assert acts[("configmaps", "web")] == "would-create", acts
assert r["status"]["counts"]["would-create"] == sum(a == "would-create" for a in acts.values())
' || fail "r4j -o json"

echo "== namespace mapping: copies in the new namespace, tracking removed"
restore r5 --from-backup b1 --key-file "$KEY" --include-namespaces shop --namespace-mappings shop:shop-copy >"$work/r5.out" ||
    fail "r5: $(cat "$work/r5.out")"
kc get ns shop-copy >/dev/null || fail "no namespace shop-copy"
[ "$(kc get cm web -n shop-copy -o jsonpath='{.data.greeting}')" = hello ] || fail "web not in shop-copy"
kc get cm managed -n shop-copy -o json | jq_ '"%s %s" % ("edgecd.io/app" in o["metadata"].get("labels", {}), "edgecd.io/tracking-id" in o["metadata"].get("annotations", {}))' |
    grep -qx 'False False' || fail "tracking kept on the copy: $(kc get cm managed -n shop-copy -o yaml)"
[ "$(kc get cm managed -n shop -o jsonpath='{.metadata.labels.edgecd\.io/app}')" = shop-app ] || fail "the original lost its tracking"
kc get widget w1 -n shop-copy >/dev/null || fail "w1 not in shop-copy"
rs describe r5 | grep -qE '^  created +configmaps shop/web -> shop-copy$' || fail "r5: $(rs describe r5)"
kc get cm web -n shop >/dev/null 2>&1 && fail "a mapped restore wrote into the source namespace"
expect_fail 'is not SOURCE:TARGET' restore r5b --from-backup b1 --key-file "$KEY" --namespace-mappings shop

echo "== objects the cluster refuses: PartiallyFailed, errors grouped by namespace, exit 1"
admin -X POST "$url/kubesim/admin/faults" -d '{"rate500": 1, "pathPrefix": "/api/v1/namespaces/shop-err/configmaps"}' >/dev/null
if restore r7 --from-backup b1 --key-file "$KEY" --include-namespaces shop --namespace-mappings shop:shop-err >"$work/out"; then
    fail "a PartiallyFailed restore exited 0"
fi
admin -X DELETE "$url/kubesim/admin/faults" >/dev/null
grep -qE '^restore r7 PartiallyFailed: [0-9]+ created, 0 updated, .*3 failed' "$work/out" || fail "r7: $(cat "$work/out")"
rs describe r7 >"$work/d.out"
grep -qE '^  failed +configmaps shop/web -> shop-err: create ConfigMap shop-err/web: ' "$work/d.out" || fail "r7: $(cat "$work/d.out")"
sed -n '/^Errors:/,/^Resources:/p' "$work/d.out" | grep -qx '    shop-err:' || fail "r7 errors not grouped: $(cat "$work/d.out")"
kc get secret db -n shop-err >/dev/null || fail "the Secret was not restored beside the failures"
rs list | grep -qE '^r7 +b1 +PartiallyFailed +[^ ]+ +[^ ]+ +3 ' || fail "list: $(rs list)"

echo "== kill -9 midway, then the same restore again finishes it"
kc delete ns lab --wait=true >/dev/null
admin -X POST "$url/kubesim/admin/faults" -d '{"latencyMs": 15}' >/dev/null
"$EDGECD_BIN" restore create r6 --from-backup lab1 --key-file "$KEY" --data "$data" \
    --kubeconfig "$work/sim/kubeconfig" >"$work/r6.out" 2>&1 &
bgpid=$!
for _ in $(seq 300); do
    n=$(kc get cm -n lab --no-headers 2>/dev/null | grep -c '^bulk-' || true)
    [ "$n" -ge 20 ] && break
    sleep 0.05
done
kill -9 "$bgpid"
wait "$bgpid" 2>/dev/null || true
bgpid=
admin -X DELETE "$url/kubesim/admin/faults" >/dev/null
made=$(kc get cm -n lab --no-headers | grep -c '^bulk-' || true)
[ "$made" -ge 20 ] && [ "$made" -lt 150 ] || fail "kill -9 came at $made of 150 objects"
rs list | grep -qE '^r6 +lab1 +Interrupted ' || fail "list after kill: $(rs list)"
no_temp "kill -9"
restore r6 --from-backup lab1 --key-file "$KEY" >"$work/r6.out" || fail "r6 again: $(cat "$work/r6.out")"
[ "$(kc get cm -n lab --no-headers | grep -c '^bulk-')" = 150 ] || fail "not every ConfigMap after the second run"
rs describe r6 -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)
c = r["status"]["counts"]
assert r["status"]["phase"] == "Completed", r["status"]
assert c.get("skipped-exists", 0) >= 20 and c.get("created", 0) > 0, c
bulk = [i for i in r["results"]["items"] if i["name"].startswith("bulk-")]
assert len(bulk) == 150, len(bulk)
assert any("interrupted" in w for w in r["results"]["warnings"]["velero"]), r["results"]["warnings"]
' || fail "r6 record: $(rs describe r6)"
no_temp "the restores"
[ "$(kc get cm bulk-007 -n lab -o jsonpath='{.data.i}')" = 7 ] || fail "bulk-007"

echo "== more warnings than a record lists: every one counted, the first 1,000 listed"
for i in $(seq 1005); do
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w-%04d\n  namespace: warn\ndata: {v: a}\n' "$i"
done | { printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: warn}\n'; cat; } >"$work/warn.yaml"
kc apply --server-side -f "$work/warn.yaml" >/dev/null
bk create warn1 --include-namespaces warn --key-file "$KEY" --kubeconfig "$work/sim/kubeconfig" >/dev/null
sed 's/{v: a}/{v: b}/' "$work/warn.yaml" | kc apply --server-side -f - >/dev/null
restore r9 --from-backup warn1 --key-file "$KEY" >"$work/r9.out" || fail "r9: $(cat "$work/r9.out")"
grep -q '(warnings 1005, errors 0)' "$work/r9.out" || fail "r9: $(cat "$work/r9.out")"
rs describe r9 -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)
w = r["results"]["warnings"]
listed = w["velero"] + w["cluster"] + [m for v in w["namespaces"].values() for m in v]
assert r["status"]["warnings"] == 1005, r["status"]
assert len(listed) == 1001, len(listed)
assert w["velero"] == ["5 more warnings not listed here; each object'"'"'s result in results.items has its own message"], w["velero"]
items = [i for i in r["results"]["items"] if i["name"].startswith("w-")]
assert len(items) == 1005 and all(i["action"] == "skipped-exists" and "differs" in i["message"] for i in items)
' || fail "r9 record"
no_temp "the last restore"

echo "restore: all checks passed"
