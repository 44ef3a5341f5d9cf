/*
 * Restoring a backup into a cluster, with Velero's Restore fields and
 * meaning, and edgecd's GitOps rule for copies (prepare.h).
 *
 * A restore's phases, as Velero names them, each persisted in its record
 * <location>/.restores/<name>.json (written atomically) when entered:
 *
 *   New --restore_check fails (spec, backup, archive)--> FailedValidation
 *    |
 *    +--restore_verify: the whole archive read and checked--> InProgress
 *   InProgress --restore_run: every object tried, none failed--> Completed
 *              --restore_run: some objects failed------------> PartiallyFailed
 *              --the archive changed under it, a write failed--> Failed
 *              --kill -9, power loss: stays InProgress; with no restore
 *                running (the location's lock free) it reads as interrupted
 *   InProgress (interrupted), Failed, FailedValidation
 *              --restore_create with the same name--> runs again from New
 *
 * Nothing is written to the cluster before the whole archive was verified:
 * a first pass checks every chunk, entry and the manifest and indexes what
 * will be restored (the selected objects' uids, which ranks of Velero's
 * order occur, the CRDs); then one pass per rank present, with the
 * verified manifest and entry list as `expect`, creates the objects of
 * that rank in archive order. Memory does not grow with the archive when tmpdir is
 * set: the index (selected objects and the owners they name, by the
 * SHA-256 of their uid, with the restored owner's new uid: 96 bytes each),
 * the verified entry list and the per-object results go to unnamed files
 * there (spill.h) once they outgrow a few hundred KiB; what stays in
 * memory grows with the namespaces, apps and CRDs restored, and with at
 * most 1,000 messages about objects in each of warnings and errors (all
 * are counted). Never the objects.
 *
 * Running again is safe: objects that exist are left alone (or updated
 * with existingResourcePolicy: update) and reported, so a restore cut
 * short finishes on its second run.
 *
 * The location's folder holds the records beside the backups; the dot
 * keeps it out of `backup list` and from ever clashing with a backup's
 * (DNS-1123) name. Restores in one location are serialised by a lock on
 * <location>/.restores/.lock.
 */
#ifndef EDGECD_BACKUP_RESTORE_H
#define EDGECD_BACKUP_RESTORE_H

#include <jansson.h>

#include "backup/collect.h"
#include "backup/crypt.h"
#include "kube/client.h"

#define RESTORE_DIR ".restores"

/*
 * The spec, Velero's Restore fields:
 *
 *   backupName: "shop-1"                         required
 *   includedNamespaces, excludedNamespaces,      as in a Backup (filter.h),
 *   includedResources, excludedResources,        applied to the archive's
 *   includeClusterResources, labelSelector,      objects
 *   orLabelSelectors
 *   namespaceMapping: {"shop": "shop-copy"}
 *   existingResourcePolicy: "none" | "update"   default none
 *   restoreStatus: {includedResources: ["*"]}    keep status (only "*")
 *   preserveNodePorts: false
 *   dryRun: false                                edgecd's: report only
 */

/* Check and default a spec in place; ERR_INVALID naming the field. */
int restore_spec_check(json_t *spec);

#define RESTORE_PROGRESS_MS 2000

struct restore_options {
    const char *name;            /* DNS-1123 subdomain */
    const char *location;        /* the backups' folder, or an S3 location (location.h) */
    const char *records;         /* the folder for restore records (.restores/);
                                    NULL: location (an S3 location needs one) */
    json_t *spec;                /* checked here */
    const struct crypt_key *key; /* NULL: only a plain archive opens */
    int allow_plain;             /* accept an unencrypted archive */
    /* edgecd's GitOps rule: the apps whose objects the restore writes as
     * they were (not mapped to another namespace) must not fight it, so
     * their automated sync is held back from the first write until the
     * last. hold(ctx, labels, 1) is called once the archive is verified
     * and before anything is written, hold(ctx, labels, 0) at the end,
     * whatever the outcome; labels: the edgecd.io/app values (array of
     * strings). NULL: nobody to tell. A failing hold(.., 1) stops the
     * restore before it writes (Failed, with the reason). */
    int (*hold)(void *ctx, const json_t *labels, int on);
    void *hold_ctx;
    /* Velero's counters (totalItems, itemsRestored) after each object;
     * NULL: none. The record in records is rewritten with them at most
     * every RESTORE_PROGRESS_MS as well. */
    collect_progress_fn progress;
    void *progress_ctx;
    /* an existing folder for the run's temporary files (the data
     * directory's tmp/); NULL: everything in memory */
    const char *tmpdir;
};

/* Run a restore. *out_record (may be NULL) is a new reference to the
 * record as last written, without its results (each object's result,
 * which grow with the restore: restore_get reads the whole record).
 * Returns 0 when the restore ran to its end, a PartiallyFailed one
 * included (the record says what failed);
 * ERR_INVALID/ERR_AUTH/ERR_NOTFOUND when validation failed (the record
 * says FailedValidation, the cluster was not touched); ERR_CONFLICT for a
 * name already restored or a restore running in the location; ERR_IO. */
int restore_create(kube_client *kc, const struct restore_options *o, json_t **out_record);

/* Every restore's record in the location, sorted by name, as a new
 * array (empty when there are none). An InProgress record while no
 * restore runs gets "interrupted": true. */
int restore_list(const char *location, json_t **out);

/* One record (new reference), marked as in restore_list. ERR_NOTFOUND. */
int restore_get(const char *location, const char *name, json_t **out);

#endif
