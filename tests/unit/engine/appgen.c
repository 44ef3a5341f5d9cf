/*
 * Tests for appliance/engine/appgen.c: every generator with Argo CD's
 * parameter names in both template modes, on a folder made at test time
 * (the git generators read it through render_fs, as they read a commit);
 * generator templates merged over spec.template; and the errors that stop
 * an evaluation (a non-string in fasttemplate mode, a missing key, two
 * apps with one name, conflicting matrix parameters).
 */
#include "engine/appgen.h"

#include "engine/internal.h"

#include "core/err.h"
#include "core/fs.h"
#include "core/util.h"
#include "doc/doc.h"
#include "test.h"

static char *dir;
static struct config_cluster clusters[] = {
    {"in-cluster", "https://kubernetes.default.svc", NULL, NULL},
    {"Edge_2", "https://10.0.0.2:6443", NULL, NULL},
};
static int opens;

static int open_local(void *ctx, const char *url, const char *rev, render_fs **out, char sha[41])
{
    (void)ctx;
    (void)rev;
    opens++;
    if (strcmp(url, "https://git.lan/site.git") != 0)
        return err_set(ERR_NOTFOUND, "%s: no such repository", url);
    str_copy(sha, "0123456789012345678901234567890123456789", 41);
    return render_fs_local(out, dir, NULL);
}

static const struct appgen_env env = {open_local, NULL, clusters, 2};

static void put(const char *rel, const char *text)
{
    char *p = xasprintf("%s/%s", dir, rel), *d = xstrdup(p);
    *strrchr(d, '/') = '\0';
    if (fs_mkdir_p(d, 0755) < 0 || fs_write_atomic(p, text, strlen(text), 0644) < 0) {
        fprintf(stderr, "%s\n", err_last());
        exit(2);
    }
    free(p);
    free(d);
}

/* The ApplicationSet of spec (YAML at two spaces of indent; a template
 * naming apps after {{name}} is added when spec has none). */
static int load(struct appset *as, const char *spec)
{
    char *text = xasprintf("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
                           "metadata: {name: set}\nspec:\n%s%s",
                           spec,
                           strstr(spec, "\n  template:")
                               ? ""
                               : "  template:\n    metadata: {name: 'x-{{name}}'}\n"
                                 "    spec: {destination: {server: s}}\n");
    json_t *docs = NULL;
    int rc = doc_parse_yaml(&docs, text, strlen(text), "test", NULL);
    if (rc == 0)
        rc = appset_parse(as, json_array_get(docs, 0), "test");
    json_decref(docs);
    free(text);
    return rc;
}

/* The parameter sets of the appset's first generator, as compact JSON
 * text with sorted keys (new), or "ERR: message". */
static char *params_of(const char *spec)
{
    struct appset as;
    json_t *out = NULL;
    char *text;
    if (load(&as, spec) < 0 ||
        appgen_params(&out, json_array_get(as.generators, 0), &as, &env, "g") < 0) {
        text = xasprintf("ERR: %s", err_last());
        err_clear();
    } else {
        text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    }
    json_decref(out);
    appset_dispose(&as);
    return text;
}

#define CHECK_PARAMS(spec, want)                                                                   \
    do {                                                                                           \
        char *got_ = params_of(spec);                                                              \
        int ok_ = !strcmp(got_, want);                                                             \
        if (!ok_)                                                                                  \
            fprintf(stderr, "%s:%d: got\n  %s\nexpected\n  %s\n", __FILE__, __LINE__, got_, want); \
        free(got_);                                                                                \
        if (!ok_)                                                                                  \
            TEST_FAIL_("parameters");                                                              \
    } while (0)

#define CHECK_PARAMS_ERR(spec, part)                                                               \
    do {                                                                                           \
        char *got_ = params_of(spec);                                                              \
        int ok_ = !strncmp(got_, "ERR: ", 5) && strstr(got_, part);                                \
        if (!ok_)                                                                                  \
            fprintf(stderr, "%s:%d: got %s, expected an error with \"%s\"\n", __FILE__, __LINE__,  \
                    got_, part);                                                                   \
        free(got_);                                                                                \
        if (!ok_)                                                                                  \
            TEST_FAIL_("parameters error");                                                        \
    } while (0)

#define GIT "git: {repoURL: 'https://git.lan/site.git', "

TEST(list)
{
    CHECK_PARAMS("  generators: [{list: {elements: [{name: a, url: u}, {name: b, values: {x: "
                 "z}}]}}]\n",
                 "[{\"name\":\"a\",\"url\":\"u\"},{\"name\":\"b\",\"values.x\":\"z\"}]");
    CHECK_PARAMS_ERR("  generators: [{list: {elements: [{name: a, replicas: 3}]}}]\n",
                     "g.list.elements[0].replicas: needs a string in fasttemplate mode");
    /* goTemplate keeps nested values */
    CHECK_PARAMS("  goTemplate: true\n"
                 "  generators: [{list: {elements: [{name: a, cfg: {replicas: 3}}]}}]\n",
                 "[{\"cfg\":{\"replicas\":3},\"name\":\"a\"}]");
    CHECK_PARAMS("  goTemplate: true\n"
                 "  generators: [{list: {elementsYaml: \"- {name: y1}\\n- {name: y2}\\n\"}}]\n",
                 "[{\"name\":\"y1\"},{\"name\":\"y2\"}]");
}

TEST(git_directories)
{
    CHECK_PARAMS("  generators: [{" GIT "directories: [{path: 'apps/*'}, {path: apps/skip, "
                 "exclude: true}], values: {ns: 'ns-{{path.basename}}'}}}]\n",
                 /* in the tree's order: bytes, so upper case first */
                 "[{\"path\":\"apps/Web_UI\",\"path.basename\":\"Web_UI\","
                 "\"path.basenameNormalized\":\"web-ui\",\"path[0]\":\"apps\",\"path[1]\":"
                 "\"Web_UI\",\"values.ns\":\"ns-Web_UI\"},"
                 "{\"path\":\"apps/db\",\"path.basename\":\"db\",\"path.basenameNormalized\":"
                 "\"db\",\"path[0]\":\"apps\",\"path[1]\":\"db\",\"values.ns\":\"ns-db\"}]");
    CHECK_PARAMS("  goTemplate: true\n"
                 "  generators: [{" GIT "directories: [{path: 'apps/d*'}], values: {ns: "
                 "'ns-{{index .path.segments 1}}'}}}]\n",
                 "[{\"path\":{\"basename\":\"db\",\"basenameNormalized\":\"db\",\"path\":"
                 "\"apps/db\",\"segments\":[\"apps\",\"db\"]},\"values\":{\"ns\":\"ns-db\"}}]");
    /* '*' stops at '/', '**' crosses it */
    CHECK_PARAMS("  generators: [{" GIT "directories: [{path: '*'}]}}]\n",
                 "[{\"path\":\"apps\",\"path.basename\":\"apps\",\"path.basenameNormalized\":"
                 "\"apps\",\"path[0]\":\"apps\"},{\"path\":\"bad\",\"path.basename\":\"bad\","
                 "\"path.basenameNormalized\":\"bad\",\"path[0]\":\"bad\"},{\"path\":\"clusters\","
                 "\"path.basename\":"
                 "\"clusters\",\"path.basenameNormalized\":\"clusters\",\"path[0]\":"
                 "\"clusters\"}]");
    CHECK_PARAMS("  generators: [{" GIT "directories: [{path: '**/deep'}]}}]\n",
                 "[{\"path\":\"apps/db/deep\",\"path.basename\":\"deep\","
                 "\"path.basenameNormalized\":\"deep\",\"path[0]\":\"apps\",\"path[1]\":\"db\","
                 "\"path[2]\":\"deep\"}]");
    CHECK_PARAMS_ERR("  generators: [{git: {repoURL: 'https://elsewhere', directories: [{path: "
                     "'*'}]}}]\n",
                     "g.git: https://elsewhere: no such repository");
}

TEST(git_files)
{
    CHECK_PARAMS("  generators: [{" GIT "files: [{path: 'clusters/*/config.json'}]}}]\n",
                 "[{\"cluster.address\":\"https://a\",\"cluster.name\":\"a\",\"path\":"
                 "\"clusters/a\",\"path.basename\":\"a\",\"path.basenameNormalized\":\"a\","
                 "\"path.filename\":\"config.json\",\"path.filenameNormalized\":\"config.json\","
                 "\"path[0]\":\"clusters\",\"path[1]\":\"a\",\"replicas\":\"2\",\"zones.0\":"
                 "\"z1\"}]");
    /* a YAML list: one set per element; goTemplate: nested */
    CHECK_PARAMS("  goTemplate: true\n"
                 "  generators: [{" GIT "files: [{path: '**/*.yaml'}, {path: 'apps/**', "
                 "exclude: true}]}}]\n",
                 "[{\"cluster\":{\"name\":\"b1\"},\"path\":{\"basename\":\"b\","
                 "\"basenameNormalized\":\"b\",\"filename\":\"list.yaml\",\"filenameNormalized\":"
                 "\"list.yaml\",\"path\":\"clusters/b\",\"segments\":[\"clusters\",\"b\"]}},"
                 "{\"cluster\":{\"name\":\"b2\"},\"path\":{\"basename\":\"b\","
                 "\"basenameNormalized\":\"b\",\"filename\":\"list.yaml\",\"filenameNormalized\":"
                 "\"list.yaml\",\"path\":\"clusters/b\",\"segments\":[\"clusters\",\"b\"]}}]");
    CHECK_PARAMS_ERR("  generators: [{" GIT "files: [{path: 'bad/*.json'}]}}]\n",
                     "bad/broken.json");
}

TEST(clusters_of_the_site)
{
    CHECK_PARAMS("  generators: [{clusters: {values: {where: 'at-{{name}}'}}}]\n",
                 "[{\"name\":\"in-cluster\",\"nameNormalized\":\"in-cluster\",\"project\":\"\","
                 "\"server\":\"https://kubernetes.default.svc\",\"values.where\":"
                 "\"at-in-cluster\"},{\"name\":\"Edge_2\",\"nameNormalized\":\"edge-2\","
                 "\"project\":\"\",\"server\":\"https://10.0.0.2:6443\",\"values.where\":"
                 "\"at-Edge_2\"}]");
}

TEST(matrix_and_merge)
{
    /* the second generator uses the first's parameters */
    CHECK_PARAMS("  generators:\n  - matrix:\n      generators:\n"
                 "      - " GIT "directories: [{path: 'apps/d*'}]}\n"
                 "      - list: {elements: [{name: '{{path.basename}}-1'}, {name: "
                 "'{{path.basename}}-2'}]}\n",
                 "[{\"name\":\"db-1\",\"path\":\"apps/db\",\"path.basename\":\"db\","
                 "\"path.basenameNormalized\":\"db\",\"path[0]\":\"apps\",\"path[1]\":\"db\"},"
                 "{\"name\":\"db-2\",\"path\":\"apps/db\",\"path.basename\":\"db\","
                 "\"path.basenameNormalized\":\"db\",\"path[0]\":\"apps\",\"path[1]\":\"db\"}]");
    CHECK_PARAMS_ERR("  generators:\n  - matrix:\n      generators:\n"
                     "      - list: {elements: [{name: a}]}\n"
                     "      - list: {elements: [{name: b}]}\n",
                     "parameter name is \"a\" in one generator and \"b\" in the other");
    CHECK_PARAMS("  generators:\n  - merge:\n      mergeKeys: [server]\n      generators:\n"
                 "      - clusters: {values: {kafka: 'true'}}\n"
                 "      - list: {elements: [{server: 'https://10.0.0.2:6443', values.kafka: "
                 "'false'}, {server: 'https://nowhere', values.kafka: x}]}\n",
                 "[{\"name\":\"in-cluster\",\"nameNormalized\":\"in-cluster\",\"project\":\"\","
                 "\"server\":\"https://kubernetes.default.svc\",\"values.kafka\":\"true\"},"
                 "{\"name\":\"Edge_2\",\"nameNormalized\":\"edge-2\",\"project\":\"\","
                 "\"server\":\"https://10.0.0.2:6443\",\"values.kafka\":\"false\"}]");
    CHECK_PARAMS_ERR("  generators:\n  - merge:\n      mergeKeys: [name]\n      generators:\n"
                     "      - list: {elements: [{name: a}, {name: a}]}\n",
                     "two parameter sets have the merge key [\"a\"]");
}

TEST(applications_from_templates)
{
    struct appset as;
    json_t *apps = NULL, *revs = NULL;
    CHECK_OK(load(&as, "  goTemplate: true\n"
                       "  generators:\n"
                       "  - " GIT "directories: [{path: 'apps/d*'}]}\n"
                       "    template:\n"
                       "      metadata: {labels: {from: git}}\n"
                       "      spec: {destination: {namespace: '{{.path.basename}}'}}\n"
                       "  - list: {elements: [{name: extra}]}\n"
                       "  template:\n"
                       "    metadata:\n"
                       "      name: '{{ .name | default .path.basename }}'\n"
                       "      labels: {app: '{{ .name | default \"dir\" }}'}\n"
                       "    spec:\n"
                       "      source: {repoURL: x, path: '{{ .path.path | default \".\" }}'}\n"
                       "      destination: {server: s, namespace: fixed}\n"));
    CHECK_OK(appgen_applications(&apps, &as, &env, &revs));
    CHECK(json_array_size(apps) == 2);
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "metadata.name"), "db");
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "kind"), "Application");
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "metadata.labels.from"), "git");
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "metadata.labels.app"), "dir");
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "spec.destination.namespace"), "db");
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "spec.destination.server"), "s");
    CHECK_STR(doc_get_str(json_array_get(apps, 0), "spec.source.path"), "apps/db");
    CHECK_STR(doc_get_str(json_array_get(apps, 1), "metadata.name"), "extra");
    CHECK_STR(doc_get_str(json_array_get(apps, 1), "spec.destination.namespace"), "fixed");
    CHECK(doc_get_str(json_array_get(apps, 1), "metadata.labels.from") == NULL);
    CHECK_STR(doc_get_str(revs, "https://git.lan/site.git"),
              "0123456789012345678901234567890123456789");
    json_decref(apps);
    json_decref(revs);
    appset_dispose(&as);

    /* two apps of one name */
    CHECK_OK(load(&as, "  generators: [{list: {elements: [{name: a}, {name: a}]}}]\n"));
    CHECK_ERR(appgen_applications(&apps, &as, &env, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "generates two applications named x-a");
    appset_dispose(&as);

    /* a missing key with missingkey=error names the parameters */
    CHECK_OK(load(&as, "  goTemplate: true\n  goTemplateOptions: [missingkey=error]\n"
                       "  generators: [{list: {elements: [{nom: a}]}}]\n"
                       "  template: {metadata: {name: '{{.name}}'}, spec: {}}\n"));
    CHECK_ERR(appgen_applications(&apps, &as, &env, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.generators[0]: template with parameters {\"nom\":\"a\"}: "
                               "spec.template: metadata.name: {{.name}}: map has no entry for "
                               "key \"name\"");
    appset_dispose(&as);

    /* an app without a name */
    CHECK_OK(load(&as, "  generators: [{list: {elements: [{nom: a}]}}]\n"
                       "  template: {metadata: {name: ''}, spec: {}}\n"));
    CHECK_ERR(appgen_applications(&apps, &as, &env, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "give an application without a name");
    appset_dispose(&as);
}

TEST(uses_repo)
{
    struct appset as;
    CHECK_OK(load(&as,
                  "  generators:\n  - matrix:\n      generators:\n"
                  "      - clusters: {}\n"
                  "      - git: {repoURL: 'https://Git.lan/site.git/', files: [{path: a}]}\n"));
    CHECK(appgen_uses_repo(&as, "https://git.lan/site", engine_repo_key));
    CHECK(!appgen_uses_repo(&as, "https://git.lan/other", engine_repo_key));
    appset_dispose(&as);
}

int main(void)
{
    dir = test_tmpdir("appgen");
    put("apps/db/deep/cm.yaml", "x: 1\n");
    put("apps/Web_UI/cm.yaml", "x: 1\n");
    put("apps/skip/cm.yaml", "x: 1\n");
    put("clusters/a/config.json",
        "{\"cluster\": {\"name\": \"a\", \"address\": \"https://a\"}, \"replicas\": 2, "
        "\"zones\": [\"z1\"]}");
    put("clusters/b/list.yaml", "- cluster: {name: b1}\n- cluster: {name: b2}\n");
    put("bad/broken.json", "{\"a\": ");
    RUN(list);
    RUN(git_directories);
    RUN(git_files);
    RUN(clusters_of_the_site);
    RUN(matrix_and_merge);
    RUN(applications_from_templates);
    RUN(uses_repo);
    free(dir);
    return TEST_END();
}
