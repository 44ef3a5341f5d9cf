/* The engine against kubesim and a real git repository: apply with
 * tracking, a copied object never pruned, a broken source never prunes. */
#include "engine/engine.h"

#include "core/fs.h"
#include "core/util.h"
#include "doc/doc.h"
#include "git/mirror.h"
#include "kube/client.h"
#include "kubesim/fixture.h"
#include "test.h"

static char *dir;
static struct kubesim_proc sim;

TEST(label_value_fits_kubernetes)
{
    char out[64];
    char long_name[80];
    engine_label_value("guestbook", out);
    CHECK_STR(out, "guestbook");
    memset(long_name, 'a', 70);
    long_name[70] = '\0';
    engine_label_value(long_name, out);
    CHECK(strlen(out) == 63);
    CHECK(out[52] == '-');
    CHECK(strncmp(out, long_name, 52) == 0);
    long_name[69] = 'b'; /* another long name, same prefix: another label */
    {
        char other[64];
        engine_label_value(long_name, other);
        CHECK(strcmp(out, other) != 0);
    }
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "command failed: %s\n", cmd);
        exit(2);
    }
}

static void write_file(const char *rel, const char *text)
{
    char *p = xasprintf("%s/repo/%s", dir, rel);
    if (fs_write_atomic(p, text, strlen(text), 0644) < 0) {
        fprintf(stderr, "%s\n", err_last());
        exit(2);
    }
    free(p);
}

static void commit(void)
{
    char *cmd = xasprintf("cd '%s/repo' && git add -A && git -c user.name=t -c user.email=t@e "
                          "commit -q -m c",
                          dir);
    sh(cmd);
    free(cmd);
}

static const char *resource_status(const struct store_app_status *st, const char *kind,
                                   const char *name)
{
    for (size_t i = 0; i < st->n_resources; i++)
        if (!strcmp(st->resources[i].kind, kind) && !strcmp(st->resources[i].name, name))
            return st->resources[i].status;
    return NULL;
}

TEST(reconcile_tracks_prunes_and_spares_copies)
{
    struct config cfg;
    struct kubeconfig kc;
    kube_client *kube = NULL;
    store *st = NULL;
    engine *e = NULL;
    struct store_app_status status = {0};
    json_t *live = NULL, *copy;
    char *site, *text, *db, *cmd;

    cmd = xasprintf("mkdir -p '%s/repo' && git -C '%s/repo' init -q -b main", dir, dir);
    sh(cmd);
    free(cmd);
    write_file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"
                          "data: {k: v}\n---\n"
                          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n");
    commit();

    site = xasprintf("%s/site.yaml", dir);
    text = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\npollSeconds: 1\n"
                     "clusters: [{kubeconfig: '%s'}]\n---\n"
                     "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
                     "metadata: {name: app1}\n"
                     "spec:\n  source: {repoURL: 'file://%s/repo', targetRevision: main}\n"
                     "  destination: {server: 'https://kubernetes.default.svc', namespace: "
                     "default}\n"
                     "  syncPolicy: {automated: {prune: true}}\n",
                     sim.kubeconfig, dir);
    CHECK_OK(fs_write_atomic(site, text, strlen(text), 0600));
    CHECK_OK(config_load(&cfg, site));
    db = xasprintf("%s/state.db", dir);
    CHECK_OK(store_open(&st, db));
    {
        struct buf js = BUF_INIT;
        doc_emit_json(&js, json_array_get(cfg.applications, 0), 0);
        CHECK_OK(store_app_put(st, "app1", buf_cstr(&js)));
        buf_dispose(&js);
    }
    CHECK_OK(engine_new(&e, st, &cfg, dir));
    CHECK_OK(engine_reconcile(e, "app1"));

    CHECK_OK(kubeconfig_load(&kc, sim.kubeconfig, NULL));
    CHECK_OK(kube_client_new(&kube, &kc));
    kubeconfig_dispose(&kc);
    CHECK_OK(kube_client_get(kube, "v1", "ConfigMap", "default", "one", &live));
    CHECK_STR(
        json_string_value(json_object_get(doc_get(live, "metadata.labels"), ENGINE_LABEL_APP)),
        "app1");
    CHECK_STR(
        json_string_value(json_object_get(json_object_get(doc_get(live, "metadata"), "annotations"),
                                          ENGINE_ANNOTATION_TRACKING)),
        "app1:/ConfigMap:default/one");
    json_decref(live);
    live = NULL;

    /* Someone copies a tracked object under another name, label and all. */
    copy = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}}}", "apiVersion", "v1", "kind",
                     "ConfigMap", "metadata", "name", "copy", "namespace", "default", "labels",
                     ENGINE_LABEL_APP, "app1", "annotations", ENGINE_ANNOTATION_TRACKING,
                     "app1:/ConfigMap:default/one");
    CHECK_OK(kube_client_apply(kube, copy, 0, NULL));
    json_decref(copy);

    /* Git drops "two": it is pruned; the copy is not ours and stays. */
    write_file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"
                          "data: {k: v}\n");
    commit();
    CHECK_OK(engine_reconcile(e, "app1"));
    CHECK_ERR(kube_client_get(kube, "v1", "ConfigMap", "default", "two", &live), ERR_NOTFOUND);
    CHECK_OK(kube_client_get(kube, "v1", "ConfigMap", "default", "copy", &live));
    json_decref(live);
    live = NULL;
    CHECK_OK(store_app_status_get(st, "app1", &status));
    CHECK_STR(status.sync_status, "Synced");
    CHECK_STR(resource_status(&status, "ConfigMap", "one"), "Synced");
    CHECK_STR(resource_status(&status, "ConfigMap", "two"), "Pruned");
    store_app_status_dispose(&status);

    /* A broken source records the error and prunes nothing. */
    write_file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n");
    commit();
    CHECK(engine_reconcile(e, "app1") < 0);
    CHECK_OK(kube_client_get(kube, "v1", "ConfigMap", "default", "one", &live));
    json_decref(live);
    CHECK_OK(store_app_status_get(st, "app1", &status));
    CHECK_STR(status.sync_status, "Unknown");
    CHECK_CONTAINS(status.last_error, "cm.yaml");
    store_app_status_dispose(&status);

    engine_free(e);
    kube_client_free(kube);
    store_close(st);
    config_dispose(&cfg);
    free(site);
    free(text);
    free(db);
}

int main(void)
{
    dir = test_tmpdir("engine");
    if (mirror_global_init() < 0)
        return 2;
    RUN(label_value_fits_kubernetes);
    {
        char *simdir = xasprintf("%s/sim", dir);
        if (kubesim_proc_start(&sim, simdir) < 0)
            return 2;
        free(simdir);
    }
    RUN(reconcile_tracks_prunes_and_spares_copies);
    kubesim_proc_stop(&sim);
    mirror_global_shutdown();
    free(dir);
    return TEST_END();
}
