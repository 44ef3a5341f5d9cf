/*
 * What the engine's files share (not part of engine.h): the engine's
 * state and the helpers several steps use.
 */
#ifndef EDGECD_ENGINE_INTERNAL_H
#define EDGECD_ENGINE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "engine/engine.h"
#include "core/metrics.h"
#include "doc/doc.h"
#include "engine/health.h"
#include "git/mirror.h"
#include "model/app.h"
#include "model/project.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "storage/store.h"

/* A cluster of the engine's list (clusters.c): refcounted, because the
 * API can remove one while a pass or a view uses it. */
struct engine_cluster {
    char *name;
    char *server;
    const struct config_cluster *cfg; /* the site config's; NULL: added through the API */
    char *context;                    /* API-added: the kubeconfig context ("" = current) */
    char *sealed;                     /* API-added: the kubeconfig, sealed (core/seal.h) */
    char *created_at;                 /* API-added: when; NULL for the config's */
    unsigned refs;                    /* the list's one, and one per holder (atomic) */
    pthread_mutex_t connect_mu;       /* held while connecting; guards kc and cache */
    kube_client *kc;                  /* connected on first use; NULL until then */
    kube_cache *cache;                /* made with kc */
};

struct engine {
    store *st;
    const struct config *cfg;
    char *data_dir; /* holds keys/secret.key */
    char *mirrors_dir;
    /* The clusters (clusters.c), under clusters_mu: the list changes
     * while edgecd runs. */
    pthread_mutex_t clusters_mu;
    struct engine_cluster **clusters;
    size_t n_clusters;

    /* Shared with the caches' watcher threads, under mu. */
    pthread_mutex_t mu;
    json_t *seen;     /* "apiVersion|kind|ns|name" -> resourceVersion last seen by a pass */
    json_t *dirty;    /* app label value -> true: changed in the cluster */
    json_t *refresh;  /* [{"repo": url, "revision": ref}] and {"app": name} asked for */
    json_t *requests; /* operations asked for: [{"app", "kind": sync|terminate|rollback, ...}] */
    json_t
        *desired; /* app -> its desired objects at the last compare, as JSON text (engine_diff) */
    json_t *app_gen; /* app label value -> watch events seen for its objects */

    /* The run loop's own. */
    json_t *due;     /* app name -> monotonic ms of its next poll */
    json_t *settled; /* app name -> what its last full pass saw; see engine_settled */
    json_t *fetched; /* repository key -> {"at": ms, "gen": n} of its last clean fetch */
    json_t *fresh;   /* app name -> true: a refresh was asked; its next pass fetches */

    /* Last compare verdict per object (run loop only): see compare.c. */
    json_t *verdicts;
    unsigned long dry_runs; /* server-side dry-run applies, for tests */
    unsigned long n_full;   /* full passes and settled ones (atomic: engine_stats reads) */
    unsigned long n_settled;
    unsigned long n_fetches;
    /* For /metrics (engine_metrics_write; atomic): finished sync
     * operations by phase (Succeeded, Failed, Error) and how long each
     * pass took. */
    unsigned long n_sync_phase[3];
    struct metrics_hist reconcile;
    int first_round_done; /* engine_ready (atomic) */
    unsigned long applies;
    health_checks *health; /* Lua checks from the settings file; NULL: built-ins only */
    /* ignoreDifferences of the settings file (argocd-cm keys and values),
     * and the rules in force for the app being reconciled (the settings'
     * and its own spec.ignoreDifferences; run loop only) */
    json_t *global_ignore; /* [[key, value], ...] */
    doc_ignore *ignore;
    char *ignore_key; /* the app's rules as text: part of every verdict's key */

    /* Render cache (run loop only): cfg->render_cache_entries slots,
     * least recently used replaced first. */
    struct engine_rendered *cache;
    uint64_t cache_tick;
    size_t renders; /* sources actually rendered, for tests and logs */

    struct engine_appsets *appsets; /* appsets.c's; made on first use */
};

/* One cached render: the objects an Application's sources gave at given
 * commits with given options (key: SHA-256 hex of all of them). */
struct engine_rendered {
    char key[65];
    char *text;    /* owned: the objects as a compact JSON array */
    uint64_t used; /* cache_tick of the last hit; 0 = empty slot */
};

/* The per-resource results of one pass, in the order they were found. */
struct engine_results {
    struct store_resource *v;
    size_t n, cap;
};

/* In engine->seen while a pass applies the object. */
#define ENGINE_SEEN_WRITING "(writing)"

/* Remember the version a pass left obj at ("" = absent) / forget it. */
void engine_seen(engine *e, const json_t *obj, const char *rv);
void engine_forget(engine *e, const char *api_version, const char *kind, const char *ns,
                   const char *name);

/* "apps/v1" -> group "apps", version "v1"; "v1" -> "", "v1" (new strings). */
void engine_split_api_version(const char *api_version, char **group, char **version);

/* "<app>:<group>/<kind>:<namespace>/<name>" (new string). */
char *engine_tracking_id(const char *app, const char *group, const char *kind, const char *ns,
                         const char *name);

/* The outcome of comparing one desired object with the cluster. */
struct engine_verdict {
    const char *status; /* "Synced", "OutOfSync" or "Missing" (static strings) */
    json_t *live;       /* the live object (new reference) or NULL when Missing */
    char *live_rv;      /* its resourceVersion (new) or NULL */
    char *foreign;      /* the tracking id of another app or object it carries, or NULL */
};

/* Compare desired (tracked) with the live object: from the watch cache
 * when its kind is listed there, else a GET. The answer "Synced" is
 * certain when a dry-run said so for this same desired object and the
 * live object still holds every value desired sets; otherwise, and when
 * neither side changed since, a remembered dry-run answer is reused; only
 * then is the API server asked (server-side apply, dryRun=All). */
int engine_compare(engine *e, kube_client *kc, kube_cache *cache, const json_t *desired,
                   struct engine_verdict *out);

/* desired with the fields the app's ignoreDifferences select taken from
 * live instead (RespectIgnoreDifferences=true), a new reference. */
json_t *engine_respect_ignored(engine *e, const json_t *desired, const json_t *live);
void engine_verdict_dispose(struct engine_verdict *v);

/* After an apply left obj (tracked, as desired) at resourceVersion rv:
 * remember it as Synced there. rv NULL: forget what was remembered. */
void engine_verdict_applied(engine *e, const json_t *obj, const char *rv);

/* The per-resource results of one pass, in the order they were found. */
struct store_resource *engine_results_add(struct engine_results *r, const json_t *obj,
                                          const char *status, const char *message);

/* The site config's clusters and the stored ones, into the list (at
 * engine_new); engine_clusters_free releases them. */
int engine_clusters_load(engine *e);
void engine_clusters_free(engine *e);
/* Hold the cluster with server (or, server NULL, name): *out stays valid,
 * and its client usable, until engine_cluster_release, even if the
 * cluster is removed meanwhile. ERR_NOTFOUND naming spec.destination. */
int engine_cluster_hold(engine *e, const char *server, const char *name,
                        struct engine_cluster **out);
/* Hold app's destination cluster, connected (its kc and cache set; on
 * first use a client and a watch cache are made). Release it after. */
int engine_cluster_client(engine *e, const struct app *app, struct engine_cluster **out);
void engine_cluster_release(struct engine_cluster *ec);
/* A copy of the list's names and servers (for the clusters generator);
 * free with engine_clusters_snapshot_free. */
void engine_clusters_snapshot(engine *e, struct config_cluster **out, size_t *out_n);
void engine_clusters_snapshot_free(struct config_cluster *v, size_t n);
/* The Kubernetes requests of every connected cluster's client. */
unsigned long engine_clusters_requests(engine *e);
/* The watch caches' change callback (engine.c). */
void engine_on_change(void *ctx, const struct kube_cache_change *ch);

/* Every live object that carries app's label and its own tracking id but
 * is not in desired (hooks aside), as a new array of prune entries
 * (apiVersion, kind, metadata; noPrune, pruneLast, policy). prev: the
 * app's last status, whose kinds are searched too (may be NULL). */
int engine_extraneous(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                      const json_t *desired, const struct store_app_status *prev, json_t **out);

/* Delete every object app name (manifest borrowed) tracks, foreground,
 * except those annotated sync-options Delete=false (counted in *kept). */
int engine_delete_tracked(engine *e, const char *name, const json_t *manifest, size_t *kept);

/* App of Apps: register, update and (with apply and the parent's prune)
 * remove the child Applications and AppProjects parent renders
 * (children: the rendered objects, borrowed), adding a result for each
 * to res. */
int engine_children(engine *e, const struct app *parent, const json_t *children, int apply,
                    struct engine_results *res, int *out_of_sync);

/* Bring mirror m of repo_url up to date as an app's pass does (mirror
 * rules, credentials, fallback; a mirror that cannot be fetched from here
 * is used as it is, *out_note says so: new string or NULL; *downloaded 1
 * when objects came in). app_name names the app or appset in logs. */
int engine_fetch(engine *e, const char *app_name, const char *repo_url, mirror *m, char **out_note,
                 int *downloaded);

/* A repository URL as webhooks and manifests may spell it: lower case,
 * without a trailing "/" or ".git". A new string. */
char *engine_repo_key(const char *url);

/* ---- ApplicationSets (appsets.c) ---- */

/* Evaluate the stored appset name: run its generators and register,
 * update or delete its generated apps as its applicationsSync allows;
 * record its status. On any error nothing is changed and the error is
 * recorded. *message (new): "generates N application(s)" or the error.
 * Run loop only. */
int engine_appset_eval(engine *e, const char *name, char **message);

/* Delete the appset name (manifest borrowed) and the apps it generated:
 * with their resources when they carry the finalizer, unless the appset
 * has preserveResourcesOnDeletion. */
int engine_appset_delete(engine *e, const char *name, const json_t *manifest);

/* Evaluate the appsets that are due, or whose git generators read a
 * repository a refresh named. Run loop only. */
void engine_appsets_run(engine *e, volatile sig_atomic_t *stop);

/* A webhook or refresh named repo_url (any thread). */
void engine_appsets_refresh(engine *e, const char *repo_url);
void engine_appsets_free(engine *e);

/* metadata.name, else metadata.generateName (hooks), else "". Borrowed. */
const char *engine_obj_name(const json_t *obj);

/* The project name (NULL or "": default) from the store, or Argo CD's
 * built-in default. ERR_NOTFOUND naming it when it does not exist.
 * *out_text: the stored manifest (new string), NULL for the built-in. */
int engine_project_load(engine *e, const char *name, struct project *out, char **out_text);

/* 0 if p lets app read its sources and deploy to dest, else ERR_AUTH
 * naming the field and the rule. */
int engine_project_admit(engine *e, const struct project *p, const struct app *app,
                         const struct project_target *dest);

/* Take the objects p does not allow (kind, or an object's own namespace)
 * out of targets, adding each to res as OutOfSync with the rule. */
void engine_project_filter(const struct project *p, const struct project_target *dest,
                           json_t *targets, struct engine_results *res, int *out_of_sync);

/* 1 if p's sync windows let an automated (manual 0) or manual sync start
 * now; else 0 and *why (new) names the window. */
int engine_project_window(const struct project *p, const struct app *app,
                          const struct project_target *dest, int manual, char **why);

/* 1 if every app named by app's edgecd.io/depends-on is Synced and
 * Healthy with no operation running; 0 (*why new: which one and how it
 * is) if not yet; ERR_INVALID naming a cycle. */
int engine_depends_ready(engine *e, const struct app *app, char **why);

/* engine_reconcile carrying out an operator's request (NULL: none):
 * {"kind": "sync"|"terminate"|"rollback", ...} as engine_request_* queue. */
int engine_reconcile_request(engine *e, const char *app_name, const json_t *req);

/* Keep app's desired objects (targets, borrowed) for engine_diff. */
void engine_diff_remember(engine *e, const char *app, const json_t *targets);

/* Argo CD's kind order: the rank of kind (unlisted kinds rank last). */
size_t engine_kind_rank(const char *kind);

/* An object's argocd.argoproj.io/sync-wave (helm.sh/hook-weight for Helm
 * hooks), 0 when absent or not a number. */
int engine_wave(const json_t *obj);

/* 1 if obj is a hook (argocd.argoproj.io/hook or helm.sh/hook, Skip
 * included): hooks are run by operations, never compared or pruned. */
int engine_is_hook(const json_t *obj);

/* 1 if option ("Prune=false", "CreateNamespace=true") is set on obj's
 * argocd.argoproj.io/sync-options annotation (obj may be NULL) or in the
 * app's spec.syncPolicy.syncOptions. */
int engine_sync_option(const struct app *app, const json_t *obj, const char *option);

/* Record an event for app (also logged). */
void engine_event(engine *e, const char *app, const char *type, const char *reason, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* Reconcile app again within about a second (a running operation). */
void engine_due_soon(engine *e, const char *app);

/* What starts a sync operation. */
struct engine_sync_request {
    const char *initiated_by; /* "automated" or "user:NAME" */
    const char *revision;     /* the commits the objects come from */
    int prune;
    int dry_run;
    const json_t *resources; /* NULL: all; else ["group:kind:name", ...] */
    const json_t *source;    /* the app's spec.source(s), for the history */
};

/* Start an operation applying desired (tracked objects, hooks included)
 * and pruning the entries of prunes (engine_extraneous's; NULL: none),
 * recorded in the store as Running. *op is filled (dispose it). */
int engine_op_start(engine *e, const struct app *app, const json_t *desired, const json_t *prunes,
                    const struct engine_sync_request *rq, struct store_operation *op);

/* Take a Running (or Terminating) operation as far as it goes now: apply
 * the current step, see whether it is done, move on after the wave delay,
 * run SyncFail hooks on failure, finish it. *running: 1 when it waits for
 * something (the app should be reconciled again soon). */
int engine_op_advance(engine *e, kube_client *kc, kube_cache *cache, const struct app *app,
                      struct store_operation *op, int *running);

/* The revision an operation deploys (new string; "" if unreadable). */
char *engine_op_revision(const struct store_operation *op);

/* Record an operation that ended in phase Error before it could start
 * (the revision rq names cannot be rendered): message says why. *op is
 * filled (dispose it). */
int engine_op_error(engine *e, const struct app *app, const struct engine_sync_request *rq,
                    const char *message, struct store_operation *op);

/* 1 if app has spec.syncPolicy.managedNamespaceMetadata and it differs
 * from what the operation last (NULL: none yet) recorded (Argo CD's
 * HasChangedManagedNamespaceMetadata); else 0. */
int engine_op_ns_metadata_changed(const struct app *app, const struct store_operation *last);

/* ---- What the API shows of an app (view.c) ---- */

/* An app as the views see it: its manifest, the desired objects of its
 * last compare, its recorded status, its cluster and ignore rules. */
struct engine_view {
    struct app app;
    json_t *manifest;
    json_t *targets; /* desired objects of the last compare; NULL: none since start */
    struct store_app_status st;
    int have_status;
    struct engine_cluster *cluster; /* held */
    kube_client *kc;                /* the cluster's */
    kube_cache *cache;              /* the cluster's */
    doc_ignore *ig;                 /* the settings' rules and the app's */
};
/* ERR_NOTFOUND for an unknown app; v is disposed on error too. Any thread. */
int engine_view_open(engine *e, const char *app_name, struct engine_view *v);
void engine_view_dispose(struct engine_view *v);
/* The live object from the watch cache, else a GET; NULL when it does
 * not exist or cannot be read (a new reference). */
json_t *engine_view_live(struct engine_view *v, const char *api_version, const char *kind,
                         const char *ns, const char *name);

/* The unified diff of desired obj against live (may be NULL), both as
 * they should be shown (masked), appended to out; 1 if they differ. */
int engine_diff_object(const doc_ignore *ig, const json_t *obj, const json_t *live,
                       struct buf *out);

#endif
