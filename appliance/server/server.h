/*
 * The HTTP server (CivetWeb), HTTPS unless configured otherwise: GET
 * /healthz and /readyz without auth, POST /api/webhook authenticated by
 * the Git provider's signature (server/webhook.h), POST /api/v1/session
 * (the login) and the web UI's static files; everything else (/metrics
 * and all of /api) needs a signed-in caller: a session cookie (with its
 * CSRF token on writes), an API token of an account, or the data
 * directory's node token (acting as admin), and the RBAC rights the route
 * names (server/auth.c). Routes live in one table (server/routes.c).
 * Answers are JSON (metrics: Prometheus text); errors are {"error": "...",
 * "code": N}. Handlers read the store; they never block on the engine.
 */
#ifndef EDGECD_SERVER_SERVER_H
#define EDGECD_SERVER_SERVER_H

#include <jansson.h>

#include "core/buf.h"
#include "model/config.h"
#include "model/rbac.h"
#include "model/secrets.h"
#include "storage/store.h"

/* One object of an app's resource tree, as the API names it (group ""
 * for the core group; version and uid may be NULL). */
struct server_resource_ref {
    const char *group, *version, *kind, *ns, *name, *uid;
};

/* A pod log request (tail_lines < 0: all). */
struct server_log_request {
    const char *ns, *pod, *container;
    long tail_lines;
    int follow;
};

/* Called per log line (time and content; both NULL about once a second
 * while a follow waits); a negative return ends the stream. */
typedef int (*server_log_fn)(void *fctx, const char *time, const char *content);

/* How an Application arrives through the API. */
enum server_app_write {
    SERVER_APP_CREATE, /* POST: refused when it exists */
    SERVER_APP_UPSERT, /* POST ?upsert=true: created or replaced */
    SERVER_APP_UPDATE, /* PUT: refused when it does not exist */
};

/* What the API asks of the engine (server/ does not depend on it): each
 * returns 0 once the request is queued, or an error (ERR_NOTFOUND,
 * ERR_CONFLICT, ERR_INVALID) with a message for the caller. body is the
 * request's JSON (borrowed; an object). NULL members answer 501. */
struct server_actions {
    void *ctx;
    int (*sync)(void *ctx, const char *app, const json_t *body);
    int (*terminate)(void *ctx, const char *app);
    int (*rollback)(void *ctx, const char *app, const json_t *body);
    int (*remove)(void *ctx, const char *app, int cascade);
    /* the app's diff (appended to out), *differs 1 when it is not empty */
    int (*diff)(void *ctx, const char *app, struct buf *out, int *differs);
    /* a push to repo_url (revision: the ref, "" for any): refresh its apps */
    void (*refresh)(void *ctx, const char *repo_url, const char *revision);

    /* ---- applications' resources and writes (api_resources.c). Each
     * document goes to *out (new, the caller's), Secret values already
     * masked; errors as above (ERR_NOTFOUND: no such app or resource). */
    /* {"items": [...]} as the contract's managed-resources */
    int (*managed_resources)(void *ctx, const char *app, json_t **out);
    /* {"nodes": [...]} as the contract's resource-tree */
    int (*resource_tree)(void *ctx, const char *app, json_t **out);
    /* the live object of a resource in the app's tree */
    int (*resource)(void *ctx, const char *app, const struct server_resource_ref *ref,
                    json_t **out);
    /* {"items": [Event...]} of a resource in the app's tree */
    int (*resource_events)(void *ctx, const char *app, const struct server_resource_ref *ref,
                           json_t **out);
    /* a pod's log lines to fn until it ends (see server_log_fn) */
    int (*pod_logs)(void *ctx, const char *app, const struct server_log_request *rq,
                    server_log_fn fn, void *fctx);
    /* queue a refresh of app (hard: render again, not from the cache) */
    void (*refresh_app)(void *ctx, const char *app, int hard);
    /* validate and store an Application (body borrowed); *name (new) is
     * the stored app's name. ERR_INVALID: a bad spec (nothing stored);
     * ERR_CONFLICT: it exists (create), or the site config or a parent
     * owns it; ERR_NOTFOUND: update of an unknown app. */
    int (*app_write)(void *ctx, const json_t *body, enum server_app_write how, const char *name,
                     char **out_name);
    /* the values of the app's Secrets (desired and live), longest first,
     * scrubbed from the app's event messages */
    int (*secret_values)(void *ctx, const char *app, json_t **out);
    /* ---- the site routes (api_site.c, api_metrics.c) ---- */
    /* 1 once the engine has been through every app once (/readyz) */
    int (*ready)(void *ctx);
    /* the engine's, Git's and the Kubernetes clients' metrics, Prometheus
     * text appended to out; any thread */
    void (*metrics)(void *ctx, struct buf *out);
    /* connect to url with its stored credentials (the longest matching
     * entry) and list its refs: 0 with *message ("3 refs"), or an error
     * whose message says why; *message is new. May take seconds. */
    int (*repo_validate)(void *ctx, const char *url, char **message);
    /* run discovery against the cluster name: 0 with *message (the
     * server's version), or an error; *message is new */
    int (*cluster_validate)(void *ctx, const char *name, char **message);
    /* the clusters as a new array of {name, server, origin, ...}, never
     * credentials */
    json_t *(*clusters)(void *ctx);
    /* add a cluster from kubeconfig text (context NULL: its current one);
     * *server (new) is its API server. ERR_INVALID/ERR_UNSUPPORTED: a bad
     * name or kubeconfig; ERR_CONFLICT: the name or server is taken */
    int (*cluster_add)(void *ctx, const char *name, const char *kubeconfig, const char *context,
                       char **server);
    /* remove a cluster added through the API: ERR_NOTFOUND, ERR_CONFLICT
     * (the site config's) */
    int (*cluster_remove)(void *ctx, const char *name);
    /* Backups, restores and schedules (api_backups.c, RBAC resource
     * "backups"). kind: "backups", "restores" or "schedules"; verb:
     * "list", "get", "create", "delete", "pause" or "unpause"; name NULL
     * for list and create; location: the ?location= query (a folder, a
     * backupLocations name, s3://...) or NULL for the default; body: the
     * request's JSON for create (borrowed). *out: a new JSON value to
     * answer with (a record, a list, a schedule). ERR_NOTFOUND,
     * ERR_INVALID, ERR_CONFLICT with a message; a verb the kind does not
     * take is ERR_INVALID. Runs on a worker thread: a create only queues
     * the work and answers with its InProgress record. */
    int (*backups)(void *ctx, const char *kind, const char *verb, const char *name,
                   const char *location, const json_t *body, json_t **out);
    void *backups_ctx; /* backups' ctx (the others take ctx) */
};

/* The server's certificate and key (PEM) and the certificate's SHA-256
 * fingerprint as a browser shows it ("AB:CD:..."). */
struct server_tls {
    char *cert_pem; /* owned */
    char *key_pem;  /* owned; wiped by server_tls_dispose */
    char fingerprint[96];
    int generated; /* 1: made by this call */
};

/* The TLS identity for serve: cert_file and key_file when both are given
 * (read and checked, never written), else DATA/keys/tls.key (0600) and
 * tls.crt, generated when either is missing as an ECDSA P-256 key and a
 * self-signed certificate for the host name, localhost, listen's address
 * and the node's interface addresses, valid for ten years. Errors name the
 * file: unreadable (ERR_NOTFOUND, ERR_IO), not PEM or a key that is not
 * the certificate's (ERR_INVALID). out is caller-owned; dispose it. Main
 * thread, before server_start. */
int server_tls_load(struct server_tls *out, const char *data_dir, const char *cert_file,
                    const char *key_file, const char *listen);
void server_tls_dispose(struct server_tls *t);

struct server_options {
    const char *listen; /* "127.0.0.1:8080"; CivetWeb listening_ports syntax, without the
                         * "s" suffix (added for HTTPS) */
    /* NULL: plain HTTP (only behind a TLS-terminating proxy). Else HTTPS
     * with this identity (borrowed; only read by server_start). */
    const struct server_tls *tls;
    /* With tls: "" or an address whose plain HTTP requests are answered
     * with 308 to the HTTPS port. */
    const char *redirect_listen;
    const char *api_token; /* required bearer token (not logged) */
    int threads;           /* worker threads; 0 = default (16) */
    int per_address;       /* connections one client address may hold; 0 = default (8) */
    /* the request line and headers must arrive within this, and the body
     * within as long again; 0 = default (10000) */
    int request_timeout_ms;
    struct server_actions actions;
    /* the webhook secrets (borrowed, must outlive the server); NULL: every
     * webhook is refused */
    const struct secrets *webhook_secrets;
    /* the site config (borrowed; outlives the server): clusters, the
     * projects it owns, settings; NULL: none of those */
    const struct config *config;
    /* the data directory, whose keys/secret.key seals repository
     * passwords given to the API; NULL: the API takes no passwords */
    const char *data_dir;
    const char *version;       /* edgecd's version for /api/v1/version; NULL: "unknown" */
    const char *app_label_key; /* the tracking label, for /api/v1/settings */
    /* The RBAC policy (borrowed, must outlive the server); NULL: the
     * built-in policy only (admin is role:admin). */
    const rbac *rbac;
    long session_idle_seconds; /* a session unused this long ends; 0: 3600 */
    long session_max_seconds;  /* a session ends this long after login; 0: 86400 */
    /* Unix seconds; NULL: the system clock. Tests move time with it. */
    long long (*clock)(void);
    /* Entries of the login throttle table; 0: SERVER_THROTTLE_ENTRIES. */
    size_t throttle_entries;
};

/* How many client addresses and user names the login throttle remembers
 * at most, half for each (about 64 bytes an entry). */
#define SERVER_THROTTLE_ENTRIES 4096

typedef struct server server;

/* Start serving in background threads. ERR_IO if the port cannot be
 * bound (message names it). The store must outlive the server. */
int server_start(server **out, const struct server_options *opts, store *st);
/* The first listening port actually bound (useful with port 0): the
 * HTTPS one when tls is set. */
int server_port(const server *srv);
/* The bound port of redirect_listen; 0 without one. */
int server_redirect_port(const server *srv);
void server_stop(server *srv);

/* "CivetWeb 1.15" into out. */
void server_lib_version(char *out, size_t len);

#endif
