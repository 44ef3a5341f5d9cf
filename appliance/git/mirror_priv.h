/*
 * What the other files of git/ may know about a mirror handle. Not for
 * use outside appliance/git.
 */
#ifndef EDGECD_GIT_MIRROR_PRIV_H
#define EDGECD_GIT_MIRROR_PRIV_H

#include <git2.h>

#include "git/mirror.h"

/* The mirror's bare repository (borrowed). */
git_repository *mirror_git_repo(mirror *m);

/* The URL the mirror was opened for (borrowed). */
const char *mirror_url(const mirror *m);

/* m's pack limits (borrowed). */
const struct mirror_pack_limits *mirror_pack_limits(const mirror *m);

/* libgit2's last error message, never NULL. */
const char *mirror_git_msg(void);

#endif
