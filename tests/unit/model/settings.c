#include "model/settings.h"

#include "test.h"

/* An argocd-cm as an Argo CD install carries it, with every
 * customization shape Argo CD documents, plus keys edgecd ignores. */
static const char argocd_cm[] =
    "apiVersion: v1\n"                                                              /* 1 */
    "kind: ConfigMap\n"                                                             /* 2 */
    "metadata:\n"                                                                   /* 3 */
    "  name: argocd-cm\n"                                                           /* 4 */
    "  namespace: argocd\n"                                                         /* 5 */
    "  labels: {app.kubernetes.io/part-of: argocd}\n"                               /* 6 */
    "data:\n"                                                                       /* 7 */
    "  url: https://argocd.example.com\n"                                           /* 8 */
    "  application.resourceTrackingMethod: annotation\n"                            /* 9 */
    "  resource.customizations: |\n"                                                /* 10 */
    "    \"*.aws.crossplane.io/*\":\n"                                              /* 11 */
    "      health.lua: |\n"                                                         /* 12 */
    "        hs = {status = \"Healthy\"}\n"                                         /* 13 */
    "        return hs\n"                                                           /* 14 */
    "      health.lua.useOpenLibs: true\n"                                          /* 15 */
    "    apps/Deployment:\n"                                                        /* 16 */
    "      ignoreDifferences: |\n"                                                  /* 17 */
    "        jsonPointers:\n"                                                       /* 18 */
    "        - /spec/replicas\n"                                                    /* 19 */
    "      knownTypeFields:\n"                                                      /* 20 */
    "      - {field: spec.template.spec, type: core/v1/PodSpec}\n"                  /* 21 */
    "  resource.customizations.health.cert-manager.io_Certificate: |\n"             /* 22 */
    "    hs = {}\n"                                                                 /* 23 */
    "    hs.status = \"Progressing\"\n"                                             /* 24 */
    "    return hs\n"                                                               /* 25 */
    "  resource.customizations.useOpenLibs.cert-manager.io_Certificate: \"true\"\n" /* 26 */
    "  resource.customizations.ignoreDifferences.apps_Deployment: |\n"              /* 27 */
    "    jqPathExpressions:\n"                                                      /* 28 */
    "    - .spec.template.spec.initContainers[] | select(.name == \"x\")\n"         /* 29 */
    "  resource.customizations.ignoreDifferences.Service: |\n"                      /* 30 */
    "    jsonPointers: [/spec/clusterIP]\n"                                         /* 31 */
    "  resource.customizations.ignoreDifferences.all: |\n"                          /* 32 */
    "    managedFieldsManagers:\n"                                                  /* 33 */
    "    - kube-controller-manager\n"                                               /* 34 */
    "  resource.customizations.ignoreResourceUpdates.all: |\n"                      /* 35 */
    "    jsonPointers: [/status]\n"                                                 /* 36 */
    "  resource.customizations.actions.apps_Deployment: |\n"                        /* 37 */
    "    discovery.lua: |\n"                                                        /* 38 */
    "      actions = {}\n"                                                          /* 39 */
    "  resource.compareoptions: |\n"                                                /* 40 */
    "    ignoreAggregatedRoles: true\n"                                             /* 41 */
    "    ignoreResourceStatusField: all\n"                                          /* 42 */
    "  dex.config: |\n"                                                             /* 43 */
    "    connectors: []\n";                                                         /* 44 */

static int parse(struct settings *s, const char *text)
{
    return settings_parse(s, text, strlen(text), "argocd-cm.yaml");
}

TEST(reads_argocd_cm_as_is)
{
    struct settings s;
    const struct settings_override *o;

    CHECK_OK(parse(&s, argocd_cm));
    /* combined-form entries first, in their order, then split keys */
    CHECK(s.n_overrides == 5);
    CHECK_STR(s.overrides[0].key, "*.aws.crossplane.io/*");
    CHECK_STR(s.overrides[1].key, "apps/Deployment");
    CHECK_STR(s.overrides[2].key, "cert-manager.io/Certificate");
    CHECK_STR(s.overrides[3].key, "Service");
    CHECK_STR(s.overrides[4].key, "*/*");

    o = settings_find(&s, "*.aws.crossplane.io/*");
    CHECK(o && o->use_open_libs == 1);
    CHECK_STR(o->group, "*.aws.crossplane.io");
    CHECK_STR(o->kind, "*");
    CHECK_STR(o->health_lua, "hs = {status = \"Healthy\"}\nreturn hs\n");
    CHECK_STR(o->health_key, "resource.customizations: *.aws.crossplane.io/*: health.lua");
    CHECK(o->health_line == 13);

    o = settings_find(&s, "cert-manager.io/Certificate");
    CHECK(o && o->use_open_libs == 1);
    CHECK_STR(o->group, "cert-manager.io");
    CHECK_STR(o->health_key, "resource.customizations.health.cert-manager.io_Certificate");
    CHECK(o->health_line == 23);
    CHECK(!strncmp(o->health_lua, "hs = {}\n", 8));

    /* the split key replaces the combined form's ignoreDifferences */
    o = settings_find(&s, "apps/Deployment");
    CHECK(o && !o->health_lua);
    CHECK(json_array_size(json_object_get(o->ignore_differences, "jsonPointers")) == 0);
    CHECK(json_array_size(json_object_get(o->ignore_differences, "jqPathExpressions")) == 1);
    CHECK(json_array_size(o->known_type_fields) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(o->known_type_fields, 0), "type")),
              "core/v1/PodSpec");
    CHECK(o->actions && strstr(o->actions, "discovery.lua"));

    o = settings_find(&s, "Service");
    CHECK(o && !o->group[0]);
    CHECK_STR(json_string_value(
                  json_array_get(json_object_get(o->ignore_differences, "jsonPointers"), 0)),
              "/spec/clusterIP");
    o = settings_find(&s, "*/*");
    CHECK(o);
    CHECK_STR(json_string_value(json_array_get(
                  json_object_get(o->ignore_differences, "managedFieldsManagers"), 0)),
              "kube-controller-manager");
    CHECK(json_array_size(json_object_get(o->ignore_resource_updates, "jsonPointers")) == 1);

    CHECK(s.compare.ignore_aggregated_roles == 1);
    CHECK_STR(s.compare.ignore_resource_status_field, "all");
    CHECK(s.compare.ignore_differences_on_resource_updates == 0);
    CHECK(settings_find(&s, "apps/StatefulSet") == NULL);
    settings_dispose(&s);
}

TEST(empty_configmap_has_defaults)
{
    struct settings s;
    CHECK_OK(parse(&s, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\n"));
    CHECK(s.n_overrides == 0);
    CHECK_STR(s.compare.ignore_resource_status_field, "crd");
    settings_dispose(&s);
}

/* useOpenLibs takes Go's ParseBool spellings, and a YAML boolean too. */
TEST(use_open_libs_values)
{
    static const char *const yes[] = {"\"true\"", "\"1\"", "\"T\"", "\"TRUE\"", "true"};
    static const char *const no[] = {"\"false\"", "\"0\"", "\"f\"", "False"};
    for (size_t i = 0; i < 9; i++) {
        struct settings s;
        char *text = xasprintf("kind: ConfigMap\ndata:\n"
                               "  resource.customizations.useOpenLibs.Pod: %s\n",
                               i < 5 ? yes[i] : no[i - 5]);
        CHECK_OK(parse(&s, text));
        CHECK(s.n_overrides == 1 && s.overrides[0].use_open_libs == (i < 5));
        settings_dispose(&s);
        free(text);
    }
}

struct bad_case {
    const char *data; /* the ConfigMap's data section */
    const char *message;
};

/* Line numbers count from the "kind: ConfigMap" line (1) and "data:" (2). */
static const struct bad_case bad_cases[] = {
    {"  resource.customizations.useOpenLibs.apps_Deployment: \"yes please\"\n",
     "argocd-cm.yaml:3: resource.customizations.useOpenLibs.apps_Deployment: must be true or "
     "false"},
    {"  resource.customizations.health.a_b_c: x\n",
     "argocd-cm.yaml:3: resource.customizations.health.a_b_c: \"a_b_c\" is not <group>_<kind> "
     "or <kind>"},
    {"  resource.customizations.health._Pod: x\n",
     "argocd-cm.yaml:3: resource.customizations.health._Pod: write the core group as the kind "
     "alone (resource.customizations.health.Pod)"},
    {"  resource.customizations.health: x\n",
     "argocd-cm.yaml:3: resource.customizations.health: expected "
     "resource.customizations.<type>.<group>_<kind>"},
    {"  url: x\n  resource.customizations.healthcheck.Pod: x\n",
     "argocd-cm.yaml:4: resource.customizations.healthcheck.Pod: resource customization type "
     "\"healthcheck\" is not supported"},
    {"  resource.customizations.health.Pod: 3\n",
     "argocd-cm.yaml:3: resource.customizations.health.Pod: must be a string"},
    {"  resource.customizations.ignoreDifferences.Service: |\n"
     "    jsonPointers:\n"
     "    - [a\n",
     "argocd-cm.yaml:6:1: "},
    {"  resource.customizations.ignoreDifferences.Service: |\n"
     "    jsonPointer: [/spec]\n",
     "argocd-cm.yaml:3: resource.customizations.ignoreDifferences.Service: jsonPointer: unknown "
     "field"},
    {"  resource.customizations.ignoreDifferences.Service: |\n"
     "    jsonPointers: /spec\n",
     "argocd-cm.yaml:3: resource.customizations.ignoreDifferences.Service: jsonPointers: must "
     "be a list of strings"},
    {"  resource.customizations.knownTypeFields.apps_Deployment: |\n"
     "    - {field: a, kind: b}\n",
     "argocd-cm.yaml:3: resource.customizations.knownTypeFields.apps_Deployment[0].kind: "
     "unknown field (field, type)"},
    {"  resource.compareoptions: |\n    ignoreResourceStatusField: some\n",
     "argocd-cm.yaml:3: resource.compareoptions: ignoreResourceStatusField: must be crd, all or "
     "off"},
    {"  resource.compareoptions: |\n    ignoreAggregatedRoles: \"true\"\n",
     "argocd-cm.yaml:3: resource.compareoptions: ignoreAggregatedRoles: must be true or false"},
    {"  resource.compareoptions: |\n    ignoreAggregateRoles: true\n",
     "argocd-cm.yaml:3: resource.compareoptions: ignoreAggregateRoles: unknown field"},
    {"  resource.customizations: |\n"
     "    apps/Deployment:\n"
     "      health.Lua: x\n",
     "argocd-cm.yaml:5: resource.customizations: apps/Deployment: health.Lua: unknown field"},
    {"  resource.customizations: |\n"
     "    apps/Deployment:\n"
     "      health.lua.useOpenLibs: \"true\"\n",
     "argocd-cm.yaml:5: resource.customizations: apps/Deployment: health.lua.useOpenLibs: must "
     "be true or false"},
    {"  resource.customizations: |\n"
     "    apps/Deployment: just text\n",
     "argocd-cm.yaml:4: resource.customizations: apps/Deployment: must be a mapping"},
    {"  resource.customizations: |\n"
     "    a/b/c: {health.lua: x}\n",
     "argocd-cm.yaml:4: resource.customizations: \"a/b/c\": key must be \"group/kind\""},
    {"  resource.customizations: |\n"
     "    - apps/Deployment\n",
     "argocd-cm.yaml:3: resource.customizations: must be a mapping of \"group/kind\" entries"},
    {"  resource.customizations: |\n"
     "    apps/Deployment:\n"
     "      ignoreDifferences: |\n"
     "        jsonPointers: {a: b}\n",
     "argocd-cm.yaml:5: resource.customizations: apps/Deployment: ignoreDifferences: "
     "jsonPointers: must be a list of strings"},
    {"  x: [unclosed\n", "argocd-cm.yaml:"},
};

TEST(malformed_input_names_key_and_line)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct settings s;
        char *text = xasprintf("kind: ConfigMap\ndata:\n%s", bad_cases[i].data);
        int rc = parse(&s, text);
        settings_dispose(&s);
        free(text);
        if (rc != ERR_INVALID)
            TEST_FAIL_("case %zu: returned %d, expected ERR_INVALID", i, rc);
        if (strncmp(err_last(), bad_cases[i].message, strlen(bad_cases[i].message)) != 0)
            TEST_FAIL_("case %zu: message \"%s\", expected it to start \"%s\"", i, err_last(),
                       bad_cases[i].message);
    }
}

TEST(not_a_configmap)
{
    struct settings s;
    CHECK_ERR(parse(&s, "apiVersion: v1\nkind: Secret\n"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "expected one ConfigMap document");
    settings_dispose(&s);
    CHECK_ERR(parse(&s, "kind: ConfigMap\n---\nkind: ConfigMap\n"), ERR_INVALID);
    settings_dispose(&s);
    CHECK_ERR(parse(&s, "kind: ConfigMap\ndata: [a]\n"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "argocd-cm.yaml:2: data: must be a mapping");
    settings_dispose(&s);
}

TEST(missing_file)
{
    struct settings s;
    CHECK_ERR(settings_load(&s, "/nonexistent/argocd-cm.yaml"), ERR_NOTFOUND);
    settings_dispose(&s);
}

int main(void)
{
    RUN(reads_argocd_cm_as_is);
    RUN(empty_configmap_has_defaults);
    RUN(use_open_libs_values);
    RUN(malformed_input_names_key_and_line);
    RUN(not_a_configmap);
    RUN(missing_file);
    return TEST_END();
}
