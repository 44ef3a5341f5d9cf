/*
 * Fuzz target for what an ApplicationSet brings from Git: the bytes as a
 * YAML stream whose ApplicationSets are parsed and, when valid, have their
 * template rendered in both template languages with a fixed parameter
 * set; and the bytes as one template string in both languages. Rendering
 * must end with a result or an error, never a crash or an output past
 * its limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/apptmpl.h"
#include "model/appset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_params_text[] =
    "{\"path\":{\"path\":\"apps/web\",\"basename\":\"web\",\"segments\":[\"apps\",\"web\"]},"
    "\"path.basename\":\"web\",\"path[0]\":\"apps\",\"name\":\"Edge\",\"n\":3,\"list\":[1,\"a\"]}";

static void fuzz_render(const char *text, const json_t *params)
{
    static const struct apptmpl_options modes[] = {{0, 0}, {1, 0}, {1, 1}};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        char *out = NULL;
        if (apptmpl_string(&out, text, params, &modes[m]) == 0 &&
            strlen(out) > APPTMPL_MAX_OUTPUT + 4096)
            abort();
        free(out);
        err_clear();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct doc_limits lim = {1u << 20, 64, 20000, 100, 0};
    json_t *docs = NULL, *d, *params = NULL;
    char *text = xstrndup((const char *)data, size);
    size_t i;

    if (doc_parse_json(&params, fuzz_params_text, strlen(fuzz_params_text), "params", NULL) < 0)
        abort();
    fuzz_render(text, params);
    free(text);
    if (doc_parse_yaml(&docs, (const char *)data, size, "fuzz.yaml", &lim) == 0) {
        json_array_foreach(docs, i, d)
        {
            struct appset a;
            if (appset_parse(&a, d, "fuzz.yaml") == 0) {
                struct apptmpl_options o = {a.go_template, a.missingkey_error};
                json_t *out = NULL;
                if (apptmpl_render(&out, a.tmpl, params, &o) == 0 && !json_is_object(out))
                    abort();
                json_decref(out);
            }
            appset_dispose(&a);
            err_clear();
        }
    }
    err_clear();
    json_decref(docs);
    json_decref(params);
    return 0;
}
