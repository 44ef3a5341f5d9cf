/*
 * kubeconfig loading. The file is parsed with the document model (so YAML
 * typing and limits are the same as for manifests) and resolved to one
 * flat struct: the context's cluster and user with every file reference
 * read now, except tokenFile, which kubelet-style token rotation needs read
 * again later (the client does that).
 *
 * Errors name the file and the field ("/x/kubeconfig: user \"u\":
 * client-key: missing"), because a kubeconfig is typed by hand at the edge
 * and the message is all the operator gets.
 */
#include "kube/kubeconfig.h"

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/seal.h"
#include "core/util.h"
#include "doc/doc.h"

/* Kubeconfig files and the certificates they name are small; these bound
 * what a wrong path (say, a disk image) would make us read. */
#define KUBECONFIG_MAX_FILE (4u << 20)
#define KUBECONFIG_MAX_REF (1u << 20)

struct kubeconfig_ctx {
    const char *path;
    char *dir; /* the kubeconfig's directory, for relative references;
                * NULL: the text came from elsewhere (an upload) and
                * may name no file at all */
};

/* A file reference in a kubeconfig that came as text: refused, because
 * it would make edgecd read a file of its own node on a user's word. */
static int kubeconfig_no_files(const struct kubeconfig_ctx *k, const char *label, const char *name,
                               const char *field)
{
    return err_set(ERR_UNSUPPORTED,
                   "%s: %s \"%s\": %s: a file reference cannot be used here; put the data in "
                   "the kubeconfig (`kubectl config view --minify --flatten` writes such a file)",
                   k->path, label, name, field);
}

static void kubeconfig_zero_free(char *s, size_t len)
{
    if (!s)
        return;
    mbedtls_platform_zeroize(s, len);
    free(s);
}

void kubeconfig_dispose(struct kubeconfig *kc)
{
    if (!kc)
        return;
    free(kc->context);
    free(kc->server);
    free(kc->namespace_);
    free(kc->ca_pem);
    free(kc->client_cert_pem);
    kubeconfig_zero_free(kc->client_key_pem, kc->client_key_pem_len);
    kubeconfig_zero_free(kc->token, kc->token ? strlen(kc->token) : 0);
    free(kc->token_file);
    free(kc->username);
    kubeconfig_zero_free(kc->password, kc->password ? strlen(kc->password) : 0);
    free(kc->tls_server_name);
    memset(kc, 0, sizeof(*kc));
}

/* The entry of list `key` (clusters, users, contexts) whose name is name;
 * returns the borrowed inner object (entry[inner]) or NULL. */
static int kubeconfig_find(json_t **out, const struct kubeconfig_ctx *k, const json_t *root,
                           const char *key, const char *inner, const char *label, const char *name)
{
    json_t *list = json_object_get(root, key), *entry, *obj;
    size_t i;

    *out = NULL;
    if (list && !json_is_array(list) && !json_is_null(list))
        return err_set(ERR_INVALID, "%s: %s: not a list", k->path, key);
    json_array_foreach(list, i, entry)
    {
        const char *n = json_string_value(json_object_get(entry, "name"));
        if (!n || strcmp(n, name) != 0)
            continue;
        obj = json_object_get(entry, inner);
        if (!obj || json_is_null(obj))
            return err_set(ERR_INVALID, "%s: %s \"%s\": %s: missing", k->path, label, name, inner);
        if (!json_is_object(obj))
            return err_set(ERR_INVALID, "%s: %s \"%s\": %s: not a mapping", k->path, label, name,
                           inner);
        *out = obj;
        return 0;
    }
    return err_set(ERR_NOTFOUND, "%s: %s \"%s\" not found", k->path, label, name);
}

/* A string field; *out borrowed, NULL when absent or empty. */
static int kubeconfig_str(const char **out, const struct kubeconfig_ctx *k, const json_t *obj,
                          const char *label, const char *name, const char *field)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(ERR_INVALID, "%s: %s \"%s\": %s: not a string", k->path, label, name, field);
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

static char *kubeconfig_resolve_path(const struct kubeconfig_ctx *k, const char *file)
{
    if (file[0] == '/')
        return xstrdup(file);
    return xasprintf("%s/%s", k->dir, file);
}

/* field-data (base64) or field (a file): the bytes, NUL-terminated, in
 * *out (owned) and *out_len; both stay NULL/0 when neither is set. */
static int kubeconfig_blob(char **out, size_t *out_len, const struct kubeconfig_ctx *k,
                           const json_t *obj, const char *label, const char *name,
                           const char *field)
{
    char *data_field = xasprintf("%s-data", field);
    const char *b64 = NULL, *file = NULL;
    int rc;

    *out = NULL;
    *out_len = 0;
    if ((rc = kubeconfig_str(&b64, k, obj, label, name, data_field)) < 0)
        goto out;
    if ((rc = kubeconfig_str(&file, k, obj, label, name, field)) < 0)
        goto out;
    if (b64) {
        size_t n = 0, blen = strlen(b64);
        unsigned char *bytes;
        /* Sizing call: reports the needed length (BUFFER_TOO_SMALL) or a
         * character error. */
        rc = mbedtls_base64_decode(NULL, 0, &n, (const unsigned char *)b64, blen);
        if (rc == MBEDTLS_ERR_BASE64_INVALID_CHARACTER) {
            rc = err_set(ERR_INVALID, "%s: %s \"%s\": %s: invalid base64", k->path, label, name,
                         data_field);
            goto out;
        }
        bytes = xmalloc(n + 1);
        rc = mbedtls_base64_decode(bytes, n + 1, &n, (const unsigned char *)b64, blen);
        if (rc != 0) {
            free(bytes);
            rc = err_set(ERR_INVALID, "%s: %s \"%s\": %s: invalid base64", k->path, label, name,
                         data_field);
            goto out;
        }
        bytes[n] = '\0';
        *out = (char *)bytes;
        *out_len = n;
    } else if (file && !k->dir) {
        rc = kubeconfig_no_files(k, label, name, field);
        goto out;
    } else if (file) {
        struct buf b = BUF_INIT;
        char *full = kubeconfig_resolve_path(k, file);
        rc = fs_read_file(full, KUBECONFIG_MAX_REF, &b);
        if (rc < 0) {
            rc = err_prefix(rc, "%s: %s \"%s\": %s", k->path, label, name, field);
            free(full);
            buf_dispose(&b);
            goto out;
        }
        free(full);
        *out_len = b.len;
        *out = buf_detach(&b);
    }
    rc = 0;
out:
    free(data_field);
    return rc;
}

static int kubeconfig_bool(int *out, const struct kubeconfig_ctx *k, const json_t *obj,
                           const char *label, const char *name, const char *field)
{
    json_t *v = json_object_get(obj, field);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    /* Hand-written files quote it sometimes; client-go accepts that too. */
    if (json_is_string(v) &&
        (strcmp(json_string_value(v), "true") == 0 || strcmp(json_string_value(v), "false") == 0)) {
        *out = strcmp(json_string_value(v), "true") == 0;
        return 0;
    }
    return err_set(ERR_INVALID, "%s: %s \"%s\": %s: not a boolean", k->path, label, name, field);
}

static int kubeconfig_cluster(struct kubeconfig *kc, const struct kubeconfig_ctx *k,
                              const json_t *root, const char *name)
{
    json_t *cl;
    const char *server = NULL, *sni = NULL;
    int rc;

    if ((rc = kubeconfig_find(&cl, k, root, "clusters", "cluster", "cluster", name)) < 0)
        return rc;
    if ((rc = kubeconfig_str(&server, k, cl, "cluster", name, "server")) < 0)
        return rc;
    if (!server)
        return err_set(ERR_INVALID, "%s: cluster \"%s\": server: missing", k->path, name);
    if ((rc = kubeconfig_str(&sni, k, cl, "cluster", name, "tls-server-name")) < 0)
        return rc;
    if ((rc = kubeconfig_bool(&kc->insecure, k, cl, "cluster", name, "insecure-skip-tls-verify")) <
        0)
        return rc;
    if ((rc = kubeconfig_blob(&kc->ca_pem, &kc->ca_pem_len, k, cl, "cluster", name,
                              "certificate-authority")) < 0)
        return rc;
    if (json_object_get(cl, "proxy-url"))
        return err_set(ERR_UNSUPPORTED,
                       "%s: cluster \"%s\": proxy-url is not supported (edgecd connects to the "
                       "API server directly)",
                       k->path, name);
    kc->server = xstrdup(server);
    kc->tls_server_name = xstrdup(sni);
    return 0;
}

static int kubeconfig_user(struct kubeconfig *kc, const struct kubeconfig_ctx *k,
                           const json_t *root, const char *name)
{
    json_t *u;
    const char *token = NULL, *token_file = NULL, *username = NULL, *password = NULL;
    static const char *const impersonation[] = {"as", "as-groups", "as-uid", "as-user-extra"};
    json_t *plugin;
    int rc;

    if ((rc = kubeconfig_find(&u, k, root, "users", "user", "user", name)) < 0)
        return rc;
    /* Plugins run programs edgecd does not ship (aws, gke-gcloud-auth-plugin,
     * kubelogin); say which one, so the operator knows what to replace. */
    if ((plugin = json_object_get(u, "exec")) != NULL) {
        const char *cmd = json_string_value(json_object_get(plugin, "command"));
        return err_set(ERR_UNSUPPORTED,
                       "%s: user \"%s\": exec credential plugin \"%s\" is not supported (use a "
                       "token, tokenFile or client certificate)",
                       k->path, name, cmd ? cmd : "(no command)");
    }
    if ((plugin = json_object_get(u, "auth-provider")) != NULL) {
        const char *pname = json_string_value(json_object_get(plugin, "name"));
        return err_set(ERR_UNSUPPORTED,
                       "%s: user \"%s\": auth-provider plugin \"%s\" is not supported (use a "
                       "token, tokenFile or client certificate)",
                       k->path, name, pname ? pname : "(unnamed)");
    }
    for (size_t i = 0; i < sizeof(impersonation) / sizeof(impersonation[0]); i++)
        if (json_object_get(u, impersonation[i]))
            return err_set(ERR_UNSUPPORTED, "%s: user \"%s\": %s (impersonation) is not supported",
                           k->path, name, impersonation[i]);
    if ((rc = kubeconfig_str(&token, k, u, "user", name, "token")) < 0)
        return rc;
    if ((rc = kubeconfig_str(&token_file, k, u, "user", name, "tokenFile")) < 0)
        return rc;
    if ((rc = kubeconfig_str(&username, k, u, "user", name, "username")) < 0)
        return rc;
    if ((rc = kubeconfig_str(&password, k, u, "user", name, "password")) < 0)
        return rc;
    if (password && !username)
        return err_set(ERR_INVALID, "%s: user \"%s\": username: missing (password is set)", k->path,
                       name);
    if (username && (token || token_file))
        return err_set(ERR_INVALID,
                       "%s: user \"%s\": username/password and a token cannot both be set", k->path,
                       name);
    if (username && strchr(username, ':'))
        return err_set(ERR_INVALID, "%s: user \"%s\": username: must not contain ':'", k->path,
                       name);
    if ((rc = kubeconfig_blob(&kc->client_cert_pem, &kc->client_cert_pem_len, k, u, "user", name,
                              "client-certificate")) < 0)
        return rc;
    if ((rc = kubeconfig_blob(&kc->client_key_pem, &kc->client_key_pem_len, k, u, "user", name,
                              "client-key")) < 0)
        return rc;
    if (kc->client_cert_pem && !kc->client_key_pem)
        return err_set(ERR_INVALID, "%s: user \"%s\": client-key: missing", k->path, name);
    if (kc->client_key_pem && !kc->client_cert_pem)
        return err_set(ERR_INVALID, "%s: user \"%s\": client-certificate: missing", k->path, name);
    /* As in client-go, an inline token wins over tokenFile. */
    if (!token && token_file && !k->dir)
        return kubeconfig_no_files(k, "user", name, "tokenFile");
    if (token)
        kc->token = xstrdup(token);
    else if (token_file)
        kc->token_file = kubeconfig_resolve_path(k, token_file);
    if (username) {
        kc->username = xstrdup(username);
        kc->password = xstrdup(password ? password : "");
    }
    return 0;
}

/* Parse text (len bytes) as k->path and resolve context (NULL or "":
 * current-context) into *out. */
static int kubeconfig_parse(struct kubeconfig *out, const struct kubeconfig_ctx *k,
                            const char *text, size_t len, const char *context)
{
    struct kubeconfig kc;
    json_t *docs = NULL, *root, *ctx;
    const char *ctx_name = context, *cluster = NULL, *user = NULL, *ns = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&kc, 0, sizeof(kc));
    if ((rc = doc_parse_yaml(&docs, text, len, k->path, NULL)) < 0)
        goto out;
    root = json_array_get(docs, 0);
    if (!json_is_object(root)) {
        rc = err_set(ERR_INVALID, "%s: not a kubeconfig (expected a mapping)", k->path);
        goto out;
    }
    if (!ctx_name || !ctx_name[0]) {
        ctx_name = json_string_value(json_object_get(root, "current-context"));
        if (!ctx_name || !ctx_name[0]) {
            rc = err_set(ERR_INVALID, "%s: current-context: missing (and no context was named)",
                         k->path);
            goto out;
        }
    }
    if ((rc = kubeconfig_find(&ctx, k, root, "contexts", "context", "context", ctx_name)) < 0)
        goto out;
    if ((rc = kubeconfig_str(&cluster, k, ctx, "context", ctx_name, "cluster")) < 0 ||
        (rc = kubeconfig_str(&user, k, ctx, "context", ctx_name, "user")) < 0 ||
        (rc = kubeconfig_str(&ns, k, ctx, "context", ctx_name, "namespace")) < 0)
        goto out;
    if (!cluster) {
        rc = err_set(ERR_INVALID, "%s: context \"%s\": cluster: missing", k->path, ctx_name);
        goto out;
    }
    if ((rc = kubeconfig_cluster(&kc, k, root, cluster)) < 0)
        goto out;
    /* A context without a user connects anonymously, as kubectl does. */
    if (user && (rc = kubeconfig_user(&kc, k, root, user)) < 0)
        goto out;
    kc.context = xstrdup(ctx_name);
    kc.namespace_ = xstrdup(ns ? ns : "default");
    *out = kc;
    memset(&kc, 0, sizeof(kc));
    rc = 0;
out:
    kubeconfig_dispose(&kc);
    json_decref(docs);
    return rc;
}

int kubeconfig_load(struct kubeconfig *out, const char *path, const char *context)
{
    struct kubeconfig_ctx k;
    struct buf data = BUF_INIT;
    const char *slash;
    int rc;

    memset(out, 0, sizeof(*out));
    k.path = path;
    slash = strrchr(path, '/');
    k.dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    if ((rc = fs_read_file(path, KUBECONFIG_MAX_FILE, &data)) == 0)
        rc = kubeconfig_parse(out, &k, buf_cstr(&data), data.len, context);
    if (data.ptr)
        mbedtls_platform_zeroize(data.ptr, data.len);
    buf_dispose(&data);
    free(k.dir);
    return rc;
}

int kubeconfig_from_text(struct kubeconfig *out, const char *text, size_t len, const char *label,
                         const char *context)
{
    struct kubeconfig_ctx k = {label, NULL};
    if (len > KUBECONFIG_MAX_TEXT) {
        memset(out, 0, sizeof(*out));
        return err_set(ERR_TOOLARGE, "%s: longer than %u bytes", label, KUBECONFIG_MAX_TEXT);
    }
    return kubeconfig_parse(out, &k, text, len, context);
}

/* Set key of obj to the Base64 of len bytes of data (nothing when NULL). */
static void kubeconfig_set_b64(json_t *obj, const char *key, const char *data, size_t len)
{
    size_t n = 0;
    unsigned char *b64;
    if (!data)
        return;
    mbedtls_base64_encode(NULL, 0, &n, (const unsigned char *)data, len);
    b64 = xmalloc(n + 1);
    mbedtls_base64_encode(b64, n + 1, &n, (const unsigned char *)data, len);
    b64[n] = '\0';
    json_object_set_new(obj, key, json_string((char *)b64));
    mbedtls_platform_zeroize(b64, n);
    free(b64);
}

/* Wipe every string of a document made of kc's secrets before release. */
static void kubeconfig_wipe_doc(json_t *v)
{
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_string(v))
        mbedtls_platform_zeroize((char *)json_string_value(v), json_string_length(v));
    json_object_foreach(v, key, child) kubeconfig_wipe_doc(child);
    json_array_foreach(v, i, child) kubeconfig_wipe_doc(child);
}

int kubeconfig_flatten(const struct kubeconfig *kc, const char *name, struct buf *out)
{
    json_t *cluster = json_pack("{s:s}", "server", kc->server), *user = json_object(), *doc;
    struct buf token = BUF_INIT;
    char *text;
    int rc;

    if (kc->token_file) {
        if ((rc = fs_read_file(kc->token_file, KUBECONFIG_MAX_REF, &token)) < 0) {
            json_decref(cluster);
            json_decref(user);
            return err_prefix(rc, "tokenFile");
        }
        while (token.len && (token.ptr[token.len - 1] == '\n' || token.ptr[token.len - 1] == '\r'))
            token.ptr[--token.len] = '\0';
    }
    kubeconfig_set_b64(cluster, "certificate-authority-data", kc->ca_pem, kc->ca_pem_len);
    if (kc->insecure)
        json_object_set_new(cluster, "insecure-skip-tls-verify", json_true());
    if (kc->tls_server_name && kc->tls_server_name[0])
        json_object_set_new(cluster, "tls-server-name", json_string(kc->tls_server_name));
    kubeconfig_set_b64(user, "client-certificate-data", kc->client_cert_pem,
                       kc->client_cert_pem_len);
    kubeconfig_set_b64(user, "client-key-data", kc->client_key_pem, kc->client_key_pem_len);
    if (kc->token || token.len)
        json_object_set_new(user, "token", json_string(kc->token ? kc->token : buf_cstr(&token)));
    if (kc->username) {
        json_object_set_new(user, "username", json_string(kc->username));
        json_object_set_new(user, "password", json_string(kc->password ? kc->password : ""));
    }
    doc = json_pack("{s:s, s:s, s:s, s:[{s:s, s:o}], s:[{s:s, s:o}], s:[{s:s, s:{s:s, s:s, s:s}}]}",
                    "apiVersion", "v1", "kind", "Config", "current-context", name, "clusters",
                    "name", name, "cluster", cluster, "users", "name", name, "user", user,
                    "contexts", "name", name, "context", "cluster", name, "user", name, "namespace",
                    kc->namespace_ ? kc->namespace_ : "default");
    text = json_dumps(doc, JSON_COMPACT);
    buf_puts(out, text);
    mbedtls_platform_zeroize(text, strlen(text));
    free(text);
    kubeconfig_wipe_doc(doc);
    json_decref(doc);
    if (token.ptr)
        mbedtls_platform_zeroize(token.ptr, token.len);
    buf_dispose(&token);
    return 0;
}

char *kubeconfig_sealed_ad(const char *name)
{
    return xasprintf("cluster:%s", name);
}

int kubeconfig_open_sealed(struct kubeconfig *out, const char *data_dir, const char *name,
                           const char *sealed, const char *context)
{
    unsigned char key[SEAL_KEY_LEN];
    char *plain = NULL, *ad = kubeconfig_sealed_ad(name);
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = seal_key_load(key, data_dir)) == 0) {
        if ((rc = seal_open(&plain, key, sealed, ad)) == 0)
            rc = kubeconfig_from_text(out, plain, strlen(plain), "kubeconfig", context);
        else if (rc == ERR_INVALID)
            rc = err_set(ERR_INVALID, "stored kubeconfig of cluster %s cannot be decrypted", name);
    }
    mbedtls_platform_zeroize(key, sizeof(key));
    if (plain) {
        mbedtls_platform_zeroize(plain, strlen(plain));
        free(plain);
    }
    free(ad);
    return rc;
}

int kubeconfig_in_cluster(struct kubeconfig *out, const char *sa_dir)
{
    struct kubeconfig kc;
    struct buf b = BUF_INIT;
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    char *path = NULL;
    long pnum;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&kc, 0, sizeof(kc));
    if (!sa_dir)
        sa_dir = KUBECONFIG_SA_DIR;
    if (!host || !host[0] || !port || !port[0]) {
        rc = err_set(ERR_NOTFOUND, "in-cluster: KUBERNETES_SERVICE_HOST and "
                                   "KUBERNETES_SERVICE_PORT are not set (not running in a pod?)");
        goto out;
    }
    if (strpbrk(host, "/?#@[] \t")) {
        rc = err_set(ERR_INVALID, "in-cluster: KUBERNETES_SERVICE_HOST \"%s\" is not a host", host);
        goto out;
    }
    if ((rc = str_to_long(port, 1, 65535, "KUBERNETES_SERVICE_PORT", &pnum)) < 0) {
        rc = err_prefix(rc, "in-cluster");
        goto out;
    }
    /* An IPv6 service address (dual-stack clusters) needs brackets. */
    if (strchr(host, ':'))
        kc.server = xasprintf("https://[%s]:%ld", host, pnum);
    else
        kc.server = xasprintf("https://%s:%ld", host, pnum);

    kc.token_file = xasprintf("%s/token", sa_dir);
    if ((rc = fs_read_file(kc.token_file, KUBECONFIG_MAX_REF, &b)) < 0) {
        rc = err_prefix(rc, "in-cluster: service account token");
        goto out;
    }
    if (b.ptr)
        mbedtls_platform_zeroize(b.ptr, b.len);
    buf_dispose(&b);

    path = xasprintf("%s/ca.crt", sa_dir);
    if ((rc = fs_read_file(path, KUBECONFIG_MAX_REF, &b)) < 0) {
        rc = err_prefix(rc, "in-cluster: service account CA");
        goto out;
    }
    kc.ca_pem_len = b.len;
    kc.ca_pem = buf_detach(&b);
    free(path);

    /* The namespace file is there in every pod; "default" if not. */
    path = xasprintf("%s/namespace", sa_dir);
    if (fs_exists(path) && fs_read_file(path, 256, &b) == 0 && b.len > 0) {
        size_t n = b.len;
        while (n > 0 && (b.ptr[n - 1] == '\n' || b.ptr[n - 1] == ' ' || b.ptr[n - 1] == '\r'))
            n--;
        if (n > 0)
            kc.namespace_ = xstrndup(b.ptr, n);
    }
    buf_dispose(&b);
    if (!kc.namespace_)
        kc.namespace_ = xstrdup("default");
    kc.context = xstrdup("in-cluster");
    *out = kc;
    memset(&kc, 0, sizeof(kc));
    rc = 0;
out:
    kubeconfig_dispose(&kc);
    buf_dispose(&b);
    free(path);
    return rc;
}
