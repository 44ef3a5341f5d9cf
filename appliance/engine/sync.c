/*
 * Sync operations, as Argo CD runs them, as persisted state machines.
 *
 * An operation is started with the desired objects of one revision (kept
 * in the store beside its state, so it never needs Git again: a restart
 * resumes it, a rollback is an operation started from a history entry's
 * objects). Its tasks are:
 *
 *   - every desired object that is not a hook: phase Sync, its wave
 *     (argocd.argoproj.io/sync-wave, default 0);
 *   - every hook (argocd.argoproj.io/hook: PreSync, Sync, PostSync,
 *     SyncFail, comma-separated; Helm's hook annotations mapped as Argo CD
 *     maps them), once per phase it names, at its wave (helm.sh/hook-weight
 *     when it has no sync-wave); `Skip` objects are never applied;
 *   - every tracked live object no longer desired, when pruning: phase
 *     Sync at its own wave, or after every wave with PruneLast=true.
 *
 * Tasks are grouped into steps by (phase, wave), in phase order PreSync,
 * Sync, PostSync and ascending wave; within a step, Argo CD's kind order,
 * then name, and prunes in the reverse kind order. Each pass of the app
 * does what it can:
 *
 *   apply the current step (once; the state is written before and after)
 *   -> its hooks must complete (Job/Pod succeeded, others once created)
 *      and, when another step follows, its resources must be healthy
 *      (Degraded fails the operation)
 *   -> after syncWaveDelay, the next step.
 *
 * A failure (an apply refused, a hook failed, a resource Degraded) runs
 * the SyncFail hooks and ends the operation Failed. At the end, hooks are
 * deleted by their hook-delete-policy (BeforeHookCreation, the default,
 * deletes the previous run's hook just before creating it again).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "engine/health.h"
#include "engine/internal.h"

#define SYNC_ANN_HOOK "argocd.argoproj.io/hook"
#define SYNC_ANN_HOOK_DELETE "argocd.argoproj.io/hook-delete-policy"
#define SYNC_ANN_WAVE "argocd.argoproj.io/sync-wave"
#define SYNC_ANN_OPTIONS "argocd.argoproj.io/sync-options"
#define SYNC_ANN_HELM_HOOK "helm.sh/hook"
#define SYNC_ANN_HELM_WEIGHT "helm.sh/hook-weight"
#define SYNC_ANN_HELM_DELETE "helm.sh/hook-delete-policy"
/* on a hook we created: which operation and task it belongs to */
#define SYNC_ANN_HOOK_OF "edgecd.io/hook-of"

enum sync_phase { PHASE_PRESYNC, PHASE_SYNC, PHASE_POSTSYNC, PHASE_SYNCFAIL, PHASE_N };
static const char *const sync_phase_names[PHASE_N] = {"PreSync", "Sync", "PostSync", "SyncFail"};

enum {
    DEL_BEFORE_CREATION = 1,
    DEL_SUCCEEDED = 2,
    DEL_FAILED = 4,
};

struct sync_task {
    const json_t *obj; /* desired object, or the live one for a prune */
    int phase;
    int wave;
    int hook;  /* a hook (obj is its template) */
    int prune; /* a prune: obj is live */
    size_t rank;
    const char *kind, *name;
    char *key; /* names the task in the results */
};

struct sync_tasks {
    struct sync_task *v;
    size_t n, cap;
};

/* ---- reading annotations ---- */

static const char *sync_ann(const json_t *obj, const char *name)
{
    const json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
    return json_string_value(json_object_get(a, name));
}

/* 1 if the comma-separated list holds word (spaces around items allowed). */
static int sync_list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && !strncmp(p, word, n))
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* A resource's sync option (annotation) or the app's (syncOptions). */
int engine_sync_option(const struct app *app, const json_t *obj, const char *option)
{
    const json_t *list = doc_get(app->manifest, "spec.syncPolicy.syncOptions"), *v;
    size_t i;
    if (obj && sync_list_has(sync_ann(obj, SYNC_ANN_OPTIONS), option))
        return 1;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), option))
            return 1;
    }
    return 0;
}

/* The hook phases of obj as a bit mask (1 << phase); 0 if not a hook, -1
 * if it must never be applied (Skip, or a Helm hook Argo CD ignores). */
static int sync_hook_phases(const json_t *obj)
{
    const char *h = sync_ann(obj, SYNC_ANN_HOOK), *helm = sync_ann(obj, SYNC_ANN_HELM_HOOK);
    int mask = 0, i;
    if (h) {
        if (sync_list_has(h, "Skip"))
            return -1;
        for (i = 0; i < PHASE_N; i++)
            if (sync_list_has(h, sync_phase_names[i]))
                mask |= 1 << i;
        return mask;
    }
    if (helm) {
        if (sync_list_has(helm, "pre-install") || sync_list_has(helm, "pre-upgrade") ||
            sync_list_has(helm, "crd-install"))
            mask |= 1 << PHASE_PRESYNC;
        if (sync_list_has(helm, "post-install") || sync_list_has(helm, "post-upgrade"))
            mask |= 1 << PHASE_POSTSYNC;
        /* test, delete and rollback hooks have no Argo CD meaning */
        return mask ? mask : -1;
    }
    return 0;
}

int engine_wave(const json_t *obj)
{
    const char *w = sync_ann(obj, SYNC_ANN_WAVE);
    long v = 0;
    if (!w && sync_ann(obj, SYNC_ANN_HELM_HOOK))
        w = sync_ann(obj, SYNC_ANN_HELM_WEIGHT);
    if (w && str_to_long(w, INT_MIN / 2, INT_MAX / 2, SYNC_ANN_WAVE, &v) < 0) {
        err_clear();
        v = 0;
    }
    return (int)v;
}

static int sync_delete_policy(const json_t *obj)
{
    const char *p = sync_ann(obj, SYNC_ANN_HOOK_DELETE),
               *helm = sync_ann(obj, SYNC_ANN_HELM_DELETE);
    int m = 0;
    if (p) {
        m |= sync_list_has(p, "BeforeHookCreation") ? DEL_BEFORE_CREATION : 0;
        m |= sync_list_has(p, "HookSucceeded") ? DEL_SUCCEEDED : 0;
        m |= sync_list_has(p, "HookFailed") ? DEL_FAILED : 0;
    } else if (helm) {
        m |= sync_list_has(helm, "before-hook-creation") ? DEL_BEFORE_CREATION : 0;
        m |= sync_list_has(helm, "hook-succeeded") ? DEL_SUCCEEDED : 0;
        m |= sync_list_has(helm, "hook-failed") ? DEL_FAILED : 0;
    }
    return m ? m : DEL_BEFORE_CREATION;
}

/* 1 if obj is a hook (has hook annotations, Skip included). */
int engine_is_hook(const json_t *obj)
{
    return sync_hook_phases(obj) != 0;
}

/* ---- tasks ---- */

static void sync_task_add(struct sync_tasks *t, const json_t *obj, int phase, int wave, int hook,
                          int prune)
{
    struct sync_task *k;
    const char *ns = doc_get_str(obj, "metadata.namespace");
    const char *name = doc_get_str(obj, "metadata.name");
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    k = &t->v[t->n++];
    memset(k, 0, sizeof(*k));
    k->obj = obj;
    k->phase = phase;
    k->wave = wave;
    k->hook = hook;
    k->prune = prune;
    k->kind = doc_get_str(obj, "kind");
    if (!name)
        name = doc_get_str(obj, "metadata.generateName");
    k->name = name ? name : "";
    k->rank = engine_kind_rank(k->kind);
    k->key = xasprintf("%s%s/%s/%s/%s%s%s", hook ? sync_phase_names[phase] : "", hook ? ":" : "",
                       doc_get_str(obj, "apiVersion"), k->kind, ns ? ns : "", k->name,
                       prune ? ":prune" : "");
}

static void sync_tasks_dispose(struct sync_tasks *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].key);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

static int sync_task_cmp(const void *pa, const void *pb)
{
    const struct sync_task *a = pa, *b = pb;
    int c;
    if (a->phase != b->phase)
        return a->phase < b->phase ? -1 : 1;
    if (a->wave != b->wave)
        return a->wave < b->wave ? -1 : 1;
    if (a->prune != b->prune) /* applies first, then prunes */
        return a->prune ? 1 : -1;
    if (a->rank != b->rank) /* prunes in reverse kind order */
        return (a->rank < b->rank) == !a->prune ? -1 : 1;
    if ((c = strcmp(a->kind, b->kind)) != 0)
        return c;
    return strcmp(a->name, b->name);
}

/* "group:kind:name" as Argo CD's --resource (group may be empty). */
static int sync_selected(const json_t *selection, const json_t *obj)
{
    const json_t *v;
    size_t i;
    char *group, *version;
    int hit = 0;
    if (!json_is_array(selection))
        return 1;
    engine_split_api_version(doc_get_str(obj, "apiVersion"), &group, &version);
    json_array_foreach(selection, i, v)
    {
        char *want = xasprintf("%s:%s:%s", group, doc_get_str(obj, "kind"),
                               doc_get_str(obj, "metadata.name"));
        const char *s = json_string_value(v);
        hit = s && !strcmp(s, want);
        free(want);
        if (hit)
            break;
    }
    free(group);
    free(version);
    return hit;
}

/* Every task of the operation: from its desired objects and the prune
 * list recorded when it started, in step order. */
static void sync_plan(struct sync_tasks *t, const json_t *manifests, const json_t *state)
{
    const json_t *obj, *selection = json_object_get(state, "resources");
    const json_t *prunes = json_object_get(state, "prune");
    size_t i;
    json_array_foreach(manifests, i, obj)
    {
        int phases = sync_hook_phases(obj), p;
        if (phases < 0)
            continue;
        if (phases == 0) {
            if (sync_selected(selection, obj))
                sync_task_add(t, obj, PHASE_SYNC, engine_wave(obj), 0, 0);
            continue;
        }
        if (json_is_array(selection)) /* selective syncs run no hooks, as in Argo CD */
            continue;
        for (p = 0; p < PHASE_N; p++)
            if (phases & (1 << p))
                sync_task_add(t, obj, p, engine_wave(obj), 1, 0);
    }
    json_array_foreach(prunes, i, obj)
    {
        sync_task_add(t, obj, PHASE_SYNC,
                      json_is_true(json_object_get(obj, "pruneLast")) ? INT_MAX : engine_wave(obj),
                      0, 1);
    }
    qsort(t->v, t->n, sizeof(*t->v), sync_task_cmp);
}

/* The steps: [first, end) index ranges of t with the same phase and wave;
 * SyncFail tasks only when failing is set, and then only they. */
static size_t sync_steps(const struct sync_tasks *t, int failing, size_t (*ranges)[2], size_t max)
{
    size_t n = 0, i = 0;
    while (i < t->n) {
        size_t j = i;
        while (j < t->n && t->v[j].phase == t->v[i].phase && t->v[j].wave == t->v[i].wave)
            j++;
        if ((t->v[i].phase == PHASE_SYNCFAIL) == (failing != 0) && n < max) {
            ranges[n][0] = i;
            ranges[n][1] = j;
            n++;
        }
        i = j;
    }
    return n;
}

/* ---- results ---- */

static json_t *sync_result(json_t *state, const struct sync_task *k)
{
    json_t *results = json_object_get(state, "results"), *r;
    if (!json_is_object(results)) {
        results = json_object();
        json_object_set_new(state, "results", results);
    }
    r = json_object_get(results, k->key);
    if (!r) {
        char *group, *version;
        const char *ns = doc_get_str(k->obj, "metadata.namespace");
        engine_split_api_version(doc_get_str(k->obj, "apiVersion"), &group, &version);
        r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "group", group,
                      "version", version, "kind", k->kind, "namespace", ns ? ns : "", "name",
                      k->name, "hookType", k->hook ? sync_phase_names[k->phase] : "", "syncPhase",
                      sync_phase_names[k->phase], "wave", k->wave, "status", "", "message", "");
        json_object_set_new(results, k->key, r);
        free(group);
        free(version);
    }
    return r;
}

static void sync_set(json_t *r, const char *status, const char *message)
{
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "message", json_string(message ? message : ""));
}

/* ---- before the first step: Argo CD's dry run of every task ---- */

/* 1 if a CustomResourceDefinition among manifests defines group/kind. */
static int sync_crd_defines(const json_t *manifests, const char *group, const char *kind)
{
    const json_t *obj;
    size_t i;
    json_array_foreach(manifests, i, obj)
    {
        const char *g = doc_get_str(obj, "spec.group"), *k = doc_get_str(obj, "spec.names.kind");
        if (!strcmp(doc_get_str(obj, "kind"), "CustomResourceDefinition") &&
            str_has_prefix(doc_get_str(obj, "apiVersion"), "apiextensions.k8s.io/") && g && k &&
            !strcmp(g, group) && !strcmp(k, kind))
            return 1;
    }
    return 0;
}

/* Argo CD asks the API server about every task's kind before anything is
 * applied: a kind it does not know fails the operation at once, with
 * nothing applied, unless a CustomResourceDefinition of the same
 * operation defines it or SkipDryRunOnMissingResource=true is set (the
 * object's sync-options or the app's syncOptions: its CRD comes from
 * elsewhere, e.g. an operator this sync installs). Such a task is marked
 * skipDryRun and only met at its wave, when the kind should exist. 0, or
 * ERR_NOTFOUND naming the first kind not found (each such task's result
 * says so). Other errors are left for the task's own wave. */
static int sync_preflight(kube_client *kc, const struct app *app, const struct sync_tasks *t,
                          const json_t *manifests, json_t *state)
{
    int rc = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct sync_task *k = &t->v[i];
        const struct kube_resource *res;
        const char *api = doc_get_str(k->obj, "apiVersion");
        char *group, *version, *msg;
        json_t *r;
        int found;
        if (k->prune)
            continue;
        found = kube_client_resource(kc, api, k->kind, &res);
        err_clear();
        if (found != ERR_NOTFOUND)
            continue;
        r = sync_result(state, k);
        engine_split_api_version(api, &group, &version);
        if (engine_sync_option(app, k->obj, "SkipDryRunOnMissingResource=true") ||
            sync_crd_defines(manifests, group, k->kind)) {
            json_object_set_new(r, "skipDryRun", json_true());
        } else {
            msg = xasprintf("the server could not find the requested resource: kind %s of %s is "
                            "not known to the cluster (install its CustomResourceDefinition "
                            "first, or set SkipDryRunOnMissingResource=true)",
                            k->kind, api);
            sync_set(r, "SyncFailed", msg);
            if (rc == 0)
                rc = err_set(ERR_NOTFOUND, "%s %s: %s", k->kind, k->name, msg);
            free(msg);
        }
        free(group);
        free(version);
    }
    return rc;
}

/* ---- doing a task ---- */

/* Apply one desired resource. */
static int sync_apply(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                      const struct sync_task *k, json_t *state, json_t *r)
{
    struct engine_verdict v;
    json_t *applied = NULL, *obj = NULL;
    int dry_run = json_is_true(json_object_get(state, "dryRun")), rc;

    if (dry_run && json_is_true(json_object_get(r, "skipDryRun"))) {
        const struct kube_resource *res;
        rc = kube_client_resource(kc, doc_get_str(k->obj, "apiVersion"), k->kind, &res);
        err_clear();
        if (rc == ERR_NOTFOUND) {
            sync_set(r, "Synced",
                     "dry run skipped (SkipDryRunOnMissingResource): its kind is not known to "
                     "the cluster yet");
            return 0;
        }
    }
    if ((rc = engine_compare(e, kc, cache, k->obj, &v)) < 0)
        return rc;
    if (v.foreign) {
        char *msg = xasprintf("exists and is tracked as %s; not synced over", v.foreign);
        if (engine_sync_option(app, k->obj, "FailOnSharedResource=true"))
            rc = err_set(ERR_CONFLICT, "%s", msg);
        else
            sync_set(r, "OutOfSync", msg);
        free(msg);
        engine_verdict_dispose(&v);
        return rc;
    }
    if (!strcmp(v.status, "Synced")) {
        /* a server-side apply of an object compare found Synced changes
         * nothing: it is skipped, which is what ApplyOutOfSyncOnly=true
         * asks for and what an apply without it would amount to */
        sync_set(r, "Synced", "unchanged");
        engine_verdict_dispose(&v);
        return 0;
    }
    /* RespectIgnoreDifferences=true: what the rules ignore keeps its live
     * value */
    obj = engine_sync_option(app, k->obj, "RespectIgnoreDifferences=true")
              ? engine_respect_ignored(e, k->obj, v.live)
              : json_incref((json_t *)k->obj);
    if (dry_run) {
        rc = kube_client_apply(kc, obj, 1, NULL);
        json_decref(obj);
        if (rc == 0)
            sync_set(r, "Synced",
                     !strcmp(v.status, "Missing") ? "would be created (dry run)"
                                                  : "would be configured (dry run)");
        engine_verdict_dispose(&v);
        return rc;
    }
    if (v.live && (engine_sync_option(app, k->obj, "Replace=true"))) {
        /* Replace=true: delete and create instead of a merge */
        const char *ns = doc_get_str(k->obj, "metadata.namespace");
        rc = kube_client_delete_wait(kc, doc_get_str(k->obj, "apiVersion"), k->kind, ns, k->name,
                                     "Foreground", 60000);
        if (rc == 0 || rc == ERR_NOTFOUND) {
            err_clear();
            rc = kube_client_create(kc, obj, &applied);
        }
    } else {
        engine_seen(e, k->obj, ENGINE_SEEN_WRITING);
        rc = kube_client_apply(kc, obj, 0, &applied);
        if ((rc == ERR_INVALID || rc == ERR_CONFLICT) && v.live &&
            engine_sync_option(app, k->obj, "Force=true")) {
            /* Force=true: an immutable field changed; recreate */
            const char *ns = doc_get_str(k->obj, "metadata.namespace");
            err_clear();
            rc = kube_client_delete_wait(kc, doc_get_str(k->obj, "apiVersion"), k->kind, ns,
                                         k->name, "Foreground", 60000);
            if (rc == 0 || rc == ERR_NOTFOUND) {
                err_clear();
                rc = kube_client_apply(kc, obj, 0, &applied);
            }
        }
    }
    if (rc < 0) {
        engine_seen(e, k->obj, "");
        engine_verdict_applied(e, k->obj, NULL);
    } else {
        const char *rv = doc_get_str(applied, "metadata.resourceVersion");
        engine_seen(e, k->obj, rv);
        engine_verdict_applied(e, k->obj, rv ? rv : "");
        e->applies++;
        log_info("app %s: applied %s %s", app->name, k->kind, k->name);
        sync_set(r, "Synced", !strcmp(v.status, "Missing") ? "created" : "configured");
    }
    json_decref(applied);
    json_decref(obj);
    engine_verdict_dispose(&v);
    return rc;
}

/* Create a hook for this operation: its name (or generateName) with the
 * operation it belongs to noted, after deleting the previous run's hook
 * of the same name (BeforeHookCreation). Recreating an already created
 * hook (a restart between create and the state write) finds it by note. */
static int sync_hook_create(engine *e, kube_client *kc, const struct app *app,
                            const struct sync_task *k, json_t *state, json_t *r)
{
    json_t *hook = json_deep_copy(k->obj), *made = NULL, *items = NULL, *it;
    const char *api = doc_get_str(k->obj, "apiVersion");
    const char *ns = doc_get_str(k->obj, "metadata.namespace");
    const char *name = doc_get_str(k->obj, "metadata.name");
    /* operation id / attempt / task: a retry makes its hooks anew */
    char *note =
        xasprintf("%lld/%lld/%s", (long long)json_integer_value(json_object_get(state, "id")),
                  (long long)json_integer_value(json_object_get(state, "retryCount")), k->key);
    char label[64], *selector;
    size_t i;
    int rc = 0;

    doc_set_new(hook, "metadata.annotations." SYNC_ANN_HOOK_OF, json_string(note));
    engine_label_value(app->name, label);
    selector = xasprintf("%s=%s", ENGINE_LABEL_APP, label);
    /* already made by this operation (before a restart)? */
    if (kube_client_list(kc, api, k->kind, ns, selector, &items) == 0) {
        json_array_foreach(items, i, it)
        {
            const char *of = sync_ann(it, SYNC_ANN_HOOK_OF);
            if (of && !strcmp(of, note)) {
                json_object_set_new(r, "hookName", json_string(doc_get_str(it, "metadata.name")));
                sync_set(r, "Running", "created");
                goto out;
            }
        }
    }
    err_clear();
    if (name && (sync_delete_policy(k->obj) & DEL_BEFORE_CREATION)) {
        rc = kube_client_delete_wait(kc, api, k->kind, ns, name, "Foreground", 60000);
        if (rc == ERR_NOTFOUND) {
            err_clear();
            rc = 0;
        }
        if (rc < 0)
            goto out;
    }
    if (json_is_true(json_object_get(state, "dryRun"))) {
        rc = kube_client_apply(kc, hook, 1, NULL);
        if (rc == 0)
            sync_set(r, "Succeeded", "would be created (dry run)");
        goto out;
    }
    if ((rc = kube_client_create(kc, hook, &made)) < 0)
        goto out;
    e->applies++;
    json_object_set_new(r, "hookName", json_string(doc_get_str(made, "metadata.name")));
    sync_set(r, "Running", "created");
    log_info("app %s: %s hook %s %s created", app->name, sync_phase_names[k->phase], k->kind,
             doc_get_str(made, "metadata.name"));
out:
    json_decref(items);
    json_decref(made);
    json_decref(hook);
    free(selector);
    free(note);
    return rc;
}

static int sync_prune_one(engine *e, kube_client *kc, const struct app *app,
                          const struct sync_task *k, json_t *state, json_t *r)
{
    const char *api = doc_get_str(k->obj, "apiVersion");
    const char *ns = doc_get_str(k->obj, "metadata.namespace");
    const char *policy = json_string_value(json_object_get(k->obj, "policy"));
    int rc;
    if (json_is_true(json_object_get(k->obj, "noPrune"))) {
        sync_set(r, "PruneSkipped", "Prune=false: not pruned");
        return 0;
    }
    if (json_is_true(json_object_get(state, "dryRun"))) {
        sync_set(r, "Pruned", "would be pruned (dry run)");
        return 0;
    }
    engine_forget(e, api, k->kind, ns, k->name);
    rc = kube_client_delete(kc, api, k->kind, ns, k->name, policy ? policy : "Foreground");
    if (rc == ERR_NOTFOUND) {
        err_clear();
        rc = 0;
    }
    if (rc == 0) {
        log_info("app %s: pruned %s %s%s%s", app->name, k->kind, ns ? ns : "", ns ? "/" : "",
                 k->name);
        sync_set(r, "Pruned", "pruned");
    }
    return rc;
}

/* The live hook a task created, or NULL (gone). */
static json_t *sync_hook_live(kube_client *kc, kube_cache *cache, const struct sync_task *k,
                              const json_t *r)
{
    const char *api = doc_get_str(k->obj, "apiVersion");
    const char *ns = doc_get_str(k->obj, "metadata.namespace");
    const char *name = json_string_value(json_object_get(r, "hookName"));
    json_t *live = NULL;
    if (!name)
        return NULL;
    if (kube_cache_get(cache, api, k->kind, ns, name, &live, NULL) == 0)
        return live;
    err_clear();
    if (kube_client_get(kc, api, k->kind, ns, name, &live) < 0) {
        err_clear();
        return NULL;
    }
    return live;
}

/* Is the step done? 1 done, 0 still running, ERR_* failed (message set).
 * Resources wait for health only when wait_health. */
static int sync_step_check(engine *e, kube_client *kc, kube_cache *cache,
                           const struct sync_tasks *t, const size_t range[2], json_t *state,
                           int wait_health)
{
    int done = 1;
    for (size_t i = range[0]; i < range[1]; i++) {
        const struct sync_task *k = &t->v[i];
        json_t *r = sync_result(state, k), *live;
        struct health_result h = {0};
        const char *st = json_string_value(json_object_get(r, "status"));
        if (k->prune || (st && (!strcmp(st, "Succeeded") || !strcmp(st, "OutOfSync"))))
            continue;
        if (k->hook) {
            if (!(live = sync_hook_live(kc, cache, k, r)))
                return err_set(ERR_NOTFOUND, "%s hook %s %s is gone", sync_phase_names[k->phase],
                               k->kind, k->name);
            health_assess(&h, e->health, live);
            json_decref(live);
            if (h.status == HEALTH_DEGRADED) {
                sync_set(r, "Failed", h.message);
                err_set(ERR_INVALID, "%s hook %s %s failed: %s", sync_phase_names[k->phase],
                        k->kind, json_string_value(json_object_get(r, "hookName")), h.message);
                health_result_dispose(&h);
                return ERR_INVALID;
            }
            if (h.status == HEALTH_HEALTHY || h.status == HEALTH_NONE)
                sync_set(r, "Succeeded", h.message[0] ? h.message : "completed");
            else
                done = 0;
            health_result_dispose(&h);
            continue;
        }
        if (!wait_health)
            continue;
        {
            const char *ns = doc_get_str(k->obj, "metadata.namespace");
            char *rv = NULL;
            live = NULL;
            if (kube_cache_get(cache, doc_get_str(k->obj, "apiVersion"), k->kind, ns, k->name,
                               &live, &rv) < 0) {
                err_clear();
                if (kube_client_get(kc, doc_get_str(k->obj, "apiVersion"), k->kind, ns, k->name,
                                    &live) < 0) {
                    err_clear();
                    done = 0;
                    free(rv);
                    continue;
                }
            }
            free(rv);
        }
        health_assess(&h, e->health, live);
        json_decref(live);
        if (h.status == HEALTH_DEGRADED) {
            err_set(ERR_INVALID, "%s %s is Degraded: %s", k->kind, k->name, h.message);
            health_result_dispose(&h);
            return ERR_INVALID;
        }
        if (h.status != HEALTH_HEALTHY && h.status != HEALTH_NONE && h.status != HEALTH_SUSPENDED)
            done = 0;
        health_result_dispose(&h);
    }
    return done;
}

static int sync_step_apply(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                           const struct sync_tasks *t, const size_t range[2], json_t *state)
{
    int rc = 0;
    for (size_t i = range[0]; i < range[1] && rc == 0; i++) {
        const struct sync_task *k = &t->v[i];
        json_t *r = sync_result(state, k);
        const char *st = json_string_value(json_object_get(r, "status"));
        if (st && st[0]) /* done before a restart */
            continue;
        if (k->prune)
            rc = sync_prune_one(e, kc, app, k, state, r);
        else if (k->hook)
            rc = sync_hook_create(e, kc, app, k, state, r);
        else
            rc = sync_apply(e, kc, cache, app, k, state, r);
        if (rc < 0) {
            sync_set(r, "SyncFailed", err_last());
            err_prefix(rc, "%s %s", k->kind, k->name);
        }
    }
    return rc;
}

/* Delete finished hooks by their policy (HookSucceeded / HookFailed). */
static void sync_hooks_cleanup(kube_client *kc, const struct sync_tasks *t, json_t *state)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct sync_task *k = &t->v[i];
        json_t *r;
        const char *st, *name;
        int policy;
        if (!k->hook)
            continue;
        r = sync_result(state, k);
        st = json_string_value(json_object_get(r, "status"));
        name = json_string_value(json_object_get(r, "hookName"));
        policy = sync_delete_policy(k->obj);
        if (!name || !st)
            continue;
        if ((!strcmp(st, "Succeeded") && (policy & DEL_SUCCEEDED)) ||
            (!strcmp(st, "Failed") && (policy & DEL_FAILED))) {
            if (kube_client_delete(kc, doc_get_str(k->obj, "apiVersion"), k->kind,
                                   doc_get_str(k->obj, "metadata.namespace"), name,
                                   "Background") < 0)
                err_clear();
        }
    }
}

/* ---- the operation ---- */

static void sync_now(char out[21])
{
    time_rfc3339(out);
}

/* The managedNamespaceMetadata an operation records as in force: the
 * app's when it applies it; one that does not (a dry run, one that never
 * started) carries the previous operation's record on. A new reference
 * or NULL. */
static json_t *sync_ns_metadata(const struct app *app, int applies,
                                const struct store_operation *prev)
{
    json_t *state = NULL, *meta;
    if (applies)
        return app->managed_ns_metadata ? json_deep_copy(app->managed_ns_metadata) : NULL;
    if (!prev || !prev->state_json ||
        doc_parse_json(&state, prev->state_json, strlen(prev->state_json), "operation", NULL) < 0) {
        err_clear();
        return NULL;
    }
    meta = json_incref(json_object_get(state, "managedNamespaceMetadata"));
    json_decref(state);
    return meta;
}

/* A new operation of app, stored as Running (*op filled); applies: it
 * applies the app's managedNamespaceMetadata (CreateNamespace=true). */
static int sync_op_new(engine *e, const struct app *app, const json_t *desired,
                       const json_t *prunes, const struct engine_sync_request *rq, int applies,
                       struct store_operation *op)
{
    struct store_operation prev = {0};
    json_t *state;
    char now[21];
    long long id = 1;
    int rc, have_prev = store_operation_get(e->st, app->name, 0, &prev) == 0;

    if (have_prev)
        id = prev.id + 1;
    err_clear();
    sync_now(now);
    state = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:b, s:b, s:i, s:{}}", "id",
                      (json_int_t)id, "revision", rq->revision ? rq->revision : "", "initiatedBy",
                      rq->initiated_by ? rq->initiated_by : "automated", "startedAt", now,
                      "finishedAt", "", "message", "", "dryRun", rq->dry_run, "step", 0,
                      "stepApplied", 0, "failing", 0, "stepDoneAt", 0, "results");
    if (rq->resources)
        json_object_set(state, "resources", (json_t *)rq->resources);
    if (rq->source)
        json_object_set(state, "source", (json_t *)rq->source);
    json_object_set_new(state, "prune",
                        rq->prune && prunes ? json_incref((json_t *)prunes) : json_array());
    json_object_set_new(state, "pruneEnabled", json_boolean(rq->prune));
    {
        json_t *meta = sync_ns_metadata(app, applies, have_prev ? &prev : NULL);
        if (meta)
            json_object_set_new(state, "managedNamespaceMetadata", meta);
    }
    store_operation_dispose(&prev);
    memset(op, 0, sizeof(*op));
    op->app = xstrdup(app->name);
    op->id = id;
    op->phase = xstrdup("Running");
    op->state_json = json_dumps(state, JSON_COMPACT);
    op->manifests_json = json_dumps(desired, JSON_COMPACT);
    json_decref(state);
    if ((rc = store_operation_put(e->st, op)) < 0) {
        store_operation_dispose(op);
        return rc;
    }
    return 0;
}

int engine_op_start(engine *e, const struct app *app, const json_t *desired, const json_t *prunes,
                    const struct engine_sync_request *rq, struct store_operation *op)
{
    int rc = sync_op_new(e, app, desired, prunes, rq, !rq->dry_run, op);
    if (rc < 0)
        return rc;
    engine_event(e, app->name, "Normal", "OperationStarted",
                 "Sync operation %lld to %.7s started by %s", op->id,
                 rq->revision ? rq->revision : "",
                 rq->initiated_by ? rq->initiated_by : "automated");
    return 0;
}

int engine_op_ns_metadata_changed(const struct app *app, const struct store_operation *last)
{
    json_t *state = NULL;
    int changed;
    if (!app->managed_ns_metadata || !last || !last->state_json)
        return 0;
    if (doc_parse_json(&state, last->state_json, strlen(last->state_json), "operation", NULL) < 0) {
        err_clear();
        return 0;
    }
    changed = !json_equal(json_object_get(state, "managedNamespaceMetadata"),
                          (json_t *)app->managed_ns_metadata);
    json_decref(state);
    return changed;
}

/* Write the state back (the store writes only when it changed). */
static int sync_save(engine *e, struct store_operation *op, json_t *state, const char *phase)
{
    char *text = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
    int rc;
    free(op->state_json);
    op->state_json = text;
    if (phase && strcmp(op->phase, phase) != 0) {
        free(op->phase);
        op->phase = xstrdup(phase);
    }
    {
        char *keep = op->manifests_json; /* NULL: the stored manifests stay */
        op->manifests_json = NULL;
        rc = store_operation_put(e->st, op);
        op->manifests_json = keep;
    }
    return rc < 0 ? rc : 0;
}

/* 1 if the app's newest history entry is this operation's (a process
 * killed after recording it and before the phase finishes it again). */
static int sync_history_has(engine *e, const struct app *app, const json_t *state)
{
    struct store_history *v = NULL;
    size_t n = 0;
    int has = 0;
    if (store_history_list(e->st, app->name, &v, &n) < 0)
        err_clear();
    else if (n > 0)
        has = !strcmp(v[n - 1].started_at, doc_get_str(state, "startedAt")) &&
              !strcmp(v[n - 1].revision, doc_get_str(state, "revision"));
    store_history_free(v, n);
    return has;
}

/* A successful sync goes into the app's history with the objects it
 * applied, so a rollback needs no Git (revisionHistoryLimit, default 10).
 * Recorded before the operation's phase says Succeeded, and once: an
 * operation resumed after a crash between the two finds its entry. */
static void sync_history(engine *e, const struct app *app, const struct store_operation *op,
                         const json_t *state, const char *now)
{
    struct store_history h = {0};
    struct store_operation full = {0};
    const json_t *limit = doc_get(app->manifest, "spec.revisionHistoryLimit");
    const json_t *src = json_object_get(state, "source");
    char *source = NULL;
    long long id = 0;

    if (sync_history_has(e, app, state))
        return;
    /* a resumed operation was read without its objects */
    if (!op->manifests_json && store_operation_get(e->st, app->name, 1, &full) < 0) {
        log_error("app %s: recording the history: %s", app->name, err_last());
        err_clear();
        return;
    }
    source = src ? json_dumps(src, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    h.revision = (char *)doc_get_str(state, "revision");
    h.source_json = source ? source : "null";
    h.started_at = (char *)doc_get_str(state, "startedAt");
    h.deployed_at = (char *)now;
    h.initiated_by = (char *)doc_get_str(state, "initiatedBy");
    h.manifests_json = op->manifests_json ? op->manifests_json : full.manifests_json;
    if (store_history_add(e->st, app->name, &h,
                          json_is_integer(limit) ? (int)json_integer_value(limit) : 10, &id) < 0) {
        log_error("app %s: recording the history: %s", app->name, err_last());
        err_clear();
    }
    store_operation_dispose(&full);
    free(source);
}

static void sync_finish(engine *e, const struct app *app, struct store_operation *op, json_t *state,
                        const char *phase, const char *message);

int engine_op_error(engine *e, const struct app *app, const struct engine_sync_request *rq,
                    const char *message, struct store_operation *op)
{
    json_t *none = json_array(), *state = NULL;
    int rc = sync_op_new(e, app, none, NULL, rq, 0, op);
    json_decref(none);
    if (rc < 0)
        return rc;
    if ((rc = doc_parse_json(&state, op->state_json, strlen(op->state_json), "operation", NULL)) ==
        0)
        sync_finish(e, app, op, state, "Error", message);
    json_decref(state);
    return rc;
}

static void sync_finish(engine *e, const struct app *app, struct store_operation *op, json_t *state,
                        const char *phase, const char *message)
{
    char now[21];
    sync_now(now);
    json_object_set_new(state, "finishedAt", json_string(now));
    json_object_set_new(state, "message", json_string(message));
    if (!strcmp(phase, "Succeeded") && !json_is_true(json_object_get(state, "dryRun")))
        sync_history(e, app, op, state, now);
    if (sync_save(e, op, state, phase) < 0)
        log_error("app %s: recording the operation: %s", app->name, err_last());
    engine_event(e, app->name, strcmp(phase, "Succeeded") ? "Warning" : "Normal",
                 strcmp(phase, "Succeeded") ? "OperationFailed" : "OperationCompleted",
                 "Sync operation %lld %s: %s", op->id, phase, message);
    log_info("app %s: operation %lld %s: %s", app->name, op->id, phase, message);
    metrics_inc(&e->n_sync_phase[!strcmp(phase, "Succeeded") ? 0
                                 : !strcmp(phase, "Failed")  ? 1
                                                             : 2]);
}

/* Argo CD's syncPolicy.retry: on a failure with attempts left (limit < 0:
 * no end), start over after duration * factor^attempt, at most
 * maxDuration (defaults 5s, 2, 3m). 1 if a retry was scheduled. */
static int sync_retry(engine *e, const struct app *app, struct store_operation *op, json_t *state,
                      const char *reason)
{
    const json_t *retry = doc_get(app->manifest, "spec.syncPolicy.retry");
    const char *dur = doc_get_str(retry, "backoff.duration");
    const char *max = doc_get_str(retry, "backoff.maxDuration");
    const json_t *lim = json_object_get(retry, "limit"), *fac = doc_get(retry, "backoff.factor");
    json_int_t count = json_integer_value(json_object_get(state, "retryCount"));
    double base = 5, cap = 180, factor = json_is_number(fac) ? json_number_value(fac) : 2, delay;
    long long limit = json_is_integer(lim) ? (long long)json_integer_value(lim) : 0;
    char *msg;

    if (!json_is_object(retry) || (limit >= 0 && count >= limit) ||
        json_is_true(json_object_get(state, "dryRun")))
        return 0;
    if ((dur && str_go_duration(dur, &base) < 0) || (max && str_go_duration(max, &cap) < 0)) {
        log_warn("app %s: spec.syncPolicy.retry.backoff: %s; using 5s and 3m", app->name,
                 err_last());
        err_clear();
        base = 5;
        cap = 180;
    }
    delay = base;
    for (json_int_t i = 0; i < count && delay < cap; i++)
        delay *= factor < 1 ? 1 : factor;
    if (delay > cap)
        delay = cap;
    msg = limit < 0 ? xasprintf("retrying (attempt %lld) in %.0fs: %s", (long long)count + 2, delay,
                                reason)
                    : xasprintf("retrying (attempt %lld of %lld) in %.0fs: %s",
                                (long long)count + 2, limit + 1, delay, reason);
    json_object_set_new(state, "retryCount", json_integer(count + 1));
    json_object_set_new(state, "retryAt",
                        json_integer((json_int_t)time(NULL) * 1000 + (json_int_t)(delay * 1000)));
    json_object_set_new(state, "message", json_string(msg));
    json_object_set_new(state, "step", json_integer(0));
    json_object_set_new(state, "stepApplied", json_false());
    json_object_set_new(state, "stepDoneAt", json_integer(0));
    json_object_set_new(state, "results", json_object());
    json_object_del(state, "checked");
    sync_save(e, op, state, NULL);
    engine_event(e, app->name, "Warning", "SyncRetry", "%s", msg);
    log_info("app %s: operation %lld %s", app->name, op->id, msg);
    free(msg);
    return 1;
}

int engine_op_advance(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                      struct store_operation *op, int *out_running)
{
    json_t *state = NULL, *manifests = NULL;
    struct sync_tasks t = {0};
    size_t ranges[256][2], nsteps;
    int rc = 0, guard;

    *out_running = 0;
    if (!op->manifests_json) {
        struct store_operation full = {0};
        if ((rc = store_operation_get(e->st, app->name, 1, &full)) < 0)
            return rc;
        op->manifests_json = full.manifests_json;
        full.manifests_json = NULL;
        store_operation_dispose(&full);
    }
    if ((rc = doc_parse_json(&state, op->state_json, strlen(op->state_json), "operation state",
                             NULL)) < 0 ||
        (rc = doc_parse_json(&manifests, op->manifests_json, strlen(op->manifests_json),
                             "operation manifests", NULL)) < 0) {
        sync_finish(e, app, op, state ? state : json_object(), "Error", err_last());
        goto out;
    }
    sync_plan(&t, manifests, state);
    for (guard = 0; guard < 1024; guard++) {
        int failing = json_is_true(json_object_get(state, "failing"));
        size_t step = (size_t)json_integer_value(json_object_get(state, "step"));
        int64_t done_at;
        if (!strcmp(op->phase, "Terminating")) {
            sync_finish(e, app, op, state, "Failed", "Operation terminated");
            break;
        }
        if (json_integer_value(json_object_get(state, "retryAt")) > (json_int_t)time(NULL) * 1000) {
            *out_running = 1; /* waiting to retry */
            break;
        }
        if (!failing && step == 0 && !json_is_true(json_object_get(state, "stepApplied")) &&
            !json_is_true(json_object_get(state, "checked"))) {
            if (sync_preflight(kc, app, &t, manifests, state) < 0) {
                char *msg =
                    xasprintf("one or more synchronization tasks are not valid: %s", err_last());
                err_clear();
                if (sync_retry(e, app, op, state, msg)) {
                    *out_running = 1;
                } else {
                    sync_finish(e, app, op, state, "Failed", msg);
                }
                free(msg);
                break;
            }
            /* written with the step's state: a restart before that
             * checks again, which changes nothing */
            json_object_set_new(state, "checked", json_true());
        }
        nsteps = sync_steps(&t, failing, ranges, sizeof(ranges) / sizeof(ranges[0]));
        if (step >= nsteps) {
            sync_hooks_cleanup(kc, &t, state);
            if (failing)
                sync_finish(e, app, op, state, "Failed",
                            json_string_value(json_object_get(state, "failMessage")));
            else
                sync_finish(e, app, op, state, "Succeeded",
                            json_is_true(json_object_get(state, "dryRun"))
                                ? "successfully synced (dry run)"
                                : "successfully synced (all tasks run)");
            break;
        }
        if (!json_is_true(json_object_get(state, "stepApplied"))) {
            rc = sync_step_apply(e, kc, cache, app, &t, ranges[step], state);
            if (rc == 0) {
                json_object_set_new(state, "stepApplied", json_true());
                sync_save(e, op, state, NULL);
            }
        }
        if (rc == 0)
            rc = json_is_true(json_object_get(state, "dryRun"))
                     ? 1
                     : sync_step_check(e, kc, cache, &t, ranges[step], state, step + 1 < nsteps);
        if (rc < 0) {
            char *msg = xstrdup(err_last());
            err_clear();
            rc = 0;
            if (failing) { /* a SyncFail hook failed too: end here */
                sync_hooks_cleanup(kc, &t, state);
                sync_finish(e, app, op, state, "Failed", msg);
                free(msg);
                break;
            }
            if (sync_retry(e, app, op, state, msg)) {
                free(msg);
                *out_running = 1;
                break;
            }
            json_object_set_new(state, "failing", json_true());
            json_object_set_new(state, "failMessage", json_string(msg));
            json_object_set_new(state, "step", json_integer(0));
            json_object_set_new(state, "stepApplied", json_false());
            json_object_set_new(state, "stepDoneAt", json_integer(0));
            sync_save(e, op, state, NULL);
            engine_event(e, app->name, "Warning", "SyncFailed", "%s", msg);
            free(msg);
            continue;
        }
        if (rc == 0) { /* still running: look again soon */
            sync_save(e, op, state, NULL);
            *out_running = 1;
            break;
        }
        rc = 0;
        /* the step is done: the next after the wave delay */
        done_at = json_integer_value(json_object_get(state, "stepDoneAt"));
        if (step + 1 < nsteps && e->cfg->sync_wave_delay_seconds > 0) {
            int64_t now = (int64_t)time(NULL) * 1000;
            if (!done_at) {
                json_object_set_new(state, "stepDoneAt", json_integer(now));
                sync_save(e, op, state, NULL);
                *out_running = 1;
                break;
            }
            if (now - done_at < e->cfg->sync_wave_delay_seconds * 1000) {
                *out_running = 1;
                break;
            }
        }
        json_object_set_new(state, "step", json_integer((json_int_t)step + 1));
        json_object_set_new(state, "stepApplied", json_false());
        json_object_set_new(state, "stepDoneAt", json_integer(0));
        sync_save(e, op, state, NULL);
    }
out:
    sync_tasks_dispose(&t);
    json_decref(manifests);
    json_decref(state);
    return rc;
}

char *engine_op_revision(const struct store_operation *op)
{
    json_t *state = NULL;
    char *rev;
    if (!op->state_json ||
        doc_parse_json(&state, op->state_json, strlen(op->state_json), "operation", NULL) < 0) {
        err_clear();
        return xstrdup("");
    }
    rev = xstrdup(doc_get_str(state, "revision") ? doc_get_str(state, "revision") : "");
    json_decref(state);
    return rev;
}
