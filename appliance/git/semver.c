/*
 * A constraint is parsed into OR-groups of AND-ed comparators, each a
 * bound (operator + version). Tilde, caret, wildcard and hyphen forms are
 * expanded at parse time into plain bounds, so matching is a loop of
 * comparisons; a version with missing parts ("1.2") counts as the
 * wildcard it abbreviates.
 */
#include "git/semver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

#define SEMVER_MAX_TERMS 32

enum semver_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct semver_term {
    enum semver_op op;
    struct semver v;
};

struct semver_group {
    struct semver_term t[SEMVER_MAX_TERMS];
    size_t n;
    int pre; /* a term names a pre-release */
};

struct semver_constraint {
    struct semver_group *g;
    size_t n;
};

/* A version with wildcard or missing parts: how many parts are given
 * (0-3). */
static int semver_parse_partial(struct semver *out, const char *text, int *parts)
{
    const char *p = text;
    long *fields[3] = {&out->major, &out->minor, &out->patch};
    int i;

    memset(out, 0, sizeof(*out));
    *parts = 0;
    if (*p == 'v' || *p == 'V')
        p++;
    for (i = 0; i < 3; i++) {
        if (*p == 'x' || *p == 'X' || *p == '*') {
            p++;
            break;
        }
        if (!isdigit((unsigned char)*p))
            return err_set(ERR_INVALID, "\"%s\" is not a version", text);
        *fields[i] = strtol(p, (char **)&p, 10);
        if (*fields[i] > 1000000000L)
            return err_set(ERR_INVALID, "\"%s\": number too large", text);
        (*parts)++;
        if (*p != '.')
            break;
        p++;
    }
    if (*p == '-') {
        size_t n = strcspn(p + 1, "+");
        if (n == 0 || n >= sizeof(out->pre))
            return err_set(ERR_INVALID, "\"%s\": bad pre-release", text);
        memcpy(out->pre, p + 1, n);
        out->pre[n] = '\0';
        p += 1 + n;
    }
    if (*p == '+')
        p += strlen(p);
    if (*p)
        return err_set(ERR_INVALID, "\"%s\" is not a version", text);
    return 0;
}

int semver_parse(struct semver *out, const char *text)
{
    const char *p = text;
    int parts;

    if (*p == 'v' || *p == 'V')
        p++;
    if (strpbrk(p, "xX*"))
        return err_set(ERR_INVALID, "\"%s\" is not a version", text);
    return semver_parse_partial(out, text, &parts);
}

/* Pre-release identifiers compare numerically when both are numbers,
 * numbers before words, and a shorter list first when equal so far. */
static int semver_pre_cmp(const char *a, const char *b)
{
    if (!a[0] || !b[0])
        return a[0] ? -1 : b[0] ? 1 : 0; /* a release is above its pre-releases */
    while (*a && *b) {
        size_t na = strcspn(a, "."), nb = strcspn(b, ".");
        int da = 1, db = 1, c;
        for (size_t i = 0; i < na; i++)
            da &= isdigit((unsigned char)a[i]) != 0;
        for (size_t i = 0; i < nb; i++)
            db &= isdigit((unsigned char)b[i]) != 0;
        if (da && db) {
            long x = strtol(a, NULL, 10), y = strtol(b, NULL, 10);
            c = x < y ? -1 : x > y;
        } else if (da != db) {
            c = da ? -1 : 1;
        } else {
            c = strncmp(a, b, na < nb ? na : nb);
            if (c == 0)
                c = na < nb ? -1 : na > nb;
        }
        if (c)
            return c;
        a += na + (a[na] == '.');
        b += nb + (b[nb] == '.');
    }
    return *a ? 1 : *b ? -1 : 0;
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor)
        return a->minor < b->minor ? -1 : 1;
    if (a->patch != b->patch)
        return a->patch < b->patch ? -1 : 1;
    return semver_pre_cmp(a->pre, b->pre);
}

static int semver_add(struct semver_group *g, enum semver_op op, const struct semver *v)
{
    if (g->n >= SEMVER_MAX_TERMS)
        return err_set(ERR_INVALID, "constraint has more than %d terms", SEMVER_MAX_TERMS);
    g->t[g->n].op = op;
    g->t[g->n].v = *v;
    g->n++;
    if (v->pre[0])
        g->pre = 1;
    return 0;
}

/* The version just above a partial one: 1.2 -> 1.3.0, 1 -> 2.0.0. */
static struct semver semver_bump(const struct semver *v, int parts)
{
    struct semver up = {0, 0, 0, ""};
    if (parts <= 1)
        up.major = v->major + 1;
    else if (parts == 2) {
        up.major = v->major;
        up.minor = v->minor + 1;
    } else {
        up = *v;
        up.pre[0] = '\0';
        up.patch++;
    }
    return up;
}

/* One comparator ("~1.4", ">=1.2", "1.x", "^0.2.3") into g. */
static int semver_term(struct semver_group *g, const char *text)
{
    static const struct {
        const char *s;
        enum semver_op op;
    } ops[] = {{">=", OP_GE}, {"=>", OP_GE}, {"<=", OP_LE}, {"=<", OP_LE},
               {"!=", OP_NE}, {">", OP_GT},  {"<", OP_LT},  {"=", OP_EQ}};
    const char *p = text;
    struct semver v, up;
    int parts, rc, tilde = 0, caret = 0, have_op = 0;
    enum semver_op op = OP_EQ;

    if (*p == '~') {
        tilde = 1;
        p++;
        if (*p == '>')
            p++; /* ~> is tilde too */
    } else if (*p == '^') {
        caret = 1;
        p++;
    } else {
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            if (!strncmp(p, ops[i].s, strlen(ops[i].s))) {
                op = ops[i].op;
                p += strlen(ops[i].s);
                have_op = 1;
                break;
            }
        }
    }
    while (*p == ' ')
        p++;
    if (!strcmp(p, "*") || !strcmp(p, "x") || !strcmp(p, "X") || (!*p && !have_op)) {
        struct semver zero = {0, 0, 0, ""};
        return op == OP_NE ? err_set(ERR_INVALID, "\"%s\" excludes every version", text)
                           : semver_add(g, OP_GE, &zero);
    }
    if ((rc = semver_parse_partial(&v, p, &parts)) < 0)
        return rc;
    up = semver_bump(&v, parts);
    if (tilde) {
        /* ~1.2.3 and ~1.2: next minor; ~1: next major */
        up = semver_bump(&v, parts >= 2 ? 2 : 1);
        return semver_add(g, OP_GE, &v) < 0 ? -1 : semver_add(g, OP_LT, &up);
    }
    if (caret) {
        /* the first non-zero part may not change */
        if (v.major > 0 || parts == 1)
            up = semver_bump(&v, 1);
        else if (v.minor > 0 || parts == 2)
            up = semver_bump(&v, 2);
        else
            up = semver_bump(&v, 3);
        return semver_add(g, OP_GE, &v) < 0 ? -1 : semver_add(g, OP_LT, &up);
    }
    if (parts == 3)
        return semver_add(g, op, &v);
    /* a partial version is a range */
    switch (op) {
    case OP_EQ:
        return semver_add(g, OP_GE, &v) < 0 ? -1 : semver_add(g, OP_LT, &up);
    case OP_NE:
        return err_set(ERR_INVALID, "\"%s\": != needs a full version", text);
    case OP_GT:
        return semver_add(g, OP_GE, &up);
    case OP_LE:
        return semver_add(g, OP_LT, &up);
    default:
        return semver_add(g, op, &v); /* >= 1.2 is >= 1.2.0; < 1.2 is < 1.2.0 */
    }
}

/* One AND group: terms split on "," or spaces; "A - B" is a range. */
static int semver_group(struct semver_group *g, char *text, const char *whole)
{
    char *tok[SEMVER_MAX_TERMS * 2];
    size_t n = 0, i;
    char *p = text;

    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (n == sizeof(tok) / sizeof(tok[0]))
            return err_set(ERR_INVALID, "\"%s\": too many terms", whole);
        tok[n++] = p;
        /* an operator may be followed by spaces before its version */
        while (*p && strchr("<>=!~^", *p))
            p++;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ' && *p != ',')
            p++;
        if (*p)
            *p++ = '\0';
    }
    if (n == 0)
        return err_set(ERR_INVALID, "\"%s\": empty constraint", whole);
    for (i = 0; i < n; i++) {
        int rc;
        if (i + 2 < n && !strcmp(tok[i + 1], "-")) {
            struct semver lo, hi;
            int lp, hp;
            if ((rc = semver_parse_partial(&lo, tok[i], &lp)) < 0 ||
                (rc = semver_parse_partial(&hi, tok[i + 2], &hp)) < 0)
                return err_prefix(rc, "\"%s\"", whole);
            if ((rc = semver_add(g, OP_GE, &lo)) < 0)
                return rc;
            if (hp == 3)
                rc = semver_add(g, OP_LE, &hi);
            else {
                struct semver up = semver_bump(&hi, hp);
                rc = semver_add(g, OP_LT, &up);
            }
            if (rc < 0)
                return rc;
            i += 2;
            continue;
        }
        if ((rc = semver_term(g, tok[i])) < 0)
            return err_prefix(rc, "constraint \"%s\"", whole);
    }
    return 0;
}

int semver_constraint_parse(semver_constraint **out, const char *text)
{
    semver_constraint *c = xcalloc(1, sizeof(*c));
    char *copy = xstrdup(text), *p = copy;
    int rc = 0;

    *out = NULL;
    while (p) {
        char *bar = strstr(p, "||");
        if (bar)
            *bar = '\0';
        c->g = xrealloc(c->g, (c->n + 1) * sizeof(*c->g));
        memset(&c->g[c->n], 0, sizeof(*c->g));
        if ((rc = semver_group(&c->g[c->n], p, text)) < 0)
            break;
        c->n++;
        p = bar ? bar + 2 : NULL;
    }
    free(copy);
    if (rc < 0) {
        semver_constraint_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void semver_constraint_free(semver_constraint *c)
{
    if (!c)
        return;
    free(c->g);
    free(c);
}

static int semver_term_ok(const struct semver_term *t, const struct semver *v)
{
    int c = semver_cmp(v, &t->v);
    switch (t->op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

int semver_satisfies(const semver_constraint *c, const struct semver *v)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct semver_group *g = &c->g[i];
        size_t k;
        if (v->pre[0] && !g->pre)
            continue;
        for (k = 0; k < g->n && semver_term_ok(&g->t[k], v); k++)
            ;
        if (k == g->n)
            return 1;
    }
    return 0;
}

int semver_is_constraint(const char *text)
{
    const char *p = text;
    if (strpbrk(text, "<>=~^*, |"))
        return 1;
    if (*p == 'v' || *p == 'V')
        p++;
    /* 1.x, 1.2.X */
    for (; *p; p++)
        if ((*p == 'x' || *p == 'X') && (p == text || p[-1] == '.') && (!p[1] || p[1] == '.'))
            return 1;
    return 0;
}

int semver_is_version(const char *text)
{
    struct semver v;
    int parts;

    if (strpbrk(text, "xX*") || semver_parse_partial(&v, text, &parts) < 0) {
        err_clear();
        return 0;
    }
    return 1;
}
