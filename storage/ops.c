/*
 * The records of sync operations: the running or last operation of each
 * app, the history of its successful syncs, and the events an operator
 * reads. The store keeps them and does not look inside the JSON.
 *
 * Manifests (what an operation applies, what a history entry deployed) are
 * the only large values in the store. They are kept zlib-compressed next
 * to their uncompressed length: the length bounds what a read allocates,
 * and a blob that does not inflate to exactly that many bytes of text is
 * damage, refused with ERR_INVALID rather than handed to the engine to
 * apply. Compression happens before the lock is taken, so a large put
 * holds up no reader for its CPU time.
 *
 * History and events are appended and trimmed in the same transaction, so
 * the file never holds more than the bounds however long the box runs.
 * History ids are the app's newest + 1 (trimming never drops the newest,
 * so they keep increasing); event ids come from AUTOINCREMENT.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "storage/internal.h"

#define STORE_HISTORY_DEFAULT 10
#define STORE_EVENTS_DEFAULT 10000
#define STORE_EVENTS_PER_APP 1000

/* Manifests text compressed for a blob column. */
struct store_packed {
    unsigned char *data;
    size_t len;  /* bytes of data */
    size_t size; /* bytes of the text */
};

/* Compress text (NULL: "") into out; out->data is new. */
static int store_pack(struct store_packed *out, const char *text)
{
    uLongf len;
    int zrc;

    memset(out, 0, sizeof(*out));
    text = store_str(text);
    out->size = strlen(text);
    if (out->size > STORE_MANIFESTS_MAX)
        return err_set(ERR_TOOLARGE, "store: manifests of %zu bytes are over the limit of %u",
                       out->size, STORE_MANIFESTS_MAX);
    len = compressBound((uLong)out->size);
    out->data = xmalloc(len);
    zrc = compress2(out->data, &len, (const Bytef *)text, (uLong)out->size, Z_DEFAULT_COMPRESSION);
    if (zrc != Z_OK) {
        free(out->data);
        out->data = NULL;
        return err_set(ERR_GENERIC, "store: compressing manifests: %s", zError(zrc));
    }
    out->len = len;
    return 0;
}

/* The text of the blob in column col + 1 whose length is in column col, as
 * a new string in *out. ERR_INVALID, naming what, when it is not exactly
 * that many bytes of text. */
static int store_unpack(store *s, sqlite3_stmt *stmt, int col, const char *what, char **out)
{
    sqlite3_int64 size = sqlite3_column_int64(stmt, col);
    const void *blob = sqlite3_column_blob(stmt, col + 1);
    uLong used = (uLong)sqlite3_column_bytes(stmt, col + 1);
    uLongf got;
    char *text;
    int zrc;

    *out = NULL;
    if (size < 0 || size > STORE_MANIFESTS_MAX)
        return err_set(ERR_INVALID, "%s: %s: stored manifests length %lld is out of range", s->path,
                       what, (long long)size);
    text = xmalloc((size_t)size + 1);
    got = (uLongf)size;
    zrc = uncompress2((Bytef *)text, &got, blob ? blob : (const void *)"", &used);
    if (zrc != Z_OK || got != (uLongf)size || used != (uLong)sqlite3_column_bytes(stmt, col + 1) ||
        memchr(text, 0, (size_t)size)) {
        free(text);
        return err_set(ERR_INVALID, "%s: %s: stored manifests are damaged (zlib: %s)", s->path,
                       what, zrc == Z_OK ? "wrong length" : zError(zrc));
    }
    text[size] = '\0';
    *out = text;
    return 0;
}

/* 1 if the manifests in columns col, col + 1 are text, the same text as p
 * holds. A damaged blob is simply different: the put overwrites it. */
static int store_packed_equal(store *s, sqlite3_stmt *stmt, int col, const struct store_packed *p,
                              const char *text)
{
    const void *blob;
    char *stored = NULL;
    int same;

    if (sqlite3_column_int64(stmt, col) != (sqlite3_int64)p->size)
        return 0;
    blob = sqlite3_column_blob(stmt, col + 1);
    if ((size_t)sqlite3_column_bytes(stmt, col + 1) == p->len && blob &&
        memcmp(blob, p->data, p->len) == 0)
        return 1;
    /* Another zlib may compress the same text differently. */
    if (store_unpack(s, stmt, col, "compare manifests", &stored) < 0) {
        err_clear();
        return 0;
    }
    same = strcmp(stored, store_str(text)) == 0;
    free(stored);
    return same;
}

/* Run sql with the strings args as ?1..?n, the integer v as ?n+1 and, if
 * p, its size and data as ?n+2 and ?n+3 (sql need not use every one). */
static int store_run_with(store *s, const char *sql, const char *const *args, int n, long long v,
                          const struct store_packed *p, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = store_prepare(s, &stmt, sql, args, n)) < 0)
        return rc;
    if (sqlite3_bind_int64(stmt, n + 1, v) != SQLITE_OK ||
        (p && (sqlite3_bind_int64(stmt, n + 2, (sqlite3_int64)p->size) != SQLITE_OK ||
               sqlite3_bind_blob64(stmt, n + 3, p->data, p->len, SQLITE_STATIC) != SQLITE_OK)))
        rc = store_fail(s, "bind");
    else
        rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : store_fail(s, what);
    sqlite3_finalize(stmt);
    return rc;
}

/* ---- operations ---- */

static const char *const store_operation_phases[] = {"Running", "Terminating", "Succeeded",
                                                     "Failed", "Error"};

static int store_operation_phase_known(const char *phase)
{
    size_t i;
    for (i = 0; i < sizeof(store_operation_phases) / sizeof(store_operation_phases[0]); i++)
        if (phase && strcmp(phase, store_operation_phases[i]) == 0)
            return 1;
    return 0;
}

int store_operation_put(store *s, const struct store_operation *op)
{
    struct store_packed packed = {0};
    sqlite3_stmt *stmt = NULL;
    const char *args[4];
    long long old_id = 0;
    char now[21];
    int rc, step, same = 0;

    if (!op || !op->app || !op->app[0] || op->id < 1)
        return err_set(ERR_INVALID, "store: an operation needs an application and an id from 1");
    if (!store_operation_phase_known(op->phase))
        return err_set(ERR_INVALID,
                       "application \"%s\": operation phase \"%s\" is not one of Running,"
                       " Terminating, Succeeded, Failed, Error",
                       op->app, store_str(op->phase));
    if ((rc = store_pack(&packed, op->manifests_json)) < 0)
        return rc;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_app_exists(s, op->app)) < 0)
        goto fail;
    args[0] = op->app;
    if ((rc = store_prepare(s, &stmt,
                            "SELECT o.id, o.phase, o.state, m.size, m.data FROM operations o"
                            " LEFT JOIN operation_manifests m ON m.app = o.app WHERE o.app = ?1",
                            args, 1)) < 0)
        goto fail;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        old_id = sqlite3_column_int64(stmt, 0);
        if (op->id < old_id) {
            rc = err_set(ERR_CONFLICT,
                         "application \"%s\": operation %lld is older than the stored %lld",
                         op->app, op->id, old_id);
            goto fail;
        }
        same = op->id == old_id &&
               store_same((const char *)sqlite3_column_text(stmt, 1), op->phase) &&
               store_same((const char *)sqlite3_column_text(stmt, 2), op->state_json) &&
               (!op->manifests_json || store_packed_equal(s, stmt, 3, &packed, op->manifests_json));
    } else if (step != SQLITE_DONE) {
        rc = store_fail(s, "read operation");
        goto fail;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (!same) {
        time_rfc3339(now);
        args[1] = op->phase;
        args[2] = op->state_json;
        args[3] = now;
        if ((rc = store_run_with(s,
                                 "INSERT INTO operations (app, phase, state, updated_at, id)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (app) DO UPDATE SET"
                                 " id = excluded.id, phase = excluded.phase,"
                                 " state = excluded.state, updated_at = excluded.updated_at",
                                 args, 4, op->id, NULL, "write operation")) < 0)
            goto fail;
        /* Only a new operation, or new manifests, touch the blob. */
        if ((op->manifests_json || op->id != old_id) &&
            (rc = store_run_with(s,
                                 "INSERT OR REPLACE INTO operation_manifests (app, size, data)"
                                 " VALUES (?1, ?3, ?4)",
                                 args, 1, 0, &packed, "write operation manifests")) < 0)
            goto fail;
    }
    if ((rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    rc = same ? 0 : 1;
    goto out;
fail:
    sqlite3_finalize(stmt);
    store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    free(packed.data);
    if (rc == 1)
        store_changed(s, op->app);
    return rc;
}

int store_operation_get(store *s, const char *app, int with_manifests, struct store_operation *out)
{
    struct store_operation tmp = {0};
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {app};
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    /* The blob is read only when asked for: SQLite does not load the
     * overflow pages of a column nobody reads. */
    if ((rc = store_prepare(
             s, &stmt,
             with_manifests ? "SELECT o.id, o.phase, o.state, o.updated_at, m.size, m.data"
                              " FROM operations o LEFT JOIN operation_manifests m ON m.app = o.app"
                              " WHERE o.app = ?1"
                            : "SELECT id, phase, state, updated_at FROM operations"
                              " WHERE app = ?1",
             args, 1)) < 0)
        goto out;
    step = sqlite3_step(stmt);
    if (step == SQLITE_DONE) {
        rc = err_set(ERR_NOTFOUND, "application \"%s\" has no operation", store_str(app));
        goto out;
    } else if (step != SQLITE_ROW) {
        rc = store_fail(s, "read operation");
        goto out;
    }
    tmp.app = xstrdup(app);
    tmp.id = sqlite3_column_int64(stmt, 0);
    tmp.phase = store_column(stmt, 1);
    tmp.state_json = store_column(stmt, 2);
    tmp.updated_at = store_column(stmt, 3);
    if (with_manifests)
        rc = store_unpack(s, stmt, 4, tmp.app, &tmp.manifests_json);
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0)
        store_operation_dispose(&tmp);
    else
        *out = tmp;
    return rc;
}

void store_operation_dispose(struct store_operation *op)
{
    if (!op)
        return;
    free(op->app);
    free(op->phase);
    free(op->state_json);
    free(op->manifests_json);
    free(op->updated_at);
    memset(op, 0, sizeof(*op));
}

int store_operation_running(store *s, char ***out_names, size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out_names = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "SELECT app FROM operations WHERE phase IN ('Running', 'Terminating')"
                            " ORDER BY app",
                            NULL, 0)) == 0)
        rc = store_names_read(s, stmt, out_names, out_n);
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- history ---- */

int store_history_add(store *s, const char *app, const struct store_history *h, int limit,
                      long long *out_id)
{
    struct store_packed packed = {0};
    sqlite3_stmt *stmt = NULL;
    const char *args[6];
    long long id = 0;
    int rc;

    if (out_id)
        *out_id = 0;
    if (!app || !app[0] || !h)
        return err_set(ERR_INVALID, "store: a history entry needs an application");
    if (limit <= 0)
        limit = STORE_HISTORY_DEFAULT;
    if ((rc = store_pack(&packed, h->manifests_json)) < 0)
        return rc;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_app_exists(s, app)) < 0)
        goto fail;
    args[0] = app;
    if ((rc = store_prepare(s, &stmt, "SELECT COALESCE(MAX(id), 0) + 1 FROM history WHERE app = ?1",
                            args, 1)) < 0)
        goto fail;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = store_fail(s, "read history");
        goto fail;
    }
    id = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    stmt = NULL;
    args[1] = h->revision;
    args[2] = h->source_json;
    args[3] = h->started_at;
    args[4] = h->deployed_at;
    args[5] = h->initiated_by;
    if ((rc = store_run_with(s,
                             "INSERT INTO history (app, revision, source, started_at, deployed_at,"
                             " initiated_by, id, manifests_size, manifests)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                             args, 6, id, &packed, "write history")) < 0)
        goto fail;
    /* The newest `limit` stay; NULL from the subquery (fewer rows) keeps
     * everything. */
    if ((rc = store_run_with(s,
                             "DELETE FROM history WHERE app = ?1 AND id <= (SELECT id FROM history"
                             " WHERE app = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                             args, 1, limit, NULL, "trim history")) < 0)
        goto fail;
    if ((rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    if (out_id)
        *out_id = id;
    goto out;
fail:
    sqlite3_finalize(stmt);
    store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    free(packed.data);
    return rc;
}

/* The columns every history read takes, in the order store_history_row
 * expects; manifests_size and manifests follow when wanted. */
#define STORE_HISTORY_COLUMNS "SELECT id, revision, source, started_at, deployed_at, initiated_by"

static void store_history_row(sqlite3_stmt *stmt, struct store_history *h)
{
    h->id = sqlite3_column_int64(stmt, 0);
    h->revision = store_column(stmt, 1);
    h->source_json = store_column(stmt, 2);
    h->started_at = store_column(stmt, 3);
    h->deployed_at = store_column(stmt, 4);
    h->initiated_by = store_column(stmt, 5);
}

int store_history_list(store *s, const char *app, struct store_history **out, size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {app};
    struct store_history *v = NULL;
    size_t n = 0, cap = 0;
    int rc, step;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            STORE_HISTORY_COLUMNS " FROM history WHERE app = ?1"
                                                  " ORDER BY id",
                            args, 1)) < 0)
        goto out;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        memset(&v[n], 0, sizeof(v[n]));
        store_history_row(stmt, &v[n++]);
    }
    if (step != SQLITE_DONE) {
        rc = store_fail(s, "list history");
        store_history_free(v, n);
        goto out;
    }
    *out = v;
    *out_n = n;
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_history_get(store *s, const char *app, long long id, struct store_history *out)
{
    struct store_history tmp = {0};
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {app};
    char what[64];
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            STORE_HISTORY_COLUMNS ", manifests_size, manifests FROM history"
                                                  " WHERE app = ?1 AND id = ?2",
                            args, 1)) < 0)
        goto out;
    sqlite3_bind_int64(stmt, 2, id);
    step = sqlite3_step(stmt);
    if (step == SQLITE_DONE) {
        rc = err_set(ERR_NOTFOUND, "application \"%s\" has no history entry %lld", store_str(app),
                     id);
        goto out;
    } else if (step != SQLITE_ROW) {
        rc = store_fail(s, "read history");
        goto out;
    }
    store_history_row(stmt, &tmp);
    snprintf(what, sizeof(what), "%.40s history %lld", store_str(app), id);
    rc = store_unpack(s, stmt, 6, what, &tmp.manifests_json);
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0)
        store_history_dispose(&tmp);
    else
        *out = tmp;
    return rc;
}

void store_history_dispose(struct store_history *h)
{
    if (!h)
        return;
    free(h->revision);
    free(h->source_json);
    free(h->started_at);
    free(h->deployed_at);
    free(h->initiated_by);
    free(h->manifests_json);
    memset(h, 0, sizeof(*h));
}

void store_history_free(struct store_history *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        store_history_dispose(&v[i]);
    free(v);
}

/* ---- events ---- */

/* The first STORE_EVENT_MESSAGE_MAX bytes of message, not ending inside
 * a UTF-8 sequence, in buf. */
static const char *store_event_message(const char *message, char *buf)
{
    size_t n = strlen(message);

    if (n <= STORE_EVENT_MESSAGE_MAX)
        return message;
    n = STORE_EVENT_MESSAGE_MAX;
    while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf, message, n);
    buf[n] = '\0';
    return buf;
}

int store_event_add(store *s, const char *app, const char *type, const char *reason,
                    const char *message, int max_events)
{
    char cut[STORE_EVENT_MESSAGE_MAX + 1], now[21];
    const char *args[5];
    int rc;

    if (!app || !app[0] || !reason || !reason[0])
        return err_set(ERR_INVALID, "store: an event needs an application and a reason");
    if (!type || (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0))
        return err_set(ERR_INVALID,
                       "application \"%s\": event type \"%s\" is not Normal or Warning", app,
                       store_str(type));
    if (max_events <= 0)
        max_events = STORE_EVENTS_DEFAULT;
    time_rfc3339(now);
    args[0] = app;
    args[1] = now;
    args[2] = type;
    args[3] = reason;
    args[4] = store_event_message(store_str(message), cut);
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_app_exists(s, app)) < 0 ||
        (rc = store_run(s,
                        "INSERT INTO events (app, time, type, reason, message)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
                        args, 5, "write event")) < 0 ||
        (rc = store_run_with(s,
                             "DELETE FROM events WHERE app = ?1 AND id <= (SELECT id FROM events"
                             " WHERE app = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                             args, 1, STORE_EVENTS_PER_APP, NULL, "trim events")) < 0 ||
        (rc = store_run_with(s,
                             "DELETE FROM events WHERE id <= (SELECT id FROM events"
                             " ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                             NULL, 0, max_events, NULL, "trim events")) < 0 ||
        (rc = store_exec(s, "COMMIT", "commit")) < 0)
        store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_event_list(store *s, const char *app, size_t limit, struct store_event **out,
                     size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {app};
    struct store_event *v = NULL, *e;
    size_t n = 0, cap = 0;
    int rc, step;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    /* App names are never "", so "" (NULL bound) selects every app. */
    if ((rc = store_prepare(s, &stmt,
                            "SELECT id, app, time, type, reason, message FROM (SELECT * FROM events"
                            " WHERE ?1 = '' OR app = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
                            args, 1)) < 0)
        goto out;
    sqlite3_bind_int64(stmt, 2, limit && limit <= INT64_MAX ? (sqlite3_int64)limit : -1);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, cap * sizeof(*v));
        }
        e = &v[n++];
        e->id = sqlite3_column_int64(stmt, 0);
        e->app = store_column(stmt, 1);
        e->time = store_column(stmt, 2);
        e->type = store_column(stmt, 3);
        e->reason = store_column(stmt, 4);
        e->message = store_column(stmt, 5);
    }
    if (step != SQLITE_DONE) {
        rc = store_fail(s, "list events");
        store_events_free(v, n);
        goto out;
    }
    *out = v;
    *out_n = n;
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void store_events_free(struct store_event *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(v[i].app);
        free(v[i].time);
        free(v[i].type);
        free(v[i].reason);
        free(v[i].message);
    }
    free(v);
}

/* ---- pauses ---- */

int store_pause_set(store *s, const char *label, const char *reason, long long until_unix)
{
    const char *args[2] = {label, reason ? reason : ""};
    int rc;

    if (!label || !label[0])
        return err_set(ERR_INVALID, "store: a pause needs an app label");
    pthread_mutex_lock(&s->lock);
    rc = store_run_with(s,
                        "INSERT INTO pauses (label, reason, until_unix) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT(label) DO UPDATE SET reason = excluded.reason,"
                        " until_unix = excluded.until_unix",
                        args, 2, until_unix, NULL, "set pause");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_pause_clear(store *s, const char *label)
{
    const char *args[1] = {label};
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = store_run(s, "DELETE FROM pauses WHERE label = ?1", args, 1, "clear pause");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_pause_get(store *s, const char *label, long long now_unix, char **out_reason)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {label};
    int rc;

    *out_reason = NULL;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "SELECT reason FROM pauses WHERE label = ?1 AND until_unix > ?2", args,
                            1)) == 0) {
        if (sqlite3_bind_int64(stmt, 2, now_unix) != SQLITE_OK) {
            rc = store_fail(s, "bind");
        } else {
            int step = sqlite3_step(stmt);
            if (step == SQLITE_ROW)
                *out_reason = xstrdup((const char *)sqlite3_column_text(stmt, 0));
            else if (step == SQLITE_DONE)
                rc = err_set(ERR_NOTFOUND, "no pause in force for %s", store_str(label));
            else
                rc = store_fail(s, "read pause");
        }
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}
