/*
 * Fuzz target for ignoreDifferences rules (appliance/doc/ignore.c): the
 * first line of the input is an expression, compiled both as a jq path
 * expression and as a JSON pointer; the rest is a JSON object (a
 * Deployment with managedFields when it is not one) that the rules, with
 * the managers "m" and "kube-controller-manager" trusted, are resolved
 * against. Every path reported must exist in the object, be reported as
 * ignored, and be gone from the applied copy's parent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "doc/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_ignore_default[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"annotations\":{\"a/b\":\"1\"},\"managedFields\":[{\"manager\":\"m\",\"fieldsV1\":{"
    "\"f:spec\":{\"f:replicas\":{},\"f:x\":{\"i:1\":{}},\"f:c\":{\"k:{\\\"name\\\":\\\"a\\\"}\":{"
    "\".\":{},\"f:name\":{}}}}}}]},\"spec\":{\"replicas\":2,\"x\":[1,2,3],\"c\":[{\"name\":\"a\"},"
    "{\"name\":\"b\",\"v\":[true,null,{\"q\":1.5}]}]}}";

/* The value at pointer in doc, or NULL. */
static const json_t *fuzz_ignore_at(const json_t *doc, const char *pointer)
{
    char *copy = xstrdup(pointer), *p = copy;
    while (doc && *p == '/') {
        char *tok = p + 1, *end = strchr(tok, '/'), *r = tok, *w = tok;
        if (end)
            *end = '\0';
        for (; *r; r++)
            *w++ = (r[0] == '~' && r[1]) ? (++r, *r == '0' ? '~' : '/') : *r;
        *w = '\0';
        if (json_is_array(doc))
            doc = json_array_get(doc, (size_t)strtoul(tok, NULL, 10));
        else
            doc = json_object_get(doc, tok);
        p = end ? (*end = '/', end) : tok + strlen(tok);
    }
    free(copy);
    return doc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t elen = nl ? (size_t)(nl - (const char *)data) : size;
    char *expr = xstrndup((const char *)data, elen);
    json_t *obj = nl ? json_loadb(nl + 1, size - elen - 1, 0, NULL) : NULL;
    json_t *rules, *paths, *out, *p;
    doc_ignore *ig;
    size_t i;

    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_loads(fuzz_ignore_default, 0, NULL);
    }
    doc_ignore_new(&ig);
    rules =
        json_pack("[{s:s, s:s, s:[s], s:[s,s]}]", "group", "*", "kind", "*", "jqPathExpressions",
                  expr, "managedFieldsManagers", "m", "kube-controller-manager");
    if (rules)
        (void)doc_ignore_add_app(ig, rules, "fuzz");
    json_decref(rules);
    rules = json_pack("[{s:s, s:[s]}]", "kind", "*", "jsonPointers", expr);
    if (rules)
        (void)doc_ignore_add_app(ig, rules, "fuzz");
    json_decref(rules);

    paths = doc_ignore_paths(ig, obj, obj);
    out = doc_ignore_apply(ig, obj, obj);
    json_array_foreach(paths, i, p)
    {
        if (!fuzz_ignore_at(obj, json_string_value(p)) ||
            !doc_ignore_is_ignored(ig, obj, obj, json_string_value(p))) {
            fprintf(stderr, "path %s not in the object or not ignored\n", json_string_value(p));
            abort();
        }
    }
    json_decref(out);
    json_decref(paths);
    json_decref(obj);
    doc_ignore_free(ig);
    free(expr);
    return 0;
}
