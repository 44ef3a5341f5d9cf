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
#include "storage/store.h"

#define BACKUP_DEFAULT_DATA "/var/lib/edgecd"

/* The parsed flags; strings point into argv. */
struct backup_cli {
    const char *data, *location, *key_file, *passphrase_file, *format, *output, *file;
    const char *config, *cluster, *kubeconfig, *context;
    const char *schedule, *keep; /* `schedule create` only */
    int decrypt, force;          /* `backup download` only */
    int details;
    json_t *spec;
    const char *location_arg; /* --location as given; NULL: the default */
    char *location_buf;
    const char *records; /* where restore records go: the location, or for
                            an S3 location DATA/backups */
    char *records_buf;
};

/* The flags both commands take (where backups live, the data directory,
 * the key, the cluster): their getopt values, their table rows, and
 * backup_cli_shared_opt, which stores them. */
enum {
    BACKUP_OPT_LOCATION = 1000,
    BACKUP_OPT_DATA,
    BACKUP_OPT_FORMAT,
    BACKUP_OPT_KEY_FILE,
    BACKUP_OPT_PASS_FILE,
    BACKUP_OPT_CONFIG,
    BACKUP_OPT_CLUSTER,
    BACKUP_OPT_KUBECONFIG,
    BACKUP_OPT_CONTEXT,
};
#define BACKUP_CLI_SHARED_OPTIONS                                                                  \
    {"location", required_argument, NULL, BACKUP_OPT_LOCATION},                                    \
        {"data", required_argument, NULL, BACKUP_OPT_DATA},                                        \
        {"format", required_argument, NULL, BACKUP_OPT_FORMAT},                                    \
        {"key-file", required_argument, NULL, BACKUP_OPT_KEY_FILE},                                \
        {"passphrase-file", required_argument, NULL, BACKUP_OPT_PASS_FILE},                        \
        {"config", required_argument, NULL, BACKUP_OPT_CONFIG},                                    \
        {"cluster", required_argument, NULL, BACKUP_OPT_CLUSTER},                                  \
        {"kubeconfig", required_argument, NULL, BACKUP_OPT_KUBECONFIG},                            \
    {                                                                                              \
        "context", required_argument, NULL, BACKUP_OPT_CONTEXT                                     \
    }

/* Parse the flags of `edgecd CMD SUB` (cmd "backup" or "schedule"; only
 * "schedule" takes --schedule and --keep) into o, settling the location;
 * the positional arguments are argv[optind..]. 0, or the exit code (2
 * usage, 0 help, 1 bad value) with *done set. o is the caller's
 * (backup_cli_dispose, in every case). */
int backup_cli_parse(struct backup_cli *o, const char *cmd, int argc, char **argv,
                     const char *usage, int *done);

/* Free what backup_cli_parse made. */
void backup_cli_dispose(struct backup_cli *o);

/* 1 if getopt's c is one of the shared flags (arg stored into o), else 0. */
int backup_cli_shared_opt(struct backup_cli *o, int c, const char *arg);

/* Settle o->location: the default DATA/backups; "s3://BUCKET[/PREFIX]"
 * or a backupLocations entry's NAME, registered with its endpoint and
 * credentials from the site config (location_add_s3); anything else a
 * folder. Sets o->records. ERR_INVALID for an S3 location the site config
 * does not describe. */
int backup_cli_location(struct backup_cli *o);

/* A location as a site config may name it (an absolute folder, a
 * backupLocations NAME, s3://BUCKET[/PREFIX]) settled as
 * backup_cli_location does, the S3 ones registered: a new string, or NULL
 * with err_last (ERR_INVALID for a bare word that names no entry, or an
 * S3 location the config does not describe). Not thread-safe (it
 * registers): serve calls it with backup_serial_lock held. */
char *backup_cli_resolve(const char *config, const char *data, const char *location);

/* The data directory's tmp/ (made 0700 when missing), where backups,
 * restores, checks and downloads keep what would grow with the number
 * of objects (backup/spill.h): a new string, or NULL when data is not a
 * folder (or tmp/ cannot be made there), and then they keep it in
 * memory. */
char *backup_cli_tmpdir(const char *data);

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

/* The data directory's store, if it has one (*out, also returned; NULL
 * when there is none or it cannot be opened: progress is then not
 * recorded). The caller closes it. */
store *backup_cli_store(const struct backup_cli *o, store **out);

/* The store's row of a backup or restore (kind "Backup" or "Restore") as a
 * record-like object with status.phase and status.progress (Velero's
 * counters): a new reference, or NULL when the store has none. A row
 * InProgress whose process is gone reads as Failed. */
json_t *backup_cli_run_record(const struct backup_cli *o, const char *kind, const char *name);

/* A restore's hold on the apps whose objects it writes (restore_options'
 * hold): automated sync paused in the store while it runs. */
struct restore_hold_ctx {
    store *st;
    const char *name; /* the restore's */
};
int restore_cli_hold(void *ctx, const json_t *labels, int on);

/* Print v as indented JSON on stdout. */
void backup_cli_print_json(const json_t *v);

#endif
