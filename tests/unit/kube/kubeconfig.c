/*
 * Tests for appliance/kube/kubeconfig.c: kubeconfig files written at test
 * time, with inline data and file references, named and current contexts,
 * and the errors an operator would see for a broken file.
 */
#include <mbedtls/base64.h>

#include "core/buf.h"
#include "core/fs.h"
#include "kube/kubeconfig.h"
#include "test.h"

static char *dir;

static char *b64(const char *s)
{
    size_t n = 0;
    char *out;
    mbedtls_base64_encode(NULL, 0, &n, (const unsigned char *)s, strlen(s));
    out = xmalloc(n + 1);
    mbedtls_base64_encode((unsigned char *)out, n + 1, &n, (const unsigned char *)s, strlen(s));
    out[n] = '\0';
    return out;
}

/* Write dir/name with text; returns the path (caller frees). */
static char *put(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    fs_mkdir_p(path, 0700);
    *slash = '/';
    if (fs_write_atomic(path, text, strlen(text), 0600) < 0) {
        fprintf(stderr, "%s\n", err_last());
        exit(2);
    }
    return path;
}

TEST(inline_data_and_current_context)
{
    struct kubeconfig kc;
    char *ca = b64("CA PEM"), *cert = b64("CERT PEM"), *key = b64("KEY PEM");
    char *text = xasprintf("apiVersion: v1\n"
                           "kind: Config\n"
                           "current-context: edge\n"
                           "clusters:\n"
                           "- name: site\n"
                           "  cluster:\n"
                           "    server: https://10.0.0.1:6443\n"
                           "    certificate-authority-data: %s\n"
                           "    tls-server-name: kubernetes.default\n"
                           "contexts:\n"
                           "- name: other\n"
                           "  context: {cluster: nowhere, user: nobody}\n"
                           "- name: edge\n"
                           "  context:\n"
                           "    cluster: site\n"
                           "    user: admin\n"
                           "    namespace: apps\n"
                           "users:\n"
                           "- name: admin\n"
                           "  user:\n"
                           "    client-certificate-data: %s\n"
                           "    client-key-data: %s\n"
                           "    token: s3cret\n",
                           ca, cert, key);
    char *path = put("inline/config", text);

    CHECK_OK(kubeconfig_load(&kc, path, NULL));
    CHECK_STR(kc.context, "edge");
    CHECK_STR(kc.server, "https://10.0.0.1:6443");
    CHECK_STR(kc.namespace_, "apps");
    CHECK_STR(kc.ca_pem, "CA PEM");
    CHECK(kc.ca_pem_len == 6);
    CHECK_STR(kc.client_cert_pem, "CERT PEM");
    CHECK(kc.client_cert_pem_len == 8);
    CHECK_STR(kc.client_key_pem, "KEY PEM");
    CHECK_STR(kc.token, "s3cret");
    CHECK(kc.token_file == NULL);
    CHECK(kc.insecure == 0);
    CHECK_STR(kc.tls_server_name, "kubernetes.default");
    kubeconfig_dispose(&kc);
    free(ca);
    free(cert);
    free(key);
    free(text);
    free(path);
}

TEST(file_references_relative_to_the_kubeconfig)
{
    struct kubeconfig kc;
    char *abs_key = put("refs/keys/client.key", "KEY FROM FILE\n");
    char *text, *path, *want;

    free(put("refs/ca.crt", "CA FROM FILE\n"));
    free(put("refs/certs/client.crt", "CERT FROM FILE\n"));
    text = xasprintf("current-context: c\n"
                     "clusters:\n"
                     "- name: k\n"
                     "  cluster:\n"
                     "    server: https://127.0.0.1:6443\n"
                     "    certificate-authority: ca.crt\n"
                     "contexts:\n"
                     "- name: c\n"
                     "  context: {cluster: k, user: u}\n"
                     "users:\n"
                     "- name: u\n"
                     "  user:\n"
                     "    client-certificate: certs/client.crt\n"
                     "    client-key: %s\n"
                     "    tokenFile: secrets/token\n",
                     abs_key);
    path = put("refs/kubeconfig", text);
    CHECK_OK(kubeconfig_load(&kc, path, NULL));
    CHECK_STR(kc.ca_pem, "CA FROM FILE\n");
    CHECK(kc.ca_pem_len == 13);
    CHECK_STR(kc.client_cert_pem, "CERT FROM FILE\n");
    CHECK_STR(kc.client_key_pem, "KEY FROM FILE\n");
    CHECK(kc.token == NULL);
    want = xasprintf("%s/refs/secrets/token", dir);
    CHECK_STR(kc.token_file, want);
    CHECK_STR(kc.namespace_, "default");
    kubeconfig_dispose(&kc);
    free(want);
    free(text);
    free(path);
    free(abs_key);
}

static const char *two_contexts = "current-context: a\n"
                                  "clusters:\n"
                                  "- name: ka\n"
                                  "  cluster: {server: 'https://a:1'}\n"
                                  "- name: kb\n"
                                  "  cluster:\n"
                                  "    server: https://b:2\n"
                                  "    insecure-skip-tls-verify: true\n"
                                  "contexts:\n"
                                  "- name: a\n"
                                  "  context: {cluster: ka, user: ua}\n"
                                  "- name: b\n"
                                  "  context: {cluster: kb, user: ub, namespace: team-b}\n"
                                  "users:\n"
                                  "- name: ua\n"
                                  "  user: {token: ta}\n"
                                  "- name: ub\n"
                                  "  user: {token: tb}\n";

TEST(named_context)
{
    struct kubeconfig kc;
    char *path = put("named/config", two_contexts);

    CHECK_OK(kubeconfig_load(&kc, path, "b"));
    CHECK_STR(kc.context, "b");
    CHECK_STR(kc.server, "https://b:2");
    CHECK_STR(kc.token, "tb");
    CHECK_STR(kc.namespace_, "team-b");
    CHECK(kc.insecure == 1);
    kubeconfig_dispose(&kc);
    CHECK_OK(kubeconfig_load(&kc, path, NULL));
    CHECK_STR(kc.server, "https://a:1");
    CHECK_STR(kc.token, "ta");
    CHECK(kc.insecure == 0);
    kubeconfig_dispose(&kc);
    free(path);
}

TEST(missing_context)
{
    struct kubeconfig kc;
    char *path = put("missing/config", two_contexts);

    CHECK_ERR(kubeconfig_load(&kc, path, "foo"), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "context \"foo\" not found");
    CHECK_CONTAINS(err_last(), path);
    CHECK(kc.server == NULL);
    free(path);
}

TEST(exec_and_auth_provider_are_unsupported)
{
    struct kubeconfig kc;
    char *path = put("exec/config", "current-context: c\n"
                                    "clusters: [{name: k, cluster: {server: 'https://x:1'}}]\n"
                                    "contexts:\n"
                                    "- {name: c, context: {cluster: k, user: eks}}\n"
                                    "- {name: d, context: {cluster: k, user: gcp}}\n"
                                    "users:\n"
                                    "- name: eks\n"
                                    "  user:\n"
                                    "    exec:\n"
                                    "      apiVersion: client.authentication.k8s.io/v1\n"
                                    "      command: aws\n"
                                    "- name: gcp\n"
                                    "  user: {auth-provider: {name: gcp}}\n");

    /* The message names the user and the plugin, so the operator knows
     * which entry to replace with a token or certificate. */
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "user \"eks\": exec credential plugin \"aws\" is not supported");
    CHECK(kc.server == NULL);
    CHECK_ERR(kubeconfig_load(&kc, path, "d"), ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "user \"gcp\": auth-provider plugin \"gcp\" is not supported");
    free(path);
}

TEST(broken_files_name_the_field)
{
    struct kubeconfig kc;
    char *path, *missing;

    missing = xasprintf("%s/nope/config", dir);
    CHECK_ERR(kubeconfig_load(&kc, missing, NULL), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), missing);
    free(missing);

    path =
        put("broken/no-server", "current-context: c\n"
                                "clusters: [{name: k, cluster: {insecure-skip-tls-verify: true}}]\n"
                                "contexts: [{name: c, context: {cluster: k}}]\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "cluster \"k\": server: missing");
    free(path);

    path = put("broken/no-cluster", "current-context: c\n"
                                    "contexts: [{name: c, context: {cluster: gone, user: u}}]\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "cluster \"gone\" not found");
    free(path);

    path = put("broken/no-user", "current-context: c\n"
                                 "clusters: [{name: k, cluster: {server: 'https://x:1'}}]\n"
                                 "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "user \"u\" not found");
    free(path);

    path = put("broken/no-current", "clusters: []\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "current-context");
    free(path);

    path =
        put("broken/key-file", "current-context: c\n"
                               "clusters: [{name: k, cluster: {server: 'https://x:1'}}]\n"
                               "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                               "users:\n"
                               "- name: u\n"
                               "  user: {client-certificate-data: QUJD, client-key: gone.key}\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "client-key");
    CHECK_CONTAINS(err_last(), "gone.key");
    free(path);

    path = put("broken/cert-no-key", "current-context: c\n"
                                     "clusters: [{name: k, cluster: {server: 'https://x:1'}}]\n"
                                     "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                                     "users: [{name: u, user: {client-certificate-data: QUJD}}]\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "client-key: missing");
    free(path);

    path = put("broken/base64", "current-context: c\n"
                                "clusters:\n"
                                "- name: k\n"
                                "  cluster: {server: 'https://x:1', certificate-authority-data: "
                                "'not base64!'}\n"
                                "contexts: [{name: c, context: {cluster: k}}]\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "certificate-authority-data: invalid base64");
    free(path);

    path = put("broken/yaml", "current-context: [unclosed\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), path);
    free(path);

    path = put("broken/insecure", "current-context: c\n"
                                  "clusters: [{name: k, cluster: {server: 'https://x:1', "
                                  "insecure-skip-tls-verify: maybe}}]\n"
                                  "contexts: [{name: c, context: {cluster: k}}]\n");
    CHECK_ERR(kubeconfig_load(&kc, path, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "insecure-skip-tls-verify");
    free(path);
}

TEST(anonymous_context)
{
    struct kubeconfig kc;
    char *path = put("anon/config", "current-context: c\n"
                                    "clusters: [{name: k, cluster: {server: 'http://x:8080'}}]\n"
                                    "contexts: [{name: c, context: {cluster: k}}]\n");
    CHECK_OK(kubeconfig_load(&kc, path, NULL));
    CHECK(kc.token == NULL && kc.token_file == NULL && kc.client_cert_pem == NULL);
    kubeconfig_dispose(&kc);
    free(path);
}

TEST(basic_auth_and_refusals)
{
    struct kubeconfig kc;
    char *path =
        put("basic/config",
            "current-context: c\n"
            "clusters:\n"
            "- {name: k, cluster: {server: 'https://x:1'}}\n"
            "- {name: p, cluster: {server: 'https://x:1', proxy-url: 'http://proxy:3128'}}\n"
            "contexts:\n"
            "- {name: c, context: {cluster: k, user: basic, namespace: team-a}}\n"
            "- {name: both, context: {cluster: k, user: both}}\n"
            "- {name: nouser, context: {cluster: k, user: nouser}}\n"
            "- {name: as, context: {cluster: k, user: as}}\n"
            "- {name: proxy, context: {cluster: p, user: basic}}\n"
            "users:\n"
            "- {name: basic, user: {username: admin, password: 's3cret:x'}}\n"
            "- {name: both, user: {username: admin, password: p, token: t}}\n"
            "- {name: nouser, user: {password: p}}\n"
            "- {name: as, user: {token: t, as: someone}}\n");

    CHECK_OK(kubeconfig_load(&kc, path, NULL));
    CHECK_STR(kc.username, "admin");
    CHECK_STR(kc.password, "s3cret:x");
    CHECK_STR(kc.namespace_, "team-a");
    CHECK(kc.token == NULL);
    kubeconfig_dispose(&kc);
    CHECK_ERR(kubeconfig_load(&kc, path, "both"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "user \"both\": username/password and a token");
    CHECK_ERR(kubeconfig_load(&kc, path, "nouser"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "username: missing");
    CHECK_ERR(kubeconfig_load(&kc, path, "as"), ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "user \"as\": as (impersonation) is not supported");
    CHECK_ERR(kubeconfig_load(&kc, path, "proxy"), ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "cluster \"p\": proxy-url is not supported");
    CHECK(kc.server == NULL);
    free(path);
}

TEST(in_cluster_service_account)
{
    struct kubeconfig kc;
    char *sa = xasprintf("%s/sa", dir), *p;

    p = put("sa/token", "tok-1\n");
    free(p);
    p = put("sa/ca.crt", "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
    free(p);
    p = put("sa/namespace", "edge-system");
    free(p);

    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    CHECK_ERR(kubeconfig_in_cluster(&kc, sa), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "KUBERNETES_SERVICE_HOST");

    setenv("KUBERNETES_SERVICE_HOST", "10.43.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    CHECK_OK(kubeconfig_in_cluster(&kc, sa));
    CHECK_STR(kc.server, "https://10.43.0.1:443");
    CHECK_STR(kc.namespace_, "edge-system");
    CHECK_STR(kc.context, "in-cluster");
    p = xasprintf("%s/token", sa);
    CHECK_STR(kc.token_file, p);
    free(p);
    CHECK(kc.token == NULL);
    CHECK(kc.ca_pem != NULL && strstr(kc.ca_pem, "BEGIN CERTIFICATE") != NULL);
    CHECK(kc.insecure == 0);
    kubeconfig_dispose(&kc);

    /* Dual-stack clusters hand out an IPv6 service address. */
    setenv("KUBERNETES_SERVICE_HOST", "fd00:10:43::1", 1);
    CHECK_OK(kubeconfig_in_cluster(&kc, sa));
    CHECK_STR(kc.server, "https://[fd00:10:43::1]:443");
    kubeconfig_dispose(&kc);

    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    CHECK_ERR(kubeconfig_in_cluster(&kc, sa), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "KUBERNETES_SERVICE_PORT");
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);

    /* Without the namespace file: "default". Without the token: refused. */
    p = xasprintf("%s/namespace", sa);
    unlink(p);
    free(p);
    CHECK_OK(kubeconfig_in_cluster(&kc, sa));
    CHECK_STR(kc.namespace_, "default");
    kubeconfig_dispose(&kc);
    p = xasprintf("%s/token", sa);
    unlink(p);
    free(p);
    CHECK_ERR(kubeconfig_in_cluster(&kc, sa), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "service account token");
    CHECK(kc.server == NULL);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    free(sa);
}

/* An uploaded kubeconfig: data inline works; a path to one of the node's
 * files is refused, whatever field names it, and nothing is read. */
TEST(text_refuses_file_references)
{
    struct kubeconfig kc;
    static const char *const refs[] = {
        "clusters: [{name: k, cluster: {server: 'https://h:1', certificate-authority: "
        "/etc/passwd}}]\n"
        "users: [{name: u, user: {token: t}}]\n",
        "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
        "users: [{name: u, user: {client-certificate: /etc/passwd, client-key-data: eA==}}]\n",
        "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
        "users: [{name: u, user: {client-certificate-data: eA==, client-key: /etc/shadow}}]\n",
        "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
        "users: [{name: u, user: {tokenFile: /var/run/secrets/token}}]\n",
    };
    char *ca = b64("CA PEM");
    char *ok = xasprintf("current-context: c\n"
                         "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                         "clusters: [{name: k, cluster: {server: 'https://h:6443', "
                         "certificate-authority-data: %s}}]\n"
                         "users: [{name: u, user: {token: abc}}]\n",
                         ca);
    char *big;

    CHECK_OK(kubeconfig_from_text(&kc, ok, strlen(ok), "upload", NULL));
    CHECK_STR(kc.server, "https://h:6443");
    CHECK_STR(kc.ca_pem, "CA PEM");
    CHECK_STR(kc.token, "abc");
    kubeconfig_dispose(&kc);
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        char *text = xasprintf("current-context: c\n"
                               "contexts: [{name: c, context: {cluster: k, user: u}}]\n%s",
                               refs[i]);
        CHECK_ERR(kubeconfig_from_text(&kc, text, strlen(text), "upload", NULL), ERR_UNSUPPORTED);
        CHECK_CONTAINS(err_last(), "upload: ");
        CHECK_CONTAINS(err_last(), "a file reference cannot be used here");
        CHECK(kc.server == NULL && kc.ca_pem == NULL && kc.client_cert_pem == NULL);
        free(text);
    }
    CHECK_ERR(kubeconfig_from_text(&kc, "- a\n- b\n", 8, "upload", NULL), ERR_INVALID);
    CHECK_ERR(kubeconfig_from_text(&kc, ok, strlen(ok), "upload", "nope"), ERR_NOTFOUND);
    big = xmalloc(KUBECONFIG_MAX_TEXT + 2);
    memset(big, '#', KUBECONFIG_MAX_TEXT + 1);
    big[KUBECONFIG_MAX_TEXT + 1] = '\0';
    CHECK_ERR(kubeconfig_from_text(&kc, big, KUBECONFIG_MAX_TEXT + 1, "upload", NULL),
              ERR_TOOLARGE);
    free(big);
    free(ok);
    free(ca);
}

/* A kubeconfig with file references and a tokenFile, flattened on the
 * CLI's side, reads back as the same connection with no file named. */
TEST(flatten_inlines_every_file)
{
    struct kubeconfig kc, back;
    struct buf flat = BUF_INIT;
    char *text, *path;

    free(put("flat/ca.crt", "CA FROM FILE\n"));
    free(put("flat/client.crt", "CERT FROM FILE\n"));
    free(put("flat/client.key", "KEY FROM FILE\n"));
    free(put("flat/token", "file-token-7\n"));
    text = xstrdup("current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'https://10.1.1.1:6443', "
                   "certificate-authority: ca.crt, tls-server-name: api.lan}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u, namespace: apps}}]\n"
                   "users: [{name: u, user: {client-certificate: client.crt, client-key: "
                   "client.key, tokenFile: token}}]\n");
    path = put("flat/kubeconfig", text);
    CHECK_OK(kubeconfig_load(&kc, path, NULL));
    CHECK_OK(kubeconfig_flatten(&kc, "edge-7", &flat));
    CHECK(strstr(buf_cstr(&flat), "ca.crt") == NULL && strstr(buf_cstr(&flat), dir) == NULL);
    CHECK_OK(kubeconfig_from_text(&back, flat.ptr, flat.len, "flat", NULL));
    CHECK_STR(back.context, "edge-7");
    CHECK_STR(back.server, "https://10.1.1.1:6443");
    CHECK_STR(back.ca_pem, "CA FROM FILE\n");
    CHECK_STR(back.client_cert_pem, "CERT FROM FILE\n");
    CHECK_STR(back.client_key_pem, "KEY FROM FILE\n");
    CHECK_STR(back.token, "file-token-7");
    CHECK_STR(back.tls_server_name, "api.lan");
    CHECK_STR(back.namespace_, "apps");
    kubeconfig_dispose(&back);
    kubeconfig_dispose(&kc);
    buf_dispose(&flat);
    free(path);
    free(text);
}

int main(void)
{
    dir = test_tmpdir("kube-kubeconfig");
    RUN(inline_data_and_current_context);
    RUN(file_references_relative_to_the_kubeconfig);
    RUN(named_context);
    RUN(missing_context);
    RUN(exec_and_auth_provider_are_unsupported);
    RUN(broken_files_name_the_field);
    RUN(anonymous_context);
    RUN(basic_auth_and_refusals);
    RUN(in_cluster_service_account);
    RUN(text_refuses_file_references);
    RUN(flatten_inlines_every_file);
    free(dir);
    return TEST_END();
}
