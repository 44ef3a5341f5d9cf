/*
 * The two backends of render_fs behind one small table of operations.
 * The mirror backend is git/tree.c. The local backend resolves every path
 * with realpath() and accepts it only when the result is the root or
 * below it, which is the local form of "links must stay inside"; limits
 * count over the fs's lifetime like the mirror's.
 */
#include "render/fs.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/path.h"

struct render_fs_ops {
    int (*read)(render_fs *fs, const char *path, char **data, size_t *len);
    int (*list)(render_fs *fs, const char *dir, render_entry **out, size_t *n);
    int (*stat)(render_fs *fs, const char *path);
    void (*free)(render_fs *fs);
};

struct render_fs {
    const struct render_fs_ops *ops;
    char *name;
    mirror_tree *tree;        /* mirror backend */
    char *root;               /* local backend: resolved absolute root */
    struct mirror_limits lim; /* local backend */
    size_t files, bytes;      /* local backend: read so far */
};

/* ---- mirror backend ---- */

static int fs_mirror_read(render_fs *fs, const char *path, char **data, size_t *len)
{
    return mirror_tree_read(fs->tree, path, data, len);
}

static int fs_mirror_list(render_fs *fs, const char *dir, render_entry **out, size_t *n)
{
    return mirror_tree_list(fs->tree, dir, out, n);
}

static int fs_mirror_stat(render_fs *fs, const char *path)
{
    return mirror_tree_stat(fs->tree, path);
}

static void fs_mirror_free(render_fs *fs)
{
    mirror_tree_free(fs->tree);
}

static const struct render_fs_ops fs_mirror_ops = {fs_mirror_read, fs_mirror_list, fs_mirror_stat,
                                                   fs_mirror_free};

int render_fs_mirror(render_fs **out, mirror *m, const char *sha, const struct mirror_limits *lim)
{
    mirror_tree *t = NULL;
    render_fs *fs;
    int rc;

    *out = NULL;
    if ((rc = mirror_tree_open(&t, m, sha, lim)) < 0)
        return rc;
    fs = xcalloc(1, sizeof(*fs));
    fs->ops = &fs_mirror_ops;
    fs->tree = t;
    fs->name = xstrdup(mirror_tree_name(t));
    *out = fs;
    return 0;
}

/* ---- local backend ---- */

/* The absolute, resolved path of cleaned rel under the root, in *out, if
 * it exists and stays inside. 1 if found, 0 if absent, ERR_INVALID if a
 * link leads out. */
static int fs_local_resolve(render_fs *fs, const char *rel, char **out)
{
    char *joined = rel[0] ? xasprintf("%s/%s", fs->root, rel) : xstrdup(fs->root);
    char *real = realpath(joined, NULL);
    size_t rlen = strlen(fs->root);
    int rc = 1;

    *out = NULL;
    if (!real) {
        rc = 0;
        goto out;
    }
    if (strcmp(real, fs->root) != 0 &&
        !(strncmp(real, fs->root, rlen) == 0 && (real[rlen] == '/' || !strcmp(fs->root, "/")))) {
        rc = err_set(ERR_INVALID, "%s: symbolic link points outside %s", rel, fs->root);
        goto out;
    }
    *out = real;
    real = NULL;
out:
    free(real);
    free(joined);
    return rc;
}

static int fs_local_stat(render_fs *fs, const char *path)
{
    char *clean = NULL, *real = NULL;
    struct stat st;
    int rc;

    if ((rc = path_clean(&clean, path)) < 0)
        return rc;
    if ((rc = fs_local_resolve(fs, clean, &real)) > 0) {
        if (stat(real, &st) < 0)
            rc = 0;
        else
            rc = S_ISDIR(st.st_mode)   ? RENDER_ENTRY_DIR
                 : S_ISREG(st.st_mode) ? RENDER_ENTRY_FILE
                                       : 0;
    }
    free(real);
    free(clean);
    return rc;
}

static int fs_local_read(render_fs *fs, const char *path, char **data, size_t *len)
{
    char *clean = NULL, *real = NULL;
    struct buf b = BUF_INIT;
    struct stat st;
    int rc;

    *data = NULL;
    *len = 0;
    if ((rc = path_clean(&clean, path)) < 0)
        goto out;
    if ((rc = fs_local_resolve(fs, clean, &real)) < 0)
        goto out;
    if (rc == 0 || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = err_set(ERR_NOTFOUND, "%s: no such file", clean);
        goto out;
    }
    if ((size_t)st.st_size > fs->lim.max_file_bytes) {
        rc = err_set(ERR_TOOLARGE, "%s: %zu bytes is over the limit of %zu bytes per file", clean,
                     (size_t)st.st_size, fs->lim.max_file_bytes);
        goto out;
    }
    if ((size_t)st.st_size > fs->lim.max_total_bytes - fs->bytes) {
        rc = err_set(ERR_TOOLARGE, "%s: the files read total over the limit of %zu bytes", clean,
                     fs->lim.max_total_bytes);
        goto out;
    }
    if (++fs->files > fs->lim.max_files) {
        rc = err_set(ERR_TOOLARGE, "%s: more than %zu files (limit)", clean, fs->lim.max_files);
        goto out;
    }
    if ((rc = fs_read_file(real, fs->lim.max_file_bytes, &b)) < 0)
        goto out;
    fs->bytes += b.len;
    *len = b.len;
    *data = buf_detach(&b);
out:
    buf_dispose(&b);
    free(real);
    free(clean);
    return rc;
}

static int fs_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const render_entry *)a)->name, ((const render_entry *)b)->name);
}

static int fs_local_list(render_fs *fs, const char *dir, render_entry **out, size_t *n)
{
    char *clean = NULL, *real = NULL;
    DIR *d = NULL;
    struct dirent *de;
    render_entry *v = NULL;
    size_t count = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = path_clean(&clean, dir)) < 0)
        goto out;
    if ((rc = fs_local_resolve(fs, clean, &real)) < 0)
        goto out;
    if (rc == 0 || !(d = opendir(real))) {
        rc = err_set(ERR_NOTFOUND, "%s: no such folder", clean[0] ? clean : ".");
        goto out;
    }
    rc = 0;
    while ((de = readdir(d))) {
        char *child;
        int kind;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        child = clean[0] ? xasprintf("%s/%s", clean, de->d_name) : xstrdup(de->d_name);
        kind = fs_local_stat(fs, child);
        free(child);
        if (kind < 0) {
            rc = kind;
            goto out;
        }
        if (kind == 0)
            continue; /* sockets, devices, dangling links */
        if (count >= fs->lim.max_files) {
            rc = err_set(ERR_TOOLARGE, "%s: more than %zu entries in one folder (limit)",
                         clean[0] ? clean : ".", fs->lim.max_files);
            goto out;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[count].name = xstrdup(de->d_name);
        v[count].type = kind;
        count++;
    }
    if (count > 1)
        qsort(v, count, sizeof(*v), fs_entry_cmp);
    *out = v;
    *n = count;
    v = NULL;
    count = 0;
out:
    if (d)
        closedir(d);
    render_entries_free(v, count);
    free(real);
    free(clean);
    return rc;
}

static void fs_local_free(render_fs *fs)
{
    free(fs->root);
}

static const struct render_fs_ops fs_local_ops = {fs_local_read, fs_local_list, fs_local_stat,
                                                  fs_local_free};

int render_fs_local(render_fs **out, const char *root, const struct mirror_limits *lim)
{
    static const struct mirror_limits defaults = MIRROR_LIMITS_INIT;
    struct stat st;
    char *real;
    render_fs *fs;

    *out = NULL;
    real = realpath(root, NULL);
    if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return err_set(ERR_NOTFOUND, "%s: no such folder", root);
    }
    fs = xcalloc(1, sizeof(*fs));
    fs->ops = &fs_local_ops;
    fs->root = real;
    fs->name = xstrdup(root);
    fs->lim = lim ? *lim : defaults;
    *out = fs;
    return 0;
}

/* ---- the interface ---- */

void render_fs_free(render_fs *fs)
{
    if (!fs)
        return;
    fs->ops->free(fs);
    free(fs->name);
    free(fs);
}

const char *render_fs_name(const render_fs *fs)
{
    return fs->name;
}

int render_fs_read(render_fs *fs, const char *path, char **data, size_t *len)
{
    return fs->ops->read(fs, path, data, len);
}

int render_fs_list(render_fs *fs, const char *dir, render_entry **out, size_t *n)
{
    return fs->ops->list(fs, dir, out, n);
}

int render_fs_stat(render_fs *fs, const char *path)
{
    return fs->ops->stat(fs, path);
}

void render_entries_free(render_entry *v, size_t n)
{
    mirror_entries_free(v, n);
}
