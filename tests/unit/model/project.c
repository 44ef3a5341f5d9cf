/*
 * Tests for appliance/model/project.c: a full AppProject, the built-in
 * default, a table per decision (sources, destinations, resources, sync
 * windows) with negation, globs and the cases Argo CD's own tests pin
 * down, and for each field a malformed value whose message must name it.
 */
#include "model/project.h"

#include "fixture.h"

static const char full_project[] =
    "apiVersion: argoproj.io/v1alpha1\n"
    "kind: AppProject\n"
    "metadata:\n"
    "  name: site\n"
    "  namespace: argocd\n"
    "spec:\n"
    "  description: an edge site\n"
    "  sourceRepos:\n"
    "    - https://git.lan/org/*\n"
    "    - '!https://git.lan/org/secret'\n"
    "  destinations:\n"
    "    - server: https://kubernetes.default.svc\n"
    "      namespace: 'shop-*'\n"
    "    - name: edge-2\n"
    "      namespace: '*'\n"
    "  clusterResourceWhitelist:\n"
    "    - {group: '', kind: Namespace, name: 'shop-*'}\n"
    "  clusterResourceBlacklist:\n"
    "    - {group: '', kind: Namespace, name: shop-admin}\n"
    "  namespaceResourceBlacklist:\n"
    "    - {group: '', kind: ResourceQuota}\n"
    "  roles: [{name: ci, policies: ['p, proj:site:ci, applications, sync, site/*, allow']}]\n"
    "  sourceNamespaces: [argocd]\n"
    "  syncWindows:\n"
    "    - kind: allow\n"
    "      schedule: '0 22 * * *'\n"
    "      duration: 1h30m\n"
    "      applications: ['shop-*']\n"
    "      manualSync: true\n"
    "      timeZone: Europe/Berlin\n"
    "    - kind: deny\n"
    "      schedule: '0 0 24-26 12 *'\n"
    "      duration: 24h\n"
    "      clusters: ['*']\n"
    "      namespaces: [shop-prod]\n"
    "      andOperator: true\n"
    "      description: no changes over christmas\n";

/* A project from a YAML spec body (indented two spaces), named site. */
static int parse_spec(struct project *p, const char *spec_body)
{
    char *text = xasprintf("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"
                           "metadata: {name: site}\nspec:\n%s",
                           spec_body);
    json_t *obj = fixture_load(text);
    int rc = project_parse(p, obj, NULL);
    json_decref(obj);
    free(text);
    return rc;
}

/* Wall-clock UTC seconds of a date and time. */
static int64_t at(int64_t y, int mo, int d, int h, int mi)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

TEST(full_project_parses)
{
    struct project p;
    json_t *obj = fixture_load(full_project);

    CHECK_OK(project_parse(&p, obj, "site.yaml"));
    CHECK(project_is_project(obj));
    CHECK_STR(p.name, "site");
    CHECK(p.n_source_repos == 2);
    CHECK_STR(p.source_repos[1], "!https://git.lan/org/secret");
    CHECK(p.n_destinations == 2);
    CHECK_STR(p.destinations[0].namespace, "shop-*");
    CHECK_STR(p.destinations[1].server, "");
    CHECK_STR(p.destinations[1].name, "edge-2");
    CHECK(p.cluster_whitelist.set && p.cluster_whitelist.n == 1);
    CHECK_STR(p.cluster_whitelist.items[0].name, "shop-*");
    CHECK(!p.namespace_whitelist.set && p.namespace_blacklist.n == 1);
    CHECK(p.n_windows == 2);
    CHECK(p.windows[0].kind == PROJECT_WINDOW_ALLOW && p.windows[0].seconds == 5400);
    CHECK(p.windows[0].manual_sync && !p.windows[0].and_operator);
    CHECK_STR(tz_name(p.windows[0].zone), "Europe/Berlin");
    CHECK(p.windows[1].kind == PROJECT_WINDOW_DENY && p.windows[1].and_operator);
    CHECK_STR(tz_name(p.windows[1].zone), "UTC");
    CHECK(p.manifest == obj);
    /* roles and the rest stay in the manifest */
    CHECK(doc_get(p.manifest, "spec.roles") != NULL);
    project_dispose(&p);
    project_dispose(&p);
    CHECK(obj->refcount == 1);
    json_decref(obj);
}

TEST(default_project_allows_everything)
{
    struct project p;
    struct project_target none = {NULL, NULL, NULL};
    struct project_target t = {"https://10.0.0.1:6443", "edge-1", "kube-system"};
    struct project_sync_verdict v;

    project_init_default(&p);
    CHECK_STR(p.name, "default");
    CHECK_OK(project_source_permitted(&p, "https://github.com/any/repo.git"));
    CHECK_OK(project_source_permitted(&p, "git@github.com:any/repo"));
    CHECK_OK(project_destination_permitted(&p, &t));
    t.server = NULL;
    CHECK_OK(project_destination_permitted(&p, &t));
    CHECK_ERR(project_destination_permitted(&p, &none), ERR_AUTH); /* no cluster at all */
    CHECK_OK(project_resource_permitted(&p, "", "Namespace", "x", 0));
    CHECK_OK(project_resource_permitted(&p, "rbac.authorization.k8s.io", "ClusterRole", NULL, 0));
    CHECK_OK(project_resource_permitted(&p, "apps", "Deployment", NULL, 1));
    project_sync_window(&v, &p, "app", &t, at(2026, 11, 23, 22, 0));
    CHECK(v.automatic && v.manual && v.message[0] == '\0');
    project_dispose(&p);
}

static const struct {
    const char *repos; /* the sourceRepos list, as YAML flow */
    const char *url;
    int permitted;
    const char *message; /* part of the message when not */
} source_cases[] = {
    {"['*']", "https://github.com/argoproj/test.git", 1, NULL},
    {"['*']", "git@github.com:argoproj/test", 1, NULL},
    {"[https://github.com/argoproj/test.git]", "https://github.com/argoproj/test", 1, NULL},
    {"[https://github.com/argoproj/test]", "https://github.com/argoproj/test.git", 1, NULL},
    {"[https://GITHUB.com/argoproj/test]", "https://github.com/ARGOPROJ/Test.git", 1, NULL},
    {"['  https://github.com/a/b ']", "https://github.com/a/b", 1, NULL},
    /* scp-like ssh and ssh:// are one repository */
    {"['git@github.com:argoproj/test']", "ssh://git@github.com/argoproj/test.git", 1, NULL},
    {"['ssh://git@github.com/argoproj/*']", "git@github.com:argoproj/test", 1, NULL},
    /* the user before '@' may be empty, as Argo CD's pattern allows */
    {"['@git.lan:org/repo']", "ssh://@git.lan/org/repo.git", 1, NULL},
    /* a trailing '/' is not removed, as in Argo CD */
    {"[https://github.com/argoproj/test]", "https://github.com/argoproj/test/", 0,
     "no entry of spec.sourceRepos allows it"},
    {"[https://github.com/argoproj/foo]", "https://github.com/argoproj/foo1", 0, "no entry"},
    /* '*' stays within a path segment, '**' crosses them */
    {"['https://gitlab.com/group/*']", "https://gitlab.com/group/repo", 1, NULL},
    {"['https://gitlab.com/group/*']", "https://gitlab.com/group/repo/owner", 0, "no entry"},
    {"['https://gitlab.com/group/*/*']", "https://gitlab.com/group/repo/owner", 1, NULL},
    {"['https://gitlab.com/group/**']", "https://gitlab.com/group/sub/repo/owner", 1, NULL},
    {"['https://github.com/argoproj/{foo,bar}']", "https://github.com/argoproj/bar.git", 1, NULL},
    /* negation */
    {"['!https://github.com/argoproj/test.git']", "https://github.com/argoproj/test.git", 0,
     "spec.sourceRepos[0] \"!https://github.com/argoproj/test.git\" excludes it"},
    {"['!ssh://git@GITHUB.com:argoproj/test', '*']", "ssh://git@github.com:argoproj/test", 0,
     "excludes it"},
    {"['!https://gitlab.com/group/**', '*']", "https://gitlab.com/group/sub/repo", 0,
     "spec.sourceRepos[0]"},
    {"['!https://gitlab.com/group/**', '*']", "https://github.com/group/sub/repo", 1, NULL},
    {"['!https://github.com/argoproj/*.git', '*']", "https://github.com/argoproj1/test2.git", 1,
     NULL},
    {"[https://github.com/test1/test.git, '!https://github.com/test2/test.git']",
     "https://github.com/test2/test.git", 0, "spec.sourceRepos[1]"},
    {"['!https://github.com/argoproj/foo*']", "https://github.com/argoproj/foo1", 0, "excludes it"},
    /* Argo CD's code: an exclusion alone allows what it does not exclude */
    {"['!https://git.lan/bad']", "https://git.lan/good", 1, NULL},
    {"[]", "https://git.lan/good", 0, "no entry of spec.sourceRepos allows it"},
};

TEST(source_table)
{
    for (size_t i = 0; i < sizeof(source_cases) / sizeof(source_cases[0]); i++) {
        struct project p;
        char *spec = xasprintf("  sourceRepos: %s\n", source_cases[i].repos);
        int rc;
        CHECK_OK(parse_spec(&p, spec));
        rc = project_source_permitted(&p, source_cases[i].url);
        if ((rc == 0) != source_cases[i].permitted)
            TEST_FAIL_("%s on %s: %s", source_cases[i].repos, source_cases[i].url,
                       rc == 0 ? "permitted" : err_last());
        if (rc < 0) {
            CHECK(rc == ERR_AUTH);
            CHECK_CONTAINS(err_last(), "is not permitted in project site: ");
            CHECK_CONTAINS(err_last(), source_cases[i].message);
        }
        project_dispose(&p);
        free(spec);
    }
}

static const struct {
    const char *destinations; /* YAML flow list */
    struct project_target dest;
    int permitted;
    const char *message;
} dest_cases[] = {
    {"[{server: 'https://kubernetes.default.svc', namespace: default}]",
     {"https://kubernetes.default.svc", NULL, "default"},
     1,
     NULL},
    {"[{server: 'https://kubernetes.default.svc', namespace: default}]",
     {"https://kubernetes.default.svc", NULL, "kube-system"},
     0,
     "destination https://kubernetes.default.svc, namespace kube-system is not permitted in "
     "project site: no entry of spec.destinations allows it"},
    {"[{server: 'https://*.default.svc', namespace: 'test-*'}]",
     {"https://kubernetes.default.svc", NULL, "test-foo"},
     1,
     NULL},
    {"[{server: 'https://*.default.svc', namespace: 'test-*'}]",
     {"https://kubernetes.default.svc", NULL, "test"},
     0,
     "no entry"},
    {"[{server: '*', namespace: '*'}]", {"https://x", NULL, NULL}, 1, NULL},
    {"[{name: test, namespace: '*'}]", {NULL, "test", "test"}, 1, NULL},
    {"[{name: test2, namespace: '*'}]", {NULL, "test", "test"}, 0, "no entry"},
    /* server or name: either may match when the target has both */
    {"[{name: in-cluster, namespace: '*'}]",
     {"https://kubernetes.default.svc", "in-cluster", "a"},
     1,
     NULL},
    /* an absent namespace only matches '*' or an empty pattern */
    {"[{server: '*', namespace: default}]", {"https://x", NULL, NULL}, 0, "namespace (none)"},
    /* negation, Argo CD's cases */
    {"[{server: '!https://kubernetes.default.svc', namespace: default}]",
     {"https://kubernetes.default.svc", NULL, "default"},
     0,
     "spec.destinations[0] excludes it"},
    {"[{server: 'https://kubernetes.default.svc', namespace: '!default'}]",
     {"https://kubernetes.default.svc", NULL, "kube-system"},
     1,
     NULL},
    {"[{server: '!https://my-cluster', namespace: default}]",
     {"https://kubernetes.default.svc", NULL, "default"},
     1,
     NULL},
    {"[{server: '!https://team1-*', namespace: default}]",
     {"https://test2-dev-cluster", NULL, "default"},
     1,
     NULL},
    {"[{server: 'https://kubernetes.default.svc', namespace: '!test-*'}]",
     {"https://kubernetes.default.svc", NULL, "test-foo"},
     0,
     "excludes it"},
    {"[{name: '!test', namespace: '*'}]", {NULL, "test", "test"}, 0, "excludes it"},
    {"[{name: '!test2', namespace: '*'}]", {NULL, "test", "test"}, 1, NULL},
    {"[{server: '*', namespace: kube-system}, {server: '*', namespace: '!kube-system'}]",
     {"https://kubernetes.default.svc", NULL, "kube-system"},
     0,
     "spec.destinations[1] excludes it"},
    {"[{server: '*', namespace: '*'}, {server: '!https://kubernetes.default.svc', namespace: "
     "'*'}]",
     {"https://kubernetes.default.svc", NULL, "kube-system"},
     0,
     "spec.destinations[1]"},
    /* a '!' server excludes its cluster whatever the namespace */
    {"[{server: '*', namespace: '*'}, {server: '!https://kubernetes.default.svc', namespace: "
     "kube-system}, {server: '*', namespace: '!kube-system'}]",
     {"https://kubernetes.default.svc", NULL, "default"},
     0,
     "spec.destinations[1]"},
    {"[{server: '*', namespace: '*'}, {server: '!https://kubernetes.default.svc', namespace: "
     "kube-system}, {server: '*', namespace: '!kube-system'}]",
     {"https://test-dev-cluster", NULL, "kube-system"},
     0,
     "spec.destinations[2]"},
    {"[{name: test, namespace: '*'}, {name: '!test', namespace: '*'}]",
     {NULL, "test", "test"},
     0,
     "spec.destinations[1]"},
    {"[{server: '*', namespace: '*'}, {server: '*', namespace: '!kube-*'}]",
     {"https://kubernetes.default.svc", "in-cluster", "shop"},
     1,
     NULL},
    {"[]", {"https://x", "x", "x"}, 0, "no entry"},
};

TEST(destination_table)
{
    for (size_t i = 0; i < sizeof(dest_cases) / sizeof(dest_cases[0]); i++) {
        struct project p;
        char *spec = xasprintf("  destinations: %s\n", dest_cases[i].destinations);
        int rc;
        CHECK_OK(parse_spec(&p, spec));
        rc = project_destination_permitted(&p, &dest_cases[i].dest);
        if ((rc == 0) != dest_cases[i].permitted)
            TEST_FAIL_("case %zu %s: %s", i, dest_cases[i].destinations,
                       rc == 0 ? "permitted" : err_last());
        if (rc < 0) {
            CHECK(rc == ERR_AUTH);
            CHECK_CONTAINS(err_last(), dest_cases[i].message);
        }
        project_dispose(&p);
        free(spec);
    }
}

static const struct {
    const char *spec; /* spec body */
    const char *group, *kind, *name;
    int namespaced, permitted;
    const char *message;
} resource_cases[] = {
    /* no lists: every namespaced kind, no cluster-scoped one */
    {"  {}\n", "apps", "Deployment", NULL, 1, 1, NULL},
    {"  {}\n", "", "Namespace", "shop", 0, 0,
     "resource :Namespace is not permitted in project site: nothing is in "
     "spec.clusterResourceWhitelist"},
    /* an empty namespaced whitelist allows nothing; absent allows all */
    {"  namespaceResourceWhitelist: []\n  namespaceResourceBlacklist: [{group: apps, kind: "
     "Deployment}]\n",
     "apps", "ReplicaSet", NULL, 1, 0, "nothing is in spec.namespaceResourceWhitelist"},
    {"  namespaceResourceWhitelist: [{group: apps, kind: ReplicaSet}]\n"
     "  namespaceResourceBlacklist: [{group: apps, kind: Deployment}]\n",
     "apps", "ReplicaSet", NULL, 1, 1, NULL},
    {"  namespaceResourceWhitelist: [{group: apps, kind: ReplicaSet}]\n", "apps", "Action", NULL, 1,
     0,
     "resource apps:Action is not permitted in project site: not in "
     "spec.namespaceResourceWhitelist"},
    {"  namespaceResourceBlacklist: [{group: '', kind: Secret}, {group: apps, kind: "
     "Deployment}]\n",
     "apps", "Deployment", NULL, 1, 0, "spec.namespaceResourceBlacklist[1] excludes it"},
    {"  clusterResourceBlacklist: [{group: '', kind: Namespace}]\n", "", "Namespace", NULL, 0, 0,
     "nothing is in spec.clusterResourceWhitelist"},
    {"  clusterResourceWhitelist: [{group: '*', kind: '*'}]\n"
     "  clusterResourceBlacklist: [{group: '*', kind: '*'}]\n",
     "", "Namespace", NULL, 0, 0, "spec.clusterResourceBlacklist[0] excludes it"},
    {"  clusterResourceWhitelist: [{group: '*', kind: '*'}]\n"
     "  clusterResourceBlacklist: [{group: '*', kind: '*'}]\n",
     "apps", "Action", NULL, 1, 1, NULL},
    {"  clusterResourceWhitelist: []\n  namespaceResourceWhitelist: [{group: '*', kind: '*'}]\n",
     "apps", "Action", NULL, 1, 1, NULL},
    /* globs as Go's filepath.Match: the core group is "" */
    {"  clusterResourceWhitelist: [{group: rbac.authorization.k8s.io, kind: 'Cluster*'}]\n",
     "rbac.authorization.k8s.io", "ClusterRoleBinding", NULL, 0, 1, NULL},
    {"  clusterResourceWhitelist: [{group: '*.k8s.io', kind: '*'}]\n", "", "Namespace", NULL, 0, 0,
     "not in spec.clusterResourceWhitelist"},
    {"  clusterResourceWhitelist: [{group: '*', kind: '[CN]*'}]\n", "", "Namespace", NULL, 0, 1,
     NULL},
    /* names restrict cluster entries (Argo CD 3.2) */
    {"  clusterResourceWhitelist: [{group: '', kind: Namespace, name: 'team1-*'}]\n", "",
     "Namespace", "team1-shop", 0, 1, NULL},
    {"  clusterResourceWhitelist: [{group: '', kind: Namespace, name: 'team1-*'}]\n", "",
     "Namespace", "team2-shop", 0, 0, "not in spec.clusterResourceWhitelist"},
    {"  clusterResourceWhitelist: [{group: '', kind: Namespace}]\n"
     "  clusterResourceBlacklist: [{group: '', kind: Namespace, name: 'kube-*'}]\n",
     "", "Namespace", "kube-system", 0, 0, "spec.clusterResourceBlacklist[0] excludes it"},
    {"  clusterResourceWhitelist: [{group: '', kind: Namespace}]\n"
     "  clusterResourceBlacklist: [{group: '', kind: Namespace, name: 'kube-*'}]\n",
     "", "Namespace", "shop", 0, 1, NULL},
};

TEST(resource_table)
{
    for (size_t i = 0; i < sizeof(resource_cases) / sizeof(resource_cases[0]); i++) {
        struct project p;
        int rc;
        CHECK_OK(parse_spec(&p, resource_cases[i].spec));
        rc = project_resource_permitted(&p, resource_cases[i].group, resource_cases[i].kind,
                                        resource_cases[i].name, resource_cases[i].namespaced);
        if ((rc == 0) != resource_cases[i].permitted)
            TEST_FAIL_("case %zu %s:%s: %s", i, resource_cases[i].group, resource_cases[i].kind,
                       rc == 0 ? "permitted" : err_last());
        if (rc < 0) {
            CHECK(rc == ERR_AUTH);
            CHECK_CONTAINS(err_last(), resource_cases[i].message);
        }
        project_dispose(&p);
    }
}

/* Sync windows: a spec, an app and destination, an instant, the verdict. */
static const struct {
    const char *windows; /* the syncWindows list, YAML flow */
    const char *app, *namespace;
    int64_t now;
    int automatic, manual;
    const char *message; /* part of it; "" for none at all */
} window_cases[] = {
    /* a window for another app does not apply */
    {"[{kind: deny, schedule: '* * * * *', duration: 1h, applications: [other]}]", "shop", "shop",
     0, 1, 1, ""},
    /* allow 22:00-23:00 UTC: [start, start + duration) */
    {"[{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: ['*']}]", "shop", "shop",
     0 /* 2026-11-23 22:30 */, 1, 1, "sync allowed by spec.syncWindows[0]"},
    {"[{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: ['*']}]", "shop", "shop",
     1 /* 22:00:00 */, 1, 1, "until 2026-11-23T23:00:00Z"},
    {"[{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: ['*']}]", "shop", "shop",
     2 /* 21:59:59 */, 0, 0,
     "sync denied: no allow window is open; spec.syncWindows[0] of project site (allow \"0 22 * "
     "* *\" for 1h, UTC) opens at 2026-11-23T22:00:00Z"},
    {"[{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: ['*']}]", "shop", "shop",
     3 /* 23:00:00 */, 0, 0, "opens at 2026-11-24T22:00:00Z"},
    {"[{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: ['*'], manualSync: "
     "true}]",
     "shop", "shop", 2, 0, 1, "; manual sync allowed"},
    /* deny 22:00-23:00 */
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, namespaces: [shop]}]", "shop", "shop", 0,
     0, 0,
     "sync denied by spec.syncWindows[0] of project site (deny \"0 22 * * *\" for 1h, "
     "UTC) until 2026-11-23T23:00:00Z"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, namespaces: [shop]}]", "shop", "shop", 3,
     1, 1, ""},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, namespaces: [shop], manualSync: true}]",
     "shop", "shop", 0, 0, 1, "until 2026-11-23T23:00:00Z; manual sync allowed"},
    /* deny wins over allow; after the deny, the allow still holds */
    {"[{kind: allow, schedule: '0 20 * * *', duration: 4h, applications: ['*']}, {kind: deny, "
     "schedule: '0 22 * * *', duration: 1h, applications: ['*']}]",
     "shop", "shop", 0, 0, 0, "sync denied by spec.syncWindows[1]"},
    {"[{kind: allow, schedule: '0 20 * * *', duration: 4h, applications: ['*']}, {kind: deny, "
     "schedule: '0 22 * * *', duration: 1h, applications: ['*']}]",
     "shop", "shop", 3, 1, 1, "sync allowed by spec.syncWindows[0]"},
    /* manual syncs through denies only when every active deny allows them */
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], manualSync: "
     "true}, {kind: deny, schedule: '30 21 * * *', duration: 2h, applications: ['*']}]",
     "shop", "shop", 0, 0, 0, "spec.syncWindows[0]"},
    {"[{kind: deny, schedule: '30 21 * * *', duration: 2h, applications: ['*']}, {kind: deny, "
     "schedule: '0 22 * * *', duration: 1h, applications: ['*'], manualSync: true}]",
     "shop", "shop", 0, 0, 0, "spec.syncWindows[0]"},
    {"[{kind: deny, schedule: '30 21 * * *', duration: 2h, applications: ['*'], manualSync: "
     "true}, {kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], "
     "manualSync: true}]",
     "shop", "shop", 0, 0, 1, "until 2026-11-23T23:30:00Z; manual sync allowed"},
    {"[{kind: allow, schedule: '0 1 * * *', duration: 1h, applications: ['*'], manualSync: "
     "true}, {kind: allow, schedule: '0 2 * * *', duration: 1h, applications: ['*']}]",
     "shop", "shop", 0, 0, 0, "opens at 2026-11-24T01:00:00Z"},
    {"[{kind: allow, schedule: '0 1 * * *', duration: 1h, applications: ['*'], manualSync: "
     "true}, {kind: allow, schedule: '0 2 * * *', duration: 1h, applications: ['*'], "
     "manualSync: true}]",
     "shop", "shop", 0, 0, 1, "manual sync allowed"},
    /* a window spanning midnight, the end of a month and of a year */
    {"[{kind: allow, schedule: '0 23 * * *', duration: 2h, applications: ['*']}]", "shop", "shop",
     4 /* 2026-11-24 00:30 */, 1, 1, "until 2026-11-24T01:00:00Z"},
    {"[{kind: allow, schedule: '0 23 * * *', duration: 2h, applications: ['*']}]", "shop", "shop",
     5 /* 2026-11-24 01:00 */, 0, 0, "opens at 2026-11-24T23:00:00Z"},
    {"[{kind: deny, schedule: '0 23 31 * *', duration: 2h, applications: ['*']}]", "shop", "shop",
     6 /* 2027-01-01 00:59 */, 0, 0, "until 2027-01-01T01:00:00Z"},
    {"[{kind: deny, schedule: '0 23 31 * *', duration: 2h, applications: ['*']}]", "shop", "shop",
     7 /* 2026-12-01 00:30, November has no 31st */, 1, 1, ""},
    /* day of week 0 and 7 are Sunday (2026-11-29 is one) */
    {"[{kind: deny, schedule: '0 0 * * 7', duration: 24h, applications: ['*']}]", "shop", "shop",
     8 /* 2026-11-29 12:00 */, 0, 0, "until 2026-11-30T00:00:00Z"},
    {"[{kind: deny, schedule: '0 0 * * 0', duration: 24h, applications: ['*']}]", "shop", "shop",
     9 /* 2026-11-30 00:00, Monday */, 1, 1, ""},
    /* steps: every 15 minutes for 5 */
    {"[{kind: allow, schedule: '*/15 * * * *', duration: 5m, applications: ['*']}]", "shop", "shop",
     10 /* 2026-11-23 10:19 */, 1, 1, "until 2026-11-23T10:20:00Z"},
    {"[{kind: allow, schedule: '*/15 * * * *', duration: 5m, applications: ['*']}]", "shop", "shop",
     11 /* 10:20 */, 0, 0, "opens at 2026-11-23T10:30:00Z"},
    /* time zones: 22:00 in Berlin is 21:00 UTC in winter, 20:00 in summer */
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], timeZone: "
     "Europe/Berlin}]",
     "shop", "shop", 12 /* 2026-11-23 21:30 UTC */, 0, 0,
     "Europe/Berlin) until 2026-11-23T22:00:00Z"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], timeZone: "
     "Europe/Berlin}]",
     "shop", "shop", 13 /* 2026-07-01 20:30 UTC */, 0, 0, "until 2026-07-01T21:00:00Z"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], timeZone: "
     "Europe/Berlin}]",
     "shop", "shop", 0 /* 22:30 UTC = 23:30 in Berlin */, 1, 1, ""},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], timeZone: "
     "'+05:30'}]",
     "shop", "shop", 14 /* 2026-11-23 16:45 UTC */, 0, 0, "until 2026-11-23T17:30:00Z"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: ['*'], timeZone: "
     "Etc/GMT+5}]",
     "shop", "shop", 15 /* 2026-11-24 03:15 UTC */, 0, 0, "until 2026-11-24T04:00:00Z"},
    /* clusters match the name or the server; andOperator needs every list */
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, clusters: [in-cluster]}]", "shop", "shop",
     0, 0, 0, "sync denied"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, clusters: ['https://kubernetes.*']}]",
     "shop", "shop", 0, 0, 0, "sync denied"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, clusters: [edge-*]}]", "shop", "shop", 0,
     1, 1, ""},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: [shop], namespaces: "
     "[prod]}]",
     "shop", "shop", 0, 0, 0, "sync denied"},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: [shop], namespaces: "
     "[prod], andOperator: true}]",
     "shop", "shop", 0, 1, 1, ""},
    {"[{kind: deny, schedule: '0 22 * * *', duration: 1h, applications: [shop], namespaces: "
     "['sh*'], andOperator: true}]",
     "shop", "shop", 0, 0, 0, "sync denied"},
};

/* The instants of window_cases, by index (a table of at() results cannot
 * be a static initializer). */
static int64_t window_now(int64_t k)
{
    const int64_t instants[] = {
        at(2026, 11, 23, 22, 30), at(2026, 11, 23, 22, 0),  at(2026, 11, 23, 21, 59) + 59,
        at(2026, 11, 23, 23, 0),  at(2026, 11, 24, 0, 30),  at(2026, 11, 24, 1, 0),
        at(2027, 1, 1, 0, 59),    at(2026, 12, 1, 0, 30),   at(2026, 11, 29, 12, 0),
        at(2026, 11, 30, 0, 0),   at(2026, 11, 23, 10, 19), at(2026, 11, 23, 10, 20),
        at(2026, 11, 23, 21, 30), at(2026, 7, 1, 20, 30),   at(2026, 11, 23, 16, 45),
        at(2026, 11, 24, 3, 15),
    };
    return k < (int64_t)(sizeof(instants) / sizeof(instants[0])) ? instants[k] : k;
}

TEST(sync_window_table)
{
    struct project_target dest = {"https://kubernetes.default.svc", "in-cluster", NULL};

    for (size_t i = 0; i < sizeof(window_cases) / sizeof(window_cases[0]); i++) {
        struct project p;
        struct project_sync_verdict v;
        char *spec = xasprintf("  syncWindows: %s\n", window_cases[i].windows);
        CHECK_OK(parse_spec(&p, spec));
        dest.namespace = window_cases[i].namespace;
        project_sync_window(&v, &p, window_cases[i].app, &dest, window_now(window_cases[i].now));
        if (v.automatic != window_cases[i].automatic || v.manual != window_cases[i].manual ||
            !strstr(v.message, window_cases[i].message) ||
            (!window_cases[i].message[0] && v.message[0]))
            TEST_FAIL_("case %zu: automatic %d manual %d \"%s\"; expected %d %d \"%s\"", i,
                       v.automatic, v.manual, v.message, window_cases[i].automatic,
                       window_cases[i].manual, window_cases[i].message);
        project_dispose(&p);
        free(spec);
    }
}

/* Whether "30 23 * * 1-5" for 90m denies at t: Monday to Friday from
 * 23:30 to the next day's 01:00. */
static int weeknight_denied(int64_t t)
{
    struct tz_civil c;
    int minute;

    tz_civil_from_unix(t, &c);
    minute = c.hour * 60 + c.min;
    return (minute >= 23 * 60 + 30 && c.wday >= 1 && c.wday <= 5) ||
           (minute < 60 && c.wday >= 2 && c.wday <= 6);
}

/* Every minute of a week, and the second before each, against a window
 * that spans midnight: active exactly in [start, start + duration). */
TEST(sync_window_edges_every_minute)
{
    struct project p;
    struct project_target dest = {"https://kubernetes.default.svc", "in-cluster", "shop"};
    int64_t from = at(2026, 11, 23, 0, 0);

    CHECK_OK(parse_spec(&p, "  syncWindows: [{kind: deny, schedule: '30 23 * * 1-5', duration: "
                            "90m, applications: ['*']}]\n"));
    for (int64_t t = from; t < from + 7 * 86400; t += 60) {
        for (int64_t probe = t - 1; probe <= t; probe++) {
            struct project_sync_verdict v;
            project_sync_window(&v, &p, "shop", &dest, probe);
            if (v.automatic == weeknight_denied(probe))
                TEST_FAIL_("at %lld: automatic %d (%s)", (long long)probe, v.automatic, v.message);
        }
    }
    project_dispose(&p);
}

static const struct {
    const char *duration;
    int64_t seconds;
} durations[] = {
    {"1h", 3600},       {"30m", 1800}, {"1h30m", 5400}, {"90s", 90},    {"1.5h", 5400},
    {"2h45m30s", 9930}, {"+10m", 600}, {"1500ms", 1},   {"24h", 86400}, {"8760h", 31536000},
};

TEST(durations_parse)
{
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        struct project p;
        char *spec = xasprintf("  syncWindows: [{kind: allow, schedule: '0 0 * * *', duration: "
                               "'%s', applications: ['*']}]\n",
                               durations[i].duration);
        CHECK_OK(parse_spec(&p, spec));
        if (p.windows[0].seconds != durations[i].seconds)
            TEST_FAIL_("%s: %lld seconds", durations[i].duration, (long long)p.windows[0].seconds);
        project_dispose(&p);
        free(spec);
    }
}

static const struct {
    const char *spec; /* spec body, or a whole document when it starts with "apiVersion" */
    int code;
    const char *message; /* the whole message */
} malformed[] = {
    {"apiVersion: argoproj.io/v1\nkind: AppProject\nmetadata: {name: site}\n", ERR_INVALID,
     "site.yaml: apiVersion: must be argoproj.io/v1alpha1"},
    {"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: site}\n", ERR_INVALID,
     "site.yaml: kind: must be AppProject"},
    {"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {}\n", ERR_INVALID,
     "site.yaml: metadata.name: missing"},
    {"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: Site_1}\n", ERR_INVALID,
     "site.yaml: metadata.name: \"Site_1\" must be lower-case letters, digits, '-' and '.', "
     "start and end with a letter or digit, at most 253 characters"},
    {"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: site}\nspec: [1]\n",
     ERR_INVALID, "site.yaml: project site: spec: must be a mapping"},
    {"  sourceRepos: https://x\n", ERR_INVALID,
     "site.yaml: project site: spec.sourceRepos: must be a list"},
    {"  sourceRepos: [https://x, 7]\n", ERR_INVALID,
     "site.yaml: project site: spec.sourceRepos[1]: must be a non-empty string"},
    {"  sourceRepos: ['!*']\n", ERR_INVALID,
     "site.yaml: project site: spec.sourceRepos[0]: \"!*\" would exclude everything; remove the "
     "entry instead"},
    {"  sourceRepos: ['https://x/[abc']\n", ERR_INVALID,
     "site.yaml: project site: spec.sourceRepos[0]: glob \"https://x/[abc\": unclosed ["},
    {"  destinations: [{server: '*', namespace: '*'}, x]\n", ERR_INVALID,
     "site.yaml: project site: spec.destinations[1]: must be a mapping"},
    {"  destinations: [{server: '*', namespace: '!*'}]\n", ERR_INVALID,
     "site.yaml: project site: spec.destinations[0].namespace: \"!*\" would exclude everything; "
     "remove the entry instead"},
    {"  destinations: [{server: 6443}]\n", ERR_INVALID,
     "site.yaml: project site: spec.destinations[0].server: must be a string"},
    {"  destinations: [{name: '{a,b'}]\n", ERR_INVALID,
     "site.yaml: project site: spec.destinations[0].name: glob \"{a,b\": unclosed {"},
    {"  clusterResourceWhitelist: [{group: ''}]\n", ERR_INVALID,
     "site.yaml: project site: spec.clusterResourceWhitelist[0].kind: missing"},
    {"  clusterResourceWhitelist: {group: '', kind: Namespace}\n", ERR_INVALID,
     "site.yaml: project site: spec.clusterResourceWhitelist: must be a list"},
    {"  namespaceResourceBlacklist: [{group: '', kind: Secret, name: x}]\n", ERR_INVALID,
     "site.yaml: project site: spec.namespaceResourceBlacklist[0].name: only cluster-scoped "
     "resource lists can name resources"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: ['*']}, "
     "{kind: deny, schedule: '0 25 * * *', duration: 1h, applications: ['*']}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[1].schedule: \"0 25 * * *\": hour: 25 is above "
     "the maximum 23"},
    {"  syncWindows: [{kind: allow, duration: 1h, applications: ['*']}]\n", ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].schedule: \"\": empty schedule"},
    {"  syncWindows: [{kind: sometimes, schedule: '0 22 * * *', duration: 1h, applications: "
     "['*']}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].kind: \"sometimes\" must be allow or deny"},
    {"  syncWindows: [{schedule: '0 22 * * *', duration: 1h, applications: ['*']}]\n", ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].kind: missing (allow or deny)"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 1x, applications: ['*']}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].duration: \"1x\": a number needs a unit (h, "
     "m, s, ms, us, ns)"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: '-1h', applications: "
     "['*']}]\n",
     ERR_INVALID, "site.yaml: project site: spec.syncWindows[0].duration: \"-1h\" is negative"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', applications: ['*']}]\n", ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].duration: missing"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 500ms, applications: "
     "['*']}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].duration: \"500ms\" is shorter than a second"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: h, applications: ['*']}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].duration: \"h\" is not a duration (like 1h, "
     "30m or 1h30m)"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 1h}]\n", ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0]: needs at least one of applications, "
     "namespaces and clusters"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 1h, applications: [''], "
     "namespaces: [x]}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].applications[0]: must be a non-empty string"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 1h, clusters: ['*'], "
     "manualSync: 'yes'}]\n",
     ERR_INVALID, "site.yaml: project site: spec.syncWindows[0].manualSync: must be true or false"},
    {"  syncWindows: [{kind: allow, schedule: '0 22 * * *', duration: 1h, clusters: ['*'], "
     "timeZone: Mars/Olympus_Mons}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].timeZone: time zone \"Mars/Olympus_Mons\": "
     "unknown (no /usr/share/zoneinfo/Mars/Olympus_Mons; install tzdata, or use UTC, Etc/GMT-1 "
     "or an offset like +01:00)"},
    {"  syncWindows: [{kind: allow, schedule: '@daily', duration: 1h, clusters: ['*']}]\n",
     ERR_INVALID,
     "site.yaml: project site: spec.syncWindows[0].schedule: \"@daily\": descriptors such as "
     "@daily are not accepted (Argo CD's parser has none); write the five fields"},
    {"  permitOnlyProjectScopedClusters: true\n", ERR_UNSUPPORTED,
     "site.yaml: project site: spec.permitOnlyProjectScopedClusters: not supported: edgecd's "
     "clusters come from the site config and none is scoped to a project"},
    {"  signatureKeys: [{keyID: 4AEE18F83AFDEB23}]\n", ERR_UNSUPPORTED,
     "site.yaml: project site: spec.signatureKeys: not supported: edgecd cannot verify commit "
     "signatures, and would otherwise deploy unsigned commits"},
};

TEST(malformed_fields_named)
{
    char *saved = getenv("TZDIR") ? xstrdup(getenv("TZDIR")) : NULL;

    unsetenv("TZDIR");
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        struct project p;
        char *text = strncmp(malformed[i].spec, "apiVersion", 10) == 0
                         ? xstrdup(malformed[i].spec)
                         : xasprintf("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"
                                     "metadata: {name: site}\nspec:\n%s",
                                     malformed[i].spec);
        json_t *obj = fixture_load(text);
        int rc = project_parse(&p, obj, "site.yaml");
        if (rc != malformed[i].code || strcmp(err_last(), malformed[i].message) != 0)
            TEST_FAIL_("case %zu: %d \"%s\"\n  expected %d \"%s\"", i, rc, err_last(),
                       malformed[i].code, malformed[i].message);
        CHECK(p.name == NULL && p.manifest == NULL);
        project_dispose(&p);
        json_decref(obj);
        free(text);
    }
    if (saved)
        setenv("TZDIR", saved, 1);
    free(saved);
}

TEST(messages_without_source)
{
    struct project p;

    CHECK_ERR(parse_spec(&p, "  sourceRepos: ['!*']\n"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "project site: spec.sourceRepos[0]: ");
    CHECK(strncmp(err_last(), "project site: ", 14) == 0);
    CHECK_OK(parse_spec(&p, "  sourceRepos: []\n"));
    project_dispose(&p);
    json_t *s = json_string("x");
    CHECK(!project_is_project(s));
    json_decref(s);
}

int main(void)
{
    RUN(full_project_parses);
    RUN(default_project_allows_everything);
    RUN(source_table);
    RUN(destination_table);
    RUN(resource_table);
    RUN(sync_window_table);
    RUN(sync_window_edges_every_minute);
    RUN(durations_parse);
    RUN(malformed_fields_named);
    RUN(messages_without_source);
    return TEST_END();
}
