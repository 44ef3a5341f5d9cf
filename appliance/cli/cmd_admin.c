/*
 * `edgecd admin SUBCOMMAND`: tools for the operator that need no server.
 * The self-backup commands are in cmd_admin_self.c, export and import in
 * cmd_admin_export.c. `admin health` assesses objects from a file the
 * way the engine assesses live ones, with the same argocd-cm settings, so
 * a custom Lua check can be tried on `kubectl get -o yaml` output before
 * it goes into the site's configuration.
 *
 * The answer is a YAML stream, one document per object:
 *   object: apps/Deployment shop/web
 *   status: Progressing
 *   message: 'Waiting for rollout to finish: 1 of 3 updated replicas are available...'
 * A kind without a health check has no status line (Argo CD shows none).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "engine/health.h"
#include "model/settings.h"

#define ADMIN_MAX_FILE (8u << 20)

/* "apps/Deployment shop/web", "Pod web", "Namespace shop" */
static char *admin_object_name(const json_t *obj)
{
    const char *api = doc_get_str(obj, "apiVersion"), *kind = doc_get_str(obj, "kind");
    const char *ns = doc_get_str(obj, "metadata.namespace"),
               *name = doc_get_str(obj, "metadata.name");
    const char *slash = api ? strchr(api, '/') : NULL;
    struct buf b = BUF_INIT;

    if (slash)
        buf_printf(&b, "%.*s/", (int)(slash - api), api);
    buf_printf(&b, "%s %s%s%s", kind ? kind : "?", ns ? ns : "", ns ? "/" : "", name ? name : "?");
    return buf_detach(&b);
}

static int admin_health(int argc, char **argv)
{
    static const struct option longopts[] = {{"file", required_argument, NULL, 'f'},
                                             {"settings", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *file = NULL, *settings_path = NULL;
    struct settings settings;
    health_checks *checks = NULL;
    struct buf data = BUF_INIT, out = BUF_INIT;
    json_t *docs = NULL, *results = json_array();
    size_t i;
    json_t *obj;
    int c, rc = 1, usage = 0;

    memset(&settings, 0, sizeof(settings));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'f')
            file = optarg;
        else if (c == 's')
            settings_path = optarg;
        else
            usage = c == 'h' ? 1 : 2;
    }
    if (usage || !file || optind != argc) {
        fprintf(usage == 1 ? stdout : stderr,
                "usage: edgecd admin health --file OBJECTS.yaml [--settings argocd-cm.yaml]\n");
        rc = usage == 1 ? 0 : 2;
        goto out;
    }
    if ((settings_path && settings_load(&settings, settings_path) < 0) ||
        health_checks_new(&checks, settings_path ? &settings : NULL, NULL) < 0 ||
        fs_read_file(file, ADMIN_MAX_FILE, &data) < 0 ||
        doc_parse_file_data(&docs, buf_cstr(&data), data.len, file, NULL) < 0) {
        rc = cli_fail();
        goto out;
    }
    if (json_array_size(docs) == 0) {
        err_set(ERR_INVALID, "%s: no objects", file);
        rc = cli_fail();
        goto out;
    }
    json_array_foreach(docs, i, obj)
    {
        struct health_result h;
        json_t *r;
        char *name;
        if (!json_is_object(obj) || !doc_get_str(obj, "kind") || !doc_get_str(obj, "apiVersion")) {
            err_set(ERR_INVALID,
                    "%s: document %zu: not a Kubernetes object (no apiVersion or kind)", file,
                    i + 1);
            rc = cli_fail();
            goto out;
        }
        health_assess(&h, checks, obj);
        r = json_object();
        name = admin_object_name(obj);
        json_object_set_new(r, "object", json_string(name));
        free(name);
        if (h.status != HEALTH_NONE) {
            json_object_set_new(r, "status", json_string(health_status_name(h.status)));
            json_object_set_new(r, "message", json_string(h.message));
            if (h.aggregate_as != h.status)
                json_object_set_new(r, "aggregateAs",
                                    json_string(health_status_name(h.aggregate_as)));
        } else {
            json_object_set_new(r, "message",
                                json_string("no health check for this kind (Argo CD shows none)"));
        }
        json_array_append_new(results, r);
        health_result_dispose(&h);
    }
    doc_emit_yaml_stream(&out, results);
    fputs(buf_cstr(&out), stdout);
    rc = 0;
out:
    json_decref(results);
    json_decref(docs);
    buf_dispose(&data);
    buf_dispose(&out);
    health_checks_free(checks);
    settings_dispose(&settings);
    return rc;
}

static const struct cli_sub admin_subs[] = {
    {"health", "--file OBJECTS.yaml [--settings argocd-cm.yaml]",
     "print each object's health status and message, as Argo CD would assess it (built-in checks, "
     "or the Lua checks of an argocd-cm ConfigMap)",
     admin_health},
    {"backup-self", ADMIN_BACKUP_SELF_USAGE,
     "take a self-backup now, as serve's schedule does (store snapshot, config, keys, encrypted "
     "under the recovery passphrase or key); safe while serve runs",
     admin_backup_self},
    {"restore-self", ADMIN_RESTORE_SELF_USAGE,
     "bring a self-backup back into a fresh data directory, after verifying all of it; then "
     "edgecd serve carries on",
     admin_restore_self},
    {"export", ADMIN_EXPORT_USAGE,
     "print the stored AppProjects, Applications and ApplicationSets (and with --config the "
     "argocd-cm settings) as Argo CD YAML, for kubectl apply or Argo CD",
     admin_export},
    {"import", ADMIN_IMPORT_USAGE,
     "register the Applications, AppProjects and ApplicationSets of an Argo CD YAML export "
     "(other kinds skipped, by name); all checked before anything is written",
     admin_import},
};

static int cmd_admin_run(int argc, char **argv)
{
    return cli_dispatch(&cli_cmd_admin, admin_subs, sizeof(admin_subs) / sizeof(admin_subs[0]),
                        argc, argv);
}

const struct cli_cmd cli_cmd_admin = {
    "admin",
    "health|backup-self|restore-self|export|import ...",
    "Operator tools that need no server: health of objects in a file, the appliance's own "
    "backup and restore, export and import in Argo CD's YAML.",
    cmd_admin_run,
};
