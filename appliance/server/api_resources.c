/*
 * The application routes beyond reading the store: creating and updating
 * Applications, list filters, an app's resources (managed resources,
 * resource tree, one live object, its events, pod logs) and the
 * Server-Sent Events stream of application changes.
 *
 * Everything about the cluster comes through srv->actions (the engine),
 * already masked; this file only shapes answers. The two long answers,
 * the event stream and followed logs, each hold a worker thread, so they
 * take a stream slot (server_stream_acquire) and end within a second of
 * the server stopping.
 *
 * The event stream learns of changes from the store's generation counter
 * (store_app_changes): once a second it asks which apps changed, reads
 * only those, and sends an event when the app's JSON differs from what
 * this stream last sent (a hash per app is all it keeps).
 */
#include <civetweb.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "server/internal.h"

/* An SSE comment this often keeps proxies and browsers from closing an
 * idle stream. */
#define SERVER_KEEPALIVE_S 15
/* Longest query value read (names, selectors). */
#define SERVER_QUERY_MAX 1024

int server_fail(struct mg_connection *conn, int rc)
{
    int status = rc == ERR_NOTFOUND                           ? 404
                 : rc == ERR_CONFLICT                         ? 409
                 : rc == ERR_INVALID || rc == ERR_UNSUPPORTED ? 400
                 : rc == ERR_TOOLARGE                         ? 413
                                                              : 500;
    status = server_error(conn, status, err_last(), NULL);
    err_clear();
    return status;
}

/* Query parameter name (its occurrence-th value) into out: 1 if present,
 * 0 if not, -1 (out "") when the value does not fit in len. */
static int server_query(struct mg_connection *conn, const char *name, int occurrence, char *out,
                        size_t len)
{
    const char *q = mg_get_request_info(conn)->query_string;
    int n;
    out[0] = '\0';
    if (!q)
        return 0;
    n = mg_get_var2(q, strlen(q), name, out, len, occurrence);
    if (n == -2) {
        out[0] = '\0';
        return -1;
    }
    return n >= 0;
}

static int server_not_supported(struct mg_connection *conn, const char *what)
{
    char *msg = xasprintf("%s: not supported by this server", what);
    int rc = server_error(conn, 501, msg, NULL);
    free(msg);
    return rc;
}

/* ---- create and update ---- */

static int server_app_written(server *srv, struct mg_connection *conn, int rc, char *name)
{
    json_t *app = NULL;
    if (rc < 0) {
        free(name);
        return server_fail(conn, rc);
    }
    rc = server_app_new(srv, name, &app);
    free(name);
    if (rc < 0)
        return server_internal_error(conn, "read application");
    return server_send(conn, 200, app, NULL);
}

/* The dispatcher checked the route's right on the app as stored (or, for
 * a create, on some object); the body names the project the app will be
 * in, which needs the right too: 0, or the 403 sent. */
static int server_body_allowed(server *srv, struct mg_connection *conn, const json_t *body,
                               const char *action, const char *name)
{
    const json_t *spec = json_object_get(body, "spec");
    const char *project = json_string_value(json_object_get(spec, "project"));
    const char *bname =
        json_string_value(json_object_get(json_object_get(body, "metadata"), "name"));
    char *object = xasprintf("%s/%s", project && project[0] ? project : "default",
                             bname && bname[0] ? bname
                             : name            ? name
                                               : "");
    int rc = 0;

    if (!server_allowed(srv, conn, "applications", action, object)) {
        char *msg = xasprintf("permission denied: applications, %s, %s", action, object);
        rc = server_error(conn, 403, msg, NULL);
        free(msg);
    }
    free(object);
    return rc;
}

int server_post_app(server *srv, struct mg_connection *conn, const char *arg)
{
    char v[16];
    json_t *body = NULL;
    char *name = NULL;
    enum server_app_write how = SERVER_APP_CREATE;
    int rc;

    (void)arg;
    if (server_query(conn, "upsert", 0, v, sizeof(v))) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            return server_error(conn, 400, "upsert: true or false", NULL);
        if (!strcmp(v, "true"))
            how = SERVER_APP_UPSERT;
    }
    if ((rc = server_read_json(conn, &body)) != 0)
        return rc;
    if ((rc = server_body_allowed(srv, conn, body, "create", NULL)) != 0 ||
        (how == SERVER_APP_UPSERT && (rc = server_body_allowed(srv, conn, body, "update", NULL)))) {
        json_decref(body);
        return rc;
    }
    if (!srv->actions.app_write) {
        json_decref(body);
        return server_not_supported(conn, "creating applications");
    }
    rc = srv->actions.app_write(srv->actions.ctx, body, how, NULL, &name);
    json_decref(body);
    return server_app_written(srv, conn, rc, name);
}

int server_put_app(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *body = NULL;
    char *name = NULL;
    int rc;

    if ((rc = server_read_json(conn, &body)) != 0)
        return rc;
    if ((rc = server_body_allowed(srv, conn, body, "update", arg)) != 0) {
        json_decref(body);
        return rc;
    }
    if (!srv->actions.app_write) {
        json_decref(body);
        return server_not_supported(conn, "updating applications");
    }
    rc = srv->actions.app_write(srv->actions.ctx, body, SERVER_APP_UPDATE, arg, &name);
    json_decref(body);
    return server_app_written(srv, conn, rc, name);
}

/* ?refresh=normal|hard on GET of one app: 0, or the error status sent. */
int server_app_refresh(server *srv, struct mg_connection *conn, const char *app)
{
    char v[16];
    if (!server_query(conn, "refresh", 0, v, sizeof(v)))
        return 0;
    if (strcmp(v, "normal") && strcmp(v, "hard"))
        return server_error(conn, 400, "refresh: normal or hard", NULL);
    if (!srv->actions.refresh_app)
        return server_not_supported(conn, "refresh");
    srv->actions.refresh_app(srv->actions.ctx, app, !strcmp(v, "hard"));
    return 0;
}

/* ---- list filters ---- */

/* Kubernetes' label selector grammar, as Argo CD's list takes it:
 * comma-separated requirements "k=v", "k==v", "k!=v", "k", "!k",
 * "k in (a,b)", "k notin (a,b)". 1 if labels (an object, may be NULL)
 * match, 0 if not, ERR_INVALID (message set) for a malformed selector. */
static int server_selector_match(const char *sel, const json_t *labels)
{
    const char *p = sel;
    while (*p) {
        char key[256], op[8] = "", vals[SERVER_QUERY_MAX];
        const char *have;
        size_t n;
        int neg = 0, ok;
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '!') {
            neg = 1;
            p++;
        }
        n = strcspn(p, "=!, (");
        if (n == 0 || n >= sizeof(key))
            return err_set(ERR_INVALID, "selector: a label key expected at \"%s\"", p);
        memcpy(key, p, n);
        key[n] = '\0';
        p += n;
        while (*p == ' ')
            p++;
        have = json_string_value(json_object_get(labels, key));
        if (neg || *p == ',' || !*p) {
            if (neg && (*p == '=' || (*p == '!' && p[1] == '=')))
                return err_set(ERR_INVALID, "selector: \"!%s\" takes no value", key);
            ok = neg ? !have : have != NULL;
        } else {
            if (!strncmp(p, "==", 2) || !strncmp(p, "!=", 2)) {
                memcpy(op, p, 2);
                p += 2;
            } else if (*p == '=') {
                op[0] = '=';
                p++;
            } else if (!strncmp(p, "in ", 3) || !strncmp(p, "in(", 3)) {
                str_copy(op, "in", sizeof(op));
                p += 2;
            } else if (!strncmp(p, "notin", 5)) {
                str_copy(op, "notin", sizeof(op));
                p += 5;
            } else {
                return err_set(ERR_INVALID, "selector: an operator expected after \"%s\"", key);
            }
            while (*p == ' ')
                p++;
            if (op[0] == 'i' || op[0] == 'n') {
                const char *end;
                char *v, *save = NULL;
                int found = 0;
                if (*p != '(' || !(end = strchr(p, ')')) || (size_t)(end - p) >= sizeof(vals))
                    return err_set(ERR_INVALID, "selector: %s %s needs (value,...)", key, op);
                memcpy(vals, p + 1, (size_t)(end - p - 1));
                vals[end - p - 1] = '\0';
                p = end + 1;
                for (v = strtok_r(vals, ", ", &save); v; v = strtok_r(NULL, ", ", &save))
                    found |= have && !strcmp(have, v);
                ok = op[0] == 'i' ? found : !found;
            } else {
                n = strcspn(p, ", ");
                if (n >= sizeof(vals))
                    return err_set(ERR_INVALID, "selector: value of %s too long", key);
                memcpy(vals, p, n);
                vals[n] = '\0';
                p += n;
                ok = op[0] == '!' ? !have || strcmp(have, vals) : have && !strcmp(have, vals);
            }
        }
        while (*p == ' ')
            p++;
        if (*p && *p != ',')
            return err_set(ERR_INVALID, "selector: \",\" expected at \"%s\"", p);
        if (!ok)
            return 0;
    }
    return 1;
}

struct server_app_filter {
    json_t *projects; /* [] = any */
    char selector[SERVER_QUERY_MAX], search[256], sync[32], health[32];
};

/* The list's query into f: 0, or the error status sent. */
int server_app_filter_read(struct mg_connection *conn, struct server_app_filter **out)
{
    struct server_app_filter *f = xcalloc(1, sizeof(*f));
    char v[256];
    int i;

    *out = NULL;
    f->projects = json_array();
    err_clear();
    for (i = 0; i < 256 && server_query(conn, "projects", i, v, sizeof(v)) > 0; i++) {
        /* projects=a,b as well as projects=a&projects=b */
        char *p, *save = NULL;
        for (p = strtok_r(v, ",", &save); p; p = strtok_r(NULL, ",", &save))
            json_array_append_new(f->projects, json_string(p));
    }
    if (server_query(conn, "selector", 0, f->selector, sizeof(f->selector)) < 0 ||
        server_query(conn, "search", 0, f->search, sizeof(f->search)) < 0 ||
        server_query(conn, "sync", 0, f->sync, sizeof(f->sync)) < 0 ||
        server_query(conn, "health", 0, f->health, sizeof(f->health)) < 0 || i == 256 ||
        (f->selector[0] && server_selector_match(f->selector, NULL) < 0)) {
        int rc = server_error(conn, 400,
                              f->selector[0] && err_last()[0] ? err_last()
                                                              : "a filter is too long or repeated",
                              NULL);
        err_clear();
        server_app_filter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void server_app_filter_free(struct server_app_filter *f)
{
    if (!f)
        return;
    json_decref(f->projects);
    free(f);
}

int server_app_filter_match(const struct server_app_filter *f, const json_t *app)
{
    const char *project =
        json_string_value(json_object_get(json_object_get(app, "spec"), "project"));
    const char *name = json_string_value(json_object_get(json_object_get(app, "metadata"), "name"));
    json_t *status = json_object_get(app, "status"), *p;
    const char *sync =
        json_string_value(json_object_get(json_object_get(status, "sync"), "status"));
    const char *health =
        json_string_value(json_object_get(json_object_get(status, "health"), "status"));
    size_t i;
    int hit = json_array_size(f->projects) == 0;

    json_array_foreach(f->projects, i, p) hit |=
        !strcmp(json_string_value(p), project && project[0] ? project : "default");
    if (!hit)
        return 0;
    if (f->search[0] && (!name || !strcasestr(name, f->search)))
        return 0;
    if (f->sync[0] && strcasecmp(f->sync, sync ? sync : "Unknown"))
        return 0;
    if (f->health[0] && strcasecmp(f->health, health ? health : "Unknown"))
        return 0;
    if (f->selector[0] &&
        server_selector_match(f->selector,
                              json_object_get(json_object_get(app, "metadata"), "labels")) != 1) {
        err_clear();
        return 0;
    }
    return 1;
}

/* ---- resources ---- */

typedef int (*server_doc_action)(void *ctx, const char *app, json_t **out);

static int server_app_doc(server *srv, struct mg_connection *conn, const char *app,
                          server_doc_action fn, const char *what)
{
    json_t *doc = NULL;
    int rc;
    if (!fn)
        return server_not_supported(conn, what);
    if ((rc = server_app_known(srv, conn, app)) != 0)
        return rc;
    if ((rc = fn(srv->actions.ctx, app, &doc)) < 0)
        return server_fail(conn, rc);
    return server_send(conn, 200, doc, NULL);
}

int server_get_tree(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_app_doc(srv, conn, arg, srv->actions.resource_tree, "resource tree");
}

int server_get_managed(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_app_doc(srv, conn, arg, srv->actions.managed_resources, "managed resources");
}

/* The query's resource (Argo CD's parameter names). */
struct server_ref_query {
    char group[256], version[64], kind[256], ns[256], name[256], uid[128];
};

int server_get_resource(server *srv, struct mg_connection *conn, const char *arg)
{
    struct server_ref_query q;
    struct server_resource_ref ref;
    json_t *obj = NULL;
    char *text;
    int rc;

    if (!srv->actions.resource)
        return server_not_supported(conn, "resources");
    if ((rc = server_app_known(srv, conn, arg)) != 0)
        return rc;
    server_query(conn, "group", 0, q.group, sizeof(q.group));
    server_query(conn, "version", 0, q.version, sizeof(q.version));
    server_query(conn, "kind", 0, q.kind, sizeof(q.kind));
    server_query(conn, "namespace", 0, q.ns, sizeof(q.ns));
    server_query(conn, "resourceName", 0, q.name, sizeof(q.name));
    if (!q.kind[0] || !q.name[0])
        return server_error(conn, 400, "kind and resourceName are required", NULL);
    ref = (struct server_resource_ref){q.group, q.version, q.kind, q.ns, q.name, NULL};
    if ((rc = srv->actions.resource(srv->actions.ctx, arg, &ref, &obj)) < 0)
        return server_fail(conn, rc);
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    rc = server_send(conn, 200, json_pack("{s:o}", "manifest", server_json_str_new(text)), NULL);
    free(text);
    return rc;
}

/* GET .../events?resourceName=&resourceNamespace=&resourceUID=: the
 * Kubernetes events of one resource. 0 when the query names none (the
 * app's own events are then the caller's), else the status sent. */
int server_resource_events(server *srv, struct mg_connection *conn, const char *app)
{
    struct server_ref_query q;
    struct server_resource_ref ref;
    json_t *doc = NULL;
    int rc;

    if (!server_query(conn, "resourceName", 0, q.name, sizeof(q.name)) || !q.name[0])
        return 0;
    if (!srv->actions.resource_events)
        return server_not_supported(conn, "resource events");
    server_query(conn, "resourceNamespace", 0, q.ns, sizeof(q.ns));
    server_query(conn, "resourceUID", 0, q.uid, sizeof(q.uid));
    ref = (struct server_resource_ref){NULL, NULL, NULL, q.ns, q.name, q.uid};
    if ((rc = srv->actions.resource_events(srv->actions.ctx, app, &ref, &doc)) < 0)
        return server_fail(conn, rc);
    return server_send(conn, 200, doc, NULL);
}

/* ---- pod logs ---- */

struct server_log_stream {
    server *srv;
    struct mg_connection *conn;
    const char *pod;
    int started, gone, idle;
};

static void server_log_begin(struct server_log_stream *ls)
{
    if (!ls->started) {
        server_stream_start(ls->conn, "application/json"); /* as Argo CD's */
        ls->started = 1;
    }
}

/* One line as Argo CD's LogEntry; a blank line now and then while a
 * follow waits, which is also how a client that left is noticed. */
static int server_log_line(void *fctx, const char *time, const char *content)
{
    struct server_log_stream *ls = fctx;
    json_t *entry;
    char *text;
    int rc;

    if (server_stopping(ls->srv))
        return ERR_IO;
    server_log_begin(ls);
    if (!content) {
        if (++ls->idle < SERVER_KEEPALIVE_S)
            return 0;
        ls->idle = 0;
        rc = server_stream_write(ls->conn, "\n", 1);
    } else {
        ls->idle = 0;
        entry = json_pack("{s:{s:o, s:o, s:s}}", "result", "content", server_json_str_new(content),
                          "timeStamp", server_json_str_new(time), "podName", ls->pod);
        text = json_dumps(entry, JSON_COMPACT);
        json_decref(entry);
        {
            struct buf b = BUF_INIT;
            buf_printf(&b, "%s\n", text ? text : "{}");
            rc = server_stream_write(ls->conn, buf_cstr(&b), b.len);
            buf_dispose(&b);
        }
        free(text);
    }
    if (rc < 0) {
        ls->gone = 1;
        return err_set(ERR_IO, "the client went away");
    }
    return 0;
}

int server_get_logs(server *srv, struct mg_connection *conn, const char *arg)
{
    char ns[256], pod[256], container[256], tail[32], follow[16];
    struct server_log_request rq;
    struct server_log_stream ls = {srv, conn, pod, 0, 0, 0};
    long tail_lines = -1;
    int rc;

    if (!srv->actions.pod_logs)
        return server_not_supported(conn, "pod logs");
    if ((rc = server_app_known(srv, conn, arg)) != 0)
        return rc;
    server_query(conn, "namespace", 0, ns, sizeof(ns));
    server_query(conn, "podName", 0, pod, sizeof(pod));
    server_query(conn, "container", 0, container, sizeof(container));
    if (!ns[0] || !pod[0])
        return server_error(conn, 400, "namespace and podName are required", NULL);
    if (server_query(conn, "tailLines", 0, tail, sizeof(tail)) && tail[0] &&
        str_to_long(tail, 0, 1000000, "tailLines", &tail_lines) < 0) {
        rc = server_error(conn, 400, err_last(), NULL);
        err_clear();
        return rc;
    }
    server_query(conn, "follow", 0, follow, sizeof(follow));
    rq = (struct server_log_request){ns, pod, container, tail_lines, !strcmp(follow, "true")};
    if (rq.follow && (rc = server_stream_acquire(srv, conn)) != 0)
        return rc;
    rc = srv->actions.pod_logs(srv->actions.ctx, arg, &rq, server_log_line, &ls);
    if (rq.follow)
        server_stream_release(srv);
    if (rc < 0 && !ls.started)
        return server_fail(conn, rc);
    err_clear();
    server_log_begin(&ls);
    if (!ls.gone)
        server_stream_end(conn);
    return 200;
}

/* ---- the event stream ---- */

/* Send one event for app name (its current JSON, or its deletion) when it
 * differs from what this stream sent last (sent: name -> hash). Apps the
 * caller may not get are not sent. 0, or -1 when the client is gone. */
static int server_sse_app(server *srv, struct mg_connection *conn, json_t *sent, const char *name)
{
    json_t *app = NULL, *ev;
    const char *type = NULL, *last = json_string_value(json_object_get(sent, name));
    char hash[65], *text;
    int rc;

    if (server_app_new(srv, name, &app) < 0 || !server_app_visible(srv, conn, app)) {
        /* gone, or (moved to a project) no longer the caller's to see */
        err_clear();
        json_decref(app);
        app = NULL;
        if (!last)
            return 0;
        json_object_del(sent, name);
        app = json_pack("{s:{s:s}}", "metadata", "name", name);
        type = "DELETED";
    } else {
        text = json_dumps(app, JSON_COMPACT | JSON_SORT_KEYS);
        util_sha256_hex(text ? text : "", text ? strlen(text) : 0, hash);
        free(text);
        if (last && !strcmp(last, hash)) {
            json_decref(app);
            return 0;
        }
        type = last ? "MODIFIED" : "ADDED";
        json_object_set_new(sent, name, json_string(hash));
    }
    ev = json_pack("{s:{s:s, s:o}}", "result", "type", type, "application", app);
    text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    {
        struct buf b = BUF_INIT;
        buf_printf(&b, "data: %s\n\n", text ? text : "{}");
        rc = server_stream_write(conn, buf_cstr(&b), b.len);
        buf_dispose(&b);
    }
    free(text);
    return rc;
}

int server_get_stream(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *sent = json_object();
    char **names = NULL;
    size_t n = 0, i;
    unsigned long long gen;
    int rc, ticks = 0;

    (void)arg;
    if ((rc = server_stream_acquire(srv, conn)) != 0) {
        json_decref(sent);
        return rc;
    }
    server_stream_start(conn, "text/event-stream");
    /* the generation first: a change while the apps are listed is sent
     * again rather than lost */
    gen = store_app_generation(srv->st);
    rc = store_app_list(srv->st, &names, &n) < 0 ? -1 : 0;
    err_clear();
    if (rc == 0) {
        static const char hello[] = ": edgecd application stream\n\n";
        rc = server_stream_write(conn, hello, sizeof(hello) - 1);
    }
    for (i = 0; rc == 0 && i < n; i++)
        rc = server_sse_app(srv, conn, sent, names[i]);
    store_names_free(names, n);
    while (rc == 0 && !server_stopping(srv)) {
        struct timespec second = {1, 0};
        nanosleep(&second, NULL);
        if (store_app_generation(srv->st) != gen) {
            names = NULL;
            n = 0;
            store_app_changes(srv->st, gen, &names, &n, &gen);
            for (i = 0; rc == 0 && i < n; i++)
                rc = server_sse_app(srv, conn, sent, names[i]);
            store_names_free(names, n);
        }
        if (rc == 0 && ++ticks >= SERVER_KEEPALIVE_S) {
            ticks = 0;
            static const char keepalive[] = ": keepalive\n\n";
            rc = server_stream_write(conn, keepalive, sizeof(keepalive) - 1);
        }
    }
    if (rc == 0)
        server_stream_end(conn);
    server_stream_release(srv);
    json_decref(sent);
    return 200;
}
