/*
 * The folder location (see location.h). Everything that makes a backup
 * visible is one rename of a whole folder; everything before it happens
 * in a dot-folder that list never reads.
 */
#include "backup/location.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define LOCATION_TMP_PREFIX ".tmp-"
#define LOCATION_MAX_RECORD (4u << 20)

static int location_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    if (fd < 0 || fsync(fd) != 0)
        rc = err_set(ERR_IO, "%s: sync: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

static int location_check_name(const char *name)
{
    if (!str_dns_subdomain(name))
        return err_set(ERR_INVALID,
                       "backup name \"%s\": lower-case letters, digits, '-' and '.', starting and "
                       "ending with a letter or digit, at most 253 characters",
                       name);
    return 0;
}

/* Temporary folders left by a create that died (crash, power loss, kill
 * -9). Only called with the lock held, so none of them is in use. */
static void location_remove_stale(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (str_has_prefix(de->d_name, LOCATION_TMP_PREFIX)) {
            char *p = xasprintf("%s/%s", dir, de->d_name);
            fs_remove_tree(p);
            free(p);
        }
    }
    closedir(d);
}

int location_begin(struct location_tx *tx, const char *dir, const char *name,
                   const char *archive_name)
{
    char *lock = NULL, *final = NULL;
    int rc;

    memset(tx, 0, sizeof(*tx));
    tx->fd = -1;
    tx->lock_fd = -1;
    if ((rc = location_check_name(name)) < 0)
        return rc;
    tx->dir = xstrdup(dir);
    tx->name = xstrdup(name);
    tx->archive_name = xstrdup(archive_name);
    if ((rc = fs_mkdir_p(dir, 0700)) < 0)
        goto out;
    lock = xasprintf("%s/.lock", dir);
    tx->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (tx->lock_fd < 0) {
        rc = err_set(ERR_IO, "%s: %s", lock, strerror(errno));
        goto out;
    }
    if (flock(tx->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = err_set(errno == EWOULDBLOCK ? ERR_CONFLICT : ERR_IO,
                     "%s: another backup is being written there", dir);
        goto out;
    }
    location_remove_stale(dir);
    final = xasprintf("%s/%s", dir, name);
    if (fs_exists(final)) {
        rc = err_set(ERR_CONFLICT, "backup %s: exists already in %s", name, dir);
        goto out;
    }
    tx->tmp = xasprintf("%s/%s%s-XXXXXX", dir, LOCATION_TMP_PREFIX, name);
    if (!mkdtemp(tx->tmp)) {
        rc = err_set(ERR_IO, "%s: %s", tx->tmp, strerror(errno));
        free(tx->tmp);
        tx->tmp = NULL;
        goto out;
    }
    tx->archive_path = xasprintf("%s/%s", tx->tmp, archive_name);
    tx->fd = open(tx->archive_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (tx->fd < 0) {
        rc = err_set(ERR_IO, "%s: %s", tx->archive_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(lock);
    free(final);
    if (rc < 0)
        location_abort(tx);
    return rc;
}

void location_abort(struct location_tx *tx)
{
    if (tx->fd >= 0)
        close(tx->fd);
    if (tx->tmp)
        fs_remove_tree(tx->tmp);
    if (tx->lock_fd >= 0)
        close(tx->lock_fd); /* releases the flock */
    free(tx->dir);
    free(tx->name);
    free(tx->tmp);
    free(tx->archive_name);
    free(tx->archive_path);
    memset(tx, 0, sizeof(*tx));
    tx->fd = -1;
    tx->lock_fd = -1;
}

int location_commit(struct location_tx *tx, const json_t *record)
{
    struct buf text = BUF_INIT;
    char *rec_path = xasprintf("%s/%s", tx->tmp, LOCATION_RECORD);
    char *final = xasprintf("%s/%s", tx->dir, tx->name);
    int rc = 0, fd = tx->fd;

    tx->fd = -1;
    if (fsync(fd) != 0) {
        rc = err_set(ERR_IO, "%s: sync: %s", tx->archive_path, strerror(errno));
        close(fd);
        goto out;
    }
    if (close(fd) != 0) {
        rc = err_set(ERR_IO, "%s: close: %s", tx->archive_path, strerror(errno));
        goto out;
    }
    doc_emit_json(&text, record, 1);
    buf_putc(&text, '\n');
    if ((rc = fs_write_atomic(rec_path, text.ptr, text.len, 0600)) < 0 ||
        (rc = location_fsync_path(tx->tmp)) < 0)
        goto out;
    if (rename(tx->tmp, final) != 0) {
        rc = err_set(ERR_IO, "%s: rename into place: %s", final, strerror(errno));
        goto out;
    }
    free(tx->tmp);
    tx->tmp = NULL; /* nothing to remove any more */
    rc = location_fsync_path(tx->dir);
out:
    buf_dispose(&text);
    free(rec_path);
    free(final);
    location_abort(tx);
    return rc;
}

/* Read <dir>/<name>/edgecd-backup.json and check the archive beside it. */
static json_t *location_read(const char *dir, const char *name, char **out_archive)
{
    char *path = xasprintf("%s/%s/%s", dir, name, LOCATION_RECORD);
    struct buf b = BUF_INIT;
    json_t *rec = NULL;
    const char *file, *problem = NULL;
    struct stat st;

    if (out_archive)
        *out_archive = NULL;
    if (fs_read_file(path, LOCATION_MAX_RECORD, &b) < 0 ||
        doc_parse_json(&rec, b.ptr, b.len, path, NULL) < 0 || !json_is_object(rec)) {
        json_decref(rec);
        rec = json_pack("{s:s, s:{s:s}, s:s}", "kind", "Backup", "metadata", "name", name,
                        "problem", err_last());
        goto out;
    }
    file = doc_get_str(rec, "status.archive.file");
    if (!file || strchr(file, '/') || !strcmp(file, "..")) {
        problem = "the record names no archive file";
    } else {
        char *ap = xasprintf("%s/%s/%s", dir, name, file);
        json_t *size = doc_get(rec, "status.archive.size");
        if (lstat(ap, &st) != 0)
            problem = "the archive file is missing";
        else if (!S_ISREG(st.st_mode))
            problem = "the archive is not a regular file";
        else if (!json_is_integer(size) || (json_int_t)st.st_size != json_integer_value(size))
            problem = "the archive's size differs from the record (cut short or changed)";
        if (out_archive)
            *out_archive = ap;
        else
            free(ap);
    }
    if (problem)
        json_object_set_new(rec, "problem", json_string(problem));
    {
        const char *rn = doc_get_str(rec, "metadata.name");
        if (!rn || strcmp(rn, name) != 0)
            json_object_set_new(rec, "problem",
                                json_string("the record names another backup (folder renamed?)"));
    }
out:
    err_clear();
    buf_dispose(&b);
    free(path);
    return rec;
}

static int location_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int location_list(const char *dir, json_t **out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    json_t *list;

    *out = NULL;
    if (!d)
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "backup location %s: %s", dir,
                       strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char *p;
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        p = xasprintf("%s/%s", dir, de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            names = xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = xstrdup(de->d_name);
        }
        free(p);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), location_name_cmp);
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, location_read(dir, names[i], NULL));
        free(names[i]);
    }
    free(names);
    *out = list;
    return 0;
}

int location_get(const char *dir, const char *name, json_t **out_record, char **out_archive)
{
    char *p;
    struct stat st;
    int found;

    *out_record = NULL;
    if (out_archive)
        *out_archive = NULL;
    if (location_check_name(name) < 0)
        return err_set(ERR_NOTFOUND, "backup %s: not found in %s", name, dir);
    p = xasprintf("%s/%s", dir, name);
    found = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!found)
        return err_set(ERR_NOTFOUND, "backup %s: not found in %s", name, dir);
    *out_record = location_read(dir, name, out_archive);
    return 0;
}

int location_delete(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name), *gone = NULL;
    struct stat st;
    int rc = 0;

    if (location_check_name(name) < 0 || lstat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = err_set(ERR_NOTFOUND, "backup %s: not found in %s", name, dir);
        goto out;
    }
    gone = xasprintf("%s/%sdelete-%s-XXXXXX", dir, LOCATION_TMP_PREFIX, name);
    if (!mkdtemp(gone) || rmdir(gone) != 0 || rename(p, gone) != 0) {
        rc = err_set(ERR_IO, "backup %s: cannot remove %s: %s", name, p, strerror(errno));
        goto out;
    }
    if ((rc = location_fsync_path(dir)) < 0)
        goto out;
    fs_remove_tree(gone);
out:
    free(p);
    free(gone);
    return rc;
}
