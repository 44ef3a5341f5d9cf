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
};

/* How a route is authenticated. */
enum server_auth {
    SERVER_AUTH_NONE,   /* open: health probes only */
    SERVER_AUTH_SIGNED, /* the body's signature (webhooks) */
    SERVER_AUTH_USER,   /* a session or an API token */
};

/* arg is the path segment matched by the "*" in the pattern, or NULL. */
typedef int (*server_handler)(server *srv, struct mg_connection *conn, const char *arg);

struct server_route {
    const char *method;
    const char *pattern; /* a literal path; a "*" matches one non-empty segment */
    enum server_auth auth;
    /* Argo CD's RBAC resource and action the route needs ("applications",
     * "get"); NULL resource: any signed-in user (their own session). For
     * routes on one application the object is "<project>/<app>". */
    const char *resource;
    const char *action;
    server_handler handler;
    const char *summary; /* one line, for the OpenAPI document */
};

extern const struct server_route server_routes[];
extern const size_t server_routes_count;

/* Answers. server_send consumes body; extra is NULL or a NULL-terminated
 * list of header name, value pairs. Each returns the status sent. */
int server_send(struct mg_connection *conn, int status, json_t *body, const char *const *extra);
/* The same headers with a body that is not JSON (text borrowed, n
 * bytes). Returns status. */
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

/* Handlers (api_backups.c). */
int server_get_backups(server *srv, struct mg_connection *conn, const char *arg);
int server_post_backup(server *srv, struct mg_connection *conn, const char *arg);
int server_get_backup(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_backup(server *srv, struct mg_connection *conn, const char *arg);
int server_get_restores(server *srv, struct mg_connection *conn, const char *arg);
int server_post_restore(server *srv, struct mg_connection *conn, const char *arg);
int server_get_restore(server *srv, struct mg_connection *conn, const char *arg);
int server_get_schedules(server *srv, struct mg_connection *conn, const char *arg);
int server_post_schedule(server *srv, struct mg_connection *conn, const char *arg);
int server_get_schedule(server *srv, struct mg_connection *conn, const char *arg);
int server_delete_schedule(server *srv, struct mg_connection *conn, const char *arg);
int server_post_schedule_pause(server *srv, struct mg_connection *conn, const char *arg);
int server_post_schedule_unpause(server *srv, struct mg_connection *conn, const char *arg);

#endif
