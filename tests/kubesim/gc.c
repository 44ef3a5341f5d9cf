/*
 * The collector works in passes over a snapshot of the records it may
 * have to act on (objects_flagged_refs: objects being deleted and objects
 * with owners), so a store of many plain objects costs it nothing. A pass acts on what the snapshot
 * shows but re-reads an object from the store before changing it, since an earlier step of the same
 * pass may have changed or removed it; the loop ends when a pass changes nothing. Removing a
 * CustomResourceDefinition frees kinds the snapshot points at, so a pass stops right after that and
 * a new one starts from a fresh snapshot.
 *
 * Writes made here keep the object's managers and take a new
 * resourceVersion like any other, so watches see them.
 */
#include "gc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "objects.h"

/* Passes before giving up: each pass that changes something removes or
 * marks at least one object or drops a finalizer or reference, so only a
 * store of more objects than this could need more. */
#define GC_MAX_PASSES 100000

static int gc_kinds_changed;

int gc_policy_parse(const char *s, enum gc_policy *out)
{
    if (strcmp(s, "Background") == 0)
        *out = GC_BACKGROUND;
    else if (strcmp(s, "Foreground") == 0)
        *out = GC_FOREGROUND;
    else if (strcmp(s, "Orphan") == 0)
        *out = GC_ORPHAN;
    else
        return -1;
    return 0;
}

static json_t *gc_meta(const json_t *obj)
{
    return json_object_get(obj, "metadata");
}

static const char *gc_meta_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(gc_meta(obj), key));
}

static int gc_is(const struct resource *r, const char *group, const char *kind)
{
    return !r->crd && strcmp(r->group, group) == 0 && strcmp(r->kind, kind) == 0;
}

int gc_deleting(const json_t *obj)
{
    return json_object_get(gc_meta(obj), "deletionTimestamp") != NULL;
}

static int gc_has(const json_t *list, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

static void gc_drop(json_t *list, const char *s)
{
    for (size_t i = json_array_size(list); i > 0; i--) {
        const char *v = json_string_value(json_array_get(list, i - 1));
        if (v && strcmp(v, s) == 0)
            json_array_remove(list, i - 1);
    }
}

static void gc_drop_kind(const struct resource *r, void *ctx)
{
    (void)ctx;
    objects_drop_resource(r);
}

/* Remove the object whose final state is last. */
static void gc_remove(const struct resource *r, const json_t *last)
{
    const char *ns = gc_meta_str(last, "namespace");
    const char *name = gc_meta_str(last, "name");
    if (gc_is(r, "apiextensions.k8s.io", "CustomResourceDefinition")) {
        resources_crd_remove(name, gc_drop_kind, NULL);
        gc_kinds_changed = 1;
    }
    objects_remove_last(r, ns, name, last);
}

int gc_finalized(const struct resource *r, const json_t *obj)
{
    if (!gc_deleting(obj) || json_array_size(json_object_get(gc_meta(obj), "finalizers")) > 0)
        return 0;
    if (gc_is(r, "", "Namespace") &&
        json_array_size(json_object_get(json_object_get(obj, "spec"), "finalizers")) > 0)
        return 0;
    gc_remove(r, obj);
    return 1;
}

/* Store obj (stolen) as the new state of rec's object, or remove the
 * object if obj is being deleted and has no finalizers left. */
static void gc_store(const struct resource *r, const json_t *rec, json_t *obj)
{
    json_t *managers = json_object_get(rec, "managers");
    char rv[32];
    if (gc_finalized(r, obj)) {
        json_decref(obj);
        return;
    }
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_next_rv());
    json_object_set_new(gc_meta(obj), "resourceVersion", json_string(rv));
    objects_put(r, gc_meta_str(obj, "namespace"), gc_meta_str(obj, "name"),
                json_pack("{s:o, s:o}", "object", obj, "managers",
                          json_is_array(managers) ? json_deep_copy(managers) : json_array()));
}

json_t *gc_delete(const struct resource *r, const json_t *rec, enum gc_policy policy)
{
    const json_t *obj = json_object_get(rec, "object");
    int is_ns = gc_is(r, "", "Namespace");
    json_t *fins, *next, *meta;
    char now[21];
    json_int_t gen;

    if (gc_deleting(obj))
        return json_deep_copy(obj);
    fins = json_deep_copy(json_object_get(gc_meta(obj), "finalizers"));
    if (!json_is_array(fins)) {
        json_decref(fins);
        fins = json_array();
    }
    if (!is_ns && policy == GC_FOREGROUND && !gc_has(fins, "foregroundDeletion"))
        json_array_append_new(fins, json_string("foregroundDeletion"));
    if (!is_ns && policy == GC_ORPHAN && !gc_has(fins, "orphan"))
        json_array_append_new(fins, json_string("orphan"));
    if (json_array_size(fins) == 0 && !is_ns) {
        json_decref(fins);
        next = json_deep_copy(obj);
        gc_remove(r, obj);
        return next;
    }
    next = json_deep_copy(obj);
    meta = gc_meta(next);
    time_rfc3339(now);
    json_object_set_new(meta, "deletionTimestamp", json_string(now));
    json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
    gen = json_integer_value(json_object_get(meta, "generation"));
    if (gen > 0)
        json_object_set_new(meta, "generation", json_integer(gen + 1));
    if (json_array_size(fins) > 0)
        json_object_set(meta, "finalizers", fins);
    json_decref(fins);
    if (is_ns)
        json_object_set_new(next, "status", json_pack("{s:s}", "phase", "Terminating"));
    gc_store(r, rec, json_incref(next));
    return next;
}

int gc_check_write(const struct resource *r, const json_t *old, json_t *obj, const char **field)
{
    json_t *meta = gc_meta(obj);
    const json_t *ometa = gc_meta(old);
    const json_t *ofins = json_object_get(ometa, "finalizers");
    const json_t *fins = json_object_get(meta, "finalizers");
    struct buf added = BUF_INIT;
    size_t i;
    const json_t *f;
    int rc = 0;

    if (!old || !gc_deleting(old)) {
        json_object_del(meta, "deletionTimestamp");
        json_object_del(meta, "deletionGracePeriodSeconds");
        return 0;
    }
    json_object_set(meta, "deletionTimestamp", json_object_get(ometa, "deletionTimestamp"));
    json_object_set(meta, "deletionGracePeriodSeconds",
                    json_object_get(ometa, "deletionGracePeriodSeconds"));
    json_array_foreach(fins, i, f)
    {
        if (json_is_string(f) && !gc_has(ofins, json_string_value(f)))
            buf_printf(&added, "%s\"%s\"", added.len ? ", " : "", json_string_value(f));
    }
    if (added.len) {
        *field = "metadata.finalizers";
        rc = err_set(ERR_INVALID,
                     "Forbidden: no new finalizers can be added if the object is being deleted, "
                     "found new finalizers []string{%s}",
                     buf_cstr(&added));
    }
    buf_dispose(&added);
    if (gc_is(r, "", "Namespace")) {
        json_t *spec = json_object_get(obj, "spec");
        const json_t *ospec_fins = json_object_get(json_object_get(old, "spec"), "finalizers");
        json_t *ostatus = json_object_get(old, "status");
        json_object_set_new(obj, "status",
                            ostatus ? json_deep_copy(ostatus)
                                    : json_pack("{s:s}", "phase", "Terminating"));
        if (!json_is_object(spec)) {
            spec = json_object();
            json_object_set_new(obj, "spec", spec);
        }
        if (ospec_fins)
            json_object_set(spec, "finalizers", (json_t *)ospec_fins);
        else
            json_object_del(spec, "finalizers");
    }
    return rc;
}

/* The stored record of the object obj shows, if it is still the same
 * object (same uid); borrowed. */
static json_t *gc_current(const struct resource *r, const json_t *obj)
{
    json_t *rec = objects_get(r, gc_meta_str(obj, "namespace"), gc_meta_str(obj, "name"));
    const char *uid = gc_meta_str(obj, "uid");
    const char *cur = gc_meta_str(json_object_get(rec, "object"), "uid");
    if (!rec || !uid || !cur || strcmp(uid, cur) != 0)
        return NULL;
    return rec;
}

/* The reference to owner uid in obj's ownerReferences; NULL if none. */
static const json_t *gc_owner_ref(const json_t *obj, const char *uid)
{
    size_t i;
    const json_t *ref;
    json_array_foreach(json_object_get(gc_meta(obj), "ownerReferences"), i, ref)
    {
        const char *u = json_string_value(json_object_get(ref, "uid"));
        if (u && strcmp(u, uid) == 0)
            return ref;
    }
    return NULL;
}

/* Remove the "orphan" finalizer's work: strip the owner from every
 * dependent, then the finalizer. */
static int gc_orphan(const struct resource *r, const json_t *obj, const struct objects_ref *refs,
                     size_t n)
{
    const char *uid = gc_meta_str(obj, "uid");
    json_t *rec, *next;
    for (size_t j = 0; j < n; j++) {
        const json_t *dobj = json_object_get(refs[j].rec, "object");
        json_t *drec, *dnext, *list;
        if (!gc_owner_ref(dobj, uid) || !(drec = gc_current(refs[j].r, dobj)))
            continue;
        dnext = json_deep_copy(json_object_get(drec, "object"));
        list = json_object_get(gc_meta(dnext), "ownerReferences");
        for (size_t k = json_array_size(list); k > 0; k--) {
            const char *u = json_string_value(json_object_get(json_array_get(list, k - 1), "uid"));
            if (u && strcmp(u, uid) == 0)
                json_array_remove(list, k - 1);
        }
        if (json_array_size(list) == 0)
            json_object_del(gc_meta(dnext), "ownerReferences");
        gc_store(refs[j].r, drec, dnext);
        if (gc_kinds_changed)
            return 1;
    }
    if (!(rec = gc_current(r, obj)))
        return 1;
    next = json_deep_copy(json_object_get(rec, "object"));
    gc_drop(json_object_get(gc_meta(next), "finalizers"), "orphan");
    gc_store(r, rec, next);
    return 1;
}

/* Foreground: delete the dependents (foreground too, so the whole tree
 * goes bottom-up); once none that blocks its owner is left, drop the
 * foregroundDeletion finalizer. 1 if anything changed. */
static int gc_foreground(const struct resource *r, const json_t *obj,
                         const struct objects_ref *refs, size_t n)
{
    const char *uid = gc_meta_str(obj, "uid");
    int changed = 0, blocked = 0;
    json_t *rec, *next;
    for (size_t j = 0; j < n; j++) {
        const json_t *dobj = json_object_get(refs[j].rec, "object");
        const json_t *ref = gc_owner_ref(dobj, uid);
        json_t *drec;
        if (!ref || !(drec = gc_current(refs[j].r, dobj)))
            continue;
        if (!gc_deleting(json_object_get(drec, "object"))) {
            json_decref(gc_delete(refs[j].r, drec, GC_FOREGROUND));
            changed = 1;
            if (gc_kinds_changed)
                return 1;
        }
        if (gc_current(refs[j].r, dobj) && json_is_true(json_object_get(ref, "blockOwnerDeletion")))
            blocked = 1;
    }
    if (blocked || !(rec = gc_current(r, obj)))
        return changed;
    next = json_deep_copy(json_object_get(rec, "object"));
    gc_drop(json_object_get(gc_meta(next), "finalizers"), "foregroundDeletion");
    gc_store(r, rec, next);
    return 1;
}

static int gc_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k1 SEP n1 SUFFIX, k2 ..." for the counts in counts, keys sorted. */
static void gc_counts_text(struct buf *out, const json_t *counts, const char *sep,
                           const char *suffix)
{
    const char **keys = xcalloc(json_object_size(counts) + 1, sizeof(*keys));
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)counts, k, v) keys[n++] = k;
    qsort(keys, n, sizeof(*keys), gc_cmp_str);
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "%s%s%s%lld%s", i ? ", " : "", keys[i], sep,
                   (long long)json_integer_value(json_object_get(counts, keys[i])), suffix);
    free(keys);
}

static void gc_count(json_t *counts, const char *key)
{
    json_object_set_new(counts, key,
                        json_integer(json_integer_value(json_object_get(counts, key)) + 1));
}

/* One namespace condition; its lastTransitionTime stays from old when
 * the status is the same. */
static json_t *gc_condition(const json_t *old, const char *type, int on, const char *reason,
                            const char *message)
{
    size_t i;
    const json_t *c;
    char now[21];
    const char *status = on ? "True" : "False";
    json_t *cond;
    time_rfc3339(now);
    cond = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                     "lastTransitionTime", now, "reason", reason, "message", message);
    json_array_foreach(old, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t && st && strcmp(t, type) == 0 && strcmp(st, status) == 0 &&
            json_object_get(c, "lastTransitionTime"))
            json_object_set(cond, "lastTransitionTime", json_object_get(c, "lastTransitionTime"));
    }
    return cond;
}

/* The conditions a terminating namespace shows about the n objects still
 * in it, as the real namespace controller words them. */
static json_t *gc_ns_conditions(const json_t *old, const struct objects_ref *in, size_t n)
{
    json_t *kinds = json_object(), *fins = json_object(), *out;
    struct buf rm = BUF_INIT, fm = BUF_INIT;
    for (size_t j = 0; j < n; j++) {
        const json_t *dobj = json_object_get(in[j].rec, "object");
        char *key = xasprintf("%s.%s", in[j].r->plural, in[j].r->group);
        size_t i;
        const json_t *f;
        gc_count(kinds, key);
        free(key);
        json_array_foreach(json_object_get(gc_meta(dobj), "finalizers"), i, f)
        {
            if (json_is_string(f))
                gc_count(fins, json_string_value(f));
        }
    }
    if (n) {
        buf_puts(&rm, "Some resources are remaining: ");
        gc_counts_text(&rm, kinds, " has ", " resource instances");
    }
    if (json_object_size(fins)) {
        buf_puts(&fm, "Some content in the namespace has finalizers remaining: ");
        gc_counts_text(&fm, fins, " in ", " resource instances");
    }
    out = json_array();
    json_array_append_new(out, gc_condition(old, "NamespaceDeletionDiscoveryFailure", 0,
                                            "ResourcesDiscovered",
                                            "All resources successfully discovered"));
    json_array_append_new(out, gc_condition(old, "NamespaceDeletionGroupVersionParsingFailure", 0,
                                            "ParsedGroupVersions",
                                            "All legacy kube types successfully parsed"));
    json_array_append_new(out,
                          gc_condition(old, "NamespaceDeletionContentFailure", 0, "ContentDeleted",
                                       "All content successfully deleted, may be waiting "
                                       "on finalization"));
    json_array_append_new(out,
                          gc_condition(old, "NamespaceContentRemaining", n > 0,
                                       n ? "SomeResourcesRemain" : "ContentRemoved",
                                       n ? buf_cstr(&rm) : "All content successfully removed"));
    json_array_append_new(
        out,
        gc_condition(old, "NamespaceFinalizersRemaining", json_object_size(fins) > 0,
                     json_object_size(fins) ? "SomeFinalizersRemain" : "ContentHasNoFinalizers",
                     json_object_size(fins) ? buf_cstr(&fm)
                                            : "All content-preserving finalizers finished"));
    buf_dispose(&rm);
    buf_dispose(&fm);
    json_decref(kinds);
    json_decref(fins);
    return out;
}

/* A terminating namespace: delete what is in it, say in its conditions
 * what is left; once it is empty, its own finalizer goes and with it the
 * namespace. */
static int gc_namespace(const struct resource *r, const json_t *obj)
{
    const char *name = gc_meta_str(obj, "name");
    struct objects_ref *in = NULL;
    size_t n = objects_all(&in, name), nleft;
    int changed = 0;
    json_t *rec, *next, *conds;
    const json_t *old_conds;
    for (size_t j = 0; j < n && !gc_kinds_changed; j++) {
        const json_t *dobj = json_object_get(in[j].rec, "object");
        json_t *drec;
        if (!(drec = gc_current(in[j].r, dobj)) || gc_deleting(json_object_get(drec, "object")))
            continue;
        json_decref(gc_delete(in[j].r, drec, GC_BACKGROUND));
        changed = 1;
    }
    objects_refs_free(in, n);
    if (gc_kinds_changed || !(rec = gc_current(r, obj)))
        return 1;
    nleft = objects_all(&in, name);
    old_conds =
        json_object_get(json_object_get(json_object_get(rec, "object"), "status"), "conditions");
    conds = gc_ns_conditions(old_conds, in, nleft);
    objects_refs_free(in, nleft);
    if (nleft > 0) {
        if (!json_equal(conds, old_conds)) {
            next = json_deep_copy(json_object_get(rec, "object"));
            json_object_set_new(
                next, "status",
                json_pack("{s:s, s:o}", "phase", "Terminating", "conditions", conds));
            gc_store(r, rec, next);
            return 1;
        }
        json_decref(conds);
        return changed;
    }
    if (!gc_has(
            json_object_get(json_object_get(json_object_get(rec, "object"), "spec"), "finalizers"),
            "kubernetes")) {
        json_decref(conds);
        return changed;
    }
    next = json_deep_copy(json_object_get(rec, "object"));
    json_object_set_new(next, "status",
                        json_pack("{s:s, s:o}", "phase", "Terminating", "conditions", conds));
    gc_drop(json_object_get(json_object_get(next, "spec"), "finalizers"), "kubernetes");
    gc_store(r, rec, next);
    return 1;
}

/* A dependent whose owners are all gone is deleted (in the background). */
static int gc_dependent(const struct resource *r, const json_t *obj)
{
    const json_t *owners;
    size_t i;
    const json_t *ref;
    json_t *rec;
    if (json_array_size(json_object_get(gc_meta(obj), "ownerReferences")) == 0)
        return 0;
    /* Earlier steps of this pass may have changed the references. */
    if (!(rec = gc_current(r, obj)) || gc_deleting(json_object_get(rec, "object")))
        return 0;
    owners = json_object_get(gc_meta(json_object_get(rec, "object")), "ownerReferences");
    if (json_array_size(owners) == 0)
        return 0;
    json_array_foreach(owners, i, ref)
    {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        if (uid && objects_by_uid(uid))
            return 0;
    }
    json_decref(gc_delete(r, rec, GC_BACKGROUND));
    return 1;
}

static int gc_pass(void)
{
    struct objects_ref *refs = NULL;
    size_t n = objects_flagged_refs(&refs);
    int changed = 0;

    gc_kinds_changed = 0;
    for (size_t i = 0; i < n && !gc_kinds_changed; i++) {
        const struct resource *r = refs[i].r;
        const json_t *obj = json_object_get(refs[i].rec, "object");
        const json_t *fins = json_object_get(gc_meta(obj), "finalizers");
        if (gc_deleting(obj)) {
            if (gc_is(r, "", "Namespace"))
                changed |= gc_namespace(r, obj);
            else if (gc_has(fins, "orphan"))
                changed |= gc_orphan(r, obj, refs, n);
            else if (gc_has(fins, "foregroundDeletion"))
                changed |= gc_foreground(r, obj, refs, n);
        }
        if (!gc_kinds_changed)
            changed |= gc_dependent(r, obj);
    }
    objects_refs_free(refs, n);
    return changed || gc_kinds_changed;
}

void gc_collect(void)
{
    for (int pass = 0; pass < GC_MAX_PASSES && gc_pass(); pass++)
        ;
}
