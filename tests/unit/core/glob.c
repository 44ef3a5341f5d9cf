/*
 * Tests for appliance/core/glob.c: Argo CD's globs without a separator
 * (directory include/exclude, destinations) and with '/' (sourceRepos), and
 * a pattern that would take a backtracking matcher exponential time.
 */
#include "core/glob.h"

#include "core/util.h"
#include "test.h"

/* sep 0: no separator, as directory include/exclude and destinations;
 * '/': as Argo CD matches sourceRepos. */
static const struct {
    const char *pattern, *path;
    char sep;
    int match;
} cases[] = {
    {"*.yaml", "a.yaml", 0, 1},
    {"*.yaml", "sub/a.yaml", 0, 1}, /* '*' crosses '/' as in Argo CD */
    {"*.yaml", "a.yml", 0, 0},
    {"config.json", "config.json", 0, 1},
    {"config.json", "sub/config.json", 0, 0},
    {"{config.json,env-usw2/*}", "config.json", 0, 1},
    {"{config.json,env-usw2/*}", "env-usw2/deploy.yaml", 0, 1},
    {"{config.json,env-usw2/*}", "env-use2/deploy.yaml", 0, 0},
    {"env-{usw2,use2}/*.yaml", "env-use2/x.yaml", 0, 1},
    {"{a,{b,c}}.yaml", "c.yaml", 0, 1},
    {"{a,{b,c}}.yaml", "d.yaml", 0, 0},
    {"{,x}y", "y", 0, 1},
    {"?.yaml", "a.yaml", 0, 1},
    {"?.yaml", "ab.yaml", 0, 0},
    {"[ab].yaml", "b.yaml", 0, 1},
    {"[a-c]x", "cx", 0, 1},
    {"[!a-c]x", "cx", 0, 0},
    {"[!a-c]x", "dx", 0, 1},
    {"\\*.yaml", "*.yaml", 0, 1},
    {"\\*.yaml", "a.yaml", 0, 0},
    {"a*b*c", "axxbyyc", 0, 1},
    {"a*b*c", "axxbyy", 0, 0},
    {"**", "", 0, 1},
    {"{a*,b}", "axyz", 0, 1},
    {"x{a,b}{c,d}y", "xbcy", 0, 1},
    {"x{a,b}{c,d}y", "xbby", 0, 0},
    {"}a,", "}a,", 0, 1}, /* outside a group, '}' and ',' are characters */
    {"https://gitlab.com/group/*", "https://gitlab.com/group/repo", '/', 1},
    {"https://gitlab.com/group/*", "https://gitlab.com/group/repo/owner", '/', 0},
    {"https://gitlab.com/group/*/*", "https://gitlab.com/group/repo/owner", '/', 1},
    {"https://gitlab.com/group/*/*/*", "https://gitlab.com/group/sub/repo/owner", '/', 1},
    {"https://gitlab.com/group/**", "https://gitlab.com/group/sub/repo/owner", '/', 1},
    {"https://gitlab.com/**/owner", "https://gitlab.com/group/sub/repo/owner", '/', 1},
    {"https://github.com/argoproj/foo*", "https://github.com/argoproj/foo1", '/', 1},
    {"https://github.com/argoproj/foo*", "https://github.com/argoproj/foo/x", '/', 0},
    {"a?b", "a/b", '/', 0},
    {"a?b", "a-b", '/', 1},
    {"*", "a/b", '/', 0},
    {"**", "a/b", '/', 1},
    {"{a/*,b}", "a/x", '/', 1},
    {"{a/*,b}", "a/x/y", '/', 0},
    {"{a/**,b}", "a/x/y", '/', 1},
};

TEST(match_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_OK(glob_check(cases[i].pattern));
        if (glob_match(cases[i].pattern, cases[i].path, cases[i].sep) != cases[i].match)
            TEST_FAIL_("glob \"%s\" on \"%s\" (separator '%c'): expected %d", cases[i].pattern,
                       cases[i].path, cases[i].sep ? cases[i].sep : ' ', cases[i].match);
    }
}

/* 24 stars against 4,000 'a's and no 'b': a backtracking matcher would
 * not finish; this one takes (string x pattern) steps. */
TEST(no_exponential_backtracking)
{
    char text[4001], pattern[64];
    size_t i, n = 0;
    int64_t start = time_mono_ms();

    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (i = 0; i < 24; i++) {
        pattern[n++] = '*';
        pattern[n++] = 'a';
    }
    pattern[n++] = 'b';
    pattern[n] = '\0';
    CHECK(glob_match(pattern, text, 0) == 0);
    CHECK(glob_match("{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}b", text, 0) == 0);
    pattern[n - 1] = 'a';
    CHECK(glob_match(pattern, text, 0) == 1);
    CHECK(time_mono_ms() - start < 2000);
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
    RUN(no_exponential_backtracking);
    RUN(malformed_patterns_refused);
    return TEST_END();
}
