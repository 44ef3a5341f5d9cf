/*
 * The mirror store. Each source URL gets one bare repository,
 * mirrors/<first 16 hex of sha256(url)>.git, whose remote "origin" holds
 * the URL and maps the source's branches and tags one to one (refs/heads
 * to refs/heads, refs/tags to refs/tags, forced), so a branch name
 * in targetRevision is a ref of the mirror itself and a pruning fetch
 * makes the mirror an exact copy. The source's default branch is recorded
 * as the mirror's HEAD, so "HEAD" means what it means at the source.
 *
 * Files are read from the object database only: sizes are checked with
 * the object header before a blob is loaded, so a hostile repository
 * cannot make us allocate more than the limits allow.
 *
 * Creation is crash-safe without a temporary folder: libgit2 writes every
 * file of a repository with lock + rename, and initialising an existing
 * repository again is harmless, so a half-created mirror is finished by
 * the next mirror_open.
 */
#include "git/mirror.h"
#include "git/gitstats.h"
#include "git/localfetch.h"
#include "git/mirror_priv.h"
#include "git/remote.h"
#include "git/semver.h"

#include <git2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"

/* Debian's bundle of the system's trusted CAs. */
#define MIRROR_SYSTEM_CAS "/etc/ssl/certs/ca-certificates.crt"

struct mirror {
    git_repository *repo;
    char *url;
    char *path; /* the bare repository */
    struct mirror_pack_limits limits;
    struct mirror_fetch_stats stats; /* of the last fetch */
};

static const char *const mirror_refspecs[] = {"+refs/heads/*:refs/heads/*",
                                              "+refs/tags/*:refs/tags/*"};

/* libgit2 1.5 may have no error to report (NULL). */
const char *mirror_git_msg(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

int mirror_global_init(void)
{
    static const int levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
                                 GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA};
    size_t i;

    if (git_libgit2_init() < 0)
        return err_set(ERR_GENERIC, "libgit2: %s", mirror_git_msg());
    /* The appliance's behaviour must not depend on whose $HOME or /etc it
     * runs with: only each mirror's own config is read. */
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "") < 0)
            return err_set(ERR_GENERIC, "libgit2: %s", mirror_git_msg());
    }
    /* Sources are folders the operator configured, often owned by a git
     * user other than the one edgecd runs as; git's safe.directory check
     * protects interactive shells, not a daemon that only reads objects. */
    if (git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0) < 0)
        return err_set(ERR_GENERIC, "libgit2: %s", mirror_git_msg());
    /* Our libgit2 uses mbedTLS, which knows no CAs by itself: trust the
     * system's bundle when there is one (a repository's own CA file is
     * checked in git/remote.c). */
    if (access(MIRROR_SYSTEM_CAS, R_OK) == 0 &&
        git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, MIRROR_SYSTEM_CAS, NULL) < 0)
        return err_set(ERR_GENERIC, "libgit2: %s: %s", MIRROR_SYSTEM_CAS, mirror_git_msg());
    return 0;
}

void mirror_global_shutdown(void)
{
    git_libgit2_shutdown();
}

void mirror_lib_version(char *out, size_t len)
{
    int major = 0, minor = 0, rev = 0;
    git_libgit2_version(&major, &minor, &rev);
    snprintf(out, len, "libgit2 %d.%d.%d", major, minor, rev);
}

static int mirror_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The file system path a local URL names (NULL for a remote one). The
 * URL itself is still what libgit2 gets; this path tells "the source does
 * not exist" from other fetch failures, and is where git/localfetch.c
 * copies the source's packs from. */
static int mirror_local_path(char **out, const char *url)
{
    const char *p;
    struct buf b = BUF_INIT;

    *out = NULL;
    if (!url || !url[0])
        return err_set(ERR_INVALID, "repository URL: empty");
    if (str_has_prefix(url, "file://")) {
        p = url + strlen("file://");
        if (str_has_prefix(p, "localhost/"))
            p += strlen("localhost");
        if (p[0] != '/')
            return err_set(ERR_UNSUPPORTED,
                           "%s: file:// URLs must name an absolute local path (file:///srv/x.git)",
                           url);
        /* libgit2 percent-decodes file:// URLs; do the same */
        for (; *p; p++) {
            if (p[0] == '%' && mirror_hexval(p[1]) >= 0 && mirror_hexval(p[2]) >= 0) {
                buf_putc(&b, (char)(mirror_hexval(p[1]) * 16 + mirror_hexval(p[2])));
                p += 2;
            } else {
                buf_putc(&b, *p);
            }
        }
        *out = buf_detach(&b);
        return 0;
    }
    /* "scheme://..." and git's scp-like "host:path" (a colon before any
     * slash) are remote transports */
    p = strpbrk(url, ":/");
    if (strstr(url, "://") || (p && *p == ':'))
        return 0; /* remote: *out stays NULL */
    *out = xstrdup(url);
    return 0;
}

/* Make sure remote "origin" exists with url and our refspecs. */
static int mirror_ensure_remote(git_repository *repo, const char *url)
{
    git_remote *remote = NULL;
    git_strarray specs = {NULL, 0};
    int rc = 0, grc;
    size_t i;

    grc = git_remote_lookup(&remote, repo, "origin");
    if (grc == GIT_ENOTFOUND) {
        if (git_remote_create_with_fetchspec(&remote, repo, "origin", url, mirror_refspecs[0]) <
                0 ||
            git_remote_add_fetch(repo, "origin", mirror_refspecs[1]) < 0) {
            rc = err_set(ERR_IO, "%s: configuring mirror: %s", url, mirror_git_msg());
        }
        goto out;
    }
    if (grc < 0) {
        rc = err_set(ERR_IO, "%s: reading mirror config: %s", url, mirror_git_msg());
        goto out;
    }
    /* Rewrite only what differs: the config lives on flash. */
    if (!git_remote_url(remote) || strcmp(git_remote_url(remote), url) != 0) {
        if (git_remote_set_url(repo, "origin", url) < 0) {
            rc = err_set(ERR_IO, "%s: configuring mirror: %s", url, mirror_git_msg());
            goto out;
        }
    }
    if (git_remote_get_fetch_refspecs(&specs, remote) < 0) {
        rc = err_set(ERR_IO, "%s: reading mirror config: %s", url, mirror_git_msg());
        goto out;
    }
    for (i = 0; i < 2; i++) {
        size_t j;
        int have = 0;
        for (j = 0; j < specs.count; j++)
            have |= strcmp(specs.strings[j], mirror_refspecs[i]) == 0;
        if (!have && git_remote_add_fetch(repo, "origin", mirror_refspecs[i]) < 0) {
            rc = err_set(ERR_IO, "%s: configuring mirror: %s", url, mirror_git_msg());
            goto out;
        }
    }
out:
    git_strarray_dispose(&specs);
    git_remote_free(remote);
    return rc;
}

int mirror_open(mirror **out, const char *mirrors_dir, const char *url)
{
    mirror *m = NULL;
    char hex[65], *local = NULL;
    int rc;

    *out = NULL;
    m = xcalloc(1, sizeof(*m));
    m->limits = (struct mirror_pack_limits)MIRROR_PACK_LIMITS_INIT;
    /* a malformed file:// URL is refused here, before a mirror exists */
    if ((rc = mirror_local_path(&local, url)) < 0)
        goto out;
    m->url = xstrdup(url);
    util_sha256_hex(url, strlen(url), hex);
    m->path = xasprintf("%s/%.16s.git", mirrors_dir, hex);
    if ((rc = fs_mkdir_p(mirrors_dir, 0700)) < 0)
        goto out;
    if (git_repository_open_bare(&m->repo, m->path) < 0) {
        git_repository_init_options opts;
        /* the _init functions, not the macros: those leave fields out and
         * trip -Wmissing-field-initializers */
        git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
        opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
        opts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
        if (git_repository_init_ext(&m->repo, m->path, &opts) < 0) {
            rc = err_set(ERR_IO, "%s: creating mirror %s: %s", url, m->path, mirror_git_msg());
            goto out;
        }
    }
    if ((rc = mirror_ensure_remote(m->repo, url)) < 0)
        goto out;
    *out = m;
    m = NULL;
out:
    free(local);
    mirror_free(m);
    return rc;
}

void mirror_free(mirror *m)
{
    if (!m)
        return;
    git_repository_free(m->repo);
    free(m->url);
    free(m->path);
    free(m);
}

int mirror_ls_remote(const char *url, const struct mirror_auth *auth, size_t *out_refs)
{
    git_remote *remote = NULL;
    git_remote_callbacks callbacks;
    struct remote_session session;
    const git_remote_head **heads = NULL;
    size_t nheads = 0, i;
    enum remote_kind kind;
    char *local = NULL;
    struct stat st;
    int64_t started = time_mono_ms();
    int rc;

    *out_refs = 0;
    memset(&session, 0, sizeof(session));
    session.auth = auth;
    session.url = url;
    git_remote_init_callbacks(&callbacks, GIT_REMOTE_CALLBACKS_VERSION);
    remote_session_bind(&session, &callbacks);
    if ((rc = remote_kind(url, &kind)) < 0)
        goto out;
    if (kind == REMOTE_LOCAL) {
        if ((rc = mirror_local_path(&local, url)) < 0)
            goto out;
        if (!local || stat(local, &st) != 0) {
            rc = err_set(ERR_NOTFOUND, "%s: repository not found", url);
            goto out;
        }
    }
    if (git_remote_create_detached(&remote, url) < 0 ||
        git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, NULL, NULL) < 0) {
        rc = remote_session_fail(&session, "connecting");
        goto out;
    }
    if (git_remote_ls(&heads, &nheads, remote) < 0) {
        rc = remote_session_fail(&session, "listing refs");
        goto out;
    }
    for (i = 0; i < nheads; i++)
        if (str_has_prefix(heads[i]->name, "refs/heads/") ||
            str_has_prefix(heads[i]->name, "refs/tags/"))
            (*out_refs)++;
    rc = 0;
out:
    gitstats_observe(url, GITSTATS_LS_REMOTE, (double)(time_mono_ms() - started) / 1000.0);
    if (remote)
        git_remote_disconnect(remote);
    git_remote_free(remote);
    free(local);
    return rc;
}

/* Point the mirror's HEAD at branch (a full ref name), writing only when
 * it changes. */
static int mirror_set_head(mirror *m, const char *branch)
{
    git_reference *head = NULL, *made = NULL;
    int rc = 0;

    if (git_reference_lookup(&head, m->repo, "HEAD") == 0 &&
        git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
        strcmp(git_reference_symbolic_target(head), branch) == 0)
        goto out;
    if (git_reference_symbolic_create(&made, m->repo, "HEAD", branch, 1, "edgecd: remote HEAD") < 0)
        rc = err_set(ERR_IO, "%s: recording HEAD: %s", m->url, mirror_git_msg());
out:
    git_reference_free(head);
    git_reference_free(made);
    return rc;
}

/* 1 if every branch and tag the remote lists (heads, n) is in the mirror
 * at the same id and the mirror has no other branch or tag: nothing to
 * download. */
static int mirror_refs_current(mirror *m, const git_remote_head **heads, size_t n)
{
    git_reference_iterator *it = NULL;
    git_reference *ref = NULL;
    size_t listed = 0, local = 0, i;
    int same = 1;

    for (i = 0; i < n && same; i++) {
        git_oid have;
        const char *name = heads[i]->name;
        if ((!str_has_prefix(name, "refs/heads/") && !str_has_prefix(name, "refs/tags/")) ||
            str_has_suffix(name, "^{}"))
            continue;
        listed++;
        same = git_reference_name_to_id(&have, m->repo, name) == 0 &&
               git_oid_equal(&have, &heads[i]->oid);
    }
    if (!same || git_reference_iterator_glob_new(&it, m->repo, "refs/*") < 0)
        return 0;
    while (git_reference_next(&ref, it) == 0) {
        const char *name = git_reference_name(ref);
        local += str_has_prefix(name, "refs/heads/") || str_has_prefix(name, "refs/tags/");
        git_reference_free(ref);
    }
    git_reference_iterator_free(it);
    return local == listed;
}

int mirror_has_refs(mirror *m)
{
    return !mirror_refs_current(m, NULL, 0);
}

int mirror_fetch(mirror *m)
{
    return mirror_fetch_from(m, NULL, NULL, NULL);
}

int mirror_fetch_from(mirror *m, const char *url, const struct mirror_auth *auth,
                      int *out_downloaded)
{
    git_remote *remote = NULL;
    git_remote_callbacks callbacks;
    git_fetch_options opts;
    git_buf head = {NULL, 0, 0};
    struct remote_session session;
    const git_remote_head **heads = NULL;
    size_t nheads = 0;
    enum remote_kind kind;
    char *local = NULL;
    struct stat st;
    int rc = 0, head_rc;
    int64_t started = time_mono_ms();

    if (out_downloaded)
        *out_downloaded = 0;
    if (!url)
        url = m->url;
    memset(&m->stats, 0, sizeof(m->stats));
    memset(&session, 0, sizeof(session));
    session.auth = auth;
    session.url = url;
    session.limits = &m->limits;
    git_remote_init_callbacks(&callbacks, GIT_REMOTE_CALLBACKS_VERSION);
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    remote_session_bind(&session, &callbacks);

    if ((rc = remote_kind(url, &kind)) < 0)
        goto out;
    if (kind == REMOTE_LOCAL) {
        if ((rc = mirror_local_path(&local, url)) < 0)
            goto out;
        if (!local || stat(local, &st) != 0) {
            rc = err_set(ERR_NOTFOUND, "%s: repository not found", url);
            goto out;
        }
    }
    if (git_remote_lookup(&remote, m->repo, "origin") < 0) {
        rc = err_set(ERR_IO, "%s: mirror %s: %s", m->url, m->path, mirror_git_msg());
        goto out;
    }
    /* A rewritten URL is used for this connection only: the mirror stays
     * the mirror of its own URL. */
    if (strcmp(url, m->url) != 0 && git_remote_set_instance_url(remote, url) < 0) {
        rc = remote_session_fail(&session, "connecting");
        goto out;
    }
    if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, NULL, NULL) < 0) {
        rc = remote_session_fail(&session, "connecting");
        goto out;
    }
    /* Asked while connected: the fetch below reuses this connection, so
     * HEAD and the refs come from the same listing. */
    head_rc = git_remote_default_branch(&head, remote);
    if (head_rc < 0 && head_rc != GIT_ENOTFOUND) {
        rc = remote_session_fail(&session, "reading HEAD");
        goto out;
    }
    if (git_remote_ls(&heads, &nheads, remote) < 0) {
        rc = remote_session_fail(&session, "listing refs");
        goto out;
    }
    gitstats_observe(url, GITSTATS_LS_REMOTE, (double)(time_mono_ms() - started) / 1000.0);
    started = 0; /* counted */
    if (!mirror_refs_current(m, heads, nheads)) {
        int64_t fetch_started = time_mono_ms();
        /* A local source's packs are copied as they are; libgit2's fetch
         * then only sets the refs (or packs what the copy left out). */
        if (kind == REMOTE_LOCAL && ((rc = localfetch_copy(m, local, url, &m->stats)) < 0 ||
                                     (rc = localfetch_check_connected(m, heads, nheads, url)) < 0))
            goto out;
        opts.prune = GIT_FETCH_PRUNE;
        opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
        /* FETCH_HEAD is for people merging by hand; skipping it saves a
         * write per poll on flash. */
        opts.update_fetchhead = 0;
        opts.callbacks = callbacks;
        if (git_remote_fetch(remote, NULL, &opts, "edgecd: fetch") < 0) {
            rc = remote_session_fail(&session, "fetch");
            goto out;
        }
        m->stats.received = git_remote_stats(remote)->received_objects;
        if (out_downloaded)
            *out_downloaded = 1;
        gitstats_observe(url, GITSTATS_FETCH, (double)(time_mono_ms() - fetch_started) / 1000.0);
    }
    /* An empty source or a detached HEAD has no default branch: the
     * mirror keeps the HEAD it had. */
    if (head_rc == 0 && str_has_prefix(head.ptr, "refs/heads/"))
        rc = mirror_set_head(m, head.ptr);
out:
    /* a connection that failed before listing counts as a (failed) ls-remote */
    if (started && rc < 0)
        gitstats_observe(url, GITSTATS_LS_REMOTE, (double)(time_mono_ms() - started) / 1000.0);
    git_buf_dispose(&head);
    if (remote)
        git_remote_disconnect(remote);
    git_remote_free(remote);
    free(local);
    return rc;
}

static int mirror_peel_ref(mirror *m, const char *refname, const char *rev, git_oid *out)
{
    git_reference *ref = NULL;
    git_object *obj = NULL;
    int rc, grc;

    grc = git_reference_lookup(&ref, m->repo, refname);
    if (grc == GIT_ENOTFOUND || grc == GIT_EINVALIDSPEC) {
        rc = 0;
        goto out;
    }
    if (grc < 0) {
        rc = err_set(ERR_IO, "%s: %s: %s", m->url, refname, mirror_git_msg());
        goto out;
    }
    grc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    if (grc == GIT_ENOTFOUND) {
        /* a symbolic ref to an unborn branch, e.g. HEAD of an empty repo */
        rc = 0;
        goto out;
    }
    if (grc < 0) {
        rc = err_set(ERR_INVALID, "revision \"%s\" in %s is not a commit: %s", rev, m->url,
                     mirror_git_msg());
        goto out;
    }
    git_oid_cpy(out, git_object_id(obj));
    rc = 1;
out:
    git_object_free(obj);
    git_reference_free(ref);
    return rc;
}

/* rev as a full or abbreviated commit id. 1 if found, 0 if not. */
static int mirror_lookup_sha(mirror *m, const char *rev, git_oid *out)
{
    git_oid oid;
    git_object *obj = NULL, *commit = NULL;
    size_t len = strlen(rev), i;
    int rc, grc;

    if (len < GIT_OID_MINPREFIXLEN || len > GIT_OID_HEXSZ)
        return 0;
    for (i = 0; i < len; i++) {
        if (mirror_hexval(rev[i]) < 0)
            return 0;
    }
    if (git_oid_fromstrn(&oid, rev, len) < 0)
        return 0;
    grc = git_object_lookup_prefix(&obj, m->repo, &oid, len, GIT_OBJECT_ANY);
    if (grc == GIT_ENOTFOUND) {
        rc = 0;
        goto out;
    }
    if (grc == GIT_EAMBIGUOUS) {
        rc = err_set(ERR_INVALID, "revision \"%s\" is ambiguous in %s: give more digits", rev,
                     m->url);
        goto out;
    }
    if (grc < 0) {
        rc = err_set(ERR_IO, "%s: looking up %s: %s", m->url, rev, mirror_git_msg());
        goto out;
    }
    if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
        rc = err_set(ERR_INVALID, "revision \"%s\" in %s is not a commit", rev, m->url);
        goto out;
    }
    git_oid_cpy(out, git_object_id(commit));
    rc = 1;
out:
    git_object_free(commit);
    git_object_free(obj);
    return rc;
}

/* The highest tag whose name (with or without a leading "v") is a version
 * that satisfies constraint rev. 1 if found, 0 if none, negative on
 * error. */
static int mirror_resolve_semver(mirror *m, const char *rev, git_oid *out)
{
    semver_constraint *c = NULL;
    git_strarray tags = {NULL, 0};
    struct semver best, v;
    const char *best_name = NULL;
    char *refname = NULL;
    int rc;

    if ((rc = semver_constraint_parse(&c, rev)) < 0)
        return err_prefix(rc, "%s: targetRevision", m->url);
    if (git_tag_list(&tags, m->repo) < 0) {
        rc = err_set(ERR_IO, "%s: listing tags: %s", m->url, mirror_git_msg());
        goto out;
    }
    for (size_t i = 0; i < tags.count; i++) {
        if (semver_parse(&v, tags.strings[i]) < 0) {
            err_clear();
            continue;
        }
        if (!semver_satisfies(c, &v))
            continue;
        if (!best_name || semver_cmp(&v, &best) > 0) {
            best = v;
            best_name = tags.strings[i];
        }
    }
    rc = 0;
    if (best_name) {
        refname = xasprintf("refs/tags/%s", best_name);
        rc = mirror_peel_ref(m, refname, best_name, out);
    }
out:
    free(refname);
    git_strarray_dispose(&tags);
    semver_constraint_free(c);
    return rc;
}

int mirror_resolve(mirror *m, const char *rev, char out_sha[41])
{
    git_oid oid;
    char *refname = NULL;
    int rc;

    if (!rev || !rev[0] || strcmp(rev, "HEAD") == 0) {
        rc = mirror_peel_ref(m, "HEAD", "HEAD", &oid);
        rev = "HEAD";
        goto done;
    }
    /* Branches before tags, as Argo CD matches ls-remote's sorted list. */
    refname = xasprintf("refs/heads/%s", rev);
    if ((rc = mirror_peel_ref(m, refname, rev, &oid)) != 0)
        goto done;
    free(refname);
    refname = xasprintf("refs/tags/%s", rev);
    if ((rc = mirror_peel_ref(m, refname, rev, &oid)) != 0)
        goto done;
    if (str_has_prefix(rev, "refs/") && (rc = mirror_peel_ref(m, rev, rev, &oid)) != 0)
        goto done;
    rc = mirror_lookup_sha(m, rev, &oid);
    /* Not a ref or a commit: a semver constraint on tags, as Argo CD reads
     * "1.x", ">=1.2.0 <2" or "~1.4". */
    if (rc == 0 && semver_is_constraint(rev)) {
        rc = mirror_resolve_semver(m, rev, &oid);
        if (rc == 0)
            rc = err_set(ERR_NOTFOUND, "no tag in %s satisfies \"%s\"", m->url, rev);
    } else if (rc == 0 && semver_is_version(rev)) {
        /* "1.2" or "1.2.3" with no such tag: tags "v1.2.x" / "v1.2.3" */
        rc = mirror_resolve_semver(m, rev, &oid);
    }
done:
    if (rc == 0)
        rc = err_set(ERR_NOTFOUND, "revision \"%s\" not found in %s", rev, m->url);
    if (rc > 0) {
        git_oid_tostr(out_sha, 41, &oid);
        rc = 0;
    }
    free(refname);
    return rc;
}

void mirror_files_dispose(struct mirror_files *files)
{
    size_t i;

    if (!files)
        return;
    for (i = 0; i < files->n; i++) {
        free(files->v[i].path);
        free(files->v[i].data);
    }
    free(files->v);
    files->v = NULL;
    files->n = 0;
}

void mirror_set_pack_limits(mirror *m, const struct mirror_pack_limits *limits)
{
    m->limits = *limits;
}

const struct mirror_pack_limits *mirror_pack_limits(const mirror *m)
{
    return &m->limits;
}

void mirror_last_fetch_stats(const mirror *m, struct mirror_fetch_stats *out)
{
    *out = m->stats;
}

git_repository *mirror_git_repo(mirror *m)
{
    return m->repo;
}

const char *mirror_url(const mirror *m)
{
    return m->url;
}
