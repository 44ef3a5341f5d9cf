/*
 * Tests for appliance/model/appset.c: a full ApplicationSet with every
 * generator edgecd runs, the options read from it, and for each field
 * edgecd does not run or a malformed value, an error naming the field.
 */
#include "model/appset.h"

#include "core/err.h"
#include "fixture.h"

static const char full_appset[] =
    "apiVersion: argoproj.io/v1alpha1\n"
    "kind: ApplicationSet\n"
    "metadata: {name: guestbook}\n"
    "spec:\n"
    "  goTemplate: true\n"
    "  goTemplateOptions: [missingkey=error]\n"
    "  syncPolicy: {preserveResourcesOnDeletion: true, applicationsSync: create-update}\n"
    "  generators:\n"
    "    - list:\n"
    "        elements: [{cluster: a, url: 'https://a'}, {cluster: b, values: {x: y}}]\n"
    "      template: {metadata: {labels: {from: list}}}\n"
    "    - git:\n"
    "        repoURL: https://git.lan/apps.git\n"
    "        revision: main\n"
    "        directories: [{path: 'apps/*'}, {path: apps/skip, exclude: true}]\n"
    "        requeueAfterSeconds: 60\n"
    "    - matrix:\n"
    "        generators:\n"
    "          - clusters: {}\n"
    "          - git: {repoURL: 'https://git.lan/c.git', files: [{path: '**/config.json'}]}\n"
    "    - merge:\n"
    "        mergeKeys: [server]\n"
    "        generators:\n"
    "          - clusters: {values: {kafka: 'true'}}\n"
    "          - list: {elements: [{server: 'https://a', values.kafka: 'false'}]}\n"
    "  template:\n"
    "    metadata:\n"
    "      name: '{{.cluster}}-guestbook'\n"
    "      finalizers: [resources-finalizer.argocd.argoproj.io]\n"
    "    spec:\n"
    "      project: default\n"
    "      source: {repoURL: 'https://git.lan/gb.git', path: guestbook}\n"
    "      destination: {server: '{{.url}}', namespace: guestbook}\n";

TEST(parses_a_full_appset)
{
    json_t *obj = fixture_load(full_appset);
    struct appset a;
    CHECK_OK(appset_parse(&a, obj, "test"));
    CHECK_STR(a.name, "guestbook");
    CHECK(a.go_template == 1);
    CHECK(a.missingkey_error == 1);
    CHECK(a.preserve_resources == 1);
    CHECK(a.policy == APPSET_POLICY_CREATE_UPDATE);
    CHECK_STR(appset_policy_name(a.policy), "create-update");
    CHECK(a.requeue_seconds == 60);
    CHECK(json_array_size(a.generators) == 4);
    CHECK_STR(appset_generator_kind(json_array_get(a.generators, 2)), "matrix");
    CHECK_STR(doc_get_str(a.tmpl, "metadata.name"), "{{.cluster}}-guestbook");
    CHECK(appset_is_appset(obj));
    appset_dispose(&a);
    json_decref(obj);
}

TEST(defaults)
{
    json_t *obj = fixture_load("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
                               "metadata: {name: s}\nspec:\n"
                               "  generators: [{list: {elements: []}}]\n"
                               "  template: {metadata: {name: x}, spec: {}}\n");
    struct appset a;
    CHECK_OK(appset_parse(&a, obj, NULL));
    CHECK(a.go_template == 0);
    CHECK(a.missingkey_error == 0);
    CHECK(a.policy == APPSET_POLICY_SYNC);
    CHECK(a.requeue_seconds == APPSET_DEFAULT_REQUEUE_SECONDS);
    appset_dispose(&a);
    json_decref(obj);
}

/* A spec line replaced by each of these must fail with code, naming
 * the field. */
struct bad_case {
    const char *spec; /* the spec's YAML, at two spaces of indent */
    int code;
    const char *message;
};

static const struct bad_case bad_cases[] = {
    {"  templatePatch: x\n", ERR_UNSUPPORTED, "spec.templatePatch: not supported"},
    {"  strategy: {type: RollingSync}\n", ERR_UNSUPPORTED, "spec.strategy: not supported"},
    {"  templte: {}\n", ERR_INVALID, "spec.templte: unknown field"},
    {"  syncPolicy: {applicationsSync: sometimes}\n", ERR_INVALID,
     "spec.syncPolicy.applicationsSync: needs create-only"},
    {"  syncPolicy: {preserveResourcesOnDeletion: maybe}\n", ERR_INVALID,
     "spec.syncPolicy.preserveResourcesOnDeletion: needs true or false"},
    {"  goTemplateOptions: [missingkey=panic]\n", ERR_UNSUPPORTED, "spec.goTemplateOptions[0]"},
    {"  generators: []\n", ERR_INVALID, "spec.generators: needs a list"},
    {"  generators: [{scmProvider: {}}]\n", ERR_UNSUPPORTED,
     "spec.generators[0].scmProvider: not supported"},
    {"  generators: [{pullRequest: {}}]\n", ERR_UNSUPPORTED, "spec.generators[0].pullRequest"},
    {"  generators: [{clusterDecisionResource: {}}]\n", ERR_UNSUPPORTED, "clusterDecisionResource"},
    {"  generators: [{plugin: {}}]\n", ERR_UNSUPPORTED, "spec.generators[0].plugin"},
    {"  generators: [{list: {elements: []}, selector: {matchLabels: {a: b}}}]\n", ERR_UNSUPPORTED,
     "spec.generators[0].selector: not supported"},
    {"  generators: [{clusters: {selector: {matchLabels: {a: b}}}}]\n", ERR_UNSUPPORTED,
     "spec.generators[0].clusters.selector: not supported"},
    {"  generators: [{list: {elements: []}, git: {repoURL: x, files: [{path: a}]}}]\n", ERR_INVALID,
     "spec.generators[0]: needs exactly one of"},
    {"  generators: [{list: {elements: [3]}}]\n", ERR_INVALID,
     "spec.generators[0].list.elements[0]: needs a mapping"},
    {"  generators: [{list: {}}]\n", ERR_INVALID, "needs elements or elementsYaml"},
    {"  generators: [{git: {directories: [{path: a}]}}]\n", ERR_INVALID,
     "spec.generators[0].git.repoURL: needs a string"},
    {"  generators: [{git: {repoURL: x}}]\n", ERR_INVALID, "needs either directories or files"},
    {"  generators: [{git: {repoURL: x, directories: [{path: 'a/[b'}]}}]\n", ERR_INVALID,
     "spec.generators[0].git.directories[0].path"},
    {"  generators: [{git: {repoURL: x, files: [{path: a, exclude: 3}]}}]\n", ERR_INVALID,
     "spec.generators[0].git.files[0]: needs true or false"},
    {"  generators: [{git: {repoURL: x, files: [{path: a}], pathParamPrefix: p}}]\n",
     ERR_UNSUPPORTED, "spec.generators[0].git.pathParamPrefix: not supported"},
    {"  generators: [{git: {repoURL: x, files: [{path: a}], values: {a: [1]}}}]\n", ERR_INVALID,
     "spec.generators[0].git.values.a: needs a string"},
    {"  generators: [{git: {repoURL: x, files: [{path: a}], requeueAfterSeconds: -1}}]\n",
     ERR_INVALID, "requeueAfterSeconds"},
    {"  generators: [{matrix: {generators: [{clusters: {}}]}}]\n", ERR_INVALID,
     "spec.generators[0].matrix.generators: needs exactly two"},
    {"  generators: [{matrix: {generators: [{clusters: {}}, {clusters: {}, template: {}}]}}]\n",
     ERR_UNSUPPORTED, "spec.generators[0].matrix.generators[1].template: not supported"},
    {"  generators: [{merge: {generators: [{clusters: {}}]}}]\n", ERR_INVALID,
     "spec.generators[0].merge.mergeKeys"},
    {"  generators: [{matrix: {generators: [{matrix: {generators: [{matrix: {generators: "
     "[{matrix: {generators: [{clusters: {}}, {clusters: {}}]}}, {clusters: {}}]}}, "
     "{clusters: {}}]}}, {clusters: {}}]}}]\n",
     ERR_INVALID, "nest at most"},
    {"  generators: [{list: {elements: []}, template: {metadata: {labels: {a: 1}}}}]\n",
     ERR_INVALID, "spec.generators[0].template.metadata.labels.a: needs a string"},
    {"  template: {metadata: {labels: {}}, spec: {}}\n", ERR_INVALID,
     "spec.template.metadata.name: needs a string"},
    {"  template: {metadata: {name: x}}\n", ERR_INVALID, "spec.template.spec: needs a mapping"},
    {"  template: {metadata: {name: x, uid: y}, spec: {}}\n", ERR_INVALID,
     "spec.template.metadata.uid: unknown field"},
};

TEST(refuses_what_it_does_not_run)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        const char *gen = strstr(c->spec, "generators:") ? "" : "  generators: [{clusters: {}}]\n";
        const char *tmpl = strstr(c->spec, "template: {") == c->spec + 2
                               ? ""
                               : "  template: {metadata: {name: x}, spec: {}}\n";
        char *text = xasprintf("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
                               "metadata: {name: s}\nspec:\n%s%s%s",
                               c->spec, gen, tmpl);
        json_t *obj = fixture_load(text);
        struct appset a;
        int rc = appset_parse(&a, obj, "site.yaml");
        appset_dispose(&a);
        json_decref(obj);
        free(text);
        if (rc != c->code || !strstr(err_last(), c->message))
            TEST_FAIL_("case %zu (%s): got %d \"%s\", expected %d \"%s\"", i, c->spec, rc,
                       err_last(), c->code, c->message);
        CHECK_CONTAINS(err_last(), "site.yaml: applicationset s: ");
    }
}

TEST(refuses_what_is_not_an_appset)
{
    json_t *obj = fixture_load("apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
                               "metadata: {name: s}\nspec: {}\n");
    struct appset a;
    CHECK_ERR(appset_parse(&a, obj, NULL), ERR_INVALID);
    CHECK(!appset_is_appset(obj));
    appset_dispose(&a);
    json_decref(obj);
    obj = fixture_load("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
                       "metadata: {name: Not_A_Name}\nspec: {}\n");
    CHECK_ERR(appset_parse(&a, obj, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "metadata.name");
    appset_dispose(&a);
    json_decref(obj);
}

int main(void)
{
    RUN(parses_a_full_appset);
    RUN(defaults);
    RUN(refuses_what_it_does_not_run);
    RUN(refuses_what_is_not_an_appset);
    return TEST_END();
}
