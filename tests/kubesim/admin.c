/*
 * Admin answers are plain JSON documents, not Kubernetes objects: they are
 * read by test scripts (curl, python) rather than by client-go. Errors
 * still come as Status objects so a test sees one error shape everywhere.
 */
#include "admin.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "faults.h"
#include "handlers.h"
#include "objects.h"
#include "podlog.h"
#include "resources.h"
#include "status.h"
#include "watch.h"

static void admin_json(struct httpd_response *res, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    res->status = 200;
    res->content_type = "application/json";
    buf_puts(&res->body, text);
    buf_putc(&res->body, '\n');
    free(text);
    json_decref(doc);
}

/* The counters, with the number of watch streams open now. */
static json_t *admin_counters(void)
{
    json_t *c = faults_counters();
    json_object_set_new(c, "openWatches", json_integer(watch_open_count()));
    return c;
}

static json_t *admin_faults_doc(void)
{
    return json_pack("{s:o, s:o}", "settings", faults_settings(), "counters", admin_counters());
}

static void admin_faults(const struct httpd_request *req, struct httpd_response *res)
{
    json_t *body, *cut;
    json_error_t jerr;
    if (strcmp(req->method, "GET") == 0) {
        admin_json(res, admin_faults_doc());
        return;
    }
    if (strcmp(req->method, "DELETE") == 0) {
        faults_reset();
        admin_json(res, admin_faults_doc());
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        status_reply(res, 405, "MethodNotAllowed", NULL,
                     "%s: use GET, POST or DELETE on /kubesim/admin/faults", req->method);
        return;
    }
    body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!body) {
        status_reply(res, 400, "BadRequest", NULL, "faults: body is not JSON: %s", jerr.text);
        return;
    }
    cut = json_object_get(body, "cutWatches");
    if (cut && !json_is_boolean(cut)) {
        status_reply(res, 400, "BadRequest", NULL, "faults: cutWatches: want true or false");
        json_decref(body);
        return;
    }
    if (faults_update(body) < 0) {
        status_reply(res, 400, "BadRequest", NULL, "%s", err_last());
        json_decref(body);
        return;
    }
    if (json_is_true(cut)) {
        /* Outside the API lock: watch_cut_all takes only the history's. */
        faults_count_watch_cuts((unsigned)watch_open_count());
        watch_cut_all();
    }
    json_decref(body);
    admin_json(res, admin_faults_doc());
}

/* kind matches r's kind ("Deployment"), plural ("deployments") or
 * qualified plural ("deployments.apps"), in any case. */
static int admin_kind_matches(const char *kind, const struct resource *r)
{
    return strcasecmp(kind, r->kind) == 0 || strcasecmp(kind, r->plural) == 0 ||
           strcasecmp(kind, resources_qualified(r)) == 0;
}

static void admin_state(const struct httpd_request *req, struct httpd_response *res)
{
    char *kind = httpd_query_get(req, "kind");
    char *ns = httpd_query_get(req, "namespace");
    json_t *objs = json_array();
    struct objects_ref *refs = NULL;
    size_t n;
    char rv[32];
    if (strcmp(req->method, "GET") != 0) {
        status_reply(res, 405, "MethodNotAllowed", NULL, "%s: use GET on /kubesim/admin/state",
                     req->method);
        goto out;
    }
    handlers_lock_api();
    n = objects_all(&refs, ns && ns[0] ? ns : NULL);
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_rv());
    for (size_t i = 0; i < n; i++) {
        if (kind && kind[0] && !admin_kind_matches(kind, refs[i].r))
            continue;
        json_array_append_new(objs, json_deep_copy(json_object_get(refs[i].rec, "object")));
    }
    objects_refs_free(refs, n);
    handlers_unlock_api();
    admin_json(res, json_pack("{s:s, s:o, s:o}", "resourceVersion", rv, "objects", objs, "counters",
                              admin_counters()));
    objs = NULL;
out:
    json_decref(objs);
    free(kind);
    free(ns);
}

void admin_handle(const struct httpd_request *req, struct httpd_response *res)
{
    const char *sub = req->path + strlen(ADMIN_PREFIX);
    if (strcmp(sub, "faults") == 0)
        admin_faults(req, res);
    else if (strcmp(sub, "state") == 0)
        admin_state(req, res);
    else if (strcmp(sub, "podlog") == 0)
        podlog_admin(req, res);
    else
        status_reply(res, 404, "NotFound", NULL,
                     "%s: no such admin endpoint (faults, state, podlog)", req->path);
}
