#!/bin/bash
# End to end: backup schedules run by `edgecd serve`, on the test clock
# (EDGECD_SCHEDULE_MINUTE_SECONDS=2: a cron minute every 2 s).
#   - a schedule made with the CLI before serve starts fires `* * * * *`:
#     backups named every-min-YYYYMMDDHHMMSS appear in `backup list`,
#     labelled with the schedule, and `schedule describe` shows the last
#     backup and the next run;
#   - keep 2: the oldest are pruned as new ones come, only two remain;
#   - a manual backup with a short ttl expires and is deleted;
#   - pause stops the firings; unpause brings one catch-up run;
#   - a schedule whose location is not described fails validation
#     without stopping the others;
#   - a backup that runs is visible InProgress with its counters through
#     `backup describe`, and one killed mid-way reads Failed, and after a
#     restart of serve its row is marked Failed for good, and what a
#     crash left in DATA/tmp is gone.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
kc() { $KUBECTL "$@"; }
{
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' shop lab
    for i in 1 2 3; do printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: shop}\ndata: {v: "%d"}\n' "$i" "$i"; done
    for i in $(seq 1 20); do printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lab-%02d, namespace: lab}\ndata: {i: "%d"}\n' "$i" "$i"; done
} >"$work/objects.yaml"
kc apply -f "$work/objects.yaml" >/dev/null || fail "kubectl apply"

e2e_site_settings >"$work/site.yaml"
data=$work/data
ed() { "$EDGECD_BIN" "$@" --data "$data"; }

ed schedule create every-min --schedule '* * * * *' --include-namespaces shop --keep 2 \
    --config "$work/site.yaml" >"$work/create.out" || fail "schedule create: $(cat "$work/create.out")"
ed schedule create broken --schedule '@hourly' --location no-such-entry >/dev/null ||
    fail "schedule create broken"
ed schedule list | grep -q '^every-min .*Enabled .*\* \* \* \* \*' || fail "schedule list: $(ed schedule list)"

EDGECD_SCHEDULE_MINUTE_SECONDS=2 e2e_start_serve
grep -q 'test clock' "$work/serve.log" || fail "serve does not say its schedules run on the test clock"

mine() { ed backup list -o json | python3 -c 'import json,sys; print(" ".join(b["metadata"]["name"] for b in json.load(sys.stdin) if b.get("metadata",{}).get("labels",{}).get("velero.io/schedule-name")=="every-min"))'; }
n_mine() { mine | wc -w; }
has_mine() { [ "$(n_mine)" -ge 1 ]; }
wait_for 30 "a scheduled backup in backup list" has_mine
first=$(mine | awk '{print $1}')
[[ $first =~ ^every-min-[0-9]{14}$ ]] || fail "scheduled backup named \"$first\""
ed backup describe "$first" >"$work/first.txt" || fail "describe $first"
grep -q 'Phase: *Completed' "$work/first.txt" || fail "$first is not Completed: $(cat "$work/first.txt")"
grep -q 'Included: *shop' "$work/first.txt" || fail "$first does not carry the schedule's filter"
ed backup verify "$first" >/dev/null || fail "verify $first"

described() { ed schedule describe every-min >"$work/sched.txt" && grep -q 'Last backup: *every-min-[0-9]* (Completed' "$work/sched.txt" && grep -q 'Next run: *20' "$work/sched.txt"; }
wait_for 20 "schedule describe shows the last backup and the next run" described

# keep 2: three or more runs, two backups left, the first one gone.
gone_first() { ! ed backup list | grep -q "^$first "; }
wait_for 30 "keep-last-2 deleted $first" gone_first
[ "$(n_mine)" = 2 ] || fail "$(n_mine) backups of every-min, expected 2: $(mine)"
logged_prune() { grep -q "schedule every-min: deleted backup $first" "$work/serve.log"; }
wait_for 5 "the log line for the pruned backup" logged_prune

# ttl: a manual backup of one minute is deleted at the next run after it expired.
ed backup create short --include-namespaces shop --ttl 1m --kubeconfig "$work/sim/kubeconfig" >/dev/null ||
    fail "backup create short"
no_short() { ! ed backup list | grep -q '^short '; }
wait_for 30 "the expired manual backup deleted" no_short
logged_expiry() { grep -q 'backup short in .* expired at' "$work/serve.log"; }
wait_for 5 "the log line for the expired backup" logged_expiry

# The broken schedule says why and did not stop the other.
ed schedule list | grep -q '^broken .*FailedValidation.*no-such-entry' ||
    ed schedule describe broken | grep -q 'no-such-entry' || fail "broken schedule: $(ed schedule describe broken)"

# pause: no more runs; unpause: one catch-up, then on schedule again.
ed schedule pause every-min | grep -q 'paused' || fail "pause"
sleep 1
last=$(ed schedule describe every-min -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["lastBackup"]["name"])')
sleep 6 # three test minutes
now=$(ed schedule describe every-min -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["lastBackup"]["name"])')
[ "$now" = "$last" ] || fail "a paused schedule ran: $last then $now"
ed schedule describe every-min | grep -q 'Next run: *<paused>' || fail "paused schedule shows a next run"
ed schedule unpause every-min | grep -q 'unpaused' || fail "unpause"
newer() { [ "$(ed schedule describe every-min -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["lastBackup"]["name"])')" != "$last" ]; }
wait_for 20 "a run after unpause" newer
echo "ok: pause held the schedule, unpause resumed it"

# The REST API (RBAC resource backups): schedules, backups, restores.
api() { api_curl -sS -H "Authorization: Bearer $EDGECD_TOKEN" "$@"; }
code() { api_curl -sS -o "$work/api.json" -w '%{http_code}' -H "Authorization: Bearer $EDGECD_TOKEN" "$@"; }
base=$EDGECD_SERVER/api/v1
[ "$(api_curl -sS -o /dev/null -w '%{http_code}' "$base/backups")" = 401 ] || fail "backups without a token"
api "$base/schedules" | python3 -c 'import json,sys; assert "every-min" in [s["metadata"]["name"] for s in json.load(sys.stdin)]' ||
    fail "GET /schedules"
[ "$(code -X POST "$base/schedules" -d '{"metadata":{"name":"api-sched"},"spec":{"schedule":"@daily","keep":1,"template":{"includedNamespaces":["shop"]}}}')" = 201 ] ||
    fail "POST /schedules: $(cat "$work/api.json")"
check_json "$(cat "$work/api.json")" 'o["spec"]["template"]["ttl"]' 720h0m0s
[ "$(code -X POST "$base/schedules" -d '{"metadata":{"name":"api-sched"},"spec":{"schedule":"@daily"}}')" = 409 ] || fail "POST an existing schedule"
[ "$(code -X POST "$base/schedules" -d '{"metadata":{"name":"bad"},"spec":{"schedule":"61 * * * *"}}')" = 400 ] || fail "POST a bad cron"
grep -q 'minute: 61 is above the maximum 59' "$work/api.json" || fail "bad cron message: $(cat "$work/api.json")"
[ "$(code -X POST "$base/schedules/api-sched/pause")" = 200 ] || fail "pause via the API"
check_json "$(cat "$work/api.json")" 'o["spec"]["paused"]' true
ed schedule list | grep -q '^api-sched .*Paused' || fail "the CLI does not see the API's schedule paused"
[ "$(code -X DELETE "$base/schedules/api-sched")" = 200 ] || fail "DELETE /schedules/api-sched"
[ "$(code "$base/schedules/api-sched")" = 404 ] || fail "a deleted schedule is found"
[ "$(code -X POST "$base/backups" -d '{"metadata":{"name":"api-1"},"spec":{"includedNamespaces":["shop"]}}')" = 202 ] ||
    fail "POST /backups: $(cat "$work/api.json")"
check_json "$(cat "$work/api.json")" 'o["status"]["phase"]' InProgress
api_done() { [ "$(code "$base/$1/$2")" = 200 ] && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["status"]["phase"]=="Completed" else 1)' "$work/api.json"; }
wait_for 30 "the API's backup Completed" api_done backups api-1
ed backup list | grep -q '^api-1 .*Completed' || fail "the API's backup is not listed"
[ "$(code -X POST "$base/backups" -d '{"metadata":{"name":"api-1"}}')" = 409 ] || fail "POST an existing backup"
[ "$(code -X POST "$base/backups" -d '{"metadata":{"name":"Bad"}}')" = 400 ] || fail "POST a bad name"
api "$base/backups" | python3 -c 'import json,sys; assert "api-1" in [b["metadata"]["name"] for b in json.load(sys.stdin)]' ||
    fail "GET /backups"
[ "$(code -X POST "$base/restores" -d '{"metadata":{"name":"api-r1"},"spec":{"backupName":"api-1"}}')" = 202 ] ||
    fail "POST /restores: $(cat "$work/api.json")"
wait_for 30 "the API's restore Completed" api_done restores api-r1
[ "$(code -X POST "$base/restores" -d '{"metadata":{"name":"api-r2"},"spec":{"backupName":"nope"}}')" = 404 ] ||
    fail "a restore of a missing backup"
# Download: the archive as stored, checked whole first (its SHA-256 is
# the record's); the verified copy made for it does not stay behind; a
# damaged archive is refused before a byte goes out.
[ "$(api_curl -sS -o "$work/api-1.tar.gz" -w '%{http_code}' -H "Authorization: Bearer $EDGECD_TOKEN" \
    "$base/backups/api-1/download")" = 200 ] || fail "GET /backups/api-1/download: $(head -c 300 "$work/api-1.tar.gz")"
want=$(api "$base/backups/api-1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["archive"]["sha256"])')
[ "$(sha256sum "$work/api-1.tar.gz" | cut -d' ' -f1)" = "$want" ] || fail "the download is not the backup's archive"
[ -z "$(ls -A "$data/tmp" 2>/dev/null)" ] || fail "a download copy stayed in $data/tmp: $(ls "$data/tmp")"
[ "$(code "$base/backups/nope/download")" = 404 ] || fail "download of a missing backup"
arch=$(find "$data/backups/api-1" -type f -name '*.tar.gz*' | head -1)
[ -n "$arch" ] || fail "no archive file under $data/backups/api-1"
cp "$arch" "$work/arch.keep"
python3 - "$arch" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xFF
open(p, "wb").write(bytes(b))
PY
[ "$(code "$base/backups/api-1/download")" = 400 ] || fail "a damaged backup was sent: $(head -c 200 "$work/api.json")"
[ -z "$(ls -A "$data/tmp" 2>/dev/null)" ] || fail "a refused download left a copy in $data/tmp"
cp "$work/arch.keep" "$arch"
[ "$(code -X DELETE "$base/backups/api-1")" = 200 ] || fail "DELETE /backups/api-1"
[ "$(code "$base/backups/api-1")" = 404 ] || fail "a deleted backup is found"
echo "ok: schedules, backups and restores through the REST API"

# Progress: lab's ConfigMaps come first and fast, then shop's list takes
# 6 s: the run is InProgress with counters meanwhile.
sim_url=$(sed -n 's/^ *server: *//p' "$work/sim/kubeconfig" | head -1)
sim_token=$(sed -n 's/^ *token: *//p' "$work/sim/kubeconfig" | head -1)
admin() { curl -sS --fail --cacert "$work/sim/ca.crt" -H "Authorization: Bearer $sim_token" "$@"; }
ed schedule pause every-min >/dev/null
admin -X POST "$sim_url/kubesim/admin/faults" \
    -d '{"latencyMs": 6000, "pathPrefix": "/api/v1/namespaces/shop/configmaps"}' >/dev/null
"$EDGECD_BIN" backup create slow --include-namespaces lab,shop --data "$data" \
    --kubeconfig "$work/sim/kubeconfig" >"$work/slow.out" 2>&1 &
slow=$!
running() { ed backup describe slow -o json >"$work/slow.json" 2>/dev/null && grep -q '"InProgress"' "$work/slow.json"; }
wait_for 10 "backup describe shows the running backup" running
counted() { ed backup describe slow -o json | python3 -c 'import json,sys; p=json.load(sys.stdin)["status"]["progress"]; sys.exit(0 if p["itemsBackedUp"] >= 1 and p["totalItems"] >= p["itemsBackedUp"] else 1)'; }
wait_for 10 "its progress counters" counted
ed backup describe slow | grep -q 'Progress: .*items backed up' || fail "describe shows no progress line"
wait "$slow" || fail "slow backup: $(cat "$work/slow.out")"
# the same through the API: serve runs it, GET shows it InProgress with counters
[ "$(code -X POST "$base/backups" -d '{"metadata":{"name":"api-slow"},"spec":{"includedNamespaces":["lab","shop"]}}')" = 202 ] ||
    fail "POST /backups api-slow: $(cat "$work/api.json")"
api_running() { api "$base/backups/api-slow" | python3 -c 'import json,sys; s=json.load(sys.stdin)["status"]; sys.exit(0 if s["phase"]=="InProgress" and s["progress"]["itemsBackedUp"] >= 1 else 1)'; }
wait_for 10 "GET /backups/api-slow InProgress with counters" api_running
wait_for 30 "api-slow Completed" api_done backups api-slow
ed backup describe slow -o json | python3 -c 'import json,sys; p=json.load(sys.stdin)["status"]["progress"]; sys.exit(0 if p["itemsBackedUp"] == p["totalItems"] >= 23 else 1)' ||
    fail "the finished backup's counters: $(ed backup describe slow -o json | head -c 800)"

# A restore reports progress the same way (its record, rewritten as it goes).
admin -X POST "$sim_url/kubesim/admin/faults" \
    -d '{"latencyMs": 1500, "pathPrefix": "/api/v1/namespaces/shop/configmaps"}' >/dev/null
"$EDGECD_BIN" restore create r-slow --from-backup slow --data "$data" \
    --kubeconfig "$work/sim/kubeconfig" >"$work/r-slow.out" 2>&1 &
rslow=$!
restoring() { ed restore describe r-slow -o json 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin)["status"]; sys.exit(0 if s["phase"]=="InProgress" and s["progress"]["itemsRestored"] >= 1 and s["progress"]["totalItems"] >= 23 else 1)'; }
wait_for 15 "restore describe shows the running restore's counters" restoring
wait "$rslow" || fail "restore r-slow: $(cat "$work/r-slow.out")"
restore_row() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute("select phase, items_done, total_items from backup_runs where kind=? and name=?",("Restore","r-slow")).fetchone(); sys.exit(0 if r and r[0]=="Completed" and r[1]==r[2]>=23 else 1)' "$data/state.db"; }
restore_row || fail "the restore's row in the store"
admin -X POST "$sim_url/kubesim/admin/faults" \
    -d '{"latencyMs": 6000, "pathPrefix": "/api/v1/namespaces/shop/configmaps"}' >/dev/null

# Killed mid-way: Failed for readers at once, Failed in the store after a restart.
"$EDGECD_BIN" backup create killed --include-namespaces lab,shop --data "$data" \
    --kubeconfig "$work/sim/kubeconfig" >/dev/null 2>&1 &
victim=$!
killed_running() { ed backup describe killed -o json 2>/dev/null | grep -q '"InProgress"'; }
wait_for 10 "the second slow backup running" killed_running
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
admin -X DELETE "$sim_url/kubesim/admin/faults" >/dev/null
ed backup describe killed | grep -q 'Phase: *Failed' || fail "a killed backup does not read Failed: $(ed backup describe killed)"
ed backup list | grep -q '^killed ' && fail "a killed backup is listed"
kill "${pids[-1]}" # serve, the last started
wait "${pids[-1]}" 2>/dev/null || true
# what a crash leaves in DATA/tmp (a download's copy, a temporary file's
# brief name) is removed when serve starts; anything else stays
mkdir -p "$data/tmp"
touch "$data/tmp/download-AbC123" "$data/tmp/.download-x.tmp-AbC123" "$data/tmp/.spill-AbC123" \
    "$data/tmp/notes.txt"
EDGECD_SCHEDULE_MINUTE_SECONDS=2 e2e_start_serve
[ "$(ls -A "$data/tmp")" = notes.txt ] || fail "DATA/tmp after serve started: $(ls -A "$data/tmp")"
marked() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute("select phase, message from backup_runs where name=?",("killed",)).fetchone(); sys.exit(0 if r and r[0]=="Failed" and "stopped while it ran" in r[1] else 1)' "$data/state.db"; }
marked || fail "serve did not mark the killed run Failed at start"
echo "ok: a killed run is marked Failed at start"
