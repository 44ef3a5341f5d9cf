/*
 * Server-side apply, approximated. Each field manager's "fieldset" is a
 * JSON tree shaped like the object holding the values it set; objects are
 * merged key by key and arrays are atomic (replaced whole), which is where
 * this differs from the real structured-merge-diff (it merges lists of
 * maps by key). That is close enough for the questions clients ask: does a
 * re-apply change nothing, does dropping a field from the applied config
 * remove it, do fields others set survive, is there a conflict.
 *
 * Pure functions on jansson trees; any thread.
 */
#ifndef KUBESIM_APPLY_H
#define KUBESIM_APPLY_H

#include <jansson.h>

#include "core/buf.h"

#define APPLY_MAX_MANAGERS 32

/* Recursive merge of src into dst: objects key by key, everything else
 * replaced by a copy. */
void apply_merge(json_t *dst, const json_t *src);

/* RFC 7386 JSON merge patch of target by patch (null deletes). */
void apply_merge_patch(json_t *target, const json_t *patch);

/* Remove from live every leaf that old_fields has, new_fields lacks and
 * none of the others (n fieldsets) has: what a manager stopped applying. */
void apply_prune(json_t *live, const json_t *old_fields, const json_t *new_fields,
                 const json_t *const *others, size_t n);

/* Leaves of fields whose value differs in live and that another manager
 * owns; each appended to msg as "conflict with \"mgr\": .a.b". Returns the
 * number found. names[i] names others[i]. */
int apply_conflicts(const json_t *live, const json_t *fields, const json_t *const *others,
                    const char *const *names, size_t n, struct buf *msg);

/* Remove from owner the leaves of fields whose value in live differs from
 * the one in fields (ownership moves to the writer). */
void apply_disown(json_t *owner, const json_t *fields, const json_t *live);

/* The fieldsV1 form ({"f:metadata":{"f:labels":{".":{}, ...}}}) of a
 * fieldset; new reference. */
json_t *apply_fields_v1(const json_t *fields);

/* The leaves of now that differ from before (both objects): what an update
 * changed; new reference. */
json_t *apply_changed(const json_t *before, const json_t *now);

#endif
