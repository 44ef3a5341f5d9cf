#include "server/webhook.h"

#include <mbedtls/md.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "test.h"

/* Request headers of one test call: name/value pairs, NULL-terminated. */
static const char *header(void *ctx, const char *name)
{
    const char *const *h = ctx;
    for (; h[0]; h += 2)
        if (!strcasecmp(h[0], name))
            return h[1];
    return NULL;
}

static struct secrets secrets = {
    "It's a Secret to Everybody",
    "gl-token",
    "gitea-secret",
    "{8c0b2a44-1d3e-4f5a-9b6c-7d8e9f0a1b2c}",
    "bbs-secret",
};

/* "sha256=" (or "") + the hex HMAC-SHA256 of body under key, into out. */
static void sign(char out[72], const char *prefix, const char *key, const char *body)
{
    unsigned char mac[32];
    size_t n = (size_t)snprintf(out, 72, "%s", prefix);
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), (const unsigned char *)key,
                    strlen(key), (const unsigned char *)body, strlen(body), mac);
    for (size_t i = 0; i < 32; i++)
        n += (size_t)snprintf(out + n, 72 - n, "%02x", mac[i]);
}

static const char github_push[] =
    "{\"ref\":\"refs/heads/main\",\"repository\":{\"html_url\":\"https://github.com/site/config\","
    "\"clone_url\":\"https://github.com/site/config.git\",\"ssh_url\":\"git@github.com:site/"
    "config.git\"}}";

/* GitHub's own documented example of X-Hub-Signature-256: an HMAC made
 * elsewhere, so the check is not only consistent with itself. */
TEST(github_signature_matches_githubs_example)
{
    const char *h[] = {"X-GitHub-Event", "push", "X-Hub-Signature-256",
                       "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                       NULL};
    struct webhook_push p;
    /* the right signature of a body that is not JSON: authenticated, then refused as a body */
    CHECK_ERR(webhook_parse(&p, &secrets, header, h, "Hello, World!", 13), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "github webhook: body");
    err_clear();
    webhook_push_dispose(&p);
}

TEST(github_push_names_the_repository_and_branch)
{
    char sig[72];
    const char *h[] = {"X-GitHub-Event", "push", "X-Hub-Signature-256", sig, NULL};
    struct webhook_push p;
    sign(sig, "sha256=", secrets.github, github_push);
    CHECK_OK(webhook_parse(&p, &secrets, header, h, github_push, strlen(github_push)));
    CHECK_STR(p.provider, "github");
    CHECK(p.ignored == NULL);
    CHECK_STR(p.revision, "refs/heads/main");
    CHECK(json_array_size(p.urls) == 3);
    CHECK_STR(json_string_value(json_array_get(p.urls, 0)), "https://github.com/site/config");
    webhook_push_dispose(&p);

    /* a ping is answered, not acted on */
    h[1] = "ping";
    CHECK_OK(webhook_parse(&p, &secrets, header, h, github_push, strlen(github_push)));
    CHECK(p.ignored != NULL);
    CHECK(json_array_size(p.urls) == 0);
    webhook_push_dispose(&p);
}

/* A wrong, cut or missing signature, a changed body, or no secret
 * configured: refused, and the message never holds a secret. */
TEST(github_refusals)
{
    char sig[72], bad[72];
    const char *h[] = {"X-GitHub-Event", "push", "X-Hub-Signature-256", sig, NULL};
    const char *none[] = {"X-GitHub-Event", "push", NULL};
    struct secrets empty = {0};
    struct webhook_push p;
    char changed[sizeof(github_push)];

    sign(sig, "sha256=", "another secret", github_push);
    CHECK_ERR(webhook_parse(&p, &secrets, header, h, github_push, strlen(github_push)), ERR_AUTH);
    CHECK(strstr(err_last(), secrets.github) == NULL);
    err_clear();
    webhook_push_dispose(&p);

    sign(sig, "sha256=", secrets.github, github_push);
    memcpy(changed, github_push, sizeof(changed));
    changed[20] = 'X';
    CHECK_ERR(webhook_parse(&p, &secrets, header, h, changed, strlen(changed)), ERR_AUTH);
    err_clear();
    webhook_push_dispose(&p);

    memcpy(bad, sig, sizeof(bad));
    bad[40] = '\0';
    h[3] = bad;
    CHECK_ERR(webhook_parse(&p, &secrets, header, h, github_push, strlen(github_push)), ERR_AUTH);
    err_clear();
    webhook_push_dispose(&p);

    CHECK_ERR(webhook_parse(&p, &secrets, header, none, github_push, strlen(github_push)),
              ERR_AUTH);
    CHECK_CONTAINS(err_last(), "X-Hub-Signature-256 missing or wrong");
    err_clear();
    webhook_push_dispose(&p);

    h[3] = sig;
    CHECK_ERR(webhook_parse(&p, &empty, header, h, github_push, strlen(github_push)), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "webhook.github.secret is not set");
    err_clear();
    webhook_push_dispose(&p);
}

TEST(gitlab_token)
{
    static const char body[] =
        "{\"object_kind\":\"push\",\"ref\":\"refs/heads/dev\",\"project\":{\"web_url\":"
        "\"https://gitlab.site/ops/config\",\"git_http_url\":\"https://gitlab.site/ops/"
        "config.git\"}}";
    const char *h[] = {"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "gl-token", NULL};
    struct webhook_push p;
    CHECK_OK(webhook_parse(&p, &secrets, header, h, body, strlen(body)));
    CHECK_STR(p.provider, "gitlab");
    CHECK_STR(p.revision, "refs/heads/dev");
    CHECK_STR(json_string_value(json_array_get(p.urls, 1)), "https://gitlab.site/ops/config.git");
    webhook_push_dispose(&p);
    h[3] = "gl-tokeN";
    CHECK_ERR(webhook_parse(&p, &secrets, header, h, body, strlen(body)), ERR_AUTH);
    err_clear();
    webhook_push_dispose(&p);
}

TEST(gitea_and_gogs_signatures)
{
    static const char body[] =
        "{\"ref\":\"refs/tags/v1.2.0\",\"repository\":{\"html_url\":\"http://gitea.lan/site/"
        "config\",\"clone_url\":\"http://gitea.lan/site/config.git\"}}";
    char sig[72];
    const char *gitea[] = {"X-Gitea-Event", "push", "X-Gitea-Signature", sig, NULL};
    const char *gogs[] = {"X-Gogs-Event", "push", "X-Gogs-Signature", sig, NULL};
    struct webhook_push p;
    sign(sig, "", secrets.gogs, body);
    CHECK_OK(webhook_parse(&p, &secrets, header, gitea, body, strlen(body)));
    CHECK_STR(p.provider, "gogs");
    CHECK_STR(p.revision, "refs/tags/v1.2.0");
    webhook_push_dispose(&p);
    CHECK_OK(webhook_parse(&p, &secrets, header, gogs, body, strlen(body)));
    webhook_push_dispose(&p);
    sig[0] = sig[0] == 'a' ? 'b' : 'a';
    CHECK_ERR(webhook_parse(&p, &secrets, header, gitea, body, strlen(body)), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "X-Gitea-Signature");
    err_clear();
    webhook_push_dispose(&p);
}

TEST(bitbucket_cloud_and_server)
{
    static const char cloud[] =
        "{\"push\":{\"changes\":[{\"new\":{\"name\":\"main\",\"type\":\"branch\"}}]},"
        "\"repository\":{\"full_name\":\"site/config\",\"links\":{\"html\":{\"href\":"
        "\"https://bitbucket.org/site/config\"}}}}";
    static const char server[] =
        "{\"eventKey\":\"repo:refs_changed\",\"changes\":[{\"ref\":{\"id\":\"refs/heads/main\"}}],"
        "\"repository\":{\"links\":{\"clone\":[{\"href\":\"https://bb.lan/scm/ops/config.git\","
        "\"name\":\"http\"},{\"href\":\"ssh://git@bb.lan:7999/ops/config.git\",\"name\":"
        "\"ssh\"}]}}}";
    char sig[72];
    const char *hc[] = {"X-Event-Key", "repo:push", "X-Hook-UUID", secrets.bitbucket_uuid, NULL};
    const char *hs[] = {"X-Event-Key", "repo:refs_changed", "X-Hub-Signature", sig, NULL};
    struct webhook_push p;

    CHECK_OK(webhook_parse(&p, &secrets, header, hc, cloud, strlen(cloud)));
    CHECK_STR(p.provider, "bitbucket");
    CHECK_STR(p.revision, "refs/heads/main");
    CHECK_STR(json_string_value(json_array_get(p.urls, 0)), "https://bitbucket.org/site/config");
    webhook_push_dispose(&p);
    hc[3] = "{00000000-0000-0000-0000-000000000000}";
    CHECK_ERR(webhook_parse(&p, &secrets, header, hc, cloud, strlen(cloud)), ERR_AUTH);
    err_clear();
    webhook_push_dispose(&p);

    sign(sig, "sha256=", secrets.bitbucket_server, server);
    CHECK_OK(webhook_parse(&p, &secrets, header, hs, server, strlen(server)));
    CHECK_STR(p.provider, "bitbucket-server");
    CHECK_STR(p.revision, "refs/heads/main");
    CHECK(json_array_size(p.urls) == 2);
    webhook_push_dispose(&p);
}

TEST(unknown_provider_and_bad_bodies)
{
    const char *none[] = {"Content-Type", "application/json", NULL};
    const char *gl[] = {"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "gl-token", NULL};
    struct webhook_push p;
    CHECK_ERR(webhook_parse(&p, &secrets, header, none, "{}", 2), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "no event header");
    err_clear();
    webhook_push_dispose(&p);
    CHECK_ERR(webhook_parse(&p, &secrets, header, gl, "[1]", 3), ERR_INVALID);
    err_clear();
    webhook_push_dispose(&p);
    CHECK_ERR(webhook_parse(&p, &secrets, header, gl, "{\"ref\":\"x\"}", 11), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "names no repository URL");
    err_clear();
    webhook_push_dispose(&p);
}

int main(void)
{
    RUN(github_signature_matches_githubs_example);
    RUN(github_push_names_the_repository_and_branch);
    RUN(github_refusals);
    RUN(gitlab_token);
    RUN(gitea_and_gogs_signatures);
    RUN(bitbucket_cloud_and_server);
    RUN(unknown_provider_and_bad_bodies);
    return TEST_END();
}
