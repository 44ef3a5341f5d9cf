/*
 * A small HTTPS/1.1 server for kubesim: mbedTLS TLS 1.2 with optional
 * client certificates checked against kubesim's CA, a thread per
 * connection (at most HTTPD_MAX_CONN at once), keep-alive, request bodies
 * by Content-Length up to HTTPD_MAX_BODY. CivetWeb was not used because its
 * mbedTLS mode cannot verify client certificates, and client-certificate
 * auth is part of what kubesim must imitate.
 *
 * Requests are handed to one handler function, which may run on many
 * connection threads at once; it must do its own locking.
 */
#ifndef KUBESIM_HTTPD_H
#define KUBESIM_HTTPD_H

#include <signal.h>
#include <stddef.h>

#include "certs.h"
#include "core/buf.h"

#define HTTPD_MAX_CONN 64
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

struct httpd_response {
    int status;
    const char *content_type; /* static string; default application/json */
    struct buf body;
    char headers[64]; /* extra header lines, each ending "\r\n"; "" for none */
    int drop;         /* close the connection without answering (fault injection) */
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

/* The decoded value of query parameter name; a new string the caller
 * frees, or NULL if absent. */
char *httpd_query_get(const struct httpd_request *req, const char *name);

#endif
