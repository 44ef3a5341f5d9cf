/*
 * Tests for backup/crypt.c: round trips at chunk boundaries, and every way
 * an encrypted stream can be changed (a flipped byte anywhere, chunks
 * swapped, cut at and inside a chunk, bytes appended, another key or
 * passphrase, the wrong kind of key) refused with its own message. Key and
 * passphrase files: modes, sizes, hex.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/crypt.h"
#include "core/buf.h"
#include "core/util.h"
#include "test.h"

static char *dir;

static int sink(void *ctx, const void *p, size_t n)
{
    buf_put(ctx, p, n);
    return 0;
}

struct src {
    const unsigned char *p;
    size_t len, off;
};

static int source(void *ctx, void *p, size_t n, size_t *got)
{
    struct src *s = ctx;
    size_t take = s->len - s->off < n ? s->len - s->off : n;
    memcpy(p, s->p + s->off, take);
    s->off += take;
    *got = take;
    return 0;
}

static void pattern(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + i / 251);
}

static struct crypt_key key_of(unsigned char byte)
{
    struct crypt_key k;
    memset(&k, 0, sizeof(k));
    k.kdf = CRYPT_KDF_KEYFILE;
    memset(k.key, byte, sizeof(k.key));
    return k;
}

/* Seal n pattern bytes (written in uneven pieces) into out. */
static int seal(const struct crypt_key *k, size_t n, struct buf *out)
{
    crypt_writer *w = NULL;
    unsigned char *plain = xmalloc(n + 1);
    size_t off = 0, piece = 1;
    int rc;
    pattern(plain, n);
    if ((rc = crypt_writer_new(&w, k, sink, out)) == 0) {
        while (rc == 0 && off < n) {
            size_t take = piece < n - off ? piece : n - off;
            rc = crypt_writer_write(w, plain + off, take);
            off += take;
            piece = piece * 3 + 1;
        }
        if (rc == 0)
            rc = crypt_writer_finish(w);
    }
    crypt_writer_free(w);
    free(plain);
    return rc;
}

/* Open data under k and compare with the pattern of n bytes. */
static int open_all(const struct crypt_key *k, const void *data, size_t len, size_t n)
{
    struct src s = {data, len, 0};
    crypt_reader *r = NULL;
    unsigned char *got = xmalloc(n + 100000), *want = xmalloc(n + 1);
    size_t total = 0, g;
    int rc;
    pattern(want, n);
    if ((rc = crypt_reader_new(&r, k, source, &s, "test.enc")) == 0) {
        do {
            rc = crypt_reader_read(r, got + total, 4093, &g);
            total += g;
        } while (rc == 0 && g > 0 && total < n + 90000);
    }
    if (rc == 0 && (total != n || memcmp(got, want, n) != 0))
        rc = err_set(ERR_GENERIC, "round trip differs: %zu bytes back, %zu in", total, n);
    crypt_reader_free(r);
    free(got);
    free(want);
    return rc;
}

TEST(round_trips_at_chunk_boundaries)
{
    static const size_t sizes[] = {
        0, 1, CRYPT_CHUNK - 1, CRYPT_CHUNK, CRYPT_CHUNK + 1, 3 * CRYPT_CHUNK, 3 * CRYPT_CHUNK + 17};
    struct crypt_key k = key_of(1);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct buf b = BUF_INIT;
        size_t chunks = sizes[i] / CRYPT_CHUNK + (sizes[i] % CRYPT_CHUNK || !sizes[i] ? 1 : 0);
        CHECK_OK(seal(&k, sizes[i], &b));
        /* header + data + one tag per chunk: nothing else */
        CHECK(b.len == CRYPT_HEADER_LEN + sizes[i] + 16 * chunks);
        CHECK(crypt_is_encrypted(b.ptr, b.len));
        CHECK_OK(open_all(&k, b.ptr, b.len, sizes[i]));
        buf_dispose(&b);
    }
}

TEST(two_archives_under_one_key_differ)
{
    struct crypt_key k = key_of(2);
    struct buf a = BUF_INIT, b = BUF_INIT;
    CHECK_OK(seal(&k, 1000, &a));
    CHECK_OK(seal(&k, 1000, &b));
    CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) != 0);
    buf_dispose(&a);
    buf_dispose(&b);
}

TEST(wrong_key_and_wrong_kind)
{
    struct crypt_key k = key_of(3), other = key_of(4), pass;
    struct buf b = BUF_INIT;
    memset(&pass, 0, sizeof(pass));
    pass.kdf = CRYPT_KDF_PASSPHRASE;
    pass.passphrase = xstrdup("correct horse battery");
    CHECK_OK(seal(&k, 5000, &b));
    CHECK_ERR(open_all(&other, b.ptr, b.len, 5000), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "test.enc: wrong key");
    CHECK_ERR(open_all(&pass, b.ptr, b.len, 5000), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "encrypted with a key file, not a passphrase");
    crypt_key_dispose(&pass);
    buf_dispose(&b);
}

TEST(passphrase_round_trip)
{
    struct crypt_key p, wrong;
    struct buf b = BUF_INIT;
    memset(&p, 0, sizeof(p));
    memset(&wrong, 0, sizeof(wrong));
    p.kdf = wrong.kdf = CRYPT_KDF_PASSPHRASE;
    p.passphrase = xstrdup("correct horse battery");
    wrong.passphrase = xstrdup("correct horse batterz");
    CHECK_OK(seal(&p, 70000, &b));
    /* The iteration count is in the header, big-endian, at offset 12. */
    CHECK(((unsigned)b.ptr[12] << 24 | (unsigned)(unsigned char)b.ptr[13] << 16 |
           (unsigned)(unsigned char)b.ptr[14] << 8 | (unsigned char)b.ptr[15]) ==
          CRYPT_MIN_ITERATIONS);
    CHECK_OK(open_all(&p, b.ptr, b.len, 70000));
    CHECK_ERR(open_all(&wrong, b.ptr, b.len, 70000), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "wrong passphrase");
    p.iterations = 1000;
    CHECK_ERR(seal(&p, 10, &b), ERR_INVALID);
    crypt_key_dispose(&p);
    crypt_key_dispose(&wrong);
    buf_dispose(&b);
}

TEST(every_flipped_byte_is_refused)
{
    struct crypt_key k = key_of(5);
    struct buf b = BUF_INIT;
    size_t n = 2 * CRYPT_CHUNK + 100;
    CHECK_OK(seal(&k, n, &b));
    /* A sample of positions in every region: magic, version, kdf,
     * iterations, chunk size, salt, MAC, chunk data, tags. */
    for (size_t pos = 0; pos < b.len; pos += (pos < CRYPT_HEADER_LEN ? 1 : 997)) {
        b.ptr[pos] ^= 0x20;
        if (open_all(&k, b.ptr, b.len, n) == 0)
            TEST_FAIL_("a flipped byte at %zu was not noticed", pos);
        b.ptr[pos] ^= 0x20;
    }
    /* The message names the chunk. */
    b.ptr[CRYPT_HEADER_LEN + CRYPT_CHUNK + 16 + 5] ^= 1;
    CHECK_ERR(open_all(&k, b.ptr, b.len, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "chunk 1 (bytes");
    CHECK_CONTAINS(err_last(), "fails authentication");
    buf_dispose(&b);
}

TEST(reordered_cut_and_appended)
{
    struct crypt_key k = key_of(6);
    struct buf b = BUF_INIT, x = BUF_INIT;
    size_t sealed = CRYPT_CHUNK + 16, n = 3 * CRYPT_CHUNK; /* three full chunks, the last final */
    CHECK_OK(seal(&k, n, &b));
    CHECK(b.len == CRYPT_HEADER_LEN + 3 * sealed);

    /* Chunks 0 and 1 swapped. */
    buf_put(&x, b.ptr, CRYPT_HEADER_LEN);
    buf_put(&x, b.ptr + CRYPT_HEADER_LEN + sealed, sealed);
    buf_put(&x, b.ptr + CRYPT_HEADER_LEN, sealed);
    buf_put(&x, b.ptr + CRYPT_HEADER_LEN + 2 * sealed, sealed);
    CHECK_ERR(open_all(&k, x.ptr, x.len, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "chunk 0");

    /* Cut at a chunk boundary: the last chunk left was not the final. */
    CHECK_ERR(open_all(&k, b.ptr, CRYPT_HEADER_LEN + 2 * sealed, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "truncated: the file ends after chunk 1");
    /* Cut inside a chunk, and inside the header. */
    CHECK_ERR(open_all(&k, b.ptr, CRYPT_HEADER_LEN + 2 * sealed + 100, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "fails authentication");
    CHECK_ERR(open_all(&k, b.ptr, CRYPT_HEADER_LEN - 1, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "ends inside the header");
    CHECK_ERR(open_all(&k, b.ptr, CRYPT_HEADER_LEN, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "truncated");

    /* Appended after a full final chunk: named as such. */
    buf_clear(&x);
    buf_put(&x, b.ptr, b.len);
    buf_puts(&x, "more");
    CHECK_ERR(open_all(&k, x.ptr, x.len, n), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "data appended after the final chunk (2)");
    /* A whole chunk repeated at the end. */
    buf_clear(&x);
    buf_put(&x, b.ptr, b.len);
    buf_put(&x, b.ptr + CRYPT_HEADER_LEN + 2 * sealed, sealed);
    CHECK_ERR(open_all(&k, x.ptr, x.len, n), ERR_INVALID);
    buf_dispose(&b);

    /* Appended after a short final chunk. */
    buf_clear(&x);
    CHECK_OK(seal(&k, 100, &x));
    buf_puts(&x, "more");
    CHECK_ERR(open_all(&k, x.ptr, x.len, 100), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "had bytes appended");
    buf_dispose(&x);
}

TEST(not_encrypted)
{
    struct crypt_key k = key_of(7);
    static const char gz[] = "\x1f\x8b\x08\x00 a gzip file, not ours";
    CHECK_ERR(open_all(&k, gz, sizeof(gz), 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not an encrypted edgecd archive");
    CHECK(!crypt_is_encrypted(gz, sizeof(gz)));
}

static char *write_file(const char *name, const void *data, size_t n, mode_t mode)
{
    char *p = xasprintf("%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n)
        exit(2);
    fchmod(fd, mode);
    close(fd);
    return p;
}

TEST(key_and_passphrase_files)
{
    struct crypt_key k;
    unsigned char raw[32];
    char hex[66];
    char *p;

    memset(raw, 0xab, sizeof(raw));
    p = write_file("raw.key", raw, 32, 0600);
    CHECK_OK(crypt_key_load_file(&k, p));
    CHECK(k.kdf == CRYPT_KDF_KEYFILE && memcmp(k.key, raw, 32) == 0);
    crypt_key_dispose(&k);
    free(p);

    util_hex(hex, raw, 32);
    hex[64] = '\n';
    p = write_file("hex.key", hex, 65, 0400);
    CHECK_OK(crypt_key_load_file(&k, p));
    CHECK(memcmp(k.key, raw, 32) == 0);
    crypt_key_dispose(&k);
    free(p);

    p = write_file("open.key", raw, 32, 0644);
    CHECK_ERR(crypt_key_load_file(&k, p), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "readable by others (mode 644)");
    crypt_key_dispose(&k);
    free(p);

    p = write_file("short.key", raw, 31, 0600);
    CHECK_ERR(crypt_key_load_file(&k, p), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not a key");
    crypt_key_dispose(&k);
    free(p);

    p = xasprintf("%s/missing.key", dir);
    CHECK_ERR(crypt_key_load_file(&k, p), ERR_NOTFOUND);
    crypt_key_dispose(&k);
    CHECK_OK(crypt_key_generate(p));
    CHECK_OK(crypt_key_load_file(&k, p));
    crypt_key_dispose(&k);
    CHECK_ERR(crypt_key_generate(p), ERR_CONFLICT);
    free(p);

    p = write_file("pass", "a long passphrase\nsecond line\n", 30, 0600);
    CHECK_OK(crypt_key_load_passphrase(&k, p));
    CHECK_STR(k.passphrase, "a long passphrase");
    crypt_key_dispose(&k);
    free(p);
    p = write_file("shortpass", "short\n", 6, 0600);
    CHECK_ERR(crypt_key_load_passphrase(&k, p), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "8 characters at least");
    crypt_key_dispose(&k);
    free(p);
}

int main(void)
{
    dir = test_tmpdir("backup-crypt");
    RUN(round_trips_at_chunk_boundaries);
    RUN(two_archives_under_one_key_differ);
    RUN(wrong_key_and_wrong_kind);
    RUN(passphrase_round_trip);
    RUN(every_flipped_byte_is_refused);
    RUN(reordered_cut_and_appended);
    RUN(not_encrypted);
    RUN(key_and_passphrase_files);
    free(dir);
    return TEST_END();
}
