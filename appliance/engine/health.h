/*
 * Resource health as Argo CD assesses it: the same statuses, the same
 * built-in checks with the same messages (gitops-engine's pkg/health, and
 * Argo CD's own CronJob script), custom checks in Lua from an argocd-cm
 * ConfigMap (model/settings.h) with Argo CD's contract, and the
 * Application's health as the worst of its resources.
 *
 * A kind without a check (ConfigMap, Secret, most custom resources) has
 * no health, as in Argo CD: health_assess gives HEALTH_NONE, whose name
 * is "", and health_app skips it.
 *
 * Order of a check, as gitops-engine's GetResourceHealth:
 *   1. metadata.deletionTimestamp set (and no Argo CD hook finalizer):
 *      Progressing, "Pending deletion";
 *   2. a Lua script configured for the group/kind (exact key first, then
 *      the first wildcard key that matches, in file order);
 *   3. the built-in check for the group/kind, if any.
 * Whatever goes wrong inside a check (a script error or limit, a bad
 * return value, a field of the wrong type, an unsupported apiVersion)
 * gives Unknown with the reason as the message; health_assess itself
 * cannot fail.
 */
#ifndef EDGECD_ENGINE_HEALTH_H
#define EDGECD_ENGINE_HEALTH_H

#include <jansson.h>
#include <stddef.h>

#include "engine/luabox.h"
#include "model/settings.h"

/* Argo CD's statuses, from most to least healthy, so that a larger value
 * is worse. HEALTH_NONE is "no health assessed" and sorts below all. */
enum health_status {
    HEALTH_NONE = 0,
    HEALTH_HEALTHY,
    HEALTH_SUSPENDED,
    HEALTH_PROGRESSING,
    HEALTH_MISSING,
    HEALTH_DEGRADED,
    HEALTH_UNKNOWN,
};

struct health_result {
    enum health_status status;
    /* What the app's health counts this resource as: status, except for
     * checks that say otherwise (a suspended Job or CronJob counts as
     * Healthy, as Argo CD's aggregateAs does). */
    enum health_status aggregate_as;
    char *message; /* owned; "" when none, never NULL after health_assess */
};

/* Release r's message; r may be zeroed or already disposed. */
void health_result_dispose(struct health_result *r);

/* "Healthy", "Suspended", "Progressing", "Missing", "Degraded",
 * "Unknown"; "" for HEALTH_NONE. Static strings. */
const char *health_status_name(enum health_status s);

/* The status named name (exact, as above; "" is HEALTH_NONE); -1 if none. */
int health_status_parse(const char *name, enum health_status *out);

/* 1 if next is worse than current in Argo CD's order (IsWorse). */
int health_is_worse(enum health_status current, enum health_status next);

/* The worst of n statuses (HEALTH_NONE entries ignored); HEALTH_HEALTHY
 * for none at all. */
enum health_status health_worst(const enum health_status *list, size_t n);

/* Custom checks compiled from settings, with the sandbox limits. */
typedef struct health_checks health_checks;

/* Build the custom checks of settings (borrowed; may be NULL for
 * built-ins only; the scripts are copied). Every health script is
 * compiled now, so a syntax error is reported at load with the file,
 * line and key, not at the first object; wildcard keys must be valid
 * globs. lim NULL: LUABOX_LIMITS_INIT. ERR_INVALID on a bad script or
 * key. The result is read-only: any number of threads may use it at
 * once. */
int health_checks_new(health_checks **out, const struct settings *settings,
                      const struct luabox_limits *lim);
void health_checks_free(health_checks *hc);

/* The health of obj (a live object; borrowed). checks may be NULL (no
 * custom checks). out is caller-owned; health_result_dispose it. Never
 * fails: see above. Any thread. */
void health_assess(struct health_result *out, const health_checks *checks, const json_t *obj);

/* One resource of an Application, for health_app. */
struct health_resource {
    const json_t *live;                 /* NULL: not in the cluster */
    const json_t *target;               /* the desired object; may be NULL */
    const struct health_result *health; /* of live; NULL when live is NULL */
};

/* The Application's health from its resources, with Argo CD's rules
 * (controller/health.go): hooks and resources annotated
 * argocd.argoproj.io/ignore-healthcheck: "true" do not count, nor do
 * kinds without health; a missing resource does not count (OutOfSync
 * says it), but an app none of whose resources exist is Missing; a
 * child Application that is Missing or Unknown does not count; the rest
 * counts by aggregate_as, the worst winning. Healthy for no resources. */
enum health_status health_app(const struct health_resource *res, size_t n);

#endif
