/*
 * Compare: is the live object what an apply of the desired one would
 * leave? The API server knows (server-side apply with dryRun=All returns
 * the object it would store, defaults and all), but asking it for every
 * object on every pass costs a request each. So the answer is kept:
 *
 *   - per object, the SHA-256 of the desired object, the live
 *     resourceVersion and the verdict of the last dry-run;
 *   - both unchanged: the remembered verdict stands;
 *   - desired unchanged, the last dry-run said Synced, and the live object
 *     still holds every value the desired one sets (a client-side check:
 *     mappings by key, lists element by element, scalars equal): Synced
 *     without asking, so a Deployment whose status moves on is not
 *     dry-run again. Anything less certain asks the server.
 *
 * Live objects come from the cluster's watch cache when their kind's
 * listing is complete there (no request at all), else from a GET.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/buf.h"
#include "doc/doc.h"
#include "doc/patch.h"
#include "engine/internal.h"

static char *verdict_key(const json_t *obj)
{
    const char *ns = doc_get_str(obj, "metadata.namespace");
    return xasprintf("%s|%s|%s|%s", doc_get_str(obj, "apiVersion"), doc_get_str(obj, "kind"),
                     ns ? ns : "", doc_get_str(obj, "metadata.name"));
}

/* What a verdict depends on besides the live object: the desired object
 * and the ignore rules in force (their settings and the app's list). */
static void verdict_hash(const engine *e, const json_t *obj, char out[65])
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    char *rules = e->ignore_key ? e->ignore_key : "";
    char *all = xasprintf("%s\n%s", text ? text : "", rules);
    util_sha256_hex(all, strlen(all), out);
    free(all);
    free(text);
}

/* 1 if every value desired sets is in live: mappings by key, lists of the
 * same length element by element, scalars equal (1 == 1.0). */
static int compare_holds(const json_t *desired, const json_t *live)
{
    if (json_is_object(desired)) {
        const char *k;
        json_t *v;
        if (!json_is_object(live))
            return 0;
        json_object_foreach((json_t *)desired, k, v)
        {
            json_t *lv = json_object_get(live, k);
            if (!lv) {
                /* an empty or null value sets nothing the server keeps */
                if (json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0))
                    continue;
                return 0;
            }
            if (!compare_holds(v, lv))
                return 0;
        }
        return 1;
    }
    if (json_is_array(desired)) {
        size_t i;
        if (!json_is_array(live) || json_array_size(live) != json_array_size(desired))
            return 0;
        for (i = 0; i < json_array_size(desired); i++)
            if (!compare_holds(json_array_get(desired, i), json_array_get(live, i)))
                return 0;
        return 1;
    }
    if (json_is_number(desired) && json_is_number(live))
        return json_number_value(desired) == json_number_value(live);
    return json_equal((json_t *)desired, (json_t *)live);
}

/* Fields the server owns that say nothing about drift. */
static void compare_strip_volatile(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (json_is_object(meta)) {
        json_object_del(meta, "managedFields");
        json_object_del(meta, "resourceVersion");
        json_object_del(meta, "generation");
    }
}

/* desired holds in live once both lose the ignored fields. */
static int compare_holds_ignoring(engine *e, const json_t *desired, const json_t *live)
{
    json_t *d, *l;
    int holds;
    if (!e->ignore || !doc_ignore_count(e->ignore))
        return compare_holds(desired, live);
    d = doc_ignore_apply(e->ignore, desired, live);
    l = doc_ignore_apply(e->ignore, live, live);
    holds = compare_holds(d, l);
    json_decref(d);
    json_decref(l);
    return holds;
}

/* would (the dry-run's answer) equals live_copy once both lose the
 * ignored fields (managers' rules read live's managedFields). */
static int compare_equal_ignoring(engine *e, const json_t *would, const json_t *live_copy,
                                  const json_t *live)
{
    json_t *a, *b;
    int eq;
    if (!e->ignore || !doc_ignore_count(e->ignore))
        return doc_equal(live_copy, would);
    a = doc_ignore_apply(e->ignore, would, live);
    b = doc_ignore_apply(e->ignore, live_copy, live);
    eq = doc_equal(a, b);
    json_decref(a);
    json_decref(b);
    return eq;
}

static int compare_live(kube_client *kc, kube_cache *cache, const json_t *desired, json_t **live,
                        char **rv)
{
    const char *api = doc_get_str(desired, "apiVersion"), *kind = doc_get_str(desired, "kind");
    const char *ns = doc_get_str(desired, "metadata.namespace");
    const char *name = doc_get_str(desired, "metadata.name");
    int rc;

    *live = NULL;
    *rv = NULL;
    if (cache && kube_cache_synced(cache, api, kind)) {
        rc = kube_cache_get(cache, api, kind, ns, name, live, rv);
        if (rc != ERR_NOTFOUND)
            return rc;
        /* not cached: absent, or present without the app label (made by
         * hand, or by another tool): only a GET can tell */
        err_clear();
    }
    rc = kube_client_get(kc, api, kind, ns, name, live);
    if (rc == 0)
        *rv = xstrdup(doc_get_str(*live, "metadata.resourceVersion"));
    return rc;
}

int engine_compare(engine *e, kube_client *kc, kube_cache *cache, const json_t *desired,
                   struct engine_verdict *out)
{
    char *key = verdict_key(desired), hash[65];
    const char *want_id = doc_get_str(desired, "metadata.annotations." ENGINE_ANNOTATION_TRACKING);
    json_t *entry, *would = NULL, *live_copy;
    const char *have_id;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = compare_live(kc, cache, desired, &out->live, &out->live_rv);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        out->status = "Missing";
        json_object_del(e->verdicts, key);
        free(key);
        return 0;
    }
    if (rc < 0) {
        free(key);
        return rc;
    }
    /* a live object that names another app or another object as its
     * owner is not ours: never counted as Synced, never synced over */
    have_id = doc_get_str(out->live, "metadata.annotations." ENGINE_ANNOTATION_TRACKING);
    if (have_id && want_id && strcmp(have_id, want_id) != 0) {
        out->foreign = xstrdup(have_id);
        out->status = "OutOfSync";
        free(key);
        return 0;
    }
    verdict_hash(e, desired, hash);
    entry = json_object_get(e->verdicts, key);
    if (entry && !strcmp(json_string_value(json_object_get(entry, "h")), hash)) {
        const char *was = json_string_value(json_object_get(entry, "v"));
        const char *was_rv = json_string_value(json_object_get(entry, "rv"));
        if (out->live_rv && !strcmp(was_rv, out->live_rv)) {
            out->status = !strcmp(was, "Synced") ? "Synced" : "OutOfSync";
            free(key);
            return 0;
        }
        if (!strcmp(was, "Synced") && compare_holds_ignoring(e, desired, out->live)) {
            json_object_set_new(entry, "rv", json_string(out->live_rv ? out->live_rv : ""));
            out->status = "Synced";
            free(key);
            return 0;
        }
    }
    e->dry_runs++;
    if ((rc = kube_client_apply(kc, desired, 1, &would)) < 0) {
        free(key);
        return rc;
    }
    live_copy = json_deep_copy(out->live);
    compare_strip_volatile(live_copy);
    compare_strip_volatile(would);
    out->status = compare_equal_ignoring(e, would, live_copy, out->live) ? "Synced" : "OutOfSync";
    json_object_set_new(e->verdicts, key,
                        json_pack("{s:s, s:s, s:s}", "h", hash, "rv",
                                  out->live_rv ? out->live_rv : "", "v", out->status));
    json_decref(live_copy);
    json_decref(would);
    free(key);
    return 0;
}

void engine_verdict_dispose(struct engine_verdict *v)
{
    json_decref(v->live);
    free(v->live_rv);
    free(v->foreign);
    memset(v, 0, sizeof(*v));
}

void engine_verdict_applied(engine *e, const json_t *obj, const char *rv)
{
    char *key = verdict_key(obj), hash[65];
    if (!rv) {
        json_object_del(e->verdicts, key);
    } else {
        verdict_hash(e, obj, hash);
        json_object_set_new(e->verdicts, key,
                            json_pack("{s:s, s:s, s:s}", "h", hash, "rv", rv, "v", "Synced"));
    }
    free(key);
}

/* The value at RFC 6901 pointer ptr in doc (borrowed), or NULL. */
static json_t *compare_pointer_get(const json_t *doc, const char *ptr)
{
    const json_t *cur = doc;
    const char *p = ptr;
    if (*p != '/')
        return NULL;
    while (cur && *p == '/') {
        const char *end = strchr(p + 1, '/');
        size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
        struct buf tok = BUF_INIT;
        for (size_t i = 0; i < n; i++) {
            const char *c = p + 1 + i;
            if (c[0] == '~' && i + 1 < n && (c[1] == '0' || c[1] == '1')) {
                buf_put(&tok, c[1] == '0' ? "~" : "/", 1);
                i++;
            } else {
                buf_put(&tok, c, 1);
            }
        }
        if (json_is_object(cur)) {
            cur = json_object_get(cur, buf_cstr(&tok));
        } else if (json_is_array(cur)) {
            long idx = doc_pointer_index(buf_cstr(&tok));
            cur = idx >= 0 ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            cur = NULL;
        }
        buf_dispose(&tok);
        p += n + 1;
    }
    return (json_t *)cur;
}

json_t *engine_respect_ignored(engine *e, const json_t *desired, const json_t *live)
{
    json_t *out = json_deep_copy(desired), *paths, *p;
    size_t i;
    if (!e->ignore || !doc_ignore_count(e->ignore) || !live)
        return out;
    /* the ignored fields of either side: the live value where there is
     * one, else the field goes */
    paths = doc_ignore_paths(e->ignore, desired, live);
    {
        json_t *more = doc_ignore_paths(e->ignore, live, live);
        json_array_extend(paths, more);
        json_decref(more);
    }
    json_array_foreach(paths, i, p)
    {
        const char *ptr = json_string_value(p);
        json_t *lv = compare_pointer_get(live, ptr), *ops;
        json_t *dv = compare_pointer_get(out, ptr);
        if (lv)
            ops = json_pack("[{s:s, s:s, s:O}]", "op", dv ? "replace" : "add", "path", ptr, "value",
                            lv);
        else if (dv)
            ops = json_pack("[{s:s, s:s}]", "op", "remove", "path", ptr);
        else
            continue;
        /* a field whose parent is missing in desired stays as it is */
        if (doc_patch_json(&out, ops) < 0)
            err_clear();
        json_decref(ops);
    }
    json_decref(paths);
    return out;
}
