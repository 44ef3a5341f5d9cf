/*
 * `edgecd render DIR`: render a local folder offline, the way the
 * appliance would render it from Git, and print the objects as one YAML
 * stream (like `kustomize build`). Nothing is contacted: every kind is
 * taken as namespaced. --name is the app name (Helm's release name).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/util.h"
#include "doc/doc.h"
#include "render/fs.h"
#include "render/render.h"

static int cmd_render_run(int argc, char **argv)
{
    const char *dir = NULL, *ns = NULL, *path = ".", *app_file = NULL;
    int recurse = 0, rc = 0, i;
    long timeout = 0;
    render_fs *fs = NULL;
    json_t *source = NULL, *objects = NULL, *app_docs = NULL;
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
        } else if (!strcmp(argv[i], "--helm") && i + 1 < argc) {
            req.helm_binary = argv[++i];
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            req.app_name = argv[++i];
        } else if (!strcmp(argv[i], "--app") && i + 1 < argc) {
            app_file = argv[++i];
        } else if (!strcmp(argv[i], "--helm-timeout") && i + 1 < argc) {
            if (str_to_long(argv[++i], 1, 3600, "--helm-timeout", &timeout) < 0)
                return cli_fail();
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
    if (app_file) {
        /* an Application's source, rendered from the local folder instead
         * of its repoURL: what the appliance would deploy from this tree */
        struct buf text = BUF_INIT;
        json_t *app;
        if (fs_read_file(app_file, 4u << 20, &text) < 0 ||
            doc_parse_yaml(&app_docs, buf_cstr(&text), text.len, app_file, NULL) < 0) {
            buf_dispose(&text);
            rc = cli_fail();
            goto out;
        }
        buf_dispose(&text);
        app = json_array_get(app_docs, 0);
        if (!json_is_object(doc_get(app, "spec.source"))) {
            err_set(ERR_INVALID, "%s: spec.source: missing (an Application with one source)",
                    app_file);
            rc = cli_fail();
            goto out;
        }
        source = json_deep_copy(doc_get(app, "spec.source"));
        if (!ns)
            ns = doc_get_str(app, "spec.destination.namespace");
        if (!req.app_name)
            req.app_name = doc_get_str(app, "metadata.name");
    } else {
        source = json_pack("{s:s, s:{s:b}}", "path", path, "directory", "recurse", recurse);
    }
    req.source = render_fs_name(fs);
    req.dest_namespace = ns;
    req.helm_timeout_seconds = timeout;
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
    json_decref(app_docs);
    render_fs_free(fs);
    return rc;
}

const struct cli_cmd cli_cmd_render = {
    "render",
    "DIR [--app APP.yaml | --path SUBDIR [--recurse]] [--namespace NS] [--name APP] "
    "[--helm BINARY] [--helm-timeout SECONDS]",
    "Render a local folder (directory, Kustomize or Helm chart; with --app, as that "
    "Application's source says) offline and print the objects as YAML.",
    cmd_render_run,
};
