/*
 * The site configuration that `edgecd serve --config FILE` reads: one YAML
 * stream whose first document is edgecd's own settings (kind SiteConfig)
 * and whose further documents are Argo CD Applications (AppProjects,
 * ApplicationSets) to register at
 * start (the site's root apps). Settings are described by one table (name,
 * type, default, bounds, help) that both the parser and `edgecd serve
 * --help` use.
 *
 *   apiVersion: edgecd.io/v1alpha1
 *   kind: SiteConfig
 *   listen: 127.0.0.1:8080
 *   pollSeconds: 180
 *   clusters:
 *     - name: in-cluster
 *       server: https://kubernetes.default.svc
 *       kubeconfig: /etc/rancher/k3s/k3s.yaml
 *   ---
 *   apiVersion: argoproj.io/v1alpha1
 *   kind: Application
 *   ...
 */
#ifndef EDGECD_MODEL_CONFIG_H
#define EDGECD_MODEL_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "model/rbac.h"
#include "model/settings.h"

struct config_cluster {
    char *name;       /* what destination.name matches; default "in-cluster" */
    char *server;     /* what destination.server matches; default
                         "https://kubernetes.default.svc" */
    char *kubeconfig; /* how edgecd reaches it (resolved against the config
                       * file's folder); NULL: the in-cluster service account */
    char *context;    /* NULL = the kubeconfig's current context */
};

/* A mirror rewrite rule: a repoURL starting with prefix is fetched from
 * mirror + the rest of the URL (git's insteadOf). */
struct config_mirror {
    char *prefix;
    char *mirror;
    int fallback; /* on a failed mirror fetch, try the original URL */
};

struct config {
    char *listen;                     /* API listen address */
    char *tls_cert_file;              /* "" = generated; else resolved against the config file */
    char *tls_key_file;               /* set exactly when tls_cert_file is */
    int insecure_http;                /* plain HTTP (behind a TLS-terminating proxy) */
    char *http_redirect_listen;       /* "" or the plain port that redirects to HTTPS */
    long max_connections_per_address; /* API connections one client address may hold */
    long poll_seconds;                /* reconcile interval */
    long poll_jitter_seconds;         /* random extra per poll, 0..this */
    char *log_level;
    char *helm_binary;                 /* "" = helm on PATH */
    long helm_timeout_seconds;         /* per helm template */
    char *kustomize_binary;            /* "" = the built-in Kustomize */
    long kustomize_timeout_seconds;    /* per external kustomize build */
    long sync_wave_delay_seconds;      /* between sync waves */
    long max_events;                   /* events kept in the store */
    long render_cache_entries;         /* engine's render cache size; 0 = off */
    long full_compare_seconds;         /* longest run of settled passes; 0 = none */
    char *bootstrap;                   /* "" or REPO[@REV]:PATH of the root app */
    char *settings_file;               /* argocd-cm path, resolved against the config
                                        * file's folder; "" = none */
    struct settings *settings;         /* read from settings_file; NULL without one */
    char *rbac_config_file;            /* argocd-rbac-cm path, resolved; "" = none */
    rbac *rbac;                        /* read from rbac_config_file; NULL without one */
    long session_idle_seconds;         /* browser session idle expiry */
    long session_max_seconds;          /* browser session absolute expiry */
    char *secrets_file;                /* argocd-secret path, resolved like settings_file;
                                        * "" = none (read by serve, see model/secrets.h) */
    char *self_backup_schedule;        /* cron or @daily; "" = no self-backups */
    long self_backup_keep;             /* per location */
    char *self_backup_location;        /* a folder (resolved), or an S3 location's
                                        * name or s3:// URL as written; "" =
                                        * <data>/backups/self */
    char *self_backup_second_location; /* the same; "" = none */
    char *self_backup_passphrase_file; /* resolved; "" = none */
    char *self_backup_key_file;        /* resolved; "" = none */
    struct config_cluster *clusters;
    size_t n_clusters;
    struct config_mirror *mirrors; /* rewrite rules, as listed */
    size_t n_mirrors;
    json_t *backup_locations; /* backupLocations as written (owned; NULL if absent):
                               * S3 backup locations, read by backup/s3.h */
    json_t *applications;     /* owned JSON array of Application manifests */
    json_t *projects;         /* the AppProject documents, in order */
    json_t *appsets;          /* the ApplicationSet documents, in order */
};

/* Load and validate path. Errors are ERR_INVALID/ERR_NOTFOUND naming the
 * file and field ("site.yaml: clusters[0].context: needs a kubeconfig"). out is
 * caller-owned; config_dispose also after a failure. */
int config_load(struct config *out, const char *path);
void config_dispose(struct config *cfg);

/* The cluster an Application's destination names (by server, or by name
 * when server is NULL); NULL if none. Borrowed from cfg. */
const struct config_cluster *config_find_cluster(const struct config *cfg, const char *server,
                                                 const char *name);

/* The rule whose prefix is the longest one url starts with, or NULL.
 * With a rule, *out_url is the new URL to fetch (caller frees), else
 * NULL. */
const struct config_mirror *config_rewrite_url(const struct config *cfg, const char *url,
                                               char **out_url);

/* The settings table as text for --help. Appended to out. */
void config_describe(struct buf *out);

#endif
