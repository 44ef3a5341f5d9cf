/*
 * backup_download (download.h). The copy streams through a buffer of
 * 64 KiB: memory does not grow with the archive. A full verification
 * reads the downloaded temporary file again rather than the location, so
 * what is checked is exactly what the operator gets.
 */
#include "backup/download.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/archive.h"
#include "backup/location.h"
#include "backup/self.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"

#define DOWNLOAD_BUF (64u * 1024u)

/* A new temporary file beside output, 0600: its path in *out_tmp. */
static int download_temp(const char *output, char **out_tmp, int *out_fd)
{
    char *dir = path_dirname(output);
    char *tmp = xasprintf("%s/.%s.tmp-XXXXXX", dir, path_basename(output));
    int fd = mkstemp(tmp);
    free(dir);
    if (fd < 0) {
        int rc = err_set(ERR_IO, "%s: %s", output, strerror(errno));
        free(tmp);
        return rc;
    }
    fchmod(fd, 0600);
    *out_tmp = tmp;
    *out_fd = fd;
    return 0;
}

static int download_write(int fd, const char *what, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(ERR_IO, "%s: writing: %s", what, strerror(errno));
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The archive's bytes into fd, checked against the record. */
static int download_copy(const struct backup_download_options *o, const json_t *rec,
                         const char *archive, int fd, const char *what)
{
    mbedtls_sha256_context sha;
    unsigned char *buf = xmalloc(DOWNLOAD_BUF), digest[32];
    char hex[65];
    const char *want_sha = doc_get_str(rec, "status.archive.sha256");
    json_int_t want_size = json_integer_value(doc_get(rec, "status.archive.size"));
    uint64_t total = 0;
    void *raw = NULL;
    int rc;

    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts_ret(&sha, 0);
    if ((rc = location_raw_open(&raw, o->location, archive)) < 0)
        goto out;
    for (;;) {
        size_t got = 0;
        if ((rc = location_raw_read(raw, buf, DOWNLOAD_BUF, &got)) < 0)
            goto out;
        if (got == 0)
            break;
        mbedtls_sha256_update_ret(&sha, buf, got);
        total += got;
        if ((rc = download_write(fd, what, buf, got)) < 0)
            goto out;
    }
    mbedtls_sha256_finish_ret(&sha, digest);
    util_hex(hex, digest, sizeof(digest));
    if (want_size && total != (uint64_t)want_size) {
        rc = err_set(ERR_INVALID, "backup %s: the archive has %llu bytes, its record says %lld",
                     o->name, (unsigned long long)total, (long long)want_size);
        goto out;
    }
    if (!want_sha || strcmp(hex, want_sha) != 0) {
        rc = err_set(ERR_INVALID,
                     "backup %s: the archive's SHA-256 is %s, its record says %s: damaged", o->name,
                     hex, want_sha ? want_sha : "nothing");
        goto out;
    }
    rc = fsync(fd) == 0 ? 0 : err_set(ERR_IO, "%s: %s", what, strerror(errno));
out:
    mbedtls_sha256_free(&sha);
    location_raw_close(raw);
    free(buf);
    return rc;
}

/* Read the archive through the reader and write every entry again into a
 * plain archive on fd (Velero's format), the manifest last. */
static int download_decrypt(const struct backup_download_options *o, const char *archive, int fd,
                            const char *what)
{
    struct archive_read_options ro = ARCHIVE_READ_OPTIONS_INIT;
    archive_reader *r = NULL;
    archive_writer *w = NULL;
    struct archive_entry e;
    struct buf text = BUF_INIT;
    json_t *manifest = NULL;
    uint64_t size = 0;
    char sha[65];
    int rc;

    ro.key = o->key;
    ro.allow_plain = 1;
    ro.tmpdir = o->tmpdir;
    if ((rc = location_open_archive(&r, o->location, archive, NULL, &ro)) < 0 ||
        (rc = archive_writer_new(&w, fd, what, NULL)) < 0)
        goto out;
    if (o->tmpdir)
        archive_writer_set_tmpdir(w, o->tmpdir);
    while ((rc = archive_reader_next(r, &e)) > 0) {
        buf_clear(&text);
        doc_emit_json(&text, e.object, 0);
        if ((rc = archive_writer_add(w, e.path, text.ptr, text.len)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    /* The end was reached: every entry checked against the manifest. */
    manifest = json_deep_copy(archive_reader_manifest(r));
    if ((rc = archive_writer_finish(w, manifest, &size, sha)) < 0)
        goto out;
    rc = fsync(fd) == 0 ? 0 : err_set(ERR_IO, "%s: %s", what, strerror(errno));
out:
    if (text.ptr)
        memset(text.ptr, 0, text.cap); /* it held Secrets */
    buf_dispose(&text);
    json_decref(manifest);
    archive_writer_free(w);
    archive_reader_close(r);
    return rc;
}

int backup_download(const struct backup_download_options *o, json_t **out_report)
{
    struct archive_read_options ro = ARCHIVE_READ_OPTIONS_INIT;
    json_t *rec = NULL, *manifest = NULL;
    char *archive = NULL, *tmp = NULL;
    const char *verified = "sha256";
    int rc, fd = -1, appliance, encrypted;
    struct stat sb;

    if (out_report)
        *out_report = NULL;
    if (!o->force && lstat(o->output, &sb) == 0)
        return err_set(ERR_CONFLICT, "%s exists (--force replaces it)", o->output);
    if ((rc = location_get(o->location, o->name, &rec, &archive)) < 0)
        return rc;
    if (json_object_get(rec, "problem") || !archive) {
        rc = err_set(ERR_INVALID, "backup %s: %s", o->name,
                     doc_get_str(rec, "problem") ? doc_get_str(rec, "problem") : "no archive");
        goto out;
    }
    appliance = doc_get_str(rec, "kind") && !strcmp(doc_get_str(rec, "kind"), SELF_RECORD_KIND);
    encrypted = str_has_suffix(archive, ".enc");
    if (o->decrypt && appliance) {
        rc = err_set(ERR_INVALID,
                     "backup %s is a self-backup: --decrypt is not supported for it (download "
                     "it as it is and restore it with edgecd admin restore-self)",
                     o->name);
        goto out;
    }
    if (o->decrypt && encrypted && !o->key) {
        rc = err_set(ERR_AUTH,
                     "backup %s: --decrypt needs the key (--key-file or "
                     "--passphrase-file, or the data directory's backup key)",
                     o->name);
        goto out;
    }
    if ((rc = download_temp(o->output, &tmp, &fd)) < 0)
        goto out;
    if (o->decrypt) {
        rc = download_decrypt(o, archive, fd, o->output);
        verified = "archive";
    } else if ((rc = download_copy(o, rec, archive, fd, o->output)) == 0 &&
               (o->key || !encrypted)) {
        /* The key is here: check the copy as a restore would. */
        ro.key = o->key;
        ro.allow_plain = !encrypted;
        ro.appliance = appliance;
        ro.tmpdir = o->tmpdir;
        rc = archive_verify(tmp, &ro, &manifest);
        verified = "archive";
    }
    if (rc < 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set(ERR_IO, "%s: %s", o->output, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, o->output) != 0) {
        rc = err_set(ERR_IO, "%s: %s", o->output, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    if (out_report && stat(o->output, &sb) == 0)
        *out_report = json_pack("{s:s, s:I, s:s, s:s}", "file", o->output, "size",
                                (json_int_t)sb.st_size, "verified", verified, "format",
                                o->decrypt || !encrypted ? "velero" : "edgecd");
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    json_decref(rec);
    json_decref(manifest);
    free(archive);
    return rc;
}
