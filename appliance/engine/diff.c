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

int engine_diff_object(const doc_ignore *ig, const json_t *obj, const json_t *live, struct buf *out)
{
    const char *kind = doc_get_str(obj, "kind"), *ns = doc_get_str(obj, "metadata.namespace");
    const char *name = doc_get_str(obj, "metadata.name");
    json_t *want, *have = NULL;
    struct buf a = BUF_INIT, b = BUF_INIT;
    struct diff_options opt = DIFF_OPTIONS_INIT;
    char *la, *lb;
    int differs;

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
    differs = diff_unified(out, buf_cstr(&a), a.len, buf_cstr(&b), b.len, &opt) > 0;
    free(la);
    free(lb);
    buf_dispose(&a);
    buf_dispose(&b);
    json_decref(want);
    json_decref(have);
    return differs;
}

/* Secrets are masked on both sides first (doc_mask_secrets), so the text
 * shows that a value differs, never the value. */
int engine_diff(engine *e, const char *app_name, struct buf *out, int *differs)
{
    struct engine_view v;
    json_t *obj;
    size_t i;
    int rc;

    *differs = 0;
    if ((rc = engine_view_open(e, app_name, &v)) < 0)
        return rc;
    if (!v.targets) {
        rc = err_set(ERR_NOTFOUND,
                     "application %s: not compared yet (no pass has rendered it since the "
                     "server started)",
                     app_name);
        goto out;
    }
    json_array_foreach(v.targets, i, obj)
    {
        json_t *want = json_deep_copy(obj);
        json_t *live = engine_view_live(
            &v, doc_get_str(obj, "apiVersion"), doc_get_str(obj, "kind"),
            doc_get_str(obj, "metadata.namespace"), doc_get_str(obj, "metadata.name"));
        doc_mask_secrets(want, live);
        if (engine_diff_object(v.ig, want, live, out))
            *differs = 1;
        json_decref(want);
        json_decref(live);
    }
out:
    engine_view_dispose(&v);
    return rc;
}
