/*
 * Printers as a table: one entry per group/kind with its columns and the
 * function that computes a row's cells after Name (Age included where
 * the real printer puts it). Ages are strings made here from
 * creationTimestamp with the API server's HumanDuration, as its built-in
 * printers do; custom resources get a "date" column whose cell is the
 * same human duration (the CRD convertor's ConvertToHumanReadableDateType,
 * which is why kubectl shows AGE 5m for them), and CRDs the default
 * convertor's raw RFC 3339 time (kubectl shows CREATED AT as sent).
 */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/mem.h"
#include "objects.h"

struct table_column {
    const char *name;
    const char *type;
    const char *format;
    const char *description;
    int priority;
};

#define TABLE_MAX_COLUMNS 12

struct table_printer {
    const char *group;
    const char *kind;
    struct table_column columns[TABLE_MAX_COLUMNS]; /* after Name; ends at name NULL */
    void (*row)(const json_t *obj, json_t *cells);
};

static const char table_name_desc[] =
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
static const char table_age_desc[] =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata";

#define TABLE_AGE                                                                                  \
    {                                                                                              \
        "Age", "string", "", table_age_desc, 0                                                     \
    }
#define TABLE_CONTAINERS                                                                           \
    {                                                                                              \
        "Containers", "string", "", "Names of each container in the template.", 1                  \
    }
#define TABLE_IMAGES                                                                               \
    {                                                                                              \
        "Images", "string", "", "Images referenced by each container in the template.", 1          \
    }

/* ---- values ---- */

static const json_t *table_at(const json_t *obj, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return v;
}

static const char *table_str(const json_t *v, const char *dflt)
{
    const char *s = json_string_value(v);
    return s && s[0] ? s : dflt;
}

static long long table_int(const json_t *v)
{
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* RFC 3339 UTC ("2026-11-23T12:00:00Z") to seconds; -1 if not one. */
static long long table_time(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (long long)timegm(&tm);
}

/* apimachinery's duration.HumanDuration. */
static char *table_human(long long secs)
{
    long long m = secs / 60, h = secs / 3600;
    if (secs < -1)
        return xstrdup("<invalid>");
    if (secs < 0)
        return xstrdup("0s");
    if (secs < 120)
        return xasprintf("%llds", secs);
    if (m < 10)
        return secs % 60 ? xasprintf("%lldm%llds", m, secs % 60) : xasprintf("%lldm", m);
    if (m < 180)
        return xasprintf("%lldm", m);
    if (h < 8)
        return m % 60 ? xasprintf("%lldh%lldm", h, m % 60) : xasprintf("%lldh", h);
    if (h < 48)
        return xasprintf("%lldh", h);
    if (h < 24 * 8)
        return h % 24 ? xasprintf("%lldd%lldh", h / 24, h % 24) : xasprintf("%lldd", h / 24);
    if (h < 24 * 365 * 2)
        return xasprintf("%lldd", h / 24);
    if (h < 24 * 365 * 8)
        return (h / 24) % 365 ? xasprintf("%lldy%lldd", h / 24 / 365, (h / 24) % 365)
                              : xasprintf("%lldy", h / 24 / 365);
    return xasprintf("%lldy", h / 24 / 365);
}

static void table_add_str(json_t *cells, const char *s)
{
    json_array_append_new(cells, json_string(s));
}

static void table_add_own(json_t *cells, char *s)
{
    json_array_append_new(cells, json_string(s));
    free(s);
}

static void table_add_int(json_t *cells, long long v)
{
    json_array_append_new(cells, json_integer((json_int_t)v));
}

/* translateTimestampSince: the age of a timestamp, "<unknown>" if none. */
static char *table_since(const json_t *ts)
{
    long long t = table_time(json_string_value(ts));
    if (t < 0)
        return xstrdup("<unknown>");
    return table_human((long long)time(NULL) - t);
}

static void table_add_age(json_t *cells, const json_t *obj)
{
    table_add_own(cells, table_since(table_at(obj, "metadata", "creationTimestamp", NULL)));
}

static int table_cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k=v,k2=v2" sorted by key (labels.Set.String); dflt when empty. */
static char *table_label_set(const json_t *m, const char *dflt)
{
    const char *keys[64], *k;
    const json_t *v;
    size_t n = 0;
    struct buf b = BUF_INIT;
    json_object_foreach((json_t *)m, k, v)
    {
        if (n < 64)
            keys[n++] = k;
    }
    if (n == 0)
        return xstrdup(dflt);
    qsort(keys, n, sizeof(keys[0]), table_cmp_keys);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i],
                   table_str(json_object_get(m, keys[i]), ""));
    return buf_detach(&b);
}

/* A LabelSelector as metav1.LabelSelectorAsSelector prints it. */
static char *table_selector(const json_t *sel, const char *dflt)
{
    struct buf b = BUF_INIT;
    char *ls = table_label_set(json_object_get(sel, "matchLabels"), "");
    const json_t *e;
    size_t i;
    buf_puts(&b, ls);
    free(ls);
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, e)
    {
        const char *op = table_str(json_object_get(e, "operator"), "");
        const char *key = table_str(json_object_get(e, "key"), "");
        const json_t *v;
        size_t j;
        if (b.len)
            buf_putc(&b, ',');
        if (strcmp(op, "Exists") == 0) {
            buf_puts(&b, key);
            continue;
        }
        if (strcmp(op, "DoesNotExist") == 0) {
            buf_printf(&b, "!%s", key);
            continue;
        }
        buf_printf(&b, "%s %s (", key, strcmp(op, "NotIn") == 0 ? "notin" : "in");
        json_array_foreach(json_object_get(e, "values"), j, v)
        {
            buf_printf(&b, "%s%s", j ? "," : "", table_str(v, ""));
        }
        buf_putc(&b, ')');
    }
    if (!b.len) {
        buf_dispose(&b);
        return xstrdup(dflt);
    }
    return buf_detach(&b);
}

/* Containers and Images of a pod template, comma-separated. */
static void table_add_template(json_t *cells, const json_t *tpl)
{
    struct buf names = BUF_INIT, images = BUF_INIT;
    const json_t *c;
    size_t i;
    json_array_foreach(table_at(tpl, "spec", "containers", NULL), i, c)
    {
        buf_printf(&names, "%s%s", i ? "," : "", table_str(json_object_get(c, "name"), ""));
        buf_printf(&images, "%s%s", i ? "," : "", table_str(json_object_get(c, "image"), ""));
    }
    table_add_own(cells, buf_detach(&names));
    table_add_own(cells, buf_detach(&images));
}

/* ---- rows, one function per printer ---- */

/* The later of last and when container status cs last terminated. */
static long long table_last_restart(const json_t *cs, long long last)
{
    long long t =
        table_time(json_string_value(table_at(cs, "lastState", "terminated", "finishedAt")));
    return t > last ? t : last;
}

static void table_row_pod(const json_t *obj, json_t *cells)
{
    const json_t *st = json_object_get(obj, "status"), *cs, *gates;
    const char *reason = table_str(json_object_get(st, "phase"), "");
    long long restarts = 0, ready = 0, total, last_restart = -1;
    size_t i, n;
    char *buf = NULL;

    total = (long long)json_array_size(table_at(obj, "spec", "containers", NULL));
    if (table_str(json_object_get(st, "reason"), NULL))
        reason = table_str(json_object_get(st, "reason"), "");
    /* Init containers first: a pod still initializing says so. */
    n = json_array_size(json_object_get(st, "initContainerStatuses"));
    for (i = 0; i < n; i++) {
        cs = json_array_get(json_object_get(st, "initContainerStatuses"), i);
        restarts += table_int(json_object_get(cs, "restartCount"));
        last_restart = table_last_restart(cs, last_restart);
        const json_t *term = table_at(cs, "state", "terminated", NULL);
        const char *wr = table_str(table_at(cs, "state", "waiting", "reason"), NULL);
        if (term && table_int(json_object_get(term, "exitCode")) == 0)
            continue;
        free(buf);
        if (term)
            buf = xasprintf("Init:%s", table_str(json_object_get(term, "reason"), "Error"));
        else if (wr && strcmp(wr, "PodInitializing") != 0)
            buf = xasprintf("Init:%s", wr);
        else
            buf = xasprintf("Init:%zu/%zu", i, n);
        reason = buf;
        break;
    }
    if (!buf) {
        int running = 0;
        n = json_array_size(json_object_get(st, "containerStatuses"));
        for (i = n; i-- > 0;) {
            cs = json_array_get(json_object_get(st, "containerStatuses"), i);
            const json_t *term = table_at(cs, "state", "terminated", NULL);
            const char *wr = table_str(table_at(cs, "state", "waiting", "reason"), NULL);
            restarts += table_int(json_object_get(cs, "restartCount"));
            last_restart = table_last_restart(cs, last_restart);
            if (wr) {
                reason = wr;
            } else if (term && table_str(json_object_get(term, "reason"), NULL)) {
                reason = table_str(json_object_get(term, "reason"), "");
            } else if (term) {
                free(buf);
                buf =
                    table_int(json_object_get(term, "signal"))
                        ? xasprintf("Signal:%lld", table_int(json_object_get(term, "signal")))
                        : xasprintf("ExitCode:%lld", table_int(json_object_get(term, "exitCode")));
                reason = buf;
            } else if (json_is_true(json_object_get(cs, "ready")) &&
                       table_at(cs, "state", "running", NULL)) {
                running = 1;
                ready++;
            }
        }
        if (strcmp(reason, "Completed") == 0 && running)
            reason = ready == total ? "Running" : "NotReady";
    }
    if (table_at(obj, "metadata", "deletionTimestamp", NULL))
        reason = strcmp(table_str(json_object_get(st, "reason"), ""), "NodeLost") == 0
                     ? "Unknown"
                     : "Terminating";
    table_add_own(cells, xasprintf("%lld/%lld", ready, total));
    table_add_str(cells, reason);
    if (restarts && last_restart >= 0) {
        char *ago = table_human((long long)time(NULL) - last_restart);
        table_add_own(cells, xasprintf("%lld (%s ago)", restarts, ago));
        free(ago);
    } else {
        table_add_own(cells, xasprintf("%lld", restarts));
    }
    free(buf);
    table_add_age(cells, obj);
    table_add_str(cells, table_str(json_object_get(st, "podIP"), "<none>"));
    table_add_str(cells, table_str(table_at(obj, "spec", "nodeName", NULL), "<none>"));
    table_add_str(cells, table_str(json_object_get(st, "nominatedNodeName"), "<none>"));
    gates = table_at(obj, "spec", "readinessGates", NULL);
    if (json_array_size(gates) == 0) {
        table_add_str(cells, "<none>");
    } else {
        long long ok = 0;
        const json_t *g, *c;
        size_t j, k;
        json_array_foreach(gates, j, g)
        {
            json_array_foreach(json_object_get(st, "conditions"), k, c)
            {
                if (json_equal(json_object_get(c, "type"), json_object_get(g, "conditionType")) &&
                    strcmp(table_str(json_object_get(c, "status"), ""), "True") == 0)
                    ok++;
            }
        }
        table_add_own(cells, xasprintf("%lld/%zu", ok, json_array_size(gates)));
    }
}

static void table_row_deployment(const json_t *obj, json_t *cells)
{
    const json_t *st = json_object_get(obj, "status");
    const json_t *want = table_at(obj, "spec", "replicas", NULL);
    table_add_own(cells, xasprintf("%lld/%lld", table_int(json_object_get(st, "readyReplicas")),
                                   want ? table_int(want) : 1));
    table_add_int(cells, table_int(json_object_get(st, "updatedReplicas")));
    table_add_int(cells, table_int(json_object_get(st, "availableReplicas")));
    table_add_age(cells, obj);
    table_add_template(cells, table_at(obj, "spec", "template", NULL));
    table_add_own(cells, table_selector(table_at(obj, "spec", "selector", NULL), ""));
}

static void table_row_replicaset(const json_t *obj, json_t *cells)
{
    const json_t *st = json_object_get(obj, "status");
    const json_t *want = table_at(obj, "spec", "replicas", NULL);
    table_add_int(cells, want ? table_int(want) : 1);
    table_add_int(cells, table_int(json_object_get(st, "replicas")));
    table_add_int(cells, table_int(json_object_get(st, "readyReplicas")));
    table_add_age(cells, obj);
    table_add_template(cells, table_at(obj, "spec", "template", NULL));
    table_add_own(cells, table_selector(table_at(obj, "spec", "selector", NULL), ""));
}

static void table_row_statefulset(const json_t *obj, json_t *cells)
{
    const json_t *want = table_at(obj, "spec", "replicas", NULL);
    table_add_own(cells,
                  xasprintf("%lld/%lld", table_int(table_at(obj, "status", "readyReplicas", NULL)),
                            want ? table_int(want) : 1));
    table_add_age(cells, obj);
    table_add_template(cells, table_at(obj, "spec", "template", NULL));
}

static void table_row_daemonset(const json_t *obj, json_t *cells)
{
    const json_t *st = json_object_get(obj, "status");
    table_add_int(cells, table_int(json_object_get(st, "desiredNumberScheduled")));
    table_add_int(cells, table_int(json_object_get(st, "currentNumberScheduled")));
    table_add_int(cells, table_int(json_object_get(st, "numberReady")));
    table_add_int(cells, table_int(json_object_get(st, "updatedNumberScheduled")));
    table_add_int(cells, table_int(json_object_get(st, "numberAvailable")));
    table_add_own(cells, table_label_set(json_object_get(table_at(obj, "spec", "template", "spec"),
                                                         "nodeSelector"),
                                         "<none>"));
    table_add_age(cells, obj);
    table_add_template(cells, table_at(obj, "spec", "template", NULL));
    table_add_own(cells, table_selector(table_at(obj, "spec", "selector", NULL), "<none>"));
}

/* Join the strings of arr (or the "ip"/"hostname" of its objects). */
static void table_join(struct buf *b, const json_t *arr)
{
    const json_t *v;
    size_t i;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_is_string(v)
                            ? json_string_value(v)
                            : table_str(json_object_get(v, "ip"),
                                        table_str(json_object_get(v, "hostname"), ""));
        if (!s[0])
            continue;
        if (b->len)
            buf_putc(b, ',');
        buf_puts(b, s);
    }
}

static void table_row_service(const json_t *obj, json_t *cells)
{
    const json_t *spec = json_object_get(obj, "spec"), *p;
    const char *type = table_str(json_object_get(spec, "type"), "ClusterIP");
    struct buf b = BUF_INIT;
    size_t i;
    table_add_str(cells, type);
    table_add_str(cells, table_str(json_object_get(spec, "clusterIP"), "<none>"));
    if (strcmp(type, "ExternalName") == 0) {
        buf_puts(&b, table_str(json_object_get(spec, "externalName"), ""));
    } else {
        if (strcmp(type, "LoadBalancer") == 0)
            table_join(&b, table_at(obj, "status", "loadBalancer", "ingress"));
        table_join(&b, json_object_get(spec, "externalIPs"));
        if (!b.len)
            buf_puts(&b, strcmp(type, "LoadBalancer") == 0 ? "<pending>" : "<none>");
    }
    table_add_own(cells, buf_detach(&b));
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        const char *proto = table_str(json_object_get(p, "protocol"), "TCP");
        if (i)
            buf_putc(&b, ',');
        if (table_int(json_object_get(p, "nodePort")))
            buf_printf(&b, "%lld:%lld/%s", table_int(json_object_get(p, "port")),
                       table_int(json_object_get(p, "nodePort")), proto);
        else
            buf_printf(&b, "%lld/%s", table_int(json_object_get(p, "port")), proto);
    }
    if (!b.len)
        buf_puts(&b, "<none>");
    table_add_own(cells, buf_detach(&b));
    table_add_age(cells, obj);
    table_add_own(cells, table_label_set(json_object_get(spec, "selector"), "<none>"));
}

static void table_row_configmap(const json_t *obj, json_t *cells)
{
    table_add_int(cells, (long long)(json_object_size(json_object_get(obj, "data")) +
                                     json_object_size(json_object_get(obj, "binaryData"))));
    table_add_age(cells, obj);
}

static void table_row_secret(const json_t *obj, json_t *cells)
{
    table_add_str(cells, table_str(json_object_get(obj, "type"), "Opaque"));
    table_add_int(cells, (long long)(json_object_size(json_object_get(obj, "data")) +
                                     json_object_size(json_object_get(obj, "stringData"))));
    table_add_age(cells, obj);
}

static void table_row_namespace(const json_t *obj, json_t *cells)
{
    table_add_str(cells, table_str(table_at(obj, "status", "phase", NULL), ""));
    table_add_age(cells, obj);
}

static int table_condition(const json_t *obj, const char *type)
{
    const json_t *c;
    size_t i;
    json_array_foreach(table_at(obj, "status", "conditions", NULL), i, c)
    {
        if (strcmp(table_str(json_object_get(c, "type"), ""), type) == 0 &&
            strcmp(table_str(json_object_get(c, "status"), ""), "True") == 0)
            return 1;
    }
    return 0;
}

static void table_row_job(const json_t *obj, json_t *cells)
{
    const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
    long long succeeded = table_int(json_object_get(st, "succeeded"));
    long long start = table_time(json_string_value(json_object_get(st, "startTime")));
    long long end = table_time(json_string_value(json_object_get(st, "completionTime")));
    const char *status = "Running";
    if (table_condition(obj, "Complete"))
        status = "Complete";
    else if (table_condition(obj, "Failed"))
        status = "Failed";
    else if (table_condition(obj, "FailureTarget"))
        status = "FailureTarget";
    else if (table_condition(obj, "SuccessCriteriaMet"))
        status = "SuccessCriteriaMet";
    else if (table_condition(obj, "Suspended") || json_is_true(json_object_get(spec, "suspend")))
        status = "Suspended";
    table_add_str(cells, status);
    if (json_is_integer(json_object_get(spec, "completions")))
        table_add_own(cells, xasprintf("%lld/%lld", succeeded,
                                       table_int(json_object_get(spec, "completions"))));
    else if (table_int(json_object_get(spec, "parallelism")) > 1)
        table_add_own(cells, xasprintf("%lld/1 of %lld", succeeded,
                                       table_int(json_object_get(spec, "parallelism"))));
    else
        table_add_own(cells, xasprintf("%lld/1", succeeded));
    if (start < 0)
        table_add_str(cells, "");
    else
        table_add_own(cells, table_human((end < 0 ? (long long)time(NULL) : end) - start));
    table_add_age(cells, obj);
    table_add_template(cells, json_object_get(spec, "template"));
    table_add_own(cells, table_selector(json_object_get(spec, "selector"), ""));
}

static void table_row_pvc(const json_t *obj, json_t *cells)
{
    const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status"), *m;
    struct buf b = BUF_INIT;
    size_t i;
    table_add_str(cells, table_at(obj, "metadata", "deletionTimestamp", NULL)
                             ? "Terminating"
                             : table_str(json_object_get(st, "phase"), ""));
    table_add_str(cells, table_str(json_object_get(spec, "volumeName"), ""));
    table_add_str(cells, json_object_get(spec, "volumeName")
                             ? table_str(table_at(st, "capacity", "storage", NULL), "")
                             : "");
    json_array_foreach(json_object_get(st, "accessModes"), i, m)
    {
        const char *s = table_str(m, "");
        const char *abbr = strcmp(s, "ReadWriteOnce") == 0      ? "RWO"
                           : strcmp(s, "ReadOnlyMany") == 0     ? "ROX"
                           : strcmp(s, "ReadWriteMany") == 0    ? "RWX"
                           : strcmp(s, "ReadWriteOncePod") == 0 ? "RWOP"
                                                                : s;
        buf_printf(&b, "%s%s", i ? "," : "", abbr);
    }
    table_add_own(cells, buf_detach(&b));
    table_add_str(cells, table_str(json_object_get(spec, "storageClassName"), ""));
    table_add_str(cells, table_str(json_object_get(spec, "volumeAttributesClassName"), "<unset>"));
    table_add_age(cells, obj);
    table_add_str(cells, table_str(json_object_get(spec, "volumeMode"), "<unset>"));
}

static void table_row_node(const json_t *obj, json_t *cells)
{
    const json_t *c, *v;
    const char *k;
    struct buf b = BUF_INIT;
    const char *ready = "Unknown";
    size_t i;
    json_array_foreach(table_at(obj, "status", "conditions", NULL), i, c)
    {
        if (strcmp(table_str(json_object_get(c, "type"), ""), "Ready") == 0)
            ready = strcmp(table_str(json_object_get(c, "status"), ""), "True") == 0 ? "Ready"
                                                                                     : "NotReady";
    }
    buf_puts(&b, ready);
    if (json_is_true(table_at(obj, "spec", "unschedulable", NULL)))
        buf_puts(&b, ",SchedulingDisabled");
    table_add_own(cells, buf_detach(&b));
    {
        const char *roles[32];
        size_t n = 0;
        json_object_foreach((json_t *)table_at(obj, "metadata", "labels", NULL), k, v)
        {
            if (strncmp(k, "node-role.kubernetes.io/", 24) == 0 && k[24] && n < 32)
                roles[n++] = k + 24;
            else if (strcmp(k, "kubernetes.io/role") == 0 && n < 32 && json_string_value(v))
                roles[n++] = json_string_value(v);
        }
        qsort(roles, n, sizeof(roles[0]), table_cmp_keys);
        for (i = 0; i < n; i++)
            buf_printf(&b, "%s%s", i ? "," : "", roles[i]);
        if (!n)
            buf_puts(&b, "<none>");
        table_add_own(cells, buf_detach(&b));
    }
    table_add_age(cells, obj);
    table_add_str(cells, table_str(table_at(obj, "status", "nodeInfo", "kubeletVersion"), ""));
}

static void table_row_crd(const json_t *obj, json_t *cells)
{
    table_add_str(cells, table_str(table_at(obj, "metadata", "creationTimestamp", NULL), ""));
}

static void table_row_age(const json_t *obj, json_t *cells)
{
    table_add_age(cells, obj);
}

static const struct table_printer table_printers[] = {
    {"",
     "Pod",
     {{"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.",
       0},
      {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
      {"Restarts", "string", "",
       "The number of times the containers in this pod have been restarted and when the last "
       "container in this pod has restarted.",
       0},
      TABLE_AGE,
      {"IP", "string", "",
       "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
       "yet allocated.",
       1},
      {"Node", "string", "",
       "NodeName indicates in which node this pod is scheduled. If empty, this pod is a "
       "candidate for scheduling by the scheduler defined in schedulerName.",
       1},
      {"Nominated Node", "string", "",
       "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
       "cannot be scheduled right away as preemption victims receive their graceful "
       "termination periods.",
       1},
      {"Readiness Gates", "string", "",
       "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready "
       "when all its containers are ready AND all conditions specified in the readiness gates "
       "have status equal to \"True\".",
       1}},
     table_row_pod},
    {"apps",
     "Deployment",
     {{"Ready", "string", "", "Number of the pod with ready state", 0},
      {"Up-to-date", "integer", "",
       "Total number of non-terminated pods targeted by this deployment that have the desired "
       "template spec.",
       0},
      {"Available", "integer", "",
       "Total number of available pods (ready for at least minReadySeconds) targeted by this "
       "deployment.",
       0},
      TABLE_AGE,
      TABLE_CONTAINERS,
      TABLE_IMAGES,
      {"Selector", "string", "",
       "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be "
       "the ones affected by this deployment.",
       1}},
     table_row_deployment},
    {"apps",
     "ReplicaSet",
     {{"Desired", "integer", "",
       "Replicas is the number of desired pods. This is a pointer to distinguish between "
       "explicit zero and unspecified. Defaults to 1.",
       0},
      {"Current", "integer", "", "Replicas is the most recently observed number of replicas.", 0},
      {"Ready", "integer", "", "The number of ready replicas for this replica set.", 0},
      TABLE_AGE,
      TABLE_CONTAINERS,
      TABLE_IMAGES,
      {"Selector", "string", "",
       "Selector is a label query over pods that should match the replica count.", 1}},
     table_row_replicaset},
    {"apps",
     "StatefulSet",
     {{"Ready", "string", "", "Number of the pod with ready state", 0},
      TABLE_AGE,
      TABLE_CONTAINERS,
      TABLE_IMAGES},
     table_row_statefulset},
    {"apps",
     "DaemonSet",
     {{"Desired", "integer", "", "The total number of nodes that should be running the daemon pod.",
       0},
      {"Current", "integer", "",
       "The number of nodes that are running at least 1 daemon pod and are supposed to run "
       "the daemon pod.",
       0},
      {"Ready", "integer", "",
       "numberReady is the number of nodes that should be running the daemon pod and have one "
       "or more of the daemon pod running with a Ready Condition.",
       0},
      {"Up-to-date", "integer", "", "The total number of nodes that are running updated daemon pod",
       0},
      {"Available", "integer", "",
       "The number of nodes that should be running the daemon pod and have one or more of the "
       "daemon pod running and available (ready for at least spec.minReadySeconds)",
       0},
      {"Node Selector", "string", "",
       "NodeSelector is a selector which must be true for the pod to fit on a node.", 0},
      TABLE_AGE,
      TABLE_CONTAINERS,
      TABLE_IMAGES,
      {"Selector", "string", "", "A label query over pods that are managed by the daemon set.", 1}},
     table_row_daemonset},
    {"",
     "Service",
     {{"Type", "string", "", "type determines how the Service is exposed. Defaults to ClusterIP.",
       0},
      {"Cluster-IP", "string", "",
       "clusterIP is the IP address of the service and is usually assigned randomly.", 0},
      {"External-IP", "string", "",
       "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
       "traffic for this service.",
       0},
      {"Port(s)", "string", "", "The list of ports that are exposed by this service.", 0},
      TABLE_AGE,
      {"Selector", "string", "",
       "Route service traffic to pods with label keys and values matching this selector.", 1}},
     table_row_service},
    {"",
     "ConfigMap",
     {{"Data", "integer", "", "Data contains the configuration data.", 0}, TABLE_AGE},
     table_row_configmap},
    {"",
     "Secret",
     {{"Type", "string", "", "Used to facilitate programmatic handling of secret data.", 0},
      {"Data", "integer", "", "Data contains the secret data.", 0},
      TABLE_AGE},
     table_row_secret},
    {"",
     "Namespace",
     {{"Status", "string", "", "The status of the namespace", 0}, TABLE_AGE},
     table_row_namespace},
    {"batch",
     "Job",
     {{"Status", "string", "", "Status of the job.", 0},
      {"Completions", "string", "",
       "The desired number of successfully finished pods the job "
       "should be run with.",
       0},
      {"Duration", "string", "", "Time required to complete the job.", 0},
      TABLE_AGE,
      TABLE_CONTAINERS,
      TABLE_IMAGES,
      {"Selector", "string", "", "A label query over pods that should match the pod count.", 1}},
     table_row_job},
    {"",
     "PersistentVolumeClaim",
     {{"Status", "string", "", "Phase represents the current phase of PersistentVolumeClaim.", 0},
      {"Volume", "string", "",
       "VolumeName is the binding reference to the PersistentVolume backing this claim.", 0},
      {"Capacity", "string", "", "Represents the actual resources of the underlying volume.", 0},
      {"Access Modes", "string", "",
       "AccessModes contains the actual access modes the volume backing the PVC has.", 0},
      {"StorageClass", "string", "",
       "StorageClassName is the name of the StorageClass required by the claim.", 0},
      {"VolumeAttributesClass", "string", "",
       "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this "
       "claim.",
       0},
      TABLE_AGE,
      {"VolumeMode", "string", "",
       "volumeMode defines what type of volume is required by the claim.", 1}},
     table_row_pvc},
    {"",
     "Node",
     {{"Status", "string", "", "The status of the node", 0},
      {"Roles", "string", "", "The roles of the node", 0},
      TABLE_AGE,
      {"Version", "string", "", "Kubelet Version reported by the node.", 0}},
     table_row_node},
    {"apiextensions.k8s.io",
     "CustomResourceDefinition",
     {{"Created At", "date", "", table_age_desc, 0}},
     table_row_crd},
};

static const struct table_printer table_default = {NULL, NULL, {TABLE_AGE}, table_row_age};
static const struct table_printer table_custom = {
    NULL, NULL, {{"Age", "date", "", table_age_desc, 0}}, table_row_age};

static const struct table_printer *table_find(const char *group, const char *kind, int custom)
{
    if (custom)
        return &table_custom;
    for (size_t i = 0; i < sizeof(table_printers) / sizeof(table_printers[0]); i++)
        if (strcmp(table_printers[i].group, group) == 0 &&
            strcmp(table_printers[i].kind, kind) == 0)
            return &table_printers[i];
    return &table_default;
}

/* ---- the request and the Table ---- */

const char *table_wanted(const struct httpd_request *req)
{
    const char *p = req->accept;
    /* The clauses in order: the first that asks for a Table decides its
     * version; an earlier clause for plain JSON means no Table. */
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *clause = xstrndup(p, len);
        const char *res = NULL;
        int table = strstr(clause, "as=Table") != NULL;
        if (table && strstr(clause, "g=meta.k8s.io")) {
            if (strstr(clause, "v=v1beta1"))
                res = "meta.k8s.io/v1beta1";
            else if (strstr(clause, "v=v1"))
                res = "meta.k8s.io/v1";
        }
        free(clause);
        if (res)
            return res;
        if (!table)
            return NULL;
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

enum table_include table_include_of(const struct httpd_request *req)
{
    char *v = httpd_query_get(req, "includeObject");
    enum table_include inc = TABLE_INCLUDE_METADATA;
    if (v && strcmp(v, "Object") == 0)
        inc = TABLE_INCLUDE_OBJECT;
    else if (v && strcmp(v, "None") == 0)
        inc = TABLE_INCLUDE_NONE;
    free(v);
    return inc;
}

json_t *table_custom_columns(const struct resource *r)
{
    const struct resource *crds;
    json_t *rec, *v;
    size_t i;
    if (!r->crd)
        return NULL;
    crds = resources_find_kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition");
    rec = crds ? objects_get(crds, NULL, r->crd) : NULL;
    json_array_foreach(table_at(json_object_get(rec, "object"), "spec", "versions", NULL), i, v)
    {
        const json_t *cols = json_object_get(v, "additionalPrinterColumns");
        if (strcmp(table_str(json_object_get(v, "name"), ""), r->version) == 0 &&
            json_is_array(cols))
            return json_deep_copy(cols);
    }
    return json_array();
}

/* A simple JSONPath (".a.b[0].c", braces allowed) over obj; NULL when it
 * does not resolve, or uses filters or wildcards, which kubesim does not
 * evaluate. */
static const json_t *table_path(const json_t *obj, const char *path)
{
    const json_t *v = obj;
    const char *p = path;
    size_t len = strlen(path);
    if (len && p[0] == '{' && p[len - 1] == '}') {
        p++;
        len -= 2;
    }
    while (len) {
        size_t n = 0;
        if (*p != '.')
            return NULL;
        p++;
        len--;
        while (n < len && p[n] != '.' && p[n] != '[')
            n++;
        if (n == 0 || memchr(p, '*', n))
            return NULL;
        {
            char *key = xstrndup(p, n);
            v = json_object_get(v, key);
            free(key);
        }
        p += n;
        len -= n;
        while (len && *p == '[') {
            char *end;
            long idx = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || idx < 0)
                return NULL;
            v = json_array_get(v, (size_t)idx);
            len -= (size_t)(end + 1 - p);
            p = end + 1;
        }
        if (!v)
            return NULL;
    }
    return v;
}

/* A custom column's cell from the value its path found, by its type. */
static json_t *table_custom_cell(const char *type, const json_t *v)
{
    if (!v || json_is_null(v))
        return json_null();
    if (strcmp(type, "integer") == 0)
        return json_is_number(v) ? json_integer((json_int_t)json_number_value(v)) : json_null();
    if (strcmp(type, "number") == 0 || strcmp(type, "boolean") == 0)
        return json_is_number(v) || json_is_boolean(v) ? json_deep_copy(v) : json_null();
    if (strcmp(type, "date") == 0) {
        char *age = table_since(v);
        json_t *cell = json_string(age);
        free(age);
        return cell;
    }
    if (json_is_string(v))
        return json_deep_copy(v);
    {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *cell = json_string(text ? text : "");
        free(text);
        return cell;
    }
}

json_t *table_new(const char *api_version, const char *group, const char *kind,
                  const json_t *custom, int headers)
{
    const struct table_printer *p = table_find(group, kind, custom != NULL);
    json_t *cols = json_array();
    if (headers) {
        const json_t *c;
        size_t i;
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", "Name", "type",
                                              "string", "format", "name", "description",
                                              table_name_desc, "priority", 0));
        json_array_foreach(json_array_size(custom) ? custom : NULL, i, c)
        {
            json_array_append_new(
                cols, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name",
                                table_str(json_object_get(c, "name"), ""), "type",
                                table_str(json_object_get(c, "type"), "string"), "format",
                                table_str(json_object_get(c, "format"), ""), "description",
                                table_str(json_object_get(c, "description"), ""), "priority",
                                (json_int_t)table_int(json_object_get(c, "priority"))));
        }
        for (const struct table_column *col = json_array_size(custom) ? NULL : p->columns;
             col && col->name; col++)
            json_array_append_new(cols,
                                  json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", col->name, "type",
                                            col->type, "format", col->format, "description",
                                            col->description, "priority", col->priority));
    }
    return json_pack("{s:s, s:s, s:{}, s:o, s:[]}", "kind", "Table", "apiVersion", api_version,
                     "metadata", "columnDefinitions", cols, "rows");
}

void table_add_row(json_t *table, const char *group, const char *kind, const json_t *custom,
                   const json_t *obj, enum table_include inc)
{
    const struct table_printer *p = table_find(group, kind, custom != NULL);
    json_t *cells = json_array();
    json_t *row;
    table_add_str(cells, table_str(table_at(obj, "metadata", "name", NULL), ""));
    if (json_array_size(custom)) {
        const json_t *c;
        size_t i;
        json_array_foreach(custom, i, c)
        {
            json_array_append_new(
                cells,
                table_custom_cell(table_str(json_object_get(c, "type"), "string"),
                                  table_path(obj, table_str(json_object_get(c, "jsonPath"), ""))));
        }
    } else {
        p->row(obj, cells);
    }
    row = json_pack("{s:o}", "cells", cells);
    if (inc == TABLE_INCLUDE_OBJECT)
        json_object_set_new(row, "object", json_deep_copy(obj));
    else if (inc == TABLE_INCLUDE_METADATA)
        json_object_set_new(row, "object",
                            json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata",
                                      "apiVersion", "meta.k8s.io/v1", "metadata",
                                      json_object_get(obj, "metadata")));
    json_array_append_new(json_object_get(table, "rows"), row);
}
