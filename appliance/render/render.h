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
#include "render/fs.h"

/* Set *namespaced to 1/0 for apiVersion+kind. Return 0, ERR_NOTFOUND if
 * the kind is unknown (render then treats it as namespaced), or another
 * error to abort rendering. */
typedef int (*render_scope_fn)(void *ctx, const char *api_version, const char *kind,
                               int *namespaced);

/* A source of an Application with `ref: name`: Helm value files of other
 * sources name its files as "$name/path/in/its/repository". */
struct render_ref {
    const char *name;
    render_fs *fs;
};

struct render_request {
    const char *source;         /* names the input in errors, e.g. "url@sha" */
    const char *path;           /* the folder the files were read from */
    const char *dest_namespace; /* may be NULL or "" */
    render_scope_fn scope;      /* may be NULL: every kind namespaced */
    void *scope_ctx;
    const char *app_name;           /* Helm's default release name; may be NULL */
    const char *helm_binary;        /* path of helm; NULL or "": look for helm on PATH */
    const char *kustomize_binary;   /* kustomize or kubectl; NULL or "": built-in Kustomize */
    long kustomize_timeout_seconds; /* 0: 60 */
    long helm_timeout_seconds;      /* 0: 60 */
    const struct render_ref *refs;  /* the Application's ref sources; may be NULL */
    size_t n_refs;
};

/* Render files (as read by render_collect) into a new JSON array of
 * objects, in file order then document order. */
int render_directory(json_t **out_objects, const struct mirror_files *files,
                     const struct render_request *req);

/* Render an Argo CD source (an Application's spec.source object,
 * borrowed) from fs into a new JSON array of desired objects. The kind of
 * source is chosen as Argo CD does: a `kustomize` field or a
 * kustomization.yaml / kustomization.yml / Kustomization file in the path
 * means Kustomize, otherwise a directory (with source.directory's
 * options). req->path is ignored; the source's `path` (default ".") is
 * used. Errors name the source, file and field. */
int render_source(json_t **out_objects, render_fs *fs, const json_t *source,
                  const struct render_request *req);

/* Read the manifest files under dir of fs (hidden files and folders
 * skipped; subfolders with recurse) into files, in path order, for
 * render_directory. */
int render_collect(struct mirror_files *files, render_fs *fs, const char *dir, int recurse);

/* Build the kustomization in folder dir of fs (kustomization.yaml,
 * kustomization.yml or Kustomization) with edgecd's built-in Kustomize
 * into a new JSON array of raw objects (pass them through render_objects).
 * overrides: an Application's spec.source.kustomize (borrowed, may be
 * NULL), applied to the root kustomization as `kustomize edit` would.
 * ERR_UNSUPPORTED names a field this implementation does not cover. */
int render_kustomize(json_t **out_objects, render_fs *fs, const char *dir, const json_t *overrides,
                     const struct render_request *req);

/* Render the Helm chart in folder dir of fs with an external `helm
 * template` into a new JSON array of raw objects. helm: an Application's
 * spec.source.helm (borrowed, may be NULL). The chart and value files are
 * copied out of fs into a fresh private folder, which is helm's working
 * directory and home; helm runs with a cleared environment, no network
 * configuration and a time limit, and its output is size-limited.
 * ERR_UNSUPPORTED when no helm binary is found, ERR_TIMEOUT when it runs
 * too long, ERR_INVALID with helm's own message when it fails. */
int render_helm(json_t **out_objects, render_fs *fs, const char *dir, const json_t *helm,
                const struct render_request *req);

/* 1 if folder dir of fs holds a kustomization file. */
int render_kustomize_present(render_fs *fs, const char *dir);

/* kustomize's 10-character content hash of a generated ConfigMap or
 * Secret (the suffix of its name). */
void render_kustomize_hash(const json_t *obj, char out[11]);

/* Validate, namespace and de-duplicate objects that a renderer produced
 * (raw, borrowed: a JSON array of objects) into a new array of private
 * copies, as render_directory does for files. where names the producer
 * for messages ("kustomization apps/prod"). */
int render_objects(json_t **out_objects, const json_t *raw, const char *where,
                   const struct render_request *req);

#endif
