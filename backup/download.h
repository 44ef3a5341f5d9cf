/*
 * Copying a backup out of its location (a folder or S3) into a local
 * file: `edgecd backup download`. The bytes are checked on the way
 * against the record (size and SHA-256) and, when the key is at hand (or
 * the archive is plain), read through the archive reader as a restore
 * would (every chunk, entry and the manifest); with decrypt, the verified
 * entries are written again as Velero's plain tar.gz. Either way the file
 * is written under a temporary name beside the output and renamed into
 * place only once everything checked out: a damaged backup leaves no
 * file.
 */
#ifndef EDGECD_BACKUP_DOWNLOAD_H
#define EDGECD_BACKUP_DOWNLOAD_H

#include <jansson.h>

#include "backup/crypt.h"

struct backup_download_options {
    const char *location; /* folder or s3:// URL (registered) */
    const char *name;
    const char *output;          /* the file to write (0600) */
    const struct crypt_key *key; /* NULL: the archive's bytes are checked against the record only */
    int decrypt;                 /* write the plain Velero-format tar.gz (needs key) */
    int force;                   /* replace an existing output */
    /* an existing folder for the entry lists of the checks (the data
     * directory's tmp/); NULL: in memory */
    const char *tmpdir;
};

/* Download. *out_report (may be NULL): a new object {"file", "size",
 * "verified": "archive" | "sha256", "format": "edgecd" | "velero"}. ERR_NOTFOUND (no
 * such backup), ERR_CONFLICT (output exists, without force), ERR_INVALID
 * (damaged: size, SHA-256, a chunk or an entry; a self-backup with
 * decrypt), ERR_AUTH (wrong key), ERR_IO. On error no output is left. */
int backup_download(const struct backup_download_options *o, json_t **out_report);

#endif
