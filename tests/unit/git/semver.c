/* Tests for appliance/git/semver.c: the constraints Argo CD accepts in
 * targetRevision, with Masterminds semver's meaning. */
#include "git/semver.h"

#include "test.h"

static const struct {
    const char *constraint, *version;
    int ok;
} cases[] = {
    {">=1.2.0 <2", "1.2.0", 1},
    {">=1.2.0 <2", "1.9.9", 1},
    {">=1.2.0 <2", "2.0.0", 0},
    {">=1.2.0, <2", "1.1.9", 0},
    {"1.x", "1.0.0", 1},
    {"1.x", "1.99.3", 1},
    {"1.x", "2.0.0", 0},
    {"1.2.*", "1.2.7", 1},
    {"1.2.*", "1.3.0", 0},
    {"*", "0.0.1", 1},
    {"~1.4", "1.4.9", 1},
    {"~1.4", "1.5.0", 0},
    {"~1.4.2", "1.4.1", 0},
    {"~1", "1.9.0", 1},
    {"^1.2", "1.9.0", 1},
    {"^1.2", "2.0.0", 0},
    {"^0.2.3", "0.2.9", 1},
    {"^0.2.3", "0.3.0", 0},
    {"^0.0.3", "0.0.4", 0},
    {"1.2.3", "1.2.3", 1},
    {"=1.2.3", "1.2.4", 0},
    {"1.2", "1.2.5", 1},
    {"!=1.2.3", "1.2.4", 1},
    {">1.2", "1.2.9", 0},
    {">1.2", "1.3.0", 1},
    {"<=1.2", "1.2.9", 1},
    {"1.2 - 1.4.5", "1.4.5", 1},
    {"1.2 - 1.4.5", "1.4.6", 0},
    {"1.2 - 1.4", "1.4.9", 1},
    {"<1.0 || >=2.1", "0.9.0", 1},
    {"<1.0 || >=2.1", "1.5.0", 0},
    {"<1.0 || >=2.1", "2.1.0", 1},
    {">= 1.2.0", "1.3.0", 1},
    /* pre-releases only when the constraint names one */
    {">=1.2.0", "1.3.0-rc.1", 0},
    {">=1.3.0-rc.0", "1.3.0-rc.1", 1},
    {">=1.3.0-rc.2", "1.3.0-rc.10", 1},
    {"v1.x", "1.0.0", 1},
};

TEST(constraint_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        semver_constraint *c = NULL;
        struct semver v;
        CHECK_OK(semver_constraint_parse(&c, cases[i].constraint));
        CHECK_OK(semver_parse(&v, cases[i].version));
        if (semver_satisfies(c, &v) != cases[i].ok) {
            semver_constraint_free(c);
            TEST_FAIL_("\"%s\" on %s: expected %d", cases[i].constraint, cases[i].version,
                       cases[i].ok);
        }
        semver_constraint_free(c);
    }
}

TEST(versions_order_and_parse)
{
    struct semver a, b;
    CHECK_OK(semver_parse(&a, "v1.2.3"));
    CHECK(a.major == 1 && a.minor == 2 && a.patch == 3);
    CHECK_OK(semver_parse(&b, "1.2.3-alpha"));
    CHECK(semver_cmp(&b, &a) < 0);
    CHECK_OK(semver_parse(&a, "1.2.3-alpha.1"));
    CHECK(semver_cmp(&b, &a) < 0);
    CHECK_OK(semver_parse(&b, "1.2.3-beta"));
    CHECK(semver_cmp(&a, &b) < 0);
    CHECK_OK(semver_parse(&a, "1.2.3+build.7"));
    CHECK_OK(semver_parse(&b, "1.2.3"));
    CHECK(semver_cmp(&a, &b) == 0);
    CHECK_ERR(semver_parse(&a, "release-1"), ERR_INVALID);
    CHECK_ERR(semver_parse(&a, "1.x"), ERR_INVALID);
}

TEST(what_reads_as_a_constraint)
{
    semver_constraint *c = NULL;
    CHECK(semver_is_constraint(">=1.2.0 <2"));
    CHECK(semver_is_constraint("1.x"));
    CHECK(semver_is_constraint("~1.4"));
    CHECK(!semver_is_constraint("main"));
    CHECK(!semver_is_constraint("fix-x"));
    CHECK(!semver_is_constraint("1.2.3"));
    CHECK(semver_is_version("v1.2"));
    CHECK(!semver_is_version("release"));
    CHECK_ERR(semver_constraint_parse(&c, ">=banana"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "banana");
    CHECK_ERR(semver_constraint_parse(&c, "!=1.x"), ERR_INVALID);
    CHECK(c == NULL);
}

int main(void)
{
    RUN(constraint_table);
    RUN(versions_order_and_parse);
    RUN(what_reads_as_a_constraint);
    return TEST_END();
}
