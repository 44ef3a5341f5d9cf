/*
 * The row of a running backup or restore in the store (store_run_put),
 * with Velero's progress counters, so `backup describe`, `restore
 * describe` and the API can show one before its record exists. The
 * counters reach the store at most every BACKUP_TRACK_INTERVAL_MS (flash
 * wears with every write) and at the end; a process that dies leaves its
 * row InProgress until `edgecd serve` starts and marks it Failed
 * (backup_track_fail_orphans), or a reader sees that its process is gone
 * (backup_track_alive).
 */
#ifndef EDGECD_BACKUP_TRACK_H
#define EDGECD_BACKUP_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

#define BACKUP_TRACK_INTERVAL_MS 2000

struct backup_track {
    store *st; /* NULL: tracking off, every call does nothing */
    struct store_run row;
    int64_t written_ms;
};

/* Start tracking kind ("Backup", "Restore") name in location: the row is
 * written InProgress with zero counters. st may be NULL. A store error is
 * logged, not returned: progress must never fail a backup. */
void backup_track_begin(struct backup_track *t, store *st, const char *kind, const char *name,
                        const char *location);

/* A collect_progress_fn (and restore's): ctx is the struct backup_track. */
void backup_track_progress(void *ctx, size_t total, size_t done);

/* Write the final phase (Completed, PartiallyFailed, Failed) and message
 * ("" or NULL: none), and free the row's strings. */
void backup_track_end(struct backup_track *t, const char *phase, const char *message);

/* 1 if process pid still runs (on this node). */
int backup_track_alive(long long pid);

/* Mark the InProgress rows whose process is gone as Failed ("edgecd
 * stopped while it ran"). Called by `edgecd serve` at start. */
int backup_track_fail_orphans(store *st, int *out_n);

#endif
