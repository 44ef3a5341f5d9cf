/*
 * The error model. Fallible functions return int: 0 on success, a negative
 * code from enum err_code on failure. The one-line message that says what
 * and where lives in a thread-local "last error": lower layers set it, upper
 * layers pass it on unchanged (optionally adding a location prefix), and only
 * the top (CLI main, a reconcile pass, an HTTP handler) logs it, once.
 */
#ifndef EDGECD_CORE_ERR_H
#define EDGECD_CORE_ERR_H

enum err_code {
    ERR_OK = 0,
    ERR_GENERIC = -1,     /* anything callers do not branch on */
    ERR_NOTFOUND = -2,    /* the named thing does not exist */
    ERR_CONFLICT = -3,    /* exists already / changed underneath */
    ERR_AUTH = -4,        /* not authenticated or not allowed */
    ERR_TIMEOUT = -5,     /* a deadline passed */
    ERR_TOOLARGE = -6,    /* input over a configured limit */
    ERR_INVALID = -7,     /* malformed or semantically wrong input */
    ERR_IO = -8,          /* the OS or the network failed */
    ERR_UNSUPPORTED = -9, /* a feature edgecd deliberately does not have */
};

/* Set the calling thread's last error to the formatted message and return
 * code, so callers write `return err_set(ERR_INVALID, "x: %s", why);`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Put "prefix: " in front of the current message (for adding a location
 * such as a file name); returns code unchanged. */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message; "" when none. Valid until the next
 * err_set/err_prefix/err_clear on this thread. */
const char *err_last(void);

/* The code passed with the last err_set on this thread (ERR_OK if none). */
int err_last_code(void);

void err_clear(void);

/* A stable short name for a code ("notfound", "invalid", ...). */
const char *err_name(int code);

#endif
