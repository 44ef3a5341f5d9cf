/*
 * AES-256-GCM through mbedTLS. The tag is checked by
 * mbedtls_gcm_auth_decrypt before any plaintext is returned, so a
 * tampered value or a wrong key is an error, never bytes.
 */
#include "core/seal.h"

#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"

#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_PREFIX "v1:"

int seal_key_load(unsigned char key[SEAL_KEY_LEN], const char *data_dir)
{
    char *dir = xasprintf("%s/keys", data_dir), *path = xasprintf("%s/secret.key", dir);
    struct buf b = BUF_INIT;
    int rc;

    rc = fs_read_file(path, SEAL_KEY_LEN + 1, &b);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        if ((rc = fs_mkdir_p(dir, 0700)) < 0 || (rc = util_random(key, SEAL_KEY_LEN)) < 0 ||
            (rc = fs_write_atomic(path, key, SEAL_KEY_LEN, 0600)) < 0)
            goto out;
        /* an existing keys/ folder may have been made by hand */
        if (chmod(dir, 0700) != 0) {
            rc = err_set(ERR_IO, "%s: cannot make it private", dir);
            goto out;
        }
        goto out;
    }
    if (rc == ERR_TOOLARGE || (rc == 0 && b.len != SEAL_KEY_LEN)) {
        rc = err_set(ERR_INVALID, "%s: not a secret key (must be exactly %d bytes)", path,
                     SEAL_KEY_LEN);
        goto out;
    }
    if (rc < 0)
        goto out;
    memcpy(key, b.ptr, SEAL_KEY_LEN);
out:
    if (b.ptr)
        mbedtls_platform_zeroize(b.ptr, b.len);
    buf_dispose(&b);
    free(dir);
    free(path);
    return rc;
}

int seal_value(char **out, const unsigned char key[SEAL_KEY_LEN], const char *plain, const char *ad)
{
    mbedtls_gcm_context gcm;
    size_t n = strlen(plain), raw_len = SEAL_NONCE_LEN + n + SEAL_TAG_LEN;
    unsigned char *raw = NULL;
    char *text = NULL;
    int rc = 0;

    *out = NULL;
    if (n > SEAL_MAX_PLAIN)
        return err_set(ERR_TOOLARGE, "secret: longer than %d bytes", SEAL_MAX_PLAIN);
    raw = xmalloc(raw_len);
    mbedtls_gcm_init(&gcm);
    if ((rc = util_random(raw, SEAL_NONCE_LEN)) < 0)
        goto out;
    if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, SEAL_KEY_LEN * 8) != 0 ||
        mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n, raw, SEAL_NONCE_LEN,
                                  (const unsigned char *)ad, strlen(ad),
                                  (const unsigned char *)plain, raw + SEAL_NONCE_LEN, SEAL_TAG_LEN,
                                  raw + SEAL_NONCE_LEN + n) != 0) {
        rc = err_set(ERR_GENERIC, "secret: encryption failed");
        goto out;
    }
    text = xmalloc(strlen(SEAL_PREFIX) + 2 * raw_len + 1);
    memcpy(text, SEAL_PREFIX, strlen(SEAL_PREFIX) + 1);
    util_hex(text + strlen(SEAL_PREFIX), raw, raw_len);
    *out = text;
out:
    mbedtls_gcm_free(&gcm);
    free(raw);
    return rc;
}

static int seal_unhex(unsigned char *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + (size_t)j];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                : 16u;
            if (d > 15)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

int seal_open(char **out, const unsigned char key[SEAL_KEY_LEN], const char *sealed, const char *ad)
{
    mbedtls_gcm_context gcm;
    const char *hex;
    size_t hex_len, raw_len, n;
    unsigned char *raw = NULL;
    char *plain = NULL;
    int rc = 0;

    *out = NULL;
    if (!str_has_prefix(sealed, SEAL_PREFIX))
        return err_set(ERR_INVALID, "secret cannot be decrypted (unknown format)");
    hex = sealed + strlen(SEAL_PREFIX);
    hex_len = strlen(hex);
    if (hex_len % 2 || hex_len / 2 < SEAL_NONCE_LEN + SEAL_TAG_LEN ||
        hex_len / 2 > SEAL_NONCE_LEN + SEAL_MAX_PLAIN + SEAL_TAG_LEN)
        return err_set(ERR_INVALID, "secret cannot be decrypted (bad length)");
    raw_len = hex_len / 2;
    n = raw_len - SEAL_NONCE_LEN - SEAL_TAG_LEN;
    raw = xmalloc(raw_len);
    plain = xmalloc(n + 1);
    mbedtls_gcm_init(&gcm);
    if (seal_unhex(raw, hex, raw_len) < 0 ||
        mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, SEAL_KEY_LEN * 8) != 0 ||
        mbedtls_gcm_auth_decrypt(&gcm, n, raw, SEAL_NONCE_LEN, (const unsigned char *)ad,
                                 strlen(ad), raw + SEAL_NONCE_LEN + n, SEAL_TAG_LEN,
                                 raw + SEAL_NONCE_LEN, (unsigned char *)plain) != 0) {
        rc = err_set(ERR_INVALID, "secret cannot be decrypted");
        goto out;
    }
    plain[n] = '\0';
    if (strlen(plain) != n) {
        rc = err_set(ERR_INVALID, "secret cannot be decrypted (embedded NUL)");
        goto out;
    }
    *out = plain;
    plain = NULL;
out:
    mbedtls_gcm_free(&gcm);
    if (plain)
        mbedtls_platform_zeroize(plain, n + 1);
    free(plain);
    free(raw);
    return rc;
}
