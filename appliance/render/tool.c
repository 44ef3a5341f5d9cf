/* Running helm and kustomize as sandboxed child processes (tool.h). */
#include "render/tool.h"

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

#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define TOOL_MAX_ERR (64u << 10)

static int tool_copy(render_fs *fs, const char *src, const char *dst, int depth)
{
    render_entry *v = NULL;
    size_t n = 0, i;
    int rc;

    if (depth > RENDER_TOOL_MAX_DEPTH)
        return err_set(ERR_TOOLARGE, "%s: folders nested deeper than %d", src,
                       RENDER_TOOL_MAX_DEPTH);
    if ((rc = fs_mkdir_p(dst, 0700)) < 0 || (rc = render_fs_list(fs, src, &v, &n)) < 0)
        return rc;
    for (i = 0; i < n && rc == 0; i++) {
        char *from, *to;
        if (!strcmp(v[i].name, ".git"))
            continue;
        from = src[0] ? xasprintf("%s/%s", src, v[i].name) : xstrdup(v[i].name);
        to = xasprintf("%s/%s", dst, v[i].name);
        if (v[i].type == RENDER_ENTRY_DIR) {
            rc = tool_copy(fs, from, to, depth + 1);
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

int render_tool_copy(render_fs *fs, const char *src, const char *dst)
{
    return tool_copy(fs, src, dst, 0);
}

int render_tool_find(const char *configured, const char *name, const char *config_key,
                     const char *missing_hint, char **out)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;

    *out = NULL;
    if (configured && configured[0]) {
        if (access(configured, X_OK) != 0)
            return err_set(ERR_UNSUPPORTED, "%s binary %s cannot be run (%s); set %s", name,
                           configured, strerror(errno), config_key);
        *out = xstrdup(configured);
        return 0;
    }
    copy = xstrdup(path && path[0] ? path : "/usr/local/bin:/usr/bin:/bin");
    for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand = xasprintf("%s/%s", dir, name);
        if (access(cand, X_OK) == 0) {
            *out = cand;
            break;
        }
        free(cand);
    }
    free(copy);
    if (!*out)
        return err_set(ERR_UNSUPPORTED, "%s", missing_hint);
    return 0;
}

/* Read the child's output and error pipes until both close, the deadline
 * passes or the output grows past the limit. */
static int tool_collect(pid_t pid, int ofd, int efd, int64_t deadline, long timeout,
                        const char *what, struct buf *out, struct buf *err)
{
    struct pollfd fds[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
    char chunk[16384];
    size_t start = out->len;

    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        int64_t left = deadline - time_mono_ms();
        int pr;
        if (left <= 0) {
            kill(-pid, SIGKILL);
            return err_set(ERR_TIMEOUT, "%s ran longer than %ld s and was stopped", what, timeout);
        }
        pr = poll(fds, 2, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno != EINTR) {
            kill(-pid, SIGKILL);
            return err_set(ERR_IO, "%s: poll: %s", what, strerror(errno));
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
            if (i == 0 && out->len - start + (size_t)n > RENDER_TOOL_MAX_OUTPUT) {
                kill(-pid, SIGKILL);
                return err_set(ERR_TOOLARGE, "%s printed more than %u MiB", what,
                               RENDER_TOOL_MAX_OUTPUT >> 20);
            }
            if (i == 1 && err->len + (size_t)n > TOOL_MAX_ERR)
                continue;
            buf_put(i == 0 ? out : err, chunk, (size_t)n);
        }
    }
    return 0;
}

static int tool_objects(json_t **out_objects, const struct buf *out, const char *what)
{
    json_t *docs = NULL, *d, *objs;
    size_t i;
    int rc;

    if ((rc = doc_parse_yaml(&docs, out->len ? out->ptr : "", out->len, what, NULL)) < 0)
        return rc;
    objs = json_array();
    json_array_foreach(docs, i, d)
    {
        if (json_is_object(d))
            json_array_append(objs, d);
    }
    json_decref(docs);
    *out_objects = objs;
    return 0;
}

int render_tool_run(char *const argv[], const char *work, long timeout, const char *what,
                    json_t **out_objects)
{
    struct buf out = BUF_INIT;
    int op[2] = {-1, -1}, ep[2] = {-1, -1}, status = 0, rc = 0;
    char *envp[8] = {NULL};
    struct buf err = BUF_INIT;
    pid_t pid;
    int64_t deadline;

    *out_objects = NULL;
    if (timeout <= 0)
        timeout = RENDER_TOOL_DEFAULT_TIMEOUT;
    deadline = time_mono_ms() + timeout * 1000;
    envp[0] = xasprintf("HOME=%s/home", work);
    envp[1] = xasprintf("HELM_CACHE_HOME=%s/home/cache", work);
    envp[2] = xasprintf("HELM_CONFIG_HOME=%s/home/config", work);
    envp[3] = xasprintf("HELM_DATA_HOME=%s/home/data", work);
    envp[4] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
    envp[5] = xstrdup("HELM_NO_PLUGINS=1");
    if ((rc = fs_mkdir_p(envp[0] + 5, 0700)) < 0)
        goto out;
    if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        rc = err_set(ERR_IO, "%s: pipe: %s", what, strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = err_set(ERR_IO, "%s: fork: %s", what, strerror(errno));
        goto out;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0 ||
            chdir(work) < 0)
            _exit(127);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    setpgid(pid, pid);
    close(op[1]);
    close(ep[1]);
    op[1] = ep[1] = -1;
    rc = tool_collect(pid, op[0], ep[0], deadline, timeout, what, &out, &err);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        const char *msg = buf_cstr(&err);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && n == 0)
            rc = err_set(ERR_UNSUPPORTED, "%s could not be started", what);
        else
            rc = err_set(ERR_INVALID, "%s: %.*s", what, (int)(n > 2000 ? 2000 : n),
                         n ? msg : "failed without a message");
    }
    if (rc == 0)
        rc = tool_objects(out_objects, &out, what);
out:
    for (int i = 0; i < 2; i++) {
        if (op[i] >= 0)
            close(op[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    for (int i = 0; i < 8; i++)
        free(envp[i]);
    buf_dispose(&err);
    buf_dispose(&out);
    return rc;
}
