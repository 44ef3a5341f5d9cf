/*
 * Backup schedules (schedule.h). The store holds the truth: every pass
 * re-reads the schedules, so the CLI can add, pause or delete one while
 * `edgecd serve` runs, and the scheduler keeps no state of its own but
 * the time to wake. A schedule's last run is its status.lastRunTime, read
 * back each pass: a restart, or a self-backup restored onto a fresh node,
 * carries on from there.
 */
#include "backup/schedule.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "backup/filter.h"
#include "backup/location.h"
#include "backup/self.h"
#include "core/buf.h"
#include "core/cron.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define SCHEDULE_NAME_MAX 48

int schedule_name_check(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > SCHEDULE_NAME_MAX || !str_dns_subdomain(name) || strchr(name, '.'))
        return err_set(ERR_INVALID,
                       "schedule name \"%s\": lower-case letters, digits and '-', starting and "
                       "ending with a letter or digit, at most %d characters (its backups add "
                       "-YYYYMMDDHHMMSS)",
                       name ? name : "", SCHEDULE_NAME_MAX);
    return 0;
}

int schedule_spec_check(json_t *spec)
{
    struct cron c;
    json_t *tmpl = json_object_get(spec, "template"), *keep = json_object_get(spec, "keep");
    const char *sched = doc_get_str(spec, "schedule"), *format = doc_get_str(spec, "format");
    int rc;

    if (!json_is_object(spec))
        return err_set(ERR_INVALID, "schedule: not an object");
    if (!sched)
        return err_set(ERR_INVALID, "spec.schedule: missing (five cron fields or @daily)");
    if ((rc = cron_parse_schedule(&c, sched)) < 0)
        return err_prefix(rc, "spec.schedule");
    if (!tmpl) {
        tmpl = json_object();
        json_object_set_new(spec, "template", tmpl);
    }
    if ((rc = filter_spec_check(tmpl)) < 0)
        return err_prefix(rc, "spec.template");
    if (!keep) {
        json_object_set_new(spec, "keep", json_integer(0));
    } else if (!json_is_integer(keep) || json_integer_value(keep) < 0) {
        return err_set(ERR_INVALID, "spec.keep: a number of backups, 0 or more (0: keep all)");
    }
    if (!format)
        json_object_set_new(spec, "format", json_string("edgecd"));
    else if (strcmp(format, "edgecd") != 0 && strcmp(format, "velero") != 0)
        return err_set(ERR_INVALID, "spec.format: edgecd or velero");
    if (!json_object_get(spec, "paused"))
        json_object_set_new(spec, "paused", json_false());
    else if (!json_is_boolean(json_object_get(spec, "paused")))
        return err_set(ERR_INVALID, "spec.paused: true or false");
    return 0;
}

static void schedule_time(char out[21], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "2026-11-23T20:01:02Z" -> Unix seconds; -1 if it is not one. */
static int64_t schedule_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!s || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

json_t *schedule_object(const struct store_schedule *sc)
{
    json_t *spec = json_loads(sc->spec_json, 0, NULL),
           *status = json_loads(sc->status_json, 0, NULL);
    if (!json_is_object(spec)) {
        json_decref(spec);
        spec = json_object();
    }
    if (!json_is_object(status)) {
        json_decref(status);
        status = json_object();
    }
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:o}", "apiVersion", "edgecd.io/v1alpha1",
                     "kind", "Schedule", "metadata", "name", sc->name, "creationTimestamp",
                     sc->created_at, "spec", spec, "status", status);
}

void schedule_backup_name(char *out, size_t n, const char *schedule, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char stamp[16];
    gmtime_r(&tt, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    snprintf(out, n, "%s-%s", schedule, stamp);
}

int schedule_prune(const char *location, const char *schedule, int keep, int *out_deleted)
{
    json_t *list = NULL, *rec, *mine = json_array();
    size_t i;
    int rc, deleted = 0;

    if (out_deleted)
        *out_deleted = 0;
    if (keep <= 0) {
        json_decref(mine);
        return 0;
    }
    if ((rc = location_list(location, &list)) < 0)
        goto out;
    /* The list is sorted by name, and a schedule's names sort by time. */
    json_array_foreach(list, i, rec)
    {
        const char *label = doc_get_str(rec, "metadata.labels." SCHEDULE_LABEL);
        if (label && !strcmp(label, schedule) && doc_get_str(rec, "metadata.name"))
            json_array_append(mine, json_object_get(json_object_get(rec, "metadata"), "name"));
    }
    for (i = 0; i + (size_t)keep < json_array_size(mine); i++) {
        const char *name = json_string_value(json_array_get(mine, i));
        if ((rc = location_delete(location, name)) < 0)
            break;
        log_info("schedule %s: deleted backup %s from %s (keep %d)", schedule, name, location,
                 keep);
        deleted++;
    }
out:
    json_decref(list);
    json_decref(mine);
    if (out_deleted)
        *out_deleted = deleted;
    return rc;
}

int schedule_expire(const char *location, int64_t now, int *out_deleted)
{
    json_t *list = NULL, *rec;
    char stamp[21];
    size_t i;
    int rc, deleted = 0;

    if (out_deleted)
        *out_deleted = 0;
    if ((rc = location_list(location, &list)) < 0)
        return rc;
    schedule_time(stamp, now);
    json_array_foreach(list, i, rec)
    {
        const char *exp = doc_get_str(rec, "status.expiration");
        const char *name = doc_get_str(rec, "metadata.name");
        /* RFC 3339 in UTC with the same layout sorts as the time. */
        if (!exp || !name || schedule_parse_time(exp) < 0 || strcmp(exp, stamp) >= 0)
            continue;
        if ((rc = location_delete(location, name)) < 0)
            break;
        log_info("backup %s in %s expired at %s: deleted", name, location, exp);
        deleted++;
    }
    json_decref(list);
    if (out_deleted)
        *out_deleted = deleted;
    return rc;
}

/* The schedule's status as a new object (an unreadable one starts over). */
static json_t *schedule_status(const struct store_schedule *sc)
{
    json_t *st = json_loads(sc->status_json, 0, NULL);
    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    return st;
}

static void schedule_set_time(json_t *obj, const char *key, int64_t t)
{
    char stamp[21];
    if (t == INT64_MAX) {
        json_object_del(obj, key);
        return;
    }
    schedule_time(stamp, t);
    json_object_set_new(obj, key, json_string(stamp));
}

/* Add location (resolved) to the set of locations to sweep. */
static void schedule_sweep_add(json_t *set, const char *location)
{
    size_t i;
    json_t *v;
    json_array_foreach(set, i, v)
    {
        if (!strcmp(json_string_value(v), location))
            return;
    }
    json_array_append_new(set, json_string(location));
}

/* Run sc now: the backup, keep-last-N; the result goes into status. */
static void schedule_fire(const struct schedule_env *env, const struct store_schedule *sc,
                          const json_t *spec, const char *location, json_t *status, int64_t now)
{
    char name[128];
    json_t *rec = NULL;
    int rc, deleted = 0;

    schedule_backup_name(name, sizeof(name), sc->name, now);
    schedule_set_time(status, "lastRunTime", now);
    log_info("schedule %s: backup %s to %s", sc->name, name, location);
    rc = env->run(env->ctx, sc->name, spec, name, &rec);
    if (rc < 0) {
        log_error("schedule %s: %s (tried again at the next firing)", sc->name, err_last());
        json_object_set_new(status, "lastError", json_string(err_last()));
        json_object_set_new(status, "lastBackup",
                            json_pack("{s:s, s:s, s:s}", "name", name, "phase", "Failed", "time",
                                      json_string_value(json_object_get(status, "lastRunTime"))));
        err_clear();
        json_decref(rec);
        return;
    }
    json_object_set_new(status, "lastError", json_string(""));
    json_object_set_new(
        status, "lastBackup",
        json_pack("{s:s, s:s, s:s}", "name", name, "phase",
                  doc_get_str(rec, "status.phase") ? doc_get_str(rec, "status.phase") : "Completed",
                  "time", json_string_value(json_object_get(status, "lastRunTime"))));
    json_decref(rec);
    if (schedule_prune(location, sc->name, (int)json_integer_value(json_object_get(spec, "keep")),
                       &deleted) < 0) {
        log_error("schedule %s: keep-last-N: %s", sc->name, err_last());
        json_object_set_new(status, "lastError", json_string(err_last()));
        err_clear();
    }
}

/* One schedule's pass; adds its location to sweep (when it ran). */
static int schedule_one(store *st, const struct schedule_env *env, const struct store_schedule *sc,
                        int64_t now, int64_t *next_out, json_t *sweep, int *ran)
{
    json_t *spec = NULL, *status = schedule_status(sc);
    struct cron c;
    char *location = NULL, *text = NULL;
    int64_t last, next = INT64_MAX;
    int rc = 0;

    *ran = 0;
    spec = json_loads(sc->spec_json, 0, NULL);
    if (!spec)
        err_set(ERR_INVALID, "schedule %s: its spec is not JSON", sc->name);
    else if (schedule_spec_check(spec) == 0 &&
             cron_parse_schedule(&c, doc_get_str(spec, "schedule")) == 0) {
        const char *want = doc_get_str(spec, "template.storageLocation");
        /* Resolving may register an S3 location: not while a run uses one. */
        backup_serial_lock();
        location = env->resolve(env->ctx, want ? want : env->default_location);
        backup_serial_unlock();
    }
    if (!location) {
        json_object_set_new(status, "phase", json_string("FailedValidation"));
        json_object_set_new(status, "lastError", json_string(err_last()));
        json_object_del(status, "nextRun");
        err_clear();
        goto write;
    }
    schedule_sweep_add(sweep, location);
    if (json_is_true(json_object_get(spec, "paused"))) {
        json_object_set_new(status, "phase", json_string("Paused"));
        json_object_del(status, "nextRun");
        goto write;
    }
    json_object_set_new(status, "phase", json_string("Enabled"));
    last = schedule_parse_time(doc_get_str(status, "lastRunTime"));
    if (last < 0)
        last = schedule_parse_time(sc->created_at);
    if (last < 0)
        last = now;
    if (self_due(&c, last, now, &next)) {
        backup_serial_lock();
        schedule_fire(env, sc, spec, location, status, now);
        backup_serial_unlock();
        *ran = 1;
        self_due(&c, now, now, &next);
    }
    schedule_set_time(status, "nextRun", next);
    if (next < *next_out)
        *next_out = next;
write:
    text = json_dumps(status, JSON_COMPACT);
    rc = store_schedule_status_put(st, sc->name, text);
    if (rc == ERR_NOTFOUND) {
        err_clear(); /* deleted meanwhile */
        rc = 0;
    }
    free(text);
    free(location);
    json_decref(spec);
    json_decref(status);
    return rc < 0 ? rc : 0;
}

int schedule_tick(store *st, const struct schedule_env *env, int64_t now, int64_t *out_next)
{
    struct store_schedule *v = NULL;
    json_t *sweep = json_array(), *loc;
    size_t n = 0, i;
    int64_t next = INT64_MAX;
    int rc, any = 0;

    if (out_next)
        *out_next = INT64_MAX;
    if ((rc = store_schedule_list(st, &v, &n)) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        int ran = 0;
        if ((rc = schedule_one(st, env, &v[i], now, &next, sweep, &ran)) < 0)
            goto out;
        any |= ran;
    }
    if (!any)
        goto out;
    /* ttl expiry, in every location this scheduler knows. */
    if (env->default_location)
        schedule_sweep_add(sweep, env->default_location);
    backup_serial_lock();
    json_array_foreach(sweep, i, loc)
    {
        if (schedule_expire(json_string_value(loc), now, NULL) < 0) {
            if (err_last_code() != ERR_NOTFOUND)
                log_error("ttl expiry: %s", err_last());
            err_clear();
        }
    }
    backup_serial_unlock();
out:
    if (rc == 0 && out_next)
        *out_next = next;
    store_schedules_free(v, n);
    json_decref(sweep);
    return rc;
}

/* ---- the thread ---- */

struct schedule_runner {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    store *st;
    struct schedule_env env;
    char *default_location;
    schedule_clock_fn clock;
    void *clock_ctx;
    int poll;
};

static int64_t schedule_now(schedule_runner *r)
{
    return r->clock ? r->clock(r->clock_ctx) : (int64_t)time(NULL);
}

static void *schedule_thread(void *arg)
{
    schedule_runner *r = arg;

    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        int64_t next = INT64_MAX, now, wait;
        struct timespec ts;
        pthread_mutex_unlock(&r->lock);
        if (schedule_tick(r->st, &r->env, schedule_now(r), &next) < 0) {
            log_error("schedules: %s", err_last());
            err_clear();
        }
        pthread_mutex_lock(&r->lock);
        now = schedule_now(r);
        wait = next == INT64_MAX || next - now > r->poll ? r->poll : next - now;
        if (wait < 1)
            wait = 1;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)wait;
        if (!r->stop)
            pthread_cond_timedwait(&r->wake, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void schedule_runner_free(schedule_runner *r)
{
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r->default_location);
    free(r);
}

int schedule_runner_start(schedule_runner **out, store *st, const struct schedule_env *env,
                          schedule_clock_fn clock, void *clock_ctx, int poll_seconds)
{
    schedule_runner *r = xcalloc(1, sizeof(*r));
    pthread_condattr_t ca;

    *out = NULL;
    r->st = st;
    r->env = *env;
    r->env.default_location = r->default_location =
        env->default_location ? xstrdup(env->default_location) : NULL;
    r->clock = clock;
    r->clock_ctx = clock_ctx;
    r->poll = poll_seconds > 0 ? poll_seconds : 30;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_REALTIME);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, schedule_thread, r) != 0) {
        schedule_runner_free(r);
        return err_set(ERR_IO, "schedules: cannot start their thread");
    }
    *out = r;
    return 0;
}

void schedule_runner_stop(schedule_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    schedule_runner_free(r);
}
