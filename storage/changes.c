/*
 * Change notification for the API's event stream: which applications
 * changed since a generation, kept in memory beside the handle. The
 * alternative, each stream re-reading every app from SQLite once a
 * second, costs queries per client; this costs one small record per app
 * name and a lock that no SQL statement ever holds.
 *
 * Records are not dropped when an app is deleted: the deletion is itself
 * a change a reader must see. Their number is bounded by the names ever
 * written while the process runs.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "storage/internal.h"

struct store_change {
    char *name;
    unsigned long long generation;
};

void store_changed(store *s, const char *name)
{
    size_t i;
    if (!name)
        return;
    pthread_mutex_lock(&s->changes_lock);
    s->generation++;
    for (i = 0; i < s->n_changes; i++)
        if (!strcmp(s->changes[i].name, name))
            break;
    if (i == s->n_changes) {
        if (s->n_changes == s->cap_changes) {
            s->cap_changes = s->cap_changes ? 2 * s->cap_changes : 16;
            s->changes = xrealloc(s->changes, s->cap_changes * sizeof(*s->changes));
        }
        s->changes[s->n_changes++].name = xstrdup(name);
    }
    s->changes[i].generation = s->generation;
    pthread_mutex_unlock(&s->changes_lock);
}

void store_changes_dispose(store *s)
{
    for (size_t i = 0; i < s->n_changes; i++)
        free(s->changes[i].name);
    free(s->changes);
    s->changes = NULL;
    s->n_changes = s->cap_changes = 0;
}

unsigned long long store_app_generation(store *s)
{
    unsigned long long g;
    pthread_mutex_lock(&s->changes_lock);
    g = s->generation;
    pthread_mutex_unlock(&s->changes_lock);
    return g;
}

static int store_changes_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_app_changes(store *s, unsigned long long since, char ***out_names, size_t *out_n,
                      unsigned long long *out_now)
{
    char **names = NULL;
    size_t n = 0;
    pthread_mutex_lock(&s->changes_lock);
    for (size_t i = 0; i < s->n_changes; i++) {
        if (s->changes[i].generation <= since)
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(s->changes[i].name);
    }
    *out_now = s->generation;
    pthread_mutex_unlock(&s->changes_lock);
    if (n)
        qsort(names, n, sizeof(*names), store_changes_cmp);
    *out_names = names;
    *out_n = n;
    return 0;
}
