/*
 * Small helpers that several modules need: strict number parsing, string
 * prefix tests, random bytes, SHA-256 and hex, clocks.
 */
#ifndef EDGECD_CORE_UTIL_H
#define EDGECD_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s starts (ends) with the given string. */
int str_has_prefix(const char *s, const char *prefix);
int str_has_suffix(const char *s, const char *suffix);

/* 1 if s is a Kubernetes object name (a DNS-1123 subdomain): dot-separated
 * labels of [a-z0-9-] that start and end alphanumeric, at most 253
 * characters. */
int str_dns_subdomain(const char *s);

/* A Go duration ("1h", "30m", "1h30m", "90s", "1.5h", "250ms"; units h,
 * m, s, ms, us, ns) into seconds, not negative, at most about 292 years.
 * ERR_INVALID with a message quoting s otherwise. */
int str_go_duration(const char *s, double *out_seconds);

/* Copy src into dst of size n, always terminated; returns strlen(src) so
 * truncation shows as a result >= n. */
size_t str_copy(char *dst, const char *src, size_t n);

/* Parse a whole decimal integer in [min, max]. ERR_INVALID otherwise, with
 * `what` naming it in the message. */
int str_to_long(const char *s, long min, long max, const char *what, long *out);

/* Fill buf with len bytes from the kernel's CSPRNG. 0 or ERR_IO. */
int util_random(void *buf, size_t len);

/* Lower-case hex of data into out (2*len+1 bytes). */
void util_hex(char *out, const void *data, size_t len);

/* SHA-256 of data into out[32]. */
void util_sha256(const void *data, size_t len, unsigned char out[32]);

/* SHA-256 as 64 hex characters + NUL. */
void util_sha256_hex(const void *data, size_t len, char out[65]);

/* Compare two buffers in time independent of their contents. 1 if equal. */
int util_const_eq(const void *a, const void *b, size_t len);

/* Milliseconds from a monotonic clock. */
int64_t time_mono_ms(void);

/* Current time as RFC 3339 UTC ("2026-11-23T07:02:30Z") into out[21]. */
void time_rfc3339(char out[21]);

#endif
