/*
 * AppProject parsing and the decisions. The decisions follow Argo CD's
 * code (pkg/apis/application/v1alpha1: IsSourcePermitted,
 * isDestinationMatched, IsGroupKindNamePermitted, SyncWindows.CanSync)
 * rather than its prose where the two differ: a '!' entry that does not
 * exclude a value counts as allowing it, which Argo CD's own tests rely on
 * ("!https://my-cluster" alone permits every other server).
 *
 * One deliberate difference, for edge sites: a timeZone edgecd cannot
 * resolve is an error. Argo CD logs a warning and uses UTC, which would
 * open a maintenance window hours away from when the operator asked.
 * A window is active from each firing of its schedule for exactly its
 * duration, [start, start + duration); Argo CD's strict comparison makes
 * the very second of the start inactive, which no operator relies on.
 *
 * Parsing reads each list through one function per entry shape, so every
 * message has the form "<source>: project <name>: spec.<list>[i].<field>:
 * what".
 */
#include "model/project.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/glob.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define PROJECT_API_VERSION "argoproj.io/v1alpha1"

/* Where messages say a problem is: "<source>: project <name>". */
struct project_ctx {
    char where[320];
};

/* null reads as absent, as in Go's unmarshalling */
static const json_t *project_get(const json_t *root, const char *key)
{
    const json_t *v = root ? json_object_get(root, key) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

static int project_fail(const struct project_ctx *c, int code, const char *field, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static int project_fail(const struct project_ctx *c, int code, const char *field, const char *fmt,
                        ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(code, "%s: %s: %s", c->where, field, what);
}

/* ---- repository URLs, as Argo CD's git.NormalizeGitURL ---- */

/* "git@host:path" (no '/' or ':' before the last '@'): scp-like ssh. */
static int project_scp_like(const char *s)
{
    const char *at = strrchr(s, '@');

    if (str_has_prefix(s, "ssh://"))
        s += strlen("ssh://");
    return at && at >= s && at[1] && strcspn(s, "/:") > (size_t)(at - s);
}

/* A new string: trimmed, lower case, scp-like ssh as ssh://user@host/path,
 * one ".git" removed, and "ssh://" dropped again. */
static char *project_repo_key(const char *url)
{
    const char *s = url ? url : "";
    size_t n;
    char *k, *t;

    s += strspn(s, " \t\r\n\v\f");
    n = strlen(s);
    while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1]))
        n--;
    k = xstrndup(s, n);
    for (t = k; *t; t++)
        if (*t >= 'A' && *t <= 'Z')
            *t = (char)(*t - 'A' + 'a');
    if (project_scp_like(k) && !str_has_prefix(k, "ssh://")) {
        char *colon = strchr(k, ':');
        if (colon)
            *colon = '/';
        t = xasprintf("ssh://%s", k);
        free(k);
        k = t;
    }
    n = strlen(k);
    if (n >= 4 && strcmp(k + n - 4, ".git") == 0)
        k[n - 4] = '\0';
    if (str_has_prefix(k, "ssh://"))
        memmove(k, k + strlen("ssh://"), strlen(k) - strlen("ssh://") + 1);
    return k;
}

/* ---- matching, as Argo CD's globMatch ---- */

static int project_glob(const char *pattern, const char *value, char sep)
{
    return strcmp(pattern, "*") == 0 || glob_match(pattern, value, sep);
}

/* A pattern that may start with '!': then it holds where the rest does
 * not match. */
static int project_glob_neg(const char *pattern, const char *value, char sep)
{
    if (pattern[0] == '!')
        return !glob_match(pattern + 1, value, sep);
    return project_glob(pattern, value, sep);
}

/* ---- parsing ---- */

/* A glob of at most PROJECT_MAX_PATTERN characters that glob_check takes;
 * with neg, a leading '!' is allowed but "!*" (exclude everything) is not,
 * as Argo CD refuses it. */
static int project_check_glob(const struct project_ctx *c, const char *field, const char *pattern,
                              int neg)
{
    if (strlen(pattern) > PROJECT_MAX_PATTERN)
        return project_fail(c, ERR_TOOLARGE, field, "longer than %d characters",
                            PROJECT_MAX_PATTERN);
    if (neg && strcmp(pattern, "!*") == 0)
        return project_fail(c, ERR_INVALID, field,
                            "\"!*\" would exclude everything; remove the entry instead");
    if (glob_check(pattern + (neg && pattern[0] == '!')) < 0)
        return err_prefix(ERR_INVALID, "%s: %s", c->where, field);
    return 0;
}

/* A list at obj[key]: absent, or an array of at most PROJECT_MAX_ENTRIES. */
static int project_list(const struct project_ctx *c, const json_t *obj, const char *key,
                        const char *field, const json_t **out)
{
    const json_t *v = project_get(obj, key);

    *out = v;
    if (v && !json_is_array(v))
        return project_fail(c, ERR_INVALID, field, "must be a list");
    if (v && json_array_size(v) > PROJECT_MAX_ENTRIES)
        return project_fail(c, ERR_TOOLARGE, field, "more than %d entries", PROJECT_MAX_ENTRIES);
    return 0;
}

/* An optional string at obj[key] into *out ("" when absent). */
static int project_str(const struct project_ctx *c, const json_t *obj, const char *key,
                       const char *field, char **out)
{
    const json_t *v = project_get(obj, key);

    if (v && !json_is_string(v))
        return project_fail(c, ERR_INVALID, field, "must be a string");
    *out = xstrdup(v ? json_string_value(v) : "");
    return 0;
}

/* An optional boolean at obj[key]. */
static int project_bool(const struct project_ctx *c, const json_t *obj, const char *key,
                        const char *field, int *out)
{
    const json_t *v = project_get(obj, key);

    if (v && !json_is_boolean(v))
        return project_fail(c, ERR_INVALID, field, "must be true or false");
    *out = v && json_is_true(v);
    return 0;
}

/* Reads one entry v of a list (at names it) into item; arg is the list's
 * own argument. */
typedef int (*project_entry_fn)(const struct project_ctx *c, const json_t *v, const char *at,
                                void *item, int arg);

/* The list obj[key] (at field) as a new array of entries of size bytes,
 * each read by fn; *rc says whether all went well. The array comes back
 * either way, and *n counts the entries begun, so that after a failure in
 * the middle the dispose function releases them all. */
static void *project_entries(const struct project_ctx *c, const json_t *obj, const char *key,
                             const char *field, size_t size, size_t *n, project_entry_fn fn,
                             int arg, int *rc)
{
    const json_t *list, *v;
    char at[96], *items;
    size_t i;

    if ((*rc = project_list(c, obj, key, field, &list)) < 0)
        return NULL;
    items = xcalloc(json_array_size(list) + 1, size);
    json_array_foreach(list, i, v)
    {
        snprintf(at, sizeof(at), "%s[%zu]", field, i);
        *n = i + 1;
        if ((*rc = fn(c, v, at, items + i * size, arg)) < 0)
            break;
    }
    return items;
}

/* A glob string; arg: a leading '!' may negate it. */
static int project_read_glob(const struct project_ctx *c, const json_t *v, const char *at,
                             void *item, int neg)
{
    char **out = item;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return project_fail(c, ERR_INVALID, at, "must be a non-empty string");
    *out = xstrdup(json_string_value(v));
    return project_check_glob(c, at, *out, neg);
}

/* A list of glob strings (at field) into a new array. */
static int project_globs(const struct project_ctx *c, const json_t *obj, const char *key,
                         const char *field, int neg, char ***out, size_t *n)
{
    int rc;

    *out = project_entries(c, obj, key, field, sizeof(**out), n, project_read_glob, neg, &rc);
    return rc;
}

static int project_read_destination(const struct project_ctx *c, const json_t *v, const char *at,
                                    void *item, int arg)
{
    struct project_destination *d = item;
    static const char *const keys[] = {"server", "name", "namespace"};
    char **fields[] = {&d->server, &d->name, &d->namespace};
    char field[192];
    int rc;

    (void)arg;
    if (!json_is_object(v))
        return project_fail(c, ERR_INVALID, at, "must be a mapping");
    for (size_t k = 0; k < 3; k++) {
        snprintf(field, sizeof(field), "%s.%s", at, keys[k]);
        if ((rc = project_str(c, v, keys[k], field, fields[k])) < 0 ||
            (rc = project_check_glob(c, field, *fields[k], 1)) < 0)
            return rc;
    }
    return 0;
}

/* arg: 1 for the cluster lists, whose entries may name resources */
static int project_read_resource(const struct project_ctx *c, const json_t *v, const char *at,
                                 void *item, int cluster)
{
    struct project_resource *r = item;
    char field[192];
    int rc;

    if (!json_is_object(v))
        return project_fail(c, ERR_INVALID, at, "must be a mapping");
    snprintf(field, sizeof(field), "%s.group", at);
    if ((rc = project_str(c, v, "group", field, &r->group)) < 0 ||
        (rc = project_check_glob(c, field, r->group, 0)) < 0)
        return rc;
    snprintf(field, sizeof(field), "%s.kind", at);
    if ((rc = project_str(c, v, "kind", field, &r->kind)) < 0)
        return rc;
    if (!r->kind[0])
        return project_fail(c, ERR_INVALID, field, "missing");
    if ((rc = project_check_glob(c, field, r->kind, 0)) < 0)
        return rc;
    snprintf(field, sizeof(field), "%s.name", at);
    if (!cluster && project_get(v, "name"))
        return project_fail(c, ERR_INVALID, field,
                            "only cluster-scoped resource lists can name resources");
    if ((rc = project_str(c, v, "name", field, &r->name)) < 0)
        return rc;
    return project_check_glob(c, field, r->name, 0);
}

/* A Go duration into whole seconds, at least one. */
static int project_duration(const struct project_ctx *c, const char *field, const char *s,
                            int64_t *out)
{
    double seconds;
    if (str_go_duration(s, &seconds) < 0) {
        int rc = project_fail(c, ERR_INVALID, field, "%s", err_last());
        return rc;
    }
    if (seconds < 1)
        return project_fail(c, ERR_INVALID, field, "\"%s\" is shorter than a second", s);
    *out = (int64_t)seconds;
    return 0;
}

static int project_read_window(const struct project_ctx *c, const json_t *v, const char *at,
                               void *item, int arg)
{
    struct project_window *w = item;
    char field[192], *kind = NULL, *zone = NULL;
    int rc;

    (void)arg;
    if (!json_is_object(v))
        return project_fail(c, ERR_INVALID, at, "must be a mapping");
    snprintf(field, sizeof(field), "%s.kind", at);
    if ((rc = project_str(c, v, "kind", field, &kind)) < 0)
        goto out;
    if (!kind[0]) {
        rc = project_fail(c, ERR_INVALID, field, "missing (allow or deny)");
        goto out;
    }
    if (strcmp(kind, "allow") != 0 && strcmp(kind, "deny") != 0) {
        rc = project_fail(c, ERR_INVALID, field, "\"%.64s\" must be allow or deny", kind);
        goto out;
    }
    w->kind = kind[0] == 'a' ? PROJECT_WINDOW_ALLOW : PROJECT_WINDOW_DENY;
    snprintf(field, sizeof(field), "%s.schedule", at);
    if ((rc = project_str(c, v, "schedule", field, &w->schedule)) < 0)
        goto out;
    if ((rc = cron_parse(&w->cron, w->schedule)) < 0) {
        rc = err_prefix(rc, "%s: %s", c->where, field);
        goto out;
    }
    snprintf(field, sizeof(field), "%s.duration", at);
    if ((rc = project_str(c, v, "duration", field, &w->duration)) < 0 ||
        (rc = project_duration(c, field, w->duration, &w->seconds)) < 0)
        goto out;
    snprintf(field, sizeof(field), "%s.applications", at);
    if ((rc = project_globs(c, v, "applications", field, 0, &w->applications, &w->n_applications)) <
        0)
        goto out;
    snprintf(field, sizeof(field), "%s.namespaces", at);
    if ((rc = project_globs(c, v, "namespaces", field, 0, &w->namespaces, &w->n_namespaces)) < 0)
        goto out;
    snprintf(field, sizeof(field), "%s.clusters", at);
    if ((rc = project_globs(c, v, "clusters", field, 0, &w->clusters, &w->n_clusters)) < 0)
        goto out;
    if (!w->n_applications && !w->n_namespaces && !w->n_clusters) {
        rc = project_fail(c, ERR_INVALID, at,
                          "needs at least one of applications, namespaces and clusters");
        goto out;
    }
    snprintf(field, sizeof(field), "%s.manualSync", at);
    if ((rc = project_bool(c, v, "manualSync", field, &w->manual_sync)) < 0)
        goto out;
    snprintf(field, sizeof(field), "%s.andOperator", at);
    if ((rc = project_bool(c, v, "andOperator", field, &w->and_operator)) < 0)
        goto out;
    snprintf(field, sizeof(field), "%s.timeZone", at);
    if ((rc = project_str(c, v, "timeZone", field, &zone)) < 0)
        goto out;
    if ((rc = tz_load(&w->zone, zone)) < 0)
        rc = err_prefix(rc, "%s: %s", c->where, field);
out:
    free(kind);
    free(zone);
    return rc;
}

static int project_read_spec(struct project *p, const struct project_ctx *c, const json_t *spec)
{
    static const struct {
        const char *key;
        size_t offset;
        int cluster;
    } lists[] = {
        {"clusterResourceWhitelist", offsetof(struct project, cluster_whitelist), 1},
        {"clusterResourceBlacklist", offsetof(struct project, cluster_blacklist), 1},
        {"namespaceResourceWhitelist", offsetof(struct project, namespace_whitelist), 0},
        {"namespaceResourceBlacklist", offsetof(struct project, namespace_blacklist), 0},
    };
    const json_t *v;
    char at[64];
    size_t i;
    int rc, flag = 0;

    if ((rc = project_bool(c, spec, "permitOnlyProjectScopedClusters",
                           "spec.permitOnlyProjectScopedClusters", &flag)) < 0)
        return rc;
    if (flag)
        return project_fail(c, ERR_UNSUPPORTED, "spec.permitOnlyProjectScopedClusters",
                            "not supported: edgecd's clusters come from the site config and "
                            "none is scoped to a project");
    if ((v = project_get(spec, "signatureKeys")) && (!json_is_array(v) || json_array_size(v)))
        return project_fail(c, ERR_UNSUPPORTED, "spec.signatureKeys",
                            "not supported: edgecd cannot verify commit signatures, and would "
                            "otherwise deploy unsigned commits");
    if ((rc = project_globs(c, spec, "sourceRepos", "spec.sourceRepos", 1, &p->source_repos,
                            &p->n_source_repos)) < 0)
        return rc;
    p->source_keys = xcalloc(p->n_source_repos + 1, sizeof(*p->source_keys));
    for (i = 0; i < p->n_source_repos; i++) {
        /* the key of "!URL" is "!" and the key of URL */
        const char *repo = p->source_repos[i];
        char *key = project_repo_key(repo + (repo[0] == '!'));
        p->source_keys[i] = repo[0] == '!' ? xasprintf("!%s", key) : xstrdup(key);
        free(key);
        snprintf(at, sizeof(at), "spec.sourceRepos[%zu]", i);
        if ((rc = project_check_glob(c, at, p->source_keys[i], 1)) < 0)
            return rc;
    }
    p->destinations =
        project_entries(c, spec, "destinations", "spec.destinations", sizeof(*p->destinations),
                        &p->n_destinations, project_read_destination, 0, &rc);
    if (rc < 0)
        return rc;
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct project_resources *r = (struct project_resources *)((char *)p + lists[i].offset);
        snprintf(at, sizeof(at), "spec.%s", lists[i].key);
        r->set = project_get(spec, lists[i].key) != NULL;
        r->items = project_entries(c, spec, lists[i].key, at, sizeof(*r->items), &r->n,
                                   project_read_resource, lists[i].cluster, &rc);
        if (rc < 0)
            return rc;
    }
    p->windows = project_entries(c, spec, "syncWindows", "spec.syncWindows", sizeof(*p->windows),
                                 &p->n_windows, project_read_window, 0, &rc);
    if (rc < 0)
        return rc;
    return 0;
}

static int project_check_header(const json_t *obj, const char *source)
{
    const char *api_version, *kind;

    if (!json_is_object(obj))
        return err_set(ERR_INVALID, "%s: must be a mapping", source);
    api_version = doc_get_str(obj, "apiVersion");
    kind = doc_get_str(obj, "kind");
    if (!api_version || strcmp(api_version, PROJECT_API_VERSION) != 0)
        return err_set(ERR_INVALID, "%s: apiVersion: must be %s", source, PROJECT_API_VERSION);
    if (!kind || strcmp(kind, "AppProject") != 0)
        return err_set(ERR_INVALID, "%s: kind: must be AppProject", source);
    return 0;
}

int project_parse(struct project *out, const json_t *obj, const char *source)
{
    struct project p;
    struct project_ctx c;
    const json_t *meta, *spec, *name;
    const char *src;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    src = source && source[0] ? source : "project";
    if ((rc = project_check_header(obj, src)) < 0)
        goto out;
    meta = project_get(obj, "metadata");
    name = meta && json_is_object(meta) ? project_get(meta, "name") : NULL;
    if (!name || !json_is_string(name) || !json_string_length(name)) {
        rc = err_set(ERR_INVALID, "%s: metadata.name: missing", src);
        goto out;
    }
    p.name = xstrdup(json_string_value(name));
    if (!str_dns_subdomain(p.name)) {
        rc = err_set(ERR_INVALID,
                     "%s: metadata.name: \"%.253s\" must be lower-case letters, digits, '-' and "
                     "'.', start and end with a letter or digit, at most 253 characters",
                     src, p.name);
        goto out;
    }
    /* "site.yaml: project edge", or "project edge" without a source */
    snprintf(c.where, sizeof(c.where), "%s%sproject %s", source && source[0] ? source : "",
             source && source[0] ? ": " : "", p.name);
    spec = project_get(obj, "spec");
    if (spec && !json_is_object(spec)) {
        rc = project_fail(&c, ERR_INVALID, "spec", "must be a mapping");
        goto out;
    }
    if ((rc = project_read_spec(&p, &c, spec)) < 0)
        goto out;
    /* jansson's reference counting does not change the value; the cast is
     * how a borrowed const value becomes an owned one */
    p.manifest = json_incref((json_t *)obj);
    *out = p;
    memset(&p, 0, sizeof(p));
out:
    project_dispose(&p);
    return rc;
}

void project_init_default(struct project *out)
{
    memset(out, 0, sizeof(*out));
    out->name = xstrdup(PROJECT_DEFAULT);
    out->source_repos = xcalloc(2, sizeof(char *));
    out->source_repos[0] = xstrdup("*");
    out->source_keys = xcalloc(2, sizeof(char *));
    out->source_keys[0] = xstrdup("*");
    out->n_source_repos = 1;
    out->destinations = xcalloc(1, sizeof(*out->destinations));
    out->destinations[0].server = xstrdup("*");
    out->destinations[0].name = xstrdup("*");
    out->destinations[0].namespace = xstrdup("*");
    out->n_destinations = 1;
    out->cluster_whitelist.items = xcalloc(1, sizeof(struct project_resource));
    out->cluster_whitelist.items[0].group = xstrdup("*");
    out->cluster_whitelist.items[0].kind = xstrdup("*");
    out->cluster_whitelist.items[0].name = xstrdup("");
    out->cluster_whitelist.n = 1;
    out->cluster_whitelist.set = 1;
}

static void project_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void project_resources_dispose(struct project_resources *r)
{
    for (size_t i = 0; r->items && i < r->n; i++) {
        free(r->items[i].group);
        free(r->items[i].kind);
        free(r->items[i].name);
    }
    free(r->items);
}

void project_dispose(struct project *p)
{
    size_t i;

    if (!p)
        return;
    free(p->name);
    project_strv_free(p->source_repos, p->n_source_repos);
    project_strv_free(p->source_keys, p->n_source_repos);
    for (i = 0; p->destinations && i < p->n_destinations; i++) {
        free(p->destinations[i].server);
        free(p->destinations[i].name);
        free(p->destinations[i].namespace);
    }
    free(p->destinations);
    project_resources_dispose(&p->cluster_whitelist);
    project_resources_dispose(&p->cluster_blacklist);
    project_resources_dispose(&p->namespace_whitelist);
    project_resources_dispose(&p->namespace_blacklist);
    for (i = 0; p->windows && i < p->n_windows; i++) {
        struct project_window *w = &p->windows[i];
        free(w->schedule);
        free(w->duration);
        project_strv_free(w->applications, w->n_applications);
        project_strv_free(w->namespaces, w->n_namespaces);
        project_strv_free(w->clusters, w->n_clusters);
        tz_free(w->zone);
    }
    free(p->windows);
    json_decref(p->manifest);
    memset(p, 0, sizeof(*p));
}

int project_is_project(const json_t *obj)
{
    const char *api_version = doc_get_str(obj, "apiVersion");
    const char *kind = doc_get_str(obj, "kind");

    return json_is_object(obj) && api_version && kind &&
           str_has_prefix(api_version, "argoproj.io/") && strcmp(kind, "AppProject") == 0;
}

/* ---- the decisions ---- */

int project_source_permitted(const struct project *p, const char *repo_url)
{
    char *key = project_repo_key(repo_url);
    int allowed = 0, rc = 0;
    size_t i;

    for (i = 0; i < p->n_source_repos; i++) {
        const char *pattern = p->source_keys[i];
        if (project_glob_neg(pattern, key, '/'))
            allowed = 1;
        else if (pattern[0] == '!')
            break;
    }
    if (i < p->n_source_repos)
        rc = err_set(ERR_AUTH,
                     "repository %s is not permitted in project %s: spec.sourceRepos[%zu] "
                     "\"%s\" excludes it",
                     repo_url, p->name, i, p->source_repos[i]);
    else if (!allowed)
        rc = err_set(ERR_AUTH,
                     "repository %s is not permitted in project %s: no entry of "
                     "spec.sourceRepos allows it",
                     repo_url, p->name);
    free(key);
    return rc;
}

static const char *project_or_empty(const char *s)
{
    return s ? s : "";
}

/* "https://kubernetes.default.svc (in-cluster), namespace guestbook" */
static void project_target_describe(char *out, size_t size, const struct project_target *dest)
{
    const char *server = project_or_empty(dest->server), *name = project_or_empty(dest->name);
    const char *ns = project_or_empty(dest->namespace);

    if (server[0] && name[0])
        snprintf(out, size, "%s (%s), namespace %s", server, name, ns[0] ? ns : "(none)");
    else
        snprintf(out, size, "%s, namespace %s", server[0] ? server : name, ns[0] ? ns : "(none)");
}

int project_destination_permitted(const struct project *p, const struct project_target *dest)
{
    const char *server = project_or_empty(dest->server), *name = project_or_empty(dest->name);
    const char *ns = project_or_empty(dest->namespace);
    int allowed = 0;
    size_t i, excluded = p->n_destinations;
    char what[768];

    for (i = 0; i < p->n_destinations; i++) {
        const struct project_destination *d = &p->destinations[i];
        int name_ok = name[0] && project_glob_neg(d->name, name, 0);
        int server_ok = server[0] && project_glob_neg(d->server, server, 0);
        int ns_ok = project_glob_neg(d->namespace, ns, 0);
        if ((server_ok || name_ok) && ns_ok)
            allowed = 1;
        else if (excluded == p->n_destinations &&
                 ((!name_ok && d->name[0] == '!') || (!server_ok && d->server[0] == '!') ||
                  (!ns_ok && d->namespace[0] == '!')))
            excluded = i;
    }
    if (allowed && excluded == p->n_destinations)
        return 0;
    project_target_describe(what, sizeof(what), dest);
    if (excluded < p->n_destinations)
        return err_set(ERR_AUTH,
                       "destination %s is not permitted in project %s: spec.destinations[%zu] "
                       "excludes it",
                       what, p->name, excluded);
    return err_set(ERR_AUTH,
                   "destination %s is not permitted in project %s: no entry of "
                   "spec.destinations allows it",
                   what, p->name);
}

/* The first entry of r that group/kind (and name, for entries that name
 * one) matches, or r->n. Group and kind use '/' as separator, as Go's
 * filepath.Match does (neither ever holds one). */
static size_t project_resource_find(const struct project_resources *r, const char *group,
                                    const char *kind, const char *name)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        const struct project_resource *e = &r->items[i];
        if (glob_match(e->kind, kind, '/') && glob_match(e->group, group, '/') &&
            (!e->name[0] || glob_match(e->name, name, '/')))
            break;
    }
    return i;
}

int project_resource_permitted(const struct project *p, const char *group, const char *kind,
                               const char *name, int namespaced)
{
    const struct project_resources *white =
        namespaced ? &p->namespace_whitelist : &p->cluster_whitelist;
    const struct project_resources *black =
        namespaced ? &p->namespace_blacklist : &p->cluster_blacklist;
    size_t hit;

    group = project_or_empty(group);
    name = project_or_empty(name);
    /* namespaced kinds: a whitelist that is absent allows all of them */
    if ((white->set || !namespaced) && project_resource_find(white, group, kind, name) == white->n)
        return err_set(ERR_AUTH, "resource %s:%s is not permitted in project %s: %s %s", group,
                       kind, p->name, white->n ? "not in" : "nothing is in",
                       namespaced ? "spec.namespaceResourceWhitelist"
                                  : "spec.clusterResourceWhitelist");
    if ((hit = project_resource_find(black, group, kind, name)) < black->n)
        return err_set(ERR_AUTH,
                       "resource %s:%s is not permitted in project %s: spec.%s[%zu] excludes it",
                       group, kind, p->name,
                       namespaced ? "namespaceResourceBlacklist" : "clusterResourceBlacklist", hit);
    return 0;
}

/* ---- sync windows ---- */

static int project_any_glob(char *const *patterns, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (project_glob(patterns[i], value, 0))
            return 1;
    return 0;
}

static int project_window_applies(const struct project_window *w, const char *app,
                                  const struct project_target *dest)
{
    const char *server = project_or_empty(dest->server), *name = project_or_empty(dest->name);
    int hits[3], lists[3] = {w->n_applications > 0, w->n_namespaces > 0, w->n_clusters > 0};

    hits[0] = project_any_glob(w->applications, w->n_applications, app);
    hits[1] = project_any_glob(w->namespaces, w->n_namespaces, project_or_empty(dest->namespace));
    hits[2] = (name[0] && project_any_glob(w->clusters, w->n_clusters, name)) ||
              (server[0] && project_any_glob(w->clusters, w->n_clusters, server));
    for (int k = 0; k < 3; k++) {
        if (w->and_operator && lists[k] && !hits[k])
            return 0;
        if (!w->and_operator && hits[k])
            return 1;
    }
    return w->and_operator;
}

/* The start of w's interval that holds now, as UTC seconds, if w is
 * active: 1 and *start. */
static int project_window_active(const struct project_window *w, int64_t now, int64_t *start)
{
    int32_t off = tz_offset(w->zone, now);
    int64_t local = now + off, s;

    /* active in [s, s + duration): s in (local - duration, local] */
    if (!cron_next(&w->cron, local - w->seconds + 1, local + 1, &s))
        return 0;
    *start = s - off;
    return 1;
}

/* When w next opens after now, as UTC seconds: 1 and *at, or 0 if not
 * within five years (robfig's horizon). */
static int project_window_next(const struct project_window *w, int64_t now, int64_t *at)
{
    int32_t off = tz_offset(w->zone, now);
    int64_t local = now + off, s;

    if (!cron_next(&w->cron, local + 1, local + 5 * 366 * 86400LL, &s))
        return 0;
    /* the offset that will hold then (a daylight saving change between) */
    *at = s - tz_offset(w->zone, s - off);
    return 1;
}

static void project_rfc3339(int64_t t, char out[32])
{
    struct tz_civil c;

    tz_civil_from_unix(t, &c);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)c.year, c.month, c.day, c.hour,
             c.min, c.sec);
}

/* "spec.syncWindows[1] (deny \"0 22 * * *\" for 1h, UTC)" */
static void project_window_describe(char *out, size_t size, const struct project *p, size_t i)
{
    const struct project_window *w = &p->windows[i];

    snprintf(out, size, "spec.syncWindows[%zu] of project %s (%s \"%s\" for %s, %s)", i, p->name,
             w->kind == PROJECT_WINDOW_ALLOW ? "allow" : "deny", w->schedule, w->duration,
             tz_name(w->zone));
}

void project_sync_window(struct project_sync_verdict *out, const struct project *p,
                         const char *app_name, const struct project_target *dest, int64_t now)
{
    size_t i, deny = SIZE_MAX, allow = SIZE_MAX, closed = SIZE_MAX;
    int any = 0, deny_manual = 1, closed_manual = 1;
    int64_t start, deny_end = 0, allow_end = 0, opens = INT64_MAX, next;
    char what[256], when[32];

    memset(out, 0, sizeof(*out));
    out->automatic = out->manual = 1;
    for (i = 0; i < p->n_windows; i++) {
        const struct project_window *w = &p->windows[i];
        if (!project_window_applies(w, project_or_empty(app_name), dest))
            continue;
        any = 1;
        if (project_window_active(w, now, &start)) {
            if (w->kind == PROJECT_WINDOW_DENY) {
                deny_manual = deny_manual && w->manual_sync;
                if (deny == SIZE_MAX)
                    deny = i, deny_end = start + w->seconds;
            } else if (allow == SIZE_MAX) {
                allow = i, allow_end = start + w->seconds;
            }
        } else if (w->kind == PROJECT_WINDOW_ALLOW) {
            closed_manual = closed_manual && w->manual_sync;
            if (project_window_next(w, now, &next) && next < opens)
                opens = next, closed = i;
            else if (closed == SIZE_MAX)
                closed = i;
        }
    }
    if (!any)
        return;
    if (deny != SIZE_MAX) {
        out->automatic = 0;
        out->manual = deny_manual;
        project_window_describe(what, sizeof(what), p, deny);
        project_rfc3339(deny_end, when);
        snprintf(out->message, sizeof(out->message), "sync denied by %s until %s%s", what, when,
                 deny_manual ? "; manual sync allowed" : "");
    } else if (allow != SIZE_MAX) {
        project_window_describe(what, sizeof(what), p, allow);
        project_rfc3339(allow_end, when);
        snprintf(out->message, sizeof(out->message), "sync allowed by %s until %s", what, when);
    } else if (closed != SIZE_MAX) {
        out->automatic = 0;
        out->manual = closed_manual;
        project_window_describe(what, sizeof(what), p, closed);
        if (opens != INT64_MAX)
            project_rfc3339(opens, when);
        snprintf(out->message, sizeof(out->message),
                 "sync denied: no allow window is open; %s %s%s%s", what,
                 opens != INT64_MAX ? "opens at " : "does not open within 5 years",
                 opens != INT64_MAX ? when : "", closed_manual ? "; manual sync allowed" : "");
    }
}
