/*
 * Tests for appliance/kube/client.c against a small HTTP server in the
 * test (plain TCP, a thread per connection) whose answers each test
 * scripts: retries with Retry-After and backoff, which calls may be sent
 * again after a dropped connection, bounded attempts and deadlines, the
 * page loop of LIST with continue tokens and 410 Expired, keep-alive
 * reuse, basic auth and token file rotation. kubesim cannot be told to
 * fail on cue; this server can.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/util.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "test.h"

static char *dir;

/* ---- the scripted server ---- */

enum srv_action { SRV_REPLY, SRV_DROP, SRV_HANG };

struct srv_req {
    char method[16];
    char path[2048];
    char auth[512];
    char body[4096];
};

struct srv;
/* Answer one request (not discovery, which the server does itself):
 * write a whole HTTP response into out, or return SRV_DROP / SRV_HANG.
 * n is how many requests with this method and path (query excluded)
 * came before, counting this one from 1. */
typedef enum srv_action (*srv_fn)(struct srv *s, const struct srv_req *rq, int n, struct buf *out);

#define SRV_MAX_CONNS 64
#define SRV_MAX_PATHS 64

struct srv {
    int lfd, port;
    pthread_t th;
    srv_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    int connections, requests;
    int conn_fds[SRV_MAX_CONNS];
    pthread_t conn_th[SRV_MAX_CONNS];
    int n_conn_th;
    /* Requests per "METHOD path" (query excluded). */
    char *keys[SRV_MAX_PATHS];
    int counts[SRV_MAX_PATHS];
    int n_keys;
    struct srv_req last; /* the last scripted request */
};

struct srv_conn_arg {
    struct srv *s;
    int fd;
};

static void reply(struct buf *out, int status, const char *extra_headers, const char *body)
{
    buf_printf(out,
               "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
               status, extra_headers ? extra_headers : "", strlen(body), body);
}

static void reply_status(struct buf *out, int status, const char *reason, const char *extra)
{
    char *body = xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                           "\"reason\":\"%s\",\"message\":\"scripted %d\",\"code\":%d}",
                           reason, status, status);
    reply(out, status, extra, body);
    free(body);
}

static int srv_read_request(int fd, struct srv_req *rq)
{
    char buf[16384];
    size_t len = 0;
    long clen = 0;
    char *end, *cl, *au, *sp;
    for (;;) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) != NULL)
            break;
        if (len == sizeof(buf) - 1)
            return -1;
    }
    cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl && cl < end)
        clen = strtol(cl + 17, NULL, 10);
    while ((long)(len - (size_t)(end + 4 - buf)) < clen) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
    }
    memset(rq, 0, sizeof(*rq));
    sp = strchr(buf, ' ');
    if (!sp || (size_t)(sp - buf) >= sizeof(rq->method))
        return -1;
    memcpy(rq->method, buf, (size_t)(sp - buf));
    sscanf(sp + 1, "%2047s", rq->path);
    au = strcasestr(buf, "\r\nAuthorization: ");
    if (au && au < end)
        sscanf(au + 17, "%511[^\r]", rq->auth);
    str_copy(rq->body, end + 4, sizeof(rq->body));
    return 0;
}

static int srv_count(struct srv *s, const struct srv_req *rq)
{
    char *key = xasprintf("%s %.*s", rq->method, (int)strcspn(rq->path, "?"), rq->path);
    int n = 0;
    for (int i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i], key) == 0) {
            n = ++s->counts[i];
            free(key);
            return n;
        }
    if (s->n_keys < SRV_MAX_PATHS) {
        s->keys[s->n_keys] = key;
        s->counts[s->n_keys++] = n = 1;
    } else {
        free(key);
    }
    return n;
}

/* How many requests with this method and path (no query) were made. */
static int srv_seen(struct srv *s, const char *method, const char *path)
{
    char *key = xasprintf("%s %s", method, path);
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i], key) == 0)
            n = s->counts[i];
    pthread_mutex_unlock(&s->mu);
    free(key);
    return n;
}

static void *srv_conn_main(void *arg)
{
    struct srv_conn_arg *a = arg;
    struct srv *s = a->s;
    int fd = a->fd;
    struct srv_req rq;
    free(a);
    while (srv_read_request(fd, &rq) == 0) {
        struct buf out = BUF_INIT;
        enum srv_action act = SRV_REPLY;
        int n;
        pthread_mutex_lock(&s->mu);
        s->requests++;
        n = srv_count(s, &rq);
        pthread_mutex_unlock(&s->mu);
        if (strcmp(rq.path, "/api/v1") == 0) {
            reply(&out, 200, NULL,
                  "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
                  "{\"name\":\"configmaps\",\"namespaced\":true,\"kind\":\"ConfigMap\"},"
                  "{\"name\":\"namespaces\",\"namespaced\":false,\"kind\":\"Namespace\"}]}");
        } else if (strcmp(rq.path, "/apis") == 0) {
            reply(&out, 200, NULL, "{\"kind\":\"APIGroupList\",\"groups\":[]}");
        } else {
            pthread_mutex_lock(&s->mu);
            s->last = rq;
            pthread_mutex_unlock(&s->mu);
            act = s->fn(s, &rq, n, &out);
        }
        if (act == SRV_DROP) {
            buf_dispose(&out);
            break;
        }
        if (act == SRV_HANG) {
            char b[256];
            buf_dispose(&out);
            while (recv(fd, b, sizeof(b), 0) > 0)
                ;
            break;
        }
        send(fd, out.ptr, out.len, MSG_NOSIGNAL);
        buf_dispose(&out);
    }
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        struct srv_conn_arg *a;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            break;
        pthread_mutex_lock(&s->mu);
        if (s->n_conn_th == SRV_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        s->connections++;
        a = xmalloc(sizeof(*a));
        a->s = s;
        a->fd = fd;
        s->conn_fds[s->n_conn_th] = fd;
        pthread_create(&s->conn_th[s->n_conn_th], NULL, srv_conn_main, a);
        s->n_conn_th++;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* Listen on port (0 = any free one). */
static void srv_start_port(struct srv *s, srv_fn fn, void *ctx, int port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;
    memset(s, 0, sizeof(*s));
    s->fn = fn;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 16) < 0) {
        perror("srv bind");
        exit(2);
    }
    getsockname(s->lfd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_start(struct srv *s, srv_fn fn, void *ctx)
{
    srv_start_port(s, fn, ctx, 0);
}

static void srv_stop(struct srv *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->lfd);
    for (int i = 0; i < s->n_conn_th; i++) {
        shutdown(s->conn_fds[i], SHUT_RDWR);
        pthread_join(s->conn_th[i], NULL);
        close(s->conn_fds[i]);
    }
    for (int i = 0; i < s->n_keys; i++)
        free(s->keys[i]);
    pthread_mutex_destroy(&s->mu);
}

/* A client for s with fast retries unless opts says otherwise. */
static kube_client *client_for(const struct srv *s, const struct kube_client_options *opts,
                               const char *token, const char *token_file, const char *user,
                               const char *password)
{
    struct kubeconfig kc;
    struct kube_client_options o = KUBE_CLIENT_OPTIONS_INIT;
    kube_client *c = NULL;
    memset(&kc, 0, sizeof(kc));
    kc.server = xasprintf("http://127.0.0.1:%d", s->port);
    kc.namespace_ = xstrdup("default");
    kc.token = token ? xstrdup(token) : NULL;
    kc.token_file = token_file ? xstrdup(token_file) : NULL;
    kc.username = user ? xstrdup(user) : NULL;
    kc.password = password ? xstrdup(password) : NULL;
    if (opts) {
        o = *opts;
    } else {
        o.retry_base_ms = 20;
        o.retry_max_ms = 200;
    }
    if (kube_client_new_opts(&c, &kc, &o) < 0) {
        fprintf(stderr, "client: %s\n", err_last());
        exit(2);
    }
    kubeconfig_dispose(&kc);
    return c;
}

static const char cm_x[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
    "\"x\",\"namespace\":\"default\",\"uid\":\"u1\"},\"data\":{\"k\":\"v\"}}";
#define CM_X_PATH "/api/v1/namespaces/default/configmaps/x"
#define CM_PATH "/api/v1/namespaces/default/configmaps"

static json_t *obj(const char *json)
{
    json_error_t e;
    json_t *v = json_loads(json, 0, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s\n", e.text);
        exit(2);
    }
    return v;
}

static int64_t elapsed_since(int64_t t0)
{
    return time_mono_ms() - t0;
}

/* ---- retries ---- */

static enum srv_action h_429_then_ok(struct srv *s, const struct srv_req *rq, int n,
                                     struct buf *out)
{
    (void)s;
    (void)rq;
    if (n == 1)
        reply_status(out, 429, "TooManyRequests", "Retry-After: 1\r\n");
    else
        reply(out, 200, NULL, cm_x);
    return SRV_REPLY;
}

TEST(retry_after_429_is_honoured)
{
    struct srv s;
    kube_client *c;
    struct kube_client_stats st;
    json_t *got = NULL;
    int64_t t0, took;

    srv_start(&s, h_429_then_ok, NULL);
    c = client_for(&s, NULL, NULL, NULL, NULL, NULL);
    t0 = time_mono_ms();
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    took = elapsed_since(t0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "data"), "k")), "v");
    /* The server said one second; the backoff alone would be ~20 ms. */
    CHECK(took >= 900);
    CHECK(took < 10000);
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == 2);
    kube_client_stats(c, &st);
    CHECK(st.retries == 1);
    json_decref(got);
    kube_client_free(c);
    srv_stop(&s);
}

static enum srv_action h_503_then_ok(struct srv *s, const struct srv_req *rq, int n,
                                     struct buf *out)
{
    (void)s;
    if (n == 1)
        reply_status(out, 503, "ServiceUnavailable", NULL);
    else if (strcmp(rq->method, "POST") == 0)
        reply(out, 201, NULL, cm_x);
    else
        reply(out, 200, NULL, cm_x);
    return SRV_REPLY;
}

TEST(retry_503_for_idempotent_calls_only)
{
    struct srv s;
    kube_client *c;
    json_t *got = NULL, *x = obj(cm_x), *items = NULL;

    srv_start(&s, h_503_then_ok, NULL);
    c = client_for(&s, NULL, NULL, NULL, NULL, NULL);
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == 2);
    /* Server-side apply with force is idempotent: retried. */
    CHECK_OK(kube_client_apply(c, x, 0, NULL));
    CHECK(srv_seen(&s, "PATCH", CM_X_PATH) == 2);
    CHECK_OK(kube_client_delete(c, "v1", "ConfigMap", "default", "x", NULL));
    CHECK(srv_seen(&s, "DELETE", CM_X_PATH) == 2);
    /* A create that got a 503 may have been stored: never again. */
    CHECK_ERR(kube_client_create(c, x, NULL), ERR_GENERIC);
    CHECK_CONTAINS(err_last(), "create ConfigMap default/x: ServiceUnavailable: scripted 503");
    CHECK(srv_seen(&s, "POST", CM_PATH) == 1);
    /* Nor a merge patch. */
    CHECK_ERR(kube_client_patch(c, "v1", "ConfigMap", "default", "y", "merge",
                                json_object_get(x, "data"), NULL),
              ERR_GENERIC);
    CHECK(srv_seen(&s, "PATCH", CM_PATH "/y") == 1);
    json_decref(got);
    json_decref(items);
    json_decref(x);
    kube_client_free(c);
    srv_stop(&s);
}

static enum srv_action h_drop_first(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    (void)s;
    if (n <= 2)
        return SRV_DROP; /* twice: past http.c's own fresh-connection retry */
    reply(out, strcmp(rq->method, "POST") == 0 ? 201 : 200, NULL, cm_x);
    return SRV_REPLY;
}

TEST(dropped_connection_retries_get_not_create)
{
    struct srv s;
    kube_client *c;
    json_t *got = NULL, *x = obj(cm_x);

    srv_start(&s, h_drop_first, NULL);
    c = client_for(&s, NULL, NULL, NULL, NULL, NULL);
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "metadata"), "name")), "x");
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == 3);
    /* The server read the create and hung up: it may have stored it. */
    CHECK_ERR(kube_client_create(c, x, NULL), ERR_IO);
    CHECK_CONTAINS(err_last(), "create ConfigMap default/x");
    CHECK(srv_seen(&s, "POST", CM_PATH) == 1);
    json_decref(got);
    json_decref(x);
    kube_client_free(c);
    srv_stop(&s);
}

static enum srv_action h_created(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    (void)s;
    (void)rq;
    (void)n;
    reply(out, 201, NULL, cm_x);
    return SRV_REPLY;
}

struct restart_arg {
    struct srv *s;
    int port;
};

static void *restart_later(void *arg)
{
    struct restart_arg *a = arg;
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    srv_start_port(a->s, h_created, NULL, a->port);
    return NULL;
}

TEST(create_is_retried_when_it_never_left)
{
    struct srv s, s2;
    struct kube_client_options o = KUBE_CLIENT_OPTIONS_INIT;
    struct restart_arg ra;
    const struct kube_resource *r;
    pthread_t th;
    kube_client *c;
    json_t *x = obj(cm_x), *live = NULL;

    srv_start(&s, h_created, NULL);
    o.retry_base_ms = 100;
    o.retry_max_ms = 400;
    o.max_attempts = 20;
    c = client_for(&s, &o, NULL, NULL, NULL, NULL);
    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
    /* The API server goes away and comes back (a k3s restart): connects
     * are refused meanwhile, so the create never reached it. */
    srv_stop(&s);
    ra.s = &s2;
    ra.port = s.port;
    pthread_create(&th, NULL, restart_later, &ra);
    CHECK_OK(kube_client_create(c, x, &live));
    pthread_join(th, NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(live, "metadata"), "uid")), "u1");
    CHECK(srv_seen(&s2, "POST", CM_PATH) == 1);
    json_decref(live);
    json_decref(x);
    kube_client_free(c);
    srv_stop(&s2);
}

static enum srv_action h_always_503(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    (void)s;
    (void)n;
    if (strstr(rq->path, "/drop"))
        return SRV_DROP;
    reply_status(out, 503, "ServiceUnavailable", NULL);
    return SRV_REPLY;
}

TEST(attempts_are_bounded)
{
    struct srv s;
    struct kube_client_options o = KUBE_CLIENT_OPTIONS_INIT;
    kube_client *c;
    json_t *got = NULL;

    srv_start(&s, h_always_503, NULL);
    o.max_attempts = 3;
    o.retry_base_ms = 10;
    c = client_for(&s, &o, NULL, NULL, NULL, NULL);
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got), ERR_GENERIC);
    CHECK_CONTAINS(err_last(), "get ConfigMap default/x: ServiceUnavailable: scripted 503");
    CHECK_CONTAINS(err_last(), "(after 3 attempts)");
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == 3);
    CHECK(got == NULL);
    /* A server that hangs up on every try: as bounded. The first try on
     * the kept-alive connection is resent once by http.c itself. */
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "drop", &got), ERR_IO);
    CHECK_CONTAINS(err_last(), "get ConfigMap default/drop: ");
    CHECK_CONTAINS(err_last(), "(gave up after 3 attempts)");
    CHECK(srv_seen(&s, "GET", CM_PATH "/drop") == 4);
    kube_client_free(c);
    srv_stop(&s);
}

static enum srv_action h_503_retry_after(struct srv *s, const struct srv_req *rq, int n,
                                         struct buf *out)
{
    (void)s;
    (void)n;
    if (strstr(rq->path, "/hang"))
        return SRV_HANG;
    reply_status(out, 503, "ServiceUnavailable", "Retry-After: 1\r\n");
    return SRV_REPLY;
}

TEST(deadline_is_honoured)
{
    struct srv s;
    struct kube_client_options o = KUBE_CLIENT_OPTIONS_INIT;
    kube_client *c;
    json_t *got = NULL;
    int64_t t0, took;

    srv_start(&s, h_503_retry_after, NULL);
    o.max_attempts = 50;
    o.request_timeout_ms = 1500;
    o.io_timeout_ms = 20000;
    c = client_for(&s, &o, NULL, NULL, NULL, NULL);
    /* Retry-After 1 s against a 1.5 s deadline: one retry, then no time. */
    t0 = time_mono_ms();
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got), ERR_GENERIC);
    took = elapsed_since(t0);
    CHECK(took < 4000);
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == 2);
    /* A server that never answers: the deadline, not the 20 s read
     * timeout, ends it. */
    t0 = time_mono_ms();
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "hang", &got), ERR_TIMEOUT);
    took = elapsed_since(t0);
    CHECK_CONTAINS(err_last(), "deadline");
    CHECK(took >= 1000);
    CHECK(took < 6000);
    CHECK(got == NULL);
    kube_client_free(c);
    srv_stop(&s);
}

/* ---- connections ---- */

static enum srv_action h_ok(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    (void)s;
    (void)rq;
    (void)n;
    reply(out, 200, NULL, cm_x);
    return SRV_REPLY;
}

TEST(keep_alive_reuses_one_connection)
{
    struct srv s;
    kube_client *c;
    struct kube_client_stats st;
    json_t *got = NULL;

    srv_start(&s, h_ok, NULL);
    c = client_for(&s, NULL, NULL, NULL, NULL, NULL);
    for (int i = 0; i < 10; i++) {
        CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
        json_decref(got);
        got = NULL;
    }
    kube_client_stats(c, &st);
    CHECK(st.requests == 12); /* two of discovery */
    CHECK(st.connections == 1);
    kube_client_free(c);
    srv_stop(&s);
    CHECK(s.connections == 1);
}

/* ---- LIST pages ---- */

struct pages {
    int expire_once; /* answer the first continue=t1 with 410 */
    int expire_always;
    int expired;
};

static enum srv_action h_pages(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    struct pages *p = s->ctx;
    const char *body;
    (void)n;
    if (!strstr(rq->path, "limit=2")) {
        reply_status(out, 400, "BadRequest", NULL);
        return SRV_REPLY;
    }
    if (strstr(rq->path, "continue=t1")) {
        if (p->expire_always || (p->expire_once && !p->expired)) {
            p->expired++;
            reply_status(out, 410, "Expired", NULL);
            return SRV_REPLY;
        }
        body = "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"7\","
               "\"continue\":\"t2\"},\"items\":[{\"metadata\":{\"name\":\"c2\"}},"
               "{\"metadata\":{\"name\":\"c3\"}}]}";
    } else if (strstr(rq->path, "continue=t2")) {
        body = "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"7\"},"
               "\"items\":[{\"metadata\":{\"name\":\"c4\"}}]}";
    } else if (strstr(rq->path, "continue=")) {
        reply_status(out, 400, "BadRequest", NULL);
        return SRV_REPLY;
    } else {
        body = "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"7\","
               "\"continue\":\"t1\"},\"items\":[{\"metadata\":{\"name\":\"c0\"}},"
               "{\"metadata\":{\"name\":\"c1\"}}]}";
    }
    reply(out, 200, NULL, body);
    return SRV_REPLY;
}

static int names_are(const json_t *items, int n)
{
    if ((int)json_array_size(items) != n)
        return 0;
    for (int i = 0; i < n; i++) {
        char want[16];
        const json_t *it = json_array_get(items, (size_t)i);
        snprintf(want, sizeof(want), "c%d", i);
        if (strcmp(json_string_value(json_object_get(json_object_get(it, "metadata"), "name")),
                   want) != 0 ||
            strcmp(json_string_value(json_object_get(it, "kind")), "ConfigMap") != 0)
            return 0;
    }
    return 1;
}

static int count_item(void *ctx, json_t *item)
{
    (void)item;
    (*(int *)ctx)++;
    return 0;
}

TEST(list_pages_are_concatenated)
{
    struct srv s;
    struct pages p = {0, 0, 0};
    struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
    kube_client *c;
    json_t *items = NULL;
    char *rv = NULL;

    srv_start(&s, h_pages, &p);
    c = client_for(&s, NULL, NULL, NULL, NULL, NULL);
    lo.page_size = 2;
    lo.label_selector = "app=web";
    lo.field_selector = "metadata.namespace=default,metadata.name!=z";
    CHECK_OK(kube_client_list_opts(c, "v1", "ConfigMap", "default", &lo, &items, &rv));
    CHECK(names_are(items, 5));
    CHECK_STR(rv, "7");
    CHECK(srv_seen(&s, "GET", CM_PATH) == 3);
    /* Selectors ride along on every page, escaped. */
    CHECK_CONTAINS(s.last.path, "labelSelector=app%3Dweb");
    CHECK_CONTAINS(s.last.path,
                   "fieldSelector=metadata.namespace%3Ddefault%2Cmetadata.name%21%3Dz");
    CHECK_CONTAINS(s.last.path, "continue=t2");
    json_decref(items);
    items = NULL;
    free(rv);
    rv = NULL;

    /* The continue token expired mid-way: start over, once, no doubles. */
    p.expire_once = 1;
    CHECK_OK(kube_client_list_opts(c, "v1", "ConfigMap", "default", &lo, &items, NULL));
    CHECK(names_are(items, 5));
    CHECK(p.expired == 1);
    json_decref(items);
    items = NULL;

    /* Expired again after the restart: an error, not a loop. */
    p.expire_always = 1;
    p.expired = 0;
    CHECK_ERR(kube_client_list_opts(c, "v1", "ConfigMap", "default", &lo, &items, NULL),
              ERR_GENERIC);
    CHECK_CONTAINS(err_last(), "list ConfigMap default: Expired");
    CHECK(p.expired == 2);
    CHECK(items == NULL);

    /* Page by page, what was handed over stays handed over: an expired
     * token is the caller's to decide on, not a silent restart. */
    {
        const struct kube_resource *r = NULL;
        int n = 0;
        p.expire_always = 0;
        p.expire_once = 1;
        p.expired = 0;
        CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
        CHECK_ERR(kube_client_list_each(c, r, "default", &lo, count_item, &n), ERR_CONFLICT);
        CHECK_CONTAINS(err_last(), "list ConfigMap default: the continue token expired after 2 "
                                   "items (410 Gone)");
        CHECK(n == 2 && p.expired == 1);
    }
    kube_client_free(c);
    srv_stop(&s);
}

/* ---- authentication ---- */

struct auth_ctx {
    const char *want; /* the Authorization value the server accepts */
};

static enum srv_action h_auth(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    struct auth_ctx *a = s->ctx;
    (void)n;
    if (strcmp(rq->auth, a->want) != 0)
        reply_status(out, 401, "Unauthorized", NULL);
    else
        reply(out, 200, NULL, cm_x);
    return SRV_REPLY;
}

TEST(basic_auth_header)
{
    struct srv s;
    struct auth_ctx a = {"Basic YWRtaW46czNjcmV0"}; /* admin:s3cret */
    kube_client *c;
    json_t *got = NULL;

    srv_start(&s, h_auth, &a);
    c = client_for(&s, NULL, NULL, NULL, "admin", "s3cret");
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK_STR(s.last.auth, "Basic YWRtaW46czNjcmV0");
    json_decref(got);
    kube_client_free(c);
    srv_stop(&s);
}

TEST(token_file_rotation)
{
    struct srv s;
    struct auth_ctx a = {"Bearer tok-1"};
    struct kube_client_options o = KUBE_CLIENT_OPTIONS_INIT;
    kube_client *c;
    json_t *got = NULL;
    char *tf = xasprintf("%s/token", dir);

    CHECK_OK(fs_write_atomic(tf, "tok-1\n", 6, 0600));
    srv_start(&s, h_auth, &a);

    /* Checked at every request: the next request carries the new token. */
    o.token_check_ms = 0;
    c = client_for(&s, &o, NULL, tf, NULL, NULL);
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK_STR(s.last.auth, "Bearer tok-1");
    json_decref(got);
    got = NULL;
    CHECK_OK(fs_write_atomic(tf, "tok-2\n", 6, 0600));
    a.want = "Bearer tok-2";
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK_STR(s.last.auth, "Bearer tok-2");
    json_decref(got);
    got = NULL;
    kube_client_free(c);

    /* Checked rarely: the old token is still cached when the server
     * starts refusing it; the 401 makes the client read the file again
     * and repeat the request once. */
    o.token_check_ms = 3600000;
    c = client_for(&s, &o, NULL, tf, NULL, NULL);
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    json_decref(got);
    got = NULL;
    CHECK_OK(fs_write_atomic(tf, "tok-3\n", 6, 0600));
    a.want = "Bearer tok-3";
    int before = srv_seen(&s, "GET", CM_X_PATH);
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == before + 2);
    CHECK_STR(s.last.auth, "Bearer tok-3");
    json_decref(got);
    got = NULL;

    /* A token the server does not take at all: one re-read, then ERR_AUTH. */
    a.want = "Bearer something-else";
    before = srv_seen(&s, "GET", CM_X_PATH);
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got), ERR_AUTH);
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == before + 2);
    kube_client_free(c);
    srv_stop(&s);
    free(tf);
}

/* ---- delete and wait ---- */

struct fin {
    int gone_after; /* GETs that still find the object; 0 = forever */
    int recreate;   /* then a new object (another UID) instead of 404 */
};

static enum srv_action h_finalizers(struct srv *s, const struct srv_req *rq, int n, struct buf *out)
{
    struct fin *f = s->ctx;
    static const char held[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\","
        "\"namespace\":\"default\",\"uid\":\"u1\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
        "\"finalizers\":[\"edgecd.io/cleanup\"]}}";
    if (strcmp(rq->method, "DELETE") == 0) {
        reply(out, 200, NULL, held);
    } else if (f->gone_after == 0 || n <= f->gone_after) {
        reply(out, 200, NULL, held);
    } else if (f->recreate) {
        reply(out, 200, NULL,
              "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\","
              "\"namespace\":\"default\",\"uid\":\"u2\"}}");
    } else {
        reply_status(out, 404, "NotFound", NULL);
    }
    return SRV_REPLY;
}

TEST(delete_wait_follows_finalizers)
{
    struct srv s;
    struct fin f = {3, 0};
    kube_client *c;
    int64_t t0;

    srv_start(&s, h_finalizers, &f);
    c = client_for(&s, NULL, NULL, NULL, NULL, NULL);
    /* Held by a finalizer for three looks, then gone. */
    CHECK_OK(kube_client_delete_wait(c, "v1", "ConfigMap", "default", "x", "Foreground", 20000));
    CHECK(srv_seen(&s, "GET", CM_X_PATH) == 4);
    CHECK(srv_seen(&s, "DELETE", CM_X_PATH) == 1);
    CHECK_CONTAINS(s.last.path, CM_X_PATH);

    /* Gone and made again under the same name: ours is done. */
    f.recreate = 1;
    f.gone_after = srv_seen(&s, "GET", CM_X_PATH) + 1;
    CHECK_OK(kube_client_delete_wait(c, "v1", "ConfigMap", "default", "x", NULL, 20000));

    /* Never released: the deadline, with the finalizer named. */
    f.gone_after = 0;
    t0 = time_mono_ms();
    CHECK_ERR(kube_client_delete_wait(c, "v1", "ConfigMap", "default", "x", NULL, 700),
              ERR_TIMEOUT);
    CHECK(time_mono_ms() - t0 < 5000);
    CHECK_CONTAINS(err_last(), "delete ConfigMap default/x: still there after");
    CHECK_CONTAINS(err_last(), "edgecd.io/cleanup");
    kube_client_free(c);
    srv_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dir = test_tmpdir("kube-client-net");
    RUN(retry_after_429_is_honoured);
    RUN(retry_503_for_idempotent_calls_only);
    RUN(dropped_connection_retries_get_not_create);
    RUN(create_is_retried_when_it_never_left);
    RUN(attempts_are_bounded);
    RUN(deadline_is_honoured);
    RUN(keep_alive_reuses_one_connection);
    RUN(list_pages_are_concatenated);
    RUN(basic_auth_header);
    RUN(token_file_rotation);
    RUN(delete_wait_follows_finalizers);
    free(dir);
    return TEST_END();
}
