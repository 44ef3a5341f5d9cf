/*
 * Matching as a set of live positions in the pattern (a Thompson NFA):
 * each character of the string moves every live position forward at once,
 * so a match costs at most (string length x pattern length) steps. Patterns
 * and the names they match both come from Git; a backtracking matcher
 * would take exponential time on "*a*a*a*a*a*b" against a long run of 'a'.
 * Braces cost nothing at match time: '{' leads to the start of each
 * alternative, a ',' of the group and its '}' to just after the group, so
 * a hostile `{a,b}{a,b}...` is never expanded into a list of patterns.
 */
#include "core/glob.h"

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

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

/* What a pattern position does; see the file comment. */
enum glob_op {
    GLOB_LIT,   /* one character equal to p[i] */
    GLOB_ESC,   /* one character equal to p[i + 1] */
    GLOB_ONE,   /* '?' */
    GLOB_CLASS, /* '[...]' */
    GLOB_STAR,  /* a run of '*' */
    GLOB_OPEN,  /* '{': to each alternative */
    GLOB_ALT,   /* a ',' of a group: to after the group */
    GLOB_CLOSE, /* a group's '}': to the next position */
    GLOB_END,   /* the end of the pattern: a match */
};

struct glob_prog {
    const char *p;
    size_t len;
    unsigned char *op;        /* enum glob_op per position */
    size_t *next;             /* where a position leads once it has matched */
    size_t *alt;              /* OPEN, ALT: the group's next ',' or its '}' */
    unsigned char *star;      /* STAR: 1 if it crosses the separator */
    unsigned char *cur, *new; /* live positions, before and after a character */
    size_t *stack;
    size_t *open, *last; /* while compiling: the open groups, their last ',' */
};

/* Positions of the pattern and their moves. Positions never reached (the
 * inside of a class, the rest of a '*' run) keep GLOB_LIT and are simply
 * never added. An unclosed '[' or '{' (a pattern glob_check refused) is a
 * literal character. */
static void glob_compile(struct glob_prog *g, char sep)
{
    size_t *open = g->open, *last = g->last;
    size_t depth = 0, i = 0, n = g->len;
    const char *p = g->p;

    while (i < n) {
        const char *e;
        g->op[i] = GLOB_LIT;
        g->next[i] = i + 1;
        if (p[i] == '\\' && i + 1 < n) {
            g->op[i] = GLOB_ESC;
            g->next[i] = i + 2;
        } else if (p[i] == '?') {
            g->op[i] = GLOB_ONE;
        } else if (p[i] == '*') {
            size_t j = i;
            while (j < n && p[j] == '*')
                j++;
            g->op[i] = GLOB_STAR;
            g->star[i] = !sep || j - i > 1;
            g->next[i] = j;
        } else if (p[i] == '[' && (e = glob_class_end(p + i + 1)) != NULL) {
            g->op[i] = GLOB_CLASS;
            g->next[i] = (size_t)(e - p) + 1;
        } else if (p[i] == '{' && glob_brace_end(p + i + 1)) {
            g->op[i] = GLOB_OPEN;
            open[depth] = last[depth] = i;
            depth++;
        } else if (p[i] == ',' && depth > 0) {
            g->op[i] = GLOB_ALT;
            g->alt[last[depth - 1]] = i;
            last[depth - 1] = i;
        } else if (p[i] == '}' && depth > 0) {
            depth--;
            g->op[i] = GLOB_CLOSE;
            g->alt[last[depth]] = i;
            /* every ',' of the group leads past its '}' */
            for (size_t a = g->alt[open[depth]]; a != i; a = g->alt[a])
                g->next[a] = i + 1;
        }
        i = g->op[i] == GLOB_OPEN || g->op[i] == GLOB_ALT || g->op[i] == GLOB_CLOSE ? i + 1
                                                                                    : g->next[i];
    }
    g->op[n] = GLOB_END;
}

/* Make position s live in set, with every position it reaches without
 * consuming a character. */
static void glob_add(struct glob_prog *g, unsigned char *set, size_t s)
{
    size_t top = 0;

    if (set[s])
        return;
    set[s] = 1;
    g->stack[top++] = s;
    while (top > 0) {
        size_t reach[2] = {SIZE_MAX, SIZE_MAX}, k;
        s = g->stack[--top];
        switch (g->op[s]) {
        case GLOB_OPEN:
            /* the first alternative here, the others after each ',' */
            reach[0] = s + 1;
            for (k = g->alt[s]; g->op[k] == GLOB_ALT; k = g->alt[k])
                if (!set[k + 1]) {
                    set[k + 1] = 1;
                    g->stack[top++] = k + 1;
                }
            break;
        case GLOB_ALT:
        case GLOB_STAR:
            reach[0] = g->next[s];
            break;
        case GLOB_CLOSE:
            reach[0] = s + 1;
            break;
        default:
            break;
        }
        for (k = 0; k < 2 && reach[k] != SIZE_MAX; k++)
            if (!set[reach[k]]) {
                set[reach[k]] = 1;
                g->stack[top++] = reach[k];
            }
    }
}

/* Whether position s consumes c. */
static int glob_step(const struct glob_prog *g, size_t s, char c, char sep)
{
    const char *p = g->p;

    switch (g->op[s]) {
    case GLOB_LIT:
        return p[s] == c;
    case GLOB_ESC:
        return p[s + 1] == c;
    case GLOB_ONE:
        return !sep || c != sep;
    case GLOB_CLASS:
        return glob_class_has(p + s + 1, p + g->next[s] - 1, c);
    case GLOB_STAR:
        return g->star[s] || c != sep;
    default:
        return 0;
    }
}

int glob_match(const char *pattern, const char *s, char sep)
{
    struct glob_prog g;
    size_t n = strlen(pattern), slots = n + 1, i;
    unsigned char *t;
    int matched;

    /* one block: op, star, cur, new (bytes), then next, alt, stack, open,
     * last */
    char *mem = xcalloc(1, slots * 4 + slots * 5 * sizeof(size_t) + sizeof(size_t));
    g.p = pattern;
    g.len = n;
    g.op = (unsigned char *)mem;
    g.star = g.op + slots;
    g.cur = g.star + slots;
    g.new = g.cur + slots;
    /* align the size_t arrays */
    g.next = (size_t *)(mem + ((slots * 4 + sizeof(size_t) - 1) / sizeof(size_t)) * sizeof(size_t));
    g.alt = g.next + slots;
    g.stack = g.alt + slots;
    g.open = g.stack + slots;
    g.last = g.open + slots;
    glob_compile(&g, sep);

    glob_add(&g, g.cur, 0);
    for (; *s; s++) {
        memset(g.new, 0, slots);
        for (i = 0; i < slots; i++) {
            if (!g.cur[i] || !glob_step(&g, i, *s, sep))
                continue;
            glob_add(&g, g.new, g.op[i] == GLOB_STAR ? i : g.next[i]);
        }
        t = g.cur, g.cur = g.new, g.new = t;
    }
    matched = g.cur[n];
    free(mem);
    return matched;
}
