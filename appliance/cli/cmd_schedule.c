/*
 * `edgecd schedule create|list|describe|pause|unpause|delete`: backup
 * schedules (backup/schedule.h) in the data directory's store, with
 * Velero's flag names. They write the store directly, also while `edgecd
 * serve` runs (SQLite's WAL lets both in); serve reads the schedules
 * again at every pass, so a change takes effect within its poll interval.
 *
 * Paths are stored absolute (serve runs in another directory), and a
 * location that names a backupLocations entry is stored by its name and
 * looked up again at every run, so a changed endpoint or credential in
 * the site config applies without touching the schedule.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/filter.h"
#include "backup/location.h"
#include "backup/schedule.h"
#include "cli/cli.h"
#include "cli/cmd_backup.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "storage/store.h"

#define SCHEDULE_CREATE_USAGE                                                                      \
    "NAME --schedule CRON [--include-namespaces NS,..] [--exclude-namespaces NS,..] "              \
    "[--include-resources R,..] [--exclude-resources R,..] "                                       \
    "[--include-cluster-resources=true|false] [--selector SEL | --or-selector 'SEL or SEL'] "      \
    "[--ttl 720h] [--keep N] [--location DIR|NAME|s3://BUCKET/PREFIX] [--format velero] "          \
    "[--key-file F | --passphrase-file F] [--cluster NAME] [--data DIR]"

/* p made absolute against the working directory (a new string). */
static char *schedule_cli_abs(const char *p)
{
    char cwd[4096];
    if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return xstrdup(p);
    return xasprintf("%s/%s", cwd, p);
}

/* Open DATA/state.db; create 0 refuses a data directory without one. */
static int schedule_cli_store(const struct backup_cli *o, int create, store **out)
{
    char *db = xasprintf("%s/state.db", o->data);
    int rc;
    *out = NULL;
    if (!create && !fs_exists(db))
        rc = err_set(ERR_NOTFOUND, "%s: no store (is --data the node's data directory?)", db);
    else if (create && (rc = fs_mkdir_p(o->data, 0700)) < 0)
        ;
    else
        rc = store_open(out, db);
    free(db);
    return rc;
}

static void schedule_cli_set_path(json_t *spec, const char *key, const char *path)
{
    char *abs;
    if (!path)
        return;
    abs = schedule_cli_abs(path);
    json_object_set_new(spec, key, json_string(abs));
    free(abs);
}

static int schedule_create_cmd(int argc, char **argv)
{
    struct backup_cli o;
    store *st = NULL;
    json_t *spec = json_object();
    char *text = NULL, *abs;
    long keep = 0;
    int rc, done;

    rc = backup_cli_parse(&o, "schedule", argc, argv, SCHEDULE_CREATE_USAGE, &done);
    if (done)
        goto out;
    if (optind != argc - 1 || !o.schedule) {
        fprintf(stderr, "usage: edgecd schedule create %s\n", SCHEDULE_CREATE_USAGE);
        rc = 2;
        goto out;
    }
    if (o.format && !strcmp(o.format, "velero") && (o.key_file || o.passphrase_file)) {
        fprintf(stderr, "edgecd: --format velero writes a plain archive: no key or passphrase\n");
        rc = 2;
        goto out;
    }
    if (schedule_name_check(argv[optind]) < 0 ||
        (o.keep && str_to_long(o.keep, 0, 100000, "--keep", &keep) < 0)) {
        rc = cli_fail();
        goto out;
    }
    json_object_set_new(spec, "schedule", json_string(o.schedule));
    json_object_set_new(spec, "template", json_incref(o.spec));
    /* The location as the operator named it: an S3 entry by its name or
     * URL (resolved at each run), a folder made absolute. */
    if (o.location_arg) {
        abs = location_is_s3(o.location) ? xstrdup(o.location_arg) : schedule_cli_abs(o.location);
        json_object_set_new(o.spec, "storageLocation", json_string(abs));
        free(abs);
    }
    json_object_set_new(spec, "keep", json_integer(keep));
    json_object_set_new(spec, "paused", json_false());
    json_object_set_new(spec, "format", json_string(o.format ? o.format : "edgecd"));
    schedule_cli_set_path(spec, "keyFile", o.key_file);
    schedule_cli_set_path(spec, "passphraseFile", o.passphrase_file);
    if (o.cluster)
        json_object_set_new(spec, "cluster", json_string(o.cluster));
    if (schedule_spec_check(spec) < 0 || schedule_cli_store(&o, 1, &st) < 0) {
        rc = cli_fail();
        goto out;
    }
    text = json_dumps(spec, JSON_COMPACT);
    if (store_schedule_create(st, argv[optind], text) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("schedule %s created: %s, backups to %s, ttl %s, keep %s\n", argv[optind], o.schedule,
           doc_get_str(spec, "template.storageLocation")
               ? doc_get_str(spec, "template.storageLocation")
               : o.location,
           doc_get_str(spec, "template.ttl"), keep ? o.keep : "all");
    rc = 0;
out:
    free(text);
    json_decref(spec);
    store_close(st);
    backup_cli_dispose(&o);
    return rc;
}

/* The parsed spec and status of a stored schedule (new references). */
static void schedule_cli_docs(const struct store_schedule *sc, json_t **spec, json_t **status)
{
    *spec = json_loads(sc->spec_json, 0, NULL);
    *status = json_loads(sc->status_json, 0, NULL);
    if (!*spec)
        *spec = json_object();
    if (!*status)
        *status = json_object();
}

static const char *schedule_cli_or(const char *s, const char *dflt)
{
    return s && s[0] ? s : dflt;
}

/* Enabled, Paused (as the spec says, before serve has seen it), or the
 * status's phase when it knows better (FailedValidation). */
static const char *schedule_cli_phase(const json_t *spec, const json_t *status)
{
    const char *phase = doc_get_str(status, "phase");
    if (json_is_true(json_object_get(spec, "paused")))
        return "Paused";
    if (phase && !strcmp(phase, "FailedValidation"))
        return phase;
    return "Enabled";
}

static int schedule_list_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct store_schedule *v = NULL;
    size_t n = 0, i;
    store *st = NULL;
    json_t *all = json_array();
    int rc, done;

    rc = backup_cli_parse(&o, "schedule", argc, argv, "[--data DIR] [-o json]", &done);
    if (done)
        goto out;
    if (optind != argc) {
        fprintf(stderr, "usage: edgecd schedule list [--data DIR] [-o json]\n");
        rc = 2;
        goto out;
    }
    if (schedule_cli_store(&o, 0, &st) < 0 || store_schedule_list(st, &v, &n) < 0) {
        rc = cli_fail();
        goto out;
    }
    if (strcmp(o.output, "json") != 0)
        printf("%-24s %-10s %-16s %-6s %-20s %-20s %s\n", "NAME", "STATUS", "SCHEDULE", "KEEP",
               "LAST BACKUP", "NEXT RUN", "LAST ERROR");
    for (i = 0; i < n; i++) {
        json_t *spec, *status;
        schedule_cli_docs(&v[i], &spec, &status);
        if (!strcmp(o.output, "json")) {
            json_array_append_new(all, schedule_object(&v[i]));
            json_decref(spec);
            json_decref(status);
            continue;
        }
        printf("%-24s %-10s %-16s %-6lld %-20s %-20s %s\n", v[i].name,
               schedule_cli_phase(spec, status), doc_get_str(spec, "schedule"),
               (long long)json_integer_value(json_object_get(spec, "keep")),
               schedule_cli_or(doc_get_str(status, "lastBackup.time"), "-"),
               json_is_true(json_object_get(spec, "paused"))
                   ? "-"
                   : schedule_cli_or(doc_get_str(status, "nextRun"), "-"),
               schedule_cli_or(doc_get_str(status, "lastError"), ""));
        json_decref(spec);
        json_decref(status);
    }
    if (!strcmp(o.output, "json"))
        backup_cli_print_json(all);
    rc = 0;
out:
    json_decref(all);
    store_schedules_free(v, n);
    store_close(st);
    backup_cli_dispose(&o);
    return rc;
}

static void schedule_cli_strings(const char *label, const json_t *a, const char *none)
{
    size_t i;
    json_t *v;
    printf("%s", label);
    if (json_array_size(a) == 0)
        printf("%s", none);
    json_array_foreach(a, i, v)
    {
        printf("%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "?");
    }
    printf("\n");
}

static void schedule_cli_describe(const struct store_schedule *sc, const json_t *spec,
                                  const json_t *status, const char *default_location)
{
    const json_t *t = json_object_get(spec, "template"), *icr;
    char *sel = NULL;

    printf("Name:               %s\n", sc->name);
    printf("Phase:              %s\n", schedule_cli_phase(spec, status));
    printf("Schedule:           %s\n", doc_get_str(spec, "schedule"));
    printf("Paused:             %s\n",
           json_is_true(json_object_get(spec, "paused")) ? "true" : "false");
    printf("Created:            %s\n", sc->created_at);
    printf("Location:           %s\n",
           schedule_cli_or(doc_get_str(t, "storageLocation"), default_location));
    printf("Format:             %s\n", schedule_cli_or(doc_get_str(spec, "format"), "edgecd"));
    printf("Keep:               %lld%s\n",
           (long long)json_integer_value(json_object_get(spec, "keep")),
           json_integer_value(json_object_get(spec, "keep")) ? "" : " (all)");
    printf("TTL:                %s\n", schedule_cli_or(doc_get_str(t, "ttl"), "720h0m0s"));
    printf("Namespaces:\n");
    schedule_cli_strings("  Included:         ", json_object_get(t, "includedNamespaces"), "*");
    schedule_cli_strings("  Excluded:         ", json_object_get(t, "excludedNamespaces"),
                         "<none>");
    printf("Resources:\n");
    schedule_cli_strings("  Included:         ", json_object_get(t, "includedResources"), "*");
    schedule_cli_strings("  Excluded:         ", json_object_get(t, "excludedResources"), "<none>");
    icr = json_object_get(t, "includeClusterResources");
    printf("  Cluster-scoped:   %s\n", json_is_true(icr)    ? "included"
                                       : json_is_false(icr) ? "excluded"
                                                            : "auto");
    if (json_is_object(json_object_get(t, "labelSelector")) &&
        filter_selector_string(json_object_get(t, "labelSelector"), &sel) == 0)
        printf("Label selector:     %s\n", sel);
    else
        printf("Label selector:     <none>\n");
    free(sel);
    err_clear();
    printf("Last backup:        %s",
           schedule_cli_or(doc_get_str(status, "lastBackup.name"), "<none>"));
    if (doc_get_str(status, "lastBackup.name"))
        printf(" (%s, %s)", doc_get_str(status, "lastBackup.phase"),
               doc_get_str(status, "lastBackup.time"));
    printf("\n");
    printf("Next run:           %s\n",
           json_is_true(json_object_get(spec, "paused"))
               ? "<paused>"
               : schedule_cli_or(doc_get_str(status, "nextRun"), "<when edgecd serve runs>"));
    printf("Last error:         %s\n", schedule_cli_or(doc_get_str(status, "lastError"), "<none>"));
}

/* Parse `schedule SUB NAME [--data DIR]` and open the store with the
 * schedule's row in *sc. 0, or the exit code with *done set. */
static int schedule_cli_one(struct backup_cli *o, int argc, char **argv, const char *usage,
                            store **st, struct store_schedule *sc, int *done)
{
    int rc = backup_cli_parse(o, "schedule", argc, argv, usage, done);
    memset(sc, 0, sizeof(*sc));
    if (*done)
        return rc;
    if (optind != argc - 1) {
        fprintf(stderr, "usage: edgecd schedule %s %s\n", argv[0], usage);
        *done = 1;
        return 2;
    }
    if (schedule_cli_store(o, 0, st) < 0 || store_schedule_get(*st, argv[optind], sc) < 0) {
        *done = 1;
        return cli_fail();
    }
    return 0;
}

static int schedule_describe_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct store_schedule sc;
    store *st = NULL;
    json_t *spec = NULL, *status = NULL;
    int rc, done;

    rc = schedule_cli_one(&o, argc, argv, "NAME [--data DIR] [-o json]", &st, &sc, &done);
    if (done)
        goto out;
    schedule_cli_docs(&sc, &spec, &status);
    if (!strcmp(o.output, "json")) {
        json_t *doc = schedule_object(&sc);
        backup_cli_print_json(doc);
        json_decref(doc);
    } else {
        schedule_cli_describe(&sc, spec, status, o.location);
    }
    rc = 0;
out:
    json_decref(spec);
    json_decref(status);
    store_schedule_dispose(&sc);
    store_close(st);
    backup_cli_dispose(&o);
    return rc;
}

/* pause and unpause: set spec.paused. */
static int schedule_pause_set(int argc, char **argv, int paused)
{
    struct backup_cli o;
    struct store_schedule sc;
    store *st = NULL;
    json_t *spec = NULL, *status = NULL;
    char *text = NULL;
    int rc, done;

    rc = schedule_cli_one(&o, argc, argv, "NAME [--data DIR]", &st, &sc, &done);
    if (done)
        goto out;
    schedule_cli_docs(&sc, &spec, &status);
    if (json_is_true(json_object_get(spec, "paused")) == paused) {
        printf("schedule %s is already %s\n", sc.name, paused ? "paused" : "running");
        rc = 0;
        goto out;
    }
    json_object_set_new(spec, "paused", json_boolean(paused));
    text = json_dumps(spec, JSON_COMPACT);
    if (store_schedule_spec_put(st, sc.name, text) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("schedule %s %s\n", sc.name, paused ? "paused" : "unpaused");
    rc = 0;
out:
    free(text);
    json_decref(spec);
    json_decref(status);
    store_schedule_dispose(&sc);
    store_close(st);
    backup_cli_dispose(&o);
    return rc;
}

static int schedule_pause_cmd(int argc, char **argv)
{
    return schedule_pause_set(argc, argv, 1);
}

static int schedule_unpause_cmd(int argc, char **argv)
{
    return schedule_pause_set(argc, argv, 0);
}

static int schedule_delete_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct store_schedule sc;
    store *st = NULL;
    int rc, done;

    rc = schedule_cli_one(&o, argc, argv, "NAME [--data DIR]", &st, &sc, &done);
    if (done)
        goto out;
    if (store_schedule_delete(st, sc.name) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("schedule %s deleted (its backups stay until their ttl)\n", sc.name);
    rc = 0;
out:
    store_schedule_dispose(&sc);
    store_close(st);
    backup_cli_dispose(&o);
    return rc;
}

static const struct cli_sub schedule_subs[] = {
    {"create", SCHEDULE_CREATE_USAGE,
     "add a schedule: edgecd serve takes a backup named NAME-YYYYMMDDHHMMSS (UTC) at each firing, "
     "then keeps the newest --keep of them and deletes expired backups",
     schedule_create_cmd},
    {"list", "[--data DIR] [-o json]", "list schedules with their last backup and next run",
     schedule_list_cmd},
    {"describe", "NAME [--data DIR] [-o json]",
     "show a schedule's cron, template, retention and status", schedule_describe_cmd},
    {"pause", "NAME [--data DIR]", "stop a schedule's firings", schedule_pause_cmd},
    {"unpause", "NAME [--data DIR]",
     "resume a schedule (one catch-up backup if a firing was missed while paused)",
     schedule_unpause_cmd},
    {"delete", "NAME [--data DIR]", "delete a schedule (not its backups)", schedule_delete_cmd},
};

static int cmd_schedule_run(int argc, char **argv)
{
    return cli_dispatch(&cli_cmd_schedule, schedule_subs,
                        sizeof(schedule_subs) / sizeof(schedule_subs[0]), argc, argv);
}

const struct cli_cmd cli_cmd_schedule = {
    "schedule",
    "create NAME --schedule CRON [options] | list | describe NAME | pause NAME | unpause NAME | "
    "delete NAME",
    "Backup schedules (Velero's Schedule) in the data directory's store, run by edgecd serve: "
    "cron or @daily, the backup create filters, --keep N, --ttl, --location.",
    cmd_schedule_run,
};
