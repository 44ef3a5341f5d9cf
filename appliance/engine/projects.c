/*
 * AppProjects in the engine: which project an app belongs to (stored, or
 * Argo CD's built-in default), and what it allows: an app whose source or
 * destination its project refuses is not compared or synced at all (the
 * status says why, as Argo CD's InvalidSpecError does); a resource kind
 * the project refuses is left out of the sync and shown OutOfSync with the
 * rule; a sync window that is closed holds automated sync back.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/internal.h"

int engine_project_load(engine *e, const char *name, struct project *out, char **out_text)
{
    char *text = NULL;
    json_t *obj = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    *out_text = NULL;
    if (!name || !name[0])
        name = PROJECT_DEFAULT;
    rc = store_project_get(e->st, name, &text);
    if (rc == ERR_NOTFOUND && !strcmp(name, PROJECT_DEFAULT)) {
        err_clear();
        project_init_default(out);
        return 0;
    }
    if (rc == ERR_NOTFOUND)
        return err_set(ERR_NOTFOUND, "spec.project: project %s does not exist", name);
    if (rc < 0)
        return rc;
    if ((rc = doc_parse_json(&obj, text, strlen(text), name, NULL)) == 0)
        rc = project_parse(out, obj, "project");
    json_decref(obj);
    if (rc == 0)
        *out_text = text;
    else
        free(text);
    return rc;
}

int engine_project_admit(engine *e, const struct project *p, const struct app *app,
                         const struct project_target *dest)
{
    (void)e;
    for (size_t i = 0; i < app->n_sources; i++)
        if (project_source_permitted(p, app->sources[i].repo_url) < 0)
            return err_prefix(ERR_AUTH, "spec.sources[%zu].repoURL", i);
    if (project_destination_permitted(p, dest) < 0)
        return err_prefix(ERR_AUTH, "spec.destination");
    return 0;
}

/* Move the desired objects the project does not allow out of targets
 * into results (OutOfSync with the rule); they are not synced. */
void engine_project_filter(const struct project *p, const struct project_target *dest,
                           json_t *targets, struct engine_results *res, int *out_of_sync)
{
    size_t i = 0;
    while (i < json_array_size(targets)) {
        json_t *obj = json_array_get(targets, i);
        const char *ns = doc_get_str(obj, "metadata.namespace");
        char *group, *version;
        int rc;
        engine_split_api_version(doc_get_str(obj, "apiVersion"), &group, &version);
        rc = project_resource_permitted(p, group, doc_get_str(obj, "kind"), engine_obj_name(obj),
                                        ns != NULL);
        if (rc == 0 && ns && strcmp(ns, dest->namespace ? dest->namespace : "") != 0) {
            /* a namespaced object's own namespace is a destination too */
            struct project_target t = *dest;
            t.namespace = ns;
            rc = project_destination_permitted(p, &t);
        }
        free(group);
        free(version);
        if (rc < 0) {
            engine_results_add(res, obj, "OutOfSync", err_last());
            err_clear();
            *out_of_sync = 1;
            json_array_remove(targets, i);
            continue;
        }
        i++;
    }
}

int engine_project_window(const struct project *p, const struct app *app,
                          const struct project_target *dest, int manual, char **why)
{
    struct project_sync_verdict v;
    project_sync_window(&v, p, app->name, dest, (int64_t)time(NULL));
    *why = NULL;
    if (manual ? v.manual : v.automatic)
        return 1;
    *why = xstrdup(v.message);
    return 0;
}
