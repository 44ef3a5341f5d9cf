/*
 * The store: the only place in edgecd that speaks SQL.
 *
 * Durability comes from SQLite itself (WAL, synchronous=FULL): a commit is
 * on disk when sqlite3_step returns, and a crash or power cut at any other
 * moment rolls back to the last commit. Flash wear comes from us: every
 * write first reads what is stored and does nothing when it is equal, so a
 * steady cluster polled every few seconds costs no writes at all.
 *
 * One connection per store, opened FULLMUTEX so a stray concurrent call
 * cannot corrupt SQLite's state; on top of that one pthread mutex is held
 * for the whole of every public call, because read-compare-write needs
 * several statements to see one consistent database and the per-connection
 * error message must belong to the failing call. Contention is not a
 * concern: the engine writes a handful of rows per pass and HTTP handlers
 * read a handful.
 *
 * Transactions that may write start with BEGIN IMMEDIATE: the write lock
 * is taken before the read, so another process (a CLI opening the same
 * file) can never make the compare stale; when nothing differs the COMMIT
 * writes nothing.
 *
 * This file holds the connection, the migrations and the applications with
 * their status; ops.c the records of sync operations (operations, history,
 * events). The statement helpers both use are declared in internal.h.
 */
#include "storage/store.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "storage/internal.h"
#include "storage/schema.h"

/* How long a call waits for another process holding the write lock. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Columns may not be NULL (schema.c), so absent strings are stored as "". */
const char *store_str(const char *s)
{
    return s ? s : "";
}

int store_same(const char *a, const char *b)
{
    return strcmp(store_str(a), store_str(b)) == 0;
}

/* The current SQLite error as ours: busy means another writer held the
 * lock past the timeout, everything else is the file or the disk. */
int store_fail(store *s, const char *what)
{
    int code = sqlite3_errcode(s->db);
    int ours = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? ERR_TIMEOUT : ERR_IO;
    return err_set(ours, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_exec(store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, what);
    return 0;
}

/* Prepare sql and bind the n strings in args to ?1..?n. */
int store_prepare(store *s, sqlite3_stmt **out, const char *sql, const char *const *args, int n)
{
    sqlite3_stmt *stmt = NULL;
    int i;

    *out = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return store_fail(s, "prepare");
    for (i = 0; i < n; i++) {
        /* SQLITE_STATIC: every caller finalizes before args go away. */
        if (sqlite3_bind_text(stmt, i + 1, store_str(args[i]), -1, SQLITE_STATIC) != SQLITE_OK) {
            sqlite3_finalize(stmt);
            return store_fail(s, "bind");
        }
    }
    *out = stmt;
    return 0;
}

/* Run a statement that returns no rows. */
int store_run(store *s, const char *sql, const char *const *args, int n, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = store_prepare(s, &stmt, sql, args, n)) < 0)
        return rc;
    rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : store_fail(s, what);
    sqlite3_finalize(stmt);
    return rc;
}

/* See internal.h. */
int store_step_write(store *s, sqlite3_stmt *stmt, const char *what, const char *conflict,
                     const char *missing)
{
    int step = sqlite3_step(stmt), ext = sqlite3_extended_errcode(s->db), rc = 0;

    if (step != SQLITE_DONE) {
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
            rc = err_set(ERR_CONFLICT, "%s", conflict);
        else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = err_set(ERR_NOTFOUND, "%s", missing);
        else
            rc = store_fail(s, what);
    }
    sqlite3_finalize(stmt);
    return rc;
}

char *store_column(sqlite3_stmt *stmt, int col)
{
    const unsigned char *v = sqlite3_column_text(stmt, col);
    return xstrdup(v ? (const char *)v : "");
}

/* A PRAGMA that answers one integer. */
static int store_pragma_int(store *s, const char *sql, int *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = store_prepare(s, &stmt, sql, NULL, 0)) < 0)
        return rc;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *out = sqlite3_column_int(stmt, 0);
        rc = 0;
    } else {
        rc = store_fail(s, sql);
    }
    sqlite3_finalize(stmt);
    return rc;
}

void store_rollback(store *s)
{
    /* Best effort: the error being reported is the one that made us roll
     * back, and SQLite rolls back by itself if even this fails. */
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Bring the schema from whatever version the file has to ours, one
 * migration per transaction. The version is re-read inside each
 * transaction because another process may have migrated meanwhile. */
static int store_migrate(store *s)
{
    char bump[64];
    int version = 0, rc;

    for (;;) {
        if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin migration")) < 0)
            return rc;
        if ((rc = store_pragma_int(s, "PRAGMA user_version", &version)) < 0)
            goto fail;
        if (version < 0 || (size_t)version > schema_count) {
            rc = err_set(ERR_INVALID, "%s: schema version %d is newer than this edgecd (%zu)",
                         s->path, version, schema_count);
            goto fail;
        }
        if ((size_t)version == schema_count)
            break;
        if (sqlite3_exec(s->db, schema_migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof(what), "migration %d", version + 1);
            rc = store_fail(s, what);
            goto fail;
        }
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", version + 1);
        if ((rc = store_exec(s, bump, "set schema version")) < 0)
            goto fail;
        if ((rc = store_exec(s, "COMMIT", "commit migration")) < 0)
            goto fail;
    }
    return store_exec(s, "COMMIT", "commit");
fail:
    store_rollback(s);
    return rc;
}

int store_open(store **out, const char *path)
{
    store *s = NULL;
    sqlite3_stmt *stmt = NULL;
    const unsigned char *mode;
    int version = 0, rc;

    *out = NULL;
    if (!path || !path[0])
        return err_set(ERR_INVALID, "store: no database path");
    s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->changes_lock, NULL);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        rc = err_set(ERR_IO, "%s: cannot open: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

    /* Refuse a newer schema before anything below writes to the file
     * (switching to WAL rewrites the header): an older binary started
     * by mistake must leave the newer one's database untouched. */
    if ((rc = store_pragma_int(s, "PRAGMA user_version", &version)) < 0)
        goto fail;
    if (version < 0 || (size_t)version > schema_count) {
        rc = err_set(ERR_INVALID, "%s: schema version %d is newer than this edgecd (%zu)", path,
                     version, schema_count);
        goto fail;
    }

    if ((rc = store_prepare(s, &stmt, "PRAGMA journal_mode=WAL", NULL, 0)) < 0)
        goto fail;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = store_fail(s, "journal_mode");
        goto fail;
    }
    mode = sqlite3_column_text(stmt, 0);
    /* Without WAL a reader would block the engine's writes; refuse rather
     * than run in a mode nobody tested (e.g. a filesystem without mmap). */
    if (!mode || strcmp((const char *)mode, "wal") != 0) {
        rc = err_set(ERR_IO, "%s: cannot use WAL journal (got \"%s\")", path,
                     mode ? (const char *)mode : "");
        goto fail;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if ((rc = store_exec(s, "PRAGMA synchronous=FULL", "synchronous")) < 0 ||
        (rc = store_exec(s, "PRAGMA foreign_keys=ON", "foreign_keys")) < 0)
        goto fail;
    if ((rc = store_migrate(s)) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    sqlite3_finalize(stmt);
    store_close(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    /* The last connection's close checkpoints and removes the WAL. */
    sqlite3_close_v2(s->db);
    pthread_mutex_destroy(&s->lock);
    store_changes_dispose(s);
    pthread_mutex_destroy(&s->changes_lock);
    free(s->path);
    free(s);
}

int store_schema_version(void)
{
    return (int)schema_count;
}

void store_lib_version(char *out, size_t len)
{
    snprintf(out, len, "SQLite %s", sqlite3_libversion());
}

int store_integrity_check(store *s)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt, "PRAGMA integrity_check(1)", NULL, 0)) < 0)
        goto out;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = store_fail(s, "integrity_check");
        goto out;
    }
    if (strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") != 0) {
        rc = err_set(ERR_INVALID, "%s: integrity check: %s", s->path,
                     (const char *)sqlite3_column_text(stmt, 0));
        goto out;
    }
    sqlite3_finalize(stmt);
    if ((rc = store_prepare(s, &stmt, "PRAGMA foreign_key_check", NULL, 0)) < 0)
        goto out;
    switch (sqlite3_step(stmt)) {
    case SQLITE_DONE:
        rc = 0;
        break;
    case SQLITE_ROW:
        rc = err_set(ERR_INVALID, "%s: integrity check: table %s has a row without its parent",
                     s->path, (const char *)sqlite3_column_text(stmt, 0));
        break;
    default:
        rc = store_fail(s, "foreign_key_check");
    }
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Apps and projects are both named manifests in a table of the same
 * shape (name, manifest, created_at, updated_at); `what` names the kind
 * in errors. table is one of our constants, never input. */
struct store_docs {
    const char *table;
    const char *what;
};
static const struct store_docs store_apps = {"apps", "application"};
static const struct store_docs store_projects = {"projects", "project"};
static const struct store_docs store_appsets = {"appsets", "applicationset"};

static int store_doc_put(store *s, const struct store_docs *d, const char *name,
                         const char *manifest_json)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[3];
    char now[21], sql[256];
    int rc, step, same = 0;

    if (!name || !name[0] || !manifest_json)
        return err_set(ERR_INVALID, "store: %s needs a name and a manifest", d->what);
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    args[0] = name;
    snprintf(sql, sizeof(sql), "SELECT manifest FROM %s WHERE name = ?1", d->table);
    if ((rc = store_prepare(s, &stmt, sql, args, 1)) < 0)
        goto fail;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        same = strcmp((const char *)sqlite3_column_text(stmt, 0), manifest_json) == 0;
    else if (step != SQLITE_DONE) {
        rc = store_fail(s, "read manifest");
        goto fail;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (!same) {
        time_rfc3339(now);
        args[1] = manifest_json;
        args[2] = now;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (name, manifest, created_at, updated_at)"
                 " VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) DO UPDATE SET"
                 " manifest = excluded.manifest, updated_at = excluded.updated_at",
                 d->table);
        if ((rc = store_run(s, sql, args, 3, "write manifest")) < 0)
            goto fail;
    }
    if ((rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    goto out;
fail:
    sqlite3_finalize(stmt);
    store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int store_doc_get(store *s, const struct store_docs *d, const char *name,
                         char **out_manifest_json)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {name};
    char sql[128];
    int rc, step;

    *out_manifest_json = NULL;
    snprintf(sql, sizeof(sql), "SELECT manifest FROM %s WHERE name = ?1", d->table);
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt, sql, args, 1)) < 0)
        goto out;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        *out_manifest_json = store_column(stmt, 0);
    else if (step == SQLITE_DONE)
        rc = err_set(ERR_NOTFOUND, "%s \"%s\" not found", d->what, store_str(name));
    else
        rc = store_fail(s, "read manifest");
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int store_doc_list(store *s, const struct store_docs *d, char ***out_names, size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    char sql[128];
    int rc;

    *out_names = NULL;
    *out_n = 0;
    snprintf(sql, sizeof(sql), "SELECT name FROM %s ORDER BY name", d->table);
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt, sql, NULL, 0)) == 0)
        rc = store_names_read(s, stmt, out_names, out_n);
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int store_doc_delete(store *s, const struct store_docs *d, const char *name)
{
    const char *args[1] = {name};
    char sql[128];
    int rc;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE name = ?1", d->table);
    pthread_mutex_lock(&s->lock);
    /* One statement, so a cascade (an app's status, resources, operation,
     * history and events) is one transaction with it. */
    rc = store_run(s, sql, args, 1, "delete");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_NOTFOUND, "%s \"%s\" not found", d->what, store_str(name));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_app_put(store *s, const char *name, const char *manifest_json)
{
    int rc = store_doc_put(s, &store_apps, name, manifest_json);
    if (rc >= 0)
        store_changed(s, name);
    return rc;
}

int store_app_get(store *s, const char *name, char **out_manifest_json)
{
    return store_doc_get(s, &store_apps, name, out_manifest_json);
}

int store_app_list(store *s, char ***out_names, size_t *out_n)
{
    return store_doc_list(s, &store_apps, out_names, out_n);
}

int store_app_delete(store *s, const char *name)
{
    int rc = store_doc_delete(s, &store_apps, name);
    if (rc >= 0)
        store_changed(s, name);
    return rc;
}

int store_project_put(store *s, const char *name, const char *manifest_json)
{
    return store_doc_put(s, &store_projects, name, manifest_json);
}

int store_project_get(store *s, const char *name, char **out_manifest_json)
{
    return store_doc_get(s, &store_projects, name, out_manifest_json);
}

int store_project_list(store *s, char ***out_names, size_t *out_n)
{
    return store_doc_list(s, &store_projects, out_names, out_n);
}

int store_project_delete(store *s, const char *name)
{
    return store_doc_delete(s, &store_projects, name);
}

int store_appset_put(store *s, const char *name, const char *manifest_json)
{
    return store_doc_put(s, &store_appsets, name, manifest_json);
}

int store_appset_get(store *s, const char *name, char **out_manifest_json)
{
    return store_doc_get(s, &store_appsets, name, out_manifest_json);
}

int store_appset_list(store *s, char ***out_names, size_t *out_n)
{
    return store_doc_list(s, &store_appsets, out_names, out_n);
}

int store_appset_delete(store *s, const char *name)
{
    return store_doc_delete(s, &store_appsets, name);
}

int store_appset_status_put(store *s, const char *name, const char *status_json)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[3] = {name, status_json, NULL};
    char now[21];
    int rc, step;

    if (!name || !status_json)
        return err_set(ERR_INVALID, "store: applicationset status needs a name and a status");
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_prepare(s, &stmt,
                            "SELECT (SELECT status FROM appset_status WHERE name = ?1),"
                            " EXISTS (SELECT 1 FROM appsets WHERE name = ?1)",
                            args, 1)) < 0)
        goto fail;
    step = sqlite3_step(stmt);
    if (step != SQLITE_ROW) {
        rc = store_fail(s, "read applicationset status");
        goto fail;
    }
    if (!sqlite3_column_int(stmt, 1)) {
        rc = err_set(ERR_NOTFOUND, "applicationset \"%s\" not found", name);
        goto fail;
    }
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL &&
        !strcmp((const char *)sqlite3_column_text(stmt, 0), status_json)) {
        rc = 0; /* unchanged: nothing written */
        sqlite3_finalize(stmt);
        stmt = NULL;
        store_rollback(s);
        goto out;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    time_rfc3339(now);
    args[2] = now;
    if ((rc = store_run(s,
                        "INSERT INTO appset_status (name, status, changed_at) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT (name) DO UPDATE SET status = excluded.status,"
                        " changed_at = excluded.changed_at",
                        args, 3, "write applicationset status")) < 0 ||
        (rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    rc = 1;
    goto out;
fail:
    sqlite3_finalize(stmt);
    store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_appset_status_get(store *s, const char *name, char **out_status_json,
                            char **out_changed_at)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {name};
    int rc, step;

    *out_status_json = NULL;
    if (out_changed_at)
        *out_changed_at = NULL;
    pthread_mutex_lock(&s->lock);
    if ((rc =
             store_prepare(s, &stmt, "SELECT status, changed_at FROM appset_status WHERE name = ?1",
                           args, 1)) < 0)
        goto out;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        *out_status_json = store_column(stmt, 0);
        if (out_changed_at)
            *out_changed_at = store_column(stmt, 1);
    } else if (step == SQLITE_DONE) {
        rc = err_set(ERR_NOTFOUND, "applicationset \"%s\" has no status yet", store_str(name));
    } else {
        rc = store_fail(s, "read applicationset status");
    }
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_names_read(store *s, sqlite3_stmt *stmt, char ***out_names, size_t *out_n)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    int step;

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = store_column(stmt, 0);
    }
    if (step != SQLITE_DONE) {
        store_names_free(names, n);
        return store_fail(s, "list names");
    }
    *out_names = names;
    *out_n = n;
    return 0;
}

void store_names_free(char **names, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int store_app_exists(store *s, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {name};
    int rc, step;

    if ((rc = store_prepare(s, &stmt, "SELECT 1 FROM apps WHERE name = ?1", args, 1)) < 0)
        return rc;
    step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (step == SQLITE_DONE)
        return err_set(ERR_NOTFOUND, "application \"%s\" not found", store_str(name));
    return step == SQLITE_ROW ? 0 : store_fail(s, "read application");
}

void store_app_status_dispose(struct store_app_status *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < st->n_resources; i++) {
        struct store_resource *r = &st->resources[i];
        free(r->group);
        free(r->version);
        free(r->kind);
        free(r->namespace_);
        free(r->name);
        free(r->status);
        free(r->message);
        free(r->health);
        free(r->health_message);
        free(r->hook);
    }
    free(st->resources);
    free(st->name);
    free(st->sync_status);
    free(st->revision);
    free(st->last_error);
    free(st->message);
    free(st->synced_at);
    free(st->changed_at);
    free(st->health);
    free(st->health_message);
    memset(st, 0, sizeof(*st));
}

/* Read the stored status of name into out (zeroed by the caller). Called
 * with the lock held. ERR_NOTFOUND if there is none. */
static int store_status_load(store *s, const char *name, struct store_app_status *out)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {name};
    size_t cap = 0;
    int rc, step;

    if ((rc = store_prepare(s, &stmt,
                            "SELECT sync_status, revision, last_error, synced_at, changed_at,"
                            " message, health, health_message FROM app_status WHERE name = ?1",
                            args, 1)) < 0)
        return rc;
    step = sqlite3_step(stmt);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE
                 ? err_set(ERR_NOTFOUND, "application \"%s\" has no status yet", store_str(name))
                 : store_fail(s, "read status");
        goto out;
    }
    out->name = xstrdup(name);
    out->sync_status = store_column(stmt, 0);
    out->revision = store_column(stmt, 1);
    out->last_error = store_column(stmt, 2);
    out->synced_at = store_column(stmt, 3);
    out->changed_at = store_column(stmt, 4);
    out->message = store_column(stmt, 5);
    out->health = store_column(stmt, 6);
    out->health_message = store_column(stmt, 7);
    sqlite3_finalize(stmt);
    stmt = NULL;

    if ((rc = store_prepare(s, &stmt,
                            "SELECT grp, version, kind, namespace, name, status, message,"
                            " health, health_message, hook, wave"
                            " FROM app_resources WHERE app = ?1 ORDER BY seq",
                            args, 1)) < 0)
        goto out;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_resource *r;
        if (out->n_resources == cap) {
            cap = cap ? cap * 2 : 8;
            out->resources = xrealloc(out->resources, cap * sizeof(*out->resources));
        }
        r = &out->resources[out->n_resources++];
        r->group = store_column(stmt, 0);
        r->version = store_column(stmt, 1);
        r->kind = store_column(stmt, 2);
        r->namespace_ = store_column(stmt, 3);
        r->name = store_column(stmt, 4);
        r->status = store_column(stmt, 5);
        r->message = store_column(stmt, 6);
        r->health = store_column(stmt, 7);
        r->health_message = store_column(stmt, 8);
        r->hook = store_column(stmt, 9);
        r->wave = sqlite3_column_int(stmt, 10);
    }
    if (step != SQLITE_DONE)
        rc = store_fail(s, "read resources");
out:
    sqlite3_finalize(stmt);
    return rc;
}

int store_app_status_get(store *s, const char *name, struct store_app_status *out)
{
    struct store_app_status tmp = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    rc = store_status_load(s, name, &tmp);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        store_app_status_dispose(&tmp);
        return rc;
    }
    *out = tmp;
    return 0;
}

/* Everything but changed_at, which records when the rest last differed.
 * Resources compare in order: the engine reports them in a stable order,
 * and a reordering is a change an operator sees. */
static int store_status_equal(const struct store_app_status *a, const struct store_app_status *b)
{
    size_t i;

    if (!store_same(a->sync_status, b->sync_status) || !store_same(a->revision, b->revision) ||
        !store_same(a->last_error, b->last_error) || !store_same(a->synced_at, b->synced_at) ||
        !store_same(a->message, b->message) || !store_same(a->health, b->health) ||
        !store_same(a->health_message, b->health_message) || a->n_resources != b->n_resources)
        return 0;
    for (i = 0; i < a->n_resources; i++) {
        const struct store_resource *x = &a->resources[i], *y = &b->resources[i];
        if (!store_same(x->group, y->group) || !store_same(x->version, y->version) ||
            !store_same(x->kind, y->kind) || !store_same(x->namespace_, y->namespace_) ||
            !store_same(x->name, y->name) || !store_same(x->status, y->status) ||
            !store_same(x->message, y->message) || !store_same(x->health, y->health) ||
            !store_same(x->health_message, y->health_message) || !store_same(x->hook, y->hook) ||
            x->wave != y->wave)
            return 0;
    }
    return 1;
}

static int store_resources_write(store *s, const struct store_app_status *st)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {st->name};
    size_t i;
    int rc;

    if ((rc = store_run(s, "DELETE FROM app_resources WHERE app = ?1", args, 1,
                        "clear resources")) < 0)
        return rc;
    if ((rc = store_prepare(s, &stmt,
                            "INSERT INTO app_resources (app, seq, grp, version, kind, namespace,"
                            " name, status, message, health, health_message, hook, wave)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                            args, 1)) < 0)
        return rc;
    for (i = 0; i < st->n_resources; i++) {
        const struct store_resource *r = &st->resources[i];
        const char *v[10] = {r->group,  r->version, r->kind,   r->namespace_,     r->name,
                             r->status, r->message, r->health, r->health_message, r->hook};
        int j;
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i);
        for (j = 0; j < 10; j++)
            sqlite3_bind_text(stmt, j + 3, store_str(v[j]), -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 13, r->wave);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
                rc = err_set(ERR_INVALID, "application \"%s\": resource %s/%s %s/%s listed twice",
                             st->name, store_str(r->group), store_str(r->kind),
                             store_str(r->namespace_), store_str(r->name));
            else
                rc = store_fail(s, "write resource");
            break;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

int store_app_status_put(store *s, const struct store_app_status *st)
{
    struct store_app_status old = {0};
    const char *args[9];
    char now[21];
    int rc;

    if (!st || !st->name || !st->name[0] || (st->n_resources && !st->resources))
        return err_set(ERR_INVALID, "store: status needs an application name");
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_app_exists(s, st->name)) < 0)
        goto fail;
    rc = store_status_load(s, st->name, &old);
    if (rc == 0 && store_status_equal(&old, st)) {
        if ((rc = store_exec(s, "COMMIT", "commit")) < 0)
            goto fail;
        goto out;
    }
    if (rc < 0 && rc != ERR_NOTFOUND)
        goto fail;

    time_rfc3339(now);
    args[0] = st->name;
    args[1] = st->sync_status;
    args[2] = st->revision;
    args[3] = st->last_error;
    args[4] = st->synced_at;
    args[5] = now;
    args[6] = st->message;
    args[7] = st->health;
    args[8] = st->health_message;
    if ((rc = store_run(s,
                        "INSERT INTO app_status (name, sync_status, revision, last_error,"
                        " synced_at, changed_at, message, health, health_message)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                        " ON CONFLICT (name) DO UPDATE SET sync_status = excluded.sync_status,"
                        " revision = excluded.revision, last_error = excluded.last_error,"
                        " synced_at = excluded.synced_at, changed_at = excluded.changed_at,"
                        " message = excluded.message, health = excluded.health,"
                        " health_message = excluded.health_message",
                        args, 9, "write status")) < 0)
        goto fail;
    if ((rc = store_resources_write(s, st)) < 0)
        goto fail;
    if ((rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    rc = 1;
    goto out;
fail:
    store_rollback(s);
out:
    store_app_status_dispose(&old);
    pthread_mutex_unlock(&s->lock);
    if (rc == 1)
        store_changed(s, st->name);
    return rc;
}

int store_repo_put(store *s, const struct store_repo *r)
{
    const char *args[6];
    char now[21];
    int rc;

    if (!r || !r->url || !r->url[0])
        return err_set(ERR_INVALID, "store: a repository entry needs a URL");
    time_rfc3339(now);
    args[0] = r->url;
    args[1] = r->username;
    args[2] = r->password_sealed;
    args[3] = r->ca_file;
    args[4] = r->insecure ? "1" : "0";
    args[5] = now;
    pthread_mutex_lock(&s->lock);
    rc = store_run(s,
                   "INSERT OR REPLACE INTO repo_creds (url, username, password_sealed, ca_file,"
                   " insecure, updated_at) VALUES (?1, ?2, ?3, ?4, CAST(?5 AS INTEGER), ?6)",
                   args, 6, "write repository");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_repo_delete(store *s, const char *url)
{
    const char *args[1] = {url};
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = store_run(s, "DELETE FROM repo_creds WHERE url = ?1", args, 1, "delete repository");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_NOTFOUND, "repository \"%s\" has no stored credentials", store_str(url));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void store_repo_dispose(struct store_repo *r)
{
    if (!r)
        return;
    free(r->url);
    free(r->username);
    free(r->password_sealed);
    free(r->ca_file);
    memset(r, 0, sizeof(*r));
}

void store_repos_free(struct store_repo *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_repo_dispose(&v[i]);
    free(v);
}

/* Rows of a repo_creds SELECT into *out (appended). Lock held. */
static int store_repo_rows(store *s, sqlite3_stmt *stmt, struct store_repo **out, size_t *n)
{
    size_t cap = *n;
    int step;

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_repo *r;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        r = &(*out)[(*n)++];
        r->url = store_column(stmt, 0);
        r->username = store_column(stmt, 1);
        r->password_sealed = store_column(stmt, 2);
        r->ca_file = store_column(stmt, 3);
        r->insecure = sqlite3_column_int(stmt, 4);
    }
    return step == SQLITE_DONE ? 0 : store_fail(s, "read repositories");
}

#define STORE_REPO_COLUMNS                                                                         \
    "SELECT url, username, password_sealed, ca_file, insecure FROM repo_creds"

int store_repo_list(store *s, struct store_repo **out, size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt, STORE_REPO_COLUMNS " ORDER BY url", NULL, 0)) == 0)
        rc = store_repo_rows(s, stmt, out, out_n);
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        store_repos_free(*out, *out_n);
        *out = NULL;
        *out_n = 0;
    }
    return rc;
}

int store_repo_match(store *s, const char *url, struct store_repo *out)
{
    sqlite3_stmt *stmt = NULL;
    const char *args[1] = {url};
    struct store_repo *v = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    /* substr, not LIKE: URLs may hold % and _ */
    if ((rc = store_prepare(s, &stmt,
                            STORE_REPO_COLUMNS " WHERE substr(?1, 1, length(url)) = url"
                                               " ORDER BY length(url) DESC LIMIT 1",
                            args, 1)) == 0)
        rc = store_repo_rows(s, stmt, &v, &n);
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    if (rc == 0 && n == 0)
        rc = err_set(ERR_NOTFOUND, "no stored credentials for %s", store_str(url));
    if (rc == 0) {
        *out = v[0];
        free(v);
        return 0;
    }
    store_repos_free(v, n);
    return rc;
}
