/*
 * Helm charts, rendered the way Argo CD renders them: by `helm template`,
 * run as a child process. edgecd does not reimplement Go templates; it
 * runs helm through render/tool.h (a private copy of the chart and value
 * files, a cleared environment, a time limit, an output limit). A chart is
 * a folder holding Chart.yaml, or a chart archive (.tgz) in the
 * repository.
 *
 * Values are passed in Argo CD's order: valueFiles, then `values` /
 * `valuesObject` as one more file, then `parameters` as --set (or
 * --set-string with forceString), then fileParameters as --set-file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"
#include "render/render.h"
#include "render/tool.h"

#define HELM_MAX_ARGS 256

struct helm_args {
    char *v[HELM_MAX_ARGS + 1];
    int n;
};

static int helm_arg(struct helm_args *a, char *s)
{
    if (a->n >= HELM_MAX_ARGS) {
        free(s);
        return err_set(ERR_INVALID, "spec.source.helm: too many values and parameters");
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
    return 0;
}

/* A string, bool or number helm option as text (Argo CD accepts all). */
static const char *helm_scalar(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

/* Run argv with a cleared environment in cwd, collecting stdout (limited)
 * and stderr; kill it after timeout seconds. */
/* Where a value file is: "$name/rest" is rest inside the ref source
 * name's repository, anything else is relative to the chart folder dir of
 * fs. *out_fs is borrowed, *out_path new. */
static int helm_locate(const struct render_request *req, render_fs *fs, const char *dir,
                       const char *rel, render_fs **out_fs, char **out_path)
{
    const char *slash;
    size_t i, n;

    *out_fs = fs;
    *out_path = NULL;
    if (rel[0] != '$')
        return path_join(out_path, dir, rel);
    slash = strchr(rel, '/');
    n = slash ? (size_t)(slash - rel - 1) : strlen(rel + 1);
    for (i = 0; i < req->n_refs; i++)
        if (strlen(req->refs[i].name) == n && !strncmp(req->refs[i].name, rel + 1, n))
            break;
    if (i == req->n_refs)
        return err_set(ERR_NOTFOUND, "%s: no source of this Application has ref: %.*s", rel, (int)n,
                       rel + 1);
    if (!slash || !slash[1])
        return err_set(ERR_INVALID, "%s: names no file in the source (\"$%.*s/path/values.yaml\")",
                       rel, (int)n, rel + 1);
    *out_fs = req->refs[i].fs;
    return path_clean(out_path, slash + 1);
}

/* Copy a value file (relative to the chart folder, inside the repository,
 * or "$ref/path" inside a ref source) into the work folder as
 * values-N.yaml; *out its path. 0 if missing and ignore_missing. */
static int helm_value_file(const struct render_request *req, render_fs *fs, const char *dir,
                           const char *rel, const char *work, int index, int ignore_missing,
                           char **out)
{
    char *path = NULL, *data = NULL;
    render_fs *from;
    size_t len;
    int rc;

    *out = NULL;
    if (strstr(rel, "://"))
        return err_set(ERR_UNSUPPORTED,
                       "spec.source.helm.valueFiles: %s: remote value files are not supported",
                       rel);
    if ((rc = helm_locate(req, fs, dir, rel, &from, &path)) < 0)
        return err_prefix(rc, "spec.source.helm.valueFiles");
    rc = render_fs_read(from, path, &data, &len);
    if (rc == ERR_NOTFOUND && ignore_missing) {
        err_clear();
        rc = 0;
    } else if (rc < 0 && from != fs) {
        err_prefix(rc, "spec.source.helm.valueFiles: %s: %s", rel, render_fs_name(from));
    } else if (rc < 0) {
        err_prefix(rc, "spec.source.helm.valueFiles");
    } else {
        *out = xasprintf("%s/values-%d.yaml", work, index);
        if ((rc = fs_write_atomic(*out, data, len, 0600)) < 0) {
            free(*out);
            *out = NULL;
        }
    }
    free(path);
    free(data);
    return rc;
}

int render_helm(json_t **out_objects, render_fs *fs, const char *dir, const json_t *helm,
                const struct render_request *req)
{
    char *work = NULL, *chart = NULL, *bin = NULL, *base = NULL, *label = NULL;
    struct helm_args a = {{NULL}, 0};
    const json_t *v, *item;
    const char *release = NULL, *ns = NULL, *chart_path;
    char num[32];
    size_t i;
    int rc, nfile = 0, ignore_missing, archive;

    *out_objects = NULL;
    chart_path = dir;
    if (helm && !json_is_object(helm) && !json_is_null(helm))
        return err_set(ERR_INVALID, "spec.source.helm: must be a mapping");
    if ((rc = render_tool_find(req->helm_binary, "helm", "helmBinary",
                               "this source is a Helm chart, and helm is not installed; "
                               "install it or set helmBinary in the site config",
                               &bin)) < 0)
        return rc;
    if ((rc = fs_temp_dir(&work, "edgecd-helm")) < 0)
        goto out;
    /* a chart folder, or a chart archive whose value files are relative
     * to the folder holding it */
    archive = render_fs_stat(fs, dir) == RENDER_ENTRY_FILE;
    err_clear();
    if (archive) {
        char *data = NULL;
        size_t len;
        const char *slash = strrchr(dir, '/');
        base = slash ? xstrndup(dir, (size_t)(slash - dir)) : xstrdup("");
        chart = xasprintf("%s/chart.tgz", work);
        if ((rc = render_fs_read(fs, dir, &data, &len)) == 0)
            rc = fs_write_atomic(chart, data, len, 0600);
        free(data);
    } else {
        base = xstrdup(dir);
        chart = xasprintf("%s/chart", work);
        rc = render_tool_copy(fs, dir, chart);
    }
    if (rc < 0)
        goto out;
    dir = base;

    release = json_string_value(json_object_get(helm, "releaseName"));
    if (!release || !release[0])
        release = req->app_name && req->app_name[0] ? req->app_name : "release";
    ns = json_string_value(json_object_get(helm, "namespace"));
    if (!ns || !ns[0])
        ns = req->dest_namespace && req->dest_namespace[0] ? req->dest_namespace : "default";
    helm_arg(&a, xstrdup(bin));
    helm_arg(&a, xstrdup("template"));
    helm_arg(&a, xstrdup(release));
    helm_arg(&a, xstrdup(archive ? "./chart.tgz" : "./chart"));
    helm_arg(&a, xstrdup("--namespace"));
    helm_arg(&a, xstrdup(ns));
    if (!json_is_true(json_object_get(helm, "skipCrds")))
        helm_arg(&a, xstrdup("--include-crds"));
    else
        helm_arg(&a, xstrdup("--skip-crds"));

    ignore_missing = json_is_true(json_object_get(helm, "ignoreMissingValueFiles"));
    v = json_object_get(helm, "valueFiles");
    if (v && !json_is_array(v) && !json_is_null(v)) {
        rc = err_set(ERR_INVALID, "spec.source.helm.valueFiles: must be a list");
        goto out;
    }
    json_array_foreach(v, i, item)
    {
        char *file = NULL;
        if (!json_is_string(item)) {
            rc = err_set(ERR_INVALID, "spec.source.helm.valueFiles[%zu]: must be a string", i);
            goto out;
        }
        if ((rc = helm_value_file(req, fs, dir, json_string_value(item), work, nfile++,
                                  ignore_missing, &file)) < 0)
            goto out;
        if (file && (rc = helm_arg(&a, xstrdup("--values"))) < 0) {
            free(file);
            goto out;
        }
        if (file && (rc = helm_arg(&a, file)) < 0)
            goto out;
    }
    /* values (a YAML string) and valuesObject (a mapping): one more file */
    {
        const json_t *vs = json_object_get(helm, "values"),
                     *vo = json_object_get(helm, "valuesObject");
        struct buf text = BUF_INIT;
        if (vs && !json_is_string(vs) && !json_is_null(vs)) {
            rc = err_set(ERR_INVALID, "spec.source.helm.values: must be a string");
            goto out;
        }
        if (vo && !json_is_object(vo) && !json_is_null(vo)) {
            rc = err_set(ERR_INVALID, "spec.source.helm.valuesObject: must be a mapping");
            goto out;
        }
        /* valuesObject wins over values, as in Argo CD */
        if (json_is_object(vo))
            doc_emit_json(&text, vo, 0);
        else if (json_is_string(vs))
            buf_puts(&text, json_string_value(vs));
        if (text.len) {
            char *file = xasprintf("%s/values-inline.yaml", work);
            rc = fs_write_atomic(file, buf_cstr(&text), text.len, 0600);
            buf_dispose(&text);
            if (rc < 0 || (rc = helm_arg(&a, xstrdup("--values"))) < 0) {
                free(file);
                goto out;
            }
            if ((rc = helm_arg(&a, file)) < 0) /* takes file, also on failure */
                goto out;
        }
        buf_dispose(&text);
    }
    v = json_object_get(helm, "parameters");
    json_array_foreach(v, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *value = helm_scalar(json_object_get(item, "value"), num, sizeof(num));
        if (!name || !name[0] || strchr(name, '\n')) {
            rc = err_set(ERR_INVALID, "spec.source.helm.parameters[%zu].name: missing", i);
            goto out;
        }
        if ((rc = helm_arg(&a, xstrdup(json_is_true(json_object_get(item, "forceString"))
                                           ? "--set-string"
                                           : "--set"))) < 0 ||
            (rc = helm_arg(&a, xasprintf("%s=%s", name, value ? value : ""))) < 0)
            goto out;
    }
    v = json_object_get(helm, "fileParameters");
    json_array_foreach(v, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *p = json_string_value(json_object_get(item, "path"));
        char *file = NULL;
        if (!name || !p) {
            rc = err_set(ERR_INVALID, "spec.source.helm.fileParameters[%zu]: needs name and path",
                         i);
            goto out;
        }
        if ((rc = helm_value_file(req, fs, dir, p, work, nfile++, 0, &file)) < 0)
            goto out;
        if ((rc = helm_arg(&a, xstrdup("--set-file"))) < 0 ||
            (rc = helm_arg(&a, xasprintf("%s=%s", name, file))) < 0) {
            free(file);
            goto out;
        }
        free(file);
    }

    label = xasprintf("helm template of %s", chart_path[0] ? chart_path : ".");
    rc = render_tool_run(a.v, work, req->helm_timeout_seconds, label, out_objects);
out:
    if (rc < 0)
        err_prefix(rc, "%s: %s", render_fs_name(fs), chart_path[0] ? chart_path : ".");
    if (work)
        fs_remove_tree(work);
    for (i = 0; i < (size_t)a.n; i++)
        free(a.v[i]);
    free(label);
    free(base);
    free(chart);
    free(work);
    free(bin);
    return rc;
}
