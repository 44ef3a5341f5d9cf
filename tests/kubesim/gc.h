/*
 * Deletion as the real control plane does it: finalizers, propagation
 * policies, the garbage collector for ownerReferences and namespace
 * termination.
 *
 * An object with finalizers is not removed by DELETE but marked
 * (deletionTimestamp, deletionGracePeriodSeconds 0) and goes when an
 * update removes its last finalizer. Background deletion removes the owner
 * and lets the collector remove dependents whose owners are all gone;
 * Foreground marks the owner with the foregroundDeletion finalizer, deletes
 * the dependents first and then the owner; Orphan marks it with the orphan
 * finalizer, strips the owner from its dependents' ownerReferences, then
 * lets it go. A deleted namespace turns Terminating, its contents are
 * deleted (each honouring its finalizers) and then it goes.
 *
 * kubesim has no controller delays: the collector runs synchronously, to a
 * fixed point, at the end of every request that deleted something or
 * updated an object being deleted, so clients see the real sequence of
 * watch events, only faster.
 *
 * Not thread-safe: callers hold the API lock.
 */
#ifndef KUBESIM_GC_H
#define KUBESIM_GC_H

#include <jansson.h>

#include "resources.h"

enum gc_policy { GC_BACKGROUND, GC_FOREGROUND, GC_ORPHAN };

/* "Background", "Foreground", "Orphan"; -1 for anything else. */
int gc_policy_parse(const char *s, enum gc_policy *out);

/* Delete the object of kind r stored in rec (borrowed): mark it when
 * finalizers (its own or the policy's) must run first, else remove it.
 * Returns the state to answer the DELETE with (a new reference). Leaves
 * collecting to gc_collect, which the caller runs once when done. */
json_t *gc_delete(const struct resource *r, const json_t *rec, enum gc_policy policy);

/* For a write of obj (the new state, about to be stored) over old (NULL on
 * create): keep the server-owned deletion fields of old, keep a
 * terminating namespace Terminating, and refuse new finalizers on an
 * object being deleted (ERR_INVALID, message in err_last(), *field set). */
int gc_check_write(const struct resource *r, const json_t *old, json_t *obj, const char **field);

/* If obj, the new state of an object being deleted, has no finalizers
 * left: remove the object (DELETED carrying obj with a new
 * resourceVersion) and return 1. Else 0. */
int gc_finalized(const struct resource *r, const json_t *obj);

/* 1 if obj is being deleted (has a deletionTimestamp). */
int gc_deleting(const json_t *obj);

/* Run the garbage collector and namespace termination until nothing
 * changes. */
void gc_collect(void);

#endif
