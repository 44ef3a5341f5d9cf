/*
 * Path lookup walks the tree one component at a time from the commit's
 * root. A symbolic link met on the way is replaced by its target (taken
 * relative to the link's folder and cleaned with path_join, which refuses
 * anything that climbs out of the root) followed by the rest of the path,
 * and the walk restarts from the root; a hop counter ends link cycles.
 *
 * Messages name the path and are prefixed once with "url@sha7:" so the
 * engine can show them as they are.
 */
#include "git/tree.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/path.h"
#include "git/mirror_priv.h"

#define TREE_MAX_HOPS 16
#define TREE_MAX_LINK_BYTES 4096

struct mirror_tree {
    mirror *m;
    git_repository *repo;
    git_odb *odb;
    git_tree *root;
    struct mirror_limits lim;
    size_t files; /* files read so far */
    size_t bytes; /* blob bytes read so far */
    char sha7[8];
    char *name;
};

static int tree_fail(mirror_tree *t, int rc)
{
    return err_prefix(rc, "%s", t->name);
}

const char *mirror_tree_name(const mirror_tree *t)
{
    return t->name;
}

int mirror_tree_open(mirror_tree **out, mirror *m, const char *sha, const struct mirror_limits *lim)
{
    static const struct mirror_limits defaults = MIRROR_LIMITS_INIT;
    mirror_tree *t;
    git_oid oid;
    git_commit *commit = NULL;
    int rc = 0;

    *out = NULL;
    if (!sha || strlen(sha) != GIT_OID_HEXSZ || git_oid_fromstr(&oid, sha) < 0)
        return err_set(ERR_INVALID, "%s: \"%s\" is not a full commit id", mirror_url(m),
                       sha ? sha : "");
    t = xcalloc(1, sizeof(*t));
    t->m = m;
    t->repo = mirror_git_repo(m);
    t->lim = lim ? *lim : defaults;
    memcpy(t->sha7, sha, 7);
    t->name = xasprintf("%s@%s", mirror_url(m), t->sha7);
    if (git_commit_lookup(&commit, t->repo, &oid) < 0) {
        rc = err_set(ERR_NOTFOUND, "%s: commit %s not found in the mirror", mirror_url(m), sha);
        goto out;
    }
    if (git_commit_tree(&t->root, commit) < 0 || git_repository_odb(&t->odb, t->repo) < 0) {
        rc = err_set(ERR_IO, "%s@%s: %s", mirror_url(m), t->sha7, mirror_git_msg());
        goto out;
    }
    *out = t;
    t = NULL;
out:
    git_commit_free(commit);
    mirror_tree_free(t);
    return rc;
}

void mirror_tree_free(mirror_tree *t)
{
    if (!t)
        return;
    git_tree_free(t->root);
    git_odb_free(t->odb);
    free(t->name);
    free(t);
}

/* A tree entry name that cannot be a path component is refused: git never
 * writes one, a crafted repository might. */
static int tree_name_ok(const char *name)
{
    return name[0] && !strchr(name, '/') && !strchr(name, '\\') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

/* The target of the link entry e, at folder dir: a new cleaned path.
 * ERR_INVALID if it leaves the repository. */
static int tree_link_target(mirror_tree *t, const git_tree_entry *e, const char *dir,
                            const char *where, char **out)
{
    git_blob *blob = NULL;
    size_t size;
    git_object_t type;
    char *target = NULL;
    int rc = 0;

    *out = NULL;
    if (git_odb_read_header(&size, &type, t->odb, git_tree_entry_id(e)) < 0 ||
        git_blob_lookup(&blob, t->repo, git_tree_entry_id(e)) < 0) {
        rc = err_set(ERR_IO, "%s: %s", where, mirror_git_msg());
        goto out;
    }
    if (size > TREE_MAX_LINK_BYTES) {
        rc = err_set(ERR_INVALID, "%s: symbolic link target is too long", where);
        goto out;
    }
    target = xstrndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
    if (strlen(target) != size || target[0] == '/' || path_join(out, dir, target) < 0) {
        err_clear();
        rc = err_set(ERR_INVALID, "%s: symbolic link to \"%s\" points outside the repository",
                     where, target);
        goto out;
    }
out:
    free(target);
    git_blob_free(blob);
    return rc;
}

#define TREE_RESTART 2

/* One walk of *cur from the root. Returns 1 if found (outputs as for
 * tree_lookup), 0 if absent, TREE_RESTART after replacing *cur with the
 * path a link on the way points to, negative on error. */
static int tree_walk_once(mirror_tree *t, char **cur, const char *path, git_tree_entry **out_entry,
                          git_tree **out_tree)
{
    git_tree *tree = NULL; /* NULL means t->root, which we do not own */
    git_tree_entry *entry = NULL;
    const char *p = *cur;
    struct buf walked = BUF_INIT;
    int rc = 1;

    while (*p) {
        size_t n = strcspn(p, "/");
        const git_tree_entry *e;

        if (walked.len)
            buf_putc(&walked, '/');
        buf_put(&walked, p, n);
        e = git_tree_entry_byname(tree ? tree : t->root, buf_cstr(&walked) + walked.len - n);
        p += n;
        if (*p == '/')
            p++;
        git_tree_entry_free(entry);
        entry = NULL;
        if (!e) {
            rc = 0;
            goto out;
        }
        if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
            char *dir = path_dirname(buf_cstr(&walked)), *target = NULL;
            rc = tree_link_target(t, e, dir, buf_cstr(&walked), &target);
            free(dir);
            if (rc < 0)
                goto out;
            {
                /* p points into *cur: build the new path before freeing */
                char *next = *p ? xasprintf("%s/%s", target, p) : xstrdup(target);
                free(*cur);
                *cur = next;
            }
            free(target);
            rc = TREE_RESTART;
            goto out;
        }
        if (git_tree_entry_dup(&entry, e) < 0)
            abort();
        if (*p) {
            git_tree *sub = NULL;
            if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
                rc = 0; /* a file in the middle of the path */
                goto out;
            }
            if (git_tree_lookup(&sub, t->repo, git_tree_entry_id(e)) < 0) {
                rc = err_set(ERR_IO, "%s: %s", path, mirror_git_msg());
                goto out;
            }
            git_tree_free(tree);
            tree = sub;
        }
    }
    if (!entry) {
        if (git_tree_dup(out_tree, t->root) < 0)
            abort();
    } else if (git_tree_entry_type(entry) == GIT_OBJECT_TREE &&
               git_tree_lookup(out_tree, t->repo, git_tree_entry_id(entry)) < 0) {
        rc = err_set(ERR_IO, "%s: %s", path, mirror_git_msg());
        goto out;
    }
    *out_entry = entry;
    entry = NULL;
out:
    git_tree_entry_free(entry);
    git_tree_free(tree);
    buf_dispose(&walked);
    return rc;
}

/* Find path (cleaned): *out_entry is a duplicate of its entry (NULL for
 * the root), *out_tree the tree when it is a folder. Returns 1 if found,
 * 0 if absent, negative on error. Links are followed. */
static int tree_lookup(mirror_tree *t, const char *path, git_tree_entry **out_entry,
                       git_tree **out_tree)
{
    char *cur = xstrdup(path);
    int hops = 0, rc;

    *out_entry = NULL;
    *out_tree = NULL;
    while ((rc = tree_walk_once(t, &cur, path, out_entry, out_tree)) == TREE_RESTART) {
        if (++hops > TREE_MAX_HOPS) {
            rc = err_set(ERR_INVALID, "%s: more than %d symbolic links in a row", path,
                         TREE_MAX_HOPS);
            break;
        }
    }
    free(cur);
    return rc;
}

static int tree_entry_kind(const git_tree_entry *e, const git_tree *tree)
{
    if (tree)
        return MIRROR_ENTRY_DIR;
    switch (git_tree_entry_filemode(e)) {
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
        return MIRROR_ENTRY_FILE;
    default:
        return 0; /* a submodule */
    }
}

int mirror_tree_stat(mirror_tree *t, const char *path)
{
    git_tree_entry *e = NULL;
    git_tree *tree = NULL;
    char *clean = NULL;
    int rc;

    if ((rc = path_clean(&clean, path)) < 0)
        return tree_fail(t, rc);
    rc = tree_lookup(t, clean, &e, &tree);
    if (rc > 0)
        rc = tree_entry_kind(e, tree);
    else if (rc < 0)
        rc = tree_fail(t, rc);
    git_tree_entry_free(e);
    git_tree_free(tree);
    free(clean);
    return rc;
}

static int tree_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mirror_entry *)a)->name, ((const struct mirror_entry *)b)->name);
}

int mirror_tree_list(mirror_tree *t, const char *dir, struct mirror_entry **out, size_t *n)
{
    git_tree_entry *self = NULL;
    git_tree *tree = NULL;
    struct mirror_entry *v = NULL;
    size_t i, count = 0, total;
    char *clean = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = path_clean(&clean, dir)) < 0)
        goto out;
    if ((rc = tree_lookup(t, clean, &self, &tree)) < 0)
        goto out;
    if (rc == 0 || !tree) {
        rc = err_set(ERR_NOTFOUND, "%s: no such folder", clean[0] ? clean : ".");
        goto out;
    }
    rc = 0;
    total = git_tree_entrycount(tree);
    v = xcalloc(total ? total : 1, sizeof(*v));
    for (i = 0; i < total; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        const char *name = git_tree_entry_name(e);
        char *path = clean[0] ? xasprintf("%s/%s", clean, name) : xstrdup(name);
        int kind;

        if (!tree_name_ok(name)) {
            rc = err_set(ERR_INVALID, "%s: invalid file name in tree", path);
            free(path);
            goto out;
        }
        if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
            kind = mirror_tree_stat(t, path);
        else
            kind = git_tree_entry_type(e) == GIT_OBJECT_TREE ? MIRROR_ENTRY_DIR
                                                             : tree_entry_kind(e, NULL);
        free(path);
        if (kind < 0) {
            /* mirror_tree_stat prefixed it already: hand it up as is */
            rc = kind;
            goto out_noprefix;
        }
        if (kind == 0)
            continue; /* submodule, or a link to nothing */
        if (count >= t->lim.max_files) {
            rc = err_set(ERR_TOOLARGE, "%s: more than %zu entries in one folder (limit)",
                         clean[0] ? clean : ".", t->lim.max_files);
            goto out;
        }
        v[count].name = xstrdup(name);
        v[count].type = kind;
        count++;
    }
    qsort(v, count, sizeof(*v), tree_entry_cmp);
    *out = v;
    *n = count;
    v = NULL;
    count = 0;
out:
    if (rc < 0)
        tree_fail(t, rc);
out_noprefix:
    mirror_entries_free(v, count);
    git_tree_entry_free(self);
    git_tree_free(tree);
    free(clean);
    return rc;
}

void mirror_entries_free(struct mirror_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

int mirror_tree_read(mirror_tree *t, const char *path, char **data, size_t *len)
{
    git_tree_entry *e = NULL;
    git_tree *tree = NULL;
    git_blob *blob = NULL;
    char *clean = NULL;
    size_t size;
    git_object_t type;
    int rc;

    *data = NULL;
    *len = 0;
    if ((rc = path_clean(&clean, path)) < 0)
        goto out;
    if ((rc = tree_lookup(t, clean, &e, &tree)) < 0)
        goto out;
    if (rc == 0 || tree_entry_kind(e, tree) != MIRROR_ENTRY_FILE) {
        rc = err_set(ERR_NOTFOUND, "%s: no such file", clean);
        goto out;
    }
    rc = 0;
    if (git_odb_read_header(&size, &type, t->odb, git_tree_entry_id(e)) < 0) {
        rc = err_set(ERR_IO, "%s: %s", clean, mirror_git_msg());
        goto out;
    }
    if (size > t->lim.max_file_bytes) {
        rc = err_set(ERR_TOOLARGE, "%s: %zu bytes is over the limit of %zu bytes per file", clean,
                     size, t->lim.max_file_bytes);
        goto out;
    }
    if (size > t->lim.max_total_bytes - t->bytes) {
        rc = err_set(ERR_TOOLARGE, "%s: the files read total over the limit of %zu bytes", clean,
                     t->lim.max_total_bytes);
        goto out;
    }
    if (++t->files > t->lim.max_files) {
        rc = err_set(ERR_TOOLARGE, "%s: more than %zu files (limit)", clean, t->lim.max_files);
        goto out;
    }
    if (git_blob_lookup(&blob, t->repo, git_tree_entry_id(e)) < 0) {
        rc = err_set(ERR_IO, "%s: %s", clean, mirror_git_msg());
        goto out;
    }
    size = (size_t)git_blob_rawsize(blob);
    *data = xmalloc(size + 1);
    memcpy(*data, git_blob_rawcontent(blob), size);
    (*data)[size] = '\0';
    *len = size;
    t->bytes += size;
out:
    if (rc < 0)
        tree_fail(t, rc);
    git_blob_free(blob);
    git_tree_entry_free(e);
    git_tree_free(tree);
    free(clean);
    return rc;
}
