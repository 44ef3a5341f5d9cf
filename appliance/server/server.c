/*
 * The HTTP API on CivetWeb.
 *
 * Every request enters through one callback (begin_request) and one
 * dispatcher, so the rules that must hold for all of them are written once
 * and in order: a body over SERVER_MAX_BODY is refused before anything
 * reads it; the route table picks the route; anything under /api but the
 * open routes (login, webhook) must carry credentials (auth.c), even a
 * path that does not exist (an unauthenticated client learns nothing
 * about routes), a cookie-authenticated write its CSRF token, and the
 * caller the route's RBAC right; then the handler runs, or the answer is
 * 404, or 405 with the methods the path does have. CivetWeb's own errors
 * (a header block over max_request_size, a malformed request line) go
 * through server_on_http_error, so they too are JSON with the same
 * headers.
 *
 * Over HTTPS (the default) CivetWeb does the TLS with mbedTLS; a plain
 * request can then only come through the optional redirect port, and the
 * dispatcher answers it with a 308 to the HTTPS port before anything else
 * (so no route, not even /healthz, is served in clear). The security
 * headers go on every answer from server_send, which every path above
 * ends in; HSTS is added when the connection is TLS.
 *
 * The node token itself is not kept: only its SHA-256. Comparing
 * digests takes the same time whatever the presented token's length or
 * content, and a memory dump of the server does not hand out the
 * credential.
 *
 * Answers are Argo CD shaped Application objects built from the store;
 * handlers only read the store and never wait on the engine.
 */
#include "server/server.h"

#include <civetweb.h>
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <jansson.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "server/internal.h"

/* CivetWeb's limit on the request line plus headers. */
#define SERVER_MAX_HEADER "16384"
/* The request line and headers must arrive within this (CivetWeb counts
 * from the request's first byte, not per read, so a client trickling a
 * byte at a time is cut off too); the body has as long again, counted by
 * server_read_body over all its reads. */
#define SERVER_DEFAULT_REQUEST_TIMEOUT_MS 10000
/* Enough that the streams (SSE, followed logs; at most half of the
 * threads, see server_stream_acquire) leave the rest to requests; an idle
 * worker costs a parked thread, not memory in use. */
#define SERVER_DEFAULT_THREADS 48
/* Connections one client address may hold at once, queued ones
 * included (a browser opens six); more are closed as they are accepted.
 * With the default threads no single host can take them all. */
#define SERVER_DEFAULT_PER_ADDRESS 24
/* Accepted connections waiting for a worker, and the kernel's backlog of
 * ones not accepted yet. */
#define SERVER_CONNECTION_QUEUE "64"
#define SERVER_LISTEN_BACKLOG "128"
/* How much of a request path goes into a log line. */
#define SERVER_LOG_PATH_MAX 200

/* Sent with every answer, errors included. API answers are data, never
 * a page a browser should render, frame or leak a referrer from (nor
 * cache: server_send adds "Cache-Control: no-store"); the policy is the
 * one the embedded UI lives under too (its own scripts, styles, fetch and
 * EventSource only; no inline script, no plugins, no framing). */
static const char *const server_security_headers[][2] = {
    {"Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'; "
                                "frame-ancestors 'none'; base-uri 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
};
/* Only over HTTPS: a browser ignores it over plain HTTP, and a proxy in
 * front of an insecureHTTP server sets its own. */
#define SERVER_HSTS "max-age=31536000"

/* A new JSON string. Text from the store comes from Git and the cluster
 * and may hold invalid UTF-8 (which jansson refuses); such bytes become
 * '?' rather than losing the whole answer. */
json_t *server_json_str_new(const char *s)
{
    json_t *j;
    char *copy;
    size_t i;

    if (!s)
        s = "";
    if ((j = json_string(s)) != NULL)
        return j;
    copy = xstrdup(s);
    for (i = 0; copy[i]; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* The status line and headers every answer carries: the security
 * headers, HSTS over TLS, Cache-Control cache, the content type (NULL:
 * none, for a 304) and extra. */
static void server_head(struct mg_connection *conn, int status, const char *content_type,
                        const char *cache, const char *const *extra)
{
    size_t i;

    mg_response_header_start(conn, status);
    for (i = 0; i < sizeof(server_security_headers) / sizeof(server_security_headers[0]); i++)
        mg_response_header_add(conn, server_security_headers[i][0], server_security_headers[i][1],
                               -1);
    if (mg_get_request_info(conn)->is_ssl)
        mg_response_header_add(conn, "Strict-Transport-Security", SERVER_HSTS, -1);
    mg_response_header_add(conn, "Cache-Control", cache, -1);
    if (content_type)
        mg_response_header_add(conn, "Content-Type", content_type, -1);
    for (i = 0; extra && extra[i]; i += 2)
        mg_response_header_add(conn, extra[i], extra[i + 1], -1);
}

int server_send_bytes(struct mg_connection *conn, int status, const char *type, const char *cache,
                      const void *data, size_t len, const char *const *extra)
{
    const char *method;
    char lenstr[32];

    server_head(conn, status, status == 304 ? NULL : type, cache, extra);
    if (status != 304) {
        snprintf(lenstr, sizeof(lenstr), "%zu", len);
        mg_response_header_add(conn, "Content-Length", lenstr, -1);
    }
    mg_response_header_send(conn);
    /* request_method is NULL for a request CivetWeb could not parse */
    method = mg_get_request_info(conn)->request_method;
    if (status != 304 && len && !(method && strcmp(method, "HEAD") == 0))
        mg_write(conn, data, len);
    return status;
}

int server_send_text(struct mg_connection *conn, int status, const char *content_type,
                     const char *text, size_t n, const char *const *extra)
{
    return server_send_bytes(conn, status, content_type, "no-store", text, n, extra);
}

int server_send_file(struct mg_connection *conn, int status, const char *content_type,
                     const char *path, const char *const *extra)
{
    char len[32], chunk[65536];
    struct stat sb;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &sb) != 0) {
        err_set(ERR_IO, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return server_internal_error(conn, "send a file");
    }
    snprintf(len, sizeof(len), "%lld", (long long)sb.st_size);
    server_head(conn, status, content_type, "no-store", extra);
    mg_response_header_add(conn, "Content-Length", len, -1);
    mg_response_header_send(conn);
    /* in pieces: a backup may be larger than the memory edgecd runs in */
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (mg_write(conn, chunk, (size_t)n) <= 0)
            break;
    close(fd);
    return status;
}

/* Send status with the JSON body (consumed) and extra headers (NULL or a
 * NULL-terminated list of name, value pairs). Returns status. */
int server_send(struct mg_connection *conn, int status, json_t *body, const char *const *extra)
{
    char *text = json_dumps(body, JSON_COMPACT);

    json_decref(body);
    if (!text)
        text = xstrdup("{}");
    server_send_bytes(conn, status, "application/json", "no-store", text, strlen(text), extra);
    free(text);
    return status;
}

int server_stream_acquire(server *srv, struct mg_connection *conn)
{
    static const char *const retry[] = {"Retry-After", "5", NULL};
    if (atomic_fetch_add(&srv->streams, 1) >= srv->max_streams) {
        atomic_fetch_sub(&srv->streams, 1);
        return server_error(conn, 503, "too many open streams; try again later", retry);
    }
    return 0;
}

void server_stream_release(server *srv)
{
    atomic_fetch_sub(&srv->streams, 1);
}

int server_stopping(server *srv)
{
    return atomic_load(&srv->stopping);
}

void server_stream_start(struct mg_connection *conn, const char *content_type)
{
    /* a proxy must pass each piece on as it comes */
    static const char *const extra[] = {"Transfer-Encoding", "chunked", "X-Accel-Buffering", "no",
                                        NULL};
    server_head(conn, 200, content_type, "no-store", extra);
    mg_response_header_send(conn);
}

int server_stream_write(struct mg_connection *conn, const char *data, size_t len)
{
    if (len == 0)
        return 0; /* an empty chunk would end the answer */
    return mg_send_chunk(conn, data, (unsigned)len) < 0 ? -1 : 0;
}

void server_stream_end(struct mg_connection *conn)
{
    mg_send_chunk(conn, "", 0);
}

/* {"error": message, "code": status}. */
int server_error(struct mg_connection *conn, int status, const char *message,
                 const char *const *extra)
{
    json_t *body = json_object();
    json_object_set_new(body, "error", server_json_str_new(message));
    json_object_set_new(body, "code", json_integer(status));
    return server_send(conn, status, body, extra);
}

/* The answer to an unexpected store failure: the detail goes to the log
 * (once, here at the top), the client gets no internals. */
int server_internal_error(struct mg_connection *conn, const char *what)
{
    log_error("http: %s: %s", what, err_last());
    return server_error(conn, 500, "internal error (see the server log)", NULL);
}

/* The whole body (within SERVER_MAX_BODY, checked before dispatch) into
 * *out (new, NUL-terminated; NULL and *len 0 when there is none). 0, or
 * the status of the error answer sent: 411 for a chunked body, 400 for
 * one cut short. */
int server_read_body(struct mg_connection *conn, char **out, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *te = mg_get_header(conn, "Transfer-Encoding");
    const server *srv = mg_get_request_info(conn)->user_data;
    int64_t deadline = time_mono_ms() + srv->request_timeout_ms;
    long long got = 0;

    *out = NULL;
    *len = 0;
    if (te && strcasecmp(te, "chunked") == 0)
        return server_error(conn, 411, "send the body with a Content-Length", NULL);
    if (ri->content_length <= 0)
        return 0;
    *out = xmalloc((size_t)ri->content_length + 1);
    /* Each mg_read waits up to the request timeout for what it asked, and
     * a client sending a byte now and then would keep a loop of them
     * going: the deadline covers them all. */
    while (got < ri->content_length && time_mono_ms() < deadline) {
        int n = mg_read(conn, *out + got, (size_t)(ri->content_length - got));
        if (n <= 0)
            break;
        got += n;
    }
    (*out)[got] = '\0';
    *len = (size_t)got;
    if (got < ri->content_length) {
        static const char *const close_hdr[] = {"Connection", "close", NULL};
        free(*out);
        *out = NULL;
        mg_disable_keep_alive(conn);
        /* mg_read says 0 both when the client stopped sending and when
         * it closed; a closed client never reads the answer anyway */
        return server_error(conn, 408, "request body not received in time (or cut short)",
                            close_hdr);
    }
    return 0;
}

int server_read_json(struct mg_connection *conn, json_t **out)
{
    char *data = NULL;
    size_t len = 0;
    json_error_t jerr;
    int rc;

    *out = NULL;
    if ((rc = server_read_body(conn, &data, &len)) != 0)
        return rc;
    if (!data) {
        *out = json_object();
        return 0;
    }
    *out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    /* a body may carry a password (POST /api/v1/repositories): not left
     * behind in freed memory */
    mbedtls_platform_zeroize(data, len);
    free(data);
    if (!json_is_object(*out)) {
        char *msg = xasprintf("request body: %s", *out ? "must be an object" : jerr.text);
        rc = server_error(conn, 400, msg, NULL);
        free(msg);
        json_decref(*out);
        *out = NULL;
        return rc;
    }
    return 0;
}

/* 0 if the request body, when there is one, is within SERVER_MAX_BODY,
 * else the status to refuse it with: 413, or 408 for a chunked body that
 * did not end in time. A declared length is judged without reading; a
 * chunked body has to be read (and is discarded: no route takes one) to
 * learn its size. */
static int server_body_check(const server *srv, struct mg_connection *conn,
                             const struct mg_request_info *ri)
{
    const char *te = mg_get_header(conn, "Transfer-Encoding");
    int64_t deadline = time_mono_ms() + srv->request_timeout_ms;
    char chunk[8192];
    long long total = 0;
    int n;

    if (ri->content_length > SERVER_MAX_BODY)
        return 413;
    if (!te || strcasecmp(te, "chunked") != 0)
        return 0;
    while ((n = mg_read(conn, chunk, sizeof(chunk))) > 0) {
        total += n;
        if (total > SERVER_MAX_BODY)
            return 413;
        if (time_mono_ms() >= deadline)
            return 408;
    }
    return 0;
}

static int server_is_api(const char *path)
{
    return strcmp(path, "/api") == 0 || str_has_prefix(path, "/api/");
}

/* What the dispatcher hands the handler through the connection: the
 * caller and the decoded "*" segments. */
struct server_request {
    struct server_caller caller;
    char args[SERVER_MAX_ARGS][256];
    size_t nargs;
};

const struct server_caller *server_caller(struct mg_connection *conn)
{
    struct server_request *rq = mg_get_user_connection_data(conn);
    return rq ? &rq->caller : NULL;
}

const char *server_arg(struct mg_connection *conn, size_t i)
{
    struct server_request *rq = mg_get_user_connection_data(conn);
    return rq && i < rq->nargs ? rq->args[i] : NULL;
}

/* Match the raw (still URL-encoded) path against pattern segment by
 * segment; each "*" takes one non-empty segment, decoded into rq->args.
 * A decoded segment may hold '/' (an object "project%2Fapp") but no
 * control characters. */
/* 1 if every '%' in path starts an escape of two hex digits other than
 * %00: the path is matched as sent (decode_url is off), and a malformed
 * escape is the client's error, not a name to look up. */
static int server_path_escapes_ok(const char *path)
{
    for (; *path; path++) {
        if (*path != '%')
            continue;
        if (!isxdigit((unsigned char)path[1]) || !isxdigit((unsigned char)path[2]) ||
            (path[1] == '0' && path[2] == '0'))
            return 0;
        path += 2;
    }
    return 1;
}

static int server_match(const char *pattern, const char *path, struct server_request *rq)
{
    rq->nargs = 0;
    for (;;) {
        size_t pn = strcspn(pattern, "/"), n = strcspn(path, "/");
        if (pn == 1 && pattern[0] == '*') {
            char *arg;
            int len;
            if (n == 0 || rq->nargs == SERVER_MAX_ARGS || n >= sizeof(rq->args[0]))
                return 0;
            arg = rq->args[rq->nargs];
            len = mg_url_decode(path, (int)n, arg, (int)sizeof(rq->args[0]), 0);
            if (len <= 0)
                return 0;
            for (int i = 0; i < len; i++)
                if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
                    return 0;
            rq->nargs++;
        } else if (pn != n || strncmp(pattern, path, n) != 0) {
            return 0;
        }
        pattern += pn;
        path += n;
        if (!*pattern || !*path)
            return !*pattern && !*path;
        pattern++;
        path++;
    }
}

/* host (without port) from a Host header into out, or 0 when it is not
 * a plain name or address: it goes into a Location header. */
static int server_host(const char *h, char *out, size_t len)
{
    size_t n = 0;
    if (!h)
        return 0;
    if (h[0] == '[') {
        const char *end = strchr(h, ']');
        if (!end)
            return 0;
        n = (size_t)(end - h) + 1;
    } else {
        while (h[n] && h[n] != ':')
            n++;
    }
    if (n == 0 || n >= len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", h[i]))
            return 0;
    memcpy(out, h, n);
    out[n] = '\0';
    return 1;
}

/* A plain HTTP request on the redirect port: 308 (the method and body
 * are kept) to the same path on the HTTPS port of the host the client
 * asked for. The path is as the client sent it (CivetWeb does not decode
 * it: decode_url is off), so its escapes stay and any other byte outside
 * the unreserved set is encoded; a query with anything unprintable is
 * dropped. */
static int server_redirect(server *srv, struct mg_connection *conn,
                           const struct mg_request_info *ri)
{
    static const char *const close_hdr[] = {"Connection", "close", NULL};
    const char *path = ri->local_uri_raw ? ri->local_uri_raw : "/";
    const char *q = ri->query_string;
    struct buf loc = BUF_INIT;
    char host[300];
    int status;

    mg_disable_keep_alive(conn);
    if (!server_host(mg_get_header(conn, "Host"), host, sizeof(host)))
        return server_error(conn, 400, "this port only redirects to HTTPS; send a Host header",
                            close_hdr);
    buf_printf(&loc, "https://%s:%d", host, srv->port);
    for (; *path; path++) {
        unsigned char c = (unsigned char)*path;
        /* The path is as the client sent it (decode_url is off): an
         * escape stays as it is, anything else unsafe is escaped. */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("/-._~", c) ||
            (c == '%' && isxdigit((unsigned char)path[1]) && isxdigit((unsigned char)path[2])))
            buf_putc(&loc, (char)c);
        else
            buf_printf(&loc, "%%%02X", c);
    }
    if (q && q[0]) {
        size_t i;
        for (i = 0; q[i] && (unsigned char)q[i] > 0x20 && q[i] != 0x7f; i++)
            ;
        if (!q[i])
            buf_printf(&loc, "?%s", q);
    }
    {
        const char *const hdr[] = {"Location", buf_cstr(&loc), "Connection", "close", NULL};
        status = server_error(conn, 308, "use HTTPS", hdr);
    }
    buf_dispose(&loc);
    return status;
}

/* "permission denied: RESOURCE, ACTION, OBJECT" (403) unless the caller
 * may run route r; 0 when it may. */
static int server_route_allowed(server *srv, struct mg_connection *conn,
                                const struct server_route *r, const struct server_request *rq)
{
    char *object = NULL, *msg;
    int ok, status;

    if (!r->resource)
        return 0;
    if (rq->nargs)
        object = server_object(srv, r->resource, rq->args[0]);
    ok = server_caller_allowed(srv, &rq->caller, r->resource, r->action, object);
    if (ok) {
        free(object);
        return 0;
    }
    msg = xasprintf("permission denied: %s, %s, %s", r->resource, r->action, object ? object : "*");
    status = server_error(conn, 403, msg, NULL);
    free(msg);
    free(object);
    return status;
}

static int server_dispatch(server *srv, struct mg_connection *conn,
                           const struct mg_request_info *ri, struct server_request *rq)
{
    static const char *const close_hdr[] = {"Connection", "close", NULL};
    static const char *const auth_hdr[] = {"WWW-Authenticate", "Bearer realm=\"edgecd\"", NULL};
    const char *path = ri->local_uri ? ri->local_uri : "";
    const char *method = ri->request_method ? ri->request_method : "";
    const struct server_route *route = NULL;
    char allow[128] = "";
    size_t i;
    int status;

    if (srv->https && !ri->is_ssl)
        return server_redirect(srv, conn, ri);
    if ((status = server_body_check(srv, conn, ri)) != 0) {
        /* The rest of the body is never read: close instead of draining
         * up to a client-chosen number of bytes. */
        mg_disable_keep_alive(conn);
        return server_error(conn, status,
                            status == 408 ? "request body not received in time"
                                          : "request body too large (limit 1 MiB)",
                            close_hdr);
    }
    if (!server_path_escapes_ok(path))
        return server_error(conn, 400, "malformed percent-encoding in the path", NULL);
    for (i = 0; i < server_routes_count && !route; i++) {
        const struct server_route *r = &server_routes[i];
        if (!server_match(r->pattern, path, rq))
            continue;
        if (strcmp(r->method, method) == 0 ||
            (r->auth == SERVER_AUTH_ASSET && strcmp(method, "HEAD") == 0)) {
            route = r;
        } else if (!strstr(allow, r->method)) {
            if (allow[0])
                str_copy(allow + strlen(allow), ", ", sizeof(allow) - strlen(allow));
            str_copy(allow + strlen(allow), r->method, sizeof(allow) - strlen(allow));
        }
    }
    /* Under /api, who asks comes before what exists: an unauthenticated
     * client learns nothing about routes, not even from a 404 or 405. */
    if ((route && route->auth == SERVER_AUTH_USER) || (!route && server_is_api(path))) {
        if (server_authenticate(srv, conn, &rq->caller) < 0)
            return server_error(conn, 401, "unauthorized", auth_hdr);
        if ((status = server_csrf_check(srv, conn, &rq->caller)) != 0)
            return status;
    }
    if (route) {
        if (route->auth == SERVER_AUTH_USER &&
            (status = server_route_allowed(srv, conn, route, rq)) != 0)
            return status;
        return route->handler(srv, conn, rq->nargs ? rq->args[0] : NULL);
    }
    if (allow[0]) {
        const char *const hdr[] = {"Allow", allow, NULL};
        return server_error(conn, 405, "method not allowed", hdr);
    }
    /* A client-side address of the UI (/applications/NAME): the page,
     * which then routes itself. */
    if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && server_is_page_path(path))
        return server_get_index(srv, conn, NULL);
    return server_error(conn, 404, "not found", NULL);
}

/* A request path fit for a log line: bounded, control bytes replaced so a
 * crafted URL cannot forge log lines. */
static void server_log_path(char *out, size_t len, const char *path)
{
    size_t i;
    for (i = 0; path[i] && i + 1 < len; i++)
        out[i] = ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) ? '?' : path[i];
    out[i] = '\0';
}

static int server_on_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    server *srv = ri->user_data;
    char path[SERVER_LOG_PATH_MAX + 1];
    struct server_request *rq = xcalloc(1, sizeof(*rq));
    int status;

    mg_set_user_connection_data(conn, rq);
    status = server_dispatch(srv, conn, ri, rq);
    mg_set_user_connection_data(conn, NULL);
    server_caller_dispose(&rq->caller);
    free(rq);

    /* Method, path and status only: headers carry the token. */
    server_log_path(path, sizeof(path), ri->local_uri ? ri->local_uri : "");
    log_debug("http %s %s %d", ri->request_method ? ri->request_method : "-", path, status);
    return status;
}

/* Errors CivetWeb raises before a request reaches us. Its own message may
 * quote the request, so only a fixed text per status goes out; msg is
 * only used to tell its cases apart. CivetWeb 1.15 reports a header block
 * over max_request_size as 400 "Malformed message" (its 413 branch is not
 * reachable), so that text names both causes. */
static int server_on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    static const struct {
        int status;
        const char *civetweb_msg; /* NULL: any */
        const char *text;
    } texts[] = {
        {400, "Malformed message", "malformed request, or request headers over 16384 bytes"},
        {400, NULL, "bad request"},
        {413, NULL, "request headers over 16384 bytes"},
        {431, NULL, "request headers over 16384 bytes"},
        {500, NULL, "internal error"},
        {505, NULL, "HTTP version not supported"},
    };
    static const char *const close_hdr[] = {"Connection", "close", NULL};
    const char *text = "request refused";
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (texts[i].status == status &&
            (!texts[i].civetweb_msg || (msg && !strcmp(texts[i].civetweb_msg, msg)))) {
            text = texts[i].text;
            break;
        }
    }
    mg_disable_keep_alive(conn);
    log_debug("http refused %d: %s", status, text);
    server_error(conn, status, text, close_hdr);
    return 0;
}

static int server_on_log(const struct mg_connection *conn, const char *message)
{
    log_debug("civetweb: %s", message);
    return 1;
}

/*
 * Connections per client address. CivetWeb (as edgecd builds it, see
 * appliance/deps/deps.cmake) calls edgecd_civetweb_accept for each socket
 * it accepts and edgecd_civetweb_closed when it closes one it kept. The
 * hooks are process-wide, so the servers of the process register their
 * context here; a context that is not registered (yet) is let through.
 * Accepted sockets are bounded by the worker threads plus CivetWeb's
 * queue, so a small table holds every address that has one.
 */
#define SERVER_ADDR_SLOTS 512
#define SERVER_MAX_SERVERS 8

struct server_addr_count {
    unsigned char addr[16]; /* IPv4 addresses as IPv4-mapped IPv6 */
    int count;
};

static pthread_mutex_t server_conn_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const struct mg_context *ctx;
    int per_address;
    struct server_addr_count *slots; /* SERVER_ADDR_SLOTS */
} server_registry[SERVER_MAX_SERVERS];

static void server_addr_key(const struct sockaddr *sa, unsigned char out[16])
{
    memset(out, 0, 16);
    if (sa->sa_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

/* The slot of sa in ctx's table (made when make), or NULL; with the
 * lock held. */
static struct server_addr_count *server_addr_slot(const struct mg_context *ctx,
                                                  const struct sockaddr *sa, int make, int *limit)
{
    unsigned char key[16];
    struct server_addr_count *free_slot = NULL;
    size_t r, i;

    for (r = 0; r < SERVER_MAX_SERVERS; r++)
        if (server_registry[r].ctx == ctx)
            break;
    if (r == SERVER_MAX_SERVERS)
        return NULL;
    *limit = server_registry[r].per_address;
    server_addr_key(sa, key);
    for (i = 0; i < SERVER_ADDR_SLOTS; i++) {
        struct server_addr_count *c = &server_registry[r].slots[i];
        if (c->count > 0 && !memcmp(c->addr, key, 16))
            return c;
        if (c->count == 0 && !free_slot)
            free_slot = c;
    }
    if (make && free_slot)
        memcpy(free_slot->addr, key, 16);
    return make ? free_slot : NULL;
}

int edgecd_civetweb_accept(const struct mg_context *ctx, const struct sockaddr *sa);
void edgecd_civetweb_closed(const struct mg_context *ctx, const struct sockaddr *sa);

/* 1: keep the socket; 0: close it (its address holds its share). */
int edgecd_civetweb_accept(const struct mg_context *ctx, const struct sockaddr *sa)
{
    struct server_addr_count *c;
    int limit = 0, ok = 1;

    pthread_mutex_lock(&server_conn_mu);
    c = server_addr_slot(ctx, sa, 1, &limit);
    if (c && c->count >= limit)
        ok = 0;
    else if (c)
        c->count++;
    pthread_mutex_unlock(&server_conn_mu);
    if (!ok)
        log_debug("http: refused a connection: its address already holds %d", limit);
    return ok;
}

void edgecd_civetweb_closed(const struct mg_context *ctx, const struct sockaddr *sa)
{
    struct server_addr_count *c;
    int limit = 0;

    pthread_mutex_lock(&server_conn_mu);
    /* a socket accepted before its server registered was not counted */
    if ((c = server_addr_slot(ctx, sa, 0, &limit)) != NULL)
        c->count--;
    pthread_mutex_unlock(&server_conn_mu);
}

static void server_conn_register(const struct mg_context *ctx, int per_address)
{
    size_t r;
    pthread_mutex_lock(&server_conn_mu);
    for (r = 0; r < SERVER_MAX_SERVERS; r++) {
        if (!server_registry[r].ctx) {
            server_registry[r].ctx = ctx;
            server_registry[r].per_address = per_address;
            server_registry[r].slots = xcalloc(SERVER_ADDR_SLOTS, sizeof(struct server_addr_count));
            break;
        }
    }
    pthread_mutex_unlock(&server_conn_mu);
}

static void server_conn_unregister(const struct mg_context *ctx)
{
    size_t r;
    pthread_mutex_lock(&server_conn_mu);
    for (r = 0; r < SERVER_MAX_SERVERS; r++) {
        if (server_registry[r].ctx == ctx) {
            free(server_registry[r].slots);
            memset(&server_registry[r], 0, sizeof(server_registry[r]));
        }
    }
    pthread_mutex_unlock(&server_conn_mu);
}

/* CivetWeb's listening_ports for opts: each address of listen with "s"
 * (TLS) when https, then the redirect address as plain HTTP. */
static char *server_ports_spec(const struct server_options *opts)
{
    struct buf b = BUF_INIT;
    const char *p = opts->listen;

    if (!opts->tls)
        return xstrdup(opts->listen);
    while (*p) {
        size_t n = strcspn(p, ",");
        buf_printf(&b, "%s%.*ss", b.len ? "," : "", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (opts->redirect_listen && opts->redirect_listen[0])
        buf_printf(&b, ",%s", opts->redirect_listen);
    return buf_detach(&b);
}

/* CivetWeb's mbedTLS glue reads key and certificate from one file path
 * at start. Rather than write a second copy of the key to disk, the pair
 * goes into an anonymous memory file that CivetWeb opens by its /proc
 * name; the caller closes *fd once CivetWeb has started. */
static int server_tls_file(const struct server_tls *tls, int *fd, char *path, size_t len)
{
    size_t klen = strlen(tls->key_pem), clen = strlen(tls->cert_pem);

    *fd = memfd_create("edgecd-tls", MFD_CLOEXEC);
    if (*fd < 0)
        return err_set(ERR_IO, "server: memfd_create: %s", strerror(errno));
    if (write(*fd, tls->key_pem, klen) != (ssize_t)klen || write(*fd, "\n", 1) != 1 ||
        write(*fd, tls->cert_pem, clen) != (ssize_t)clen)
        return err_set(ERR_IO, "server: writing the TLS pair to memory: %s", strerror(errno));
    snprintf(path, len, "/proc/self/fd/%d", *fd);
    return 0;
}

int server_start(server **out, const struct server_options *opts, store *st)
{
    struct mg_callbacks cb;
    struct mg_init_data init;
    struct mg_error_data error;
    struct mg_server_port ports[8];
    char threads[16], timeout[16], errtext[256] = "", tls_path[64] = "";
    unsigned errcode = 0;
    server *srv;
    char *spec = NULL;
    int rc, tls_fd = -1, nports, i;

    *out = NULL;
    if (!opts || !opts->listen || !opts->listen[0])
        return err_set(ERR_INVALID, "server: no listen address");
    if (!opts->api_token || !opts->api_token[0])
        return err_set(ERR_INVALID, "server: no API token");
    if (opts->threads < 0 || opts->threads > 256)
        return err_set(ERR_INVALID, "server: threads %d out of range 0..256", opts->threads);
    if (opts->request_timeout_ms < 0 || opts->request_timeout_ms > 600000)
        return err_set(ERR_INVALID, "server: request_timeout_ms %d out of range 0..600000",
                       opts->request_timeout_ms);
    if (opts->per_address < 0 || opts->per_address > 1024)
        return err_set(ERR_INVALID, "server: per_address %d out of range 0..1024",
                       opts->per_address);
    if (!opts->tls && opts->redirect_listen && opts->redirect_listen[0])
        return err_set(ERR_INVALID, "server: a redirect port needs HTTPS");
    snprintf(threads, sizeof(threads), "%d",
             opts->threads ? opts->threads : SERVER_DEFAULT_THREADS);
    snprintf(timeout, sizeof(timeout), "%d",
             opts->request_timeout_ms ? opts->request_timeout_ms
                                      : SERVER_DEFAULT_REQUEST_TIMEOUT_MS);
    spec = server_ports_spec(opts);
    if (opts->tls && server_tls_file(opts->tls, &tls_fd, tls_path, sizeof(tls_path)) < 0) {
        rc = ERR_IO;
        if (tls_fd >= 0)
            close(tls_fd);
        free(spec);
        return rc;
    }
    const char *config[] = {
        "listening_ports",
        spec,
        "num_threads",
        threads,
        "request_timeout_ms",
        timeout,
        /* an idle kept-alive connection waits this long for the next
         * request (CivetWeb's default, written down) */
        "keep_alive_timeout_ms",
        "500",
        "connection_queue",
        SERVER_CONNECTION_QUEUE,
        "listen_backlog",
        SERVER_LISTEN_BACKLOG,
        "max_request_size",
        SERVER_MAX_HEADER,
        "enable_keep_alive",
        "yes",
        /* CivetWeb writes an answer in several small pieces (over TLS,
         * one record each); with Nagle's algorithm on, each answer then
         * waits for the client's delayed ACK, about 40 ms. */
        "tcp_nodelay",
        "1",
        /* Routes match the path as sent and decode each "*" segment on
         * its own, so an encoded '/' stays inside its segment. */
        "decode_url",
        "no",
        opts->tls ? "ssl_certificate" : NULL,
        tls_path,
        NULL,
    };

    srv = xcalloc(1, sizeof(*srv));
    srv->apps = server_app_cache_new();
    srv->st = st;
    srv->actions = opts->actions;
    srv->max_streams = (opts->threads ? opts->threads : SERVER_DEFAULT_THREADS) / 2;
    if (srv->max_streams < 1)
        srv->max_streams = 1;
    srv->https = opts->tls != NULL;
    srv->webhook_secrets = opts->webhook_secrets;
    srv->config = opts->config;
    srv->data_dir = opts->data_dir ? xstrdup(opts->data_dir) : NULL;
    srv->version = xstrdup(opts->version ? opts->version : "unknown");
    srv->app_label_key = xstrdup(opts->app_label_key ? opts->app_label_key : "");
    srv->started = time(NULL);
    srv->request_timeout_ms =
        opts->request_timeout_ms ? opts->request_timeout_ms : SERVER_DEFAULT_REQUEST_TIMEOUT_MS;
    util_sha256(opts->api_token, strlen(opts->api_token), srv->token_sha);
    memset(&cb, 0, sizeof(cb));
    cb.begin_request = server_on_request;
    cb.http_error = server_on_http_error;
    cb.log_message = server_on_log;
    memset(&init, 0, sizeof(init));
    init.callbacks = &cb;
    init.user_data = srv;
    init.configuration_options = config;
    memset(&error, 0, sizeof(error));
    error.code = &errcode;
    error.text = errtext;
    error.text_buffer_size = sizeof(errtext);

    mg_init_library(0);
    if ((rc = server_auth_init(srv, opts)) < 0) {
        if (tls_fd >= 0)
            close(tls_fd);
        goto fail;
    }
    srv->ctx = mg_start2(&init, &error);
    if (tls_fd >= 0)
        close(tls_fd); /* CivetWeb has read it (or failed to) */
    if (!srv->ctx) {
        rc = err_set(ERR_IO, "server: cannot listen on %s: %s", spec,
                     errtext[0] ? errtext : "unknown error");
        goto fail;
    }
    server_conn_register(srv->ctx,
                         opts->per_address ? opts->per_address : SERVER_DEFAULT_PER_ADDRESS);
    nports = mg_get_server_ports(srv->ctx, 8, ports);
    for (i = 0; i < nports; i++) {
        if (ports[i].is_ssl == srv->https && !srv->port)
            srv->port = ports[i].port;
        if (srv->https && !ports[i].is_ssl && !srv->redirect_port)
            srv->redirect_port = ports[i].port;
    }
    if (!srv->port) {
        rc = err_set(ERR_IO, "server: no listening port for %s", spec);
        goto fail;
    }
    free(spec);
    *out = srv;
    return 0;
fail:
    free(spec);
    server_stop(srv);
    return rc;
}

int server_port(const server *srv)
{
    return srv ? srv->port : 0;
}

int server_redirect_port(const server *srv)
{
    return srv ? srv->redirect_port : 0;
}

void server_stop(server *srv)
{
    if (!srv)
        return;
    /* streams notice within a second and end, so mg_stop can join their
     * threads */
    atomic_store(&srv->stopping, 1);
    if (srv->ctx) {
        mg_stop(srv->ctx);
        server_conn_unregister(srv->ctx);
    }
    /* Balances the mg_init_library in server_start, which ran whenever
     * a server object exists. */
    mg_exit_library();
    server_auth_dispose(srv);
    memset(srv->token_sha, 0, sizeof(srv->token_sha));
    server_app_cache_free(srv->apps);
    free(srv->data_dir);
    free(srv->version);
    free(srv->app_label_key);
    free(srv);
}

void server_lib_version(char *out, size_t len)
{
    snprintf(out, len, "CivetWeb %s", mg_version());
}
