/* Tests for appliance/core/path.c. */
#include "core/path.h"

#include "test.h"

static const struct {
    const char *in, *want; /* want NULL: refused */
} clean_cases[] = {
    {"", ""},
    {".", ""},
    {"./", ""},
    {"a", "a"},
    {"a/./b//c/../d", "a/b/d"},
    {"a/b/..", "a"},
    {"a/..", ""},
    {"a/../b/./", "b"},
    {"..", NULL},
    {"a/../..", NULL},
    {"../a", NULL},
    {"/etc/passwd", NULL},
    {"a/b/../../../c", NULL},
    {"...", "..."},
    {"a/..b", "a/..b"},
};

TEST(clean_table)
{
    for (size_t i = 0; i < sizeof(clean_cases) / sizeof(clean_cases[0]); i++) {
        char *out = NULL;
        int rc = path_clean(&out, clean_cases[i].in);
        if (!clean_cases[i].want) {
            CHECK(rc == ERR_INVALID);
            CHECK(out == NULL);
            CHECK_CONTAINS(err_last(), clean_cases[i].in);
        } else {
            CHECK_OK(rc);
            CHECK_STR(out, clean_cases[i].want);
        }
        free(out);
    }
}

TEST(join)
{
    char *out = NULL;

    CHECK_OK(path_join(&out, "apps/prod", "../base"));
    CHECK_STR(out, "apps/base");
    free(out);
    CHECK_OK(path_join(&out, "", "base/x.yaml"));
    CHECK_STR(out, "base/x.yaml");
    free(out);
    CHECK_OK(path_join(&out, "apps", ""));
    CHECK_STR(out, "apps");
    free(out);
    CHECK_ERR(path_join(&out, "apps/prod", "../../../etc/passwd"), ERR_INVALID);
    CHECK_CONTAINS(err_last(),
                   "../../../etc/passwd: path leads outside the source's root (from apps/prod)");
    CHECK_ERR(path_join(&out, "apps", "/etc/passwd"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "absolute paths are not allowed");
    CHECK(out == NULL);
}

TEST(dirname_basename)
{
    char *d = path_dirname("a/b/c.yaml");
    CHECK_STR(d, "a/b");
    free(d);
    d = path_dirname("c.yaml");
    CHECK_STR(d, "");
    free(d);
    CHECK_STR(path_basename("a/b/c.yaml"), "c.yaml");
    CHECK_STR(path_basename("c.yaml"), "c.yaml");
}

int main(void)
{
    RUN(clean_table);
    RUN(join);
    RUN(dirname_basename);
    return TEST_END();
}
