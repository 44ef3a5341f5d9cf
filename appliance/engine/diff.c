/*
 * `edgecd app diff`: what the app's last pass wanted (its desired objects,
 * kept per app after every compare) against what the cluster holds now,
 * as one unified diff per object. The live object is shown projected on
 * the fields the desired one sets (and without the fields the app's
 * ignoreDifferences ignore, on both sides), so server-side defaults and
 * status never show as differences; an object missing in the cluster is
 * all additions. Any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diff.h"
#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/internal.h"

/* live restricted to what desired sets: mappings by key, lists element by
 * element (extra live elements kept, so an added item shows). */
static json_t *diff_project(const json_t *desired, const json_t *live)
{
    if (json_is_object(desired) && json_is_object(live)) {
        json_t *out = json_object(), *v;
        const char *k;
        json_object_foreach((json_t *)desired, k, v)
        {
            json_t *lv = json_object_get(live, k);
            if (lv)
                json_object_set_new(out, k, diff_project(v, lv));
        }
        return out;
    }
    if (json_is_array(desired) && json_is_array(live)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(live); i++)
            json_array_append_new(
                out, diff_project(json_array_get(desired, i), json_array_get(live, i)));
        return out;
    }
    return json_deep_copy(live);
}

/* As compact JSON text: a third of the memory of the parsed objects,
 * and only `app diff` reads it back. */
void engine_diff_remember(engine *e, const char *app, const json_t *targets)
{
    char *dump = json_dumps(targets, JSON_COMPACT);
    json_t *text = json_string_nocheck(dump ? dump : "[]");
    free(dump);
    pthread_mutex_lock(&e->mu);
    json_object_set_new(e->desired, app, text);
    pthread_mutex_unlock(&e->mu);
}

int engine_diff(engine *e, const char *app_name, struct buf *out, int *differs)
{
    json_t *targets = NULL, *obj, *manifest = NULL;
    char *text = NULL;
    struct app app = {0};
    kube_client *kc = NULL;
    kube_cache *cache = NULL;
    doc_ignore *ig = NULL;
    size_t i;
    int rc;

    *differs = 0;
    pthread_mutex_lock(&e->mu);
    text = xstrdup(json_string_value(json_object_get(e->desired, app_name)));
    pthread_mutex_unlock(&e->mu);
    if (text && doc_parse_json(&targets, text, strlen(text), "desired", NULL) < 0)
        err_clear();
    free(text);
    text = NULL;
    if (!targets)
        return err_set(ERR_NOTFOUND,
                       "application %s: not compared yet (no pass has rendered it since the "
                       "server started)",
                       app_name);
    if ((rc = store_app_get(e->st, app_name, &text)) < 0 ||
        (rc = doc_parse_json(&manifest, text, strlen(text), app_name, NULL)) < 0 ||
        (rc = app_parse(&app, manifest, app_name)) < 0 ||
        (rc = engine_cluster_client(e, &app, &kc, &cache)) < 0)
        goto out;
    doc_ignore_new(&ig);
    if (doc_ignore_add_app(ig, doc_get(manifest, "spec.ignoreDifferences"),
                           "spec.ignoreDifferences") < 0)
        err_clear(); /* the pass reports a bad rule; show the rest */
    json_array_foreach(targets, i, obj)
    {
        const char *api = doc_get_str(obj, "apiVersion"), *kind = doc_get_str(obj, "kind");
        const char *ns = doc_get_str(obj, "metadata.namespace");
        const char *name = doc_get_str(obj, "metadata.name");
        json_t *live = NULL, *want, *have = NULL;
        struct buf a = BUF_INIT, b = BUF_INIT;
        char *la, *lb;
        struct diff_options opt = DIFF_OPTIONS_INIT;
        if (kube_cache_get(cache, api, kind, ns, name, &live, NULL) < 0) {
            err_clear();
            if (kube_client_get(kc, api, kind, ns, name, &live) < 0) {
                err_clear();
                live = NULL;
            }
        }
        want = doc_ignore_apply(ig, obj, live);
        doc_emit_yaml(&a, want);
        if (live) {
            json_t *projected = diff_project(obj, live);
            have = doc_ignore_apply(ig, projected, live);
            json_decref(projected);
            doc_emit_yaml(&b, have);
        }
        la = xasprintf("desired/%s/%s%s%s", kind, ns ? ns : "", ns ? "/" : "", name);
        lb = xasprintf("live/%s/%s%s%s%s", kind, ns ? ns : "", ns ? "/" : "", name,
                       live ? "" : " (missing)");
        opt.label_old = la;
        opt.label_new = lb;
        if (diff_unified(out, buf_cstr(&a), a.len, buf_cstr(&b), b.len, &opt) > 0)
            *differs = 1;
        free(la);
        free(lb);
        buf_dispose(&a);
        buf_dispose(&b);
        json_decref(want);
        json_decref(have);
        json_decref(live);
    }
out:
    doc_ignore_free(ig);
    app_dispose(&app);
    json_decref(manifest);
    json_decref(targets);
    free(text);
    return rc;
}
