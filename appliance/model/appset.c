/*
 * ApplicationSet parsing. Every object of the spec is checked against a
 * list of the keys edgecd runs and a list of the keys it knows but does
 * not run; a key on neither list is a typo or a newer Argo CD field, and
 * both are errors naming the field, since generating apps from a spec
 * half understood would deploy something the operator did not write.
 *
 * The template is checked for shape only (its strings are templates; the
 * generated Application is checked by app_parse once rendered). A
 * generator's own `template` may be partial: it is merged over
 * spec.template when apps are generated.
 */
#include "model/appset.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/glob.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

struct appset_key {
    const char *name;
    const char *unsupported; /* NULL: run by edgecd; else why not */
};

/* The error for a key of obj (at where) that keys does not run. */
static int appset_check_keys(const json_t *obj, const char *where, const struct appset_key *keys,
                             size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; i < n && strcmp(keys[i].name, key) != 0; i++)
            ;
        if (i == n)
            return err_set(ERR_INVALID, "%s.%s: unknown field", where, key);
        if (keys[i].unsupported)
            return err_set(ERR_UNSUPPORTED, "%s.%s: not supported by edgecd: %s", where, key,
                           keys[i].unsupported);
    }
    return 0;
}
#define APPSET_CHECK_KEYS(obj, where, keys)                                                        \
    appset_check_keys(obj, where, keys, sizeof(keys) / sizeof(keys[0]))

static int appset_need_object(const json_t *v, const char *where)
{
    return json_is_object(v) ? 0 : err_set(ERR_INVALID, "%s: needs a mapping", where);
}

/* A mapping of strings (labels, annotations, values), or absent. */
static int appset_check_strings(const json_t *obj, const char *where)
{
    const char *k;
    json_t *v;
    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return err_set(ERR_INVALID, "%s: needs a mapping of strings", where);
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!json_is_string(v))
            return err_set(ERR_INVALID, "%s.%s: needs a string", where, k);
    }
    return 0;
}

static int appset_check_bool(const json_t *v, const char *where)
{
    return !v || json_is_boolean(v) ? 0 : err_set(ERR_INVALID, "%s: needs true or false", where);
}

static int appset_check_string(const json_t *v, const char *where, int required)
{
    if (!v && !required)
        return 0;
    return json_is_string(v) ? 0 : err_set(ERR_INVALID, "%s: needs a string", where);
}

static const struct appset_key appset_template_meta_keys[] = {
    {"name", NULL},        {"namespace", NULL},  {"labels", NULL},
    {"annotations", NULL}, {"finalizers", NULL},
};
static const struct appset_key appset_template_keys[] = {{"metadata", NULL}, {"spec", NULL}};

/* spec.template (full: metadata.name and spec needed) or a generator's
 * template (partial). */
static int appset_check_template(const json_t *t, const char *where, int full)
{
    const json_t *meta = json_object_get(t, "metadata"), *fin, *v;
    char *w = NULL;
    size_t i;
    int rc;
    if ((rc = appset_need_object(t, where)) < 0 ||
        (rc = APPSET_CHECK_KEYS(t, where, appset_template_keys)) < 0)
        return rc;
    w = xasprintf("%s.metadata", where);
    if ((meta || full) && (rc = appset_need_object(meta, w)) < 0)
        goto out;
    if (meta && (rc = APPSET_CHECK_KEYS(meta, w, appset_template_meta_keys)) < 0)
        goto out;
    free(w);
    w = xasprintf("%s.metadata.name", where);
    if ((rc = appset_check_string(json_object_get(meta, "name"), w, full)) < 0)
        goto out;
    free(w);
    w = xasprintf("%s.metadata.namespace", where);
    if ((rc = appset_check_string(json_object_get(meta, "namespace"), w, 0)) < 0)
        goto out;
    free(w);
    w = xasprintf("%s.metadata.labels", where);
    if ((rc = appset_check_strings(json_object_get(meta, "labels"), w)) < 0)
        goto out;
    free(w);
    w = xasprintf("%s.metadata.annotations", where);
    if ((rc = appset_check_strings(json_object_get(meta, "annotations"), w)) < 0)
        goto out;
    free(w);
    w = xasprintf("%s.metadata.finalizers", where);
    fin = json_object_get(meta, "finalizers");
    if (fin && !json_is_array(fin)) {
        rc = err_set(ERR_INVALID, "%s: needs a list of strings", w);
        goto out;
    }
    json_array_foreach(fin, i, v)
    {
        if (!json_is_string(v)) {
            rc = err_set(ERR_INVALID, "%s[%zu]: needs a string", w, i);
            goto out;
        }
    }
    free(w);
    w = xasprintf("%s.spec", where);
    if ((json_object_get(t, "spec") || full) &&
        (rc = appset_need_object(json_object_get(t, "spec"), w)) < 0)
        goto out;
    rc = 0;
out:
    free(w);
    return rc;
}

#define APPSET_WHY_GENERATOR "this generator needs services edgecd does not run at the edge"

static const struct appset_key appset_list_keys[] = {
    {"elements", NULL}, {"elementsYaml", NULL}, {"template", NULL}};
static const struct appset_key appset_git_keys[] = {
    {"repoURL", NULL},
    {"revision", NULL},
    {"directories", NULL},
    {"files", NULL},
    {"values", NULL},
    {"requeueAfterSeconds", NULL},
    {"template", NULL},
    {"pathParamPrefix", "a prefix for the path parameters is not supported yet"},
};
static const struct appset_key appset_git_path_keys[] = {{"path", NULL}, {"exclude", NULL}};
static const struct appset_key appset_clusters_keys[] = {
    {"selector", NULL}, /* refused below unless empty */
    {"values", NULL},
    {"template", NULL},
    {"flatList", "flatList is not supported"},
};
static const struct appset_key appset_matrix_keys[] = {{"generators", NULL}, {"template", NULL}};
static const struct appset_key appset_merge_keys[] = {
    {"generators", NULL}, {"mergeKeys", NULL}, {"template", NULL}};
static const struct appset_key appset_generator_keys[] = {
    {"list", NULL},
    {"git", NULL},
    {"clusters", NULL},
    {"matrix", NULL},
    {"merge", NULL},
    {"template", NULL},
    {"selector", "post-selectors on generated parameters are not supported"},
    {"scmProvider", APPSET_WHY_GENERATOR " (an SCM provider's API)"},
    {"pullRequest", APPSET_WHY_GENERATOR " (a pull request API)"},
    {"clusterDecisionResource", APPSET_WHY_GENERATOR " (a cluster decision resource)"},
    {"plugin", APPSET_WHY_GENERATOR " (a plugin service)"},
};

static const char *const appset_kinds[] = {"list", "git", "clusters", "matrix", "merge"};

const char *appset_generator_kind(const json_t *gen)
{
    for (size_t i = 0; i < sizeof(appset_kinds) / sizeof(appset_kinds[0]); i++)
        if (json_object_get(gen, appset_kinds[i]))
            return appset_kinds[i];
    return NULL;
}

static int appset_check_generator(const json_t *g, const char *where, int depth, int top,
                                  long *requeue);

/* git.directories or git.files. */
static int appset_check_git_paths(const json_t *list, const char *where)
{
    const json_t *p;
    size_t i;
    int rc = 0;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return err_set(ERR_INVALID, "%s: needs a list of {path, exclude}", where);
    json_array_foreach(list, i, p)
    {
        char *w = xasprintf("%s[%zu]", where, i);
        const char *path = doc_get_str(p, "path");
        if ((rc = appset_need_object(p, w)) == 0 &&
            (rc = APPSET_CHECK_KEYS(p, w, appset_git_path_keys)) == 0) {
            if (!path || !path[0])
                rc = err_set(ERR_INVALID, "%s.path: needs a string", w);
            else if (glob_check(path) < 0)
                rc = err_prefix(ERR_INVALID, "%s.path", w);
            else
                rc = appset_check_bool(json_object_get(p, "exclude"), w);
        }
        free(w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int appset_check_list(const json_t *l, const char *where)
{
    const json_t *els = json_object_get(l, "elements"), *el;
    size_t i;
    int rc;
    if ((rc = APPSET_CHECK_KEYS(l, where, appset_list_keys)) < 0)
        return rc;
    if (!els && !json_object_get(l, "elementsYaml"))
        return err_set(ERR_INVALID, "%s: needs elements or elementsYaml", where);
    if (els && !json_is_array(els))
        return err_set(ERR_INVALID, "%s.elements: needs a list of mappings", where);
    json_array_foreach(els, i, el)
    {
        if (!json_is_object(el))
            return err_set(ERR_INVALID, "%s.elements[%zu]: needs a mapping", where, i);
    }
    return appset_check_string(json_object_get(l, "elementsYaml"), where, 0);
}

static int appset_check_git(const json_t *g, const char *where, long *requeue)
{
    const json_t *dirs = json_object_get(g, "directories"), *files = json_object_get(g, "files");
    const json_t *rq = json_object_get(g, "requeueAfterSeconds");
    char *w;
    int rc;
    if ((rc = APPSET_CHECK_KEYS(g, where, appset_git_keys)) < 0)
        return rc;
    if (!doc_get_str(g, "repoURL") || !doc_get_str(g, "repoURL")[0])
        return err_set(ERR_INVALID, "%s.repoURL: needs a string", where);
    w = xasprintf("%s.revision", where);
    rc = appset_check_string(json_object_get(g, "revision"), w, 0);
    free(w);
    if (rc < 0)
        return rc;
    if (!dirs == !files)
        return err_set(ERR_INVALID, "%s: needs either directories or files", where);
    w = xasprintf("%s.%s", where, dirs ? "directories" : "files");
    rc = appset_check_git_paths(dirs ? dirs : files, w);
    free(w);
    if (rc < 0)
        return rc;
    w = xasprintf("%s.values", where);
    rc = appset_check_strings(json_object_get(g, "values"), w);
    free(w);
    if (rc < 0)
        return rc;
    if (rq) {
        if (!json_is_integer(rq) || json_integer_value(rq) < 0 ||
            json_integer_value(rq) > 86400 * 365)
            return err_set(ERR_INVALID, "%s.requeueAfterSeconds: needs a number of seconds", where);
        if (json_integer_value(rq) < *requeue)
            *requeue = (long)json_integer_value(rq);
    }
    return 0;
}

static int appset_check_clusters(const json_t *c, const char *where)
{
    const json_t *sel = json_object_get(c, "selector");
    char *w;
    int rc;
    if ((rc = APPSET_CHECK_KEYS(c, where, appset_clusters_keys)) < 0)
        return rc;
    /* the site config's clusters carry no labels to select on */
    if (sel && !(json_is_object(sel) && json_object_size(sel) == 0))
        return err_set(ERR_UNSUPPORTED,
                       "%s.selector: not supported by edgecd: the site config's clusters carry "
                       "no labels to select on",
                       where);
    w = xasprintf("%s.values", where);
    rc = appset_check_strings(json_object_get(c, "values"), w);
    free(w);
    return rc;
}

/* matrix or merge */
static int appset_check_combine(const json_t *m, const char *where, int merge, int depth,
                                long *requeue)
{
    const json_t *gens = json_object_get(m, "generators"), *g, *keys, *k;
    size_t i;
    int rc;
    if ((rc = merge ? APPSET_CHECK_KEYS(m, where, appset_merge_keys)
                    : APPSET_CHECK_KEYS(m, where, appset_matrix_keys)) < 0)
        return rc;
    if (json_object_get(m, "template"))
        return err_set(ERR_UNSUPPORTED,
                       "%s.template: not supported by edgecd: put the template on the %s "
                       "generator itself",
                       where, merge ? "merge" : "matrix");
    if (depth >= APPSET_MAX_DEPTH)
        return err_set(ERR_INVALID, "%s: matrix and merge generators nest at most %d deep", where,
                       APPSET_MAX_DEPTH);
    if (!json_is_array(gens) || (!merge && json_array_size(gens) != 2) ||
        (merge && (json_array_size(gens) < 1 || json_array_size(gens) > APPSET_MAX_CHILDREN)))
        return err_set(ERR_INVALID, "%s.generators: needs %s", where,
                       merge ? "a list of 1 to 8 generators" : "exactly two generators");
    json_array_foreach(gens, i, g)
    {
        char *w = xasprintf("%s.generators[%zu]", where, i);
        rc = appset_check_generator(g, w, depth + 1, 0, requeue);
        free(w);
        if (rc < 0)
            return rc;
    }
    if (!merge)
        return 0;
    keys = json_object_get(m, "mergeKeys");
    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return err_set(ERR_INVALID, "%s.mergeKeys: needs a list of parameter names", where);
    json_array_foreach(keys, i, k)
    {
        if (!json_is_string(k) || !json_string_value(k)[0])
            return err_set(ERR_INVALID, "%s.mergeKeys[%zu]: needs a string", where, i);
    }
    return 0;
}

static int appset_check_generator(const json_t *g, const char *where, int depth, int top,
                                  long *requeue)
{
    const char *kind;
    size_t kinds = 0;
    char *w;
    int rc;
    if ((rc = appset_need_object(g, where)) < 0 ||
        (rc = APPSET_CHECK_KEYS(g, where, appset_generator_keys)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(appset_kinds) / sizeof(appset_kinds[0]); i++)
        kinds += json_object_get(g, appset_kinds[i]) != NULL;
    if (kinds != 1)
        return err_set(ERR_INVALID, "%s: needs exactly one of list, git, clusters, matrix, merge",
                       where);
    kind = appset_generator_kind(g);
    if (json_object_get(g, "template")) {
        if (!top)
            return err_set(ERR_UNSUPPORTED,
                           "%s.template: not supported by edgecd in a matrix or merge child",
                           where);
        w = xasprintf("%s.template", where);
        rc = appset_check_template(json_object_get(g, "template"), w, 0);
        free(w);
        if (rc < 0)
            return rc;
    }
    w = xasprintf("%s.%s", where, kind);
    if ((rc = appset_need_object(json_object_get(g, kind), w)) == 0) {
        const json_t *spec = json_object_get(g, kind);
        if (json_object_get(spec, "template"))
            rc = err_set(ERR_UNSUPPORTED,
                         "%s.template: not supported by edgecd: put it beside %s, on the "
                         "generator",
                         w, kind);
        else if (!strcmp(kind, "list"))
            rc = appset_check_list(spec, w);
        else if (!strcmp(kind, "git"))
            rc = appset_check_git(spec, w, requeue);
        else if (!strcmp(kind, "clusters"))
            rc = appset_check_clusters(spec, w);
        else
            rc = appset_check_combine(spec, w, !strcmp(kind, "merge"), depth, requeue);
    }
    free(w);
    return rc;
}

static const struct appset_key appset_spec_keys[] = {
    {"generators", NULL},
    {"template", NULL},
    {"goTemplate", NULL},
    {"goTemplateOptions", NULL},
    {"syncPolicy", NULL},
    {"templatePatch", "templatePatch is not supported yet; use a generator's template"},
    {"strategy", "progressive syncs (strategy) are not supported"},
    {"ignoreApplicationDifferences", "ignoreApplicationDifferences is not supported"},
    {"preservedFields", "preservedFields is not supported"},
    {"applyNestedSelectors", "selectors are not supported"},
};
static const struct appset_key appset_policy_keys[] = {
    {"preserveResourcesOnDeletion", NULL},
    {"applicationsSync", NULL},
};

static const char *const appset_policies[] = {"sync", "create-only", "create-update",
                                              "create-delete"};

const char *appset_policy_name(enum appset_policy p)
{
    return appset_policies[p];
}

int appset_is_appset(const json_t *obj)
{
    const char *api = doc_get_str(obj, "apiVersion"), *kind = doc_get_str(obj, "kind");
    return api && kind && str_has_prefix(api, "argoproj.io/") && !strcmp(kind, "ApplicationSet");
}

static int appset_parse_spec(struct appset *out, const json_t *spec, const char *src)
{
    const json_t *opts = json_object_get(spec, "goTemplateOptions"), *o, *pol, *g;
    const char *sync;
    size_t i;
    int rc;

    if ((rc = APPSET_CHECK_KEYS(spec, "spec", appset_spec_keys)) < 0)
        return rc;
    (void)src;
    if ((rc = appset_check_bool(json_object_get(spec, "goTemplate"), "spec.goTemplate")) < 0)
        return rc;
    out->go_template = json_is_true(json_object_get(spec, "goTemplate"));
    if (opts && !json_is_array(opts))
        return err_set(ERR_INVALID, "spec.goTemplateOptions: needs a list of strings");
    json_array_foreach(opts, i, o)
    {
        const char *s = json_string_value(o);
        if (s && !strcmp(s, "missingkey=error"))
            out->missingkey_error = 1;
        else if (s && (!strcmp(s, "missingkey=default") || !strcmp(s, "missingkey=invalid") ||
                       !strcmp(s, "missingkey=zero")))
            out->missingkey_error = 0;
        else
            return err_set(
                ERR_UNSUPPORTED,
                "spec.goTemplateOptions[%zu]: only missingkey=error, missingkey=default, "
                "missingkey=invalid and missingkey=zero are supported",
                i);
    }
    pol = json_object_get(spec, "syncPolicy");
    if (pol && ((rc = appset_need_object(pol, "spec.syncPolicy")) < 0 ||
                (rc = APPSET_CHECK_KEYS(pol, "spec.syncPolicy", appset_policy_keys)) < 0 ||
                (rc = appset_check_bool(json_object_get(pol, "preserveResourcesOnDeletion"),
                                        "spec.syncPolicy.preserveResourcesOnDeletion")) < 0))
        return rc;
    out->preserve_resources = json_is_true(json_object_get(pol, "preserveResourcesOnDeletion"));
    if (json_object_get(pol, "applicationsSync")) {
        sync = json_string_value(json_object_get(pol, "applicationsSync"));
        for (i = 0; sync && i < sizeof(appset_policies) / sizeof(appset_policies[0]); i++)
            if (!strcmp(sync, appset_policies[i]))
                break;
        if (!sync || i == sizeof(appset_policies) / sizeof(appset_policies[0]))
            return err_set(ERR_INVALID,
                           "spec.syncPolicy.applicationsSync: needs create-only, create-update, "
                           "create-delete or sync");
        out->policy = (enum appset_policy)i;
    }
    if ((rc = appset_check_template(json_object_get(spec, "template"), "spec.template", 1)) < 0)
        return rc;
    out->tmpl = json_object_get(spec, "template");
    out->generators = json_object_get(spec, "generators");
    if (!json_is_array(out->generators) || json_array_size(out->generators) == 0)
        return err_set(ERR_INVALID, "spec.generators: needs a list of generators");
    out->requeue_seconds = APPSET_DEFAULT_REQUEUE_SECONDS;
    json_array_foreach(out->generators, i, g)
    {
        char *w = xasprintf("spec.generators[%zu]", i);
        rc = appset_check_generator(g, w, 0, 1, &out->requeue_seconds);
        free(w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int appset_parse(struct appset *out, const json_t *obj, const char *source)
{
    const char *name = doc_get_str(obj, "metadata.name");
    int rc;

    memset(out, 0, sizeof(*out));
    if (!appset_is_appset(obj))
        rc = err_set(ERR_INVALID, "not an argoproj.io ApplicationSet");
    else if (!json_is_object(json_object_get(obj, "metadata")))
        rc = err_set(ERR_INVALID, "metadata: needs a mapping");
    else if (!name || !str_dns_subdomain(name))
        rc = err_set(ERR_INVALID, "metadata.name: needs a DNS subdomain name (lower case letters, "
                                  "digits, '-' and '.')");
    else if (!json_is_object(json_object_get(obj, "spec")))
        rc = err_set(ERR_INVALID, "spec: needs a mapping");
    else {
        out->manifest = json_incref((json_t *)obj);
        out->name = xstrdup(name);
        rc = appset_parse_spec(out, json_object_get(obj, "spec"), source);
    }
    if (rc < 0) {
        if (source && name)
            err_prefix(rc, "%s: applicationset %s", source, name);
        else if (source)
            err_prefix(rc, "%s", source);
    }
    return rc;
}

void appset_dispose(struct appset *a)
{
    if (!a)
        return;
    free(a->name);
    json_decref(a->manifest);
    memset(a, 0, sizeof(*a));
}
