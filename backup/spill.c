/*
 * Logs and tables that move from memory to an unnamed temporary file
 * (see spill.h). Writes and reads go through positioned I/O (pwrite,
 * pread) so a log can be appended to while it is read, and a sealed
 * table's records can be rewritten in place.
 */
#include "backup/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"

#define SPILL_READ (64u << 10)
/* A merge reads its runs through buffers that share this much. */
#define SPILL_MERGE_BUDGET (1u << 20)

/* An unnamed file in dir. */
static int spill_open(const char *dir, const char *what, int *out)
{
    char *name;
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    *out = -1;
    if (fd >= 0) {
        *out = fd;
        return 0;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return err_set(ERR_IO, "%s: a temporary file in %s: %s", what, dir, strerror(errno));
    /* No O_TMPFILE here: a name for as short a time as possible. */
    name = xasprintf("%s/.spill-XXXXXX", dir);
    fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        int rc = err_set(ERR_IO, "%s: a temporary file in %s: %s", what, dir, strerror(errno));
        free(name);
        return rc;
    }
    unlink(name); /* ENOENT too is fine: serve's sweep may have been first */
    free(name);
    *out = fd;
    return 0;
}

static int spill_pwrite(int fd, const void *p, size_t n, uint64_t off, const char *what)
{
    const char *s = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, s, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return err_set(ERR_IO, "%s: writing its temporary file: %s", what,
                           k < 0 ? strerror(errno) : "no progress");
        s += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Exactly n bytes at off (the caller knows they are there). */
static int spill_pread(int fd, void *p, size_t n, uint64_t off, const char *what)
{
    char *s = p;
    while (n > 0) {
        ssize_t k = pread(fd, s, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return err_set(ERR_IO, "%s: reading its temporary file: %s", what,
                           k < 0 ? strerror(errno) : "shorter than written");
        s += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* ---- logs ---- */

struct spill_log {
    char *dir, *what;
    int fd;           /* -1 until the first spill */
    struct buf tail;  /* appended, not in the file (all of it without one) */
    uint64_t flushed; /* bytes in the file */
    uint64_t rpos;    /* the reader's position */
    unsigned char *rbuf;
    uint64_t roff; /* the file's bytes [roff, roff + rlen) are in rbuf */
    size_t rlen;
};

spill_log *spill_log_new(const char *dir, const char *what)
{
    spill_log *l = xcalloc(1, sizeof(*l));
    l->fd = -1;
    l->dir = dir ? xstrdup(dir) : NULL;
    l->what = xstrdup(what);
    buf_init(&l->tail);
    return l;
}

void spill_log_set_dir(spill_log *l, const char *dir)
{
    if (l->fd >= 0)
        return;
    free(l->dir);
    l->dir = dir ? xstrdup(dir) : NULL;
}

static int spill_log_flush(spill_log *l)
{
    int rc;
    if (l->fd < 0 && (rc = spill_open(l->dir, l->what, &l->fd)) < 0)
        return rc;
    if ((rc = spill_pwrite(l->fd, l->tail.ptr, l->tail.len, l->flushed, l->what)) < 0)
        return rc;
    l->flushed += l->tail.len;
    buf_clear(&l->tail);
    return 0;
}

int spill_log_append(spill_log *l, const void *p, size_t n)
{
    int rc;
    if (l->dir && l->tail.len + n > SPILL_MEM && l->tail.len > 0 && (rc = spill_log_flush(l)) < 0)
        return rc;
    buf_put(&l->tail, p, n);
    return 0;
}

void spill_log_rewind(spill_log *l)
{
    l->rpos = 0;
}

int spill_log_read(spill_log *l, void *p, size_t n)
{
    unsigned char *d = p;
    size_t want = n;
    int rc;

    while (n > 0) {
        size_t take;
        if (l->rpos < l->flushed) {
            if (l->rpos < l->roff || l->rpos >= l->roff + l->rlen) {
                uint64_t left = l->flushed - l->rpos;
                if (!l->rbuf)
                    l->rbuf = xmalloc(SPILL_READ);
                l->rlen = left < SPILL_READ ? (size_t)left : SPILL_READ;
                l->roff = l->rpos;
                if ((rc = spill_pread(l->fd, l->rbuf, l->rlen, l->roff, l->what)) < 0) {
                    l->rlen = 0;
                    return rc;
                }
            }
            take = (size_t)(l->roff + l->rlen - l->rpos);
            take = take < n ? take : n;
            memcpy(d, l->rbuf + (l->rpos - l->roff), take);
        } else {
            size_t off = (size_t)(l->rpos - l->flushed);
            take = l->tail.len - off < n ? l->tail.len - off : n;
            if (take == 0)
                return n == want ? 0
                                 : err_set(ERR_GENERIC, "%s: a record cut short at byte %llu",
                                           l->what, (unsigned long long)l->rpos);
            memcpy(d, l->tail.ptr + off, take);
        }
        d += take;
        n -= take;
        l->rpos += take;
    }
    return 1;
}

uint64_t spill_log_size(const spill_log *l)
{
    return l->flushed + l->tail.len;
}

int spill_log_on_disk(const spill_log *l)
{
    return l->fd >= 0;
}

void spill_log_free(spill_log *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    buf_dispose(&l->tail);
    free(l->rbuf);
    free(l->dir);
    free(l->what);
    free(l);
}

/* ---- tables ---- */

struct spill_run {
    uint64_t off; /* in records, in the runs file */
    size_t n;
};

struct spill_table {
    char *dir, *what;
    size_t rec;
    int sealed;
    /* adding: the chunk being filled, and the sorted runs written so far */
    unsigned char *chunk;
    size_t n, cap;
    int runs_fd;
    struct spill_run *runs;
    size_t nruns;
    spill_merge_fn merge;
    /* sealed: the records in memory (chunk, n of them), or in fd */
    int fd;
    size_t count;
    size_t step;          /* records per block: the fence holds every step-th key */
    unsigned char *fence; /* keys */
    size_t nfence;
    unsigned char *block; /* the last block read */
    size_t block_no, block_n;
    int block_ok;
};

spill_table *spill_table_new(const char *dir, size_t rec_size, spill_merge_fn merge,
                             const char *what)
{
    spill_table *t = xcalloc(1, sizeof(*t));
    if (rec_size < SPILL_KEY || rec_size > 4096)
        abort(); /* a programming error, not input */
    t->dir = dir ? xstrdup(dir) : NULL;
    t->what = xstrdup(what);
    t->rec = rec_size;
    t->merge = merge;
    t->runs_fd = t->fd = -1;
    return t;
}

static int spill_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, SPILL_KEY);
}

/* Sort the chunk and combine equal keys in place. */
static void spill_table_sort_chunk(spill_table *t)
{
    size_t w = 0;
    if (t->n == 0)
        return;
    qsort(t->chunk, t->n, t->rec, spill_key_cmp);
    for (size_t i = 1; i < t->n; i++) {
        unsigned char *last = t->chunk + w * t->rec, *cur = t->chunk + i * t->rec;
        if (memcmp(last, cur, SPILL_KEY) == 0) {
            if (t->merge)
                t->merge(last, cur);
            continue;
        }
        w++;
        if (w != i)
            memcpy(t->chunk + w * t->rec, cur, t->rec);
    }
    t->n = w + 1;
}

/* A full chunk, sorted, becomes a run at the end of the runs file. */
static int spill_table_write_run(spill_table *t)
{
    uint64_t off = 0;
    int rc;
    spill_table_sort_chunk(t);
    if (t->runs_fd < 0 && (rc = spill_open(t->dir, t->what, &t->runs_fd)) < 0)
        return rc;
    if (t->nruns > 0)
        off = t->runs[t->nruns - 1].off + t->runs[t->nruns - 1].n;
    if ((rc = spill_pwrite(t->runs_fd, t->chunk, t->n * t->rec, off * t->rec, t->what)) < 0)
        return rc;
    t->runs = xrealloc(t->runs, (t->nruns + 1) * sizeof(*t->runs));
    t->runs[t->nruns].off = off;
    t->runs[t->nruns].n = t->n;
    t->nruns++;
    t->n = 0;
    return 0;
}

int spill_table_add(spill_table *t, const void *rec)
{
    int rc;
    if (t->sealed)
        return err_set(ERR_GENERIC, "%s: added to after it was sealed", t->what);
    if (t->n == t->cap) {
        /* With a folder, a chunk holds SPILL_CHUNK bytes (64 records at
         * least); without one it grows. */
        size_t limit = SPILL_CHUNK / t->rec < 64 ? 64 : SPILL_CHUNK / t->rec;
        if (t->dir && t->cap >= limit) {
            if ((rc = spill_table_write_run(t)) < 0)
                return rc;
        } else {
            t->cap = t->cap ? t->cap * 2 : 64;
            if (t->dir && t->cap > limit)
                t->cap = limit;
            t->chunk = xrealloc(t->chunk, t->cap * t->rec);
        }
    }
    memcpy(t->chunk + t->n * t->rec, rec, t->rec);
    t->n++;
    return 0;
}

/* One run being merged: a window of its records. */
struct spill_cursor {
    uint64_t next; /* record index in the runs file */
    size_t left;   /* records of the run not yet in the window */
    unsigned char *win;
    size_t have, at, cap; /* records in win, the current one, room */
};

static int spill_cursor_fill(spill_table *t, struct spill_cursor *c)
{
    size_t take = c->left < c->cap ? c->left : c->cap;
    int rc;
    c->at = c->have = 0;
    if (take == 0)
        return 0;
    if ((rc = spill_pread(t->runs_fd, c->win, take * t->rec, c->next * t->rec, t->what)) < 0)
        return rc;
    c->next += take;
    c->left -= take;
    c->have = take;
    return 0;
}

/* The sealed file's record at index i goes out through out (a write
 * buffer of SPILL_READ bytes); every step-th key joins the fence. */
static int spill_table_emit(spill_table *t, struct buf *out, const unsigned char *rec)
{
    int rc;
    if (t->count % t->step == 0) {
        t->fence = xrealloc(t->fence, (t->nfence + 1) * SPILL_KEY);
        memcpy(t->fence + t->nfence * SPILL_KEY, rec, SPILL_KEY);
        t->nfence++;
    }
    if (out->len + t->rec > SPILL_READ) {
        if ((rc = spill_pwrite(t->fd, out->ptr, out->len,
                               (uint64_t)(t->count - out->len / t->rec) * t->rec, t->what)) < 0)
            return rc;
        buf_clear(out);
    }
    buf_put(out, rec, t->rec);
    t->count++;
    return 0;
}

/* Merge the runs (the chunk written as the last one) into one sorted
 * file, equal keys combined. */
static int spill_table_merge(spill_table *t)
{
    struct spill_cursor *c = NULL;
    struct buf out = BUF_INIT;
    unsigned char *cur = xmalloc(t->rec);
    size_t total = 0, per;
    int rc, have_cur = 0;

    if (t->n > 0 && (rc = spill_table_write_run(t)) < 0)
        goto out;
    free(t->chunk);
    t->chunk = NULL;
    t->cap = 0;
    for (size_t i = 0; i < t->nruns; i++)
        total += t->runs[i].n;
    /* The fence's step: as many keys as fit in SPILL_FENCE_MAX, blocks of
     * at least 64 records. */
    t->step = total / SPILL_FENCE_MAX + 1;
    t->step = t->step < 64 ? 64 : t->step;
    if ((rc = spill_open(t->dir, t->what, &t->fd)) < 0)
        goto out;
    per = SPILL_MERGE_BUDGET / t->nruns / t->rec;
    per = per ? per : 1;
    c = xcalloc(t->nruns, sizeof(*c));
    for (size_t i = 0; i < t->nruns; i++) {
        c[i].next = t->runs[i].off;
        c[i].left = t->runs[i].n;
        c[i].cap = per;
        c[i].win = xmalloc(per * t->rec);
        if ((rc = spill_cursor_fill(t, &c[i])) < 0)
            goto out;
    }
    for (;;) {
        struct spill_cursor *min = NULL;
        const unsigned char *rec;
        /* Linear over the runs: there are few (one per MiB of records). */
        for (size_t i = 0; i < t->nruns; i++)
            if (c[i].at < c[i].have && (!min || memcmp(c[i].win + c[i].at * t->rec,
                                                       min->win + min->at * t->rec, SPILL_KEY) < 0))
                min = &c[i];
        if (!min)
            break;
        rec = min->win + min->at * t->rec;
        if (have_cur && memcmp(cur, rec, SPILL_KEY) == 0) {
            if (t->merge)
                t->merge(cur, rec);
        } else {
            if (have_cur && (rc = spill_table_emit(t, &out, cur)) < 0)
                goto out;
            memcpy(cur, rec, t->rec);
            have_cur = 1;
        }
        if (++min->at == min->have && (rc = spill_cursor_fill(t, min)) < 0)
            goto out;
    }
    if (have_cur && (rc = spill_table_emit(t, &out, cur)) < 0)
        goto out;
    rc = out.len ? spill_pwrite(t->fd, out.ptr, out.len,
                                (uint64_t)(t->count - out.len / t->rec) * t->rec, t->what)
                 : 0;
out:
    for (size_t i = 0; c && i < t->nruns; i++)
        free(c[i].win);
    free(c);
    free(cur);
    buf_dispose(&out);
    /* The runs are merged (or the table is unusable): their file goes. */
    if (t->runs_fd >= 0)
        close(t->runs_fd);
    t->runs_fd = -1;
    return rc;
}

int spill_table_seal(spill_table *t)
{
    int rc = 0;
    if (t->sealed)
        return 0;
    t->sealed = 1;
    if (t->nruns == 0) {
        spill_table_sort_chunk(t);
        t->count = t->n;
        return 0;
    }
    if ((rc = spill_table_merge(t)) < 0) {
        /* Nothing is found in a table whose merge failed. */
        t->count = t->nfence = 0;
    }
    return rc;
}

size_t spill_table_count(const spill_table *t)
{
    return t->count;
}

int spill_table_on_disk(const spill_table *t)
{
    return t->fd >= 0;
}

/* Binary search of n records at base: the index of key, or -1. */
static long spill_search(const unsigned char *base, size_t n, size_t rec, const void *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(base + mid * rec, key, SPILL_KEY);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The record of key: a pointer into memory (the table's, or the block
 * read from the file), or NULL. *rc: 0 or ERR_IO. */
static unsigned char *spill_table_locate(spill_table *t, const void *key, int *rc)
{
    size_t lo = 0, hi = t->nfence, b;
    long at;

    *rc = 0;
    if (!t->sealed || t->count == 0)
        return NULL;
    if (t->fd < 0) {
        at = spill_search(t->chunk, t->count, t->rec, key);
        return at < 0 ? NULL : t->chunk + (size_t)at * t->rec;
    }
    /* the last fence key <= key names the block */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->fence + mid * SPILL_KEY, key, SPILL_KEY) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL; /* before the first key */
    b = lo - 1;
    if (!t->block_ok || t->block_no != b) {
        size_t first = b * t->step;
        t->block_n = t->count - first < t->step ? t->count - first : t->step;
        if (!t->block)
            t->block = xmalloc(t->step * t->rec);
        t->block_ok = 0;
        if ((*rc = spill_pread(t->fd, t->block, t->block_n * t->rec, (uint64_t)first * t->rec,
                               t->what)) < 0)
            return NULL;
        t->block_no = b;
        t->block_ok = 1;
    }
    at = spill_search(t->block, t->block_n, t->rec, key);
    return at < 0 ? NULL : t->block + (size_t)at * t->rec;
}

int spill_table_find(spill_table *t, const void *key, void *rec)
{
    int rc;
    unsigned char *p = spill_table_locate(t, key, &rc);
    if (rc < 0)
        return rc;
    if (!p)
        return 0;
    if (rec)
        memcpy(rec, p, t->rec);
    return 1;
}

int spill_table_update(spill_table *t, const void *rec)
{
    int rc;
    unsigned char *p = spill_table_locate(t, rec, &rc);
    if (rc < 0)
        return rc;
    if (!p)
        return err_set(ERR_NOTFOUND, "%s: no such record", t->what);
    memcpy(p, rec, t->rec);
    if (t->fd >= 0)
        return spill_pwrite(t->fd, rec, t->rec,
                            (uint64_t)(t->block_no * t->step) * t->rec + (uint64_t)(p - t->block),
                            t->what);
    return 0;
}

void spill_table_free(spill_table *t)
{
    if (!t)
        return;
    if (t->runs_fd >= 0)
        close(t->runs_fd);
    if (t->fd >= 0)
        close(t->fd);
    free(t->chunk);
    free(t->runs);
    free(t->fence);
    free(t->block);
    free(t->dir);
    free(t->what);
    free(t);
}
