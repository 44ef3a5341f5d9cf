/*
 * The one assertion helper for unit tests. A failing check prints the
 * place, the expression and err_last(), marks the test failed and returns
 * from the test function. main() ends with TEST_END(), which prints the
 * "N passed, N failed" line and sets the exit code.
 *
 *   TEST(parses_scalars) { CHECK_OK(doc_parse_yaml(&d, ...)); CHECK(x == 1); }
 *   int main(void) { RUN(parses_scalars); return TEST_END(); }
 */
#ifndef EDGECD_TESTS_TEST_H
#define EDGECD_TESTS_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"

static int test_passed, test_failed, test_cur_failed;

#define TEST(name) static void name(void)

#define TEST_FAIL_(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        test_cur_failed = 1;                                                                       \
        return;                                                                                    \
    } while (0)

/* The call must return >= 0. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ < 0)                                                                               \
            TEST_FAIL_("%s returned %d (%s): %s", #call, rc_, err_name(rc_), err_last());          \
    } while (0)

/* The call must fail with exactly this code. */
#define CHECK_ERR(call, code)                                                                      \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != (code))                                                                         \
            TEST_FAIL_("%s returned %d (%s), expected %s; last error: %s", #call, rc_,             \
                       err_name(rc_), #code, err_last());                                          \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TEST_FAIL_("check failed: %s (last error: %s)", #cond, err_last());                    \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            TEST_FAIL_("%s is \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",                    \
                       b_ ? b_ : "(null)");                                                        \
    } while (0)

/* The haystack must contain the needle (for error messages). */
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            TEST_FAIL_("%s is \"%s\", expected it to contain \"%s\"", #hay, h_ ? h_ : "(null)",    \
                       n_);                                                                        \
    } while (0)

static inline void test_run(const char *name, void (*fn)(void))
{
    test_cur_failed = 0;
    err_clear();
    fn();
    if (test_cur_failed) {
        test_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        test_passed++;
        fprintf(stderr, "ok   %s\n", name);
    }
}

#define RUN(name) test_run(#name, name)

static inline int test_end(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}
#define TEST_END() test_end()

/* A fresh empty directory for this test program, under the build tree;
 * the caller frees the string. */
static inline char *test_tmpdir(const char *name)
{
    const char *base = getenv("EDGECD_TEST_TMP");
    char *dir, *cmd;
    if (!base)
        base = "/tmp";
    dir = xasprintf("%s/%s.%ld", base, name, (long)getpid());
    cmd = xasprintf("rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        exit(2);
    }
    free(cmd);
    return dir;
}

/* Names in dir, "." and ".." aside (a folder whose temporary files must
 * have none, or be gone). */
static inline int test_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

/* Open file descriptors of this process (an unnamed temporary file lives
 * as long as one is open). */
static inline int test_open_fds(void)
{
    return test_dir_entries("/proc/self/fd");
}

#endif
