/*
 * Bookkeeping that would grow with the number of objects in a backup,
 * kept in a temporary file instead of memory, so that backups and
 * restores of any size run in the same few megabytes:
 *
 *   spill_log    records appended in order and read back from the start
 *                as often as needed (an archive's entry list: written as
 *                the entries go by, compared with the manifest at the end
 *                and with each later pass; a restore's per-object results);
 *   spill_table  fixed-size records under a 32-byte key (a SHA-256), added
 *                in any order, then sorted once and looked up by binary
 *                search, each record rewritable in place (a restore's
 *                objects by uid).
 *
 * Both start in memory and move to a file in their folder only past a few
 * hundred KiB, so a small backup never writes one. Without a folder they
 * stay in memory and grow (unit tests, the fuzz target, self-backups of a
 * handful of files). The file has no name: it is opened with O_TMPFILE
 * (or, on a file system without it, created as .spill-XXXXXX and unlinked
 * at once), so it is gone when it is closed, on every error path, and
 * when the process dies: nothing is left that a later run could take for
 * data, and nothing needs sweeping.
 *
 * A table is sorted as an external merge sort: records gather in a chunk
 * of SPILL_CHUNK bytes, each full chunk is sorted and written as a run,
 * and sealing merges the runs into one sorted file, records with equal
 * keys combined by the caller's merge function. Lookups binary-search an
 * in-memory sample of the file's keys (at most SPILL_FENCE_MAX of them)
 * and read one block of records.
 *
 * Errors (a full disk, an unwritable folder) are ERR_IO naming the file's
 * purpose ("what") and the folder. Threads: an object belongs to one
 * thread.
 */
#ifndef EDGECD_BACKUP_SPILL_H
#define EDGECD_BACKUP_SPILL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes kept in memory before a log or table moves to its file. */
#define SPILL_MEM (256u << 10)
/* A table's sort chunk. */
#define SPILL_CHUNK (1u << 20)
/* The most keys a sealed table keeps in memory for its lookups. */
#define SPILL_FENCE_MAX 8192u
#define SPILL_KEY 32

/* ---- logs ---- */

typedef struct spill_log spill_log;

/* A new empty log; dir NULL keeps it in memory. what names it in
 * messages ("the entry list of X"). Never fails: the file is made when
 * it is first needed. */
spill_log *spill_log_new(const char *dir, const char *what);

/* Set the folder of a log that has not moved to a file yet (the log of
 * an archive writer, whose first entry precedes its options). */
void spill_log_set_dir(spill_log *l, const char *dir);

/* Append n bytes. ERR_IO when the file cannot be made or written. */
int spill_log_append(spill_log *l, const void *p, size_t n);

/* Read from the start again (appending may go on meanwhile). */
void spill_log_rewind(spill_log *l);

/* The next n bytes: 1 when read, 0 at the end (nothing left), ERR_IO, or
 * ERR_GENERIC when fewer than n bytes are left (a record cut short, which
 * a caller that appends whole records never sees). */
int spill_log_read(spill_log *l, void *p, size_t n);

/* Bytes appended; 1 if part of them is in a file. */
uint64_t spill_log_size(const spill_log *l);
int spill_log_on_disk(const spill_log *l);

/* Close (the file vanishes) and free. NULL is fine. */
void spill_log_free(spill_log *l);

/* ---- tables ---- */

typedef struct spill_table spill_table;

/* Combine the record from into into, whose key is the same. Records of
 * one key meet in no particular order: the result must not depend on it
 * (or the caller must not care which one stays). */
typedef void (*spill_merge_fn)(void *into, const void *from);

/* A new empty table of records of rec_size bytes (SPILL_KEY .. 4096),
 * each starting with its key; records of equal keys are combined with
 * merge (NULL: one of them stays). dir NULL keeps it in memory. */
spill_table *spill_table_new(const char *dir, size_t rec_size, spill_merge_fn merge,
                             const char *what);

/* Add a record (copied), before the table is sealed. ERR_IO. */
int spill_table_add(spill_table *t, const void *rec);

/* Sort the records by key, one per key. After this only find and update
 * are allowed. ERR_IO (the table then finds nothing). */
int spill_table_seal(spill_table *t);

/* Distinct keys, after seal. */
size_t spill_table_count(const spill_table *t);

/* 1 with the record copied into rec (may be NULL) when key is there, 0
 * when not, ERR_IO. */
int spill_table_find(spill_table *t, const void *key, void *rec);

/* Rewrite the record whose key rec starts with. ERR_NOTFOUND when there
 * is none, ERR_IO. */
int spill_table_update(spill_table *t, const void *rec);

/* 1 if the table's records are in a file. */
int spill_table_on_disk(const spill_table *t);

void spill_table_free(spill_table *t);

#endif
