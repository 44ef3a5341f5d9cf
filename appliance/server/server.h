/*
 * The HTTP server (CivetWeb), HTTPS unless configured otherwise: GET
 * /healthz without auth, POST /api/webhook authenticated by the Git
 * provider's signature (server/webhook.h); everything else under /api
 * needs "Authorization: Bearer <token>" where the token is the one in
 * the data directory (compared in constant time). Routes live in one table
 * (method, pattern, handler) in server.c. Answers are JSON; errors are
 * {"error": "...", "code": N}. Handlers read the store; they never block on
 * the engine.
 */
#ifndef EDGECD_SERVER_SERVER_H
#define EDGECD_SERVER_SERVER_H

#include <jansson.h>

#include "core/buf.h"
#include "model/secrets.h"
#include "storage/store.h"

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
    int threads;           /* worker threads; 0 = default (4) */
    struct server_actions actions;
    /* the webhook secrets (borrowed, must outlive the server); NULL: every
     * webhook is refused */
    const struct secrets *webhook_secrets;
};

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
