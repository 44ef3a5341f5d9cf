/*
 * Connection handling. Each connection thread owns its socket and TLS
 * context; the listening thread keeps a fixed table of slots so shutdown
 * can wake every thread (shutdown(2) on its socket) and join it, which
 * keeps sanitizer runs free of leaks from half-finished connections.
 */
#include "httpd.h"

#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

/* Idle keep-alive connections are closed after this long. */
#define HTTPD_IDLE_MS 120000

struct httpd_conn {
    httpd *server;
    pthread_t thread;
    int fd;
    int used; /* slot holds a thread not yet joined */
    int done; /* thread finished; join it (atomic: set by the thread) */
};

struct httpd {
    int fd;
    int port;
    struct certs *certs;
    httpd_handler handler;
    void *ctx;
    mbedtls_ssl_config conf;
    pthread_mutex_t lock; /* guards the slot table */
    int stopping;         /* atomic */
    struct httpd_conn conns[HTTPD_MAX_CONN];
};

struct httpd_stream {
    httpd *server;
    mbedtls_ssl_context *ssl;
    int fd;
    int cut; /* atomic: httpd_stream_cut may run on another thread */
};

static int httpd_stream_over(httpd_stream *s)
{
    return __atomic_load_n(&s->cut, __ATOMIC_ACQUIRE) ||
           __atomic_load_n(&s->server->stopping, __ATOMIC_ACQUIRE);
}

static int httpd_send_cb(void *ctx, const unsigned char *data, size_t len)
{
    int fd = *(int *)ctx;
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0)
        return (errno == EINTR || errno == EAGAIN) ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                   : MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)n;
}

static int httpd_recv_cb(void *ctx, unsigned char *data, size_t len, uint32_t timeout_ms)
{
    int fd = *(int *)ctx;
    struct pollfd pfd = {fd, POLLIN, 0};
    int rc = poll(&pfd, 1, timeout_ms ? (int)timeout_ms : -1);
    ssize_t n;
    if (rc == 0)
        return MBEDTLS_ERR_SSL_TIMEOUT;
    if (rc < 0)
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    n = recv(fd, data, len, 0);
    if (n < 0)
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    return (int)n;
}

/* The CTR-DRBG is shared by all connections; mbedTLS locks it internally
 * when built with MBEDTLS_THREADING_C, which Debian's build is. */

static int httpd_write_all(mbedtls_ssl_context *ssl, const char *data, size_t len)
{
    while (len > 0) {
        int n = mbedtls_ssl_write(ssl, (const unsigned char *)data, len);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *httpd_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 410:
        return "Gone";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

static int httpd_respond(mbedtls_ssl_context *ssl, struct httpd_response *res, int keep_alive)
{
    struct buf head = BUF_INIT;
    int rc;
    buf_printf(&head,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Cache-Control: no-cache, private\r\n%s%s\r\n",
               res->status, httpd_reason(res->status),
               res->content_type ? res->content_type : "application/json", res->body.len,
               res->headers, keep_alive ? "" : "Connection: close\r\n");
    buf_put(&head, res->body.ptr ? res->body.ptr : "", res->body.len);
    rc = httpd_write_all(ssl, head.ptr, head.len);
    buf_dispose(&head);
    return rc;
}

int httpd_stream_write(httpd_stream *s, const void *data, size_t len)
{
    char size[24];
    int n;
    if (httpd_stream_over(s))
        return -1;
    if (len == 0)
        return 0; /* an empty chunk would end the response */
    n = snprintf(size, sizeof(size), "%zx\r\n", len);
    if (httpd_write_all(s->ssl, size, (size_t)n) < 0 || httpd_write_all(s->ssl, data, len) < 0 ||
        httpd_write_all(s->ssl, "\r\n", 2) < 0)
        return -1;
    return __atomic_load_n(&s->cut, __ATOMIC_ACQUIRE) ? -1 : 0;
}

int httpd_stream_alive(httpd_stream *s)
{
    struct pollfd pfd = {s->fd, POLLIN | POLLRDHUP, 0};
    char c;
    if (httpd_stream_over(s))
        return 0;
    if (poll(&pfd, 1, 0) <= 0)
        return 1;
    if (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
        return 0;
    /* Readable: either EOF or bytes a client may send mid-stream (a TLS
     * alert); only EOF means gone. */
    return recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
}

void httpd_stream_cut(httpd_stream *s)
{
    __atomic_store_n(&s->cut, 1, __ATOMIC_RELEASE);
    shutdown(s->fd, SHUT_RDWR);
}

/* Send a streamed response: head, the handler's chunks, and the final
 * chunk unless the stream function asked for an abrupt end. 0 if the
 * connection can carry another request. */
static int httpd_respond_stream(httpd *h, mbedtls_ssl_context *ssl, int fd,
                                struct httpd_response *res)
{
    struct httpd_stream s = {h, ssl, fd, 0};
    struct buf head = BUF_INIT;
    int rc;
    buf_printf(&head,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
               "Cache-Control: no-cache, private\r\n\r\n",
               res->status, httpd_reason(res->status),
               res->content_type ? res->content_type : "application/json");
    rc = httpd_write_all(ssl, head.ptr, head.len);
    buf_dispose(&head);
    if (rc == 0)
        rc = res->stream(res->stream_ctx, &s);
    if (rc == 0 && !__atomic_load_n(&s.cut, __ATOMIC_ACQUIRE))
        rc = httpd_write_all(ssl, "0\r\n\r\n", 5);
    return rc < 0 || __atomic_load_n(&s.cut, __ATOMIC_ACQUIRE) ? -1 : 0;
}

/* A response made here rather than by the handler, for requests that never
 * reach it (too large, malformed). */
static void httpd_error(mbedtls_ssl_context *ssl, int status, const char *reason,
                        const char *message)
{
    struct httpd_response res = {.status = status, .content_type = "application/json"};
    buf_printf(&res.body,
               "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
               "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}\n",
               message, reason, status);
    httpd_respond(ssl, &res, 0);
    buf_dispose(&res.body);
}

static int httpd_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes of s; plus_space for query strings. */
static char *httpd_decode(const char *s, size_t n, int plus_space)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && httpd_hexval(s[i + 1]) >= 0 &&
            httpd_hexval(s[i + 2]) >= 0) {
            out[j++] = (char)(httpd_hexval(s[i + 1]) * 16 + httpd_hexval(s[i + 2]));
            i += 2;
        } else if (plus_space && s[i] == '+') {
            out[j++] = ' ';
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

char *httpd_query_get(const struct httpd_request *req, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = req->query;
    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= nlen && strncmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '=')) {
            if (len == nlen)
                return xstrdup("");
            return httpd_decode(p + nlen + 1, len - nlen - 1, 1);
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static void httpd_request_dispose(struct httpd_request *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->content_type);
    free(r->accept);
    free(r->authorization);
    free(r->user_agent);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Parse the request line and headers in head (NUL-terminated, without the
 * blank line). Sets *content_length (-1 if absent), *close, *chunked. */
static int httpd_parse_head(char *head, struct httpd_request *r, long *content_length,
                            int *close_after, int *chunked)
{
    char *save = NULL;
    char *line = strtok_r(head, "\r\n", &save);
    char *sp1, *sp2, *q;
    *content_length = -1;
    *close_after = 0;
    *chunked = 0;
    if (!line)
        return -1;
    sp1 = strchr(line, ' ');
    if (!sp1)
        return -1;
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2)
        return -1;
    *sp1 = *sp2 = '\0';
    if (strcmp(sp2 + 1, "HTTP/1.1") != 0)
        *close_after = 1;
    r->method = xstrdup(line);
    q = strchr(sp1 + 1, '?');
    if (q) {
        r->path = httpd_decode(sp1 + 1, (size_t)(q - sp1 - 1), 0);
        r->query = xstrdup(q + 1);
    } else {
        r->path = httpd_decode(sp1 + 1, strlen(sp1 + 1), 0);
        r->query = xstrdup("");
    }
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *colon = strchr(line, ':');
        char *v;
        if (!colon)
            return -1;
        *colon = '\0';
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *endp;
            errno = 0;
            *content_length = strtol(v, &endp, 10);
            if (errno || *endp || *content_length < 0)
                return -1;
        } else if (strcasecmp(line, "Content-Type") == 0) {
            free(r->content_type);
            r->content_type = xstrdup(v);
        } else if (strcasecmp(line, "Accept") == 0) {
            free(r->accept);
            r->accept = xstrdup(v);
        } else if (strcasecmp(line, "Authorization") == 0) {
            free(r->authorization);
            r->authorization = xstrdup(v);
        } else if (strcasecmp(line, "User-Agent") == 0) {
            free(r->user_agent);
            r->user_agent = xstrdup(v);
        } else if (strcasecmp(line, "Connection") == 0) {
            if (strcasecmp(v, "close") == 0)
                *close_after = 1;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            if (strcasecmp(v, "identity") != 0)
                *chunked = 1;
        }
    }
    return 0;
}

/* Read more TLS data into in, up to max total. 1 on data, 0 on EOF or
 * error. */
static int httpd_fill(mbedtls_ssl_context *ssl, struct buf *in)
{
    unsigned char tmp[16384];
    for (;;) {
        int n = mbedtls_ssl_read(ssl, tmp, sizeof(tmp));
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (n <= 0)
            return 0;
        buf_put(in, tmp, (size_t)n);
        return 1;
    }
}

static void httpd_serve(httpd *h, mbedtls_ssl_context *ssl, int fd, int client_cert)
{
    struct buf in = BUF_INIT;
    for (;;) {
        struct httpd_request req;
        struct httpd_response res = {.status = 200};
        char *end;
        size_t head_len;
        long clen;
        int close_after, chunked, keep;

        memset(&req, 0, sizeof(req));
        while (!(in.ptr && (end = strstr(in.ptr, "\r\n\r\n")) != NULL)) {
            if (in.len > HTTPD_MAX_HEADER) {
                httpd_error(ssl, 431, "RequestHeaderFieldsTooLarge",
                            "request header fields too large");
                goto out;
            }
            if (!httpd_fill(ssl, &in))
                goto out;
        }
        head_len = (size_t)(end - in.ptr) + 4;
        *end = '\0';
        if (httpd_parse_head(in.ptr, &req, &clen, &close_after, &chunked) < 0) {
            httpd_request_dispose(&req);
            httpd_error(ssl, 400, "BadRequest", "malformed HTTP request");
            goto out;
        }
        if (chunked) {
            httpd_request_dispose(&req);
            httpd_error(ssl, 411, "BadRequest",
                        "kubesim needs Content-Length; chunked request bodies are not supported");
            goto out;
        }
        if (clen > (long)HTTPD_MAX_BODY) {
            httpd_request_dispose(&req);
            httpd_error(ssl, 413, "RequestEntityTooLarge",
                        "Request entity too large: limit is 8388608");
            goto out;
        }
        if (clen < 0)
            clen = 0;
        while (in.len - head_len < (size_t)clen) {
            if (!httpd_fill(ssl, &in)) {
                httpd_request_dispose(&req);
                goto out;
            }
        }
        req.body = xstrndup(in.ptr + head_len, (size_t)clen);
        req.body_len = (size_t)clen;
        req.client_cert = client_cert;
        /* Keep what follows (a pipelined request) for the next round. */
        {
            size_t used = head_len + (size_t)clen;
            size_t rest = in.len - used;
            memmove(in.ptr, in.ptr + used, rest);
            in.len = rest;
            in.ptr[rest] = '\0';
        }
        h->handler(h->ctx, &req, &res);
        if (res.drop) {
            if (res.stream_free)
                res.stream_free(res.stream_ctx);
            httpd_request_dispose(&req);
            buf_dispose(&res.body);
            break;
        }
        keep = !close_after;
        if (res.stream) {
            if (httpd_respond_stream(h, ssl, fd, &res) < 0)
                keep = 0;
        } else if (httpd_respond(ssl, &res, keep) < 0) {
            keep = 0;
        }
        if (res.stream_free)
            res.stream_free(res.stream_ctx);
        httpd_request_dispose(&req);
        buf_dispose(&res.body);
        if (!keep)
            break;
    }
out:
    buf_dispose(&in);
}

static void *httpd_conn_main(void *arg)
{
    struct httpd_conn *conn = arg;
    httpd *h = conn->server;
    mbedtls_ssl_context ssl;
    int rc, client_cert = 0;

    mbedtls_ssl_init(&ssl);
    if (mbedtls_ssl_setup(&ssl, &h->conf) != 0)
        goto done;
    mbedtls_ssl_set_bio(&ssl, &conn->fd, httpd_send_cb, NULL, httpd_recv_cb);
    while ((rc = mbedtls_ssl_handshake(&ssl)) != 0) {
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
            char msg[128];
            mbedtls_strerror(rc, msg, sizeof(msg));
            log_debug("kubesim: TLS handshake: %s", msg);
            goto done;
        }
    }
    client_cert =
        mbedtls_ssl_get_peer_cert(&ssl) != NULL && mbedtls_ssl_get_verify_result(&ssl) == 0;
    httpd_serve(h, &ssl, conn->fd, client_cert);
    mbedtls_ssl_close_notify(&ssl);
done:
    mbedtls_ssl_free(&ssl);
    close(conn->fd);
    __atomic_store_n(&conn->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int httpd_new(httpd **out, const char *host, int port, struct certs *c, httpd_handler handler,
              void *ctx)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr;
    socklen_t alen;
    httpd *h;
    int one = 1, rc;
    static const char *alpn[] = {"http/1.1", NULL};

    *out = NULL;
    h = xcalloc(1, sizeof(*h));
    h->fd = -1;
    h->certs = c;
    h->handler = handler;
    h->ctx = ctx;
    pthread_mutex_init(&h->lock, NULL);
    mbedtls_ssl_config_init(&h->conf);

    /* Numeric addresses only (plus "localhost"): getaddrinfo in a static
     * glibc binary would need the shared NSS libraries at run time. */
    memset(&addr, 0, sizeof(addr));
    if (strcmp(host, "localhost") == 0 || !host[0])
        host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : "0.0.0.0";
    if (inet_pton(AF_INET, host, &addr.v4.sin_addr) == 1) {
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons((uint16_t)port);
        alen = sizeof(addr.v4);
    } else if (inet_pton(AF_INET6, host, &addr.v6.sin6_addr) == 1) {
        addr.v6.sin6_family = AF_INET6;
        addr.v6.sin6_port = htons((uint16_t)port);
        alen = sizeof(addr.v6);
    } else {
        rc = err_set(ERR_INVALID, "kubesim: listen address %s: not a numeric IP address", host);
        goto fail;
    }
    h->fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(h->fd, &addr.sa, alen) < 0 || listen(h->fd, 128) < 0) {
        rc = err_set(ERR_IO, "kubesim: listen on %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(h->fd, (struct sockaddr *)&ss, &sl);
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    }

    if ((rc = mbedtls_ssl_config_defaults(&h->conf, MBEDTLS_SSL_IS_SERVER,
                                          MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        rc = err_set(ERR_GENERIC, "kubesim: TLS config: -0x%04x", (unsigned)-rc);
        goto fail;
    }
    mbedtls_ssl_conf_rng(&h->conf, mbedtls_ctr_drbg_random, c->drbg);
    mbedtls_ssl_conf_min_version(&h->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    /* Clients without a certificate still connect and authenticate with
     * a token; a certificate that does not verify means not authenticated. */
    mbedtls_ssl_conf_authmode(&h->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    mbedtls_ssl_conf_ca_chain(&h->conf, &c->ca_crt, NULL);
    mbedtls_ssl_conf_read_timeout(&h->conf, HTTPD_IDLE_MS);
    /* Offering only http/1.1 stops Go clients from trying HTTP/2. */
    mbedtls_ssl_conf_alpn_protocols(&h->conf, alpn);
    if ((rc = mbedtls_ssl_conf_own_cert(&h->conf, &c->server_crt, &c->server_key)) != 0) {
        rc = err_set(ERR_GENERIC, "kubesim: TLS server certificate: -0x%04x", (unsigned)-rc);
        goto fail;
    }
    *out = h;
    return 0;
fail:
    httpd_free(h);
    return rc;
}

int httpd_port(const httpd *h)
{
    return h->port;
}

/* Join finished connection threads so their slots can be reused. */
static void httpd_reap(httpd *h, int all)
{
    for (int i = 0; i < HTTPD_MAX_CONN; i++) {
        struct httpd_conn *c = &h->conns[i];
        if (!c->used)
            continue;
        int done = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
        if (all && !done)
            shutdown(c->fd, SHUT_RDWR);
        if (all || done) {
            pthread_join(c->thread, NULL);
            c->used = 0;
            c->done = 0;
        }
    }
}

void httpd_run(httpd *h, volatile sig_atomic_t *stop)
{
    while (!*stop) {
        struct pollfd pfd = {h->fd, POLLIN, 0};
        struct httpd_conn *slot = NULL;
        int fd, one = 1;
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        httpd_reap(h, 0);
        for (int i = 0; i < HTTPD_MAX_CONN && !slot; i++)
            if (!h->conns[i].used)
                slot = &h->conns[i];
        if (!slot) {
            /* Over the cap: the client sees a reset and retries. */
            log_warn("kubesim: %d connections open; refusing one", HTTPD_MAX_CONN);
            close(fd);
            continue;
        }
        slot->server = h;
        slot->fd = fd;
        slot->done = 0;
        slot->used = 1;
        if (pthread_create(&slot->thread, NULL, httpd_conn_main, slot) != 0) {
            slot->used = 0;
            close(fd);
        }
    }
    __atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
    httpd_reap(h, 1);
}

void httpd_free(httpd *h)
{
    if (!h)
        return;
    if (h->fd >= 0)
        close(h->fd);
    mbedtls_ssl_config_free(&h->conf);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
