/* Tests for appliance/core/glob.c: Argo CD's globs (directory include/exclude, ignoreDifferences
 * group and kind). */
#include "core/glob.h"

#include "test.h"

static const struct {
    const char *pattern, *path;
    int match;
} cases[] = {
    {"*.yaml", "a.yaml", 1},
    {"*.yaml", "sub/a.yaml", 1}, /* '*' crosses '/' as in Argo CD */
    {"*.yaml", "a.yml", 0},
    {"config.json", "config.json", 1},
    {"config.json", "sub/config.json", 0},
    {"{config.json,env-usw2/*}", "config.json", 1},
    {"{config.json,env-usw2/*}", "env-usw2/deploy.yaml", 1},
    {"{config.json,env-usw2/*}", "env-use2/deploy.yaml", 0},
    {"env-{usw2,use2}/*.yaml", "env-use2/x.yaml", 1},
    {"{a,{b,c}}.yaml", "c.yaml", 1},
    {"{a,{b,c}}.yaml", "d.yaml", 0},
    {"{,x}y", "y", 1},
    {"?.yaml", "a.yaml", 1},
    {"?.yaml", "ab.yaml", 0},
    {"[ab].yaml", "b.yaml", 1},
    {"[a-c]x", "cx", 1},
    {"[!a-c]x", "cx", 0},
    {"[!a-c]x", "dx", 1},
    {"\\*.yaml", "*.yaml", 1},
    {"\\*.yaml", "a.yaml", 0},
    {"a*b*c", "axxbyyc", 1},
    {"a*b*c", "axxbyy", 0},
    {"**", "", 1},
    {"{a*,b}", "axyz", 1},
};

TEST(match_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_OK(glob_check(cases[i].pattern));
        if (glob_match(cases[i].pattern, cases[i].path) != cases[i].match)
            TEST_FAIL_("glob \"%s\" on \"%s\": expected %d", cases[i].pattern, cases[i].path,
                       cases[i].match);
    }
}

TEST(malformed_patterns_refused)
{
    CHECK_ERR(glob_check("[abc"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "unclosed [");
    CHECK_ERR(glob_check("{a,b"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "unclosed {");
    CHECK_ERR(glob_check("x\\"), ERR_INVALID);
    CHECK_ERR(glob_check("{{{{{{{{{{{{{{{{{a}}}}}}}}}}}}}}}}}"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "nested deeper");
}

int main(void)
{
    RUN(match_table);
    RUN(malformed_patterns_refused);
    return TEST_END();
}
