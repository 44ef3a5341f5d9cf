/*
 * Tests for core/password.c: the stored format, a real 600,000-iteration
 * hash checked once, per-hash salts, damaged texts that must never match,
 * and that the test-only iteration override is bounded.
 */
#include "core/password.h"

#include <stdlib.h>

#include "test.h"

TEST(default_hash_has_600k_iterations_and_verifies)
{
    char *h = NULL;
    unsetenv(PASSWORD_TEST_ITERATIONS_ENV);
    CHECK(password_iterations() == 600000);
    CHECK_OK(password_hash(&h, "correct horse"));
    CHECK(strncmp(h, "$pbkdf2-sha256$600000$", 22) == 0);
    /* 32 hex of salt, '$', 64 hex of key */
    CHECK(strlen(h) == 22 + 32 + 1 + 64);
    CHECK(password_verify(h, "correct horse") == 1);
    CHECK(password_verify(h, "correct horsE") == 0);
    free(h);
}

TEST(salts_differ_and_damage_never_matches)
{
    char *a = NULL, *b = NULL, *bad;
    setenv(PASSWORD_TEST_ITERATIONS_ENV, "1000", 1);
    CHECK(password_iterations() == 1000);
    CHECK_OK(password_hash(&a, "password1"));
    CHECK_OK(password_hash(&b, "password1"));
    CHECK(strcmp(a, b) != 0);
    CHECK(password_verify(a, "password1") && password_verify(b, "password1"));
    /* iterations under the floor, a short salt, a wrong prefix, empty */
    bad = xstrdup(a);
    bad[15] = '9'; /* "1000" -> "9000": another count, no match */
    CHECK(password_verify(bad, "password1") == 0);
    free(bad);
    CHECK(password_verify("$pbkdf2-sha256$1$00$00", "password1") == 0);
    CHECK(password_verify(a + 1, "password1") == 0);
    CHECK(password_verify("", "") == 0);
    CHECK(password_verify(NULL, "x") == 0);
    free(a);
    free(b);
}

TEST(limits)
{
    char *h = NULL, *long_pw = xmalloc(PASSWORD_MAX + 2);
    CHECK_ERR(password_hash(&h, "short"), ERR_INVALID);
    CHECK(h == NULL);
    memset(long_pw, 'a', PASSWORD_MAX + 1);
    long_pw[PASSWORD_MAX + 1] = '\0';
    CHECK_ERR(password_hash(&h, long_pw), ERR_INVALID);
    free(long_pw);
    err_clear();
    /* the override can only lower the count within bounds */
    setenv(PASSWORD_TEST_ITERATIONS_ENV, "10", 1);
    CHECK(password_iterations() == 600000);
    setenv(PASSWORD_TEST_ITERATIONS_ENV, "9000000", 1);
    CHECK(password_iterations() == 600000);
    unsetenv(PASSWORD_TEST_ITERATIONS_ENV);
}

TEST(random_text_is_base64url)
{
    char *a = NULL, *b = NULL;
    CHECK_OK(password_random_text(&a, 32));
    CHECK_OK(password_random_text(&b, 32));
    CHECK(strlen(a) == 43); /* 256 bits */
    CHECK(strcmp(a, b) != 0);
    CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
    free(a);
    free(b);
}

int main(void)
{
    RUN(default_hash_has_600k_iterations_and_verifies);
    RUN(salts_differ_and_damage_never_matches);
    RUN(limits);
    RUN(random_text_is_base64url);
    return TEST_END();
}
