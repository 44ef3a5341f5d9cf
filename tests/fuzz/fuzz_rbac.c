/*
 * Fuzz target for policy.csv: the bytes as a policy (and, split at the
 * first newline, a policy.default), then every decision asked of it must
 * end; a deny line for everything must win over any allow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "model/rbac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const subjects[] = {"admin", "alice", "role:readonly", "role:x"};
    char *text = xmalloc(size + 64), *nl;
    const char *def = NULL;
    rbac *r = NULL;

    memcpy(text, data, size);
    text[size] = '\0';
    nl = memchr(text, '\n', size);
    if (nl && nl - text < 32 && !strncmp(text, "role:", 5)) {
        *nl = '\0';
        def = text;
    }
    if (rbac_new(&r, def ? nl + 1 : text, "fuzz", def) == 0) {
        for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
            rbac_enforce(r, subjects[i], "applications", "sync", "default/web");
            rbac_has_role(r, subjects[i], "role:admin");
        }
        rbac_free(r);
    } else {
        err_clear();
    }
    /* the same policy with a deny for everything of alice at the end */
    {
        static const char deny[] = "\np, alice, *, *, *, deny\n";
        memcpy(text + size, deny, sizeof(deny)); /* fits: 64 bytes were kept */
    }
    if (!def && rbac_new(&r, text, "fuzz", NULL) == 0) {
        if (rbac_enforce(r, "alice", "applications", "get", "a/b"))
            abort();
        rbac_free(r);
    } else {
        err_clear();
    }
    free(text);
    return 0;
}
