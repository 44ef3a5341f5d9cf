#include "kinds.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

static const char kinds_subdomain_msg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char kinds_label_msg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
static const char kinds_1035_msg[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

static int kinds_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One DNS label of n bytes: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static int kinds_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !kinds_alnum(s[0]) || !kinds_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!kinds_alnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static int kinds_subdomain_ok(const char *s)
{
    size_t n = strlen(s);
    const char *p = s;
    if (n == 0 || n > 253)
        return 0;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!kinds_label_ok(p, len))
            return 0;
        if (!dot)
            return 1;
        p = dot + 1;
    }
}

/* RBAC objects are named like path segments (ValidateRBACName), which is
 * how `system:controller:...` roles exist. */
static const char *kinds_path_segment_why(const char *name)
{
    if (!strcmp(name, "."))
        return "may not be '.'";
    if (!strcmp(name, ".."))
        return "may not be '..'";
    if (strchr(name, '/'))
        return "may not contain '/'";
    if (strchr(name, '%'))
        return "may not contain '%'";
    return NULL;
}

const char *kinds_check_name(const struct resource *r, const char *name)
{
    if (!r->crd && !strcmp(r->group, "rbac.authorization.k8s.io"))
        return name[0] ? kinds_path_segment_why(name) : "name or generateName is required";
    if (!r->group[0] && strcmp(r->kind, "Namespace") == 0)
        return kinds_label_ok(name, strlen(name)) ? NULL : kinds_label_msg;
    if (!r->group[0] && strcmp(r->kind, "Service") == 0)
        return kinds_label_ok(name, strlen(name)) && name[0] >= 'a' && name[0] <= 'z'
                   ? NULL
                   : kinds_1035_msg;
    return kinds_subdomain_ok(name) ? NULL : kinds_subdomain_msg;
}

static int kinds_is(const struct resource *r, const char *group, const char *kind)
{
    return !r->crd && strcmp(r->group, group) == 0 && strcmp(r->kind, kind) == 0;
}

int kinds_validate(const struct resource *r, const json_t *obj, const char **field)
{
    if (kinds_is(r, "apiextensions.k8s.io", "CustomResourceDefinition")) {
        const json_t *spec = json_object_get(obj, "spec");
        const char *group = json_string_value(json_object_get(spec, "group"));
        const char *plural =
            json_string_value(json_object_get(json_object_get(spec, "names"), "plural"));
        const char *name =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        char *want;
        int ok;
        if (!group) {
            *field = "spec.group";
            return err_set(ERR_INVALID, "Required value");
        }
        if (!plural) {
            *field = "spec.names.plural";
            return err_set(ERR_INVALID, "Required value");
        }
        if (!json_object_get(json_object_get(spec, "names"), "kind")) {
            *field = "spec.names.kind";
            return err_set(ERR_INVALID, "Required value");
        }
        if (json_array_size(json_object_get(spec, "versions")) == 0) {
            *field = "spec.versions";
            return err_set(ERR_INVALID, "Invalid value: null: must have exactly one version "
                                        "marked as storage version");
        }
        want = xasprintf("%s.%s", plural, group);
        ok = name && strcmp(name, want) == 0;
        free(want);
        if (!ok) {
            *field = "metadata.name";
            return err_set(ERR_INVALID,
                           "Invalid value: \"%s\": must be spec.names.plural+\".\"+spec.group",
                           name ? name : "");
        }
    }
    return 0;
}

static json_t *kinds_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

void kinds_status(const struct resource *r, json_t *obj)
{
    /* Workload status comes later, from the simulator (workload.c). */
    if (kinds_is(r, "", "Namespace")) {
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        json_object_set_new(kinds_obj(obj, "spec"), "finalizers", json_pack("[s]", "kubernetes"));
    } else if (kinds_is(r, "apiextensions.k8s.io", "CustomResourceDefinition")) {
        json_t *spec = json_object_get(obj, "spec");
        json_t *stored = json_array();
        json_t *old = json_object_get(json_object_get(obj, "status"), "conditions");
        size_t i;
        json_t *v;
        json_t *st;
        json_array_foreach(json_object_get(spec, "versions"), i, v)
        {
            if (json_is_true(json_object_get(v, "storage")))
                json_array_append(stored, json_object_get(v, "name"));
        }
        st = json_pack("{s:O, s:o}", "acceptedNames", json_object_get(spec, "names"),
                       "storedVersions", stored);
        if (json_array_size(old) == 2) {
            json_object_set(st, "conditions", old);
        } else {
            char now[21];
            time_rfc3339(now);
            json_object_set_new(st, "conditions",
                                json_pack("[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]",
                                          "type", "NamesAccepted", "status", "True",
                                          "lastTransitionTime", now, "reason", "NoConflicts",
                                          "message", "no conflicts found", "type", "Established",
                                          "status", "True", "lastTransitionTime", now, "reason",
                                          "InitialNamesAccepted", "message",
                                          "the initial names have been accepted"));
        }
        json_object_set_new(obj, "status", st);
    }
}
