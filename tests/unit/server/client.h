/*
 * The tests' HTTP client for the server tests: deliberately dumb (one
 * request per connection, read to EOF) so what is checked is the bytes a
 * real client would see. Every answer is also kept in all_responses, so a
 * test can prove a secret never came back in any of them. Include once
 * per test program, after setting nothing: port is set by main.
 */
#ifndef EDGECD_TESTS_UNIT_SERVER_CLIENT_H
#define EDGECD_TESTS_UNIT_SERVER_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/buf.h"
#include "test.h"

static int port;
static struct buf all_responses = BUF_INIT;

struct resp {
    int status;
    char *raw;        /* whole answer */
    size_t len;       /* of raw (a gzip body holds NUL bytes) */
    const char *body; /* into raw */
};

static inline void resp_dispose(struct resp *r)
{
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

/* Send req (len bytes) on a new connection from source address src
 * (NULL: any; another 127.x address lets a test be another client) and
 * read the answer to EOF. status is 0 when the server closed without a
 * status line. */
static void http_raw_from(const char *src, const char *req, size_t len, struct resp *out)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t off = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char *sep;

    memset(out, 0, sizeof(*out));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (src) {
        struct sockaddr_in from;
        memset(&from, 0, sizeof(from));
        from.sin_family = AF_INET;
        inet_pton(AF_INET, src, &from.sin_addr);
        bind(fd, (struct sockaddr *)&from, sizeof(from));
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        out->raw = xstrdup("");
        out->body = out->raw;
        return;
    }
    /* The server may answer and close before taking everything (that is
     * the point of some tests): stop sending then, keep reading. */
    while (off < len) {
        n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        buf_put(&b, chunk, (size_t)n);
    close(fd);
    out->len = b.len;
    out->raw = buf_detach(&b);
    sscanf(out->raw, "HTTP/1.%*c %d", &out->status);
    sep = strstr(out->raw, "\r\n\r\n");
    out->body = sep ? sep + 4 : "";
    buf_puts(&all_responses, out->raw);
    buf_puts(&all_responses, "\n----\n");
}

/* The value of header name in r, or NULL; a new string. */
static inline char *resp_header(const struct resp *r, const char *name)
{
    const char *p = strstr(r->raw, "\r\n"), *end = r->body;
    size_t n = strlen(name);

    while (p && p < end) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            return xstrndup(v, e ? (size_t)(e - v) : strlen(v));
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static inline void http_raw(const char *req, size_t len, struct resp *out)
{
    http_raw_from(NULL, req, len, out);
}

#endif
