/*
 * The chunked AES-256-GCM stream (see crypt.h for the format). The reader
 * keeps one byte of lookahead past each chunk: whether anything follows
 * decides if the chunk must have been sealed as the final one, which is
 * what makes a cut at a chunk boundary and appended bytes detectable.
 * When a chunk fails, the reader tries it once with the other final flag
 * only to tell the operator which of the two happened.
 */
#include "backup/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"

#define CRYPT_VERSION 1
#define CRYPT_SALT_LEN 32
#define CRYPT_TAG_LEN 16
#define CRYPT_NONCE_LEN 12
#define CRYPT_MAC_OFF 52 /* the header bytes the MAC covers */
#define CRYPT_SEALED (CRYPT_CHUNK + CRYPT_TAG_LEN)
#define CRYPT_MIN_PASSPHRASE 8

static uint32_t crypt_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void crypt_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* ---- keys ---- */

/* Refuse a secret file that others can read: a backup key next to the
 * backups it opens is only as private as its mode. */
static int crypt_check_private(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s %s: %s", what, path,
                       strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set(ERR_INVALID, "%s %s: not a regular file", what, path);
    if (st.st_mode & 077)
        return err_set(ERR_INVALID,
                       "%s %s: readable by others (mode %03o); chmod 600 it or use another file",
                       what, path, (unsigned)(st.st_mode & 0777));
    return 0;
}

static int crypt_unhex(unsigned char *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = hex[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return -1;
        out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] << 4) | d : d);
    }
    return 0;
}

int crypt_key_load_file(struct crypt_key *out, const char *path)
{
    struct buf b = BUF_INIT;
    int rc;

    memset(out, 0, sizeof(*out));
    out->kdf = CRYPT_KDF_KEYFILE;
    if ((rc = crypt_check_private(path, "key file")) < 0)
        return rc;
    rc = fs_read_file(path, 2 * CRYPT_KEY_LEN + 2, &b);
    if (rc == ERR_TOOLARGE)
        rc = 0, b.len = SIZE_MAX; /* reported below as the wrong size */
    if (rc < 0)
        goto out;
    if (b.len == CRYPT_KEY_LEN) {
        memcpy(out->key, b.ptr, CRYPT_KEY_LEN);
    } else if ((b.len == 2 * CRYPT_KEY_LEN ||
                (b.len == 2 * CRYPT_KEY_LEN + 1 && b.ptr[2 * CRYPT_KEY_LEN] == '\n')) &&
               crypt_unhex(out->key, b.ptr, CRYPT_KEY_LEN) == 0) {
        /* hex, as `openssl rand -hex 32` writes it */
    } else {
        rc = err_set(ERR_INVALID, "key file %s: not a key (32 bytes, or 64 hex digits)", path);
    }
out:
    if (b.ptr)
        mbedtls_platform_zeroize(b.ptr, b.cap);
    buf_dispose(&b);
    return rc;
}

int crypt_key_load_passphrase(struct crypt_key *out, const char *path)
{
    struct buf b = BUF_INIT;
    size_t n;
    int rc;

    memset(out, 0, sizeof(*out));
    out->kdf = CRYPT_KDF_PASSPHRASE;
    if ((rc = crypt_check_private(path, "passphrase file")) < 0)
        return rc;
    if ((rc = fs_read_file(path, 4096, &b)) < 0) {
        if (rc == ERR_TOOLARGE)
            err_set(rc, "passphrase file %s: longer than 4096 bytes", path);
        goto out;
    }
    for (n = 0; n < b.len && b.ptr[n] != '\n' && b.ptr[n] != '\r'; n++)
        ;
    if (n < CRYPT_MIN_PASSPHRASE || memchr(b.ptr, '\0', n)) {
        rc = err_set(ERR_INVALID,
                     "passphrase file %s: the passphrase (its first line) needs %d "
                     "characters at least",
                     path, CRYPT_MIN_PASSPHRASE);
        goto out;
    }
    out->passphrase = xstrndup(b.ptr, n);
out:
    if (b.ptr)
        mbedtls_platform_zeroize(b.ptr, b.cap);
    buf_dispose(&b);
    return rc;
}

int crypt_key_generate(const char *path)
{
    unsigned char key[CRYPT_KEY_LEN];
    int rc;
    if (fs_exists(path))
        return err_set(ERR_CONFLICT, "key file %s: exists already", path);
    if ((rc = util_random(key, sizeof(key))) == 0)
        rc = fs_write_atomic(path, key, sizeof(key), 0600);
    mbedtls_platform_zeroize(key, sizeof(key));
    return rc;
}

void crypt_key_dispose(struct crypt_key *k)
{
    if (k->passphrase) {
        mbedtls_platform_zeroize(k->passphrase, strlen(k->passphrase));
        free(k->passphrase);
    }
    mbedtls_platform_zeroize(k, sizeof(*k));
}

/* The archive's encryption key and header key from the operator's key and
 * the header (its kdf, iterations and salt). */
static int crypt_derive(const struct crypt_key *key, const unsigned char *hdr,
                        unsigned char enc[CRYPT_KEY_LEN], unsigned char mac[CRYPT_KEY_LEN])
{
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    const unsigned char *salt = hdr + 20;
    unsigned char master[CRYPT_KEY_LEN];
    uint32_t iterations =
        (uint32_t)hdr[12] << 24 | (uint32_t)hdr[13] << 16 | (uint32_t)hdr[14] << 8 | hdr[15];
    int rc = 0;

    if (key->kdf == CRYPT_KDF_PASSPHRASE) {
        mbedtls_md_context_t md;
        mbedtls_md_init(&md);
        if (mbedtls_md_setup(&md, sha, 1) != 0 ||
            mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)key->passphrase,
                                      strlen(key->passphrase), salt, CRYPT_SALT_LEN, iterations,
                                      CRYPT_KEY_LEN, master) != 0)
            rc = err_set(ERR_GENERIC, "backup key: PBKDF2 failed");
        mbedtls_md_free(&md);
    } else {
        memcpy(master, key->key, CRYPT_KEY_LEN);
    }
    if (rc == 0 && (mbedtls_hkdf(sha, salt, CRYPT_SALT_LEN, master, CRYPT_KEY_LEN,
                                 (const unsigned char *)"edgecd backup v1 data", 21, enc,
                                 CRYPT_KEY_LEN) != 0 ||
                    mbedtls_hkdf(sha, salt, CRYPT_SALT_LEN, master, CRYPT_KEY_LEN,
                                 (const unsigned char *)"edgecd backup v1 header", 23, mac,
                                 CRYPT_KEY_LEN) != 0))
        rc = err_set(ERR_GENERIC, "backup key: HKDF failed");
    mbedtls_platform_zeroize(master, sizeof(master));
    return rc;
}

/* Derive this archive's keys from key and the header, put the data key
 * into gcm and the header's MAC into mac_out. */
static int crypt_setup(const struct crypt_key *key, const unsigned char *hdr,
                       mbedtls_gcm_context *gcm, unsigned char mac_out[32])
{
    unsigned char enc[CRYPT_KEY_LEN], mac[CRYPT_KEY_LEN];
    int rc = crypt_derive(key, hdr, enc, mac);
    if (rc == 0) {
        mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), mac, CRYPT_KEY_LEN, hdr,
                        CRYPT_MAC_OFF, mac_out);
        if (mbedtls_gcm_setkey(gcm, MBEDTLS_CIPHER_ID_AES, enc, CRYPT_KEY_LEN * 8) != 0)
            rc = err_set(ERR_GENERIC, "backup key: AES key setup failed");
    }
    mbedtls_platform_zeroize(enc, sizeof(enc));
    mbedtls_platform_zeroize(mac, sizeof(mac));
    return rc;
}

static void crypt_nonce(unsigned char nonce[CRYPT_NONCE_LEN], uint64_t seq, int final)
{
    memset(nonce, 0, CRYPT_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[10 - i] = (unsigned char)(seq >> (8 * i));
    nonce[11] = final ? 1 : 0;
}

/* ---- writer ---- */

struct crypt_writer {
    mbedtls_gcm_context gcm;
    unsigned char hdr[CRYPT_HEADER_LEN];
    unsigned char plain[CRYPT_CHUNK];
    unsigned char sealed[CRYPT_SEALED];
    size_t have;
    uint64_t seq;
    int finished;
    crypt_sink_fn sink;
    void *ctx;
};

int crypt_writer_new(crypt_writer **out, const struct crypt_key *key, crypt_sink_fn sink, void *ctx)
{
    crypt_writer *w = xcalloc(1, sizeof(*w));
    uint32_t it = key->kdf == CRYPT_KDF_PASSPHRASE
                      ? (key->iterations ? key->iterations : CRYPT_MIN_ITERATIONS)
                      : 0;
    int rc;

    *out = NULL;
    mbedtls_gcm_init(&w->gcm);
    w->sink = sink;
    w->ctx = ctx;
    if (key->kdf == CRYPT_KDF_PASSPHRASE && it < CRYPT_MIN_ITERATIONS) {
        rc = err_set(ERR_INVALID, "backup key: PBKDF2 needs %u iterations at least",
                     CRYPT_MIN_ITERATIONS);
        goto out;
    }
    memcpy(w->hdr, CRYPT_MAGIC, CRYPT_MAGIC_LEN);
    w->hdr[8] = CRYPT_VERSION;
    w->hdr[9] = (unsigned char)key->kdf;
    crypt_put_be32(w->hdr + 12, it);
    crypt_put_be32(w->hdr + 16, CRYPT_CHUNK);
    if ((rc = util_random(w->hdr + 20, CRYPT_SALT_LEN)) < 0 ||
        (rc = crypt_setup(key, w->hdr, &w->gcm, w->hdr + CRYPT_MAC_OFF)) < 0 ||
        (rc = sink(ctx, w->hdr, CRYPT_HEADER_LEN)) < 0)
        goto out;
    *out = w;
    w = NULL;
out:
    crypt_writer_free(w);
    return rc;
}

static int crypt_seal(crypt_writer *w, int final)
{
    unsigned char nonce[CRYPT_NONCE_LEN];
    crypt_nonce(nonce, w->seq, final);
    if (mbedtls_gcm_crypt_and_tag(&w->gcm, MBEDTLS_GCM_ENCRYPT, w->have, nonce, sizeof(nonce),
                                  w->hdr, CRYPT_HEADER_LEN, w->plain, w->sealed, CRYPT_TAG_LEN,
                                  w->sealed + w->have) != 0)
        return err_set(ERR_GENERIC, "backup: encryption failed");
    w->seq++;
    {
        int rc = w->sink(w->ctx, w->sealed, w->have + CRYPT_TAG_LEN);
        w->have = 0;
        return rc;
    }
}

int crypt_writer_write(crypt_writer *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (w->finished)
        return err_set(ERR_INVALID, "backup: write after the final chunk");
    while (n > 0) {
        size_t take;
        /* A full chunk is sealed only once more data comes, so the final
         * chunk is never empty unless the whole stream is. */
        if (w->have == CRYPT_CHUNK) {
            int rc = crypt_seal(w, 0);
            if (rc < 0)
                return rc;
        }
        take = CRYPT_CHUNK - w->have < n ? CRYPT_CHUNK - w->have : n;
        memcpy(w->plain + w->have, s, take);
        w->have += take;
        s += take;
        n -= take;
    }
    return 0;
}

int crypt_writer_finish(crypt_writer *w)
{
    int rc;
    if (w->finished)
        return 0;
    rc = crypt_seal(w, 1);
    w->finished = 1;
    return rc;
}

void crypt_writer_free(crypt_writer *w)
{
    if (!w)
        return;
    mbedtls_gcm_free(&w->gcm);
    mbedtls_platform_zeroize(w, sizeof(*w));
    free(w);
}

/* ---- reader ---- */

struct crypt_reader {
    mbedtls_gcm_context gcm;
    unsigned char hdr[CRYPT_HEADER_LEN];
    unsigned char in[CRYPT_SEALED + 1]; /* a sealed chunk and one byte of lookahead */
    size_t in_len;
    unsigned char plain[CRYPT_CHUNK];
    size_t plain_len, plain_off;
    uint64_t seq;
    uint64_t offset; /* file offset of the next chunk */
    int done, eof;
    crypt_source_fn source;
    void *ctx;
    char *what;
};

/* Fill r->in up to want bytes; fewer only at the end of the input. */
static int crypt_fill(crypt_reader *r, size_t want)
{
    while (!r->eof && r->in_len < want) {
        size_t got = 0;
        int rc = r->source(r->ctx, r->in + r->in_len, want - r->in_len, &got);
        if (rc < 0)
            return rc;
        if (got == 0)
            r->eof = 1;
        r->in_len += got;
    }
    return 0;
}

int crypt_reader_new(crypt_reader **out, const struct crypt_key *key, crypt_source_fn source,
                     void *ctx, const char *what)
{
    crypt_reader *r = xcalloc(1, sizeof(*r));
    unsigned char check[32];
    uint32_t it, chunk;
    int rc;

    *out = NULL;
    mbedtls_gcm_init(&r->gcm);
    r->source = source;
    r->ctx = ctx;
    r->what = xstrdup(what);
    if ((rc = crypt_fill(r, CRYPT_HEADER_LEN)) < 0)
        goto out;
    if (r->in_len < CRYPT_MAGIC_LEN || memcmp(r->in, CRYPT_MAGIC, CRYPT_MAGIC_LEN) != 0) {
        rc = err_set(ERR_INVALID, "%s: not an encrypted edgecd archive", what);
        goto out;
    }
    if (r->in_len < CRYPT_HEADER_LEN) {
        rc = err_set(ERR_INVALID, "%s: truncated: the file ends inside the header", what);
        goto out;
    }
    memcpy(r->hdr, r->in, CRYPT_HEADER_LEN);
    r->in_len = 0;
    r->offset = CRYPT_HEADER_LEN;
    it = crypt_be32(r->hdr + 12);
    chunk = crypt_be32(r->hdr + 16);
    if (r->hdr[8] != CRYPT_VERSION) {
        rc = err_set(ERR_UNSUPPORTED, "%s: encrypted archive version %u (this edgecd reads %u)",
                     what, r->hdr[8], CRYPT_VERSION);
        goto out;
    }
    if ((r->hdr[9] != CRYPT_KDF_KEYFILE && r->hdr[9] != CRYPT_KDF_PASSPHRASE) || r->hdr[10] ||
        r->hdr[11] || chunk != CRYPT_CHUNK || (r->hdr[9] == CRYPT_KDF_KEYFILE && it != 0) ||
        (r->hdr[9] == CRYPT_KDF_PASSPHRASE &&
         (it < CRYPT_MIN_ITERATIONS || it > CRYPT_MAX_ITERATIONS))) {
        rc = err_set(ERR_INVALID,
                     "%s: damaged header (unknown key type, chunk size or PBKDF2 "
                     "iteration count)",
                     what);
        goto out;
    }
    if (r->hdr[9] != key->kdf) {
        rc = err_set(ERR_AUTH, "%s: encrypted with a %s, not a %s", what,
                     r->hdr[9] == CRYPT_KDF_PASSPHRASE ? "passphrase" : "key file",
                     key->kdf == CRYPT_KDF_PASSPHRASE ? "passphrase" : "key file");
        goto out;
    }
    if ((rc = crypt_setup(key, r->hdr, &r->gcm, check)) < 0)
        goto out;
    if (!util_const_eq(check, r->hdr + CRYPT_MAC_OFF, sizeof(check))) {
        rc = err_set(ERR_AUTH, "%s: wrong %s (or the archive's header was changed)", what,
                     key->kdf == CRYPT_KDF_PASSPHRASE ? "passphrase" : "key");
        goto out;
    }
    *out = r;
    r = NULL;
out:
    crypt_reader_free(r);
    return rc;
}

static int crypt_open_chunk(crypt_reader *r, size_t sealed_len, int final)
{
    unsigned char nonce[CRYPT_NONCE_LEN];
    crypt_nonce(nonce, r->seq, final);
    return mbedtls_gcm_auth_decrypt(&r->gcm, sealed_len - CRYPT_TAG_LEN, nonce, sizeof(nonce),
                                    r->hdr, CRYPT_HEADER_LEN, r->in + sealed_len - CRYPT_TAG_LEN,
                                    CRYPT_TAG_LEN, r->in, r->plain) == 0
               ? 0
               : -1;
}

/* Authenticate the next chunk into r->plain. */
static int crypt_next_chunk(crypt_reader *r)
{
    size_t sealed_len;
    int final, rc;

    if ((rc = crypt_fill(r, CRYPT_SEALED + 1)) < 0)
        return rc;
    if (r->in_len < CRYPT_TAG_LEN)
        return err_set(ERR_INVALID,
                       "%s: truncated: chunk %llu (at byte %llu) is missing or cut short", r->what,
                       (unsigned long long)r->seq, (unsigned long long)r->offset);
    final = r->in_len <= CRYPT_SEALED;
    sealed_len = final ? r->in_len : CRYPT_SEALED;
    if (crypt_open_chunk(r, sealed_len, final) != 0) {
        /* Which of the three: the chunk was changed, or it is a whole
         * chunk in the wrong place at the end. */
        if (final && sealed_len == CRYPT_SEALED && crypt_open_chunk(r, sealed_len, 0) == 0)
            return err_set(ERR_INVALID,
                           "%s: truncated: the file ends after chunk %llu, which is not the "
                           "last one",
                           r->what, (unsigned long long)r->seq);
        if (!final && crypt_open_chunk(r, sealed_len, 1) == 0)
            return err_set(
                ERR_INVALID, "%s: data appended after the final chunk (%llu), at byte %llu",
                r->what, (unsigned long long)r->seq, (unsigned long long)(r->offset + sealed_len));
        return err_set(ERR_INVALID,
                       "%s: chunk %llu (bytes %llu-%llu%s) fails authentication: the archive was "
                       "changed or damaged%s",
                       r->what, (unsigned long long)r->seq, (unsigned long long)r->offset,
                       (unsigned long long)(r->offset + sealed_len - 1),
                       final ? ", the end of the file" : "",
                       final ? ", cut short, or had bytes appended" : "");
    }
    r->plain_len = sealed_len - CRYPT_TAG_LEN;
    r->plain_off = 0;
    r->seq++;
    r->offset += sealed_len;
    /* Keep the lookahead byte for the next chunk. */
    memmove(r->in, r->in + sealed_len, r->in_len - sealed_len);
    r->in_len -= sealed_len;
    if (final)
        r->done = 1;
    return 0;
}

int crypt_reader_read(crypt_reader *r, void *p, size_t n, size_t *got)
{
    unsigned char *d = p;
    *got = 0;
    while (n > 0) {
        size_t take;
        if (r->plain_off == r->plain_len) {
            int rc;
            if (r->done)
                break;
            if ((rc = crypt_next_chunk(r)) < 0)
                return rc;
            continue;
        }
        take = r->plain_len - r->plain_off < n ? r->plain_len - r->plain_off : n;
        memcpy(d, r->plain + r->plain_off, take);
        r->plain_off += take;
        d += take;
        n -= take;
        *got += take;
    }
    return 0;
}

enum crypt_kdf crypt_reader_kdf(const crypt_reader *r)
{
    return (enum crypt_kdf)r->hdr[9];
}

void crypt_reader_free(crypt_reader *r)
{
    if (!r)
        return;
    mbedtls_gcm_free(&r->gcm);
    free(r->what);
    mbedtls_platform_zeroize(r, sizeof(*r));
    free(r);
}

int crypt_is_encrypted(const void *head, size_t n)
{
    return n >= CRYPT_MAGIC_LEN && memcmp(head, CRYPT_MAGIC, CRYPT_MAGIC_LEN) == 0;
}
