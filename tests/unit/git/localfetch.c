/*
 * Tests for appliance/git/localfetch.c, through mirror_fetch_from: a
 * local source's packs are copied as they are (same bytes), its loose
 * objects packed, and a source edgecd must not trust (damaged or thin
 * packs, missing objects, symbolic links, alternates, over the limits)
 * is refused with the mirror's refs as they were. Sources are made by
 * the real git command.
 */
#include "git/mirror.h"

#include <fcntl.h>

#include "test.h"
#include "gitfix.h"

/* The mirror folder of url (caller frees). */
static char *mirror_path(const char *url)
{
    char hex[65];
    util_sha256_hex(url, strlen(url), hex);
    return xasprintf("%s/%.16s.git", mirrors, hex);
}

/* "refname id" lines of the branches and tags of the repository at dir
 * (caller frees; "" when it has none or does not exist). */
static char *refs_of(const char *dir)
{
    char *out = NULL;
    if (sh_out(&out,
               "git -C '%s' for-each-ref --format='%%(refname) %%(objectname)' "
               "refs/heads refs/tags",
               dir) < 0) {
        free(out);
        out = xstrdup("");
    }
    return out;
}

/* 0 if the repositories at a and b have the same branches and tags, at
 * least one. */
static int same_refs(const char *a, const char *b)
{
    char *ra = refs_of(a), *rb = refs_of(b);
    int rc = ra[0] && strcmp(ra, rb) == 0 ? 0 : -1;

    if (rc < 0)
        fprintf(stderr, "refs of %s:\n%s\nrefs of %s:\n%s\n", a, ra, b, rb);
    free(ra);
    free(rb);
    return rc;
}

/* The sorted ids of every object in the repository at dir (caller frees). */
static char *objects_of(const char *dir)
{
    char *out = NULL;
    sh_out(&out, "git -C '%s' cat-file --batch-all-objects --batch-check='%%(objectname)' | sort",
           dir);
    return out;
}

/* The one pack file name in dir/.git/objects/pack (caller frees). */
static char *pack_name(const char *dir)
{
    char *out = NULL;
    if (sh_out(&out, "cd '%s/.git/objects/pack' && ls -t pack-*.pack | head -1 | tr -d '\\n'",
               dir) < 0 ||
        !out[0]) {
        free(out);
        return NULL;
    }
    return out;
}

/* Invert one byte in the middle of file (under tmp). */
static int flip_byte(const char *file)
{
    char *path = xasprintf("%s/%s", tmp, file);
    unsigned char c;
    off_t at;
    int fd, rc = -1;

    chmod(path, 0644);
    fd = open(path, O_RDWR);
    if (fd >= 0 && (at = lseek(fd, 0, SEEK_END)) > 64) {
        at /= 2;
        if (pread(fd, &c, 1, at) == 1) {
            c ^= 0xff;
            rc = pwrite(fd, &c, 1, at) == 1 ? 0 : -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static void stats_of(mirror *m, struct mirror_fetch_stats *st)
{
    memset(st, 0xff, sizeof(*st));
    mirror_last_fetch_stats(m, st);
}

TEST(copies_the_sources_packs_as_they_are)
{
    mirror *m = NULL;
    struct mirror_fetch_stats st;
    char *url, *mpath, *pack = NULL, *a = NULL, *b = NULL, *out = NULL;
    int dl = -1;

    /* a pack and, on top, one commit of loose objects (commit, tree, blob) */
    CHECK_OK(make_source("fast"));
    CHECK_OK(sh("cd fast && git repack -q -a -d && echo x > x.yaml && git add -A && " GIT
                " commit -qm loose"));
    CHECK((pack = pack_name("fast")) != NULL);
    url = xasprintf("%s/fast", tmp);
    mpath = mirror_path(url);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 1);
    stats_of(m, &st);
    CHECK(st.local_copy == 1);
    CHECK(st.packs == 1);
    CHECK(st.pack_objects == 12);
    CHECK(st.loose == 3);
    CHECK(st.received == 0); /* libgit2's fetch only set the refs */
    /* the pack arrived byte for byte, deltas and all */
    CHECK_OK(sh("cmp fast/.git/objects/pack/%s '%s/objects/pack/%s'", pack, mpath, pack));
    /* exactly the source's refs, objects and default branch */
    CHECK_OK(same_refs("fast", mpath));
    CHECK_OK(sh("git -C '%s' rev-parse -q --verify refs/tags/v1-annotated", mpath));
    a = objects_of("fast");
    b = objects_of(mpath);
    CHECK(strlen(a) == 15 * 41);
    CHECK_STR(b, a);
    CHECK_OK(sh_out(&out, "git -C '%s' symbolic-ref HEAD", mpath));
    CHECK_STR(out, "refs/heads/main\n");
    CHECK_OK(sh("git -C '%s' fsck --strict --no-progress", mpath));
    /* nothing is left to fetch, for edgecd or for git */
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 0);
    free(out);
    CHECK_OK(sh_out(&out, "git -C '%s' fetch --dry-run --prune origin 2>&1", mpath));
    CHECK_STR(out, "");
    free(out);
    free(a);
    free(b);
    free(pack);
    free(mpath);
    free(url);
    mirror_free(m);
}

TEST(later_fetches_copy_only_what_is_new)
{
    mirror *m = NULL;
    struct mirror_fetch_stats st;
    char *url, *mpath;
    int dl = -1;

    CHECK_OK(make_source("inc"));
    CHECK_OK(sh("cd inc && git repack -q -a -d"));
    url = xasprintf("%s/inc", tmp);
    mpath = mirror_path(url);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_OK(mirror_fetch(m));
    /* two commits packed on their own: only that pack is copied */
    CHECK_OK(sh("cd inc && for i in 1 2; do echo $i > n$i.yaml && git add -A && " GIT
                " commit -qm n$i; done && git repack -q -d"));
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    stats_of(m, &st);
    CHECK(dl == 1 && st.local_copy == 1 && st.packs == 1 && st.pack_objects == 6);
    CHECK(st.loose == 0 && st.received == 0);
    /* one loose commit: three loose objects, no pack */
    CHECK_OK(sh("cd inc && echo 3 > n3.yaml && git add -A && " GIT " commit -qm n3"));
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    stats_of(m, &st);
    CHECK(dl == 1 && st.local_copy == 1 && st.packs == 0 && st.loose == 3 && st.received == 0);
    CHECK_OK(same_refs("inc", mpath));
    /* repacked whole with one new commit: the mirror holds most of the
     * pack, so it is not stored twice; libgit2 sends the new objects
     * (and, as it always does, each annotated tag with its commit) */
    CHECK_OK(sh("cd inc && echo 4 > n4.yaml && git add -A && " GIT
                " commit -qm n4 && git repack -q -a -d"));
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    stats_of(m, &st);
    CHECK(dl == 1 && st.local_copy == 0 && st.packs == 0 && st.received >= 3);
    CHECK_OK(same_refs("inc", mpath));
    /* repacked with more new objects than known ones: copied whole */
    CHECK_OK(
        sh("cd inc && for i in 1 2 3 4 5 6 7 8 9 10; do echo $i > m$i.yaml && git add -A && " GIT
           " commit -qm m$i; done && git repack -q -a -d"));
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    stats_of(m, &st);
    CHECK(dl == 1 && st.local_copy == 1 && st.packs == 1 && st.received == 0);
    CHECK_OK(same_refs("inc", mpath));
    CHECK_OK(sh("git -C '%s' fsck --strict --no-progress", mpath));
    free(mpath);
    free(url);
    mirror_free(m);
}

TEST(a_damaged_pack_is_refused_and_refs_stay)
{
    mirror *m = NULL;
    char *url, *mpath, *pack = NULL, *file = NULL, *before = NULL, *after = NULL;

    CHECK_OK(make_source("bad"));
    CHECK_OK(sh("cd bad && git repack -q -a -d"));
    url = xasprintf("%s/bad", tmp);
    mpath = mirror_path(url);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_OK(mirror_fetch(m));
    before = refs_of(mpath);
    CHECK(before[0] != '\0');
    /* a new pack with one byte changed */
    CHECK_OK(sh("cd bad && for i in 1 2; do seq 1 $((i * 300)) > n$i.yaml && git add -A && " GIT
                " commit -qm n$i; done && git repack -q -d"));
    CHECK((pack = pack_name("bad")) != NULL);
    file = xasprintf("bad/.git/objects/pack/%s", pack);
    CHECK_OK(flip_byte(file));
    CHECK_ERR(mirror_fetch(m), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "bad pack");
    CHECK_CONTAINS(err_last(), pack);
    after = refs_of(mpath);
    CHECK_STR(after, before);
    mirror_free(m);
    m = NULL;
    /* and into an empty mirror: still no refs */
    free(url);
    url = xasprintf("file://%s/bad", tmp);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_ERR(mirror_fetch(m), ERR_INVALID);
    CHECK(!mirror_has_refs(m));
    free(before);
    free(after);
    free(file);
    free(pack);
    free(mpath);
    free(url);
    mirror_free(m);
}

TEST(a_missing_delta_base_is_refused)
{
    mirror *m = NULL;
    char main_id[41];

    CHECK_OK(make_thin_pack("thinsrc"));
    CHECK_OK(rev_parse("thinsrc", "main", main_id));
    /* a source holding only that pack (its index unreadable: a hint only) */
    CHECK_OK(sh(GIT " init -q --bare thin.git && "
                    "cp thinsrc.pack thin.git/objects/pack/pack-%040d.pack && "
                    "echo junk > thin.git/objects/pack/pack-%040d.idx && "
                    "echo %s > thin.git/refs/heads/main",
                0, 0, main_id));
    CHECK_OK(open_source(&m, "thin.git"));
    CHECK_ERR(mirror_fetch(m), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "a delta's base object is not in the pack");
    CHECK(!mirror_has_refs(m));
    mirror_free(m);
}

TEST(an_incomplete_source_is_refused)
{
    mirror *m = NULL;
    char *path = NULL;

    CHECK_OK(make_source("hole"));
    CHECK_OK(sh_out(&path, "cd hole && b=$(git rev-parse main:apps/b.yaml) && "
                           "echo .git/objects/$(echo $b | cut -c1-2)/$(echo $b | cut -c3-)"));
    CHECK_OK(sh("cd hole && rm -f %s", path));
    CHECK_OK(open_source(&m, "hole"));
    CHECK_ERR(mirror_fetch(m), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "the source's objects are incomplete");
    CHECK(!mirror_has_refs(m));
    /* the objects copied before the check do not make the next one pass */
    CHECK_ERR(mirror_fetch(m), ERR_INVALID);
    CHECK(!mirror_has_refs(m));
    free(path);
    mirror_free(m);
}

TEST(limits_refuse_oversized_sources)
{
    mirror *m = NULL;
    struct mirror_pack_limits lim = MIRROR_PACK_LIMITS_INIT;
    char *url, *mpath, *before = NULL, *after = NULL;

    CHECK_OK(make_source("big"));
    CHECK_OK(sh("cd big && git repack -q -a -d && echo x > x.yaml && git add -A && " GIT
                " commit -qm loose"));
    url = xasprintf("%s/big", tmp);
    mpath = mirror_path(url);
    CHECK_OK(mirror_open(&m, mirrors, url));
    lim.max_objects = 3;
    mirror_set_pack_limits(m, &lim);
    CHECK_ERR(mirror_fetch(m), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "over the limit of 3 objects");
    CHECK_CONTAINS(err_last(), "/big: objects/pack/pack-");
    CHECK(!mirror_has_refs(m));
    lim = (struct mirror_pack_limits)MIRROR_PACK_LIMITS_INIT;
    lim.max_bytes = 100;
    mirror_set_pack_limits(m, &lim);
    CHECK_ERR(mirror_fetch(m), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "over the limit of 100 bytes");
    CHECK(!mirror_has_refs(m));
    lim = (struct mirror_pack_limits)MIRROR_PACK_LIMITS_INIT;
    mirror_set_pack_limits(m, &lim);
    CHECK_OK(mirror_fetch(m));
    before = refs_of(mpath);
    /* what libgit2's own fetch transfers (the pack is held, see above)
     * is limited too */
    CHECK_OK(sh("cd big && echo y > y.yaml && git add -A && " GIT
                " commit -qm y && git repack -q -a -d"));
    lim.max_objects = 2;
    mirror_set_pack_limits(m, &lim);
    CHECK_ERR(mirror_fetch(m), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "objects are over the limit of 2");
    after = refs_of(mpath);
    CHECK_STR(after, before);
    mirror_free(m);
    m = NULL;
    /* loose objects count as well */
    CHECK_OK(make_source("big-loose"));
    CHECK_OK(open_source(&m, "big-loose"));
    lim.max_objects = 5;
    mirror_set_pack_limits(m, &lim);
    CHECK_ERR(mirror_fetch(m), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "over the limit of 5 objects");
    CHECK(!mirror_has_refs(m));
    mirror_free(m);
    m = NULL;
    /* a loose object small on disk that inflates beyond the byte limit */
    CHECK_OK(make_source("big-inflated"));
    CHECK_OK(sh("cd big-inflated && head -c 100000 /dev/zero > zeros && git add -A && " GIT
                " commit -qm zeros"));
    CHECK_OK(open_source(&m, "big-inflated"));
    lim = (struct mirror_pack_limits)MIRROR_PACK_LIMITS_INIT;
    lim.max_bytes = 20000;
    mirror_set_pack_limits(m, &lim);
    CHECK_ERR(mirror_fetch(m), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), ": 100000 bytes, over the limit of 20000 bytes");
    CHECK(!mirror_has_refs(m));
    free(before);
    free(after);
    free(mpath);
    free(url);
    mirror_free(m);
}

/* Fetch the source tmp/name and expect ERR_INVALID with msg, no refs. */
static int refused(const char *name, const char *msg)
{
    mirror *m = NULL;
    int rc = open_source(&m, name) == 0 && mirror_fetch(m) == ERR_INVALID &&
                     strstr(err_last(), msg) && !mirror_has_refs(m)
                 ? 0
                 : -1;
    if (rc < 0)
        fprintf(stderr, "%s: expected \"%s\", got: %s\n", name, msg, err_last());
    mirror_free(m);
    return rc;
}

TEST(links_and_alternates_are_refused)
{
    /* a pack file that is a link to a file elsewhere */
    CHECK_OK(make_source("ln1"));
    CHECK_OK(sh("cd ln1 && git repack -q -a -d && cd .git/objects/pack && p=$(ls pack-*.pack) && "
                "mv $p '%s/elsewhere.pack' && ln -s '%s/elsewhere.pack' $p",
                tmp, tmp));
    CHECK_OK(refused("ln1", ".pack is a symbolic link"));
    /* a loose object folder that is a link */
    CHECK_OK(make_source("ln2"));
    CHECK_OK(sh("cd ln2/.git/objects && d=$(ls -d [0-9a-f][0-9a-f] | head -1) && "
                "mv $d '%s/elsewhere-dir' && ln -s '%s/elsewhere-dir' $d",
                tmp, tmp));
    CHECK_OK(refused("ln2", "is a symbolic link: a source repository must hold its objects"));
    /* the whole objects folder a link */
    CHECK_OK(make_source("ln3"));
    CHECK_OK(sh("mv ln3/.git/objects ln3-objects && ln -s '%s/ln3-objects' ln3/.git/objects", tmp));
    CHECK_OK(refused("ln3", "objects is a symbolic link"));
    /* a clone that borrows its objects */
    CHECK_OK(make_source("lender"));
    CHECK_OK(sh("git clone -q --shared lender borrower"));
    CHECK_OK(
        refused("borrower", "objects/info/alternates borrows objects from another repository"));
}

int main(void)
{
    gitfix_init("git_localfetch");
    RUN(copies_the_sources_packs_as_they_are);
    RUN(later_fetches_copy_only_what_is_new);
    RUN(a_damaged_pack_is_refused_and_refs_stay);
    RUN(a_missing_delta_base_is_refused);
    RUN(an_incomplete_source_is_refused);
    RUN(limits_refuse_oversized_sources);
    RUN(links_and_alternates_are_refused);
    gitfix_done();
    return TEST_END();
}
