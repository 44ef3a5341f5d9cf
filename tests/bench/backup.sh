#!/bin/bash
# Benchmark: back up and restore N objects (default 10,000: ConfigMaps and
# Secrets of about 500 bytes of data each, in 10 namespaces) on kubesim,
# beside kubectl 1.35 doing the same work in the same run:
#   backup:  `edgecd backup create` (encrypted, the default) vs
#            `kubectl get configmaps,secrets -A -o json` into a file;
#   restore: the namespaces deleted, then `edgecd restore create` vs
#            `kubectl create -f` of that dump into a fresh kubesim;
# objects per second of each, and the peak resident memory of each
# process (GNU time's maximum resident set size). edgecd's extra memory
# is its peak for N objects minus its peak for a backup of one namespace
# of 10 objects: the goal is under 32 MB whatever N. To show that it does
# not grow with N, edgecd's backup and restore run again on LARGE objects
# (default 4 x N; 0 skips it) in a kubesim of their own, and the extra
# memory of both sizes is printed side by side (with the data directory's
# tmp/, where the per-object bookkeeping goes, checked empty after each).
# usage: tests/bench/backup.sh [BUILD_DIR] [OBJECTS] [LARGE]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-10000}
large=${3:-$((4 * n))}
ns_count=10
bin=$PWD/$build/appliance/edgecd
sim_bin=$PWD/$build/tests/kubesim/kubesim
kubectl=$PWD/$build/tools/kubectl
[ -x "$bin" ] && [ -x "$sim_bin" ] || { echo "build first: no $bin" >&2; exit 1; }
sh tests/tools/get-kubectl.sh "$PWD/$build/tools"
mkdir -p "$PWD/$build/test-tmp"
work=$(mktemp -d "$PWD/$build/test-tmp/bench-backup.XXXXXX")
sims=()
cleanup() {
    for p in "${sims[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start_sim() { # DIR
    "$sim_bin" --listen 127.0.0.1:0 --dir "$1" --no-workloads >"$1.log" 2>&1 &
    sims+=($!)
    for _ in $(seq 200); do [ -f "$1/kubeconfig" ] && return 0; sleep 0.1; done
    fail "kubesim did not start"
}
now() { date +%s.%N; }
# GNU time: wall seconds and peak RSS (kB) of one command, into $wall $rss
timed() { # OUT_PREFIX CMD...
    local p=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/$p.time" "$@" >"$work/$p.out" 2>"$work/$p.err" ||
        fail "$p: $(tail -3 "$work/$p.err")"
    read -r wall rss <"$work/$p.time"
}

start_sim "$work/sim"
kc() { "$kubectl" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
# the objects: half ConfigMaps, half Secrets, ~500 bytes of data each
objects() { # N
    python3 - "$1" "$ns_count" <<'PY'
import sys, base64
n, nss = int(sys.argv[1]), int(sys.argv[2])
for ns in range(nss):
    print("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: bench-%d}" % ns)
for i in range(n):
    ns = "bench-%d" % (i % nss)
    payload = ("value-%06d-" % i) * 40
    if i % 2 == 0:
        print("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s, labels: {tier: bench}}\ndata: {payload: \"%s\"}" % (i, ns, payload[:480]))
    else:
        print("---\napiVersion: v1\nkind: Secret\nmetadata: {name: s-%d, namespace: %s}\ntype: Opaque\ndata: {payload: \"%s\"}" % (i, ns, base64.b64encode(payload[:360].encode()).decode()))
PY
}
count() { kc get configmaps,secrets -A -o name | grep -c -E '/(cm|s)-[0-9]+$' || true; }
# delete the bench namespaces and wait until their objects are gone
delete_all() {
    kc delete namespace $(seq -f 'bench-%g' 0 $((ns_count - 1))) --wait=false >/dev/null
    for _ in $(seq 600); do
        left=$(count)
        [ "$left" = 0 ] && break
        sleep 0.2
    done
    [ "$left" = 0 ] || fail "$left objects still there after deleting the namespaces"
}
no_temp() { [ -z "$(ls -A "$work/data/tmp" 2>/dev/null)" ] || fail "$1 left $(ls -A "$work/data/tmp")"; }
objects "$n" >"$work/objects.yaml"
kc create -f "$work/objects.yaml" >/dev/null
got=$(count)
[ "$got" = "$n" ] || fail "created $got of $n objects"
mkdir -p "$work/data" "$work/loc"

# baseline: one namespace of 10 objects
python3 - <<'PY' >"$work/small.yaml"
print("apiVersion: v1\nkind: Namespace\nmetadata: {name: small}")
for i in range(10):
    print("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d, namespace: small}\ndata: {a: b}" % i)
PY
kc create -f "$work/small.yaml" >/dev/null
timed small "$bin" backup create small --include-namespaces small --location "$work/loc" --data "$work/data" \
    --kubeconfig "$work/sim/kubeconfig"
base_rss=$rss

# edgecd's backup NAME of the bench namespaces of kubesim SIM, and its
# restore RESTORE; each leaves nothing in DATA/tmp
ebackup() { # OUT_PREFIX NAME SIM
    timed "$1" "$bin" backup create "$2" --include-namespaces 'bench-*' --include-resources configmaps,secrets \
        --location "$work/loc" --data "$work/data" --kubeconfig "$work/$3/kubeconfig"
    no_temp "backup create $2"
}
erestore() { # OUT_PREFIX RESTORE NAME SIM N
    timed "$1" "$bin" restore create "$2" --from-backup "$3" --location "$work/loc" --data "$work/data" \
        --kubeconfig "$work/$4/kubeconfig"
    no_temp "restore create $2"
    got=$(count)
    [ "$got" = "$5" ] || fail "restore $2 brought back $got of $5 objects"
}
ebackup ebackup bench sim
e_backup=$wall e_backup_rss=$rss
archive_kb=$(du -sk "$work/loc/bench" | cut -f1)
timed kget "$kubectl" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" get configmaps,secrets -A -o json
k_get=$wall k_get_rss=$rss
cp "$work/kget.out" "$work/dump.json"
dump_kb=$(($(stat -c %s "$work/dump.json") / 1024))

# restore into the same cluster after deleting the namespaces
delete_all
erestore erestore r1 bench sim "$n"
e_restore=$wall e_restore_rss=$rss

# kubectl: create the dump into a fresh kubesim (namespaces first)
start_sim "$work/sim2"
python3 - "$work/dump.json" "$ns_count" >"$work/dump-create.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-%d" % i}} for i in range(int(sys.argv[2]))]
for o in d["items"]:
    if not o["metadata"]["name"].startswith(("cm-", "s-")):
        continue
    m = o["metadata"]
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        m.pop(k, None)
    items.append(o)
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open("/dev/stdout", "w"))
PY
timed kcreate "$kubectl" --kubeconfig "$work/sim2/kubeconfig" --cache-dir "$work/cache2" create -f "$work/dump-create.json"
k_create=$wall k_create_rss=$rss

ratio() { echo "$1 / $2" | bc -l; }
ops() { echo "$n / $1" | bc -l; }
printf '\nbackup: %d objects (ConfigMaps and Secrets, %d namespaces) on kubesim (same run)\n' "$n" "$ns_count"
printf '%-40s %12s %12s %8s\n' "measure" "edgecd" "kubectl" "ratio"
printf '%-40s %11.2fs %11.2fs %8.2f\n' "backup vs get -A -o json: time" "$e_backup" "$k_get" "$(ratio "$e_backup" "$k_get")"
printf '%-40s %12.0f %12.0f\n' "  objects per second" "$(ops "$e_backup")" "$(ops "$k_get")"
printf '%-40s %10dMB %10dMB %8.2f\n' "  peak RSS" "$((e_backup_rss / 1024))" "$((k_get_rss / 1024))" "$(ratio "$e_backup_rss" "$k_get_rss")"
printf '%-40s %10dkB %10dkB\n' "  archive (encrypted) / dump" "$archive_kb" "$dump_kb"
printf '%-40s %11.2fs %11.2fs %8.2f\n' "restore vs create -f dump: time" "$e_restore" "$k_create" "$(ratio "$e_restore" "$k_create")"
printf '%-40s %12.0f %12.0f\n' "  objects per second" "$(ops "$e_restore")" "$(ops "$k_create")"
printf '%-40s %10dMB %10dMB %8.2f\n' "  peak RSS" "$((e_restore_rss / 1024))" "$((k_create_rss / 1024))" "$(ratio "$e_restore_rss" "$k_create_rss")"
printf '%-40s %10dMB\n' "edgecd peak RSS, 10-object backup" "$((base_rss / 1024))"
printf '%-40s %10dMB %10dMB %8s\n' "extra memory backup / restore (goal < 32 MB)" \
    "$(((e_backup_rss - base_rss) / 1024))" "$(((e_restore_rss - base_rss) / 1024))" ""
[ "$large" -gt 0 ] || exit 0

# The same backup and restore of edgecd on LARGE objects, in a kubesim of
# their own (kubectl is not run again): does the extra memory grow?
start_sim "$work/sim3"
kc() { "$kubectl" --kubeconfig "$work/sim3/kubeconfig" --cache-dir "$work/cache3" "$@"; }
objects "$large" >"$work/objects-large.yaml"
kc create -f "$work/objects-large.yaml" >/dev/null
rm -f "$work/objects-large.yaml"
got=$(count)
[ "$got" = "$large" ] || fail "created $got of $large objects"
ebackup lbackup large sim3
l_backup=$wall l_backup_rss=$rss
delete_all
erestore lrestore r2 large sim3 "$large"
l_restore=$wall l_restore_rss=$rss

mb() { echo $((($1 - base_rss) / 1024)); }
printf '\nedgecd alone at two sizes: extra memory over the 10-object backup (goal < 32 MB whatever the size)\n'
printf '%-10s %14s %14s %14s %14s\n' "objects" "backup extra" "restore extra" "backup obj/s" "restore obj/s"
printf '%-10d %12dMB %12dMB %14.0f %14.0f\n' "$n" "$(mb "$e_backup_rss")" "$(mb "$e_restore_rss")" \
    "$(ops "$e_backup")" "$(ops "$e_restore")"
printf '%-10d %12dMB %12dMB %14.0f %14.0f\n' "$large" "$(mb "$l_backup_rss")" "$(mb "$l_restore_rss")" \
    "$(echo "$large / $l_backup" | bc -l)" "$(echo "$large / $l_restore" | bc -l)"
