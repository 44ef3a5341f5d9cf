/*
 * The handlers for applications and ApplicationSets, and the webhook that
 * refreshes them: Argo CD shaped objects built from the store, with
 * repository credentials redacted; engine work (sync, rollback, delete,
 * terminate, refresh) is queued through srv->actions.
 */
#include <civetweb.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "server/internal.h"
#include "server/webhook.h"

/* Credentials in a repository URL ("https://user:token@host/...") are
 * replaced before the spec is shown; everything else is kept. */
static void server_redact_repo(json_t *source)
{
    const char *url = json_string_value(json_object_get(source, "repoURL"));
    const char *scheme, *at, *slash;
    char *clean;

    if (!url || !(scheme = strstr(url, "://")))
        return;
    scheme += 3;
    at = strchr(scheme, '@');
    slash = strchr(scheme, '/');
    if (!at || (slash && slash < at))
        return;
    clean = xasprintf("%.*s***%s", (int)(scheme - url), url, at);
    json_object_set_new(source, "repoURL", server_json_str_new(clean));
    free(clean);
}

static json_t *server_resource_new(const struct store_resource *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "group", server_json_str_new(r->group));
    json_object_set_new(j, "version", server_json_str_new(r->version));
    json_object_set_new(j, "kind", server_json_str_new(r->kind));
    json_object_set_new(j, "namespace", server_json_str_new(r->namespace_));
    json_object_set_new(j, "name", server_json_str_new(r->name));
    json_object_set_new(j, "status", server_json_str_new(r->status));
    json_object_set_new(j, "message", server_json_str_new(r->message));
    if (r->health && r->health[0])
        json_object_set_new(j, "health",
                            json_pack("{s:s, s:s}", "status", r->health, "message",
                                      r->health_message ? r->health_message : ""));
    if (r->hook && r->hook[0])
        json_object_set_new(j, "hookType", server_json_str_new(r->hook));
    json_object_set_new(j, "syncWave", json_integer(r->wave));
    return j;
}

/* The "status" of an Application. st is NULL when the engine has not
 * reported yet. The operation phase follows Argo CD: Error when the app
 * could not even be compared (sync status Unknown), Failed when a sync
 * ran but did not complete, Succeeded otherwise. */
static json_t *server_status_new(const struct store_app_status *st,
                                 const struct store_operation *opr)
{
    json_t *status = json_object(), *sync = json_object(), *res = json_array(), *op;
    const char *phase = "Succeeded", *message = "successfully synced", *finished;
    size_t i;

    json_object_set_new(sync, "status", server_json_str_new(st ? st->sync_status : "Unknown"));
    json_object_set_new(sync, "revision", server_json_str_new(st ? st->revision : ""));
    json_object_set_new(status, "sync", sync);
    json_object_set_new(status, "resources", res);
    if (!st)
        return status;
    for (i = 0; i < st->n_resources; i++) {
        json_array_append_new(res, server_resource_new(&st->resources[i]));
        if (!strcmp(st->resources[i].status, "Failed")) {
            phase = "Failed";
            message = "one or more resources failed to sync";
        }
    }
    if (st->last_error[0]) {
        phase = strcmp(st->sync_status, "Unknown") == 0 ? "Error" : "Failed";
        message = st->last_error;
    }
    /* A failed pass finished when it was recorded, not at the last good
     * sync that synced_at still holds. */
    finished = strcmp(phase, "Succeeded") == 0 ? st->synced_at : st->changed_at;
    op = json_object();
    json_object_set_new(op, "phase", json_string(phase));
    json_object_set_new(op, "message", server_json_str_new(message));
    if (finished[0])
        json_object_set_new(op, "finishedAt", server_json_str_new(finished));
    if (opr) {
        /* the last sync operation, as the engine recorded it (our own
         * JSON from the store) */
        json_t *state = json_loads(opr->state_json, 0, NULL);
        const char *f = json_string_value(json_object_get(state, "finishedAt"));
        const char *rev = json_string_value(json_object_get(state, "revision"));
        if (state) {
            json_object_set_new(op, "phase", server_json_str_new(opr->phase));
            /* edgecd's own: which operation this is (ids increase per app) */
            json_object_set_new(op, "id", json_integer((json_int_t)opr->id));
            json_object_set_new(
                op, "message",
                server_json_str_new(json_string_value(json_object_get(state, "message"))));
            json_object_set_new(
                op, "startedAt",
                server_json_str_new(json_string_value(json_object_get(state, "startedAt"))));
            if (f && f[0])
                json_object_set_new(op, "finishedAt", server_json_str_new(f));
            else
                json_object_del(op, "finishedAt");
            json_object_set_new(op, "syncResult", json_pack("{s:s}", "revision", rev ? rev : ""));
        }
        json_decref(state);
    }
    json_object_set_new(status, "operationState", op);
    json_object_set_new(
        status, "health",
        json_pack("{s:s}", "status", st->health && st->health[0] ? st->health : "Unknown"));
    if (st->last_error[0]) {
        json_t *cond = json_object();
        json_object_set_new(cond, "type", json_string("ComparisonError"));
        json_object_set_new(cond, "message", server_json_str_new(st->last_error));
        json_object_set_new(status, "conditions", json_pack("[o]", cond));
    }
    /* edgecd's own: a note on the last pass, e.g. that it fetched from
     * upstream because the configured mirror failed */
    if (st->message && st->message[0])
        json_object_set_new(status, "sourceMessage", server_json_str_new(st->message));
    json_object_set_new(status, "reconciledAt", server_json_str_new(st->changed_at));
    return status;
}

/* The Application name as Argo CD would show it, in *out (a new
 * reference). ERR_NOTFOUND if it is not stored. */
int server_app_new(server *srv, const char *name, json_t **out)
{
    struct store_app_status st = {0};
    char *manifest = NULL;
    json_t *m = NULL, *app = NULL, *meta, *spec, *ns, *sources, *src;
    int rc, have_status;
    size_t i;

    *out = NULL;
    if ((rc = store_app_get(srv->st, name, &manifest)) < 0)
        return rc;
    rc = store_app_status_get(srv->st, name, &st);
    if (rc < 0 && rc != ERR_NOTFOUND)
        goto out;
    have_status = rc == 0;
    rc = 0;
    /* The manifest was validated before it was stored; one that no longer
     * parses still gets listed, with an empty spec, rather than hiding
     * every other application. */
    m = json_loads(manifest, 0, NULL);
    spec = json_object_get(m, "spec");
    spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    server_redact_repo(json_object_get(spec, "source"));
    sources = json_object_get(spec, "sources");
    json_array_foreach(sources, i, src) server_redact_repo(src);

    app = json_object();
    meta = json_object();
    json_object_set_new(meta, "name", server_json_str_new(name));
    ns = json_object_get(json_object_get(m, "metadata"), "namespace");
    if (json_is_string(ns))
        json_object_set_new(meta, "namespace", json_incref(ns));
    /* labels for selectors; annotations say who owns the app
     * (edgecd.io/parent, edgecd.io/applicationset, edgecd.io/origin) */
    for (i = 0; i < 2; i++) {
        const char *key = i ? "annotations" : "labels";
        json_t *v = json_object_get(json_object_get(m, "metadata"), key);
        if (json_is_object(v))
            json_object_set_new(meta, key, json_deep_copy(v));
    }
    json_object_set_new(app, "metadata", meta);
    json_object_set_new(app, "spec", spec);
    {
        struct store_operation opr = {0};
        int have_op = store_operation_get(srv->st, name, 0, &opr) == 0;
        err_clear();
        json_object_set_new(app, "status",
                            server_status_new(have_status ? &st : NULL, have_op ? &opr : NULL));
        store_operation_dispose(&opr);
    }
    *out = app;
out:
    json_decref(m);
    free(manifest);
    store_app_status_dispose(&st);
    return rc;
}

/* Every repoURL in tree (a copy the answer owns) without credentials. */
static void server_redact_tree(json_t *tree)
{
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(tree)) {
        server_redact_repo(tree);
        json_object_foreach(tree, k, v) server_redact_tree(v);
    } else if (json_is_array(tree)) {
        json_array_foreach(tree, i, v) server_redact_tree(v);
    }
}

/* The ApplicationSet name as Argo CD shows it (metadata, spec, status
 * with conditions and the generated apps as resources, each with its
 * sync status and health from the store), in *out. ERR_NOTFOUND. */
static int server_appset_new(server *srv, const char *name, json_t **out)
{
    char *manifest = NULL, *status_text = NULL, *changed = NULL;
    json_t *m = NULL, *st = NULL, *spec, *status = json_object(), *res = json_array(), *a;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = store_appset_get(srv->st, name, &manifest)) < 0) {
        json_decref(status);
        json_decref(res);
        return rc;
    }
    if (store_appset_status_get(srv->st, name, &status_text, &changed) == 0)
        st = json_loads(status_text, 0, NULL);
    err_clear();
    m = json_loads(manifest, 0, NULL);
    spec = json_object_get(m, "spec");
    spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    server_redact_tree(spec);
    json_array_foreach(json_object_get(st, "applications"), i, a)
    {
        const char *app = json_string_value(json_object_get(a, "name"));
        struct store_app_status as = {0};
        json_t *r;
        if (!app)
            continue;
        r = json_pack("{s:s, s:s, s:s, s:o}", "group", "argoproj.io", "version", "v1alpha1", "kind",
                      "Application", "name", server_json_str_new(app));
        if (store_app_status_get(srv->st, app, &as) == 0) {
            json_object_set_new(r, "status", server_json_str_new(as.sync_status));
            json_object_set_new(
                r, "health",
                json_pack("{s:o}", "status",
                          server_json_str_new(as.health && as.health[0] ? as.health : "Unknown")));
            store_app_status_dispose(&as);
        } else {
            json_object_set_new(r, "status", json_string("Unknown"));
        }
        err_clear();
        if (json_string_length(json_object_get(a, "message")))
            json_object_set_new(
                r, "message",
                server_json_str_new(json_string_value(json_object_get(a, "message"))));
        json_array_append_new(res, r);
    }
    json_object_set_new(status, "resources", res);
    if (json_is_array(json_object_get(st, "conditions")))
        json_object_set(status, "conditions", json_object_get(st, "conditions"));
    if (json_is_object(json_object_get(st, "revisions")))
        json_object_set(status, "revisions", json_object_get(st, "revisions"));
    if (changed)
        json_object_set_new(status, "reconciledAt", server_json_str_new(changed));
    *out = json_pack("{s:s, s:s, s:{s:o}, s:o, s:o}", "apiVersion", "argoproj.io/v1alpha1", "kind",
                     "ApplicationSet", "metadata", "name", server_json_str_new(name), "spec", spec,
                     "status", status);
    if (json_is_string(json_object_get(st, "parent")))
        json_object_set_new(json_object_get(*out, "metadata"), "annotations",
                            json_pack("{s:O}", "edgecd.io/parent", json_object_get(st, "parent")));
    json_decref(m);
    json_decref(st);
    free(manifest);
    free(status_text);
    free(changed);
    return 0;
}

int server_get_appsets(server *srv, struct mg_connection *conn, const char *arg)
{
    char **names = NULL;
    size_t n = 0, i;
    json_t *items = json_array(), *set;
    int rc;

    (void)arg;
    if (store_appset_list(srv->st, &names, &n) < 0) {
        json_decref(items);
        return server_internal_error(conn, "list applicationsets");
    }
    for (i = 0; i < n; i++) {
        rc = server_appset_new(srv, names[i], &set);
        if (rc == ERR_NOTFOUND)
            continue; /* deleted since the list was read */
        if (rc < 0) {
            store_names_free(names, n);
            json_decref(items);
            return server_internal_error(conn, "read applicationset");
        }
        json_array_append_new(items, set);
    }
    store_names_free(names, n);
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}

int server_get_appset(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *set = NULL;
    char *msg;
    int rc = server_appset_new(srv, arg, &set);

    if (rc == ERR_NOTFOUND) {
        msg = xasprintf("applicationset \"%s\" not found", arg);
        rc = server_error(conn, 404, msg, NULL);
        free(msg);
        return rc;
    }
    if (rc < 0)
        return server_internal_error(conn, "read applicationset");
    return server_send(conn, 200, set, NULL);
}

int server_get_healthz(server *srv, struct mg_connection *conn, const char *arg)
{
    return server_send(conn, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

static int server_app_keep(void *ctx, const json_t *app)
{
    return server_app_filter_match(ctx, app);
}

int server_get_apps(server *srv, struct mg_connection *conn, const char *arg)
{
    struct server_app_filter *f = NULL;
    struct buf out = BUF_INIT;
    int rc;

    (void)arg;
    if ((rc = server_app_filter_read(conn, &f)) != 0)
        return rc;
    if (server_app_cache_list(srv, server_app_keep, f, &out) < 0)
        rc = server_internal_error(conn, "list applications");
    else
        rc = server_send_text(conn, 200, "application/json", out.ptr, out.len, NULL);
    buf_dispose(&out);
    server_app_filter_free(f);
    return rc;
}

int server_get_app(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *app = NULL;
    char *msg;
    int rc;

    /* the refresh is queued before the answer, which shows the app as it
     * is now (as Argo CD's does) */
    if ((rc = server_app_known(srv, conn, arg)) != 0 ||
        (rc = server_app_refresh(srv, conn, arg)) != 0)
        return rc;
    rc = server_app_new(srv, arg, &app);
    if (rc == ERR_NOTFOUND) {
        msg = xasprintf("application \"%s\" not found", arg);
        rc = server_error(conn, 404, msg, NULL);
        free(msg);
        return rc;
    }
    if (rc < 0)
        return server_internal_error(conn, "read application");
    return server_send(conn, 200, app, NULL);
}

/* The request's JSON body (an object; {} when there is none) into *out.
 * A chunked body was already drained by server_body_ok: 411. */
/* The answer to an engine action: 202 and the app, or the error. */
static int server_action_result(server *srv, struct mg_connection *conn, const char *app, int rc)
{
    json_t *body = NULL;
    if (rc < 0)
        return server_fail(conn, rc);
    if (server_app_new(srv, app, &body) < 0) {
        err_clear();
        body = json_pack("{s:s}", "status", "accepted");
    }
    return server_send(conn, 202, body, NULL);
}

static const char *server_header(void *ctx, const char *name)
{
    return mg_get_header(ctx, name);
}

/* A Git provider's push: checked (server/webhook.c), then every app of
 * the repository and branch is refreshed. No token: the signature is the
 * credential, and a refusal is logged without the request's headers. */
int server_post_webhook(server *srv, struct mg_connection *conn, const char *arg)
{
    static const struct secrets none = {0};
    struct webhook_push push;
    char *body = NULL;
    size_t len = 0, i;
    json_t *answer, *url;
    int rc;

    (void)arg;
    if (!srv->actions.refresh)
        return server_error(conn, 501, "webhooks are not available on this server", NULL);
    if ((rc = server_read_body(conn, &body, &len)) != 0)
        return rc;
    rc = webhook_parse(&push, srv->webhook_secrets ? srv->webhook_secrets : &none, server_header,
                       conn, body ? body : "", len);
    free(body);
    if (rc < 0) {
        int status = rc == ERR_AUTH ? 401 : 400;
        log_info("http: webhook refused: %s", err_last());
        rc = server_error(conn, status, err_last(), NULL);
        err_clear();
        webhook_push_dispose(&push);
        return rc;
    }
    if (push.ignored) {
        answer = json_pack("{s:s, s:s}", "provider", push.provider, "ignored", push.ignored);
    } else {
        json_array_foreach(push.urls, i, url)
        {
            srv->actions.refresh(srv->actions.ctx, json_string_value(url), push.revision);
        }
        log_info("http: %s webhook: push of %s to %s", push.provider,
                 push.revision[0] ? push.revision : "several refs",
                 json_string_value(json_array_get(push.urls, 0)));
        answer = json_pack("{s:s, s:O, s:s}", "provider", push.provider, "repositories", push.urls,
                           "revision", push.revision);
    }
    webhook_push_dispose(&push);
    return server_send(conn, 200, answer, NULL);
}

int server_post_sync(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *body = NULL;
    int rc;
    if (!srv->actions.sync)
        return server_error(conn, 501, "sync is not available on this server", NULL);
    if (server_read_json(conn, &body) != 0 || !body)
        return 400;
    rc = srv->actions.sync(srv->actions.ctx, arg, body);
    json_decref(body);
    return server_action_result(srv, conn, arg, rc);
}

int server_delete_operation(server *srv, struct mg_connection *conn, const char *arg)
{
    if (!srv->actions.terminate)
        return server_error(conn, 501, "terminate is not available on this server", NULL);
    return server_action_result(srv, conn, arg, srv->actions.terminate(srv->actions.ctx, arg));
}

int server_post_rollback(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *body = NULL;
    int rc;
    if (!srv->actions.rollback)
        return server_error(conn, 501, "rollback is not available on this server", NULL);
    if (server_read_json(conn, &body) != 0 || !body)
        return 400;
    rc = srv->actions.rollback(srv->actions.ctx, arg, body);
    json_decref(body);
    return server_action_result(srv, conn, arg, rc);
}

/* ?cascade=false keeps the resources running (Argo CD's default is a
 * cascading delete). */
int server_delete_app(server *srv, struct mg_connection *conn, const char *arg)
{
    const char *q = mg_get_request_info(conn)->query_string;
    char v[16] = "";
    int cascade = 1, rc;
    if (!srv->actions.remove)
        return server_error(conn, 501, "delete is not available on this server", NULL);
    if (q && mg_get_var(q, strlen(q), "cascade", v, sizeof(v)) > 0) {
        if (strcmp(v, "false") && strcmp(v, "true"))
            return server_error(conn, 400, "cascade: true or false", NULL);
        cascade = !strcmp(v, "true");
    }
    rc = srv->actions.remove(srv->actions.ctx, arg, cascade);
    if (rc < 0)
        return server_action_result(srv, conn, arg, rc);
    return server_send(conn, 202, json_pack("{s:s, s:b}", "deleting", arg, "cascade", cascade),
                       NULL);
}

/* {"diff": unified diff text, "differs": bool} */
int server_get_diff(server *srv, struct mg_connection *conn, const char *arg)
{
    struct buf out = BUF_INIT;
    int differs = 0, rc;
    if (!srv->actions.diff)
        return server_error(conn, 501, "diff is not available on this server", NULL);
    if ((rc = server_app_known(srv, conn, arg)) != 0)
        return rc;
    rc = srv->actions.diff(srv->actions.ctx, arg, &out, &differs);
    if (rc < 0) {
        buf_dispose(&out);
        return server_action_result(srv, conn, arg, rc);
    }
    rc = server_send(
        conn, 200,
        json_pack("{s:o, s:b}", "diff", server_json_str_new(buf_cstr(&out)), "differs", differs),
        NULL);
    buf_dispose(&out);
    return rc;
}

int server_app_known(server *srv, struct mg_connection *conn, const char *app)
{
    char *m = NULL, *msg;
    int rc;
    if (store_app_get(srv->st, app, &m) == 0) {
        free(m);
        return 0;
    }
    err_clear();
    msg = xasprintf("application \"%s\" not found", app);
    rc = server_error(conn, 404, msg, NULL);
    free(msg);
    return rc;
}

/* Argo CD's status.history entries, oldest first (without manifests). */
int server_get_history(server *srv, struct mg_connection *conn, const char *arg)
{
    struct store_history *v = NULL;
    size_t n = 0, i;
    json_t *items;
    int rc;
    if ((rc = server_app_known(srv, conn, arg)) != 0)
        return rc;
    if (store_history_list(srv->st, arg, &v, &n) < 0)
        return server_internal_error(conn, "read history");
    items = json_array();
    for (i = 0; i < n; i++) {
        json_t *src = v[i].source_json ? json_loads(v[i].source_json, JSON_DECODE_ANY, NULL) : NULL;
        json_array_append_new(
            items, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o?}", "id", (json_int_t)v[i].id,
                             "revision", server_json_str_new(v[i].revision), "deployStartedAt",
                             server_json_str_new(v[i].started_at), "deployedAt",
                             server_json_str_new(v[i].deployed_at), "initiatedBy",
                             server_json_str_new(v[i].initiated_by), "source", src));
    }
    store_history_free(v, n);
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}

int server_get_events(server *srv, struct mg_connection *conn, const char *arg)
{
    struct store_event *v = NULL;
    size_t n = 0, i;
    json_t *items, *secrets = NULL;
    int rc;
    if ((rc = server_app_known(srv, conn, arg)) != 0 ||
        (rc = server_resource_events(srv, conn, arg)) != 0)
        return rc;
    if (store_event_list(srv->st, arg, 500, &v, &n) < 0)
        return server_internal_error(conn, "read events");
    items = json_array();
    /* a message may quote what the API server said about a Secret */
    if (!srv->actions.secret_values ||
        srv->actions.secret_values(srv->actions.ctx, arg, &secrets) < 0) {
        err_clear();
        secrets = NULL;
    }
    for (i = 0; i < n; i++) {
        char *msg = doc_mask_text(v[i].message, secrets);
        json_array_append_new(
            items, json_pack("{s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)v[i].id, "time",
                             server_json_str_new(v[i].time), "type", server_json_str_new(v[i].type),
                             "reason", server_json_str_new(v[i].reason), "message",
                             server_json_str_new(msg)));
        free(msg);
    }
    json_decref(secrets);
    store_events_free(v, n);
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}
