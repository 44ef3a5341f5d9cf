/*
 * Argo CD's Application (argoproj.io/v1alpha1) as edgecd reads it: parse,
 * default, validate. Unknown fields are kept in `manifest` but not acted
 * on. A wrong or missing field is ERR_INVALID with a message naming the
 * field: "<source>: spec.destination: needs server or name".
 */
#ifndef EDGECD_MODEL_APP_H
#define EDGECD_MODEL_APP_H

#include <jansson.h>

struct app {
    char *name;
    char *project; /* default "default" */
    char *repo_url;
    char *target_revision; /* default "HEAD" */
    char *path;            /* default "." */
    int recurse;           /* source.directory.recurse */
    char *dest_server;     /* NULL when dest_name is set */
    char *dest_name;
    char *dest_namespace; /* may be NULL */
    int automated;        /* syncPolicy.automated present */
    int prune;
    int self_heal;
    int create_namespace; /* syncOptions CreateNamespace=true */
    json_t *manifest;     /* owned reference to the parsed object */
};

/* Parse obj (borrowed; a reference is taken into out->manifest). source
 * names where it came from for error messages. out is caller-owned:
 * app_dispose releases it, also after a failed parse. */
int app_parse(struct app *out, const json_t *obj, const char *source);
void app_dispose(struct app *a);

/* 1 if obj looks like an Application (apiVersion argoproj.io/..., kind
 * Application). */
int app_is_application(const json_t *obj);

#endif
