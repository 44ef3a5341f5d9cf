/*
 * Argo CD's ignoreDifferences: which fields of an object to leave out when
 * desired and live are compared.
 *
 * Every way of naming fields (JSON pointers, jq path expressions, the
 * managers of metadata.managedFields) is resolved against the object at
 * hand into concrete paths: lists of keys and array indices. One sorted
 * list of paths then serves both callers: the compare removes them from a
 * copy, and the UI asks whether a field lies under one. Resolving first
 * also fixes what an index means: every path names the object as it is,
 * not as earlier removals left it (Argo CD applies its patches one after
 * another, so two pointers into one list could shift each other).
 *
 * jq is not embedded. The expressions operators write for Argo CD are
 * paths: fields, quoted keys, indices, [] over lists, `|`, and select()
 * with a comparison. These compile here into a list of steps; anything
 * else is refused when the rules are read, naming the expression, rather
 * than ignored later without a word.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/glob.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "doc/patch.h"

#define IGNORE_MAX_EXPR 1024 /* bytes of one pointer or jq expression */
#define IGNORE_MAX_STEPS 64  /* steps of one compiled path */

enum ignore_step_kind {
    STEP_KEY,    /* .name, ."name", .["name"] */
    STEP_INDEX,  /* .[N], negative from the end */
    STEP_TOKEN,  /* a JSON pointer token: a key, or an index on arrays */
    STEP_ITER,   /* .[] over list items or map values */
    STEP_SELECT, /* select(cond): keep the value when cond holds */
};

enum ignore_op { OP_EQ, OP_NE, OP_STARTSWITH, OP_ENDSWITH };

struct ignore_path;

struct ignore_step {
    enum ignore_step_kind kind;
    char *key;                /* KEY, TOKEN */
    long index;               /* INDEX */
    struct ignore_path *left; /* SELECT: keys and indices from the value */
    enum ignore_op op;        /* SELECT */
    json_t *value;            /* SELECT: the literal compared with */
};

struct ignore_path {
    struct ignore_step *step;
    size_t n;
};

struct ignore_rule {
    char *group, *kind; /* globs */
    char *name, *ns;    /* NULL: any */
    struct ignore_path *path;
    size_t npaths;
    char **manager;
    size_t nmanagers;
};

struct doc_ignore {
    struct ignore_rule *rule;
    size_t n, cap;
};

/* ---- compiled paths ---------------------------------------------------- */

static void ignore_path_free(struct ignore_path *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->step[i].key);
        ignore_path_free(p->step[i].left);
        free(p->step[i].left);
        json_decref(p->step[i].value);
    }
    free(p->step);
    p->step = NULL;
    p->n = 0;
}

static struct ignore_step *ignore_path_add(struct ignore_path *p, enum ignore_step_kind kind)
{
    struct ignore_step *s;
    p->step = xrealloc(p->step, (p->n + 1) * sizeof *p->step);
    s = &p->step[p->n++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

static void ignore_rule_dispose(struct ignore_rule *r)
{
    free(r->group);
    free(r->kind);
    free(r->name);
    free(r->ns);
    for (size_t i = 0; i < r->npaths; i++)
        ignore_path_free(&r->path[i]);
    free(r->path);
    for (size_t i = 0; i < r->nmanagers; i++)
        free(r->manager[i]);
    free(r->manager);
    memset(r, 0, sizeof *r);
}

/* ---- JSON pointers ------------------------------------------------------ */

static int ignore_compile_pointer(struct ignore_path *out, const char *text, const char *where)
{
    const char *p = text;
    if (!text[0])
        return err_set(ERR_INVALID, "%s: \"\" names the whole object", where);
    if (text[0] != '/')
        return err_set(ERR_INVALID, "%s: \"%s\": a JSON pointer starts with /", where, text);
    while (*p == '/') {
        size_t n = strcspn(p + 1, "/"), j = 0;
        char *tok = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            char c = p[1 + i];
            if (c == '~') {
                char e = i + 1 < n ? p[2 + i] : '\0';
                if (e != '0' && e != '1') {
                    free(tok);
                    return err_set(ERR_INVALID, "%s: \"%s\": ~ must be followed by 0 or 1", where,
                                   text);
                }
                c = e == '0' ? '~' : '/';
                i++;
            }
            tok[j++] = c;
        }
        tok[j] = '\0';
        if (out->n == IGNORE_MAX_STEPS) {
            free(tok);
            return err_set(ERR_TOOLARGE, "%s: \"%s\": more than %d tokens", where, text,
                           IGNORE_MAX_STEPS);
        }
        ignore_path_add(out, STEP_TOKEN)->key = tok;
        p += 1 + n;
    }
    return 0;
}

/* ---- jq path expressions ------------------------------------------------ */

struct jq {
    const char *text, *p, *where;
};

static int jq_fail(const struct jq *q, const char *what)
{
    const char *at = q->p;
    size_t n = strcspn(at, " \t\n|()[].\"");
    return err_set(ERR_UNSUPPORTED,
                   "%s: jq expression \"%s\": %s at column %d%s%.*s%s (edgecd supports paths "
                   "like .a.b, .\"a/b\", .a[\"b\"], .a[0], .a[], joined by | and select() with "
                   "==, !=, startswith, endswith)",
                   q->where, q->text, what, (int)(at - q->text) + 1, *at ? " (\"" : "",
                   (int)(n ? n : 1), at, *at ? "\")" : "");
}

static void jq_space(struct jq *q)
{
    while (*q->p == ' ' || *q->p == '\t' || *q->p == '\n' || *q->p == '\r')
        q->p++;
}

/* Past optional space, the character c, and the space after it. */
static int jq_expect(struct jq *q, char c, const char *what)
{
    jq_space(q);
    if (*q->p != c)
        return jq_fail(q, what);
    q->p++;
    jq_space(q);
    return 0;
}

static int jq_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int jq_ident_char(char c)
{
    return jq_ident_start(c) || (c >= '0' && c <= '9');
}

/* A JSON literal (string, number, true, false, null) at q->p; a new
 * reference in *out. */
static int jq_literal(struct jq *q, json_t **out)
{
    const char *s = q->p;
    size_t n = 0;
    if (*s == '"') {
        for (n = 1; s[n] && s[n] != '"'; n++) {
            if (s[n] == '\\') {
                if (s[n + 1] == '(')
                    return jq_fail(q, "string interpolation");
                if (s[n + 1])
                    n++;
            }
        }
        if (s[n] != '"')
            return jq_fail(q, "unterminated string");
        n++;
    } else {
        while (s[n] && (jq_ident_char(s[n]) || s[n] == '-' || s[n] == '+' || s[n] == '.'))
            n++;
    }
    if (n == 0 || !(*out = json_loadb(s, n, JSON_DECODE_ANY, NULL)) || json_is_array(*out) ||
        json_is_object(*out)) {
        if (n)
            json_decref(*out);
        *out = NULL;
        return jq_fail(q, "expected a string, number, true, false or null");
    }
    q->p += n;
    return 0;
}

static int jq_string(struct jq *q, char **out)
{
    json_t *v = NULL;
    int rc;
    if (*q->p != '"')
        return jq_fail(q, "expected a quoted key");
    if ((rc = jq_literal(q, &v)) < 0)
        return rc;
    *out = xstrdup(json_string_value(v));
    json_decref(v);
    return 0;
}

/* [ ] after a term: [], [N], ["key"]. */
static int jq_bracket(struct jq *q, struct ignore_path *out)
{
    q->p++;
    jq_space(q);
    if (*q->p == ']') {
        ignore_path_add(out, STEP_ITER);
    } else if (*q->p == '"') {
        char *key;
        int rc = jq_string(q, &key);
        if (rc < 0)
            return rc;
        ignore_path_add(out, STEP_KEY)->key = key;
    } else if (*q->p == '-' || (*q->p >= '0' && *q->p <= '9')) {
        char *end;
        long v = strtol(q->p, &end, 10);
        if (end == q->p + (*q->p == '-') || v < -1000000 || v > 1000000)
            return jq_fail(q, "expected an index");
        q->p = end;
        ignore_path_add(out, STEP_INDEX)->index = v;
    } else {
        return jq_fail(q, "expected ], an index or a quoted key");
    }
    return jq_expect(q, ']', "expected ] (slices and other expressions are not supported)");
}

/* One path term: . then fields, keys, indices, [] and ?. */
static int jq_term(struct jq *q, struct ignore_path *out)
{
    int rc, first = 1;
    if (*q->p != '.')
        return jq_fail(q, "expected a path starting with .");
    for (;;) {
        if (*q->p == '.' &&
            (first || jq_ident_start(q->p[1]) || q->p[1] == '"' || q->p[1] == '[')) {
            q->p++;
            if (*q->p == '.')
                return jq_fail(q, "recursive descent (..)");
            if (jq_ident_start(*q->p)) {
                const char *s = q->p;
                while (jq_ident_char(*q->p))
                    q->p++;
                if (*q->p == '-' && jq_ident_char(q->p[1]))
                    return jq_fail(q, "a key with - needs quotes (.\"a-b\"); jq reads a minus");
                ignore_path_add(out, STEP_KEY)->key = xstrndup(s, (size_t)(q->p - s));
            } else if (*q->p == '"') {
                char *key;
                if ((rc = jq_string(q, &key)) < 0)
                    return rc;
                ignore_path_add(out, STEP_KEY)->key = key;
            }
        } else if (*q->p == '[') {
            if ((rc = jq_bracket(q, out)) < 0)
                return rc;
        } else if (*q->p == '?') {
            q->p++; /* errors are already quiet: a missing path is no path */
        } else if (*q->p == '.') {
            return jq_fail(q, "expected a field name after .");
        } else {
            return 0;
        }
        if (out->n > IGNORE_MAX_STEPS)
            return jq_fail(q, "too many steps");
        first = 0;
        jq_space(q);
    }
}

static int jq_word(struct jq *q, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(q->p, w, n) != 0 || jq_ident_char(q->p[n]))
        return 0;
    q->p += n;
    jq_space(q);
    return 1;
}

/* select(PATH == LIT), select(PATH != LIT),
 * select(PATH | startswith("s")), select(PATH | endswith("s")). */
static int jq_select(struct jq *q, struct ignore_path *out)
{
    struct ignore_step *s = ignore_path_add(out, STEP_SELECT);
    int rc;
    if ((rc = jq_expect(q, '(', "expected (")) < 0)
        return rc;
    s->left = xcalloc(1, sizeof *s->left);
    if ((rc = jq_term(q, s->left)) < 0)
        return rc;
    for (size_t i = 0; i < s->left->n; i++)
        if (s->left->step[i].kind != STEP_KEY && s->left->step[i].kind != STEP_INDEX)
            return jq_fail(q, "select() compares a plain path (fields and indices)");
    if (strncmp(q->p, "==", 2) == 0 || strncmp(q->p, "!=", 2) == 0) {
        s->op = q->p[0] == '=' ? OP_EQ : OP_NE;
        q->p += 2;
        jq_space(q);
        if ((rc = jq_literal(q, &s->value)) < 0)
            return rc;
    } else if (*q->p == '|') {
        q->p++;
        jq_space(q);
        if (jq_word(q, "startswith"))
            s->op = OP_STARTSWITH;
        else if (jq_word(q, "endswith"))
            s->op = OP_ENDSWITH;
        else
            return jq_fail(q, "expected startswith or endswith");
        if ((rc = jq_expect(q, '(', "expected (")) < 0)
            return rc;
        if (*q->p != '"')
            return jq_fail(q, "expected a string");
        if ((rc = jq_literal(q, &s->value)) < 0 || (rc = jq_expect(q, ')', "expected )")) < 0)
            return rc;
    } else {
        return jq_fail(q, "expected ==, != or | startswith/endswith");
    }
    if ((rc = jq_expect(q, ')', "expected ) (and, or and other conditions are not supported)")) < 0)
        return rc;
    while (*q->p == '?') {
        q->p++;
        jq_space(q);
    }
    return 0;
}

static int ignore_compile_jq(struct ignore_path *out, const char *text, const char *where)
{
    struct jq q = {text, text, where};
    int rc, descends = 0;

    jq_space(&q);
    for (;;) {
        if (jq_word(&q, "select"))
            rc = jq_select(&q, out);
        else
            rc = jq_term(&q, out);
        if (rc < 0)
            return rc;
        if (*q.p != '|')
            break;
        q.p++;
        jq_space(&q);
    }
    if (*q.p)
        return jq_fail(&q, "unexpected");
    for (size_t i = 0; i < out->n; i++)
        descends |= out->step[i].kind != STEP_SELECT;
    if (!descends)
        return err_set(ERR_INVALID, "%s: jq expression \"%s\" names the whole object", where, text);
    return 0;
}

/* ---- reading rules ------------------------------------------------------- */

/* A list of strings at o[key] (absent or null: none), each handed to fn. */
static int ignore_strings(const json_t *o, const char *key, const char *where,
                          int (*fn)(struct ignore_rule *, const char *, const char *),
                          struct ignore_rule *r)
{
    const json_t *list = json_object_get(o, key), *v;
    size_t i;
    int rc;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return err_set(ERR_INVALID, "%s.%s: must be a list of strings", where, key);
    json_array_foreach(list, i, v)
    {
        char *at = xasprintf("%s.%s[%zu]", where, key, i);
        if (!json_is_string(v))
            rc = err_set(ERR_INVALID, "%s: must be a string", at);
        else if (strlen(json_string_value(v)) > IGNORE_MAX_EXPR)
            rc = err_set(ERR_TOOLARGE, "%s: longer than %d bytes", at, IGNORE_MAX_EXPR);
        else
            rc = fn(r, json_string_value(v), at);
        free(at);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static struct ignore_path *ignore_rule_new_path(struct ignore_rule *r)
{
    r->path = xrealloc(r->path, (r->npaths + 1) * sizeof *r->path);
    memset(&r->path[r->npaths], 0, sizeof *r->path);
    return &r->path[r->npaths++];
}

static int ignore_add_pointer(struct ignore_rule *r, const char *text, const char *where)
{
    return ignore_compile_pointer(ignore_rule_new_path(r), text, where);
}

static int ignore_add_jq(struct ignore_rule *r, const char *text, const char *where)
{
    return ignore_compile_jq(ignore_rule_new_path(r), text, where);
}

static int ignore_add_manager(struct ignore_rule *r, const char *text, const char *where)
{
    (void)where;
    r->manager = xrealloc(r->manager, (r->nmanagers + 1) * sizeof *r->manager);
    r->manager[r->nmanagers++] = xstrdup(text);
    return 0;
}

/* An optional string field; NULL when absent, null or "". */
static int ignore_opt_str(const json_t *o, const char *key, const char *where, char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(ERR_INVALID, "%s.%s: must be a string", where, key);
    if (json_string_value(v)[0])
        *out = xstrdup(json_string_value(v));
    return 0;
}

static int ignore_globs(struct ignore_rule *r, const char *where)
{
    if (glob_check(r->group) < 0)
        return err_prefix(ERR_INVALID, "%s.group", where);
    if (glob_check(r->kind) < 0)
        return err_prefix(ERR_INVALID, "%s.kind", where);
    return 0;
}

/* The fields of one rule in o; selector says whether group, kind, name and
 * namespace may appear (an Application's rules) or come from elsewhere (a
 * setting's key). */
static int ignore_rule_read(struct ignore_rule *r, const json_t *o, const char *where, int selector)
{
    static const char *const fields[] = {"jsonPointers",
                                         "jqPathExpressions",
                                         "managedFieldsManagers",
                                         "group",
                                         "kind",
                                         "name",
                                         "namespace",
                                         NULL};
    const char *key;
    const json_t *v;
    int rc;

    if (!json_is_object(o))
        return err_set(ERR_INVALID, "%s: must be a mapping", where);
    json_object_foreach((json_t *)o, key, v)
    {
        size_t i, last = selector ? 7 : 3;
        for (i = 0; i < last && strcmp(fields[i], key) != 0; i++)
            ;
        if (i == last)
            return err_set(ERR_INVALID, "%s: unknown field %s", where, key);
    }
    if (selector) {
        if ((rc = ignore_opt_str(o, "group", where, &r->group)) < 0 ||
            (rc = ignore_opt_str(o, "kind", where, &r->kind)) < 0 ||
            (rc = ignore_opt_str(o, "name", where, &r->name)) < 0 ||
            (rc = ignore_opt_str(o, "namespace", where, &r->ns)) < 0)
            return rc;
        if (!r->kind)
            return err_set(ERR_INVALID, "%s.kind: missing", where);
        if (!r->group)
            r->group = xstrdup("");
        if ((rc = ignore_globs(r, where)) < 0)
            return rc;
    }
    if ((rc = ignore_strings(o, "jsonPointers", where, ignore_add_pointer, r)) < 0 ||
        (rc = ignore_strings(o, "jqPathExpressions", where, ignore_add_jq, r)) < 0 ||
        (rc = ignore_strings(o, "managedFieldsManagers", where, ignore_add_manager, r)) < 0)
        return rc;
    return 0;
}

static void ignore_push(doc_ignore *ig, struct ignore_rule *r)
{
    if (ig->n == ig->cap) {
        ig->cap = ig->cap ? 2 * ig->cap : 8;
        ig->rule = xrealloc(ig->rule, ig->cap * sizeof *ig->rule);
    }
    ig->rule[ig->n++] = *r;
    memset(r, 0, sizeof *r);
}

int doc_ignore_new(doc_ignore **out)
{
    *out = xcalloc(1, sizeof **out);
    return 0;
}

void doc_ignore_free(doc_ignore *ig)
{
    if (!ig)
        return;
    for (size_t i = 0; i < ig->n; i++)
        ignore_rule_dispose(&ig->rule[i]);
    free(ig->rule);
    free(ig);
}

size_t doc_ignore_count(const doc_ignore *ig)
{
    return ig ? ig->n : 0;
}

int doc_ignore_add_app(doc_ignore *ig, const json_t *rules, const char *where)
{
    const json_t *o;
    size_t i, before = ig->n;
    int rc = 0;

    if (!rules || json_is_null(rules))
        return 0;
    if (!json_is_array(rules))
        return err_set(ERR_INVALID, "%s: must be a list", where);
    json_array_foreach(rules, i, o)
    {
        struct ignore_rule r = {0};
        char *at = xasprintf("%s[%zu]", where, i);
        rc = ignore_rule_read(&r, o, at, 1);
        free(at);
        if (rc < 0) {
            ignore_rule_dispose(&r);
            break;
        }
        ignore_push(ig, &r);
    }
    if (rc < 0)
        while (ig->n > before)
            ignore_rule_dispose(&ig->rule[--ig->n]);
    return rc;
}

/* The body of a setting: YAML text (as argocd-cm holds it) or a mapping
 * already parsed; *out borrowed from value or new in *owned. NULL for an
 * empty body. */
static int ignore_setting_body(const json_t *value, const char *where, const json_t **out,
                               json_t **owned)
{
    json_t *docs = NULL;
    int rc;
    *out = NULL;
    *owned = NULL;
    if (!value || json_is_null(value))
        return 0;
    if (json_is_object(value)) {
        *out = value;
        return 0;
    }
    if (!json_is_string(value))
        return err_set(ERR_INVALID, "%s: must be YAML text or a mapping", where);
    if ((rc = doc_parse_yaml(&docs, json_string_value(value), json_string_length(value), where,
                             NULL)) < 0)
        return rc;
    if (json_array_size(docs) > 0) {
        *owned = json_incref(json_array_get(docs, 0));
        *out = *owned;
    }
    json_decref(docs);
    return 0;
}

/* One override body for group/kind from a setting. */
static int ignore_add_override(doc_ignore *ig, const char *group, const char *kind,
                               const json_t *value, const char *where)
{
    struct ignore_rule r = {0};
    const json_t *body;
    json_t *owned;
    int rc;

    r.group = xstrdup(group);
    r.kind = xstrdup(kind);
    if ((rc = ignore_setting_body(value, where, &body, &owned)) == 0 &&
        (rc = ignore_globs(&r, where)) == 0 && body)
        rc = ignore_rule_read(&r, body, where, 0);
    if (rc == 0 && (r.npaths || r.nmanagers))
        ignore_push(ig, &r);
    ignore_rule_dispose(&r);
    json_decref(owned);
    return rc;
}

/* Split an override key at sep ('_' in split keys, '/' in the
 * resource.customizations map): "group<sep>kind" or "kind" (core group). */
static int ignore_split_gk(const char *gk, char sep, const char *where, char **group, char **kind)
{
    const char *s = strchr(gk, sep);
    *group = *kind = NULL;
    if (!gk[0] || (s && strchr(s + 1, sep)))
        return err_set(ERR_INVALID, "%s: expected <group>%c<kind> or <kind>", where, sep);
    *group = s ? xstrndup(gk, (size_t)(s - gk)) : xstrdup("");
    *kind = xstrdup(s ? s + 1 : gk);
    return 0;
}

int doc_ignore_add_setting(doc_ignore *ig, const char *key, const json_t *value)
{
    static const char split[] = "resource.customizations.ignoreDifferences.";
    size_t before = ig->n;
    int rc = 0;

    if (strncmp(key, split, sizeof split - 1) == 0) {
        const char *gk = key + sizeof split - 1;
        char *group = NULL, *kind = NULL;
        if (strcmp(gk, "all") == 0)
            rc = ignore_add_override(ig, "*", "*", value, key);
        else if ((rc = ignore_split_gk(gk, '_', key, &group, &kind)) == 0)
            rc = ignore_add_override(ig, group, kind, value, key);
        free(group);
        free(kind);
    } else if (strcmp(key, "resource.customizations") == 0) {
        const json_t *map, *entry;
        json_t *owned;
        const char *gk;
        if ((rc = ignore_setting_body(value, key, &map, &owned)) < 0)
            return rc;
        if (map)
            json_object_foreach((json_t *)map, gk, entry)
            {
                char *group = NULL, *kind = NULL, *at = xasprintf("%s: %s", key, gk);
                const json_t *body =
                    json_is_object(entry) ? json_object_get(entry, "ignoreDifferences") : NULL;
                if (!json_is_object(entry) && !json_is_null(entry))
                    rc = err_set(ERR_INVALID, "%s: must be a mapping", at);
                else if (body && (rc = ignore_split_gk(gk, '/', at, &group, &kind)) == 0)
                    rc = ignore_add_override(ig, group, kind, body, at);
                free(group);
                free(kind);
                free(at);
                if (rc < 0)
                    break;
            }
        json_decref(owned);
    } else {
        return err_set(ERR_NOTFOUND, "%s: not an ignoreDifferences setting", key);
    }
    if (rc < 0)
        while (ig->n > before)
            ignore_rule_dispose(&ig->rule[--ig->n]);
    return rc;
}

/* ---- resolving rules against an object --------------------------------- */

/* Walking state: the path so far (a JSON array of key strings and index
 * integers) and the paths found. */
struct ignore_walk {
    json_t *cur, *found;
};

static void walk_found(struct ignore_walk *w)
{
    json_array_append_new(w->found, json_copy(w->cur));
}

static void walk_push(struct ignore_walk *w, json_t *token)
{
    json_array_append_new(w->cur, token);
}

static void walk_pop(struct ignore_walk *w)
{
    json_array_remove(w->cur, json_array_size(w->cur) - 1);
}

/* What select() compares: the value at left, NULL for null or missing;
 * *err when jq would stop with an error (a field of a non-object). */
static const json_t *ignore_left(const struct ignore_path *left, const json_t *v, int *err)
{
    *err = 0;
    for (size_t i = 0; i < left->n && v; i++) {
        const struct ignore_step *s = &left->step[i];
        if (json_is_null(v)) {
            v = NULL;
        } else if (s->kind == STEP_KEY) {
            if (!json_is_object(v))
                return *err = 1, NULL;
            v = json_object_get(v, s->key);
        } else {
            long n = (long)json_array_size(v), k = s->index < 0 ? n + s->index : s->index;
            if (!json_is_array(v))
                return *err = 1, NULL;
            v = k >= 0 && k < n ? json_array_get(v, (size_t)k) : NULL;
        }
    }
    return v && !json_is_null(v) ? v : NULL;
}

static int ignore_holds(const struct ignore_step *s, const json_t *v)
{
    int err;
    const json_t *x = ignore_left(s->left, v, &err);
    const char *have, *want;
    size_t hn, wn;

    if (err)
        return 0;
    switch (s->op) {
    case OP_EQ:
    case OP_NE: {
        int eq = x ? doc_equal(x, s->value) : json_is_null(s->value);
        return s->op == OP_EQ ? eq : !eq;
    }
    default:
        if (!json_is_string(x))
            return 0;
        have = json_string_value(x), hn = json_string_length(x);
        want = json_string_value(s->value), wn = json_string_length(s->value);
        if (wn > hn)
            return 0;
        return memcmp(s->op == OP_STARTSWITH ? have : have + hn - wn, want, wn) == 0;
    }
}

static void ignore_eval(const struct ignore_path *p, size_t i, const json_t *v,
                        struct ignore_walk *w);

/* Step i of p goes into key of v when v has it. */
static void ignore_eval_key(const struct ignore_path *p, size_t i, const json_t *v, const char *key,
                            struct ignore_walk *w)
{
    json_t *child = json_is_object(v) ? json_object_get(v, key) : NULL;
    if (child) {
        walk_push(w, json_string(key));
        ignore_eval(p, i + 1, child, w);
        walk_pop(w);
    }
}

static void ignore_eval(const struct ignore_path *p, size_t i, const json_t *v,
                        struct ignore_walk *w)
{
    const struct ignore_step *s;
    const char *key;
    json_t *child;
    size_t k;

    if (i == p->n) {
        walk_found(w);
        return;
    }
    s = &p->step[i];
    switch (s->kind) {
    case STEP_TOKEN:
        if (json_is_array(v)) {
            long idx = doc_pointer_index(s->key);
            if (idx >= 0 && (size_t)idx < json_array_size(v)) {
                walk_push(w, json_integer(idx));
                ignore_eval(p, i + 1, json_array_get(v, (size_t)idx), w);
                walk_pop(w);
            }
        } else {
            ignore_eval_key(p, i, v, s->key, w);
        }
        return;
    case STEP_KEY:
        ignore_eval_key(p, i, v, s->key, w);
        return;
    case STEP_INDEX:
        if (json_is_array(v)) {
            long n = (long)json_array_size(v), idx = s->index < 0 ? n + s->index : s->index;
            if (idx >= 0 && idx < n) {
                walk_push(w, json_integer(idx));
                ignore_eval(p, i + 1, json_array_get(v, (size_t)idx), w);
                walk_pop(w);
            }
        }
        return;
    case STEP_ITER:
        if (json_is_array(v)) {
            json_array_foreach(v, k, child)
            {
                walk_push(w, json_integer((json_int_t)k));
                ignore_eval(p, i + 1, child, w);
                walk_pop(w);
            }
        } else if (json_is_object(v)) {
            json_object_foreach((json_t *)v, key, child)
            {
                walk_push(w, json_string(key));
                ignore_eval(p, i + 1, child, w);
                walk_pop(w);
            }
        }
        return;
    case STEP_SELECT:
        if (ignore_holds(s, v))
            ignore_eval(p, i + 1, v, w);
        return;
    }
}

/* ---- managedFields ------------------------------------------------------- */

struct ignore_managers {
    const char **name; /* trusted managers of the matching rules */
    size_t n;
    const json_t *entries; /* the live object's metadata.managedFields */
};

static int ignore_trusted(const struct ignore_managers *m, const char *manager)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->name[i], manager) == 0)
            return 1;
    return 0;
}

static const json_t *ignore_fields_v1(const json_t *entry)
{
    const json_t *f = json_object_get(entry, "fieldsV1");
    return json_is_object(f) ? f : NULL;
}

/* 1 if a manager not trusted also owns something at the fieldsV1 keys
 * chain: then a list item the trusted one created is shared, and only the
 * trusted one's own fields in it are ignored. */
static int ignore_shared(const struct ignore_managers *m, const json_t *chain)
{
    const json_t *entry, *k;
    size_t i, j;
    json_array_foreach(m->entries, i, entry)
    {
        const char *mgr = json_string_value(json_object_get(entry, "manager"));
        const json_t *set = ignore_fields_v1(entry);
        if (!set || (mgr && ignore_trusted(m, mgr)))
            continue;
        json_array_foreach(chain, j, k)
        {
            set = json_object_get(set, json_string_value(k));
            if (!json_is_object(set))
                break;
        }
        if (json_is_object(set))
            return 1;
    }
    return 0;
}

/* 1 if list item v is the one fieldsV1 key pe (k:, v: or i:, parsed in
 * *parsed once) names at index idx. */
static int ignore_item_is(const char *pe, json_t *parsed, size_t idx, const json_t *v)
{
    const char *k;
    json_t *want;
    if (pe[0] == 'i')
        return doc_pointer_index(pe + 2) == (long)idx;
    if (!parsed)
        return 0;
    if (pe[0] == 'v')
        return doc_equal(v, parsed);
    /* A key set names an item by some of its fields: never by none. */
    if (!json_is_object(v) || !json_is_object(parsed) || json_object_size(parsed) == 0)
        return 0;
    json_object_foreach(parsed, k, want)
    {
        const json_t *have = json_object_get(v, k);
        if (!have || !doc_equal(have, want))
            return 0;
    }
    return 1;
}

/* The fields of set (one manager's fieldsV1, at the level of v) found in
 * v. A leaf ({}) is a field owned whole; "." in a list item marks an item
 * the manager created, ignored whole unless shared; "." in a map or list
 * field only says the manager created the container, whose other keys
 * still compare. */
static void ignore_owned(const struct ignore_managers *m, const json_t *set, const json_t *v,
                         json_t *chain, struct ignore_walk *w)
{
    const char *pe;
    const json_t *sub;

    json_object_foreach((json_t *)set, pe, sub)
    {
        int leaf = json_is_object(sub) && json_object_size(sub) == 0;
        if (!json_is_object(sub) || strlen(pe) < 2 || pe[1] != ':')
            continue;
        json_array_append_new(chain, json_string(pe));
        if (pe[0] == 'f' && json_is_object(v) && json_object_get(v, pe + 2)) {
            walk_push(w, json_string(pe + 2));
            if (leaf)
                walk_found(w);
            else
                ignore_owned(m, sub, json_object_get(v, pe + 2), chain, w);
            walk_pop(w);
        } else if ((pe[0] == 'k' || pe[0] == 'v' || pe[0] == 'i') && json_is_array(v)) {
            json_t *parsed = pe[0] == 'i' ? NULL : json_loads(pe + 2, JSON_DECODE_ANY, NULL);
            const json_t *item;
            size_t idx;
            json_array_foreach(v, idx, item)
            {
                if (!ignore_item_is(pe, parsed, idx, item))
                    continue;
                walk_push(w, json_integer((json_int_t)idx));
                if (leaf || (json_object_get(sub, ".") && !ignore_shared(m, chain)))
                    walk_found(w);
                else
                    ignore_owned(m, sub, item, chain, w);
                walk_pop(w);
            }
            json_decref(parsed);
        }
        json_array_remove(chain, json_array_size(chain) - 1);
    }
}

/* ---- collecting, applying ---------------------------------------------- */

/* What rules select an object by. */
struct ignore_id {
    char *group; /* of apiVersion: "apps/v1" -> "apps", "v1" -> "" */
    const char *kind, *name, *ns;
};

static void ignore_id_init(struct ignore_id *id, const json_t *obj)
{
    const char *av = doc_get_str(obj, "apiVersion"), *slash = av ? strchr(av, '/') : NULL;
    id->group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
    id->kind = doc_get_str(obj, "kind");
    id->name = doc_get_str(obj, "metadata.name");
    id->ns = doc_get_str(obj, "metadata.namespace");
}

static int ignore_selects(const struct ignore_rule *r, const struct ignore_id *id)
{
    return glob_match(r->group, id->group, 0) && glob_match(r->kind, id->kind ? id->kind : "", 0) &&
           (!r->name || (id->name && strcmp(r->name, id->name) == 0)) &&
           (!r->ns || (id->ns && strcmp(r->ns, id->ns) == 0));
}

/* Order of paths: token by token, indices by value, before keys; a path
 * before the longer ones it starts. Sorted this way, the paths under one
 * path follow it at once, and within one list higher indices come later. */
static int ignore_path_cmp(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    size_t na = json_array_size(a), nb = json_array_size(b);
    for (size_t i = 0; i < na && i < nb; i++) {
        const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        int c;
        if (json_is_integer(x) && json_is_integer(y))
            c = json_integer_value(x) < json_integer_value(y)
                    ? -1
                    : json_integer_value(x) > json_integer_value(y);
        else if (json_is_integer(x) != json_is_integer(y))
            c = json_is_integer(x) ? -1 : 1;
        else
            c = strcmp(json_string_value(x), json_string_value(y));
        if (c)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

static int ignore_path_starts(const json_t *path, const json_t *prefix)
{
    size_t n = json_array_size(prefix);
    if (json_array_size(path) < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!json_equal(json_array_get(path, i), json_array_get(prefix, i)))
            return 0;
    return 1;
}

/* The ignored paths of obj, sorted, none under another; a new array. *any
 * says whether some rule selects obj. */
static json_t *ignore_collect(const doc_ignore *ig, const json_t *obj, const json_t *live, int *any)
{
    struct ignore_walk w = {json_array(), json_array()};
    struct ignore_managers m = {NULL, 0, NULL};
    json_t *sorted = json_array(), **v;
    struct ignore_id id;
    size_t n, i;

    *any = 0;
    ignore_id_init(&id, obj);
    for (i = 0; ig && json_is_object(obj) && i < ig->n; i++) {
        const struct ignore_rule *r = &ig->rule[i];
        if (!ignore_selects(r, &id))
            continue;
        *any = 1;
        for (size_t p = 0; p < r->npaths; p++)
            ignore_eval(&r->path[p], 0, obj, &w);
        for (size_t k = 0; k < r->nmanagers; k++) {
            m.name = xrealloc(m.name, (m.n + 1) * sizeof *m.name);
            m.name[m.n++] = r->manager[k];
        }
    }
    m.entries = live ? doc_get(live, "metadata.managedFields") : NULL;
    if (m.n && json_is_array(m.entries)) {
        const json_t *entry;
        json_t *chain = json_array();
        json_array_foreach(m.entries, i, entry)
        {
            const char *mgr = json_string_value(json_object_get(entry, "manager"));
            if (mgr && ignore_trusted(&m, mgr) && ignore_fields_v1(entry))
                ignore_owned(&m, ignore_fields_v1(entry), obj, chain, &w);
        }
        json_decref(chain);
    }
    free(m.name);
    free(id.group);

    n = json_array_size(w.found);
    v = xmalloc((n + 1) * sizeof *v);
    for (i = 0; i < n; i++)
        v[i] = json_array_get(w.found, i);
    qsort(v, n, sizeof *v, ignore_path_cmp);
    for (i = 0; i < n; i++) {
        json_t *last = json_array_get(sorted, json_array_size(sorted) - 1);
        if (!last || !ignore_path_starts(v[i], last))
            json_array_append(sorted, v[i]);
    }
    free(v);
    json_decref(w.found);
    json_decref(w.cur);
    return sorted;
}

static void ignore_remove(json_t *doc, const json_t *path)
{
    size_t n = json_array_size(path);
    for (size_t i = 0; doc && i + 1 < n; i++) {
        const json_t *t = json_array_get(path, i);
        doc = json_is_integer(t) ? json_array_get(doc, (size_t)json_integer_value(t))
                                 : json_object_get(doc, json_string_value(json_array_get(path, i)));
    }
    if (!doc || n == 0)
        return;
    if (json_is_integer(json_array_get(path, n - 1)))
        json_array_remove(doc, (size_t)json_integer_value(json_array_get(path, n - 1)));
    else
        json_object_del(doc, json_string_value(json_array_get(path, n - 1)));
}

/* As Argo CD does after ignoring: maps left empty go, and so do lists left
 * empty and map items of lists left empty. */
static void ignore_prune(json_t *obj)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, v)
    {
        if (json_is_object(v)) {
            ignore_prune(v);
            if (json_object_size(v) == 0)
                json_object_del(obj, key);
        } else if (json_is_array(v)) {
            for (size_t i = json_array_size(v); i-- > 0;) {
                json_t *item = json_array_get(v, i);
                if (!json_is_object(item))
                    continue;
                ignore_prune(item);
                if (json_object_size(item) == 0)
                    json_array_remove(v, i);
            }
            if (json_array_size(v) == 0)
                json_object_del(obj, key);
        }
    }
}

json_t *doc_ignore_apply(const doc_ignore *ig, const json_t *obj, const json_t *live)
{
    json_t *copy = json_deep_copy(obj), *paths;
    int any;
    if (!json_is_object(copy))
        return copy;
    paths = ignore_collect(ig, obj, live, &any);
    for (size_t i = json_array_size(paths); i-- > 0;)
        ignore_remove(copy, json_array_get(paths, i));
    if (any)
        ignore_prune(copy);
    json_decref(paths);
    return copy;
}

json_t *doc_ignore_paths(const doc_ignore *ig, const json_t *obj, const json_t *live)
{
    json_t *paths, *out = json_array(), *path, *t;
    struct buf b = BUF_INIT;
    size_t i, j;
    int any;

    paths = ignore_collect(ig, obj, live, &any);
    json_array_foreach(paths, i, path)
    {
        buf_clear(&b);
        json_array_foreach(path, j, t)
        {
            buf_putc(&b, '/');
            if (json_is_integer(t)) {
                buf_printf(&b, "%lld", (long long)json_integer_value(t));
                continue;
            }
            for (const char *c = json_string_value(t); *c; c++) {
                if (*c == '~')
                    buf_puts(&b, "~0");
                else if (*c == '/')
                    buf_puts(&b, "~1");
                else
                    buf_putc(&b, *c);
            }
        }
        json_array_append_new(out, json_stringn(buf_cstr(&b), b.len));
    }
    buf_dispose(&b);
    json_decref(paths);
    return out;
}

int doc_ignore_is_ignored(const doc_ignore *ig, const json_t *obj, const json_t *live,
                          const char *pointer)
{
    json_t *paths = doc_ignore_paths(ig, obj, live), *p;
    size_t i;
    int hit = 0;
    json_array_foreach(paths, i, p)
    {
        size_t n = json_string_length(p);
        if (strncmp(pointer, json_string_value(p), n) == 0 &&
            (pointer[n] == '\0' || pointer[n] == '/')) {
            hit = 1;
            break;
        }
    }
    json_decref(paths);
    return hit;
}
