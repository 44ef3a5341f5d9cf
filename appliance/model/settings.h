/*
 * Argo CD's `argocd-cm` ConfigMap, read as is, for the parts edgecd acts
 * on: resource customizations (custom Lua health checks, ignoreDifferences,
 * ignoreResourceUpdates, knownTypeFields, actions, useOpenLibs) and
 * `resource.compareoptions`. Every other key of the ConfigMap (url, dex,
 * accounts, ...) belongs to Argo CD's server and is left alone.
 *
 * Argo CD spells customizations two ways, and both are accepted:
 *
 *   data:
 *     resource.customizations.health.cert-manager.io_Certificate: |   # <group>_<kind>
 *       hs = {} ...
 *     resource.customizations.useOpenLibs.cert-manager.io_Certificate: "true"
 *     resource.customizations.ignoreDifferences.Service: |            # core group: <kind>
 *       jsonPointers: [/spec/clusterIP]
 *     resource.customizations.ignoreDifferences.all: |                # every kind
 *       managedFieldsManagers: [kube-controller-manager]
 *     resource.customizations: |                                      # older, combined form
 *       "*.aws.crossplane.io/Bucket":                                 # wildcards only here
 *         health.lua: |
 *           ...
 *     resource.compareoptions: |
 *       ignoreAggregatedRoles: true
 *
 * As in Argo CD both forms merge into one override per key: the key is
 * "group/kind", or "kind" alone for the core group, or "* / *" (no
 * spaces) for `all`; a split key sets its one field over what the
 * combined form gave. Overrides keep the order in which their keys first
 * appear in the file, which is the order wildcard keys are tried in (Argo
 * CD tries them in Go map order, which is random).
 *
 * Errors name the file, the line of the ConfigMap key and the key:
 * "argocd-cm.yaml:14: resource.customizations.useOpenLibs.apps_Deployment:
 * must be true or false".
 */
#ifndef EDGECD_MODEL_SETTINGS_H
#define EDGECD_MODEL_SETTINGS_H

#include <jansson.h>
#include <stddef.h>

/* Whole settings file, and the number of customization keys. */
#define SETTINGS_MAX_BYTES (4u << 20)
#define SETTINGS_MAX_OVERRIDES 4096

/* What Argo CD calls a ResourceOverride, for one key. */
struct settings_override {
    char *key;   /* "cert-manager.io/Certificate", "Pod", "* / *" (no spaces) */
    char *group; /* "" for the core group; may hold wildcards (combined form) */
    char *kind;  /* may hold wildcards */
    /* health.lua: NULL when this key has none */
    char *health_lua;
    int use_open_libs; /* useOpenLibs / health.lua.useOpenLibs */
    /* What holds health_lua in the file, for messages about the script:
     * "resource.customizations.health.cert-manager.io_Certificate" or
     * "resource.customizations: cert-manager.io/Certificate: health.lua" */
    char *health_key;
    /* The file line on which the script's first line stands (0: unknown),
     * so a script line N is file line health_line + N - 1. */
    long health_line;
    char *actions; /* kept for resource actions; NULL when none */
    /* ignoreDifferences / ignoreResourceUpdates: NULL or an object whose
     * only members are string lists jsonPointers, jqPathExpressions and
     * managedFieldsManagers (each present, maybe empty). Owned. */
    json_t *ignore_differences;
    json_t *ignore_resource_updates;
    /* knownTypeFields: NULL or a list of {field, type} strings. Owned. */
    json_t *known_type_fields;
};

/* resource.compareoptions */
struct settings_compare {
    int ignore_aggregated_roles;
    /* "crd" (the default), "all" or "off" ("false" is read as "off") */
    char *ignore_resource_status_field;
    int ignore_differences_on_resource_updates;
};

struct settings {
    char *source; /* the file name errors use */
    struct settings_override *overrides;
    size_t n_overrides;
    struct settings_compare compare;
};

/* Read path: one YAML document, a ConfigMap (any name; argocd-cm is
 * usual). out is caller-owned: settings_dispose it, also after a failure.
 * Errors: ERR_NOTFOUND (no file), ERR_TOOLARGE, ERR_INVALID with the
 * message described above. Any thread. */
int settings_load(struct settings *out, const char *path);

/* The same from text; source names it in messages. */
int settings_parse(struct settings *out, const char *data, size_t len, const char *source);

void settings_dispose(struct settings *s);

/* The override whose key is exactly key ("apps/Deployment", "Pod"), or
 * NULL. Borrowed from s. Wildcard keys are not expanded here: whoever
 * matches group/kind against them (health, compare) owns the matching
 * rule. */
const struct settings_override *settings_find(const struct settings *s, const char *key);

#endif
