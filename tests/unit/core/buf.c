#include "core/buf.h"
#include "test.h"

TEST(appends_and_formats)
{
    struct buf b = BUF_INIT;
    CHECK_STR(buf_cstr(&b), "");
    buf_puts(&b, "hello");
    buf_putc(&b, ' ');
    buf_printf(&b, "%d-%s", 42, "x");
    CHECK_STR(buf_cstr(&b), "hello 42-x");
    CHECK(b.len == 10);
    buf_dispose(&b);
}

TEST(limit_refuses_without_appending)
{
    struct buf b = BUF_INIT;
    CHECK_OK(buf_put_limited(&b, "abcd", 4, 6, "body"));
    CHECK_ERR(buf_put_limited(&b, "abc", 3, 6, "body"), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "body: larger than the limit of 6 bytes");
    CHECK_STR(buf_cstr(&b), "abcd");
    buf_dispose(&b);
}

TEST(detach_hands_over)
{
    struct buf b = BUF_INIT;
    char *s = buf_detach(&b);
    CHECK_STR(s, "");
    free(s);
    for (int i = 0; i < 1000; i++)
        buf_puts(&b, "0123456789");
    s = buf_detach(&b);
    CHECK(strlen(s) == 10000);
    CHECK(b.ptr == NULL && b.len == 0);
    free(s);
}

int main(void)
{
    RUN(appends_and_formats);
    RUN(limit_refuses_without_appending);
    RUN(detach_hands_over);
    return TEST_END();
}
