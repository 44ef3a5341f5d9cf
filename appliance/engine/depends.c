/*
 * App-level ordering: an Application annotated
 * `edgecd.io/depends-on: app-a,app-b` is synced only once app-a and app-b
 * are Synced and Healthy with no operation running. A dependency that is
 * not registered waits (it may be registered by a parent later in the
 * same pass); a cycle is an error naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/internal.h"

#define DEPENDS_MAX 64 /* apps named, and the depth followed */

/* The names in app's depends-on annotation as a new array of strings. */
static json_t *depends_list(const json_t *manifest)
{
    const char *v = doc_get_str(manifest, "metadata.annotations." ENGINE_ANNOTATION_DEPENDS_ON);
    json_t *out = json_array();
    const char *p = v;
    while (p && *p && json_array_size(out) < DEPENDS_MAX) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n)
            json_array_append_new(out, json_stringn(p, n));
        p = end ? end + 1 : NULL;
    }
    return out;
}

static json_t *depends_manifest(engine *e, const char *name)
{
    char *text = NULL;
    json_t *obj = NULL;
    if (store_app_get(e->st, name, &text) < 0 ||
        doc_parse_json(&obj, text, strlen(text), name, NULL) < 0)
        err_clear();
    free(text);
    return obj;
}

/* Depth-first from name along depends-on; path holds the names on the
 * way. ERR_INVALID naming the cycle when it comes back to one of them. */
static int depends_walk(engine *e, const char *name, json_t *path)
{
    json_t *m, *deps, *d;
    size_t i;
    int rc = 0;

    for (i = 0; i < json_array_size(path); i++) {
        if (!strcmp(json_string_value(json_array_get(path, i)), name)) {
            struct buf b = BUF_INIT;
            for (size_t j = i; j < json_array_size(path); j++)
                buf_printf(&b, "%s -> ", json_string_value(json_array_get(path, j)));
            buf_puts(&b, name);
            rc = err_set(ERR_INVALID, "%s: the dependencies form a cycle: %s",
                         ENGINE_ANNOTATION_DEPENDS_ON, buf_cstr(&b));
            buf_dispose(&b);
            return rc;
        }
    }
    if (json_array_size(path) >= DEPENDS_MAX)
        return err_set(ERR_TOOLARGE, "%s: dependencies deeper than %d",
                       ENGINE_ANNOTATION_DEPENDS_ON, DEPENDS_MAX);
    if (!(m = depends_manifest(e, name)))
        return 0;
    deps = depends_list(m);
    json_array_append_new(path, json_string(name));
    json_array_foreach(deps, i, d)
    {
        if ((rc = depends_walk(e, json_string_value(d), path)) < 0)
            break;
    }
    json_array_remove(path, json_array_size(path) - 1);
    json_decref(deps);
    json_decref(m);
    return rc;
}

int engine_depends_ready(engine *e, const struct app *app, char **why)
{
    json_t *deps = depends_list(app->manifest), *path = json_array(), *d;
    size_t i;
    int rc;

    *why = NULL;
    if ((rc = depends_walk(e, app->name, path)) < 0)
        goto out;
    rc = 1;
    json_array_foreach(deps, i, d)
    {
        const char *name = json_string_value(d);
        struct store_app_status st = {0};
        struct store_operation op = {0};
        int running = 0;
        if (store_operation_get(e->st, name, 0, &op) == 0)
            running = !strcmp(op.phase, "Running") || !strcmp(op.phase, "Terminating");
        err_clear();
        store_operation_dispose(&op);
        if (store_app_status_get(e->st, name, &st) < 0) {
            err_clear();
            *why = xasprintf("waiting for %s (depends-on), which has no status yet", name);
            rc = 0;
            break;
        }
        if (strcmp(st.sync_status, "Synced") != 0 || !st.health ||
            strcmp(st.health, "Healthy") != 0 || running) {
            *why = xasprintf("waiting for %s (depends-on): %s, %s%s", name, st.sync_status,
                             st.health && st.health[0] ? st.health : "health unknown",
                             running ? ", operation running" : "");
            rc = 0;
        }
        store_app_status_dispose(&st);
        if (rc == 0)
            break;
    }
out:
    json_decref(deps);
    json_decref(path);
    return rc;
}
