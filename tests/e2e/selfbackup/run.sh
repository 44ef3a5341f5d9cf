#!/bin/bash
# End to end: the appliance backs itself up while it serves and comes back
# on a fresh data directory.
#   - serve with a recovery passphrase and a second location takes a
#     catch-up self-backup at start (none was ever taken), in both places;
#   - `edgecd admin backup-self` runs while serve runs and the engine
#     writes (Git moves every fraction of a second, every move is a sync
#     and a history entry): each snapshot opens and holds the apps;
#   - a tampered archive, a wrong passphrase and a non-empty data
#     directory are refused, and nothing is written;
#   - restore-self into a fresh data directory, then serve there: the same
#     apps, the same history entries, Synced against the same cluster with
#     the objects untouched (same resourceVersion), and the old API token
#     works (the keys came back, 0600).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/a" "$repo/b"
write_rev() { # N
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a-cm}\ndata: {v: "%s"}\n' "$1" >"$repo/a/cm.yaml"
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b-cm}\ndata: {v: "%s"}\n' "$1" >"$repo/b/cm.yaml"
}
write_rev 1
git -C "$repo" init -q -b main
e2e_commit "$repo" "r1"

mkdir -p "$work/secret" "$work/usb"
printf 'correct horse battery staple\n' >"$work/secret/recovery.pass"
chmod 600 "$work/secret/recovery.pass"
cat >"$work/argocd-cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data:
  timeout.reconciliation: 180s
YAML
app_doc() { # NAME PATH
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $1}
spec:
  project: default
  source: {repoURL: 'file://$repo', targetRevision: main, path: $2}
  destination: {server: 'https://kubernetes.default.svc', namespace: shop}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
YAML
}
{
    e2e_site_settings "settingsFile: argocd-cm.yaml" \
        "selfBackupPassphraseFile: $work/secret/recovery.pass" \
        "selfBackupSecondLocation: $work/usb" "selfBackupKeep: 3"
    app_doc alpha a
    app_doc beta b
} >"$work/site.yaml"
e2e_start_serve
old_token=$EDGECD_TOKEN

value() { $KUBECTL get configmap "$1" -n shop -o jsonpath='{.data.v}' 2>/dev/null; }
is_value() { [ "$(value "$1")" = "$2" ]; }
wait_for 20 "first sync" is_value a-cm 1
one_backup() { ls "$1" | grep -q '^self-'; }
wait_for 20 "catch-up self-backup at start" one_backup "$work/data/backups/self"
wait_for 20 "its copy on the second location" one_backup "$work/usb"
grep -q "self-backup: none taken yet, running one now" "$work/serve.log" || fail "no catch-up line in the log"

# Load: Git moves every 0.3 s; each move is a sync and a history entry.
(
    n=2
    while [ ! -f "$work/stop-load" ]; do
        write_rev "$n"
        e2e_commit "$repo" "r$n"
        n=$((n + 1))
        sleep 0.3
    done
) &
pids+=($!)
mkdir -p "$work/loaded"
for i in 1 2 3; do
    sleep 1.1 # names are per second
    "$EDGECD_BIN" admin backup-self --data "$work/data" --config "$work/site.yaml" \
        --location "$work/loaded" >>"$work/backup-self.log" 2>&1 || fail "backup-self under load $i"
done
touch "$work/stop-load"
n_loaded=$(ls "$work/loaded" | grep -c '^self-')
[ "$n_loaded" = 3 ] || fail "$n_loaded backups under load, expected 3"

# Each snapshot taken under load opens: restore it and list its apps.
for b in $(ls "$work/loaded" | grep '^self-'); do
    "$EDGECD_BIN" admin restore-self "$work/loaded/$b/$b.tar.gz.enc" --data "$work/check-$b" \
        --passphrase-file "$work/secret/recovery.pass" >/dev/null || fail "restore-self $b"
    apps=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute("pragma integrity_check").fetchone()[0] == "ok"; assert not c.execute("pragma foreign_key_check").fetchall(); print(" ".join(r[0] for r in c.execute("select name from apps order by name")), c.execute("select count(*) from history").fetchone()[0] > 0)' "$work/check-$b/state.db") ||
        fail "the store of $b is not sound"
    [ "$apps" = "alpha beta True" ] || fail "$b holds \"$apps\""
done
echo "ok: 3 snapshots taken under load open and hold both apps"

# Quiet now: the last state, then the backup that is restored.
last=$(git -C "$repo" log -1 --format=%s | tr -d r)
wait_for 30 "the last revision synced" is_value b-cm "$last"
synced_both() { app_field alpha 'o["status"]["sync"]["status"]' Synced && app_field beta 'o["status"]["sync"]["status"]' Synced; }
wait_for 30 "both apps Synced" synced_both
history() { "$EDGECD_BIN" app history "$1" -o json | python3 -c 'import json,sys; print(",".join(str(h["id"]) + ":" + h["revision"] for h in json.load(sys.stdin)["items"]))'; }
hist_a=$(history alpha)
hist_b=$(history beta)
[ -n "$hist_a" ] && [ -n "$hist_b" ] || fail "no history"
rv_a=$($KUBECTL get configmap a-cm -n shop -o jsonpath='{.metadata.resourceVersion}')
sleep 1.1
"$EDGECD_BIN" admin backup-self --data "$work/data" --config "$work/site.yaml" >"$work/final.out" 2>&1 ||
    fail "backup-self: $(cat "$work/final.out")"
final=$(sed -n 's/^self-backup \(self-[0-9]*\) written.*/\1/p' "$work/final.out")
archive=$work/usb/$final/$final.tar.gz.enc
[ -f "$archive" ] || fail "no copy of $final on the second location"
"$EDGECD_BIN" backup verify "$final" --location "$work/usb" --passphrase-file "$work/secret/recovery.pass" >"$work/verify.out" ||
    fail "backup verify of a self-backup: $(cat "$work/verify.out")"
grep -q "verified: encrypted, every chunk authenticated, .* appliance files, phase Completed" "$work/verify.out" ||
    fail "verify: $(cat "$work/verify.out")"
"$EDGECD_BIN" backup describe "$final" --location "$work/usb" | grep -q "Contents: *the appliance" ||
    fail "backup describe does not say it is an appliance backup"
kept=$(ls "$work/data/backups/self" | grep -c '^self-')
[ "$kept" -le 3 ] || fail "$kept self-backups kept, selfBackupKeep is 3"

# Refusals: nothing written.
cp "$archive" "$work/tampered.enc"
printf '\x55' | dd of="$work/tampered.enc" bs=1 seek=5000 conv=notrunc 2>/dev/null
out=$("$EDGECD_BIN" admin restore-self "$work/tampered.enc" --data "$work/data2" \
    --passphrase-file "$work/secret/recovery.pass" 2>&1) && fail "a tampered archive was restored"
grep -q "chunk" <<<"$out" || fail "tampered: $out"
[ ! -e "$work/data2" ] || fail "a tampered archive wrote $work/data2"
printf 'not the passphrase\n' >"$work/wrong.pass"
chmod 600 "$work/wrong.pass"
out=$("$EDGECD_BIN" admin restore-self "$archive" --data "$work/data2" --passphrase-file "$work/wrong.pass" 2>&1) &&
    fail "the wrong passphrase restored"
grep -qi "wrong" <<<"$out" || fail "wrong passphrase: $out"
[ ! -e "$work/data2" ] || fail "a wrong passphrase wrote $work/data2"
mkdir -p "$work/used" && touch "$work/used/something"
out=$("$EDGECD_BIN" admin restore-self "$archive" --data "$work/used" \
    --passphrase-file "$work/secret/recovery.pass" 2>&1) && fail "a non-empty data directory was used"
grep -q "not empty" <<<"$out" || fail "non-empty: $out"
[ "$(ls "$work/used")" = something ] || fail "a refused restore wrote into $work/used"
echo "ok: tampered, wrong passphrase and non-empty data directory refused, nothing written"

# The old node goes away; a fresh one is restored.
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
"$EDGECD_BIN" admin restore-self "$archive" --data "$work/data2" \
    --passphrase-file "$work/secret/recovery.pass" --config-out "$work/node2/site.yaml" >"$work/restore.out" ||
    fail "restore-self"
cat "$work/restore.out"
[ "$(stat -c %a "$work/data2/keys/api-token")" = 600 ] || fail "api-token is not 0600"
[ "$(stat -c %a "$work/data2/keys")" = 700 ] || fail "keys/ is not 0700"
cmp -s "$work/argocd-cm.yaml" "$work/node2/argocd-cm.yaml" || fail "settingsFile not restored beside the config"
rm -f "$work/serve.out"
"$EDGECD_BIN" serve --data "$work/data2" --config "$work/node2/site.yaml" >"$work/serve.out" 2>>"$work/serve2.log" &
pids+=($!)
wait_for 10 "restored serve started" grep -q 'API at' "$work/serve.out"
EDGECD_SERVER=$(sed -n 's|.*API at \(https\{0,1\}://[^/]*\)/api/v1.*|\1|p' "$work/serve.out")
# the restored keys hold the old node's certificate: the same one is served
EDGECD_CA_FILE=$work/data2/keys/tls.crt
cmp -s "$work/data/keys/tls.crt" "$EDGECD_CA_FILE" || fail "the TLS certificate was not restored"
export EDGECD_SERVER EDGECD_CA_FILE
[ "$(cat "$work/data2/keys/api-token")" = "$old_token" ] || fail "the API token changed"
EDGECD_TOKEN=$old_token
export EDGECD_TOKEN
wait_for 30 "restored apps Synced" synced_both
[ "$(history alpha)" = "$hist_a" ] || fail "alpha history $(history alpha), was $hist_a"
[ "$(history beta)" = "$hist_b" ] || fail "beta history $(history beta), was $hist_b"
sleep 3 # a few passes
[ "$($KUBECTL get configmap a-cm -n shop -o jsonpath='{.metadata.resourceVersion}')" = "$rv_a" ] ||
    fail "the restored appliance re-applied a-cm (resourceVersion changed)"
synced_both || fail "apps left Synced"
echo "ok: restored appliance serves the same apps and history, Synced, objects untouched, old token works"
