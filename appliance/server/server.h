/*
 * The HTTP server (CivetWeb): GET /healthz without auth; everything under
 * /api needs "Authorization: Bearer <token>" where the token is the one in
 * the data directory (compared in constant time). Routes live in one table
 * (method, pattern, handler) in server.c. Answers are JSON; errors are
 * {"error": "...", "code": N}. Handlers read the store; they never block on
 * the engine.
 */
#ifndef EDGECD_SERVER_SERVER_H
#define EDGECD_SERVER_SERVER_H

#include "storage/store.h"

struct server_options {
    const char *listen;    /* "127.0.0.1:8080"; CivetWeb listening_ports syntax */
    const char *api_token; /* required bearer token (not logged) */
    int threads;           /* worker threads; 0 = default (4) */
};

typedef struct server server;

/* Start serving in background threads. ERR_IO if the port cannot be
 * bound (message names it). The store must outlive the server. */
int server_start(server **out, const struct server_options *opts, store *st);
/* The first listening port actually bound (useful with port 0). */
int server_port(const server *srv);
void server_stop(server *srv);

/* "CivetWeb 1.15" into out. */
void server_lib_version(char *out, size_t len);

#endif
