/*
 * Webhooks: see webhook.h. Each provider is a row (how to recognise it,
 * how it authenticates, how its payload names the repository and ref), so
 * what differs between them is in one place.
 *
 *   provider          event header         auth header           check
 *   GitHub            X-GitHub-Event       X-Hub-Signature-256   "sha256=" HMAC-SHA256 hex
 *   GitLab            X-Gitlab-Event       X-Gitlab-Token        the secret itself
 *   Gitea / Gogs      X-Gitea-Event /      X-Gitea-Signature /   HMAC-SHA256 hex
 *                     X-Gogs-Event         X-Gogs-Signature
 *   Bitbucket Cloud   X-Event-Key          X-Hook-UUID           the webhook's UUID
 *   Bitbucket Server  X-Event-Key          X-Hub-Signature       "sha256=" HMAC-SHA256 hex
 *
 * Every comparison is of SHA-256 digests or HMACs of equal length, in
 * constant time.
 */
#include "server/webhook.h"

#include <mbedtls/md.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

/* Decode 64 hex digits into 32 bytes; 0 on success. */
static int webhook_hex32(const char *hex, unsigned char out[32])
{
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return hex[64] == '\0' ? 0 : -1;
}

/* 1 if sig (hex, after prefix) is the HMAC-SHA256 of body under secret. */
static int webhook_hmac_ok(const char *secret, const char *sig, const char *prefix,
                           const char *body, size_t len)
{
    unsigned char want[32], got[32];
    size_t plen = strlen(prefix);

    if (!sig || strncasecmp(sig, prefix, plen) != 0 || webhook_hex32(sig + plen, got) != 0)
        return 0;
    if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), (const unsigned char *)secret,
                        strlen(secret), (const unsigned char *)body, len, want) != 0)
        return 0;
    return util_const_eq(want, got, sizeof(want));
}

/* 1 if token is the secret (digests compared, so the time says nothing
 * about either's length or content). */
static int webhook_token_ok(const char *secret, const char *token)
{
    unsigned char a[32], b[32];
    if (!token)
        return 0;
    util_sha256(secret, strlen(secret), a);
    util_sha256(token, strlen(token), b);
    return util_const_eq(a, b, sizeof(a));
}

static void webhook_add_url(json_t *urls, const json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0)
        json_array_append(urls, (json_t *)v);
}

/* The string at a dotted path of obj, or NULL (borrowed). */
static const json_t *webhook_at(const json_t *obj, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return v;
}

/* GitHub, GitLab and Gitea/Gogs: "ref" and the repository's URLs. */
static void webhook_read_plain(struct webhook_push *p, const json_t *body, const char *const *keys)
{
    const char *ref = json_string_value(json_object_get(body, "ref"));
    p->revision = xstrdup(ref ? ref : "");
    for (size_t i = 0; keys[i]; i += 2)
        webhook_add_url(p->urls, webhook_at(body, keys[i], keys[i + 1], NULL));
}

/* Bitbucket: the ref when the push changed exactly one. */
static void webhook_one_ref(struct webhook_push *p, const json_t *changes, int cloud)
{
    const json_t *ch = json_array_get(changes, 0);
    const char *name, *type;

    if (json_array_size(changes) != 1) {
        p->revision = xstrdup("");
        return;
    }
    if (!cloud) {
        name = json_string_value(webhook_at(ch, "ref", "id", NULL));
        p->revision = xstrdup(name ? name : "");
        return;
    }
    name = json_string_value(webhook_at(ch, "new", "name", NULL));
    type = json_string_value(webhook_at(ch, "new", "type", NULL));
    if (name && type && !strcmp(type, "branch"))
        p->revision = xasprintf("refs/heads/%s", name);
    else if (name && type && !strcmp(type, "tag"))
        p->revision = xasprintf("refs/tags/%s", name);
    else
        p->revision = xstrdup("");
}

static int webhook_no_secret(const char *provider, const char *key)
{
    return err_set(
        ERR_AUTH, "%s webhook refused: %s is not set in the secrets file (webhooks must be signed)",
        provider, key);
}

int webhook_parse(struct webhook_push *out, const struct secrets *s, webhook_header_fn header,
                  void *ctx, const char *body, size_t len)
{
    static const char *const github_keys[] = {"repository", "html_url",   "repository",
                                              "clone_url",  "repository", "ssh_url",
                                              "repository", "git_url",    NULL};
    static const char *const gitlab_keys[] = {
        "project",    "web_url",  "project",    "git_http_url", "project", "git_ssh_url",
        "repository", "homepage", "repository", "git_http_url", NULL};
    static const char *const gogs_keys[] = {"repository", "html_url", "repository", "clone_url",
                                            "repository", "ssh_url",  NULL};
    const char *event, *gitea_event = header(ctx, "X-Gitea-Event");
    json_t *doc = NULL;
    json_error_t jerr;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->urls = json_array();
    if ((event = header(ctx, "X-GitHub-Event"))) {
        out->provider = "github";
        if (!s->github)
            return webhook_no_secret("GitHub", "webhook.github.secret");
        if (!webhook_hmac_ok(s->github, header(ctx, "X-Hub-Signature-256"), "sha256=", body, len))
            return err_set(ERR_AUTH,
                           "GitHub webhook refused: X-Hub-Signature-256 missing or wrong");
        if (strcmp(event, "push") != 0) {
            out->ignored = "not a push event";
            return 0;
        }
    } else if ((event = header(ctx, "X-Gitlab-Event"))) {
        out->provider = "gitlab";
        if (!s->gitlab)
            return webhook_no_secret("GitLab", "webhook.gitlab.secret");
        if (!webhook_token_ok(s->gitlab, header(ctx, "X-Gitlab-Token")))
            return err_set(ERR_AUTH, "GitLab webhook refused: X-Gitlab-Token missing or wrong");
        if (strcmp(event, "Push Hook") != 0 && strcmp(event, "Tag Push Hook") != 0) {
            out->ignored = "not a push event";
            return 0;
        }
    } else if (gitea_event || (event = header(ctx, "X-Gogs-Event"))) {
        const char *sig = header(ctx, gitea_event ? "X-Gitea-Signature" : "X-Gogs-Signature");
        if (gitea_event)
            event = gitea_event;
        out->provider = "gogs";
        if (!s->gogs)
            return webhook_no_secret("Gitea/Gogs", "webhook.gogs.secret");
        if (!webhook_hmac_ok(s->gogs, sig, "", body, len))
            return err_set(ERR_AUTH, "Gitea/Gogs webhook refused: %s missing or wrong",
                           gitea_event ? "X-Gitea-Signature" : "X-Gogs-Signature");
        if (strcmp(event, "push") != 0) {
            out->ignored = "not a push event";
            return 0;
        }
    } else if ((event = header(ctx, "X-Event-Key")) && header(ctx, "X-Hook-UUID")) {
        out->provider = "bitbucket";
        if (!s->bitbucket_uuid)
            return webhook_no_secret("Bitbucket", "webhook.bitbucket.uuid");
        if (!webhook_token_ok(s->bitbucket_uuid, header(ctx, "X-Hook-UUID")))
            return err_set(ERR_AUTH, "Bitbucket webhook refused: X-Hook-UUID wrong");
        if (strcmp(event, "repo:push") != 0) {
            out->ignored = "not a push event";
            return 0;
        }
    } else if ((event = header(ctx, "X-Event-Key"))) {
        out->provider = "bitbucket-server";
        if (!s->bitbucket_server)
            return webhook_no_secret("Bitbucket Server", "webhook.bitbucketserver.secret");
        if (!webhook_hmac_ok(s->bitbucket_server, header(ctx, "X-Hub-Signature"), "sha256=", body,
                             len))
            return err_set(ERR_AUTH,
                           "Bitbucket Server webhook refused: X-Hub-Signature missing or wrong");
        if (strcmp(event, "repo:refs_changed") != 0) {
            out->ignored = "not a push event";
            return 0;
        }
    } else {
        return err_set(ERR_INVALID, "not a webhook of GitHub, GitLab, Gitea, Gogs or Bitbucket "
                                    "(no event header)");
    }

    /* authenticated: now the body may be read */
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        rc = err_set(ERR_INVALID, "%s webhook: body: %s", out->provider,
                     doc ? "must be an object" : jerr.text);
        goto out;
    }
    if (!strcmp(out->provider, "github"))
        webhook_read_plain(out, doc, github_keys);
    else if (!strcmp(out->provider, "gitlab"))
        webhook_read_plain(out, doc, gitlab_keys);
    else if (!strcmp(out->provider, "gogs"))
        webhook_read_plain(out, doc, gogs_keys);
    else if (!strcmp(out->provider, "bitbucket")) {
        const char *full = json_string_value(webhook_at(doc, "repository", "full_name", NULL));
        webhook_add_url(out->urls,
                        json_object_get(webhook_at(doc, "repository", "links", "html"), "href"));
        if (full) {
            json_t *u = json_sprintf("https://bitbucket.org/%s", full);
            json_array_append_new(out->urls, u);
        }
        webhook_one_ref(out, webhook_at(doc, "push", "changes", NULL), 1);
    } else {
        const json_t *clone = webhook_at(doc, "repository", "links", "clone"), *c;
        size_t i;
        json_array_foreach(clone, i, c)
        {
            webhook_add_url(out->urls, json_object_get(c, "href"));
        }
        webhook_one_ref(out, json_object_get(doc, "changes"), 0);
    }
    if (json_array_size(out->urls) == 0)
        rc = err_set(ERR_INVALID, "%s webhook: the payload names no repository URL", out->provider);
out:
    json_decref(doc);
    return rc;
}

void webhook_push_dispose(struct webhook_push *p)
{
    if (!p)
        return;
    json_decref(p->urls);
    free(p->revision);
    memset(p, 0, sizeof(*p));
}
