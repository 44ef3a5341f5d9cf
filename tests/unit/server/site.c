/*
 * Tests for the site routes (appliance/server/api_site.c, api_metrics.c)
 * and the server's limits against a hostile LAN (server.c): a real server
 * on 127.0.0.1:0 over a store in the test folder, with a site config read
 * from a file and stand-in actions that record what they were asked.
 *
 * The limit tests speak raw TCP from the test, as an attacker would:
 * headers or a body trickled a byte at a time, idle connections held open
 * from one address while another address (127.0.0.2, also loopback) is
 * still served. The server runs with a 1 s request timeout so the cut-offs
 * are quick to observe; the default (10 s) is the same code path.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/seal.h"
#include "core/util.h"
#include "model/config.h"
#include "server/internal.h"
#include "storage/store.h"
#include "test.h"

#define TOKEN "site-test-token-0123456789abcdef0123456789abcdef"
#define TIMEOUT_MS 1000
#define PER_ADDRESS 3

static char *dir;
static store *st;
static server *srv;
static int port;
static struct config cfg;
static int ready_answer;
static char validated[512];
static struct buf answers = BUF_INIT; /* every answer, for the secrets check */

/* ---- a raw client ---- */

struct answer {
    int status;
    char *raw;
    const char *body;
};

static void answer_dispose(struct answer *a)
{
    free(a->raw);
    memset(a, 0, sizeof(*a));
}

/* A connected socket to the server from source address from (NULL: any),
 * with a receive timeout of recv_ms; -1 on failure. */
static int client_connect(const char *from, int recv_ms)
{
    struct sockaddr_in sa;
    struct timeval tv = {recv_ms / 1000, (recv_ms % 1000) * 1000};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (from) {
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        inet_pton(AF_INET, from, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            close(fd);
            return -1;
        }
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read fd to EOF (or its receive timeout) into a. */
static void client_read(int fd, struct answer *a)
{
    struct buf b = BUF_INIT;
    char chunk[4096];
    ssize_t n;
    char *sep;

    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        buf_put(&b, chunk, (size_t)n);
    a->raw = buf_detach(&b);
    a->status = 0;
    sscanf(a->raw, "HTTP/1.%*c %d", &a->status);
    sep = strstr(a->raw, "\r\n\r\n");
    a->body = sep ? sep + 4 : "";
    buf_puts(&answers, a->raw);
}

/* One request (Connection: close added) with an optional body. */
static void request(const char *method, const char *path, const char *auth, const char *body,
                    struct answer *a)
{
    char *req = xasprintf("%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%sContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n%s",
                          method, path, auth ? "Authorization: " : "", auth ? auth : "",
                          auth ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
    int fd = client_connect(NULL, 5000);

    memset(a, 0, sizeof(*a));
    if (fd >= 0) {
        send(fd, req, strlen(req), MSG_NOSIGNAL);
        client_read(fd, a);
        close(fd);
    } else {
        a->raw = xstrdup("");
        a->body = a->raw;
    }
    free(req);
}

static void get(const char *path, struct answer *a)
{
    request("GET", path, "Bearer " TOKEN, NULL, a);
}

static json_t *answer_json(const struct answer *a)
{
    json_t *j = json_loads(a->body, 0, NULL);
    if (!j)
        fprintf(stderr, "not JSON: %s\n", a->raw);
    return j;
}

static const char *member(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- stand-in actions ---- */

static int fake_ready(void *ctx)
{
    (void)ctx;
    return ready_answer;
}

static void fake_metrics(void *ctx, struct buf *out)
{
    (void)ctx;
    buf_puts(out,
             "# TYPE argocd_app_sync_total counter\nargocd_app_sync_total{phase=\"Succeeded\"} "
             "7\n");
}

static int fake_repo_validate(void *ctx, const char *url, char **message)
{
    (void)ctx;
    *message = NULL;
    str_copy(validated, url, sizeof(validated));
    if (strstr(url, "broken"))
        return err_set(ERR_AUTH, "%s: authentication refused", url);
    *message = xstrdup("2 branches and tags");
    return 0;
}

static int fake_cluster_validate(void *ctx, const char *name, char **message)
{
    (void)ctx;
    *message = NULL;
    if (strcmp(name, "edge") != 0)
        return err_set(ERR_IO, "cluster %s: connection refused", name);
    *message = xstrdup("discovery: 12 resource kinds");
    return 0;
}

/* The engine's cluster list as the fakes keep it: the config's two, and
 * what the API adds; what each add was given is checked by the test. */
static json_t *fake_cluster_list;
static char fake_added_kubeconfig[256];

static json_t *fake_clusters(void *ctx)
{
    (void)ctx;
    return json_deep_copy(fake_cluster_list);
}

static int fake_cluster_add(void *ctx, const char *name, const char *kubeconfig,
                            const char *context, char **out_server)
{
    json_t *c;
    size_t i;
    (void)ctx;
    *out_server = NULL;
    str_copy(fake_added_kubeconfig, kubeconfig, sizeof(fake_added_kubeconfig));
    if (!strstr(kubeconfig, "server:"))
        return err_set(ERR_INVALID, "kubeconfig: cluster \"k\": server: missing");
    if (strstr(kubeconfig, "client-key:"))
        return err_set(ERR_UNSUPPORTED, "kubeconfig: a file reference cannot be used here");
    json_array_foreach(fake_cluster_list, i, c)
    {
        if (!strcmp(member(c, "name"), name))
            return err_set(ERR_CONFLICT, "cluster \"%s\" exists", name);
    }
    *out_server = xasprintf("https://%s:6443", context ? context : "current");
    json_array_append_new(fake_cluster_list, json_pack("{s:s, s:s, s:s}", "name", name, "server",
                                                       *out_server, "origin", "api"));
    return 0;
}

static int fake_cluster_remove(void *ctx, const char *name)
{
    json_t *c;
    size_t i;
    (void)ctx;
    json_array_foreach(fake_cluster_list, i, c)
    {
        if (strcmp(member(c, "name"), name) != 0)
            continue;
        if (!strcmp(member(c, "origin"), "config"))
            return err_set(ERR_CONFLICT, "cluster \"%s\" comes from the site config", name);
        json_array_remove(fake_cluster_list, i);
        return 0;
    }
    return err_set(ERR_NOTFOUND, "cluster \"%s\" not found", name);
}

/* ---- tests ---- */

TEST(openapi_lists_every_route)
{
    struct answer a;
    json_t *doc, *paths;
    size_t i;

    get("/api/v1/openapi.json", &a);
    CHECK(a.status == 200);
    doc = answer_json(&a);
    CHECK(doc != NULL);
    CHECK_STR(member(doc, "openapi"), "3.0.3");
    paths = json_object_get(doc, "paths");
    for (i = 0; i < server_routes_count; i++) {
        const struct server_route *r = &server_routes[i];
        const char *star = strchr(r->pattern, '*');
        char *path = star
                         ? xasprintf("%.*s{name}%s", (int)(star - r->pattern), r->pattern, star + 1)
                         : xstrdup(r->pattern);
        char method[16];
        json_t *op, *sec, *xrbac;
        size_t k;

        for (k = 0; r->method[k] && k + 1 < sizeof(method); k++)
            method[k] = (char)(r->method[k] | 0x20);
        method[k] = '\0';
        op = json_object_get(json_object_get(paths, path), method);
        if (!op)
            fprintf(stderr, "missing from openapi.json: %s %s\n", r->method, path);
        CHECK(op != NULL);
        CHECK_STR(member(op, "summary"), r->summary);
        sec = json_object_get(op, "security");
        xrbac = json_object_get(op, "x-rbac");
        if (r->auth == SERVER_AUTH_NONE || r->auth == SERVER_AUTH_ASSET) {
            CHECK(json_array_size(sec) == 0);
        } else if (r->auth == SERVER_AUTH_USER) {
            CHECK(json_object_get(json_array_get(sec, 0), "bearer") != NULL);
            if (r->resource) {
                CHECK_STR(member(xrbac, "resource"), r->resource);
                CHECK_STR(member(xrbac, "action"), r->action);
            } else {
                CHECK(json_is_true(json_object_get(xrbac, "anyAuthenticated")));
            }
        } else {
            CHECK(json_object_get(json_array_get(sec, 0), "webhookSignature") != NULL);
        }
        if (star)
            CHECK_STR(member(json_array_get(json_object_get(op, "parameters"), 0), "in"), "path");
        free(path);
    }
    /* nothing in the document that the table does not have */
    {
        const char *p;
        json_t *item;
        size_t ops = 0;
        json_object_foreach(paths, p, item) ops += json_object_size(item);
        CHECK(ops == server_routes_count);
    }
    json_decref(doc);
    answer_dispose(&a);

    /* like every route but the health probes, it needs credentials */
    request("GET", "/api/v1/openapi.json", NULL, NULL, &a);
    CHECK(a.status == 401);
    answer_dispose(&a);
}

TEST(readyz_follows_the_engine_without_auth)
{
    struct answer a;

    ready_answer = 0;
    request("GET", "/readyz", NULL, NULL, &a);
    CHECK(a.status == 503);
    CHECK_CONTAINS(a.body, "first pass");
    answer_dispose(&a);
    ready_answer = 1;
    request("GET", "/readyz", NULL, NULL, &a);
    CHECK(a.status == 200);
    CHECK_CONTAINS(a.body, "ready");
    answer_dispose(&a);
}

TEST(metrics_text_with_app_info)
{
    struct answer a;
    const char *line;

    request("GET", "/metrics", NULL, NULL, &a);
    CHECK(a.status == 401);
    answer_dispose(&a);

    get("/metrics", &a);
    CHECK(a.status == 200);
    CHECK_CONTAINS(a.raw, "Content-Type: text/plain; version=0.0.4");
    CHECK_CONTAINS(a.raw, "X-Content-Type-Options: nosniff");
    CHECK_CONTAINS(a.body, "# TYPE argocd_app_info gauge\n");
    /* the credential in the app's repoURL is not in the label */
    CHECK_CONTAINS(a.body, "argocd_app_info{name=\"guestbook\",namespace=\"argocd\","
                           "project=\"default\",sync_status=\"OutOfSync\","
                           "health_status=\"Degraded\",repo=\"https://git.local/guestbook.git\","
                           "dest_server=\"https://kubernetes.default.svc\","
                           "dest_namespace=\"guestbook\"} 1\n");
    CHECK_CONTAINS(a.body, "argocd_app_info{name=\"never-seen\",namespace=\"argocd\","
                           "project=\"edge\",sync_status=\"Unknown\",health_status=\"Unknown\"");
    CHECK(strstr(a.body, "s3cr3t") == NULL);
    /* what the engine adds, then the process */
    CHECK_CONTAINS(a.body, "argocd_app_sync_total{phase=\"Succeeded\"} 7\n");
    line = strstr(a.body, "\nprocess_resident_memory_bytes ");
    CHECK(line && strtod(line + 31, NULL) > 1e6);
    /* /proc's boot time is whole seconds: the start may read up to 1 s late */
    line = strstr(a.body, "\nprocess_start_time_seconds ");
    CHECK(line != NULL);
    if (line) {
        double started = strtod(line + 28, NULL);
        if (!(started > (double)time(NULL) - 3600 && started <= (double)time(NULL) + 2))
            fprintf(stderr, "process_start_time_seconds %f, now %ld\n", started, (long)time(NULL));
        CHECK(started > (double)time(NULL) - 3600 && started <= (double)time(NULL) + 2);
    }
    CHECK_CONTAINS(a.body, "\nprocess_cpu_seconds_total ");
    answer_dispose(&a);
}

TEST(version_and_settings)
{
    struct answer a;
    json_t *j;

    get("/api/v1/version", &a);
    CHECK(a.status == 200);
    j = answer_json(&a);
    CHECK_STR(member(j, "Version"), "9.8.7");
    CHECK(member(j, "Platform") && !strncmp(member(j, "Platform"), "linux/", 6));
    json_decref(j);
    answer_dispose(&a);

    get("/api/v1/settings", &a);
    CHECK(a.status == 200);
    j = answer_json(&a);
    CHECK_STR(member(j, "appLabelKey"), "edgecd.io/app");
    CHECK(json_integer_value(json_object_get(j, "pollSeconds")) == 42);
    CHECK(json_is_object(json_object_get(j, "resourceOverrides")));
    json_decref(j);
    answer_dispose(&a);
}

TEST(projects_create_update_delete)
{
    static const char *const proj =
        "{\"metadata\":{\"name\":\"lab\"},\"spec\":{\"sourceRepos\":[\"https://git.local/*\"],"
        "\"destinations\":[{\"server\":\"*\",\"namespace\":\"lab-*\"}]}}";
    struct answer a;
    json_t *j;
    char *text = NULL;

    get("/api/v1/projects", &a);
    CHECK(a.status == 200);
    j = answer_json(&a);
    /* the config's project, and Argo CD's default */
    CHECK(json_array_size(json_object_get(j, "items")) == 2);
    json_decref(j);
    answer_dispose(&a);

    request("POST", "/api/v1/projects", "Bearer " TOKEN, proj, &a);
    CHECK(a.status == 200);
    j = answer_json(&a);
    CHECK_STR(member(j, "kind"), "AppProject");
    json_decref(j);
    answer_dispose(&a);
    CHECK_OK(store_project_get(st, "lab", &text));
    CHECK_CONTAINS(text, "lab-*");
    free(text);

    request("POST", "/api/v1/projects", "Bearer " TOKEN, proj, &a);
    CHECK(a.status == 409);
    answer_dispose(&a);
    request("POST", "/api/v1/projects", "Bearer " TOKEN, "{\"spec\":{}}", &a);
    CHECK(a.status == 400);
    CHECK_CONTAINS(a.body, "metadata.name");
    answer_dispose(&a);
    request("POST", "/api/v1/projects", "Bearer " TOKEN, "[1]", &a);
    CHECK(a.status == 400);
    answer_dispose(&a);

    /* an invalid spec is refused with model/'s message and changes nothing */
    request("PUT", "/api/v1/projects/lab", "Bearer " TOKEN,
            "{\"metadata\":{\"name\":\"lab\"},\"spec\":{\"sourceRepos\":\"nope\"}}", &a);
    CHECK(a.status == 400);
    CHECK_CONTAINS(a.body, "sourceRepos");
    answer_dispose(&a);
    CHECK_OK(store_project_get(st, "lab", &text));
    CHECK_CONTAINS(text, "lab-*");
    free(text);

    request("PUT", "/api/v1/projects/lab", "Bearer " TOKEN,
            "{\"project\":{\"metadata\":{\"name\":\"lab\"},\"spec\":{\"sourceRepos\":[\"*\"]}}}",
            &a);
    CHECK(a.status == 200);
    answer_dispose(&a);
    get("/api/v1/projects/lab", &a);
    CHECK(a.status == 200);
    CHECK(strstr(a.body, "lab-*") == NULL);
    answer_dispose(&a);

    /* a name in the body that is not the path's */
    request("PUT", "/api/v1/projects/lab", "Bearer " TOKEN, "{\"metadata\":{\"name\":\"other\"}}",
            &a);
    CHECK(a.status == 400);
    answer_dispose(&a);

    /* the site config's project belongs to the config */
    request("PUT", "/api/v1/projects/edge", "Bearer " TOKEN, proj, &a);
    CHECK(a.status == 409);
    CHECK_CONTAINS(a.body, "site config");
    answer_dispose(&a);
    request("DELETE", "/api/v1/projects/edge", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 409);
    answer_dispose(&a);

    /* a project an application uses stays */
    CHECK_OK(store_project_put(st, "used",
                               "{\"apiVersion\":\"argoproj.io/v1alpha1\","
                               "\"kind\":\"AppProject\",\"metadata\":{\"name\":"
                               "\"used\"},\"spec\":{}}"));
    CHECK_OK(store_app_put(st, "user-app",
                           "{\"metadata\":{\"name\":\"user-app\"},\"spec\":{"
                           "\"project\":\"used\"}}"));
    request("DELETE", "/api/v1/projects/used", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 409);
    CHECK_CONTAINS(a.body, "user-app");
    answer_dispose(&a);
    CHECK_OK(store_app_delete(st, "user-app"));

    request("DELETE", "/api/v1/projects/lab", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    answer_dispose(&a);
    CHECK_ERR(store_project_get(st, "lab", &text), ERR_NOTFOUND);
    request("DELETE", "/api/v1/projects/lab", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 404);
    answer_dispose(&a);
}

TEST(repositories_keep_the_password_sealed)
{
    struct answer a;
    json_t *j, *item;
    struct store_repo *v = NULL;
    size_t n = 0;
    unsigned char key[SEAL_KEY_LEN];
    char *plain = NULL;

    request("POST", "/api/v1/repositories", "Bearer " TOKEN,
            "{\"repo\":\"https://git.local/team/app.git\",\"username\":\"ci\","
            "\"password\":\"hunter2-token\",\"insecure\":true}",
            &a);
    CHECK(a.status == 200);
    CHECK(strstr(a.raw, "hunter2") == NULL);
    answer_dispose(&a);

    /* stored as the CLI stores it: sealed under keys/secret.key */
    CHECK_OK(store_repo_list(st, &v, &n));
    CHECK(n == 1);
    CHECK_STR(v[0].username, "ci");
    CHECK(v[0].insecure == 1);
    CHECK(strstr(v[0].password_sealed, "hunter2") == NULL);
    CHECK_OK(seal_key_load(key, dir));
    CHECK_OK(seal_open(&plain, key, v[0].password_sealed, v[0].url));
    CHECK_STR(plain, "hunter2-token");
    free(plain);
    store_repos_free(v, n);

    get("/api/v1/repositories", &a);
    CHECK(a.status == 200);
    CHECK(strstr(a.raw, "hunter2") == NULL);
    j = answer_json(&a);
    item = json_array_get(json_object_get(j, "items"), 0);
    CHECK_STR(member(item, "repo"), "https://git.local/team/app.git");
    CHECK_STR(member(item, "username"), "ci");
    CHECK(json_is_true(json_object_get(item, "hasPassword")));
    CHECK(json_object_get(item, "password") == NULL);
    CHECK_STR(member(json_object_get(item, "connectionState"), "status"), "Unknown");
    json_decref(j);
    answer_dispose(&a);

    /* refusals change nothing */
    request("POST", "/api/v1/repositories", "Bearer " TOKEN,
            "{\"repo\":\"https://me:pw@git.local/x.git\"}", &a);
    CHECK(a.status == 400);
    answer_dispose(&a);
    request("POST", "/api/v1/repositories", "Bearer " TOKEN,
            "{\"repo\":\"git@git.local:x.git\",\"password\":\"x\"}", &a);
    CHECK(a.status == 400);
    CHECK_CONTAINS(a.body, "ssh");
    answer_dispose(&a);
    request("POST", "/api/v1/repositories", "Bearer " TOKEN,
            "{\"repo\":\"file:///srv/git/x.git\",\"password\":\"x\"}", &a);
    CHECK(a.status == 400);
    answer_dispose(&a);
    CHECK_OK(store_repo_list(st, &v, &n));
    CHECK(n == 1);
    store_repos_free(v, n);

    /* the URL travels percent-encoded in the path */
    request("POST", "/api/v1/repositories/https%3A%2F%2Fgit.local%2Fteam%2Fapp.git/validate",
            "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    CHECK_STR(validated, "https://git.local/team/app.git");
    j = answer_json(&a);
    CHECK_STR(member(j, "status"), "Successful");
    CHECK_STR(member(j, "message"), "2 branches and tags");
    json_decref(j);
    answer_dispose(&a);
    get("/api/v1/repositories", &a);
    CHECK_CONTAINS(a.body, "\"status\":\"Successful\"");
    answer_dispose(&a);

    request("POST", "/api/v1/repositories/https%3A%2F%2Fgit.local%2Fbroken.git/validate",
            "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    j = answer_json(&a);
    CHECK_STR(member(j, "status"), "Failed");
    CHECK_CONTAINS(member(j, "message"), "authentication refused");
    json_decref(j);
    answer_dispose(&a);

    request("POST", "/api/v1/repositories/bad%zzescape/validate", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 400);
    answer_dispose(&a);

    request("DELETE", "/api/v1/repositories/https%3A%2F%2Fgit.local%2Fteam%2Fapp.git",
            "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    answer_dispose(&a);
    CHECK_OK(store_repo_list(st, &v, &n));
    CHECK(n == 0);
    store_repos_free(v, n);
    request("DELETE", "/api/v1/repositories/https%3A%2F%2Fgit.local%2Fteam%2Fapp.git",
            "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 404);
    answer_dispose(&a);
}

TEST(clusters_from_the_config)
{
    struct answer a;
    json_t *j, *item;

    get("/api/v1/clusters", &a);
    CHECK(a.status == 200);
    j = answer_json(&a);
    item = json_array_get(json_object_get(j, "items"), 0);
    CHECK_STR(member(item, "name"), "edge");
    CHECK_STR(member(item, "server"), "https://10.0.0.1:6443");
    CHECK_STR(member(item, "origin"), "config");
    /* where the credentials are is not said */
    CHECK(strstr(a.body, "kubeconfig") == NULL);
    json_decref(j);
    answer_dispose(&a);

    request("POST", "/api/v1/clusters/edge/validate", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    CHECK_CONTAINS(a.body, "\"status\":\"Successful\"");
    answer_dispose(&a);
    request("POST", "/api/v1/clusters/far/validate", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    CHECK_CONTAINS(a.body, "\"status\":\"Failed\"");
    CHECK_CONTAINS(a.body, "connection refused");
    answer_dispose(&a);
    get("/api/v1/clusters", &a);
    CHECK_CONTAINS(a.body, "\"status\":\"Successful\"");
    CHECK_CONTAINS(a.body, "\"status\":\"Failed\"");
    answer_dispose(&a);
    request("POST", "/api/v1/clusters/nope/validate", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 404);
    answer_dispose(&a);
    answer_dispose(&a);
}

/* Adding and removing clusters: the answer names the server, never the
 * kubeconfig; each refusal has its status and reason. */
TEST(clusters_added_and_removed)
{
    struct answer a;

    request("POST", "/api/v1/clusters", "Bearer " TOKEN,
            "{\"name\":\"lab\",\"context\":\"lab-ctx\",\"kubeconfig\":\"clusters: [{name: k, "
            "cluster: {server: 'https://lab:6443'}}]\\ntoken: s3cr3t\"}",
            &a);
    CHECK(a.status == 200);
    CHECK_CONTAINS(a.body, "\"server\":\"https://lab-ctx:6443\"");
    CHECK_CONTAINS(a.body, "\"origin\":\"api\"");
    CHECK(strstr(a.body, "s3cr3t") == NULL);
    CHECK_CONTAINS(fake_added_kubeconfig, "token: s3cr3t");
    answer_dispose(&a);
    get("/api/v1/clusters", &a);
    CHECK_CONTAINS(a.body, "\"name\":\"lab\"");
    CHECK(strstr(a.body, "s3cr3t") == NULL);
    answer_dispose(&a);

    request("POST", "/api/v1/clusters", "Bearer " TOKEN,
            "{\"name\":\"lab\",\"kubeconfig\":\"server: https://x\"}", &a);
    CHECK(a.status == 409);
    answer_dispose(&a);
    request("POST", "/api/v1/clusters", "Bearer " TOKEN,
            "{\"name\":\"y\",\"kubeconfig\":\"apiVersion: v1\"}", &a);
    CHECK(a.status == 400);
    CHECK_CONTAINS(a.body, "server: missing");
    answer_dispose(&a);
    request("POST", "/api/v1/clusters", "Bearer " TOKEN,
            "{\"name\":\"y\",\"kubeconfig\":\"server: https://x\\nclient-key: /etc/shadow\"}", &a);
    CHECK(a.status == 400);
    CHECK_CONTAINS(a.body, "file reference");
    answer_dispose(&a);
    request("POST", "/api/v1/clusters", "Bearer " TOKEN, "{\"name\":\"y\"}", &a);
    CHECK(a.status == 400);
    answer_dispose(&a);
    request("POST", "/api/v1/clusters", "Bearer " TOKEN,
            "{\"name\":\"y\",\"server\":\"https://y\",\"config\":{\"bearerToken\":\"t\"}}", &a);
    CHECK(a.status == 400);
    CHECK_CONTAINS(a.body, "kubeconfig");
    answer_dispose(&a);

    request("DELETE", "/api/v1/clusters/edge", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 409);
    CHECK_CONTAINS(a.body, "site config");
    answer_dispose(&a);
    request("DELETE", "/api/v1/clusters/lab", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 200);
    answer_dispose(&a);
    request("DELETE", "/api/v1/clusters/lab", "Bearer " TOKEN, NULL, &a);
    CHECK(a.status == 404);
    answer_dispose(&a);
    get("/api/v1/clusters", &a);
    CHECK(strstr(a.body, "\"lab\"") == NULL);
    CHECK_CONTAINS(a.body, "\"edge\"");
    answer_dispose(&a);
}

/* Milliseconds until the server closes fd, sending one byte of s every
 * step_ms (then waiting); -1 if it is still open after limit_ms. */
static long trickle_until_closed(int fd, const char *s, int step_ms, int limit_ms, struct answer *a)
{
    int64_t start = time_mono_ms();
    size_t i = 0, n = strlen(s);
    char c;

    memset(a, 0, sizeof(*a));
    while (time_mono_ms() - start < limit_ms) {
        struct timespec ts = {0, (long)step_ms * 1000000L};
        if (i < n && send(fd, s + i, 1, MSG_NOSIGNAL) != 1)
            break;
        i++;
        nanosleep(&ts, NULL);
        /* closed (or answered) yet? */
        if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
            recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
            long ms = (long)(time_mono_ms() - start);
            client_read(fd, a);
            return ms;
        }
    }
    a->raw = xstrdup("");
    a->body = a->raw;
    return -1;
}

TEST(slow_headers_cut_off)
{
    /* headers that would take 20 s at one byte per 100 ms */
    struct buf req = BUF_INIT;
    struct answer a;
    long ms;
    int fd, i;

    buf_puts(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (i = 0; i < 200; i++)
        buf_putc(&req, 'X');
    fd = client_connect(NULL, 3000);
    CHECK(fd >= 0);
    ms = trickle_until_closed(fd, buf_cstr(&req), 100, 5000, &a);
    close(fd);
    if (ms < 0 || ms > TIMEOUT_MS + 1000)
        fprintf(stderr, "slow headers: closed after %ld ms\n", ms);
    CHECK(ms >= TIMEOUT_MS - 200 && ms <= TIMEOUT_MS + 1000);
    CHECK(a.status != 200);
    answer_dispose(&a);
    buf_dispose(&req);
}

TEST(slow_body_cut_off)
{
    const char *head = "POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                       "\r\nContent-Length: 200\r\n\r\n";
    char body[201];
    struct answer a;
    long ms;
    int fd;

    memset(body, ' ', 200);
    body[200] = '\0';
    fd = client_connect(NULL, 3000);
    CHECK(fd >= 0);
    send(fd, head, strlen(head), MSG_NOSIGNAL);
    ms = trickle_until_closed(fd, body, 100, 6000, &a);
    close(fd);
    if (ms < 0)
        fprintf(stderr, "slow body: still open\n");
    /* within the body's own time (as long as the headers') and some slack */
    CHECK(ms >= 0 && ms <= TIMEOUT_MS + 1500);
    CHECK(a.status == 408);
    CHECK_CONTAINS(a.body, "not received in time");
    answer_dispose(&a);
}

TEST(one_address_cannot_take_every_connection)
{
    int held[PER_ADDRESS], extra, other, i;
    struct answer a;
    char c;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    /* PER_ADDRESS idle connections from 127.0.0.1 */
    for (i = 0; i < PER_ADDRESS; i++) {
        held[i] = client_connect("127.0.0.1", 2000);
        CHECK(held[i] >= 0);
    }
    {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL); /* let the server accept them */
    }
    /* one more from the same address is closed without an answer */
    extra = client_connect("127.0.0.1", 2000);
    CHECK(extra >= 0);
    send(extra, req, strlen(req), MSG_NOSIGNAL);
    CHECK(recv(extra, &c, 1, 0) <= 0);
    close(extra);
    /* another address is served meanwhile */
    other = client_connect("127.0.0.2", 3000);
    CHECK(other >= 0);
    send(other, req, strlen(req), MSG_NOSIGNAL);
    client_read(other, &a);
    close(other);
    CHECK(a.status == 200);
    answer_dispose(&a);
    for (i = 0; i < PER_ADDRESS; i++)
        close(held[i]);
    /* once they are closed, the address is served again */
    {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    request("GET", "/healthz", NULL, NULL, &a);
    CHECK(a.status == 200);
    answer_dispose(&a);
}

TEST(no_secret_in_any_answer)
{
    CHECK(answers.len > 5000);
    CHECK(strstr(answers.ptr, TOKEN) == NULL);
    CHECK(strstr(answers.ptr, "hunter2") == NULL);
    CHECK(strstr(answers.ptr, "s3cr3t") == NULL);
    CHECK(strstr(answers.ptr, "/etc/edge/kubeconfig") == NULL);
}

static void fill(void)
{
    char *site = xasprintf("%s/site.yaml", dir);
    static const char *const yaml = "apiVersion: edgecd.io/v1alpha1\n"
                                    "kind: SiteConfig\n"
                                    "pollSeconds: 42\n"
                                    "clusters:\n"
                                    "  - name: edge\n"
                                    "    server: https://10.0.0.1:6443\n"
                                    "    kubeconfig: /etc/edge/kubeconfig\n"
                                    "  - name: far\n"
                                    "    server: https://10.0.0.2:6443\n"
                                    "    kubeconfig: /etc/edge/far.kubeconfig\n"
                                    "---\n"
                                    "apiVersion: argoproj.io/v1alpha1\n"
                                    "kind: AppProject\n"
                                    "metadata: {name: edge, namespace: argocd}\n"
                                    "spec: {sourceRepos: ['*']}\n";
    struct store_app_status s = {
        .name = "guestbook",
        .sync_status = "OutOfSync",
        .revision = "0123456789abcdef0123456789abcdef01234567",
        .last_error = "",
        .synced_at = "",
        .changed_at = "",
        .message = "",
        .health = "Degraded",
        .health_message = "",
    };

    if (fs_write_atomic(site, yaml, strlen(yaml), 0600) < 0 || config_load(&cfg, site) < 0) {
        fprintf(stderr, "site config: %s\n", err_last());
        exit(2);
    }
    free(site);
    if (store_project_put(st, "edge",
                          "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":"
                          "\"AppProject\",\"metadata\":{\"name\":\"edge\"},\"spec\":"
                          "{\"sourceRepos\":[\"*\"]}}") < 0 ||
        store_app_put(st, "guestbook",
                      "{\"metadata\":{\"name\":\"guestbook\",\"namespace\":\"argocd\"},\"spec\":{"
                      "\"project\":\"default\",\"source\":{\"repoURL\":\"https://u:s3cr3t@git."
                      "local/guestbook.git\",\"path\":\"app\"},\"destination\":{\"server\":"
                      "\"https://kubernetes.default.svc\",\"namespace\":\"guestbook\"}}}") < 0 ||
        store_app_put(st, "never-seen",
                      "{\"metadata\":{\"name\":\"never-seen\"},\"spec\":{\"project\":\"edge\","
                      "\"sources\":[{\"repoURL\":\"https://git.local/x.git\"}],\"destination\":{"
                      "\"name\":\"edge\",\"namespace\":\"x\"}}}") < 0 ||
        store_app_status_put(st, &s) < 0) {
        fprintf(stderr, "store: %s\n", err_last());
        exit(2);
    }
}

int main(void)
{
    struct server_options o = {
        .listen = "127.0.0.1:0",
        .api_token = TOKEN,
        .threads = 8,
        .per_address = PER_ADDRESS,
        .request_timeout_ms = TIMEOUT_MS,
        .config = &cfg,
        .version = "9.8.7",
        .app_label_key = "edgecd.io/app",
    };
    char *db;

    signal(SIGPIPE, SIG_IGN);
    dir = test_tmpdir("server-site");
    db = xasprintf("%s/state.db", dir);
    if (store_open(&st, db) < 0) {
        fprintf(stderr, "store_open: %s\n", err_last());
        return 2;
    }
    fill();
    o.data_dir = dir;
    o.actions.ready = fake_ready;
    o.actions.metrics = fake_metrics;
    o.actions.repo_validate = fake_repo_validate;
    o.actions.cluster_validate = fake_cluster_validate;
    o.actions.clusters = fake_clusters;
    o.actions.cluster_add = fake_cluster_add;
    o.actions.cluster_remove = fake_cluster_remove;
    fake_cluster_list = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "name", "edge", "server",
                                  "https://10.0.0.1:6443", "origin", "config", "name", "far",
                                  "server", "https://10.0.0.2:6443", "origin", "config");
    if (server_start(&srv, &o, st) < 0) {
        fprintf(stderr, "server_start: %s\n", err_last());
        return 2;
    }
    port = server_port(srv);
    RUN(openapi_lists_every_route);
    RUN(readyz_follows_the_engine_without_auth);
    RUN(metrics_text_with_app_info);
    RUN(version_and_settings);
    RUN(projects_create_update_delete);
    RUN(repositories_keep_the_password_sealed);
    RUN(clusters_from_the_config);
    RUN(clusters_added_and_removed);
    RUN(slow_headers_cut_off);
    RUN(slow_body_cut_off);
    RUN(one_address_cannot_take_every_connection);
    RUN(no_secret_in_any_answer);
    server_stop(srv);
    json_decref(fake_cluster_list);
    store_close(st);
    config_dispose(&cfg);
    buf_dispose(&answers);
    free(db);
    free(dir);
    return TEST_END();
}
