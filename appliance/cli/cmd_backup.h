/*
 * What `edgecd restore` shares with `edgecd backup` (cmd_backup.c): the
 * flags that pick the data directory, the key and the cluster, read the
 * same way by both so a restore opens what a backup wrote.
 */
#ifndef EDGECD_CLI_CMD_BACKUP_H
#define EDGECD_CLI_CMD_BACKUP_H

#include <jansson.h>

#include "backup/crypt.h"
#include "kube/client.h"

#define BACKUP_DEFAULT_DATA "/var/lib/edgecd"

/* The parsed flags; strings point into argv. */
struct backup_cli {
    const char *data, *location, *key_file, *passphrase_file, *format, *output, *file;
    const char *config, *cluster, *kubeconfig, *context;
    int details;
    json_t *spec;
    char *location_buf;
    const char *records; /* where restore records go: the location, or for
                            an S3 location DATA/backups */
    char *records_buf;
};

/* Settle o->location: the default DATA/backups; "s3://BUCKET[/PREFIX]"
 * or a backupLocations entry's NAME, registered with its endpoint and
 * credentials from the site config (location_add_s3); anything else a
 * folder. Sets o->records. ERR_INVALID for an S3 location the site config
 * does not describe. */
int backup_cli_location(struct backup_cli *o);

/* Free what backup_cli_location made. */
void backup_cli_location_dispose(struct backup_cli *o);

/* The key the flags name; without one, the data directory's backup key
 * (made when create is 1 and there is none). *have 0: no key at all.
 * key is the caller's (crypt_key_dispose). */
int backup_cli_key(const struct backup_cli *o, int create, struct crypt_key *key, int *have);

/* A client for the cluster the flags or the site config name (no request
 * is sent). *out, *out_name and *out_server are the caller's. */
int backup_cli_client(const struct backup_cli *o, kube_client **out, char **out_name,
                      char **out_server);

/* Print v as indented JSON on stdout. */
void backup_cli_print_json(const json_t *v);

#endif
