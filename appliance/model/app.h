/*
 * Argo CD's Application (argoproj.io/v1alpha1) as edgecd reads it: parse,
 * default, validate. Unknown fields are kept in `manifest` but not acted
 * on. A wrong or missing field is ERR_INVALID with a message naming the
 * field: "<source>: spec.destination: needs server or name".
 */
#ifndef EDGECD_MODEL_APP_H
#define EDGECD_MODEL_APP_H

#include <jansson.h>

/* Limits on what an Application may ask for. */
#define APP_MAX_SOURCES 16
#define APP_MAX_REF 63

/* One source: spec.source, or one entry of spec.sources. */
struct app_source {
    char *repo_url;
    char *target_revision; /* default "HEAD" */
    char *path;            /* NULL only for a ref source without a path
                            * (it provides files, renders nothing);
                            * otherwise default "." */
    char *ref;             /* NULL unless `ref: NAME` (spec.sources only) */
    int recurse;           /* directory.recurse */
    const json_t *spec;    /* the source object, borrowed from manifest */
};

struct app {
    char *name;
    char *project; /* default "default" */
    /* spec.source, or spec.sources in order (exactly one of the two may
     * be given; ref names are unique); at most APP_MAX_SOURCES */
    struct app_source *sources;
    size_t n_sources;
    /* the first source's repoURL, targetRevision, path ("." also for a
     * ref-only source) and directory.recurse */
    char *repo_url;
    char *target_revision;
    char *path;
    int recurse;
    char *dest_server; /* NULL when dest_name is set */
    char *dest_name;
    char *dest_namespace; /* may be NULL */
    int automated;        /* syncPolicy.automated present */
    int prune;
    int self_heal;
    int create_namespace; /* syncOptions CreateNamespace=true */
    /* syncPolicy.managedNamespaceMetadata ({labels, annotations}, maps of
     * strings), borrowed from manifest; NULL when absent */
    const json_t *managed_ns_metadata;
    json_t *manifest; /* owned reference to the parsed object */
};

/* Parse obj (borrowed; a reference is taken into out->manifest). source
 * names where it came from for error messages. out is caller-owned:
 * app_dispose releases it, also after a failed parse. */
int app_parse(struct app *out, const json_t *obj, const char *source);
void app_dispose(struct app *a);

/* The root Application of `edgecd serve --bootstrap REPO[@REV]:PATH`: a
 * new Application named name of REPO at REV (default HEAD) and PATH, to
 * the cluster named cluster (namespace default), syncing automatically
 * with prune and selfHeal. REPO may hold ':' (https://host:port/x.git),
 * so PATH is what follows the last ':'; REV follows an '@' after REPO's
 * last '/'. ERR_INVALID naming the form when PATH is missing. */
int app_bootstrap(json_t **out, const char *spec, const char *name, const char *cluster);

/* 1 if obj looks like an Application (apiVersion argoproj.io/..., kind
 * Application). */
int app_is_application(const json_t *obj);

#endif
