/*
 * doc_parse_yaml: libyaml's event parser (not its document loader) drives
 * a tree builder with an explicit stack, so nesting never recurses on the
 * C stack and every node passes the limits as it is made.
 *
 * Aliases share the anchored subtree (a jansson reference) while a
 * document is being built, and each alias charges the node count with the
 * whole subtree it stands for. A "billion laughs" file therefore reaches
 * max_nodes after allocating only its distinct nodes. A document that
 * passes every limit is then unshared (shared subtrees deep-copied, at
 * most max_nodes of them), so callers get a plain tree they may edit.
 *
 * Merge keys follow go-yaml v2, which kubectl uses: entries are applied in
 * order of appearance, so `<<` overrides keys written before it and keys
 * written after it override the merge; in a list of maps the earlier map
 * wins. Duplicate keys written by the document itself are refused
 * (kubectl silently keeps the last one; an edge site should not guess).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "doc/resolve.h"

#define PARSE_TAG "tag:yaml.org,2002:"

struct parse_frame {
    json_t *node;     /* object or array being filled; owned */
    json_t *explicit; /* objects: keys the document wrote itself (not via <<) */
    char *key;        /* objects: key waiting for its value; owned */
    int have_key;
    int merge; /* the waiting key is << */
    yaml_mark_t key_mark;
    char *anchor; /* anchor of this node, registered when it ends */
    size_t nodes_at_start;
    size_t height; /* 1 + height of the highest child */
    yaml_mark_t mark;
};

struct parse_anchor {
    json_t *value; /* NULL while the anchored node is still open */
    size_t nodes;  /* nodes an alias to it expands to */
    size_t height;
};

struct parse {
    const char *source;
    const char *data;
    size_t len;
    struct doc_limits lim;
    struct parse_frame *stack;
    size_t depth, cap;
    json_t *anchor_index; /* name -> integer index into anchors */
    struct parse_anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t nodes;
    size_t documents;
    json_t *root;
    json_t *docs;
};

static int parse_fail(struct parse *p, int code, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int parse_fail(struct parse *p, int code, const yaml_mark_t *m, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    err_set(code, "%s:%zu:%zu: %s", p->source, m->line + 1, m->column + 1, buf_cstr(&msg));
    buf_dispose(&msg);
    return code;
}

/* Line and column of a byte offset, for errors that libyaml reports by
 * offset only (bad UTF-8) and for the size limit. */
static yaml_mark_t parse_mark_at(const char *data, size_t len, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    size_t i;
    if (off > len)
        off = len;
    for (i = 0; i < off; i++) {
        if (data[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((unsigned char)data[i] & 0xC0) != 0x80) {
            m.column++;
        }
    }
    m.index = off;
    return m;
}

static void parse_clear_anchors(struct parse *p)
{
    size_t i;
    for (i = 0; i < p->n_anchors; i++)
        json_decref(p->anchors[i].value);
    p->n_anchors = 0;
    json_object_clear(p->anchor_index);
}

static void parse_frame_dispose(struct parse_frame *f)
{
    json_decref(f->node);
    json_decref(f->explicit);
    free(f->key);
    free(f->anchor);
    memset(f, 0, sizeof(*f));
}

static void parse_dispose(struct parse *p)
{
    while (p->depth > 0)
        parse_frame_dispose(&p->stack[--p->depth]);
    free(p->stack);
    parse_clear_anchors(p);
    free(p->anchors);
    json_decref(p->anchor_index);
    json_decref(p->root);
    json_decref(p->docs);
}

static int parse_count(struct parse *p, size_t n, const yaml_mark_t *m)
{
    if (n > p->lim.max_nodes || p->nodes > p->lim.max_nodes - n)
        return parse_fail(p, ERR_TOOLARGE, m, "more than %zu nodes (aliases expanded)",
                          p->lim.max_nodes);
    p->nodes += n;
    return 0;
}

/* An anchor opens when its node starts, so an alias inside the node sees
 * it as unfinished (go-yaml: "anchor value contains itself"). */
static void parse_anchor_open(struct parse *p, const char *name)
{
    if (p->n_anchors == p->cap_anchors) {
        p->cap_anchors = p->cap_anchors ? 2 * p->cap_anchors : 16;
        p->anchors = xrealloc(p->anchors, p->cap_anchors * sizeof(*p->anchors));
    }
    memset(&p->anchors[p->n_anchors], 0, sizeof(p->anchors[0]));
    json_object_set_new(p->anchor_index, name, json_integer((json_int_t)p->n_anchors));
    p->n_anchors++;
}

static void parse_anchor_close(struct parse *p, const char *name, json_t *value, size_t nodes,
                               size_t height)
{
    json_t *idx = json_object_get(p->anchor_index, name);
    struct parse_anchor *a;
    if (!idx)
        return;
    a = &p->anchors[json_integer_value(idx)];
    json_decref(a->value);
    a->value = json_incref(value);
    a->nodes = nodes;
    a->height = height;
}

static struct parse_frame *parse_top(struct parse *p)
{
    return p->depth ? &p->stack[p->depth - 1] : NULL;
}

static int parse_wants_key(struct parse *p)
{
    struct parse_frame *f = parse_top(p);
    return f && json_is_object(f->node) && !f->have_key;
}

static int parse_merge(struct parse *p, struct parse_frame *f, json_t *v, const yaml_mark_t *m)
{
    size_t i;
    const char *k;
    json_t *x;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++)
            if (!json_is_object(json_array_get(v, i)))
                goto bad;
        /* Backwards, as go-yaml does, so the earlier map wins. */
        for (i = json_array_size(v); i-- > 0;)
            json_object_foreach(json_array_get(v, i), k, x) json_object_set(f->node, k, x);
        return 0;
    }
    if (json_is_object(v)) {
        json_object_foreach(v, k, x) json_object_set(f->node, k, x);
        return 0;
    }
bad:
    return parse_fail(p, ERR_INVALID, m, "map merge requires a map or a list of maps");
}

/* Hand a finished node (stolen) to its parent, or make it the root. */
static int parse_deliver(struct parse *p, json_t *v, size_t height, const yaml_mark_t *m)
{
    struct parse_frame *f = parse_top(p);
    int rc = 0;

    if (!f) {
        json_decref(p->root);
        p->root = v;
        return 0;
    }
    if (height + 1 > f->height)
        f->height = height + 1;
    if (json_is_array(f->node)) {
        json_array_append_new(f->node, v);
        return 0;
    }
    if (f->merge) {
        rc = parse_merge(p, f, v, m);
        json_decref(v);
    } else {
        json_object_set_new(f->node, f->key, v);
        json_object_set_new(f->explicit, f->key, json_null());
    }
    free(f->key);
    f->key = NULL;
    f->have_key = 0;
    f->merge = 0;
    return rc;
}

static int parse_set_key(struct parse *p, char *key, const yaml_mark_t *m)
{
    struct parse_frame *f = parse_top(p);
    if (json_object_get(f->explicit, key)) {
        int rc = parse_fail(p, ERR_INVALID, m, "duplicate key \"%s\"", key);
        free(key);
        return rc;
    }
    f->key = key;
    f->have_key = 1;
    f->key_mark = *m;
    return 0;
}

/* A key that is not a string becomes one the way sigs.k8s.io/yaml
 * converts it; null, huge unsigned and collection keys are refused as
 * they are there. */
static int parse_key_from_json(struct parse *p, const json_t *v, const yaml_mark_t *m, char **out)
{
    char tmp[48];
    *out = NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (memchr(json_string_value(v), '\0', json_string_length(v)))
            return parse_fail(p, ERR_INVALID, m, "map key contains a NUL character");
        *out = xstrdup(json_string_value(v));
        return 0;
    case JSON_INTEGER:
        *out = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    case JSON_REAL:
        resolve_float_key(json_real_value(v), tmp);
        *out = xstrdup(tmp);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        *out = xstrdup(json_is_true(v) ? "true" : "false");
        return 0;
    case JSON_NULL:
        return parse_fail(p, ERR_INVALID, m, "null map key is not supported");
    default:
        return parse_fail(p, ERR_INVALID, m, "a map or list as a map key is not supported");
    }
}

static const char *parse_short_tag(const char *tag, char buf[64])
{
    if (strncmp(tag, PARSE_TAG, strlen(PARSE_TAG)) == 0) {
        snprintf(buf, 64, "!!%s", tag + strlen(PARSE_TAG));
        return buf;
    }
    return tag;
}

static int parse_base64(const char *s, size_t n, struct buf *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned int acc = 0;
    int bits = 0, pad = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        const char *c;
        if (s[i] == '\n' || s[i] == '\r' || s[i] == ' ')
            continue;
        if (s[i] == '=') {
            pad++;
            continue;
        }
        c = s[i] ? strchr(alphabet, s[i]) : NULL;
        if (!c || pad)
            return -1;
        acc = (acc << 6) | (unsigned int)(c - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (char)((acc >> bits) & 0xFF));
        }
    }
    return pad > 2 ? -1 : 0;
}

/* Type a scalar event: a resolve_value, and for strings the text. go-yaml
 * resolves plain untagged scalars and the yaml.org types it knows; a
 * quoted or block scalar without a tag, !!str and any other tag give the
 * text as it is. */
static int parse_type_scalar(struct parse *p, const yaml_event_t *e, struct resolve_value *rv,
                             struct buf *text)
{
    const char *tag = (const char *)e->data.scalar.tag;
    const char *val = (const char *)e->data.scalar.value;
    size_t len = e->data.scalar.length;
    const char *want = NULL;
    enum resolve_kind kind = RESOLVE_STR;
    char sbuf[64];

    memset(rv, 0, sizeof(*rv));
    rv->kind = RESOLVE_STR;
    buf_put(text, val, len);
    if (!tag) {
        if (e->data.scalar.plain_implicit)
            resolve_plain(val, len, rv);
        if (rv->kind == RESOLVE_BOOL && p->lim.yaml_v3_bools && len != 4 && len != 5)
            rv->kind = RESOLVE_STR; /* yes, no, on, off, y, n: not true/false */
        return 0;
    }
    if (strncmp(tag, PARSE_TAG, strlen(PARSE_TAG)) != 0)
        return 0;
    want = tag + strlen(PARSE_TAG);
    if (!strcmp(want, "bool"))
        kind = RESOLVE_BOOL;
    else if (!strcmp(want, "int"))
        kind = RESOLVE_INT;
    else if (!strcmp(want, "float"))
        kind = RESOLVE_FLOAT;
    else if (!strcmp(want, "null"))
        kind = RESOLVE_NULL;
    else if (!strcmp(want, "timestamp")) {
        /* go-yaml gives timestamps to interface{} as their text. */
        if (resolve_is_timestamp(val, len))
            return 0;
        goto mismatch;
    } else if (!strcmp(want, "binary")) {
        buf_clear(text);
        if (parse_base64(val, len, text) < 0)
            return parse_fail(p, ERR_INVALID, &e->start_mark, "!!binary value is not base64");
        return 0;
    } else {
        return 0; /* !!str, !!merge, !!anything-else: the text */
    }
    resolve_plain(val, len, rv);
    if (rv->kind == kind)
        return 0;
    if (kind == RESOLVE_FLOAT && rv->kind == RESOLVE_INT) {
        rv->kind = RESOLVE_FLOAT;
        rv->f = (double)rv->i;
        return 0;
    }
mismatch:
    resolve_plain(val, len, rv);
    return parse_fail(p, ERR_INVALID, &e->start_mark, "cannot decode %s `%.*s` as a %s",
                      rv->kind == RESOLVE_STR     ? "!!str"
                      : rv->kind == RESOLVE_NULL  ? "!!null"
                      : rv->kind == RESOLVE_BOOL  ? "!!bool"
                      : rv->kind == RESOLVE_FLOAT ? "!!float"
                                                  : "!!int",
                      (int)(len > 64 ? 64 : len), val, parse_short_tag(tag, sbuf));
}

/* A typed scalar as a JSON value, as kubectl would print it: floats
 * that are whole numbers in int64 range come out as integers (Go prints
 * float64 1000 as 1000 and Kubernetes reads it back as int64). */
static int parse_value_json(struct parse *p, const struct resolve_value *rv, const struct buf *text,
                            const yaml_mark_t *m, json_t **out)
{
    *out = NULL;
    switch (rv->kind) {
    case RESOLVE_STR:
        *out = json_stringn(buf_cstr(text), text->len);
        if (!*out)
            return parse_fail(p, ERR_INVALID, m, "string is not valid UTF-8");
        return 0;
    case RESOLVE_NULL:
        *out = json_null();
        return 0;
    case RESOLVE_BOOL:
        *out = json_boolean(rv->b);
        return 0;
    case RESOLVE_INT:
        *out = json_integer((json_int_t)rv->i);
        return 0;
    case RESOLVE_UINT:
        *out = json_real((double)rv->u);
        return 0;
    case RESOLVE_FLOAT:
        if (isnan(rv->f) || isinf(rv->f))
            return parse_fail(p, ERR_INVALID, m, "%s is not representable in JSON", buf_cstr(text));
        if (rv->f == floor(rv->f) && rv->f >= -9223372036854775808.0 &&
            rv->f < 9223372036854775808.0)
            *out = json_integer((json_int_t)rv->f);
        else
            *out = json_real(rv->f);
        return 0;
    }
    return 0;
}

static int parse_key_string(struct parse *p, const struct resolve_value *rv, const struct buf *text,
                            const yaml_mark_t *m, char **out)
{
    char tmp[48];
    *out = NULL;
    switch (rv->kind) {
    case RESOLVE_STR:
        if (memchr(buf_cstr(text), '\0', text->len))
            return parse_fail(p, ERR_INVALID, m, "map key contains a NUL character");
        *out = xstrndup(buf_cstr(text), text->len);
        return 0;
    case RESOLVE_NULL:
        return parse_fail(p, ERR_INVALID, m, "null map key is not supported");
    case RESOLVE_BOOL:
        *out = xstrdup(rv->b ? "true" : "false");
        return 0;
    case RESOLVE_INT:
        *out = xasprintf("%lld", (long long)rv->i);
        return 0;
    case RESOLVE_UINT:
        return parse_fail(p, ERR_INVALID, m, "map key %s does not fit int64", buf_cstr(text));
    case RESOLVE_FLOAT:
        resolve_float_key(rv->f, tmp);
        *out = xstrdup(tmp);
        return 0;
    }
    return 0;
}

static int parse_is_merge_key(const yaml_event_t *e)
{
    const char *tag = (const char *)e->data.scalar.tag;
    if (e->data.scalar.length != 2 || memcmp(e->data.scalar.value, "<<", 2) != 0)
        return 0;
    return tag ? !strcmp(tag, PARSE_TAG "merge") : e->data.scalar.plain_implicit;
}

static int parse_scalar(struct parse *p, const yaml_event_t *e)
{
    const char *anchor = (const char *)e->data.scalar.anchor;
    struct resolve_value rv;
    struct buf text = BUF_INIT;
    json_t *v = NULL;
    char *key = NULL;
    int rc;

    if ((rc = parse_count(p, 1, &e->start_mark)) < 0)
        goto out;
    if (parse_wants_key(p) && parse_is_merge_key(e)) {
        parse_top(p)->have_key = 1;
        parse_top(p)->merge = 1;
        goto out;
    }
    if ((rc = parse_type_scalar(p, e, &rv, &text)) < 0)
        goto out;
    if (parse_wants_key(p)) {
        if ((rc = parse_key_string(p, &rv, &text, &e->start_mark, &key)) < 0)
            goto out;
        if (anchor) {
            /* An anchored key can be reused as a value elsewhere. */
            if (parse_value_json(p, &rv, &text, &e->start_mark, &v) < 0)
                v = json_string(key);
            err_clear();
            parse_anchor_open(p, anchor);
            parse_anchor_close(p, anchor, v, 1, 0);
        }
        rc = parse_set_key(p, key, &e->start_mark);
        goto out;
    }
    if ((rc = parse_value_json(p, &rv, &text, &e->start_mark, &v)) < 0)
        goto out;
    if (anchor) {
        parse_anchor_open(p, anchor);
        parse_anchor_close(p, anchor, v, 1, 0);
    }
    rc = parse_deliver(p, v, 0, &e->start_mark);
    v = NULL;
out:
    json_decref(v);
    buf_dispose(&text);
    return rc;
}

static int parse_alias(struct parse *p, const yaml_event_t *e)
{
    const char *name = (const char *)e->data.alias.anchor;
    json_t *idx = json_object_get(p->anchor_index, name);
    struct parse_anchor *a;
    char *key = NULL;
    int rc;

    if (!idx)
        return parse_fail(p, ERR_INVALID, &e->start_mark, "unknown anchor '%s'", name);
    a = &p->anchors[json_integer_value(idx)];
    if (!a->value)
        return parse_fail(p, ERR_INVALID, &e->start_mark, "anchor '%s' value contains itself",
                          name);
    if ((rc = parse_count(p, a->nodes, &e->start_mark)) < 0)
        return rc;
    if (p->depth + a->height > p->lim.max_depth)
        return parse_fail(p, ERR_TOOLARGE, &e->start_mark,
                          "alias '%s' nests deeper than %zu levels", name, p->lim.max_depth);
    if (parse_wants_key(p)) {
        if ((rc = parse_key_from_json(p, a->value, &e->start_mark, &key)) < 0)
            return rc;
        return parse_set_key(p, key, &e->start_mark);
    }
    return parse_deliver(p, json_incref(a->value), a->height, &e->start_mark);
}

static int parse_start(struct parse *p, const yaml_event_t *e, int is_map)
{
    const char *anchor =
        (const char *)(is_map ? e->data.mapping_start.anchor : e->data.sequence_start.anchor);
    struct parse_frame *f;
    size_t at = p->nodes;
    int rc;

    if (parse_wants_key(p))
        return parse_fail(p, ERR_INVALID, &e->start_mark,
                          "a map or list as a map key is not supported");
    if (p->depth + 1 > p->lim.max_depth)
        return parse_fail(p, ERR_TOOLARGE, &e->start_mark, "nesting deeper than %zu levels",
                          p->lim.max_depth);
    if ((rc = parse_count(p, 1, &e->start_mark)) < 0)
        return rc;
    if (p->depth == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->stack = xrealloc(p->stack, p->cap * sizeof(*p->stack));
    }
    f = &p->stack[p->depth++];
    memset(f, 0, sizeof(*f));
    f->node = is_map ? json_object() : json_array();
    f->explicit = is_map ? json_object() : NULL;
    f->nodes_at_start = at;
    f->mark = e->start_mark;
    if (anchor) {
        f->anchor = xstrdup(anchor);
        parse_anchor_open(p, anchor);
    }
    return 0;
}

static int parse_end(struct parse *p)
{
    struct parse_frame f = p->stack[--p->depth];
    json_t *v = json_incref(f.node);
    int rc;
    if (f.anchor)
        parse_anchor_close(p, f.anchor, v, p->nodes - f.nodes_at_start, f.height);
    rc = parse_deliver(p, v, f.height, &f.mark);
    parse_frame_dispose(&f);
    return rc;
}

static int parse_is_shared(const json_t *v)
{
    return !json_is_true(v) && !json_is_false(v) && !json_is_null(v) && v->refcount > 1;
}

/* Give every place in the tree its own copy of what aliases shared. */
static void parse_unshare(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (parse_is_shared(x))
                json_object_set_new(v, k, json_deep_copy(x));
            else
                parse_unshare(x);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (parse_is_shared(x))
                json_array_set_new(v, i, json_deep_copy(x));
            else
                parse_unshare(x);
        }
    }
}

static int parse_event(struct parse *p, const yaml_event_t *e)
{
    json_t *root;
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++p->documents > p->lim.max_documents)
            return parse_fail(p, ERR_TOOLARGE, &e->start_mark, "more than %zu documents",
                              p->lim.max_documents);
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        /* Anchors do not cross documents (kubectl parses each alone). */
        parse_clear_anchors(p);
        root = p->root;
        p->root = NULL;
        if (!root || json_is_null(root)) {
            json_decref(root);
            return 0;
        }
        if (parse_is_shared(root)) {
            json_t *copy = json_deep_copy(root);
            json_decref(root);
            root = copy;
        }
        parse_unshare(root);
        json_array_append_new(p->docs, root);
        return 0;
    case YAML_SCALAR_EVENT:
        return parse_scalar(p, e);
    case YAML_ALIAS_EVENT:
        return parse_alias(p, e);
    case YAML_MAPPING_START_EVENT:
        return parse_start(p, e, 1);
    case YAML_SEQUENCE_START_EVENT:
        return parse_start(p, e, 0);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return parse_end(p);
    default:
        return 0;
    }
}

static int parse_syntax_error(struct parse *p, const yaml_parser_t *y)
{
    yaml_mark_t m = y->problem_mark;
    const char *problem = y->problem ? y->problem : "syntax error";
    if (y->error == YAML_READER_ERROR) {
        m = parse_mark_at(p->data, p->len, y->problem_offset);
        if (y->problem_value != -1)
            return parse_fail(p, ERR_INVALID, &m, "%s (byte 0x%02x)", problem,
                              (unsigned)y->problem_value & 0xFF);
        return parse_fail(p, ERR_INVALID, &m, "%s", problem);
    }
    if (y->error == YAML_MEMORY_ERROR) {
        fprintf(stderr, "edgecd: out of memory in libyaml\n");
        abort();
    }
    if (y->context)
        return parse_fail(p, ERR_INVALID, &m, "%s %s", y->context, problem);
    return parse_fail(p, ERR_INVALID, &m, "%s", problem);
}

int doc_parse_yaml(json_t **out_docs, const char *data, size_t len, const char *source,
                   const struct doc_limits *lim)
{
    static const struct doc_limits defaults = DOC_LIMITS_INIT;
    struct parse p;
    yaml_parser_t y;
    yaml_event_t e;
    int rc = 0, done = 0;

    *out_docs = NULL;
    memset(&p, 0, sizeof(p));
    p.source = source ? source : "<input>";
    p.data = data ? data : "";
    p.len = data ? len : 0;
    p.lim = lim ? *lim : defaults;
    if (p.len > p.lim.max_bytes) {
        yaml_mark_t m = parse_mark_at(p.data, p.len, p.lim.max_bytes);
        return parse_fail(&p, ERR_TOOLARGE, &m, "input is %zu bytes, over the limit of %zu", p.len,
                          p.lim.max_bytes);
    }
    p.anchor_index = json_object();
    p.docs = json_array();
    if (!yaml_parser_initialize(&y)) {
        fprintf(stderr, "edgecd: out of memory in libyaml\n");
        abort();
    }
    yaml_parser_set_input_string(&y, (const unsigned char *)p.data, p.len);
    while (!done) {
        if (!yaml_parser_parse(&y, &e)) {
            rc = parse_syntax_error(&p, &y);
            goto out;
        }
        rc = parse_event(&p, &e);
        done = e.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&e);
        if (rc < 0)
            goto out;
    }
    *out_docs = p.docs;
    p.docs = NULL;
out:
    yaml_parser_delete(&y);
    parse_dispose(&p);
    return rc;
}
