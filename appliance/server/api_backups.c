/*
 * The handlers for backups, restores and schedules (RBAC resource
 * "backups"). The server does not know backup/: every route is one call
 * of srv->actions.backups with its kind and verb, which `edgecd serve`
 * answers (cli/serve_backups.c); this file only maps requests to calls
 * and error codes to statuses. Creating a backup or a restore answers 202
 * with its InProgress record: the work runs on serve's backup thread, and
 * GET shows its progress.
 */
#include <civetweb.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"
#include "server/internal.h"

/* The ?location= of the request into buf (NULL when absent). */
static const char *server_backups_location(struct mg_connection *conn, char *buf, size_t n)
{
    const char *q = mg_get_request_info(conn)->query_string;
    if (q && mg_get_var(q, strlen(q), "location", buf, n) > 0)
        return buf;
    return NULL;
}

/* The answer to a failed backups action: 404, 409, 400, 403 with its
 * message, anything else a 500 whose detail goes to the log only. */
static int server_backups_fail(struct mg_connection *conn, int rc)
{
    int status = rc == ERR_NOTFOUND   ? 404
                 : rc == ERR_CONFLICT ? 409
                 : rc == ERR_INVALID  ? 400
                 : rc == ERR_AUTH     ? 403
                                      : 500;
    if (status == 500)
        return server_internal_error(conn, "backups");
    status = server_error(conn, status, err_last(), NULL);
    err_clear();
    return status;
}

static int server_backups_call(server *srv, struct mg_connection *conn, const char *kind,
                               const char *verb, const char *name, int ok_status)
{
    char where[1024];
    const char *location = server_backups_location(conn, where, sizeof(where));
    json_t *body = NULL, *out = NULL;
    int rc;

    if (!srv->actions.backups)
        return server_error(conn, 501, "backups are not available on this server", NULL);
    if (!strcmp(verb, "create") && (server_read_json(conn, &body) != 0 || !body))
        return 400;
    rc = srv->actions.backups(srv->actions.backups_ctx, kind, verb, name, location, body, &out);
    json_decref(body);
    if (rc < 0) {
        json_decref(out);
        return server_backups_fail(conn, rc);
    }
    return server_send(conn, ok_status, out ? out : json_object(), NULL);
}

int server_get_backups(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_backups_call(srv, conn, "backups", "list", NULL, 200);
}

int server_post_backup(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_backups_call(srv, conn, "backups", "create", NULL, 202);
}

int server_get_backup(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "backups", "get", arg, 200);
}

int server_delete_backup(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "backups", "delete", arg, 200);
}

/* The archive as stored (encrypted unless it was made in Velero's plain
 * format), after a verified copy was made beside the data directory: a
 * damaged backup is a 400 before any byte goes out. The copy is deleted
 * once sent. */
int server_get_backup_download(server *srv, struct mg_connection *conn, const char *arg)
{
    char where[1024], *disposition;
    const char *location = server_backups_location(conn, where, sizeof(where));
    json_t *out = NULL;
    const char *file;
    int rc, status;

    if (!srv->actions.backups)
        return server_error(conn, 501, "backups are not available on this server", NULL);
    rc = srv->actions.backups(srv->actions.backups_ctx, "backups", "download", arg, location, NULL,
                              &out);
    if (rc < 0 || !(file = json_string_value(json_object_get(out, "file")))) {
        json_decref(out);
        return server_backups_fail(conn, rc < 0 ? rc : err_set(ERR_IO, "no file to send"));
    }
    disposition = xasprintf("attachment; filename=\"%s.tar.gz\"", arg);
    {
        const char *const extra[] = {"Content-Disposition", disposition, NULL};
        status = server_send_file(conn, 200, "application/octet-stream", file, extra);
    }
    unlink(file);
    free(disposition);
    json_decref(out);
    return status;
}

int server_get_restores(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_backups_call(srv, conn, "restores", "list", NULL, 200);
}

int server_post_restore(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_backups_call(srv, conn, "restores", "create", NULL, 202);
}

int server_get_restore(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "restores", "get", arg, 200);
}

int server_get_schedules(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_backups_call(srv, conn, "schedules", "list", NULL, 200);
}

int server_post_schedule(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_backups_call(srv, conn, "schedules", "create", NULL, 201);
}

int server_get_schedule(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "schedules", "get", arg, 200);
}

int server_delete_schedule(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "schedules", "delete", arg, 200);
}

int server_post_schedule_pause(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "schedules", "pause", arg, 200);
}

int server_post_schedule_unpause(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_backups_call(srv, conn, "schedules", "unpause", arg, 200);
}
