/*
 * The ApplicationSet controller. An ApplicationSet in the store (from the
 * site config, or rendered by an app: App of Apps) is evaluated - its
 * generators run, its template rendered - and the Applications it
 * generates are registered in the store, owned by it through the
 * annotation edgecd.io/applicationset (not edgecd.io/parent: an appset
 * and an app may share a name). spec.syncPolicy.applicationsSync decides
 * what an evaluation may do to them, as in Argo CD: create always;
 * update with sync and create-update; delete with sync and create-delete.
 * A deleted generated app takes its resources with it when it carries
 * resources-finalizer.argocd.argoproj.io, as any App of Apps child.
 *
 * An evaluation either succeeds whole or changes nothing: a fetch that
 * fails, a template error, an invalid or duplicate generated app leave
 * every generated app as it was, and the error goes into the appset's
 * status (condition ErrorOccurred) and into the parent's resources. A
 * generated app whose name another owner holds is reported, never
 * overwritten.
 *
 * When: on the parent's pass (App of Apps), when a webhook or refresh
 * names a repository a git generator reads, and every requeueAfterSeconds
 * (Argo CD's 180 by default) or pollSeconds, whichever is shorter.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "engine/appgen.h"
#include "engine/internal.h"
#include "git/mirror.h"
#include "model/appset.h"

#define APPSETS_FINALIZER "resources-finalizer.argocd.argoproj.io"

/* The run loop's view of the appsets (under e->mu for refresh). */
struct engine_appsets {
    json_t *due;     /* name -> monotonic ms of the next evaluation */
    json_t *refresh; /* repo URLs a webhook or refresh named */
};

static struct engine_appsets *appsets_state(engine *e)
{
    if (!e->appsets) {
        e->appsets = xcalloc(1, sizeof(*e->appsets));
        e->appsets->due = json_object();
        e->appsets->refresh = json_array();
    }
    return e->appsets;
}

void engine_appsets_free(engine *e)
{
    if (!e->appsets)
        return;
    json_decref(e->appsets->due);
    json_decref(e->appsets->refresh);
    free(e->appsets);
    e->appsets = NULL;
}

void engine_appsets_refresh(engine *e, const char *repo_url)
{
    pthread_mutex_lock(&e->mu);
    json_array_append_new(appsets_state(e)->refresh, json_string(repo_url ? repo_url : ""));
    pthread_mutex_unlock(&e->mu);
}

/* ---- Git for the generators ---- */

struct appsets_git {
    engine *e;
    const char *appset;
    mirror **mirrors;
    char **urls;
    size_t n;
};

static int appsets_open(void *ctx, const char *url, const char *rev, render_fs **out, char sha[41])
{
    struct appsets_git *g = ctx;
    mirror *m = NULL;
    char *note = NULL;
    size_t i;
    int rc;

    *out = NULL;
    for (i = 0; i < g->n && strcmp(g->urls[i], url) != 0; i++)
        ;
    if (i < g->n) {
        m = g->mirrors[i];
    } else {
        /* each repository fetched once per evaluation */
        if ((rc = mirror_open(&m, g->e->mirrors_dir, url)) < 0)
            return rc;
        int downloaded;
        if ((rc = engine_fetch(g->e, g->appset, url, m, &note, &downloaded)) < 0) {
            mirror_free(m);
            return rc;
        }
        free(note);
        g->mirrors = xrealloc(g->mirrors, (g->n + 1) * sizeof(*g->mirrors));
        g->urls = xrealloc(g->urls, (g->n + 1) * sizeof(*g->urls));
        g->mirrors[g->n] = m;
        g->urls[g->n++] = xstrdup(url);
    }
    if ((rc = mirror_resolve(m, rev && rev[0] ? rev : "HEAD", sha)) < 0)
        return rc;
    return render_fs_mirror(out, m, sha, NULL);
}

static void appsets_git_dispose(struct appsets_git *g)
{
    for (size_t i = 0; i < g->n; i++) {
        mirror_free(g->mirrors[i]);
        free(g->urls[i]);
    }
    free(g->mirrors);
    free(g->urls);
}

/* ---- the store ---- */

static json_t *appsets_load_json(int (*get)(store *, const char *, char **), store *st,
                                 const char *name)
{
    char *text = NULL;
    json_t *obj = NULL;
    if (get(st, name, &text) < 0 || doc_parse_json(&obj, text, strlen(text), name, NULL) < 0)
        err_clear();
    free(text);
    return obj;
}

/* The stored status of appset name, or NULL. */
static json_t *appsets_status_json(store *st, const char *name)
{
    char *text = NULL;
    json_t *obj = NULL;
    if (store_appset_status_get(st, name, &text, NULL) < 0 ||
        doc_parse_json(&obj, text, strlen(text), name, NULL) < 0)
        err_clear();
    free(text);
    return obj;
}

static const char *appsets_owner_of(const json_t *app)
{
    return doc_get_str(app, "metadata.annotations." ENGINE_ANNOTATION_APPSET);
}

static int appsets_has_finalizer(const json_t *app)
{
    const json_t *v;
    size_t i;
    json_array_foreach(doc_get(app, "metadata.finalizers"), i, v)
    {
        if (json_is_string(v) && str_has_prefix(json_string_value(v), APPSETS_FINALIZER))
            return 1;
    }
    return 0;
}

/* Names of the stored apps appset name owns, as a new array. */
static json_t *appsets_owned(engine *e, const char *name)
{
    char **names = NULL;
    size_t n = 0;
    json_t *out = json_array();
    if (store_app_list(e->st, &names, &n) < 0) {
        err_clear();
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *app = appsets_load_json(store_app_get, e->st, names[i]);
        const char *owner = appsets_owner_of(app);
        if (owner && !strcmp(owner, name))
            json_array_append_new(out, json_string(names[i]));
        json_decref(app);
    }
    store_names_free(names, n);
    return out;
}

/* Delete generated app name (manifest have): with its resources when it
 * carries the finalizer and cascade is allowed. *how says what was done
 * (static). */
static int appsets_delete_app(engine *e, const char *name, const json_t *have, int allow_cascade,
                              const char **how)
{
    size_t kept = 0;
    int cascade = allow_cascade && appsets_has_finalizer(have), rc;
    if (cascade && (rc = engine_delete_tracked(e, name, have, &kept)) < 0)
        return rc;
    if ((rc = store_app_delete(e->st, name)) < 0)
        return rc;
    *how = cascade ? "deleted with its resources" : "deleted; its resources are left running";
    return 0;
}

/* The status JSON of an evaluation. */
static void appsets_condition(json_t *conds, const char *type, int is_true, const char *reason,
                              const char *message)
{
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s}", "type", type, "status",
                                           is_true ? "True" : "False", "reason", reason, "message",
                                           message ? message : ""));
}

/* Record the status: on error (error != NULL) the applications of the
 * last good evaluation are kept. */
static void appsets_record(engine *e, const char *name, const char *error, json_t *apps,
                           json_t *revisions, const char *parent)
{
    json_t *st = json_object(), *conds = json_array(), *old = NULL;
    char *text;
    if (error) {
        old = appsets_status_json(e->st, name);
        appsets_condition(conds, "ErrorOccurred", 1, "ApplicationGenerationError", error);
        appsets_condition(conds, "ResourcesUpToDate", 0, "ApplicationGenerationError",
                          "no application was changed");
        json_object_set(st, "applications",
                        json_is_array(json_object_get(old, "applications"))
                            ? json_object_get(old, "applications")
                            : json_array());
        if (json_object_get(old, "revisions"))
            json_object_set(st, "revisions", json_object_get(old, "revisions"));
    } else {
        json_t *a;
        size_t i, bad = 0;
        json_array_foreach(apps, i, a)
        {
            bad += doc_get_str(a, "message") && doc_get_str(a, "message")[0];
        }
        appsets_condition(conds, "ErrorOccurred", 0, "ApplicationSetUpToDate", "");
        appsets_condition(conds, "ParametersGenerated", 1, "ParametersGenerated",
                          "successfully generated parameters for all applications");
        appsets_condition(conds, "ResourcesUpToDate", bad == 0,
                          bad ? "ApplicationNotChanged" : "ApplicationSetUpToDate",
                          bad ? "some applications were not changed (see their messages)"
                              : "all applications are up to date");
        json_object_set(st, "applications", apps);
        if (revisions)
            json_object_set(st, "revisions", revisions);
    }
    json_object_set_new(st, "conditions", conds);
    if (parent)
        json_object_set_new(st, "parent", json_string(parent));
    text = json_dumps(st, JSON_COMPACT);
    if (store_appset_status_put(e->st, name, text) < 0) {
        log_error("applicationset %s: recording status: %s", name, err_last());
        err_clear();
    }
    free(text);
    json_decref(st);
    json_decref(old);
}

/* ---- one evaluation ---- */

/* Register what the generators gave (generated: manifests, owned by
 * nobody yet) under policy; apps (new array) gets one entry per app. */
static void appsets_apply(engine *e, const struct appset *as, json_t *generated, json_t *apps)
{
    json_t *seen = json_object(), *owned = appsets_owned(e, as->name), *obj, *n;
    int may_update = as->policy == APPSET_POLICY_SYNC || as->policy == APPSET_POLICY_CREATE_UPDATE;
    int may_delete = as->policy == APPSET_POLICY_SYNC || as->policy == APPSET_POLICY_CREATE_DELETE;
    size_t i;

    json_array_foreach(generated, i, obj)
    {
        const char *name = doc_get_str(obj, "metadata.name");
        json_t *have = appsets_load_json(store_app_get, e->st, name);
        const char *owner = have ? appsets_owner_of(have) : NULL;
        char *msg = NULL;

        json_object_set_new(seen, name, json_true());
        if (have && (!owner || strcmp(owner, as->name) != 0)) {
            const char *parent =
                doc_get_str(have, "metadata.annotations." ENGINE_ANNOTATION_PARENT);
            msg = xasprintf("application %s is already registered by %s%s; not overwritten", name,
                            owner    ? "applicationset "
                            : parent ? "app "
                                     : "the site config",
                            owner    ? owner
                            : parent ? parent
                                     : "");
            log_warn("applicationset %s: %s", as->name, msg);
        } else if (have && doc_equal(have, obj)) {
            /* unchanged */
        } else if (have && !may_update) {
            msg = xasprintf("differs from the template; not updated (applicationsSync: %s)",
                            appset_policy_name(as->policy));
        } else {
            char *text = json_dumps(obj, JSON_COMPACT);
            if (store_app_put(e->st, name, text) < 0) {
                msg = xstrdup(err_last());
                err_clear();
            } else {
                log_info("applicationset %s: application %s %s", as->name, name,
                         have ? "updated" : "created");
                engine_event(
                    e, name, "Normal", have ? "UpdatedByApplicationSet" : "CreatedByApplicationSet",
                    "application %s by applicationset %s", have ? "updated" : "created", as->name);
                engine_refresh_app(e, name);
            }
            free(text);
        }
        json_array_append_new(apps,
                              json_pack("{s:s, s:s}", "name", name, "message", msg ? msg : ""));
        free(msg);
        json_decref(have);
    }
    json_array_foreach(owned, i, n)
    {
        const char *name = json_string_value(n), *how = NULL;
        json_t *have;
        if (json_object_get(seen, name))
            continue;
        if (!may_delete) {
            char *msg = xasprintf("no longer generated; not deleted (applicationsSync: %s)",
                                  appset_policy_name(as->policy));
            json_array_append_new(apps, json_pack("{s:s, s:s}", "name", name, "message", msg));
            free(msg);
            continue;
        }
        have = appsets_load_json(store_app_get, e->st, name);
        if (have && appsets_delete_app(e, name, have, 1, &how) < 0) {
            char *msg = xasprintf("no longer generated; deleting it failed: %s", err_last());
            err_clear();
            json_array_append_new(apps, json_pack("{s:s, s:s}", "name", name, "message", msg));
            free(msg);
        } else if (have) {
            log_info("applicationset %s: application %s %s", as->name, name, how);
        }
        json_decref(have);
    }
    json_decref(seen);
    json_decref(owned);
}

/* Generated manifests made ours and checked: the owner annotation, and
 * app_parse's verdict on each. */
static int appsets_check(const struct appset *as, json_t *generated)
{
    json_t *obj;
    size_t i;
    json_array_foreach(generated, i, obj)
    {
        struct app a = {0};
        int rc;
        char *where;
        doc_set_new(obj, "metadata.annotations." ENGINE_ANNOTATION_APPSET, json_string(as->name));
        where = xasprintf("generated application %s", doc_get_str(obj, "metadata.name"));
        rc = app_parse(&a, obj, where);
        app_dispose(&a);
        free(where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int engine_appset_eval(engine *e, const char *name, char **message)
{
    struct appset as = {0};
    struct appsets_git git = {e, name, NULL, NULL, 0};
    struct appgen_env env = {appsets_open, &git, NULL, 0};
    struct config_cluster *clusters = NULL; /* the clusters generator's, as of now */
    json_t *manifest = appsets_load_json(store_appset_get, e->st, name);
    json_t *generated = NULL, *revisions = NULL, *apps = json_array();
    const char *parent =
        manifest ? doc_get_str(manifest, "metadata.annotations." ENGINE_ANNOTATION_PARENT) : NULL;
    long period;
    int rc;

    *message = NULL;
    if (!manifest) {
        rc = err_set(ERR_NOTFOUND, "applicationset \"%s\" not found", name);
        goto out;
    }
    period = e->cfg->poll_seconds;
    engine_clusters_snapshot(e, &clusters, &env.n_clusters);
    env.clusters = clusters;
    if ((rc = appset_parse(&as, manifest, NULL)) == 0) {
        if (as.requeue_seconds > 0 && as.requeue_seconds < period)
            period = as.requeue_seconds;
        if ((rc = appgen_applications(&generated, &as, &env, &revisions)) == 0 &&
            (rc = appsets_check(&as, generated)) == 0)
            appsets_apply(e, &as, generated, apps);
    }
    pthread_mutex_lock(&e->mu);
    json_object_set_new(appsets_state(e)->due, name,
                        json_integer(time_mono_ms() + (int64_t)period * 1000));
    pthread_mutex_unlock(&e->mu);
    if (rc < 0) {
        char *why = xstrdup(err_last());
        log_warn("applicationset %s: %s (no application changed)", name, why);
        appsets_record(e, name, why, NULL, NULL, parent);
        *message = why;
        err_set(rc, "%s", why);
        goto out;
    }
    appsets_record(e, name, NULL, apps, revisions, parent);
    {
        size_t bad = 0, i;
        json_t *a;
        json_array_foreach(apps, i, a)
        {
            bad += doc_get_str(a, "message")[0] != '\0';
        }
        *message =
            bad ? xasprintf("generates %zu application(s); %zu not changed (see appset get %s)",
                            json_array_size(generated), bad, name)
                : xasprintf("generates %zu application(s)", json_array_size(generated));
    }
out:
    engine_clusters_snapshot_free(clusters, env.n_clusters);
    appsets_git_dispose(&git);
    appset_dispose(&as);
    json_decref(manifest);
    json_decref(generated);
    json_decref(revisions);
    json_decref(apps);
    return rc;
}

int engine_appset_delete(engine *e, const char *name, const json_t *manifest)
{
    json_t *owned = appsets_owned(e, name), *n;
    int preserve = json_is_true(doc_get(manifest, "spec.syncPolicy.preserveResourcesOnDeletion"));
    size_t i;
    int rc = 0;

    json_array_foreach(owned, i, n)
    {
        const char *app = json_string_value(n), *how = NULL;
        json_t *have = appsets_load_json(store_app_get, e->st, app);
        if (have && (rc = appsets_delete_app(e, app, have, !preserve, &how)) < 0) {
            json_decref(have);
            err_prefix(rc, "applicationset %s: application %s", name, app);
            break;
        }
        if (have)
            log_info("applicationset %s deleted: application %s %s", name, app, how);
        json_decref(have);
    }
    json_decref(owned);
    if (rc == 0 && (rc = store_appset_delete(e->st, name)) == ERR_NOTFOUND) {
        err_clear();
        rc = 0;
    }
    pthread_mutex_lock(&e->mu);
    json_object_del(appsets_state(e)->due, name);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* 1 if the appset stored as name reads repo_url in a git generator. */
static int appsets_reads(engine *e, const char *name, const char *repo_url)
{
    json_t *m = appsets_load_json(store_appset_get, e->st, name);
    struct appset as = {0};
    int hit = 0;
    if (m && appset_parse(&as, m, NULL) == 0)
        hit = appgen_uses_repo(&as, repo_url, engine_repo_key);
    err_clear();
    appset_dispose(&as);
    json_decref(m);
    return hit;
}

void engine_appsets_run(engine *e, volatile sig_atomic_t *stop)
{
    struct engine_appsets *s;
    json_t *refresh, *url;
    char **names = NULL;
    size_t n = 0, i, k;

    pthread_mutex_lock(&e->mu);
    s = appsets_state(e);
    refresh = s->refresh;
    s->refresh = json_array();
    pthread_mutex_unlock(&e->mu);
    if (store_appset_list(e->st, &names, &n) < 0) {
        log_error("listing applicationsets: %s", err_last());
        err_clear();
    }
    for (i = 0; i < n && !*stop; i++) {
        int64_t due;
        char *msg = NULL;
        int now = 0;
        json_array_foreach(refresh, k, url)
        {
            if (!now && appsets_reads(e, names[i], json_string_value(url))) {
                log_info("applicationset %s: refresh requested", names[i]);
                now = 1;
            }
        }
        pthread_mutex_lock(&e->mu);
        due = json_integer_value(json_object_get(s->due, names[i]));
        pthread_mutex_unlock(&e->mu);
        if (!now && due > time_mono_ms())
            continue;
        if (engine_appset_eval(e, names[i], &msg) < 0)
            err_clear();
        free(msg);
    }
    store_names_free(names, n);
    json_decref(refresh);
}
