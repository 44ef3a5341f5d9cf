/* Tests for appliance/core/diff.c: fixed cases, then random pairs of
 * texts checked byte for byte against GNU diff (`diff -u --label desired
 * --label live`), the output edgecd promises to match. EDGECD_DIFF_SEED
 * picks another random sequence; a failing pair is kept in the test's
 * temporary folder. */
#include "core/diff.h"

#include <stdint.h>
#include <sys/wait.h>

#include "core/buf.h"
#include "test.h"

static char *tmp;

/* The unified diff of two C strings. */
static char *udiff(const char *a, const char *b, int *differ)
{
    struct buf out = BUF_INIT;
    *differ = diff_unified(&out, a, strlen(a), b, strlen(b), NULL);
    return buf_detach(&out);
}

TEST(equal_texts_give_nothing)
{
    struct buf out = BUF_INIT;
    CHECK(diff_unified(&out, "a\nb\n", 4, "a\nb\n", 4, NULL) == 0);
    CHECK(out.len == 0);
    CHECK(diff_unified(&out, "", 0, NULL, 0, NULL) == 0);
    CHECK(out.len == 0);
    buf_dispose(&out);
}

TEST(fixed_cases)
{
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"a\nb\nc\n", "a\nB\nc\n", "--- desired\n+++ live\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
        {"", "x\ny\n", "--- desired\n+++ live\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
        {"x\n", "", "--- desired\n+++ live\n@@ -1 +0,0 @@\n-x\n"},
        {"x\n", "x", "--- desired\n+++ live\n@@ -1 +1 @@\n-x\n+x\n\\ No newline at end of file\n"},
        {"a\nb", "a\nc",
         "--- desired\n+++ live\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
         "\\ No newline at end of file\n"},
        /* The context line keeps its marker too. */
        {"a\nz", "b\nz",
         "--- desired\n+++ live\n@@ -1,2 +1,2 @@\n-a\n+b\n z\n\\ No newline at end of file\n"},
        /* Changes 7 lines apart are two hunks, 6 apart one. */
        {"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "X\n2\n3\n4\n5\n6\n7\n8\nY\n",
         "--- desired\n+++ live\n@@ -1,4 +1,4 @@\n-1\n+X\n 2\n 3\n 4\n@@ -6,4 +6,4 @@\n 6\n 7\n"
         " 8\n-9\n+Y\n"},
        {"1\n2\n3\n4\n5\n6\n7\n8\n", "X\n2\n3\n4\n5\n6\n7\nY\n",
         "--- desired\n+++ live\n@@ -1,8 +1,8 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int differ;
        char *got = udiff(cases[i].a, cases[i].b, &differ);
        if (!differ || strcmp(got, cases[i].want) != 0)
            TEST_FAIL_("case %zu: got\n%s\nwant\n%s", i, got, cases[i].want);
        free(got);
    }
}

TEST(labels_and_context_from_options)
{
    struct diff_options opt = {"a/cm.yaml", "b/cm.yaml", 1};
    struct buf out = BUF_INIT;
    const char *a = "1\n2\n3\n4\n5\n", *b = "1\n2\nX\n4\n5\n";
    CHECK(diff_unified(&out, a, strlen(a), b, strlen(b), &opt) == 1);
    CHECK_STR(buf_cstr(&out), "--- a/cm.yaml\n+++ b/cm.yaml\n@@ -2,3 +2,3 @@\n 2\n-3\n+X\n 4\n");
    buf_dispose(&out);
}

/* xorshift64*: reproducible from the seed on every machine. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}
static size_t rnd(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

/* One line from a pool of `alphabet` lines; some pools add lines found in
 * one text only (`unique` tags them) so that GNU's discarding of lines
 * without a match, and of very frequent ones, is exercised. */
static void gen_line(struct buf *b, size_t alphabet, int unique_rate, const char *unique)
{
    size_t k;
    if (unique_rate && (int)rnd(100) < unique_rate) {
        buf_printf(b, "%s-%llu\n", unique, (unsigned long long)(rng() % 1000000));
        return;
    }
    k = rnd(alphabet);
    switch (k % 6) { /* shapes of YAML lines, and blank ones */
    case 0:
        buf_puts(b, "\n");
        break;
    case 1:
        buf_printf(b, "  replicas: %zu\n", k);
        break;
    case 2:
        buf_printf(b, "- name: c%zu\n", k);
        break;
    case 3:
        buf_printf(b, "key%zu: value\n", k);
        break;
    case 4:
        buf_printf(b, "\t%zu\n", k);
        break;
    default:
        buf_printf(b, "%zu\n", k);
    }
}

/* A text of n lines. */
static void gen_text(struct buf *b, size_t n, size_t alphabet, int unique_rate, const char *unique)
{
    for (size_t i = 0; i < n; i++)
        gen_line(b, alphabet, unique_rate, unique);
}

/* An edited copy of src: deletions, insertions, replacements, duplicated
 * and moved blocks. */
static void gen_edit(struct buf *out, const char *src, size_t alphabet, int edits, int unique_rate)
{
    const char *p = src;
    size_t nlines = 0;
    const char **starts;
    for (const char *q = src; *q; q++)
        nlines += *q == '\n';
    starts = xmalloc((nlines + 1) * sizeof *starts);
    for (size_t i = 0; i < nlines; i++) {
        starts[i] = p;
        p = strchr(p, '\n') + 1;
    }
    starts[nlines] = p;
    for (size_t i = 0; i < nlines;) {
        size_t len = (size_t)(starts[i + 1] - starts[i]);
        if ((int)rnd(100) < edits) {
            switch (rnd(5)) {
            case 0: /* delete a block */
                i += 1 + rnd(4);
                continue;
            case 1: /* insert before */
                for (size_t k = 1 + rnd(4); k; k--)
                    gen_line(out, alphabet, unique_rate, "new");
                break;
            case 2: /* replace */
                gen_line(out, alphabet, unique_rate, "new");
                i++;
                continue;
            case 3: /* repeat a block */
                for (size_t k = i; k < i + 3 && k < nlines; k++)
                    buf_put(out, starts[k], (size_t)(starts[k + 1] - starts[k]));
                break;
            default: { /* copy a block from elsewhere */
                size_t from = rnd(nlines);
                for (size_t k = from; k < from + 1 + rnd(5) && k < nlines; k++)
                    buf_put(out, starts[k], (size_t)(starts[k + 1] - starts[k]));
                break;
            }
            }
        }
        buf_put(out, starts[i], len);
        i++;
    }
    free(starts);
}

static void write_file(const char *path, const struct buf *b)
{
    FILE *f = fopen(path, "wb");
    if (!f || (b->len && fwrite(b->ptr, 1, b->len, f) != b->len) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* 1 if diff_unified(a, b) with ctx lines of context is exactly what GNU
 * diff prints. */
static int same_as_gnu(const struct buf *a, const struct buf *b, int ctx, const char *what)
{
    struct diff_options opt = DIFF_OPTIONS_INIT;
    char *pa = xasprintf("%s/old", tmp), *pb = xasprintf("%s/new", tmp);
    char *cmd = xasprintf("diff -U %d --label desired --label live '%s' '%s'", ctx, pa, pb);
    struct buf want = BUF_INIT, got = BUF_INIT;
    char chunk[65536];
    size_t n;
    int status, differ, ok;
    FILE *p;

    write_file(pa, a);
    write_file(pb, b);
    if (!(p = popen(cmd, "r"))) {
        fprintf(stderr, "cannot run diff\n");
        exit(2);
    }
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_put(&want, chunk, n);
    status = pclose(p);
    opt.context = ctx;
    differ = diff_unified(&got, buf_cstr(a), a->len, buf_cstr(b), b->len, &opt);
    ok = got.len == want.len && memcmp(buf_cstr(&got), buf_cstr(&want), got.len) == 0 &&
         differ == (WEXITSTATUS(status) == 1);
    if (!ok) {
        char *keep = xasprintf("cp '%s' '%s.fail' && cp '%s' '%s.fail'", pa, pa, pb, pb);
        fprintf(stderr, "%s: differs from GNU diff -U %d (exit %d, ours %d); kept in %s/*.fail\n",
                what, ctx, WEXITSTATUS(status), differ, tmp);
        fprintf(stderr, "--- GNU diff\n%s--- edgecd\n%s", buf_cstr(&want), buf_cstr(&got));
        if (system(keep) != 0)
            fprintf(stderr, "could not keep the files\n");
        free(keep);
    }
    buf_dispose(&want);
    buf_dispose(&got);
    free(cmd);
    free(pa);
    free(pb);
    return ok;
}

/* The shape of a family of random pairs: each pair draws its line count,
 * pool size, edit rate (percent of lines) and rate of one-sided lines
 * below these bounds; related_in_4 of 4 pairs are an edit of one text,
 * the others two unrelated texts. */
struct pair_kind {
    const char *name;
    int count;
    size_t min_lines, more_lines, min_pool, more_pool;
    int edits, unique, related_in_4;
};

/* One random pair of that kind: 1 if it matches GNU diff. */
static int random_case(const struct pair_kind *k, const char *what)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    size_t lines = k->min_lines + rnd(k->more_lines), pool = k->min_pool + rnd(k->more_pool);
    int edits = (int)rnd((size_t)k->edits), unique = (int)rnd((size_t)k->unique), ok;

    gen_text(&a, lines, pool, unique, "old");
    if ((int)rnd(4) < k->related_in_4)
        gen_edit(&b, buf_cstr(&a), pool, edits, unique);
    else
        gen_text(&b, rnd(lines * 2 + 1), pool, unique, "new");
    /* Now and then a last line without '\n', in one text or both. */
    if (a.len && rnd(6) == 0)
        a.ptr[--a.len] = '\0';
    if (b.len && rnd(6) == 0)
        b.ptr[--b.len] = '\0';
    /* Mostly diff -u's 3 lines of context, sometimes fewer or more. */
    ok = same_as_gnu(&a, &b, rnd(4) ? 3 : (int)rnd(6), what);
    buf_dispose(&a);
    buf_dispose(&b);
    return ok;
}

static uint64_t seed(void)
{
    const char *s = getenv("EDGECD_DIFF_SEED");
    return s && *s ? strtoull(s, NULL, 10) : 20261123u;
}

/* Small pairs from few distinct lines (many equally short scripts),
 * medium ones with lines found in one text only (GNU's discarding), and
 * long unrelated texts (the search passes GNU's cost cut-off and both must
 * guess the same middles). */
TEST(random_pairs_match_gnu_diff)
{
    static const struct pair_kind kinds[] = {
        {"small", 500, 0, 40, 2, 12, 60, 15, 3},
        {"medium", 40, 500, 3000, 3, 200, 20, 30, 3},
        {"long", 2, 12000, 1, 8, 20, 1, 1, 0},
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        rng_state = seed() + k;
        for (int i = 0; i < kinds[k].count; i++) {
            char what[80];
            snprintf(what, sizeof what, "%s case %d (seed %llu)", kinds[k].name, i,
                     (unsigned long long)seed());
            if (!random_case(&kinds[k], what))
                TEST_FAIL_("%s", what);
        }
    }
}

int main(void)
{
    tmp = test_tmpdir("core-diff");
    RUN(equal_texts_give_nothing);
    RUN(fixed_cases);
    RUN(labels_and_context_from_options);
    RUN(random_pairs_match_gnu_diff);
    free(tmp);
    return TEST_END();
}
