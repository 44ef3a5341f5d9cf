/*
 * The rules that turn a backed-up object into the object a restore
 * creates, kept apart from the cluster so they can be tested alone:
 * Velero's restore order, the fields the API server fills in (stripped),
 * the labels a restore adds, and edgecd's tracking (removed from copies in
 * a mapped namespace, so the app that manages the original neither prunes
 * nor fights them).
 *
 * Why ownerReferences are rewritten rather than kept: the owner restored
 * from the same backup gets a new uid, and a reference to the old uid
 * would have the garbage collector delete the restored object. A
 * reference whose owner this restore did not (yet) put in the cluster is
 * dropped for the same reason.
 *
 * Pure functions on jansson trees; any thread.
 */
#ifndef EDGECD_BACKUP_PREPARE_H
#define EDGECD_BACKUP_PREPARE_H

#include <jansson.h>

#define PREPARE_LABEL_RESTORE "velero.io/restore-name"
#define PREPARE_LABEL_BACKUP "velero.io/backup-name"
/* edgecd's tracking; the engine's ENGINE_LABEL_APP and
 * ENGINE_ANNOTATION_TRACKING (a unit test keeps them equal: backup/ may not
 * include engine/). */
#define PREPARE_TRACKING_LABEL "edgecd.io/app"
#define PREPARE_TRACKING_ANNOTATION "edgecd.io/tracking-id"

/* Velero's restore order by resource ("configmaps",
 * "customresourcedefinitions.apiextensions.k8s.io"): 0 for CRDs up to
 * PREPARE_RANK_REST - 1 for ReplicaSets; everything else is
 * PREPARE_RANK_REST. */
#define PREPARE_RANK_REST 11
int prepare_rank(const char *resource);

/* The ownerReference with controller: true (borrowed), or NULL. */
const json_t *prepare_controller(const json_t *obj);

struct prepare_options {
    const char *restore_name;
    const char *backup_name;
    const char *target_namespace; /* NULL: keep metadata.namespace */
    int restore_status;           /* keep status */
    int preserve_nodeports;       /* keep a Service's spec.ports[].nodePort */
    int untrack;                  /* remove edgecd's tracking label and annotation */
    /* old uid -> new uid of owners already in the cluster; references to
     * other owners are dropped */
    const json_t *owners;
};

/* A new object made from obj for creating: server-populated fields
 * stripped, namespace mapped, labels added, tracking removed when asked,
 * ownerReferences rewritten (see above). *out_dropped (may be NULL)
 * becomes a new array naming each dropped reference ("ReplicaSet web-1"),
 * or NULL when none was. A Namespace object is renamed to
 * target_namespace. */
json_t *prepare_object(const json_t *obj, const struct prepare_options *o, json_t **out_dropped);

#endif
