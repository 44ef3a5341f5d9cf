/*
 * Pack intake: a thin wrapper over libgit2's indexer that adds what the
 * indexer lacks for untrusted input (a budget of bytes and objects) and
 * turns its messages into edgecd's errors. The object count is read from
 * the 12-byte pack header as it streams past, so an oversized pack is
 * refused before its first object is inflated.
 */
#include "git/packin.h"

#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "git/mirror_priv.h"

#define PACKIN_CHUNK (64 * 1024)
#define PACKIN_HEADER 12 /* "PACK", version, object count */

struct packin {
    git_indexer *idx;
    git_indexer_progress stats;
    struct packin_budget *budget;
    const char *what;
    unsigned char header[PACKIN_HEADER];
    size_t header_len;
    uint64_t objects; /* announced by the header */
};

void packin_budget_init(struct packin_budget *b, mirror *m)
{
    const struct mirror_pack_limits *lim = mirror_pack_limits(m);

    memset(b, 0, sizeof(*b));
    b->max_bytes = lim->max_bytes;
    b->max_objects = lim->max_objects;
}

int packin_budget_take(struct packin_budget *b, uint64_t objects, uint64_t bytes, const char *what)
{
    if (objects > b->max_objects - b->objects)
        return err_set(ERR_TOOLARGE, "%s: over the limit of %llu objects for one fetch or import",
                       what, (unsigned long long)b->max_objects);
    if (bytes > b->max_bytes - b->bytes)
        return err_set(ERR_TOOLARGE, "%s: over the limit of %llu bytes for one fetch or import",
                       what, (unsigned long long)b->max_bytes);
    b->objects += objects;
    b->bytes += bytes;
    return 0;
}

/* The indexer's message, with its one cryptic case said plainly. */
static int packin_fail(packin *p)
{
    const char *msg = mirror_git_msg();

    if (strstr(msg, "thin pack"))
        return err_set(ERR_INVALID,
                       "%s: bad pack: a delta's base object is not in the pack (a thin or "
                       "damaged pack)",
                       p->what);
    return err_set(ERR_INVALID, "%s: bad pack: %s", p->what, msg);
}

int packin_new(packin **out, mirror *m, git_odb *bases, int connected, struct packin_budget *budget,
               const char *what)
{
    git_indexer_options opts;
    char *packdir;
    packin *p;
    int rc = 0;

    *out = NULL;
    p = xcalloc(1, sizeof(*p));
    p->budget = budget;
    p->what = what;
    git_indexer_options_init(&opts, GIT_INDEXER_OPTIONS_VERSION);
    opts.verify = connected ? 1 : 0;
    packdir = xasprintf("%s/objects/pack", git_repository_path(mirror_git_repo(m)));
    if (git_indexer_new(&p->idx, packdir, 0, bases, &opts) < 0) {
        rc = err_set(ERR_IO, "%s: %s", what, mirror_git_msg());
        packin_free(p);
    } else {
        *out = p;
    }
    free(packdir);
    return rc;
}

int packin_append(packin *p, const void *data, size_t len)
{
    int rc;

    /* Bytes are charged as they come; objects once the header says. */
    if ((rc = packin_budget_take(p->budget, 0, len, p->what)) < 0)
        return rc;
    if (p->header_len < PACKIN_HEADER) {
        size_t n = len < PACKIN_HEADER - p->header_len ? len : PACKIN_HEADER - p->header_len;
        memcpy(p->header + p->header_len, data, n);
        p->header_len += n;
        if (p->header_len == PACKIN_HEADER) {
            const unsigned char *c = p->header + 8;
            p->objects = (uint64_t)c[0] << 24 | (uint64_t)c[1] << 16 | (uint64_t)c[2] << 8 | c[3];
            if ((rc = packin_budget_take(p->budget, p->objects, 0, p->what)) < 0)
                return rc;
        }
    }
    if (git_indexer_append(p->idx, data, len, &p->stats) < 0)
        return packin_fail(p);
    return 0;
}

int packin_append_file(packin *p, FILE *f)
{
    unsigned char *chunk = xmalloc(PACKIN_CHUNK);
    size_t n;
    int rc = 0;

    while ((n = fread(chunk, 1, PACKIN_CHUNK, f)) > 0) {
        if ((rc = packin_append(p, chunk, n)) < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = err_set(ERR_IO, "%s: %s", p->what, strerror(errno));
    free(chunk);
    return rc;
}

int packin_commit(packin *p)
{
    if (git_indexer_commit(p->idx, &p->stats) < 0)
        return packin_fail(p);
    return 0;
}

uint64_t packin_objects(const packin *p)
{
    return p->objects;
}

void packin_free(packin *p)
{
    if (!p)
        return;
    git_indexer_free(p->idx);
    free(p);
}
