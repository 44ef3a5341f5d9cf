/*
 * The encrypted archive stream: AES-256-GCM over fixed 64 KiB chunks, so
 * memory stays one chunk whatever the archive's size, and every chunk is
 * authenticated before a byte of it is used.
 *
 * File layout (all integers big-endian):
 *
 *   header (84 bytes)
 *     magic "EDGECDBK" | version 1 | kdf (1 key file, 2 passphrase) | 0 0
 *     | PBKDF2 iterations (u32, 0 for a key file) | chunk size (u32, 65536)
 *     | salt (32 random bytes) | HMAC-SHA256 of the 52 bytes before it
 *   chunks
 *     ciphertext (65536 bytes, the last one 0..65536) | GCM tag (16)
 *
 * The master key is the key file's 32 bytes, or PBKDF2-HMAC-SHA256 of the
 * passphrase with the salt (at least 600,000 iterations). HKDF-SHA256 with
 * the salt derives from it this archive's own encryption key and header
 * key, so the same key file can seal any number of archives with counter
 * nonces. Chunk i's nonce is i (88 bits) followed by one byte, 1 on the
 * final chunk and 0 before; the header is every chunk's additional data.
 * So a reordered, dropped or repeated chunk, a cut at a chunk boundary
 * (the last chunk left was not sealed as final), bytes appended after the
 * final chunk and a changed header all fail authentication, and the reader
 * names which of these it saw. The header MAC tells a wrong key or
 * passphrase apart from a damaged chunk.
 *
 * Threads: a writer or reader belongs to one thread; keys are plain data.
 */
#ifndef EDGECD_BACKUP_CRYPT_H
#define EDGECD_BACKUP_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#define CRYPT_KEY_LEN 32
#define CRYPT_CHUNK 65536
#define CRYPT_HEADER_LEN 84
#define CRYPT_MAGIC "EDGECDBK"
#define CRYPT_MAGIC_LEN 8
/* PBKDF2 iterations: at least this many when writing and reading (OWASP's
 * figure for PBKDF2-HMAC-SHA256), at most CRYPT_MAX_ITERATIONS when
 * reading, so a hostile header cannot make verification take hours. */
#define CRYPT_MIN_ITERATIONS 600000u
#define CRYPT_MAX_ITERATIONS 10000000u

enum crypt_kdf { CRYPT_KDF_KEYFILE = 1, CRYPT_KDF_PASSPHRASE = 2 };

/* A key as given by the operator: the key file's bytes or a passphrase.
 * Caller-owned; crypt_key_dispose wipes it. */
struct crypt_key {
    enum crypt_kdf kdf;
    unsigned char key[CRYPT_KEY_LEN]; /* CRYPT_KDF_KEYFILE */
    char *passphrase;                 /* CRYPT_KDF_PASSPHRASE, NUL-terminated */
    unsigned iterations;              /* for writing; 0 = CRYPT_MIN_ITERATIONS */
};

/* Read a key file: exactly 32 bytes (or 64 hex digits and an optional
 * newline), readable by its owner only (mode 0600 or stricter), else
 * ERR_INVALID saying which. ERR_NOTFOUND, ERR_IO. */
int crypt_key_load_file(struct crypt_key *out, const char *path);

/* Read a passphrase file: its first line, at least 8 characters. Group-
 * or world-readable files are refused as for key files. */
int crypt_key_load_passphrase(struct crypt_key *out, const char *path);

/* Make a new key file at path: 32 random bytes, mode 0600, written temp +
 * fsync + rename. ERR_CONFLICT if path exists, ERR_IO. */
int crypt_key_generate(const char *path);

void crypt_key_dispose(struct crypt_key *k);

/* Where encrypted bytes go (write all of n or fail) and come from (up to
 * n bytes into *got; *got 0 at the end of the input). 0 or negative. */
typedef int (*crypt_sink_fn)(void *ctx, const void *p, size_t n);
typedef int (*crypt_source_fn)(void *ctx, void *p, size_t n, size_t *got);

typedef struct crypt_writer crypt_writer;

/* Start a stream under key: derives the keys (PBKDF2 runs here, about a
 * second) and writes the header through sink. ERR_IO (no randomness) or
 * the sink's error. */
int crypt_writer_new(crypt_writer **out, const struct crypt_key *key, crypt_sink_fn sink,
                     void *ctx);

/* Add plaintext; full chunks are sealed and written as they fill. */
int crypt_writer_write(crypt_writer *w, const void *p, size_t n);

/* Seal what is left as the final chunk. The stream is then complete. */
int crypt_writer_finish(crypt_writer *w);

/* Wipes the keys. NULL is fine. */
void crypt_writer_free(crypt_writer *w);

typedef struct crypt_reader crypt_reader;

/* Read and check the header (what names the input in messages). A file
 * that does not start with the magic is ERR_INVALID "not an encrypted
 * edgecd archive"; a key of the wrong type ("sealed with a passphrase,
 * not a key file"), a wrong key or passphrase: ERR_AUTH. */
int crypt_reader_new(crypt_reader **out, const struct crypt_key *key, crypt_source_fn source,
                     void *ctx, const char *what);

/* Up to n bytes of authenticated plaintext into p; *got 0 only after the
 * final chunk was authenticated and nothing follows it. A changed chunk,
 * a cut, appended bytes or reordering: ERR_INVALID naming the chunk. */
int crypt_reader_read(crypt_reader *r, void *p, size_t n, size_t *got);

/* The kdf the header names (for messages and describe). */
enum crypt_kdf crypt_reader_kdf(const crypt_reader *r);

void crypt_reader_free(crypt_reader *r);

/* 1 if the first bytes of a file (at least CRYPT_MAGIC_LEN of them) are
 * the encrypted archive's magic. */
int crypt_is_encrypted(const void *head, size_t n);

#endif
