/*
 * The watch cache of one cluster: the live state of the objects edgecd
 * manages, kept current by LIST+WATCH of only the kinds registered with
 * kube_cache_watch and only the objects that carry the app label (the
 * server filters by label existence), so memory grows with what edgecd
 * manages, not with the cluster.
 *
 * Each object is kept as its compact JSON text without
 * metadata.managedFields, next to its resourceVersion and app label, and
 * parsed again only when asked for. Changes are reported through
 * on_change on the watcher thread that saw them, well within a second of
 * the server's event.
 *
 * All functions may be called from any thread.
 */
#ifndef EDGECD_KUBE_CACHE_H
#define EDGECD_KUBE_CACHE_H

#include <stddef.h>

#include <jansson.h>

#include "kube/kubeconfig.h"

enum kube_cache_event {
    KUBE_CACHE_ADDED,    /* first seen (also at the first listing) */
    KUBE_CACHE_MODIFIED, /* a new resourceVersion */
    KUBE_CACHE_DELETED,  /* deleted, lost its label, or gone while the watch was away */
};

/* What changed; every string is borrowed for the duration of the call. */
struct kube_cache_change {
    enum kube_cache_event event;
    const char *app; /* the label's value */
    const char *api_version;
    const char *kind;
    const char *ns; /* "" for cluster-scoped objects */
    const char *name;
    const char *resource_version; /* the new one; the last known for DELETED */
};

/* Runs on a watcher thread, without cache locks held: it may call
 * kube_cache_get or kube_cache_list_app, but not kube_cache_free. */
typedef void (*kube_cache_fn)(void *ctx, const struct kube_cache_change *ch);

struct kube_cache_options {
    const char *label_key;   /* the app label; objects without it are not cached */
    int watch_timeout_s;     /* per watch request */
    int backoff_min_ms;      /* first wait after a failed request */
    kube_cache_fn on_change; /* may be NULL */
    void *ctx;
};
#define KUBE_CACHE_OPTIONS_INIT                                                                    \
    {                                                                                              \
        "edgecd.io/app", 300, 250, NULL, NULL                                                      \
    }

typedef struct kube_cache kube_cache;

/* kc and opts are copied. Starts no thread until a kind is registered. */
int kube_cache_new(kube_cache **out, const struct kubeconfig *kc,
                   const struct kube_cache_options *opts);

/* Stop every watcher and free. Accepts NULL. Not from on_change. */
void kube_cache_free(kube_cache *c);

/* Watch api_version+kind from now on (LIST, then WATCH); a kind already
 * watched is a no-op. ERR_INVALID for an empty apiVersion or kind; a kind
 * the server lacks is retried with backoff by its watcher. */
int kube_cache_watch(kube_cache *c, const char *api_version, const char *kind);

/* 1 when the kind is watched and its first listing has completed. */
int kube_cache_synced(kube_cache *c, const char *api_version, const char *kind);

/* The cached object, parsed anew (*out is the caller's). ns "" or NULL for
 * cluster-scoped kinds. *rv (may be NULL) gets the resourceVersion (caller
 * frees). ERR_NOTFOUND when not cached (or the kind is not watched). */
int kube_cache_get(kube_cache *c, const char *api_version, const char *kind, const char *ns,
                   const char *name, json_t **out, char **rv);

/* Every cached object whose app label is app, as a new JSON array. */
int kube_cache_list_app(kube_cache *c, const char *app, json_t **out);

struct kube_cache_stats {
    size_t kinds;      /* registered kinds */
    size_t objects;    /* cached objects */
    size_t json_bytes; /* their compact JSON text, summed */
};
void kube_cache_stats(kube_cache *c, struct kube_cache_stats *out);

#endif
