/*
 * Argo CD's `argocd-secret` Secret, read as is, for the parts edgecd acts
 * on: the webhook secrets of the Git providers. Every other key (the
 * admin password, the server's signature key, dex, TLS) belongs to Argo
 * CD's own server and is left alone, so an operator can hand edgecd the
 * same file:
 *
 *   apiVersion: v1
 *   kind: Secret
 *   metadata: {name: argocd-secret}
 *   stringData:                                # or data: with base64 values
 *     webhook.github.secret: ...               # X-Hub-Signature-256
 *     webhook.gitlab.secret: ...               # X-Gitlab-Token
 *     webhook.gogs.secret: ...                 # Gitea and Gogs: X-Gitea/Gogs-Signature
 *     webhook.bitbucket.uuid: ...              # Bitbucket Cloud: X-Hook-UUID
 *     webhook.bitbucketserver.secret: ...      # Bitbucket Server: X-Hub-Signature
 *
 * The values are secrets: they never appear in a message or a log line.
 */
#ifndef EDGECD_MODEL_SECRETS_H
#define EDGECD_MODEL_SECRETS_H

/* Each NULL when the file does not set it. */
struct secrets {
    char *github;
    char *gitlab;
    char *gogs;
    char *bitbucket_uuid;
    char *bitbucket_server;
};

/* Read path (YAML or JSON: one Secret). ERR_NOTFOUND, ERR_IO, or
 * ERR_INVALID naming the file and key (never the value): not a Secret,
 * a value that is not a string, bad base64, an empty value. out is
 * caller-owned: secrets_dispose (also after a failure). */
int secrets_load(struct secrets *out, const char *path);
/* Wipes the values before freeing them. */
void secrets_dispose(struct secrets *s);

#endif
