/*
 * A small S3 client for backup locations on S3-compatible object storage
 * on the LAN (MinIO, Ceph RGW, Garage, s3rver, AWS itself): PutObject,
 * multipart uploads, streamed GetObject, ListObjectsV2 with pagination,
 * DeleteObject and HeadObject, every request signed with SigV4
 * (backup/sigv4.h) and sent through the project's own HTTP/1.1 client over
 * TCP or mbedTLS (kube/http.h).
 *
 * Uploads are streamed with bounded memory: bytes gather in one part
 * buffer (partSizeMiB); an object that ends before the buffer fills goes
 * up as one PutObject, a larger one as a multipart upload, part by part,
 * and a failed or abandoned upload is aborted, so S3 never shows a
 * half-written object. Downloads are read from the socket as the caller
 * asks for bytes; nothing holds a whole archive.
 *
 * Credentials are read from files named in the site config (never from
 * argv) and never appear in messages: errors name the endpoint, bucket
 * and key, and S3's error code and message.
 *
 * Threads: a client and its uploads and downloads belong to one thread.
 */
#ifndef EDGECD_BACKUP_S3_H
#define EDGECD_BACKUP_S3_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One S3 backup location as the site config's backupLocations entry
 * describes it. Caller-owned; s3_config_dispose frees it (and wipes the
 * secret). */
struct s3_config {
    char *name;     /* the entry's name ("--location NAME") */
    char *endpoint; /* "https://host:port" or "http://host:port" */
    char *bucket;
    char *prefix;            /* "" or "a/b" (no leading or trailing '/') */
    char *region;            /* default us-east-1 */
    char *access_key_id;     /* read from accessKeyIdFile / credentialsFile */
    char *secret_access_key; /* likewise */
    char *ca_pem;            /* caFile's contents, or NULL */
    size_t ca_pem_len;
    int insecure;         /* skip TLS verification */
    int force_path_style; /* http://host/bucket/key rather than http://bucket.host/key */
    size_t part_size;     /* bytes per multipart part; also the single-PUT limit */
};

#define S3_DEFAULT_PART_MIB 8
#define S3_MIN_PART_MIB 5 /* S3's own minimum for every part but the last */
#define S3_MAX_PART_MIB 512

/* Parse one entry of backupLocations: {name, s3: {...}}. Relative file
 * names resolve against base_dir. where names the entry in messages
 * ("site.yaml: backupLocations[0]"). ERR_INVALID naming the field. */
int s3_config_parse(struct s3_config *out, const json_t *entry, const char *base_dir,
                    const char *where);
void s3_config_dispose(struct s3_config *cfg);

/* "s3://BUCKET" or "s3://BUCKET/PREFIX": a new string. */
char *s3_config_url(const struct s3_config *cfg);

typedef struct s3_client s3_client;

/* A client for cfg (borrowed: it must outlive the client). Connects
 * lazily. ERR_INVALID for a bad endpoint or CA. */
int s3_client_new(s3_client **out, const struct s3_config *cfg);
void s3_client_free(s3_client *c);

/* Errors of every call below: ERR_AUTH (403: a wrong key id or secret,
 * a refused signature, no permission), ERR_NOTFOUND (404: no such key or
 * bucket), ERR_IO (the server cannot be reached, or any other answer),
 * with S3's code and message. Keys are relative to the bucket. */

/* PutObject of a small object held in memory. */
int s3_put(s3_client *c, const char *key, const void *data, size_t len);

/* GetObject of a small object into out, at most max bytes (ERR_TOOLARGE). */
int s3_get(s3_client *c, const char *key, size_t max, struct buf *out);

/* HeadObject: 1 if key exists, 0 if not. */
int s3_head(s3_client *c, const char *key);

/* DeleteObject. A missing key is not an error (S3 says 204 either way). */
int s3_delete(s3_client *c, const char *key);

/* ListObjectsV2 over every page: fn(ctx, key, size) for each object whose
 * key starts with prefix, in S3's (byte) order; a negative return from fn
 * stops the walk and is returned. */
int s3_list(s3_client *c, const char *prefix, int (*fn)(void *ctx, const char *key, uint64_t size),
            void *ctx);

/* ---- streamed upload ---- */
typedef struct s3_upload s3_upload;

/* Start writing key. Nothing is sent before the first part fills. */
void s3_upload_begin(s3_upload **out, s3_client *c, const char *key);

/* Add bytes; full parts are sent as they fill. */
int s3_upload_write(s3_upload *u, const void *p, size_t n);

/* Send the rest and make the object visible (PutObject, or the last part
 * and CompleteMultipartUpload). On failure the upload is aborted. Frees
 * u either way. *out_size (may be NULL) is the object's size. */
int s3_upload_finish(s3_upload *u, uint64_t *out_size);

/* Abandon the upload (AbortMultipartUpload when parts were sent) and free
 * u. Accepts NULL. */
void s3_upload_abort(s3_upload *u);

/* ---- streamed download ---- */
typedef struct s3_download s3_download;

/* GetObject, reading the body as it is asked for. The download borrows
 * the client's connection until s3_download_close. */
int s3_download_open(s3_download **out, s3_client *c, const char *key);

/* Read up to n bytes: *got > 0, or 0 at the end of the object. The
 * signature of archive's source callback. */
int s3_download_read(void *d, void *p, size_t n, size_t *got);

void s3_download_close(s3_download *d);

#endif
