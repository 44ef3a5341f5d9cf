#include "core/err.h"
#include "test.h"

TEST(set_returns_code_and_keeps_message)
{
    CHECK(err_set(ERR_INVALID, "spec.%s: missing", "destination") == ERR_INVALID);
    CHECK_STR(err_last(), "spec.destination: missing");
    CHECK(err_last_code() == ERR_INVALID);
}

TEST(prefix_adds_location)
{
    err_set(ERR_INVALID, "12:7: duplicate key");
    CHECK(err_prefix(ERR_INVALID, "apps/cm.yaml") == ERR_INVALID);
    CHECK_STR(err_last(), "apps/cm.yaml: 12:7: duplicate key");
}

TEST(long_message_is_truncated_not_overflowed)
{
    char big[4000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    err_set(ERR_GENERIC, "%s", big);
    CHECK(strlen(err_last()) == 1023);
}

TEST(names)
{
    CHECK_STR(err_name(ERR_NOTFOUND), "notfound");
    CHECK_STR(err_name(ERR_UNSUPPORTED), "unsupported");
    CHECK_STR(err_name(-99), "error");
}

int main(void)
{
    RUN(set_returns_code_and_keeps_message);
    RUN(prefix_adds_location);
    RUN(long_message_is_truncated_not_overflowed);
    RUN(names);
    return TEST_END();
}
