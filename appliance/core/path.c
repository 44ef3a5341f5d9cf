/*
 * Path cleaning with a stack of component lengths: each component is
 * appended to the output, and ".." truncates the output back to where the
 * previous component started, so the result never needs a second pass.
 */
#include "core/path.h"

#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"

int path_clean(char **out, const char *path)
{
    struct buf b = BUF_INIT;
    size_t *starts = NULL, depth = 0, cap = 0;
    const char *p = path ? path : "";
    int rc = 0;

    *out = NULL;
    if (p[0] == '/') {
        rc = err_set(ERR_INVALID, "%s: absolute paths are not allowed; paths are relative", p);
        goto out;
    }
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (depth == 0) {
                rc = err_set(ERR_INVALID, "%s: path leads outside the source's root", path);
                goto out;
            }
            b.len = starts[--depth];
            if (b.len > 0)
                b.len--; /* the separator before it */
            if (b.ptr)
                b.ptr[b.len] = '\0';
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (depth == cap) {
                cap = cap ? cap * 2 : 8;
                starts = xrealloc(starts, cap * sizeof(*starts));
            }
            if (b.len)
                buf_putc(&b, '/');
            starts[depth++] = b.len;
            buf_put(&b, p, n);
        }
        p += n;
        if (*p == '/')
            p++;
    }
    *out = buf_detach(&b);
out:
    free(starts);
    buf_dispose(&b);
    return rc;
}

int path_join(char **out, const char *dir, const char *rel)
{
    char *joined;
    int rc;

    *out = NULL;
    if (rel && rel[0] == '/')
        return err_set(ERR_INVALID, "%s: absolute paths are not allowed; paths are relative", rel);
    joined = (dir && dir[0]) ? xasprintf("%s/%s", dir, rel ? rel : "") : xstrdup(rel ? rel : "");
    rc = path_clean(out, joined);
    if (rc < 0 && dir && dir[0])
        rc = err_set(ERR_INVALID, "%s: path leads outside the source's root (from %s)", rel, dir);
    free(joined);
    return rc;
}

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
