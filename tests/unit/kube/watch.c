/*
 * Tests for appliance/kube/watch.c (and the streamed reads of http.c it
 * rests on) against a scripted API server in a thread: discovery and LIST
 * answers by path, and each watch request gets the next scripted stream,
 * written as chunks with pauses between them so events arrive split across
 * chunk and read boundaries, a stream is dropped without its last chunk,
 * an ERROR 410 event and an HTTP 410 force re-lists. The test's consumer
 * keeps the set of names it holds, the way the watch cache does, so the
 * RELIST bracket is checked by what disappears.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/watch.h"
#include "test.h"

/* ---- scripted API server ---- */

#define SRV_MAX_CONN 32

/* One step of a watch stream. */
enum step_kind {
    STEP_HEAD,
    STEP_CHUNK,
    STEP_PAUSE,
    STEP_END,
    STEP_DROP,
    STEP_HANG,
    STEP_RAW,
    STEP_GONE, /* a whole 410 answer with text as its body */
};
struct step {
    enum step_kind kind;
    const char *text; /* HEAD: whole head; CHUNK: chunk data; RAW: bytes as is */
};

struct wsrv {
    int lfd, port;
    pthread_t th;
    pthread_t conn_th[SRV_MAX_CONN];
    int n_conn;
    volatile int stop;
    pthread_mutex_t mu;
    const char *const *lists; /* LIST bodies, in order; the last repeats */
    int n_lists_served;
    const struct step *const *watches; /* watch streams, in order, NULL-terminated */
    int n_watches_served;
    struct buf watch_rvs; /* "10,15,..." the resourceVersion of each watch */
    struct buf requests;  /* every request line */
};

struct wconn {
    struct wsrv *s;
    int fd;
};

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static void send_json(int fd, int status, const char *body)
{
    char head[256];
    snprintf(head, sizeof(head),
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             status, strlen(body));
    send_str(fd, head);
    send_str(fd, body);
}

/* Read one request head; 0 with the request line in line, -1 at EOF. */
static int read_head(struct wsrv *s, int fd, char *line, size_t linesz)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (s->stop)
            return -1;
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
        if (len == sizeof(buf) - 1)
            return -1;
    }
    *strstr(buf, "\r\n") = '\0';
    str_copy(line, buf, linesz);
    return 0;
}

static const char discovery_v1[] =
    "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
    "{\"name\":\"configmaps\",\"namespaced\":true,\"kind\":\"ConfigMap\"}]}";

/* Play one watch stream; returns 1 when the connection must close. */
static int play_watch(struct wsrv *s, int fd, const struct step *steps)
{
    for (const struct step *st = steps;; st++) {
        char size[32];
        switch (st->kind) {
        case STEP_HEAD:
            send_str(fd, st->text);
            break;
        case STEP_CHUNK:
            snprintf(size, sizeof(size), "%zx\r\n", strlen(st->text));
            send_str(fd, size);
            send_str(fd, st->text);
            send_str(fd, "\r\n");
            break;
        case STEP_RAW:
            send_str(fd, st->text);
            break;
        case STEP_GONE:
            send_json(fd, 410, st->text);
            return 0;
        case STEP_PAUSE:
            msleep(60);
            break;
        case STEP_END:
            send_str(fd, "0\r\n\r\n");
            return 0;
        case STEP_DROP:
            return 1;
        case STEP_HANG:
            while (!s->stop)
                msleep(20);
            return 1;
        }
    }
}

static void *conn_main(void *arg)
{
    struct wconn *wc = arg;
    struct wsrv *s = wc->s;
    char line[4096];

    while (read_head(s, wc->fd, line, sizeof(line)) == 0) {
        char *path = strchr(line, ' ');
        if (!path)
            break;
        path++;
        pthread_mutex_lock(&s->mu);
        buf_printf(&s->requests, "%s\n", line);
        pthread_mutex_unlock(&s->mu);
        if (str_has_prefix(path, "/api/v1 ")) {
            send_json(wc->fd, 200, discovery_v1);
        } else if (str_has_prefix(path, "/apis ")) {
            send_json(wc->fd, 200, "{\"kind\":\"APIGroupList\",\"groups\":[]}");
        } else if (str_has_prefix(path, "/api/v1/configmaps?watch=1")) {
            const struct step *steps;
            const char *rv = strstr(path, "resourceVersion=");
            pthread_mutex_lock(&s->mu);
            steps = s->watches[s->n_watches_served];
            if (steps)
                s->n_watches_served++;
            buf_printf(&s->watch_rvs, "%s%.*s", s->watch_rvs.len ? "," : "",
                       rv ? (int)strcspn(rv + 16, "& ") : 1, rv ? rv + 16 : "?");
            pthread_mutex_unlock(&s->mu);
            if (!steps) {
                static const struct step hang[] = {
                    {STEP_HEAD, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
                    {STEP_HANG, NULL}};
                steps = hang;
            }
            if (play_watch(s, wc->fd, steps))
                break;
        } else if (str_has_prefix(path, "/api/v1/configmaps?")) {
            const char *body;
            pthread_mutex_lock(&s->mu);
            body = s->lists[s->n_lists_served];
            if (s->lists[s->n_lists_served + 1])
                s->n_lists_served++;
            pthread_mutex_unlock(&s->mu);
            send_json(wc->fd, 200, body);
        } else {
            send_json(wc->fd, 404,
                      "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\","
                      "\"message\":\"not here\",\"code\":404}");
        }
    }
    close(wc->fd);
    free(wc);
    return NULL;
}

static void *srv_main(void *arg)
{
    struct wsrv *s = arg;
    while (!s->stop) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        struct wconn *wc;
        int fd;
        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (s->n_conn == SRV_MAX_CONN) {
            close(fd);
            continue;
        }
        wc = xcalloc(1, sizeof(*wc));
        wc->s = s;
        wc->fd = fd;
        pthread_create(&s->conn_th[s->n_conn++], NULL, conn_main, wc);
    }
    return NULL;
}

static void wsrv_start(struct wsrv *s, const char *const *lists, const struct step *const *watches)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->lists = lists;
    s->watches = watches;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 8) < 0) {
        perror("bind");
        exit(2);
    }
    getsockname(s->lfd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, srv_main, s);
}

static void wsrv_stop(struct wsrv *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    for (int i = 0; i < s->n_conn; i++)
        pthread_join(s->conn_th[i], NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
}

/* After the checks that read them. */
static void wsrv_dispose(struct wsrv *s)
{
    buf_dispose(&s->watch_rvs);
    buf_dispose(&s->requests);
}

/* ---- the consumer: a set of names, as the cache keeps them ---- */

struct consumer {
    pthread_mutex_t mu;
    struct buf log; /* "BEGIN LISTED:a ... END ADDED:c ..." */
    char held[16][16];
    int seen[16];
    int n_held;
};

static int consumer_find(struct consumer *c, const char *name)
{
    for (int i = 0; i < c->n_held; i++)
        if (!strcmp(c->held[i], name))
            return i;
    return -1;
}

static void consumer_fn(void *ctx, enum kube_watch_event ev, json_t *obj)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BEGIN", "LISTED", "END"};
    struct consumer *c = ctx;
    const char *name =
        obj ? json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) : NULL;
    const char *kind = obj ? json_string_value(json_object_get(obj, "kind")) : NULL;
    int i;

    pthread_mutex_lock(&c->mu);
    if (obj && (!kind || strcmp(kind, "ConfigMap") != 0))
        buf_puts(&c->log, "NOKIND ");
    buf_printf(&c->log, "%s%s%s ", names[ev], name ? ":" : "", name ? name : "");
    switch (ev) {
    case KUBE_WATCH_RELIST_BEGIN:
        memset(c->seen, 0, sizeof(c->seen));
        break;
    case KUBE_WATCH_ADDED:
    case KUBE_WATCH_MODIFIED:
    case KUBE_WATCH_LISTED:
        i = consumer_find(c, name);
        if (i < 0 && c->n_held < 16) {
            i = c->n_held++;
            str_copy(c->held[i], name, sizeof(c->held[i]));
        }
        if (i >= 0)
            c->seen[i] = 1;
        break;
    case KUBE_WATCH_DELETED:
        i = consumer_find(c, name);
        if (i >= 0) {
            c->n_held--;
            memmove(c->held[i], c->held[c->n_held], sizeof(c->held[i]));
            c->seen[i] = c->seen[c->n_held];
        }
        break;
    case KUBE_WATCH_RELIST_END:
        for (i = 0; i < c->n_held;) {
            if (!c->seen[i]) {
                buf_printf(&c->log, "GONE:%s ", c->held[i]);
                c->n_held--;
                memmove(c->held[i], c->held[c->n_held], sizeof(c->held[i]));
                c->seen[i] = c->seen[c->n_held];
            } else {
                i++;
            }
        }
        break;
    }
    pthread_mutex_unlock(&c->mu);
}

static int wait_until(struct wsrv *s, int n_watches, int seconds)
{
    for (int i = 0; i < seconds * 50; i++) {
        int n;
        pthread_mutex_lock(&s->mu);
        n = (int)s->n_watches_served;
        pthread_mutex_unlock(&s->mu);
        if (n >= n_watches)
            return 1;
        msleep(20);
    }
    return 0;
}

static int wait_for_rv(struct wsrv *s, const char *rvs, int seconds)
{
    for (int i = 0; i < seconds * 50; i++) {
        int found;
        pthread_mutex_lock(&s->mu);
        found = strstr(buf_cstr(&s->watch_rvs), rvs) != NULL;
        pthread_mutex_unlock(&s->mu);
        if (found)
            return 1;
        msleep(20);
    }
    return 0;
}

static struct kubeconfig test_kc(int port, char *server, size_t n)
{
    struct kubeconfig kc;
    memset(&kc, 0, sizeof(kc));
    snprintf(server, n, "http://127.0.0.1:%d", port);
    kc.server = server;
    kc.token = "sekret";
    return kc;
}

#define CM(name, rv)                                                                               \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"}}"
#define EV(type, name, rv)                                                                         \
    "{\"type\":\"" type "\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","             \
    "\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"}}}\n"
#define CHUNKED_200                                                                                \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"

/* ---- tests ---- */

TEST(list_watch_resume_bookmark_expire)
{
    static const char *const lists[] = {
        "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" CM(
            "a", "5") "," CM("b", "7") "]}",
        /* After the ERROR 410: c vanished while the watch was away. */
        "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"30\"},\"items\":[" CM(
            "a", "12") "," CM("d", "20") "]}",
        "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"40\"},\"items\":[" CM(
            "a", "12") "," CM("d", "20") "]}",
        NULL,
    };
    /* 1: an event split across two chunks (and two reads), two events and
     * a bookmark in one chunk, then the connection drops mid-stream. */
    static const char ev_c[] = EV("ADDED", "c", "11");
    static char c_first[40], c_rest[sizeof(ev_c)];
    static const struct step w1[] = {
        {STEP_HEAD, CHUNKED_200},
        {STEP_CHUNK, c_first},
        {STEP_PAUSE, NULL},
        {STEP_CHUNK, c_rest},
        {STEP_PAUSE, NULL},
        {STEP_CHUNK, EV("MODIFIED", "a", "12") "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":"
                                               "\"ConfigMap\",\"metadata\":{\"resourceVersion\":"
                                               "\"15\"}}}\n"},
        {STEP_PAUSE, NULL},
        {STEP_RAW, "40\r\n{\"type\":\"ADDED\",\"obj"}, /* cut inside a chunk */
        {STEP_DROP, NULL},
    };
    /* 2: resumes from the bookmark; one delete, then the version expires. */
    static const struct step w2[] = {
        {STEP_HEAD, CHUNKED_200},
        {STEP_CHUNK, EV("DELETED", "b", "16")},
        {STEP_PAUSE, NULL},
        {STEP_CHUNK, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                     "\"status\":\"Failure\",\"message\":\"too old resource version: 16 (25)\","
                     "\"reason\":\"Expired\",\"code\":410}}\n"},
        {STEP_END, NULL},
    };
    /* 3: the server refuses the listed version outright: HTTP 410. */
    static const struct step w3[] = {
        {STEP_GONE, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Gone\","
                    "\"code\":410,\"message\":\"too old resource version\"}"},
    };
    /* 4: one event, then a clean end: resume from it at once. */
    static const struct step w4[] = {
        {STEP_HEAD, CHUNKED_200}, {STEP_CHUNK, EV("ADDED", "e", "41")},
        {STEP_PAUSE, NULL},       {STEP_PAUSE, NULL},
        {STEP_END, NULL},
    };
    static const struct step *const watches[] = {w1, w2, w3, w4, NULL};
    struct kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
    struct kube_watch_stats st;
    struct consumer con;
    struct wsrv s;
    struct kubeconfig kc;
    kube_watch *w = NULL;
    char server[64];
    int ok;

    memcpy(c_first, ev_c, sizeof(c_first) - 1);
    c_first[sizeof(c_first) - 1] = '\0';
    str_copy(c_rest, ev_c + sizeof(c_first) - 1, sizeof(c_rest));
    memset(&con, 0, sizeof(con));
    pthread_mutex_init(&con.mu, NULL);
    wsrv_start(&s, lists, watches);
    kc = test_kc(s.port, server, sizeof(server));
    opts.label_selector = "edgecd.io/app";
    opts.backoff_min_ms = 50;
    opts.timeout_seconds = 60;
    CHECK_OK(kube_watch_new(&w, &kc, "v1", "ConfigMap", &opts, consumer_fn, &con));
    /* Four scripted streams, then the fifth request (from "41") hangs. */
    ok = wait_until(&s, 4, 30) && wait_for_rv(&s, ",41", 10);
    kube_watch_stats(w, &st);
    kube_watch_free(w);
    wsrv_stop(&s);
    CHECK(ok);
    CHECK_STR(buf_cstr(&s.watch_rvs), "10,15,30,40,41");
    CHECK_CONTAINS(buf_cstr(&s.requests),
                   "GET /api/v1/configmaps?limit=100&labelSelector=edgecd.io%2Fapp HTTP/1.1");
    CHECK_CONTAINS(buf_cstr(&s.requests),
                   "GET /api/v1/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=10"
                   "&labelSelector=edgecd.io%2Fapp&timeoutSeconds=60 HTTP/1.1");
    CHECK_STR(buf_cstr(&con.log), "BEGIN LISTED:a LISTED:b END "        /* first listing */
                                  "ADDED:c MODIFIED:a "                 /* stream 1, split event */
                                  "DELETED:b "                          /* stream 2 resumed at 15 */
                                  "BEGIN LISTED:a LISTED:d END GONE:c " /* ERROR 410 -> re-list */
                                  "BEGIN LISTED:a LISTED:d END "        /* HTTP 410 -> re-list */
                                  "ADDED:e ");                          /* stream 4 */
    CHECK(st.lists == 3);
    CHECK(st.bookmarks == 1);
    CHECK(st.expired == 2);
    CHECK(st.events == 4);
    CHECK(st.failures >= 1); /* the dropped stream */
    CHECK(st.synced == 1);
    CHECK_STR(st.rv, "41");
    wsrv_dispose(&s);
    buf_dispose(&con.log);
    pthread_mutex_destroy(&con.mu);
}

TEST(stream_reads_across_chunks)
{
    /* http_stream on its own: a body in odd chunks, a trailer, then the
     * connection is reused for a plain request. */
    static const struct step w1[] = {
        {STEP_HEAD, CHUNKED_200},          {STEP_CHUNK, "hel"}, {STEP_PAUSE, NULL},
        {STEP_RAW, "2;x=y\r\nlo\r\n"},     {STEP_PAUSE, NULL},  {STEP_CHUNK, "\n"},
        {STEP_RAW, "0\r\nX-T: 1\r\n\r\n"}, {STEP_DROP, NULL},
    };
    static const struct step *const watches[] = {w1, NULL};
    static const char *const lists[] = {"{}", NULL};
    struct wsrv s;
    struct http_response r;
    http_conn *c = NULL;
    http_stream *st = NULL;
    struct buf got = BUF_INIT;
    char url[64], tmp[3];
    long n;

    wsrv_start(&s, lists, watches);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_stream_open(&st, c, "/api/v1/configmaps?watch=1", NULL, &r));
    CHECK(st != NULL);
    CHECK(r.status == 200);
    while ((n = http_stream_read(st, tmp, sizeof(tmp))) > 0)
        buf_put(&got, tmp, (size_t)n);
    CHECK(n == 0);
    CHECK_STR(buf_cstr(&got), "hello\n");
    http_stream_close(st);
    st = NULL;
    /* An error answer comes back whole, without a stream. */
    CHECK_OK(http_stream_open(&st, c, "/nowhere", NULL, &r));
    CHECK(st == NULL);
    CHECK(r.status == 404);
    CHECK_CONTAINS(buf_cstr(&r.body), "not here");
    http_stream_close(st);
    http_conn_free(c);
    http_response_dispose(&r);
    buf_dispose(&got);
    wsrv_stop(&s);
    wsrv_dispose(&s);
}

TEST(cut_stream_is_an_error)
{
    static const struct step w1[] = {
        {STEP_HEAD, CHUNKED_200},
        {STEP_RAW, "10\r\nonly"},
        {STEP_DROP, NULL},
    };
    static const struct step *const watches[] = {w1, NULL};
    static const char *const lists[] = {"{}", NULL};
    struct wsrv s;
    struct http_response r;
    http_conn *c = NULL;
    http_stream *st = NULL;
    char url[64], tmp[64];
    long n;

    wsrv_start(&s, lists, watches);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_stream_open(&st, c, "/api/v1/configmaps?watch=1", NULL, &r));
    CHECK(st != NULL);
    while ((n = http_stream_read(st, tmp, sizeof(tmp))) > 0)
        ;
    CHECK(n == ERR_IO);
    CHECK_CONTAINS(err_last(), "connection closed");
    http_stream_close(st);
    http_conn_free(c);
    http_response_dispose(&r);
    wsrv_stop(&s);
    wsrv_dispose(&s);
}

TEST(bad_arguments)
{
    struct kubeconfig kc;
    kube_watch *w = (kube_watch *)1;
    memset(&kc, 0, sizeof(kc));
    CHECK_ERR(kube_watch_new(&w, &kc, "v1", "ConfigMap", NULL, consumer_fn, NULL), ERR_INVALID);
    CHECK(w == NULL);
    kc.server = "ftp://x";
    CHECK_ERR(kube_watch_new(&w, &kc, "v1", "", NULL, consumer_fn, NULL), ERR_INVALID);
    CHECK_ERR(kube_watch_new(&w, &kc, "v1", "ConfigMap", NULL, consumer_fn, NULL), ERR_INVALID);
}

int main(void)
{
    RUN(stream_reads_across_chunks);
    RUN(cut_stream_is_an_error);
    RUN(list_watch_resume_bookmark_expire);
    RUN(bad_arguments);
    return TEST_END();
}
