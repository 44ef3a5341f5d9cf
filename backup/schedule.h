/*
 * Backup schedules, as Velero's Schedule: a cron expression and a backup
 * template, kept in the store (so a self-backup brings them back) and run
 * by `edgecd serve`.
 *
 * The spec, as stored (JSON text, store_schedule_create):
 *
 *   {"schedule": "0 3 * * *",            five cron fields or @daily-style
 *    "template": {...Velero BackupSpec, storageLocation, ttl...},
 *    "keep": 7,                          keep-last-N of this schedule; 0 = all
 *    "paused": false,
 *    "format": "edgecd" | "velero",      encrypted (default) or plain
 *    "keyFile": "", "passphraseFile": "",  "" = the data directory's backup key
 *    "cluster": ""}                      "" = the site config's only cluster
 *
 * and the status the scheduler writes: {"phase": "Enabled" | "Paused" |
 * "FailedValidation", "lastRunTime", "nextRun", "lastBackup": {"name",
 * "phase", "time"}, "lastError"}.
 *
 * The rule (the one self-backups follow, self_due): a schedule is due when
 * the first firing after its last run (or after its creation, so a new
 * schedule waits for its first firing) is at or before now. After a run,
 * whatever its outcome, the last run is now: firings missed while the
 * node was down or the schedule was paused are not each made up, one run
 * catches up on all of them. A failed run is recorded in lastError and
 * tried again at the next firing.
 *
 * After each run: keep-last-N among the backups labelled with the
 * schedule's name (velero.io/schedule-name) in its location, oldest
 * first; then ttl expiry, which deletes every backup (of any origin: a
 * schedule, `backup create`, the API) whose status.expiration has passed,
 * in the locations the scheduler knows: the default location and every
 * schedule's location. Self-backups carry no expiration and are never
 * swept (their own keep-last-N holds them).
 *
 * Every function takes the time as an argument (Unix seconds, UTC) so the
 * rules are tested with any clock; the scheduler thread reads its clock
 * through a function too.
 */
#ifndef EDGECD_BACKUP_SCHEDULE_H
#define EDGECD_BACKUP_SCHEDULE_H

#include <jansson.h>
#include <stdint.h>

#include "backup/backup.h"
#include "storage/store.h"

#define SCHEDULE_LABEL BACKUP_SCHEDULE_LABEL

/* 0 if name is a DNS-1123 label that leaves room for the timestamp suffix
 * of its backups (at most 48 characters); ERR_INVALID saying why. */
int schedule_name_check(const char *name);

/* Check and default a spec in place (cron, template through
 * filter_spec_check, keep >= 0, format, paused): ERR_INVALID naming the
 * field. */
int schedule_spec_check(json_t *spec);

/* A stored schedule as one Velero-shaped object (a new reference):
 * {apiVersion, kind: Schedule, metadata: {name, creationTimestamp}, spec,
 * status}; an unreadable spec or status reads as {}. */
json_t *schedule_object(const struct store_schedule *sc);

/* "<schedule>-YYYYMMDDHHMMSS" of time t (UTC) into out (n >= 64). */
void schedule_backup_name(char *out, size_t n, const char *schedule, int64_t t);

/* Delete all but the newest keep backups of schedule in location (by the
 * label; names sort by time). keep <= 0: none. *out_deleted (may be NULL).
 * ERR_NOTFOUND if the location does not exist. */
int schedule_prune(const char *location, const char *schedule, int keep, int *out_deleted);

/* Delete every backup in location whose status.expiration is before now.
 * *out_deleted (may be NULL). ERR_NOTFOUND if the location does not
 * exist. */
int schedule_expire(const char *location, int64_t now, int *out_deleted);

/* Runs one backup of a schedule: writes backup `name` from spec's template
 * into location (the template's storageLocation, resolved). *out_record
 * (may be NULL on failure) is a new reference to the record. The
 * scheduler calls it from its thread, one run at a time. */
typedef int (*schedule_run_fn)(void *ctx, const char *schedule, const json_t *spec,
                               const char *name, json_t **out_record);
/* The folder or s3:// URL a location as written in a spec stands for (a
 * backupLocations NAME resolved): a new string, or NULL with err_last. */
typedef char *(*schedule_resolve_fn)(void *ctx, const char *location);

struct schedule_env {
    schedule_run_fn run;
    schedule_resolve_fn resolve;
    void *ctx;
    const char *default_location; /* swept for expired backups too */
};

/* One pass over the store's schedules at time now: each unpaused one that
 * is due runs (env->run), then keep-last-N and ttl expiry; every status
 * is brought up to date (written only when it changed). *out_next (may be
 * NULL): the earliest next firing of any unpaused schedule, INT64_MAX if
 * none. Errors of single schedules are recorded in their status, not
 * returned; a store error is. */
int schedule_tick(store *st, const struct schedule_env *env, int64_t now, int64_t *out_next);

/* ---- the scheduler thread in `edgecd serve` ---- */

typedef struct schedule_runner schedule_runner;

/* The clock: Unix seconds. NULL: time(). */
typedef int64_t (*schedule_clock_fn)(void *ctx);

/* Start a thread that calls schedule_tick when a firing is due and at
 * least every poll_seconds (so schedules the CLI adds, pauses or deletes
 * are seen), plus once at start (the catch-up run). env's strings are
 * copied; env->ctx must outlive the runner. */
int schedule_runner_start(schedule_runner **out, store *st, const struct schedule_env *env,
                          schedule_clock_fn clock, void *clock_ctx, int poll_seconds);

/* Stop the thread (a run in progress finishes first) and free. NULL is
 * fine. */
void schedule_runner_stop(schedule_runner *r);

#endif
