/*
 * Velero's include/exclude rules (see filter.h). Label selectors are kept
 * in the spec as LabelSelector objects, as Velero stores them, and turned
 * back into the query string the API server filters by, so selection
 * happens on the server and only matching objects cross the network.
 */
#include "backup/filter.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define FILTER_DEFAULT_TTL "720h0m0s"

/* ---- label selectors ---- */

static int filter_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '/';
}

static int filter_value_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

static const char *filter_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A key or value token into a new string; *p moves past it. */
static char *filter_token(const char **p, int (*ok)(char))
{
    const char *s = *p;
    while (**p && ok(**p))
        (*p)++;
    return xstrndup(s, (size_t)(*p - s));
}

static void filter_add_expr(json_t *sel, const char *key, const char *op, json_t *values)
{
    json_t *exprs = json_object_get(sel, "matchExpressions");
    json_t *e = json_pack("{s:s, s:s}", "key", key, "operator", op);
    if (!exprs) {
        exprs = json_array();
        json_object_set_new(sel, "matchExpressions", exprs);
    }
    if (values)
        json_object_set_new(e, "values", values);
    json_array_append_new(exprs, e);
}

int filter_selector_parse(const char *text, json_t **out)
{
    json_t *sel = json_object();
    const char *p = text;
    char *key = NULL, *val = NULL;
    int rc = 0;

    *out = NULL;
    p = filter_skip_ws(p);
    if (!*p) {
        rc = err_set(ERR_INVALID, "selector \"%s\": empty", text);
        goto out;
    }
    while (*p) {
        int negate = 0;
        p = filter_skip_ws(p);
        if (*p == '!') {
            negate = 1;
            p = filter_skip_ws(p + 1);
        }
        key = filter_token(&p, filter_key_char);
        if (!key[0])
            goto bad;
        p = filter_skip_ws(p);
        if (negate) {
            filter_add_expr(sel, key, "DoesNotExist", NULL);
        } else if (*p == ',' || !*p) {
            filter_add_expr(sel, key, "Exists", NULL);
        } else if (*p == '=' || (p[0] == '!' && p[1] == '=')) {
            int ne = *p == '!';
            p += ne ? 2 : (p[1] == '=' ? 2 : 1);
            p = filter_skip_ws(p);
            val = filter_token(&p, filter_value_char);
            if (ne) {
                filter_add_expr(sel, key, "NotIn", json_pack("[s]", val));
            } else {
                json_t *ml = json_object_get(sel, "matchLabels");
                const char *have = json_string_value(json_object_get(ml, key));
                if (!ml) {
                    ml = json_object();
                    json_object_set_new(sel, "matchLabels", ml);
                }
                if (have && strcmp(have, val) != 0)
                    filter_add_expr(sel, key, "In", json_pack("[s]", val));
                else
                    json_object_set_new(ml, key, json_string(val));
            }
            free(val);
            val = NULL;
        } else if (!strncmp(p, "in", 2) || !strncmp(p, "notin", 5)) {
            int in = p[0] == 'i';
            json_t *values = json_array();
            p = filter_skip_ws(p + (in ? 2 : 5));
            if (*p != '(') {
                json_decref(values);
                goto bad;
            }
            p++;
            for (;;) {
                p = filter_skip_ws(p);
                val = filter_token(&p, filter_value_char);
                json_array_append_new(values, json_string(val));
                free(val);
                val = NULL;
                p = filter_skip_ws(p);
                if (*p == ',') {
                    p++;
                    continue;
                }
                break;
            }
            if (*p != ')') {
                json_decref(values);
                goto bad;
            }
            p++;
            filter_add_expr(sel, key, in ? "In" : "NotIn", values);
        } else {
            goto bad;
        }
        free(key);
        key = NULL;
        p = filter_skip_ws(p);
        if (*p == ',') {
            p++;
            if (!*filter_skip_ws(p))
                goto bad;
        } else if (*p) {
            goto bad;
        }
    }
    *out = sel;
    sel = NULL;
    goto out;
bad:
    rc = err_set(ERR_INVALID, "selector \"%s\": cannot parse near \"%s\"", text, p);
out:
    free(key);
    free(val);
    json_decref(sel);
    return rc;
}

int filter_selector_string(const json_t *selector, char **out)
{
    struct buf b = BUF_INIT;
    const char *key;
    json_t *v, *e;
    size_t i;

    *out = NULL;
    if (!json_is_object(selector))
        return err_set(ERR_INVALID, "labelSelector: not an object");
    json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), key, v)
    {
        if (!json_is_string(v)) {
            buf_dispose(&b);
            return err_set(ERR_INVALID, "labelSelector.matchLabels.%s: not a string", key);
        }
        buf_printf(&b, "%s%s=%s", b.len ? "," : "", key, json_string_value(v));
    }
    json_array_foreach(json_object_get(selector, "matchExpressions"), i, e)
    {
        const char *k = doc_get_str(e, "key"), *op = doc_get_str(e, "operator");
        json_t *vals = json_object_get(e, "values"), *x;
        size_t j;
        int set = op && (!strcmp(op, "In") || !strcmp(op, "NotIn"));
        if (!k || !op || (!set && strcmp(op, "Exists") != 0 && strcmp(op, "DoesNotExist") != 0) ||
            (set && json_array_size(vals) == 0)) {
            buf_dispose(&b);
            return err_set(ERR_INVALID,
                           "labelSelector.matchExpressions[%zu]: needs a key and an operator In "
                           "or NotIn (with values), Exists or DoesNotExist",
                           i);
        }
        if (b.len)
            buf_putc(&b, ',');
        if (!strcmp(op, "Exists")) {
            buf_puts(&b, k);
        } else if (!strcmp(op, "DoesNotExist")) {
            buf_printf(&b, "!%s", k);
        } else {
            buf_printf(&b, "%s %s (", k, strcmp(op, "In") == 0 ? "in" : "notin");
            json_array_foreach(vals, j, x)
            {
                buf_printf(&b, "%s%s", j ? "," : "",
                           json_string_value(x) ? json_string_value(x) : "");
            }
            buf_putc(&b, ')');
        }
    }
    *out = b.ptr ? buf_detach(&b) : xstrdup("");
    return 0;
}

static int filter_in(const json_t *values, const char *v)
{
    const json_t *x;
    size_t i;
    json_array_foreach(values, i, x)
    {
        if (v && json_string_value(x) && strcmp(json_string_value(x), v) == 0)
            return 1;
    }
    return 0;
}

int filter_selector_match(const json_t *selector, const json_t *labels)
{
    const json_t *v, *e;
    const char *key;
    size_t i;
    json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), key, v)
    {
        const char *have = json_string_value(json_object_get(labels, key));
        if (!have || !json_string_value(v) || strcmp(have, json_string_value(v)) != 0)
            return 0;
    }
    json_array_foreach(json_object_get(selector, "matchExpressions"), i, e)
    {
        const char *k = json_string_value(json_object_get(e, "key"));
        const char *op = json_string_value(json_object_get(e, "operator"));
        const char *have = k ? json_string_value(json_object_get(labels, k)) : NULL;
        const json_t *values = json_object_get(e, "values");
        int ok;
        if (!op)
            return 0;
        if (!strcmp(op, "In"))
            ok = filter_in(values, have);
        else if (!strcmp(op, "NotIn"))
            ok = !filter_in(values, have);
        else if (!strcmp(op, "Exists"))
            ok = have != NULL;
        else if (!strcmp(op, "DoesNotExist"))
            ok = have == NULL;
        else
            ok = 0;
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- the spec ---- */

static int filter_string_list(json_t *spec, const char *field, int default_all, int globs)
{
    json_t *v = json_object_get(spec, field), *s;
    size_t i;
    int rc;
    if (!v || json_is_null(v)) {
        json_object_set_new(spec, field, default_all ? json_pack("[s]", "*") : json_array());
        return 0;
    }
    if (!json_is_array(v))
        return err_set(ERR_INVALID, "spec.%s: not a list", field);
    json_array_foreach(v, i, s)
    {
        const char *str = json_string_value(s);
        if (!str || !str[0])
            return err_set(ERR_INVALID, "spec.%s[%zu]: not a non-empty string", field, i);
        if (globs && (rc = glob_check(str)) < 0)
            return err_prefix(rc, "spec.%s[%zu]", field, i);
    }
    if (default_all && json_array_size(v) == 0)
        json_array_append_new(v, json_string("*"));
    return 0;
}

int filter_spec_check(json_t *spec)
{
    json_t *icr = json_object_get(spec, "includeClusterResources"), *ls, * or, *ttl, *s;
    double secs;
    size_t i;
    int rc;
    char *str;

    if (!json_is_object(spec))
        return err_set(ERR_INVALID, "spec: not an object");
    if ((rc = filter_string_list(spec, "includedNamespaces", 1, 1)) < 0 ||
        (rc = filter_string_list(spec, "excludedNamespaces", 0, 1)) < 0 ||
        (rc = filter_string_list(spec, "includedResources", 1, 0)) < 0 ||
        (rc = filter_string_list(spec, "excludedResources", 0, 0)) < 0)
        return rc;
    if (!icr)
        json_object_set_new(spec, "includeClusterResources", json_null());
    else if (!json_is_boolean(icr) && !json_is_null(icr))
        return err_set(ERR_INVALID, "spec.includeClusterResources: true, false or null");
    ls = json_object_get(spec, "labelSelector");
    or = json_object_get(spec, "orLabelSelectors");
    if (ls && !json_is_null(ls)) {
        if ((rc = filter_selector_string(ls, &str)) < 0)
            return err_prefix(rc, "spec");
        free(str);
    }
    if (or &&!json_is_null(or)) {
        if (!json_is_array(or))
            return err_set(ERR_INVALID, "spec.orLabelSelectors: not a list");
        if (ls && !json_is_null(ls) && json_array_size(or) > 0)
            return err_set(ERR_INVALID,
                           "spec: labelSelector and orLabelSelectors cannot be used together");
        json_array_foreach(or, i, s)
        {
            if ((rc = filter_selector_string(s, &str)) < 0)
                return err_prefix(rc, "spec.orLabelSelectors[%zu]", i);
            free(str);
        }
    }
    ttl = json_object_get(spec, "ttl");
    if (!ttl || json_is_null(ttl)) {
        json_object_set_new(spec, "ttl", json_string(FILTER_DEFAULT_TTL));
    } else if (!json_is_string(ttl) || str_go_duration(json_string_value(ttl), &secs) < 0) {
        return err_set(ERR_INVALID, "spec.ttl: not a duration such as \"720h\"");
    }
    return 0;
}

/* Velero's IncludesExcludes: an exclude wins; no includes or "*" takes
 * everything else. */
static int filter_match(const json_t *includes, const json_t *excludes, const char *s,
                        int (*eq)(const char *pattern, const char *s, void *ctx), void *ctx)
{
    json_t *v;
    size_t i;
    json_array_foreach(excludes, i, v)
    {
        const char *p = json_string_value(v);
        if (p && eq(p, s, ctx))
            return 0;
    }
    if (json_array_size(includes) == 0)
        return 1;
    json_array_foreach(includes, i, v)
    {
        const char *p = json_string_value(v);
        if (p && (strcmp(p, "*") == 0 || eq(p, s, ctx)))
            return 1;
    }
    return 0;
}

static int filter_glob_eq(const char *pattern, const char *s, void *ctx)
{
    (void)ctx;
    return glob_match(pattern, s, 0);
}

int filter_namespace(const json_t *spec, const char *ns)
{
    return filter_match(json_object_get(spec, "includedNamespaces"),
                        json_object_get(spec, "excludedNamespaces"), ns, filter_glob_eq, NULL);
}

int filter_all_namespaces(const json_t *spec)
{
    const json_t *inc = json_object_get(spec, "includedNamespaces"), *v;
    size_t i;
    if (json_array_size(json_object_get(spec, "excludedNamespaces")) > 0)
        return 0;
    if (json_array_size(inc) == 0)
        return 1;
    json_array_foreach(inc, i, v)
    {
        if (json_string_value(v) && strcmp(json_string_value(v), "*") == 0)
            return 1;
    }
    return 0;
}

json_t *filter_namespace_list(const json_t *spec)
{
    const json_t *inc = json_object_get(spec, "includedNamespaces"), *v;
    json_t *out;
    size_t i;
    if (json_array_size(inc) == 0)
        return NULL;
    out = json_array();
    json_array_foreach(inc, i, v)
    {
        const char *ns = json_string_value(v);
        if (!ns || strpbrk(ns, "*?[{\\")) {
            json_decref(out);
            return NULL;
        }
        if (filter_namespace(spec, ns))
            json_array_append_new(out, json_string(ns));
    }
    return out;
}

/* A resource filter entry names r by plural, plural.group, kind or
 * kind.group (kinds without regard to case). Wildcard excludes are
 * ignored, as in Velero. */
static int filter_resource_eq(const char *pattern, const char *qualified, void *ctx)
{
    const struct kube_resource *r = ctx;
    size_t kl = strlen(r->kind);
    if (strcmp(pattern, "*") == 0)
        return 0;
    if (strcmp(pattern, qualified) == 0 || strcmp(pattern, r->resource) == 0 ||
        strcasecmp(pattern, r->kind) == 0)
        return 1;
    return r->group[0] && strncasecmp(pattern, r->kind, kl) == 0 && pattern[kl] == '.' &&
           strcmp(pattern + kl + 1, r->group) == 0;
}

int filter_resource(const json_t *spec, const struct kube_resource *r, const char *qualified)
{
    const json_t *icr = json_object_get(spec, "includeClusterResources");
    if (!r->group[0] && (!strcmp(r->resource, "nodes") || !strcmp(r->resource, "events")))
        return 0;
    if (!strcmp(r->group, "events.k8s.io") && !strcmp(r->resource, "events"))
        return 0;
    if (!filter_match(json_object_get(spec, "includedResources"),
                      json_object_get(spec, "excludedResources"), qualified, filter_resource_eq,
                      (void *)r))
        return 0;
    if (r->namespaced || (!r->group[0] && !strcmp(r->resource, "namespaces")))
        return 1;
    if (json_is_true(icr))
        return 1;
    if (json_is_false(icr))
        return 0;
    return filter_all_namespaces(spec);
}

int filter_excluded_object(const json_t *obj)
{
    const json_t *labels = doc_get(obj, "metadata.labels");
    const char *v = json_string_value(json_object_get(labels, "velero.io/exclude-from-backup"));
    return v && strcmp(v, "true") == 0;
}
