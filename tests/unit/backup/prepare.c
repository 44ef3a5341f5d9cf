/*
 * Tests for backup/prepare.c and the spec check of backup/restore.c:
 * Velero's restore order, the server fields stripped (and what is kept),
 * Services' addresses and node ports, the restore's labels, edgecd's
 * tracking removed only from copies, ownerReferences rewritten to new
 * owners or dropped, the controller test, and restore specs refused.
 */
#include <string.h>

#include "backup/prepare.h"
#include "backup/restore.h"
#include "doc/doc.h"
#include "engine/engine.h"
#include "test.h"

static json_t *obj_of(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    if (!o) {
        fprintf(stderr, "bad JSON %s\n", json);
        exit(2);
    }
    return o;
}

TEST(order_is_veleros)
{
    static const char *const order[] = {
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
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        CHECK(prepare_rank(order[i]) == (int)i);
    CHECK(prepare_rank("deployments.apps") == PREPARE_RANK_REST);
    CHECK(prepare_rank("widgets.edge.example.com") == PREPARE_RANK_REST);
    CHECK(prepare_rank("services") == PREPARE_RANK_REST);
    /* a kind of the same plural in another group is not the core one */
    CHECK(prepare_rank("pods.metrics.k8s.io") == PREPARE_RANK_REST);
    CHECK(prepare_rank("customresourcedefinitions") == PREPARE_RANK_REST);
}

TEST(tracking_names_are_the_engines)
{
    CHECK_STR(PREPARE_TRACKING_LABEL, ENGINE_LABEL_APP);
    CHECK_STR(PREPARE_TRACKING_ANNOTATION, ENGINE_ANNOTATION_TRACKING);
}

TEST(server_fields_stripped)
{
    json_t *in = obj_of(
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
        "\"namespace\":\"shop\",\"uid\":\"u1\",\"resourceVersion\":\"42\",\"generation\":3,"
        "\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"selfLink\":\"/x\",\"managedFields\":[{}],"
        "\"labels\":{\"app\":\"web\"},\"annotations\":{\"note\":\"kept\"}},"
        "\"spec\":{\"replicas\":2},\"status\":{\"readyReplicas\":2}}");
    json_t *before = json_deep_copy(in), *out, *dropped = (json_t *)1;
    struct prepare_options o = {"r1", "b1", NULL, 0, 0, 0, NULL};
    const char *const gone[] = {"metadata.uid",
                                "metadata.resourceVersion",
                                "metadata.generation",
                                "metadata.creationTimestamp",
                                "metadata.selfLink",
                                "metadata.managedFields",
                                "status"};

    out = prepare_object(in, &o, &dropped);
    CHECK(dropped == NULL);
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        CHECK(doc_get(out, gone[i]) == NULL);
    CHECK_STR(doc_get_str(out, "metadata.name"), "web");
    CHECK_STR(doc_get_str(out, "metadata.namespace"), "shop");
    CHECK_STR(doc_get_str(out, "metadata.labels.app"), "web");
    CHECK_STR(doc_get_str(out, "metadata.labels.velero.io/restore-name"), "r1");
    CHECK_STR(doc_get_str(out, "metadata.labels.velero.io/backup-name"), "b1");
    CHECK_STR(doc_get_str(out, "metadata.annotations.note"), "kept");
    CHECK(json_integer_value(doc_get(out, "spec.replicas")) == 2);
    CHECK(doc_equal(in, before)); /* the input is not touched */
    json_decref(out);

    o.restore_status = 1;
    out = prepare_object(in, &o, NULL);
    CHECK(json_integer_value(doc_get(out, "status.readyReplicas")) == 2);
    CHECK(doc_get(out, "metadata.uid") == NULL);
    json_decref(out);
    json_decref(in);
    json_decref(before);
}

TEST(services_get_new_addresses)
{
    json_t *in =
        obj_of("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
               "\"namespace\":\"shop\"},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":"
               "\"10.0.0.7\",\"clusterIPs\":[\"10.0.0.7\"],\"healthCheckNodePort\":31000,"
               "\"ports\":[{\"port\":80,\"nodePort\":30080}]}}");
    json_t *headless =
        obj_of("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
               "\"db\"},\"spec\":{\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"]}}");
    json_t *out;
    struct prepare_options o = {"r1", "b1", NULL, 0, 0, 0, NULL};

    out = prepare_object(in, &o, NULL);
    CHECK(doc_get(out, "spec.clusterIP") == NULL);
    CHECK(doc_get(out, "spec.clusterIPs") == NULL);
    CHECK(doc_get(out, "spec.healthCheckNodePort") == NULL);
    CHECK(json_object_get(json_array_get(doc_get(out, "spec.ports"), 0), "nodePort") == NULL);
    CHECK(json_integer_value(
              json_object_get(json_array_get(doc_get(out, "spec.ports"), 0), "port")) == 80);
    json_decref(out);
    o.preserve_nodeports = 1;
    out = prepare_object(in, &o, NULL);
    CHECK(doc_get(out, "spec.clusterIP") == NULL);
    CHECK(json_integer_value(
              json_object_get(json_array_get(doc_get(out, "spec.ports"), 0), "nodePort")) == 30080);
    json_decref(out);
    out = prepare_object(headless, &o, NULL);
    CHECK_STR(doc_get_str(out, "spec.clusterIP"), "None");
    json_decref(out);
    json_decref(in);
    json_decref(headless);
}

TEST(mapping_and_tracking)
{
    json_t *in =
        obj_of("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"m\","
               "\"namespace\":\"shop\",\"labels\":{\"edgecd.io/app\":\"shop\"},"
               "\"annotations\":{\"edgecd.io/tracking-id\":\"shop:/ConfigMap:shop/m\"}}}");
    json_t *ns = obj_of("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                        "\"shop\",\"labels\":{\"team\":\"a\"}}}");
    json_t *out;
    struct prepare_options o = {"r1", "b1", NULL, 0, 0, 0, NULL};

    /* in place: restored as it was, the app sees it Synced */
    out = prepare_object(in, &o, NULL);
    CHECK_STR(doc_get_str(out, "metadata.labels.edgecd.io/app"), "shop");
    CHECK_STR(doc_get_str(out, "metadata.annotations.edgecd.io/tracking-id"),
              "shop:/ConfigMap:shop/m");
    json_decref(out);
    /* a copy: tracking gone, so the app neither prunes nor fights it */
    o.target_namespace = "shop-copy";
    o.untrack = 1;
    out = prepare_object(in, &o, NULL);
    CHECK_STR(doc_get_str(out, "metadata.namespace"), "shop-copy");
    CHECK(doc_get(out, "metadata.labels.edgecd.io/app") == NULL);
    CHECK(doc_get(out, "metadata.annotations") == NULL);
    CHECK_STR(doc_get_str(out, "metadata.labels.velero.io/restore-name"), "r1");
    json_decref(out);
    out = prepare_object(ns, &o, NULL);
    CHECK_STR(doc_get_str(out, "metadata.name"), "shop-copy");
    CHECK(doc_get(out, "metadata.namespace") == NULL);
    CHECK_STR(doc_get_str(out, "metadata.labels.team"), "a");
    json_decref(out);
    json_decref(in);
    json_decref(ns);
}

TEST(owner_references)
{
    json_t *in = obj_of(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":"
        "\"shop\",\"ownerReferences\":[{\"apiVersion\":\"edge.example.com/v1\",\"kind\":\"Widget\","
        "\"name\":\"w1\",\"uid\":\"old-w1\"},{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
        "\"name\":"
        "\"gone\",\"uid\":\"old-gone\",\"controller\":true}]}}");
    json_t *owners = obj_of("{\"old-w1\":\"new-w1\"}"), *out, *dropped = NULL;
    struct prepare_options o = {"r1", "b1", NULL, 0, 0, 0, owners};
    const json_t *refs;

    CHECK(prepare_controller(in) == json_array_get(doc_get(in, "metadata.ownerReferences"), 1));
    out = prepare_object(in, &o, &dropped);
    refs = doc_get(out, "metadata.ownerReferences");
    CHECK(json_array_size(refs) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(refs, 0), "uid")), "new-w1");
    CHECK_STR(json_string_value(json_object_get(json_array_get(refs, 0), "name")), "w1");
    CHECK(json_array_size(dropped) == 1);
    CHECK_STR(json_string_value(json_array_get(dropped, 0)), "ConfigMap gone");
    CHECK(prepare_controller(out) == NULL);
    json_decref(out);
    json_decref(dropped);
    /* no owner restored: no references left at all */
    o.owners = NULL;
    out = prepare_object(in, &o, &dropped);
    CHECK(doc_get(out, "metadata.ownerReferences") == NULL);
    CHECK(json_array_size(dropped) == 2);
    json_decref(out);
    json_decref(dropped);
    json_decref(owners);
    json_decref(in);
}

TEST(restore_specs)
{
    json_t *s = obj_of("{\"backupName\":\"b1\"}");
    static const char *const bad[] = {
        "{}",
        "{\"backupName\":\"b1\",\"existingResourcePolicy\":\"replace\"}",
        "{\"backupName\":\"b1\",\"namespaceMapping\":{\"shop\":\"Shop_Copy\"}}",
        "{\"backupName\":\"b1\",\"namespaceMapping\":[]}",
        "{\"backupName\":\"b1\",\"restoreStatus\":{\"includedResources\":[\"pods\"]}}",
        "{\"backupName\":\"b1\",\"includeClusterResources\":\"yes\"}",
        "{\"backupName\":\"b1\",\"dryRun\":\"yes\"}",
        "{\"backupName\":\"b1\",\"includedNamespaces\":[\"[a\"]}",
    };
    CHECK_OK(restore_spec_check(s));
    CHECK_STR(doc_get_str(s, "existingResourcePolicy"), "none");
    CHECK(json_is_object(json_object_get(s, "namespaceMapping")));
    CHECK(json_is_false(json_object_get(s, "dryRun")));
    CHECK(json_is_false(json_object_get(s, "preserveNodePorts")));
    CHECK_STR(json_string_value(json_array_get(json_object_get(s, "includedNamespaces"), 0)), "*");
    CHECK(json_object_get(s, "ttl") == NULL);
    json_decref(s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = obj_of(bad[i]);
        CHECK_ERR(restore_spec_check(s), ERR_INVALID);
        err_clear();
        json_decref(s);
    }
}

int main(void)
{
    RUN(order_is_veleros);
    RUN(tracking_names_are_the_engines);
    RUN(server_fields_stripped);
    RUN(services_get_new_addresses);
    RUN(mapping_and_tracking);
    RUN(owner_references);
    RUN(restore_specs);
    return TEST_END();
}
