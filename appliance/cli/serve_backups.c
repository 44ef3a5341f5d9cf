/*
 * Scheduled backups in `edgecd serve` (serve_backups.h). A run reads the
 * site config again (cluster, backupLocations), so an edited config
 * applies at the next firing without a restart, and builds the same flags
 * `edgecd backup create` would have parsed: one code path for both.
 *
 * The test clock (EDGECD_SCHEDULE_MINUTE_SECONDS) runs from the moment
 * serve started: clock = start + (real - start) * 60 / N, so a test sees
 * several firings of `* * * * *` in a few seconds, with distinct names.
 */
#include "cli/serve_backups.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/download.h"
#include "backup/filter.h"
#include "backup/location.h"
#include "backup/restore.h"
#include "backup/schedule.h"
#include "backup/track.h"
#include "cli/cmd_backup.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#ifndef EDGECD_VERSION
#define EDGECD_VERSION "0.0.0"
#endif

struct serve_backups {
    store *st;
    char *config_path, *data_dir, *default_location;
    char *tmp_dir; /* DATA/tmp: downloads, and what backups spill (NULL: none) */
    schedule_runner *runner;
    int64_t start;
    long minute_seconds; /* 60 unless the test clock is on */
    /* backups and restores the API asked for, run in order by worker */
    pthread_t worker;
    int worker_started, stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    json_t *queue; /* [{kind, name, spec, location}] */
};

static int64_t serve_backups_clock(void *ctx)
{
    struct serve_backups *b = ctx;
    int64_t now = (int64_t)time(NULL);
    return b->start + (now - b->start) * 60 / b->minute_seconds;
}

/* The flags `backup create` would have had for spec's template. */
static void serve_backups_cli(struct serve_backups *b, const json_t *spec, struct backup_cli *o)
{
    memset(o, 0, sizeof(*o));
    o->data = b->data_dir;
    o->config = b->config_path;
    o->format = doc_get_str(spec, "format");
    o->cluster = doc_get_str(spec, "cluster") && doc_get_str(spec, "cluster")[0]
                     ? doc_get_str(spec, "cluster")
                     : NULL;
    o->key_file = doc_get_str(spec, "keyFile");
    o->passphrase_file = doc_get_str(spec, "passphraseFile");
    o->location = doc_get_str(spec, "template.storageLocation");
}

static char *serve_backups_resolve(void *ctx, const char *location)
{
    struct serve_backups *b = ctx;
    /* A schedule stores folders absolute: a bare word names an S3 entry,
     * which may have left the site config since. */
    return backup_cli_resolve(b->config_path, b->data_dir, location);
}

static int serve_backups_run(void *ctx, const char *schedule, const json_t *spec, const char *name,
                             json_t **out_record)
{
    struct serve_backups *b = ctx;
    struct backup_cli o;
    struct backup_create_options co;
    struct backup_track track;
    struct crypt_key key;
    kube_client *kc = NULL;
    json_t *tmpl = json_deep_copy(json_object_get(spec, "template"));
    char *cname = NULL, *cserver = NULL;
    int rc, have_key = 0, plain;

    *out_record = NULL;
    memset(&key, 0, sizeof(key));
    memset(&track, 0, sizeof(track));
    serve_backups_cli(b, spec, &o);
    plain = o.format && !strcmp(o.format, "velero");
    if (o.key_file && !o.key_file[0])
        o.key_file = NULL;
    if (o.passphrase_file && !o.passphrase_file[0])
        o.passphrase_file = NULL;
    if ((rc = backup_cli_location(&o)) < 0 ||
        (!plain && (rc = backup_cli_key(&o, 1, &key, &have_key)) < 0) ||
        (rc = backup_cli_client(&o, &kc, &cname, &cserver)) < 0)
        goto out;
    memset(&co, 0, sizeof(co));
    co.name = name;
    co.location = o.location;
    co.spec = tmpl;
    co.key = have_key ? &key : NULL;
    co.cluster_name = cname;
    co.cluster_server = cserver;
    co.edgecd_version = EDGECD_VERSION;
    co.schedule = schedule;
    co.progress = backup_track_progress;
    co.progress_ctx = &track;
    co.tmpdir = b->tmp_dir;
    backup_track_begin(&track, b->st, "Backup", name, o.location);
    rc = backup_create(kc, &co, out_record);
    backup_track_end(&track,
                     rc < 0 ? "Failed"
                            : (doc_get_str(*out_record, "status.phase")
                                   ? doc_get_str(*out_record, "status.phase")
                                   : "Completed"),
                     rc < 0 ? err_last() : "");
out:
    kube_client_free(kc);
    crypt_key_dispose(&key);
    free(cname);
    free(cserver);
    free(o.location_buf);
    free(o.records_buf);
    json_decref(tmpl);
    return rc;
}

/* ---- the REST API's work (server_actions.backups) ---- */

static void serve_backups_restore(struct serve_backups *b, const json_t *job)
{
    struct backup_cli o;
    struct restore_options ro;
    struct restore_hold_ctx hold;
    struct backup_track track;
    struct crypt_key key;
    kube_client *kc = NULL;
    json_t *spec = json_deep_copy(json_object_get(job, "spec")), *rec = NULL;
    char *cname = NULL, *cserver = NULL;
    int rc, have_key = 0;

    memset(&o, 0, sizeof(o));
    memset(&key, 0, sizeof(key));
    o.data = b->data_dir;
    o.config = b->config_path;
    o.location = doc_get_str(job, "location");
    memset(&ro, 0, sizeof(ro));
    ro.name = doc_get_str(job, "name");
    backup_track_begin(&track, b->st, "Restore", ro.name, o.location);
    if ((rc = backup_cli_location(&o)) < 0 || (rc = backup_cli_key(&o, 0, &key, &have_key)) < 0 ||
        (rc = backup_cli_client(&o, &kc, &cname, &cserver)) < 0)
        goto out;
    ro.location = o.location;
    ro.records = o.records;
    ro.spec = spec;
    ro.key = have_key ? &key : NULL;
    /* A plain archive is not authenticated: only when the request said
     * so, as the CLI's --format velero. */
    ro.allow_plain = json_is_true(json_object_get(job, "plain"));
    hold.st = b->st;
    hold.name = ro.name;
    ro.hold = restore_cli_hold;
    ro.hold_ctx = &hold;
    ro.progress = backup_track_progress;
    ro.progress_ctx = &track;
    ro.tmpdir = b->tmp_dir;
    rc = restore_create(kc, &ro, &rec);
out:
    if (rc < 0)
        log_error("restore %s: %s", ro.name, err_last());
    else
        log_info("restore %s: %s", ro.name, doc_get_str(rec, "status.phase"));
    backup_track_end(&track,
                     doc_get_str(rec, "status.phase") ? doc_get_str(rec, "status.phase") : "Failed",
                     rc < 0 ? err_last() : "");
    err_clear();
    json_decref(rec);
    json_decref(spec);
    kube_client_free(kc);
    crypt_key_dispose(&key);
    free(cname);
    free(cserver);
    free(o.location_buf);
    free(o.records_buf);
}

static void serve_backups_job(struct serve_backups *b, const json_t *job)
{
    const char *kind = doc_get_str(job, "kind"), *name = doc_get_str(job, "name");
    json_t *rec = NULL;

    backup_serial_lock();
    if (!strcmp(kind, "restores")) {
        serve_backups_restore(b, job);
    } else {
        json_t *spec =
            json_pack("{s:O, s:s}", "template", json_object_get(job, "spec"), "format", "edgecd");
        doc_set_new(spec, "template.storageLocation", json_string(doc_get_str(job, "location")));
        if (serve_backups_run(b, NULL, spec, name, &rec) < 0)
            log_error("backup %s: %s", name, err_last());
        else
            log_info("backup %s: %s", name, doc_get_str(rec, "status.phase"));
        err_clear();
        json_decref(spec);
        json_decref(rec);
    }
    backup_serial_unlock();
}

static void *serve_backups_worker(void *arg)
{
    struct serve_backups *b = arg;

    pthread_mutex_lock(&b->lock);
    for (;;) {
        json_t *job;
        while (!b->stop && json_array_size(b->queue) == 0)
            pthread_cond_wait(&b->wake, &b->lock);
        if (b->stop)
            break;
        job = json_incref(json_array_get(b->queue, 0));
        json_array_remove(b->queue, 0);
        pthread_mutex_unlock(&b->lock);
        serve_backups_job(b, job);
        json_decref(job);
        pthread_mutex_lock(&b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* The location of a request, resolved (NULL: the default); with records,
 * where restore records of it live (a folder). */
static char *serve_backups_where(struct serve_backups *b, const char *location, int records)
{
    char *out;
    if (!location || !location[0])
        return xstrdup(b->default_location);
    if (location[0] == '/')
        return backup_cli_resolve(b->config_path, b->data_dir, location); /* a folder */
    backup_serial_lock(); /* it may register an S3 location */
    out = backup_cli_resolve(b->config_path, b->data_dir, location);
    backup_serial_unlock();
    if (out && records && location_is_s3(out)) {
        free(out);
        out = xstrdup(b->default_location);
    }
    return out;
}

/* Around a read or delete in where: an S3 location's connection is
 * shared with the backup threads, so it waits for a run there to end; a
 * folder needs no lock (its own lock file guards creates), so the API
 * answers while a backup runs. */
static void serve_backups_lock(const char *where, int on)
{
    if (!location_is_s3(where))
        return;
    if (on)
        backup_serial_lock();
    else
        backup_serial_unlock();
}

/* A run the store knows of (running, or failed before its record), in
 * the shape of a record; ERR_NOTFOUND naming it. */
static int serve_backups_run_record(struct serve_backups *b, const char *kind, const char *name,
                                    json_t **out)
{
    struct backup_cli o;
    memset(&o, 0, sizeof(o));
    o.data = b->data_dir;
    *out = backup_cli_run_record(&o, kind, name);
    return *out ? 0 : err_set(ERR_NOTFOUND, "%s %s: not found", kind, name);
}

/* Queue a backup or restore (plain: a restore may read a plain archive);
 * *out is its InProgress row. */
static int serve_backups_enqueue(struct serve_backups *b, const char *kind, const char *name,
                                 json_t *spec, const char *location, int plain, json_t **out)
{
    struct store_run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.kind = !strcmp(kind, "backups") ? "Backup" : "Restore";
    r.name = (char *)name;
    r.location = (char *)location;
    r.phase = "InProgress";
    r.message = "";
    r.pid = (long long)getpid();
    if ((rc = store_run_put(b->st, &r)) < 0)
        return rc;
    pthread_mutex_lock(&b->lock);
    json_array_append_new(b->queue,
                          json_pack("{s:s, s:s, s:O, s:s, s:b}", "kind", kind, "name", name, "spec",
                                    spec, "location", location, "plain", plain));
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
    return serve_backups_run_record(b, r.kind, name, out);
}

/* 0 if no run of kind and name is InProgress, else ERR_CONFLICT. */
static int serve_backups_idle(struct serve_backups *b, const char *kind, const char *name)
{
    json_t *run = NULL;
    int busy = serve_backups_run_record(b, kind, name, &run) == 0 &&
               !strcmp(doc_get_str(run, "status.phase"), "InProgress");
    err_clear();
    json_decref(run);
    return busy ? err_set(ERR_CONFLICT, "%s %s: running", kind, name) : 0;
}

static int serve_backups_list(struct serve_backups *b, const char *name, const char *location,
                              const json_t *body, json_t **out)
{
    char *where = serve_backups_where(b, location, 0);
    int rc;
    (void)name;
    (void)body;
    if (!where)
        return ERR_INVALID;
    serve_backups_lock(where, 1);
    rc = location_list(where, out);
    serve_backups_lock(where, 0);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        *out = json_array();
        rc = 0;
    }
    free(where);
    return rc;
}

static int serve_backups_get(struct serve_backups *b, const char *name, const char *location,
                             const json_t *body, json_t **out)
{
    char *where = serve_backups_where(b, location, 0);
    int rc;
    (void)body;
    if (!where)
        return ERR_INVALID;
    serve_backups_lock(where, 1);
    rc = location_get(where, name, out, NULL);
    serve_backups_lock(where, 0);
    free(where);
    if (rc == ERR_NOTFOUND && serve_backups_run_record(b, "Backup", name, out) == 0)
        return 0;
    return rc;
}

static int serve_backups_create(struct serve_backups *b, const char *name, const char *location,
                                const json_t *body, json_t **out)
{
    const char *want = doc_get_str(body, "metadata.name");
    json_t *spec = json_deep_copy(json_object_get(body, "spec")), *rec = NULL;
    char *where = NULL;
    int rc;
    (void)name;

    if (!spec)
        spec = json_object();
    if (!want || !str_dns_subdomain(want)) {
        rc = err_set(ERR_INVALID, "metadata.name: a DNS-1123 subdomain is required");
        goto out;
    }
    if ((rc = filter_spec_check(spec)) < 0)
        goto out;
    if (!(where = serve_backups_where(b, location ? location : doc_get_str(spec, "storageLocation"),
                                      0))) {
        rc = ERR_INVALID;
        goto out;
    }
    serve_backups_lock(where, 1);
    rc = location_get(where, want, &rec, NULL);
    serve_backups_lock(where, 0);
    if (rc == 0) {
        rc = err_set(ERR_CONFLICT, "backup %s: exists already in %s", want, where);
        goto out;
    }
    err_clear();
    if ((rc = serve_backups_idle(b, "Backup", want)) == 0)
        rc = serve_backups_enqueue(b, "backups", want, spec, where, 0, out);
out:
    json_decref(rec);
    json_decref(spec);
    free(where);
    return rc;
}

static int serve_backups_delete(struct serve_backups *b, const char *name, const char *location,
                                const json_t *body, json_t **out)
{
    char *where = serve_backups_where(b, location, 0);
    int rc;
    (void)body;
    if (!where)
        return ERR_INVALID;
    serve_backups_lock(where, 1);
    rc = location_delete(where, name);
    serve_backups_lock(where, 0);
    if (rc == 0)
        *out = json_pack("{s:s, s:s}", "deleted", name, "location", where);
    free(where);
    return rc;
}

static int serve_restores_list(struct serve_backups *b, const char *name, const char *location,
                               const json_t *body, json_t **out)
{
    char *where = serve_backups_where(b, location, 1);
    int rc;
    (void)name;
    (void)body;
    if (!where)
        return ERR_INVALID;
    rc = restore_list(where, out);
    free(where);
    return rc;
}

static int serve_restores_get(struct serve_backups *b, const char *name, const char *location,
                              const json_t *body, json_t **out)
{
    char *where = serve_backups_where(b, location, 1);
    int rc;
    (void)body;
    if (!where)
        return ERR_INVALID;
    rc = restore_get(where, name, out);
    free(where);
    if (rc == ERR_NOTFOUND && serve_backups_run_record(b, "Restore", name, out) == 0)
        return 0;
    return rc;
}

static int serve_restores_create(struct serve_backups *b, const char *name, const char *location,
                                 const json_t *body, json_t **out)
{
    const char *want = doc_get_str(body, "metadata.name");
    json_t *spec = json_deep_copy(json_object_get(body, "spec")), *rec = NULL;
    char *where = NULL;
    int rc;
    (void)name;

    if (!spec)
        spec = json_object();
    if (!want || !str_dns_subdomain(want)) {
        rc = err_set(ERR_INVALID, "metadata.name: a DNS-1123 subdomain is required");
        goto out;
    }
    if ((rc = restore_spec_check(spec)) < 0)
        goto out;
    if (!(where = serve_backups_where(b, location, 0))) {
        rc = ERR_INVALID;
        goto out;
    }
    /* The backup must be there; the rest is checked by the run, before
     * it touches the cluster. */
    serve_backups_lock(where, 1);
    rc = location_get(where, doc_get_str(spec, "backupName"), &rec, NULL);
    serve_backups_lock(where, 0);
    if (rc == 0 && (rc = serve_backups_idle(b, "Restore", want)) == 0)
        rc = serve_backups_enqueue(
            b, "restores", want, spec, where,
            doc_get_str(body, "format") && !strcmp(doc_get_str(body, "format"), "velero"), out);
out:
    json_decref(rec);
    json_decref(spec);
    free(where);
    return rc;
}

static int serve_schedules_list(struct serve_backups *b, const char *name, const char *location,
                                const json_t *body, json_t **out)
{
    struct store_schedule *v = NULL;
    size_t n = 0;
    int rc;
    (void)name;
    (void)location;
    (void)body;
    if ((rc = store_schedule_list(b->st, &v, &n)) < 0)
        return rc;
    *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(*out, schedule_object(&v[i]));
    store_schedules_free(v, n);
    return 0;
}

static int serve_schedules_get(struct serve_backups *b, const char *name, const char *location,
                               const json_t *body, json_t **out)
{
    struct store_schedule sc;
    int rc;
    (void)location;
    (void)body;
    if ((rc = store_schedule_get(b->st, name, &sc)) == 0)
        *out = schedule_object(&sc);
    store_schedule_dispose(&sc);
    return rc;
}

static int serve_schedules_create(struct serve_backups *b, const char *name, const char *location,
                                  const json_t *body, json_t **out)
{
    const char *want = doc_get_str(body, "metadata.name"), *loc;
    json_t *spec = json_deep_copy(json_object_get(body, "spec"));
    char *text = NULL, *where = NULL;
    int rc;
    (void)name;
    (void)location;

    if ((rc = schedule_name_check(want)) < 0)
        goto out;
    if (!json_is_object(spec)) {
        rc = err_set(ERR_INVALID, "spec: missing");
        goto out;
    }
    if ((rc = schedule_spec_check(spec)) < 0)
        goto out;
    /* A folder must be absolute (serve's working directory means
     * nothing to the caller); an S3 name must be described. */
    if ((loc = doc_get_str(spec, "template.storageLocation")) &&
        !(where = serve_backups_where(b, loc, 0))) {
        rc = ERR_INVALID;
        goto out;
    }
    text = json_dumps(spec, JSON_COMPACT);
    if ((rc = store_schedule_create(b->st, want, text)) == 0)
        rc = serve_schedules_get(b, want, NULL, NULL, out);
out:
    free(text);
    free(where);
    json_decref(spec);
    return rc;
}

static int serve_schedules_delete(struct serve_backups *b, const char *name, const char *location,
                                  const json_t *body, json_t **out)
{
    int rc;
    (void)location;
    (void)body;
    if ((rc = store_schedule_delete(b->st, name)) == 0)
        *out = json_pack("{s:s}", "deleted", name);
    return rc;
}

static int serve_schedules_pause_set(struct serve_backups *b, const char *name, int paused,
                                     json_t **out)
{
    struct store_schedule sc;
    json_t *spec = NULL;
    char *text = NULL;
    int rc;

    if ((rc = store_schedule_get(b->st, name, &sc)) < 0)
        goto out;
    spec = json_loads(sc.spec_json, 0, NULL);
    if (!json_is_object(spec)) {
        rc = err_set(ERR_INVALID, "schedule %s: its spec is not JSON", name);
        goto out;
    }
    json_object_set_new(spec, "paused", json_boolean(paused));
    text = json_dumps(spec, JSON_COMPACT);
    if ((rc = store_schedule_spec_put(b->st, name, text)) == 0)
        rc = serve_schedules_get(b, name, NULL, NULL, out);
out:
    free(text);
    json_decref(spec);
    store_schedule_dispose(&sc);
    return rc;
}

static int serve_schedules_pause(struct serve_backups *b, const char *name, const char *location,
                                 const json_t *body, json_t **out)
{
    (void)location;
    (void)body;
    return serve_schedules_pause_set(b, name, 1, out);
}

static int serve_schedules_unpause(struct serve_backups *b, const char *name, const char *location,
                                   const json_t *body, json_t **out)
{
    (void)location;
    (void)body;
    return serve_schedules_pause_set(b, name, 0, out);
}

/* A verified copy of backup name in a new temporary file under the data
 * directory, for the API to send and then delete: *out {"file", "size",
 * "verified"}. Checked as `backup download` checks (with the data
 * directory's key: every chunk, entry and the manifest), so a damaged
 * backup is refused before a byte goes out. */
static int serve_backups_download(struct serve_backups *b, const char *name, const char *location,
                                  const json_t *body, json_t **out)
{
    struct backup_download_options d;
    struct backup_cli o;
    struct crypt_key key;
    char *where = serve_backups_where(b, location, 0), *dir = NULL, *file = NULL;
    int rc, have_key = 0, fd;

    (void)body;
    memset(&key, 0, sizeof(key));
    memset(&o, 0, sizeof(o));
    o.data = b->data_dir;
    o.config = b->config_path;
    if (!where)
        return ERR_INVALID;
    dir = xasprintf("%s/tmp", b->data_dir);
    if ((rc = fs_mkdir_p(dir, 0700)) < 0 || (rc = backup_cli_key(&o, 0, &key, &have_key)) < 0)
        goto out;
    file = xasprintf("%s/download-XXXXXX", dir);
    if ((fd = mkstemp(file)) < 0) {
        rc = err_set(ERR_IO, "%s: %s", file, strerror(errno));
        goto out;
    }
    close(fd);
    memset(&d, 0, sizeof(d));
    d.location = where;
    d.name = name;
    d.output = file;
    d.key = have_key ? &key : NULL;
    d.force = 1;
    d.tmpdir = dir;
    serve_backups_lock(where, 1);
    rc = backup_download(&d, out);
    serve_backups_lock(where, 0);
    if (rc < 0)
        unlink(file);
out:
    crypt_key_dispose(&key);
    free(where);
    free(dir);
    free(file);
    return rc;
}

static const struct {
    const char *kind, *verb;
    int (*fn)(struct serve_backups *b, const char *name, const char *location, const json_t *body,
              json_t **out);
} serve_backups_verbs[] = {
    {"backups", "list", serve_backups_list},
    {"backups", "get", serve_backups_get},
    {"backups", "create", serve_backups_create},
    {"backups", "delete", serve_backups_delete},
    {"backups", "download", serve_backups_download},
    {"restores", "list", serve_restores_list},
    {"restores", "get", serve_restores_get},
    {"restores", "create", serve_restores_create},
    {"schedules", "list", serve_schedules_list},
    {"schedules", "get", serve_schedules_get},
    {"schedules", "create", serve_schedules_create},
    {"schedules", "delete", serve_schedules_delete},
    {"schedules", "pause", serve_schedules_pause},
    {"schedules", "unpause", serve_schedules_unpause},
};

int serve_backups_api(void *ctx, const char *kind, const char *verb, const char *name,
                      const char *location, const json_t *body, json_t **out)
{
    size_t i;
    *out = NULL;
    for (i = 0; i < sizeof(serve_backups_verbs) / sizeof(serve_backups_verbs[0]); i++)
        if (!strcmp(serve_backups_verbs[i].kind, kind) &&
            !strcmp(serve_backups_verbs[i].verb, verb))
            return serve_backups_verbs[i].fn(ctx, name, location, body, out);
    return err_set(ERR_INVALID, "%s: no %s", kind, verb);
}

/* What a crash left in DATA/tmp: the copy of a download being sent
 * (download-*, and .download-*.tmp-* while it is written), and a spill file caught in the instant
 * between its creation and its unlinking, where O_TMPFILE is missing (.spill-*, backup/spill.c).
 * serve owns DATA, and nothing of its own runs yet; another process's spill files have no name to
 * remove. */
static void serve_backups_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (str_has_prefix(de->d_name, "download-") || str_has_prefix(de->d_name, ".download-") ||
            str_has_prefix(de->d_name, ".spill-")) {
            char *p = xasprintf("%s/%s", dir, de->d_name);
            if (unlink(p) == 0)
                log_info("removed %s, left by an earlier run", p);
            free(p);
        }
    }
    closedir(d);
}

int serve_backups_start(struct serve_backups **out, store *st, const char *config_path,
                        const char *data_dir)
{
    struct serve_backups *b = xcalloc(1, sizeof(*b));
    struct schedule_env env;
    const char *scale = getenv("EDGECD_SCHEDULE_MINUTE_SECONDS");
    int orphans = 0, rc, poll = 30;

    *out = NULL;
    b->st = st;
    b->config_path = xstrdup(config_path);
    b->data_dir = xstrdup(data_dir);
    b->default_location = xasprintf("%s/backups", data_dir);
    if ((b->tmp_dir = backup_cli_tmpdir(data_dir)) != NULL)
        serve_backups_sweep(b->tmp_dir);
    b->start = (int64_t)time(NULL);
    b->minute_seconds = 60;
    b->queue = json_array();
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    if (scale && scale[0]) {
        if ((rc = str_to_long(scale, 1, 60, "EDGECD_SCHEDULE_MINUTE_SECONDS", &b->minute_seconds)) <
            0)
            goto fail;
        poll = 1;
        log_warn("schedules: test clock, one minute every %ld s", b->minute_seconds);
    }
    if ((rc = backup_track_fail_orphans(st, &orphans)) < 0)
        goto fail;
    if (orphans)
        log_warn("%d backup or restore run(s) were in progress when edgecd stopped: marked Failed",
                 orphans);
    memset(&env, 0, sizeof(env));
    env.run = serve_backups_run;
    env.resolve = serve_backups_resolve;
    env.ctx = b;
    env.default_location = b->default_location;
    if ((rc = schedule_runner_start(&b->runner, st, &env, serve_backups_clock, b, poll)) < 0)
        goto fail;
    if (pthread_create(&b->worker, NULL, serve_backups_worker, b) != 0) {
        rc = err_set(ERR_IO, "backups: cannot start the API's backup thread");
        goto fail;
    }
    b->worker_started = 1;
    *out = b;
    return 0;
fail:
    serve_backups_stop(b);
    return rc;
}

void serve_backups_stop(struct serve_backups *b)
{
    if (!b)
        return;
    schedule_runner_stop(b->runner);
    if (b->worker_started) {
        pthread_mutex_lock(&b->lock);
        b->stop = 1; /* queued ones stay InProgress: the next start fails them */
        pthread_cond_signal(&b->wake);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->worker, NULL);
    }
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    json_decref(b->queue);
    free(b->config_path);
    free(b->data_dir);
    free(b->default_location);
    free(b->tmp_dir);
    free(b);
}
