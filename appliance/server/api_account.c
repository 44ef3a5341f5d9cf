/*
 * The session, account and token routes (Argo CD's /api/v1/session and
 * /api/v1/account shapes).
 *
 * A login checks the password only when neither the user name nor the
 * client address is blocked by the throttle (auth.c), and spends the
 * same PBKDF2 work for a name that does not exist as for a wrong
 * password, so the answer's timing does not tell which names exist. The
 * session token and the API tokens are shown once and kept only as
 * SHA-256.
 *
 * A user manages their own password and tokens; doing it for another
 * account takes RBAC accounts/update on it. A token made by a caller
 * that itself uses a role-bound token keeps that role, so a narrowed
 * token cannot mint a wider one.
 */
#include <civetweb.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/password.h"
#include "core/util.h"
#include "model/account.h"
#include "server/internal.h"

#define ACCOUNT_SESSION_BYTES 32 /* 256 bits */

/* Answer an error of the store or of validation with its status. */
static int account_fail(struct mg_connection *conn, int rc, const char *what)
{
    if (rc == ERR_NOTFOUND)
        return server_error(conn, 404, err_last(), NULL);
    if (rc == ERR_CONFLICT)
        return server_error(conn, 409, err_last(), NULL);
    if (rc == ERR_INVALID)
        return server_error(conn, 400, err_last(), NULL);
    return server_internal_error(conn, what);
}

static json_t *account_json_new(const struct store_account *a, const struct store_token *t,
                                size_t nt)
{
    json_t *tokens = json_array();
    for (size_t i = 0; i < nt; i++) {
        if (strcmp(t[i].account, a->name) != 0)
            continue;
        json_array_append_new(tokens, json_pack("{s:s, s:I, s:I, s:s}", "id", t[i].id, "issuedAt",
                                                (json_int_t)t[i].issued_unix, "expiresAt",
                                                (json_int_t)t[i].expires_unix, "role", t[i].role));
    }
    return json_pack("{s:o, s:b, s:[s,s], s:o, s:o}", "name", server_json_str_new(a->name),
                     "enabled", a->enabled, "capabilities", "login", "apiKey", "roles",
                     account_roles_json(a->roles), "tokens", tokens);
}

/* 1 if the caller is name's own account (the node token is no account). */
static int account_is_self(const struct server_caller *c, const char *name)
{
    return c->kind != SERVER_CRED_NODE && c->name && !strcmp(c->name, name);
}

/* 0 if the caller may manage name's password or tokens, else the status
 * of the 403 sent. */
static int account_may_manage(server *srv, struct mg_connection *conn, const char *name)
{
    char *msg;
    int status;
    if (account_is_self(server_caller(conn), name) ||
        server_allowed(srv, conn, "accounts", "update", name))
        return 0;
    msg = xasprintf("permission denied: accounts, update, %s", name);
    status = server_error(conn, 403, msg, NULL);
    free(msg);
    return status;
}

static int account_throttled(struct mg_connection *conn, long long wait)
{
    char secs[32];
    const char *const hdr[] = {"Retry-After", secs, NULL};
    snprintf(secs, sizeof(secs), "%lld", wait);
    return server_error(conn, 429, "too many failed logins; try again later", hdr);
}

/* 1 if password is name's (an enabled account); the PBKDF2 work is the
 * same when there is no such account. */
static int account_check_password(server *srv, const char *name, const char *password)
{
    struct store_account a;
    int ok;

    if (name && strlen(name) <= ACCOUNT_NAME_MAX && store_account_get(srv->st, name, &a) == 0) {
        ok = a.enabled && password_verify(a.hash, password);
    } else {
        char *dummy = xasprintf("$pbkdf2-sha256$%u$%032d$%064d", password_iterations(), 0, 0);
        err_clear();
        memset(&a, 0, sizeof(a));
        password_verify(dummy, password);
        free(dummy);
        ok = 0;
    }
    store_account_dispose(&a);
    return ok;
}

int server_post_session(server *srv, struct mg_connection *conn, const char *arg)
{
    const char *addr = mg_get_request_info(conn)->remote_addr;
    json_t *body = NULL;
    const char *user, *pw;
    char *token = NULL, *csrf = NULL, *cookie = NULL;
    unsigned char sha[32];
    char hex[65];
    struct store_session s;
    long long now, wait;
    int status;

    (void)arg;
    if (server_cross_origin(conn))
        return server_error(conn, 403, "cross-site request refused (Origin is not this server)",
                            NULL);
    if ((status = server_read_json(conn, &body)) != 0)
        return status;
    user = json_string_value(json_object_get(body, "username"));
    pw = json_string_value(json_object_get(body, "password"));
    if (!user || !pw || !user[0]) {
        status = server_error(conn, 400, "username and password are required", NULL);
        goto out;
    }
    if ((wait = server_throttle_wait(srv, user, addr)) > 0) {
        status = account_throttled(conn, wait);
        goto out;
    }
    if (!account_check_password(srv, user, pw)) {
        /* A name that is not a valid one is not echoed into the log. */
        log_warn("login refused for %s from %s", account_name_ok(user) ? user : "(bad name)", addr);
        server_throttle_record(srv, user, addr, 0);
        status = server_error(conn, 401, "invalid username or password", NULL);
        goto out;
    }
    server_throttle_record(srv, user, addr, 1);
    log_info("login: %s from %s", user, addr);
    now = server_now(srv);
    /* Ended sessions go at each login, so the table holds only live ones
     * without a timer of its own. */
    if (store_session_expire(srv->st, now - srv->session_max, now - srv->session_idle, NULL) < 0 ||
        password_random_text(&token, ACCOUNT_SESSION_BYTES) < 0 ||
        password_random_text(&csrf, ACCOUNT_SESSION_BYTES) < 0) {
        status = server_internal_error(conn, "new session");
        goto out;
    }
    util_sha256(token, strlen(token), sha);
    util_hex(hex, sha, sizeof(sha));
    s.id_sha = hex;
    s.account = (char *)user;
    s.csrf = csrf;
    s.created_unix = s.seen_unix = now;
    if (store_session_add(srv->st, &s) < 0) {
        status = server_internal_error(conn, "store session");
        goto out;
    }
    cookie = xasprintf("edgecd_session=%s; Path=/; HttpOnly;%s SameSite=Strict", token,
                       srv->https ? " Secure;" : "");
    {
        const char *const hdr[] = {"Set-Cookie", cookie, NULL};
        status = server_send(
            conn, 200,
            json_pack("{s:o, s:s}", "username", server_json_str_new(user), "csrfToken", csrf), hdr);
    }
out:
    if (token)
        memset(token, 0, strlen(token));
    if (cookie)
        memset(cookie, 0, strlen(cookie));
    free(token);
    free(csrf);
    free(cookie);
    json_decref(body);
    return status;
}

int server_delete_session(server *srv, struct mg_connection *conn, const char *arg)
{
    static const char *const hdr[] = {
        "Set-Cookie", "edgecd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", NULL};
    const struct server_caller *c = server_caller(conn);

    (void)arg;
    if (c->kind == SERVER_CRED_SESSION && store_session_delete(srv->st, c->session_sha) < 0)
        return server_internal_error(conn, "delete session");
    return server_send(conn, 200, json_object(), hdr);
}

/* The roles the caller acts with: a role-bound token's role, else the
 * account's own and those policy.csv gives it. */
static json_t *account_caller_roles(server *srv, const struct server_caller *c)
{
    const char *given[ACCOUNT_MAX_ROLES], *all[64];
    char *copy;
    json_t *out = json_array();
    size_t n;

    if (c->kind == SERVER_CRED_TOKEN && c->token_role[0]) {
        json_array_append_new(out, json_string(c->token_role));
        return out;
    }
    copy = xstrdup(c->roles ? c->roles : "");
    n = server_split_roles(copy, given, ACCOUNT_MAX_ROLES);
    n = rbac_roles(srv->rbac, c->name, given, n, all, sizeof(all) / sizeof(all[0]));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(all[i]));
    free(copy);
    return out;
}

int server_get_userinfo(server *srv, struct mg_connection *conn, const char *arg)
{
    const struct server_caller *c = server_caller(conn);
    json_t *j;

    (void)arg;
    j = json_pack("{s:b, s:o, s:o}", "loggedIn", 1, "username", server_json_str_new(c->name),
                  "roles", account_caller_roles(srv, c));
    if (c->kind == SERVER_CRED_SESSION)
        json_object_set_new(j, "csrfToken", json_string(c->csrf));
    return server_send(conn, 200, j, NULL);
}

int server_get_can_i(server *srv, struct mg_connection *conn, const char *arg)
{
    int ok =
        server_allowed(srv, conn, server_arg(conn, 0), server_arg(conn, 1), server_arg(conn, 2));
    (void)arg;
    return server_send(conn, 200, json_pack("{s:s}", "value", ok ? "yes" : "no"), NULL);
}

/* One account (arg) or all the caller may get. */
static int account_send(server *srv, struct mg_connection *conn, const char *one)
{
    struct store_account *v = NULL, a;
    struct store_token *t = NULL;
    size_t n = 0, nt = 0;
    json_t *items;
    int rc;

    if (one) {
        if ((rc = store_account_get(srv->st, one, &a)) < 0)
            return account_fail(conn, rc, "read account");
        v = xmalloc(sizeof(*v));
        v[0] = a;
        n = 1;
    } else if ((rc = store_account_list(srv->st, &v, &n)) < 0) {
        return account_fail(conn, rc, "list accounts");
    }
    if ((rc = store_token_list(srv->st, one, &t, &nt)) < 0) {
        store_accounts_free(v, n);
        return account_fail(conn, rc, "list tokens");
    }
    items = json_array();
    for (size_t i = 0; i < n; i++)
        if (one || server_allowed(srv, conn, "accounts", "get", v[i].name))
            json_array_append_new(items, account_json_new(&v[i], t, nt));
    store_accounts_free(v, n);
    store_tokens_free(t, nt);
    if (one) {
        json_t *item = json_incref(json_array_get(items, 0));
        json_decref(items);
        return server_send(conn, 200, item, NULL);
    }
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}

int server_get_accounts(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return account_send(srv, conn, NULL);
}

int server_get_account(server *srv, struct mg_connection *conn, const char *arg)
{
    return account_send(srv, conn, arg);
}

int server_post_account(server *srv, struct mg_connection *conn, const char *arg)
{
    struct store_account a = {0};
    json_t *body = NULL;
    const char *name, *pw;
    char *roles = NULL, *hash = NULL, *msg;
    int status, rc;

    (void)arg;
    if ((status = server_read_json(conn, &body)) != 0)
        return status;
    name = json_string_value(json_object_get(body, "name"));
    pw = json_string_value(json_object_get(body, "password"));
    if (!account_name_ok(name)) {
        status = server_error(conn, 400,
                              "name: 1 to 63 letters, digits, '.', '_' or '-', starting with a "
                              "letter or digit",
                              NULL);
        goto out;
    }
    if (!server_allowed(srv, conn, "accounts", "create", name)) {
        msg = xasprintf("permission denied: accounts, create, %s", name);
        status = server_error(conn, 403, msg, NULL);
        free(msg);
        goto out;
    }
    if ((rc = account_roles_parse(json_object_get(body, "roles"), &roles)) < 0 ||
        (rc = password_hash(&hash, pw)) < 0) {
        status = account_fail(conn, rc, "new account");
        goto out;
    }
    a.name = (char *)name;
    a.hash = hash;
    a.enabled = 1;
    a.roles = roles;
    if ((rc = store_account_add(srv->st, &a)) < 0) {
        status = account_fail(conn, rc, "add account");
        goto out;
    }
    status = account_send(srv, conn, name);
out:
    free(roles);
    free(hash);
    json_decref(body);
    return status;
}

int server_delete_account(server *srv, struct mg_connection *conn, const char *arg)
{
    int rc;
    if (account_is_self(server_caller(conn), arg))
        return server_error(conn, 400, "cannot delete the account you are signed in with", NULL);
    if ((rc = store_account_delete(srv->st, arg)) < 0)
        return account_fail(conn, rc, "delete account");
    return server_send(conn, 200, json_object(), NULL);
}

int server_put_password(server *srv, struct mg_connection *conn, const char *arg)
{
    const struct server_caller *c = server_caller(conn);
    const char *addr = mg_get_request_info(conn)->remote_addr;
    json_t *body = NULL;
    const char *name, *cur, *next;
    char *hash = NULL;
    long long wait;
    int status, rc;

    (void)arg;
    if ((status = server_read_json(conn, &body)) != 0)
        return status;
    name = json_string_value(json_object_get(body, "name"));
    cur = json_string_value(json_object_get(body, "currentPassword"));
    next = json_string_value(json_object_get(body, "newPassword"));
    if (!name || !name[0])
        name = c->name;
    if (!next) {
        status = server_error(conn, 400, "newPassword is required", NULL);
        goto out;
    }
    if ((status = account_may_manage(srv, conn, name)) != 0)
        goto out;
    /* The caller proves it is still them (a session left open on a
     * shared tablet must not be enough); the node token has no password
     * and stands for the node's administrator. */
    if (c->kind != SERVER_CRED_NODE) {
        if ((wait = server_throttle_wait(srv, c->name, addr)) > 0) {
            status = account_throttled(conn, wait);
            goto out;
        }
        if (!cur || !account_check_password(srv, c->name, cur)) {
            server_throttle_record(srv, c->name, addr, 0);
            status = server_error(conn, 403, "currentPassword: does not match", NULL);
            goto out;
        }
        server_throttle_record(srv, c->name, addr, 1);
    }
    if ((rc = password_hash(&hash, next)) < 0 ||
        (rc = store_account_set_hash(
             srv->st, name, hash,
             account_is_self(c, name) && c->kind == SERVER_CRED_SESSION ? c->session_sha : NULL)) <
            0) {
        status = account_fail(conn, rc, "set password");
        goto out;
    }
    status = server_send(conn, 200, json_object(), NULL);
out:
    free(hash);
    json_decref(body);
    return status;
}

int server_post_token(server *srv, struct mg_connection *conn, const char *arg)
{
    const struct server_caller *c = server_caller(conn);
    struct store_token t = {0};
    struct store_account a;
    json_t *body = NULL, *exp;
    const char *id, *role;
    char *token = NULL;
    char hex[65], rid[17];
    int status, rc;

    if ((status = account_may_manage(srv, conn, arg)) != 0)
        return status;
    if ((rc = store_account_get(srv->st, arg, &a)) < 0)
        return account_fail(conn, rc, "read account");
    store_account_dispose(&a);
    if ((status = server_read_json(conn, &body)) != 0)
        return status;
    id = json_string_value(json_object_get(body, "id"));
    role = json_string_value(json_object_get(body, "role"));
    exp = json_object_get(body, "expiresIn");
    if (!role)
        role = "";
    if (c->kind == SERVER_CRED_TOKEN && c->token_role[0] && strcmp(role, c->token_role) != 0) {
        status = server_error(conn, 403,
                              "a token bound to a role can only make tokens bound to the same "
                              "role",
                              NULL);
        goto out;
    }
    if (role[0] && !account_role_ok(role)) {
        status = server_error(conn, 400, "role: must be role:NAME", NULL);
        goto out;
    }
    if (exp && !json_is_null(exp) &&
        (!json_is_integer(exp) || json_integer_value(exp) < 0 ||
         json_integer_value(exp) > ACCOUNT_MAX_EXPIRES_IN)) {
        status = server_error(conn, 400, "expiresIn: seconds, 0 (never) to ten years", NULL);
        goto out;
    }
    if (id && !account_name_ok(id)) {
        status = server_error(conn, 400, "id: 1 to 63 letters, digits, '.', '_' or '-'", NULL);
        goto out;
    }
    if (account_token_new(&token, hex, rid) < 0) {
        status = server_internal_error(conn, "new token");
        goto out;
    }
    if (!id)
        id = rid;
    t.account = (char *)arg;
    t.id = (char *)id;
    t.sha = hex;
    t.role = (char *)role;
    t.issued_unix = server_now(srv);
    t.expires_unix = json_is_integer(exp) && json_integer_value(exp) > 0
                         ? t.issued_unix + (long long)json_integer_value(exp)
                         : 0;
    if ((rc = store_token_add(srv->st, &t)) < 0) {
        status = account_fail(conn, rc, "add token");
        goto out;
    }
    status = server_send(conn, 200, json_pack("{s:s, s:s}", "token", token, "id", id), NULL);
out:
    if (token)
        memset(token, 0, strlen(token));
    free(token);
    json_decref(body);
    return status;
}

int server_delete_token(server *srv, struct mg_connection *conn, const char *arg)
{
    int status, rc;
    if ((status = account_may_manage(srv, conn, arg)) != 0)
        return status;
    if ((rc = store_token_delete(srv->st, arg, server_arg(conn, 1))) < 0)
        return account_fail(conn, rc, "revoke token");
    return server_send(conn, 200, json_object(), NULL);
}
