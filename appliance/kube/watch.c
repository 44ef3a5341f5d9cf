/*
 * One watcher thread per kind. The loop is a small state machine:
 *
 *   LIST ──ok──▶ WATCH ──stream ends──▶ WATCH (from the last version)
 *    ▲  └fail─▶ backoff ─▶ LIST          │ drop/error ─▶ backoff ─▶ WATCH
 *    └────────── 410 (HTTP or ERROR event), event over max_event ──┘
 *
 * kube_watch_list() and kube_watch_stream() are the two edges' work; the
 * loop in kube_watch_main() picks the next state. Decisions worth knowing:
 *
 * - LIST and WATCH go over the watcher's own http_conn (a stream holds
 *   its connection for minutes), both read as streams; discovery goes
 *   through a kube_client, which also supplies the bearer token (re-read
 *   from tokenFile when due).
 * - Reads wait in slices of KUBE_WATCH_SLICE_MS so a stop request is seen
 *   quickly without touching a socket another thread owns; a stream quiet
 *   for longer than the server's own timeout plus a margin is taken for
 *   dead (a vanished peer never sends a FIN).
 * - The resourceVersion is opaque: copied from each event and bookmark,
 *   never compared.
 * - A stream that ends cleanly resumes at once; one that ended within a
 *   second without a single event counts as a failure, so a server that
 *   keeps closing immediately is met with backoff, not a hot loop.
 */
#include "kube/watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <mbedtls/platform_util.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "kube/client.h"
#include "kube/http.h"

#define KUBE_WATCH_SLICE_MS 200
#define KUBE_WATCH_IDLE_MARGIN_MS 30000
#define KUBE_WATCH_READ 4096

/* What one stream ended with. */
enum kube_watch_end {
    KUBE_WATCH_END_CLEAN,   /* the server ended it; resume */
    KUBE_WATCH_END_DROPPED, /* transport failure; back off, resume */
    KUBE_WATCH_END_EXPIRED, /* 410 or lost events; re-list */
    KUBE_WATCH_END_STOPPED, /* kube_watch_free */
};

struct kube_watch {
    char *api_version, *kind, *selector, *ns, *what;
    struct kube_watch_options opts;
    kube_watch_fn fn;
    void *ctx;
    kube_client *client;
    pthread_mutex_t *client_mu; /* NULL when client is the watcher's own */
    int own_client;
    http_conn *stream_conn;
    pthread_t th;
    int started;

    pthread_mutex_t mu; /* guards stop (for the cond) and stats */
    pthread_cond_t cond;
    atomic_int stop;
    struct kube_watch_stats stats;

    char *rv; /* watcher thread only */
};

static void kube_watch_set_rv(kube_watch *w, const char *rv)
{
    if (!rv || !rv[0])
        return;
    free(w->rv);
    w->rv = xstrdup(rv);
    pthread_mutex_lock(&w->mu);
    str_copy(w->stats.rv, rv, sizeof(w->stats.rv));
    pthread_mutex_unlock(&w->mu);
}

static void kube_watch_note_error(kube_watch *w, const char *msg)
{
    pthread_mutex_lock(&w->mu);
    w->stats.failures++;
    str_copy(w->stats.last_error, msg, sizeof(w->stats.last_error));
    pthread_mutex_unlock(&w->mu);
}

/* The client may be shared with the other watchers of the cluster. */
static void kube_watch_client_lock(kube_watch *w)
{
    if (w->client_mu)
        pthread_mutex_lock(w->client_mu);
}

static void kube_watch_client_unlock(kube_watch *w)
{
    if (w->client_mu)
        pthread_mutex_unlock(w->client_mu);
}

/* Resolve the kind; entries stay valid as long as the client. */
static int kube_watch_resource(kube_watch *w, const struct kube_resource **r)
{
    int rc;
    kube_watch_client_lock(w);
    rc = kube_client_resource(w->client, w->api_version, w->kind, r);
    /* Discovery is all the client does here: its connection would only
     * hold TLS buffers until the next miss. */
    kube_client_close_idle(w->client);
    kube_watch_client_unlock(w);
    return rc;
}

/* Sleep ms unless asked to stop; 1 if stopping. */
static int kube_watch_sleep(kube_watch *w, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop))
        if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&w->mu);
    return atomic_load(&w->stop);
}

/* ---- LIST ----
 *
 * A listing is read as a stream and cut into items as the bytes arrive:
 * each item is parsed on its own and handed on, so neither the whole
 * response nor its whole tree is ever in memory (a jansson tree is many
 * times the size of its text, and a page of a few hundred Deployments
 * would otherwise be megabytes of short-lived heap, left fragmented
 * around the cache's long-lived objects). The splitter follows only what
 * it needs of the JSON grammar: strings, nesting, and the top-level keys
 * "items" (an array of objects) and "metadata" (resourceVersion,
 * continue); each piece it cuts out is checked by the real parser. */

enum kube_split_cap { KUBE_SPLIT_NONE, KUBE_SPLIT_ITEM, KUBE_SPLIT_META };

struct kube_split {
    int depth, in_str, esc, key_collect, in_items, seen_top;
    char key[32], cur_key[32];
    size_t key_len;
    enum kube_split_cap cap;
    struct buf text;
    json_t *meta;
};

static void kube_split_dispose(struct kube_split *sp)
{
    buf_dispose(&sp->text);
    json_decref(sp->meta);
}

static int kube_split_item(kube_watch *w, struct kube_split *sp)
{
    json_error_t jerr;
    json_t *item = json_loadb(sp->text.ptr, sp->text.len, 0, &jerr), *typed;
    const char *k;
    json_t *v;
    if (!item)
        return err_set(ERR_INVALID, "%s: list item is not JSON: %s", w->what, jerr.text);
    /* Items of a list carry no apiVersion/kind; put them first, as a GET
     * would show them. */
    typed = json_object();
    json_object_set_new(typed, "apiVersion", json_string(w->api_version));
    json_object_set_new(typed, "kind", json_string(w->kind));
    json_object_foreach(item, k, v)
    {
        if (strcmp(k, "apiVersion") != 0 && strcmp(k, "kind") != 0)
            json_object_set(typed, k, v);
    }
    json_decref(item);
    buf_clear(&sp->text);
    if (atomic_load(&w->stop)) {
        json_decref(typed);
        return err_set(ERR_GENERIC, "%s: stopping", w->what);
    }
    w->fn(w->ctx, KUBE_WATCH_LISTED, typed);
    json_decref(typed);
    return 0;
}

static int kube_split_feed(kube_watch *w, struct kube_split *sp, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        int rc;
        if (sp->cap != KUBE_SPLIT_NONE) {
            if (sp->text.len >= w->opts.max_event)
                return err_set(ERR_TOOLARGE, "%s: list item over %zu bytes", w->what,
                               w->opts.max_event);
            buf_putc(&sp->text, ch);
        }
        if (sp->in_str) {
            if (sp->esc)
                sp->esc = 0;
            else if (ch == '\\')
                sp->esc = 1;
            else if (ch == '"')
                sp->in_str = sp->key_collect = 0;
            else if (sp->key_collect && sp->key_len < sizeof(sp->key) - 1)
                sp->key[sp->key_len++] = ch;
            continue;
        }
        switch (ch) {
        case '"':
            sp->in_str = 1;
            if (sp->depth == 1 && sp->cap == KUBE_SPLIT_NONE) {
                sp->key_collect = 1;
                sp->key_len = 0;
            }
            break;
        case ':':
            if (sp->depth == 1) {
                memcpy(sp->cur_key, sp->key, sp->key_len);
                sp->cur_key[sp->key_len] = '\0';
            }
            break;
        case ',':
            if (sp->depth == 1)
                sp->cur_key[0] = '\0';
            break;
        case '{':
        case '[':
            if (sp->depth == 0) {
                if (ch != '{' || sp->seen_top)
                    return err_set(ERR_INVALID, "%s: the list is not a JSON object", w->what);
                sp->seen_top = 1;
            } else if (sp->depth == 1 && ch == '[' && !strcmp(sp->cur_key, "items")) {
                sp->in_items = 1;
            } else if (sp->depth == 1 && ch == '{' && !strcmp(sp->cur_key, "metadata") &&
                       sp->cap == KUBE_SPLIT_NONE) {
                sp->cap = KUBE_SPLIT_META;
                buf_clear(&sp->text);
                buf_putc(&sp->text, '{');
            } else if (sp->depth == 2 && sp->in_items && ch == '{' && sp->cap == KUBE_SPLIT_NONE) {
                sp->cap = KUBE_SPLIT_ITEM;
                buf_clear(&sp->text);
                buf_putc(&sp->text, '{');
            }
            if (++sp->depth > 10000)
                return err_set(ERR_INVALID, "%s: list nested too deeply", w->what);
            break;
        case '}':
        case ']':
            if (--sp->depth < 0)
                return err_set(ERR_INVALID, "%s: unbalanced list JSON", w->what);
            if (sp->cap == KUBE_SPLIT_ITEM && sp->depth == 2) {
                sp->cap = KUBE_SPLIT_NONE;
                if ((rc = kube_split_item(w, sp)) < 0)
                    return rc;
            } else if (sp->cap == KUBE_SPLIT_META && sp->depth == 1) {
                json_error_t jerr;
                sp->cap = KUBE_SPLIT_NONE;
                json_decref(sp->meta);
                sp->meta = json_loadb(sp->text.ptr, sp->text.len, 0, &jerr);
                if (!sp->meta)
                    return err_set(ERR_INVALID, "%s: list metadata is not JSON: %s", w->what,
                                   jerr.text);
                buf_clear(&sp->text);
            } else if (sp->depth == 1 && ch == ']') {
                sp->in_items = 0;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

/* The API server's message from a non-2xx answer. */
static int kube_watch_http_error(kube_watch *w, const char *verb, const struct http_response *r)
{
    json_t *st = json_loadb(buf_cstr(&r->body), r->body.len, 0, NULL);
    const char *msg = json_string_value(json_object_get(st, "message"));
    int code = r->status == 404                       ? ERR_NOTFOUND
               : r->status == 401 || r->status == 403 ? ERR_AUTH
                                                      : ERR_GENERIC;
    int rc = err_set(code, "%s: %s: HTTP %d: %.200s", w->what, verb, r->status,
                     msg ? msg : buf_cstr(&r->body));
    json_decref(st);
    return rc;
}

/* GET path on the watch connection; 0 with *out open for a 2xx answer. */
static int kube_watch_open(kube_watch *w, const char *path, http_stream **out,
                           struct http_response *resp)
{
    const char *headers[3];
    char *auth = NULL;
    int rc;

    *out = NULL;
    kube_watch_client_lock(w);
    rc = kube_client_auth_header(w->client, &auth);
    kube_watch_client_unlock(w);
    if (rc < 0)
        return rc;
    headers[0] = "Accept: application/json";
    headers[1] = auth;
    headers[2] = NULL;
    rc = http_stream_open(out, w->stream_conn, path, headers, resp);
    if (auth) {
        mbedtls_platform_zeroize(auth, strlen(auth));
        free(auth);
    }
    return rc;
}

/* One page; *cont gets the continue token (or NULL), *rv the version. */
static int kube_watch_list_page(kube_watch *w, const struct kube_resource *r, char **cont,
                                char **rv)
{
    struct kube_split sp;
    struct http_response resp;
    struct buf path = BUF_INIT;
    http_stream *s = NULL;
    char *chunk = NULL;
    const char *v;
    int rc;

    memset(&sp, 0, sizeof(sp));
    http_response_init(&resp);
    kube_client_collection_path(r, w->ns, &path);
    buf_printf(&path, "?limit=%d", w->opts.list_page > 0 ? w->opts.list_page : 500);
    if (w->selector && w->selector[0]) {
        buf_puts(&path, "&labelSelector=");
        http_query_escape(&path, w->selector);
    }
    if (*cont) {
        buf_puts(&path, "&continue=");
        http_query_escape(&path, *cont);
    }
    free(*cont);
    *cont = NULL;
    if ((rc = kube_watch_open(w, buf_cstr(&path), &s, &resp)) < 0) {
        err_prefix(rc, "%s: list", w->what);
        goto out;
    }
    if (!s) {
        rc = kube_watch_http_error(w, "list", &resp);
        goto out;
    }
    chunk = xmalloc(KUBE_WATCH_READ);
    for (;;) {
        long n = http_stream_read(s, chunk, KUBE_WATCH_READ);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        if (n == 0)
            break;
        if ((rc = kube_split_feed(w, &sp, chunk, (size_t)n)) < 0)
            goto out;
    }
    if (!sp.seen_top || sp.depth != 0 || sp.in_str) {
        rc = err_set(ERR_INVALID, "%s: the list answer is cut short", w->what);
        goto out;
    }
    v = json_string_value(json_object_get(sp.meta, "resourceVersion"));
    if (v && v[0])
        *rv = xstrdup(v);
    v = json_string_value(json_object_get(sp.meta, "continue"));
    if (v && v[0])
        *cont = xstrdup(v);
    rc = 0;
out:
    http_stream_close(s);
    http_response_dispose(&resp);
    kube_split_dispose(&sp);
    buf_dispose(&path);
    free(chunk);
    return rc;
}

static int kube_watch_list(kube_watch *w)
{
    const struct kube_resource *r;
    char *rv = NULL, *cont = NULL;
    int rc;

    if ((rc = kube_watch_resource(w, &r)) < 0)
        return err_prefix(rc, "%s", w->what);
    w->fn(w->ctx, KUBE_WATCH_RELIST_BEGIN, NULL);
    do {
        char *page_rv = NULL;
        if ((rc = kube_watch_list_page(w, r, &cont, &page_rv)) < 0)
            goto out;
        /* Every page of one listing shares the snapshot's version. */
        if (page_rv) {
            free(rv);
            rv = page_rv;
        }
    } while (cont);
    if (!rv) {
        rc = err_set(ERR_INVALID, "%s: the list has no resourceVersion", w->what);
        goto out;
    }
    kube_watch_set_rv(w, rv);
    w->fn(w->ctx, KUBE_WATCH_RELIST_END, NULL);
    log_debug("%s: listed at resourceVersion %s; watching", w->what, rv);
    pthread_mutex_lock(&w->mu);
    w->stats.lists++;
    w->stats.synced = 1;
    pthread_mutex_unlock(&w->mu);
out:
    free(rv);
    free(cont);
    return rc;
}

/* ---- WATCH ---- */

static void kube_watch_path(kube_watch *w, const struct kube_resource *r, struct buf *path)
{
    kube_client_collection_path(r, w->ns, path);
    buf_puts(path, "?watch=1&allowWatchBookmarks=true&resourceVersion=");
    http_query_escape(path, w->rv ? w->rv : "");
    if (w->selector && w->selector[0]) {
        buf_puts(path, "&labelSelector=");
        http_query_escape(path, w->selector);
    }
    buf_printf(path, "&timeoutSeconds=%d", w->opts.timeout_seconds);
}

/* Handle one event line. Returns 0 to go on, 1 when the watch must
 * re-list, <0 for a malformed event. */
static int kube_watch_event_line(kube_watch *w, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *ev, *obj;
    const char *type;
    int rc = 0;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    ev = json_loadb(line, len, 0, &jerr);
    if (!ev)
        return err_set(ERR_INVALID, "%s: watch event is not JSON: %d:%d: %s", w->what, jerr.line,
                       jerr.column, jerr.text);
    type = json_string_value(json_object_get(ev, "type"));
    obj = json_object_get(ev, "object");
    if (!type || !json_is_object(obj)) {
        rc = err_set(ERR_INVALID, "%s: watch event without type or object", w->what);
        goto out;
    }
    if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
        enum kube_watch_event k = !strcmp(type, "ADDED")      ? KUBE_WATCH_ADDED
                                  : !strcmp(type, "MODIFIED") ? KUBE_WATCH_MODIFIED
                                                              : KUBE_WATCH_DELETED;
        /* Watch events carry the object's own apiVersion/kind, but make
         * sure, as a LIST item would be. */
        if (!json_object_get(obj, "apiVersion"))
            json_object_set_new(obj, "apiVersion", json_string(w->api_version));
        if (!json_object_get(obj, "kind"))
            json_object_set_new(obj, "kind", json_string(w->kind));
        w->fn(w->ctx, k, obj);
        kube_watch_set_rv(w, json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                               "resourceVersion")));
        pthread_mutex_lock(&w->mu);
        w->stats.events++;
        pthread_mutex_unlock(&w->mu);
    } else if (!strcmp(type, "BOOKMARK")) {
        kube_watch_set_rv(w, json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                               "resourceVersion")));
        pthread_mutex_lock(&w->mu);
        w->stats.bookmarks++;
        pthread_mutex_unlock(&w->mu);
    } else if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *msg = json_string_value(json_object_get(obj, "message"));
        if (code == 410) {
            pthread_mutex_lock(&w->mu);
            w->stats.expired++;
            pthread_mutex_unlock(&w->mu);
            log_debug("%s: watch expired (%s); listing again", w->what, msg ? msg : "410");
            rc = 1;
        } else {
            rc = err_set(ERR_GENERIC, "%s: watch error %lld: %s", w->what, (long long)code,
                         msg ? msg : "(no message)");
        }
    } else {
        rc = err_set(ERR_INVALID, "%s: unknown watch event type \"%.40s\"", w->what, type);
    }
out:
    json_decref(ev);
    return rc;
}

/* One watch request, read until it ends. */
static enum kube_watch_end kube_watch_stream(kube_watch *w)
{
    const struct kube_resource *r;
    struct buf path = BUF_INIT, line = BUF_INIT;
    struct http_response resp;
    http_stream *s = NULL;
    char *chunk = NULL;
    enum kube_watch_end end = KUBE_WATCH_END_DROPPED;
    int64_t started = time_mono_ms(), last_data;
    int64_t idle_limit = (int64_t)w->opts.timeout_seconds * 1000 + KUBE_WATCH_IDLE_MARGIN_MS;
    uint64_t events_before;
    int rc;

    http_response_init(&resp);
    if ((rc = kube_watch_resource(w, &r)) < 0)
        goto out;
    kube_watch_path(w, r, &path);
    rc = kube_watch_open(w, buf_cstr(&path), &s, &resp);
    if (rc < 0) {
        err_prefix(rc, "%s: watch", w->what);
        goto out;
    }
    if (resp.status == 410) {
        pthread_mutex_lock(&w->mu);
        w->stats.expired++;
        pthread_mutex_unlock(&w->mu);
        end = KUBE_WATCH_END_EXPIRED;
        goto out;
    }
    if (!s) {
        rc = kube_watch_http_error(w, "watch", &resp);
        goto out;
    }
    pthread_mutex_lock(&w->mu);
    w->stats.watches++;
    events_before = w->stats.events + w->stats.bookmarks;
    pthread_mutex_unlock(&w->mu);
    chunk = xmalloc(KUBE_WATCH_READ);
    last_data = time_mono_ms();
    for (;;) {
        long n;
        char *p, *nl;
        if (atomic_load(&w->stop)) {
            end = KUBE_WATCH_END_STOPPED;
            goto out;
        }
        rc = http_stream_wait(s, KUBE_WATCH_SLICE_MS);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            if (time_mono_ms() - last_data > idle_limit) {
                rc = err_set(ERR_TIMEOUT, "%s: watch silent for %lld s", w->what,
                             (long long)(idle_limit / 1000));
                goto out;
            }
            continue;
        }
        n = http_stream_read(s, chunk, KUBE_WATCH_READ);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        if (n == 0) {
            uint64_t now_events;
            pthread_mutex_lock(&w->mu);
            now_events = w->stats.events + w->stats.bookmarks;
            pthread_mutex_unlock(&w->mu);
            if (line.len > 0) {
                rc = err_set(ERR_IO, "%s: watch ended inside an event", w->what);
                goto out;
            }
            if (now_events == events_before && time_mono_ms() - started < 1000) {
                rc = err_set(ERR_IO, "%s: watch ended at once without events", w->what);
                goto out;
            }
            end = KUBE_WATCH_END_CLEAN;
            goto out;
        }
        last_data = time_mono_ms();
        /* Split into lines; a line may span any number of reads. */
        p = chunk;
        while ((nl = memchr(p, '\n', (size_t)(chunk + n - p))) != NULL) {
            size_t part = (size_t)(nl - p);
            if (line.len + part > w->opts.max_event) {
                log_warn("%s: watch event over %zu bytes; listing again", w->what,
                         w->opts.max_event);
                end = KUBE_WATCH_END_EXPIRED;
                goto out;
            }
            if (line.len > 0) {
                buf_put(&line, p, part);
                rc = kube_watch_event_line(w, line.ptr, line.len);
                buf_clear(&line);
            } else {
                rc = kube_watch_event_line(w, p, part);
            }
            if (rc == 1) {
                end = KUBE_WATCH_END_EXPIRED;
                goto out;
            }
            if (rc < 0)
                goto out;
            p = nl + 1;
        }
        if (p < chunk + n) {
            size_t part = (size_t)(chunk + n - p);
            if (line.len + part > w->opts.max_event) {
                log_warn("%s: watch event over %zu bytes; listing again", w->what,
                         w->opts.max_event);
                end = KUBE_WATCH_END_EXPIRED;
                goto out;
            }
            buf_put(&line, p, part);
        }
    }
out:
    if (end == KUBE_WATCH_END_DROPPED)
        kube_watch_note_error(w, err_last());
    http_stream_close(s);
    http_response_dispose(&resp);
    buf_dispose(&path);
    /* Keep the line buffer from holding a large event's memory. */
    buf_dispose(&line);
    free(chunk);
    return end;
}

static void *kube_watch_main(void *arg)
{
    kube_watch *w = arg;
    int need_list = 1, backoff = w->opts.backoff_min_ms;

    while (!atomic_load(&w->stop)) {
        if (need_list) {
            if (kube_watch_list(w) < 0) {
                if (atomic_load(&w->stop))
                    break;
                log_warn("%s: %s", w->what, err_last());
                kube_watch_note_error(w, err_last());
                if (kube_watch_sleep(w, backoff))
                    break;
                backoff =
                    backoff * 2 > w->opts.backoff_max_ms ? w->opts.backoff_max_ms : backoff * 2;
                continue;
            }
            need_list = 0;
            backoff = w->opts.backoff_min_ms;
        }
        switch (kube_watch_stream(w)) {
        case KUBE_WATCH_END_CLEAN:
            backoff = w->opts.backoff_min_ms;
            break;
        case KUBE_WATCH_END_EXPIRED:
            pthread_mutex_lock(&w->mu);
            w->stats.synced = 0;
            pthread_mutex_unlock(&w->mu);
            need_list = 1;
            break;
        case KUBE_WATCH_END_STOPPED:
            break;
        case KUBE_WATCH_END_DROPPED:
            log_debug("%s: %s; resuming in %d ms", w->what, err_last(), backoff);
            if (kube_watch_sleep(w, backoff))
                break;
            backoff = backoff * 2 > w->opts.backoff_max_ms ? w->opts.backoff_max_ms : backoff * 2;
            break;
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

int kube_watch_new(kube_watch **out, const struct kubeconfig *kc, const char *api_version,
                   const char *kind, const struct kube_watch_options *opts, kube_watch_fn fn,
                   void *ctx)
{
    static const struct kube_watch_options defaults = KUBE_WATCH_OPTIONS_INIT;
    struct http_options hopts = HTTP_OPTIONS_INIT;
    struct http_tls tls;
    kube_watch *w;
    int rc;

    *out = NULL;
    if (!api_version || !api_version[0] || !kind || !kind[0])
        return err_set(ERR_INVALID, "watch: apiVersion and kind are required");
    if (!kc->server)
        return err_set(ERR_INVALID, "watch %s: no server", kind);
    w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    atomic_init(&w->stop, 0);
    w->opts = opts ? *opts : defaults;
    if (w->opts.timeout_seconds <= 0)
        w->opts.timeout_seconds = defaults.timeout_seconds;
    if (w->opts.backoff_min_ms <= 0)
        w->opts.backoff_min_ms = defaults.backoff_min_ms;
    if (w->opts.backoff_max_ms < w->opts.backoff_min_ms)
        w->opts.backoff_max_ms = w->opts.backoff_min_ms;
    if (w->opts.max_event == 0)
        w->opts.max_event = defaults.max_event;
    w->api_version = xstrdup(api_version);
    w->kind = xstrdup(kind);
    w->selector = xstrdup(w->opts.label_selector);
    w->ns = w->opts.namespace_ && w->opts.namespace_[0] ? xstrdup(w->opts.namespace_) : NULL;
    w->opts.label_selector = NULL; /* the copies above are what is used */
    w->opts.namespace_ = NULL;
    w->what = xasprintf("watch %s %s", kind, w->ns ? w->ns : "(all namespaces)");
    w->fn = fn;
    w->ctx = ctx;
    if (w->opts.client) {
        w->client = w->opts.client;
        w->client_mu = w->opts.client_mu;
    } else {
        if ((rc = kube_client_new(&w->client, kc)) < 0)
            goto fail;
        w->own_client = 1;
    }
    w->opts.client = NULL;
    w->opts.client_mu = NULL;
    memset(&tls, 0, sizeof(tls));
    tls.ca_pem = kc->ca_pem;
    tls.ca_pem_len = kc->ca_pem_len;
    tls.client_cert_pem = kc->client_cert_pem;
    tls.client_cert_pem_len = kc->client_cert_pem_len;
    tls.client_key_pem = kc->client_key_pem;
    tls.client_key_pem_len = kc->client_key_pem_len;
    tls.insecure = kc->insecure;
    tls.server_name = kc->tls_server_name;
    /* Reads are bounded by the idle check in kube_watch_stream; this only
     * covers a response stuck half way through an event. */
    hopts.io_timeout_ms = 60000;
    if ((rc = http_conn_new(&w->stream_conn, kc->server, &tls, &hopts)) < 0)
        goto fail;
    if (pthread_create(&w->th, NULL, kube_watch_main, w) != 0) {
        rc = err_set(ERR_GENERIC, "%s: cannot start a thread", w->what);
        goto fail;
    }
    w->started = 1;
    *out = w;
    return 0;
fail:
    kube_watch_free(w);
    return rc;
}

void kube_watch_free(kube_watch *w)
{
    if (!w)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->stop, 1);
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
    }
    http_conn_free(w->stream_conn);
    if (w->own_client)
        kube_client_free(w->client);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w->api_version);
    free(w->kind);
    free(w->selector);
    free(w->ns);
    free(w->what);
    free(w->rv);
    free(w);
}

void kube_watch_stats(kube_watch *w, struct kube_watch_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}
