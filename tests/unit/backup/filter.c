/*
 * Tests for backup/filter.c: Velero's selector syntax both ways, spec
 * defaults and refusals, and the include/exclude decisions for
 * namespaces, resources and cluster-scoped kinds (null, true, false).
 */
#include <string.h>

#include "backup/filter.h"
#include "doc/doc.h"
#include "test.h"

static json_t *spec_of(const char *json)
{
    json_t *s = json_loads(json, 0, NULL);
    if (!s || filter_spec_check(s) < 0) {
        fprintf(stderr, "bad spec %s: %s\n", json, err_last());
        exit(2);
    }
    return s;
}

TEST(selectors_both_ways)
{
    static const char *const cases[][2] = {
        {"app=web", "app=web"},
        {"app==web,tier!=db", "app=web,tier notin (db)"},
        {"env in (a, b),!legacy,team", "env in (a,b),!legacy,team"},
        {"x notin (y)", "x notin (y)"},
        {"example.com/role=edge", "example.com/role=edge"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *sel = NULL;
        char *s = NULL;
        CHECK_OK(filter_selector_parse(cases[i][0], &sel));
        CHECK_OK(filter_selector_string(sel, &s));
        CHECK_STR(s, cases[i][1]);
        free(s);
        json_decref(sel);
    }
    {
        json_t *sel = NULL;
        CHECK_OK(filter_selector_parse("app=web", &sel));
        CHECK_STR(doc_get_str(sel, "matchLabels.app"), "web");
        json_decref(sel);
    }
    {
        json_t *sel = NULL;
        CHECK_ERR(filter_selector_parse("app in web", &sel), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "selector \"app in web\": cannot parse");
        CHECK_ERR(filter_selector_parse("", &sel), ERR_INVALID);
        CHECK_ERR(filter_selector_parse("a=b,", &sel), ERR_INVALID);
        CHECK_ERR(filter_selector_parse("a=(b", &sel), ERR_INVALID);
        CHECK(sel == NULL);
    }
}

TEST(spec_defaults_and_refusals)
{
    json_t *s = spec_of("{}");
    CHECK_STR(json_string_value(json_array_get(json_object_get(s, "includedNamespaces"), 0)), "*");
    CHECK_STR(json_string_value(json_array_get(json_object_get(s, "includedResources"), 0)), "*");
    CHECK(json_is_null(json_object_get(s, "includeClusterResources")));
    CHECK_STR(doc_get_str(s, "ttl"), "720h0m0s");
    json_decref(s);

    s = json_loads("{\"ttl\":\"forever\"}", 0, NULL);
    CHECK_ERR(filter_spec_check(s), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.ttl");
    json_decref(s);
    s = json_loads("{\"includedNamespaces\":[\"[a\"]}", 0, NULL);
    CHECK_ERR(filter_spec_check(s), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.includedNamespaces[0]");
    json_decref(s);
    s = json_loads("{\"labelSelector\":{\"matchLabels\":{\"a\":\"b\"}},\"orLabelSelectors\":[{"
                   "\"matchLabels\":{\"c\":\"d\"}}]}",
                   0, NULL);
    CHECK_ERR(filter_spec_check(s), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "cannot be used together");
    json_decref(s);
    s = json_loads("{\"includeClusterResources\":\"yes\"}", 0, NULL);
    CHECK_ERR(filter_spec_check(s), ERR_INVALID);
    json_decref(s);
}

TEST(namespaces)
{
    json_t *s = spec_of("{\"includedNamespaces\":[\"shop-*\",\"edge\"],\"excludedNamespaces\":["
                        "\"shop-test\"]}");
    json_t *list;
    CHECK(filter_namespace(s, "shop-prod") == 1);
    CHECK(filter_namespace(s, "edge") == 1);
    CHECK(filter_namespace(s, "shop-test") == 0);
    CHECK(filter_namespace(s, "kube-system") == 0);
    CHECK(filter_all_namespaces(s) == 0);
    CHECK(filter_namespace_list(s) == NULL); /* a glob: list everywhere, filter here */
    json_decref(s);

    s = spec_of("{\"includedNamespaces\":[\"a\",\"b\"],\"excludedNamespaces\":[\"b\"]}");
    list = filter_namespace_list(s);
    CHECK(json_array_size(list) == 1);
    CHECK_STR(json_string_value(json_array_get(list, 0)), "a");
    json_decref(list);
    json_decref(s);

    s = spec_of("{}");
    CHECK(filter_all_namespaces(s) == 1);
    CHECK(filter_namespace(s, "anything") == 1);
    json_decref(s);
    s = spec_of("{\"excludedNamespaces\":[\"kube-system\"]}");
    CHECK(filter_all_namespaces(s) == 0);
    json_decref(s);
}

TEST(resources_and_scope)
{
    struct kube_resource cm = {"", "v1", "ConfigMap", "configmaps", 1, 1};
    struct kube_resource deploy = {"apps", "v1", "Deployment", "deployments", 1, 1};
    struct kube_resource ns = {"", "v1", "Namespace", "namespaces", 0, 1};
    struct kube_resource crd = {"apiextensions.k8s.io",      "v1", "CustomResourceDefinition",
                                "customresourcedefinitions", 0,    1};
    struct kube_resource node = {"", "v1", "Node", "nodes", 0, 1};
    struct kube_resource ev = {"", "v1", "Event", "events", 1, 1};
    struct kube_resource ev2 = {"events.k8s.io", "v1", "Event", "events", 1, 1};
    json_t *s;

    s = spec_of("{}");
    CHECK(filter_resource(s, &cm, "configmaps") == 1);
    CHECK(filter_resource(s, &crd, "customresourcedefinitions.apiextensions.k8s.io") == 1);
    CHECK(filter_resource(s, &node, "nodes") == 0);
    CHECK(filter_resource(s, &ev, "events") == 0);
    CHECK(filter_resource(s, &ev2, "events.events.k8s.io") == 0);
    json_decref(s);

    /* A namespace filter and includeClusterResources null: no
     * cluster-scoped kinds, but the Namespace objects still. */
    s = spec_of("{\"includedNamespaces\":[\"shop\"]}");
    CHECK(filter_resource(s, &crd, "customresourcedefinitions.apiextensions.k8s.io") == 0);
    CHECK(filter_resource(s, &ns, "namespaces") == 1);
    CHECK(filter_resource(s, &cm, "configmaps") == 1);
    json_decref(s);
    s = spec_of("{\"includedNamespaces\":[\"shop\"],\"includeClusterResources\":true}");
    CHECK(filter_resource(s, &crd, "customresourcedefinitions.apiextensions.k8s.io") == 1);
    json_decref(s);
    s = spec_of("{\"includeClusterResources\":false}");
    CHECK(filter_resource(s, &crd, "customresourcedefinitions.apiextensions.k8s.io") == 0);
    CHECK(filter_resource(s, &ns, "namespaces") == 1);
    json_decref(s);

    /* Names: plural, plural.group, kind, kind.group; "*" excludes are
     * ignored; an explicit include of nodes still never takes them. */
    s = spec_of("{\"includedResources\":[\"deployments.apps\",\"ConfigMap\",\"nodes\"],"
                "\"excludedResources\":[\"*\"]}");
    CHECK(filter_resource(s, &deploy, "deployments.apps") == 1);
    CHECK(filter_resource(s, &cm, "configmaps") == 1);
    CHECK(filter_resource(s, &node, "nodes") == 0);
    CHECK(filter_resource(s, &ns, "namespaces") == 0);
    json_decref(s);
    /* The kind in lower case is the singular name, as Velero takes it. */
    s = spec_of("{\"excludedResources\":[\"deployment.apps\",\"secrets\"]}");
    CHECK(filter_resource(s, &deploy, "deployments.apps") == 0);
    CHECK(filter_resource(s, &cm, "configmaps") == 1);
    json_decref(s);
    s = spec_of("{\"excludedResources\":[\"Deployment.apps\",\"configmaps\"]}");
    CHECK(filter_resource(s, &deploy, "deployments.apps") == 0);
    CHECK(filter_resource(s, &cm, "configmaps") == 0);
    json_decref(s);
}

TEST(exclude_label)
{
    json_t *o = json_loads(
        "{\"metadata\":{\"labels\":{\"velero.io/exclude-from-backup\":\"true\"}}}", 0, NULL);
    json_t *p = json_loads(
        "{\"metadata\":{\"labels\":{\"velero.io/exclude-from-backup\":\"false\"}}}", 0, NULL);
    CHECK(filter_excluded_object(o) == 1);
    CHECK(filter_excluded_object(p) == 0);
    json_decref(o);
    json_decref(p);
}

/* A restore filters archived objects by their labels itself. */
TEST(selector_matching)
{
    static const struct {
        const char *sel;
        const char *labels;
        int match;
    } cases[] = {
        {"app=web", "{\"app\":\"web\",\"tier\":\"front\"}", 1},
        {"app=web", "{\"app\":\"db\"}", 0},
        {"app=web", "{}", 0},
        {"tier!=db", "{}", 1},
        {"tier!=db", "{\"tier\":\"db\"}", 0},
        {"env in (a,b)", "{\"env\":\"b\"}", 1},
        {"env in (a,b)", "{\"env\":\"c\"}", 0},
        {"env notin (a,b)", "{\"env\":\"c\"}", 1},
        {"!legacy", "{\"legacy\":\"\"}", 0},
        {"!legacy", "{}", 1},
        {"team", "{\"team\":\"x\"}", 1},
        {"team,app=web", "{\"app\":\"web\"}", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *sel = NULL, *labels = json_loads(cases[i].labels, 0, NULL);
        CHECK_OK(filter_selector_parse(cases[i].sel, &sel));
        if (filter_selector_match(sel, labels) != cases[i].match)
            TEST_FAIL_("%s on %s: expected %d", cases[i].sel, cases[i].labels, cases[i].match);
        json_decref(sel);
        json_decref(labels);
    }
}

int main(void)
{
    RUN(selectors_both_ways);
    RUN(spec_defaults_and_refusals);
    RUN(namespaces);
    RUN(resources_and_scope);
    RUN(exclude_label);
    RUN(selector_matching);
    return TEST_END();
}
