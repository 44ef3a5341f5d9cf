/*
 * `edgecd app list|get|sync|wait|terminate-op|history|rollback` and
 * `edgecd appset list|get` (Argo CD's `argocd appset`) and `edgecd
 * cluster list|add|validate|rm` (`argocd cluster`): the same
 * REST API the UI uses, so the CLI shows
 * exactly what the server knows. Where the server is and which token to
 * use come from flags, then the environment, then the defaults of a node
 * install (the token file in the data directory). The server's
 * certificate is checked the same way (--ca-file, EDGECD_CA_FILE, the
 * data directory's tls.crt): the token must never go to an impostor, so
 * with none of them the CLI refuses unless told --insecure.
 */
#include <getopt.h>
#include <mbedtls/platform_util.h>
#include <stdint.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "model/account.h"

#define APP_DEFAULT_SERVER "https://127.0.0.1:8080"
#define APP_DEFAULT_DATA "/var/lib/edgecd"

struct app_cli {
    const char *server;
    const char *token_file;
    const char *data_dir;
    const char *ca_file; /* --ca-file, else EDGECD_CA_FILE */
    int insecure;        /* --insecure: no certificate check */
    const char *output;  /* "", "json", "wide" */
    /* sync, rollback, wait */
    int prune, dry_run, async, want_sync, want_health, want_operation;
    long timeout;         /* seconds; 0: none */
    int no_cascade;       /* delete --cascade=false */
    json_t *resources;    /* --resource GROUP:KIND:NAME, in order */
    const char *revision; /* sync --revision */
};

/* The options every command that talks to the server takes: 1 if c was
 * one of them (and is now in o), -1 for a bad -o (said on stderr), else
 * 0. */
static int app_cli_option(struct app_cli *o, int c)
{
    switch (c) {
    case 'o':
        if (strcmp(optarg, "json") && strcmp(optarg, "yaml")) {
            fprintf(stderr, "edgecd: -o takes json or yaml\n");
            return -1;
        }
        o->output = optarg;
        return 1;
    case 's':
        o->server = optarg;
        return 1;
    case 't':
        o->token_file = optarg;
        return 1;
    case 'd':
        o->data_dir = optarg;
        return 1;
    case 'K':
        o->ca_file = optarg;
        return 1;
    case 'k':
        o->insecure = 1;
        return 1;
    default:
        return 0;
    }
}

#define APP_CLI_OPTIONS                                                                            \
    {"server", required_argument, NULL, 's'}, {"token-file", required_argument, NULL, 't'},        \
        {"data", required_argument, NULL, 'd'}, {"ca-file", required_argument, NULL, 'K'},         \
        {"insecure", no_argument, NULL, 'k'},                                                      \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

static const char *app_cli_data_dir(const struct app_cli *o)
{
    if (o->data_dir)
        return o->data_dir;
    return getenv("EDGECD_DATA") ? getenv("EDGECD_DATA") : APP_DEFAULT_DATA;
}

/* The file `edgecd login` writes: EDGECD_LOGIN_CONFIG, else
 * $XDG_CONFIG_HOME/edgecd/config, else ~/.config/edgecd/config. New
 * string, or NULL without a home. */
static char *app_config_path(void)
{
    const char *env = getenv("EDGECD_LOGIN_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"),
               *home = getenv("HOME");
    if (env && env[0])
        return xstrdup(env);
    if (xdg && xdg[0])
        return xasprintf("%s/edgecd/config", xdg);
    return home && home[0] ? xasprintf("%s/.config/edgecd/config", home) : NULL;
}

/* The login config ({"server", "token", "caFile", "insecure"}), read once
 * per process; NULL when there is none or it cannot be read (then the
 * node defaults apply, as before any login). Owned here. */
static const json_t *app_config(void)
{
    static json_t *cfg;
    static int read;
    char *path;
    struct buf b = BUF_INIT;

    if (read)
        return cfg;
    read = 1;
    path = app_config_path();
    if (path && fs_exists(path) && fs_read_file(path, 1 << 16, &b) == 0)
        cfg = json_loadb(b.ptr, b.len, 0, NULL);
    if (cfg && !json_is_object(cfg)) {
        json_decref(cfg);
        cfg = NULL;
    }
    err_clear();
    buf_dispose(&b);
    free(path);
    return cfg;
}

/* A string of the login config, only when it belongs to server: a token
 * must never go to another server than the one it came from. */
static const char *app_config_for(const char *server, const char *key)
{
    const json_t *cfg = app_config();
    const char *s = json_string_value(json_object_get(cfg, "server"));
    if (!s || !server || strcmp(s, server) != 0)
        return NULL;
    return json_string_value(json_object_get(cfg, key));
}

/* 1 if the login for server was made with --insecure. */
static int app_config_insecure(const char *server)
{
    const json_t *cfg = app_config();
    const char *s = json_string_value(json_object_get(cfg, "server"));
    return s && server && !strcmp(s, server) && json_is_true(json_object_get(cfg, "insecure"));
}

/* The server when no --server is given: EDGECD_SERVER, the login
 * config's, or the node's own address. */
static const char *app_default_server(void)
{
    const char *s = json_string_value(json_object_get(app_config(), "server"));
    if (getenv("EDGECD_SERVER"))
        return getenv("EDGECD_SERVER");
    return s && s[0] ? s : APP_DEFAULT_SERVER;
}

/* The certificate to trust for an https server into ca (PEM): --ca-file,
 * EDGECD_CA_FILE, or the server's own certificate in the data directory
 * when the CLI runs on the server's machine. None of them: an error that
 * names every way out, rather than a bare verification failure. */
static int app_cli_ca(const struct app_cli *o, struct buf *ca)
{
    const char *file = o->ca_file ? o->ca_file : getenv("EDGECD_CA_FILE");
    char *local;
    int rc;

    if ((!file || !file[0]) && !o->data_dir)
        file = app_config_for(o->server, "caFile");
    if (file && file[0]) {
        if ((rc = fs_read_file(file, 1 << 20, ca)) < 0)
            return err_prefix(rc, "--ca-file");
        return 0;
    }
    local = xasprintf("%s/keys/tls.crt", app_cli_data_dir(o));
    rc = fs_exists(local) ? fs_read_file(local, 1 << 20, ca) : ERR_NOTFOUND;
    free(local);
    if (rc == ERR_NOTFOUND)
        return err_set(ERR_AUTH,
                       "%s: no certificate to check the server's against: give --ca-file FILE "
                       "(or EDGECD_CA_FILE) with the server's certificate (DATA/keys/tls.crt on "
                       "the server), or --data DIR when on the server itself; --insecure skips "
                       "the check (anyone on the network could then read the token)",
                       o->server);
    return rc;
}

static int app_cli_token(const struct app_cli *o, char **out)
{
    const char *env = getenv("EDGECD_TOKEN");
    char *path;
    struct buf b = BUF_INIT;
    int rc;
    *out = NULL;
    if (!o->token_file && env && *env) {
        *out = xstrdup(env);
        return 0;
    }
    /* After an explicit --token-file or --data, the token `edgecd login`
     * stored for this server. */
    if (!o->token_file && !o->data_dir && app_config_for(o->server, "token")) {
        *out = xstrdup(app_config_for(o->server, "token"));
        return 0;
    }
    path = o->token_file ? xstrdup(o->token_file)
                         : xasprintf("%s/keys/api-token", app_cli_data_dir(o));
    rc = fs_read_file(path, 4096, &b);
    if (rc < 0) {
        err_prefix(rc, "API token (set EDGECD_TOKEN, --token-file or --data)");
        goto out;
    }
    while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
        b.ptr[--b.len] = '\0';
    *out = buf_detach(&b);
out:
    buf_dispose(&b);
    free(path);
    return rc;
}

/* A connection to o->server with its certificate checked (ca holds the
 * trusted PEM while the connection lives). */
static int app_cli_connect(const struct app_cli *o, http_conn **c, struct buf *ca)
{
    struct http_tls tls = {0};
    int rc;

    *c = NULL;
    if (str_has_prefix(o->server, "https://")) {
        tls.insecure = o->insecure || (!o->ca_file && app_config_insecure(o->server));
        if (!tls.insecure && (rc = app_cli_ca(o, ca)) < 0)
            return rc;
        tls.ca_pem = ca->len ? ca->ptr : NULL;
        tls.ca_pem_len = ca->len;
    }
    return http_conn_new(c, o->server, &tls, NULL);
}

/* method path (body: NULL or JSON text) on the edgecd API; a 2xx answer's
 * JSON body into *out, anything else an error with the server's message.
 * extra: NULL to send the bearer token, else the request's own "Name:
 * value" lines (at most 4, NULL-terminated) and no token. set_cookie (may
 * be NULL) gets the answer's Set-Cookie (new, or NULL). */
static int app_cli_exchange(const struct app_cli *o, const char *method, const char *path,
                            const char *const *extra, const char *body, json_t **out,
                            char **set_cookie)
{
    http_conn *c = NULL;
    struct http_response resp;
    struct buf ca = BUF_INIT;
    char *token = NULL, *auth = NULL;
    const char *headers[8];
    size_t n = 0;
    int rc;

    *out = NULL;
    if (set_cookie)
        *set_cookie = NULL;
    http_response_init(&resp);
    if ((!extra && (rc = app_cli_token(o, &token)) < 0) || (rc = app_cli_connect(o, &c, &ca)) < 0)
        goto out;
    if (!extra) {
        auth = xasprintf("Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    for (size_t i = 0; extra && extra[i] && i < 4; i++)
        headers[n++] = extra[i];
    headers[n++] = "Accept: application/json";
    if (body)
        headers[n++] = "Content-Type: application/json";
    headers[n] = NULL;
    if ((rc = http_request(c, method, path, headers, body, body ? strlen(body) : 0, &resp)) < 0) {
        if (strstr(err_last(), "certificate verification failed")) {
            char *why = xstrdup(err_last()); /* err_set overwrites err_last's text */
            err_set(rc,
                    "%s (not the certificate trusted: check --ca-file, EDGECD_CA_FILE or --data "
                    "against the fingerprint edgecd serve prints)",
                    why);
            free(why);
        }
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        json_t *e = NULL;
        const char *msg = NULL;
        if (doc_parse_json(&e, buf_cstr(&resp.body), resp.body.len, o->server, NULL) == 0)
            msg = doc_get_str(e, "error");
        err_clear();
        if (resp.status == 401 && !msg)
            msg = "unauthorized";
        rc = err_set(resp.status == 404   ? ERR_NOTFOUND
                     : resp.status == 401 ? ERR_AUTH
                     : resp.status == 409 ? ERR_CONFLICT
                     : resp.status == 400 ? ERR_INVALID
                                          : ERR_GENERIC,
                     "%s: %s", path, msg ? msg : "error");
        if (resp.status >= 500 || !msg)
            err_prefix(rc, "%s: HTTP %d", o->server, resp.status);
        json_decref(e);
        goto out;
    }
    rc = doc_parse_json(out, buf_cstr(&resp.body), resp.body.len, o->server, NULL);
    if (rc == 0 && set_cookie && resp.set_cookie)
        *set_cookie = xstrdup(resp.set_cookie);
out:
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    http_response_dispose(&resp);
    http_conn_free(c);
    buf_dispose(&ca);
    return rc;
}

static int app_cli_call(const struct app_cli *o, const char *method, const char *path,
                        const char *body, json_t **out)
{
    return app_cli_exchange(o, method, path, NULL, body, out, NULL);
}

static int app_cli_get(const struct app_cli *o, const char *path, json_t **out)
{
    return app_cli_call(o, "GET", path, NULL, out);
}

/* "/api/v1/applications/NAME" + suffix (new). */
static char *app_path(const char *name, const char *suffix)
{
    struct buf path = BUF_INIT;
    buf_puts(&path, "/api/v1/applications/");
    http_query_escape(&path, name);
    buf_puts(&path, suffix);
    return buf_detach(&path);
}

/* -o json or -o yaml */
static void app_print_doc(const struct app_cli *o, const json_t *doc)
{
    struct buf b = BUF_INIT;
    if (!strcmp(o->output, "yaml"))
        doc_emit_yaml(&b, doc);
    else
        doc_emit_json(&b, doc, 1);
    printf("%s%s", buf_cstr(&b), !strcmp(o->output, "yaml") ? "" : "\n");
    buf_dispose(&b);
}

static const char *app_str(const json_t *app, const char *path)
{
    const char *s = doc_get_str(app, path);
    return s && *s ? s : "-";
}

static void app_print_row(const struct app_cli *o, const json_t *app)
{
    const char *rev = doc_get_str(app, "status.sync.revision");
    const json_t *conds = doc_get(app, "status.conditions");
    const char *err = json_is_array(conds) && json_array_size(conds)
                          ? doc_get_str(json_array_get(conds, 0), "message")
                          : NULL;
    if (!strcmp(o->output, "wide")) {
        printf("%-24s %-10s %-11s %-8.7s %-9zu %-12s %-32s %s\n", app_str(app, "metadata.name"),
               app_str(app, "status.sync.status"), app_str(app, "status.health.status"),
               rev && *rev ? rev : "-", json_array_size(doc_get(app, "status.resources")),
               doc_get_str(app, "spec.project") && *doc_get_str(app, "spec.project")
                   ? doc_get_str(app, "spec.project")
                   : "default",
               doc_get_str(app, "spec.destination.server") ? app_str(app, "spec.destination.server")
                                                           : app_str(app, "spec.destination.name"),
               err ? err : "");
        return;
    }
    printf("%-24s %-10s %-11s %-8.7s %-9zu %s\n", app_str(app, "metadata.name"),
           app_str(app, "status.sync.status"), app_str(app, "status.health.status"),
           rev && *rev ? rev : "-", json_array_size(doc_get(app, "status.resources")),
           err ? err : "");
}

static void app_print_detail(const json_t *app)
{
    size_t i;
    json_t *r;
    const json_t *conds = doc_get(app, "status.conditions");
    printf("Name:         %s\n", app_str(app, "metadata.name"));
    printf("Project:      %s\n", app_str(app, "spec.project"));
    printf("Repo:         %s\n", app_str(app, "spec.source.repoURL"));
    printf("Target:       %s\n", app_str(app, "spec.source.targetRevision"));
    printf("Path:         %s\n", app_str(app, "spec.source.path"));
    printf("Destination:  %s %s\n",
           doc_get_str(app, "spec.destination.server") ? app_str(app, "spec.destination.server")
                                                       : app_str(app, "spec.destination.name"),
           app_str(app, "spec.destination.namespace"));
    printf("Sync Status:  %s\n", app_str(app, "status.sync.status"));
    printf("Health:       %s\n", app_str(app, "status.health.status"));
    if (doc_get_str(app, "status.operationState.phase"))
        printf("Operation:    %s%s%s\n", app_str(app, "status.operationState.phase"),
               doc_get_str(app, "status.operationState.message") ? ": " : "",
               doc_get_str(app, "status.operationState.message")
                   ? doc_get_str(app, "status.operationState.message")
                   : "");
    printf("Revision:     %s\n", app_str(app, "status.sync.revision"));
    if (json_is_array(conds) && json_array_size(conds))
        printf("Last Error:   %s\n", app_str(json_array_get(conds, 0), "message"));
    if (doc_get_str(app, "status.sourceMessage"))
        printf("Message:      %s\n", app_str(app, "status.sourceMessage"));
    printf("\n%-22s %-16s %-28s %-10s %-11s %s\n", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH",
           "MESSAGE");
    json_array_foreach(doc_get(app, "status.resources"), i, r)
    {
        printf("%-22s %-16s %-28s %-10s %-11s %s\n", app_str(r, "kind"), app_str(r, "namespace"),
               app_str(r, "name"), app_str(r, "status"), app_str(r, "health.status"),
               doc_get_str(r, "message") ? doc_get_str(r, "message") : "");
    }
}

static int app_run_list(const struct app_cli *o)
{
    json_t *list = NULL;
    size_t i;
    json_t *app;
    if (app_cli_get(o, "/api/v1/applications", &list) < 0)
        return cli_fail();
    if (!strcmp(o->output, "json") || !strcmp(o->output, "yaml")) {
        app_print_doc(o, list);
    } else {
        if (!strcmp(o->output, "wide"))
            printf("%-24s %-10s %-11s %-8s %-9s %-12s %-32s %s\n", "NAME", "SYNC", "HEALTH",
                   "REVISION", "RESOURCES", "PROJECT", "DESTINATION", "ERROR");
        else
            printf("%-24s %-10s %-11s %-8s %-9s %s\n", "NAME", "SYNC", "HEALTH", "REVISION",
                   "RESOURCES", "ERROR");
        json_array_foreach(doc_get(list, "items"), i, app) app_print_row(o, app);
    }
    json_decref(list);
    return 0;
}

static int app_run_get(const struct app_cli *o, const char *name)
{
    json_t *app = NULL;
    char *path = app_path(name, "");
    int rc = app_cli_get(o, path, &app);
    free(path);
    if (rc < 0)
        return cli_fail();
    if (!strcmp(o->output, "json") || !strcmp(o->output, "yaml")) {
        app_print_doc(o, app);
    } else {
        app_print_detail(app);
    }
    json_decref(app);
    return 0;
}

/* Poll the app until done(app) says 1 (0: not yet, -1: finished badly),
 * or the timeout. Exit status 0, 1 (finished badly or timed out). */
static int app_wait_for(const struct app_cli *o, const char *name,
                        int (*done)(const struct app_cli *, const json_t *, const char *),
                        const char *since)
{
    char *path = app_path(name, "");
    int64_t end = o->timeout > 0 ? time_mono_ms() + o->timeout * 1000 : 0;
    int rc = 1;
    for (;;) {
        json_t *app = NULL;
        int d;
        if (app_cli_get(o, path, &app) < 0) {
            cli_fail();
            break;
        }
        d = done(o, app, since);
        if (d != 0) {
            const char *msg = doc_get_str(app, "status.operationState.message");
            printf("%s: sync %s, health %s; operation %s%s%s\n", name,
                   app_str(app, "status.sync.status"), app_str(app, "status.health.status"),
                   app_str(app, "status.operationState.phase"), msg && *msg ? ": " : "",
                   msg ? msg : "");
            json_decref(app);
            rc = d > 0 ? 0 : 1;
            break;
        }
        json_decref(app);
        if (end && time_mono_ms() > end) {
            fprintf(stderr, "edgecd: %s: timed out after %ld s\n", name, o->timeout);
            break;
        }
        usleep(250 * 1000);
    }
    free(path);
    return rc;
}

/* The operation id in app ("0" when none), as text. */
static char *app_op_id(const json_t *app)
{
    return xasprintf("%lld",
                     (long long)json_integer_value(doc_get(app, "status.operationState.id")));
}

/* An operation newer than since (an app_op_id) has finished. */
static int app_op_done(const struct app_cli *o, const json_t *app, const char *since)
{
    const char *phase = doc_get_str(app, "status.operationState.phase");
    char *id = app_op_id(app);
    int same = since && strcmp(id, since) == 0;
    (void)o;
    free(id);
    if (!phase || same || !strcmp(phase, "Running") || !strcmp(phase, "Terminating"))
        return 0;
    return !strcmp(phase, "Succeeded") ? 1 : -1;
}

/* wait: --sync (Synced), --health (Healthy), --operation (none running);
 * none given: all three. */
static int app_state_done(const struct app_cli *o, const json_t *app, const char *since)
{
    int all = !o->want_sync && !o->want_health && !o->want_operation;
    const char *phase = doc_get_str(app, "status.operationState.phase");
    (void)since;
    if ((all || o->want_sync) && strcmp(app_str(app, "status.sync.status"), "Synced") != 0)
        return 0;
    if ((all || o->want_health) && strcmp(app_str(app, "status.health.status"), "Healthy") != 0)
        return 0;
    if ((all || o->want_operation) && phase &&
        (!strcmp(phase, "Running") || !strcmp(phase, "Terminating")))
        return 0;
    return 1;
}

/* POST an operation, then (unless --async) wait for it to finish. */
static int app_run_operation(const struct app_cli *o, const char *name, const char *suffix,
                             json_t *body)
{
    char *path = app_path(name, suffix), *text = json_dumps(body, JSON_COMPACT);
    json_t *app = NULL;
    char *since;
    int rc;
    {
        char *p = app_path(name, "");
        json_t *before = NULL;
        since = app_cli_get(o, p, &before) == 0 ? app_op_id(before) : NULL;
        err_clear();
        json_decref(before);
        free(p);
    }
    rc = app_cli_call(o, "POST", path, text, &app);
    free(text);
    free(path);
    json_decref(app);
    if (rc < 0) {
        free(since);
        return cli_fail();
    }
    rc = o->async ? 0 : app_wait_for(o, name, app_op_done, since);
    free(since);
    return rc;
}

static int app_run_sync(const struct app_cli *o, const char *name)
{
    json_t *body = json_pack("{s:b, s:b}", "prune", o->prune, "dryRun", o->dry_run);
    int rc;
    if (json_array_size(o->resources))
        json_object_set(body, "resources", o->resources);
    if (o->revision)
        json_object_set_new(body, "revision", json_string(o->revision));
    rc = app_run_operation(o, name, "/sync", body);
    json_decref(body);
    return rc;
}

static int app_run_rollback(const struct app_cli *o, const char *name, const char *id)
{
    long v;
    json_t *body;
    int rc;
    if (str_to_long(id, 1, 1L << 40, "history id", &v) < 0)
        return cli_fail();
    body = json_pack("{s:I, s:b}", "id", (json_int_t)v, "prune", o->prune);
    rc = app_run_operation(o, name, "/rollback", body);
    json_decref(body);
    return rc;
}

static int app_run_terminate(const struct app_cli *o, const char *name)
{
    char *path = app_path(name, "/operation");
    json_t *app = NULL;
    int rc = app_cli_call(o, "DELETE", path, NULL, &app);
    free(path);
    json_decref(app);
    if (rc < 0)
        return cli_fail();
    printf("%s: operation termination requested\n", name);
    return 0;
}

static int app_run_history(const struct app_cli *o, const char *name)
{
    char *path = app_path(name, "/history");
    json_t *list = NULL, *h;
    size_t i;
    int rc = app_cli_get(o, path, &list);
    free(path);
    if (rc < 0)
        return cli_fail();
    if (!strcmp(o->output, "json") || !strcmp(o->output, "yaml")) {
        app_print_doc(o, list);
    } else {
        printf("%-4s %-21s %-10s %s\n", "ID", "DATE", "REVISION", "INITIATED BY");
        json_array_foreach(doc_get(list, "items"), i, h)
        {
            printf("%-4lld %-21s %-10.7s %s\n",
                   (long long)json_integer_value(json_object_get(h, "id")),
                   app_str(h, "deployedAt"), app_str(h, "revision"), app_str(h, "initiatedBy"));
        }
    }
    json_decref(list);
    return 0;
}

/* The unified diff of desired vs live; exit 1 when they differ, as
 * `argocd app diff`. */
static int app_run_diff(const struct app_cli *o, const char *name)
{
    char *path = app_path(name, "/diff");
    json_t *d = NULL;
    int rc = app_cli_get(o, path, &d);
    free(path);
    if (rc < 0) {
        cli_fail();
        return 2;
    }
    fputs(doc_get_str(d, "diff") ? doc_get_str(d, "diff") : "", stdout);
    rc = json_is_true(json_object_get(d, "differs")) ? 1 : 0;
    json_decref(d);
    return rc;
}

static int app_run_delete(const struct app_cli *o, const char *name)
{
    char *path = app_path(name, o->no_cascade ? "?cascade=false" : "");
    json_t *d = NULL;
    int rc = app_cli_call(o, "DELETE", path, NULL, &d);
    free(path);
    json_decref(d);
    if (rc < 0)
        return cli_fail();
    printf("%s: deletion requested%s\n", name,
           o->no_cascade ? " (its resources keep running)" : " with its resources");
    return 0;
}

static int cmd_app_run(int argc, char **argv)
{
    static const struct option opts[] = {
        APP_CLI_OPTIONS,
        {"output", required_argument, NULL, 'o'},
        {"prune", no_argument, NULL, 'P'},
        {"dry-run", no_argument, NULL, 'D'},
        {"resource", required_argument, NULL, 'R'},
        {"revision", required_argument, NULL, 'r'}, /* sync only */
        {"timeout", required_argument, NULL, 'T'},
        {"async", no_argument, NULL, 'A'},
        {"sync", no_argument, NULL, 'S'},
        {"health", no_argument, NULL, 'H'},
        {"operation", no_argument, NULL, 'O'},
        {"cascade", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    struct app_cli o = {0};
    const char *verb;
    int c, rc;

    o.server = app_default_server();
    o.output = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:t:d:o:h", opts, NULL)) != -1) {
        if (c != 'o' && app_cli_option(&o, c))
            continue;
        switch (c) {
        case 'o':
            if (strcmp(optarg, "json") && strcmp(optarg, "yaml") && strcmp(optarg, "wide")) {
                fprintf(stderr, "edgecd: -o takes json, yaml or wide\n");
                json_decref(o.resources);
                return 2;
            }
            o.output = optarg;
            break;
        case 'P':
            o.prune = 1;
            break;
        case 'D':
            o.dry_run = 1;
            break;
        case 'A':
            o.async = 1;
            break;
        case 'r':
            if (!optarg[0]) {
                fprintf(stderr, "edgecd: --revision takes a branch, tag, semver range or "
                                "commit\n");
                json_decref(o.resources);
                return 2;
            }
            o.revision = optarg;
            break;
        case 'S':
            o.want_sync = 1;
            break;
        case 'H':
            o.want_health = 1;
            break;
        case 'O':
            o.want_operation = 1;
            break;
        case 'C':
            if (strcmp(optarg, "true") && strcmp(optarg, "false")) {
                fprintf(stderr, "edgecd: --cascade takes true or false\n");
                json_decref(o.resources);
                return 2;
            }
            o.no_cascade = !strcmp(optarg, "false");
            break;
        case 'R':
            if (!strchr(optarg, ':') || strchr(optarg, ':') == strrchr(optarg, ':')) {
                fprintf(stderr, "edgecd: --resource takes GROUP:KIND:NAME (GROUP may be "
                                "empty: :ConfigMap:settings)\n");
                json_decref(o.resources);
                return 2;
            }
            if (!o.resources)
                o.resources = json_array();
            json_array_append_new(o.resources, json_string(optarg));
            break;
        case 'T':
            if (str_to_long(optarg, 1, 86400, "--timeout", &o.timeout) < 0) {
                json_decref(o.resources);
                return cli_fail();
            }
            break;
        case 'h':
            printf("usage: edgecd app %s\n%s\n", cli_cmd_app.usage, cli_cmd_app.help);
            json_decref(o.resources);
            return 0;
        default:
            json_decref(o.resources);
            return cli_usage(&cli_cmd_app);
        }
    }
    verb = optind < argc ? argv[optind] : "";
    if (!strcmp(verb, "list") && optind + 1 == argc)
        rc = app_run_list(&o);
    else if (!strcmp(verb, "get") && optind + 2 == argc)
        rc = app_run_get(&o, argv[optind + 1]);
    else if (!strcmp(verb, "sync") && optind + 2 == argc)
        rc = app_run_sync(&o, argv[optind + 1]);
    else if (!strcmp(verb, "wait") && optind + 2 == argc)
        rc = app_wait_for(&o, argv[optind + 1], app_state_done, NULL);
    else if (!strcmp(verb, "terminate-op") && optind + 2 == argc)
        rc = app_run_terminate(&o, argv[optind + 1]);
    else if (!strcmp(verb, "diff") && optind + 2 == argc)
        rc = app_run_diff(&o, argv[optind + 1]);
    else if (!strcmp(verb, "delete") && optind + 2 == argc)
        rc = app_run_delete(&o, argv[optind + 1]);
    else if (!strcmp(verb, "history") && optind + 2 == argc)
        rc = app_run_history(&o, argv[optind + 1]);
    else if (!strcmp(verb, "rollback") && optind + 3 == argc)
        rc = app_run_rollback(&o, argv[optind + 1], argv[optind + 2]);
    else
        rc = cli_usage(&cli_cmd_app);
    json_decref(o.resources);
    return rc;
}

const struct cli_cmd cli_cmd_app = {
    "app",
    "[--server URL] [--token-file FILE | --data DIR] [--ca-file FILE | --insecure] "
    "[-o json|yaml|wide] list | get NAME | "
    "sync NAME [--prune] [--dry-run] [--resource GROUP:KIND:NAME]... [--revision REV] [--async] "
    "[--timeout S] | "
    "wait NAME [--sync] [--health] [--operation] [--timeout S] | terminate-op NAME | "
    "history NAME | rollback NAME ID [--prune] [--async] [--timeout S] | diff NAME | "
    "delete NAME [--cascade=false]",
    "list applications or show one (sync status, health, revision, resources, last error); "
    "sync one (--revision: another branch, tag or commit than targetRevision) and wait for the "
    "operation (exit 1 if it fails), wait for a state, stop a "
    "running operation, list the sync history, roll back to an entry of it, show the diff of "
    "desired and live (exit 1 when they differ), delete an app (server from "
    "EDGECD_SERVER, token from EDGECD_TOKEN when not given; an https server's certificate is "
    "checked against --ca-file, EDGECD_CA_FILE or DATA/keys/tls.crt; --insecure skips the check "
    "and is for emergencies only)",
    cmd_app_run,
};

/* ---- edgecd appset: the ApplicationSets, through the same client ---- */

static const char *appset_condition(const json_t *set, const char *type)
{
    const json_t *c;
    size_t i;
    json_array_foreach(doc_get(set, "status.conditions"), i, c)
    {
        if (!strcmp(app_str(c, "type"), type))
            return doc_get_str(c, "status");
    }
    return NULL;
}

/* The ErrorOccurred condition's message when it is True, else NULL. */
static const char *appset_error(const json_t *set)
{
    const json_t *c;
    size_t i;
    json_array_foreach(doc_get(set, "status.conditions"), i, c)
    {
        if (!strcmp(app_str(c, "type"), "ErrorOccurred") && !strcmp(app_str(c, "status"), "True"))
            return app_str(c, "message");
    }
    return NULL;
}

static void appset_print_row(const json_t *set)
{
    const char *err = appset_error(set);
    printf("%-24s %-12s %-6zu %-14s %s\n", app_str(set, "metadata.name"),
           app_str(set, "metadata.annotations.edgecd.io/parent"),
           json_array_size(doc_get(set, "status.resources")),
           !appset_condition(set, "ErrorOccurred") ? "-"
           : err                                   ? "ErrorOccurred"
                                                   : "UpToDate",
           err ? err : "");
}

static void appset_print_detail(const json_t *set)
{
    const json_t *r, *c;
    size_t i;
    printf("Name:         %s\n", app_str(set, "metadata.name"));
    printf("Parent:       %s\n", app_str(set, "metadata.annotations.edgecd.io/parent"));
    printf("Template:     %s\n",
           json_is_true(doc_get(set, "spec.goTemplate")) ? "goTemplate" : "fasttemplate");
    printf("Sync Policy:  %s\n", app_str(set, "spec.syncPolicy.applicationsSync"));
    printf("Evaluated:    %s\n", app_str(set, "status.reconciledAt"));
    printf("\n%-20s %-7s %-24s %s\n", "CONDITION", "STATUS", "REASON", "MESSAGE");
    json_array_foreach(doc_get(set, "status.conditions"), i, c)
    {
        printf("%-20s %-7s %-24s %s\n", app_str(c, "type"), app_str(c, "status"),
               app_str(c, "reason"), doc_get_str(c, "message") ? doc_get_str(c, "message") : "");
    }
    printf("\n%-32s %-10s %-11s %s\n", "APPLICATION", "SYNC", "HEALTH", "MESSAGE");
    json_array_foreach(doc_get(set, "status.resources"), i, r)
    {
        printf("%-32s %-10s %-11s %s\n", app_str(r, "name"), app_str(r, "status"),
               app_str(r, "health.status"),
               doc_get_str(r, "message") ? doc_get_str(r, "message") : "");
    }
}

static int cmd_appset_run(int argc, char **argv)
{
    static const struct option opts[] = {
        APP_CLI_OPTIONS,
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    struct app_cli o = {0};
    const char *verb;
    json_t *doc = NULL, *set;
    char *path = NULL;
    size_t i;
    int c, rc;

    o.server = app_default_server();
    o.output = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:t:d:o:h", opts, NULL)) != -1) {
        if ((rc = app_cli_option(&o, c)) != 0) {
            if (rc < 0)
                return 2;
            continue;
        }
        switch (c) {
        case 'h':
            printf("usage: edgecd appset %s\n%s\n", cli_cmd_appset.usage, cli_cmd_appset.help);
            return 0;
        default:
            return cli_usage(&cli_cmd_appset);
        }
    }
    verb = optind < argc ? argv[optind] : "";
    if (!strcmp(verb, "list") && optind + 1 == argc) {
        path = xstrdup("/api/v1/applicationsets");
    } else if (!strcmp(verb, "get") && optind + 2 == argc) {
        struct buf p = BUF_INIT;
        buf_puts(&p, "/api/v1/applicationsets/");
        http_query_escape(&p, argv[optind + 1]);
        path = buf_detach(&p);
    } else {
        return cli_usage(&cli_cmd_appset);
    }
    c = app_cli_get(&o, path, &doc);
    free(path);
    if (c < 0)
        return cli_fail();
    if (o.output[0]) {
        app_print_doc(&o, doc);
    } else if (!strcmp(verb, "get")) {
        appset_print_detail(doc);
    } else {
        printf("%-24s %-12s %-6s %-14s %s\n", "NAME", "PARENT", "APPS", "STATUS", "ERROR");
        json_array_foreach(doc_get(doc, "items"), i, set) appset_print_row(set);
    }
    json_decref(doc);
    return 0;
}

const struct cli_cmd cli_cmd_appset = {
    "appset",
    "[--server URL] [--token-file FILE | --data DIR] [--ca-file FILE | --insecure] "
    "[-o json|yaml] list | get NAME",
    "list ApplicationSets (parent app, generated apps, error) or show one: its conditions and the "
    "applications it generates with their sync status and health",
    cmd_appset_run,
};

/* ---- edgecd cluster: clusters through the API, as argocd cluster ---- */

/* The kubeconfig file named by --kubeconfig, $KUBECONFIG (its first
 * path) or ~/.kube/config. New string. */
static char *cluster_kubeconfig_path(const char *flag)
{
    const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
    if (flag)
        return xstrdup(flag);
    if (env && env[0])
        return xstrndup(env, strcspn(env, ":"));
    return xasprintf("%s/.kube/config", home && home[0] ? home : ".");
}

/* POST the context's connection, flattened here (files this machine
 * reads, a tokenFile's token read now), as a new cluster. */
static int cluster_run_add(const struct app_cli *o, const char *context, const char *file,
                           const char *name)
{
    struct kubeconfig kc;
    struct buf flat = BUF_INIT;
    json_t *body = NULL, *answer = NULL;
    char *path = cluster_kubeconfig_path(file), *text = NULL;
    int rc;

    if ((rc = kubeconfig_load(&kc, path, context)) < 0)
        goto out;
    if ((rc = kubeconfig_flatten(&kc, context, &flat)) < 0)
        goto out;
    body =
        json_pack("{s:s, s:s%}", "name", name ? name : context, "kubeconfig", flat.ptr, flat.len);
    text = json_dumps(body, JSON_COMPACT);
    if ((rc = app_cli_call(o, "POST", "/api/v1/clusters", text, &answer)) == 0)
        printf("cluster %s added: %s\n", doc_get_str(answer, "name"),
               doc_get_str(answer, "server"));
out:
    /* the credentials are in the flattened text, the body and the request */
    if (text)
        mbedtls_platform_zeroize(text, strlen(text));
    if (flat.ptr)
        mbedtls_platform_zeroize(flat.ptr, flat.len);
    if (body)
        mbedtls_platform_zeroize((char *)doc_get_str(body, "kubeconfig"), flat.len);
    free(text);
    buf_dispose(&flat);
    json_decref(body);
    json_decref(answer);
    kubeconfig_dispose(&kc);
    free(path);
    return rc;
}

static int cluster_run_list(const struct app_cli *o)
{
    json_t *doc = NULL, *c;
    size_t i;

    if (app_cli_get(o, "/api/v1/clusters", &doc) < 0)
        return -1;
    if (o->output[0]) {
        app_print_doc(o, doc);
    } else {
        printf("%-20s %-40s %-7s %s\n", "NAME", "SERVER", "ORIGIN", "CONNECTION");
        json_array_foreach(doc_get(doc, "items"), i, c)
        {
            const char *state = doc_get_str(c, "connectionState.status");
            printf("%-20s %-40s %-7s %s\n", doc_get_str(c, "name"), doc_get_str(c, "server"),
                   doc_get_str(c, "origin"), state ? state : "Unknown");
        }
    }
    json_decref(doc);
    return 0;
}

static int cmd_cluster_run(int argc, char **argv)
{
    static const struct option opts[] = {
        APP_CLI_OPTIONS,
        {"output", required_argument, NULL, 'o'},
        {"kubeconfig", required_argument, NULL, 'f'},
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    struct app_cli o = {0};
    const char *verb, *file = NULL, *name = NULL;
    json_t *doc = NULL;
    struct buf path = BUF_INIT;
    int c, rc;

    o.server = app_default_server();
    o.output = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:t:d:o:h", opts, NULL)) != -1) {
        if ((rc = app_cli_option(&o, c)) != 0) {
            if (rc < 0)
                return 2;
            continue;
        }
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'h':
            printf("usage: edgecd cluster %s\n%s\n", cli_cmd_cluster.usage, cli_cmd_cluster.help);
            return 0;
        default:
            return cli_usage(&cli_cmd_cluster);
        }
    }
    verb = optind < argc ? argv[optind] : "";
    if (!strcmp(verb, "list") && optind + 1 == argc) {
        rc = cluster_run_list(&o);
    } else if (!strcmp(verb, "add") && optind + 2 == argc) {
        rc = cluster_run_add(&o, argv[optind + 1], file, name);
    } else if ((!strcmp(verb, "rm") || !strcmp(verb, "validate")) && optind + 2 == argc) {
        buf_puts(&path, "/api/v1/clusters/");
        http_query_escape(&path, argv[optind + 1]);
        if (!strcmp(verb, "rm")) {
            if ((rc = app_cli_call(&o, "DELETE", buf_cstr(&path), NULL, &doc)) == 0)
                printf("cluster %s removed\n", argv[optind + 1]);
        } else {
            buf_puts(&path, "/validate");
            if ((rc = app_cli_call(&o, "POST", buf_cstr(&path), NULL, &doc)) == 0) {
                printf("%s: %s\n", doc_get_str(doc, "status"), doc_get_str(doc, "message"));
                rc = strcmp(doc_get_str(doc, "status"), "Successful") ? 1 : 0;
            }
        }
        json_decref(doc);
        buf_dispose(&path);
        if (rc > 0)
            return 1;
    } else {
        return cli_usage(&cli_cmd_cluster);
    }
    return rc < 0 ? cli_fail() : 0;
}

const struct cli_cmd cli_cmd_cluster = {
    "cluster",
    "[--server URL] [--token-file FILE | --data DIR] [--ca-file FILE | --insecure] "
    "list [-o json|yaml] | add CONTEXT [--kubeconfig FILE] [--name NAME] | validate NAME | rm NAME",
    "list the clusters (the site config's and the added ones), add one from a context of a "
    "kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config; files it names are read here "
    "and sent inline, sealed by the server), test one by discovery, or remove an added one",
    cmd_cluster_run,
};

/* ---- edgecd login: a token for this CLI, stored in the login config ---- */

/* The password: a line of stdin (--password-stdin), else asked on the
 * terminal without echo. New string. */
static int login_password(int from_stdin, char **out)
{
    char line[1100];
    char *p;
    size_t n;

    *out = NULL;
    if (!from_stdin) {
        if (!isatty(0))
            return err_set(ERR_INVALID, "no terminal to ask the password on: use "
                                        "--password-stdin");
        p = getpass("Password: ");
        if (!p)
            return err_set(ERR_INVALID, "no password given");
        *out = xstrdup(p);
        memset(p, 0, strlen(p));
        return 0;
    }
    if (!fgets(line, sizeof(line), stdin))
        return err_set(ERR_INVALID, "password: nothing on stdin");
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    *out = xstrdup(line);
    memset(line, 0, sizeof(line));
    return 0;
}

/* Write the login config (0600, in a 0700 folder). */
static int login_save(const struct app_cli *o, const char *token)
{
    char *path = app_config_path(), *dir = NULL, *text = NULL, *ca = NULL;
    json_t *cfg;
    int rc;

    if (!path)
        return err_set(ERR_INVALID, "no HOME: set EDGECD_LOGIN_CONFIG to where the login is kept");
    dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    if (o->ca_file)
        ca = realpath(o->ca_file, NULL);
    cfg = json_pack("{s:s, s:s}", "server", o->server, "token", token);
    if (ca)
        json_object_set_new(cfg, "caFile", json_string(ca));
    if (o->insecure)
        json_object_set_new(cfg, "insecure", json_true());
    text = json_dumps(cfg, JSON_INDENT(2));
    if ((rc = fs_mkdir_p(dir, 0700)) == 0)
        rc = fs_write_atomic(path, text, strlen(text), 0600);
    if (rc == 0)
        printf("logged in to %s; token stored in %s\n", o->server, path);
    memset(text, 0, strlen(text));
    free(text);
    json_decref(cfg);
    free(ca);
    free(dir);
    free(path);
    return rc;
}

static int cmd_login_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},   {"username", required_argument, NULL, 'u'},
        {"password-stdin", no_argument, NULL, 'p'}, {"ca-file", required_argument, NULL, 'K'},
        {"insecure", no_argument, NULL, 'k'},       {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct app_cli o = {0};
    const char *user = "admin";
    char *pw = NULL, *body = NULL, *cookie = NULL, *hdr_cookie = NULL, *hdr_csrf = NULL;
    char *path = NULL, *token_body = NULL, host[64] = "cli";
    json_t *session = NULL, *tok = NULL, *bye = NULL, *creds;
    struct buf p = BUF_INIT;
    int c, from_stdin = 0, rc = 1;

    o.server = app_default_server();
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.server = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            from_stdin = 1;
            break;
        case 'K':
            o.ca_file = optarg;
            break;
        case 'k':
            o.insecure = 1;
            break;
        case 'd':
            o.data_dir = optarg;
            break;
        case 'h':
            printf("usage: edgecd login %s\n%s\n", cli_cmd_login.usage, cli_cmd_login.help);
            return 0;
        default:
            return cli_usage(&cli_cmd_login);
        }
    }
    if (optind != argc)
        return cli_usage(&cli_cmd_login);
    if (login_password(from_stdin, &pw) < 0)
        goto fail;
    creds = json_pack("{s:s, s:s}", "username", user, "password", pw);
    body = json_dumps(creds, JSON_COMPACT);
    json_decref(creds);
    {
        const char *const none[] = {NULL};
        if (app_cli_exchange(&o, "POST", "/api/v1/session", none, body, &session, &cookie) < 0)
            goto fail;
    }
    if (!cookie || !json_string_value(json_object_get(session, "csrfToken"))) {
        err_set(ERR_INVALID, "%s: the login answer has no session", o.server);
        goto fail;
    }
    hdr_cookie = xasprintf("Cookie: %.*s", (int)strcspn(cookie, ";"), cookie);
    hdr_csrf =
        xasprintf("X-CSRF-Token: %s", json_string_value(json_object_get(session, "csrfToken")));
    gethostname(host, sizeof(host) - 1);
    host[strcspn(host, ".")] = '\0';
    buf_puts(&p, "/api/v1/account/");
    http_query_escape(&p, user);
    buf_puts(&p, "/token");
    path = buf_detach(&p);
    /* The id says where and when the token was made, for `token list`. */
    token_body = xasprintf("{\"id\":\"cli-%.30s-%lld\"}", account_name_ok(host) ? host : "host",
                           (long long)time(NULL));
    {
        const char *const hdr[] = {hdr_cookie, hdr_csrf, NULL};
        rc = app_cli_exchange(&o, "POST", path, hdr, token_body, &tok, NULL);
        /* the session was only the way to the token */
        app_cli_exchange(&o, "DELETE", "/api/v1/session", hdr, NULL, &bye, NULL);
        if (rc < 0)
            goto fail;
    }
    if (!json_string_value(json_object_get(tok, "token"))) {
        err_set(ERR_INVALID, "%s: the token answer has no token", o.server);
        goto fail;
    }
    if (login_save(&o, json_string_value(json_object_get(tok, "token"))) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    rc = cli_fail();
out:
    if (pw)
        memset(pw, 0, strlen(pw));
    if (body)
        memset(body, 0, strlen(body));
    free(pw);
    free(body);
    free(cookie);
    free(hdr_cookie);
    free(hdr_csrf);
    free(path);
    free(token_body);
    json_decref(session);
    json_decref(tok);
    json_decref(bye);
    return rc;
}

const struct cli_cmd cli_cmd_login = {
    "login",
    "[--server URL] [--username NAME] [--password-stdin] [--ca-file FILE | --insecure] "
    "[--data DIR]",
    "Log in to an edgecd server and keep an API token for the CLI in ~/.config/edgecd/config "
    "(0600; EDGECD_LOGIN_CONFIG names another file); app and appset commands then use it for that "
    "server.",
    cmd_login_run,
};
