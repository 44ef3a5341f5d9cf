/*
 * Benchmark: memory of the watch cache per managed object. Applies N
 * managed objects (ConfigMaps, Deployments and Services across 10
 * namespaces, labelled and annotated as the engine does) plus N/2
 * unmanaged ConfigMaps to kubesim, then, in this same process, measures
 * memory before and after a watch cache fills with them: resident memory
 * (RSS) and the heap in use (mallinfo2). Every byte the cache costs is in
 * the difference: its watcher threads, their connections and TLS
 * contexts, the tables and the objects.
 *
 * glibc gives each thread its own malloc arena and mallinfo2 sees only
 * the main one, so the benchmark sets M_ARENA_MAX to 1 to make the heap
 * figure complete.
 *
 * usage: bench_watch_cache [N]   (default 1000; needs EDGECD_KUBESIM and
 * EDGECD_TEST_TMP, as the script tests/bench/watch-cache.sh sets)
 */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kubesim/fixture.h"

#define NAMESPACES 10

static long rss_bytes(void)
{
    char line[128], *end;
    long pages_rss;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    strtol(line, &end, 10); /* total size; the resident size follows */
    pages_rss = strtol(end, NULL, 10);
    return pages_rss * sysconf(_SC_PAGESIZE);
}

static long heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_watch_cache: %s: %s\n", what, err_last());
    exit(1);
}

static void apply_or_die(kube_client *kc, json_t *o)
{
    if (kube_client_apply(kc, o, 0, NULL) < 0)
        die("apply");
    json_decref(o);
}

static void track(json_t *o, const char *app, const char *group, const char *kind, const char *ns,
                  const char *name)
{
    json_t *meta = json_object_get(o, "metadata");
    char *id = xasprintf("%s:%s/%s:%s/%s", app, group, kind, ns, name);
    json_object_set_new(meta, "labels",
                        json_pack("{s:s, s:s}", "edgecd.io/app", app, "tier", "web"));
    json_object_set_new(meta, "annotations", json_pack("{s:s}", "edgecd.io/tracking-id", id));
    free(id);
}

static json_t *make_object(int i, int managed)
{
    char name[64], ns[32], app[32];
    json_t *o;
    snprintf(ns, sizeof(ns), "bench-%d", i % NAMESPACES);
    snprintf(app, sizeof(app), "app-%02d", i % 20);
    if (!managed || i % 10 < 4) {
        snprintf(name, sizeof(name), "%s-config-%04d", managed ? "app" : "other", i);
        o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
                      "ConfigMap", "metadata", "name", name, "namespace", ns, "data", "LOG_LEVEL",
                      "info", "FEATURE_FLAGS", "search,checkout,recommendations", "settings.ini",
                      "[server]\nport = 8080\nworkers = 4\n[cache]\nsize = 256MB\n");
        if (managed)
            track(o, app, "", "ConfigMap", ns, name);
    } else if (i % 10 < 7) {
        snprintf(name, sizeof(name), "web-%04d", i);
        o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, "
                      "s:{s:[{s:s, s:s, s:[{s:i}], s:{s:{s:s, s:s}}}]}}}}",
                      "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name,
                      "namespace", ns, "spec", "replicas", 2, "selector", "matchLabels", "app",
                      name, "template", "metadata", "labels", "app", name, "spec", "containers",
                      "name", "web", "image", "registry.local/shop/web:1.4.2", "ports",
                      "containerPort", 8080, "resources", "requests", "cpu", "100m", "memory",
                      "128Mi");
        track(o, app, "apps", "Deployment", ns, name);
    } else {
        snprintf(name, sizeof(name), "svc-%04d", i);
        o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s}, s:[{s:s, s:i, s:i}]}}", "apiVersion",
                      "v1", "kind", "Service", "metadata", "name", name, "namespace", ns, "spec",
                      "selector", "app", name, "ports", "name", "http", "port", 80, "targetPort",
                      8080);
        track(o, app, "", "Service", ns, name);
    }
    return o;
}

int main(int argc, char **argv)
{
    struct kubesim_proc sim;
    struct kubeconfig k;
    struct kube_cache_options opts = KUBE_CACHE_OPTIONS_INIT;
    struct kube_cache_stats st;
    kube_client *kc = NULL;
    kube_cache *cache = NULL;
    const char *tmp = getenv("EDGECD_TEST_TMP");
    long n = 1000, rss0, rss1, heap0, heap1;
    int64_t t0, t1;
    char *simdir;
    double avg, rss_per, heap_per;

    if (argc > 1 && str_to_long(argv[1], 1, 1000000, "N", &n) < 0)
        die("usage: bench_watch_cache [N]");
    mallopt(M_ARENA_MAX, 1);
    simdir = xasprintf("%s/bench-watch-cache.%d", tmp ? tmp : "/tmp", (int)getpid());
    if (kubesim_proc_start(&sim, simdir) < 0)
        return 1;
    if (kubeconfig_load(&k, sim.kubeconfig, NULL) < 0 || kube_client_new(&kc, &k) < 0)
        die("client");

    for (int i = 0; i < NAMESPACES; i++) {
        char ns[32];
        snprintf(ns, sizeof(ns), "bench-%d", i);
        apply_or_die(kc, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                                   "metadata", "name", ns));
    }
    t0 = time_mono_ms();
    for (long i = 0; i < n; i++)
        apply_or_die(kc, make_object((int)i, 1));
    for (long i = 0; i < n / 2; i++)
        apply_or_die(kc, make_object((int)i, 0));
    t1 = time_mono_ms();
    printf("applied %ld managed + %ld unmanaged objects in %.2f s\n", n, n / 2,
           (double)(t1 - t0) / 1000.0);
    kube_client_free(kc);

    malloc_trim(0);
    rss0 = rss_bytes();
    heap0 = heap_bytes();

    opts.on_change = NULL;
    t0 = time_mono_ms();
    if (kube_cache_new(&cache, &k, &opts) < 0)
        die("cache");
    if (kube_cache_watch(cache, "v1", "ConfigMap") < 0 ||
        kube_cache_watch(cache, "apps/v1", "Deployment") < 0 ||
        kube_cache_watch(cache, "v1", "Service") < 0)
        die("watch");
    for (int i = 0;; i++) {
        kube_cache_stats(cache, &st);
        if (st.objects == (size_t)n && kube_cache_synced(cache, "v1", "ConfigMap") &&
            kube_cache_synced(cache, "apps/v1", "Deployment") &&
            kube_cache_synced(cache, "v1", "Service"))
            break;
        if (i > 6000) {
            fprintf(stderr, "cache holds %zu of %ld objects after 60 s\n", st.objects, n);
            return 1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    t1 = time_mono_ms();
    rss1 = rss_bytes();
    heap1 = heap_bytes();

    avg = (double)st.json_bytes / (double)st.objects;
    rss_per = (double)(rss1 - rss0) / (double)st.objects;
    heap_per = (double)(heap1 - heap0) / (double)st.objects;
    printf("cache filled with %zu objects of %zu kinds in %.2f s (unmanaged objects cached: %s)\n",
           st.objects, st.kinds, (double)(t1 - t0) / 1000.0,
           st.objects == (size_t)n ? "none" : "SOME");
    printf("average compact JSON per object:      %8.0f bytes\n", avg);
    printf("resident memory growth per object:    %8.0f bytes   ratio %.2f\n", rss_per,
           rss_per / avg);
    printf("heap in use growth per object:        %8.0f bytes   ratio %.2f\n", heap_per,
           heap_per / avg);
    printf("goal: ratio <= 2.0 (all overhead included): %s\n",
           rss_per / avg <= 2.0 && heap_per / avg <= 2.0 ? "met" : "NOT met");

    kube_cache_free(cache);
    kubeconfig_dispose(&k);
    kubesim_proc_stop(&sim);
    free(simdir);
    return 0;
}
