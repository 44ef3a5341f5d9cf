/*
 * One reconcile pass is a straight line of steps; each step either
 * succeeds or records why the pass stopped. Compare asks the API server
 * (server-side apply with dryRun=All) what an apply would produce and
 * compares that with the live object, so server-side defaulting never shows
 * as drift and the client needs no schema knowledge.
 *
 * Each cluster has a watch cache (kube/cache.c) of the kinds the engine
 * applies. The engine remembers the resourceVersion it last saw of each
 * object it manages; when the cache reports a different version (or a
 * deletion), a watcher thread marks the object's app dirty and the run
 * loop, which looks every 100 ms, reconciles that app at once instead of
 * at the next poll. Whether the pass then reverts the change is the app's
 * selfHeal: without it, drift at an unchanged revision is only recorded.
 */
#include "engine/engine.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <mbedtls/platform_util.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/seal.h"
#include "core/util.h"
#include "doc/doc.h"
#include "git/mirror.h"
#include "git/remote.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "model/app.h"
#include "model/appset.h"
#include "render/render.h"
#include "render/sources.h"
#include "engine/internal.h"

/* Argo CD's buckets for argocd_app_reconcile. */
static const double engine_reconcile_bounds[] = {0.25, 0.5, 1, 2, 4, 8, 16};

int engine_new(engine **out, store *st, const struct config *cfg, const char *data_dir)
{
    engine *e = xcalloc(1, sizeof(*e));
    *out = NULL;
    e->st = st;
    e->cfg = cfg;
    e->data_dir = xstrdup(data_dir);
    e->reconcile.bounds = engine_reconcile_bounds;
    e->reconcile.n_bounds = sizeof(engine_reconcile_bounds) / sizeof(engine_reconcile_bounds[0]);
    e->mirrors_dir = xasprintf("%s/mirrors", data_dir);
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->clusters_mu, NULL);
    e->seen = json_object();
    e->dirty = json_object();
    e->refresh = json_array();
    e->requests = json_array();
    e->desired = json_object();
    e->due = json_object();
    e->app_gen = json_object();
    e->settled = json_object();
    e->fetched = json_object();
    e->fresh = json_object();
    e->verdicts = json_object();
    e->global_ignore = json_array();
    for (size_t i = 0; cfg->settings && i < cfg->settings->n_overrides; i++) {
        const struct settings_override *o = &cfg->settings->overrides[i];
        char *key;
        if (!o->ignore_differences)
            continue;
        if (!strcmp(o->group, "*") && !strcmp(o->kind, "*"))
            key = xstrdup("resource.customizations.ignoreDifferences.all");
        else if (!o->group[0])
            key = xasprintf("resource.customizations.ignoreDifferences.%s", o->kind);
        else
            key = xasprintf("resource.customizations.ignoreDifferences.%s_%s", o->group, o->kind);
        json_array_append_new(e->global_ignore, json_pack("[s, O]", key, o->ignore_differences));
        free(key);
    }
    if (health_checks_new(&e->health, cfg->settings, NULL) < 0) {
        int rc = err_prefix(ERR_INVALID, "settings");
        engine_free(e);
        return rc;
    }
    if (engine_clusters_load(e) < 0) {
        int rc = err_last_code();
        engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void engine_free(engine *e)
{
    if (!e)
        return;
    /* Clusters first: their caches' threads call back into e. */
    engine_clusters_free(e);
    pthread_mutex_destroy(&e->clusters_mu);
    json_decref(e->seen);
    json_decref(e->dirty);
    json_decref(e->refresh);
    json_decref(e->requests);
    json_decref(e->desired);
    json_decref(e->due);
    json_decref(e->app_gen);
    json_decref(e->settled);
    json_decref(e->fetched);
    json_decref(e->fresh);
    json_decref(e->verdicts);
    health_checks_free(e->health);
    engine_appsets_free(e);
    json_decref(e->global_ignore);
    for (long i = 0; e->cache && i < e->cfg->render_cache_entries; i++)
        free(e->cache[i].text);
    free(e->cache);
    pthread_mutex_destroy(&e->mu);
    free(e->data_dir);
    free(e->mirrors_dir);
    free(e);
}

void engine_label_value(const char *app_name, char out[64])
{
    char hex[65];
    if (strlen(app_name) <= 63) {
        str_copy(out, app_name, 64);
        return;
    }
    util_sha256_hex(app_name, strlen(app_name), hex);
    memcpy(out, app_name, 52);
    out[52] = '-';
    memcpy(out + 53, hex, 10);
    out[63] = '\0';
}

/* In engine->seen while a pass applies the object. */
#define ENGINE_SEEN_WRITING "(writing)"

static char *engine_seen_key(const char *api_version, const char *kind, const char *ns,
                             const char *name)
{
    return xasprintf("%s|%s|%s|%s", api_version, kind, ns ? ns : "", name);
}

/* On a watcher thread: a managed object changed or vanished. */
void engine_on_change(void *ctx, const struct kube_cache_change *ch)
{
    engine *e = ctx;
    char *key = engine_seen_key(ch->api_version, ch->kind, ch->ns, ch->name);
    const char *seen;
    pthread_mutex_lock(&e->mu);
    /* any event, ours included: the app's next pass compares fully */
    json_object_set_new(e->app_gen, ch->app,
                        json_integer(json_integer_value(json_object_get(e->app_gen, ch->app)) + 1));
    seen = json_string_value(json_object_get(e->seen, key));
    /* Only what a pass of this process handled: the version it saw or
     * wrote is not news; anything else (someone's edit, a deletion) is. */
    if (seen && strcmp(seen, ENGINE_SEEN_WRITING) != 0 &&
        (ch->event == KUBE_CACHE_DELETED || strcmp(seen, ch->resource_version) != 0)) {
        json_object_set_new(e->dirty, ch->app, json_true());
        json_object_set_new(e->seen, key, json_string(""));
        log_debug("app %s: %s %s%s%s %s in the cluster", ch->app, ch->kind, ch->ns,
                  ch->ns[0] ? "/" : "", ch->name,
                  ch->event == KUBE_CACHE_DELETED ? "deleted" : "changed");
    }
    pthread_mutex_unlock(&e->mu);
    free(key);
}

/* Remember the version a pass left obj at ("" = absent). */
void engine_seen(engine *e, const json_t *obj, const char *rv)
{
    char *key =
        engine_seen_key(doc_get_str(obj, "apiVersion"), doc_get_str(obj, "kind"),
                        doc_get_str(obj, "metadata.namespace"), doc_get_str(obj, "metadata.name"));
    pthread_mutex_lock(&e->mu);
    json_object_set_new(e->seen, key, json_string(rv ? rv : ""));
    pthread_mutex_unlock(&e->mu);
    free(key);
}

void engine_forget(engine *e, const char *api_version, const char *kind, const char *ns,
                   const char *name)
{
    char *key = engine_seen_key(api_version, kind, ns, name);
    pthread_mutex_lock(&e->mu);
    json_object_del(e->seen, key);
    pthread_mutex_unlock(&e->mu);
    free(key);
}

static int engine_scope(void *ctx, const char *api_version, const char *kind, int *namespaced)
{
    const struct kube_resource *res;
    int rc = kube_client_resource(ctx, api_version, kind, &res);
    if (rc < 0)
        return rc;
    *namespaced = res->namespaced;
    return 0;
}

/* "apps/v1" -> group "apps", version "v1"; "v1" -> "", "v1". */
void engine_split_api_version(const char *api_version, char **group, char **version)
{
    const char *slash = strchr(api_version, '/');
    *group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : xstrdup("");
    *version = xstrdup(slash ? slash + 1 : api_version);
}

char *engine_tracking_id(const char *app, const char *group, const char *kind, const char *ns,
                         const char *name)
{
    return xasprintf("%s:%s/%s:%s/%s", app, group, kind, ns ? ns : "", name);
}

struct store_resource *engine_results_add(struct engine_results *r, const json_t *obj,
                                          const char *status, const char *message)
{
    struct store_resource *res;
    const char *ns = doc_get_str(obj, "metadata.namespace");
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    res = &r->v[r->n++];
    /* Fields this pass does not fill (health, hook, ...) stay NULL: "". */
    memset(res, 0, sizeof(*res));
    engine_split_api_version(doc_get_str(obj, "apiVersion"), &res->group, &res->version);
    res->kind = xstrdup(doc_get_str(obj, "kind"));
    res->namespace_ = xstrdup(ns ? ns : "");
    res->name = xstrdup(engine_obj_name(obj));
    res->status = xstrdup(status);
    res->message = xstrdup(message ? message : "");
    return res;
}

static void engine_results_dispose(struct engine_results *r)
{
    struct store_app_status st = {0};
    st.resources = r->v;
    st.n_resources = r->n;
    store_app_status_dispose(&st);
    memset(r, 0, sizeof(*r));
}

/* Argo CD's apply order by kind (gitops-engine's kindOrder): what others
 * depend on comes first. Kinds not listed go after these, by name. */
static const char *const engine_kind_order[] = {
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
};
#define ENGINE_NKINDS (sizeof(engine_kind_order) / sizeof(engine_kind_order[0]))

const char *engine_obj_name(const json_t *obj)
{
    const char *name = doc_get_str(obj, "metadata.name");
    if (!name)
        name = doc_get_str(obj, "metadata.generateName");
    return name ? name : "";
}

size_t engine_kind_rank(const char *kind)
{
    for (size_t i = 0; i < ENGINE_NKINDS; i++)
        if (!strcmp(engine_kind_order[i], kind))
            return i;
    return ENGINE_NKINDS;
}

struct engine_sort_item {
    json_t *obj;
    size_t rank;
    size_t index; /* keeps the sort stable */
};

static int engine_sort_cmp(const void *a, const void *b)
{
    const struct engine_sort_item *x = a, *y = b;
    int c;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->rank == ENGINE_NKINDS &&
        (c = strcmp(doc_get_str(x->obj, "kind"), doc_get_str(y->obj, "kind"))) != 0)
        return c;
    if ((c = strcmp(engine_obj_name(x->obj), engine_obj_name(y->obj))))
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sort desired objects into apply order: kind order, then name. */
static void engine_sort_desired(json_t *desired)
{
    size_t n = json_array_size(desired), i;
    struct engine_sort_item *items = xcalloc(n, sizeof(*items));
    for (i = 0; i < n; i++) {
        items[i].obj = json_incref(json_array_get(desired, i));
        items[i].rank = engine_kind_rank(doc_get_str(items[i].obj, "kind"));
        items[i].index = i;
    }
    qsort(items, n, sizeof(*items), engine_sort_cmp);
    json_array_clear(desired);
    for (i = 0; i < n; i++)
        json_array_append_new(desired, items[i].obj);
    free(items);
}

/* Stamp the tracking label and annotation on a desired object. */
static void engine_track(json_t *obj, const char *app_name)
{
    char label[64];
    char *group, *version, *id;
    const char *ns = doc_get_str(obj, "metadata.namespace");
    engine_label_value(app_name, label);
    engine_split_api_version(doc_get_str(obj, "apiVersion"), &group, &version);
    id = engine_tracking_id(app_name, group, doc_get_str(obj, "kind"), ns, engine_obj_name(obj));
    doc_set_new(obj, "metadata.labels." ENGINE_LABEL_APP, json_string(label));
    doc_set_new(obj, "metadata.annotations." ENGINE_ANNOTATION_TRACKING, json_string(id));
    free(group);
    free(version);
    free(id);
}

static int engine_is_desired(const json_t *desired, const char *group, const char *kind,
                             const char *ns, const char *name);

/* CreateNamespace=true: the destination namespace is created when it is
 * missing. With managedNamespaceMetadata its labels and annotations are
 * applied at every sync, to a namespace that already existed too, by
 * server-side apply under a field manager of the app's own: a label the
 * app stops setting is removed, what others set stays (as Argo CD, which
 * relies on server-side apply for the same). A Namespace of that name in
 * desired (from Git) takes precedence, as Argo CD documents. The
 * namespace gets no tracking label: it is never pruned nor deleted with
 * the app. */
static int engine_ensure_namespace(kube_client *kc, const struct app *app, const json_t *desired)
{
    const char *ns = app->dest_namespace;
    const json_t *meta = app->managed_ns_metadata;
    json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                            "metadata", "name", ns);
    json_t *live = NULL;
    int rc;

    if (meta && !engine_is_desired(desired, "", "Namespace", "", ns)) {
        struct kube_apply_options o = KUBE_APPLY_OPTIONS_INIT;
        char label[64];
        const json_t *labels = json_object_get(meta, "labels");
        const json_t *annotations = json_object_get(meta, "annotations");
        char *manager;
        engine_label_value(app->name, label);
        manager = xasprintf("edgecd-namespace-%s", label);
        if (json_object_size(labels))
            doc_set_new(obj, "metadata.labels", json_deep_copy(labels));
        if (json_object_size(annotations))
            doc_set_new(obj, "metadata.annotations", json_deep_copy(annotations));
        o.manager = manager;
        rc = kube_client_apply_opts(kc, obj, &o, NULL);
        free(manager);
        json_decref(obj);
        return rc;
    }
    /* a namespace we created carries no app label: the cache cannot say */
    rc = kube_client_get(kc, "v1", "Namespace", NULL, ns, &live);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        rc = kube_client_apply(kc, obj, 0, NULL);
    }
    json_decref(live);
    json_decref(obj);
    return rc;
}

void engine_event(engine *e, const char *app, const char *type, const char *reason, const char *fmt,
                  ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (store_event_add(e->st, app, type, reason, buf_cstr(&msg), e->cfg->max_events) < 0) {
        log_error("app %s: recording an event: %s", app, err_last());
        err_clear();
    }
    buf_dispose(&msg);
}

/* Events for changes of the app's sync status and health. */
static void engine_health_events(engine *e, const char *app, const struct store_app_status *prev,
                                 const struct store_app_status *now)
{
    if (!prev || strcmp(prev->health ? prev->health : "", now->health) != 0)
        engine_event(e, app, !strcmp(now->health, "Degraded") ? "Warning" : "Normal",
                     "HealthChanged", "health %s -> %s",
                     prev && prev->health && prev->health[0] ? prev->health : "(none)",
                     now->health);
    if (!prev || strcmp(prev->sync_status, now->sync_status) != 0)
        engine_event(e, app, "Normal", "SyncStatusChanged", "sync status %s -> %s",
                     prev ? prev->sync_status : "(none)", now->sync_status);
}

void engine_due_soon(engine *e, const char *app)
{
    json_object_set_new(e->due, app, json_integer(time_mono_ms() + 1000));
}

static int engine_is_desired(const json_t *desired, const char *group, const char *kind,
                             const char *ns, const char *name)
{
    size_t i;
    json_t *obj;
    json_array_foreach(desired, i, obj)
    {
        char *g, *v;
        const char *dns = doc_get_str(obj, "metadata.namespace");
        int same;
        engine_split_api_version(doc_get_str(obj, "apiVersion"), &g, &v);
        same = !strcmp(g, group) && !strcmp(doc_get_str(obj, "kind"), kind) &&
               !strcmp(dns ? dns : "", ns) && !strcmp(doc_get_str(obj, "metadata.name"), name);
        free(g);
        free(v);
        if (same)
            return 1;
    }
    return 0;
}

/* The apiVersion+kind pairs to look for leftovers in: those desired now and
 * those recorded by earlier passes. Returns a new array of [apiVersion,
 * kind] pairs, without repeats. */
/* A recorded resource that lives in the cluster: not a hook, not one of
 * Argo CD's own kinds (registered in the store, never applied). */
static int engine_prev_in_cluster(const struct store_resource *r)
{
    return (!r->hook || !r->hook[0]) && strcmp(r->group, "argoproj.io") != 0;
}

static json_t *engine_kinds_to_scan(const json_t *desired, const struct store_app_status *prev)
{
    json_t *kinds = json_object();
    json_t *out = json_array();
    const char *key;
    json_t *v;
    size_t i;
    json_t *obj;
    json_array_foreach(desired, i, obj)
    {
        char *k = xasprintf("%s|%s", doc_get_str(obj, "apiVersion"), doc_get_str(obj, "kind"));
        json_object_set_new(
            kinds, k, json_pack("[ss]", doc_get_str(obj, "apiVersion"), doc_get_str(obj, "kind")));
        free(k);
    }
    for (i = 0; prev && i < prev->n_resources; i++) {
        const struct store_resource *r = &prev->resources[i];
        if (!engine_prev_in_cluster(r))
            continue;
        char *api = r->group[0] ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
        char *k = xasprintf("%s|%s", api, r->kind);
        json_object_set_new(kinds, k, json_pack("[ss]", api, r->kind));
        free(k);
        free(api);
    }
    json_object_foreach(kinds, key, v) json_array_append(out, v);
    json_decref(kinds);
    return out;
}

/* Every live object that carries this app's label and its own tracking
 * id but is no longer desired (hooks aside: they are never pruned), as a
 * new array of prune entries: apiVersion, kind, metadata (name,
 * namespace, annotations) and how to prune it (noPrune for Prune=false,
 * pruneLast, policy). */
int engine_extraneous(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                      const json_t *desired, const struct store_app_status *prev, json_t **out)
{
    char label[64], *selector;
    json_t *kinds = engine_kinds_to_scan(desired, prev), *cached = NULL, *pair;
    size_t i;
    int rc = 0;

    (void)e;
    *out = json_array();
    engine_label_value(app->name, label);
    selector = xasprintf("%s=%s", ENGINE_LABEL_APP, label);
    if (kube_cache_list_app(cache, label, &cached) < 0)
        err_clear();
    json_array_foreach(kinds, i, pair)
    {
        json_t *items = NULL, *obj;
        size_t j;
        const char *api = json_string_value(json_array_get(pair, 0));
        const char *kind = json_string_value(json_array_get(pair, 1));
        if (cached && kube_cache_synced(cache, api, kind)) {
            /* the watch cache has every labelled object of this kind */
            items = json_array();
            json_array_foreach(cached, j, obj)
            {
                if (!strcmp(doc_get_str(obj, "apiVersion"), api) &&
                    !strcmp(doc_get_str(obj, "kind"), kind))
                    json_array_append(items, obj);
            }
        } else if ((rc = kube_client_list(kc, api, kind, NULL, selector, &items)) < 0) {
            if (rc != ERR_NOTFOUND) /* the kind itself is gone (CRD deleted) */
                break;
            err_clear();
            rc = 0;
            continue;
        }
        json_array_foreach(items, j, obj)
        {
            char *group, *version, *id;
            const char *ns = doc_get_str(obj, "metadata.namespace");
            const char *name = doc_get_str(obj, "metadata.name");
            const char *have = doc_get_str(obj, "metadata.annotations." ENGINE_ANNOTATION_TRACKING);
            const char *pp;
            engine_split_api_version(api, &group, &version);
            id = engine_tracking_id(app->name, group, kind, ns, name);
            /* A copy made by someone else carries our label but not our
             * id for this object: never ours to delete. */
            if (have && !strcmp(have, id) && !engine_is_hook(obj) &&
                !engine_is_desired(desired, group, kind, ns ? ns : "", name)) {
                json_t *entry = json_pack("{s:s, s:s, s:{s:s, s:O?}}", "apiVersion", api, "kind",
                                          kind, "metadata", "name", name, "annotations",
                                          doc_get(obj, "metadata.annotations"));
                if (ns)
                    doc_set_new(entry, "metadata.namespace", json_string(ns));
                if (engine_sync_option(app, obj, "Prune=false"))
                    json_object_set_new(entry, "noPrune", json_true());
                if (engine_sync_option(app, obj, "PruneLast=true"))
                    json_object_set_new(entry, "pruneLast", json_true());
                pp = engine_sync_option(app, obj, "PrunePropagationPolicy=background")
                         ? "Background"
                     : engine_sync_option(app, obj, "PrunePropagationPolicy=orphan") ? "Orphan"
                                                                                     : "Foreground";
                json_object_set_new(entry, "policy", json_string(pp));
                json_array_append_new(*out, entry);
            }
            free(group);
            free(version);
            free(id);
        }
        json_decref(items);
    }
    free(selector);
    json_decref(kinds);
    json_decref(cached);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* A repository URL as webhooks and manifests may spell it differently:
 * lower case, without a trailing slash or ".git". A new string. */
char *engine_repo_key(const char *url)
{
    char *k = xstrdup(url ? url : "");
    size_t n = strlen(k);

    for (size_t i = 0; i < n; i++)
        if (k[i] >= 'A' && k[i] <= 'Z')
            k[i] = (char)(k[i] - 'A' + 'a');
    while (n > 0 && k[n - 1] == '/')
        k[--n] = '\0';
    if (n > 4 && !strcmp(k + n - 4, ".git"))
        k[n - 4] = '\0';
    return k;
}

/* A repository's new commits make every app of it due now (at the run
 * loop's next turn); the fetch that found them stays remembered. */
static void engine_refresh_fetched(engine *e, const char *repo_url)
{
    pthread_mutex_lock(&e->mu);
    json_array_append_new(
        e->refresh, json_pack("{s:s, s:s, s:b}", "repo", repo_url, "revision", "", "fetched", 1));
    pthread_mutex_unlock(&e->mu);
}

/* The stored credentials whose URL is the longest prefix of url into
 * *auth (none: anonymous, all NULL), borrowing from *row and *password,
 * which the caller disposes and wipes (engine_auth_dispose). The secret
 * is opened only here. */
static int engine_repo_auth(engine *e, const char *url, struct store_repo *row,
                            struct mirror_auth *auth, char **password)
{
    unsigned char key[SEAL_KEY_LEN];
    int rc;

    rc = store_repo_match(e->st, url, row);
    if (rc == ERR_NOTFOUND) {
        err_clear();
    } else if (rc < 0) {
        return rc;
    } else {
        if (row->password_sealed[0]) {
            if ((rc = seal_key_load(key, e->data_dir)) < 0)
                return rc;
            rc = seal_open(password, key, row->password_sealed, row->url);
            mbedtls_platform_zeroize(key, sizeof(key));
            if (rc < 0)
                return err_set(ERR_INVALID, "repository credentials for %s cannot be decrypted",
                               row->url);
        }
        auth->username = row->username;
        auth->password = *password;
        auth->ca_file = row->ca_file[0] ? row->ca_file : NULL;
        auth->insecure = row->insecure;
    }
    return 0;
}

static void engine_auth_dispose(struct store_repo *row, char *password)
{
    if (password) {
        mbedtls_platform_zeroize(password, strlen(password));
        free(password);
    }
    store_repo_dispose(row);
}

/* Fetch url into m with its stored credentials (engine_repo_auth). */
static int engine_fetch_url(engine *e, mirror *m, const char *url, int *downloaded)
{
    struct store_repo row = {0};
    struct mirror_auth auth = {0};
    char *password = NULL;
    int rc;

    if ((rc = engine_repo_auth(e, url, &row, &auth, &password)) < 0)
        goto out;
    if ((rc = mirror_fetch_from(m, url, &auth, downloaded)) == 0) {
        char safe[512];
        remote_redact(url, safe, sizeof(safe));
        log_debug("fetched %s: %s", safe,
                  *downloaded ? "downloaded" : "refs unchanged, nothing downloaded");
    }
out:
    engine_auth_dispose(&row, password);
    return rc;
}

int engine_repo_validate(engine *e, const char *url, char **message)
{
    struct store_repo row = {0};
    struct mirror_auth auth = {0};
    char *password = NULL;
    size_t refs = 0;
    int rc;

    *message = NULL;
    if ((rc = engine_repo_auth(e, url, &row, &auth, &password)) == 0 &&
        (rc = mirror_ls_remote(url, &auth, &refs)) == 0)
        *message =
            xasprintf("%zu branch%s and tag%s", refs, refs == 1 ? "" : "es", refs == 1 ? "" : "s");
    engine_auth_dispose(&row, password);
    return rc;
}

/* Bring the app's mirror up to date: from the URL a mirror rule rewrites
 * repoURL to (else repoURL itself); with the rule's fallback, from
 * repoURL when that fails. A source that cannot be reached (or not by
 * this build: ssh) is deployed from what the mirror already holds, e.g.
 * from bundles. *out_note says when the usual place was not used. */
int engine_fetch(engine *e, const char *app_name, const char *repo_url, mirror *m, char **out_note,
                 int *downloaded)
{
    const struct config_mirror *rule;
    char *rewritten = NULL, *why = NULL, safe_up[512], safe_mirror[512];
    const char *url;
    int rc;

    *out_note = NULL;
    *downloaded = 0;
    rule = config_rewrite_url(e->cfg, repo_url, &rewritten);
    url = rewritten ? rewritten : repo_url;
    remote_redact(repo_url, safe_up, sizeof(safe_up));
    remote_redact(url, safe_mirror, sizeof(safe_mirror));
    rc = engine_fetch_url(e, m, url, downloaded);
    if (rc < 0 && rule && rule->fallback) {
        why = xstrdup(err_last());
        err_clear();
        if ((rc = engine_fetch_url(e, m, repo_url, downloaded)) == 0)
            *out_note = xasprintf("fetched from upstream %s: mirror %s failed: %s", safe_up,
                                  safe_mirror, why);
        else
            rc = err_set(rc, "mirror %s failed: %s; upstream: %s", safe_mirror, why, err_last());
    }
    if ((rc == ERR_IO || rc == ERR_UNSUPPORTED) && mirror_has_refs(m)) {
        /* a mirror only bundles fill, or a network that is down: deploy
         * what is here, and say so */
        *out_note = xasprintf("not fetched, deployed from the mirror's copy: %s", err_last());
        err_clear();
        rc = 0;
    }
    if (*out_note)
        log_info("app %s: %s", app_name, *out_note);
    free(why);
    free(rewritten);
    return rc;
}

/* The fetch of one pass over an app's sources: engine_fetch for each
 * repository, the notes of all of them joined. */
struct engine_fetch_pass {
    engine *e;
    const char *app_name;
    int poll; /* the run loop's: a repository fetched within pollSeconds is not fetched again */
    struct buf notes;
};

/* Each repository is fetched at most once per pollSeconds, whichever
 * app polls it (Argo CD keeps ls-remote answers for minutes): e->fetched
 * remembers the last clean fetch (no error, no note) and counts the ones
 * that brought something new, which makes every app of the repository
 * due at once. */
static int engine_fetch_source(void *ctx, mirror *m, const char *url)
{
    struct engine_fetch_pass *p = ctx;
    engine *e = p->e;
    char *note = NULL, *key = engine_repo_key(url);
    json_t *memo = json_object_get(e->fetched, key);
    int64_t now = time_mono_ms();
    int rc, downloaded = 0;

    if (p->poll && memo &&
        now - json_integer_value(json_object_get(memo, "at")) < e->cfg->poll_seconds * 1000) {
        free(key);
        return 0;
    }
    __atomic_add_fetch(&e->n_fetches, 1, __ATOMIC_RELAXED);
    rc = engine_fetch(e, p->app_name, url, m, &note, &downloaded);
    if (rc == 0 && !note) {
        json_int_t gen = json_integer_value(json_object_get(memo, "gen")) + (downloaded ? 1 : 0);
        json_object_set_new(e->fetched, key,
                            json_pack("{s:I, s:I}", "at", (json_int_t)now, "gen", gen));
        if (downloaded && memo)
            engine_refresh_fetched(e, url);
    } else {
        json_object_del(e->fetched, key);
    }
    if (note) {
        buf_printf(&p->notes, "%s%s", p->notes.len ? "; " : "", note);
        free(note);
    }
    free(key);
    return rc;
}

/* The cache key of a render: everything the output depends on. The
 * sources are hashed as written (compact JSON, keys sorted), so any
 * option that changes (helm values, kustomize overrides, paths, globs)
 * makes a new key; the commits stand for the files. */
static void engine_render_key(const engine *e, const struct app *app, const json_t *sources,
                              const char *revision, char key[65])
{
    char *spec = json_dumps(sources, JSON_COMPACT | JSON_SORT_KEYS);
    char *text = xasprintf(
        "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%ld\n%s\n%ld", revision, spec ? spec : "", app->name,
        app->dest_namespace ? app->dest_namespace : "", app->dest_server ? app->dest_server : "",
        app->dest_name ? app->dest_name : "", e->cfg->helm_binary, e->cfg->helm_timeout_seconds,
        e->cfg->kustomize_binary, e->cfg->kustomize_timeout_seconds);
    util_sha256_hex(text, strlen(text), key);
    free(text);
    free(spec);
}

/* The cached objects for key (a new array), or NULL. */
static json_t *engine_cache_get(engine *e, const char *key)
{
    for (long i = 0; e->cache && i < e->cfg->render_cache_entries; i++)
        if (e->cache[i].used && !strcmp(e->cache[i].key, key)) {
            json_t *objects = NULL;
            e->cache[i].used = ++e->cache_tick;
            if (doc_parse_json(&objects, e->cache[i].text, strlen(e->cache[i].text), "render cache",
                               NULL) < 0)
                err_clear(); /* cannot happen: our own text; render again */
            return objects;
        }
    return NULL;
}

/* Keep objects under key, in an empty or the least recently used slot,
 * as compact JSON text: a third of the memory of the parsed tree, and
 * parsed again only by a full pass. */
static void engine_cache_put(engine *e, const char *key, const json_t *objects)
{
    long i, victim = 0;

    if (e->cfg->render_cache_entries <= 0)
        return;
    if (!e->cache)
        e->cache = xcalloc((size_t)e->cfg->render_cache_entries, sizeof(*e->cache));
    for (i = 0; i < e->cfg->render_cache_entries; i++) {
        if (!e->cache[i].used) {
            victim = i;
            break;
        }
        if (e->cache[i].used < e->cache[victim].used)
            victim = i;
    }
    free(e->cache[victim].text);
    str_copy(e->cache[victim].key, key, sizeof(e->cache[victim].key));
    e->cache[victim].text = json_dumps(objects, JSON_COMPACT);
    e->cache[victim].used = ++e->cache_tick;
}

int engine_ready(engine *e)
{
    return __atomic_load_n(&e->first_round_done, __ATOMIC_ACQUIRE);
}

void engine_metrics_write(engine *e, struct buf *out)
{
    static const char *const phases[] = {"Succeeded", "Failed", "Error"};
    size_t i;

    metrics_header(out, "argocd_app_sync_total", "counter", "Sync operations finished, by phase.");
    for (i = 0; i < 3; i++) {
        const char *const labels[] = {"phase", phases[i], NULL};
        metrics_sample(out, "argocd_app_sync_total", labels,
                       (double)metrics_get(&e->n_sync_phase[i]));
    }
    metrics_header(out, "argocd_app_reconcile", "histogram",
                   "Application reconcile passes, in seconds.");
    metrics_hist_write(out, "argocd_app_reconcile", NULL, &e->reconcile);
}

void engine_stats(engine *e, struct engine_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->renders = e->renders;
    out->dry_runs = e->dry_runs;
    out->applies = e->applies;
    out->passes = __atomic_load_n(&e->n_full, __ATOMIC_RELAXED);
    out->settled = __atomic_load_n(&e->n_settled, __ATOMIC_RELAXED);
    out->fetches = __atomic_load_n(&e->n_fetches, __ATOMIC_RELAXED);
    out->requests = engine_clusters_requests(e);
}

size_t engine_render_count(const engine *e)
{
    return e->renders;
}

/* Fetch the app's sources (override: other sources, e.g. at the
 * revision a sync asked for; NULL: the app's), resolve their revisions
 * and render them, or take the objects from the render cache when the
 * commits and options are those of an earlier render. *revision: the
 * commits (new string). poll: see engine_fetch_pass. */
static int engine_render(engine *e, const struct app *app, kube_client *kc, const json_t *override,
                         int poll, char **revision, json_t **out_desired, char **out_note)
{
    render_sources *rs = NULL;
    struct render_request req = {0};
    struct engine_fetch_pass pass = {e, app->name, poll, BUF_INIT};
    const json_t *list = doc_get(app->manifest, "spec.sources");
    json_t *sources = NULL;
    char key[65];
    int rc;

    *out_desired = NULL;
    *revision = NULL;
    *out_note = NULL;
    if (override)
        sources = json_incref((json_t *) override);
    else if (json_is_array(list) && json_array_size(list) > 0)
        sources = json_incref((json_t *)list);
    else
        sources = json_pack("[O]", doc_get(app->manifest, "spec.source"));
    rc = render_sources_open(&rs, sources, e->mirrors_dir, engine_fetch_source, &pass);
    if (pass.notes.len)
        *out_note = buf_detach(&pass.notes);
    if (rc < 0)
        goto out;
    *revision = xstrdup(render_sources_revision(rs));
    engine_render_key(e, app, sources, *revision, key);
    if ((*out_desired = engine_cache_get(e, key))) {
        log_debug("app %s: render cache hit at %s", app->name, *revision);
        goto out;
    }
    req.dest_namespace = app->dest_namespace;
    req.scope = engine_scope;
    req.scope_ctx = kc;
    req.app_name = app->name;
    req.helm_binary = e->cfg->helm_binary;
    req.helm_timeout_seconds = e->cfg->helm_timeout_seconds;
    req.kustomize_binary = e->cfg->kustomize_binary;
    req.kustomize_timeout_seconds = e->cfg->kustomize_timeout_seconds;
    if ((rc = render_sources_render(out_desired, rs, &req)) < 0)
        goto out;
    e->renders++;
    log_debug("app %s: rendered %zu objects at %s", app->name, json_array_size(*out_desired),
              *revision);
    engine_cache_put(e, key, *out_desired);
out:
    buf_dispose(&pass.notes);
    render_sources_free(rs);
    json_decref(sources);
    return rc;
}

/* Record a pass that stopped early. The revision and resources stay those
 * of the last good pass (that is what is deployed); the error says why the
 * newer state could not be reached. */
static int engine_record_failure(engine *e, const char *name, const struct store_app_status *prev,
                                 const char *error)
{
    struct store_app_status st = {0};
    /* Say what stays deployed, so the status explains why it is stale. */
    char *msg = (prev && prev->revision[0])
                    ? xasprintf("%s (stale: revision %.7s stays deployed; nothing was pruned)",
                                error, prev->revision)
                    : xstrdup(error);
    st.name = (char *)name;
    st.sync_status = "Unknown";
    st.revision = prev ? prev->revision : "";
    st.last_error = msg;
    st.synced_at = prev ? prev->synced_at : "";
    if (prev) {
        st.resources = prev->resources;
        st.n_resources = prev->n_resources;
        st.health = prev->health;
        st.health_message = prev->health_message;
    }
    log_warn("app %s: %s", name, msg);
    store_app_status_put(e->st, &st);
    free(msg);
    return 0;
}

/* Whether automated sync starts an operation now, as Argo CD decides:
 * the app differs from Git, and either the revision is not the one the
 * last operation ran, or selfHeal is on and that operation succeeded (a
 * failed revision is never retried in a loop; a new commit or a manual
 * sync moves it on). An empty desired set that would prune everything
 * needs allowEmpty. *why (new) says why not, when that is news. */
static int engine_should_autosync(const struct app *app, const char *revision, int out_of_sync,
                                  size_t n_targets, size_t n_extra,
                                  const struct store_operation *last, char **why)
{
    json_t *state = NULL;
    const char *rev, *msg;
    int go = 0;

    *why = NULL;
    if (!app->automated || !out_of_sync)
        return 0;
    if (n_targets == 0 && n_extra > 0 &&
        !json_is_true(doc_get(app->manifest, "spec.syncPolicy.automated.allowEmpty"))) {
        *why = xstrdup("automated sync would delete every resource of the app: not done without "
                       "allowEmpty");
        return 0;
    }
    if (!last)
        return 1;
    if (doc_parse_json(&state, last->state_json, strlen(last->state_json), "operation", NULL) < 0) {
        err_clear();
        return 1;
    }
    rev = doc_get_str(state, "revision");
    msg = doc_get_str(state, "message");
    if (strcmp(rev ? rev : "", revision) != 0)
        go = 1;
    else if (!strcmp(last->phase, "Succeeded"))
        go = app->self_heal;
    else
        *why = xasprintf("automated sync of %.7s failed (%s); not retried until a new commit or a "
                         "manual sync",
                         revision, msg ? msg : "");
    json_decref(state);
    return go;
}

static struct store_resource *engine_results_find(struct engine_results *res, const char *group,
                                                  const char *kind, const char *ns,
                                                  const char *name)
{
    for (size_t i = 0; i < res->n; i++) {
        struct store_resource *y = &res->v[i];
        if (!strcmp(y->group, group) && !strcmp(y->kind, kind) && !strcmp(y->namespace_, ns) &&
            !strcmp(y->name, name))
            return y;
    }
    return NULL;
}

/* What the operation in state_json did to the resources, over what
 * compare found: applied ones are Synced, failures Failed with the
 * reason, prunes Pruned; hooks are listed by the name they got, with
 * their phase and result. */
static void engine_results_from_op(struct engine_results *res, const char *state_json)
{
    json_t *state = NULL, *r;
    const char *key;
    if (doc_parse_json(&state, state_json, strlen(state_json), "operation", NULL) < 0) {
        err_clear();
        return;
    }
    json_object_foreach(json_object_get(state, "results"), key, r)
    {
        const char *status = doc_get_str(r, "status"), *msg = doc_get_str(r, "message");
        const char *hook = doc_get_str(r, "hookType"), *group = doc_get_str(r, "group");
        const char *kind = doc_get_str(r, "kind"), *ns = doc_get_str(r, "namespace");
        const char *name = doc_get_str(r, "hookName");
        struct store_resource *x;
        (void)key;
        if (!status || !status[0])
            continue;
        if (!hook[0] || !name)
            name = doc_get_str(r, "name");
        x = engine_results_find(res, group, kind, ns, name);
        if (!x && hook[0]) {
            char *api = group[0] ? xasprintf("%s/%s", group, doc_get_str(r, "version"))
                                 : xstrdup(doc_get_str(r, "version"));
            json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", api, "kind", kind,
                                    "metadata", "name", name);
            if (ns[0])
                doc_set_new(obj, "metadata.namespace", json_string(ns));
            x = engine_results_add(res, obj, status, msg);
            x->hook = xstrdup(hook);
            json_decref(obj);
            free(api);
            continue;
        }
        if (!x || (!strcmp(status, "Synced") && !strcmp(x->status, "Synced")))
            continue;
        free(x->status);
        free(x->message);
        x->status = xstrdup(!strcmp(status, "SyncFailed") ? "Failed" : status);
        x->message = xstrdup(msg ? msg : "");
    }
    json_decref(state);
}

/* The ignoreDifferences rules for app: the settings file's, then its own
 * spec.ignoreDifferences (a bad rule fails the pass, naming it). */
static int engine_ignore_rules(engine *e, const struct app *app)
{
    const json_t *own = doc_get(app->manifest, "spec.ignoreDifferences"), *pair;
    size_t i;
    int rc;
    doc_ignore_new(&e->ignore);
    json_array_foreach(e->global_ignore, i, pair)
    {
        if ((rc = doc_ignore_add_setting(e->ignore, json_string_value(json_array_get(pair, 0)),
                                         json_array_get(pair, 1))) < 0)
            return err_prefix(rc, "settings");
    }
    if ((rc = doc_ignore_add_app(e->ignore, own, "spec.ignoreDifferences")) < 0)
        return rc;
    e->ignore_key = own ? json_dumps(own, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    return 0;
}

/* 1 if the last pass listed children (App of Apps): only then can Git
 * have dropped one, so only then is the store searched for them. */
static int engine_had_children(const struct store_app_status *prev)
{
    for (size_t i = 0; prev && i < prev->n_resources; i++)
        if (!strcmp(prev->resources[i].group, "argoproj.io") &&
            strcmp(prev->resources[i].status, "Pruned") != 0)
            return 1;
    return 0;
}

/* An extraneous object that does not make the app OutOfSync. */
#define ENGINE_MSG_IGNORE_EXTRANEOUS "requires pruning (IgnoreExtraneous: not counted)"

/* 1 if a resource an operation applies or prunes (not a hook, not one of
 * Argo CD's own kinds) is not where Git wants it. */
static int engine_any_out_of_sync(const struct engine_results *res)
{
    for (size_t i = 0; i < res->n; i++) {
        const struct store_resource *r = &res->v[i];
        if ((!r->hook || !r->hook[0]) && strcmp(r->group, "argoproj.io") != 0 &&
            strcmp(r->message, ENGINE_MSG_IGNORE_EXTRANEOUS) != 0 &&
            strcmp(r->status, "Synced") != 0 && strcmp(r->status, "Pruned") != 0)
            return 1;
    }
    return 0;
}

/* ---- settled apps ----
 * A full pass costs milliseconds (read the status and the manifests,
 * render or take the render cache, parse every live object, hash every
 * desired one, assess health); an app whose last full pass left nothing
 * to do and none of whose inputs changed since would get the same
 * answer again. Its inputs are: the Application and its AppProject as
 * stored, the commits of its repositories (fetched at most once per
 * pollSeconds; a fetch that brings something counts), its live objects
 * (every watch event of an object carrying its label counts, ours
 * included) and the settings (fixed while serving). A pass that finds
 * all of them as they were records nothing and is done in microseconds;
 * fullCompareSeconds bounds how long that may go on. Anything that
 * depends on the clock (sync windows, retries, waves, dependencies being
 * waited for) or on other apps (App of Apps children) never settles. */

/* The number of watch events of app's objects so far. */
static json_int_t engine_app_gen(engine *e, const char *app_name)
{
    char label[64];
    json_int_t n;
    engine_label_value(app_name, label);
    pthread_mutex_lock(&e->mu);
    n = json_integer_value(json_object_get(e->app_gen, label));
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* Remember what the full pass that just left app with nothing to do saw. */
static void engine_settle(engine *e, const struct app *app, const char *manifest_json,
                          const char *project_json, json_int_t gen)
{
    json_t *repos = json_object();
    for (size_t i = 0; i < app->n_sources; i++) {
        char *key = engine_repo_key(app->sources[i].repo_url);
        json_t *memo = json_object_get(e->fetched, key);
        if (!memo) { /* not fetched cleanly: nothing to compare the next poll with */
            free(key);
            json_decref(repos);
            json_object_del(e->settled, app->name);
            return;
        }
        json_object_set_new(repos, key,
                            json_pack("{s:s, s:O}", "url", app->sources[i].repo_url, "gen",
                                      json_object_get(memo, "gen")));
        free(key);
    }
    json_object_set_new(e->settled, app->name,
                        json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "manifest", manifest_json,
                                  "projectName", app->project ? app->project : "", "project",
                                  project_json ? project_json : "", "gen", gen, "at",
                                  (json_int_t)time_mono_ms(), "repos", repos));
}

/* 1 if the repository (key, and {"url", "gen"} as a settled app saw it)
 * has brought nothing new since: fetched now when its last fetch is
 * pollSeconds old, as a poll does. */
static int engine_repo_unchanged(engine *e, const char *app_name, const char *key,
                                 const json_t *repo)
{
    const char *url = json_string_value(json_object_get(repo, "url"));
    const json_t *memo = json_object_get(e->fetched, key);
    struct engine_fetch_pass pass = {e, app_name, 1, BUF_INIT};
    mirror *m = NULL;
    int rc;

    if (memo && time_mono_ms() - json_integer_value(json_object_get(memo, "at")) >=
                    e->cfg->poll_seconds * 1000) {
        if ((rc = mirror_open(&m, e->mirrors_dir, url)) == 0)
            rc = engine_fetch_source(&pass, m, url);
        mirror_free(m);
        buf_dispose(&pass.notes);
        err_clear(); /* a failure is the full pass's to record */
        if (rc < 0)
            return 0;
        memo = json_object_get(e->fetched, key);
    }
    return memo && json_integer_value(json_object_get(memo, "gen")) ==
                       json_integer_value(json_object_get(repo, "gen"));
}

/* 1 if app_name settled and nothing it depends on changed since. */
static int engine_settled(engine *e, const char *app_name)
{
    const json_t *s = json_object_get(e->settled, app_name), *repo;
    const char *key, *project;
    int64_t now = time_mono_ms();
    char *text = NULL;
    int same;

    if (!s)
        return 0;
    if (e->cfg->full_compare_seconds == 0 ||
        now - json_integer_value(json_object_get(s, "at")) >= e->cfg->full_compare_seconds * 1000 ||
        json_integer_value(json_object_get(s, "gen")) != engine_app_gen(e, app_name))
        return 0;
    json_object_foreach((json_t *)json_object_get(s, "repos"), key, repo)
    {
        if (!engine_repo_unchanged(e, app_name, key, repo))
            return 0;
    }
    if (store_app_get(e->st, app_name, &text) < 0) {
        err_clear();
        return 0;
    }
    same = !strcmp(text, json_string_value(json_object_get(s, "manifest")));
    free(text);
    text = NULL;
    project = json_string_value(json_object_get(s, "projectName"));
    if (same && store_project_get(e->st, project[0] ? project : PROJECT_DEFAULT, &text) < 0)
        err_clear(); /* not stored: the built-in default, or gone (the full pass says) */
    same = same && !strcmp(text ? text : "", json_string_value(json_object_get(s, "project")));
    free(text);
    return same;
}

static int engine_pass(engine *e, const char *app_name, const json_t *req, int poll);

/* 1 unless the app's automated sync is paused in the store (a restore
 * writing its objects: store_pause_set); then 0 and *why says so. */
static int engine_not_paused(engine *e, const struct app *app, char **why)
{
    char label[64], *reason = NULL;
    engine_label_value(app->name, label);
    if (store_pause_get(e->st, label, (long long)time(NULL), &reason) < 0) {
        err_clear();
        return 1;
    }
    *why = xasprintf("automated sync paused: %s", reason);
    free(reason);
    return 0;
}

int engine_reconcile(engine *e, const char *app_name)
{
    return engine_pass(e, app_name, NULL, 0);
}

int engine_reconcile_request(engine *e, const char *app_name, const json_t *req)
{
    return engine_pass(e, app_name, req, 0);
}

/* Start an operation of app's current sources (replacing *op, which
 * holds the last one) and take it as far as it goes now. 0 once started
 * (*op is it), else the error and *op is empty. */
static int engine_op_begin(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                           const json_t *desired, const json_t *extra,
                           struct engine_sync_request *rq, struct store_operation *op, int *running)
{
    int rc;
    if (!rq->source)
        rq->source = doc_get(app->manifest, "spec.sources") ? doc_get(app->manifest, "spec.sources")
                                                            : doc_get(app->manifest, "spec.source");
    /* CreateNamespace=true: made when a sync starts, as Argo CD does, not
     * asked about on every pass */
    if (!rq->dry_run && app->create_namespace && app->dest_namespace && app->dest_namespace[0] &&
        (rc = engine_ensure_namespace(kc, app, desired)) < 0)
        return rc;
    store_operation_dispose(op);
    if ((rc = engine_op_start(e, app, desired, extra, rq, op)) < 0)
        return rc;
    if (engine_op_advance(e, kc, cache, app, op, running) < 0) {
        log_error("app %s: operation: %s", app->name, err_last());
        err_clear();
    }
    return 0;
}

/* Track every object of desired, watch its kind, and add those that are
 * not hooks to targets. */
static void engine_track_all(kube_cache *cache, const struct app *app, json_t *desired,
                             json_t *targets)
{
    json_t *obj;
    size_t i;
    json_array_foreach(desired, i, obj)
    {
        engine_track(obj, app->name);
        /* A kind the server lacks fails its apply; its watcher only
         * retries quietly. */
        if (kube_cache_watch(cache, doc_get_str(obj, "apiVersion"), doc_get_str(obj, "kind")) < 0)
            err_clear();
        if (!engine_is_hook(obj))
            json_array_append(targets, obj);
    }
}

/* A sync to the revision an operator named (Argo CD's sync --revision):
 * the app's source at that revision, rendered and prepared as a pass
 * prepares its own (Argo CD's own kinds left out: children are
 * registered from targetRevision only), started as an operation (0, *op
 * is it). The app's status goes on comparing with targetRevision. A
 * revision that cannot be fetched, resolved or rendered ends as an
 * operation in phase Error saying why (also 0, *op is that one), so whoever
 * waits for the operation learns it. */
static int engine_sync_revision(engine *e, kube_client *kc, kube_cache *cache,
                                const struct app *app, const struct project *proj,
                                const struct project_target *dest,
                                const struct store_app_status *prev, const char *want,
                                struct engine_sync_request *rq, struct store_operation *op,
                                int *running)
{
    const json_t *list = doc_get(app->manifest, "spec.sources");
    json_t *source = json_deep_copy(json_is_array(list) ? json_array_get(list, 0)
                                                        : doc_get(app->manifest, "spec.source"));
    json_t *sources, *objs = NULL, *targets = json_array(), *extra = NULL, *obj;
    struct engine_results dropped = {0};
    char *sha = NULL, *note = NULL;
    int others = 0, rc;
    size_t i;

    json_object_set_new(source, "targetRevision", json_string(want));
    sources = json_pack("[O]", source);
    if ((rc = engine_render(e, app, kc, sources, 0, &sha, &objs, &note)) < 0) {
        /* recorded as the operation, for whoever waits for it */
        char *msg = xasprintf("revision %s: %s", want, err_last());
        err_clear();
        store_operation_dispose(op);
        rc = engine_op_error(e, app, rq, msg, op);
        free(msg);
        goto out;
    }
    engine_sort_desired(objs);
    for (i = 0; i < json_array_size(objs);) {
        obj = json_array_get(objs, i);
        if (!strncmp(doc_get_str(obj, "apiVersion"), "argoproj.io/", 12))
            json_array_remove(objs, i);
        else
            i++;
    }
    engine_project_filter(proj, dest, objs, &dropped, &others);
    engine_track_all(cache, app, objs, targets);
    if (rq->prune && (rc = engine_extraneous(e, kc, cache, app, targets, prev, &extra)) < 0)
        goto out;
    rq->revision = sha;
    rq->source = json_is_array(list) ? sources : source;
    rc = engine_op_begin(e, kc, cache, app, objs, extra, rq, op, running);
out:
    engine_results_dispose(&dropped);
    json_decref(source);
    json_decref(sources);
    json_decref(objs);
    json_decref(targets);
    json_decref(extra);
    free(sha);
    free(note);
    return rc;
}

/* A rollback: the objects of history entry id (tracked already), and
 * what of the app's that they do not hold, as an operation from them. */
static int engine_start_rollback(engine *e, kube_client *kc, kube_cache *cache,
                                 const struct app *app, const struct store_app_status *prev,
                                 const json_t *req, struct store_operation *op)
{
    struct store_history h = {0};
    struct engine_sync_request rq = {0};
    json_t *objs = NULL, *targets = NULL, *extra = NULL, *o, *source = NULL;
    size_t i;
    int rc;
    char *who;

    if ((rc = store_history_get(e->st, app->name,
                                (long long)json_integer_value(json_object_get(req, "id")), &h)) < 0)
        return rc;
    if ((rc = doc_parse_json(&objs, h.manifests_json, strlen(h.manifests_json), "history", NULL)) <
        0)
        goto out;
    targets = json_array();
    json_array_foreach(objs, i, o)
    {
        if (!engine_is_hook(o))
            json_array_append(targets, o);
    }
    if (json_is_true(json_object_get(req, "prune")) &&
        (rc = engine_extraneous(e, kc, cache, app, targets, prev, &extra)) < 0)
        goto out;
    if (h.source_json && h.source_json[0])
        source = json_loads(h.source_json, JSON_DECODE_ANY, NULL);
    who = xasprintf("%s (rollback to history %lld)",
                    json_string_value(json_object_get(req, "user")), h.id);
    rq.initiated_by = who;
    rq.revision = h.revision;
    if (app->create_namespace && app->dest_namespace && app->dest_namespace[0] &&
        (rc = engine_ensure_namespace(kc, app, objs)) < 0) {
        free(who);
        goto out;
    }
    rq.prune = json_is_true(json_object_get(req, "prune"));
    rq.source = source;
    rc = engine_op_start(e, app, objs, extra, &rq, op);
    free(who);
out:
    json_decref(source);
    json_decref(objs);
    json_decref(targets);
    json_decref(extra);
    store_history_dispose(&h);
    return rc;
}

/* One pass (see engine_reconcile); poll: a pass of the run loop, which
 * may use the fetch memo and end at once for a settled app. */
static int engine_pass(engine *e, const char *app_name, const json_t *req, int poll)
{
    const char *req_kind = json_string_value(json_object_get(req, "kind"));
    char *manifest_json = NULL, *project_json = NULL, *note = NULL, *why = NULL;
    json_t *manifest = NULL, *desired = NULL, *targets = NULL, *extra = NULL, *children = NULL;
    struct app app = {0};
    struct store_app_status prev = {0};
    struct store_app_status st = {0};
    struct engine_results res = {0};
    struct store_operation op = {0};
    struct project proj = {0};
    struct project_target dest = {NULL, NULL, NULL};
    struct engine_cluster *cluster = NULL; /* held until out */
    kube_client *kc = NULL;
    kube_cache *cache = NULL;
    char *sha = NULL; /* the commits of the sources */
    struct health_resource *hres = NULL;
    struct health_result *hr = NULL;
    /* out_of_sync: what an operation would change; others: children and
     * kinds edgecd does not run, which no operation fixes */
    int have_prev, have_op, out_of_sync = 0, others_out_of_sync = 0, running = 0, advanced = 0, rc;
    int depends = 1; /* engine_depends_ready's answer, when it was asked */
    int op_failed = 0;
    int ns_changed; /* managedNamespaceMetadata not applied yet */
    size_t i, n = 0;
    json_t *obj;
    int64_t started = time_mono_ms();
    json_int_t gen; /* before anything is read from the watch cache */

    if (poll && json_object_get(e->fresh, app_name)) { /* a refresh was asked for */
        json_object_del(e->fresh, app_name);
        poll = 0;
    }
    if (poll && !req_kind && engine_settled(e, app_name)) {
        __atomic_add_fetch(&e->n_settled, 1, __ATOMIC_RELAXED);
        metrics_hist_observe(&e->reconcile, (double)(time_mono_ms() - started) / 1000.0);
        log_debug("reconciled %s in %.3fs (settled: nothing changed)", app_name,
                  (double)(time_mono_ms() - started) / 1000.0);
        return 0;
    }
    gen = engine_app_gen(e, app_name);
    __atomic_add_fetch(&e->n_full, 1, __ATOMIC_RELAXED);
    have_prev = store_app_status_get(e->st, app_name, &prev) == 0;
    err_clear();
    have_op = store_operation_get(e->st, app_name, 0, &op) == 0;
    err_clear();
    if ((rc = store_app_get(e->st, app_name, &manifest_json)) < 0)
        goto fail;
    if ((rc = doc_parse_json(&manifest, manifest_json, strlen(manifest_json), app_name, NULL)) < 0)
        goto fail;
    if ((rc = app_parse(&app, manifest, app_name)) < 0)
        goto fail;
    if ((rc = engine_cluster_client(e, &app, &cluster)) < 0)
        goto fail;
    kc = cluster->kc;
    cache = cluster->cache;
    dest.server = cluster->server;
    dest.name = cluster->name;
    dest.namespace = app.dest_namespace ? app.dest_namespace : "";
    if ((rc = engine_project_load(e, app.project, &proj, &project_json)) < 0 ||
        (rc = engine_project_admit(e, &proj, &app, &dest)) < 0 ||
        (rc = engine_ignore_rules(e, &app)) < 0)
        goto fail;
    /* Operations need no Git: a running one goes on (terminated if asked),
     * a rollback starts, before the sources are fetched, so both work
     * with the Git server down. */
    if (have_op && (!strcmp(op.phase, "Running") || !strcmp(op.phase, "Terminating"))) {
        if (req_kind && !strcmp(req_kind, "terminate")) {
            free(op.phase);
            op.phase = xstrdup("Terminating");
        } else if (req_kind) {
            engine_event(e, app.name, "Warning", "OperationRefused",
                         "%s not started: another operation is already in progress", req_kind);
        }
        if (engine_op_advance(e, kc, cache, &app, &op, &running) < 0) {
            log_error("app %s: operation: %s", app.name, err_last());
            err_clear();
        }
        advanced = 1;
    } else if (req_kind && !strcmp(req_kind, "rollback")) {
        if (!engine_project_window(&proj, &app, &dest, 1, &why)) {
            engine_event(e, app.name, "Warning", "OperationRefused", "rollback not started: %s",
                         why);
        } else {
            store_operation_dispose(&op);
            have_op = 0;
            if (engine_start_rollback(e, kc, cache, &app, have_prev ? &prev : NULL, req, &op) ==
                0) {
                have_op = 1;
                if (engine_op_advance(e, kc, cache, &app, &op, &running) < 0)
                    log_error("app %s: operation: %s", app.name, err_last());
                advanced = 1;
            } else {
                engine_event(e, app.name, "Warning", "OperationRefused", "rollback not started: %s",
                             err_last());
            }
            err_clear();
        }
    }
    if (running)
        engine_due_soon(e, app.name);
    if ((rc = engine_render(e, &app, kc, NULL, poll, &sha, &desired, &note)) < 0)
        goto fail;
    engine_sort_desired(desired);
    targets = json_array();
    children = json_array();
    for (i = 0; i < json_array_size(desired);) {
        /* Argo CD's own kinds are edgecd's to run, not the cluster's */
        obj = json_array_get(desired, i);
        if (app_is_application(obj) || project_is_project(obj) || appset_is_appset(obj)) {
            json_array_append(children, obj);
            json_array_remove(desired, i);
        } else if (!strncmp(doc_get_str(obj, "apiVersion"), "argoproj.io/", 12)) {
            char *msg = xasprintf("%s objects are not run by this version of edgecd (only "
                                  "Applications, AppProjects and ApplicationSets are registered)",
                                  doc_get_str(obj, "kind"));
            others_out_of_sync = 1;
            engine_results_add(&res, obj, "OutOfSync", msg);
            free(msg);
            json_array_remove(desired, i);
        } else {
            i++;
        }
    }
    /* what the project does not allow is neither compared nor synced */
    engine_project_filter(&proj, &dest, desired, &res, &others_out_of_sync);
    engine_track_all(cache, &app, desired, targets);
    /* Kinds deployed earlier are watched too, so their leftovers are
     * found in the cache. */
    for (i = 0; have_prev && i < prev.n_resources; i++) {
        const struct store_resource *r = &prev.resources[i];
        char *api;
        if (!engine_prev_in_cluster(r))
            continue;
        api = r->group[0] ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
        if (kube_cache_watch(cache, api, r->kind) < 0)
            err_clear();
        free(api);
    }

    /* compare, and the health of what is live */
    n = json_array_size(targets);
    hr = xcalloc(n + 1, sizeof(*hr));
    hres = xcalloc(n + 1, sizeof(*hres));
    json_array_foreach(targets, i, obj)
    {
        struct engine_verdict v;
        struct store_resource *r;
        hres[i].target = obj;
        if (engine_compare(e, kc, cache, obj, &v) < 0) {
            out_of_sync = 1;
            engine_results_add(&res, obj, "Unknown", err_last());
            err_clear();
            continue;
        }
        engine_seen(e, obj, v.live_rv);
        r = engine_results_add(&res, obj, v.status, v.foreign ? "tracked as another object" : "");
        if (strcmp(v.status, "Synced") != 0)
            out_of_sync = 1;
        if (v.live) {
            health_assess(&hr[i], e->health, v.live);
            hres[i].live = json_incref(v.live);
            hres[i].health = &hr[i];
            r->health = xstrdup(health_status_name(hr[i].status));
            r->health_message = xstrdup(hr[i].message);
        } else {
            r->health = xstrdup(health_status_name(HEALTH_MISSING));
        }
        r->wave = engine_wave(obj);
        engine_verdict_dispose(&v);
    }
    engine_diff_remember(e, app.name, targets);
    if ((rc = engine_extraneous(e, kc, cache, &app, targets, have_prev ? &prev : NULL, &extra)) < 0)
        goto fail;
    json_array_foreach(extra, i, obj)
    {
        const char *co =
            doc_get_str(obj, "metadata.annotations.argocd.argoproj.io/compare-options");
        int ignored = co && strstr(co, "IgnoreExtraneous") != NULL;
        if (!ignored && !engine_sync_option(&app, NULL, "IgnoreExtraneous=true"))
            out_of_sync = 1;
        else
            ignored = 1;
        engine_results_add(&res, obj, "OutOfSync",
                           ignored ? ENGINE_MSG_IGNORE_EXTRANEOUS
                           : json_is_true(json_object_get(obj, "noPrune"))
                               ? "requires pruning (Prune=false: not pruned)"
                               : "requires pruning");
    }

    if ((json_array_size(children) || engine_had_children(have_prev ? &prev : NULL)) &&
        (rc = engine_children(e, &app, children, app.automated, &res, &others_out_of_sync)) < 0)
        goto fail;

    /* managedNamespaceMetadata changed since an operation applied it
     * (Argo CD's HasChangedManagedNamespaceMetadata): OutOfSync, so that
     * the next sync applies it */
    if ((ns_changed = engine_op_ns_metadata_changed(&app, have_op ? &op : NULL)))
        out_of_sync = 1;

    /* the operation: go on with a running one (terminated if asked), start
     * the one an operator asked for, or one automated sync decides on */
    if (advanced) {
        /* a running operation went on above */
    } else if (req_kind && !strcmp(req_kind, "sync")) {
        if (!engine_project_window(&proj, &app, &dest, 1, &why)) {
            engine_event(e, app.name, "Warning", "OperationRefused", "%s not started: %s", req_kind,
                         why);
        } else {
            struct engine_sync_request rq = {0};
            char *who = xstrdup(json_string_value(json_object_get(req, "user")));
            rq.initiated_by = who;
            rq.prune = json_is_true(json_object_get(req, "prune"));
            rq.dry_run = json_is_true(json_object_get(req, "dryRun"));
            rq.resources = json_object_get(req, "resources");
            rq.revision = sha;
            if (json_is_string(json_object_get(req, "revision")))
                rc = engine_sync_revision(
                    e, kc, cache, &app, &proj, &dest, have_prev ? &prev : NULL,
                    json_string_value(json_object_get(req, "revision")), &rq, &op, &running);
            else
                rc = engine_op_begin(e, kc, cache, &app, desired, extra, &rq, &op, &running);
            have_op = advanced = rc == 0;
            free(who);
        }
        if (rc < 0) {
            engine_event(e, app.name, "Warning", "OperationRefused", "%s not started: %s", req_kind,
                         err_last());
        }
    } else if (engine_should_autosync(&app, sha, out_of_sync, n, json_array_size(extra),
                                      have_op ? &op : NULL, &why) &&
               engine_not_paused(e, &app, &why) &&
               engine_project_window(&proj, &app, &dest, 0, &why) &&
               (depends = engine_depends_ready(e, &app, &why)) > 0) {
        struct engine_sync_request rq = {0};
        rq.initiated_by = "automated";
        rq.prune = app.prune;
        rq.revision = sha;
        rc = engine_op_begin(e, kc, cache, &app, desired, extra, &rq, &op, &running);
        have_op = advanced = rc == 0;
    }
    if (depends < 0) { /* a dependency cycle */
        rc = depends;
        goto fail;
    }
    if (depends == 0) /* look again soon: the dependency may be ready */
        engine_due_soon(e, app.name);
    if (rc < 0) {
        log_error("app %s: operation: %s", app.name, err_last());
        err_clear();
        rc = 0;
        op_failed = 1;
    }
    /* what an operation did in this pass shows until the next compare */
    if (advanced && op.state_json) {
        char *op_rev = engine_op_revision(&op);
        if (!strcmp(sha, op_rev)) {
            engine_results_from_op(&res, op.state_json);
            out_of_sync = engine_any_out_of_sync(&res);
        }
        free(op_rev);
        ns_changed = engine_op_ns_metadata_changed(&app, &op);
    }
    if (running)
        engine_due_soon(e, app.name);

    st.name = app.name;
    st.sync_status = out_of_sync || others_out_of_sync ? "OutOfSync" : "Synced";
    st.revision = sha;
    st.last_error = "";
    st.message = why    ? why
                 : note ? note
                 : ns_changed
                     ? "spec.syncPolicy.managedNamespaceMetadata changed since the last sync"
                     : "";
    st.health = (char *)health_status_name(health_app(hres, n));
    st.health_message = "";
    st.resources = res.v;
    st.n_resources = res.n;
    if (store_app_status_put(e->st, &st) < 0) {
        log_error("app %s: recording status: %s", app_name, err_last());
        op_failed = 1;
    }
    engine_health_events(e, app.name, have_prev ? &prev : NULL, &st);
    if (!advanced && !running && !op_failed && depends > 0 && !why && !note &&
        json_array_size(children) == 0 && !engine_had_children(have_prev ? &prev : NULL))
        engine_settle(e, &app, manifest_json, project_json, gen);
    else
        json_object_del(e->settled, app_name);
    rc = 0;
    goto out;
fail:
    json_object_del(e->settled, app_name);
    engine_record_failure(e, app_name, have_prev ? &prev : NULL, err_last());
out:
    for (i = 0; hr && i < n; i++) {
        health_result_dispose(&hr[i]);
        json_decref((json_t *)hres[i].live);
    }
    free(hr);
    free(hres);
    doc_ignore_free(e->ignore);
    e->ignore = NULL;
    free(e->ignore_key);
    e->ignore_key = NULL;
    engine_results_dispose(&res);
    if (have_prev)
        store_app_status_dispose(&prev);
    store_operation_dispose(&op);
    project_dispose(&proj);
    app_dispose(&app);
    json_decref(desired);
    json_decref(targets);
    json_decref(children);
    json_decref(extra);
    json_decref(manifest);
    free(manifest_json);
    free(project_json);
    free(note);
    free(why);
    free(sha);
    engine_cluster_release(cluster);
    metrics_hist_observe(&e->reconcile, (double)(time_mono_ms() - started) / 1000.0);
    log_debug("reconciled %s in %.3fs", app_name, (double)(time_mono_ms() - started) / 1000.0);
    return rc;
}

/* Reconcile the apps the watch caches marked since the last look. */
static void engine_run_dirty(engine *e, volatile sig_atomic_t *stop)
{
    char **names = NULL;
    size_t n = 0;
    json_t *dirty;

    pthread_mutex_lock(&e->mu);
    dirty = e->dirty;
    if (json_object_size(dirty) == 0) {
        pthread_mutex_unlock(&e->mu);
        return;
    }
    e->dirty = json_object();
    pthread_mutex_unlock(&e->mu);
    if (store_app_list(e->st, &names, &n) < 0)
        log_error("listing applications: %s", err_last());
    for (size_t i = 0; i < n && !*stop; i++) {
        char label[64];
        engine_label_value(names[i], label);
        if (json_object_get(dirty, label)) {
            log_info("app %s: changed in the cluster; reconciling now", names[i]);
            engine_pass(e, names[i], NULL, 1);
        }
    }
    store_names_free(names, n);
    json_decref(dirty);
}

/* ---- polling and refresh ---- */

/* Whether a push of revision (a branch name, "refs/heads/x", "refs/tags/x",
 * or "" for any) concerns an app that follows target. */
static int engine_revision_matches(const char *target, const char *revision)
{
    const char *branch = revision;

    if (!revision || !revision[0] || !target || !target[0] || !strcmp(target, "HEAD"))
        return 1;
    if (str_has_prefix(revision, "refs/tags/"))
        return 1; /* tags and tag constraints: let the pass decide */
    if (str_has_prefix(revision, "refs/heads/"))
        branch = revision + strlen("refs/heads/");
    return !strcmp(target, branch) ||
           (str_has_prefix(target, "refs/heads/") && !strcmp(target + 11, branch));
}

void engine_refresh(engine *e, const char *repo_url, const char *revision)
{
    pthread_mutex_lock(&e->mu);
    json_array_append_new(e->refresh, json_pack("{s:s, s:s}", "repo", repo_url ? repo_url : "",
                                                "revision", revision ? revision : ""));
    pthread_mutex_unlock(&e->mu);
    engine_appsets_refresh(e, repo_url);
}

void engine_refresh_app(engine *e, const char *app_name)
{
    pthread_mutex_lock(&e->mu);
    json_array_append_new(e->refresh, json_pack("{s:s}", "app", app_name));
    pthread_mutex_unlock(&e->mu);
}

void engine_refresh_app_hard(engine *e, const char *app_name)
{
    pthread_mutex_lock(&e->mu);
    json_array_append_new(e->refresh, json_pack("{s:s, s:b}", "app", app_name, "hard", 1));
    pthread_mutex_unlock(&e->mu);
}

/* Empty the render cache (a hard refresh): the cache is keyed by what
 * goes into a render, not by app, so all of it goes; the other apps
 * render again once on their next pass. Run loop only. */
static void engine_render_cache_drop(engine *e)
{
    for (long i = 0; e->cache && i < e->cfg->render_cache_entries; i++) {
        free(e->cache[i].text);
        e->cache[i].text = NULL;
        e->cache[i].used = 0;
    }
}

static int engine_request_check(engine *e, const char *app, int want_running)
{
    struct store_operation op = {0};
    char *m = NULL;
    int rc = store_app_get(e->st, app, &m), running;
    free(m);
    if (rc < 0)
        return rc;
    running = store_operation_get(e->st, app, 0, &op) == 0 &&
              (!strcmp(op.phase, "Running") || !strcmp(op.phase, "Terminating"));
    err_clear();
    store_operation_dispose(&op);
    if (want_running && !running)
        return err_set(ERR_CONFLICT, "application %s has no operation running", app);
    if (!want_running && running)
        return err_set(ERR_CONFLICT, "another operation is already in progress on %s", app);
    return 0;
}

static void engine_request_add(engine *e, json_t *req)
{
    pthread_mutex_lock(&e->mu);
    json_array_append_new(e->requests, req);
    pthread_mutex_unlock(&e->mu);
}

/* The stored Application name, parsed into *a (dispose it). */
static int engine_request_app(engine *e, const char *name, struct app *a)
{
    char *text = NULL;
    json_t *m = NULL;
    int rc;
    memset(a, 0, sizeof(*a));
    if ((rc = store_app_get(e->st, name, &text)) == 0 &&
        (rc = doc_parse_json(&m, text, strlen(text), name, NULL)) == 0)
        rc = app_parse(a, m, name);
    json_decref(m);
    free(text);
    return rc;
}

/* Whether a sync to revision may be asked for, as Argo CD's API decides
 * it before any operation exists. */
static int engine_revision_allowed(engine *e, const char *name, const char *revision, int dry_run)
{
    struct app a;
    int rc = engine_request_app(e, name, &a);
    if (rc < 0)
        goto out;
    if (json_is_array(doc_get(a.manifest, "spec.sources")) && a.n_sources > 1) {
        rc = err_set(ERR_INVALID,
                     "Cannot sync to %s: application %s has %zu sources; edgecd takes a revision "
                     "only for single-source applications (no --revisions/--source-positions)",
                     revision, name, a.n_sources);
        goto out;
    }
    /* Argo CD compares the words as written, HEAD standing for "" */
    if (a.automated && !dry_run && strcmp(revision, a.target_revision) != 0)
        rc = err_set(ERR_INVALID, "Cannot sync to %s: auto-sync currently set to %s", revision,
                     a.target_revision);
out:
    app_dispose(&a);
    return rc;
}

int engine_request_sync(engine *e, const char *app, const struct engine_sync_options *o)
{
    const char *rev = o->revision && o->revision[0] ? o->revision : NULL;
    int rc = engine_request_check(e, app, 0);
    if (rc < 0)
        return rc;
    if (o->resources && !json_is_array(o->resources))
        return err_set(ERR_INVALID, "resources: must be a list of \"group:kind:name\"");
    if (rev && (rc = engine_revision_allowed(e, app, rev, o->dry_run)) < 0)
        return rc;
    engine_request_add(e, json_pack("{s:s, s:s, s:b, s:b, s:O?, s:s, s:s?}", "app", app, "kind",
                                    "sync", "prune", o->prune, "dryRun", o->dry_run, "resources",
                                    o->resources, "user", o->user ? o->user : "user", "revision",
                                    rev));
    return 0;
}

int engine_request_terminate(engine *e, const char *app)
{
    int rc = engine_request_check(e, app, 1);
    if (rc < 0)
        return rc;
    engine_request_add(e, json_pack("{s:s, s:s}", "app", app, "kind", "terminate"));
    return 0;
}

int engine_request_delete(engine *e, const char *app, int cascade, const char *user)
{
    char *m = NULL;
    int rc = store_app_get(e->st, app, &m);
    free(m);
    if (rc < 0)
        return rc;
    engine_request_add(e, json_pack("{s:s, s:s, s:b, s:s}", "app", app, "kind", "delete", "cascade",
                                    cascade, "user", user ? user : "user"));
    return 0;
}

/* Carry out a delete request: the tracked objects first (cascade), then
 * the app and everything the store keeps of it. */
static int engine_delete_app(engine *e, const char *name, const json_t *req)
{
    json_t *manifest = NULL;
    char *text = NULL;
    int rc = 0, cascade = json_is_true(json_object_get(req, "cascade"));
    size_t kept = 0;

    if (cascade && ((rc = store_app_get(e->st, name, &text)) < 0 ||
                    (rc = doc_parse_json(&manifest, text, strlen(text), name, NULL)) < 0 ||
                    (rc = engine_delete_tracked(e, name, manifest, &kept)) < 0))
        goto out;
    if ((rc = store_app_delete(e->st, name)) == 0)
        log_info("app %s: deleted by %s%s (%zu object(s) kept by Delete=false)", name,
                 json_string_value(json_object_get(req, "user")),
                 cascade ? " with its resources" : "; its resources keep running", kept);
out:
    if (rc < 0) {
        log_error("app %s: delete: %s", name, err_last());
        engine_event(e, name, "Warning", "DeleteFailed", "%s", err_last());
        err_clear();
    }
    pthread_mutex_lock(&e->mu);
    json_object_del(e->desired, name);
    pthread_mutex_unlock(&e->mu);
    json_decref(manifest);
    free(text);
    return rc;
}

int engine_request_rollback(engine *e, const char *app, long long id, int prune, const char *user)
{
    struct store_history h = {0};
    char *text = NULL;
    json_t *m = NULL;
    int rc = engine_request_check(e, app, 0), automated;
    if (rc < 0)
        return rc;
    if ((rc = store_app_get(e->st, app, &text)) < 0)
        return rc;
    rc = doc_parse_json(&m, text, strlen(text), app, NULL);
    free(text);
    if (rc < 0)
        return rc;
    automated = json_is_object(doc_get(m, "spec.syncPolicy.automated")) &&
                !json_is_false(doc_get(m, "spec.syncPolicy.automated.enabled"));
    json_decref(m);
    if (automated)
        return err_set(ERR_INVALID, "rollback cannot be initiated when auto-sync is enabled");
    if ((rc = store_history_get(e->st, app, id, &h)) < 0)
        return rc;
    store_history_dispose(&h);
    engine_request_add(e,
                       json_pack("{s:s, s:s, s:I, s:b, s:s}", "app", app, "kind", "rollback", "id",
                                 (json_int_t)id, "prune", prune, "user", user ? user : "user"));
    return 0;
}

/* Carry out the queued operation requests. */
static void engine_take_requests(engine *e)
{
    json_t *reqs, *r;
    size_t k;
    pthread_mutex_lock(&e->mu);
    reqs = e->requests;
    e->requests = json_array();
    pthread_mutex_unlock(&e->mu);
    json_array_foreach(reqs, k, r)
    {
        const char *app = json_string_value(json_object_get(r, "app"));
        if (!strcmp(json_string_value(json_object_get(r, "kind")), "delete"))
            engine_delete_app(e, app, r);
        else
            engine_reconcile_request(e, app, r);
    }
    json_decref(reqs);
}

/* Make the apps that the queued refresh requests name due now. */
static void engine_take_refreshes(engine *e, char **names, size_t n)
{
    json_t *reqs, *r;
    size_t i, k;

    pthread_mutex_lock(&e->mu);
    reqs = e->refresh;
    e->refresh = json_array();
    pthread_mutex_unlock(&e->mu);
    json_array_foreach(reqs, k, r)
    {
        const char *app = json_string_value(json_object_get(r, "app"));
        char *want = app ? NULL : engine_repo_key(json_string_value(json_object_get(r, "repo")));
        const char *rev = json_string_value(json_object_get(r, "revision"));

        /* asked from outside (a webhook): fetch again, whenever the last
         * fetch was */
        if (want && !json_is_true(json_object_get(r, "fetched")))
            json_object_del(e->fetched, want);
        for (i = 0; i < n; i++) {
            char *manifest_json = NULL, *have;
            json_t *manifest = NULL;
            struct app a = {0};
            int hit = 0;

            if (app) {
                hit = !strcmp(app, names[i]);
            } else if (store_app_get(e->st, names[i], &manifest_json) == 0 &&
                       doc_parse_json(&manifest, manifest_json, strlen(manifest_json), names[i],
                                      NULL) == 0 &&
                       app_parse(&a, manifest, names[i]) == 0) {
                /* any of its sources */
                for (size_t j = 0; j < a.n_sources && !hit; j++) {
                    have = engine_repo_key(a.sources[j].repo_url);
                    hit = !strcmp(have, want) &&
                          engine_revision_matches(a.sources[j].target_revision, rev);
                    free(have);
                }
            }
            err_clear();
            if (hit && json_is_true(json_object_get(r, "hard"))) {
                log_info("app %s: hard refresh requested", names[i]);
                engine_render_cache_drop(e);
                json_object_del(e->settled, names[i]);
            }
            if (hit) {
                log_info("app %s: refresh requested", names[i]);
                json_object_set_new(e->due, names[i], json_integer(0));
                if (!json_is_true(json_object_get(r, "fetched")))
                    json_object_set_new(e->fresh, names[i], json_true());
            }
            app_dispose(&a);
            json_decref(manifest);
            free(manifest_json);
        }
        free(want);
    }
    json_decref(reqs);
}

/* The next poll of an app: the interval plus a random share of the
 * jitter (capped at a quarter of the interval), so apps that started
 * together do not all fetch at once. */
/* How often the run loop gives free memory back (engine_trim_memory). */
#define ENGINE_TRIM_MS 10000

static int64_t engine_next_poll(const engine *e, int64_t now)
{
    uint32_t r = 0;
    int64_t jitter = e->cfg->poll_jitter_seconds * 1000;

    /* A short interval keeps its meaning: at most a quarter of it. */
    if (jitter > e->cfg->poll_seconds * 250)
        jitter = e->cfg->poll_seconds * 250;

    if (jitter > 0 && util_random(&r, sizeof(r)) == 0)
        jitter = (int64_t)(r % (uint32_t)(jitter + 1));
    else
        jitter = 0;
    return now + e->cfg->poll_seconds * 1000 + jitter;
}

/* Drop the entries of apps (keys) that are not in names any more. */
static void engine_forget_deleted(json_t *obj, const json_t *names)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, v)
    {
        if (!json_object_get(names, key))
            json_object_del(obj, key);
    }
}

/* Give memory that is free but still resident back to the system. glibc
 * gives each thread that allocates its own arena (each watch thread is
 * one), and what a burst of watch events (a rollout's status updates)
 * freed stays resident there until trimmed. */
static void engine_trim_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void engine_run(engine *e, volatile sig_atomic_t *stop)
{
    int64_t trimmed = time_mono_ms();

    while (!*stop) {
        char **names = NULL;
        size_t n = 0, i;
        json_t *due;

        if (store_app_list(e->st, &names, &n) < 0)
            log_error("listing applications: %s", err_last());
        engine_take_refreshes(e, names, n);
        engine_take_requests(e);
        engine_appsets_run(e, stop);
        /* forget apps that were deleted */
        due = json_object();
        for (i = 0; i < n; i++) {
            json_t *v = json_object_get(e->due, names[i]);
            json_object_set_new(due, names[i], v ? json_incref(v) : json_integer(0));
        }
        json_decref(e->due);
        e->due = due;
        engine_forget_deleted(e->settled, e->due);
        engine_forget_deleted(e->fresh, e->due);
        for (i = 0; i < n && !*stop; i++) {
            int64_t now = time_mono_ms();
            if (json_integer_value(json_object_get(e->due, names[i])) > now)
                continue;
            /* set first: a pass with an operation still running asks
             * for an earlier look itself (engine_due_soon) */
            json_object_set_new(e->due, names[i],
                                json_integer(engine_next_poll(e, time_mono_ms())));
            engine_pass(e, names[i], NULL, 1);
            /* drift seen by a watch goes before the rest of a long round
             * of polls (selfHeal within seconds) */
            engine_run_dirty(e, stop);
        }
        store_names_free(names, n);
        if (!*stop)
            __atomic_store_n(&e->first_round_done, 1, __ATOMIC_RELEASE);
        if (time_mono_ms() - trimmed >= ENGINE_TRIM_MS) {
            engine_trim_memory();
            trimmed = time_mono_ms();
        }
        if (!*stop) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            engine_run_dirty(e, stop);
        }
    }
}
