/*
 * Strategic merge patch the way kustomize applies it to the built-in
 * kinds. What makes it "strategic" is a table: which lists merge item by
 * item and by which key (the patchMergeKey/patchStrategy tags of the
 * Kubernetes API types). Lists not in the table, and every list of a kind
 * that is not built in (a custom resource has no such tags), are
 * replaced, as kustomize does without a schema.
 *
 * Order follows kustomize: a merged list holds the patch's items first,
 * in the patch's order (each merged with its match), then the target's
 * items that the patch did not name, in their order.
 *
 * The walk keeps the field names from the root so that the two lists
 * called "ports" can be told apart (a container's, keyed by
 * containerPort, and a Service's, keyed by port).
 */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "doc/patch.h"

#define SMP_MAX_DEPTH 64

enum smp_list_kind { SMP_REPLACE, SMP_KEYED, SMP_PRIMITIVE_MERGE };

struct smp_walk {
    int builtin;      /* kind has merge keys at all */
    const char *kind; /* "" when unknown */
    const char *names[SMP_MAX_DEPTH];
    int depth;
};

/* Lists that merge by a key wherever they appear in a built-in kind. */
static const struct {
    const char *field;
    const char *key;
} smp_keyed[] = {
    {"containers", "name"},
    {"initContainers", "name"},
    {"ephemeralContainers", "name"},
    {"env", "name"},
    {"volumes", "name"},
    {"volumeMounts", "mountPath"},
    {"volumeDevices", "devicePath"},
    {"imagePullSecrets", "name"},
    {"hostAliases", "ip"},
    {"topologySpreadConstraints", "topologyKey"},
    {"resourceClaims", "name"},
    {"schedulingGates", "name"},
    {"ownerReferences", "uid"},
    {"conditions", "type"},
    {"resizePolicy", "resourceName"},
};

/* API groups whose kinds carry the tags above. */
static const char *const smp_builtin_groups[] = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "extensions",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "admissionregistration.k8s.io",
    "certificates.k8s.io",
};

static int smp_is_builtin(const char *api_version)
{
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    size_t glen = slash ? (size_t)(slash - api_version) : 0;

    if (!api_version || !api_version[0])
        return 0;
    for (size_t i = 0; i < sizeof(smp_builtin_groups) / sizeof(smp_builtin_groups[0]); i++)
        if (strlen(smp_builtin_groups[i]) == glen &&
            strncmp(api_version, smp_builtin_groups[i], glen) == 0)
            return 1;
    return 0;
}

/* The name `up` levels above the list's own field name (0 = the field). */
static const char *smp_name(const struct smp_walk *w, int up)
{
    int i = w->depth - 1 - up;
    return i >= 0 ? w->names[i] : NULL;
}

static int smp_name_is(const struct smp_walk *w, int up, const char *name)
{
    const char *n = smp_name(w, up);
    return n && strcmp(n, name) == 0;
}

/* How the list field on top of the walk merges; *key for SMP_KEYED. */
static enum smp_list_kind smp_list_of(const struct smp_walk *w, const char **key)
{
    const char *field = smp_name(w, 0);

    *key = NULL;
    if (!w->builtin || !field)
        return SMP_REPLACE;
    if (!strcmp(field, "finalizers") && w->depth == 2 && smp_name_is(w, 1, "metadata"))
        return SMP_PRIMITIVE_MERGE;
    if (!strcmp(field, "ports")) {
        /* a list item is pushed as "" */
        if (smp_name_is(w, 1, "") &&
            (smp_name_is(w, 2, "containers") || smp_name_is(w, 2, "initContainers") ||
             smp_name_is(w, 2, "ephemeralContainers"))) {
            *key = "containerPort";
            return SMP_KEYED;
        }
        if (w->depth == 2 && smp_name_is(w, 1, "spec") && !strcmp(w->kind, "Service")) {
            *key = "port";
            return SMP_KEYED;
        }
        return SMP_REPLACE;
    }
    for (size_t i = 0; i < sizeof(smp_keyed) / sizeof(smp_keyed[0]); i++) {
        if (!strcmp(field, smp_keyed[i].field)) {
            *key = smp_keyed[i].key;
            return SMP_KEYED;
        }
    }
    return SMP_REPLACE;
}

/* A copy of v without directives. */
static json_t *smp_clean(const json_t *v)
{
    json_t *out, *c;
    const char *k;
    size_t i;

    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach(v, i, c)
        {
            if (json_is_object(c) && json_object_get(c, "$patch"))
                continue;
            json_array_append_new(out, smp_clean(c));
        }
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    out = json_object();
    json_object_foreach((json_t *)v, k, c)
    {
        if (k[0] != '$' && !json_is_null(c))
            json_object_set_new(out, k, smp_clean(c));
    }
    return out;
}

static const char *smp_directive(const json_t *v)
{
    return json_is_object(v) ? json_string_value(json_object_get(v, "$patch")) : NULL;
}

/* Index of the item of list whose key equals item's, or -1. */
static long smp_find(const json_t *list, const char *key, const json_t *item)
{
    const json_t *want = json_object_get(item, key), *c;
    size_t i;

    if (!want)
        return -1;
    json_array_foreach(list, i, c)
    {
        if (json_is_object(c) && json_equal(json_object_get(c, key), want))
            return (long)i;
    }
    return -1;
}

static int smp_map(struct smp_walk *w, json_t *target, const json_t *patch);

/* Patch items first (merged), then the target's items the patch did not
 * name. A new array. */
static int smp_keyed_list(struct smp_walk *w, const json_t *target, const json_t *patch,
                          const char *key, json_t **out)
{
    json_t *res = json_array(), *item;
    char *used = xcalloc(json_array_size(target) + 1, 1);
    size_t i;
    int rc = 0;

    *out = NULL;
    json_array_foreach(patch, i, item)
    {
        const char *d = smp_directive(item);
        long j = json_is_object(item) ? smp_find(target, key, item) : -1;

        if (d && !strcmp(d, "delete")) {
            if (j >= 0)
                used[j] = 1;
            continue;
        }
        if (d && strcmp(d, "merge") != 0 && strcmp(d, "replace") != 0) {
            rc = err_set(ERR_INVALID, "%s: unknown $patch directive \"%s\"", smp_name(w, 0), d);
            goto out;
        }
        if (j >= 0 && !used[j] && (!d || strcmp(d, "replace") != 0)) {
            json_t *merged = json_deep_copy(json_array_get(target, (size_t)j));
            used[j] = 1;
            w->names[w->depth++] = "";
            rc = smp_map(w, merged, item);
            w->depth--;
            if (rc < 0) {
                json_decref(merged);
                goto out;
            }
            json_array_append_new(res, merged);
        } else {
            if (j >= 0)
                used[j] = 1;
            json_array_append_new(res, smp_clean(item));
        }
    }
    json_array_foreach(target, i, item)
    {
        if (!used[i])
            json_array_append(res, item);
    }
    *out = res;
    res = NULL;
out:
    json_decref(res);
    free(used);
    return rc;
}

/* Reorder list (in place) so the items order names come first, in that
 * order; keyed by key, or by value for primitive lists (key NULL). */
static void smp_order(json_t *list, const json_t *order, const char *key)
{
    json_t *res = json_array(), *o;
    char *used = xcalloc(json_array_size(list) + 1, 1);
    size_t i, j;

    json_array_foreach(order, i, o)
    {
        for (j = 0; j < json_array_size(list); j++) {
            json_t *c = json_array_get(list, j);
            if (used[j])
                continue;
            if (key ? json_equal(json_object_get(c, key), json_object_get(o, key))
                    : json_equal(c, o)) {
                json_array_append(res, c);
                used[j] = 1;
                break;
            }
        }
    }
    for (j = 0; j < json_array_size(list); j++)
        if (!used[j])
            json_array_append(res, json_array_get(list, j));
    json_array_clear(list);
    json_array_extend(list, res);
    json_decref(res);
    free(used);
}

static int smp_list(struct smp_walk *w, json_t *target, const char *k, const json_t *patch,
                    const json_t *order)
{
    json_t *t = json_object_get(target, k), *merged = NULL, *item;
    const char *key;
    enum smp_list_kind kind = smp_list_of(w, &key);
    size_t i;
    int rc;

    json_array_foreach(patch, i, item)
    {
        const char *d = smp_directive(item);
        if (d && !strcmp(d, "replace")) {
            /* [{"$patch": "replace"}, items...]: the list becomes the items */
            json_object_set_new(target, k, smp_clean(patch));
            return 0;
        }
    }
    if (kind == SMP_REPLACE || !json_is_array(t)) {
        json_object_set_new(target, k, smp_clean(patch));
        return 0;
    }
    if (kind == SMP_PRIMITIVE_MERGE) {
        merged = json_array();
        json_array_foreach(patch, i, item) json_array_append(merged, item);
        json_array_foreach(t, i, item)
        {
            size_t j;
            int seen = 0;
            for (j = 0; j < json_array_size(merged) && !seen; j++)
                seen = json_equal(json_array_get(merged, j), item);
            if (!seen)
                json_array_append(merged, item);
        }
    } else if ((rc = smp_keyed_list(w, t, patch, key, &merged)) < 0) {
        return rc;
    }
    if (order)
        smp_order(merged, order, kind == SMP_KEYED ? key : NULL);
    json_object_set_new(target, k, merged);
    return 0;
}

static int smp_map(struct smp_walk *w, json_t *target, const json_t *patch)
{
    const char *k, *d = smp_directive(patch);
    const json_t *retain = json_object_get(patch, "$retainKeys");
    json_t *v;
    int rc = 0;

    if (w->depth >= SMP_MAX_DEPTH - 2)
        return err_set(ERR_INVALID, "patch nested deeper than %d levels", SMP_MAX_DEPTH);
    if (d && !strcmp(d, "replace")) {
        json_t *clean = smp_clean(patch);
        json_object_clear(target);
        json_object_update(target, clean);
        json_decref(clean);
        return 0;
    }
    if (d && strcmp(d, "merge") != 0 && strcmp(d, "delete") != 0)
        return err_set(ERR_INVALID, "%s: unknown $patch directive \"%s\"",
                       w->depth ? smp_name(w, 0) : "(root)", d);
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *t = json_object_get(target, k);

        if (k[0] == '$') {
            if (!strncmp(k, "$deleteFromPrimitiveList/", 25)) {
                json_t *list = json_object_get(target, k + 25), *del;
                size_t i;
                json_array_foreach(v, i, del)
                {
                    for (size_t j = json_array_size(list); j-- > 0;)
                        if (json_equal(json_array_get(list, j), del))
                            json_array_remove(list, j);
                }
            } else if (strcmp(k, "$retainKeys") != 0 && strcmp(k, "$patch") != 0 &&
                       strncmp(k, "$setElementOrder/", 17) != 0) {
                return err_set(ERR_INVALID, "unknown strategic merge patch directive %s", k);
            }
            continue;
        }
        w->names[w->depth++] = k;
        if (json_is_null(v) ||
            (json_is_object(v) && smp_directive(v) && !strcmp(smp_directive(v), "delete"))) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            rc = smp_map(w, t, v);
        } else if (json_is_array(v)) {
            char *ok = xasprintf("$setElementOrder/%s", k);
            rc = smp_list(w, target, k, v, json_object_get(patch, ok));
            free(ok);
        } else {
            json_object_set_new(target, k, json_deep_copy(v));
        }
        w->depth--;
        if (rc < 0)
            return rc;
    }
    /* an order for a list the patch does not otherwise touch */
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *list;
        const char *key;
        if (strncmp(k, "$setElementOrder/", 17) != 0 || json_object_get(patch, k + 17))
            continue;
        list = json_object_get(target, k + 17);
        if (!json_is_array(list))
            continue;
        w->names[w->depth++] = k + 17;
        if (smp_list_of(w, &key) != SMP_REPLACE)
            smp_order(list, v, key);
        w->depth--;
    }
    if (json_is_array(retain)) {
        void *tmp;
        json_object_foreach_safe(target, tmp, k, v)
        {
            size_t i;
            json_t *r;
            int keep = 0;
            json_array_foreach(retain, i, r)
            {
                if (json_is_string(r) && !strcmp(json_string_value(r), k))
                    keep = 1;
            }
            if (!keep)
                json_object_del(target, k);
        }
    }
    return 0;
}

int doc_patch_strategic(json_t *target, const json_t *patch, const char *api_version,
                        const char *kind)
{
    struct smp_walk w;

    memset(&w, 0, sizeof(w));
    w.builtin = smp_is_builtin(api_version);
    w.kind = kind ? kind : "";
    if (!json_is_object(target) || !json_is_object(patch))
        return err_set(ERR_INVALID, "strategic merge patch: target and patch must be mappings");
    return smp_map(&w, target, patch);
}
