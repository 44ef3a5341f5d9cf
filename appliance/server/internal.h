/*
 * What the server's files share: the server object, the route table and
 * the helpers every handler answers with. server.c owns the request path
 * (limits, TLS redirect, authentication, dispatch); routes.c is the one
 * table of routes, which the dispatcher, the OpenAPI document and the
 * tests that walk every route all read; api_*.c hold the handlers, one
 * file per area of the API.
 *
 * A handler answers the request itself (through server_send or
 * server_error) and returns the status it sent. It runs on one of
 * CivetWeb's worker threads: it reads the store and asks the engine
 * through srv->actions, and never waits on a sync.
 */
#ifndef EDGECD_SERVER_INTERNAL_H
#define EDGECD_SERVER_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "server/server.h"

struct mg_connection;

/* Largest request body accepted (413 above it, judged before any handler
 * runs). */
#define SERVER_MAX_BODY (1024 * 1024)

/* The one path under /api that takes no session or token: a Git server's
 * push, authenticated by its provider's signature instead. */
#define SERVER_WEBHOOK_PATH "/api/webhook"

struct mg_context;
struct server_throttle;

struct server {
    struct mg_context *ctx;
    store *st;
    struct server_actions actions;
    const struct secrets *webhook_secrets;
    const struct config *config; /* borrowed; may be NULL */
    char *data_dir;              /* NULL: no sealing key */
    char *version;
    char *app_label_key;
    time_t started;         /* process_start_time_seconds */
    int request_timeout_ms; /* for headers, and again for the body */
    unsigned char token_sha[32];
    int port;          /* the first bound port: HTTPS when https */
    int redirect_port; /* the plain port that redirects; 0: none */
    int https;
    /* long answers (the SSE stream, followed logs): open now, and the
     * most allowed at once (half the worker threads) */
    atomic_int streams;
    int max_streams;
    atomic_int stopping;           /* set by server_stop: streams end */
    struct server_app_cache *apps; /* the list's answers (appcache.c) */
    const rbac *rbac;
    rbac *own_rbac; /* the built-in policy when none was given */
    long long session_idle, session_max;
    long long (*clock)(void);
    pthread_mutex_t throttle_lock;
    struct server_throttle *throttle; /* throttle_cap entries */
    size_t throttle_cap;
    unsigned long long throttle_seq; /* orders failures: a clock's second has many */
};

/* How a route is authenticated. */
enum server_auth {
    SERVER_AUTH_NONE,   /* open: health probes and the login itself */
    SERVER_AUTH_SIGNED, /* the body's signature (webhooks) */
    SERVER_AUTH_USER,   /* a session or an API token */
    /* open: the web UI's static files (assets.c). They are the same for
     * everyone and hold no data, and the login page must load before
     * anyone has signed in. */
    SERVER_AUTH_ASSET,
};

/* arg is the path segment matched by the first "*" in the pattern
 * (URL-decoded), or NULL; server_arg gives the others. */
typedef int (*server_handler)(server *srv, struct mg_connection *conn, const char *arg);

struct server_route {
    const char *method;
    /* A literal path; each "*" matches one non-empty segment, which is
     * URL-decoded (so "%2F" in it is a '/' of the value, not a separator) */
    const char *pattern;
    enum server_auth auth;
    /* Argo CD's RBAC resource and action the route needs ("applications",
     * "get"); NULL resource: any signed-in user (the handler checks what
     * depends on the body). The dispatcher checks the object
     * server_object gives for the first "*"; a route without "*" is
     * checked "on some object", and its handler filters a list
     * (server_allowed) or checks the object a body names. */
    const char *resource;
    const char *action;
    server_handler handler;
    const char *summary; /* one line, for the OpenAPI document */
};

extern const struct server_route server_routes[];
extern const size_t server_routes_count;

/* Most "*" segments in one pattern. */
#define SERVER_MAX_ARGS 4

/* Who is calling: filled by the dispatcher before the handler runs. */
enum server_cred {
    SERVER_CRED_NONE,    /* no credentials (an open route) */
    SERVER_CRED_NODE,    /* the data directory's token: acts as admin */
    SERVER_CRED_TOKEN,   /* an account's API token */
    SERVER_CRED_SESSION, /* a browser session cookie */
};

struct server_caller {
    enum server_cred kind;
    char *name;           /* the account ("admin" for the node token) */
    char *roles;          /* the account's roles: "" or a comma list */
    char *token_role;     /* TOKEN: the role it is bound to ("" = the account's rights) */
    char *csrf;           /* SESSION: its CSRF token */
    char session_sha[65]; /* SESSION: SHA-256 hex of the cookie */
};

/* The caller of the request conn carries (a caller of kind NONE on open
 * routes). Borrowed for the handler's run. */
const struct server_caller *server_caller(struct mg_connection *conn);
/* The i-th "*" segment of the matched pattern (decoded), or NULL. */
const char *server_arg(struct mg_connection *conn, size_t i);

/* 1 if the request's caller may do action on resource's object (NULL:
 * "on some object"). For lists: keep the items this allows. */
int server_allowed(server *srv, struct mg_connection *conn, const char *resource,
                   const char *action, const char *object);
/* As server_allowed for a caller. */
int server_caller_allowed(const server *srv, const struct server_caller *c, const char *resource,
                          const char *action, const char *object);
/* The RBAC object of resource's item name: "<project>/<name>" for
 * applications, logs and applicationsets (the project of the app, or of
 * the appset's template; "default" when none is named; "/<name>" when
 * the item is not stored, so only a rule for every project matches),
 * else name itself. New string. */
char *server_object(server *srv, const char *resource, const char *name);

/* The roles of a comma list (an account's) into v, at most max: the
 * commas of copy are cut and v points into it. Returns how many. */
size_t server_split_roles(char *copy, const char **v, size_t max);

/* auth.c: who the request is from. 0 with *c filled (caller-owned:
 * server_caller_dispose), or ERR_AUTH when it carries no valid
 * credentials. */
int server_authenticate(server *srv, struct mg_connection *conn, struct server_caller *c);
void server_caller_dispose(struct server_caller *c);
/* 0 if a write by c may go on: a cookie session carries its CSRF token
 * and no other site's Origin; else the status of the 403 already sent. */
int server_csrf_check(server *srv, struct mg_connection *conn, const struct server_caller *c);
/* 1 if the request carries an Origin header that is not this server's. */
int server_cross_origin(struct mg_connection *conn);
/* Set up and free the server's auth state (RBAC, throttle table). */
int server_auth_init(server *srv, const struct server_options *opts);
void server_auth_dispose(server *srv);
/* Login throttling, per user name and per client address. 0 if a
 * password may be checked now, else the seconds to wait (for
 * Retry-After); nothing is recorded. */
long long server_throttle_wait(server *srv, const char *user, const char *addr);
/* Record a checked password: a failure counts against both keys (after
 * SERVER_THROTTLE_FREE failures each further one blocks for 1, 2, 4 ...
 * up to SERVER_THROTTLE_MAX_DELAY seconds); a success forgets both. */
void server_throttle_record(server *srv, const char *user, const char *addr, int ok);
#define SERVER_THROTTLE_FREE 5
#define SERVER_THROTTLE_MAX_DELAY 300
/* A key without a failure for this long starts again from zero. */
#define SERVER_THROTTLE_FORGET 900
/* Entries in use in the throttle table (tests). */
size_t server_throttle_used(server *srv);
/* Now, Unix seconds, from the server's clock. */
long long server_now(const server *srv);

/* Answers. server_send consumes body; extra is NULL or a NULL-terminated
 * list of header name, value pairs. Each returns the status sent. */
int server_send(struct mg_connection *conn, int status, json_t *body, const char *const *extra);
/* status with data (len bytes, borrowed) as type, the security headers,
 * Cache-Control cache and extra headers; a 304 sends headers only, a HEAD
 * request gets no body. Returns status. */
int server_send_bytes(struct mg_connection *conn, int status, const char *type, const char *cache,
                      const void *data, size_t len, const char *const *extra);
/* The same headers with a body that is not JSON (text borrowed, n
 * bytes). Returns status. */
/* The file at path as the body (read in pieces; its size is the
 * Content-Length); a file that cannot be opened is a 500. */
int server_send_file(struct mg_connection *conn, int status, const char *content_type,
                     const char *path, const char *const *extra);
int server_send_text(struct mg_connection *conn, int status, const char *content_type,
                     const char *text, size_t n, const char *const *extra);
/* {"error": message, "code": status} */
int server_error(struct mg_connection *conn, int status, const char *message,
                 const char *const *extra);
/* 500; the detail (what: err_last()) goes to the log only. */
int server_internal_error(struct mg_connection *conn, const char *what);
/* A JSON string of s (NULL: ""), invalid UTF-8 bytes replaced by '?'. */
json_t *server_json_str_new(const char *s);

/* The request body into *out (new, NUL-terminated; NULL when there is
 * none). 0, or the status of the error answer already sent. */
int server_read_body(struct mg_connection *conn, char **out, size_t *len);
/* The request body as a JSON object (an empty body: {}). 0, or the status
 * of the error answer already sent. */
int server_read_json(struct mg_connection *conn, json_t **out);

/* Streamed answers (SSE, logs). A stream holds a worker thread for as
 * long as the client stays, so at most srv->max_streams run at once:
 * acquire gives 0 (release it when done) or the 503 status it sent.
 * start sends status 200 with the security headers and chunked framing;
 * write sends one chunk (0, or -1 once the client is gone); end sends the
 * last chunk. A stream ends within about a second of server_stopping. */
int server_stream_acquire(server *srv, struct mg_connection *conn);
void server_stream_release(server *srv);
int server_stopping(server *srv);
void server_stream_start(struct mg_connection *conn, const char *content_type);
int server_stream_write(struct mg_connection *conn, const char *data, size_t len);
void server_stream_end(struct mg_connection *conn);

/* The application list (appcache.c): each app as server_app_new builds
 * it, kept between requests and rebuilt when the store says it was
 * written. server_app_cache_list appends {"items":[...]} of the apps keep
 * says yes to (NULL: all), sorted by name; keep runs under the cache's
 * lock and must not call back into it. */
struct server_app_cache *server_app_cache_new(void);
void server_app_cache_free(struct server_app_cache *c);
int server_app_cache_list(server *srv, int (*keep)(void *ctx, const json_t *app), void *ctx,
                          struct buf *out);

/* Handlers (api_apps.c). */
int server_get_healthz(server *srv, struct mg_connection *conn, const char *arg);
int server_get_apps(server *srv, struct mg_connection *conn, const char *arg);
int server_get_app(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_app(server *srv, struct mg_connection *conn, const char *arg);
int server_get_diff(server *srv, struct mg_connection *conn, const char *arg);
int server_post_sync(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_operation(server *srv, struct mg_connection *conn, const char *arg);
int server_post_rollback(server *srv, struct mg_connection *conn, const char *arg);
int server_get_history(server *srv, struct mg_connection *conn, const char *arg);
int server_get_events(server *srv, struct mg_connection *conn, const char *arg);
int server_get_appsets(server *srv, struct mg_connection *conn, const char *arg);
int server_get_appset(server *srv, struct mg_connection *conn, const char *arg);
int server_post_webhook(server *srv, struct mg_connection *conn, const char *arg);

/* Shared by the application files. */
/* The Application name as the API shows it, in *out (new). ERR_NOTFOUND. */
int server_app_new(server *srv, const char *name, json_t **out);
/* 1 if the caller may get app (an app as server_app_new made it). */
int server_app_visible(server *srv, struct mg_connection *conn, const json_t *app);
/* 0 if app is stored, else the 404 sent. */
int server_app_known(server *srv, struct mg_connection *conn, const char *app);
/* The answer to an engine error rc: 404, 409, 400 or else 500, with
 * err_last(). Returns the status sent. */
int server_fail(struct mg_connection *conn, int rc);
/* ?refresh=normal|hard on GET of one app queued: 0, or the error sent. */
int server_app_refresh(server *srv, struct mg_connection *conn, const char *app);
/* The list's filters (projects, selector, search, sync, health). */
struct server_app_filter;
/* 0 with *out (free it), or the 400 sent for a malformed selector. */
int server_app_filter_read(struct mg_connection *conn, struct server_app_filter **out);
void server_app_filter_free(struct server_app_filter *f);
/* 1 if app (as server_app_new made it) passes every filter. */
int server_app_filter_match(const struct server_app_filter *f, const json_t *app);
/* The Kubernetes events of the resource the query names (resourceName,
 * resourceNamespace, resourceUID): the status sent, or 0 when it names
 * none. */
int server_resource_events(server *srv, struct mg_connection *conn, const char *app);

/* Handlers (api_resources.c). */
int server_post_app(server *srv, struct mg_connection *conn, const char *arg);
int server_put_app(server *srv, struct mg_connection *conn, const char *arg);
int server_get_tree(server *srv, struct mg_connection *conn, const char *arg);
int server_get_managed(server *srv, struct mg_connection *conn, const char *arg);
int server_get_resource(server *srv, struct mg_connection *conn, const char *arg);
int server_get_logs(server *srv, struct mg_connection *conn, const char *arg);
int server_get_stream(server *srv, struct mg_connection *conn, const char *arg);
/* Handlers (api_site.c): readiness, version, settings, the OpenAPI
 * document, projects, repositories, clusters. */
int server_get_readyz(server *srv, struct mg_connection *conn, const char *arg);
int server_get_version(server *srv, struct mg_connection *conn, const char *arg);
int server_get_settings(server *srv, struct mg_connection *conn, const char *arg);
int server_get_openapi(server *srv, struct mg_connection *conn, const char *arg);
int server_get_projects(server *srv, struct mg_connection *conn, const char *arg);
int server_post_project(server *srv, struct mg_connection *conn, const char *arg);
int server_get_project(server *srv, struct mg_connection *conn, const char *arg);
int server_put_project(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_project(server *srv, struct mg_connection *conn, const char *arg);
int server_get_repos(server *srv, struct mg_connection *conn, const char *arg);
int server_post_repo(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_repo(server *srv, struct mg_connection *conn, const char *arg);
int server_post_repo_validate(server *srv, struct mg_connection *conn, const char *arg);
int server_get_clusters(server *srv, struct mg_connection *conn, const char *arg);
int server_post_cluster(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_cluster(server *srv, struct mg_connection *conn, const char *arg);
int server_post_cluster_validate(server *srv, struct mg_connection *conn, const char *arg);
/* The OpenAPI 3.0.3 document of server_routes (new reference). */
json_t *server_openapi_new(const server *srv);

/* Handlers (api_metrics.c). */
int server_get_metrics(server *srv, struct mg_connection *conn, const char *arg);
/* Handlers (api_account.c): sessions, accounts, tokens, can-i. */
int server_post_session(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_session(server *srv, struct mg_connection *conn, const char *arg);
int server_get_userinfo(server *srv, struct mg_connection *conn, const char *arg);
int server_get_can_i(server *srv, struct mg_connection *conn, const char *arg);
int server_get_accounts(server *srv, struct mg_connection *conn, const char *arg);
int server_get_account(server *srv, struct mg_connection *conn, const char *arg);
int server_post_account(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_account(server *srv, struct mg_connection *conn, const char *arg);
int server_put_password(server *srv, struct mg_connection *conn, const char *arg);
int server_post_token(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_token(server *srv, struct mg_connection *conn, const char *arg);

/* Handlers (api_backups.c). */
int server_get_backups(server *srv, struct mg_connection *conn, const char *arg);
int server_post_backup(server *srv, struct mg_connection *conn, const char *arg);
int server_get_backup(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_backup(server *srv, struct mg_connection *conn, const char *arg);
int server_get_backup_download(server *srv, struct mg_connection *conn, const char *arg);
int server_get_restores(server *srv, struct mg_connection *conn, const char *arg);
int server_post_restore(server *srv, struct mg_connection *conn, const char *arg);
int server_get_restore(server *srv, struct mg_connection *conn, const char *arg);
int server_get_schedules(server *srv, struct mg_connection *conn, const char *arg);
int server_post_schedule(server *srv, struct mg_connection *conn, const char *arg);
int server_get_schedule(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_schedule(server *srv, struct mg_connection *conn, const char *arg);
int server_post_schedule_pause(server *srv, struct mg_connection *conn, const char *arg);
int server_post_schedule_unpause(server *srv, struct mg_connection *conn, const char *arg);

/* The web UI (assets.c): the page, one of its files (arg: the name), and
 * whether a GET of path that no route takes answers the page (anything
 * but /api and /assets). */
int server_get_index(server *srv, struct mg_connection *conn, const char *arg);
int server_get_asset(server *srv, struct mg_connection *conn, const char *arg);
int server_is_page_path(const char *path);

#endif
