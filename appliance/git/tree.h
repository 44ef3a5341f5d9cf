/*
 * Reading one commit of a mirror as a file tree, lazily: a renderer asks
 * for the files and folders it needs (a kustomization's resources, a
 * chart's templates) and nothing else is loaded. Nothing is checked out;
 * every read comes from the object database.
 *
 * Hostile content is refused here, once for every renderer: tree entry
 * names that are not plain path components, symbolic links whose target
 * leaves the repository (links that stay inside are followed, as Argo CD
 * does, up to 16 hops), blobs over the size limit, and more files or more
 * bytes in one tree session than the limits allow. Sizes are checked from
 * the object header before a blob is inflated.
 *
 * A mirror_tree belongs to one thread and must not outlive its mirror.
 */
#ifndef EDGECD_GIT_TREE_H
#define EDGECD_GIT_TREE_H

#include <stddef.h>

#include "git/mirror.h"

typedef struct mirror_tree mirror_tree;

enum mirror_entry_type { MIRROR_ENTRY_FILE = 1, MIRROR_ENTRY_DIR = 2 };

struct mirror_entry {
    char *name; /* one path component */
    int type;   /* mirror_entry_type; symbolic links as what they point to */
};

/* Open commit sha (40 hex) of m. lim NULL = MIRROR_LIMITS_INIT; the file
 * and byte limits count over the whole session. ERR_INVALID for a bad id,
 * ERR_NOTFOUND if the commit is not in the mirror. */
int mirror_tree_open(mirror_tree **out, mirror *m, const char *sha,
                     const struct mirror_limits *lim);
void mirror_tree_free(mirror_tree *t);

/* "url@abc1234": how messages name this tree (borrowed). */
const char *mirror_tree_name(const mirror_tree *t);

/* The entries of folder dir (a cleaned relative path, "" = root), in
 * name order; submodules are left out. ERR_NOTFOUND if dir is not a
 * folder, ERR_INVALID for a bad name or an escaping link in it,
 * ERR_TOOLARGE past the file limit. *out (n entries) is the caller's:
 * mirror_entries_free. */
int mirror_tree_list(mirror_tree *t, const char *dir, struct mirror_entry **out, size_t *n);
void mirror_entries_free(struct mirror_entry *v, size_t n);

/* What path is: MIRROR_ENTRY_FILE, MIRROR_ENTRY_DIR, or 0 if absent.
 * Negative on a hostile link or a read error. */
int mirror_tree_stat(mirror_tree *t, const char *path);

/* The content of the file at path: *data (NUL-terminated, len bytes
 * without the NUL) is the caller's to free. ERR_NOTFOUND, ERR_INVALID,
 * ERR_TOOLARGE as above. */
int mirror_tree_read(mirror_tree *t, const char *path, char **data, size_t *len);

#endif
