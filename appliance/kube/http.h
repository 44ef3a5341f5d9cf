/*
 * A small HTTP/1.1 client over TCP or TLS (mbedTLS), used for the
 * Kubernetes API and by the CLI for edgecd's own API. One http_conn is one
 * keep-alive connection, used by one thread at a time. Responses are read
 * whole into memory up to a maximum size (chunked and Content-Length).
 * TLS verifies the server certificate against the given CA chain and the
 * host name (or IP address SAN) unless insecure is set.
 */
#ifndef EDGECD_KUBE_HTTP_H
#define EDGECD_KUBE_HTTP_H

#include <stddef.h>

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
};
void http_response_init(struct http_response *r);
void http_response_dispose(struct http_response *r);

/* Send one request; path starts with '/' and includes any query. headers is
 * a NULL-terminated list of "Name: value" strings (may be NULL). body may
 * be NULL. Reuses the connection, reconnecting once if the server closed an
 * idle one. Returns 0 with resp filled for any HTTP status; ERR_IO,
 * ERR_TIMEOUT, ERR_TOOLARGE on transport failures. */
int http_request(http_conn *c, const char *method, const char *path, const char *const *headers,
                 const void *body, size_t body_len, struct http_response *resp);

/* Percent-encode s for use in a query value; appended to out. */
void http_query_escape(struct buf *out, const char *s);

#endif
