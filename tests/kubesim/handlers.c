/*
 * Routing is a small table of fixed paths (discovery, OpenAPI, health)
 * followed by the resource URL grammar:
 *   /api/v1/<plural>[/<name>[/status]]
 *   /api/v1/namespaces/<ns>/<plural>[/<name>[/status]]
 *   /api/v1/namespaces/<ns>/pods/<name>/log (podlog.h)
 *   /apis/<group>/<version>/... (the same below)
 */
#include "handlers.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "admin.h"
#include "core/util.h"
#include "faults.h"
#include "objects.h"
#include "openapi2.h"
#include "podlog.h"
#include "resources.h"
#include "status.h"
#include "verbs.h"
#include "watch.h"

static pthread_mutex_t handlers_lock = PTHREAD_MUTEX_INITIALIZER;
static char *handlers_token;

void handlers_init(const char *token)
{
    handlers_token = xstrdup(token);
    resources_init();
    objects_init();
    verbs_bootstrap_namespace("default");
    verbs_bootstrap_namespace("kube-system");
    verbs_bootstrap_namespace("kube-public");
    verbs_bootstrap_namespace("kube-node-lease");
}

void handlers_dispose(void)
{
    objects_dispose();
    resources_dispose();
    podlog_dispose();
    free(handlers_token);
    handlers_token = NULL;
}

void handlers_lock_api(void)
{
    pthread_mutex_lock(&handlers_lock);
}

void handlers_unlock_api(void)
{
    pthread_mutex_unlock(&handlers_lock);
}

static int handlers_authenticated(const struct httpd_request *req)
{
    const char *a = req->authorization;
    size_t tlen = strlen(handlers_token);
    if (req->client_cert)
        return 1;
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return 0;
    a += 7;
    return strlen(a) == tlen && util_const_eq(a, handlers_token, tlen);
}

static void handlers_json(struct httpd_response *res, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    res->status = 200;
    res->content_type = "application/json";
    buf_puts(&res->body, text);
    buf_putc(&res->body, '\n');
    free(text);
    json_decref(doc);
}

static void handlers_text(struct httpd_response *res, int status, const char *text)
{
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    buf_puts(&res->body, text);
}

/* Only the protobuf form of OpenAPI v2 is served: it is what the kubectl
 * versions that still read v2 ask for. */
static void handlers_openapi2(const struct httpd_request *req, struct httpd_response *res)
{
    if (!req->accept || !strstr(req->accept, "protobuf")) {
        handlers_text(res, 406,
                      "kubesim serves /openapi/v2 only as " OPENAPI2_ACCEPT
                      "; use /openapi/v3 for JSON\n");
        return;
    }
    res->status = 200;
    res->content_type = "application/octet-stream";
    openapi2_document(&res->body);
}

static void handlers_version(struct httpd_response *res)
{
    handlers_json(res, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1",
                                 "minor", "35", "emulationMajor", "1", "emulationMinor", "35",
                                 "gitVersion", "v1.35.0-kubesim", "gitCommit", "kubesim",
                                 "gitTreeState", "clean", "goVersion", "c11", "compiler", "gcc",
                                 "platform", "linux/amd64"));
}

static void handlers_not_found(struct httpd_response *res)
{
    status_reply(res, 404, "NotFound", json_object(),
                 "the server could not find the requested resource");
}

/* Split path into at most max segments (no empty ones); returns count.
 * The segments are slices of the copy in *storage (freed by caller). */
static size_t handlers_split(const char *path, char **storage, char **seg, size_t max)
{
    char *p, *save = NULL, *s;
    size_t n = 0;
    *storage = p = xstrdup(path);
    for (s = strtok_r(p, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return max + 1;
        seg[n++] = s;
    }
    return n;
}

static void handlers_resource(const struct httpd_request *req, struct httpd_response *res,
                              const char *group, const char *version, char **rest, size_t n)
{
    struct verbs_call c = {req, res, NULL, NULL, NULL, NULL};
    const char *m = req->method;
    const struct resource *nr = NULL;

    if (n >= 3 && strcmp(rest[0], "namespaces") == 0 &&
        (nr = resources_find(group, version, rest[2])) != NULL && nr->namespaced) {
        c.r = nr;
        c.ns = rest[1];
        rest += 3;
        n -= 3;
    } else if (n >= 1) {
        c.r = resources_find(group, version, rest[0]);
        rest += 1;
        n -= 1;
    }
    if (c.r && n == 2 && c.ns && !strcmp(rest[1], "log") && !strcmp(c.r->plural, "pods") &&
        !c.r->group[0]) {
        c.name = rest[0];
        podlog_serve(&c);
        return;
    }
    if (!c.r || n > 2 || (n == 2 && strcmp(rest[1], "status") != 0)) {
        handlers_not_found(res);
        return;
    }
    if (n >= 1)
        c.name = rest[0];
    if (n == 2)
        c.sub = rest[1];
    if (c.r->namespaced && c.name && !c.ns) {
        /* A namespaced object needs its namespace in the URL. */
        handlers_not_found(res);
        return;
    }
    if (strcmp(m, "GET") == 0 && !c.sub) {
        char *w = httpd_query_get(req, "watch");
        int watch = w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
        free(w);
        if (watch) {
            watch_serve(&c);
            return;
        }
    }
    if (!c.name) {
        if (strcmp(m, "GET") == 0) {
            verbs_list(&c);
        } else if (strcmp(m, "POST") == 0) {
            if (c.r->namespaced && !c.ns)
                handlers_not_found(res);
            else
                verbs_create(&c);
        } else if (strcmp(m, "DELETE") == 0) {
            verbs_delete_collection(&c);
        } else {
            status_reply(res, 405, "MethodNotAllowed", json_object(),
                         "the server does not allow this method on the requested resource");
        }
        return;
    }
    if (strcmp(m, "GET") == 0)
        verbs_get(&c);
    else if (strcmp(m, "PUT") == 0)
        verbs_update(&c);
    else if (strcmp(m, "PATCH") == 0)
        verbs_patch(&c);
    else if (strcmp(m, "DELETE") == 0 && !c.sub)
        verbs_delete(&c);
    else
        status_reply(res, 405, "MethodNotAllowed", json_object(),
                     "the server does not allow this method on the requested resource");
}

static void handlers_route(const struct httpd_request *req, struct httpd_response *res)
{
    char *storage = NULL;
    char *seg[16];
    size_t n = handlers_split(req->path, &storage, seg, 15);
    json_t *doc;

    if (n >= 1 && strcmp(seg[0], "api") == 0) {
        if (n == 1)
            handlers_json(res, resources_api_versions());
        else if (n == 2 && (doc = resources_resource_list("", seg[1])) != NULL)
            handlers_json(res, doc);
        else if (n > 2 && n <= 7 && resources_served("", seg[1]))
            handlers_resource(req, res, "", seg[1], seg + 2, n - 2);
        else
            handlers_not_found(res);
    } else if (n >= 1 && strcmp(seg[0], "apis") == 0) {
        if (n == 1)
            handlers_json(res, resources_group_list());
        else if (n == 3 && (doc = resources_resource_list(seg[1], seg[2])) != NULL)
            handlers_json(res, doc);
        else if (n > 3 && n <= 8)
            handlers_resource(req, res, seg[1], seg[2], seg + 3, n - 3);
        else
            handlers_not_found(res);
    } else if (n == 2 && strcmp(seg[0], "openapi") == 0 && strcmp(seg[1], "v2") == 0) {
        handlers_openapi2(req, res);
    } else if (n >= 2 && strcmp(seg[0], "openapi") == 0 && strcmp(seg[1], "v3") == 0) {
        if (n == 2) {
            handlers_json(res, resources_openapi_index());
        } else {
            char *gv = xstrdup(req->path + strlen("/openapi/v3/"));
            if ((doc = resources_openapi_gv(gv)) != NULL)
                handlers_json(res, doc);
            else
                handlers_not_found(res);
            free(gv);
        }
    } else if (n == 1 && strcmp(seg[0], "version") == 0) {
        handlers_version(res);
    } else {
        handlers_text(res, 404, "404 page not found\n");
    }
    free(storage);
}

void handlers_handle(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
    (void)ctx;
    if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/livez") == 0 ||
        strcmp(req->path, "/readyz") == 0) {
        handlers_text(res, 200, "ok");
        return;
    }
    if (!handlers_authenticated(req)) {
        status_reply(res, 401, "Unauthorized", NULL, "Unauthorized");
        return;
    }
    if (strncmp(req->path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) == 0) {
        admin_handle(req, res);
        return;
    }
    if (faults_apply(req, res))
        return;
    pthread_mutex_lock(&handlers_lock);
    handlers_route(req, res);
    pthread_mutex_unlock(&handlers_lock);
}
