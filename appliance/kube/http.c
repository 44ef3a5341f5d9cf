/*
 * HTTP/1.1 client over TCP or mbedTLS. The design decisions a reader would
 * otherwise have to dig out:
 *
 * - The socket is blocking with SO_RCVTIMEO/SO_SNDTIMEO set to the I/O
 *   timeout once connected; only connect() is non-blocking (with poll) so
 *   its timeout is exact. Our own BIO callbacks turn EAGAIN into a timeout
 *   instead of mbedTLS's WANT_READ, which would spin.
 * - mbedTLS 2.28 checks only dNSName/CN against the name given to
 *   mbedtls_ssl_set_hostname, never iPAddress SANs. For an IP literal we
 *   therefore send no SNI (RFC 6066 forbids IP literals there) and check
 *   the leaf certificate's iPAddress SANs ourselves in the verify callback,
 *   by walking the raw extension: the parsed subject_alt_names list of
 *   2.28 does not promise to keep iPAddress entries.
 * - Every wait for the socket is a poll() bounded by the smaller of the
 *   I/O timeout and what is left of the request's deadline, so a server
 *   that trickles one byte at a time cannot stretch a request past it.
 * - A reused keep-alive connection may have been closed by the server
 *   while idle. Before sending, a connection that is readable (EOF, reset,
 *   or stray bytes) is replaced by a fresh one: the request never left.
 *   A close that races the request is noticed only after sending; then the
 *   request is sent again on a fresh connection only when the caller says
 *   it is idempotent and not one byte of the response arrived.
 * - Response bodies are read whole, bounded by max_response; a response
 *   over the limit also costs the connection, since draining it would
 *   mean reading what we just refused.
 */
#include "kube/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

/* Status line plus headers of one response; far above what any API server
 * sends, low enough that a hostile peer cannot make us buffer much. */
#define HTTP_MAX_HEAD 65536
#define HTTP_MAX_LINE 8192

struct http_conn {
    char *url;         /* as given, for messages */
    char *host;        /* without IPv6 brackets */
    char *port;        /* service for getaddrinfo */
    char *host_header; /* Host: value */
    char *prefix;      /* path prefix without trailing '/'; "" if none */
    int use_tls;
    struct http_options opts;

    /* TLS configuration, built once in http_conn_new. */
    int insecure;
    char *verify_name; /* server_name or host */
    int verify_ip_len; /* 4 or 16 when verify_name is an IP literal, else 0 */
    unsigned char verify_ip[16];
    int ip_mismatch; /* set by the verify callback */
    int have_ca, have_own;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;

    /* One live connection. */
    int fd;         /* -1 when not connected */
    int ssl_active; /* ssl below is set up for fd */
    int timed_out;  /* set by the BIO callbacks */
    int sys_errno;  /* errno of the last failed send/recv */
    mbedtls_ssl_context ssl;
    unsigned char rbuf[16384];
    size_t rpos, rlen;
    size_t got; /* bytes of the current response received */

    /* The current request (http_request_ex). */
    int64_t deadline_ms; /* 0 = none */
    int deadline_hit;    /* an I/O wait was cut short by deadline_ms */
    size_t sent;         /* bytes of the current request handed to the kernel */
    int tls_fatal;       /* the last handshake failed for good (verification, alert) */
};

void http_response_init(struct http_response *r)
{
    r->status = 0;
    buf_init(&r->body);
    r->content_type = NULL;
    r->retry_after = NULL;
    r->etag = NULL;
}

void http_response_dispose(struct http_response *r)
{
    if (!r)
        return;
    buf_dispose(&r->body);
    free(r->content_type);
    free(r->retry_after);
    free(r->etag);
    r->content_type = r->retry_after = r->etag = NULL;
    r->status = 0;
}

void http_query_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            buf_putc(out, (char)ch);
        } else {
            buf_putc(out, '%');
            buf_putc(out, hex[ch >> 4]);
            buf_putc(out, hex[ch & 15]);
        }
    }
}

/* ---- URL ---- */

static int http_parse_url(http_conn *c, const char *url)
{
    const char *p, *hend, *pstart;
    size_t hlen;

    if (str_has_prefix(url, "https://")) {
        c->use_tls = 1;
        p = url + 8;
    } else if (str_has_prefix(url, "http://")) {
        c->use_tls = 0;
        p = url + 7;
    } else {
        return err_set(ERR_INVALID, "%s: URL must start with https:// or http://", url);
    }
    pstart = p + strcspn(p, "/?#");
    if (*pstart == '?' || *pstart == '#')
        return err_set(ERR_INVALID, "%s: URL must not carry a query or fragment", url);
    if (memchr(p, '@', (size_t)(pstart - p)))
        return err_set(ERR_INVALID, "%s: credentials in the URL are not supported", url);
    if (*p == '[') {
        hend = memchr(p, ']', (size_t)(pstart - p));
        if (!hend)
            return err_set(ERR_INVALID, "%s: unterminated IPv6 address", url);
        c->host = xstrndup(p + 1, (size_t)(hend - p - 1));
        hend++;
    } else {
        hend = memchr(p, ':', (size_t)(pstart - p));
        if (!hend)
            hend = pstart;
        c->host = xstrndup(p, (size_t)(hend - p));
    }
    if (c->host[0] == '\0')
        return err_set(ERR_INVALID, "%s: missing host", url);
    if (hend < pstart) {
        long port;
        char *ps;
        int rc;
        if (*hend != ':')
            return err_set(ERR_INVALID, "%s: junk after the host", url);
        ps = xstrndup(hend + 1, (size_t)(pstart - hend - 1));
        rc = str_to_long(ps, 1, 65535, "port", &port);
        free(ps);
        if (rc < 0)
            return err_prefix(rc, "%s", url);
        c->port = xasprintf("%ld", port);
    } else {
        c->port = xstrdup(c->use_tls ? "443" : "80");
    }
    hlen = (size_t)(pstart - p);
    c->host_header = xstrndup(p, hlen);
    c->prefix = xstrdup(pstart);
    hlen = strlen(c->prefix);
    while (hlen > 0 && c->prefix[hlen - 1] == '/')
        c->prefix[--hlen] = '\0';
    return 0;
}

/* ---- TLS configuration ---- */

static void http_tls_error(char *out, size_t n, int ret)
{
    mbedtls_strerror(ret, out, n);
}

/* PEM input must be NUL-terminated with the NUL counted; DER must not.
 * Callers hand us lengths without the NUL, so copy when it looks like PEM. */
static int http_parse_crt(mbedtls_x509_crt *crt, const char *data, size_t len, const char *what)
{
    int ret;
    char msg[128];
    if (len > 0 && memmem(data, len, "-----BEGIN", 10)) {
        char *z = xstrndup(data, len);
        ret = mbedtls_x509_crt_parse(crt, (const unsigned char *)z, strlen(z) + 1);
        free(z);
    } else {
        ret = mbedtls_x509_crt_parse_der(crt, (const unsigned char *)data, len);
    }
    if (ret < 0) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_INVALID, "%s: %s", what, msg);
    }
    if (ret > 0)
        return err_set(ERR_INVALID, "%s: %d certificate(s) could not be parsed", what, ret);
    return 0;
}

static int http_parse_key(mbedtls_pk_context *pk, const char *data, size_t len)
{
    int ret;
    char msg[128];
    if (len > 0 && memmem(data, len, "-----BEGIN", 10)) {
        char *z = xstrndup(data, len);
        ret = mbedtls_pk_parse_key(pk, (const unsigned char *)z, strlen(z) + 1, NULL, 0);
        mbedtls_platform_zeroize(z, strlen(z));
        free(z);
    } else {
        ret = mbedtls_pk_parse_key(pk, (const unsigned char *)data, len, NULL, 0);
    }
    if (ret != 0) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_INVALID, "client key: %s", msg);
    }
    return 0;
}

/* 1 if the certificate's subjectAltName extension lists the iPAddress
 * ip (len 4 or 16). Walks crt->v3_ext: [3] { SEQUENCE OF Extension }. */
static int http_crt_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, int ip_len)
{
    unsigned char *p = crt->v3_ext.p;
    const unsigned char *end;
    size_t len;

    if (!p || crt->v3_ext.len == 0)
        return 0;
    end = p + crt->v3_ext.len;
    /* Some versions point at the [3] wrapper, some just inside it. */
    if (*p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3)) {
        if (mbedtls_asn1_get_tag(&p, end, &len,
                                 MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3))
            return 0;
        end = p + len;
    }
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return 0;
    end = p + len;
    while (p < end) {
        const unsigned char *ext_end;
        mbedtls_x509_buf oid;
        int critical = 0;
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return 0;
        ext_end = p + len;
        oid.tag = MBEDTLS_ASN1_OID;
        if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
            return 0;
        oid.p = p;
        p += oid.len;
        if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN &&
            mbedtls_asn1_get_bool(&p, ext_end, &critical))
            return 0;
        if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING))
            return 0;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) == 0) {
            const unsigned char *san_end;
            if (mbedtls_asn1_get_tag(&p, p + len, &len,
                                     MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
                return 0;
            san_end = p + len;
            while (p < san_end) {
                unsigned char tag = *p++;
                if (mbedtls_asn1_get_len(&p, san_end, &len))
                    return 0;
                if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == (size_t)ip_len &&
                    memcmp(p, ip, len) == 0)
                    return 1;
                p += len;
            }
            return 0;
        }
        p = (unsigned char *)ext_end;
    }
    return 0;
}

static int http_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    http_conn *c = ctx;
    if (depth == 0 && c->verify_ip_len > 0 &&
        !http_crt_has_ip(crt, c->verify_ip, c->verify_ip_len)) {
        c->ip_mismatch = 1;
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    }
    return 0;
}

static int http_tls_setup(http_conn *c, const struct http_tls *tls)
{
    static const char pers[] = "edgecd-http";
    int ret, rc;
    char msg[128];

    c->insecure = tls ? tls->insecure : 0;
    c->verify_name =
        xstrdup(tls && tls->server_name && tls->server_name[0] ? tls->server_name : c->host);
    if (inet_pton(AF_INET, c->verify_name, c->verify_ip) == 1)
        c->verify_ip_len = 4;
    else if (inet_pton(AF_INET6, c->verify_name, c->verify_ip) == 1)
        c->verify_ip_len = 16;

    ret = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                                (const unsigned char *)pers, sizeof(pers) - 1);
    if (ret != 0) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_IO, "%s: seeding the random generator: %s", c->url, msg);
    }
    ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_GENERIC, "%s: TLS configuration: %s", c->url, msg);
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    if (tls && tls->ca_pem && tls->ca_pem_len > 0) {
        if ((rc = http_parse_crt(&c->ca, tls->ca_pem, tls->ca_pem_len, "CA certificate")) < 0)
            return err_prefix(rc, "%s", c->url);
        c->have_ca = 1;
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    }
    if (tls && tls->client_cert_pem && tls->client_cert_pem_len > 0) {
        if (!tls->client_key_pem || tls->client_key_pem_len == 0)
            return err_set(ERR_INVALID, "%s: client certificate without a client key", c->url);
        if ((rc = http_parse_crt(&c->own_cert, tls->client_cert_pem, tls->client_cert_pem_len,
                                 "client certificate")) < 0)
            return err_prefix(rc, "%s", c->url);
        if ((rc = http_parse_key(&c->own_key, tls->client_key_pem, tls->client_key_pem_len)) < 0)
            return err_prefix(rc, "%s", c->url);
        ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->own_cert, &c->own_key);
        if (ret != 0) {
            http_tls_error(msg, sizeof(msg), ret);
            return err_set(ERR_INVALID, "%s: client certificate: %s", c->url, msg);
        }
        c->have_own = 1;
    }
    if (c->insecure) {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        if (!c->have_ca)
            return err_set(ERR_INVALID,
                           "%s: no CA certificate to verify the server with (and insecure is off)",
                           c->url);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_verify(&c->conf, http_verify_cb, c);
    }
    return 0;
}

int http_conn_new(http_conn **out, const char *base_url, const struct http_tls *tls,
                  const struct http_options *opts)
{
    static const struct http_options defaults = HTTP_OPTIONS_INIT;
    http_conn *c = xcalloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    c->fd = -1;
    c->url = xstrdup(base_url);
    c->opts = opts ? *opts : defaults;
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own_cert);
    mbedtls_pk_init(&c->own_key);
    if ((rc = http_parse_url(c, base_url)) < 0)
        goto fail;
    if (c->use_tls && (rc = http_tls_setup(c, tls)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    http_conn_free(c);
    return rc;
}

/* ---- the socket ---- */

static void http_close(http_conn *c)
{
    if (c->ssl_active) {
        /* Best effort: a close_notify lets the server log a clean close. */
        if (c->fd >= 0)
            mbedtls_ssl_close_notify(&c->ssl);
        mbedtls_ssl_free(&c->ssl);
        c->ssl_active = 0;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rpos = c->rlen = 0;
}

void http_conn_free(http_conn *c)
{
    if (!c)
        return;
    http_close(c);
    mbedtls_pk_free(&c->own_key);
    mbedtls_x509_crt_free(&c->own_cert);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c->url);
    free(c->host);
    free(c->port);
    free(c->host_header);
    free(c->prefix);
    free(c->verify_name);
    free(c);
}

static int http_connect_addr(http_conn *c, const struct addrinfo *ai, int64_t deadline, int *out_fd)
{
    int fd, err = 0, one = 1;
    socklen_t elen = sizeof(err);
    struct timeval tv;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            err = errno;
            close(fd);
            return -err;
        }
        for (;;) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int64_t left = deadline - time_mono_ms();
            int n;
            if (left <= 0) {
                close(fd);
                return -ETIMEDOUT;
            }
            n = poll(&pfd, 1, (int)left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                err = errno;
                close(fd);
                return -err;
            }
            if (n == 0)
                continue; /* the loop head sees the deadline */
            break;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err != 0) {
            close(fd);
            return -err;
        }
    }
    /* Back to blocking, with the I/O timeout enforced by the kernel. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    tv.tv_sec = c->opts.io_timeout_ms / 1000;
    tv.tv_usec = (c->opts.io_timeout_ms % 1000) * 1000;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out_fd = fd;
    return 0;
}

/* Wait until fd is ready for events, within the I/O timeout and the
 * request deadline. 0 = ready; otherwise timed_out (and deadline_hit) is
 * set and MBEDTLS_ERR_SSL_TIMEOUT returned. */
static int http_wait(http_conn *c, short events)
{
    int64_t until = time_mono_ms() + c->opts.io_timeout_ms;
    int by_deadline = 0;
    if (c->deadline_ms > 0 && c->deadline_ms < until) {
        until = c->deadline_ms;
        by_deadline = 1;
    }
    for (;;) {
        struct pollfd pfd = {c->fd, events, 0};
        int64_t left = until - time_mono_ms();
        int n;
        if (left <= 0) {
            c->timed_out = 1;
            c->deadline_hit = by_deadline;
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
        n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            c->sys_errno = errno;
            return MBEDTLS_ERR_NET_RECV_FAILED;
        }
    }
}

static int http_bio_send(void *ctx, const unsigned char *data, size_t len)
{
    http_conn *c = ctx;
    int w = http_wait(c, POLLOUT);
    if (w != 0)
        return w;
    for (;;) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0) {
            c->sent += (size_t)n;
            return (int)n;
        }
        if (errno == EINTR)
            continue;
        c->sys_errno = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->timed_out = 1;
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int http_bio_recv(void *ctx, unsigned char *data, size_t len)
{
    http_conn *c = ctx;
    int w = http_wait(c, POLLIN);
    if (w != 0)
        return w;
    for (;;) {
        ssize_t n = recv(c->fd, data, len, 0);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        c->sys_errno = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->timed_out = 1;
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
        if (errno == ECONNRESET)
            return MBEDTLS_ERR_NET_CONN_RESET;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

static int http_handshake(http_conn *c)
{
    int ret;
    char msg[256];

    mbedtls_ssl_init(&c->ssl);
    c->ssl_active = 1;
    if ((ret = mbedtls_ssl_setup(&c->ssl, &c->conf)) != 0) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_GENERIC, "%s: TLS setup: %s", c->url, msg);
    }
    /* An IP literal gets no SNI and no name check by mbedTLS; the verify
     * callback checks the iPAddress SAN instead. */
    if (c->verify_ip_len == 0 && (ret = mbedtls_ssl_set_hostname(&c->ssl, c->verify_name)) != 0) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_INVALID, "%s: TLS server name %s: %s", c->url, c->verify_name, msg);
    }
    mbedtls_ssl_set_bio(&c->ssl, c, http_bio_send, http_bio_recv, NULL);
    c->ip_mismatch = 0;
    while ((ret = mbedtls_ssl_handshake(&c->ssl)) != 0) {
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (c->timed_out && c->deadline_hit)
            return err_set(ERR_TIMEOUT, "%s: TLS handshake: the request deadline passed", c->url);
        if (c->timed_out)
            return err_set(ERR_TIMEOUT, "%s: TLS handshake timed out after %d ms", c->url,
                           c->opts.io_timeout_ms);
        /* A dropped connection is worth another try; anything the TLS
         * layer itself decided (verification, alerts) is not. */
        c->tls_fatal = ret != MBEDTLS_ERR_NET_SEND_FAILED && ret != MBEDTLS_ERR_NET_RECV_FAILED &&
                       ret != MBEDTLS_ERR_NET_CONN_RESET && ret != MBEDTLS_ERR_SSL_CONN_EOF;
        if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
            char *nl;
            if (c->ip_mismatch)
                return err_set(ERR_IO,
                               "%s: server certificate verification failed: no subjectAltName "
                               "for IP address %s",
                               c->url, c->verify_name);
            if (flags == MBEDTLS_X509_BADCERT_CN_MISMATCH)
                return err_set(ERR_IO,
                               "%s: server certificate verification failed: the certificate is "
                               "not valid for %s",
                               c->url, c->verify_name);
            mbedtls_x509_crt_verify_info(msg, sizeof(msg), "", flags);
            while ((nl = strchr(msg, '\n')) != NULL)
                *nl = (nl[1] ? ';' : '\0');
            return err_set(ERR_IO, "%s: server certificate verification failed (%s): %s", c->url,
                           c->verify_name, msg);
        }
        http_tls_error(msg, sizeof(msg), ret);
        if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && !c->have_own)
            return err_set(ERR_IO,
                           "%s: TLS handshake: %s (does the server want a client "
                           "certificate?)",
                           c->url, msg);
        return err_set(ERR_IO, "%s: TLS handshake: %s", c->url, msg);
    }
    return 0;
}

static int http_connect(http_conn *c)
{
    struct addrinfo hints, *res = NULL, *ai;
    int64_t deadline = time_mono_ms() + c->opts.connect_timeout_ms;
    int gai, rc, last = 0, by_deadline = 0;

    if (c->deadline_ms > 0 && c->deadline_ms < deadline) {
        deadline = c->deadline_ms;
        by_deadline = 1;
    }
    c->tls_fatal = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(c->host, c->port, &hints, &res);
    if (gai != 0)
        return err_set(ERR_IO, "%s: resolving %s: %s", c->url, c->host, gai_strerror(gai));
    c->fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = -1;
        last = http_connect_addr(c, ai, deadline, &fd);
        if (last == 0) {
            c->fd = fd;
            break;
        }
        if (last == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        if (last == -ETIMEDOUT && by_deadline)
            return err_set(ERR_TIMEOUT, "%s: connect: the request deadline passed", c->url);
        if (last == -ETIMEDOUT)
            return err_set(ERR_TIMEOUT, "%s: connect timed out after %d ms", c->url,
                           c->opts.connect_timeout_ms);
        return err_set(ERR_IO, "%s: connect: %s", c->url, strerror(-last));
    }
    c->rpos = c->rlen = 0;
    c->timed_out = 0;
    if (c->use_tls && (rc = http_handshake(c)) < 0) {
        http_close(c);
        return rc;
    }
    return 0;
}

/* ---- raw I/O ---- */

static int http_io_error(http_conn *c, int ret, const char *what)
{
    char msg[128];
    if (c->timed_out && c->deadline_hit)
        return err_set(ERR_TIMEOUT, "%s: %s: the request deadline passed", c->url, what);
    if (c->timed_out)
        return err_set(ERR_TIMEOUT, "%s: %s timed out after %d ms", c->url, what,
                       c->opts.io_timeout_ms);
    if (c->use_tls && ret != MBEDTLS_ERR_NET_SEND_FAILED && ret != MBEDTLS_ERR_NET_RECV_FAILED &&
        ret != MBEDTLS_ERR_NET_CONN_RESET) {
        http_tls_error(msg, sizeof(msg), ret);
        return err_set(ERR_IO, "%s: %s: %s", c->url, what, msg);
    }
    return err_set(ERR_IO, "%s: %s: %s", c->url, what,
                   c->sys_errno ? strerror(c->sys_errno) : "connection reset");
}

static int http_write_all(http_conn *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        int n;
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        if (c->ssl_active)
            n = mbedtls_ssl_write(&c->ssl, p, chunk);
        else
            n = http_bio_send(c, p, chunk);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (n <= 0)
            return http_io_error(c, n, "sending the request");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Fill rbuf; 1 = data, 0 = the peer closed, <0 error (message set). */
static int http_fill(http_conn *c)
{
    int n;
    c->rpos = c->rlen = 0;
    for (;;) {
        if (c->ssl_active)
            n = mbedtls_ssl_read(&c->ssl, c->rbuf, sizeof(c->rbuf));
        else
            n = http_bio_recv(c, c->rbuf, sizeof(c->rbuf));
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        break;
    }
    if (n > 0) {
        c->rlen = (size_t)n;
        c->got += (size_t)n;
        return 1;
    }
    /* CONN_EOF: a TCP close without close_notify, which servers send as
     * often as not; HTTP framing (not TLS) tells a cut-off body. */
    if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_SSL_CONN_EOF)
        return 0;
    /* A reset before any byte of the response is how a server's close of
     * an idle connection often shows up; the caller treats it as EOF. */
    if (n == MBEDTLS_ERR_NET_CONN_RESET && c->got == 0)
        return 0;
    return http_io_error(c, n, "reading the response");
}

/* Read one line (CRLF or LF terminated) into line without the terminator.
 * *total counts bytes of the head against HTTP_MAX_HEAD. */
static int http_read_line(http_conn *c, struct buf *line, size_t *total)
{
    buf_clear(line);
    for (;;) {
        unsigned char *start, *nl;
        size_t avail;
        int rc;
        if (c->rpos == c->rlen) {
            rc = http_fill(c);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return err_set(ERR_IO, "%s: connection closed in the response head", c->url);
        }
        start = c->rbuf + c->rpos;
        avail = c->rlen - c->rpos;
        nl = memchr(start, '\n', avail);
        if (nl)
            avail = (size_t)(nl - start) + 1;
        *total += avail;
        if (*total > HTTP_MAX_HEAD || line->len + avail > HTTP_MAX_LINE)
            return err_set(ERR_TOOLARGE, "%s: response head over %d bytes", c->url, HTTP_MAX_HEAD);
        buf_put(line, start, avail - (nl ? 1 : 0));
        c->rpos += avail;
        if (nl)
            break;
    }
    if (line->len > 0 && line->ptr[line->len - 1] == '\r')
        line->ptr[--line->len] = '\0';
    if (!line->ptr)
        buf_puts(line, "");
    return 0;
}

/* Append exactly n bytes of the body (n may be 0). */
static int http_read_body_n(http_conn *c, struct buf *body, size_t n, size_t max)
{
    if (n > max || body->len + n > max)
        return err_set(ERR_TOOLARGE, "%s: response body over the limit of %zu bytes", c->url, max);
    while (n > 0) {
        size_t avail;
        int rc;
        if (c->rpos == c->rlen) {
            rc = http_fill(c);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return err_set(ERR_IO, "%s: connection closed in the response body", c->url);
        }
        avail = c->rlen - c->rpos;
        if (avail > n)
            avail = n;
        buf_put(body, c->rbuf + c->rpos, avail);
        c->rpos += avail;
        n -= avail;
    }
    return 0;
}

static int http_read_to_eof(http_conn *c, struct buf *body, size_t max)
{
    for (;;) {
        int rc;
        if (c->rpos < c->rlen) {
            if ((rc = buf_put_limited(body, c->rbuf + c->rpos, c->rlen - c->rpos, max,
                                      "response body")) < 0)
                return err_set(ERR_TOOLARGE, "%s: response body over the limit of %zu bytes",
                               c->url, max);
            c->rpos = c->rlen;
        }
        rc = http_fill(c);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;
    }
}

/* The size of a chunk from its size line ("1a3f" with optional
 * extensions after ';'). 0, or ERR_INVALID naming the connection. */
static int http_chunk_size(const http_conn *c, const char *line, unsigned long long *out)
{
    unsigned long long size = 0;
    const char *p;
    int digits = 0;
    for (p = line; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        if (size > (SIZE_MAX >> 4))
            return err_set(ERR_INVALID, "%s: chunk size too large", c->url);
        size = size * 16 + (unsigned)d;
        digits++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (digits == 0 || (*p && *p != ';'))
        return err_set(ERR_INVALID, "%s: bad chunk size line \"%.40s\"", c->url, line);
    *out = size;
    return 0;
}

static int http_read_chunked(http_conn *c, struct buf *body, size_t max, struct buf *line)
{
    size_t total = 0;
    for (;;) {
        unsigned long long size = 0;
        int rc;
        if ((rc = http_read_line(c, line, &total)) < 0)
            return rc;
        total = 0; /* chunk-size lines are bounded one by one */
        if ((rc = http_chunk_size(c, line->ptr, &size)) < 0)
            return rc;
        if (size == 0)
            break;
        if ((rc = http_read_body_n(c, body, (size_t)size, max)) < 0)
            return rc;
        if ((rc = http_read_line(c, line, &total)) < 0)
            return rc;
        if (line->len != 0)
            return err_set(ERR_INVALID, "%s: chunk not followed by CRLF", c->url);
    }
    /* Trailers, up to the empty line. */
    for (;;) {
        int rc = http_read_line(c, line, &total);
        if (rc < 0)
            return rc;
        if (line->len == 0)
            return 0;
    }
}

static int http_token_has(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (*p) {
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* Read one response. *keep is set to whether the connection stays usable.
 * 1xx interim responses are skipped. */
static int http_read_response(http_conn *c, const char *method, struct http_response *resp,
                              int *keep)
{
    struct buf line = BUF_INIT, body = BUF_INIT;
    int rc;

    *keep = 0;
    for (;;) {
        size_t total = 0;
        int status, minor, chunked = 0, conn_close = 0, conn_keep = 0, have_len = 0;
        unsigned long long clen = 0;
        char *content_type = NULL, *retry_after = NULL, *etag = NULL;

        if ((rc = http_read_line(c, &line, &total)) < 0)
            goto out;
        if (sscanf(line.ptr, "HTTP/1.%1d %3d", &minor, &status) != 2 || status < 100 ||
            status > 999) {
            rc = err_set(ERR_INVALID, "%s: bad status line \"%.60s\"", c->url, line.ptr);
            goto out;
        }
        for (;;) {
            char *colon, *val, *end;
            if ((rc = http_read_line(c, &line, &total)) < 0)
                break;
            if (line.len == 0)
                break;
            colon = strchr(line.ptr, ':');
            if (!colon) {
                rc = err_set(ERR_INVALID, "%s: bad header line \"%.60s\"", c->url, line.ptr);
                break;
            }
            *colon = '\0';
            val = colon + 1;
            while (*val == ' ' || *val == '\t')
                val++;
            end = val + strlen(val);
            while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            if (strcasecmp(line.ptr, "Content-Length") == 0) {
                char *e;
                unsigned long long v;
                errno = 0;
                v = strtoull(val, &e, 10);
                /* Differing duplicates are a request-smuggling classic. */
                if (errno || e == val || *e || *val == '-' || (have_len && v != clen)) {
                    rc = err_set(ERR_INVALID, "%s: bad Content-Length \"%.40s\"", c->url, val);
                    break;
                }
                clen = v;
                have_len = 1;
            } else if (strcasecmp(line.ptr, "Transfer-Encoding") == 0) {
                if (http_token_has(val, "chunked"))
                    chunked = 1;
                else if (strcasecmp(val, "identity") != 0) {
                    rc = err_set(ERR_UNSUPPORTED, "%s: Transfer-Encoding %.40s", c->url, val);
                    break;
                }
            } else if (strcasecmp(line.ptr, "Connection") == 0) {
                if (http_token_has(val, "close"))
                    conn_close = 1;
                if (http_token_has(val, "keep-alive"))
                    conn_keep = 1;
            } else if (strcasecmp(line.ptr, "Content-Type") == 0) {
                free(content_type);
                content_type = xstrdup(val);
            } else if (strcasecmp(line.ptr, "Retry-After") == 0) {
                free(retry_after);
                retry_after = xstrdup(val);
            } else if (strcasecmp(line.ptr, "ETag") == 0) {
                free(etag);
                etag = xstrdup(val);
            }
        }
        if (rc < 0) {
            free(content_type);
            free(retry_after);
            free(etag);
            goto out;
        }
        if (status < 200) {
            /* 100 Continue and friends carry no body; the real answer follows. */
            free(content_type);
            free(retry_after);
            free(etag);
            if (status == 101) {
                rc = err_set(ERR_UNSUPPORTED, "%s: the server switched protocols", c->url);
                goto out;
            }
            continue;
        }
        buf_clear(&body);
        if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304) {
            rc = 0;
        } else if (chunked) {
            rc = http_read_chunked(c, &body, c->opts.max_response, &line);
        } else if (have_len) {
            if (clen > c->opts.max_response)
                rc = err_set(ERR_TOOLARGE,
                             "%s: response body of %llu bytes is over the limit "
                             "of %zu bytes",
                             c->url, clen, c->opts.max_response);
            else
                rc = http_read_body_n(c, &body, (size_t)clen, c->opts.max_response);
        } else {
            rc = http_read_to_eof(c, &body, c->opts.max_response);
            conn_close = 1;
        }
        if (rc < 0) {
            free(content_type);
            free(retry_after);
            free(etag);
            goto out;
        }
        if (!body.ptr)
            buf_puts(&body, "");
        buf_dispose(&resp->body);
        resp->body = body;
        buf_init(&body);
        resp->status = status;
        free(resp->content_type);
        free(resp->retry_after);
        free(resp->etag);
        resp->content_type = content_type;
        resp->retry_after = retry_after;
        resp->etag = etag;
        *keep = !conn_close && (minor >= 1 || conn_keep);
        rc = 0;
        goto out;
    }
out:
    buf_dispose(&line);
    buf_dispose(&body);
    return rc;
}

static void http_build_request(http_conn *c, struct buf *req, const char *method, const char *path,
                               const char *const *headers, size_t body_len, int has_body)
{
    buf_printf(req, "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: edgecd\r\n", method, c->prefix,
               path, c->host_header);
    if (headers)
        for (size_t i = 0; headers[i]; i++)
            buf_printf(req, "%s\r\n", headers[i]);
    if (has_body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
        strcmp(method, "PATCH") == 0)
        buf_printf(req, "Content-Length: %zu\r\n", body_len);
    buf_puts(req, "\r\n");
}

/* An open keep-alive connection is idle between requests: the server
 * has nothing to say on it. Anything readable (EOF, a reset, a TLS alert,
 * stray bytes) or unread leftovers mean it cannot carry a request. */
static int http_idle_ok(http_conn *c)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    if (c->rpos != c->rlen)
        return 0;
    if (c->ssl_active && mbedtls_ssl_get_bytes_avail(&c->ssl) > 0)
        return 0;
    return poll(&pfd, 1, 0) == 0;
}

int http_conn_is_open(const http_conn *c)
{
    return c && c->fd >= 0;
}

static int http_method_idempotent(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
           strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0;
}

int http_request_ex(http_conn *c, const struct http_req *rq, struct http_response *resp,
                    enum http_fate *fate)
{
    struct buf req = BUF_INIT;
    enum http_fate f = HTTP_FATE_REFUSED;
    int rc = 0;

    c->deadline_ms = rq->deadline_ms;
    c->deadline_hit = 0;
    if (!rq->method || !rq->method[0] || strpbrk(rq->method, " \r\n")) {
        rc = err_set(ERR_INVALID, "%s: bad request method", c->url);
        goto out;
    }
    if (!rq->path || rq->path[0] != '/') {
        rc = err_set(ERR_INVALID, "%s: request path must start with '/'", c->url);
        goto out;
    }
    if (strpbrk(rq->path, " \r\n")) {
        rc = err_set(ERR_INVALID, "%s: request path with a space or line break", c->url);
        goto out;
    }
    if (rq->headers)
        for (size_t i = 0; rq->headers[i]; i++)
            if (strpbrk(rq->headers[i], "\r\n")) {
                rc = err_set(ERR_INVALID, "%s: header with a line break", c->url);
                goto out;
            }
    http_build_request(c, &req, rq->method, rq->path, rq->headers, rq->body_len, rq->body != NULL);
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused, keep = 0;
        if (c->fd >= 0 && !http_idle_ok(c))
            http_close(c);
        reused = c->fd >= 0;
        if (rq->deadline_ms > 0 && time_mono_ms() >= rq->deadline_ms) {
            rc = err_set(ERR_TIMEOUT, "%s: the request deadline passed", c->url);
            f = attempt == 0 ? HTTP_FATE_NOT_SENT : f;
            goto out;
        }
        if (!reused && (rc = http_connect(c)) < 0) {
            f = c->tls_fatal ? HTTP_FATE_REFUSED : HTTP_FATE_NOT_SENT;
            goto out;
        }
        c->timed_out = 0;
        c->sys_errno = 0;
        c->sent = 0;
        c->got = 0;
        rc = http_write_all(c, req.ptr, req.len);
        if (rc == 0 && rq->body && rq->body_len > 0)
            rc = http_write_all(c, rq->body, rq->body_len);
        if (rc == 0)
            rc = http_read_response(c, rq->method, resp, &keep);
        if (rc == 0) {
            f = HTTP_FATE_ANSWERED;
            if (!keep)
                http_close(c);
            goto out;
        }
        f = c->got > 0 ? HTTP_FATE_PARTIAL : c->sent > 0 ? HTTP_FATE_SENT : HTTP_FATE_NOT_SENT;
        http_close(c);
        /* Again on a fresh connection only when the old one died under a
         * request the server may have seen but gave no answer to, and
         * repeating it is harmless (or it never left). */
        if (!reused || c->got > 0 || rc == ERR_TIMEOUT || (f == HTTP_FATE_SENT && !rq->idempotent))
            goto out;
    }
out:
    if (fate)
        *fate = f;
    c->deadline_ms = 0;
    c->deadline_hit = 0;
    buf_dispose(&req);
    return rc;
}

int http_request(http_conn *c, const char *method, const char *path, const char *const *headers,
                 const void *body, size_t body_len, struct http_response *resp)
{
    struct http_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.path = path;
    rq.headers = headers;
    rq.body = body;
    rq.body_len = body_len;
    rq.idempotent = method && http_method_idempotent(method);
    return http_request_ex(c, &rq, resp, NULL);
}

/* ---- streamed responses ----
 *
 * A watch answers with a body that never ends on its own terms, so it
 * cannot go through http_read_response. The stream reads the head itself
 * (the same rules: 1xx skipped, differing Content-Lengths refused) and
 * then decodes the body incrementally; chunk sizes and framing are checked
 * exactly as for whole bodies. Error answers are still read whole so the
 * caller can show the API server's Status message. */

enum http_stream_mode { HTTP_STREAM_LENGTH, HTTP_STREAM_CHUNKED, HTTP_STREAM_TO_EOF };

struct http_stream {
    http_conn *c;
    enum http_stream_mode mode;
    unsigned long long left; /* bytes left of the body (LENGTH) or chunk */
    int in_chunk;            /* a chunk was started: its CRLF is still due */
    int done;                /* the body ended cleanly */
    int keep;                /* the server allows reuse */
    struct buf line;
};

/* Read a response head; skips 1xx. */
static int http_stream_head(http_conn *c, struct http_response *resp, http_stream *s)
{
    struct buf line = BUF_INIT;
    int rc = 0;

    for (;;) {
        size_t total = 0;
        int status, minor, chunked = 0, conn_close = 0, conn_keep = 0, have_len = 0;
        unsigned long long clen = 0;

        if ((rc = http_read_line(c, &line, &total)) < 0)
            goto out;
        if (sscanf(line.ptr, "HTTP/1.%1d %3d", &minor, &status) != 2 || status < 100 ||
            status > 999) {
            rc = err_set(ERR_INVALID, "%s: bad status line \"%.60s\"", c->url, line.ptr);
            goto out;
        }
        for (;;) {
            char *colon, *val, *end;
            if ((rc = http_read_line(c, &line, &total)) < 0)
                goto out;
            if (line.len == 0)
                break;
            colon = strchr(line.ptr, ':');
            if (!colon) {
                rc = err_set(ERR_INVALID, "%s: bad header line \"%.60s\"", c->url, line.ptr);
                goto out;
            }
            *colon = '\0';
            val = colon + 1;
            while (*val == ' ' || *val == '\t')
                val++;
            end = val + strlen(val);
            while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            if (strcasecmp(line.ptr, "Content-Length") == 0) {
                char *e;
                unsigned long long v;
                errno = 0;
                v = strtoull(val, &e, 10);
                if (errno || e == val || *e || *val == '-' || (have_len && v != clen)) {
                    rc = err_set(ERR_INVALID, "%s: bad Content-Length \"%.40s\"", c->url, val);
                    goto out;
                }
                clen = v;
                have_len = 1;
            } else if (strcasecmp(line.ptr, "Transfer-Encoding") == 0) {
                if (http_token_has(val, "chunked"))
                    chunked = 1;
                else if (strcasecmp(val, "identity") != 0) {
                    rc = err_set(ERR_UNSUPPORTED, "%s: Transfer-Encoding %.40s", c->url, val);
                    goto out;
                }
            } else if (strcasecmp(line.ptr, "Connection") == 0) {
                if (http_token_has(val, "close"))
                    conn_close = 1;
                if (http_token_has(val, "keep-alive"))
                    conn_keep = 1;
            } else if (strcasecmp(line.ptr, "Content-Type") == 0) {
                free(resp->content_type);
                resp->content_type = xstrdup(val);
            } else if (strcasecmp(line.ptr, "Retry-After") == 0) {
                free(resp->retry_after);
                resp->retry_after = xstrdup(val);
            }
        }
        if (status < 200) {
            if (status == 101) {
                rc = err_set(ERR_UNSUPPORTED, "%s: the server switched protocols", c->url);
                goto out;
            }
            continue;
        }
        resp->status = status;
        s->keep = !conn_close && (minor >= 1 || conn_keep);
        if (status == 204 || status == 304) {
            s->mode = HTTP_STREAM_LENGTH;
            s->left = 0;
        } else if (chunked) {
            s->mode = HTTP_STREAM_CHUNKED;
        } else if (have_len) {
            s->mode = HTTP_STREAM_LENGTH;
            s->left = clen;
        } else {
            s->mode = HTTP_STREAM_TO_EOF;
            s->keep = 0;
        }
        rc = 0;
        goto out;
    }
out:
    buf_dispose(&line);
    return rc;
}

int http_stream_open(http_stream **out, http_conn *c, const char *path, const char *const *headers,
                     struct http_response *resp)
{
    struct buf req = BUF_INIT;
    http_stream *s = NULL;
    int rc = 0;

    *out = NULL;
    if (!path || path[0] != '/') {
        rc = err_set(ERR_INVALID, "%s: request path must start with '/'", c->url);
        goto out;
    }
    if (headers)
        for (size_t i = 0; headers[i]; i++)
            if (strpbrk(headers[i], "\r\n")) {
                rc = err_set(ERR_INVALID, "%s: header with a line break", c->url);
                goto out;
            }
    http_build_request(c, &req, "GET", path, headers, 0, 0);
    s = xcalloc(1, sizeof(*s));
    s->c = c;
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = c->fd >= 0;
        if (!reused && (rc = http_connect(c)) < 0)
            goto out;
        c->timed_out = 0;
        c->sys_errno = 0;
        c->got = c->rlen - c->rpos;
        rc = http_write_all(c, req.ptr, req.len);
        if (rc == 0)
            rc = http_stream_head(c, resp, s);
        if (rc == 0)
            break;
        http_close(c);
        /* As for http_request: only an idle connection the server closed
         * before answering is worth a second try. */
        if (!reused || c->got > 0 || rc == ERR_TIMEOUT)
            goto out;
    }
    if (resp->status < 200 || resp->status > 299) {
        /* Read the error answer whole so the caller can show it. */
        for (;;) {
            char tmp[4096];
            long n = http_stream_read(s, tmp, sizeof(tmp));
            if (n < 0) {
                rc = (int)n;
                http_close(c);
                goto out;
            }
            if (n == 0)
                break;
            if ((rc = buf_put_limited(&resp->body, tmp, (size_t)n, c->opts.max_response,
                                      "response body")) < 0) {
                http_close(c);
                goto out;
            }
        }
        if (!resp->body.ptr)
            buf_puts(&resp->body, "");
        http_stream_close(s);
        s = NULL;
        rc = 0;
        goto out;
    }
    if (!resp->body.ptr)
        buf_puts(&resp->body, "");
    *out = s;
    s = NULL;
out:
    if (s) {
        buf_dispose(&s->line);
        free(s);
    }
    buf_dispose(&req);
    return rc;
}

int http_stream_wait(http_stream *s, int wait_ms)
{
    http_conn *c = s->c;
    struct pollfd pfd;
    int n;

    /* a body of known length read to its end is at its end now: the read
     * says so without waiting for bytes that will not come */
    if (s->done || c->rpos < c->rlen || (s->mode == HTTP_STREAM_LENGTH && s->left == 0))
        return 1;
    if (c->fd < 0)
        return 1; /* the read reports the closed connection */
    if (c->ssl_active && mbedtls_ssl_get_bytes_avail(&c->ssl) > 0)
        return 1;
    pfd.fd = c->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    n = poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0)
        return err_set(ERR_IO, "%s: waiting for the response: %s", c->url, strerror(errno));
    return n > 0;
}

/* Copy what rbuf holds (refilling once when empty), at most max bytes.
 * 0 = the peer closed. */
static long http_stream_take(http_stream *s, void *dst, size_t max)
{
    http_conn *c = s->c;
    size_t n;
    if (c->rpos == c->rlen) {
        int rc = http_fill(c);
        if (rc <= 0)
            return rc;
    }
    n = c->rlen - c->rpos;
    if (n > max)
        n = max;
    memcpy(dst, c->rbuf + c->rpos, n);
    c->rpos += n;
    return (long)n;
}

/* The next chunk-size line: sets s->left; 0 means the last chunk. */
static int http_stream_chunk_head(http_stream *s)
{
    http_conn *c = s->c;
    unsigned long long size = 0;
    size_t total = 0;
    int rc;

    if (s->in_chunk) {
        if ((rc = http_read_line(c, &s->line, &total)) < 0)
            return rc;
        if (s->line.len != 0)
            return err_set(ERR_INVALID, "%s: chunk not followed by CRLF", c->url);
        s->in_chunk = 0;
        total = 0;
    }
    if ((rc = http_read_line(c, &s->line, &total)) < 0)
        return rc == ERR_IO && c->fd >= 0 && !c->timed_out
                   ? err_set(ERR_IO, "%s: connection closed in the response body", c->url)
                   : rc;
    if ((rc = http_chunk_size(c, s->line.ptr, &size)) < 0)
        return rc;
    s->left = size;
    if (size > 0) {
        s->in_chunk = 1;
        return 0;
    }
    for (;;) { /* trailers, up to the empty line */
        total = 0;
        if ((rc = http_read_line(c, &s->line, &total)) < 0)
            return rc;
        if (s->line.len == 0)
            return 0;
    }
}

long http_stream_read(http_stream *s, void *dst, size_t cap)
{
    http_conn *c = s->c;
    long n;
    int rc;

    if (s->done || cap == 0)
        return 0;
    switch (s->mode) {
    case HTTP_STREAM_TO_EOF:
        n = http_stream_take(s, dst, cap);
        if (n == 0)
            s->done = 1;
        return n;
    case HTTP_STREAM_LENGTH:
        if (s->left == 0) {
            s->done = 1;
            return 0;
        }
        n = http_stream_take(s, dst, s->left < cap ? (size_t)s->left : cap);
        if (n == 0)
            return err_set(ERR_IO, "%s: connection closed in the response body", c->url);
        if (n > 0)
            s->left -= (unsigned long long)n;
        return n;
    case HTTP_STREAM_CHUNKED:
        if (s->left == 0) {
            if ((rc = http_stream_chunk_head(s)) < 0)
                return rc;
            if (s->left == 0) {
                s->done = 1;
                return 0;
            }
        }
        n = http_stream_take(s, dst, s->left < cap ? (size_t)s->left : cap);
        if (n == 0)
            return err_set(ERR_IO, "%s: connection closed in the response body", c->url);
        if (n > 0)
            s->left -= (unsigned long long)n;
        /* Eat the chunk's CRLF when it is already here, so that
         * http_stream_wait does not report the stream readable for two
         * bytes and the next read block until another chunk comes. */
        if (n > 0 && s->left == 0 && c->rlen - c->rpos >= 2 && c->rbuf[c->rpos] == '\r' &&
            c->rbuf[c->rpos + 1] == '\n') {
            c->rpos += 2;
            s->in_chunk = 0;
        }
        return n;
    }
    return err_set(ERR_GENERIC, "%s: stream in an unknown state", c->url);
}

void http_stream_close(http_stream *s)
{
    if (!s)
        return;
    if (!s->done || !s->keep)
        http_close(s->c);
    buf_dispose(&s->line);
    free(s);
}

void http_conn_close_idle(http_conn *c)
{
    http_close(c);
}
