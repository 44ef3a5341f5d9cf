/*
 * Unified diff, choosing the edit script GNU diff 3.8 chooses. Equally
 * short scripts abound (which of three equal lines was deleted?), so
 * `diff -u`'s exact output is the sum of its choices, made in this order:
 *
 * 1. Lines common to both texts at the start and at the end are set
 *    aside, except `context` lines next to the middle on each side, which
 *    stay in play so that changes can slide into them (GNU's "horizon").
 *    Everything below sees only the middle.
 * 2. Each line becomes a class number: equal lines, equal numbers. A last
 *    line without '\n' equals only another such line.
 * 3. Lines of one text found nowhere in the other are changes for sure and
 *    leave the search; lines found very often in the other text leave it
 *    too when they sit inside a run of sure changes (GNU's
 *    discard_confusing_lines and its thresholds).
 * 4. Myers' O(ND) search for the middle snake, forward and backward at
 *    once, recursing on both halves, with Myers' tie-breaks and GNU's cost
 *    cut-off (past about the square root of the input size, at least
 *    4096, take the furthest point reached as the middle).
 * 5. Each run of changes slides over equal neighbours to merge with other
 *    runs, otherwise as far down as it goes, then back up to the last place
 *    where it lines up with a change in the other text (GNU's
 *    shift_boundaries).
 * 6. Changes fewer than 2*context+1 lines apart share a hunk.
 *
 * Memory: the lines, one class number and flag per line, and two
 * diagonal vectors of N+M+3 entries.
 */
#include "core/diff.h"

#include <stdint.h>
#include <string.h>

#include "core/mem.h"

struct diff_line {
    const char *p;
    size_t n;     /* bytes, without the '\n' */
    int complete; /* ends with '\n' */
};

/* One text's middle (step 1) as the search sees it. */
struct diff_side {
    ptrdiff_t n;     /* lines in the middle */
    ptrdiff_t *cls;  /* class of each line */
    char *chg;       /* 1: deleted (old) or inserted (new); chg[-1], chg[n] are 0 */
    ptrdiff_t *kept; /* classes of the lines left for the search (step 3) */
    ptrdiff_t *real; /* index in the middle of each kept line */
    ptrdiff_t nkept;
};

struct diff_change {
    ptrdiff_t line0, line1; /* first line affected in each text, from 0 */
    ptrdiff_t deleted, inserted;
};

static struct diff_line *diff_split(const char *s, size_t len, ptrdiff_t *n_out)
{
    size_t i, n = 0;
    struct diff_line *v;
    for (i = 0; i < len; i++)
        n += s[i] == '\n';
    if (len && s[len - 1] != '\n')
        n++;
    v = xmalloc((n ? n : 1) * sizeof *v);
    n = 0;
    for (i = 0; i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - s) : len;
        v[n].p = s + i;
        v[n].n = end - i;
        v[n].complete = nl != NULL;
        n++;
        i = nl ? end + 1 : len;
    }
    *n_out = (ptrdiff_t)n;
    return v;
}

static int diff_line_eq(const struct diff_line *a, const struct diff_line *b)
{
    return a->n == b->n && a->complete == b->complete && memcmp(a->p, b->p, a->n) == 0;
}

static uint64_t diff_line_hash(const struct diff_line *l)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < l->n; i++)
        h = (h ^ (unsigned char)l->p[i]) * 1099511628211u;
    return h ^ (uint64_t)l->complete;
}

/* Step 2: class numbers (from 1) for the lines of both middles, through
 * an open-addressing table of first occurrences. Returns the number of
 * classes. */
static ptrdiff_t diff_classes(const struct diff_line *const lines[2], struct diff_side side[2])
{
    size_t cap = 16, total = (size_t)(side[0].n + side[1].n), mask;
    ptrdiff_t *slot, nclasses = 0;
    const struct diff_line **rep;
    uint64_t *hash;

    while (cap < 2 * total)
        cap *= 2;
    mask = cap - 1;
    slot = xcalloc(cap, sizeof *slot);
    rep = xmalloc((total + 1) * sizeof *rep);
    hash = xmalloc((total + 1) * sizeof *hash);
    for (int f = 0; f < 2; f++) {
        for (ptrdiff_t i = 0; i < side[f].n; i++) {
            const struct diff_line *l = &lines[f][i];
            uint64_t h = diff_line_hash(l);
            size_t k = (size_t)h & mask;
            while (slot[k] && !(hash[slot[k]] == h && diff_line_eq(rep[slot[k]], l)))
                k = (k + 1) & mask;
            if (!slot[k]) {
                slot[k] = ++nclasses;
                rep[nclasses] = l;
                hash[nclasses] = h;
            }
            side[f].cls[i] = slot[k];
        }
    }
    free(slot);
    free(rep);
    free(hash);
    return nclasses;
}

/* Step 3, within one text: mark holds 1 for lines absent from the other
 * text and 2 for lines very frequent there. A frequent line stays in the
 * search unless it sits in a run of marked lines that begins and ends with
 * absent lines and is not too thick with frequent ones; short stretches at
 * both ends of such a run and long stretches of frequent lines inside it
 * stay in the search too. */
static void diff_discard_runs(char *mark, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        ptrdiff_t j, length, frequent = 0, consec, minimum = 1;

        if (mark[i] == 2)
            mark[i] = 0;
        if (mark[i] == 0)
            continue;
        for (j = i; j < n && mark[j]; j++)
            frequent += mark[j] == 2;
        while (j > i && mark[j - 1] == 2)
            mark[--j] = 0, frequent--;
        length = j - i;
        if (frequent * 4 > length) {
            while (j > i)
                if (mark[--j] == 2)
                    mark[j] = 0;
            continue;
        }
        /* minimum: about the square root of length/4, plus one. */
        for (ptrdiff_t t = length >> 2; (t >>= 2) > 0;)
            minimum <<= 1;
        minimum++;
        /* Keep every stretch of at least minimum frequent lines: on
         * reaching the minimum, step back and clear the whole stretch. */
        for (j = 0, consec = 0; j < length; j++) {
            if (mark[i + j] != 2)
                consec = 0;
            else if (++consec == minimum)
                j -= consec;
            else if (consec > minimum)
                mark[i + j] = 0;
        }
        /* From the start until three absent lines in a row, or an absent
         * line at least 8 in, keep the frequent lines. */
        for (j = 0, consec = 0; j < length; j++) {
            if (j >= 8 && mark[i + j] == 1)
                break;
            if (mark[i + j] == 2)
                consec = 0, mark[i + j] = 0;
            else if (mark[i + j] == 0)
                consec = 0;
            else
                consec++;
            if (consec == 3)
                break;
        }
        i += length - 1;
        /* The same from the end. */
        for (j = 0, consec = 0; j < length; j++) {
            if (j >= 8 && mark[i - j] == 1)
                break;
            if (mark[i - j] == 2)
                consec = 0, mark[i - j] = 0;
            else if (mark[i - j] == 0)
                consec = 0;
            else
                consec++;
            if (consec == 3)
                break;
        }
    }
}

/* Step 3: fill kept/real of both sides; lines taken out are changes. */
static void diff_discard(struct diff_side side[2], ptrdiff_t nclasses)
{
    ptrdiff_t *count = xcalloc(2 * (size_t)(nclasses + 1), sizeof *count);

    for (int f = 0; f < 2; f++)
        for (ptrdiff_t i = 0; i < side[f].n; i++)
            count[f * (nclasses + 1) + side[f].cls[i]]++;
    for (int f = 0; f < 2; f++) {
        struct diff_side *s = &side[f];
        const ptrdiff_t *other = count + (1 - f) * (nclasses + 1);
        char *mark = xcalloc((size_t)s->n + 1, 1);
        ptrdiff_t many = 5; /* times about the square root of n/64 */

        for (ptrdiff_t t = s->n / 64; (t >>= 2) > 0;)
            many *= 2;
        for (ptrdiff_t i = 0; i < s->n; i++) {
            ptrdiff_t seen = other[s->cls[i]];
            mark[i] = seen == 0 ? 1 : seen > many ? 2 : 0;
        }
        diff_discard_runs(mark, s->n);
        s->kept = xmalloc(((size_t)s->n + 1) * sizeof *s->kept);
        s->real = xmalloc(((size_t)s->n + 1) * sizeof *s->real);
        s->nkept = 0;
        for (ptrdiff_t i = 0; i < s->n; i++) {
            if (mark[i]) {
                s->chg[i] = 1;
            } else {
                s->kept[s->nkept] = s->cls[i];
                s->real[s->nkept++] = i;
            }
        }
        free(mark);
    }
    free(count);
}

/* Step 4. fd[d] is the furthest x reached on diagonal d = x - y going
 * forward, bd[d] the smallest going backward. */
struct diff_search {
    const ptrdiff_t *x, *y;
    ptrdiff_t *fd, *bd;
    ptrdiff_t too_expensive;
    struct diff_side *side; /* [0] old, [1] new: where changes are marked */
};

struct diff_mid {
    ptrdiff_t x, y;
    int lo_minimal, hi_minimal; /* each half may still be searched exactly */
};

/* The search went on too long: take, of the forward and backward fronts,
 * the point that got furthest from its corner as the middle. */
static void diff_middle_guess(const struct diff_search *s, ptrdiff_t xoff, ptrdiff_t xlim,
                              ptrdiff_t yoff, ptrdiff_t ylim, ptrdiff_t fmin, ptrdiff_t fmax,
                              ptrdiff_t bmin, ptrdiff_t bmax, struct diff_mid *mid)
{
    ptrdiff_t d, fbest = -1, fx = 0, bbest = PTRDIFF_MAX, bx = 0;

    for (d = fmax; d >= fmin; d -= 2) {
        ptrdiff_t x = s->fd[d] < xlim ? s->fd[d] : xlim, y = x - d;
        if (y > ylim)
            x = ylim + d, y = ylim;
        if (x + y > fbest)
            fbest = x + y, fx = x;
    }
    for (d = bmax; d >= bmin; d -= 2) {
        ptrdiff_t x = s->bd[d] > xoff ? s->bd[d] : xoff, y = x - d;
        if (y < yoff)
            x = yoff + d, y = yoff;
        if (x + y < bbest)
            bbest = x + y, bx = x;
    }
    if ((xlim + ylim) - bbest < fbest - (xoff + yoff)) {
        mid->x = fx, mid->y = fbest - fx;
        mid->lo_minimal = 1, mid->hi_minimal = 0;
    } else {
        mid->x = bx, mid->y = bbest - bx;
        mid->lo_minimal = 0, mid->hi_minimal = 1;
    }
}

/* The middle of a shortest edit script of x[xoff,xlim) to y[yoff,ylim),
 * whose first and last lines differ. */
static void diff_middle(const struct diff_search *s, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
                        ptrdiff_t ylim, int minimal, struct diff_mid *mid)
{
    ptrdiff_t *fd = s->fd, *bd = s->bd;
    const ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
    const ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
    ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
    const int odd = (fmid - bmid) & 1; /* the fronts meet on a forward step */

    fd[fmid] = xoff;
    bd[bmid] = xlim;
    mid->lo_minimal = mid->hi_minimal = 1;
    for (ptrdiff_t cost = 1;; cost++) {
        ptrdiff_t d;

        if (fmin > dmin)
            fd[--fmin - 1] = -1;
        else
            fmin++;
        if (fmax < dmax)
            fd[++fmax + 1] = -1;
        else
            fmax--;
        for (d = fmax; d >= fmin; d -= 2) {
            ptrdiff_t below = fd[d - 1], above = fd[d + 1];
            ptrdiff_t x = below < above ? above : below + 1, y = x - d;
            while (x < xlim && y < ylim && s->x[x] == s->y[y])
                x++, y++;
            fd[d] = x;
            if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
                mid->x = x, mid->y = y;
                return;
            }
        }

        if (bmin > dmin)
            bd[--bmin - 1] = PTRDIFF_MAX;
        else
            bmin++;
        if (bmax < dmax)
            bd[++bmax + 1] = PTRDIFF_MAX;
        else
            bmax--;
        for (d = bmax; d >= bmin; d -= 2) {
            ptrdiff_t below = bd[d - 1], above = bd[d + 1];
            ptrdiff_t x = below < above ? below : above - 1, y = x - d;
            while (xoff < x && yoff < y && s->x[x - 1] == s->y[y - 1])
                x--, y--;
            bd[d] = x;
            if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
                mid->x = x, mid->y = y;
                return;
            }
        }

        if (!minimal && cost >= s->too_expensive) {
            diff_middle_guess(s, xoff, xlim, yoff, ylim, fmin, fmax, bmin, bmax, mid);
            return;
        }
    }
}

/* Mark the changes turning x[xoff,xlim) into y[yoff,ylim). The smaller
 * half recurses and the larger one loops, so the stack stays shallow. */
static void diff_compare(const struct diff_search *s, ptrdiff_t xoff, ptrdiff_t xlim,
                         ptrdiff_t yoff, ptrdiff_t ylim, int minimal)
{
    for (;;) {
        struct diff_mid mid;

        while (xoff < xlim && yoff < ylim && s->x[xoff] == s->y[yoff])
            xoff++, yoff++;
        while (xoff < xlim && yoff < ylim && s->x[xlim - 1] == s->y[ylim - 1])
            xlim--, ylim--;
        if (xoff == xlim) {
            while (yoff < ylim)
                s->side[1].chg[s->side[1].real[yoff++]] = 1;
            return;
        }
        if (yoff == ylim) {
            while (xoff < xlim)
                s->side[0].chg[s->side[0].real[xoff++]] = 1;
            return;
        }
        diff_middle(s, xoff, xlim, yoff, ylim, minimal, &mid);
        if ((xlim + ylim) - (mid.x + mid.y) < (mid.x + mid.y) - (xoff + yoff)) {
            diff_compare(s, mid.x, xlim, mid.y, ylim, mid.hi_minimal);
            xlim = mid.x, ylim = mid.y, minimal = mid.lo_minimal;
        } else {
            diff_compare(s, xoff, mid.x, yoff, mid.y, mid.lo_minimal);
            xoff = mid.x, yoff = mid.y, minimal = mid.hi_minimal;
        }
    }
}

/* Step 5 for the changes of me, with j following the matching position
 * in other. */
static void diff_slide(struct diff_side *me, const struct diff_side *other)
{
    char *chg = me->chg;
    const char *och = other->chg;
    const ptrdiff_t *cls = me->cls, end = me->n;
    ptrdiff_t i = 0, j = 0;

    for (;;) {
        ptrdiff_t start, length, lined_up;

        while (i < end && !chg[i]) {
            while (och[j++])
                ;
            i++;
        }
        if (i == end)
            return;
        start = i;
        while (chg[++i])
            ;
        while (och[j])
            j++;
        do {
            length = i - start;
            /* Up while the line above equals the run's last line, merging
             * with runs above. */
            while (start && cls[start - 1] == cls[i - 1]) {
                chg[--start] = 1;
                chg[--i] = 0;
                while (chg[start - 1])
                    start--;
                while (och[--j])
                    ;
            }
            /* The run's end where it last lined up with a change in other
             * (end: nowhere yet). */
            lined_up = och[j - 1] ? i : end;
            /* Down while the run's first line equals the line below,
             * merging with runs below. */
            while (i != end && cls[start] == cls[i]) {
                chg[start++] = 0;
                chg[i++] = 1;
                while (chg[i])
                    i++;
                while (och[++j])
                    lined_up = i;
            }
        } while (length != i - start);
        while (lined_up < i) {
            chg[--start] = 1;
            chg[--i] = 0;
            while (och[--j])
                ;
        }
    }
}

/* Steps 2-5 on the middles; returns the changes (offset by base) and
 * their number. */
static struct diff_change *diff_script(const struct diff_line *const lines[2],
                                       struct diff_side side[2], ptrdiff_t base, size_t *n_out)
{
    struct diff_search s;
    ptrdiff_t nclasses, diags, i0 = 0, i1 = 0;
    struct diff_change *v = xmalloc(((size_t)(side[0].n + side[1].n) + 1) * sizeof *v);
    size_t n = 0;

    nclasses = diff_classes(lines, side);
    diff_discard(side, nclasses);

    diags = side[0].nkept + side[1].nkept + 3;
    s.x = side[0].kept;
    s.y = side[1].kept;
    s.fd = xmalloc(2 * (size_t)diags * sizeof *s.fd);
    s.bd = s.fd + diags;
    s.fd += side[1].nkept + 1;
    s.bd += side[1].nkept + 1;
    s.side = side;
    s.too_expensive = 1;
    for (ptrdiff_t t = diags; t; t >>= 2)
        s.too_expensive <<= 1;
    if (s.too_expensive < 4096)
        s.too_expensive = 4096;
    diff_compare(&s, 0, side[0].nkept, 0, side[1].nkept, 0);
    free(s.fd - (side[1].nkept + 1));

    diff_slide(&side[0], &side[1]);
    diff_slide(&side[1], &side[0]);

    while (i0 < side[0].n || i1 < side[1].n) {
        if (side[0].chg[i0] || side[1].chg[i1]) {
            struct diff_change *c = &v[n++];
            c->line0 = i0, c->line1 = i1;
            while (side[0].chg[i0])
                i0++;
            while (side[1].chg[i1])
                i1++;
            c->deleted = i0 - c->line0, c->inserted = i1 - c->line1;
            c->line0 += base, c->line1 += base;
        }
        i0++, i1++;
    }
    *n_out = n;
    return v;
}

/* A hunk header's range of lines first..last (from 0; last < first when
 * empty), as GNU prints it: "3" for one line, "3,4" from 3 for 4, and for
 * none the line before with ",0". */
static void diff_put_range(struct buf *out, ptrdiff_t first, ptrdiff_t last)
{
    if (last < first)
        buf_printf(out, "%td,0", last + 1);
    else if (last == first)
        buf_printf(out, "%td", first + 1);
    else
        buf_printf(out, "%td,%td", first + 1, last - first + 1);
}

static void diff_put_line(struct buf *out, char mark, const struct diff_line *l)
{
    buf_putc(out, mark);
    buf_put(out, l->p, l->n);
    buf_putc(out, '\n');
    if (!l->complete)
        buf_puts(out, "\\ No newline at end of file\n");
}

/* Step 6: changes ch[0..n) as hunks with ctx lines of context. */
static void diff_put_hunks(struct buf *out, const struct diff_line *const lines[2],
                           const ptrdiff_t nlines[2], const struct diff_change *ch, size_t n,
                           ptrdiff_t ctx)
{
    for (size_t first = 0, last; first < n; first = last + 1) {
        ptrdiff_t f0, l0, f1, l1, i, j;
        size_t next = first;

        for (last = first; last + 1 < n; last++) {
            ptrdiff_t gap = ch[last + 1].line0 - (ch[last].line0 + ch[last].deleted);
            if (gap >= 2 * ctx + 1)
                break;
        }
        f0 = ch[first].line0 - ctx;
        f1 = ch[first].line1 - ctx;
        l0 = ch[last].line0 + ch[last].deleted - 1 + ctx;
        l1 = ch[last].line1 + ch[last].inserted - 1 + ctx;
        f0 = f0 < 0 ? 0 : f0;
        f1 = f1 < 0 ? 0 : f1;
        l0 = l0 < nlines[0] ? l0 : nlines[0] - 1;
        l1 = l1 < nlines[1] ? l1 : nlines[1] - 1;

        buf_puts(out, "@@ -");
        diff_put_range(out, f0, l0);
        buf_puts(out, " +");
        diff_put_range(out, f1, l1);
        buf_puts(out, " @@\n");
        for (i = f0, j = f1; i <= l0 || j <= l1;) {
            if (next > last || i < ch[next].line0) {
                diff_put_line(out, ' ', &lines[0][i++]);
                j++;
                continue;
            }
            for (ptrdiff_t k = 0; k < ch[next].deleted; k++)
                diff_put_line(out, '-', &lines[0][i++]);
            for (ptrdiff_t k = 0; k < ch[next].inserted; k++)
                diff_put_line(out, '+', &lines[1][j++]);
            next++;
        }
    }
}

int diff_unified(struct buf *out, const char *old_text, size_t old_len, const char *new_text,
                 size_t new_len, const struct diff_options *opt)
{
    static const struct diff_options defaults = DIFF_OPTIONS_INIT;
    struct diff_line *line[2];
    const struct diff_line *cline[2], *mline[2];
    ptrdiff_t n[2], ctx, prefix = 0, suffix = 0, base, tail;
    struct diff_side side[2];
    struct diff_change *ch;
    size_t nch;

    if (old_len == new_len && (old_len == 0 || memcmp(old_text, new_text, old_len) == 0))
        return 0;
    if (!opt)
        opt = &defaults;
    ctx = opt->context < 0 ? 0 : opt->context;
    line[0] = diff_split(old_text, old_len, &n[0]);
    line[1] = diff_split(new_text, new_len, &n[1]);

    /* Step 1. The common end is looked for only when both texts end alike
     * (both with '\n' or both without), and never overlaps what is left of
     * the common start. */
    while (prefix < n[0] && prefix < n[1] && diff_line_eq(&line[0][prefix], &line[1][prefix]))
        prefix++;
    base = prefix > ctx ? prefix - ctx : 0;
    if ((n[0] && !line[0][n[0] - 1].complete) == (n[1] && !line[1][n[1] - 1].complete)) {
        while (suffix < n[0] - base && suffix < n[1] - base &&
               diff_line_eq(&line[0][n[0] - 1 - suffix], &line[1][n[1] - 1 - suffix]))
            suffix++;
    }
    tail = suffix > ctx ? suffix - ctx : 0;

    for (int f = 0; f < 2; f++) {
        side[f].n = n[f] - base - tail;
        side[f].cls = xmalloc(((size_t)side[f].n + 1) * sizeof *side[f].cls);
        side[f].chg = (char *)xcalloc((size_t)side[f].n + 2, 1) + 1;
        cline[f] = line[f];
        mline[f] = line[f] + base;
    }
    ch = diff_script(mline, side, base, &nch);

    buf_printf(out, "--- %s\n+++ %s\n", opt->label_old, opt->label_new);
    diff_put_hunks(out, cline, n, ch, nch, ctx);

    free(ch);
    for (int f = 0; f < 2; f++) {
        free(side[f].cls);
        free(side[f].chg - 1);
        free(side[f].kept);
        free(side[f].real);
        free(line[f]);
    }
    return 1;
}
