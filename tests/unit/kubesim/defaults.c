/* Tests of tests/kubesim/defaults.c: what the real server defaults. */
#include "defaults.h"

#include "test.h"

static const struct resource deployments = {"apps", "v1", "Deployment", "deployments", "deployment",
                                            1,      1,    {NULL},       {NULL},        NULL};
static const struct resource services = {"", "v1", "Service", "services", "service",
                                         1,  1,    {NULL},    {NULL},     NULL};
static const struct resource jobs = {"batch", "v1", "Job",  "jobs", "job",
                                     1,       1,    {NULL}, {NULL}, NULL};
static const struct resource configmaps = {"", "v1", "ConfigMap", "configmaps", "configmap",
                                           1,  0,    {NULL},      {NULL},       NULL};
static const struct resource secrets = {"", "v1", "Secret", "secrets", "secret",
                                        1,  0,    {NULL},   {NULL},    NULL};
static const struct resource widgets = {
    "example.com",        "v1", "Widget", "widgets", "widget", 1, 0, {NULL}, {NULL},
    "widgets.example.com"};

static json_t *load(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!v)
        abort();
    return v;
}

static const json_t *at(const json_t *v, const char *path)
{
    char *copy = xstrdup(path), *save = NULL;
    for (char *tok = strtok_r(copy, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
        if (tok[0] >= '0' && tok[0] <= '9')
            v = json_array_get(v, (size_t)strtoul(tok, NULL, 10));
        else
            v = json_object_get(v, tok);
    }
    free(copy);
    return v;
}

TEST(pull_policy_follows_the_tag)
{
    CHECK_STR(defaults_pull_policy("nginx"), "Always");
    CHECK_STR(defaults_pull_policy("nginx:latest"), "Always");
    CHECK_STR(defaults_pull_policy("registry.local:5000/app"), "Always");
    CHECK_STR(defaults_pull_policy("registry.local:5000/app:1.2"), "IfNotPresent");
    CHECK_STR(defaults_pull_policy("nginx:1.27"), "IfNotPresent");
    CHECK_STR(defaults_pull_policy("nginx@sha256:abcd"), "IfNotPresent");
}

TEST(deployment_defaults)
{
    json_t *d = load("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\","
                     "\"image\":\"x:1\",\"ports\":[{\"containerPort\":80}],\"readinessProbe\":"
                     "{\"httpGet\":{\"port\":80}}}]}}}}");
    json_t *again;
    defaults_apply(&deployments, d);
    CHECK(json_integer_value(at(d, "spec.replicas")) == 1);
    CHECK_STR(json_string_value(at(d, "spec.strategy.type")), "RollingUpdate");
    CHECK_STR(json_string_value(at(d, "spec.strategy.rollingUpdate.maxSurge")), "25%");
    CHECK_STR(json_string_value(at(d, "spec.strategy.rollingUpdate.maxUnavailable")), "25%");
    CHECK(json_integer_value(at(d, "spec.revisionHistoryLimit")) == 10);
    CHECK(json_integer_value(at(d, "spec.progressDeadlineSeconds")) == 600);
    CHECK_STR(json_string_value(at(d, "spec.template.spec.restartPolicy")), "Always");
    CHECK_STR(json_string_value(at(d, "spec.template.spec.dnsPolicy")), "ClusterFirst");
    CHECK_STR(json_string_value(at(d, "spec.template.spec.schedulerName")), "default-scheduler");
    CHECK(json_integer_value(at(d, "spec.template.spec.terminationGracePeriodSeconds")) == 30);
    CHECK(json_object_size(at(d, "spec.template.spec.securityContext")) == 0);
    CHECK_STR(json_string_value(at(d, "spec.template.spec.containers.0.imagePullPolicy")),
              "IfNotPresent");
    CHECK_STR(json_string_value(at(d, "spec.template.spec.containers.0.terminationMessagePath")),
              "/dev/termination-log");
    CHECK_STR(json_string_value(at(d, "spec.template.spec.containers.0.ports.0.protocol")), "TCP");
    CHECK(json_integer_value(
              at(d, "spec.template.spec.containers.0.readinessProbe.periodSeconds")) == 10);
    CHECK_STR(
        json_string_value(at(d, "spec.template.spec.containers.0.readinessProbe.httpGet.path")),
        "/");
    again = json_deep_copy(d);
    defaults_apply(&deployments, again);
    CHECK(json_equal(d, again));
    json_decref(again);
    json_decref(d);
}

TEST(deployment_keeps_what_is_set)
{
    json_t *d = load("{\"spec\":{\"replicas\":0,\"strategy\":{\"type\":\"Recreate\"}}}");
    defaults_apply(&deployments, d);
    CHECK(json_integer_value(at(d, "spec.replicas")) == 0);
    CHECK(at(d, "spec.strategy.rollingUpdate") == NULL);
    json_decref(d);
}

TEST(service_defaults_and_addresses)
{
    json_t *s = load("{\"spec\":{\"ports\":[{\"port\":80}]}}");
    json_t *s2 = load("{\"spec\":{\"ports\":[{\"port\":80}]}}");
    json_t *upd = load("{\"spec\":{\"ports\":[{\"port\":81}]}}");
    json_t *np = load("{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}");
    unsigned a, b, c, d;
    defaults_apply(&services, s);
    defaults_allocate(&services, NULL, s);
    CHECK_STR(json_string_value(at(s, "spec.type")), "ClusterIP");
    CHECK_STR(json_string_value(at(s, "spec.sessionAffinity")), "None");
    CHECK_STR(json_string_value(at(s, "spec.ipFamilyPolicy")), "SingleStack");
    CHECK_STR(json_string_value(at(s, "spec.ipFamilies.0")), "IPv4");
    CHECK_STR(json_string_value(at(s, "spec.internalTrafficPolicy")), "Cluster");
    CHECK(json_integer_value(at(s, "spec.ports.0.targetPort")) == 80);
    CHECK(sscanf(json_string_value(at(s, "spec.clusterIP")), "%u.%u.%u.%u", &a, &b, &c, &d) == 4);
    CHECK(a == 10 && b >= 96 && b <= 111 && c <= 255 && d <= 255);
    CHECK_STR(json_string_value(at(s, "spec.clusterIPs.0")),
              json_string_value(at(s, "spec.clusterIP")));
    defaults_apply(&services, s2);
    defaults_allocate(&services, NULL, s2);
    CHECK(strcmp(json_string_value(at(s, "spec.clusterIP")),
                 json_string_value(at(s2, "spec.clusterIP"))) != 0);
    /* An update that omits the address keeps the old one. */
    defaults_apply(&services, upd);
    defaults_allocate(&services, s, upd);
    CHECK_STR(json_string_value(at(upd, "spec.clusterIP")),
              json_string_value(at(s, "spec.clusterIP")));
    defaults_apply(&services, np);
    defaults_allocate(&services, NULL, np);
    CHECK_STR(json_string_value(at(np, "spec.externalTrafficPolicy")), "Cluster");
    CHECK(json_integer_value(at(np, "spec.ports.0.nodePort")) >= 30000 &&
          json_integer_value(at(np, "spec.ports.0.nodePort")) <= 32767);
    json_decref(np);
    json_decref(upd);
    json_decref(s2);
    json_decref(s);
}

TEST(service_type_change_drops_what_the_old_type_needed)
{
    json_t *lb = load("{\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80}]},"
                      "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.1\"}]}}}");
    json_t *next;
    defaults_apply(&services, lb);
    defaults_allocate(&services, NULL, lb);
    CHECK(json_integer_value(at(lb, "spec.ports.0.nodePort")) >= 30000);
    CHECK(json_is_true(at(lb, "spec.allocateLoadBalancerNodePorts")));
    next = json_deep_copy(lb);
    json_object_set_new(json_object_get(next, "spec"), "type", json_string("ClusterIP"));
    defaults_apply(&services, next);
    defaults_allocate(&services, lb, next);
    CHECK(at(next, "spec.ports.0.nodePort") == NULL);
    CHECK(at(next, "spec.externalTrafficPolicy") == NULL);
    CHECK(at(next, "spec.allocateLoadBalancerNodePorts") == NULL);
    CHECK(json_object_size(at(next, "status.loadBalancer")) == 0);
    CHECK_STR(json_string_value(at(next, "spec.clusterIP")),
              json_string_value(at(lb, "spec.clusterIP")));
    json_decref(next);
    json_decref(lb);
}

TEST(job_defaults_and_selector)
{
    json_t *j = load("{\"metadata\":{\"name\":\"j\",\"uid\":\"u-1\"},\"spec\":{\"template\":"
                     "{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
                     "\"image\":\"x\"}]}}}}");
    defaults_apply(&jobs, j);
    defaults_allocate(&jobs, NULL, j);
    CHECK(json_integer_value(at(j, "spec.backoffLimit")) == 6);
    CHECK(json_integer_value(at(j, "spec.completions")) == 1);
    CHECK(json_integer_value(at(j, "spec.parallelism")) == 1);
    CHECK_STR(json_string_value(at(j, "spec.completionMode")), "NonIndexed");
    CHECK(json_is_false(at(j, "spec.suspend")));
    CHECK_STR(json_string_value(at(j, "spec.template.spec.restartPolicy")), "Never");
    CHECK_STR(json_string_value(json_object_get(at(j, "spec.selector.matchLabels"),
                                                "batch.kubernetes.io/controller-uid")),
              "u-1");
    CHECK_STR(json_string_value(json_object_get(at(j, "metadata.labels"), "job-name")), "j");
    json_decref(j);
}

TEST(small_kinds)
{
    json_t *s = load("{\"data\":{}}"), *cm = load("{\"data\":{\"a\":\"b\"}}");
    json_t *cm_copy = json_deep_copy(cm);
    defaults_apply(&secrets, s);
    CHECK_STR(json_string_value(at(s, "type")), "Opaque");
    defaults_apply(&configmaps, cm);
    CHECK(json_equal(cm, cm_copy));
    json_decref(cm_copy);
    json_decref(cm);
    json_decref(s);
}

TEST(generation_rules)
{
    json_t *a = load("{\"metadata\":{\"labels\":{}},\"spec\":{\"x\":1}}");
    json_t *b = load("{\"metadata\":{\"labels\":{\"n\":\"1\"}},\"spec\":{\"x\":1}}");
    json_t *c = load("{\"metadata\":{},\"spec\":{\"x\":2}}");
    json_t *w1 = load("{\"metadata\":{},\"data\":1,\"status\":{}}");
    json_t *w2 = load("{\"metadata\":{},\"data\":2,\"status\":{\"s\":1}}");
    CHECK(defaults_has_generation(&deployments));
    CHECK(defaults_has_generation(&widgets));
    CHECK(!defaults_has_generation(&configmaps));
    CHECK(!defaults_has_generation(&services));
    CHECK(!defaults_generation_changed(&deployments, a, b));
    CHECK(defaults_generation_changed(&deployments, a, c));
    CHECK(defaults_generation_changed(&widgets, w1, w2));
    json_object_set_new(json_object_get(b, "metadata"), "annotations",
                        json_pack("{s:s}", "x", "y"));
    CHECK(defaults_generation_changed(&deployments, a, b));
    CHECK(!defaults_generation_changed(&jobs, a, b));
    json_object_set_new(w2, "data", json_integer(1));
    CHECK(!defaults_generation_changed(&widgets, w1, w2));
    json_decref(w2);
    json_decref(w1);
    json_decref(c);
    json_decref(b);
    json_decref(a);
}

int main(void)
{
    RUN(pull_policy_follows_the_tag);
    RUN(deployment_defaults);
    RUN(deployment_keeps_what_is_set);
    RUN(service_defaults_and_addresses);
    RUN(service_type_change_drops_what_the_old_type_needed);
    RUN(job_defaults_and_selector);
    RUN(small_kinds);
    RUN(generation_rules);
    return TEST_END();
}
