/*
 * The verbs on resource URLs: get, list (selectors, limit/continue),
 * create, update, patch (server-side apply, JSON patch, merge and
 * strategic-merge), delete and deletecollection (finalizers and
 * propagation policies: gc.h). Each fills the response, a Status on
 * failure. Callers hold the API lock. Watches are in watch.h.
 */
#ifndef KUBESIM_VERBS_H
#define KUBESIM_VERBS_H

#include "httpd.h"
#include "resources.h"

struct verbs_call {
    const struct httpd_request *req;
    struct httpd_response *res;
    const struct resource *r;
    const char *ns;   /* NULL: cluster-scoped kind, or all namespaces */
    const char *name; /* NULL: the collection */
    const char *sub;  /* "status" or NULL */
};

void verbs_get(struct verbs_call *c);
void verbs_list(struct verbs_call *c);
void verbs_create(struct verbs_call *c);
void verbs_update(struct verbs_call *c);
void verbs_patch(struct verbs_call *c);
void verbs_delete(struct verbs_call *c);
void verbs_delete_collection(struct verbs_call *c);

/* Create a namespace at start-up (default, kube-system, kube-public). */
void verbs_bootstrap_namespace(const char *name);

#endif
