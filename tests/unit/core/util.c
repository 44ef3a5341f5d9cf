#include "core/util.h"
#include "test.h"

TEST(strict_numbers)
{
    long v = 0;
    CHECK_OK(str_to_long("42", 0, 100, "poll", &v));
    CHECK(v == 42);
    CHECK_ERR(str_to_long("42x", 0, 100, "poll", &v), ERR_INVALID);
    CHECK_ERR(str_to_long("101", 0, 100, "poll", &v), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "poll");
    CHECK_ERR(str_to_long("", 0, 100, "poll", &v), ERR_INVALID);
}

TEST(sha256_known_vector)
{
    char hex[65];
    util_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(random_differs_and_copy_truncates)
{
    unsigned char a[32], b[32];
    char small[4];
    CHECK_OK(util_random(a, sizeof(a)));
    CHECK_OK(util_random(b, sizeof(b)));
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    CHECK(!util_const_eq(a, b, sizeof(a)));
    CHECK(util_const_eq(a, a, sizeof(a)));
    CHECK(str_copy(small, "abcdef", sizeof(small)) == 6);
    CHECK_STR(small, "abc");
    CHECK(str_has_prefix("file:///x", "file://"));
    CHECK(str_has_suffix("a.yaml", ".yaml"));
    CHECK(!str_has_suffix("a", ".yaml"));
}

int main(void)
{
    RUN(strict_numbers);
    RUN(sha256_known_vector);
    RUN(random_differs_and_copy_truncates);
    return TEST_END();
}
