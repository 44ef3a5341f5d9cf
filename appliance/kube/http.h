/*
 * A small HTTP/1.1 client over TCP or TLS (mbedTLS), used for the
 * Kubernetes API and by the CLI for edgecd's own API. One http_conn is one
 * keep-alive connection, used by one thread at a time (a caller wanting
 * concurrency keeps several: see kube/client.c's pool). Responses are read
 * whole into memory up to a maximum size (chunked and Content-Length).
 * TLS verifies the server certificate against the given CA chain and the
 * host name (or IP address SAN) unless insecure is set.
 *
 * Retrying is the caller's decision, so a failed request reports how far
 * it got (enum http_fate): whether the server can have seen it at all.
 */
#ifndef EDGECD_KUBE_HTTP_H
#define EDGECD_KUBE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct http_tls {
    const char *ca_pem; /* PEM CA bundle; NULL = none */
    size_t ca_pem_len;
    const char *client_cert_pem; /* client certificate; NULL = none */
    size_t client_cert_pem_len;
    const char *client_key_pem;
    size_t client_key_pem_len;
    int insecure;            /* skip server verification */
    const char *server_name; /* overrides the URL host for SNI/verify */
};

struct http_options {
    int connect_timeout_ms;
    int io_timeout_ms;
    size_t max_response; /* bytes of body; over it: ERR_TOOLARGE */
};
#define HTTP_OPTIONS_INIT                                                                          \
    {                                                                                              \
        5000, 30000, 64u << 20                                                                     \
    }

typedef struct http_conn http_conn;

/* base_url: "https://host:port" or "http://host:port" (a path is kept as a
 * prefix for every request). tls may be NULL for http. The struct is
 * copied. Connects lazily. ERR_INVALID for a bad URL or PEM. */
int http_conn_new(http_conn **out, const char *base_url, const struct http_tls *tls,
                  const struct http_options *opts);
void http_conn_free(http_conn *c);

struct http_response {
    int status;
    struct buf body;
    char *content_type; /* owned; may be NULL */
    char *retry_after;  /* owned; may be NULL */
    char *etag;         /* owned; may be NULL (S3 names uploaded parts by it) */
    char *set_cookie;   /* owned; the last Set-Cookie, may be NULL (edgecd login) */
};
void http_response_init(struct http_response *r);
void http_response_dispose(struct http_response *r);

/* Send one request; path starts with '/' and includes any query. headers is
 * a NULL-terminated list of "Name: value" strings (may be NULL). body may
 * be NULL. Reuses the connection, reconnecting if the server closed an
 * idle one (after sending, only for GET, HEAD, PUT, DELETE, OPTIONS).
 * Returns 0 with resp filled for any HTTP status; ERR_IO,
 * ERR_TIMEOUT, ERR_TOOLARGE on transport failures. */
int http_request(http_conn *c, const char *method, const char *path, const char *const *headers,
                 const void *body, size_t body_len, struct http_response *resp);

/* How far a request got, for a caller deciding whether it may send it
 * again. */
enum http_fate {
    HTTP_FATE_ANSWERED = 0, /* a whole response arrived (any status) */
    HTTP_FATE_REFUSED,      /* bad input or a permanent failure (certificate
                               verification, TLS alert): retrying cannot help */
    HTTP_FATE_NOT_SENT,     /* connecting failed, or the connection broke
                               before one byte of the request left: the server
                               never saw it */
    HTTP_FATE_SENT,         /* some or all of the request was sent, no byte of
                               the response came back (reset, EOF, timeout) */
    HTTP_FATE_PARTIAL,      /* part of a response arrived, then it failed */
};

/* One request with the knobs http_request does not have. */
struct http_req {
    const char *method;
    const char *path;           /* starts with '/', includes any query */
    const char *const *headers; /* NULL-terminated "Name: value"; may be NULL */
    const void *body;           /* may be NULL */
    size_t body_len;
    int64_t deadline_ms; /* time_mono_ms() by which it must be done; 0 = none */
    int idempotent;      /* repeating it is harmless: a reused connection found
                            dead after sending may be retried on a fresh one */
};

/* Send one request as http_request does, bounded by rq->deadline_ms on
 * top of the connect and per-I/O timeouts (ERR_TIMEOUT when it passes).
 * A kept-alive connection the server closed while idle is noticed before
 * sending and replaced; one that fails after sending is retried once on a
 * fresh connection only when rq->idempotent and no response byte came.
 * *fate (may be NULL) tells how far the request got, on success and on
 * failure. */
int http_request_ex(http_conn *c, const struct http_req *rq, struct http_response *resp,
                    enum http_fate *fate);

/* 1 when c holds an open connection (after a keep-alive response). */
int http_conn_is_open(const http_conn *c);

/* Percent-encode s for use in a query value; appended to out. */
void http_query_escape(struct buf *out, const char *s);

/* ---- streamed responses (watches) ----
 *
 * A response whose body is read as it arrives, for long-lived streams such
 * as a Kubernetes watch. The stream borrows the connection: no other
 * request may use c until http_stream_close. */
typedef struct http_stream http_stream;

/* Send a GET for path and read the response head. For a 2xx answer *out
 * is a stream over the body (owned by the caller, closed with
 * http_stream_close) and resp->status is set with an empty body. For any
 * other status *out stays NULL and resp holds the whole body (bounded by
 * max_response), the connection ready for reuse. ERR_IO, ERR_TIMEOUT,
 * ERR_INVALID (bad framing) on transport failures. */
int http_stream_open(http_stream **out, http_conn *c, const char *path, const char *const *headers,
                     struct http_response *resp);

/* Wait up to wait_ms for body bytes (or the end of the body) to be
 * readable without blocking: 1 yes, 0 not yet, <0 error. */
int http_stream_wait(http_stream *s, int wait_ms);

/* Read up to cap bytes of the decoded body (chunked framing removed) into
 * dst: returns the number of bytes (> 0), 0 at the end of the body, or
 * ERR_IO (the peer cut the body short), ERR_TIMEOUT, ERR_INVALID. Blocks
 * up to the connection's I/O timeout; call http_stream_wait first to bound
 * the wait. */
long http_stream_read(http_stream *s, void *dst, size_t cap);

/* End the stream. The connection is kept for reuse only when the body was
 * read to its end and the server allows keep-alive; otherwise it is
 * closed. Accepts NULL. */
void http_stream_close(http_stream *s);

/* Close c's connection now, if open, giving back its socket and TLS
 * buffers; the next request connects again. For a connection that will
 * sit unused for long. Not while a stream is open on c. */
void http_conn_close_idle(http_conn *c);

#endif
