/*
 * Label selectors as the API server reads them from ?labelSelector=:
 * comma-separated requirements that must all hold, each `k=v`, `k==v`,
 * `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists) or `!k`. Field
 * selectors use the same grammar (only =, ==, != are meaningful there).
 */
#ifndef KUBESIM_SELECTOR_H
#define KUBESIM_SELECTOR_H

#include <jansson.h>

#include "resources.h"

typedef struct selector selector;

/* Parse text (may be "" = everything). ERR_INVALID with a message. */
int selector_parse(selector **out, const char *text);
void selector_free(selector *s);

/* Parse a field selector: comma-separated `k=v`, `k==v`, `k!=v` (values
 * run to the next comma). ERR_INVALID with the real server's message. */
int selector_parse_fields(selector **out, const char *text);

/* 0 if r supports every key of the field selector s; else ERR_INVALID
 * with "field label not supported: KEY" (a 400 on the real server). */
int selector_check_fields(const struct resource *r, const selector *s);

/* The fields a field selector can test on obj (an object of kind r):
 * metadata.name, metadata.namespace ("" when cluster-scoped) and what the
 * kind adds (pods: status.phase, spec.nodeName, ...), all as strings. A
 * new object. */
json_t *selector_fields(const struct resource *r, const json_t *obj);

/* 1 if the string map labels (an object, may be NULL) satisfies s. */
int selector_match(const selector *s, const json_t *labels);

/* The keys used, for checking field selectors against supported fields:
 * the i-th requirement's key, or NULL past the end. Borrowed. */
const char *selector_key(const selector *s, size_t i);

#endif
