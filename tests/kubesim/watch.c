/*
 * The history is a ring of WATCH_HISTORY_DEFAULT (or --watch-history)
 * events; a stream remembers the resourceVersion it has sent up to and,
 * woken by the condition variable, finds its place again by binary search
 * (resourceVersions only grow). Events are formatted into lines under the
 * history lock and written after it is released, one line per chunk, so a
 * slow client never holds up writers. A client whose place has been
 * overwritten meanwhile gets 410 Expired, as a real watcher that fell too
 * far behind does.
 *
 * Streams wake at least once a second even when quiet, to send bookmarks,
 * to notice a client that went away and to end at timeoutSeconds.
 */
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "objects.h"
#include "selector.h"
#include "status.h"
#include "table.h"

/* Lines gathered per wake-up before writing some out. */
#define WATCH_BATCH_BYTES (1u << 20)
/* A watch without timeoutSeconds ends after this, as the real server's
 * --min-request-timeout default. */
#define WATCH_DEFAULT_TIMEOUT 1800
#define WATCH_TICK_MS 1000
/* How long a watch from a resourceVersion the store has not reached yet
 * waits for it, as the real watch cache does. */
#define WATCH_FRESH_MS 3000

struct watch_event {
    uint64_t rv;
    enum watch_type type;
    char *tkey; /* "group/plural" */
    char *ns;   /* "" when cluster-scoped */
    char *name;
    /* The object without apiVersion and kind; for DELETED its last state
     * with the deletion's resourceVersion. */
    char *text;
    json_t *labels, *fields;
    /* MODIFIED whose labels or selectable fields changed: the state before,
     * with this event's resourceVersion, for a watch it stops matching.
     * NULL (and prev_* NULL) when nothing selectable changed. */
    char *prev_text;
    json_t *prev_labels, *prev_fields;
};

struct watch_stream {
    struct watch_stream *next; /* registry, under watch_lock */
    httpd_stream *hs;
    int cut;
    char *tkey;
    char *ns;   /* NULL: every namespace */
    char *name; /* NULL: every object (a watch on one object's URL sets it) */
    char *api_version;
    char *kind;
    selector *lsel, *fsel;
    uint64_t pos; /* sent (or skipped) everything up to here */
    struct buf initial;
    int initial_end; /* sendInitialEvents: bookmark after the initial events */
    int bookmarks;
    int expired; /* the requested start is older than the history */
    int ahead;   /* the requested start is newer than the store */
    /* Server-side printing (table.h): each event's object is a Table of
     * one row; the first carries the column definitions, later ones none,
     * as the real server saves them. table_api NULL: plain objects. */
    const char *table_api;
    char *group;
    json_t *custom; /* table_custom_columns */
    enum table_include include;
    int table_headers_sent;
    struct timespec deadline;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static struct watch_event *watch_ring;
static size_t watch_cap, watch_head, watch_count;
static uint64_t watch_evicted; /* newest resourceVersion no longer in the ring */
static uint64_t watch_last;    /* newest resourceVersion in the ring */
static struct watch_stream *watch_streams;
static int watch_nstreams;

static void watch_event_dispose(struct watch_event *e)
{
    free(e->tkey);
    free(e->ns);
    free(e->name);
    free(e->text);
    free(e->prev_text);
    json_decref(e->labels);
    json_decref(e->fields);
    json_decref(e->prev_labels);
    json_decref(e->prev_fields);
    memset(e, 0, sizeof(*e));
}

void watch_init(size_t history, uint64_t first_rv)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&watch_cond, &attr);
    pthread_condattr_destroy(&attr);
    watch_cap = history ? history : 1;
    watch_ring = xcalloc(watch_cap, sizeof(*watch_ring));
    watch_head = watch_count = 0;
    watch_evicted = watch_last = first_rv;
}

void watch_dispose(void)
{
    for (size_t i = 0; i < watch_count; i++)
        watch_event_dispose(&watch_ring[(watch_head + i) % watch_cap]);
    free(watch_ring);
    watch_ring = NULL;
    watch_cap = watch_head = watch_count = 0;
    pthread_cond_destroy(&watch_cond);
}

static char *watch_text(const json_t *obj, const char *rv)
{
    json_t *copy = json_deep_copy(obj);
    char *text;
    json_object_del(copy, "apiVersion");
    json_object_del(copy, "kind");
    if (rv)
        json_object_set_new(json_object_get(copy, "metadata"), "resourceVersion", json_string(rv));
    text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return text;
}

static json_t *watch_labels(const json_t *obj)
{
    json_t *l = json_object_get(json_object_get(obj, "metadata"), "labels");
    return json_is_object(l) ? json_deep_copy(l) : json_object();
}

void watch_record(enum watch_type type, const struct resource *r, const json_t *obj,
                  const json_t *prev)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    struct watch_event e;

    memset(&e, 0, sizeof(e));
    e.rv = rv ? strtoull(rv, NULL, 10) : 0;
    e.type = type;
    e.tkey = xasprintf("%s/%s", r->group, r->plural);
    e.ns = xstrdup(r->namespaced && ns ? ns : "");
    e.name = xstrdup(name ? name : "");
    e.text = watch_text(obj, NULL);
    e.labels = watch_labels(obj);
    e.fields = selector_fields(r, obj);
    if (type == WATCH_MODIFIED && prev) {
        json_t *pl = watch_labels(prev), *pf = selector_fields(r, prev);
        if (json_equal(pl, e.labels) && json_equal(pf, e.fields)) {
            json_decref(pl);
            json_decref(pf);
        } else {
            e.prev_labels = pl;
            e.prev_fields = pf;
            e.prev_text = watch_text(prev, rv);
        }
    }
    pthread_mutex_lock(&watch_lock);
    if (e.rv <= watch_last) {
        /* Never expected: resourceVersions come from one counter. Keep the
         * ring ordered rather than confuse every stream. */
        pthread_mutex_unlock(&watch_lock);
        watch_event_dispose(&e);
        return;
    }
    if (watch_count == watch_cap) {
        watch_evicted = watch_ring[watch_head].rv;
        watch_event_dispose(&watch_ring[watch_head]);
        watch_head = (watch_head + 1) % watch_cap;
        watch_count--;
    }
    watch_ring[(watch_head + watch_count) % watch_cap] = e;
    watch_count++;
    watch_last = e.rv;
    pthread_cond_broadcast(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
}

int watch_covers(uint64_t rv, uint64_t *oldest)
{
    int covered;
    pthread_mutex_lock(&watch_lock);
    covered = rv >= watch_evicted;
    if (oldest)
        *oldest = watch_evicted;
    pthread_mutex_unlock(&watch_lock);
    return covered;
}

int watch_changed_since(const struct resource *r, uint64_t rv)
{
    char *tkey = xasprintf("%s/%s", r->group, r->plural);
    int changed = 0;
    pthread_mutex_lock(&watch_lock);
    if (rv < watch_evicted) {
        changed = 1;
    } else {
        for (size_t i = watch_count; i > 0 && !changed; i--) {
            const struct watch_event *e = &watch_ring[(watch_head + i - 1) % watch_cap];
            if (e->rv <= rv)
                break;
            changed = strcmp(e->tkey, tkey) == 0;
        }
    }
    pthread_mutex_unlock(&watch_lock);
    free(tkey);
    return changed;
}

int watch_open_count(void)
{
    int n;
    pthread_mutex_lock(&watch_lock);
    n = watch_nstreams;
    pthread_mutex_unlock(&watch_lock);
    return n;
}

void watch_cut_all(void)
{
    pthread_mutex_lock(&watch_lock);
    for (struct watch_stream *w = watch_streams; w; w = w->next) {
        w->cut = 1;
        httpd_stream_cut(w->hs);
    }
    pthread_cond_broadcast(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
}

/* One event line: {"type":T,"object":{"kind":K,"apiVersion":V,<text's members>}}. */
static void watch_line(struct watch_stream *w, struct buf *out, const char *type, const char *text)
{
    if (w->table_api) {
        json_t *obj = json_loads(text, 0, NULL);
        json_t *t = table_new(w->table_api, w->group, w->kind, w->custom, !w->table_headers_sent);
        char *dump;
        w->table_headers_sent = 1;
        json_object_set_new(obj, "apiVersion", json_string(w->api_version));
        json_object_set_new(obj, "kind", json_string(w->kind));
        json_object_set(json_object_get(t, "metadata"), "resourceVersion",
                        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        table_add_row(t, w->group, w->kind, w->custom, obj, w->include);
        dump = json_dumps(t, JSON_COMPACT);
        buf_printf(out, "{\"type\":\"%s\",\"object\":%s}\n", type, dump);
        free(dump);
        json_decref(t);
        json_decref(obj);
        return;
    }
    buf_printf(out, "{\"type\":\"%s\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\"", type,
               w->kind, w->api_version);
    if (strcmp(text, "{}") != 0)
        buf_putc(out, ',');
    buf_puts(out, text + 1);
    buf_puts(out, "}\n");
}

static void watch_bookmark(const struct watch_stream *w, struct buf *out, int initial_end)
{
    buf_printf(out,
               "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
               "\"metadata\":{\"resourceVersion\":\"%" PRIu64 "\"%s}}}\n",
               w->kind, w->api_version, w->pos,
               initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : "");
}

static int watch_matches(const struct watch_stream *w, const json_t *labels, const json_t *fields)
{
    return selector_match(w->lsel, labels) && selector_match(w->fsel, fields);
}

/* Append the lines of the events after w->pos that w selects, up to about
 * max bytes, advancing w->pos past every event looked at. -1 if events
 * after w->pos have already been overwritten. Under watch_lock. */
static int watch_gather(struct watch_stream *w, struct buf *out, size_t max)
{
    size_t lo = 0, hi = watch_count;
    if (w->pos < watch_evicted)
        return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (watch_ring[(watch_head + mid) % watch_cap].rv <= w->pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < watch_count && out->len < max; i++) {
        const struct watch_event *e = &watch_ring[(watch_head + i) % watch_cap];
        int now, before;
        w->pos = e->rv;
        if (strcmp(e->tkey, w->tkey) != 0 || (w->ns && strcmp(e->ns, w->ns) != 0) ||
            (w->name && strcmp(e->name, w->name) != 0))
            continue;
        now = watch_matches(w, e->labels, e->fields);
        if (e->type == WATCH_ADDED) {
            if (now)
                watch_line(w, out, "ADDED", e->text);
        } else if (e->type == WATCH_DELETED) {
            if (now)
                watch_line(w, out, "DELETED", e->text);
        } else {
            before = e->prev_labels ? watch_matches(w, e->prev_labels, e->prev_fields) : now;
            if (now && before)
                watch_line(w, out, "MODIFIED", e->text);
            else if (now)
                watch_line(w, out, "ADDED", e->text);
            else if (before)
                watch_line(w, out, "DELETED", e->prev_text);
        }
    }
    return 0;
}

/* Write out's lines, one chunk each. */
static int watch_send(httpd_stream *hs, const struct buf *out)
{
    const char *p = out->ptr, *end = out->ptr + out->len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (httpd_stream_write(hs, p, len) < 0)
            return -1;
        p += len;
    }
    return 0;
}

static int watch_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static struct timespec watch_after(const struct timespec *t, long ms)
{
    struct timespec r = *t;
    r.tv_sec += ms / 1000;
    r.tv_nsec += (ms % 1000) * 1000000L;
    if (r.tv_nsec >= 1000000000L) {
        r.tv_sec++;
        r.tv_nsec -= 1000000000L;
    }
    return r;
}

static void watch_expired_line(struct buf *out, uint64_t rv, uint64_t oldest)
{
    buf_printf(out,
               "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
               "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: "
               "%" PRIu64 " (%" PRIu64 ")\",\"reason\":\"Expired\",\"code\":410}}\n",
               rv, oldest);
}

static int watch_run(void *ctx, httpd_stream *hs)
{
    struct watch_stream *w = ctx;
    struct buf out = BUF_INIT;
    struct timespec now, last_sent;
    int rc = 0;

    pthread_mutex_lock(&watch_lock);
    w->hs = hs;
    w->next = watch_streams;
    watch_streams = w;
    watch_nstreams++;
    if (w->expired)
        watch_expired_line(&out, w->pos, watch_evicted);
    if (w->ahead) {
        /* As the real watch cache: wait a few seconds for the store to
         * reach the requested resourceVersion, then give up with 504. */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until = watch_after(&until, WATCH_FRESH_MS);
        while (watch_last < w->pos && !w->cut &&
               pthread_cond_timedwait(&watch_cond, &watch_lock, &until) != ETIMEDOUT)
            ;
        if (watch_last < w->pos) {
            w->expired = 1;
            buf_printf(&out,
                       "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                       "\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Too large "
                       "resource version: %" PRIu64 ", current: %" PRIu64 "\",\"reason\":"
                       "\"Timeout\",\"details\":{\"causes\":[{\"reason\":"
                       "\"ResourceVersionTooLarge\",\"message\":\"Too large resource "
                       "version\"}],\"retryAfterSeconds\":1},\"code\":504}}\n",
                       w->pos, watch_last);
        }
    }
    pthread_mutex_unlock(&watch_lock);

    if (w->expired) {
        rc = watch_send(hs, &out);
        goto out;
    }
    if (w->initial_end)
        watch_bookmark(w, &w->initial, 1);
    if (watch_send(hs, &w->initial) < 0) {
        rc = -1;
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &last_sent);
    for (;;) {
        int expired = 0, cut;
        struct timespec until;
        buf_clear(&out);
        /* Wait for events at most until the next tick. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        until = watch_after(&now, WATCH_TICK_MS);
        if (watch_before(&w->deadline, &until))
            until = w->deadline;
        pthread_mutex_lock(&watch_lock);
        for (;;) {
            if (w->cut)
                break;
            if (watch_gather(w, &out, WATCH_BATCH_BYTES) < 0) {
                expired = 1;
                watch_expired_line(&out, w->pos, watch_evicted);
                break;
            }
            if (out.len)
                break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (!watch_before(&now, &until))
                break;
            if (pthread_cond_timedwait(&watch_cond, &watch_lock, &until) == ETIMEDOUT)
                break;
        }
        cut = w->cut;
        pthread_mutex_unlock(&watch_lock);
        if (cut) {
            rc = -1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (out.len) {
            if (watch_send(hs, &out) < 0) {
                rc = -1;
                break;
            }
            last_sent = now;
        } else if (w->bookmarks) {
            struct timespec due = watch_after(&last_sent, WATCH_TICK_MS);
            if (!watch_before(&now, &due)) {
                watch_bookmark(w, &out, 0);
                if (watch_send(hs, &out) < 0) {
                    rc = -1;
                    break;
                }
                last_sent = now;
            }
        }
        if (expired)
            break;
        if (!httpd_stream_alive(hs)) {
            rc = -1;
            break;
        }
        if (!watch_before(&now, &w->deadline))
            break;
    }
out:
    pthread_mutex_lock(&watch_lock);
    for (struct watch_stream **p = &watch_streams; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    watch_nstreams--;
    if (w->cut)
        rc = -1;
    pthread_mutex_unlock(&watch_lock);
    buf_dispose(&out);
    return rc;
}

static void watch_stream_free(void *ctx)
{
    struct watch_stream *w = ctx;
    if (!w)
        return;
    free(w->tkey);
    free(w->ns);
    free(w->name);
    free(w->api_version);
    free(w->kind);
    free(w->group);
    json_decref(w->custom);
    selector_free(w->lsel);
    selector_free(w->fsel);
    buf_dispose(&w->initial);
    free(w);
}

/* Query parameters that are booleans: "true" or "1". */
static int watch_flag(const struct verbs_call *c, const char *name)
{
    char *v = httpd_query_get(c->req, name);
    int on = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    free(v);
    return on;
}

/* The current objects w selects, as ADDED lines: the start of a watch
 * from resourceVersion "" or "0" or with sendInitialEvents. */
static void watch_snapshot(struct watch_stream *w, const struct resource *r)
{
    json_t *recs = objects_list(r, w->ns), *rec;
    size_t i;
    json_array_foreach(recs, i, rec)
    {
        const json_t *obj = json_object_get(rec, "object");
        json_t *labels, *fields;
        if (w->name &&
            strcmp(json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
                   w->name) != 0)
            continue;
        labels = watch_labels(obj);
        fields = selector_fields(r, obj);
        if (watch_matches(w, labels, fields)) {
            char *text = watch_text(obj, NULL);
            watch_line(w, &w->initial, "ADDED", text);
            free(text);
        }
        json_decref(labels);
        json_decref(fields);
    }
    json_decref(recs);
}

void watch_serve(struct verbs_call *c)
{
    struct watch_stream *w = xcalloc(1, sizeof(*w));
    char *ls = httpd_query_get(c->req, "labelSelector");
    char *fs = httpd_query_get(c->req, "fieldSelector");
    char *rv = httpd_query_get(c->req, "resourceVersion");
    char *to = httpd_query_get(c->req, "timeoutSeconds");
    long timeout = WATCH_DEFAULT_TIMEOUT;
    int initial;

    w->tkey = xasprintf("%s/%s", c->r->group, c->r->plural);
    w->ns = c->r->namespaced && c->ns ? xstrdup(c->ns) : NULL;
    w->name = c->name ? xstrdup(c->name) : NULL;
    w->api_version =
        c->r->group[0] ? xasprintf("%s/%s", c->r->group, c->r->version) : xstrdup(c->r->version);
    w->kind = xstrdup(c->r->kind);
    w->group = xstrdup(c->r->group);
    w->custom = table_custom_columns(c->r);
    w->table_api = table_wanted(c->req);
    w->include = table_include_of(c->req);
    w->bookmarks = watch_flag(c, "allowWatchBookmarks");
    w->initial_end = watch_flag(c, "sendInitialEvents");
    if (selector_parse(&w->lsel, ls) < 0 || selector_parse_fields(&w->fsel, fs) < 0 ||
        selector_check_fields(c->r, w->fsel) < 0) {
        status_reply(c->res, 400, "BadRequest", NULL, "%s", err_last());
        goto fail;
    }
    if (to && to[0]) {
        char *end;
        errno = 0;
        timeout = strtol(to, &end, 10);
        if (errno || *end || timeout < 0) {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "timeoutSeconds: Invalid value: \"%s\": must be a non-negative integer",
                         to);
            goto fail;
        }
    }
    initial = !rv || !rv[0] || strcmp(rv, "0") == 0 || w->initial_end;
    if (w->initial_end && !w->bookmarks) {
        status_reply(c->res, 422, "Invalid", NULL,
                     "ListOptions.meta.k8s.io \"\" is invalid: allowWatchBookmarks: Required "
                     "value: allowWatchBookmarks must be set to true when sendInitialEvents is "
                     "true");
        goto fail;
    }
    if (initial) {
        w->pos = objects_rv();
        watch_snapshot(w, c->r);
    } else {
        char *end;
        errno = 0;
        w->pos = strtoull(rv, &end, 10);
        if (errno || *end || rv[0] == '-') {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "resourceVersion: Invalid value: \"%s\": must be a non-negative integer",
                         rv);
            goto fail;
        }
        w->expired = !watch_covers(w->pos, NULL);
        w->ahead = w->pos > objects_rv();
    }
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    w->deadline = watch_after(&w->deadline, timeout * 1000);
    c->res->status = 200;
    c->res->content_type = "application/json";
    c->res->stream = watch_run;
    c->res->stream_free = watch_stream_free;
    c->res->stream_ctx = w;
    w = NULL;
fail:
    watch_stream_free(w);
    free(ls);
    free(fs);
    free(rv);
    free(to);
}
