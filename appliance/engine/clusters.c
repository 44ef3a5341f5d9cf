/*
 * The clusters the engine deploys to: those of the site config (fixed
 * while edgecd runs) and those added through the API (stored in the
 * store with their kubeconfig sealed, added and removed while edgecd
 * runs). One list under clusters_mu holds both.
 *
 * A cluster can be removed while a pass or a UI view is using its client,
 * so every user holds a reference (engine_cluster_client, released with
 * engine_cluster_release): a removed cluster leaves the list at once, and
 * its client and watch cache are freed when the last holder lets go.
 * Connecting (a client and a watch cache) happens on first use, under the
 * cluster's own lock, so a slow cluster delays only its own users.
 *
 * An uploaded kubeconfig is parsed with kubeconfig_from_text, which
 * refuses file references: a user allowed to add clusters cannot make
 * edgecd read its own node's files.
 */
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/seal.h"
#include "kube/kubeconfig.h"
#include "engine/internal.h"

static struct engine_cluster *clusters_new(const char *name, const char *server)
{
    struct engine_cluster *ec = xcalloc(1, sizeof(*ec));
    ec->name = xstrdup(name);
    ec->server = xstrdup(server);
    ec->refs = 1; /* the list's */
    pthread_mutex_init(&ec->connect_mu, NULL);
    return ec;
}

static void clusters_free(struct engine_cluster *ec)
{
    /* the cache first: its threads use the client's connection settings */
    kube_cache_free(ec->cache);
    kube_client_free(ec->kc);
    pthread_mutex_destroy(&ec->connect_mu);
    free(ec->name);
    free(ec->server);
    free(ec->context);
    free(ec->sealed);
    free(ec->created_at);
    free(ec);
}

/* The entry with server (or, server NULL, name); clusters_mu held. */
static struct engine_cluster *clusters_find(engine *e, const char *server, const char *name)
{
    for (size_t i = 0; i < e->n_clusters; i++) {
        struct engine_cluster *ec = e->clusters[i];
        if (server ? !strcmp(ec->server, server) : (name && !strcmp(ec->name, name)))
            return ec;
    }
    return NULL;
}

static void clusters_append(engine *e, struct engine_cluster *ec)
{
    e->clusters = xrealloc(e->clusters, (e->n_clusters + 1) * sizeof(*e->clusters));
    e->clusters[e->n_clusters++] = ec;
}

int engine_clusters_load(engine *e)
{
    struct store_cluster *v = NULL;
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < e->cfg->n_clusters; i++) {
        const struct config_cluster *cc = &e->cfg->clusters[i];
        struct engine_cluster *ec = clusters_new(cc->name, cc->server);
        ec->cfg = cc;
        clusters_append(e, ec);
    }
    if ((rc = store_cluster_list(e->st, &v, &n)) < 0)
        return err_prefix(rc, "clusters");
    for (size_t i = 0; i < n; i++) {
        struct engine_cluster *ec;
        /* the config was edited to name the same cluster: it wins */
        if (clusters_find(e, v[i].server, NULL) || clusters_find(e, NULL, v[i].name)) {
            log_warn("cluster %s (added through the API) is not used: the site config has a "
                     "cluster with its name or server %s",
                     v[i].name, v[i].server);
            continue;
        }
        ec = clusters_new(v[i].name, v[i].server);
        ec->context = xstrdup(v[i].context);
        ec->sealed = xstrdup(v[i].kubeconfig_sealed);
        ec->created_at = xstrdup(v[i].created_at);
        clusters_append(e, ec);
    }
    store_clusters_free(v, n);
    return 0;
}

void engine_clusters_free(engine *e)
{
    for (size_t i = 0; i < e->n_clusters; i++)
        engine_cluster_release(e->clusters[i]);
    free(e->clusters);
    e->clusters = NULL;
    e->n_clusters = 0;
}

void engine_cluster_release(struct engine_cluster *ec)
{
    if (ec && __atomic_sub_fetch(&ec->refs, 1, __ATOMIC_ACQ_REL) == 0)
        clusters_free(ec);
}

/* The connection settings of ec: its config's kubeconfig file (or the
 * pod's service account), or its stored kubeconfig opened with the
 * data directory's key. */
static int clusters_kubeconfig(engine *e, const struct engine_cluster *ec, struct kubeconfig *out)
{
    int rc;

    if (ec->cfg)
        rc = ec->cfg->kubeconfig ? kubeconfig_load(out, ec->cfg->kubeconfig, ec->cfg->context)
                                 : kubeconfig_in_cluster(out, NULL);
    else
        rc = kubeconfig_open_sealed(out, e->data_dir, ec->name, ec->sealed, ec->context);
    return rc < 0 ? err_prefix(rc, "cluster %s", ec->name) : 0;
}

/* Connect ec (a client and a watch cache) unless it is; its lock held
 * meanwhile, so two first users do not both connect. */
static int clusters_connect(engine *e, struct engine_cluster *ec)
{
    struct kubeconfig kc;
    struct kube_cache_options copts = KUBE_CACHE_OPTIONS_INIT;
    int rc = 0;

    pthread_mutex_lock(&ec->connect_mu);
    if (ec->kc)
        goto out;
    if ((rc = clusters_kubeconfig(e, ec, &kc)) < 0)
        goto out;
    copts.label_key = ENGINE_LABEL_APP;
    copts.on_change = engine_on_change;
    copts.ctx = e;
    if ((rc = kube_client_new(&ec->kc, &kc)) == 0 &&
        (rc = kube_cache_new(&ec->cache, &kc, &copts)) < 0) {
        kube_client_free(ec->kc);
        ec->kc = NULL;
    }
    kubeconfig_dispose(&kc);
    if (rc < 0)
        err_prefix(rc, "cluster %s", ec->name);
out:
    pthread_mutex_unlock(&ec->connect_mu);
    return rc;
}

int engine_cluster_hold(engine *e, const char *server, const char *name,
                        struct engine_cluster **out)
{
    struct engine_cluster *ec;

    pthread_mutex_lock(&e->clusters_mu);
    ec = clusters_find(e, server, name);
    if (ec)
        __atomic_add_fetch(&ec->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&e->clusters_mu);
    *out = ec;
    if (!ec)
        return err_set(ERR_NOTFOUND, "spec.destination: no configured cluster has %s \"%s\"",
                       server ? "server" : "name",
                       server ? server
                       : name ? name
                              : "");
    return 0;
}

int engine_cluster_client(engine *e, const struct app *app, struct engine_cluster **out)
{
    int rc =
        engine_cluster_hold(e, app->dest_server, app->dest_server ? NULL : app->dest_name, out);
    if (rc == 0 && (rc = clusters_connect(e, *out)) < 0) {
        engine_cluster_release(*out);
        *out = NULL;
    }
    return rc;
}

/* Why name cannot name a cluster, or NULL: it is a path segment of the
 * API and a label value in logs. */
static const char *clusters_bad_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 253)
        return "name: 1 to 253 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return "name: lower-case letters, digits, '-' and '.' only";
    }
    return NULL;
}

int engine_cluster_add(engine *e, const char *name, const char *kubeconfig, const char *context,
                       char **out_server)
{
    struct kubeconfig kc;
    unsigned char key[SEAL_KEY_LEN];
    struct store_cluster row = {0};
    struct engine_cluster *ec = NULL;
    const char *why;
    char *ad = NULL;
    int rc;

    *out_server = NULL;
    memset(&kc, 0, sizeof(kc));
    if ((why = clusters_bad_name(name)) != NULL)
        return err_set(ERR_INVALID, "%s", why);
    if ((rc = kubeconfig_from_text(&kc, kubeconfig, strlen(kubeconfig), "kubeconfig", context)) <
        0) {
        /* a context or user the text does not have is the text's fault */
        if (rc == ERR_NOTFOUND) {
            char *m = xstrdup(err_last());
            rc = err_set(ERR_INVALID, "%s", m);
            free(m);
        }
        return rc;
    }
    if (strncmp(kc.server, "https://", 8) != 0) {
        rc = err_set(ERR_INVALID, "kubeconfig: server %s: only https:// API servers", kc.server);
        goto out;
    }
    ad = kubeconfig_sealed_ad(name);
    rc = seal_key_load(key, e->data_dir);
    if (rc == 0)
        rc = seal_value(&row.kubeconfig_sealed, key, kubeconfig, ad);
    mbedtls_platform_zeroize(key, sizeof(key));
    if (rc < 0)
        goto out;
    row.name = (char *)name;
    row.server = kc.server;
    row.context = (char *)(context ? context : "");
    /* The check against the list and the insert under one lock: two adds
     * of one name cannot both pass; the store's constraints catch another
     * process. */
    pthread_mutex_lock(&e->clusters_mu);
    if (clusters_find(e, NULL, name))
        rc = err_set(ERR_CONFLICT, "cluster \"%s\" exists", name);
    else if (clusters_find(e, kc.server, NULL))
        rc = err_set(ERR_CONFLICT, "a cluster with server %s exists", kc.server);
    else if ((rc = store_cluster_add(e->st, &row)) == 0) {
        ec = clusters_new(name, kc.server);
        ec->context = xstrdup(row.context);
        ec->sealed = row.kubeconfig_sealed;
        row.kubeconfig_sealed = NULL;
        clusters_append(e, ec);
    }
    pthread_mutex_unlock(&e->clusters_mu);
    if (rc == 0) {
        *out_server = xstrdup(kc.server);
        log_info("cluster %s added (%s)", name, kc.server);
    }
out:
    free(row.kubeconfig_sealed);
    free(ad);
    kubeconfig_dispose(&kc);
    return rc;
}

int engine_cluster_remove(engine *e, const char *name)
{
    struct engine_cluster *ec;
    int rc = 0;

    pthread_mutex_lock(&e->clusters_mu);
    ec = clusters_find(e, NULL, name);
    if (!ec)
        rc = err_set(ERR_NOTFOUND, "cluster \"%s\" not found", name);
    else if (ec->cfg)
        rc = err_set(ERR_CONFLICT,
                     "cluster \"%s\" comes from the site config (clusters:): edit the config "
                     "and restart to remove it",
                     name);
    else if ((rc = store_cluster_delete(e->st, name)) == 0) {
        size_t i = 0;
        while (e->clusters[i] != ec)
            i++;
        memmove(&e->clusters[i], &e->clusters[i + 1],
                (e->n_clusters - i - 1) * sizeof(*e->clusters));
        e->n_clusters--;
    }
    pthread_mutex_unlock(&e->clusters_mu);
    if (rc < 0)
        return rc;
    /* outside the lock: freeing the watch cache joins its threads */
    engine_cluster_release(ec);
    log_info("cluster %s removed", name);
    return 0;
}

json_t *engine_clusters_json(engine *e)
{
    json_t *items = json_array();

    pthread_mutex_lock(&e->clusters_mu);
    for (size_t i = 0; i < e->n_clusters; i++) {
        const struct engine_cluster *ec = e->clusters[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", ec->name, "server", ec->server, "origin",
                              ec->cfg ? "config" : "api");
        if (ec->created_at)
            json_object_set_new(o, "createdAt", json_string(ec->created_at));
        json_array_append_new(items, o);
    }
    pthread_mutex_unlock(&e->clusters_mu);
    return items;
}

void engine_clusters_snapshot(engine *e, struct config_cluster **out, size_t *out_n)
{
    pthread_mutex_lock(&e->clusters_mu);
    *out = xcalloc(e->n_clusters ? e->n_clusters : 1, sizeof(**out));
    *out_n = e->n_clusters;
    for (size_t i = 0; i < e->n_clusters; i++) {
        (*out)[i].name = xstrdup(e->clusters[i]->name);
        (*out)[i].server = xstrdup(e->clusters[i]->server);
    }
    pthread_mutex_unlock(&e->clusters_mu);
}

void engine_clusters_snapshot_free(struct config_cluster *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].server);
    }
    free(v);
}

unsigned long engine_clusters_requests(engine *e)
{
    unsigned long total = 0;

    pthread_mutex_lock(&e->clusters_mu);
    for (size_t i = 0; i < e->n_clusters; i++) {
        struct engine_cluster *ec = e->clusters[i];
        struct kube_client_stats ks;
        pthread_mutex_lock(&ec->connect_mu);
        if (ec->kc) {
            kube_client_stats(ec->kc, &ks);
            total += ks.requests;
        }
        pthread_mutex_unlock(&ec->connect_mu);
    }
    pthread_mutex_unlock(&e->clusters_mu);
    return total;
}

int engine_cluster_validate(engine *e, const char *name, char **message)
{
    struct engine_cluster *ec = NULL;
    struct kubeconfig kc;
    kube_client *c = NULL;
    const struct kube_resource **kinds = NULL;
    json_t *failed = NULL;
    size_t n = 0;
    int rc;

    *message = NULL;
    if (engine_cluster_hold(e, NULL, name, &ec) < 0)
        return err_set(ERR_NOTFOUND, "cluster \"%s\" not found", name);
    /* a client of its own: the check must not wait behind, or disturb,
     * the engine's connections */
    if ((rc = clusters_kubeconfig(e, ec, &kc)) < 0)
        goto out;
    if ((rc = kube_client_new(&c, &kc)) == 0 &&
        (rc = kube_client_preferred_resources(c, &kinds, &n, &failed)) == 0)
        *message = xasprintf("discovery: %zu resource kinds%s", n,
                             json_array_size(failed) ? " (some API groups did not answer)" : "");
    if (rc < 0)
        err_prefix(rc, "cluster %s", name);
    free(kinds);
    json_decref(failed);
    kube_client_free(c);
    kubeconfig_dispose(&kc);
out:
    engine_cluster_release(ec);
    return rc;
}
