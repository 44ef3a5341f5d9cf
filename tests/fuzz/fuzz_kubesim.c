/*
 * Fuzz target for the request parsers kubesim adds on top of jansson:
 * label and field selectors (the first line of the input) and JSON patch
 * with JSON pointers (the rest, applied to a fixed object). Invariants:
 * no crash, a failed patch reports a message, a patch only ever leaves a
 * JSON value behind, and a selector that parsed can be matched.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "doc/patch.h"
#include "resources.h"
#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct resource fuzz_pods = {
    "", "v1", "Pod", "pods", "pod", 1, 1, {"po", NULL, NULL}, {NULL, NULL}, NULL};

static void fuzz_selectors(const char *text)
{
    json_t *obj =
        json_pack("{s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s}}", "metadata", "name", "web-1", "namespace",
                  "shop", "labels", "app", "web", "tier", "front", "status", "phase", "Running");
    json_t *fields = selector_fields(&fuzz_pods, obj);
    selector *s = NULL;
    if (selector_parse(&s, text) == 0) {
        selector_match(s, json_object_get(json_object_get(obj, "metadata"), "labels"));
        for (size_t i = 0; selector_key(s, i); i++)
            ;
        selector_free(s);
    } else if (!err_last()[0]) {
        abort();
    }
    if (selector_parse_fields(&s, text) == 0) {
        if (selector_check_fields(&fuzz_pods, s) == 0)
            selector_match(s, fields);
        selector_free(s);
    } else if (!err_last()[0]) {
        abort();
    }
    json_decref(fields);
    json_decref(obj);
}

static void fuzz_patch(const char *text, size_t len)
{
    json_t *patch = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    json_t *doc;
    if (!patch)
        return;
    doc =
        json_pack("{s:s, s:{s:s, s:[s, s]}, s:{s:[i, i, {s:s}]}}", "kind", "ConfigMap", "metadata",
                  "name", "x", "finalizers", "a/b", "c~d", "data", "list", 1, 2, "k", "v");
    if (doc_patch_json_well_formed(patch)) {
        if (doc_patch_json(&doc, patch) < 0 && !err_last()[0])
            abort();
        if (!doc)
            abort();
        free(json_dumps(doc, JSON_ENCODE_ANY));
    }
    json_decref(doc);
    json_decref(patch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    const char *nl = memchr(text, '\n', strlen(text));
    if (nl) {
        char *first = xstrndup(text, (size_t)(nl - text));
        fuzz_selectors(first);
        free(first);
        fuzz_patch(nl + 1, strlen(nl + 1));
    } else {
        fuzz_selectors(text);
    }
    free(text);
    return 0;
}
