/* Tests for appliance/doc/ignore.c: Argo CD's ignoreDifferences rules
 * (pointers, the jq subset, managers' fields, selection by group, kind,
 * name and namespace, argocd-cm settings). Field sets come both written
 * the way a real API server writes them and made by kubesim's
 * server-side apply. */
#include "apply.h"
#include "doc/doc.h"
#include "test.h"

static json_t *j(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
        abort();
    }
    return v;
}

/* A Deployment with two containers, an init container, annotations with
 * a '/' in a key, ports and a list of plain values. */
static const char deploy[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"shop\",\"annotations\":{\"a/b\":\"1\",\"c~d\":\"2\",\"keep\":\"3\"},"
    "\"labels\":{\"app\":\"web\",\"tier\":\"front\"}},\"spec\":{\"replicas\":3,\"x\":[\"p\",\"q\","
    "\"r\"],\"template\":{\"spec\":{\"initContainers\":[{\"name\":\"injected-init-container\","
    "\"image\":\"init\"}],\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{"
    "\"containerPort\":80},{\"containerPort\":443}]},{\"name\":\"istio-proxy\",\"image\":"
    "\"proxy\"}]}}}}";

/* The pointers a rule set (an Application's ignoreDifferences, JSON)
 * ignores in obj, as a compact JSON array; NULL (and a message) when the
 * rules are refused. */
static char *ignored(const char *rules, const char *obj, const char *live)
{
    doc_ignore *ig;
    json_t *r = j(rules), *o = j(obj), *l = live ? j(live) : NULL, *paths;
    char *out = NULL;
    doc_ignore_new(&ig);
    if (doc_ignore_add_app(ig, r, "spec.ignoreDifferences") == 0) {
        paths = doc_ignore_paths(ig, o, l);
        out = json_dumps(paths, JSON_COMPACT);
        json_decref(paths);
    } else {
        fprintf(stderr, "refused: %s\n", err_last());
    }
    doc_ignore_free(ig);
    json_decref(r);
    json_decref(o);
    json_decref(l);
    return out;
}

static int ignores(const char *rules, const char *obj, const char *want)
{
    char *got = ignored(rules, obj, NULL);
    int ok = got && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "rules %s\n  got  %s\n  want %s\n", rules, got ? got : "(refused)", want);
    free(got);
    return ok;
}

/* One field rule for apps Deployments: "jsonPointers" or
 * "jqPathExpressions" with one expression. */
static char *rule(const char *field, const char *expr)
{
    json_t *r =
        json_pack("[{s:s, s:s, s:[s]}]", "group", "apps", "kind", "Deployment", field, expr);
    char *out = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return out;
}

static const struct {
    const char *field, *expr, *want;
} path_cases[] = {
    {"jsonPointers", "/spec/replicas", "[\"/spec/replicas\"]"},
    {"jsonPointers", "/metadata/annotations/a~1b", "[\"/metadata/annotations/a~1b\"]"},
    {"jsonPointers", "/metadata/annotations/c~0d", "[\"/metadata/annotations/c~0d\"]"},
    {"jsonPointers", "/spec/template/spec/containers/1/image",
     "[\"/spec/template/spec/containers/1/image\"]"},
    {"jsonPointers", "/spec/template/spec/containers/01", "[]"}, /* not an index */
    {"jsonPointers", "/spec/template/spec/containers/-", "[]"},
    {"jsonPointers", "/spec/nothing/here", "[]"},
    {"jsonPointers", "/spec/replicas/deeper", "[]"},
    {"jqPathExpressions", ".spec.replicas", "[\"/spec/replicas\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[].image",
     "[\"/spec/template/spec/containers/0/image\",\"/spec/template/spec/containers/1/image\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[] | select(.name == \"web\") | .image",
     "[\"/spec/template/spec/containers/0/image\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[]|select(.name==\"web\")|.image",
     "[\"/spec/template/spec/containers/0/image\"]"},
    {"jqPathExpressions",
     ".spec.template.spec.initContainers[] | select(.name == \"injected-init-container\")",
     "[\"/spec/template/spec/initContainers/0\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[] | select(.name != \"web\")",
     "[\"/spec/template/spec/containers/1\"]"},
    {"jqPathExpressions",
     ".spec.template.spec.containers[] | select(.name | startswith(\"istio\"))",
     "[\"/spec/template/spec/containers/1\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[] | select(.name | endswith(\"eb\"))",
     "[\"/spec/template/spec/containers/0\"]"},
    {"jqPathExpressions",
     ".spec.template.spec.containers[].ports[] | select(.containerPort == 443)",
     "[\"/spec/template/spec/containers/0/ports/1\"]"},
    {"jqPathExpressions",
     ".spec.template.spec.containers[] | select(.ports[0].containerPort == 80)",
     "[\"/spec/template/spec/containers/0\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[] | select(.missing == null) | .name",
     "[\"/spec/template/spec/containers/0/name\",\"/spec/template/spec/containers/1/name\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[] | select(.name == \"nope\")", "[]"},
    {"jqPathExpressions", ".metadata.annotations[\"a/b\"]", "[\"/metadata/annotations/a~1b\"]"},
    {"jqPathExpressions", ".metadata.annotations.\"a/b\"", "[\"/metadata/annotations/a~1b\"]"},
    {"jqPathExpressions", ".[\"metadata\"].labels.app", "[\"/metadata/labels/app\"]"},
    {"jqPathExpressions", ".spec.x[0]", "[\"/spec/x/0\"]"},
    {"jqPathExpressions", ".spec.x[-1]", "[\"/spec/x/2\"]"},
    {"jqPathExpressions", ".spec.x[7]", "[]"},
    {"jqPathExpressions", ".spec.x[] | select(. == \"q\")", "[\"/spec/x/1\"]"},
    {"jqPathExpressions", ".metadata.labels[]",
     "[\"/metadata/labels/app\",\"/metadata/labels/tier\"]"},
    {"jqPathExpressions", ".metadata | .labels | .tier", "[\"/metadata/labels/tier\"]"},
    {"jqPathExpressions", ".spec.template.spec.containers[]?.ports[]?.containerPort",
     "[\"/spec/template/spec/containers/0/ports/0/containerPort\","
     "\"/spec/template/spec/containers/0/ports/1/containerPort\"]"},
    /* Missing paths are no paths: Argo CD's webhook example on a Deployment. */
    {"jqPathExpressions", ".webhooks[]?.clientConfig.caBundle", "[]"},
    {"jqPathExpressions", ".spec.nothing.deep", "[]"},
    {"jqPathExpressions", ".spec.nothing[]", "[]"},
    {"jqPathExpressions", ".spec.replicas[]", "[]"},
    {"jqPathExpressions", ".spec.replicas.x", "[]"},
    {"jqPathExpressions", ".spec.template.spec.containers[] | select(.name.first == 1)", "[]"},
};

TEST(pointers_and_jq_paths)
{
    for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        char *r = rule(path_cases[i].field, path_cases[i].expr);
        int ok = ignores(r, deploy, path_cases[i].want);
        free(r);
        if (!ok)
            TEST_FAIL_("case %zu: %s", i, path_cases[i].expr);
    }
}

/* Refused when read, naming the expression. */
TEST(unsupported_jq_refused)
{
    static const char *const bad[] = {
        "..|.image?",
        ".spec.replicas | length",
        ".spec.x[1:2]",
        ".spec.replicas, .spec.x",
        ".spec.template.spec.containers[] | select(.name == \"a\" and .image == \"b\")",
        ".spec.replicas // 1",
        "$__loc__",
        "map(.image)",
        ".metadata.annotations.foo-bar",
        ".spec.template.spec.containers[] | select(.name | test(\"^web\"))",
        ".metadata.annotations[\"\\(.x)\"]",
        ".spec.template.spec.containers[] | select(.ports[].containerPort == 80)",
        "del(.spec.replicas)",
        ".spec.",
        ".spec[",
        "spec.replicas",
        ".spec.x[0] | select(.a == [1])",
    };
    doc_ignore *ig;
    doc_ignore_new(&ig);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *r = rule("jqPathExpressions", bad[i]);
        json_t *rules = j(r);
        int rc = doc_ignore_add_app(ig, rules, "guestbook: spec.ignoreDifferences");
        free(r);
        json_decref(rules);
        if (rc != ERR_UNSUPPORTED)
            TEST_FAIL_("%s: returned %d (%s), want unsupported", bad[i], rc, err_last());
        CHECK_CONTAINS(err_last(), "guestbook: spec.ignoreDifferences[0].jqPathExpressions[0]");
        CHECK_CONTAINS(err_last(), bad[i]);
    }
    CHECK(doc_ignore_count(ig) == 0);
    /* jq reads .a.foo-bar as a subtraction: say so. */
    {
        char *r = rule("jqPathExpressions", ".metadata.labels.app-name");
        json_t *rules = j(r);
        CHECK_ERR(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"), ERR_UNSUPPORTED);
        CHECK_CONTAINS(err_last(), "needs quotes");
        json_decref(rules);
        free(r);
    }
    doc_ignore_free(ig);
}

TEST(malformed_rules_refused)
{
    static const struct {
        const char *rules, *msg;
        int code;
    } bad[] = {
        {"[{\"kind\":\"Deployment\",\"jsonPointers\":[\"spec/replicas\"]}]", "starts with /",
         ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jsonPointers\":[\"\"]}]", "whole object", ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jsonPointers\":[\"/a~2b\"]}]", "~ must be", ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jqPathExpressions\":[\".\"]}]", "whole object", ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jqPathExpressions\":[\".[] | select(.a == 1) | .\"]}]", "",
         0},
        {"[{\"group\":\"apps\",\"jsonPointers\":[\"/spec\"]}]", "[0].kind: missing", ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jsonPointer\":[\"/spec\"]}]", "unknown field jsonPointer",
         ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jsonPointers\":\"/spec\"}]", "list of strings", ERR_INVALID},
        {"[{\"kind\":\"Deployment\",\"jsonPointers\":[1]}]", "jsonPointers[0]: must be a string",
         ERR_INVALID},
        {"[{\"kind\":\"[Deployment\",\"jsonPointers\":[\"/spec\"]}]", "unclosed [", ERR_INVALID},
        {"[\"Deployment\"]", "[0]: must be a mapping", ERR_INVALID},
        {"{\"kind\":\"Deployment\"}", "must be a list", ERR_INVALID},
    };
    doc_ignore *ig;
    doc_ignore_new(&ig);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *rules = j(bad[i].rules);
        int rc = doc_ignore_add_app(ig, rules, "spec.ignoreDifferences");
        json_decref(rules);
        if (rc != bad[i].code)
            TEST_FAIL_("%s: returned %d (%s)", bad[i].rules, rc, err_last());
        if (rc)
            CHECK_CONTAINS(err_last(), bad[i].msg);
    }
    /* The one accepted rule above; a long expression is refused. */
    CHECK(doc_ignore_count(ig) == 1);
    {
        char *long_expr = xmalloc(2000), *r;
        json_t *rules;
        memset(long_expr, 'a', 1999);
        long_expr[0] = '.';
        long_expr[1999] = '\0';
        r = rule("jqPathExpressions", long_expr);
        rules = j(r);
        CHECK_ERR(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"), ERR_TOOLARGE);
        json_decref(rules);
        free(r);
        free(long_expr);
    }
    doc_ignore_free(ig);
}

/* A failing rule leaves none of the list's rules behind. */
TEST(refused_list_adds_nothing)
{
    doc_ignore *ig;
    json_t *rules = j("[{\"kind\":\"Deployment\",\"jsonPointers\":[\"/spec/replicas\"]},"
                      "{\"kind\":\"Deployment\",\"jqPathExpressions\":[\".a | keys\"]}]");
    doc_ignore_new(&ig);
    CHECK_ERR(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"), ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "spec.ignoreDifferences[1].jqPathExpressions[0]");
    CHECK(doc_ignore_count(ig) == 0);
    CHECK_OK(doc_ignore_add_app(ig, NULL, "x"));
    json_decref(rules);
    doc_ignore_free(ig);
}

static const char cm[] = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                         "\"settings\",\"namespace\":\"shop\"},\"data\":{\"k\":\"v\"}}";
static const char crd_obj[] = "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\","
                              "\"metadata\":{\"name\":\"web\"},\"data\":{\"k\":\"v\"}}";

TEST(selection_by_group_kind_name_namespace)
{
    static const struct {
        const char *selector, *obj;
        int hit;
    } cases[] = {
        {"\"kind\":\"ConfigMap\"", cm, 1},
        {"\"group\":\"\",\"kind\":\"ConfigMap\"", cm, 1},
        {"\"group\":\"apps\",\"kind\":\"ConfigMap\"", cm, 0},
        {"\"kind\":\"ConfigMap\"", crd_obj, 0},
        {"\"group\":\"*\",\"kind\":\"*\"", cm, 1},
        {"\"group\":\"*\",\"kind\":\"*\"", crd_obj, 1},
        {"\"group\":\"*.io\",\"kind\":\"Cert*\"", crd_obj, 1},
        {"\"group\":\"{cert-manager.io,apps}\",\"kind\":\"?ertificate\"", crd_obj, 1},
        {"\"group\":\"cert-manager.io\",\"kind\":\"Certificate\",\"name\":\"web\"", crd_obj, 1},
        {"\"group\":\"cert-manager.io\",\"kind\":\"Certificate\",\"name\":\"api\"", crd_obj, 0},
        {"\"kind\":\"ConfigMap\",\"name\":\"settings\",\"namespace\":\"shop\"", cm, 1},
        {"\"kind\":\"ConfigMap\",\"namespace\":\"other\"", cm, 0},
        /* A cluster-scoped object has no namespace to match. */
        {"\"group\":\"*\",\"kind\":\"*\",\"namespace\":\"shop\"", crd_obj, 0},
        {"\"kind\":\"ConfigMap\",\"name\":\"\",\"namespace\":null", cm, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = xasprintf("[{%s,\"jsonPointers\":[\"/data/k\"]}]", cases[i].selector);
        int ok = ignores(r, cases[i].obj, cases[i].hit ? "[\"/data/k\"]" : "[]");
        free(r);
        if (!ok)
            TEST_FAIL_("case %zu: {%s}", i, cases[i].selector);
    }
}

/* Applying: the ignored fields go from a copy, paths never shift each
 * other, maps and lists left empty go too, and nothing changes for an
 * object no rule selects. */
TEST(apply_removes_from_a_copy)
{
    doc_ignore *ig;
    json_t *rules = j("[{\"group\":\"apps\",\"kind\":\"Deployment\",\"jsonPointers\":["
                      "\"/spec/x/0\",\"/spec/x/1\",\"/metadata/annotations/a~1b\"],"
                      "\"jqPathExpressions\":[\".metadata.annotations.\\\"c~d\\\"\","
                      "\".metadata.annotations.keep\",\".spec.template.spec.initContainers[]\"]}]");
    json_t *obj = j(deploy), *before = json_deep_copy(obj), *out, *other = j(cm);
    doc_ignore_new(&ig);
    CHECK_OK(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"));
    out = doc_ignore_apply(ig, obj, NULL);
    CHECK(doc_equal(obj, before));
    CHECK(json_array_size(doc_get(out, "spec.x")) == 1);
    CHECK_STR(json_string_value(json_array_get(doc_get(out, "spec.x"), 0)), "r");
    CHECK(doc_get(out, "metadata.annotations") == NULL);
    CHECK(doc_get(out, "spec.template.spec.initContainers") == NULL);
    CHECK(doc_get(out, "metadata.labels.app") != NULL);
    CHECK(doc_ignore_is_ignored(ig, obj, NULL, "/metadata/annotations/a~1b"));
    CHECK(doc_ignore_is_ignored(ig, obj, NULL, "/spec/template/spec/initContainers/0/image"));
    CHECK(!doc_ignore_is_ignored(ig, obj, NULL, "/spec/x/2"));
    CHECK(!doc_ignore_is_ignored(ig, obj, NULL, "/spec/template/spec/initContainersX"));
    CHECK(!doc_ignore_is_ignored(ig, obj, NULL, "/spec"));
    json_decref(out);
    /* No rule selects a ConfigMap: an exact copy, empties and all. */
    json_object_set_new(other, "extra", json_object());
    out = doc_ignore_apply(ig, other, NULL);
    CHECK(json_equal(out, other) && out != other);
    json_decref(out);
    {
        json_t *three = json_integer(3);
        out = doc_ignore_apply(ig, three, NULL);
        CHECK(json_integer_value(out) == 3);
        json_decref(out);
        json_decref(three);
    }
    json_decref(rules);
    json_decref(obj);
    json_decref(before);
    json_decref(other);
    doc_ignore_free(ig);
}

/* The case Argo CD documents first: an HPA scales a Deployment, so
 * spec.replicas differs from Git; ignoring it makes the two agree. */
TEST(desired_and_live_agree_once_normalised)
{
    doc_ignore *ig;
    json_t *rules = j("[{\"group\":\"apps\",\"kind\":\"Deployment\",\"jsonPointers\":["
                      "\"/spec/replicas\"]}]");
    json_t *desired = j(deploy), *live = j(deploy), *a, *b;
    json_object_set_new(json_object_get(live, "spec"), "replicas", json_integer(7));
    doc_ignore_new(&ig);
    CHECK_OK(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"));
    CHECK(!doc_equal(desired, live));
    a = doc_ignore_apply(ig, desired, live);
    b = doc_ignore_apply(ig, live, live);
    CHECK(doc_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(rules);
    json_decref(desired);
    json_decref(live);
    doc_ignore_free(ig);
}

/* managedFields as a real API server writes them for a Deployment that
 * edgecd applied, an HPA scaled (kube-controller-manager through the
 * scale subresource), the Deployment controller annotated and reported
 * on, a mesh injector applied a sidecar, a finalizer and an env var for
 * the web container (so it co-owns that item with edgecd), and an
 * operator updated the web container's resources. */
static const char live_deploy[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"shop\",\"annotations\":{\"deployment.kubernetes.io/revision\":\"3\"},"
    "\"labels\":{\"app\":\"web\"},\"finalizers\":[\"example.com/cleanup\"],"
    "\"managedFields\":["
    "{\"manager\":\"edgecd\",\"operation\":\"Apply\",\"apiVersion\":\"apps/v1\",\"time\":"
    "\"2026-11-20T10:00:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{"
    "\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:selector\":{},\"f:template\":{\"f:metadata\":{"
    "\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{"
    "\".\":{},\"f:image\":{},\"f:name\":{},\"f:ports\":{\"k:{\\\"containerPort\\\":80,"
    "\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}}}}}}}},"
    "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":"
    "\"apps/v1\",\"time\":\"2026-11-20T10:05:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{"
    "\"f:spec\":{\"f:replicas\":{}}},\"subresource\":\"scale\"},"
    "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":"
    "\"apps/v1\",\"time\":\"2026-11-20T10:05:02Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{"
    "\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:deployment.kubernetes.io/revision\":{}}},"
    "\"f:status\":{\"f:availableReplicas\":{},\"f:conditions\":{\".\":{},"
    "\"k:{\\\"type\\\":\\\"Available\\\"}\":{\".\":{},\"f:lastTransitionTime\":{},"
    "\"f:status\":{},\"f:type\":{}}},\"f:observedGeneration\":{},\"f:replicas\":{}}},"
    "\"subresource\":\"status\"},"
    "{\"manager\":\"mesh-injector\",\"operation\":\"Apply\",\"apiVersion\":\"apps/v1\","
    "\"time\":\"2026-11-20T10:00:01Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":"
    "{\"f:finalizers\":{\".\":{},\"v:\\\"example.com/cleanup\\\"\":{}}},\"f:spec\":{"
    "\"f:template\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"mesh-proxy\\\"}\":{"
    "\".\":{},\"f:image\":{},\"f:name\":{}},\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},"
    "\"f:name\":{},\"f:env\":{\".\":{},\"k:{\\\"name\\\":\\\"MESH\\\"}\":{\".\":{},\"f:name\":{},"
    "\"f:value\":{}}}}}}}}}},"
    "{\"manager\":\"resource-tuner\",\"operation\":\"Update\",\"apiVersion\":\"apps/v1\","
    "\"time\":\"2026-11-20T10:00:02Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{"
    "\"f:template\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{"
    "\"f:resources\":{}}}}}}}}]},"
    "\"spec\":{\"replicas\":7,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
    "\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\","
    "\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
    "\"env\":[{\"name\":\"MESH\",\"value\":\"on\"}],\"resources\":{\"limits\":{\"cpu\":\"1\"}}},"
    "{\"name\":\"mesh-proxy\",\"image\":\"proxy:2\"}]}}},"
    "\"status\":{\"availableReplicas\":7,\"observedGeneration\":4,\"replicas\":7,\"conditions\":"
    "[{\"type\":\"Available\",\"status\":\"True\",\"lastTransitionTime\":"
    "\"2026-11-20T10:05:02Z\"}]}}";

/* 1 if trusting managers (a JSON list's items) ignores want in
 * live_deploy, with the live object given or not. */
static int managers_ignore(const char *managers, int with_live, const char *want)
{
    char *r =
        xasprintf("[{\"group\":\"*\",\"kind\":\"*\",\"managedFieldsManagers\":[%s]}]", managers);
    char *got = ignored(r, live_deploy, with_live ? live_deploy : NULL);
    int ok = got && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "managers %s\n  got  %s\n  want %s\n", managers, got, want);
    free(got);
    free(r);
    return ok;
}

TEST(managed_fields_of_trusted_managers)
{
    CHECK(
        managers_ignore("\"kube-controller-manager\"", 1,
                        "[\"/metadata/annotations/deployment.kubernetes.io~1revision\","
                        "\"/spec/replicas\",\"/status/availableReplicas\",\"/status/conditions/0\","
                        "\"/status/observedGeneration\",\"/status/replicas\"]"));
    /* The injector owns the sidecar item (".") alone: the whole item. It
     * shares the web item with edgecd: only its own fields there go (the
     * env var it created, the name both set). A set item (v:) goes
     * whole. */
    CHECK(managers_ignore(
        "\"mesh-injector\"", 1,
        "[\"/metadata/finalizers/0\",\"/spec/template/spec/containers/0/env/0\","
        "\"/spec/template/spec/containers/0/name\",\"/spec/template/spec/containers/1\"]"));
    /* Two trusted managers together; a manager that owns nothing here. */
    CHECK(managers_ignore("\"resource-tuner\",\"nobody\"", 1,
                          "[\"/spec/template/spec/containers/0/resources\"]"));
    /* Without a live object there are no managers to ask. */
    CHECK(managers_ignore("\"kube-controller-manager\"", 0, "[]"));
}

/* Keys a real server never writes name nothing, never every item. */
TEST(malformed_field_sets_name_nothing)
{
    const char *obj =
        "{\"kind\":\"X\",\"metadata\":{\"managedFields\":[{\"manager\":\"odd\",\"fieldsV1\":{"
        "\"f:c\":{\"k:[1]\":{},\"k:{}\":{},\"k:nope\":{},\"i:x\":{},\"i:-1\":{},\"v:bad\":{},"
        "\"z:what\":{},\"f:zz\":5,\"k:{\\\"n\\\":1}\":[]}}},{\"manager\":\"odd\"},"
        "{\"manager\":\"odd\",\"fieldsV1\":[]},{\"fieldsV1\":{\"f:c\":{}}}]},"
        "\"c\":[{\"n\":1},{\"n\":2},3]}";
    char *got = ignored("[{\"kind\":\"X\",\"managedFieldsManagers\":[\"odd\"]}]", obj, obj);
    CHECK_STR(got, "[]");
    free(got);
}

/* Desired from Git has no replicas override, no status, no sidecar;
 * trusting the controllers that changed the live object makes the two
 * normalised objects equal. */
TEST(managed_fields_make_desired_and_live_agree)
{
    doc_ignore *ig;
    json_t *live = j(live_deploy), *desired = j(live_deploy), *rules, *a, *b;
    json_t *spec = json_object_get(desired, "spec"), *meta = json_object_get(desired, "metadata");
    json_t *web;

    /* What edgecd applied: replicas 2, the web container alone. */
    json_object_del(desired, "status");
    json_object_del(meta, "managedFields");
    json_object_del(meta, "annotations");
    json_object_del(meta, "finalizers");
    json_object_set_new(spec, "replicas", json_integer(2));
    json_array_remove(doc_get(desired, "spec.template.spec.containers"), 1);
    web = json_array_get(doc_get(desired, "spec.template.spec.containers"), 0);
    json_object_del(web, "env");
    json_object_del(web, "resources");

    rules = j("[{\"group\":\"apps\",\"kind\":\"Deployment\",\"managedFieldsManagers\":["
              "\"kube-controller-manager\",\"mesh-injector\",\"resource-tuner\"],"
              "\"jsonPointers\":[\"/metadata/managedFields\"]}]");
    doc_ignore_new(&ig);
    CHECK_OK(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"));
    a = doc_ignore_apply(ig, desired, live);
    b = doc_ignore_apply(ig, live, live);
    if (!doc_equal(a, b)) {
        char *sa = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
        char *sb = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "desired %s\nlive    %s\n", sa, sb);
        free(sa);
        free(sb);
    }
    CHECK(doc_equal(a, b));
    /* A change edgecd owns still shows. */
    json_object_set_new(web, "image", json_string("nginx:1.28"));
    json_decref(a);
    a = doc_ignore_apply(ig, desired, live);
    CHECK(!doc_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(rules);
    json_decref(desired);
    json_decref(live);
    doc_ignore_free(ig);
}

/* Field sets made by kubesim's server-side apply and update, as the real
 * API server makes them: edgecd applies, a controller scales and another
 * adds a container and an env var to edgecd's. */
static const struct resource deployments = {"apps", "v1", "Deployment", "deployments", "deployment",
                                            1,      1,    {NULL},       {NULL},        NULL};

TEST(managed_fields_written_by_kubesim)
{
    const char *now = "2026-11-23T07:00:00Z";
    json_t *cfg = j("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                    "\"web\",\"namespace\":\"shop\"},\"spec\":{\"replicas\":2,\"selector\":{"
                    "\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{"
                    "\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":"
                    "\"nginx\"}]}}}}");
    json_t *obj = NULL, *mgrs = NULL, *causes = NULL, *scaled, *mutated, *c, *rules, *paths;
    doc_ignore *ig;
    char *got;

    CHECK_OK(apply_server_side(&obj, &mgrs, &causes, &deployments, NULL, NULL, cfg, "edgecd",
                               "apps/v1", NULL, 1, now));
    scaled = json_deep_copy(obj);
    json_object_set_new(json_object_get(scaled, "spec"), "replicas", json_integer(5));
    apply_record_update(mgrs, &deployments, obj, scaled, "kube-controller-manager", "apps/v1", NULL,
                        now);
    mutated = json_deep_copy(scaled);
    c = doc_get(mutated, "spec.template.spec.containers");
    json_array_append_new(c, json_pack("{s:s, s:s}", "name", "mesh-proxy", "image", "proxy"));
    json_object_set_new(json_array_get(c, 0), "env",
                        json_pack("[{s:s, s:s}]", "name", "MESH", "value", "on"));
    apply_record_update(mgrs, &deployments, scaled, mutated, "mesh-injector", "apps/v1", NULL, now);
    json_object_set(json_object_get(mutated, "metadata"), "managedFields", mgrs);

    doc_ignore_new(&ig);
    rules = j("[{\"group\":\"apps\",\"kind\":\"Deployment\",\"managedFieldsManagers\":["
              "\"kube-controller-manager\",\"mesh-injector\"]}]");
    CHECK_OK(doc_ignore_add_app(ig, rules, "spec.ignoreDifferences"));
    paths = doc_ignore_paths(ig, mutated, mutated);
    got = json_dumps(paths, JSON_COMPACT);
    CHECK_STR(got, "[\"/spec/replicas\",\"/spec/template/spec/containers/0/env/0\","
                   "\"/spec/template/spec/containers/1\"]");
    free(got);
    json_decref(paths);
    json_decref(rules);
    json_decref(cfg);
    json_decref(obj);
    json_decref(mgrs);
    json_decref(causes);
    json_decref(scaled);
    json_decref(mutated);
    doc_ignore_free(ig);
}

/* argocd-cm's keys: split keys per group and kind, .all, the core group,
 * the older resource.customizations map, YAML text or parsed values. */
TEST(settings_from_argocd_cm)
{
    doc_ignore *ig;
    json_t *v, *paths, *web = j(deploy), *obj_cm = j(cm), *cert = j(crd_obj);
    char *got;

    doc_ignore_new(&ig);
    v = json_string("jqPathExpressions:\n- '.spec.template.spec.containers[] | select(.name == "
                    "\"istio-proxy\")'\njsonPointers:\n- /spec/replicas\n");
    CHECK_OK(
        doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.apps_Deployment", v));
    json_decref(v);
    v = j("{\"jsonPointers\":[\"/data/k\"]}");
    CHECK_OK(doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.ConfigMap", v));
    json_decref(v);
    v = json_string("managedFieldsManagers:\n- kube-controller-manager\njsonPointers:\n- "
                    "/metadata/labels/tier\n");
    CHECK_OK(doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.all", v));
    json_decref(v);
    v = json_string("cert-manager.io/Certificate:\n  health.lua: |\n    return {}\n  "
                    "ignoreDifferences: |\n    jsonPointers:\n    - /data\napps/Deployment:\n  "
                    "actions: x\n");
    CHECK_OK(doc_ignore_add_setting(ig, "resource.customizations", v));
    json_decref(v);
    CHECK(doc_ignore_count(ig) == 4);

    paths = doc_ignore_paths(ig, web, NULL);
    got = json_dumps(paths, JSON_COMPACT);
    CHECK_STR(got, "[\"/metadata/labels/tier\",\"/spec/replicas\","
                   "\"/spec/template/spec/containers/1\"]");
    free(got);
    json_decref(paths);
    paths = doc_ignore_paths(ig, obj_cm, NULL);
    got = json_dumps(paths, JSON_COMPACT);
    CHECK_STR(got, "[\"/data/k\"]");
    free(got);
    json_decref(paths);
    paths = doc_ignore_paths(ig, cert, NULL);
    got = json_dumps(paths, JSON_COMPACT);
    CHECK_STR(got, "[\"/data\"]");
    free(got);
    json_decref(paths);

    /* Other keys are not ours; bad ones are refused naming the key. */
    v = json_string("return {}");
    CHECK_ERR(doc_ignore_add_setting(ig, "resource.customizations.health.apps_Deployment", v),
              ERR_NOTFOUND);
    json_decref(v);
    v = json_string("jsonPointers: [/spec]");
    CHECK_ERR(doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.a_b_c", v),
              ERR_INVALID);
    json_decref(v);
    v = json_string("jqPathExpressions: ['.spec | keys']");
    CHECK_ERR(
        doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.apps_Deployment", v),
        ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "resource.customizations.ignoreDifferences.apps_Deployment");
    CHECK_CONTAINS(err_last(), ".spec | keys");
    json_decref(v);
    v = json_string("jsonPointer: [/spec]");
    CHECK_ERR(doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.all", v),
              ERR_INVALID);
    CHECK_CONTAINS(err_last(), "unknown field jsonPointer");
    json_decref(v);
    v = json_string("a/b/c:\n  ignoreDifferences: 'jsonPointers: [/x]'\n");
    CHECK_ERR(doc_ignore_add_setting(ig, "resource.customizations", v), ERR_INVALID);
    json_decref(v);
    v = json_string("jsonPointers: [/spec\n");
    CHECK_ERR(doc_ignore_add_setting(ig, "resource.customizations.ignoreDifferences.all", v),
              ERR_INVALID);
    json_decref(v);
    CHECK(doc_ignore_count(ig) == 4);

    json_decref(web);
    json_decref(obj_cm);
    json_decref(cert);
    doc_ignore_free(ig);
}

int main(void)
{
    RUN(pointers_and_jq_paths);
    RUN(unsupported_jq_refused);
    RUN(malformed_rules_refused);
    RUN(refused_list_adds_nothing);
    RUN(selection_by_group_kind_name_namespace);
    RUN(apply_removes_from_a_copy);
    RUN(desired_and_live_agree_once_normalised);
    RUN(managed_fields_of_trusted_managers);
    RUN(malformed_field_sets_name_nothing);
    RUN(managed_fields_make_desired_and_live_agree);
    RUN(managed_fields_written_by_kubesim);
    RUN(settings_from_argocd_cm);
    return TEST_END();
}
