/*
 * App of Apps. Argo CD Applications that an app renders are not applied
 * to the cluster: edgecd is their controller, so they are registered in
 * the store as children of the app that rendered them (annotation
 * edgecd.io/parent on the stored manifest), kept equal to Git, and
 * removed when Git drops them — with their resources when the child
 * carries resources-finalizer.argocd.argoproj.io (cascade), else left
 * running (orphaned), as Argo CD does.
 *
 * AppProjects an app renders are registered the same way (no cascade:
 * a project owns no resources). So are ApplicationSets; each is evaluated
 * on the parent's pass (appsets.c), its outcome shown as the message and
 * health of its resource in the parent, and removing one from Git deletes
 * the apps it generated with it.
 *
 * A child's name must not belong to one registered otherwise (the site
 * config, another parent): that is reported and nothing is overwritten.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/internal.h"
#include "model/appset.h"

#define CHILD_FINALIZER "resources-finalizer.argocd.argoproj.io"

/* What differs between registering Applications, AppProjects and
 * ApplicationSets. */
struct child_kind {
    const char *what; /* "application", "project", "applicationset" */
    int (*get)(store *, const char *, char **);
    int (*put)(store *, const char *, const char *);
    int (*list)(store *, char ***, size_t *);
    int (*del)(store *, const char *);
    int is_app;
    int is_appset;
};
static const struct child_kind child_apps = {
    "application", store_app_get, store_app_put, store_app_list, store_app_delete, 1, 0};
static const struct child_kind child_projects = {
    "project", store_project_get, store_project_put, store_project_list, store_project_delete, 0,
    0};
static const struct child_kind child_appsets = {"applicationset",
                                                store_appset_get,
                                                store_appset_put,
                                                store_appset_list,
                                                store_appset_delete,
                                                0,
                                                1};

/* The parent named in a stored manifest, or NULL (borrowed from obj). */
static const char *child_parent_of(const json_t *obj)
{
    return doc_get_str(obj, "metadata.annotations." ENGINE_ANNOTATION_PARENT);
}

static json_t *child_stored(engine *e, const struct child_kind *k, const char *name)
{
    char *text = NULL;
    json_t *obj = NULL;
    if (k->get(e->st, name, &text) < 0 || doc_parse_json(&obj, text, strlen(text), name, NULL) < 0)
        err_clear();
    free(text);
    return obj;
}

static int child_has_finalizer(const json_t *obj)
{
    const json_t *list = doc_get(obj, "metadata.finalizers"), *v;
    size_t i;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) &&
            !strncmp(json_string_value(v), CHILD_FINALIZER, strlen(CHILD_FINALIZER)))
            return 1;
    }
    return 0;
}

int engine_delete_tracked(engine *e, const char *name, const json_t *manifest, size_t *kept)
{
    struct app c = {0};
    struct store_app_status st = {0};
    struct engine_cluster *cluster = NULL;
    kube_client *kc = NULL;
    json_t *objs = NULL, *empty = json_array(), *o;
    size_t i;
    int rc, have_st;

    *kept = 0;
    have_st = store_app_status_get(e->st, name, &st) == 0;
    err_clear();
    if ((rc = app_parse(&c, manifest, name)) < 0 ||
        (rc = engine_cluster_client(e, &c, &cluster)) < 0)
        goto out;
    kc = cluster->kc;
    if ((rc = engine_extraneous(e, kc, cluster->cache, &c, empty, have_st ? &st : NULL, &objs)) < 0)
        goto out;
    json_array_foreach(objs, i, o)
    {
        const char *ns = doc_get_str(o, "metadata.namespace");
        if (engine_sync_option(&c, o, "Delete=false")) {
            (*kept)++;
            continue;
        }
        engine_forget(e, doc_get_str(o, "apiVersion"), doc_get_str(o, "kind"), ns,
                      doc_get_str(o, "metadata.name"));
        rc = kube_client_delete(kc, doc_get_str(o, "apiVersion"), doc_get_str(o, "kind"), ns,
                                doc_get_str(o, "metadata.name"), "Foreground");
        if (rc == ERR_NOTFOUND) {
            err_clear();
            rc = 0;
        }
        if (rc < 0)
            break;
    }
out:
    json_decref(objs);
    json_decref(empty);
    if (have_st)
        store_app_status_dispose(&st);
    app_dispose(&c);
    engine_cluster_release(cluster);
    return rc;
}

/* A child result: a resource of the parent of kind Application. */
static void child_result(engine *e, struct engine_results *res, const json_t *obj,
                         const char *status, const char *message)
{
    struct store_resource *r = engine_results_add(res, obj, status, message);
    struct store_app_status st = {0};
    if (!app_is_application(obj))
        return;
    if (store_app_status_get(e->st, doc_get_str(obj, "metadata.name"), &st) == 0) {
        r->health = xstrdup(st.health ? st.health : "");
        store_app_status_dispose(&st);
    } else {
        err_clear();
    }
}

/* An ApplicationSet child, registered: evaluated now, its outcome the
 * message and health of its resource (an error makes the parent
 * OutOfSync: Git holds something edgecd cannot run). */
static void child_appset_result(engine *e, struct engine_results *res, const json_t *obj,
                                const char *status, const char *name, int *out_of_sync)
{
    char *msg = NULL;
    int rc = engine_appset_eval(e, name, &msg);
    struct store_resource *r = engine_results_add(res, obj, status, msg);
    r->health = xstrdup(rc < 0 ? "Degraded" : "Healthy");
    if (rc < 0) {
        r->health_message = xstrdup(msg ? msg : "");
        *out_of_sync = 1;
        err_clear();
    }
    free(msg);
}

/* A child as its kind's parser reads it: 0, or the error. */
static int child_check(const struct child_kind *k, const json_t *obj, const char *name)
{
    int rc;
    if (k->is_app) {
        struct app c = {0};
        rc = app_parse(&c, obj, name);
        app_dispose(&c);
    } else if (k->is_appset) {
        struct appset a = {0};
        rc = appset_parse(&a, obj, name);
        appset_dispose(&a);
    } else {
        struct project p = {0};
        rc = project_parse(&p, obj, name);
        project_dispose(&p);
    }
    return rc;
}

static int child_sync(engine *e, const struct child_kind *k, const struct app *parent,
                      const json_t *children, int apply, struct engine_results *res,
                      int *out_of_sync)
{
    json_t *seen = json_object(), *obj;
    char **names = NULL;
    size_t i, n = 0, kept;
    int rc = 0;

    json_array_foreach(children, i, obj)
    {
        const char *name = doc_get_str(obj, "metadata.name");
        json_t *want = json_deep_copy(obj), *have;
        const char *owner;
        char *text;
        json_object_set_new(seen, name, json_true());
        doc_set_new(want, "metadata.annotations." ENGINE_ANNOTATION_PARENT,
                    json_string(parent->name));
        if (k->is_app && !strcmp(name, parent->name)) {
            *out_of_sync = 1;
            child_result(e, res, obj, "Failed", "an Application cannot render itself");
            json_decref(want);
            continue;
        }
        if (child_check(k, want, name) < 0) {
            *out_of_sync = 1;
            child_result(e, res, obj, "Failed", err_last());
            err_clear();
            json_decref(want);
            continue;
        }
        have = child_stored(e, k, name);
        owner = have ? child_parent_of(have) : NULL;
        if (have && (!owner || strcmp(owner, parent->name) != 0)) {
            const char *set = doc_get_str(have, "metadata.annotations." ENGINE_ANNOTATION_APPSET);
            char *msg =
                xasprintf("%s \"%s\" is already registered%s%s; not overwritten", k->what, name,
                          owner ? " by "
                          : set ? " by applicationset "
                                : " by the site config",
                          owner ? owner
                          : set ? set
                                : "");
            *out_of_sync = 1;
            child_result(e, res, obj, "OutOfSync", msg);
            free(msg);
        } else if (have && doc_equal(have, want)) {
            if (k->is_appset)
                child_appset_result(e, res, obj, "Synced", name, out_of_sync);
            else
                child_result(e, res, obj, "Synced", "");
        } else if (!apply) {
            *out_of_sync = 1;
            child_result(e, res, obj, have ? "OutOfSync" : "Missing", "");
        } else {
            text = json_dumps(want, JSON_COMPACT);
            if ((rc = k->put(e->st, name, text)) < 0) {
                *out_of_sync = 1;
                child_result(e, res, obj, "Failed", err_last());
                err_clear();
                rc = 0;
            } else {
                engine_event(e, parent->name, "Normal", have ? "ChildUpdated" : "ChildRegistered",
                             "%s %s %s", k->what, name, have ? "updated" : "registered");
                if (k->is_app)
                    engine_refresh_app(e, name);
                if (k->is_appset)
                    child_appset_result(e, res, obj, "Synced", name, out_of_sync);
                else
                    child_result(e, res, obj, "Synced", have ? "updated" : "registered");
            }
            free(text);
        }
        json_decref(have);
        json_decref(want);
    }

    /* children Git no longer has */
    if (k->list(e->st, &names, &n) < 0) {
        rc = err_prefix(ERR_IO, "listing %ss", k->what);
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *have;
        const char *owner;
        if (json_object_get(seen, names[i]))
            continue;
        have = child_stored(e, k, names[i]);
        owner = have ? child_parent_of(have) : NULL;
        if (owner && !strcmp(owner, parent->name)) {
            if (!apply || !parent->prune) {
                *out_of_sync = 1;
                engine_results_add(res, have, "OutOfSync", "requires pruning");
            } else if (k->is_app && child_has_finalizer(have) &&
                       engine_delete_tracked(e, names[i], have, &kept) < 0) {
                *out_of_sync = 1;
                engine_results_add(res, have, "Failed", err_last());
                err_clear();
            } else if (k->is_appset && engine_appset_delete(e, names[i], have) < 0) {
                *out_of_sync = 1;
                engine_results_add(res, have, "Failed", err_last());
                err_clear();
            } else if (!k->is_appset && k->del(e->st, names[i]) < 0) {
                *out_of_sync = 1;
                engine_results_add(res, have, "Failed", err_last());
                err_clear();
            } else {
                int cascade = k->is_app && child_has_finalizer(have);
                const char *how = k->is_appset ? " with the applications it generated"
                                  : !k->is_app ? ""
                                  : cascade    ? " with its resources"
                                               : "; its resources are left running";
                log_info("app %s: child %s %s deleted%s", parent->name, k->what, names[i], how);
                engine_event(e, parent->name, "Normal", "ChildDeleted", "%s %s deleted%s", k->what,
                             names[i], how);
                engine_results_add(res, have, "Pruned",
                                   cascade        ? "deleted with its resources"
                                   : k->is_app    ? "deleted; its resources are left running"
                                   : k->is_appset ? "deleted with the applications it generated"
                                                  : "deleted");
            }
        }
        json_decref(have);
    }
out:
    store_names_free(names, n);
    json_decref(seen);
    return rc;
}

int engine_children(engine *e, const struct app *parent, const json_t *children, int apply,
                    struct engine_results *res, int *out_of_sync)
{
    json_t *apps = json_array(), *projects = json_array(), *appsets = json_array(), *obj;
    size_t i;
    int rc;
    json_array_foreach(children, i, obj)
    {
        json_array_append(project_is_project(obj) ? projects
                          : appset_is_appset(obj) ? appsets
                                                  : apps,
                          obj);
    }
    /* projects first: the apps may name them; appsets last: the names
     * the parent's own apps take are not theirs to generate */
    rc = child_sync(e, &child_projects, parent, projects, apply, res, out_of_sync);
    if (rc == 0)
        rc = child_sync(e, &child_apps, parent, apps, apply, res, out_of_sync);
    if (rc == 0)
        rc = child_sync(e, &child_appsets, parent, appsets, apply, res, out_of_sync);
    json_decref(apps);
    json_decref(projects);
    json_decref(appsets);
    return rc;
}
