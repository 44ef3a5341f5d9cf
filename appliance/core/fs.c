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

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    const char *p = data;
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = err_set(ERR_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = err_set(ERR_IO, "%s: writing: %s", tmp, strerror(errno));
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        rc = err_set(ERR_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set(ERR_IO, "%s: closing: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = err_set(ERR_IO, "%s: renaming into place: %s", path, strerror(errno));
        goto out;
    }
    rc = fs_fsync_dir_of(path);
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
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
