/*
 * Tests for appliance/git/packin.c: the budget spent across the packs of
 * one fetch or import, a pack refused by the object count in its header
 * before anything is written, thin packs refused without bases and
 * completed with them, and bundles kept to the mirror's limits.
 */
#include "git/packin.h"
#include "git/bundle.h"
#include "git/mirror_priv.h"

#include "test.h"
#include "gitfix.h"

/* Feed tmp/file into m's pack folder with bases and budget; the result of
 * the first failing step, or of the commit. */
static int feed(mirror *m, const char *file, git_odb *bases, struct packin_budget *budget,
                uint64_t *objects)
{
    char *path = xasprintf("%s/%s", tmp, file);
    FILE *f = fopen(path, "rb");
    packin *p = NULL;
    int rc;

    if (!f)
        rc = err_set(ERR_NOTFOUND, "%s: cannot open", path);
    else if ((rc = packin_new(&p, m, bases, 0, budget, file)) == 0 &&
             (rc = packin_append_file(p, f)) == 0)
        rc = packin_commit(p);
    if (p && objects)
        *objects = packin_objects(p);
    packin_free(p);
    if (f)
        fclose(f);
    free(path);
    return rc;
}

/* Count the .pack files in m's pack folder. */
static int packs_in(mirror *m)
{
    char *out = NULL;
    int n = -1;

    if (sh_out(&out, "ls '%sobjects/pack' | grep -c '\\.pack$' || true",
               git_repository_path(mirror_git_repo(m))) == 0)
        n = (int)strtol(out, NULL, 10);
    free(out);
    return n;
}

TEST(budget_is_spent_across_packs)
{
    struct packin_budget b = {100, 10, 0, 0};

    CHECK_OK(packin_budget_take(&b, 4, 60, "a"));
    CHECK_ERR(packin_budget_take(&b, 7, 0, "b"), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "b: over the limit of 10 objects for one fetch or import");
    CHECK(b.objects == 4 && b.bytes == 60);
    CHECK_ERR(packin_budget_take(&b, 0, 41, "c"), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "c: over the limit of 100 bytes");
    CHECK_OK(packin_budget_take(&b, 6, 40, "d")); /* up to the limit exactly */
    CHECK(b.objects == 10 && b.bytes == 100);
}

TEST(a_pack_goes_in_within_the_budget)
{
    mirror *m = NULL;
    struct packin_budget budget;
    uint64_t objects = 0;
    char main_id[41];

    CHECK_OK(make_source("pk"));
    CHECK_OK(sh("git -C pk pack-objects -q --revs --all --stdout < /dev/null > pk.pack"));
    CHECK_OK(rev_parse("pk", "main", main_id));
    CHECK_OK(mirror_open(&m, mirrors, "https://example.invalid/pk.git"));
    /* the header's 12 objects are refused before any is indexed */
    packin_budget_init(&budget, m);
    budget.max_objects = 11;
    CHECK_ERR(feed(m, "pk.pack", NULL, &budget, &objects), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "pk.pack: over the limit of 11 objects");
    CHECK(objects == 12);
    CHECK(packs_in(m) == 0);
    packin_budget_init(&budget, m);
    budget.max_bytes = 100;
    CHECK_ERR(feed(m, "pk.pack", NULL, &budget, NULL), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "over the limit of 100 bytes");
    CHECK(packs_in(m) == 0);
    packin_budget_init(&budget, m);
    CHECK_OK(feed(m, "pk.pack", NULL, &budget, &objects));
    CHECK(objects == 12 && budget.objects == 12);
    CHECK(packs_in(m) == 1);
    CHECK_OK(sh("git -C '%s' cat-file -e %s", git_repository_path(mirror_git_repo(m)), main_id));
    mirror_free(m);
}

TEST(thin_packs_need_bases)
{
    mirror *m = NULL;
    struct packin_budget budget;
    git_odb *odb = NULL;

    CHECK_OK(make_thin_pack("pkthin"));
    CHECK_OK(open_source(&m, "pkthin"));
    packin_budget_init(&budget, m);
    CHECK_ERR(feed(m, "pkthin.pack", NULL, &budget, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "pkthin.pack: bad pack: a delta's base object is not in the pack");
    /* against a mirror that has the base, as a bundle's prerequisite */
    CHECK_OK(mirror_fetch(m));
    CHECK_OK(git_repository_odb(&odb, mirror_git_repo(m)));
    CHECK_OK(feed(m, "pkthin.pack", odb, &budget, NULL));
    git_odb_free(odb);
    mirror_free(m);
}

TEST(bundles_keep_to_the_limits)
{
    mirror *m = NULL;
    struct mirror_pack_limits lim = MIRROR_PACK_LIMITS_INIT;
    struct bundle_result res;
    char *path = xasprintf("%s/pkb.bundle", tmp);

    CHECK_OK(make_source("pkb"));
    CHECK_OK(sh("git -C pkb bundle create -q ../pkb.bundle --all"));
    CHECK_OK(mirror_open(&m, mirrors, "https://example.invalid/pkb.git"));
    lim.max_objects = 5;
    mirror_set_pack_limits(m, &lim);
    CHECK_ERR(bundle_import(m, path, 0, &res), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "pkb.bundle: over the limit of 5 objects");
    CHECK(!mirror_has_refs(m));
    lim = (struct mirror_pack_limits)MIRROR_PACK_LIMITS_INIT;
    mirror_set_pack_limits(m, &lim);
    CHECK_OK(bundle_import(m, path, 0, &res));
    CHECK(mirror_has_refs(m));
    bundle_result_dispose(&res);
    free(path);
    mirror_free(m);
}

int main(void)
{
    gitfix_init("git_packin");
    RUN(budget_is_spent_across_packs);
    RUN(a_pack_goes_in_within_the_budget);
    RUN(thin_packs_need_bases);
    RUN(bundles_keep_to_the_limits);
    gitfix_done();
    return TEST_END();
}
