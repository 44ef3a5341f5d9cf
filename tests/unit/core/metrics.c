/*
 * Tests for appliance/core/metrics.c: the exact text Prometheus reads
 * (cumulative buckets ending in +Inf equal to _count, label values
 * escaped so outside text cannot forge a line) and counting from several
 * threads at once without losing an event.
 */
#include "core/metrics.h"

#include <pthread.h>

#include "core/buf.h"
#include "test.h"

static const double bounds[] = {0.1, 1, 10};

TEST(histogram_text)
{
    struct metrics_hist h = METRICS_HIST_INIT(bounds);
    struct buf out = BUF_INIT;
    const char *const labels[] = {"verb", "GET", NULL};

    metrics_hist_observe(&h, 0.05);
    metrics_hist_observe(&h, 0.1); /* on a bound: that bucket (le) */
    metrics_hist_observe(&h, 0.5);
    metrics_hist_observe(&h, 99);
    metrics_hist_observe(&h, -1); /* a clock step back counts as 0 */
    metrics_hist_write(&out, "x_seconds", labels, &h);
    CHECK_STR(buf_cstr(&out), "x_seconds_bucket{verb=\"GET\",le=\"0.1\"} 3\n"
                              "x_seconds_bucket{verb=\"GET\",le=\"1\"} 4\n"
                              "x_seconds_bucket{verb=\"GET\",le=\"10\"} 4\n"
                              "x_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 5\n"
                              "x_seconds_sum{verb=\"GET\"} 99.650000\n"
                              "x_seconds_count{verb=\"GET\"} 5\n");
    buf_dispose(&out);
}

TEST(labels_escaped)
{
    struct buf out = BUF_INIT;
    const char *const labels[] = {"repo", "a\"b\\c\nx 1\n", "empty", NULL, NULL};

    metrics_header(&out, "y_total", "counter", "help text.");
    metrics_sample(&out, "y_total", labels, 3);
    metrics_sample(&out, "z", NULL, 0.25);
    CHECK_STR(buf_cstr(&out), "# HELP y_total help text.\n# TYPE y_total counter\n"
                              "y_total{repo=\"a\\\"b\\\\c\\nx 1\\n\",empty=\"\"} 3\n"
                              "z 0.250000\n");
    buf_dispose(&out);
}

static unsigned long shared;
static struct metrics_hist shared_hist = METRICS_HIST_INIT(bounds);

static void *counter_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        metrics_inc(&shared);
        metrics_hist_observe(&shared_hist, 0.5);
    }
    return NULL;
}

TEST(counts_from_threads)
{
    pthread_t t[4];
    struct buf out = BUF_INIT;
    int i;

    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, counter_thread, NULL);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(metrics_get(&shared) == 400000);
    metrics_hist_write(&out, "t", NULL, &shared_hist);
    CHECK_CONTAINS(buf_cstr(&out), "t_bucket{le=\"1\"} 400000\n");
    CHECK_CONTAINS(buf_cstr(&out), "t_sum 200000\n");
    buf_dispose(&out);
}

int main(void)
{
    RUN(histogram_text);
    RUN(labels_escaped);
    RUN(counts_from_threads);
    return TEST_END();
}
