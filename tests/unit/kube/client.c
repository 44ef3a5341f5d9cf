/*
 * Tests for appliance/kube/client.c against kubesim (the API server
 * double in tests/kubesim, started per test program through fixture.h):
 * token and client-certificate auth, TLS verification of kubesim's
 * certificate, discovery, apply/get/list/delete, dry-run, Status errors
 * a CRD whose kind appears only after it is applied, many threads sharing
 * one client, field selectors, paged lists, delete-and-wait and the
 * in-cluster service account.
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/util.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kubesim/fixture.h"
#include "test.h"

static struct kubesim_proc sim;
static char *dir;

static json_t *obj(const char *json)
{
    json_error_t e;
    json_t *v = json_loads(json, 0, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s\n", e.text);
        exit(2);
    }
    return v;
}

/* A client from kubesim's token kubeconfig. */
static kube_client *client_token(void)
{
    struct kubeconfig kc;
    kube_client *c = NULL;
    if (kubeconfig_load(&kc, sim.kubeconfig, NULL) < 0 || kube_client_new(&c, &kc) < 0) {
        fprintf(stderr, "client: %s\n", err_last());
        exit(2);
    }
    kubeconfig_dispose(&kc);
    return c;
}

TEST(discovery_resolves_kinds)
{
    kube_client *c = client_token();
    const struct kube_resource *r = NULL;

    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
    CHECK_STR(r->group, "");
    CHECK_STR(r->version, "v1");
    CHECK_STR(r->resource, "configmaps");
    CHECK(r->namespaced == 1);
    CHECK_OK(kube_client_resource(c, "v1", "Namespace", &r));
    CHECK_STR(r->resource, "namespaces");
    CHECK(r->namespaced == 0);
    CHECK_OK(kube_client_resource(c, "apps/v1", "Deployment", &r));
    CHECK_STR(r->group, "apps");
    CHECK_STR(r->resource, "deployments");
    CHECK(r->namespaced == 1);
    CHECK_ERR(kube_client_resource(c, "v1", "Gizmo", &r), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "Gizmo");
    CHECK(r == NULL);
    CHECK_ERR(kube_client_resource(c, "nope.example.com/v1", "Deployment", &r), ERR_NOTFOUND);
    kube_client_free(c);
}

TEST(apply_get_list_delete)
{
    kube_client *c = client_token();
    json_t *a = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\","
                    "\"namespace\":\"default\",\"labels\":{\"app\":\"demo\"}},"
                    "\"data\":{\"k\":\"v\"}}");
    json_t *b = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"y\","
                    "\"namespace\":\"default\",\"labels\":{\"app\":\"other\"}}}");
    json_t *live = NULL, *got = NULL, *items = NULL;

    CHECK_OK(kube_client_apply(c, a, 0, &live));
    CHECK_STR(json_string_value(json_object_get(json_object_get(live, "data"), "k")), "v");
    CHECK_OK(kube_client_apply(c, b, 0, NULL));

    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got));
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "data"), "k")), "v");
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "metadata"), "name")), "x");
    CHECK(json_object_get(json_object_get(got, "metadata"), "resourceVersion") != NULL);

    CHECK_OK(kube_client_list(c, "v1", "ConfigMap", "default", "app=demo", &items));
    CHECK(json_array_size(items) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(items, 0), "kind")), "ConfigMap");
    CHECK_STR(json_string_value(json_object_get(json_array_get(items, 0), "apiVersion")), "v1");
    json_decref(items);
    items = NULL;
    CHECK_OK(kube_client_list(c, "v1", "ConfigMap", NULL, "app in (demo,other)", &items));
    CHECK(json_array_size(items) == 2);
    json_decref(items);
    items = NULL;
    CHECK_OK(kube_client_list(c, "v1", "ConfigMap", "default", "app=none", &items));
    CHECK(json_array_size(items) == 0);

    CHECK_OK(kube_client_delete(c, "v1", "ConfigMap", "default", "x", NULL));
    json_decref(got);
    got = NULL;
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "x", &got), ERR_NOTFOUND);
    CHECK(got == NULL);
    CHECK_CONTAINS(err_last(), "get ConfigMap default/x: NotFound: configmaps \"x\" not found");
    CHECK_ERR(kube_client_delete(c, "v1", "ConfigMap", "default", "x", "Background"), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "delete ConfigMap default/x");
    CHECK_OK(kube_client_delete(c, "v1", "ConfigMap", "default", "y", "Foreground"));
    CHECK_ERR(kube_client_delete(c, "v1", "ConfigMap", "default", "y", "Sometimes"), ERR_INVALID);

    json_decref(a);
    json_decref(b);
    json_decref(live);
    json_decref(items);
    kube_client_free(c);
}

TEST(cluster_scoped_and_apps)
{
    kube_client *c = client_token();
    json_t *ns = obj("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                     "\"team-a\"}}");
    json_t *dep =
        obj("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
            "\"namespace\":\"team-a\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":"
            "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
            "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\"}]}}}}");
    json_t *got = NULL;

    CHECK_OK(kube_client_apply(c, ns, 0, NULL));
    /* ns is ignored for a cluster-scoped kind. */
    CHECK_OK(kube_client_get(c, "v1", "Namespace", "whatever", "team-a", &got));
    json_decref(got);
    got = NULL;
    CHECK_OK(kube_client_apply(c, dep, 0, NULL));
    CHECK_OK(kube_client_get(c, "apps/v1", "Deployment", "team-a", "web", &got));
    CHECK(json_integer_value(json_object_get(json_object_get(got, "spec"), "replicas")) == 1);
    CHECK_OK(kube_client_delete(c, "apps/v1", "Deployment", "team-a", "web", "Background"));
    json_decref(got);
    json_decref(ns);
    json_decref(dep);
    kube_client_free(c);
}

TEST(dry_run_does_not_store)
{
    kube_client *c = client_token();
    json_t *a = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                    "\"dry\",\"namespace\":\"default\"},\"data\":{\"a\":\"b\"}}");
    json_t *live = NULL, *got = NULL;

    CHECK_OK(kube_client_apply(c, a, 1, &live));
    CHECK_STR(json_string_value(json_object_get(json_object_get(live, "data"), "a")), "b");
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "dry", &got), ERR_NOTFOUND);
    json_decref(a);
    json_decref(live);
    kube_client_free(c);
}

TEST(apply_errors)
{
    kube_client *c = client_token();
    json_t *no_ns = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                        "\"a\"}}");
    json_t *no_kind = obj("{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\"}}");
    json_t *unknown = obj("{\"apiVersion\":\"v1\",\"kind\":\"Gizmo\",\"metadata\":{\"name\":"
                          "\"a\"}}");
    json_t *bad_name = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                           "\"Not_A_Name\",\"namespace\":\"default\"}}");
    json_t *live = NULL;

    CHECK_ERR(kube_client_apply(c, no_ns, 0, &live), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "metadata.namespace");
    CHECK_ERR(kube_client_apply(c, no_kind, 0, &live), ERR_INVALID);
    CHECK_ERR(kube_client_apply(c, unknown, 0, &live), ERR_NOTFOUND);
    /* The server's verdict comes back as the Status message. */
    CHECK_ERR(kube_client_apply(c, bad_name, 0, &live), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "apply ConfigMap default/Not_A_Name: Invalid: ");
    CHECK(live == NULL);
    json_decref(no_ns);
    json_decref(no_kind);
    json_decref(unknown);
    json_decref(bad_name);
    kube_client_free(c);
}

TEST(crd_kind_resolves_after_refresh)
{
    kube_client *c = client_token();
    const struct kube_resource *cm = NULL, *w = NULL;
    json_t *crd =
        obj("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
            "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","
            "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\","
            "\"kind\":\"Widget\",\"listKind\":\"WidgetList\"},\"versions\":[{\"name\":\"v1\","
            "\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
            "\"x-kubernetes-preserve-unknown-fields\":true}}}]}}");
    json_t *widget = obj("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":"
                         "{\"name\":\"w1\",\"namespace\":\"default\"},\"spec\":{\"size\":3}}");
    json_t *got = NULL;

    /* Discovery is cached before the CRD exists... */
    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &cm));
    CHECK_ERR(kube_client_resource(c, "example.com/v1", "Widget", &w), ERR_NOTFOUND);
    CHECK_OK(kube_client_apply(c, crd, 0, NULL));
    /* ...and the miss refreshes it. */
    CHECK_OK(kube_client_resource(c, "example.com/v1", "Widget", &w));
    CHECK_STR(w->resource, "widgets");
    CHECK(w->namespaced == 1);
    /* Pointers handed out before the refresh stay valid. */
    CHECK_STR(cm->resource, "configmaps");
    CHECK_OK(kube_client_apply(c, widget, 0, NULL));
    CHECK_OK(kube_client_get(c, "example.com/v1", "Widget", "default", "w1", &got));
    CHECK(json_integer_value(json_object_get(json_object_get(got, "spec"), "size")) == 3);
    json_decref(got);
    json_decref(crd);
    json_decref(widget);
    kube_client_free(c);
}

TEST(client_certificate_auth)
{
    struct kubeconfig kc;
    kube_client *c = NULL;
    json_t *items = NULL;

    CHECK_OK(kubeconfig_load(&kc, sim.kubeconfig_cert, NULL));
    CHECK(kc.client_cert_pem != NULL && kc.token == NULL);
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_OK(kube_client_list(c, "v1", "Namespace", NULL, NULL, &items));
    CHECK(json_array_size(items) >= 1);
    json_decref(items);
    kube_client_free(c);
    kubeconfig_dispose(&kc);
}

TEST(token_file_and_bad_token)
{
    struct kubeconfig kc;
    kube_client *c = NULL;
    json_t *items = NULL;
    char *tf = xasprintf("%s/token", dir);

    CHECK_OK(kubeconfig_load(&kc, sim.kubeconfig, NULL));
    CHECK_OK(fs_write_atomic(tf, kc.token, strlen(kc.token), 0600));
    free(kc.token);
    kc.token = NULL;
    kc.token_file = xstrdup(tf);
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_OK(kube_client_list(c, "v1", "Namespace", NULL, NULL, &items));
    CHECK(json_array_size(items) >= 1);
    json_decref(items);
    items = NULL;
    kube_client_free(c);
    c = NULL;

    free(kc.token_file);
    kc.token_file = NULL;
    kc.token = xstrdup("wrong-token");
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_ERR(kube_client_list(c, "v1", "Namespace", NULL, NULL, &items), ERR_AUTH);
    kube_client_free(c);
    kubeconfig_dispose(&kc);
    json_decref(items);
    free(tf);
}

TEST(tls_verification_against_kubesim)
{
    struct kubeconfig kc;
    kube_client *c = NULL;
    const struct kube_resource *r;
    struct buf other_ca = BUF_INIT;
    char *ca_path = xasprintf("%s/other-ca.crt", dir), *cmd, *saved_server, *port;
    int sys;

    /* A CA that did not sign kubesim's certificate, made by openssl. */
    cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                    "-keyout '%s/other-ca.key' -out '%s' -subj /CN=other-ca -days 1 "
                    "2>/dev/null",
                    dir, ca_path);
    sys = system(cmd);
    free(cmd);
    CHECK(sys == 0);
    CHECK_OK(fs_read_file(ca_path, 1 << 20, &other_ca));

    CHECK_OK(kubeconfig_load(&kc, sim.kubeconfig, NULL));
    CHECK(str_has_prefix(kc.server, "https://127.0.0.1:"));

    /* Verification on, IP SAN 127.0.0.1 in kubesim's certificate: fine. */
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
    kube_client_free(c);
    c = NULL;

    /* The host name route: "localhost" is a DNS SAN of kubesim's cert. */
    saved_server = kc.server;
    port = strrchr(saved_server, ':');
    kc.server = xasprintf("https://localhost%s", port);
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
    kube_client_free(c);
    c = NULL;
    free(kc.server);
    kc.server = saved_server;

    /* A name the certificate does not carry. */
    kc.tls_server_name = xstrdup("api.example.com");
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_ERR(kube_client_resource(c, "v1", "ConfigMap", &r), ERR_IO);
    CHECK_CONTAINS(err_last(), "api.example.com");
    kube_client_free(c);
    c = NULL;
    free(kc.tls_server_name);
    kc.tls_server_name = NULL;

    /* The wrong CA: refused, and the message names the server. */
    free(kc.ca_pem);
    kc.ca_pem = buf_detach(&other_ca);
    kc.ca_pem_len = strlen(kc.ca_pem);
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_ERR(kube_client_resource(c, "v1", "ConfigMap", &r), ERR_IO);
    CHECK_CONTAINS(err_last(), kc.server);
    CHECK_CONTAINS(err_last(), "verification failed");
    kube_client_free(c);
    c = NULL;

    /* insecure-skip-tls-verify accepts it anyway. */
    kc.insecure = 1;
    CHECK_OK(kube_client_new(&c, &kc));
    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
    kube_client_free(c);
    kubeconfig_dispose(&kc);
    buf_dispose(&other_ca);
    free(ca_path);
}

/* ---- threads sharing one client ---- */

struct worker {
    kube_client *c;
    int id;
    int ok; /* rounds whose answers were all right */
    char err[256];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int round = 0; round < 15; round++) {
        char name[32], val[32], *text, *sel;
        json_t *o, *got = NULL, *items = NULL;
        struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
        const char *v;
        int good;
        snprintf(name, sizeof(name), "pool-%d", w->id);
        snprintf(val, sizeof(val), "%d-%d", w->id, round);
        text = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                         "\"%s\",\"namespace\":\"default\",\"labels\":{\"pool\":\"t\"}},"
                         "\"data\":{\"v\":\"%s\"}}",
                         name, val);
        o = json_loads(text, 0, NULL);
        free(text);
        sel = xasprintf("metadata.name=%s", name);
        lo.field_selector = sel;
        lo.label_selector = "pool=t";
        good = kube_client_apply(w->c, o, 0, NULL) == 0 &&
               kube_client_get(w->c, "v1", "ConfigMap", "default", name, &got) == 0 &&
               kube_client_list_opts(w->c, "v1", "ConfigMap", "default", &lo, &items, NULL) == 0;
        if (!good)
            str_copy(w->err, err_last(), sizeof(w->err));
        /* Each thread must see its own latest write, never another's. */
        v = json_string_value(json_object_get(json_object_get(got, "data"), "v"));
        if (good && (!v || strcmp(v, val) != 0 || json_array_size(items) != 1 ||
                     strcmp(json_string_value(json_object_get(
                                json_object_get(json_array_get(items, 0), "metadata"), "name")),
                            name) != 0)) {
            snprintf(w->err, sizeof(w->err), "round %d: wrong answer %s", round, v ? v : "(none)");
            good = 0;
        }
        json_decref(o);
        json_decref(got);
        json_decref(items);
        free(sel);
        if (good)
            w->ok++;
    }
    return NULL;
}

TEST(threads_share_one_client)
{
    struct kube_client_options o = KUBE_CLIENT_OPTIONS_INIT;
    struct kube_client_stats st;
    struct kubeconfig kc;
    struct worker w[6];
    pthread_t th[6];
    kube_client *c = NULL;
    json_t *items = NULL;

    o.pool_size = 3;
    CHECK_OK(kubeconfig_load(&kc, sim.kubeconfig, NULL));
    CHECK_OK(kube_client_new_opts(&c, &kc, &o));
    kubeconfig_dispose(&kc);
    for (int i = 0; i < 6; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].c = c;
        w[i].id = i;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 6; i++) {
        if (w[i].ok != 15)
            fprintf(stderr, "worker %d: %s\n", i, w[i].err);
        CHECK(w[i].ok == 15);
    }
    kube_client_stats(c, &st);
    /* Six threads, three connections at most, and more than one used. */
    CHECK(st.connections >= 2 && st.connections <= 3);
    CHECK(st.requests >= 6 * 15 * 3);
    CHECK_OK(kube_client_list(c, "v1", "ConfigMap", "default", "pool=t", &items));
    CHECK(json_array_size(items) == 6);
    json_decref(items);
    kube_client_free(c);
}

TEST(crd_then_custom_resource_in_one_go)
{
    kube_client *c = client_token();
    struct kube_client_stats st0, st1;
    const struct kube_resource *r = NULL;
    json_t *crd =
        obj("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
            "\"metadata\":{\"name\":\"gadgets.edge.example.com\"},\"spec\":{\"group\":"
            "\"edge.example.com\",\"scope\":\"Cluster\",\"names\":{\"plural\":\"gadgets\","
            "\"singular\":\"gadget\",\"kind\":\"Gadget\",\"listKind\":\"GadgetList\"},"
            "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":"
            "{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":"
            "true}}},{\"name\":\"v1beta1\",\"served\":true,\"storage\":false,\"schema\":"
            "{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":"
            "true}}}]}}");
    json_t *gadget = obj("{\"apiVersion\":\"edge.example.com/v1\",\"kind\":\"Gadget\","
                         "\"metadata\":{\"name\":\"g1\"},\"spec\":{\"n\":1}}");
    json_t *got = NULL;

    /* An unknown kind refreshes discovery once; asking again at once
     * answers from the recent miss instead of another full pass. */
    CHECK_OK(kube_client_discover(c));
    kube_client_stats(c, &st0);
    CHECK_ERR(kube_client_resource(c, "edge.example.com/v1", "Gadget", &r), ERR_NOTFOUND);
    CHECK_ERR(kube_client_resource(c, "edge.example.com/v1", "Gadget", &r), ERR_NOTFOUND);
    kube_client_stats(c, &st1);
    CHECK(st1.discoveries == st0.discoveries + 1);

    /* Applying the CRD makes its kind usable right away, in the same
     * pass, despite the miss a moment ago. */
    CHECK_OK(kube_client_apply(c, crd, 0, NULL));
    CHECK_OK(kube_client_apply(c, gadget, 0, NULL));
    CHECK_OK(kube_client_get(c, "edge.example.com/v1", "Gadget", NULL, "g1", &got));
    CHECK(json_integer_value(json_object_get(json_object_get(got, "spec"), "n")) == 1);
    CHECK_OK(kube_client_resource(c, "edge.example.com/v1", "Gadget", &r));
    CHECK(r->namespaced == 0);
    CHECK_STR(r->resource, "gadgets");
    /* The preferred version the server names for the group, and a
     * non-preferred one fetched on demand. */
    CHECK_OK(kube_client_preferred(c, "edge.example.com", "Gadget", &r));
    CHECK_STR(r->version, "v1");
    CHECK_OK(kube_client_preferred(c, "apps", "Deployment", &r));
    CHECK_STR(r->version, "v1");
    CHECK_OK(kube_client_resource(c, "edge.example.com/v1beta1", "Gadget", &r));
    CHECK_STR(r->version, "v1beta1");
    CHECK_ERR(kube_client_preferred(c, "nothing.example.com", "Gadget", &r), ERR_NOTFOUND);
    json_decref(got);
    json_decref(crd);
    json_decref(gadget);
    kube_client_free(c);
}

TEST(field_selectors_and_pages)
{
    kube_client *c = client_token();
    struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
    json_t *items = NULL, *it;
    char *rv = NULL;
    size_t i;
    int seen[7] = {0};

    for (int n = 0; n < 7; n++) {
        char *text = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
                               "\"name\":\"page-%d\",\"namespace\":\"default\",\"labels\":{"
                               "\"paged\":\"yes\"}}}",
                               n);
        json_t *o = obj(text);
        CHECK_OK(kube_client_apply(c, o, 0, NULL));
        json_decref(o);
        free(text);
    }
    lo.field_selector = "metadata.name=page-3";
    CHECK_OK(kube_client_list_opts(c, "v1", "ConfigMap", NULL, &lo, &items, NULL));
    CHECK(json_array_size(items) == 1);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(items, 0), "metadata"), "name")),
              "page-3");
    json_decref(items);
    items = NULL;
    lo.field_selector = "metadata.namespace=kube-system";
    lo.label_selector = "paged=yes";
    CHECK_OK(kube_client_list_opts(c, "v1", "ConfigMap", NULL, &lo, &items, NULL));
    CHECK(json_array_size(items) == 0);
    json_decref(items);
    items = NULL;
    /* The server's verdict on a field it cannot select on. */
    lo.field_selector = "spec.nodeName=x";
    CHECK_ERR(kube_client_list_opts(c, "v1", "ConfigMap", NULL, &lo, &items, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "list ConfigMap (all namespaces): BadRequest");

    /* Pages of two: all seven, each once, whether the server pages or
     * answers all at once. */
    lo.field_selector = NULL;
    lo.page_size = 2;
    CHECK_OK(kube_client_list_opts(c, "v1", "ConfigMap", "default", &lo, &items, &rv));
    CHECK(json_array_size(items) == 7);
    CHECK(rv != NULL && rv[0] != '\0');
    json_array_foreach(items, i, it)
    {
        const char *name =
            json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        int n = name ? name[5] - '0' : -1;
        CHECK(n >= 0 && n < 7);
        seen[n]++;
    }
    for (int n = 0; n < 7; n++)
        CHECK(seen[n] == 1);
    json_decref(items);
    free(rv);
    kube_client_free(c);
}

/* What a backup walks: every kind at its preferred version, with the
 * list verb, and gone once its CRD is gone. */
static const struct kube_resource *find_kind(const struct kube_resource **v, size_t n,
                                             const char *group, const char *resource)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i]->group, group) && !strcmp(v[i]->resource, resource))
            return v[i];
    return NULL;
}

TEST(preferred_resources_follow_crds)
{
    kube_client *c = client_token();
    const struct kube_resource **v = NULL, *r;
    json_t *failed = NULL;
    size_t n = 0;
    json_t *crd =
        obj("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
            "\"metadata\":{\"name\":\"widgets.pref.example.com\"},\"spec\":{\"group\":"
            "\"pref.example.com\",\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\","
            "\"singular\":\"widget\",\"kind\":\"Widget\"},\"versions\":[{\"name\":\"v2\","
            "\"served\":true,\"storage\":true},{\"name\":\"v1\",\"served\":true,"
            "\"storage\":false}]}}");

    CHECK_OK(kube_client_apply(c, crd, 0, NULL));
    CHECK_OK(kube_client_preferred_resources(c, &v, &n, &failed));
    CHECK(json_array_size(failed) == 0);
    r = find_kind(v, n, "", "configmaps");
    CHECK(r && r->namespaced && r->listable && !strcmp(r->version, "v1"));
    r = find_kind(v, n, "", "namespaces");
    CHECK(r && !r->namespaced);
    r = find_kind(v, n, "pref.example.com", "widgets");
    CHECK(r && r->namespaced && !strcmp(r->version, "v2"));
    /* Subresources are not kinds; one entry per kind. */
    for (size_t i = 0; i < n; i++)
        CHECK(strchr(v[i]->resource, '/') == NULL);
    free(v);
    v = NULL;
    json_decref(failed);
    failed = NULL;

    CHECK_OK(kube_client_delete_wait(c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", NULL,
                                     "widgets.pref.example.com", NULL, 10000));
    CHECK_OK(kube_client_preferred_resources(c, &v, &n, NULL));
    CHECK(find_kind(v, n, "pref.example.com", "widgets") == NULL);
    CHECK(find_kind(v, n, "", "configmaps") != NULL);
    free(v);
    json_decref(crd);
    kube_client_free(c);
}

struct each_ctx {
    int n, stop_at;
};

static int each_item(void *arg, json_t *item)
{
    struct each_ctx *e = arg;
    if (!json_is_string(json_object_get(item, "kind")))
        return err_set(ERR_INVALID, "item without kind");
    if (++e->n == e->stop_at)
        return err_set(ERR_IO, "stopped at %d", e->n);
    return 0;
}

/* Page by page through a callback (the page-N ConfigMaps of
 * field_selectors_and_pages); a callback's error ends the walk. */
TEST(list_each_pages)
{
    kube_client *c = client_token();
    const struct kube_resource *r = NULL;
    struct kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
    struct kube_client_stats st0, st1;
    struct each_ctx e = {0, 0};

    CHECK_OK(kube_client_resource(c, "v1", "ConfigMap", &r));
    lo.label_selector = "paged=yes";
    lo.page_size = 2;
    kube_client_stats(c, &st0);
    CHECK_OK(kube_client_list_each(c, r, "default", &lo, each_item, &e));
    kube_client_stats(c, &st1);
    CHECK(e.n == 7);
    CHECK(st1.requests - st0.requests == 4); /* 2 + 2 + 2 + 1 */
    e.n = 0;
    e.stop_at = 3;
    CHECK_ERR(kube_client_list_each(c, r, "default", &lo, each_item, &e), ERR_IO);
    CHECK_CONTAINS(err_last(), "stopped at 3");
    kube_client_free(c);
}

TEST(delete_wait_until_gone)
{
    kube_client *c = client_token();
    json_t *o = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                    "\"doomed\",\"namespace\":\"default\"}}");
    json_t *got = NULL;

    CHECK_OK(kube_client_apply(c, o, 0, NULL));
    CHECK_OK(
        kube_client_delete_wait(c, "v1", "ConfigMap", "default", "doomed", "Foreground", 20000));
    CHECK_ERR(kube_client_get(c, "v1", "ConfigMap", "default", "doomed", &got), ERR_NOTFOUND);
    CHECK_ERR(kube_client_delete_wait(c, "v1", "ConfigMap", "default", "doomed", NULL, 20000),
              ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "delete ConfigMap default/doomed: NotFound");
    CHECK_ERR(kube_client_delete_wait(c, "v1", "ConfigMap", "default", "doomed", "Never", 20000),
              ERR_INVALID);
    json_decref(o);
    kube_client_free(c);
}

TEST(create_and_patch)
{
    kube_client *c = client_token();
    json_t *o = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                    "\"made\",\"namespace\":\"default\"},\"data\":{\"a\":\"1\"}}");
    json_t *patch = obj("{\"data\":{\"b\":\"2\"}}");
    json_t *live = NULL, *got = NULL;

    CHECK_OK(kube_client_create(c, o, &live));
    CHECK(json_object_get(json_object_get(live, "metadata"), "uid") != NULL);
    CHECK_ERR(kube_client_create(c, o, NULL), ERR_CONFLICT);
    CHECK_OK(kube_client_patch(c, "v1", "ConfigMap", "default", "made", "merge", patch, NULL));
    CHECK_OK(kube_client_get(c, "v1", "ConfigMap", "default", "made", &got));
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "data"), "a")), "1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(got, "data"), "b")), "2");
    CHECK_ERR(kube_client_patch(c, "v1", "ConfigMap", "default", "made", "json", patch, NULL),
              ERR_INVALID);
    CHECK_ERR(kube_client_patch(c, "v1", "ConfigMap", "default", "made", "yaml", patch, NULL),
              ERR_INVALID);
    CHECK_OK(kube_client_delete(c, "v1", "ConfigMap", "default", "made", NULL));
    json_decref(o);
    json_decref(patch);
    json_decref(live);
    json_decref(got);
    kube_client_free(c);
}

TEST(in_cluster_against_kubesim)
{
    struct kubeconfig kc, ic;
    kube_client *c = NULL;
    json_t *items = NULL;
    char *sa = xasprintf("%s/serviceaccount", dir), *p, *port;

    /* A service-account folder as the kubelet mounts it, made from
     * kubesim's own CA and token. */
    CHECK_OK(kubeconfig_load(&kc, sim.kubeconfig, NULL));
    CHECK_OK(fs_mkdir_p(sa, 0700));
    p = xasprintf("%s/token", sa);
    CHECK_OK(fs_write_atomic(p, kc.token, strlen(kc.token), 0600));
    free(p);
    p = xasprintf("%s/ca.crt", sa);
    CHECK_OK(fs_write_atomic(p, kc.ca_pem, kc.ca_pem_len, 0600));
    free(p);
    p = xasprintf("%s/namespace", sa);
    CHECK_OK(fs_write_atomic(p, "kube-system\n", 12, 0600));
    free(p);
    port = strrchr(kc.server, ':') + 1;
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    CHECK_OK(kubeconfig_in_cluster(&ic, sa));
    CHECK_OK(kube_client_new(&c, &ic));
    CHECK_STR(kube_client_namespace(c), "kube-system");
    CHECK_OK(kube_client_list(c, "v1", "Namespace", NULL, NULL, &items));
    CHECK(json_array_size(items) >= 1);
    kube_client_free(c);
    json_decref(items);
    kubeconfig_dispose(&ic);
    kubeconfig_dispose(&kc);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    free(sa);
}

int main(void)
{
    char *simdir;
    signal(SIGPIPE, SIG_IGN);
    dir = test_tmpdir("kube-client");
    simdir = xasprintf("%s/kubesim", dir);
    if (kubesim_proc_start(&sim, simdir) < 0)
        return 2;
    RUN(discovery_resolves_kinds);
    RUN(apply_get_list_delete);
    RUN(cluster_scoped_and_apps);
    RUN(dry_run_does_not_store);
    RUN(apply_errors);
    RUN(crd_kind_resolves_after_refresh);
    RUN(client_certificate_auth);
    RUN(token_file_and_bad_token);
    RUN(tls_verification_against_kubesim);
    RUN(threads_share_one_client);
    RUN(crd_then_custom_resource_in_one_go);
    RUN(field_selectors_and_pages);
    RUN(list_each_pages);
    RUN(preferred_resources_follow_crds);
    RUN(delete_wait_until_gone);
    RUN(create_and_patch);
    RUN(in_cluster_against_kubesim);
    kubesim_proc_stop(&sim);
    free(simdir);
    free(dir);
    return TEST_END();
}
