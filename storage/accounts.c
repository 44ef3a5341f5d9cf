/*
 * Accounts, sessions and API tokens in the store (see store.h). Every
 * public call holds the store's lock for its statements. Adding a row
 * whose key exists is reported as ERR_CONFLICT from SQLite's constraint
 * error rather than by a read first: the constraint is the one truth even
 * when another process writes the same file.
 */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "storage/internal.h"

/* Bind integer ?idx of stmt. */
static int accounts_bind_int(store *s, sqlite3_stmt *stmt, int idx, long long v)
{
    if (sqlite3_bind_int64(stmt, idx, v) != SQLITE_OK)
        return store_fail(s, "bind");
    return 0;
}

int store_account_add(store *s, const struct store_account *a)
{
    char now[21];
    const char *args[5];
    char *conflict;
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (!a || !a->name || !a->name[0] || !a->hash || !a->hash[0])
        return err_set(ERR_INVALID, "store: an account needs a name and a password hash");
    time_rfc3339(now);
    args[0] = a->name;
    args[1] = a->hash;
    args[2] = a->enabled ? "1" : "0";
    args[3] = a->roles;
    args[4] = now;
    conflict = xasprintf("account \"%s\" exists", a->name);
    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt,
                       "INSERT INTO accounts (name, hash, enabled, roles, created_at)"
                       " VALUES (?1, ?2, CAST(?3 AS INTEGER), ?4, ?5)",
                       args, 5);
    if (rc == 0)
        rc = store_step_write(s, stmt, "add account", conflict, "");
    pthread_mutex_unlock(&s->lock);
    free(conflict);
    return rc;
}

static void accounts_read_account(sqlite3_stmt *stmt, struct store_account *a)
{
    a->name = store_column(stmt, 0);
    a->hash = store_column(stmt, 1);
    a->enabled = sqlite3_column_int(stmt, 2);
    a->roles = store_column(stmt, 3);
    a->created_at = store_column(stmt, 4);
}

#define ACCOUNTS_COLUMNS "SELECT name, hash, enabled, roles, created_at FROM accounts"

int store_account_get(store *s, const char *name, struct store_account *out)
{
    const char *args[1] = {name};
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt, ACCOUNTS_COLUMNS " WHERE name = ?1", args, 1)) == 0) {
        step = sqlite3_step(stmt);
        if (step == SQLITE_ROW)
            accounts_read_account(stmt, out);
        else if (step == SQLITE_DONE)
            rc = err_set(ERR_NOTFOUND, "account \"%s\" not found", name ? name : "");
        else
            rc = store_fail(s, "read account");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_account_list(store *s, struct store_account **out, size_t *out_n)
{
    struct store_account *v = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt, ACCOUNTS_COLUMNS " ORDER BY name", NULL, 0)) == 0) {
        while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                v = xrealloc(v, cap * sizeof(*v));
            }
            accounts_read_account(stmt, &v[n++]);
        }
        if (step != SQLITE_DONE)
            rc = store_fail(s, "list accounts");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        store_accounts_free(v, n);
        return rc;
    }
    *out = v;
    *out_n = n;
    return 0;
}

int store_account_set_hash(store *s, const char *name, const char *hash,
                           const char *keep_session_sha)
{
    const char *args[3] = {name, hash, keep_session_sha};
    int rc;

    if (!hash || !hash[0])
        return err_set(ERR_INVALID, "store: an empty password hash");
    pthread_mutex_lock(&s->lock);
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "begin")) < 0)
        goto out;
    if ((rc = store_run(s, "UPDATE accounts SET hash = ?2 WHERE name = ?1", args, 2,
                        "set password")) < 0)
        goto fail;
    if (sqlite3_changes(s->db) == 0) {
        rc = err_set(ERR_NOTFOUND, "account \"%s\" not found", name ? name : "");
        goto fail;
    }
    if ((rc = store_run(s, "DELETE FROM sessions WHERE account = ?1 AND id_sha != ?3", args, 3,
                        "end sessions")) < 0 ||
        (rc = store_exec(s, "COMMIT", "commit")) < 0)
        goto fail;
    goto out;
fail:
    store_rollback(s);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Run a DELETE or UPDATE with args; ERR_NOTFOUND with missing when no row
 * changed. */
static int accounts_change(store *s, const char *sql, const char *const *args, int n,
                           const char *missing)
{
    int rc;
    pthread_mutex_lock(&s->lock);
    rc = store_run(s, sql, args, n, "delete");
    if (rc == 0 && missing && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_NOTFOUND, "%s", missing);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_account_set_enabled(store *s, const char *name, int enabled)
{
    const char *args[2] = {name, enabled ? "1" : "0"};
    char *missing = xasprintf("account \"%s\" not found", name ? name : "");
    int rc = accounts_change(s, "UPDATE accounts SET enabled = CAST(?2 AS INTEGER) WHERE name = ?1",
                             args, 2, missing);
    free(missing);
    return rc;
}

int store_account_delete(store *s, const char *name)
{
    const char *args[1] = {name};
    char *missing = xasprintf("account \"%s\" not found", name ? name : "");
    int rc = accounts_change(s, "DELETE FROM accounts WHERE name = ?1", args, 1, missing);
    free(missing);
    return rc;
}

void store_account_dispose(struct store_account *a)
{
    if (!a)
        return;
    free(a->name);
    if (a->hash)
        memset(a->hash, 0, strlen(a->hash));
    free(a->hash);
    free(a->roles);
    free(a->created_at);
    memset(a, 0, sizeof(*a));
}

void store_accounts_free(struct store_account *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_account_dispose(&v[i]);
    free(v);
}

int store_session_add(store *s, const struct store_session *ss)
{
    const char *args[3] = {ss->id_sha, ss->account, ss->csrf};
    sqlite3_stmt *stmt = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt,
                       "INSERT INTO sessions (id_sha, account, csrf, created_unix, seen_unix)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
                       args, 3);
    if (rc == 0 && ((rc = accounts_bind_int(s, stmt, 4, ss->created_unix)) < 0 ||
                    (rc = accounts_bind_int(s, stmt, 5, ss->seen_unix)) < 0))
        sqlite3_finalize(stmt);
    else if (rc == 0)
        rc = store_step_write(s, stmt, "add session", "session exists", "account not found");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_session_get(store *s, const char *id_sha, struct store_session *out)
{
    const char *args[1] = {id_sha};
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt,
                       "SELECT id_sha, account, csrf, created_unix, seen_unix FROM sessions"
                       " WHERE id_sha = ?1",
                       args, 1);
    if (rc == 0) {
        step = sqlite3_step(stmt);
        if (step == SQLITE_ROW) {
            out->id_sha = store_column(stmt, 0);
            out->account = store_column(stmt, 1);
            out->csrf = store_column(stmt, 2);
            out->created_unix = sqlite3_column_int64(stmt, 3);
            out->seen_unix = sqlite3_column_int64(stmt, 4);
        } else if (step == SQLITE_DONE) {
            rc = err_set(ERR_NOTFOUND, "no such session");
        } else {
            rc = store_fail(s, "read session");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_session_touch(store *s, const char *id_sha, long long seen_unix)
{
    const char *args[1] = {id_sha};
    sqlite3_stmt *stmt = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt, "UPDATE sessions SET seen_unix = ?2 WHERE id_sha = ?1", args, 1);
    if (rc == 0 && (rc = accounts_bind_int(s, stmt, 2, seen_unix)) < 0)
        sqlite3_finalize(stmt);
    else if (rc == 0)
        rc = store_step_write(s, stmt, "touch session", "", "");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_session_delete(store *s, const char *id_sha)
{
    const char *args[1] = {id_sha};
    return accounts_change(s, "DELETE FROM sessions WHERE id_sha = ?1", args, 1, NULL);
}

int store_session_expire(store *s, long long created_before, long long seen_before, size_t *out_n)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (out_n)
        *out_n = 0;
    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt, "DELETE FROM sessions WHERE created_unix < ?1 OR seen_unix < ?2",
                       NULL, 0);
    if (rc == 0 && ((rc = accounts_bind_int(s, stmt, 1, created_before)) < 0 ||
                    (rc = accounts_bind_int(s, stmt, 2, seen_before)) < 0))
        sqlite3_finalize(stmt);
    else if (rc == 0 && (rc = store_step_write(s, stmt, "expire sessions", "", "")) == 0 && out_n)
        *out_n = (size_t)sqlite3_changes(s->db);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void store_session_dispose(struct store_session *ss)
{
    if (!ss)
        return;
    free(ss->id_sha);
    free(ss->account);
    free(ss->csrf);
    memset(ss, 0, sizeof(*ss));
}

int store_token_add(store *s, const struct store_token *t)
{
    const char *args[4] = {t->account, t->id, t->sha, t->role};
    sqlite3_stmt *stmt = NULL;
    char *conflict;
    int rc;

    if (!t->id || !t->id[0] || !t->sha || !t->sha[0])
        return err_set(ERR_INVALID, "store: a token needs an id and a digest");
    conflict = xasprintf("account \"%s\" has a token \"%s\"", store_str(t->account), t->id);
    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt,
                       "INSERT INTO tokens (account, id, sha, role, issued_unix, expires_unix)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                       args, 4);
    if (rc == 0 && ((rc = accounts_bind_int(s, stmt, 5, t->issued_unix)) < 0 ||
                    (rc = accounts_bind_int(s, stmt, 6, t->expires_unix)) < 0))
        sqlite3_finalize(stmt);
    else if (rc == 0)
        rc = store_step_write(s, stmt, "add token", conflict, "account not found");
    pthread_mutex_unlock(&s->lock);
    free(conflict);
    return rc;
}

static void accounts_read_token(sqlite3_stmt *stmt, struct store_token *t)
{
    t->account = store_column(stmt, 0);
    t->id = store_column(stmt, 1);
    t->sha = store_column(stmt, 2);
    t->role = store_column(stmt, 3);
    t->issued_unix = sqlite3_column_int64(stmt, 4);
    t->expires_unix = sqlite3_column_int64(stmt, 5);
}

int store_token_find(store *s, const char *sha, struct store_token *out)
{
    const char *args[1] = {sha};
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt,
                       "SELECT account, id, sha, role, issued_unix, expires_unix FROM tokens"
                       " WHERE sha = ?1",
                       args, 1);
    if (rc == 0) {
        step = sqlite3_step(stmt);
        if (step == SQLITE_ROW)
            accounts_read_token(stmt, out);
        else if (step == SQLITE_DONE)
            rc = err_set(ERR_NOTFOUND, "no such token");
        else
            rc = store_fail(s, "read token");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_token_list(store *s, const char *account, struct store_token **out, size_t *out_n)
{
    const char *args[1] = {account};
    struct store_token *v = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    rc = store_prepare(s, &stmt,
                       account ? "SELECT account, id, '', role, issued_unix, expires_unix FROM "
                                 "tokens WHERE account = ?1 ORDER BY account, id"
                               : "SELECT account, id, '', role, issued_unix, expires_unix FROM "
                                 "tokens ORDER BY account, id",
                       args, account ? 1 : 0);
    if (rc == 0) {
        while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                v = xrealloc(v, cap * sizeof(*v));
            }
            accounts_read_token(stmt, &v[n++]);
        }
        if (step != SQLITE_DONE)
            rc = store_fail(s, "list tokens");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        store_tokens_free(v, n);
        return rc;
    }
    *out = v;
    *out_n = n;
    return 0;
}

int store_token_delete(store *s, const char *account, const char *id)
{
    const char *args[2] = {account, id};
    char *missing =
        xasprintf("account \"%s\" has no token \"%s\"", store_str(account), store_str(id));
    int rc =
        accounts_change(s, "DELETE FROM tokens WHERE account = ?1 AND id = ?2", args, 2, missing);
    free(missing);
    return rc;
}

void store_token_dispose(struct store_token *t)
{
    if (!t)
        return;
    free(t->account);
    free(t->id);
    free(t->sha);
    free(t->role);
    memset(t, 0, sizeof(*t));
}

void store_tokens_free(struct store_token *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_token_dispose(&v[i]);
    free(v);
}
