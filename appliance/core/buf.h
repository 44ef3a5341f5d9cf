/*
 * A growable byte buffer, always NUL-terminated so text can be read as a C
 * string. Caller-owned struct: buf_init / buf_dispose.
 */
#ifndef EDGECD_CORE_BUF_H
#define EDGECD_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *ptr; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_init(struct buf *b);
void buf_dispose(struct buf *b);
void buf_put(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append unless the result would exceed max bytes: then ERR_TOOLARGE
 * (with a message naming what) and nothing is appended. */
int buf_put_limited(struct buf *b, const void *data, size_t len, size_t max, const char *what);
void buf_clear(struct buf *b);
/* Hand the string to the caller (who frees it); b is left empty. Never
 * NULL: an empty buffer gives "". */
char *buf_detach(struct buf *b);
/* The contents as a C string ("" when empty); borrowed. */
const char *buf_cstr(const struct buf *b);

#endif
