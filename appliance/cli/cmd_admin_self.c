/*
 * `edgecd admin backup-self` and `edgecd admin restore-self`: the
 * appliance's own backup taken now, and brought back on a fresh node
 * (backup/self.h). backup-self reads the same config keys as serve's
 * schedule, so what it writes is what the schedule writes; it may run
 * while serve runs, since the store's snapshot is SQLite's own consistent
 * copy and the location's lock keeps two runs apart.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/download.h"
#include "backup/location.h"
#include "backup/self.h"
#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cmd_backup.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"
#include "model/config.h"
#include "storage/store.h"

#ifndef EDGECD_VERSION
#define EDGECD_VERSION "0.0.0"
#endif

int admin_backup_self(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"location", required_argument, NULL, 'l'},
                                             {"second-location", required_argument, NULL, 's'},
                                             {"passphrase-file", required_argument, NULL, 'p'},
                                             {"key-file", required_argument, NULL, 'k'},
                                             {"keep", required_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = NULL, *config_path = NULL, *location = NULL, *second = NULL, *pass = NULL,
               *keyfile = NULL, *keep_arg = NULL;
    struct config cfg;
    struct crypt_key key;
    struct self_options o = {0};
    store *st = NULL;
    json_t *rec = NULL;
    char *db = NULL, *loc_buf = NULL, *second_buf = NULL;
    long keep = 0;
    int c, rc = 1, usage = 0;

    memset(&cfg, 0, sizeof(cfg));
    memset(&key, 0, sizeof(key));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            location = optarg;
            break;
        case 's':
            second = optarg;
            break;
        case 'p':
            pass = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'n':
            keep_arg = optarg;
            break;
        default:
            usage = c == 'h' ? 1 : 2;
        }
    }
    if (usage || !data || !config_path || optind != argc) {
        fprintf(usage == 1 ? stdout : stderr, "usage: edgecd admin backup-self %s\n",
                ADMIN_BACKUP_SELF_USAGE);
        return usage == 1 ? 0 : 2;
    }
    if (config_load(&cfg, config_path) < 0)
        goto fail;
    if (keep_arg && str_to_long(keep_arg, 0, 1000, "--keep", &keep) < 0)
        goto fail;
    if (!pass && !keyfile) {
        pass = cfg.self_backup_passphrase_file;
        keyfile = cfg.self_backup_key_file;
    }
    if (self_key_load(&key, pass, keyfile, data) < 0) {
        err_prefix(ERR_INVALID, "recovery secret (--passphrase-file, --key-file, or the config's "
                                "selfBackupPassphraseFile/selfBackupKeyFile)");
        goto fail;
    }
    if (!location)
        location = cfg.self_backup_location[0] ? cfg.self_backup_location : NULL;
    if (!second)
        second = cfg.self_backup_second_location[0] ? cfg.self_backup_second_location : NULL;
    /* Folders as they are; S3 names and URLs through the site config. */
    if (location && (location_is_s3(location) || !strchr(location, '/')) &&
        !(location = loc_buf = backup_cli_resolve(config_path, data, location)))
        goto fail;
    if (!location)
        location = loc_buf = xasprintf("%s/backups/self", data);
    if (second && (location_is_s3(second) || !strchr(second, '/')) &&
        !(second = second_buf = backup_cli_resolve(config_path, data, second)))
        goto fail;
    db = xasprintf("%s/state.db", data);
    if (store_open(&st, db) < 0)
        goto fail;
    o.data_dir = data;
    o.config_path = config_path;
    o.settings_file = cfg.settings_file;
    o.secrets_file = cfg.secrets_file;
    o.location = location;
    o.second_location = second;
    o.key = &key;
    o.keep = keep_arg ? (int)keep : (int)cfg.self_backup_keep;
    o.edgecd_version = EDGECD_VERSION;
    if (self_backup(st, &o, &rec) < 0)
        goto fail;
    printf("self-backup %s written to %s/%s (%lld bytes, sha256 %s)\n",
           doc_get_str(rec, "metadata.name"), location, doc_get_str(rec, "metadata.name"),
           (long long)json_integer_value(
               json_object_get(json_object_get(json_object_get(rec, "status"), "archive"), "size")),
           doc_get_str(rec, "status.archive.sha256"));
    if (o.second_location && o.second_location[0])
        printf("copied to %s/%s\n", o.second_location, doc_get_str(rec, "metadata.name"));
    rc = 0;
    goto out;
fail:
    rc = cli_fail();
out:
    json_decref(rec);
    store_close(st);
    crypt_key_dispose(&key);
    config_dispose(&cfg);
    free(db);
    free(loc_buf);
    free(second_buf);
    location_reset();
    return rc;
}

int admin_restore_self(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"passphrase-file", required_argument, NULL, 'p'},
                                             {"key-file", required_argument, NULL, 'k'},
                                             {"config-out", required_argument, NULL, 'o'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"location", required_argument, NULL, 'l'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct self_restore_options o = {0};
    const char *pass = NULL, *keyfile = NULL, *from = NULL, *config_path = NULL;
    struct crypt_key key;
    json_t *report = NULL;
    char *resolved = NULL, *fetched = NULL;
    int c, rc = 1, usage = 0;

    memset(&key, 0, sizeof(key));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.data_dir = optarg;
            break;
        case 'p':
            pass = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'o':
            o.config_out = optarg;
            break;
        case 'f':
            o.force = 1;
            break;
        case 'l':
            from = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        default:
            usage = c == 'h' ? 1 : 2;
        }
    }
    if (usage || !o.data_dir || optind != argc - 1 || (!pass && !keyfile)) {
        fprintf(usage == 1 ? stdout : stderr, "usage: edgecd admin restore-self %s\n",
                ADMIN_RESTORE_SELF_USAGE);
        return usage == 1 ? 0 : 2;
    }
    o.archive = argv[optind];
    o.key = &key;
    if (self_key_load(&key, pass, keyfile, NULL) < 0) {
        rc = cli_fail();
        goto out;
    }
    if (from) {
        /* ARCHIVE names a backup in a location (a folder, or S3 through
         * the site config): fetched and checked beside the data directory
         * first, since the data directory must be empty. */
        struct backup_download_options d;
        char *parent = path_dirname(o.data_dir);
        fetched = xasprintf("%s/.edgecd-restore-self-%s.tmp", parent, argv[optind]);
        free(parent);
        memset(&d, 0, sizeof(d));
        d.name = argv[optind];
        d.output = fetched;
        d.key = &key;
        d.force = 1;
        if (!(resolved = from[0] == '/' ? xstrdup(from)
                                        : backup_cli_resolve(config_path, o.data_dir, from)) ||
            (d.location = resolved, backup_download(&d, NULL)) < 0) {
            rc = cli_fail();
            goto out;
        }
        o.archive = fetched;
    }
    if (self_restore(&o, &report) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("restored self-backup %s (taken %s) into %s\n", doc_get_str(report, "backup"),
           doc_get_str(report, "taken"), o.data_dir);
    printf("  store:  %s\n", doc_get_str(report, "store"));
    printf("  keys:   %zu file(s) in %s/keys\n", json_array_size(json_object_get(report, "keys")),
           o.data_dir);
    if (doc_get_str(report, "config"))
        printf("  config: %s%s%s\n", doc_get_str(report, "config"),
               doc_get_str(report, "configRewritten") ? " (" : "",
               doc_get_str(report, "configRewritten") ? "settingsFile/secretsFile rewritten to "
                                                        "the restored files)"
                                                      : "");
    printf("Git mirrors are fetched again on the first pass; start: edgecd serve --data %s "
           "--config %s\n",
           o.data_dir, doc_get_str(report, "config") ? doc_get_str(report, "config") : "FILE");
    rc = 0;
out:
    if (fetched)
        unlink(fetched);
    free(fetched);
    free(resolved);
    json_decref(report);
    crypt_key_dispose(&key);
    location_reset();
    return rc;
}
