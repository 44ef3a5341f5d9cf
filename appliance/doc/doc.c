/*
 * The document model's small operations: JSON input, dotted-path access,
 * order-insensitive equality and the canonical hash.
 *
 * Numbers compare by value: YAML turns 1e3 into the integer 1000 while
 * jansson reads the JSON text 1e3 as the real 1000.0; both are the same
 * number to Kubernetes, so doc_equal and doc_hash treat them as equal.
 *
 * Dotted paths meet Kubernetes keys that contain dots
 * ("app.kubernetes.io/name"): at each step a key equal to the whole rest
 * of the path wins, and below a field that holds a map of free-form keys
 * (labels, annotations, data, ...) the rest of the path is one key.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

/* Fields whose values are maps keyed by arbitrary strings. */
static const char *const doc_free_maps[] = {
    "labels", "annotations", "matchLabels", "nodeSelector",
    "data",   "stringData",  "binaryData",  NULL,
};

static int doc_is_free_map(const char *key, size_t len)
{
    size_t i;
    for (i = 0; doc_free_maps[i]; i++)
        if (strlen(doc_free_maps[i]) == len && memcmp(doc_free_maps[i], key, len) == 0)
            return 1;
    return 0;
}

/* The next step of a dotted path inside obj: its key (into key, owned by
 * the caller) and the rest of the path (NULL when this is the last step).
 * prev is the previous step's key. */
static const char *doc_step(const json_t *obj, const char *path, const char *prev, char **key)
{
    const char *dot = strchr(path, '.');
    if (!dot || (obj && json_object_get(obj, path)) ||
        (prev && doc_is_free_map(prev, strlen(prev)))) {
        *key = xstrdup(path);
        return NULL;
    }
    *key = xstrndup(path, (size_t)(dot - path));
    return dot + 1;
}

json_t *doc_get(const json_t *root, const char *dotted)
{
    const json_t *cur = root;
    const char *rest = dotted;
    char *key = NULL, *prev = NULL;

    if (!root || !dotted)
        return NULL;
    while (rest) {
        if (!json_is_object(cur)) {
            cur = NULL;
            break;
        }
        rest = doc_step(cur, rest, prev, &key);
        cur = json_object_get(cur, key);
        free(prev);
        prev = key;
        key = NULL;
        if (!cur)
            break;
    }
    free(prev);
    return (json_t *)cur;
}

const char *doc_get_str(const json_t *root, const char *dotted)
{
    return json_string_value(doc_get(root, dotted));
}

void doc_set_new(json_t *root, const char *dotted, json_t *value)
{
    json_t *cur = root;
    const char *rest = dotted;
    char *key = NULL, *prev = NULL;

    if (!json_is_object(root) || !dotted) {
        json_decref(value);
        return;
    }
    for (;;) {
        json_t *next;
        rest = doc_step(cur, rest, prev, &key);
        if (!rest) {
            json_object_set_new(cur, key, value);
            break;
        }
        next = json_object_get(cur, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, key, next);
        }
        cur = next;
        free(prev);
        prev = key;
        key = NULL;
    }
    free(key);
    free(prev);
}

json_t *doc_get_keys(const json_t *root, const char *const *keys, size_t n)
{
    const json_t *cur = root;
    size_t i;
    for (i = 0; i < n && cur; i++)
        cur = json_is_object(cur) ? json_object_get(cur, keys[i]) : NULL;
    return (json_t *)cur;
}

void doc_set_keys_new(json_t *root, const char *const *keys, size_t n, json_t *value)
{
    json_t *cur = root;
    size_t i;
    if (!json_is_object(root) || n == 0) {
        json_decref(value);
        return;
    }
    for (i = 0; i + 1 < n; i++) {
        json_t *next = json_object_get(cur, keys[i]);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, keys[i], next);
        }
        cur = next;
    }
    json_object_set_new(cur, keys[n - 1], value);
}

/* A real that is a whole number in int64 range, as that integer. */
static int doc_real_as_int(double r, json_int_t *out)
{
    if (r != floor(r) || r < -9223372036854775808.0 || r >= 9223372036854775808.0)
        return 0;
    *out = (json_int_t)r;
    return 1;
}

static int doc_number_equal(const json_t *a, const json_t *b)
{
    json_int_t i;
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    if (json_is_real(a)) {
        const json_t *t = a;
        a = b;
        b = t;
    }
    /* a integer, b real */
    return doc_real_as_int(json_real_value(b), &i) && i == json_integer_value(a);
}

int doc_equal(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *x;
    size_t i;

    if (a == b)
        return 1;
    if (!a || !b)
        return 0;
    if (json_is_number(a) && json_is_number(b))
        return doc_number_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, x) if (!doc_equal(x, json_object_get(b, k))) return 0;
        return 1;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        json_array_foreach(a, i, x) if (!doc_equal(x, json_array_get(b, i))) return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    default:
        return 1; /* true, false, null */
    }
}

static int doc_has_whole_real(const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    json_int_t n;
    if (json_is_real(v))
        return doc_real_as_int(json_real_value(v), &n);
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x) if (doc_has_whole_real(x)) return 1;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) if (doc_has_whole_real(x)) return 1;
    }
    return 0;
}

/* Replace whole reals by integers in a tree the caller owns. */
static json_t *doc_whole_reals_to_int(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    json_int_t n;
    if (json_is_real(v) && doc_real_as_int(json_real_value(v), &n)) {
        json_decref(v);
        return json_integer(n);
    }
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
            json_object_set_new(v, k, doc_whole_reals_to_int(json_incref(x)));
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            json_array_set_new(v, i, doc_whole_reals_to_int(json_incref(x)));
    }
    return v;
}

static int doc_dump_to_buf(const char *data, size_t size, void *arg)
{
    buf_put(arg, data, size);
    return 0;
}

void doc_hash(const json_t *doc, char out[65])
{
    struct buf b = BUF_INIT;
    json_t *canon = NULL;
    const json_t *v = doc;

    if (doc && doc_has_whole_real(doc)) {
        canon = doc_whole_reals_to_int(json_deep_copy(doc));
        v = canon;
    }
    if (v)
        json_dump_callback(v, doc_dump_to_buf, &b, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    else
        buf_puts(&b, "null");
    util_sha256_hex(b.ptr ? b.ptr : "", b.len, out);
    json_decref(canon);
    buf_dispose(&b);
}

void doc_emit_json(struct buf *out, const json_t *doc, int pretty)
{
    size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
    if (!doc) {
        buf_puts(out, "null");
        return;
    }
    json_dump_callback(doc, doc_dump_to_buf, out, flags);
}

/* Nesting depth and value count of JSON text, checked before jansson
 * builds anything (and before its own recursion), so the limits and
 * their line:col match doc_parse_yaml's. Counts every value and key. */
static int doc_json_prescan(const char *data, size_t len, const char *source,
                            const struct doc_limits *lim)
{
    size_t i, depth = 0, nodes = 0, line = 1, col = 0;
    int in_str = 0, esc = 0;
    char prev = 0; /* last significant character outside strings */

    for (i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            line++;
            col = 0;
        } else if (((unsigned char)c & 0xC0) != 0x80) {
            col++;
        }
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '"' || c == '{' || c == '[' ||
            (strchr("-0123456789tfn", c) && (prev == 0 || strchr("[{:,", prev)))) {
            if (++nodes > lim->max_nodes)
                return err_set(ERR_TOOLARGE, "%s:%zu:%zu: more than %zu nodes", source, line, col,
                               lim->max_nodes);
        }
        if (c == '"')
            in_str = 1;
        if (c == '{' || c == '[') {
            if (++depth > lim->max_depth)
                return err_set(ERR_TOOLARGE, "%s:%zu:%zu: nesting deeper than %zu levels", source,
                               line, col, lim->max_depth);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
        prev = c;
    }
    return 0;
}

int doc_parse_json(json_t **out, const char *data, size_t len, const char *source,
                   const struct doc_limits *lim)
{
    static const struct doc_limits defaults = DOC_LIMITS_INIT;
    json_error_t jerr;
    json_t *v;
    int rc;

    *out = NULL;
    if (!source)
        source = "<input>";
    if (!lim)
        lim = &defaults;
    if (!data)
        data = "", len = 0;
    if (len > lim->max_bytes)
        return err_set(ERR_TOOLARGE, "%s:1:1: input is %zu bytes, over the limit of %zu", source,
                       len, lim->max_bytes);
    if ((rc = doc_json_prescan(data, len, source, lim)) < 0)
        return rc;
    v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return err_set(ERR_INVALID, "%s:%d:%d: %s", source, jerr.line, jerr.column, jerr.text);
    *out = v;
    return 0;
}

int doc_parse_file_data(json_t **out_docs, const char *data, size_t len, const char *source,
                        const struct doc_limits *lim)
{
    json_t *v = NULL, *docs;
    int rc;

    *out_docs = NULL;
    if (!source || !str_has_suffix(source, ".json"))
        return doc_parse_yaml(out_docs, data, len, source, lim);
    if ((rc = doc_parse_json(&v, data, len, source, lim)) < 0)
        return rc;
    docs = json_array();
    if (!json_is_null(v))
        json_array_append(docs, v);
    json_decref(v);
    *out_docs = docs;
    return 0;
}
