/*
 * `edgecd restore create|list|describe`: restoring a backup from a folder
 * location into a cluster, with Velero's flag names and meaning (see
 * backup/restore.h). Like `edgecd backup`, it works on the location and
 * the cluster directly, without the server; the records live in the
 * location beside the backups (LOCATION/.restores/NAME.json).
 *
 * When the data directory holds an edgecd store (DATA/state.db, shared
 * with a running `edgecd serve`), the automated sync of the apps whose
 * objects the restore writes is paused there for the restore's length
 * (an hour at most, should the restore be killed), so the engine does
 * not revert what is being restored.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "backup/crypt.h"
#include "backup/filter.h"
#include "backup/restore.h"
#include "backup/track.h"
#include "cli/cli.h"
#include "cli/cmd_backup.h"
#include "core/err.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "kube/client.h"
#include "storage/store.h"

/* The longest a restore may hold an app's automated sync back. */
#define RESTORE_HOLD_SECONDS 3600

int restore_cli_hold(void *ctx, const json_t *labels, int on)
{
    struct restore_hold_ctx *h = ctx;
    char *reason = xasprintf("restore %s in progress", h->name);
    const json_t *l;
    size_t i;
    int rc = 0;

    json_array_foreach(labels, i, l)
    {
        const char *label = json_string_value(l);
        int r =
            on ? store_pause_set(h->st, label, reason, (long long)time(NULL) + RESTORE_HOLD_SECONDS)
               : store_pause_clear(h->st, label);
        if (r < 0 && rc == 0)
            rc = r;
    }
    free(reason);
    return rc;
}

enum {
    OPT_FROM_BACKUP = 256,
    OPT_INC_NS,
    OPT_EXC_NS,
    OPT_INC_RES,
    OPT_EXC_RES,
    OPT_INC_CLUSTER,
    OPT_SELECTOR,
    OPT_OR_SELECTOR,
    OPT_NS_MAP,
    OPT_POLICY,
    OPT_RESTORE_STATUS,
    OPT_NODEPORTS,
    OPT_DRY_RUN,
};

static const struct option restore_longopts[] = {
    {"from-backup", required_argument, NULL, OPT_FROM_BACKUP},
    {"include-namespaces", required_argument, NULL, OPT_INC_NS},
    {"exclude-namespaces", required_argument, NULL, OPT_EXC_NS},
    {"include-resources", required_argument, NULL, OPT_INC_RES},
    {"exclude-resources", required_argument, NULL, OPT_EXC_RES},
    {"include-cluster-resources", optional_argument, NULL, OPT_INC_CLUSTER},
    {"selector", required_argument, NULL, OPT_SELECTOR},
    {"or-selector", required_argument, NULL, OPT_OR_SELECTOR},
    {"namespace-mappings", required_argument, NULL, OPT_NS_MAP},
    {"existing-resource-policy", required_argument, NULL, OPT_POLICY},
    {"restore-status", no_argument, NULL, OPT_RESTORE_STATUS},
    {"preserve-nodeports", optional_argument, NULL, OPT_NODEPORTS},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    BACKUP_CLI_SHARED_OPTIONS,
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "a,b" split on commas, each piece handed to add. */
static int restore_cli_split(const char *value, json_t *into,
                             int (*add)(json_t *into, const char *one))
{
    char *copy = xstrdup(value), *p = copy;
    int rc = 0;
    while (p && rc == 0) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p)
            rc = add(into, p);
        p = comma ? comma + 1 : NULL;
    }
    free(copy);
    return rc;
}

static int restore_cli_add_string(json_t *into, const char *one)
{
    return json_array_append_new(into, json_string(one)) == 0 ? 0 : ERR_INVALID;
}

static int restore_cli_add_mapping(json_t *into, const char *one)
{
    const char *colon = strchr(one, ':');
    if (!colon || colon == one || !colon[1] || strchr(colon + 1, ':'))
        return err_set(ERR_INVALID, "--namespace-mappings: \"%s\" is not SOURCE:TARGET", one);
    {
        char *src = xstrndup(one, (size_t)(colon - one));
        json_object_set_new(into, src, json_string(colon + 1));
        free(src);
    }
    return 0;
}

/* An array field of the spec, made on first use. */
static json_t *restore_cli_array(json_t *spec, const char *field)
{
    json_t *a = json_object_get(spec, field);
    if (!a)
        json_object_set_new(spec, field, a = json_array());
    return a;
}

/* "true"/"false" or no value (true). -1 for anything else. */
static int restore_cli_bool(const char *v)
{
    if (!v || !strcmp(v, "true"))
        return 1;
    return !strcmp(v, "false") ? 0 : -1;
}

#define CREATE_USAGE                                                                               \
    "NAME --from-backup BACKUP [--include-namespaces NS,..] [--exclude-namespaces NS,..] "         \
    "[--include-resources R,..] [--exclude-resources R,..] "                                       \
    "[--include-cluster-resources=true|false] [--selector SEL | --or-selector 'SEL or SEL'] "      \
    "[--namespace-mappings SRC:DST,..] [--existing-resource-policy none|update] "                  \
    "[--restore-status] [--preserve-nodeports] [--dry-run] [--location DIR] [--data DIR] "         \
    "[--key-file F | --passphrase-file F | --format velero] [--config FILE [--cluster NAME] | "    \
    "--kubeconfig F [--context C]] [-o json]"

/* Parse flags into o and o->spec; 0, or the exit code with *done set. */
static int restore_cli_parse(struct backup_cli *o, int argc, char **argv, const char *usage,
                             int *done)
{
    json_t *sel;
    int c, b;
    *done = 1;
    memset(o, 0, sizeof(*o));
    o->spec = json_object();
    o->data = getenv("EDGECD_DATA") && getenv("EDGECD_DATA")[0] ? getenv("EDGECD_DATA")
                                                                : BACKUP_DEFAULT_DATA;
    o->output = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", restore_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FROM_BACKUP:
            json_object_set_new(o->spec, "backupName", json_string(optarg));
            break;
        case OPT_INC_NS:
        case OPT_EXC_NS:
        case OPT_INC_RES:
        case OPT_EXC_RES: {
            static const char *const fields[] = {"includedNamespaces", "excludedNamespaces",
                                                 "includedResources", "excludedResources"};
            restore_cli_split(optarg, restore_cli_array(o->spec, fields[c - OPT_INC_NS]),
                              restore_cli_add_string);
            break;
        }
        case OPT_INC_CLUSTER:
        case OPT_NODEPORTS:
            if ((b = restore_cli_bool(optarg)) < 0) {
                fprintf(stderr, "edgecd: --%s: true or false\n",
                        c == OPT_INC_CLUSTER ? "include-cluster-resources" : "preserve-nodeports");
                return 2;
            }
            json_object_set_new(
                o->spec, c == OPT_INC_CLUSTER ? "includeClusterResources" : "preserveNodePorts",
                json_boolean(b));
            break;
        case OPT_SELECTOR:
            if (filter_selector_parse(optarg, &sel) < 0)
                return cli_fail();
            json_object_set_new(o->spec, "labelSelector", sel);
            break;
        case OPT_OR_SELECTOR: {
            const char *p = optarg;
            json_t *a = restore_cli_array(o->spec, "orLabelSelectors");
            for (;;) {
                const char * or = strstr(p, " or ");
                char *one = or ? xstrndup(p, (size_t)(or -p)) : xstrdup(p);
                int rc = filter_selector_parse(one, &sel);
                free(one);
                if (rc < 0)
                    return cli_fail();
                json_array_append_new(a, sel);
                if (! or)
                    break;
                p = or +4;
            }
            break;
        }
        case OPT_NS_MAP: {
            json_t *m = json_object_get(o->spec, "namespaceMapping");
            if (!m)
                json_object_set_new(o->spec, "namespaceMapping", m = json_object());
            if (restore_cli_split(optarg, m, restore_cli_add_mapping) < 0)
                return cli_fail();
            break;
        }
        case OPT_POLICY:
            json_object_set_new(o->spec, "existingResourcePolicy", json_string(optarg));
            break;
        case OPT_RESTORE_STATUS:
            json_object_set_new(o->spec, "restoreStatus",
                                json_pack("{s:[s]}", "includedResources", "*"));
            break;
        case OPT_DRY_RUN:
            json_object_set_new(o->spec, "dryRun", json_true());
            break;
        case 'o':
            o->output = optarg;
            break;
        default:
            if (backup_cli_shared_opt(o, c, optarg))
                break;
            fprintf(c == 'h' ? stdout : stderr, "usage: edgecd restore %s %s\n", argv[0], usage);
            return c == 'h' ? 0 : 2;
        }
    }
    if (o->format && strcmp(o->format, "velero") != 0 && strcmp(o->format, "edgecd") != 0) {
        fprintf(stderr, "edgecd: --format: velero or edgecd\n");
        return 2;
    }
    if (!!o->key_file + !!o->passphrase_file + !!(o->format && !strcmp(o->format, "velero")) > 1) {
        fprintf(stderr,
                "edgecd: --key-file, --passphrase-file and --format velero exclude each other\n");
        return 2;
    }
    if (backup_cli_location(o) < 0)
        return cli_fail();
    *done = 0;
    return 0;
}

static void restore_cli_dispose(struct backup_cli *o)
{
    json_decref(o->spec);
    backup_cli_location_dispose(o);
}

static json_int_t restore_cli_count(const json_t *rec, const char *action)
{
    return json_integer_value(json_object_get(doc_get(rec, "status.counts"), action));
}

/* What a run did, on one line. */
static void restore_cli_summary(const json_t *rec)
{
    static const char *const actions[] = {"created",      "updated",        "would-create",
                                          "would-update", "skipped-exists", "skipped-owned",
                                          "failed"};
    printf("restore %s %s%s:", doc_get_str(rec, "metadata.name"), doc_get_str(rec, "status.phase"),
           json_is_true(doc_get(rec, "spec.dryRun")) ? " (dry run, nothing changed)" : "");
    for (size_t i = 0, n = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        json_int_t v = restore_cli_count(rec, actions[i]);
        if (v || (!json_is_true(doc_get(rec, "spec.dryRun")) && i < 2) || i == 6)
            printf("%s %lld %s", n++ ? "," : "", (long long)v, actions[i]);
    }
    printf(" (warnings %lld, errors %lld)\n",
           (long long)json_integer_value(doc_get(rec, "status.warnings")),
           (long long)json_integer_value(doc_get(rec, "status.errors")));
}

static int restore_create_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct restore_options ro;
    struct restore_hold_ctx hold = {NULL, NULL};
    struct backup_track track;
    struct crypt_key key;
    kube_client *kc = NULL;
    char *db = NULL, *tmpdir = NULL;
    json_t *rec = NULL;
    char *cname = NULL, *cserver = NULL;
    const char *phase;
    int rc, done, have_key = 0;

    memset(&key, 0, sizeof(key));
    memset(&track, 0, sizeof(track));
    rc = restore_cli_parse(&o, argc, argv, CREATE_USAGE, &done);
    if (done)
        goto out;
    if (optind != argc - 1 || !json_object_get(o.spec, "backupName")) {
        fprintf(stderr, "usage: edgecd restore create %s\n", CREATE_USAGE);
        rc = 2;
        goto out;
    }
    /* The key and the client are only set up here: no request reaches the
     * cluster before restore_create has verified the archive. */
    if ((!(o.format && !strcmp(o.format, "velero")) &&
         backup_cli_key(&o, 0, &key, &have_key) < 0) ||
        backup_cli_client(&o, &kc, &cname, &cserver) < 0) {
        rc = cli_fail();
        goto out;
    }
    memset(&ro, 0, sizeof(ro));
    ro.name = argv[optind];
    ro.location = o.location;
    ro.records = o.records;
    ro.spec = o.spec;
    ro.key = have_key ? &key : NULL;
    ro.allow_plain = o.format && !strcmp(o.format, "velero");
    db = xasprintf("%s/state.db", o.data);
    if (access(db, F_OK) == 0) {
        if (store_open(&hold.st, db) < 0) {
            rc = cli_fail();
            goto out;
        }
        hold.name = ro.name;
        ro.hold = restore_cli_hold;
        ro.hold_ctx = &hold;
    }
    ro.progress = backup_track_progress;
    ro.progress_ctx = &track;
    ro.tmpdir = tmpdir = backup_cli_tmpdir(o.data);
    backup_track_begin(&track, hold.st, "Restore", ro.name, o.location);
    rc = restore_create(kc, &ro, &rec);
    backup_track_end(&track,
                     doc_get_str(rec, "status.phase") ? doc_get_str(rec, "status.phase") : "Failed",
                     rc < 0 ? err_last() : "");
    if (rc < 0) {
        rc = cli_fail();
        goto out;
    }
    if (!strcmp(o.output, "json")) {
        /* the record with each object's result, which restore_create
         * leaves out of rec */
        json_t *full = NULL;
        if (restore_get(o.records, ro.name, &full) < 0) {
            rc = cli_fail();
            goto out;
        }
        backup_cli_print_json(full);
        json_decref(full);
    } else {
        restore_cli_summary(rec);
    }
    phase = doc_get_str(rec, "status.phase");
    rc = phase && !strcmp(phase, "Completed") ? 0 : 1;
out:
    json_decref(rec);
    store_close(hold.st);
    free(db);
    kube_client_free(kc);
    crypt_key_dispose(&key);
    free(cname);
    free(cserver);
    free(tmpdir);
    restore_cli_dispose(&o);
    return rc;
}

static const char *restore_cli_phase(const json_t *rec)
{
    if (json_object_get(rec, "problem"))
        return "Damaged";
    if (json_is_true(json_object_get(rec, "interrupted")))
        return "Interrupted";
    return doc_get_str(rec, "status.phase") ? doc_get_str(rec, "status.phase") : "Unknown";
}

static const char *restore_cli_str(const json_t *rec, const char *path)
{
    const char *s = doc_get_str(rec, path);
    return s ? s : "-";
}

static int restore_list_cmd(int argc, char **argv)
{
    struct backup_cli o;
    json_t *list = NULL, *rec;
    size_t i;
    int rc, done;

    rc = restore_cli_parse(&o, argc, argv, "[--location DIR] [--data DIR] [-o json]", &done);
    if (done)
        goto out;
    if (optind != argc) {
        fprintf(stderr, "usage: edgecd restore list [--location DIR] [--data DIR] [-o json]\n");
        rc = 2;
        goto out;
    }
    if (restore_list(o.records, &list) < 0) {
        rc = cli_fail();
        goto out;
    }
    rc = 0;
    if (!strcmp(o.output, "json")) {
        backup_cli_print_json(list);
        goto out;
    }
    printf("%-32s %-24s %-16s %-20s %-20s %-6s %s\n", "NAME", "BACKUP", "STATUS", "STARTED",
           "COMPLETED", "ERRORS", "WARNINGS");
    json_array_foreach(list, i, rec)
    {
        printf("%-32s %-24s %-16s %-20s %-20s %-6lld %lld\n", restore_cli_str(rec, "metadata.name"),
               restore_cli_str(rec, "spec.backupName"), restore_cli_phase(rec),
               restore_cli_str(rec, "status.startTimestamp"),
               restore_cli_str(rec, "status.completionTimestamp"),
               (long long)json_integer_value(doc_get(rec, "status.errors")),
               (long long)json_integer_value(doc_get(rec, "status.warnings")));
    }
out:
    json_decref(list);
    restore_cli_dispose(&o);
    return rc;
}

/* Velero's grouping: the restore itself, cluster-scoped, per namespace. */
static void restore_cli_groups(const char *title, const json_t *g)
{
    const char *ns;
    json_t *list, *v;
    size_t i;
    printf("%s:\n", title);
    if (json_array_size(json_object_get(g, "velero")) +
            json_array_size(json_object_get(g, "cluster")) +
            json_object_size(json_object_get(g, "namespaces")) ==
        0) {
        printf("  <none>\n");
        return;
    }
    json_array_foreach(json_object_get(g, "velero"), i, v)
    {
        printf("  Velero:     %s\n", json_string_value(v));
    }
    json_array_foreach(json_object_get(g, "cluster"), i, v)
    {
        printf("  Cluster:    %s\n", json_string_value(v));
    }
    if (json_object_size(json_object_get(g, "namespaces")) > 0)
        printf("  Namespaces:\n");
    json_object_foreach((json_t *)json_object_get(g, "namespaces"), ns, list)
    {
        printf("    %s:\n", ns);
        json_array_foreach(list, i, v)
        {
            printf("      %s\n", json_string_value(v));
        }
    }
}

static void restore_cli_describe(const json_t *rec, const char *location)
{
    const json_t *spec = json_object_get(rec, "spec"), *v, *items;
    const char *key;
    size_t i;

    printf("Name:                     %s\n", restore_cli_str(rec, "metadata.name"));
    printf("Phase:                    %s\n", restore_cli_phase(rec));
    if (json_object_get(rec, "problem"))
        printf("Problem:                  %s\n", restore_cli_str(rec, "problem"));
    if (json_is_true(json_object_get(rec, "interrupted")))
        printf("                          (cut short: `edgecd restore create %s --from-backup %s` "
               "again finishes it)\n",
               restore_cli_str(rec, "metadata.name"), restore_cli_str(spec, "backupName"));
    printf("Backup:                   %s\n", restore_cli_str(spec, "backupName"));
    printf("Location:                 %s\n", location);
    printf("Dry run:                  %s\n",
           json_is_true(json_object_get(spec, "dryRun")) ? "yes" : "no");
    printf("Existing resource policy: %s\n", restore_cli_str(spec, "existingResourcePolicy"));
    printf("Restore status:           %s\n",
           json_is_object(json_object_get(spec, "restoreStatus")) ? "yes" : "no");
    printf("Preserve node ports:      %s\n",
           json_is_true(json_object_get(spec, "preserveNodePorts")) ? "yes" : "no");
    printf("Namespace mappings:      ");
    if (json_object_size(json_object_get(spec, "namespaceMapping")) == 0)
        printf(" <none>");
    json_object_foreach((json_t *)json_object_get(spec, "namespaceMapping"), key, v)
    {
        printf(" %s:%s", key, json_string_value(v));
    }
    printf("\n");
    printf("Started:                  %s\n", restore_cli_str(rec, "status.startTimestamp"));
    printf("Completed:                %s\n", restore_cli_str(rec, "status.completionTimestamp"));
    printf("Items:                    %lld of %lld\n",
           (long long)json_integer_value(doc_get(rec, "status.progress.itemsRestored")),
           (long long)json_integer_value(doc_get(rec, "status.progress.totalItems")));
    json_array_foreach(doc_get(rec, "status.validationErrors"), i, v)
    {
        printf("Validation error:         %s\n", json_string_value(v));
    }
    printf("Counts:\n");
    json_object_foreach((json_t *)doc_get(rec, "status.counts"), key, v)
    {
        printf("  %-16s %lld\n", key, (long long)json_integer_value(v));
    }
    restore_cli_groups("Warnings", doc_get(rec, "results.warnings"));
    restore_cli_groups("Errors", doc_get(rec, "results.errors"));
    items = doc_get(rec, "results.items");
    printf("Resources:\n");
    json_array_foreach(items, i, v)
    {
        const char *ns = doc_get_str(v, "namespace"), *to = doc_get_str(v, "targetNamespace");
        const char *msg = doc_get_str(v, "message");
        printf("  %-15s %s %s%s%s%s%s%s%s\n", restore_cli_str(v, "action"),
               restore_cli_str(v, "resource"), ns ? ns : "", ns ? "/" : "",
               restore_cli_str(v, "name"), to ? " -> " : "", to ? to : "", msg ? ": " : "",
               msg ? msg : "");
    }
}

static int restore_describe_cmd(int argc, char **argv)
{
    struct backup_cli o;
    json_t *rec = NULL;
    int rc, done;

    rc = restore_cli_parse(&o, argc, argv, "NAME [--location DIR] [--data DIR] [-o json]", &done);
    if (done)
        goto out;
    if (optind != argc - 1) {
        fprintf(stderr,
                "usage: edgecd restore describe NAME [--location DIR] [--data DIR] [-o json]\n");
        rc = 2;
        goto out;
    }
    if (restore_get(o.records, argv[optind], &rec) < 0) {
        rc = cli_fail();
        goto out;
    }
    if (!strcmp(o.output, "json"))
        backup_cli_print_json(rec);
    else
        restore_cli_describe(rec, o.location);
    rc = 0;
out:
    json_decref(rec);
    restore_cli_dispose(&o);
    return rc;
}

static const struct cli_sub restore_subs[] = {
    {"create", CREATE_USAGE,
     "verify a backup's whole archive, then restore its objects in Velero's order (server fields "
     "stripped, owned objects left to their controllers, labelled with the restore's name); exit 1 "
     "unless Completed",
     restore_create_cmd},
    {"list", "[--location DIR] [--data DIR] [-o json]",
     "list the restores recorded in the location (backup, status, times, errors, warnings)",
     restore_list_cmd},
    {"describe", "NAME [--location DIR] [--data DIR] [-o json]",
     "show a restore's spec, status, counts, warnings and errors as Velero groups them, and what "
     "happened to each object",
     restore_describe_cmd},
};

static int cmd_restore_run(int argc, char **argv)
{
    return cli_dispatch(&cli_cmd_restore, restore_subs,
                        sizeof(restore_subs) / sizeof(restore_subs[0]), argc, argv);
}

const struct cli_cmd cli_cmd_restore = {
    "restore",
    "create NAME --from-backup BACKUP [options] | list | describe NAME",
    "Restore a backup from a folder or S3 location into the cluster (Velero's flags and order, "
    "verified first, GitOps-aware with namespace mappings); list and describe restores.",
    cmd_restore_run,
};
