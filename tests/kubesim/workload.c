/*
 * Each tick runs the controllers one after another under the API lock, in
 * the order a change flows through a cluster: garbage collection, then the
 * owners making their children (Deployments their ReplicaSets, ReplicaSets,
 * StatefulSets, DaemonSets and Jobs their Pods), then the kubelet moving
 * Pods along, then the owners' status from their children, then volumes and
 * load balancers. Each step lists afresh, so a child made early in a tick
 * counts later in the same tick.
 *
 * Timing lives in memory, per object uid (wl_seen): when it was first
 * seen, when its containers started, when a Deployment last made
 * progress. Timestamps written into objects are set only at transitions,
 * so recomputing an unchanged object yields an identical one and
 * wl_put can skip the write.
 *
 * Pod life (the kubelet part):
 *   (new) --wl_pod_tick--> Pending --delay--> Running
 *   Running --delay, restartPolicy Never/OnFailure--> Succeeded | Failed
 *   Running with a crashing container: restartCount rises, never ready
 */
#include "workload.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "handlers.h"
#include "objects.h"
#include "resources.h"

#define WL_HOST_IP "172.18.0.2"
#define WL_MAX_DELAY_MS 3600000L
/* How often a crashing container is restarted, at least. */
#define WL_MIN_RESTART_MS 500

static struct workload_options wl_opts;
static pthread_t wl_thread;
static int wl_started;
static pthread_mutex_t wl_stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wl_stop_cond;
static int wl_stop_flag;

/* Per-uid memory: {"k": tick, "t0": ms, "run": ms, "pk": str, "pt": ms, "ip": n}. */
static json_t *wl_seen;
static json_int_t wl_tick_no;
static int64_t wl_now;
static char wl_now_str[21];
static unsigned wl_next_pod_ip = 2, wl_next_lb_ip = 1;

struct wl_kinds {
    const struct resource *pod, *rs, *deploy, *sts, *ds, *job, *pvc, *pv, *svc, *node;
};
static struct wl_kinds K;

/* ---- small JSON helpers ------------------------------------------------ */

static json_t *wl_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static const char *wl_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t wl_int(const json_t *o, const char *key, json_int_t def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

static const json_t *wl_meta(const json_t *obj)
{
    return json_object_get(obj, "metadata");
}

static const char *wl_name(const json_t *obj)
{
    return wl_str(wl_meta(obj), "name");
}

static const char *wl_ns(const json_t *obj)
{
    return wl_str(wl_meta(obj), "namespace");
}

static const char *wl_uid(const json_t *obj)
{
    return wl_str(wl_meta(obj), "uid");
}

static const json_t *wl_rec_obj(const json_t *rec)
{
    return json_object_get(rec, "object");
}

/* Set key to an integer, or remove it when zero (omitempty fields). */
static void wl_set_count(json_t *o, const char *key, json_int_t v)
{
    if (v)
        json_object_set_new(o, key, json_integer(v));
    else
        json_object_del(o, key);
}

/* ---- the store --------------------------------------------------------- */

/* Store obj (stolen) as the new state of the object whose record is
 * old_rec (NULL: new), unless nothing changed. Managers stay. */
static void wl_put(const struct resource *r, const json_t *old_rec, json_t *obj)
{
    const json_t *old = wl_rec_obj(old_rec);
    json_t *meta, *managers;
    char rv[32];
    if (old && json_equal(old, obj)) {
        json_decref(obj);
        return;
    }
    meta = wl_obj(obj, "metadata");
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_next_rv());
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    /* The managedFields array server-side apply keeps (objects.h). */
    managers = old_rec ? json_deep_copy(json_object_get(old_rec, "managers")) : NULL;
    if (!json_is_array(managers)) {
        json_decref(managers);
        managers = json_array();
    }
    objects_put(r, wl_ns(obj), wl_name(obj),
                json_pack("{s:o, s:o}", "object", obj, "managers", managers));
}

static void wl_uuid(char out[37])
{
    unsigned char b[16];
    char hex[33];
    util_random(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    util_hex(hex, b, sizeof(b));
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Create obj (stolen; metadata name and namespace set) as a controller
 * would. */
static void wl_create(const struct resource *r, json_t *obj)
{
    json_t *meta = wl_obj(obj, "metadata");
    char uid[37];
    wl_uuid(uid);
    json_object_set_new(obj, "apiVersion",
                        r->group[0] ? json_sprintf("%s/%s", r->group, r->version)
                                    : json_string(r->version));
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(wl_now_str));
    json_object_set_new(meta, "generation", json_integer(1));
    if (!r->namespaced)
        json_object_del(meta, "namespace");
    wl_put(r, NULL, obj);
}

static void wl_delete(const struct resource *r, const json_t *obj)
{
    objects_remove(r, wl_ns(obj), wl_name(obj));
}

/* A copy of the record's object with a spec change: generation moves, as
 * the API server does for spec writes from controllers. */
static json_t *wl_spec_bump(const json_t *obj)
{
    json_t *o = json_deep_copy(obj);
    json_t *meta = wl_obj(o, "metadata");
    json_object_set_new(meta, "generation", json_integer(wl_int(meta, "generation", 0) + 1));
    return o;
}

/* ---- memory per uid ---------------------------------------------------- */

static json_t *wl_state(const char *uid)
{
    json_t *s = json_object_get(wl_seen, uid ? uid : "");
    if (!s) {
        s = json_pack("{s:I}", "t0", (json_int_t)wl_now);
        json_object_set_new(wl_seen, uid ? uid : "", s);
    }
    json_object_set_new(s, "k", json_integer(wl_tick_no));
    return s;
}

static void wl_prune(void)
{
    const char *k;
    json_t *s;
    void *tmp;
    json_object_foreach_safe(wl_seen, tmp, k, s)
    {
        if (wl_int(s, "k", -1) != wl_tick_no)
            json_object_del(wl_seen, k);
    }
}

/* ---- names, hashes, owners --------------------------------------------- */

static const char wl_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

/* The pod-template-hash of a template: FNV-1a over its canonical JSON,
 * written in the API server's safe alphabet like the real one. */
static void wl_hash(const json_t *tmpl, char out[16])
{
    char *text = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
    uint32_t h = 2166136261u;
    char dec[16];
    size_t i;
    for (const char *p = text ? text : ""; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    free(text);
    snprintf(dec, sizeof(dec), "%u", h);
    for (i = 0; dec[i]; i++)
        out[i] = wl_alphabet[(unsigned char)dec[i] % (sizeof(wl_alphabet) - 1)];
    out[i] = '\0';
}

static void wl_suffix(char out[6])
{
    unsigned char rnd[5];
    util_random(rnd, sizeof(rnd));
    for (int i = 0; i < 5; i++)
        out[i] = wl_alphabet[rnd[i] % (sizeof(wl_alphabet) - 1)];
    out[5] = '\0';
}

static json_t *wl_owner_ref(const struct resource *r, const json_t *owner)
{
    json_t *ref = json_pack("{s:s, s:s, s:s, s:b, s:b}", "kind", r->kind, "name", wl_name(owner),
                            "uid", wl_uid(owner), "controller", 1, "blockOwnerDeletion", 1);
    json_object_set_new(ref, "apiVersion",
                        r->group[0] ? json_sprintf("%s/%s", r->group, r->version)
                                    : json_string(r->version));
    return json_pack("[o]", ref);
}

/* The uid of obj's controller, or NULL. */
static const char *wl_controller_uid(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(wl_meta(obj), "ownerReferences"), i, ref)
    {
        if (json_is_true(json_object_get(ref, "controller")))
            return wl_str(ref, "uid");
    }
    return NULL;
}

/* Records of kind r grouped by controller uid: a new object
 * uid -> [record, ...]. */
static json_t *wl_index(const struct resource *r)
{
    json_t *idx = json_object();
    json_t *recs;
    size_t i;
    json_t *rec;
    if (!r)
        return idx;
    recs = objects_list(r, NULL);
    json_array_foreach(recs, i, rec)
    {
        const char *uid = wl_controller_uid(wl_rec_obj(rec));
        json_t *arr;
        if (!uid)
            continue;
        arr = json_object_get(idx, uid);
        if (!arr) {
            arr = json_array();
            json_object_set_new(idx, uid, arr);
        }
        json_array_append(arr, rec);
    }
    json_decref(recs);
    return idx;
}

/* The ready delay for obj: its annotation, else the default. */
static long wl_delay(const json_t *obj)
{
    const char *v = wl_str(json_object_get(wl_meta(obj), "annotations"), WORKLOAD_ANNOTATION_DELAY);
    long d;
    if (v && str_to_long(v, 0, WL_MAX_DELAY_MS, WORKLOAD_ANNOTATION_DELAY, &d) == 0)
        return d;
    return wl_opts.ready_delay_ms;
}

/* ---- conditions -------------------------------------------------------- */

/*
 * Set one condition the way controllers do: nothing changes when status,
 * reason and message are the same; lastTransitionTime moves only when the
 * status does. in_place keeps the condition's position (pods); otherwise a
 * changed condition moves to the end (Deployments, Jobs).
 */
static void wl_cond_set(json_t *conds, const char *type, const char *status, const char *reason,
                        const char *message, int with_update_time, int in_place, int probe)
{
    json_t *old = NULL, *c;
    size_t i, at = 0;
    json_array_foreach(conds, i, c)
    {
        if (strcmp(wl_str(c, "type") ? wl_str(c, "type") : "", type) == 0) {
            old = c;
            at = i;
            break;
        }
    }
    if (old && strcmp(wl_str(old, "status") ? wl_str(old, "status") : "", status) == 0) {
        const char * or = wl_str(old, "reason"), *om = wl_str(old, "message");
        if (strcmp(or ? or : "", reason ? reason : "") == 0 &&
            strcmp(om ? om : "", message ? message : "") == 0)
            return;
    }
    c = json_pack("{s:s, s:s}", "type", type, "status", status);
    if (probe)
        json_object_set_new(c, "lastProbeTime", json_null());
    if (with_update_time)
        json_object_set_new(c, "lastUpdateTime", json_string(wl_now_str));
    if (old && wl_str(old, "status") && strcmp(wl_str(old, "status"), status) == 0 &&
        json_object_get(old, "lastTransitionTime"))
        json_object_set(c, "lastTransitionTime", json_object_get(old, "lastTransitionTime"));
    else
        json_object_set_new(c, "lastTransitionTime", json_string(wl_now_str));
    if (reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (message)
        json_object_set_new(c, "message", json_string(message));
    if (old && in_place) {
        json_array_set_new(conds, at, c);
        return;
    }
    if (old)
        json_array_remove(conds, at);
    json_array_append_new(conds, c);
}

static const char *wl_cond_reason(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        if (wl_str(c, "type") && strcmp(wl_str(c, "type"), type) == 0)
            return wl_str(c, "reason");
    }
    return NULL;
}

static int wl_cond_true(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        if (wl_str(c, "type") && strcmp(wl_str(c, "type"), type) == 0)
            return wl_str(c, "status") && strcmp(wl_str(c, "status"), "True") == 0;
    }
    return 0;
}

/* ---- garbage collection ------------------------------------------------ */

static void wl_collect_uids(json_t *uids, const struct resource *r)
{
    json_t *recs;
    size_t i;
    json_t *rec;
    if (!r)
        return;
    recs = objects_list(r, NULL);
    json_array_foreach(recs, i, rec)
    {
        const char *uid = wl_uid(wl_rec_obj(rec));
        if (uid)
            json_object_set_new(uids, uid, json_true());
    }
    json_decref(recs);
}

/* Delete objects of r whose owners (of the workload kinds) are all gone. */
static void wl_gc_kind(const struct resource *r, const json_t *uids)
{
    static const char *const owner_kinds[] = {"Deployment", "ReplicaSet", "StatefulSet",
                                              "DaemonSet",  "Job",        "CronJob"};
    json_t *recs;
    size_t i, j;
    json_t *rec, *ref;
    if (!r)
        return;
    recs = objects_list(r, NULL);
    json_array_foreach(recs, i, rec)
    {
        const json_t *obj = wl_rec_obj(rec);
        const json_t *refs = json_object_get(wl_meta(obj), "ownerReferences");
        int known = 0, alive = 0;
        json_array_foreach(refs, j, ref)
        {
            const char *kind = wl_str(ref, "kind");
            for (size_t k = 0; kind && k < sizeof(owner_kinds) / sizeof(owner_kinds[0]); k++)
                if (strcmp(kind, owner_kinds[k]) == 0)
                    known = 1;
            if (wl_str(ref, "uid") && json_object_get(uids, wl_str(ref, "uid")))
                alive = 1;
        }
        if (known && !alive)
            wl_delete(r, obj);
    }
    json_decref(recs);
}

static void wl_gc(void)
{
    json_t *uids = json_object();
    wl_collect_uids(uids, K.deploy);
    wl_collect_uids(uids, K.sts);
    wl_collect_uids(uids, K.ds);
    wl_collect_uids(uids, K.job);
    if (resources_find("batch", "v1", "cronjobs"))
        wl_collect_uids(uids, resources_find("batch", "v1", "cronjobs"));
    wl_gc_kind(K.rs, uids);
    /* ReplicaSets still here own their pods; those just removed take their
     * pods with them in the same pass. */
    wl_collect_uids(uids, K.rs);
    wl_gc_kind(K.pod, uids);
    json_decref(uids);
}

/* ---- making pods -------------------------------------------------------- */

/* The API server's default: Always for :latest or no tag. */
static const char *wl_pull_policy(const char *image)
{
    const char *slash = image ? strrchr(image, '/') : NULL;
    const char *colon = image ? strchr(slash ? slash : image, ':') : NULL;
    if (!colon || strncmp(colon, ":latest", 7) == 0)
        return "Always";
    return "IfNotPresent";
}

/* A new Pod from a workload's template, owned by owner (of kind r). extra
 * labels (borrowed, may be NULL) are added; name NULL means
 * <prefix>-<5 random>. */
static json_t *wl_pod_from(const struct resource *r, const json_t *owner, const char *prefix,
                           const char *name, const json_t *extra_labels)
{
    const json_t *tmpl = json_object_get(json_object_get(owner, "spec"), "template");
    const json_t *tmeta = json_object_get(tmpl, "metadata");
    json_t *pod = json_object(), *meta = wl_obj(pod, "metadata"), *spec, *labels, *ann;
    const char *delay =
        wl_str(json_object_get(wl_meta(owner), "annotations"), WORKLOAD_ANNOTATION_DELAY);
    size_t i;
    json_t *c;
    char suffix[6];

    if (name) {
        json_object_set_new(meta, "name", json_string(name));
    } else {
        wl_suffix(suffix);
        json_object_set_new(meta, "generateName", json_sprintf("%s-", prefix));
        json_object_set_new(meta, "name", json_sprintf("%s-%s", prefix, suffix));
    }
    json_object_set_new(meta, "namespace", json_string(wl_ns(owner)));
    labels = json_is_object(json_object_get(tmeta, "labels"))
                 ? json_deep_copy(json_object_get(tmeta, "labels"))
                 : json_object();
    if (extra_labels)
        json_object_update(labels, (json_t *)extra_labels);
    json_object_set_new(meta, "labels", labels);
    ann = json_is_object(json_object_get(tmeta, "annotations"))
              ? json_deep_copy(json_object_get(tmeta, "annotations"))
              : json_object();
    if (delay && !json_object_get(ann, WORKLOAD_ANNOTATION_DELAY))
        json_object_set_new(ann, WORKLOAD_ANNOTATION_DELAY, json_string(delay));
    if (json_object_size(ann))
        json_object_set_new(meta, "annotations", ann);
    else
        json_decref(ann);
    json_object_set_new(meta, "ownerReferences", wl_owner_ref(r, owner));

    spec = json_is_object(json_object_get(tmpl, "spec"))
               ? json_deep_copy(json_object_get(tmpl, "spec"))
               : json_object();
    json_object_set_new(pod, "spec", spec);
    /* What the API server's defaulting and the scheduler's binding add. */
    if (!json_object_get(spec, "restartPolicy"))
        json_object_set_new(spec, "restartPolicy", json_string("Always"));
    if (!json_object_get(spec, "dnsPolicy"))
        json_object_set_new(spec, "dnsPolicy", json_string("ClusterFirst"));
    if (!json_object_get(spec, "schedulerName"))
        json_object_set_new(spec, "schedulerName", json_string("default-scheduler"));
    if (!json_object_get(spec, "serviceAccountName"))
        json_object_set_new(spec, "serviceAccountName", json_string("default"));
    if (!json_object_get(spec, "terminationGracePeriodSeconds"))
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
    if (!json_object_get(spec, "securityContext"))
        json_object_set_new(spec, "securityContext", json_object());
    json_object_set_new(spec, "nodeName", json_string(WORKLOAD_NODE));
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        if (!json_object_get(c, "imagePullPolicy"))
            json_object_set_new(c, "imagePullPolicy",
                                json_string(wl_pull_policy(wl_str(c, "image"))));
        if (!json_object_get(c, "terminationMessagePath"))
            json_object_set_new(c, "terminationMessagePath", json_string("/dev/termination-log"));
        if (!json_object_get(c, "terminationMessagePolicy"))
            json_object_set_new(c, "terminationMessagePolicy", json_string("File"));
        if (!json_object_get(c, "resources"))
            json_object_set_new(c, "resources", json_object());
    }
    return pod;
}

/* ---- the kubelet --------------------------------------------------------- */

enum wl_mode { WL_OK, WL_CRASH, WL_FAIL };

/* What an image's tag asks for. */
static enum wl_mode wl_image_mode(const char *image)
{
    const char *slash, *colon;
    char tag[64];
    size_t n;
    if (!image)
        return WL_OK;
    slash = strrchr(image, '/');
    colon = strchr(slash ? slash : image, ':');
    if (!colon)
        return WL_OK;
    n = strcspn(colon + 1, "@");
    if (n >= sizeof(tag))
        return WL_OK;
    memcpy(tag, colon + 1, n);
    tag[n] = '\0';
    if (strcmp(tag, "crashloop") == 0)
        return WL_CRASH;
    if (strcmp(tag, "fail") == 0)
        return WL_FAIL;
    return WL_OK;
}

static json_t *wl_container_id(void)
{
    unsigned char b[32];
    char hex[65];
    util_random(b, sizeof(b));
    util_hex(hex, b, sizeof(b));
    return json_sprintf("containerd://%s", hex);
}

static json_t *wl_image_id(const char *image)
{
    char sha[65];
    const char *slash = strrchr(image ? image : "", '/');
    size_t n;
    image = image ? image : "";
    util_sha256_hex(image, strlen(image), sha);
    n = strcspn(image, ":@");
    if (slash && strchr(slash, ':'))
        n = (size_t)(strchr(slash, ':') - image);
    return json_sprintf("%s%.*s@sha256:%s", slash || strchr(image, '.') ? "" : "docker.io/library/",
                        (int)n, image, sha);
}

static void wl_pod_conditions(json_t *st, int started, int ready, const char *not_ready_reason,
                              const char *not_ready_msg)
{
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    wl_cond_set(conds, "PodReadyToStartContainers", started ? "True" : "False", NULL, NULL, 0, 1,
                1);
    wl_cond_set(conds, "Initialized", "True", NULL, NULL, 0, 1, 1);
    wl_cond_set(conds, "Ready", ready ? "True" : "False", ready ? NULL : not_ready_reason,
                ready ? NULL : not_ready_msg, 0, 1, 1);
    wl_cond_set(conds, "ContainersReady", ready ? "True" : "False", ready ? NULL : not_ready_reason,
                ready ? NULL : not_ready_msg, 0, 1, 1);
    wl_cond_set(conds, "PodScheduled", "True", NULL, NULL, 0, 1, 1);
}

/* "containers with unready status: [a b]" over the containers whose
 * status is not ready. */
static char *wl_unready_msg(const json_t *statuses)
{
    struct buf b = BUF_INIT;
    size_t i;
    json_t *cs;
    int first = 1;
    char *out;
    buf_puts(&b, "containers with unready status: [");
    json_array_foreach(statuses, i, cs)
    {
        if (!json_is_true(json_object_get(cs, "ready"))) {
            buf_printf(&b, "%s%s", first ? "" : " ", wl_str(cs, "name") ? wl_str(cs, "name") : "");
            first = 0;
        }
    }
    buf_putc(&b, ']');
    out = xstrdup(buf_cstr(&b));
    buf_dispose(&b);
    return out;
}

static long wl_restart_interval(long delay)
{
    return 2 * delay > WL_MIN_RESTART_MS ? 2 * delay : WL_MIN_RESTART_MS;
}

static void wl_pod_tick(const json_t *rec)
{
    const json_t *live = wl_rec_obj(rec);
    json_t *pod, *spec, *st, *statuses, *c, *s;
    const char *phase = wl_str(json_object_get(live, "status"), "phase");
    const char *policy;
    int always;
    long delay = wl_delay(live);
    size_t i;

    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
        return;
    s = wl_state(wl_uid(live));
    pod = json_deep_copy(live);
    spec = wl_obj(pod, "spec");
    st = wl_obj(pod, "status");
    policy = wl_str(spec, "restartPolicy") ? wl_str(spec, "restartPolicy") : "Always";
    always = strcmp(policy, "Always") == 0;
    if (!wl_str(spec, "nodeName"))
        json_object_set_new(spec, "nodeName", json_string(WORKLOAD_NODE));

    if (!phase) {
        statuses = json_array();
        json_array_foreach(json_object_get(spec, "containers"), i, c)
        {
            json_array_append_new(statuses,
                                  json_pack("{s:s, s:s, s:s, s:b, s:i, s:b, s:{s:{s:s}}}", "name",
                                            wl_str(c, "name") ? wl_str(c, "name") : "", "image",
                                            wl_str(c, "image") ? wl_str(c, "image") : "", "imageID",
                                            "", "ready", 0, "restartCount", 0, "started", 0,
                                            "state", "waiting", "reason", "ContainerCreating"));
        }
        json_object_set_new(st, "phase", json_string("Pending"));
        json_object_set_new(st, "hostIP", json_string(WL_HOST_IP));
        json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", WL_HOST_IP));
        json_object_set_new(st, "startTime", json_string(wl_now_str));
        json_object_set_new(st, "qosClass", json_string("BestEffort"));
        json_object_set_new(st, "containerStatuses", statuses);
        {
            char *msg = wl_unready_msg(statuses);
            wl_pod_conditions(st, 0, 0, "ContainersNotReady", msg);
            free(msg);
        }
    } else if (strcmp(phase, "Pending") == 0) {
        if (wl_now - wl_int(s, "t0", wl_now) >= delay) {
            int all_ready = 1;
            char ip[32];
            json_object_set_new(s, "run", json_integer(wl_now));
            snprintf(ip, sizeof(ip), "10.42.%u.%u", (wl_next_pod_ip / 254) % 256,
                     wl_next_pod_ip % 254 + 1);
            wl_next_pod_ip++;
            statuses = json_array();
            json_array_foreach(json_object_get(spec, "containers"), i, c)
            {
                const char *image = wl_str(c, "image");
                enum wl_mode m = wl_image_mode(image);
                json_t *cs = json_pack("{s:s, s:s, s:o, s:o}", "name",
                                       wl_str(c, "name") ? wl_str(c, "name") : "", "image",
                                       image ? image : "", "imageID", wl_image_id(image),
                                       "containerID", wl_container_id());
                if (m == WL_CRASH || (m == WL_FAIL && always)) {
                    char *msg =
                        xasprintf("back-off 10s restarting failed container=%s pod=%s_%s(%s)",
                                  wl_str(c, "name") ? wl_str(c, "name") : "", wl_name(live),
                                  wl_ns(live), wl_uid(live));
                    json_object_set_new(cs, "ready", json_false());
                    json_object_set_new(cs, "restartCount", json_integer(1));
                    json_object_set_new(cs, "started", json_false());
                    json_object_set_new(cs, "state",
                                        json_pack("{s:{s:s, s:s}}", "waiting", "reason",
                                                  "CrashLoopBackOff", "message", msg));
                    json_object_set_new(
                        cs, "lastState",
                        json_pack("{s:{s:i, s:s, s:s, s:s, s:O}}", "terminated", "exitCode", 1,
                                  "reason", "Error", "startedAt", wl_now_str, "finishedAt",
                                  wl_now_str, "containerID", json_object_get(cs, "containerID")));
                    free(msg);
                    all_ready = 0;
                } else {
                    json_object_set_new(cs, "ready", json_true());
                    json_object_set_new(cs, "restartCount", json_integer(0));
                    json_object_set_new(cs, "started", json_true());
                    json_object_set_new(cs, "state",
                                        json_pack("{s:{s:s}}", "running", "startedAt", wl_now_str));
                    json_object_set_new(cs, "lastState", json_object());
                }
                json_array_append_new(statuses, cs);
            }
            json_object_set_new(st, "phase", json_string("Running"));
            json_object_set_new(st, "podIP", json_string(ip));
            json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
            json_object_set_new(st, "containerStatuses", statuses);
            {
                char *msg = wl_unready_msg(statuses);
                wl_pod_conditions(st, 1, all_ready, "ContainersNotReady", msg);
                free(msg);
            }
        }
    } else if (strcmp(phase, "Running") == 0) {
        int64_t run = wl_int(s, "run", wl_now);
        if (!json_object_get(s, "run"))
            json_object_set_new(s, "run", json_integer(run));
        if (!always && wl_now - run >= delay) {
            int failed = 0;
            json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
            {
                enum wl_mode m = wl_image_mode(wl_str(c, "image"));
                json_t *started = json_object_get(
                    json_object_get(json_object_get(c, "state"), "running"), "startedAt");
                json_t *term =
                    json_pack("{s:i, s:s, s:O, s:s, s:O}", "exitCode", m == WL_OK ? 0 : 1, "reason",
                              m == WL_OK ? "Completed" : "Error", "startedAt",
                              started ? started : json_string(wl_now_str), "finishedAt", wl_now_str,
                              "containerID", json_object_get(c, "containerID"));
                if (!started)
                    json_decref(json_object_get(term, "startedAt"));
                if (m != WL_OK)
                    failed = 1;
                json_object_set_new(c, "state", json_pack("{s:o}", "terminated", term));
                json_object_set_new(c, "ready", json_false());
                json_object_set_new(c, "started", json_false());
            }
            json_object_set_new(st, "phase", json_string(failed ? "Failed" : "Succeeded"));
            wl_pod_conditions(st, 0, 0, "PodCompleted", NULL);
        } else {
            long every = wl_restart_interval(delay);
            json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
            {
                const char *why =
                    wl_str(json_object_get(json_object_get(c, "state"), "waiting"), "reason");
                json_int_t want = 1 + (json_int_t)((wl_now - run) / every);
                if (!why || strcmp(why, "CrashLoopBackOff") != 0 ||
                    wl_int(c, "restartCount", 0) == want)
                    continue;
                json_object_set_new(c, "restartCount", json_integer(want));
                json_object_set_new(json_object_get(json_object_get(c, "lastState"), "terminated"),
                                    "finishedAt", json_string(wl_now_str));
            }
        }
    }
    wl_put(K.pod, rec, pod);
}

/* Ready (condition Ready True) and not terminal. */
static int wl_pod_ready(const json_t *pod)
{
    const json_t *st = json_object_get(pod, "status");
    return wl_str(st, "phase") && strcmp(wl_str(st, "phase"), "Running") == 0 &&
           wl_cond_true(json_object_get(st, "conditions"), "Ready");
}

static int wl_pod_phase_is(const json_t *pod, const char *phase)
{
    const char *p = wl_str(json_object_get(pod, "status"), "phase");
    return p && strcmp(p, phase) == 0;
}

/* ---- ReplicaSets --------------------------------------------------------- */

static void wl_rs_pods(const json_t *rec, const json_t *pods_idx)
{
    const json_t *rs = wl_rec_obj(rec);
    json_int_t want = wl_int(json_object_get(rs, "spec"), "replicas", 1);
    const json_t *pods = json_object_get(pods_idx, wl_uid(rs));
    json_int_t have = (json_int_t)json_array_size(pods);
    const char *hash = wl_str(json_object_get(wl_meta(rs), "labels"), "pod-template-hash");
    json_t *extra = hash ? json_pack("{s:s}", "pod-template-hash", hash) : NULL;
    wl_state(wl_uid(rs));
    for (; have < want; have++)
        wl_create(K.pod, wl_pod_from(K.rs, rs, wl_name(rs), NULL, extra));
    /* Scale down: unready pods go first, then the newest. */
    for (size_t pass = 0; pass < 2 && have > want; pass++) {
        for (size_t i = json_array_size(pods); i-- > 0 && have > want;) {
            const json_t *p = wl_rec_obj(json_array_get(pods, i));
            if (pass == 0 && wl_pod_ready(p))
                continue;
            if (!objects_get(K.pod, wl_ns(p), wl_name(p)))
                continue;
            wl_delete(K.pod, p);
            have--;
        }
    }
    json_decref(extra);
}

static void wl_rs_status(const json_t *rec, const json_t *pods_idx)
{
    const json_t *rs = wl_rec_obj(rec);
    const json_t *pods = json_object_get(pods_idx, wl_uid(rs));
    json_t *next = json_deep_copy(rs), *st = json_object();
    json_int_t ready = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (wl_pod_ready(wl_rec_obj(p)))
            ready++;
    }
    json_object_set_new(st, "replicas", json_integer((json_int_t)json_array_size(pods)));
    wl_set_count(st, "fullyLabeledReplicas", (json_int_t)json_array_size(pods));
    wl_set_count(st, "readyReplicas", ready);
    wl_set_count(st, "availableReplicas", ready);
    json_object_set_new(st, "observedGeneration",
                        json_integer(wl_int(wl_meta(rs), "generation", 1)));
    json_object_set_new(next, "status", st);
    wl_put(K.rs, rec, next);
}

/* ---- Deployments --------------------------------------------------------- */

/* "25%" of n rounded down (round_up: up), or a plain integer; def when absent. */
static json_int_t wl_int_or_percent(const json_t *v, json_int_t n, json_int_t def, int round_up)
{
    const char *s = json_string_value(v);
    long pct;
    if (json_is_integer(v))
        return json_integer_value(v);
    if (s && str_has_suffix(s, "%")) {
        char *num = xstrndup(s, strlen(s) - 1);
        int ok = str_to_long(num, 0, 100, "percent", &pct) == 0;
        free(num);
        if (ok)
            return round_up ? (n * pct + 99) / 100 : n * pct / 100;
    }
    return def;
}

static json_int_t wl_max_unavailable(const json_t *spec, json_int_t replicas)
{
    const json_t *strategy = json_object_get(spec, "strategy");
    const char *type = wl_str(strategy, "type");
    if (type && strcmp(type, "Recreate") == 0)
        return 0;
    return wl_int_or_percent(
        json_object_get(json_object_get(strategy, "rollingUpdate"), "maxUnavailable"), replicas,
        replicas * 25 / 100, 0);
}

static json_int_t wl_revision(const json_t *obj)
{
    const char *v =
        wl_str(json_object_get(wl_meta(obj), "annotations"), "deployment.kubernetes.io/revision");
    long r;
    return v && str_to_long(v, 0, 1L << 30, "revision", &r) == 0 ? r : 0;
}

static json_t *wl_new_rs(const json_t *d, const char *name, const char *hash, json_int_t replicas,
                         json_int_t revision)
{
    const json_t *spec = json_object_get(d, "spec");
    json_t *tmpl = json_is_object(json_object_get(spec, "template"))
                       ? json_deep_copy(json_object_get(spec, "template"))
                       : json_object();
    json_t *sel = json_is_object(json_object_get(spec, "selector"))
                      ? json_deep_copy(json_object_get(spec, "selector"))
                      : json_object();
    json_t *labels = json_deep_copy(wl_obj(wl_obj(tmpl, "metadata"), "labels"));
    json_t *ann = json_object();
    const char *delay =
        wl_str(json_object_get(wl_meta(d), "annotations"), WORKLOAD_ANNOTATION_DELAY);
    json_int_t surge = wl_int_or_percent(
        json_object_get(json_object_get(json_object_get(spec, "strategy"), "rollingUpdate"),
                        "maxSurge"),
        replicas, (replicas * 25 + 99) / 100, 1);
    json_object_set_new(wl_obj(wl_obj(tmpl, "metadata"), "labels"), "pod-template-hash",
                        json_string(hash));
    json_object_set_new(wl_obj(sel, "matchLabels"), "pod-template-hash", json_string(hash));
    json_object_set_new(labels, "pod-template-hash", json_string(hash));
    json_object_set_new(ann, "deployment.kubernetes.io/desired-replicas",
                        json_sprintf("%lld", (long long)replicas));
    json_object_set_new(ann, "deployment.kubernetes.io/max-replicas",
                        json_sprintf("%lld", (long long)(replicas + surge)));
    json_object_set_new(ann, "deployment.kubernetes.io/revision",
                        json_sprintf("%lld", (long long)revision));
    if (delay)
        json_object_set_new(ann, WORKLOAD_ANNOTATION_DELAY, json_string(delay));
    return json_pack("{s:{s:s, s:s, s:o, s:o, s:o}, s:{s:I, s:o, s:o}}", "metadata", "name", name,
                     "namespace", wl_ns(d), "labels", labels, "annotations", ann, "ownerReferences",
                     wl_owner_ref(K.deploy, d), "spec", "replicas", replicas, "selector", sel,
                     "template", tmpl);
}

static void wl_deploy_rs(const json_t *rec, const json_t *rs_idx)
{
    const json_t *d = wl_rec_obj(rec);
    const json_t *spec = json_object_get(d, "spec");
    json_int_t want = wl_int(spec, "replicas", 1), maxrev = 0;
    const json_t *owned = json_object_get(rs_idx, wl_uid(d));
    const json_t *new_rec = NULL;
    char hash[16], *name;
    size_t i;
    json_t *r;

    wl_hash(json_object_get(spec, "template"), hash);
    name = xasprintf("%s-%s", wl_name(d), hash);
    json_array_foreach(owned, i, r)
    {
        json_int_t rev = wl_revision(wl_rec_obj(r));
        if (rev > maxrev)
            maxrev = rev;
        if (strcmp(wl_name(wl_rec_obj(r)), name) == 0)
            new_rec = r;
    }
    if (!new_rec) {
        wl_create(K.rs, wl_new_rs(d, name, hash, want, maxrev + 1));
        new_rec = objects_get(K.rs, wl_ns(d), name);
        maxrev++;
        json_object_set_new(wl_state(wl_uid(d)), "created", json_integer(wl_tick_no));
    } else if (wl_int(json_object_get(wl_rec_obj(new_rec), "spec"), "replicas", 1) != want) {
        json_t *next = wl_spec_bump(wl_rec_obj(new_rec));
        json_object_set_new(wl_obj(next, "spec"), "replicas", json_integer(want));
        json_object_set_new(wl_obj(wl_obj(next, "metadata"), "annotations"),
                            "deployment.kubernetes.io/desired-replicas",
                            json_sprintf("%lld", (long long)want));
        wl_put(K.rs, new_rec, next);
        new_rec = objects_get(K.rs, wl_ns(d), name);
    }
    /* Old ReplicaSets keep serving until the new one is fully available
     * (a surge of 100%), then scale to zero. */
    if (wl_int(json_object_get(wl_rec_obj(new_rec), "status"), "availableReplicas", 0) >= want) {
        json_array_foreach(owned, i, r)
        {
            const json_t *o = wl_rec_obj(r);
            json_t *next;
            if (strcmp(wl_name(o), name) == 0 ||
                wl_int(json_object_get(o, "spec"), "replicas", 1) == 0)
                continue;
            next = wl_spec_bump(o);
            json_object_set_new(wl_obj(next, "spec"), "replicas", json_integer(0));
            wl_put(K.rs, r, next);
        }
    }
    {
        json_int_t rev = wl_revision(wl_rec_obj(new_rec));
        if (rev && wl_revision(d) != rev) {
            json_t *next = json_deep_copy(d);
            json_object_set_new(wl_obj(wl_obj(next, "metadata"), "annotations"),
                                "deployment.kubernetes.io/revision",
                                json_sprintf("%lld", (long long)rev));
            wl_put(K.deploy, rec, next);
        }
    }
    free(name);
}

static void wl_deploy_status(const json_t *rec, const json_t *rs_idx)
{
    const json_t *d = wl_rec_obj(rec);
    const json_t *spec = json_object_get(d, "spec");
    json_int_t want = wl_int(spec, "replicas", 1);
    json_int_t replicas = 0, updated = 0, ready = 0, available = 0, total_spec = 0;
    json_int_t pds = wl_int(spec, "progressDeadlineSeconds", 600);
    const json_t *owned = json_object_get(rs_idx, wl_uid(d));
    json_t *next = json_deep_copy(d), *st, *conds, *s = wl_state(wl_uid(d));
    char hash[16], *name, *key, *msg;
    int complete;
    size_t i;
    json_t *r;

    wl_hash(json_object_get(spec, "template"), hash);
    name = xasprintf("%s-%s", wl_name(d), hash);
    json_array_foreach(owned, i, r)
    {
        const json_t *rst = json_object_get(wl_rec_obj(r), "status");
        replicas += wl_int(rst, "replicas", 0);
        ready += wl_int(rst, "readyReplicas", 0);
        available += wl_int(rst, "availableReplicas", 0);
        total_spec += wl_int(json_object_get(wl_rec_obj(r), "spec"), "replicas", 1);
        if (strcmp(wl_name(wl_rec_obj(r)), name) == 0)
            updated = wl_int(rst, "replicas", 0);
    }
    st = json_deep_copy(json_object_get(d, "status"));
    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    json_object_set_new(st, "observedGeneration",
                        json_integer(wl_int(wl_meta(d), "generation", 1)));
    wl_set_count(st, "replicas", replicas);
    wl_set_count(st, "updatedReplicas", updated);
    wl_set_count(st, "readyReplicas", ready);
    wl_set_count(st, "availableReplicas", available);
    wl_set_count(st, "unavailableReplicas", total_spec > available ? total_spec - available : 0);
    conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    if (available >= want - wl_max_unavailable(spec, want))
        wl_cond_set(conds, "Available", "True", "MinimumReplicasAvailable",
                    "Deployment has minimum availability.", 1, 0, 0);
    else
        wl_cond_set(conds, "Available", "False", "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.", 1, 0, 0);

    /* Progress is any change in what the rollout has reached. */
    key = xasprintf("%s/%lld/%lld/%lld/%lld", hash, (long long)updated, (long long)ready,
                    (long long)available, (long long)replicas);
    if (!wl_str(s, "pk") || strcmp(wl_str(s, "pk"), key) != 0) {
        json_object_set_new(s, "pk", json_string(key));
        json_object_set_new(s, "pt", json_integer(wl_now));
    }
    complete = updated == want && replicas == want && available == want;
    if (complete) {
        msg = xasprintf("ReplicaSet \"%s\" has successfully progressed.", name);
        wl_cond_set(conds, "Progressing", "True", "NewReplicaSetAvailable", msg, 1, 0, 0);
    } else if (wl_now - wl_int(s, "pt", wl_now) > pds * 1000) {
        msg = xasprintf("ReplicaSet \"%s\" has timed out progressing.", name);
        wl_cond_set(conds, "Progressing", "False", "ProgressDeadlineExceeded", msg, 1, 0, 0);
    } else if (wl_int(s, "created", -1) == wl_tick_no) {
        msg = xasprintf("Created new replica set \"%s\"", name);
        wl_cond_set(conds, "Progressing", "True", "NewReplicaSetCreated", msg, 1, 0, 0);
    } else {
        const char *was = wl_cond_reason(conds, "Progressing");
        msg = xasprintf("ReplicaSet \"%s\" is progressing.", name);
        /* A deadline already passed stays passed until progress is made. */
        if (!was || strcmp(was, "ProgressDeadlineExceeded") != 0 || wl_int(s, "pt", 0) == wl_now)
            wl_cond_set(conds, "Progressing", "True", "ReplicaSetUpdated", msg, 1, 0, 0);
    }
    json_object_set_new(next, "status", st);
    wl_put(K.deploy, rec, next);
    free(msg);
    free(key);
    free(name);
}

/* ---- StatefulSets -------------------------------------------------------- */

static char *wl_revision_name(const json_t *obj)
{
    char hash[16];
    wl_hash(json_object_get(json_object_get(obj, "spec"), "template"), hash);
    return xasprintf("%s-%s", wl_name(obj), hash);
}

static void wl_sts_claims(const json_t *sts, const char *pod_name)
{
    const json_t *spec = json_object_get(sts, "spec");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), i, t)
    {
        const char *tname = wl_name(t);
        char *name;
        json_t *pvc;
        if (!tname)
            continue;
        name = xasprintf("%s-%s", tname, pod_name);
        if (objects_get(K.pvc, wl_ns(sts), name)) {
            free(name);
            continue;
        }
        pvc = json_pack("{s:{s:s, s:s}, s:O}", "metadata", "name", name, "namespace", wl_ns(sts),
                        "spec",
                        json_object_get(t, "spec") ? json_object_get(t, "spec") : json_object());
        if (json_is_object(json_object_get(json_object_get(spec, "selector"), "matchLabels")))
            json_object_set(wl_obj(pvc, "metadata"), "labels",
                            json_object_get(json_object_get(spec, "selector"), "matchLabels"));
        wl_create(K.pvc, pvc);
        free(name);
    }
}

static void wl_sts_pods(const json_t *rec, const json_t *pods_idx)
{
    const json_t *sts = wl_rec_obj(rec);
    const json_t *spec = json_object_get(sts, "spec");
    json_int_t want = wl_int(spec, "replicas", 1);
    const char *policy = wl_str(spec, "podManagementPolicy");
    int parallel = policy && strcmp(policy, "Parallel") == 0;
    const json_t *pods = json_object_get(pods_idx, wl_uid(sts));
    char *rev = wl_revision_name(sts);
    int all_ready = 1, any_old = 0;
    json_int_t n = 0;
    const json_t *highest_old = NULL;

    wl_state(wl_uid(sts));
    for (json_int_t i = 0; i < want; i++) {
        char *pname = xasprintf("%s-%lld", wl_name(sts), (long long)i);
        const json_t *prec = objects_get(K.pod, wl_ns(sts), pname);
        if (!prec) {
            json_t *extra = json_pack("{s:s, s:s, s:s}", "controller-revision-hash", rev,
                                      "statefulset.kubernetes.io/pod-name", pname,
                                      "apps.kubernetes.io/pod-index", "");
            json_t *pod;
            json_object_set_new(extra, "apps.kubernetes.io/pod-index",
                                json_sprintf("%lld", (long long)i));
            pod = wl_pod_from(K.sts, sts, NULL, pname, extra);
            json_object_set_new(wl_obj(pod, "spec"), "hostname", json_string(pname));
            if (wl_str(spec, "serviceName"))
                json_object_set_new(wl_obj(pod, "spec"), "subdomain",
                                    json_string(wl_str(spec, "serviceName")));
            wl_sts_claims(sts, pname);
            wl_create(K.pod, pod);
            json_decref(extra);
            free(pname);
            all_ready = 0;
            if (!parallel)
                break;
            continue;
        }
        n++;
        if (!wl_pod_ready(wl_rec_obj(prec))) {
            all_ready = 0;
            if (!parallel) {
                free(pname);
                break;
            }
        }
        {
            const char *h = wl_str(json_object_get(wl_meta(wl_rec_obj(prec)), "labels"),
                                   "controller-revision-hash");
            if (!h || strcmp(h, rev) != 0) {
                any_old = 1;
                highest_old = prec;
            }
        }
        free(pname);
    }
    /* Scale down from the highest ordinal, one at a time. */
    {
        size_t i;
        json_t *p;
        const json_t *victim = NULL;
        long vi = -1;
        json_array_foreach(pods, i, p)
        {
            const char *pn = wl_name(wl_rec_obj(p));
            const char *dash = strrchr(pn, '-');
            long ord;
            if (dash && str_to_long(dash + 1, 0, 1L << 30, "ordinal", &ord) == 0 && ord >= want &&
                ord > vi) {
                vi = ord;
                victim = p;
            }
        }
        if (victim)
            wl_delete(K.pod, wl_rec_obj(victim));
        else if (any_old && all_ready && n == want)
            /* Rolling update: replace the highest old pod once all are ready. */
            wl_delete(K.pod, wl_rec_obj(highest_old));
    }
    free(rev);
}

static void wl_sts_status(const json_t *rec, const json_t *pods_idx)
{
    const json_t *sts = wl_rec_obj(rec);
    json_int_t want = wl_int(json_object_get(sts, "spec"), "replicas", 1);
    const json_t *pods = json_object_get(pods_idx, wl_uid(sts));
    char *rev = wl_revision_name(sts);
    const json_t *old_st = json_object_get(sts, "status");
    const char *current = wl_str(old_st, "currentRevision");
    json_int_t ready = 0, updated = 0, cur = 0;
    json_t *next = json_deep_copy(sts), *st = json_object();
    size_t i;
    json_t *p;
    if (!current)
        current = rev;
    json_array_foreach(pods, i, p)
    {
        const json_t *po = wl_rec_obj(p);
        const char *h = wl_str(json_object_get(wl_meta(po), "labels"), "controller-revision-hash");
        if (wl_pod_ready(po))
            ready++;
        if (h && strcmp(h, rev) == 0)
            updated++;
        if (h && strcmp(h, current) == 0)
            cur++;
    }
    /* The update is done: the new revision becomes the current one. */
    if (updated == want && ready == want && (json_int_t)json_array_size(pods) == want) {
        current = rev;
        cur = updated;
    }
    json_object_set_new(st, "observedGeneration",
                        json_integer(wl_int(wl_meta(sts), "generation", 1)));
    json_object_set_new(st, "replicas", json_integer((json_int_t)json_array_size(pods)));
    wl_set_count(st, "readyReplicas", ready);
    wl_set_count(st, "currentReplicas", cur);
    wl_set_count(st, "updatedReplicas", updated);
    wl_set_count(st, "availableReplicas", ready);
    json_object_set_new(st, "currentRevision", json_string(current));
    json_object_set_new(st, "updateRevision", json_string(rev));
    json_object_set_new(st, "collisionCount", json_integer(0));
    json_object_set_new(next, "status", st);
    wl_put(K.sts, rec, next);
    free(rev);
}

/* ---- DaemonSets ---------------------------------------------------------- */

static void wl_ds_pods(const json_t *rec, const json_t *pods_idx)
{
    const json_t *ds = wl_rec_obj(rec);
    const json_t *pods = json_object_get(pods_idx, wl_uid(ds));
    char hash[16];
    size_t i;
    json_t *p;
    int have_current = 0;
    wl_state(wl_uid(ds));
    wl_hash(json_object_get(json_object_get(ds, "spec"), "template"), hash);
    json_array_foreach(pods, i, p)
    {
        const char *h =
            wl_str(json_object_get(wl_meta(wl_rec_obj(p)), "labels"), "controller-revision-hash");
        if (h && strcmp(h, hash) == 0 && !have_current)
            have_current = 1;
        else
            wl_delete(K.pod, wl_rec_obj(p)); /* old template, or a second pod on the node */
    }
    if (!have_current) {
        json_t *extra = json_pack("{s:s, s:I}", "controller-revision-hash", hash,
                                  "pod-template-generation", (json_int_t)0);
        json_object_set_new(extra, "pod-template-generation",
                            json_sprintf("%lld", (long long)wl_int(wl_meta(ds), "generation", 1)));
        wl_create(K.pod, wl_pod_from(K.ds, ds, wl_name(ds), NULL, extra));
        json_decref(extra);
    }
}

static void wl_ds_status(const json_t *rec, const json_t *pods_idx)
{
    const json_t *ds = wl_rec_obj(rec);
    const json_t *pods = json_object_get(pods_idx, wl_uid(ds));
    json_t *next = json_deep_copy(ds), *st = json_object();
    json_int_t ready = 0, updated = 0, n = (json_int_t)json_array_size(pods);
    char hash[16];
    size_t i;
    json_t *p;
    wl_hash(json_object_get(json_object_get(ds, "spec"), "template"), hash);
    json_array_foreach(pods, i, p)
    {
        const char *h =
            wl_str(json_object_get(wl_meta(wl_rec_obj(p)), "labels"), "controller-revision-hash");
        if (wl_pod_ready(wl_rec_obj(p)))
            ready++;
        if (h && strcmp(h, hash) == 0)
            updated++;
    }
    json_object_set_new(st, "currentNumberScheduled", json_integer(n));
    json_object_set_new(st, "desiredNumberScheduled", json_integer(1));
    json_object_set_new(st, "numberMisscheduled", json_integer(0));
    json_object_set_new(st, "numberReady", json_integer(ready));
    wl_set_count(st, "numberAvailable", ready);
    wl_set_count(st, "numberUnavailable", 1 - ready > 0 ? 1 - ready : 0);
    wl_set_count(st, "updatedNumberScheduled", updated);
    json_object_set_new(st, "observedGeneration",
                        json_integer(wl_int(wl_meta(ds), "generation", 1)));
    json_object_set_new(next, "status", st);
    wl_put(K.ds, rec, next);
}

/* ---- Jobs ---------------------------------------------------------------- */

static int wl_job_finished(const json_t *job)
{
    const json_t *conds = json_object_get(json_object_get(job, "status"), "conditions");
    return wl_cond_true(conds, "Complete") || wl_cond_true(conds, "Failed");
}

static void wl_job_tick(const json_t *rec, const json_t *pods_idx, int make_pods)
{
    const json_t *job = wl_rec_obj(rec);
    const json_t *spec = json_object_get(job, "spec");
    json_int_t completions = wl_int(spec, "completions", 1);
    json_int_t parallelism = wl_int(spec, "parallelism", 1);
    json_int_t backoff = wl_int(spec, "backoffLimit", 6);
    const json_t *pods = json_object_get(pods_idx, wl_uid(job));
    json_int_t succeeded = 0, failed = 0, active = 0, ready = 0;
    json_t *next, *st, *conds;
    size_t i;
    json_t *p;

    wl_state(wl_uid(job));
    if (wl_job_finished(job))
        return;
    json_array_foreach(pods, i, p)
    {
        const json_t *po = wl_rec_obj(p);
        if (wl_pod_phase_is(po, "Succeeded"))
            succeeded++;
        else if (wl_pod_phase_is(po, "Failed"))
            failed++;
        else {
            active++;
            if (wl_pod_ready(po))
                ready++;
        }
    }
    if (make_pods) {
        json_int_t want =
            completions - succeeded < parallelism ? completions - succeeded : parallelism;
        if (failed > backoff)
            want = 0;
        for (; active < want; active++) {
            json_t *extra = json_pack("{s:s, s:s, s:s, s:s}", "batch.kubernetes.io/controller-uid",
                                      wl_uid(job), "batch.kubernetes.io/job-name", wl_name(job),
                                      "controller-uid", wl_uid(job), "job-name", wl_name(job));
            json_t *pod = wl_pod_from(K.job, job, wl_name(job), NULL, extra);
            if (!wl_str(wl_obj(pod, "spec"), "restartPolicy") ||
                strcmp(wl_str(wl_obj(pod, "spec"), "restartPolicy"), "Always") == 0)
                json_object_set_new(wl_obj(pod, "spec"), "restartPolicy", json_string("Never"));
            wl_create(K.pod, pod);
            json_decref(extra);
        }
        return;
    }
    next = json_deep_copy(job);
    st = wl_obj(next, "status");
    if (!json_object_get(st, "startTime"))
        json_object_set_new(st, "startTime", json_string(wl_now_str));
    wl_set_count(st, "active", active);
    wl_set_count(st, "succeeded", succeeded);
    wl_set_count(st, "failed", failed);
    json_object_set_new(st, "ready", json_integer(ready));
    json_object_set_new(st, "terminating", json_integer(0));
    json_object_set_new(st, "uncountedTerminatedPods", json_object());
    conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    if (succeeded >= completions) {
        wl_cond_set(conds, "SuccessCriteriaMet", "True", "CompletionsReached",
                    "Reached expected number of succeeded pods", 0, 0, 1);
        wl_cond_set(conds, "Complete", "True", "CompletionsReached",
                    "Reached expected number of succeeded pods", 0, 0, 1);
        json_object_set_new(st, "completionTime", json_string(wl_now_str));
    } else if (failed > backoff) {
        wl_cond_set(conds, "FailureTarget", "True", "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit", 0, 0, 1);
        wl_cond_set(conds, "Failed", "True", "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit", 0, 0, 1);
    }
    if (json_array_size(conds) == 0)
        json_object_del(st, "conditions");
    wl_put(K.job, rec, next);
}

/* ---- volumes and load balancers ----------------------------------------- */

static void wl_pvc_tick(const json_t *rec)
{
    const json_t *pvc = wl_rec_obj(rec);
    const json_t *spec = json_object_get(pvc, "spec");
    const char *phase = wl_str(json_object_get(pvc, "status"), "phase");
    json_t *s = wl_state(wl_uid(pvc)), *next;
    const json_t *storage =
        json_object_get(json_object_get(json_object_get(spec, "resources"), "requests"), "storage");
    char *pv_name;
    if (phase && strcmp(phase, "Bound") == 0)
        return;
    next = json_deep_copy(pvc);
    if (!phase) {
        json_object_set_new(wl_obj(next, "status"), "phase", json_string("Pending"));
        wl_put(K.pvc, rec, next);
        return;
    }
    if (wl_now - wl_int(s, "t0", wl_now) < wl_delay(pvc)) {
        json_decref(next);
        return;
    }
    if (wl_str(spec, "volumeName")) {
        /* Pre-bound to a volume: bind only if it exists. */
        pv_name = xstrdup(wl_str(spec, "volumeName"));
        if (!objects_get(K.pv, NULL, pv_name)) {
            json_decref(next);
            free(pv_name);
            return;
        }
    } else {
        json_t *pv;
        pv_name = xasprintf("pvc-%s", wl_uid(pvc));
        pv = json_pack("{s:{s:s, s:{s:s}}, s:{s:{s:O}, s:O, s:{s:s, s:s, s:s, s:s, s:s}, "
                       "s:s, s:s, s:{s:s, s:s}}, s:{s:s}}",
                       "metadata", "name", pv_name, "annotations",
                       "pv.kubernetes.io/provisioned-by", "kubesim.edgecd.io/hostpath", "spec",
                       "capacity", "storage", storage ? storage : json_string("1Gi"), "accessModes",
                       json_object_get(spec, "accessModes") ? json_object_get(spec, "accessModes")
                                                            : json_pack("[s]", "ReadWriteOnce"),
                       "claimRef", "apiVersion", "v1", "kind", "PersistentVolumeClaim", "name",
                       wl_name(pvc), "namespace", wl_ns(pvc), "uid", wl_uid(pvc),
                       "persistentVolumeReclaimPolicy", "Delete", "volumeMode", "Filesystem",
                       "hostPath", "path", "", "type", "DirectoryOrCreate", "status", "phase",
                       "Bound");
        if (!storage)
            json_decref(json_object_get(json_object_get(json_object_get(pv, "spec"), "capacity"),
                                        "storage"));
        if (!json_object_get(spec, "accessModes"))
            json_decref(json_object_get(json_object_get(pv, "spec"), "accessModes"));
        json_object_set_new(json_object_get(json_object_get(pv, "spec"), "hostPath"), "path",
                            json_sprintf("/var/lib/kubesim/volumes/%s", pv_name));
        if (wl_str(spec, "storageClassName"))
            json_object_set(json_object_get(pv, "spec"), "storageClassName",
                            json_object_get(spec, "storageClassName"));
        wl_create(K.pv, pv);
        json_object_set_new(wl_obj(next, "spec"), "volumeName", json_string(pv_name));
        json_object_set_new(wl_obj(wl_obj(next, "metadata"), "annotations"),
                            "pv.kubernetes.io/bound-by-controller", json_string("yes"));
    }
    json_object_set_new(wl_obj(wl_obj(next, "metadata"), "annotations"),
                        "pv.kubernetes.io/bind-completed", json_string("yes"));
    {
        const json_t *pv = wl_rec_obj(objects_get(K.pv, NULL, pv_name));
        const json_t *pvspec = json_object_get(pv, "spec");
        json_t *st = wl_obj(next, "status");
        json_object_set_new(st, "phase", json_string("Bound"));
        if (json_object_get(pvspec, "accessModes"))
            json_object_set(st, "accessModes", json_object_get(pvspec, "accessModes"));
        if (json_object_get(pvspec, "capacity"))
            json_object_set(st, "capacity", json_object_get(pvspec, "capacity"));
    }
    wl_put(K.pvc, rec, next);
    free(pv_name);
}

/* Volumes whose claim is gone: deleted (reclaim Delete) or Released. */
static void wl_pv_tick(const json_t *rec)
{
    const json_t *pv = wl_rec_obj(rec);
    const json_t *ref = json_object_get(json_object_get(pv, "spec"), "claimRef");
    const json_t *claim;
    const char *policy = wl_str(json_object_get(pv, "spec"), "persistentVolumeReclaimPolicy");
    json_t *next;
    if (!ref || !wl_str(ref, "name"))
        return;
    claim = wl_rec_obj(objects_get(K.pvc, wl_str(ref, "namespace"), wl_str(ref, "name")));
    if (claim && (!wl_str(ref, "uid") || strcmp(wl_uid(claim), wl_str(ref, "uid")) == 0))
        return;
    if (policy && strcmp(policy, "Delete") == 0) {
        wl_delete(K.pv, pv);
        return;
    }
    next = json_deep_copy(pv);
    json_object_set_new(wl_obj(next, "status"), "phase", json_string("Released"));
    wl_put(K.pv, rec, next);
}

static void wl_svc_tick(const json_t *rec)
{
    const json_t *svc = wl_rec_obj(rec);
    const char *type = wl_str(json_object_get(svc, "spec"), "type");
    const json_t *ingress =
        json_object_get(json_object_get(json_object_get(svc, "status"), "loadBalancer"), "ingress");
    json_t *s, *next;
    char ip[32];
    if (!type || strcmp(type, "LoadBalancer") != 0) {
        if (ingress) {
            next = json_deep_copy(svc);
            json_object_set_new(wl_obj(next, "status"), "loadBalancer", json_object());
            wl_put(K.svc, rec, next);
        }
        return;
    }
    s = wl_state(wl_uid(svc));
    if (json_array_size(ingress) > 0 || wl_now - wl_int(s, "t0", wl_now) < wl_delay(svc))
        return;
    snprintf(ip, sizeof(ip), "172.18.255.%u", wl_next_lb_ip % 254 + 1);
    wl_next_lb_ip++;
    next = json_deep_copy(svc);
    json_object_set_new(wl_obj(next, "status"), "loadBalancer",
                        json_pack("{s:[{s:s, s:s}]}", "ingress", "ip", ip, "ipMode", "VIP"));
    wl_put(K.svc, rec, next);
}

/* ---- the tick ------------------------------------------------------------ */

typedef void (*wl_each_fn)(const json_t *rec, const json_t *idx);

static void wl_each(const struct resource *r, wl_each_fn fn, const json_t *idx)
{
    json_t *recs;
    size_t i;
    json_t *rec;
    if (!r)
        return;
    recs = objects_list(r, NULL);
    json_array_foreach(recs, i, rec) fn(rec, idx);
    json_decref(recs);
}

static void wl_each_plain(const struct resource *r, void (*fn)(const json_t *rec))
{
    json_t *recs;
    size_t i;
    json_t *rec;
    if (!r)
        return;
    recs = objects_list(r, NULL);
    json_array_foreach(recs, i, rec) fn(rec);
    json_decref(recs);
}

static void wl_job_pods(const json_t *rec, const json_t *idx)
{
    wl_job_tick(rec, idx, 1);
}

static void wl_job_status(const json_t *rec, const json_t *idx)
{
    wl_job_tick(rec, idx, 0);
}

static void wl_lookup_kinds(void)
{
    K.pod = resources_find("", "v1", "pods");
    K.rs = resources_find("apps", "v1", "replicasets");
    K.deploy = resources_find("apps", "v1", "deployments");
    K.sts = resources_find("apps", "v1", "statefulsets");
    K.ds = resources_find("apps", "v1", "daemonsets");
    K.job = resources_find("batch", "v1", "jobs");
    K.pvc = resources_find("", "v1", "persistentvolumeclaims");
    K.pv = resources_find("", "v1", "persistentvolumes");
    K.svc = resources_find("", "v1", "services");
    K.node = resources_find("", "v1", "nodes");
}

static void wl_tick(void)
{
    json_t *idx;
    wl_now = time_mono_ms();
    time_rfc3339(wl_now_str);
    wl_tick_no++;

    wl_gc();
    idx = wl_index(K.rs);
    wl_each(K.deploy, wl_deploy_rs, idx);
    json_decref(idx);

    idx = wl_index(K.pod);
    wl_each(K.rs, wl_rs_pods, idx);
    wl_each(K.sts, wl_sts_pods, idx);
    wl_each(K.ds, wl_ds_pods, idx);
    wl_each(K.job, wl_job_pods, idx);
    json_decref(idx);

    wl_each_plain(K.pod, wl_pod_tick);

    idx = wl_index(K.pod);
    wl_each(K.rs, wl_rs_status, idx);
    wl_each(K.sts, wl_sts_status, idx);
    wl_each(K.ds, wl_ds_status, idx);
    wl_each(K.job, wl_job_status, idx);
    json_decref(idx);
    idx = wl_index(K.rs);
    wl_each(K.deploy, wl_deploy_status, idx);
    json_decref(idx);

    wl_each_plain(K.pvc, wl_pvc_tick);
    wl_each_plain(K.pv, wl_pv_tick);
    wl_each_plain(K.svc, wl_svc_tick);
    wl_prune();
}

static void wl_make_node(void)
{
    json_t *node;
    if (!K.node || objects_get(K.node, NULL, WORKLOAD_NODE))
        return;
    node = json_pack(
        "{s:{s:s, s:{s:s, s:s, s:s, s:s}}, s:{s:s}, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
        "s:[{s:s, s:s}, {s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:s, s:s}}}",
        "metadata", "name", WORKLOAD_NODE, "labels", "kubernetes.io/hostname", WORKLOAD_NODE,
        "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
        "node-role.kubernetes.io/control-plane", "", "spec", "podCIDR", "10.42.0.0/24", "status",
        "capacity", "cpu", "4", "memory", "8Gi", "pods", "110", "allocatable", "cpu", "4", "memory",
        "8Gi", "pods", "110", "addresses", "type", "InternalIP", "address", WL_HOST_IP, "type",
        "Hostname", "address", WORKLOAD_NODE, "nodeInfo", "kubeletVersion", "v1.35.0-kubesim",
        "containerRuntimeVersion", "containerd://2.0.0", "operatingSystem", "linux", "architecture",
        "amd64", "osImage", "kubesim", "kernelVersion", "6.1.0");
    json_object_set_new(wl_obj(node, "status"), "conditions",
                        json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s}]", "type", "Ready", "status",
                                  "True", "reason", "KubeletReady", "message",
                                  "kubelet is posting ready status", "lastHeartbeatTime",
                                  wl_now_str, "lastTransitionTime", wl_now_str));
    wl_create(K.node, node);
}

static void *wl_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wl_stop_lock);
    while (!wl_stop_flag) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (wl_opts.tick_ms % 1000) * 1000000L;
        until.tv_sec += wl_opts.tick_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!wl_stop_flag &&
               pthread_cond_timedwait(&wl_stop_cond, &wl_stop_lock, &until) != ETIMEDOUT)
            ;
        if (wl_stop_flag)
            break;
        pthread_mutex_unlock(&wl_stop_lock);
        handlers_lock_api();
        wl_tick();
        handlers_unlock_api();
        pthread_mutex_lock(&wl_stop_lock);
    }
    pthread_mutex_unlock(&wl_stop_lock);
    return NULL;
}

int workload_start(const struct workload_options *opts)
{
    pthread_condattr_t ca;
    wl_opts = *opts;
    if (wl_opts.tick_ms <= 0)
        wl_opts.tick_ms = 100;
    wl_seen = json_object();
    handlers_lock_api();
    wl_lookup_kinds();
    wl_now = time_mono_ms();
    time_rfc3339(wl_now_str);
    wl_make_node();
    handlers_unlock_api();
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wl_stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    wl_stop_flag = 0;
    if (pthread_create(&wl_thread, NULL, wl_main, NULL) != 0) {
        pthread_cond_destroy(&wl_stop_cond);
        json_decref(wl_seen);
        wl_seen = NULL;
        return err_set(ERR_GENERIC, "kubesim: cannot start the workload simulator");
    }
    wl_started = 1;
    return 0;
}

void workload_stop(void)
{
    if (!wl_started)
        return;
    pthread_mutex_lock(&wl_stop_lock);
    wl_stop_flag = 1;
    pthread_cond_signal(&wl_stop_cond);
    pthread_mutex_unlock(&wl_stop_lock);
    pthread_join(wl_thread, NULL);
    pthread_cond_destroy(&wl_stop_cond);
    json_decref(wl_seen);
    wl_seen = NULL;
    wl_started = 0;
}
