/*
 * SigV4 (see sigv4.h). Everything is small: a request signs at most a
 * handful of headers and query parameters, so sorting copies of them is
 * cheaper than anything clever.
 */
#include "backup/sigv4.h"

#include <ctype.h>
#include <mbedtls/md.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"

void sigv4_amz_date(char out[17], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void sigv4_uri_encode(struct buf *out, const char *s, int keep_slash)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/'))
            buf_putc(out, (char)*p);
        else
            buf_printf(out, "%%%02X", *p);
    }
}

/* One "name:value" line: the name lower-cased, the value trimmed and its
 * runs of spaces folded to one. */
struct sigv4_line {
    char *name;
    char *value;
};

static char *sigv4_fold(const char *v)
{
    struct buf b = BUF_INIT;
    int space = 0;
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space && b.len)
            buf_putc(&b, ' ');
        space = 0;
        buf_putc(&b, *v);
    }
    return b.ptr ? buf_detach(&b) : xstrdup("");
}

static int sigv4_line_cmp(const void *a, const void *b)
{
    const struct sigv4_line *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* The query's parameters sorted by name, then value; a parameter without
 * '=' signs with an empty value. */
static void sigv4_query(struct buf *out, const char *query)
{
    struct sigv4_line *q = NULL;
    size_t n = 0;
    const char *p = query;

    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            char *one = xstrndup(p, len), *eq = strchr(one, '=');
            q = xrealloc(q, (n + 1) * sizeof(*q));
            if (eq)
                *eq = '\0';
            q[n].name = one;
            q[n].value = eq ? eq + 1 : one + len;
            n++;
        }
        p += len + (amp ? 1 : 0);
    }
    if (n)
        qsort(q, n, sizeof(*q), sigv4_line_cmp);
    for (size_t i = 0; i < n; i++) {
        buf_printf(out, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value);
        free(q[i].name);
    }
    free(q);
}

void sigv4_canonical_request(struct buf *out, const struct sigv4_request *rq)
{
    struct sigv4_line *h = xcalloc(rq->n_headers + 1, sizeof(*h));
    size_t i;

    buf_printf(out, "%s\n%s\n", rq->method, rq->path);
    sigv4_query(out, rq->query);
    buf_putc(out, '\n');
    for (i = 0; i < rq->n_headers; i++) {
        h[i].name = xstrdup(rq->headers[i].name);
        for (char *c = h[i].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        h[i].value = sigv4_fold(rq->headers[i].value);
    }
    /* Sorted by name only, keeping the given order of a repeated header's
     * values: a stable insertion sort. */
    for (i = 1; i < rq->n_headers; i++) {
        struct sigv4_line t = h[i];
        size_t j = i;
        while (j > 0 && strcmp(h[j - 1].name, t.name) > 0) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = t;
    }
    for (i = 0; i < rq->n_headers; i++) {
        if (i && !strcmp(h[i - 1].name, h[i].name))
            buf_printf(out, ",%s", h[i].value);
        else
            buf_printf(out, "%s%s:%s", i ? "\n" : "", h[i].name, h[i].value);
    }
    buf_puts(out, "\n\n");
    for (i = 0; i < rq->n_headers; i++)
        if (!i || strcmp(h[i - 1].name, h[i].name))
            buf_printf(out, "%s%s", i ? ";" : "", h[i].name);
    buf_printf(out, "\n%s", rq->payload_hash);
    for (i = 0; i < rq->n_headers; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

static void sigv4_hmac(unsigned char out[32], const void *key, size_t key_len, const char *msg)
{
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, key_len,
                    (const unsigned char *)msg, strlen(msg), out);
}

char *sigv4_authorization(const struct sigv4_request *rq, const struct sigv4_credentials *cr,
                          const char *amz_date, struct buf *string_to_sign)
{
    struct buf creq = BUF_INIT, sts = BUF_INIT, signed_headers = BUF_INIT, auth = BUF_INIT;
    unsigned char k[32], hash[32];
    char hex[65], day[9], *secret, *nl;

    sigv4_canonical_request(&creq, rq);
    util_sha256(creq.ptr, creq.len, hash);
    util_hex(hex, hash, sizeof(hash));
    str_copy(day, amz_date, sizeof(day));
    buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, day, cr->region,
               cr->service, hex);
    if (string_to_sign)
        buf_put(string_to_sign, sts.ptr, sts.len);

    secret = xasprintf("AWS4%s", cr->secret_access_key);
    sigv4_hmac(k, secret, strlen(secret), day);
    memset(secret, 0, strlen(secret));
    free(secret);
    sigv4_hmac(k, k, sizeof(k), cr->region);
    sigv4_hmac(k, k, sizeof(k), cr->service);
    sigv4_hmac(k, k, sizeof(k), "aws4_request");
    sigv4_hmac(hash, k, sizeof(k), buf_cstr(&sts));
    memset(k, 0, sizeof(k));
    util_hex(hex, hash, sizeof(hash));

    /* The signed headers are the canonical request's second-to-last line. */
    nl = strrchr(creq.ptr, '\n');
    *nl = '\0';
    buf_puts(&signed_headers, strrchr(creq.ptr, '\n') + 1);
    buf_printf(&auth,
               "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
               "Signature=%s",
               cr->access_key_id, day, cr->region, cr->service, buf_cstr(&signed_headers), hex);
    buf_dispose(&creq);
    buf_dispose(&sts);
    buf_dispose(&signed_headers);
    return buf_detach(&auth);
}
