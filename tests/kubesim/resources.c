/*
 * Built-in kinds are a static table; CRD kinds live in a growable array of
 * heap entries (strings owned by the entry) so pointers handed out stay
 * stable while other CRDs come and go.
 */
#include "resources.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

#define RS_NONE                                                                                    \
    {                                                                                              \
        NULL                                                                                       \
    }
static const struct resource resources_builtin[] = {
    {"", "v1", "Namespace", "namespaces", "namespace", 0, 1, {"ns"}, RS_NONE, NULL},
    {"", "v1", "ConfigMap", "configmaps", "configmap", 1, 0, {"cm"}, RS_NONE, NULL},
    {"", "v1", "Secret", "secrets", "secret", 1, 0, RS_NONE, RS_NONE, NULL},
    {"", "v1", "Service", "services", "service", 1, 1, {"svc"}, {"all"}, NULL},
    {"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", 1, 0, {"sa"}, RS_NONE, NULL},
    {"", "v1", "Pod", "pods", "pod", 1, 1, {"po"}, {"all"}, NULL},
    {"",
     "v1",
     "PersistentVolumeClaim",
     "persistentvolumeclaims",
     "persistentvolumeclaim",
     1,
     1,
     {"pvc"},
     RS_NONE,
     NULL},
    {"", "v1", "Event", "events", "event", 1, 0, {"ev"}, RS_NONE, NULL},
    {"apps", "v1", "Deployment", "deployments", "deployment", 1, 1, {"deploy"}, {"all"}, NULL},
    {"apps", "v1", "StatefulSet", "statefulsets", "statefulset", 1, 1, {"sts"}, {"all"}, NULL},
    {"apps", "v1", "DaemonSet", "daemonsets", "daemonset", 1, 1, {"ds"}, {"all"}, NULL},
    {"apps", "v1", "ReplicaSet", "replicasets", "replicaset", 1, 1, {"rs"}, {"all"}, NULL},
    {"batch", "v1", "Job", "jobs", "job", 1, 1, RS_NONE, {"all"}, NULL},
    {"batch", "v1", "CronJob", "cronjobs", "cronjob", 1, 1, {"cj"}, {"all"}, NULL},
    {"networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", 1, 1, {"ing"}, RS_NONE, NULL},
    {"rbac.authorization.k8s.io", "v1", "Role", "roles", "role", 1, 0, RS_NONE, RS_NONE, NULL},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", 1, 0, RS_NONE,
     RS_NONE, NULL},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", 0, 0, RS_NONE,
     RS_NONE, NULL},
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
     "clusterrolebinding", 0, 0, RS_NONE, RS_NONE, NULL},
    {"apiextensions.k8s.io",
     "v1",
     "CustomResourceDefinition",
     "customresourcedefinitions",
     "customresourcedefinition",
     0,
     1,
     {"crd", "crds"},
     RS_NONE,
     NULL},
    {"policy",
     "v1",
     "PodDisruptionBudget",
     "poddisruptionbudgets",
     "poddisruptionbudget",
     1,
     1,
     {"pdb"},
     RS_NONE,
     NULL},
    {"autoscaling",
     "v2",
     "HorizontalPodAutoscaler",
     "horizontalpodautoscalers",
     "horizontalpodautoscaler",
     1,
     1,
     {"hpa"},
     RS_NONE,
     NULL},
};
#define RESOURCES_NBUILTIN (sizeof(resources_builtin) / sizeof(resources_builtin[0]))

/* A CRD-made entry: the resource plus the strings it points to. */
struct resources_crd {
    struct resource r;
    char *strings[16];
    int nstrings;
    char *qualified;
};

static struct resources_crd **resources_crds;
static size_t resources_ncrds;
/* Qualified names of built-ins, made once. */
static char *resources_builtin_qualified[RESOURCES_NBUILTIN];

void resources_init(void)
{
    for (size_t i = 0; i < RESOURCES_NBUILTIN; i++) {
        const struct resource *r = &resources_builtin[i];
        resources_builtin_qualified[i] =
            r->group[0] ? xasprintf("%s.%s", r->plural, r->group) : xstrdup(r->plural);
    }
}

static void resources_crd_free(struct resources_crd *c)
{
    for (int i = 0; i < c->nstrings; i++)
        free(c->strings[i]);
    free(c->qualified);
    free(c);
}

void resources_dispose(void)
{
    for (size_t i = 0; i < RESOURCES_NBUILTIN; i++) {
        free(resources_builtin_qualified[i]);
        resources_builtin_qualified[i] = NULL;
    }
    for (size_t i = 0; i < resources_ncrds; i++)
        resources_crd_free(resources_crds[i]);
    free(resources_crds);
    resources_crds = NULL;
    resources_ncrds = 0;
}

/* Iterate over every served resource: index i < resources_count(). */
static size_t resources_count(void)
{
    return RESOURCES_NBUILTIN + resources_ncrds;
}

static const struct resource *resources_at(size_t i)
{
    if (i < RESOURCES_NBUILTIN)
        return &resources_builtin[i];
    return &resources_crds[i - RESOURCES_NBUILTIN]->r;
}

const struct resource *resources_find(const char *group, const char *version, const char *plural)
{
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->plural, plural) == 0)
            return r;
    }
    return NULL;
}

const struct resource *resources_find_plural(const char *group, const char *plural)
{
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        if (strcmp(r->group, group) == 0 && strcmp(r->plural, plural) == 0)
            return r;
    }
    return NULL;
}

const struct resource *resources_find_kind(const char *group, const char *version, const char *kind)
{
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->kind, kind) == 0)
            return r;
    }
    return NULL;
}

int resources_served(const char *group, const char *version)
{
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0)
            return 1;
    }
    return 0;
}

const char *resources_qualified(const struct resource *r)
{
    if (r->crd)
        return ((const struct resources_crd *)r)->qualified;
    return resources_builtin_qualified[r - resources_builtin];
}

static const char *resources_keep(struct resources_crd *c, const char *s)
{
    char *copy = xstrdup(s ? s : "");
    if (c->nstrings < (int)(sizeof(c->strings) / sizeof(c->strings[0])))
        c->strings[c->nstrings++] = copy;
    return copy;
}

static void resources_drop_none(const struct resource *r, void *ctx)
{
    (void)r;
    (void)ctx;
}

int resources_crd_put(const json_t *crd)
{
    const char *name = json_string_value(json_object_get(json_object_get(crd, "metadata"), "name"));
    const json_t *spec = json_object_get(crd, "spec");
    const json_t *names = json_object_get(spec, "names");
    const char *group = json_string_value(json_object_get(spec, "group"));
    const char *scope = json_string_value(json_object_get(spec, "scope"));
    const char *plural = json_string_value(json_object_get(names, "plural"));
    const char *kind = json_string_value(json_object_get(names, "kind"));
    const char *singular = json_string_value(json_object_get(names, "singular"));
    const json_t *versions = json_object_get(spec, "versions");
    const json_t *short_names = json_object_get(names, "shortNames");
    const json_t *categories = json_object_get(names, "categories");
    size_t i;
    const json_t *v;

    if (!name || !group || !plural || !kind || !json_is_array(versions) ||
        json_array_size(versions) == 0)
        return err_set(ERR_INVALID, "spec: group, names.plural, names.kind and versions are "
                                    "required");
    resources_crd_remove(name, resources_drop_none, NULL);
    json_array_foreach(versions, i, v)
    {
        const char *vname = json_string_value(json_object_get(v, "name"));
        struct resources_crd *c;
        json_t *served = json_object_get(v, "served");
        if (!vname || (served && !json_is_true(served)))
            continue;
        c = xcalloc(1, sizeof(*c));
        c->r.group = resources_keep(c, group);
        c->r.version = resources_keep(c, vname);
        c->r.kind = resources_keep(c, kind);
        c->r.plural = resources_keep(c, plural);
        c->r.singular = resources_keep(c, singular ? singular : "");
        c->r.namespaced = !scope || strcmp(scope, "Cluster") != 0;
        c->r.has_status = json_object_get(json_object_get(v, "subresources"), "status") != NULL;
        for (size_t k = 0; k < 2 && k < json_array_size(short_names); k++)
            c->r.short_names[k] =
                resources_keep(c, json_string_value(json_array_get(short_names, k)));
        if (json_array_size(categories) > 0)
            c->r.categories[0] =
                resources_keep(c, json_string_value(json_array_get(categories, 0)));
        c->r.crd = resources_keep(c, name);
        c->qualified = xasprintf("%s.%s", plural, group);
        resources_crds = xrealloc(resources_crds, (resources_ncrds + 1) * sizeof(*resources_crds));
        resources_crds[resources_ncrds++] = c;
    }
    return 0;
}

void resources_crd_remove(const char *name, void (*drop)(const struct resource *r, void *ctx),
                          void *ctx)
{
    size_t j = 0;
    for (size_t i = 0; i < resources_ncrds; i++) {
        struct resources_crd *c = resources_crds[i];
        if (strcmp(c->r.crd, name) == 0) {
            drop(&c->r, ctx);
            resources_crd_free(c);
        } else {
            resources_crds[j++] = c;
        }
    }
    resources_ncrds = j;
}

json_t *resources_api_versions(void)
{
    return json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
                     "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                     "127.0.0.1:6443");
}

json_t *resources_group_list(void)
{
    json_t *groups = json_array();
    json_t *byname = json_object(); /* group name -> group object, for dedup */
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        json_t *g, *versions, *gv;
        size_t k;
        int seen = 0;
        if (!r->group[0])
            continue;
        g = json_object_get(byname, r->group);
        if (!g) {
            char *gvs = xasprintf("%s/%s", r->group, r->version);
            g = json_pack("{s:s, s:[], s:{s:s, s:s}}", "name", r->group, "versions",
                          "preferredVersion", "groupVersion", gvs, "version", r->version);
            free(gvs);
            json_object_set_new(byname, r->group, g);
            json_array_append(groups, g);
        }
        versions = json_object_get(g, "versions");
        json_array_foreach(versions, k, gv)
        {
            if (strcmp(json_string_value(json_object_get(gv, "version")), r->version) == 0)
                seen = 1;
        }
        if (!seen) {
            char *gvs = xasprintf("%s/%s", r->group, r->version);
            json_array_append_new(
                versions, json_pack("{s:s, s:s}", "groupVersion", gvs, "version", r->version));
            free(gvs);
        }
    }
    json_decref(byname);
    return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
                     groups);
}

static json_t *resources_strings(const char *const *list, size_t max)
{
    json_t *a = json_array();
    for (size_t i = 0; i < max && list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

json_t *resources_resource_list(const char *group, const char *version)
{
    json_t *list = json_array();
    int any = 0;
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        json_t *e;
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        any = 1;
        e = json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s,s,s,s,s,s]}", "name", r->plural,
                      "singularName", r->singular, "namespaced", r->namespaced, "kind", r->kind,
                      "verbs", "create", "delete", "deletecollection", "get", "list", "patch",
                      "update", "watch");
        if (r->short_names[0])
            json_object_set_new(e, "shortNames", resources_strings(r->short_names, 3));
        if (r->categories[0])
            json_object_set_new(e, "categories", resources_strings(r->categories, 2));
        json_array_append_new(list, e);
        if (r->has_status) {
            char *sub = xasprintf("%s/status", r->plural);
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s]}", "name", sub,
                                            "singularName", "", "namespaced", r->namespaced, "kind",
                                            r->kind, "verbs", "get", "patch", "update"));
            free(sub);
        }
    }
    if (!any) {
        json_decref(list);
        return NULL;
    }
    {
        char *gv = group[0] ? xasprintf("%s/%s", group, version) : xstrdup(version);
        json_t *out = json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion",
                                "v1", "groupVersion", gv, "resources", list);
        free(gv);
        return out;
    }
}

static char *resources_gvpath(const struct resource *r)
{
    return r->group[0] ? xasprintf("apis/%s/%s", r->group, r->version)
                       : xasprintf("api/%s", r->version);
}

/*
 * kubectl decides whether the server validates fields itself by looking for
 * a fieldValidation query parameter on the PATCH operation of the kind's
 * path in OpenAPI v3. Advertising it makes kubectl skip client-side schema
 * validation (which would need real schemas) and send fieldValidation,
 * which kubesim accepts and ignores.
 */
json_t *resources_openapi_gv(const char *gvpath)
{
    json_t *paths = json_object();
    int any = 0;
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        char *p = resources_gvpath(r);
        char *url;
        json_t *gvk, *param, *op;
        if (strcmp(p, gvpath) != 0) {
            free(p);
            continue;
        }
        any = 1;
        url = r->namespaced ? xasprintf("/%s/namespaces/{namespace}/%s/{name}", p, r->plural)
                            : xasprintf("/%s/%s/{name}", p, r->plural);
        gvk =
            json_pack("{s:s, s:s, s:s}", "group", r->group, "version", r->version, "kind", r->kind);
        param = json_pack("{s:s, s:s, s:{s:s}, s:b}", "name", "fieldValidation", "in", "query",
                          "schema", "type", "string", "uniqueItems", 1);
        op = json_pack("{s:s, s:[o], s:{s:{s:s}}, s:o}", "operationId", r->kind, "parameters",
                       param, "responses", "200", "description", "OK",
                       "x-kubernetes-group-version-kind", gvk);
        json_object_set_new(
            paths, url,
            json_pack("{s:o, s:o}", "patch", op, "get",
                      json_pack("{s:{s:{s:s}}}", "responses", "200", "description", "OK")));
        free(url);
        free(p);
    }
    if (!any) {
        json_decref(paths);
        return NULL;
    }
    return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{}}", "openapi", "3.0.0", "info", "title",
                     "Kubernetes", "version", "v1.35.0", "paths", paths, "components");
}

json_t *resources_openapi_index(void)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < resources_count(); i++) {
        const struct resource *r = resources_at(i);
        char *p = resources_gvpath(r);
        if (!json_object_get(paths, p)) {
            /* The hash changes with the document so kubectl's cache of
             * it is refreshed when a CRD changes the group. */
            json_t *doc = resources_openapi_gv(p);
            char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
            char hex[65], *url;
            util_sha256_hex(text, strlen(text), hex);
            url = xasprintf("/openapi/v3/%s?hash=%.32s", p, hex);
            json_object_set_new(paths, p, json_pack("{s:s}", "serverRelativeURL", url));
            free(url);
            free(text);
            json_decref(doc);
        }
        free(p);
    }
    return json_pack("{s:o}", "paths", paths);
}
