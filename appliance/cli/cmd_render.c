/*
 * `edgecd render`: render offline what the appliance would deploy and
 * print the objects as one YAML stream (like `kustomize build`). Three
 * forms, one renderer:
 *
 *   edgecd render DIR [--path P] [--recurse] [--app APP.yaml]
 *       a local folder (with --app, as that Application's spec.source
 *       says, from this folder instead of its repoURL)
 *   edgecd render APP.yaml [--data DIR]
 *       an Application manifest: every source from its repoURL (a local
 *       path or file:// URL) at its targetRevision
 *   edgecd render --repo URL [--revision REV] [--path P] [--recurse] [--data DIR]
 *       one directory/Kustomize/Helm source of a repository
 *
 * Repositories are fetched into --data DIR's mirrors (shared with `edgecd
 * serve`; a mirror fed by bundles is used as it is), or without --data into
 * a temporary folder removed afterwards. Nothing else is contacted: every
 * kind is taken as namespaced. Flags are a table: name, kind, where the
 * value goes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "git/mirror.h"
#include "model/app.h"
#include "render/fs.h"
#include "render/render.h"
#include "render/sources.h"

#define CMD_RENDER_MAX_APP_BYTES (4u << 20)

struct cmd_render_opts {
    const char *target; /* DIR or APP.yaml */
    const char *ns, *path, *app_file, *repo, *revision, *data, *name, *helm, *kustomize;
    long timeout;
    long recurse;
};

enum cmd_render_kind { FLAG_STR, FLAG_BOOL, FLAG_SECONDS };

struct cmd_render_flag {
    const char *name;
    enum cmd_render_kind kind;
    size_t offset; /* into struct cmd_render_opts */
};

static const struct cmd_render_flag cmd_render_flags[] = {
    {"--namespace", FLAG_STR, offsetof(struct cmd_render_opts, ns)},
    {"--path", FLAG_STR, offsetof(struct cmd_render_opts, path)},
    {"--recurse", FLAG_BOOL, offsetof(struct cmd_render_opts, recurse)},
    {"--app", FLAG_STR, offsetof(struct cmd_render_opts, app_file)},
    {"--repo", FLAG_STR, offsetof(struct cmd_render_opts, repo)},
    {"--revision", FLAG_STR, offsetof(struct cmd_render_opts, revision)},
    {"--data", FLAG_STR, offsetof(struct cmd_render_opts, data)},
    {"--name", FLAG_STR, offsetof(struct cmd_render_opts, name)},
    {"--helm", FLAG_STR, offsetof(struct cmd_render_opts, helm)},
    {"--helm-timeout", FLAG_SECONDS, offsetof(struct cmd_render_opts, timeout)},
    {"--kustomize", FLAG_STR, offsetof(struct cmd_render_opts, kustomize)},
};
#define CMD_RENDER_NFLAGS (sizeof(cmd_render_flags) / sizeof(cmd_render_flags[0]))

/* 0, 1 for --help, or ERR_INVALID (usage) */
static int cmd_render_parse(struct cmd_render_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const struct cmd_render_flag *f = NULL;
        char *field;

        if (cli_is_help(argv[i]))
            return 1;
        for (size_t k = 0; k < CMD_RENDER_NFLAGS; k++)
            if (!strcmp(argv[i], cmd_render_flags[k].name))
                f = &cmd_render_flags[k];
        if (!f) {
            if (argv[i][0] == '-' || o->target)
                return err_set(ERR_INVALID, "%s: unexpected argument", argv[i]);
            o->target = argv[i];
            continue;
        }
        field = (char *)o + f->offset;
        if (f->kind == FLAG_BOOL) {
            *(long *)field = 1;
            continue;
        }
        if (i + 1 >= argc)
            return err_set(ERR_INVALID, "%s: needs a value", f->name);
        if (f->kind == FLAG_STR)
            *(const char **)field = argv[++i];
        else if (str_to_long(argv[++i], 1, 3600, f->name, (long *)field) < 0)
            return ERR_INVALID;
    }
    return 0;
}

/* A local repoURL written relative to the current folder, made absolute
 * (mirrors know a repository by its absolute path). */
static void cmd_render_absolute_urls(json_t *sources)
{
    size_t i;
    json_t *src;

    json_array_foreach(sources, i, src)
    {
        const char *url = doc_get_str(src, "repoURL");
        char *real;
        if (!url || url[0] == '/' || strstr(url, "://"))
            continue;
        if ((real = realpath(url, NULL))) {
            json_object_set_new(src, "repoURL", json_string(real));
            free(real);
        }
    }
}

/* Read and validate the Application in file (its first document) into
 * *app (a new reference). */
static int cmd_render_load_app(json_t **app, const char *file)
{
    struct buf text = BUF_INIT;
    json_t *docs = NULL;
    struct app parsed;
    int rc;

    *app = NULL;
    if ((rc = fs_read_file(file, CMD_RENDER_MAX_APP_BYTES, &text)) < 0 ||
        (rc = doc_parse_yaml(&docs, buf_cstr(&text), text.len, file, NULL)) < 0)
        goto out;
    if ((rc = app_parse(&parsed, json_array_get(docs, 0), file)) < 0)
        goto out;
    app_dispose(&parsed);
    *app = json_incref(json_array_get(docs, 0));
out:
    json_decref(docs);
    buf_dispose(&text);
    return rc;
}

/* Render sources (an array of source objects) from their repositories. */
static int cmd_render_repos(json_t **objects, json_t *sources, const struct cmd_render_opts *o,
                            const struct render_request *req)
{
    char *mirrors = NULL, *tmp = NULL;
    render_sources *rs = NULL;
    int rc;

    if ((rc = mirror_global_init()) < 0)
        return rc;
    cmd_render_absolute_urls(sources);
    if (o->data)
        mirrors = xasprintf("%s/mirrors", o->data);
    else if ((rc = fs_temp_dir(&tmp, "edgecd-render")) < 0)
        goto out;
    else
        mirrors = xasprintf("%s/mirrors", tmp);
    if ((rc = render_sources_open(&rs, sources, mirrors, render_sources_fetch_plain, NULL)) < 0)
        goto out;
    rc = render_sources_render(objects, rs, req);
out:
    render_sources_free(rs);
    fs_remove_tree(tmp);
    free(tmp);
    free(mirrors);
    return rc;
}

/* The destination namespace and app name an Application gives, unless
 * the flags did. */
static void cmd_render_app_defaults(const json_t *app, struct render_request *req)
{
    if (!req->dest_namespace)
        req->dest_namespace = doc_get_str(app, "spec.destination.namespace");
    if (!req->app_name)
        req->app_name = doc_get_str(app, "metadata.name");
}

/* An Application's sources as one array (new). */
static json_t *cmd_render_app_sources(const json_t *app)
{
    const json_t *list = doc_get(app, "spec.sources");

    if (json_is_array(list) && json_array_size(list) > 0)
        return json_deep_copy(list);
    return json_pack("[O]", doc_get(app, "spec.source"));
}

static int cmd_render_run(int argc, char **argv)
{
    struct cmd_render_opts o = {0};
    struct render_request req = {0};
    struct buf out = BUF_INIT;
    render_fs *fs = NULL;
    json_t *source = NULL, *sources = NULL, *objects = NULL, *app = NULL;
    struct stat st;
    int rc;

    if ((rc = cmd_render_parse(&o, argc, argv)) == 1) {
        printf("usage: edgecd render %s\n%s\n", cli_cmd_render.usage, cli_cmd_render.help);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "edgecd render: %s\n", err_last());
        return cli_usage(&cli_cmd_render);
    }
    if (!o.target == !o.repo) {
        fprintf(stderr, "edgecd render: give one of DIR, APP.yaml and --repo URL\n");
        return cli_usage(&cli_cmd_render);
    }
    req.dest_namespace = o.ns;
    req.app_name = o.name;
    req.helm_binary = o.helm;
    req.helm_timeout_seconds = o.timeout;
    req.kustomize_binary = o.kustomize;
    req.kustomize_timeout_seconds = o.timeout;

    if (o.repo) {
        /* one source of a repository */
        source = json_pack("{s:s, s:s, s:s, s:{s:b}}", "repoURL", o.repo, "targetRevision",
                           o.revision ? o.revision : "HEAD", "path", o.path ? o.path : ".",
                           "directory", "recurse", (int)o.recurse);
        sources = json_pack("[O]", source);
        rc = cmd_render_repos(&objects, sources, &o, &req);
    } else if (stat(o.target, &st) == 0 && !S_ISDIR(st.st_mode)) {
        /* an Application manifest: its sources from their repositories */
        if (o.app_file || o.path || o.recurse || o.revision) {
            fprintf(stderr, "edgecd render: APP.yaml takes its sources from the manifest; "
                            "--app, --path, --recurse and --revision go with DIR or --repo\n");
            return cli_usage(&cli_cmd_render);
        }
        if ((rc = cmd_render_load_app(&app, o.target)) == 0) {
            cmd_render_app_defaults(app, &req);
            sources = cmd_render_app_sources(app);
            rc = cmd_render_repos(&objects, sources, &o, &req);
        }
    } else if ((rc = render_fs_local(&fs, o.target, NULL)) == 0) {
        /* a local folder, as --app's spec.source says or as a directory */
        if (o.app_file && (rc = cmd_render_load_app(&app, o.app_file)) == 0) {
            if (json_array_size(doc_get(app, "spec.sources")) > 0)
                rc = err_set(ERR_INVALID,
                             "%s: spec.sources: an Application with several sources renders "
                             "from its repositories: edgecd render %s",
                             o.app_file, o.app_file);
            else
                source = json_deep_copy(doc_get(app, "spec.source"));
            cmd_render_app_defaults(app, &req);
        } else if (!o.app_file) {
            source = json_pack("{s:s, s:{s:b}}", "path", o.path ? o.path : ".", "directory",
                               "recurse", (int)o.recurse);
        }
        req.source = render_fs_name(fs);
        if (rc == 0)
            rc = render_source(&objects, fs, source, &req);
    }
    if (rc < 0) {
        rc = cli_fail();
        goto out;
    }
    doc_emit_yaml_stream(&out, objects);
    fwrite(buf_cstr(&out), 1, out.len, stdout);
out:
    buf_dispose(&out);
    json_decref(objects);
    json_decref(source);
    json_decref(sources);
    json_decref(app);
    render_fs_free(fs);
    return rc;
}

const struct cli_cmd cli_cmd_render = {
    "render",
    "DIR [--app APP.yaml | --path SUBDIR [--recurse]] | APP.yaml | --repo URL [--revision REV] "
    "[--path P] [--recurse]; also [--data DIR] [--namespace NS] [--name APP] [--helm BINARY] "
    "[--kustomize BINARY] [--helm-timeout SECONDS (helm's and kustomize's limit)]",
    "Render offline what would be deployed: a local folder (directory, Kustomize or Helm "
    "chart; with --app, as that Application's source says), an Application manifest (every "
    "source from its repository), or one path of a repository; print the objects as YAML.",
    cmd_render_run,
};
