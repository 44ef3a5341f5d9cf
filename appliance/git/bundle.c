/*
 * The bundle header is read line by line with hard limits (line length,
 * ref count); the rest of the file is the pack, streamed to libgit2's
 * indexer in 64 KiB pieces (git/packin.c) so memory stays bounded whatever
 * the bundle's size, and the mirror's pack limits (bytes, objects) refuse
 * an oversized one. The indexer is given the mirror's object database, so an
 * incremental bundle's thin pack resolves its bases against the history
 * the mirror already has (its prerequisites).
 */
#include "git/bundle.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "git/mirror_priv.h"
#include "git/packin.h"

#define BUNDLE_MAX_LINE 4096
#define BUNDLE_MAX_REFS 10000
#define BUNDLE_MAX_PREREQS 10000

struct bundle_header {
    int version;
    git_oid *prereqs;
    size_t n_prereqs;
    struct bundle_ref *refs;
    size_t n_refs;
};

static void bundle_header_dispose(struct bundle_header *h)
{
    for (size_t i = 0; i < h->n_refs; i++)
        free(h->refs[i].name);
    free(h->refs);
    free(h->prereqs);
    memset(h, 0, sizeof(*h));
}

/* One header line without its newline into buf. 1 if read, 0 at end of
 * file, ERR_INVALID if too long. */
static int bundle_line(FILE *f, char *buf, size_t size, const char *path)
{
    size_t n;
    if (!fgets(buf, (int)size, f))
        return 0;
    n = strlen(buf);
    if (n == 0 || buf[n - 1] != '\n')
        return err_set(ERR_INVALID, "%s: bundle header line too long or cut short", path);
    buf[n - 1] = '\0';
    return 1;
}

static int bundle_read_header(FILE *f, const char *path, struct bundle_header *h)
{
    char line[BUNDLE_MAX_LINE + 2];
    int rc;

    memset(h, 0, sizeof(*h));
    if ((rc = bundle_line(f, line, sizeof(line), path)) <= 0)
        return rc < 0 ? rc : err_set(ERR_INVALID, "%s: empty file, not a git bundle", path);
    if (!strcmp(line, "# v2 git bundle"))
        h->version = 2;
    else if (!strcmp(line, "# v3 git bundle"))
        h->version = 3;
    else
        return err_set(ERR_INVALID, "%s: not a git bundle (v2 or v3)", path);
    for (;;) {
        if ((rc = bundle_line(f, line, sizeof(line), path)) < 0)
            return rc;
        if (rc == 0)
            return err_set(ERR_INVALID, "%s: bundle header has no end", path);
        if (!line[0])
            break; /* the blank line before the pack */
        if (line[0] == '@') {
            if (h->version != 3)
                return err_set(ERR_INVALID, "%s: capability line in a v2 bundle", path);
            if (!strcmp(line, "@object-format=sha1"))
                continue;
            return err_set(ERR_INVALID, "%s: bundle capability \"%s\" is not supported", path,
                           line + 1);
        }
        if (line[0] == '-') {
            if (h->n_prereqs >= BUNDLE_MAX_PREREQS)
                return err_set(ERR_INVALID, "%s: more than %d prerequisites", path,
                               BUNDLE_MAX_PREREQS);
            h->prereqs = xrealloc(h->prereqs, (h->n_prereqs + 1) * sizeof(*h->prereqs));
            if (strlen(line) < 41 || (line[41] && line[41] != ' ') ||
                git_oid_fromstrn(&h->prereqs[h->n_prereqs], line + 1, 40) < 0)
                return err_set(ERR_INVALID, "%s: bad prerequisite line \"%.60s\"", path, line);
            h->n_prereqs++;
            continue;
        }
        {
            git_oid oid;
            struct bundle_ref *r;
            const char *name = line + 41;
            if (strlen(line) < 42 || line[40] != ' ' || git_oid_fromstrn(&oid, line, 40) < 0)
                return err_set(ERR_INVALID, "%s: bad ref line \"%.60s\"", path, line);
            if (strcmp(name, "HEAD") != 0 && !git_reference_is_valid_name(name))
                return err_set(ERR_INVALID, "%s: invalid ref name \"%.100s\"", path, name);
            if (strcmp(name, "HEAD") != 0 && !str_has_prefix(name, "refs/heads/") &&
                !str_has_prefix(name, "refs/tags/"))
                return err_set(ERR_INVALID,
                               "%s: ref \"%.100s\": only branches and tags can be imported", path,
                               name);
            if (h->n_refs >= BUNDLE_MAX_REFS)
                return err_set(ERR_INVALID, "%s: more than %d refs", path, BUNDLE_MAX_REFS);
            h->refs = xrealloc(h->refs, (h->n_refs + 1) * sizeof(*h->refs));
            r = &h->refs[h->n_refs++];
            memset(r, 0, sizeof(*r));
            r->name = xstrdup(name);
            git_oid_tostr(r->now, sizeof(r->now), &oid);
        }
    }
    if (h->n_refs == 0)
        return err_set(ERR_INVALID, "%s: bundle names no refs", path);
    return 0;
}

/* Stream the rest of f into the mirror's pack folder, within the
 * mirror's limits, checking connectivity against what the mirror has. */
static int bundle_index(mirror *m, FILE *f, const char *path, git_odb *odb)
{
    struct packin_budget budget;
    packin *p = NULL;
    int rc;

    packin_budget_init(&budget, m);
    if ((rc = packin_new(&p, m, odb, 1, &budget, path)) == 0 &&
        (rc = packin_append_file(p, f)) == 0)
        rc = packin_commit(p);
    packin_free(p);
    return rc;
}

int bundle_import(mirror *m, const char *path, int force, struct bundle_result *out)
{
    git_repository *repo = mirror_git_repo(m);
    struct bundle_header h;
    git_odb *odb = NULL;
    git_transaction *tx = NULL;
    FILE *f = NULL;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&h, 0, sizeof(h));
    if (!(f = fopen(path, "rb"))) {
        rc = err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = bundle_read_header(f, path, &h)) < 0)
        goto out;
    if (git_repository_odb(&odb, repo) < 0) {
        rc = err_set(ERR_IO, "%s: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    for (i = 0; i < h.n_prereqs; i++) {
        if (!git_odb_exists(odb, &h.prereqs[i])) {
            char hex[41];
            git_oid_tostr(hex, sizeof(hex), &h.prereqs[i]);
            rc = err_set(ERR_INVALID,
                         "%s: the mirror of %s lacks commit %s, which this bundle builds on; "
                         "import the earlier bundle first",
                         path, mirror_url(m), hex);
            goto out;
        }
    }
    if ((rc = bundle_index(m, f, path, odb)) < 0)
        goto out;
    if (git_odb_refresh(odb) < 0) {
        rc = err_set(ERR_IO, "%s: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    /* Check everything before changing anything. */
    for (i = 0; i < h.n_refs; i++) {
        struct bundle_ref *r = &h.refs[i];
        git_oid now, old;
        git_object *obj = NULL;

        git_oid_fromstr(&now, r->now);
        if (git_object_lookup(&obj, repo, &now, GIT_OBJECT_ANY) < 0) {
            rc = err_set(ERR_INVALID, "%s: %s points at %s, which the bundle does not hold", path,
                         r->name, r->now);
            goto out;
        }
        git_object_free(obj);
        if (!strcmp(r->name, "HEAD"))
            continue;
        if (git_reference_name_to_id(&old, repo, r->name) == 0) {
            git_oid_tostr(r->old, sizeof(r->old), &old);
            if (!git_oid_equal(&old, &now) && !force &&
                (str_has_prefix(r->name, "refs/tags/") ||
                 git_graph_descendant_of(repo, &now, &old) != 1)) {
                rc = err_set(ERR_CONFLICT,
                             "%s: %s would move from %.7s to %.7s, which is not a fast-forward; "
                             "nothing was changed (use --force to accept it)",
                             path, r->name, r->old, r->now);
                goto out;
            }
        }
    }
    if (git_transaction_new(&tx, repo) < 0) {
        rc = err_set(ERR_IO, "%s: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    for (i = 0; i < h.n_refs; i++) {
        git_oid now;
        if (!strcmp(h.refs[i].name, "HEAD"))
            continue;
        git_oid_fromstr(&now, h.refs[i].now);
        if (git_transaction_lock_ref(tx, h.refs[i].name) < 0 ||
            git_transaction_set_target(tx, h.refs[i].name, &now, NULL, "edgecd: bundle") < 0) {
            rc = err_set(ERR_IO, "%s: %s: %s", mirror_url(m), h.refs[i].name, mirror_git_msg());
            goto out;
        }
    }
    if (git_transaction_commit(tx) < 0) {
        rc = err_set(ERR_IO, "%s: updating refs: %s", mirror_url(m), mirror_git_msg());
        goto out;
    }
    /* HEAD follows the branch the bundle's HEAD names, when it names one */
    for (i = 0; i < h.n_refs; i++) {
        if (strcmp(h.refs[i].name, "HEAD") != 0)
            continue;
        for (size_t j = 0; j < h.n_refs; j++) {
            if (j != i && str_has_prefix(h.refs[j].name, "refs/heads/") &&
                !strcmp(h.refs[j].now, h.refs[i].now)) {
                git_reference *made = NULL;
                if (git_reference_symbolic_create(&made, repo, "HEAD", h.refs[j].name, 1,
                                                  "edgecd: bundle HEAD") < 0) {
                    rc = err_set(ERR_IO, "%s: recording HEAD: %s", mirror_url(m), mirror_git_msg());
                    goto out;
                }
                git_reference_free(made);
                break;
            }
        }
    }
    out->refs = h.refs;
    out->n = h.n_refs;
    out->version = h.version;
    h.refs = NULL;
    h.n_refs = 0;
    rc = 0;
out:
    git_transaction_free(tx);
    git_odb_free(odb);
    if (f)
        fclose(f);
    bundle_header_dispose(&h);
    return rc;
}

void bundle_result_dispose(struct bundle_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->refs[i].name);
    free(r->refs);
    memset(r, 0, sizeof(*r));
}
