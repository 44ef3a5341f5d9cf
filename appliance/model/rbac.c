/*
 * RBAC: see rbac.h. Policies are kept as rows; enforcing walks the
 * subject's roles (a breadth-first closure over the g lines, with
 * policy.default added) and then the rows of those subjects. A site has
 * tens of lines, so a linear walk is the simple and fast enough shape.
 */
#include "model/rbac.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/glob.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define RBAC_MAX_BYTES (1u << 20)
#define RBAC_MAX_ROLES 256 /* subjects in one closure */

struct rbac_policy {
    char *subject, *resource, *action, *object;
    int allow;
};

struct rbac_grant {
    char *subject, *role;
};

struct rbac {
    struct rbac_policy *p;
    size_t np, capp;
    struct rbac_grant *g;
    size_t ng, capg;
    char *default_role;
};

/* Argo CD's builtin-policy.csv, with edgecd's backups and bundles. */
static const char rbac_builtin[] = "p, role:readonly, applications, get, */*, allow\n"
                                   "p, role:readonly, applicationsets, get, */*, allow\n"
                                   "p, role:readonly, certificates, get, *, allow\n"
                                   "p, role:readonly, clusters, get, *, allow\n"
                                   "p, role:readonly, repositories, get, *, allow\n"
                                   "p, role:readonly, projects, get, *, allow\n"
                                   "p, role:readonly, accounts, get, *, allow\n"
                                   "p, role:readonly, gpgkeys, get, *, allow\n"
                                   "p, role:readonly, logs, get, */*, allow\n"
                                   "p, role:readonly, backups, get, *, allow\n"
                                   "p, role:readonly, bundles, get, *, allow\n"
                                   "p, role:admin, applications, *, */*, allow\n"
                                   "p, role:admin, applicationsets, *, */*, allow\n"
                                   "p, role:admin, certificates, *, *, allow\n"
                                   "p, role:admin, clusters, *, *, allow\n"
                                   "p, role:admin, repositories, *, *, allow\n"
                                   "p, role:admin, projects, *, *, allow\n"
                                   "p, role:admin, accounts, *, *, allow\n"
                                   "p, role:admin, gpgkeys, *, *, allow\n"
                                   "p, role:admin, logs, *, */*, allow\n"
                                   "p, role:admin, exec, *, */*, allow\n"
                                   "p, role:admin, backups, *, *, allow\n"
                                   "p, role:admin, bundles, *, *, allow\n"
                                   "g, role:admin, role:readonly\n"
                                   "g, admin, role:admin\n";

static char *rbac_trim(char *s)
{
    char *end;
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* Split line at commas into at most max fields (pointers into line). */
static size_t rbac_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        f[n++] = rbac_trim(p);
        if (!comma)
            return n;
        p = comma + 1;
    }
    return max + 1; /* too many */
}

static int rbac_add_lines(rbac *r, const char *csv, const char *source)
{
    char *copy = xstrdup(csv ? csv : ""), *line = copy, *next;
    size_t lineno = 0;
    int rc = 0;

    for (; line; line = next) {
        char *f[7], *l;
        size_t n;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        l = rbac_trim(line);
        if (!l[0] || l[0] == '#')
            continue;
        n = rbac_fields(l, f, 6);
        for (size_t i = 0; i < n && i < 6; i++)
            if (!f[i][0]) {
                rc = err_set(ERR_INVALID, "%s:%zu: field %zu is empty", source, lineno, i + 1);
                goto out;
            }
        if (!strcmp(f[0], "p") && n == 6) {
            struct rbac_policy *p;
            if (strcmp(f[5], "allow") != 0 && strcmp(f[5], "deny") != 0) {
                rc = err_set(ERR_INVALID, "%s:%zu: effect \"%s\": must be allow or deny", source,
                             lineno, f[5]);
                goto out;
            }
            for (size_t i = 2; i <= 4; i++)
                if (glob_check(f[i]) < 0) {
                    rc = err_prefix(ERR_INVALID, "%s:%zu: field %zu", source, lineno, i + 1);
                    goto out;
                }
            if (r->np == r->capp) {
                r->capp = r->capp ? r->capp * 2 : 32;
                r->p = xrealloc(r->p, r->capp * sizeof(*r->p));
            }
            p = &r->p[r->np++];
            p->subject = xstrdup(f[1]);
            p->resource = xstrdup(f[2]);
            p->action = xstrdup(f[3]);
            p->object = xstrdup(f[4]);
            p->allow = !strcmp(f[5], "allow");
        } else if (!strcmp(f[0], "g") && n == 3) {
            if (r->ng == r->capg) {
                r->capg = r->capg ? r->capg * 2 : 16;
                r->g = xrealloc(r->g, r->capg * sizeof(*r->g));
            }
            r->g[r->ng].subject = xstrdup(f[1]);
            r->g[r->ng].role = xstrdup(f[2]);
            r->ng++;
        } else {
            rc = err_set(ERR_INVALID,
                         "%s:%zu: not a policy line (p, subject, resource, action, object, "
                         "allow|deny) or a grant (g, subject, role)",
                         source, lineno);
            goto out;
        }
    }
out:
    free(copy);
    return rc;
}

int rbac_new(rbac **out, const char *csv, const char *source, const char *default_role)
{
    rbac *r = xcalloc(1, sizeof(*r));
    int rc;

    *out = NULL;
    if (default_role && default_role[0] && !str_has_prefix(default_role, "role:")) {
        rbac_free(r);
        return err_set(ERR_INVALID, "%s: policy.default \"%s\": must be a role (role:...)", source,
                       default_role);
    }
    r->default_role = xstrdup(default_role ? default_role : "");
    if ((rc = rbac_add_lines(r, rbac_builtin, "built-in policy")) < 0 ||
        (rc = rbac_add_lines(r, csv, source)) < 0) {
        rbac_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int rbac_load(rbac **out, const char *path)
{
    struct buf text = BUF_INIT, csv = BUF_INIT;
    json_t *docs = NULL;
    const json_t *data, *v, *obj;
    const char *key, *mode, *def;
    int rc;

    *out = NULL;
    if ((rc = fs_read_file(path, RBAC_MAX_BYTES, &text)) < 0 ||
        (rc = doc_parse_file_data(&docs, buf_cstr(&text), text.len, path, NULL)) < 0)
        goto out;
    obj = json_array_get(docs, 0);
    if (json_array_size(docs) != 1 ||
        strcmp(doc_get_str(obj, "kind") ? doc_get_str(obj, "kind") : "", "ConfigMap") != 0) {
        rc = err_set(ERR_INVALID, "%s: must hold one ConfigMap (Argo CD's argocd-rbac-cm)", path);
        goto out;
    }
    data = json_object_get(obj, "data");
    json_object_foreach((json_t *)data, key, v)
    {
        if (!json_is_string(v)) {
            rc = err_set(ERR_INVALID, "%s: data.%s: must be a string", path, key);
            goto out;
        }
    }
    mode = json_string_value(json_object_get(data, "policy.matchMode"));
    if (mode && strcmp(mode, "glob") != 0) {
        rc = err_set(ERR_UNSUPPORTED, "%s: policy.matchMode \"%s\": only glob is supported", path,
                     mode);
        goto out;
    }
    v = json_object_get(data, "policy.csv");
    buf_puts(&csv, v ? json_string_value(v) : "");
    json_object_foreach((json_t *)data, key, v)
    {
        size_t n = strlen(key);
        if (str_has_prefix(key, "policy.") && n > 11 && !strcmp(key + n - 4, ".csv") &&
            strcmp(key, "policy.csv") != 0)
            buf_printf(&csv, "\n%s", json_string_value(v));
    }
    def = json_string_value(json_object_get(data, "policy.default"));
    rc = rbac_new(out, buf_cstr(&csv), path, def);
out:
    buf_dispose(&text);
    buf_dispose(&csv);
    json_decref(docs);
    return rc;
}

void rbac_free(rbac *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->np; i++) {
        free(r->p[i].subject);
        free(r->p[i].resource);
        free(r->p[i].action);
        free(r->p[i].object);
    }
    for (size_t i = 0; i < r->ng; i++) {
        free(r->g[i].subject);
        free(r->g[i].role);
    }
    free(r->p);
    free(r->g);
    free(r->default_role);
    free(r);
}

/* The subject, the extra roles and every role they have, into v (at most
 * RBAC_MAX_ROLES; strings borrowed). */
static size_t rbac_closure(const rbac *r, const char *subject, const char *const *roles,
                           size_t nroles, const char **v)
{
    size_t n = 0;
    v[n++] = subject;
    if (r->default_role[0])
        v[n++] = r->default_role;
    for (size_t i = 0; i < nroles && n < RBAC_MAX_ROLES; i++)
        v[n++] = roles[i];
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < r->ng && n < RBAC_MAX_ROLES; k++) {
            size_t j;
            if (strcmp(r->g[k].subject, v[i]) != 0)
                continue;
            for (j = 0; j < n && strcmp(v[j], r->g[k].role) != 0; j++)
                ;
            if (j == n)
                v[n++] = r->g[k].role;
        }
    return n;
}

size_t rbac_roles(const rbac *r, const char *subject, const char *const *roles, size_t nroles,
                  const char **out, size_t max)
{
    const char *v[RBAC_MAX_ROLES];
    size_t n = rbac_closure(r, subject, roles, nroles, v), k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        size_t j;
        if (!str_has_prefix(v[i], "role:"))
            continue;
        for (j = 0; j < k && strcmp(out[j], v[i]) != 0; j++)
            ;
        if (j == k)
            out[k++] = v[i];
    }
    return k;
}

int rbac_has_role(const rbac *r, const char *subject, const char *role)
{
    const char *v[RBAC_MAX_ROLES];
    size_t n = rbac_closure(r, subject, NULL, 0, v);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], role))
            return 1;
    return 0;
}

int rbac_enforce_as(const rbac *r, const char *subject, const char *const *roles, size_t nroles,
                    const char *resource, const char *action, const char *object)
{
    const char *v[RBAC_MAX_ROLES];
    size_t n;
    int allowed = 0;

    if (!r || !subject || !subject[0] || !resource || !action)
        return 0;
    n = rbac_closure(r, subject, roles, nroles, v);
    for (size_t k = 0; k < r->np; k++) {
        const struct rbac_policy *p = &r->p[k];
        size_t i;
        for (i = 0; i < n && strcmp(p->subject, v[i]) != 0; i++)
            ;
        if (i == n || !glob_match(p->resource, resource, 0) || !glob_match(p->action, action, 0))
            continue;
        if (object ? !glob_match(p->object, object, 0)
                   : !p->allow && strcmp(p->object, "*") != 0 && strcmp(p->object, "*/*") != 0)
            continue;
        if (!p->allow)
            return 0; /* deny wins */
        allowed = 1;
    }
    return allowed;
}

int rbac_enforce(const rbac *r, const char *subject, const char *resource, const char *action,
                 const char *object)
{
    if (!object)
        return 0;
    return rbac_enforce_as(r, subject, NULL, 0, resource, action, object);
}
