/*
 * JSON patch (RFC 6902: add, remove, replace, move, copy, test) with JSON
 * pointers (RFC 6901), for PATCH with application/json-patch+json. The
 * operations apply in order to the document in place; the caller applies
 * them to a copy, so a failing operation leaves the stored object as it
 * was. Messages follow the library the real API server uses.
 *
 * Pure functions on jansson trees; any thread.
 */
#ifndef KUBESIM_JSONPATCH_H
#define KUBESIM_JSONPATCH_H

#include <jansson.h>

/* 1 if patch has the shape of a JSON patch (an array of objects); the
 * real server answers 400 for anything else, before applying. */
int jsonpatch_well_formed(const json_t *patch);

/* Apply patch to *doc (which an operation on the root path may replace:
 * *doc is then a new reference and the old one released). 0, or
 * ERR_INVALID with the message in err_last(). */
int jsonpatch_apply(json_t **doc, const json_t *patch);

#endif
