/*
 * Matching by backtracking over the pattern. Alternatives are handled by
 * trying each branch followed by the rest of the pattern after the
 * closing brace, which keeps the matcher a single recursive function and
 * needs no expansion into a list of patterns (a hostile `{a,b}{a,b}...`
 * would expand exponentially; here each branch is tried in place, and
 * the depth bound caps the recursion).
 */
#include "core/glob.h"

#include <string.h>

#include "core/err.h"

#define GLOB_MAX_DEPTH 16

/* The end of the class starting at p ('[' already passed): the ']', or
 * NULL if unclosed. */
static const char *glob_class_end(const char *p)
{
    if (*p == '!' || *p == '^')
        p++;
    if (*p == ']')
        p++;
    for (; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == ']')
            return p;
    }
    return NULL;
}

/* The '}' closing the brace group whose '{' is just before p, or NULL. */
static const char *glob_brace_end(const char *p)
{
    int depth = 1;
    for (; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '[') {
            const char *e = glob_class_end(p + 1);
            if (!e)
                return NULL;
            p = e;
        } else if (*p == '{')
            depth++;
        else if (*p == '}' && --depth == 0)
            return p;
    }
    return NULL;
}

int glob_check(const char *pattern)
{
    int depth = 0;
    for (const char *p = pattern; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return err_set(ERR_INVALID, "glob \"%s\": ends with a lone \\", pattern);
            p++;
        } else if (*p == '[') {
            const char *e = glob_class_end(p + 1);
            if (!e)
                return err_set(ERR_INVALID, "glob \"%s\": unclosed [", pattern);
            p = e;
        } else if (*p == '{') {
            if (!glob_brace_end(p + 1))
                return err_set(ERR_INVALID, "glob \"%s\": unclosed {", pattern);
            if (++depth > GLOB_MAX_DEPTH)
                return err_set(ERR_INVALID, "glob \"%s\": braces nested deeper than %d", pattern,
                               GLOB_MAX_DEPTH);
        } else if (*p == '}') {
            depth--;
        }
    }
    return 0;
}

/* 1 if c is in the class [p, end). */
static int glob_class_has(const char *p, const char *end, char c)
{
    int neg = 0, hit = 0;
    if (*p == '!' || *p == '^') {
        neg = 1;
        p++;
    }
    while (p < end) {
        char lo = *p, hi;
        if (lo == '\\' && p + 1 < end)
            lo = *++p;
        p++;
        hi = lo;
        if (p + 1 < end && *p == '-') {
            hi = p[1];
            if (hi == '\\' && p + 2 < end)
                hi = p[2], p++;
            p += 2;
        }
        if (c >= lo && c <= hi)
            hit = 1;
    }
    return hit != neg;
}

/* Match pattern p (up to pend) followed by the continuation stack rest
 * (patterns still to match after closing braces) against s. */
struct glob_cont {
    const char *p, *end;
    const struct glob_cont *next;
};

static int glob_match_at(const char *p, const char *pend, const struct glob_cont *rest,
                         const char *s)
{
    while (p < pend) {
        switch (*p) {
        case '*': {
            while (p < pend && *p == '*')
                p++;
            for (const char *t = s;; t++) {
                if (glob_match_at(p, pend, rest, t))
                    return 1;
                if (!*t)
                    return 0;
            }
        }
        case '?':
            if (!*s)
                return 0;
            p++, s++;
            break;
        case '[': {
            const char *e = glob_class_end(p + 1);
            if (!*s || !glob_class_has(p + 1, e, *s))
                return 0;
            p = e + 1, s++;
            break;
        }
        case '{': {
            const char *close = glob_brace_end(p + 1), *alt = p + 1, *q;
            struct glob_cont after = {close + 1, pend, rest};
            int depth = 0;
            for (q = alt; q <= close; q++) {
                if (*q == '\\' && q + 1 < close) {
                    q++;
                } else if (*q == '[') {
                    q = glob_class_end(q + 1);
                } else if (*q == '{') {
                    depth++;
                } else if (*q == '}' && depth > 0) {
                    depth--;
                } else if ((*q == ',' && depth == 0) || q == close) {
                    if (glob_match_at(alt, q, &after, s))
                        return 1;
                    alt = q + 1;
                }
            }
            return 0;
        }
        case '\\':
            p++; /* the quoted character is literal */
            if (*p != *s)
                return 0;
            p++, s++;
            break;
        default:
            if (*p != *s)
                return 0;
            p++, s++;
            break;
        }
    }
    if (rest)
        return glob_match_at(rest->p, rest->end, rest->next, s);
    return *s == '\0';
}

int glob_match(const char *pattern, const char *text)
{
    return glob_match_at(pattern, pattern + strlen(pattern), NULL, text);
}
