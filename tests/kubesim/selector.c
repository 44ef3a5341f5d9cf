#include "selector.h"

#include <ctype.h>
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
