/*
 * The store's schedules and backup runs (storage/backups.c): a name taken
 * twice, spec and status written apart (one never undoes the other), a
 * status written only when it changed, runs keeping their start time
 * across progress writes, orphaned runs failed, and ended runs trimmed to
 * the newest STORE_RUNS_KEPT.
 */
#include <stdio.h>

#include "storage/store.h"
#include "test.h"

static char *dir;

static store *open_fresh(const char *name)
{
    char *db = xasprintf("%s/%s.db", dir, name);
    store *s = NULL;
    if (store_open(&s, db) < 0)
        s = NULL;
    free(db);
    return s;
}

TEST(schedules)
{
    store *s = open_fresh("sched");
    struct store_schedule sc, *v = NULL;
    size_t n = 0;

    CHECK(s != NULL);
    CHECK_OK(store_schedule_create(s, "b", "{\"schedule\":\"@daily\"}"));
    CHECK_OK(store_schedule_create(s, "a", "{\"schedule\":\"@hourly\"}"));
    CHECK_ERR(store_schedule_create(s, "a", "{}"), ERR_CONFLICT);
    CHECK_ERR(store_schedule_create(s, "", "{}"), ERR_INVALID);
    CHECK_OK(store_schedule_get(s, "a", &sc));
    CHECK_STR(sc.status_json, "{}");
    CHECK(strlen(sc.created_at) == 20);
    store_schedule_dispose(&sc);
    CHECK(store_schedule_status_put(s, "a", "{\"nextRun\":\"x\"}") == 1);
    CHECK(store_schedule_status_put(s, "a", "{\"nextRun\":\"x\"}") == 0);
    CHECK_OK(store_schedule_spec_put(s, "a", "{\"paused\":true}"));
    CHECK_OK(store_schedule_get(s, "a", &sc));
    CHECK_STR(sc.spec_json, "{\"paused\":true}");
    CHECK_STR(sc.status_json, "{\"nextRun\":\"x\"}");
    store_schedule_dispose(&sc);
    CHECK_ERR(store_schedule_spec_put(s, "zz", "{}"), ERR_NOTFOUND);
    CHECK_ERR(store_schedule_status_put(s, "zz", "{}"), ERR_NOTFOUND);
    CHECK_OK(store_schedule_list(s, &v, &n));
    CHECK(n == 2);
    CHECK_STR(v[0].name, "a");
    CHECK_STR(v[1].name, "b");
    store_schedules_free(v, n);
    CHECK_OK(store_schedule_delete(s, "a"));
    CHECK_ERR(store_schedule_delete(s, "a"), ERR_NOTFOUND);
    CHECK_ERR(store_schedule_get(s, "a", &sc), ERR_NOTFOUND);
    store_close(s);
}

static int gone_if_odd(void *ctx, long long pid)
{
    (void)ctx;
    return pid % 2 == 1;
}

TEST(runs)
{
    store *s = open_fresh("runs");
    struct store_run r, got;
    int n = 0;

    CHECK(s != NULL);
    memset(&r, 0, sizeof(r));
    r.kind = "Backup";
    r.name = "one";
    r.location = "/b";
    r.phase = "InProgress";
    r.pid = 3;
    CHECK_OK(store_run_put(s, &r));
    CHECK_OK(store_run_get(s, "Backup", "one", &got));
    CHECK_STR(got.phase, "InProgress");
    CHECK(got.total_items == 0 && got.pid == 3);
    r.total_items = 10;
    r.items_done = 4;
    CHECK_OK(store_run_put(s, &r));
    store_run_dispose(&got);
    CHECK_OK(store_run_get(s, "Backup", "one", &got));
    CHECK(got.total_items == 10 && got.items_done == 4);
    store_run_dispose(&got);
    r.name = "two";
    r.pid = 4;
    CHECK_OK(store_run_put(s, &r));
    CHECK_ERR(store_run_get(s, "Restore", "one", &got), ERR_NOTFOUND);
    /* pid 3 is gone, 4 runs. */
    CHECK_OK(store_run_fail_orphans(s, gone_if_odd, NULL, "stopped", &n));
    CHECK(n == 1);
    CHECK_OK(store_run_get(s, "Backup", "one", &got));
    CHECK_STR(got.phase, "Failed");
    CHECK_STR(got.message, "stopped");
    CHECK(got.items_done == 4);
    store_run_dispose(&got);
    CHECK_OK(store_run_get(s, "Backup", "two", &got));
    CHECK_STR(got.phase, "InProgress");
    store_run_dispose(&got);
    r.kind = "";
    CHECK_ERR(store_run_put(s, &r), ERR_INVALID);
    /* Ended rows are trimmed to the newest kept; running ones stay. */
    r.kind = "Backup";
    r.phase = "Completed";
    for (int i = 0; i < STORE_RUNS_KEPT + 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "done-%d", i);
        r.name = name;
        CHECK_OK(store_run_put(s, &r));
    }
    CHECK_OK(store_run_get(s, "Backup", "two", &got));
    store_run_dispose(&got);
    CHECK_OK(store_run_get(s, "Backup", "done-54", &got));
    store_run_dispose(&got);
    CHECK_ERR(store_run_get(s, "Backup", "one", &got), ERR_NOTFOUND);
    store_close(s);
}

int main(void)
{
    dir = test_tmpdir("storage-backups");
    RUN(schedules);
    RUN(runs);
    free(dir);
    return TEST_END();
}
