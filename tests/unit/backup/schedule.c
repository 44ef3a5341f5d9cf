/*
 * Backup schedules (backup/schedule.c) on a test clock: not due before
 * the first firing, due at it, one catch-up run after downtime whatever
 * the firings missed, nothing while paused and one catch-up on unpause,
 * names, keep-last-N per schedule, ttl expiry of backups of any origin, a
 * failed run recorded and not retried before the next firing, a spec the
 * scheduler cannot use shown as FailedValidation. The runner writes real
 * backup folders through the location API, so prune and expiry work on
 * what `backup list` would show.
 */
#include <stdio.h>
#include <time.h>

#include "backup/location.h"
#include "backup/schedule.h"
#include "core/fs.h"
#include "core/util.h"
#include "doc/doc.h"
#include "storage/store.h"
#include "test.h"

static char *dir;

/* The runner: a backup folder with a record as backup_create writes one
 * (label, expiration from the template's ttl), or a failure on demand. */
struct fake {
    int runs;
    int fail;
    int64_t now;    /* the test clock, for the expiration */
    char last[128]; /* the last name asked for */
    char *location; /* where runs go */
};

static void fake_time(char out[21], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A backup record in loc named name, expiring at expires (0: none),
 * labelled with schedule (NULL: none). */
static int put_backup(const char *loc, const char *name, const char *schedule, int64_t expires)
{
    struct location_tx tx;
    json_t *rec =
        json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:{s:s, s:I}}}", "apiVersion", "edgecd.io/v1alpha1",
                  "kind", "Backup", "metadata", "name", name, "status", "phase", "Completed",
                  "archive", "file", "a.tar.gz", "size", (json_int_t)5);
    char stamp[21];
    int rc;

    if (schedule)
        doc_set_new(rec, "metadata.labels." SCHEDULE_LABEL, json_string(schedule));
    if (expires) {
        fake_time(stamp, expires);
        doc_set_new(rec, "status.expiration", json_string(stamp));
    }
    memset(&tx, 0, sizeof(tx));
    tx.fd = tx.lock_fd = -1;
    rc = location_begin(&tx, loc, name, "a.tar.gz");
    if (rc == 0 && write(tx.fd, "hello", 5) != 5)
        rc = ERR_IO;
    if (rc == 0)
        rc = location_commit(&tx, rec);
    else
        location_abort(&tx);
    json_decref(rec);
    return rc;
}

static int fake_run(void *ctx, const char *schedule, const json_t *spec, const char *name,
                    json_t **out_record)
{
    struct fake *f = ctx;
    double ttl = 0;
    f->runs++;
    snprintf(f->last, sizeof(f->last), "%s", name);
    *out_record = NULL;
    if (f->fail)
        return err_set(ERR_IO, "cluster unreachable");
    str_go_duration(doc_get_str(spec, "template.ttl"), &ttl);
    return put_backup(f->location, name, schedule, f->now + (int64_t)ttl);
}

static char *fake_resolve(void *ctx, const char *location)
{
    (void)ctx;
    if (!strcmp(location, "nowhere"))
        return err_set(ERR_INVALID, "backup location nowhere: not described"), NULL;
    return xstrdup(location);
}

/* A store in a fresh folder, and an env whose default location is loc. */
static store *open_store(const char *name, struct fake *f, struct schedule_env *env)
{
    char *db = xasprintf("%s/%s.db", dir, name);
    store *s = NULL;
    memset(f, 0, sizeof(*f));
    f->location = xasprintf("%s/%s-loc", dir, name);
    fs_mkdir_p(f->location, 0700);
    memset(env, 0, sizeof(*env));
    env->run = fake_run;
    env->resolve = fake_resolve;
    env->ctx = f;
    env->default_location = f->location;
    if (store_open(&s, db) < 0)
        s = NULL;
    free(db);
    return s;
}

static int add(store *s, const char *name, const char *cron, int keep, const char *extra)
{
    char *spec = xasprintf("{\"schedule\":\"%s\",\"keep\":%d,\"template\":{\"ttl\":\"1h\"}%s}",
                           cron, keep, extra ? extra : "");
    json_t *j = json_loads(spec, 0, NULL);
    char *text;
    int rc = schedule_spec_check(j);
    text = json_dumps(j, JSON_COMPACT);
    if (rc == 0)
        rc = store_schedule_create(s, name, text);
    free(spec);
    free(text);
    json_decref(j);
    return rc;
}

/* Pretend the schedule last ran at t. */
static int set_last(store *s, const char *name, int64_t t)
{
    char stamp[21], *text;
    int rc;
    fake_time(stamp, t);
    text = xasprintf("{\"lastRunTime\":\"%s\"}", stamp);
    rc = store_schedule_status_put(s, name, text);
    free(text);
    return rc;
}

static json_t *status_of(store *s, const char *name)
{
    struct store_schedule sc;
    json_t *st = NULL;
    if (store_schedule_get(s, name, &sc) == 0)
        st = json_loads(sc.status_json, 0, NULL);
    store_schedule_dispose(&sc);
    return st;
}

static size_t count_backups(const char *loc)
{
    json_t *list = NULL;
    size_t n;
    if (location_list(loc, &list) < 0)
        return 0;
    n = json_array_size(list);
    json_decref(list);
    return n;
}

static int has_backup(const char *loc, const char *name)
{
    json_t *rec = NULL;
    int rc = location_get(loc, name, &rec, NULL);
    json_decref(rec);
    err_clear();
    return rc == 0;
}

/* 2026-11-23 10:00:00 UTC */
#define T0 ((int64_t)1795428000)

TEST(names_and_checks)
{
    char name[64];
    json_t *spec = json_loads("{\"schedule\":\"@daily\"}", 0, NULL);
    schedule_backup_name(name, sizeof(name), "nightly", T0 + 61);
    CHECK_STR(name, "nightly-20261123100101");
    CHECK_OK(schedule_name_check("nightly-db"));
    CHECK_ERR(schedule_name_check("Nightly"), ERR_INVALID);
    CHECK_ERR(schedule_name_check("a.b"), ERR_INVALID);
    CHECK_ERR(schedule_name_check("a23456789012345678901234567890123456789012345678x"),
              ERR_INVALID);
    CHECK_OK(schedule_spec_check(spec));
    CHECK_STR(doc_get_str(spec, "template.ttl"), "720h0m0s"); /* Velero's default */
    CHECK(json_integer_value(json_object_get(spec, "keep")) == 0);
    CHECK(json_is_false(json_object_get(spec, "paused")));
    json_object_set_new(spec, "schedule", json_string("0 25 * * *"));
    CHECK_ERR(schedule_spec_check(spec), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.schedule");
    json_object_set_new(spec, "schedule", json_string("@hourly"));
    json_object_set_new(spec, "keep", json_integer(-1));
    CHECK_ERR(schedule_spec_check(spec), ERR_INVALID);
    json_object_set_new(spec, "keep", json_integer(1));
    json_object_set_new(spec, "template", json_pack("{s:s}", "ttl", "soon"));
    CHECK_ERR(schedule_spec_check(spec), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.template");
    json_decref(spec);
}

TEST(due_and_catch_up_once)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("due", &f, &env);
    int64_t next = 0;
    json_t *st = NULL;

    CHECK(s != NULL);
    CHECK_OK(add(s, "hourly", "0 * * * *", 0, NULL));
    CHECK_OK(set_last(s, "hourly", T0));
    /* 10:30: the next firing is 11:00, not yet. */
    f.now = T0 + 1800;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 0);
    CHECK(next == T0 + 3600);
    st = status_of(s, "hourly");
    CHECK_STR(doc_get_str(st, "nextRun"), "2026-11-23T11:00:00Z");
    CHECK_STR(doc_get_str(st, "phase"), "Enabled");
    json_decref(st);
    /* 11:00:05: due, one run named after the time it ran. */
    f.now = T0 + 3605;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 1);
    CHECK_STR(f.last, "hourly-20261123110005");
    CHECK(has_backup(f.location, "hourly-20261123110005"));
    CHECK(next == T0 + 7200);
    /* The same minute again: not a second run. */
    CHECK_OK(schedule_tick(s, &env, f.now + 20, &next));
    CHECK(f.runs == 1);
    /* Down from 11:01 to 16:30: five firings missed, one catch-up run. */
    f.now = T0 + 6 * 3600 + 1800;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 2);
    CHECK_OK(schedule_tick(s, &env, f.now + 60, &next));
    CHECK(f.runs == 2);
    CHECK(next == T0 + 7 * 3600);
    st = status_of(s, "hourly");
    CHECK_STR(doc_get_str(st, "lastBackup.name"), "hourly-20261123163000");
    CHECK_STR(doc_get_str(st, "lastBackup.phase"), "Completed");
    CHECK_STR(doc_get_str(st, "lastRunTime"), "2026-11-23T16:30:00Z");
    CHECK_STR(doc_get_str(st, "lastError"), "");
    json_decref(st);
    store_close(s);
    free(f.location);
}

TEST(new_schedule_waits_for_its_first_firing)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("new", &f, &env);
    int64_t next = 0;

    CHECK(s != NULL);
    /* Created now (the store's clock): a yearly schedule is not due. */
    CHECK_OK(add(s, "yearly", "@yearly", 0, NULL));
    f.now = (int64_t)time(NULL);
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 0);
    CHECK(next > f.now);
    store_close(s);
    free(f.location);
}

TEST(paused_then_unpaused)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("pause", &f, &env);
    struct store_schedule sc;
    json_t *spec = NULL, *st = NULL;
    char *text = NULL;
    int64_t next = 0;

    CHECK(s != NULL);
    CHECK_OK(add(s, "p", "*/10 * * * *", 0, ",\"paused\":true"));
    CHECK_OK(set_last(s, "p", T0));
    f.now = T0 + 3 * 3600;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 0);
    CHECK(next == INT64_MAX);
    st = status_of(s, "p");
    CHECK_STR(doc_get_str(st, "phase"), "Paused");
    CHECK(doc_get_str(st, "nextRun") == NULL);
    json_decref(st);
    /* Unpaused (as `schedule unpause` does): one catch-up run only. */
    CHECK_OK(store_schedule_get(s, "p", &sc));
    spec = json_loads(sc.spec_json, 0, NULL);
    json_object_set_new(spec, "paused", json_false());
    text = json_dumps(spec, JSON_COMPACT);
    CHECK_OK(store_schedule_spec_put(s, "p", text));
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK_OK(schedule_tick(s, &env, f.now + 30, &next));
    CHECK(f.runs == 1);
    CHECK(next == T0 + 3 * 3600 + 600);
    /* The status write kept the spec the CLI wrote. */
    store_schedule_dispose(&sc);
    CHECK_OK(store_schedule_get(s, "p", &sc));
    CHECK_CONTAINS(sc.spec_json, "\"paused\":false");
    store_schedule_dispose(&sc);
    free(text);
    json_decref(spec);
    store_close(s);
    free(f.location);
}

TEST(keep_last_n_per_schedule)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("keep", &f, &env);
    int64_t next = 0, t;

    CHECK(s != NULL);
    CHECK_OK(add(s, "k", "* * * * *", 2, NULL));
    CHECK_OK(set_last(s, "k", T0));
    /* Another schedule's backup and a manual one share the location. */
    CHECK_OK(put_backup(f.location, "other-20200101000000", "other", 0));
    CHECK_OK(put_backup(f.location, "manual", NULL, 0));
    for (t = T0 + 60; t <= T0 + 4 * 60; t += 60) {
        f.now = t;
        CHECK_OK(schedule_tick(s, &env, t, &next));
    }
    CHECK(f.runs == 4);
    CHECK(!has_backup(f.location, "k-20261123100100"));
    CHECK(!has_backup(f.location, "k-20261123100200"));
    CHECK(has_backup(f.location, "k-20261123100300"));
    CHECK(has_backup(f.location, "k-20261123100400"));
    CHECK(has_backup(f.location, "other-20200101000000"));
    CHECK(has_backup(f.location, "manual"));
    CHECK(count_backups(f.location) == 4);
    store_close(s);
    free(f.location);
}

TEST(ttl_expiry_any_origin)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("ttl", &f, &env);
    char *usb = xasprintf("%s/ttl-usb", dir);
    int64_t next = 0;

    CHECK(s != NULL);
    fs_mkdir_p(usb, 0700);
    /* The schedule writes to usb; the default location holds a manual
     * backup that expired and one that did not, and a self-backup (no
     * expiration). */
    CHECK_OK(put_backup(f.location, "old-manual", NULL, T0 + 1000));
    CHECK_OK(put_backup(f.location, "fresh-manual", NULL, T0 + 7200));
    CHECK_OK(put_backup(f.location, "self-20261123090000", NULL, 0));
    CHECK_OK(put_backup(usb, "usb-old", NULL, T0 + 2000));
    {
        char *extra = xasprintf(",\"template\":{\"ttl\":\"1h\",\"storageLocation\":\"%s\"}", usb);
        json_t *j;
        char *spec = xasprintf("{\"schedule\":\"*/5 * * * *\",\"keep\":0%s}", extra), *text;
        j = json_loads(spec, 0, NULL);
        CHECK_OK(schedule_spec_check(j));
        text = json_dumps(j, JSON_COMPACT);
        CHECK_OK(store_schedule_create(s, "u", text));
        free(text);
        free(spec);
        free(extra);
        json_decref(j);
    }
    CHECK_OK(set_last(s, "u", T0));
    f.location = xstrdup(usb); /* env keeps the default location */
    f.now = T0 + 300;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 1);
    /* Nothing expired yet at 10:05 ... */
    CHECK(has_backup(env.default_location, "old-manual"));
    /* ... at 11:10 the manual one and the stick's old one are gone; the
     * run of 10:05 (ttl 1h) too, the one of 11:10 stays. */
    f.now = T0 + 4200;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 2);
    CHECK(!has_backup(env.default_location, "old-manual"));
    CHECK(has_backup(env.default_location, "fresh-manual"));
    CHECK(has_backup(env.default_location, "self-20261123090000"));
    CHECK(!has_backup(usb, "usb-old"));
    CHECK(!has_backup(usb, "u-20261123100500"));
    CHECK(has_backup(usb, "u-20261123111000"));
    store_close(s);
    free((char *)env.default_location);
    free(f.location);
    free(usb);
}

TEST(failed_run_recorded_and_retried_at_next_firing)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("fail", &f, &env);
    int64_t next = 0;
    json_t *st = NULL;

    CHECK(s != NULL);
    CHECK_OK(add(s, "f", "0 * * * *", 0, NULL));
    CHECK_OK(set_last(s, "f", T0));
    f.fail = 1;
    f.now = T0 + 3600;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK_OK(schedule_tick(s, &env, f.now + 120, &next));
    CHECK(f.runs == 1);
    st = status_of(s, "f");
    CHECK_CONTAINS(doc_get_str(st, "lastError"), "cluster unreachable");
    CHECK_STR(doc_get_str(st, "lastBackup.phase"), "Failed");
    CHECK_STR(doc_get_str(st, "nextRun"), "2026-11-23T12:00:00Z");
    json_decref(st);
    f.fail = 0;
    f.now = T0 + 7200;
    CHECK_OK(schedule_tick(s, &env, f.now, &next));
    CHECK(f.runs == 2);
    st = status_of(s, "f");
    CHECK_STR(doc_get_str(st, "lastError"), "");
    CHECK_STR(doc_get_str(st, "lastBackup.phase"), "Completed");
    json_decref(st);
    store_close(s);
    free(f.location);
}

TEST(unusable_spec_is_failed_validation)
{
    struct fake f;
    struct schedule_env env;
    store *s = open_store("invalid", &f, &env);
    int64_t next = 0;
    json_t *st = NULL;

    CHECK(s != NULL);
    CHECK_OK(add(s, "nowhere", "* * * * *", 0, ",\"template\":{\"storageLocation\":\"nowhere\"}"));
    CHECK_OK(store_schedule_create(s, "garbled", "{not json"));
    CHECK_OK(schedule_tick(s, &env, T0, &next));
    CHECK(f.runs == 0);
    st = status_of(s, "nowhere");
    CHECK_STR(doc_get_str(st, "phase"), "FailedValidation");
    CHECK_CONTAINS(doc_get_str(st, "lastError"), "not described");
    json_decref(st);
    st = status_of(s, "garbled");
    CHECK_STR(doc_get_str(st, "phase"), "FailedValidation");
    json_decref(st);
    store_close(s);
    free(f.location);
}

int main(void)
{
    dir = test_tmpdir("backup-schedule");
    RUN(names_and_checks);
    RUN(due_and_catch_up_once);
    RUN(new_schedule_waits_for_its_first_firing);
    RUN(paused_then_unpaused);
    RUN(keep_last_n_per_schedule);
    RUN(ttl_expiry_any_origin);
    RUN(failed_run_recorded_and_retried_at_next_firing);
    RUN(unusable_spec_is_failed_validation);
    free(dir);
    return TEST_END();
}
