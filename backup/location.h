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
 */
#ifndef EDGECD_BACKUP_LOCATION_H
#define EDGECD_BACKUP_LOCATION_H

#include <jansson.h>

#define LOCATION_RECORD "edgecd-backup.json"

/* A backup being written. Caller-owned; location_abort frees it in every
 * state, location_commit on success. */
struct location_tx {
    char *dir;          /* the location */
    char *name;         /* the backup's name */
    char *tmp;          /* the temporary folder */
    char *archive_name; /* file name inside the backup's folder */
    char *archive_path; /* in tmp */
    int fd;             /* the archive, open for writing */
    int lock_fd;
};

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
 * archive (new string; may be NULL). ERR_NOTFOUND naming the backup. */
int location_get(const char *dir, const char *name, json_t **out_record, char **out_archive);

/* Delete a backup: renamed out of sight first, then removed, so a backup
 * is either listed whole or not at all. ERR_NOTFOUND. */
int location_delete(const char *dir, const char *name);

#endif
