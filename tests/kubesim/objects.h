/*
 * The object store: every object kubesim holds, in memory, keyed by
 * group/resource (not version: all served versions of a CRD share one set
 * of objects, as they do in etcd), then namespace/name. Each entry is a
 * record {"object": <the live object>, "managers": <its managedFields
 * array>} where the managers part is what server-side apply works from.
 * One counter gives every write its resourceVersion. Every change goes
 * through objects_put or objects_remove, which feed the watch history
 * (watch.h): ADDED, MODIFIED, DELETED.
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
/* Store (replace) a record; steals it. The object must carry its new
 * metadata.resourceVersion (from objects_next_rv). */
void objects_put(const struct resource *r, const char *ns, const char *name, json_t *record);
/* Remove an object; the deletion takes a new resourceVersion, which the
 * DELETED event's copy of the object carries. */
void objects_remove(const struct resource *r, const char *ns, const char *name);
/* The same, with last (borrowed) as the object's final state for the
 * DELETED event: an update that removed the last finalizer. */
void objects_remove_last(const struct resource *r, const char *ns, const char *name,
                         const json_t *last);

/* One stored record with its kind. */
struct objects_ref {
    const struct resource *r;
    json_t *rec; /* a reference */
};
/* Every record of every kind (ns non-NULL: only the namespaced objects in
 * ns), into *out (a new array); returns the count. The references stay
 * valid after the store changes; the resources until a CRD goes. */
size_t objects_all(struct objects_ref **out, const char *ns);
void objects_refs_free(struct objects_ref *refs, size_t n);

/* The record of the object with this uid, borrowed; NULL if none. */
json_t *objects_by_uid(const char *uid);
/* The records the garbage collector must look at: objects being deleted
 * and objects with ownerReferences (as objects_all). */
size_t objects_flagged_refs(struct objects_ref **out);

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
