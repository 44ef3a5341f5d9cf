/*
 * Status objects shaped and worded exactly as the real API server sends
 * them (k8s.io/apimachinery/pkg/api/errors), because clients branch on
 * reason and code and users read the message.
 */
#ifndef KUBESIM_STATUS_H
#define KUBESIM_STATUS_H

#include <jansson.h>

#include "httpd.h"
#include "resources.h"

/* Fill res with a Failure Status; details (stolen, may be NULL). */
void status_reply(struct httpd_response *res, int code, const char *reason, json_t *details,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* `configmaps "x" not found` (404 NotFound). */
void status_not_found(struct httpd_response *res, const struct resource *r, const char *name);
/* `configmaps "x" already exists` (409 AlreadyExists). */
void status_already_exists(struct httpd_response *res, const struct resource *r, const char *name);
/* `Operation cannot be fulfilled on configmaps "x": <why>` (409 Conflict). */
void status_conflict(struct httpd_response *res, const struct resource *r, const char *name,
                     const char *why);
/* `ConfigMap "x" is invalid: <field>: <detail>` (422 Invalid) with one
 * cause; cause_reason like "FieldValueRequired", "FieldValueInvalid". */
void status_invalid(struct httpd_response *res, const struct resource *r, const char *name,
                    const char *field, const char *cause_reason, const char *detail);
/* A Success Status (deletecollection and friends). */
void status_success(struct httpd_response *res, const struct resource *r, const char *name);
/* The Success Status a delete that removed the object at once answers
 * with on most kinds: details name, group, kind (the plural) and uid. */
void status_deleted(struct httpd_response *res, const struct resource *r, const char *name,
                    const char *uid);

#endif
