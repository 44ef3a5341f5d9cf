/*
 * Two levels of jansson objects (hash tables) are the whole store: the
 * outer keyed "group/plural", the inner "namespace/name". LIST sorts on the
 * way out, which is cheap at the sizes a test or benchmark reaches.
 */
#include "objects.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static json_t *objects_root;
static uint64_t objects_counter = 1000;

void objects_init(void)
{
    objects_root = json_object();
}

void objects_dispose(void)
{
    json_decref(objects_root);
    objects_root = NULL;
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

void objects_put(const struct resource *r, const char *ns, const char *name, json_t *record)
{
    char *k = objects_key(r, ns, name);
    json_object_set_new(objects_table(r, 1), k, record);
    free(k);
}

void objects_remove(const struct resource *r, const char *ns, const char *name)
{
    json_t *t = objects_table(r, 0);
    char *k = objects_key(r, ns, name);
    if (t)
        json_object_del(t, k);
    free(k);
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

static int objects_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *objects_list_all(void)
{
    json_t *out = json_array();
    size_t n = 0, nt = json_object_size(objects_root);
    const char **types = xcalloc(nt + 1, sizeof(*types));
    const char *tk;
    json_t *t;
    json_object_foreach(objects_root, tk, t) types[n++] = tk;
    qsort(types, n, sizeof(*types), objects_cmp_str);
    for (size_t i = 0; i < n; i++) {
        t = json_object_get(objects_root, types[i]);
        struct objects_sortent *ents = xcalloc(json_object_size(t) + 1, sizeof(*ents));
        size_t m = 0;
        const char *k;
        json_t *rec;
        json_object_foreach(t, k, rec)
        {
            ents[m].key = k;
            ents[m].rec = rec;
            m++;
        }
        qsort(ents, m, sizeof(*ents), objects_cmp);
        for (size_t j = 0; j < m; j++)
            json_array_append_new(
                out, json_pack("{s:s, s:O}", "resource", types[i], "record", ents[j].rec));
        free(ents);
    }
    free(types);
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
        json_object_foreach_safe(t, tmp, k, rec)
        {
            if (strncmp(k, prefix, plen) == 0)
                json_object_del(t, k);
        }
    }
    free(prefix);
}

void objects_drop_resource(const struct resource *r)
{
    char *tk = objects_type_key(r);
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
