/*
 * Talking to a Git server: which URLs edgecd can fetch, the credentials
 * and certificate checks libgit2 calls back into, and URLs made safe to
 * print. Used by mirror.c for every fetch; not for use outside
 * appliance/git except remote_redact and remote_kind.
 *
 * Threads: a struct remote_session lives on the stack of one fetch; the
 * functions keep no global state.
 */
#ifndef EDGECD_GIT_REMOTE_H
#define EDGECD_GIT_REMOTE_H

#include <stddef.h>

#include "git/mirror.h"

enum remote_kind {
    REMOTE_LOCAL, /* a path or file:// URL */
    REMOTE_HTTP,  /* http:// or https:// (smart HTTP) */
};

/* What kind of URL this is. ERR_UNSUPPORTED for ssh (ssh://, git@host:x)
 * and any other scheme, ERR_INVALID for an empty URL; the message names
 * the URL without its userinfo. */
int remote_kind(const char *url, enum remote_kind *out);

/* url with any "user:password@" removed, into out (always terminated). */
void remote_redact(const char *url, char *out, size_t len);

/* State of one connection: what the callbacks were given and what went
 * wrong, so the fetch can report ERR_AUTH, a certificate problem or a
 * pack over the mirror's limits (ERR_TOOLARGE) with edgecd's own message
 * rather than libgit2's. */
struct remote_session {
    const struct mirror_auth *auth;          /* borrowed; NULL = anonymous */
    const char *url;                         /* borrowed: the URL being fetched */
    int cred_calls;                          /* credential requests so far */
    int auth_failed;                         /* the server refused what we sent (or we had none) */
    int cert_failed;                         /* the server certificate was refused */
    const struct mirror_pack_limits *limits; /* borrowed; NULL = none */
    int too_large;                           /* the pack went over limits */
    char why[256];                           /* the certificate or size problem */
};

/* Point libgit2 callbacks (a git_remote_callbacks *) at s. */
void remote_session_bind(struct remote_session *s, void *git_callbacks);

/* After a failed libgit2 call on s's connection: set and return the
 * error for it. doing says what failed ("fetch", "listing refs"). */
int remote_session_fail(struct remote_session *s, const char *doing);

#endif
