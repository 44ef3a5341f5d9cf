/* The engine against kubesim and a real git repository: apply with
 * tracking, a copied object never pruned, a broken source never prunes. */
#include "engine/engine.h"
#include "engine/internal.h"

#include <pthread.h>
#include <signal.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/util.h"
#include "doc/doc.h"
#include "git/bundle.h"
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
    CHECK_CONTAINS(status.last_error, "stays deployed; nothing was pruned");
    CHECK(strlen(status.revision) == 40);
    store_app_status_dispose(&status);

    /* An unreachable source (the repository is gone) prunes nothing either. */
    cmd = xasprintf("mv '%s/repo' '%s/repo.away'", dir, dir);
    sh(cmd);
    free(cmd);
    CHECK(engine_reconcile(e, "app1") == ERR_NOTFOUND);
    CHECK_OK(kube_client_get(kube, "v1", "ConfigMap", "default", "one", &live));
    json_decref(live);
    CHECK_OK(store_app_status_get(st, "app1", &status));
    CHECK_CONTAINS(status.last_error, "/repo");
    CHECK_CONTAINS(status.last_error, "stays deployed; nothing was pruned");
    CHECK_STR(resource_status(&status, "ConfigMap", "one"), "Synced");
    store_app_status_dispose(&status);
    cmd = xasprintf("mv '%s/repo.away' '%s/repo'", dir, dir);
    sh(cmd);
    free(cmd);

    engine_free(e);
    kube_client_free(kube);
    store_close(st);
    config_dispose(&cfg);
    free(site);
    free(text);
    free(db);
}

struct runner {
    engine *e;
    volatile sig_atomic_t stop;
};

static void *run_engine(void *arg)
{
    struct runner *r = arg;
    engine_run(r->e, &r->stop);
    return NULL;
}

/* The revision recorded for app, into out (41 bytes); "" if none. */
static void recorded_revision(store *st, const char *app, char out[41])
{
    struct store_app_status status = {0};
    out[0] = '\0';
    if (store_app_status_get(st, app, &status) == 0)
        str_copy(out, status.revision, 41);
    store_app_status_dispose(&status);
}

/* Wait up to ms for app's recorded revision to differ from old; 1 if it did. */
static int revision_changes(store *st, const char *app, const char *old, int ms)
{
    char now[41];
    for (int waited = 0; waited <= ms; waited += 50) {
        recorded_revision(st, app, now);
        if (now[0] && strcmp(now, old) != 0)
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

TEST(refresh_reconciles_without_waiting_for_the_poll)
{
    struct config cfg;
    store *st = NULL;
    engine *e = NULL;
    struct runner r = {0};
    pthread_t th;
    char *site, *text, *db, *cmd, *url;
    char first[41], second[41];

    cmd = xasprintf("mkdir -p '%s/repo2' && git -C '%s/repo2' init -q -b main", dir, dir);
    sh(cmd);
    free(cmd);
    cmd = xasprintf("cd '%s/repo2' && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
                    "{name: r1}\\n' > cm.yaml && git add -A && git -c user.name=t -c "
                    "user.email=t@e commit -q -m c1",
                    dir);
    sh(cmd);
    free(cmd);
    site = xasprintf("%s/site2.yaml", dir);
    text = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\npollSeconds: 3600\n"
                     "pollJitterSeconds: 0\nclusters: [{kubeconfig: '%s'}]\n",
                     sim.kubeconfig);
    CHECK_OK(fs_write_atomic(site, text, strlen(text), 0600));
    CHECK_OK(config_load(&cfg, site));
    db = xasprintf("%s/state2.db", dir);
    CHECK_OK(store_open(&st, db));
    free(text);
    text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"app2\"},\"spec\":{\"source\":{\"repoURL\":"
                     "\"file://%s/repo2\",\"targetRevision\":\"main\"},\"destination\":{"
                     "\"server\":\"https://kubernetes.default.svc\",\"namespace\":\"default\"},"
                     "\"syncPolicy\":{\"automated\":{}}}}",
                     dir);
    CHECK_OK(store_app_put(st, "app2", text));
    CHECK_OK(engine_new(&e, st, &cfg, dir));
    r.e = e;
    CHECK(pthread_create(&th, NULL, run_engine, &r) == 0);
    CHECK(revision_changes(st, "app2", "", 5000));
    recorded_revision(st, "app2", first);

    cmd = xasprintf("cd '%s/repo2' && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
                    "{name: r2}\\n' > cm.yaml && git add -A && git -c user.name=t -c "
                    "user.email=t@e commit -q -m c2",
                    dir);
    sh(cmd);
    free(cmd);
    /* the poll is an hour away, and a push to another branch is not ours */
    engine_refresh(e, "file:///elsewhere/repo2", "main");
    url = xasprintf("FILE://%s/repo2.git/", dir);
    engine_refresh(e, url, "refs/heads/dev");
    CHECK(!revision_changes(st, "app2", first, 1200));
    /* a push to our branch, the URL spelt another way */
    engine_refresh(e, url, "refs/heads/main");
    CHECK(revision_changes(st, "app2", first, 1500));
    recorded_revision(st, "app2", second);

    cmd = xasprintf("cd '%s/repo2' && git -c user.name=t -c user.email=t@e commit -q "
                    "--allow-empty -m c3",
                    dir);
    sh(cmd);
    free(cmd);
    engine_refresh_app(e, "app2");
    CHECK(revision_changes(st, "app2", second, 1500));

    r.stop = 1;
    pthread_join(th, NULL);
    engine_free(e);
    store_close(st);
    config_dispose(&cfg);
    free(url);
    free(site);
    free(text);
    free(db);
}

/* An Application named name with spec.source source (JSON text) to the
 * default namespace, automated sync without selfHeal. New text. */
static char *app_json(const char *name, const char *source)
{
    return xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"source\":%s,"
                     "\"destination\":{\"server\":\"https://kubernetes.default.svc\","
                     "\"namespace\":\"default\"},\"syncPolicy\":{\"automated\":{}}}}",
                     name, source);
}

/* One engine over kubesim with its own site config (extra settings
 * lines in settings) and store, app_json stored as app, and a client to
 * look at the cluster. */
struct fixture {
    struct config cfg;
    store *st;
    engine *e;
    kube_client *kube;
};

static int fixture_open(struct fixture *f, const char *tag, const char *settings, const char *app,
                        const char *app_json)
{
    char *site = xasprintf("%s/site-%s.yaml", dir, tag), *db = xasprintf("%s/%s.db", dir, tag);
    char *text = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\n%s"
                           "clusters: [{kubeconfig: '%s'}]\n",
                           settings, sim.kubeconfig);
    struct kubeconfig kc;
    int rc;

    memset(f, 0, sizeof(*f));
    if ((rc = fs_write_atomic(site, text, strlen(text), 0600)) == 0 &&
        (rc = config_load(&f->cfg, site)) == 0 && (rc = store_open(&f->st, db)) == 0 &&
        (rc = store_app_put(f->st, app, app_json)) == 0 &&
        (rc = engine_new(&f->e, f->st, &f->cfg, dir)) == 0 &&
        (rc = kubeconfig_load(&kc, sim.kubeconfig, NULL)) == 0) {
        rc = kube_client_new(&f->kube, &kc);
        kubeconfig_dispose(&kc);
    }
    free(site);
    free(db);
    free(text);
    return rc;
}

/* fixture_open with an app_json of name and source (JSON text). */
static int fixture_app(struct fixture *f, const char *tag, const char *settings, const char *name,
                       const char *source)
{
    char *text = app_json(name, source);
    int rc = fixture_open(f, tag, settings, name, text);
    free(text);
    return rc;
}

static void fixture_close(struct fixture *f)
{
    engine_free(f->e);
    kube_client_free(f->kube);
    store_close(f->st);
    config_dispose(&f->cfg);
}

static const char fake_kustomize[] =
    "#!/bin/sh\necho 'apiVersion: v1'\necho 'kind: ConfigMap'\n"
    "echo 'metadata: {name: external}'\n"
    "echo \"data: {args: '$*', site: '$(grep -c north $2/kustomization.yaml)'}\"\n";

TEST(kustomize_source_through_the_engine)
{
    struct fixture f;
    json_t *live = NULL;
    char *text, *cmd, *settings, *src;

    cmd = xasprintf(
        "mkdir -p '%s/repo3/base' '%s/repo3/prod' && cd '%s/repo3' && git init -q -b main && "
        "printf 'resources: [cm.yaml]\\nconfigMapGenerator:\\n- name: gen\\n  literals: "
        "[a=1]\\n' > base/kustomization.yaml && printf 'apiVersion: v1\\nkind: ConfigMap\\n"
        "metadata: {name: plain}\\n' > base/cm.yaml && printf 'resources: [../base]\\n"
        "namePrefix: prod-\\n' > prod/kustomization.yaml && git add -A && git -c user.name=t "
        "-c user.email=t@e commit -q -m k",
        dir, dir, dir);
    sh(cmd);
    free(cmd);
    src = xasprintf(
        "{\"repoURL\":\"%s/"
        "repo3\",\"path\":\"prod\",\"kustomize\":{\"commonLabels\":{\"site\":\"north\"}}}",
        dir);
    text = app_json("app3", src);
    free(src);
    CHECK_OK(fixture_open(&f, "kustomize", "", "app3", text));
    CHECK_OK(engine_reconcile(f.e, "app3"));
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "prod-plain", &live));
    CHECK_STR(doc_get_str(live, "metadata.labels.site"), "north");
    json_decref(live);
    /* kustomize's own hash of {a: 1} */
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "prod-gen-h29d89cmmt", &live));
    json_decref(live);
    fixture_close(&f);

    /* kustomizeBinary: the engine builds with it instead (this one says
     * what it was asked to build and whether the override reached the
     * kustomization) */
    cmd = xasprintf("%s/fake-kustomize", dir);
    CHECK_OK(fs_write_atomic(cmd, fake_kustomize, strlen(fake_kustomize), 0700));
    free(cmd);
    settings = xasprintf("kustomizeBinary: '%s/fake-kustomize'\n", dir);
    CHECK_OK(fixture_open(&f, "kustomize-ext", settings, "app3", text));
    free(text);
    free(settings);
    CHECK_OK(engine_reconcile(f.e, "app3"));
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "external", &live));
    CHECK_STR(doc_get_str(live, "data.args"), "build src/prod");
    CHECK_STR(doc_get_str(live, "data.site"), "1");
    json_decref(live);
    fixture_close(&f);
}

/* A pass over an unchanged app asks the API server nothing: live objects
 * come from the watch cache, the compare verdict is remembered, and a
 * status-only change (a new resourceVersion) is judged client-side. A hand
 * edit of a field the app sets is still seen. */
TEST(steady_state_passes_make_no_requests)
{
    struct fixture f;
    struct engine_stats s0, s1;
    struct store_app_status st = {0};
    json_t *live = NULL, *patch;
    char *cmd, *src;
    int i;

    cmd = xasprintf("mkdir -p '%s/repo5' && cd '%s/repo5' && git init -q -b main && "
                    "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: steady}\\n"
                    "data: {a: \"1\"}\\n---\\napiVersion: v1\\nkind: Service\\nmetadata: {name: "
                    "steady}\\nspec:\\n  ports: [{port: 80}]\\n' > all.yaml && git add -A && "
                    "git -c user.name=t -c user.email=t@e commit -q -m s",
                    dir, dir);
    sh(cmd);
    free(cmd);
    src = xasprintf("{\"repoURL\":\"%s/repo5\",\"path\":\".\"}", dir);
    CHECK_OK(fixture_app(&f, "steady", "", "steady", src));
    free(src);
    CHECK_OK(engine_reconcile(f.e, "steady"));
    /* the watch cache lists the kinds in the background: a few passes */
    for (i = 0; i < 50; i++) {
        engine_stats(f.e, &s0);
        CHECK_OK(engine_reconcile(f.e, "steady"));
        engine_stats(f.e, &s1);
        if (s1.requests == s0.requests)
            break;
        usleep(100 * 1000);
    }
    CHECK(s1.requests == s0.requests);
    CHECK(s1.dry_runs == s0.dry_runs);
    CHECK(s1.applies == s0.applies);

    /* the server moves the Service on (an annotation only it sets): the
     * live object changes, what the app sets does not */
    patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "other-tool", "x");
    CHECK_OK(
        kube_client_patch(f.kube, "v1", "Service", "default", "steady", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    usleep(500 * 1000);
    engine_stats(f.e, &s0);
    CHECK_OK(engine_reconcile(f.e, "steady"));
    engine_stats(f.e, &s1);
    CHECK(s1.dry_runs == s0.dry_runs);
    CHECK_OK(store_app_status_get(f.st, "steady", &st));
    CHECK_STR(st.sync_status, "Synced");
    store_app_status_dispose(&st);

    /* a hand edit of a value the app sets is drift, found by a dry-run */
    patch = json_pack("{s:{s:s}}", "data", "a", "2");
    CHECK_OK(
        kube_client_patch(f.kube, "v1", "ConfigMap", "default", "steady", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    usleep(500 * 1000);
    CHECK_OK(engine_reconcile(f.e, "steady"));
    CHECK_OK(store_app_status_get(f.st, "steady", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    CHECK_STR(resource_status(&st, "ConfigMap", "steady"), "OutOfSync");
    CHECK_STR(resource_status(&st, "Service", "steady"), "Synced");
    store_app_status_dispose(&st);
    fixture_close(&f);
}

TEST(bundle_fed_mirror_deploys_without_network)
{
    struct fixture f;
    mirror *m = NULL;
    struct bundle_result res;
    json_t *live = NULL;
    char *cmd, *mirrors, *bundle, *src;
    const char *url = "https://git.example.com/site/config.git";

    cmd = xasprintf("mkdir -p '%s/repo4' && cd '%s/repo4' && git init -q -b main && printf "
                    "'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: from-usb}\\n' > "
                    "cm.yaml && git add -A && git -c user.name=t -c user.email=t@e commit -q -m u "
                    "&& git bundle create -q ../repo4.bundle --all",
                    dir, dir);
    sh(cmd);
    free(cmd);
    mirrors = xasprintf("%s/mirrors", dir);
    bundle = xasprintf("%s/repo4.bundle", dir);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_OK(bundle_import(m, bundle, 0, &res));
    bundle_result_dispose(&res);
    mirror_free(m);
    free(mirrors);
    free(bundle);
    src = xasprintf("{\"repoURL\":\"%s\"}", url);
    CHECK_OK(fixture_app(&f, "bundle", "", "app4", src));
    free(src);
    CHECK_OK(engine_reconcile(f.e, "app4"));
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "from-usb", &live));
    json_decref(live);
    fixture_close(&f);
}

static char *app5_json(const char *include)
{
    if (!include)
        return xasprintf(
            "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
            "\"metadata\":{\"name\":\"app5\"},\"spec\":{\"sources\":["
            "{\"repoURL\":\"%s/repo5a\",\"path\":\"apps\"},"
            "{\"repoURL\":\"%s/repo5a\",\"path\":\"apps\",\"targetRevision\":\"main\"}],"
            "\"destination\":{\"server\":\"https://kubernetes.default.svc\",\"namespace\":"
            "\"default\"},\"syncPolicy\":{\"automated\":{\"prune\":true}}}}",
            dir, dir);
    return xasprintf(
        "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
        "\"metadata\":{\"name\":\"app5\"},\"spec\":{\"sources\":["
        "{\"repoURL\":\"%s/repo5a\",\"path\":\"apps\"},"
        "{\"repoURL\":\"%s/repo5b\",\"ref\":\"other\"},"
        "{\"repoURL\":\"%s/repo5b\",\"path\":\"more\",\"directory\":{\"include\":\"%s\"}}],"
        "\"destination\":{\"server\":\"https://kubernetes.default.svc\",\"namespace\":"
        "\"default\"},\"syncPolicy\":{\"automated\":{\"prune\":true}}}}",
        dir, dir, dir, include);
}

TEST(multiple_sources_and_the_render_cache)
{
    struct fixture f;
    struct store_app_status status = {0};
    json_t *live = NULL;
    char *text, *cmd;

    cmd = xasprintf(
        "mkdir -p '%s/repo5a/apps' '%s/repo5b/more' && cd '%s/repo5a' && git init -q -b main && "
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: from-a}\\n' > apps/a.yaml && "
        "git add -A && git -c user.name=t -c user.email=t@e commit -q -m a && cd ../repo5b && "
        "git init -q -b main && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: "
        "from-b}\\n' > more/b.yaml && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
        "{name: skipped}\\n' > more/c.yaml && git add -A && git -c user.name=t -c "
        "user.email=t@e commit -q -m b",
        dir, dir, dir);
    sh(cmd);
    free(cmd);
    /* the include glob is the only difference between the two manifests */
    text = app5_json("b.yaml");
    CHECK_OK(fixture_open(&f, "sources", "renderCacheEntries: 2\n", "app5", text));
    free(text);
    CHECK(f.cfg.render_cache_entries == 2);
    CHECK_OK(engine_reconcile(f.e, "app5"));
    CHECK(engine_render_count(f.e) == 1);
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "from-a", &live));
    json_decref(live);
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "from-b", &live));
    json_decref(live);
    live = NULL;
    CHECK_ERR(kube_client_get(f.kube, "v1", "ConfigMap", "default", "skipped", &live),
              ERR_NOTFOUND);
    /* the revision names the commit of every source */
    CHECK_OK(store_app_status_get(f.st, "app5", &status));
    CHECK(strlen(status.revision) == 3 * 40 + 2);
    CHECK_STR(status.sync_status, "Synced");
    store_app_status_dispose(&status);

    /* unchanged: the second pass takes the objects from the cache */
    CHECK_OK(engine_reconcile(f.e, "app5"));
    CHECK(engine_render_count(f.e) == 1);
    CHECK_OK(store_app_status_get(f.st, "app5", &status));
    CHECK_STR(status.sync_status, "Synced");
    CHECK(status.n_resources == 2);
    store_app_status_dispose(&status);

    /* a new commit in one source renders again */
    cmd = xasprintf("cd '%s/repo5b' && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
                    "{name: from-b}\\ndata: {k: v2}\\n' > more/b.yaml && git -c user.name=t -c "
                    "user.email=t@e commit -q -am b2",
                    dir);
    sh(cmd);
    free(cmd);
    CHECK_OK(engine_reconcile(f.e, "app5"));
    CHECK(engine_render_count(f.e) == 2);
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "from-b", &live));
    CHECK_STR(doc_get_str(live, "data.k"), "v2");
    json_decref(live);

    /* so does a change of options: now c.yaml is included too */
    text = app5_json("{b,c}.yaml");
    CHECK_OK(store_app_put(f.st, "app5", text));
    free(text);
    CHECK_OK(engine_reconcile(f.e, "app5"));
    CHECK(engine_render_count(f.e) == 3);
    /* (at the same commits, without selfHeal, it is reported, not applied) */
    CHECK_OK(store_app_status_get(f.st, "app5", &status));
    CHECK(status.n_resources == 3);
    CHECK_STR(status.sync_status, "OutOfSync");
    store_app_status_dispose(&status);
    CHECK_OK(engine_reconcile(f.e, "app5"));
    CHECK(engine_render_count(f.e) == 3);

    /* an object rendered by two sources: an error naming both, nothing pruned */
    text = app5_json(NULL);
    CHECK_OK(store_app_put(f.st, "app5", text));
    free(text);
    CHECK_ERR(engine_reconcile(f.e, "app5"), ERR_INVALID);
    CHECK_OK(store_app_status_get(f.st, "app5", &status));
    CHECK_CONTAINS(status.last_error,
                   "ConfigMap default/from-a is rendered by both spec.sources[0] and "
                   "spec.sources[1]");
    store_app_status_dispose(&status);
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "from-b", &live));
    json_decref(live);

    fixture_close(&f);
}

/* ---- sync operations: waves, hooks, failure, restart ---- */

static const char waves_yaml[] =
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: P-migrate-\n  annotations:\n"
    "    argocd.argoproj.io/hook: PreSync\n    HOOK_DELETE\n"
    "    kubesim.edgecd.io/ready-delay-ms: '300'\nspec:\n  template:\n    spec:\n"
    "      restartPolicy: Never\n      containers: [{name: m, image: MIGRATE_IMAGE}]\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: P-failed-marker\n  annotations:\n"
    "    argocd.argoproj.io/hook: SyncFail\n---\n"
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: P-notify\n  annotations:\n"
    "    argocd.argoproj.io/hook: PostSync\n    kubesim.edgecd.io/ready-delay-ms: '100'\n"
    "spec:\n  template:\n    spec:\n      restartPolicy: Never\n"
    "      containers: [{name: n, image: busybox}]\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: P-first\n  annotations:\n"
    "    argocd.argoproj.io/sync-wave: '-1'\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: P-web\n  annotations:\n"
    "    kubesim.edgecd.io/ready-delay-ms: '400'\nspec:\n  replicas: 1\n"
    "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
    "    spec:\n      containers: [{name: web, image: nginx}]\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: P-after\n  annotations:\n"
    "    argocd.argoproj.io/sync-wave: '1'\n";

/* A repository folder dir/NAME holding waves_yaml with the migrate hook's
 * image and delete policy line filled in, and its object names starting
 * with NAME- (tests share one cluster), committed. */
static void waves_repo(const char *name, const char *image, const char *delete_policy)
{
    char *path = xasprintf("%s/%s", dir, name), *file = xasprintf("%s/%s/all.yaml", dir, name);
    char *cmd;
    struct buf text = BUF_INIT;
    const char *p = waves_yaml;
    while (*p) {
        if (!strncmp(p, "MIGRATE_IMAGE", 13)) {
            buf_puts(&text, image);
            p += 13;
        } else if (!strncmp(p, "HOOK_DELETE", 11)) {
            buf_puts(&text, delete_policy);
            p += 11;
        } else if (!strncmp(p, "P-", 2)) {
            buf_printf(&text, "%s-", name);
            p += 2;
        } else {
            buf_put(&text, p++, 1);
        }
    }
    fs_mkdir_p(path, 0755);
    if (fs_write_atomic(file, buf_cstr(&text), text.len, 0644) < 0)
        exit(2);
    cmd = xasprintf("cd '%s' && git init -q -b main && git add -A && git -c user.name=t -c "
                    "user.email=t@e commit -q -m w",
                    path);
    sh(cmd);
    free(cmd);
    buf_dispose(&text);
    free(file);
    free(path);
}

static int exists(struct fixture *f, const char *api, const char *kind, const char *name)
{
    json_t *live = NULL;
    int rc = kube_client_get(f->kube, api, kind, "default", name, &live);
    json_decref(live);
    err_clear();
    return rc == 0;
}

/* Jobs in default whose name starts with prefix. */
static size_t jobs_named(struct fixture *f, const char *prefix)
{
    json_t *items = NULL, *it;
    size_t i, n = 0;
    if (kube_client_list(f->kube, "batch/v1", "Job", "default", NULL, &items) < 0)
        return 0;
    json_array_foreach(items, i, it)
    {
        if (!strncmp(doc_get_str(it, "metadata.name"), prefix, strlen(prefix)))
            n++;
    }
    json_decref(items);
    return n;
}

static char *op_phase(struct fixture *f, const char *app, long long *id)
{
    struct store_operation op = {0};
    char *phase;
    if (store_operation_get(f->st, app, 0, &op) < 0) {
        err_clear();
        return xstrdup("");
    }
    phase = xstrdup(op.phase);
    if (id)
        *id = op.id;
    store_operation_dispose(&op);
    return phase;
}

/* PreSync hook, then wave -1, wave 0 (a Deployment that takes a while),
 * wave 1 only once it is healthy, then the PostSync hook; the PreSync
 * Job is deleted when it succeeded (HookSucceeded). */
TEST(waves_and_hooks_run_in_order)
{
    struct fixture f;
    struct store_app_status st = {0};
    char *src, *phase = NULL;
    int i;

    waves_repo("repo6", "busybox", "argocd.argoproj.io/hook-delete-policy: HookSucceeded");
    src = xasprintf("{\"repoURL\":\"%s/repo6\"}", dir);
    CHECK_OK(fixture_app(&f, "waves", "syncWaveDelaySeconds: 0\n", "waves", src));
    free(src);
    CHECK_OK(engine_reconcile(f.e, "waves"));
    /* the PreSync hook runs first: nothing else yet */
    CHECK(jobs_named(&f, "repo6-migrate-") == 1);
    CHECK(!exists(&f, "v1", "ConfigMap", "repo6-first"));
    for (i = 0; i < 300; i++) {
        free(phase);
        phase = op_phase(&f, "waves", NULL);
        if (strcmp(phase, "Running") != 0)
            break;
        if (exists(&f, "v1", "ConfigMap", "repo6-after")) {
            json_t *web = NULL;
            /* wave 1 waited for wave 0 to be healthy */
            CHECK_OK(
                kube_client_get(f.kube, "apps/v1", "Deployment", "default", "repo6-web", &web));
            CHECK(json_integer_value(doc_get(web, "status.availableReplicas")) >= 1);
            json_decref(web);
        }
        usleep(100 * 1000);
        CHECK_OK(engine_reconcile(f.e, "waves"));
    }
    CHECK_STR(phase, "Succeeded");
    CHECK(exists(&f, "v1", "ConfigMap", "repo6-after"));
    CHECK(exists(&f, "batch/v1", "Job", "repo6-notify"));         /* PostSync ran */
    CHECK(!exists(&f, "v1", "ConfigMap", "repo6-failed-marker")); /* SyncFail did not */
    CHECK(jobs_named(&f, "repo6-migrate-") == 0);                 /* HookSucceeded */
    CHECK_OK(engine_reconcile(f.e, "waves"));
    CHECK_OK(store_app_status_get(f.st, "waves", &st));
    CHECK_STR(st.sync_status, "Synced");
    CHECK_STR(st.health, "Healthy");
    store_app_status_dispose(&st);
    free(phase);
    fixture_close(&f);
}

/* A PreSync hook that fails: nothing of the waves is applied, the
 * SyncFail hook runs, the operation ends Failed, and the same revision
 * is not tried again by automated sync. */
TEST(failed_hook_runs_syncfail_and_is_not_retried)
{
    struct fixture f;
    char *src, *phase = NULL;
    long long id = 0, id2 = 0;
    int i;

    waves_repo("repo7", "busybox:fail", "argocd.argoproj.io/hook-delete-policy: HookSucceeded");
    src = xasprintf("{\"repoURL\":\"%s/repo7\"}", dir);
    CHECK_OK(fixture_app(&f, "failing", "syncWaveDelaySeconds: 0\n", "failing", src));
    free(src);
    for (i = 0; i < 100; i++) {
        CHECK_OK(engine_reconcile(f.e, "failing"));
        free(phase);
        phase = op_phase(&f, "failing", &id);
        if (strcmp(phase, "Running") != 0)
            break;
        usleep(100 * 1000);
    }
    CHECK_STR(phase, "Failed");
    CHECK(exists(&f, "v1", "ConfigMap", "repo7-failed-marker"));
    CHECK(!exists(&f, "v1", "ConfigMap", "repo7-first"));
    CHECK(jobs_named(&f, "repo7-migrate-") == 1); /* kept: HookSucceeded only */
    CHECK_OK(engine_reconcile(f.e, "failing"));
    free(phase);
    phase = op_phase(&f, "failing", &id2);
    CHECK(id2 == id);
    free(phase);
    fixture_close(&f);
}

/* The process stops while a PreSync hook runs; a new engine on the same
 * store resumes the operation without creating the hook again. */
TEST(operation_resumes_after_a_restart)
{
    struct fixture f;
    char *src, *phase = NULL;
    int i;

    waves_repo("repo8", "busybox", "argocd.argoproj.io/sync-options: Validate=false");
    src = xasprintf("{\"repoURL\":\"%s/repo8\"}", dir);
    CHECK_OK(fixture_app(&f, "resume", "syncWaveDelaySeconds: 0\n", "resume", src));
    free(src);
    CHECK_OK(engine_reconcile(f.e, "resume"));
    free(phase);
    phase = op_phase(&f, "resume", NULL);
    CHECK_STR(phase, "Running");
    CHECK(jobs_named(&f, "repo8-migrate-") == 1);
    /* a new engine over the same store and cluster */
    engine_free(f.e);
    CHECK_OK(engine_new(&f.e, f.st, &f.cfg, dir));
    for (i = 0; i < 300; i++) {
        CHECK_OK(engine_reconcile(f.e, "resume"));
        free(phase);
        phase = op_phase(&f, "resume", NULL);
        if (strcmp(phase, "Running") != 0)
            break;
        usleep(100 * 1000);
    }
    CHECK_STR(phase, "Succeeded");
    CHECK(jobs_named(&f, "repo8-migrate-") == 1); /* not made twice */
    CHECK(exists(&f, "v1", "ConfigMap", "repo8-after"));
    free(phase);
    fixture_close(&f);
}

/* ---- AppProjects ---- */

static char *last_error_of(struct fixture *f, const char *app)
{
    struct store_app_status st = {0};
    char *msg;
    if (store_app_status_get(f->st, app, &st) < 0) {
        err_clear();
        return xstrdup("");
    }
    msg = xstrdup(st.last_error[0] ? st.last_error : st.message);
    store_app_status_dispose(&st);
    return msg;
}

/* A project refusing the repository or the destination stops the app
 * before anything is applied; a refused kind is left out of the sync; a
 * closed sync window holds automated sync back; an unknown project is an
 * error; App of Apps registers a rendered AppProject its child uses. */
TEST(projects_are_enforced)
{
    struct fixture f;
    char *src, *msg, *cmd;
    struct store_app_status st = {0};

    cmd = xasprintf("mkdir -p '%s/repo9/app' '%s/repo9/root' && cd '%s/repo9' && git init -q -b "
                    "main && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: p-cm}\\n"
                    "---\\napiVersion: v1\\nkind: Secret\\nmetadata: {name: p-secret}\\n"
                    "stringData: {a: b}\\n' > app/all.yaml && printf 'apiVersion: "
                    "argoproj.io/v1alpha1\\nkind: AppProject\\nmetadata: {name: rendered}\\n"
                    "spec:\\n  sourceRepos: [\"*\"]\\n  destinations: [{server: \"*\", namespace: "
                    "\"*\"}]\\n  namespaceResourceBlacklist: [{group: \"\", kind: Secret}]\\n---\\n"
                    "apiVersion: argoproj.io/v1alpha1\\nkind: Application\\nmetadata: {name: "
                    "p-child}\\nspec:\\n  project: rendered\\n  source: {repoURL: \"%s/repo9\", "
                    "path: app}\\n  destination: {server: \"https://kubernetes.default.svc\", "
                    "namespace: default}\\n  syncPolicy: {automated: {}}\\n' > root/apps.yaml && "
                    "git add -A && git -c user.name=t -c user.email=t@e commit -q -m p",
                    dir, dir, dir, dir);
    sh(cmd);
    free(cmd);
    src = xasprintf("{\"repoURL\":\"%s/repo9\",\"path\":\"app\"}", dir);
    CHECK_OK(fixture_app(&f, "projects", "", "p-app", src));
    free(src);

    /* no such project */
    CHECK_OK(store_app_put(f.st, "p-app",
                           "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":"
                           "\"Application\",\"metadata\":{\"name\":\"p-app\"},"
                           "\"spec\":{\"project\":\"nowhere\",\"source\":"
                           "{\"repoURL\":\"/nonexistent\"},\"destination\":{"
                           "\"server\":\"https://kubernetes.default.svc\"}}}"));
    CHECK(engine_reconcile(f.e, "p-app") == ERR_NOTFOUND);
    msg = last_error_of(&f, "p-app");
    CHECK_CONTAINS(msg, "project nowhere does not exist");
    free(msg);

    /* a project that allows another repository only */
    CHECK_OK(store_project_put(f.st, "shop",
                               "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"AppProject\","
                               "\"metadata\":{\"name\":\"shop\"},\"spec\":{\"sourceRepos\":"
                               "[\"https://git.lan/shop/*\"],\"destinations\":[{\"server\":"
                               "\"*\",\"namespace\":\"*\"}]}}"));
    src = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                    "\"metadata\":{\"name\":\"p-app\"},\"spec\":{\"project\":\"shop\",\"source\":"
                    "{\"repoURL\":\"%s/repo9\",\"path\":\"app\"},\"destination\":{\"server\":"
                    "\"https://kubernetes.default.svc\",\"namespace\":\"default\"},"
                    "\"syncPolicy\":{\"automated\":{}}}}",
                    dir);
    CHECK_OK(store_app_put(f.st, "p-app", src));
    CHECK(engine_reconcile(f.e, "p-app") == ERR_AUTH);
    msg = last_error_of(&f, "p-app");
    CHECK_CONTAINS(msg, "not permitted in project shop");
    free(msg);
    CHECK(!exists(&f, "v1", "ConfigMap", "p-cm"));

    /* the same repository allowed, a deny window open now: not synced */
    CHECK_OK(store_project_put(f.st, "shop",
                               "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"AppProject\","
                               "\"metadata\":{\"name\":\"shop\"},\"spec\":{\"sourceRepos\":"
                               "[\"*\"],\"destinations\":[{\"server\":\"*\",\"namespace\":\"*\"}],"
                               "\"syncWindows\":[{\"kind\":\"deny\",\"schedule\":\"* * * * *\","
                               "\"duration\":\"1h\",\"applications\":[\"*\"]}]}}"));
    CHECK_OK(engine_reconcile(f.e, "p-app"));
    msg = last_error_of(&f, "p-app");
    CHECK_CONTAINS(msg, "sync denied");
    free(msg);
    CHECK(!exists(&f, "v1", "ConfigMap", "p-cm"));
    free(src);

    /* App of Apps: a rendered AppProject, used by the child it renders:
     * its Secret is refused, its ConfigMap synced */
    src = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                    "\"metadata\":{\"name\":\"p-root\"},\"spec\":{\"source\":{\"repoURL\":"
                    "\"%s/repo9\",\"path\":\"root\"},\"destination\":{\"server\":"
                    "\"https://kubernetes.default.svc\",\"namespace\":\"default\"},"
                    "\"syncPolicy\":{\"automated\":{}}}}",
                    dir);
    CHECK_OK(store_app_put(f.st, "p-root", src));
    free(src);
    CHECK_OK(engine_reconcile(f.e, "p-root"));
    CHECK_OK(engine_reconcile(f.e, "p-child"));
    CHECK(exists(&f, "v1", "ConfigMap", "p-cm"));
    CHECK(!exists(&f, "v1", "Secret", "p-secret"));
    CHECK_OK(store_app_status_get(f.st, "p-child", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    CHECK_STR(resource_status(&st, "ConfigMap", "p-cm"), "Synced");
    CHECK_STR(resource_status(&st, "Secret", "p-secret"), "OutOfSync");
    store_app_status_dispose(&st);
    fixture_close(&f);
}

/* spec.ignoreDifferences: a hand edit of an ignored field is no drift, of
 * another field it is; with RespectIgnoreDifferences=true a sync of a new
 * commit keeps the live value of the ignored field. An extraneous object
 * marked IgnoreExtraneous does not make the app OutOfSync. */
TEST(ignore_differences_in_compare_and_sync)
{
    struct fixture f;
    struct store_app_status st = {0};
    json_t *live = NULL, *patch;
    char *cmd, *src;

    cmd = xasprintf("mkdir -p '%s/repo10' && cd '%s/repo10' && git init -q -b main && "
                    "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: ig}\\n"
                    "data: {a: \"1\", b: \"git\"}\\n---\\napiVersion: v1\\nkind: ConfigMap\\n"
                    "metadata: {name: ig-extra}\\n' > all.yaml && git add -A && git -c "
                    "user.name=t -c user.email=t@e commit -q -m i",
                    dir, dir);
    sh(cmd);
    free(cmd);
    src = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                    "\"metadata\":{\"name\":\"ig\"},\"spec\":{\"source\":{\"repoURL\":"
                    "\"%s/repo10\"},\"destination\":{\"server\":"
                    "\"https://kubernetes.default.svc\",\"namespace\":\"default\"},"
                    "\"ignoreDifferences\":[{\"kind\":\"ConfigMap\",\"name\":\"ig\","
                    "\"jsonPointers\":[\"/data/b\"]}],\"syncPolicy\":{\"automated\":{},"
                    "\"syncOptions\":[\"RespectIgnoreDifferences=true\"]}}}",
                    dir);
    CHECK_OK(fixture_open(&f, "ignore", "", "ig", src));
    free(src);
    CHECK_OK(engine_reconcile(f.e, "ig"));

    /* b by hand: ignored */
    patch = json_pack("{s:{s:s}}", "data", "b", "hand");
    CHECK_OK(kube_client_patch(f.kube, "v1", "ConfigMap", "default", "ig", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    usleep(300 * 1000);
    CHECK_OK(engine_reconcile(f.e, "ig"));
    CHECK_OK(store_app_status_get(f.st, "ig", &st));
    CHECK_STR(st.sync_status, "Synced");
    store_app_status_dispose(&st);

    /* a new commit changes a: synced, b keeps its live value; the other
     * ConfigMap leaves Git (prune off) but says IgnoreExtraneous */
    patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
                      "argocd.argoproj.io/compare-options", "IgnoreExtraneous");
    CHECK_OK(
        kube_client_patch(f.kube, "v1", "ConfigMap", "default", "ig-extra", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    cmd = xasprintf("cd '%s/repo10' && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
                    "{name: ig}\\ndata: {a: \"2\", b: \"git2\"}\\n' > all.yaml && git -c "
                    "user.name=t -c user.email=t@e commit -q -am a2",
                    dir);
    sh(cmd);
    free(cmd);
    CHECK_OK(engine_reconcile(f.e, "ig"));
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "ig", &live));
    CHECK_STR(doc_get_str(live, "data.a"), "2");
    CHECK_STR(doc_get_str(live, "data.b"), "hand");
    json_decref(live);
    CHECK(exists(&f, "v1", "ConfigMap", "ig-extra"));
    CHECK_OK(engine_reconcile(f.e, "ig"));
    CHECK_OK(store_app_status_get(f.st, "ig", &st));
    CHECK_STR(st.sync_status, "Synced");
    CHECK_STR(resource_status(&st, "ConfigMap", "ig-extra"), "OutOfSync");
    store_app_status_dispose(&st);

    /* a by hand: drift */
    patch = json_pack("{s:{s:s}}", "data", "a", "hand");
    CHECK_OK(kube_client_patch(f.kube, "v1", "ConfigMap", "default", "ig", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    usleep(300 * 1000);
    CHECK_OK(engine_reconcile(f.e, "ig"));
    CHECK_OK(store_app_status_get(f.st, "ig", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    CHECK_STR(resource_status(&st, "ConfigMap", "ig"), "OutOfSync");
    store_app_status_dispose(&st);
    fixture_close(&f);
}

/* edgecd.io/depends-on: b syncs only once a is Synced and Healthy (a's
 * Deployment takes a while); a cycle is an error naming it. */
TEST(depends_on_orders_apps_and_refuses_cycles)
{
    struct fixture f;
    struct store_app_status st = {0};
    char *cmd, *text;
    int i, b_first = 0;

    cmd = xasprintf(
        "mkdir -p '%s/repo11/a' '%s/repo11/b' && cd '%s/repo11' && git init -q -b main && "
        "printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: dep-a\\n  "
        "annotations: {kubesim.edgecd.io/ready-delay-ms: \"800\"}\\nspec:\\n  replicas: 1\\n  "
        "selector: {matchLabels: {app: dep-a}}\\n  template:\\n    metadata: {labels: {app: "
        "dep-a}}\\n    spec: {containers: [{name: a, image: nginx}]}\\n' > a/all.yaml && printf "
        "'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: dep-b}\\n' > b/all.yaml && git add "
        "-A && git -c user.name=t -c user.email=t@e commit -q -m d",
        dir, dir, dir);
    sh(cmd);
    free(cmd);
    text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"dep-a\"},\"spec\":{\"source\":{\"repoURL\":"
                     "\"%s/repo11\",\"path\":\"a\"},\"destination\":{\"server\":"
                     "\"https://kubernetes.default.svc\",\"namespace\":\"default\"},"
                     "\"syncPolicy\":{\"automated\":{}}}}",
                     dir);
    CHECK_OK(fixture_open(&f, "depends", "", "dep-a", text));
    free(text);
    text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"dep-b\",\"annotations\":{\"edgecd.io/depends-on\":"
                     "\"dep-a\"}},\"spec\":{\"source\":{\"repoURL\":\"%s/repo11\",\"path\":\"b\"},"
                     "\"destination\":{\"server\":\"https://kubernetes.default.svc\","
                     "\"namespace\":\"default\"},\"syncPolicy\":{\"automated\":{}}}}",
                     dir);
    CHECK_OK(store_app_put(f.st, "dep-b", text));
    free(text);
    CHECK_OK(engine_reconcile(f.e, "dep-b"));
    CHECK(!exists(&f, "v1", "ConfigMap", "dep-b"));
    CHECK_OK(store_app_status_get(f.st, "dep-b", &st));
    CHECK_CONTAINS(st.message, "waiting for dep-a");
    store_app_status_dispose(&st);
    for (i = 0; i < 100 && !exists(&f, "v1", "ConfigMap", "dep-b"); i++) {
        CHECK_OK(engine_reconcile(f.e, "dep-a"));
        CHECK_OK(engine_reconcile(f.e, "dep-b"));
        if (exists(&f, "v1", "ConfigMap", "dep-b")) {
            /* b went ahead: a must be Healthy by then */
            CHECK_OK(store_app_status_get(f.st, "dep-a", &st));
            b_first = strcmp(st.health, "Healthy") != 0;
            store_app_status_dispose(&st);
        }
        usleep(100 * 1000);
    }
    CHECK(exists(&f, "v1", "ConfigMap", "dep-b"));
    CHECK(!b_first);

    /* c -> d -> c */
    CHECK_OK(store_app_put(f.st, "dep-d",
                           "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                           "\"metadata\":{\"name\":\"dep-d\",\"annotations\":{\"edgecd.io/"
                           "depends-on\":\"dep-a, dep-c\"}},\"spec\":{\"source\":{\"repoURL\":"
                           "\"/nonexistent\"},\"destination\":{\"server\":"
                           "\"https://kubernetes.default.svc\"}}}"));
    {
        char *src = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                              "\"metadata\":{\"name\":\"dep-c\",\"annotations\":{\"edgecd.io/"
                              "depends-on\":\"dep-d\"}},\"spec\":{\"source\":{\"repoURL\":"
                              "\"%s/repo11\",\"path\":\"b\"},\"destination\":{\"server\":"
                              "\"https://kubernetes.default.svc\",\"namespace\":\"other\"},"
                              "\"syncPolicy\":{\"automated\":{}}}}",
                              dir);
        CHECK_OK(store_app_put(f.st, "dep-c", src));
        free(src);
    }
    CHECK(engine_reconcile(f.e, "dep-c") == ERR_INVALID);
    CHECK_OK(store_app_status_get(f.st, "dep-c", &st));
    CHECK_CONTAINS(st.last_error, "cycle: dep-c -> dep-d -> dep-c");
    store_app_status_dispose(&st);
    fixture_close(&f);
}

/* syncPolicy.retry: a failing PreSync hook is tried limit + 1 times, each
 * attempt with a hook of its own, with the backoff between, then Failed. */
TEST(retry_with_backoff_then_fail)
{
    struct fixture f;
    struct store_event *ev = NULL;
    size_t nev = 0, retries = 0, i;
    char *text, *phase = NULL;
    int64_t start = time_mono_ms();

    waves_repo("repo12", "busybox:fail", "argocd.argoproj.io/hook-delete-policy: HookSucceeded");
    text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"retry\"},\"spec\":{\"source\":{\"repoURL\":"
                     "\"%s/repo12\"},\"destination\":{\"server\":"
                     "\"https://kubernetes.default.svc\",\"namespace\":\"default\"},"
                     "\"syncPolicy\":{\"automated\":{},\"retry\":{\"limit\":2,\"backoff\":"
                     "{\"duration\":\"1s\",\"factor\":2,\"maxDuration\":\"1500ms\"}}}}}",
                     dir);
    CHECK_OK(fixture_open(&f, "retry", "syncWaveDelaySeconds: 0\n", "retry", text));
    free(text);
    for (i = 0; i < 300; i++) {
        CHECK_OK(engine_reconcile(f.e, "retry"));
        free(phase);
        phase = op_phase(&f, "retry", NULL);
        if (strcmp(phase, "Running") != 0)
            break;
        usleep(100 * 1000);
    }
    CHECK_STR(phase, "Failed");
    CHECK(jobs_named(&f, "repo12-migrate-") == 3);
    /* two waits: 1 s, then 1.5 s (2 s capped) */
    CHECK(time_mono_ms() - start >= 2500);
    CHECK_OK(store_event_list(f.st, "retry", 0, &ev, &nev));
    for (i = 0; i < nev; i++)
        retries += !strcmp(ev[i].reason, "SyncRetry");
    CHECK(retries == 2);
    store_events_free(ev, nev);
    CHECK(!exists(&f, "v1", "ConfigMap", "repo12-first"));
    free(phase);
    fixture_close(&f);
}

/* ---- ApplicationSets ---- */

static const struct store_resource *resource_of(const struct store_app_status *st, const char *kind,
                                                const char *name)
{
    for (size_t i = 0; i < st->n_resources; i++)
        if (!strcmp(st->resources[i].kind, kind) && !strcmp(st->resources[i].name, name))
            return &st->resources[i];
    return NULL;
}

/* repo13/root/appset.yaml: an ApplicationSet over the folders apps/(any) of
 * repo13 (go: "true" or "false"; name: its template's metadata.name),
 * committed. */
static void appset_commit(const char *go, const char *name)
{
    char *path = xasprintf("%s/repo13/root/appset.yaml", dir), *cmd;
    char *text = xasprintf(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: as-set}\n"
        "spec:\n  goTemplate: %s\n  generators:\n  - git:\n      repoURL: '%s/repo13'\n"
        "      revision: main\n      directories: [{path: 'apps/*'}]\n"
        "  template:\n    metadata:\n      name: '%s'\n"
        "      finalizers: [resources-finalizer.argocd.argoproj.io]\n"
        "    spec:\n      source: {repoURL: '%s/repo13', targetRevision: main, path: "
        "'{{%spath%s}}'}\n"
        "      destination: {server: 'https://kubernetes.default.svc', namespace: default}\n"
        "      syncPolicy: {automated: {prune: true}}\n",
        go, dir, name, dir, !strcmp(go, "true") ? "." : "", !strcmp(go, "true") ? ".path" : "");
    if (fs_write_atomic(path, text, strlen(text), 0644) < 0)
        exit(2);
    cmd = xasprintf("cd '%s/repo13' && git add -A && git -c user.name=t -c user.email=t@e "
                    "commit -q -m c",
                    dir);
    sh(cmd);
    free(cmd);
    free(text);
    free(path);
}

static int stored_app(struct fixture *f, const char *name, json_t **out)
{
    char *text = NULL;
    int rc = store_app_get(f->st, name, &text);
    *out = NULL;
    if (rc == 0)
        rc = doc_parse_json(out, text, strlen(text), name, NULL);
    free(text);
    err_clear();
    return rc;
}

static void repo13(const char *shell)
{
    char *cmd = xasprintf("cd '%s/repo13' && %s && git add -A && git -c user.name=t -c "
                          "user.email=t@e commit -q -m c",
                          dir, shell);
    sh(cmd);
    free(cmd);
}

/* A root app renders an ApplicationSet with a git directories generator:
 * it registers with its generated apps, whose resources deploy; a name
 * another owner holds is reported, not taken; a folder removed from Git
 * deletes its app with its resources (finalizer); a broken template
 * changes nothing and shows in the root; the appset removed from Git
 * takes its apps and their resources with it. */
TEST(applicationsets_generate_register_and_prune)
{
    struct fixture f;
    struct store_app_status st = {0};
    const struct store_resource *r;
    json_t *app = NULL;
    char *cmd, *root, *status = NULL;

    cmd = xasprintf("mkdir -p '%s/repo13/root' && cd '%s/repo13' && git init -q -b main", dir, dir);
    sh(cmd);
    free(cmd);
    repo13("mkdir -p apps/as-one apps/as-two && printf 'apiVersion: v1\\nkind: ConfigMap\\n"
           "metadata: {name: as-one}\\n' > apps/as-one/cm.yaml && printf 'apiVersion: v1\\n"
           "kind: ConfigMap\\nmetadata: {name: as-two}\\n' > apps/as-two/cm.yaml");
    appset_commit("false", "{{path.basename}}");
    root = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"as-root\"},\"spec\":{\"source\":{\"repoURL\":"
                     "\"%s/repo13\",\"targetRevision\":\"main\",\"path\":\"root\"},"
                     "\"destination\":{\"server\":\"https://kubernetes.default.svc\","
                     "\"namespace\":\"default\"},\"syncPolicy\":{\"automated\":{\"prune\":"
                     "true}}}}",
                     dir);
    CHECK_OK(fixture_open(&f, "appsets", "", "as-root", root));
    free(root);

    /* registered and evaluated on the root's pass; the apps deploy */
    CHECK_OK(engine_reconcile(f.e, "as-root"));
    CHECK_OK(store_app_status_get(f.st, "as-root", &st));
    CHECK_STR(st.sync_status, "Synced");
    r = resource_of(&st, "ApplicationSet", "as-set");
    CHECK(r != NULL);
    CHECK_STR(r->status, "Synced");
    CHECK_STR(r->health, "Healthy");
    CHECK_STR(r->message, "generates 2 application(s)");
    store_app_status_dispose(&st);
    CHECK_OK(stored_app(&f, "as-one", &app));
    CHECK_STR(doc_get_str(app, "metadata.annotations." ENGINE_ANNOTATION_APPSET), "as-set");
    CHECK_STR(doc_get_str(app, "spec.source.path"), "apps/as-one");
    json_decref(app);
    CHECK_OK(engine_reconcile(f.e, "as-one"));
    CHECK_OK(engine_reconcile(f.e, "as-two"));
    CHECK(exists(&f, "v1", "ConfigMap", "as-one"));
    CHECK(exists(&f, "v1", "ConfigMap", "as-two"));

    /* a name the site config holds: reported, not overwritten */
    CHECK_OK(store_app_put(f.st, "as-three",
                           "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                           "\"metadata\":{\"name\":\"as-three\"},\"spec\":{\"source\":{"
                           "\"repoURL\":\"/elsewhere\"},\"destination\":{\"server\":"
                           "\"https://kubernetes.default.svc\"}}}"));
    repo13("mkdir -p apps/as-three && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
           "{name: as-three}\\n' > apps/as-three/cm.yaml");
    CHECK_OK(engine_reconcile(f.e, "as-root"));
    CHECK_OK(stored_app(&f, "as-three", &app));
    CHECK_STR(doc_get_str(app, "spec.source.repoURL"), "/elsewhere");
    json_decref(app);
    CHECK_OK(store_appset_status_get(f.st, "as-set", &status, NULL));
    CHECK_CONTAINS(status, "application as-three is already registered by the site config; not "
                           "overwritten");
    free(status);
    status = NULL;

    /* a folder removed from Git: its app goes, with its resources */
    repo13("git rm -rq apps/as-two");
    CHECK_OK(engine_reconcile(f.e, "as-root"));
    CHECK_ERR(stored_app(&f, "as-two", &app), ERR_NOTFOUND);
    CHECK(!exists(&f, "v1", "ConfigMap", "as-two"));
    CHECK(exists(&f, "v1", "ConfigMap", "as-one"));

    /* a broken template changes nothing; the error shows in the root */
    appset_commit("true", "{{ .path.basename | nope }}");
    CHECK_OK(engine_reconcile(f.e, "as-root"));
    CHECK_OK(store_app_status_get(f.st, "as-root", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    r = resource_of(&st, "ApplicationSet", "as-set");
    CHECK(r != NULL);
    CHECK_STR(r->health, "Degraded");
    CHECK_CONTAINS(r->message, "function \"nope\" not defined");
    store_app_status_dispose(&st);
    CHECK_OK(stored_app(&f, "as-one", &app));
    json_decref(app);
    CHECK(exists(&f, "v1", "ConfigMap", "as-one"));
    CHECK_OK(store_appset_status_get(f.st, "as-set", &status, NULL));
    CHECK_CONTAINS(status, "\"type\":\"ErrorOccurred\",\"status\":\"True\"");
    CHECK_CONTAINS(status, "\"name\":\"as-one\"");
    free(status);
    status = NULL;

    /* fixed in goTemplate; then the appset leaves Git: its apps go with
     * their resources; the site config's app stays */
    appset_commit("true", "{{ .path.basename }}");
    CHECK_OK(engine_reconcile(f.e, "as-root"));
    CHECK_OK(store_app_status_get(f.st, "as-root", &st));
    CHECK_STR(st.sync_status, "Synced");
    store_app_status_dispose(&st);
    repo13("git rm -q root/appset.yaml && mkdir -p root && printf 'apiVersion: v1\\nkind: "
           "ConfigMap\\nmetadata: "
           "{name: as-root-cm}\\n' > root/cm.yaml");
    CHECK_OK(engine_reconcile(f.e, "as-root"));
    CHECK_OK(store_app_status_get(f.st, "as-root", &st));
    r = resource_of(&st, "ApplicationSet", "as-set");
    CHECK(r != NULL);
    CHECK_STR(r->status, "Pruned");
    store_app_status_dispose(&st);
    CHECK_ERR(store_appset_get(f.st, "as-set", &status), ERR_NOTFOUND);
    CHECK_ERR(stored_app(&f, "as-one", &app), ERR_NOTFOUND);
    CHECK(!exists(&f, "v1", "ConfigMap", "as-one"));
    CHECK_OK(stored_app(&f, "as-three", &app));
    json_decref(app);
    fixture_close(&f);
}

/* An appset stored as the site config stores it: a list generator of
 * names, a label value, applicationsSync policy. */
static void policy_appset(struct fixture *f, const char *names, const char *label,
                          const char *policy)
{
    char *text = xasprintf(
        "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"ApplicationSet\",\"metadata\":{"
        "\"name\":\"pol\"},\"spec\":{\"syncPolicy\":{\"applicationsSync\":\"%s\"},"
        "\"generators\":[{\"list\":{\"elements\":[%s]}}],\"template\":{\"metadata\":{\"name\":"
        "\"{{name}}\",\"labels\":{\"v\":\"%s\"}},\"spec\":{\"source\":{\"repoURL\":\"/x\"},"
        "\"destination\":{\"server\":\"https://kubernetes.default.svc\"}}}}}",
        policy, names, label);
    if (store_appset_put(f->st, "pol", text) < 0)
        exit(2);
    free(text);
}

static char *stored_label_v(struct fixture *f, const char *app)
{
    json_t *m = NULL;
    char *v;
    if (stored_app(f, app, &m) < 0)
        return xstrdup("(none)");
    v = xstrdup(doc_get_str(m, "metadata.labels.v") ? doc_get_str(m, "metadata.labels.v") : "");
    json_decref(m);
    return v;
}

#define CHECK_LABEL(f, app, want)                                                                  \
    do {                                                                                           \
        char *l_ = stored_label_v(f, app);                                                         \
        int ok_ = !strcmp(l_, want);                                                               \
        if (!ok_)                                                                                  \
            fprintf(stderr, "%s has label \"%s\", expected \"%s\"\n", app, l_, want);              \
        free(l_);                                                                                  \
        CHECK(ok_);                                                                                \
    } while (0)

/* applicationsSync as Argo CD means it: create-only never updates or
 * deletes, create-update never deletes, create-delete never updates,
 * sync does all; the apps an appset generated go with it. */
TEST(applicationsets_follow_applications_sync)
{
    struct fixture f;
    char *msg = NULL, *status = NULL;
    const char *both = "{\"name\":\"pol-a\"},{\"name\":\"pol-b\"}", *one = "{\"name\":\"pol-a\"}";

    CHECK_OK(fixture_app(&f, "policies", "", "pol-other", "{\"repoURL\":\"/x\"}"));
    policy_appset(&f, both, "1", "create-only");
    CHECK_OK(engine_appset_eval(f.e, "pol", &msg));
    CHECK_STR(msg, "generates 2 application(s)");
    free(msg);
    CHECK_LABEL(&f, "pol-a", "1");
    CHECK_LABEL(&f, "pol-b", "1");

    policy_appset(&f, one, "2", "create-only");
    CHECK_OK(engine_appset_eval(f.e, "pol", &msg));
    CHECK_CONTAINS(msg, "2 not changed");
    free(msg);
    CHECK_LABEL(&f, "pol-a", "1");
    CHECK_LABEL(&f, "pol-b", "1");
    CHECK_OK(store_appset_status_get(f.st, "pol", &status, NULL));
    CHECK_CONTAINS(status,
                   "differs from the template; not updated (applicationsSync: create-only)");
    CHECK_CONTAINS(status, "no longer generated; not deleted (applicationsSync: create-only)");
    free(status);

    policy_appset(&f, one, "2", "create-delete");
    CHECK_OK(engine_appset_eval(f.e, "pol", &msg));
    free(msg);
    CHECK_LABEL(&f, "pol-a", "1");
    CHECK_LABEL(&f, "pol-b", "(none)");

    policy_appset(&f, both, "3", "create-update");
    CHECK_OK(engine_appset_eval(f.e, "pol", &msg));
    free(msg);
    CHECK_LABEL(&f, "pol-a", "3");
    CHECK_LABEL(&f, "pol-b", "3");
    policy_appset(&f, one, "4", "create-update");
    CHECK_OK(engine_appset_eval(f.e, "pol", &msg));
    free(msg);
    CHECK_LABEL(&f, "pol-a", "4");
    CHECK_LABEL(&f, "pol-b", "3");

    policy_appset(&f, one, "5", "sync");
    CHECK_OK(engine_appset_eval(f.e, "pol", &msg));
    CHECK_STR(msg, "generates 1 application(s)");
    free(msg);
    CHECK_LABEL(&f, "pol-a", "5");
    CHECK_LABEL(&f, "pol-b", "(none)");

    /* the appset deleted: its apps go, the others stay */
    {
        json_t *m = NULL;
        char *text = NULL;
        CHECK_OK(store_appset_get(f.st, "pol", &text));
        CHECK_OK(doc_parse_json(&m, text, strlen(text), "pol", NULL));
        CHECK_OK(engine_appset_delete(f.e, "pol", m));
        json_decref(m);
        free(text);
    }
    CHECK_LABEL(&f, "pol-a", "(none)");
    CHECK_LABEL(&f, "pol-other", "");
    CHECK_ERR(store_appset_get(f.st, "pol", &status), ERR_NOTFOUND);
    fixture_close(&f);
}

/* The data value key of ConfigMap name in the default namespace, into
 * out (64 bytes); "" when absent. */
static void cm_data_value(struct fixture *f, const char *name, const char *key, char out[64])
{
    json_t *obj = NULL;
    char *path = xasprintf("data.%s", key);
    out[0] = '\0';
    if (kube_client_get(f->kube, "v1", "ConfigMap", "default", name, &obj) == 0 &&
        doc_get_str(obj, path))
        str_copy(out, doc_get_str(obj, path), 64);
    err_clear();
    json_decref(obj);
    free(path);
}

/* Wait up to ms for cm_data_value to be want; 1 if it was. */
static int cm_becomes(struct fixture *f, const char *name, const char *key, const char *want,
                      int ms)
{
    char v[64];
    for (int waited = 0; waited <= ms; waited += 50) {
        cm_data_value(f, name, key, v);
        if (!strcmp(v, want))
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

/* Wait up to ms for more settled passes than n; 1 if there were. */
static int settles(struct fixture *f, unsigned long n, int ms)
{
    struct engine_stats s;
    for (int waited = 0; waited <= ms; waited += 50) {
        engine_stats(f->e, &s);
        if (s.settled > n)
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

static char *settle_app(const char *include, const char *project)
{
    return xasprintf(
        "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
        "\"metadata\":{\"name\":\"settle\"},\"spec\":{\"project\":\"%s\",\"source\":{"
        "\"repoURL\":\"%s/repo14\",\"path\":\".\",\"directory\":{\"include\":\"%s\"}},"
        "\"destination\":{\"server\":\"https://kubernetes.default.svc\","
        "\"namespace\":\"default\"},\"syncPolicy\":{\"automated\":{\"selfHeal\":true}}}}",
        project, dir, include);
}

static const char settle_project[] =
    "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"AppProject\",\"metadata\":{\"name\":"
    "\"settle-proj\"},\"spec\":{\"sourceRepos\":[\"*\"],\"destinations\":[{\"server\":\"*\","
    "\"namespace\":\"%s\"}]}}";

/* Once an app is synced, the run loop's polls find it settled and do no
 * work (no render, no request); each of its inputs changing brings a full
 * pass: a hand edit in the cluster (self-heal), the Application, a new
 * commit, the AppProject. */
TEST(settled_apps_pass_without_work_until_an_input_changes)
{
    struct fixture f;
    struct runner r = {0};
    struct engine_stats s0, s1;
    pthread_t th;
    json_t *patch, *live = NULL;
    char *cmd, *text, *msg = NULL;
    int waited;

    cmd = xasprintf("mkdir -p '%s/repo14' && cd '%s/repo14' && git init -q -b main && printf "
                    "'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: settle-a}\\ndata: {v: "
                    "\"1\"}\\n' > a.yaml && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: "
                    "{name: settle-b}\\ndata: {v: \"1\"}\\n' > b.yaml && git add -A && git -c "
                    "user.name=t -c user.email=t@e commit -q -m s",
                    dir, dir);
    sh(cmd);
    free(cmd);
    text = settle_app("a.yaml", "settle-proj");
    CHECK_OK(fixture_open(&f, "settle",
                          "pollSeconds: 1\npollJitterSeconds: 0\nfullCompareSeconds: 3600\n",
                          "settle", text));
    free(text);
    text = xasprintf(settle_project, "default");
    CHECK_OK(store_project_put(f.st, "settle-proj", text));
    free(text);
    r.e = f.e;
    CHECK(pthread_create(&th, NULL, run_engine, &r) == 0);
    CHECK(cm_becomes(&f, "settle-a", "v", "1", 5000));

    /* settled: polls go on, nothing is rendered or asked of the server */
    CHECK(settles(&f, 0, 5000));
    engine_stats(f.e, &s0);
    CHECK(settles(&f, s0.settled + 1, 4000));
    engine_stats(f.e, &s1);
    CHECK(s1.renders == s0.renders);
    CHECK(s1.requests == s0.requests);

    /* a hand edit: the watch event makes the next pass a full one */
    patch = json_pack("{s:{s:s}}", "data", "v", "edited");
    CHECK_OK(
        kube_client_patch(f.kube, "v1", "ConfigMap", "default", "settle-a", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    CHECK(cm_becomes(&f, "settle-a", "v", "1", 3000));

    /* the Application changes: b.yaml is included now */
    CHECK(settles(&f, 0, 3000));
    text = settle_app("{a.yaml,b.yaml}", "settle-proj");
    CHECK_OK(store_app_put(f.st, "settle", text));
    free(text);
    CHECK(cm_becomes(&f, "settle-b", "v", "1", 4000));

    /* a new commit, found by the next fetch (at most pollSeconds later) */
    CHECK(settles(&f, 0, 3000));
    cmd = xasprintf("cd '%s/repo14' && sed -i 's/\"1\"/\"2\"/' a.yaml && git -c user.name=t -c "
                    "user.email=t@e commit -q -am two",
                    dir);
    sh(cmd);
    free(cmd);
    CHECK(cm_becomes(&f, "settle-a", "v", "2", 5000));

    /* the project no longer allows the destination */
    engine_stats(f.e, &s0);
    CHECK(settles(&f, s0.settled, 3000));
    text = xasprintf(settle_project, "elsewhere");
    CHECK_OK(store_project_put(f.st, "settle-proj", text));
    free(text);
    for (waited = 0; waited < 4000; waited += 50) {
        free(msg);
        msg = last_error_of(&f, "settle");
        if (strstr(msg, "spec.destination"))
            break;
        usleep(50 * 1000);
    }
    CHECK(strstr(msg, "spec.destination") != NULL);
    free(msg);

    r.stop = 1;
    pthread_join(th, NULL);
    fixture_close(&f);
}

/* ---- sync --revision, managedNamespaceMetadata, SkipDryRunOnMissingResource ---- */

/* An Application name of repo dir/REPO to namespace ns with the given
 * syncPolicy (JSON text). New text. */
static char *app_policy_json(const char *name, const char *repo, const char *target, const char *ns,
                             const char *policy)
{
    return xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"source\":{\"repoURL\":"
                     "\"%s/%s\",\"targetRevision\":\"%s\"},\"destination\":{\"server\":"
                     "\"https://kubernetes.default.svc\",\"namespace\":\"%s\"},"
                     "\"syncPolicy\":%s}}",
                     name, dir, repo, target, ns, policy);
}

/* git -C dir/repo CMD, its first output line into out (41 bytes). */
static void git_line(const char *repo, const char *cmd, char out[41])
{
    char *line = xasprintf("git -C '%s/%s' %s", dir, repo, cmd);
    FILE *f = popen(line, "r");
    out[0] = '\0';
    if (!f || !fgets(out, 41, f))
        exit(2);
    out[strcspn(out, "\n")] = '\0';
    pclose(f);
    free(line);
}

/* Run the engine's loop until app has an operation newer than after that
 * is no longer Running (at most 15 s); its phase (new string). */
static char *run_until_op_done(struct fixture *f, const char *app, long long after)
{
    struct runner r = {f->e, 0};
    pthread_t th;
    char *phase = xstrdup("");
    long long id = 0;
    if (pthread_create(&th, NULL, run_engine, &r) != 0)
        exit(2);
    for (int i = 0; i < 300; i++) {
        free(phase);
        phase = op_phase(f, app, &id);
        if (id > after && strcmp(phase, "Running") != 0)
            break;
        usleep(50 * 1000);
    }
    r.stop = 1;
    pthread_join(th, NULL);
    return phase;
}

static char *cm_value(struct fixture *f, const char *ns, const char *name)
{
    json_t *live = NULL;
    char *v;
    if (kube_client_get(f->kube, "v1", "ConfigMap", ns, name, &live) < 0) {
        err_clear();
        return xstrdup("");
    }
    v = xstrdup(doc_get_str(live, "data.v") ? doc_get_str(live, "data.v") : "");
    json_decref(live);
    return v;
}

/* `app sync --revision`: the tag's objects are deployed while the app
 * still compares with main (OutOfSync, revision main's commit); the
 * operation and the history record the tag's commit; a revision that
 * does not resolve ends the operation in Error; automated sync and
 * several sources refuse it before anything is queued. */
TEST(sync_to_a_revision)
{
    struct fixture f;
    struct store_app_status st = {0};
    struct store_operation op = {0};
    struct store_history *hist = NULL;
    struct engine_sync_options o = {0};
    size_t nh = 0;
    char v1[41], v2[41], *text, *phase, *cmd, *value;
    long long id = 0;

    cmd = xasprintf("mkdir -p '%s/repo13' && cd '%s/repo13' && git init -q -b main && "
                    "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: rev-cm}\\n"
                    "data: {v: \"1\"}\\n' > cm.yaml && git add -A && git -c user.name=t -c "
                    "user.email=t@e commit -q -m v1 && git tag v1.0.0 && sed -i 's/\"1\"/\"2\"/' "
                    "cm.yaml && git -c user.name=t -c user.email=t@e commit -q -am v2",
                    dir, dir);
    sh(cmd);
    free(cmd);
    git_line("repo13", "rev-parse v1.0.0^{commit}", v1);
    git_line("repo13", "rev-parse main", v2);
    text = app_policy_json("rev", "repo13", "main", "default", "{}");
    CHECK_OK(
        fixture_open(&f, "revision", "syncWaveDelaySeconds: 0\npollSeconds: 3600\n", "rev", text));
    free(text);
    CHECK_OK(engine_reconcile(f.e, "rev"));
    value = cm_value(&f, "default", "rev-cm");
    CHECK_STR(value, ""); /* no automated sync */
    free(value);

    o.revision = "v1.0.0";
    CHECK_OK(engine_request_sync(f.e, "rev", &o));
    phase = run_until_op_done(&f, "rev", 0);
    CHECK_STR(phase, "Succeeded");
    free(phase);
    value = cm_value(&f, "default", "rev-cm");
    CHECK_STR(value, "1");
    free(value);
    CHECK_OK(store_operation_get(f.st, "rev", 0, &op));
    CHECK_CONTAINS(op.state_json, v1);
    id = op.id;
    store_operation_dispose(&op);
    CHECK_OK(store_history_list(f.st, "rev", &hist, &nh));
    CHECK(nh == 1);
    if (nh == 1) {
        CHECK_STR(hist[0].revision, v1);
        CHECK_CONTAINS(hist[0].source_json, "\"targetRevision\":\"v1.0.0\"");
    }
    store_history_free(hist, nh);
    /* the app still follows main: OutOfSync at main's commit */
    CHECK_OK(store_app_status_get(f.st, "rev", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    CHECK_STR(st.revision, v2);
    CHECK_STR(resource_status(&st, "ConfigMap", "rev-cm"), "OutOfSync");
    store_app_status_dispose(&st);

    /* a revision that does not exist: the operation ends in Error */
    o.revision = "no-such-branch";
    CHECK_OK(engine_request_sync(f.e, "rev", &o));
    phase = run_until_op_done(&f, "rev", id);
    CHECK_STR(phase, "Error");
    free(phase);
    CHECK_OK(store_operation_get(f.st, "rev", 0, &op));
    CHECK_CONTAINS(op.state_json, "revision no-such-branch: ");
    store_operation_dispose(&op);
    value = cm_value(&f, "default", "rev-cm");
    CHECK_STR(value, "1");
    free(value);

    /* refused while automated sync is on (a dry run aside), and for
     * several sources */
    text = app_policy_json("rev-auto", "repo13", "main", "default", "{\"automated\":{}}");
    CHECK_OK(store_app_put(f.st, "rev-auto", text));
    free(text);
    o.revision = "v1.0.0";
    CHECK_ERR(engine_request_sync(f.e, "rev-auto", &o), ERR_INVALID);
    CHECK_STR(err_last(), "Cannot sync to v1.0.0: auto-sync currently set to main");
    err_clear();
    o.revision = "main";
    CHECK_OK(engine_request_sync(f.e, "rev-auto", &o));
    o.revision = "v1.0.0";
    o.dry_run = 1;
    CHECK_OK(engine_request_sync(f.e, "rev-auto", &o));
    o.dry_run = 0;
    text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"rev-multi\"},\"spec\":{\"sources\":["
                     "{\"repoURL\":\"%s/repo13\",\"path\":\".\"},{\"repoURL\":\"%s/repo13\","
                     "\"ref\":\"values\"}],\"destination\":{\"server\":"
                     "\"https://kubernetes.default.svc\",\"namespace\":\"default\"}}}",
                     dir, dir);
    CHECK_OK(store_app_put(f.st, "rev-multi", text));
    free(text);
    CHECK_ERR(engine_request_sync(f.e, "rev-multi", &o), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "has 2 sources");
    err_clear();
    fixture_close(&f);
}

static const char *label_of(const json_t *obj, const char *map, const char *key)
{
    return json_string_value(json_object_get(doc_get(obj, map), key));
}

/* managedNamespaceMetadata with CreateNamespace=true: applied to a
 * namespace that already exists, kept applied at the next sync after
 * the spec changes (OutOfSync until then), a label the app stops setting
 * removed and one someone else set kept; the namespace is not one of
 * the app's resources. */
TEST(managed_namespace_metadata)
{
    struct fixture f;
    struct store_app_status st = {0};
    json_t *ns = NULL, *pre;
    char *text, *cmd;
    struct kube_apply_options ao = KUBE_APPLY_OPTIONS_INIT;

    cmd = xasprintf("mkdir -p '%s/repo14' && cd '%s/repo14' && git init -q -b main && "
                    "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: nsm-cm}\\n' > "
                    "cm.yaml && git add -A && git -c user.name=t -c user.email=t@e commit -q -m c",
                    dir, dir);
    sh(cmd);
    free(cmd);
    text =
        app_policy_json("nsm", "repo14", "main", "nsm-ns",
                        "{\"automated\":{\"selfHeal\":true},\"syncOptions\":["
                        "\"CreateNamespace=true\"],\"managedNamespaceMetadata\":{\"labels\":"
                        "{\"team\":\"a\",\"env\":\"dev\"},\"annotations\":{\"owner\":\"ops\"}}}");
    CHECK_OK(fixture_open(&f, "nsmeta", "syncWaveDelaySeconds: 0\n", "nsm", text));
    free(text);
    /* the namespace exists already, with a label of someone else's */
    pre = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                    "metadata", "name", "nsm-ns", "labels", "keep", "yes");
    ao.manager = "kubectl-label";
    CHECK_OK(kube_client_apply_opts(f.kube, pre, &ao, NULL));
    json_decref(pre);

    CHECK_OK(engine_reconcile(f.e, "nsm"));
    CHECK_OK(kube_client_get(f.kube, "v1", "Namespace", NULL, "nsm-ns", &ns));
    CHECK_STR(label_of(ns, "metadata.labels", "team"), "a");
    CHECK_STR(label_of(ns, "metadata.labels", "env"), "dev");
    CHECK_STR(label_of(ns, "metadata.labels", "keep"), "yes");
    CHECK_STR(label_of(ns, "metadata.annotations", "owner"), "ops");
    json_decref(ns);
    ns = NULL;
    CHECK_OK(engine_reconcile(f.e, "nsm"));
    CHECK_OK(store_app_status_get(f.st, "nsm", &st));
    CHECK_STR(st.sync_status, "Synced");
    CHECK(resource_status(&st, "Namespace", "nsm-ns") == NULL);
    store_app_status_dispose(&st);

    /* the spec changes: team b, env no more */
    text = app_policy_json("nsm", "repo14", "main", "nsm-ns",
                           "{\"automated\":{},\"syncOptions\":[\"CreateNamespace=true\"],"
                           "\"managedNamespaceMetadata\":{\"labels\":{\"team\":\"b\"},"
                           "\"annotations\":{\"owner\":\"ops\"}}}");
    CHECK_OK(store_app_put(f.st, "nsm", text));
    free(text);
    /* without selfHeal the same revision is not synced again: the app
     * shows OutOfSync and why */
    CHECK_OK(engine_reconcile(f.e, "nsm"));
    CHECK_OK(store_app_status_get(f.st, "nsm", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    CHECK_CONTAINS(st.message, "managedNamespaceMetadata changed");
    store_app_status_dispose(&st);
    text = app_policy_json("nsm", "repo14", "main", "nsm-ns",
                           "{\"automated\":{\"selfHeal\":true},\"syncOptions\":["
                           "\"CreateNamespace=true\"],\"managedNamespaceMetadata\":{\"labels\":"
                           "{\"team\":\"b\"},\"annotations\":{\"owner\":\"ops\"}}}");
    CHECK_OK(store_app_put(f.st, "nsm", text));
    free(text);
    CHECK_OK(engine_reconcile(f.e, "nsm"));
    CHECK_OK(kube_client_get(f.kube, "v1", "Namespace", NULL, "nsm-ns", &ns));
    CHECK_STR(label_of(ns, "metadata.labels", "team"), "b");
    CHECK(label_of(ns, "metadata.labels", "env") == NULL);
    CHECK_STR(label_of(ns, "metadata.labels", "keep"), "yes");
    CHECK_STR(label_of(ns, "metadata.annotations", "owner"), "ops");
    json_decref(ns);
    CHECK_OK(engine_reconcile(f.e, "nsm"));
    CHECK_OK(store_app_status_get(f.st, "nsm", &st));
    CHECK_STR(st.sync_status, "Synced");
    CHECK_STR(st.message, "");
    store_app_status_dispose(&st);
    fixture_close(&f);
}

/* A repository dir/NAME with one file all.yaml of text, committed. */
static void repo_with(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name), *file = xasprintf("%s/%s/all.yaml", dir, name);
    char *cmd = xasprintf("cd '%s' && git init -q -b main && git add -A && git -c user.name=t -c "
                          "user.email=t@e commit -q -m c",
                          path);
    fs_mkdir_p(path, 0755);
    if (fs_write_atomic(file, text, strlen(text), 0644) < 0)
        exit(2);
    sh(cmd);
    free(cmd);
    free(file);
    free(path);
}

#define CRD_YAML(plural, kind)                                                                     \
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"                        \
    "metadata: {name: " plural ".example.com}\n"                                                   \
    "spec:\n  group: example.com\n  scope: Namespaced\n"                                           \
    "  names: {plural: " plural ", singular: x, kind: " kind "}\n"                                 \
    "  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: "              \
    "{type: object, x-kubernetes-preserve-unknown-fields: true}}}]\n"

/* Before a sync applies anything, every kind must be known to the
 * cluster (Argo CD's dry run): a custom resource whose CRD is neither in
 * the sync nor installed fails the operation with nothing applied; its
 * CRD in an earlier wave of the same sync is enough; with
 * SkipDryRunOnMissingResource=true the resource waits for its wave, by
 * which time its CRD (from elsewhere) exists. */
TEST(skip_dry_run_on_missing_resource)
{
    struct fixture f;
    json_t *crd = NULL, *obj = NULL;
    char *text, *phase = NULL;
    int i;

    /* the CRD in the same sync: no option needed */
    repo_with("repo15", CRD_YAML("widgets", "Widget") "---\n"
                                                      "apiVersion: example.com/v1\nkind: Widget\n"
                                                      "metadata: {name: w1}\nspec: {size: 1}\n");
    text = app_policy_json("crd-same", "repo15", "main", "default", "{\"automated\":{}}");
    CHECK_OK(fixture_open(&f, "crd-same", "syncWaveDelaySeconds: 0\n", "crd-same", text));
    free(text);
    for (i = 0; i < 100; i++) {
        CHECK_OK(engine_reconcile(f.e, "crd-same"));
        free(phase);
        phase = op_phase(&f, "crd-same", NULL);
        if (strcmp(phase, "Running") != 0)
            break;
        usleep(100 * 1000);
    }
    CHECK_STR(phase, "Succeeded");
    CHECK(exists(&f, "example.com/v1", "Widget", "w1"));
    fixture_close(&f);

    /* no CRD anywhere: nothing applied, the operation fails */
    repo_with("repo16", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gizmo-first}\n---\n"
                        "apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g1\n"
                        "  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\n");
    text = app_policy_json("crd-none", "repo16", "main", "default", "{\"automated\":{}}");
    CHECK_OK(fixture_open(&f, "crd-none", "syncWaveDelaySeconds: 0\n", "crd-none", text));
    free(text);
    CHECK_OK(engine_reconcile(f.e, "crd-none"));
    free(phase);
    phase = op_phase(&f, "crd-none", NULL);
    CHECK_STR(phase, "Failed");
    CHECK(!exists(&f, "v1", "ConfigMap", "gizmo-first"));
    {
        struct store_operation op = {0};
        CHECK_OK(store_operation_get(f.st, "crd-none", 0, &op));
        CHECK_CONTAINS(op.state_json, "the server could not find the requested resource");
        CHECK_CONTAINS(op.state_json, "Gizmo");
        store_operation_dispose(&op);
    }
    fixture_close(&f);

    /* SkipDryRunOnMissingResource=true (the app's syncOptions): wave 0
     * is applied; the CRD shows up (an operator would install it) while
     * the Deployment of wave 0 becomes available; wave 1 then applies the
     * custom resource */
    repo_with("repo17",
              "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: gadget-operator\n"
              "  annotations: {kubesim.edgecd.io/ready-delay-ms: \"1500\"}\n"
              "spec:\n  selector: {matchLabels: {app: gop}}\n  template:\n"
              "    metadata: {labels: {app: gop}}\n"
              "    spec: {containers: [{name: op, image: busybox}]}\n---\n"
              "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n"
              "  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\nspec: {size: 2}\n");
    text = app_policy_json("crd-skip", "repo17", "main", "default",
                           "{\"automated\":{},\"syncOptions\":["
                           "\"SkipDryRunOnMissingResource=true\"]}");
    CHECK_OK(fixture_open(&f, "crd-skip", "syncWaveDelaySeconds: 0\n", "crd-skip", text));
    free(text);
    CHECK_OK(engine_reconcile(f.e, "crd-skip"));
    free(phase);
    phase = op_phase(&f, "crd-skip", NULL);
    CHECK_STR(phase, "Running");
    CHECK(exists(&f, "apps/v1", "Deployment", "gadget-operator"));
    CHECK_OK(doc_parse_yaml(&crd, CRD_YAML("gadgets", "Gadget"),
                            strlen(CRD_YAML("gadgets", "Gadget")), "crd", NULL));
    CHECK_OK(kube_client_apply(f.kube, json_array_get(crd, 0), 0, NULL));
    json_decref(crd);
    for (i = 0; i < 100; i++) {
        CHECK_OK(engine_reconcile(f.e, "crd-skip"));
        free(phase);
        phase = op_phase(&f, "crd-skip", NULL);
        if (strcmp(phase, "Running") != 0)
            break;
        usleep(100 * 1000);
    }
    CHECK_STR(phase, "Succeeded");
    CHECK_OK(kube_client_get(f.kube, "example.com/v1", "Gadget", "default", "g1", &obj));
    CHECK(json_integer_value(doc_get(obj, "spec.size")) == 2);
    json_decref(obj);
    free(phase);
    fixture_close(&f);
}

/* A pause in the store (what `edgecd restore` sets while it writes an
 * app's objects) holds the app's self-heal back and says why; once
 * cleared, the next pass heals. */
TEST(paused_app_does_not_self_heal)
{
    struct fixture f;
    struct store_app_status st = {0};
    json_t *patch, *live = NULL;
    char *cmd, *src, *text, label[64];

    cmd = xasprintf("mkdir -p '%s/repo15' && cd '%s/repo15' && git init -q -b main && printf "
                    "'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: paused}\\ndata: {v: "
                    "\"1\"}\\n' > cm.yaml && git add -A && git -c user.name=t -c "
                    "user.email=t@e commit -q -m p",
                    dir, dir);
    sh(cmd);
    free(cmd);
    src = xasprintf("{\"repoURL\":\"%s/repo15\",\"path\":\".\"}", dir);
    text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\","
                     "\"metadata\":{\"name\":\"paused\"},\"spec\":{\"source\":%s,"
                     "\"destination\":{\"server\":\"https://kubernetes.default.svc\","
                     "\"namespace\":\"default\"},\"syncPolicy\":{\"automated\":{\"selfHeal\":"
                     "true}}}}",
                     src);
    CHECK_OK(fixture_open(&f, "paused", "", "paused", text));
    free(text);
    free(src);
    CHECK_OK(engine_reconcile(f.e, "paused"));
    CHECK_OK(engine_reconcile(f.e, "paused"));
    engine_label_value("paused", label);
    CHECK_OK(store_pause_set(f.st, label, "restore r1 in progress", (long long)time(NULL) + 60));

    patch = json_pack("{s:{s:s}}", "data", "v", "restored");
    CHECK_OK(
        kube_client_patch(f.kube, "v1", "ConfigMap", "default", "paused", "merge", patch, &live));
    json_decref(patch);
    json_decref(live);
    live = NULL;
    usleep(300 * 1000);
    CHECK_OK(engine_reconcile(f.e, "paused"));
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "paused", &live));
    CHECK_STR(doc_get_str(live, "data.v"), "restored");
    json_decref(live);
    live = NULL;
    CHECK_OK(store_app_status_get(f.st, "paused", &st));
    CHECK_STR(st.sync_status, "OutOfSync");
    CHECK_STR(st.message, "automated sync paused: restore r1 in progress");
    store_app_status_dispose(&st);

    /* a pause that ran out holds nothing, like a cleared one */
    CHECK_OK(store_pause_set(f.st, label, "restore r1 in progress", (long long)time(NULL) - 1));
    CHECK_OK(engine_reconcile(f.e, "paused"));
    CHECK_OK(kube_client_get(f.kube, "v1", "ConfigMap", "default", "paused", &live));
    CHECK_STR(doc_get_str(live, "data.v"), "1");
    json_decref(live);
    fixture_close(&f);
}

/* Two apps of one repository: polls fetch it about once per pollSeconds
 * between them, not once per app; a commit one app's fetch finds brings
 * the other app to it at once, not at its own next fetch. */
TEST(one_fetch_per_poll_interval_per_repository)
{
    struct fixture f;
    struct runner r = {0};
    struct engine_stats s0, s1;
    pthread_t th;
    char *cmd, *text, rev_a[41], rev_b[41], old[41];
    unsigned long polls;
    int waited;

    cmd = xasprintf("mkdir -p '%s/repo16/a' '%s/repo16/b' && cd '%s/repo16' && git init -q -b "
                    "main && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: f-a}\\n' "
                    "> a/cm.yaml && printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: "
                    "f-b}\\n' > b/cm.yaml && git add -A && git -c user.name=t -c user.email=t@e "
                    "commit -q -m one",
                    dir, dir, dir);
    sh(cmd);
    free(cmd);
    text = xasprintf("{\"repoURL\":\"%s/repo16\",\"path\":\"a\"}", dir);
    cmd = app_json("fetch-a", text);
    free(text);
    CHECK_OK(fixture_open(&f, "fetchmemo",
                          "pollSeconds: 3\npollJitterSeconds: 0\nfullCompareSeconds: 3600\n",
                          "fetch-a", cmd));
    free(cmd);
    text = xasprintf("{\"repoURL\":\"%s/repo16\",\"path\":\"b\"}", dir);
    cmd = app_json("fetch-b", text);
    free(text);
    r.e = f.e;
    CHECK(pthread_create(&th, NULL, run_engine, &r) == 0);
    CHECK(revision_changes(f.st, "fetch-a", "", 5000));
    /* half a poll later: the two apps poll out of step */
    usleep(1500 * 1000);
    CHECK_OK(store_app_put(f.st, "fetch-b", cmd));
    free(cmd);
    CHECK(revision_changes(f.st, "fetch-b", "", 5000));

    engine_stats(f.e, &s0);
    usleep(7000 * 1000);
    engine_stats(f.e, &s1);
    polls = (s1.passes - s0.passes) + (s1.settled - s0.settled);
    CHECK(polls >= 4);
    CHECK(s1.fetches - s0.fetches <= polls / 2 + 1);

    recorded_revision(f.st, "fetch-a", old);
    cmd = xasprintf("cd '%s/repo16' && git -c user.name=t -c user.email=t@e commit -q "
                    "--allow-empty -m two",
                    dir);
    sh(cmd);
    free(cmd);
    CHECK(revision_changes(f.st, "fetch-a", old, 5000));
    /* whichever fetched it, the other follows within half a second */
    for (waited = 0; waited <= 500; waited += 50) {
        recorded_revision(f.st, "fetch-a", rev_a);
        recorded_revision(f.st, "fetch-b", rev_b);
        if (strcmp(rev_a, old) != 0 && !strcmp(rev_a, rev_b))
            break;
        usleep(50 * 1000);
    }
    CHECK(strcmp(rev_a, old) != 0);
    CHECK_STR(rev_b, rev_a);

    r.stop = 1;
    pthread_join(th, NULL);
    fixture_close(&f);
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
    RUN(refresh_reconciles_without_waiting_for_the_poll);
    RUN(kustomize_source_through_the_engine);
    RUN(bundle_fed_mirror_deploys_without_network);
    RUN(multiple_sources_and_the_render_cache);
    RUN(steady_state_passes_make_no_requests);
    RUN(waves_and_hooks_run_in_order);
    RUN(failed_hook_runs_syncfail_and_is_not_retried);
    RUN(operation_resumes_after_a_restart);
    RUN(projects_are_enforced);
    RUN(ignore_differences_in_compare_and_sync);
    RUN(depends_on_orders_apps_and_refuses_cycles);
    RUN(retry_with_backoff_then_fail);
    RUN(settled_apps_pass_without_work_until_an_input_changes);
    RUN(sync_to_a_revision);
    RUN(managed_namespace_metadata);
    RUN(skip_dry_run_on_missing_resource);
    RUN(applicationsets_generate_register_and_prune);
    RUN(applicationsets_follow_applications_sync);
    RUN(paused_app_does_not_self_heal);
    RUN(one_fetch_per_poll_interval_per_repository);
    kubesim_proc_stop(&sim);
    mirror_global_shutdown();
    free(dir);
    return TEST_END();
}
