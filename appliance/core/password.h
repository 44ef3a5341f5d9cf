/*
 * Password hashes for local accounts: PBKDF2-HMAC-SHA256 (mbedTLS's
 * PKCS#5) with a 16-byte random salt per hash, written as
 *
 *   $pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX
 *
 * The iteration count travels in the text, so raising the default later
 * does not lock out anyone whose hash was made with the old one; a
 * verify recomputes with the stored count and compares in constant time.
 */
#ifndef EDGECD_CORE_PASSWORD_H
#define EDGECD_CORE_PASSWORD_H

#include <stddef.h>

/* The iteration count new hashes get (OWASP's 2023 figure for
 * PBKDF2-HMAC-SHA256). */
#define PASSWORD_ITERATIONS 600000

/* For tests only: a lower count read from this environment variable
 * (>= 1000), so a test suite can log in many times without spending
 * 0.3 s per login. Never set it on a real node. */
#define PASSWORD_TEST_ITERATIONS_ENV "EDGECD_TEST_ONLY_PBKDF2_ITERATIONS"

/* Passwords are at least this long, and at most PASSWORD_MAX bytes. */
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

/* The iterations new hashes use: PASSWORD_ITERATIONS, or the test
 * override. Any thread. */
unsigned password_iterations(void);

/* A new hash of password into *out (caller frees). ERR_INVALID for a
 * password shorter than PASSWORD_MIN or longer than PASSWORD_MAX; ERR_IO
 * when no random salt can be had. Any thread. */
int password_hash(char **out, const char *password);

/* 1 if password matches stored, 0 if not or stored is not a hash this
 * module writes. Any thread. */
int password_verify(const char *stored, const char *password);

/* len random bytes as base64url without padding into a new string. */
int password_random_text(char **out, size_t len);

#endif
