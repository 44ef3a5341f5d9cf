/*
 * ApplicationSet templates. fasttemplate is a plain search and replace.
 * The goTemplate subset is split in two steps: the text is cut into text
 * and actions (trim markers applied, comments dropped) and built into a
 * small tree, so that if/else/end can be matched and refused early; then
 * each action's pipeline is parsed and evaluated in one recursive descent
 * over its text, since an action is short and evaluated once per
 * generated app.
 *
 * Values are jansson trees, as the parameters are; NULL stands for Go's
 * "no value" (a missing key), which is what sets missingkey apart.
 * Functions take a few liberties Go's strict typing would not (a number
 * given where a string is expected is printed first) but never return a
 * different result for a template Go accepts.
 */
#include "engine/apptmpl.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

/* Actions (and nesting of parentheses) allowed in one string. */
#define APPTMPL_MAX_ACTIONS 4096
#define APPTMPL_MAX_PARENS 32

char *apptmpl_normalize(const char *s)
{
    size_t n = strlen(s), i, start = 0, end;
    char *out = xstrdup(s);
    for (i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)out[i]);
        out[i] =
            (c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '-';
    }
    if (n > 253)
        n = 253;
    out[n] = '\0';
    end = n;
    while (start < end && (out[start] == '-' || out[start] == '.'))
        start++;
    while (end > start && (out[end - 1] == '-' || out[end - 1] == '.'))
        end--;
    memmove(out, out + start, end - start);
    out[end - start] = '\0';
    return out;
}

/* ---- fasttemplate ---- */

static int apptmpl_fast(char **out, const char *text, const json_t *params)
{
    struct buf b = BUF_INIT;
    const char *p = text, *open, *close;
    while ((open = strstr(p, "{{")) && (close = strstr(open + 2, "}}"))) {
        const char *s = open + 2, *e = close;
        char *tag;
        const char *v;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        tag = xstrndup(s, (size_t)(e - s));
        v = json_string_value(json_object_get(params, tag));
        buf_put(&b, p, (size_t)(open - p));
        if (v)
            buf_puts(&b, v);
        else
            buf_put(&b, open, (size_t)(close + 2 - open)); /* not a parameter: kept */
        free(tag);
        p = close + 2;
        if (b.len > APPTMPL_MAX_OUTPUT) {
            buf_dispose(&b);
            return err_set(ERR_TOOLARGE, "rendered text over %u bytes", APPTMPL_MAX_OUTPUT);
        }
    }
    buf_puts(&b, p);
    *out = buf_detach(&b);
    return 0;
}

/* ---- goTemplate: values ---- */

struct apptmpl_ev {
    const json_t *dot;
    const struct apptmpl_options *o;
    const char *action; /* the action's text, for messages */
};

static int apptmpl_fail(const struct apptmpl_ev *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int apptmpl_fail(const struct apptmpl_ev *ev, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    err_set(ERR_INVALID, "{{%s}}: %s", ev->action, buf_cstr(&b));
    buf_dispose(&b);
    return ERR_INVALID;
}

static void apptmpl_print_num(struct buf *b, double d)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    buf_puts(b, tmp);
}

static int apptmpl_keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* As Go's fmt prints an interface{} value (%v). */
static void apptmpl_print(struct buf *b, const json_t *v)
{
    size_t i, n;
    const char *k;
    json_t *x;
    const char **keys;
    if (!v) {
        buf_puts(b, "<no value>");
    } else if (json_is_string(v)) {
        buf_put(b, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        apptmpl_print_num(b, json_real_value(v));
    } else if (json_is_boolean(v)) {
        buf_puts(b, json_is_true(v) ? "true" : "false");
    } else if (json_is_null(v)) {
        buf_puts(b, "<nil>");
    } else if (json_is_array(v)) {
        buf_puts(b, "[");
        json_array_foreach(v, i, x)
        {
            if (i)
                buf_puts(b, " ");
            apptmpl_print(b, x);
        }
        buf_puts(b, "]");
    } else {
        /* Go prints maps with their keys sorted */
        n = json_object_size(v);
        keys = xcalloc(n + 1, sizeof(*keys));
        i = 0;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), apptmpl_keycmp);
        buf_puts(b, "map[");
        for (i = 0; i < n; i++) {
            buf_printf(b, "%s%s:", i ? " " : "", keys[i]);
            apptmpl_print(b, json_object_get(v, keys[i]));
        }
        buf_puts(b, "]");
        free(keys);
    }
}

/* A function argument as text: strings as they are, anything else
 * printed; no value is "". A new string. */
static char *apptmpl_text(const json_t *v)
{
    struct buf b = BUF_INIT;
    if (v)
        apptmpl_print(&b, v);
    return buf_detach(&b);
}

/* Go's truth: false, 0, nil, "", empty list or map, and no value are
 * false. */
static int apptmpl_truth(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return 1;
}

static int apptmpl_is_num(const json_t *v)
{
    return json_is_integer(v) || json_is_real(v);
}

static double apptmpl_num(const json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

/* -1, 0, 1; ERR_INVALID when a and b cannot be compared. */
static int apptmpl_compare(const struct apptmpl_ev *ev, const json_t *a, const json_t *b,
                           int ordered, int *out)
{
    if (apptmpl_is_num(a) && apptmpl_is_num(b)) {
        double x = apptmpl_num(a), y = apptmpl_num(b);
        *out = x < y ? -1 : x > y;
        return 0;
    }
    if (json_is_string(a) && json_is_string(b)) {
        int c = strcmp(json_string_value(a), json_string_value(b));
        *out = c < 0 ? -1 : c > 0;
        return 0;
    }
    if (!ordered && a && b && json_typeof(a) == json_typeof(b)) {
        *out = doc_equal(a, b) ? 0 : 1;
        return 0;
    }
    if (!ordered && (!a || json_is_null(a)) && (!b || json_is_null(b))) {
        *out = 0;
        return 0;
    }
    return apptmpl_fail(ev, "incompatible types for comparison");
}

/* ---- goTemplate: functions ---- */

typedef int (*apptmpl_fn)(const struct apptmpl_ev *ev, json_t **args, size_t n, json_t **out);

struct apptmpl_func {
    const char *name;
    size_t min, max; /* arguments */
    apptmpl_fn fn;
};

static int fn_index(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    const json_t *v = a[0];
    for (size_t i = 1; i < n; i++) {
        if (json_is_object(v) && json_is_string(a[i])) {
            v = json_object_get(v, json_string_value(a[i]));
        } else if (json_is_array(v) && json_is_integer(a[i])) {
            json_int_t k = json_integer_value(a[i]);
            if (k < 0 || (size_t)k >= json_array_size(v))
                return apptmpl_fail(ev, "index: index out of range: %lld", (long long)k);
            v = json_array_get(v, (size_t)k);
        } else if (!v || json_is_null(v)) {
            return apptmpl_fail(ev, "index: index of untyped nil");
        } else {
            return apptmpl_fail(ev, "index: cannot index a %s with a %s",
                                json_is_object(v)  ? "map"
                                : json_is_array(v) ? "list"
                                                   : "scalar",
                                json_is_string(a[i]) ? "string" : "non-string");
        }
    }
    *out = v ? json_incref((json_t *)v) : NULL;
    return 0;
}

static int fn_default(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)ev;
    /* `default X` with no value piped in: the value is absent */
    *out = json_incref(n > 1 && apptmpl_truth(a[1]) ? a[1] : a[0]);
    return 0;
}

static int fn_empty(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)ev;
    (void)n;
    *out = json_boolean(!apptmpl_truth(a[0]));
    return 0;
}

static int fn_coalesce(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)ev;
    *out = json_null();
    for (size_t i = 0; i < n; i++)
        if (apptmpl_truth(a[i])) {
            json_decref(*out);
            *out = json_incref(a[i]);
            break;
        }
    return 0;
}

static int fn_required(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)n;
    if (!a[1] || json_is_null(a[1]) || (json_is_string(a[1]) && !json_string_length(a[1]))) {
        char *msg = apptmpl_text(a[0]);
        int rc = apptmpl_fail(ev, "required: %s", msg);
        free(msg);
        return rc;
    }
    *out = json_incref(a[1]);
    return 0;
}

/* The string functions of one argument. */
static int fn_str1(const struct apptmpl_ev *ev, json_t **a, const char *name, json_t **out)
{
    char *s = apptmpl_text(a[0]);
    size_t i, len = strlen(s);
    (void)ev;
    if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        for (i = 0; i < len; i++)
            s[i] = (char)(name[0] == 'l' ? tolower((unsigned char)s[i])
                                         : toupper((unsigned char)s[i]));
    } else if (!strcmp(name, "title")) {
        for (i = 0; i < len; i++)
            if (i == 0 || isspace((unsigned char)s[i - 1]))
                s[i] = (char)toupper((unsigned char)s[i]);
    } else if (!strcmp(name, "trim")) {
        size_t st = 0;
        while (st < len && isspace((unsigned char)s[st]))
            st++;
        while (len > st && isspace((unsigned char)s[len - 1]))
            len--;
        memmove(s, s + st, len - st);
        s[len - st] = '\0';
    } else if (!strcmp(name, "normalize")) {
        char *t = apptmpl_normalize(s);
        free(s);
        s = t;
    }
    *out = json_string(s);
    free(s);
    if (!*out)
        return apptmpl_fail(ev, "%s: the result is not UTF-8", name);
    return 0;
}

#define FN_STR1(n)                                                                                 \
    static int fn_##n(const struct apptmpl_ev *ev, json_t **a, size_t c, json_t **out)             \
    {                                                                                              \
        (void)c;                                                                                   \
        return fn_str1(ev, a, #n, out);                                                            \
    }
FN_STR1(lower)
FN_STR1(upper)
FN_STR1(title)
FN_STR1(trim)
FN_STR1(normalize)

/* trimPrefix, trimSuffix, trimAll, hasPrefix, hasSuffix, contains: the
 * first argument applied to the second. */
static int fn_str2(const struct apptmpl_ev *ev, json_t **a, const char *name, json_t **out)
{
    char *x = apptmpl_text(a[0]), *s = apptmpl_text(a[1]);
    size_t lx = strlen(x), ls = strlen(s);
    (void)ev;
    if (!strcmp(name, "trimPrefix")) {
        *out = json_string(str_has_prefix(s, x) ? s + lx : s);
    } else if (!strcmp(name, "trimSuffix")) {
        if (str_has_suffix(s, x))
            s[ls - lx] = '\0';
        *out = json_string(s);
    } else if (!strcmp(name, "trimAll")) {
        size_t st = 0;
        while (st < ls && strchr(x, s[st]))
            st++;
        while (ls > st && strchr(x, s[ls - 1]))
            ls--;
        s[ls] = '\0';
        *out = json_string(s + st);
    } else if (!strcmp(name, "hasPrefix")) {
        *out = json_boolean(str_has_prefix(s, x));
    } else if (!strcmp(name, "hasSuffix")) {
        *out = json_boolean(str_has_suffix(s, x));
    } else {
        *out = json_boolean(strstr(s, x) != NULL);
    }
    free(x);
    free(s);
    return *out ? 0 : apptmpl_fail(ev, "%s: the result is not UTF-8", name);
}

#define FN_STR2(n)                                                                                 \
    static int fn_##n(const struct apptmpl_ev *ev, json_t **a, size_t c, json_t **out)             \
    {                                                                                              \
        (void)c;                                                                                   \
        return fn_str2(ev, a, #n, out);                                                            \
    }
FN_STR2(trimPrefix)
FN_STR2(trimSuffix)
FN_STR2(trimAll)
FN_STR2(hasPrefix)
FN_STR2(hasSuffix)
FN_STR2(contains)

static int fn_replace(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    char *old = apptmpl_text(a[0]), *new = apptmpl_text(a[1]), *s = apptmpl_text(a[2]);
    struct buf b = BUF_INIT;
    const char *p = s, *hit;
    (void)n;
    if (!old[0]) {
        buf_puts(&b, s);
    } else {
        while ((hit = strstr(p, old))) {
            buf_put(&b, p, (size_t)(hit - p));
            buf_puts(&b, new);
            p = hit + strlen(old);
            if (b.len > APPTMPL_MAX_OUTPUT)
                break;
        }
        buf_puts(&b, p);
    }
    *out = b.len > APPTMPL_MAX_OUTPUT ? NULL : json_string(buf_cstr(&b));
    buf_dispose(&b);
    free(old);
    free(new);
    free(s);
    return *out ? 0 : apptmpl_fail(ev, "replace: result too large or not UTF-8");
}

static int fn_trunc(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    char *s;
    long long c, len;
    (void)n;
    if (!json_is_integer(a[0]))
        return apptmpl_fail(ev, "trunc: the length must be a whole number");
    c = json_integer_value(a[0]);
    s = apptmpl_text(a[1]);
    len = (long long)strlen(s);
    if (c >= 0 && len > c)
        s[c] = '\0';
    else if (c < 0 && len + c > 0)
        memmove(s, s + len + c, (size_t)(-c) + 1);
    *out = json_string(s);
    free(s);
    return *out ? 0 : apptmpl_fail(ev, "trunc: cuts a UTF-8 character");
}

/* Go's %q of a string. */
static void apptmpl_quote(struct buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c == '\n')
            buf_puts(b, "\\n");
        else if (c == '\t')
            buf_puts(b, "\\t");
        else if (c == '\r')
            buf_puts(b, "\\r");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(b, "\\x%02x", c);
        else
            buf_put(b, s, 1);
    }
    buf_puts(b, "\"");
}

/* quote, squote, cat: the arguments that have a value, joined by ' '. */
static int fn_join_args(json_t **a, size_t n, int how, json_t **out)
{
    struct buf b = BUF_INIT;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char *s;
        if (!a[i] || json_is_null(a[i]))
            continue;
        s = apptmpl_text(a[i]);
        if (k++)
            buf_puts(&b, " ");
        if (how == 'q')
            apptmpl_quote(&b, s);
        else if (how == 's')
            buf_printf(&b, "'%s'", s);
        else
            buf_puts(&b, s);
        free(s);
    }
    *out = json_string(buf_cstr(&b));
    buf_dispose(&b);
    return *out ? 0 : ERR_INVALID;
}

static int fn_quote(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    return fn_join_args(a, n, 'q', out) < 0 ? apptmpl_fail(ev, "quote: not UTF-8") : 0;
}

static int fn_squote(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    return fn_join_args(a, n, 's', out) < 0 ? apptmpl_fail(ev, "squote: not UTF-8") : 0;
}

static int fn_cat(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    return fn_join_args(a, n, 'c', out) < 0 ? apptmpl_fail(ev, "cat: not UTF-8") : 0;
}

static int fn_join(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    struct buf b = BUF_INIT;
    char *sep = apptmpl_text(a[0]);
    json_t *x;
    size_t i;
    (void)n;
    if (json_is_array(a[1])) {
        json_array_foreach(a[1], i, x)
        {
            char *s = apptmpl_text(x);
            buf_printf(&b, "%s%s", i ? sep : "", s);
            free(s);
        }
    } else if (a[1]) {
        apptmpl_print(&b, a[1]);
    }
    *out = json_string(buf_cstr(&b));
    buf_dispose(&b);
    free(sep);
    return *out ? 0 : apptmpl_fail(ev, "join: not UTF-8");
}

static int fn_splitList(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    char *sep = apptmpl_text(a[0]), *s = apptmpl_text(a[1]);
    const char *p = s, *hit;
    (void)n;
    (void)ev;
    *out = json_array();
    if (!sep[0]) {
        for (; *p; p++)
            json_array_append_new(*out, json_stringn(p, 1));
    } else {
        while ((hit = strstr(p, sep))) {
            json_array_append_new(*out, json_stringn(p, (size_t)(hit - p)));
            p = hit + strlen(sep);
        }
        json_array_append_new(*out, json_string(p));
    }
    free(sep);
    free(s);
    return 0;
}

static int fn_list(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)ev;
    *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(*out, a[i] ? json_incref(a[i]) : json_null());
    return 0;
}

static int fn_dict(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    if (n % 2)
        return apptmpl_fail(ev, "dict: needs key and value pairs");
    *out = json_object();
    for (size_t i = 0; i < n; i += 2) {
        char *k = apptmpl_text(a[i]);
        json_object_set_new(*out, k, a[i + 1] ? json_incref(a[i + 1]) : json_null());
        free(k);
    }
    return 0;
}

static int fn_toJson(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    char *s =
        a[0] ? json_dumps(a[0], JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : xstrdup("null");
    (void)ev;
    (void)n;
    *out = json_string(s ? s : "null");
    free(s);
    return 0;
}

static int fn_toYaml(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    struct buf b = BUF_INIT;
    (void)ev;
    (void)n;
    if (a[0]) {
        /* Go's YAML encoder writes map keys sorted */
        char *text = json_dumps(a[0], JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        json_t *sorted = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        doc_emit_yaml(&b, sorted ? sorted : a[0]);
        json_decref(sorted);
        free(text);
    } else
        buf_puts(&b, "null\n");
    while (b.len && b.ptr[b.len - 1] == '\n')
        b.ptr[--b.len] = '\0';
    *out = json_string(buf_cstr(&b));
    buf_dispose(&b);
    return 0;
}

static int fn_toString(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    char *s = apptmpl_text(a[0]);
    (void)ev;
    (void)n;
    *out = json_string(s);
    free(s);
    return 0;
}

/* Go's fmt.Sprint: a space between operands when neither is a string. */
static int fn_print(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    struct buf b = BUF_INIT;
    (void)ev;
    for (size_t i = 0; i < n; i++) {
        if (i && !json_is_string(a[i]) && !json_is_string(a[i - 1]))
            buf_puts(&b, " ");
        apptmpl_print(&b, a[i]);
    }
    *out = json_string(buf_cstr(&b));
    buf_dispose(&b);
    return 0;
}

/* printf with the verbs templates use: %s %v %d %q %t %%. */
static int fn_printf(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    struct buf b = BUF_INIT;
    char *f = apptmpl_text(a[0]);
    size_t k = 1;
    int rc = 0;
    for (const char *p = f; *p; p++) {
        char *s;
        if (*p != '%') {
            buf_put(&b, p, 1);
            continue;
        }
        if (*++p == '%') {
            buf_puts(&b, "%");
            continue;
        }
        if (!strchr("svdqt", *p) || !*p) {
            rc = apptmpl_fail(ev, "printf: verb %%%c is not supported (%%s %%v %%d %%q %%t)",
                              *p ? *p : '?');
            break;
        }
        if (k >= n) {
            buf_printf(&b, "%%!%c(MISSING)", *p);
            continue;
        }
        if (*p == 'd' && !json_is_integer(a[k])) {
            buf_puts(&b, "%!d(");
            apptmpl_print(&b, a[k++]);
            buf_puts(&b, ")");
            continue;
        }
        s = apptmpl_text(a[k++]);
        if (*p == 'q')
            apptmpl_quote(&b, s);
        else
            buf_puts(&b, a[k - 1] ? s : "<nil>");
        free(s);
    }
    if (rc == 0)
        *out = json_string(buf_cstr(&b));
    buf_dispose(&b);
    free(f);
    return rc;
}

static int fn_len(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)n;
    if (json_is_string(a[0]))
        *out = json_integer((json_int_t)json_string_length(a[0]));
    else if (json_is_array(a[0]))
        *out = json_integer((json_int_t)json_array_size(a[0]));
    else if (json_is_object(a[0]))
        *out = json_integer((json_int_t)json_object_size(a[0]));
    else
        return apptmpl_fail(ev, "len: needs a string, list or map");
    return 0;
}

static int fn_eq(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    int c = 1, rc;
    for (size_t i = 1; i < n && c != 0; i++)
        if ((rc = apptmpl_compare(ev, a[0], a[i], 0, &c)) < 0)
            return rc;
    *out = json_boolean(c == 0);
    return 0;
}

static int fn_ne(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    int c, rc = apptmpl_compare(ev, a[0], a[1], 0, &c);
    (void)n;
    if (rc == 0)
        *out = json_boolean(c != 0);
    return rc;
}

#define FN_ORDER(name, test)                                                                       \
    static int fn_##name(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)          \
    {                                                                                              \
        int c, rc = apptmpl_compare(ev, a[0], a[1], 1, &c);                                        \
        (void)n;                                                                                   \
        if (rc == 0)                                                                               \
            *out = json_boolean(test);                                                             \
        return rc;                                                                                 \
    }
FN_ORDER(lt, c < 0)
FN_ORDER(le, c <= 0)
FN_ORDER(gt, c > 0)
FN_ORDER(ge, c >= 0)

static int fn_not(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    (void)ev;
    (void)n;
    *out = json_boolean(!apptmpl_truth(a[0]));
    return 0;
}

/* and: the first false argument, else the last; or: the first true one,
 * else the last (Go's). */
static int fn_and(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    size_t i;
    (void)ev;
    for (i = 0; i + 1 < n && apptmpl_truth(a[i]); i++)
        ;
    *out = a[i] ? json_incref(a[i]) : NULL;
    return 0;
}

static int fn_or(const struct apptmpl_ev *ev, json_t **a, size_t n, json_t **out)
{
    size_t i;
    (void)ev;
    for (i = 0; i + 1 < n && !apptmpl_truth(a[i]); i++)
        ;
    *out = a[i] ? json_incref(a[i]) : NULL;
    return 0;
}

#define ANY ((size_t)-1)
static const struct apptmpl_func apptmpl_funcs[] = {
    {"index", 2, ANY, fn_index},
    {"default", 1, 2, fn_default},
    {"empty", 1, 1, fn_empty},
    {"coalesce", 1, ANY, fn_coalesce},
    {"required", 2, 2, fn_required},
    {"lower", 1, 1, fn_lower},
    {"upper", 1, 1, fn_upper},
    {"title", 1, 1, fn_title},
    {"trim", 1, 1, fn_trim},
    {"normalize", 1, 1, fn_normalize},
    {"trimPrefix", 2, 2, fn_trimPrefix},
    {"trimSuffix", 2, 2, fn_trimSuffix},
    {"trimAll", 2, 2, fn_trimAll},
    {"hasPrefix", 2, 2, fn_hasPrefix},
    {"hasSuffix", 2, 2, fn_hasSuffix},
    {"contains", 2, 2, fn_contains},
    {"replace", 3, 3, fn_replace},
    {"trunc", 2, 2, fn_trunc},
    {"quote", 0, ANY, fn_quote},
    {"squote", 0, ANY, fn_squote},
    {"cat", 0, ANY, fn_cat},
    {"join", 2, 2, fn_join},
    {"splitList", 2, 2, fn_splitList},
    {"list", 0, ANY, fn_list},
    {"dict", 0, ANY, fn_dict},
    {"toJson", 1, 1, fn_toJson},
    {"toYaml", 1, 1, fn_toYaml},
    {"toString", 1, 1, fn_toString},
    {"print", 0, ANY, fn_print},
    {"printf", 1, ANY, fn_printf},
    {"len", 1, 1, fn_len},
    {"eq", 2, ANY, fn_eq},
    {"ne", 2, 2, fn_ne},
    {"lt", 2, 2, fn_lt},
    {"le", 2, 2, fn_le},
    {"gt", 2, 2, fn_gt},
    {"ge", 2, 2, fn_ge},
    {"not", 1, 1, fn_not},
    {"and", 1, ANY, fn_and},
    {"or", 1, ANY, fn_or},
};

static const struct apptmpl_func *apptmpl_func_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(apptmpl_funcs) / sizeof(apptmpl_funcs[0]); i++)
        if (strlen(apptmpl_funcs[i].name) == len && !strncmp(apptmpl_funcs[i].name, name, len))
            return &apptmpl_funcs[i];
    return NULL;
}

/* ---- goTemplate: pipelines ---- */

struct apptmpl_pipe {
    const struct apptmpl_ev *ev;
    const char *p; /* next character of the action */
    int depth;
};

static void apptmpl_skip(struct apptmpl_pipe *ps)
{
    while (*ps->p && isspace((unsigned char)*ps->p))
        ps->p++;
}

static int apptmpl_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Follow ".a.b" from v (borrowed; NULL: no value) at ps->p. *out new. */
static int apptmpl_fields(struct apptmpl_pipe *ps, const json_t *v, json_t **out)
{
    const struct apptmpl_ev *ev = ps->ev;
    while (*ps->p == '.' && apptmpl_ident_char(ps->p[1])) {
        const char *s = ++ps->p;
        char *key;
        while (apptmpl_ident_char(*ps->p))
            ps->p++;
        key = xstrndup(s, (size_t)(ps->p - s));
        if (json_is_object(v)) {
            const json_t *next = json_object_get(v, key);
            if (!next && ev->o->missingkey_error) {
                int rc = apptmpl_fail(ev, "map has no entry for key \"%s\"", key);
                free(key);
                return rc;
            }
            v = next;
        } else if (v && !json_is_null(v)) {
            int rc = apptmpl_fail(ev, "can't evaluate field %s in a %s", key,
                                  json_is_array(v)    ? "list"
                                  : json_is_string(v) ? "string"
                                                      : "non-map value");
            free(key);
            return rc;
        } else if (ev->o->missingkey_error) {
            int rc = apptmpl_fail(ev, "nil pointer evaluating field %s", key);
            free(key);
            return rc;
        }
        free(key);
    }
    *out = v ? json_incref((json_t *)v) : NULL;
    return 0;
}

static int apptmpl_pipeline(struct apptmpl_pipe *ps, json_t **out);

/* A string literal at ps->p ("..." with Go's escapes, or `raw`). */
static int apptmpl_string_lit(struct apptmpl_pipe *ps, json_t **out)
{
    struct buf b = BUF_INIT;
    char q = *ps->p++;
    while (*ps->p && *ps->p != q) {
        char c = *ps->p++;
        if (c == '\\' && q == '"') {
            c = *ps->p++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case '"':
            case '\\':
                break;
            default:
                buf_dispose(&b);
                return apptmpl_fail(ps->ev, "unsupported escape in a string");
            }
        }
        buf_put(&b, &c, 1);
    }
    if (*ps->p != q) {
        buf_dispose(&b);
        return apptmpl_fail(ps->ev, "unterminated string");
    }
    ps->p++;
    *out = json_string(buf_cstr(&b));
    buf_dispose(&b);
    return *out ? 0 : apptmpl_fail(ps->ev, "a string is not UTF-8");
}

static int apptmpl_number(struct apptmpl_pipe *ps, json_t **out)
{
    char *end;
    long long i = strtoll(ps->p, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') {
        double d = strtod(ps->p, &end);
        *out = json_real(d);
    } else {
        *out = json_integer(i);
    }
    ps->p = end;
    if (apptmpl_ident_char(*ps->p))
        return apptmpl_fail(ps->ev, "bad number");
    return 0;
}

/* One operand: a field, $, a literal, (pipeline) with fields after it,
 * or (as an argument) a function called without arguments. *out new. */
static int apptmpl_operand(struct apptmpl_pipe *ps, json_t **out)
{
    const char *s = ps->p;
    json_t *v = NULL;
    int rc;
    *out = NULL;
    if (*s == '.') {
        if (!apptmpl_ident_char(s[1]) && s[1] != '.') {
            ps->p++;
            *out = json_incref((json_t *)ps->ev->dot);
            return 0;
        }
        return apptmpl_fields(ps, ps->ev->dot, out);
    }
    if (*s == '$') {
        ps->p++;
        if (apptmpl_ident_char(*ps->p))
            return err_set(ERR_UNSUPPORTED, "{{%s}}: template variables are not supported",
                           ps->ev->action);
        return apptmpl_fields(ps, ps->ev->dot, out);
    }
    if (*s == '"' || *s == '`')
        return apptmpl_string_lit(ps, out);
    if (isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1])))
        return apptmpl_number(ps, out);
    if (*s == '(') {
        if (++ps->depth > APPTMPL_MAX_PARENS)
            return apptmpl_fail(ps->ev, "parentheses nest too deep");
        ps->p++;
        if ((rc = apptmpl_pipeline(ps, &v)) < 0)
            return rc;
        if (*ps->p != ')') {
            json_decref(v);
            return apptmpl_fail(ps->ev, "unclosed '('");
        }
        ps->p++;
        ps->depth--;
        rc = apptmpl_fields(ps, v, out);
        json_decref(v);
        return rc;
    }
    if (apptmpl_ident_char(*s)) {
        size_t len;
        const struct apptmpl_func *f;
        while (apptmpl_ident_char(*ps->p))
            ps->p++;
        len = (size_t)(ps->p - s);
        if (len == 4 && !strncmp(s, "true", 4))
            *out = json_true();
        else if (len == 5 && !strncmp(s, "false", 5))
            *out = json_false();
        else if (len == 3 && !strncmp(s, "nil", 3))
            *out = json_null();
        else if (!(f = apptmpl_func_find(s, len)))
            return apptmpl_fail(ps->ev, "function \"%.*s\" not defined", (int)len, s);
        else if (f->min > 0)
            return apptmpl_fail(ps->ev, "%s: wrong number of arguments", f->name);
        else
            return f->fn(ps->ev, NULL, 0, out);
        return 0;
    }
    return apptmpl_fail(ps->ev, "unexpected \"%c\"", *s);
}

/* One command: a function and its arguments (prev, the value piped in,
 * goes last), or one operand. Stops at '|', ')' or the end. */
static int apptmpl_command(struct apptmpl_pipe *ps, json_t *prev, int piped, json_t **out)
{
    const struct apptmpl_func *f = NULL;
    json_t **args = NULL;
    size_t n = 0, cap = 0, i;
    const char *s;
    int rc = 0;

    *out = NULL;
    apptmpl_skip(ps);
    s = ps->p;
    if (apptmpl_ident_char(*s) && !isdigit((unsigned char)*s)) {
        size_t len = 0;
        while (apptmpl_ident_char(s[len]))
            len++;
        if (!((len == 4 && !strncmp(s, "true", 4)) || (len == 5 && !strncmp(s, "false", 5)) ||
              (len == 3 && !strncmp(s, "nil", 3)))) {
            if (!(f = apptmpl_func_find(s, len)))
                return apptmpl_fail(ps->ev, "function \"%.*s\" not defined", (int)len, s);
            ps->p += len;
        }
    }
    for (;;) {
        json_t *v;
        apptmpl_skip(ps);
        if (!*ps->p || *ps->p == '|' || *ps->p == ')')
            break;
        if (!f && n == 1) {
            rc = apptmpl_fail(ps->ev, "can't give an argument to a non-function");
            goto out;
        }
        if ((rc = apptmpl_operand(ps, &v)) < 0)
            goto out;
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            args = xrealloc(args, (cap + 1) * sizeof(*args));
        }
        args[n++] = v;
    }
    if (piped) {
        if (!f) {
            rc = apptmpl_fail(ps->ev, "can't give an argument to a non-function");
            goto out;
        }
        args = xrealloc(args, (n + 2) * sizeof(*args));
        args[n++] = json_incref(prev);
    }
    if (!f) {
        if (n == 0) {
            rc = apptmpl_fail(ps->ev, "missing value for command");
            goto out;
        }
        *out = args[0];
        args[0] = NULL;
    } else if (n < f->min || (f->max != ANY && n > f->max)) {
        rc = apptmpl_fail(ps->ev, "%s: wrong number of arguments: %zu", f->name, n);
    } else {
        rc = f->fn(ps->ev, args, n, out);
    }
out:
    for (i = 0; i < n; i++)
        json_decref(args[i]);
    free(args);
    return rc;
}

static int apptmpl_pipeline(struct apptmpl_pipe *ps, json_t **out)
{
    json_t *v = NULL;
    int rc, piped = 0;
    *out = NULL;
    for (;;) {
        json_t *next = NULL;
        if ((rc = apptmpl_command(ps, v, piped, &next)) < 0) {
            json_decref(v);
            return rc;
        }
        json_decref(v);
        v = next;
        apptmpl_skip(ps);
        if (*ps->p != '|')
            break;
        ps->p++;
        piped = 1;
    }
    *out = v;
    return 0;
}

/* Evaluate an action's pipeline (text, a NUL-terminated copy). */
static int apptmpl_eval(const struct apptmpl_ev *ev, const char *text, json_t **out)
{
    struct apptmpl_pipe ps = {ev, text, 0};
    int rc = apptmpl_pipeline(&ps, out);
    if (rc == 0 && *ps.p) {
        json_decref(*out);
        *out = NULL;
        rc = apptmpl_fail(ev, "unexpected \"%c\"", *ps.p);
    }
    return rc;
}

/* ---- goTemplate: text and actions ---- */

enum apptmpl_item_kind { ITEM_TEXT, ITEM_ACTION, ITEM_IF, ITEM_ELSE_IF, ITEM_ELSE, ITEM_END };

struct apptmpl_item {
    enum apptmpl_item_kind kind;
    char *text; /* the text, or the pipeline of an action / if */
    char *raw;  /* the action as written, for messages */
};

struct apptmpl_items {
    struct apptmpl_item *v;
    size_t n, cap;
};

static void apptmpl_items_add(struct apptmpl_items *it, enum apptmpl_item_kind k, char *text,
                              char *raw)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->v = xrealloc(it->v, it->cap * sizeof(*it->v));
    }
    it->v[it->n].kind = k;
    it->v[it->n].text = text;
    it->v[it->n].raw = raw;
    it->n++;
}

static void apptmpl_items_free(struct apptmpl_items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        free(it->v[i].text);
        free(it->v[i].raw);
    }
    free(it->v);
}

static int apptmpl_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    return !strncmp(s, w, n) && (!s[n] || isspace((unsigned char)s[n]));
}

/* Cut text into items, trim markers applied and comments dropped. */
static int apptmpl_lex(const char *text, struct apptmpl_items *it)
{
    const char *p = text, *open;
    int trim_next = 0;
    while (*p) {
        const char *s, *e, *close;
        size_t tl;
        char *body, *raw;
        open = strstr(p, "{{");
        tl = open ? (size_t)(open - p) : strlen(p);
        s = p;
        if (trim_next)
            while (tl && isspace((unsigned char)*s)) {
                s++;
                tl--;
            }
        if (open && open[2] == '-' && isspace((unsigned char)open[3]))
            while (tl && isspace((unsigned char)s[tl - 1]))
                tl--;
        if (tl)
            apptmpl_items_add(it, ITEM_TEXT, xstrndup(s, tl), NULL);
        if (!open)
            break;
        if (it->n > APPTMPL_MAX_ACTIONS)
            return err_set(ERR_TOOLARGE, "more than %d actions", APPTMPL_MAX_ACTIONS);
        if (!(close = strstr(open + 2, "}}")))
            return err_set(ERR_INVALID, "unclosed action \"%.20s\"", open);
        s = open + 2;
        e = close;
        raw = xstrndup(s, (size_t)(e - s));
        trim_next = e - s >= 2 && e[-1] == '-' && isspace((unsigned char)e[-2]);
        if (s[0] == '-' && isspace((unsigned char)s[1]))
            s++;
        if (trim_next)
            e--;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        body = xstrndup(s, (size_t)(e - s));
        p = close + 2;
        if (str_has_prefix(body, "/*")) {
            if (!str_has_suffix(body, "*/")) {
                free(body);
                free(raw);
                return err_set(ERR_INVALID, "unclosed comment");
            }
            free(body);
            free(raw);
            continue;
        }
        if (apptmpl_word(body, "if")) {
            apptmpl_items_add(it, ITEM_IF, xstrdup(body + 2), raw);
        } else if (apptmpl_word(body, "else")) {
            const char *rest = body + 4;
            while (isspace((unsigned char)*rest))
                rest++;
            if (apptmpl_word(rest, "if"))
                apptmpl_items_add(it, ITEM_ELSE_IF, xstrdup(rest + 2), raw);
            else if (!*rest)
                apptmpl_items_add(it, ITEM_ELSE, NULL, raw);
            else {
                free(body);
                free(raw);
                return err_set(ERR_UNSUPPORTED, "\"else %s\": only else and else if are supported",
                               rest);
            }
        } else if (apptmpl_word(body, "end")) {
            apptmpl_items_add(it, ITEM_END, NULL, raw);
        } else if (apptmpl_word(body, "range") || apptmpl_word(body, "with") ||
                   apptmpl_word(body, "define") || apptmpl_word(body, "template") ||
                   apptmpl_word(body, "block") || apptmpl_word(body, "break") ||
                   apptmpl_word(body, "continue")) {
            size_t w = strcspn(body, " \t\r\n");
            int rc = err_set(ERR_UNSUPPORTED,
                             "{{%s}}: \"%.*s\" is not supported by edgecd (pipelines and "
                             "if/else only)",
                             raw, (int)w, body);
            free(body);
            free(raw);
            return rc;
        } else {
            apptmpl_items_add(it, ITEM_ACTION, xstrdup(body), raw);
        }
        free(body);
    }
    return 0;
}

/* Emit items [*i, ...) until an else / else if / end at this level (left
 * at *i) or the end; skip: evaluate nothing, only find the structure. */
static int apptmpl_exec(const struct apptmpl_items *it, size_t *i, const json_t *params,
                        const struct apptmpl_options *o, int skip, struct buf *b);

/* An if at *i: its branches, the first true one emitted. */
static int apptmpl_exec_if(const struct apptmpl_items *it, size_t *i, const json_t *params,
                           const struct apptmpl_options *o, int skip, struct buf *b)
{
    int done = skip, rc, seen_else = 0;
    for (;;) {
        const struct apptmpl_item *cur = &it->v[*i];
        int take = 0;
        if (cur->kind == ITEM_END) {
            (*i)++;
            return 0;
        }
        if (seen_else)
            return err_set(ERR_INVALID, "{{%s}}: after else", cur->raw);
        if (cur->kind == ITEM_ELSE) {
            seen_else = 1;
            take = !done;
        } else if (!done) {
            struct apptmpl_ev ev = {params, o, cur->raw};
            json_t *v = NULL;
            if (!cur->text[0])
                return err_set(ERR_INVALID, "{{%s}}: missing condition", cur->raw);
            if ((rc = apptmpl_eval(&ev, cur->text, &v)) < 0)
                return rc;
            take = apptmpl_truth(v);
            json_decref(v);
        }
        (*i)++;
        if ((rc = apptmpl_exec(it, i, params, o, !take, b)) < 0)
            return rc;
        if (take)
            done = 1;
        if (*i >= it->n)
            return err_set(ERR_INVALID, "{{%s}}: if without end",
                           it->v[*i - 1].raw ? it->v[*i - 1].raw : "if");
    }
}

static int apptmpl_exec(const struct apptmpl_items *it, size_t *i, const json_t *params,
                        const struct apptmpl_options *o, int skip, struct buf *b)
{
    int rc;
    while (*i < it->n) {
        const struct apptmpl_item *cur = &it->v[*i];
        if (cur->kind == ITEM_ELSE || cur->kind == ITEM_ELSE_IF || cur->kind == ITEM_END)
            return 0;
        if (cur->kind == ITEM_IF) {
            if ((rc = apptmpl_exec_if(it, i, params, o, skip, b)) < 0)
                return rc;
            continue;
        }
        (*i)++;
        if (skip)
            continue;
        if (cur->kind == ITEM_TEXT) {
            buf_puts(b, cur->text);
        } else {
            struct apptmpl_ev ev = {params, o, cur->raw};
            json_t *v = NULL;
            if (!cur->text[0])
                return err_set(ERR_INVALID, "{{%s}}: missing value for command", cur->raw);
            if ((rc = apptmpl_eval(&ev, cur->text, &v)) < 0)
                return rc;
            apptmpl_print(b, v);
            json_decref(v);
        }
        if (b->len > APPTMPL_MAX_OUTPUT)
            return err_set(ERR_TOOLARGE, "rendered text over %u bytes", APPTMPL_MAX_OUTPUT);
    }
    return 0;
}

static int apptmpl_go(char **out, const char *text, const json_t *params,
                      const struct apptmpl_options *o)
{
    struct apptmpl_items it = {0};
    struct buf b = BUF_INIT;
    size_t i = 0;
    int rc;
    if ((rc = apptmpl_lex(text, &it)) == 0 && (rc = apptmpl_exec(&it, &i, params, o, 0, &b)) == 0 &&
        i < it.n)
        rc = err_set(ERR_INVALID, "{{%s}}: unexpected %s", it.v[i].raw,
                     it.v[i].kind == ITEM_END ? "end" : "else");
    apptmpl_items_free(&it);
    if (rc == 0)
        *out = buf_detach(&b);
    buf_dispose(&b);
    return rc;
}

int apptmpl_string(char **out, const char *text, const json_t *params,
                   const struct apptmpl_options *o)
{
    *out = NULL;
    if (!strstr(text, "{{")) {
        *out = xstrdup(text);
        return 0;
    }
    return o->go ? apptmpl_go(out, text, params, o) : apptmpl_fast(out, text, params);
}

/* tmpl rendered into *out; where: the field path so far (a buf). */
static int apptmpl_walk(json_t **out, const json_t *tmpl, const json_t *params,
                        const struct apptmpl_options *o, struct buf *where)
{
    size_t mark = where->len, i;
    const char *k;
    json_t *v;
    char *s = NULL;
    int rc = 0;

    *out = NULL;
    if (json_is_string(tmpl)) {
        if ((rc = apptmpl_string(&s, json_string_value(tmpl), params, o)) < 0)
            return err_prefix(rc, "%s", buf_cstr(where));
        *out = json_string(s);
        free(s);
        return *out ? 0 : err_set(ERR_INVALID, "%s: the result is not UTF-8", buf_cstr(where));
    }
    if (json_is_array(tmpl)) {
        *out = json_array();
        json_array_foreach(tmpl, i, v)
        {
            json_t *x;
            buf_printf(where, "[%zu]", i);
            rc = apptmpl_walk(&x, v, params, o, where);
            where->len = mark;
            where->ptr[mark] = '\0';
            if (rc < 0)
                break;
            json_array_append_new(*out, x);
        }
    } else if (json_is_object(tmpl)) {
        *out = json_object();
        json_object_foreach((json_t *)tmpl, k, v)
        {
            json_t *x;
            buf_printf(where, "%s%s", mark ? "." : "", k);
            if ((rc = apptmpl_string(&s, k, params, o)) < 0) {
                err_prefix(rc, "%s (key)", buf_cstr(where));
            } else if ((rc = apptmpl_walk(&x, v, params, o, where)) == 0) {
                json_object_set_new(*out, s, x);
            }
            free(s);
            s = NULL;
            where->len = mark;
            where->ptr[mark] = '\0';
            if (rc < 0)
                break;
        }
    } else {
        *out = json_deep_copy(tmpl);
    }
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int apptmpl_render(json_t **out, const json_t *tmpl, const json_t *params,
                   const struct apptmpl_options *o)
{
    struct buf where = BUF_INIT;
    int rc;
    buf_puts(&where, "");
    rc = apptmpl_walk(out, tmpl, params, o, &where);
    buf_dispose(&where);
    return rc;
}
