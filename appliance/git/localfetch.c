/*
 * The local fetch's copy. Design decisions a reader would otherwise have
 * to dig out:
 *
 * - Each source pack gets its own indexer run with no object database
 *   behind it, so a pack must hold every delta base it uses (git never
 *   stores thin packs) and the mirror ends up with the very same bytes
 *   (same name: pack-<trailer>.pack). Packs are not concatenated: a
 *   repository's packs may share objects, which one indexer would refuse
 *   as duplicates.
 * - Which packs to copy is decided from the source's .idx files, read
 *   only as a hint: a lying index can make us copy a pack needlessly or
 *   skip one, and the connectivity check below catches what is then
 *   missing. A pack whose index says the mirror lacks nothing is skipped,
 *   which is what makes a copied pack free on the next fetch.
 * - Loose objects are read through libgit2's loose backend (each one's
 *   id is checked against its content on read) and packed with a
 *   packbuilder into one pack, indexed like the others.
 * - Connectivity is checked once, at the end, over the mirror: the
 *   packs of a repository point into each other and into loose objects
 *   both ways, so no single pack can be checked on its own. The check is
 *   libgit2's own object walk (the packbuilder's, as its local transport
 *   uses on the source), run without writing a pack.
 * - Symbolic links in the object folders are refused rather than
 *   followed: a stick's pack/pack-x.pack -> /dev/zero or -> another
 *   tree's files should be an error, not input. The packs and indexes
 *   are opened with O_NOFOLLOW; loose objects are checked with lstat
 *   just before libgit2 reads them (their ids are verified anyway).
 */
#include "git/localfetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2/sys/odb_backend.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "git/mirror_priv.h"
#include "git/packin.h"

#define LOCALFETCH_MAX_PACKS 10000
#define LOCALFETCH_IDX_HEADER (8 + 256 * 4) /* magic, version, fan-out table */
#define LOCALFETCH_IDX_BATCH 1024           /* object ids read at a time */

struct localfetch_pack {
    char *name;       /* "pack-<hex>" */
    uint64_t size;    /* bytes */
    uint64_t objects; /* as its header says */
};

/* What one copy found in the source. */
struct localfetch_src {
    const char *url;
    char *objdir;                 /* the source's objects folder */
    git_odb *mirror_odb;          /* the mirror's */
    struct localfetch_pack *copy; /* packs the mirror lacks */
    size_t ncopy;
    git_oid *loose; /* loose objects the mirror lacks */
    size_t nloose, loose_cap;
    char *held; /* a pack the mirror holds most of, but not all */
};

static void localfetch_src_dispose(struct localfetch_src *s)
{
    for (size_t i = 0; i < s->ncopy; i++)
        free(s->copy[i].name);
    free(s->copy);
    free(s->loose);
    free(s->objdir);
    free(s->held);
    git_odb_free(s->mirror_odb);
}

/* Refuse a symbolic link or a thing of the wrong kind at path (relative
 * to the objects folder in messages). 1 if it exists as a dir (want_dir)
 * or regular file, 0 if it does not exist, negative on error. */
static int localfetch_lstat(struct localfetch_src *s, const char *path, int want_dir,
                            struct stat *st)
{
    const char *rel = path + strlen(s->objdir) - strlen("objects");

    if (lstat(path, st) != 0) {
        if (errno == ENOENT)
            return 0;
        return err_set(ERR_IO, "%s: %s: %s", s->url, rel, strerror(errno));
    }
    if (S_ISLNK(st->st_mode))
        return err_set(ERR_INVALID,
                       "%s: %s is a symbolic link: a source repository must hold its objects "
                       "itself",
                       s->url, rel);
    if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        return err_set(ERR_INVALID, "%s: %s is not a %s", s->url, rel,
                       want_dir ? "folder" : "regular file");
    return 1;
}

/* Open a file of the source for reading, never through a link. */
static int localfetch_open(struct localfetch_src *s, const char *path, FILE **out, uint64_t *size)
{
    const char *rel = path + strlen(s->objdir) - strlen("objects");
    struct stat st;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return err_set(errno == ELOOP ? ERR_INVALID : ERR_IO, "%s: %s: %s", s->url, rel,
                       errno == ELOOP ? "is a symbolic link" : strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(ERR_INVALID, "%s: %s is not a regular file", s->url, rel);
    }
    *size = (uint64_t)st.st_size;
    *out = fdopen(fd, "rb");
    if (!*out) {
        close(fd);
        return err_set(ERR_IO, "%s: %s: %s", s->url, rel, strerror(errno));
    }
    return 0;
}

static uint32_t localfetch_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* How many of the ids the pack index at path names the mirror lacks; -1
 * when the index cannot tell (unreadable, not version 2, not count ids). */
static int64_t localfetch_idx_missing(struct localfetch_src *s, const char *path, uint64_t count)
{
    unsigned char head[LOCALFETCH_IDX_HEADER];
    unsigned char *ids = NULL;
    uint64_t size, done = 0;
    int64_t missing = -1;
    FILE *f = NULL;

    if (localfetch_open(s, path, &f, &size) < 0) {
        err_clear();
        return -1;
    }
    if (fread(head, 1, sizeof(head), f) != sizeof(head) || memcmp(head, "\377tOc", 4) != 0 ||
        localfetch_be32(head + 4) != 2 || localfetch_be32(head + 8 + 255 * 4) != count ||
        size < LOCALFETCH_IDX_HEADER + count * 28 + 40)
        goto out;
    ids = xmalloc(LOCALFETCH_IDX_BATCH * GIT_OID_RAWSZ);
    missing = 0;
    while (done < count) {
        size_t n =
            count - done < LOCALFETCH_IDX_BATCH ? (size_t)(count - done) : LOCALFETCH_IDX_BATCH;
        if (fread(ids, GIT_OID_RAWSZ, n, f) != n) {
            missing = -1;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            git_oid oid;
            git_oid_fromraw(&oid, ids + i * GIT_OID_RAWSZ);
            missing += !git_odb_exists_ext(s->mirror_odb, &oid, GIT_ODB_LOOKUP_NO_REFRESH);
        }
        done += n;
    }
out:
    free(ids);
    fclose(f);
    return missing;
}

/* Decide about the pack objects/pack/<name>.pack. */
static int localfetch_look_at_pack(struct localfetch_src *s, const char *name)
{
    char *pack = xasprintf("%s/pack/%s.pack", s->objdir, name);
    char *idx = xasprintf("%s/pack/%s.idx", s->objdir, name);
    unsigned char head[12];
    struct stat st;
    uint64_t size, objects;
    int64_t missing;
    FILE *f = NULL;
    int rc;

    if ((rc = localfetch_lstat(s, pack, 0, &st)) <= 0)
        goto out;
    /* git installs the .pack before its .idx and reads neither until
     * both are there: a pack without an index is still being written */
    if ((rc = localfetch_lstat(s, idx, 0, &st)) <= 0)
        goto out;
    if ((rc = localfetch_open(s, pack, &f, &size)) < 0)
        goto out;
    if (fread(head, 1, sizeof(head), f) != sizeof(head) || memcmp(head, "PACK", 4) != 0 ||
        (localfetch_be32(head + 4) != 2 && localfetch_be32(head + 4) != 3)) {
        rc = err_set(ERR_INVALID,
                     "%s: objects/pack/%s.pack: bad pack: no pack header (version 2 or 3)", s->url,
                     name);
        goto out;
    }
    objects = localfetch_be32(head + 8);
    missing = localfetch_idx_missing(s, idx, objects);
    rc = 0;
    if (missing == 0)
        goto out; /* copied before, or fetched before */
    if (missing > 0 && (uint64_t)missing * 2 < objects) {
        free(s->held);
        s->held = xstrdup(name);
        goto out;
    }
    if (s->ncopy >= LOCALFETCH_MAX_PACKS) {
        rc = err_set(ERR_TOOLARGE, "%s: more than %d packs to copy", s->url, LOCALFETCH_MAX_PACKS);
        goto out;
    }
    s->copy = xrealloc(s->copy, (s->ncopy + 1) * sizeof(*s->copy));
    s->copy[s->ncopy].name = xstrdup(name);
    s->copy[s->ncopy].size = size;
    s->copy[s->ncopy].objects = objects;
    s->ncopy++;
out:
    if (f)
        fclose(f);
    free(pack);
    free(idx);
    return rc;
}

static int localfetch_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[n] == '\0';
}

/* Every objects/xx/ folder: the loose objects the mirror lacks, each
 * charged to the budget as it is found, so a source with more than the
 * limit is refused before any object is read. */
static int localfetch_scan_loose(struct localfetch_src *s, struct packin_budget *budget)
{
    DIR *top = NULL, *sub = NULL;
    struct dirent *d, *e;
    char *dir = NULL, *file = NULL, *what = xasprintf("%s: loose objects", s->url);
    struct stat st;
    int rc = 0;

    if (!(top = opendir(s->objdir))) {
        free(what);
        return err_set(ERR_IO, "%s: objects: %s", s->url, strerror(errno));
    }
    while ((d = readdir(top)) != NULL) {
        if (!localfetch_is_hex(d->d_name, 2))
            continue;
        free(dir);
        dir = xasprintf("%s/%s", s->objdir, d->d_name);
        if ((rc = localfetch_lstat(s, dir, 1, &st)) < 0)
            goto out;
        if (!(sub = opendir(dir))) {
            rc = err_set(ERR_IO, "%s: objects/%s: %s", s->url, d->d_name, strerror(errno));
            goto out;
        }
        while ((e = readdir(sub)) != NULL) {
            char hex[GIT_OID_HEXSZ + 1];
            git_oid oid;
            if (!localfetch_is_hex(e->d_name, GIT_OID_HEXSZ - 2))
                continue;
            free(file);
            file = xasprintf("%s/%s", dir, e->d_name);
            if ((rc = localfetch_lstat(s, file, 0, &st)) < 0)
                goto out;
            memcpy(hex, d->d_name, 2);
            memcpy(hex + 2, e->d_name, GIT_OID_HEXSZ - 2 + 1);
            if (rc == 0 || git_oid_fromstr(&oid, hex) < 0 ||
                git_odb_exists_ext(s->mirror_odb, &oid, GIT_ODB_LOOKUP_NO_REFRESH))
                continue;
            if ((rc = packin_budget_take(budget, 1, (uint64_t)st.st_size, what)) < 0)
                goto out;
            if (s->nloose == s->loose_cap) {
                s->loose_cap = s->loose_cap ? 2 * s->loose_cap : 64;
                s->loose = xrealloc(s->loose, s->loose_cap * sizeof(*s->loose));
            }
            git_oid_cpy(&s->loose[s->nloose++], &oid);
        }
        closedir(sub);
        sub = NULL;
    }
    rc = 0;
out:
    if (sub)
        closedir(sub);
    closedir(top);
    free(dir);
    free(file);
    free(what);
    return rc;
}

/* Look the source over: refusals, then the packs and loose objects the
 * mirror lacks, charged to budget. */
static int localfetch_survey(struct localfetch_src *s, struct packin_budget *budget)
{
    char *path = xasprintf("%s/info/alternates", s->objdir);
    DIR *dir = NULL;
    struct dirent *d;
    struct stat st;
    int rc;

    if ((rc = localfetch_lstat(s, s->objdir, 1, &st)) <= 0) {
        if (rc == 0)
            rc = err_set(ERR_INVALID, "%s: not a Git repository (no objects folder)", s->url);
        goto out;
    }
    if (lstat(path, &st) == 0) {
        rc = err_set(ERR_INVALID,
                     "%s: objects/info/alternates borrows objects from another repository; "
                     "fetch from one that holds its own (git repack -a -d there)",
                     s->url);
        goto out;
    }
    free(path);
    path = xasprintf("%s/pack", s->objdir);
    if ((rc = localfetch_lstat(s, path, 1, &st)) < 0)
        goto out;
    if (rc == 1 && !(dir = opendir(path))) {
        rc = err_set(ERR_IO, "%s: objects/pack: %s", s->url, strerror(errno));
        goto out;
    }
    while (dir && (d = readdir(dir)) != NULL) {
        size_t len = strlen(d->d_name);
        char *name;
        if (!str_has_prefix(d->d_name, "pack-") || !str_has_suffix(d->d_name, ".pack"))
            continue;
        name = xasprintf("%.*s", (int)(len - strlen(".pack")), d->d_name);
        rc = localfetch_look_at_pack(s, name);
        free(name);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < s->ncopy; i++) {
        char *what = xasprintf("%s: objects/pack/%s.pack", s->url, s->copy[i].name);
        rc = packin_budget_take(budget, s->copy[i].objects, s->copy[i].size, what);
        free(what);
        if (rc < 0)
            goto out;
    }
    rc = localfetch_scan_loose(s, budget);
out:
    if (dir)
        closedir(dir);
    free(path);
    return rc;
}

static int localfetch_copy_pack(mirror *m, struct localfetch_src *s, struct localfetch_pack *pk,
                                struct packin_budget *budget)
{
    char *path = xasprintf("%s/pack/%s.pack", s->objdir, pk->name);
    char *what = xasprintf("%s: objects/pack/%s.pack", s->url, pk->name);
    packin *p = NULL;
    uint64_t size;
    FILE *f = NULL;
    int rc;

    if ((rc = localfetch_open(s, path, &f, &size)) == 0 &&
        (rc = packin_new(&p, m, NULL, 0, budget, what)) == 0 &&
        (rc = packin_append_file(p, f)) == 0)
        rc = packin_commit(p);
    packin_free(p);
    if (f)
        fclose(f);
    free(path);
    free(what);
    return rc;
}

struct localfetch_feed {
    packin *p;
    int rc;
};

static int localfetch_feed_cb(void *buf, size_t size, void *payload)
{
    struct localfetch_feed *feed = payload;

    feed->rc = packin_append(feed->p, buf, size);
    return feed->rc < 0 ? -1 : 0;
}

/* Pack the loose objects the mirror lacks and index that pack. */
static int localfetch_copy_loose(mirror *m, struct localfetch_src *s, struct packin_budget *budget)
{
    git_odb *odb = NULL;
    git_odb_backend *loose = NULL;
    git_repository *repo = NULL;
    git_packbuilder *pb = NULL;
    struct localfetch_feed feed = {NULL, 0};
    char *what = xasprintf("%s: loose objects", s->url);
    int rc = 0;

    if (git_odb_new(&odb) < 0 || git_odb_backend_loose(&loose, s->objdir, -1, 0, 0, 0) < 0) {
        rc = err_set(ERR_IO, "%s: %s", what, mirror_git_msg());
        goto out;
    }
    if (git_odb_add_backend(odb, loose, 1) < 0) {
        loose->free(loose);
        rc = err_set(ERR_IO, "%s: %s", what, mirror_git_msg());
        goto out;
    }
    if (git_repository_wrap_odb(&repo, odb) < 0 || git_packbuilder_new(&pb, repo) < 0) {
        rc = err_set(ERR_IO, "%s: %s", what, mirror_git_msg());
        goto out;
    }
    for (size_t i = 0; i < s->nloose; i++) {
        char hex[GIT_OID_HEXSZ + 1];
        git_object_t type;
        size_t size;
        git_oid_tostr(hex, sizeof(hex), &s->loose[i]);
        /* the packbuilder holds objects whole: a small file that inflates
         * to gigabytes is refused from its header */
        if (git_odb_read_header(&size, &type, odb, &s->loose[i]) == 0 && size > budget->max_bytes) {
            rc = err_set(ERR_TOOLARGE, "%s: %s: %zu bytes, over the limit of %llu bytes", what, hex,
                         size, (unsigned long long)budget->max_bytes);
            goto out;
        }
        if (git_packbuilder_insert(pb, &s->loose[i], NULL) < 0) {
            rc = err_set(ERR_INVALID, "%s: %s: %s", what, hex, mirror_git_msg());
            goto out;
        }
    }
    if ((rc = packin_new(&feed.p, m, NULL, 0, budget, what)) < 0)
        goto out;
    if (git_packbuilder_foreach(pb, localfetch_feed_cb, &feed) != 0) {
        /* our own error, or libgit2's reading a damaged object */
        rc = feed.rc < 0 ? feed.rc : err_set(ERR_INVALID, "%s: %s", what, mirror_git_msg());
        goto out;
    }
    rc = packin_commit(feed.p);
out:
    packin_free(feed.p);
    git_packbuilder_free(pb);
    git_repository_free(repo);
    git_odb_free(odb);
    free(what);
    return rc;
}

int localfetch_copy(mirror *m, const char *path, const char *url, struct mirror_fetch_stats *stats)
{
    git_repository *src = NULL;
    struct localfetch_src s;
    struct packin_budget budget;
    int rc;

    memset(stats, 0, sizeof(*stats));
    memset(&s, 0, sizeof(s));
    s.url = url;
    if (git_repository_open_ext(&src, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
        rc = err_set(ERR_NOTFOUND, "%s: repository not found (%s)", url, mirror_git_msg());
        goto out;
    }
    /* commondir ends in '/'; a worktree's objects live there too */
    s.objdir = xasprintf("%sobjects", git_repository_commondir(src));
    if (git_repository_odb(&s.mirror_odb, mirror_git_repo(m)) < 0 ||
        git_odb_refresh(s.mirror_odb) < 0) {
        rc = err_set(ERR_IO, "%s: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    /* Everything is charged before anything is written, so an oversized
     * source is refused with the mirror untouched. */
    packin_budget_init(&budget, m);
    if ((rc = localfetch_survey(&s, &budget)) < 0)
        goto out;
    if (s.held) {
        log_debug("%s: the mirror holds most of objects/pack/%s.pack already: fetching only "
                  "what it lacks",
                  url, s.held);
        goto out;
    }
    if (s.ncopy == 0 && s.nloose == 0)
        goto out;
    packin_budget_init(&budget, m);
    for (size_t i = 0; i < s.ncopy; i++) {
        if ((rc = localfetch_copy_pack(m, &s, &s.copy[i], &budget)) < 0)
            goto out;
        stats->packs++;
        stats->pack_objects += s.copy[i].objects;
    }
    if (s.nloose && (rc = localfetch_copy_loose(m, &s, &budget)) < 0)
        goto out;
    stats->loose = s.nloose;
    stats->bytes = budget.bytes;
    stats->local_copy = 1;
    if (git_odb_refresh(s.mirror_odb) < 0) {
        rc = err_set(ERR_IO, "%s: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    log_debug("%s: copied the source's packs: %zu (%llu objects), loose objects: %zu, %llu bytes",
              url, stats->packs, (unsigned long long)stats->pack_objects, stats->loose,
              (unsigned long long)stats->bytes);
out:
    git_repository_free(src);
    localfetch_src_dispose(&s);
    return rc;
}

/* A set of object ids, open addressing: ids are uniform hashes already. */
struct localfetch_set {
    git_oid *v;
    unsigned char *used;
    size_t cap, n;
};

static void localfetch_set_dispose(struct localfetch_set *s)
{
    free(s->v);
    free(s->used);
    memset(s, 0, sizeof(*s));
}

/* Add id to s: 1 if it was not there, 0 if it was. */
static int localfetch_set_add(struct localfetch_set *s, const git_oid *id)
{
    size_t h;

    if (2 * (s->n + 1) > s->cap) {
        struct localfetch_set bigger = {NULL, NULL, s->cap ? 2 * s->cap : 1024, 0};
        bigger.v = xcalloc(bigger.cap, sizeof(*bigger.v));
        bigger.used = xcalloc(bigger.cap, 1);
        for (size_t i = 0; i < s->cap; i++) {
            if (s->used[i])
                localfetch_set_add(&bigger, &s->v[i]);
        }
        localfetch_set_dispose(s);
        *s = bigger;
    }
    memcpy(&h, id->id, sizeof(h));
    for (h &= s->cap - 1; s->used[h]; h = (h + 1) & (s->cap - 1)) {
        if (git_oid_equal(&s->v[h], id))
            return 0;
    }
    s->used[h] = 1;
    git_oid_cpy(&s->v[h], id);
    s->n++;
    return 1;
}

/* The walk of the objects new history reaches. */
struct localfetch_walk {
    git_repository *repo;
    git_odb *odb;
    struct localfetch_set seen; /* objects checked, or known complete */
    git_oid *trees;             /* trees to read */
    size_t ntrees, trees_cap;
    git_oid *commits; /* new commits */
    size_t ncommits;
};

static void localfetch_walk_push_tree(struct localfetch_walk *w, const git_oid *id)
{
    if (!localfetch_set_add(&w->seen, id))
        return;
    if (w->ntrees == w->trees_cap) {
        w->trees_cap = w->trees_cap ? 2 * w->trees_cap : 256;
        w->trees = xrealloc(w->trees, w->trees_cap * sizeof(*w->trees));
    }
    git_oid_cpy(&w->trees[w->ntrees++], id);
}

/* Read every queued tree and what it holds. ERR_INVALID naming what is
 * missing or unreadable. */
static int localfetch_walk_trees(struct localfetch_walk *w)
{
    while (w->ntrees > 0) {
        git_tree *tree = NULL;
        git_oid id = w->trees[--w->ntrees];
        if (git_tree_lookup(&tree, w->repo, &id) < 0)
            return err_set(ERR_INVALID, "%s", mirror_git_msg());
        for (size_t i = 0; i < git_tree_entrycount(tree); i++) {
            const git_tree_entry *e = git_tree_entry_byindex(tree, i);
            const git_oid *eid = git_tree_entry_id(e);
            if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
                localfetch_walk_push_tree(w, eid);
            } else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
                       localfetch_set_add(&w->seen, eid) &&
                       !git_odb_exists_ext(w->odb, eid, GIT_ODB_LOOKUP_NO_REFRESH)) {
                char hex[GIT_OID_HEXSZ + 1];
                int rc;
                git_oid_tostr(hex, sizeof(hex), eid);
                rc = err_set(ERR_INVALID, "blob %s (%s) is missing", hex, git_tree_entry_name(e));
                git_tree_free(tree);
                return rc;
            }
            /* submodule commits (gitlinks) live in other repositories */
        }
        git_tree_free(tree);
    }
    return 0;
}

/* A head (peeled through tags) into the walk. */
static int localfetch_walk_head(struct localfetch_walk *w, git_revwalk *walk, const git_oid *id)
{
    git_object *obj = NULL, *next = NULL;
    int rc = 0;

    if (git_object_lookup(&obj, w->repo, id, GIT_OBJECT_ANY) < 0)
        return -1;
    while (rc == 0 && git_object_type(obj) == GIT_OBJECT_TAG) {
        rc = git_tag_target(&next, (git_tag *)obj);
        git_object_free(obj);
        obj = next;
        next = NULL;
    }
    if (rc == 0 && git_object_type(obj) == GIT_OBJECT_COMMIT)
        rc = git_revwalk_push(walk, git_object_id(obj));
    else if (rc == 0 && git_object_type(obj) == GIT_OBJECT_TREE)
        localfetch_walk_push_tree(w, git_object_id(obj));
    git_object_free(obj);
    return rc;
}

/* The history m's refs hold is complete: where a new commit's parent is
 * part of it, the parent's root tree and what it names directly need no
 * reading, so a fetch of a few commits reads only the folders they
 * changed. */
static int localfetch_walk_mark_known(struct localfetch_walk *w, struct localfetch_set *news)
{
    for (size_t i = 0; i < w->ncommits; i++) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, w->repo, &w->commits[i]) < 0)
            return -1;
        for (unsigned int p = 0; p < git_commit_parentcount(c); p++) {
            const git_oid *pid = git_commit_parent_id(c, p);
            git_commit *parent = NULL;
            git_tree *tree = NULL;
            if (!localfetch_set_add(news, pid))
                continue; /* a new commit, or a parent already marked */
            if (git_commit_lookup(&parent, w->repo, pid) < 0 ||
                git_commit_tree(&tree, parent) < 0) {
                git_commit_free(parent);
                git_commit_free(c);
                return -1;
            }
            localfetch_set_add(&w->seen, git_tree_id(tree));
            for (size_t e = 0; e < git_tree_entrycount(tree); e++)
                localfetch_set_add(&w->seen, git_tree_entry_id(git_tree_entry_byindex(tree, e)));
            git_tree_free(tree);
            git_commit_free(parent);
        }
        git_commit_free(c);
    }
    return 0;
}

static int localfetch_wanted(const char *name)
{
    return (str_has_prefix(name, "refs/heads/") || str_has_prefix(name, "refs/tags/")) &&
           !str_has_suffix(name, "^{}");
}

int localfetch_check_connected(mirror *m, const git_remote_head **heads, size_t n, const char *url)
{
    struct localfetch_walk w;
    struct localfetch_set news = {NULL, NULL, 0, 0};
    git_revwalk *walk = NULL;
    git_oid id;
    int rc = 0, grc;

    memset(&w, 0, sizeof(w));
    w.repo = mirror_git_repo(m);
    if (git_repository_odb(&w.odb, w.repo) < 0 || git_revwalk_new(&walk, w.repo) < 0) {
        rc = err_set(ERR_IO, "%s: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (localfetch_wanted(heads[i]->name) && !git_odb_exists(w.odb, &heads[i]->oid))
            goto out; /* libgit2's fetch sends a complete pack */
    }
    /* What the mirror's refs reach was checked when they were set. */
    if (git_revwalk_hide_glob(walk, "refs/heads/*") < 0 ||
        git_revwalk_hide_glob(walk, "refs/tags/*") < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (localfetch_wanted(heads[i]->name) && localfetch_walk_head(&w, walk, &heads[i]->oid) < 0)
            goto fail;
    }
    /* Every new commit is read and its parents found here. */
    while ((grc = git_revwalk_next(&id, walk)) == 0) {
        w.commits = xrealloc(w.commits, (w.ncommits + 1) * sizeof(*w.commits));
        git_oid_cpy(&w.commits[w.ncommits++], &id);
        localfetch_set_add(&news, &id);
    }
    if (grc != GIT_ITEROVER || localfetch_walk_mark_known(&w, &news) < 0)
        goto fail;
    for (size_t i = 0; i < w.ncommits; i++) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, w.repo, &w.commits[i]) < 0)
            goto fail;
        localfetch_walk_push_tree(&w, git_commit_tree_id(c));
        git_commit_free(c);
        if ((rc = localfetch_walk_trees(&w)) < 0)
            break;
    }
    /* trees named by tags, when no commit came first */
    if (rc == 0)
        rc = localfetch_walk_trees(&w);
    if (rc < 0)
        rc = err_prefix(rc, "%s: the source's objects are incomplete", url);
    goto out;
fail:
    rc = err_set(ERR_INVALID, "%s: the source's objects are incomplete: %s", url, mirror_git_msg());
out:
    git_revwalk_free(walk);
    git_odb_free(w.odb);
    localfetch_set_dispose(&w.seen);
    localfetch_set_dispose(&news);
    free(w.trees);
    free(w.commits);
    return rc;
}
