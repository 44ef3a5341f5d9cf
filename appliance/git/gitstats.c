/*
 * The table behind git/gitstats.h: one row per repository URL, found by a
 * linear scan under a mutex. A fetch takes milliseconds to seconds, so
 * the scan over at most GITSTATS_MAX_REPOS rows costs nothing beside it;
 * rows are never removed (a counter must not go back).
 */
#include "git/gitstats.h"

#include <pthread.h>
#include <string.h>

#include "core/metrics.h"
#include "core/util.h"
#include "git/remote.h"

static const double gitstats_bounds[] = {0.1, 0.25, 0.5, 1, 2, 4, 10, 20};
static const char *const gitstats_types[] = {"ls-remote", "fetch"};

struct gitstats_row {
    char repo[512];
    unsigned long total[2];
    struct metrics_hist hist[2];
};

static pthread_mutex_t gitstats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct gitstats_row gitstats_rows[GITSTATS_MAX_REPOS + 1]; /* + "other" */
static size_t gitstats_n;

void gitstats_observe(const char *url, enum gitstats_type type, double seconds)
{
    char repo[512];
    struct gitstats_row *row = NULL;
    size_t i;

    remote_redact(url ? url : "", repo, sizeof(repo));
    pthread_mutex_lock(&gitstats_mu);
    for (i = 0; i < gitstats_n; i++)
        if (!strcmp(gitstats_rows[i].repo, repo))
            row = &gitstats_rows[i];
    if (!row && gitstats_n < GITSTATS_MAX_REPOS)
        row = &gitstats_rows[gitstats_n++];
    else if (!row)
        row = &gitstats_rows[GITSTATS_MAX_REPOS];
    if (!row->repo[0]) {
        str_copy(row->repo, row == &gitstats_rows[GITSTATS_MAX_REPOS] ? "other" : repo,
                 sizeof(row->repo));
        for (i = 0; i < 2; i++) {
            row->hist[i].bounds = gitstats_bounds;
            row->hist[i].n_bounds = sizeof(gitstats_bounds) / sizeof(gitstats_bounds[0]);
        }
    }
    row->total[type]++;
    metrics_hist_observe(&row->hist[type], seconds);
    pthread_mutex_unlock(&gitstats_mu);
}

void gitstats_write(struct buf *out)
{
    size_t i, t;

    pthread_mutex_lock(&gitstats_mu);
    metrics_header(out, "argocd_git_request_total", "counter",
                   "Git requests by repository and type (ls-remote, fetch).");
    for (i = 0; i <= GITSTATS_MAX_REPOS; i++) {
        for (t = 0; t < 2 && gitstats_rows[i].repo[0]; t++) {
            const char *const labels[] = {"repo", gitstats_rows[i].repo, "request_type",
                                          gitstats_types[t], NULL};
            metrics_sample(out, "argocd_git_request_total", labels,
                           (double)gitstats_rows[i].total[t]);
        }
    }
    metrics_header(out, "argocd_git_request_duration_seconds", "histogram",
                   "Git request duration by repository and type.");
    for (i = 0; i <= GITSTATS_MAX_REPOS; i++) {
        for (t = 0; t < 2 && gitstats_rows[i].repo[0]; t++) {
            const char *const labels[] = {"repo", gitstats_rows[i].repo, "request_type",
                                          gitstats_types[t], NULL};
            metrics_hist_write(out, "argocd_git_request_duration_seconds", labels,
                               &gitstats_rows[i].hist[t]);
        }
    }
    pthread_mutex_unlock(&gitstats_mu);
}
