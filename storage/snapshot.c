/*
 * A consistent copy of the store while it is in use, for self-backups.
 *
 * The copy goes through a connection of its own rather than the store's:
 * the store's lock is held for the whole of every call, so copying through
 * it would stop the engine and the API for as long as the copy takes. The
 * backup is done in one sqlite3_backup_step(-1), which is one read
 * transaction on the source: under WAL that sees the database as of one
 * commit and blocks no writer, whereas copying page by page would restart
 * every time another connection wrote. Busy (a checkpoint, a migration)
 * is retried for a while before giving up.
 */
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "storage/internal.h"
#include "storage/store.h"

#define SNAPSHOT_BUSY_TRIES 50
#define SNAPSHOT_BUSY_SLEEP_US 100000

int store_snapshot(store *s, const char *path)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    int rc = 0, step = SQLITE_OK;

    if (sqlite3_open_v2(s->path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        rc = err_set(ERR_IO, "%s: snapshot: %s", s->path,
                     src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = err_set(ERR_IO, "%s: snapshot: %s", path, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        rc = err_set(ERR_IO, "%s: snapshot: %s", path, sqlite3_errmsg(dst));
        goto out;
    }
    for (int tries = 0; tries < SNAPSHOT_BUSY_TRIES; tries++) {
        step = sqlite3_backup_step(b, -1);
        if (step != SQLITE_BUSY && step != SQLITE_LOCKED)
            break;
        usleep(SNAPSHOT_BUSY_SLEEP_US);
    }
    if (step != SQLITE_DONE) {
        rc = err_set(step == SQLITE_BUSY || step == SQLITE_LOCKED ? ERR_TIMEOUT : ERR_IO,
                     "%s: snapshot into %s: %s", s->path, path, sqlite3_errstr(step));
        goto out;
    }
out:
    if (b && sqlite3_backup_finish(b) != SQLITE_OK && rc == 0)
        rc = err_set(ERR_IO, "%s: snapshot: %s", path, sqlite3_errmsg(dst));
    /* Closing the copy checkpoints it: one self-contained file, no -wal. */
    if (dst && sqlite3_close(dst) != SQLITE_OK && rc == 0)
        rc = err_set(ERR_IO, "%s: snapshot: cannot close", path);
    sqlite3_close(src);
    return rc;
}
