/*
 * POST /api/webhook: push events of GitHub, GitLab, Gitea (and Gogs) and
 * Bitbucket (Cloud and Server), the providers and headers Argo CD takes,
 * turned into "refresh the apps of this repository and branch".
 *
 * The request carries no session or token (a Git server cannot hold one):
 * what authenticates it is the provider's secret from argocd-secret
 * (model/secrets.h). It is checked before the body is parsed, and a
 * provider whose secret is not configured is refused outright (Argo CD
 * would accept such a webhook unchecked; on an untrusted LAN anyone could
 * then make every app fetch at will).
 */
#ifndef EDGECD_SERVER_WEBHOOK_H
#define EDGECD_SERVER_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>

#include "model/secrets.h"

struct webhook_push {
    const char *provider; /* "github", "gitlab", "gogs", "bitbucket", "bitbucket-server" */
    const char *ignored;  /* not a push (e.g. GitHub's ping): why; the rest is empty */
    json_t *urls;         /* the repository's URLs as the payload spells them (array) */
    char *revision;       /* the pushed ref ("refs/heads/main"), or "" when not one ref */
};

/* A request header by name (case-insensitive), or NULL. */
typedef const char *(*webhook_header_fn)(void *ctx, const char *name);

/* Check and read one webhook request. 0: *out filled (dispose after);
 * ERR_AUTH: the signature, token or UUID is missing or wrong, or no
 * secret is configured for the provider (message names the provider and
 * the argocd-secret key, never a value); ERR_INVALID: no known provider's
 * headers, or a body that is not the provider's JSON. Any thread. */
int webhook_parse(struct webhook_push *out, const struct secrets *s, webhook_header_fn header,
                  void *ctx, const char *body, size_t len);
void webhook_push_dispose(struct webhook_push *p);

#endif
