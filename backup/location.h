/*
 * A backup location that is a folder: the default <data>/backups, or any
 * mounted path (a USB stick, NFS). Each backup is one folder, as in a
 * Velero bucket:
 *
 *   <location>/<name>/<name>.tar.gz.enc   (or <name>.tar.gz, Velero's format)
 *   <location>/<name>/edgecd-backup.json  the record: spec, status, counts,
 *                                         archive size and SHA-256
 *
 * The location is the source of truth (no database): a stick carried to a
 * fresh node lists and describes the same. A backup is written into
 * <location>/.tmp-<name>-XXXXXX, synced, and renamed into place whole, so
 * a listed backup is always complete; a crash or a full disk leaves at
 * most a .tmp- folder, which list ignores and the next create removes.
 * Creates in one location are serialised by a lock file (.lock, flock).
 *
 * A location may also be a bucket (and prefix) on S3-compatible storage,
 * named "s3://BUCKET[/PREFIX]", with the same layout under the prefix:
 *
 *   PREFIX/<name>/<name>.tar.gz.enc
 *   PREFIX/<name>/edgecd-backup.json
 *
 * There the archive object is uploaded first (one PutObject, or a
 * multipart upload that is aborted on failure, so S3 never shows part of
 * it) and the record last: a backup is listed complete only once its
 * record exists, and a failed upload leaves no record. Deleting removes
 * the record first. S3 has no locks: two creates of the same name at the
 * same moment are not told apart (the second's record wins).
 *
 * The endpoint, region, credentials and TLS settings of an S3 location
 * come from the site config; the command that reads it registers them
 * with location_add_s3 before using the location by its URL.
 */
#ifndef EDGECD_BACKUP_LOCATION_H
#define EDGECD_BACKUP_LOCATION_H

#include <jansson.h>
#include <stddef.h>

#include "backup/archive.h"
#include "backup/s3.h"

#define LOCATION_RECORD "edgecd-backup.json"

/* A backup being written. Caller-owned; location_abort frees it in every
 * state, location_commit on success. */
struct location_tx {
    char *dir;          /* the location */
    char *name;         /* the backup's name */
    char *tmp;          /* the temporary folder */
    char *archive_name; /* file name inside the backup's folder */
    char *archive_path; /* in tmp */
    int fd;             /* the archive, open for writing; -1 for S3 */
    int lock_fd;
    void *s3;          /* the S3 location, or NULL for a folder */
    s3_upload *upload; /* the archive's upload (S3) */
};

/* Register an S3 location under its URL ("s3://BUCKET[/PREFIX]",
 * s3_config_url). The module takes cfg's contents (cfg is left zeroed).
 * Not thread-safe: call before any other location function, from the
 * command's thread. Registering a URL again replaces its settings. */
void location_add_s3(struct s3_config *cfg);

/* Forget every registered S3 location (closing its connection). */
void location_reset(void);

/* 1 if location names an S3 bucket ("s3://..."). */
int location_is_s3(const char *location);

/* An archive_sink_fn writing the archive of an S3 backup (tx->upload). */
int location_tx_write(void *tx, const void *p, size_t n);

/* Open the archive location_get named (a file path, or an S3 key that is
 * downloaded as the reader asks for bytes). what names it in messages
 * (may be NULL). As archive_reader_open. */
int location_open_archive(archive_reader **out, const char *location, const char *archive,
                          const char *what, const struct archive_read_options *o);

/* The raw bytes of the archive location_get named (a file path, or an S3
 * key downloaded as they are read): location_raw_read is an
 * archive_source_fn over *out, location_raw_close frees it (NULL is
 * fine). ERR_NOTFOUND, ERR_IO, the S3 location's errors. */
int location_raw_open(void **out, const char *location, const char *archive);
int location_raw_read(void *ctx, void *p, size_t n, size_t *got);
void location_raw_close(void *ctx);

/* Make dir if needed (0700), take its lock, remove stale temporary
 * folders, and open a new archive file named archive_name. ERR_CONFLICT if
 * the backup exists or another create holds the lock; ERR_INVALID for a
 * name that is not a DNS-1123 subdomain; ERR_IO. */
int location_begin(struct location_tx *tx, const char *dir, const char *name,
                   const char *archive_name);

/* fsync the archive, write the record beside it, fsync the folder, rename
 * it into place, fsync the location. On failure the temporary folder is
 * removed and nothing is listed. The tx is disposed either way. */
int location_commit(struct location_tx *tx, const json_t *record);

/* Remove the temporary folder, release the lock. NULL members are fine. */
void location_abort(struct location_tx *tx);

/* Every backup's record, sorted by name, as a new array. A record that
 * cannot be read, or whose archive is missing or has another size, gets
 * "problem": "..." (list shows it as Damaged). ERR_NOTFOUND if dir does
 * not exist. */
int location_list(const char *dir, json_t **out);

/* One backup's record (with "problem" as in list) and the path of its
 * archive (new string, for location_open_archive: a file path, or an S3
 * key; may be NULL). ERR_NOTFOUND naming the backup. */
int location_get(const char *dir, const char *name, json_t **out_record, char **out_archive);

/* Delete a backup: renamed out of sight first, then removed, so a backup
 * is either listed whole or not at all. ERR_NOTFOUND. */
int location_delete(const char *dir, const char *name);

#endif
