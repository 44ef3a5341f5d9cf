/*
 * Allocation that never returns NULL: edgecd is a daemon, and running out of
 * memory ends the process with a message. In exchange, every buffer that
 * grows from outside input has its own maximum (see buf_put_limited).
 */
#ifndef EDGECD_CORE_MEM_H
#define EDGECD_CORE_MEM_H

#include <stddef.h>
#include <stdlib.h> /* free() releases what these return */

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Copies; the caller frees. xstrdup(NULL) returns NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
