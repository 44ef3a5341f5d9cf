/*
 * Site configuration. The scalar settings are a table so that parsing,
 * defaults, bounds and the help text cannot drift apart; clusters are a
 * list and parsed by hand.
 */
#include "model/config.h"

#include <libgen.h>
#include <stddef.h>
#include <string.h>

#include "core/cron.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "model/app.h"
#include "model/appset.h"
#include "model/appset.h"
#include "model/project.h"

#define CONFIG_MAX_BYTES (4u << 20)

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_BOOL };

struct config_key {
    const char *name;
    enum config_type type;
    const char *def; /* default as text */
    long min, max;   /* for CONFIG_INT */
    size_t offset;   /* into struct config */
    const char *help;
};

static const struct config_key config_keys[] = {
    {"listen", CONFIG_STR, "127.0.0.1:8080", 0, 0, offsetof(struct config, listen),
     "address:port the API and UI listen on (HTTPS unless insecureHTTP is true)"},
    {"tlsCertFile", CONFIG_STR, "", 0, 0, offsetof(struct config, tls_cert_file),
     "PEM certificate (chain) to serve HTTPS with, relative to this file; with tlsKeyFile; "
     "empty: a self-signed one generated on first start into DATA/keys/tls.crt"},
    {"tlsKeyFile", CONFIG_STR, "", 0, 0, offsetof(struct config, tls_key_file),
     "PEM private key of tlsCertFile (not encrypted), relative to this file"},
    {"insecureHTTP", CONFIG_BOOL, "false", 0, 0, offsetof(struct config, insecure_http),
     "serve plain HTTP instead of HTTPS: only behind a TLS-terminating proxy on the same node"},
    {"httpRedirectListen", CONFIG_STR, "", 0, 0, offsetof(struct config, http_redirect_listen),
     "address:port of a plain HTTP port that answers every request with a redirect (308) to "
     "HTTPS; empty: none"},
    {"maxConnectionsPerAddress", CONFIG_INT, "24", 1, 1024,
     offsetof(struct config, max_connections_per_address),
     "connections one client address may hold open to the API at once (more are closed as they "
     "arrive); behind a proxy every client has the proxy's address: raise it"},
    {"pollSeconds", CONFIG_INT, "180", 1, 86400, offsetof(struct config, poll_seconds),
     "seconds between reconciles of each application"},
    {"pollJitterSeconds", CONFIG_INT, "60", 0, 86400, offsetof(struct config, poll_jitter_seconds),
     "up to this many seconds (at most a quarter of pollSeconds) added at random to each poll, so "
     "apps do not fetch all at once"},
    {"helmBinary", CONFIG_STR, "", 0, 0, offsetof(struct config, helm_binary),
     "path of the helm binary for Helm sources; empty: helm found on PATH"},
    {"helmTimeoutSeconds", CONFIG_INT, "60", 1, 3600, offsetof(struct config, helm_timeout_seconds),
     "seconds one helm template may run before it is stopped"},
    {"kustomizeBinary", CONFIG_STR, "", 0, 0, offsetof(struct config, kustomize_binary),
     "a kustomize (or kubectl) binary that builds Kustomize sources instead of the built-in "
     "Kustomize; empty: built-in"},
    {"kustomizeTimeoutSeconds", CONFIG_INT, "60", 1, 3600,
     offsetof(struct config, kustomize_timeout_seconds),
     "seconds one external kustomize build may run before it is stopped"},
    {"syncWaveDelaySeconds", CONFIG_INT, "2", 0, 300,
     offsetof(struct config, sync_wave_delay_seconds),
     "seconds between one sync wave being done and the next starting (Argo CD's "
     "ARGOCD_SYNC_WAVE_DELAY)"},
    {"maxEvents", CONFIG_INT, "10000", 100, 1000000, offsetof(struct config, max_events),
     "events kept in the store (the oldest go first; at most 1,000 per app)"},
    {"bootstrap", CONFIG_STR, "", 0, 0, offsetof(struct config, bootstrap),
     "REPO[@REVISION]:PATH of a root App of Apps created on first start (as serve --bootstrap)"},
    {"renderCacheEntries", CONFIG_INT, "64", 0, 4096, offsetof(struct config, render_cache_entries),
     "rendered sources kept in memory, keyed by commits and options, so an unchanged source is "
     "not rendered again; 0: no cache"},
    {"fullCompareSeconds", CONFIG_INT, "600", 0, 86400,
     offsetof(struct config, full_compare_seconds),
     "at most this many seconds between full compares of an app whose manifest, project, "
     "commits and live objects did not change (such a pass only checks that they did not); 0: "
     "compare fully on every pass"},
    {"settingsFile", CONFIG_STR, "", 0, 0, offsetof(struct config, settings_file),
     "an Argo CD argocd-cm ConfigMap (YAML, as is) whose resource customizations apply: custom "
     "Lua health checks, ignoreDifferences, compare options; relative to this file; empty: none"},
    {"secretsFile", CONFIG_STR, "", 0, 0, offsetof(struct config, secrets_file),
     "an Argo CD argocd-secret Secret (YAML, as is) whose webhook.* keys authenticate Git "
     "providers' push webhooks; relative to this file; empty: every webhook is refused"},
    {"rbacConfigFile", CONFIG_STR, "", 0, 0, offsetof(struct config, rbac_config_file),
     "an Argo CD argocd-rbac-cm ConfigMap (YAML, as is): policy.csv, policy.default; relative to "
     "this file; empty: the built-in roles only (admin is role:admin)"},
    {"sessionIdleSeconds", CONFIG_INT, "3600", 60, 2592000,
     offsetof(struct config, session_idle_seconds), "a browser session unused this long ends"},
    {"sessionMaxSeconds", CONFIG_INT, "86400", 60, 31536000,
     offsetof(struct config, session_max_seconds),
     "a browser session ends this long after its login, used or not"},
    {"logLevel", CONFIG_STR, "info", 0, 0, offsetof(struct config, log_level),
     "debug, info, warn or error"},
    {"selfBackupSchedule", CONFIG_STR, "@daily", 0, 0,
     offsetof(struct config, self_backup_schedule),
     "when serve backs itself up: five cron fields in UTC or @hourly, @daily, @weekly, @monthly; "
     "empty: never (needs selfBackupPassphraseFile or selfBackupKeyFile)"},
    {"selfBackupKeep", CONFIG_INT, "7", 1, 1000, offsetof(struct config, self_backup_keep),
     "self-backups kept in each location (the oldest go first)"},
    {"selfBackupLocation", CONFIG_STR, "", 0, 0, offsetof(struct config, self_backup_location),
     "where self-backups go: a folder (relative to this file), or an S3 location (the name of a "
     "backupLocations entry, or s3://BUCKET/PREFIX); empty: DATA/backups/self"},
    {"selfBackupSecondLocation", CONFIG_STR, "", 0, 0,
     offsetof(struct config, self_backup_second_location),
     "a second location that gets a copy of each self-backup: a folder (a USB stick's mount "
     "path) or an S3 location as selfBackupLocation; empty: none"},
    {"selfBackupPassphraseFile", CONFIG_STR, "", 0, 0,
     offsetof(struct config, self_backup_passphrase_file),
     "file whose first line is the recovery passphrase self-backups are encrypted with (mode "
     "0600, outside the data directory; keep a copy off the node)"},
    {"selfBackupKeyFile", CONFIG_STR, "", 0, 0, offsetof(struct config, self_backup_key_file),
     "instead of a passphrase: a recovery key file (32 random bytes or 64 hex digits, mode "
     "0600, outside the data directory)"},
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_default_cluster_name = "in-cluster";
static const char *const config_default_cluster_server = "https://kubernetes.default.svc";

static int config_set_key(struct config *cfg, const struct config_key *k, const json_t *v,
                          const char *path)
{
    char *field = (char *)cfg + k->offset;
    if (k->type == CONFIG_STR) {
        if (!json_is_string(v))
            return err_set(ERR_INVALID, "%s: %s: must be a string", path, k->name);
        free(*(char **)field);
        *(char **)field = xstrdup(json_string_value(v));
        return 0;
    }
    if (k->type == CONFIG_BOOL) {
        if (!json_is_boolean(v))
            return err_set(ERR_INVALID, "%s: %s: must be true or false", path, k->name);
        *(int *)field = json_is_true(v);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < k->min || json_integer_value(v) > k->max)
        return err_set(ERR_INVALID, "%s: %s: must be a whole number from %ld to %ld", path, k->name,
                       k->min, k->max);
    *(long *)field = (long)json_integer_value(v);
    return 0;
}

static void config_set_defaults(struct config *cfg)
{
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        char *field = (char *)cfg + k->offset;
        if (k->type == CONFIG_STR)
            *(char **)field = xstrdup(k->def);
        else if (k->type == CONFIG_BOOL)
            *(int *)field = !strcmp(k->def, "true");
        else
            *(long *)field = strtol(k->def, NULL, 10);
    }
}

/* A relative kubeconfig path is taken relative to the config file, so a
 * site folder can be moved as a whole. */
static char *config_resolve_path(const char *config_path, const char *p)
{
    char *copy, *out;
    if (p[0] == '/')
        return xstrdup(p);
    copy = xstrdup(config_path);
    out = xasprintf("%s/%s", dirname(copy), p);
    free(copy);
    return out;
}

static const char *config_opt_str(const json_t *obj, const char *key, const char *path, size_t i,
                                  int *rc)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *rc = err_set(ERR_INVALID, "%s: clusters[%zu].%s: must be a string", path, i, key);
        return NULL;
    }
    return json_string_value(v);
}

static int config_parse_clusters(struct config *cfg, const json_t *list, const char *path)
{
    size_t i;
    const json_t *c;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return err_set(ERR_INVALID, "%s: clusters: must be a non-empty list", path);
    cfg->clusters = xcalloc(json_array_size(list), sizeof(*cfg->clusters));
    json_array_foreach(list, i, c)
    {
        struct config_cluster *cl = &cfg->clusters[i];
        int rc = 0;
        const char *name, *server, *kubeconfig, *context;
        cfg->n_clusters = i + 1;
        if (!json_is_object(c))
            return err_set(ERR_INVALID, "%s: clusters[%zu]: must be a mapping", path, i);
        name = config_opt_str(c, "name", path, i, &rc);
        server = config_opt_str(c, "server", path, i, &rc);
        kubeconfig = config_opt_str(c, "kubeconfig", path, i, &rc);
        context = config_opt_str(c, "context", path, i, &rc);
        if (rc)
            return rc;
        /* No kubeconfig: the pod's own service account (in-cluster). */
        if (!kubeconfig && context)
            return err_set(ERR_INVALID,
                           "%s: clusters[%zu].context: needs a kubeconfig (without one, the "
                           "in-cluster service account is used)",
                           path, i);
        cl->name = xstrdup(name ? name : config_default_cluster_name);
        cl->server = xstrdup(server ? server : config_default_cluster_server);
        cl->kubeconfig = kubeconfig ? config_resolve_path(path, kubeconfig) : NULL;
        cl->context = xstrdup(context);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->clusters[j].name, cl->name) == 0 ||
                strcmp(cfg->clusters[j].server, cl->server) == 0)
                return err_set(ERR_INVALID,
                               "%s: clusters[%zu]: name or server repeats clusters[%zu]", path, i,
                               j);
    }
    return 0;
}

#define CONFIG_MAX_MIRRORS 256

static int config_parse_mirrors(struct config *cfg, const json_t *list, const char *path)
{
    size_t i;
    const json_t *r;
    if (!json_is_array(list) || json_array_size(list) > CONFIG_MAX_MIRRORS)
        return err_set(ERR_INVALID, "%s: mirrors: must be a list of at most %d rules", path,
                       CONFIG_MAX_MIRRORS);
    cfg->mirrors = xcalloc(json_array_size(list) + 1, sizeof(*cfg->mirrors));
    cfg->n_mirrors = 0;
    json_array_foreach(list, i, r)
    {
        struct config_mirror *m = &cfg->mirrors[i];
        const json_t *fb = json_object_get(r, "fallback");
        const char *key;
        const json_t *v;
        if (!json_is_object(r))
            return err_set(ERR_INVALID, "%s: mirrors[%zu]: must be a mapping", path, i);
        json_object_foreach((json_t *)r, key, v)
        {
            if (strcmp(key, "prefix") && strcmp(key, "mirror") && strcmp(key, "fallback"))
                return err_set(ERR_INVALID,
                               "%s: mirrors[%zu].%s: unknown field (prefix, mirror, fallback)",
                               path, i, key);
        }
        if (!doc_get_str(r, "prefix") || !doc_get_str(r, "prefix")[0] ||
            !doc_get_str(r, "mirror") || !doc_get_str(r, "mirror")[0])
            return err_set(ERR_INVALID, "%s: mirrors[%zu]: needs prefix and mirror strings", path,
                           i);
        if (fb && !json_is_boolean(fb))
            return err_set(ERR_INVALID, "%s: mirrors[%zu].fallback: must be true or false", path,
                           i);
        cfg->n_mirrors = i + 1;
        m->prefix = xstrdup(doc_get_str(r, "prefix"));
        m->mirror = xstrdup(doc_get_str(r, "mirror"));
        m->fallback = fb && json_is_true(fb);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->mirrors[j].prefix, m->prefix))
                return err_set(ERR_INVALID, "%s: mirrors[%zu]: prefix repeats mirrors[%zu]", path,
                               i, j);
    }
    return 0;
}

const struct config_mirror *config_rewrite_url(const struct config *cfg, const char *url,
                                               char **out_url)
{
    const struct config_mirror *best = NULL;

    *out_url = NULL;
    for (size_t i = 0; i < cfg->n_mirrors; i++)
        if (str_has_prefix(url, cfg->mirrors[i].prefix) &&
            (!best || strlen(cfg->mirrors[i].prefix) > strlen(best->prefix)))
            best = &cfg->mirrors[i];
    if (best)
        *out_url = xasprintf("%s%s", best->mirror, url + strlen(best->prefix));
    return best;
}

static int config_parse_settings(struct config *cfg, const json_t *doc, const char *path)
{
    const char *key;
    json_t *v;
    const char *api = doc_get_str(doc, "apiVersion");
    const char *kind = doc_get_str(doc, "kind");
    if (!api || strcmp(api, "edgecd.io/v1alpha1") != 0 || !kind || strcmp(kind, "SiteConfig") != 0)
        return err_set(ERR_INVALID,
                       "%s: the first document must be apiVersion edgecd.io/v1alpha1, kind "
                       "SiteConfig",
                       path);
    json_object_foreach((json_t *)doc, key, v)
    {
        size_t i;
        int rc;
        if (!strcmp(key, "apiVersion") || !strcmp(key, "kind"))
            continue;
        if (!strcmp(key, "clusters")) {
            if ((rc = config_parse_clusters(cfg, v, path)) < 0)
                return rc;
            continue;
        }
        if (!strcmp(key, "backupLocations")) {
            /* Each entry is read by the backup commands (backup/s3.h),
             * which own its rules; here only its shape. */
            if (!json_is_array(v) || json_array_size(v) > CONFIG_MAX_MIRRORS)
                return err_set(ERR_INVALID, "%s: backupLocations: must be a list of at most %d",
                               path, CONFIG_MAX_MIRRORS);
            json_decref(cfg->backup_locations);
            cfg->backup_locations = json_incref(v);
            continue;
        }
        if (!strcmp(key, "mirrors")) {
            if ((rc = config_parse_mirrors(cfg, v, path)) < 0)
                return rc;
            continue;
        }
        for (i = 0; i < CONFIG_NKEYS; i++)
            if (!strcmp(config_keys[i].name, key))
                break;
        if (i == CONFIG_NKEYS)
            return err_set(ERR_INVALID, "%s: %s: unknown setting", path, key);
        if ((rc = config_set_key(cfg, &config_keys[i], v, path)) < 0)
            return rc;
    }
    if (cfg->n_clusters == 0)
        return err_set(ERR_INVALID, "%s: clusters: missing (at least one cluster is needed)", path);
    return 0;
}

/* The TLS settings make sense together or not at all; file names are
 * taken relative to the config file like every other path in it. */
static int config_check_tls(struct config *cfg, const char *path)
{
    char *resolved;
    if (!cfg->tls_cert_file[0] != !cfg->tls_key_file[0])
        return err_set(ERR_INVALID, "%s: tlsCertFile and tlsKeyFile: set both or neither", path);
    if (cfg->insecure_http && cfg->tls_cert_file[0])
        return err_set(ERR_INVALID,
                       "%s: insecureHTTP: true serves plain HTTP, so tlsCertFile and tlsKeyFile "
                       "would be unused; remove one or the other",
                       path);
    if (cfg->insecure_http && cfg->http_redirect_listen[0])
        return err_set(ERR_INVALID,
                       "%s: httpRedirectListen: redirects to HTTPS, which insecureHTTP: true "
                       "turns off",
                       path);
    if (cfg->tls_cert_file[0]) {
        resolved = config_resolve_path(path, cfg->tls_cert_file);
        free(cfg->tls_cert_file);
        cfg->tls_cert_file = resolved;
        resolved = config_resolve_path(path, cfg->tls_key_file);
        free(cfg->tls_key_file);
        cfg->tls_key_file = resolved;
    }
    return 0;
}

/* 1 if a self-backup location names an S3 location rather than a
 * folder: "s3://BUCKET[/PREFIX]", or the name of a backupLocations
 * entry (backup/s3.h reads the entry; a folder path has a '/'). */
static int config_names_s3(const struct config *cfg, const char *loc)
{
    size_t i;
    json_t *e;
    if (!strncmp(loc, "s3://", 5))
        return 1;
    if (strchr(loc, '/'))
        return 0;
    json_array_foreach(cfg->backup_locations, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (name && !strcmp(name, loc))
            return 1;
    }
    return 0;
}

int config_load(struct config *out, const char *path)
{
    struct buf data = BUF_INIT;
    json_t *docs = NULL;
    size_t i;
    json_t *doc;
    int rc;

    memset(out, 0, sizeof(*out));
    config_set_defaults(out);
    out->applications = json_array();
    out->projects = json_array();
    out->appsets = json_array();
    if ((rc = fs_read_file(path, CONFIG_MAX_BYTES, &data)) < 0)
        goto out;
    if ((rc = doc_parse_yaml(&docs, data.ptr ? data.ptr : "", data.len, path, NULL)) < 0)
        goto out;
    if (json_array_size(docs) == 0) {
        rc = err_set(ERR_INVALID, "%s: empty; expected a SiteConfig document", path);
        goto out;
    }
    if ((rc = config_parse_settings(out, json_array_get(docs, 0), path)) < 0)
        goto out;
    json_array_foreach(docs, i, doc)
    {
        struct app app;
        struct project proj;
        struct appset set;
        char *where;
        if (i == 0)
            continue;
        where = xasprintf("%s: document %zu", path, i + 1);
        if (project_is_project(doc)) {
            rc = project_parse(&proj, doc, where);
            project_dispose(&proj);
        } else if (appset_is_appset(doc)) {
            rc = appset_parse(&set, doc, where);
            appset_dispose(&set);
        } else {
            rc = app_parse(&app, doc, where);
            app_dispose(&app);
        }
        free(where);
        if (rc < 0)
            goto out;
        json_array_append(project_is_project(doc) ? out->projects
                          : appset_is_appset(doc) ? out->appsets
                                                  : out->applications,
                          doc);
    }
    if (out->settings_file[0]) {
        char *resolved = config_resolve_path(path, out->settings_file);
        free(out->settings_file);
        out->settings_file = resolved;
        out->settings = xcalloc(1, sizeof(*out->settings));
        if ((rc = settings_load(out->settings, out->settings_file)) < 0) {
            rc = err_prefix(rc, "%s: settingsFile", path);
            goto out;
        }
    }
    if (out->rbac_config_file[0]) {
        char *resolved = config_resolve_path(path, out->rbac_config_file);
        free(out->rbac_config_file);
        out->rbac_config_file = resolved;
        if ((rc = rbac_load(&out->rbac, out->rbac_config_file)) < 0) {
            rc = err_prefix(rc, "%s: rbacConfigFile", path);
            goto out;
        }
    }
    {
        /* Paths that are taken relative to the config file. */
        char **rel[] = {&out->secrets_file, &out->self_backup_location,
                        &out->self_backup_second_location, &out->self_backup_passphrase_file,
                        &out->self_backup_key_file};
        for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
            if ((*rel[i])[0] && !config_names_s3(out, *rel[i])) {
                char *resolved = config_resolve_path(path, *rel[i]);
                free(*rel[i]);
                *rel[i] = resolved;
            }
    }
    if (out->self_backup_schedule[0]) {
        struct cron c;
        if ((rc = cron_parse_schedule(&c, out->self_backup_schedule)) < 0) {
            rc = err_prefix(rc, "%s: selfBackupSchedule", path);
            goto out;
        }
    }
    if (out->self_backup_passphrase_file[0] && out->self_backup_key_file[0]) {
        rc = err_set(ERR_INVALID,
                     "%s: selfBackupPassphraseFile and selfBackupKeyFile: give one of them", path);
        goto out;
    }
    if ((rc = config_check_tls(out, path)) < 0)
        goto out;
    if (log_level_parse(out->log_level) < 0) {
        rc = err_set(ERR_INVALID, "%s: logLevel: \"%s\" is not debug, info, warn or error", path,
                     out->log_level);
        goto out;
    }
    rc = 0;
out:
    json_decref(docs);
    buf_dispose(&data);
    return rc;
}

void config_dispose(struct config *cfg)
{
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (config_keys[i].type == CONFIG_STR) {
            char **field = (char **)((char *)cfg + config_keys[i].offset);
            free(*field);
            *field = NULL;
        }
    for (size_t i = 0; i < cfg->n_clusters; i++) {
        free(cfg->clusters[i].name);
        free(cfg->clusters[i].server);
        free(cfg->clusters[i].kubeconfig);
        free(cfg->clusters[i].context);
    }
    free(cfg->clusters);
    cfg->clusters = NULL;
    rbac_free(cfg->rbac);
    cfg->rbac = NULL;
    for (size_t i = 0; i < cfg->n_mirrors; i++) {
        free(cfg->mirrors[i].prefix);
        free(cfg->mirrors[i].mirror);
    }
    free(cfg->mirrors);
    cfg->mirrors = NULL;
    cfg->n_mirrors = 0;
    cfg->n_clusters = 0;
    json_decref(cfg->applications);
    cfg->applications = NULL;
    json_decref(cfg->backup_locations);
    cfg->backup_locations = NULL;
    json_decref(cfg->projects);
    cfg->projects = NULL;
    json_decref(cfg->appsets);
    cfg->appsets = NULL;
    if (cfg->settings)
        settings_dispose(cfg->settings);
    free(cfg->settings);
    cfg->settings = NULL;
}

const struct config_cluster *config_find_cluster(const struct config *cfg, const char *server,
                                                 const char *name)
{
    for (size_t i = 0; i < cfg->n_clusters; i++) {
        if (server && strcmp(cfg->clusters[i].server, server) == 0)
            return &cfg->clusters[i];
        if (!server && name && strcmp(cfg->clusters[i].name, name) == 0)
            return &cfg->clusters[i];
    }
    return NULL;
}

void config_describe(struct buf *out)
{
    buf_puts(out, "Settings (first document of --config, apiVersion edgecd.io/v1alpha1, kind "
                  "SiteConfig):\n");
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        buf_printf(out, "  %-12s %s (default %s)\n", config_keys[i].name, config_keys[i].help,
                   config_keys[i].def);
    buf_puts(out,
             "  clusters     list of {name, server, kubeconfig, context}: the clusters "
             "Applications name in spec.destination (name defaults to in-cluster, server to "
             "https://kubernetes.default.svc; without kubeconfig, edgecd running in a pod uses its "
             "service account)\n"
             "  mirrors      list of {prefix, mirror, fallback}: a repoURL starting with prefix "
             "is fetched from mirror + the rest of the URL (longest prefix wins); with fallback: "
             "true a failed mirror fetch tries the original URL\n"
             "Further documents: argoproj.io/v1alpha1 Applications, AppProjects and "
             "ApplicationSets registered "
             "at start.\n");
}
