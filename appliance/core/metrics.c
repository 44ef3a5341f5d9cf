/*
 * The Prometheus text format's few rules: one sample a line, label values
 * quoted with \\, \" and \n escaped, histogram buckets cumulative with a
 * final le="+Inf" equal to _count. Counts are kept per bucket (one atomic
 * add per observation) and summed only when written.
 */
#include "core/metrics.h"

#include <stdio.h>

void metrics_inc(unsigned long *counter)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

unsigned long metrics_get(const unsigned long *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void metrics_hist_observe(struct metrics_hist *h, double seconds)
{
    size_t i;

    if (!(seconds > 0))
        seconds = 0;
    for (i = 0; i < h->n_bounds && i < METRICS_MAX_BUCKETS; i++)
        if (seconds <= h->bounds[i])
            break;
    __atomic_add_fetch(&h->counts[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&h->sum_us, (unsigned long long)(seconds * 1e6 + 0.5), __ATOMIC_RELAXED);
}

void metrics_header(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_labels(struct buf *out, const char *const *labels, const char *le)
{
    size_t i;
    int any = 0;

    for (i = 0; labels && labels[i]; i += 2) {
        const char *v = labels[i + 1] ? labels[i + 1] : "";
        buf_printf(out, "%s%s=\"", any ? "," : "{", labels[i]);
        for (; *v; v++) {
            if (*v == '\\' || *v == '"')
                buf_putc(out, '\\');
            if (*v == '\n')
                buf_puts(out, "\\n");
            else
                buf_putc(out, *v);
        }
        buf_putc(out, '"');
        any = 1;
    }
    if (le) {
        buf_printf(out, "%sle=\"%s\"", any ? "," : "{", le);
        any = 1;
    }
    if (any)
        buf_putc(out, '}');
}

/* Whole numbers (counts) in full; others (seconds, kept in
 * microseconds) to the microsecond. */
static void metrics_value(struct buf *out, double v)
{
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        buf_printf(out, " %lld\n", (long long)v);
    else
        buf_printf(out, " %.6f\n", v);
}

void metrics_sample(struct buf *out, const char *name, const char *const *labels, double value)
{
    buf_puts(out, name);
    metrics_labels(out, labels, NULL);
    metrics_value(out, value);
}

void metrics_hist_write(struct buf *out, const char *name, const char *const *labels,
                        const struct metrics_hist *h)
{
    unsigned long total = 0;
    char le[32];
    size_t i;

    for (i = 0; i <= h->n_bounds && i <= METRICS_MAX_BUCKETS; i++) {
        total += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
        if (i < h->n_bounds)
            snprintf(le, sizeof(le), "%g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        buf_printf(out, "%s_bucket", name);
        metrics_labels(out, labels, le);
        metrics_value(out, (double)total);
    }
    buf_printf(out, "%s_sum", name);
    metrics_labels(out, labels, NULL);
    metrics_value(out, (double)__atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) / 1e6);
    buf_printf(out, "%s_count", name);
    metrics_labels(out, labels, NULL);
    metrics_value(out, (double)total);
}
