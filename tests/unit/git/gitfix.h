/*
 * Fixtures shared by the git/ unit tests: a scratch folder per program
 * and the real git command run in it, so source repositories are made by
 * git itself at test time. Include once per test program, after test.h.
 */
#ifndef EDGECD_TESTS_GITFIX_H
#define EDGECD_TESTS_GITFIX_H

#include <stdarg.h>

#include "core/buf.h"
#include "core/util.h"
#include "git/mirror.h"

static char *tmp;     /* this program's scratch folder */
static char *mirrors; /* tmp/mirrors */

#define GIT                                                                                        \
    "git -c user.name=t -c user.email=t@e -c init.defaultBranch=main -c commit.gpgsign=false"

/* Run a shell command in tmp; its output into out when out is not NULL
 * (caller frees), else discarded. 0 if it exited 0. */
static inline int sh_vout(char **out, const char *fmt, va_list ap)
{
    struct buf cmd = BUF_INIT, text = BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *p;
    int rc;

    buf_printf(&cmd, "cd '%s' && (", tmp);
    buf_vprintf(&cmd, fmt, ap);
    buf_puts(&cmd, out ? ") 2>/dev/null" : ") >/dev/null 2>&1");
    p = popen(cmd.ptr, "r");
    while (p && (n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        buf_put(&text, chunk, n);
    rc = p ? pclose(p) : -1;
    if (rc != 0)
        fprintf(stderr, "command failed: %s\n", cmd.ptr);
    if (out)
        *out = buf_detach(&text);
    buf_dispose(&text);
    buf_dispose(&cmd);
    return rc == 0 ? 0 : -1;
}

static inline int sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int sh_out(char **out, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sh_vout(out, fmt, ap);
    va_end(ap);
    return rc;
}

/* Run a shell command in tmp, output discarded. 0 if it exited 0. */
#define sh(...) sh_out(NULL, __VA_ARGS__)

/* `git rev-parse rev` in repo (under tmp) into out. */
static inline int rev_parse(const char *repo, const char *rev, char out[41])
{
    char *text = NULL;
    int rc = sh_out(&text, "git -C '%s' rev-parse '%s^{commit}'", repo, rev);

    if (rc == 0 && strlen(text) == 41 && text[40] == '\n')
        str_copy(out, text, 41);
    else
        rc = -1;
    free(text);
    return rc;
}

/* A source repo `name` with two commits on main, branch dev and tags at
 * the first commit:
 *   c1: apps/cm.yaml, apps/sub/deep.yaml, README.md
 *   c2: + apps/b.yaml */
static inline int make_source(const char *name)
{
    return sh("rm -rf %s && " GIT " init -q %s && cd %s && mkdir -p apps/sub && "
              "printf 'kind: ConfigMap\\n' > apps/cm.yaml && "
              "printf 'deep\\n' > apps/sub/deep.yaml && echo readme > README.md && "
              "git add -A && " GIT " commit -qm c1 && git branch dev && git tag v1 && " GIT
              " tag -a -m annotated v1-annotated && "
              "printf 'b\\n' > apps/b.yaml && git add -A && " GIT " commit -qm c2",
              name, name, name);
}

/* A source repo `name` with two commits of a 300-line big.yaml, and
 * tmp/name.pack: a thin pack of the second commit (git never keeps one)
 * whose blob is a delta against the first commit's, which it lacks. */
static inline int make_thin_pack(const char *name)
{
    return sh("rm -rf %s && " GIT " init -q %s && cd %s && "
              "seq 1 300 | sed 's/$/ a line of text/' > big.yaml && git add -A && " GIT
              " commit -qm c1 && sed -i 's/^150 /one hundred fifty /' big.yaml && " GIT
              " commit -qam c2 && printf 'main\\n^main~1\\n' | "
              "git pack-objects -q --thin --revs --stdout > ../%s.pack && "
              "! git index-pack --stdin < ../%s.pack",
              name, name, name, name, name);
}

/* Open the mirror of the source tmp/name (a plain path). */
static inline int open_source(mirror **m, const char *name)
{
    char *url = xasprintf("%s/%s", tmp, name);
    int rc = mirror_open(m, mirrors, url);
    free(url);
    return rc;
}

/* Start a test program: its scratch folder, git without the user's
 * configuration, libgit2. Exits on failure. */
static inline void gitfix_init(const char *name)
{
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    tmp = test_tmpdir(name);
    mirrors = xasprintf("%s/mirrors", tmp);
    if (mirror_global_init() < 0) {
        fprintf(stderr, "mirror_global_init: %s\n", err_last());
        exit(2);
    }
}

static inline void gitfix_done(void)
{
    mirror_global_shutdown();
    free(mirrors);
    free(tmp);
}

#endif
