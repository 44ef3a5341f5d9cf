/*
 * Kubernetes' two patch forms on document trees: RFC 6902 JSON patch and
 * strategic merge patch. Kustomize rendering applies them to manifests;
 * kubesim applies JSON patches for PATCH requests. Pure functions on
 * jansson trees; any thread.
 */
#ifndef EDGECD_DOC_PATCH_H
#define EDGECD_DOC_PATCH_H

#include <jansson.h>

/* The array index an RFC 6901 reference token names: decimal digits
 * without a leading zero ("0", "12"); -1 for anything else ("-", "01",
 * "x"). */
long doc_pointer_index(const char *token);

/* 1 if ops has the shape of a JSON patch (an array of objects); the API
 * server answers 400 for anything else, before applying. */
int doc_patch_json_well_formed(const json_t *ops);

/* Apply the RFC 6902 operations (add, remove, replace, move, copy, test;
 * RFC 6901 pointers with "-" and ~0/~1) in order to *doc in place; an
 * operation on the root replaces *doc (a new reference; the old one is
 * released). On failure *doc may be partly patched: callers patch a copy.
 * 0, or ERR_INVALID with the API server's wording in err_last(). */
int doc_patch_json(json_t **doc, const json_t *ops);

/* Strategic merge patch of target (an object of kind api_version/kind)
 * with patch, in place, with the merge keys of the built-in kinds: maps
 * merge recursively, null deletes a key; containers, initContainers,
 * volumes, env, imagePullSecrets and the like merge by name,
 * volumeMounts by mountPath, container ports by containerPort, Service
 * ports by port; other lists are replaced. Directives $patch
 * (replace, delete, merge), $retainKeys, $deleteFromPrimitiveList/<f> and
 * $setElementOrder/<f> are honoured and never left in the result.
 * ERR_INVALID naming the path for an unknown directive. */
int doc_patch_strategic(json_t *target, const json_t *patch, const char *api_version,
                        const char *kind);

#endif
