/*
 * A small HTTPS/1.1 server for kubesim: mbedTLS TLS 1.2 with optional
 * client certificates checked against kubesim's CA, a thread per
 * connection (at most HTTPD_MAX_CONN at once), keep-alive, request bodies
 * by Content-Length up to HTTPD_MAX_BODY. CivetWeb was not used because its
 * mbedTLS mode cannot verify client certificates, and client-certificate
 * auth is part of what kubesim must imitate.
 *
 * Requests are handed to one handler function, which may run on many
 * connection threads at once; it must do its own locking. A response is
 * either buffered whole (status, body) or, for watches, streamed: the
 * handler names a stream function that the connection thread then runs
 * after the handler has returned (so outside whatever lock the handler
 * took), writing chunks until it ends or the client goes away.
 */
#ifndef KUBESIM_HTTPD_H
#define KUBESIM_HTTPD_H

#include <signal.h>
#include <stddef.h>

#include "certs.h"
#include "core/buf.h"

/* Watches hold a connection each for minutes, so the cap is generous. */
#define HTTPD_MAX_CONN 256
#define HTTPD_MAX_BODY (8u << 20)
#define HTTPD_MAX_HEADER (64u << 10)

typedef struct httpd httpd;

struct httpd_request {
    char *method;
    char *path;  /* percent-decoded, without the query */
    char *query; /* raw query string, "" when none */
    char *content_type;
    char *accept;
    char *authorization;
    char *user_agent;
    char *body; /* NUL-terminated; body_len bytes */
    size_t body_len;
    int client_cert; /* 1 if the client presented a certificate our CA signed */
};

typedef struct httpd_stream httpd_stream;

/* Writes a streamed response with httpd_stream_write. Returns 0 to end the
 * response properly (terminating chunk, connection kept) or -1 to close
 * the connection abruptly without it. Runs on the connection thread. */
typedef int (*httpd_stream_fn)(void *ctx, httpd_stream *s);

struct httpd_response {
    int status;
    const char *content_type; /* static string; default application/json */
    struct buf body;
    /* Streaming: when stream is set, body is ignored; the head goes out
     * with Transfer-Encoding: chunked, then stream(stream_ctx, s) runs,
     * then stream_free(stream_ctx) (always, even if the client is gone
     * before the head is written). The response owns stream_ctx. */
    httpd_stream_fn stream;
    void (*stream_free)(void *ctx);
    void *stream_ctx;
};

typedef void (*httpd_handler)(void *ctx, const struct httpd_request *req,
                              struct httpd_response *res);

/* Listen on host:port (port 0 picks a free one) with c's server chain and
 * key, trusting c's CA for client certificates. c must outlive the server.
 * 0 or ERR_IO/ERR_GENERIC. */
int httpd_new(httpd **out, const char *host, int port, struct certs *c, httpd_handler handler,
              void *ctx);
/* The port actually bound. */
int httpd_port(const httpd *h);
/* Accept connections until *stop becomes non-zero, then close every open
 * connection and wait for their threads. Main thread only. */
void httpd_run(httpd *h, volatile sig_atomic_t *stop);
void httpd_free(httpd *h);

/* Send len bytes as one chunk, at once. 0, or -1 when the client is gone
 * (or the stream was cut); the stream function should then return. Only
 * the stream function's thread. */
int httpd_stream_write(httpd_stream *s, const void *data, size_t len);
/* 1 while the client is still connected and the server is not stopping;
 * never blocks. Only the stream function's thread. */
int httpd_stream_alive(httpd_stream *s);
/* Close the connection under the stream at once (shutdown of its socket):
 * the client sees the stream end without its terminating chunk, and the
 * stream's next write fails. Any thread, while the stream function has not
 * returned (the caller must know that, e.g. from a registry it keeps). */
void httpd_stream_cut(httpd_stream *s);

/* The decoded value of query parameter name; a new string the caller
 * frees, or NULL if absent. */
char *httpd_query_get(const struct httpd_request *req, const char *name);

#endif
