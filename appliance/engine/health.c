/*
 * Health checks. The built-in checks are one table (group, kind, the
 * apiVersions gitops-engine converts, the function); each function is a
 * line-by-line reading of its Go counterpart in gitops-engine's
 * pkg/health (or of Argo CD's batch/CronJob health.lua), so statuses and
 * messages match Argo CD's, including its quirks (a suspended Job's
 * message is the failure message, which is always empty; PVC Pending is
 * Progressing without a message).
 *
 * Go reads an object by converting it to the typed struct first, and a
 * field of the wrong type fails that conversion: the check then reports
 * Unknown "failed to convert unstructured <Kind> to typed: ...". Fields
 * are read here through hc_* accessors that remember the first such
 * mismatch, and a check whose object had one reports the same way.
 *
 * edgecd additions, each marked where it is: Namespace (Argo CD has no
 * check: Active is Healthy, Terminating Progressing), and a suspended
 * CronJob (Argo CD 3.3 ignores spec.suspend: issue 24428) is Suspended,
 * counted as Healthy like a suspended Job.
 */
#include "engine/health.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "core/glob.h"

static const char *const health_names[] = {"",        "Healthy",  "Suspended", "Progressing",
                                           "Missing", "Degraded", "Unknown"};
#define HEALTH_NNAMES (sizeof(health_names) / sizeof(health_names[0]))

#define HEALTH_HOOK_FINALIZER "argocd.argoproj.io/hook-finalizer"
#define HEALTH_HOOK_ANNOTATION "argocd.argoproj.io/hook"
#define HEALTH_HELM_HOOK_ANNOTATION "helm.sh/hook"
#define HEALTH_IGNORE_ANNOTATION "argocd.argoproj.io/ignore-healthcheck"
#define HEALTH_HPA_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"

const char *health_status_name(enum health_status s)
{
    return (size_t)s < HEALTH_NNAMES ? health_names[s] : "";
}

int health_status_parse(const char *name, enum health_status *out)
{
    for (size_t i = 0; i < HEALTH_NNAMES; i++)
        if (!strcmp(name, health_names[i])) {
            *out = (enum health_status)i;
            return 0;
        }
    return -1;
}

int health_is_worse(enum health_status current, enum health_status next)
{
    return next > current;
}

enum health_status health_worst(const enum health_status *list, size_t n)
{
    enum health_status worst = HEALTH_HEALTHY;
    for (size_t i = 0; i < n; i++)
        if (list[i] != HEALTH_NONE && health_is_worse(worst, list[i]))
            worst = list[i];
    return worst;
}

void health_result_dispose(struct health_result *r)
{
    free(r->message);
    r->message = NULL;
}

/* ---- reading an object as Go's typed conversion would ---- */

struct hc_ctx {
    const json_t *obj;
    const char *kind;
    struct buf bad; /* the first field of the wrong type */
};

static void hc_mismatch(struct hc_ctx *c, const char *path, const char *want, const json_t *v)
{
    static const char *const types[] = {"object", "list", "string", "number",
                                        "number", "bool", "bool",   "null"};
    if (c->bad.len == 0)
        buf_printf(&c->bad, "%s: expected %s, got %s", path, want, types[json_typeof(v)]);
}

static const json_t *hc_get(const json_t *from, const char *dotted)
{
    const json_t *v = doc_get(from, dotted);
    return v && !json_is_null(v) ? v : NULL;
}

/* An integer field: def when absent, a mismatch when not a whole number. */
static long long hc_int_in(struct hc_ctx *c, const json_t *from, const char *dotted, long long def,
                           int *present)
{
    const json_t *v = hc_get(from, dotted);
    if (present)
        *present = 0;
    if (!v)
        return def;
    if (json_is_integer(v)) {
        if (present)
            *present = 1;
        return (long long)json_integer_value(v);
    }
    if (json_is_real(v) && fabs(json_real_value(v)) < 9e18 &&
        json_real_value(v) == floor(json_real_value(v))) {
        if (present)
            *present = 1;
        return (long long)json_real_value(v);
    }
    hc_mismatch(c, dotted, "a whole number", v);
    return def;
}

static long long hc_int(struct hc_ctx *c, const char *dotted, int *present)
{
    return hc_int_in(c, c->obj, dotted, 0, present);
}

static const char *hc_str_in(struct hc_ctx *c, const json_t *from, const char *dotted)
{
    const json_t *v = hc_get(from, dotted);
    if (!v)
        return "";
    if (!json_is_string(v)) {
        hc_mismatch(c, dotted, "a string", v);
        return "";
    }
    return json_string_value(v);
}

static const char *hc_str(struct hc_ctx *c, const char *dotted)
{
    return hc_str_in(c, c->obj, dotted);
}

static int hc_bool(struct hc_ctx *c, const char *dotted)
{
    const json_t *v = hc_get(c->obj, dotted);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        hc_mismatch(c, dotted, "true or false", v);
        return 0;
    }
    return json_is_true(v);
}

/* A list field; NULL, which jansson's array calls take as empty, when
 * absent or not a list. */
static const json_t *hc_list_in(struct hc_ctx *c, const json_t *from, const char *dotted)
{
    const json_t *v = hc_get(from, dotted);
    if (v && !json_is_array(v)) {
        hc_mismatch(c, dotted, "a list", v);
        return NULL;
    }
    return v;
}

static const json_t *hc_list(struct hc_ctx *c, const char *dotted)
{
    return hc_list_in(c, c->obj, dotted);
}

/* The first element of a list of conditions with that type, or NULL. */
static const json_t *hc_condition(struct hc_ctx *c, const char *list, const char *type)
{
    size_t i;
    const json_t *cond;
    json_array_foreach(hc_list(c, list), i, cond)
    {
        if (!strcmp(hc_str_in(c, cond, "type"), type))
            return cond;
    }
    return NULL;
}

/* ---- results ---- */

static void hc_set(struct health_result *out, enum health_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void hc_set(struct health_result *out, enum health_status s, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(out->message);
    out->message = buf_detach(&b);
    out->status = s;
    out->aggregate_as = s;
}

/* Go's %q for the names that messages quote. */
static char *hc_quote(const char *s)
{
    struct buf b = BUF_INIT;
    buf_putc(&b, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            buf_printf(&b, "\\%c", ch);
        else if (ch == '\n')
            buf_puts(&b, "\\n");
        else if (ch == '\t')
            buf_puts(&b, "\\t");
        else if (ch == '\r')
            buf_puts(&b, "\\r");
        else if (ch < 0x20 || ch == 0x7f)
            buf_printf(&b, "\\x%02x", ch);
        else
            buf_putc(&b, (char)ch);
    }
    buf_putc(&b, '"');
    return buf_detach(&b);
}

/* ---- the built-in checks ---- */

static void hc_deployment(struct hc_ctx *c, struct health_result *out)
{
    int has_replicas;
    long long generation = hc_int(c, "metadata.generation", NULL);
    long long observed = hc_int(c, "status.observedGeneration", NULL);
    long long replicas = hc_int(c, "spec.replicas", &has_replicas);
    long long st_replicas = hc_int(c, "status.replicas", NULL);
    long long updated = hc_int(c, "status.updatedReplicas", NULL);
    long long available = hc_int(c, "status.availableReplicas", NULL);
    const json_t *progressing = hc_condition(c, "status.conditions", "Progressing");

    if (hc_bool(c, "spec.paused")) {
        hc_set(out, HEALTH_SUSPENDED, "Deployment is paused");
    } else if (generation > observed) {
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: observed deployment "
               "generation less than desired generation");
    } else if (progressing &&
               !strcmp(hc_str_in(c, progressing, "reason"), "ProgressDeadlineExceeded")) {
        char *q = hc_quote(hc_str(c, "metadata.name"));
        hc_set(out, HEALTH_DEGRADED, "Deployment %s exceeded its progress deadline", q);
        free(q);
    } else if (has_replicas && updated < replicas) {
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: %lld out of %lld new replicas have been updated...",
               updated, replicas);
    } else if (st_replicas > updated) {
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: %lld old replicas are pending termination...",
               st_replicas - updated);
    } else if (available < updated) {
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: %lld of %lld updated replicas are available...",
               available, updated);
    } else {
        hc_set(out, HEALTH_HEALTHY, "%s", "");
    }
}

static void hc_statefulset(struct hc_ctx *c, struct health_result *out)
{
    int has_replicas, has_partition;
    long long generation = hc_int(c, "metadata.generation", NULL);
    long long observed = hc_int(c, "status.observedGeneration", NULL);
    long long replicas = hc_int(c, "spec.replicas", &has_replicas);
    long long ready = hc_int(c, "status.readyReplicas", NULL);
    long long updated = hc_int(c, "status.updatedReplicas", NULL);
    long long current = hc_int(c, "status.currentReplicas", NULL);
    const char *strategy = hc_str(c, "spec.updateStrategy.type");
    const json_t *rolling = hc_get(c->obj, "spec.updateStrategy.rollingUpdate");
    long long partition = hc_int(c, "spec.updateStrategy.rollingUpdate.partition", &has_partition);
    const char *update_rev = hc_str(c, "status.updateRevision");
    const char *current_rev = hc_str(c, "status.currentRevision");

    if (observed == 0 || generation > observed) {
        hc_set(out, HEALTH_PROGRESSING, "Waiting for statefulset spec update to be observed...");
    } else if (has_replicas && ready < replicas) {
        hc_set(out, HEALTH_PROGRESSING, "Waiting for %lld pods to be ready...", replicas - ready);
    } else if (!strcmp(strategy, "RollingUpdate") && rolling) {
        if (has_replicas && has_partition && updated < replicas - partition)
            hc_set(out, HEALTH_PROGRESSING,
                   "Waiting for partitioned roll out to finish: %lld out of %lld new pods have "
                   "been updated...",
                   updated, replicas - partition);
        else
            hc_set(out, HEALTH_HEALTHY,
                   "partitioned roll out complete: %lld new pods have been updated...", updated);
    } else if (!strcmp(strategy, "OnDelete")) {
        hc_set(out, HEALTH_HEALTHY, "statefulset has %lld ready pods", ready);
    } else if (strcmp(update_rev, current_rev) != 0) {
        hc_set(out, HEALTH_PROGRESSING,
               "waiting for statefulset rolling update to complete %lld pods at revision %s...",
               updated, update_rev);
    } else {
        hc_set(out, HEALTH_HEALTHY,
               "statefulset rolling update complete %lld pods at revision %s...", current,
               current_rev);
    }
}

static void hc_daemonset(struct hc_ctx *c, struct health_result *out)
{
    long long generation = hc_int(c, "metadata.generation", NULL);
    long long observed = hc_int(c, "status.observedGeneration", NULL);
    long long updated = hc_int(c, "status.updatedNumberScheduled", NULL);
    long long desired = hc_int(c, "status.desiredNumberScheduled", NULL);
    long long available = hc_int(c, "status.numberAvailable", NULL);
    char *q = hc_quote(hc_str(c, "metadata.name"));

    if (generation > observed)
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: observed daemon set "
               "generation less than desired generation");
    else if (!strcmp(hc_str(c, "spec.updateStrategy.type"), "OnDelete"))
        hc_set(out, HEALTH_HEALTHY, "daemon set %lld out of %lld new pods have been updated",
               updated, desired);
    else if (updated < desired)
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for daemon set %s rollout to finish: %lld out of %lld new pods have been "
               "updated...",
               q, updated, desired);
    else if (available < desired)
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for daemon set %s rollout to finish: %lld of %lld updated pods are "
               "available...",
               q, available, desired);
    else
        hc_set(out, HEALTH_HEALTHY, "%s", "");
    free(q);
}

static void hc_replicaset(struct hc_ctx *c, struct health_result *out)
{
    int has_replicas;
    long long generation = hc_int(c, "metadata.generation", NULL);
    long long observed = hc_int(c, "status.observedGeneration", NULL);
    long long replicas = hc_int(c, "spec.replicas", &has_replicas);
    long long available = hc_int(c, "status.availableReplicas", NULL);
    const json_t *failure = hc_condition(c, "status.conditions", "ReplicaFailure");

    if (generation > observed)
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: observed replica set "
               "generation less than desired generation");
    else if (failure && !strcmp(hc_str_in(c, failure, "status"), "True"))
        hc_set(out, HEALTH_DEGRADED, "%s", hc_str_in(c, failure, "message"));
    else if (has_replicas && available < replicas)
        hc_set(out, HEALTH_PROGRESSING,
               "Waiting for rollout to finish: %lld out of %lld new replicas are available...",
               available, replicas);
    else
        hc_set(out, HEALTH_HEALTHY, "%s", "");
}

static void hc_service(struct hc_ctx *c, struct health_result *out)
{
    if (!strcmp(hc_str(c, "spec.type"), "LoadBalancer") &&
        json_array_size(hc_list(c, "status.loadBalancer.ingress")) == 0)
        hc_set(out, HEALTH_PROGRESSING, "%s", "");
    else
        hc_set(out, HEALTH_HEALTHY, "%s", "");
}

static void hc_ingress(struct hc_ctx *c, struct health_result *out)
{
    hc_set(out,
           json_array_size(hc_list(c, "status.loadBalancer.ingress")) ? HEALTH_HEALTHY
                                                                      : HEALTH_PROGRESSING,
           "%s", "");
}

static void hc_pvc(struct hc_ctx *c, struct health_result *out)
{
    const char *phase = hc_str(c, "status.phase");
    enum health_status s = HEALTH_UNKNOWN;
    if (!strcmp(phase, "Lost"))
        s = HEALTH_DEGRADED;
    else if (!strcmp(phase, "Pending"))
        s = HEALTH_PROGRESSING;
    else if (!strcmp(phase, "Bound"))
        s = HEALTH_HEALTHY;
    hc_set(out, s, "%s", "");
}

static int hc_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int hc_suffix(const char *s, const char *x)
{
    size_t ls = strlen(s), lx = strlen(x);
    return ls >= lx && !strcmp(s + ls - lx, x);
}

/* A terminated container's failure, as getFailMessage; NULL if none. */
static char *hc_pod_fail_message(struct hc_ctx *c, const json_t *ctr)
{
    const json_t *term = hc_get(ctr, "state.terminated");
    long long code;
    if (!term)
        return NULL;
    if (hc_str_in(c, term, "message")[0])
        return xstrdup(hc_str_in(c, term, "message"));
    if (!strcmp(hc_str_in(c, term, "reason"), "OOMKilled"))
        return xstrdup("OOMKilled");
    if ((code = hc_int_in(c, term, "exitCode", 0, NULL)) != 0) {
        char *q = hc_quote(hc_str_in(c, ctr, "name"));
        char *msg = xasprintf("container %s failed with exit code %lld", q, code);
        free(q);
        return msg;
    }
    return NULL;
}

static void hc_pod(struct hc_ctx *c, struct health_result *out)
{
    const char *policy = hc_str(c, "spec.restartPolicy");
    const char *phase = hc_str(c, "status.phase");
    const char *message = hc_str(c, "status.message");
    const json_t *statuses = hc_list(c, "status.containerStatuses");
    size_t i;
    const json_t *cs;

    /* Only for pods that restart: a hook pod (Never/OnFailure) stuck in
     * ImagePullBackOff must not fail its hook early. */
    if (!strcmp(policy, "Always")) {
        struct buf msgs = BUF_INIT;
        int degraded = 0;
        json_array_foreach(statuses, i, cs)
        {
            const json_t *waiting = hc_get(cs, "state.waiting");
            const char *reason = waiting ? hc_str_in(c, waiting, "reason") : "";
            if (waiting && (hc_prefix(reason, "Err") || hc_suffix(reason, "Error") ||
                            hc_suffix(reason, "BackOff"))) {
                buf_printf(&msgs, "%s%s", degraded ? ", " : "", hc_str_in(c, waiting, "message"));
                degraded = 1;
            }
        }
        if (degraded)
            hc_set(out, HEALTH_DEGRADED, "%s", buf_cstr(&msgs));
        buf_dispose(&msgs);
        if (degraded)
            return;
    }
    if (!strcmp(phase, "Pending")) {
        hc_set(out, HEALTH_PROGRESSING, "%s", message);
    } else if (!strcmp(phase, "Succeeded")) {
        hc_set(out, HEALTH_HEALTHY, "%s", message);
    } else if (!strcmp(phase, "Failed")) {
        char *fail = NULL;
        if (!message[0]) {
            json_array_foreach(hc_list(c, "status.initContainerStatuses"), i, cs)
            {
                if (!fail)
                    fail = hc_pod_fail_message(c, cs);
            }
            json_array_foreach(statuses, i, cs)
            {
                if (!fail)
                    fail = hc_pod_fail_message(c, cs);
            }
        }
        hc_set(out, HEALTH_DEGRADED, "%s", message[0] ? message : fail ? fail : "");
        free(fail);
    } else if (!strcmp(phase, "Running") && !strcmp(policy, "Always")) {
        const json_t *ready = hc_condition(c, "status.conditions", "Ready");
        int terminated = 0;
        json_array_foreach(statuses, i, cs)
        {
            if (hc_get(cs, "lastState.terminated"))
                terminated = 1;
        }
        if (ready && !strcmp(hc_str_in(c, ready, "status"), "True"))
            hc_set(out, HEALTH_HEALTHY, "%s", message);
        else
            hc_set(out, terminated ? HEALTH_DEGRADED : HEALTH_PROGRESSING, "%s", message);
    } else if (!strcmp(phase, "Running") &&
               (!strcmp(policy, "OnFailure") || !strcmp(policy, "Never"))) {
        /* Finite pods are usually hooks: Progressing until they end. */
        hc_set(out, HEALTH_PROGRESSING, "%s", message);
    } else {
        hc_set(out, HEALTH_UNKNOWN, "%s", message);
    }
}

static void hc_job(struct hc_ctx *c, struct health_result *out)
{
    int failed = 0, complete = 0, suspended = 0;
    const char *fail_msg = "", *message = "";
    size_t i;
    const json_t *cond;

    json_array_foreach(hc_list(c, "status.conditions"), i, cond)
    {
        const char *type = hc_str_in(c, cond, "type");
        if (!strcmp(type, "Failed")) {
            failed = complete = 1;
            fail_msg = hc_str_in(c, cond, "message");
        } else if (!strcmp(type, "Complete")) {
            complete = 1;
            message = hc_str_in(c, cond, "message");
        } else if (!strcmp(type, "Suspended")) {
            complete = 1;
            message = hc_str_in(c, cond, "message");
            if (!strcmp(hc_str_in(c, cond, "status"), "True"))
                suspended = 1;
        }
    }
    if (!complete) {
        hc_set(out, HEALTH_PROGRESSING, "%s", message);
    } else if (failed) {
        hc_set(out, HEALTH_DEGRADED, "%s", fail_msg);
    } else if (suspended) {
        /* Argo CD's message here is the failure message, always "". */
        hc_set(out, HEALTH_SUSPENDED, "%s", fail_msg);
        out->aggregate_as = HEALTH_HEALTHY;
    } else {
        hc_set(out, HEALTH_HEALTHY, "%s", message);
    }
}

/* "2026-01-02T03:04:05Z" (fractions and offsets are not what the
 * CronJob controller writes): seconds since the epoch, or -1. */
static long long hc_time(const char *s)
{
    struct tm tm;
    const char *end;
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    while (*end >= '0' && *end <= '9')
        end++;
    if (*end == '.')
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    if (strcmp(end, "Z") != 0)
        return -1;
    return (long long)timegm(&tm);
}

/* Argo CD's batch/CronJob health.lua (3.3), plus spec.suspend. */
static void hc_cronjob(struct hc_ctx *c, struct health_result *out)
{
    const char *sched = hc_str(c, "status.lastScheduleTime");
    const char *succ = hc_str(c, "status.lastSuccessfulTime");
    long long t_sched = sched[0] ? hc_time(sched) : 0, t_succ = succ[0] ? hc_time(succ) : 0;

    if (t_sched < 0 || t_succ < 0) {
        hc_set(out, HEALTH_UNKNOWN, "CronJob status.%s: \"%s\" is not a time",
               t_sched < 0 ? "lastScheduleTime" : "lastSuccessfulTime", t_sched < 0 ? sched : succ);
    } else if (hc_bool(c, "spec.suspend")) {
        /* edgecd: Argo CD 3.3 does not look at spec.suspend. */
        hc_set(out, HEALTH_SUSPENDED, "CronJob is Suspended");
        out->aggregate_as = HEALTH_HEALTHY;
    } else if (json_array_size(hc_list(c, "status.active")) > 0) {
        hc_set(out, HEALTH_PROGRESSING, "CronJob has active jobs");
    } else if (!sched[0]) {
        hc_set(out, HEALTH_HEALTHY, "CronJob has never run");
    } else if (succ[0] && t_sched < t_succ) {
        hc_set(out, HEALTH_HEALTHY, "CronJob has run successfully");
    } else {
        hc_set(out, HEALTH_DEGRADED, "CronJob has not run successfully");
    }
}

/* HPA conditions: the first degraded or healthy one decides. */
static int hc_hpa_degraded(const char *type, const char *reason)
{
    static const char *const states[][2] = {{"AbleToScale", "FailedGetScale"},
                                            {"AbleToScale", "FailedUpdateScale"},
                                            {"ScalingActive", "FailedGetResourceMetric"},
                                            {"ScalingActive", "InvalidSelector"}};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (!strcmp(type, states[i][0]) && !strcmp(reason, states[i][1]))
            return 1;
    return 0;
}

static void hc_hpa_conditions(struct hc_ctx *c, const json_t *conds, struct health_result *out)
{
    size_t i;
    const json_t *cond;
    json_array_foreach(conds, i, cond)
    {
        const char *type = hc_str_in(c, cond, "type");
        if (hc_hpa_degraded(type, hc_str_in(c, cond, "reason"))) {
            hc_set(out, HEALTH_DEGRADED, "%s", hc_str_in(c, cond, "message"));
            return;
        }
        if ((!strcmp(type, "AbleToScale") || !strcmp(type, "ScalingLimited")) &&
            !strcmp(hc_str_in(c, cond, "status"), "True")) {
            hc_set(out, HEALTH_HEALTHY, "%s", hc_str_in(c, cond, "message"));
            return;
        }
    }
    hc_set(out, HEALTH_PROGRESSING, "Waiting to Autoscale");
}

static void hc_hpa(struct hc_ctx *c, struct health_result *out)
{
    const char *api = hc_str(c, "apiVersion");
    const json_t *annotation;
    json_t *conds = NULL;

    if (strcmp(api, "autoscaling/v1") != 0) {
        hc_hpa_conditions(c, hc_list(c, "status.conditions"), out);
        return;
    }
    /* autoscaling/v1 keeps its conditions in an annotation, as JSON. */
    annotation = hc_get(c->obj, "metadata.annotations." HEALTH_HPA_CONDITIONS);
    if (!annotation || !json_is_string(annotation)) {
        hc_set(out, HEALTH_PROGRESSING, "Waiting to Autoscale");
        return;
    }
    if (doc_parse_json(&conds, json_string_value(annotation), json_string_length(annotation),
                       HEALTH_HPA_CONDITIONS, NULL) < 0 ||
        !json_is_array(conds)) {
        hc_set(out, HEALTH_UNKNOWN, "failed to convert conditions annotation to typed: %s",
               conds ? "not a list" : err_last());
    } else {
        hc_hpa_conditions(c, conds, out);
    }
    json_decref(conds);
}

static void hc_apiservice(struct hc_ctx *c, struct health_result *out)
{
    const json_t *cond = hc_condition(c, "status.conditions", "Available");
    if (!cond) {
        hc_set(out, HEALTH_PROGRESSING, "Waiting to be processed");
        return;
    }
    hc_set(out, !strcmp(hc_str_in(c, cond, "status"), "True") ? HEALTH_HEALTHY : HEALTH_PROGRESSING,
           "%s: %s", hc_str_in(c, cond, "reason"), hc_str_in(c, cond, "message"));
}

static void hc_workflow(struct hc_ctx *c, struct health_result *out)
{
    const char *phase = hc_str(c, "status.phase");
    const char *message = hc_str(c, "status.message");
    enum health_status s = HEALTH_UNKNOWN;
    if (!phase[0] || !strcmp(phase, "Pending") || !strcmp(phase, "Running"))
        s = HEALTH_PROGRESSING;
    else if (!strcmp(phase, "Succeeded"))
        s = HEALTH_HEALTHY;
    else if (!strcmp(phase, "Failed") || !strcmp(phase, "Error"))
        s = HEALTH_DEGRADED;
    hc_set(out, s, "%s", message);
}

/* edgecd: Argo CD has no Namespace check. */
static void hc_namespace(struct hc_ctx *c, struct health_result *out)
{
    if (!strcmp(hc_str(c, "status.phase"), "Terminating"))
        hc_set(out, HEALTH_PROGRESSING, "Namespace is terminating");
    else
        hc_set(out, HEALTH_HEALTHY, "%s", "");
}

static const char *const hc_v1[] = {"v1", NULL};
static const char *const hc_hpa_versions[] = {"v1", "v2beta1", "v2beta2", "v2", NULL};
static const char *const hc_apiservice_versions[] = {"v1", "v1beta1", NULL};

struct health_builtin {
    const char *group;
    const char *kind;
    const char *const *versions; /* those gitops-engine converts; NULL: any */
    void (*check)(struct hc_ctx *c, struct health_result *out);
};

static const struct health_builtin health_builtins[] = {
    {"apps", "Deployment", hc_v1, hc_deployment},
    {"apps", "StatefulSet", hc_v1, hc_statefulset},
    {"apps", "ReplicaSet", hc_v1, hc_replicaset},
    {"apps", "DaemonSet", hc_v1, hc_daemonset},
    {"extensions", "Ingress", NULL, hc_ingress},
    {"networking.k8s.io", "Ingress", NULL, hc_ingress},
    {"argoproj.io", "Workflow", NULL, hc_workflow},
    {"apiregistration.k8s.io", "APIService", hc_apiservice_versions, hc_apiservice},
    {"", "Service", hc_v1, hc_service},
    {"", "PersistentVolumeClaim", hc_v1, hc_pvc},
    {"", "Pod", hc_v1, hc_pod},
    {"", "Namespace", NULL, hc_namespace},
    {"batch", "Job", hc_v1, hc_job},
    {"batch", "CronJob", NULL, hc_cronjob},
    {"autoscaling", "HorizontalPodAutoscaler", hc_hpa_versions, hc_hpa},
};
#define HEALTH_NBUILTINS (sizeof(health_builtins) / sizeof(health_builtins[0]))

/* ---- custom checks ---- */

struct health_custom {
    char *key; /* "group/kind" or "kind", maybe with wildcards */
    int wildcard;
    char *script;
    char *chunk; /* "=<key> health.lua", Lua's name for it in messages */
};

struct health_checks {
    struct health_custom *custom;
    size_t n;
    struct luabox_limits lim;
};

/* A Lua syntax error ("<chunk>:3: 'end' expected near <eof>") told with
 * the line of the settings file: "argocd-cm.yaml:17:
 * resource.customizations.health.x_Y: script line 3: 'end' expected". */
static int health_script_error(const struct settings *settings, const struct settings_override *o)
{
    char *msg = xstrdup(err_last());
    const char *p = msg, *rest = msg;
    long line = 0;
    int rc;

    while ((p = strchr(p, ':'))) {
        char *end;
        long n = strtol(p + 1, &end, 10);
        if (end > p + 1 && end[0] == ':' && end[1] == ' ') {
            line = n;
            rest = end + 2;
            break;
        }
        p++;
    }
    if (line > 0 && o->health_line > 0)
        rc = err_set(ERR_INVALID, "%s:%ld: %s: script line %ld: %s", settings->source,
                     o->health_line + line - 1, o->health_key, line, rest);
    else
        rc = err_set(ERR_INVALID, "%s: %s: %s", settings->source, o->health_key, rest);
    free(msg);
    return rc;
}

int health_checks_new(health_checks **out, const struct settings *settings,
                      const struct luabox_limits *lim)
{
    static const struct luabox_limits defaults = LUABOX_LIMITS_INIT;
    health_checks *hc = xcalloc(1, sizeof(*hc));
    int rc = 0;

    *out = NULL;
    hc->lim = lim ? *lim : defaults;
    for (size_t i = 0; settings && i < settings->n_overrides; i++) {
        const struct settings_override *o = &settings->overrides[i];
        struct health_custom *c;
        if (!o->health_lua)
            continue;
        hc->custom = xrealloc(hc->custom, (hc->n + 1) * sizeof(*hc->custom));
        c = &hc->custom[hc->n++];
        c->key = xstrdup(o->key);
        c->wildcard = strpbrk(o->key, "*?[{\\") != NULL;
        c->script = xstrdup(o->health_lua);
        c->chunk = xasprintf("=%s health.lua", o->key);
        if (c->wildcard && (rc = glob_check(o->key)) < 0) {
            rc = err_prefix(rc, "%s: %s", settings->source, o->health_key);
            break;
        }
        if ((rc = luabox_check(c->script, strlen(c->script), c->chunk)) < 0) {
            rc = health_script_error(settings, o);
            break;
        }
    }
    if (rc < 0) {
        health_checks_free(hc);
        return rc;
    }
    *out = hc;
    return 0;
}

void health_checks_free(health_checks *hc)
{
    if (!hc)
        return;
    for (size_t i = 0; i < hc->n; i++) {
        free(hc->custom[i].key);
        free(hc->custom[i].script);
        free(hc->custom[i].chunk);
    }
    free(hc->custom);
    free(hc);
}

static const struct health_custom *health_find_custom(const health_checks *hc, const char *key)
{
    for (size_t i = 0; hc && i < hc->n; i++)
        if (!strcmp(hc->custom[i].key, key))
            return &hc->custom[i];
    for (size_t i = 0; hc && i < hc->n; i++)
        if (hc->custom[i].wildcard && glob_match(hc->custom[i].key, key, 0))
            return &hc->custom[i];
    return NULL;
}

/* What a Lua check returned, read as Argo CD reads hs. */
static void health_from_lua(struct health_result *out, const json_t *hs)
{
    static const char *const lua_types[] = {"table",  "table",   "string",  "number",
                                            "number", "boolean", "boolean", "nil"};
    const json_t *status, *message, *aggregate;
    enum health_status s, agg;

    if (!json_is_object(hs) && !json_is_array(hs)) {
        hc_set(out, HEALTH_UNKNOWN, "expect table output from Lua script, not %s",
               lua_types[json_typeof(hs)]);
        return;
    }
    status = json_object_get(hs, "status");
    message = json_object_get(hs, "message");
    aggregate = json_object_get(hs, "aggregateAs");
    if (!json_is_string(status) || health_status_parse(json_string_value(status), &s) < 0 ||
        s == HEALTH_NONE) {
        hc_set(out, HEALTH_UNKNOWN, "Lua returned an invalid health status");
        return;
    }
    if (message && !json_is_null(message) && !json_is_string(message)) {
        hc_set(out, HEALTH_UNKNOWN, "Lua returned a message that is not a string");
        return;
    }
    hc_set(out, s, "%s", json_is_string(message) ? json_string_value(message) : "");
    if (json_is_string(aggregate) && health_status_parse(json_string_value(aggregate), &agg) == 0 &&
        agg != HEALTH_NONE)
        out->aggregate_as = agg;
}

/* group, version from apiVersion ("apps/v1", "v1") into the buffers. */
static void health_split_api(const char *api, char *group, size_t gn, const char **version)
{
    const char *slash = strchr(api, '/');
    if (!slash) {
        group[0] = '\0';
        *version = api;
        return;
    }
    snprintf(group, gn, "%.*s", (int)(slash - api), api);
    *version = slash + 1;
}

static int health_pending_deletion(const json_t *obj)
{
    size_t i;
    const json_t *f;
    if (!hc_get(obj, "metadata.deletionTimestamp"))
        return 0;
    json_array_foreach(doc_get(obj, "metadata.finalizers"), i, f)
    {
        if (json_is_string(f) && !strcmp(json_string_value(f), HEALTH_HOOK_FINALIZER))
            return 0;
    }
    return 1;
}

void health_assess(struct health_result *out, const health_checks *checks, const json_t *obj)
{
    const char *api = doc_get_str(obj, "apiVersion"), *kind = doc_get_str(obj, "kind");
    const char *version;
    char group[256], *key;
    const struct health_custom *custom;

    memset(out, 0, sizeof(*out));
    out->message = xstrdup("");
    if (!api || !kind) {
        hc_set(out, HEALTH_UNKNOWN, "object has no apiVersion or kind");
        return;
    }
    health_split_api(api, group, sizeof(group), &version);
    if (health_pending_deletion(obj)) {
        hc_set(out, HEALTH_PROGRESSING, "Pending deletion");
        return;
    }
    key = group[0] ? xasprintf("%s/%s", group, kind) : xstrdup(kind);
    custom = health_find_custom(checks, key);
    free(key);
    if (custom) {
        json_t *hs = NULL;
        if (luabox_run(&hs, custom->script, strlen(custom->script), custom->chunk, obj,
                       &checks->lim) < 0)
            hc_set(out, HEALTH_UNKNOWN, "%s", err_last());
        else
            health_from_lua(out, hs);
        json_decref(hs);
        return;
    }
    for (size_t i = 0; i < HEALTH_NBUILTINS; i++) {
        const struct health_builtin *b = &health_builtins[i];
        struct hc_ctx c = {obj, b->kind, BUF_INIT};
        size_t v;
        if (strcmp(b->group, group) || strcmp(b->kind, kind))
            continue;
        for (v = 0; b->versions && b->versions[v]; v++)
            if (!strcmp(b->versions[v], version))
                break;
        if (b->versions && !b->versions[v]) {
            hc_set(out, HEALTH_UNKNOWN, "unsupported %s GVK: %s/%s, Kind=%s", kind, group, version,
                   kind);
            return;
        }
        b->check(&c, out);
        if (c.bad.len)
            hc_set(out, HEALTH_UNKNOWN, "failed to convert unstructured %s to typed: %s", kind,
                   buf_cstr(&c.bad));
        buf_dispose(&c.bad);
        return;
    }
    out->status = out->aggregate_as = HEALTH_NONE;
}

/* ---- the Application's health ---- */

static const char *health_annotation(const json_t *obj, const char *name)
{
    const json_t *a = json_object_get(doc_get(obj, "metadata.annotations"), name);
    return json_is_string(a) ? json_string_value(a) : NULL;
}

/* argocd.argoproj.io/hook lists Skip */
static int health_hook_skip(const json_t *obj)
{
    const char *v = obj ? health_annotation(obj, HEALTH_HOOK_ANNOTATION) : NULL;
    while (v && *v) {
        size_t n;
        while (*v == ' ' || *v == ',')
            v++;
        for (n = 0; v[n] && v[n] != ','; n++)
            ;
        while (n && v[n - 1] == ' ')
            n--;
        if (n == 4 && !strncmp(v, "Skip", 4))
            return 1;
        v += n;
        while (*v && *v != ',')
            v++;
    }
    return 0;
}

static int health_is_hook(const json_t *obj)
{
    if (health_annotation(obj, HEALTH_HOOK_ANNOTATION))
        return !health_hook_skip(obj);
    return health_annotation(obj, HEALTH_HELM_HOOK_ANNOTATION) != NULL;
}

enum health_status health_app(const struct health_resource *res, size_t n)
{
    enum health_status app = HEALTH_HEALTHY;
    int resources = 0, live = 0;

    for (size_t i = 0; i < n; i++) {
        const struct health_resource *r = &res[i];
        const char *ignore, *api, *kind;
        enum health_status s;

        if (r->target && health_hook_skip(r->target))
            continue;
        if (r->live && health_is_hook(r->live))
            continue;
        resources = 1;
        if (!r->live)
            continue; /* Missing: OutOfSync already says so */
        live = 1;
        ignore = health_annotation(r->live, HEALTH_IGNORE_ANNOTATION);
        if ((ignore && !strcmp(ignore, "true")) || !r->health || r->health->status == HEALTH_NONE)
            continue;
        s = r->health->aggregate_as != HEALTH_NONE ? r->health->aggregate_as : r->health->status;
        api = doc_get_str(r->live, "apiVersion");
        kind = doc_get_str(r->live, "kind");
        if (api && kind && hc_prefix(api, "argoproj.io/") && !strcmp(kind, "Application") &&
            (r->health->status == HEALTH_MISSING || r->health->status == HEALTH_UNKNOWN))
            continue;
        if (health_is_worse(app, s))
            app = s;
    }
    if (resources && !live && health_is_worse(app, HEALTH_MISSING))
        app = HEALTH_MISSING;
    return app;
}
