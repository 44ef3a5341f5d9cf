/*
 * The files a renderer reads: one interface over a commit of a Git mirror
 * (the appliance) and a folder on the local disk (`edgecd render DIR`,
 * tests). Paths are '/'-separated and relative to the source's root; a
 * renderer builds them with path_join (core/path.h), so nothing it asks
 * for can name a file outside the root, and both backends refuse links
 * that lead out of it.
 *
 * A render_fs belongs to one thread.
 */
#ifndef EDGECD_RENDER_FS_H
#define EDGECD_RENDER_FS_H

#include <stddef.h>

#include "git/mirror.h"
#include "git/tree.h"

typedef struct render_fs render_fs;

/* Entries are the same as the mirror's: name + MIRROR_ENTRY_FILE/DIR. */
typedef struct mirror_entry render_entry;
#define RENDER_ENTRY_FILE MIRROR_ENTRY_FILE
#define RENDER_ENTRY_DIR MIRROR_ENTRY_DIR

/* A commit of a mirror; m must outlive the fs. lim NULL = defaults. */
int render_fs_mirror(render_fs **out, mirror *m, const char *sha, const struct mirror_limits *lim);

/* The folder root on the local disk (made absolute and resolved here).
 * ERR_NOTFOUND if it is not a folder. */
int render_fs_local(render_fs **out, const char *root, const struct mirror_limits *lim);

void render_fs_free(render_fs *fs);

/* "url@abc1234" or the local root: what errors name as the source. */
const char *render_fs_name(const render_fs *fs);

/* As mirror_tree_read / mirror_tree_list / mirror_tree_stat. */
int render_fs_read(render_fs *fs, const char *path, char **data, size_t *len);
int render_fs_list(render_fs *fs, const char *dir, render_entry **out, size_t *n);
int render_fs_stat(render_fs *fs, const char *path);
void render_entries_free(render_entry *v, size_t n);

#endif
