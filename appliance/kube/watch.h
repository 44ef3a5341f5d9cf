/*
 * Watching one kind on one cluster: LIST, then WATCH from the list's
 * resourceVersion on a connection of its own, resuming from the last
 * version seen whenever the stream ends or drops, and listing again when
 * the server says that version is too old (410 Gone / Expired). Each
 * watcher runs one thread; events reach the caller's function on that
 * thread, in the order the server sent them.
 *
 * After a re-list the caller learns what disappeared while the watch was
 * away from the bracket RELIST_BEGIN ... LISTED* ... RELIST_END: every
 * object the caller holds for this kind that was not LISTED in between
 * is gone. A listing cut short sends no RELIST_END (the next one starts
 * over with a new RELIST_BEGIN).
 */
#ifndef EDGECD_KUBE_WATCH_H
#define EDGECD_KUBE_WATCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kube/client.h"
#include "kube/kubeconfig.h"

enum kube_watch_event {
    KUBE_WATCH_ADDED,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_RELIST_BEGIN, /* obj NULL: a full listing follows */
    KUBE_WATCH_LISTED,       /* one object of that listing */
    KUBE_WATCH_RELIST_END,   /* obj NULL: what was not LISTED is gone */
};

/* obj is borrowed, valid during the call, and carries apiVersion and
 * kind. Runs on the watcher's thread; must not call kube_watch_free on
 * its own watcher. */
typedef void (*kube_watch_fn)(void *ctx, enum kube_watch_event ev, json_t *obj);

struct kube_watch_options {
    const char *label_selector; /* server-side filter; NULL = every object */
    const char *namespace_;     /* NULL or "" = all namespaces */
    int timeout_seconds;        /* asked of the server per watch request */
    int backoff_min_ms;         /* first wait after a failure */
    int backoff_max_ms;         /* the wait doubles up to this */
    size_t max_event;           /* bytes of one event line; over it: re-list */
    int list_page;              /* items per LIST page */
    /* Discovery and the bearer token come from a kube_client. NULL: the
     * watcher makes its own. Set: borrowed (it must outlive the watcher)
     * and used only under client_mu, so the watchers of one cluster can
     * share one client instead of each holding a connection. */
    kube_client *client;
    pthread_mutex_t *client_mu;
};
#define KUBE_WATCH_OPTIONS_INIT                                                                    \
    {                                                                                              \
        NULL, NULL, 300, 250, 30000, 16u << 20, 100, NULL, NULL                                    \
    }

typedef struct kube_watch kube_watch;

/* Start watching api_version+kind. kc and opts are copied. The thread
 * starts at once; connection problems are retried with backoff, never
 * returned. ERR_INVALID for a bad kubeconfig (no server, bad PEM). */
int kube_watch_new(kube_watch **out, const struct kubeconfig *kc, const char *api_version,
                   const char *kind, const struct kube_watch_options *opts, kube_watch_fn fn,
                   void *ctx);

/* Stop the thread (within a fraction of a second) and free. Accepts
 * NULL. Any thread but the watcher's own. */
void kube_watch_free(kube_watch *w);

/* Counters for diagnostics and tests; any thread. */
struct kube_watch_stats {
    uint64_t lists;     /* completed listings */
    uint64_t watches;   /* watch requests answered 2xx */
    uint64_t events;    /* ADDED/MODIFIED/DELETED delivered */
    uint64_t bookmarks; /* BOOKMARK events seen */
    uint64_t expired;   /* 410 answers (HTTP or ERROR events) */
    uint64_t failures;  /* failed requests and dropped streams */
    int synced;         /* a listing completed and the watch is current */
    char rv[64];        /* the resourceVersion a resume would start from */
    char last_error[256];
};
void kube_watch_stats(kube_watch *w, struct kube_watch_stats *out);

#endif
