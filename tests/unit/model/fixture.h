/*
 * What the model tests share: a manifest from YAML text.
 */
#ifndef EDGECD_TESTS_MODEL_FIXTURE_H
#define EDGECD_TESTS_MODEL_FIXTURE_H

#include "doc/doc.h"
#include "test.h"

/* The one document in text, as a new reference; a fixture that does not
 * parse ends the test program. */
static inline json_t *fixture_load(const char *text)
{
    json_t *docs = NULL, *doc;
    if (doc_parse_yaml(&docs, text, strlen(text), "test", NULL) < 0) {
        fprintf(stderr, "fixture does not parse: %s\n", err_last());
        exit(2);
    }
    doc = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return doc;
}

#endif
