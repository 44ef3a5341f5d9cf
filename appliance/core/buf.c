#include "core/buf.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

void buf_init(struct buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_dispose(struct buf *b)
{
    free(b->ptr);
    buf_init(b);
}

static void buf_grow(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;
    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->ptr = xrealloc(b->ptr, cap);
    b->cap = cap;
}

void buf_put(struct buf *b, const void *data, size_t len)
{
    buf_grow(b, len);
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
    buf_put(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n <= 0)
        return;
    buf_grow(b, (size_t)n);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

int buf_put_limited(struct buf *b, const void *data, size_t len, size_t max, const char *what)
{
    if (len > max || b->len > max - len)
        return err_set(ERR_TOOLARGE, "%s: larger than the limit of %zu bytes", what, max);
    buf_put(b, data, len);
    return 0;
}

void buf_clear(struct buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

char *buf_detach(struct buf *b)
{
    char *p = b->ptr ? b->ptr : xstrdup("");
    buf_init(b);
    return p;
}

const char *buf_cstr(const struct buf *b)
{
    return b->ptr ? b->ptr : "";
}
