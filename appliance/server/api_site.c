/*
 * The site's routes: readiness, version, settings, the OpenAPI document,
 * AppProjects, repositories and clusters.
 *
 * Where each thing lives decides what the API may do with it:
 * - AppProjects are in the store. Those the site config lists are written
 *   there again at every start, so the config wins: the API answers 409
 *   for them (change the config instead) and owns only the ones it made.
 * - Repositories are the store's credential entries (the CLI's `edgecd
 *   repo add` writes the same rows). A password given to the API is sealed
 *   with keys/secret.key bound to the URL, exactly as the CLI does, and no
 *   answer ever carries it; an answer says only whether there is one.
 * - Clusters come from the site config only: the engine opens its
 *   connections to them at start, so adding or removing one needs the
 *   config and a restart, and the API says so (501).
 * Validating a repository or a cluster goes through srv->actions (the
 * engine's Git and Kubernetes clients; server/ does not link them) and its
 * answer is kept in memory as the entry's connectionState.
 *
 * The OpenAPI document is built from server_routes at request time, so it
 * cannot fall behind the table.
 */
#include <civetweb.h>
#include <jansson.h>
#include <mbedtls/platform_util.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/seal.h"
#include "core/util.h"
#include "model/project.h"
#include "server/internal.h"

/* Validation results by URL or cluster name: {"status","message",
 * "attemptedAt"}. Process-wide (a site runs one server); guarded by
 * site_mu. */
static pthread_mutex_t site_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *site_states;

static json_t *site_state_get(const char *kind, const char *key)
{
    json_t *v;
    pthread_mutex_lock(&site_mu);
    v = json_object_get(json_object_get(site_states, kind), key);
    v = v ? json_deep_copy(v) : NULL;
    pthread_mutex_unlock(&site_mu);
    if (!v)
        v = json_pack("{s:s, s:s}", "status", "Unknown", "message", "not validated yet");
    return v;
}

static void site_state_set(const char *kind, const char *key, const json_t *state)
{
    pthread_mutex_lock(&site_mu);
    if (!site_states)
        site_states = json_object();
    if (!json_object_get(site_states, kind))
        json_object_set_new(site_states, kind, json_object());
    json_object_set_new(json_object_get(site_states, kind), key, json_deep_copy(state));
    pthread_mutex_unlock(&site_mu);
}

static void site_state_del(const char *kind, const char *key)
{
    pthread_mutex_lock(&site_mu);
    json_object_del(json_object_get(site_states, kind), key);
    pthread_mutex_unlock(&site_mu);
}

static void site_now(char out[21])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Run a validate action and answer {"status","message"} (200 either way:
 * the check ran), recording it as kind/key's connectionState. Any error
 * of the check is a Failed answer with its message. */
static int site_validate(struct mg_connection *conn, const char *kind, const char *key,
                         int (*fn)(void *, const char *, char **), void *ctx)
{
    char *message = NULL, now[21];
    json_t *state;
    int rc;

    if (!fn)
        return server_error(conn, 501, "not supported by this server", NULL);
    rc = fn(ctx, key, &message);
    site_now(now);
    state = json_pack("{s:s, s:o, s:s}", "status", rc == 0 ? "Successful" : "Failed", "message",
                      server_json_str_new(rc == 0 ? message : err_last()), "attemptedAt", now);
    err_clear();
    free(message);
    site_state_set(kind, key, state);
    return server_send(conn, 200, state, NULL);
}

int server_get_readyz(server *srv, struct mg_connection *conn, const char *arg)
{
    char **names = NULL;
    size_t n = 0;

    (void)arg;
    if (store_app_list(srv->st, &names, &n) < 0) {
        err_clear();
        return server_error(conn, 503, "not ready: the store does not answer", NULL);
    }
    store_names_free(names, n);
    /* a server without an engine (ready NULL) waits for nothing else */
    if (srv->actions.ready && !srv->actions.ready(srv->actions.ctx))
        return server_error(conn, 503, "not ready: the engine's first pass is not finished", NULL);
    return server_send(conn, 200, json_pack("{s:s}", "status", "ready"), NULL);
}

int server_get_version(server *srv, struct mg_connection *conn, const char *arg)
{
    struct utsname u;
    char platform[128], civet[64], sqlite[64];
    const char *arch = "unknown";

    (void)arg;
    if (uname(&u) == 0)
        arch = !strcmp(u.machine, "x86_64")                                     ? "amd64"
               : !strcmp(u.machine, "aarch64")                                  ? "arm64"
               : (!strcmp(u.machine, "armv7l") || !strcmp(u.machine, "armv6l")) ? "arm"
                                                                                : u.machine;
    snprintf(platform, sizeof(platform), "linux/%s", arch);
    server_lib_version(civet, sizeof(civet));
    store_lib_version(sqlite, sizeof(sqlite));
    return server_send(conn, 200,
                       json_pack("{s:s, s:s, s:s, s:s, s:s}", "Version", srv->version, "Platform",
                                 platform, "Compiler", __VERSION__, "HttpServer", civet, "Store",
                                 sqlite),
                       NULL);
}

/* The settings file's resource.customizations per key, in Argo CD's
 * resourceOverrides shape. */
static json_t *site_overrides(const struct settings *s)
{
    json_t *out = json_object();
    size_t i;

    for (i = 0; s && i < s->n_overrides; i++) {
        const struct settings_override *o = &s->overrides[i];
        json_t *e = json_object();
        if (o->health_lua)
            json_object_set_new(e, "health.lua", server_json_str_new(o->health_lua));
        if (o->actions)
            json_object_set_new(e, "actions", server_json_str_new(o->actions));
        if (o->ignore_differences)
            json_object_set(e, "ignoreDifferences", o->ignore_differences);
        if (o->ignore_resource_updates)
            json_object_set(e, "ignoreResourceUpdates", o->ignore_resource_updates);
        if (o->known_type_fields)
            json_object_set(e, "knownTypeFields", o->known_type_fields);
        json_object_set_new(out, o->key, e);
    }
    return out;
}

int server_get_settings(server *srv, struct mg_connection *conn, const char *arg)
{
    const struct config *cfg = srv->config;
    json_t *out;

    (void)arg;
    out = json_pack("{s:s, s:s, s:s, s:b, s:b}", "appLabelKey", srv->app_label_key,
                    "trackingMethod", "annotation+label", "uiBannerContent", "",
                    "statusBadgeEnabled", 0, "execEnabled", 0);
    if (cfg) {
        json_object_set_new(out, "pollSeconds", json_integer(cfg->poll_seconds));
        json_object_set_new(out, "pollJitterSeconds", json_integer(cfg->poll_jitter_seconds));
        json_object_set_new(out, "syncWaveDelaySeconds",
                            json_integer(cfg->sync_wave_delay_seconds));
        json_object_set_new(out, "insecureHTTP", json_boolean(cfg->insecure_http));
        json_object_set_new(out, "resourceOverrides", site_overrides(cfg->settings));
        if (cfg->settings)
            json_object_set_new(
                out, "resourceCompareOptions",
                json_pack("{s:b, s:s, s:b}", "ignoreAggregatedRoles",
                          cfg->settings->compare.ignore_aggregated_roles,
                          "ignoreResourceStatusField",
                          cfg->settings->compare.ignore_resource_status_field
                              ? cfg->settings->compare.ignore_resource_status_field
                              : "crd",
                          "ignoreDifferencesOnResourceUpdates",
                          cfg->settings->compare.ignore_differences_on_resource_updates));
    }
    return server_send(conn, 200, out, NULL);
}

/* ---- OpenAPI ---- */

/* A pattern as an OpenAPI path: its "*" segment becomes "{name}". */
static char *site_openapi_path(const char *pattern)
{
    const char *star = strchr(pattern, '*');
    if (!star)
        return xstrdup(pattern);
    return xasprintf("%.*s{name}%s", (int)(star - pattern), pattern, star + 1);
}

static json_t *site_openapi_security(enum server_auth auth)
{
    switch (auth) {
    case SERVER_AUTH_NONE:
    case SERVER_AUTH_ASSET:
        return json_array();
    case SERVER_AUTH_SIGNED:
        return json_pack("[{s:[]}]", "webhookSignature");
    case SERVER_AUTH_USER:
        break;
    }
    return json_pack("[{s:[]}, {s:[]}]", "bearer", "session");
}

json_t *server_openapi_new(const server *srv)
{
    json_t *paths = json_object(), *doc;
    size_t i;

    for (i = 0; i < server_routes_count; i++) {
        const struct server_route *r = &server_routes[i];
        char *path = site_openapi_path(r->pattern), *op_id, *m;
        json_t *item = json_object_get(paths, path), *op;
        const char *type = !strcmp(r->pattern, "/metrics") ? "text/plain" : "application/json";

        if (!item) {
            item = json_object();
            json_object_set_new(paths, path, item);
        }
        m = xstrdup(r->method);
        for (size_t k = 0; m[k]; k++)
            m[k] = (char)(m[k] - 'A' + 'a');
        op_id = xasprintf("%s %s", r->method, path);
        op = json_pack("{s:s, s:s, s:o, s:{s:{s:s, s:{s:{}}}, s:{s:s, s:{s:{s:{s:s}}}}}}",
                       "summary", r->summary, "operationId", op_id, "security",
                       site_openapi_security(r->auth), "responses", "200", "description", "OK",
                       "content", type, "default", "description", "an error", "content",
                       "application/json", "schema", "$ref", "#/components/schemas/Error");
        if (strchr(r->pattern, '*'))
            json_object_set_new(op, "parameters",
                                json_pack("[{s:s, s:s, s:b, s:{s:s}}]", "name", "name", "in",
                                          "path", "required", 1, "schema", "type", "string"));
        if (r->auth == SERVER_AUTH_USER)
            json_object_set_new(
                op, "x-rbac",
                r->resource ? json_pack("{s:s, s:s}", "resource", r->resource, "action", r->action)
                            : json_pack("{s:b}", "anyAuthenticated", 1));
        json_object_set_new(item, m, op);
        free(m);
        free(op_id);
        free(path);
    }
    doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, "
        "s:s}}, s:{s:{s:s, s:[s, s], s:{s:{s:s}, s:{s:s}}}}}}",
        "openapi", "3.0.3", "info", "title", "edgecd API", "version", srv->version, "description",
        "Generated from the server's route table. x-rbac names the Argo CD RBAC resource and "
        "action a route needs.",
        "paths", paths, "components", "securitySchemes", "bearer", "type", "http", "scheme",
        "bearer", "session", "type", "apiKey", "in", "cookie", "name", "edgecd_session",
        "webhookSignature", "type", "apiKey", "in", "header", "name", "X-Hub-Signature-256",
        "description",
        "the Git provider's signature or secret (GitHub, GitLab, Gitea, Bitbucket headers)",
        "schemas", "Error", "type", "object", "required", "error", "code", "properties", "error",
        "type", "string", "code", "type", "integer");
    return doc;
}

int server_get_openapi(server *srv, struct mg_connection *conn, const char *arg)
{
    (void)arg;
    return server_send(conn, 200, server_openapi_new(srv), NULL);
}

/* ---- AppProjects ---- */

/* 1 if the site config defines project name (the config wins). */
static int site_project_from_config(const server *srv, const char *name)
{
    size_t i;
    json_t *p;
    if (!srv->config)
        return 0;
    json_array_foreach(srv->config->projects, i, p)
    {
        const char *n = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
        if (n && !strcmp(n, name))
            return 1;
    }
    return 0;
}

static json_t *site_project_load(server *srv, const char *name, int *rc)
{
    char *text = NULL;
    json_t *j;
    *rc = store_project_get(srv->st, name, &text);
    if (*rc < 0)
        return NULL;
    j = json_loads(text, 0, NULL);
    free(text);
    if (!j)
        *rc = err_set(ERR_INVALID, "project %s: stored manifest is not JSON", name);
    return j;
}

/* Argo CD's project when none named "default" is stored (as
 * project_init_default has it): every repository, destination and kind. */
static json_t *site_default_project(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[s], s:[{s:s, s:s, s:s}], s:[{s:s, s:s}]}}",
                     "apiVersion", "argoproj.io/v1alpha1", "kind", "AppProject", "metadata", "name",
                     "default", "namespace", "argocd", "spec", "sourceRepos", "*", "destinations",
                     "server", "*", "name", "*", "namespace", "*", "clusterResourceWhitelist",
                     "group", "*", "kind", "*");
}

int server_get_projects(server *srv, struct mg_connection *conn, const char *arg)
{
    char **names = NULL;
    size_t n = 0, i;
    json_t *items = json_array();
    int rc, have_default = 0;

    (void)arg;
    if (store_project_list(srv->st, &names, &n) < 0) {
        json_decref(items);
        return server_internal_error(conn, "listing projects");
    }
    for (i = 0; i < n; i++) {
        json_t *p = site_project_load(srv, names[i], &rc);
        if (!p) {
            err_clear(); /* deleted meanwhile */
            continue;
        }
        have_default |= !strcmp(names[i], "default");
        json_array_append_new(items, p);
    }
    store_names_free(names, n);
    if (!have_default)
        json_array_insert_new(items, 0, site_default_project());
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}

int server_get_project(server *srv, struct mg_connection *conn, const char *arg)
{
    int rc;
    json_t *p = site_project_load(srv, arg, &rc);
    if (!p && rc == ERR_NOTFOUND && !strcmp(arg, "default")) {
        err_clear();
        p = site_default_project();
    }
    if (!p) {
        char *msg;
        if (rc != ERR_NOTFOUND)
            return server_internal_error(conn, "reading a project");
        err_clear();
        msg = xasprintf("project \"%s\" not found", arg);
        rc = server_error(conn, 404, msg, NULL);
        free(msg);
        return rc;
    }
    return server_send(conn, 200, p, NULL);
}

/* The AppProject of a create or update body (Argo CD's {"project": {...}}
 * or the object itself), checked by model/project.c, with apiVersion and
 * kind filled in. *out is new; 0, or the status of the answer sent. */
static int site_project_body(struct mg_connection *conn, const char *want_name, json_t **out)
{
    json_t *body = NULL, *p;
    struct project parsed;
    const char *name;
    int rc;

    *out = NULL;
    if ((rc = server_read_json(conn, &body)) != 0)
        return rc;
    p = json_is_object(json_object_get(body, "project")) ? json_object_get(body, "project") : body;
    json_incref(p);
    json_decref(body);
    if (!json_object_get(p, "apiVersion"))
        json_object_set_new(p, "apiVersion", json_string("argoproj.io/v1alpha1"));
    if (!json_object_get(p, "kind"))
        json_object_set_new(p, "kind", json_string("AppProject"));
    name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
    if (want_name && name && strcmp(name, want_name) != 0) {
        json_decref(p);
        return server_error(conn, 400, "metadata.name: does not match the name in the path", NULL);
    }
    if (!project_is_project(p)) {
        json_decref(p);
        return server_error(conn, 400, "not an AppProject (apiVersion argoproj.io/v1alpha1)", NULL);
    }
    rc = project_parse(&parsed, p, "request");
    project_dispose(&parsed);
    if (rc < 0) {
        json_decref(p);
        rc = server_error(conn, 400, err_last(), NULL);
        err_clear();
        return rc;
    }
    *out = p;
    return 0;
}

static int site_project_refuse_config(struct mg_connection *conn, const char *name)
{
    char *msg = xasprintf("project \"%s\" is defined in the site config: change it there", name);
    int rc = server_error(conn, 409, msg, NULL);
    free(msg);
    return rc;
}

static int site_project_store(server *srv, struct mg_connection *conn, json_t *p, int status)
{
    char *text = json_dumps(p, JSON_COMPACT);
    const char *name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
    int rc = store_project_put(srv->st, name, text);
    free(text);
    if (rc < 0) {
        json_decref(p);
        return server_internal_error(conn, "storing a project");
    }
    return server_send(conn, status, p, NULL);
}

int server_post_project(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *p = NULL;
    const char *name;
    char *text = NULL;
    int rc;

    (void)arg;
    if ((rc = site_project_body(conn, NULL, &p)) != 0)
        return rc;
    name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
    if (site_project_from_config(srv, name)) {
        json_decref(p);
        return site_project_refuse_config(conn, name);
    }
    if (store_project_get(srv->st, name, &text) == 0) {
        char *msg = xasprintf("project \"%s\" already exists (PUT replaces it)", name);
        free(text);
        json_decref(p);
        rc = server_error(conn, 409, msg, NULL);
        free(msg);
        return rc;
    }
    err_clear();
    return site_project_store(srv, conn, p, 200);
}

int server_put_project(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *p = NULL;
    int rc;

    if (site_project_from_config(srv, arg))
        return site_project_refuse_config(conn, arg);
    if ((rc = site_project_body(conn, arg, &p)) != 0)
        return rc;
    return site_project_store(srv, conn, p, 200);
}

/* The first stored application whose spec.project is name, into out
 * (NULL-terminated string), or 0 when none. */
static int site_project_user(server *srv, const char *name, char *out, size_t len)
{
    char **names = NULL;
    size_t n = 0, i;
    int found = 0;

    if (store_app_list(srv->st, &names, &n) < 0) {
        err_clear();
        return 0;
    }
    for (i = 0; i < n && !found; i++) {
        char *text = NULL;
        json_t *app;
        if (store_app_get(srv->st, names[i], &text) < 0) {
            err_clear();
            continue;
        }
        app = json_loads(text, 0, NULL);
        if (app) {
            const char *proj =
                json_string_value(json_object_get(json_object_get(app, "spec"), "project"));
            if (!strcmp(proj ? proj : "default", name)) {
                str_copy(out, names[i], len);
                found = 1;
            }
        }
        json_decref(app);
        free(text);
    }
    store_names_free(names, n);
    return found;
}

int server_delete_project(server *srv, struct mg_connection *conn, const char *arg)
{
    char user[256], *msg;
    int rc;

    if (site_project_from_config(srv, arg))
        return site_project_refuse_config(conn, arg);
    if (site_project_user(srv, arg, user, sizeof(user))) {
        msg = xasprintf("project \"%s\" is used by application \"%s\"", arg, user);
        rc = server_error(conn, 409, msg, NULL);
        free(msg);
        return rc;
    }
    rc = store_project_delete(srv->st, arg);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        msg = xasprintf("project \"%s\" not found", arg);
        rc = server_error(conn, 404, msg, NULL);
        free(msg);
        return rc;
    }
    if (rc < 0)
        return server_internal_error(conn, "deleting a project");
    return server_send(conn, 200, json_object(), NULL);
}

/* ---- Repositories ---- */

static json_t *site_repo_json(const struct store_repo *r)
{
    json_t *j =
        json_pack("{s:o, s:s, s:b, s:b, s:o}", "repo", server_json_str_new(r->url), "type", "git",
                  "insecure", r->insecure, "hasPassword", r->password_sealed[0] != '\0',
                  "connectionState", site_state_get("repositories", r->url));
    if (r->username[0])
        json_object_set_new(j, "username", server_json_str_new(r->username));
    return j;
}

int server_get_repos(server *srv, struct mg_connection *conn, const char *arg)
{
    struct store_repo *v = NULL;
    size_t n = 0, i;
    json_t *items;

    (void)arg;
    if (store_repo_list(srv->st, &v, &n) < 0)
        return server_internal_error(conn, "listing repositories");
    items = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(items, site_repo_json(&v[i]));
    store_repos_free(v, n);
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}

/* Why url cannot be registered with these credentials, or NULL. */
static const char *site_repo_refusal(const char *url, int has_creds)
{
    const char *p;
    int http = str_has_prefix(url, "https://") || str_has_prefix(url, "http://");
    if (!http && !str_has_prefix(url, "file://") && url[0] != '/')
        return "repo: must be an http(s):// or file:// URL or an absolute path (ssh is not "
               "supported)";
    if (has_creds && !http)
        return "username, password: only for http:// and https:// repositories";
    p = http ? strstr(url, "://") + 3 : url;
    if (http && memchr(p, '@', strcspn(p, "/")))
        return "repo: put the username and password in their fields, not in the URL";
    for (p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return "repo: control characters or spaces in the URL";
    return NULL;
}

int server_post_repo(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *body = NULL, *answer;
    const char *url, *user, *pass, *type, *why;
    struct store_repo r = {0};
    unsigned char key[SEAL_KEY_LEN];
    char *sealed = NULL;
    int rc;

    (void)arg;
    if ((rc = server_read_json(conn, &body)) != 0)
        return rc;
    url = json_string_value(json_object_get(body, "repo"));
    user = json_string_value(json_object_get(body, "username"));
    pass = json_string_value(json_object_get(body, "password"));
    type = json_string_value(json_object_get(body, "type"));
    if (!url || !url[0]) {
        rc = server_error(conn, 400, "repo: the repository URL is required", NULL);
        goto out;
    }
    if (type && strcmp(type, "git") != 0) {
        rc = server_error(conn, 400, "type: only git repositories are supported", NULL);
        goto out;
    }
    if (json_object_get(body, "sshPrivateKey") || json_object_get(body, "tlsClientCertData")) {
        rc = server_error(conn, 400,
                          "sshPrivateKey, tlsClientCertData: not supported (use username and "
                          "password or token over https)",
                          NULL);
        goto out;
    }
    if ((why = site_repo_refusal(url, (user && user[0]) || (pass && pass[0]))) != NULL) {
        rc = server_error(conn, 400, why, NULL);
        goto out;
    }
    if (pass && strlen(pass) > SEAL_MAX_PLAIN) {
        rc = server_error(conn, 400, "password: too long", NULL);
        goto out;
    }
    if (pass && pass[0]) {
        if (!srv->data_dir) {
            rc = server_error(conn, 501, "this server cannot keep passwords (no data directory)",
                              NULL);
            goto out;
        }
        rc = seal_key_load(key, srv->data_dir);
        if (rc == 0)
            rc = seal_value(&sealed, key, pass, url);
        mbedtls_platform_zeroize(key, sizeof(key));
        if (rc < 0) {
            rc = server_internal_error(conn, "sealing a repository password");
            goto out;
        }
    }
    r.url = (char *)url;
    r.username = (char *)(user ? user : "");
    r.password_sealed = sealed ? sealed : "";
    r.ca_file = "";
    r.insecure = json_is_true(json_object_get(body, "insecure"));
    if (store_repo_put(srv->st, &r) < 0) {
        rc = server_internal_error(conn, "storing a repository");
        goto out;
    }
    site_state_del("repositories", url);
    answer = site_repo_json(&r);
    rc = server_send(conn, 200, answer, NULL);
out:
    /* the plain password is in the parsed body: wipe it before release */
    if (pass)
        mbedtls_platform_zeroize((char *)pass, strlen(pass));
    free(sealed);
    json_decref(body);
    return rc;
}

int server_delete_repo(server *srv, struct mg_connection *conn, const char *arg)
{
    int rc = store_repo_delete(srv->st, arg);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        return server_error(conn, 404, "repository not found", NULL);
    }
    if (rc < 0)
        return server_internal_error(conn, "deleting a repository");
    site_state_del("repositories", arg);
    return server_send(conn, 200, json_object(), NULL);
}

int server_post_repo_validate(server *srv, struct mg_connection *conn, const char *arg)
{
    return site_validate(conn, "repositories", arg, srv->actions.repo_validate, srv->actions.ctx);
}

/* ---- Clusters ---- */

/* The clusters as the engine has them now; NULL (and an answer sent)
 * when this server has no engine. */
static json_t *site_clusters(server *srv, struct mg_connection *conn)
{
    if (!srv->actions.clusters) {
        server_error(conn, 501, "not supported by this server", NULL);
        return NULL;
    }
    return srv->actions.clusters(srv->actions.ctx);
}

int server_get_clusters(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *items = site_clusters(srv, conn), *c;
    size_t i;

    (void)arg;
    if (!items)
        return 501;
    json_array_foreach(items, i, c)
    {
        json_object_set_new(
            c, "connectionState",
            site_state_get("clusters", json_string_value(json_object_get(c, "name"))));
    }
    return server_send(conn, 200, json_pack("{s:o}", "items", items), NULL);
}

int server_post_cluster(server *srv, struct mg_connection *conn, const char *arg)
{
    json_t *body = NULL;
    const char *name, *kubeconfig, *context;
    char *server_url = NULL;
    int rc;

    (void)arg;
    if (!srv->actions.cluster_add)
        return server_error(conn, 501, "not supported by this server", NULL);
    if ((rc = server_read_json(conn, &body)) != 0)
        return rc;
    name = json_string_value(json_object_get(body, "name"));
    kubeconfig = json_string_value(json_object_get(body, "kubeconfig"));
    context = json_string_value(json_object_get(body, "context"));
    if (json_object_get(body, "config"))
        rc = server_error(conn, 400,
                          "config: not supported; send the cluster's kubeconfig as text in "
                          "\"kubeconfig\" (and \"context\" to pick one)",
                          NULL);
    else if (!name || !kubeconfig || !kubeconfig[0])
        rc = server_error(conn, 400, "name and kubeconfig are required", NULL);
    else if ((rc = srv->actions.cluster_add(srv->actions.ctx, name, kubeconfig,
                                            context && context[0] ? context : NULL, &server_url)) <
             0)
        rc = server_fail(conn, rc);
    else {
        site_state_del("clusters", name);
        rc = server_send(conn, 200,
                         json_pack("{s:s, s:s, s:s, s:n}", "name", name, "server", server_url,
                                   "origin", "api", "connectionState"),
                         NULL);
    }
    /* the kubeconfig's keys and tokens are in the parsed body: wipe them */
    if (kubeconfig)
        mbedtls_platform_zeroize((char *)kubeconfig, strlen(kubeconfig));
    free(server_url);
    json_decref(body);
    return rc;
}

int server_delete_cluster(server *srv, struct mg_connection *conn, const char *arg)
{
    int rc;

    if (!srv->actions.cluster_remove)
        return server_error(conn, 501, "not supported by this server", NULL);
    if ((rc = srv->actions.cluster_remove(srv->actions.ctx, arg)) < 0)
        return server_fail(conn, rc);
    site_state_del("clusters", arg);
    return server_send(conn, 200, json_object(), NULL);
}

int server_post_cluster_validate(server *srv, struct mg_connection *conn, const char *arg)
{
    /* judged here: a cluster whose kubeconfig is missing is a failed
     * check, not an unknown cluster */
    json_t *items = site_clusters(srv, conn), *c;
    int known = 0;
    size_t i;

    if (!items)
        return 501;
    json_array_foreach(items, i, c)
    {
        known |= !strcmp(json_string_value(json_object_get(c, "name")), arg);
    }
    json_decref(items);
    if (!known) {
        char *msg = xasprintf("cluster \"%s\" not found", arg);
        int rc = server_error(conn, 404, msg, NULL);
        free(msg);
        return rc;
    }
    return site_validate(conn, "clusters", arg, srv->actions.cluster_validate, srv->actions.ctx);
}
