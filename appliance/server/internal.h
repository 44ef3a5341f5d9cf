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
#include <stddef.h>

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
    unsigned char token_sha[32];
    int port;          /* the first bound port: HTTPS when https */
    int redirect_port; /* the plain port that redirects; 0: none */
    int https;
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
