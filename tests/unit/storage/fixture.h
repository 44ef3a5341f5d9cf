/*
 * What the storage tests share: a raw SQLite connection that watches or
 * tampers with the file from outside the store (PRAGMA data_version moves
 * only when another connection commits, which is exactly "the store wrote
 * something"), and a writer process killed at a random moment.
 */
#ifndef EDGECD_TESTS_UNIT_STORAGE_FIXTURE_H
#define EDGECD_TESTS_UNIT_STORAGE_FIXTURE_H

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "core/util.h"
#include "storage/store.h"
#include "test.h"

/* An integer from a raw connection (PRAGMA or SELECT); -1 on error. */
static inline long long raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static inline char *raw_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        v = xstrdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return v;
}

static inline sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw open %s failed\n", path);
        exit(2);
    }
    return db;
}

/* Fork a process that opens path and calls write(s, 1), write(s, 2), ...
 * (each must return > 0 having committed), reporting each number on a
 * pipe; kill it a random few hundred microseconds after it reported at
 * least `after`. Returns the last number it reported, or -1 if the child
 * did not die of the kill. */
static inline int crash_writer(const char *path, int (*write_fn)(store *s, int i), int after)
{
    int fds[2], acked = 0, v, status;
    unsigned char r = 0;
    pid_t pid;

    if (pipe(fds) != 0 || (pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        store *s = NULL;
        int i;
        close(fds[0]);
        if (store_open(&s, path) < 0)
            _exit(3);
        for (i = 1;; i++) {
            if (write_fn(s, i) <= 0)
                _exit(4);
            if (write(fds[1], &i, sizeof(i)) != (ssize_t)sizeof(i))
                _exit(5);
        }
    }
    close(fds[1]);
    while (acked < after && read(fds[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
        acked = v;
    /* So the kill lands at an arbitrary point of a write rather than
     * right after a commit. */
    if (util_random(&r, 1) < 0)
        r = 0;
    usleep(100 + r * 4u);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fds[0]);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? acked : -1;
}

#endif
