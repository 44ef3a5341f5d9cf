/*
 * The backup archive: Velero's tarball layout (format 1.1.0) plus edgecd's
 * manifest, gzip-compressed, and by default sealed by backup/crypt.
 *
 *   metadata/version                                   "1.1.0", first
 *   resources/<resource>[.<group>]/namespaces/<ns>/<name>.json
 *   resources/<resource>[.<group>]/cluster/<name>.json
 *   resources/<resource>[.<group>]/<version>-preferredversion/namespaces/<ns>/<name>.json
 *   resources/<resource>[.<group>]/<version>-preferredversion/cluster/<name>.json
 *   metadata/edgecd-manifest.json                      last
 *
 * As Velero writes it, every object is there twice: in the classic folder
 * and in its preferred version's folder. The manifest (spec, cluster,
 * times, counts, edgecd version) comes last because it lists every entry
 * before it with its size and SHA-256, which only exist once the entries
 * were written: the archive is produced in one pass and never held.
 *
 * Reading is strict and streaming: the reader refuses anything but regular
 * files at the paths above (no `..`, no absolute paths, no links), checks
 * each entry's JSON against its path, and at the end checks the manifest
 * against every entry it saw, in order. archive_verify walks a whole
 * archive so nothing is used before all of it was checked; restore then
 * walks it again with the verified manifest as `expect`, which checks each
 * entry as it comes. Memory: one entry (at most ARCHIVE_MAX_ENTRY bytes),
 * one 64 KiB chunk, and the entry list (about 100 bytes per entry).
 *
 * Threads: a writer or reader belongs to one thread.
 */
#ifndef EDGECD_BACKUP_ARCHIVE_H
#define EDGECD_BACKUP_ARCHIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/crypt.h"

#define ARCHIVE_FORMAT_VERSION "1.1.0"
#define ARCHIVE_VERSION_PATH "metadata/version"
#define ARCHIVE_MANIFEST_PATH "metadata/edgecd-manifest.json"
#define ARCHIVE_MANIFEST_KIND "BackupManifest"
/* Limits against hostile archives. */
#define ARCHIVE_MAX_ENTRY (16u << 20)
#define ARCHIVE_MAX_MANIFEST (128u << 20)
#define ARCHIVE_MAX_ENTRIES 1000000u

/* ---- paths ---- */

/* A resource entry's path, taken apart. Strings are owned by the struct
 * (archive_path_dispose). */
struct archive_path {
    char *resource;   /* "configmaps", "deployments.apps" */
    char *version;    /* "v1" in a "<version>-preferredversion" folder, else NULL */
    int preferred;    /* the folder is "<version>-preferredversion" */
    char *namespace_; /* NULL for cluster-scoped objects */
    char *name;
};

/* The path of an object in the layout: preferred_version NULL gives the
 * classic folder, else "<version>-preferredversion". A new string. */
char *archive_object_path(const char *resource, const char *preferred_version, const char *ns,
                          const char *name);

/* Check path against the layout. 1 and *out filled for a resource entry,
 * 0 for metadata/version or the manifest (out untouched), ERR_INVALID
 * naming what is wrong otherwise. out may be NULL. */
int archive_path_check(const char *path, struct archive_path *out);
void archive_path_dispose(struct archive_path *p);

/* ---- appliance backups ----
 * An appliance (self-)backup uses the same pipeline and checks with other
 * entries: metadata/version, then files under appliance/ (the store's
 * snapshot, the site config, the keys), then the manifest with
 * "contents": "appliance". Their content is opaque bytes, streamed in 64
 * KiB pieces both ways, so a large state.db is never held in memory. A
 * reader opened for one kind refuses the other's entries. */
#define ARCHIVE_APPLIANCE_DIR "appliance/"
#define ARCHIVE_CONTENTS_APPLIANCE "appliance"
/* The largest appliance entry (a store snapshot) accepted. */
#define ARCHIVE_MAX_APPLIANCE_ENTRY ((uint64_t)16 << 30)

/* 1 if path is an appliance entry ("appliance/" and one to three
 * components of letters, digits, '.', '-', '_', none "." or ".."), 0 for
 * metadata/version or the manifest, ERR_INVALID naming the problem. */
int archive_appliance_path_check(const char *path);

/* ---- writing ---- */

typedef struct archive_writer archive_writer;

/* Start an archive on fd (open for writing, at offset 0; the writer does
 * not close it). key NULL writes the plain tar.gz of Velero's format.
 * what names the file in messages. Writes metadata/version. */
int archive_writer_new(archive_writer **out, int fd, const char *what, const struct crypt_key *key);

/* The same, the file's bytes going to sink(ctx, bytes, n) instead of a
 * file (an upload); sink returns 0 or a negative error, which fails the
 * write. */
typedef int (*archive_sink_fn)(void *ctx, const void *p, size_t n);
int archive_writer_new_sink(archive_writer **out, archive_sink_fn sink, void *ctx, const char *what,
                            const struct crypt_key *key);

/* Add a resource entry. ERR_INVALID for a path outside the layout,
 * ERR_TOOLARGE over ARCHIVE_MAX_ENTRY, ERR_IO when writing fails (a full
 * disk says so). */
int archive_writer_add(archive_writer *w, const char *path, const void *data, size_t len);

/* Add an appliance entry whose content is the file at file (streamed;
 * the file's size is taken once, and a file that changes size meanwhile is
 * an error). ERR_INVALID for a path outside the appliance layout,
 * ERR_NOTFOUND, ERR_IO. */
int archive_writer_add_file(archive_writer *w, const char *path, const char *file);

/* Keep the entry list (which the manifest needs at the end) in an
 * unnamed file in dir once it outgrows memory, instead of in memory. Call
 * it right after archive_writer_new; dir must exist. */
void archive_writer_set_tmpdir(archive_writer *w, const char *dir);

/* Entries added so far (metadata/version included). */
size_t archive_writer_count(const archive_writer *w);

/* Set manifest["entries"] to the list of entries, add the manifest as the
 * last entry and end every stream. *out_size and out_sha256 (64 hex + NUL)
 * describe the file's bytes. The file is not synced (the caller renames
 * it into place). */
int archive_writer_finish(archive_writer *w, json_t *manifest, uint64_t *out_size,
                          char out_sha256[65]);

void archive_writer_free(archive_writer *w);

/* ---- reading ---- */

/* The verified entry list of an archive: each entry's path, size and
 * SHA-256, in archive order (archive_reader_take_list), for later passes
 * to check their entries against (archive_read_options.expect_list). In
 * memory, or in an unnamed file when the reader had a tmpdir. Owned by
 * the caller (archive_list_free); one reader uses it at a time. */
typedef struct archive_list archive_list;
size_t archive_list_count(const archive_list *l);
void archive_list_free(archive_list *l);

struct archive_read_options {
    const struct crypt_key *key; /* NULL: only a plain archive can open */
    int allow_plain;             /* accept an unencrypted archive */
    const json_t *expect;        /* a manifest archive_verify returned, or NULL */
    /* with expect: archive_reader_manifest_sha256 of the verifying pass;
     * the manifest is then compared by digest instead of being parsed
     * again (NULL: parsed and compared whole) */
    const char *expect_sha256;
    int appliance; /* an appliance backup: only appliance/ entries */
    /* Appliance entries only: called with each piece of an entry's content
     * as it is read (last 1 on its final, possibly empty, piece), before
     * the entry's SHA-256 was checked: write to a temporary place and use
     * nothing before the reader reached the end. NULL: content skipped. */
    int (*sink)(void *ctx, const char *path, const void *p, size_t n, int last);
    void *sink_ctx;
    /* An existing folder (the data directory's tmp/) where the entry list
     * goes once it outgrows memory; the verified manifest then has no
     * "entries" (archive_reader_take_list has them). NULL: in memory, and
     * the manifest keeps them as compact strings. */
    const char *tmpdir;
    /* with expect: its entry list as archive_reader_take_list gave it
     * (NULL: expect's compact "entries") */
    archive_list *expect_list;
};
#define ARCHIVE_READ_OPTIONS_INIT                                                                  \
    {                                                                                              \
        NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL                                             \
    }

/* One object from the archive, valid until the next call. */
struct archive_entry {
    const char *path;
    struct archive_path where;
    const json_t *object; /* the parsed JSON, checked against the path; NULL for an
                           * appliance entry */
    size_t size;
};

typedef struct archive_reader archive_reader;

/* Open path (what names it in messages; NULL = path). ERR_INVALID for a
 * file that is not a backup archive, or a plain one when allow_plain is
 * off ("not encrypted"); ERR_AUTH for an encrypted one without a key, or
 * with the wrong one. */
int archive_reader_open(archive_reader **out, const char *path, const char *what,
                        const struct archive_read_options *o);

/* The same over bytes from source(ctx, buf, n, &got) (got 0 at the end;
 * a download), with what naming it. source_close(ctx) (may be NULL) runs
 * when the reader is closed, a failed open included: the reader owns ctx
 * from this call on. */
typedef int (*archive_source_fn)(void *ctx, void *p, size_t n, size_t *got);
int archive_reader_open_source(archive_reader **out, archive_source_fn source,
                               void (*source_close)(void *ctx), void *ctx, const char *what,
                               const struct archive_read_options *o);

/* The next resource entry: 1 with *e filled, 0 once the manifest was read
 * and every entry checked against it, negative on any problem, with a
 * message naming the entry. */
int archive_reader_next(archive_reader *r, struct archive_entry *e);

/* The SHA-256 (hex) of the manifest's text, after archive_reader_next
 * returned 0, else NULL (borrowed). */
const char *archive_reader_manifest_sha256(const archive_reader *r);

/* The manifest, after archive_reader_next returned 0 (borrowed), its
 * entries compact as archive_verify returns them (none with a tmpdir). */
const json_t *archive_reader_manifest(const archive_reader *r);

/* After archive_reader_next returned 0 on a verifying pass (no expect):
 * the entry list it checked, now the caller's; else NULL. */
archive_list *archive_reader_take_list(archive_reader *r);

/* Entries read so far, metadata/version included, the manifest not. */
size_t archive_reader_count(const archive_reader *r);

/* 1 if the archive is encrypted. */
int archive_reader_encrypted(const archive_reader *r);

void archive_reader_close(archive_reader *r);

/* Walk the whole archive and check everything. *out_manifest (may be
 * NULL) is a new reference to the verified manifest, whose "entries" are
 * kept compact: one string "SHA256 PATH" per entry, in archive order
 * (metadata/version first), rather than the stored objects; with o->tmpdir
 * it has no "entries" (and memory does not grow with them). */
int archive_verify(const char *path, const struct archive_read_options *o, json_t **out_manifest);

/* The path of one compact entry of a verified manifest ("" for anything
 * else). */
const char *archive_manifest_entry_path(const json_t *entry);

/* The same checks over an archive in memory (for the fuzz target). */
int archive_verify_mem(const void *data, size_t len, const struct archive_read_options *o,
                       json_t **out_manifest);

#endif
