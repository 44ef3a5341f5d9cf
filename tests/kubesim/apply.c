/*
 * Field sets are handled in an "expanded" form inside this file: every
 * member node carries a "." key, even a leaf ({".":true}), so membership is
 * one lookup and set algebra is plain recursion over keys. The fieldsV1
 * form the server shows (a leaf member is {}, "." only where a member also
 * has children, keys sorted) exists only at the edges: set_expand on the
 * way in, set_compact on the way out.
 *
 * The algorithms follow structured-merge-diff's Updater: Apply merges the
 * config into the live object, compares live with the result (added,
 * modified, removed), fails on fields other managers own that would
 * change, takes them over when forced, then prunes what the applier owned
 * last time and owns no longer unless someone else still owns it; Update
 * gives the writer what it added or modified and takes both, and what it
 * removed, away from everyone else.
 */
#include "apply.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

#define APPLY_MAX_DEPTH 64
#define APPLY_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* ---- the schema table ------------------------------------------------- */

enum apply_list_kind { APPLY_ATOMIC, APPLY_KEYED, APPLY_SET };

struct apply_list {
    enum apply_list_kind kind;
    const char *keys[2];
    size_t nkeys;
};

/* Where a walk is: the field names from the root down to the current
 * value (NULL for a list item). */
struct apply_walk {
    const struct resource *r;
    const char *names[APPLY_MAX_DEPTH];
    int depth;
};

static void walk_push(struct apply_walk *w, const char *name)
{
    if (w->depth < APPLY_MAX_DEPTH)
        w->names[w->depth] = name;
    w->depth++;
}

static void walk_pop(struct apply_walk *w)
{
    w->depth--;
}

/* The name up levels above the current value (0: the current one). */
static const char *walk_name(const struct apply_walk *w, int up)
{
    int i = w->depth - 1 - up;
    return i >= 0 && i < APPLY_MAX_DEPTH ? w->names[i] : NULL;
}

static int walk_name_is(const struct apply_walk *w, int up, const char *name)
{
    const char *n = walk_name(w, up);
    return n && strcmp(n, name) == 0;
}

/* Custom resources outside metadata have no schema here: deduced. */
static int walk_deduced(const struct apply_walk *w)
{
    if (w->r && !w->r->crd)
        return 0;
    return !(w->depth >= 1 && w->names[0] && strcmp(w->names[0], "metadata") == 0);
}

static int walk_kind_is(const struct apply_walk *w, const char *group, const char *kind)
{
    return w->r && !w->r->crd && strcmp(w->r->group, group) == 0 && strcmp(w->r->kind, kind) == 0;
}

/* 1 if the current value is a map (map[string]T: its keys are not named
 * fields of a struct). */
static int apply_is_map(const struct apply_walk *w)
{
    static const char *const maps[] = {"labels", "annotations", "matchLabels", "nodeSelector",
                                       "limits", "requests",    "capacity",    "allocatable",
                                       "hard",   "used",        "parameters"};
    const char *name = walk_name(w, 0);
    if (w->depth == 0)
        return 0;
    if (walk_deduced(w))
        return 1;
    if (!name)
        return 0;
    if (w->depth == 1 && (strcmp(name, "data") == 0 || strcmp(name, "binaryData") == 0 ||
                          strcmp(name, "stringData") == 0))
        return 1;
    if (w->depth == 2 && strcmp(name, "selector") == 0 && walk_name_is(w, 1, "spec") &&
        (walk_kind_is(w, "", "Service") || walk_kind_is(w, "", "ReplicationController")))
        return 1;
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
        if (strcmp(name, maps[i]) == 0)
            return 1;
    return 0;
}

/* 1 if the current value is a struct the schema marks atomic
 * (+structType=atomic: label selectors, key references): owned, merged
 * and replaced whole. */
static int apply_is_atomic(const struct apply_walk *w)
{
    static const char *const atomic[] = {"selector",      "podSelector",     "namespaceSelector",
                                         "labelSelector", "configMapKeyRef", "secretKeyRef",
                                         "fieldRef",      "resourceFieldRef"};
    const char *name = walk_name(w, 0);
    if (!name || w->depth == 0 || walk_deduced(w) || apply_is_map(w))
        return 0;
    for (size_t i = 0; i < sizeof(atomic) / sizeof(atomic[0]); i++)
        if (strcmp(name, atomic[i]) == 0)
            return 1;
    return 0;
}

static int apply_in_container(const struct apply_walk *w)
{
    /* .../containers[i]/<current>: the item is one level up, its list two. */
    return walk_name(w, 1) == NULL && w->depth >= 3 &&
           (walk_name_is(w, 2, "containers") || walk_name_is(w, 2, "initContainers") ||
            walk_name_is(w, 2, "ephemeralContainers"));
}

/* How the list at the current position merges. */
static void apply_list_of(const struct apply_walk *w, struct apply_list *l)
{
    static const struct {
        const char *name;
        const char *keys[2];
    } keyed[] = {
        {"containers", {"name", NULL}},
        {"initContainers", {"name", NULL}},
        {"ephemeralContainers", {"name", NULL}},
        {"env", {"name", NULL}},
        {"volumes", {"name", NULL}},
        {"volumeMounts", {"mountPath", NULL}},
        {"volumeDevices", {"devicePath", NULL}},
        {"imagePullSecrets", {"name", NULL}},
        {"hostAliases", {"ip", NULL}},
        {"topologySpreadConstraints", {"topologyKey", "whenUnsatisfiable"}},
        {"resourceClaims", {"name", NULL}},
        {"schedulingGates", {"name", NULL}},
        {"conditions", {"type", NULL}},
        {"ownerReferences", {"uid", NULL}},
        {"resizePolicy", {"resourceName", NULL}},
    };
    const char *name = walk_name(w, 0);
    memset(l, 0, sizeof(*l));
    l->kind = APPLY_ATOMIC;
    if (!name || walk_deduced(w))
        return;
    if (strcmp(name, "finalizers") == 0 && w->depth == 2 && walk_name_is(w, 1, "metadata")) {
        l->kind = APPLY_SET;
        return;
    }
    if (strcmp(name, "ports") == 0) {
        if (w->depth == 2 && walk_name_is(w, 1, "spec") && walk_kind_is(w, "", "Service")) {
            l->kind = APPLY_KEYED;
            l->keys[0] = "port";
            l->keys[1] = "protocol";
            l->nkeys = 2;
        } else if (apply_in_container(w)) {
            l->kind = APPLY_KEYED;
            l->keys[0] = "containerPort";
            l->keys[1] = "protocol";
            l->nkeys = 2;
        }
        return;
    }
    if (strcmp(name, "versions") == 0) {
        if (w->depth == 2 && walk_name_is(w, 1, "spec") &&
            walk_kind_is(w, "apiextensions.k8s.io", "CustomResourceDefinition")) {
            l->kind = APPLY_KEYED;
            l->keys[0] = "name";
            l->nkeys = 1;
        }
        return;
    }
    for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++) {
        if (strcmp(name, keyed[i].name) == 0) {
            l->kind = APPLY_KEYED;
            l->keys[0] = keyed[i].keys[0];
            l->keys[1] = keyed[i].keys[1];
            l->nkeys = keyed[i].keys[1] ? 2 : 1;
            return;
        }
    }
}

/* The path element of a list item: "k:{...}" (key fields sorted, protocol
 * defaulting to TCP as the schema says) or "v:<json>"; NULL if the item
 * has no usable key. */
/* Append v (a string or integer) as JSON. Plain strings are written
 * directly: this runs for every item of every keyed list of every write. */
static void apply_put_scalar(struct buf *b, const json_t *v)
{
    const char *str = json_string_value(v);
    char *text;
    if (json_is_integer(v)) {
        buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    }
    if (str) {
        const unsigned char *p = (const unsigned char *)str;
        while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (!*p) {
            buf_putc(b, '"');
            buf_puts(b, str);
            buf_putc(b, '"');
            return;
        }
    }
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    buf_puts(b, text ? text : "null");
    free(text);
}

static char *apply_item_pe(const struct apply_list *l, const json_t *item)
{
    struct buf b = BUF_INIT;
    if (l->kind == APPLY_SET) {
        if (!json_is_string(item) && !json_is_integer(item))
            return NULL;
        buf_puts(&b, "v:");
        apply_put_scalar(&b, item);
        return buf_detach(&b);
    }
    if (!json_is_object(item))
        return NULL;
    /* The key fields are listed sorted in the table, as SMD sorts them. */
    buf_puts(&b, "k:{");
    for (size_t i = 0; i < l->nkeys; i++) {
        json_t *v = json_object_get(item, l->keys[i]);
        if (i > 0)
            buf_putc(&b, ',');
        buf_printf(&b, "\"%s\":", l->keys[i]);
        if (!v && strcmp(l->keys[i], "protocol") == 0) {
            buf_puts(&b, "\"TCP\"");
        } else if (json_is_string(v) || json_is_integer(v)) {
            apply_put_scalar(&b, v);
        } else {
            buf_dispose(&b);
            return NULL;
        }
    }
    buf_putc(&b, '}');
    return buf_detach(&b);
}

static void apply_pes_free(char **pes, size_t n)
{
    if (!pes)
        return;
    for (size_t i = 0; i < n; i++)
        free(pes[i]);
    free(pes);
}

/* The path elements of arr's items, or NULL when the list is atomic, an
 * item lacks a key or two share one (the list is then handled whole). A
 * NULL or empty arr gives an empty (non-NULL) vector for keyed lists. */
static char **apply_list_pes(const struct apply_list *l, const json_t *arr)
{
    size_t n = json_array_size(arr);
    char **pes;
    if (l->kind == APPLY_ATOMIC || (arr && !json_is_array(arr) && !json_is_null(arr)))
        return NULL;
    pes = xcalloc(n + 1, sizeof(*pes));
    for (size_t i = 0; i < n; i++) {
        pes[i] = apply_item_pe(l, json_array_get(arr, i));
        if (!pes[i]) {
            apply_pes_free(pes, i);
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(pes[j], pes[i]) == 0) {
                apply_pes_free(pes, i + 1);
                return NULL;
            }
        }
    }
    return pes;
}

static long apply_pes_find(char **pes, size_t n, const char *pe)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pes[i], pe) == 0)
            return (long)i;
    return -1;
}

/* ---- field sets -------------------------------------------------------- */

/* The "f:<name>" path element of a field, in b when it fits (most do:
 * this runs for every field of every write). */
struct pe_buf {
    char small[128];
    char *big;
};

static const char *pe_field(struct pe_buf *b, const char *name)
{
    size_t n = strlen(name);
    b->big = NULL;
    if (n + 3 > sizeof(b->small))
        return b->big = xasprintf("f:%s", name);
    b->small[0] = 'f';
    b->small[1] = ':';
    memcpy(b->small + 2, name, n + 1);
    return b->small;
}

static void pe_done(struct pe_buf *b)
{
    free(b->big);
    b->big = NULL;
}

static json_t *set_child(json_t *node, const char *pe)
{
    json_t *c = json_object_get(node, pe);
    if (!c) {
        c = json_object();
        json_object_set_new(node, pe, c);
    }
    return c;
}

/* In the expanded form the marker's value is the json_true() singleton:
 * members are most nodes, and this saves an object for each. */
static void set_mark(json_t *node)
{
    json_object_set_new(node, ".", json_true());
}

static int set_member(const json_t *node)
{
    return node && json_object_get(node, ".") != NULL;
}

/* Drop nodes that neither are members nor lead to one. */
static void set_tidy(json_t *node)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(node, tmp, k, v)
    {
        if (strcmp(k, ".") == 0)
            continue;
        set_tidy(v);
        if (json_object_size(v) == 0)
            json_object_del(node, k);
    }
}

static int set_empty(const json_t *node)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)node, k, v)
    {
        if (strcmp(k, ".") == 0 || !set_empty(v))
            return 0;
    }
    return 1;
}

/* fieldsV1 -> expanded; new reference. */
static json_t *set_expand(const json_t *v1)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)v1, k, v)
    {
        if (strcmp(k, ".") == 0) {
            set_mark(out);
        } else if (json_is_object(v)) {
            json_t *c = set_expand(v);
            if (json_object_size(v) == 0)
                set_mark(c);
            json_object_set_new(out, k, c);
        }
    }
    return out;
}

static int set_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of node sorted as the server emits them ("." first: it sorts
 * below every "f:", "k:", "v:" key). A new vector of borrowed strings. */
static const char **set_sorted_keys(const json_t *node, size_t *n)
{
    const char **keys = xcalloc(json_object_size(node) + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    *n = 0;
    json_object_foreach((json_t *)node, k, v) keys[(*n)++] = k;
    qsort(keys, *n, sizeof(*keys), set_key_cmp);
    return keys;
}

/* expanded -> fieldsV1, keys sorted; new reference. */
static json_t *set_compact(const json_t *node)
{
    json_t *out = json_object();
    size_t n;
    const char **keys = set_sorted_keys(node, &n);
    int member = set_member(node);
    if (member && n > 1)
        json_object_set_new(out, ".", json_object());
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i], ".") != 0)
            json_object_set_new(out, keys[i], set_compact(json_object_get(node, keys[i])));
    }
    free(keys);
    return out;
}

static void set_union(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (strcmp(k, ".") == 0)
            set_mark(dst);
        else
            set_union(set_child(dst, k), v);
    }
}

/* a minus b (b may be NULL); new reference, tidy. */
static json_t *set_diff(const json_t *a, const json_t *b)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v)
    {
        if (strcmp(k, ".") == 0) {
            if (!set_member(b))
                set_mark(out);
        } else {
            json_t *sub = set_diff(v, b ? json_object_get(b, k) : NULL);
            if (json_object_size(sub) > 0)
                json_object_set_new(out, k, sub);
            else
                json_decref(sub);
        }
    }
    return out;
}

/* a and b; new reference, tidy. */
static json_t *set_inter(const json_t *a, const json_t *b)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v)
    {
        json_t *bv = json_object_get(b, k);
        if (!bv)
            continue;
        if (strcmp(k, ".") == 0) {
            set_mark(out);
        } else {
            json_t *sub = set_inter(v, bv);
            if (json_object_size(sub) > 0)
                json_object_set_new(out, k, sub);
            else
                json_decref(sub);
        }
    }
    return out;
}

/* Take the member mark off node[pe] and drop it if nothing is left. */
static void set_unmark(json_t *node, const char *pe)
{
    json_t *c = json_object_get(node, pe);
    if (!c)
        return;
    json_object_del(c, ".");
    if (json_object_size(c) == 0)
        json_object_del(node, pe);
}

/* s without what the server never records as anyone's
 * (stripMetaManager): apiVersion, kind, metadata itself and its
 * server-set fields. New reference. */
static json_t *set_strip_server_owned(const json_t *s)
{
    static const char *const meta[] = {"f:name",       "f:namespace",     "f:creationTimestamp",
                                       "f:selfLink",   "f:uid",           "f:clusterName",
                                       "f:generation", "f:managedFields", "f:resourceVersion"};
    json_t *out = json_deep_copy(s);
    json_t *m = json_object_get(out, "f:metadata");
    set_unmark(out, "f:apiVersion");
    set_unmark(out, "f:kind");
    if (m) {
        for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
            set_unmark(m, meta[i]);
        set_unmark(out, "f:metadata");
    }
    return out;
}

/* Go's %q for the strings kubesim deals with (JSON's escaping agrees). */
static void path_put_value(struct buf *out, const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    buf_puts(out, text ? text : "null");
    free(text);
}

/* Append SMD's text for one path element. */
static void path_put_pe(struct buf *out, const char *pe)
{
    if (strncmp(pe, "f:", 2) == 0) {
        buf_printf(out, ".%s", pe + 2);
    } else if (strncmp(pe, "k:", 2) == 0) {
        json_t *key = json_loads(pe + 2, 0, NULL);
        const char *k;
        json_t *v;
        int first = 1;
        buf_putc(out, '[');
        json_object_foreach(key, k, v)
        {
            if (!first)
                buf_putc(out, ',');
            first = 0;
            buf_printf(out, "%s=", k);
            path_put_value(out, v);
        }
        buf_putc(out, ']');
        json_decref(key);
    } else if (strncmp(pe, "v:", 2) == 0) {
        json_t *v = json_loads(pe + 2, JSON_DECODE_ANY, NULL);
        buf_puts(out, "[=");
        path_put_value(out, v);
        buf_putc(out, ']');
        json_decref(v);
    } else if (strncmp(pe, "i:", 2) == 0) {
        buf_printf(out, "[%s]", pe + 2);
    } else {
        buf_puts(out, "{{invalid path element}}");
    }
}

/* Append every member's path text to list (strings), in set order. */
static void set_path_list(const json_t *node, struct buf *path, json_t *list)
{
    size_t n;
    const char **keys = set_sorted_keys(node, &n);
    if (path->len > 0 && set_member(node))
        json_array_append_new(list, json_string(buf_cstr(path)));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path->len;
        if (strcmp(keys[i], ".") == 0)
            continue;
        path_put_pe(path, keys[i]);
        set_path_list(json_object_get(node, keys[i]), path, list);
        path->len = mark;
        if (path->ptr)
            path->ptr[mark] = '\0';
    }
    free(keys);
}

void apply_set_paths(const json_t *set, const char *prefix, struct buf *out)
{
    json_t *ex = set_expand(set), *list = json_array(), *p;
    struct buf path = BUF_INIT;
    size_t i;
    set_path_list(ex, &path, list);
    json_array_foreach(list, i, p) buf_printf(out, "%s%s\n", prefix, json_string_value(p));
    buf_dispose(&path);
    json_decref(list);
    json_decref(ex);
}

/* ---- values -> field sets ---------------------------------------------- */

static void fs_walk(struct apply_walk *w, const json_t *v, json_t *node)
{
    if (json_is_object(v) && !apply_is_atomic(w)) {
        int map = apply_is_map(w);
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            struct pe_buf pb;
            const char *pe = pe_field(&pb, k);
            json_t *child = set_child(node, pe);
            pe_done(&pb);
            walk_push(w, k);
            fs_walk(w, c, child);
            walk_pop(w);
            if (json_is_null(c) || (json_is_object(c) && json_object_size(c) == 0) || map)
                set_mark(child);
        }
    } else if (json_is_array(v)) {
        struct apply_list l;
        char **pes;
        size_t i;
        json_t *item;
        apply_list_of(w, &l);
        if (!(pes = apply_list_pes(&l, v))) {
            set_mark(node);
            return;
        }
        json_array_foreach(v, i, item)
        {
            json_t *child = set_child(node, pes[i]);
            walk_push(w, NULL);
            fs_walk(w, item, child);
            walk_pop(w);
            set_mark(child);
        }
        apply_pes_free(pes, json_array_size(v));
    } else {
        set_mark(node);
    }
}

/* The expanded field set of obj, server-owned fields included. */
static json_t *apply_fieldset_expanded(const struct resource *r, const json_t *obj)
{
    struct apply_walk w = {r, {NULL}, 0};
    json_t *s = json_object();
    fs_walk(&w, obj, s);
    set_tidy(s);
    return s;
}

/* obj as apply and compare see it: without metadata's drop keys and,
 * where status is a subresource, without status. A read-only view: the
 * top level and metadata are new objects, everything below is shared with
 * obj (copying whole objects for every write was most of apply's cost). */
static json_t *apply_view(const struct resource *r, const json_t *obj, const char *const *drop,
                          size_t ndrop)
{
    json_t *v = json_object();
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)obj, k, c)
    {
        if (strcmp(k, "status") == 0 && r && r->has_status)
            continue;
        if (strcmp(k, "metadata") == 0 && json_is_object(c)) {
            json_t *m = json_object();
            const char *mk;
            json_t *mc;
            json_object_foreach(c, mk, mc)
            {
                size_t i;
                for (i = 0; i < ndrop && strcmp(mk, drop[i]) != 0; i++)
                    ;
                if (i == ndrop)
                    json_object_set(m, mk, mc);
            }
            json_object_set_new(v, k, m);
        } else {
            json_object_set(v, k, c);
        }
    }
    return v;
}

static json_t *apply_value(const struct resource *r, const json_t *obj)
{
    static const char *const drop[] = {"managedFields"};
    return apply_view(r, obj, drop, 1);
}

json_t *apply_fieldset(const struct resource *r, const json_t *obj)
{
    json_t *v = apply_value(r, obj);
    json_t *ex = apply_fieldset_expanded(r, v);
    json_t *st = set_strip_server_owned(ex);
    json_t *out = set_compact(st);
    json_decref(st);
    json_decref(ex);
    json_decref(v);
    return out;
}

/* ---- compare ----------------------------------------------------------- */

struct cmp_out {
    json_t *added, *modified, *removed;
};

/* A node of an output set made only when something below it is marked,
 * so unchanged parts of an object cost no allocations. */
struct lazy {
    struct lazy *parent;
    const char *pe; /* borrowed for the walk's duration */
    json_t *node;
};

static json_t *lazy_node(struct lazy *l)
{
    if (!l->node)
        l->node = set_child(lazy_node(l->parent), l->pe);
    return l->node;
}

/* The current path in the added, modified and removed sets. */
struct cmp_at {
    struct lazy a, m, r;
};

static void cmp_walk(struct apply_walk *w, const json_t *o, const json_t *n, struct cmp_at *at);

static void cmp_item(struct apply_walk *w, const char *name, const char *pe, const json_t *o,
                     const json_t *n, struct cmp_at *parent)
{
    struct cmp_at here = {{&parent->a, pe, NULL}, {&parent->m, pe, NULL}, {&parent->r, pe, NULL}};
    if (o && n && json_equal((json_t *)o, (json_t *)n))
        return;
    walk_push(w, name);
    cmp_walk(w, o, n, &here);
    walk_pop(w);
    if (!o)
        set_mark(lazy_node(&here.a));
    else if (!n)
        set_mark(lazy_node(&here.r));
}

static void cmp_walk(struct apply_walk *w, const json_t *o, const json_t *n, struct cmp_at *at)
{
    const char *k;
    json_t *v;
    /* null is an empty map or list that exists (an empty Go struct's
     * nil slice): its items are added, it is not. */
    if ((!o || json_is_null(o) || json_is_object(o)) &&
        (!n || json_is_null(n) || json_is_object(n)) && !apply_is_atomic(w)) {
        json_object_foreach((json_t *)n, k, v)
        {
            struct pe_buf pb;
            const char *pe = pe_field(&pb, k);
            cmp_item(w, k, pe, o ? json_object_get(o, k) : NULL, v, at);
            pe_done(&pb);
        }
        json_object_foreach((json_t *)o, k, v)
        {
            if (n && json_object_get(n, k))
                continue;
            {
                struct pe_buf pb;
                const char *pe = pe_field(&pb, k);
                cmp_item(w, k, pe, v, NULL, at);
                pe_done(&pb);
            }
        }
        return;
    }
    if ((!o || json_is_null(o) || json_is_array(o)) &&
        (!n || json_is_null(n) || json_is_array(n))) {
        struct apply_list l;
        char **po, **pn;
        size_t no = json_array_size(o), nn = json_array_size(n);
        apply_list_of(w, &l);
        po = apply_list_pes(&l, o);
        pn = apply_list_pes(&l, n);
        if (po && pn) {
            for (size_t i = 0; i < nn; i++) {
                long j = apply_pes_find(po, no, pn[i]);
                cmp_item(w, NULL, pn[i], j >= 0 ? json_array_get(o, (size_t)j) : NULL,
                         json_array_get(n, i), at);
            }
            for (size_t i = 0; i < no; i++) {
                if (apply_pes_find(pn, nn, po[i]) < 0)
                    cmp_item(w, NULL, po[i], json_array_get(o, i), NULL, at);
            }
            apply_pes_free(po, no);
            apply_pes_free(pn, nn);
            return;
        }
        apply_pes_free(po, no);
        apply_pes_free(pn, nn);
    }
    /* A leaf, an atomic list or a change of type. */
    if (!o && n)
        set_mark(lazy_node(&at->a));
    else if (o && !n)
        set_mark(lazy_node(&at->r));
    else if (o && n && !json_equal((json_t *)o, (json_t *)n))
        set_mark(lazy_node(&at->m));
}

/* Expanded, tidy outputs. */
static void apply_compare_expanded(const struct resource *r, const json_t *o, const json_t *n,
                                   struct cmp_out *out)
{
    struct apply_walk w = {r, {NULL}, 0};
    struct cmp_at root;
    out->added = json_object();
    out->modified = json_object();
    out->removed = json_object();
    root.a = (struct lazy){NULL, NULL, out->added};
    root.m = (struct lazy){NULL, NULL, out->modified};
    root.r = (struct lazy){NULL, NULL, out->removed};
    cmp_walk(&w, o, n, &root);
}

static void cmp_out_dispose(struct cmp_out *c)
{
    json_decref(c->added);
    json_decref(c->modified);
    json_decref(c->removed);
}

void apply_compare(const struct resource *r, const json_t *old, const json_t *now, json_t **added,
                   json_t **modified, json_t **removed)
{
    struct cmp_out c;
    apply_compare_expanded(r, old, now, &c);
    *added = set_compact(c.added);
    *modified = set_compact(c.modified);
    *removed = set_compact(c.removed);
    cmp_out_dispose(&c);
}

/* ---- merge and prune ---------------------------------------------------- */

static json_t *merge_walk(struct apply_walk *w, const json_t *l, const json_t *c);

static json_t *merge_item(struct apply_walk *w, const json_t *l, const json_t *c)
{
    json_t *out;
    walk_push(w, NULL);
    out = merge_walk(w, l, c);
    walk_pop(w);
    return out;
}

/* Keyed lists: the live order, with the config's items placed where their
 * live counterparts are and new ones after the config item before them. */
static json_t *merge_list(struct apply_walk *w, const json_t *l, const json_t *c, char **pl,
                          char **pc)
{
    size_t nl = json_array_size(l), nc = json_array_size(c), ci = 0;
    json_t *out = json_array();
    for (size_t li = 0; li < nl; li++) {
        long j = apply_pes_find(pc, nc, pl[li]);
        if (j < 0) {
            json_array_append(out, json_array_get(l, li));
            continue;
        }
        for (; ci <= (size_t)j; ci++) {
            long m = apply_pes_find(pl, nl, pc[ci]);
            json_array_append_new(out, merge_item(w, m >= 0 ? json_array_get(l, (size_t)m) : NULL,
                                                  json_array_get(c, ci)));
        }
    }
    for (; ci < nc; ci++) {
        long m = apply_pes_find(pl, nl, pc[ci]);
        json_array_append_new(out, merge_item(w, m >= 0 ? json_array_get(l, (size_t)m) : NULL,
                                              json_array_get(c, ci)));
    }
    return out;
}

static json_t *merge_walk(struct apply_walk *w, const json_t *l, const json_t *c)
{
    if (json_is_object(l) && json_is_object(c) && !apply_is_atomic(w)) {
        /* Live's keys in live's order, then the config's new ones; each
         * value copied once. */
        json_t *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)l, k, v)
        {
            json_t *cv = json_object_get(c, k);
            walk_push(w, k);
            json_object_set_new(out, k, cv ? merge_walk(w, v, cv) : json_deep_copy(v));
            walk_pop(w);
        }
        json_object_foreach((json_t *)c, k, v)
        {
            if (json_object_get(l, k))
                continue;
            walk_push(w, k);
            json_object_set_new(out, k, json_deep_copy(v));
            walk_pop(w);
        }
        return out;
    }
    if (json_is_array(l) && json_is_array(c)) {
        struct apply_list li;
        char **pl, **pc;
        json_t *out = NULL;
        apply_list_of(w, &li);
        pl = apply_list_pes(&li, l);
        pc = apply_list_pes(&li, c);
        if (pl && pc)
            out = merge_list(w, l, c, pl, pc);
        apply_pes_free(pl, json_array_size(l));
        apply_pes_free(pc, json_array_size(c));
        if (out)
            return out;
    }
    return json_deep_copy(c);
}

json_t *apply_merge(const struct resource *r, const json_t *live, const json_t *config)
{
    struct apply_walk w = {r, {NULL}, 0};
    return merge_walk(&w, live, config);
}

/* Remove from v what last had as members and managed has not; a named
 * struct field counts as a member of a set that holds anything below it
 * (SMD's EnsureNamedFieldsAreMembers). */
static void prune_walk(struct apply_walk *w, json_t *v, const json_t *last, const json_t *managed)
{
    if (json_is_object(v) && !apply_is_atomic(w)) {
        int named = !apply_is_map(w);
        const char *k;
        json_t *c;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, c)
        {
            struct pe_buf pb;
            const char *pe = pe_field(&pb, k);
            json_t *lc = json_object_get(last, pe);
            json_t *mc = managed ? json_object_get(managed, pe) : NULL;
            pe_done(&pb);
            if (!lc)
                continue;
            if ((set_member(lc) || (named && json_object_size(lc) > 0)) &&
                !(set_member(mc) || (named && mc && json_object_size(mc) > 0))) {
                json_object_del(v, k);
                continue;
            }
            walk_push(w, k);
            prune_walk(w, c, lc, mc);
            walk_pop(w);
        }
    } else if (json_is_array(v)) {
        struct apply_list l;
        char **pes;
        size_t n = json_array_size(v);
        apply_list_of(w, &l);
        if (!(pes = apply_list_pes(&l, v)))
            return;
        for (size_t i = n; i-- > 0;) {
            json_t *lc = json_object_get(last, pes[i]);
            json_t *mc = managed ? json_object_get(managed, pes[i]) : NULL;
            if (!lc)
                continue;
            if (set_member(lc) && !set_member(mc)) {
                json_array_remove(v, i);
                continue;
            }
            walk_push(w, NULL);
            prune_walk(w, json_array_get(v, i), lc, mc);
            walk_pop(w);
        }
        apply_pes_free(pes, n);
    }
}

/* Typed objects cannot hold null: a null in an applied config removes. */
static void apply_drop_nulls(json_t *v)
{
    const char *k;
    json_t *c;
    void *tmp;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach_safe(v, tmp, k, c)
        {
            if (json_is_null(c))
                json_object_del(v, k);
            else
                apply_drop_nulls(c);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) apply_drop_nulls(c);
    }
}

/* ---- managers ---------------------------------------------------------- */

static const char *entry_str(const json_t *e, const char *key)
{
    return json_string_value(json_object_get(e, key));
}

static int str_eq_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The entry of manager/operation (api_version only counts for Update,
 * like the server's manager identifiers); its index or -1. */
static long entry_find(const json_t *managers, const char *manager, const char *op,
                       const char *api_version, const char *subresource)
{
    size_t i;
    json_t *e;
    json_array_foreach(managers, i, e)
    {
        if (str_eq_null(entry_str(e, "manager"), manager) &&
            str_eq_null(entry_str(e, "operation"), op) &&
            str_eq_null(entry_str(e, "subresource"), subresource) &&
            (strcmp(op, "Apply") == 0 || str_eq_null(entry_str(e, "apiVersion"), api_version)))
            return (long)i;
    }
    return -1;
}

static json_t *entry_new(const char *manager, const char *op, const char *api_version,
                         const char *time, const json_t *expanded, const char *subresource)
{
    json_t *e = json_pack("{s:s, s:s, s:s}", "manager", manager, "operation", op, "apiVersion",
                          api_version);
    if (time)
        json_object_set_new(e, "time", json_string(time));
    json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
    json_object_set_new(e, "fieldsV1", set_compact(expanded));
    if (subresource)
        json_object_set_new(e, "subresource", json_string(subresource));
    return e;
}

static void entry_set_fields(json_t *e, const json_t *expanded)
{
    json_object_set_new(e, "fieldsV1", set_compact(expanded));
}

static int entry_cmp(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    static const char *const keys[] = {"operation", "time", "manager", "apiVersion", "subresource"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *x = entry_str(a, keys[i]), *y = entry_str(b, keys[i]);
        int c = strcmp(x ? x : "", y ? y : "");
        if (c)
            return c;
    }
    return 0;
}

/* Sort as the server does: operation, time, manager, apiVersion,
 * subresource. */
static void managers_sort(json_t *managers)
{
    size_t n = json_array_size(managers);
    json_t **v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(managers, i));
    qsort(v, n, sizeof(*v), entry_cmp);
    json_array_clear(managers);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(managers, v[i]);
    free(v);
}

/* Take sub (expanded) away from entry i; drop the entry if nothing is
 * left. Returns 1 if it was dropped. */
static int managers_take(json_t *managers, size_t i, const json_t *sub)
{
    json_t *e = json_array_get(managers, i);
    json_t *ex = set_expand(json_object_get(e, "fieldsV1"));
    json_t *left = set_diff(ex, sub);
    int dropped = 0;
    if (set_empty(left)) {
        json_array_remove(managers, i);
        dropped = 1;
    } else if (!json_equal(left, ex)) {
        entry_set_fields(e, left);
    }
    json_decref(left);
    json_decref(ex);
    return dropped;
}

int apply_managers_equal(const json_t *a, const json_t *b)
{
    size_t n = json_array_size(a);
    if (n != json_array_size(b))
        return 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        const char *k;
        json_t *v;
        size_t seen = 0;
        json_object_foreach((json_t *)y, k, v)
        {
            if (strcmp(k, "time") == 0)
                continue;
            if (!json_equal(json_object_get(x, k), v))
                return 0;
            seen++;
        }
        if (seen != json_object_size(x) - (json_object_get(x, "time") != NULL))
            return 0;
    }
    return 1;
}

json_t *apply_managers_from(const json_t *written, const json_t *live_managers)
{
    const json_t *mf = json_object_get(json_object_get(written, "metadata"), "managedFields");
    size_t i;
    json_t *e;
    int ok = json_array_size(mf) > 0;
    if (json_array_size(mf) == 1 && json_is_object(json_array_get(mf, 0)) &&
        json_object_size(json_array_get(mf, 0)) == 0)
        return json_array();
    json_array_foreach(mf, i, e)
    {
        if (!entry_str(e, "manager") || !entry_str(e, "operation") ||
            !json_is_object(json_object_get(e, "fieldsV1")))
            ok = 0;
    }
    if (ok)
        return json_deep_copy(mf);
    return live_managers ? json_deep_copy(live_managers) : json_array();
}

/* ---- apply ------------------------------------------------------------- */

static void quote_manager(struct buf *out, const json_t *e)
{
    json_t *name = json_object_get(e, "manager");
    const char *sub = entry_str(e, "subresource");
    path_put_value(out, name);
    if (sub) {
        buf_puts(out, " with subresource ");
        path_put_value(out, json_object_get(e, "subresource"));
    }
    if (str_eq_null(entry_str(e, "operation"), "Update"))
        buf_printf(out, " using %s", entry_str(e, "apiVersion") ? entry_str(e, "apiVersion") : "");
}

struct apply_conflict {
    const json_t *entry;
    json_t *paths; /* strings */
};

static int conflict_cmp(const void *pa, const void *pb)
{
    const struct apply_conflict *a = pa, *b = pb;
    return strcmp(entry_str(a->entry, "manager"), entry_str(b->entry, "manager"));
}

/* The server's message and causes for conflicts (n > 0); err_set. */
static int apply_conflict_error(struct apply_conflict *cs, size_t n, json_t **out_causes)
{
    struct buf msg = BUF_INIT, who = BUF_INIT;
    json_t *causes = json_array();
    size_t total = 0, i, j;
    json_t *p;
    int rc;
    qsort(cs, n, sizeof(*cs), conflict_cmp);
    for (i = 0; i < n; i++)
        total += json_array_size(cs[i].paths);
    for (i = 0; i < n; i++) {
        buf_clear(&who);
        quote_manager(&who, cs[i].entry);
        json_array_foreach(cs[i].paths, j, p)
        {
            char *m = xasprintf("conflict with %s", buf_cstr(&who));
            json_array_append_new(causes,
                                  json_pack("{s:s, s:s, s:O}", "reason", "FieldManagerConflict",
                                            "message", m, "field", p));
            free(m);
        }
        if (total == 1) {
            buf_printf(&msg, "Apply failed with 1 conflict: conflict with %s: %s", buf_cstr(&who),
                       json_string_value(json_array_get(cs[i].paths, 0)));
        } else {
            if (msg.len == 0)
                buf_printf(&msg, "Apply failed with %zu conflicts: ", total);
            else
                buf_putc(&msg, '\n');
            buf_printf(&msg, "conflicts with %s:", buf_cstr(&who));
            json_array_foreach(cs[i].paths, j, p) buf_printf(&msg, "\n- %s", json_string_value(p));
        }
    }
    rc = err_set(ERR_CONFLICT, "%s", buf_cstr(&msg));
    *out_causes = causes;
    buf_dispose(&msg);
    buf_dispose(&who);
    return rc;
}

/* The object's client-side apply annotation as a field set (expanded), or
 * NULL: fields it lists are the ones kubectl may take over from
 * client-side apply without a conflict. */
static json_t *apply_last_applied_set(const struct resource *r, const json_t *live)
{
    const char *text = json_string_value(json_object_get(
        json_object_get(json_object_get(live, "metadata"), "annotations"), APPLY_LAST_APPLIED));
    json_t *cfg, *set;
    if (!text || !(cfg = json_loads(text, 0, NULL)))
        return NULL;
    set = apply_fieldset_expanded(r, cfg);
    json_decref(cfg);
    return set;
}

/* kubectl's server-side applies keep a client-side apply annotation the
 * object already has in step with what was applied, so that a later
 * client-side apply still diffs against the right thing. */
static void apply_sync_last_applied(json_t *obj, const json_t *config)
{
    json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const char *have = json_string_value(json_object_get(ann, APPLY_LAST_APPLIED));
    json_t *copy;
    char *text, *value;
    if (!have || !have[0])
        return;
    copy = json_deep_copy(config);
    json_object_del(json_object_get(json_object_get(copy, "metadata"), "annotations"),
                    APPLY_LAST_APPLIED);
    text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    value = xasprintf("%s\n", text);
    json_object_set_new(ann, APPLY_LAST_APPLIED, json_string(value));
    free(value);
    free(text);
    json_decref(copy);
}

/* An applied config without what only the server sets; a view. */
static json_t *apply_config_view(const struct resource *r, const json_t *config)
{
    static const char *const server[] = {"managedFields",    "resourceVersion",   "uid",
                                         "generation",       "creationTimestamp", "selfLink",
                                         "deletionTimestamp"};
    return apply_view(r, config, server, sizeof(server) / sizeof(server[0]));
}

int apply_server_side(json_t **out_obj, json_t **out_managers, json_t **out_causes,
                      const struct resource *r, const json_t *live, const json_t *managers,
                      const json_t *config, const char *manager, const char *api_version,
                      const char *subresource, int force, const char *now)
{
    struct apply_walk w = {r, {NULL}, 0};
    json_t *live_v = live ? apply_value(r, live) : json_object();
    json_t *cfg = apply_config_view(r, config);
    json_t *mgrs = managers ? json_deep_copy(managers) : json_array();
    json_t *merged = NULL, *newset = NULL, *ma = NULL, *managed = NULL, *own_set = NULL;
    struct apply_conflict cs[64];
    struct cmp_out cmp = {NULL, NULL, NULL};
    size_t ncs = 0, i;
    long own;
    json_t *e;
    int rc = 0, changed;

    *out_obj = *out_managers = *out_causes = NULL;
    merged = apply_merge(r, live_v, cfg);
    newset = apply_fieldset_expanded(r, cfg);
    apply_compare_expanded(r, live_v, merged, &cmp);
    ma = json_incref(cmp.added);
    set_union(ma, cmp.modified);

    own = entry_find(mgrs, manager, "Apply", NULL, subresource);
    json_array_foreach(mgrs, i, e)
    {
        json_t *ex, *c;
        if ((long)i == own || !str_eq_null(entry_str(e, "subresource"), subresource))
            continue;
        ex = set_expand(json_object_get(e, "fieldsV1"));
        c = set_inter(ex, ma);
        json_decref(ex);
        if (set_empty(c) || ncs >= sizeof(cs) / sizeof(cs[0])) {
            json_decref(c);
            continue;
        }
        cs[ncs].entry = e;
        cs[ncs].paths = json_array();
        {
            struct buf path = BUF_INIT;
            set_path_list(c, &path, cs[ncs].paths);
            buf_dispose(&path);
        }
        json_decref(c);
        ncs++;
    }
    if (ncs > 0 && !force && strcmp(manager, "kubectl") == 0 && live) {
        /* Moving from client-side apply: kubectl may take over what its
         * last-applied annotation lists. */
        json_t *allowed = apply_last_applied_set(r, live);
        int all = allowed != NULL;
        for (i = 0; all && i < ncs; i++) {
            json_t *ex = set_expand(json_object_get(cs[i].entry, "fieldsV1"));
            json_t *c = set_inter(ex, ma), *left = set_diff(c, allowed);
            all = set_empty(left);
            json_decref(left);
            json_decref(c);
            json_decref(ex);
        }
        json_decref(allowed);
        force = all;
    }
    if (ncs > 0 && !force) {
        rc = apply_conflict_error(cs, ncs, out_causes);
        goto out;
    }

    /* Forced or no conflicts: others lose what changes and what goes. */
    set_union(cmp.removed, ma);
    for (i = json_array_size(mgrs); i-- > 0;) {
        if ((long)i == own ||
            !str_eq_null(entry_str(json_array_get(mgrs, i), "subresource"), subresource))
            continue;
        if (managers_take(mgrs, i, cmp.removed) && (long)i < own)
            own--;
    }

    own_set = set_strip_server_owned(newset);
    managed = json_incref(newset); /* newset is not needed on its own below */
    json_array_foreach(mgrs, i, e)
    {
        if ((long)i != own && str_eq_null(entry_str(e, "subresource"), subresource)) {
            json_t *ex = set_expand(json_object_get(e, "fieldsV1"));
            set_union(managed, ex);
            json_decref(ex);
        }
    }
    if (own >= 0) {
        json_t *last = set_expand(json_object_get(json_array_get(mgrs, (size_t)own), "fieldsV1"));
        prune_walk(&w, merged, last, managed);
        json_decref(last);
    }
    apply_drop_nulls(merged);
    changed = !json_equal(live_v, merged);

    if (own >= 0) {
        json_t *oe = json_array_get(mgrs, (size_t)own);
        if (set_empty(own_set)) {
            json_array_remove(mgrs, (size_t)own);
        } else {
            entry_set_fields(oe, own_set);
            json_object_set_new(oe, "apiVersion", json_string(api_version));
            if (changed || !json_object_get(oe, "time"))
                json_object_set_new(oe, "time", json_string(now));
        }
    } else if (!set_empty(own_set)) {
        json_array_append_new(mgrs,
                              entry_new(manager, "Apply", api_version, now, own_set, subresource));
    }
    managers_sort(mgrs);

    if (strcmp(manager, "kubectl") == 0)
        apply_sync_last_applied(merged, config);
    if (r && r->has_status && live && json_object_get(live, "status"))
        json_object_set(merged, "status", json_object_get(live, "status"));
    *out_obj = merged;
    *out_managers = mgrs;
    merged = mgrs = NULL;
out:
    for (i = 0; i < ncs; i++)
        json_decref(cs[i].paths);
    cmp_out_dispose(&cmp);
    json_decref(own_set);
    json_decref(managed);
    json_decref(ma);
    json_decref(newset);
    json_decref(merged);
    json_decref(mgrs);
    json_decref(cfg);
    json_decref(live_v);
    return rc;
}

/* ---- update ------------------------------------------------------------ */

/* What a write to the main resource or to .../status may touch. */
static json_t *apply_update_view(const struct resource *r, const json_t *obj,
                                 const char *subresource)
{
    if (!obj)
        return NULL;
    if (subresource) {
        json_t *v = json_object();
        if (json_object_get(obj, "status"))
            json_object_set(v, "status", json_object_get(obj, "status"));
        return v;
    }
    return apply_value(r, obj);
}

/* What an empty object of r's kind holds when the server serializes it:
 * its non-pointer structs and the lists it writes as null (a pod spec's
 * containers). A create is compared with this, not with
 * nothing, which is why the real server's Update entries for a create
 * have no "." on f:spec, f:template and the like. */
static json_t *apply_skeleton(const struct resource *r)
{
    static const struct {
        const char *group, *kind, *json;
    } skeletons[] = {
        {"apps", "Deployment",
         "{\"spec\":{\"strategy\":{},\"template\":{\"metadata\":{},\"spec\":{\"containers\":null}}}"
         "}"},
        {"apps", "StatefulSet",
         "{\"spec\":{\"updateStrategy\":{},\"template\":{\"metadata\":{},\"spec\":{\"containers\":"
         "null}}}}"},
        {"apps", "DaemonSet",
         "{\"spec\":{\"updateStrategy\":{},\"template\":{\"metadata\":{},\"spec\":{\"containers\":"
         "null}}}}"},
        {"apps", "ReplicaSet",
         "{\"spec\":{\"template\":{\"metadata\":{},\"spec\":{\"containers\":null}}}}"},
        {"batch", "Job",
         "{\"spec\":{\"template\":{\"metadata\":{},\"spec\":{\"containers\":null}}}}"},
        {"batch", "CronJob",
         "{\"spec\":{\"jobTemplate\":{\"metadata\":{},\"spec\":{\"template\":{"
         "\"metadata\":{},\"spec\":{\"containers\":null}}}}}}"},
        {"", "Pod", "{\"spec\":{\"containers\":null}}"},
        {"", "Service", "{\"spec\":{}}"},
        {"", "Namespace", "{\"spec\":{}}"},
        {"", "PersistentVolumeClaim", "{\"spec\":{\"resources\":{}}}"},
        {"networking.k8s.io", "Ingress", "{\"spec\":{}}"},
        {"policy", "PodDisruptionBudget", "{\"spec\":{}}"},
        {"autoscaling", "HorizontalPodAutoscaler", "{\"spec\":{\"scaleTargetRef\":{}}}"},
        {"apiextensions.k8s.io", "CustomResourceDefinition", "{\"spec\":{\"names\":{}}}"},
    };
    json_t *out = NULL;
    if (r && !r->crd) {
        for (size_t i = 0; i < sizeof(skeletons) / sizeof(skeletons[0]) && !out; i++)
            if (strcmp(r->group, skeletons[i].group) == 0 &&
                strcmp(r->kind, skeletons[i].kind) == 0)
                out = json_loads(skeletons[i].json, 0, NULL);
    }
    if (!out)
        out = json_object();
    json_object_set_new(out, "metadata", json_object());
    return out;
}

void apply_record_update(json_t *managers, const struct resource *r, const json_t *live,
                         const json_t *now_obj, const char *manager, const char *api_version,
                         const char *subresource, const char *now)
{
    json_t *o = live ? apply_update_view(r, live, subresource)
                     : (subresource ? json_object() : apply_skeleton(r));
    json_t *n = apply_update_view(r, now_obj, subresource);
    struct cmp_out cmp;
    json_t *ma, *took, *mine, *prev;
    long self;
    size_t i;

    apply_compare_expanded(r, o, n, &cmp);
    ma = json_incref(cmp.added);
    set_union(ma, cmp.modified);
    /* Others lose what changed and what went; so does the writer's own
     * earlier set, which then gets ma back: (prev - removed) + ma. */
    set_union(cmp.removed, ma);
    self = entry_find(managers, manager, "Update", api_version, subresource);
    for (i = json_array_size(managers); i-- > 0;) {
        if ((long)i != self && managers_take(managers, i, cmp.removed) && (long)i < self)
            self--;
    }
    prev = self >= 0
               ? set_expand(json_object_get(json_array_get(managers, (size_t)self), "fieldsV1"))
               : json_object();
    {
        json_t *kept = set_diff(prev, cmp.removed);
        set_union(kept, ma);
        mine = set_strip_server_owned(kept);
        json_decref(kept);
    }
    took = set_strip_server_owned(ma);
    if (set_empty(mine)) {
        if (self >= 0)
            json_array_remove(managers, (size_t)self);
    } else if (self >= 0) {
        json_t *e = json_array_get(managers, (size_t)self);
        entry_set_fields(e, mine);
        if (!set_empty(took))
            json_object_set_new(e, "time", json_string(now));
    } else {
        json_array_append_new(managers,
                              entry_new(manager, "Update", api_version, now, mine, subresource));
    }
    managers_sort(managers);
    json_decref(prev);
    json_decref(mine);
    json_decref(took);
    json_decref(ma);
    cmp_out_dispose(&cmp);
    json_decref(o);
    json_decref(n);
}

/* ---- patches ----------------------------------------------------------- */

void apply_merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *t = json_object_get(target, k);
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            apply_merge_patch(t, v);
        } else {
            json_object_set_new(target, k, json_deep_copy(v));
        }
    }
}

static int smp_map(struct apply_walk *w, json_t *target, const json_t *patch);

/* A copy of v without strategic-merge directives. */
static json_t *smp_clean(const json_t *v)
{
    json_t *out;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach(v, i, c) json_array_append_new(out, smp_clean(c));
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    out = json_object();
    json_object_foreach((json_t *)v, k, c)
    {
        if (k[0] != '$')
            json_object_set_new(out, k, smp_clean(c));
    }
    return out;
}

/* Order list (keyed items) as order ($setElementOrder) says; items not
 * named there keep their place after the named ones. */
static void smp_order(const struct apply_list *l, json_t *list, const json_t *order)
{
    json_t *out = json_array(), *item;
    size_t n = json_array_size(list), i;
    char **pes = apply_list_pes(l, list);
    char *used;
    if (!pes) {
        json_decref(out);
        return;
    }
    used = xcalloc(n + 1, 1);
    json_array_foreach(order, i, item)
    {
        char *pe = apply_item_pe(l, item);
        long j = pe ? apply_pes_find(pes, n, pe) : -1;
        free(pe);
        if (j >= 0 && !used[j]) {
            json_array_append(out, json_array_get(list, (size_t)j));
            used[j] = 1;
        }
    }
    for (i = 0; i < n; i++)
        if (!used[i])
            json_array_append(out, json_array_get(list, i));
    json_array_clear(list);
    json_array_extend(list, out);
    json_decref(out);
    free(used);
    apply_pes_free(pes, n);
}

static int smp_list(struct apply_walk *w, json_t *target, const char *k, const json_t *patch,
                    const json_t *order)
{
    struct apply_list l;
    json_t *t = json_object_get(target, k), *item;
    size_t i;
    int rc = 0;
    apply_list_of(w, &l);
    if (json_array_size(patch) == 1 && json_is_object(json_array_get(patch, 0)) &&
        str_eq_null(entry_str(json_array_get(patch, 0), "$patch"), "replace")) {
        json_object_set_new(target, k, json_array());
        return 0;
    }
    if (l.kind == APPLY_ATOMIC || !json_is_array(t)) {
        json_object_set_new(target, k, smp_clean(patch));
        return 0;
    }
    json_array_foreach(patch, i, item)
    {
        char *pe = apply_item_pe(&l, item);
        char **pes = apply_list_pes(&l, t);
        size_t n = json_array_size(t);
        long j = pe && pes ? apply_pes_find(pes, n, pe) : -1;
        const char *directive = json_is_object(item) ? entry_str(item, "$patch") : NULL;
        if (directive && strcmp(directive, "merge") == 0)
            directive = NULL; /* the default */
        apply_pes_free(pes, n);
        free(pe);
        if (directive && strcmp(directive, "delete") == 0) {
            if (j >= 0)
                json_array_remove(t, (size_t)j);
        } else if (directive && strcmp(directive, "replace") != 0) {
            rc = err_set(ERR_INVALID, "Unknown patch type: %s", directive);
        } else if (j >= 0 && l.kind == APPLY_KEYED && !directive) {
            walk_push(w, NULL);
            rc = smp_map(w, json_array_get(t, (size_t)j), item);
            walk_pop(w);
        } else if (j >= 0) {
            json_array_set_new(t, (size_t)j, smp_clean(item));
        } else {
            json_array_append_new(t, smp_clean(item));
        }
        if (rc < 0)
            return rc;
    }
    if (order)
        smp_order(&l, t, order);
    return 0;
}

static int smp_map(struct apply_walk *w, json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    const char *directive = entry_str(patch, "$patch");
    const json_t *retain = json_object_get(patch, "$retainKeys");
    int rc = 0;
    if (directive && strcmp(directive, "replace") == 0) {
        json_t *clean = smp_clean(patch);
        json_object_clear(target);
        json_object_update(target, clean);
        json_decref(clean);
        return 0;
    }
    if (directive && strcmp(directive, "merge") != 0)
        return err_set(ERR_INVALID, "Unknown patch type: %s", directive);
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *t = json_object_get(target, k);
        if (k[0] == '$') {
            if (strncmp(k, "$deleteFromPrimitiveList/", 25) == 0) {
                json_t *list = json_object_get(target, k + 25), *d;
                size_t i;
                json_array_foreach(v, i, d)
                {
                    for (size_t j = json_array_size(list); j-- > 0;)
                        if (json_equal(json_array_get(list, j), d))
                            json_array_remove(list, j);
                }
            } else if (strcmp(k, "$retainKeys") != 0 && strcmp(k, "$patch") != 0 &&
                       strncmp(k, "$setElementOrder/", 17) != 0) {
                return err_set(ERR_INVALID, "unknown strategic merge patch directive %s", k);
            }
            continue;
        }
        walk_push(w, k);
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v) && str_eq_null(entry_str(v, "$patch"), "delete")) {
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
        walk_pop(w);
        if (rc < 0)
            return rc;
    }
    json_object_foreach((json_t *)patch, k, v)
    {
        /* An order for a list the patch does not otherwise touch. */
        if (strncmp(k, "$setElementOrder/", 17) == 0 && !json_object_get(patch, k + 17) &&
            json_is_array(json_object_get(target, k + 17))) {
            struct apply_list l;
            walk_push(w, k + 17);
            apply_list_of(w, &l);
            smp_order(&l, json_object_get(target, k + 17), v);
            walk_pop(w);
        }
    }
    if (json_is_array(retain)) {
        void *tmp;
        json_object_foreach_safe(target, tmp, k, v)
        {
            size_t i;
            json_t *r;
            int keep = 0;
            json_array_foreach(retain, i, r) keep |= str_eq_null(json_string_value(r), k);
            if (!keep)
                json_object_del(target, k);
        }
    }
    return 0;
}

int apply_strategic_patch(const struct resource *r, json_t *target, const json_t *patch)
{
    struct apply_walk w = {r, {NULL}, 0};
    return smp_map(&w, target, patch);
}
