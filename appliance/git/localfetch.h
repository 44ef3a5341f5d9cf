/*
 * Fetching from a local source (a path or file:// URL) the way git does:
 * by copying the packs the source already holds instead of packing its
 * history again. libgit2's local transport builds a new pack in our
 * process and searches deltas for every object (14x slower than git for
 * a 1,000-commit repository); the source's own packs carry their deltas
 * already. Used by mirror_fetch_from; not for use outside appliance/git.
 *
 * The source is untrusted (a USB stick, a folder someone else fills):
 *
 *   listed (ls-remote, refs differ) -> source checked (no symbolic links
 *     in its object folders, no alternates) -> packs chosen (what the
 *     mirror lacks, within the pack limits) -> each pack indexed (every
 *     object hashed, deltas resolved inside the pack, trailer checked)
 *     -> loose objects packed and indexed -> every object the wanted refs
 *     reach is present (localfetch_check_connected) -> libgit2's fetch
 *     finds nothing to download and sets the refs (prune, tags, HEAD)
 *
 * A failure before the last step leaves the refs as they were; packs
 * indexed before it are unreferenced and harmless.
 *
 * Threads: as mirror_fetch_from, the one thread using the mirror handle.
 */
#ifndef EDGECD_GIT_LOCALFETCH_H
#define EDGECD_GIT_LOCALFETCH_H

#include <git2.h>

#include "git/mirror.h"

/* Copy into m what it lacks of the repository at path (the source's file
 * system path; url is how errors name it). A source pack the mirror holds
 * every object of is skipped; one it holds more than half of but not all
 * (the source was repacked) makes the copy stand aside, so that libgit2's
 * fetch packs only the new objects rather than the mirror storing the
 * known part twice: then nothing is copied and stats->local_copy stays 0.
 * ERR_INVALID for a symbolic link in the source's object folders, an
 * alternates file or a damaged pack; ERR_TOOLARGE over m's pack limits;
 * ERR_IO for an unreadable source. stats is filled (caller-owned). */
int localfetch_copy(mirror *m, const char *path, const char *url, struct mirror_fetch_stats *stats);

/* Whether every object reachable from the branches and tags in heads (as
 * git_remote_ls lists them) is in m, stopping at history m's own refs
 * hold. 0 when they are, or when some head is missing altogether (then
 * libgit2's fetch sends a complete pack); ERR_INVALID naming url when
 * objects are missing below a present head, so refs never point at
 * incomplete history. */
int localfetch_check_connected(mirror *m, const git_remote_head **heads, size_t n, const char *url);

#endif
