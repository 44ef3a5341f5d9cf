/*
 * Password hashing: see password.h. The check of the stored text is
 * strict (exact field count, hex lengths, iteration bounds) because a
 * damaged row must read as "does not match", never as a hash with zero
 * iterations or an empty salt that anything would match.
 */
#include "core/password.h"

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

#define PASSWORD_SALT 16
#define PASSWORD_KEY 32
#define PASSWORD_PREFIX "$pbkdf2-sha256$"
#define PASSWORD_MIN_ITER 1000
#define PASSWORD_MAX_ITER 100000000

unsigned password_iterations(void)
{
    const char *env = getenv(PASSWORD_TEST_ITERATIONS_ENV);
    char *end;
    unsigned long v;

    if (!env || !env[0])
        return PASSWORD_ITERATIONS;
    v = strtoul(env, &end, 10);
    if (*end || v < PASSWORD_MIN_ITER || v > PASSWORD_ITERATIONS)
        return PASSWORD_ITERATIONS;
    return (unsigned)v;
}

static int password_derive(const char *password, const unsigned char *salt, unsigned iter,
                           unsigned char out[PASSWORD_KEY])
{
    mbedtls_md_context_t md;
    int rc;

    mbedtls_md_init(&md);
    rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, strlen(password), salt,
                                       PASSWORD_SALT, iter, PASSWORD_KEY, out);
    mbedtls_md_free(&md);
    return rc == 0 ? 0 : err_set(ERR_GENERIC, "password: PBKDF2 failed (mbedTLS -0x%04x)", -rc);
}

int password_hash(char **out, const char *password)
{
    unsigned char salt[PASSWORD_SALT], key[PASSWORD_KEY];
    char salt_hex[2 * PASSWORD_SALT + 1], key_hex[2 * PASSWORD_KEY + 1];
    unsigned iter = password_iterations();
    size_t n = password ? strlen(password) : 0;
    int rc;

    *out = NULL;
    if (n < PASSWORD_MIN || n > PASSWORD_MAX)
        return err_set(ERR_INVALID, "password: must be %d to %d characters", PASSWORD_MIN,
                       PASSWORD_MAX);
    if ((rc = util_random(salt, sizeof(salt))) < 0 ||
        (rc = password_derive(password, salt, iter, key)) < 0)
        return rc;
    util_hex(salt_hex, salt, sizeof(salt));
    util_hex(key_hex, key, sizeof(key));
    *out = xasprintf(PASSWORD_PREFIX "%u$%s$%s", iter, salt_hex, key_hex);
    memset(key, 0, sizeof(key));
    return 0;
}

/* Hex of exactly len bytes from s (2*len characters, then end or '$'). */
static int password_unhex(const char *s, unsigned char *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

int password_verify(const char *stored, const char *password)
{
    unsigned char salt[PASSWORD_SALT], want[PASSWORD_KEY], got[PASSWORD_KEY];
    const char *p;
    char *end;
    unsigned long iter;
    int ok;

    if (!stored || !password || strncmp(stored, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) != 0 ||
        strlen(password) > PASSWORD_MAX)
        return 0;
    p = stored + strlen(PASSWORD_PREFIX);
    iter = strtoul(p, &end, 10);
    if (end == p || *end != '$' || iter < PASSWORD_MIN_ITER || iter > PASSWORD_MAX_ITER)
        return 0;
    p = end + 1;
    if (strlen(p) != 2 * PASSWORD_SALT + 1 + 2 * PASSWORD_KEY || p[2 * PASSWORD_SALT] != '$' ||
        password_unhex(p, salt, PASSWORD_SALT) < 0 ||
        password_unhex(p + 2 * PASSWORD_SALT + 1, want, PASSWORD_KEY) < 0)
        return 0;
    if (password_derive(password, salt, (unsigned)iter, got) < 0) {
        err_clear();
        return 0;
    }
    ok = util_const_eq(got, want, sizeof(got));
    memset(got, 0, sizeof(got));
    return ok;
}

int password_random_text(char **out, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char *raw = xmalloc(len);
    struct buf b = BUF_INIT;
    unsigned acc = 0;
    int bits = 0, rc;

    *out = NULL;
    if ((rc = util_random(raw, len)) < 0) {
        free(raw);
        return rc;
    }
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            buf_putc(&b, alphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0)
        buf_putc(&b, alphabet[(acc << (6 - bits)) & 63]);
    memset(raw, 0, len);
    free(raw);
    *out = buf_detach(&b);
    return 0;
}
