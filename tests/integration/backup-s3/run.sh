#!/bin/bash
# S3 backup locations against s3rver (a real S3-protocol server, npm) and
# kubesim, objects made by real kubectl: a bucket from the site config's
# backupLocations (by NAME and by s3://BUCKET/PREFIX); create, list,
# describe, verify, restore into the cluster, delete; Secrets never in
# plain text in the bucket; wrong credentials, a server that is down and a
# location the config does not describe give clear errors that name no
# secret; a few thousand objects go up as a multipart upload with bounded
# memory; a create killed mid-upload leaves nothing listed and can be run
# again; TLS with the location's CA, refused without it.
set -euo pipefail

: "${EDGECD_KUBESIM:?}" "${EDGECD_KUBECTL:?}" "${EDGECD_TEST_TMP:?}" "${EDGECD_BIN:?}" "${EDGECD_S3RVER:?}"
work=$(mktemp -d "$EDGECD_TEST_TMP/backup-s3.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$EDGECD_KUBESIM" --listen 127.0.0.1:0 --dir "$work/sim" >"$work/kubesim.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
    [ -f "$work/sim/kubeconfig" ] && break
    sleep 0.1
done
[ -f "$work/sim/kubeconfig" ] || fail "kubesim wrote no kubeconfig"
url=$(grep -m 1 -o 'https://127.0.0.1:[0-9]*' "$work/kubesim.log")
admin() { curl -sS --fail --cacert "$work/sim/ca.crt" --cert "$work/sim/client.crt" --key "$work/sim/client.key" "$@"; }

# s3rver with its built-in credentials (S3RVER / S3RVER) and a bucket
# made at start; every request it answers is in its log.
port=$(free_port)
mkdir -p "$work/s3"
node "$EDGECD_S3RVER" -d "$work/s3" -a 127.0.0.1 -p "$port" --configure-bucket edge-backups \
    >"$work/s3rver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    grep -q 'listening' "$work/s3rver.log" && break
    sleep 0.1
done
grep -q 'listening' "$work/s3rver.log" || fail "s3rver did not start: $(cat "$work/s3rver.log")"

SECRET_KEY=S3RVER
printf 'S3RVER\n' >"$work/access-key"
printf '%s\n' "$SECRET_KEY" >"$work/secret-key"
printf 'NOT-A-KEY\n' >"$work/wrong-key"
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$work/credentials"
chmod 600 "$work"/access-key "$work"/secret-key "$work"/wrong-key "$work"/credentials
dead=$(free_port)
cat >"$work/site.yaml" <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
clusters:
  - name: in-cluster
    kubeconfig: sim/kubeconfig
backupLocations:
  - name: lan-s3
    s3:
      endpoint: http://127.0.0.1:$port
      bucket: edge-backups
      prefix: site-a
      accessKeyIdFile: access-key
      secretAccessKeyFile: secret-key
      forcePathStyle: true
      partSizeMiB: 5
  - name: velero-style
    s3:
      s3Url: http://127.0.0.1:$port
      bucket: edge-backups
      prefix: site-a
      region: minio
      credentialsFile: credentials
      s3ForcePathStyle: "true"
  - name: wrong-creds
    s3:
      endpoint: http://127.0.0.1:$port
      bucket: edge-backups
      accessKeyIdFile: wrong-key
      secretAccessKeyFile: secret-key
      forcePathStyle: true
  - name: down
    s3:
      endpoint: http://127.0.0.1:$dead
      bucket: edge-backups
      accessKeyIdFile: access-key
      secretAccessKeyFile: secret-key
      forcePathStyle: true
YAML

kc() { "$EDGECD_KUBECTL" --kubeconfig "$work/sim/kubeconfig" --cache-dir "$work/cache" "$@"; }
data="$work/data"
bk() { "$EDGECD_BIN" backup "$@" --data "$data" --config "$work/site.yaml"; }
rs() { "$EDGECD_BIN" restore "$@" --data "$data" --config "$work/site.yaml"; }
expect_fail() {
    local text=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        fail "$* succeeded; expected failure with: $text"
    fi
    grep -qF -- "$text" "$work/err" || fail "$*: expected '$text', got: $(cat "$work/err")"
    ! grep -qF -- "$SECRET_KEY=" "$work/err" || fail "$*: the error shows a credential"
}

SECRET_VALUE="s3cr3t-edge-password-9c1d"
kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {password: $SECRET_VALUE}
YAML

echo "== create, list, describe, verify by name and by s3:// URL"
bk create shop-1 --include-namespaces shop --location lan-s3 >"$work/out" ||
    fail "create: $(cat "$work/out")"
grep -q '^backup shop-1 Completed: 3 items, s3://edge-backups/site-a/shop-1/shop-1.tar.gz.enc' "$work/out" ||
    fail "create said: $(cat "$work/out")"
[ -f "$work/s3/edge-backups/site-a/shop-1/shop-1.tar.gz.enc._S3rver_object" ] ||
    fail "no archive object in the bucket: $(find "$work/s3")"
[ -f "$work/s3/edge-backups/site-a/shop-1/edgecd-backup.json._S3rver_object" ] || fail "no record object"
! grep -rqF "$SECRET_VALUE" "$work/s3" || fail "the Secret is in plain text in the bucket"
# The archive went up before the record.
a=$(grep -n 'shop-1/shop-1.tar.gz.enc' "$work/s3rver.log" | grep -v ' 404 ' | head -1 | cut -d: -f1)
r=$(grep -n 'shop-1/edgecd-backup.json' "$work/s3rver.log" | grep -v ' 404 ' | head -1 | cut -d: -f1)
[ -n "$a" ] && [ -n "$r" ] && [ "$a" -lt "$r" ] || fail "the record was not written after the archive"
bk list --location lan-s3 | grep -qE '^shop-1 +Completed +0 ' || fail "list: $(bk list --location lan-s3)"
bk list --location s3://edge-backups/site-a/ | grep -qE '^shop-1 +Completed' || fail "list by URL"
bk list --location velero-style | grep -qE '^shop-1 +Completed' || fail "list with Velero's keys"
bk list --location s3://edge-backups/other | grep -q shop-1 && fail "another prefix lists shop-1"
bk describe shop-1 --location lan-s3 >"$work/out"
grep -q '^Location: *s3://edge-backups/site-a/shop-1$' "$work/out" || fail "describe: $(cat "$work/out")"
grep -q '^Phase: *Completed$' "$work/out" || fail "describe phase: $(cat "$work/out")"
bk verify shop-1 --location lan-s3 | grep -q 'verified: encrypted, every chunk authenticated, .* 3 objects' ||
    fail "verify: $(bk verify shop-1 --location lan-s3 2>&1)"
expect_fail 'exists already' bk create shop-1 --include-namespaces shop --location lan-s3

echo "== restore from S3 into the cluster"
kc delete namespace shop --wait=false >/dev/null
for _ in $(seq 100); do
    kc get namespace shop >/dev/null 2>&1 || break
    sleep 0.1
done
rs create r1 --from-backup shop-1 --location lan-s3 >"$work/out" || fail "restore: $(cat "$work/out")"
grep -q 'restore r1 Completed: 3 created' "$work/out" || fail "restore said: $(cat "$work/out")"
# kubesim keeps stringData as written (no admission turns it into data).
kc get secret db -n shop -o json | python3 -c '
import base64, json, sys
o = json.load(sys.stdin)
print(o.get("stringData", {}).get("password") or base64.b64decode(o["data"]["password"]).decode())' \
    >"$work/pw" || fail "the Secret was not restored"
[ "$(cat "$work/pw")" = "$SECRET_VALUE" ] || fail "the restored Secret holds $(cat "$work/pw")"
[ "$(kc get cm web -n shop -o jsonpath='{.data.color}')" = blue ] || fail "the ConfigMap was not restored"
rs list --location lan-s3 | grep -qE '^r1 +shop-1 +Completed' || fail "restore list: $(rs list --location lan-s3)"
rs describe r1 --location lan-s3 >/dev/null || fail "restore describe"
[ -f "$data/backups/.restores/r1.json" ] || fail "the restore record is not kept in the data directory"

echo "== wrong credentials, a server that is down, an undescribed bucket, a bad entry"
expect_fail 'InvalidAccessKeyId' bk list --location wrong-creds
grep -qF 'check the location' "$work/err" || fail "no hint: $(cat "$work/err")"
expect_fail 'HTTP 403' bk create w1 --location wrong-creds
[ ! -e "$work/s3/edge-backups/w1" ] || fail "a refused create wrote into the bucket"
expect_fail "127.0.0.1:$dead" bk list --location down
grep -qiF 'connect' "$work/err" || fail "server down: $(cat "$work/err")"
expect_fail 'no backupLocations entry' bk list --location s3://other-bucket
cp "$work/site.yaml" "$work/bad.yaml"
sed -i 's/partSizeMiB: 5/partSizeMiB: 1/' "$work/bad.yaml"
expect_fail 'partSizeMiB: a whole number from 5' "$EDGECD_BIN" backup list --location lan-s3 --config "$work/bad.yaml" --data "$data"
sed -i 's/partSizeMiB: 1/sseKmsKeyId: x/' "$work/bad.yaml"
expect_fail 's3.sseKmsKeyId: unknown field' "$EDGECD_BIN" backup list --location lan-s3 --config "$work/bad.yaml" --data "$data"

echo "== a few thousand objects: a multipart upload, memory bounded"
python3 - "$work/big.json" <<'PY'
import base64, json, random, sys
rnd = random.Random(7)
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "big"}}]
for i in range(3000):
    blob = base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(2560))).decode()
    items.append({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cm-%04d" % i, "namespace": "big"}, "data": {"blob": blob}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"))
PY
kc apply -f "$work/big.json" >/dev/null
/usr/bin/time -f '%M' -o "$work/rss" "$EDGECD_BIN" backup create big-1 --include-namespaces big \
    --location lan-s3 --data "$data" --config "$work/site.yaml" >"$work/out" || fail "big create: $(cat "$work/out")"
grep -q 'Completed: 3001 items' "$work/out" || fail "big create said: $(cat "$work/out")"
grep -q 'big-1.tar.gz.enc?uploads' "$work/s3rver.log" || fail "no multipart upload was started"
grep -q 'big-1.tar.gz.enc?partNumber=2&' "$work/s3rver.log" || fail "no second part was sent"
size=$(stat -c %s "$work/s3/edge-backups/site-a/big-1/big-1.tar.gz.enc._S3rver_object")
[ "$size" -gt $((5 * 1024 * 1024)) ] || fail "the archive ($size bytes) is not over one part"
# Memory is only judged in an uninstrumented build: ASan's shadow memory
# and quarantine multiply it.
limit() { ldd "$EDGECD_BIN" 2>/dev/null | grep -c libasan >/dev/null || [ "$1" -lt "$2" ]; }
rss=$(cat "$work/rss")
echo "peak RSS of a $size-byte backup to S3: $rss KiB"
limit "$rss" 48000 || fail "backup create peaked at $rss KiB"
/usr/bin/time -f '%M' -o "$work/rss" "$EDGECD_BIN" backup verify big-1 --location lan-s3 \
    --data "$data" --config "$work/site.yaml" | grep -q '3001 objects' || fail "big verify"
rss=$(cat "$work/rss")
echo "peak RSS of verifying it from S3: $rss KiB"
limit "$rss" 32000 || fail "verify peaked at $rss KiB (the archive is $size bytes)"

echo "== a create killed mid-upload: nothing listed, the name can be used again"
# Slow the listing of the big namespace so the kill lands between parts.
admin -X POST "$url/kubesim/admin/faults" \
    -d '{"latencyMs": 700, "pathPrefix": "/api/v1/namespaces/big/configmaps"}' >/dev/null
: >"$work/s3rver.log.mark"
before=$(wc -l <"$work/s3rver.log")
"$EDGECD_BIN" backup create big-2 --include-namespaces big --location lan-s3 --data "$data" \
    --config "$work/site.yaml" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 300); do
    tail -n +"$before" "$work/s3rver.log" | grep -q 'big-2.tar.gz.enc?partNumber=1&' && break
    sleep 0.05
done
tail -n +"$before" "$work/s3rver.log" | grep -q 'big-2.tar.gz.enc?partNumber=1&' || fail "no part was sent"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
admin -X DELETE "$url/kubesim/admin/faults" >/dev/null
bk list --location lan-s3 | grep -q big-2 && fail "a killed create is listed"
expect_fail 'backup big-2: not found' bk describe big-2 --location lan-s3
[ ! -e "$work/s3/edge-backups/site-a/big-2/edgecd-backup.json._S3rver_object" ] || fail "a killed create left a record"
bk create big-2 --include-namespaces big --location lan-s3 >/dev/null || fail "create after a kill"
bk list --location lan-s3 | grep -qE '^big-2 +Completed' || fail "big-2 not listed after the retry"

echo "== delete: the record first, then the archive"
bk delete shop-1 --location lan-s3 >/dev/null || fail "delete"
bk list --location lan-s3 | grep -q shop-1 && fail "a deleted backup is listed"
[ -z "$(find "$work/s3/edge-backups/site-a/shop-1" -name '*_S3rver_object' 2>/dev/null)" ] || fail "objects left"
expect_fail 'not found' bk delete shop-1 --location lan-s3

echo "== download from S3: checked on the way, --decrypt to Velero's format"
bk create dl1 --include-namespaces shop --location lan-s3 >/dev/null || fail "create dl1"
bk download dl1 --location lan-s3 --output "$work/dl1.enc" >"$work/dl.out" ||
    fail "download from S3: $(cat "$work/dl.out")"
grep -q 'verified: every chunk' "$work/dl.out" || fail "download from S3: $(cat "$work/dl.out")"
[ "$(sha256sum <"$work/dl1.enc" | cut -d' ' -f1)" = "$(bk describe dl1 --location lan-s3 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["archive"]["sha256"])')" ] ||
    fail "the download's SHA-256 differs from the record's"
bk download dl1 --location lan-s3 --decrypt --output "$work/dl1.tar.gz" >/dev/null ||
    fail "download --decrypt from S3"
tar -tzf "$work/dl1.tar.gz" >"$work/dl1.list"
grep -qx 'resources/secrets/namespaces/shop/db.json' "$work/dl1.list" || fail "the decrypted download lacks the Secret"

echo "== self-backups to S3 (either location), restore-self from S3"
selfdata=$work/selfdata
printf 'correct horse battery staple\n' >"$work/recovery.pass"
chmod 600 "$work/recovery.pass"
"$EDGECD_BIN" schedule create nightly --schedule @daily --include-namespaces shop --keep 3 --data "$selfdata" >/dev/null ||
    fail "schedule create"
adm() { "$EDGECD_BIN" admin "$@" --passphrase-file "$work/recovery.pass"; }
adm backup-self --data "$selfdata" --config "$work/site.yaml" --location lan-s3 \
    --second-location "$work/usb" >"$work/self.out" 2>&1 || fail "backup-self to S3: $(cat "$work/self.out")"
self1=$(sed -n 's/^self-backup \(self-[0-9]*\) written.*/\1/p' "$work/self.out")
[ -n "$self1" ] || fail "backup-self: $(cat "$work/self.out")"
[ -f "$work/s3/edge-backups/site-a/$self1/edgecd-backup.json._S3rver_object" ] || fail "no self-backup record in the bucket"
bk list --location lan-s3 | grep -qE "^$self1 +Completed" || fail "list does not show $self1 in S3"
cmp -s "$work/usb/$self1/$self1.tar.gz.enc" "$work/s3/edge-backups/site-a/$self1/$self1.tar.gz.enc._S3rver_object" ||
    fail "the second location's copy differs from the bucket's"
sleep 1.1
# a folder first, S3 second: the copy goes up
adm backup-self --data "$selfdata" --config "$work/site.yaml" --location "$work/selfloc" \
    --second-location "s3://edge-backups/site-b" >"$work/self.out" 2>&1 || fail "backup-self with S3 second: $(cat "$work/self.out")"
self2=$(sed -n 's/^self-backup \(self-[0-9]*\) written.*/\1/p' "$work/self.out")
cmp -s "$work/selfloc/$self2/$self2.tar.gz.enc" "$work/s3/edge-backups/site-b/$self2/$self2.tar.gz.enc._S3rver_object" ||
    fail "the S3 copy differs from the folder's"
bk verify "$self1" --location lan-s3 --passphrase-file "$work/recovery.pass" >/dev/null || fail "verify $self1 in S3"
adm restore-self "$self1" --location lan-s3 --config "$work/site.yaml" --data "$work/fresh" \
    --config-out "$work/fresh-site.yaml" >"$work/restore-self.out" || fail "restore-self from S3: $(cat "$work/restore-self.out")"
"$EDGECD_BIN" schedule list --data "$work/fresh" | grep -qE '^nightly +Enabled +@daily' ||
    fail "the schedule did not come back: $("$EDGECD_BIN" schedule list --data "$work/fresh" 2>&1)"
ls -A "$work" | grep -q 'edgecd-restore-self' && fail "restore-self left its download behind"
expect_fail 'nope: not found' adm restore-self nope --location lan-s3 --config "$work/site.yaml" --data "$work/fresh2"
[ ! -e "$work/fresh2" ] || fail "a failed restore-self made the data directory"
# serve takes its self-backups to the S3 entry the config names, the copy
# to an s3:// URL; none there yet, so one runs at start
bk delete "$self1" --location lan-s3 >/dev/null || fail "delete $self1"
sed -e 's|^kind: SiteConfig$|kind: SiteConfig\nlisten: 127.0.0.1:0\nselfBackupSchedule: "@daily"\nselfBackupLocation: lan-s3\nselfBackupSecondLocation: s3://edge-backups/site-c\nselfBackupKeep: 1\nselfBackupPassphraseFile: recovery.pass|' \
    "$work/site.yaml" >"$work/site-serve.yaml"
"$EDGECD_BIN" serve --data "$selfdata" --config "$work/site-serve.yaml" >"$work/serve.out" 2>"$work/serve.log" &
serve=$!
pids+=($serve)
for _ in $(seq 150); do
    grep -q 'self-backup self-[0-9]* written to s3://edge-backups/site-a and s3://edge-backups/site-c' "$work/serve.log" && break
    sleep 0.2
done
grep -q 'self-backup self-[0-9]* written to s3://edge-backups/site-a and s3://edge-backups/site-c' "$work/serve.log" ||
    fail "serve wrote no self-backup to S3: $(tail -5 "$work/serve.log")"
kill "$serve"
wait "$serve" 2>/dev/null || true
bk list --location s3://edge-backups/site-c | grep -qE '^self-[0-9]+ +Completed' || fail "no copy in site-c"
# backup-self reads the same keys: keep 1 prunes the older one in both
sleep 1.1
adm backup-self --data "$selfdata" --config "$work/site-serve.yaml" >"$work/self.out" 2>&1 ||
    fail "backup-self with the config's S3 locations: $(cat "$work/self.out")"
[ "$(bk list --location lan-s3 | grep -c '^self-')" = 1 ] || fail "selfBackupKeep 1 in S3: $(bk list --location lan-s3)"
[ "$(bk list --location s3://edge-backups/site-c | grep -c '^self-')" = 1 ] || fail "selfBackupKeep 1 in site-c"

echo "== TLS: the location's CA verifies the server; without it the certificate is refused"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=edge-ca \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=s3 \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -extfile "$work/san.ext" -out "$work/tls.crt" 2>/dev/null
tport=$(free_port)
node "$EDGECD_S3RVER" -d "$work/s3" -a 127.0.0.1 -p "$tport" --key "$work/tls.key" --cert "$work/tls.crt" \
    >"$work/s3rver-tls.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    grep -q 'listening' "$work/s3rver-tls.log" && break
    sleep 0.1
done
cat >>"$work/site.yaml" <<YAML
  - name: tls
    s3:
      endpoint: https://127.0.0.1:$tport
      bucket: edge-backups
      prefix: site-a
      accessKeyIdFile: access-key
      secretAccessKeyFile: secret-key
      forcePathStyle: true
      caFile: ca.crt
  - name: tls-no-ca
    s3:
      endpoint: https://127.0.0.1:$tport
      bucket: edge-backups
      prefix: site-a
      accessKeyIdFile: access-key
      secretAccessKeyFile: secret-key
      forcePathStyle: true
YAML
bk list --location tls | grep -qE '^big-1 +Completed' || fail "list over TLS: $(bk list --location tls 2>&1)"
expect_fail 'certificate' bk list --location tls-no-ca
sed -i '$a\      insecureSkipTLSVerify: true' "$work/site.yaml"
bk list --location tls-no-ca | grep -qE '^big-1 +Completed' || fail "insecureSkipTLSVerify"

echo "PASS"
