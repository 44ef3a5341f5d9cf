/*
 * The archive's byte pipelines. Writing: tar headers and entries ->
 * deflate (gzip) -> crypt writer (or nothing, for Velero's format) -> the
 * file descriptor, with the file's SHA-256 taken on the way out. Reading
 * mirrors it: file -> crypt reader -> inflate -> tar reader. Each stage
 * works in 64 KiB pieces, so neither direction holds more than one entry.
 *
 * Why the reader drains everything after the manifest: the last chunk's
 * tag, the gzip trailer (CRC and length) and "nothing follows" are what
 * prove the archive is whole, and they sit after the last entry.
 */
#include "backup/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "backup/spill.h"
#include "backup/tar.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define ARCHIVE_IO 65536
#define ARCHIVE_PREFERRED_SUFFIX "-preferredversion"

/* ---- paths ---- */

void archive_path_dispose(struct archive_path *p)
{
    free(p->resource);
    free(p->version);
    free(p->namespace_);
    free(p->name);
    memset(p, 0, sizeof(*p));
}

char *archive_object_path(const char *resource, const char *preferred_version, const char *ns,
                          const char *name)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "resources/%s/", resource);
    if (preferred_version)
        buf_printf(&b, "%s%s/", preferred_version, ARCHIVE_PREFERRED_SUFFIX);
    if (ns)
        buf_printf(&b, "namespaces/%s/%s.json", ns, name);
    else
        buf_printf(&b, "cluster/%s.json", name);
    return buf_detach(&b);
}

/* A resource folder name: "configmaps", "deployments.apps". */
static int archive_resource_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '.'))
            return 0;
    return 1;
}

/* An API version: "v1", "v1beta2", "v2alpha1". */
static int archive_version_ok(const char *s, size_t n)
{
    if (n < 2 || n > 63 || s[0] != 'v' || s[1] < '0' || s[1] > '9')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* A namespace: a DNS label. */
static int archive_namespace_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* An object name as a path component: Kubernetes allows almost anything
 * but '/' and '%' (RBAC names carry ':'), never "." or "..". Control
 * characters and backslashes are refused too: no name needs them and
 * some file systems and terminals treat them specially. */
static int archive_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%')
            return 0;
    }
    return 1;
}

int archive_path_check(const char *path, struct archive_path *out)
{
    const char *parts[8];
    size_t lens[8], n = 0, len = strlen(path), k = 0;
    const char *p = path, *why = NULL;
    struct archive_path res;

    memset(&res, 0, sizeof(res));
    if (len == 0 || len > 1024)
        return err_set(ERR_INVALID, "entry path of %zu bytes", len);
    if (path[0] == '/')
        return err_set(ERR_INVALID, "entry \"%s\": an absolute path", path);
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 8)
            return err_set(ERR_INVALID, "entry \"%s\": not in the backup layout (too deep)", path);
        if ((l == 2 && p[0] == '.' && p[1] == '.'))
            return err_set(ERR_INVALID, "entry \"%s\": a \"..\" component", path);
        if (l == 0 || (l == 1 && p[0] == '.'))
            return err_set(ERR_INVALID, "entry \"%s\": an empty or \".\" component", path);
        parts[n] = p;
        lens[n++] = l;
        if (!slash)
            break;
        p = slash + 1;
    }
#define PART_IS(i, s) (lens[i] == strlen(s) && memcmp(parts[i], s, lens[i]) == 0)
    if (n == 2 && PART_IS(0, "metadata") &&
        (PART_IS(1, "version") || PART_IS(1, "edgecd-manifest.json")))
        return 0;
    if (n < 4 || !PART_IS(0, "resources")) {
        why = "not in the backup layout";
        goto bad;
    }
    if (!archive_resource_ok(parts[1], lens[1])) {
        why = "a resource folder that is not resource[.group]";
        goto bad;
    }
    k = 2;
    if (!PART_IS(k, "namespaces") && !PART_IS(k, "cluster")) {
        size_t sl = strlen(ARCHIVE_PREFERRED_SUFFIX);
        size_t vl =
            lens[k] > sl && memcmp(parts[k] + lens[k] - sl, ARCHIVE_PREFERRED_SUFFIX, sl) == 0
                ? lens[k] - sl
                : lens[k];
        if (!archive_version_ok(parts[k], vl)) {
            why = "not in the backup layout (expected namespaces, cluster or a version folder)";
            goto bad;
        }
        res.version = xstrndup(parts[k], vl);
        res.preferred = vl != lens[k];
        k++;
    }
    if (k < n && PART_IS(k, "namespaces") && n == k + 3) {
        if (!archive_namespace_ok(parts[k + 1], lens[k + 1])) {
            why = "a namespace folder that is not a namespace name";
            goto bad;
        }
        res.namespace_ = xstrndup(parts[k + 1], lens[k + 1]);
        k += 2;
    } else if (k < n && PART_IS(k, "cluster") && n == k + 2) {
        k += 1;
    } else {
        why = "not in the backup layout";
        goto bad;
    }
    if (lens[k] <= 5 || memcmp(parts[k] + lens[k] - 5, ".json", 5) != 0 ||
        !archive_name_ok(parts[k], lens[k] - 5)) {
        why = "not an object file (NAME.json)";
        goto bad;
    }
    res.name = xstrndup(parts[k], lens[k] - 5);
    res.resource = xstrndup(parts[1], lens[1]);
#undef PART_IS
    if (out)
        *out = res;
    else
        archive_path_dispose(&res);
    return 1;
bad:
    archive_path_dispose(&res);
    return err_set(ERR_INVALID, "entry \"%s\": %s", path, why);
}

int archive_appliance_path_check(const char *path)
{
    size_t dl = strlen(ARCHIVE_APPLIANCE_DIR), parts = 0;
    const char *p;

    if (!strcmp(path, ARCHIVE_VERSION_PATH) || !strcmp(path, ARCHIVE_MANIFEST_PATH))
        return 0;
    if (strncmp(path, ARCHIVE_APPLIANCE_DIR, dl) != 0)
        return err_set(ERR_INVALID, "entry \"%.200s\": not an appliance backup entry", path);
    for (p = path + dl;; parts++) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l == 0 || l > 255 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
            return err_set(ERR_INVALID, "entry \"%.200s\": an empty, \".\" or \"..\" component",
                           path);
        for (size_t i = 0; i < l; i++)
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                  (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '-' || p[i] == '_'))
                return err_set(ERR_INVALID, "entry \"%.200s\": a character outside [A-Za-z0-9._-]",
                               path);
        if (parts >= 3)
            return err_set(ERR_INVALID, "entry \"%.200s\": too deep", path);
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

/* ---- the entry list (what the manifest must match) ----
 * One record per entry, in archive order: its SHA-256 (hex), size and
 * path. A spill log (spill.h) keeps it, so with a folder it costs no
 * memory whatever the number of entries; each use reads it from the
 * start. */

struct archive_list {
    spill_log *log;
    size_t n;
};

/* One record as read back. */
struct archive_rec {
    char sha[65];
    uint64_t size;
    char path[TAR_MAX_PATH + 1];
};

static archive_list *archive_list_new(const char *dir, const char *what)
{
    archive_list *l = xcalloc(1, sizeof(*l));
    char *name = xasprintf("the entry list of %s", what);
    l->log = spill_log_new(dir, name);
    free(name);
    return l;
}

static int archive_list_add(archive_list *l, const char *path, uint64_t size, const char *sha)
{
    unsigned char head[64 + 8 + 2];
    size_t len = strlen(path);
    int rc;

    if (len > TAR_MAX_PATH)
        return err_set(ERR_INVALID, "entry path of %zu bytes", len);
    memcpy(head, sha, 64);
    memcpy(head + 64, &size, 8);
    head[72] = (unsigned char)(len >> 8);
    head[73] = (unsigned char)len;
    if ((rc = spill_log_append(l->log, head, sizeof(head))) < 0 ||
        (rc = spill_log_append(l->log, path, len)) < 0)
        return rc;
    l->n++;
    return 0;
}

/* The next record: 1, 0 at the end, negative on a read error. */
static int archive_list_next(archive_list *l, struct archive_rec *out)
{
    unsigned char head[64 + 8 + 2];
    size_t len;
    int rc = spill_log_read(l->log, head, sizeof(head));
    if (rc <= 0)
        return rc;
    memcpy(out->sha, head, 64);
    out->sha[64] = '\0';
    memcpy(&out->size, head + 64, 8);
    len = (size_t)head[72] << 8 | head[73];
    if ((rc = spill_log_read(l->log, out->path, len)) < 0)
        return rc;
    if (rc == 0 && len > 0)
        return err_set(ERR_GENERIC, "the entry list ends inside a record");
    out->path[len] = '\0';
    return 1;
}

static void archive_list_rewind(archive_list *l)
{
    spill_log_rewind(l->log);
}

size_t archive_list_count(const archive_list *l)
{
    return l ? l->n : 0;
}

void archive_list_free(archive_list *l)
{
    if (!l)
        return;
    spill_log_free(l->log);
    free(l);
}

/* The list as a verified manifest's compact "entries": "SHA256 PATH"
 * strings (only for lists kept in memory: this holds them all). */
static int archive_list_compact(archive_list *l, struct archive_rec *rec, json_t **out)
{
    json_t *a = json_array();
    int rc;
    *out = NULL;
    archive_list_rewind(l);
    while ((rc = archive_list_next(l, rec)) > 0) {
        char *one = xasprintf("%s %s", rec->sha, rec->path);
        json_array_append_new(a, json_string(one));
        free(one);
    }
    if (rc < 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* A list from compact "entries" (a manifest archive_verify returned in
 * memory), for a second pass given no list. Sizes are not in it: a second
 * pass compares paths and digests. */
static int archive_list_from_compact(const json_t *entries, archive_list **out)
{
    archive_list *l = archive_list_new(NULL, "the verified manifest");
    size_t i;
    json_t *v;
    int rc = 0;

    *out = NULL;
    json_array_foreach(entries, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strlen(s) < 66 || s[64] != ' ') {
            rc = err_set(ERR_INVALID, "the verified manifest's entry %zu is not \"SHA256 PATH\"",
                         i + 1);
            break;
        }
        if ((rc = archive_list_add(l, s + 65, 0, s)) < 0)
            break;
    }
    if (rc < 0) {
        archive_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* ---- writer ---- */

struct archive_writer {
    int fd;
    archive_sink_fn sink; /* instead of fd when set */
    void *sink_ctx;
    char *what;
    crypt_writer *crypt;
    z_stream z;
    int z_init;
    unsigned char zout[ARCHIVE_IO];
    mbedtls_sha256_context file_sha;
    uint64_t file_size;
    struct buf hdr;
    archive_list *list;
    int64_t mtime;
    int failed;
};

/* Bytes to the file, all of them. */
static int archive_fd_write(void *ctx, const void *p, size_t n)
{
    archive_writer *w = ctx;
    const unsigned char *s = p;
    mbedtls_sha256_update_ret(&w->file_sha, s, n);
    w->file_size += n;
    if (w->sink)
        return w->sink(w->sink_ctx, s, n);
    while (n > 0) {
        ssize_t k = write(w->fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return err_set(ERR_IO, "write %s: %s", w->what,
                           k < 0 ? strerror(errno) : "no progress");
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Compressed bytes to the next stage. */
static int archive_emit(archive_writer *w, const void *p, size_t n)
{
    return w->crypt ? crypt_writer_write(w->crypt, p, n) : archive_fd_write(w, p, n);
}

static int archive_deflate(archive_writer *w, const void *p, size_t n, int flush)
{
    w->z.next_in = (unsigned char *)p;
    w->z.avail_in = (uInt)n;
    for (;;) {
        int zr, rc;
        w->z.next_out = w->zout;
        w->z.avail_out = sizeof(w->zout);
        zr = deflate(&w->z, flush);
        if (zr == Z_STREAM_ERROR)
            return err_set(ERR_GENERIC, "%s: compression failed", w->what);
        if (sizeof(w->zout) - w->z.avail_out > 0 &&
            (rc = archive_emit(w, w->zout, sizeof(w->zout) - w->z.avail_out)) < 0)
            return rc;
        if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_out != 0)
            return 0;
    }
}

/* Tar bytes in, with n split so zlib's uInt never overflows. */
static int archive_put(archive_writer *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n > 0) {
        size_t take = n > (1u << 30) ? (1u << 30) : n;
        int rc = archive_deflate(w, s, take, Z_NO_FLUSH);
        if (rc < 0)
            return rc;
        s += take;
        n -= take;
    }
    return 0;
}

/* An entry's tar header, before its content. */
static int archive_entry_begin(archive_writer *w, const char *path, uint64_t len)
{
    int rc;
    if (w->failed)
        return err_set(ERR_INVALID, "%s: an earlier write failed", w->what);
    if (w->list->n >= ARCHIVE_MAX_ENTRIES)
        return err_set(ERR_TOOLARGE, "%s: more than %u entries", w->what, ARCHIVE_MAX_ENTRIES);
    buf_clear(&w->hdr);
    if ((rc = tar_file_header(&w->hdr, path, len, w->mtime)) < 0 ||
        (rc = archive_put(w, w->hdr.ptr, w->hdr.len)) < 0)
        w->failed = 1;
    return rc;
}

/* An entry's padding and its line in the manifest, after its content. */
static int archive_entry_end(archive_writer *w, const char *path, uint64_t len, const char *sha)
{
    static const unsigned char zeros[TAR_BLOCK];
    int rc = archive_put(w, zeros, tar_padding(len));
    if (rc < 0 || (rc = archive_list_add(w->list, path, len, sha)) < 0)
        w->failed = 1;
    return rc;
}

static int archive_write_entry(archive_writer *w, const char *path, const void *data, size_t len)
{
    char sha[65];
    int rc;

    if ((rc = archive_entry_begin(w, path, len)) < 0)
        return rc;
    if ((rc = archive_put(w, data, len)) < 0) {
        w->failed = 1;
        return rc;
    }
    util_sha256_hex(data, len, sha);
    return archive_entry_end(w, path, len, sha);
}

/* A writer to fd, or to sink when it is set. */
static int archive_writer_make(archive_writer **out, int fd, archive_sink_fn sink, void *ctx,
                               const char *what, const struct crypt_key *key)
{
    archive_writer *w = xcalloc(1, sizeof(*w));
    int rc;

    *out = NULL;
    w->fd = fd;
    w->sink = sink;
    w->sink_ctx = ctx;
    w->what = xstrdup(what);
    w->mtime = (int64_t)time(NULL);
    w->list = archive_list_new(NULL, what);
    buf_init(&w->hdr);
    mbedtls_sha256_init(&w->file_sha);
    mbedtls_sha256_starts_ret(&w->file_sha, 0);
    /* windowBits 15 + 16: a gzip wrapper, as `tar xzf` and Velero expect. */
    if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        rc = err_set(ERR_GENERIC, "%s: zlib setup failed", what);
        goto out;
    }
    w->z_init = 1;
    if (key && (rc = crypt_writer_new(&w->crypt, key, archive_fd_write, w)) < 0)
        goto out;
    if ((rc = archive_write_entry(w, ARCHIVE_VERSION_PATH, ARCHIVE_FORMAT_VERSION,
                                  strlen(ARCHIVE_FORMAT_VERSION))) < 0)
        goto out;
    *out = w;
    w = NULL;
out:
    archive_writer_free(w);
    return rc;
}

int archive_writer_new(archive_writer **out, int fd, const char *what, const struct crypt_key *key)
{
    return archive_writer_make(out, fd, NULL, NULL, what, key);
}

int archive_writer_new_sink(archive_writer **out, archive_sink_fn sink, void *ctx, const char *what,
                            const struct crypt_key *key)
{
    return archive_writer_make(out, -1, sink, ctx, what, key);
}

int archive_writer_add(archive_writer *w, const char *path, const void *data, size_t len)
{
    int rc = archive_path_check(path, NULL);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(ERR_INVALID, "entry \"%s\": written by the archive itself", path);
    if (len > ARCHIVE_MAX_ENTRY)
        return err_set(ERR_TOOLARGE, "entry \"%s\": %zu bytes, over the %u-byte limit", path, len,
                       ARCHIVE_MAX_ENTRY);
    return archive_write_entry(w, path, data, len);
}

int archive_writer_add_file(archive_writer *w, const char *path, const char *file)
{
    mbedtls_sha256_context sha;
    unsigned char piece[ARCHIVE_IO], digest[32];
    char hex[65];
    struct stat sb;
    uint64_t size, done = 0;
    int fd = -1, rc;

    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts_ret(&sha, 0);
    if ((rc = archive_appliance_path_check(path)) <= 0) {
        if (rc == 0)
            rc = err_set(ERR_INVALID, "entry \"%s\": written by the archive itself", path);
        goto out;
    }
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        rc = err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", file, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = err_set(ERR_INVALID, "%s: not a regular file", file);
        goto out;
    }
    size = (uint64_t)sb.st_size;
    if (size > ARCHIVE_MAX_APPLIANCE_ENTRY) {
        rc = err_set(ERR_TOOLARGE, "%s: %llu bytes, over the archive's limit", file,
                     (unsigned long long)size);
        goto out;
    }
    if ((rc = archive_entry_begin(w, path, size)) < 0)
        goto out;
    while (done < size) {
        size_t want = size - done < sizeof(piece) ? (size_t)(size - done) : sizeof(piece);
        ssize_t k = read(fd, piece, want);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = err_set(ERR_IO, "%s: %s", file, k < 0 ? strerror(errno) : "shrank while read");
            w->failed = 1;
            goto out;
        }
        mbedtls_sha256_update_ret(&sha, piece, (size_t)k);
        if ((rc = archive_put(w, piece, (size_t)k)) < 0) {
            w->failed = 1;
            goto out;
        }
        done += (uint64_t)k;
    }
    mbedtls_sha256_finish_ret(&sha, digest);
    util_hex(hex, digest, sizeof(digest));
    rc = archive_entry_end(w, path, size, hex);
out:
    if (fd >= 0)
        close(fd);
    mbedtls_sha256_free(&sha);
    memset(piece, 0, sizeof(piece)); /* keys pass through it */
    return rc;
}

void archive_writer_set_tmpdir(archive_writer *w, const char *dir)
{
    spill_log_set_dir(w->list->log, dir);
}

size_t archive_writer_count(const archive_writer *w)
{
    return w->list->n;
}

/* One entry of the manifest's list as compact JSON text into b. */
static void archive_entry_json(struct buf *b, const struct archive_rec *r)
{
    json_t *e = json_pack("{s:s, s:I, s:s}", "path", r->path, "size", (json_int_t)r->size, "sha256",
                          r->sha);
    buf_clear(b);
    doc_emit_json(b, e, 0);
    json_decref(e);
}

/* The manifest is streamed into its entry rather than built: a backup of
 * many objects would otherwise hold every entry three times at the end
 * (the list, its JSON tree, its text). A first walk over the list sums
 * the text's length (the tar header comes first), a second writes it. */
int archive_writer_finish(archive_writer *w, json_t *manifest, uint64_t *out_size,
                          char out_sha256[65])
{
    static const unsigned char end[TAR_END_LEN];
    static const unsigned char zeros[TAR_BLOCK];
    static const char open_list[] = "\"entries\":[", close_list[] = "]}";
    struct buf head = BUF_INIT, one = BUF_INIT;
    struct archive_rec *rec = xmalloc(sizeof(*rec));
    unsigned char digest[32];
    uint64_t total;
    size_t i;
    int rc;

    json_object_del(manifest, "entries");
    doc_emit_json(&head, manifest, 0);
    if (head.len < 2 || head.ptr[head.len - 1] != '}') {
        rc = err_set(ERR_INVALID, "%s: the manifest is not a JSON object", w->what);
        goto out;
    }
    head.ptr[--head.len] = '\0'; /* the list goes before the closing brace */
    if (head.len > 1)
        buf_puts(&head, ",");
    buf_puts(&head, open_list);
    total = head.len + strlen(close_list);
    archive_list_rewind(w->list);
    for (i = 0; (rc = archive_list_next(w->list, rec)) > 0; i++) {
        archive_entry_json(&one, rec);
        total += one.len + (i > 0);
    }
    if (rc < 0)
        goto out;
    if (total > ARCHIVE_MAX_MANIFEST) {
        rc = err_set(ERR_TOOLARGE, "%s: the manifest is over %u bytes", w->what,
                     ARCHIVE_MAX_MANIFEST);
        goto out;
    }
    if (w->failed) {
        rc = err_set(ERR_INVALID, "%s: an earlier write failed", w->what);
        goto out;
    }
    buf_clear(&w->hdr);
    if ((rc = tar_file_header(&w->hdr, ARCHIVE_MANIFEST_PATH, (size_t)total, w->mtime)) < 0 ||
        (rc = archive_put(w, w->hdr.ptr, w->hdr.len)) < 0 ||
        (rc = archive_put(w, head.ptr, head.len)) < 0)
        goto out;
    archive_list_rewind(w->list);
    for (i = 0; (rc = archive_list_next(w->list, rec)) > 0; i++) {
        archive_entry_json(&one, rec);
        if ((i > 0 && (rc = archive_put(w, ",", 1)) < 0) ||
            (rc = archive_put(w, one.ptr, one.len)) < 0)
            goto out;
    }
    if (rc < 0 || (rc = archive_put(w, close_list, strlen(close_list))) < 0 ||
        (rc = archive_put(w, zeros, tar_padding((size_t)total))) < 0 ||
        (rc = archive_put(w, end, sizeof(end))) < 0 ||
        (rc = archive_deflate(w, NULL, 0, Z_FINISH)) < 0 ||
        (w->crypt && (rc = crypt_writer_finish(w->crypt)) < 0))
        goto out;
    mbedtls_sha256_finish_ret(&w->file_sha, digest);
    util_hex(out_sha256, digest, sizeof(digest));
    *out_size = w->file_size;
out:
    buf_dispose(&head);
    buf_dispose(&one);
    free(rec);
    if (rc < 0)
        w->failed = 1;
    return rc;
}

void archive_writer_free(archive_writer *w)
{
    if (!w)
        return;
    if (w->z_init)
        deflateEnd(&w->z);
    crypt_writer_free(w->crypt);
    mbedtls_sha256_free(&w->file_sha);
    buf_dispose(&w->hdr);
    archive_list_free(w->list);
    free(w->what);
    free(w);
}

/* ---- reader ---- */

/* The manifest's text, read in pieces (see archive_mscan_byte): what lies
 * outside its top-level "entries" list is kept (with null in the list's
 * place) and parsed at the end; the list's elements are taken one at a
 * time and checked as they come. The first problem with an element is
 * kept and reported after the checks of the text around the list, in the
 * order a whole-text reading would find them. */
#define ARCHIVE_MAX_MANIFEST_ITEM (64u << 10)

struct archive_mscan {
    struct buf head; /* the text outside the list, "null" in its place */
    int started;     /* the opening '{' was seen */
    int depth, in_str, esc;
    size_t key_at; /* where in head the last string began */
    int key;       /* 1: the "entries" key just ended, 2: its ':' too */
    int found;     /* the list began */
    int in_list;   /* inside it */
    int no_list;   /* "entries" is not a list, or the text not an object */
    int ldepth, lstr, lesc;
    int es;          /* the element's state, ARCHIVE_ES_* */
    int kind;        /* '{', '[', '"', or 's' for a scalar */
    struct buf item; /* the element's text */
    size_t items;    /* elements taken */
    int fail_rc;     /* the first element's problem */
    char *fail_msg;
    uint64_t pos; /* bytes seen */
};

enum { ARCHIVE_ES_FIRST, ARCHIVE_ES_NEXT, ARCHIVE_ES_IN, ARCHIVE_ES_AFTER };

struct archive_reader {
    int fd;
    archive_source_fn source; /* instead of fd when set */
    void (*source_close)(void *ctx);
    void *source_ctx;
    const unsigned char *mem;
    size_t mem_len, mem_off;
    char *what;
    unsigned char head[CRYPT_MAGIC_LEN];
    size_t head_len, head_off;
    crypt_reader *crypt;
    z_stream z;
    int z_init, z_end;
    unsigned char zin[ARCHIVE_IO];
    struct tar_reader tar;
    struct tar_entry te;
    struct buf content;
    json_t *object;
    struct archive_path where;
    /* the entries as they come (a verifying pass), or the verified list
     * they are checked against (a later pass; owned when made here) */
    archive_list *list;
    archive_list *expect_list;
    int own_expect;
    struct archive_rec *rec; /* scratch for one record of either */
    int keep_compact;        /* no tmpdir: the manifest keeps compact "entries" */
    struct archive_mscan ms;
    mbedtls_sha256_context ms_sha;
    int ms_sha_init;
    const json_t *expect;
    const char *expect_sha256;
    int appliance;
    int (*sink)(void *ctx, const char *path, const void *p, size_t n, int last);
    void *sink_ctx;
    size_t index; /* entries read, metadata/version included */
    json_t *manifest;
    char manifest_sha256[65];
    int done;
};

/* The file's bytes, the peeked head first. */
static int archive_raw_read(void *ctx, void *p, size_t n, size_t *got)
{
    archive_reader *r = ctx;
    *got = 0;
    if (r->head_off < r->head_len) {
        size_t take = r->head_len - r->head_off < n ? r->head_len - r->head_off : n;
        memcpy(p, r->head + r->head_off, take);
        r->head_off += take;
        *got = take;
        return 0;
    }
    if (r->mem) {
        size_t take = r->mem_len - r->mem_off < n ? r->mem_len - r->mem_off : n;
        memcpy(p, r->mem + r->mem_off, take);
        r->mem_off += take;
        *got = take;
        return 0;
    }
    if (r->source)
        return r->source(r->source_ctx, p, n, got);
    for (;;) {
        ssize_t k = read(r->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return err_set(ERR_IO, "read %s: %s", r->what, strerror(errno));
        *got = (size_t)k;
        return 0;
    }
}

/* Compressed bytes: decrypted and authenticated, or the file's own. */
static int archive_compressed_read(archive_reader *r, void *p, size_t n, size_t *got)
{
    return r->crypt ? crypt_reader_read(r->crypt, p, n, got) : archive_raw_read(r, p, n, got);
}

/* Tar bytes. */
static int archive_tar_read(void *ctx, void *p, size_t n, size_t *got)
{
    archive_reader *r = ctx;
    *got = 0;
    r->z.next_out = p;
    r->z.avail_out = (uInt)(n > (1u << 30) ? (1u << 30) : n);
    while (r->z.avail_out > 0 && !r->z_end) {
        int zr;
        uInt before = r->z.avail_out;
        if (r->z.avail_in == 0) {
            size_t k = 0;
            int rc = archive_compressed_read(r, r->zin, sizeof(r->zin), &k);
            if (rc < 0)
                return rc;
            if (k == 0)
                return err_set(ERR_INVALID, "%s: truncated: the compressed data ends early",
                               r->what);
            r->z.next_in = r->zin;
            r->z.avail_in = (uInt)k;
        }
        zr = inflate(&r->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            r->z_end = 1;
        } else if (zr != Z_OK && !(zr == Z_BUF_ERROR && before != r->z.avail_out)) {
            return err_set(ERR_INVALID, "%s: damaged compressed data (%s)", r->what,
                           r->z.msg ? r->z.msg : "zlib error");
        }
    }
    *got = (size_t)((unsigned char *)r->z.next_out - (unsigned char *)p);
    return 0;
}

static int archive_reader_init(archive_reader *r, const struct archive_read_options *o)
{
    static const struct archive_read_options none = ARCHIVE_READ_OPTIONS_INIT;
    size_t got = 0;
    int rc;

    if (!o)
        o = &none;
    r->expect = o->expect;
    r->expect_sha256 = o->expect ? o->expect_sha256 : NULL;
    r->appliance = o->appliance;
    r->sink = o->sink;
    r->sink_ctx = o->sink_ctx;
    r->keep_compact = !o->tmpdir;
    r->rec = xmalloc(sizeof(*r->rec));
    mbedtls_sha256_init(&r->ms_sha);
    mbedtls_sha256_starts_ret(&r->ms_sha, 0);
    r->ms_sha_init = 1;
    buf_init(&r->content);
    if (!r->expect) {
        r->list = archive_list_new(o->tmpdir, r->what);
    } else if (o->expect_list) {
        r->expect_list = o->expect_list;
        archive_list_rewind(r->expect_list);
    } else {
        if ((rc = archive_list_from_compact(json_object_get(r->expect, "entries"),
                                            &r->expect_list)) < 0)
            return rc;
        r->own_expect = 1;
    }
    /* Peek at the magic, then hand the same bytes on (head_len is 0
     * while peeking, so the reads come from the file). */
    while (got < sizeof(r->head)) {
        size_t k = 0;
        if ((rc = archive_raw_read(r, r->head + got, sizeof(r->head) - got, &k)) < 0)
            return rc;
        if (k == 0)
            break;
        got += k;
    }
    r->head_len = got;
    if (crypt_is_encrypted(r->head, r->head_len)) {
        if (!o->key)
            return err_set(ERR_AUTH, "%s: encrypted: a key file or passphrase is needed", r->what);
        if ((rc = crypt_reader_new(&r->crypt, o->key, archive_raw_read, r, r->what)) < 0)
            return rc;
    } else if (r->head_len >= 3 && r->head[0] == 0x1f && r->head[1] == 0x8b && r->head[2] == 8) {
        if (!o->allow_plain)
            return err_set(ERR_INVALID,
                           "%s: not encrypted (a plain tar.gz), and encryption is required",
                           r->what);
    } else {
        return err_set(ERR_INVALID,
                       "%s: not a backup archive (neither an encrypted edgecd archive nor a "
                       "gzip-compressed tar)",
                       r->what);
    }
    if (inflateInit2(&r->z, 15 + 16) != Z_OK)
        return err_set(ERR_GENERIC, "%s: zlib setup failed", r->what);
    r->z_init = 1;
    tar_reader_init(&r->tar, archive_tar_read, r);
    return 0;
}

static archive_reader *archive_reader_alloc(const char *what)
{
    archive_reader *r = xcalloc(1, sizeof(*r));
    r->fd = -1;
    r->what = xstrdup(what);
    return r;
}

int archive_reader_open(archive_reader **out, const char *path, const char *what,
                        const struct archive_read_options *o)
{
    archive_reader *r = archive_reader_alloc(what ? what : path);
    int rc;

    *out = NULL;
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (r->fd < 0) {
        rc = err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", r->what, strerror(errno));
        archive_reader_close(r);
        return rc;
    }
    if ((rc = archive_reader_init(r, o)) < 0) {
        archive_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int archive_reader_open_source(archive_reader **out, archive_source_fn source,
                               void (*source_close)(void *ctx), void *ctx, const char *what,
                               const struct archive_read_options *o)
{
    archive_reader *r = archive_reader_alloc(what);
    int rc;

    *out = NULL;
    r->source = source;
    r->source_close = source_close;
    r->source_ctx = ctx;
    if ((rc = archive_reader_init(r, o)) < 0) {
        archive_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Name the file in a tar error once: the layers below it (chunks, gzip)
 * name it already, the tar reader does not know it. */
static int archive_named(const archive_reader *r, int rc)
{
    if (!str_has_prefix(err_last(), r->what))
        err_prefix(rc, "%s", r->what);
    return rc;
}

/* After the manifest: the tar end, zero padding only, the gzip trailer,
 * the final chunk, and nothing after any of them. */
static int archive_drain(archive_reader *r)
{
    struct tar_entry e;
    unsigned char tmp[4096];
    size_t got;
    int rc = tar_reader_next(&r->tar, &e);
    if (rc < 0)
        return archive_named(r, rc);
    if (rc > 0) {
        rc = err_set(ERR_INVALID, "%s: entry \"%s\" after the manifest", r->what, e.path);
        tar_entry_dispose(&e);
        return rc;
    }
    do {
        if ((rc = archive_tar_read(r, tmp, sizeof(tmp), &got)) < 0)
            return rc;
        for (size_t i = 0; i < got; i++)
            if (tmp[i])
                return err_set(ERR_INVALID, "%s: data after the end of the tar archive", r->what);
    } while (got > 0);
    if (r->z.avail_in > 0)
        return err_set(ERR_INVALID, "%s: data after the end of the compressed stream", r->what);
    if ((rc = archive_compressed_read(r, tmp, sizeof(tmp), &got)) < 0)
        return rc;
    if (got > 0)
        return err_set(ERR_INVALID, "%s: data after the end of the compressed stream", r->what);
    return 0;
}

/* 1 if s is set and equal to want. */
static int archive_str_is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

static int archive_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One entry of the manifest's list against the list it must match: the
 * entries this pass saw (a verifying pass), or the verified list (a
 * later pass that parses the manifest again). */
static int archive_manifest_entry(archive_reader *r, const json_t *e, size_t i)
{
    const char *path = doc_get_str(e, "path"), *sha = doc_get_str(e, "sha256");
    json_t *size = json_object_get(e, "size");
    struct archive_rec *rec = r->rec;
    int rc;

    if (!path || !sha || strlen(sha) != 64 || !json_is_integer(size))
        return err_set(ERR_INVALID, "%s: %s: entry %zu: needs path, size and sha256", r->what,
                       ARCHIVE_MANIFEST_PATH, i + 1);
    if (r->expect) {
        /* The verifying pass compared this very list with the entries; it
         * must not have changed between the passes. */
        if ((rc = archive_list_next(r->expect_list, rec)) < 0)
            return rc;
        if (rc == 0 || strcmp(path, rec->path) != 0 || strcmp(sha, rec->sha) != 0)
            return err_set(ERR_INVALID, "%s: the manifest changed since it was verified", r->what);
        return 0;
    }
    if ((rc = archive_list_next(r->list, rec)) < 0)
        return rc;
    if (rc == 0)
        return err_set(ERR_INVALID, "%s: the manifest lists more entries than the archive holds",
                       r->what);
    if (strcmp(path, rec->path) != 0)
        return err_set(ERR_INVALID, "%s: entry %zu is \"%s\", the manifest says \"%s\"", r->what,
                       i + 1, rec->path, path);
    if ((uint64_t)json_integer_value(size) != rec->size)
        return err_set(ERR_INVALID, "%s: entry \"%s\": %llu bytes, not the manifest's size",
                       r->what, rec->path, (unsigned long long)rec->size);
    if (strcmp(sha, rec->sha) != 0)
        return err_set(ERR_INVALID, "%s: entry \"%s\": SHA-256 differs from the manifest", r->what,
                       rec->path);
    return 0;
}

/* Keep the first problem of the list's elements for later; the scan
 * goes on to find the list's end. */
static void archive_mscan_fail(struct archive_mscan *m, int rc)
{
    if (m->fail_msg)
        return;
    m->fail_rc = rc;
    m->fail_msg = xstrdup(err_last());
    err_clear();
}

/* An element's text is complete: parse and check it. */
static void archive_mscan_item(archive_reader *r, struct archive_mscan *m)
{
    json_error_t jerr;
    json_t *e;
    int rc;

    m->es = ARCHIVE_ES_AFTER;
    if (m->fail_msg)
        return;
    e = json_loadb(m->item.ptr, m->item.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(e))
        rc = err_set(ERR_INVALID, "%s: %s: entry %zu: %s", r->what, ARCHIVE_MANIFEST_PATH,
                     m->items + 1, e ? "not an object" : jerr.text);
    else
        rc = archive_manifest_entry(r, e, m->items);
    json_decref(e);
    if (rc < 0)
        archive_mscan_fail(m, rc);
    m->items++;
}

/* One byte inside the list. The list's end is found by brackets and
 * strings alone (as a whole-text reading would), whatever its elements
 * hold; the elements are cut at the commas between them. */
static void archive_mscan_list_byte(archive_reader *r, struct archive_mscan *m, char c)
{
    int was_str = m->lstr, end = 0;

    if (m->lstr) {
        if (m->lesc)
            m->lesc = 0;
        else if (c == '\\')
            m->lesc = 1;
        else if (c == '"')
            m->lstr = 0;
    } else if (c == '"') {
        m->lstr = 1;
    } else if (c == '[' || c == '{') {
        m->ldepth++;
    } else if (c == ']' || c == '}') {
        end = --m->ldepth == 0;
    }
    if (m->fail_msg)
        goto out;
    switch (m->es) {
    case ARCHIVE_ES_FIRST:
    case ARCHIVE_ES_NEXT:
        if (archive_is_ws(c))
            break;
        if (end) {
            if (m->es == ARCHIVE_ES_NEXT) {
                err_set(ERR_INVALID, "%s: %s: entry %zu: a value is missing before ']'", r->what,
                        ARCHIVE_MANIFEST_PATH, m->items + 1);
                archive_mscan_fail(m, ERR_INVALID);
            }
            break;
        }
        buf_clear(&m->item);
        buf_putc(&m->item, c);
        m->kind = c == '{' || c == '[' || c == '"' ? c : 's';
        m->es = ARCHIVE_ES_IN;
        break;
    case ARCHIVE_ES_IN:
        if (m->kind == 's' && !was_str && (archive_is_ws(c) || c == ',' || end)) {
            archive_mscan_item(r, m);
            if (c == ',')
                m->es = ARCHIVE_ES_NEXT;
            break;
        }
        if (m->item.len >= ARCHIVE_MAX_MANIFEST_ITEM) {
            err_set(ERR_TOOLARGE, "%s: %s: entry %zu: over %u bytes", r->what,
                    ARCHIVE_MANIFEST_PATH, m->items + 1, ARCHIVE_MAX_MANIFEST_ITEM);
            archive_mscan_fail(m, ERR_TOOLARGE);
            break;
        }
        buf_putc(&m->item, c);
        if ((m->kind == '"' && !m->lstr) ||
            ((m->kind == '{' || m->kind == '[') && !m->lstr && m->ldepth == 1))
            archive_mscan_item(r, m);
        break;
    case ARCHIVE_ES_AFTER:
        if (archive_is_ws(c) || end)
            break;
        if (c == ',' && !was_str) {
            m->es = ARCHIVE_ES_NEXT;
            break;
        }
        err_set(ERR_INVALID, "%s: %s: entries: expected ',' at byte %llu", r->what,
                ARCHIVE_MANIFEST_PATH, (unsigned long long)m->pos);
        archive_mscan_fail(m, ERR_INVALID);
        break;
    }
out:
    if (end) {
        m->in_list = 0;
        m->depth--; /* the list's ']' closes what its '[' opened */
    }
}

/* One byte of the manifest's text. */
static void archive_mscan_byte(archive_reader *r, struct archive_mscan *m, char c)
{
    if (m->no_list)
        return;
    if (m->in_list) {
        archive_mscan_list_byte(r, m, c);
        m->pos++;
        return;
    }
    m->pos++;
    if (!m->started) {
        if (!archive_is_ws(c) && c != '{') {
            m->no_list = 1;
            return;
        }
        m->started = c == '{';
    }
    if (m->in_str) {
        buf_putc(&m->head, c);
        if (m->esc) {
            m->esc = 0;
        } else if (c == '\\') {
            m->esc = 1;
        } else if (c == '"') {
            m->in_str = 0;
            if (m->depth == 1 && !m->found && m->head.len - m->key_at == 9 &&
                memcmp(m->head.ptr + m->key_at, "\"entries\"", 9) == 0)
                m->key = 1;
        }
        return;
    }
    if (m->key && archive_is_ws(c)) {
        buf_putc(&m->head, c);
        return;
    }
    if (m->key == 1 && c == ':') {
        buf_putc(&m->head, c);
        m->key = 2;
        return;
    }
    if (m->key == 2) {
        m->key = 0;
        if (c != '[') {
            m->no_list = 1;
            return;
        }
        m->found = m->in_list = 1;
        m->ldepth = 1;
        m->depth++;
        m->es = ARCHIVE_ES_FIRST;
        buf_puts(&m->head, "null");
        return;
    }
    m->key = 0;
    buf_putc(&m->head, c);
    if (c == '"') {
        m->in_str = 1;
        m->key_at = m->head.len - 1;
    } else if (c == '{' || c == '[') {
        m->depth++;
    } else if (c == '}' || c == ']') {
        m->depth--;
    }
}

static void archive_mscan_dispose(struct archive_mscan *m)
{
    buf_dispose(&m->head);
    buf_dispose(&m->item);
    free(m->fail_msg);
    memset(m, 0, sizeof(*m));
}

/* The manifest, read in ARCHIVE_IO pieces: hashed, and scanned unless
 * a later pass compares it by digest. Never held whole: its entry list
 * grows with the archive. */
static int archive_read_manifest(archive_reader *r)
{
    uint64_t left = r->te.size;
    unsigned char digest[32];
    int rc = 0;

    if (r->content.cap < ARCHIVE_IO) {
        if (r->content.ptr)
            memset(r->content.ptr, 0, r->content.cap); /* it held Secrets */
        buf_dispose(&r->content);
        r->content.ptr = xmalloc(ARCHIVE_IO);
        r->content.cap = ARCHIVE_IO;
    }
    if (!r->expect_sha256)
        archive_list_rewind(r->expect ? r->expect_list : r->list);
    while (left > 0) {
        size_t n = left < ARCHIVE_IO ? (size_t)left : ARCHIVE_IO;
        if ((rc = tar_reader_read(&r->tar, r->content.ptr, n)) < 0)
            return archive_named(r, rc);
        mbedtls_sha256_update_ret(&r->ms_sha, (unsigned char *)r->content.ptr, n);
        if (!r->expect_sha256)
            for (size_t i = 0; i < n; i++)
                archive_mscan_byte(r, &r->ms, r->content.ptr[i]);
        left -= n;
    }
    mbedtls_sha256_finish_ret(&r->ms_sha, digest);
    util_hex(r->manifest_sha256, digest, sizeof(digest));
    return 0;
}

/* After the manifest's last byte: the text around the list parsed and
 * checked, then what the elements' scan found, then the counts. */
static int archive_check_manifest(archive_reader *r)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    struct archive_mscan *m = &r->ms;
    const char *kind;
    size_t want;
    int rc;

    if (r->expect_sha256) {
        /* Every entry was compared with the verified list as it came; the
         * same text is the same manifest, without a second parse. */
        if (strcmp(r->manifest_sha256, r->expect_sha256) != 0 ||
            r->index != archive_list_count(r->expect_list))
            return err_set(ERR_INVALID, "%s: the manifest changed since it was verified", r->what);
        r->manifest = json_incref((json_t *)r->expect);
        return 0;
    }
    if (m->no_list || !m->found || m->in_list)
        return err_set(ERR_INVALID, "%s: %s: not an edgecd backup manifest (no entries list)",
                       r->what, ARCHIVE_MANIFEST_PATH);
    lim.max_bytes = ARCHIVE_MAX_MANIFEST;
    if ((rc = doc_parse_json(&r->manifest, m->head.ptr, m->head.len, ARCHIVE_MANIFEST_PATH, &lim)) <
        0)
        return err_prefix(rc, "%s", r->what);
    kind = doc_get_str(r->manifest, "kind");
    if (!json_is_object(r->manifest) || !kind || strcmp(kind, ARCHIVE_MANIFEST_KIND) != 0)
        return err_set(ERR_INVALID, "%s: %s: not an edgecd backup manifest", r->what,
                       ARCHIVE_MANIFEST_PATH);
    if (!!r->appliance !=
        !!archive_str_is(doc_get_str(r->manifest, "contents"), ARCHIVE_CONTENTS_APPLIANCE))
        return err_set(ERR_INVALID, "%s: %s", r->what,
                       r->appliance ? "not an appliance backup (a cluster backup?)"
                                    : "an appliance backup, not a cluster backup");
    if (m->fail_msg)
        return err_set(m->fail_rc, "%s", m->fail_msg);
    want = archive_list_count(r->expect ? r->expect_list : r->list);
    if (m->items != want)
        return r->expect
                   ? err_set(ERR_INVALID, "%s: the manifest changed since it was verified", r->what)
                   : err_set(ERR_INVALID,
                             "%s: the manifest lists %zu entries, the archive holds %zu", r->what,
                             m->items, want);
    json_object_del(r->manifest, "entries");
    if (r->keep_compact) {
        json_t *compact;
        if ((rc = archive_list_compact(r->expect ? r->expect_list : r->list, r->rec, &compact)) < 0)
            return rc;
        json_object_set_new(r->manifest, "entries", compact);
    }
    return 0;
}

/* The object's JSON must be the object its path names. */
static int archive_check_object(archive_reader *r)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    const char *name, *ns;
    int rc;

    lim.max_bytes = ARCHIVE_MAX_ENTRY;
    json_decref(r->object);
    r->object = NULL;
    if ((rc = doc_parse_json(&r->object, r->content.ptr, r->content.len, r->te.path, &lim)) < 0)
        return err_prefix(rc, "%s", r->what);
    name = doc_get_str(r->object, "metadata.name");
    ns = doc_get_str(r->object, "metadata.namespace");
    if (!json_is_object(r->object) || !doc_get_str(r->object, "apiVersion") ||
        !doc_get_str(r->object, "kind"))
        return err_set(ERR_INVALID, "%s: entry \"%s\": not a Kubernetes object", r->what,
                       r->te.path);
    if (!name || strcmp(name, r->where.name) != 0 ||
        (r->where.namespace_ ? (!ns || strcmp(ns, r->where.namespace_) != 0) : ns && ns[0]))
        return err_set(ERR_INVALID, "%s: entry \"%s\": holds %s%s%s, not the object its path names",
                       r->what, r->te.path, ns ? ns : "", ns ? "/" : "", name ? name : "(no name)");
    return 0;
}

/* Check the entry just read against the verified list (a later pass),
 * or note it for the manifest check (a verifying pass). */
static int archive_entry_seen(archive_reader *r, const char *sha)
{
    int rc;
    if (r->expect) {
        if ((rc = archive_list_next(r->expect_list, r->rec)) < 0)
            return rc;
        if (rc == 0 || strcmp(r->rec->sha, sha) != 0 || strcmp(r->rec->path, r->te.path) != 0)
            return err_set(ERR_INVALID, "%s: entry \"%s\" differs from the verified manifest",
                           r->what, r->te.path);
    } else if ((rc = archive_list_add(r->list, r->te.path, r->te.size, sha)) < 0) {
        return rc;
    }
    r->index++;
    return 0;
}

/* An appliance entry's content, in pieces, hashed and handed to the sink;
 * never held whole. */
static int archive_stream_entry(archive_reader *r, char sha[65])
{
    mbedtls_sha256_context ctx;
    unsigned char digest[32];
    uint64_t left = r->te.size;
    int rc = 0;

    if (r->te.size > ARCHIVE_MAX_APPLIANCE_ENTRY)
        return err_set(ERR_TOOLARGE, "%s: entry \"%s\": %llu bytes, over the limit", r->what,
                       r->te.path, (unsigned long long)r->te.size);
    if (r->content.cap < ARCHIVE_IO) {
        buf_dispose(&r->content);
        r->content.ptr = xmalloc(ARCHIVE_IO);
        r->content.cap = ARCHIVE_IO;
    }
    mbedtls_sha256_init(&ctx);
    mbedtls_sha256_starts_ret(&ctx, 0);
    do {
        size_t n = left < ARCHIVE_IO ? (size_t)left : ARCHIVE_IO;
        if ((rc = tar_reader_read(&r->tar, r->content.ptr, n)) < 0) {
            rc = archive_named(r, rc);
            break;
        }
        mbedtls_sha256_update_ret(&ctx, (unsigned char *)r->content.ptr, n);
        left -= n;
        if (r->sink && (rc = r->sink(r->sink_ctx, r->te.path, r->content.ptr, n, left == 0)) < 0)
            break;
    } while (left > 0);
    mbedtls_sha256_finish_ret(&ctx, digest);
    mbedtls_sha256_free(&ctx);
    util_hex(sha, digest, sizeof(digest));
    return rc;
}

int archive_reader_next(archive_reader *r, struct archive_entry *e)
{
    memset(e, 0, sizeof(*e));
    if (r->done)
        return 0;
    for (;;) {
        char sha[65];
        int rc, kind;
        size_t max;

        tar_entry_dispose(&r->te);
        archive_path_dispose(&r->where);
        rc = tar_reader_next(&r->tar, &r->te);
        if (rc < 0)
            return archive_named(r, rc);
        if (rc == 0)
            return err_set(ERR_INVALID, "%s: truncated: the archive ends without its manifest",
                           r->what);
        if (r->index >= ARCHIVE_MAX_ENTRIES)
            return err_set(ERR_TOOLARGE, "%s: more than %u entries", r->what, ARCHIVE_MAX_ENTRIES);
        kind = r->appliance ? archive_appliance_path_check(r->te.path)
                            : archive_path_check(r->te.path, &r->where);
        if (kind < 0)
            return err_prefix(kind, "%s", r->what);
        if (r->index == 0 && strcmp(r->te.path, ARCHIVE_VERSION_PATH) != 0)
            return err_set(ERR_INVALID, "%s: the first entry is \"%s\", not %s", r->what,
                           r->te.path, ARCHIVE_VERSION_PATH);
        if (r->index > 0 && strcmp(r->te.path, ARCHIVE_VERSION_PATH) == 0)
            return err_set(ERR_INVALID, "%s: %s twice", r->what, ARCHIVE_VERSION_PATH);
        if (r->appliance && kind == 1) {
            if ((rc = archive_stream_entry(r, sha)) < 0)
                return rc;
            if ((rc = archive_entry_seen(r, sha)) < 0)
                return rc;
            e->path = r->te.path;
            e->size = (size_t)r->te.size;
            return 1;
        }
        max = strcmp(r->te.path, ARCHIVE_MANIFEST_PATH) == 0 ? ARCHIVE_MAX_MANIFEST
                                                             : ARCHIVE_MAX_ENTRY;
        if (r->te.size > max)
            return err_set(ERR_TOOLARGE, "%s: entry \"%s\": %llu bytes, over the %zu-byte limit",
                           r->what, r->te.path, (unsigned long long)r->te.size, max);
        if (strcmp(r->te.path, ARCHIVE_MANIFEST_PATH) == 0) {
            if ((rc = archive_read_manifest(r)) < 0 || (rc = archive_check_manifest(r)) < 0 ||
                (rc = archive_drain(r)) < 0)
                return rc;
            archive_mscan_dispose(&r->ms);
            r->done = 1;
            return 0;
        }
        buf_clear(&r->content);
        if (r->content.cap < r->te.size + 1) {
            buf_dispose(&r->content);
            r->content.ptr = xmalloc((size_t)r->te.size + 1);
            r->content.cap = (size_t)r->te.size + 1;
        }
        if ((rc = tar_reader_read(&r->tar, r->content.ptr, (size_t)r->te.size)) < 0)
            return archive_named(r, rc);
        r->content.len = (size_t)r->te.size;
        r->content.ptr[r->content.len] = '\0';
        util_sha256_hex(r->content.ptr, r->content.len, sha);
        if ((rc = archive_entry_seen(r, sha)) < 0)
            return rc;
        if (kind == 0) {
            /* metadata/version: Velero's format 1.x. */
            if (r->content.len < 2 || r->content.ptr[0] != '1' || r->content.ptr[1] != '.')
                return err_set(ERR_UNSUPPORTED, "%s: backup format version \"%.16s\" (1.x is read)",
                               r->what, r->content.ptr);
            continue;
        }
        if ((rc = archive_check_object(r)) < 0)
            return rc;
        e->path = r->te.path;
        e->where = r->where;
        e->object = r->object;
        e->size = r->content.len;
        return 1;
    }
}

const char *archive_manifest_entry_path(const json_t *entry)
{
    const char *s = json_string_value(entry);
    return s && strlen(s) > 65 ? s + 65 : "";
}

archive_list *archive_reader_take_list(archive_reader *r)
{
    archive_list *l;
    if (!r->done || !r->list)
        return NULL;
    l = r->list;
    r->list = NULL;
    return l;
}

size_t archive_reader_count(const archive_reader *r)
{
    return r->index;
}

const char *archive_reader_manifest_sha256(const archive_reader *r)
{
    return r->done ? r->manifest_sha256 : NULL;
}

const json_t *archive_reader_manifest(const archive_reader *r)
{
    return r->done ? r->manifest : NULL;
}

int archive_reader_encrypted(const archive_reader *r)
{
    return r->crypt != NULL;
}

void archive_reader_close(archive_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->source_close)
        r->source_close(r->source_ctx);
    if (r->z_init)
        inflateEnd(&r->z);
    crypt_reader_free(r->crypt);
    tar_entry_dispose(&r->te);
    archive_path_dispose(&r->where);
    if (r->content.ptr)
        memset(r->content.ptr, 0, r->content.cap); /* it held Secrets */
    buf_dispose(&r->content);
    json_decref(r->object);
    json_decref(r->manifest);
    archive_list_free(r->list);
    if (r->own_expect)
        archive_list_free(r->expect_list);
    free(r->rec);
    archive_mscan_dispose(&r->ms);
    if (r->ms_sha_init)
        mbedtls_sha256_free(&r->ms_sha);
    free(r->what);
    free(r);
}

static int archive_walk(archive_reader *r, json_t **out_manifest)
{
    struct archive_entry e;
    int rc;
    while ((rc = archive_reader_next(r, &e)) > 0)
        ;
    if (rc == 0 && out_manifest)
        *out_manifest = json_incref(r->manifest);
    return rc;
}

int archive_verify(const char *path, const struct archive_read_options *o, json_t **out_manifest)
{
    archive_reader *r = NULL;
    int rc;
    if (out_manifest)
        *out_manifest = NULL;
    if ((rc = archive_reader_open(&r, path, NULL, o)) < 0)
        return rc;
    rc = archive_walk(r, out_manifest);
    archive_reader_close(r);
    return rc;
}

int archive_verify_mem(const void *data, size_t len, const struct archive_read_options *o,
                       json_t **out_manifest)
{
    archive_reader *r = archive_reader_alloc("archive");
    int rc;
    if (out_manifest)
        *out_manifest = NULL;
    r->mem = data;
    r->mem_len = len;
    if ((rc = archive_reader_init(r, o)) == 0)
        rc = archive_walk(r, out_manifest);
    archive_reader_close(r);
    return rc;
}
