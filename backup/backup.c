/*
 * backup_create (see backup.h for the phases). The manifest inside the
 * archive and the record beside it carry the same summary; the record
 * adds what only exists once the archive is closed (its size and
 * SHA-256), and leaves out the entry list, so listing a location reads a
 * few hundred bytes per backup and never needs the key.
 */
#include "backup/backup.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backup/archive.h"
#include "backup/collect.h"
#include "backup/filter.h"
#include "backup/location.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

static pthread_mutex_t backup_serial = PTHREAD_MUTEX_INITIALIZER;

void backup_serial_lock(void)
{
    pthread_mutex_lock(&backup_serial);
}

void backup_serial_unlock(void)
{
    pthread_mutex_unlock(&backup_serial);
}

static void backup_time(char out[21], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *backup_encryption(const struct crypt_key *key, char *tmp, size_t n)
{
    if (!key)
        return "none";
    if (key->kdf == CRYPT_KDF_KEYFILE)
        return "AES-256-GCM, key file";
    snprintf(tmp, n, "AES-256-GCM, passphrase (PBKDF2-HMAC-SHA256, %u iterations)",
             key->iterations ? key->iterations : CRYPT_MIN_ITERATIONS);
    return tmp;
}

int backup_create(kube_client *kc, const struct backup_create_options *o, json_t **out_record)
{
    struct location_tx tx;
    struct collect_result res;
    archive_writer *w = NULL;
    json_t *manifest = NULL, *record = NULL, *status;
    char *archive_name = NULL, *shown = NULL, start[21], end[21], expires[21], sha[65], enc[128];
    uint64_t size = 0;
    double ttl = 0;
    time_t t0 = time(NULL);
    int rc, begun = 0;

    if (out_record)
        *out_record = NULL;
    memset(&tx, 0, sizeof(tx));
    tx.fd = tx.lock_fd = -1;
    memset(&res, 0, sizeof(res));
    if ((rc = filter_spec_check(o->spec)) < 0)
        return rc;
    json_object_set_new(o->spec, "storageLocation", json_string(o->location));
    str_go_duration(doc_get_str(o->spec, "ttl"), &ttl);
    archive_name = xasprintf("%s%s", o->name, o->key ? BACKUP_EXT_ENCRYPTED : BACKUP_EXT_PLAIN);
    if ((rc = location_begin(&tx, o->location, o->name, archive_name)) < 0)
        goto out;
    begun = 1;
    shown = xasprintf("%s/%s/%s", o->location, o->name, archive_name);
    if ((rc = tx.fd >= 0 ? archive_writer_new(&w, tx.fd, shown, o->key)
                         : archive_writer_new_sink(&w, location_tx_write, &tx, shown, o->key)) < 0)
        goto out;
    if (o->tmpdir)
        archive_writer_set_tmpdir(w, o->tmpdir);
    if ((rc = collect_run(kc, o->spec, w, &res, o->progress, o->progress_ctx)) < 0)
        goto out;
    backup_time(start, t0);
    backup_time(end, time(NULL));
    backup_time(expires, t0 + (time_t)ttl);
    manifest = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s?, s:s?}, s:O, s:s, s:s, s:s, s:s, s:{s:I, s:O}, s:O, "
        "s:O}",
        "apiVersion", "edgecd.io/v1alpha1", "kind", ARCHIVE_MANIFEST_KIND, "name", o->name,
        "edgecdVersion", o->edgecd_version ? o->edgecd_version : "unknown", "formatVersion",
        ARCHIVE_FORMAT_VERSION, "cluster", "name", o->cluster_name, "server", o->cluster_server,
        "spec", o->spec, "phase", json_array_size(res.errors) ? "PartiallyFailed" : "Completed",
        "startTimestamp", start, "completionTimestamp", end, "expiration", expires, "counts",
        "items", (json_int_t)res.items, "resources", res.resources, "errors", res.errors,
        "warnings", res.warnings);
    if ((rc = archive_writer_finish(w, manifest, &size, sha)) < 0)
        goto out;
    /* The record: the manifest's summary and the archive's identity. */
    status = json_pack(
        "{s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:{s:I, s:I}}", "phase",
        json_object_get(manifest, "phase"), "formatVersion", ARCHIVE_FORMAT_VERSION,
        "startTimestamp", json_object_get(manifest, "startTimestamp"), "completionTimestamp",
        json_object_get(manifest, "completionTimestamp"), "expiration",
        json_object_get(manifest, "expiration"), "cluster", json_object_get(manifest, "cluster"),
        "edgecdVersion", json_object_get(manifest, "edgecdVersion"), "counts",
        json_object_get(manifest, "counts"), "errors", res.errors, "warnings", res.warnings,
        "progress", "totalItems", (json_int_t)res.items, "itemsBackedUp", (json_int_t)res.items);
    json_object_set_new(status, "archive",
                        json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "file", archive_name, "format",
                                  o->key ? "edgecd" : "velero", "encryption",
                                  backup_encryption(o->key, enc, sizeof(enc)), "size",
                                  (json_int_t)size, "sha256", sha, "entries",
                                  (json_int_t)archive_writer_count(w) + 1)); /* and the manifest */
    record = json_pack("{s:s, s:s, s:{s:s}, s:O, s:o}", "apiVersion", "edgecd.io/v1alpha1", "kind",
                       "Backup", "metadata", "name", o->name, "spec", o->spec, "status", status);
    if (o->schedule)
        doc_set_new(record, "metadata.labels." BACKUP_SCHEDULE_LABEL, json_string(o->schedule));
    rc = location_commit(&tx, record);
    if (rc == 0 && out_record) {
        *out_record = record;
        record = NULL;
    }
out:
    if (rc < 0 && begun)
        err_prefix(rc, "backup %s", o->name);
    archive_writer_free(w);
    location_abort(&tx); /* a no-op after commit */
    collect_result_dispose(&res);
    json_decref(manifest);
    json_decref(record);
    free(archive_name);
    free(shown);
    return rc;
}
