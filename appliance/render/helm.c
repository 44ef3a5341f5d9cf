/*
 * Helm charts, rendered the way Argo CD renders them: by `helm template`,
 * run as a child process. edgecd does not reimplement Go templates; it
 * makes running helm safe on an appliance:
 *
 *   - helm sees only a private 0700 folder holding a copy of the chart and
 *     the value files, read from the Git mirror through render_fs (so a
 *     value file path cannot leave the repository, and nothing is checked
 *     out where the rest of the system could see it);
 *   - the environment is cleared: HOME and helm's cache, config and data
 *     folders point inside that folder (no repository index, no
 *     credentials, no plugins), PATH is the system's;
 *   - the child runs in its own process group, is killed when the time
 *     limit passes, and its output is read up to a size limit;
 *   - the folder is removed afterwards, whatever happened.
 *
 * Values are passed in Argo CD's order: valueFiles, then `values` /
 * `valuesObject` as one more file, then `parameters` as --set (or
 * --set-string with forceString), then fileParameters as --set-file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"
#include "render/render.h"

#define HELM_MAX_OUTPUT (32u << 20)
#define HELM_MAX_ERR (64u << 10)
#define HELM_MAX_ARGS 256
#define HELM_DEFAULT_TIMEOUT 60
#define HELM_MAX_DEPTH 32

/* Copy folder src of fs (recursively) to the local folder dst. */
static int helm_copy_tree(render_fs *fs, const char *src, const char *dst, int depth)
{
    render_entry *v = NULL;
    size_t n = 0, i;
    int rc;

    if (depth > HELM_MAX_DEPTH)
        return err_set(ERR_TOOLARGE, "%s: folders nested deeper than %d", src, HELM_MAX_DEPTH);
    if ((rc = fs_mkdir_p(dst, 0700)) < 0 || (rc = render_fs_list(fs, src, &v, &n)) < 0)
        return rc;
    for (i = 0; i < n && rc == 0; i++) {
        char *from = src[0] ? xasprintf("%s/%s", src, v[i].name) : xstrdup(v[i].name);
        char *to = xasprintf("%s/%s", dst, v[i].name);
        if (v[i].type == RENDER_ENTRY_DIR) {
            rc = helm_copy_tree(fs, from, to, depth + 1);
        } else {
            char *data = NULL;
            size_t len;
            if ((rc = render_fs_read(fs, from, &data, &len)) == 0)
                rc = fs_write_atomic(to, data, len, 0600);
            free(data);
        }
        free(from);
        free(to);
    }
    render_entries_free(v, n);
    return rc;
}

/* The helm binary: the configured path, or "helm" on PATH. */
static int helm_find(const struct render_request *req, char **out)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;

    *out = NULL;
    if (req->helm_binary && req->helm_binary[0]) {
        if (access(req->helm_binary, X_OK) != 0)
            return err_set(ERR_UNSUPPORTED, "helm binary %s cannot be run (%s); set helmBinary",
                           req->helm_binary, strerror(errno));
        *out = xstrdup(req->helm_binary);
        return 0;
    }
    copy = xstrdup(path && path[0] ? path : "/usr/local/bin:/usr/bin:/bin");
    for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand = xasprintf("%s/helm", dir);
        if (access(cand, X_OK) == 0) {
            *out = cand;
            break;
        }
        free(cand);
    }
    free(copy);
    if (!*out)
        return err_set(ERR_UNSUPPORTED, "this source is a Helm chart, and helm is not installed; "
                                        "install it or set helmBinary in the site config");
    return 0;
}

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
static int helm_run(char *const argv[], const char *cwd, char *const envp[], long timeout,
                    struct buf *out, struct buf *err)
{
    int op[2] = {-1, -1}, ep[2] = {-1, -1}, status = 0, rc = 0;
    pid_t pid;
    int64_t deadline = time_mono_ms() + timeout * 1000;
    struct pollfd fds[2];
    char chunk[16384];

    if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        rc = err_set(ERR_IO, "helm: pipe: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = err_set(ERR_IO, "helm: fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0 ||
            chdir(cwd) < 0)
            _exit(127);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    setpgid(pid, pid);
    close(op[1]);
    close(ep[1]);
    op[1] = ep[1] = -1;
    fds[0].fd = op[0];
    fds[1].fd = ep[0];
    fds[0].events = fds[1].events = POLLIN;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        int64_t left = deadline - time_mono_ms();
        int pr;
        if (left <= 0) {
            kill(-pid, SIGKILL);
            rc = err_set(ERR_TIMEOUT, "helm template ran longer than %ld s and was stopped",
                         timeout);
            break;
        }
        pr = poll(fds, 2, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno != EINTR) {
            kill(-pid, SIGKILL);
            rc = err_set(ERR_IO, "helm: poll: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < 2 && pr > 0; i++) {
            ssize_t n;
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(fds[i].fd, chunk, sizeof(chunk));
            if (n <= 0) {
                fds[i].fd = -1;
                continue;
            }
            if (i == 0 && out->len + (size_t)n > HELM_MAX_OUTPUT) {
                kill(-pid, SIGKILL);
                rc = err_set(ERR_TOOLARGE, "helm template printed more than %u MiB",
                             HELM_MAX_OUTPUT >> 20);
                fds[0].fd = fds[1].fd = -1;
                break;
            }
            if (i == 1 && err->len + (size_t)n > HELM_MAX_ERR)
                continue;
            buf_put(i == 0 ? out : err, chunk, (size_t)n);
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        const char *msg = buf_cstr(err);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && n == 0)
            rc = err_set(ERR_UNSUPPORTED, "helm could not be started");
        else
            rc = err_set(ERR_INVALID, "helm template: %.*s", (int)(n > 2000 ? 2000 : n),
                         n ? msg : "failed without a message");
    }
out:
    for (int i = 0; i < 2; i++) {
        if (op[i] >= 0)
            close(op[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    return rc;
}

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
    char *work = NULL, *chart = NULL, *bin = NULL, *home = NULL;
    char *envp[8] = {NULL};
    struct helm_args a = {{NULL}, 0};
    struct buf out = BUF_INIT, errb = BUF_INIT;
    const json_t *v, *item;
    const char *release = NULL, *ns = NULL;
    char num[32];
    size_t i;
    int rc, nfile = 0, ignore_missing;

    *out_objects = NULL;
    if (helm && !json_is_object(helm) && !json_is_null(helm))
        return err_set(ERR_INVALID, "spec.source.helm: must be a mapping");
    if ((rc = helm_find(req, &bin)) < 0)
        return rc;
    if ((rc = fs_temp_dir(&work, "edgecd-helm")) < 0)
        goto out;
    chart = xasprintf("%s/chart", work);
    if ((rc = helm_copy_tree(fs, dir, chart, 0)) < 0)
        goto out;

    release = json_string_value(json_object_get(helm, "releaseName"));
    if (!release || !release[0])
        release = req->app_name && req->app_name[0] ? req->app_name : "release";
    ns = json_string_value(json_object_get(helm, "namespace"));
    if (!ns || !ns[0])
        ns = req->dest_namespace && req->dest_namespace[0] ? req->dest_namespace : "default";
    helm_arg(&a, xstrdup(bin));
    helm_arg(&a, xstrdup("template"));
    helm_arg(&a, xstrdup(release));
    helm_arg(&a, xstrdup("./chart"));
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

    home = xasprintf("%s/home", work);
    if ((rc = fs_mkdir_p(home, 0700)) < 0)
        goto out;
    envp[0] = xasprintf("HOME=%s", home);
    envp[1] = xasprintf("HELM_CACHE_HOME=%s/cache", home);
    envp[2] = xasprintf("HELM_CONFIG_HOME=%s/config", home);
    envp[3] = xasprintf("HELM_DATA_HOME=%s/data", home);
    envp[4] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
    envp[5] = xstrdup("HELM_NO_PLUGINS=1");
    if ((rc = helm_run(a.v, work, envp,
                       req->helm_timeout_seconds > 0 ? req->helm_timeout_seconds
                                                     : HELM_DEFAULT_TIMEOUT,
                       &out, &errb)) < 0)
        goto out;
    {
        json_t *docs = NULL, *d, *objs = json_array();
        char *name = xasprintf("helm template of %s", dir[0] ? dir : ".");
        if ((rc = doc_parse_yaml(&docs, buf_cstr(&out), out.len, name, NULL)) == 0) {
            json_array_foreach(docs, i, d)
            {
                if (json_is_object(d))
                    json_array_append(objs, d);
            }
            *out_objects = objs;
            objs = NULL;
        }
        json_decref(objs);
        json_decref(docs);
        free(name);
    }
out:
    if (rc < 0)
        err_prefix(rc, "%s: %s", render_fs_name(fs), dir[0] ? dir : ".");
    fs_remove_tree(work);
    for (i = 0; i < (size_t)a.n; i++)
        free(a.v[i]);
    for (i = 0; i < 8; i++)
        free(envp[i]);
    buf_dispose(&out);
    buf_dispose(&errb);
    free(home);
    free(chart);
    free(work);
    free(bin);
    return rc;
}
