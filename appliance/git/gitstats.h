/*
 * Git request metrics of the process, in Argo CD's names:
 * argocd_git_request_total{repo,request_type} and
 * argocd_git_request_duration_seconds{repo,request_type}, request_type
 * "ls-remote" (connecting and listing refs, made on every poll) or
 * "fetch" (downloading objects, only when refs changed).
 *
 * Repositories are told apart by URL without userinfo (a credential in a
 * URL never reaches a label). A site has a handful of repositories; past
 * GITSTATS_MAX_REPOS the rest are counted under repo="other" so a flood
 * of URLs cannot grow the table.
 */
#ifndef EDGECD_GIT_GITSTATS_H
#define EDGECD_GIT_GITSTATS_H

#include "core/buf.h"

#define GITSTATS_MAX_REPOS 64

enum gitstats_type {
    GITSTATS_LS_REMOTE,
    GITSTATS_FETCH,
};

/* Count one request of type to url that took seconds. Any thread. */
void gitstats_observe(const char *url, enum gitstats_type type, double seconds);

/* The metrics in Prometheus text, appended to out. Any thread. */
void gitstats_write(struct buf *out);

#endif
