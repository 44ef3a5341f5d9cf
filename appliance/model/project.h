/*
 * Argo CD's AppProject (argoproj.io/v1alpha1) as edgecd reads it, and the
 * four decisions a project makes about its Applications, with Argo CD's
 * rules:
 *   - which repositories they may read (spec.sourceRepos),
 *   - where they may deploy (spec.destinations),
 *   - which kinds they may create (spec.clusterResource* and
 *     spec.namespaceResource* white- and blacklists),
 *   - when they may sync (spec.syncWindows).
 * Parsing resolves everything that could fail (globs, schedules, time
 * zones), so the decisions are pure functions: no I/O, no allocation that
 * outlives the call, callable from any thread on a project nobody is
 * disposing.
 *
 * A wrong field is ERR_INVALID naming it ("site.yaml: project edge:
 * spec.syncWindows[1].schedule: \"0 25 * * *\": hour: 25 is above the
 * maximum 23"). Fields whose restriction edgecd cannot enforce
 * (signatureKeys, permitOnlyProjectScopedClusters) are ERR_UNSUPPORTED
 * rather than ignored; roles, sourceNamespaces, orphanedResources,
 * destinationServiceAccounts and description are kept in the manifest and
 * not acted on.
 */
#ifndef EDGECD_MODEL_PROJECT_H
#define EDGECD_MODEL_PROJECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cron.h"
#include "core/tz.h"

#define PROJECT_DEFAULT "default"
/* Limits on what one project may list (each list) and on one pattern. */
#define PROJECT_MAX_ENTRIES 1024
#define PROJECT_MAX_PATTERN 1024

/* One entry of spec.destinations; a field absent in the manifest is "". A
 * field starting with '!' excludes what its glob matches. */
struct project_destination {
    char *server;
    char *name;
    char *namespace;
};

/* One {group, kind[, name]} entry of a resource list: globs as Go's
 * filepath.Match reads them; name ("" = any) only in the cluster lists. */
struct project_resource {
    char *group;
    char *kind;
    char *name;
};

struct project_resources {
    struct project_resource *items;
    size_t n;
    int set; /* present in the manifest, even as [] (Argo CD tells nil from
              * empty: an empty namespaceResourceWhitelist allows nothing) */
};

enum project_window_kind { PROJECT_WINDOW_ALLOW, PROJECT_WINDOW_DENY };

/* One entry of spec.syncWindows. */
struct project_window {
    enum project_window_kind kind;
    char *schedule;   /* as written */
    char *duration;   /* as written */
    struct cron cron; /* the schedule */
    int64_t seconds;  /* the duration */
    char **applications;
    size_t n_applications;
    char **namespaces;
    size_t n_namespaces;
    char **clusters;
    size_t n_clusters;
    int manual_sync;
    int and_operator; /* every non-empty list must match, not any */
    tz *zone;         /* timeZone; UTC when absent */
};

struct project {
    char *name;
    char **source_repos; /* as written */
    char **source_keys;  /* normalised as Argo CD compares them; "!" kept */
    size_t n_source_repos;
    struct project_destination *destinations;
    size_t n_destinations;
    struct project_resources cluster_whitelist, cluster_blacklist;
    struct project_resources namespace_whitelist, namespace_blacklist;
    struct project_window *windows;
    size_t n_windows;
    json_t *manifest; /* owned reference; NULL for the built-in default */
};

/* Where an Application deploys: its cluster's server URL and name (pass
 * both, as the site config knows the cluster, so that patterns on either
 * match; NULL counts as "") and its namespace (NULL or "" for none). */
struct project_target {
    const char *server;
    const char *name;
    const char *namespace;
};

/* Parse obj (borrowed; a reference is kept in out->manifest). source
 * names where it came from for messages (NULL: none). out is
 * caller-owned: project_dispose releases it, also after a failed parse.
 * ERR_INVALID or ERR_UNSUPPORTED naming the field; ERR_IO when a time
 * zone's file cannot be read. Any thread. */
int project_parse(struct project *out, const json_t *obj, const char *source);

/* The project Argo CD creates when none is named "default": every
 * repository, every destination, every kind. For an Application whose
 * project is "default" when no stored project has that name. Release with
 * project_dispose. */
void project_init_default(struct project *out);

void project_dispose(struct project *p);

/* 1 if obj looks like an AppProject (apiVersion argoproj.io/..., kind
 * AppProject). */
int project_is_project(const json_t *obj);

/* The decisions below return 0 when permitted, else ERR_AUTH with a
 * message that names the project and the rule:
 * "repository https://git.lan/x is not permitted in project edge: no entry
 * of spec.sourceRepos allows it". */

/* repo_url against spec.sourceRepos. Both sides are compared as Argo CD
 * normalises them: trimmed, lower-cased, git@host:path read as
 * ssh://git@host/path, one trailing ".git" removed (a trailing '/' stays);
 * globs with '/' as separator ('*' within one segment, '**' across them,
 * a lone '*' everything). Permitted when an entry allows it and no '!'
 * entry excludes it; an entry "!P" allows whatever P does not match. */
int project_source_permitted(const struct project *p, const char *repo_url);

/* dest against spec.destinations: an entry matches when its server or its
 * name matches (a field is only compared when the target has it) and its
 * namespace matches; '!' negates one field. Permitted when an entry
 * matches and no entry with a '!' field that does not hold excludes it.
 * For a namespaced object, Argo CD also checks the object's own
 * namespace this way. */
int project_destination_permitted(const struct project *p, const struct project_target *dest);

/* A kind (group "" for the core group) against the resource lists.
 * Cluster-scoped kinds need an entry in clusterResourceWhitelist (name,
 * NULL or "", is matched against entries that restrict the name);
 * namespaced kinds are allowed unless namespaceResourceWhitelist is present
 * and does not list them; the blacklists subtract from both. */
int project_resource_permitted(const struct project *p, const char *group, const char *kind,
                               const char *name, int namespaced);

#define PROJECT_MESSAGE_MAX 512

/* What the sync windows say about an Application at one instant. */
struct project_sync_verdict {
    int automatic;                     /* an automated sync may start */
    int manual;                        /* a sync an operator asks for may start */
    char message[PROJECT_MESSAGE_MAX]; /* which window decided and until
                                        * when; "" when no window is active
                                        * and no allow window applies */
};

/* The windows that apply to app_name at dest (a window applies when any of
 * its applications, namespaces or clusters globs matches: all of its
 * non-empty lists with andOperator; clusters match the server or the name),
 * evaluated at now (seconds since the epoch, UTC). A window is active from
 * each time its schedule fires, in its timeZone, for its duration. Argo
 * CD's rules: no window applies: both allowed; an active deny blocks both,
 * except that manual syncs are allowed when every active deny has
 * manualSync; else an active allow allows both; else, when allows apply
 * but none is active, both are blocked, except that manual syncs are
 * allowed when every one of those allows has manualSync. */
void project_sync_window(struct project_sync_verdict *out, const struct project *p,
                         const char *app_name, const struct project_target *dest, int64_t now);

#endif
