/*
 * Clusters added through the API, in the store (see store.h). The row
 * holds the kubeconfig sealed by the caller: the store never sees it in
 * the clear. A name or server that exists is reported from SQLite's
 * constraint, as accounts.c does, so two writers cannot both win.
 */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "storage/internal.h"

int store_cluster_add(store *s, const struct store_cluster *c)
{
    char now[21];
    const char *args[5];
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (!c->name || !c->name[0] || !c->server || !c->server[0] || !c->kubeconfig_sealed ||
        !c->kubeconfig_sealed[0])
        return err_set(ERR_INVALID, "store: a cluster needs a name, a server and a kubeconfig");
    time_rfc3339(now);
    args[0] = c->name;
    args[1] = c->server;
    args[2] = store_str(c->context);
    args[3] = c->kubeconfig_sealed;
    args[4] = now;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "INSERT INTO clusters (name, server, context, kubeconfig_sealed,"
                            " created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                            args, 5)) == 0)
        rc = store_step_write(s, stmt, "add cluster", "a cluster with that name or server exists",
                              "");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_cluster_delete(store *s, const char *name)
{
    const char *args[1] = {name};
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = store_run(s, "DELETE FROM clusters WHERE name = ?1", args, 1, "delete cluster");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = err_set(ERR_NOTFOUND, "cluster \"%s\" not found", store_str(name));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void store_clusters_free(struct store_cluster *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].server);
        free(v[i].context);
        free(v[i].kubeconfig_sealed);
        free(v[i].created_at);
    }
    free(v);
}

int store_cluster_list(store *s, struct store_cluster **out, size_t *out_n)
{
    struct store_cluster *v = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = NULL;
    int rc, step = SQLITE_DONE;

    *out = NULL;
    *out_n = 0;
    pthread_mutex_lock(&s->lock);
    if ((rc = store_prepare(s, &stmt,
                            "SELECT name, server, context, kubeconfig_sealed, created_at"
                            " FROM clusters ORDER BY name",
                            NULL, 0)) == 0) {
        while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                v = xrealloc(v, cap * sizeof(*v));
            }
            v[n].name = store_column(stmt, 0);
            v[n].server = store_column(stmt, 1);
            v[n].context = store_column(stmt, 2);
            v[n].kubeconfig_sealed = store_column(stmt, 3);
            v[n].created_at = store_column(stmt, 4);
            n++;
        }
        if (step != SQLITE_DONE)
            rc = store_fail(s, "read clusters");
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        store_clusters_free(v, n);
        return rc;
    }
    *out = v;
    *out_n = n;
    return 0;
}
