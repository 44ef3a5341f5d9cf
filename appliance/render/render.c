/*
 * Directory rendering, the way Argo CD's directory source does it: every
 * non-hidden .yaml/.yml/.json file below the folder, dotfiles and
 * dot-folders skipped, `kind: List` flattened, null documents ignored.
 *
 * Every object in the result is a private deep copy. The document model
 * may share one node between several places (a YAML alias), and both the
 * namespace fill here and the tracking labels added later mutate objects;
 * copying once here means no caller has to think about sharing.
 *
 * Duplicates are found with a jansson object used as a hash set keyed by
 * "group/kind/namespace/name", whose value remembers where the first copy
 * came from, so the error can name both files.
 */
#include "render/render.h"

#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"
#include "core/glob.h"

struct render_ctx {
    const struct render_request *req;
    const char *source;
    json_t *out;  /* the result array */
    json_t *seen; /* identity key -> "path document N" */
};

/* 1 for a file render reads: a manifest extension, and no hidden
 * component in the part of the path below the requested folder. */
static int render_wanted(const char *path, const char *base)
{
    const char *rel = path, *name, *p;
    size_t blen;

    /* The requested folder itself may be hidden (".argocd/apps"): the
     * operator asked for it by name. */
    while (str_has_prefix(base, "./"))
        base += 2;
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (blen > 0 && !(blen == 1 && base[0] == '.') && strncmp(path, base, blen) == 0 &&
        path[blen] == '/')
        rel = path + blen + 1;
    p = rel;
    while (*p) {
        if (*p == '.')
            return 0;
        p += strcspn(p, "/");
        if (*p == '/')
            p++;
    }
    name = strrchr(path, '/');
    name = name ? name + 1 : path;
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml") ||
           str_has_suffix(name, ".json");
}

/* A required non-empty string field; ERR_INVALID naming it otherwise. */
static int render_need_str(const json_t *obj, const char *dotted, const char **out)
{
    json_t *v = doc_get(obj, dotted);

    *out = NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return err_set(ERR_INVALID, "%s: missing", dotted);
    if (!json_is_string(v))
        return err_set(ERR_INVALID, "%s: must be a string", dotted);
    *out = json_string_value(v);
    return 0;
}

/* Validate one object, fill its namespace, check it is not a duplicate and
 * append a copy to the result. where: "path document N[ items[K]]". */
static int render_object(struct render_ctx *c, const json_t *obj, const char *where)
{
    const struct render_request *req = c->req;
    const char *api_version, *kind, *name, *ns, *slash, *first;
    json_t *copy = NULL, *nsv;
    char *key = NULL;
    int rc, namespaced = 1;

    if (!json_is_object(obj)) {
        rc = err_set(ERR_INVALID, "must be a mapping with apiVersion, kind and metadata");
        goto out;
    }
    if ((rc = render_need_str(obj, "apiVersion", &api_version)) < 0 ||
        (rc = render_need_str(obj, "kind", &kind)) < 0)
        goto out;
    if (!json_is_object(json_object_get(obj, "metadata"))) {
        rc = err_set(ERR_INVALID, "metadata: %s",
                     json_object_get(obj, "metadata") ? "must be a mapping" : "missing");
        goto out;
    }
    /* hooks may be named by generateName, as in Argo CD (a new object
     * each run); anything else needs a name */
    if (!doc_get(obj, "metadata.name") && doc_get_str(obj, "metadata.generateName") &&
        (doc_get_str(obj, "metadata.annotations.argocd.argoproj.io/hook") ||
         doc_get_str(obj, "metadata.annotations.helm.sh/hook")))
        rc = render_need_str(obj, "metadata.generateName", &name);
    else
        rc = render_need_str(obj, "metadata.name", &name);
    if (rc < 0)
        goto out;
    nsv = doc_get(obj, "metadata.namespace");
    if (nsv && !json_is_null(nsv) && !json_is_string(nsv)) {
        rc = err_set(ERR_INVALID, "metadata.namespace: must be a string");
        goto out;
    }
    copy = json_deep_copy(obj);
    if (!copy) {
        rc = err_set(ERR_GENERIC, "copying object: out of memory");
        goto out;
    }
    ns = doc_get_str(copy, "metadata.namespace");
    if (!ns || !ns[0]) {
        if (req->scope) {
            rc = req->scope(req->scope_ctx, api_version, kind, &namespaced);
            /* an unknown kind (a CRD not installed yet) is assumed
             * namespaced, as most are; the apply will tell otherwise */
            if (rc == ERR_NOTFOUND)
                namespaced = 1;
            else if (rc < 0)
                goto out;
        }
        rc = 0;
        if (namespaced && req->dest_namespace && req->dest_namespace[0])
            doc_set_new(copy, "metadata.namespace", json_string(req->dest_namespace));
        ns = doc_get_str(copy, "metadata.namespace");
    }
    slash = strchr(api_version, '/');
    key = xasprintf("%.*s/%s/%s/%s", slash ? (int)(slash - api_version) : 0, api_version, kind,
                    ns ? ns : "", name);
    first = json_string_value(json_object_get(c->seen, key));
    if (first) {
        rc = err_set(ERR_INVALID, "%s %s%s%s is defined twice: first in %s", kind, ns ? ns : "",
                     ns ? "/" : "", name, first);
        goto out;
    }
    json_object_set_new(c->seen, key, json_string(where));
    json_array_append_new(c->out, copy);
    copy = NULL;
out:
    json_decref(copy);
    free(key);
    return rc;
}

static int render_file(struct render_ctx *c, const struct mirror_file *f)
{
    json_t *docs = NULL, *doc, *items, *item;
    char *name = xasprintf("%s:%s", c->source, f->path);
    char *where = NULL;
    size_t i, k;
    int rc;

    if ((rc = doc_parse_file_data(&docs, f->data, f->len, name, NULL)) < 0)
        goto out;
    json_array_foreach(docs, i, doc)
    {
        if (json_is_null(doc))
            continue;
        if (json_is_object(doc) && json_is_string(json_object_get(doc, "kind")) &&
            strcmp(json_string_value(json_object_get(doc, "kind")), "List") == 0) {
            items = json_object_get(doc, "items");
            if (items && !json_is_null(items) && !json_is_array(items)) {
                rc = err_set(ERR_INVALID, "%s: document %zu: items: must be a list", name, i + 1);
                goto out;
            }
            json_array_foreach(items, k, item)
            {
                if (json_is_null(item))
                    continue;
                free(where);
                where = xasprintf("%s document %zu items[%zu]", f->path, i + 1, k);
                if ((rc = render_object(c, item, where)) < 0) {
                    err_prefix(rc, "%s: document %zu: items[%zu]", name, i + 1, k);
                    goto out;
                }
            }
            continue;
        }
        free(where);
        where = xasprintf("%s document %zu", f->path, i + 1);
        if ((rc = render_object(c, doc, where)) < 0) {
            err_prefix(rc, "%s: document %zu", name, i + 1);
            goto out;
        }
    }
out:
    json_decref(docs);
    free(where);
    free(name);
    return rc;
}

int render_directory(json_t **out_objects, const struct mirror_files *files,
                     const struct render_request *req)
{
    struct render_ctx c;
    size_t i;
    int rc = 0;

    *out_objects = NULL;
    c.req = req;
    c.source = req->source ? req->source : "";
    c.out = json_array();
    c.seen = json_object();
    for (i = 0; i < files->n; i++) {
        if (!render_wanted(files->v[i].path, req->path ? req->path : ""))
            continue;
        if ((rc = render_file(&c, &files->v[i])) < 0)
            goto out;
    }
    *out_objects = c.out;
    c.out = NULL;
out:
    json_decref(c.out);
    json_decref(c.seen);
    return rc;
}

/* ---- sources read through a render_fs ---- */

static int render_manifest_name(const char *name)
{
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml") ||
           str_has_suffix(name, ".json");
}

struct render_collector {
    render_fs *fs;
    struct mirror_files *files;
    size_t cap;
    int recurse;
};

/* Depth-first in name order, which is path order. Folders nested deeper
 * than RENDER_MAX_DEPTH are refused so a hostile tree cannot exhaust the
 * stack. */
#define RENDER_MAX_DEPTH 64

static int render_collect_dir(struct render_collector *c, const char *dir, int depth)
{
    render_entry *v = NULL;
    size_t n = 0, i;
    int rc;

    if (depth > RENDER_MAX_DEPTH)
        return err_set(ERR_TOOLARGE, "%s: folders nested deeper than %d", dir, RENDER_MAX_DEPTH);
    if ((rc = render_fs_list(c->fs, dir, &v, &n)) < 0)
        return rc;
    for (i = 0; i < n && rc == 0; i++) {
        char *path;
        if (v[i].name[0] == '.')
            continue;
        if (v[i].type == RENDER_ENTRY_DIR && !c->recurse)
            continue;
        if (v[i].type == RENDER_ENTRY_FILE && !render_manifest_name(v[i].name))
            continue;
        path = dir[0] ? xasprintf("%s/%s", dir, v[i].name) : xstrdup(v[i].name);
        if (v[i].type == RENDER_ENTRY_DIR) {
            rc = render_collect_dir(c, path, depth + 1);
            free(path);
            continue;
        }
        if (c->files->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->files->v = xrealloc(c->files->v, c->cap * sizeof(*c->files->v));
        }
        c->files->v[c->files->n].path = path;
        rc = render_fs_read(c->fs, path, &c->files->v[c->files->n].data,
                            &c->files->v[c->files->n].len);
        if (rc < 0) {
            free(path);
            break;
        }
        c->files->n++;
    }
    render_entries_free(v, n);
    return rc;
}

int render_collect(struct mirror_files *files, render_fs *fs, const char *dir, int recurse)
{
    struct render_collector c = {fs, files, 0, recurse};
    char *clean = NULL;
    int rc;

    files->v = NULL;
    files->n = 0;
    if ((rc = path_clean(&clean, dir)) < 0)
        return rc;
    rc = render_collect_dir(&c, clean, 0);
    if (rc < 0)
        mirror_files_dispose(files);
    free(clean);
    return rc;
}

int render_objects(json_t **out_objects, const json_t *raw, const char *where,
                   const struct render_request *req)
{
    struct render_ctx c;
    const json_t *obj;
    char *at = NULL;
    size_t i;
    int rc = 0;

    *out_objects = NULL;
    c.req = req;
    c.source = req->source ? req->source : "";
    c.out = json_array();
    c.seen = json_object();
    json_array_foreach(raw, i, obj)
    {
        const char *kind = doc_get_str(obj, "kind"), *name = doc_get_str(obj, "metadata.name");
        free(at);
        at =
            xasprintf("%s: object %zu (%s %s)", where, i + 1, kind ? kind : "?", name ? name : "?");
        if ((rc = render_object(&c, obj, at)) < 0) {
            err_prefix(rc, "%s: %s", c.source, at);
            goto out;
        }
    }
    *out_objects = c.out;
    c.out = NULL;
out:
    free(at);
    json_decref(c.out);
    json_decref(c.seen);
    return rc;
}

/* An optional string option of source.directory; ERR_INVALID otherwise. */
static int render_dir_str(const json_t *dir, const char *key, const char *source, const char **out)
{
    const json_t *v = dir ? json_object_get(dir, key) : NULL;

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(ERR_INVALID, "%s: spec.source.directory.%s: must be a string", source, key);
    *out = json_string_value(v);
    if (!(*out)[0])
        *out = NULL;
    else if (glob_check(*out) < 0)
        return err_prefix(ERR_INVALID, "%s: spec.source.directory.%s", source, key);
    return 0;
}

/* Keep the files that include (if set) matches and exclude (if set) does
 * not, by their path relative to the source path, as Argo CD does. */
static void render_filter(struct mirror_files *files, const char *path, const char *include,
                          const char *exclude)
{
    size_t i, kept = 0, plen = strlen(path);

    for (i = 0; i < files->n; i++) {
        struct mirror_file *f = &files->v[i];
        const char *rel = plen ? f->path + plen + 1 : f->path;
        if ((include && !glob_match(include, rel, 0)) || (exclude && glob_match(exclude, rel, 0))) {
            free(f->path);
            free(f->data);
            continue;
        }
        files->v[kept++] = *f;
    }
    files->n = kept;
}

/* A directory source with source.directory's options. */
static int render_directory_source(json_t **out_objects, render_fs *fs, const char *path,
                                   const json_t *source, const struct render_request *req)
{
    struct mirror_files files = {0};
    struct render_request r = *req;
    const char *name = render_fs_name(fs), *include, *exclude;
    const json_t *dir = json_object_get(source, "directory");
    const json_t *recurse = dir ? json_object_get(dir, "recurse") : NULL;
    const json_t *jsonnet = dir ? json_object_get(dir, "jsonnet") : NULL;
    int rc;

    *out_objects = NULL;
    if (dir && !json_is_object(dir) && !json_is_null(dir))
        return err_set(ERR_INVALID, "%s: spec.source.directory: must be a mapping", name);
    if (recurse && !json_is_boolean(recurse) && !json_is_null(recurse))
        return err_set(ERR_INVALID, "%s: spec.source.directory.recurse: must be true or false",
                       name);
    if (jsonnet && json_is_object(jsonnet) && json_object_size(jsonnet) > 0)
        return err_set(ERR_UNSUPPORTED,
                       "%s: spec.source.directory.jsonnet: Jsonnet is not supported by edgecd",
                       name);
    if ((rc = render_dir_str(dir, "include", name, &include)) < 0 ||
        (rc = render_dir_str(dir, "exclude", name, &exclude)) < 0)
        return rc;
    if ((rc = render_collect(&files, fs, path, json_is_true(recurse))) < 0)
        return rc;
    render_filter(&files, path, include, exclude);
    r.path = path;
    rc = render_directory(out_objects, &files, &r);
    mirror_files_dispose(&files);
    return rc;
}

static int render_helm_source(json_t **out_objects, render_fs *fs, const char *path,
                              const json_t *source, const struct render_request *req)
{
    json_t *raw = NULL;
    char *where = xasprintf("chart %s", path[0] ? path : ".");
    int rc = render_helm(&raw, fs, path, json_object_get(source, "helm"), req);
    if (rc == 0)
        rc = render_objects(out_objects, raw, where, req);
    json_decref(raw);
    free(where);
    return rc;
}

int render_source(json_t **out_objects, render_fs *fs, const json_t *source,
                  const struct render_request *req)
{
    const json_t *pv = json_object_get(source, "path");
    char *path = NULL;
    int rc;

    *out_objects = NULL;
    if (pv && !json_is_string(pv) && !json_is_null(pv))
        return err_set(ERR_INVALID, "%s: spec.source.path: must be a string", render_fs_name(fs));
    if ((rc = path_clean(&path, json_is_string(pv) ? json_string_value(pv) : ".")) < 0) {
        err_prefix(rc, "%s: spec.source.path", render_fs_name(fs));
        return rc;
    }
    if ((rc = render_fs_stat(fs, path)) == RENDER_ENTRY_FILE &&
        (str_has_suffix(path, ".tgz") || str_has_suffix(path, ".tar.gz"))) {
        /* a chart archive in the repository */
        err_clear();
        if (json_object_get(source, "chart"))
            goto remote_chart;
        rc = render_helm_source(out_objects, fs, path, source, req);
        goto out;
    }
    if (rc != RENDER_ENTRY_DIR) {
        if (rc >= 0)
            rc = err_set(ERR_NOTFOUND, "%s: %s: no such folder", render_fs_name(fs),
                         path[0] ? path : ".");
        goto out;
    }
    {
        /* Argo CD renders a folder holding a chart with Helm */
        char *chart = path[0] ? xasprintf("%s/Chart.yaml", path) : xstrdup("Chart.yaml");
        int is_chart = render_fs_stat(fs, chart) == RENDER_ENTRY_FILE;
        free(chart);
        err_clear();
        if (json_object_get(source, "chart")) {
        remote_chart:
            rc = err_set(ERR_UNSUPPORTED,
                         "%s: spec.source.chart: charts from a Helm repository need the "
                         "network; vendor the chart into Git and give its path",
                         render_fs_name(fs));
            goto out;
        }
        if (is_chart || json_object_get(source, "helm")) {
            rc = render_helm_source(out_objects, fs, path, source, req);
            goto out;
        }
    }
    if (json_object_get(source, "kustomize") || render_kustomize_present(fs, path)) {
        json_t *raw = NULL;
        char *where = xasprintf("kustomization %s", path[0] ? path : ".");
        rc = render_kustomize(&raw, fs, path, json_object_get(source, "kustomize"), req);
        if (rc == 0)
            rc = render_objects(out_objects, raw, where, req);
        json_decref(raw);
        free(where);
        goto out;
    }
    rc = render_directory_source(out_objects, fs, path, source, req);
out:
    free(path);
    return rc;
}
