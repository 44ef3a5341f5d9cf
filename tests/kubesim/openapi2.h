/*
 * OpenAPI v2 in protobuf (/openapi/v2 with Accept
 * application/com.github.proto-openapi.spec.v2@v1.0+protobuf), the form
 * older kubectl (1.20) downloads before `apply --dry-run=server` to learn
 * whether a kind's PATCH takes dryRun, and for client-side validation.
 * The document lists, for every served kind, its PATCH operation with the
 * x-kubernetes-group-version-kind extension and the dryRun and
 * fieldManager query parameters; it carries no schema definitions, which
 * makes kubectl skip client-side validation, as it does for kinds a
 * server does not describe.
 *
 * Callers hold the API lock (the CRD kinds are read).
 */
#ifndef KUBESIM_OPENAPI2_H
#define KUBESIM_OPENAPI2_H

#include "core/buf.h"

/* What clients ask for in Accept; the answer is labelled
 * application/octet-stream, as the API server does ('@' is not valid in a
 * media type, and clients parse Content-Type strictly). */
#define OPENAPI2_ACCEPT "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

/* Append the serialised openapi.v2.Document to out. */
void openapi2_document(struct buf *out);

#endif
