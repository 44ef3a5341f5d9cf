/*
 * `edgecd backup create|list|describe|delete|verify`: cluster backups in a
 * folder location, with Velero's flag names. The commands work on the
 * location directly, without the server, so a backup can be taken or
 * checked on a node whose edgecd is stopped, and a location on a USB stick
 * can be read anywhere.
 *
 * The cluster comes from the site config (--config, default
 * $EDGECD_CONFIG or /etc/edgecd/site.yaml; --cluster picks one of its
 * clusters when it has several) or straight from a kubeconfig
 * (--kubeconfig, --context). Archives are encrypted unless --format
 * velero: with --key-file or --passphrase-file, else with the data
 * directory's keys/backup.key, made on first use.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backup/archive.h"
#include "backup/backup.h"
#include "backup/crypt.h"
#include "backup/download.h"
#include "backup/filter.h"
#include "backup/location.h"
#include "backup/self.h"
#include "backup/track.h"
#include "cli/cli.h"
#include "cli/cmd_backup.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "model/config.h"
#include "storage/store.h"

#ifndef EDGECD_VERSION
#define EDGECD_VERSION "0.0.0"
#endif

#define BACKUP_DEFAULT_CONFIG "/etc/edgecd/site.yaml"
#define BACKUP_KEY_FILE "keys/backup.key"

enum {
    OPT_INC_NS = 256,
    OPT_EXC_NS,
    OPT_INC_RES,
    OPT_EXC_RES,
    OPT_INC_CLUSTER,
    OPT_SELECTOR,
    OPT_OR_SELECTOR,
    OPT_TTL,
    OPT_FILE,
    OPT_DETAILS,
    OPT_SCHEDULE,
    OPT_KEEP,
    OPT_DECRYPT,
    OPT_FORCE,
};

static const struct option backup_longopts[] = {
    {"include-namespaces", required_argument, NULL, OPT_INC_NS},
    {"exclude-namespaces", required_argument, NULL, OPT_EXC_NS},
    {"include-resources", required_argument, NULL, OPT_INC_RES},
    {"exclude-resources", required_argument, NULL, OPT_EXC_RES},
    {"include-cluster-resources", optional_argument, NULL, OPT_INC_CLUSTER},
    {"selector", required_argument, NULL, OPT_SELECTOR},
    {"or-selector", required_argument, NULL, OPT_OR_SELECTOR},
    {"ttl", required_argument, NULL, OPT_TTL},
    BACKUP_CLI_SHARED_OPTIONS,
    {"file", required_argument, NULL, OPT_FILE},
    {"details", no_argument, NULL, OPT_DETAILS},
    {"schedule", required_argument, NULL, OPT_SCHEDULE},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"decrypt", no_argument, NULL, OPT_DECRYPT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int backup_cli_shared_opt(struct backup_cli *o, int c, const char *arg)
{
    const char **field;
    switch (c) {
    case BACKUP_OPT_LOCATION:
        field = &o->location;
        break;
    case BACKUP_OPT_DATA:
        field = &o->data;
        break;
    case BACKUP_OPT_FORMAT:
        field = &o->format;
        break;
    case BACKUP_OPT_KEY_FILE:
        field = &o->key_file;
        break;
    case BACKUP_OPT_PASS_FILE:
        field = &o->passphrase_file;
        break;
    case BACKUP_OPT_CONFIG:
        field = &o->config;
        break;
    case BACKUP_OPT_CLUSTER:
        field = &o->cluster;
        break;
    case BACKUP_OPT_KUBECONFIG:
        field = &o->kubeconfig;
        break;
    case BACKUP_OPT_CONTEXT:
        field = &o->context;
        break;
    default:
        return 0;
    }
    *field = arg;
    return 1;
}

/* "a,b" appended to spec[field]. */
static void backup_cli_list(json_t *spec, const char *field, const char *value)
{
    json_t *a = json_object_get(spec, field);
    const char *p = value;
    if (!a) {
        a = json_array();
        json_object_set_new(spec, field, a);
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        p += n + (comma ? 1 : 0);
    }
}

/* --or-selector "a=b or c=d": Velero splits on " or ". */
static int backup_cli_or(json_t *spec, const char *value)
{
    json_t *a = json_array(), *sel;
    const char *p = value;
    int rc = 0;
    for (;;) {
        const char * or = strstr(p, " or ");
        char *one = or ? xstrndup(p, (size_t)(or -p)) : xstrdup(p);
        rc = filter_selector_parse(one, &sel);
        free(one);
        if (rc < 0) {
            json_decref(a);
            return rc;
        }
        json_array_append_new(a, sel);
        if (! or)
            break;
        p = or +4;
    }
    json_object_set_new(spec, "orLabelSelectors", a);
    return 0;
}

int backup_cli_parse(struct backup_cli *o, const char *cmd, int argc, char **argv,
                     const char *usage, int *done)
{
    int c;
    *done = 0;
    memset(o, 0, sizeof(*o));
    o->spec = json_object();
    o->data = getenv("EDGECD_DATA") && getenv("EDGECD_DATA")[0] ? getenv("EDGECD_DATA")
                                                                : BACKUP_DEFAULT_DATA;
    o->output = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", backup_longopts, NULL)) != -1) {
        json_t *sel;
        switch (c) {
        case OPT_INC_NS:
            backup_cli_list(o->spec, "includedNamespaces", optarg);
            break;
        case OPT_EXC_NS:
            backup_cli_list(o->spec, "excludedNamespaces", optarg);
            break;
        case OPT_INC_RES:
            backup_cli_list(o->spec, "includedResources", optarg);
            break;
        case OPT_EXC_RES:
            backup_cli_list(o->spec, "excludedResources", optarg);
            break;
        case OPT_INC_CLUSTER:
            if (!optarg || !strcmp(optarg, "true")) {
                json_object_set_new(o->spec, "includeClusterResources", json_true());
            } else if (!strcmp(optarg, "false")) {
                json_object_set_new(o->spec, "includeClusterResources", json_false());
            } else {
                fprintf(stderr, "edgecd: --include-cluster-resources: true or false\n");
                *done = 1;
                return 2;
            }
            break;
        case OPT_SELECTOR:
            if (filter_selector_parse(optarg, &sel) < 0) {
                *done = 1;
                return cli_fail();
            }
            json_object_set_new(o->spec, "labelSelector", sel);
            break;
        case OPT_OR_SELECTOR:
            if (backup_cli_or(o->spec, optarg) < 0) {
                *done = 1;
                return cli_fail();
            }
            break;
        case OPT_TTL:
            json_object_set_new(o->spec, "ttl", json_string(optarg));
            break;
        case OPT_FILE:
            o->file = optarg;
            break;
        case OPT_DETAILS:
            o->details = 1;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_DECRYPT:
        case OPT_FORCE:
            if (!strcmp(argv[0], "download")) {
                *(c == OPT_DECRYPT ? &o->decrypt : &o->force) = 1;
                break;
            }
            fprintf(stderr, "edgecd: --%s is a flag of edgecd backup download\n",
                    c == OPT_DECRYPT ? "decrypt" : "force");
            *done = 1;
            return 2;
        case OPT_SCHEDULE:
        case OPT_KEEP:
            if (!strcmp(cmd, "schedule")) {
                *(c == OPT_SCHEDULE ? &o->schedule : &o->keep) = optarg;
                break;
            }
            fprintf(stderr, "edgecd: --%s is a flag of edgecd schedule create\n",
                    c == OPT_SCHEDULE ? "schedule" : "keep");
            *done = 1;
            return 2;
        default:
            if (backup_cli_shared_opt(o, c, optarg))
                break;
            *done = 1;
            fprintf(c == 'h' ? stdout : stderr, "usage: edgecd %s %s %s\n", cmd, argv[0], usage);
            return c == 'h' ? 0 : 2;
        }
    }
    if (o->format && strcmp(o->format, "velero") != 0 && strcmp(o->format, "edgecd") != 0) {
        fprintf(stderr, "edgecd: --format: velero or edgecd\n");
        *done = 1;
        return 2;
    }
    if (o->key_file && o->passphrase_file) {
        fprintf(stderr, "edgecd: --key-file and --passphrase-file exclude each other\n");
        *done = 1;
        return 2;
    }
    if (backup_cli_location(o) < 0) {
        *done = 1;
        return cli_fail();
    }
    return 0;
}

static const char *backup_cli_config_path(const struct backup_cli *o)
{
    return o->config                                               ? o->config
           : getenv("EDGECD_CONFIG") && getenv("EDGECD_CONFIG")[0] ? getenv("EDGECD_CONFIG")
                                                                   : BACKUP_DEFAULT_CONFIG;
}

/* The backupLocations entry for a bare NAME, or for s3://BUCKET[/PREFIX]
 * (the first entry with that bucket, its prefix replaced): parsed into
 * *s3. 1 found, 0 not, negative on a bad entry or config. */
static int backup_cli_find_s3(const struct backup_cli *o, const char *loc, struct s3_config *s3)
{
    struct config cfg;
    const char *path = backup_cli_config_path(o), *bucket = NULL, *prefix = "";
    char *base = NULL, *want = NULL;
    json_t *e;
    size_t i;
    int rc, found = 0;

    if (location_is_s3(loc)) {
        const char *slash = strchr(loc + 5, '/');
        want = slash ? xstrndup(loc + 5, (size_t)(slash - loc - 5)) : xstrdup(loc + 5);
        bucket = want;
        prefix = slash ? slash + 1 : "";
    }
    if ((rc = config_load(&cfg, path)) < 0) {
        config_dispose(&cfg);
        free(want);
        if (!bucket) {
            err_clear();
            return 0;
        }
        return err_prefix(rc, "backup location %s: the site config", loc);
    }
    base = path_dirname(path);
    json_array_foreach(cfg.backup_locations, i, e)
    {
        const char *b = doc_get_str(e, "s3.bucket");
        if (bucket ? !b || strcmp(b, bucket) != 0
                   : !doc_get_str(e, "name") || strcmp(doc_get_str(e, "name"), loc) != 0)
            continue;
        {
            char *where = xasprintf("%s: backupLocations[%zu]", path, i);
            rc = s3_config_parse(s3, e, base, where);
            free(where);
        }
        if (rc < 0)
            break;
        if (bucket) {
            free(s3->prefix);
            s3->prefix = xstrdup(prefix);
            for (size_t n = strlen(s3->prefix); n > 0 && s3->prefix[n - 1] == '/'; n--)
                s3->prefix[n - 1] = '\0';
        }
        found = 1;
        break;
    }
    if (rc == 0 && !found && bucket)
        rc = err_set(ERR_INVALID,
                     "backup location %s: no backupLocations entry of %s has bucket %s (its "
                     "endpoint and credentials come from there)",
                     loc, path, bucket);
    config_dispose(&cfg);
    free(base);
    free(want);
    return rc < 0 ? rc : found;
}

int backup_cli_location(struct backup_cli *o)
{
    struct s3_config s3;
    int rc;

    memset(&s3, 0, sizeof(s3));
    o->location_arg = o->location;
    o->records = o->location;
    if (!o->location) {
        o->location = o->records = o->location_buf = xasprintf("%s/backups", o->data);
        return 0;
    }
    /* A bare word may name a backupLocations entry; s3:// must. */
    if (!location_is_s3(o->location) && strchr(o->location, '/'))
        return 0;
    rc = backup_cli_find_s3(o, o->location, &s3);
    if (rc <= 0) {
        s3_config_dispose(&s3);
        return rc;
    }
    o->location = o->location_buf = s3_config_url(&s3);
    o->records = o->records_buf = xasprintf("%s/backups", o->data);
    location_add_s3(&s3);
    return 0;
}

char *backup_cli_resolve(const char *config, const char *data, const char *location)
{
    struct backup_cli o;
    char *out = NULL;

    memset(&o, 0, sizeof(o));
    o.data = data;
    o.config = config;
    o.location = location;
    if (backup_cli_location(&o) == 0) {
        if (o.location[0] == '/' || location_is_s3(o.location))
            out = xstrdup(o.location);
        else
            err_set(ERR_INVALID,
                    "backup location %s: not a folder path, and no backupLocations entry of %s "
                    "has that name",
                    location, config ? config : "the site config");
    }
    /* Not backup_cli_location_dispose: that would forget every S3
     * location registered so far, which other threads may use. */
    free(o.location_buf);
    free(o.records_buf);
    return out;
}

char *backup_cli_tmpdir(const char *data)
{
    struct stat st;
    char *dir;
    if (!data || stat(data, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    dir = xasprintf("%s/tmp", data);
    if (fs_mkdir_p(dir, 0700) < 0) {
        err_clear();
        free(dir);
        return NULL;
    }
    return dir;
}

void backup_cli_location_dispose(struct backup_cli *o)
{
    free(o->location_buf);
    free(o->records_buf);
    o->location_buf = o->records_buf = NULL;
    location_reset();
}

void backup_cli_dispose(struct backup_cli *o)
{
    json_decref(o->spec);
    backup_cli_location_dispose(o);
}

static int backup_cli_plain(const struct backup_cli *o)
{
    return o->format && !strcmp(o->format, "velero");
}

int backup_cli_key(const struct backup_cli *o, int create, struct crypt_key *key, int *have)
{
    char *path;
    int rc = 0;
    *have = 0;
    memset(key, 0, sizeof(*key));
    if (o->key_file) {
        rc = crypt_key_load_file(key, o->key_file);
    } else if (o->passphrase_file) {
        rc = crypt_key_load_passphrase(key, o->passphrase_file);
    } else {
        path = xasprintf("%s/%s", o->data, BACKUP_KEY_FILE);
        if (!fs_exists(path)) {
            if (!create) {
                free(path);
                return 0;
            }
            char *dir = xasprintf("%s/keys", o->data);
            rc = fs_mkdir_p(dir, 0700);
            free(dir);
            if (rc == 0 && (rc = crypt_key_generate(path)) == 0)
                fprintf(stderr,
                        "edgecd: made the backup key %s: keep a copy away from this node "
                        "(without it these backups cannot be read)\n",
                        path);
        }
        if (rc == 0)
            rc = crypt_key_load_file(key, path);
        free(path);
    }
    if (rc == 0)
        *have = 1;
    return rc;
}

/* The connection of o->cluster when it was added through the API (the
 * data directory's store, its kubeconfig sealed with the data
 * directory's key): 0, ERR_NOTFOUND (err_last cleared) when the store has
 * no such cluster, or the error opening it. */
static int backup_cli_stored_cluster(const struct backup_cli *o, struct kubeconfig *kc)
{
    struct store_cluster *v = NULL;
    store *st = NULL;
    size_t n = 0, i;
    int rc = ERR_NOTFOUND;

    if (!backup_cli_store(o, &st))
        return ERR_NOTFOUND;
    if (store_cluster_list(st, &v, &n) < 0) {
        err_clear();
        n = 0;
    }
    for (i = 0; i < n; i++)
        if (!strcmp(v[i].name, o->cluster))
            break;
    if (i < n && (rc = kubeconfig_open_sealed(kc, o->data, v[i].name, v[i].kubeconfig_sealed,
                                              v[i].context)) < 0)
        err_prefix(rc, "cluster %s", v[i].name);
    store_clusters_free(v, n);
    store_close(st);
    return rc;
}

int backup_cli_client(const struct backup_cli *o, kube_client **out, char **out_name,
                      char **out_server)
{
    struct kubeconfig kc;
    struct config cfg;
    const struct config_cluster *cc = NULL;
    const char *cfg_path = o->config ? o->config
                           : getenv("EDGECD_CONFIG") && getenv("EDGECD_CONFIG")[0]
                               ? getenv("EDGECD_CONFIG")
                               : BACKUP_DEFAULT_CONFIG;
    int rc;

    *out = NULL;
    *out_name = *out_server = NULL;
    memset(&kc, 0, sizeof(kc));
    memset(&cfg, 0, sizeof(cfg));
    if (o->kubeconfig) {
        if ((rc = kubeconfig_load(&kc, o->kubeconfig, o->context)) < 0)
            goto out;
        *out_name = xstrdup(kc.context ? kc.context : "kubeconfig");
    } else {
        if ((rc = config_load(&cfg, cfg_path)) < 0)
            goto out;
        for (size_t i = 0; i < cfg.n_clusters; i++)
            if (o->cluster ? !strcmp(cfg.clusters[i].name, o->cluster)
                           : (cfg.n_clusters == 1 || !strcmp(cfg.clusters[i].name, "in-cluster")))
                cc = &cfg.clusters[i];
        if (!cc && o->cluster && (rc = backup_cli_stored_cluster(o, &kc)) != ERR_NOTFOUND) {
            if (rc < 0)
                goto out;
            *out_name = xstrdup(o->cluster);
        } else if (!cc) {
            rc = err_set(ERR_NOTFOUND, "%s: %s", cfg_path,
                         o->cluster ? "no cluster of that name (in it or added through the API)"
                                    : "several clusters: pick one with --cluster");
            goto out;
        } else {
            rc = cc->kubeconfig ? kubeconfig_load(&kc, cc->kubeconfig, cc->context)
                                : kubeconfig_in_cluster(&kc, NULL);
            if (rc < 0) {
                err_prefix(rc, "cluster %s", cc->name);
                goto out;
            }
            *out_name = xstrdup(cc->name);
        }
    }
    *out_server = xstrdup(kc.server);
    rc = kube_client_new(out, &kc);
out:
    if (rc < 0) {
        free(*out_name);
        free(*out_server);
        *out_name = *out_server = NULL;
    }
    kubeconfig_dispose(&kc);
    config_dispose(&cfg);
    return rc;
}

static void backup_cli_size(char *out, size_t n, json_int_t bytes)
{
    if (bytes >= 10 * 1024 * 1024)
        snprintf(out, n, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    else if (bytes >= 10 * 1024)
        snprintf(out, n, "%.1f KiB", (double)bytes / 1024.0);
    else
        snprintf(out, n, "%lld B", (long long)bytes);
}

void backup_cli_print_json(const json_t *v)
{
    struct buf b = BUF_INIT;
    doc_emit_json(&b, v, 1);
    printf("%s\n", buf_cstr(&b));
    buf_dispose(&b);
}

/* Completed, PartiallyFailed, or Damaged when the folder is not whole. */
static const char *backup_cli_status(const json_t *rec)
{
    const char *phase = doc_get_str(rec, "status.phase");
    if (json_object_get(rec, "problem"))
        return "Damaged";
    return phase ? phase : "Unknown";
}

#define CREATE_USAGE                                                                               \
    "NAME [--include-namespaces NS,..] [--exclude-namespaces NS,..] [--include-resources R,..] "   \
    "[--exclude-resources R,..] [--include-cluster-resources=true|false] [--selector SEL | "       \
    "--or-selector 'SEL or SEL'] [--ttl 720h] [--location DIR] [--data DIR] [--format velero] "    \
    "[--key-file F | --passphrase-file F] [--config FILE [--cluster NAME] | --kubeconfig F "       \
    "[--context C]]"

store *backup_cli_store(const struct backup_cli *o, store **out)
{
    char *db = xasprintf("%s/state.db", o->data);
    *out = NULL;
    /* Only a node's own store: a data directory without one gets none. */
    if (fs_exists(db) && store_open(out, db) < 0) {
        err_clear();
        *out = NULL;
    }
    free(db);
    return *out;
}

/* The run row of a backup that has no record yet (running, or failed
 * before it wrote one) as a record-like object: a new reference, or NULL
 * (err_last set) when the store has none either. */
json_t *backup_cli_run_record(const struct backup_cli *o, const char *kind, const char *name)
{
    struct store_run r;
    store *st = NULL;
    json_t *rec = NULL;
    int rc;

    if (!backup_cli_store(o, &st))
        return NULL;
    rc = store_run_get(st, kind, name, &r);
    store_close(st);
    if (rc < 0)
        return NULL;
    /* An ended run's record is in its location, the truth for it (a
     * deleted backup is gone, whatever its row says). */
    if (strcmp(r.phase, "InProgress") != 0 && strcmp(r.phase, "Failed") != 0) {
        store_run_dispose(&r);
        err_set(ERR_NOTFOUND, "%s %s: not found", kind, name);
        return NULL;
    }
    /* A row whose process is gone (killed, or the node went down) is not
     * running, whatever it says; `edgecd serve` fixes the row at start. */
    if (!strcmp(r.phase, "InProgress") && !backup_track_alive(r.pid)) {
        free(r.phase);
        free(r.message);
        r.phase = xstrdup("Failed");
        r.message = xstrdup("its process is gone (crash, power loss or kill)");
    }
    rec = json_pack(
        "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s, s:{s:I, s:I}}}", "apiVersion", "edgecd.io/v1alpha1",
        "kind", kind, "metadata", "name", name, "status", "phase", r.phase, "startTimestamp",
        r.started_at, "location", r.location, "progress", "totalItems", (json_int_t)r.total_items,
        strcmp(kind, "Restore") ? "itemsBackedUp" : "itemsRestored", (json_int_t)r.items_done);
    if (r.message[0])
        doc_set_new(rec, "status.failureReason", json_string(r.message));
    if (strcmp(r.phase, "InProgress") != 0)
        doc_set_new(rec, "status.completionTimestamp", json_string(r.updated_at));
    store_run_dispose(&r);
    return rec;
}

static void backup_cli_describe_run(const json_t *rec)
{
    printf("Name:               %s\n", doc_get_str(rec, "metadata.name"));
    printf("Phase:              %s\n", doc_get_str(rec, "status.phase"));
    if (doc_get_str(rec, "status.failureReason"))
        printf("Failure reason:     %s\n", doc_get_str(rec, "status.failureReason"));
    printf("Location:           %s\n", doc_get_str(rec, "status.location"));
    printf("Started:            %s\n", doc_get_str(rec, "status.startTimestamp"));
    if (doc_get_str(rec, "status.completionTimestamp"))
        printf("Ended:              %s\n", doc_get_str(rec, "status.completionTimestamp"));
    printf("Progress:           %lld of %lld items backed up (the total grows as kinds are "
           "listed)\n",
           (long long)json_integer_value(doc_get(rec, "status.progress.itemsBackedUp")),
           (long long)json_integer_value(doc_get(rec, "status.progress.totalItems")));
}

static int backup_create_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct backup_create_options co;
    struct backup_track track;
    struct crypt_key key;
    kube_client *kc = NULL;
    store *st = NULL;
    json_t *rec = NULL;
    char *cname = NULL, *cserver = NULL, *tmpdir = NULL, size[32];
    int rc, done, have_key = 0;

    memset(&key, 0, sizeof(key));
    memset(&track, 0, sizeof(track));
    rc = backup_cli_parse(&o, "backup", argc, argv, CREATE_USAGE, &done);
    if (done)
        goto out;
    if (optind != argc - 1) {
        fprintf(stderr, "usage: edgecd backup create %s\n", CREATE_USAGE);
        rc = 2;
        goto out;
    }
    if (backup_cli_plain(&o) && (o.key_file || o.passphrase_file)) {
        fprintf(stderr, "edgecd: --format velero writes a plain archive: no key or passphrase\n");
        rc = 2;
        goto out;
    }
    if ((!backup_cli_plain(&o) && backup_cli_key(&o, 1, &key, &have_key) < 0) ||
        filter_spec_check(o.spec) < 0 || backup_cli_client(&o, &kc, &cname, &cserver) < 0) {
        rc = cli_fail();
        goto out;
    }
    memset(&co, 0, sizeof(co));
    co.name = argv[optind];
    co.location = o.location;
    co.spec = o.spec;
    co.key = have_key ? &key : NULL;
    co.cluster_name = cname;
    co.cluster_server = cserver;
    co.edgecd_version = EDGECD_VERSION;
    co.progress = backup_track_progress;
    co.progress_ctx = &track;
    co.tmpdir = tmpdir = backup_cli_tmpdir(o.data);
    backup_track_begin(&track, backup_cli_store(&o, &st), "Backup", co.name, o.location);
    rc = backup_create(kc, &co, &rec);
    backup_track_end(&track, rc < 0 ? "Failed" : doc_get_str(rec, "status.phase"),
                     rc < 0 ? err_last() : "");
    if (rc < 0) {
        rc = cli_fail();
        goto out;
    }
    backup_cli_size(size, sizeof(size), json_integer_value(doc_get(rec, "status.archive.size")));
    printf("backup %s %s: %lld items, %s/%s/%s (%s, encryption: %s)\n", co.name,
           doc_get_str(rec, "status.phase"),
           (long long)json_integer_value(doc_get(rec, "status.progress.itemsBackedUp")), o.location,
           co.name, doc_get_str(rec, "status.archive.file"), size,
           doc_get_str(rec, "status.archive.encryption"));
    rc = 0;
    if (json_array_size(doc_get(rec, "status.errors")) > 0) {
        size_t i;
        json_t *e;
        json_array_foreach(doc_get(rec, "status.errors"), i, e)
        {
            fprintf(stderr, "edgecd: backup %s: %s\n", co.name, json_string_value(e));
        }
        rc = 1;
    }
out:
    json_decref(rec);
    kube_client_free(kc);
    store_close(st);
    crypt_key_dispose(&key);
    free(cname);
    free(cserver);
    free(tmpdir);
    backup_cli_dispose(&o);
    return rc;
}

static int backup_list_cmd(int argc, char **argv)
{
    struct backup_cli o;
    json_t *list = NULL, *rec;
    size_t i;
    int rc, done;

    rc = backup_cli_parse(&o, "backup", argc, argv, "[--location DIR] [--data DIR] [-o json]",
                          &done);
    if (done)
        goto out;
    if (optind != argc) {
        fprintf(stderr, "usage: edgecd backup list [--location DIR] [--data DIR] [-o json]\n");
        rc = 2;
        goto out;
    }
    rc = location_list(o.location, &list);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        list = json_array();
    } else if (rc < 0) {
        rc = cli_fail();
        goto out;
    }
    if (!strcmp(o.output, "json")) {
        backup_cli_print_json(list);
        rc = 0;
        goto out;
    }
    printf("%-32s %-16s %-6s %-20s %-20s %-6s %-10s %s\n", "NAME", "STATUS", "ERRORS", "CREATED",
           "EXPIRES", "ITEMS", "SIZE", "FORMAT");
    json_array_foreach(list, i, rec)
    {
        char size[32];
        const char *exp = doc_get_str(rec, "status.expiration");
        char now[21];
        time_rfc3339(now);
        backup_cli_size(size, sizeof(size),
                        json_integer_value(doc_get(rec, "status.archive.size")));
        printf("%-32s %-16s %-6zu %-20s %-20s %-6lld %-10s %s\n", doc_get_str(rec, "metadata.name"),
               backup_cli_status(rec), json_array_size(doc_get(rec, "status.errors")),
               doc_get_str(rec, "status.startTimestamp") ? doc_get_str(rec, "status.startTimestamp")
                                                         : "-",
               exp ? (strcmp(exp, now) < 0 ? "expired" : exp) : "-",
               (long long)json_integer_value(doc_get(rec, "status.progress.itemsBackedUp")), size,
               doc_get_str(rec, "status.archive.format") ? doc_get_str(rec, "status.archive.format")
                                                         : "-");
    }
    rc = 0;
out:
    json_decref(list);
    backup_cli_dispose(&o);
    return rc;
}

static void backup_cli_strings(const char *label, const json_t *a, const char *none)
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

static void backup_cli_describe(const json_t *rec, const char *location)
{
    const json_t *spec = json_object_get(rec, "spec"), *icr, *v;
    const char *key;
    char *sel = NULL, size[32];
    size_t i;

    printf("Name:               %s\n", doc_get_str(rec, "metadata.name"));
    printf("Phase:              %s\n", backup_cli_status(rec));
    if (json_object_get(rec, "problem"))
        printf("Problem:            %s\n", doc_get_str(rec, "problem"));
    printf("Location:           %s\n", location);
    backup_cli_size(size, sizeof(size), json_integer_value(doc_get(rec, "status.archive.size")));
    printf("Archive:            %s (%s, %lld entries)\n", doc_get_str(rec, "status.archive.file"),
           size, (long long)json_integer_value(doc_get(rec, "status.archive.entries")));
    printf("Archive SHA-256:    %s\n", doc_get_str(rec, "status.archive.sha256"));
    if (doc_get_str(rec, "kind") && !strcmp(doc_get_str(rec, "kind"), SELF_RECORD_KIND)) {
        /* An appliance self-backup (backup/self.h): no cluster, no spec. */
        printf("Contents:           the appliance (store snapshot, site config, keys); restore "
               "with edgecd admin restore-self\n");
        printf("Encryption:         %s\n", doc_get_str(rec, "status.archive.encryption"));
        printf("Files:\n");
        json_object_foreach((json_t *)doc_get(rec, "status.files"), key, v)
            printf("  %-17s %s\n", key, json_string_value(v));
        printf("Started:            %s\n", doc_get_str(rec, "status.startTimestamp"));
        printf("Completed:          %s\n", doc_get_str(rec, "status.completionTimestamp"));
        printf("edgecd version:     %s\n", doc_get_str(rec, "status.edgecdVersion"));
        return;
    }
    printf("Format:             %s (Velero layout %s)\n", doc_get_str(rec, "status.archive.format"),
           doc_get_str(rec, "status.formatVersion"));
    printf("Encryption:         %s\n", doc_get_str(rec, "status.archive.encryption"));
    printf("Cluster:            %s (%s)\n", doc_get_str(rec, "status.cluster.name"),
           doc_get_str(rec, "status.cluster.server") ? doc_get_str(rec, "status.cluster.server")
                                                     : "?");
    printf("Namespaces:\n");
    backup_cli_strings("  Included:         ", json_object_get(spec, "includedNamespaces"), "*");
    backup_cli_strings("  Excluded:         ", json_object_get(spec, "excludedNamespaces"),
                       "<none>");
    printf("Resources:\n");
    backup_cli_strings("  Included:         ", json_object_get(spec, "includedResources"), "*");
    backup_cli_strings("  Excluded:         ", json_object_get(spec, "excludedResources"),
                       "<none>");
    icr = json_object_get(spec, "includeClusterResources");
    printf("  Cluster-scoped:   %s\n", json_is_true(icr)    ? "included"
                                       : json_is_false(icr) ? "excluded"
                                                            : "auto");
    if (json_is_object(json_object_get(spec, "labelSelector")) &&
        filter_selector_string(json_object_get(spec, "labelSelector"), &sel) == 0)
        printf("Label selector:     %s\n", sel);
    else
        printf("Label selector:     <none>\n");
    free(sel);
    json_array_foreach(json_object_get(spec, "orLabelSelectors"), i, v)
    {
        sel = NULL;
        if (filter_selector_string(v, &sel) == 0)
            printf("Or label selector:  %s\n", sel);
        free(sel);
    }
    err_clear();
    printf("TTL:                %s\n", doc_get_str(spec, "ttl"));
    printf("Started:            %s\n", doc_get_str(rec, "status.startTimestamp"));
    printf("Completed:          %s\n", doc_get_str(rec, "status.completionTimestamp"));
    printf("Expiration:         %s\n", doc_get_str(rec, "status.expiration"));
    printf("edgecd version:     %s\n", doc_get_str(rec, "status.edgecdVersion"));
    printf("Total items:        %lld\n",
           (long long)json_integer_value(doc_get(rec, "status.progress.itemsBackedUp")));
    printf("Resource list:\n");
    json_object_foreach((json_t *)doc_get(rec, "status.counts.resources"), key, v)
    {
        printf("  %-40s %lld\n", key, (long long)json_integer_value(v));
    }
    backup_cli_strings("Errors:             ", doc_get(rec, "status.errors"), "<none>");
    backup_cli_strings("Warnings:           ", doc_get(rec, "status.warnings"), "<none>");
}

static int backup_describe_cmd(int argc, char **argv)
{
    struct backup_cli o;
    json_t *rec = NULL;
    int rc, done;

    rc = backup_cli_parse(&o, "backup", argc, argv, "NAME [--location DIR] [--data DIR] [-o json]",
                          &done);
    if (done)
        goto out;
    if (optind != argc - 1) {
        fprintf(stderr,
                "usage: edgecd backup describe NAME [--location DIR] [--data DIR] [-o json]\n");
        rc = 2;
        goto out;
    }
    if ((rc = location_get(o.location, argv[optind], &rec, NULL)) == ERR_NOTFOUND) {
        /* Not in the location (yet): a run the store knows of. */
        char *msg = xstrdup(err_last());
        json_t *run = backup_cli_run_record(&o, "Backup", argv[optind]);
        if (run) {
            if (!strcmp(o.output, "json"))
                backup_cli_print_json(run);
            else
                backup_cli_describe_run(run);
            json_decref(run);
            free(msg);
            rc = 0;
            goto out;
        }
        err_set(ERR_NOTFOUND, "%s", msg);
        free(msg);
    }
    if (rc < 0) {
        rc = cli_fail();
        goto out;
    }
    if (!strcmp(o.output, "json")) {
        backup_cli_print_json(rec);
    } else {
        char *where = xasprintf("%s/%s", o.location, argv[optind]);
        backup_cli_describe(rec, where);
        free(where);
    }
    rc = 0;
out:
    json_decref(rec);
    backup_cli_dispose(&o);
    return rc;
}

static int backup_delete_cmd(int argc, char **argv)
{
    struct backup_cli o;
    int rc, done;

    rc = backup_cli_parse(&o, "backup", argc, argv, "NAME [--location DIR] [--data DIR]", &done);
    if (done)
        goto out;
    if (optind != argc - 1) {
        fprintf(stderr, "usage: edgecd backup delete NAME [--location DIR] [--data DIR]\n");
        rc = 2;
        goto out;
    }
    if (location_delete(o.location, argv[optind]) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("backup %s deleted from %s\n", argv[optind], o.location);
    rc = 0;
out:
    backup_cli_dispose(&o);
    return rc;
}

#define DOWNLOAD_USAGE                                                                             \
    "NAME --output FILE [--location DIR|NAME|s3://BUCKET/PREFIX] [--data DIR] [--decrypt] "        \
    "[--key-file F | --passphrase-file F] [--force]"

static int backup_download_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct backup_download_options d;
    struct crypt_key key;
    json_t *report = NULL;
    char *tmpdir = NULL;
    int rc, done, have_key = 0;

    memset(&key, 0, sizeof(key));
    rc = backup_cli_parse(&o, "backup", argc, argv, DOWNLOAD_USAGE, &done);
    if (done)
        goto out;
    if (optind != argc - 1 || !o.output[0]) {
        fprintf(stderr, "usage: edgecd backup download %s\n", DOWNLOAD_USAGE);
        rc = 2;
        goto out;
    }
    /* The data directory's key when no flag names one: without --decrypt
     * it only adds the full check, so its absence is not an error. */
    if (backup_cli_key(&o, 0, &key, &have_key) < 0) {
        rc = cli_fail();
        goto out;
    }
    memset(&d, 0, sizeof(d));
    d.location = o.location;
    d.name = argv[optind];
    d.output = o.output;
    d.key = have_key ? &key : NULL;
    d.decrypt = o.decrypt;
    d.force = o.force;
    d.tmpdir = tmpdir = backup_cli_tmpdir(o.data);
    if (backup_download(&d, &report) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("backup %s downloaded to %s (%lld bytes, %s; verified: %s)\n", d.name, d.output,
           (long long)json_integer_value(json_object_get(report, "size")),
           !strcmp(doc_get_str(report, "format"), "velero") ? "plain tar.gz, Velero's format"
                                                            : "encrypted",
           !strcmp(doc_get_str(report, "verified"), "archive")
               ? "every chunk, entry and the manifest"
               : "size and SHA-256 against the record (no key here for a full check)");
    rc = 0;
out:
    json_decref(report);
    crypt_key_dispose(&key);
    free(tmpdir);
    backup_cli_dispose(&o);
    return rc;
}

#define VERIFY_USAGE                                                                               \
    "NAME | --file ARCHIVE [--location DIR] [--data DIR] [--key-file F | --passphrase-file F] "    \
    "[--format velero] [--details]"

static int backup_verify_cmd(int argc, char **argv)
{
    struct backup_cli o;
    struct archive_read_options ro = ARCHIVE_READ_OPTIONS_INIT;
    struct crypt_key key;
    archive_reader *r = NULL;
    struct archive_entry e;
    json_t *rec = NULL;
    const json_t *manifest;
    char *archive = NULL, *tmpdir = NULL;
    size_t objects = 0;
    int rc, done, have_key = 0;

    memset(&key, 0, sizeof(key));
    rc = backup_cli_parse(&o, "backup", argc, argv, VERIFY_USAGE, &done);
    if (done)
        goto out;
    if ((o.file ? optind != argc : optind != argc - 1)) {
        fprintf(stderr, "usage: edgecd backup verify %s\n", VERIFY_USAGE);
        rc = 2;
        goto out;
    }
    if (o.file) {
        archive = xstrdup(o.file);
    } else if (location_get(o.location, argv[optind], &rec, &archive) < 0 || !archive) {
        if (!archive && rec)
            err_set(ERR_INVALID, "backup %s: %s", argv[optind], doc_get_str(rec, "problem"));
        rc = cli_fail();
        goto out;
    }
    if (backup_cli_key(&o, 0, &key, &have_key) < 0) {
        rc = cli_fail();
        goto out;
    }
    ro.key = have_key ? &key : NULL;
    ro.allow_plain = backup_cli_plain(&o);
    ro.tmpdir = tmpdir = backup_cli_tmpdir(o.data);
    /* A self-backup in the location: the appliance layout. */
    ro.appliance = doc_get_str(rec, "kind") && !strcmp(doc_get_str(rec, "kind"), SELF_RECORD_KIND);
    if ((o.file ? archive_reader_open(&r, archive, NULL, &ro)
                : location_open_archive(&r, o.location, archive, NULL, &ro)) < 0) {
        rc = cli_fail();
        goto out;
    }
    while ((rc = archive_reader_next(r, &e)) > 0) {
        if (!e.where.version)
            objects++; /* each object is there twice: count the classic folder */
        if (o.details)
            printf("  %s\n", e.path);
    }
    if (rc < 0) {
        rc = cli_fail();
        goto out;
    }
    manifest = archive_reader_manifest(r);
    printf("%s: verified: %s, %zu entries, %zu %s, phase %s\n", archive,
           archive_reader_encrypted(r) ? "encrypted, every chunk authenticated" : "not encrypted",
           archive_reader_count(r) + 1, objects, ro.appliance ? "appliance files" : "objects",
           doc_get_str(manifest, "phase"));
    rc = 0;
out:
    json_decref(rec);
    archive_reader_close(r);
    free(archive);
    free(tmpdir);
    crypt_key_dispose(&key);
    backup_cli_dispose(&o);
    return rc;
}

static const struct cli_sub backup_subs[] = {
    {"create", CREATE_USAGE,
     "back up the cluster's objects (Velero's filters and layout) into an archive in the location, "
     "encrypted unless --format velero",
     backup_create_cmd},
    {"list", "[--location DIR] [--data DIR] [-o json]",
     "list the backups in the location (status, times, items, size, format)", backup_list_cmd},
    {"describe", "NAME [--location DIR] [--data DIR] [-o json]",
     "show a backup's spec, status, times, counts per resource and archive", backup_describe_cmd},
    {"delete", "NAME [--location DIR] [--data DIR]", "delete a backup from the location",
     backup_delete_cmd},
    {"download", DOWNLOAD_USAGE,
     "copy a backup's archive out of its location (folder or S3) into a local file, checked on "
     "the way (a damaged one leaves no file); --decrypt writes the plain Velero-format tar.gz "
     "(0600)",
     backup_download_cmd},
    {"verify", VERIFY_USAGE,
     "read a whole archive and check every chunk, entry path, entry SHA-256 and the manifest, as a "
     "restore does before it writes anything (--details lists the entries as they pass)",
     backup_verify_cmd},
};

static int cmd_backup_run(int argc, char **argv)
{
    return cli_dispatch(&cli_cmd_backup, backup_subs, sizeof(backup_subs) / sizeof(backup_subs[0]),
                        argc, argv);
}

const struct cli_cmd cli_cmd_backup = {
    "backup",
    "create NAME [options] | list | describe NAME | delete NAME | download NAME --output FILE | "
    "verify NAME",
    "Back up cluster resources to a folder (the data directory's backups/, or any mounted path) or "
    "an S3 bucket of the site config's backupLocations (--location NAME or s3://BUCKET/PREFIX) in "
    "Velero's layout, encrypted by default; list, describe, delete and verify backups.",
    cmd_backup_run,
};
