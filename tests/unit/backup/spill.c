/*
 * Tests for backup/spill.c: logs and tables in memory and moved to their
 * unnamed files, with enough records to spill (a table of 200,000 records
 * sorted in many runs and merged), read back in order, duplicates
 * combined and keys that differ in one bit kept apart, in-place updates,
 * and the folder left empty with no file descriptor left open (the files
 * are gone) after each.
 */
#include <string.h>

#include "backup/spill.h"
#include "core/util.h"
#include "test.h"

static char *dir;

/* Record i of a log: its number and a filler of i % 50 bytes. */
static void log_rec(unsigned i, unsigned char *out, size_t *len)
{
    size_t fill = i % 50;
    memcpy(out, &i, sizeof(i));
    memset(out + sizeof(i), (int)(i & 0xff), fill);
    *len = sizeof(i) + fill;
}

static int log_check(spill_log *l, unsigned from, unsigned to)
{
    unsigned char want[64], got[64];
    size_t len;
    for (unsigned i = from; i < to; i++) {
        log_rec(i, want, &len);
        if (spill_log_read(l, got, len) != 1 || memcmp(want, got, len) != 0)
            return err_set(ERR_GENERIC, "record %u differs", i);
    }
    return 0;
}

TEST(log_memory_and_disk)
{
    unsigned char rec[64], b;
    size_t len;
    int fds = test_open_fds();
    for (int on_disk = 0; on_disk < 2; on_disk++) {
        spill_log *l = spill_log_new(on_disk ? dir : NULL, "test log");
        const unsigned n = 60000; /* about 1.7 MB */
        /* appended while being read: half, read it, the rest, read all */
        for (unsigned i = 0; i < n / 2; i++) {
            log_rec(i, rec, &len);
            CHECK_OK(spill_log_append(l, rec, len));
        }
        CHECK_OK(log_check(l, 0, n / 2));
        for (unsigned i = n / 2; i < n; i++) {
            log_rec(i, rec, &len);
            CHECK_OK(spill_log_append(l, rec, len));
        }
        CHECK_OK(log_check(l, n / 2, n));
        CHECK(spill_log_read(l, &b, 1) == 0); /* the end */
        spill_log_rewind(l);
        CHECK_OK(log_check(l, 0, n));
        CHECK(spill_log_on_disk(l) == on_disk);
        CHECK(test_dir_entries(dir) == 0);
        /* a record cut short is an error, not the end */
        spill_log_rewind(l);
        {
            unsigned char *all = xmalloc(spill_log_size(l) + 1);
            CHECK(spill_log_read(l, all, (size_t)spill_log_size(l)) == 1);
            spill_log_rewind(l);
            CHECK(spill_log_read(l, all, (size_t)spill_log_size(l) - 1) == 1);
            CHECK_ERR(spill_log_read(l, all, 2), ERR_GENERIC);
            CHECK_CONTAINS(err_last(), "test log");
            err_clear();
            free(all);
        }
        spill_log_free(l);
    }
    CHECK(test_open_fds() == fds);
}

TEST(log_folder_missing)
{
    char *gone = xasprintf("%s/no-such-folder", dir);
    spill_log *l = spill_log_new(gone, "the entry list of x");
    unsigned char chunk[4096];
    int rc = 0;
    memset(chunk, 1, sizeof(chunk));
    /* fine in memory, an error once it must move to the folder */
    for (size_t i = 0; rc == 0 && i < 2 * SPILL_MEM / sizeof(chunk); i++)
        rc = spill_log_append(l, chunk, sizeof(chunk));
    CHECK_ERR(rc, ERR_IO);
    CHECK_CONTAINS(err_last(), "the entry list of x");
    CHECK_CONTAINS(err_last(), "no-such-folder");
    err_clear();
    spill_log_free(l);
    free(gone);
}

struct trec {
    unsigned char key[SPILL_KEY];
    unsigned flags;
    unsigned value;
    unsigned char pad[24];
};

static void trec_merge(void *into, const void *from)
{
    ((struct trec *)into)->flags |= ((const struct trec *)from)->flags;
}

/* Key i: SHA-256 of the number, or for odd i the key of i - 1 with its
 * last bit flipped: neighbours a comparison of fewer bytes would join. */
static void tkey(unsigned i, unsigned char key[SPILL_KEY])
{
    unsigned base = i & ~1u;
    util_sha256(&base, sizeof(base), key);
    if (i & 1)
        key[SPILL_KEY - 1] ^= 1;
}

/* n distinct keys, each added twice (flags 1, then 2) in a scrambled
 * order; every key found once with flags 3; absent keys not found;
 * updates read back. */
static int table_round(const char *where, unsigned n, int expect_disk)
{
    spill_table *t = spill_table_new(where, sizeof(struct trec), trec_merge, "test table");
    struct trec r, got;
    int rc = 0, found;

    for (unsigned pass = 1; pass <= 2 && rc == 0; pass++)
        for (unsigned k = 0; k < n && rc == 0; k++) {
            unsigned i = (unsigned)(((unsigned long long)k * 7919u + pass) % n);
            memset(&r, 0, sizeof(r));
            tkey(i, r.key);
            r.flags = pass;
            r.value = i;
            rc = spill_table_add(t, &r);
        }
    if (rc == 0)
        rc = spill_table_seal(t);
    if (rc == 0 && spill_table_count(t) != n)
        rc = err_set(ERR_GENERIC, "%zu records, not %u", spill_table_count(t), n);
    if (rc == 0 && spill_table_on_disk(t) != expect_disk)
        rc = err_set(ERR_GENERIC, "on disk: %d", spill_table_on_disk(t));
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        tkey(i, r.key);
        found = spill_table_find(t, r.key, &got);
        if (found != 1 || got.flags != 3 || got.value != i)
            rc = err_set(ERR_GENERIC, "key %u: found %d, flags %u, value %u", i, found, got.flags,
                         got.value);
    }
    /* absent: keys of numbers never added, and all-zero / all-one keys */
    for (unsigned i = n + (n & 1); rc == 0 && i < n + 1000; i++) {
        tkey(i, r.key);
        if ((found = spill_table_find(t, r.key, NULL)) != 0)
            rc = err_set(ERR_GENERIC, "absent key %u found (%d)", i, found);
    }
    memset(r.key, 0, SPILL_KEY);
    if (rc == 0 && spill_table_find(t, r.key, NULL) != 0)
        rc = err_set(ERR_GENERIC, "the zero key found");
    memset(r.key, 0xff, SPILL_KEY);
    if (rc == 0 && spill_table_find(t, r.key, NULL) != 0)
        rc = err_set(ERR_GENERIC, "the 0xff key found");
    if (rc == 0 && spill_table_update(t, &r) != ERR_NOTFOUND)
        rc = err_set(ERR_GENERIC, "an absent key updated");
    err_clear();
    /* in-place updates, read back after other lookups moved the block */
    for (unsigned i = 0; rc == 0 && i < n; i += 97) {
        tkey(i, r.key);
        r.flags = 8;
        r.value = i + 1000000;
        rc = spill_table_update(t, &r);
    }
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        tkey(i, r.key);
        if (spill_table_find(t, r.key, &got) != 1 || got.value != (i % 97 ? i : i + 1000000) ||
            got.flags != (i % 97 ? 3u : 8u))
            rc = err_set(ERR_GENERIC, "key %u after the updates: value %u", i, got.value);
    }
    spill_table_free(t);
    return rc;
}

TEST(table_memory)
{
    CHECK_OK(table_round(NULL, 5000, 0));
    CHECK_OK(table_round(dir, 100, 0)); /* small: never leaves memory */
    CHECK_OK(table_round(NULL, 1, 0));
}

TEST(table_disk_many_runs)
{
    int fds = test_open_fds();
    /* 200,000 records of 64 bytes, twice: 25 MB in 1 MiB runs */
    CHECK_OK(table_round(dir, 200000, 1));
    CHECK(test_dir_entries(dir) == 0);
    CHECK(test_open_fds() == fds);
}

TEST(table_empty)
{
    spill_table *t = spill_table_new(dir, sizeof(struct trec), trec_merge, "empty");
    unsigned char key[SPILL_KEY];
    memset(key, 7, sizeof(key));
    CHECK_OK(spill_table_seal(t));
    CHECK(spill_table_count(t) == 0);
    CHECK(spill_table_find(t, key, NULL) == 0);
    CHECK_ERR(spill_table_add(t, key), ERR_GENERIC);
    err_clear();
    spill_table_free(t);
}

int main(void)
{
    dir = test_tmpdir("backup-spill");
    RUN(log_memory_and_disk);
    RUN(log_folder_missing);
    RUN(table_memory);
    RUN(table_disk_many_runs);
    RUN(table_empty);
    free(dir);
    return TEST_END();
}
