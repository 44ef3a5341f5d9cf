/*
 * ApplicationSet generators: from a parsed ApplicationSet to the
 * Applications it generates, with Argo CD's parameter names.
 *
 *   list      elements (and elementsYaml) as they are; in fasttemplate
 *             mode every value must be a string, except the `values` map
 *   git       directories: path, path.basename, path.basenameNormalized,
 *             path[N] (goTemplate: .path.path, .path.basename,
 *             .path.basenameNormalized, .path.segments); files: the file's
 *             content (flattened with dots in fasttemplate mode, nested in
 *             goTemplate mode) and the same path parameters plus
 *             path.filename and path.filenameNormalized
 *   clusters  the clusters of the site config: name, nameNormalized,
 *             server, project ("")
 *   matrix    every pair of the two generators' parameter sets; the second
 *             generator may use the first's parameters
 *   merge     the first generator's sets, each overlaid by the sets of the
 *             others with equal mergeKeys
 *
 * and `values` (git, clusters), templated with the set's parameters.
 * Each set renders the template (spec.template with the generator's own
 * template merged over it) into one Application.
 *
 * Generators read Git and the clusters only through struct appgen_env, so
 * they can be tested on a folder. A generator that cannot run (a fetch, a
 * template, a duplicate name) fails the whole evaluation: the caller then
 * changes no generated app.
 */
#ifndef EDGECD_ENGINE_APPGEN_H
#define EDGECD_ENGINE_APPGEN_H

#include <jansson.h>
#include <stddef.h>

#include "model/appset.h"
#include "model/config.h"
#include "render/fs.h"

/* At most this many parameter sets from one generator (a matrix of two
 * large generators multiplies), and folders or files a git generator
 * looks at. */
#define APPGEN_MAX_SETS 5000
#define APPGEN_MAX_PATHS 20000

struct appgen_env {
    /* The tree of repo_url at revision ("" = HEAD): *out (the caller
     * frees it with render_fs_free, before the env's ctx goes) and its
     * commit. */
    int (*open)(void *ctx, const char *repo_url, const char *revision, render_fs **out,
                char sha[41]);
    void *ctx;
    const struct config_cluster *clusters;
    size_t n_clusters;
};

/* The Applications appset generates: a new array of manifests (apiVersion,
 * kind, metadata, spec as the template renders them; not yet checked by
 * app_parse), in generator order. *out_revisions (may be NULL) gets a new
 * object {repoURL: commit} of the repositories the git generators read.
 * Errors name the generator ("spec.generators[1].git: ...") and, for a
 * template, the parameter set. */
int appgen_applications(json_t **out, const struct appset *as, const struct appgen_env *env,
                        json_t **out_revisions);

/* The parameter sets of one generator (for tests and `appset get`): a new
 * array of parameter objects. */
int appgen_params(json_t **out, const json_t *generator, const struct appset *as,
                  const struct appgen_env *env, const char *where);

/* 1 if a git generator of appset (at any depth) reads repo_key (a URL
 * normalised by the caller's key function), else 0. */
int appgen_uses_repo(const struct appset *as, const char *repo_url, char *(*key)(const char *url));

#endif
