/*
 * Thread-local last error. The buffer is fixed-size: a message is one line
 * and is truncated rather than allocated, so reporting an out-of-memory or
 * limit error can never itself fail.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MSG_MAX 1024

static void str_copy_tail(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (len > n - 1)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static _Thread_local char err_msg[ERR_MSG_MAX];
static _Thread_local int err_code_last;

int err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code_last = code;
    return code;
}

int err_prefix(int code, const char *fmt, ...)
{
    char prefix[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t n;
    memcpy(old, err_msg, sizeof(old));
    /* Assembled by hand: the result is meant to be cut at the buffer's
     * end, which snprintf's truncation warning would flag. */
    n = strlen(prefix);
    if (n > sizeof(err_msg) - 3)
        n = sizeof(err_msg) - 3;
    memcpy(err_msg, prefix, n);
    memcpy(err_msg + n, ": ", 2);
    n += 2;
    str_copy_tail(err_msg + n, old, sizeof(err_msg) - n);
    return code;
}

const char *err_last(void)
{
    return err_msg;
}

int err_last_code(void)
{
    return err_code_last;
}

void err_clear(void)
{
    err_msg[0] = '\0';
    err_code_last = ERR_OK;
}

const char *err_name(int code)
{
    static const char *const names[] = {
        "ok",      "error",    "notfound", "conflict", "auth",
        "timeout", "toolarge", "invalid",  "io",       "unsupported",
    };
    if (code > 0 || -code >= (int)(sizeof(names) / sizeof(names[0])))
        return "error";
    return names[-code];
}
