/*
 * Counters and histograms for the Prometheus text format (exposition
 * 0.0.4), cheap enough to update on every Kubernetes or Git request.
 *
 * Each module keeps its own metrics as static objects and writes them
 * itself (kube_metrics_write, mirror_metrics_write, ...): a registry would
 * need locking and allocation on the hot path, while a fixed set of
 * statics updated with relaxed atomics costs one instruction per event and
 * nothing at rest. Histograms have fixed bucket bounds, as Prometheus
 * expects (a bucket's meaning must not change between scrapes).
 *
 * Label values are escaped here (backslash, quote, newline), so a label
 * taken from outside input (an app or repository name) cannot forge a
 * line of the exposition.
 */
#ifndef EDGECD_CORE_METRICS_H
#define EDGECD_CORE_METRICS_H

#include <stddef.h>

#include "core/buf.h"

#define METRICS_MAX_BUCKETS 12

/* A histogram with up to METRICS_MAX_BUCKETS finite upper bounds
 * (ascending, seconds); +Inf is implied. Zero-initialise and set bounds
 * and n_bounds (METRICS_HIST_INIT); observe from any thread. */
struct metrics_hist {
    const double *bounds;
    size_t n_bounds;
    unsigned long counts[METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative */
    unsigned long long sum_us;                     /* total observed, microseconds */
};
#define METRICS_HIST_INIT(bounds)                                                                  \
    {                                                                                              \
        (bounds), sizeof(bounds) / sizeof((bounds)[0]), {0}, 0                                     \
    }

/* Record one observation of seconds (negative counts as 0). Any thread. */
void metrics_hist_observe(struct metrics_hist *h, double seconds);

/* Add one to *counter. Any thread. */
void metrics_inc(unsigned long *counter);
/* Read *counter. Any thread. */
unsigned long metrics_get(const unsigned long *counter);

/* "# HELP name help\n# TYPE name type\n" */
void metrics_header(struct buf *out, const char *name, const char *type, const char *help);

/* name{labels} value: labels is NULL or a NULL-terminated list of name,
 * value pairs (values escaped). */
void metrics_sample(struct buf *out, const char *name, const char *const *labels, double value);

/* The _bucket (cumulative, le="..."), _sum and _count lines of h, each
 * with labels (as for metrics_sample) before le. */
void metrics_hist_write(struct buf *out, const char *name, const char *const *labels,
                        const struct metrics_hist *h);

#endif
