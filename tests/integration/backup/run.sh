#!/bin/bash
# `edgecd backup` against kubesim, with objects made by real kubectl:
# the encrypted archive's layout and counts (Secrets never in plain text on
# disk), Velero's format read by real tar, Velero's filters and the exclude
# label, paging, CRDs and custom resources; tampered, cut, extended,
# traversal, foreign, wrong-passphrase and unencrypted archives refused; a
# full disk (a tiny tmpfs, or a file size limit where mounting is not
# allowed) leaves earlier backups intact and nothing half-written listed;
# list, describe, delete, the site config's cluster selection.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}" "${EDGECD_BIN:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/backup.XXXXXX")
sim=
small=
cleanup() {
    if [ -n "$small" ]; then
        umount "$small" 2>/dev/null || true
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

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
data="$work/data"
ecd() { "$EDGECD_BIN" "$@"; }
bk() { ecd backup "$@" --data "$data"; }
create() { bk create "$@" --kubeconfig "$work/sim/kubeconfig"; }
# expect_fail TEXT CMD...: CMD must fail and say TEXT on stderr.
expect_fail() {
    local text=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        fail "$* succeeded; expected failure with: $text"
    fi
    grep -qF -- "$text" "$work/err" || fail "$*: expected '$text', got: $(cat "$work/err")"
}
# The entry paths of an archive (verify --details), sorted.
entries() { bk verify "$@" --details | sed -n 's/^  //p' | sort; }
has() { grep -qxF -- "$2" "$1" || fail "$1 lacks $2: $(cat "$1")"; }
hasnt() { ! grep -qF -- "$2" "$1" || fail "$1 has $2: $(grep -F -- "$2" "$1")"; }

SECRET_VALUE="s3cr3t-edge-password-7f2a"
SECRET_B64=$(printf %s "$SECRET_VALUE" | base64)

echo "== objects made by kubectl: namespaces, ConfigMaps (600, for paging), a Secret, a CRD and its resources"
{
    for ns in shop edge lab; do
        printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n---\n' "$ns"
    done
    cat <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  labels: {tier: db}
stringData:
  password: $SECRET_VALUE
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
data: {greeting: hello}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: scratch
  namespace: shop
  labels: {velero.io/exclude-from-backup: "true", app: web}
data: {tmp: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: edge
  labels: {app: web, tier: front}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:edge:reader"}
rules: []
---
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
EOF
    for i in $(seq 600); do
        printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bulk-%03d\n  namespace: lab\ndata: {i: "%d"}\n' "$i" "$i"
    done
} >"$work/objects.yaml"
kc apply --server-side -f "$work/objects.yaml" >/dev/null
printf 'apiVersion: edge.example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: shop\nspec: {size: 3}\n' |
    kc apply --server-side -f - >/dev/null
printf 'apiVersion: v1\nkind: Event\nmetadata:\n  name: ev1\n  namespace: shop\ninvolvedObject: {kind: ConfigMap, name: web, namespace: shop}\nreason: Test\nmessage: hi\n' |
    kc apply --server-side -f - >/dev/null
kc get cm -n lab --no-headers | wc -l | grep -qx 600 || fail "kubectl made no 600 ConfigMaps"

head -c 32 /dev/urandom >"$work/backup.key"
chmod 600 "$work/backup.key"

echo "== encrypted by default: layout, counts, paging, nothing readable on disk"
create full --key-file "$work/backup.key" >"$work/create.out"
grep -q '^backup full Completed: ' "$work/create.out" || fail "create: $(cat "$work/create.out")"
grep -q 'AES-256-GCM, key file' "$work/create.out" || fail "create: $(cat "$work/create.out")"
ls "$data/backups/full" | sort | tr '\n' ' ' | grep -qx 'edgecd-backup.json full.tar.gz.enc ' ||
    fail "backup folder: $(ls -la "$data/backups/full")"
[ "$(stat -c %a "$data/backups/full/full.tar.gz.enc")" = 600 ] || fail "archive mode"
entries full --key-file "$work/backup.key" >"$work/full.entries"
has "$work/full.entries" resources/secrets/namespaces/shop/db.json
has "$work/full.entries" resources/secrets/v1-preferredversion/namespaces/shop/db.json
has "$work/full.entries" resources/configmaps/namespaces/shop/web.json
has "$work/full.entries" resources/configmaps/namespaces/lab/bulk-600.json
has "$work/full.entries" resources/deployments.apps/namespaces/edge/web.json
has "$work/full.entries" resources/deployments.apps/v1-preferredversion/namespaces/edge/web.json
has "$work/full.entries" resources/namespaces/cluster/shop.json
has "$work/full.entries" resources/clusterroles.rbac.authorization.k8s.io/cluster/system:edge:reader.json
has "$work/full.entries" resources/customresourcedefinitions.apiextensions.k8s.io/cluster/widgets.edge.example.com.json
has "$work/full.entries" resources/widgets.edge.example.com/namespaces/shop/w1.json
has "$work/full.entries" resources/widgets.edge.example.com/v1-preferredversion/namespaces/shop/w1.json
hasnt "$work/full.entries" scratch   # velero.io/exclude-from-backup=true
hasnt "$work/full.entries" resources/events
hasnt "$work/full.entries" resources/nodes
[ "$(grep -c '^resources/configmaps/namespaces/lab/' "$work/full.entries")" = 600 ] ||
    fail "not every page of the lab ConfigMaps: $(grep -c '^resources/configmaps/namespaces/lab/' "$work/full.entries")"
bk describe full >"$work/describe.out"
grep -qE '^  configmaps +601$' "$work/describe.out" || fail "describe counts: $(cat "$work/describe.out")"
grep -qE '^  secrets +1$' "$work/describe.out" || fail "describe counts: $(cat "$work/describe.out")"
grep -qE '^  widgets.edge.example.com +1$' "$work/describe.out" || fail "describe: $(cat "$work/describe.out")"
grep -q '^Phase: *Completed' "$work/describe.out" || fail "describe: $(cat "$work/describe.out")"
grep -q '^Encryption: *AES-256-GCM, key file' "$work/describe.out" || fail "describe: $(cat "$work/describe.out")"
grep -q '^TTL: *720h0m0s' "$work/describe.out" || fail "describe: $(cat "$work/describe.out")"
bk describe full -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)
s = r["status"]
assert s["phase"] == "Completed" and s["errors"] == [], s
assert s["progress"]["itemsBackedUp"] == s["counts"]["items"], s
assert s["archive"]["entries"] == 2 * s["counts"]["items"] + 2, s   # + version + manifest
assert r["spec"]["includedNamespaces"] == ["*"] and r["spec"]["includeClusterResources"] is None, r
' || fail "describe -o json"
# The Secret's value is nowhere on disk in plain text, base64 or not.
if grep -rqaF -e "$SECRET_VALUE" -e "$SECRET_B64" "$data"; then
    fail "the Secret's value is readable on disk: $(grep -rlaF -e "$SECRET_VALUE" -e "$SECRET_B64" "$data")"
fi
bk list >"$work/list.out"
grep -qE '^full +Completed +0 ' "$work/list.out" || fail "list: $(cat "$work/list.out")"

echo "== the data directory's key, made on first use"
create dflt --include-namespaces shop >"$work/create.out" 2>"$work/create.err"
grep -q 'made the backup key' "$work/create.err" || fail "no note about the new key: $(cat "$work/create.err")"
[ "$(stat -c %a "$data/keys/backup.key")" = 600 ] && [ "$(stat -c %s "$data/keys/backup.key")" = 32 ] ||
    fail "keys/backup.key: $(ls -la "$data/keys")"
bk verify dflt >/dev/null

echo "== Velero's format: plain tar.gz that real tar lists"
create velero1 --format velero --include-namespaces shop,edge >/dev/null
tar -tzf "$data/backups/velero1/velero1.tar.gz" | sort >"$work/tar.list"
head -1 <(tar -tzf "$data/backups/velero1/velero1.tar.gz") | grep -qx metadata/version || fail "metadata/version is not first"
[ "$(tar -xzOf "$data/backups/velero1/velero1.tar.gz" metadata/version)" = 1.1.0 ] || fail "metadata/version"
has "$work/tar.list" resources/configmaps/namespaces/shop/web.json
has "$work/tar.list" resources/configmaps/v1-preferredversion/namespaces/shop/web.json
has "$work/tar.list" resources/deployments.apps/namespaces/edge/web.json
has "$work/tar.list" resources/namespaces/cluster/shop.json
has "$work/tar.list" resources/namespaces/cluster/edge.json
has "$work/tar.list" metadata/edgecd-manifest.json
hasnt "$work/tar.list" namespaces/lab
hasnt "$work/tar.list" resources/namespaces/cluster/lab.json
# a namespace filter and includeClusterResources unset: no cluster-scoped kinds
hasnt "$work/tar.list" clusterroles
hasnt "$work/tar.list" customresourcedefinitions
tar -xzOf "$data/backups/velero1/velero1.tar.gz" resources/secrets/namespaces/shop/db.json |
    python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["kind"]=="Secret" and o["metadata"]["name"]=="db", o' ||
    fail "the Secret entry is not the Secret"
bk describe velero1 | grep -q '^Encryption: *none' || fail "describe velero1"

echo "== filters"
create f-cluster --format velero --include-namespaces shop --include-cluster-resources=true >/dev/null
tar -tzf "$data/backups/f-cluster/f-cluster.tar.gz" >"$work/f.list"
has "$work/f.list" resources/clusterroles.rbac.authorization.k8s.io/cluster/system:edge:reader.json
has "$work/f.list" resources/customresourcedefinitions.apiextensions.k8s.io/cluster/widgets.edge.example.com.json
hasnt "$work/f.list" namespaces/edge/
create f-exclude --format velero --exclude-namespaces lab --exclude-resources secrets,widgets.edge.example.com >/dev/null
tar -tzf "$data/backups/f-exclude/f-exclude.tar.gz" >"$work/f.list"
hasnt "$work/f.list" namespaces/lab/
hasnt "$work/f.list" resources/secrets/
hasnt "$work/f.list" resources/widgets.edge.example.com/
has "$work/f.list" resources/configmaps/namespaces/shop/web.json
# excludedNamespaces set: not "every namespace", so no cluster-scoped kinds
hasnt "$work/f.list" clusterroles
create f-res --format velero --include-resources configmaps,Deployment >/dev/null
tar -tzf "$data/backups/f-res/f-res.tar.gz" | grep '^resources/' | cut -d/ -f2 | sort -u | tr '\n' ' ' >"$work/f.kinds"
[ "$(cat "$work/f.kinds")" = "configmaps deployments.apps " ] || fail "include-resources: $(cat "$work/f.kinds")"
# (the Deployment's pods carry app=web too, not tier=front)
create f-sel --format velero --selector tier=front >/dev/null
tar -tzf "$data/backups/f-sel/f-sel.tar.gz" | grep -v preferredversion | grep '^resources/' | sort >"$work/f.list"
printf '%s\n' resources/configmaps/namespaces/shop/web.json resources/deployments.apps/namespaces/edge/web.json |
    diff - "$work/f.list" >/dev/null || fail "--selector tier=front took: $(cat "$work/f.list")"
create f-or --format velero --or-selector 'tier=front or tier in (db)' --include-namespaces 'sh*' >/dev/null
tar -tzf "$data/backups/f-or/f-or.tar.gz" | grep -v preferredversion | grep '^resources/' | sort >"$work/f.list"
printf '%s\n' resources/configmaps/namespaces/shop/web.json resources/secrets/namespaces/shop/db.json |
    diff - "$work/f.list" >/dev/null || fail "--or-selector took: $(cat "$work/f.list")"
expect_fail 'cannot parse' create f-bad --selector 'app in web'
expect_fail 'cannot be used together' create f-both --selector a=b --or-selector 'c=d'

echo "== parts of the API failing: PartiallyFailed, the backup kept, exit 1"
url=$(grep -m 1 -o 'https://127.0.0.1:[0-9]*' "$work/kubesim.log")
admin() { curl -sS --fail --cacert "$work/sim/ca.crt" --cert "$work/sim/client.crt" --key "$work/sim/client.key" "$@" >/dev/null; }
faults() { admin -X POST "$url/kubesim/admin/faults" -d "$1"; }
# an API group whose discovery fails (an aggregated API that is down)
faults '{"rate500": 1, "pathPrefix": "/apis/edge.example.com/"}'
expect_fail 'backup partial1: discovery edge.example.com/v1: ' create partial1 --include-namespaces shop --include-cluster-resources=true
admin -X DELETE "$url/kubesim/admin/faults"
grep -q '^backup partial1 PartiallyFailed: ' "$work/out" || fail "create: $(cat "$work/out")"
entries partial1 >"$work/p.entries"
has "$work/p.entries" resources/configmaps/namespaces/shop/web.json
hasnt "$work/p.entries" resources/widgets.edge.example.com/
# a kind whose list fails
faults '{"rate500": 1, "pathPrefix": "/api/v1/namespaces/shop/secrets"}'
expect_fail 'backup partial2: secrets: list Secret shop: ' create partial2 --include-namespaces shop
admin -X DELETE "$url/kubesim/admin/faults"
bk list >"$work/list.out"
grep -qE '^partial1 +PartiallyFailed +1 ' "$work/list.out" || fail "list: $(cat "$work/list.out")"
grep -qE '^partial2 +PartiallyFailed +1 ' "$work/list.out" || fail "list: $(cat "$work/list.out")"
bk describe partial2 | grep -q '^Errors: *secrets: list Secret shop: .*fault injected by kubesim' ||
    fail "describe partial2: $(bk describe partial2)"
bk verify partial2 | grep -q 'phase PartiallyFailed' || fail "verify partial2"

echo "== refusals: tampered, cut, extended, traversal, foreign, wrong passphrase, unencrypted"
arch="$data/backups/full/full.tar.gz.enc"
size=$(stat -c %s "$arch")
cp "$arch" "$work/flip.enc"
printf '\x55' | dd of="$work/flip.enc" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$arch" "$work/flip.enc" && printf '\xaa' | dd of="$work/flip.enc" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_fail 'fails authentication: the archive was changed or damaged' bk verify --file "$work/flip.enc" --key-file "$work/backup.key"
head -c $((size - 100)) "$arch" >"$work/cut.enc"
expect_fail 'fails authentication' bk verify --file "$work/cut.enc" --key-file "$work/backup.key"
head -c $((84 + 65552)) "$arch" >"$work/cut-boundary.enc"
expect_fail 'truncated: the file ends after chunk 0' bk verify --file "$work/cut-boundary.enc" --key-file "$work/backup.key"
{ cat "$arch"; printf 'appended'; } >"$work/long.enc"
expect_fail 'had bytes appended' bk verify --file "$work/long.enc" --key-file "$work/backup.key"
head -c 32 /dev/urandom >"$work/other.key"
chmod 600 "$work/other.key"
expect_fail 'wrong key' bk verify full --key-file "$work/other.key"
chmod 644 "$work/other.key"
expect_fail 'readable by others' bk verify full --key-file "$work/other.key"
printf 'correct horse battery staple\n' >"$work/pass"
printf 'correct horse battery stapler\n' >"$work/wrong-pass"
chmod 600 "$work/pass" "$work/wrong-pass"
create pass1 --passphrase-file "$work/pass" --include-namespaces shop >"$work/create.out"
grep -q 'PBKDF2-HMAC-SHA256, 600000 iterations' "$work/create.out" || fail "create: $(cat "$work/create.out")"
bk verify pass1 --passphrase-file "$work/pass" >/dev/null
expect_fail 'wrong passphrase' bk verify pass1 --passphrase-file "$work/wrong-pass"
expect_fail 'encrypted with a passphrase, not a key file' bk verify pass1 --key-file "$work/backup.key"
expect_fail 'not encrypted (a plain tar.gz), and encryption is required' bk verify velero1
bk verify velero1 --format velero | grep -q 'verified: not encrypted' || fail "verify --format velero"
expect_fail 'not a backup archive' bk verify --file /etc/hostname --format velero
# A Velero-looking archive with a path that climbs out, made by Python's tarfile.
python3 - "$work/evil.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("metadata/version", b"1.1.0"),
                       ("resources/configmaps/namespaces/../../../../tmp/evil.json", b"{}")):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
expect_fail 'a ".." component' bk verify --file "$work/evil.tar.gz" --format velero
python3 - "$work/link.tar.gz" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    info = tarfile.TarInfo("metadata/version")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/shadow"
    t.addfile(info)
PY
expect_fail 'is a symbolic link' bk verify --file "$work/link.tar.gz" --format velero
# Velero's own tarball without edgecd's manifest (tar of the plain archive's resources).
mkdir -p "$work/x" && tar -xzf "$data/backups/velero1/velero1.tar.gz" -C "$work/x"
(cd "$work/x" && { echo metadata/version; find resources -type f; } | tar -czf "$work/nomanifest.tar.gz" -T -)
expect_fail 'ends without its manifest' bk verify --file "$work/nomanifest.tar.gz" --format velero
# As GNU tar packs a folder: with directory entries.
tar -czf "$work/dirs.tar.gz" -C "$work/x" metadata/version resources
expect_fail 'is a directory (only regular files are allowed)' bk verify --file "$work/dirs.tar.gz" --format velero

echo "== a damaged archive in the location is listed as Damaged"
cp -a "$data/backups/dflt" "$work/dflt.saved"
truncate -s -10 "$data/backups/dflt/dflt.tar.gz.enc"
bk list >"$work/list.out"
grep -qE '^dflt +Damaged ' "$work/list.out" || fail "list: $(cat "$work/list.out")"
bk describe dflt | grep -q "^Problem: *the archive's size differs" || fail "describe damaged"
rm -rf "$data/backups/dflt" && cp -a "$work/dflt.saved" "$data/backups/dflt"

echo "== names, conflicts, leftovers of a crash"
expect_fail 'exists already' create full --key-file "$work/backup.key"
expect_fail 'backup name "Bad_Name"' create Bad_Name --key-file "$work/backup.key"
mkdir "$data/backups/.tmp-crashed-AbC123" && echo partial >"$data/backups/.tmp-crashed-AbC123/crashed.tar.gz.enc"
bk list | grep -q crashed && fail "a temporary folder is listed"
create after-crash --include-namespaces edge >/dev/null
[ ! -e "$data/backups/.tmp-crashed-AbC123" ] || fail "the stale temporary folder was not removed"

echo "== the site config picks the cluster"
cat >"$work/site.yaml" <<EOF
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
clusters:
  - name: edge-sim
    server: https://kubernetes.default.svc
    kubeconfig: $work/sim/kubeconfig
EOF
bk create from-config --config "$work/site.yaml" --include-namespaces shop >/dev/null
bk describe from-config | grep -q '^Cluster: *edge-sim (https://127.0.0.1:' || fail "describe: $(bk describe from-config)"
expect_fail 'no cluster of that name' bk create from-config2 --config "$work/site.yaml" --cluster nope

echo "== a full disk: clear error, earlier backups intact, nothing listed"
before=$(bk list | sort)
full_loc="$work/small"
mkdir -p "$full_loc"
if mount -t tmpfs -o size=48k tmpfs "$full_loc" 2>/dev/null; then
    small="$full_loc"
    cp -a "$data/backups/after-crash" "$full_loc/"
    expect_fail 'No space left on device' create big --format velero --location "$full_loc"
else
    # No mounting here: a file size limit makes write() fail the same way.
    cp -a "$data/backups/after-crash" "$full_loc/"
    expect_fail 'File too large' bash -c "trap '' XFSZ; ulimit -f 16; exec \"\$@\"" _ \
        "$EDGECD_BIN" backup create big --format velero --location "$full_loc" --data "$data" --kubeconfig "$work/sim/kubeconfig"
fi
grep -q 'backup big' "$work/err" || fail "the error does not name the backup: $(cat "$work/err")"
ls -A "$full_loc" | sort | tr '\n' ' ' | grep -qx '.lock after-crash ' || fail "left behind: $(ls -la "$full_loc")"
ecd backup list --location "$full_loc" >"$work/list.out"
hasnt "$work/list.out" big
ecd backup verify after-crash --location "$full_loc" --data "$data" >/dev/null
[ "$(bk list | sort)" = "$before" ] || fail "the data directory's backups changed"

echo "== download: verified copies, --decrypt to Velero's plain format, damaged ones leave no file"
dl=$work/dl
mkdir -p "$dl"
bk download full --output "$dl/full.enc" --key-file "$work/backup.key" >"$work/dl.out" || fail "download full"
grep -q 'verified: every chunk, entry and the manifest' "$work/dl.out" || fail "download: $(cat "$work/dl.out")"
cmp -s "$dl/full.enc" "$data/backups/full/full.tar.gz.enc" || fail "the download differs from the archive"
[ "$(stat -c %a "$dl/full.enc")" = 600 ] || fail "download mode $(stat -c %a "$dl/full.enc")"
ecd backup verify --file "$dl/full.enc" --key-file "$work/backup.key" >/dev/null || fail "verify the download"
# without any key at hand (another data directory): size and SHA-256 only
ecd backup download full --location "$data/backups" --data "$work/nokey" --output "$dl/full2.enc" >"$work/dl.out" ||
    fail "download without a key"
grep -q 'size and SHA-256 against the record' "$work/dl.out" || fail "download without key: $(cat "$work/dl.out")"
expect_fail 'exists (--force replaces it)' bk download full --output "$dl/full.enc" --key-file "$work/backup.key"
bk download full --output "$dl/full.enc" --key-file "$work/backup.key" --force >/dev/null || fail "download --force"
bk download full --decrypt --output "$dl/full.tar.gz" --key-file "$work/backup.key" >"$work/dl.out" ||
    fail "download --decrypt: $(cat "$work/dl.out")"
[ "$(stat -c %a "$dl/full.tar.gz")" = 600 ] || fail "decrypted download mode"
tar -tzf "$dl/full.tar.gz" | sort >"$work/dl.list"
has "$work/dl.list" metadata/version
has "$work/dl.list" resources/secrets/namespaces/shop/db.json
has "$work/dl.list" resources/widgets.edge.example.com/v1-preferredversion/namespaces/shop/w1.json
[ "$(grep -c '^resources/configmaps/namespaces/lab/' "$work/dl.list")" = 600 ] || fail "decrypted download lacks objects"
tar -xzOf "$dl/full.tar.gz" resources/secrets/namespaces/shop/db.json |
    python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["kind"]=="Secret" and o["metadata"]["name"]=="db", o' ||
    fail "the decrypted Secret entry"
ecd backup verify --file "$dl/full.tar.gz" --format velero >/dev/null || fail "the decrypted download does not verify as Velero's format"
expect_fail 'needs the key' ecd backup download full --location "$data/backups" --data "$work/nokey" --decrypt --output "$dl/nokey.tar.gz"
chmod 600 "$work/other.key"
expect_fail 'wrong key' bk download full --decrypt --output "$dl/wrong.tar.gz" --key-file "$work/other.key"
# damaged: a flipped byte keeps the size; the SHA-256 catches it, with or without a key
cp -a "$data/backups/full" "$work/full.saved"
python3 - "$data/backups/full/full.tar.gz.enc" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x40
open(p, 'wb').write(bytes(b))
PY
expect_fail 'damaged' bk download full --output "$dl/bad.enc" --key-file "$work/backup.key"
expect_fail 'damaged' ecd backup download full --location "$data/backups" --data "$work/nokey" --output "$dl/bad2.enc"
expect_fail 'full' bk download full --decrypt --output "$dl/bad.tar.gz" --key-file "$work/backup.key"
[ -z "$(ls -A "$dl" | grep -v -e '^full.enc$' -e '^full2.enc$' -e '^full.tar.gz$')" ] ||
    fail "a refused download left files: $(ls -A "$dl")"
rm -rf "$data/backups/full" && cp -a "$work/full.saved" "$data/backups/full"
expect_fail 'backup nope: not found' bk download nope --output "$dl/nope"
expect_fail '--decrypt is a flag of edgecd backup download' bk list --decrypt

echo "== delete"
bk delete f-sel | grep -q 'backup f-sel deleted' || fail "delete"
bk list | grep -q '^f-sel ' && fail "deleted backup still listed"
[ ! -e "$data/backups/f-sel" ] || fail "deleted backup's folder is still there"
expect_fail 'backup f-sel: not found' bk delete f-sel
expect_fail 'backup nope: not found' bk describe nope

echo "backup: all checks passed"
