#include "model/config.h"

#include "core/fs.h"
#include "core/util.h"
#include "test.h"

static char *dir;

static int write_config(const char *name, const char *text, char **path)
{
    *path = xasprintf("%s/%s", dir, name);
    return fs_write_atomic(*path, text, strlen(text), 0600);
}

static const char app_doc[] = "---\n"
                              "apiVersion: argoproj.io/v1alpha1\n"
                              "kind: Application\n"
                              "metadata: {name: guestbook}\n"
                              "spec:\n"
                              "  source: {repoURL: /srv/git/site.git, path: apps}\n"
                              "  destination: {name: in-cluster, namespace: demo}\n";

TEST(defaults_clusters_and_apps)
{
    struct config cfg;
    char *path, *text;
    text = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                     "clusters:\n  - kubeconfig: k3s.yaml\n%s",
                     app_doc);
    CHECK_OK(write_config("site.yaml", text, &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK_STR(cfg.listen, "127.0.0.1:8080");
    /* HTTPS with a generated certificate unless told otherwise */
    CHECK(cfg.insecure_http == 0);
    CHECK_STR(cfg.tls_cert_file, "");
    CHECK_STR(cfg.tls_key_file, "");
    CHECK_STR(cfg.http_redirect_listen, "");
    CHECK(cfg.poll_seconds == 180);
    CHECK_STR(cfg.log_level, "info");
    CHECK(cfg.n_clusters == 1);
    CHECK_STR(cfg.clusters[0].name, "in-cluster");
    CHECK_STR(cfg.clusters[0].server, "https://kubernetes.default.svc");
    /* relative to the config file's folder */
    CHECK(str_has_suffix(cfg.clusters[0].kubeconfig, "/k3s.yaml"));
    CHECK(cfg.clusters[0].kubeconfig[0] == '/');
    CHECK(json_array_size(cfg.applications) == 1);
    CHECK(config_find_cluster(&cfg, NULL, "in-cluster") == &cfg.clusters[0]);
    CHECK(config_find_cluster(&cfg, "https://kubernetes.default.svc", NULL) == &cfg.clusters[0]);
    CHECK(config_find_cluster(&cfg, "https://other:6443", NULL) == NULL);
    config_dispose(&cfg);
    free(text);
    free(path);
}

/* A cluster without a kubeconfig is the one edgecd runs in. */
TEST(cluster_without_kubeconfig_is_in_cluster)
{
    struct config cfg;
    char *path;
    CHECK_OK(write_config("incluster.yaml",
                          "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                          "clusters: [{name: here}]\n",
                          &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK(cfg.n_clusters == 1);
    CHECK_STR(cfg.clusters[0].name, "here");
    CHECK(cfg.clusters[0].kubeconfig == NULL);
    config_dispose(&cfg);
    free(path);
}

/* Each bad config is refused with a message naming the field. */
TEST(errors_name_the_field)
{
    static const struct {
        const char *text;
        const char *expect;
    } cases[] = {
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\npollSecond: 5\n"
         "clusters: [{kubeconfig: k}]\n",
         "pollSecond: unknown setting"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\npollSeconds: 0\n"
         "clusters: [{kubeconfig: k}]\n",
         "pollSeconds: must be a whole number from 1 to 86400"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{name: a, context: x}]\n",
         "clusters[0].context: needs a kubeconfig"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n", "clusters: missing"},
        {"apiVersion: v1\nkind: ConfigMap\n", "SiteConfig"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nlogLevel: loud\n"
         "clusters: [{kubeconfig: k}]\n",
         "logLevel"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
         "clusters: [{kubeconfig: k}, {kubeconfig: j}]\n",
         "repeats clusters[0]"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n---\n"
         "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\n"
         "spec: {destination: {name: in-cluster}}\n",
         "document 2"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "mirrors: [{prefix: 'https://a/'}]\n",
         "mirrors[0]: needs prefix and mirror"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "mirrors: [{prefix: 'https://a/', mirror: 'file:///m/', fallback: 'yes'}]\n",
         "mirrors[0].fallback: must be true or false"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "mirrors: [{prefix: 'https://a/', mirror: 'file:///m/', insteadOf: x}]\n",
         "mirrors[0].insteadOf: unknown field"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "mirrors: [{prefix: 'https://a/', mirror: 'file:///m/'}, "
         "{prefix: 'https://a/', mirror: 'file:///n/'}]\n",
         "mirrors[1]: prefix repeats mirrors[0]"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "mirrors: {prefix: x}\n",
         "mirrors: must be a list"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "insecureHTTP: 'yes'\n",
         "insecureHTTP: must be true or false"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "tlsKeyFile: site.key\n",
         "tlsCertFile and tlsKeyFile: set both or neither"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "insecureHTTP: true\ntlsCertFile: a.crt\ntlsKeyFile: a.key\n",
         "insecureHTTP: true serves plain HTTP"},
        {"apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nclusters: [{kubeconfig: k}]\n"
         "insecureHTTP: true\nhttpRedirectListen: 127.0.0.1:8081\n",
         "httpRedirectListen: redirects to HTTPS"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config cfg;
        char *path;
        CHECK_OK(write_config("bad.yaml", cases[i].text, &path));
        CHECK(config_load(&cfg, path) < 0);
        CHECK_CONTAINS(err_last(), cases[i].expect);
        CHECK_CONTAINS(err_last(), "bad.yaml");
        config_dispose(&cfg);
        free(path);
    }
}

TEST(mirror_rules_longest_prefix_wins)
{
    struct config cfg;
    char *path, *url = NULL;
    const struct config_mirror *r;

    CHECK_OK(write_config("mirrors.yaml",
                          "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                          "clusters: [{kubeconfig: k}]\nmirrors:\n"
                          "  - {prefix: 'https://github.com/', mirror: 'http://gitea.lan/gh/'}\n"
                          "  - {prefix: 'https://github.com/org/', mirror: 'file:///srv/m/org/',"
                          " fallback: true}\n",
                          &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK(cfg.n_mirrors == 2);
    r = config_rewrite_url(&cfg, "https://github.com/org/config.git", &url);
    CHECK(r == &cfg.mirrors[1] && r->fallback);
    CHECK_STR(url, "file:///srv/m/org/config.git");
    free(url);
    r = config_rewrite_url(&cfg, "https://github.com/other/x.git", &url);
    CHECK(r == &cfg.mirrors[0] && !r->fallback);
    CHECK_STR(url, "http://gitea.lan/gh/other/x.git");
    free(url);
    r = config_rewrite_url(&cfg, "https://gitlab.com/org/x.git", &url);
    CHECK(r == NULL && url == NULL);
    config_dispose(&cfg);
    free(path);
}

/* settingsFile names an argocd-cm next to the site configuration. */
TEST(settings_file_is_read)
{
    struct config cfg;
    char *path, *cm;
    static const char site[] = "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                               "clusters: [{kubeconfig: k}]\nsettingsFile: argocd-cm.yaml\n";

    CHECK_OK(write_config("argocd-cm.yaml",
                          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata:\n"
                          "  resource.customizations.health.cert-manager.io_Certificate: |\n"
                          "    return {status = 'Healthy'}\n",
                          &cm));
    CHECK_OK(write_config("with-settings.yaml", site, &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK_STR(cfg.settings_file, cm);
    CHECK(cfg.settings && cfg.settings->n_overrides == 1);
    CHECK_STR(cfg.settings->overrides[0].key, "cert-manager.io/Certificate");
    config_dispose(&cfg);
    CHECK(cfg.settings == NULL);
    free(path);

    /* without the key there are no settings */
    CHECK_OK(write_config("without.yaml",
                          "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                          "clusters: [{kubeconfig: k}]\n",
                          &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK(cfg.settings == NULL && cfg.settings_file[0] == '\0');
    config_dispose(&cfg);
    free(path);

    /* a broken argocd-cm fails the whole configuration, naming both */
    free(cm);
    CHECK_OK(write_config("argocd-cm.yaml",
                          "apiVersion: v1\nkind: ConfigMap\ndata:\n"
                          "  resource.customizations.useOpenLibs.Pod: maybe\n",
                          &cm));
    CHECK_OK(write_config("with-settings.yaml", site, &path));
    CHECK_ERR(config_load(&cfg, path), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "with-settings.yaml: settingsFile: ");
    CHECK_CONTAINS(err_last(),
                   "argocd-cm.yaml:4: resource.customizations.useOpenLibs.Pod: must be true or "
                   "false");
    config_dispose(&cfg);
    free(path);
    free(cm);
}

/* rbacConfigFile: the site's argocd-rbac-cm, read at load; the session
 * settings with their defaults and bounds. */
TEST(rbac_file_and_session_settings)
{
    struct config cfg;
    char *path, *cm;
    static const char site[] = "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                               "clusters: [{kubeconfig: k}]\nrbacConfigFile: rbac.yaml\n"
                               "sessionIdleSeconds: 600\n";

    CHECK_OK(write_config("rbac.yaml",
                          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-rbac-cm}\n"
                          "data:\n  policy.csv: |\n"
                          "    p, role:ops, applications, sync, prod/*, allow\n"
                          "    g, alice, role:ops\n",
                          &cm));
    CHECK_OK(write_config("with-rbac.yaml", site, &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK_STR(cfg.rbac_config_file, cm);
    CHECK(cfg.rbac != NULL);
    CHECK(rbac_enforce(cfg.rbac, "alice", "applications", "sync", "prod/web") == 1);
    CHECK(rbac_enforce(cfg.rbac, "alice", "applications", "sync", "dev/web") == 0);
    CHECK(cfg.session_idle_seconds == 600);
    CHECK(cfg.session_max_seconds == 86400);
    config_dispose(&cfg);
    CHECK(cfg.rbac == NULL);
    free(path);

    /* a broken policy fails the whole configuration, naming both files */
    free(cm);
    CHECK_OK(write_config("rbac.yaml",
                          "apiVersion: v1\nkind: ConfigMap\ndata:\n  policy.csv: |\n"
                          "    p, role:ops, applications\n",
                          &cm));
    CHECK_OK(write_config("with-rbac.yaml", site, &path));
    CHECK_ERR(config_load(&cfg, path), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "with-rbac.yaml: rbacConfigFile: ");
    CHECK_CONTAINS(err_last(), "rbac.yaml:1: not a policy line");
    config_dispose(&cfg);
    free(path);

    CHECK_OK(write_config("short.yaml",
                          "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                          "clusters: [{kubeconfig: k}]\nsessionMaxSeconds: 5\n",
                          &path));
    CHECK_ERR(config_load(&cfg, path), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "sessionMaxSeconds");
    config_dispose(&cfg);
    free(path);
    free(cm);
}

/* The TLS files are found next to the config file, like every path in
 * it, so a site folder moves as a whole. */
TEST(tls_settings)
{
    struct config cfg;
    char *path;
    CHECK_OK(write_config("tls.yaml",
                          "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                          "clusters: [{kubeconfig: k}]\ntlsCertFile: tls/site.crt\n"
                          "tlsKeyFile: /etc/edgecd/site.key\nhttpRedirectListen: 0.0.0.0:80\n",
                          &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK(cfg.tls_cert_file[0] == '/');
    CHECK(str_has_suffix(cfg.tls_cert_file, "/tls/site.crt"));
    CHECK_STR(cfg.tls_key_file, "/etc/edgecd/site.key");
    CHECK_STR(cfg.http_redirect_listen, "0.0.0.0:80");
    CHECK(cfg.insecure_http == 0);
    config_dispose(&cfg);
    free(path);
    CHECK_OK(write_config("plain.yaml",
                          "apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                          "clusters: [{kubeconfig: k}]\ninsecureHTTP: true\n",
                          &path));
    CHECK_OK(config_load(&cfg, path));
    CHECK(cfg.insecure_http == 1);
    config_dispose(&cfg);
    free(path);
}

TEST(missing_file)
{
    struct config cfg;
    char *path = xasprintf("%s/none.yaml", dir);
    CHECK_ERR(config_load(&cfg, path), ERR_NOTFOUND);
    config_dispose(&cfg);
    free(path);
}

TEST(describe_lists_every_setting)
{
    struct buf b = BUF_INIT;
    config_describe(&b);
    CHECK_CONTAINS(buf_cstr(&b), "listen");
    CHECK_CONTAINS(buf_cstr(&b), "pollSeconds");
    CHECK_CONTAINS(buf_cstr(&b), "logLevel");
    CHECK_CONTAINS(buf_cstr(&b), "settingsFile");
    CHECK_CONTAINS(buf_cstr(&b), "tlsCertFile");
    CHECK_CONTAINS(buf_cstr(&b), "insecureHTTP");
    CHECK_CONTAINS(buf_cstr(&b), "clusters");
    buf_dispose(&b);
}

int main(void)
{
    dir = test_tmpdir("model-config");
    RUN(defaults_clusters_and_apps);
    RUN(cluster_without_kubeconfig_is_in_cluster);
    RUN(errors_name_the_field);
    RUN(mirror_rules_longest_prefix_wins);
    RUN(settings_file_is_read);
    RUN(rbac_file_and_session_settings);
    RUN(tls_settings);
    RUN(missing_file);
    RUN(describe_lists_every_setting);
    free(dir);
    return TEST_END();
}
