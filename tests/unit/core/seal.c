/* Tests for appliance/core/seal.c: round trip, tamper, wrong key, wrong
 * additional data, and the key file's creation and modes. */
#include "core/seal.h"

#include <sys/stat.h>

#include "core/fs.h"
#include "core/mem.h"
#include "test.h"

static char *tmp;

TEST(round_trip_and_fresh_nonce)
{
    unsigned char key[SEAL_KEY_LEN];
    char *a = NULL, *b = NULL, *plain = NULL;

    CHECK_OK(seal_key_load(key, tmp));
    CHECK_OK(seal_value(&a, key, "ghp_token123", "https://git.lan/org/"));
    CHECK_OK(seal_value(&b, key, "ghp_token123", "https://git.lan/org/"));
    CHECK(strstr(a, "ghp_token123") == NULL);
    CHECK(strcmp(a, b) != 0); /* a new nonce each time */
    CHECK_OK(seal_open(&plain, key, a, "https://git.lan/org/"));
    CHECK_STR(plain, "ghp_token123");
    free(plain);
    CHECK_OK(seal_value(&plain, key, "", "x"));
    free(a);
    CHECK_OK(seal_open(&a, key, plain, "x"));
    CHECK_STR(a, "");
    free(a);
    free(b);
    free(plain);
}

TEST(tamper_wrong_key_wrong_ad_refused)
{
    unsigned char key[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
    char *s = NULL, *plain = NULL;
    size_t i;

    CHECK_OK(seal_key_load(key, tmp));
    memcpy(other, key, sizeof(other));
    other[0] ^= 1;
    CHECK_OK(seal_value(&s, key, "hunter2", "https://a/"));
    CHECK_ERR(seal_open(&plain, other, s, "https://a/"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "cannot be decrypted");
    CHECK(plain == NULL);
    CHECK_ERR(seal_open(&plain, key, s, "https://b/"), ERR_INVALID);
    /* flip each hex digit of nonce, ciphertext and tag in turn */
    for (i = 3; s[i]; i++) {
        char saved = s[i];
        s[i] = saved == '0' ? '1' : '0';
        CHECK_ERR(seal_open(&plain, key, s, "https://a/"), ERR_INVALID);
        s[i] = saved;
    }
    s[strlen(s) - 2] = '\0'; /* truncated */
    CHECK_ERR(seal_open(&plain, key, s, "https://a/"), ERR_INVALID);
    CHECK_ERR(seal_open(&plain, key, "hunter2", "https://a/"), ERR_INVALID);
    CHECK_ERR(seal_open(&plain, key, "v1:zz", "https://a/"), ERR_INVALID);
    CHECK(plain == NULL);
    free(s);
}

TEST(key_file_created_private_and_reused)
{
    unsigned char k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN];
    char *dir = xasprintf("%s/fresh", tmp), *path = xasprintf("%s/fresh/keys/secret.key", tmp);
    char *keys = xasprintf("%s/fresh/keys", tmp);
    struct stat st;
    char *big;

    CHECK_OK(seal_key_load(k1, dir));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == SEAL_KEY_LEN);
    CHECK(stat(keys, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK_OK(seal_key_load(k2, dir));
    CHECK(memcmp(k1, k2, SEAL_KEY_LEN) == 0);
    /* a damaged key file is refused, not used or replaced */
    CHECK_OK(fs_write_atomic(path, "short", 5, 0600));
    CHECK_ERR(seal_key_load(k2, dir), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "secret.key");
    big = xmalloc(SEAL_MAX_PLAIN + 2);
    memset(big, 'a', SEAL_MAX_PLAIN + 1);
    big[SEAL_MAX_PLAIN + 1] = '\0';
    {
        char *s = NULL;
        CHECK_ERR(seal_value(&s, k1, big, "x"), ERR_TOOLARGE);
        CHECK(s == NULL);
    }
    free(big);
    free(dir);
    free(path);
    free(keys);
}

int main(void)
{
    tmp = test_tmpdir("seal");
    RUN(round_trip_and_fresh_nonce);
    RUN(tamper_wrong_key_wrong_ad_refused);
    RUN(key_file_created_private_and_reused);
    free(tmp);
    return TEST_END();
}
