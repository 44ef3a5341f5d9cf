/*
 * One function per defaulted type, as in the real server's defaults.go
 * files, each filling only what is absent so that running them again
 * changes nothing. Service cluster IPs come from 10.96.0.0/12 like a
 * kubeadm cluster's: the lower 256 addresses are the static band a user
 * may ask for, dynamic ones are spread over the rest by a fixed
 * permutation so they look like the real allocator's picks and never
 * repeat.
 */
#include "defaults.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

static unsigned long defaults_ip_count;
static unsigned defaults_node_port_count;

static int defaults_is(const struct resource *r, const char *group, const char *kind)
{
    return r && !r->crd && strcmp(r->group, group) == 0 && strcmp(r->kind, kind) == 0;
}

/* obj[key] as an object, made (and stored) if absent or not an object. */
static json_t *defaults_obj(json_t *obj, const char *key)
{
    json_t *o = json_object_get(obj, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(obj, key, o);
    }
    return o;
}

/* obj[key] as a string, "" when absent. */
static const char *defaults_strval(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void defaults_str(json_t *obj, const char *key, const char *value)
{
    if (!json_object_get(obj, key))
        json_object_set_new(obj, key, json_string(value));
}

static void defaults_int(json_t *obj, const char *key, json_int_t value)
{
    if (!json_object_get(obj, key))
        json_object_set_new(obj, key, json_integer(value));
}

static void defaults_bool(json_t *obj, const char *key, int value)
{
    if (!json_object_get(obj, key))
        json_object_set_new(obj, key, json_boolean(value));
}

static void defaults_empty(json_t *obj, const char *key)
{
    if (!json_object_get(obj, key))
        json_object_set_new(obj, key, json_object());
}

const char *defaults_pull_policy(const char *image)
{
    const char *slash = strrchr(image, '/');
    const char *name = slash ? slash + 1 : image;
    const char *colon = strrchr(name, ':');
    if (strchr(name, '@'))
        return "IfNotPresent";
    if (!colon || strcmp(colon + 1, "latest") == 0)
        return "Always";
    return "IfNotPresent";
}

static void defaults_probe(json_t *probe)
{
    json_t *http = json_object_get(probe, "httpGet");
    if (!json_is_object(probe))
        return;
    defaults_int(probe, "timeoutSeconds", 1);
    defaults_int(probe, "periodSeconds", 10);
    defaults_int(probe, "successThreshold", 1);
    defaults_int(probe, "failureThreshold", 3);
    if (json_is_object(http)) {
        defaults_str(http, "path", "/");
        defaults_str(http, "scheme", "HTTP");
    }
}

static void defaults_container(json_t *c)
{
    const char *image = json_string_value(json_object_get(c, "image"));
    size_t i;
    json_t *v;
    if (!json_is_object(c))
        return;
    defaults_str(c, "terminationMessagePath", "/dev/termination-log");
    defaults_str(c, "terminationMessagePolicy", "File");
    if (image && image[0])
        defaults_str(c, "imagePullPolicy", defaults_pull_policy(image));
    defaults_empty(c, "resources");
    json_array_foreach(json_object_get(c, "ports"), i, v)
    {
        if (json_is_object(v))
            defaults_str(v, "protocol", "TCP");
    }
    json_array_foreach(json_object_get(c, "env"), i, v)
    {
        json_t *ref = json_object_get(json_object_get(v, "valueFrom"), "fieldRef");
        if (json_is_object(ref))
            defaults_str(ref, "apiVersion", "v1");
    }
    defaults_probe(json_object_get(c, "livenessProbe"));
    defaults_probe(json_object_get(c, "readinessProbe"));
    defaults_probe(json_object_get(c, "startupProbe"));
}

static void defaults_volume(json_t *v)
{
    static const char *const with_mode[] = {"secret", "configMap", "downwardAPI", "projected"};
    int has_source = 0;
    const char *k;
    json_t *s;
    if (!json_is_object(v))
        return;
    json_object_foreach(v, k, s)
    {
        if (strcmp(k, "name") != 0)
            has_source = 1;
    }
    if (!has_source)
        json_object_set_new(v, "emptyDir", json_object());
    for (size_t i = 0; i < sizeof(with_mode) / sizeof(with_mode[0]); i++) {
        s = json_object_get(v, with_mode[i]);
        if (json_is_object(s))
            defaults_int(s, "defaultMode", 420);
    }
}

static void defaults_pod_spec(json_t *spec)
{
    size_t i;
    json_t *v;
    if (!json_is_object(spec))
        return;
    defaults_str(spec, "dnsPolicy", "ClusterFirst");
    defaults_str(spec, "restartPolicy", "Always");
    defaults_empty(spec, "securityContext");
    defaults_int(spec, "terminationGracePeriodSeconds", 30);
    defaults_str(spec, "schedulerName", "default-scheduler");
    json_array_foreach(json_object_get(spec, "containers"), i, v) defaults_container(v);
    json_array_foreach(json_object_get(spec, "initContainers"), i, v) defaults_container(v);
    json_array_foreach(json_object_get(spec, "volumes"), i, v) defaults_volume(v);
}

/* spec.template.spec of a workload (a template holds a pod spec). */
static void defaults_template(json_t *spec)
{
    json_t *tmpl = json_object_get(spec, "template");
    if (json_is_object(tmpl))
        defaults_pod_spec(json_object_get(tmpl, "spec"));
}

static void defaults_pod(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    defaults_pod_spec(spec);
    defaults_bool(spec, "enableServiceLinks", 1);
    defaults_str(spec, "preemptionPolicy", "PreemptLowerPriority");
    defaults_int(spec, "priority", 0);
    defaults_str(spec, "serviceAccountName", "default");
    defaults_str(spec, "serviceAccount",
                 json_string_value(json_object_get(spec, "serviceAccountName")));
    if (!json_object_get(spec, "tolerations"))
        json_object_set_new(spec, "tolerations",
                            json_pack("[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i}]", "key",
                                      "node.kubernetes.io/not-ready", "operator", "Exists",
                                      "effect", "NoExecute", "tolerationSeconds", 300, "key",
                                      "node.kubernetes.io/unreachable", "operator", "Exists",
                                      "effect", "NoExecute", "tolerationSeconds", 300));
}

static void defaults_deployment(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    json_t *strategy = defaults_obj(spec, "strategy");
    defaults_int(spec, "replicas", 1);
    defaults_str(strategy, "type", "RollingUpdate");
    if (strcmp(defaults_strval(strategy, "type"), "RollingUpdate") == 0) {
        json_t *ru = defaults_obj(strategy, "rollingUpdate");
        defaults_str(ru, "maxUnavailable", "25%");
        defaults_str(ru, "maxSurge", "25%");
    }
    defaults_int(spec, "revisionHistoryLimit", 10);
    defaults_int(spec, "progressDeadlineSeconds", 600);
    defaults_template(spec);
}

static void defaults_pvc_spec(json_t *spec)
{
    if (json_is_object(spec))
        defaults_str(spec, "volumeMode", "Filesystem");
}

static void defaults_statefulset(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    json_t *us = defaults_obj(spec, "updateStrategy");
    json_t *retention = defaults_obj(spec, "persistentVolumeClaimRetentionPolicy");
    size_t i;
    json_t *vct;
    defaults_int(spec, "replicas", 1);
    defaults_str(spec, "podManagementPolicy", "OrderedReady");
    defaults_str(us, "type", "RollingUpdate");
    if (strcmp(defaults_strval(us, "type"), "RollingUpdate") == 0)
        defaults_int(defaults_obj(us, "rollingUpdate"), "partition", 0);
    defaults_int(spec, "revisionHistoryLimit", 10);
    defaults_str(retention, "whenDeleted", "Retain");
    defaults_str(retention, "whenScaled", "Retain");
    json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), i, vct)
    {
        if (!json_is_object(vct))
            continue;
        defaults_str(vct, "apiVersion", "v1");
        defaults_str(vct, "kind", "PersistentVolumeClaim");
        defaults_pvc_spec(defaults_obj(vct, "spec"));
        defaults_str(defaults_obj(vct, "status"), "phase", "Pending");
    }
    defaults_template(spec);
}

static void defaults_daemonset(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    json_t *us = defaults_obj(spec, "updateStrategy");
    defaults_str(us, "type", "RollingUpdate");
    if (strcmp(defaults_strval(us, "type"), "RollingUpdate") == 0) {
        json_t *ru = defaults_obj(us, "rollingUpdate");
        defaults_int(ru, "maxUnavailable", 1);
        defaults_int(ru, "maxSurge", 0);
    }
    defaults_int(spec, "revisionHistoryLimit", 10);
    defaults_template(spec);
}

static void defaults_replicaset(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    defaults_int(spec, "replicas", 1);
    defaults_template(spec);
}

static void defaults_job(json_t *obj)
{
    json_t *meta = defaults_obj(obj, "metadata");
    json_t *spec = defaults_obj(obj, "spec");
    json_t *tmpl = json_object_get(spec, "template");
    json_t *labels;
    if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism"))
        json_object_set_new(spec, "completions", json_integer(1));
    defaults_int(spec, "parallelism", 1);
    defaults_int(spec, "backoffLimit",
                 json_object_get(spec, "backoffLimitPerIndex") ? 2147483647 : 6);
    defaults_str(spec, "completionMode", "NonIndexed");
    defaults_bool(spec, "suspend", 0);
    defaults_str(spec, "podReplacementPolicy",
                 json_object_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed");
    labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
    if (json_object_size(labels) > 0 && json_object_size(json_object_get(meta, "labels")) == 0)
        json_object_set_new(meta, "labels", json_deep_copy(labels));
    defaults_template(spec);
}

/* The job registry's selector and pod labels, made at create time unless
 * the user picked a selector (manualSelector). */
static void defaults_job_allocate(json_t *obj)
{
    json_t *meta = defaults_obj(obj, "metadata");
    json_t *spec = defaults_obj(obj, "spec");
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    json_t *tmpl = json_object_get(spec, "template");
    json_t *labels;
    if (uid && name && json_is_object(tmpl) &&
        !json_is_true(json_object_get(spec, "manualSelector")) &&
        !json_object_get(spec, "selector")) {
        labels = defaults_obj(defaults_obj(tmpl, "metadata"), "labels");
        json_object_set_new(
            spec, "selector",
            json_pack("{s:{s:s}}", "matchLabels", "batch.kubernetes.io/controller-uid", uid));
        json_object_set_new(labels, "batch.kubernetes.io/controller-uid", json_string(uid));
        json_object_set_new(labels, "batch.kubernetes.io/job-name", json_string(name));
        json_object_set_new(labels, "controller-uid", json_string(uid));
        json_object_set_new(labels, "job-name", json_string(name));
    }
    labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
    if (json_object_size(labels) > 0 && json_object_size(json_object_get(meta, "labels")) == 0)
        json_object_set_new(meta, "labels", json_deep_copy(labels));
}

static void defaults_cronjob(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    json_t *jt = json_object_get(spec, "jobTemplate");
    defaults_str(spec, "concurrencyPolicy", "Allow");
    defaults_bool(spec, "suspend", 0);
    defaults_int(spec, "successfulJobsHistoryLimit", 3);
    defaults_int(spec, "failedJobsHistoryLimit", 1);
    if (json_is_object(jt))
        defaults_template(json_object_get(jt, "spec"));
}

/* The next dynamic cluster IP: 10.96.0.0/12 past the static band. */
static void defaults_next_ip(char out[16])
{
    const unsigned long span = (1ul << 20) - 256 - 2, step = 104729;
    unsigned long idx = 256 + ((++defaults_ip_count) * step) % span;
    unsigned long addr = (10ul << 24) | (96ul << 16) | idx;
    snprintf(out, 16, "%lu.%lu.%lu.%lu", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
             addr & 255);
}

static void defaults_service(json_t *obj)
{
    json_t *spec = defaults_obj(obj, "spec");
    size_t i;
    json_t *p;
    defaults_str(spec, "type", "ClusterIP");
    defaults_str(spec, "sessionAffinity", "None");
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        if (!json_is_object(p))
            continue;
        defaults_str(p, "protocol", "TCP");
        if (!json_object_get(p, "targetPort") && json_object_get(p, "port"))
            json_object_set(p, "targetPort", json_object_get(p, "port"));
    }
    if (strcmp(defaults_strval(spec, "type"), "ExternalName") != 0)
        defaults_str(spec, "internalTrafficPolicy", "Cluster");
    if (strcmp(defaults_strval(spec, "type"), "NodePort") == 0 ||
        strcmp(defaults_strval(spec, "type"), "LoadBalancer") == 0)
        defaults_str(spec, "externalTrafficPolicy", "Cluster");
    if (strcmp(defaults_strval(spec, "type"), "LoadBalancer") == 0)
        defaults_bool(spec, "allocateLoadBalancerNodePorts", 1);
    defaults_empty(defaults_obj(obj, "status"), "loadBalancer");
}

static int defaults_needs_node_ports(const char *type)
{
    return strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0;
}

/* Delete key from spec if it holds what ospec holds (the writer did not
 * touch it). */
static void defaults_drop_same(json_t *spec, const json_t *ospec, const char *key)
{
    json_t *v = json_object_get(spec, key);
    if (v && json_equal(v, json_object_get(ospec, key)))
        json_object_del(spec, key);
}

/* When a Service changes type, the fields the old type needed and the
 * server filled in go, unless the writer changed them too (the service
 * strategy's dropTypeDependentFields). */
static void defaults_service_drop(const json_t *old, json_t *obj)
{
    const json_t *ospec = json_object_get(old, "spec");
    json_t *spec = defaults_obj(obj, "spec");
    const char *otype = defaults_strval(ospec, "type"), *type = defaults_strval(spec, "type");
    json_t *ports = json_object_get(spec, "ports"), *oports = json_object_get(ospec, "ports");
    if (strcmp(otype, "ExternalName") != 0 && strcmp(type, "ExternalName") == 0) {
        defaults_drop_same(spec, ospec, "clusterIP");
        defaults_drop_same(spec, ospec, "clusterIPs");
        defaults_drop_same(spec, ospec, "ipFamilies");
        defaults_drop_same(spec, ospec, "ipFamilyPolicy");
    }
    if (defaults_needs_node_ports(otype) && !defaults_needs_node_ports(type)) {
        int same = json_array_size(ports) == json_array_size(oports);
        for (size_t i = 0; same && i < json_array_size(ports); i++)
            same = json_equal(json_object_get(json_array_get(ports, i), "nodePort"),
                              json_object_get(json_array_get(oports, i), "nodePort")) ||
                   (!json_object_get(json_array_get(ports, i), "nodePort") &&
                    !json_object_get(json_array_get(oports, i), "nodePort"));
        for (size_t i = 0; same && i < json_array_size(ports); i++)
            json_object_del(json_array_get(ports, i), "nodePort");
        defaults_drop_same(spec, ospec, "externalTrafficPolicy");
    }
    if (strcmp(otype, "LoadBalancer") == 0 && strcmp(type, "LoadBalancer") != 0) {
        defaults_drop_same(spec, ospec, "allocateLoadBalancerNodePorts");
        defaults_drop_same(spec, ospec, "loadBalancerClass");
        defaults_drop_same(spec, ospec, "healthCheckNodePort");
    }
    /* Only a LoadBalancer has a load balancer to report. */
    if (strcmp(type, "LoadBalancer") != 0 && json_is_object(json_object_get(obj, "status")))
        json_object_set_new(json_object_get(obj, "status"), "loadBalancer", json_object());
}

/* The Service registry's part: cluster IPs, IP families and node ports,
 * kept from old (the previous object, may be NULL) when a write omits
 * them. */
static void defaults_service_allocate(const json_t *old, json_t *obj)
{
    const json_t *ospec = json_object_get(old, "spec");
    json_t *spec = defaults_obj(obj, "spec");
    const char *type = defaults_strval(spec, "type");
    const char *ip;
    int node_ports = defaults_needs_node_ports(type);
    size_t i;
    json_t *p;
    if (old)
        defaults_service_drop(old, obj);
    if (node_ports) {
        json_array_foreach(json_object_get(spec, "ports"), i, p)
        {
            size_t j;
            json_t *op;
            if (!json_is_object(p) || json_object_get(p, "nodePort"))
                continue;
            json_array_foreach(json_object_get(ospec, "ports"), j, op)
            {
                if (json_equal(json_object_get(op, "port"), json_object_get(p, "port")) &&
                    json_object_get(op, "nodePort"))
                    json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
            }
            if (!json_object_get(p, "nodePort"))
                json_object_set_new(
                    p, "nodePort",
                    json_integer(30000 + (defaults_node_port_count++ * 7919) % 2768));
        }
    }
    if (strcmp(type, "ExternalName") == 0)
        return;
    ip = json_string_value(json_object_get(spec, "clusterIP"));
    if ((!ip || !ip[0]) && json_string_value(json_object_get(ospec, "clusterIP"))) {
        static const char *const keep[] = {"clusterIP", "clusterIPs", "ipFamilies",
                                           "ipFamilyPolicy"};
        for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
            if (!json_object_get(spec, keep[i]) && json_object_get(ospec, keep[i]))
                json_object_set(spec, keep[i], json_object_get(ospec, keep[i]));
        ip = json_string_value(json_object_get(spec, "clusterIP"));
    }
    if (!ip || !ip[0]) {
        char buf[16];
        defaults_next_ip(buf);
        json_object_set_new(spec, "clusterIP", json_string(buf));
        ip = json_string_value(json_object_get(spec, "clusterIP"));
    }
    if (!json_object_get(spec, "clusterIPs"))
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
    if (!json_object_get(spec, "ipFamilyPolicy"))
        json_object_set_new(
            spec, "ipFamilyPolicy",
            json_string(strcmp(ip, "None") == 0 && !json_object_get(spec, "selector")
                            ? "RequireDualStack"
                            : "SingleStack"));
    if (!json_object_get(spec, "ipFamilies"))
        json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
}

static void defaults_namespace(json_t *obj)
{
    json_t *meta = defaults_obj(obj, "metadata");
    /* The real server labels every namespace with its own name. */
    if (json_object_get(meta, "name"))
        json_object_set(defaults_obj(meta, "labels"), "kubernetes.io/metadata.name",
                        json_object_get(meta, "name"));
}

void defaults_apply(const struct resource *r, json_t *obj)
{
    if (!r || r->crd || !json_is_object(obj))
        return;
    if (defaults_is(r, "", "Namespace"))
        defaults_namespace(obj);
    else if (defaults_is(r, "", "Service"))
        defaults_service(obj);
    else if (defaults_is(r, "", "Secret"))
        defaults_str(obj, "type", "Opaque");
    else if (defaults_is(r, "", "PersistentVolumeClaim")) {
        defaults_pvc_spec(defaults_obj(obj, "spec"));
        defaults_str(defaults_obj(obj, "status"), "phase", "Pending");
    } else if (defaults_is(r, "", "Pod"))
        defaults_pod(obj);
    else if (defaults_is(r, "apps", "Deployment"))
        defaults_deployment(obj);
    else if (defaults_is(r, "apps", "StatefulSet"))
        defaults_statefulset(obj);
    else if (defaults_is(r, "apps", "DaemonSet"))
        defaults_daemonset(obj);
    else if (defaults_is(r, "apps", "ReplicaSet"))
        defaults_replicaset(obj);
    else if (defaults_is(r, "batch", "Job"))
        defaults_job(obj);
    else if (defaults_is(r, "batch", "CronJob"))
        defaults_cronjob(obj);
}

void defaults_allocate(const struct resource *r, const json_t *old, json_t *obj)
{
    if (!r || r->crd || !json_is_object(obj))
        return;
    if (defaults_is(r, "", "Namespace")) {
        json_t *spec = defaults_obj(obj, "spec");
        const json_t *keep = json_object_get(json_object_get(old, "spec"), "finalizers");
        if (!json_object_get(spec, "finalizers"))
            json_object_set_new(spec, "finalizers",
                                keep ? json_deep_copy(keep) : json_pack("[s]", "kubernetes"));
    } else if (defaults_is(r, "", "Service")) {
        defaults_service_allocate(old, obj);
    } else if (defaults_is(r, "batch", "Job")) {
        defaults_job_allocate(obj);
    }
}

int defaults_has_generation(const struct resource *r)
{
    static const char *const kinds[][2] = {
        {"apps", "Deployment"},
        {"apps", "StatefulSet"},
        {"apps", "DaemonSet"},
        {"apps", "ReplicaSet"},
        {"batch", "Job"},
        {"batch", "CronJob"},
        {"", "Pod"},
        {"networking.k8s.io", "Ingress"},
        {"policy", "PodDisruptionBudget"},
        {"apiextensions.k8s.io", "CustomResourceDefinition"},
    };
    if (r && r->crd)
        return 1;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (defaults_is(r, kinds[i][0], kinds[i][1]))
            return 1;
    return 0;
}

/* json_equal that counts two absent values as equal. */
static int defaults_same(const json_t *a, const json_t *b)
{
    return (!a && !b) || json_equal((json_t *)a, (json_t *)b);
}

int defaults_generation_changed(const struct resource *r, const json_t *old, const json_t *now)
{
    json_t *a, *b;
    int changed;
    if (!r->crd) {
        /* Deployments count annotations too: they are copied to the
         * ReplicaSets the generation tells apart. */
        if (defaults_is(r, "apps", "Deployment") &&
            !defaults_same(json_object_get(json_object_get(old, "metadata"), "annotations"),
                           json_object_get(json_object_get(now, "metadata"), "annotations")))
            return 1;
        return !defaults_same(json_object_get(old, "spec"), json_object_get(now, "spec"));
    }
    a = json_deep_copy(old);
    b = json_deep_copy(now);
    for (int i = 0; i < 4; i++) {
        static const char *const skip[] = {"metadata", "status", "apiVersion", "kind"};
        json_object_del(a, skip[i]);
        json_object_del(b, skip[i]);
    }
    changed = !json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return changed;
}
