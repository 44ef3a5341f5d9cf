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

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "backup/location.h"
#include "backup/schedule.h"
#include "backup/track.h"
#include "cli/cmd_backup.h"
#include "core/err.h"
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
    schedule_runner *runner;
    int64_t start;
    long minute_seconds; /* 60 unless the test clock is on */
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
    b->start = (int64_t)time(NULL);
    b->minute_seconds = 60;
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
    free(b->config_path);
    free(b->data_dir);
    free(b->default_location);
    free(b);
}
