/*
 * Fuzz target for what an AppProject brings from Git: the bytes as a YAML
 * stream whose AppProjects are parsed and, when valid, asked every
 * decision at instants around their windows; and the bytes as a cron
 * schedule, whose next firings must fire. Time zones come from the
 * system's files, which tests/unit/core/tz.c damages byte by byte instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cron.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "model/project.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_project_decide(const struct project *p)
{
    static const struct project_target targets[] = {
        {"https://kubernetes.default.svc", "in-cluster", "default"},
        {NULL, "edge", NULL},
        {"https://10.0.0.1:6443", NULL, "kube-system"},
    };
    static const char *const repos[] = {"https://github.com/org/repo.git", "git@git.lan:a/b", "",
                                        "ssh://x@y/z/"};
    struct project_sync_verdict v;

    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        (void)project_destination_permitted(p, &targets[t]);
        for (int64_t now = 1795471200; now < 1795471200 + 3 * 86400; now += 7 * 3600 + 13) {
            project_sync_window(&v, p, "shop", &targets[t], now);
            if (strlen(v.message) >= sizeof(v.message))
                abort();
        }
    }
    for (size_t r = 0; r < sizeof(repos) / sizeof(repos[0]); r++)
        (void)project_source_permitted(p, repos[r]);
    (void)project_resource_permitted(p, "", "Namespace", "kube-system", 0);
    (void)project_resource_permitted(p, "apps", "Deployment", NULL, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct doc_limits lim = {1u << 20, 64, 20000, 100, 0};
    json_t *docs = NULL, *d;
    struct cron c;
    char *text = xstrndup((const char *)data, size);
    int64_t at;
    size_t i;

    if (cron_parse(&c, text) == 0) {
        /* every firing found must be a firing, within the span asked */
        for (int64_t from = 0; from < 400 * 86400; from += 37 * 86400 + 11)
            if (cron_next(&c, from, from + 366 * 86400, &at) &&
                (at < from || at >= from + 366 * 86400 || !cron_fires(&c, at) || at % 60))
                abort();
    }
    free(text);
    if (doc_parse_yaml(&docs, (const char *)data, size, "fuzz.yaml", &lim) < 0)
        return 0;
    json_array_foreach(docs, i, d)
    {
        struct project p;
        if (project_parse(&p, d, "fuzz.yaml") == 0)
            fuzz_project_decide(&p);
        project_dispose(&p);
    }
    json_decref(docs);
    return 0;
}
