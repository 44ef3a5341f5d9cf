/*
 * The Kubernetes client: discovery (apiVersion+kind -> resource path and
 * scope, cached, refreshed when an unknown kind shows up), get, list with a
 * label selector, server-side apply and delete. API errors come back as the
 * Status object's message, with codes: 404 ERR_NOTFOUND, 409 ERR_CONFLICT,
 * 401/403 ERR_AUTH, 400/422 ERR_INVALID, 413 ERR_TOOLARGE, others
 * ERR_GENERIC; the message reads "<verb> <kind> <ns>/<name>: <reason>:
 * <Status.message>".
 *
 * One kube_client is used by one thread at a time.
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
};

/* Copies what it needs from kc. */
int kube_client_new(kube_client **out, const struct kubeconfig *kc);
void kube_client_free(kube_client *c);

/* Run discovery now (GET /api/v1, /apis, each group's preferred version)
 * and add what it finds to the cache; kube_client_resource does this by
 * itself on a miss. ERR_IO/ERR_AUTH/... as for any request. */
int kube_client_discover(kube_client *c);

/* Resolve apiVersion ("v1", "apps/v1") + kind. Refreshes discovery once
 * when the kind is unknown. ERR_NOTFOUND if the server has no such kind. */
int kube_client_resource(kube_client *c, const char *api_version, const char *kind,
                         const struct kube_resource **out);

/* GET one object; *out is a new reference. ns is ignored for
 * cluster-scoped kinds. */
int kube_client_get(kube_client *c, const char *api_version, const char *kind, const char *ns,
                    const char *name, json_t **out);

/* LIST objects of a kind (ns NULL = all namespaces) matching
 * label_selector (NULL = all). *out_items is a new JSON array of objects
 * that carry apiVersion and kind. */
int kube_client_list(kube_client *c, const char *api_version, const char *kind, const char *ns,
                     const char *label_selector, json_t **out_items);

/* Server-side apply (PATCH application/apply-patch+yaml, fieldManager
 * edgecd, force=true) of obj, which must carry apiVersion, kind,
 * metadata.name (and metadata.namespace for namespaced kinds). dry_run
 * adds dryRun=All. *out_live (may be NULL) receives the server's answer. */
int kube_client_apply(kube_client *c, const json_t *obj, int dry_run, json_t **out_live);

/* DELETE with propagationPolicy (NULL = server default, otherwise
 * "Foreground", "Background", "Orphan"). ERR_NOTFOUND if already gone. */
int kube_client_delete(kube_client *c, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *propagation);

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

#endif
