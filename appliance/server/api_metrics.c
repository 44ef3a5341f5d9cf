/*
 * GET /metrics: the Prometheus text format (exposition 0.0.4), with Argo
 * CD's metric names where Argo CD has one, so its dashboards and alerts
 * work. This file writes what the server can see itself: argocd_app_info
 * from the store (one series per application, value 1, the state in the
 * labels) and the process_* metrics from /proc; the engine's, Git's and
 * the Kubernetes clients' counters come through srv->actions.metrics
 * (server/ does not link those modules).
 *
 * Authentication: any signed-in caller or API token, whatever its role.
 * Argo CD serves metrics on a separate port with no authentication; here
 * the one port faces an untrusted LAN and the metrics name every
 * application and repository, so a scraper presents a token like anyone
 * else (Prometheus' bearer_token_file; README "Metrics").
 */
#include <civetweb.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/util.h"
#include "server/internal.h"

/* url without "user:password@" (never in a label). */
static void metrics_clean_url(const char *url, char *out, size_t len)
{
    const char *host = strstr(url, "://"), *at;
    if (!host) {
        str_copy(out, url, len);
        return;
    }
    host += 3;
    at = strchr(host, '@');
    if (!at || (strchr(host, '/') && strchr(host, '/') < at)) {
        str_copy(out, url, len);
        return;
    }
    snprintf(out, len, "%.*s%s", (int)(host - url), url, at + 1);
}

static const char *metrics_str(const json_t *obj, const char *a, const char *b)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, a), b));
    return s ? s : "";
}

/* argocd_app_info for every stored application. */
static int metrics_apps(server *srv, struct buf *out)
{
    char **names = NULL;
    size_t n = 0, i;

    if (store_app_list(srv->st, &names, &n) < 0)
        return -1;
    metrics_header(out, "argocd_app_info", "gauge",
                   "Information about an application; the value is always 1.");
    for (i = 0; i < n; i++) {
        char *text = NULL, repo[512];
        struct store_app_status st = {0};
        json_t *app = NULL, *spec, *source;
        int have_status;

        if (store_app_get(srv->st, names[i], &text) < 0 || !(app = json_loads(text, 0, NULL))) {
            err_clear(); /* deleted meanwhile */
            free(text);
            continue;
        }
        have_status = store_app_status_get(srv->st, names[i], &st) == 0;
        err_clear();
        spec = json_object_get(app, "spec");
        source = json_object_get(spec, "source");
        if (!source)
            source = json_array_get(json_object_get(spec, "sources"), 0);
        metrics_clean_url(metrics_str(spec, "source", "repoURL")[0]
                              ? metrics_str(spec, "source", "repoURL")
                              : (json_string_value(json_object_get(source, "repoURL"))
                                     ? json_string_value(json_object_get(source, "repoURL"))
                                     : ""),
                          repo, sizeof(repo));
        {
            const char *project = json_string_value(json_object_get(spec, "project"));
            const char *labels[] = {
                "name",
                names[i],
                "namespace",
                metrics_str(app, "metadata", "namespace")[0]
                    ? metrics_str(app, "metadata", "namespace")
                    : "argocd",
                "project",
                project ? project : "default",
                "sync_status",
                have_status && st.sync_status[0] ? st.sync_status : "Unknown",
                "health_status",
                have_status && st.health && st.health[0] ? st.health : "Unknown",
                "repo",
                repo,
                "dest_server",
                metrics_str(spec, "destination", "server"),
                "dest_namespace",
                metrics_str(spec, "destination", "namespace"),
                NULL,
            };
            metrics_sample(out, "argocd_app_info", labels, 1);
        }
        if (have_status)
            store_app_status_dispose(&st);
        json_decref(app);
        free(text);
    }
    store_names_free(names, n);
    return 0;
}

/* Seconds since the epoch at which this process started, from
 * /proc/self/stat (ticks after boot) and /proc/stat (boot time); 0 when
 * either cannot be read. */
static double metrics_start_time(void)
{
    char line[1024], *p;
    unsigned long long ticks = 0, btime = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    int field;

    if (!f)
        return 0;
    p = fgets(line, sizeof(line), f);
    fclose(f);
    /* the command name may hold spaces: count fields after its ')' */
    if (!p || !(p = strrchr(line, ')')))
        return 0;
    for (field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return 0;
    ticks = strtoull(p + 1, NULL, 10);
    if (!(f = fopen("/proc/stat", "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "btime ", 6))
            btime = strtoull(line + 6, NULL, 10);
    fclose(f);
    if (!btime)
        return 0;
    return (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static void metrics_process(server *srv, struct buf *out)
{
    struct rusage ru;
    unsigned long long size = 0, resident = 0;
    double start = metrics_start_time();
    FILE *f = fopen("/proc/self/statm", "r");
    long page = sysconf(_SC_PAGESIZE);
    DIR *d;
    size_t fds = 0;

    if (f) {
        char line[128], *end;
        if (fgets(line, sizeof(line), f)) {
            size = strtoull(line, &end, 10);
            resident = strtoull(end, NULL, 10);
        }
        fclose(f);
    }
    memset(&ru, 0, sizeof(ru));
    getrusage(RUSAGE_SELF, &ru);
    metrics_header(out, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.");
    metrics_sample(out, "process_cpu_seconds_total", NULL,
                   (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    metrics_header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    metrics_sample(out, "process_resident_memory_bytes", NULL, (double)(resident * (size_t)page));
    metrics_header(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    metrics_sample(out, "process_virtual_memory_bytes", NULL, (double)(size * (size_t)page));
    metrics_header(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.");
    metrics_sample(out, "process_start_time_seconds", NULL,
                   start > 0 ? start : (double)srv->started);
    if ((d = opendir("/proc/self/fd")) != NULL) {
        while (readdir(d))
            fds++;
        closedir(d);
        metrics_header(out, "process_open_fds", "gauge", "Number of open file descriptors.");
        metrics_sample(out, "process_open_fds", NULL, (double)(fds > 2 ? fds - 2 : 0));
    }
}

int server_get_metrics(server *srv, struct mg_connection *conn, const char *arg)
{
    struct buf out = BUF_INIT;
    int status;

    (void)arg;
    if (metrics_apps(srv, &out) < 0) {
        buf_dispose(&out);
        return server_internal_error(conn, "metrics: listing applications");
    }
    if (srv->actions.metrics)
        srv->actions.metrics(srv->actions.ctx, &out);
    metrics_process(srv, &out);
    status = server_send_text(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
                              out.ptr ? out.ptr : "", out.len, NULL);
    buf_dispose(&out);
    return status;
}
