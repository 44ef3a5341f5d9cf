/*
 * Paths inside a source: '/'-separated, relative to a root (a repository
 * or a local folder), never leaving it. Every path that comes from a
 * manifest (a kustomization's resources, a chart's value files, an
 * Application's source.path) goes through path_join or path_clean before
 * it names anything, so `..` and absolute paths are refused in one place.
 */
#ifndef EDGECD_CORE_PATH_H
#define EDGECD_CORE_PATH_H

/* path with "." and empty components dropped and ".." folded into the
 * component before it: "a/./b//c/../d" -> "a/b/d"; "" or "." -> "".
 * ERR_INVALID for an absolute path or one whose ".." climbs above the
 * root; the message names the path. *out is a new string. */
int path_clean(char **out, const char *path);

/* path_clean of dir + "/" + rel: rel is relative to dir (a cleaned path
 * inside the root). ERR_INVALID as above, also for an absolute rel. */
int path_join(char **out, const char *dir, const char *rel);

/* The folder part of a cleaned path ("a/b/c" -> "a/b", "c" -> ""): a new
 * string. */
char *path_dirname(const char *path);

/* The last component of a path (borrowed from path). */
const char *path_basename(const char *path);

#endif
