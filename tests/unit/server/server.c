/*
 * Tests for appliance/server/server.c (and the application routes of
 * api_resources.c, against a second server with fake engine actions): a
 * real server on 127.0.0.1:0 over a store in the test folder, spoken to over plain TCP by a
 * deliberately dumb client (one request per connection, read to EOF), so what is checked is the
 * bytes a real client would see. Every response is also kept, so the last test can prove the token
 * never came back in any of them.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/util.h"
#include "storage/store.h"
#include "test.h"
#include "client.h"
#include "web/assets.h"

#define TOKEN "4f1c0ddc7a5e2b9d8e6f3a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"

static char *dir;
static store *st;
static server *srv;

/* A GET with an optional Authorization header value. */
static void http_get(const char *path, const char *auth, struct resp *out)
{
    char *req =
        xasprintf("GET %s HTTP/1.1\r\nHost: localhost\r\n%s%s%sConnection: close\r\n\r\n", path,
                  auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    http_raw(req, strlen(req), out);
    free(req);
}

static int resp_header_is(const struct resp *r, const char *name, const char *want)
{
    char *v = resp_header(r, name);
    int ok = v && strcmp(v, want) == 0;
    if (!ok)
        fprintf(stderr, "header %s is \"%s\", expected \"%s\"\n", name, v ? v : "(none)", want);
    free(v);
    return ok;
}

static int resp_header_absent(const struct resp *r, const char *name)
{
    char *v = resp_header(r, name);
    if (v)
        fprintf(stderr, "header %s is \"%s\", expected none\n", name, v);
    free(v);
    return v == NULL;
}

/* The security headers every answer carries, whatever its type. */
static int resp_secure_headers(const struct resp *r)
{
    return resp_header_is(r, "X-Content-Type-Options", "nosniff") &&
           resp_header_is(r, "Content-Security-Policy",
                          "default-src 'self'; script-src 'self'; object-src 'none'; "
                          "frame-ancestors 'none'; base-uri 'none'") &&
           resp_header_is(r, "Referrer-Policy", "no-referrer") &&
           resp_header_is(r, "X-Frame-Options", "DENY") &&
           /* plain HTTP here: HSTS belongs to HTTPS answers only */
           resp_header_absent(r, "Strict-Transport-Security");
}

/* An API answer: the security headers, JSON, never cached. */
static int resp_secure(const struct resp *r)
{
    return resp_secure_headers(r) && resp_header_is(r, "Cache-Control", "no-store") &&
           resp_header_is(r, "Content-Type", "application/json");
}

static json_t *resp_json(const struct resp *r)
{
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    if (!j)
        fprintf(stderr, "body is not JSON (%s): %s\n", e.text, r->body);
    return j;
}

/* The string at a dot-separated path of object keys and array indexes
 * ("status.resources.0.kind"), or NULL. */
static const char *jstr(const json_t *root, const char *path)
{
    const json_t *j = root;
    while (j && *path) {
        size_t n = strcspn(path, ".");
        char *key = xstrndup(path, n);
        if (json_is_array(j))
            j = json_array_get(j, strtoul(key, NULL, 10));
        else
            j = json_object_get(j, key);
        free(key);
        path += n;
        if (*path == '.')
            path++;
    }
    return json_string_value(j);
}

static void fill_store(void)
{
    /* Designated, so fields added to the store's structs start as NULL. */
    struct store_resource res[2] = {
        {.group = "apps",
         .version = "v1",
         .kind = "Deployment",
         .namespace_ = "guestbook",
         .name = "web",
         .status = "Synced",
         .message = ""},
        {.group = "",
         .version = "v1",
         .kind = "Namespace",
         .namespace_ = "",
         .name = "guestbook",
         .status = "Synced",
         .message = "created"},
    };
    struct store_resource bad[1] = {
        {.group = "",
         .version = "v1",
         .kind = "ConfigMap",
         .namespace_ = "shop",
         .name = "cfg",
         .status = "Failed",
         .message = "quota \xff\xfe exceeded"},
    };
    struct store_app_status s1 = {.name = "guestbook",
                                  .sync_status = "Synced",
                                  .revision = "0123456789abcdef0123456789abcdef01234567",
                                  .last_error = "",
                                  .synced_at = "2026-01-02T03:04:05Z",
                                  .resources = res,
                                  .n_resources = 2,
                                  .message = ""};
    struct store_app_status s2 = {.name = "shop",
                                  .sync_status = "Unknown",
                                  .revision = "",
                                  .last_error = "repo@main: fetch: connection refused",
                                  .synced_at = "",
                                  .resources = bad,
                                  .n_resources = 1,
                                  .message = "fetched from upstream https://a/x.git: mirror "
                                             "file:///m/x.git failed: repository not found"};

    if (store_app_put(st, "guestbook",
                      "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                      "\"metadata\":{\"name\":\"guestbook\",\"namespace\":\"argocd\"},"
                      "\"spec\":{\"project\":\"default\",\"source\":{\"repoURL\":"
                      "\"https://deploy:s3cr3t-pw@git.local/guestbook.git\",\"path\":\"app\"},"
                      "\"destination\":{\"namespace\":\"guestbook\"}}}") < 0 ||
        store_app_put(st, "shop",
                      "{\"metadata\":{\"name\":\"shop\"},\"spec\":{\"project\":\"x\"}}") < 0 ||
        store_app_put(st, "fresh", "{\"metadata\":{\"name\":\"fresh\"},\"spec\":{}}") < 0 ||
        store_app_status_put(st, &s1) < 0 || store_app_status_put(st, &s2) < 0) {
        fprintf(stderr, "filling the store: %s\n", err_last());
        exit(2);
    }
}

TEST(start_errors_and_version)
{
    struct server_options o = {.listen = "127.0.0.1:0"};
    server *s = NULL;
    char v[64];

    CHECK_ERR(server_start(&s, &o, st), ERR_INVALID);
    o.api_token = TOKEN;
    o.listen = "";
    CHECK_ERR(server_start(&s, &o, st), ERR_INVALID);
    /* The port our server already holds cannot be bound twice. */
    char *taken = xasprintf("127.0.0.1:%d", port);
    o.listen = taken;
    CHECK_ERR(server_start(&s, &o, st), ERR_IO);
    CHECK_CONTAINS(err_last(), taken);
    free(taken);
    CHECK(s == NULL);
    server_lib_version(v, sizeof(v));
    CHECK_STR(v, "CivetWeb 1.15");
}

TEST(healthz_without_token)
{
    struct resp r;
    json_t *j;

    http_get("/healthz", NULL, &r);
    CHECK(r.status == 200);
    CHECK(resp_secure(&r));
    j = resp_json(&r);
    CHECK(j != NULL);
    CHECK_STR(jstr(j, "status"), "ok");
    json_decref(j);
    resp_dispose(&r);
}

TEST(api_needs_the_token)
{
    static const char *const bad[] = {
        NULL,
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        /* Same length, last character differs. */
        "Bearer 4f1c0ddc7a5e2b9d8e6f3a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1e",
        /* A prefix, and the token with more after it. */
        "Bearer 4f1c0ddc7a5e2b9d8e6f3a1b0c9d8e7f",
        "Bearer " TOKEN "x",
        "Basic " TOKEN,
        TOKEN,
    };
    static const char *const paths[] = {"/api/v1/applications", "/api/v1/applications/guestbook",
                                        "/api/v1/nothing-here", "/api"};
    struct resp r;
    size_t i, k;
    json_t *j;

    for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            http_get(paths[k], bad[i], &r);
            if (r.status != 401)
                fprintf(stderr, "%s with \"%s\": %d\n", paths[k], bad[i] ? bad[i] : "", r.status);
            CHECK(r.status == 401);
            CHECK(resp_secure(&r));
            CHECK(resp_header_is(&r, "WWW-Authenticate", "Bearer realm=\"edgecd\""));
            j = resp_json(&r);
            CHECK(j != NULL);
            CHECK_STR(jstr(j, "error"), "unauthorized");
            CHECK(json_integer_value(json_object_get(j, "code")) == 401);
            json_decref(j);
            resp_dispose(&r);
        }
    }
    http_get("/api/v1/applications", "Bearer " TOKEN, &r);
    CHECK(r.status == 200);
    resp_dispose(&r);
    /* Scheme is case-insensitive (RFC 7235). */
    http_get("/api/v1/applications", "bearer " TOKEN, &r);
    CHECK(r.status == 200);
    resp_dispose(&r);
}

TEST(list_applications)
{
    struct resp r;
    json_t *j, *items, *app;
    const json_t *gb = NULL, *shop = NULL, *fresh = NULL;
    size_t i;

    http_get("/api/v1/applications", "Bearer " TOKEN, &r);
    CHECK(r.status == 200);
    CHECK(resp_secure(&r));
    j = resp_json(&r);
    CHECK(j != NULL);
    items = json_object_get(j, "items");
    CHECK(json_array_size(items) == 3);
    json_array_foreach(items, i, app)
    {
        const char *name = jstr(app, "metadata.name");
        if (name && !strcmp(name, "guestbook"))
            gb = app;
        else if (name && !strcmp(name, "shop"))
            shop = app;
        else if (name && !strcmp(name, "fresh"))
            fresh = app;
    }
    CHECK(gb && shop && fresh);
    CHECK_STR(jstr(gb, "metadata.namespace"), "argocd");
    CHECK_STR(jstr(gb, "spec.project"), "default");
    CHECK_STR(jstr(gb, "spec.source.path"), "app");
    CHECK_STR(jstr(gb, "status.sync.status"), "Synced");
    CHECK_STR(jstr(gb, "status.sync.revision"), "0123456789abcdef0123456789abcdef01234567");
    CHECK(json_array_size(json_object_get(json_object_get(gb, "status"), "resources")) == 2);
    CHECK_STR(jstr(gb, "status.resources.0.kind"), "Deployment");
    CHECK_STR(jstr(gb, "status.resources.0.group"), "apps");
    CHECK_STR(jstr(gb, "status.resources.0.namespace"), "guestbook");
    CHECK_STR(jstr(gb, "status.resources.0.name"), "web");
    CHECK_STR(jstr(gb, "status.resources.0.status"), "Synced");
    CHECK_STR(jstr(gb, "status.resources.1.kind"), "Namespace");
    CHECK_STR(jstr(gb, "status.resources.1.message"), "created");
    CHECK_STR(jstr(gb, "status.operationState.phase"), "Succeeded");
    CHECK_STR(jstr(gb, "status.operationState.message"), "successfully synced");
    CHECK_STR(jstr(gb, "status.operationState.finishedAt"), "2026-01-02T03:04:05Z");
    CHECK(json_object_get(json_object_get(gb, "status"), "conditions") == NULL);
    CHECK(jstr(gb, "status.reconciledAt") != NULL);

    CHECK_STR(jstr(shop, "status.sync.status"), "Unknown");
    CHECK_STR(jstr(shop, "status.operationState.phase"), "Error");
    CHECK_STR(jstr(shop, "status.operationState.message"), "repo@main: fetch: connection refused");
    CHECK_STR(jstr(shop, "status.conditions.0.type"), "ComparisonError");
    CHECK_CONTAINS(jstr(shop, "status.sourceMessage"), "fetched from upstream https://a/x.git");
    CHECK(jstr(gb, "status.sourceMessage") == NULL);
    CHECK_STR(jstr(shop, "status.conditions.0.message"), "repo@main: fetch: connection refused");
    /* Invalid UTF-8 from the cluster is replaced, not fatal. */
    CHECK_STR(jstr(shop, "status.resources.0.message"), "quota ?? exceeded");

    CHECK_STR(jstr(fresh, "status.sync.status"), "Unknown");
    CHECK_STR(jstr(fresh, "status.sync.revision"), "");
    CHECK(json_array_size(json_object_get(json_object_get(fresh, "status"), "resources")) == 0);
    CHECK(json_object_get(json_object_get(fresh, "status"), "operationState") == NULL);
    json_decref(j);
    resp_dispose(&r);
}

/* The list keeps its answers between requests (appcache.c): every write
 * to an app must show in the next list, whichever kind of write it is. */
TEST(list_follows_every_write)
{
    struct store_app_status s = {.name = "fresh",
                                 .sync_status = "OutOfSync",
                                 .revision = "fedcba9876543210fedcba9876543210fedcba98",
                                 .last_error = "",
                                 .synced_at = "",
                                 .message = ""};
    struct resp r;
    json_t *j;
    size_t i;
    const char *names[8];
    size_t n = 0;

    http_get("/api/v1/applications", "Bearer " TOKEN, &r); /* fills the cache */
    CHECK(r.status == 200);
    resp_dispose(&r);
    CHECK_OK(store_app_status_put(st, &s));
    CHECK_OK(store_app_put(st, "zeta", "{\"metadata\":{\"name\":\"zeta\"},\"spec\":{}}"));
    http_get("/api/v1/applications", "Bearer " TOKEN, &r);
    j = resp_json(&r);
    for (i = 0; i < json_array_size(json_object_get(j, "items")) && n < 8; i++)
        names[n++] = jstr(json_array_get(json_object_get(j, "items"), i), "metadata.name");
    CHECK(n == 4);
    CHECK_STR(names[0], "fresh"); /* sorted by name */
    CHECK_STR(names[3], "zeta");
    CHECK_STR(jstr(json_array_get(json_object_get(j, "items"), 0), "status.sync.status"),
              "OutOfSync");
    json_decref(j);
    resp_dispose(&r);

    CHECK_OK(store_app_delete(st, "zeta"));
    s.sync_status = "Unknown";
    s.revision = "";
    CHECK_OK(store_app_status_put(st, &s));
    http_get("/api/v1/applications", "Bearer " TOKEN, &r);
    j = resp_json(&r);
    CHECK(json_array_size(json_object_get(j, "items")) == 3);
    CHECK_STR(jstr(json_array_get(json_object_get(j, "items"), 0), "status.sync.status"),
              "Unknown");
    json_decref(j);
    resp_dispose(&r);
}

TEST(get_application_and_not_found)
{
    struct resp r;
    json_t *j;

    http_get("/api/v1/applications/guestbook", "Bearer " TOKEN, &r);
    CHECK(r.status == 200);
    CHECK(resp_secure(&r));
    j = resp_json(&r);
    CHECK_STR(jstr(j, "metadata.name"), "guestbook");
    CHECK_STR(jstr(j, "status.sync.revision"), "0123456789abcdef0123456789abcdef01234567");
    /* Credentials in the repository URL are not shown. */
    CHECK_STR(jstr(j, "spec.source.repoURL"), "https://***@git.local/guestbook.git");
    CHECK(strstr(r.raw, "s3cr3t") == NULL);
    json_decref(j);
    resp_dispose(&r);

    http_get("/api/v1/applications/nope", "Bearer " TOKEN, &r);
    CHECK(r.status == 404);
    CHECK(resp_secure(&r));
    j = resp_json(&r);
    CHECK_STR(jstr(j, "error"), "application \"nope\" not found");
    CHECK(json_integer_value(json_object_get(j, "code")) == 404);
    json_decref(j);
    resp_dispose(&r);

    /* A name cannot smuggle a second segment. */
    http_get("/api/v1/applications/guestbook/extra", "Bearer " TOKEN, &r);
    CHECK(r.status == 404);
    resp_dispose(&r);
}

TEST(unknown_route_and_wrong_method)
{
    struct resp r;
    json_t *j;
    const char *post = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                       "Connection: close\r\n\r\n{}";
    const char *put = "PATCH /api/v1/applications/guestbook HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer " TOKEN "\r\nConnection: close\r\n\r\n";
    const char *del = "DELETE /api/v1/applications/guestbook HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer " TOKEN "\r\nConnection: close\r\n\r\n";
    const char *delete_nowhere = "DELETE /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    http_raw(delete_nowhere, strlen(delete_nowhere), &r);
    CHECK(r.status == 404);
    CHECK(resp_secure(&r));
    j = resp_json(&r);
    CHECK(j && json_integer_value(json_object_get(j, "code")) == 404);
    json_decref(j);
    resp_dispose(&r);

    http_get("/api/v1/nowhere", "Bearer " TOKEN, &r);
    CHECK(r.status == 404);
    resp_dispose(&r);

    http_raw(post, strlen(post), &r);
    CHECK(r.status == 405);
    CHECK(resp_secure(&r));
    CHECK(resp_header_is(&r, "Allow", "GET"));
    resp_dispose(&r);

    http_raw(put, strlen(put), &r);
    CHECK(r.status == 405);
    CHECK(resp_header_is(&r, "Allow", "GET, DELETE, PUT"));
    resp_dispose(&r);

    /* a route whose action this server was not given */
    http_raw(del, strlen(del), &r);
    CHECK(r.status == 501);
    resp_dispose(&r);
}

TEST(body_over_limit_refused)
{
    struct resp r;
    struct buf req = BUF_INIT;
    char chunk[64 * 1024 + 32];
    int i;

    /* A declared length over 1 MiB is refused without being read. */
    buf_puts(&req, "POST /api/v1/applications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                   "\r\nContent-Length: 1048577\r\nConnection: close\r\n\r\n{\"a\":");
    http_raw(req.ptr, req.len, &r);
    CHECK(r.status == 413);
    CHECK(resp_secure(&r));
    CHECK(resp_header_is(&r, "Connection", "close"));
    resp_dispose(&r);

    /* Even without a token and on a route with no body. */
    buf_clear(&req);
    buf_puts(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    http_raw(req.ptr, req.len, &r);
    CHECK(r.status == 413);
    resp_dispose(&r);

    /* Exactly at the limit is fine (then 405: the route takes no POST). */
    buf_clear(&req);
    buf_puts(&req, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
                   "Connection: close\r\n\r\n");
    for (i = 0; i < 1048576; i++)
        buf_putc(&req, 'a');
    http_raw(req.ptr, req.len, &r);
    CHECK(r.status == 405);
    resp_dispose(&r);

    /* A chunked body is counted as it arrives. */
    buf_clear(&req);
    buf_puts(&req, "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n");
    memset(chunk, 'b', sizeof(chunk));
    for (i = 0; i < 17; i++) {
        buf_puts(&req, "10000\r\n");
        buf_put(&req, chunk, 0x10000);
        buf_puts(&req, "\r\n");
    }
    buf_puts(&req, "0\r\n\r\n");
    http_raw(req.ptr, req.len, &r);
    CHECK(r.status == 413);
    resp_dispose(&r);
    buf_dispose(&req);
}

TEST(oversized_header_refused)
{
    struct resp r;
    struct buf req = BUF_INIT;
    int i;

    buf_puts(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ");
    for (i = 0; i < 20000; i++)
        buf_putc(&req, 'f');
    buf_puts(&req, "\r\nConnection: close\r\n\r\n");
    http_raw(req.ptr, req.len, &r);
    CHECK(r.status != 200);
    /* CivetWeb 1.15 answers 400 (see server_on_http_error); whatever the
     * code, when there is an answer it is our JSON naming the limit. */
    if (r.status) {
        json_t *j = resp_json(&r);
        CHECK(r.status == 400 || r.status == 413 || r.status == 431);
        CHECK(resp_secure(&r));
        CHECK(j != NULL);
        CHECK_CONTAINS(jstr(j, "error"), "16384");
        json_decref(j);
    }
    resp_dispose(&r);
    buf_dispose(&req);

    /* The server is still serving afterwards. */
    http_get("/healthz", NULL, &r);
    CHECK(r.status == 200);
    resp_dispose(&r);
}

TEST(request_log_has_no_token)
{
    char *logpath = xasprintf("%s/log.txt", dir);
    struct buf log = BUF_INIT;
    struct resp r;
    int saved = dup(2), fd = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);

    CHECK(fd >= 0 && saved >= 0);
    log_set_level(LOG_DEBUG);
    dup2(fd, 2);
    http_get("/api/v1/applications", "Bearer " TOKEN, &r);
    resp_dispose(&r);
    http_get("/api/v1/applications/guestbook?token=" TOKEN, "Bearer wrong", &r);
    resp_dispose(&r);
    dup2(saved, 2);
    close(saved);
    close(fd);
    log_set_level(LOG_INFO);
    CHECK_OK(fs_read_file(logpath, 1 << 20, &log));
    CHECK_CONTAINS(log.ptr, "GET /api/v1/applications 200");
    CHECK_CONTAINS(log.ptr, "GET /api/v1/applications/guestbook 401");
    CHECK(strstr(log.ptr, TOKEN) == NULL);
    CHECK(strstr(log.ptr, "4f1c0ddc") == NULL);
    buf_dispose(&log);
    free(logpath);
}

/* ---- a second server with fake engine actions (api_resources.c) ---- */

static server *srv2;
static int port2;
static struct {
    char refreshed[64];
    int hard;
    int log_calls;
} fake;

static int fake_managed(void *ctx, const char *app, json_t **out)
{
    (void)ctx;
    *out = json_pack("{s:[{s:s, s:s, s:s}]}", "items", "kind", "Secret", "name", app, "liveState",
                     "{\"data\":{\"pw\":\"++++++++\"}}");
    return 0;
}

static int fake_tree(void *ctx, const char *app, json_t **out)
{
    (void)ctx;
    (void)app;
    *out = json_pack("{s:[{s:s, s:s}]}", "nodes", "kind", "Pod", "name", "web-1");
    return 0;
}

static int fake_resource(void *ctx, const char *app, const struct server_resource_ref *ref,
                         json_t **out)
{
    (void)ctx;
    (void)app;
    if (strcmp(ref->name, "web"))
        return err_set(ERR_NOTFOUND, "application guestbook has no resource %s %s", ref->kind,
                       ref->name);
    *out = json_pack("{s:s, s:{s:s, s:s}}", "kind", ref->kind, "metadata", "name", ref->name,
                     "namespace", ref->ns);
    return 0;
}

static int fake_events(void *ctx, const char *app, const struct server_resource_ref *ref,
                       json_t **out)
{
    (void)ctx;
    (void)app;
    *out = json_pack("{s:[{s:s, s:s}]}", "items", "reason", "Scheduled", "message", ref->name);
    return 0;
}

static int fake_logs(void *ctx, const char *app, const struct server_log_request *rq,
                     server_log_fn fn, void *fctx)
{
    (void)ctx;
    (void)app;
    fake.log_calls++;
    if (strcmp(rq->pod, "web-1"))
        return err_set(ERR_NOTFOUND, "application guestbook has no resource Pod %s", rq->pod);
    if (fn(fctx, "2026-01-02T03:04:05.000000001Z", "first \"line\"") < 0 ||
        fn(fctx, NULL, NULL) < 0 || fn(fctx, "2026-01-02T03:04:06Z", "second") < 0)
        return ERR_IO;
    return 0;
}

static int fake_secret_values(void *ctx, const char *app, json_t **out)
{
    (void)ctx;
    (void)app;
    *out = json_pack("[s, s]", "aHVudGVyMjI=", "hunter22");
    return 0;
}

static void fake_refresh_app(void *ctx, const char *app, int hard)
{
    (void)ctx;
    str_copy(fake.refreshed, app, sizeof(fake.refreshed));
    fake.hard = hard;
}

/* Stores the body as it is, or refuses as the engine would. */
static int fake_app_write(void *ctx, const json_t *body, enum server_app_write how,
                          const char *name, char **out_name)
{
    const char *n = json_string_value(json_object_get(json_object_get(body, "metadata"), "name"));
    char *text, *old = NULL;
    int exists, rc;
    (void)ctx;
    if (!n || (name && strcmp(n, name)))
        return err_set(ERR_INVALID, "metadata.name: missing or not the path's");
    if (!json_object_get(body, "spec"))
        return err_set(ERR_INVALID, "spec: missing");
    if (!strcmp(n, "owned"))
        return err_set(ERR_CONFLICT, "application owned is defined in the site config");
    exists = store_app_get(st, n, &old) == 0;
    free(old);
    err_clear();
    if (how == SERVER_APP_CREATE && exists)
        return err_set(ERR_CONFLICT, "application %s already exists", n);
    if (how == SERVER_APP_UPDATE && !exists)
        return err_set(ERR_NOTFOUND, "application \"%s\" not found", n);
    text = json_dumps(body, JSON_COMPACT);
    rc = store_app_put(st, n, text);
    free(text);
    if (rc == 0)
        *out_name = xstrdup(n);
    return rc;
}

static void http_send2(const char *method, const char *path, const char *body, struct resp *r)
{
    char *req = xasprintf("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                          "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          method, path, strlen(body ? body : ""), body ? body : "");
    int saved = port;
    port = port2;
    http_raw(req, strlen(req), r);
    port = saved;
    free(req);
}

/* A connection left open on the second server for a stream; -1 if it
 * could not connect. */
static int stream_open(const char *path)
{
    struct sockaddr_in sa;
    struct timeval tv = {1, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char *req =
        xasprintf("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN "\r\n\r\n", path);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port2);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
        close(fd);
        fd = -1;
    }
    free(req);
    return fd;
}

/* Read from fd into b until it holds needle or seconds pass: 1 if found. */
static int stream_wait_for(int fd, struct buf *b, const char *needle, int seconds)
{
    int64_t end = time_mono_ms() + seconds * 1000;
    char chunk[4096];
    while (!strstr(buf_cstr(b), needle) && time_mono_ms() < end) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n == 0)
            break;
        if (n > 0)
            buf_put(b, chunk, (size_t)n);
    }
    buf_puts(&all_responses, buf_cstr(b));
    if (!strstr(buf_cstr(b), needle))
        fprintf(stderr, "stream: no %s in:\n%s\n", needle, buf_cstr(b));
    return strstr(buf_cstr(b), needle) != NULL;
}

TEST(create_and_update_applications)
{
    const char *app = "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                      "\"metadata\":{\"name\":\"made\",\"labels\":{\"team\":\"a\"}},"
                      "\"spec\":{\"project\":\"x\"}}";
    struct resp r;
    json_t *j;

    http_send2("POST", "/api/v1/applications", app, &r);
    CHECK(r.status == 200);
    j = resp_json(&r);
    CHECK_STR(jstr(j, "metadata.name"), "made");
    CHECK_STR(jstr(j, "metadata.labels.team"), "a");
    json_decref(j);
    resp_dispose(&r);

    http_send2("POST", "/api/v1/applications", app, &r);
    CHECK(r.status == 409);
    j = resp_json(&r);
    CHECK_STR(jstr(j, "error"), "application made already exists");
    json_decref(j);
    resp_dispose(&r);

    http_send2("POST", "/api/v1/applications?upsert=true", app, &r);
    CHECK(r.status == 200);
    resp_dispose(&r);
    http_send2("POST", "/api/v1/applications?upsert=maybe", app, &r);
    CHECK(r.status == 400);
    resp_dispose(&r);

    http_send2("PUT", "/api/v1/applications/made", "{\"metadata\":{\"name\":\"made\"}}", &r);
    CHECK(r.status == 400);
    CHECK(strstr(r.body, "spec: missing") != NULL);
    resp_dispose(&r);
    http_send2("PUT", "/api/v1/applications/owned",
               "{\"metadata\":{\"name\":\"owned\"},\"spec\":{}}", &r);
    CHECK(r.status == 409);
    CHECK(strstr(r.body, "site config") != NULL);
    resp_dispose(&r);
    http_send2("PUT", "/api/v1/applications/ghost",
               "{\"metadata\":{\"name\":\"ghost\"},\"spec\":{}}", &r);
    CHECK(r.status == 404);
    resp_dispose(&r);
    http_send2("PUT", "/api/v1/applications/made", "[1]", &r);
    CHECK(r.status == 400);
    resp_dispose(&r);
}

TEST(list_filters)
{
    static const struct {
        const char *query, *names;
    } cases[] = {
        {"", "fresh guestbook made shop"},
        {"?projects=x", "made shop"},
        {"?projects=default&projects=nothing", "fresh guestbook"},
        {"?projects=default,x", "fresh guestbook made shop"},
        {"?search=GUEST", "guestbook"},
        {"?sync=Unknown", "fresh made shop"},
        {"?sync=Synced&health=Unknown", "guestbook"},
        {"?selector=team%3Da", "made"},
        {"?selector=team%3D%3Da,!other", "made"},
        {"?selector=team%21%3Da", "fresh guestbook shop"},
        {"?selector=team", "made"},
        {"?selector=!team", "fresh guestbook shop"},
        {"?selector=team%20in%20(b,a)", "made"},
        {"?selector=team%20notin%20(a)", "fresh guestbook shop"},
    };
    struct resp r;
    size_t i, k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = xasprintf("/api/v1/applications%s", cases[i].query);
        struct buf names = BUF_INIT;
        json_t *j, *a;
        http_send2("GET", path, NULL, &r);
        j = resp_json(&r);
        json_array_foreach(json_object_get(j, "items"), k, a)
            buf_printf(&names, "%s%s", k ? " " : "", jstr(a, "metadata.name"));
        if (strcmp(buf_cstr(&names), cases[i].names))
            fprintf(stderr, "%s: got \"%s\"\n", cases[i].query, buf_cstr(&names));
        CHECK(r.status == 200 && !strcmp(buf_cstr(&names), cases[i].names));
        json_decref(j);
        buf_dispose(&names);
        resp_dispose(&r);
        free(path);
    }
    http_send2("GET", "/api/v1/applications?selector=team%20in", NULL, &r);
    CHECK(r.status == 400);
    CHECK(strstr(r.body, "selector") != NULL);
    resp_dispose(&r);
}

TEST(refresh_normal_and_hard)
{
    struct resp r;
    http_send2("GET", "/api/v1/applications/guestbook?refresh=hard", NULL, &r);
    CHECK(r.status == 200);
    CHECK_STR(fake.refreshed, "guestbook");
    CHECK(fake.hard == 1);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/shop?refresh=normal", NULL, &r);
    CHECK(r.status == 200);
    CHECK_STR(fake.refreshed, "shop");
    CHECK(fake.hard == 0);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/fresh?refresh=now", NULL, &r);
    CHECK(r.status == 400);
    CHECK_STR(fake.refreshed, "shop");
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/nope?refresh=hard", NULL, &r);
    CHECK(r.status == 404);
    CHECK_STR(fake.refreshed, "shop");
    resp_dispose(&r);
}

TEST(resources_tree_and_events)
{
    struct resp r;
    json_t *j;

    http_send2("GET", "/api/v1/applications/guestbook/managed-resources", NULL, &r);
    CHECK(r.status == 200);
    j = resp_json(&r);
    CHECK_STR(jstr(j, "items.0.name"), "guestbook");
    json_decref(j);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/nope/managed-resources", NULL, &r);
    CHECK(r.status == 404);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/guestbook/resource-tree", NULL, &r);
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "\"web-1\"") != NULL);
    resp_dispose(&r);

    http_send2("GET",
               "/api/v1/applications/guestbook/resource?namespace=guestbook&resourceName=web"
               "&kind=Deployment&group=apps&version=v1",
               NULL, &r);
    CHECK(r.status == 200);
    j = resp_json(&r);
    CHECK_STR(
        jstr(j, "manifest"),
        "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"guestbook\"}}");
    json_decref(j);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/guestbook/resource?resourceName=db&kind=Secret", NULL,
               &r);
    CHECK(r.status == 404);
    CHECK(strstr(r.body, "has no resource Secret db") != NULL);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/guestbook/resource?kind=Secret", NULL, &r);
    CHECK(r.status == 400);
    resp_dispose(&r);

    http_send2("GET", "/api/v1/applications/guestbook/events?resourceName=web&resourceUID=u1", NULL,
               &r);
    CHECK(r.status == 200);
    j = resp_json(&r);
    CHECK_STR(jstr(j, "items.0.reason"), "Scheduled");
    json_decref(j);
    resp_dispose(&r);
    /* without a resource: the app's own events from the store, with the
     * app's Secret values scrubbed from their messages */
    CHECK_OK(store_event_add(st, "guestbook", "Warning", "SyncFailed",
                             "Secret db: invalid value hunter22 (aHVudGVyMjI=)", 0));
    http_send2("GET", "/api/v1/applications/guestbook/events", NULL, &r);
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "Scheduled") == NULL);
    CHECK(strstr(r.body, "Secret db: invalid value ++++++++ (++++++++)") != NULL);
    CHECK(strstr(r.body, "hunter22") == NULL && strstr(r.body, "aHVudGVyMjI=") == NULL);
    resp_dispose(&r);
}

TEST(pod_logs_as_lines)
{
    struct resp r;
    const char *nl;
    json_t *j;

    http_send2("GET", "/api/v1/applications/guestbook/logs?namespace=guestbook&podName=web-1", NULL,
               &r);
    CHECK(r.status == 200);
    CHECK(resp_secure(&r));
    CHECK(resp_header_is(&r, "Transfer-Encoding", "chunked"));
    /* the first chunk: its size line, then one JSON line */
    nl = strstr(r.body, "\r\n");
    CHECK(nl != NULL);
    j = json_loadb(nl + 2, strcspn(nl + 2, "\n"), 0, NULL);
    CHECK_STR(jstr(j, "result.content"), "first \"line\"");
    CHECK_STR(jstr(j, "result.timeStamp"), "2026-01-02T03:04:05.000000001Z");
    CHECK_STR(jstr(j, "result.podName"), "web-1");
    json_decref(j);
    CHECK(strstr(r.body, "\"content\":\"second\"") != NULL);
    CHECK(strstr(r.body, "\r\n0\r\n\r\n") != NULL);
    resp_dispose(&r);

    http_send2("GET", "/api/v1/applications/guestbook/logs?namespace=guestbook&podName=db-0", NULL,
               &r);
    CHECK(r.status == 404);
    CHECK(strstr(r.body, "has no resource Pod db-0") != NULL);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/guestbook/logs?podName=web-1", NULL, &r);
    CHECK(r.status == 400);
    resp_dispose(&r);
    http_send2("GET", "/api/v1/applications/guestbook/logs?namespace=g&podName=web-1&tailLines=-5",
               NULL, &r);
    CHECK(r.status == 400);
    resp_dispose(&r);
}

TEST(event_stream_sends_changes_and_is_bounded)
{
    struct buf b = BUF_INIT;
    struct resp r;
    int fd = stream_open("/api/v1/stream/applications");
    int64_t t0;

    CHECK(fd >= 0);
    CHECK(stream_wait_for(fd, &b, "\"name\":\"shop\"", 5));
    CHECK(strstr(buf_cstr(&b), "Content-Type: text/event-stream") != NULL);
    CHECK(strstr(buf_cstr(&b), "data: {\"result\":{\"type\":\"ADDED\",\"application\":") != NULL);
    /* a change in the store arrives within about a second */
    buf_clear(&b);
    CHECK_OK(store_app_put(st, "fresh",
                           "{\"metadata\":{\"name\":\"fresh\"},\"spec\":{\"project\":\"x\"}}"));
    CHECK(stream_wait_for(fd, &b,
                          "\"type\":\"MODIFIED\",\"application\":{\"metadata\":{\"name\":"
                          "\"fresh\"}",
                          5));
    buf_clear(&b);
    CHECK_OK(store_app_delete(st, "made"));
    CHECK(stream_wait_for(fd, &b,
                          "\"type\":\"DELETED\",\"application\":{\"metadata\":{\"name\":"
                          "\"made\"}",
                          5));
    /* an unchanged write sends nothing */
    buf_clear(&b);
    CHECK_OK(store_app_put(st, "fresh",
                           "{\"metadata\":{\"name\":\"fresh\"},\"spec\":{\"project\":\"x\"}}"));
    CHECK(!stream_wait_for(fd, &b, "data:", 2));

    /* two threads: one stream at most; the next is refused */
    http_send2("GET", "/api/v1/stream/applications", NULL, &r);
    CHECK(r.status == 503);
    CHECK(resp_header_is(&r, "Retry-After", "5"));
    resp_dispose(&r);
    /* logs need no slot unless followed */
    http_send2("GET", "/api/v1/applications/guestbook/logs?namespace=g&podName=web-1&follow=true",
               NULL, &r);
    CHECK(r.status == 503);
    resp_dispose(&r);

    /* stopping the server ends the open stream within about a second */
    t0 = time_mono_ms();
    server_stop(srv2);
    srv2 = NULL;
    CHECK(time_mono_ms() - t0 < 3000);
    close(fd);
    buf_dispose(&b);
}

TEST(token_never_in_any_response)
{
    CHECK(all_responses.len > 10000);
    CHECK(strstr(all_responses.ptr, TOKEN) == NULL);
    CHECK(strstr(all_responses.ptr, "4f1c0ddc") == NULL);
    CHECK(strstr(all_responses.ptr, "s3cr3t") == NULL);
}

/* A GET with extra header lines (each ending in CRLF). */
static void http_get_with(const char *path, const char *headers, struct resp *out)
{
    char *req = xasprintf("GET %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n", path,
                          headers);
    http_raw(req, strlen(req), out);
    free(req);
}

static const struct web_asset *asset_named(const char *name)
{
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

TEST(web_ui_page_without_credentials)
{
    static const char *const pages[] = {"/", "/index.html", "/applications/guestbook",
                                        "/settings/repositories", "/nowhere"};
    const struct web_asset *index = asset_named("index.html");
    struct resp r;
    size_t i;

    CHECK(index != NULL);
    for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        http_get(pages[i], NULL, &r);
        if (r.status != 200)
            fprintf(stderr, "%s: %d\n", pages[i], r.status);
        CHECK(r.status == 200);
        CHECK(resp_secure_headers(&r));
        CHECK(resp_header_is(&r, "Content-Type", "text/html; charset=utf-8"));
        CHECK(resp_header_is(&r, "Cache-Control", "no-cache"));
        CHECK(resp_header_is(&r, "ETag", index->etag));
        CHECK(resp_header_absent(&r, "Content-Encoding"));
        CHECK(strlen(r.body) == index->len && memcmp(r.body, index->data, index->len) == 0);
        /* the page loads its script from the appliance, as a module */
        CHECK_CONTAINS(r.body, "<script type=\"module\" src=\"/assets/main.js\"></script>");
        resp_dispose(&r);
    }
}

TEST(web_ui_assets_gzip_and_etag)
{
    const struct web_asset *js = asset_named("main.js");
    struct resp r;
    char *etag = NULL, *hdr;

    CHECK(js != NULL && js->gz_len > 18 && js->gz_len < js->len);
    /* gzip when accepted: the stored member, byte for byte */
    http_get_with("/assets/main.js", "Accept-Encoding: gzip, deflate, br\r\n", &r);
    CHECK(r.status == 200);
    CHECK(resp_secure_headers(&r));
    CHECK(resp_header_is(&r, "Content-Type", "text/javascript; charset=utf-8"));
    CHECK(resp_header_is(&r, "Content-Encoding", "gzip"));
    CHECK(resp_header_is(&r, "Vary", "Accept-Encoding"));
    CHECK(resp_header_is(&r, "Cache-Control", "no-cache"));
    CHECK((size_t)(r.raw + r.len - r.body) == js->gz_len);
    CHECK(memcmp(r.body, js->gz, js->gz_len) == 0);
    etag = resp_header(&r, "ETag");
    CHECK(etag && strstr(etag, "-gz\""));
    resp_dispose(&r);

    /* revalidation: 304 without a body, for either encoding's tag */
    hdr = xasprintf("Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", etag ? etag : "x");
    http_get_with("/assets/main.js", hdr, &r);
    free(hdr);
    CHECK(r.status == 304);
    CHECK(resp_secure_headers(&r));
    CHECK(resp_header_is(&r, "ETag", etag));
    CHECK(r.body[0] == '\0');
    resp_dispose(&r);
    hdr = xasprintf("If-None-Match: \"other\", %s\r\n", js->etag);
    http_get_with("/assets/main.js", hdr, &r);
    free(hdr);
    CHECK(r.status == 304);
    CHECK(resp_header_is(&r, "ETag", js->etag));
    resp_dispose(&r);

    /* a stale tag, or gzip refused with q=0: the plain file */
    http_get_with("/assets/main.js",
                  "If-None-Match: \"0123456789abcdef0123\"\r\n"
                  "Accept-Encoding: gzip;q=0, identity\r\n",
                  &r);
    CHECK(r.status == 200);
    CHECK(resp_header_absent(&r, "Content-Encoding"));
    CHECK(resp_header_is(&r, "ETag", js->etag));
    CHECK(strlen(r.body) == js->len && memcmp(r.body, js->data, js->len) == 0);
    resp_dispose(&r);
    free(etag);

    http_get("/assets/app.css", NULL, &r);
    CHECK(r.status == 200);
    CHECK(resp_header_is(&r, "Content-Type", "text/css; charset=utf-8"));
    resp_dispose(&r);
}

TEST(web_ui_head_has_headers_only)
{
    const char *head = "HEAD /assets/app.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const struct web_asset *css = asset_named("app.css");
    struct resp r;
    char *len;

    CHECK(css != NULL);
    http_raw(head, strlen(head), &r);
    CHECK(r.status == 200);
    CHECK(resp_secure_headers(&r));
    CHECK(resp_header_is(&r, "ETag", css->etag));
    len = resp_header(&r, "Content-Length");
    CHECK(len && strtoull(len, NULL, 10) == css->len);
    free(len);
    CHECK(r.body[0] == '\0');
    resp_dispose(&r);
}

TEST(web_ui_missing_asset_and_api_stay_closed)
{
    struct resp r;
    /* a missing file is a 404, never the page in its place */
    http_get("/assets/nothing.js", NULL, &r);
    CHECK(r.status == 404);
    CHECK(resp_secure(&r));
    resp_dispose(&r);
    /* the page fallback never opens /api */
    http_get("/api/v1/nowhere", NULL, &r);
    CHECK(r.status == 401);
    resp_dispose(&r);
    /* size budget (item 8): every file compressed, under 200 KB in all */
    CHECK(web_assets_gzip_total > 1000 && web_assets_gzip_total < 200 * 1024);
}

int main(void)
{
    struct server_options o = {.listen = "127.0.0.1:0", .api_token = TOKEN, .threads = 2};
    char *db;

    signal(SIGPIPE, SIG_IGN);
    dir = test_tmpdir("server");
    db = xasprintf("%s/state.db", dir);
    if (store_open(&st, db) < 0) {
        fprintf(stderr, "store_open: %s\n", err_last());
        return 2;
    }
    fill_store();
    if (server_start(&srv, &o, st) < 0) {
        fprintf(stderr, "server_start: %s\n", err_last());
        return 2;
    }
    port = server_port(srv);
    if (port <= 0) {
        fprintf(stderr, "no port\n");
        return 2;
    }
    RUN(start_errors_and_version);
    RUN(healthz_without_token);
    RUN(api_needs_the_token);
    RUN(list_applications);
    RUN(list_follows_every_write);
    RUN(get_application_and_not_found);
    RUN(unknown_route_and_wrong_method);
    RUN(body_over_limit_refused);
    RUN(oversized_header_refused);
    RUN(request_log_has_no_token);
    RUN(web_ui_page_without_credentials);
    RUN(web_ui_assets_gzip_and_etag);
    RUN(web_ui_head_has_headers_only);
    RUN(web_ui_missing_asset_and_api_stay_closed);
    {
        struct server_options o2 = o;
        o2.actions.managed_resources = fake_managed;
        o2.actions.resource_tree = fake_tree;
        o2.actions.resource = fake_resource;
        o2.actions.resource_events = fake_events;
        o2.actions.pod_logs = fake_logs;
        o2.actions.refresh_app = fake_refresh_app;
        o2.actions.app_write = fake_app_write;
        o2.actions.secret_values = fake_secret_values;
        if (server_start(&srv2, &o2, st) < 0) {
            fprintf(stderr, "server_start: %s\n", err_last());
            return 2;
        }
        port2 = server_port(srv2);
        RUN(create_and_update_applications);
        RUN(list_filters);
        RUN(refresh_normal_and_hard);
        RUN(resources_tree_and_events);
        RUN(pod_logs_as_lines);
        RUN(event_stream_sends_changes_and_is_bounded);
        server_stop(srv2);
    }
    RUN(token_never_in_any_response);
    server_stop(srv);
    store_close(st);
    buf_dispose(&all_responses);
    free(db);
    free(dir);
    return TEST_END();
}
