/*
 * Two levels of jansson objects (hash tables) are the whole store: the
 * outer keyed "group/plural", the inner "namespace/name". LIST sorts on the
 * way out, which is cheap at the sizes a test or benchmark reaches.
 */
#include "objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "watch.h"

static json_t *objects_root;
/* Indexes the garbage collector needs so that it does not scan the
 * store: every record by uid, and the records that may need collecting
 * (being deleted, or with ownerReferences) by "group/plural ns/name".
 * Both hold references to the current records. */
static json_t *objects_uids;
static json_t *objects_flagged;
static uint64_t objects_counter = 1000;

void objects_init(void)
{
    objects_root = json_object();
    objects_uids = json_object();
    objects_flagged = json_object();
}

void objects_dispose(void)
{
    json_decref(objects_root);
    json_decref(objects_uids);
    json_decref(objects_flagged);
    objects_root = objects_uids = objects_flagged = NULL;
}

static char *objects_type_key(const struct resource *r)
{
    return xasprintf("%s/%s", r->group, r->plural);
}

static char *objects_key(const struct resource *r, const char *ns, const char *name)
{
    return xasprintf("%s/%s", r->namespaced && ns ? ns : "", name);
}

static json_t *objects_table(const struct resource *r, int create)
{
    char *tk = objects_type_key(r);
    json_t *t = json_object_get(objects_root, tk);
    if (!t && create) {
        t = json_object();
        json_object_set_new(objects_root, tk, t);
    }
    free(tk);
    return t;
}

json_t *objects_get(const struct resource *r, const char *ns, const char *name)
{
    json_t *t = objects_table(r, 0);
    char *k;
    json_t *rec;
    if (!t)
        return NULL;
    k = objects_key(r, ns, name);
    rec = json_object_get(t, k);
    free(k);
    return rec;
}

/* Keep the uid and collector indexes in step with the record at tk/k
 * going from old to rec (either may be NULL). */
static void objects_index(const char *tk, const char *k, const json_t *old, json_t *rec)
{
    const json_t *ometa = json_object_get(json_object_get(old, "object"), "metadata");
    const json_t *meta = json_object_get(json_object_get(rec, "object"), "metadata");
    const char *ouid = json_string_value(json_object_get(ometa, "uid"));
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    char *fk = xasprintf("%s %s", tk, k);
    if (ouid)
        json_object_del(objects_uids, ouid);
    if (uid)
        json_object_set(objects_uids, uid, rec);
    if (rec && (json_object_get(meta, "deletionTimestamp") ||
                json_array_size(json_object_get(meta, "ownerReferences")) > 0))
        json_object_set(objects_flagged, fk, rec);
    else
        json_object_del(objects_flagged, fk);
    free(fk);
}

void objects_put(const struct resource *r, const char *ns, const char *name, json_t *record)
{
    char *k = objects_key(r, ns, name);
    char *tk = objects_type_key(r);
    json_t *t = objects_table(r, 1);
    json_t *old = json_object_get(t, k);
    watch_record(old ? WATCH_MODIFIED : WATCH_ADDED, r, json_object_get(record, "object"),
                 json_object_get(old, "object"));
    objects_index(tk, k, old, record);
    json_object_set_new(t, k, record);
    free(tk);
    free(k);
}

json_t *objects_by_uid(const char *uid)
{
    return json_object_get(objects_uids, uid);
}

size_t objects_flagged_refs(struct objects_ref **out)
{
    size_t n = 0;
    const char *fk;
    json_t *rec;
    struct objects_ref *refs = xcalloc(json_object_size(objects_flagged) + 1, sizeof(*refs));
    json_object_foreach(objects_flagged, fk, rec)
    {
        const char *slash = strchr(fk, '/'), *sp = strchr(fk, ' ');
        char *group = xstrndup(fk, (size_t)(slash - fk));
        char *plural = xstrndup(slash + 1, (size_t)(sp - slash - 1));
        const struct resource *r = resources_find_plural(group, plural);
        free(group);
        free(plural);
        if (!r)
            continue;
        refs[n].r = r;
        refs[n].rec = json_incref(rec);
        n++;
    }
    *out = refs;
    return n;
}

/* Emit DELETED for the record at key k of table t (with final_state, or
 * the stored object when NULL) and drop it. */
static void objects_delete_key(const struct resource *r, json_t *t, const char *k,
                               const json_t *final_state)
{
    json_t *rec = json_object_get(t, k);
    json_t *last;
    char rv[32];
    char *tk = objects_type_key(r);
    if (!rec) {
        free(tk);
        return;
    }
    last = json_deep_copy(final_state ? final_state : json_object_get(rec, "object"));
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_next_rv());
    json_object_set_new(json_object_get(last, "metadata"), "resourceVersion", json_string(rv));
    watch_record(WATCH_DELETED, r, last, NULL);
    json_decref(last);
    objects_index(tk, k, rec, NULL);
    json_object_del(t, k);
    free(tk);
}

void objects_remove(const struct resource *r, const char *ns, const char *name)
{
    json_t *t = objects_table(r, 0);
    char *k = objects_key(r, ns, name);
    if (t)
        objects_delete_key(r, t, k, NULL);
    free(k);
}

void objects_remove_last(const struct resource *r, const char *ns, const char *name,
                         const json_t *last)
{
    json_t *t = objects_table(r, 0);
    char *k = objects_key(r, ns, name);
    if (t)
        objects_delete_key(r, t, k, last);
    free(k);
}

size_t objects_all(struct objects_ref **out, const char *ns)
{
    size_t n = 0, cap = 16;
    const char *tk;
    json_t *t;
    char *prefix = ns ? xasprintf("%s/", ns) : NULL;
    struct objects_ref *refs = xcalloc(cap, sizeof(*refs));
    json_object_foreach(objects_root, tk, t)
    {
        const char *slash = strchr(tk, '/');
        char *group = xstrndup(tk, (size_t)(slash - tk));
        const struct resource *r = resources_find_plural(group, slash + 1);
        const char *k;
        json_t *rec;
        free(group);
        if (!r || (ns && !r->namespaced))
            continue;
        json_object_foreach(t, k, rec)
        {
            if (prefix && strncmp(k, prefix, strlen(prefix)) != 0)
                continue;
            if (n == cap) {
                cap *= 2;
                refs = xrealloc(refs, cap * sizeof(*refs));
            }
            refs[n].r = r;
            refs[n].rec = json_incref(rec);
            n++;
        }
    }
    free(prefix);
    *out = refs;
    return n;
}

void objects_refs_free(struct objects_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(refs[i].rec);
    free(refs);
}

struct objects_sortent {
    const char *key;
    json_t *rec;
};

static int objects_cmp(const void *a, const void *b)
{
    return strcmp(((const struct objects_sortent *)a)->key,
                  ((const struct objects_sortent *)b)->key);
}

json_t *objects_list(const struct resource *r, const char *ns)
{
    json_t *t = objects_table(r, 0);
    json_t *out = json_array();
    struct objects_sortent *ents;
    size_t n = 0, prefix_len;
    char *prefix;
    const char *k;
    json_t *rec;
    if (!t)
        return out;
    prefix = ns && r->namespaced ? xasprintf("%s/", ns) : xstrdup("");
    prefix_len = strlen(prefix);
    ents = xcalloc(json_object_size(t) + 1, sizeof(*ents));
    json_object_foreach(t, k, rec)
    {
        if (strncmp(k, prefix, prefix_len) == 0) {
            ents[n].key = k;
            ents[n].rec = rec;
            n++;
        }
    }
    qsort(ents, n, sizeof(*ents), objects_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, ents[i].rec);
    free(ents);
    free(prefix);
    return out;
}

void objects_drop_namespace(const char *ns)
{
    const char *tk;
    json_t *t;
    char *prefix = xasprintf("%s/", ns);
    size_t plen = strlen(prefix);
    json_object_foreach(objects_root, tk, t)
    {
        const char *k;
        json_t *rec;
        void *tmp;
        const char *slash = strchr(tk, '/');
        char *group = xstrndup(tk, (size_t)(slash - tk));
        const struct resource *r = resources_find_plural(group, slash + 1);
        free(group);
        json_object_foreach_safe(t, tmp, k, rec)
        {
            if (strncmp(k, prefix, plen) == 0) {
                if (r) {
                    objects_delete_key(r, t, k, NULL);
                } else {
                    objects_index(tk, k, rec, NULL);
                    json_object_del(t, k);
                }
            }
        }
    }
    free(prefix);
}

void objects_drop_resource(const struct resource *r)
{
    char *tk = objects_type_key(r);
    json_t *t = json_object_get(objects_root, tk);
    const char *k;
    json_t *rec;
    void *tmp;
    json_object_foreach_safe(t, tmp, k, rec) objects_delete_key(r, t, k, NULL);
    json_object_del(objects_root, tk);
    free(tk);
}

uint64_t objects_next_rv(void)
{
    return ++objects_counter;
}

uint64_t objects_rv(void)
{
    return objects_counter;
}
