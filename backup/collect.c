/*
 * One pass over the kinds discovery reports (see collect.h). Kinds are
 * taken in name order so two backups of the same cluster list their
 * entries alike. With orLabelSelectors each selector is one server-side
 * list and an object matching two of them is written once: the list of
 * selector i skips what selectors 0..i-1 match, asked of the object's
 * labels, so nothing is remembered per object. (An object relabelled
 * between two lists may be written twice, or missed, as a relabelled
 * object may be by any backup that is not a snapshot.)
 */
#include "backup/collect.h"

#include <stdlib.h>
#include <string.h>

#include "backup/filter.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"

struct collect_kind {
    const struct kube_resource *r;
    char *qualified;
};

struct collect_ctx {
    const json_t *spec;
    archive_writer *w;
    const struct collect_kind *k;
    int filter_ns; /* listed across namespaces: filter each object here */
    /* with several selectors (orLabelSelectors), one list each: the
     * selectors, and which one the current list is for */
    const json_t *selectors;
    size_t selector;
    size_t count;     /* objects of this kind written */
    int write_failed; /* the archive failed: stop everything */
    struct collect_result *res;
    struct buf text;
    size_t found, written; /* over all kinds, for progress */
    collect_progress_fn progress;
    void *progress_ctx;
};

static int collect_kind_cmp(const void *a, const void *b)
{
    return strcmp(((const struct collect_kind *)a)->qualified,
                  ((const struct collect_kind *)b)->qualified);
}

static int collect_item(void *arg, json_t *obj)
{
    struct collect_ctx *c = arg;
    const char *name = doc_get_str(obj, "metadata.name");
    const char *ns = c->k->r->namespaced ? doc_get_str(obj, "metadata.namespace") : NULL;
    char *classic = NULL, *preferred = NULL;
    int rc;

    if (!name || (c->k->r->namespaced && !ns))
        return 0; /* nothing a path could be made of */
    if (filter_excluded_object(obj))
        return 0;
    if (c->filter_ns && !filter_namespace(c->spec, c->k->r->namespaced ? ns : name))
        return 0;
    /* An object an earlier selector of this kind matches was written
     * with that selector's list. Asked of its labels rather than looked up
     * among the uids written: no set that grows with the kind. */
    for (size_t j = 0; j < c->selector; j++)
        if (filter_selector_match(json_array_get(c->selectors, j), doc_get(obj, "metadata.labels")))
            return 0;
    c->found++;
    buf_clear(&c->text);
    doc_emit_json(&c->text, obj, 0);
    /* As Velero writes it: the classic folder, then the preferred
     * version's. */
    classic = archive_object_path(c->k->qualified, NULL, ns, name);
    preferred = archive_object_path(c->k->qualified, c->k->r->version, ns, name);
    if ((rc = archive_writer_add(c->w, classic, c->text.ptr, c->text.len)) < 0 ||
        (rc = archive_writer_add(c->w, preferred, c->text.ptr, c->text.len)) < 0) {
        /* A name the layout refuses cannot be stored, but must not end
         * the backup; a write error must. */
        if (rc == ERR_INVALID || rc == ERR_TOOLARGE)
            json_array_append_new(c->res->warnings, json_sprintf("skipped: %s", err_last()));
        else
            c->write_failed = 1;
    } else {
        c->count++;
        c->written++;
    }
    if (c->progress)
        c->progress(c->progress_ctx, c->found, c->written);
    free(classic);
    free(preferred);
    return c->write_failed ? rc : 0;
}

/* List one kind in one namespace (NULL: all) with each selector. */
static int collect_list(kube_client *kc, struct collect_ctx *c, const char *ns, json_t *selectors)
{
    struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
    size_t n = json_array_size(selectors), i;
    int rc = 0;

    for (i = 0; i < (n ? n : 1); i++) {
        char *sel = NULL;
        if (n && (rc = filter_selector_string(json_array_get(selectors, i), &sel)) < 0)
            return rc;
        lo.label_selector = sel;
        c->selectors = selectors;
        c->selector = i;
        rc = kube_client_list_each(kc, c->k->r, ns, &lo, collect_item, c);
        free(sel);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int collect_kind(kube_client *kc, struct collect_ctx *c, struct collect_result *res)
{
    const json_t *ls = json_object_get(c->spec, "labelSelector");
    const json_t * or = json_object_get(c->spec, "orLabelSelectors");
    json_t *selectors = json_array(), *nslist = NULL;
    int rc = 0;

    if (json_is_object(ls))
        json_array_append(selectors, (json_t *)ls);
    else if (json_array_size(or) > 0)
        json_array_extend(selectors, (json_t *) or);
    c->count = 0;
    if (c->k->r->namespaced)
        nslist = filter_namespace_list(c->spec);
    if (nslist) {
        size_t i;
        json_t *ns;
        c->filter_ns = 0;
        json_array_foreach(nslist, i, ns)
        {
            if ((rc = collect_list(kc, c, json_string_value(ns), selectors)) < 0)
                break;
        }
    } else {
        /* Namespaces themselves follow the namespace filter too. */
        c->filter_ns =
            c->k->r->namespaced || (!c->k->r->group[0] && !strcmp(c->k->r->resource, "namespaces"));
        rc = collect_list(kc, c, NULL, selectors);
    }
    if (rc < 0 && !c->write_failed) {
        json_array_append_new(res->errors, json_sprintf("%s: %s", c->k->qualified, err_last()));
        rc = 0;
    }
    if (c->count) {
        json_object_set_new(res->resources, c->k->qualified, json_integer((json_int_t)c->count));
        res->items += c->count;
    }
    c->selectors = NULL;
    c->selector = 0;
    json_decref(nslist);
    json_decref(selectors);
    return rc;
}

int collect_run(kube_client *kc, const json_t *spec, archive_writer *w, struct collect_result *res,
                collect_progress_fn progress, void *progress_ctx)
{
    const struct kube_resource **all = NULL;
    struct collect_kind *kinds = NULL;
    struct collect_ctx c;
    json_t *failed = NULL, *f;
    size_t n = 0, nk = 0, i;
    int rc;

    memset(res, 0, sizeof(*res));
    res->resources = json_object();
    res->errors = json_array();
    res->warnings = json_array();
    memset(&c, 0, sizeof(c));
    c.res = res;
    c.spec = spec;
    c.w = w;
    c.progress = progress;
    c.progress_ctx = progress_ctx;
    buf_init(&c.text);
    if ((rc = kube_client_preferred_resources(kc, &all, &n, &failed)) < 0)
        goto out;
    json_array_foreach(failed, i, f)
    {
        json_array_append_new(res->errors, json_sprintf("discovery %s", json_string_value(f)));
    }
    kinds = xcalloc(n ? n : 1, sizeof(*kinds));
    for (i = 0; i < n; i++) {
        const struct kube_resource *r = all[i];
        char *q = r->group[0] ? xasprintf("%s.%s", r->resource, r->group) : xstrdup(r->resource);
        if (!r->listable || !filter_resource(spec, r, q)) {
            free(q);
            continue;
        }
        kinds[nk].r = r;
        kinds[nk++].qualified = q;
    }
    qsort(kinds, nk, sizeof(*kinds), collect_kind_cmp);
    for (i = 0; i < nk; i++) {
        c.k = &kinds[i];
        if ((rc = collect_kind(kc, &c, res)) < 0)
            goto out;
    }
    rc = 0;
out:
    for (i = 0; i < nk; i++)
        free(kinds[i].qualified);
    free(kinds);
    free(all);
    json_decref(failed);
    if (c.text.ptr)
        memset(c.text.ptr, 0, c.text.cap); /* it held Secrets */
    buf_dispose(&c.text);
    return rc;
}

void collect_result_dispose(struct collect_result *res)
{
    json_decref(res->resources);
    json_decref(res->errors);
    json_decref(res->warnings);
    memset(res, 0, sizeof(*res));
}
