/*
 * The `edgecd admin` subcommands that live in files of their own (the
 * table is in cmd_admin.c). Each takes argv with argv[0] the subcommand's
 * name and returns the exit code.
 */
#ifndef EDGECD_CLI_ADMIN_H
#define EDGECD_CLI_ADMIN_H

int admin_backup_self(int argc, char **argv);
int admin_restore_self(int argc, char **argv);
int admin_export(int argc, char **argv);
int admin_import(int argc, char **argv);

#define ADMIN_BACKUP_SELF_USAGE                                                                    \
    "--data DIR --config FILE [--location DIR|NAME|s3://BUCKET/PREFIX] [--second-location "        \
    "DIR|NAME|s3://...] [--passphrase-file F | --key-file F] [--keep N]"
#define ADMIN_RESTORE_SELF_USAGE                                                                   \
    "(ARCHIVE | BACKUP --location DIR|NAME|s3://BUCKET/PREFIX [--config SITE]) --data DIR "        \
    "(--passphrase-file F | --key-file F) [--config-out FILE] [--force]"
#define ADMIN_EXPORT_USAGE "[--data DIR] [--config FILE]"
#define ADMIN_IMPORT_USAGE "FILE [--data DIR] [--dry-run]"

#endif
