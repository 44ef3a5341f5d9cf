/*
 * Logs live beside the objects, keyed by namespace, pod, container and
 * the pod's uid (a pod recreated under the same name starts an empty
 * log, as on a node). One lock and one condition guard them; a follow
 * waits on the condition at most a second at a time, so it also notices
 * a deleted pod and a client that left within a second.
 */
#include "podlog.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/util.h"
#include "handlers.h"
#include "objects.h"
#include "resources.h"
#include "status.h"

static pthread_mutex_t podlog_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t podlog_cv = PTHREAD_COND_INITIALIZER;
static json_t *podlog_logs; /* key -> [[time, text], ...] */

static void podlog_now(char out[40])
{
    struct timespec ts;
    struct tm tm;
    char sec[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%09ldZ", sec, ts.tv_nsec);
}

/* The pod's container named want, or its first when want is empty and
 * it has one; NULL with res answered otherwise (the kubelet's words). */
static const char *podlog_container(json_t *pod, const char *want, struct httpd_response *res)
{
    json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers"), *c;
    const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
    size_t i;
    if (want && want[0]) {
        json_array_foreach(cs, i, c)
        {
            if (!strcmp(json_string_value(json_object_get(c, "name")), want))
                return want;
        }
        status_reply(res, 400, "BadRequest", NULL, "container %s is not valid for pod %s", want,
                     name);
        return NULL;
    }
    if (json_array_size(cs) == 1)
        return json_string_value(json_object_get(json_array_get(cs, 0), "name"));
    status_reply(res, 400, "BadRequest", NULL,
                 "a container name must be specified for pod %s, choose one of: %zu containers",
                 name, json_array_size(cs));
    return NULL;
}

/* The log of key (made with its start-up lines), borrowed; podlog_mu held. */
static json_t *podlog_get(const char *key, const char *container)
{
    json_t *log;
    char t[40], *line;
    if (!podlog_logs)
        podlog_logs = json_object();
    if ((log = json_object_get(podlog_logs, key)) != NULL)
        return log;
    log = json_array();
    podlog_now(t);
    line = xasprintf("kubesim: container %s started", container);
    json_array_append_new(log, json_pack("[s, s]", t, line));
    free(line);
    json_array_append_new(log, json_pack("[s, s]", t, "kubesim: ready"));
    json_object_set_new(podlog_logs, key, log);
    return log;
}

static char *podlog_key(const char *ns, const char *pod, const char *container, const char *uid)
{
    return xasprintf("%s/%s/%s/%s", ns, pod, container, uid ? uid : "");
}

static void podlog_append_lines(struct buf *out, const json_t *log, size_t from, int timestamps)
{
    for (size_t i = from; i < json_array_size(log); i++) {
        json_t *e = json_array_get(log, i);
        if (timestamps)
            buf_printf(out, "%s ", json_string_value(json_array_get(e, 0)));
        buf_printf(out, "%s\n", json_string_value(json_array_get(e, 1)));
    }
}

struct podlog_follow {
    char *ns, *pod, *uid, *key;
    size_t next;
    int timestamps;
};

static void podlog_follow_free(void *ctx)
{
    struct podlog_follow *f = ctx;
    free(f->ns);
    free(f->pod);
    free(f->uid);
    free(f->key);
    free(f);
}

/* 1 while the pod f follows still exists (the same one, by uid). */
static int podlog_pod_alive(const struct podlog_follow *f)
{
    const struct resource *r = resources_find("", "v1", "pods");
    json_t *rec;
    const char *uid;
    int alive;
    handlers_lock_api();
    rec = objects_get(r, f->ns, f->pod);
    uid = json_string_value(
        json_object_get(json_object_get(json_object_get(rec, "object"), "metadata"), "uid"));
    alive = rec && uid && !strcmp(uid, f->uid);
    handlers_unlock_api();
    return alive;
}

static int podlog_follow_run(void *ctx, httpd_stream *s)
{
    struct podlog_follow *f = ctx;
    for (;;) {
        struct buf b = BUF_INIT;
        struct timespec until;
        json_t *log;
        int rc = 0;
        pthread_mutex_lock(&podlog_mu);
        log = json_object_get(podlog_logs, f->key);
        podlog_append_lines(&b, log, f->next, f->timestamps);
        f->next = json_array_size(log);
        if (!b.len) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&podlog_cv, &podlog_mu, &until);
        }
        pthread_mutex_unlock(&podlog_mu);
        if (b.len)
            rc = httpd_stream_write(s, b.ptr, b.len);
        buf_dispose(&b);
        if (rc < 0 || !httpd_stream_alive(s))
            return -1;
        if (!podlog_pod_alive(f))
            return 0;
    }
}

void podlog_serve(struct verbs_call *c)
{
    json_t *rec = objects_get(c->r, c->ns, c->name), *pod, *log;
    char *want = httpd_query_get(c->req, "container"), *tail = httpd_query_get(c->req, "tailLines");
    char *ts = httpd_query_get(c->req, "timestamps"), *follow = httpd_query_get(c->req, "follow");
    const char *container, *uid;
    char *key = NULL;
    long tail_n = -1;
    size_t from = 0;

    if (strcmp(c->req->method, "GET") != 0) {
        status_reply(c->res, 405, "MethodNotAllowed", NULL,
                     "the server does not allow this method on the requested resource");
        goto out;
    }
    if (!rec) {
        status_not_found(c->res, c->r, c->name);
        goto out;
    }
    pod = json_object_get(rec, "object");
    if (!(container = podlog_container(pod, want, c->res)))
        goto out;
    if (tail && tail[0] && str_to_long(tail, 0, 1L << 30, "tailLines", &tail_n) < 0) {
        status_reply(c->res, 400, "BadRequest", NULL, "tailLines: %s", tail);
        goto out;
    }
    uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
    key = podlog_key(c->ns, c->name, container, uid);
    pthread_mutex_lock(&podlog_mu);
    log = podlog_get(key, container);
    if (tail_n >= 0 && (size_t)tail_n < json_array_size(log))
        from = json_array_size(log) - (size_t)tail_n;
    c->res->status = 200;
    c->res->content_type = "text/plain";
    if (follow && !strcmp(follow, "true")) {
        struct podlog_follow *f = xcalloc(1, sizeof(*f));
        f->ns = xstrdup(c->ns);
        f->pod = xstrdup(c->name);
        f->uid = xstrdup(uid ? uid : "");
        f->key = xstrdup(key);
        f->next = from;
        f->timestamps = ts && !strcmp(ts, "true");
        c->res->stream = podlog_follow_run;
        c->res->stream_free = podlog_follow_free;
        c->res->stream_ctx = f;
    } else {
        podlog_append_lines(&c->res->body, log, from, ts && !strcmp(ts, "true"));
    }
    pthread_mutex_unlock(&podlog_mu);
out:
    free(key);
    free(want);
    free(tail);
    free(ts);
    free(follow);
}

void podlog_admin(const struct httpd_request *req, struct httpd_response *res)
{
    const struct resource *r = resources_find("", "v1", "pods");
    char *ns = httpd_query_get(req, "namespace"), *name = httpd_query_get(req, "pod");
    char *want = httpd_query_get(req, "container"), *key = NULL, *copy = NULL, *line, *save = NULL;
    const char *container, *uid;
    json_t *rec, *pod, *log;
    size_t added = 0;

    if (strcmp(req->method, "POST") != 0) {
        status_reply(res, 405, "MethodNotAllowed", NULL, "%s: use POST on /kubesim/admin/podlog",
                     req->method);
        goto out;
    }
    handlers_lock_api();
    rec = objects_get(r, ns ? ns : "", name ? name : "");
    pod = rec ? json_deep_copy(json_object_get(rec, "object")) : NULL;
    handlers_unlock_api();
    if (!pod) {
        status_not_found(res, r, name ? name : "");
        goto out;
    }
    container = podlog_container(pod, want, res);
    uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
    if (container) {
        key = podlog_key(ns, name, container, uid);
        copy = xstrndup(req->body ? req->body : "", req->body_len);
        pthread_mutex_lock(&podlog_mu);
        log = podlog_get(key, container);
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char t[40];
            podlog_now(t);
            json_array_append_new(log, json_pack("[s, s]", t, line));
            added++;
        }
        pthread_cond_broadcast(&podlog_cv);
        pthread_mutex_unlock(&podlog_mu);
        res->status = 200;
        res->content_type = "application/json";
        buf_printf(&res->body, "{\"appended\":%zu}\n", added);
    }
    json_decref(pod);
out:
    free(copy);
    free(key);
    free(ns);
    free(name);
    free(want);
}

void podlog_dispose(void)
{
    pthread_mutex_lock(&podlog_mu);
    json_decref(podlog_logs);
    podlog_logs = NULL;
    pthread_mutex_unlock(&podlog_mu);
}
