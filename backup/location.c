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

/* ---- S3 locations ---- */

struct location_s3 {
    struct s3_config cfg;
    char *url;
    s3_client *client; /* made on first use, kept for its connection */
};

static struct location_s3 *location_s3s;
static size_t location_n_s3s;

void location_add_s3(struct s3_config *cfg)
{
    char *url = s3_config_url(cfg);
    struct location_s3 *l = NULL;
    for (size_t i = 0; i < location_n_s3s; i++)
        if (!strcmp(location_s3s[i].url, url))
            l = &location_s3s[i];
    if (l) {
        s3_client_free(l->client);
        s3_config_dispose(&l->cfg);
        free(l->url);
    } else {
        location_s3s = xrealloc(location_s3s, (location_n_s3s + 1) * sizeof(*location_s3s));
        l = &location_s3s[location_n_s3s++];
    }
    memset(l, 0, sizeof(*l));
    l->cfg = *cfg;
    l->url = url;
    memset(cfg, 0, sizeof(*cfg));
}

void location_reset(void)
{
    for (size_t i = 0; i < location_n_s3s; i++) {
        s3_client_free(location_s3s[i].client);
        s3_config_dispose(&location_s3s[i].cfg);
        free(location_s3s[i].url);
    }
    free(location_s3s);
    location_s3s = NULL;
    location_n_s3s = 0;
}

int location_is_s3(const char *location)
{
    return str_has_prefix(location, "s3://");
}

/* The registered S3 location for url (a trailing '/' ignored), with its
 * client. ERR_INVALID when the site config did not describe it. */
static int location_s3(const char *url, struct location_s3 **out)
{
    size_t n = strlen(url);
    *out = NULL;
    while (n > 5 && url[n - 1] == '/')
        n--;
    for (size_t i = 0; i < location_n_s3s; i++) {
        struct location_s3 *l = &location_s3s[i];
        if (strlen(l->url) == n && !strncmp(l->url, url, n)) {
            int rc;
            if (!l->client && (rc = s3_client_new(&l->client, &l->cfg)) < 0)
                return rc;
            *out = l;
            return 0;
        }
    }
    return err_set(ERR_INVALID,
                   "backup location %.*s: no backupLocations entry of the site config describes "
                   "this bucket (its endpoint and credentials come from there)",
                   (int)n, url);
}

/* The key of a backup's object: PREFIX/NAME/FILE (FILE NULL: the
 * backup's "folder", with its trailing '/'). */
static char *location_s3_key(const struct location_s3 *l, const char *name, const char *file)
{
    return xasprintf("%s%s%s/%s", l->cfg.prefix, l->cfg.prefix[0] ? "/" : "", name,
                     file ? file : "");
}

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
    if (location_is_s3(dir)) {
        struct location_s3 *l;
        if ((rc = location_s3(dir, &l)) < 0)
            goto out;
        final = location_s3_key(l, name, LOCATION_RECORD);
        if ((rc = s3_head(l->client, final)) > 0)
            rc = err_set(ERR_CONFLICT, "backup %s: exists already in %s", name, dir);
        if (rc < 0)
            goto out;
        tx->s3 = l;
        tx->archive_path = location_s3_key(l, name, archive_name);
        s3_upload_begin(&tx->upload, l->client, tx->archive_path);
        rc = 0;
        goto out;
    }
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
    s3_upload_abort(tx->upload);
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

int location_tx_write(void *ctx, const void *p, size_t n)
{
    struct location_tx *tx = ctx;
    return s3_upload_write(tx->upload, p, n);
}

/* The archive first, then the record: the record's appearance is what
 * makes the backup listed. */
static int location_commit_s3(struct location_tx *tx, const json_t *record)
{
    struct location_s3 *l = tx->s3;
    struct buf text = BUF_INIT;
    s3_upload *u = tx->upload;
    char *key = location_s3_key(l, tx->name, LOCATION_RECORD);
    int rc;

    tx->upload = NULL;
    if ((rc = s3_upload_finish(u, NULL)) == 0) {
        doc_emit_json(&text, record, 1);
        buf_putc(&text, '\n');
        if ((rc = s3_put(l->client, key, text.ptr, text.len)) < 0) {
            char *msg = xstrdup(err_last());
            s3_delete(l->client, tx->archive_path);
            rc = err_set(rc, "%s", msg);
            free(msg);
        }
    }
    buf_dispose(&text);
    free(key);
    location_abort(tx);
    return rc;
}

int location_commit(struct location_tx *tx, const json_t *record)
{
    struct buf text = BUF_INIT;
    char *rec_path, *final;
    int rc = 0, fd = tx->fd;

    if (tx->s3)
        return location_commit_s3(tx, record);
    rec_path = xasprintf("%s/%s", tx->tmp, LOCATION_RECORD);
    final = xasprintf("%s/%s", tx->dir, tx->name);
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

static int location_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A record's archive file name that stays inside the backup's folder. */
static int location_file_ok(const char *file)
{
    return file && file[0] && !strchr(file, '/') && strcmp(file, "..") && strcmp(file, ".");
}

/* What a backup's record says checked against its archive as found
 * (found: it exists; regular: a plain file or object; size): "problem"
 * set on rec when they disagree. */
static void location_judge(json_t *rec, const char *name, const char *file, int found, int regular,
                           json_int_t size)
{
    const char *problem = NULL, *rn = doc_get_str(rec, "metadata.name");
    json_t *want = doc_get(rec, "status.archive.size");
    if (!location_file_ok(file))
        problem = "the record names no archive file";
    else if (!found)
        problem = "the archive file is missing";
    else if (!regular)
        problem = "the archive is not a regular file";
    else if (!json_is_integer(want) || size != json_integer_value(want))
        problem = "the archive's size differs from the record (cut short or changed)";
    if (!rn || strcmp(rn, name) != 0)
        problem = "the record names another backup (folder renamed?)";
    if (problem)
        json_object_set_new(rec, "problem", json_string(problem));
}

/* The record read from text (*ok = 1), or a stand-in naming why it
 * cannot be read (*ok = 0). rc: how reading the text went. */
static json_t *location_parse(const char *name, const struct buf *b, const char *path, int rc,
                              int *ok)
{
    json_t *rec = NULL;
    *ok = 0;
    if (rc < 0 || doc_parse_json(&rec, b->ptr, b->len, path, NULL) < 0 || !json_is_object(rec)) {
        json_decref(rec);
        rec = json_pack("{s:s, s:{s:s}, s:s}", "kind", "Backup", "metadata", "name", name,
                        "problem", err_last());
        err_clear();
        return rec;
    }
    *ok = 1;
    return rec;
}

/* Read <dir>/<name>/edgecd-backup.json and check the archive beside it. */
static json_t *location_read(const char *dir, const char *name, char **out_archive)
{
    char *path = xasprintf("%s/%s/%s", dir, name, LOCATION_RECORD);
    struct buf b = BUF_INIT;
    json_t *rec;
    const char *file;
    struct stat st;
    int ok;

    if (out_archive)
        *out_archive = NULL;
    rec = location_parse(name, &b, path, fs_read_file(path, LOCATION_MAX_RECORD, &b), &ok);
    if (ok) {
        char *ap = NULL;
        int found;
        file = doc_get_str(rec, "status.archive.file");
        if (location_file_ok(file))
            ap = xasprintf("%s/%s/%s", dir, name, file);
        found = ap && lstat(ap, &st) == 0;
        location_judge(rec, name, file, found, found && S_ISREG(st.st_mode),
                       found ? (json_int_t)st.st_size : 0);
        if (out_archive)
            *out_archive = ap;
        else
            free(ap);
    }
    err_clear();
    buf_dispose(&b);
    free(path);
    return rec;
}

/* ---- S3: reading ---- */

/* Every object under a prefix: key (relative to the prefix) -> size. */
static int location_s3_collect(void *ctx, const char *key, uint64_t size)
{
    json_t *o = ctx;
    const char *skip = json_string_value(json_object_get(o, ""));
    json_object_set_new(o, key + strlen(skip), json_integer((json_int_t)size));
    return 0;
}

static int location_s3_objects(struct location_s3 *l, const char *prefix, json_t **out)
{
    json_t *o = json_object();
    int rc;
    json_object_set_new(o, "", json_string(prefix));
    rc = s3_list(l->client, prefix, location_s3_collect, o);
    json_object_del(o, "");
    if (rc < 0) {
        json_decref(o);
        o = NULL;
    }
    *out = o;
    return rc;
}

/* One backup's record from S3, judged against files (its objects, keys
 * relative to its folder). ERR_* only when S3 cannot be asked. */
static int location_s3_read(struct location_s3 *l, const char *name, const json_t *files,
                            json_t **out, char **out_archive)
{
    char *key = location_s3_key(l, name, LOCATION_RECORD), *where;
    struct buf b = BUF_INIT;
    json_t *rec, *size;
    const char *file;
    int rc = 0, ok;

    *out = NULL;
    if (out_archive)
        *out_archive = NULL;
    where = xasprintf("%s/%s/%s", l->url, name, LOCATION_RECORD);
    rc = s3_get(l->client, key, LOCATION_MAX_RECORD, &b);
    if (rc < 0 && rc != ERR_NOTFOUND && rc != ERR_TOOLARGE)
        goto out;
    rec = location_parse(name, &b, where, rc, &ok);
    rc = 0;
    if (ok) {
        file = doc_get_str(rec, "status.archive.file");
        size = location_file_ok(file) ? json_object_get(files, file) : NULL;
        location_judge(rec, name, file, size != NULL, 1, json_integer_value(size));
        if (out_archive && location_file_ok(file))
            *out_archive = location_s3_key(l, name, file);
    }
    *out = rec;
out:
    buf_dispose(&b);
    free(key);
    free(where);
    return rc;
}

static int location_s3_list(const char *url, json_t **out)
{
    struct location_s3 *l;
    json_t *objs = NULL, *list, *names;
    const char *key;
    void *tmp;
    json_t *v;
    char *prefix;
    int rc;

    *out = NULL;
    if ((rc = location_s3(url, &l)) < 0)
        return rc;
    prefix = l->cfg.prefix[0] ? xasprintf("%s/", l->cfg.prefix) : xstrdup("");
    rc = location_s3_objects(l, prefix, &objs);
    free(prefix);
    if (rc < 0)
        return rc;
    /* name -> {file: size} for every NAME/FILE object. */
    names = json_object();
    json_object_foreach(objs, key, v)
    {
        const char *slash = strchr(key, '/');
        char *name;
        json_t *files;
        /* Only NAME/FILE; a folder without its record is an upload that
         * never finished, not a backup. */
        if (!slash || key[0] == '.' || strchr(slash + 1, '/'))
            continue;
        name = xstrndup(key, (size_t)(slash - key));
        if (!(files = json_object_get(names, name))) {
            files = json_object();
            json_object_set_new(names, name, files);
        }
        json_object_set(files, slash + 1, v);
        free(name);
    }
    json_decref(objs);
    json_object_foreach_safe(names, tmp, key, v)
    {
        if (!json_object_get(v, LOCATION_RECORD))
            json_object_del(names, key);
    }
    list = json_array();
    {
        size_t n = json_object_size(names), i = 0;
        const char **sorted = xcalloc(n + 1, sizeof(*sorted));
        json_object_foreach(names, key, v)
        {
            sorted[i++] = key;
        }
        qsort(sorted, n, sizeof(*sorted), location_name_cmp);
        for (i = 0; i < n && rc == 0; i++) {
            json_t *rec;
            if ((rc = location_s3_read(l, sorted[i], json_object_get(names, sorted[i]), &rec,
                                       NULL)) == 0)
                json_array_append_new(list, rec);
        }
        free(sorted);
    }
    json_decref(names);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

static int location_s3_get(const char *url, const char *name, json_t **out_record,
                           char **out_archive)
{
    struct location_s3 *l;
    json_t *files = NULL;
    char *prefix;
    int rc;

    if ((rc = location_s3(url, &l)) < 0)
        return rc;
    prefix = location_s3_key(l, name, NULL);
    rc = location_s3_objects(l, prefix, &files);
    free(prefix);
    if (rc == 0 && json_object_size(files) == 0)
        rc = err_set(ERR_NOTFOUND, "backup %s: not found in %s", name, url);
    else if (rc == 0 && !json_object_get(files, LOCATION_RECORD))
        rc = err_set(ERR_NOTFOUND,
                     "backup %s: not found in %s (only an archive without its record: an upload "
                     "that did not finish; backup delete removes it)",
                     name, url);
    if (rc == 0)
        rc = location_s3_read(l, name, files, out_record, out_archive);
    json_decref(files);
    return rc;
}

static int location_s3_delete(const char *url, const char *name)
{
    struct location_s3 *l;
    json_t *files = NULL, *v;
    const char *file;
    char *key;
    int rc;

    if ((rc = location_s3(url, &l)) < 0)
        return rc;
    key = location_s3_key(l, name, NULL);
    rc = location_s3_objects(l, key, &files);
    free(key);
    if (rc == 0 && json_object_size(files) == 0)
        rc = err_set(ERR_NOTFOUND, "backup %s: not found in %s", name, url);
    /* The record first: from then on the backup is no longer listed as
     * complete, whatever happens to the rest. */
    if (rc == 0 && json_object_get(files, LOCATION_RECORD)) {
        key = location_s3_key(l, name, LOCATION_RECORD);
        rc = s3_delete(l->client, key);
        free(key);
    }
    json_object_foreach(files, file, v)
    {
        if (rc < 0)
            break;
        if (!strcmp(file, LOCATION_RECORD))
            continue;
        key = location_s3_key(l, name, file);
        rc = s3_delete(l->client, key);
        free(key);
    }
    json_decref(files);
    return rc;
}

static void location_download_close(void *d)
{
    s3_download_close(d);
}

int location_open_archive(archive_reader **out, const char *location, const char *archive,
                          const char *what, const struct archive_read_options *o)
{
    struct location_s3 *l;
    s3_download *d;
    char *shown;
    int rc;

    *out = NULL;
    if (!location_is_s3(location))
        return archive_reader_open(out, archive, what, o);
    if ((rc = location_s3(location, &l)) < 0)
        return rc;
    shown = what ? xstrdup(what) : xasprintf("s3://%s/%s", l->cfg.bucket, archive);
    if ((rc = s3_download_open(&d, l->client, archive)) == 0)
        rc =
            archive_reader_open_source(out, s3_download_read, location_download_close, d, shown, o);
    free(shown);
    return rc;
}

struct location_raw {
    int fd;         /* a folder's archive, or -1 */
    s3_download *d; /* an S3 object's download */
    char *path;
};

int location_raw_open(void **out, const char *location, const char *archive)
{
    struct location_raw *raw = xcalloc(1, sizeof(*raw));
    struct location_s3 *l;
    int rc = 0;

    *out = NULL;
    raw->fd = -1;
    raw->path = xstrdup(archive);
    if (!location_is_s3(location)) {
        raw->fd = open(archive, O_RDONLY | O_CLOEXEC);
        if (raw->fd < 0)
            rc = err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", archive,
                         strerror(errno));
    } else if ((rc = location_s3(location, &l)) == 0) {
        rc = s3_download_open(&raw->d, l->client, archive);
    }
    if (rc < 0) {
        location_raw_close(raw);
        return rc;
    }
    *out = raw;
    return 0;
}

int location_raw_read(void *ctx, void *p, size_t n, size_t *got)
{
    struct location_raw *raw = ctx;
    ssize_t r;

    *got = 0;
    if (raw->d)
        return s3_download_read(raw->d, p, n, got);
    do
        r = read(raw->fd, p, n);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return err_set(ERR_IO, "%s: reading: %s", raw->path, strerror(errno));
    *got = (size_t)r;
    return 0;
}

void location_raw_close(void *ctx)
{
    struct location_raw *raw = ctx;
    if (!raw)
        return;
    if (raw->fd >= 0)
        close(raw->fd);
    s3_download_close(raw->d);
    free(raw->path);
    free(raw);
}

int location_list(const char *dir, json_t **out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    json_t *list;

    *out = NULL;
    if (location_is_s3(dir)) {
        if (d)
            closedir(d);
        return location_s3_list(dir, out);
    }
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
    if (n) /* qsort may not be given NULL, even for nothing */
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
    if (location_is_s3(dir))
        return location_s3_get(dir, name, out_record, out_archive);
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
    char *p, *gone = NULL;
    struct stat st;
    int rc = 0;

    if (location_is_s3(dir))
        return location_check_name(name) < 0
                   ? err_set(ERR_NOTFOUND, "backup %s: not found in %s", name, dir)
                   : location_s3_delete(dir, name);
    p = xasprintf("%s/%s", dir, name);
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
