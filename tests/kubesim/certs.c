/*
 * Certificate generation with mbedTLS x509write. Validity starts an hour in
 * the past so clients with a slightly late clock still accept the server.
 */
#include "certs.h"

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

static int certs_keygen(mbedtls_pk_context *key, mbedtls_ctr_drbg_context *drbg)
{
    int rc;
    mbedtls_pk_init(key);
    rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (rc == 0)
        rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
                                 mbedtls_ctr_drbg_random, drbg);
    if (rc != 0)
        return err_set(ERR_GENERIC, "certs: EC key generation: -0x%04x", (unsigned)-rc);
    return 0;
}

static void certs_time(char out[15], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

/*
 * subjectAltName = SEQUENCE OF GeneralName, written back to front as
 * mbedTLS's asn1write functions do: dNSName is [2] IA5String, iPAddress
 * is [7] OCTET STRING.
 */
static int certs_san(mbedtls_x509write_cert *crt)
{
    unsigned char der[128];
    unsigned char *p = der + sizeof(der);
    static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char v4[4] = {127, 0, 0, 1};
    static const char dns[] = "localhost";
    size_t len = 0;
    int n;

#define CERTS_RAW(data, size, tag)                                                                 \
    do {                                                                                           \
        if ((n = mbedtls_asn1_write_raw_buffer(&p, der, (data), (size))) < 0)                      \
            return n;                                                                              \
        len += (size_t)n;                                                                          \
        if ((n = mbedtls_asn1_write_len(&p, der, (size))) < 0)                                     \
            return n;                                                                              \
        len += (size_t)n;                                                                          \
        if ((n = mbedtls_asn1_write_tag(&p, der, (tag))) < 0)                                      \
            return n;                                                                              \
        len += (size_t)n;                                                                          \
    } while (0)
    CERTS_RAW(v6, sizeof(v6), MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7);
    CERTS_RAW(v4, sizeof(v4), MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7);
    CERTS_RAW((const unsigned char *)dns, strlen(dns), MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
#undef CERTS_RAW
    if ((n = mbedtls_asn1_write_len(&p, der, len)) < 0)
        return n;
    len += (size_t)n;
    if ((n = mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
        return n;
    len += (size_t)n;
    return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p,
                                               len);
}

enum certs_role { CERTS_CA, CERTS_SERVER, CERTS_CLIENT };

/* Write one certificate for subject_key, signed by issuer_key, as PEM. */
static int certs_issue(struct certs *c, enum certs_role role, const char *subject,
                       mbedtls_pk_context *subject_key, mbedtls_pk_context *issuer_key,
                       struct buf *pem)
{
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    unsigned char rnd[16];
    char from[15], until[15];
    unsigned char out[4096];
    time_t now = time(NULL);
    int rc;

    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);
    certs_time(from, now - 3600);
    certs_time(until, now + 10L * 365 * 24 * 3600);
    mbedtls_ctr_drbg_random(c->drbg, rnd, sizeof(rnd));
    rnd[0] &= 0x7f; /* serial numbers are positive */
    rnd[0] |= 0x01;
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&crt, issuer_key);
    if ((rc = mbedtls_mpi_read_binary(&serial, rnd, sizeof(rnd))) != 0 ||
        (rc = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
        (rc = mbedtls_x509write_crt_set_validity(&crt, from, until)) != 0 ||
        (rc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
        (rc = mbedtls_x509write_crt_set_issuer_name(&crt, "CN=kubesim-ca")) != 0 ||
        (rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
        (rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0)
        goto done;
    if (role == CERTS_CA) {
        if ((rc = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, -1)) != 0 ||
            (rc = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                                MBEDTLS_X509_KU_CRL_SIGN)) != 0)
            goto done;
    } else {
        if ((rc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
            (rc = mbedtls_x509write_crt_set_key_usage(
                 &crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_AGREEMENT)) != 0)
            goto done;
        if (role == CERTS_SERVER && (rc = certs_san(&crt)) != 0)
            goto done;
    }
    rc = mbedtls_x509write_crt_pem(&crt, out, sizeof(out), mbedtls_ctr_drbg_random, c->drbg);
    if (rc == 0)
        buf_puts(pem, (const char *)out);
done:
    mbedtls_x509write_crt_free(&crt);
    mbedtls_mpi_free(&serial);
    if (rc != 0)
        return err_set(ERR_GENERIC, "certs: writing %s certificate: -0x%04x", subject,
                       (unsigned)-rc);
    return 0;
}

static int certs_key_pem(mbedtls_pk_context *key, struct buf *pem)
{
    unsigned char out[1024];
    int rc = mbedtls_pk_write_key_pem(key, out, sizeof(out));
    if (rc != 0)
        return err_set(ERR_GENERIC, "certs: writing key: -0x%04x", (unsigned)-rc);
    buf_puts(pem, (const char *)out);
    return 0;
}

int certs_generate(struct certs *c, mbedtls_ctr_drbg_context *drbg)
{
    int rc;
    memset(c, 0, sizeof(*c));
    c->drbg = drbg;
    mbedtls_x509_crt_init(&c->ca_crt);
    mbedtls_x509_crt_init(&c->server_crt);
    if ((rc = certs_keygen(&c->ca_key, drbg)) < 0 ||
        (rc = certs_keygen(&c->server_key, drbg)) < 0 ||
        (rc = certs_keygen(&c->client_key, drbg)) < 0)
        return rc;
    if ((rc = certs_issue(c, CERTS_CA, "CN=kubesim-ca", &c->ca_key, &c->ca_key, &c->ca_pem)) < 0 ||
        (rc = certs_issue(c, CERTS_SERVER, "CN=kubesim", &c->server_key, &c->ca_key,
                          &c->server_pem)) < 0 ||
        (rc = certs_issue(c, CERTS_CLIENT, "O=system:masters,CN=kubesim-admin", &c->client_key,
                          &c->ca_key, &c->client_pem)) < 0 ||
        (rc = certs_key_pem(&c->server_key, &c->server_key_pem)) < 0 ||
        (rc = certs_key_pem(&c->client_key, &c->client_key_pem)) < 0)
        return rc;
    /* PEM parsing wants the terminating NUL counted in the length. */
    if ((rc = mbedtls_x509_crt_parse(&c->ca_crt, (const unsigned char *)c->ca_pem.ptr,
                                     c->ca_pem.len + 1)) != 0 ||
        (rc = mbedtls_x509_crt_parse(&c->server_crt, (const unsigned char *)c->server_pem.ptr,
                                     c->server_pem.len + 1)) != 0 ||
        (rc = mbedtls_x509_crt_parse(&c->server_crt, (const unsigned char *)c->ca_pem.ptr,
                                     c->ca_pem.len + 1)) != 0)
        return err_set(ERR_GENERIC, "certs: parsing generated certificates: -0x%04x",
                       (unsigned)-rc);
    return 0;
}

void certs_dispose(struct certs *c)
{
    mbedtls_pk_free(&c->ca_key);
    mbedtls_pk_free(&c->server_key);
    mbedtls_pk_free(&c->client_key);
    mbedtls_x509_crt_free(&c->ca_crt);
    mbedtls_x509_crt_free(&c->server_crt);
    buf_dispose(&c->ca_pem);
    buf_dispose(&c->server_pem);
    buf_dispose(&c->server_key_pem);
    buf_dispose(&c->client_pem);
    buf_dispose(&c->client_key_pem);
}
