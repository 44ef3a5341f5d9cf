/*
 * Restore's object rules (see prepare.h). The order table is Velero's
 * default priority list as the backups issue states it; the stripped
 * fields are those an API server fills in and refuses, or would misread,
 * on create.
 */
#include "backup/prepare.h"

#include <string.h>

#include "core/mem.h"
#include "doc/doc.h"

static const char *const prepare_order[PREPARE_RANK_REST] = {
    "customresourcedefinitions.apiextensions.k8s.io",
    "namespaces",
    "storageclasses.storage.k8s.io",
    "persistentvolumes",
    "persistentvolumeclaims",
    "secrets",
    "configmaps",
    "serviceaccounts",
    "limitranges",
    "pods",
    "replicasets.apps",
};

/* Set by the API server; a create with them is refused or misleading. */
static const char *const prepare_server_fields[] = {
    "uid",      "resourceVersion", "managedFields",     "creationTimestamp",
    "selfLink", "generation",      "deletionTimestamp", "deletionGracePeriodSeconds",
};

int prepare_rank(const char *resource)
{
    for (int i = 0; i < PREPARE_RANK_REST; i++)
        if (strcmp(resource, prepare_order[i]) == 0)
            return i;
    return PREPARE_RANK_REST;
}

const json_t *prepare_controller(const json_t *obj)
{
    const json_t *refs = doc_get(obj, "metadata.ownerReferences"), *ref;
    size_t i;
    json_array_foreach(refs, i, ref)
    {
        if (json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

/* A Service's addresses and ports come from the new cluster: the old
 * clusterIP may be taken or outside its range. "None" (headless) is a
 * choice, not an address, and stays. */
static void prepare_service(json_t *obj, const struct prepare_options *o)
{
    json_t *spec = json_object_get(obj, "spec"), *port;
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    size_t i;
    if (!json_is_object(spec))
        return;
    if (!ip || strcmp(ip, "None") != 0) {
        json_object_del(spec, "clusterIP");
        json_object_del(spec, "clusterIPs");
    }
    if (o->preserve_nodeports)
        return;
    json_object_del(spec, "healthCheckNodePort");
    json_array_foreach(json_object_get(spec, "ports"), i, port)
    {
        if (json_is_object(port))
            json_object_del(port, "nodePort");
    }
}

/* Rewrite each reference to its owner's new uid, or drop it. */
static void prepare_owners(json_t *meta, const struct prepare_options *o, json_t **dropped)
{
    json_t *refs = json_object_get(meta, "ownerReferences"), *kept, *ref;
    size_t i;
    if (!json_is_array(refs))
        return;
    kept = json_array();
    json_array_foreach(refs, i, ref)
    {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        const char *now = uid ? json_string_value(json_object_get(o->owners, uid)) : NULL;
        if (now && json_is_object(ref)) {
            json_t *copy = json_deep_copy(ref);
            json_object_set_new(copy, "uid", json_string(now));
            json_array_append_new(kept, copy);
            continue;
        }
        if (!*dropped)
            *dropped = json_array();
        json_array_append_new(*dropped,
                              json_sprintf("%s %s", json_string_value(json_object_get(ref, "kind")),
                                           json_string_value(json_object_get(ref, "name"))));
    }
    if (json_array_size(kept) > 0)
        json_object_set_new(meta, "ownerReferences", kept);
    else {
        json_decref(kept);
        json_object_del(meta, "ownerReferences");
    }
}

json_t *prepare_object(const json_t *obj, const struct prepare_options *o, json_t **out_dropped)
{
    json_t *out = json_deep_copy(obj), *meta, *labels, *ann, *dropped = NULL;
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *api = json_string_value(json_object_get(obj, "apiVersion"));
    int core = api && strcmp(api, "v1") == 0;

    if (out_dropped)
        *out_dropped = NULL;
    meta = json_object_get(out, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(out, "metadata", meta);
    }
    for (size_t i = 0; i < sizeof(prepare_server_fields) / sizeof(prepare_server_fields[0]); i++)
        json_object_del(meta, prepare_server_fields[i]);
    if (!o->restore_status)
        json_object_del(out, "status");
    if (core && kind && strcmp(kind, "Service") == 0)
        prepare_service(out, o);
    if (o->target_namespace) {
        if (core && kind && strcmp(kind, "Namespace") == 0)
            json_object_set_new(meta, "name", json_string(o->target_namespace));
        else if (json_object_get(meta, "namespace"))
            json_object_set_new(meta, "namespace", json_string(o->target_namespace));
    }
    prepare_owners(meta, o, &dropped);
    labels = json_object_get(meta, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(meta, "labels", labels);
    }
    ann = json_object_get(meta, "annotations");
    if (o->untrack) {
        json_object_del(labels, PREPARE_TRACKING_LABEL);
        if (json_is_object(ann))
            json_object_del(ann, PREPARE_TRACKING_ANNOTATION);
    }
    if (json_is_object(ann) && json_object_size(ann) == 0)
        json_object_del(meta, "annotations");
    json_object_set_new(labels, PREPARE_LABEL_BACKUP, json_string(o->backup_name));
    json_object_set_new(labels, PREPARE_LABEL_RESTORE, json_string(o->restore_name));
    if (out_dropped)
        *out_dropped = dropped;
    else
        json_decref(dropped);
    return out;
}
