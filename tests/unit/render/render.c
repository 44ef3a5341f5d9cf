/*
 * Tests for appliance/render/render.c. The files are built by hand, as
 * render_collect would return them, so rendering is tested apart from Git.
 */
#include "render/render.h"

#include <ctype.h>

#include "doc/doc.h"
#include "test.h"

static void add_file(struct mirror_files *files, const char *path, const char *text)
{
    struct mirror_file *f;
    files->v = xrealloc(files->v, (files->n + 1) * sizeof(*files->v));
    f = &files->v[files->n++];
    f->path = xstrdup(path);
    f->data = xstrdup(text);
    f->len = strlen(text);
}

static const struct render_request base_req = {
    .source = "repo@abc1234", .path = "apps", .dest_namespace = "demo"};

/* Cluster-scoped: Namespace, ClusterRole. Unknown: Widget. */
static int scope_calls;
static int test_scope(void *ctx, const char *api_version, const char *kind, int *namespaced)
{
    scope_calls++;
    if (ctx != &scope_calls)
        return err_set(ERR_GENERIC, "wrong context");
    if (strcmp(kind, "Widget") == 0)
        return err_set(ERR_NOTFOUND, "%s %s: unknown kind", api_version, kind);
    if (strcmp(kind, "Broken") == 0)
        return err_set(ERR_IO, "discovery: connection refused");
    *namespaced = !(strcmp(kind, "Namespace") == 0 ||
                    (strcmp(kind, "ClusterRole") == 0 &&
                     strcmp(api_version, "rbac.authorization.k8s.io/v1") == 0));
    return 0;
}

static const char *ns_of(const json_t *objs, size_t i)
{
    return doc_get_str(json_array_get(objs, i), "metadata.namespace");
}

static const char *name_of(const json_t *objs, size_t i)
{
    return doc_get_str(json_array_get(objs, i), "metadata.name");
}

/* msg contains prefix followed by "<digits>:<digits>" */
static int has_line_col(const char *msg, const char *prefix)
{
    const char *p = strstr(msg, prefix);
    if (!p)
        return 0;
    p += strlen(prefix);
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p++ != ':')
        return 0;
    return isdigit((unsigned char)*p);
}

TEST(multi_document_files_in_order)
{
    struct mirror_files files = {0};
    json_t *objs = NULL;

    add_file(&files, "apps/a.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
             "---\n"
             "apiVersion: v1\nkind: Secret\nmetadata: {name: two}\n");
    add_file(
        &files, "apps/b.json",
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"three\"}}");
    add_file(&files, "apps/c.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: four}\n");
    CHECK_OK(render_directory(&objs, &files, &base_req));
    CHECK(json_array_size(objs) == 4);
    CHECK_STR(name_of(objs, 0), "one");
    CHECK_STR(name_of(objs, 1), "two");
    CHECK_STR(name_of(objs, 2), "three");
    CHECK_STR(name_of(objs, 3), "four");
    json_decref(objs);
    mirror_files_dispose(&files);
}

TEST(list_is_flattened)
{
    struct mirror_files files = {0};
    json_t *objs = NULL;

    add_file(&files, "apps/list.yaml",
             "apiVersion: v1\nkind: List\nitems:\n"
             "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: first}}\n"
             "  - null\n"
             "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: second}}\n"
             "---\napiVersion: v1\nkind: List\nitems: []\n");
    CHECK_OK(render_directory(&objs, &files, &base_req));
    CHECK(json_array_size(objs) == 2);
    CHECK_STR(name_of(objs, 0), "first");
    CHECK_STR(name_of(objs, 1), "second");
    CHECK_STR(doc_get_str(json_array_get(objs, 0), "kind"), "ConfigMap");
    json_decref(objs);
    mirror_files_dispose(&files);
}

TEST(list_item_errors_name_the_item)
{
    struct mirror_files files = {0};
    json_t *objs = NULL;

    add_file(&files, "apps/list.yaml",
             "apiVersion: v1\nkind: List\nitems:\n"
             "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n"
             "  - {apiVersion: v1, kind: ConfigMap, metadata: {}}\n");
    CHECK_ERR(render_directory(&objs, &files, &base_req), ERR_INVALID);
    CHECK_CONTAINS(err_last(),
                   "repo@abc1234:apps/list.yaml: document 1: items[1]: metadata.name: missing");
    CHECK(objs == NULL);
    mirror_files_dispose(&files);
}

TEST(namespace_filled_by_scope)
{
    struct mirror_files files = {0};
    struct render_request req = base_req;
    json_t *objs = NULL;

    add_file(&files, "apps/all.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\n"
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: elsewhere}\n---\n"
             "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr}\n"
             "---\n"
             "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n"
             "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: empty, namespace: ''}\n");
    req.scope = test_scope;
    req.scope_ctx = &scope_calls;
    scope_calls = 0;
    CHECK_OK(render_directory(&objs, &files, &req));
    CHECK(json_array_size(objs) == 6);
    CHECK_STR(ns_of(objs, 0), "demo");
    CHECK_STR(ns_of(objs, 1), "elsewhere");
    CHECK(ns_of(objs, 2) == NULL);
    CHECK(doc_get(json_array_get(objs, 2), "metadata.namespace") == NULL);
    CHECK(ns_of(objs, 3) == NULL);
    CHECK_STR(ns_of(objs, 4), "demo"); /* unknown kinds are namespaced */
    CHECK_STR(ns_of(objs, 5), "demo");
    /* objects with a namespace need no question */
    CHECK(scope_calls == 5);
    json_decref(objs);

    /* without a callback every kind is namespaced */
    req.scope = NULL;
    CHECK_OK(render_directory(&objs, &files, &req));
    CHECK_STR(ns_of(objs, 2), "demo");
    json_decref(objs);

    /* without a destination namespace nothing is filled */
    req.dest_namespace = "";
    CHECK_OK(render_directory(&objs, &files, &req));
    CHECK(ns_of(objs, 0) == NULL);
    CHECK_STR(ns_of(objs, 1), "elsewhere");
    json_decref(objs);
    mirror_files_dispose(&files);
}

TEST(scope_failure_aborts)
{
    struct mirror_files files = {0};
    struct render_request req = base_req;
    json_t *objs = NULL;

    add_file(&files, "apps/a.yaml", "apiVersion: v1\nkind: Broken\nmetadata: {name: b}\n");
    req.scope = test_scope;
    req.scope_ctx = &scope_calls;
    CHECK_ERR(render_directory(&objs, &files, &req), ERR_IO);
    CHECK_CONTAINS(err_last(), "apps/a.yaml");
    CHECK_CONTAINS(err_last(), "connection refused");
    CHECK(objs == NULL);
    mirror_files_dispose(&files);
}

TEST(shared_nodes_are_not_mutated_twice)
{
    struct mirror_files files = {0};
    struct render_request req = base_req;
    json_t *objs = NULL;

    /* one metadata node used by a namespaced and a cluster-scoped object */
    add_file(&files, "apps/alias.yaml",
             "apiVersion: v1\nkind: List\nitems:\n"
             "  - {apiVersion: v1, kind: ConfigMap, metadata: &m {name: same}}\n"
             "  - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: *m}\n");
    req.scope = test_scope;
    req.scope_ctx = &scope_calls;
    CHECK_OK(render_directory(&objs, &files, &req));
    CHECK(json_array_size(objs) == 2);
    CHECK_STR(ns_of(objs, 0), "demo");
    CHECK(ns_of(objs, 1) == NULL);
    json_decref(objs);
    mirror_files_dispose(&files);
}

TEST(hidden_and_other_files_skipped)
{
    struct mirror_files files = {0};
    struct render_request req = base_req;
    json_t *objs = NULL;

    add_file(&files, "apps/.hidden.yaml", "not: [valid\n");
    add_file(&files, "apps/.git/x.yaml", "not: [valid\n");
    add_file(&files, "apps/sub/.secret/x.yml", "not: [valid\n");
    add_file(&files, "apps/README.md", "# not: [yaml\n");
    add_file(&files, "apps/cm.yaml.bak", "not: [valid\n");
    add_file(&files, "apps/script.sh", "echo hi\n");
    add_file(&files, "apps/sub/ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n");
    CHECK_OK(render_directory(&objs, &files, &req));
    CHECK(json_array_size(objs) == 1);
    CHECK_STR(name_of(objs, 0), "ok");
    json_decref(objs);
    mirror_files_dispose(&files);

    /* a hidden folder asked for by name is rendered */
    add_file(&files, ".argocd/apps/ok.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n");
    add_file(&files, ".argocd/apps/.skip.yaml", "not: [valid\n");
    req.path = "./.argocd/apps/";
    CHECK_OK(render_directory(&objs, &files, &req));
    CHECK(json_array_size(objs) == 1);
    json_decref(objs);
    mirror_files_dispose(&files);
}

TEST(bad_yaml_names_file_line_col)
{
    struct mirror_files files = {0};
    json_t *objs = NULL;

    add_file(&files, "apps/good.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n");
    add_file(&files, "apps/bad.yaml", "apiVersion: v1\nkind: [ConfigMap\nmetadata: {name: x}\n");
    CHECK_ERR(render_directory(&objs, &files, &base_req), ERR_INVALID);
    CHECK(has_line_col(err_last(), "repo@abc1234:apps/bad.yaml:"));
    CHECK(objs == NULL);
    mirror_files_dispose(&files);

    add_file(&files, "apps/bad.json", "{\"apiVersion\": \"v1\",\n \"kind\": }\n");
    CHECK_ERR(render_directory(&objs, &files, &base_req), ERR_INVALID);
    CHECK(has_line_col(err_last(), "repo@abc1234:apps/bad.json:"));
    mirror_files_dispose(&files);
}

TEST(required_fields)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"kind: ConfigMap\nmetadata: {name: x}\n", "document 2: apiVersion: missing"},
        {"apiVersion: v1\nmetadata: {name: x}\n", "document 2: kind: missing"},
        {"apiVersion: v1\nkind: 7\nmetadata: {name: x}\n", "document 2: kind: must be a string"},
        {"apiVersion: v1\nkind: ConfigMap\n", "document 2: metadata: missing"},
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: [x]\n", "document 2: metadata: must be"},
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: a}\n",
         "document 2: metadata.name: missing"},
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ''}\n",
         "document 2: metadata.name: missing"},
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 5}\n",
         "document 2: metadata.name: must be a string"},
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: [a]}\n",
         "document 2: metadata.namespace: must be a string"},
        {"just a string\n", "document 2: must be a mapping"},
        {"apiVersion: v1\nkind: List\nitems: {a: 1}\n", "document 2: items: must be a list"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mirror_files files = {0};
        json_t *objs = NULL;
        char *text = xasprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n%s",
                               cases[i].text);
        add_file(&files, "apps/a.yaml", text);
        free(text);
        CHECK_ERR(render_directory(&objs, &files, &base_req), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "repo@abc1234:apps/a.yaml: ");
        CHECK_CONTAINS(err_last(), cases[i].msg);
        CHECK(objs == NULL);
        mirror_files_dispose(&files);
    }
}

TEST(duplicates_name_both_files)
{
    struct mirror_files files = {0};
    json_t *objs = NULL;

    add_file(&files, "apps/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n");
    /* same name: other kind, other namespace, other group are distinct */
    add_file(&files, "apps/b.yaml",
             "apiVersion: v1\nkind: Secret\nmetadata: {name: cm}\n---\n"
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: other}\n---\n"
             "apiVersion: example.com/v1\nkind: ConfigMap\nmetadata: {name: cm}\n");
    CHECK_OK(render_directory(&objs, &files, &base_req));
    CHECK(json_array_size(objs) == 4);
    json_decref(objs);
    objs = NULL;
    /* the destination namespace written out is the same object */
    add_file(&files, "apps/c.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: demo}\n");
    CHECK_ERR(render_directory(&objs, &files, &base_req), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "repo@abc1234:apps/c.yaml: document 1:");
    CHECK_CONTAINS(err_last(), "apps/a.yaml");
    CHECK_CONTAINS(err_last(), "demo/cm");
    CHECK(objs == NULL);
    mirror_files_dispose(&files);
}

TEST(nothing_to_render)
{
    struct mirror_files files = {0};
    json_t *objs = NULL;

    CHECK_OK(render_directory(&objs, &files, &base_req));
    CHECK(json_is_array(objs) && json_array_size(objs) == 0);
    json_decref(objs);
    add_file(&files, "apps/empty.yaml", "---\n# nothing\n---\n~\n");
    CHECK_OK(render_directory(&objs, &files, &base_req));
    CHECK(json_array_size(objs) == 0);
    json_decref(objs);
    mirror_files_dispose(&files);
}

int main(void)
{
    RUN(multi_document_files_in_order);
    RUN(list_is_flattened);
    RUN(list_item_errors_name_the_item);
    RUN(namespace_filled_by_scope);
    RUN(scope_failure_aborts);
    RUN(shared_nodes_are_not_mutated_twice);
    RUN(hidden_and_other_files_skipped);
    RUN(bad_yaml_names_file_line_col);
    RUN(required_fields);
    RUN(duplicates_name_both_files);
    RUN(nothing_to_render);
    return TEST_END();
}
