/*
 * The generators. Parameter sets are jansson objects: flat maps of
 * strings in fasttemplate mode, nested trees in goTemplate mode, exactly
 * as Argo CD builds them, so one template renderer (apptmpl.c) serves
 * every generator.
 *
 * A git generator walks the commit tree no deeper than its patterns can
 * match (a pattern without "**" of N segments needs N levels), and at most
 * APPGEN_MAX_PATHS entries: a repository is hostile input like any other.
 * Files are read through render_fs, whose per-file and per-session limits
 * apply, and parsed with the document model's limits.
 */
#include "engine/appgen.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/apptmpl.h"

/* The generation of one ApplicationSet. */
struct appgen {
    const struct appset *as;
    const struct appgen_env *env;
    struct apptmpl_options topt;
    json_t *revisions; /* repoURL -> commit */
};

static int appgen_run(struct appgen *g, const json_t *gen, const char *where, json_t **out);

/* ---- helpers ---- */

static void appgen_add_set(json_t *sets, json_t *params)
{
    json_array_append_new(sets, params);
}

static int appgen_too_many(const json_t *sets, const char *where)
{
    if (json_array_size(sets) > APPGEN_MAX_SETS)
        return err_set(ERR_TOOLARGE, "%s: more than %d parameter sets", where, APPGEN_MAX_SETS);
    return 0;
}

/* "values": each templated with params, then added to params (values.K
 * in fasttemplate mode, .values.K in goTemplate mode). */
static int appgen_values(struct appgen *g, const json_t *values, json_t *params, const char *where)
{
    const char *k;
    json_t *v, *nested = NULL;
    if (!values)
        return 0;
    if (g->topt.go)
        nested = json_object();
    json_object_foreach((json_t *)values, k, v)
    {
        char *s = NULL, *key;
        int rc = apptmpl_string(&s, json_string_value(v), params, &g->topt);
        if (rc < 0) {
            json_decref(nested);
            return err_prefix(rc, "%s.values.%s", where, k);
        }
        if (nested) {
            json_object_set_new(nested, k, json_string(s));
        } else {
            key = xasprintf("values.%s", k);
            json_object_set_new(params, key, json_string(s));
            free(key);
        }
        free(s);
    }
    if (nested)
        json_object_set_new(params, "values", nested);
    return 0;
}

/* Argo CD's %v of a flattened value. */
static json_t *appgen_flat_value(const json_t *v)
{
    char tmp[64];
    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (json_is_integer(v))
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(tmp, sizeof(tmp), "%.15g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(tmp, sizeof(tmp), "%s", json_is_true(v) ? "true" : "false");
    else
        snprintf(tmp, sizeof(tmp), "<nil>");
    return json_string(tmp);
}

/* Flatten v into params with dotted keys (arrays by index), as Argo CD's
 * flatten.DotStyle. */
static void appgen_flatten(json_t *params, const char *prefix, const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
        {
            char *key = prefix[0] ? xasprintf("%s.%s", prefix, k) : xstrdup(k);
            appgen_flatten(params, key, x);
            free(key);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            char *key = prefix[0] ? xasprintf("%s.%zu", prefix, i) : xasprintf("%zu", i);
            appgen_flatten(params, key, x);
            free(key);
        }
    } else {
        json_object_set_new(params, prefix, appgen_flat_value(v));
    }
}

/* Deep merge src over dst (objects merged key by key, anything else
 * replaced). skip_empty: "", null, {} and [] in src do not replace (as
 * mergo's WithOverride). */
static void appgen_merge(json_t *dst, const json_t *src, int skip_empty)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        json_t *have = json_object_get(dst, k);
        if (skip_empty && (json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
                           (json_is_array(v) && !json_array_size(v))))
            continue;
        if (json_is_object(v) && json_is_object(have))
            appgen_merge(have, v, skip_empty);
        else
            json_object_set_new(dst, k, json_deep_copy(v));
    }
}

/* ---- list ---- */

static int appgen_list_element(struct appgen *g, const json_t *el, const char *where, json_t *sets)
{
    const char *k;
    json_t *v, *params;
    if (!json_is_object(el))
        return err_set(ERR_INVALID, "%s: needs a mapping", where);
    if (g->topt.go) {
        appgen_add_set(sets, json_deep_copy(el));
        return 0;
    }
    params = json_object();
    json_object_foreach((json_t *)el, k, v)
    {
        if (!strcmp(k, "values") && json_is_object(v)) {
            const char *vk;
            json_t *vv;
            json_object_foreach(v, vk, vv)
            {
                char *key;
                if (!json_is_string(vv)) {
                    json_decref(params);
                    return err_set(ERR_INVALID,
                                   "%s.values.%s: needs a string in fasttemplate mode (set "
                                   "goTemplate: true for other values)",
                                   where, vk);
                }
                key = xasprintf("values.%s", vk);
                json_object_set(params, key, vv);
                free(key);
            }
        } else if (json_is_string(v)) {
            json_object_set(params, k, v);
        } else {
            json_decref(params);
            return err_set(ERR_INVALID,
                           "%s.%s: needs a string in fasttemplate mode (set goTemplate: true for "
                           "nested values)",
                           where, k);
        }
    }
    appgen_add_set(sets, params);
    return 0;
}

static int appgen_list(struct appgen *g, const json_t *l, const char *where, json_t *sets)
{
    const json_t *els = json_object_get(l, "elements"), *el;
    const char *y = doc_get_str(l, "elementsYaml");
    size_t i;
    int rc;
    json_array_foreach(els, i, el)
    {
        char *w = xasprintf("%s.elements[%zu]", where, i);
        rc = appgen_list_element(g, el, w, sets);
        free(w);
        if (rc < 0)
            return rc;
    }
    if (y) {
        struct doc_limits lim = {1u << 20, 32, 100000, 1, 0};
        json_t *docs = NULL, *list;
        char *w = xasprintf("%s.elementsYaml", where);
        if ((rc = doc_parse_yaml(&docs, y, strlen(y), w, &lim)) == 0) {
            list = json_array_get(docs, 0);
            if (list && !json_is_array(list))
                rc = err_set(ERR_INVALID, "%s: needs a list of mappings", w);
            json_array_foreach(list, i, el)
            {
                char *we = xasprintf("%s[%zu]", w, i);
                rc = appgen_list_element(g, el, we, sets);
                free(we);
                if (rc < 0)
                    break;
            }
        }
        json_decref(docs);
        free(w);
        if (rc < 0)
            return rc;
    }
    return appgen_too_many(sets, where);
}

/* ---- clusters ---- */

static int appgen_clusters(struct appgen *g, const json_t *c, const char *where, json_t *sets)
{
    int rc;
    for (size_t i = 0; i < g->env->n_clusters; i++) {
        const struct config_cluster *cc = &g->env->clusters[i];
        char *norm = apptmpl_normalize(cc->name);
        json_t *p;
        if (g->topt.go)
            p = json_pack("{s:s, s:s, s:s, s:s, s:{s:{}, s:{}}}", "name", cc->name,
                          "nameNormalized", norm, "server", cc->server, "project", "", "metadata",
                          "labels", "annotations");
        else
            p = json_pack("{s:s, s:s, s:s, s:s}", "name", cc->name, "nameNormalized", norm,
                          "server", cc->server, "project", "");
        free(norm);
        if ((rc = appgen_values(g, json_object_get(c, "values"), p, where)) < 0) {
            json_decref(p);
            return rc;
        }
        appgen_add_set(sets, p);
    }
    return 0;
}

/* ---- git ---- */

/* How deep the patterns of a directories/files list can match: the most
 * segments of one pattern, or -1 (no limit but the entry count) when a
 * pattern holds "**". */
static int appgen_depth(const json_t *list)
{
    const json_t *p;
    size_t i;
    int max = 1;
    json_array_foreach(list, i, p)
    {
        const char *s = doc_get_str(p, "path");
        int n = 1;
        if (strstr(s, "**"))
            return -1;
        for (; *s; s++)
            n += *s == '/';
        if (n > max)
            max = n;
    }
    return max;
}

/* Every folder (want_dirs) or file under dir, to depth levels (-1: any),
 * appended to out as paths. */
static int appgen_walk(render_fs *fs, const char *dir, int depth, int want_dirs, json_t *out,
                       size_t *seen)
{
    render_entry *ents = NULL;
    size_t n = 0, i;
    int rc;
    if (depth == 0)
        return 0;
    if ((rc = render_fs_list(fs, dir, &ents, &n)) < 0)
        return rc;
    for (i = 0; i < n && rc == 0; i++) {
        char *p = dir[0] ? xasprintf("%s/%s", dir, ents[i].name) : xstrdup(ents[i].name);
        if (++*seen > APPGEN_MAX_PATHS) {
            rc = err_set(ERR_TOOLARGE, "%s: more than %d folders and files", render_fs_name(fs),
                         APPGEN_MAX_PATHS);
        } else if (ents[i].type == RENDER_ENTRY_DIR) {
            if (want_dirs)
                json_array_append_new(out, json_string(p));
            rc = appgen_walk(fs, p, depth < 0 ? depth : depth - 1, want_dirs, out, seen);
        } else if (!want_dirs) {
            json_array_append_new(out, json_string(p));
        }
        free(p);
    }
    render_entries_free(ents, n);
    return rc;
}

/* Argo CD's rule: a path is taken when a pattern without exclude matches
 * it and no pattern with exclude does. */
static int appgen_path_wanted(const json_t *list, const char *path)
{
    const json_t *p;
    size_t i;
    int in = 0, out = 0;
    json_array_foreach(list, i, p)
    {
        if (glob_match(doc_get_str(p, "path"), path, '/')) {
            if (json_is_true(json_object_get(p, "exclude")))
                out = 1;
            else
                in = 1;
        }
    }
    return in && !out;
}

static const char *appgen_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The path parameters of folder dir (and of file, or NULL) into params. */
static void appgen_path_params(struct appgen *g, json_t *params, const char *dir, const char *file)
{
    char *bn = apptmpl_normalize(appgen_base(dir)), *fnn = NULL;
    const char *p, *s;
    size_t k = 0;
    json_t *segs = json_array();

    for (p = dir;; p = s + 1) {
        s = strchr(p, '/');
        if (!s)
            s = p + strlen(p);
        json_array_append_new(segs, json_stringn(p, (size_t)(s - p)));
        if (!*s)
            break;
    }
    if (file)
        fnn = apptmpl_normalize(appgen_base(file));
    if (g->topt.go) {
        json_t *pp = json_pack("{s:s, s:s, s:s, s:O}", "path", dir, "basename", appgen_base(dir),
                               "basenameNormalized", bn, "segments", segs);
        if (file) {
            json_object_set_new(pp, "filename", json_string(appgen_base(file)));
            json_object_set_new(pp, "filenameNormalized", json_string(fnn));
        }
        json_object_set_new(params, "path", pp);
    } else {
        json_t *seg;
        json_object_set_new(params, "path", json_string(dir));
        json_object_set_new(params, "path.basename", json_string(appgen_base(dir)));
        json_object_set_new(params, "path.basenameNormalized", json_string(bn));
        if (file) {
            json_object_set_new(params, "path.filename", json_string(appgen_base(file)));
            json_object_set_new(params, "path.filenameNormalized", json_string(fnn));
        }
        json_array_foreach(segs, k, seg)
        {
            char *key;
            if (!json_string_length(seg))
                continue;
            key = xasprintf("path[%zu]", k);
            json_object_set(params, key, seg);
            free(key);
        }
    }
    json_decref(segs);
    free(bn);
    free(fnn);
}

/* One set of a git generator: params (taken) with the path parameters
 * of dir (and file) and the generator's values, added to sets. */
static int appgen_git_set(struct appgen *g, const json_t *git, json_t *params, const char *dir,
                          const char *file, const char *where, json_t *sets)
{
    int rc;
    appgen_path_params(g, params, dir, file);
    if ((rc = appgen_values(g, json_object_get(git, "values"), params, where)) < 0) {
        json_decref(params);
        return rc;
    }
    appgen_add_set(sets, params);
    return appgen_too_many(sets, where);
}

/* The parameter sets of one file of a files generator. */
static int appgen_git_file(struct appgen *g, render_fs *fs, const json_t *git, const char *file,
                           const char *where, json_t *sets)
{
    struct doc_limits lim = {4u << 20, 64, 200000, 100, 0};
    char *data = NULL, *src = xasprintf("%s:%s", render_fs_name(fs), file), *dir;
    const char *slash = strrchr(file, '/');
    json_t *docs = NULL, *d, *objs = json_array(), *o;
    size_t len, i, j;
    int rc;

    dir = slash ? xstrndup(file, (size_t)(slash - file)) : xstrdup(".");
    if ((rc = render_fs_read(fs, file, &data, &len)) < 0 ||
        (rc = doc_parse_file_data(&docs, data, len, src, &lim)) < 0)
        goto out;
    json_array_foreach(docs, i, d)
    {
        if (json_is_object(d)) {
            json_array_append(objs, d);
            continue;
        }
        json_array_foreach(d, j, o)
        {
            if (!json_is_object(o)) {
                rc = err_set(ERR_INVALID, "%s: needs a mapping or a list of mappings", src);
                goto out;
            }
            json_array_append(objs, o);
        }
        if (!json_is_array(d)) {
            rc = err_set(ERR_INVALID, "%s: needs a mapping or a list of mappings", src);
            goto out;
        }
    }
    json_array_foreach(objs, i, o)
    {
        json_t *params;
        if (g->topt.go) {
            params = json_deep_copy(o);
        } else {
            params = json_object();
            appgen_flatten(params, "", o);
        }
        if ((rc = appgen_git_set(g, git, params, dir, file, where, sets)) < 0)
            goto out;
    }
out:
    json_decref(objs);
    json_decref(docs);
    free(data);
    free(src);
    free(dir);
    return rc;
}

static int appgen_git(struct appgen *g, const json_t *git, const char *where, json_t *sets)
{
    const char *url = doc_get_str(git, "repoURL"), *rev = doc_get_str(git, "revision");
    const json_t *dirs = json_object_get(git, "directories"),
                 *files = json_object_get(git, "files");
    const json_t *list = dirs ? dirs : files;
    render_fs *fs = NULL;
    json_t *paths = json_array(), *p;
    char sha[41];
    size_t i, seen = 0;
    int rc;

    if ((rc = g->env->open(g->env->ctx, url, rev ? rev : "", &fs, sha)) < 0) {
        err_prefix(rc, "%s", where);
        goto out;
    }
    json_object_set_new(g->revisions, url, json_string(sha));
    if ((rc = appgen_walk(fs, "", appgen_depth(list), dirs != NULL, paths, &seen)) < 0) {
        err_prefix(rc, "%s", where);
        goto out;
    }
    json_array_foreach(paths, i, p)
    {
        const char *path = json_string_value(p);
        if (!appgen_path_wanted(list, path))
            continue;
        if (files) {
            if ((rc = appgen_git_file(g, fs, git, path, where, sets)) < 0) {
                err_prefix(rc, "%s", where);
                goto out;
            }
            continue;
        }
        if ((rc = appgen_git_set(g, git, json_object(), path, NULL, where, sets)) < 0)
            goto out;
    }
out:
    json_decref(paths);
    render_fs_free(fs);
    return rc;
}

/* ---- matrix and merge ---- */

/* a and b combined: fasttemplate, a key in both must hold the same
 * value; goTemplate, a deep merge with a's values winning (Argo CD's). */
static int appgen_combine(struct appgen *g, const json_t *a, const json_t *b, const char *where,
                          json_t **out)
{
    const char *k;
    json_t *v;
    *out = json_deep_copy(b);
    if (g->topt.go) {
        appgen_merge(*out, a, 0);
        return 0;
    }
    json_object_foreach((json_t *)a, k, v)
    {
        json_t *have = json_object_get(*out, k);
        if (have && !json_equal(have, v)) {
            int rc = err_set(ERR_INVALID,
                             "%s: parameter %s is \"%s\" in one generator and \"%s\" in the other",
                             where, k, json_string_value(v) ? json_string_value(v) : "",
                             json_string_value(have) ? json_string_value(have) : "");
            json_decref(*out);
            *out = NULL;
            return rc;
        }
        json_object_set(*out, k, v);
    }
    return 0;
}

/* 1 if the generator's text holds a template (then a matrix renders it
 * per parameter set of the first generator). */
static int appgen_has_template(const json_t *gen)
{
    char *text = json_dumps(gen, JSON_COMPACT);
    int has = text && strstr(text, "{{") != NULL;
    free(text);
    return has;
}

static int appgen_matrix(struct appgen *g, const json_t *m, const char *where, json_t *sets)
{
    const json_t *gens = json_object_get(m, "generators");
    const json_t *second = json_array_get(gens, 1);
    json_t *first = NULL, *fixed = NULL, *a, *b;
    char *w0 = xasprintf("%s.generators[0]", where), *w1 = xasprintf("%s.generators[1]", where);
    size_t i, j;
    int rc, per_set = appgen_has_template(second);

    if ((rc = appgen_run(g, json_array_get(gens, 0), w0, &first)) < 0)
        goto out;
    if (!per_set && (rc = appgen_run(g, second, w1, &fixed)) < 0)
        goto out;
    json_array_foreach(first, i, a)
    {
        json_t *rendered = NULL, *more = NULL;
        if (per_set) {
            if ((rc = apptmpl_render(&rendered, second, a, &g->topt)) < 0) {
                err_prefix(rc, "%s", w1);
                goto out;
            }
            rc = appgen_run(g, rendered, w1, &more);
            json_decref(rendered);
            if (rc < 0)
                goto out;
        }
        json_array_foreach(per_set ? more : fixed, j, b)
        {
            json_t *c;
            if ((rc = appgen_combine(g, a, b, where, &c)) < 0)
                break;
            appgen_add_set(sets, c);
            if ((rc = appgen_too_many(sets, where)) < 0)
                break;
        }
        json_decref(more);
        if (rc < 0)
            goto out;
    }
out:
    json_decref(first);
    json_decref(fixed);
    free(w0);
    free(w1);
    return rc;
}

/* The merge key of a set: its mergeKeys' values as JSON text (new). */
static char *appgen_merge_key(struct appgen *g, const json_t *keys, const json_t *set)
{
    json_t *vals = json_array(), *k;
    size_t i;
    char *text;
    json_array_foreach(keys, i, k)
    {
        const char *name = json_string_value(k);
        json_t *v = g->topt.go ? doc_get(set, name) : json_object_get(set, name);
        json_array_append_new(vals, v ? json_incref(v) : json_null());
    }
    text = json_dumps(vals, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(vals);
    return text;
}

static int appgen_merge_gen(struct appgen *g, const json_t *m, const char *where, json_t *sets)
{
    const json_t *gens = json_object_get(m, "generators"), *keys = json_object_get(m, "mergeKeys");
    json_t *base = NULL, *index = json_object(), *s;
    size_t i, j;
    int rc;
    char *w = xasprintf("%s.generators[0]", where);

    if ((rc = appgen_run(g, json_array_get(gens, 0), w, &base)) < 0)
        goto out;
    json_array_foreach(base, i, s)
    {
        char *key = appgen_merge_key(g, keys, s);
        if (json_object_get(index, key)) {
            rc = err_set(ERR_INVALID, "%s: two parameter sets have the merge key %s", w, key);
            free(key);
            goto out;
        }
        json_object_set_new(index, key, json_integer((json_int_t)i));
        free(key);
    }
    for (i = 1; i < json_array_size(gens); i++) {
        json_t *more = NULL, *seen = json_object();
        free(w);
        w = xasprintf("%s.generators[%zu]", where, i);
        if ((rc = appgen_run(g, json_array_get(gens, i), w, &more)) < 0) {
            json_decref(seen);
            goto out;
        }
        json_array_foreach(more, j, s)
        {
            char *key = appgen_merge_key(g, keys, s);
            json_t *at = json_object_get(index, key);
            if (json_object_get(seen, key)) {
                rc = err_set(ERR_INVALID, "%s: two parameter sets have the merge key %s", w, key);
                free(key);
                break;
            }
            json_object_set_new(seen, key, json_true());
            if (at)
                appgen_merge(json_array_get(base, (size_t)json_integer_value(at)), s, 0);
            free(key);
        }
        json_decref(more);
        json_decref(seen);
        if (rc < 0)
            goto out;
    }
    json_array_extend(sets, base);
out:
    free(w);
    json_decref(base);
    json_decref(index);
    return rc;
}

/* ---- one generator ---- */

static int appgen_run(struct appgen *g, const json_t *gen, const char *where, json_t **out)
{
    const char *kind = appset_generator_kind(gen);
    const json_t *spec = kind ? json_object_get(gen, kind) : NULL;
    char *w = xasprintf("%s.%s", where, kind ? kind : "?");
    int rc;

    *out = json_array();
    if (!kind || !json_is_object(spec))
        rc = err_set(ERR_INVALID, "%s: needs one of list, git, clusters, matrix, merge", where);
    else if (!strcmp(kind, "list"))
        rc = appgen_list(g, spec, w, *out);
    else if (!strcmp(kind, "git"))
        rc = appgen_git(g, spec, w, *out);
    else if (!strcmp(kind, "clusters"))
        rc = appgen_clusters(g, spec, w, *out);
    else if (!strcmp(kind, "matrix"))
        rc = appgen_matrix(g, spec, w, *out);
    else
        rc = appgen_merge_gen(g, spec, w, *out);
    free(w);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static void appgen_init(struct appgen *g, const struct appset *as, const struct appgen_env *env)
{
    memset(g, 0, sizeof(*g));
    g->as = as;
    g->env = env;
    g->topt.go = as->go_template;
    g->topt.missingkey_error = as->missingkey_error;
    g->revisions = json_object();
}

int appgen_params(json_t **out, const json_t *generator, const struct appset *as,
                  const struct appgen_env *env, const char *where)
{
    struct appgen g;
    int rc;
    appgen_init(&g, as, env);
    rc = appgen_run(&g, generator, where, out);
    json_decref(g.revisions);
    return rc;
}

/* A short form of a parameter set for messages. */
static char *appgen_describe(const json_t *params)
{
    char *text = json_dumps(params, JSON_COMPACT), *out;
    if (text && strlen(text) > 200)
        memcpy(text + 196, "...}", 5);
    out = xstrdup(text ? text : "{}");
    free(text);
    return out;
}

int appgen_applications(json_t **out, const struct appset *as, const struct appgen_env *env,
                        json_t **out_revisions)
{
    struct appgen g;
    json_t *apps = json_array(), *names = json_object(), *gen;
    size_t i, j;
    int rc = 0;

    *out = NULL;
    if (out_revisions)
        *out_revisions = NULL;
    appgen_init(&g, as, env);
    json_array_foreach(as->generators, i, gen)
    {
        char *where = xasprintf("spec.generators[%zu]", i);
        json_t *sets = NULL, *tmpl = json_deep_copy(as->tmpl), *params;
        if (json_object_get(gen, "template"))
            appgen_merge(tmpl, json_object_get(gen, "template"), 1);
        rc = appgen_run(&g, gen, where, &sets);
        json_array_foreach(sets, j, params)
        {
            json_t *r = NULL, *app;
            const char *name;
            if ((rc = apptmpl_render(&r, tmpl, params, &g.topt)) < 0) {
                char *d = appgen_describe(params);
                err_prefix(rc, "%s: template with parameters %s: spec.template", where, d);
                free(d);
                break;
            }
            app = json_pack("{s:s, s:s, s:O, s:O}", "apiVersion", "argoproj.io/v1alpha1", "kind",
                            "Application", "metadata", json_object_get(r, "metadata"), "spec",
                            json_object_get(r, "spec"));
            json_decref(r);
            name = doc_get_str(app, "metadata.name");
            if (!name || !name[0]) {
                char *d = appgen_describe(params);
                rc = err_set(ERR_INVALID, "%s: parameters %s give an application without a name",
                             where, d);
                free(d);
                json_decref(app);
                break;
            }
            if (json_object_get(names, name)) {
                rc = err_set(ERR_INVALID,
                             "%s: applicationset %s generates two applications named %s", where,
                             as->name, name);
                json_decref(app);
                break;
            }
            json_object_set_new(names, name, json_true());
            json_array_append_new(apps, app);
        }
        json_decref(sets);
        json_decref(tmpl);
        free(where);
        if (rc < 0)
            break;
    }
    json_decref(names);
    if (rc < 0) {
        json_decref(apps);
        json_decref(g.revisions);
        return rc;
    }
    *out = apps;
    if (out_revisions)
        *out_revisions = g.revisions;
    else
        json_decref(g.revisions);
    return 0;
}

static int appgen_uses(const json_t *gen, const char *want, char *(*key)(const char *))
{
    const char *kind = appset_generator_kind(gen);
    const json_t *spec = kind ? json_object_get(gen, kind) : NULL, *child;
    size_t i;
    if (!kind)
        return 0;
    if (!strcmp(kind, "git")) {
        char *have = key(doc_get_str(spec, "repoURL"));
        int hit = !strcmp(have, want);
        free(have);
        return hit;
    }
    json_array_foreach(json_object_get(spec, "generators"), i, child)
    {
        if (appgen_uses(child, want, key))
            return 1;
    }
    return 0;
}

int appgen_uses_repo(const struct appset *as, const char *repo_url, char *(*key)(const char *))
{
    const json_t *gen;
    size_t i;
    char *want = key(repo_url);
    int hit = 0;
    json_array_foreach(as->generators, i, gen)
    {
        if ((hit = appgen_uses(gen, want, key)))
            break;
    }
    free(want);
    return hit;
}
