/*
 * Tests for appliance/kube/http.c. Framing and keep-alive run against a
 * scripted plain-TCP server in a thread (each request gets the next canned
 * response, byte for byte), so chunked bodies, limits and the idle-close
 * retry are exercised exactly. TLS runs against `openssl s_server` with
 * certificates made by the real openssl CLI at test time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/util.h"
#include "kube/http.h"
#include "test.h"

/* ---- scripted server ---- */

#define SRV_HANG "<hang>"   /* read, never answer */
#define SRV_DROP "<drop>"   /* read, then close without answering */
#define SRV_CLOSE "<close>" /* prefix: send the rest, then close */

struct srv {
    int lfd;
    int port;
    pthread_t th;
    const char *const *responses; /* NULL-terminated */
    int close_each;               /* close the connection after each response */
    int requests, connections;
    char last_request[4096];
};

static int srv_read_request(int fd, char *out, size_t outsz)
{
    char buf[8192];
    size_t len = 0;
    long clen = 0;
    char *end, *cl;
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
    if (cl)
        clen = strtol(cl + 17, NULL, 10);
    while ((long)(len - (size_t)(end + 4 - buf)) < clen) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
    }
    if (len >= outsz)
        len = outsz - 1;
    memcpy(out, buf, len);
    out[len] = '\0';
    return 0;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    int i = 0;
    while (s->responses[i]) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            break;
        s->connections++;
        while (s->responses[i]) {
            const char *r = s->responses[i];
            if (srv_read_request(fd, s->last_request, sizeof(s->last_request)) < 0)
                break;
            s->requests++;
            i++;
            if (strcmp(r, SRV_DROP) == 0)
                break;
            if (strcmp(r, SRV_HANG) == 0) {
                char b[256];
                while (recv(fd, b, sizeof(b), 0) > 0)
                    ;
                break;
            }
            if (strncmp(r, SRV_CLOSE, strlen(SRV_CLOSE)) == 0) {
                r += strlen(SRV_CLOSE);
                send(fd, r, strlen(r), MSG_NOSIGNAL);
                break;
            }
            send(fd, r, strlen(r), MSG_NOSIGNAL);
            if (s->close_each)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void srv_start(struct srv *s, const char *const *responses, int close_each)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;
    memset(s, 0, sizeof(*s));
    s->responses = responses;
    s->close_each = close_each;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 8) < 0) {
        perror("srv bind");
        exit(2);
    }
    getsockname(s->lfd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    close(s->lfd);
    pthread_join(s->th, NULL);
}

static char *srv_url(const struct srv *s)
{
    return xasprintf("http://127.0.0.1:%d", s->port);
}

/* ---- plain HTTP framing ---- */

TEST(content_length_and_keep_alive)
{
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    const char *hdrs[] = {"Accept: application/json", NULL};
    char *url;

    srv_start(&s, rs, 0);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "GET", "/api/v1?x=1", hdrs, NULL, 0, &r));
    CHECK(r.status == 200);
    CHECK_STR(buf_cstr(&r.body), "{\"a\":1}");
    CHECK_STR(r.content_type, "application/json");
    CHECK_CONTAINS(s.last_request, "GET /api/v1?x=1 HTTP/1.1\r\n");
    CHECK_CONTAINS(s.last_request, "\r\nAccept: application/json\r\n");
    CHECK_CONTAINS(s.last_request, "\r\nHost: 127.0.0.1:");
    CHECK_OK(http_request(c, "DELETE", "/x", NULL, "{}", 2, &r));
    CHECK(r.status == 404);
    CHECK(r.body.len == 0);
    CHECK_CONTAINS(s.last_request, "Content-Length: 2\r\n\r\n{}");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    CHECK(s.connections == 1);
    CHECK(s.requests == 2);
    free(url);
}

TEST(chunked_body)
{
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    char *url;

    srv_start(&s, rs, 0);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK_STR(buf_cstr(&r.body), "hello, world");
    /* The trailer was consumed: the next response on the connection parses. */
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK_STR(buf_cstr(&r.body), "ok");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    CHECK(s.connections == 1);
    free(url);
}

TEST(response_over_the_limit)
{
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
        "chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\n0123456789012345",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
        NULL,
    };
    struct srv s;
    struct http_options o = HTTP_OPTIONS_INIT;
    http_conn *c = NULL;
    struct http_response r;
    char *url;

    o.max_response = 10;
    srv_start(&s, rs, 0);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, &o));
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "limit");
    CHECK(r.status == 0); /* untouched on failure */
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_TOOLARGE);
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_TOOLARGE);
    /* Exactly at the limit is fine. */
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK(r.body.len == 10);
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    free(url);
}

TEST(reconnects_once_after_idle_close)
{
    /* The server closes after every response without saying so, as an
     * API server does with an idle keep-alive connection. */
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    char *url;

    srv_start(&s, rs, 1);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK_STR(buf_cstr(&r.body), "a");
    usleep(50 * 1000); /* let the close arrive */
    CHECK_OK(http_request(c, "POST", "/", NULL, "x", 1, &r));
    CHECK_STR(buf_cstr(&r.body), "b");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    CHECK(s.connections == 2);
    CHECK(s.requests == 2);
    free(url);
}

TEST(no_retry_after_part_of_a_response)
{
    /* The second answer breaks off: the server saw the request, so the
     * client must not send it again. */
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
        SRV_CLOSE "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    char *url;

    /* The server hangs up after the partial answer (SRV_CLOSE): set in the
     * script, not from this thread, so there is no race with it. */
    srv_start(&s, rs, 0);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK_ERR(http_request(c, "POST", "/", NULL, "x", 1, &r), ERR_IO);
    CHECK_CONTAINS(err_last(), "closed");
    CHECK(s.requests == 2);
    /* The connection is usable again (a fresh one). */
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK_STR(buf_cstr(&r.body), "c");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    CHECK(s.requests == 3);
    free(url);
}

TEST(interim_close_and_eof_bodies)
{
    static const char *const rs[] = {
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nConnection: close\r\n"
        "Retry-After: 3\r\nContent-Length: 3\r\n\r\nnew",
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    char *url;

    srv_start(&s, rs, 1);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "PUT", "/", NULL, "", 0, &r));
    CHECK(r.status == 201);
    CHECK_STR(buf_cstr(&r.body), "new");
    CHECK_STR(r.retry_after, "3");
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK(r.status == 200);
    CHECK_STR(buf_cstr(&r.body), "until the end");
    CHECK(r.retry_after == NULL);
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    CHECK(s.connections == 2);
    free(url);
}

TEST(read_timeout)
{
    static const char *const rs[] = {SRV_HANG, NULL};
    struct srv s;
    struct http_options o = HTTP_OPTIONS_INIT;
    http_conn *c = NULL;
    struct http_response r;
    char *url;
    int64_t t0;

    o.io_timeout_ms = 300;
    srv_start(&s, rs, 0);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, &o));
    t0 = time_mono_ms();
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_TIMEOUT);
    CHECK(time_mono_ms() - t0 < 3000);
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    free(url);
}

TEST(bad_responses)
{
    static const char *const rs[] = {
        "SMTP ready\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    char *url;

    srv_start(&s, rs, 1);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "status line");
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "chunk");
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "Content-Length");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    free(url);
}

TEST(urls_and_connect_errors)
{
    http_conn *c = NULL;
    struct http_response r;
    int fd, port;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char *url;

    CHECK_ERR(http_conn_new(&c, "ftp://x", NULL, NULL), ERR_INVALID);
    CHECK(c == NULL);
    CHECK_ERR(http_conn_new(&c, "http://h:99999", NULL, NULL), ERR_INVALID);
    CHECK_ERR(http_conn_new(&c, "http://[::1", NULL, NULL), ERR_INVALID);
    CHECK_ERR(http_conn_new(&c, "https://127.0.0.1", NULL, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "no CA");
    {
        struct http_tls t = {0};
        t.ca_pem = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n";
        t.ca_pem_len = strlen(t.ca_pem);
        CHECK_ERR(http_conn_new(&c, "https://127.0.0.1", &t, NULL), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "CA certificate");
    }
    CHECK_OK(http_conn_new(&c, "http://[::1]:8080/prefix/", NULL, NULL));
    http_conn_free(c);
    c = NULL;

    /* A port nobody listens on: bind one, close it, connect there. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &alen);
    port = ntohs(a.sin_port);
    close(fd);
    url = xasprintf("http://127.0.0.1:%d", port);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_ERR(http_request(c, "GET", "/", NULL, NULL, 0, &r), ERR_IO);
    CHECK_CONTAINS(err_last(), "connect");
    CHECK_ERR(http_request(c, "GET", "no-slash", NULL, NULL, 0, &r), ERR_INVALID);
    http_conn_free(c);
    free(url);
    c = NULL;

    http_response_dispose(&r);
}

/* ---- how far a request got ---- */

static struct http_req req_of(const char *method, const char *path, const char *body,
                              int idempotent)
{
    struct http_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.path = path;
    rq.body = body;
    rq.body_len = body ? strlen(body) : 0;
    rq.idempotent = idempotent;
    return rq;
}

TEST(dropped_after_sending_is_resent_only_when_idempotent)
{
    /* The server reads the second request and hangs up without a word. */
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
        SRV_DROP,
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
        NULL,
    };
    struct srv s;
    http_conn *c = NULL;
    struct http_response r;
    struct http_req rq;
    enum http_fate fate = HTTP_FATE_ANSWERED;
    char *url;

    /* A create on the reused connection: the server may have acted on it,
     * so it is not sent again; the caller learns it was sent. */
    srv_start(&s, rs, 0);
    url = srv_url(&s);
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    rq = req_of("GET", "/", NULL, 1);
    CHECK_OK(http_request_ex(c, &rq, &r, &fate));
    CHECK(fate == HTTP_FATE_ANSWERED);
    CHECK(http_conn_is_open(c));
    rq = req_of("POST", "/things", "{}", 0);
    CHECK_ERR(http_request_ex(c, &rq, &r, &fate), ERR_IO);
    CHECK(fate == HTTP_FATE_SENT);
    CHECK(s.requests == 2);
    CHECK(!http_conn_is_open(c));
    rq = req_of("GET", "/", NULL, 1);
    CHECK_OK(http_request_ex(c, &rq, &r, &fate));
    CHECK_STR(buf_cstr(&r.body), "b");
    http_conn_free(c);
    c = NULL;
    srv_stop(&s);
    CHECK(s.requests == 3);
    free(url);

    /* The same drop under an idempotent request: sent again at once on a
     * fresh connection. */
    srv_start(&s, rs, 0);
    url = srv_url(&s);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "GET", "/", NULL, NULL, 0, &r));
    CHECK_OK(http_request(c, "DELETE", "/things/x", NULL, NULL, 0, &r));
    CHECK_STR(buf_cstr(&r.body), "b");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    CHECK(s.requests == 3);
    CHECK(s.connections == 2);
    free(url);
}

TEST(fates_and_the_request_deadline)
{
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
        SRV_HANG,
        NULL,
    };
    struct srv s;
    struct http_options o = HTTP_OPTIONS_INIT;
    http_conn *c = NULL;
    struct http_response r;
    struct http_req rq;
    enum http_fate fate = HTTP_FATE_ANSWERED;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd;
    int64_t t0;
    char *url;

    /* Nobody listening: it never left. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    url = xasprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    rq = req_of("POST", "/", "x", 0);
    CHECK_ERR(http_request_ex(c, &rq, &r, &fate), ERR_IO);
    CHECK(fate == HTTP_FATE_NOT_SENT);
    rq = req_of("GET", "bad path", NULL, 1);
    CHECK_ERR(http_request_ex(c, &rq, &r, &fate), ERR_INVALID);
    CHECK(fate == HTTP_FATE_REFUSED);
    http_conn_free(c);
    c = NULL;
    free(url);

    /* Half an answer, then a server that never answers: the deadline
     * ends the wait long before the 20 s read timeout. */
    o.io_timeout_ms = 20000;
    srv_start(&s, rs, 0);
    s.close_each = 1;
    url = srv_url(&s);
    CHECK_OK(http_conn_new(&c, url, NULL, &o));
    rq = req_of("GET", "/", NULL, 1);
    CHECK_ERR(http_request_ex(c, &rq, &r, &fate), ERR_IO);
    CHECK(fate == HTTP_FATE_PARTIAL);
    s.close_each = 0;
    rq.deadline_ms = time_mono_ms() + 400;
    t0 = time_mono_ms();
    CHECK_ERR(http_request_ex(c, &rq, &r, &fate), ERR_TIMEOUT);
    CHECK(time_mono_ms() - t0 >= 350);
    CHECK(time_mono_ms() - t0 < 5000);
    CHECK_CONTAINS(err_last(), "deadline");
    CHECK(fate == HTTP_FATE_SENT);
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    free(url);
}

TEST(prefix_and_ipv6)
{
    static const char *const rs[] = {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL};
    struct srv s;
    struct sockaddr_in6 a;
    socklen_t alen = sizeof(a);
    http_conn *c = NULL;
    struct http_response r;
    char *url;
    int one = 1;

    /* The scripted server, but on [::1]; skipped where IPv6 is off. */
    memset(&s, 0, sizeof(s));
    s.responses = rs;
    s.lfd = socket(AF_INET6, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s.lfd, 4) < 0) {
        fprintf(stderr, "     (no IPv6 loopback; skipped)\n");
        if (s.lfd >= 0)
            close(s.lfd);
        return;
    }
    getsockname(s.lfd, (struct sockaddr *)&a, &alen);
    pthread_create(&s.th, NULL, srv_main, &s);
    url = xasprintf("http://[::1]:%d/base/", ntohs(a.sin6_port));
    http_response_init(&r);
    CHECK_OK(http_conn_new(&c, url, NULL, NULL));
    CHECK_OK(http_request(c, "GET", "/api", NULL, NULL, 0, &r));
    CHECK_CONTAINS(s.last_request, "GET /base/api HTTP/1.1\r\n");
    CHECK_CONTAINS(s.last_request, "Host: [::1]:");
    http_conn_free(c);
    http_response_dispose(&r);
    srv_stop(&s);
    free(url);
}

TEST(query_escape)
{
    struct buf b = BUF_INIT;
    http_query_escape(&b, "app in (a,b),tier!=x/y z~._-");
    CHECK_STR(buf_cstr(&b), "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx%2Fy%20z~._-");
    buf_dispose(&b);
}

/* ---- TLS against openssl s_server ---- */

static char *tls_dir;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    struct buf cmd = BUF_INIT;
    va_list ap;
    int rc;
    va_start(ap, fmt);
    buf_vprintf(&cmd, fmt, ap);
    va_end(ap);
    rc = system(buf_cstr(&cmd));
    buf_dispose(&cmd);
    return rc;
}

/* CA1 signs: srv-ip (IP:127.0.0.1), srv-dns (DNS:localhost), client;
 * CA2 signs nothing we use. */
static int tls_make_certs(void)
{
    return sh("set -e; cd '%s'\n"
              "cat > ca.cnf <<'E'\n"
              "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=edgecd test ca\n"
              "[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
              "subjectKeyIdentifier=hash\n"
              "E\n"
              "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1 "
              "2>/dev/null; }\n"
              "for ca in ca1 ca2; do key $ca.key; openssl req -x509 -new -config ca.cnf "
              "-extensions v3_ca -key $ca.key -days 2 -out $ca.crt; done\n"
              "leaf() { key $1.key; openssl req -new -key $1.key -subj /CN=$1 -out $1.csr "
              "-config ca.cnf 2>/dev/null;\n"
              "  printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
              "extendedKeyUsage=%%s\\n%%s\\n' \"$2\" \"$3\" > $1.ext;\n"
              "  openssl x509 -req -in $1.csr -CA ca1.crt -CAkey ca1.key -CAcreateserial "
              "-days 2 -extfile $1.ext -out $1.crt 2>/dev/null; }\n"
              "leaf srv-ip serverAuth subjectAltName=IP:127.0.0.1\n"
              "leaf srv-dns serverAuth subjectAltName=DNS:localhost\n"
              "leaf client clientAuth subjectAltName=DNS:client\n",
              tls_dir);
}

struct sserver {
    pid_t pid;
    int port;
};

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &alen);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* openssl s_server -www with cert name (srv-ip, srv-dns); verify_client
 * demands a client certificate signed by CA1. */
static int sserver_start(struct sserver *s, const char *name, int verify_client)
{
    s->port = free_port();
    s->pid = fork();
    if (s->pid == 0) {
        char *cert = xasprintf("%s/%s.crt", tls_dir, name);
        char *key = xasprintf("%s/%s.key", tls_dir, name);
        char *ca = xasprintf("%s/ca1.crt", tls_dir);
        char *acc = xasprintf("127.0.0.1:%d", s->port);
        char *log = xasprintf("%s/%s-s_server.log", tls_dir, name);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr) ||
            !freopen("/dev/null", "r", stdin))
            _exit(126);
        if (verify_client)
            execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", acc, "-cert",
                   cert, "-key", key, "-Verify", "1", "-CAfile", ca, (char *)NULL);
        else
            execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", acc, "-cert",
                   cert, "-key", key, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct sockaddr_in a;
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)s->port);
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return 0;
        usleep(25 * 1000);
    }
    fprintf(stderr, "openssl s_server did not start on %d\n", s->port);
    return -1;
}

static void sserver_stop(struct sserver *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = -1;
}

static void pem(struct buf *b, const char *name)
{
    char *p = xasprintf("%s/%s", tls_dir, name);
    buf_clear(b);
    if (fs_read_file(p, 1 << 20, b) < 0) {
        fprintf(stderr, "%s\n", err_last());
        exit(2);
    }
    free(p);
}

/* One GET with these TLS settings against an s_server; returns the rc and
 * leaves the body in *body when given. */
static int tls_get(int port, const char *host, const char *ca, const char *server_name,
                   int insecure, int with_client_cert, struct buf *body)
{
    struct buf cab = BUF_INIT, cert = BUF_INIT, key = BUF_INIT;
    struct http_tls t;
    struct http_response r;
    http_conn *c = NULL;
    char *url = xasprintf("https://%s:%d", host, port);
    int rc;

    memset(&t, 0, sizeof(t));
    if (ca) {
        pem(&cab, ca);
        t.ca_pem = cab.ptr;
        t.ca_pem_len = cab.len;
    }
    if (with_client_cert) {
        pem(&cert, "client.crt");
        pem(&key, "client.key");
        t.client_cert_pem = cert.ptr;
        t.client_cert_pem_len = cert.len;
        t.client_key_pem = key.ptr;
        t.client_key_pem_len = key.len;
    }
    t.insecure = insecure;
    t.server_name = server_name;
    http_response_init(&r);
    rc = http_conn_new(&c, url, &t, NULL);
    if (rc == 0)
        rc = http_request(c, "GET", "/", NULL, NULL, 0, &r);
    if (rc == 0 && r.status != 200)
        rc = err_set(ERR_GENERIC, "status %d", r.status);
    if (rc == 0 && body) {
        buf_clear(body);
        buf_put(body, r.body.ptr, r.body.len);
    }
    http_conn_free(c);
    http_response_dispose(&r);
    buf_dispose(&cab);
    buf_dispose(&cert);
    buf_dispose(&key);
    free(url);
    return rc;
}

static struct sserver srv_ip, srv_dns, srv_mtls;

TEST(tls_ip_san)
{
    struct buf body = BUF_INIT;
    CHECK_OK(tls_get(srv_ip.port, "127.0.0.1", "ca1.crt", NULL, 0, 0, &body));
    CHECK_CONTAINS(buf_cstr(&body), "s_server");
    buf_dispose(&body);
}

TEST(tls_ip_not_in_san_is_refused)
{
    CHECK_ERR(tls_get(srv_dns.port, "127.0.0.1", "ca1.crt", NULL, 0, 0, NULL), ERR_IO);
    CHECK_CONTAINS(err_last(), "127.0.0.1");
    CHECK_CONTAINS(err_last(), "verification");
}

TEST(tls_host_name)
{
    /* The name from tls-server-name, and the name from the URL (which
     * also resolves "localhost" through getaddrinfo). */
    CHECK_OK(tls_get(srv_dns.port, "127.0.0.1", "ca1.crt", "localhost", 0, 0, NULL));
    CHECK_OK(tls_get(srv_dns.port, "localhost", "ca1.crt", NULL, 0, 0, NULL));
    CHECK_ERR(tls_get(srv_dns.port, "127.0.0.1", "ca1.crt", "other.example", 0, 0, NULL), ERR_IO);
    CHECK_CONTAINS(err_last(), "other.example");
    /* A DNS-only certificate does not vouch for an IP, nor an IP
     * certificate for a name. */
    CHECK_ERR(tls_get(srv_ip.port, "127.0.0.1", "ca1.crt", "localhost", 0, 0, NULL), ERR_IO);
}

TEST(tls_wrong_ca_is_refused)
{
    CHECK_ERR(tls_get(srv_ip.port, "127.0.0.1", "ca2.crt", NULL, 0, 0, NULL), ERR_IO);
    CHECK_CONTAINS(err_last(), "https://127.0.0.1:");
    CHECK_CONTAINS(err_last(), "verification failed");
}

TEST(tls_insecure_skips_verification)
{
    CHECK_OK(tls_get(srv_dns.port, "127.0.0.1", NULL, NULL, 1, 0, NULL));
    CHECK_OK(tls_get(srv_ip.port, "127.0.0.1", "ca2.crt", NULL, 1, 0, NULL));
}

TEST(tls_client_certificate)
{
    CHECK_OK(tls_get(srv_mtls.port, "127.0.0.1", "ca1.crt", NULL, 0, 1, NULL));
    CHECK_ERR(tls_get(srv_mtls.port, "127.0.0.1", "ca1.crt", NULL, 0, 0, NULL), ERR_IO);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(content_length_and_keep_alive);
    RUN(chunked_body);
    RUN(response_over_the_limit);
    RUN(reconnects_once_after_idle_close);
    RUN(no_retry_after_part_of_a_response);
    RUN(interim_close_and_eof_bodies);
    RUN(read_timeout);
    RUN(bad_responses);
    RUN(urls_and_connect_errors);
    RUN(dropped_after_sending_is_resent_only_when_idempotent);
    RUN(fates_and_the_request_deadline);
    RUN(prefix_and_ipv6);
    RUN(query_escape);

    tls_dir = test_tmpdir("kube-http-tls");
    if (tls_make_certs() != 0) {
        fprintf(stderr, "making certificates with openssl failed\n");
        return 2;
    }
    if (sserver_start(&srv_ip, "srv-ip", 0) < 0 || sserver_start(&srv_dns, "srv-dns", 0) < 0 ||
        sserver_start(&srv_mtls, "srv-ip", 1) < 0)
        return 2;
    RUN(tls_ip_san);
    RUN(tls_ip_not_in_san_is_refused);
    RUN(tls_host_name);
    RUN(tls_wrong_ca_is_refused);
    RUN(tls_insecure_skips_verification);
    RUN(tls_client_certificate);
    sserver_stop(&srv_ip);
    sserver_stop(&srv_dns);
    sserver_stop(&srv_mtls);
    free(tls_dir);
    return TEST_END();
}
