/*
 * What an account, its roles and its API tokens may look like, shared by
 * the API (server/api_account.c) and `edgecd account` on the data
 * directory, so both refuse the same input with the same words.
 *
 * Names (accounts, token ids, the part of a role after "role:") are 1 to
 * 63 of letters, digits, '.', '_' and '-', starting with a letter or
 * digit: they appear in URLs, in policy.csv lines and in logs.
 */
#ifndef EDGECD_MODEL_ACCOUNT_H
#define EDGECD_MODEL_ACCOUNT_H

#include <jansson.h>

#define ACCOUNT_NAME_MAX 63
#define ACCOUNT_MAX_ROLES 16
/* The longest expiresIn of a token (ten years). */
#define ACCOUNT_MAX_EXPIRES_IN (10LL * 365 * 86400)

/* 1 if s is a valid name. */
int account_name_ok(const char *s);
/* 1 if s is "role:NAME". */
int account_role_ok(const char *s);

/* A list of roles (NULL: none) as the store keeps it: a new comma list in
 * *out. ERR_INVALID naming what is wrong (not a list, too many, a
 * malformed role). */
int account_roles_parse(const json_t *v, char **out);
/* The store's comma list as a new JSON array. */
json_t *account_roles_json(const char *roles);

/* A new API token (*out, caller frees and should wipe), its SHA-256 hex
 * (what the store keeps) and a random id for when the caller names none.
 * The token starts with "edgecd_", so secret scanners can find a leaked
 * one. ERR_IO without random bytes. */
int account_token_new(char **out, char sha_hex[65], char id[17]);

#endif
