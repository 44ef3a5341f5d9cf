/*
 * Tests for storage/ops.c: operations, history and events. The raw
 * connection of fixture.h watches for writes and damages blobs on purpose.
 */
#include "storage/store.h"

#include <zlib.h>

#include "core/buf.h"
#include "core/util.h"
#include "fixture.h"

static char *dir;

static char *db_path(const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* A store at dir/name holding the apps "web" and "db". */
static int open_with_apps(store **s, const char *name)
{
    char *path = db_path(name);
    int rc = store_open(s, path);
    free(path);
    if (rc == 0 && (rc = store_app_put(*s, "web", "{}")) == 0)
        rc = store_app_put(*s, "db", "{}");
    return rc;
}

/* A JSON array text of about `bytes` bytes of varied objects, as an
 * operation would apply; the caller frees. */
static char *big_manifests(size_t bytes)
{
    struct buf b = BUF_INIT;
    unsigned char r[4];
    size_t i;

    buf_puts(&b, "[");
    for (i = 0; b.len < bytes; i++) {
        if (util_random(r, sizeof(r)) < 0)
            memset(r, 0, sizeof(r));
        buf_printf(&b,
                   "%s{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                   "\"cm-%zu\",\"namespace\":\"default\"},\"data\":{\"k\":\"%02x%02x%02x%02x\"}}",
                   i ? "," : "", i, r[0], r[1], r[2], r[3]);
    }
    buf_puts(&b, "]");
    return buf_detach(&b);
}

static void op_fill(struct store_operation *op, const char *app, long long id, const char *phase,
                    const char *state, const char *manifests)
{
    memset(op, 0, sizeof(*op));
    op->app = (char *)app;
    op->id = id;
    op->phase = (char *)phase;
    op->state_json = (char *)state;
    op->manifests_json = (char *)manifests;
}

TEST(operation_put_get_running)
{
    store *s = NULL;
    struct store_operation op, got = {0};
    char **names = NULL;
    size_t n = 0;

    CHECK_OK(open_with_apps(&s, "op.db"));
    CHECK_ERR(store_operation_get(s, "web", 1, &got), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "web");
    op_fill(&op, "web", 1, "Running", "{\"wave\":0}", "[{\"kind\":\"ConfigMap\"}]");
    CHECK(store_operation_put(s, &op) == 1);

    /* Without manifests: the state only. */
    CHECK_OK(store_operation_get(s, "web", 0, &got));
    CHECK_STR(got.app, "web");
    CHECK(got.id == 1);
    CHECK_STR(got.phase, "Running");
    CHECK_STR(got.state_json, "{\"wave\":0}");
    CHECK(got.manifests_json == NULL);
    CHECK(strlen(got.updated_at) == 20 && got.updated_at[19] == 'Z');
    store_operation_dispose(&got);
    CHECK(got.app == NULL);
    CHECK_OK(store_operation_get(s, "web", 1, &got));
    CHECK_STR(got.manifests_json, "[{\"kind\":\"ConfigMap\"}]");
    store_operation_dispose(&got);

    /* The same id updates; NULL manifests keep the stored ones. */
    op_fill(&op, "web", 1, "Running", "{\"wave\":1}", NULL);
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_operation_get(s, "web", 1, &got));
    CHECK_STR(got.state_json, "{\"wave\":1}");
    CHECK_STR(got.manifests_json, "[{\"kind\":\"ConfigMap\"}]");
    store_operation_dispose(&got);
    op_fill(&op, "db", 4, "Terminating", "{}", "[]");
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_operation_running(s, &names, &n));
    CHECK(n == 2);
    CHECK_STR(names[0], "db");
    CHECK_STR(names[1], "web");
    store_names_free(names, n);

    /* Finished operations are not resumed. */
    op_fill(&op, "web", 1, "Succeeded", "{\"wave\":1}", NULL);
    CHECK(store_operation_put(s, &op) == 1);
    op_fill(&op, "db", 4, "Failed", "{}", NULL);
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_operation_running(s, &names, &n));
    CHECK(n == 0 && names == NULL);

    /* A new id replaces the operation; without manifests it has none. */
    op_fill(&op, "web", 2, "Running", "{\"wave\":0}", NULL);
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_operation_get(s, "web", 1, &got));
    CHECK(got.id == 2);
    CHECK_STR(got.manifests_json, "");
    store_operation_dispose(&got);
    CHECK_OK(store_operation_running(s, &names, &n));
    CHECK(n == 1);
    CHECK_STR(names[0], "web");
    store_names_free(names, n);

    /* A stale writer and bad input change nothing. */
    op_fill(&op, "web", 1, "Running", "{\"stale\":true}", "[]");
    CHECK_ERR(store_operation_put(s, &op), ERR_CONFLICT);
    op_fill(&op, "ghost", 1, "Running", "{}", "[]");
    CHECK_ERR(store_operation_put(s, &op), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "ghost");
    op_fill(&op, "web", 3, "Sleeping", "{}", "[]");
    CHECK_ERR(store_operation_put(s, &op), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "Sleeping");
    op_fill(&op, "web", 0, "Running", "{}", "[]");
    CHECK_ERR(store_operation_put(s, &op), ERR_INVALID);
    op_fill(&op, NULL, 3, "Running", "{}", "[]");
    CHECK_ERR(store_operation_put(s, &op), ERR_INVALID);
    CHECK_ERR(store_operation_put(s, NULL), ERR_INVALID);
    CHECK_OK(store_operation_get(s, "web", 0, &got));
    CHECK(got.id == 2);
    CHECK_STR(got.state_json, "{\"wave\":0}");
    store_operation_dispose(&got);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
}

/* Run sql (an UPDATE) with ?1 bound to the len bytes of data compressed
 * at level, as another build's zlib might have stored them. */
static int raw_set_compressed(sqlite3 *raw, const char *sql, const void *data, size_t len,
                              int level)
{
    uLongf zlen = compressBound((uLong)len);
    unsigned char *z = xmalloc(zlen);
    sqlite3_stmt *stmt = NULL;
    int rc = SQLITE_ERROR;

    if (compress2(z, &zlen, data, (uLong)len, level) == Z_OK &&
        sqlite3_prepare_v2(raw, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_bind_blob(stmt, 1, z, (int)zlen, SQLITE_STATIC) == SQLITE_OK)
        rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_finalize(stmt);
    free(z);
    return rc;
}

TEST(operation_unchanged_writes_nothing)
{
    char *path = db_path("opquiet.db"), *m = big_manifests(64 << 10), *updated, *updated2;
    store *s = NULL;
    sqlite3 *raw;
    struct store_operation op;
    long long v0;

    CHECK_OK(open_with_apps(&s, "opquiet.db"));
    op_fill(&op, "web", 1, "Running", "{\"wave\":0}", m);
    CHECK(store_operation_put(s, &op) == 1);
    raw = raw_open(path);
    v0 = raw_int(raw, "PRAGMA data_version");
    updated = raw_text(raw, "SELECT updated_at FROM operations");
    sleep(1);
    /* Equal phase and state, manifests equal or not given. */
    CHECK(store_operation_put(s, &op) == 0);
    op.manifests_json = NULL;
    CHECK(store_operation_put(s, &op) == 0);
    CHECK(v0 >= 0 && raw_int(raw, "PRAGMA data_version") == v0);
    updated2 = raw_text(raw, "SELECT updated_at FROM operations");
    CHECK_STR(updated2, updated);
    free(updated2);

    /* The same text compressed another way (another zlib, another
     * level) is equal too... */
    CHECK(raw_set_compressed(raw, "UPDATE operation_manifests SET data = ?1", m, strlen(m),
                             Z_BEST_COMPRESSION) == SQLITE_OK);
    CHECK(raw_int(raw, "SELECT size FROM operation_manifests") == (long long)strlen(m));
    v0 = raw_int(raw, "PRAGMA data_version");
    op.manifests_json = m;
    CHECK(store_operation_put(s, &op) == 0);
    CHECK(raw_int(raw, "PRAGMA data_version") == v0);
    /* ...and a damaged blob is simply different: the put heals it. */
    CHECK(sqlite3_exec(raw, "UPDATE operation_manifests SET data = zeroblob(0)", NULL, NULL,
                       NULL) == SQLITE_OK);
    CHECK(store_operation_put(s, &op) == 1);
    v0 = raw_int(raw, "PRAGMA data_version");
    CHECK(store_operation_put(s, &op) == 0);
    CHECK(raw_int(raw, "PRAGMA data_version") == v0);

    /* Each of phase, state and manifests alone is a change. */
    op.phase = "Succeeded";
    CHECK(store_operation_put(s, &op) == 1);
    op.state_json = "{\"wave\":1}";
    CHECK(store_operation_put(s, &op) == 1);
    m[10] = m[10] == 'x' ? 'y' : 'x';
    CHECK(store_operation_put(s, &op) == 1);
    CHECK(store_operation_put(s, &op) == 0);
    CHECK(raw_int(raw, "PRAGMA data_version") != v0);
    free(updated);
    sqlite3_close(raw);
    store_close(s);
    free(m);
    free(path);
}

TEST(manifests_round_trip_large)
{
    char *path = db_path("large.db"), *m = big_manifests(1u << 20);
    store *s = NULL;
    sqlite3 *raw;
    struct store_operation op, got = {0};
    struct store_history h = {0}, hgot = {0};
    long long id = 0;
    char *huge;

    CHECK(strlen(m) >= 1u << 20);
    CHECK_OK(open_with_apps(&s, "large.db"));
    op_fill(&op, "web", 1, "Running", "{}", m);
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_operation_get(s, "web", 1, &got));
    CHECK(got.manifests_json && strcmp(got.manifests_json, m) == 0);
    store_operation_dispose(&got);
    h.revision = "abc";
    h.manifests_json = m;
    CHECK_OK(store_history_add(s, "web", &h, 0, &id));
    CHECK_OK(store_history_get(s, "web", id, &hgot));
    CHECK(hgot.manifests_json && strcmp(hgot.manifests_json, m) == 0);
    store_history_dispose(&hgot);

    /* Stored compressed, with the length of the text. */
    raw = raw_open(path);
    CHECK(raw_int(raw, "SELECT size FROM operation_manifests") == (long long)strlen(m));
    CHECK(raw_int(raw, "SELECT length(data) FROM operation_manifests") < (long long)strlen(m) / 2);
    CHECK(raw_int(raw, "SELECT length(manifests) FROM history") < (long long)strlen(m) / 2);
    sqlite3_close(raw);

    /* Over the limit: refused before anything is written. */
    huge = xmalloc(STORE_MANIFESTS_MAX + 2);
    memset(huge, ' ', STORE_MANIFESTS_MAX + 1);
    huge[STORE_MANIFESTS_MAX + 1] = '\0';
    op_fill(&op, "web", 2, "Running", "{}", huge);
    CHECK_ERR(store_operation_put(s, &op), ERR_TOOLARGE);
    h.manifests_json = huge;
    CHECK_ERR(store_history_add(s, "web", &h, 0, &id), ERR_TOOLARGE);
    CHECK(id == 0);
    free(huge);
    CHECK_OK(store_operation_get(s, "web", 0, &got));
    CHECK(got.id == 1);
    store_operation_dispose(&got);
    store_close(s);
    free(m);
    free(path);
}

/* 1 if the operation's and history entry hid's manifests are refused as
 * damaged while the reads that do not need them still work. */
static int refused(store *s, long long hid)
{
    struct store_operation got = {0};
    struct store_history h = {0};
    int rc_op, rc_h, ok;

    rc_op = store_operation_get(s, "web", 1, &got);
    ok = rc_op == ERR_INVALID && strstr(err_last(), "manifests") && !got.app;
    rc_h = store_history_get(s, "web", hid, &h);
    ok = ok && rc_h == ERR_INVALID && strstr(err_last(), "manifests") && !h.revision;
    store_operation_dispose(&got);
    store_history_dispose(&h);
    rc_op = store_operation_get(s, "web", 0, &got);
    store_operation_dispose(&got);
    return ok && rc_op == 0;
}

TEST(corrupt_manifests_refused)
{
    /* Damage done from outside to the operation's and to the newest
     * history entry's manifests. */
    static const struct {
        const char *op, *history;
    } cases[] = {
        {"UPDATE operation_manifests SET data = x'deadbeef00112233'",
         "UPDATE history SET manifests = x'deadbeef00112233' WHERE id = ?1"},
        {"UPDATE operation_manifests SET data = substr(data, 1, length(data) - 9)",
         "UPDATE history SET manifests = substr(manifests, 1, length(manifests) - 9) WHERE id = "
         "?1"},
        {"UPDATE operation_manifests SET data = substr(data, 1, 40) || CASE WHEN"
         " substr(data, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(data, 42)",
         "UPDATE history SET manifests = substr(manifests, 1, 40) || CASE WHEN"
         " substr(manifests, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(manifests, 42)"
         " WHERE id = ?1"},
        {"UPDATE operation_manifests SET data = data || x'00'",
         "UPDATE history SET manifests = manifests || x'00' WHERE id = ?1"},
        {"UPDATE operation_manifests SET size = size + 1",
         "UPDATE history SET manifests_size = manifests_size - 1 WHERE id = ?1"},
        {"UPDATE operation_manifests SET size = -1",
         "UPDATE history SET manifests_size = 9223372036854775807 WHERE id = ?1"},
        {"UPDATE operation_manifests SET data = zeroblob(0)",
         "UPDATE history SET manifests = zeroblob(0) WHERE id = ?1"},
    };
    char *path = db_path("corrupt.db"), *m = big_manifests(10000);
    store *s = NULL;
    sqlite3 *raw;
    sqlite3_stmt *stmt;
    struct store_operation op, got = {0};
    struct store_history h = {0}, *list = NULL;
    size_t n = 0, i;
    long long id = 0;

    CHECK_OK(open_with_apps(&s, "corrupt.db"));
    op_fill(&op, "web", 1, "Running", "{}", m);
    h.manifests_json = m;
    raw = raw_open(path);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(store_operation_put(s, &op) == 1);
        CHECK_OK(store_history_add(s, "web", &h, 0, &id));
        CHECK(sqlite3_exec(raw, cases[i].op, NULL, NULL, NULL) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(raw, cases[i].history, -1, &stmt, NULL) == SQLITE_OK);
        sqlite3_bind_int64(stmt, 1, id);
        CHECK(sqlite3_step(stmt) == SQLITE_DONE && sqlite3_changes(raw) == 1);
        sqlite3_finalize(stmt);
        if (!refused(s, id))
            TEST_FAIL_("case %zu: damaged manifests not refused: %s", i, err_last());
    }
    /* A sound stream whose text holds a NUL is not text. */
    CHECK(raw_set_compressed(raw, "UPDATE operation_manifests SET data = ?1, size = 3", "a\0b", 3,
                             Z_DEFAULT_COMPRESSION) == SQLITE_OK);
    CHECK(raw_set_compressed(raw, "UPDATE history SET manifests = ?1, manifests_size = 3", "a\0b",
                             3, Z_DEFAULT_COMPRESSION) == SQLITE_OK);
    CHECK(refused(s, id));

    /* Lists never inflate, so they still work; a put of the manifests
     * heals the operation. */
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n == sizeof(cases) / sizeof(cases[0]) && list[0].manifests_json == NULL);
    store_history_free(list, n);
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_operation_get(s, "web", 1, &got));
    CHECK_STR(got.manifests_json, m);
    store_operation_dispose(&got);
    sqlite3_close(raw);
    store_close(s);
    free(m);
    free(path);
}

TEST(history_add_list_get_trim)
{
    store *s = NULL;
    struct store_history h = {0}, got = {0}, *list = NULL;
    char rev[32], man[64];
    size_t n = 0, i;
    long long id = 0;
    int k;

    CHECK_OK(open_with_apps(&s, "history.db"));
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n == 0 && list == NULL);
    h.source_json = "{\"repoURL\":\"https://git.lan/x.git\",\"path\":\"web\"}";
    h.started_at = "2026-01-02T03:04:00Z";
    h.deployed_at = "2026-01-02T03:04:05Z";
    h.initiated_by = "automated";
    /* 12 with the default limit: the first two go. */
    for (k = 1; k <= 12; k++) {
        snprintf(rev, sizeof(rev), "rev-%d", k);
        snprintf(man, sizeof(man), "[{\"n\":%d}]", k);
        h.revision = rev;
        h.manifests_json = man;
        CHECK_OK(store_history_add(s, "web", &h, 0, &id));
        CHECK(id == k);
    }
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n == 10);
    for (i = 0; i < n; i++) {
        snprintf(rev, sizeof(rev), "rev-%zu", i + 3);
        CHECK(list[i].id == (long long)i + 3);
        CHECK_STR(list[i].revision, rev);
        CHECK_STR(list[i].initiated_by, "automated");
        CHECK_STR(list[i].source_json, h.source_json);
        CHECK_STR(list[i].started_at, "2026-01-02T03:04:00Z");
        CHECK_STR(list[i].deployed_at, "2026-01-02T03:04:05Z");
        CHECK(list[i].manifests_json == NULL);
    }
    store_history_free(list, n);
    CHECK_OK(store_history_get(s, "web", 12, &got));
    CHECK(got.id == 12);
    CHECK_STR(got.revision, "rev-12");
    CHECK_STR(got.manifests_json, "[{\"n\":12}]");
    store_history_dispose(&got);
    CHECK(got.revision == NULL);
    CHECK_ERR(store_history_get(s, "web", 2, &got), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "web");

    /* A smaller limit trims at once; ids go on increasing. */
    h.revision = "rev-13";
    h.initiated_by = "user:admin";
    CHECK_OK(store_history_add(s, "web", &h, 3, &id));
    CHECK(id == 13);
    CHECK_OK(store_history_add(s, "web", &h, 1, NULL));
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n == 1 && list[0].id == 14);
    CHECK_STR(list[0].initiated_by, "user:admin");
    store_history_free(list, n);
    CHECK_OK(store_history_add(s, "web", &h, 10, &id));
    CHECK(id == 15);

    /* Other apps keep their own; NULL strings are "". */
    memset(&h, 0, sizeof(h));
    CHECK_OK(store_history_add(s, "db", &h, 0, &id));
    CHECK(id == 1);
    CHECK_OK(store_history_get(s, "db", 1, &got));
    CHECK_STR(got.revision, "");
    CHECK_STR(got.manifests_json, "");
    store_history_dispose(&got);
    CHECK_ERR(store_history_add(s, "ghost", &h, 0, &id), ERR_NOTFOUND);
    CHECK(id == 0);
    CHECK_ERR(store_history_add(s, "", &h, 0, &id), ERR_INVALID);
    CHECK_ERR(store_history_add(s, "web", NULL, 0, &id), ERR_INVALID);
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n == 2 && list[0].id == 14 && list[1].id == 15);
    store_history_free(list, n);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
}

/* Add n events to app with messages "PREFIX-i". */
static int events_add(store *s, const char *app, const char *prefix, int n, int max)
{
    char msg[64];
    int i, rc;

    for (i = 0; i < n; i++) {
        snprintf(msg, sizeof(msg), "%s-%d", prefix, i);
        if ((rc = store_event_add(s, app, i % 2 ? "Warning" : "Normal", "ResourceUpdated", msg,
                                  max)) < 0)
            return rc;
    }
    return 0;
}

TEST(events_order_and_bounds)
{
    char *path = db_path("events.db");
    store *s = NULL;
    sqlite3 *raw;
    struct store_event *v = NULL;
    size_t n = 0, i;

    CHECK_OK(open_with_apps(&s, "events.db"));
    CHECK_OK(store_event_list(s, NULL, 0, &v, &n));
    CHECK(n == 0 && v == NULL);
    CHECK_OK(events_add(s, "web", "w", 3, 0));
    CHECK_OK(events_add(s, "db", "d", 2, 0));
    CHECK_OK(store_event_add(s, "web", "Normal", "OperationCompleted", NULL, 0));

    /* All apps, oldest first; ids increase. */
    CHECK_OK(store_event_list(s, NULL, 0, &v, &n));
    CHECK(n == 6);
    CHECK_STR(v[0].app, "web");
    CHECK_STR(v[0].message, "w-0");
    CHECK_STR(v[0].type, "Normal");
    CHECK_STR(v[1].type, "Warning");
    CHECK_STR(v[0].reason, "ResourceUpdated");
    CHECK(strlen(v[0].time) == 20 && v[0].time[19] == 'Z');
    CHECK_STR(v[3].app, "db");
    CHECK_STR(v[5].reason, "OperationCompleted");
    CHECK_STR(v[5].message, "");
    for (i = 1; i < n; i++)
        CHECK(v[i].id > v[i - 1].id);
    store_events_free(v, n);
    /* The newest `limit`, still oldest first; one app's only. */
    CHECK_OK(store_event_list(s, NULL, 2, &v, &n));
    CHECK(n == 2);
    CHECK_STR(v[0].message, "d-1");
    CHECK_STR(v[1].reason, "OperationCompleted");
    store_events_free(v, n);
    CHECK_OK(store_event_list(s, "web", 3, &v, &n));
    CHECK(n == 3);
    CHECK_STR(v[0].message, "w-1");
    CHECK_STR(v[1].message, "w-2");
    CHECK_STR(v[2].reason, "OperationCompleted");
    store_events_free(v, n);
    CHECK_OK(store_event_list(s, "ghost", 0, &v, &n));
    CHECK(n == 0);

    /* At most max_events in the store, the oldest going first. */
    CHECK_OK(events_add(s, "db", "more", 10, 8));
    CHECK_OK(store_event_list(s, NULL, 0, &v, &n));
    CHECK(n == 8);
    CHECK_STR(v[0].message, "more-2");
    CHECK_STR(v[7].message, "more-9");
    store_events_free(v, n);

    /* At most 1,000 per app, whatever the store's bound. */
    CHECK_OK(events_add(s, "web", "bulk", 1005, 0));
    CHECK_OK(store_event_list(s, "web", 0, &v, &n));
    CHECK(n == 1000);
    CHECK_STR(v[0].message, "bulk-5");
    CHECK_STR(v[999].message, "bulk-1004");
    store_events_free(v, n);
    CHECK_OK(store_event_list(s, NULL, 0, &v, &n));
    CHECK(n == 1008);
    store_events_free(v, n);
    raw = raw_open(path);
    CHECK(raw_int(raw, "SELECT count(*) FROM events") == 1008);
    sqlite3_close(raw);

    /* Bad input. */
    CHECK_ERR(store_event_add(s, "ghost", "Normal", "X", "", 0), ERR_NOTFOUND);
    CHECK_ERR(store_event_add(s, "web", "Info", "X", "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "Info");
    CHECK_ERR(store_event_add(s, "web", NULL, "X", "", 0), ERR_INVALID);
    CHECK_ERR(store_event_add(s, "web", "Normal", "", "", 0), ERR_INVALID);
    CHECK_ERR(store_event_add(s, NULL, "Normal", "X", "", 0), ERR_INVALID);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

TEST(event_message_cut_at_a_character)
{
    store *s = NULL;
    struct store_event *v = NULL;
    size_t n = 0;
    char msg[STORE_EVENT_MESSAGE_MAX + 64];

    CHECK_OK(open_with_apps(&s, "eventcut.db"));
    /* "é" (2 bytes) straddles the limit: cut before it. */
    memset(msg, 'a', sizeof(msg));
    memcpy(msg + STORE_EVENT_MESSAGE_MAX - 1, "\xc3\xa9", 2);
    msg[sizeof(msg) - 1] = '\0';
    CHECK_OK(store_event_add(s, "web", "Warning", "SyncError", msg, 0));
    msg[STORE_EVENT_MESSAGE_MAX - 1] = 'a';
    msg[STORE_EVENT_MESSAGE_MAX] = '\0';
    CHECK_OK(store_event_add(s, "web", "Warning", "SyncError", msg, 0));
    CHECK_OK(store_event_list(s, "web", 0, &v, &n));
    CHECK(n == 2);
    CHECK(strlen(v[0].message) == STORE_EVENT_MESSAGE_MAX - 1);
    CHECK(strncmp(v[0].message, msg, STORE_EVENT_MESSAGE_MAX - 1) == 0);
    CHECK(strlen(v[1].message) == STORE_EVENT_MESSAGE_MAX);
    store_events_free(v, n);
    store_close(s);
}

TEST(app_delete_takes_operation_history_events)
{
    char *path = db_path("cascade.db");
    store *s = NULL;
    sqlite3 *raw;
    struct store_operation op, got = {0};
    struct store_history h = {0}, *list = NULL;
    struct store_event *v = NULL;
    size_t n = 0;
    long long last_event;

    CHECK_OK(open_with_apps(&s, "cascade.db"));
    op_fill(&op, "web", 1, "Running", "{}", "[1]");
    CHECK(store_operation_put(s, &op) == 1);
    op.app = "db";
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_history_add(s, "web", &h, 0, NULL));
    CHECK_OK(store_history_add(s, "db", &h, 0, NULL));
    CHECK_OK(events_add(s, "db", "d", 2, 0));
    CHECK_OK(events_add(s, "web", "w", 3, 0));

    CHECK_OK(store_app_delete(s, "web"));
    raw = raw_open(path);
    CHECK(raw_int(raw, "SELECT count(*) FROM operations WHERE app = 'web'") == 0);
    CHECK(raw_int(raw, "SELECT count(*) FROM operation_manifests WHERE app = 'web'") == 0);
    CHECK(raw_int(raw, "SELECT count(*) FROM history WHERE app = 'web'") == 0);
    CHECK(raw_int(raw, "SELECT count(*) FROM events WHERE app = 'web'") == 0);
    CHECK(raw_int(raw, "SELECT count(*) FROM operation_manifests") == 1);
    CHECK(raw_int(raw, "SELECT count(*) FROM events") == 2);
    last_event = raw_int(raw, "SELECT seq FROM sqlite_sequence WHERE name = 'events'");
    sqlite3_close(raw);
    CHECK_OK(store_integrity_check(s));

    /* A new app of the same name starts afresh; event ids never go back,
     * even when the table empties. */
    CHECK_OK(store_app_put(s, "web", "{}"));
    CHECK_ERR(store_operation_get(s, "web", 0, &got), ERR_NOTFOUND);
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n == 0);
    CHECK_OK(store_app_delete(s, "db"));
    CHECK_OK(store_event_list(s, NULL, 0, &v, &n));
    CHECK(n == 0);
    CHECK_OK(store_event_add(s, "web", "Normal", "OperationStarted", "", 0));
    CHECK_OK(store_event_list(s, NULL, 0, &v, &n));
    CHECK(n == 1 && v[0].id == last_event + 1);
    store_events_free(v, n);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

/* The writer in the crash test: operation i of "web" (state and manifests
 * both name i, manifests written each time), and a history entry. */
static int crash_op_write(store *s, int i)
{
    struct store_operation op;
    struct store_history h = {0};
    char state[64], *m = big_manifests(20000 + (size_t)(i % 5) * 10000);
    char *tagged = xasprintf("[%d,%s", i, m + 1);
    int rc;

    snprintf(state, sizeof(state), "{\"n\":%d}", i);
    op_fill(&op, "web", i, i % 3 ? "Running" : "Succeeded", state, tagged);
    rc = store_operation_put(s, &op);
    h.revision = state;
    h.manifests_json = tagged;
    if (rc > 0 && store_history_add(s, "web", &h, 3, NULL) < 0)
        rc = -1;
    free(tagged);
    free(m);
    return rc;
}

TEST(crash_mid_operation_keeps_last_commit)
{
    char *path = db_path("opcrash.db"), state[64], tag[32];
    store *s = NULL;
    struct store_operation got = {0};
    struct store_history *list = NULL, h = {0};
    size_t n = 0;
    int acked;

    CHECK_OK(open_with_apps(&s, "opcrash.db"));
    store_close(s);
    s = NULL;
    acked = crash_writer(path, crash_op_write, 30);
    CHECK(acked >= 30);

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_integrity_check(s));
    /* The operation's state and manifests come from the same put. */
    CHECK_OK(store_operation_get(s, "web", 1, &got));
    CHECK(got.id >= acked);
    snprintf(state, sizeof(state), "{\"n\":%lld}", got.id);
    snprintf(tag, sizeof(tag), "[%lld,", got.id);
    CHECK_STR(got.state_json, state);
    CHECK(str_has_prefix(got.manifests_json, tag));
    store_operation_dispose(&got);
    /* History: whole entries, trimmed to 3, each readable. */
    CHECK_OK(store_history_list(s, "web", &list, &n));
    CHECK(n >= 1 && n <= 3);
    CHECK_OK(store_history_get(s, "web", list[n - 1].id, &h));
    snprintf(tag, sizeof(tag), "[%s", h.revision + 5);
    tag[strlen(tag) - 1] = ',';
    CHECK(str_has_prefix(h.manifests_json, tag));
    store_history_dispose(&h);
    store_history_free(list, n);
    store_close(s);
    free(path);
}

/* A pause is in force until its time, seen by a second connection (the
 * restore and the server are two processes), replaced by a later set,
 * and gone once cleared. */
TEST(pauses_hold_until_their_time)
{
    char *path = db_path("pauses.db"), *reason = NULL;
    store *a = NULL, *b = NULL;

    CHECK_OK(open_with_apps(&a, "pauses.db"));
    CHECK_OK(store_open(&b, path));
    CHECK_ERR(store_pause_get(b, "web", 1000, &reason), ERR_NOTFOUND);
    err_clear();
    CHECK_ERR(store_pause_set(a, "", "x", 2000), ERR_INVALID);
    err_clear();
    CHECK_OK(store_pause_set(a, "web", "restore r1 in progress", 2000));
    CHECK_OK(store_pause_get(b, "web", 1999, &reason));
    CHECK_STR(reason, "restore r1 in progress");
    free(reason);
    CHECK_ERR(store_pause_get(b, "web", 2000, &reason), ERR_NOTFOUND);
    err_clear();
    CHECK_ERR(store_pause_get(b, "db", 1000, &reason), ERR_NOTFOUND);
    err_clear();
    CHECK_OK(store_pause_set(a, "web", "restore r2 in progress", 3000));
    CHECK_OK(store_pause_get(b, "web", 2500, &reason));
    CHECK_STR(reason, "restore r2 in progress");
    free(reason);
    CHECK_OK(store_pause_clear(b, "web"));
    CHECK_OK(store_pause_clear(b, "web"));
    CHECK_ERR(store_pause_get(a, "web", 1000, &reason), ERR_NOTFOUND);
    err_clear();
    store_close(a);
    store_close(b);
    free(path);
}

int main(void)
{
    dir = test_tmpdir("storage-ops");
    RUN(operation_put_get_running);
    RUN(operation_unchanged_writes_nothing);
    RUN(manifests_round_trip_large);
    RUN(corrupt_manifests_refused);
    RUN(history_add_list_get_trim);
    RUN(events_order_and_bounds);
    RUN(event_message_cut_at_a_character);
    RUN(app_delete_takes_operation_history_events);
    RUN(crash_mid_operation_keeps_last_commit);
    RUN(pauses_hold_until_their_time);
    free(dir);
    return TEST_END();
}
