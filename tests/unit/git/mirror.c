/*
 * Tests for appliance/git/mirror.c. Source repositories are made with the
 * real git command at test time and fetched as local paths or file://
 * URLs (how a local source's packs are copied: tests/unit/git/localfetch.c).
 */
#include "git/mirror.h"
#include "git/tree.h"

#include "core/fs.h"
#include "core/util.h"
#include "test.h"
#include "gitfix.h"

TEST(lib_version)
{
    char v[64];
    mirror_lib_version(v, sizeof(v));
    CHECK_STR(v, "libgit2 1.5.1");
}

TEST(resolves_branches_tags_shas_and_head)
{
    mirror *m = NULL;
    char c1[41], c2[41], sha[41], short_sha[8];

    CHECK_OK(make_source("src1"));
    CHECK_OK(rev_parse("src1", "dev", c1));
    CHECK_OK(rev_parse("src1", "main", c2));
    CHECK_OK(open_source(&m, "src1"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, "main", sha));
    CHECK_STR(sha, c2);
    CHECK_OK(mirror_resolve(m, "dev", sha));
    CHECK_STR(sha, c1);
    CHECK_OK(mirror_resolve(m, "v1", sha));
    CHECK_STR(sha, c1);
    CHECK_OK(mirror_resolve(m, "v1-annotated", sha));
    CHECK_STR(sha, c1);
    CHECK_OK(mirror_resolve(m, c1, sha));
    CHECK_STR(sha, c1);
    str_copy(short_sha, c1, sizeof(short_sha));
    CHECK_OK(mirror_resolve(m, short_sha, sha));
    CHECK_STR(sha, c1);
    CHECK_OK(mirror_resolve(m, "refs/heads/dev", sha));
    CHECK_STR(sha, c1);
    /* the source's default branch is main, not libgit2's master */
    CHECK_OK(mirror_resolve(m, "HEAD", sha));
    CHECK_STR(sha, c2);
    CHECK_OK(mirror_resolve(m, "", sha));
    CHECK_STR(sha, c2);
    CHECK_ERR(mirror_resolve(m, "nope", sha), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "revision \"nope\" not found in ");
    CHECK_CONTAINS(err_last(), "/src1");
    CHECK_ERR(mirror_resolve(m, "0000000000000000000000000000000000000000", sha), ERR_NOTFOUND);
    CHECK_ERR(mirror_resolve(m, "../../etc", sha), ERR_NOTFOUND);
    /* a source switching its default branch is followed */
    CHECK_OK(sh("git -C src1 symbolic-ref HEAD refs/heads/dev"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, "HEAD", sha));
    CHECK_STR(sha, c1);
    mirror_free(m);
}

TEST(second_fetch_sees_new_commits_and_prunes)
{
    mirror *m = NULL;
    char c3[41], sha[41];

    CHECK_OK(make_source("src2"));
    CHECK_OK(open_source(&m, "src2"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, "dev", sha));
    CHECK_OK(mirror_resolve(m, "v1", sha));
    CHECK_OK(sh("cd src2 && echo c3 > c3.yaml && git add -A && " GIT " commit -qm c3 && "
                "git branch -D dev && git tag -d v1"));
    CHECK_OK(rev_parse("src2", "main", c3));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, "main", sha));
    CHECK_STR(sha, c3);
    CHECK_ERR(mirror_resolve(m, "dev", sha), ERR_NOTFOUND);
    CHECK_ERR(mirror_resolve(m, "v1", sha), ERR_NOTFOUND);
    mirror_free(m);
    /* a second handle on the same URL reuses the same mirror */
    CHECK_OK(open_source(&m, "src2"));
    CHECK_OK(mirror_resolve(m, "main", sha));
    CHECK_STR(sha, c3);
    mirror_free(m);
}

TEST(unchanged_refs_skip_the_download)
{
    mirror *m = NULL;
    char *mirror_url, sha[41], want[41];
    int dl = -1;

    CHECK(make_source("lsr") == 0);
    CHECK_OK(open_source(&m, "lsr"));
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 1);
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 0); /* every ref matches: nothing downloaded */
    /* a new commit, a removed branch, a moved tag: each downloads */
    CHECK(sh("cd lsr && echo x > x && git add -A && " GIT " commit -qm c3") == 0);
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 1);
    CHECK(rev_parse("lsr", "main", want) == 0);
    CHECK_OK(mirror_resolve(m, "main", sha));
    CHECK_STR(sha, want);
    CHECK(sh("cd lsr && git branch -D dev") == 0);
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 1);
    CHECK_ERR(mirror_resolve(m, "dev", sha), ERR_NOTFOUND);
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 0);
    CHECK(sh("cd lsr && git tag -f v1 main") == 0);
    CHECK_OK(mirror_fetch_from(m, NULL, NULL, &dl));
    CHECK(dl == 1);
    CHECK_OK(mirror_resolve(m, "v1", sha));
    CHECK_STR(sha, want);
    mirror_free(m);

    /* fetching from another URL (a rewrite rule) fills the mirror of the
     * original URL, which keeps its own name */
    CHECK(make_source("lsr-copy") == 0);
    CHECK_OK(mirror_open(&m, mirrors, "https://upstream.invalid/org/lsr.git"));
    mirror_url = xasprintf("file://%s/lsr-copy", tmp);
    CHECK_OK(mirror_fetch_from(m, mirror_url, NULL, &dl));
    CHECK(dl == 1);
    CHECK(rev_parse("lsr-copy", "main", want) == 0);
    CHECK_OK(mirror_resolve(m, "HEAD", sha));
    CHECK_STR(sha, want);
    free(mirror_url);
    mirror_free(m);
}

TEST(mirror_is_bare_named_by_url_hash)
{
    mirror *m = NULL;
    char hex[65], *url, *path, *cmd;

    CHECK_OK(make_source("src3"));
    url = xasprintf("file://%s/src3", tmp);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_OK(mirror_fetch(m));
    util_sha256_hex(url, strlen(url), hex);
    path = xasprintf("%s/%.16s.git", mirrors, hex);
    CHECK(fs_exists(path));
    cmd = xasprintf("%s/HEAD", path);
    CHECK(fs_exists(cmd));
    free(cmd);
    /* no working tree: none of the source's files exist as files */
    cmd =
        xasprintf("test -z \"$(find '%s' -name '*.yaml' -o -name README.md -o -name apps)\"", path);
    CHECK(system(cmd) == 0);
    free(cmd);
    /* the URL is in the mirror's own config, with both refspecs */
    cmd = xasprintf("test \"$(git --git-dir='%s' config remote.origin.url)\" = '%s' && "
                    "git --git-dir='%s' config --get-all remote.origin.fetch | grep -qx "
                    "'+refs/tags/\\*:refs/tags/\\*' && "
                    "test \"$(git --git-dir='%s' rev-parse --is-bare-repository)\" = true",
                    path, url, path, path);
    CHECK(system(cmd) == 0);
    free(cmd);
    free(path);
    free(url);
    mirror_free(m);
}

TEST(unsupported_and_missing_sources)
{
    mirror *m = NULL;
    char *url;

    /* ssh and unknown schemes name a mirror (a bundle can fill it) but
     * are not fetched; userinfo never shows in the message */
    static const struct {
        const char *url, *shown, *msg;
    } remote[] = {
        {"ssh://git@example.com/x.git", "ssh://example.com/x.git", "ssh is not supported"},
        {"git@example.com:x.git", "git@example.com:x.git", "ssh is not supported"},
        {"git+ssh://example.com/x.git", "git+ssh://example.com/x.git", "ssh is not supported"},
        {"ftp://u:pw@example.com/x.git", "ftp://example.com/x.git", "unsupported URL scheme"},
    };
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
        CHECK_OK(mirror_open(&m, mirrors, remote[i].url));
        CHECK_ERR(mirror_fetch(m), ERR_UNSUPPORTED);
        CHECK_CONTAINS(err_last(), remote[i].msg);
        CHECK_CONTAINS(err_last(), remote[i].shown);
        CHECK(strstr(err_last(), "pw@") == NULL);
        mirror_free(m);
        m = NULL;
    }
    /* http(s) is fetched: nothing listens on port 1 */
    CHECK_OK(mirror_open(&m, mirrors, "http://user:s3cret@127.0.0.1:1/x.git"));
    CHECK_ERR(mirror_fetch(m), ERR_IO);
    CHECK_CONTAINS(err_last(), "http://127.0.0.1:1/x.git");
    CHECK(strstr(err_last(), "s3cret") == NULL);
    mirror_free(m);
    m = NULL;
    CHECK_ERR(mirror_open(&m, mirrors, ""), ERR_INVALID);
    CHECK(m == NULL);

    url = xasprintf("%s/does-not-exist", tmp);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_ERR(mirror_fetch(m), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), url);
    mirror_free(m);
    m = NULL;
    free(url);

    CHECK_OK(sh("mkdir -p notrepo"));
    url = xasprintf("file://%s/notrepo", tmp);
    CHECK_OK(mirror_open(&m, mirrors, url));
    CHECK_ERR(mirror_fetch(m), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), url);
    mirror_free(m);
    free(url);
}

TEST(empty_source)
{
    mirror *m = NULL;
    char sha[41];

    CHECK_OK(sh(GIT " init -q --bare empty.git"));
    CHECK_OK(open_source(&m, "empty.git"));
    CHECK_OK(mirror_fetch(m));
    CHECK_ERR(mirror_resolve(m, "HEAD", sha), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "revision \"HEAD\" not found");
    mirror_free(m);
}

/* A commit with links inside (followed), links out (refused when met),
 * a link cycle, a submodule and nested folders. */
static int make_linked_source(const char *name, char sha[41])
{
    char *repo;
    int rc;

    if (make_source(name) < 0)
        return -1;
    if (sh("cd %s && mkdir -p links base && printf 'kind: A\\n' > base/a.yaml && "
           "ln -s ../base links/to-base && ln -s ../base/a.yaml links/a.yaml && "
           "ln -s ../../etc links/out-dir && ln -s /etc/passwd links/abs.yaml && "
           "ln -s loop2 links/loop1 && ln -s loop1 links/loop2 && "
           "git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),base/module && "
           "git add -A && " GIT " commit -qm links",
           name) < 0)
        return -1;
    repo = xasprintf("%s", name);
    rc = rev_parse(repo, "HEAD", sha);
    free(repo);
    return rc;
}

TEST(tree_reads_lazily_and_follows_links_inside)
{
    mirror *m = NULL;
    mirror_tree *t = NULL;
    struct mirror_entry *v = NULL;
    size_t n = 0;
    char sha[41], *data = NULL;
    size_t len;

    CHECK_OK(make_linked_source("tsrc1", sha));
    CHECK_OK(open_source(&m, "tsrc1"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_tree_open(&t, m, sha, NULL));
    CHECK_CONTAINS(mirror_tree_name(t), "tsrc1@");
    CHECK(mirror_tree_stat(t, "") == MIRROR_ENTRY_DIR);
    CHECK(mirror_tree_stat(t, "apps/sub") == MIRROR_ENTRY_DIR);
    CHECK(mirror_tree_stat(t, "./apps/x/../cm.yaml") == MIRROR_ENTRY_FILE);
    CHECK(mirror_tree_stat(t, "apps/none.yaml") == 0);
    CHECK(mirror_tree_stat(t, "apps/cm.yaml/x") == 0);
    /* a link to a folder, then through it, then a link to a file */
    CHECK(mirror_tree_stat(t, "links/to-base") == MIRROR_ENTRY_DIR);
    CHECK_OK(mirror_tree_read(t, "links/to-base/a.yaml", &data, &len));
    CHECK_STR(data, "kind: A\n");
    free(data);
    CHECK_OK(mirror_tree_read(t, "links/a.yaml", &data, &len));
    CHECK(len == 8);
    free(data);
    /* the submodule is left out of listings */
    CHECK_OK(mirror_tree_list(t, "base", &v, &n));
    CHECK(n == 1);
    CHECK_STR(v[0].name, "a.yaml");
    mirror_entries_free(v, n);
    CHECK_OK(mirror_tree_list(t, "apps", &v, &n));
    CHECK(n == 3);
    CHECK_STR(v[0].name, "b.yaml");
    CHECK(v[2].type == MIRROR_ENTRY_DIR);
    mirror_entries_free(v, n);
    CHECK_ERR(mirror_tree_list(t, "apps/cm.yaml", &v, &n), ERR_NOTFOUND);
    CHECK_ERR(mirror_tree_read(t, "apps", &data, &len), ERR_NOTFOUND);
    CHECK(data == NULL);
    mirror_tree_free(t);
    mirror_free(m);
}

TEST(tree_refuses_escapes_and_cycles)
{
    mirror *m = NULL;
    mirror_tree *t = NULL;
    struct mirror_entry *v = NULL;
    size_t n = 0, len;
    char sha[41], *data = NULL;

    CHECK_OK(make_linked_source("tsrc2", sha));
    CHECK_OK(open_source(&m, "tsrc2"));
    CHECK_OK(mirror_fetch(m));
    CHECK_ERR(mirror_tree_open(&t, m, "abc", NULL), ERR_INVALID);
    CHECK_ERR(mirror_tree_open(&t, m, "0123456789012345678901234567890123456789", NULL),
              ERR_NOTFOUND);
    CHECK_OK(mirror_tree_open(&t, m, sha, NULL));
    CHECK_ERR(mirror_tree_read(t, "links/out-dir/passwd", &data, &len), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "links/out-dir: symbolic link to \"../../etc\" points outside");
    CHECK_ERR(mirror_tree_read(t, "links/abs.yaml", &data, &len), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "points outside the repository");
    CHECK_ERR(mirror_tree_read(t, "links/loop1", &data, &len), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "more than 16 symbolic links");
    /* listing a folder that holds an escaping link refuses the folder */
    CHECK_ERR(mirror_tree_list(t, "links", &v, &n), ERR_INVALID);
    CHECK(v == NULL && n == 0);
    CHECK_ERR(mirror_tree_read(t, "../x", &data, &len), ERR_INVALID);
    CHECK_ERR(mirror_tree_read(t, "/etc/passwd", &data, &len), ERR_INVALID);
    mirror_tree_free(t);
    mirror_free(m);
}

TEST(tree_limits_count_over_the_session)
{
    mirror *m = NULL;
    mirror_tree *t = NULL;
    struct mirror_limits lim = MIRROR_LIMITS_INIT;
    struct mirror_entry *v = NULL;
    size_t n = 0, len;
    char sha[41], *data = NULL;

    CHECK_OK(make_source("tsrc3"));
    CHECK_OK(open_source(&m, "tsrc3"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, "main", sha));
    lim.max_file_bytes = 10;
    CHECK_OK(mirror_tree_open(&t, m, sha, &lim));
    CHECK_ERR(mirror_tree_read(t, "apps/cm.yaml", &data, &len), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "apps/cm.yaml: 16 bytes is over the limit of 10 bytes");
    mirror_tree_free(t);

    lim = (struct mirror_limits)MIRROR_LIMITS_INIT;
    lim.max_files = 2;
    CHECK_OK(mirror_tree_open(&t, m, sha, &lim));
    CHECK_OK(mirror_tree_read(t, "apps/cm.yaml", &data, &len));
    free(data);
    CHECK_OK(mirror_tree_read(t, "apps/b.yaml", &data, &len));
    free(data);
    CHECK_ERR(mirror_tree_read(t, "README.md", &data, &len), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "more than 2 files");
    CHECK_ERR(mirror_tree_list(t, "apps", &v, &n), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "more than 2 entries in one folder");
    mirror_tree_free(t);

    lim = (struct mirror_limits)MIRROR_LIMITS_INIT;
    lim.max_total_bytes = 20;
    CHECK_OK(mirror_tree_open(&t, m, sha, &lim));
    CHECK_OK(mirror_tree_read(t, "apps/cm.yaml", &data, &len));
    free(data);
    CHECK_ERR(mirror_tree_read(t, "apps/sub/deep.yaml", &data, &len), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "total over the limit of 20 bytes");
    mirror_tree_free(t);
    mirror_free(m);
}

TEST(tree_refuses_hostile_names)
{
    mirror *m = NULL;
    mirror_tree *t = NULL;
    struct mirror_entry *v = NULL;
    size_t n = 0;
    char sha[41];

    CHECK_OK(make_source("tsrc4"));
    CHECK_OK(sh("cd tsrc4 && blob=$(echo x | git hash-object -w --stdin) && "
                "tree=$(printf '100644 blob %%s\\t..\\n' $blob | git mktree) && "
                "outer=$(printf '040000 tree %%s\\tevil\\n' $tree | git mktree) && "
                "c=$(" GIT " commit-tree -m evil $outer) && git update-ref refs/heads/evil $c"));
    CHECK_OK(open_source(&m, "tsrc4"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, "evil", sha));
    CHECK_OK(mirror_tree_open(&t, m, sha, NULL));
    CHECK_ERR(mirror_tree_list(t, "evil", &v, &n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "evil/..: invalid file name in tree");
    mirror_tree_free(t);
    mirror_free(m);
}

TEST(resolves_semver_constraints_on_tags)
{
    mirror *m = NULL;
    char sha[41], want[41];

    CHECK_OK(make_source("ssrc"));
    CHECK_OK(sh("cd ssrc && for t in v1.2.0 v1.4.1 1.4.7 v1.9.0 v2.0.0 v2.1.0-rc.1 release-3; do "
                "printf \"$t\\n\" > ver && git add -A && " GIT " commit -qm $t && git tag $t; "
                "done"));
    CHECK_OK(open_source(&m, "ssrc"));
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(mirror_resolve(m, ">=1.2.0 <2", sha));
    CHECK_OK(rev_parse("ssrc", "v1.9.0", want));
    CHECK_STR(sha, want);
    CHECK_OK(mirror_resolve(m, "~1.4", sha));
    CHECK_OK(rev_parse("ssrc", "1.4.7", want));
    CHECK_STR(sha, want);
    CHECK_OK(mirror_resolve(m, "*", sha));
    CHECK_OK(rev_parse("ssrc", "v2.0.0", want));
    CHECK_STR(sha, want); /* the release candidate is not taken */
    CHECK_OK(mirror_resolve(m, ">=2.1.0-rc.0", sha));
    CHECK_OK(rev_parse("ssrc", "v2.1.0-rc.1", want));
    CHECK_STR(sha, want);
    /* a plain version finds its v-prefixed tag; an exact tag name wins */
    CHECK_OK(mirror_resolve(m, "1.2.0", sha));
    CHECK_OK(rev_parse("ssrc", "v1.2.0", want));
    CHECK_STR(sha, want);
    CHECK_OK(mirror_resolve(m, "1.4.7", sha));
    CHECK_OK(rev_parse("ssrc", "1.4.7", want));
    CHECK_STR(sha, want);
    CHECK_ERR(mirror_resolve(m, ">=3", sha), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "no tag in");
    CHECK_CONTAINS(err_last(), "satisfies \">=3\"");
    CHECK_ERR(mirror_resolve(m, ">=x.y", sha), ERR_INVALID);
    mirror_free(m);
}

int main(void)
{
    gitfix_init("git_mirror");
    RUN(lib_version);
    RUN(resolves_branches_tags_shas_and_head);
    RUN(second_fetch_sees_new_commits_and_prunes);
    RUN(unchanged_refs_skip_the_download);
    RUN(mirror_is_bare_named_by_url_hash);
    RUN(unsupported_and_missing_sources);
    RUN(empty_source);
    RUN(tree_reads_lazily_and_follows_links_inside);
    RUN(tree_refuses_escapes_and_cycles);
    RUN(tree_limits_count_over_the_session);
    RUN(tree_refuses_hostile_names);
    RUN(resolves_semver_constraints_on_tags);
    gitfix_done();
    return TEST_END();
}
