/*
 * Who is calling and what they may do: credentials, CSRF, RBAC and login
 * throttling for the dispatcher and the handlers.
 *
 * Credentials, tried in this order:
 *   Authorization: Bearer T   T is the node token (keys/api-token: acts
 *                             as admin) or an account's API token, found
 *                             by its SHA-256 (the store keeps no token);
 *   Cookie: edgecd_session=S  a browser session, found by SHA-256 of S.
 * A session ends when unused for session_idle seconds or session_max
 * after login; its last-seen time is written at most once a minute
 * (flash wear), so idle expiry is exact to within that minute. A token or
 * session of a disabled or deleted account does not work.
 *
 * RBAC: the caller's subject is the account name, with the account's
 * stored roles joined to its policy.csv roles; a token bound to a role
 * must be allowed both as that role and as its account, so it never has
 * more than its account's rights.
 *
 * Login throttling keeps a fixed table (SERVER_THROTTLE_ENTRIES) of keys
 * "u:<name>" and "a:<address>", each hashed to 16 bytes, with its count of
 * failures and the time until which it is blocked. When the table is full
 * a new key takes a forgotten entry (no failure for
 * SERVER_THROTTLE_FORGET seconds), else the unblocked entry with the
 * fewest failures that failed longest ago, else the one whose block ends
 * first. Names and addresses have a half of the table each: a flood of
 * names cannot grow memory, nor push out the count of the address that
 * sends it, which goes on growing and blocks it.
 */
#include <civetweb.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "server/internal.h"

#define AUTH_COOKIE "edgecd_session"
#define AUTH_TOUCH_SECONDS 60
#define AUTH_DEFAULT_IDLE 3600
#define AUTH_DEFAULT_MAX 86400

struct server_throttle {
    unsigned char key[16];
    unsigned failures;
    long long last;          /* time of the last failure */
    unsigned long long seq;  /* order of the last failure (srv->throttle_seq); 0: free */
    long long blocked_until; /* no password checked before this */
};

static long long auth_system_clock(void)
{
    return (long long)time(NULL);
}

long long server_now(const server *srv)
{
    return srv->clock();
}

int server_auth_init(server *srv, const struct server_options *opts)
{
    int rc;

    srv->clock = opts->clock ? opts->clock : auth_system_clock;
    srv->session_idle =
        opts->session_idle_seconds > 0 ? opts->session_idle_seconds : AUTH_DEFAULT_IDLE;
    srv->session_max = opts->session_max_seconds > 0 ? opts->session_max_seconds : AUTH_DEFAULT_MAX;
    srv->throttle_cap = opts->throttle_entries ? opts->throttle_entries : SERVER_THROTTLE_ENTRIES;
    srv->throttle = xcalloc(srv->throttle_cap, sizeof(*srv->throttle));
    pthread_mutex_init(&srv->throttle_lock, NULL);
    srv->rbac = opts->rbac;
    if (!srv->rbac) {
        if ((rc = rbac_new(&srv->own_rbac, "", "built-in policy", NULL)) < 0)
            return rc;
        srv->rbac = srv->own_rbac;
    }
    return 0;
}

void server_auth_dispose(server *srv)
{
    if (srv->throttle) {
        pthread_mutex_destroy(&srv->throttle_lock);
        free(srv->throttle);
        srv->throttle = NULL;
    }
    rbac_free(srv->own_rbac);
    srv->own_rbac = NULL;
}

void server_caller_dispose(struct server_caller *c)
{
    free(c->name);
    free(c->roles);
    free(c->token_role);
    if (c->csrf)
        memset(c->csrf, 0, strlen(c->csrf));
    free(c->csrf);
    memset(c, 0, sizeof(*c));
}

/* The enabled account name into c (name, roles). ERR_AUTH if it is gone
 * or disabled. */
static int auth_account(server *srv, const char *name, struct server_caller *c)
{
    struct store_account a;
    int rc = store_account_get(srv->st, name, &a);

    if (rc < 0 || !a.enabled) {
        store_account_dispose(&a);
        err_clear();
        return ERR_AUTH;
    }
    c->name = xstrdup(a.name);
    c->roles = xstrdup(a.roles);
    store_account_dispose(&a);
    return 0;
}

/* The bearer token of the request into out (trimmed), or 0. */
static int auth_bearer(struct mg_connection *conn, const char **tok, size_t *len)
{
    const char *h = mg_get_header(conn, "Authorization");
    size_t n;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    n = strlen(h);
    while (n > 0 && h[n - 1] == ' ')
        n--;
    *tok = h;
    *len = n;
    return 1;
}

static int auth_by_token(server *srv, const char *tok, size_t len, struct server_caller *c)
{
    unsigned char sha[32];
    char hex[65];
    struct store_token t;
    int rc;

    if (len == 0)
        return ERR_AUTH;
    util_sha256(tok, len, sha);
    if (util_const_eq(sha, srv->token_sha, sizeof(sha))) {
        c->kind = SERVER_CRED_NODE;
        c->name = xstrdup("admin");
        c->roles = xstrdup("role:admin");
        return 0;
    }
    util_hex(hex, sha, sizeof(sha));
    if (store_token_find(srv->st, hex, &t) < 0) {
        err_clear();
        return ERR_AUTH;
    }
    rc = ERR_AUTH;
    if ((t.expires_unix == 0 || server_now(srv) < t.expires_unix) &&
        auth_account(srv, t.account, c) == 0) {
        c->kind = SERVER_CRED_TOKEN;
        c->token_role = xstrdup(t.role);
        rc = 0;
    }
    store_token_dispose(&t);
    return rc;
}

static int auth_by_cookie(server *srv, struct mg_connection *conn, struct server_caller *c)
{
    const char *cookies = mg_get_header(conn, "Cookie");
    char value[128];
    unsigned char sha[32];
    struct store_session s;
    long long now = server_now(srv);
    int n, rc = ERR_AUTH;

    if (!cookies)
        return ERR_AUTH;
    n = mg_get_cookie(cookies, AUTH_COOKIE, value, sizeof(value));
    if (n <= 0)
        return ERR_AUTH;
    util_sha256(value, (size_t)n, sha);
    memset(value, 0, sizeof(value));
    util_hex(c->session_sha, sha, sizeof(sha));
    if (store_session_get(srv->st, c->session_sha, &s) < 0) {
        err_clear();
        return ERR_AUTH;
    }
    if (now - s.created_unix >= srv->session_max || now - s.seen_unix >= srv->session_idle) {
        store_session_delete(srv->st, c->session_sha);
        err_clear();
    } else if (auth_account(srv, s.account, c) == 0) {
        c->kind = SERVER_CRED_SESSION;
        c->csrf = xstrdup(s.csrf);
        if (now - s.seen_unix >= AUTH_TOUCH_SECONDS && store_session_touch(srv->st, s.id_sha, now))
            err_clear(); /* the session still works; the next request tries again */
        rc = 0;
    }
    store_session_dispose(&s);
    return rc;
}

int server_authenticate(server *srv, struct mg_connection *conn, struct server_caller *c)
{
    const char *tok;
    size_t len;
    int rc;

    memset(c, 0, sizeof(*c));
    /* A request that presents a bearer token stands or falls by it: a
     * wrong token is not rescued by a cookie the browser added. */
    rc = auth_bearer(conn, &tok, &len) ? auth_by_token(srv, tok, len, c)
                                       : auth_by_cookie(srv, conn, c);
    if (rc < 0) {
        server_caller_dispose(c);
        return ERR_AUTH;
    }
    return 0;
}

int server_cross_origin(struct mg_connection *conn)
{
    const char *origin = mg_get_header(conn, "Origin"), *host = mg_get_header(conn, "Host");
    const char *sep;

    if (!origin)
        return 0;
    /* Behind a TLS-terminating proxy the scheme differs from ours, so
     * the authority alone is compared with the Host the client sent. */
    sep = strstr(origin, "://");
    if (!sep || !host)
        return 1;
    return strcasecmp(sep + 3, host) != 0;
}

int server_csrf_check(server *srv, struct mg_connection *conn, const struct server_caller *c)
{
    const char *method = mg_get_request_info(conn)->request_method;
    const char *h;

    (void)srv;
    if (c->kind != SERVER_CRED_SESSION || !strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return 0;
    if (server_cross_origin(conn))
        return server_error(conn, 403, "cross-site request refused (Origin is not this server)",
                            NULL);
    h = mg_get_header(conn, "X-CSRF-Token");
    if (!h || strlen(h) != strlen(c->csrf) || !util_const_eq(h, c->csrf, strlen(h)))
        return server_error(conn, 403, "CSRF token missing or wrong (send X-CSRF-Token)", NULL);
    return 0;
}

size_t server_split_roles(char *copy, const char **v, size_t max)
{
    size_t n = 0;
    char *p = copy;
    while (p && *p && n < max) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma++ = '\0';
        if (*p)
            v[n++] = p;
        p = comma;
    }
    return n;
}

int server_caller_allowed(const server *srv, const struct server_caller *c, const char *resource,
                          const char *action, const char *object)
{
    const char *roles[32];
    char *copy;
    size_t n;
    int ok;

    if (c->kind == SERVER_CRED_NONE)
        return 0;
    if (c->kind == SERVER_CRED_NODE)
        return rbac_enforce_as(srv->rbac, "role:admin", NULL, 0, resource, action, object);
    copy = xstrdup(c->roles ? c->roles : "");
    n = server_split_roles(copy, roles, sizeof(roles) / sizeof(roles[0]));
    ok = rbac_enforce_as(srv->rbac, c->name, roles, n, resource, action, object);
    free(copy);
    if (ok && c->kind == SERVER_CRED_TOKEN && c->token_role && c->token_role[0])
        ok = rbac_enforce_as(srv->rbac, c->token_role, NULL, 0, resource, action, object);
    return ok;
}

int server_allowed(server *srv, struct mg_connection *conn, const char *resource,
                   const char *action, const char *object)
{
    const struct server_caller *c = server_caller(conn);
    return c && server_caller_allowed(srv, c, resource, action, object);
}

char *server_object(server *srv, const char *resource, const char *name)
{
    int appset = !strcmp(resource, "applicationsets");
    char *text = NULL, *out;
    json_t *doc;
    const char *project = NULL;

    if (!appset && strcmp(resource, "applications") != 0 && strcmp(resource, "logs") != 0)
        return xstrdup(name);
    if ((appset ? store_appset_get(srv->st, name, &text) : store_app_get(srv->st, name, &text)) <
        0) {
        err_clear();
        return xasprintf("/%s", name);
    }
    doc = json_loads(text, 0, NULL);
    project = json_string_value(json_object_get(
        json_object_get(appset ? json_object_get(json_object_get(doc, "spec"), "template") : doc,
                        "spec"),
        "project"));
    out = xasprintf("%s/%s", project && project[0] ? project : "default", name);
    json_decref(doc);
    free(text);
    return out;
}

/* ---- login throttling ---- */

static void auth_throttle_key(unsigned char out[16], char kind, const char *value)
{
    unsigned char sha[32];
    char *text = xasprintf("%c:%s", kind, value ? value : "");
    util_sha256(text, strlen(text), sha);
    memcpy(out, sha, 16);
    free(text);
}

/* 1 if t is free or forgotten: unused, or unblocked and without a
 * failure for SERVER_THROTTLE_FORGET seconds. */
static int auth_throttle_stale(const struct server_throttle *t, long long now)
{
    return !t->seq || (t->blocked_until <= now && now - t->last >= SERVER_THROTTLE_FORGET);
}

/* 1 if a is a better entry to reuse than b: a stale one, then the
 * unblocked one with the fewest failures and of those the one that
 * failed longest ago, then the one whose block ends first. */
static int auth_throttle_better(const struct server_throttle *a, const struct server_throttle *b,
                                long long now)
{
    int a_open = a->blocked_until <= now, b_open = b->blocked_until <= now;
    int a_stale = auth_throttle_stale(a, now), b_stale = auth_throttle_stale(b, now);
    if (a_stale || b_stale)
        return a_stale && !b_stale;
    if (a_open != b_open)
        return a_open;
    if (!a_open)
        return a->blocked_until < b->blocked_until;
    if (a->failures != b->failures)
        return a->failures < b->failures;
    return a->seq < b->seq;
}

/* The entry of key, or NULL; with create, a new or reused one. Names
 * use the first half of the table and addresses the second, so a flood
 * of names cannot push out the count of the address sending them.
 * Called with the lock held. */
static struct server_throttle *auth_throttle_find(server *srv, const unsigned char key[16],
                                                  int address, long long now, int create)
{
    struct server_throttle *victim = NULL;
    size_t half = srv->throttle_cap / 2, from = address ? half : 0,
           to = address ? srv->throttle_cap : half;
    for (size_t i = from; i < to; i++) {
        struct server_throttle *t = &srv->throttle[i];
        if (t->seq && !memcmp(t->key, key, 16)) {
            if (auth_throttle_stale(t, now))
                t->failures = 0;
            return t;
        }
        if (create && (!victim || auth_throttle_better(t, victim, now)))
            victim = t;
    }
    if (victim) {
        memset(victim, 0, sizeof(*victim));
        memcpy(victim->key, key, 16);
    }
    return victim;
}

long long server_throttle_wait(server *srv, const char *user, const char *addr)
{
    unsigned char keys[2][16];
    long long now = server_now(srv), wait = 0;

    auth_throttle_key(keys[0], 'u', user);
    auth_throttle_key(keys[1], 'a', addr);
    pthread_mutex_lock(&srv->throttle_lock);
    for (int k = 0; k < 2; k++) {
        struct server_throttle *t = auth_throttle_find(srv, keys[k], k, now, 0);
        if (t && t->blocked_until - now > wait)
            wait = t->blocked_until - now;
    }
    pthread_mutex_unlock(&srv->throttle_lock);
    return wait;
}

void server_throttle_record(server *srv, const char *user, const char *addr, int ok)
{
    unsigned char keys[2][16];
    long long now = server_now(srv);

    auth_throttle_key(keys[0], 'u', user);
    auth_throttle_key(keys[1], 'a', addr);
    pthread_mutex_lock(&srv->throttle_lock);
    for (int k = 0; k < 2; k++) {
        struct server_throttle *t = auth_throttle_find(srv, keys[k], k, now, !ok);
        if (!t)
            continue;
        if (ok) {
            memset(t, 0, sizeof(*t));
            continue;
        }
        t->failures++;
        t->last = now;
        t->seq = ++srv->throttle_seq;
        if (t->failures >= SERVER_THROTTLE_FREE) {
            unsigned shift = t->failures - SERVER_THROTTLE_FREE;
            long long delay = shift >= 9 ? SERVER_THROTTLE_MAX_DELAY : 1LL << shift;
            if (delay > SERVER_THROTTLE_MAX_DELAY)
                delay = SERVER_THROTTLE_MAX_DELAY;
            t->blocked_until = now + delay;
        }
    }
    pthread_mutex_unlock(&srv->throttle_lock);
}

size_t server_throttle_used(server *srv)
{
    size_t n = 0;
    pthread_mutex_lock(&srv->throttle_lock);
    for (size_t i = 0; i < srv->throttle_cap; i++)
        n += srv->throttle[i].seq != 0;
    pthread_mutex_unlock(&srv->throttle_lock);
    return n;
}
