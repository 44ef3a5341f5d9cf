/*
 * Label selectors as the API server reads them from ?labelSelector=:
 * comma-separated requirements that must all hold, each `k=v`, `k==v`,
 * `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists) or `!k`. Field
 * selectors use the same grammar (only =, ==, != are meaningful there).
 */
#ifndef KUBESIM_SELECTOR_H
#define KUBESIM_SELECTOR_H

#include <jansson.h>

typedef struct selector selector;

/* Parse text (may be "" = everything). ERR_INVALID with a message. */
int selector_parse(selector **out, const char *text);
void selector_free(selector *s);

/* 1 if the string map labels (an object, may be NULL) satisfies s. */
int selector_match(const selector *s, const json_t *labels);

/* The keys used, for checking field selectors against supported fields:
 * the i-th requirement's key, or NULL past the end. Borrowed. */
const char *selector_key(const selector *s, size_t i);

#endif
