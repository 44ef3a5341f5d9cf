/*
 * `edgecd serve`: own a data directory, register the site's Applications
 * from the config, serve the API and reconcile until SIGINT/SIGTERM.
 *
 * The data directory holds state.db, mirrors/ and keys/ (0700). The API
 * token is generated once, on first start, into keys/api-token (0600), and
 * never printed or logged: the operator reads the file.
 *
 * The API is served over HTTPS with keys/tls.key and tls.crt (made on
 * first start) or the configured pair; the certificate's fingerprint is
 * printed at every start so an operator can compare it with the one the
 * browser shows before trusting the self-signed certificate.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup/location.h"
#include "backup/self.h"
#include "cli/cli.h"
#include "cli/cmd_backup.h"
#include "cli/serve_backups.h"
#include "core/buf.h"
#include "core/cron.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/password.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "engine/engine.h"
#include "git/gitstats.h"
#include "git/mirror.h"
#include "kube/client.h"
#include "model/app.h"
#include "model/config.h"
#include "server/server.h"
#include "storage/store.h"

#define SERVE_TOKEN_BYTES 32
#define SERVE_ROOT_APP "root"

static volatile sig_atomic_t serve_stop;

static void serve_on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

/* Read the API token, creating it on first start. *out is a new string. */
static int serve_token(const char *data_dir, char **out)
{
    char *path = xasprintf("%s/keys/api-token", data_dir);
    struct buf b = BUF_INIT;
    int rc;
    *out = NULL;
    rc = fs_read_file(path, 4096, &b);
    if (rc == ERR_NOTFOUND) {
        unsigned char raw[SERVE_TOKEN_BYTES];
        char hex[2 * SERVE_TOKEN_BYTES + 2];
        if ((rc = util_random(raw, sizeof(raw))) < 0)
            goto out;
        util_hex(hex, raw, sizeof(raw));
        hex[2 * SERVE_TOKEN_BYTES] = '\n';
        hex[2 * SERVE_TOKEN_BYTES + 1] = '\0';
        if ((rc = fs_write_atomic(path, hex, strlen(hex), 0600)) < 0)
            goto out;
        log_info("generated an API token in %s", path);
        buf_clear(&b);
        rc = fs_read_file(path, 4096, &b);
    }
    if (rc < 0)
        goto out;
    while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
        b.ptr[--b.len] = '\0';
    if (b.len < 16) {
        rc = err_set(ERR_INVALID, "%s: token shorter than 16 characters", path);
        goto out;
    }
    *out = buf_detach(&b);
out:
    buf_dispose(&b);
    free(path);
    return rc;
}

/* On the first start of a data directory (no account yet) make the
 * account admin with a random password, written to DATA/admin-password
 * (0600) and printed this once: the operator changes it after the first
 * login. The file is written before the account so a failure leaves no
 * account whose password nobody knows. */
static int serve_admin(store *st, const char *data_dir)
{
    struct store_account *v = NULL, a = {0};
    size_t n = 0;
    char *pw = NULL, *path = NULL, *text = NULL;
    int rc;

    if ((rc = store_account_list(st, &v, &n)) < 0 || n > 0)
        goto out;
    path = xasprintf("%s/admin-password", data_dir);
    if ((rc = password_random_text(&pw, 18)) < 0)
        goto out;
    text = xasprintf("%s\n", pw);
    if ((rc = fs_write_atomic(path, text, strlen(text), 0600)) < 0 ||
        (rc = password_hash(&a.hash, pw)) < 0)
        goto out;
    a.name = "admin";
    a.enabled = 1;
    a.roles = "role:admin";
    if ((rc = store_account_add(st, &a)) < 0) {
        unlink(path);
        goto out;
    }
    printf("edgecd: created account admin with password %s (also in %s; change it after the "
           "first login)\n",
           pw, path);
    log_info("created account admin; its initial password is in %s", path);
out:
    if (pw)
        memset(pw, 0, strlen(pw));
    if (text)
        memset(text, 0, strlen(text));
    free(pw);
    free(text);
    free(a.hash);
    free(path);
    store_accounts_free(v, n);
    return rc;
}

static int serve_prepare_dirs(const char *data_dir)
{
    static const char *const subdirs[] = {"", "/keys", "/mirrors"};
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        char *p = xasprintf("%s%s", data_dir, subdirs[i]);
        int rc = fs_mkdir_p(p, 0700);
        free(p);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Register the documents of list with put; an unchanged one writes
 * nothing. */
static int serve_register(store *st, const json_t *list,
                          int (*put)(store *, const char *, const char *))
{
    size_t i;
    json_t *doc;
    json_array_foreach(list, i, doc)
    {
        struct buf js = BUF_INIT;
        int rc;
        doc_emit_json(&js, doc, 0);
        rc = put(st, doc_get_str(doc, "metadata.name"), buf_cstr(&js));
        buf_dispose(&js);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The root app of --bootstrap (or the config's bootstrap), made on first
 * start only: once stored, the store and Git own it. */
static int serve_bootstrap(store *st, const struct config *cfg, const char *spec)
{
    json_t *app = NULL;
    char *text = NULL;
    int rc;
    if (!spec || !spec[0])
        return 0;
    rc = store_app_get(st, SERVE_ROOT_APP, &text);
    free(text);
    if (rc == 0)
        return 0;
    err_clear();
    if ((rc = app_bootstrap(&app, spec, SERVE_ROOT_APP,
                            cfg->n_clusters ? cfg->clusters[0].name : "in-cluster")) < 0)
        return rc;
    text = json_dumps(app, JSON_COMPACT);
    if ((rc = store_app_put(st, SERVE_ROOT_APP, text)) == 0)
        log_info("bootstrap: root application %s created from %s", SERVE_ROOT_APP, spec);
    free(text);
    json_decref(app);
    return rc < 0 ? rc : 0;
}

/* The API's operations, carried to the engine. The API token is the
 * site's admin's, so requests are the admin's. */
#define SERVE_API_USER "user:admin"

static int serve_sync(void *ctx, const char *app, const json_t *body)
{
    struct engine_sync_options o = {0};
    json_t *list = json_object_get(body, "resources"), *r;
    json_t *sel = NULL;
    size_t i;
    int rc;
    const json_t *rev = json_object_get(body, "revision");
    o.prune = json_is_true(json_object_get(body, "prune"));
    o.dry_run = json_is_true(json_object_get(body, "dryRun"));
    o.user = SERVE_API_USER;
    /* Argo CD's ApplicationSyncRequest: revision for one source;
     * revisions with sourcePositions for several, which edgecd does not
     * take */
    if (rev && !json_is_null(rev) && !json_is_string(rev))
        return err_set(ERR_INVALID, "revision: must be a string (a branch, tag or commit)");
    if (json_array_size(json_object_get(body, "revisions")) ||
        json_array_size(json_object_get(body, "sourcePositions")))
        return err_set(ERR_INVALID, "revisions, sourcePositions: not supported by edgecd (a "
                                    "revision per source); use revision on a single-source app");
    o.revision = json_string_value(rev);
    if (list && !json_is_null(list)) {
        if (!json_is_array(list))
            return err_set(ERR_INVALID, "resources: must be a list");
        sel = json_array();
        json_array_foreach(list, i, r)
        {
            /* Argo CD's {group, kind, name} or edgecd's "group:kind:name" */
            const char *g = json_string_value(json_object_get(r, "group")),
                       *k = json_string_value(json_object_get(r, "kind")),
                       *n = json_string_value(json_object_get(r, "name"));
            if (json_is_string(r)) {
                json_array_append_new(sel, json_string(json_string_value(r)));
            } else if (k && n) {
                char *key = xasprintf("%s:%s:%s", g ? g : "", k, n);
                json_array_append_new(sel, json_string(key));
                free(key);
            } else {
                json_decref(sel);
                return err_set(ERR_INVALID, "resources[%zu]: needs kind and name", i);
            }
        }
        o.resources = sel;
    }
    rc = engine_request_sync(ctx, app, &o);
    json_decref(sel);
    return rc;
}

static int serve_terminate(void *ctx, const char *app)
{
    return engine_request_terminate(ctx, app);
}

static int serve_remove(void *ctx, const char *app, int cascade)
{
    return engine_request_delete(ctx, app, cascade, SERVE_API_USER);
}

static void serve_refresh(void *ctx, const char *repo_url, const char *revision)
{
    engine_refresh(ctx, repo_url, revision);
}

static int serve_diff(void *ctx, const char *app, struct buf *out, int *differs)
{
    return engine_diff(ctx, app, out, differs);
}

static int serve_rollback(void *ctx, const char *app, const json_t *body)
{
    const json_t *id = json_object_get(body, "id");
    if (!json_is_integer(id))
        return err_set(ERR_INVALID, "id: the history entry to roll back to (a number)");
    return engine_request_rollback(ctx, app, (long long)json_integer_value(id),
                                   json_is_true(json_object_get(body, "prune")), SERVE_API_USER);
}

/* The application views and writes of the API (engine/view.c,
 * engine/register.c); the server's structs mirror the engine's. */
static int serve_managed(void *ctx, const char *app, json_t **out)
{
    return engine_managed_resources(ctx, app, out);
}

static int serve_tree(void *ctx, const char *app, json_t **out)
{
    return engine_resource_tree(ctx, app, out);
}

static int serve_resource(void *ctx, const char *app, const struct server_resource_ref *r,
                          json_t **out)
{
    struct engine_resource_ref ref = {r->group, r->version, r->kind, r->ns, r->name, r->uid};
    return engine_resource_get(ctx, app, &ref, out);
}

static int serve_resource_events(void *ctx, const char *app, const struct server_resource_ref *r,
                                 json_t **out)
{
    struct engine_resource_ref ref = {r->group, r->version, r->kind, r->ns, r->name, r->uid};
    return engine_resource_events(ctx, app, &ref, out);
}

static int serve_pod_logs(void *ctx, const char *app, const struct server_log_request *rq,
                          server_log_fn fn, void *fctx)
{
    struct engine_log_request lr = {rq->ns, rq->pod, rq->container, rq->tail_lines, rq->follow};
    return engine_pod_logs(ctx, app, &lr, fn, fctx);
}

static void serve_refresh_app(void *ctx, const char *app, int hard)
{
    if (hard)
        engine_refresh_app_hard(ctx, app);
    else
        engine_refresh_app(ctx, app);
}

static int serve_app_write(void *ctx, const json_t *body, enum server_app_write how,
                           const char *name, char **out_name)
{
    return engine_app_write(ctx, body, how != SERVER_APP_UPDATE, how == SERVER_APP_UPSERT, name,
                            out_name);
}

static int serve_secret_values(void *ctx, const char *app, json_t **out)
{
    return engine_secret_values(ctx, app, out);
}

static int serve_ready(void *ctx)
{
    return engine_ready(ctx);
}

static void serve_metrics(void *ctx, struct buf *out)
{
    engine_metrics_write(ctx, out);
    gitstats_write(out);
    kube_metrics_write(out);
}

static int serve_repo_validate(void *ctx, const char *url, char **message)
{
    return engine_repo_validate(ctx, url, message);
}

static int serve_cluster_validate(void *ctx, const char *name, char **message)
{
    return engine_cluster_validate(ctx, name, message);
}

static json_t *serve_clusters(void *ctx)
{
    return engine_clusters_json(ctx);
}

static int serve_cluster_add(void *ctx, const char *name, const char *kubeconfig,
                             const char *context, char **out_server)
{
    return engine_cluster_add(ctx, name, kubeconfig, context, out_server);
}

static int serve_cluster_remove(void *ctx, const char *name)
{
    return engine_cluster_remove(ctx, name);
}

/* The self-backup schedule of the config, started when it has a recovery
 * secret; without one, said once and left off (the keys are never
 * written unencrypted). */
static int serve_self_backup(self_scheduler **out, store *st, const struct config *cfg,
                             const char *config_path, const char *data_dir)
{
    struct self_options o = {0};
    struct crypt_key key;
    struct cron c;
    char *location = NULL, *second = NULL;
    int rc;

    *out = NULL;
    memset(&key, 0, sizeof(key));
    if (!cfg->self_backup_schedule[0])
        return 0;
    if (!cfg->self_backup_passphrase_file[0] && !cfg->self_backup_key_file[0]) {
        log_warn("self-backup is off: set selfBackupPassphraseFile or selfBackupKeyFile in %s",
                 config_path);
        return 0;
    }
    if ((rc = cron_parse_schedule(&c, cfg->self_backup_schedule)) < 0 ||
        (rc = self_key_load(&key, cfg->self_backup_passphrase_file, cfg->self_backup_key_file,
                            data_dir)) < 0) {
        err_prefix(rc, "%s: self-backup", config_path);
        goto out;
    }
    /* An S3 location is registered here, before any backup thread runs. */
    if (cfg->self_backup_location[0] &&
        !(location = backup_cli_resolve(config_path, data_dir, cfg->self_backup_location))) {
        rc = err_prefix(ERR_INVALID, "%s: selfBackupLocation", config_path);
        goto out;
    }
    if (!location)
        location = xasprintf("%s/backups/self", data_dir);
    if (cfg->self_backup_second_location[0] &&
        !(second = backup_cli_resolve(config_path, data_dir, cfg->self_backup_second_location))) {
        rc = err_prefix(ERR_INVALID, "%s: selfBackupSecondLocation", config_path);
        goto out;
    }
    o.data_dir = data_dir;
    o.config_path = config_path;
    o.settings_file = cfg->settings_file;
    o.secrets_file = cfg->secrets_file;
    o.location = location;
    o.second_location = second ? second : "";
    o.key = &key;
    o.keep = (int)cfg->self_backup_keep;
    o.edgecd_version = EDGECD_VERSION;
    if ((rc = self_scheduler_start(out, st, &c, &o)) == 0)
        log_info("self-backup: %s to %s%s%s, keeping %ld", cfg->self_backup_schedule, location,
                 o.second_location[0] ? " and " : "", o.second_location, cfg->self_backup_keep);
out:
    crypt_key_dispose(&key);
    free(location);
    free(second);
    return rc;
}

/* "127.0.0.1:0" with bound port 41234 -> "https://127.0.0.1:41234". */
static char *serve_url(const char *scheme, const char *listen, int port)
{
    const char *colon = strrchr(listen, ':');
    char *host = colon ? xstrndup(listen, (size_t)(colon - listen)) : xstrdup("0.0.0.0");
    char *url = xasprintf("%s://%s:%d", scheme, host, port);
    free(host);
    return url;
}

static int cmd_serve_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},   {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'}, {"bootstrap", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *config_path = NULL, *listen = NULL, *bootstrap = NULL;
    struct config cfg = {0};
    struct server_options sopts = {0};
    struct secrets secrets = {0};
    store *st = NULL;
    server *srv = NULL;
    engine *eng = NULL;
    struct server_tls tls = {0};
    self_scheduler *selfsched = NULL;
    struct serve_backups *backups = NULL;
    char *token = NULL, *db = NULL, *url = NULL;
    struct sigaction sa;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:l:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            bootstrap = optarg;
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'h': {
            struct buf b = BUF_INIT;
            config_describe(&b);
            printf("usage: edgecd serve %s\n%s\n\n%s", cli_cmd_serve.usage, cli_cmd_serve.help,
                   buf_cstr(&b));
            buf_dispose(&b);
            return 0;
        }
        default:
            return cli_usage(&cli_cmd_serve);
        }
    }
    if (!data_dir || !config_path || optind != argc)
        return cli_usage(&cli_cmd_serve);

    if (config_load(&cfg, config_path) < 0)
        goto fail;
    if (cfg.secrets_file[0] && secrets_load(&secrets, cfg.secrets_file) < 0) {
        err_prefix(ERR_INVALID, "%s: secretsFile", config_path);
        goto fail;
    }
    log_set_level((enum log_level)log_level_parse(cfg.log_level));
    if (serve_prepare_dirs(data_dir) < 0 || serve_token(data_dir, &token) < 0)
        goto fail;
    db = xasprintf("%s/state.db", data_dir);
    if (store_open(&st, db) < 0 || serve_register(st, cfg.projects, store_project_put) < 0 ||
        serve_register(st, cfg.applications, store_app_put) < 0 ||
        serve_register(st, cfg.appsets, store_appset_put) < 0 || serve_admin(st, data_dir) < 0 ||
        serve_bootstrap(st, &cfg, bootstrap ? bootstrap : cfg.bootstrap) < 0)
        goto fail;
    if (mirror_global_init() < 0)
        goto fail;
    if (engine_new(&eng, st, &cfg, data_dir) < 0)
        goto fail;
    sopts.listen = listen ? listen : cfg.listen;
    if (!cfg.insecure_http) {
        if (server_tls_load(&tls, data_dir, cfg.tls_cert_file, cfg.tls_key_file, sopts.listen) < 0)
            goto fail;
        sopts.tls = &tls;
        sopts.redirect_listen = cfg.http_redirect_listen;
    }
    sopts.api_token = token;
    sopts.actions.ctx = eng;
    sopts.actions.sync = serve_sync;
    sopts.actions.terminate = serve_terminate;
    sopts.actions.rollback = serve_rollback;
    sopts.actions.remove = serve_remove;
    sopts.actions.diff = serve_diff;
    sopts.actions.refresh = serve_refresh;
    sopts.actions.managed_resources = serve_managed;
    sopts.actions.resource_tree = serve_tree;
    sopts.actions.resource = serve_resource;
    sopts.actions.resource_events = serve_resource_events;
    sopts.actions.pod_logs = serve_pod_logs;
    sopts.actions.refresh_app = serve_refresh_app;
    sopts.actions.app_write = serve_app_write;
    sopts.actions.secret_values = serve_secret_values;
    sopts.actions.ready = serve_ready;
    sopts.actions.metrics = serve_metrics;
    sopts.actions.repo_validate = serve_repo_validate;
    sopts.actions.cluster_validate = serve_cluster_validate;
    sopts.actions.clusters = serve_clusters;
    sopts.actions.cluster_add = serve_cluster_add;
    sopts.actions.cluster_remove = serve_cluster_remove;
    sopts.config = &cfg;
    sopts.per_address = (int)cfg.max_connections_per_address;
    sopts.data_dir = data_dir;
    sopts.version = EDGECD_VERSION;
    sopts.app_label_key = ENGINE_LABEL_APP;
    sopts.webhook_secrets = &secrets;
    sopts.rbac = cfg.rbac;
    sopts.session_idle_seconds = cfg.session_idle_seconds;
    sopts.session_max_seconds = cfg.session_max_seconds;
    /* The backup threads first: the server's handlers call into them. */
    if (serve_self_backup(&selfsched, st, &cfg, config_path, data_dir) < 0 ||
        serve_backups_start(&backups, st, config_path, data_dir) < 0)
        goto fail;
    sopts.actions.backups = serve_backups_api;
    sopts.actions.backups_ctx = backups;
    if (server_start(&srv, &sopts, st) < 0)
        goto fail;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = serve_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    url = serve_url(sopts.tls ? "https" : "http", sopts.listen, server_port(srv));
    /* Printed before the address, so whoever waits for "API at" has it. */
    if (sopts.tls)
        printf("edgecd: TLS certificate %s SHA-256 fingerprint %s\n",
               cfg.tls_cert_file[0] ? cfg.tls_cert_file : "keys/tls.crt", tls.fingerprint);
    else
        printf("edgecd: plain HTTP (insecureHTTP: true): keep it behind a TLS-terminating proxy\n");
    if (server_redirect_port(srv)) {
        char *from = serve_url("http", sopts.redirect_listen, server_redirect_port(srv));
        printf("edgecd: %s redirects to HTTPS\n", from);
        free(from);
    }
    printf("edgecd: API at %s/api/v1 (bearer token in %s/keys/api-token)\n", url, data_dir);
    fflush(stdout);
    log_info("serving %s, %zu application(s), poll every %lds", url,
             json_array_size(cfg.applications), cfg.poll_seconds);
    engine_run(eng, &serve_stop);
    log_info("stopping");
    rc = 0;
    goto out;
fail:
    rc = cli_fail();
out:
    server_stop(srv);               /* its handlers call into the engine and the backups */
    self_scheduler_stop(selfsched); /* a run in progress finishes */
    serve_backups_stop(backups);
    location_reset(); /* the S3 locations' connections */
    engine_free(eng);
    store_close(st);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    free(db);
    free(url);
    server_tls_dispose(&tls);
    secrets_dispose(&secrets);
    config_dispose(&cfg);
    return rc;
}

const struct cli_cmd cli_cmd_serve = {
    "serve",
    "--data DIR --config FILE [--listen ADDR:PORT] [--bootstrap REPO[@REV]:PATH]",
    "keep the configured clusters in step with Git and serve the API",
    cmd_serve_run,
};
