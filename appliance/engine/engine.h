/*
 * The controller. One engine owns the connections to the configured
 * clusters and the Git mirrors, and reconciles every registered
 * Application each poll interval:
 *
 *   fetch mirror -> resolve revision -> read folder -> render
 *     -> compare (server-side dry-run apply vs live) -> apply what differs
 *     (automated sync) -> prune tracked objects gone from Git (prune on)
 *     -> record revision, per-resource results and sync status in the store
 *
 * An Application's sources (spec.source or spec.sources) are fetched every
 * pass; what they render to is kept in a render cache keyed by their
 * commits and every option that changes the output (renderCacheEntries,
 * least recently used dropped first), so an unchanged app is not rendered
 * again.
 *
 * A source that cannot be fetched or rendered never leads to pruning: the
 * pass stops before anything is applied or deleted, the previous
 * resources stay recorded and the error is recorded beside them.
 *
 * Every managed object carries label edgecd.io/app=<app> (shortened with
 * a hash past 63 characters) and annotation
 * edgecd.io/tracking-id=<app>:<group>/<kind>:<namespace>/<name>; only
 * objects whose annotation names this app and this object are pruned.
 *
 * Each cluster gets a watch cache of the kinds the engine applies; a
 * change to a managed object that no pass made (or its deletion) wakes
 * the run loop to reconcile that app within a second, reverting it when
 * selfHeal is on and recording OutOfSync when it is off.
 *
 * An engine is used by one thread (the reconcile loop); the caches'
 * watcher threads only touch state the engine guards itself.
 */
#ifndef EDGECD_ENGINE_ENGINE_H
#define EDGECD_ENGINE_ENGINE_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>

#include "core/buf.h"
#include "model/config.h"
#include "storage/store.h"

#define ENGINE_LABEL_APP "edgecd.io/app"
#define ENGINE_ANNOTATION_TRACKING "edgecd.io/tracking-id"
/* on a stored Application that another app rendered (App of Apps) */
#define ENGINE_ANNOTATION_PARENT "edgecd.io/parent"
/* on a stored Application that an ApplicationSet generated: its name */
#define ENGINE_ANNOTATION_APPSET "edgecd.io/applicationset"
/* on an Application: the apps (comma-separated) that must be Synced and
 * Healthy before it syncs */
#define ENGINE_ANNOTATION_DEPENDS_ON "edgecd.io/depends-on"

typedef struct engine engine;

/* cfg and st are borrowed and must outlive the engine; mirrors live under
 * data_dir/mirrors. */
int engine_new(engine **out, store *st, const struct config *cfg, const char *data_dir);
void engine_free(engine *e);

/* One reconcile pass of one application; the outcome (also a failure) is
 * recorded in the store. Returns 0 if the pass succeeded, or the error
 * that was recorded. Always fetches and compares fully (the run loop's
 * polls may take the last fetch and a settled app's last answer). */
int engine_reconcile(engine *e, const char *app_name);

/* Reconcile every application now, then each one every poll interval
 * plus a random part of the jitter, until *stop becomes non-zero. A
 * refresh asked for, or a change to a managed object seen by a watch,
 * reconciles the app it concerns within about a second. */
void engine_run(engine *e, volatile sig_atomic_t *stop);

/* Ask for a refresh of every app whose source is repo_url (compared
 * without case, trailing "/" or ".git") and follows revision: a branch
 * ("main" or "refs/heads/main") matches apps on that branch or on HEAD; a
 * tag ("refs/tags/v1") or "" matches every app of the repository. For the
 * webhook endpoint; any thread. The fetch itself is skipped by the
 * mirror when the remote's refs did not change. */
void engine_refresh(engine *e, const char *repo_url, const char *revision);

/* Ask for a refresh of one app by name. Any thread. */
void engine_refresh_app(engine *e, const char *app_name);

/* Operations an operator asks for (the API, the CLI). Any thread: each
 * is checked against the store now (ERR_NOTFOUND: no such app, or no
 * such history entry; ERR_CONFLICT: an operation is running, or none is
 * for terminate; ERR_INVALID: rollback with automated sync on, as Argo
 * CD refuses it) and carried out by the run loop within about a second.
 * What happened is in the app's operation state and events. */
struct engine_sync_options {
    int prune;
    int dry_run;
    const json_t *resources; /* NULL: all; else ["group:kind:name", ...] */
    const char *user;        /* who asked ("user:NAME"); NULL: "user" */
    /* Argo CD's sync --revision: a branch, tag, semver range or commit
     * rendered instead of targetRevision (resolved to a commit when the
     * operation starts; the app still compares against targetRevision).
     * NULL or "": targetRevision. ERR_INVALID while automated sync is on
     * and it differs from targetRevision (dry runs aside), and for apps
     * with several sources. */
    const char *revision;
};
int engine_request_sync(engine *e, const char *app, const struct engine_sync_options *o);
int engine_request_terminate(engine *e, const char *app);
/* Delete the app: with cascade, first every object it tracks (except
 * those annotated sync-options Delete=false), foreground; without,
 * its resources keep running. A child of an App of Apps comes back with
 * its parent's next pass while Git still has it, as in Argo CD. */
int engine_request_delete(engine *e, const char *app, int cascade, const char *user);

/* Sync to the objects of history entry id (no Git needed). */
int engine_request_rollback(engine *e, const char *app, long long id, int prune, const char *user);

/* The unified diff (appended to out) of each desired object of app's last
 * pass against the live one (projected on the fields Git sets, ignored
 * fields left out); *differs 1 when any differs. ERR_NOTFOUND when no
 * pass has compared the app since the engine started. Any thread. */
int engine_diff(engine *e, const char *app, struct buf *out, int *differs);

/* How many times sources were rendered (not taken from the render
 * cache) since the engine started: for tests and diagnostics. */
size_t engine_render_count(const engine *e);

/* Counters since the engine started, for tests, benchmarks and metrics. */
struct engine_stats {
    size_t renders;         /* sources rendered (render cache misses) */
    unsigned long dry_runs; /* server-side dry-run applies made by compare */
    unsigned long applies;  /* applies that changed the cluster */
    unsigned long requests; /* Kubernetes API requests of the engine's clients
                             * (the watch caches' own not counted) */
    unsigned long passes;   /* passes of the run loop that compared fully */
    unsigned long settled;  /* passes that found a settled app's inputs unchanged */
    unsigned long fetches;  /* repository fetches made (the fetch memo's misses) */
};
void engine_stats(engine *e, struct engine_stats *out);

/* Connect to url with its stored credentials (as a fetch would) and list
 * its refs: 0 with *message ("3 branches and tags"), or the fetch's
 * errors. *message is new. Any thread; takes as long as the server. */
int engine_repo_validate(engine *e, const char *url, char **message);

/* Discovery against the cluster name with a client of its own: 0 with
 * *message ("discovery: 57 resource kinds"), ERR_NOTFOUND for a name no
 * cluster has, or the client's errors. *message is new. Any thread. */
int engine_cluster_validate(engine *e, const char *name, char **message);

/* Add a cluster from kubeconfig text (context NULL or "": its current
 * one): the text is parsed (no file references: ERR_UNSUPPORTED),
 * sealed and stored, and the cluster is usable at once by name and by
 * its server, which *out_server (new) says. ERR_INVALID for a bad name
 * or kubeconfig, ERR_CONFLICT when a cluster has the name or server.
 * Any thread. */
int engine_cluster_add(engine *e, const char *name, const char *kubeconfig, const char *context,
                       char **out_server);
/* Remove a cluster added through the API: ERR_NOTFOUND, or ERR_CONFLICT
 * for one of the site config. Apps that name it fail their next pass.
 * Any thread. */
int engine_cluster_remove(engine *e, const char *name);
/* The clusters as a new array of {name, server, origin ("config" or
 * "api"), createdAt (API-added)}; never credentials. Any thread. */
json_t *engine_clusters_json(engine *e);

/* 1 once engine_run has been through every registered application once
 * (each polled, or found settled), else 0: for /readyz. Any thread. */
int engine_ready(engine *e);

/* The engine's Prometheus metrics, appended to out:
 * argocd_app_sync_total{phase} (finished sync operations) and the
 * argocd_app_reconcile histogram (seconds per pass, settled ones
 * included). Any thread. */
void engine_metrics_write(engine *e, struct buf *out);

/* The label value for an app name: the name itself up to 63 characters,
 * else its first 52 characters, '-', and 10 hex digits of its SHA-256.
 * out must hold 64 bytes. */
void engine_label_value(const char *app_name, char out[64]);

/* ---- What the API shows of an app's resources (view.c) ----
 * Each reads the app's recorded status, the desired objects of its last
 * compare and live objects from the watch cache (a GET for kinds it does
 * not hold). Secret values are masked (doc_mask_secrets). Outputs are new
 * references; ERR_NOTFOUND for an unknown app. Any thread. */

/* {"items": [{group, version, kind, namespace, name, status, health,
 * liveState, targetState, diff, ignoredPaths}]}: liveState and
 * targetState are JSON text ("null" when absent), diff a unified diff. */
int engine_managed_resources(engine *e, const char *app, json_t **out);

/* {"nodes": [...]}: the managed resources, then their live children
 * (ReplicaSets, Jobs, Pods: listed now in the managed namespaces, at most
 * ENGINE_TREE_MAX_CHILDREN per kind and namespace) linked by
 * ownerReferences, each with its health. */
#define ENGINE_TREE_MAX_CHILDREN 1000
int engine_resource_tree(engine *e, const char *app, json_t **out);

/* One object of the app's tree (a managed resource or a live child). */
struct engine_resource_ref {
    const char *group, *version, *kind, *ns, *name, *uid; /* version, uid may be NULL or "" */
};
/* The live object, masked. ERR_NOTFOUND when it is not in the app's tree
 * or not in the cluster. */
int engine_resource_get(engine *e, const char *app, const struct engine_resource_ref *ref,
                        json_t **out);
/* {"items": [Event...]}: the Kubernetes events whose involvedObject is
 * ref (name and namespace; uid too when given), oldest first, messages
 * of a Secret's events scrubbed of its values. */
int engine_resource_events(engine *e, const char *app, const struct engine_resource_ref *ref,
                           json_t **out);

/* Every value (raw and base64) of the app's Secrets, desired and live,
 * as a new array of strings, longest first: what doc_mask_text scrubs
 * from free text such as the app's event messages. */
int engine_secret_values(engine *e, const char *app, json_t **out);

/* Pod logs of a pod in the app's tree. fn gets each line (time as the
 * kubelet stamped it, content without the newline), and NULL time and
 * content about once a second while a follow waits; a negative return
 * from fn ends the stream. Ends when the log ends (no follow), the pod
 * goes, or fn says so. container "" or NULL: the pod's only (first)
 * container; tail_lines < 0: all. */
struct engine_log_request {
    const char *ns, *pod, *container;
    long tail_lines;
    int follow;
};
typedef int (*engine_log_fn)(void *ctx, const char *time, const char *content);
int engine_pod_logs(engine *e, const char *app, const struct engine_log_request *rq,
                    engine_log_fn fn, void *ctx);

/* Store an Application written through the API (body borrowed) and queue
 * its reconcile; see register.c for who owns which app. create: POST
 * (replace: ?upsert=true), else PUT of name (the body's metadata.name must
 * agree). *out_name (new) names the stored app. ERR_INVALID for a bad spec
 * (nothing stored, the message from model/ or the project), ERR_CONFLICT
 * when it exists (create without replace) or the site config, a parent
 * app or an ApplicationSet owns it, ERR_NOTFOUND for PUT of an unknown
 * app. Any thread. */
int engine_app_write(engine *e, const json_t *body, int create, int replace, const char *name,
                     char **out_name);

/* A refresh of app (engine_refresh_app) that also empties the render
 * cache, so its sources are rendered again (Argo CD's hard refresh). */
void engine_refresh_app_hard(engine *e, const char *app_name);

#endif
