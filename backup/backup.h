/*
 * Making a backup: the spec checked, the cluster collected into a new
 * archive in a location, the manifest and record written, the folder put
 * in place. This is the one entry point the CLI (and later the scheduler
 * and the API) call.
 *
 * A backup's phases, as Velero names them:
 *
 *   New --backup_create--> InProgress --(all kinds listed)--> Completed
 *                               |      --(some kinds failed)--> PartiallyFailed
 *                               +--(discovery or the archive failed)--> Failed
 *
 * Only Completed and PartiallyFailed are ever persisted, by one atomic
 * rename at the end: an interrupted backup (crash, power loss, full disk)
 * leaves no record and is removed by the next create. A backup is never
 * resumed: the cluster has moved on, so a retry starts over.
 */
#ifndef EDGECD_BACKUP_BACKUP_H
#define EDGECD_BACKUP_BACKUP_H

#include <jansson.h>

#include "backup/collect.h"
#include "backup/crypt.h"
#include "kube/client.h"

/* The file name of an archive: <name>.tar.gz.enc, or <name>.tar.gz for
 * Velero's plain format. */
#define BACKUP_EXT_ENCRYPTED ".tar.gz.enc"
#define BACKUP_EXT_PLAIN ".tar.gz"

/* The label of a backup a schedule made: the schedule's name (Velero's). */
#define BACKUP_SCHEDULE_LABEL "velero.io/schedule-name"

struct backup_create_options {
    const char *name;            /* DNS-1123 subdomain */
    const char *location;        /* folder */
    json_t *spec;                /* Velero's Backup spec (filter.h); checked and defaulted here */
    const struct crypt_key *key; /* NULL: Velero's plain tar.gz */
    const char *cluster_name;    /* what the manifest says the cluster was */
    const char *cluster_server;
    const char *edgecd_version;
    const char *schedule; /* the schedule that made it (label velero.io/schedule-name); NULL */
    collect_progress_fn progress; /* NULL: none; see collect.h */
    void *progress_ctx;
    /* an existing folder for the archive's entry list once it outgrows
     * memory (the data directory's tmp/); NULL: in memory */
    const char *tmpdir;
};

/* Make the backup. *out_record (may be NULL) is a new reference to the
 * record written beside the archive. ERR_INVALID (spec, name),
 * ERR_CONFLICT (exists, or another create is running in the location),
 * ERR_IO (writing: a full disk says "No space left on device"), or the
 * cluster's errors when discovery fails. A PartiallyFailed backup is
 * written and returns 0: the record's status.phase and status.errors say
 * what is missing. */
int backup_create(kube_client *kc, const struct backup_create_options *o, json_t **out_record);

/* One process-wide lock that serialises the backups a process runs on
 * its own (self-backups, scheduled ones, their pruning): an edge node
 * has the memory and the disk bandwidth for one at a time, and an S3
 * location's connection is not shared between threads. */
void backup_serial_lock(void);
void backup_serial_unlock(void);

#endif
