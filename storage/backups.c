/*
 * The store's part of backups: schedules and the rows of running backups
 * and restores. The store does not look inside a schedule's JSON (the
 * backup module does); it keeps the spec and the status in separate
 * columns and every write touches one of them, so the CLI pausing a
 * schedule while `edgecd serve` records a run never loses either write.
 *
 * A run row is written at its start, every few seconds of progress and at
 * its end, never per object: the counters are for an operator watching,
 * and flash storage wears with every write.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "storage/internal.h"

#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

/* ---- schedules ---- */

int store_schedule_create(store *s, const char *name, const char *spec_json)
{
    char now[21];
    const char *args[3] = {name, spec_json, now};
    int rc;

    if (!name || !name[0])
        return err_set(ERR_INVALID, "store: a schedule needs a name");
    time_rfc3339(now);
    pthread_mutex_lock(&s->lock);
    rc = store_run(s,
                   "INSERT INTO schedules (name, spec, status, created_at, updated_at)"
                   " VALUES (?1, ?2, '{}', ?3, ?3) ON CONFLICT (name) DO NOTHING",
                   args, 3, "add schedule");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_CONFLICT, "schedule \"%s\" exists", name);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* UPDATE schedules SET <column> = ?2 ... WHERE name = ?1; ERR_NOTFOUND
 * when there is no such schedule. */
static int store_schedule_set(store *s, const char *name, const char *column, const char *json)
{
    char now[21], sql[160];
    const char *args[3] = {name, json, now};
    int rc;

    time_rfc3339(now);
    snprintf(sql, sizeof(sql), "UPDATE schedules SET %s = ?2, updated_at = ?3 WHERE name = ?1",
             column);
    pthread_mutex_lock(&s->lock);
    rc = store_run(s, sql, args, 3, "write schedule");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_NOTFOUND, "schedule \"%s\" not found", store_str(name));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_schedule_spec_put(store *s, const char *name, const char *spec_json)
{
    return store_schedule_set(s, name, "spec", spec_json);
}

int store_schedule_status_put(store *s, const char *name, const char *status_json)
{
    struct store_schedule old;
    int rc;

    /* Compare first: the scheduler rewrites the same status every pass. */
    if ((rc = store_schedule_get(s, name, &old)) < 0)
        return rc;
    rc = store_same(old.status_json, status_json) ? 0 : 1;
    store_schedule_dispose(&old);
    if (rc == 1) {
        int wrc = store_schedule_set(s, name, "status", status_json);
        if (wrc < 0)
            return wrc;
    }
    return rc;
}

#define STORE_SCHEDULE_COLUMNS "name, spec, status, created_at, updated_at"

static void store_schedule_read(sqlite3_stmt *stmt, struct store_schedule *out)
{
    out->name = store_column(stmt, 0);
    out->spec_json = store_column(stmt, 1);
    out->status_json = store_column(stmt, 2);
    out->created_at = store_column(stmt, 3);
    out->updated_at = store_column(stmt, 4);
}

int store_schedule_get(store *s, const char *name, struct store_schedule *out)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {name};
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "SELECT " STORE_SCHEDULE_COLUMNS " FROM schedules WHERE name = ?1",
                            args, 1)) < 0)
        goto out;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        store_schedule_read(stmt, out);
    else if (step == SQLITE_DONE)
        rc = err_set(ERR_NOTFOUND, "schedule \"%s\" not found", store_str(name));
    else
        rc = store_fail(s, "read schedule");
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_schedule_list(store *s, struct store_schedule **out, size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    struct store_schedule *v = NULL;
    size_t n = 0;
    int rc, step;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "SELECT " STORE_SCHEDULE_COLUMNS " FROM schedules ORDER BY name", NULL,
                            0)) < 0)
        goto out;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        v = xrealloc(v, (n + 1) * sizeof(*v));
        store_schedule_read(stmt, &v[n++]);
    }
    if (step != SQLITE_DONE) {
        rc = store_fail(s, "list schedules");
        store_schedules_free(v, n);
        goto out;
    }
    *out = v;
    *out_n = n;
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_schedule_delete(store *s, const char *name)
{
    const char *args[1] = {name};
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = store_run(s, "DELETE FROM schedules WHERE name = ?1", args, 1, "delete schedule");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_NOTFOUND, "schedule \"%s\" not found", store_str(name));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void store_schedule_dispose(struct store_schedule *sc)
{
    if (!sc)
        return;
    free(sc->name);
    free(sc->spec_json);
    free(sc->status_json);
    free(sc->created_at);
    free(sc->updated_at);
    memset(sc, 0, sizeof(*sc));
}

void store_schedules_free(struct store_schedule *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_schedule_dispose(&v[i]);
    free(v);
}

/* ---- runs ---- */

int store_run_put(store *s, const struct store_run *r)
{
    char now[21];
    const char *args[6] = {r->kind, r->name, r->location, r->phase, r->message, now};
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (!r->kind || !r->kind[0] || !r->name || !r->name[0])
        return err_set(ERR_INVALID, "store: a backup run needs a kind and a name");
    time_rfc3339(now);
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(
             s, &stmt,
             "INSERT INTO backup_runs (kind, name, location, phase, message, started_at, "
             "updated_at, total_items, items_done, pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, "
             "?8, ?9) ON CONFLICT (kind, name) DO UPDATE SET location = excluded.location,"
             " phase = excluded.phase, message = excluded.message,"
             " updated_at = excluded.updated_at, total_items = excluded.total_items,"
             " items_done = excluded.items_done, pid = excluded.pid,"
             " started_at = CASE WHEN backup_runs.phase <> 'InProgress' AND"
             " excluded.phase = 'InProgress' THEN excluded.started_at ELSE backup_runs.started_at"
             " END",
             args, 6)) < 0)
        goto out;
    if (sqlite3_bind_int64(stmt, 7, r->total_items) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 8, r->items_done) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 9, r->pid) != SQLITE_OK) {
        rc = store_fail(s, "bind");
        goto out;
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        rc = store_fail(s, "write backup run");
        goto out;
    }
    /* Ended rows beyond the newest kept go, so the table stays small. */
    rc =
        store_run(s,
                  "DELETE FROM backup_runs WHERE kind = ?1 AND phase <> 'InProgress' AND rowid NOT "
                  "IN (SELECT rowid FROM backup_runs WHERE kind = ?1 AND phase <> 'InProgress' "
                  "ORDER BY updated_at DESC, rowid DESC LIMIT " STORE_STR(STORE_RUNS_KEPT) ")",
                  args, 1, "trim backup runs");
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_run_get(store *s, const char *kind, const char *name, struct store_run *out)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[2] = {kind, name};
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "SELECT kind, name, location, phase, message, started_at, updated_at,"
                            " total_items, items_done, pid FROM backup_runs"
                            " WHERE kind = ?1 AND name = ?2",
                            args, 2)) < 0)
        goto out;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        out->kind = store_column(stmt, 0);
        out->name = store_column(stmt, 1);
        out->location = store_column(stmt, 2);
        out->phase = store_column(stmt, 3);
        out->message = store_column(stmt, 4);
        out->started_at = store_column(stmt, 5);
        out->updated_at = store_column(stmt, 6);
        out->total_items = sqlite3_column_int64(stmt, 7);
        out->items_done = sqlite3_column_int64(stmt, 8);
        out->pid = sqlite3_column_int64(stmt, 9);
    } else if (step == SQLITE_DONE) {
        rc = err_set(ERR_NOTFOUND, "%s \"%s\" not found", store_str(kind), store_str(name));
    } else {
        rc = store_fail(s, "read backup run");
    }
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_run_fail_orphans(store *s, int (*gone)(void *ctx, long long pid), void *ctx,
                           const char *message, int *out_n)
{
    sqlite3_stmt *stmt = NULL;
    char now[21];
    const char *args[2] = {message, now};
    int rc, step, n = 0;

    if (out_n)
        *out_n = 0;
    time_rfc3339(now);
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_prepare(s, &stmt,
                            "SELECT rowid, pid FROM backup_runs WHERE phase = 'InProgress'", NULL,
                            0)) < 0)
        goto fail;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        sqlite3_stmt *up = NULL;
        if (!gone(ctx, sqlite3_column_int64(stmt, 1)))
            continue;
        if ((rc = store_prepare(s, &up,
                                "UPDATE backup_runs SET phase = 'Failed', message = ?1,"
                                " updated_at = ?2 WHERE rowid = ?3",
                                args, 2)) < 0)
            goto fail;
        if (sqlite3_bind_int64(up, 3, sqlite3_column_int64(stmt, 0)) != SQLITE_OK ||
            sqlite3_step(up) != SQLITE_DONE) {
            rc = store_fail(s, "fail backup run");
            sqlite3_finalize(up);
            goto fail;
        }
        sqlite3_finalize(up);
        n++;
    }
    if (step != SQLITE_DONE) {
        rc = store_fail(s, "list backup runs");
        goto fail;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if ((rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    if (out_n)
        *out_n = n;
    goto out;
fail:
    sqlite3_finalize(stmt);
    stmt = NULL;
    store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void store_run_dispose(struct store_run *r)
{
    if (!r)
        return;
    free(r->kind);
    free(r->name);
    free(r->location);
    free(r->phase);
    free(r->message);
    free(r->started_at);
    free(r->updated_at);
    memset(r, 0, sizeof(*r));
}
