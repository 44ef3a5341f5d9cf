/*
 * The kinds kubesim serves: a fixed table of common built-in kinds plus the
 * kinds that CustomResourceDefinitions created through kubesim add. From
 * this one table come discovery (/api, /apis, APIResourceList), the
 * OpenAPI v3 documents kubectl's validation asks for, and URL routing.
 *
 * Not thread-safe: callers hold the API lock (see handlers.c). Pointers
 * returned stay valid until the CRD that made them is deleted.
 */
#ifndef KUBESIM_RESOURCES_H
#define KUBESIM_RESOURCES_H

#include <jansson.h>

struct resource {
    const char *group; /* "" for the core group */
    const char *version;
    const char *kind;
    const char *plural;
    const char *singular;
    int namespaced;
    int has_status;             /* status is a subresource: main-resource writes keep it */
    const char *short_names[3]; /* NULL-terminated */
    const char *categories[2];  /* NULL-terminated */
    const char *crd;            /* name of the CRD that made it; NULL for built-ins */
};

void resources_init(void);
void resources_dispose(void);

/* Lookup by URL parts or by kind; NULL if kubesim has no such resource. */
const struct resource *resources_find(const char *group, const char *version, const char *plural);
const struct resource *resources_find_kind(const char *group, const char *version,
                                           const char *kind);

/* Some served version of group/plural (all versions share one set of
 * stored objects); NULL if none. */
const struct resource *resources_find_plural(const char *group, const char *plural);

/* 1 if kubesim serves any resource in group/version. */
int resources_served(const char *group, const char *version);

/* "configmaps" for the core group, "deployments.apps" otherwise: the form
 * the API server's messages use. Borrowed, valid like r. */
const char *resources_qualified(const struct resource *r);

/* Add (or replace) the kinds a CRD object defines. 0 or ERR_INVALID. */
int resources_crd_put(const json_t *crd);
/* Forget the kinds of CRD name; calls drop(r, ctx) for each before it
 * goes so stored objects of the kind can be removed. */
void resources_crd_remove(const char *name, void (*drop)(const struct resource *r, void *ctx),
                          void *ctx);

/* Discovery documents, each a new reference. resource_list returns NULL
 * for a group/version kubesim does not serve. */
json_t *resources_api_versions(void);
json_t *resources_group_list(void);
json_t *resources_resource_list(const char *group, const char *version);

/* OpenAPI v3: the index (/openapi/v3) and one group-version document
 * ("api/v1", "apis/apps/v1"); NULL when unknown. New references. */
json_t *resources_openapi_index(void);
json_t *resources_openapi_gv(const char *gvpath);

#endif
