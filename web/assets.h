/*
 * The web UI's files as compiled into the binary by web/embed.cmake: each
 * plain and gzip-compressed (gzip -9n), with its content type and a strong
 * ETag derived from the SHA-256 of the plain bytes. The table is constant
 * data, shared by every thread; nothing here is owned by a caller.
 */
#ifndef EDGECD_WEB_ASSETS_H
#define EDGECD_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name; /* the file name under web/ui ("index.html") */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz; /* gzip member of data */
    size_t gz_len;
    const char *etag; /* quoted, as sent: "\"3f2a...\"" */
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_count;
/* Sums over all files: what a first visit transfers compressed, and
 * uncompressed (for the README and the size budget). */
extern const size_t web_assets_gzip_total;
extern const size_t web_assets_plain_total;

#endif
