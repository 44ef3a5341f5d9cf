/*
 * Server-side printing: the meta.k8s.io Table that kubectl asks for with
 * "Accept: application/json;as=Table;v=v1;g=meta.k8s.io" on get, list and
 * watch, so that plain `kubectl get` shows a kind's real columns. The
 * printers follow the API server's (pkg/printers/internalversion): columns
 * with their names, types and descriptions, cells computed from the
 * object. Kinds without a printer get Name and Age; custom resources Name
 * and a date-typed Age, or their CRD's additionalPrinterColumns (simple
 * JSONPaths: .a.b[0].c); CRDs the default convertor's Name and Created At.
 *
 * A printer is looked up by group and kind, not by struct resource, and a
 * custom kind's columns are a copy taken under the API lock, so a watch
 * stream can print after the lock is released (and after the CRD that
 * made its kind is gone). All but table_custom_columns are pure: any
 * thread.
 */
#ifndef KUBESIM_TABLE_H
#define KUBESIM_TABLE_H

#include <jansson.h>

#include "httpd.h"
#include "resources.h"

/* What a row carries besides its cells (query parameter includeObject). */
enum table_include { TABLE_INCLUDE_METADATA, TABLE_INCLUDE_OBJECT, TABLE_INCLUDE_NONE };

/* The Table apiVersion the request's Accept header asks for
 * ("meta.k8s.io/v1" or "meta.k8s.io/v1beta1", static), or NULL when it
 * does not ask for a Table. */
const char *table_wanted(const struct httpd_request *req);

/* includeObject of the request; Metadata when absent or unknown. */
enum table_include table_include_of(const struct httpd_request *req);

/* For a custom resource kind, the additionalPrinterColumns of its CRD's
 * version (an array, empty when it has none; a new reference the caller
 * owns); NULL for a built-in kind. Under the API lock. */
json_t *table_custom_columns(const struct resource *r);

/* A new Table (caller owns the reference) with the column definitions
 * for group/kind (none if !headers: watch events after the first) and no
 * rows. custom: what table_custom_columns gave (borrowed). */
json_t *table_new(const char *api_version, const char *group, const char *kind,
                  const json_t *custom, int headers);

/* Append obj's row to table (obj is borrowed and must carry apiVersion
 * and kind). */
void table_add_row(json_t *table, const char *group, const char *kind, const json_t *custom,
                   const json_t *obj, enum table_include inc);

#endif
