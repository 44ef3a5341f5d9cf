/*
 * What the store's files share (not part of store.h): the handle and the
 * statement helpers. store.c holds the connection, the schema and the
 * application records; ops.c the records of sync operations. Every helper
 * here is called with the store's lock held.
 */
#ifndef EDGECD_STORAGE_INTERNAL_H
#define EDGECD_STORAGE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "storage/store.h"

struct store {
    sqlite3 *db;
    char *path;
    pthread_mutex_t lock;
    /* change notification (changes.c), under changes_lock: in memory
     * only, never written */
    pthread_mutex_t changes_lock;
    unsigned long long generation;
    struct store_change *changes; /* one per app name written since open */
    size_t n_changes, cap_changes;
};

/* Note that app name changed (bumps the generation). Called after the
 * write committed, without the store's lock. */
void store_changed(store *s, const char *name);
/* Free the change records (store_close). */
void store_changes_dispose(store *s);

/* s, or "" for NULL: columns may not be NULL (schema.c). */
const char *store_str(const char *s);
/* 1 if a and b are equal strings, NULL counting as "". */
int store_same(const char *a, const char *b);
/* The current SQLite error as ours (ERR_TIMEOUT when busy, else ERR_IO),
 * with what in the message. Returns the code. */
int store_fail(store *s, const char *what);
int store_exec(store *s, const char *sql, const char *what);
/* Prepare sql and bind the n strings in args to ?1..?n (NULL as ""); the
 * strings must outlive the statement. */
int store_prepare(store *s, sqlite3_stmt **out, const char *sql, const char *const *args, int n);
/* Run a statement that returns no rows. */
int store_run(store *s, const char *sql, const char *const *args, int n, const char *what);
/* Step a statement that writes: ERR_CONFLICT (with conflict as the
 * message) on a key that exists, ERR_NOTFOUND (with missing) on a
 * foreign key to nothing, else as store_fail. Finalizes stmt. */
int store_step_write(store *s, sqlite3_stmt *stmt, const char *what, const char *conflict,
                     const char *missing);
/* A text column as a new string ("" for NULL). */
char *store_column(sqlite3_stmt *stmt, int col);
void store_rollback(store *s);
/* 0 if the application is stored, ERR_NOTFOUND if not. */
int store_app_exists(store *s, const char *name);
/* The first column of every row of stmt as a new array of new strings
 * (store_names_free); nothing is returned on error. */
int store_names_read(store *s, sqlite3_stmt *stmt, char ***out_names, size_t *out_n);

#endif
