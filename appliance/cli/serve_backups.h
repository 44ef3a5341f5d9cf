/*
 * The backups `edgecd serve` runs on its own: the schedules of the store
 * (backup/schedule.h), with their backups written through the same code
 * as `edgecd backup create`, and the progress rows of runs a crash left
 * InProgress marked Failed at start.
 */
#ifndef EDGECD_CLI_SERVE_BACKUPS_H
#define EDGECD_CLI_SERVE_BACKUPS_H

#include <jansson.h>

#include "storage/store.h"

struct serve_backups;

/* Start the schedules' thread. config_path and data_dir are copied.
 * EDGECD_SCHEDULE_MINUTE_SECONDS=N (tests only) makes N real seconds
 * pass for one minute of the schedules' clock. */
int serve_backups_start(struct serve_backups **out, store *st, const char *config_path,
                        const char *data_dir);

/* The server's backups action (server_actions.backups): backups,
 * restores and schedules for the REST API; ctx is the struct
 * serve_backups. Backups and restores it creates run one at a time on a
 * thread of their own. Any thread. */
int serve_backups_api(void *ctx, const char *kind, const char *verb, const char *name,
                      const char *location, const json_t *body, json_t **out);

/* Stop (a backup in progress finishes first) and free; NULL is fine. */
void serve_backups_stop(struct serve_backups *b);

#endif
