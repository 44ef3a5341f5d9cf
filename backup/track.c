/*
 * Progress rows of backups and restores (track.h). The row is the only
 * sign of a backup that has not finished: the location shows nothing
 * until the archive is renamed into place, by design (location.h).
 */
#include "backup/track.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

static void backup_track_write(struct backup_track *t)
{
    if (store_run_put(t->st, &t->row) < 0) {
        log_warn("%s %s: progress not recorded: %s", t->row.kind, t->row.name, err_last());
        err_clear();
    }
    t->written_ms = time_mono_ms();
}

void backup_track_begin(struct backup_track *t, store *st, const char *kind, const char *name,
                        const char *location)
{
    memset(t, 0, sizeof(*t));
    t->st = st;
    if (!st)
        return;
    t->row.kind = xstrdup(kind);
    t->row.name = xstrdup(name);
    t->row.location = xstrdup(location ? location : "");
    t->row.phase = xstrdup("InProgress");
    t->row.message = xstrdup("");
    t->row.pid = (long long)getpid();
    backup_track_write(t);
}

void backup_track_progress(void *ctx, size_t total, size_t done)
{
    struct backup_track *t = ctx;
    if (!t || !t->st)
        return;
    t->row.total_items = (long long)total;
    t->row.items_done = (long long)done;
    /* The first object at once, so a watcher sees it has begun. */
    if (done == 1 || time_mono_ms() - t->written_ms >= BACKUP_TRACK_INTERVAL_MS)
        backup_track_write(t);
}

void backup_track_end(struct backup_track *t, const char *phase, const char *message)
{
    if (!t->st)
        return;
    free(t->row.phase);
    free(t->row.message);
    t->row.phase = xstrdup(phase);
    t->row.message = xstrdup(message ? message : "");
    backup_track_write(t);
    store_run_dispose(&t->row);
    t->st = NULL;
}

int backup_track_alive(long long pid)
{
    if (pid <= 0)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int backup_track_gone(void *ctx, long long pid)
{
    (void)ctx;
    /* Our own pid is in use by us: serve has not started a run yet, so
     * a row naming it is left from an earlier life of the same pid. */
    return pid == (long long)getpid() || !backup_track_alive(pid);
}

int backup_track_fail_orphans(store *st, int *out_n)
{
    return store_run_fail_orphans(st, backup_track_gone, NULL,
                                  "edgecd stopped while it ran (crash, power loss or kill)", out_n);
}
