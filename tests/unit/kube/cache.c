/*
 * Tests for appliance/kube/cache.c against kubesim: objects are created,
 * changed and deleted with edgecd's own client, and the cache must report
 * each change of a labelled object within a second, hold it without
 * managedFields, and never hold unlabelled objects.
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kubesim/fixture.h"
#include "test.h"

static struct kubesim_proc sim;
static char *dir;

/* What on_change saw, one "EVENT app kind ns/name" line each. */
struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct buf log;
    int gate;    /* 1: the next callback waits until gate is 0 again */
    int waiting; /* a callback is waiting at the gate */
};
static struct seen seen = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, BUF_INIT, 0, 0};

static void on_change(void *ctx, const struct kube_cache_change *ch)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    struct seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    buf_printf(&s->log, "%s %s %s %s/%s\n", names[ch->event], ch->app, ch->kind, ch->ns, ch->name);
    /* Holding the watcher here keeps it off its stream, as a slow or
     * suspended client would be. */
    if (s->gate) {
        s->waiting = 1;
        pthread_cond_broadcast(&s->cond);
        while (s->gate)
            pthread_cond_wait(&s->cond, &s->mu);
        s->waiting = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

static void seen_clear(void)
{
    pthread_mutex_lock(&seen.mu);
    buf_clear(&seen.log);
    pthread_mutex_unlock(&seen.mu);
}

/* Wait up to ms for line to show up in the log; the time it took, or -1. */
static long seen_wait(const char *line, long ms)
{
    int64_t start = time_mono_ms();
    for (;;) {
        int found;
        int64_t now;
        pthread_mutex_lock(&seen.mu);
        found = strstr(buf_cstr(&seen.log), line) != NULL;
        pthread_mutex_unlock(&seen.mu);
        now = time_mono_ms();
        if (found)
            return (long)(now - start);
        if (now - start > ms)
            return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int seen_has(const char *text)
{
    int found;
    pthread_mutex_lock(&seen.mu);
    found = strstr(buf_cstr(&seen.log), text) != NULL;
    pthread_mutex_unlock(&seen.mu);
    return found;
}

static json_t *cm(const char *name, const char *app, const char *value)
{
    json_t *o =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                  "metadata", "name", name, "namespace", "default", "data", "k", value);
    if (app)
        json_object_set_new(json_object_get(o, "metadata"), "labels",
                            json_pack("{s:s}", "edgecd.io/app", app));
    return o;
}

static int apply(kube_client *kc, json_t *o)
{
    int rc = kube_client_apply(kc, o, 0, NULL);
    json_decref(o);
    return rc;
}

static int wait_synced(kube_cache *c, const char *api, const char *kind)
{
    for (int i = 0; i < 1500; i++) {
        if (kube_cache_synced(c, api, kind))
            return 1;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void open_both(kube_client **kc, kube_cache **cache)
{
    struct kubeconfig k;
    struct kube_cache_options opts = KUBE_CACHE_OPTIONS_INIT;
    opts.on_change = on_change;
    opts.ctx = &seen;
    opts.backoff_min_ms = 50;
    if (kubeconfig_load(&k, sim.kubeconfig, NULL) < 0 || kube_client_new(kc, &k) < 0 ||
        kube_cache_new(cache, &k, &opts) < 0) {
        fprintf(stderr, "setup: %s\n", err_last());
        exit(2);
    }
    kubeconfig_dispose(&k);
}

TEST(fills_from_list_labelled_only)
{
    kube_client *kc = NULL;
    kube_cache *c = NULL;
    struct kube_cache_stats st;
    json_t *got = NULL, *items = NULL;
    char *rv = NULL;

    open_both(&kc, &c);
    CHECK_OK(apply(kc, cm("a", "app1", "1")));
    CHECK_OK(apply(kc, cm("b", "app2", "1")));
    CHECK_OK(apply(kc, cm("plain", NULL, "1")));
    CHECK_OK(kube_cache_watch(c, "v1", "ConfigMap"));
    CHECK_OK(kube_cache_watch(c, "v1", "ConfigMap")); /* again: no second watcher */
    CHECK(wait_synced(c, "v1", "ConfigMap"));
    kube_cache_stats(c, &st);
    CHECK(st.kinds == 1);
    CHECK(st.objects == 2);
    CHECK(st.json_bytes > 0);
    CHECK_OK(kube_cache_get(c, "v1", "ConfigMap", "default", "a", &got, &rv));
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "data"), "k")), "1");
    CHECK_STR(json_string_value(json_object_get(got, "kind")), "ConfigMap");
    CHECK(json_object_get(json_object_get(got, "metadata"), "managedFields") == NULL);
    CHECK(rv && rv[0]);
    json_decref(got);
    got = NULL;
    CHECK_ERR(kube_cache_get(c, "v1", "ConfigMap", "default", "plain", &got, NULL), ERR_NOTFOUND);
    CHECK_ERR(kube_cache_get(c, "apps/v1", "Deployment", "default", "a", &got, NULL), ERR_NOTFOUND);
    CHECK_OK(kube_cache_list_app(c, "app1", &items));
    CHECK(json_array_size(items) == 1);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(items, 0), "metadata"), "name")),
              "a");
    json_decref(items);
    CHECK(seen_has("ADDED app1 ConfigMap default/a\n"));
    CHECK(!seen_has("plain"));
    CHECK_ERR(kube_cache_watch(c, "", "ConfigMap"), ERR_INVALID);
    kube_cache_free(c);
    kube_client_free(kc);
    free(rv);
}

TEST(reports_changes_within_a_second)
{
    kube_client *kc = NULL;
    kube_cache *c = NULL;
    json_t *got = NULL, *o;
    long ms;

    open_both(&kc, &c);
    CHECK_OK(apply(kc, cm("w1", "app1", "1")));
    CHECK_OK(kube_cache_watch(c, "v1", "ConfigMap"));
    CHECK(wait_synced(c, "v1", "ConfigMap"));
    seen_clear();

    CHECK_OK(apply(kc, cm("w1", "app1", "2")));
    ms = seen_wait("MODIFIED app1 ConfigMap default/w1\n", 5000);
    CHECK(ms >= 0 && ms < 1000);
    CHECK_OK(kube_cache_get(c, "v1", "ConfigMap", "default", "w1", &got, NULL));
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "data"), "k")), "2");
    json_decref(got);
    got = NULL;

    CHECK_OK(apply(kc, cm("w2", "app3", "1")));
    ms = seen_wait("ADDED app3 ConfigMap default/w2\n", 5000);
    CHECK(ms >= 0 && ms < 1000);

    CHECK_OK(kube_client_delete(kc, "v1", "ConfigMap", "default", "w2", NULL));
    ms = seen_wait("DELETED app3 ConfigMap default/w2\n", 5000);
    CHECK(ms >= 0 && ms < 1000);
    CHECK_ERR(kube_cache_get(c, "v1", "ConfigMap", "default", "w2", &got, NULL), ERR_NOTFOUND);

    /* An unlabelled object never shows up. */
    CHECK_OK(apply(kc, cm("w3", NULL, "1")));
    /* A labelled one made after it proves the stream went past it. */
    CHECK_OK(apply(kc, cm("w4", "app1", "1")));
    CHECK(seen_wait("ADDED app1 ConfigMap default/w4\n", 5000) >= 0);
    CHECK(!seen_has("w3"));
    CHECK_ERR(kube_cache_get(c, "v1", "ConfigMap", "default", "w3", &got, NULL), ERR_NOTFOUND);

    /* Losing the label is leaving the cache. Server-side apply by
     * another manager cannot drop our label, so replace the labels
     * wholesale with a manager that owns them: the edgecd manager. */
    o = cm("w4", NULL, "1");
    json_object_set_new(json_object_get(o, "metadata"), "labels", json_pack("{s:s}", "x", "y"));
    CHECK_OK(apply(kc, o));
    ms = seen_wait("DELETED app1 ConfigMap default/w4\n", 5000);
    CHECK(ms >= 0 && ms < 1000);

    /* A dropped stream resumes: kubesim cuts every watch on SIGUSR1. */
    kill(sim.pid, SIGUSR1);
    CHECK_OK(apply(kc, cm("w5", "app1", "1")));
    CHECK(seen_wait("ADDED app1 ConfigMap default/w5\n", 10000) >= 0);

    kube_cache_free(c);
    kube_client_free(kc);
}

/* kubesim keeping only a few events, so a watcher that falls behind gets
 * 410 Expired. */
static int start_short_history(struct kubesim_proc *p, const char *d)
{
    const char *bin = getenv("EDGECD_KUBESIM");
    struct stat st;
    p->dir = xstrdup(d);
    p->kubeconfig = xasprintf("%s/kubeconfig", d);
    p->kubeconfig_cert = xasprintf("%s/kubeconfig-cert", d);
    mkdir(d, 0700);
    unlink(p->kubeconfig);
    p->pid = fork();
    if (p->pid == 0) {
        char *log = xasprintf("%s/kubesim.log", d);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execl(bin, "kubesim", "--listen", "127.0.0.1:0", "--dir", d, "--watch-history", "4",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (stat(p->kubeconfig, &st) == 0)
            return 0;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

TEST(expired_watch_relists_and_reports_what_vanished)
{
    struct kubesim_proc short_sim;
    struct kubesim_proc saved = sim;
    kube_client *kc = NULL;
    kube_cache *c = NULL;
    json_t *got = NULL;
    char *d = xasprintf("%s/sim-short", dir);
    int ok;

    ok = start_short_history(&short_sim, d) == 0;
    free(d);
    CHECK(ok);
    sim = short_sim; /* open_both reads sim.kubeconfig */
    open_both(&kc, &c);
    sim = saved;
    CHECK_OK(apply(kc, cm("stays", "app1", "1")));
    CHECK_OK(apply(kc, cm("vanishes", "app1", "1")));
    CHECK_OK(kube_cache_watch(c, "v1", "ConfigMap"));
    CHECK(wait_synced(c, "v1", "ConfigMap"));
    seen_clear();

    /* Hold the watcher in a callback, cut its stream, and make changes
     * while it is away: more than kubesim's history keeps. */
    pthread_mutex_lock(&seen.mu);
    seen.gate = 1;
    pthread_mutex_unlock(&seen.mu);
    CHECK_OK(apply(kc, cm("trigger", "app1", "1")));
    pthread_mutex_lock(&seen.mu);
    while (!seen.waiting)
        pthread_cond_wait(&seen.cond, &seen.mu);
    pthread_mutex_unlock(&seen.mu);
    kill(short_sim.pid, SIGUSR1);
    {
        struct timespec ts = {1, 0}; /* kubesim cuts on its own thread */
        nanosleep(&ts, NULL);
    }
    CHECK_OK(kube_client_delete(kc, "v1", "ConfigMap", "default", "vanishes", NULL));
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof(name), "noise-%d", i);
        CHECK_OK(apply(kc, cm(name, NULL, "1")));
    }
    pthread_mutex_lock(&seen.mu);
    seen.gate = 0;
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.mu);

    CHECK(seen_wait("DELETED app1 ConfigMap default/vanishes\n", 10000) >= 0);
    CHECK_ERR(kube_cache_get(c, "v1", "ConfigMap", "default", "vanishes", &got, NULL),
              ERR_NOTFOUND);
    CHECK_OK(kube_cache_get(c, "v1", "ConfigMap", "default", "stays", &got, NULL));
    json_decref(got);
    CHECK(!seen_has("DELETED app1 ConfigMap default/stays"));
    CHECK(!seen_has("noise"));
    /* The re-list happened (the watch could not resume): kubesim logged
     * no second watch from the trigger's version that succeeded, so look
     * at what the cache says instead: everything is still in sync. */
    CHECK(kube_cache_synced(c, "v1", "ConfigMap"));
    kube_cache_free(c);
    kube_client_free(kc);
    kubesim_proc_stop(&short_sim);
}

int main(void)
{
    int rc;
    log_set_level(LOG_DEBUG);
    dir = test_tmpdir("kube-cache");
    {
        char *simdir = xasprintf("%s/sim", dir);
        if (kubesim_proc_start(&sim, simdir) < 0)
            return 2;
        free(simdir);
    }
    RUN(fills_from_list_labelled_only);
    RUN(reports_changes_within_a_second);
    RUN(expired_watch_relists_and_reports_what_vanished);
    kubesim_proc_stop(&sim);
    free(dir);
    rc = TEST_END();
    buf_dispose(&seen.log);
    return rc;
}
