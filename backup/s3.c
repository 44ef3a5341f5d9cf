/*
 * The S3 client (see s3.h). Responses other than object bodies are small
 * XML documents; the few elements edgecd needs (Code, Message, UploadId,
 * Key, Size, IsTruncated, NextContinuationToken) are found by tag rather
 * than by a full XML parser: S3 never nests them ambiguously, and a
 * response too large or malformed for that is refused.
 */
#include "backup/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/sigv4.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "kube/http.h"

#define S3_MAX_XML (8u << 20)
#define S3_MAX_SECRET_FILE 4096
#define S3_MAX_CA (1u << 20)

/* ---- configuration ---- */

static char *s3_trimmed(const struct buf *b)
{
    const char *s = buf_cstr(b);
    size_t n;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    n = strcspn(s, "\r\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return xstrndup(s, n);
}

static char *s3_path(const char *base_dir, const char *name)
{
    return name[0] == '/' || !base_dir || !base_dir[0] ? xstrdup(name)
                                                       : xasprintf("%s/%s", base_dir, name);
}

/* The first line of a file holding one secret. The message names the
 * file, never its content. */
static int s3_read_secret(const char *path, const char *where, const char *field, char **out)
{
    struct buf b = BUF_INIT;
    int rc = fs_read_file(path, S3_MAX_SECRET_FILE, &b);
    *out = NULL;
    if (rc < 0) {
        rc = err_prefix(ERR_INVALID, "%s: s3.%s", where, field);
    } else {
        *out = s3_trimmed(&b);
        if (!**out) {
            free(*out);
            *out = NULL;
            rc = err_set(ERR_INVALID, "%s: s3.%s: %s is empty", where, field, path);
        }
    }
    if (b.ptr)
        memset(b.ptr, 0, b.len);
    buf_dispose(&b);
    return rc;
}

/* The AWS shared credentials file Velero's cloud-credentials secret holds:
 * [default] aws_access_key_id = ..., aws_secret_access_key = ... */
static int s3_read_credentials(struct s3_config *cfg, const char *path, const char *where)
{
    struct buf b = BUF_INIT;
    const char *p;
    int rc = fs_read_file(path, S3_MAX_SECRET_FILE, &b), in_default = 1;

    if (rc < 0) {
        rc = err_prefix(ERR_INVALID, "%s: s3.credentialsFile", where);
        goto out;
    }
    for (p = buf_cstr(&b); *p;) {
        size_t n = strcspn(p, "\n");
        char *line = xstrndup(p, n), *s = line, *eq, *k, *v;
        p += n + (p[n] ? 1 : 0);
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '[') {
            in_default = !strncmp(s, "[default]", 9);
        } else if (in_default && (eq = strchr(s, '=')) != NULL) {
            struct buf t = BUF_INIT;
            *eq = '\0';
            buf_puts(&t, s);
            k = s3_trimmed(&t);
            buf_clear(&t);
            buf_puts(&t, eq + 1);
            v = s3_trimmed(&t);
            buf_dispose(&t);
            if (!strcmp(k, "aws_access_key_id") && !cfg->access_key_id) {
                cfg->access_key_id = v;
                v = NULL;
            } else if (!strcmp(k, "aws_secret_access_key") && !cfg->secret_access_key) {
                cfg->secret_access_key = v;
                v = NULL;
            }
            if (v)
                memset(v, 0, strlen(v));
            free(k);
            free(v);
        }
        memset(line, 0, n);
        free(line);
    }
    if (!cfg->access_key_id || !cfg->secret_access_key || !cfg->access_key_id[0] ||
        !cfg->secret_access_key[0])
        rc = err_set(ERR_INVALID,
                     "%s: s3.credentialsFile: %s has no [default] aws_access_key_id and "
                     "aws_secret_access_key",
                     where, path);
out:
    if (b.ptr)
        memset(b.ptr, 0, b.len);
    buf_dispose(&b);
    return rc;
}

/* The s3 mapping's keys, with the names Velero's BackupStorageLocation
 * config uses accepted beside edgecd's own. */
static const char *const s3_keys[][2] = {
    {"endpoint", "s3Url"},
    {"bucket", NULL},
    {"prefix", NULL},
    {"region", NULL},
    {"accessKeyIdFile", NULL},
    {"secretAccessKeyFile", NULL},
    {"credentialsFile", NULL},
    {"caFile", NULL},
    {"insecure", "insecureSkipTLSVerify"},
    {"forcePathStyle", "s3ForcePathStyle"},
    {"partSizeMiB", NULL},
};
#define S3_NKEYS (sizeof(s3_keys) / sizeof(s3_keys[0]))

static const json_t *s3_field(const json_t *s3, size_t i)
{
    const json_t *v = json_object_get(s3, s3_keys[i][0]);
    if (!v && s3_keys[i][1])
        v = json_object_get(s3, s3_keys[i][1]);
    return v;
}

/* A bool that Velero's config (a string map) may spell "true"/"false". */
static int s3_bool(const json_t *v, int *out)
{
    *out = 0;
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) &&
        (!strcmp(json_string_value(v), "true") || !strcmp(json_string_value(v), "false"))) {
        *out = !strcmp(json_string_value(v), "true");
        return 0;
    }
    return -1;
}

int s3_config_parse(struct s3_config *out, const json_t *entry, const char *base_dir,
                    const char *where)
{
    const json_t *s3 = json_object_get(entry, "s3"), *v;
    const char *key, *name = doc_get_str(entry, "name"), *ep, *bucket, *prefix;
    char *path = NULL;
    json_int_t part = S3_DEFAULT_PART_MIB;
    int rc = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(entry) || !name || !str_dns_subdomain(name) || !json_is_object(s3))
        return err_set(ERR_INVALID,
                       "%s: needs a name (lower-case letters, digits, '-', '.') and an s3 mapping",
                       where);
    json_object_foreach((json_t *)entry, key, v)
    {
        if (strcmp(key, "name") && strcmp(key, "s3"))
            return err_set(ERR_INVALID, "%s.%s: unknown field (name, s3)", where, key);
    }
    json_object_foreach((json_t *)s3, key, v)
    {
        for (i = 0; i < S3_NKEYS; i++)
            if (!strcmp(key, s3_keys[i][0]) || (s3_keys[i][1] && !strcmp(key, s3_keys[i][1])))
                break;
        if (i == S3_NKEYS)
            return err_set(ERR_INVALID,
                           "%s: s3.%s: unknown field (endpoint, bucket, prefix, region, "
                           "accessKeyIdFile, secretAccessKeyFile, credentialsFile, caFile, "
                           "insecure, forcePathStyle, partSizeMiB)",
                           where, key);
        if (strcmp(s3_keys[i][0], "insecure") && strcmp(s3_keys[i][0], "forcePathStyle") &&
            strcmp(s3_keys[i][0], "partSizeMiB") && !json_is_string(v))
            return err_set(ERR_INVALID, "%s: s3.%s: must be a string", where, key);
    }
    out->name = xstrdup(name);
    ep = json_string_value(s3_field(s3, 0));
    if (!ep || (!str_has_prefix(ep, "http://") && !str_has_prefix(ep, "https://")) ||
        strchr(strchr(ep, ':') + 3, '/') || strchr(ep, '@') || strchr(ep, '?')) {
        rc = err_set(ERR_INVALID,
                     "%s: s3.endpoint: needs http://HOST[:PORT] or https://HOST[:PORT] (no path, "
                     "no user)",
                     where);
        goto out;
    }
    out->endpoint = xstrdup(ep);
    bucket = json_string_value(s3_field(s3, 1));
    /* S3's bucket naming rules, which also keep the name safe in a URL. */
    if (!bucket || strlen(bucket) < 3 || strlen(bucket) > 63 || !str_dns_subdomain(bucket)) {
        rc = err_set(ERR_INVALID, "%s: s3.bucket: 3 to 63 lower-case letters, digits, '-' and '.'",
                     where);
        goto out;
    }
    out->bucket = xstrdup(bucket);
    prefix = json_string_value(s3_field(s3, 2));
    while (prefix && *prefix == '/')
        prefix++;
    out->prefix = xstrdup(prefix ? prefix : "");
    for (size_t n = strlen(out->prefix); n > 0 && out->prefix[n - 1] == '/'; n--)
        out->prefix[n - 1] = '\0';
    if (strstr(out->prefix, "//") || strstr(out->prefix, "..")) {
        rc = err_set(ERR_INVALID, "%s: s3.prefix: no empty or '..' segments", where);
        goto out;
    }
    out->region = xstrdup(json_string_value(s3_field(s3, 3)) ? json_string_value(s3_field(s3, 3))
                                                             : "us-east-1");
    if (s3_bool(s3_field(s3, 8), &out->insecure) < 0 ||
        s3_bool(s3_field(s3, 9), &out->force_path_style) < 0) {
        rc = err_set(ERR_INVALID, "%s: s3.insecure and s3.forcePathStyle: true or false", where);
        goto out;
    }
    if ((v = s3_field(s3, 10)) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < S3_MIN_PART_MIB ||
            json_integer_value(v) > S3_MAX_PART_MIB) {
            rc = err_set(ERR_INVALID, "%s: s3.partSizeMiB: a whole number from %d to %d", where,
                         S3_MIN_PART_MIB, S3_MAX_PART_MIB);
            goto out;
        }
        part = json_integer_value(v);
    }
    out->part_size = (size_t)part << 20;
    if (s3_field(s3, 6)) {
        if (s3_field(s3, 4) || s3_field(s3, 5)) {
            rc = err_set(ERR_INVALID,
                         "%s: s3: credentialsFile, or accessKeyIdFile and secretAccessKeyFile, "
                         "not both",
                         where);
            goto out;
        }
        path = s3_path(base_dir, json_string_value(s3_field(s3, 6)));
        if ((rc = s3_read_credentials(out, path, where)) < 0)
            goto out;
        free(path);
        path = NULL;
    } else if (s3_field(s3, 4) && s3_field(s3, 5)) {
        path = s3_path(base_dir, json_string_value(s3_field(s3, 4)));
        if ((rc = s3_read_secret(path, where, "accessKeyIdFile", &out->access_key_id)) < 0)
            goto out;
        free(path);
        path = s3_path(base_dir, json_string_value(s3_field(s3, 5)));
        if ((rc = s3_read_secret(path, where, "secretAccessKeyFile", &out->secret_access_key)) < 0)
            goto out;
        free(path);
        path = NULL;
    } else {
        rc = err_set(ERR_INVALID,
                     "%s: s3: needs accessKeyIdFile and secretAccessKeyFile, or credentialsFile "
                     "(IAM roles and instance profiles are not supported)",
                     where);
        goto out;
    }
    if (s3_field(s3, 7)) {
        struct buf ca = BUF_INIT;
        path = s3_path(base_dir, json_string_value(s3_field(s3, 7)));
        if ((rc = fs_read_file(path, S3_MAX_CA, &ca)) < 0) {
            rc = err_prefix(ERR_INVALID, "%s: s3.caFile", where);
            buf_dispose(&ca);
            goto out;
        }
        buf_puts(&ca, ""); /* mbedTLS wants PEM NUL-terminated, counted */
        out->ca_pem_len = ca.len + 1;
        out->ca_pem = buf_detach(&ca);
    }
out:
    free(path);
    return rc;
}

static void s3_wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

void s3_config_dispose(struct s3_config *cfg)
{
    free(cfg->name);
    free(cfg->endpoint);
    free(cfg->bucket);
    free(cfg->prefix);
    free(cfg->region);
    s3_wipe_free(cfg->access_key_id);
    s3_wipe_free(cfg->secret_access_key);
    free(cfg->ca_pem);
    memset(cfg, 0, sizeof(*cfg));
}

char *s3_config_url(const struct s3_config *cfg)
{
    return cfg->prefix[0] ? xasprintf("s3://%s/%s", cfg->bucket, cfg->prefix)
                          : xasprintf("s3://%s", cfg->bucket);
}

/* ---- client ---- */

struct s3_client {
    const struct s3_config *cfg;
    http_conn *conn;
    char *host;    /* the Host header http.c sends, signed as is */
    char *base;    /* "/bucket" (path style) or "" */
    char *where;   /* "s3 http://host:port bucket" for messages */
    int streaming; /* a download holds the connection */
};

int s3_client_new(s3_client **out, const struct s3_config *cfg)
{
    s3_client *c = xcalloc(1, sizeof(*c));
    struct http_tls tls;
    struct http_options ho = HTTP_OPTIONS_INIT;
    const char *hp = strstr(cfg->endpoint, "://") + 3;
    char *url;
    int https = str_has_prefix(cfg->endpoint, "https://"), rc;

    *out = NULL;
    memset(&tls, 0, sizeof(tls));
    c->cfg = cfg;
    c->where = xasprintf("s3 %s bucket %s", cfg->endpoint, cfg->bucket);
    if (cfg->force_path_style) {
        c->host = xstrdup(hp);
        c->base = xasprintf("/%s", cfg->bucket);
        url = xstrdup(cfg->endpoint);
    } else {
        c->host = xasprintf("%s.%s", cfg->bucket, hp);
        c->base = xstrdup("");
        url = xasprintf("%s://%s", https ? "https" : "http", c->host);
    }
    tls.ca_pem = cfg->ca_pem;
    tls.ca_pem_len = cfg->ca_pem_len;
    tls.insecure = cfg->insecure;
    ho.max_response = S3_MAX_XML;
    rc = http_conn_new(&c->conn, url, https ? &tls : NULL, &ho);
    free(url);
    if (rc < 0) {
        err_prefix(rc, "%s", c->where);
        s3_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void s3_client_free(s3_client *c)
{
    if (!c)
        return;
    http_conn_free(c->conn);
    free(c->host);
    free(c->base);
    free(c->where);
    free(c);
}

/* The text of <tag>...</tag> from offset *from in xml (entities
 * decoded), or NULL; *from moves past it. */
static char *s3_xml(const char *xml, const char *tag, const char **from)
{
    char *open = xasprintf("<%s>", tag), *close = xasprintf("</%s>", tag), *out = NULL;
    const char *a = strstr(from ? *from : xml, open), *b;
    if (a && (b = strstr(a + strlen(open), close)) != NULL) {
        struct buf t = BUF_INIT;
        for (const char *p = a + strlen(open); p < b; p++) {
            static const char *const ent[][2] = {
                {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
            size_t k;
            for (k = 0; k < 5; k++)
                if (!strncmp(p, ent[k][0], strlen(ent[k][0])))
                    break;
            if (k < 5) {
                buf_puts(&t, ent[k][1]);
                p += strlen(ent[k][0]) - 1;
            } else {
                buf_putc(&t, *p);
            }
        }
        out = t.ptr ? buf_detach(&t) : xstrdup("");
        if (from)
            *from = b + strlen(close);
    }
    free(open);
    free(close);
    return out;
}

/* An answer that is not 2xx as an error naming what was asked. */
static int s3_status_error(s3_client *c, const char *method, const char *key,
                           const struct http_response *resp)
{
    char *code = s3_xml(buf_cstr(&resp->body), "Code", NULL);
    char *msg = s3_xml(buf_cstr(&resp->body), "Message", NULL);
    int rc = resp->status == 403 || resp->status == 401 ? ERR_AUTH
             : resp->status == 404                      ? ERR_NOTFOUND
                                                        : ERR_IO;
    const char *hint = "";
    if (!code) /* HEAD answers carry no body */
        code = xstrdup(resp->status == 403 ? "AccessDenied (a wrong access key id or secret, or no "
                                             "permission)"
                       : resp->status == 404 ? "NotFound"
                                             : "an error");
    if (code && (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch")))
        hint = " (check the location's access key id and secret access key files)";
    else if (code && !strcmp(code, "NoSuchBucket"))
        hint = " (create the bucket first)";
    else if (code && !strcmp(code, "RequestTimeTooSkewed"))
        hint = " (this node's clock is off)";
    rc = err_set(rc, "%s: %s %s: HTTP %d %s%s%s%s", c->where, method, key ? key : "/", resp->status,
                 code ? code : "", code && msg ? ": " : "", msg ? msg : "", hint);
    free(code);
    free(msg);
    return rc;
}

/* Build the signed request's headers: Host is sent by http.c; the rest
 * go into out (NULL-terminated "Name: value" strings, owned). */
static char **s3_sign(s3_client *c, const char *method, const char *path, const char *query,
                      const char *content_sha, const char *const *extra)
{
    struct sigv4_header h[8];
    struct sigv4_credentials cr = {c->cfg->access_key_id, c->cfg->secret_access_key, c->cfg->region,
                                   "s3"};
    struct sigv4_request rq;
    char date[17], *auth, **out = xcalloc(8, sizeof(*out));
    size_t n = 0, k = 0;

    sigv4_amz_date(date, time(NULL));
    h[n++] = (struct sigv4_header){"host", c->host};
    h[n++] = (struct sigv4_header){"x-amz-date", date};
    h[n++] = (struct sigv4_header){"x-amz-content-sha256", content_sha};
    for (size_t i = 0; extra && extra[i] && i + 1 < 4; i += 2)
        h[n++] = (struct sigv4_header){extra[i], extra[i + 1]};
    rq = (struct sigv4_request){method, path, query, h, n, content_sha};
    auth = sigv4_authorization(&rq, &cr, date, NULL);
    for (size_t i = 1; i < n; i++)
        out[k++] = xasprintf("%s: %s", h[i].name, h[i].value);
    out[k++] = xasprintf("Authorization: %s", auth);
    free(auth);
    return out;
}

static void s3_headers_free(char **h)
{
    for (size_t i = 0; h && h[i]; i++)
        free(h[i]);
    free(h);
}

/* "/bucket/key" (or "/key"), the key encoded with its '/' kept. */
static char *s3_object_path(s3_client *c, const char *key)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s/", c->base);
    if (key)
        sigv4_uri_encode(&b, key, 1);
    return buf_detach(&b);
}

/* One request with a body in memory (or none). extra: name, value pairs
 * to send and sign, NULL-terminated. A 2xx answer is 0; anything else an
 * error (s3_status_error). */
static int s3_request(s3_client *c, const char *method, const char *key, const char *query,
                      const char *const *extra, const void *body, size_t len,
                      struct http_response *resp)
{
    char *path = s3_object_path(c, key), *full, sha[65], **h;
    struct http_req rq;
    enum http_fate fate;
    int rc;

    if (c->streaming)
        return err_set(ERR_GENERIC, "%s: a download is still open", c->where);
    util_sha256_hex(body ? body : "", len, sha);
    h = s3_sign(c, method, path, query, sha, extra);
    full = query && query[0] ? xasprintf("%s?%s", path, query) : xstrdup(path);
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.path = full;
    rq.headers = (const char *const *)h;
    rq.body = body;
    rq.body_len = len;
    rq.idempotent = strcmp(method, "POST") != 0;
    rc = http_request_ex(c->conn, &rq, resp, &fate);
    if (rc < 0)
        err_prefix(rc, "%s: %s %s", c->where, method, key ? key : "/");
    else if (resp->status < 200 || resp->status > 299)
        rc = s3_status_error(c, method, key, resp);
    s3_headers_free(h);
    free(path);
    free(full);
    return rc;
}

int s3_put(s3_client *c, const char *key, const void *data, size_t len)
{
    struct http_response resp;
    int rc;
    http_response_init(&resp);
    rc = s3_request(c, "PUT", key, NULL, NULL, data, len, &resp);
    http_response_dispose(&resp);
    return rc;
}

int s3_get(s3_client *c, const char *key, size_t max, struct buf *out)
{
    struct http_response resp;
    int rc;
    http_response_init(&resp);
    rc = s3_request(c, "GET", key, NULL, NULL, NULL, 0, &resp);
    if (rc == 0 && resp.body.len > max)
        rc = err_set(ERR_TOOLARGE, "%s: %s: over %zu bytes", c->where, key, max);
    if (rc == 0)
        buf_put(out, resp.body.ptr, resp.body.len);
    http_response_dispose(&resp);
    return rc;
}

int s3_head(s3_client *c, const char *key)
{
    struct http_response resp;
    int rc;
    http_response_init(&resp);
    rc = s3_request(c, "HEAD", key, NULL, NULL, NULL, 0, &resp);
    http_response_dispose(&resp);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        return 0;
    }
    return rc < 0 ? rc : 1;
}

int s3_delete(s3_client *c, const char *key)
{
    struct http_response resp;
    int rc;
    http_response_init(&resp);
    rc = s3_request(c, "DELETE", key, NULL, NULL, NULL, 0, &resp);
    http_response_dispose(&resp);
    return rc;
}

int s3_list(s3_client *c, const char *prefix, int (*fn)(void *ctx, const char *key, uint64_t size),
            void *ctx)
{
    struct http_response resp;
    char *token = NULL;
    int rc = 0;

    http_response_init(&resp);
    for (;;) {
        struct buf q = BUF_INIT;
        const char *at;
        char *item, *trunc;
        /* Query parameters in the signer's sorted order. */
        if (token) {
            buf_puts(&q, "continuation-token=");
            sigv4_uri_encode(&q, token, 0);
            buf_putc(&q, '&');
        }
        buf_puts(&q, "list-type=2&prefix=");
        sigv4_uri_encode(&q, prefix, 0);
        rc = s3_request(c, "GET", NULL, buf_cstr(&q), NULL, NULL, 0, &resp);
        buf_dispose(&q);
        if (rc < 0)
            break;
        at = buf_cstr(&resp.body);
        while (rc == 0 && (item = s3_xml(buf_cstr(&resp.body), "Contents", &at)) != NULL) {
            char *key = s3_xml(item, "Key", NULL), *size = s3_xml(item, "Size", NULL);
            unsigned long long sz = size ? strtoull(size, NULL, 10) : 0;
            if (!key)
                rc = err_set(ERR_IO, "%s: a listing entry without a Key", c->where);
            else
                rc = fn(ctx, key, (uint64_t)sz);
            free(key);
            free(size);
            free(item);
        }
        if (rc < 0)
            break;
        trunc = s3_xml(buf_cstr(&resp.body), "IsTruncated", NULL);
        free(token);
        token = trunc && !strcmp(trunc, "true")
                    ? s3_xml(buf_cstr(&resp.body), "NextContinuationToken", NULL)
                    : NULL;
        if (trunc && !strcmp(trunc, "true") && !token)
            rc = err_set(ERR_IO, "%s: a truncated listing without a continuation token", c->where);
        free(trunc);
        if (!token || rc < 0)
            break;
    }
    free(token);
    http_response_dispose(&resp);
    return rc;
}

/* ---- upload ---- */

struct s3_upload {
    s3_client *c;
    char *key;
    unsigned char *part;
    size_t len;
    char *upload_id; /* once a multipart upload was started */
    int parts;
    struct buf complete; /* the CompleteMultipartUpload body so far */
    uint64_t size;
};

void s3_upload_begin(s3_upload **out, s3_client *c, const char *key)
{
    s3_upload *u = xcalloc(1, sizeof(*u));
    u->c = c;
    u->key = xstrdup(key);
    buf_init(&u->complete);
    *out = u;
}

static int s3_upload_part(s3_upload *u)
{
    struct http_response resp;
    struct buf q = BUF_INIT;
    int rc;

    http_response_init(&resp);
    if (!u->upload_id) {
        rc = s3_request(u->c, "POST", u->key, "uploads", NULL, NULL, 0, &resp);
        if (rc == 0 && !(u->upload_id = s3_xml(buf_cstr(&resp.body), "UploadId", NULL)))
            rc = err_set(ERR_IO, "%s: %s: CreateMultipartUpload answered no UploadId", u->c->where,
                         u->key);
        if (rc < 0)
            goto out;
        buf_puts(&u->complete, "<CompleteMultipartUpload>");
    }
    buf_printf(&q, "partNumber=%d&uploadId=", u->parts + 1);
    sigv4_uri_encode(&q, u->upload_id, 0);
    if ((rc = s3_request(u->c, "PUT", u->key, buf_cstr(&q), NULL, u->part, u->len, &resp)) < 0)
        goto out;
    if (!resp.etag) {
        rc = err_set(ERR_IO, "%s: %s: part %d answered no ETag", u->c->where, u->key, u->parts + 1);
        goto out;
    }
    u->parts++;
    buf_printf(&u->complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", u->parts,
               resp.etag);
    u->len = 0;
out:
    buf_dispose(&q);
    http_response_dispose(&resp);
    return rc;
}

int s3_upload_write(s3_upload *u, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t cap = u->c->cfg->part_size;
    if (!u->part)
        u->part = xmalloc(cap);
    while (n > 0) {
        size_t take = cap - u->len < n ? cap - u->len : n;
        int rc;
        memcpy(u->part + u->len, s, take);
        u->len += take;
        u->size += take;
        s += take;
        n -= take;
        /* A full part goes only once more bytes come, so an object of
         * exactly one part is still one PutObject. */
        if (u->len == cap && n > 0 && (rc = s3_upload_part(u)) < 0)
            return rc;
    }
    return 0;
}

int s3_upload_finish(s3_upload *u, uint64_t *out_size)
{
    struct http_response resp;
    struct buf q = BUF_INIT;
    int rc;

    http_response_init(&resp);
    if (!u->upload_id) {
        rc = s3_request(u->c, "PUT", u->key, NULL, NULL, u->part ? u->part : (void *)"", u->len,
                        &resp);
    } else if ((rc = s3_upload_part(u)) == 0) {
        static const char *const ctype[] = {"content-type", "application/xml", NULL};
        buf_puts(&u->complete, "</CompleteMultipartUpload>");
        buf_puts(&q, "uploadId=");
        sigv4_uri_encode(&q, u->upload_id, 0);
        rc = s3_request(u->c, "POST", u->key, buf_cstr(&q), ctype, u->complete.ptr, u->complete.len,
                        &resp);
        /* S3 may answer 200 and put the failure in the body. */
        if (rc == 0 && strstr(buf_cstr(&resp.body), "<Error>"))
            rc = s3_status_error(u->c, "CompleteMultipartUpload", u->key, &resp);
        if (rc == 0) {
            free(u->upload_id);
            u->upload_id = NULL; /* done: nothing to abort */
        }
    }
    if (rc == 0 && out_size)
        *out_size = u->size;
    buf_dispose(&q);
    http_response_dispose(&resp);
    s3_upload_abort(u);
    return rc;
}

void s3_upload_abort(s3_upload *u)
{
    if (!u)
        return;
    if (u->upload_id) {
        struct http_response resp;
        struct buf q = BUF_INIT;
        char *msg = xstrdup(err_last());
        int code = err_last_code();
        http_response_init(&resp);
        buf_puts(&q, "uploadId=");
        sigv4_uri_encode(&q, u->upload_id, 0);
        /* Best effort: the error that made us abort is the one to report. */
        s3_request(u->c, "DELETE", u->key, buf_cstr(&q), NULL, NULL, 0, &resp);
        err_set(code, "%s", msg);
        free(msg);
        buf_dispose(&q);
        http_response_dispose(&resp);
    }
    free(u->key);
    free(u->part);
    free(u->upload_id);
    buf_dispose(&u->complete);
    free(u);
}

/* ---- download ---- */

struct s3_download {
    s3_client *c;
    http_stream *s;
    char *key;
};

int s3_download_open(s3_download **out, s3_client *c, const char *key)
{
    struct http_response resp;
    char *path = s3_object_path(c, key), **h;
    http_stream *s = NULL;
    int rc;

    *out = NULL;
    http_response_init(&resp);
    h = s3_sign(c, "GET", path, NULL, SIGV4_EMPTY_SHA256, NULL);
    rc = http_stream_open(&s, c->conn, path, (const char *const *)h, &resp);
    if (rc < 0)
        err_prefix(rc, "%s: GET %s", c->where, key);
    else if (!s)
        rc = s3_status_error(c, "GET", key, &resp);
    if (rc == 0) {
        s3_download *d = xcalloc(1, sizeof(*d));
        d->c = c;
        d->s = s;
        d->key = xstrdup(key);
        c->streaming = 1;
        *out = d;
    }
    s3_headers_free(h);
    free(path);
    http_response_dispose(&resp);
    return rc;
}

int s3_download_read(void *ctx, void *p, size_t n, size_t *got)
{
    s3_download *d = ctx;
    long k = http_stream_read(d->s, p, n);
    *got = 0;
    if (k < 0)
        return err_prefix((int)k, "%s: GET %s", d->c->where, d->key);
    *got = (size_t)k;
    return 0;
}

void s3_download_close(s3_download *d)
{
    if (!d)
        return;
    http_stream_close(d->s);
    d->c->streaming = 0;
    free(d->key);
    free(d);
}
