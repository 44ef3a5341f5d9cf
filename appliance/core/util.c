#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mbedtls/sha256.h>

#include "core/err.h"

int str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* Kubernetes' DNS-1123 subdomain: dot-separated labels of [a-z0-9-] that
 * start and end alphanumeric, 253 characters at most. */
int str_dns_subdomain(const char *s)
{
    size_t len = strlen(s), i;

    if (len == 0 || len > 253)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i], prev = i ? s[i - 1] : '.', next = s[i + 1];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum)
            continue;
        if (c == '-' && prev != '.' && next != '.' && next != '\0')
            continue;
        if (c == '.' && prev != '.' && prev != '-' && next != '.' && next != '-' && next != '\0')
            continue;
        return 0;
    }
    return 1;
}

size_t str_copy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n) {
        size_t c = len < n - 1 ? len : n - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return len;
}

int str_to_long(const char *s, long min, long max, const char *what, long *out)
{
    char *end;
    long v;
    errno = 0;
    if (!s || !*s)
        return err_set(ERR_INVALID, "%s: empty, expected a number", what);
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return err_set(ERR_INVALID, "%s: \"%s\" is not a whole number from %ld to %ld", what, s,
                       min, max);
    *out = v;
    return 0;
}

int util_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(ERR_IO, "getrandom: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void util_hex(char *out, const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

void util_sha256(const void *data, size_t len, unsigned char out[32])
{
    mbedtls_sha256_ret(data, len, out, 0);
}

void util_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char sum[32];
    util_sha256(data, len, sum);
    util_hex(out, sum, sizeof(sum));
}

int util_const_eq(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < len; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_rfc3339(char out[21])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int str_go_duration(const char *s, double *out_seconds)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
                 {"ms", 1e-3}, {"s", 1},     {"m", 60},           {"h", 3600}};
    const char *p = s;
    double total = 0;

    if (*p == '+')
        p++;
    if (*p == '-')
        return err_set(ERR_INVALID, "\"%s\" is negative", s);
    if (!*p)
        return err_set(ERR_INVALID, "missing");
    while (*p) {
        double v = 0, scale = 1;
        size_t digits = 0, u, best = 0, best_len = 0;
        while (*p >= '0' && *p <= '9')
            v = v * 10 + (*p++ - '0'), digits++;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                v += (*p - '0') * (scale /= 10);
        if (!digits)
            return err_set(ERR_INVALID, "\"%s\" is not a duration (like 1h, 30m or 1h30m)", s);
        /* the longest unit that matches ("ms" before "m") */
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t len = strlen(units[u].unit);
            if (strncmp(p, units[u].unit, len) == 0 && len > best_len)
                best = u, best_len = len;
        }
        if (!best_len)
            return err_set(ERR_INVALID, "\"%s\": a number needs a unit (h, m, s, ms, us, ns)", s);
        total += v * units[best].seconds;
        p += best_len;
    }
    /* Go's limit: about 292 years */
    if (total > 9.2e9)
        return err_set(ERR_INVALID, "\"%s\" is too long", s);
    *out_seconds = total;
    return 0;
}
