/*
 * What the API shows of an application's resources: managed resources
 * with their desired and live state and diff, the resource tree, one live
 * object, its Kubernetes events and pod logs. HTTP worker threads call
 * these while the run loop reconciles, so they only read what the run
 * loop shares under e->mu (the desired objects of the last compare), the
 * store and the clusters (watch cache first, then the API server).
 *
 * Children of managed resources (a Deployment's ReplicaSets and their
 * Pods) carry no app label, so the watch cache does not hold them: the
 * tree lists the few child kinds in the namespaces the app manages each
 * time it is asked for (the UI asks while the view is open), bounded per
 * kind and namespace, and links them by ownerReferences. Nothing about
 * children is kept between requests, so memory still grows only with what
 * edgecd manages.
 *
 * Every object leaves here with Secret values masked (doc_mask_secrets);
 * the API layer never sees a Secret's data.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "engine/internal.h"
#include "kube/http.h"

/* The kinds a managed resource's live children come in, parents before
 * children, so one walk in this order links a whole chain. */
static const struct {
    const char *api_version, *kind;
} view_child_kinds[] = {
    {"apps/v1", "ReplicaSet"},
    {"batch/v1", "Job"},
    {"v1", "Pod"},
};

/* A log line's bytes at most; longer lines are cut there. */
#define VIEW_LOG_LINE_MAX 16384

int engine_view_open(engine *e, const char *app_name, struct engine_view *v)
{
    char *text = NULL;
    const json_t *pair;
    size_t i;
    int rc;

    memset(v, 0, sizeof(*v));
    doc_ignore_new(&v->ig);
    pthread_mutex_lock(&e->mu);
    text = xstrdup(json_string_value(json_object_get(e->desired, app_name)));
    pthread_mutex_unlock(&e->mu);
    if (text && doc_parse_json(&v->targets, text, strlen(text), "desired", NULL) < 0)
        err_clear();
    free(text);
    text = NULL;
    if ((rc = store_app_get(e->st, app_name, &text)) < 0 ||
        (rc = doc_parse_json(&v->manifest, text, strlen(text), app_name, NULL)) < 0 ||
        (rc = app_parse(&v->app, v->manifest, app_name)) < 0 ||
        (rc = engine_cluster_client(e, &v->app, &v->cluster)) < 0)
        goto fail;
    v->kc = v->cluster->kc;
    v->cache = v->cluster->cache;
    rc = store_app_status_get(e->st, app_name, &v->st);
    if (rc < 0 && rc != ERR_NOTFOUND)
        goto fail;
    v->have_status = rc == 0;
    err_clear();
    /* Rules that do not parse fail the app's pass, which says so; the
     * views show what the others leave. */
    json_array_foreach(e->global_ignore, i, pair)
    {
        if (doc_ignore_add_setting(v->ig, json_string_value(json_array_get(pair, 0)),
                                   json_array_get(pair, 1)) < 0)
            err_clear();
    }
    if (doc_ignore_add_app(v->ig, doc_get(v->manifest, "spec.ignoreDifferences"),
                           "spec.ignoreDifferences") < 0)
        err_clear();
    free(text);
    return 0;
fail:
    free(text);
    engine_view_dispose(v);
    return rc;
}

void engine_view_dispose(struct engine_view *v)
{
    doc_ignore_free(v->ig);
    app_dispose(&v->app);
    json_decref(v->manifest);
    json_decref(v->targets);
    store_app_status_dispose(&v->st);
    engine_cluster_release(v->cluster);
    memset(v, 0, sizeof(*v));
}

json_t *engine_view_live(struct engine_view *v, const char *api_version, const char *kind,
                         const char *ns, const char *name)
{
    json_t *live = NULL;
    if (!api_version || !kind || !name)
        return NULL;
    if (kube_cache_get(v->cache, api_version, kind, ns, name, &live, NULL) == 0)
        return live;
    err_clear();
    if (kube_client_get(v->kc, api_version, kind, ns, name, &live) < 0) {
        err_clear();
        return NULL;
    }
    json_object_del(json_object_get(live, "metadata"), "managedFields");
    return live;
}

/* "apps" + "v1" -> "apps/v1"; "" + "v1" -> "v1" (new string). */
static char *view_api_version(const char *group, const char *version)
{
    return group && group[0] ? xasprintf("%s/%s", group, version) : xstrdup(version);
}

/* The recorded resource of the app's status with this identity, or NULL. */
static const struct store_resource *view_recorded(const struct engine_view *v, const char *group,
                                                  const char *kind, const char *ns,
                                                  const char *name)
{
    for (size_t i = 0; v->have_status && i < v->st.n_resources; i++) {
        const struct store_resource *r = &v->st.resources[i];
        if (!strcmp(r->group, group ? group : "") && !strcmp(r->kind, kind) &&
            !strcmp(r->namespace_, ns ? ns : "") && !strcmp(r->name, name))
            return r;
    }
    return NULL;
}

static json_t *view_text(const json_t *obj)
{
    char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_t *s = json_string(t ? t : "null");
    free(t);
    return s ? s : json_string("null");
}

/* One item of managed-resources; desired and live may be NULL and are
 * masked here (they are the caller's copies). */
static json_t *view_managed_item(struct engine_view *v, const char *group, const char *version,
                                 const char *kind, const char *ns, const char *name,
                                 json_t *desired, json_t *live)
{
    const struct store_resource *r = view_recorded(v, group, kind, ns, name);
    json_t *item = json_object(), *paths;
    struct buf d = BUF_INIT;

    doc_mask_secrets(desired, live);
    if (desired)
        engine_diff_object(v->ig, desired, live, &d);
    paths = desired ? doc_ignore_paths(v->ig, desired, live) : json_array();
    json_object_set_new(item, "group", json_string(group ? group : ""));
    json_object_set_new(item, "version", json_string(version ? version : ""));
    json_object_set_new(item, "kind", json_string(kind));
    json_object_set_new(item, "namespace", json_string(ns ? ns : ""));
    json_object_set_new(item, "name", json_string(name));
    json_object_set_new(item, "status", json_string(r ? r->status : "Unknown"));
    if (r && r->health && r->health[0])
        json_object_set_new(item, "health",
                            json_pack("{s:s, s:s}", "status", r->health, "message",
                                      r->health_message ? r->health_message : ""));
    json_object_set_new(item, "liveState", view_text(live));
    json_object_set_new(item, "targetState", view_text(desired));
    json_object_set_new(item, "diff", json_string(buf_cstr(&d)));
    json_object_set_new(item, "ignoredPaths", paths);
    buf_dispose(&d);
    return item;
}

int engine_managed_resources(engine *e, const char *app, json_t **out)
{
    struct engine_view v;
    json_t *items, *obj;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = engine_view_open(e, app, &v)) < 0)
        return rc;
    items = json_array();
    /* the desired objects of the last compare (hooks are not compared) */
    json_array_foreach(v.targets, i, obj)
    {
        char *group = NULL, *version = NULL;
        const char *kind = doc_get_str(obj, "kind"), *ns = doc_get_str(obj, "metadata.namespace");
        const char *name = doc_get_str(obj, "metadata.name");
        json_t *desired, *live;
        if (!kind || !name || engine_is_hook(obj))
            continue;
        engine_split_api_version(doc_get_str(obj, "apiVersion"), &group, &version);
        desired = json_deep_copy(obj);
        live = engine_view_live(&v, doc_get_str(obj, "apiVersion"), kind, ns, name);
        json_array_append_new(items,
                              view_managed_item(&v, group, version, kind, ns, name, desired, live));
        json_decref(desired);
        json_decref(live);
        free(group);
        free(version);
    }
    /* what the status records beyond them: objects to prune (live only),
     * or everything when no compare ran since the server started */
    for (i = 0; v.have_status && i < v.st.n_resources; i++) {
        const struct store_resource *r = &v.st.resources[i];
        char *api;
        json_t *live;
        int listed = 0;
        size_t j;
        json_array_foreach(v.targets, j, obj)
        {
            const char *ns = doc_get_str(obj, "metadata.namespace");
            char *g = NULL, *ver = NULL;
            engine_split_api_version(doc_get_str(obj, "apiVersion"), &g, &ver);
            listed |= !strcmp(g, r->group) && !strcmp(doc_get_str(obj, "kind"), r->kind) &&
                      !strcmp(ns ? ns : "", r->namespace_) &&
                      !strcmp(doc_get_str(obj, "metadata.name"), r->name);
            free(g);
            free(ver);
        }
        if (listed || (r->hook && r->hook[0]))
            continue;
        api = view_api_version(r->group, r->version);
        live = engine_view_live(&v, api, r->kind, r->namespace_, r->name);
        json_array_append_new(items, view_managed_item(&v, r->group, r->version, r->kind,
                                                       r->namespace_, r->name, NULL, live));
        json_decref(live);
        free(api);
    }
    rc = 0;
    *out = json_pack("{s:o}", "items", items);
    engine_view_dispose(&v);
    return rc;
}

/* ---- the tree ---- */

struct view_tree {
    engine *e;
    struct engine_view *v;
    json_t *nodes; /* the answer's array */
    json_t *uids;  /* uid -> index in nodes */
};

/* Argo CD's info lines for a Pod: its phase and ready containers. */
static json_t *view_info(const json_t *live)
{
    json_t *info = json_array(), *cs;
    size_t i, ready = 0;
    char n[48];
    if (strcmp(doc_get_str(live, "kind") ? doc_get_str(live, "kind") : "", "Pod") != 0)
        return info;
    if (doc_get_str(live, "status.phase"))
        json_array_append_new(info, json_pack("{s:s, s:s}", "name", "Status Reason", "value",
                                              doc_get_str(live, "status.phase")));
    json_array_foreach(doc_get(live, "status.containerStatuses"), i, cs) ready +=
        json_is_true(json_object_get(cs, "ready"));
    snprintf(n, sizeof(n), "%zu/%zu", ready, json_array_size(doc_get(live, "spec.containers")));
    json_array_append_new(info, json_pack("{s:s, s:s}", "name", "Containers", "value", n));
    return info;
}

/* A node of the tree; live may be NULL (a managed resource not in the
 * cluster: health Missing). */
static json_t *view_node(struct view_tree *t, const char *group, const char *version,
                         const char *kind, const char *ns, const char *name, const json_t *live)
{
    json_t *node = json_object(), *parents = json_array(), *ref;
    struct health_result hr = {0};
    const char *uid = doc_get_str(live, "metadata.uid");
    size_t i;

    json_object_set_new(node, "group", json_string(group ? group : ""));
    json_object_set_new(node, "version", json_string(version ? version : ""));
    json_object_set_new(node, "kind", json_string(kind));
    json_object_set_new(node, "namespace", json_string(ns ? ns : ""));
    json_object_set_new(node, "name", json_string(name));
    json_object_set_new(node, "uid", json_string(uid ? uid : ""));
    json_array_foreach(doc_get(live, "metadata.ownerReferences"), i, ref)
    {
        char *g = NULL, *ver = NULL;
        const char *puid = json_string_value(json_object_get(ref, "uid"));
        if (!puid || !json_object_get(t->uids, puid))
            continue;
        engine_split_api_version(json_string_value(json_object_get(ref, "apiVersion")), &g, &ver);
        json_array_append_new(parents, json_pack("{s:s, s:s?, s:s, s:s?, s:s}", "group", g, "kind",
                                                 json_string_value(json_object_get(ref, "kind")),
                                                 "namespace", ns ? ns : "", "name",
                                                 json_string_value(json_object_get(ref, "name")),
                                                 "uid", puid));
        free(g);
        free(ver);
    }
    json_object_set_new(node, "parentRefs", parents);
    if (live) {
        health_assess(&hr, t->e->health, live);
        if (hr.status != HEALTH_NONE)
            json_object_set_new(node, "health",
                                json_pack("{s:s, s:s}", "status", health_status_name(hr.status),
                                          "message", hr.message));
        health_result_dispose(&hr);
        json_object_set_new(node, "info", view_info(live));
        if (doc_get_str(live, "metadata.creationTimestamp"))
            json_object_set_new(node, "createdAt",
                                json_string(doc_get_str(live, "metadata.creationTimestamp")));
        if (doc_get_str(live, "metadata.resourceVersion"))
            json_object_set_new(node, "resourceVersion",
                                json_string(doc_get_str(live, "metadata.resourceVersion")));
    } else {
        json_object_set_new(
            node, "health",
            json_pack("{s:s, s:s}", "status", "Missing", "message", "not in the cluster"));
        json_object_set_new(node, "info", json_array());
    }
    if (uid && uid[0])
        json_object_set_new(t->uids, uid, json_integer((json_int_t)json_array_size(t->nodes)));
    json_array_append_new(t->nodes, node);
    return node;
}

struct view_list {
    json_t *items;
    size_t max;
};

static int view_list_item(void *ctx, json_t *item)
{
    struct view_list *l = ctx;
    if (json_array_size(l->items) >= l->max)
        return err_set(ERR_TOOLARGE, "more than %zu objects", l->max);
    json_array_append(l->items, item);
    return 0;
}

/* 1 if obj names a node of the tree among its owners. */
static int view_owned(const struct view_tree *t, const json_t *obj)
{
    json_t *ref;
    size_t i;
    json_array_foreach(doc_get(obj, "metadata.ownerReferences"), i, ref)
    {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        if (uid && json_object_get(t->uids, uid))
            return 1;
    }
    return 0;
}

/* The live children in the managed namespaces, by ownerReferences. */
static void view_children(struct view_tree *t, const json_t *namespaces)
{
    const char *ns;
    json_t *unused;
    json_object_foreach((json_t *)namespaces, ns, unused)
    {
        for (size_t k = 0; k < sizeof(view_child_kinds) / sizeof(view_child_kinds[0]); k++) {
            const struct kube_resource *r = NULL;
            struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
            struct view_list l = {json_array(), ENGINE_TREE_MAX_CHILDREN};
            json_t *obj;
            size_t i;
            lo.page_size = 250;
            /* a cluster without the kind, or a list refused, leaves that
             * kind out of the tree rather than failing it */
            if (kube_client_resource(t->v->kc, view_child_kinds[k].api_version,
                                     view_child_kinds[k].kind, &r) < 0 ||
                kube_client_list_each(t->v->kc, r, ns, &lo, view_list_item, &l) < 0)
                err_clear();
            json_array_foreach(l.items, i, obj)
            {
                const char *uid = doc_get_str(obj, "metadata.uid");
                char *g = NULL, *ver = NULL;
                if (!uid || json_object_get(t->uids, uid) || !view_owned(t, obj))
                    continue;
                engine_split_api_version(view_child_kinds[k].api_version, &g, &ver);
                view_node(t, g, ver, view_child_kinds[k].kind, ns,
                          doc_get_str(obj, "metadata.name"), obj);
                free(g);
                free(ver);
            }
            json_decref(l.items);
        }
    }
}

/* The tree's nodes into t (t->nodes made here); the caller disposes v. */
static void view_tree_build(engine *e, struct engine_view *v, struct view_tree *t)
{
    json_t *namespaces = json_object();
    t->e = e;
    t->v = v;
    t->nodes = json_array();
    t->uids = json_object();
    for (size_t i = 0; v->have_status && i < v->st.n_resources; i++) {
        const struct store_resource *r = &v->st.resources[i];
        char *api;
        json_t *live;
        if ((r->hook && r->hook[0]) || !strcmp(r->status, "Pruned"))
            continue;
        api = view_api_version(r->group, r->version);
        live = engine_view_live(v, api, r->kind, r->namespace_, r->name);
        view_node(t, r->group, r->version, r->kind, r->namespace_, r->name, live);
        if (r->namespace_[0])
            json_object_set_new(namespaces, r->namespace_, json_true());
        json_decref(live);
        free(api);
    }
    view_children(t, namespaces);
    json_decref(namespaces);
}

int engine_resource_tree(engine *e, const char *app, json_t **out)
{
    struct engine_view v;
    struct view_tree t;
    int rc;

    *out = NULL;
    if ((rc = engine_view_open(e, app, &v)) < 0)
        return rc;
    view_tree_build(e, &v, &t);
    *out = json_pack("{s:o}", "nodes", t.nodes);
    json_decref(t.uids);
    engine_view_dispose(&v);
    return 0;
}

/* The tree node matching ref, or NULL. An empty kind matches any kind
 * (and then any group): events name a resource by name, namespace and
 * uid only. */
static const json_t *view_find(const struct view_tree *t, const struct engine_resource_ref *ref)
{
    const json_t *node;
    size_t i;
    int any_kind = !ref->kind || !ref->kind[0];
    json_array_foreach(t->nodes, i, node)
    {
        if ((any_kind || (!strcmp(doc_get_str(node, "group"), ref->group ? ref->group : "") &&
                          !strcmp(doc_get_str(node, "kind"), ref->kind))) &&
            !strcmp(doc_get_str(node, "namespace"), ref->ns ? ref->ns : "") &&
            !strcmp(doc_get_str(node, "name"), ref->name ? ref->name : "") &&
            (!ref->uid || !ref->uid[0] || !strcmp(doc_get_str(node, "uid"), ref->uid)))
            return node;
    }
    return NULL;
}

/* The live object of ref, which must be in app's tree (new reference). */
static int view_tree_object(engine *e, struct engine_view *v, const char *app,
                            const struct engine_resource_ref *ref, json_t **out)
{
    struct view_tree t;
    const json_t *node;
    char *api = NULL;
    int rc = 0;

    *out = NULL;
    view_tree_build(e, v, &t);
    if (!(node = view_find(&t, ref))) {
        rc = err_set(ERR_NOTFOUND, "application %s has no resource %s%s%s%s%s", app,
                     ref->kind ? ref->kind : "", ref->kind && ref->kind[0] ? " " : "",
                     ref->ns && ref->ns[0] ? ref->ns : "", ref->ns && ref->ns[0] ? "/" : "",
                     ref->name ? ref->name : "");
        goto out;
    }
    api = view_api_version(doc_get_str(node, "group"), doc_get_str(node, "version"));
    if (!(*out = engine_view_live(v, api, doc_get_str(node, "kind"), ref->ns, ref->name)))
        rc = err_set(ERR_NOTFOUND, "%s %s%s%s: not in the cluster", doc_get_str(node, "kind"),
                     ref->ns && ref->ns[0] ? ref->ns : "", ref->ns && ref->ns[0] ? "/" : "",
                     ref->name);
out:
    free(api);
    json_decref(t.nodes);
    json_decref(t.uids);
    return rc;
}

int engine_resource_get(engine *e, const char *app, const struct engine_resource_ref *ref,
                        json_t **out)
{
    struct engine_view v;
    int rc;

    *out = NULL;
    if ((rc = engine_view_open(e, app, &v)) < 0)
        return rc;
    if ((rc = view_tree_object(e, &v, app, ref, out)) == 0)
        doc_mask_secrets(NULL, *out);
    engine_view_dispose(&v);
    return rc;
}

/* events sort by their time (lastTimestamp, else eventTime, else
 * creationTimestamp); RFC 3339 strings compare as text */
static const char *view_event_time(const json_t *ev)
{
    const char *t = doc_get_str(ev, "lastTimestamp");
    if (!t)
        t = doc_get_str(ev, "eventTime");
    if (!t)
        t = doc_get_str(ev, "metadata.creationTimestamp");
    return t ? t : "";
}

static int view_event_cmp(const void *a, const void *b)
{
    return strcmp(view_event_time(*(json_t *const *)a), view_event_time(*(json_t *const *)b));
}

int engine_resource_events(engine *e, const char *app, const struct engine_resource_ref *ref,
                           json_t **out)
{
    struct engine_view v;
    struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
    json_t *live = NULL, *items = NULL, *values, *ev, **sorted = NULL;
    struct buf sel = BUF_INIT;
    size_t i, n;
    int rc;

    *out = NULL;
    if ((rc = engine_view_open(e, app, &v)) < 0)
        return rc;
    if ((rc = view_tree_object(e, &v, app, ref, &live)) < 0)
        goto out;
    buf_printf(&sel, "involvedObject.name=%s", ref->name);
    if (doc_get_str(live, "metadata.uid"))
        buf_printf(&sel, ",involvedObject.uid=%s", doc_get_str(live, "metadata.uid"));
    lo.field_selector = buf_cstr(&sel);
    if ((rc = kube_client_list_opts(v.kc, "v1", "Event", ref->ns && ref->ns[0] ? ref->ns : NULL,
                                    &lo, &items, NULL)) < 0)
        goto out;
    /* a Secret's events must not quote its values either */
    values = doc_secret_values(live);
    n = json_array_size(items);
    sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
    json_array_foreach(items, i, ev)
    {
        const char *msg = doc_get_str(ev, "message");
        sorted[i] = json_incref(ev);
        json_object_del(json_object_get(ev, "metadata"), "managedFields");
        if (msg && json_array_size(values)) {
            char *m = doc_mask_text(msg, values);
            json_object_set_new(ev, "message", json_string(m));
            free(m);
        }
    }
    json_decref(values);
    qsort(sorted, n, sizeof(*sorted), view_event_cmp);
    json_array_clear(items);
    for (i = 0; i < n; i++)
        json_array_append_new(items, sorted[i]);
    *out = json_pack("{s:O}", "items", items);
out:
    free(sorted);
    buf_dispose(&sel);
    json_decref(items);
    json_decref(live);
    engine_view_dispose(&v);
    return rc;
}

/* ---- Secret values, for scrubbing free text ---- */

static void view_add_values(json_t *all, const json_t *obj)
{
    json_t *vals = doc_secret_values(obj);
    json_array_extend(all, vals);
    json_decref(vals);
}

static int view_longer_first(const void *a, const void *b)
{
    size_t la = json_string_length(*(json_t *const *)a),
           lb = json_string_length(*(json_t *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

int engine_secret_values(engine *e, const char *app, json_t **out)
{
    struct engine_view v;
    json_t *all = json_array(), *live = NULL, *obj, **sorted;
    char label[64];
    size_t i, n;
    int rc;

    *out = NULL;
    if ((rc = engine_view_open(e, app, &v)) < 0) {
        json_decref(all);
        return rc;
    }
    json_array_foreach(v.targets, i, obj) view_add_values(all, obj);
    engine_label_value(app, label);
    if (kube_cache_list_app(v.cache, label, &live) == 0) {
        json_array_foreach(live, i, obj) view_add_values(all, obj);
    }
    err_clear();
    json_decref(live);
    engine_view_dispose(&v);
    /* longest first across all Secrets, as doc_mask_text wants */
    n = json_array_size(all);
    sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
    for (i = 0; i < n; i++)
        sorted[i] = json_incref(json_array_get(all, i));
    qsort(sorted, n, sizeof(*sorted), view_longer_first);
    json_array_clear(all);
    for (i = 0; i < n; i++)
        json_array_append_new(all, sorted[i]);
    free(sorted);
    *out = all;
    return 0;
}

/* ---- pod logs ---- */

/* Hand the complete lines in b to fn ("TIME content", as timestamps=true
 * makes the kubelet write them); keeps the unfinished rest. */
static int view_log_lines(struct buf *b, engine_log_fn fn, void *ctx, int flush)
{
    size_t start = 0;
    int rc = 0;
    while (rc >= 0) {
        char *p = b->ptr + start, *nl = memchr(p, '\n', b->len - start), *line, *sp;
        size_t whole = nl ? (size_t)(nl - p) : b->len - start, len = whole;
        if (!nl && !(flush && whole) && whole <= VIEW_LOG_LINE_MAX)
            break;
        if (len > VIEW_LOG_LINE_MAX)
            len = VIEW_LOG_LINE_MAX; /* the rest comes as a line of its own */
        line = xstrndup(p, len);
        start += len + (nl && len == whole ? 1 : 0);
        sp = strchr(line, ' ');
        if (sp) {
            *sp = '\0';
            rc = fn(ctx, line, sp + 1);
        } else {
            rc = fn(ctx, "", line);
        }
        free(line);
    }
    memmove(b->ptr, b->ptr + start, b->len - start);
    b->len -= start;
    if (b->ptr)
        b->ptr[b->len] = '\0';
    return rc;
}

int engine_pod_logs(engine *e, const char *app, const struct engine_log_request *rq,
                    engine_log_fn fn, void *ctx)
{
    struct engine_resource_ref ref = {"", "v1", "Pod", rq->ns, rq->pod, NULL};
    struct engine_view v;
    struct buf path = BUF_INIT, line = BUF_INIT;
    kube_stream *s = NULL;
    json_t *pod = NULL;
    char chunk[4096], *what = NULL;
    int rc;

    if ((rc = engine_view_open(e, app, &v)) < 0)
        return rc;
    if ((rc = view_tree_object(e, &v, app, &ref, &pod)) < 0)
        goto out;
    buf_puts(&path, "/api/v1/namespaces/");
    http_query_escape(&path, rq->ns);
    buf_puts(&path, "/pods/");
    http_query_escape(&path, rq->pod);
    buf_puts(&path, "/log?timestamps=true");
    if (rq->container && rq->container[0]) {
        buf_puts(&path, "&container=");
        http_query_escape(&path, rq->container);
    }
    if (rq->tail_lines >= 0)
        buf_printf(&path, "&tailLines=%ld", rq->tail_lines);
    if (rq->follow)
        buf_puts(&path, "&follow=true");
    what = xasprintf("logs of pod %s/%s", rq->ns, rq->pod);
    if ((rc = kube_client_stream_open(v.kc, buf_cstr(&path), what, &s)) < 0)
        goto out;
    for (;;) {
        long n;
        int w = kube_stream_wait(s, 1000);
        if (w < 0) {
            rc = w;
            break;
        }
        if (w == 0) {
            if ((rc = fn(ctx, NULL, NULL)) < 0)
                break;
            continue;
        }
        if ((n = kube_stream_read(s, chunk, sizeof(chunk))) <= 0) {
            rc = n < 0 ? (int)n : 0;
            view_log_lines(&line, fn, ctx, 1);
            break;
        }
        buf_put(&line, chunk, (size_t)n);
        if ((rc = view_log_lines(&line, fn, ctx, 0)) < 0)
            break;
    }
    /* the client going away is how a follow normally ends */
    if (rc < 0 && rc != ERR_IO && rc != ERR_TIMEOUT)
        goto out;
    err_clear();
    rc = 0;
out:
    kube_stream_close(s);
    free(what);
    buf_dispose(&path);
    buf_dispose(&line);
    json_decref(pod);
    engine_view_dispose(&v);
    return rc;
}
