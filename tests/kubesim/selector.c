#include "selector.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

enum selector_op { SEL_EQ, SEL_NEQ, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOTEXISTS };

struct selector_req {
    char *key;
    enum selector_op op;
    char **values;
    size_t nvalues;
};

struct selector {
    struct selector_req *reqs;
    size_t n;
};

static const char *selector_skip(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int selector_keychar(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/';
}

static void selector_add_value(struct selector_req *r, const char *v, size_t n)
{
    r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(*r->values));
    r->values[r->nvalues++] = xstrndup(v, n);
}

/* Parse one requirement at *pp; leaves *pp after it (at ',' or end). */
static int selector_parse_req(struct selector_req *r, const char **pp)
{
    const char *p = selector_skip(*pp), *k;
    memset(r, 0, sizeof(*r));
    if (*p == '!') {
        p = selector_skip(p + 1);
        r->op = SEL_NOTEXISTS;
    } else {
        r->op = SEL_EXISTS;
    }
    k = p;
    while (selector_keychar(*p))
        p++;
    if (p == k)
        return err_set(ERR_INVALID, "unable to parse requirement: found '%s', expected: identifier",
                       *k ? k : "end of string");
    r->key = xstrndup(k, (size_t)(p - k));
    p = selector_skip(p);
    if (r->op == SEL_NOTEXISTS || *p == ',' || *p == '\0') {
        *pp = p;
        return 0;
    }
    if (p[0] == '!' && p[1] == '=') {
        r->op = SEL_NEQ;
        p += 2;
    } else if (p[0] == '=' && p[1] == '=') {
        r->op = SEL_EQ;
        p += 2;
    } else if (p[0] == '=') {
        r->op = SEL_EQ;
        p += 1;
    } else if (strncmp(p, "in", 2) == 0 && (p[2] == ' ' || p[2] == '(')) {
        r->op = SEL_IN;
        p += 2;
    } else if (strncmp(p, "notin", 5) == 0 && (p[5] == ' ' || p[5] == '(')) {
        r->op = SEL_NOTIN;
        p += 5;
    } else {
        return err_set(ERR_INVALID,
                       "unable to parse requirement: found '%s', expected: in, notin, "
                       "=, ==, !=, gt, lt",
                       p);
    }
    p = selector_skip(p);
    if (r->op == SEL_EQ || r->op == SEL_NEQ) {
        const char *v = p;
        while (selector_keychar(*p))
            p++;
        selector_add_value(r, v, (size_t)(p - v));
    } else {
        if (*p != '(')
            return err_set(ERR_INVALID, "unable to parse requirement: found '%s', expected: '('",
                           p);
        p++;
        for (;;) {
            const char *v;
            p = selector_skip(p);
            v = p;
            while (selector_keychar(*p))
                p++;
            selector_add_value(r, v, (size_t)(p - v));
            p = selector_skip(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ')') {
                p++;
                break;
            }
            return err_set(ERR_INVALID,
                           "unable to parse requirement: found '%s', expected: ',', "
                           "')' or identifier",
                           *p ? p : "end of string");
        }
    }
    *pp = selector_skip(p);
    return 0;
}

static void selector_req_dispose(struct selector_req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
}

int selector_parse(selector **out, const char *text)
{
    selector *s = xcalloc(1, sizeof(*s));
    const char *p = text ? text : "";
    *out = NULL;
    p = selector_skip(p);
    while (*p) {
        struct selector_req r;
        int rc = selector_parse_req(&r, &p);
        if (rc < 0) {
            selector_req_dispose(&r);
            selector_free(s);
            return rc;
        }
        s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof(*s->reqs));
        s->reqs[s->n++] = r;
        if (*p == ',')
            p = selector_skip(p + 1);
        else if (*p) {
            selector_free(s);
            return err_set(ERR_INVALID, "unable to parse requirement: found '%s', expected: ','",
                           p);
        }
    }
    *out = s;
    return 0;
}

void selector_free(selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        selector_req_dispose(&s->reqs[i]);
    free(s->reqs);
    free(s);
}

static int selector_in(const struct selector_req *r, const char *v)
{
    for (size_t i = 0; i < r->nvalues; i++)
        if (strcmp(r->values[i], v) == 0)
            return 1;
    return 0;
}

int selector_match(const selector *s, const json_t *labels)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct selector_req *r = &s->reqs[i];
        const char *v = json_string_value(json_object_get(labels, r->key));
        switch (r->op) {
        case SEL_EXISTS:
            if (!v)
                return 0;
            break;
        case SEL_NOTEXISTS:
            if (v)
                return 0;
            break;
        case SEL_EQ:
        case SEL_IN:
            if (!v || !selector_in(r, v))
                return 0;
            break;
        case SEL_NEQ:
        case SEL_NOTIN:
            /* As in apimachinery: a missing label satisfies != and notin. */
            if (v && selector_in(r, v))
                return 0;
            break;
        }
    }
    return 1;
}

const char *selector_key(const selector *s, size_t i)
{
    return i < s->n ? s->reqs[i].key : NULL;
}

int selector_parse_fields(selector **out, const char *text)
{
    selector *s = xcalloc(1, sizeof(*s));
    const char *p = text ? text : "";
    *out = NULL;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct selector_req r;
        const char *op = NULL;
        size_t oplen = 0;
        memset(&r, 0, sizeof(r));
        for (size_t i = 0; i < len && !op; i++) {
            if (p[i] == '!' && i + 1 < len && p[i + 1] == '=') {
                op = p + i, oplen = 2, r.op = SEL_NEQ;
            } else if (p[i] == '=' && i + 1 < len && p[i + 1] == '=') {
                op = p + i, oplen = 2, r.op = SEL_EQ;
            } else if (p[i] == '=') {
                op = p + i, oplen = 1, r.op = SEL_EQ;
            }
        }
        if (!op) {
            int n = (int)len;
            selector_free(s);
            return err_set(ERR_INVALID, "invalid selector: '%s'; can't understand '%.*s'", text, n,
                           p);
        }
        r.key = xstrndup(p, (size_t)(op - p));
        selector_add_value(&r, op + oplen, len - (size_t)(op - p) - oplen);
        s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof(*s->reqs));
        s->reqs[s->n++] = r;
        p = end ? end + 1 : p + len;
    }
    *out = s;
    return 0;
}

/* Fields beyond metadata.name and metadata.namespace, per kind, as the
 * real server's field label conversion functions list them. */
static const struct selector_field {
    const char *group, *plural, *field, *path[3];
    const char *missing; /* value when absent */
} selector_field_table[] = {
    {"", "pods", "spec.nodeName", {"spec", "nodeName"}, ""},
    {"", "pods", "spec.restartPolicy", {"spec", "restartPolicy"}, ""},
    {"", "pods", "spec.schedulerName", {"spec", "schedulerName"}, ""},
    {"", "pods", "spec.serviceAccountName", {"spec", "serviceAccountName"}, ""},
    {"", "pods", "spec.hostNetwork", {"spec", "hostNetwork"}, "false"},
    {"", "pods", "status.phase", {"status", "phase"}, ""},
    {"", "pods", "status.podIP", {"status", "podIP"}, ""},
    {"", "pods", "status.nominatedNodeName", {"status", "nominatedNodeName"}, ""},
    {"", "namespaces", "status.phase", {"status", "phase"}, ""},
    {"", "secrets", "type", {"type"}, ""},
    {"", "nodes", "spec.unschedulable", {"spec", "unschedulable"}, "false"},
    {"", "events", "involvedObject.kind", {"involvedObject", "kind"}, ""},
    {"", "events", "involvedObject.namespace", {"involvedObject", "namespace"}, ""},
    {"", "events", "involvedObject.name", {"involvedObject", "name"}, ""},
    {"", "events", "involvedObject.uid", {"involvedObject", "uid"}, ""},
    {"", "events", "reason", {"reason"}, ""},
    {"", "events", "type", {"type"}, ""},
    {"apps", "replicasets", "status.replicas", {"status", "replicas"}, "0"},
};

static int selector_field_of(const struct resource *r, const struct selector_field *f)
{
    return !r->crd && strcmp(r->group, f->group) == 0 && strcmp(r->plural, f->plural) == 0;
}

int selector_check_fields(const struct resource *r, const selector *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const char *k = s->reqs[i].key;
        int ok = strcmp(k, "metadata.name") == 0 || strcmp(k, "metadata.namespace") == 0;
        for (size_t j = 0;
             !ok && j < sizeof(selector_field_table) / sizeof(selector_field_table[0]); j++) {
            const struct selector_field *f = &selector_field_table[j];
            ok = selector_field_of(r, f) && strcmp(f->field, k) == 0;
        }
        if (!ok)
            return err_set(ERR_INVALID, "field label not supported: %s", k);
    }
    return 0;
}

json_t *selector_fields(const struct resource *r, const json_t *obj)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    json_t *out = json_object();
    json_object_set_new(out, "metadata.name", json_string(name ? name : ""));
    json_object_set_new(out, "metadata.namespace", json_string(ns && r->namespaced ? ns : ""));
    for (size_t j = 0; j < sizeof(selector_field_table) / sizeof(selector_field_table[0]); j++) {
        const struct selector_field *f = &selector_field_table[j];
        const json_t *v = obj;
        char num[32];
        if (!selector_field_of(r, f))
            continue;
        for (size_t i = 0; i < 3 && f->path[i] && v; i++)
            v = json_object_get(v, f->path[i]);
        if (json_is_string(v)) {
            json_object_set(out, f->field, (json_t *)v);
        } else if (json_is_boolean(v)) {
            json_object_set_new(out, f->field, json_string(json_is_true(v) ? "true" : "false"));
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            json_object_set_new(out, f->field, json_string(num));
        } else {
            json_object_set_new(out, f->field, json_string(f->missing));
        }
    }
    return out;
}
