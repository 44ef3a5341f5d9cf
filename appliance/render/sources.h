/*
 * An Application's sources (spec.source, or every entry of spec.sources)
 * opened at their revisions and rendered together, as Argo CD renders a
 * multi-source Application: each source is read from its own repository
 * and revision, the objects of all sources are concatenated in source
 * order, and a source with `ref: NAME` lends its files to Helm value files
 * of the others ("$NAME/path/values.yaml"); a ref source without a path
 * renders nothing itself.
 *
 * Opening does the Git work (each repository fetched once, each revision
 * resolved), so a caller can learn the commits before deciding whether to
 * render at all (the engine's render cache). A render_sources belongs to
 * one thread.
 */
#ifndef EDGECD_RENDER_SOURCES_H
#define EDGECD_RENDER_SOURCES_H

#include <jansson.h>
#include <stddef.h>

#include "render/render.h"

typedef struct render_sources render_sources;

/* Bring the mirror m of url up to date (the engine's fetch applies mirror
 * rules, credentials and fallback). NULL: read the mirrors as they are. */
typedef int (*render_fetch_fn)(void *ctx, mirror *m, const char *url);

/* At most this many sources in one Application. */
#define RENDER_SOURCES_MAX 16

/* Open sources (a JSON array of source objects, borrowed: it must outlive
 * *out) from the mirrors under mirrors_dir. With fetch, each distinct
 * repoURL is fetched once first (a mirror that cannot be fetched from here,
 * one fed by bundles, is used as it is). Errors name the source
 * ("spec.sources[1]: ...") and the repository or revision. */
int render_sources_open(render_sources **out, const json_t *sources, const char *mirrors_dir,
                        render_fetch_fn fetch, void *fetch_ctx);

/* The fetch `edgecd render` uses: mirror_fetch, anonymous, and a mirror
 * that cannot be fetched from here (ssh, one fed by bundles) is used as it
 * is. ctx is unused. */
int render_sources_fetch_plain(void *ctx, mirror *m, const char *url);
void render_sources_free(render_sources *rs);

/* The commit of every source, comma-separated in source order ("sha" for
 * one source): what the Application is at. Borrowed. */
const char *render_sources_revision(const render_sources *rs);

/* Render every source (req's dest namespace, scope, app name and helm
 * settings apply to all; req->source, refs and path are set here) into a
 * new JSON array. An object rendered by two sources is an error naming
 * both. */
int render_sources_render(json_t **out_objects, render_sources *rs,
                          const struct render_request *req);

#endif
