/*
 * The application list's answers, kept ready between requests. Building
 * an app as the API shows it takes three store reads, a JSON parse and a
 * dump; a list of 100 apps did that 100 times per request, under the
 * store's one lock that the engine's writes also take, and managed under
 * a hundred requests a second. The store already counts every write that
 * changes an app (storage/changes.c, for the event stream), so the list
 * keeps each app's object and compact text and rebuilds only the apps
 * written since it last looked; a request then filters the kept objects
 * and joins their texts.
 *
 * The counter sees writes through this process's store handle. Nothing
 * else writes apps while serve runs, but a full rebuild at most every
 * SERVER_APPCACHE_FULL_SECONDS bounds how stale the list could be if
 * something did.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "server/internal.h"

#define SERVER_APPCACHE_FULL_SECONDS 30

struct server_app_entry {
    char *name;
    json_t *app;
    char *text; /* compact JSON of app */
    size_t len;
};

struct server_app_cache {
    pthread_mutex_t lock;
    int filled;
    unsigned long long generation;
    time_t filled_at;
    struct server_app_entry *v; /* sorted by name */
    size_t n, cap;
};

struct server_app_cache *server_app_cache_new(void)
{
    struct server_app_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void server_app_entry_dispose(struct server_app_entry *e)
{
    free(e->name);
    json_decref(e->app);
    free(e->text);
}

static void server_app_cache_clear(struct server_app_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        server_app_entry_dispose(&c->v[i]);
    c->n = 0;
    c->filled = 0;
}

void server_app_cache_free(struct server_app_cache *c)
{
    if (!c)
        return;
    server_app_cache_clear(c);
    free(c->v);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The index of name, or where it would go (*found 0). */
static size_t server_app_cache_find(const struct server_app_cache *c, const char *name, int *found)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->v[mid].name, name);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* Read app name again from the store into the cache (or drop it when it
 * is gone). */
static int server_app_cache_load(server *srv, struct server_app_cache *c, const char *name)
{
    json_t *app = NULL;
    int found, rc = server_app_new(srv, name, &app);
    size_t i = server_app_cache_find(c, name, &found);

    if (rc == ERR_NOTFOUND) {
        err_clear();
        if (found) {
            server_app_entry_dispose(&c->v[i]);
            memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(c->v[0]));
            c->n--;
        }
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!found) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->v = xrealloc(c->v, c->cap * sizeof(c->v[0]));
        }
        memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(c->v[0]));
        c->n++;
        memset(&c->v[i], 0, sizeof(c->v[i]));
        c->v[i].name = xstrdup(name);
    }
    json_decref(c->v[i].app);
    free(c->v[i].text);
    c->v[i].app = app;
    c->v[i].text = json_dumps(app, JSON_COMPACT);
    if (!c->v[i].text)
        c->v[i].text = xstrdup("{}");
    c->v[i].len = strlen(c->v[i].text);
    return 0;
}

/* Bring the cache up to the store's generation; under c->lock. */
static int server_app_cache_refresh(server *srv, struct server_app_cache *c)
{
    unsigned long long now;
    char **names = NULL;
    size_t n = 0, i;
    int rc = 0;

    if (c->filled && time(NULL) - c->filled_at >= SERVER_APPCACHE_FULL_SECONDS)
        server_app_cache_clear(c);
    if (!c->filled) {
        /* the generation first: a write after it is seen next time */
        now = store_app_generation(srv->st);
        if ((rc = store_app_list(srv->st, &names, &n)) < 0)
            return rc;
        c->filled_at = time(NULL);
    } else {
        if (store_app_generation(srv->st) == c->generation)
            return 0;
        if ((rc = store_app_changes(srv->st, c->generation, &names, &n, &now)) < 0)
            return rc;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = server_app_cache_load(srv, c, names[i]);
    store_names_free(names, n);
    if (rc < 0) {
        server_app_cache_clear(c); /* all of it again next time */
        return rc;
    }
    c->filled = 1;
    c->generation = now;
    return 0;
}

int server_app_cache_list(server *srv, int (*keep)(void *ctx, const json_t *app), void *ctx,
                          struct buf *out)
{
    struct server_app_cache *c = srv->apps;
    int rc, first = 1;

    pthread_mutex_lock(&c->lock);
    if ((rc = server_app_cache_refresh(srv, c)) == 0) {
        buf_puts(out, "{\"items\":[");
        for (size_t i = 0; i < c->n; i++) {
            if (keep && !keep(ctx, c->v[i].app))
                continue;
            if (!first)
                buf_putc(out, ',');
            buf_put(out, c->v[i].text, c->v[i].len);
            first = 0;
        }
        buf_puts(out, "]}");
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
