#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"

static int fs_fsync_dir_of(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) != 0)
        rc = err_set(ERR_IO, "%s: syncing directory: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int fs_atomic_begin(struct fs_atomic *a, const char *path, mode_t mode)
{
    a->path = xstrdup(path);
    a->tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    a->mode = mode;
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (a->fd < 0) {
        int rc = err_set(ERR_IO, "%s: %s", a->tmp, strerror(errno));
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return rc;
    }
    return 0;
}

int fs_atomic_write(struct fs_atomic *a, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(a->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set(ERR_IO, "%s: writing: %s", a->tmp,
                           n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void fs_atomic_abort(struct fs_atomic *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
}

int fs_atomic_commit(struct fs_atomic *a)
{
    int rc = 0;
    if (fchmod(a->fd, a->mode) != 0 || fsync(a->fd) != 0) {
        rc = err_set(ERR_IO, "%s: %s", a->tmp, strerror(errno));
        goto out;
    }
    rc = close(a->fd);
    a->fd = -1;
    if (rc != 0) {
        rc = err_set(ERR_IO, "%s: closing: %s", a->tmp, strerror(errno));
        goto out;
    }
    if (rename(a->tmp, a->path) != 0) {
        rc = err_set(ERR_IO, "%s: renaming into place: %s", a->path, strerror(errno));
        goto out;
    }
    free(a->tmp);
    a->tmp = NULL; /* in place: nothing to remove */
    rc = fs_fsync_dir_of(a->path);
out:
    fs_atomic_abort(a);
    return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    struct fs_atomic a;
    int rc = fs_atomic_begin(&a, path, mode);
    if (rc < 0)
        return rc;
    if ((rc = fs_atomic_write(&a, data, len)) < 0) {
        fs_atomic_abort(&a);
        return rc;
    }
    return fs_atomic_commit(&a);
}

int fs_read_file(const char *path, size_t max, struct buf *out)
{
    char chunk[16384];
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
    size_t start = out->len;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(ERR_IO, "%s: reading: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len - start + (size_t)n > max) {
            rc = err_set(ERR_TOOLARGE, "%s: larger than the limit of %zu bytes", path, max);
            break;
        }
        buf_put(out, chunk, (size_t)n);
    }
    close(fd);
    return rc;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
    char *copy = xstrdup(path);
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, mode) != 0 && errno != EEXIST) {
                rc = err_set(ERR_IO, "%s: %s", copy, strerror(errno));
                break;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(copy);
    return rc;
}

int fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int fs_temp_dir(char **out, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", prefix);

    *out = NULL;
    if (!mkdtemp(dir)) {
        int rc = err_set(ERR_IO, "%s: making a temporary folder: %s", dir, strerror(errno));
        free(dir);
        return rc;
    }
    *out = dir;
    return 0;
}

static int fs_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void fs_remove_tree(const char *dir)
{
    if (dir)
        nftw(dir, fs_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
