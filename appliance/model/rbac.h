/*
 * Role-based access as Argo CD writes it: the `policy.csv` of an
 * `argocd-rbac-cm` ConfigMap (taken as is), Argo CD's built-in roles, and
 * `policy.default`.
 *
 *   p, SUBJECT, RESOURCE, ACTION, OBJECT, EFFECT   # effect: allow | deny
 *   g, SUBJECT, ROLE                               # SUBJECT has ROLE's rights
 *
 * A request (subject, resource, action, object) is allowed when a policy
 * line of the subject, of a role it has (transitively), or of the default
 * role matches it with `allow`, and no matching line says `deny` (deny
 * wins, as in Argo CD). RESOURCE, ACTION and OBJECT are globs matched
 * whole (`*` crosses `/`, as Argo CD's glob match does); an application's
 * object is `<project>/<app>`. The built-in roles are Argo CD's
 * role:readonly (get on everything) and role:admin (everything), with
 * edgecd's own resources (backups, bundles) added to both, and the user
 * `admin` has role:admin.
 *
 * Resources: applications, applicationsets, projects, repositories,
 * clusters, accounts, certificates, gpgkeys, logs, exec, backups, bundles.
 * Actions: get, create, update, delete, sync, override, action/..., as in
 * Argo CD.
 */
#ifndef EDGECD_MODEL_RBAC_H
#define EDGECD_MODEL_RBAC_H

#include <stddef.h>

typedef struct rbac rbac;

/* Parse policy.csv text (source names it in messages) over the built-in
 * policy; default_role is policy.default ("" or NULL: none; it must be
 * a role: "role:..."). ERR_INVALID naming the source, line and what is
 * wrong: a line that is not p (6 fields) or g (3 fields), an effect other
 * than allow/deny, an empty field, a malformed glob. */
int rbac_new(rbac **out, const char *csv, const char *source, const char *default_role);

/* Read an argocd-rbac-cm ConfigMap file (YAML or JSON) as is: data keys
 * policy.csv, policy.default, policy.matchMode (glob only; regex is
 * refused), scopes (accepted, used once there is single sign-on); and
 * any key policy.<name>.csv, appended after policy.csv as Argo CD does. */
int rbac_load(rbac **out, const char *path);

void rbac_free(rbac *r);

/* 1 if subject may do action on resource's object, else 0. Any thread. */
int rbac_enforce(const rbac *r, const char *subject, const char *resource, const char *action,
                 const char *object);

/* As rbac_enforce for a subject that also holds roles (n of them, each
 * "role:..."; may be NULL when n is 0): the roles join the subject's own
 * closure, so a deny line for any of them still wins. object NULL asks
 * "on some object": allow lines match whatever their object, and only a
 * deny line whose object is "*" or "* / *" (no spaces) refuses. Any
 * thread. */
int rbac_enforce_as(const rbac *r, const char *subject, const char *const *roles, size_t n,
                    const char *resource, const char *action, const char *object);

/* The roles ("role:..." names) subject holds, with the n extra roles
 * it was given and through g lines and policy.default, into out (at most
 * max, borrowed from r and roles, each once, in the order found).
 * Returns how many. Any thread. */
size_t rbac_roles(const rbac *r, const char *subject, const char *const *roles, size_t n,
                  const char **out, size_t max);

/* 1 if subject has role (itself, or through g lines, or by default). */
int rbac_has_role(const rbac *r, const char *subject, const char *role);

#endif
