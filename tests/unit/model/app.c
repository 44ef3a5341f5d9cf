/*
 * Tests for appliance/model/app.c: a full Application, the defaults, and
 * for each field a wrong or missing value whose message must name it.
 */
#include "model/app.h"

#include "fixture.h"

static const char full_app[] = "apiVersion: argoproj.io/v1alpha1\n"
                               "kind: Application\n"
                               "metadata:\n"
                               "  name: guestbook.site-1\n"
                               "  namespace: argocd\n"
                               "  finalizers: [resources-finalizer.argocd.argoproj.io]\n"
                               "spec:\n"
                               "  project: edge\n"
                               "  source:\n"
                               "    repoURL: file:///srv/git/site.git\n"
                               "    targetRevision: v1.2.0\n"
                               "    path: apps/guestbook\n"
                               "    directory:\n"
                               "      recurse: true\n"
                               "      jsonnet: {}\n"
                               "  destination:\n"
                               "    server: https://kubernetes.default.svc\n"
                               "    namespace: guestbook\n"
                               "  syncPolicy:\n"
                               "    automated:\n"
                               "      prune: true\n"
                               "      selfHeal: true\n"
                               "      allowEmpty: false\n"
                               "    syncOptions:\n"
                               "      - Validate=false\n"
                               "      - CreateNamespace=true\n"
                               "      - SomethingNew=yes\n"
                               "    retry: {limit: 5}\n"
                               "    managedNamespaceMetadata: {labels: {team: edge}}\n";

static const char min_app[] = "apiVersion: argoproj.io/v1alpha1\n"
                              "kind: Application\n"
                              "metadata: {name: min}\n"
                              "spec:\n"
                              "  source: {repoURL: /srv/git/site.git}\n"
                              "  destination: {name: in-cluster}\n";

TEST(full_application)
{
    struct app a;
    json_t *obj = fixture_load(full_app);

    CHECK_OK(app_parse(&a, obj, "site.yaml"));
    CHECK_STR(a.name, "guestbook.site-1");
    CHECK_STR(a.project, "edge");
    CHECK_STR(a.repo_url, "file:///srv/git/site.git");
    CHECK_STR(a.target_revision, "v1.2.0");
    CHECK_STR(a.path, "apps/guestbook");
    CHECK(a.recurse == 1);
    CHECK_STR(a.dest_server, "https://kubernetes.default.svc");
    CHECK(a.dest_name == NULL);
    CHECK_STR(a.dest_namespace, "guestbook");
    CHECK(a.automated == 1);
    CHECK(a.prune == 1);
    CHECK(a.self_heal == 1);
    CHECK(a.create_namespace == 1);
    CHECK_STR(doc_get_str(a.managed_ns_metadata, "labels.team"), "edge");
    CHECK(a.manifest == obj);
    /* unknown fields stay in the manifest */
    CHECK(doc_get(a.manifest, "spec.syncPolicy.retry") != NULL);
    CHECK(app_is_application(obj));
    app_dispose(&a);
    CHECK(a.name == NULL && a.manifest == NULL);
    app_dispose(&a);
    /* the manifest reference was returned: obj is ours alone again */
    CHECK(obj->refcount == 1);
    json_decref(obj);
}

TEST(defaults)
{
    struct app a;
    json_t *obj = fixture_load(min_app);

    CHECK_OK(app_parse(&a, obj, "site.yaml"));
    CHECK_STR(a.name, "min");
    CHECK_STR(a.project, "default");
    CHECK_STR(a.target_revision, "HEAD");
    CHECK_STR(a.path, ".");
    CHECK(a.recurse == 0);
    CHECK(a.dest_server == NULL);
    CHECK_STR(a.dest_name, "in-cluster");
    CHECK(a.dest_namespace == NULL);
    CHECK(a.automated == 0 && a.prune == 0 && a.self_heal == 0);
    CHECK(a.create_namespace == 0);
    app_dispose(&a);
    json_decref(obj);
}

TEST(automated_variants)
{
    struct app a;
    json_t *obj = fixture_load(min_app);

    /* {} turns automation on with prune and selfHeal off */
    doc_set_new(obj, "spec.syncPolicy.automated", json_object());
    CHECK_OK(app_parse(&a, obj, "x"));
    CHECK(a.automated == 1 && a.prune == 0 && a.self_heal == 0);
    app_dispose(&a);
    doc_set_new(obj, "spec.syncPolicy.automated.prune", json_null());
    doc_set_new(obj, "spec.syncPolicy.automated.selfHeal", json_true());
    CHECK_OK(app_parse(&a, obj, "x"));
    CHECK(a.automated == 1 && a.prune == 0 && a.self_heal == 1);
    app_dispose(&a);
    /* Argo CD 3's switch */
    doc_set_new(obj, "spec.syncPolicy.automated.enabled", json_false());
    CHECK_OK(app_parse(&a, obj, "x"));
    CHECK(a.automated == 0);
    app_dispose(&a);
    /* `automated:` with no value is null: not automated */
    doc_set_new(obj, "spec.syncPolicy.automated", json_null());
    CHECK_OK(app_parse(&a, obj, "x"));
    CHECK(a.automated == 0);
    app_dispose(&a);
    /* empty strings mean the defaults, as in Go */
    doc_set_new(obj, "spec.source.targetRevision", json_string(""));
    doc_set_new(obj, "spec.source.path", json_string(""));
    doc_set_new(obj, "spec.project", json_string(""));
    CHECK_OK(app_parse(&a, obj, "x"));
    CHECK_STR(a.target_revision, "HEAD");
    CHECK_STR(a.path, ".");
    CHECK_STR(a.project, "default");
    app_dispose(&a);
    json_decref(obj);
}

/* Remove the field at dotted from root. */
static void del_path(json_t *root, const char *dotted)
{
    char *parent = xstrdup(dotted);
    char *dot = strrchr(parent, '.');
    if (dot) {
        *dot = '\0';
        json_object_del(doc_get(root, parent), dot + 1);
    } else {
        json_object_del(root, dotted);
    }
    free(parent);
}

TEST(wrong_or_missing_fields_are_named)
{
    static const struct {
        const char *path;
        const char *json; /* new value; NULL deletes the field */
        int code;
        const char *msg;
    } cases[] = {
        {"apiVersion", NULL, ERR_INVALID, "site.yaml: apiVersion: missing"},
        {"apiVersion", "\"argoproj.io/v1beta1\"", ERR_INVALID, "site.yaml: apiVersion: must be"},
        {"apiVersion", "\"v1\"", ERR_INVALID, "site.yaml: apiVersion:"},
        {"kind", "\"AppProject\"", ERR_INVALID, "site.yaml: kind: must be Application"},
        {"kind", NULL, ERR_INVALID, "site.yaml: kind: missing"},
        {"metadata", NULL, ERR_INVALID, "site.yaml: metadata: missing"},
        {"metadata", "[]", ERR_INVALID, "site.yaml: metadata: must be a mapping"},
        {"metadata.name", NULL, ERR_INVALID, "site.yaml: metadata.name: missing"},
        {"metadata.name", "5", ERR_INVALID, "site.yaml: metadata.name: must be a string"},
        {"metadata.name", "\"Guestbook\"", ERR_INVALID, "site.yaml: metadata.name: \"Guestbook\""},
        {"metadata.name", "\"-a\"", ERR_INVALID, "metadata.name"},
        {"metadata.name", "\"a.\"", ERR_INVALID, "metadata.name"},
        {"metadata.name", "\"a..b\"", ERR_INVALID, "metadata.name"},
        {"metadata.name", "\"a_b\"", ERR_INVALID, "metadata.name"},
        {"spec", NULL, ERR_INVALID, "site.yaml: spec: missing"},
        {"spec", "\"x\"", ERR_INVALID, "site.yaml: spec: must be a mapping"},
        {"spec.project", "[1]", ERR_INVALID, "site.yaml: spec.project: must be a string"},
        {"spec.source", NULL, ERR_INVALID, "site.yaml: spec.source: missing"},
        {"spec.source", "[]", ERR_INVALID, "site.yaml: spec.source: must be a mapping"},
        {"spec.source.repoURL", NULL, ERR_INVALID, "site.yaml: spec.source.repoURL: missing"},
        {"spec.source.repoURL", "\"\"", ERR_INVALID, "site.yaml: spec.source.repoURL: missing"},
        {"spec.source.repoURL", "{}", ERR_INVALID,
         "site.yaml: spec.source.repoURL: must be a string"},
        {"spec.source.targetRevision", "1.5", ERR_INVALID,
         "site.yaml: spec.source.targetRevision: must be a string"},
        {"spec.source.path", "\"/etc\"", ERR_INVALID, "site.yaml: spec.source.path: \"/etc\""},
        {"spec.source.path", "\"apps/../..\"", ERR_INVALID, "site.yaml: spec.source.path:"},
        {"spec.source.path", "\"..\"", ERR_INVALID, "site.yaml: spec.source.path:"},
        {"spec.source.path", "true", ERR_INVALID, "site.yaml: spec.source.path: must be a string"},
        {"spec.source.directory", "\"yes\"", ERR_INVALID,
         "site.yaml: spec.source.directory: must be a mapping"},
        {"spec.source.directory", "{\"recurse\": \"true\"}", ERR_INVALID,
         "site.yaml: spec.source.directory.recurse: must be true or false"},
        {"spec.destination", NULL, ERR_INVALID, "site.yaml: spec.destination: missing"},
        {"spec.destination", "{}", ERR_INVALID,
         "site.yaml: spec.destination: needs exactly one of server and name"},
        {"spec.destination", "{\"name\": \"a\", \"server\": \"https://b\"}", ERR_INVALID,
         "site.yaml: spec.destination: needs exactly one of server and name"},
        {"spec.destination.server", "1", ERR_INVALID,
         "site.yaml: spec.destination.server: must be a string"},
        {"spec.destination.namespace", "[]", ERR_INVALID,
         "site.yaml: spec.destination.namespace: must be a string"},
        {"spec.syncPolicy", "[]", ERR_INVALID, "site.yaml: spec.syncPolicy: must be a mapping"},
        {"spec.syncPolicy.automated", "true", ERR_INVALID,
         "site.yaml: spec.syncPolicy.automated: must be a mapping"},
        {"spec.syncPolicy.automated", "{\"prune\": \"true\"}", ERR_INVALID,
         "site.yaml: spec.syncPolicy.automated.prune: must be true or false"},
        {"spec.syncPolicy.automated", "{\"selfHeal\": 1}", ERR_INVALID,
         "site.yaml: spec.syncPolicy.automated.selfHeal: must be true or false"},
        {"spec.syncPolicy.automated", "{\"enabled\": \"no\"}", ERR_INVALID,
         "site.yaml: spec.syncPolicy.automated.enabled: must be true or false"},
        {"spec.syncPolicy.syncOptions", "\"CreateNamespace=true\"", ERR_INVALID,
         "site.yaml: spec.syncPolicy.syncOptions: must be a list of strings"},
        {"spec.syncPolicy.syncOptions", "[\"Validate=false\", 3]", ERR_INVALID,
         "site.yaml: spec.syncPolicy.syncOptions[1]: must be a string"},
        {"spec.syncPolicy.managedNamespaceMetadata", "[]", ERR_INVALID,
         "site.yaml: spec.syncPolicy.managedNamespaceMetadata: must be a mapping"},
        {"spec.syncPolicy.managedNamespaceMetadata", "{\"labels\": [\"a=b\"]}", ERR_INVALID,
         "site.yaml: spec.syncPolicy.managedNamespaceMetadata.labels: must be a mapping"},
        {"spec.syncPolicy.managedNamespaceMetadata", "{\"annotations\": {\"n\": 1}}", ERR_INVALID,
         "site.yaml: spec.syncPolicy.managedNamespaceMetadata.annotations.n: must be a string"},
        {"spec.sources", "[{\"repoURL\": \"/a\"}, {\"repoURL\": \"/b\"}]", ERR_INVALID,
         "site.yaml: spec: needs exactly one of source and sources"},
        {"spec.source.ref", "\"values\"", ERR_INVALID,
         "site.yaml: spec.source.ref: only sources in spec.sources can have a ref"},
        {"spec.source.plugin", "{\"name\": \"p\"}", ERR_UNSUPPORTED,
         "site.yaml: spec.source.plugin: "},
        {"spec.source.chart", "\"nginx\"", ERR_UNSUPPORTED, "site.yaml: spec.source.chart: "},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct app a;
        json_t *obj = fixture_load(full_app);
        int rc;

        if (cases[i].json) {
            json_error_t jerr;
            json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
            CHECK(v != NULL);
            doc_set_new(obj, cases[i].path, v);
        } else {
            del_path(obj, cases[i].path);
        }
        rc = app_parse(&a, obj, "site.yaml");
        if (rc != cases[i].code || !strstr(err_last(), cases[i].msg))
            fprintf(stderr, "case %zu (%s = %s): got %d \"%s\"\n", i, cases[i].path,
                    cases[i].json ? cases[i].json : "deleted", rc, err_last());
        CHECK(rc == cases[i].code);
        CHECK_CONTAINS(err_last(), cases[i].msg);
        /* nothing is handed out on failure, and disposing is still safe */
        CHECK(a.name == NULL && a.manifest == NULL);
        app_dispose(&a);
        CHECK(obj->refcount == 1);
        json_decref(obj);
    }
}

TEST(sources_list)
{
    struct app a;
    json_t *obj = fixture_load(min_app);

    del_path(obj, "spec.source");
    doc_set_new(obj, "spec.sources",
                json_pack("[{s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]", "repoURL",
                          "/srv/git/a.git", "path", "apps", "repoURL", "/srv/git/values.git",
                          "targetRevision", "v2", "ref", "values", "repoURL", "/srv/git/c.git",
                          "path", "charts/web", "ref", "web_2", "targetRevision", ""));
    CHECK_OK(app_parse(&a, obj, "x.yaml"));
    CHECK(a.n_sources == 3);
    CHECK_STR(a.sources[0].repo_url, "/srv/git/a.git");
    CHECK_STR(a.sources[0].path, "apps");
    CHECK_STR(a.sources[0].target_revision, "HEAD");
    CHECK(a.sources[0].ref == NULL);
    /* a ref source without a path renders nothing */
    CHECK(a.sources[1].path == NULL);
    CHECK_STR(a.sources[1].ref, "values");
    CHECK_STR(a.sources[1].target_revision, "v2");
    CHECK_STR(a.sources[2].ref, "web_2");
    CHECK_STR(a.sources[2].path, "charts/web");
    CHECK(a.sources[2].spec == json_array_get(doc_get(obj, "spec.sources"), 2));
    /* the first source also fills the single-source fields */
    CHECK_STR(a.repo_url, "/srv/git/a.git");
    CHECK_STR(a.path, "apps");
    app_dispose(&a);
    json_decref(obj);
}

TEST(single_source_is_one_of_sources)
{
    struct app a;
    json_t *obj = fixture_load(min_app);

    CHECK_OK(app_parse(&a, obj, "x.yaml"));
    CHECK(a.n_sources == 1);
    CHECK_STR(a.sources[0].repo_url, a.repo_url);
    CHECK_STR(a.sources[0].path, ".");
    CHECK(a.sources[0].spec == doc_get(obj, "spec.source"));
    app_dispose(&a);
    json_decref(obj);
}

TEST(bad_sources_are_refused)
{
    static const struct {
        const char *sources; /* JSON */
        int code;
        const char *msg;
    } cases[] = {
        {"\"x\"", ERR_INVALID, "x.yaml: spec.sources: must be a list of sources"},
        {"[]", ERR_INVALID, "x.yaml: spec.source: missing (or spec.sources)"},
        {"[1]", ERR_INVALID, "x.yaml: spec.sources[0]: must be a mapping"},
        {"[{\"path\": \"a\"}]", ERR_INVALID, "x.yaml: spec.sources[0].repoURL: missing"},
        {"[{\"repoURL\": \"/a\"}, {\"repoURL\": 5}]", ERR_INVALID,
         "x.yaml: spec.sources[1].repoURL: must be a string"},
        {"[{\"repoURL\": \"/a\", \"path\": \"../b\"}]", ERR_INVALID,
         "x.yaml: spec.sources[0].path: \"../b\" must be relative"},
        {"[{\"repoURL\": \"/a\", \"ref\": \"v\"}, {\"repoURL\": \"/b\", \"ref\": \"v\"}]",
         ERR_INVALID, "x.yaml: spec.sources[1].ref: \"v\" is already the ref of spec.sources[0]"},
        {"[{\"repoURL\": \"/a\", \"ref\": \"a/b\"}]", ERR_INVALID,
         "x.yaml: spec.sources[0].ref: \"a/b\" must be letters, digits"},
        {"[{\"repoURL\": \"/a\", \"ref\": \"$v\"}]", ERR_INVALID, "spec.sources[0].ref: \"$v\""},
        {"[{\"repoURL\": \"/a\", \"chart\": \"nginx\"}]", ERR_UNSUPPORTED,
         "x.yaml: spec.sources[0].chart: Helm chart repositories need the network"},
        {"[{\"repoURL\": \"/a\", \"plugin\": {\"name\": \"p\"}}]", ERR_UNSUPPORTED,
         "x.yaml: spec.sources[0].plugin: "},
        {"[{\"repoURL\": \"/a\", \"directory\": {\"recurse\": 1}}]", ERR_INVALID,
         "x.yaml: spec.sources[0].directory.recurse: must be true or false"},
        {"[{\"repoURL\": \"/a\", \"directory\": []}]", ERR_INVALID,
         "x.yaml: spec.sources[0].directory: must be a mapping"},
        {"[{\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, "
         "{\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, "
         "{\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, "
         "{\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, "
         "{\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}, "
         "{\"repoURL\": \"/a\"}, {\"repoURL\": \"/a\"}]",
         ERR_TOOLARGE, "x.yaml: spec.sources: more than 16 sources (limit)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct app a;
        json_t *obj = fixture_load(min_app);
        json_error_t jerr;
        json_t *v = json_loads(cases[i].sources, JSON_DECODE_ANY, &jerr);
        int rc;

        CHECK(v != NULL);
        del_path(obj, "spec.source");
        doc_set_new(obj, "spec.sources", v);
        rc = app_parse(&a, obj, "x.yaml");
        if (rc != cases[i].code || !strstr(err_last(), cases[i].msg))
            fprintf(stderr, "case %zu: got %d \"%s\"\n", i, rc, err_last());
        CHECK(rc == cases[i].code);
        CHECK_CONTAINS(err_last(), cases[i].msg);
        CHECK(a.name == NULL && a.sources == NULL);
        app_dispose(&a);
        json_decref(obj);
    }
}

TEST(long_names_are_fine)
{
    struct app a;
    json_t *obj = fixture_load(min_app);
    char name[254];

    /* longer than a label value (63) but a valid subdomain */
    memset(name, 'a', 253);
    name[253] = '\0';
    name[100] = '.';
    doc_set_new(obj, "metadata.name", json_string(name));
    CHECK_OK(app_parse(&a, obj, "x"));
    CHECK(strlen(a.name) == 253);
    app_dispose(&a);
    name[100] = 'a';
    memset(name, 'b', 253);
    doc_set_new(obj, "metadata.name", json_stringn(name, 253));
    CHECK_OK(app_parse(&a, obj, "x"));
    app_dispose(&a);
    {
        char *longer = xasprintf("%sb", name);
        doc_set_new(obj, "metadata.name", json_string(longer));
        free(longer);
    }
    CHECK_ERR(app_parse(&a, obj, "x"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "metadata.name");
    json_decref(obj);
}

TEST(is_application)
{
    json_t *obj = fixture_load(min_app);

    CHECK(app_is_application(obj));
    doc_set_new(obj, "kind", json_string("AppProject"));
    CHECK(!app_is_application(obj));
    doc_set_new(obj, "kind", json_string("Application"));
    doc_set_new(obj, "apiVersion", json_string("v1"));
    CHECK(!app_is_application(obj));
    json_decref(obj);
    obj = json_string("Application");
    CHECK(!app_is_application(obj));
    json_decref(obj);
}

TEST(not_a_mapping)
{
    struct app a;
    json_t *obj = json_array();

    CHECK_ERR(app_parse(&a, obj, "x.yaml"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "x.yaml: must be a mapping");
    app_dispose(&a);
    json_decref(obj);
}

/* serve --bootstrap REPO[@REV]:PATH: the path after the last ':', the
 * revision after an '@' past the repository's last '/', and a spec whose
 * last ':' is a scheme's or a port's refused. */
TEST(bootstrap_spec)
{
    static const struct {
        const char *spec, *repo, *rev, *path;
    } ok[] = {
        {"file:///srv/git/site.git@main:apps", "file:///srv/git/site.git", "main", "apps"},
        {"https://git.lan:8443/ops/site.git@v1.2:clusters/edge",
         "https://git.lan:8443/ops/site.git", "v1.2", "clusters/edge"},
        {"https://user@git.lan/site.git:root", "https://user@git.lan/site.git", "HEAD", "root"},
        {"/srv/git/site:.", "/srv/git/site", "HEAD", "."},
    };
    static const char *const bad[] = {"https://git.lan/site.git", "https://git.lan:8443/site.git",
                                      "/srv/git/site", "file:///x:"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *app = NULL;
        struct app a = {0};
        CHECK_OK(app_bootstrap(&app, ok[i].spec, "root", "in-cluster"));
        CHECK_OK(app_parse(&a, app, "bootstrap"));
        CHECK_STR(a.repo_url, ok[i].repo);
        CHECK_STR(a.target_revision, ok[i].rev);
        CHECK_STR(a.path, ok[i].path);
        CHECK_STR(a.dest_name, "in-cluster");
        CHECK(a.automated && a.prune && a.self_heal);
        app_dispose(&a);
        json_decref(app);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *app = NULL;
        CHECK_ERR(app_bootstrap(&app, bad[i], "root", "in-cluster"), ERR_INVALID);
        CHECK(app == NULL);
        CHECK_CONTAINS(err_last(), "REPO[@REVISION]:PATH");
    }
}

int main(void)
{
    RUN(full_application);
    RUN(defaults);
    RUN(automated_variants);
    RUN(wrong_or_missing_fields_are_named);
    RUN(sources_list);
    RUN(single_source_is_one_of_sources);
    RUN(bad_sources_are_refused);
    RUN(long_names_are_fine);
    RUN(is_application);
    RUN(not_a_mapping);
    RUN(bootstrap_spec);
    return TEST_END();
}
