/*
 * Multiple sources. Mirrors are shared by URL and file views by URL and
 * commit, in small arrays (an Application has at most RENDER_SOURCES_MAX
 * sources, so a linear search is the whole index).
 */
#include "render/sources.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "git/mirror.h"

struct render_sources_repo {
    const char *url; /* borrowed from the sources */
    mirror *m;
};

struct render_sources_one {
    const json_t *spec; /* borrowed */
    size_t repo;        /* index into repos */
    char sha[41];
    render_fs *fs; /* borrowed from an earlier source with the same repo and sha, or owned */
    int owns_fs;
    char at[48]; /* "spec.source" or "spec.sources[N]" */
};

struct render_sources {
    struct render_sources_repo repos[RENDER_SOURCES_MAX];
    size_t n_repos;
    struct render_sources_one src[RENDER_SOURCES_MAX];
    size_t n;
    struct render_ref refs[RENDER_SOURCES_MAX];
    size_t n_refs;
    char *revision;
};

int render_sources_fetch_plain(void *ctx, mirror *m, const char *url)
{
    int downloaded = 0, rc = mirror_fetch_from(m, NULL, NULL, &downloaded);

    (void)ctx;
    if (rc == ERR_UNSUPPORTED) {
        /* a mirror only bundles fill: render what it holds */
        log_debug("%s", err_last());
        err_clear();
        rc = 0;
    } else if (rc == 0 && !downloaded) {
        log_debug("%s: refs unchanged, nothing downloaded", url);
    }
    return rc;
}

static int render_sources_repo(render_sources *rs, const char *url, const char *mirrors_dir,
                               render_fetch_fn fetch, void *fetch_ctx, size_t *index)
{
    struct render_sources_repo *r;
    int rc;

    for (*index = 0; *index < rs->n_repos; (*index)++)
        if (!strcmp(rs->repos[*index].url, url))
            return 0;
    r = &rs->repos[rs->n_repos];
    if ((rc = mirror_open(&r->m, mirrors_dir, url)) < 0)
        return rc;
    r->url = url;
    rs->n_repos++;
    return fetch ? fetch(fetch_ctx, r->m, url) : 0;
}

/* One source: its mirror, commit and file view. */
static int render_sources_add(render_sources *rs, const json_t *spec, const char *mirrors_dir,
                              render_fetch_fn fetch, void *fetch_ctx)
{
    struct render_sources_one *s = &rs->src[rs->n];
    const char *url = doc_get_str(spec, "repoURL");
    const char *rev = doc_get_str(spec, "targetRevision");
    const char *ref = doc_get_str(spec, "ref");
    size_t i;
    int rc;

    if (!json_is_object(spec))
        return err_set(ERR_INVALID, "must be a mapping");
    if (!url || !url[0])
        return err_set(ERR_INVALID, "repoURL: missing");
    s->spec = spec;
    rs->n++;
    if ((rc = render_sources_repo(rs, url, mirrors_dir, fetch, fetch_ctx, &s->repo)) < 0)
        return rc;
    if ((rc = mirror_resolve(rs->repos[s->repo].m, rev ? rev : "HEAD", s->sha)) < 0)
        return rc;
    for (i = 0; i + 1 < rs->n; i++)
        if (rs->src[i].repo == s->repo && !strcmp(rs->src[i].sha, s->sha)) {
            s->fs = rs->src[i].fs;
            break;
        }
    if (!s->fs) {
        if ((rc = render_fs_mirror(&s->fs, rs->repos[s->repo].m, s->sha, NULL)) < 0)
            return rc;
        s->owns_fs = 1;
    }
    if (ref && ref[0]) {
        for (i = 0; i < rs->n_refs; i++)
            if (!strcmp(rs->refs[i].name, ref))
                return err_set(ERR_INVALID, "ref: \"%s\" names two sources", ref);
        rs->refs[rs->n_refs].name = ref;
        rs->refs[rs->n_refs].fs = s->fs;
        rs->n_refs++;
    }
    return 0;
}

int render_sources_open(render_sources **out, const json_t *sources, const char *mirrors_dir,
                        render_fetch_fn fetch, void *fetch_ctx)
{
    render_sources *rs;
    struct buf rev = BUF_INIT;
    const json_t *spec;
    size_t i, n = json_array_size(sources);
    int rc = 0;

    *out = NULL;
    if (!json_is_array(sources) || n == 0)
        return err_set(ERR_INVALID, "spec.sources: must be a non-empty list");
    if (n > RENDER_SOURCES_MAX)
        return err_set(ERR_TOOLARGE, "spec.sources: more than %d sources (limit)",
                       RENDER_SOURCES_MAX);
    rs = xcalloc(1, sizeof(*rs));
    json_array_foreach(sources, i, spec)
    {
        if ((rc = render_sources_add(rs, spec, mirrors_dir, fetch, fetch_ctx)) < 0) {
            if (n == 1)
                err_prefix(rc, "spec.source");
            else
                err_prefix(rc, "spec.sources[%zu]", i);
            goto out;
        }
        if (n == 1)
            snprintf(rs->src[i].at, sizeof(rs->src[i].at), "spec.source");
        else
            snprintf(rs->src[i].at, sizeof(rs->src[i].at), "spec.sources[%zu]", i);
        buf_printf(&rev, "%s%s", i ? "," : "", rs->src[i].sha);
    }
    rs->revision = buf_detach(&rev);
    *out = rs;
    rs = NULL;
out:
    buf_dispose(&rev);
    render_sources_free(rs);
    return rc;
}

void render_sources_free(render_sources *rs)
{
    size_t i;

    if (!rs)
        return;
    for (i = 0; i < rs->n; i++)
        if (rs->src[i].owns_fs)
            render_fs_free(rs->src[i].fs);
    for (i = 0; i < rs->n_repos; i++)
        mirror_free(rs->repos[i].m);
    free(rs->revision);
    free(rs);
}

const char *render_sources_revision(const render_sources *rs)
{
    return rs->revision;
}

/* "group/kind/namespace/name" of a rendered object. */
static char *render_sources_key(const json_t *obj)
{
    const char *api = doc_get_str(obj, "apiVersion"), *slash = strchr(api, '/');
    const char *ns = doc_get_str(obj, "metadata.namespace");

    return xasprintf("%.*s/%s/%s/%s", slash ? (int)(slash - api) : 0, api, doc_get_str(obj, "kind"),
                     ns ? ns : "", doc_get_str(obj, "metadata.name"));
}

int render_sources_render(json_t **out_objects, render_sources *rs,
                          const struct render_request *req)
{
    json_t *all = json_array(), *seen = json_object(), *objs = NULL, *obj;
    struct render_request r = *req;
    size_t i, k;
    int rc = 0;

    *out_objects = NULL;
    r.refs = rs->refs;
    r.n_refs = rs->n_refs;
    for (i = 0; i < rs->n; i++) {
        const struct render_sources_one *s = &rs->src[i];
        const char *ref = doc_get_str(s->spec, "ref");
        const json_t *path = json_object_get(s->spec, "path");

        /* a ref source without a path only lends its files */
        if (ref && ref[0] && (!json_is_string(path) || !json_string_length(path)))
            continue;
        r.source = render_fs_name(s->fs);
        if ((rc = render_source(&objs, s->fs, s->spec, &r)) < 0) {
            if (rs->n > 1)
                err_prefix(rc, "%s", s->at);
            goto out;
        }
        json_array_foreach(objs, k, obj)
        {
            char *key = render_sources_key(obj);
            const json_t *first = json_object_get(seen, key);
            if (first) {
                const char *ns = doc_get_str(obj, "metadata.namespace");
                rc = err_set(ERR_INVALID, "%s %s%s%s is rendered by both %s and %s",
                             doc_get_str(obj, "kind"), ns ? ns : "", ns ? "/" : "",
                             doc_get_str(obj, "metadata.name"), json_string_value(first), s->at);
                free(key);
                goto out;
            }
            json_object_set_new(seen, key, json_string(s->at));
            free(key);
            json_array_append(all, obj);
        }
        json_decref(objs);
        objs = NULL;
    }
    *out_objects = all;
    all = NULL;
out:
    json_decref(objs);
    json_decref(all);
    json_decref(seen);
    return rc;
}
