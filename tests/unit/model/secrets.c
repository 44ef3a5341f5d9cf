#include "model/secrets.h"

#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/mem.h"
#include "test.h"

static char *dir;

static char *write_secret(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    if (fs_write_atomic(path, text, strlen(text), 0600) < 0)
        exit(2);
    return path;
}

/* Argo CD's argocd-secret as installs carry it: base64 data, keys edgecd
 * ignores, and stringData winning over data for the same key. */
TEST(reads_argocd_secret_as_is)
{
    struct secrets s;
    char *path = write_secret("argocd-secret.yaml",
                              "apiVersion: v1\nkind: Secret\nmetadata: {name: argocd-secret}\n"
                              "type: Opaque\ndata:\n"
                              "  admin.password: JDJhJDEwJGFiYw==\n"
                              "  server.secretkey: c2VjcmV0\n"
                              "  webhook.github.secret: Z2gtc2VjcmV0Cg==\n" /* "gh-secret\n" */
                              "  webhook.gitlab.secret: b2xk\n"             /* "old" */
                              "stringData:\n"
                              "  webhook.gitlab.secret: gl-token\n"
                              "  webhook.gogs.secret: gitea-secret\n"
                              "  webhook.bitbucket.uuid: '{8c0b2a44-1d3e-4f5a-9b6c-7d8e9f0a1b2c}'\n"
                              "  webhook.bitbucketserver.secret: bbs-secret\n");
    CHECK_OK(secrets_load(&s, path));
    CHECK_STR(s.github, "gh-secret");
    CHECK_STR(s.gitlab, "gl-token");
    CHECK_STR(s.gogs, "gitea-secret");
    CHECK_STR(s.bitbucket_uuid, "{8c0b2a44-1d3e-4f5a-9b6c-7d8e9f0a1b2c}");
    CHECK_STR(s.bitbucket_server, "bbs-secret");
    secrets_dispose(&s);
    CHECK(s.github == NULL);
    free(path);
}

/* Refusals name the file and key, never the value. */
TEST(refuses_what_is_not_an_argocd_secret)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata: {a: b}\n",
         "must hold one Secret"},
        {"apiVersion: v1\nkind: Secret\ndata:\n  webhook.github.secret: 'not base64 s3cr3t!'\n",
         "data.webhook.github.secret: not base64"},
        {"apiVersion: v1\nkind: Secret\nstringData:\n  webhook.gitlab.secret: 12345\n",
         "stringData.webhook.gitlab.secret: must be a string"},
        {"apiVersion: v1\nkind: Secret\nstringData:\n  webhook.gogs.secret: ''\n",
         "stringData.webhook.gogs.secret: empty"},
        {"apiVersion: v1\nkind: Secret\nstringData: [a]\n", "stringData: must be a mapping"},
        {"kind: Secret\n---\nkind: Secret\n", "must hold one Secret"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct secrets s;
        char *path = write_secret("bad.yaml", cases[i].text);
        CHECK_ERR(secrets_load(&s, path), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "bad.yaml");
        CHECK_CONTAINS(err_last(), cases[i].want);
        CHECK(strstr(err_last(), "s3cr3t") == NULL);
        err_clear();
        secrets_dispose(&s);
        free(path);
    }
    {
        struct secrets s;
        char *path = xasprintf("%s/missing.yaml", dir);
        CHECK(secrets_load(&s, path) < 0);
        err_clear();
        secrets_dispose(&s);
        free(path);
    }
}

int main(void)
{
    dir = test_tmpdir("secrets");
    RUN(reads_argocd_secret_as_is);
    RUN(refuses_what_is_not_an_argocd_secret);
    free(dir);
    return TEST_END();
}
