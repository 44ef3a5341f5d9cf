/*
 * The Kubernetes client on top of http.c. Decisions worth knowing:
 *
 * - Threads share one client. Each lock guards one thing and is never held
 *   across network I/O, except refresh_mu, which only serialises discovery
 *   passes (so ten workers missing the same new kind cause one pass):
 *     pool_mu  the connection pool and the counters;
 *     auth_mu  the token (re-read from tokenFile when it rotates);
 *     disc_mu  the discovery cache and the recent-miss list.
 * - The pool holds up to pool_size http_conn, each a keep-alive connection
 *   with its own TLS state (mbedTLS contexts are not shared across
 *   threads). A caller takes one, sends, gives it back; with all busy it
 *   waits, within the call's deadline.
 * - Retries live here, not in http.c, because only here is it known
 *   whether a call may be repeated: server-side apply with force is
 *   idempotent, a create is not. http.c reports how far a request got
 *   (enum http_fate); a call that never left is always sent again.
 * - Discovery is lazy: the first kind we cannot resolve triggers a full
 *   pass (GET /api/v1, GET /apis, then each group's preferred version).
 *   A later miss of the same kind within a second answers from the miss
 *   list instead (a manifest full of one missing kind must not hammer the
 *   server), except after this client changed a CRD or APIService, which
 *   clears the list: that is how a CRD applied a moment ago becomes usable
 *   in the same sync. A version that is not the preferred one is fetched
 *   on demand when asked for.
 * - Entries are never freed before the client is: callers hold
 *   struct kube_resource pointers across refreshes. A refresh that changes
 *   an entry retires it (kept, no longer found) and adds a new one.
 * - Apply sends the object as JSON with the apply-patch+yaml type: JSON is
 *   YAML, and it spares a YAML emitter on the hot path.
 * - Errors from the API server are read from the Status object, since its
 *   message ("configmaps \"x\" not found") is what an operator can act on.
 */
#include "kube/client.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "kube/http.h"

#define KUBE_TOKEN_MAX 65536
#define KUBE_POOL_MAX 16
/* A kind the server did not have is not asked for again sooner. */
#define KUBE_MISS_TTL_MS 1000
#define KUBE_MISS_MAX 256
/* delete_wait polls from this interval up to the cap. */
#define KUBE_WAIT_FIRST_MS 50
#define KUBE_WAIT_MAX_MS 2000

struct kube_entry {
    struct kube_resource pub; /* points into the strings below */
    char *group, *version, *kind, *resource;
    int retired;
    unsigned long seen_gen; /* the discovery pass (refresh_gen + 1) that last listed it */
};

struct kube_gv {
    char *group, *version;
    int preferred;
    int fetched;
    int err_code; /* why fetching it failed last time; 0 if it did not */
    char *err_msg;
};

struct kube_miss {
    char *key; /* "group/version/kind"; version "" = preferred */
    int64_t at_ms;
};

struct kube_client {
    struct kube_client_options opts;
    char *server;
    char *namespace_;

    /* What a new pooled connection needs, copied from the kubeconfig. */
    char *ca_pem, *cert_pem, *key_pem, *server_name;
    size_t ca_len, cert_len, key_len;
    int insecure;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    http_conn *idle[KUBE_POOL_MAX];
    int n_idle, n_conns;
    unsigned long n_requests, n_retries, n_discoveries;

    pthread_mutex_t auth_mu;
    char *token;      /* inline token or the last read from token_file */
    char *token_file; /* NULL when none */
    char *basic;      /* base64 of user:password, or NULL */
    int token_stale;  /* a 401 asked for a fresh read */
    int64_t token_checked_ms;
    struct stat token_st; /* of token_file when last read */

    pthread_mutex_t refresh_mu;
    pthread_mutex_t disc_mu;
    unsigned long refresh_gen; /* discovery passes completed */
    struct kube_entry **entries;
    size_t n_entries, cap_entries;
    struct kube_gv *gvs; /* from /apis, all versions; rebuilt on refresh */
    size_t n_gvs;
    struct kube_miss *misses;
    size_t n_misses;
};

static void kube_zero_free(char *s, size_t len)
{
    if (!s)
        return;
    mbedtls_platform_zeroize(s, len);
    free(s);
}

static char *kube_memdup(const char *p, size_t len)
{
    char *d;
    if (!p)
        return NULL;
    d = xmalloc(len + 1);
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

static int kube_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- lifecycle ---- */

static int kube_conn_new(kube_client *c, http_conn **out)
{
    struct http_tls tls;
    struct http_options ho = HTTP_OPTIONS_INIT;
    memset(&tls, 0, sizeof(tls));
    tls.ca_pem = c->ca_pem;
    tls.ca_pem_len = c->ca_len;
    tls.client_cert_pem = c->cert_pem;
    tls.client_cert_pem_len = c->cert_len;
    tls.client_key_pem = c->key_pem;
    tls.client_key_pem_len = c->key_len;
    tls.insecure = c->insecure;
    tls.server_name = c->server_name;
    ho.connect_timeout_ms = c->opts.connect_timeout_ms;
    ho.io_timeout_ms = c->opts.io_timeout_ms;
    ho.max_response = c->opts.max_response;
    return http_conn_new(out, c->server, &tls, &ho);
}

int kube_client_new(kube_client **out, const struct kubeconfig *kc)
{
    return kube_client_new_opts(out, kc, NULL);
}

int kube_client_new_opts(kube_client **out, const struct kubeconfig *kc,
                         const struct kube_client_options *opts)
{
    static const struct kube_client_options defaults = KUBE_CLIENT_OPTIONS_INIT;
    pthread_condattr_t ca;
    kube_client *c;
    http_conn *first = NULL;
    int rc;

    *out = NULL;
    if (!kc->server)
        return err_set(ERR_INVALID, "kube client: no server");
    c = xcalloc(1, sizeof(*c));
    c->opts = opts ? *opts : defaults;
    c->opts.connect_timeout_ms = kube_clamp(c->opts.connect_timeout_ms, 1, 3600000);
    c->opts.io_timeout_ms = kube_clamp(c->opts.io_timeout_ms, 1, 3600000);
    c->opts.request_timeout_ms = kube_clamp(c->opts.request_timeout_ms, 1, 24 * 3600000);
    c->opts.max_attempts = kube_clamp(c->opts.max_attempts, 1, 100);
    c->opts.retry_base_ms = kube_clamp(c->opts.retry_base_ms, 1, 3600000);
    c->opts.retry_max_ms = kube_clamp(c->opts.retry_max_ms, c->opts.retry_base_ms, 3600000);
    c->opts.retry_after_max_ms = kube_clamp(c->opts.retry_after_max_ms, 0, 3600000);
    c->opts.pool_size = kube_clamp(c->opts.pool_size, 1, KUBE_POOL_MAX);
    c->opts.list_page_size = kube_clamp(c->opts.list_page_size, 1, 100000);
    c->opts.token_check_ms = kube_clamp(c->opts.token_check_ms, 0, 3600000);
    if (c->opts.max_response == 0)
        c->opts.max_response = defaults.max_response;

    pthread_mutex_init(&c->pool_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->pool_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->auth_mu, NULL);
    pthread_mutex_init(&c->refresh_mu, NULL);
    pthread_mutex_init(&c->disc_mu, NULL);

    c->server = xstrdup(kc->server);
    c->namespace_ = xstrdup(kc->namespace_ && kc->namespace_[0] ? kc->namespace_ : "default");
    c->ca_pem = kube_memdup(kc->ca_pem, kc->ca_pem_len);
    c->ca_len = kc->ca_pem_len;
    c->cert_pem = kube_memdup(kc->client_cert_pem, kc->client_cert_pem_len);
    c->cert_len = kc->client_cert_pem_len;
    c->key_pem = kube_memdup(kc->client_key_pem, kc->client_key_pem_len);
    c->key_len = kc->client_key_pem_len;
    c->server_name = xstrdup(kc->tls_server_name);
    c->insecure = kc->insecure;
    c->token = xstrdup(kc->token);
    c->token_file = xstrdup(kc->token_file);
    if (kc->username) {
        char *pair = xasprintf("%s:%s", kc->username, kc->password ? kc->password : "");
        size_t plen = strlen(pair), n = 0;
        c->basic = xmalloc(4 * (plen / 3 + 1) + 1);
        mbedtls_base64_encode((unsigned char *)c->basic, 4 * (plen / 3 + 1) + 1, &n,
                              (const unsigned char *)pair, plen);
        c->basic[n] = '\0';
        kube_zero_free(pair, plen);
    }
    /* The first connection now, so a bad certificate or key is reported
     * by kube_client_new, not by the first request. */
    if ((rc = kube_conn_new(c, &first)) < 0)
        goto fail;
    c->idle[c->n_idle++] = first;
    c->n_conns = 1;
    *out = c;
    return 0;
fail:
    kube_client_free(c);
    return rc;
}

static void kube_gvs_clear(kube_client *c)
{
    for (size_t i = 0; i < c->n_gvs; i++) {
        free(c->gvs[i].group);
        free(c->gvs[i].version);
        free(c->gvs[i].err_msg);
    }
    free(c->gvs);
    c->gvs = NULL;
    c->n_gvs = 0;
}

static void kube_misses_clear(kube_client *c)
{
    for (size_t i = 0; i < c->n_misses; i++)
        free(c->misses[i].key);
    free(c->misses);
    c->misses = NULL;
    c->n_misses = 0;
}

void kube_client_free(kube_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_idle; i++)
        http_conn_free(c->idle[i]);
    free(c->server);
    free(c->namespace_);
    free(c->ca_pem);
    free(c->cert_pem);
    kube_zero_free(c->key_pem, c->key_len);
    free(c->server_name);
    kube_zero_free(c->token, c->token ? strlen(c->token) : 0);
    free(c->token_file);
    kube_zero_free(c->basic, c->basic ? strlen(c->basic) : 0);
    for (size_t i = 0; i < c->n_entries; i++) {
        struct kube_entry *e = c->entries[i];
        free(e->group);
        free(e->version);
        free(e->kind);
        free(e->resource);
        free(e);
    }
    free(c->entries);
    kube_gvs_clear(c);
    kube_misses_clear(c);
    pthread_mutex_destroy(&c->pool_mu);
    pthread_cond_destroy(&c->pool_cv);
    pthread_mutex_destroy(&c->auth_mu);
    pthread_mutex_destroy(&c->refresh_mu);
    pthread_mutex_destroy(&c->disc_mu);
    free(c);
}

const char *kube_client_namespace(const kube_client *c)
{
    return c->namespace_;
}

void kube_client_stats(kube_client *c, struct kube_client_stats *out)
{
    pthread_mutex_lock(&c->pool_mu);
    out->requests = c->n_requests;
    out->retries = c->n_retries;
    out->discoveries = c->n_discoveries;
    out->connections = c->n_conns;
    pthread_mutex_unlock(&c->pool_mu);
}

/* ---- the pool ---- */

/* Take a connection: an idle one, a new one while under pool_size, or the
 * next one given back before deadline_ms. */
static int kube_pool_take(kube_client *c, int64_t deadline_ms, http_conn **out)
{
    struct timespec ts;
    int rc;

    *out = NULL;
    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    pthread_mutex_lock(&c->pool_mu);
    for (;;) {
        if (c->n_idle > 0) {
            /* The most recently used one: likeliest to be still open. */
            *out = c->idle[--c->n_idle];
            pthread_mutex_unlock(&c->pool_mu);
            return 0;
        }
        if (c->n_conns < c->opts.pool_size) {
            c->n_conns++;
            pthread_mutex_unlock(&c->pool_mu);
            if ((rc = kube_conn_new(c, out)) < 0) {
                pthread_mutex_lock(&c->pool_mu);
                c->n_conns--;
                pthread_cond_signal(&c->pool_cv);
                pthread_mutex_unlock(&c->pool_mu);
            }
            return rc;
        }
        if (pthread_cond_timedwait(&c->pool_cv, &c->pool_mu, &ts) != 0 &&
            time_mono_ms() >= deadline_ms && c->n_idle == 0) {
            pthread_mutex_unlock(&c->pool_mu);
            return err_set(ERR_TIMEOUT, "%s: no free connection before the request deadline",
                           c->server);
        }
    }
}

static void kube_pool_put(kube_client *c, http_conn *conn)
{
    pthread_mutex_lock(&c->pool_mu);
    c->idle[c->n_idle++] = conn;
    pthread_cond_signal(&c->pool_cv);
    pthread_mutex_unlock(&c->pool_mu);
}

/* ---- authentication ---- */

/* Read token_file into c->token. auth_mu held. */
static int kube_token_read(kube_client *c, const struct stat *st)
{
    struct buf b = BUF_INIT;
    size_t n;
    char *start;
    int rc;

    if ((rc = fs_read_file(c->token_file, KUBE_TOKEN_MAX, &b)) < 0) {
        buf_dispose(&b);
        return err_prefix(rc, "tokenFile");
    }
    start = b.ptr ? b.ptr : "";
    n = b.len;
    while (n > 0 && isspace((unsigned char)start[n - 1]))
        n--;
    while (n > 0 && isspace((unsigned char)*start)) {
        start++;
        n--;
    }
    kube_zero_free(c->token, c->token ? strlen(c->token) : 0);
    c->token = xstrndup(start, n);
    if (st)
        c->token_st = *st;
    else
        memset(&c->token_st, 0, sizeof(c->token_st));
    c->token_stale = 0;
    if (b.ptr)
        mbedtls_platform_zeroize(b.ptr, b.len);
    buf_dispose(&b);
    return 0;
}

static int kube_stat_changed(const struct stat *a, const struct stat *b)
{
    return a->st_ino != b->st_ino || a->st_dev != b->st_dev || a->st_size != b->st_size ||
           a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* The Authorization header line for the next request (owned; zeroize
 * before freeing), or NULL for none. The kubelet rotates projected
 * service-account tokens by swapping the file: it is re-read when its
 * inode, size or mtime changed (checked every token_check_ms) or after a
 * 401. */
static int kube_auth_header(kube_client *c, char **out)
{
    int rc = 0;

    *out = NULL;
    pthread_mutex_lock(&c->auth_mu);
    if (c->token_file) {
        int64_t now = time_mono_ms();
        if (!c->token || c->token_stale || now - c->token_checked_ms >= c->opts.token_check_ms) {
            struct stat st;
            if (stat(c->token_file, &st) < 0) {
                /* Mid-rotation, or gone: keep the token we have, if any. */
                if (!c->token)
                    rc = err_set(ERR_NOTFOUND, "tokenFile %s: %s", c->token_file, strerror(errno));
            } else if (!c->token || c->token_stale || kube_stat_changed(&st, &c->token_st)) {
                rc = kube_token_read(c, &st);
            }
            c->token_checked_ms = now;
        }
    }
    if (rc == 0) {
        if (c->token && c->token[0])
            *out = xasprintf("Authorization: Bearer %s", c->token);
        else if (c->basic)
            *out = xasprintf("Authorization: Basic %s", c->basic);
    }
    pthread_mutex_unlock(&c->auth_mu);
    return rc;
}

/* After a 401: read the token file again before the next request. 1 if
 * there is a file to read (so trying again may help). */
static int kube_token_invalidate(kube_client *c)
{
    int has;
    pthread_mutex_lock(&c->auth_mu);
    has = c->token_file != NULL;
    c->token_stale = has;
    pthread_mutex_unlock(&c->auth_mu);
    return has;
}

/* ---- requests ---- */

struct kube_req {
    const char *method;
    const char *path;
    const char *content_type; /* NULL = no body type */
    const struct buf *body;   /* NULL = none */
    int idempotent;           /* repeating it is harmless */
    int64_t deadline_ms;      /* 0 = now + request_timeout_ms */
    int attempts;             /* out: requests sent */
};

static int kube_status_retryable(int status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Jittered exponential backoff for attempt n (1 = after the first try):
 * half the doubled delay fixed, half random, so clients that failed
 * together do not come back together. */
static int kube_backoff_ms(const kube_client *c, int n)
{
    int64_t d = c->opts.retry_base_ms;
    uint32_t r = 0;
    for (int i = 1; i < n && d < c->opts.retry_max_ms; i++)
        d *= 2;
    if (d > c->opts.retry_max_ms)
        d = c->opts.retry_max_ms;
    if (util_random(&r, sizeof(r)) < 0)
        r = (uint32_t)time_mono_ms();
    return (int)(d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1)));
}

/* Retry-After in seconds (the HTTP-date form is rare from API servers and
 * falls back to backoff), capped; -1 when absent or not a number. */
static int kube_retry_after_ms(const kube_client *c, const char *v)
{
    long secs;
    if (!v || str_to_long(v, 0, 86400, "Retry-After", &secs) < 0)
        return -1;
    if (secs * 1000 > c->opts.retry_after_max_ms)
        return c->opts.retry_after_max_ms;
    return (int)(secs * 1000);
}

static void kube_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The path without its query, for log lines. */
static void kube_log_retry(const struct kube_req *kr, const char *why, int attempt, int max,
                           int delay)
{
    size_t plen = strcspn(kr->path, "?");
    log_debug("kube: %s %.*s: %s; attempt %d of %d in %d ms", kr->method, (int)plen, kr->path, why,
              attempt + 1, max, delay);
}

/* Process-wide request metrics (all clients, all clusters): counted per
 * attempt by HTTP method and status, so retries and throttling show. */
static const char *const kube_metric_verbs[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "other"};
#define KUBE_METRIC_VERBS (sizeof(kube_metric_verbs) / sizeof(kube_metric_verbs[0]))
#define KUBE_METRIC_CODES 600 /* index 0: no answer; else the status */
static const double kube_metric_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};
static unsigned long kube_metric_count[KUBE_METRIC_VERBS][KUBE_METRIC_CODES];
static struct metrics_hist kube_metric_hist[KUBE_METRIC_VERBS] = {
    METRICS_HIST_INIT(kube_metric_bounds), METRICS_HIST_INIT(kube_metric_bounds),
    METRICS_HIST_INIT(kube_metric_bounds), METRICS_HIST_INIT(kube_metric_bounds),
    METRICS_HIST_INIT(kube_metric_bounds), METRICS_HIST_INIT(kube_metric_bounds),
};

static void kube_metric_observe(const char *method, int status, int64_t ms)
{
    size_t v;
    for (v = 0; v + 1 < KUBE_METRIC_VERBS; v++)
        if (!strcmp(method, kube_metric_verbs[v]))
            break;
    if (status < 0 || status >= KUBE_METRIC_CODES)
        status = 0;
    metrics_inc(&kube_metric_count[v][status]);
    metrics_hist_observe(&kube_metric_hist[v], (double)ms / 1000.0);
}

void kube_metrics_write(struct buf *out)
{
    char code[16];
    size_t v, s;

    metrics_header(out, "edgecd_kube_request_total", "counter",
                   "Kubernetes API requests by HTTP method and status (error: no answer).");
    for (v = 0; v < KUBE_METRIC_VERBS; v++) {
        for (s = 0; s < KUBE_METRIC_CODES; s++) {
            unsigned long n = metrics_get(&kube_metric_count[v][s]);
            if (!n)
                continue;
            if (s)
                snprintf(code, sizeof(code), "%zu", s);
            else
                str_copy(code, "error", sizeof(code));
            {
                const char *const labels[] = {"verb", kube_metric_verbs[v], "code", code, NULL};
                metrics_sample(out, "edgecd_kube_request_total", labels, (double)n);
            }
        }
    }
    metrics_header(out, "edgecd_kube_request_duration_seconds", "histogram",
                   "Kubernetes API request latency by HTTP method.");
    for (v = 0; v < KUBE_METRIC_VERBS; v++) {
        const char *const labels[] = {"verb", kube_metric_verbs[v], NULL};
        metrics_hist_write(out, "edgecd_kube_request_duration_seconds", labels,
                           &kube_metric_hist[v]);
    }
}

/* One API call with retries; resp is filled for any HTTP status (a
 * retryable one too, when the attempts or the deadline ran out). */
static int kube_call(kube_client *c, struct kube_req *kr, struct http_response *resp)
{
    int64_t deadline =
        kr->deadline_ms > 0 ? kr->deadline_ms : time_mono_ms() + c->opts.request_timeout_ms;
    int auth_retried = 0, rc = 0;
    char why[256];

    for (int attempt = 1;; attempt++) {
        const char *headers[4];
        char *auth = NULL, *ctype = NULL;
        http_conn *conn = NULL;
        enum http_fate fate = HTTP_FATE_REFUSED;
        struct http_req rq;
        size_t n = 0;
        int delay, retryable;

        kr->attempts = attempt;
        if ((rc = kube_auth_header(c, &auth)) < 0)
            return rc;
        headers[n++] = "Accept: application/json";
        if (auth)
            headers[n++] = auth;
        if (kr->content_type) {
            ctype = xasprintf("Content-Type: %s", kr->content_type);
            headers[n++] = ctype;
        }
        headers[n] = NULL;
        memset(&rq, 0, sizeof(rq));
        rq.method = kr->method;
        rq.path = kr->path;
        rq.headers = headers;
        rq.body = kr->body ? buf_cstr(kr->body) : NULL;
        rq.body_len = kr->body ? kr->body->len : 0;
        rq.deadline_ms = deadline;
        rq.idempotent = kr->idempotent;
        if ((rc = kube_pool_take(c, deadline, &conn)) == 0) {
            int64_t sent = time_mono_ms();
            rc = http_request_ex(conn, &rq, resp, &fate);
            kube_metric_observe(kr->method, rc == 0 ? resp->status : 0, time_mono_ms() - sent);
            kube_pool_put(c, conn);
            pthread_mutex_lock(&c->pool_mu);
            c->n_requests++;
            pthread_mutex_unlock(&c->pool_mu);
        }
        if (auth)
            kube_zero_free(auth, strlen(auth));
        free(ctype);
        if (conn == NULL)
            return rc;

        if (rc == 0) {
            /* A rotated token: read the file again and repeat once. The
             * server refused the request, so any verb may be repeated. */
            if (resp->status == 401 && !auth_retried && kube_token_invalidate(c)) {
                auth_retried = 1;
                log_debug("kube: %s %.*s: 401, reading the token file again", kr->method,
                          (int)strcspn(kr->path, "?"), kr->path);
                attempt--;
                continue;
            }
            if (!kube_status_retryable(resp->status) || !kr->idempotent)
                return 0;
            delay = kube_retry_after_ms(c, resp->retry_after);
            if (delay < 0)
                delay = kube_backoff_ms(c, attempt);
            snprintf(why, sizeof(why), "HTTP %d", resp->status);
        } else {
            /* Never reached the server: always safe. Dropped after
             * sending: only when repeating is harmless. */
            retryable = fate == HTTP_FATE_NOT_SENT ||
                        (fate == HTTP_FATE_SENT && kr->idempotent && rc == ERR_IO);
            if (!retryable)
                return rc;
            delay = kube_backoff_ms(c, attempt);
            str_copy(why, err_last(), sizeof(why));
        }
        if (attempt >= c->opts.max_attempts || time_mono_ms() + delay >= deadline) {
            if (rc < 0) {
                char *msg = xstrdup(err_last());
                rc = err_set(rc, "%s (gave up after %d attempt%s)", msg, attempt,
                             attempt == 1 ? "" : "s");
                free(msg);
            }
            return rc;
        }
        kube_log_retry(kr, why, attempt, c->opts.max_attempts, delay);
        pthread_mutex_lock(&c->pool_mu);
        c->n_retries++;
        pthread_mutex_unlock(&c->pool_mu);
        kube_sleep_ms(delay);
        http_response_dispose(resp);
        http_response_init(resp);
    }
}

static int kube_status_code(int status)
{
    switch (status) {
    case 404:
        return ERR_NOTFOUND;
    case 409:
        return ERR_CONFLICT;
    case 401:
    case 403:
        return ERR_AUTH;
    case 400:
    case 422:
        return ERR_INVALID;
    case 413:
        return ERR_TOOLARGE;
    default:
        return ERR_GENERIC;
    }
}

/* Turn a non-2xx response into the error; what is "get ConfigMap ns/x";
 * attempts > 1 is said, since it explains the time taken. */
static int kube_api_error(const struct http_response *r, const char *what, int attempts)
{
    json_t *st = json_loadb(buf_cstr(&r->body), r->body.len, 0, NULL);
    const char *reason = NULL, *message = NULL;
    int code = kube_status_code(r->status);
    char tries[48] = "";
    int rc;

    if (attempts > 1)
        snprintf(tries, sizeof(tries), " (after %d attempts)", attempts);
    if (json_is_object(st)) {
        const char *k = json_string_value(json_object_get(st, "kind"));
        if (k && strcmp(k, "Status") == 0) {
            reason = json_string_value(json_object_get(st, "reason"));
            message = json_string_value(json_object_get(st, "message"));
        }
    }
    if (message && message[0])
        rc = err_set(code, "%s: %s: %s%s", what, reason && reason[0] ? reason : "HTTP error",
                     message, tries);
    else {
        /* Not a Status: a proxy or load balancer answered. Show the start
         * of the body, on one line. */
        char snippet[161];
        size_t n = r->body.len < sizeof(snippet) - 1 ? r->body.len : sizeof(snippet) - 1;
        memcpy(snippet, buf_cstr(&r->body), n);
        snippet[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)snippet[i] < 0x20)
                snippet[i] = ' ';
        rc = err_set(code, "%s: %s: HTTP %d%s%s%s", what, reason && reason[0] ? reason : "error",
                     r->status, n ? ": " : "", snippet, tries);
    }
    json_decref(st);
    return rc;
}

static int kube_parse_body(json_t **out, const struct http_response *r, const char *what)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf_cstr(&r->body), r->body.len, 0, &jerr);
    *out = NULL;
    if (!v)
        return err_set(ERR_INVALID, "%s: response is not JSON: %d:%d: %s", what, jerr.line,
                       jerr.column, jerr.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(ERR_INVALID, "%s: response is not a JSON object", what);
    }
    *out = v;
    return 0;
}

/* Send kr; a 2xx answer is parsed into *out (when out is not NULL), any
 * other becomes the API error. */
static int kube_do_json(kube_client *c, struct kube_req *kr, const char *what, json_t **out)
{
    struct http_response r;
    int rc;

    if (out)
        *out = NULL;
    http_response_init(&r);
    if ((rc = kube_call(c, kr, &r)) < 0) {
        rc = err_prefix(rc, "%s", what);
        goto out;
    }
    if (r.status < 200 || r.status > 299) {
        rc = kube_api_error(&r, what, kr->attempts);
        goto out;
    }
    rc = out ? kube_parse_body(out, &r, what) : 0;
out:
    http_response_dispose(&r);
    return rc;
}

/* GET path and parse a JSON object answer (2xx only). */
static int kube_get_json(kube_client *c, const char *path, const char *what, int64_t deadline_ms,
                         json_t **out)
{
    struct kube_req kr;
    memset(&kr, 0, sizeof(kr));
    kr.method = "GET";
    kr.path = path;
    kr.idempotent = 1;
    kr.deadline_ms = deadline_ms;
    return kube_do_json(c, &kr, what, out);
}

/* ---- discovery ---- */

static void kube_split_api_version(const char *api_version, char **group, char **version)
{
    const char *slash = strchr(api_version, '/');
    if (slash) {
        *group = xstrndup(api_version, (size_t)(slash - api_version));
        *version = xstrdup(slash + 1);
    } else {
        *group = xstrdup("");
        *version = xstrdup(api_version);
    }
}

/* disc_mu held for all of these. */

static struct kube_gv *kube_gv_find(const kube_client *c, const char *group, const char *version)
{
    for (size_t i = 0; i < c->n_gvs; i++)
        if (strcmp(c->gvs[i].group, group) == 0 && strcmp(c->gvs[i].version, version) == 0)
            return &c->gvs[i];
    return NULL;
}

/* The version to use for group when none is named: v1 for the core
 * group, else the preferred one discovery reported; NULL if unknown. */
static const char *kube_preferred_version(const kube_client *c, const char *group)
{
    if (!group[0])
        return "v1";
    for (size_t i = 0; i < c->n_gvs; i++)
        if (c->gvs[i].preferred && strcmp(c->gvs[i].group, group) == 0)
            return c->gvs[i].version;
    return NULL;
}

/* version NULL = the group's preferred version. */
static struct kube_entry *kube_lookup(kube_client *c, const char *group, const char *version,
                                      const char *kind)
{
    if (!version && !(version = kube_preferred_version(c, group)))
        return NULL;
    for (size_t i = 0; i < c->n_entries; i++) {
        struct kube_entry *e = c->entries[i];
        if (!e->retired && strcmp(e->kind, kind) == 0 && strcmp(e->version, version) == 0 &&
            strcmp(e->group, group) == 0)
            return e;
    }
    return NULL;
}

static void kube_add_entry(kube_client *c, const char *group, const char *version, const char *kind,
                           const char *resource, int namespaced, int listable)
{
    struct kube_entry *e = kube_lookup(c, group, version, kind);
    if (e) {
        if (strcmp(e->resource, resource) == 0 && e->pub.namespaced == namespaced &&
            e->pub.listable == listable) {
            e->seen_gen = c->refresh_gen + 1;
            return;
        }
        e->retired = 1;
    }
    if (c->n_entries == c->cap_entries) {
        c->cap_entries = c->cap_entries ? c->cap_entries * 2 : 64;
        c->entries = xrealloc(c->entries, c->cap_entries * sizeof(*c->entries));
    }
    e = xcalloc(1, sizeof(*e));
    e->group = xstrdup(group);
    e->version = xstrdup(version);
    e->kind = xstrdup(kind);
    e->resource = xstrdup(resource);
    e->pub.group = e->group;
    e->pub.version = e->version;
    e->pub.kind = e->kind;
    e->pub.resource = e->resource;
    e->pub.namespaced = namespaced;
    e->pub.listable = listable;
    e->seen_gen = c->refresh_gen + 1;
    c->entries[c->n_entries++] = e;
}

/* 1 when key missed less than KUBE_MISS_TTL_MS ago. Old misses are
 * dropped here, so negative answers never outlive their second. */
static int kube_miss_recent(kube_client *c, const char *key, int64_t now)
{
    int hit = 0;
    size_t j = 0;
    for (size_t i = 0; i < c->n_misses; i++) {
        if (now - c->misses[i].at_ms >= KUBE_MISS_TTL_MS) {
            free(c->misses[i].key);
            continue;
        }
        if (strcmp(c->misses[i].key, key) == 0)
            hit = 1;
        c->misses[j++] = c->misses[i];
    }
    c->n_misses = j;
    return hit;
}

static void kube_miss_add(kube_client *c, const char *key, int64_t now)
{
    if (c->n_misses >= KUBE_MISS_MAX)
        return; /* then every miss refreshes, which is correct, only slower */
    c->misses = xrealloc(c->misses, (c->n_misses + 1) * sizeof(*c->misses));
    c->misses[c->n_misses].key = xstrdup(key);
    c->misses[c->n_misses].at_ms = now;
    c->n_misses++;
}

/* Fetch one group version's APIResourceList into the cache. refresh_mu
 * held (not disc_mu). */
static int kube_fetch_gv(kube_client *c, const char *group, const char *version)
{
    char *path =
        group[0] ? xasprintf("/apis/%s/%s", group, version) : xasprintf("/api/%s", version);
    char *what = xasprintf("discovery %s", path);
    json_t *list = NULL, *res;
    size_t i;
    int rc;

    rc = kube_get_json(c, path, what, 0, &list);
    pthread_mutex_lock(&c->disc_mu);
    json_array_foreach(json_object_get(list, "resources"), i, res)
    {
        const char *name = json_string_value(json_object_get(res, "name"));
        const char *kind = json_string_value(json_object_get(res, "kind"));
        /* Subresources (pods/log, deployments/scale) are not kinds of
         * their own. */
        const json_t *verbs = json_object_get(res, "verbs"), *verb;
        size_t k;
        int listable = 0;
        if (!name || !kind || !name[0] || !kind[0] || strchr(name, '/'))
            continue;
        json_array_foreach(verbs, k, verb)
        {
            if (json_is_string(verb) && strcmp(json_string_value(verb), "list") == 0)
                listable = 1;
        }
        kube_add_entry(c, group, version, kind, name,
                       json_is_true(json_object_get(res, "namespaced")), listable);
    }
    for (i = 0; i < c->n_gvs; i++) {
        struct kube_gv *gv = &c->gvs[i];
        if (strcmp(gv->group, group) != 0 || strcmp(gv->version, version) != 0)
            continue;
        gv->fetched = rc == 0;
        gv->err_code = rc;
        free(gv->err_msg);
        gv->err_msg = rc < 0 ? xstrdup(err_last()) : NULL;
    }
    pthread_mutex_unlock(&c->disc_mu);
    json_decref(list);
    free(path);
    free(what);
    return rc;
}

/* One full pass. refresh_mu held. */
static int kube_discover_locked(kube_client *c)
{
    json_t *groups = NULL, *g;
    struct kube_gv *gvs = NULL;
    size_t i, n_gvs = 0;
    int rc;

    if ((rc = kube_fetch_gv(c, "", "v1")) < 0)
        goto out;
    if ((rc = kube_get_json(c, "/apis", "discovery /apis", 0, &groups)) < 0)
        goto out;
    json_array_foreach(json_object_get(groups, "groups"), i, g)
    {
        const char *name = json_string_value(json_object_get(g, "name"));
        const char *pref =
            json_string_value(json_object_get(json_object_get(g, "preferredVersion"), "version"));
        json_t *v;
        size_t j;
        if (!name || !name[0])
            continue;
        if (!pref)
            pref = json_string_value(
                json_object_get(json_array_get(json_object_get(g, "versions"), 0), "version"));
        json_array_foreach(json_object_get(g, "versions"), j, v)
        {
            const char *ver = json_string_value(json_object_get(v, "version"));
            if (!ver || !ver[0])
                continue;
            gvs = xrealloc(gvs, (n_gvs + 1) * sizeof(*gvs));
            memset(&gvs[n_gvs], 0, sizeof(*gvs));
            gvs[n_gvs].group = xstrdup(name);
            gvs[n_gvs].version = xstrdup(ver);
            gvs[n_gvs].preferred = pref && strcmp(pref, ver) == 0;
            n_gvs++;
        }
    }
    pthread_mutex_lock(&c->disc_mu);
    kube_gvs_clear(c);
    c->gvs = gvs;
    c->n_gvs = n_gvs;
    pthread_mutex_unlock(&c->disc_mu);
    for (i = 0; i < n_gvs; i++) {
        char *group, *version;
        pthread_mutex_lock(&c->disc_mu);
        if (!c->gvs[i].preferred) {
            pthread_mutex_unlock(&c->disc_mu);
            continue;
        }
        group = xstrdup(c->gvs[i].group);
        version = xstrdup(c->gvs[i].version);
        pthread_mutex_unlock(&c->disc_mu);
        /* An aggregated API that is down (metrics-server, say) must not
         * take every other kind with it; its failure is remembered and
         * reported when one of its kinds is asked for. */
        kube_fetch_gv(c, group, version);
        free(group);
        free(version);
    }
    rc = 0;
out:
    /* Only a pass that worked counts: threads that waited for a failed
     * one try themselves. */
    pthread_mutex_lock(&c->disc_mu);
    if (rc == 0)
        c->refresh_gen++;
    pthread_mutex_unlock(&c->disc_mu);
    pthread_mutex_lock(&c->pool_mu);
    c->n_discoveries++;
    pthread_mutex_unlock(&c->pool_mu);
    json_decref(groups);
    return rc;
}

int kube_client_discover(kube_client *c)
{
    int rc;
    pthread_mutex_lock(&c->refresh_mu);
    rc = kube_discover_locked(c);
    pthread_mutex_unlock(&c->refresh_mu);
    return rc;
}

/* Resolve group + version (NULL = preferred) + kind, refreshing on a miss
 * as the header describes. label is what the caller asked for, for
 * messages. */
static int kube_resolve(kube_client *c, const char *group, const char *version, const char *kind,
                        const char *label, const struct kube_resource **out)
{
    char *key = xasprintf("%s/%s/%s", group, version ? version : "", kind);
    struct kube_entry *e;
    unsigned long gen;
    int rc = 0, refreshed_by_other = 0;

    *out = NULL;
    pthread_mutex_lock(&c->disc_mu);
    e = kube_lookup(c, group, version, kind);
    if (!e && kube_miss_recent(c, key, time_mono_ms())) {
        pthread_mutex_unlock(&c->disc_mu);
        goto notfound;
    }
    gen = c->refresh_gen;
    pthread_mutex_unlock(&c->disc_mu);
    if (e)
        goto found;

    pthread_mutex_lock(&c->refresh_mu);
    /* Another thread may have refreshed while we waited for the lock. */
    pthread_mutex_lock(&c->disc_mu);
    e = kube_lookup(c, group, version, kind);
    refreshed_by_other = c->refresh_gen != gen;
    pthread_mutex_unlock(&c->disc_mu);
    if (!e && !refreshed_by_other)
        rc = kube_discover_locked(c);
    if (!e && rc == 0 && version) {
        /* Not the preferred version, so the pass above skipped it. */
        int fetch;
        pthread_mutex_lock(&c->disc_mu);
        struct kube_gv *gv = kube_gv_find(c, group, version);
        fetch = gv && !gv->fetched && !gv->err_code;
        pthread_mutex_unlock(&c->disc_mu);
        if (fetch)
            rc = kube_fetch_gv(c, group, version);
    }
    pthread_mutex_lock(&c->disc_mu);
    if (!e)
        e = kube_lookup(c, group, version, kind);
    if (!e && rc == 0)
        kube_miss_add(c, key, time_mono_ms());
    pthread_mutex_unlock(&c->disc_mu);
    pthread_mutex_unlock(&c->refresh_mu);
    if (rc < 0)
        goto out;
    if (e)
        goto found;

notfound:
    pthread_mutex_lock(&c->disc_mu);
    {
        struct kube_gv *gv = version ? kube_gv_find(c, group, version) : NULL;
        if (gv && gv->err_code) {
            rc = err_set(gv->err_code, "%s", gv->err_msg);
            pthread_mutex_unlock(&c->disc_mu);
            goto out;
        }
    }
    pthread_mutex_unlock(&c->disc_mu);
    rc = err_set(ERR_NOTFOUND, "%s: the server has no kind %s in %s", c->server, kind, label);
    goto out;
found:
    *out = &e->pub;
    rc = 0;
out:
    free(key);
    return rc;
}

int kube_client_resource(kube_client *c, const char *api_version, const char *kind,
                         const struct kube_resource **out)
{
    char *group = NULL, *version = NULL;
    int rc;

    *out = NULL;
    if (!api_version || !api_version[0] || !kind || !kind[0])
        return err_set(ERR_INVALID, "resolve kind: apiVersion and kind are required");
    kube_split_api_version(api_version, &group, &version);
    if (!version[0] || strchr(version, '/'))
        rc = err_set(ERR_INVALID, "resolve kind: apiVersion \"%s\" is not group/version",
                     api_version);
    else
        rc = kube_resolve(c, group, version, kind, api_version, out);
    free(group);
    free(version);
    return rc;
}

int kube_client_preferred_resources(kube_client *c, const struct kube_resource ***out, size_t *n,
                                    json_t **out_failed)
{
    const struct kube_resource **list = NULL;
    json_t *failed = json_array();
    size_t count = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (out_failed)
        *out_failed = NULL;
    pthread_mutex_lock(&c->refresh_mu);
    rc = kube_discover_locked(c);
    pthread_mutex_unlock(&c->refresh_mu);
    if (rc < 0) {
        json_decref(failed);
        return rc;
    }
    pthread_mutex_lock(&c->disc_mu);
    for (size_t i = 0; i < c->n_entries; i++) {
        struct kube_entry *e = c->entries[i];
        const char *pref = kube_preferred_version(c, e->group);
        /* Only what this very pass listed: a kind whose CRD is gone stays
         * in the cache (pointers to it stay valid) but is not served. */
        if (e->retired || e->seen_gen != c->refresh_gen || !pref || strcmp(pref, e->version) != 0)
            continue;
        list = xrealloc(list, (count + 1) * sizeof(*list));
        list[count++] = &e->pub;
    }
    for (size_t i = 0; i < c->n_gvs; i++)
        if (c->gvs[i].preferred && !c->gvs[i].fetched)
            json_array_append_new(
                failed, json_sprintf("%s/%s: %s", c->gvs[i].group, c->gvs[i].version,
                                     c->gvs[i].err_msg ? c->gvs[i].err_msg : "discovery failed"));
    pthread_mutex_unlock(&c->disc_mu);
    *out = list;
    *n = count;
    if (out_failed)
        *out_failed = failed;
    else
        json_decref(failed);
    return 0;
}

int kube_client_preferred(kube_client *c, const char *group, const char *kind,
                          const struct kube_resource **out)
{
    char *label;
    int rc;

    *out = NULL;
    if (!group || !kind || !kind[0])
        return err_set(ERR_INVALID, "resolve kind: group and kind are required");
    label = xasprintf("group \"%s\"", group);
    rc = kube_resolve(c, group, NULL, kind, label, out);
    free(label);
    return rc;
}

/* After this client changed what the server serves (a CRD or an
 * APIService), old misses say nothing: forget them. */
static void kube_note_api_change(kube_client *c, const struct kube_resource *r)
{
    if ((strcmp(r->group, "apiextensions.k8s.io") == 0 &&
         strcmp(r->kind, "CustomResourceDefinition") == 0) ||
        (strcmp(r->group, "apiregistration.k8s.io") == 0 && strcmp(r->kind, "APIService") == 0)) {
        pthread_mutex_lock(&c->disc_mu);
        kube_misses_clear(c);
        pthread_mutex_unlock(&c->disc_mu);
    }
}

/* ---- paths ---- */

/* "/api/v1/namespaces/NS/configmaps[/NAME]" or "/apis/G/V/RES[/NAME]". */
static void kube_path(struct buf *p, const struct kube_resource *r, const char *ns,
                      const char *name)
{
    if (r->group[0])
        buf_printf(p, "/apis/%s/%s", r->group, r->version);
    else
        buf_printf(p, "/api/%s", r->version);
    if (r->namespaced && ns && ns[0]) {
        buf_puts(p, "/namespaces/");
        http_query_escape(p, ns);
    }
    buf_printf(p, "/%s", r->resource);
    if (name) {
        buf_putc(p, '/');
        http_query_escape(p, name);
    }
}

/* "get ConfigMap ns/name", "get Namespace name", "list ConfigMap ns". */
static char *kube_what(const char *verb, const char *kind, const struct kube_resource *r,
                       const char *ns, const char *name)
{
    int show_ns = (!r || r->namespaced) && ns && ns[0];
    if (name)
        return xasprintf("%s %s %s%s%s", verb, kind, show_ns ? ns : "", show_ns ? "/" : "", name);
    return xasprintf("%s %s %s", verb, kind, show_ns ? ns : "(all namespaces)");
}

static int kube_check_name(const char *what, const char *name)
{
    if (!name || !name[0])
        return err_set(ERR_INVALID, "%s: metadata.name: missing", what);
    return 0;
}

/* A copy of item with apiVersion and kind first, as a GET would show it. */
static json_t *kube_typed_item(const json_t *item, const char *api_version, const char *kind)
{
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_set_new(o, "apiVersion", json_string(api_version));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_foreach((json_t *)item, key, v)
    {
        if (strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0)
            json_object_set(o, key, v);
    }
    return o;
}

/* ---- verbs ---- */

int kube_client_get(kube_client *c, const char *api_version, const char *kind, const char *ns,
                    const char *name, json_t **out)
{
    const struct kube_resource *r;
    struct buf path = BUF_INIT;
    char *what = NULL;
    json_t *obj = NULL;
    int rc;

    *out = NULL;
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    what = kube_what("get", kind, r, ns, name);
    if ((rc = kube_check_name(what, name)) < 0)
        goto out;
    if (r->namespaced && (!ns || !ns[0])) {
        rc = err_set(ERR_INVALID, "%s: namespace: missing for a namespaced kind", what);
        goto out;
    }
    kube_path(&path, r, ns, name);
    if ((rc = kube_get_json(c, buf_cstr(&path), what, 0, &obj)) < 0)
        goto out;
    *out = obj;
    rc = 0;
out:
    buf_dispose(&path);
    free(what);
    return rc;
}

/* What a list walk hands each item to. restart (may be NULL) is called
 * when an expired continue token makes the list start over; without it an
 * expired token is an error. */
struct kube_list_sink {
    int (*on_item)(void *ctx, json_t *item);
    void (*restart)(void *ctx);
    void *ctx;
};

/* LIST r page by page (limit/continue), each item typed with api_version
 * and kind and handed to sink->on_item, then dropped: one page is in
 * memory at a time. */
static int kube_list_walk(kube_client *c, const struct kube_resource *r, const char *api_version,
                          const char *ns, const struct kube_list_options *o,
                          const struct kube_list_sink *sink, char **out_resource_version)
{
    static const struct kube_list_options none = KUBE_LIST_OPTIONS_INIT;
    struct buf path = BUF_INIT;
    struct http_response resp;
    char *what = NULL, *cont = NULL, *rv = NULL;
    json_t *page = NULL, *it;
    unsigned long delivered = 0;
    int rc = 0, limit;
    size_t i;

    if (!o)
        o = &none;
    limit = o->page_size > 0 ? o->page_size : c->opts.list_page_size;
    http_response_init(&resp);
    what = kube_what("list", r->kind, r, ns, NULL);
    /* Pages keep one response (and its limit) small on big clusters. A
     * continue token outlives its snapshot after a few minutes (410
     * Expired): then the list starts over, once, when the caller can. */
    for (int pass = 0; pass < 2; pass++) {
        int expired = 0;
        free(rv);
        rv = NULL;
        free(cont);
        cont = NULL;
        do {
            struct kube_req kr;
            const char *next, *prv;
            buf_clear(&path);
            kube_path(&path, r, ns, NULL);
            buf_printf(&path, "?limit=%d", limit);
            if (o->label_selector && o->label_selector[0]) {
                buf_puts(&path, "&labelSelector=");
                http_query_escape(&path, o->label_selector);
            }
            if (o->field_selector && o->field_selector[0]) {
                buf_puts(&path, "&fieldSelector=");
                http_query_escape(&path, o->field_selector);
            }
            if (cont) {
                buf_puts(&path, "&continue=");
                http_query_escape(&path, cont);
            }
            memset(&kr, 0, sizeof(kr));
            kr.method = "GET";
            kr.path = buf_cstr(&path);
            kr.idempotent = 1;
            http_response_dispose(&resp);
            http_response_init(&resp);
            if ((rc = kube_call(c, &kr, &resp)) < 0) {
                rc = err_prefix(rc, "%s", what);
                goto out;
            }
            if (resp.status == 410 && cont && !sink->restart) {
                rc = err_set(ERR_CONFLICT,
                             "%s: the continue token expired after %lu items (410 Gone)", what,
                             delivered);
                goto out;
            }
            if (resp.status == 410 && cont && pass == 0) {
                log_debug("kube: %s: the continue token expired, listing again", what);
                sink->restart(sink->ctx);
                delivered = 0;
                expired = 1;
                break;
            }
            if (resp.status < 200 || resp.status > 299) {
                rc = kube_api_error(&resp, what, kr.attempts);
                goto out;
            }
            json_decref(page);
            page = NULL;
            if ((rc = kube_parse_body(&page, &resp, what)) < 0)
                goto out;
            json_array_foreach(json_object_get(page, "items"), i, it)
            {
                json_t *typed;
                if (!json_is_object(it))
                    continue;
                typed = kube_typed_item(it, api_version, r->kind);
                rc = sink->on_item(sink->ctx, typed);
                json_decref(typed);
                if (rc < 0)
                    goto out;
                delivered++;
            }
            /* Every page carries the snapshot's resourceVersion. */
            prv = json_string_value(
                json_object_get(json_object_get(page, "metadata"), "resourceVersion"));
            if (!rv && prv)
                rv = xstrdup(prv);
            next =
                json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
            if (next && next[0] && cont && strcmp(next, cont) == 0) {
                rc = err_set(ERR_INVALID, "%s: the server returned the same continue token twice",
                             what);
                goto out;
            }
            free(cont);
            cont = next && next[0] ? xstrdup(next) : NULL;
        } while (cont);
        if (!expired)
            break;
    }
    if (out_resource_version) {
        *out_resource_version = rv;
        rv = NULL;
    }
    rc = 0;
out:
    http_response_dispose(&resp);
    json_decref(page);
    buf_dispose(&path);
    free(what);
    free(cont);
    free(rv);
    return rc;
}

static int kube_list_collect(void *ctx, json_t *item)
{
    json_array_append(ctx, item);
    return 0;
}

static void kube_list_restart(void *ctx)
{
    json_array_clear(ctx);
}

int kube_client_list_opts(kube_client *c, const char *api_version, const char *kind, const char *ns,
                          const struct kube_list_options *o, json_t **out_items,
                          char **out_resource_version)
{
    const struct kube_resource *r;
    json_t *items = json_array();
    struct kube_list_sink sink = {kube_list_collect, kube_list_restart, items};
    int rc;

    *out_items = NULL;
    if (out_resource_version)
        *out_resource_version = NULL;
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0 ||
        (rc = kube_list_walk(c, r, api_version, ns, o, &sink, out_resource_version)) < 0) {
        json_decref(items);
        return rc;
    }
    *out_items = items;
    return 0;
}

int kube_client_list_each(kube_client *c, const struct kube_resource *r, const char *ns,
                          const struct kube_list_options *o,
                          int (*on_item)(void *ctx, json_t *item), void *ctx)
{
    struct kube_list_sink sink = {on_item, NULL, ctx};
    char *api_version =
        r->group[0] ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
    int rc = kube_list_walk(c, r, api_version, ns, o, &sink, NULL);
    free(api_version);
    return rc;
}

int kube_client_list(kube_client *c, const char *api_version, const char *kind, const char *ns,
                     const char *label_selector, json_t **out_items)
{
    struct kube_list_options o = KUBE_LIST_OPTIONS_INIT;
    o.label_selector = label_selector;
    return kube_client_list_opts(c, api_version, kind, ns, &o, out_items, NULL);
}

/* The kind, resource and names of an object to write; *what is owned. */
static int kube_obj_target(kube_client *c, const json_t *obj, const char *verb, int allow_gen,
                           const struct kube_resource **r, const char **name, const char **ns,
                           char **what)
{
    const char *api_version, *kind, *gen;
    json_t *meta;
    int rc;

    *what = NULL;
    api_version = json_string_value(json_object_get(obj, "apiVersion"));
    kind = json_string_value(json_object_get(obj, "kind"));
    meta = json_object_get(obj, "metadata");
    *name = json_string_value(json_object_get(meta, "name"));
    *ns = json_string_value(json_object_get(meta, "namespace"));
    gen = json_string_value(json_object_get(meta, "generateName"));
    if (!api_version || !api_version[0] || !kind || !kind[0])
        return err_set(ERR_INVALID, "%s %s: apiVersion and kind are required", verb,
                       *name ? *name : "(unnamed object)");
    if ((rc = kube_client_resource(c, api_version, kind, r)) < 0)
        return rc;
    *what = kube_what(verb, kind, *r, *ns, *name ? *name : (gen ? gen : ""));
    if (!(allow_gen && gen && gen[0]) && (rc = kube_check_name(*what, *name)) < 0)
        return rc;
    if ((*r)->namespaced && (!*ns || !*ns[0]))
        return err_set(ERR_INVALID, "%s: metadata.namespace: missing for a namespaced kind", *what);
    return 0;
}

/* Send an object-writing request and hand back the answer. */
static int kube_write(kube_client *c, struct kube_req *kr, const char *what, json_t **out_live)
{
    json_t *live = NULL;
    int rc = kube_do_json(c, kr, what, out_live ? &live : NULL);
    if (rc == 0 && out_live)
        *out_live = live;
    return rc;
}

int kube_client_apply(kube_client *c, const json_t *obj, int dry_run, json_t **out_live)
{
    struct kube_apply_options o = KUBE_APPLY_OPTIONS_INIT;
    o.dry_run = dry_run;
    return kube_client_apply_opts(c, obj, &o, out_live);
}

/* A field manager name as the API server accepts it: 1-128 printable
 * characters, so it can go into the query unescaped after escaping. */
static int kube_manager_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > 128)
        return 0;
    for (; *m; m++)
        if ((unsigned char)*m < 0x21 || (unsigned char)*m > 0x7e)
            return 0;
    return 1;
}

int kube_client_apply_opts(kube_client *c, const json_t *obj, const struct kube_apply_options *o,
                           json_t **out_live)
{
    const char *manager = o->manager ? o->manager : "edgecd";
    const char *name, *ns;
    const struct kube_resource *r;
    struct buf path = BUF_INIT, body = BUF_INIT;
    struct kube_req kr;
    char *what = NULL, *text = NULL;
    int rc;

    if (out_live)
        *out_live = NULL;
    if ((rc = kube_obj_target(c, obj, "apply", 0, &r, &name, &ns, &what)) < 0)
        goto out;
    if (!kube_manager_ok(manager)) {
        rc = err_set(ERR_INVALID, "%s: field manager \"%s\" must be 1-128 printable characters",
                     what, manager);
        goto out;
    }
    kube_path(&path, r, ns, name);
    buf_puts(&path, "?fieldManager=");
    http_query_escape(&path, manager);
    if (o->force)
        buf_puts(&path, "&force=true");
    if (o->dry_run)
        buf_puts(&path, "&dryRun=All");
    text = json_dumps(obj, JSON_COMPACT);
    if (!text) {
        rc = err_set(ERR_INVALID, "%s: the object cannot be serialised", what);
        goto out;
    }
    buf_puts(&body, text);
    memset(&kr, 0, sizeof(kr));
    kr.method = "PATCH";
    kr.path = buf_cstr(&path);
    kr.content_type = "application/apply-patch+yaml";
    kr.body = &body;
    /* Applying the same object again yields the same result (without
     * force, a retry after a success sees no conflict with itself). */
    kr.idempotent = 1;
    if ((rc = kube_write(c, &kr, what, out_live)) < 0)
        goto out;
    if (!o->dry_run)
        kube_note_api_change(c, r);
    rc = 0;
out:
    buf_dispose(&path);
    buf_dispose(&body);
    free(text);
    free(what);
    return rc;
}

int kube_client_create(kube_client *c, const json_t *obj, json_t **out_live)
{
    const char *name, *ns;
    const struct kube_resource *r;
    struct buf path = BUF_INIT, body = BUF_INIT;
    struct kube_req kr;
    char *what = NULL, *text = NULL;
    int rc;

    if (out_live)
        *out_live = NULL;
    if ((rc = kube_obj_target(c, obj, "create", 1, &r, &name, &ns, &what)) < 0)
        goto out;
    kube_path(&path, r, ns, NULL);
    buf_puts(&path, "?fieldManager=edgecd");
    text = json_dumps(obj, JSON_COMPACT);
    if (!text) {
        rc = err_set(ERR_INVALID, "%s: the object cannot be serialised", what);
        goto out;
    }
    buf_puts(&body, text);
    memset(&kr, 0, sizeof(kr));
    kr.method = "POST";
    kr.path = buf_cstr(&path);
    kr.content_type = "application/json";
    kr.body = &body;
    kr.idempotent = 0;
    if ((rc = kube_write(c, &kr, what, out_live)) < 0)
        goto out;
    kube_note_api_change(c, r);
    rc = 0;
out:
    buf_dispose(&path);
    buf_dispose(&body);
    free(text);
    free(what);
    return rc;
}

int kube_client_patch(kube_client *c, const char *api_version, const char *kind, const char *ns,
                      const char *name, const char *patch_type, const json_t *patch,
                      json_t **out_live)
{
    static const char *const types[][2] = {
        {"merge", "application/merge-patch+json"},
        {"strategic", "application/strategic-merge-patch+json"},
        {"json", "application/json-patch+json"},
    };
    const struct kube_resource *r;
    const char *ctype = NULL;
    struct buf path = BUF_INIT, body = BUF_INIT;
    struct kube_req kr;
    char *what = NULL, *text = NULL;
    int rc;

    if (out_live)
        *out_live = NULL;
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    what = kube_what("patch", kind, r, ns, name ? name : "");
    if ((rc = kube_check_name(what, name)) < 0)
        goto out;
    if (r->namespaced && (!ns || !ns[0])) {
        rc = err_set(ERR_INVALID, "%s: namespace: missing for a namespaced kind", what);
        goto out;
    }
    for (size_t i = 0; patch_type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(patch_type, types[i][0]) == 0)
            ctype = types[i][1];
    if (!ctype) {
        rc = err_set(ERR_INVALID, "%s: patch type \"%s\" is not one of merge, strategic, json",
                     what, patch_type ? patch_type : "(none)");
        goto out;
    }
    if (strcmp(patch_type, "json") == 0 ? !json_is_array(patch) : !json_is_object(patch)) {
        rc = err_set(ERR_INVALID, "%s: a %s patch must be a JSON %s", what, patch_type,
                     strcmp(patch_type, "json") == 0 ? "array" : "object");
        goto out;
    }
    kube_path(&path, r, ns, name);
    buf_puts(&path, "?fieldManager=edgecd");
    text = json_dumps(patch, JSON_COMPACT);
    buf_puts(&body, text ? text : "");
    memset(&kr, 0, sizeof(kr));
    kr.method = "PATCH";
    kr.path = buf_cstr(&path);
    kr.content_type = ctype;
    kr.body = &body;
    /* A JSON patch that adds to a list adds twice when repeated. */
    kr.idempotent = 0;
    if ((rc = kube_write(c, &kr, what, out_live)) < 0)
        goto out;
    kube_note_api_change(c, r);
    rc = 0;
out:
    buf_dispose(&path);
    buf_dispose(&body);
    free(text);
    free(what);
    return rc;
}

/* DELETE; *out_uid (may be NULL) receives the UID of what was deleted
 * when the answer names it. */
static int kube_delete(kube_client *c, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *propagation, int64_t deadline_ms,
                       const struct kube_resource **out_r, char **out_uid)
{
    const struct kube_resource *r;
    struct buf path = BUF_INIT, body = BUF_INIT;
    struct kube_req kr;
    struct http_response resp;
    json_t *answer = NULL;
    char *what = NULL;
    int rc;

    http_response_init(&resp);
    if (out_uid)
        *out_uid = NULL;
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    *out_r = r;
    what = kube_what("delete", kind, r, ns, name ? name : "");
    if ((rc = kube_check_name(what, name)) < 0)
        goto out;
    if (r->namespaced && (!ns || !ns[0])) {
        rc = err_set(ERR_INVALID, "%s: namespace: missing for a namespaced kind", what);
        goto out;
    }
    if (propagation && strcmp(propagation, "Foreground") != 0 &&
        strcmp(propagation, "Background") != 0 && strcmp(propagation, "Orphan") != 0) {
        rc = err_set(ERR_INVALID,
                     "%s: propagation policy \"%s\" is not one of Foreground, "
                     "Background, Orphan",
                     what, propagation);
        goto out;
    }
    kube_path(&path, r, ns, name);
    if (propagation)
        buf_printf(
            &body,
            "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"%s\"}",
            propagation);
    memset(&kr, 0, sizeof(kr));
    kr.method = "DELETE";
    kr.path = buf_cstr(&path);
    kr.content_type = propagation ? "application/json" : NULL;
    kr.body = propagation ? &body : NULL;
    /* Deleting twice deletes once; a repeat finds 404, which the caller
     * sees as "already gone". */
    kr.idempotent = 1;
    kr.deadline_ms = deadline_ms;
    if ((rc = kube_call(c, &kr, &resp)) < 0) {
        rc = err_prefix(rc, "%s", what);
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        rc = kube_api_error(&resp, what, kr.attempts);
        goto out;
    }
    /* The answer only matters for the UID; one we cannot read is no
     * reason to fail a delete that happened. */
    answer = json_loadb(buf_cstr(&resp.body), resp.body.len, 0, NULL);
    kube_note_api_change(c, r);
    if (out_uid && answer) {
        /* The object itself (with deletionTimestamp) or a Status whose
         * details carry the UID. */
        const char *k = json_string_value(json_object_get(answer, "kind"));
        const char *uid =
            k && strcmp(k, "Status") == 0
                ? json_string_value(json_object_get(json_object_get(answer, "details"), "uid"))
                : json_string_value(json_object_get(json_object_get(answer, "metadata"), "uid"));
        if (uid && uid[0])
            *out_uid = xstrdup(uid);
    }
    rc = 0;
out:
    http_response_dispose(&resp);
    json_decref(answer);
    buf_dispose(&path);
    buf_dispose(&body);
    free(what);
    return rc;
}

int kube_client_delete(kube_client *c, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *propagation)
{
    const struct kube_resource *r;
    return kube_delete(c, api_version, kind, ns, name, propagation, 0, &r, NULL);
}

int kube_client_delete_wait(kube_client *c, const char *api_version, const char *kind,
                            const char *ns, const char *name, const char *propagation,
                            int timeout_ms)
{
    int64_t start = time_mono_ms(), deadline = start + (timeout_ms > 0 ? timeout_ms : 1);
    const struct kube_resource *r = NULL;
    struct buf path = BUF_INIT;
    char *uid = NULL, *what = NULL, *holders = NULL;
    json_t *live = NULL;
    int rc, delay = KUBE_WAIT_FIRST_MS;

    if ((rc = kube_delete(c, api_version, kind, ns, name, propagation, deadline, &r, &uid)) < 0)
        goto out;
    what = kube_what("delete", kind, r, ns, name);
    kube_path(&path, r, ns, name);
    for (;;) {
        int64_t now, req_deadline = time_mono_ms() + c->opts.request_timeout_ms;
        const char *luid;
        json_decref(live);
        live = NULL;
        rc = kube_get_json(c, buf_cstr(&path), what,
                           req_deadline < deadline ? req_deadline : deadline, &live);
        if (rc == ERR_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc < 0 && !(rc == ERR_TIMEOUT && time_mono_ms() >= deadline))
            goto out;
        if (rc == 0) {
            luid = json_string_value(json_object_get(json_object_get(live, "metadata"), "uid"));
            /* Gone, and something new took the name: ours is done. */
            if (uid && luid && strcmp(uid, luid) != 0)
                break;
            free(holders);
            holders = json_dumps(json_object_get(json_object_get(live, "metadata"), "finalizers"),
                                 JSON_COMPACT | JSON_ENCODE_ANY);
        }
        now = time_mono_ms();
        if (now + delay >= deadline) {
            rc = err_set(ERR_TIMEOUT, "%s: still there after %d ms (finalizers: %s)", what,
                         (int)(now - start),
                         holders && strcmp(holders, "null") != 0 ? holders : "none");
            goto out;
        }
        kube_sleep_ms(delay);
        delay = delay * 2 > KUBE_WAIT_MAX_MS ? KUBE_WAIT_MAX_MS : delay * 2;
    }
    rc = 0;
out:
    json_decref(live);
    buf_dispose(&path);
    free(uid);
    free(what);
    free(holders);
    return rc;
}

/* ---- for watches ---- */

int kube_client_auth_header(kube_client *c, char **out)
{
    return kube_auth_header(c, out);
}

void kube_client_collection_path(const struct kube_resource *r, const char *ns, struct buf *out)
{
    kube_path(out, r, ns, NULL);
}

void kube_client_close_idle(kube_client *c)
{
    pthread_mutex_lock(&c->pool_mu);
    for (int i = 0; i < c->n_idle; i++)
        http_conn_close_idle(c->idle[i]);
    pthread_mutex_unlock(&c->pool_mu);
}

/* ---- streamed GETs ---- */

struct kube_stream {
    http_conn *conn;
    http_stream *st;
};

int kube_client_stream_open(kube_client *c, const char *path, const char *what, kube_stream **out)
{
    struct http_response resp;
    const char *headers[3];
    char *auth = NULL;
    kube_stream *s = xcalloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    http_response_init(&resp);
    if ((rc = kube_conn_new(c, &s->conn)) < 0 || (rc = kube_auth_header(c, &auth)) < 0)
        goto fail;
    headers[0] = "Accept: */*";
    headers[1] = auth;
    headers[2] = NULL;
    rc = http_stream_open(&s->st, s->conn, path, headers, &resp);
    if (auth) {
        mbedtls_platform_zeroize(auth, strlen(auth));
        free(auth);
    }
    if (rc < 0) {
        err_prefix(rc, "%s", what);
        goto fail;
    }
    if (!s->st) {
        rc = kube_api_error(&resp, what, 1);
        goto fail;
    }
    http_response_dispose(&resp);
    *out = s;
    return 0;
fail:
    http_response_dispose(&resp);
    kube_stream_close(s);
    return rc;
}

int kube_stream_wait(kube_stream *s, int wait_ms)
{
    return http_stream_wait(s->st, wait_ms);
}

long kube_stream_read(kube_stream *s, void *dst, size_t cap)
{
    return http_stream_read(s->st, dst, cap);
}

void kube_stream_close(kube_stream *s)
{
    if (!s)
        return;
    http_stream_close(s->st);
    http_conn_free(s->conn);
    free(s);
}
