/*
 * The watch cache. Decisions worth knowing:
 *
 * - One watcher thread per kind (kube/watch.c), not one thread
 *   multiplexing every stream: a watch is a blocking read that may sit
 *   idle for minutes, and http.c's connections (TLS included) are
 *   blocking, so a thread per stream keeps each stream a straight line of
 *   code. edgecd manages a handful of kinds per cluster (ConfigMaps,
 *   Deployments, Services, ...), so that is a handful of mostly sleeping
 *   threads.
 * - Memory: one allocation per object, a 16-byte header followed by
 *   "ns/name\0app\0rv\0{compact json}\0", in an open-addressing table
 *   (linear probing, backward-shift deletion, so no tombstones) of
 *   pointers per kind. metadata.managedFields, often the largest part of
 *   an object, is dropped before the text is made; the rest is kept so
 *   kube_cache_get returns what the server said. Nothing else is kept per
 *   object, so the cost is the text plus about 40 bytes.
 * - A re-list (after a watch expired) stamps every listed object with the
 *   listing's generation; at RELIST_END the objects of that kind with an
 *   older stamp vanished while the watch was away and are reported as
 *   DELETED.
 * - One mutex guards the whole cache; on_change runs after it is released,
 *   so a callback may read the cache.
 */
#include "kube/cache.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "kube/watch.h"

struct kc_obj {
    uint32_t hash;
    uint32_t json_len;
    uint32_t gen; /* the listing that last saw it */
    uint16_t key_len;
    uint8_t app_len;
    uint8_t rv_len;
    char data[]; /* key \0 app \0 rv \0 json \0 */
};

struct kc_type {
    kube_cache *cache;
    char *api_version, *kind;
    kube_watch *watch;
    struct kc_obj **slots; /* cap is 0 or a power of two */
    size_t cap, n;
    uint32_t gen;
};

struct kube_cache {
    struct kubeconfig kc; /* a deep copy, for each new watcher */
    /* One client for discovery and the token, shared by the watchers:
     * each connection costs tens of kilobytes, the whole budget of a few
     * dozen objects. */
    kube_client *client;
    pthread_mutex_t client_mu;
    char *label_key;
    struct kube_cache_options opts;
    pthread_mutex_t mu;
    struct kc_type **types;
    size_t n_types;
};

static const char *kc_obj_key(const struct kc_obj *o)
{
    return o->data;
}
static const char *kc_obj_app(const struct kc_obj *o)
{
    return o->data + o->key_len + 1;
}
static const char *kc_obj_rv(const struct kc_obj *o)
{
    return kc_obj_app(o) + o->app_len + 1;
}
static const char *kc_obj_json(const struct kc_obj *o)
{
    return kc_obj_rv(o) + o->rv_len + 1;
}

static uint32_t kc_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- the per-kind table ---- */

static size_t kc_find_slot(const struct kc_type *t, const char *key, size_t key_len, uint32_t hash)
{
    size_t mask = t->cap - 1, i = hash & mask;
    for (;;) {
        const struct kc_obj *o = t->slots[i];
        if (!o ||
            (o->hash == hash && o->key_len == key_len && memcmp(kc_obj_key(o), key, key_len) == 0))
            return i;
        i = (i + 1) & mask;
    }
}

static struct kc_obj *kc_lookup(const struct kc_type *t, const char *key, size_t key_len)
{
    if (t->cap == 0)
        return NULL;
    return t->slots[kc_find_slot(t, key, key_len, kc_hash(key, key_len))];
}

static void kc_grow(struct kc_type *t)
{
    struct kc_obj **old = t->slots;
    size_t old_cap = t->cap;
    t->cap = t->cap ? t->cap * 2 : 16;
    t->slots = xcalloc(t->cap, sizeof(*t->slots));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) {
            size_t j = old[i]->hash & (t->cap - 1);
            while (t->slots[j])
                j = (j + 1) & (t->cap - 1);
            t->slots[j] = old[i];
        }
    free(old);
}

/* Insert or replace; returns the replaced object (the caller frees it). */
static struct kc_obj *kc_put(struct kc_type *t, struct kc_obj *o)
{
    size_t i;
    struct kc_obj *old;
    if ((t->n + 1) * 4 > t->cap * 3)
        kc_grow(t);
    i = kc_find_slot(t, kc_obj_key(o), o->key_len, o->hash);
    old = t->slots[i];
    t->slots[i] = o;
    if (!old)
        t->n++;
    return old;
}

/* Remove the object in slot i and close the gap (backward shift). */
static struct kc_obj *kc_remove_slot(struct kc_type *t, size_t i)
{
    size_t mask = t->cap - 1, j = i;
    struct kc_obj *o = t->slots[i];
    t->slots[i] = NULL;
    t->n--;
    for (;;) {
        size_t home;
        j = (j + 1) & mask;
        if (!t->slots[j])
            break;
        home = t->slots[j]->hash & mask;
        /* Move it back unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->slots[i] = t->slots[j];
            t->slots[j] = NULL;
            i = j;
        }
    }
    return o;
}

static struct kc_obj *kc_remove(struct kc_type *t, const char *key, size_t key_len)
{
    size_t i;
    if (t->cap == 0)
        return NULL;
    i = kc_find_slot(t, key, key_len, kc_hash(key, key_len));
    return t->slots[i] ? kc_remove_slot(t, i) : NULL;
}

/* ---- objects ---- */

/* "ns/name" of obj into key; 0 or -1 if it has no name. */
static int kc_key_of(json_t *obj, struct buf *key)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    buf_clear(key);
    if (!name || !name[0])
        return -1;
    buf_printf(key, "%s/%s", ns ? ns : "", name);
    if (key->len > UINT16_MAX)
        return -1;
    return 0;
}

/* The compact text of obj without metadata.managedFields; obj itself is
 * not touched (it is borrowed). */
static char *kc_compact(json_t *obj)
{
    json_t *copy = json_object(), *meta = json_object_get(obj, "metadata"), *v;
    const char *k;
    char *text;
    json_object_foreach(obj, k, v)
    {
        if (v == meta && json_is_object(meta)) {
            json_t *m = json_object();
            const char *mk;
            json_t *mv;
            json_object_foreach(meta, mk, mv)
            {
                if (strcmp(mk, "managedFields") != 0)
                    json_object_set(m, mk, mv);
            }
            json_object_set_new(copy, k, m);
        } else {
            json_object_set(copy, k, v);
        }
    }
    text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return text;
}

/* A new cache entry for obj; NULL when obj lacks the label, a name, or
 * fields too long to be Kubernetes'. */
static struct kc_obj *kc_obj_new(const kube_cache *c, json_t *obj, const struct buf *key)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *app =
        json_string_value(json_object_get(json_object_get(meta, "labels"), c->label_key));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    size_t app_len, rv_len, json_len;
    struct kc_obj *o;
    char *text, *p;

    if (!app)
        return NULL;
    if (!rv)
        rv = "";
    app_len = strlen(app);
    rv_len = strlen(rv);
    if (app_len > UINT8_MAX || rv_len > UINT8_MAX)
        return NULL;
    text = kc_compact(obj);
    if (!text)
        return NULL;
    json_len = strlen(text);
    if (json_len > UINT32_MAX) {
        free(text);
        return NULL;
    }
    o = xmalloc(sizeof(*o) + key->len + 1 + app_len + 1 + rv_len + 1 + json_len + 1);
    o->hash = kc_hash(key->ptr, key->len);
    o->json_len = (uint32_t)json_len;
    o->gen = 0;
    o->key_len = (uint16_t)key->len;
    o->app_len = (uint8_t)app_len;
    o->rv_len = (uint8_t)rv_len;
    p = o->data;
    memcpy(p, key->ptr, key->len + 1);
    p += key->len + 1;
    memcpy(p, app, app_len + 1);
    p += app_len + 1;
    memcpy(p, rv, rv_len + 1);
    p += rv_len + 1;
    memcpy(p, text, json_len + 1);
    free(text);
    return o;
}

static void kc_report(kube_cache *c, const struct kc_type *t, const struct kc_obj *o,
                      enum kube_cache_event ev)
{
    struct kube_cache_change ch;
    char *key;
    char *slash;
    if (!c->opts.on_change)
        return;
    key = xstrndup(kc_obj_key(o), o->key_len);
    slash = strchr(key, '/');
    *slash = '\0';
    ch.event = ev;
    ch.app = kc_obj_app(o);
    ch.api_version = t->api_version;
    ch.kind = t->kind;
    ch.ns = key;
    ch.name = slash + 1;
    ch.resource_version = kc_obj_rv(o);
    c->opts.on_change(c->opts.ctx, &ch);
    free(key);
}

/* ---- watch events ---- */

static void kc_upsert(struct kc_type *t, json_t *obj)
{
    kube_cache *c = t->cache;
    struct buf key = BUF_INIT;
    struct kc_obj *o, *old;
    enum kube_cache_event ev;

    if (kc_key_of(obj, &key) < 0)
        goto out;
    o = kc_obj_new(c, obj, &key);
    pthread_mutex_lock(&c->mu);
    if (!o) {
        /* Lost its label (or was never ours): no longer cached. */
        old = kc_remove(t, key.ptr, key.len);
        pthread_mutex_unlock(&c->mu);
        if (old)
            kc_report(c, t, old, KUBE_CACHE_DELETED);
        free(old);
        goto out;
    }
    old = kc_lookup(t, key.ptr, key.len);
    if (old && old->rv_len == o->rv_len && !strcmp(kc_obj_rv(old), kc_obj_rv(o)) && o->rv_len) {
        old->gen = t->gen; /* seen again, unchanged */
        pthread_mutex_unlock(&c->mu);
        free(o);
        goto out;
    }
    o->gen = t->gen;
    old = kc_put(t, o);
    ev = old ? KUBE_CACHE_MODIFIED : KUBE_CACHE_ADDED;
    pthread_mutex_unlock(&c->mu);
    free(old);
    /* o stays valid: only this thread replaces or removes this kind's
     * objects, and it is busy here. */
    kc_report(c, t, o, ev);
out:
    buf_dispose(&key);
}

static void kc_delete(struct kc_type *t, json_t *obj)
{
    kube_cache *c = t->cache;
    struct buf key = BUF_INIT;
    struct kc_obj *old = NULL;
    if (kc_key_of(obj, &key) == 0) {
        pthread_mutex_lock(&c->mu);
        old = kc_remove(t, key.ptr, key.len);
        pthread_mutex_unlock(&c->mu);
    }
    if (old)
        kc_report(c, t, old, KUBE_CACHE_DELETED);
    free(old);
    buf_dispose(&key);
}

/* After a listing: what it did not mention is gone. */
static void kc_sweep(struct kc_type *t)
{
    kube_cache *c = t->cache;
    struct kc_obj **gone = NULL;
    size_t n_gone = 0, i = 0;

    pthread_mutex_lock(&c->mu);
    while (i < t->cap) {
        struct kc_obj *o = t->slots[i];
        if (o && o->gen != t->gen) {
            gone = xrealloc(gone, (n_gone + 1) * sizeof(*gone));
            gone[n_gone++] = kc_remove_slot(t, i);
            continue; /* the shift may have moved another object here */
        }
        i++;
    }
    pthread_mutex_unlock(&c->mu);
    for (i = 0; i < n_gone; i++) {
        kc_report(c, t, gone[i], KUBE_CACHE_DELETED);
        free(gone[i]);
    }
    free(gone);
}

static void kc_on_watch(void *ctx, enum kube_watch_event ev, json_t *obj)
{
    struct kc_type *t = ctx;
    switch (ev) {
    case KUBE_WATCH_RELIST_BEGIN:
        pthread_mutex_lock(&t->cache->mu);
        t->gen++;
        pthread_mutex_unlock(&t->cache->mu);
        break;
    case KUBE_WATCH_LISTED:
    case KUBE_WATCH_ADDED:
    case KUBE_WATCH_MODIFIED:
        kc_upsert(t, obj);
        break;
    case KUBE_WATCH_DELETED:
        kc_delete(t, obj);
        break;
    case KUBE_WATCH_RELIST_END:
        kc_sweep(t);
        break;
    }
}

/* ---- the cache ---- */

static char *kc_dup_mem(const char *p, size_t n)
{
    char *d;
    if (!p)
        return NULL;
    d = xmalloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void kc_copy_kubeconfig(struct kubeconfig *dst, const struct kubeconfig *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->context = xstrdup(src->context);
    dst->server = xstrdup(src->server);
    dst->namespace_ = xstrdup(src->namespace_);
    dst->ca_pem = kc_dup_mem(src->ca_pem, src->ca_pem_len);
    dst->ca_pem_len = src->ca_pem_len;
    dst->client_cert_pem = kc_dup_mem(src->client_cert_pem, src->client_cert_pem_len);
    dst->client_cert_pem_len = src->client_cert_pem_len;
    dst->client_key_pem = kc_dup_mem(src->client_key_pem, src->client_key_pem_len);
    dst->client_key_pem_len = src->client_key_pem_len;
    dst->token = xstrdup(src->token);
    dst->token_file = xstrdup(src->token_file);
    dst->insecure = src->insecure;
    dst->tls_server_name = xstrdup(src->tls_server_name);
}

int kube_cache_new(kube_cache **out, const struct kubeconfig *kc,
                   const struct kube_cache_options *opts)
{
    static const struct kube_cache_options defaults = KUBE_CACHE_OPTIONS_INIT;
    kube_cache *c;
    int rc;

    *out = NULL;
    if (!kc->server || !kc->server[0])
        return err_set(ERR_INVALID, "watch cache: no server");
    if (opts && (!opts->label_key || !opts->label_key[0]))
        return err_set(ERR_INVALID, "watch cache: no label key");
    c = xcalloc(1, sizeof(*c));
    c->opts = opts ? *opts : defaults;
    c->label_key = xstrdup(c->opts.label_key);
    c->opts.label_key = c->label_key;
    kc_copy_kubeconfig(&c->kc, kc);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->client_mu, NULL);
    if ((rc = kube_client_new(&c->client, kc)) < 0) {
        kube_cache_free(c);
        return err_prefix(rc, "watch cache");
    }
    *out = c;
    return 0;
}

void kube_cache_free(kube_cache *c)
{
    if (!c)
        return;
    /* Watchers first: their callbacks take the mutex. */
    for (size_t i = 0; i < c->n_types; i++)
        kube_watch_free(c->types[i]->watch);
    for (size_t i = 0; i < c->n_types; i++) {
        struct kc_type *t = c->types[i];
        for (size_t j = 0; j < t->cap; j++)
            free(t->slots[j]);
        free(t->slots);
        free(t->api_version);
        free(t->kind);
        free(t);
    }
    free(c->types);
    kube_client_free(c->client);
    pthread_mutex_destroy(&c->client_mu);
    pthread_mutex_destroy(&c->mu);
    if (c->kc.token)
        memset(c->kc.token, 0, strlen(c->kc.token));
    if (c->kc.client_key_pem)
        memset(c->kc.client_key_pem, 0, c->kc.client_key_pem_len);
    kubeconfig_dispose(&c->kc);
    free(c->label_key);
    free(c);
}

static struct kc_type *kc_type_find(kube_cache *c, const char *api_version, const char *kind)
{
    for (size_t i = 0; i < c->n_types; i++)
        if (!strcmp(c->types[i]->kind, kind) && !strcmp(c->types[i]->api_version, api_version))
            return c->types[i];
    return NULL;
}

int kube_cache_watch(kube_cache *c, const char *api_version, const char *kind)
{
    struct kube_watch_options wo = KUBE_WATCH_OPTIONS_INIT;
    struct kc_type *t;
    int rc;

    if (!api_version || !api_version[0] || !kind || !kind[0])
        return err_set(ERR_INVALID, "watch cache: apiVersion and kind are required");
    pthread_mutex_lock(&c->mu);
    if (kc_type_find(c, api_version, kind)) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    t = xcalloc(1, sizeof(*t));
    t->cache = c;
    t->api_version = xstrdup(api_version);
    t->kind = xstrdup(kind);
    wo.label_selector = c->label_key; /* existence: every app's objects */
    wo.timeout_seconds = c->opts.watch_timeout_s;
    wo.backoff_min_ms = c->opts.backoff_min_ms;
    wo.client = c->client;
    wo.client_mu = &c->client_mu;
    /* The watcher's first callback waits for the mutex we hold, so t is
     * complete before it is used. */
    rc = kube_watch_new(&t->watch, &c->kc, api_version, kind, &wo, kc_on_watch, t);
    if (rc < 0) {
        pthread_mutex_unlock(&c->mu);
        free(t->api_version);
        free(t->kind);
        free(t);
        return err_prefix(rc, "watch cache");
    }
    c->types = xrealloc(c->types, (c->n_types + 1) * sizeof(*c->types));
    c->types[c->n_types++] = t;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int kube_cache_synced(kube_cache *c, const char *api_version, const char *kind)
{
    struct kube_watch_stats st;
    struct kc_type *t;
    kube_watch *w = NULL;
    pthread_mutex_lock(&c->mu);
    t = kc_type_find(c, api_version, kind);
    if (t)
        w = t->watch;
    pthread_mutex_unlock(&c->mu);
    if (!w)
        return 0;
    kube_watch_stats(w, &st);
    return st.synced;
}

static int kc_parse(const struct kc_obj *o, json_t **out)
{
    json_error_t jerr;
    *out = json_loadb(kc_obj_json(o), o->json_len, 0, &jerr);
    if (!*out)
        return err_set(ERR_GENERIC, "watch cache: %s: stored text does not parse: %s",
                       kc_obj_key(o), jerr.text);
    return 0;
}

int kube_cache_get(kube_cache *c, const char *api_version, const char *kind, const char *ns,
                   const char *name, json_t **out, char **rv)
{
    struct buf key = BUF_INIT;
    struct kc_type *t;
    struct kc_obj *o = NULL;
    int rc;

    *out = NULL;
    if (rv)
        *rv = NULL;
    if (!api_version || !kind || !name || !name[0])
        return err_set(ERR_INVALID, "watch cache: apiVersion, kind and name are required");
    buf_printf(&key, "%s/%s", ns ? ns : "", name);
    pthread_mutex_lock(&c->mu);
    t = kc_type_find(c, api_version, kind);
    if (t)
        o = kc_lookup(t, key.ptr, key.len);
    if (!o) {
        rc = err_set(ERR_NOTFOUND, "watch cache: %s %s: not cached", kind, key.ptr);
    } else if ((rc = kc_parse(o, out)) == 0 && rv) {
        *rv = xstrdup(kc_obj_rv(o));
    }
    pthread_mutex_unlock(&c->mu);
    buf_dispose(&key);
    return rc;
}

int kube_cache_list_app(kube_cache *c, const char *app, json_t **out)
{
    json_t *items = json_array();
    int rc = 0;

    *out = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_types && rc == 0; i++) {
        struct kc_type *t = c->types[i];
        for (size_t j = 0; j < t->cap && rc == 0; j++) {
            json_t *obj;
            if (!t->slots[j] || strcmp(kc_obj_app(t->slots[j]), app) != 0)
                continue;
            if ((rc = kc_parse(t->slots[j], &obj)) == 0)
                json_array_append_new(items, obj);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    *out = items;
    return 0;
}

void kube_cache_stats(kube_cache *c, struct kube_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->mu);
    out->kinds = c->n_types;
    for (size_t i = 0; i < c->n_types; i++) {
        struct kc_type *t = c->types[i];
        out->objects += t->n;
        for (size_t j = 0; j < t->cap; j++)
            if (t->slots[j])
                out->json_bytes += t->slots[j]->json_len;
    }
    pthread_mutex_unlock(&c->mu);
}
