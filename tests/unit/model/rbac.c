#include "model/rbac.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "test.h"

static char *dir;

/* Argo CD's built-in roles: admin may do anything, role:readonly only
 * get; nobody else may do anything without policy.default. */
TEST(built_in_roles)
{
    rbac *r = NULL;
    CHECK_OK(rbac_new(&r, "", "policy.csv", NULL));
    CHECK(rbac_enforce(r, "admin", "applications", "sync", "default/web"));
    CHECK(rbac_enforce(r, "admin", "backups", "create", "nightly"));
    CHECK(rbac_enforce(r, "admin", "applications", "action/apps/Deployment/restart", "a/b"));
    CHECK(rbac_has_role(r, "admin", "role:readonly"));
    CHECK(rbac_enforce(r, "role:readonly", "applications", "get", "default/web"));
    CHECK(!rbac_enforce(r, "role:readonly", "applications", "sync", "default/web"));
    CHECK(!rbac_enforce(r, "role:readonly", "repositories", "create", "https://x"));
    CHECK(!rbac_enforce(r, "mallory", "applications", "get", "default/web"));
    CHECK(!rbac_enforce(r, "", "applications", "get", "default/web"));
    rbac_free(r);

    CHECK_OK(rbac_new(&r, "", "policy.csv", "role:readonly"));
    CHECK(rbac_enforce(r, "mallory", "applications", "get", "default/web"));
    CHECK(rbac_enforce(r, "mallory", "backups", "get", "nightly"));
    CHECK(!rbac_enforce(r, "mallory", "applications", "delete", "default/web"));
    CHECK(!rbac_enforce(r, "mallory", "accounts", "update", "admin"));
    rbac_free(r);
}

/* A site's own roles: globs on objects and actions, roles through
 * roles, deny winning over allow, and a grant cycle that ends. */
TEST(site_policy)
{
    static const char csv[] = "# shop team\n"
                              "p, role:shop, applications, get, shop/*, allow\n"
                              "p, role:shop, applications, sync, shop/*, allow\n"
                              "p, role:shop, applications, action/*, shop/*, allow\n"
                              "p, role:shop, applications, sync, shop/prod-*, deny\n"
                              "p, role:oncall, applications, sync, shop/prod-*, allow\n"
                              "g, role:lead, role:shop\n"
                              "g, alice, role:shop\n"
                              "g, bob, role:lead\n"
                              "g, role:lead, role:loop\n"
                              "g, role:loop, role:lead\n"
                              "g, carol, role:oncall\n";
    rbac *r = NULL;
    CHECK_OK(rbac_new(&r, csv, "policy.csv", ""));
    CHECK(rbac_enforce(r, "alice", "applications", "sync", "shop/web"));
    CHECK(rbac_enforce(r, "alice", "applications", "action/apps/Deployment/restart", "shop/web"));
    CHECK(!rbac_enforce(r, "alice", "applications", "sync", "shop/prod-db"));
    CHECK(!rbac_enforce(r, "alice", "applications", "sync", "billing/web"));
    CHECK(!rbac_enforce(r, "alice", "applications", "delete", "shop/web"));
    CHECK(rbac_enforce(r, "bob", "applications", "sync", "shop/web"));
    CHECK(rbac_has_role(r, "bob", "role:shop"));
    CHECK(!rbac_has_role(r, "alice", "role:lead"));
    CHECK(rbac_enforce(r, "carol", "applications", "sync", "shop/prod-db"));
    CHECK(!rbac_enforce(r, "carol", "applications", "get", "shop/web"));
    rbac_free(r);
}

/* A subject with roles of its own (an account's stored roles): they join
 * its closure, deny still wins, and "on some object" asks whether any
 * object is allowed. */
TEST(roles_given_with_the_subject)
{
    static const char csv[] = "p, role:shop, applications, sync, shop/*, allow\n"
                              "p, role:shop, applications, sync, shop/prod-*, deny\n"
                              "p, role:frozen, applications, sync, */*, deny\n"
                              "g, role:shop, role:readonly\n";
    const char *const shop[] = {"role:shop"}, *const frozen[] = {"role:shop", "role:frozen"};
    const char *roles[8];
    rbac *r = NULL;
    size_t n;

    CHECK_OK(rbac_new(&r, csv, "policy.csv", ""));
    CHECK(rbac_enforce_as(r, "dave", shop, 1, "applications", "sync", "shop/web"));
    CHECK(!rbac_enforce_as(r, "dave", shop, 1, "applications", "sync", "shop/prod-db"));
    CHECK(!rbac_enforce_as(r, "dave", NULL, 0, "applications", "sync", "shop/web"));
    CHECK(!rbac_enforce_as(r, "dave", frozen, 2, "applications", "sync", "shop/web"));
    /* on some object */
    CHECK(rbac_enforce_as(r, "dave", shop, 1, "applications", "sync", NULL));
    CHECK(!rbac_enforce_as(r, "dave", shop, 1, "applications", "delete", NULL));
    CHECK(!rbac_enforce_as(r, "dave", frozen, 2, "applications", "sync", NULL));
    CHECK(!rbac_enforce(r, "dave", "applications", "get", NULL));
    /* the roles held, through g lines, each once */
    n = rbac_roles(r, "dave", shop, 1, roles, 8);
    CHECK(n == 2);
    CHECK_STR(roles[0], "role:shop");
    CHECK_STR(roles[1], "role:readonly");
    n = rbac_roles(r, "admin", NULL, 0, roles, 8);
    CHECK(n == 2);
    CHECK_STR(roles[0], "role:admin");
    CHECK(rbac_roles(r, "nobody", NULL, 0, roles, 8) == 0);
    rbac_free(r);
}

TEST(refusals_name_the_line)
{
    static const struct {
        const char *csv, *def, *want;
    } cases[] = {
        {"p, role:x, applications, get, */*, maybe\n", NULL, "policy.csv:1: effect \"maybe\""},
        {"\n\np, role:x, applications, get\n", NULL, "policy.csv:3: not a policy line"},
        {"g, alice\n", NULL, "policy.csv:1: not a policy line"},
        {"p, role:x, applications, get, */*, allow, extra\n", NULL, "policy.csv:1: not a policy"},
        {"p, , applications, get, */*, allow\n", NULL, "policy.csv:1: field 2 is empty"},
        {"p, role:x, applications, get, shop/[a, allow\n", NULL, "policy.csv:1: field 5"},
        {"x, a, b\n", NULL, "policy.csv:1: not a policy line"},
        {"", "readonly", "policy.default \"readonly\": must be a role"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rbac *r = NULL;
        CHECK_ERR(rbac_new(&r, cases[i].csv, "policy.csv", cases[i].def), ERR_INVALID);
        CHECK_CONTAINS(err_last(), cases[i].want);
        CHECK(r == NULL);
        err_clear();
    }
}

/* argocd-rbac-cm as Argo CD installs carry it. */
TEST(loads_argocd_rbac_cm)
{
    char *path = xasprintf("%s/argocd-rbac-cm.yaml", dir);
    static const char cm[] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-rbac-cm}\n"
                             "data:\n"
                             "  policy.default: role:readonly\n"
                             "  scopes: '[groups, email]'\n"
                             "  policy.matchMode: glob\n"
                             "  policy.csv: |\n"
                             "    p, role:ops, applications, sync, */*, allow\n"
                             "    g, dave, role:ops\n"
                             "  policy.overlay.csv: |\n"
                             "    p, role:ops, backups, create, *, allow\n";
    rbac *r = NULL;
    CHECK_OK(fs_write_atomic(path, cm, strlen(cm), 0600));
    CHECK_OK(rbac_load(&r, path));
    CHECK(rbac_enforce(r, "dave", "applications", "sync", "default/web"));
    CHECK(rbac_enforce(r, "dave", "backups", "create", "b1"));
    CHECK(rbac_enforce(r, "erin", "applications", "get", "default/web"));
    CHECK(!rbac_enforce(r, "erin", "applications", "sync", "default/web"));
    rbac_free(r);

    {
        static const char regex[] = "apiVersion: v1\nkind: ConfigMap\ndata:\n"
                                    "  policy.matchMode: regex\n";
        CHECK_OK(fs_write_atomic(path, regex, strlen(regex), 0600));
        CHECK_ERR(rbac_load(&r, path), ERR_UNSUPPORTED);
        CHECK_CONTAINS(err_last(), "only glob");
        err_clear();
    }
    {
        static const char secret[] = "apiVersion: v1\nkind: Secret\ndata: {}\n";
        CHECK_OK(fs_write_atomic(path, secret, strlen(secret), 0600));
        CHECK_ERR(rbac_load(&r, path), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "argocd-rbac-cm");
        err_clear();
    }
    free(path);
}

int main(void)
{
    dir = test_tmpdir("rbac");
    RUN(built_in_roles);
    RUN(site_policy);
    RUN(roles_given_with_the_subject);
    RUN(refusals_name_the_line);
    RUN(loads_argocd_rbac_cm);
    free(dir);
    return TEST_END();
}
