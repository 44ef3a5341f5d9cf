/*
 * Application parsing. The fields edgecd acts on are tables (containers,
 * unsupported features, strings, booleans) walked in order, so adding a
 * field is one line and every message has the same "<source>: <full field
 * path>: what" form. Containers come first, parents before children, so
 * that by the time a leaf is read every object above it is known to be a
 * mapping or absent.
 *
 * Fields that would change what gets rendered but that edgecd cannot honour
 * (Helm repositories, plugins) are refused with ERR_UNSUPPORTED rather than
 * ignored: silently ignoring them would apply something other than what the
 * operator wrote.
 *
 * A source (spec.source, or each of spec.sources) is read by its own small
 * tables of paths relative to the source, so one set of rules serves both
 * forms and messages name "spec.sources[1].repoURL".
 */
#include "model/app.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define APP_API_VERSION "argoproj.io/v1alpha1"

struct app_container {
    const char *path;
    int required;
};

static const struct app_container app_containers[] = {
    {"metadata", 1},
    {"spec", 1},
    {"spec.destination", 1},
    {"spec.syncPolicy", 0},
    {"spec.syncPolicy.automated", 0},
};

struct app_unsupported {
    const char *path;
    const char *why;
};

/* Relative to a source; checked before its other fields. */
static const struct app_unsupported app_source_unsupported[] = {
    {"chart", "Helm chart repositories need the network; vendor the chart into Git"},
    {"plugin", "config management plugins are not supported yet"},
};

struct app_str_field {
    const char *path;
    size_t offset; /* of a char * in struct app */
    int required;
    const char *def; /* when absent, null or "" */
};

static const struct app_str_field app_str_fields[] = {
    {"metadata.name", offsetof(struct app, name), 1, NULL},
    {"spec.project", offsetof(struct app, project), 0, "default"},
    {"spec.destination.server", offsetof(struct app, dest_server), 0, NULL},
    {"spec.destination.name", offsetof(struct app, dest_name), 0, NULL},
    {"spec.destination.namespace", offsetof(struct app, dest_namespace), 0, NULL},
};

struct app_bool_field {
    const char *path;
    size_t offset; /* of an int in struct app */
};

static const struct app_bool_field app_bool_fields[] = {
    {"spec.syncPolicy.automated.prune", offsetof(struct app, prune)},
    {"spec.syncPolicy.automated.selfHeal", offsetof(struct app, self_heal)},
};

/* A source's strings, relative to the source; offsets into struct
 * app_source. path's default is applied by app_read_source (a ref-only
 * source has none). */
static const struct app_str_field app_source_str_fields[] = {
    {"repoURL", offsetof(struct app_source, repo_url), 1, NULL},
    {"targetRevision", offsetof(struct app_source, target_revision), 0, "HEAD"},
    {"path", offsetof(struct app_source, path), 0, NULL},
    {"ref", offsetof(struct app_source, ref), 0, NULL},
};

static const struct app_container app_source_containers[] = {
    {"directory", 0},
};

#define APP_COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* null reads as absent, as in Go's unmarshalling into pointers */
static const json_t *app_get(const json_t *root, const char *path)
{
    const json_t *v = doc_get(root, path);
    return v && !json_is_null(v) ? v : NULL;
}

/* A value that asks for something: not absent, "", {} or []. */
static int app_is_set(const json_t *v)
{
    if (!v)
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return 1;
}

/* A relative path that stays inside the repository. */
static int app_path_ok(const char *p)
{
    if (p[0] == '/')
        return 0;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += n;
        if (*p == '/')
            p++;
    }
    return 1;
}

static int app_check_header(const json_t *obj, const char *source)
{
    const json_t *v;

    if (!json_is_object(obj))
        return err_set(ERR_INVALID, "%s: must be a mapping", source);
    v = app_get(obj, "apiVersion");
    if (!v)
        return err_set(ERR_INVALID, "%s: apiVersion: missing", source);
    if (!json_is_string(v) || strcmp(json_string_value(v), APP_API_VERSION) != 0)
        return err_set(ERR_INVALID, "%s: apiVersion: must be %s", source, APP_API_VERSION);
    v = app_get(obj, "kind");
    if (!v)
        return err_set(ERR_INVALID, "%s: kind: missing", source);
    if (!json_is_string(v) || strcmp(json_string_value(v), "Application") != 0)
        return err_set(ERR_INVALID, "%s: kind: must be Application", source);
    return 0;
}

/* Read a table of string fields of root (paths relative to root; at
 * prefixes them in messages, "" for the document root) into base. */
static int app_read_strs(void *base, const struct app_str_field *t, size_t n, const json_t *root,
                         const char *at, const char *source)
{
    const char *dot = at[0] ? "." : "";
    const json_t *v;

    for (size_t i = 0; i < n; i++) {
        char **field = (char **)((char *)base + t[i].offset);
        v = app_get(root, t[i].path);
        if (v && !json_is_string(v))
            return err_set(ERR_INVALID, "%s: %s%s%s: must be a string", source, at, dot, t[i].path);
        if (v && json_string_length(v) > 0)
            *field = xstrdup(json_string_value(v));
        else if (t[i].required)
            return err_set(ERR_INVALID, "%s: %s%s%s: missing", source, at, dot, t[i].path);
        else
            *field = xstrdup(t[i].def);
    }
    return 0;
}

static int app_read_fields(struct app *a, const json_t *obj, const char *source)
{
    const json_t *v;
    size_t i;
    int rc;

    for (i = 0; i < APP_COUNT(app_containers); i++) {
        v = app_get(obj, app_containers[i].path);
        if (!v && app_containers[i].required)
            return err_set(ERR_INVALID, "%s: %s: missing", source, app_containers[i].path);
        if (v && !json_is_object(v))
            return err_set(ERR_INVALID, "%s: %s: must be a mapping", source,
                           app_containers[i].path);
    }
    if ((rc = app_read_strs(a, app_str_fields, APP_COUNT(app_str_fields), obj, "", source)) < 0)
        return rc;
    for (i = 0; i < APP_COUNT(app_bool_fields); i++) {
        v = app_get(obj, app_bool_fields[i].path);
        if (v && !json_is_boolean(v))
            return err_set(ERR_INVALID, "%s: %s: must be true or false", source,
                           app_bool_fields[i].path);
        *(int *)((char *)a + app_bool_fields[i].offset) = v && json_is_true(v);
    }
    return 0;
}

/* A ref name as Argo CD accepts it in "$name/path": letters, digits, '-'
 * and '_'. */
static int app_ref_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    return n > 0 && n <= APP_MAX_REF && s[n] == '\0';
}

/* Read one source object src (at field path `at`, e.g. "spec.sources[1]")
 * into s. multi: part of spec.sources, where a source with a ref and no
 * path only provides files. */
static int app_read_source(struct app_source *s, const json_t *src, const char *at, int multi,
                           const char *source)
{
    const json_t *v;
    size_t i;
    int rc;

    if (!json_is_object(src))
        return err_set(ERR_INVALID, "%s: %s: must be a mapping", source, at);
    for (i = 0; i < APP_COUNT(app_source_unsupported); i++)
        if (app_is_set(app_get(src, app_source_unsupported[i].path)))
            return err_set(ERR_UNSUPPORTED, "%s: %s.%s: %s", source, at,
                           app_source_unsupported[i].path, app_source_unsupported[i].why);
    for (i = 0; i < APP_COUNT(app_source_containers); i++) {
        v = app_get(src, app_source_containers[i].path);
        if (v && !json_is_object(v))
            return err_set(ERR_INVALID, "%s: %s.%s: must be a mapping", source, at,
                           app_source_containers[i].path);
    }
    if ((rc = app_read_strs(s, app_source_str_fields, APP_COUNT(app_source_str_fields), src, at,
                            source)) < 0)
        return rc;
    v = app_get(src, "directory.recurse");
    if (v && !json_is_boolean(v))
        return err_set(ERR_INVALID, "%s: %s.directory.recurse: must be true or false", source, at);
    s->recurse = v && json_is_true(v);
    if (s->ref && !multi)
        return err_set(ERR_INVALID, "%s: %s.ref: only sources in spec.sources can have a ref",
                       source, at);
    if (s->ref && !app_ref_ok(s->ref))
        return err_set(ERR_INVALID,
                       "%s: %s.ref: \"%s\" must be letters, digits, '-' and '_', at most %d "
                       "characters",
                       source, at, s->ref, APP_MAX_REF);
    /* a ref source without a path provides files only; any other source
     * renders its path, the repository root by default */
    if (!s->path && !s->ref)
        s->path = xstrdup(".");
    if (s->path && !app_path_ok(s->path))
        return err_set(ERR_INVALID,
                       "%s: %s.path: \"%s\" must be relative and stay inside the "
                       "repository",
                       source, at, s->path);
    s->spec = src;
    return 0;
}

/* spec.source or spec.sources (exactly one) into a->sources. */
static int app_read_sources(struct app *a, const json_t *obj, const char *source)
{
    const json_t *one = app_get(obj, "spec.source"), *list = app_get(obj, "spec.sources"), *v;
    size_t i, j;
    int rc;

    if (one && app_is_set(list))
        return err_set(ERR_INVALID, "%s: spec: needs exactly one of source and sources", source);
    if (!app_is_set(list)) {
        if (!one)
            return err_set(ERR_INVALID, "%s: spec.source: missing (or spec.sources)", source);
        a->sources = xcalloc(1, sizeof(*a->sources));
        a->n_sources = 1;
        return app_read_source(&a->sources[0], one, "spec.source", 0, source);
    }
    if (!json_is_array(list))
        return err_set(ERR_INVALID, "%s: spec.sources: must be a list of sources", source);
    if (json_array_size(list) > APP_MAX_SOURCES)
        return err_set(ERR_TOOLARGE, "%s: spec.sources: more than %d sources (limit)", source,
                       APP_MAX_SOURCES);
    a->sources = xcalloc(json_array_size(list), sizeof(*a->sources));
    json_array_foreach(list, i, v)
    {
        char at[48];
        snprintf(at, sizeof(at), "spec.sources[%zu]", i);
        a->n_sources = i + 1;
        if ((rc = app_read_source(&a->sources[i], v, at, 1, source)) < 0)
            return rc;
        for (j = 0; a->sources[i].ref && j < i; j++)
            if (a->sources[j].ref && !strcmp(a->sources[j].ref, a->sources[i].ref))
                return err_set(ERR_INVALID,
                               "%s: %s.ref: \"%s\" is already the ref of "
                               "spec.sources[%zu]",
                               source, at, a->sources[i].ref, j);
    }
    return 0;
}

/* spec.syncPolicy.managedNamespaceMetadata: labels and annotations for
 * the namespace CreateNamespace=true manages, checked here so a bad value
 * keeps the app out rather than failing each sync. */
static int app_read_ns_metadata(struct app *a, const json_t *obj, const char *source)
{
    static const char *const maps[] = {"labels", "annotations"};
    const json_t *meta = app_get(obj, "spec.syncPolicy.managedNamespaceMetadata"), *v;
    const char *key;

    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta))
        return err_set(ERR_INVALID,
                       "%s: spec.syncPolicy.managedNamespaceMetadata: must be a mapping with "
                       "labels and/or annotations",
                       source);
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        const json_t *m = json_object_get(meta, maps[i]);
        if (!m || json_is_null(m))
            continue;
        if (!json_is_object(m))
            return err_set(ERR_INVALID,
                           "%s: spec.syncPolicy.managedNamespaceMetadata.%s: must be a mapping "
                           "of strings",
                           source, maps[i]);
        json_object_foreach((json_t *)m, key, v)
        {
            if (!json_is_string(v))
                return err_set(ERR_INVALID,
                               "%s: spec.syncPolicy.managedNamespaceMetadata.%s.%s: must be a "
                               "string",
                               source, maps[i], key);
        }
    }
    a->managed_ns_metadata = meta;
    return 0;
}

static int app_read_sync_policy(struct app *a, const json_t *obj, const char *source)
{
    const json_t *options, *v;
    size_t i;

    if (app_get(obj, "spec.syncPolicy.automated")) {
        /* Argo CD 3 can switch automation off without removing the block */
        v = app_get(obj, "spec.syncPolicy.automated.enabled");
        if (v && !json_is_boolean(v))
            return err_set(ERR_INVALID,
                           "%s: spec.syncPolicy.automated.enabled: must be true or false", source);
        a->automated = !v || json_is_true(v);
    }
    options = app_get(obj, "spec.syncPolicy.syncOptions");
    if (options && !json_is_array(options))
        return err_set(ERR_INVALID, "%s: spec.syncPolicy.syncOptions: must be a list of strings",
                       source);
    json_array_foreach(options, i, v)
    {
        if (!json_is_string(v))
            return err_set(ERR_INVALID, "%s: spec.syncPolicy.syncOptions[%zu]: must be a string",
                           source, i);
        /* Argo CD compares whole "Key=Value" strings; others are kept in
         * the manifest and ignored */
        if (strcmp(json_string_value(v), "CreateNamespace=true") == 0)
            a->create_namespace = 1;
    }
    return app_read_ns_metadata(a, obj, source);
}

int app_parse(struct app *out, const json_t *obj, const char *source)
{
    struct app a;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&a, 0, sizeof(a));
    if (!source)
        source = "application";
    if ((rc = app_check_header(obj, source)) < 0)
        goto out;
    if ((rc = app_read_fields(&a, obj, source)) < 0)
        goto out;
    if (!str_dns_subdomain(a.name)) {
        rc = err_set(ERR_INVALID,
                     "%s: metadata.name: \"%s\" must be lower-case letters, digits, '-' and '.', "
                     "start and end with a letter or digit, at most 253 characters",
                     source, a.name);
        goto out;
    }
    if ((rc = app_read_sources(&a, obj, source)) < 0)
        goto out;
    /* the first source's fields, for callers that name "the" repository */
    a.repo_url = xstrdup(a.sources[0].repo_url);
    a.target_revision = xstrdup(a.sources[0].target_revision);
    a.path = xstrdup(a.sources[0].path ? a.sources[0].path : ".");
    a.recurse = a.sources[0].recurse;
    if (!a.dest_server == !a.dest_name) {
        rc = err_set(ERR_INVALID, "%s: spec.destination: needs exactly one of server and name",
                     source);
        goto out;
    }
    if ((rc = app_read_sync_policy(&a, obj, source)) < 0)
        goto out;
    /* jansson's reference counting does not mutate the value's content;
     * the cast is how a borrowed const value becomes an owned one */
    a.manifest = json_incref((json_t *)obj);
    *out = a;
    memset(&a, 0, sizeof(a));
out:
    app_dispose(&a);
    return rc;
}

void app_dispose(struct app *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->project);
    free(a->repo_url);
    free(a->target_revision);
    free(a->path);
    free(a->dest_server);
    free(a->dest_name);
    free(a->dest_namespace);
    for (size_t i = 0; i < a->n_sources; i++) {
        free(a->sources[i].repo_url);
        free(a->sources[i].target_revision);
        free(a->sources[i].path);
        free(a->sources[i].ref);
    }
    free(a->sources);
    json_decref(a->manifest);
    memset(a, 0, sizeof(*a));
}

int app_is_application(const json_t *obj)
{
    const char *api_version = doc_get_str(obj, "apiVersion");
    const char *kind = doc_get_str(obj, "kind");

    return json_is_object(obj) && api_version && kind &&
           strncmp(api_version, "argoproj.io/", strlen("argoproj.io/")) == 0 &&
           strcmp(kind, "Application") == 0;
}

int app_bootstrap(json_t **out, const char *spec, const char *name, const char *cluster)
{
    const char *colon = strrchr(spec, ':'), *slash, *at, *p;
    char *repo, *rev, *path;

    *out = NULL;
    /* without a PATH the last ':' is the scheme's ("https://x") or a
     * port's ("https://x:8443/y.git") */
    for (p = colon ? colon + 1 : NULL; p && *p >= '0' && *p <= '9'; p++)
        ;
    if (!colon || !colon[1] || colon[1] == '/' || (p && p > colon + 1 && *p == '/'))
        return err_set(ERR_INVALID,
                       "bootstrap %s: give REPO[@REVISION]:PATH (e.g. "
                       "file:///srv/git/site.git@main:apps)",
                       spec);
    repo = xstrndup(spec, (size_t)(colon - spec));
    path = xstrdup(colon + 1);
    slash = strrchr(repo, '/');
    at = strchr(slash ? slash : repo, '@');
    rev = at ? xstrdup(at + 1) : xstrdup("HEAD");
    if (at)
        repo[at - repo] = '\0';
    *out =
        json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}, "
                  "s:{s:{s:b, s:b}}}}",
                  "apiVersion", "argoproj.io/v1alpha1", "kind", "Application", "metadata", "name",
                  name, "spec", "project", "default", "source", "repoURL", repo, "targetRevision",
                  rev[0] ? rev : "HEAD", "path", path, "destination", "name", cluster, "namespace",
                  "default", "syncPolicy", "automated", "prune", 1, "selfHeal", 1);
    free(repo);
    free(rev);
    free(path);
    return 0;
}
