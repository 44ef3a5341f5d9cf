/*
 * Server-side apply and field ownership, after the real API server's
 * structured-merge-diff. A field set is a JSON tree in the fieldsV1 form the
 * server shows in metadata.managedFields: "f:name" for a field, "k:{...}"
 * for an item of a list of maps merged by key, "v:..." for an item of a
 * list used as a set, "." marking a node that is itself a member when it
 * also has children ({} alone is a member leaf).
 *
 * The schema is a small table instead of OpenAPI: which lists of the
 * common kinds merge by which keys (containers by name, container ports by
 * containerPort+protocol, env by name, ...; every other list is atomic),
 * and which fields are maps (labels, data, ...) rather than structs, which
 * decides where "." appears and what pruning may remove. Custom resources
 * use the deduced schema: every map is a map, every list atomic.
 *
 * Managers are kept as the managedFields array itself (entries with
 * manager, operation, apiVersion, time, fieldsType, fieldsV1 and maybe
 * subresource), sorted as the real server sorts them.
 *
 * Pure functions on jansson trees; any thread.
 */
#ifndef KUBESIM_APPLY_H
#define KUBESIM_APPLY_H

#include <jansson.h>

#include "core/buf.h"
#include "resources.h"

/* RFC 7386 JSON merge patch of target by patch (null deletes). */
void apply_merge_patch(json_t *target, const json_t *patch);

/* Strategic merge patch of target by patch for r's kind: like a merge
 * patch, but lists that merge by key (see above) merge item by item, and
 * the directives kubectl sends ($patch: delete/replace on items and maps,
 * $setElementOrder/<list>, $retainKeys, $deleteFromPrimitiveList/<list>)
 * are obeyed rather than stored. 0, or ERR_INVALID (message in err_last)
 * for a directive kubesim does not know. */
int apply_strategic_patch(const struct resource *r, json_t *target, const json_t *patch);

/* The field set (fieldsV1 form) of every field obj sets, as the applier of
 * obj would own them; new reference. Server-owned metadata (name, uid,
 * ...), apiVersion, kind and, for kinds with a status subresource, status
 * are left out. */
json_t *apply_fieldset(const struct resource *r, const json_t *obj);

/* The value-level merge apply does: config's fields win, maps merge key by
 * key, keyed lists merge item by item, other lists are replaced. New
 * reference. */
json_t *apply_merge(const struct resource *r, const json_t *live, const json_t *config);

/* Field sets of what changed from old to now (either may be NULL: no
 * object): each output a new reference in fieldsV1 form. */
void apply_compare(const struct resource *r, const json_t *old, const json_t *now, json_t **added,
                   json_t **modified, json_t **removed);

/* SMD's path text of every member of set, one per line after prefix, in
 * set order (".spec.containers[name=\"web\"].image"). */
void apply_set_paths(const json_t *set, const char *prefix, struct buf *out);

/* Server-side apply of config by manager (a PATCH with
 * application/apply-patch+yaml): live (NULL for a create) with its
 * managedFields array managers. On success *out_obj gets the new object
 * (no managedFields, status as live had it, not defaulted) and
 * *out_managers the new managedFields array; both new references. now is
 * the RFC 3339 time of the request, api_version the request's;
 * subresource NULL for the main resource, or "status" (live and config are
 * then views holding only the status, and only managers of that
 * subresource take part).
 * ERR_CONFLICT when other managers own fields config changes and force is
 * 0: err_last() is then the real server's message ("Apply failed with 1
 * conflict: conflict with \"a\": .data.key") and *out_causes (new
 * reference) the Status causes. */
int apply_server_side(json_t **out_obj, json_t **out_managers, json_t **out_causes,
                      const struct resource *r, const json_t *live, const json_t *managers,
                      const json_t *config, const char *manager, const char *api_version,
                      const char *subresource, int force, const char *now);

/* Record a non-apply write (create, update, merge patch) from live (NULL
 * for a create) to now_obj by manager: the fields it changed become its
 * own (an "Update" entry for api_version; subresource NULL or "status")
 * and no one else's. managers (a managedFields array) is modified in
 * place. */
void apply_record_update(json_t *managers, const struct resource *r, const json_t *live,
                         const json_t *now_obj, const char *manager, const char *api_version,
                         const char *subresource, const char *now);

/* 1 if two managedFields arrays say the same, times aside. */
int apply_managers_equal(const json_t *a, const json_t *b);

/* The managers a write starts from: those in the written object when it
 * carries a well-formed non-empty managedFields (a client may set them),
 * none when it carries the reset form [{}], otherwise the live ones. New
 * reference. */
json_t *apply_managers_from(const json_t *written, const json_t *live_managers);

#endif
