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
#include "status.h"
#if defined(__has_include)
#if __has_include("watch.h")
#include "watch.h"
#define ADMIN_HAVE_WATCH 1
#endif
#endif

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

static json_t *admin_faults_doc(void)
{
    return json_pack("{s:o, s:o}", "settings", faults_settings(), "counters", faults_counters());
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
#ifndef ADMIN_HAVE_WATCH
    if (json_is_true(cut)) {
        status_reply(res, 501, "NotImplemented", NULL,
                     "cutWatches: not supported until watch streams exist");
        json_decref(body);
        return;
    }
#endif
    if (faults_update(body) < 0) {
        status_reply(res, 400, "BadRequest", NULL, "%s", err_last());
        json_decref(body);
        return;
    }
#ifdef ADMIN_HAVE_WATCH
    if (json_is_true(cut)) {
        watch_cut_all();
        faults_count_watch_cuts(1);
    }
#endif
    json_decref(body);
    admin_json(res, admin_faults_doc());
}

/* kind matches the object's kind ("Deployment"), the plural
 * ("deployments") or the qualified plural ("deployments.apps"), in any
 * case. resource is "group/plural". */
static int admin_kind_matches(const char *kind, const char *resource, const json_t *obj)
{
    const char *slash = strchr(resource, '/');
    const char *plural = slash ? slash + 1 : resource;
    const char *okind = json_string_value(json_object_get(obj, "kind"));
    size_t glen = slash ? (size_t)(slash - resource) : 0;
    size_t plen = strlen(plural);
    if (okind && strcasecmp(kind, okind) == 0)
        return 1;
    if (strcasecmp(kind, plural) == 0)
        return 1;
    return glen > 0 && strlen(kind) == plen + 1 + glen && strncasecmp(kind, plural, plen) == 0 &&
           kind[plen] == '.' && strncasecmp(kind + plen + 1, resource, glen) == 0;
}

static void admin_state(const struct httpd_request *req, struct httpd_response *res)
{
    char *kind = httpd_query_get(req, "kind");
    char *ns = httpd_query_get(req, "namespace");
    json_t *objs = json_array(), *all;
    char rv[32];
    size_t i;
    json_t *e;
    if (strcmp(req->method, "GET") != 0) {
        status_reply(res, 405, "MethodNotAllowed", NULL, "%s: use GET on /kubesim/admin/state",
                     req->method);
        goto out;
    }
    handlers_lock_api();
    all = objects_list_all();
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_rv());
    json_array_foreach(all, i, e)
    {
        const json_t *obj = json_object_get(json_object_get(e, "record"), "object");
        const char *ons =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
        if (kind && kind[0] &&
            !admin_kind_matches(kind, json_string_value(json_object_get(e, "resource")), obj))
            continue;
        if (ns && ns[0] && (!ons || strcmp(ons, ns) != 0))
            continue;
        json_array_append_new(objs, json_deep_copy(obj));
    }
    json_decref(all);
    handlers_unlock_api();
    admin_json(res, json_pack("{s:s, s:o, s:o}", "resourceVersion", rv, "objects", objs, "counters",
                              faults_counters()));
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
    else
        status_reply(res, 404, "NotFound", NULL, "%s: no such admin endpoint (faults, state)",
                     req->path);
}
