/*
 * Fuzz target for the argocd-cm reader (model/settings): any bytes must
 * give either settings whose every override is well formed or an error
 * with a message, never a crash; parsing the same bytes twice must agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "model/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct settings a, b;
    int ra = settings_parse(&a, (const char *)data, size, "fuzz.yaml");
    int rb = settings_parse(&b, (const char *)data, size, "fuzz.yaml");

    if (ra != rb || (ra < 0 && !err_last()[0]))
        abort();
    if (ra == 0) {
        if (a.n_overrides != b.n_overrides)
            abort();
        for (size_t i = 0; i < a.n_overrides; i++) {
            const struct settings_override *o = &a.overrides[i];
            if (!o->key || !o->group || !o->kind || strcmp(o->key, b.overrides[i].key) != 0)
                abort();
            if (settings_find(&a, o->key) == NULL)
                abort();
            if (o->health_lua && !o->health_key)
                abort();
        }
    }
    settings_dispose(&a);
    settings_dispose(&b);
    return 0;
}
