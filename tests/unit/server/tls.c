/*
 * Tests for appliance/server/tls.c: the pair generated into a data
 * directory (checked by parsing it back with mbedTLS: key type, curve,
 * names, validity), kept across loads, and configured pairs refused with
 * the file named when they do not fit together.
 */
#include "server/server.h"

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/util.h"
#include "test.h"

static char *dir;

static char *read_text(const char *path)
{
    struct buf b = BUF_INIT;
    if (fs_read_file(path, 1 << 20, &b) < 0)
        return xstrdup("");
    return buf_detach(&b);
}

/* A data directory named name with its keys/ folder. */
static char *data_dir(const char *name)
{
    char *d = xasprintf("%s/%s", dir, name), *k = xasprintf("%s/keys", d);
    fs_mkdir_p(k, 0700);
    free(k);
    return d;
}

/* 1 if crt's subjectAltName holds the IPv4 address a.b.c.d. */
static int crt_has_ip4(const mbedtls_x509_crt *crt, unsigned a, unsigned b, unsigned c, unsigned d)
{
    const unsigned char want[4] = {(unsigned char)a, (unsigned char)b, (unsigned char)c,
                                   (unsigned char)d};
    const unsigned char *p = crt->v3_ext.p, *end = crt->v3_ext.p + crt->v3_ext.len;
    /* The IP SAN bytes are tagged [7] with length 4: look for them in
     * the extensions (enough for a test; the e2e test reads them with
     * openssl). */
    for (; p + 6 <= end; p++)
        if (p[0] == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && p[1] == 4 && !memcmp(p + 2, want, 4))
            return 1;
    return 0;
}

TEST(generated_pair)
{
    struct server_tls t;
    mbedtls_x509_crt crt;
    char *d = data_dir("gen"), *key_path = xasprintf("%s/keys/tls.key", d);
    const mbedtls_x509_sequence *san;
    int has_localhost = 0;
    struct stat sb;

    CHECK_OK(server_tls_load(&t, d, NULL, NULL, "127.0.0.1:0"));
    CHECK(t.generated == 1);
    CHECK(strlen(t.fingerprint) == 95); /* 32 bytes as XX: */
    CHECK(stat(key_path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    mbedtls_x509_crt_init(&crt);
    CHECK(mbedtls_x509_crt_parse(&crt, (const unsigned char *)t.cert_pem, strlen(t.cert_pem) + 1) ==
          0);
    CHECK(mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_ECKEY);
    CHECK(mbedtls_pk_ec(crt.pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1);
    CHECK(crt.ca_istrue == 0);
    CHECK(crt.valid_to.year - crt.valid_from.year >= 9);
    for (san = &crt.subject_alt_names; san; san = san->next)
        if (san->buf.len == 9 && !memcmp(san->buf.p, "localhost", 9))
            has_localhost = 1;
    CHECK(has_localhost);
    CHECK(crt_has_ip4(&crt, 127, 0, 0, 1));
    mbedtls_x509_crt_free(&crt);
    server_tls_dispose(&t);
    free(key_path);
    free(d);
}

TEST(reused_on_later_loads)
{
    struct server_tls a, b;
    char *d = data_dir("reuse"), *crt_path = xasprintf("%s/keys/tls.crt", d), *before, *after;

    CHECK_OK(server_tls_load(&a, d, "", "", "0.0.0.0:8443"));
    before = read_text(crt_path);
    CHECK_OK(server_tls_load(&b, d, "", "", "0.0.0.0:8443"));
    after = read_text(crt_path);
    CHECK(b.generated == 0);
    CHECK_STR(a.fingerprint, b.fingerprint);
    CHECK_STR(before, after);
    CHECK_STR(a.key_pem, b.key_pem);
    server_tls_dispose(&a);
    server_tls_dispose(&b);
    free(before);
    free(after);
    free(crt_path);
    free(d);
}

/* A certificate whose key went missing is no use: both are made anew. */
TEST(regenerated_when_a_file_is_missing)
{
    struct server_tls a, b;
    char *d = data_dir("regen"), *key_path = xasprintf("%s/keys/tls.key", d);

    CHECK_OK(server_tls_load(&a, d, NULL, NULL, "127.0.0.1:0"));
    CHECK(unlink(key_path) == 0);
    CHECK_OK(server_tls_load(&b, d, NULL, NULL, "127.0.0.1:0"));
    CHECK(b.generated == 1);
    CHECK(strcmp(a.fingerprint, b.fingerprint) != 0);
    server_tls_dispose(&a);
    server_tls_dispose(&b);
    free(key_path);
    free(d);
}

TEST(configured_pairs)
{
    struct server_tls a, b, t;
    char *da = data_dir("site-a"), *db = data_dir("site-b");
    char *crt_a = xasprintf("%s/keys/tls.crt", da), *key_a = xasprintf("%s/keys/tls.key", da);
    char *key_b = xasprintf("%s/keys/tls.key", db), *none = xasprintf("%s/none.crt", dir);
    char *empty = data_dir("empty");

    CHECK_OK(server_tls_load(&a, da, NULL, NULL, "127.0.0.1:0"));
    CHECK_OK(server_tls_load(&b, db, NULL, NULL, "127.0.0.1:0"));
    /* the configured pair is used as is, and nothing is written */
    CHECK_OK(server_tls_load(&t, empty, crt_a, key_a, "127.0.0.1:0"));
    CHECK(t.generated == 0);
    CHECK_STR(t.fingerprint, a.fingerprint);
    server_tls_dispose(&t);
    {
        char *p = xasprintf("%s/keys/tls.crt", empty);
        CHECK(!fs_exists(p));
        free(p);
    }
    CHECK_ERR(server_tls_load(&t, empty, crt_a, key_b, "127.0.0.1:0"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "does not belong to the certificate");
    CHECK_CONTAINS(err_last(), key_b);
    CHECK(t.key_pem == NULL && t.cert_pem == NULL);
    CHECK_ERR(server_tls_load(&t, empty, key_a, key_a, "127.0.0.1:0"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not a PEM certificate");
    CHECK_ERR(server_tls_load(&t, empty, crt_a, crt_a, "127.0.0.1:0"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not a PEM private key");
    CHECK_ERR(server_tls_load(&t, empty, none, key_a, "127.0.0.1:0"), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "none.crt");
    CHECK_ERR(server_tls_load(&t, empty, crt_a, NULL, "127.0.0.1:0"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "set both or neither");
    server_tls_dispose(&a);
    server_tls_dispose(&b);
    free(crt_a);
    free(key_a);
    free(key_b);
    free(none);
    free(da);
    free(db);
    free(empty);
}

int main(void)
{
    dir = test_tmpdir("server-tls");
    RUN(generated_pair);
    RUN(reused_on_later_loads);
    RUN(regenerated_when_a_file_is_missing);
    RUN(configured_pairs);
    free(dir);
    return TEST_END();
}
