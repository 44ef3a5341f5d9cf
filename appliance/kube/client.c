/*
 * The Kubernetes client on top of http.c. Decisions worth knowing:
 *
 * - Discovery is lazy: the first kind we cannot resolve triggers a full
 *   pass (GET /api/v1, GET /apis, then each group's preferred version), and
 *   so does every later miss, once per call: that is how a CRD applied a
 *   moment ago becomes usable. A version that is not the preferred one is
 *   fetched on demand when asked for.
 * - Entries are never freed before the client is: callers hold
 *   struct kube_resource pointers across refreshes. A refresh that changes
 *   an entry retires it (kept, no longer found) and adds a new one.
 * - Apply sends the object as JSON with the apply-patch+yaml type: JSON is
 *   YAML, and it spares a YAML emitter on the hot path.
 * - Errors from the API server are read from the Status object, since its
 *   message ("configmaps \"x\" not found") is what an operator can act on.
 */
#include "kube/client.h"

#include <ctype.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "kube/http.h"

/* How long a token read from tokenFile is used before reading it again;
 * client-go uses the same minute, short against kubelet's rotation. */
#define KUBE_TOKEN_TTL_MS 60000
#define KUBE_TOKEN_MAX 65536
#define KUBE_LIST_PAGE 500

struct kube_entry {
    struct kube_resource pub; /* points into the strings below */
    char *group, *version, *kind, *resource;
    int retired;
};

struct kube_gv {
    char *group, *version;
    int fetched;
    int err_code; /* why fetching it failed last time; 0 if it did not */
    char *err_msg;
};

struct kube_client {
    http_conn *http;
    char *server;
    char *token;      /* inline token or the last read from token_file */
    char *token_file; /* NULL when none */
    int64_t token_read_ms;
    struct kube_entry **entries;
    size_t n_entries, cap_entries;
    struct kube_gv *gvs; /* from /apis, all versions; rebuilt on refresh */
    size_t n_gvs;
};

/* ---- lifecycle ---- */

int kube_client_new(kube_client **out, const struct kubeconfig *kc)
{
    struct http_tls tls;
    struct http_options opts = HTTP_OPTIONS_INIT;
    kube_client *c;
    int rc;

    *out = NULL;
    if (!kc->server)
        return err_set(ERR_INVALID, "kube client: no server");
    c = xcalloc(1, sizeof(*c));
    memset(&tls, 0, sizeof(tls));
    tls.ca_pem = kc->ca_pem;
    tls.ca_pem_len = kc->ca_pem_len;
    tls.client_cert_pem = kc->client_cert_pem;
    tls.client_cert_pem_len = kc->client_cert_pem_len;
    tls.client_key_pem = kc->client_key_pem;
    tls.client_key_pem_len = kc->client_key_pem_len;
    tls.insecure = kc->insecure;
    tls.server_name = kc->tls_server_name;
    if ((rc = http_conn_new(&c->http, kc->server, &tls, &opts)) < 0)
        goto fail;
    c->server = xstrdup(kc->server);
    c->token = xstrdup(kc->token);
    c->token_file = xstrdup(kc->token_file);
    *out = c;
    return 0;
fail:
    kube_client_free(c);
    return rc;
}

static void kube_gvs_clear(kube_client *c)
{
    for (size_t i = 0; i < c->n_gvs; i++) {
        free(c->gvs[i].group);
        free(c->gvs[i].version);
        free(c->gvs[i].err_msg);
    }
    free(c->gvs);
    c->gvs = NULL;
    c->n_gvs = 0;
}

void kube_client_free(kube_client *c)
{
    if (!c)
        return;
    http_conn_free(c->http);
    free(c->server);
    if (c->token) {
        mbedtls_platform_zeroize(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->token_file);
    for (size_t i = 0; i < c->n_entries; i++) {
        struct kube_entry *e = c->entries[i];
        free(e->group);
        free(e->version);
        free(e->kind);
        free(e->resource);
        free(e);
    }
    free(c->entries);
    kube_gvs_clear(c);
    free(c);
}

/* ---- requests ---- */

static int kube_token(kube_client *c, const char **out)
{
    struct buf b = BUF_INIT;
    int64_t now = time_mono_ms();
    int rc;

    *out = NULL;
    if (c->token_file && (!c->token || now - c->token_read_ms >= KUBE_TOKEN_TTL_MS)) {
        size_t n;
        char *start;
        if ((rc = fs_read_file(c->token_file, KUBE_TOKEN_MAX, &b)) < 0) {
            buf_dispose(&b);
            return err_prefix(rc, "tokenFile");
        }
        start = b.ptr ? b.ptr : "";
        n = b.len;
        while (n > 0 && isspace((unsigned char)start[n - 1]))
            n--;
        while (n > 0 && isspace((unsigned char)*start)) {
            start++;
            n--;
        }
        if (c->token) {
            mbedtls_platform_zeroize(c->token, strlen(c->token));
            free(c->token);
        }
        c->token = xstrndup(start, n);
        c->token_read_ms = now;
        if (b.ptr)
            mbedtls_platform_zeroize(b.ptr, b.len);
        buf_dispose(&b);
    }
    *out = c->token && c->token[0] ? c->token : NULL;
    return 0;
}

/* One API call; resp is filled for any HTTP status. */
static int kube_call(kube_client *c, const char *method, const char *path, const char *content_type,
                     const struct buf *body, struct http_response *resp)
{
    const char *headers[4];
    char *auth = NULL, *ctype = NULL;
    const char *token;
    size_t n = 0;
    int rc;

    if ((rc = kube_token(c, &token)) < 0)
        return rc;
    headers[n++] = "Accept: application/json";
    if (token) {
        auth = xasprintf("Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (content_type) {
        ctype = xasprintf("Content-Type: %s", content_type);
        headers[n++] = ctype;
    }
    headers[n] = NULL;
    rc = http_request(c->http, method, path, headers, body ? buf_cstr(body) : NULL,
                      body ? body->len : 0, resp);
    if (auth) {
        mbedtls_platform_zeroize(auth, strlen(auth));
        free(auth);
    }
    free(ctype);
    return rc;
}

static int kube_status_code(int status)
{
    switch (status) {
    case 404:
        return ERR_NOTFOUND;
    case 409:
        return ERR_CONFLICT;
    case 401:
    case 403:
        return ERR_AUTH;
    case 400:
    case 422:
        return ERR_INVALID;
    case 413:
        return ERR_TOOLARGE;
    default:
        return ERR_GENERIC;
    }
}

/* Turn a non-2xx response into the error; what is "get ConfigMap ns/x". */
static int kube_api_error(const struct http_response *r, const char *what)
{
    json_t *st = json_loadb(buf_cstr(&r->body), r->body.len, 0, NULL);
    const char *reason = NULL, *message = NULL;
    int code = kube_status_code(r->status);
    int rc;

    if (json_is_object(st)) {
        const char *k = json_string_value(json_object_get(st, "kind"));
        if (k && strcmp(k, "Status") == 0) {
            reason = json_string_value(json_object_get(st, "reason"));
            message = json_string_value(json_object_get(st, "message"));
        }
    }
    if (message && message[0])
        rc =
            err_set(code, "%s: %s: %s", what, reason && reason[0] ? reason : "HTTP error", message);
    else {
        /* Not a Status: a proxy or load balancer answered. Show the start
         * of the body, on one line. */
        char snippet[161];
        size_t n = r->body.len < sizeof(snippet) - 1 ? r->body.len : sizeof(snippet) - 1;
        memcpy(snippet, buf_cstr(&r->body), n);
        snippet[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)snippet[i] < 0x20)
                snippet[i] = ' ';
        rc = err_set(code, "%s: %s: HTTP %d%s%s", what, reason && reason[0] ? reason : "error",
                     r->status, n ? ": " : "", snippet);
    }
    json_decref(st);
    return rc;
}

static int kube_parse_body(json_t **out, const struct http_response *r, const char *what)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf_cstr(&r->body), r->body.len, 0, &jerr);
    *out = NULL;
    if (!v)
        return err_set(ERR_INVALID, "%s: response is not JSON: %d:%d: %s", what, jerr.line,
                       jerr.column, jerr.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(ERR_INVALID, "%s: response is not a JSON object", what);
    }
    *out = v;
    return 0;
}

/* GET path and parse a JSON object answer (2xx only). */
static int kube_get_json(kube_client *c, const char *path, const char *what, json_t **out)
{
    struct http_response r;
    int rc;

    *out = NULL;
    http_response_init(&r);
    if ((rc = kube_call(c, "GET", path, NULL, NULL, &r)) < 0) {
        rc = err_prefix(rc, "%s", what);
        goto out;
    }
    if (r.status < 200 || r.status > 299) {
        rc = kube_api_error(&r, what);
        goto out;
    }
    rc = kube_parse_body(out, &r, what);
out:
    http_response_dispose(&r);
    return rc;
}

/* ---- discovery ---- */

static void kube_split_api_version(const char *api_version, char **group, char **version)
{
    const char *slash = strchr(api_version, '/');
    if (slash) {
        *group = xstrndup(api_version, (size_t)(slash - api_version));
        *version = xstrdup(slash + 1);
    } else {
        *group = xstrdup("");
        *version = xstrdup(api_version);
    }
}

static struct kube_entry *kube_lookup(kube_client *c, const char *group, const char *version,
                                      const char *kind)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        struct kube_entry *e = c->entries[i];
        if (!e->retired && strcmp(e->kind, kind) == 0 && strcmp(e->version, version) == 0 &&
            strcmp(e->group, group) == 0)
            return e;
    }
    return NULL;
}

static void kube_add_entry(kube_client *c, const char *group, const char *version, const char *kind,
                           const char *resource, int namespaced)
{
    struct kube_entry *e = kube_lookup(c, group, version, kind);
    if (e) {
        if (strcmp(e->resource, resource) == 0 && e->pub.namespaced == namespaced)
            return;
        e->retired = 1;
    }
    if (c->n_entries == c->cap_entries) {
        c->cap_entries = c->cap_entries ? c->cap_entries * 2 : 64;
        c->entries = xrealloc(c->entries, c->cap_entries * sizeof(*c->entries));
    }
    e = xcalloc(1, sizeof(*e));
    e->group = xstrdup(group);
    e->version = xstrdup(version);
    e->kind = xstrdup(kind);
    e->resource = xstrdup(resource);
    e->pub.group = e->group;
    e->pub.version = e->version;
    e->pub.kind = e->kind;
    e->pub.resource = e->resource;
    e->pub.namespaced = namespaced;
    c->entries[c->n_entries++] = e;
}

/* Fetch one group version's APIResourceList into the cache. */
static int kube_fetch_gv(kube_client *c, const char *group, const char *version)
{
    char *path =
        group[0] ? xasprintf("/apis/%s/%s", group, version) : xasprintf("/api/%s", version);
    char *what = xasprintf("discovery %s", path);
    json_t *list = NULL, *res;
    size_t i;
    int rc;

    if ((rc = kube_get_json(c, path, what, &list)) < 0)
        goto out;
    json_array_foreach(json_object_get(list, "resources"), i, res)
    {
        const char *name = json_string_value(json_object_get(res, "name"));
        const char *kind = json_string_value(json_object_get(res, "kind"));
        /* Subresources (pods/log, deployments/scale) are not kinds of
         * their own. */
        if (!name || !kind || !name[0] || !kind[0] || strchr(name, '/'))
            continue;
        kube_add_entry(c, group, version, kind, name,
                       json_is_true(json_object_get(res, "namespaced")));
    }
    rc = 0;
out:
    for (i = 0; i < c->n_gvs; i++) {
        struct kube_gv *gv = &c->gvs[i];
        if (strcmp(gv->group, group) != 0 || strcmp(gv->version, version) != 0)
            continue;
        gv->fetched = rc == 0;
        gv->err_code = rc;
        free(gv->err_msg);
        gv->err_msg = rc < 0 ? xstrdup(err_last()) : NULL;
    }
    json_decref(list);
    free(path);
    free(what);
    return rc;
}

int kube_client_discover(kube_client *c)
{
    json_t *groups = NULL, *g;
    size_t i;
    int rc;

    if ((rc = kube_fetch_gv(c, "", "v1")) < 0)
        goto out;
    if ((rc = kube_get_json(c, "/apis", "discovery /apis", &groups)) < 0)
        goto out;
    kube_gvs_clear(c);
    json_array_foreach(json_object_get(groups, "groups"), i, g)
    {
        const char *name = json_string_value(json_object_get(g, "name"));
        json_t *v;
        size_t j;
        if (!name || !name[0])
            continue;
        json_array_foreach(json_object_get(g, "versions"), j, v)
        {
            const char *ver = json_string_value(json_object_get(v, "version"));
            if (!ver || !ver[0])
                continue;
            c->gvs = xrealloc(c->gvs, (c->n_gvs + 1) * sizeof(*c->gvs));
            c->gvs[c->n_gvs].group = xstrdup(name);
            c->gvs[c->n_gvs].version = xstrdup(ver);
            c->gvs[c->n_gvs].fetched = 0;
            c->gvs[c->n_gvs].err_code = 0;
            c->gvs[c->n_gvs].err_msg = NULL;
            c->n_gvs++;
        }
    }
    json_array_foreach(json_object_get(groups, "groups"), i, g)
    {
        const char *name = json_string_value(json_object_get(g, "name"));
        const char *pref =
            json_string_value(json_object_get(json_object_get(g, "preferredVersion"), "version"));
        if (!pref)
            pref = json_string_value(
                json_object_get(json_array_get(json_object_get(g, "versions"), 0), "version"));
        if (!name || !name[0] || !pref || !pref[0])
            continue;
        /* An aggregated API that is down (metrics-server, say) must not
         * take every other kind with it; its failure is remembered and
         * reported when one of its kinds is asked for. */
        kube_fetch_gv(c, name, pref);
    }
    rc = 0;
out:
    json_decref(groups);
    return rc;
}

static struct kube_gv *kube_gv_find(const kube_client *c, const char *group, const char *version)
{
    for (size_t i = 0; i < c->n_gvs; i++)
        if (strcmp(c->gvs[i].group, group) == 0 && strcmp(c->gvs[i].version, version) == 0)
            return &c->gvs[i];
    return NULL;
}

int kube_client_resource(kube_client *c, const char *api_version, const char *kind,
                         const struct kube_resource **out)
{
    char *group = NULL, *version = NULL;
    struct kube_entry *e;
    struct kube_gv *gv = NULL;
    int rc;

    *out = NULL;
    if (!api_version || !api_version[0] || !kind || !kind[0])
        return err_set(ERR_INVALID, "resolve kind: apiVersion and kind are required");
    kube_split_api_version(api_version, &group, &version);
    e = kube_lookup(c, group, version, kind);
    if (!e) {
        if ((rc = kube_client_discover(c)) < 0)
            goto out;
        gv = kube_gv_find(c, group, version);
        /* Not the preferred version, so the pass above skipped it. */
        if (gv && !gv->fetched && !gv->err_code && (rc = kube_fetch_gv(c, group, version)) < 0)
            goto out;
        e = kube_lookup(c, group, version, kind);
    }
    if (!e && gv && gv->err_code) {
        rc = err_set(gv->err_code, "%s", gv->err_msg);
        goto out;
    }
    if (!e) {
        rc = err_set(ERR_NOTFOUND, "%s: the server has no kind %s in %s", c->server, kind,
                     api_version);
        goto out;
    }
    *out = &e->pub;
    rc = 0;
out:
    free(group);
    free(version);
    return rc;
}

/* ---- paths ---- */

/* "/api/v1/namespaces/NS/configmaps[/NAME]" or "/apis/G/V/RES[/NAME]". */
static void kube_path(struct buf *p, const struct kube_resource *r, const char *ns,
                      const char *name)
{
    if (r->group[0])
        buf_printf(p, "/apis/%s/%s", r->group, r->version);
    else
        buf_printf(p, "/api/%s", r->version);
    if (r->namespaced && ns && ns[0]) {
        buf_puts(p, "/namespaces/");
        http_query_escape(p, ns);
    }
    buf_printf(p, "/%s", r->resource);
    if (name) {
        buf_putc(p, '/');
        http_query_escape(p, name);
    }
}

/* "get ConfigMap ns/name", "get Namespace name", "list ConfigMap ns". */
static char *kube_what(const char *verb, const char *kind, const struct kube_resource *r,
                       const char *ns, const char *name)
{
    int show_ns = (!r || r->namespaced) && ns && ns[0];
    if (name)
        return xasprintf("%s %s %s%s%s", verb, kind, show_ns ? ns : "", show_ns ? "/" : "", name);
    return xasprintf("%s %s %s", verb, kind, show_ns ? ns : "(all namespaces)");
}

static int kube_check_name(const char *what, const char *name)
{
    if (!name || !name[0])
        return err_set(ERR_INVALID, "%s: metadata.name: missing", what);
    return 0;
}

/* ---- verbs ---- */

int kube_client_get(kube_client *c, const char *api_version, const char *kind, const char *ns,
                    const char *name, json_t **out)
{
    const struct kube_resource *r;
    struct buf path = BUF_INIT;
    char *what = NULL;
    json_t *obj = NULL;
    int rc;

    *out = NULL;
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    what = kube_what("get", kind, r, ns, name);
    if ((rc = kube_check_name(what, name)) < 0)
        goto out;
    if (r->namespaced && (!ns || !ns[0])) {
        rc = err_set(ERR_INVALID, "%s: namespace: missing for a namespaced kind", what);
        goto out;
    }
    kube_path(&path, r, ns, name);
    if ((rc = kube_get_json(c, buf_cstr(&path), what, &obj)) < 0)
        goto out;
    *out = obj;
    rc = 0;
out:
    buf_dispose(&path);
    free(what);
    return rc;
}

/* A copy of item with apiVersion and kind first, as a GET would show it. */
static json_t *kube_typed_item(const json_t *item, const char *api_version, const char *kind)
{
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_set_new(o, "apiVersion", json_string(api_version));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_foreach((json_t *)item, key, v)
    {
        if (strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0)
            json_object_set(o, key, v);
    }
    return o;
}

int kube_client_list(kube_client *c, const char *api_version, const char *kind, const char *ns,
                     const char *label_selector, json_t **out_items)
{
    const struct kube_resource *r;
    struct buf path = BUF_INIT;
    char *what = NULL, *cont = NULL;
    json_t *items = json_array(), *page = NULL, *it;
    size_t i;
    int rc;

    *out_items = NULL;
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    what = kube_what("list", kind, r, ns, NULL);
    /* Pages keep one response (and its limit) small on big clusters. */
    do {
        const char *next;
        buf_clear(&path);
        kube_path(&path, r, ns, NULL);
        buf_printf(&path, "?limit=%d", KUBE_LIST_PAGE);
        if (label_selector && label_selector[0]) {
            buf_puts(&path, "&labelSelector=");
            http_query_escape(&path, label_selector);
        }
        if (cont) {
            buf_puts(&path, "&continue=");
            http_query_escape(&path, cont);
        }
        json_decref(page);
        page = NULL;
        if ((rc = kube_get_json(c, buf_cstr(&path), what, &page)) < 0)
            goto out;
        json_array_foreach(json_object_get(page, "items"), i, it)
        {
            if (json_is_object(it))
                json_array_append_new(items, kube_typed_item(it, api_version, kind));
        }
        next = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
        free(cont);
        cont = next && next[0] ? xstrdup(next) : NULL;
    } while (cont);
    *out_items = items;
    items = NULL;
    rc = 0;
out:
    json_decref(items);
    json_decref(page);
    buf_dispose(&path);
    free(what);
    free(cont);
    return rc;
}

int kube_client_apply(kube_client *c, const json_t *obj, int dry_run, json_t **out_live)
{
    const char *api_version, *kind, *name, *ns;
    const struct kube_resource *r;
    struct buf path = BUF_INIT, body = BUF_INIT;
    struct http_response resp;
    json_t *meta, *live = NULL;
    char *what = NULL, *text = NULL;
    int rc;

    if (out_live)
        *out_live = NULL;
    http_response_init(&resp);
    api_version = json_string_value(json_object_get(obj, "apiVersion"));
    kind = json_string_value(json_object_get(obj, "kind"));
    meta = json_object_get(obj, "metadata");
    name = json_string_value(json_object_get(meta, "name"));
    ns = json_string_value(json_object_get(meta, "namespace"));
    if (!api_version || !api_version[0] || !kind || !kind[0]) {
        rc = err_set(ERR_INVALID, "apply %s: apiVersion and kind are required",
                     name ? name : "(unnamed object)");
        goto out;
    }
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    what = kube_what("apply", kind, r, ns, name ? name : "");
    if ((rc = kube_check_name(what, name)) < 0)
        goto out;
    if (r->namespaced && (!ns || !ns[0])) {
        rc = err_set(ERR_INVALID, "%s: metadata.namespace: missing for a namespaced kind", what);
        goto out;
    }
    kube_path(&path, r, ns, name);
    buf_puts(&path, "?fieldManager=edgecd&force=true");
    if (dry_run)
        buf_puts(&path, "&dryRun=All");
    text = json_dumps(obj, JSON_COMPACT);
    if (!text) {
        rc = err_set(ERR_INVALID, "%s: the object cannot be serialised", what);
        goto out;
    }
    buf_puts(&body, text);
    if ((rc = kube_call(c, "PATCH", buf_cstr(&path), "application/apply-patch+yaml", &body,
                        &resp)) < 0) {
        rc = err_prefix(rc, "%s", what);
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        rc = kube_api_error(&resp, what);
        goto out;
    }
    if (out_live) {
        if ((rc = kube_parse_body(&live, &resp, what)) < 0)
            goto out;
        *out_live = live;
    }
    rc = 0;
out:
    http_response_dispose(&resp);
    buf_dispose(&path);
    buf_dispose(&body);
    free(text);
    free(what);
    return rc;
}

int kube_client_delete(kube_client *c, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *propagation)
{
    const struct kube_resource *r;
    struct buf path = BUF_INIT, body = BUF_INIT;
    struct http_response resp;
    char *what = NULL;
    int rc;

    http_response_init(&resp);
    if ((rc = kube_client_resource(c, api_version, kind, &r)) < 0)
        goto out;
    what = kube_what("delete", kind, r, ns, name ? name : "");
    if ((rc = kube_check_name(what, name)) < 0)
        goto out;
    if (r->namespaced && (!ns || !ns[0])) {
        rc = err_set(ERR_INVALID, "%s: namespace: missing for a namespaced kind", what);
        goto out;
    }
    if (propagation && strcmp(propagation, "Foreground") != 0 &&
        strcmp(propagation, "Background") != 0 && strcmp(propagation, "Orphan") != 0) {
        rc = err_set(ERR_INVALID,
                     "%s: propagation policy \"%s\" is not one of Foreground, "
                     "Background, Orphan",
                     what, propagation);
        goto out;
    }
    kube_path(&path, r, ns, name);
    if (propagation)
        buf_printf(
            &body,
            "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"%s\"}",
            propagation);
    if ((rc = kube_call(c, "DELETE", buf_cstr(&path), propagation ? "application/json" : NULL,
                        propagation ? &body : NULL, &resp)) < 0) {
        rc = err_prefix(rc, "%s", what);
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        rc = kube_api_error(&resp, what);
        goto out;
    }
    rc = 0;
out:
    http_response_dispose(&resp);
    buf_dispose(&path);
    buf_dispose(&body);
    free(what);
    return rc;
}

/* ---- for watches ---- */

int kube_client_auth_header(kube_client *c, char **out)
{
    const char *token;
    int rc;

    *out = NULL;
    if ((rc = kube_token(c, &token)) < 0)
        return rc;
    if (token)
        *out = xasprintf("Authorization: Bearer %s", token);
    return 0;
}

void kube_client_collection_path(const struct kube_resource *r, const char *ns, struct buf *out)
{
    kube_path(out, r, ns, NULL);
}

void kube_client_close_idle(kube_client *c)
{
    http_conn_close_idle(c->http);
}
