/*
 * Collecting a cluster's objects into an archive: discovery at each
 * group's preferred version, then every kind the spec takes, listed page
 * by page and written as each page arrives, so memory does not grow with
 * the cluster. Custom resources are kinds like any other (their CRDs are
 * cluster-scoped objects of apiextensions.k8s.io).
 *
 * A kind that cannot be listed (an aggregated API that is down, a 403)
 * does not stop the backup: it is recorded in errors and the backup ends
 * PartiallyFailed, as Velero does. A failure to write the archive stops
 * it at once.
 */
#ifndef EDGECD_BACKUP_COLLECT_H
#define EDGECD_BACKUP_COLLECT_H

#include <jansson.h>
#include <stddef.h>

#include "backup/archive.h"
#include "kube/client.h"

struct collect_result {
    size_t items;      /* objects backed up */
    json_t *resources; /* "deployments.apps" -> count, only kinds with objects */
    json_t *errors;    /* strings, one per kind that failed */
    json_t *warnings;  /* strings: objects skipped (a name the layout cannot hold) */
};

/* Progress, Velero's counters: total is the objects found so far (it
 * grows as kinds are listed: nothing is listed ahead of writing, to keep
 * memory flat), done those written. Called after every object from the
 * collecting thread; the callee decides how often to pass it on. */
typedef void (*collect_progress_fn)(void *ctx, size_t total, size_t done);

/* Fill res (caller-owned; collect_result_dispose, also after a failure)
 * from the cluster behind kc as the checked spec says (filter.h), writing
 * each object into w. Returns 0 even when some kinds failed (see errors);
 * negative when discovery fails or the archive cannot be written. */
int collect_run(kube_client *kc, const json_t *spec, archive_writer *w, struct collect_result *res,
                collect_progress_fn progress, void *progress_ctx);

void collect_result_dispose(struct collect_result *res);

#endif
