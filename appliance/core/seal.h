/*
 * Secrets at rest: AES-256-GCM with a random 12-byte nonce per value and
 * caller-chosen additional data (what the value belongs to, so a sealed
 * value copied to another row does not open), under one 32-byte key kept
 * in <data>/keys/secret.key.
 *
 * A sealed value is text: "v1:" + hex(nonce || ciphertext || 16-byte tag).
 * Threads: every function is safe on any thread; nothing is global.
 */
#ifndef EDGECD_CORE_SEAL_H
#define EDGECD_CORE_SEAL_H

#include <stddef.h>

#define SEAL_KEY_LEN 32
/* The longest secret accepted (passwords, tokens, kubeconfigs). */
#define SEAL_MAX_PLAIN 65536

/* Load <data_dir>/keys/secret.key, creating it on first use (random,
 * mode 0600, written temp + fsync + rename, in a 0700 keys/ folder).
 * ERR_INVALID if the file is not exactly 32 bytes, ERR_IO otherwise. */
int seal_key_load(unsigned char key[SEAL_KEY_LEN], const char *data_dir);

/* Seal plain (NUL-terminated, at most SEAL_MAX_PLAIN bytes) with ad as
 * additional data. *out is new text the caller frees. ERR_TOOLARGE,
 * ERR_IO (no randomness). */
int seal_value(char **out, const unsigned char key[SEAL_KEY_LEN], const char *plain,
               const char *ad);

/* Open a sealed value. *out is new, NUL-terminated; the caller frees it
 * (and should wipe it). ERR_INVALID for a wrong key, wrong ad, or any
 * changed byte: never garbage. The message says only "cannot be
 * decrypted"; callers add what the value was. */
int seal_open(char **out, const unsigned char key[SEAL_KEY_LEN], const char *sealed,
              const char *ad);

#endif
