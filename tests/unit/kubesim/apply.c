/* Tests of tests/kubesim/apply.c: field sets, apply, update, patches. */
#include "apply.h"

#include "test.h"

static const struct resource deployments = {"apps", "v1", "Deployment", "deployments", "deployment",
                                            1,      1,    {NULL},       {NULL},        NULL};
static const struct resource configmaps = {"", "v1", "ConfigMap", "configmaps", "configmap",
                                           1,  0,    {NULL},      {NULL},       NULL};
static const struct resource services = {"", "v1", "Service", "services", "service",
                                         1,  1,    {NULL},    {NULL},     NULL};
static const struct resource widgets = {
    "example.com",        "v1", "Widget", "widgets", "widget", 1, 0, {NULL}, {NULL},
    "widgets.example.com"};

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
        abort();
    }
    return v;
}

/* 1 if v equals the JSON text. */
static int same(const json_t *v, const char *text)
{
    json_t *want = load(text);
    int eq = json_equal((json_t *)v, want);
    if (!eq) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "got  %s\nwant %s\n", got, text);
        free(got);
    }
    json_decref(want);
    return eq;
}

static const char deploy[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2,"
    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\","
    "\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},"
    "{\"name\":\"side\",\"image\":\"busybox\",\"args\":[\"x\"]}]}}}}";

TEST(fieldset_keys_lists_of_maps)
{
    json_t *obj = load(deploy);
    json_t *fs = apply_fieldset(&deployments, obj);
    CHECK(same(fs, "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:replicas\":{},"
                   "\"f:template\":{\"f:spec\":{\"f:containers\":{"
                   "\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},\"f:name\":{},\"f:image\":{},"
                   "\"f:ports\":{\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":"
                   "{\".\":{},\"f:containerPort\":{}}},"
                   "\"f:env\":{\"k:{\\\"name\\\":\\\"A\\\"}\":{\".\":{},\"f:name\":{},"
                   "\"f:value\":{}}}},"
                   "\"k:{\\\"name\\\":\\\"side\\\"}\":{\".\":{},\"f:name\":{},\"f:image\":{},"
                   "\"f:args\":{}}}}}}}"));
    json_decref(fs);
    json_decref(obj);
}

TEST(fieldset_deduced_for_custom_resources)
{
    json_t *obj =
        load("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":"
             "{\"name\":\"w\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"size\":3,\"l\":[1,2]}}");
    json_t *fs = apply_fieldset(&widgets, obj);
    /* Below the top level, maps of a schemaless kind are maps: every key
     * is a member; lists are atomic. Metadata keeps its real schema. */
    CHECK(same(fs, "{\"f:metadata\":{\"f:labels\":{\"f:a\":{}}},"
                   "\"f:spec\":{\"f:size\":{},\"f:l\":{}}}"));
    json_decref(fs);
    json_decref(obj);
}

TEST(set_paths_read_like_the_server)
{
    json_t *set = load("{\"f:data\":{\"f:key\":{}},\"f:spec\":{\"f:containers\":{"
                       "\"k:{\\\"name\\\":\\\"web\\\"}\":{\"f:image\":{}}},\"f:ports\":{"
                       "\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{}}},"
                       "\"f:metadata\":{\"f:finalizers\":{\"v:\\\"x\\\"\":{}}}}");
    struct buf out = BUF_INIT;
    apply_set_paths(set, "", &out);
    CHECK_STR(buf_cstr(&out), ".data.key\n"
                              ".metadata.finalizers[=\"x\"]\n"
                              ".spec.containers[name=\"web\"].image\n"
                              ".spec.ports[port=80,protocol=\"TCP\"]\n");
    buf_dispose(&out);
    json_decref(set);
}

static const char *const now1 = "2026-01-01T00:00:00Z", *const now2 = "2026-01-01T00:00:09Z";

/* Apply config (JSON text) by manager to *obj / *mgrs, replacing them. */
static int do_apply(const struct resource *r, json_t **obj, json_t **mgrs, const char *config,
                    const char *manager, int force, const char *now)
{
    json_t *cfg = load(config), *o = NULL, *m = NULL, *causes = NULL;
    int rc = apply_server_side(&o, &m, &causes, r, *obj, *mgrs, cfg, manager,
                               r->group[0] ? "apps/v1" : "v1", NULL, force, now);
    json_decref(cfg);
    json_decref(causes);
    if (rc < 0)
        return rc;
    json_decref(*obj);
    json_decref(*mgrs);
    *obj = o;
    *mgrs = m;
    return 0;
}

static const json_t *entry_of(const json_t *mgrs, const char *manager)
{
    size_t i;
    json_t *e;
    json_array_foreach(mgrs, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "manager")), manager) == 0)
            return e;
    }
    return NULL;
}

#define CM(data)                                                                                   \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":" data "}"

TEST(apply_create_reapply_and_prune)
{
    json_t *obj = NULL, *mgrs = NULL, *before;
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"1\",\"b\":\"2\"}"), "m", 0, now1));
    CHECK(same(mgrs, "[{\"manager\":\"m\",\"operation\":\"Apply\",\"apiVersion\":\"v1\","
                     "\"time\":\"2026-01-01T00:00:00Z\",\"fieldsType\":\"FieldsV1\","
                     "\"fieldsV1\":{\"f:data\":{\"f:a\":{},\"f:b\":{}}}}]"));
    before = json_deep_copy(obj);
    /* The same config again changes nothing, not even the time. */
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"1\",\"b\":\"2\"}"), "m", 0, now2));
    CHECK(json_equal(obj, before));
    CHECK_STR(json_string_value(json_object_get(entry_of(mgrs, "m"), "time")), now1);
    /* Dropping b removes it. */
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"1\"}"), "m", 0, now2));
    CHECK(same(json_object_get(obj, "data"), "{\"a\":\"1\"}"));
    CHECK_STR(json_string_value(json_object_get(entry_of(mgrs, "m"), "time")), now2);
    json_decref(before);
    json_decref(obj);
    json_decref(mgrs);
}

TEST(apply_conflicts_and_force)
{
    json_t *obj = NULL, *mgrs = NULL;
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"1\",\"b\":\"2\"}"), "one", 0, now1));
    CHECK_ERR(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"x\"}"), "two", 0, now2),
              ERR_CONFLICT);
    CHECK_STR(err_last(), "Apply failed with 1 conflict: conflict with \"one\": .data.a");
    CHECK_ERR(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"x\",\"b\":\"y\"}"), "two", 0, now2),
              ERR_CONFLICT);
    CHECK_STR(err_last(), "Apply failed with 2 conflicts: conflicts with \"one\":\n"
                          "- .data.a\n- .data.b");
    CHECK(same(json_object_get(obj, "data"), "{\"a\":\"1\",\"b\":\"2\"}"));
    /* Same value: shared, no conflict. */
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"1\"}"), "two", 0, now2));
    CHECK(same(json_object_get(entry_of(mgrs, "two"), "fieldsV1"), "{\"f:data\":{\"f:a\":{}}}"));
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"a\":\"x\",\"c\":\"3\"}"), "two", 1, now2));
    CHECK(same(json_object_get(obj, "data"), "{\"a\":\"x\",\"b\":\"2\",\"c\":\"3\"}"));
    CHECK(same(json_object_get(entry_of(mgrs, "one"), "fieldsV1"), "{\"f:data\":{\"f:b\":{}}}"));
    /* one drops a (no longer its own) and keeps b: two's a and c stay. */
    CHECK_OK(do_apply(&configmaps, &obj, &mgrs, CM("{\"b\":\"2\"}"), "one", 0, now2));
    CHECK(same(json_object_get(obj, "data"), "{\"a\":\"x\",\"b\":\"2\",\"c\":\"3\"}"));
    json_decref(obj);
    json_decref(mgrs);
}

TEST(apply_conflict_with_update_manager)
{
    json_t *obj = load(CM("{\"a\":\"1\"}")), *mgrs = json_array(), *causes = NULL, *o = NULL,
           *m = NULL, *cfg = load(CM("{\"a\":\"2\"}"));
    apply_record_update(mgrs, &configmaps, NULL, obj, "kubectl-create", "v1", NULL, now1);
    CHECK(same(mgrs, "[{\"manager\":\"kubectl-create\",\"operation\":\"Update\","
                     "\"apiVersion\":\"v1\",\"time\":\"2026-01-01T00:00:00Z\","
                     "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:data\":{\".\":{},"
                     "\"f:a\":{}}}}]"));
    CHECK_ERR(apply_server_side(&o, &m, &causes, &configmaps, obj, mgrs, cfg, "mine", "v1", NULL, 0,
                                now2),
              ERR_CONFLICT);
    CHECK_STR(err_last(),
              "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.a");
    CHECK(same(causes, "[{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with "
                       "\\\"kubectl-create\\\" using v1\",\"field\":\".data.a\"}]"));
    CHECK(o == NULL && m == NULL);
    json_decref(causes);
    json_decref(cfg);
    json_decref(obj);
    json_decref(mgrs);
}

TEST(apply_merges_containers_by_name)
{
    json_t *obj = NULL, *mgrs = NULL;
    const json_t *containers;
    CHECK_OK(do_apply(&deployments, &obj, &mgrs, deploy, "main", 0, now1));
    CHECK_OK(do_apply(&deployments, &obj, &mgrs,
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                      "\"web\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
                      "\"extra\",\"image\":\"x\"}]}}}}",
                      "other", 0, now1));
    containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    CHECK(json_array_size(containers) == 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(containers, 2), "name")), "extra");
    /* main stops applying side: side goes, extra (other's) stays. */
    CHECK_OK(do_apply(&deployments, &obj, &mgrs,
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                      "\"web\"},\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":["
                      "{\"name\":\"web\",\"image\":\"nginx\"}]}}}}",
                      "main", 0, now2));
    containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    CHECK(same(containers, "[{\"name\":\"web\",\"image\":\"nginx\"},{\"name\":\"extra\","
                           "\"image\":\"x\"}]"));
    json_decref(obj);
    json_decref(mgrs);
}

TEST(apply_keeps_status_of_status_subresource)
{
    json_t *obj = load("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},"
                       "\"spec\":{\"ports\":[{\"port\":80}]},\"status\":{\"x\":1}}");
    json_t *mgrs = json_array();
    CHECK_OK(do_apply(&services, &obj, &mgrs,
                      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},"
                      "\"spec\":{\"ports\":[{\"port\":80,\"name\":\"h\"}]},\"status\":{\"x\":2}}",
                      "m", 0, now1));
    CHECK(same(json_object_get(obj, "status"), "{\"x\":1}"));
    CHECK(same(json_object_get(entry_of(mgrs, "m"), "fieldsV1"),
               "{\"f:spec\":{\"f:ports\":{\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":"
               "{\".\":{},\"f:port\":{},\"f:name\":{}}}}}"));
    CHECK(same(json_object_get(json_object_get(obj, "spec"), "ports"),
               "[{\"port\":80,\"name\":\"h\"}]"));
    json_decref(obj);
    json_decref(mgrs);
}

TEST(update_takes_fields_from_others)
{
    json_t *a = load(CM("{\"a\":\"1\",\"b\":\"2\"}")), *b = load(CM("{\"a\":\"9\"}"));
    json_t *mgrs = json_array();
    apply_record_update(mgrs, &configmaps, NULL, a, "create", "v1", NULL, now1);
    apply_record_update(mgrs, &configmaps, a, b, "edit", "v1", NULL, now2);
    /* edit changed a and removed b: create keeps only the map itself. */
    CHECK(same(mgrs, "[{\"manager\":\"create\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
                     "\"time\":\"2026-01-01T00:00:00Z\",\"fieldsType\":\"FieldsV1\","
                     "\"fieldsV1\":{\"f:data\":{}}},"
                     "{\"manager\":\"edit\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
                     "\"time\":\"2026-01-01T00:00:09Z\",\"fieldsType\":\"FieldsV1\","
                     "\"fieldsV1\":{\"f:data\":{\"f:a\":{}}}}]"));
    /* A write that changes nothing records nothing. */
    apply_record_update(mgrs, &configmaps, b, b, "noop", "v1", NULL, now2);
    CHECK(entry_of(mgrs, "noop") == NULL);
    json_decref(a);
    json_decref(b);
    json_decref(mgrs);
}

TEST(update_on_create_matches_the_server)
{
    json_t *obj = load("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
                       "{\"name\":\"d\",\"uid\":\"u\"},\"spec\":{\"replicas\":1,\"selector\":"
                       "{\"matchLabels\":{\"a\":\"b\"}},\"strategy\":{\"type\":\"Recreate\"},"
                       "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{"
                       "\"name\":\"E\"}]}]}}}}");
    json_t *mgrs = json_array();
    apply_record_update(mgrs, &deployments, NULL, obj, "kubectl-create", "apps/v1", NULL, now1);
    /* Structs an empty Deployment already has (spec, strategy, template,
     * its spec, the nil containers list) are not added; the selector is
     * an atomic struct: one leaf. */
    CHECK(same(json_object_get(json_array_get(mgrs, 0), "fieldsV1"),
               "{\"f:spec\":{\"f:replicas\":{},\"f:selector\":{},\"f:strategy\":{\"f:type\":{}},"
               "\"f:template\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{"
               "\".\":{},\"f:name\":{},\"f:env\":{\".\":{},\"k:{\\\"name\\\":\\\"E\\\"}\":{"
               "\".\":{},\"f:name\":{}}}}}}}}}"));
    json_decref(mgrs);
    json_decref(obj);
}

TEST(apply_replaces_atomic_selector)
{
    json_t *obj = NULL, *mgrs = NULL;
    CHECK_OK(do_apply(&deployments, &obj, &mgrs,
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
                      "\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"1\","
                      "\"b\":\"2\"}}}}",
                      "m", 0, now1));
    CHECK(
        same(json_object_get(entry_of(mgrs, "m"), "fieldsV1"), "{\"f:spec\":{\"f:selector\":{}}}"));
    CHECK_OK(do_apply(&deployments, &obj, &mgrs,
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
                      "\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"c\":\"3\"}}}}",
                      "other", 1, now1));
    CHECK(same(json_object_get(json_object_get(obj, "spec"), "selector"),
               "{\"matchLabels\":{\"c\":\"3\"}}"));
    CHECK(entry_of(mgrs, "m") == NULL);
    json_decref(obj);
    json_decref(mgrs);
}

TEST(managers_from_written_object)
{
    json_t *live = load("[{\"manager\":\"x\",\"operation\":\"Apply\",\"fieldsV1\":{}}]");
    json_t *w1 = load("{\"metadata\":{\"managedFields\":[{}]}}");
    json_t *w2 = load("{\"metadata\":{}}");
    json_t *w3 = load("{\"metadata\":{\"managedFields\":[{\"manager\":\"y\",\"operation\":"
                      "\"Update\",\"fieldsV1\":{\"f:data\":{}}}]}}");
    json_t *m1 = apply_managers_from(w1, live), *m2 = apply_managers_from(w2, live),
           *m3 = apply_managers_from(w3, live);
    CHECK(json_array_size(m1) == 0);
    CHECK(json_equal(m2, live));
    CHECK_STR(json_string_value(json_object_get(json_array_get(m3, 0), "manager")), "y");
    json_decref(m1);
    json_decref(m2);
    json_decref(m3);
    json_decref(w1);
    json_decref(w2);
    json_decref(w3);
    json_decref(live);
}

TEST(strategic_patch_merges_by_key)
{
    json_t *obj = load(deploy);
    json_t *patch = load("{\"metadata\":{\"labels\":{\"app\":null,\"x\":\"y\"}},\"spec\":{"
                         "\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":"
                         "\"side\"},{\"name\":\"web\"}],\"containers\":[{\"name\":\"web\","
                         "\"image\":\"nginx:2\"},{\"name\":\"side\",\"$patch\":\"delete\"},"
                         "{\"name\":\"new\",\"image\":\"n\"}]}}}}");
    json_t *bad = load("{\"spec\":{\"$patch\":\"bogus\"}}");
    const json_t *containers;
    CHECK_OK(apply_strategic_patch(&deployments, obj, patch));
    containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    CHECK(json_array_size(containers) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(containers, 0), "image")),
              "nginx:2");
    CHECK(json_object_get(json_array_get(containers, 0), "env") != NULL);
    CHECK_STR(json_string_value(json_object_get(json_array_get(containers, 1), "name")), "new");
    CHECK(same(json_object_get(json_object_get(obj, "metadata"), "labels"), "{\"x\":\"y\"}"));
    CHECK_ERR(apply_strategic_patch(&deployments, obj, bad), ERR_INVALID);
    json_decref(bad);
    json_decref(patch);
    json_decref(obj);
}

int main(void)
{
    RUN(fieldset_keys_lists_of_maps);
    RUN(fieldset_deduced_for_custom_resources);
    RUN(set_paths_read_like_the_server);
    RUN(apply_create_reapply_and_prune);
    RUN(apply_conflicts_and_force);
    RUN(apply_conflict_with_update_manager);
    RUN(apply_merges_containers_by_name);
    RUN(apply_keeps_status_of_status_subresource);
    RUN(update_takes_fields_from_others);
    RUN(update_on_create_matches_the_server);
    RUN(apply_replaces_atomic_selector);
    RUN(managers_from_written_object);
    RUN(strategic_patch_merges_by_key);
    return TEST_END();
}
