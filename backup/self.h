/*
 * The appliance's backup of itself, and bringing it back on a fresh node.
 *
 * One archive (the appliance layout of backup/archive.h, always encrypted
 * with backup/crypt under the operator's recovery passphrase or key file)
 * holds what `edgecd serve` needs to carry on:
 *
 *   appliance/state.db          a snapshot of the store (store_snapshot)
 *   appliance/config/site       the site config file, as written
 *   appliance/config/settings   the argocd-cm file it names (settingsFile)
 *   appliance/config/secrets    the argocd-secret file it names (secretsFile)
 *   appliance/keys/<name>       every file of <data>/keys (API token,
 *                               secret.key sealing repository credentials,
 *                               backup.key, ...)
 *
 * Git mirrors are left out: they are re-fetched from the LAN mirror on the
 * first pass after a restore. The recovery key must not be one of the keys
 * it protects, so a recovery key file inside the data directory is refused.
 *
 * Backups are named self-YYYYMMDDHHMMSS (UTC) and written through the
 * folder-location API (location.h), so they are atomic and listed like
 * cluster backups; keep-last-N prunes the oldest sound ones.
 *
 * Restore runs in two passes over the archive: the first verifies all of
 * it (a tampered, cut or wrong-key archive is refused before anything is
 * written), the second writes the files into a staging folder inside the
 * data directory, checking every entry against the verified manifest, and
 * only then are they renamed into place.
 *
 * Threads: every function may run on any thread; a scheduler owns its
 * thread.
 */
#ifndef EDGECD_BACKUP_SELF_H
#define EDGECD_BACKUP_SELF_H

#include <jansson.h>
#include <stdint.h>

#include "backup/crypt.h"
#include "core/cron.h"
#include "storage/store.h"

#define SELF_PREFIX "self-"
#define SELF_RECORD_KIND "SelfBackup"

/* Load the recovery secret: a passphrase file or a key file (exactly one
 * of them non-empty), as backup/crypt reads them. With data_dir, a file
 * inside it is refused (ERR_INVALID). out is caller-owned
 * (crypt_key_dispose). */
int self_key_load(struct crypt_key *out, const char *passphrase_file, const char *key_file,
                  const char *data_dir);

struct self_options {
    const char *data_dir;
    const char *config_path;   /* the site config; NULL: none */
    const char *settings_file; /* resolved paths the config names; NULL or "": none */
    const char *secrets_file;
    const char *location;        /* folder */
    const char *second_location; /* NULL: none */
    const struct crypt_key *key; /* the recovery passphrase or key; required */
    int keep;                    /* keep the newest this many per location; <= 0: all */
    const char *edgecd_version;
    int64_t now; /* names the backup; 0: the current time */
};

/* Take a self-backup of st (an open store of o->data_dir) now, write it to
 * o->location and then o->second_location, and prune each. *out_record
 * (may be NULL) is a new reference to the record written. ERR_CONFLICT
 * (the name exists, another run holds the location), ERR_INVALID (no key,
 * a recovery key inside the data directory), ERR_IO. A failure in the
 * second location returns its error, the first copy stays. */
int self_backup(store *st, const struct self_options *o, json_t **out_record);

/* Delete all but the newest keep sound self-backups in dir (and any
 * damaged one older than those kept). *out_deleted (may be NULL): how
 * many. ERR_NOTFOUND when dir does not exist. */
int self_prune(const char *dir, int keep, int *out_deleted);

/* The time (Unix seconds, from the name) of the newest sound self-backup
 * in dir: 1 and *out, 0 if there is none (or no such folder). */
int self_last(const char *dir, int64_t *out);

/* The scheduling rule. The first firing of c (times in UTC) after the
 * minute of last: *out_next. 1 if that is at or before now, i.e. a run was
 * missed (downtime) and one catch-up run is due; 0 if not. last < 0
 * (never ran) is always due. */
int self_due(const struct cron *c, int64_t last, int64_t now, int64_t *out_next);

struct self_restore_options {
    const char *archive;
    const char *data_dir;
    const struct crypt_key *key;
    const char *config_out; /* NULL: <data>/config/<the config's file name> */
    int force;              /* allow a non-empty data directory, replace config_out */
};

/* Restore a self-backup into o->data_dir. *out_report (may be NULL): a new
 * object naming what was written where. ERR_AUTH (wrong key), ERR_INVALID
 * (tampered, cut, not an appliance backup), ERR_CONFLICT (the data
 * directory is not empty, config_out exists, without force): in all
 * these nothing is written. */
int self_restore(const struct self_restore_options *o, json_t **out_report);

/* ---- the schedule while serving ---- */

typedef struct self_scheduler self_scheduler;

/* Start a thread that runs self_backup on schedule c (times in UTC),
 * with one catch-up run at start when self_due says one was missed. o
 * and everything it points to are copied. Failed runs are logged and
 * retried at the next firing. */
int self_scheduler_start(self_scheduler **out, store *st, const struct cron *c,
                         const struct self_options *o);

/* Stop the thread (a run in progress finishes first) and free. NULL is
 * fine. */
void self_scheduler_stop(self_scheduler *s);

#endif
