/*
 * Fuzz target for the document model: the bytes as a YAML stream and as
 * JSON, and on success the emitted YAML and JSON must parse again to an
 * equal tree. Small limits keep each run fast without hiding code paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "doc/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_doc_check(const json_t *docs)
{
    struct buf y = BUF_INIT, j = BUF_INIT;
    json_t *again = NULL, *again_json = NULL;
    char h1[65], h2[65];

    doc_emit_yaml_stream(&y, docs);
    if (doc_parse_yaml(&again, y.ptr ? y.ptr : "", y.len, "fuzz-emitted", NULL) < 0 ||
        !doc_equal(docs, again)) {
        fprintf(stderr, "emitted YAML does not read back:\n%s\n", buf_cstr(&y));
        abort();
    }
    doc_emit_json(&j, docs, 0);
    if (doc_parse_json(&again_json, j.ptr, j.len, "fuzz-json", NULL) < 0 ||
        !doc_equal(docs, again_json)) {
        fprintf(stderr, "emitted JSON does not read back:\n%s\n", buf_cstr(&j));
        abort();
    }
    doc_hash(docs, h1);
    doc_hash(again, h2);
    if (strcmp(h1, h2) != 0)
        abort();
    json_decref(again);
    json_decref(again_json);
    buf_dispose(&y);
    buf_dispose(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct doc_limits lim = {1u << 20, 64, 20000, 100, 0};
    json_t *docs = NULL, *v = NULL;

    if (doc_parse_yaml(&docs, (const char *)data, size, "fuzz.yaml", &lim) == 0) {
        fuzz_doc_check(docs);
        json_decref(docs);
    }
    if (doc_parse_json(&v, (const char *)data, size, "fuzz.json", &lim) == 0) {
        json_t *one = json_pack("[O]", v);
        if (!json_is_null(v))
            fuzz_doc_check(one);
        json_decref(one);
        json_decref(v);
    }
    return 0;
}
