/*
 * go-yaml v2's resolve() rewritten in C. The first byte of the text picks
 * the candidates, exactly as go-yaml's resolve table does, so texts such
 * as "yEs" or "_1" stay strings. Integers follow Go's strconv.ParseInt
 * with base 0 after underscores are removed (so 0777, 0o17, 0x1F, 0b101,
 * +5 and 1_000 are numbers), then ParseUint for values above INT64_MAX,
 * then go-yaml's float pattern. Timestamps are not typed: go-yaml hands
 * them to interface{} targets as their original text, which is a string.
 */
#include "doc/resolve.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct resolve_word {
    const char *text;
    enum resolve_kind kind;
    int b;
    double f;
};

/* go-yaml v2's resolveMapList: every spelling it accepts, no others. */
static const struct resolve_word resolve_words[] = {
    {"y", RESOLVE_BOOL, 1, 0},
    {"Y", RESOLVE_BOOL, 1, 0},
    {"yes", RESOLVE_BOOL, 1, 0},
    {"Yes", RESOLVE_BOOL, 1, 0},
    {"YES", RESOLVE_BOOL, 1, 0},
    {"true", RESOLVE_BOOL, 1, 0},
    {"True", RESOLVE_BOOL, 1, 0},
    {"TRUE", RESOLVE_BOOL, 1, 0},
    {"on", RESOLVE_BOOL, 1, 0},
    {"On", RESOLVE_BOOL, 1, 0},
    {"ON", RESOLVE_BOOL, 1, 0},
    {"n", RESOLVE_BOOL, 0, 0},
    {"N", RESOLVE_BOOL, 0, 0},
    {"no", RESOLVE_BOOL, 0, 0},
    {"No", RESOLVE_BOOL, 0, 0},
    {"NO", RESOLVE_BOOL, 0, 0},
    {"false", RESOLVE_BOOL, 0, 0},
    {"False", RESOLVE_BOOL, 0, 0},
    {"FALSE", RESOLVE_BOOL, 0, 0},
    {"off", RESOLVE_BOOL, 0, 0},
    {"Off", RESOLVE_BOOL, 0, 0},
    {"OFF", RESOLVE_BOOL, 0, 0},
    {"~", RESOLVE_NULL, 0, 0},
    {"null", RESOLVE_NULL, 0, 0},
    {"Null", RESOLVE_NULL, 0, 0},
    {"NULL", RESOLVE_NULL, 0, 0},
    {".nan", RESOLVE_FLOAT, 0, NAN},
    {".NaN", RESOLVE_FLOAT, 0, NAN},
    {".NAN", RESOLVE_FLOAT, 0, NAN},
    {".inf", RESOLVE_FLOAT, 0, INFINITY},
    {".Inf", RESOLVE_FLOAT, 0, INFINITY},
    {".INF", RESOLVE_FLOAT, 0, INFINITY},
    {"+.inf", RESOLVE_FLOAT, 0, INFINITY},
    {"+.Inf", RESOLVE_FLOAT, 0, INFINITY},
    {"+.INF", RESOLVE_FLOAT, 0, INFINITY},
    {"-.inf", RESOLVE_FLOAT, 0, -INFINITY},
    {"-.Inf", RESOLVE_FLOAT, 0, -INFINITY},
    {"-.INF", RESOLVE_FLOAT, 0, -INFINITY},
};

static int resolve_digit(char c, int base)
{
    int d;
    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'z')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'Z')
        d = c - 'A' + 10;
    else
        return -1;
    return d < base ? d : -1;
}

/* Go's strconv.ParseUint(s, 0, 64) on an unsigned text: 0 and the value,
 * -1 on bad syntax, -2 when it does not fit 64 bits. */
static int resolve_parse_uint(const char *s, size_t n, uint64_t *out)
{
    int base = 10;
    uint64_t v = 0;
    size_t i;

    if (n == 0)
        return -1;
    if (n >= 2 && s[0] == '0') {
        char p = s[1];
        if (p == 'x' || p == 'X')
            base = 16, s += 2, n -= 2;
        else if (p == 'o' || p == 'O')
            base = 8, s += 2, n -= 2;
        else if (p == 'b' || p == 'B')
            base = 2, s += 2, n -= 2;
        else
            base = 8, s += 1, n -= 1;
        if (n == 0)
            return -1;
    }
    for (i = 0; i < n; i++) {
        int d = resolve_digit(s[i], base);
        if (d < 0)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -2;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int resolve_float_syntax(const char *s, size_t n)
{
    size_t i = 0, d;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return 0;
    } else {
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return 0;
        if (i < n && s[i] == '.')
            for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                ;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return 0;
    }
    return i == n;
}

/* strtod on a text already known to be a decimal float; 0 on success.
 * Like Go's ParseFloat, overflow to infinity is a failure and underflow
 * to zero is not. */
static int resolve_strtod(const char *s, size_t n, double *out)
{
    char *z = xstrndup(s, n), *end;
    double f;
    errno = 0;
    f = strtod(z, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(f))) {
        free(z);
        return -1;
    }
    free(z);
    *out = f;
    return 0;
}

static void resolve_number(const char *in, size_t len, struct resolve_value *out)
{
    char *plain = xmalloc(len + 1);
    size_t n = 0, i;
    int neg = 0;
    const char *digits;
    size_t dn;
    uint64_t mag;
    int rc;

    for (i = 0; i < len; i++)
        if (in[i] != '_')
            plain[n++] = in[i];
    plain[n] = '\0';

    /* strconv.ParseInt: optional sign, then ParseUint's syntax. */
    digits = plain;
    dn = n;
    if (dn > 0 && (plain[0] == '+' || plain[0] == '-')) {
        neg = plain[0] == '-';
        digits++;
        dn--;
    }
    rc = resolve_parse_uint(digits, dn, &mag);
    if (rc == 0) {
        if (!neg && mag <= (uint64_t)INT64_MAX) {
            out->kind = RESOLVE_INT;
            out->i = (int64_t)mag;
            goto done;
        }
        if (neg && mag <= (uint64_t)INT64_MAX + 1) {
            out->kind = RESOLVE_INT;
            out->i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
            goto done;
        }
        /* ParseUint takes no sign at all, not even '+'. */
        if (digits == plain) {
            out->kind = RESOLVE_UINT;
            out->u = mag;
            goto done;
        }
    }
    if (resolve_float_syntax(plain, n) && resolve_strtod(plain, n, &out->f) == 0) {
        out->kind = RESOLVE_FLOAT;
        goto done;
    }
done:
    free(plain);
}

/* Text starting with '.': go-yaml calls ParseFloat on it unchanged, which
 * takes .digits with an optional exponent and, as Go literals do,
 * underscores between two digits (".5_0"). */
static void resolve_dot(const char *s, size_t len, struct resolve_value *out)
{
    char *plain = xmalloc(len + 1);
    size_t n = 0, i;

    for (i = 0; i < len; i++) {
        if (s[i] == '_') {
            int before = i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9';
            int after = i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9';
            if (!before || !after)
                goto out;
            continue;
        }
        plain[n++] = s[i];
    }
    if (resolve_float_syntax(plain, n) && resolve_strtod(plain, n, &out->f) == 0)
        out->kind = RESOLVE_FLOAT;
out:
    free(plain);
}

void resolve_plain(const char *s, size_t len, struct resolve_value *out)
{
    size_t i;
    unsigned char c;

    memset(out, 0, sizeof(*out));
    out->kind = RESOLVE_STR;
    if (len == 0) {
        out->kind = RESOLVE_NULL;
        return;
    }
    c = (unsigned char)s[0];
    /* go-yaml's resolve table: only these first bytes can start a
     * non-string. */
    if (!strchr("+-0123456789yYnNtTfFoO~.", c) || c == '\0')
        return;
    for (i = 0; i < sizeof(resolve_words) / sizeof(resolve_words[0]); i++) {
        const struct resolve_word *w = &resolve_words[i];
        if (strlen(w->text) == len && memcmp(w->text, s, len) == 0) {
            out->kind = w->kind;
            out->b = w->b;
            out->f = w->f;
            return;
        }
    }
    if (c == '.') {
        resolve_dot(s, len, out);
        return;
    }
    if (strchr("+-0123456789", c))
        resolve_number(s, len, out);
}

int resolve_is_timestamp(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    return i == 4 && i < len && s[i] == '-';
}

void resolve_float_key(double f, char out[48])
{
    float g = (float)f;
    char tmp[48];
    int prec, exp, nd = 1;

    if (isnan(f)) {
        snprintf(out, 48, ".nan");
        return;
    }
    if (isinf(g)) {
        snprintf(out, 48, "%s", g > 0 ? ".inf" : "-.inf");
        return;
    }
    /* Shortest digits that give back the same float32, as Go's 'g' with
     * precision -1 and bitSize 32. */
    for (prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, (double)g);
        if (strtof(tmp, NULL) == g) {
            nd = prec;
            break;
        }
    }
    exp = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
    /* Go switches to exponent form below 1e-4 or from 1e6 (shortest
     * formatting fixes the threshold at 6 digits). */
    if (exp < -4 || exp >= 6) {
        snprintf(out, 48, "%.*e", nd - 1, (double)g);
    } else {
        int decimals = nd - (exp + 1);
        snprintf(out, 48, "%.*f", decimals > 0 ? decimals : 0, (double)g);
    }
}

void resolve_float_text(double f, char out[32])
{
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, f);
        if (strtod(out, NULL) == f)
            return;
    }
}
