/*
 * Tests for render_source over a local folder (render/fs.c's local
 * backend): the same rules the mirror backend enforces for Git, checked
 * against real files and links made at test time.
 */
#include "render/render.h"

#include "core/buf.h"
#include "doc/doc.h"
#include "test.h"

static char *tmp;

static int sh(const char *cmd)
{
    char *full = xasprintf("cd '%s' && (%s) >/dev/null 2>&1", tmp, cmd);
    int rc = system(full);
    free(full);
    return rc == 0 ? 0 : -1;
}

static int render_at(json_t **out, const char *root, const char *spec_json, const char *ns)
{
    render_fs *fs = NULL;
    json_t *spec = json_loads(spec_json, 0, NULL);
    struct render_request req = {0};
    char *dir = xasprintf("%s/%s", tmp, root);
    int rc;

    *out = NULL;
    if ((rc = render_fs_local(&fs, dir, NULL)) == 0) {
        req.source = render_fs_name(fs);
        req.dest_namespace = ns;
        rc = render_source(out, fs, spec, &req);
    }
    render_fs_free(fs);
    json_decref(spec);
    free(dir);
    return rc;
}

#define CM(name) "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: " name "\\n'"

TEST(directory_recurse_hidden_and_extensions)
{
    json_t *objs = NULL;

    CHECK_OK(sh("mkdir -p s1/apps/sub s1/apps/.hidden && " CM("a") " > s1/apps/a.yaml && " CM(
        "b") " > s1/apps/sub/b.yml && " CM("h") " > s1/apps/.hidden/h.yaml && " CM("d") " > "
                                                                                        "s1/apps/"
                                                                                        ".dot.yaml "
                                                                                        "&& echo "
                                                                                        "notyaml > "
                                                                                        "s1/apps/"
                                                                                        "readme.md "
                                                                                        "&& "
                                                                                        "echo "
                                                                                        "'{"
                                                                                        "\"apiVersi"
                                                                                        "on\":"
                                                                                        "\"v1\","
                                                                                        "\"kind\":"
                                                                                        "\"Secret\""
                                                                                        ",\"metadat"
                                                                                        "a\":{"
                                                                                        "\"name\":"
                                                                                        "\"j\"}}' "
                                                                                        "> "
                                                                                        "s1/apps/"
                                                                                        "j.json"));
    CHECK_OK(render_at(&objs, "s1", "{\"path\":\"apps\"}", "demo"));
    CHECK(json_array_size(objs) == 2);
    CHECK_STR(doc_get_str(json_array_get(objs, 0), "metadata.name"), "a");
    CHECK_STR(doc_get_str(json_array_get(objs, 1), "metadata.name"), "j");
    CHECK_STR(doc_get_str(json_array_get(objs, 0), "metadata.namespace"), "demo");
    json_decref(objs);
    CHECK_OK(
        render_at(&objs, "s1", "{\"path\":\"./apps/\",\"directory\":{\"recurse\":true}}", NULL));
    CHECK(json_array_size(objs) == 3);
    CHECK_STR(doc_get_str(json_array_get(objs, 2), "metadata.name"), "b");
    json_decref(objs);
}

TEST(bad_paths_and_links)
{
    json_t *objs = NULL;

    CHECK_OK(
        sh("mkdir -p s2/apps s2/other && " CM("x") " > s2/other/x.yaml && "
                                                   "ln -s ../other/x.yaml s2/apps/inside.yaml"));
    /* a link that stays inside the root is followed */
    CHECK_OK(render_at(&objs, "s2", "{\"path\":\"apps\"}", NULL));
    CHECK(json_array_size(objs) == 1);
    json_decref(objs);
    CHECK_ERR(render_at(&objs, "s2", "{\"path\":\"nothere\"}", NULL), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "nothere: no such folder");
    CHECK_ERR(render_at(&objs, "s2", "{\"path\":\"../..\"}", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.source.path");
    CHECK_ERR(render_at(&objs, "s2", "{\"path\":7}", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.source.path: must be a string");
    CHECK_ERR(render_at(&objs, "s2", "{\"directory\":{\"recurse\":\"yes\"}}", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "directory.recurse: must be true or false");
    /* one that leads out refuses the whole folder: nothing is rendered */
    CHECK_OK(sh("ln -s /etc/passwd s2/apps/evil.yaml"));
    CHECK_ERR(render_at(&objs, "s2", "{\"path\":\"apps\"}", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "apps/evil.yaml: symbolic link points outside");
    CHECK(objs == NULL);
}

TEST(deep_folders_refused)
{
    json_t *objs = NULL;

    /* 70 nested folders: past the walk's depth limit of 64 */
    CHECK_OK(sh("mkdir -p s5 && cd s5 && d=. && for i in $(seq 70); do d=$d/d; done && "
                "mkdir -p $d && " CM("deep") " > $d/x.yaml"));
    CHECK_ERR(render_at(&objs, "s5", "{\"directory\":{\"recurse\":true}}", NULL), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "folders nested deeper than 64");
    CHECK(objs == NULL);
}

TEST(malformed_yaml_names_file_line_column)
{
    json_t *objs = NULL;

    CHECK_OK(sh("mkdir -p s3 && printf 'apiVersion: v1\\nkind: [\\n' > s3/bad.yaml"));
    CHECK_ERR(render_at(&objs, "s3", "{}", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "bad.yaml:3:1");
    CHECK(objs == NULL);
}

TEST(render_objects_validates_producer_output)
{
    json_t *raw = json_loads("[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                             "{\"name\":\"a\"}},{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                             "\"metadata\":{\"name\":\"a\"}}]",
                             0, NULL);
    json_t *objs = NULL;
    struct render_request req = {.source = "repo@abc1234", .dest_namespace = "ns1"};

    CHECK_ERR(render_objects(&objs, raw, "kustomization apps", &req), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "repo@abc1234: kustomization apps: object 2 (ConfigMap a)");
    CHECK_CONTAINS(err_last(), "defined twice");
    json_array_remove(raw, 1);
    CHECK_OK(render_objects(&objs, raw, "kustomization apps", &req));
    CHECK_STR(doc_get_str(json_array_get(objs, 0), "metadata.namespace"), "ns1");
    /* a private copy: the producer's object is unchanged */
    CHECK(doc_get_str(json_array_get(raw, 0), "metadata.namespace") == NULL);
    json_decref(objs);
    json_decref(raw);
}

TEST(directory_include_exclude)
{
    json_t *objs = NULL;

    CHECK_OK(sh("mkdir -p s4/env-usw2 s4/env-use2 && " CM("top") " > s4/config.yaml && " CM(
        "w") " > s4/env-usw2/w.yaml && " CM("e") " > s4/env-use2/e.yaml"));
    CHECK_OK(render_at(&objs, "s4",
                       "{\"directory\":{\"recurse\":true,\"include\":\"{config.yaml,"
                       "env-usw2/*}\"}}",
                       NULL));
    CHECK(json_array_size(objs) == 2);
    CHECK_STR(doc_get_str(json_array_get(objs, 0), "metadata.name"), "top");
    CHECK_STR(doc_get_str(json_array_get(objs, 1), "metadata.name"), "w");
    json_decref(objs);
    CHECK_OK(
        render_at(&objs, "s4", "{\"directory\":{\"recurse\":true,\"exclude\":\"env-*/*\"}}", NULL));
    CHECK(json_array_size(objs) == 1);
    json_decref(objs);
    /* relative to the source path, not the repository root */
    CHECK_OK(render_at(&objs, "s4",
                       "{\"path\":\"env-usw2\",\"directory\":{\"include\":"
                       "\"w.yaml\"}}",
                       NULL));
    CHECK(json_array_size(objs) == 1);
    json_decref(objs);
    CHECK_ERR(render_at(&objs, "s4", "{\"directory\":{\"include\":\"{a,b\"}}", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.source.directory.include: glob \"{a,b\": unclosed {");
    CHECK_ERR(render_at(&objs, "s4", "{\"directory\":{\"jsonnet\":{\"tlas\":[]}}}", NULL),
              ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "Jsonnet is not supported");
    /* a folder holding a chart is Helm's, as in Argo CD */
    CHECK_OK(sh("mkdir -p s4/chart && printf 'name: c\\nversion: 1.0.0\\n' > s4/chart/Chart.yaml"));
    {
        /* with no helm anywhere, the error says what to do */
        char *saved = xstrdup(getenv("PATH") ? getenv("PATH") : "");
        int rc;
        setenv("PATH", "/nonexistent", 1);
        rc = render_at(&objs, "s4", "{\"path\":\"chart\"}", NULL);
        setenv("PATH", saved, 1);
        free(saved);
        CHECK(rc == ERR_UNSUPPORTED);
        CHECK_CONTAINS(err_last(), "this source is a Helm chart, and helm is not installed");
    }
    CHECK_ERR(render_at(&objs, "s4", "{\"path\":\"chart\",\"chart\":\"nginx\"}", NULL),
              ERR_UNSUPPORTED);
    CHECK_CONTAINS(err_last(), "spec.source.chart: charts from a Helm repository need the network");
}

int main(void)
{
    tmp = test_tmpdir("render_source");
    RUN(directory_recurse_hidden_and_extensions);
    RUN(bad_paths_and_links);
    RUN(deep_folders_refused);
    RUN(malformed_yaml_names_file_line_column);
    RUN(render_objects_validates_producer_output);
    RUN(directory_include_exclude);
    free(tmp);
    return TEST_END();
}
