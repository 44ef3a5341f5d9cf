/*
 * Importing a `git bundle` file (format v2 or v3) into a mirror: the way
 * a USB stick brings Git history to a site with no network. Nothing is
 * checked out; the bundle's pack is indexed into the mirror's object
 * database (every object verified as it is indexed, connectivity
 * checked) and then its refs are moved, all of them or none.
 *
 *   header parsed -> prerequisites present -> pack indexed (temp + rename)
 *     -> every ref target present -> fast-forward checked for every ref
 *     -> refs updated in one transaction
 *
 * A failure at any step before the last leaves the refs as they were; a
 * pack indexed before a later failure is unreferenced and harmless.
 */
#ifndef EDGECD_GIT_BUNDLE_H
#define EDGECD_GIT_BUNDLE_H

#include <stddef.h>

#include "git/mirror.h"

struct bundle_ref {
    char *name;   /* "refs/heads/main" */
    char old[41]; /* "" when the mirror did not have it */
    char now[41];
};

struct bundle_result {
    struct bundle_ref *refs; /* the refs the bundle names, in its order */
    size_t n;
    int version; /* 2 or 3 */
};

/* Import the bundle at path into m. Without force, a ref that exists and
 * whose new commit does not descend from the old one is refused
 * (ERR_CONFLICT naming it) and nothing changes. ERR_INVALID for a
 * malformed or tampered bundle, a missing prerequisite (named) or an
 * unsupported capability; ERR_NOTFOUND if path cannot be opened. out is
 * the caller's (bundle_result_dispose), filled on success. */
int bundle_import(mirror *m, const char *path, int force, struct bundle_result *out);
void bundle_result_dispose(struct bundle_result *r);

#endif
