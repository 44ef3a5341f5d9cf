/*
 * AWS Signature Version 4 (HMAC-SHA256 through mbedTLS) for the S3
 * client: the canonical request, the string to sign, the signing key and
 * the Authorization header, as AWS's published test suite defines them.
 * Pure functions of their inputs (the time is passed in), so the unit
 * test checks them against the suite's vectors byte for byte.
 *
 * The caller gives the path already URI-encoded as it will be sent (S3
 * keys are encoded once, '/' kept, and never normalised) and the query
 * already encoded; the signer sorts the query's parameters and the
 * headers, lower-cases header names, trims values and folds runs of
 * spaces, and joins repeated headers with ','.
 */
#ifndef EDGECD_BACKUP_SIGV4_H
#define EDGECD_BACKUP_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "core/buf.h"

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *path;                   /* URI-encoded, starts with '/' */
    const char *query;                  /* URI-encoded "a=1&b=2", or "" / NULL */
    const struct sigv4_header *headers; /* every header to sign, Host and
                                           X-Amz-Date included */
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 of the body, or SIGV4_UNSIGNED */
};

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;
    const char *service; /* "s3" */
};

/* "20150830T123600Z" for t. */
void sigv4_amz_date(char out[17], time_t t);

/* The canonical request, appended to out. */
void sigv4_canonical_request(struct buf *out, const struct sigv4_request *rq);

/* The Authorization header's value for rq at amz_date (which must be the
 * X-Amz-Date header's value). A new string. When string_to_sign is not
 * NULL the string to sign is appended to it (for tests). */
char *sigv4_authorization(const struct sigv4_request *rq, const struct sigv4_credentials *cr,
                          const char *amz_date, struct buf *string_to_sign);

/* Percent-encode s as SigV4 wants (unreserved A-Z a-z 0-9 - _ . ~ kept;
 * '/' kept when keep_slash), appended to out. */
void sigv4_uri_encode(struct buf *out, const char *s, int keep_slash);

#endif
