/*
 * Tests for appliance/engine/clusters.c: clusters added from kubeconfig
 * text next to the site config's, against two kubesims. An added cluster
 * is reachable by name and server at once, its kubeconfig is stored
 * sealed and comes back after a restart, refusals change nothing, and a
 * cluster removed while a holder uses it stays usable to that holder
 * (the sanitizer build checks nothing is used after it is freed).
 */
#include "engine/engine.h"
#include "engine/internal.h"

#include <pthread.h>

#include "core/buf.h"
#include "core/fs.h"
#include "kube/client.h"
#include "kubesim/fixture.h"
#include "test.h"

static char *dir;
static struct kubesim_proc site_sim, lab_sim;
static struct config cfg;
static store *st;

static char *read_text(const char *path)
{
    struct buf b = BUF_INIT;
    if (fs_read_file(path, 1 << 20, &b) < 0) {
        fprintf(stderr, "%s\n", err_last());
        exit(2);
    }
    return buf_detach(&b);
}

/* A ConfigMap named name in default of the cluster an app naming dest
 * (a cluster name) deploys to, written through the engine's client. */
static int put_configmap(engine *e, const char *dest, const char *name)
{
    struct app a = {0};
    struct engine_cluster *ec = NULL;
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", name, "namespace", "default");
    int rc;

    a.dest_name = (char *)dest;
    if ((rc = engine_cluster_client(e, &a, &ec)) == 0) {
        rc = kube_client_apply(ec->kc, cm, 0, NULL);
        engine_cluster_release(ec);
    }
    json_decref(cm);
    return rc;
}

/* 1 if the kubesim behind kubeconfig has ConfigMap default/name. */
static int has_configmap(const char *kubeconfig, const char *name)
{
    struct kubeconfig kc;
    kube_client *c = NULL;
    json_t *obj = NULL;
    int found;

    if (kubeconfig_load(&kc, kubeconfig, NULL) < 0 || kube_client_new(&c, &kc) < 0) {
        fprintf(stderr, "%s\n", err_last());
        exit(2);
    }
    found = kube_client_get(c, "v1", "ConfigMap", "default", name, &obj) == 0;
    err_clear();
    json_decref(obj);
    kube_client_free(c);
    kubeconfig_dispose(&kc);
    return found;
}

static const char *item_field(const json_t *items, const char *name, const char *field)
{
    const json_t *c;
    size_t i;
    json_array_foreach(items, i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "name")), name))
            return json_string_value(json_object_get(c, field));
    }
    return NULL;
}

TEST(added_cluster_is_used_by_name_and_server)
{
    engine *e = NULL;
    char *text = read_text(lab_sim.kubeconfig), *server = NULL, *message = NULL;
    json_t *items;
    struct kubeconfig lab;

    CHECK_OK(kubeconfig_load(&lab, lab_sim.kubeconfig, NULL));
    CHECK_OK(engine_new(&e, st, &cfg, dir));
    CHECK_OK(engine_cluster_add(e, "lab", text, NULL, &server));
    CHECK_STR(server, lab.server);
    CHECK_OK(put_configmap(e, "lab", "on-lab"));
    CHECK(has_configmap(lab_sim.kubeconfig, "on-lab"));
    CHECK(!has_configmap(site_sim.kubeconfig, "on-lab"));
    CHECK_OK(put_configmap(e, "in-cluster", "on-site"));
    CHECK(has_configmap(site_sim.kubeconfig, "on-site"));
    {
        /* by server too, as spec.destination.server */
        struct app a = {0};
        struct engine_cluster *ec = NULL;
        a.dest_server = lab.server;
        CHECK_OK(engine_cluster_client(e, &a, &ec));
        CHECK(ec != NULL && !strcmp(ec->name, "lab"));
        engine_cluster_release(ec);
    }
    CHECK_OK(engine_cluster_validate(e, "lab", &message));
    CHECK_CONTAINS(message, "discovery:");
    free(message);

    items = engine_clusters_json(e);
    CHECK(json_array_size(items) == 2);
    CHECK_STR(item_field(items, "lab", "origin"), "api");
    CHECK_STR(item_field(items, "lab", "server"), lab.server);
    CHECK_STR(item_field(items, "in-cluster", "origin"), "config");
    {
        char *dump = json_dumps(items, 0);
        CHECK(strstr(dump, "kubesim-token") == NULL && strstr(dump, "certificate") == NULL);
        free(dump);
    }
    json_decref(items);
    engine_free(e);

    /* after a restart it is there, its kubeconfig only sealed in the store */
    CHECK_OK(engine_new(&e, st, &cfg, dir));
    CHECK_OK(put_configmap(e, "lab", "after-restart"));
    CHECK(has_configmap(lab_sim.kubeconfig, "after-restart"));
    {
        struct store_cluster *v = NULL;
        size_t n = 0;
        CHECK_OK(store_cluster_list(st, &v, &n));
        CHECK(n == 1 && !strncmp(v[0].kubeconfig_sealed, "v1:", 3));
        CHECK(n == 1 && strstr(v[0].kubeconfig_sealed, "token") == NULL);
        CHECK(n == 1 && !strcmp(v[0].server, lab.server));
        store_clusters_free(v, n);
    }
    engine_free(e);
    kubeconfig_dispose(&lab);
    free(server);
    free(text);
}

TEST(refusals_change_nothing)
{
    engine *e = NULL;
    char *text = read_text(lab_sim.kubeconfig), *server = NULL, *with_file, *plain_http;
    json_t *items;

    CHECK_OK(engine_new(&e, st, &cfg, dir));
    /* the name and the server of the cluster added before */
    CHECK_ERR(engine_cluster_add(e, "lab", text, NULL, &server), ERR_CONFLICT);
    CHECK_ERR(engine_cluster_add(e, "lab-2", text, NULL, &server), ERR_CONFLICT);
    CHECK_CONTAINS(err_last(), "server");
    CHECK_ERR(engine_cluster_add(e, "in-cluster", text, NULL, &server), ERR_CONFLICT);
    CHECK_CONTAINS(err_last(), "\"in-cluster\" exists");
    CHECK_ERR(engine_cluster_add(e, "Lab/x", text, NULL, &server), ERR_INVALID);
    CHECK_ERR(engine_cluster_add(e, "", text, NULL, &server), ERR_INVALID);
    CHECK_ERR(engine_cluster_add(e, "other", text, "no-such-context", &server), ERR_INVALID);
    CHECK_ERR(engine_cluster_add(e, "other", "{not yaml", NULL, &server), ERR_INVALID);
    with_file = xasprintf("current-context: c\n"
                          "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                          "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1', "
                          "certificate-authority: %s/keys/secret.key}}]\n"
                          "users: [{name: u, user: {token: t}}]\n",
                          dir);
    CHECK_ERR(engine_cluster_add(e, "other", with_file, NULL, &server), ERR_UNSUPPORTED);
    plain_http = xasprintf("current-context: c\n"
                           "contexts: [{name: c, context: {cluster: k}}]\n"
                           "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n");
    CHECK_ERR(engine_cluster_add(e, "other", plain_http, NULL, &server), ERR_INVALID);
    CHECK(server == NULL);
    CHECK_ERR(engine_cluster_remove(e, "in-cluster"), ERR_CONFLICT);
    CHECK_ERR(engine_cluster_remove(e, "nope"), ERR_NOTFOUND);
    items = engine_clusters_json(e);
    CHECK(json_array_size(items) == 2);
    json_decref(items);
    engine_free(e);
    free(with_file);
    free(plain_http);
    free(text);
}

/* A stored cluster whose kubeconfig does not open with the data
 * directory's key (the key file replaced) is refused with a clear error,
 * not garbage; a site config later naming the same cluster wins. */
TEST(wrong_key_refused_and_config_wins)
{
    engine *e = NULL;
    struct config both;
    char *key_path = xasprintf("%s/keys/secret.key", dir), *site = xasprintf("%s/both.yaml", dir);
    char *yaml, *saved = read_text(key_path), *message = NULL;
    static const char other_key[32] = "another key of thirty-two bytes";
    json_t *items;

    CHECK_OK(fs_write_atomic(key_path, other_key, sizeof(other_key), 0600));
    CHECK_OK(engine_new(&e, st, &cfg, dir));
    CHECK_ERR(put_configmap(e, "lab", "x"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "stored kubeconfig of cluster lab cannot be decrypted");
    CHECK_ERR(engine_cluster_validate(e, "lab", &message), ERR_INVALID);
    engine_free(e);
    CHECK_OK(fs_write_atomic(key_path, saved, 32, 0600));

    yaml = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                     "clusters: [{kubeconfig: '%s'}, {name: lab, server: 'https://lab.site', "
                     "kubeconfig: '%s'}]\n",
                     site_sim.kubeconfig, site_sim.kubeconfig);
    CHECK_OK(fs_write_atomic(site, yaml, strlen(yaml), 0600));
    CHECK_OK(config_load(&both, site));
    CHECK_OK(engine_new(&e, st, &both, dir));
    items = engine_clusters_json(e);
    CHECK(json_array_size(items) == 2);
    CHECK_STR(item_field(items, "lab", "origin"), "config");
    CHECK_STR(item_field(items, "lab", "server"), "https://lab.site");
    json_decref(items);
    engine_free(e);
    config_dispose(&both);
    free(message);
    free(yaml);
    free(site);
    free(saved);
    free(key_path);
}

struct user {
    engine *e;
    int stop;
    int used; /* holds that connected */
};

static void *use_lab(void *arg)
{
    struct user *u = arg;
    struct app a = {0};
    a.dest_name = "lab";
    while (!__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE)) {
        struct engine_cluster *ec = NULL;
        if (engine_cluster_client(u->e, &a, &ec) == 0) {
            json_t *obj = NULL;
            if (kube_client_get(ec->kc, "v1", "ConfigMap", "default", "on-lab", &obj) == 0)
                u->used++;
            json_decref(obj);
            engine_cluster_release(ec);
        }
        err_clear();
    }
    return NULL;
}

TEST(removed_while_held_stays_usable_to_its_holder)
{
    engine *e = NULL;
    struct app a = {0};
    struct engine_cluster *held = NULL;
    json_t *obj = NULL;
    char *text = read_text(lab_sim.kubeconfig), *server = NULL;
    struct user u = {0};
    pthread_t t;

    CHECK_OK(engine_new(&e, st, &cfg, dir));
    a.dest_name = "lab";
    CHECK_OK(engine_cluster_client(e, &a, &held));
    CHECK_OK(engine_cluster_remove(e, "lab"));
    /* gone for everyone else at once ... */
    CHECK_ERR(put_configmap(e, "lab", "x"), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "no configured cluster has name \"lab\"");
    /* ... and still working for the holder */
    CHECK_OK(kube_client_get(held->kc, "v1", "ConfigMap", "default", "on-lab", &obj));
    json_decref(obj);
    engine_cluster_release(held);
    CHECK_ERR(engine_cluster_validate(e, "lab", &server), ERR_NOTFOUND);

    /* added, used and removed again and again while a thread uses it */
    u.e = e;
    pthread_create(&t, NULL, use_lab, &u);
    for (int i = 0; i < 20; i++) {
        CHECK_OK(engine_cluster_add(e, "lab", text, NULL, &server));
        free(server);
        server = NULL;
        usleep(20000);
        CHECK_OK(engine_cluster_remove(e, "lab"));
    }
    __atomic_store_n(&u.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK(u.used > 0);
    engine_free(e);

    /* removed for good: not back after a restart */
    CHECK_OK(engine_new(&e, st, &cfg, dir));
    CHECK_ERR(put_configmap(e, "lab", "x"), ERR_NOTFOUND);
    engine_free(e);
    free(text);
}

int main(void)
{
    char *site, *yaml, *db, *sim_dir;

    dir = test_tmpdir("engine-clusters");
    sim_dir = xasprintf("%s/site-sim", dir);
    if (kubesim_proc_start(&site_sim, sim_dir) < 0)
        return 2;
    free(sim_dir);
    sim_dir = xasprintf("%s/lab-sim", dir);
    if (kubesim_proc_start(&lab_sim, sim_dir) < 0)
        return 2;
    free(sim_dir);
    site = xasprintf("%s/site.yaml", dir);
    yaml = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n"
                     "clusters: [{kubeconfig: '%s'}]\n",
                     site_sim.kubeconfig);
    db = xasprintf("%s/state.db", dir);
    if (fs_write_atomic(site, yaml, strlen(yaml), 0600) < 0 || config_load(&cfg, site) < 0 ||
        store_open(&st, db) < 0) {
        fprintf(stderr, "%s\n", err_last());
        return 2;
    }
    RUN(added_cluster_is_used_by_name_and_server);
    RUN(refusals_change_nothing);
    RUN(wrong_key_refused_and_config_wins);
    RUN(removed_while_held_stays_usable_to_its_holder);
    store_close(st);
    config_dispose(&cfg);
    kubesim_proc_stop(&site_sim);
    kubesim_proc_stop(&lab_sim);
    free(site);
    free(yaml);
    free(db);
    free(dir);
    return TEST_END();
}
