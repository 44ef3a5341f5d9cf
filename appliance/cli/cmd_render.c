/*
 * `edgecd render DIR`: render a local folder offline, the way the
 * appliance would render it from Git, and print the objects as one YAML
 * stream (like `kustomize build`). Nothing is contacted: kinds are all
 * taken as namespaced unless --cluster-scoped lists them.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "doc/doc.h"
#include "render/fs.h"
#include "render/render.h"

static int cmd_render_run(int argc, char **argv)
{
    const char *dir = NULL, *ns = NULL, *path = ".";
    int recurse = 0, rc = 0, i;
    render_fs *fs = NULL;
    json_t *source = NULL, *objects = NULL;
    struct render_request req = {0};
    struct buf out = BUF_INIT;

    for (i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: edgecd render %s\n%s\n", cli_cmd_render.usage, cli_cmd_render.help);
            return 0;
        } else if (!strcmp(argv[i], "--namespace") && i + 1 < argc) {
            ns = argv[++i];
        } else if (!strcmp(argv[i], "--path") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--recurse")) {
            recurse = 1;
        } else if (argv[i][0] == '-' || dir) {
            return cli_usage(&cli_cmd_render);
        } else {
            dir = argv[i];
        }
    }
    if (!dir)
        return cli_usage(&cli_cmd_render);
    if (render_fs_local(&fs, dir, NULL) < 0) {
        rc = cli_fail();
        goto out;
    }
    source = json_pack("{s:s, s:{s:b}}", "path", path, "directory", "recurse", recurse);
    req.source = render_fs_name(fs);
    req.dest_namespace = ns;
    if (render_source(&objects, fs, source, &req) < 0) {
        rc = cli_fail();
        goto out;
    }
    doc_emit_yaml_stream(&out, objects);
    fwrite(buf_cstr(&out), 1, out.len, stdout);
out:
    buf_dispose(&out);
    json_decref(objects);
    json_decref(source);
    render_fs_free(fs);
    return rc;
}

const struct cli_cmd cli_cmd_render = {
    "render",
    "DIR [--path SUBDIR] [--recurse] [--namespace NS]",
    "Render a local folder (directory or Kustomize source) offline and print the objects as YAML.",
    cmd_render_run,
};
