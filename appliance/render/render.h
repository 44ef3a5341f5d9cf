/*
 * Rendering a directory source: the `.yaml`, `.yml` and `.json` files of a
 * folder (hidden files and other extensions skipped) become desired
 * Kubernetes objects. `kind: List` is flattened. Namespaced kinds without a
 * namespace get the destination namespace; whether a kind is namespaced is
 * asked of a callback (discovery), so render does not depend on kube/.
 *
 * Each object must have apiVersion, kind and metadata.name; two objects
 * with the same group/kind/namespace/name are an error. Errors name the
 * source and file ("repo@abc1234:apps/cm.yaml:3:1: ...").
 */
#ifndef EDGECD_RENDER_RENDER_H
#define EDGECD_RENDER_RENDER_H

#include <jansson.h>

#include "git/mirror.h"

/* Set *namespaced to 1/0 for apiVersion+kind. Return 0, ERR_NOTFOUND if
 * the kind is unknown (render then treats it as namespaced), or another
 * error to abort rendering. */
typedef int (*render_scope_fn)(void *ctx, const char *api_version, const char *kind,
                               int *namespaced);

struct render_request {
    const char *source;         /* names the input in errors, e.g. "url@sha" */
    const char *path;           /* the folder the files were read from */
    const char *dest_namespace; /* may be NULL or "" */
    render_scope_fn scope;      /* may be NULL: every kind namespaced */
    void *scope_ctx;
};

/* Render files (as read by mirror_read_dir) into a new JSON array of
 * objects, in file order then document order. */
int render_directory(json_t **out_objects, const struct mirror_files *files,
                     const struct render_request *req);

#endif
