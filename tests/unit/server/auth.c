/*
 * Tests for appliance/server/auth.c and api_account.c: a real server on
 * 127.0.0.1:0 with accounts in its store, a policy.csv with a
 * project-scoped role and a clock the tests move. Passwords are hashed
 * with the test-only low iteration count (core/password.h) so the many
 * logins here stay fast; the count itself is tested in core/password.
 *
 * Accounts: admin (role:admin), viewer (role:readonly), alice (no stored
 * role; policy.csv gives her role:team-a: get, sync and create on
 * project team-a), nobody (no rights). Apps: web (project team-a) and db
 * (team-b).
 */
#include "server/server.h"

#include <jansson.h>
#include <signal.h>

#include "core/password.h"
#include "core/util.h"
#include "server/internal.h"
#include "storage/store.h"
#include "test.h"
#include "client.h"

#define NODE_TOKEN "9a8b7c6d5e4f30211203948576afbecd9a8b7c6d5e4f30211203948576afbecd"
#define PW "pass-word-1"
#define THROTTLE_ENTRIES 16

static char *dir;
static store *st;
static server *srv;
static long long now_s = 1000000;

static long long test_clock(void)
{
    return now_s;
}

/* Credentials of one request: a session (cookie and CSRF token), or a
 * bearer token, or none. */
struct who {
    char *cookie; /* "edgecd_session=..." */
    char *csrf;
    char *bearer;
};

static void who_dispose(struct who *w)
{
    free(w->cookie);
    free(w->csrf);
    free(w->bearer);
    memset(w, 0, sizeof(*w));
}

/* method path from src (NULL: 127.0.0.1) as w (NULL: no credentials),
 * with the CSRF header when csrf (1: w's token, else the text) and an
 * optional extra header line and JSON body. */
static void call(const char *src, const char *method, const char *path, const struct who *w,
                 const char *csrf, const char *extra, const char *body, struct resp *out)
{
    struct buf req = BUF_INIT;
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n", method, path,
               port);
    if (w && w->cookie)
        buf_printf(&req, "Cookie: %s\r\n", w->cookie);
    if (w && w->bearer)
        buf_printf(&req, "Authorization: Bearer %s\r\n", w->bearer);
    if (csrf)
        buf_printf(&req, "X-CSRF-Token: %s\r\n", csrf == (const char *)1 ? w->csrf : csrf);
    if (extra)
        buf_printf(&req, "%s\r\n", extra);
    if (body)
        buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   strlen(body), body);
    else
        buf_puts(&req, "\r\n");
    http_raw_from(src, req.ptr, req.len, out);
    buf_dispose(&req);
}

#define WITH_CSRF ((const char *)1)

/* The status of one call (the answer is dropped). */
static int status_of(const char *method, const char *path, const struct who *w, const char *csrf,
                     const char *body)
{
    struct resp r;
    int status;
    call(NULL, method, path, w, csrf, NULL, body, &r);
    status = r.status;
    if (status == 500)
        fprintf(stderr, "500: %s\n", r.body);
    resp_dispose(&r);
    return status;
}

static json_t *body_json(const struct resp *r)
{
    return json_loads(r->body, 0, NULL);
}

/* Log in as user from src; 1 with *w filled on 200, else 0 (the status
 * in *status when not NULL). */
static int login_from(const char *src, const char *user, const char *pw, struct who *w, int *status)
{
    struct resp r;
    char *body = xasprintf("{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    char *cookie;
    json_t *j;
    int ok = 0;

    memset(w, 0, sizeof(*w));
    call(src, "POST", "/api/v1/session", NULL, NULL, NULL, body, &r);
    free(body);
    if (status)
        *status = r.status;
    cookie = resp_header(&r, "Set-Cookie");
    j = body_json(&r);
    if (r.status == 200 && cookie && j) {
        w->cookie = xstrndup(cookie, strcspn(cookie, ";"));
        w->csrf = xstrdup(json_string_value(json_object_get(j, "csrfToken")));
        ok = 1;
    }
    json_decref(j);
    free(cookie);
    resp_dispose(&r);
    return ok;
}

static int login(const char *user, const char *pw, struct who *w)
{
    return login_from(NULL, user, pw, w, NULL);
}

static void add_account(const char *name, const char *roles)
{
    struct store_account a = {.name = (char *)name, .enabled = 1, .roles = (char *)roles};
    if (password_hash(&a.hash, PW) < 0 || store_account_add(st, &a) < 0) {
        fprintf(stderr, "account %s: %s\n", name, err_last());
        exit(2);
    }
    free(a.hash);
}

/* The SHA-256 hex of the cookie's session token. */
static void cookie_sha(const struct who *w, char hex[65])
{
    const char *v = strchr(w->cookie, '=') + 1;
    unsigned char sha[32];
    util_sha256(v, strlen(v), sha);
    util_hex(hex, sha, sizeof(sha));
}

TEST(every_user_route_needs_credentials)
{
    static const struct who bogus_cookie = {.cookie = "edgecd_session=AAAA", .csrf = "x"};
    static const struct who bogus_bearer = {.bearer = "edgecd_nope"};
    const struct who *whos[] = {NULL, &bogus_cookie, &bogus_bearer};
    size_t checked = 0;

    for (size_t i = 0; i < server_routes_count; i++) {
        const struct server_route *r = &server_routes[i];
        struct buf path = BUF_INIT;
        if (r->auth != SERVER_AUTH_USER)
            continue;
        for (const char *p = r->pattern; *p; p++)
            if (*p == '*')
                buf_puts(&path, "web");
            else
                buf_putc(&path, *p);
        for (size_t k = 0; k < sizeof(whos) / sizeof(whos[0]); k++) {
            struct resp resp;
            call(NULL, r->method, path.ptr, whos[k], whos[k] ? WITH_CSRF : NULL, NULL,
                 strcmp(r->method, "GET") ? "{}" : NULL, &resp);
            if (resp.status != 401)
                fprintf(stderr, "%s %s (credentials %zu): %d\n", r->method, path.ptr, k,
                        resp.status);
            CHECK(resp.status == 401);
            CHECK_CONTAINS(resp.body, "\"unauthorized\"");
            resp_dispose(&resp);
        }
        buf_dispose(&path);
        checked++;
    }
    /* the table's own routes and this file's: a walk that found nothing
     * would prove nothing */
    CHECK(checked >= 20);
}

TEST(login_sets_a_strict_cookie_and_userinfo)
{
    struct resp r;
    struct who w;
    json_t *j;
    char *cookie;

    call(NULL, "POST", "/api/v1/session", NULL, NULL, NULL,
         "{\"username\":\"viewer\",\"password\":\"wrong-password\"}", &r);
    CHECK(r.status == 401);
    CHECK_CONTAINS(r.body, "invalid username or password");
    CHECK(resp_header(&r, "Set-Cookie") == NULL);
    resp_dispose(&r);
    /* a name that does not exist answers the same */
    call(NULL, "POST", "/api/v1/session", NULL, NULL, NULL,
         "{\"username\":\"ghost\",\"password\":\"" PW "\"}", &r);
    CHECK(r.status == 401);
    CHECK_CONTAINS(r.body, "invalid username or password");
    resp_dispose(&r);
    call(NULL, "POST", "/api/v1/session", NULL, NULL, NULL, "{\"username\":\"viewer\"}", &r);
    CHECK(r.status == 400);
    resp_dispose(&r);

    call(NULL, "POST", "/api/v1/session", NULL, NULL, NULL,
         "{\"username\":\"viewer\",\"password\":\"" PW "\"}", &r);
    CHECK(r.status == 200);
    cookie = resp_header(&r, "Set-Cookie");
    CHECK(cookie != NULL);
    CHECK(str_has_prefix(cookie, "edgecd_session="));
    CHECK(strcspn(cookie, ";") == strlen("edgecd_session=") + 43); /* 256 bits, base64url */
    CHECK_CONTAINS(cookie, "; Path=/; HttpOnly;");
    CHECK_CONTAINS(cookie, "SameSite=Strict");
    CHECK(strstr(cookie, "Secure") == NULL); /* plain HTTP here */
    free(cookie);
    resp_dispose(&r);

    CHECK(login("viewer", PW, &w));
    CHECK(strlen(w.csrf) == 43);
    call(NULL, "GET", "/api/v1/session/userinfo", &w, NULL, NULL, NULL, &r);
    CHECK(r.status == 200);
    j = body_json(&r);
    CHECK(json_is_true(json_object_get(j, "loggedIn")));
    CHECK_STR(json_string_value(json_object_get(j, "username")), "viewer");
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "roles"), 0)), "role:readonly");
    CHECK(json_array_size(json_object_get(j, "roles")) == 1);
    CHECK_STR(json_string_value(json_object_get(j, "csrfToken")), w.csrf);
    json_decref(j);
    resp_dispose(&r);
    who_dispose(&w);
}

/* Names of the items of a list answer, comma separated, into out. */
static void list_names(const struct who *w, const char *path, char *out, size_t len)
{
    struct resp r;
    json_t *j, *it;
    size_t i;
    out[0] = '\0';
    call(NULL, "GET", path, w, NULL, NULL, NULL, &r);
    j = body_json(&r);
    json_array_foreach(json_object_get(j, "items"), i, it)
    {
        const char *n = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        if (!n)
            n = json_string_value(json_object_get(it, "name"));
        snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "", n ? n : "?");
    }
    if (r.status != 200)
        snprintf(out, len, "%d", r.status);
    json_decref(j);
    resp_dispose(&r);
}

TEST(rbac_matrix)
{
    struct who admin, viewer, alice, nobody, node = {.bearer = NODE_TOKEN};
    char names[256];
    struct resp r;

    CHECK(login("admin", PW, &admin) && login("viewer", PW, &viewer) &&
          login("alice", PW, &alice) && login("nobody", PW, &nobody));

    /* lists are filtered; no right at all is a 403 */
    list_names(&admin, "/api/v1/applications", names, sizeof(names));
    CHECK_STR(names, "db,web");
    list_names(&viewer, "/api/v1/applications", names, sizeof(names));
    CHECK_STR(names, "db,web");
    list_names(&alice, "/api/v1/applications", names, sizeof(names));
    CHECK_STR(names, "web");
    list_names(&nobody, "/api/v1/applications", names, sizeof(names));
    CHECK_STR(names, "403");
    list_names(&alice, "/api/v1/applicationsets", names, sizeof(names));
    CHECK_STR(names, "403");
    /* the event stream too: alice's stream (read until the client gives
     * up after 5 s) announces web and never db */
    call(NULL, "GET", "/api/v1/stream/applications", &alice, NULL, NULL, NULL, &r);
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "\"type\":\"ADDED\"");
    CHECK_CONTAINS(r.body, "\"name\":\"web\"");
    CHECK(strstr(r.body, "\"name\":\"db\"") == NULL);
    resp_dispose(&r);
    list_names(&viewer, "/api/v1/applicationsets", names, sizeof(names));
    CHECK_STR(names, "front");

    /* one app: the object is project/app */
    CHECK(status_of("GET", "/api/v1/applications/web", &alice, NULL, NULL) == 200);
    CHECK(status_of("GET", "/api/v1/applications/db", &alice, NULL, NULL) == 403);
    CHECK(status_of("GET", "/api/v1/applications/db", &viewer, NULL, NULL) == 200);
    CHECK(status_of("GET", "/api/v1/applications/db", &nobody, NULL, NULL) == 403);
    /* an app that does not exist: 404 only for who may see every project */
    CHECK(status_of("GET", "/api/v1/applications/ghost", &admin, NULL, NULL) == 404);
    CHECK(status_of("GET", "/api/v1/applications/ghost", &alice, NULL, NULL) == 403);

    /* writes: 501 means RBAC let it through (this server has no engine) */
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &admin, WITH_CSRF, "{}") == 501);
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &alice, WITH_CSRF, "{}") == 501);
    CHECK(status_of("POST", "/api/v1/applications/db/sync", &alice, WITH_CSRF, "{}") == 403);
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &viewer, WITH_CSRF, "{}") == 403);
    CHECK(status_of("DELETE", "/api/v1/applications/web", &alice, WITH_CSRF, NULL) == 403);
    /* a write names its project in the body: the right is checked there
     * too (501: allowed through, this server has no engine) */
    CHECK(status_of("POST", "/api/v1/applications", &admin, WITH_CSRF,
                    "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"project\":\"db-team\"}}") == 501);
    CHECK(status_of("POST", "/api/v1/applications", &alice, WITH_CSRF,
                    "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"project\":\"team-a\"}}") == 501);
    CHECK(status_of("POST", "/api/v1/applications", &alice, WITH_CSRF,
                    "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"project\":\"db-team\"}}") == 403);
    CHECK(status_of("PUT", "/api/v1/applications/web", &viewer, WITH_CSRF,
                    "{\"metadata\":{\"name\":\"web\"},\"spec\":{}}") == 403);
    CHECK(status_of("DELETE", "/api/v1/applications/web", &admin, WITH_CSRF, NULL) == 501);
    CHECK(status_of("DELETE", "/api/v1/applications/web", &node, NULL, NULL) == 501);

    call(NULL, "POST", "/api/v1/applications/web/sync", &viewer, WITH_CSRF, NULL, "{}", &r);
    CHECK_CONTAINS(r.body, "permission denied: applications, sync, team-a/web");
    resp_dispose(&r);

    /* accounts */
    list_names(&viewer, "/api/v1/account", names, sizeof(names));
    CHECK_STR(names, "admin,alice,nobody,viewer");
    list_names(&alice, "/api/v1/account", names, sizeof(names));
    CHECK_STR(names, "403");
    CHECK(status_of("POST", "/api/v1/account", &viewer, WITH_CSRF,
                    "{\"name\":\"eve\",\"password\":\"" PW "\"}") == 403);
    CHECK(status_of("DELETE", "/api/v1/account/alice", &viewer, WITH_CSRF, NULL) == 403);
    CHECK(status_of("GET", "/api/v1/account/alice", &viewer, NULL, NULL) == 200);

    /* userinfo names the roles policy.csv gives too */
    call(NULL, "GET", "/api/v1/session/userinfo", &alice, NULL, NULL, NULL, &r);
    CHECK_CONTAINS(r.body, "\"roles\":[\"role:team-a\"]");
    resp_dispose(&r);

    /* can-i, with an object holding an encoded '/' */
    call(NULL, "GET", "/api/v1/account/can-i/applications/sync/team-a%2Fweb", &alice, NULL, NULL,
         NULL, &r);
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "\"value\":\"yes\"");
    resp_dispose(&r);
    call(NULL, "GET", "/api/v1/account/can-i/applications/sync/team-b%2Fdb", &alice, NULL, NULL,
         NULL, &r);
    CHECK_CONTAINS(r.body, "\"value\":\"no\"");
    resp_dispose(&r);
    call(NULL, "GET", "/api/v1/account/can-i/applications/sync/team-b%2Fdb", &viewer, NULL, NULL,
         NULL, &r);
    CHECK_CONTAINS(r.body, "\"value\":\"no\"");
    resp_dispose(&r);
    call(NULL, "GET", "/api/v1/account/can-i/accounts/create/*", &admin, NULL, NULL, NULL, &r);
    CHECK_CONTAINS(r.body, "\"value\":\"yes\"");
    resp_dispose(&r);

    who_dispose(&admin);
    who_dispose(&viewer);
    who_dispose(&alice);
    who_dispose(&nobody);
}

TEST(csrf_and_origin)
{
    struct who w, bearer = {.bearer = NODE_TOKEN};
    struct resp r;
    char *origin = xasprintf("Origin: http://localhost:%d", port);

    CHECK(login("admin", PW, &w));
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &w, NULL, "{}") == 403);
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &w, "wrong", "{}") == 403);
    call(NULL, "POST", "/api/v1/applications/web/sync", &w, NULL, NULL, "{}", &r);
    CHECK_CONTAINS(r.body, "CSRF");
    resp_dispose(&r);
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &w, WITH_CSRF, "{}") == 501);
    /* same origin passes, another site's is refused even with the token */
    call(NULL, "POST", "/api/v1/applications/web/sync", &w, WITH_CSRF, origin, "{}", &r);
    CHECK(r.status == 501);
    resp_dispose(&r);
    call(NULL, "POST", "/api/v1/applications/web/sync", &w, WITH_CSRF,
         "Origin: https://evil.example", "{}", &r);
    CHECK(r.status == 403);
    CHECK_CONTAINS(r.body, "cross-site");
    resp_dispose(&r);
    /* a login from another site is refused too */
    call(NULL, "POST", "/api/v1/session", NULL, NULL, "Origin: https://evil.example",
         "{\"username\":\"admin\",\"password\":\"" PW "\"}", &r);
    CHECK(r.status == 403);
    resp_dispose(&r);
    /* reads need no token; bearer writes need none */
    CHECK(status_of("GET", "/api/v1/applications/web", &w, NULL, NULL) == 200);
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &bearer, NULL, "{}") == 501);
    free(origin);
    who_dispose(&w);
}

TEST(throttle_grows_per_user_and_per_address)
{
    struct who w;
    struct resp r;
    char *ra;
    int status = 0;

    /* per user, from two addresses: the user's count is shared */
    for (int i = 0; i < 5; i++) {
        CHECK(
            !login_from(i % 2 ? "127.0.0.2" : "127.0.0.3", "viewer", "bad-password", &w, &status));
        CHECK(status == 401);
    }
    /* blocked for 1 s: even the right password is not checked */
    call("127.0.0.4", "POST", "/api/v1/session", NULL, NULL, NULL,
         "{\"username\":\"viewer\",\"password\":\"" PW "\"}", &r);
    CHECK(r.status == 429);
    ra = resp_header(&r, "Retry-After");
    CHECK_STR(ra, "1");
    free(ra);
    resp_dispose(&r);
    now_s += 1;
    CHECK(!login_from("127.0.0.4", "viewer", "bad-password", &w, &status));
    CHECK(status == 401);
    call("127.0.0.4", "POST", "/api/v1/session", NULL, NULL, NULL,
         "{\"username\":\"viewer\",\"password\":\"" PW "\"}", &r);
    CHECK(r.status == 429);
    ra = resp_header(&r, "Retry-After");
    CHECK_STR(ra, "2"); /* the delay doubled */
    free(ra);
    resp_dispose(&r);
    now_s += 2;
    CHECK(login_from("127.0.0.4", "viewer", PW, &w, &status)); /* success forgets it */
    who_dispose(&w);
    CHECK(!login_from("127.0.0.4", "viewer", "bad-password", &w, &status));
    CHECK(status == 401);

    /* per address: five names from one address block the address */
    for (int i = 0; i < 5; i++) {
        char user[16];
        snprintf(user, sizeof(user), "u%d", i);
        CHECK(!login_from("127.0.0.5", user, "bad-password", &w, &status));
        CHECK(status == 401);
    }
    CHECK(!login_from("127.0.0.5", "admin", PW, &w, &status));
    CHECK(status == 429);
    /* another address is not affected */
    CHECK(login_from("127.0.0.6", "admin", PW, &w, &status));
    who_dispose(&w);

    /* a flood of names and addresses: the table stays at its size and the
     * flooding address is still throttled */
    for (int i = 0; i < 40; i++) {
        char user[16], src[16];
        snprintf(user, sizeof(user), "flood%d", i);
        snprintf(src, sizeof(src), "127.0.1.%d", 1 + i % 3);
        login_from(src, user, "bad-password", &w, &status);
        CHECK(server_throttle_used(srv) <= THROTTLE_ENTRIES);
    }
    CHECK(server_throttle_used(srv) >= THROTTLE_ENTRIES / 2); /* the names' half is full */
    CHECK(!login_from("127.0.1.1", "flood0", "bad-password", &w, &status));
    CHECK(status == 429);
    now_s += SERVER_THROTTLE_MAX_DELAY + 1;

    /* the delay doubles up to five minutes, and stays there */
    {
        static const long long want[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300};
        for (int i = 0; i < 5; i++)
            login_from("127.0.2.1", "patient", "bad-password", &w, &status);
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            call("127.0.2.1", "POST", "/api/v1/session", NULL, NULL, NULL,
                 "{\"username\":\"patient\",\"password\":\"x\"}", &r);
            ra = resp_header(&r, "Retry-After");
            CHECK(r.status == 429 && ra && strtoll(ra, NULL, 10) == want[i]);
            now_s += strtoll(ra, NULL, 10);
            free(ra);
            resp_dispose(&r);
            CHECK(!login_from("127.0.2.1", "patient", "bad-password", &w, &status));
            CHECK(status == 401);
        }
        now_s += SERVER_THROTTLE_MAX_DELAY + 1;
    }
}

TEST(session_idle_and_absolute_expiry)
{
    struct who w;
    struct store_session s;
    char sha[65];

    /* idle: each use within the hour keeps it; an hour unused ends it */
    CHECK(login("alice", PW, &w));
    cookie_sha(&w, sha);
    now_s += 30;
    CHECK(status_of("GET", "/api/v1/session/userinfo", &w, NULL, NULL) == 200);
    /* last-seen is written at most once a minute */
    CHECK_OK(store_session_get(st, sha, &s));
    CHECK(s.seen_unix == now_s - 30);
    store_session_dispose(&s);
    now_s += 3599 - 30;
    CHECK(status_of("GET", "/api/v1/session/userinfo", &w, NULL, NULL) == 200);
    CHECK_OK(store_session_get(st, sha, &s));
    CHECK(s.seen_unix == now_s);
    store_session_dispose(&s);
    now_s += 3600;
    CHECK(status_of("GET", "/api/v1/session/userinfo", &w, NULL, NULL) == 401);
    CHECK_ERR(store_session_get(st, sha, &s), ERR_NOTFOUND);
    err_clear();
    who_dispose(&w);

    /* absolute: used every 50 minutes, it still ends a day after login */
    CHECK(login("alice", PW, &w));
    for (int i = 0; i < 28; i++) {
        now_s += 3000;
        CHECK(status_of("GET", "/api/v1/session/userinfo", &w, NULL, NULL) ==
              ((i + 1) * 3000 < 86400 ? 200 : 401));
    }
    who_dispose(&w);
}

TEST(logout_ends_the_session)
{
    struct who w;
    struct resp r;
    char *cookie;

    CHECK(login("viewer", PW, &w));
    CHECK(status_of("DELETE", "/api/v1/session", &w, NULL, NULL) == 403); /* CSRF */
    call(NULL, "DELETE", "/api/v1/session", &w, WITH_CSRF, NULL, NULL, &r);
    CHECK(r.status == 200);
    cookie = resp_header(&r, "Set-Cookie");
    CHECK_CONTAINS(cookie, "edgecd_session=;");
    CHECK_CONTAINS(cookie, "Max-Age=0");
    free(cookie);
    resp_dispose(&r);
    CHECK(status_of("GET", "/api/v1/session/userinfo", &w, NULL, NULL) == 401);
    who_dispose(&w);
}

TEST(password_change_ends_other_sessions)
{
    struct who a, b, c;
    struct store_account before, after;

    CHECK(login("alice", PW, &a) && login("alice", PW, &b));
    CHECK_OK(store_account_get(st, "alice", &before));
    /* a wrong current password, or a too short new one, changes nothing */
    CHECK(status_of("PUT", "/api/v1/account/password", &a, WITH_CSRF,
                    "{\"currentPassword\":\"nope-nope\",\"newPassword\":\"new-pass-2\"}") == 403);
    CHECK(status_of("PUT", "/api/v1/account/password", &a, WITH_CSRF,
                    "{\"currentPassword\":\"" PW "\",\"newPassword\":\"short\"}") == 400);
    CHECK_OK(store_account_get(st, "alice", &after));
    CHECK_STR(after.hash, before.hash);
    store_account_dispose(&after);
    CHECK(status_of("GET", "/api/v1/session/userinfo", &b, NULL, NULL) == 200);
    /* nor may alice change someone else's */
    CHECK(status_of("PUT", "/api/v1/account/password", &a, WITH_CSRF,
                    "{\"name\":\"viewer\",\"currentPassword\":\"" PW
                    "\",\"newPassword\":\"new-pass-2\"}") == 403);

    CHECK(status_of("PUT", "/api/v1/account/password", &a, WITH_CSRF,
                    "{\"currentPassword\":\"" PW "\",\"newPassword\":\"new-pass-2\"}") == 200);
    CHECK_OK(store_account_get(st, "alice", &after));
    CHECK(strcmp(after.hash, before.hash) != 0);
    store_account_dispose(&after);
    store_account_dispose(&before);
    CHECK(status_of("GET", "/api/v1/session/userinfo", &a, NULL, NULL) == 200);
    CHECK(status_of("GET", "/api/v1/session/userinfo", &b, NULL, NULL) == 401);
    CHECK(!login("alice", PW, &c));
    CHECK(login("alice", "new-pass-2", &c));
    /* back, changed by the admin with the node token */
    {
        struct who node = {.bearer = NODE_TOKEN};
        CHECK(status_of("PUT", "/api/v1/account/password", &node, NULL,
                        "{\"name\":\"alice\",\"newPassword\":\"" PW "\"}") == 200);
    }
    CHECK(status_of("GET", "/api/v1/session/userinfo", &c, NULL, NULL) == 401);
    who_dispose(&a);
    who_dispose(&b);
    who_dispose(&c);
}

/* Create a token for account as w; the secret (new) or NULL. */
static char *make_token(const struct who *w, const char *account, const char *body, int *status)
{
    struct resp r;
    char *path = xasprintf("/api/v1/account/%s/token", account), *tok = NULL;
    json_t *j;
    call(NULL, "POST", path, w, w->csrf ? WITH_CSRF : NULL, NULL, body, &r);
    *status = r.status;
    j = body_json(&r);
    if (r.status == 200 && json_string_value(json_object_get(j, "token")))
        tok = xstrdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    resp_dispose(&r);
    free(path);
    return tok;
}

TEST(tokens_role_bound_revocable_expiring)
{
    struct who admin, viewer, tok = {0}, tok2 = {0};
    struct resp r;
    char names[256];
    int status;

    CHECK(login("admin", PW, &admin) && login("viewer", PW, &viewer));
    /* a user makes their own token; not someone else's */
    tok.bearer = make_token(&viewer, "viewer", "{\"id\":\"ci\",\"expiresIn\":100}", &status);
    CHECK(status == 200 && tok.bearer);
    CHECK(str_has_prefix(tok.bearer, "edgecd_"));
    CHECK(!make_token(&viewer, "alice", "{}", &status));
    CHECK(status == 403);
    CHECK(!make_token(&viewer, "viewer", "{\"id\":\"ci\"}", &status));
    CHECK(status == 409);
    CHECK(!make_token(&viewer, "viewer", "{\"role\":\"admin\"}", &status));
    CHECK(status == 400);
    CHECK(status_of("GET", "/api/v1/applications/db", &tok, NULL, NULL) == 200);
    CHECK(status_of("POST", "/api/v1/applications/db/sync", &tok, NULL, "{}") == 403);

    /* listed without the secret */
    call(NULL, "GET", "/api/v1/account/viewer", &admin, NULL, NULL, NULL, &r);
    CHECK_CONTAINS(r.body, "\"id\":\"ci\"");
    CHECK_CONTAINS(r.body, "\"expiresAt\":");
    CHECK(strstr(r.body, tok.bearer + 7) == NULL);
    resp_dispose(&r);

    /* expiry */
    now_s += 101;
    CHECK(status_of("GET", "/api/v1/applications/db", &tok, NULL, NULL) == 401);
    free(tok.bearer);

    /* bound to role:readonly, alice's token has no more than both allow:
     * get on team-a only, no sync */
    tok.bearer = make_token(&admin, "alice", "{\"id\":\"ro\",\"role\":\"role:readonly\"}", &status);
    CHECK(status == 200 && tok.bearer);
    list_names(&tok, "/api/v1/applications", names, sizeof(names));
    CHECK_STR(names, "web");
    CHECK(status_of("POST", "/api/v1/applications/web/sync", &tok, NULL, "{}") == 403);
    /* a role-bound token cannot mint an unbound one */
    CHECK(!make_token(&tok, "alice", "{}", &status));
    CHECK(status == 403);
    tok2.bearer = make_token(&tok, "alice", "{\"role\":\"role:readonly\"}", &status);
    CHECK(status == 200 && tok2.bearer);
    /* revoke */
    CHECK(status_of("DELETE", "/api/v1/account/alice/token/ro", &viewer, WITH_CSRF, NULL) == 403);
    CHECK(status_of("DELETE", "/api/v1/account/alice/token/ro", &admin, WITH_CSRF, NULL) == 200);
    CHECK(status_of("DELETE", "/api/v1/account/alice/token/ro", &admin, WITH_CSRF, NULL) == 404);
    CHECK(status_of("GET", "/api/v1/applications/web", &tok, NULL, NULL) == 401);
    CHECK(status_of("GET", "/api/v1/applications/web", &tok2, NULL, NULL) == 200);
    who_dispose(&tok);
    who_dispose(&tok2);
    who_dispose(&admin);
    who_dispose(&viewer);
}

TEST(accounts_create_and_delete)
{
    struct who admin, eve;
    struct resp r;

    CHECK(login("admin", PW, &admin));
    CHECK(status_of("POST", "/api/v1/account", &admin, WITH_CSRF,
                    "{\"name\":\"eve\",\"password\":\"short\"}") == 400);
    CHECK(status_of("POST", "/api/v1/account", &admin, WITH_CSRF,
                    "{\"name\":\"../x\",\"password\":\"" PW "\"}") == 400);
    CHECK(status_of("POST", "/api/v1/account", &admin, WITH_CSRF,
                    "{\"name\":\"eve\",\"password\":\"" PW "\",\"roles\":[\"admin\"]}") == 400);
    call(NULL, "POST", "/api/v1/account", &admin, WITH_CSRF, NULL,
         "{\"name\":\"eve\",\"password\":\"" PW "\",\"roles\":[\"role:readonly\"]}", &r);
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "\"roles\":[\"role:readonly\"]");
    CHECK(strstr(r.body, "pbkdf2") == NULL);
    resp_dispose(&r);
    CHECK(status_of("POST", "/api/v1/account", &admin, WITH_CSRF,
                    "{\"name\":\"eve\",\"password\":\"" PW "\"}") == 409);
    CHECK(login("eve", PW, &eve));
    CHECK(status_of("GET", "/api/v1/applications/db", &eve, NULL, NULL) == 200);
    /* disabled: no login, and its session and token stop working */
    {
        struct who tok = {0}, again;
        int status;
        tok.bearer = make_token(&admin, "eve", "{}", &status);
        CHECK(status == 200 && tok.bearer);
        CHECK_OK(store_account_set_enabled(st, "eve", 0));
        CHECK(status_of("GET", "/api/v1/applications/db", &eve, NULL, NULL) == 401);
        CHECK(status_of("GET", "/api/v1/applications/db", &tok, NULL, NULL) == 401);
        CHECK(!login("eve", PW, &again));
        CHECK_OK(store_account_set_enabled(st, "eve", 1));
        CHECK(status_of("GET", "/api/v1/applications/db", &eve, NULL, NULL) == 200);
        CHECK(status_of("GET", "/api/v1/applications/db", &tok, NULL, NULL) == 200);
        who_dispose(&tok);
    }
    CHECK(status_of("DELETE", "/api/v1/account/admin", &admin, WITH_CSRF, NULL) == 400);
    CHECK(status_of("DELETE", "/api/v1/account/eve", &admin, WITH_CSRF, NULL) == 200);
    CHECK(status_of("GET", "/api/v1/applications/db", &eve, NULL, NULL) == 401);
    CHECK(status_of("DELETE", "/api/v1/account/eve", &admin, WITH_CSRF, NULL) == 404);
    who_dispose(&admin);
    who_dispose(&eve);
}

TEST(no_secret_in_any_response)
{
    CHECK(all_responses.len > 10000);
    CHECK(strstr(all_responses.ptr, "pbkdf2") == NULL);
    CHECK(strstr(all_responses.ptr, NODE_TOKEN) == NULL);
}

int main(void)
{
    struct server_options o = {.listen = "127.0.0.1:0",
                               .api_token = NODE_TOKEN,
                               .threads = 2,
                               .clock = test_clock,
                               .throttle_entries = THROTTLE_ENTRIES};
    rbac *policy = NULL;
    char *db;

    signal(SIGPIPE, SIG_IGN);
    setenv(PASSWORD_TEST_ITERATIONS_ENV, "1000", 1);
    dir = test_tmpdir("server-auth");
    db = xasprintf("%s/state.db", dir);
    if (store_open(&st, db) < 0 ||
        rbac_new(&policy,
                 "p, role:team-a, applications, get, team-a/*, allow\n"
                 "p, role:team-a, applications, sync, team-a/*, allow\n"
                 "p, role:team-a, applications, create, team-a/*, allow\n"
                 "g, alice, role:team-a\n",
                 "policy.csv", NULL) < 0 ||
        store_app_put(st, "web",
                      "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"project\":"
                      "\"team-a\"}}") < 0 ||
        store_app_put(st, "db",
                      "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"project\":"
                      "\"team-b\"}}") < 0 ||
        store_appset_put(st, "front",
                         "{\"metadata\":{\"name\":\"front\"},\"spec\":{\"template\":{\"spec\":"
                         "{\"project\":\"team-b\"}}}}") < 0) {
        fprintf(stderr, "setup: %s\n", err_last());
        return 2;
    }
    add_account("admin", "role:admin");
    add_account("viewer", "role:readonly");
    add_account("alice", "");
    add_account("nobody", "");
    o.rbac = policy;
    if (server_start(&srv, &o, st) < 0) {
        fprintf(stderr, "server_start: %s\n", err_last());
        return 2;
    }
    port = server_port(srv);
    RUN(every_user_route_needs_credentials);
    RUN(login_sets_a_strict_cookie_and_userinfo);
    RUN(rbac_matrix);
    RUN(csrf_and_origin);
    RUN(throttle_grows_per_user_and_per_address);
    RUN(session_idle_and_absolute_expiry);
    RUN(logout_ends_the_session);
    RUN(password_change_ends_other_sessions);
    RUN(tokens_role_bound_revocable_expiring);
    RUN(accounts_create_and_delete);
    RUN(no_secret_in_any_response);
    server_stop(srv);
    rbac_free(policy);
    store_close(st);
    buf_dispose(&all_responses);
    free(db);
    free(dir);
    return TEST_END();
}
