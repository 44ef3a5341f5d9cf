/*
 * The Kubernetes client: discovery (apiVersion+kind -> resource path and
 * scope, cached, refreshed when an unknown kind shows up), get, list with
 * label and field selectors in pages, server-side apply, create, patch,
 * delete and delete-and-wait. API errors come back as the Status object's
 * message, with codes: 404 ERR_NOTFOUND, 409 ERR_CONFLICT, 401/403
 * ERR_AUTH, 400/422 ERR_INVALID, 413 ERR_TOOLARGE, others ERR_GENERIC; the
 * message reads "<verb> <kind> <ns>/<name>: <reason>: <Status.message>".
 *
 * Every call is bounded by a deadline (request_timeout_ms) and retried
 * with jittered exponential backoff on 429, 500, 502, 503, 504 (honouring
 * Retry-After) and on dropped connections, when repeating it is harmless:
 * GET, LIST, DELETE and server-side apply are; create and other patches
 * are retried only when the request never reached the server.
 *
 * One kube_client may be used by any number of threads at once; it keeps
 * up to pool_size keep-alive connections to its cluster.
 */
#ifndef EDGECD_KUBE_CLIENT_H
#define EDGECD_KUBE_CLIENT_H

#include <jansson.h>

#include "core/buf.h"
#include "kube/kubeconfig.h"

typedef struct kube_client kube_client;

/* What discovery knows about a kind. Owned by the client, valid until it
 * is freed. */
struct kube_resource {
    const char *group; /* "" for the core group */
    const char *version;
    const char *kind;
    const char *resource; /* plural, e.g. "deployments" */
    int namespaced;
    int listable; /* discovery lists the "list" verb for it */
};

/* Knobs, all with defaults (KUBE_CLIENT_OPTIONS_INIT). */
struct kube_client_options {
    int connect_timeout_ms; /* TCP connect (and TLS handshake start) */
    int io_timeout_ms;      /* any one read or write */
    int request_timeout_ms; /* one call, all its attempts and waits included */
    int max_attempts;       /* tries per call, the first included (>= 1) */
    int retry_base_ms;      /* first backoff; doubles per attempt, jittered */
    int retry_max_ms;       /* cap of one backoff */
    int retry_after_max_ms; /* cap on a server's Retry-After */
    int pool_size;          /* keep-alive connections at most (1..16) */
    int list_page_size;     /* items per LIST page (limit=) */
    int token_check_ms;     /* how often tokenFile is checked for rotation */
    size_t max_response;    /* bytes of one response body */
};
#define KUBE_CLIENT_OPTIONS_INIT                                                                   \
    {                                                                                              \
        5000, 30000, 60000, 5, 250, 8000, 30000, 4, 500, 5000, 64u << 20                           \
    }

/* Copies what it needs from kc; checks the certificates and keys now
 * (ERR_INVALID). kube_client_new uses the default options. */
int kube_client_new(kube_client **out, const struct kubeconfig *kc);
int kube_client_new_opts(kube_client **out, const struct kubeconfig *kc,
                         const struct kube_client_options *opts);
void kube_client_free(kube_client *c);

/* The namespace of the kubeconfig's context ("default" if it names none).
 * Owned by the client. */
const char *kube_client_namespace(const kube_client *c);

/* Counters since kube_client_new, for tests and diagnostics. */
struct kube_client_stats {
    unsigned long requests;    /* HTTP requests sent, retries included */
    unsigned long retries;     /* requests sent again after a failure */
    unsigned long discoveries; /* full discovery passes */
    int connections;           /* connections in the pool, busy or idle */
};
void kube_client_stats(kube_client *c, struct kube_client_stats *out);

/* The Prometheus metrics of every client of the process, appended to out:
 * edgecd_kube_request_total{verb,code} (code "error" when no answer
 * came) and edgecd_kube_request_duration_seconds{verb}, one sample per
 * attempt (retries included). Any thread. */
void kube_metrics_write(struct buf *out);

/* Run discovery now (GET /api/v1, /apis, each group's preferred version)
 * and add what it finds to the cache; kube_client_resource does this by
 * itself on a miss. ERR_IO/ERR_AUTH/... as for any request. */
int kube_client_discover(kube_client *c);

/* Resolve apiVersion ("v1", "apps/v1") + kind. Refreshes discovery when
 * the kind is unknown, at most once a second per kind (sooner after this
 * client applied, created, patched or deleted a CustomResourceDefinition or
 * APIService). ERR_NOTFOUND if the server has no such kind. */
int kube_client_resource(kube_client *c, const char *api_version, const char *kind,
                         const struct kube_resource **out);

/* Resolve group ("" for core) + kind at the group's preferred version,
 * refreshing as kube_client_resource does. */
int kube_client_preferred(kube_client *c, const char *group, const char *kind,
                          const struct kube_resource **out);

/* One fresh discovery pass, then every kind the server serves at its
 * group's preferred version (the core group at v1), subresources left
 * out. *out is a new array of pointers owned by the client (free the
 * array only), *n its length. Groups whose preferred version could not be
 * read (an aggregated API that is down) do not fail the call: they come
 * back in *out_failed (may be NULL) as a new JSON array of strings
 * "group/version: message". ERR_IO/ERR_AUTH/... when discovery itself
 * fails. */
int kube_client_preferred_resources(kube_client *c, const struct kube_resource ***out, size_t *n,
                                    json_t **out_failed);

/* GET one object; *out is a new reference. ns is ignored for
 * cluster-scoped kinds. */
int kube_client_get(kube_client *c, const char *api_version, const char *kind, const char *ns,
                    const char *name, json_t **out);

/* LIST objects of a kind (ns NULL = all namespaces) matching
 * label_selector (NULL = all). *out_items is a new JSON array of objects
 * that carry apiVersion and kind. */
int kube_client_list(kube_client *c, const char *api_version, const char *kind, const char *ns,
                     const char *label_selector, json_t **out_items);

/* What to list. */
struct kube_list_options {
    const char *label_selector; /* NULL = all */
    const char *field_selector; /* NULL = all, e.g. "metadata.name=x" */
    int page_size;              /* 0 = the client's list_page_size */
};
#define KUBE_LIST_OPTIONS_INIT                                                                     \
    {                                                                                              \
        NULL, NULL, 0                                                                              \
    }

/* LIST as kube_client_list, with field selectors and a page size: pages
 * (limit/continue) are fetched and concatenated; when a continue token
 * expires (410) the list starts over once. *out_resource_version (may be
 * NULL) receives the list's resourceVersion, owned by the caller. */
int kube_client_list_opts(kube_client *c, const char *api_version, const char *kind, const char *ns,
                          const struct kube_list_options *o, json_t **out_items,
                          char **out_resource_version);

/* LIST r (ns NULL = all namespaces) page by page, handing each item
 * (with apiVersion and kind, a reference borrowed for the call) to
 * on_item; only one page is held at a time. A negative return from
 * on_item stops the walk and is returned. A continue token that expires
 * midway (410) is ERR_CONFLICT: the items already handed over cannot be
 * taken back, so the caller decides whether to start again. */
int kube_client_list_each(kube_client *c, const struct kube_resource *r, const char *ns,
                          const struct kube_list_options *o,
                          int (*on_item)(void *ctx, json_t *item), void *ctx);

/* Server-side apply (PATCH application/apply-patch+yaml, fieldManager
 * edgecd, force=true) of obj, which must carry apiVersion, kind,
 * metadata.name (and metadata.namespace for namespaced kinds). dry_run
 * adds dryRun=All. *out_live (may be NULL) receives the server's answer. */
int kube_client_apply(kube_client *c, const json_t *obj, int dry_run, json_t **out_live);

/* Server-side apply with a chosen field manager (NULL = "edgecd") and
 * force. Without force, a field another manager owns with a different
 * value is a conflict: ERR_CONFLICT with the server's message naming the
 * manager and the field. */
struct kube_apply_options {
    const char *manager;
    int force;
    int dry_run;
};
#define KUBE_APPLY_OPTIONS_INIT                                                                    \
    {                                                                                              \
        NULL, 1, 0                                                                                 \
    }
int kube_client_apply_opts(kube_client *c, const json_t *obj, const struct kube_apply_options *o,
                           json_t **out_live);

/* DELETE with propagationPolicy (NULL = server default, otherwise
 * "Foreground", "Background", "Orphan"). ERR_NOTFOUND if already gone. */
int kube_client_delete(kube_client *c, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *propagation);

/* kube_client_delete, then wait until the object is really gone (its
 * finalizers done): GET with backoff until 404, or until an object of that
 * name with another UID shows up (it was recreated). ERR_NOTFOUND if it
 * did not exist; ERR_TIMEOUT after timeout_ms, naming the finalizers that
 * still hold it. */
int kube_client_delete_wait(kube_client *c, const char *api_version, const char *kind,
                            const char *ns, const char *name, const char *propagation,
                            int timeout_ms);

/* POST obj (apiVersion, kind, metadata.name or generateName, and
 * metadata.namespace for namespaced kinds) as a new object, fieldManager
 * edgecd. ERR_CONFLICT if it exists. Not retried once it may have reached
 * the server. *out_live (may be NULL) receives the created object. */
int kube_client_create(kube_client *c, const json_t *obj, json_t **out_live);

/* PATCH an object with patch_type "merge" (RFC 7386), "strategic" or
 * "json" (RFC 6902; patch is then an array). Not retried once it may have
 * reached the server. *out_live (may be NULL) receives the result. */
int kube_client_patch(kube_client *c, const char *api_version, const char *kind, const char *ns,
                      const char *name, const char *patch_type, const json_t *patch,
                      json_t **out_live);

/* ---- for watches ----
 * What kube/watch.c needs to talk to the same API server on a connection
 * of its own. */

/* The Authorization header line for the next request ("Authorization:
 * Bearer ..."), re-reading tokenFile when due; *out is NULL when the
 * client authenticates by certificate only. The caller frees *out (it
 * holds a secret: wipe it first). */
int kube_client_auth_header(kube_client *c, char **out);

/* Append the collection path of r ("/api/v1/namespaces/NS/configmaps";
 * ns NULL or "" = all namespaces) to out. */
void kube_client_collection_path(const struct kube_resource *r, const char *ns, struct buf *out);

/* Close the client's connection until its next request (see
 * http_conn_close_idle): for a client used seldom, like a watcher's. */
void kube_client_close_idle(kube_client *c);

/* ---- streamed GETs (pod logs) ----
 * A GET whose body is read as it arrives, on a connection of its own
 * (the pool's are not held for minutes). */
typedef struct kube_stream kube_stream;

/* GET path (with its query) and read the answer's head: 0 with *out open
 * for a 2xx answer; else the API server's error (ERR_NOTFOUND, ERR_AUTH,
 * ERR_INVALID for 400, ...) with its message. what names the call in
 * messages ("logs of pod ns/x"). Any thread. */
int kube_client_stream_open(kube_client *c, const char *path, const char *what, kube_stream **out);
/* 1 when body bytes (or its end) can be read without blocking, 0 after
 * wait_ms without, <0 on error. */
int kube_stream_wait(kube_stream *s, int wait_ms);
/* Bytes read (> 0), 0 at the end of the body, <0 on error. */
long kube_stream_read(kube_stream *s, void *dst, size_t cap);
/* Accepts NULL. */
void kube_stream_close(kube_stream *s);

#endif
