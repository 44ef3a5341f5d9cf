/*
 * The tar format as backups need it, and no more: regular files only.
 * The writer makes POSIX ustar headers, with a PAX extended header ('x')
 * in front when a path does not fit ustar's 100-byte name field, which is
 * what Go's archive/tar (so Velero) and GNU tar read and write. The
 * reader is a pull parser over a read callback, so an archive streams
 * through without being held; it accepts ustar and GNU magic and PAX
 * 'path' and 'size' records, and refuses every other entry type (links,
 * directories, devices, global headers) with an error naming it, because
 * a backup has no use for them and an extractor must never meet them.
 */
#ifndef EDGECD_BACKUP_TAR_H
#define EDGECD_BACKUP_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define TAR_BLOCK 512
/* The longest path and PAX header the reader takes. */
#define TAR_MAX_PATH 4096
#define TAR_MAX_PAX 65536

/* Append the header block(s) of a regular file (mode 0644, owner 0) to
 * out. ERR_INVALID for an empty path, or one longer than TAR_MAX_PATH. */
int tar_file_header(struct buf *out, const char *path, uint64_t size, int64_t mtime);

/* How many zero bytes pad a file of size bytes to a whole block. */
size_t tar_padding(uint64_t size);

/* The end of an archive: two zero blocks. */
#define TAR_END_LEN (2 * TAR_BLOCK)

/* Read up to n bytes into p; *got 0 only at the end of the input. */
typedef int (*tar_read_fn)(void *ctx, void *p, size_t n, size_t *got);

struct tar_reader {
    tar_read_fn read;
    void *ctx;
    uint64_t left; /* content bytes of the current entry not read yet */
    size_t pad;    /* its padding */
    uint64_t offset;
    int ended;
};

struct tar_entry {
    char *path; /* owned by the entry */
    uint64_t size;
    uint64_t offset; /* of its header in the tar stream, for messages */
};

void tar_reader_init(struct tar_reader *r, tar_read_fn fn, void *ctx);

/* The next entry's header into e (which tar_entry_dispose frees): 1 when
 * there is one, 0 at the end of the archive (two zero blocks), negative on
 * error: ERR_INVALID for a damaged header (checksum, numbers), a cut
 * archive, or a type other than a regular file. The unread content of the
 * previous entry is skipped. */
int tar_reader_next(struct tar_reader *r, struct tar_entry *e);

/* Exactly n bytes of the current entry's content (n <= what is left).
 * ERR_INVALID when the archive ends first. */
int tar_reader_read(struct tar_reader *r, void *p, size_t n);

void tar_entry_dispose(struct tar_entry *e);

#endif
