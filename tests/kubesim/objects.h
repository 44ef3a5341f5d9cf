/*
 * The object store: every object kubesim holds, in memory, keyed by
 * group/resource (not version: all served versions of a CRD share one set
 * of objects, as they do in etcd), then namespace/name. Each entry is a
 * record {"object": <the live object>, "managers": <its managedFields
 * array>} where the managers part is what server-side apply works from.
 * One counter gives every write its resourceVersion.
 *
 * Not thread-safe: callers hold the API lock (see handlers.c).
 */
#ifndef KUBESIM_OBJECTS_H
#define KUBESIM_OBJECTS_H

#include <jansson.h>
#include <stdint.h>

#include "resources.h"

void objects_init(void);
void objects_dispose(void);

/* The record of one object, borrowed; NULL if absent. ns is ignored for
 * cluster-scoped kinds. */
json_t *objects_get(const struct resource *r, const char *ns, const char *name);
/* Store (replace) a record; steals it. */
void objects_put(const struct resource *r, const char *ns, const char *name, json_t *record);
void objects_remove(const struct resource *r, const char *ns, const char *name);

/* The records of a kind (ns NULL = all namespaces) sorted by namespace
 * then name: a new array holding references. */
json_t *objects_list(const struct resource *r, const char *ns);

/* Remove every namespaced object in ns (namespace deletion). */
void objects_drop_namespace(const char *ns);
/* Remove every object of r's group/resource (CRD deletion). */
void objects_drop_resource(const struct resource *r);

/* The next resourceVersion (advances the counter) / the current one. */
uint64_t objects_next_rv(void);
uint64_t objects_rv(void);

#endif
