/*
 * One draw per request decides its fate, with the shares laid end to end
 * (drop, then 500, then 429), so the shares are exact proportions and
 * their sum may not exceed 1. Latency is added to every API request
 * before that draw, outside the API lock.
 */
#include "faults.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"
#include "status.h"

/* Bounds that keep a typo from hanging a test run. */
#define FAULTS_MAX_LATENCY_MS 60000
#define FAULTS_MAX_RETRY_AFTER 3600

#define FAULTS_MAX_PREFIX 256

struct faults_settings {
    long latency_ms;
    double rate429, rate500, drop_rate;
    long retry_after;
    char path_prefix[FAULTS_MAX_PREFIX]; /* "" = every API path */
};

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static struct faults_settings faults_cur;
static uint64_t faults_requests, faults_latency, faults_429, faults_500, faults_drop,
    faults_watch_cuts;
/* Requests by method (the last slot: any other method), with the dry runs
 * and watches among them, so a benchmark can prove a quiet client sent no
 * apply: counted before any fault is drawn, like faults_requests. */
static const char *const faults_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "other"};
#define FAULTS_NMETHODS (sizeof(faults_methods) / sizeof(faults_methods[0]))
static uint64_t faults_by_method[FAULTS_NMETHODS], faults_dry_runs, faults_watches;

static void faults_defaults(struct faults_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->retry_after = 1;
}

void faults_init(void)
{
    pthread_mutex_lock(&faults_lock);
    faults_defaults(&faults_cur);
    faults_requests = faults_latency = faults_429 = faults_500 = faults_drop = faults_watch_cuts =
        0;
    memset(faults_by_method, 0, sizeof(faults_by_method));
    faults_dry_runs = faults_watches = 0;
    pthread_mutex_unlock(&faults_lock);
}

void faults_dispose(void)
{
}

/* A uniform draw in [0, 1). */
static double faults_draw(void)
{
    uint64_t r = 0;
    util_random(&r, sizeof(r));
    return (double)(r >> 11) / 9007199254740992.0;
}

static void faults_sleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The slot of method in faults_by_method. */
static size_t faults_method_slot(const char *method)
{
    size_t i;
    for (i = 0; i + 1 < FAULTS_NMETHODS; i++)
        if (strcmp(method, faults_methods[i]) == 0)
            break;
    return i;
}

/* 1 if query parameter name is one of the two values. */
static int faults_query_is(const struct httpd_request *req, const char *name, const char *v1,
                           const char *v2)
{
    char *v = httpd_query_get(req, name);
    int is = v && (strcmp(v, v1) == 0 || (v2 && strcmp(v, v2) == 0));
    free(v);
    return is;
}

int faults_apply(const struct httpd_request *req, struct httpd_response *res)
{
    struct faults_settings s;
    double d;
    size_t slot = faults_method_slot(req->method);
    int dry_run = faults_query_is(req, "dryRun", "All", NULL);
    int watch = faults_query_is(req, "watch", "true", "1");
    pthread_mutex_lock(&faults_lock);
    s = faults_cur;
    faults_requests++;
    faults_by_method[slot]++;
    faults_dry_runs += (uint64_t)dry_run;
    faults_watches += (uint64_t)watch;
    /* A prefix narrows the faults to one group or kind, so one part of
     * the API can fail while the rest answers. */
    if (s.path_prefix[0] && !str_has_prefix(req->path, s.path_prefix)) {
        pthread_mutex_unlock(&faults_lock);
        return 0;
    }
    if (s.latency_ms > 0)
        faults_latency++;
    pthread_mutex_unlock(&faults_lock);

    if (s.latency_ms > 0)
        faults_sleep(s.latency_ms);
    if (s.drop_rate <= 0 && s.rate500 <= 0 && s.rate429 <= 0)
        return 0;
    d = faults_draw();
    if (d < s.drop_rate) {
        pthread_mutex_lock(&faults_lock);
        faults_drop++;
        pthread_mutex_unlock(&faults_lock);
        res->drop = 1;
        return 1;
    }
    d -= s.drop_rate;
    if (d < s.rate500) {
        pthread_mutex_lock(&faults_lock);
        faults_500++;
        pthread_mutex_unlock(&faults_lock);
        status_reply(res, 500, "InternalError",
                     json_pack("{s:[{s:s}]}", "causes", "message", "fault injected by kubesim"),
                     "Internal error occurred: fault injected by kubesim");
        return 1;
    }
    d -= s.rate500;
    if (d < s.rate429) {
        pthread_mutex_lock(&faults_lock);
        faults_429++;
        pthread_mutex_unlock(&faults_lock);
        /* The shape the API server's priority and fairness answers with. */
        status_reply(res, 429, "TooManyRequests",
                     json_pack("{s:I}", "retryAfterSeconds", (json_int_t)s.retry_after),
                     "Too many requests, please try again later.");
        snprintf(res->headers, sizeof(res->headers), "Retry-After: %ld\r\n", s.retry_after);
        return 1;
    }
    return 0;
}

static int faults_rate(const json_t *v, const char *key, double *out)
{
    double d;
    if (!json_is_number(v))
        return err_set(ERR_INVALID, "faults: %s: want a number from 0 to 1", key);
    d = json_number_value(v);
    if (!(d >= 0 && d <= 1) || isnan(d))
        return err_set(ERR_INVALID, "faults: %s: %g is not between 0 and 1", key, d);
    *out = d;
    return 0;
}

static int faults_int(const json_t *v, const char *key, long max, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return err_set(ERR_INVALID, "faults: %s: want a whole number from 0 to %ld", key, max);
    *out = (long)json_integer_value(v);
    return 0;
}

int faults_update(const json_t *patch)
{
    struct faults_settings s;
    const char *k;
    json_t *v;
    int rc = 0;
    if (!json_is_object(patch))
        return err_set(ERR_INVALID, "faults: want a JSON object");
    pthread_mutex_lock(&faults_lock);
    s = faults_cur;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (strcmp(k, "latencyMs") == 0)
            rc = faults_int(v, k, FAULTS_MAX_LATENCY_MS, &s.latency_ms);
        else if (strcmp(k, "rate429") == 0)
            rc = faults_rate(v, k, &s.rate429);
        else if (strcmp(k, "rate500") == 0)
            rc = faults_rate(v, k, &s.rate500);
        else if (strcmp(k, "dropRate") == 0)
            rc = faults_rate(v, k, &s.drop_rate);
        else if (strcmp(k, "retryAfterSeconds") == 0)
            rc = faults_int(v, k, FAULTS_MAX_RETRY_AFTER, &s.retry_after);
        else if (strcmp(k, "pathPrefix") == 0)
            rc = json_is_string(v) && strlen(json_string_value(v)) < FAULTS_MAX_PREFIX
                     ? (str_copy(s.path_prefix, json_string_value(v), FAULTS_MAX_PREFIX), 0)
                     : err_set(ERR_INVALID,
                               "faults: pathPrefix: want a string of at most %d "
                               "characters",
                               FAULTS_MAX_PREFIX - 1);
        else if (strcmp(k, "cutWatches") == 0)
            rc = 0; /* an action, not a setting: the admin endpoint does it */
        else
            rc = err_set(ERR_INVALID,
                         "faults: unknown key %s (want latencyMs, rate429, rate500, dropRate, "
                         "retryAfterSeconds, pathPrefix, cutWatches)",
                         k);
        if (rc < 0)
            break;
    }
    if (rc == 0 && s.rate429 + s.rate500 + s.drop_rate > 1.0 + 1e-9)
        rc = err_set(ERR_INVALID, "faults: rate429 + rate500 + dropRate is %g; at most 1",
                     s.rate429 + s.rate500 + s.drop_rate);
    if (rc == 0)
        faults_cur = s;
    pthread_mutex_unlock(&faults_lock);
    return rc;
}

void faults_reset(void)
{
    pthread_mutex_lock(&faults_lock);
    faults_defaults(&faults_cur);
    pthread_mutex_unlock(&faults_lock);
}

json_t *faults_settings(void)
{
    struct faults_settings s;
    pthread_mutex_lock(&faults_lock);
    s = faults_cur;
    pthread_mutex_unlock(&faults_lock);
    return json_pack("{s:I, s:f, s:f, s:f, s:I, s:s}", "latencyMs", (json_int_t)s.latency_ms,
                     "rate429", s.rate429, "rate500", s.rate500, "dropRate", s.drop_rate,
                     "retryAfterSeconds", (json_int_t)s.retry_after, "pathPrefix", s.path_prefix);
}

json_t *faults_counters(void)
{
    json_t *c, *by = json_object();
    pthread_mutex_lock(&faults_lock);
    for (size_t i = 0; i < FAULTS_NMETHODS; i++)
        json_object_set_new(by, faults_methods[i], json_integer((json_int_t)faults_by_method[i]));
    c = json_pack("{s:I, s:o, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}", "requests",
                  (json_int_t)faults_requests, "byMethod", by, "dryRun",
                  (json_int_t)faults_dry_runs, "watch", (json_int_t)faults_watches, "injected",
                  "latency", (json_int_t)faults_latency, "429", (json_int_t)faults_429, "500",
                  (json_int_t)faults_500, "drop", (json_int_t)faults_drop, "watchCut",
                  (json_int_t)faults_watch_cuts);
    pthread_mutex_unlock(&faults_lock);
    return c;
}

void faults_count_watch_cuts(unsigned n)
{
    pthread_mutex_lock(&faults_lock);
    faults_watch_cuts += n;
    pthread_mutex_unlock(&faults_lock);
}
