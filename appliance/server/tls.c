/*
 * The server's TLS identity: a configured certificate and key, or one
 * made on first start and kept in the data directory.
 *
 * An edge site has no CA and no DNS it controls, so the appliance signs
 * its own certificate: ECDSA P-256 (small and fast on weak CPUs), valid for
 * ten years (nobody is there to renew it), naming every way a browser on
 * the LAN may reach the node: its host name, localhost, and each address
 * of its interfaces at the time of generation. The pair is regenerated
 * only when a file is missing, never because it looks stale, so the
 * fingerprint an operator once compared stays the same across restarts;
 * an operator who wants new names deletes keys/tls.* and restarts.
 *
 * Both paths end in the same check (parse both, the key is the
 * certificate's), so a broken generated pair is refused like a broken
 * configured one, with the file named.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "server/server.h"

#define TLS_MAX_FILE (256 * 1024)
#define TLS_VALID_YEARS 10
/* Names beyond this many (a node with very many addresses) are left out:
 * the certificate has to stay a size every client accepts. */
#define TLS_MAX_SANS 64

/* One subjectAltName entry: a dNSName or an iPAddress. */
struct tls_san {
    int ip_len; /* 0: dns; 4 or 16: ip */
    unsigned char ip[16];
    char dns[256];
};

struct tls_sans {
    struct tls_san v[TLS_MAX_SANS];
    size_t n;
};

static int tls_rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return util_random(out, len) < 0 ? MBEDTLS_ERR_ENTROPY_SOURCE_FAILED : 0;
}

static void tls_strerror(char *out, size_t n, int ret)
{
    mbedtls_strerror(ret, out, n);
}

static void tls_san_add_ip(struct tls_sans *s, const void *ip, int len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].ip_len == len && !memcmp(s->v[i].ip, ip, (size_t)len))
            return;
    if (s->n == TLS_MAX_SANS)
        return;
    memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
    s->v[s->n].ip_len = len;
    memcpy(s->v[s->n].ip, ip, (size_t)len);
    s->n++;
}

/* A host name goes in only when it is one a certificate may carry
 * (letters, digits, '-' and '.'). */
static int tls_dns_ok(const char *name)
{
    size_t i;
    if (!name[0] || strlen(name) > 253)
        return 0;
    for (i = 0; name[i]; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '.'))
            return 0;
    return 1;
}

static void tls_san_add_dns(struct tls_sans *s, const char *name)
{
    if (!tls_dns_ok(name) || s->n == TLS_MAX_SANS)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].ip_len && !strcasecmp(s->v[i].dns, name))
            return;
    memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
    str_copy(s->v[s->n].dns, name, sizeof(s->v[s->n].dns));
    s->n++;
}

/* The address part of a listen spec ("10.0.0.5:8443", "[::1]:8443"),
 * when it is a specific address rather than a wildcard. */
static void tls_san_add_listen(struct tls_sans *s, const char *listen)
{
    char host[64];
    const char *end;
    unsigned char ip[16];

    if (!listen)
        return;
    if (listen[0] == '[') {
        listen++;
        end = strchr(listen, ']');
    } else {
        end = strrchr(listen, ':');
    }
    if (!end || (size_t)(end - listen) >= sizeof(host))
        return;
    memcpy(host, listen, (size_t)(end - listen));
    host[end - listen] = '\0';
    if (inet_pton(AF_INET, host, ip) == 1 && memcmp(ip, "\0\0\0\0", 4))
        tls_san_add_ip(s, ip, 4);
    else if (inet_pton(AF_INET6, host, ip) == 1 && !IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)ip))
        tls_san_add_ip(s, ip, 16);
}

/* Host name, localhost, the listen address and every interface address
 * (IPv6 link-local ones are left out: they only mean something together
 * with an interface name, which a URL in a certificate cannot carry). */
static void tls_sans_collect(struct tls_sans *s, const char *listen)
{
    char host[256];
    struct ifaddrs *ifs = NULL, *i;

    s->n = 0;
    if (gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = '\0';
        tls_san_add_dns(s, host);
    }
    tls_san_add_dns(s, "localhost");
    tls_san_add_listen(s, listen);
    if (getifaddrs(&ifs) != 0) {
        log_warn("tls: cannot list the node's addresses; the certificate names only %s and "
                 "localhost",
                 host);
        return;
    }
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            tls_san_add_ip(s, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
        else if (i->ifa_addr->sa_family == AF_INET6 &&
                 !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
            tls_san_add_ip(s, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
    }
    freeifaddrs(ifs);
}

/* subjectAltName = SEQUENCE OF GeneralName (dNSName [2] IA5String,
 * iPAddress [7] OCTET STRING), written back to front as mbedTLS's
 * asn1write functions do. */
static int tls_set_sans(mbedtls_x509write_cert *crt, const struct tls_sans *s)
{
    unsigned char der[TLS_MAX_SANS * 264];
    unsigned char *p = der + sizeof(der);
    size_t len = 0, i;
    int n;

    for (i = s->n; i-- > 0;) {
        const struct tls_san *e = &s->v[i];
        const unsigned char *data = e->ip_len ? e->ip : (const unsigned char *)e->dns;
        size_t size = e->ip_len ? (size_t)e->ip_len : strlen(e->dns);
        if ((n = mbedtls_asn1_write_raw_buffer(&p, der, data, size)) < 0)
            return n;
        len += (size_t)n;
        if ((n = mbedtls_asn1_write_len(&p, der, size)) < 0)
            return n;
        len += (size_t)n;
        if ((n = mbedtls_asn1_write_tag(&p, der,
                                        MBEDTLS_ASN1_CONTEXT_SPECIFIC | (e->ip_len ? 7 : 2))) < 0)
            return n;
        len += (size_t)n;
    }
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

/* extendedKeyUsage = SEQUENCE { serverAuth }: browsers want it on a
 * server certificate, and it keeps this one from passing as a client's. */
static int tls_set_server_auth(mbedtls_x509write_cert *crt)
{
    static const unsigned char der[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
                                        0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
    return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                               der, sizeof(der));
}

static void tls_time(char out[15], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

/* A new key and self-signed certificate, as PEM, into key_pem and
 * crt_pem (appended). */
static int tls_generate(const char *listen, struct buf *key_pem, struct buf *crt_pem)
{
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    struct tls_sans *sans = xcalloc(1, sizeof(*sans));
    unsigned char rnd[16], *out = xmalloc(8192);
    char from[15], until[15], host[256] = "edgecd", subject[300], msg[128];
    time_t now = time(NULL);
    const char *step = "key";
    int ret, rc = 0;

    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);
    tls_sans_collect(sans, listen);
    if (sans->n && !sans->v[0].ip_len && strcmp(sans->v[0].dns, "localhost"))
        str_copy(host, sans->v[0].dns, sizeof(host));
    snprintf(subject, sizeof(subject), "CN=%s,O=edgecd", host);
    /* An hour back, so a client whose clock is a little late accepts it. */
    tls_time(from, now - 3600);
    tls_time(until, now + (time_t)TLS_VALID_YEARS * 365 * 24 * 3600);
    if ((ret = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
        (ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), tls_rng, NULL)) !=
            0 ||
        (ret = mbedtls_pk_write_key_pem(&key, out, 8192)) != 0)
        goto done;
    buf_puts(key_pem, (const char *)out);
    step = "certificate";
    if ((ret = util_random(rnd, sizeof(rnd))) < 0) {
        rc = ret;
        goto done;
    }
    rnd[0] &= 0x7f; /* a serial number is positive */
    rnd[0] |= 0x01;
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
    if ((ret = mbedtls_mpi_read_binary(&serial, rnd, sizeof(rnd))) != 0 ||
        (ret = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
        (ret = mbedtls_x509write_crt_set_validity(&crt, from, until)) != 0 ||
        (ret = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
        /* not a CA: browsers refuse a CA certificate as a server's own */
        (ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
        (ret = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0 ||
        (ret = tls_set_server_auth(&crt)) != 0 || (ret = tls_set_sans(&crt, sans)) != 0 ||
        (ret = mbedtls_x509write_crt_pem(&crt, out, 8192, tls_rng, NULL)) != 0)
        goto done;
    buf_puts(crt_pem, (const char *)out);
done:
    if (ret > 0)
        ret = 0;
    if (ret != 0 && rc == 0) {
        tls_strerror(msg, sizeof(msg), ret);
        rc = err_set(ERR_GENERIC, "tls: generating the %s: %s", step, msg);
    }
    mbedtls_platform_zeroize(out, 8192);
    free(out);
    free(sans);
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    return rc;
}

/* Read the pair, or make it when either file is missing (both are then
 * written anew: a certificate without its key is of no use). */
static int tls_read_or_generate(const char *data_dir, const char *listen, struct buf *key_pem,
                                struct buf *crt_pem, int *generated)
{
    char *key_path = xasprintf("%s/keys/tls.key", data_dir);
    char *crt_path = xasprintf("%s/keys/tls.crt", data_dir);
    int rc;

    *generated = 0;
    if (fs_exists(key_path) && fs_exists(crt_path)) {
        if ((rc = fs_read_file(key_path, TLS_MAX_FILE, key_pem)) == 0)
            rc = fs_read_file(crt_path, TLS_MAX_FILE, crt_pem);
        goto out;
    }
    if ((rc = tls_generate(listen, key_pem, crt_pem)) < 0)
        goto out;
    /* The key first: a crash between the two leaves no certificate, so
     * the next start generates again rather than pairing a new
     * certificate with an old key. */
    if ((rc = fs_write_atomic(key_path, key_pem->ptr, key_pem->len, 0600)) < 0 ||
        (rc = fs_write_atomic(crt_path, crt_pem->ptr, crt_pem->len, 0644)) < 0)
        goto out;
    *generated = 1;
    log_info("tls: generated a self-signed certificate in %s", crt_path);
out:
    free(key_path);
    free(crt_path);
    return rc;
}

/* Parse both, check the key belongs to the certificate, and fill the
 * fingerprint. key_name/crt_name name the files in errors. */
static int tls_check(struct server_tls *t, const char *key_name, const char *crt_name)
{
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    unsigned char sha[32];
    char msg[128];
    int ret, rc = 0;
    size_t i;

    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&key);
    /* PEM parsing counts the terminating NUL in the length. */
    if ((ret = mbedtls_x509_crt_parse(&crt, (const unsigned char *)t->cert_pem,
                                      strlen(t->cert_pem) + 1)) != 0) {
        tls_strerror(msg, sizeof(msg), ret);
        rc = err_set(ERR_INVALID, "%s: not a PEM certificate: %s", crt_name, msg);
        goto out;
    }
    if ((ret = mbedtls_pk_parse_key(&key, (const unsigned char *)t->key_pem, strlen(t->key_pem) + 1,
                                    NULL, 0)) != 0) {
        tls_strerror(msg, sizeof(msg), ret);
        rc =
            err_set(ERR_INVALID, "%s: not a PEM private key (encrypted keys are not supported): %s",
                    key_name, msg);
        goto out;
    }
    if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
        rc = err_set(ERR_INVALID, "%s: this key does not belong to the certificate in %s", key_name,
                     crt_name);
        goto out;
    }
    /* Served anyway (the operator may be replacing it), but said once at
     * start, since every client will refuse it. */
    if (mbedtls_x509_time_is_past(&crt.valid_to))
        log_warn("tls: %s expired on %04d-%02d-%02d: browsers and the CLI will refuse it", crt_name,
                 crt.valid_to.year, crt.valid_to.mon, crt.valid_to.day);
    util_sha256(crt.raw.p, crt.raw.len, sha);
    for (i = 0; i < sizeof(sha); i++)
        snprintf(t->fingerprint + 3 * i, sizeof(t->fingerprint) - 3 * i, "%02X%s", sha[i],
                 i + 1 < sizeof(sha) ? ":" : "");
out:
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&crt);
    return rc;
}

int server_tls_load(struct server_tls *out, const char *data_dir, const char *cert_file,
                    const char *key_file, const char *listen)
{
    struct buf key = BUF_INIT, crt = BUF_INIT;
    char *key_name = NULL, *crt_name = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((cert_file && cert_file[0]) != (key_file && key_file[0]))
        return err_set(ERR_INVALID, "tls: tlsCertFile and tlsKeyFile go together (set both or "
                                    "neither)");
    if (cert_file && cert_file[0]) {
        key_name = xasprintf("tlsKeyFile %s", key_file);
        crt_name = xasprintf("tlsCertFile %s", cert_file);
        if ((rc = fs_read_file(cert_file, TLS_MAX_FILE, &crt)) < 0 ||
            (rc = fs_read_file(key_file, TLS_MAX_FILE, &key)) < 0) {
            rc = err_prefix(rc, "tls");
            goto out;
        }
    } else {
        key_name = xasprintf("%s/keys/tls.key", data_dir);
        crt_name = xasprintf("%s/keys/tls.crt", data_dir);
        if ((rc = tls_read_or_generate(data_dir, listen, &key, &crt, &out->generated)) < 0)
            goto out;
    }
    out->key_pem = xstrdup(buf_cstr(&key));
    out->cert_pem = xstrdup(buf_cstr(&crt));
    if ((rc = tls_check(out, key_name, crt_name)) < 0)
        server_tls_dispose(out);
out:
    mbedtls_platform_zeroize(key.ptr, key.len);
    buf_dispose(&key);
    buf_dispose(&crt);
    free(key_name);
    free(crt_name);
    return rc;
}

void server_tls_dispose(struct server_tls *t)
{
    if (!t)
        return;
    if (t->key_pem) {
        mbedtls_platform_zeroize(t->key_pem, strlen(t->key_pem));
        free(t->key_pem);
    }
    free(t->cert_pem);
    memset(t, 0, sizeof(*t));
}
