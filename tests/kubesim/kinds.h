/*
 * What differs per kind: name rules, validation and the status it fills
 * in at once where a real cluster's controllers would (Namespace Active,
 * CRD Established). Defaults are in defaults.h; workloads get their status
 * later, from the workload simulator (workload.h).
 *
 * Not thread-safe: callers hold the API lock.
 */
#ifndef KUBESIM_KINDS_H
#define KUBESIM_KINDS_H

#include <jansson.h>

#include "resources.h"

/* NULL if name is valid for r, otherwise the validation message after
 * `Invalid value: "name": ` (static). */
const char *kinds_check_name(const struct resource *r, const char *name);

/* Kind-specific validation of a whole object; 0 or ERR_INVALID with
 * *field and the message in err_last(). */
int kinds_validate(const struct resource *r, const json_t *obj, const char **field);

/* Set the status a controller would, from obj's spec and generation. */
void kinds_status(const struct resource *r, json_t *obj);

#endif
