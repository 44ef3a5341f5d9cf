/*
 * Fuzz target for POST /api/webhook: the first byte picks a provider whose
 * credential the target knows (GitLab's token, Bitbucket Cloud's UUID),
 * so the rest of the input reaches the payload reader as an authenticated
 * body would; an odd first byte sends a GitHub push with a signature that
 * cannot match, which must be refused before the body is read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "server/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_header(void *ctx, const char *name)
{
    const char *const *h = ctx;
    for (; h[0]; h += 2)
        if (!strcasecmp(h[0], name))
            return h[1];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct secrets s = {"gh", "gl-token", "gitea", "{uuid}", "bbs"};
    static const char *const gitlab[] = {"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token",
                                         "gl-token", NULL};
    static const char *const bitbucket[] = {"X-Event-Key", "repo:push", "X-Hook-UUID", "{uuid}",
                                            NULL};
    static const char *const github[] = {"X-GitHub-Event", "push", "X-Hub-Signature-256",
                                         "sha256=00", NULL};
    const char *const *headers;
    struct webhook_push p;
    char *body;
    int rc;

    if (size < 1)
        return 0;
    headers = data[0] & 1 ? github : data[0] & 2 ? bitbucket : gitlab;
    body = xmalloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    rc = webhook_parse(&p, &s, fuzz_header, (void *)headers, body, size - 1);
    if (headers == github && rc != ERR_AUTH)
        abort(); /* a wrong signature must never be accepted */
    if (rc == 0 && !p.ignored && json_array_size(p.urls) == 0)
        abort(); /* a push names at least one repository */
    err_clear();
    webhook_push_dispose(&p);
    free(body);
    return 0;
}
