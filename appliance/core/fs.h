/*
 * Files written so that power loss at any instant leaves either the old or
 * the new content: write a temporary file in the same directory, fsync it,
 * rename it over the target, fsync the directory.
 */
#ifndef EDGECD_CORE_FS_H
#define EDGECD_CORE_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

/* Atomically replace path with data, created with mode (e.g. 0600).
 * 0 or ERR_IO. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same, written in pieces (a file too large to hold): begin creates
 * PATH.tmp.PID, write appends, commit syncs it and renames it over path
 * (then syncs the directory), abort removes it. commit and abort both
 * end the write (the struct is then unused); abort may be called after
 * either. 0 or ERR_IO. */
struct fs_atomic {
    int fd;
    char *path, *tmp;
    mode_t mode;
};
int fs_atomic_begin(struct fs_atomic *a, const char *path, mode_t mode);
int fs_atomic_write(struct fs_atomic *a, const void *data, size_t len);
int fs_atomic_commit(struct fs_atomic *a);
void fs_atomic_abort(struct fs_atomic *a);

/* Read a whole file into out (appended). ERR_NOTFOUND if absent,
 * ERR_TOOLARGE if over max bytes, ERR_IO otherwise. */
int fs_read_file(const char *path, size_t max, struct buf *out);

/* mkdir -p with mode for created directories. 0 or ERR_IO. */
int fs_mkdir_p(const char *path, mode_t mode);

/* 1 if path exists, 0 if not. */
int fs_exists(const char *path);

/* A new private (0700) folder $TMPDIR/<prefix>-XXXXXX (/tmp without
 * TMPDIR); *out is the caller's. 0 or ERR_IO. */
int fs_temp_dir(char **out, const char *prefix);

/* Remove dir and everything below it (links are removed, not followed).
 * Best effort: what cannot be removed stays. dir may be NULL. */
void fs_remove_tree(const char *dir);

#endif
