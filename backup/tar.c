/*
 * ustar headers with PAX for long paths (see tar.h). Numbers are octal,
 * NUL-terminated where the field allows; the reader also takes space-
 * terminated fields, as old writers leave them, but never base-256: no
 * entry a backup holds comes near 8 GiB.
 */
#include "backup/tar.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

/* Field offsets and sizes of the ustar header. */
#define TAR_NAME 0
#define TAR_MODE 100
#define TAR_UID 108
#define TAR_GID 116
#define TAR_SIZE 124
#define TAR_MTIME 136
#define TAR_CHKSUM 148
#define TAR_TYPE 156
#define TAR_MAGIC 257
#define TAR_VERSION 263
#define TAR_PREFIX 345

static void tar_octal(unsigned char *field, size_t len, uint64_t v)
{
    /* len-1 digits and a NUL */
    field[len - 1] = '\0';
    for (size_t i = len - 1; i-- > 0;) {
        field[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
}

static void tar_checksum(unsigned char *h)
{
    unsigned sum = 0;
    memset(h + TAR_CHKSUM, ' ', 8);
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += h[i];
    /* six digits, NUL, space: as every tar writes it */
    tar_octal(h + TAR_CHKSUM, 7, sum);
    h[TAR_CHKSUM + 7] = ' ';
}

static void tar_block(struct buf *out, const char *name, uint64_t size, int64_t mtime, char type)
{
    unsigned char h[TAR_BLOCK];
    size_t n = strlen(name);
    memset(h, 0, sizeof(h));
    memcpy(h + TAR_NAME, name, n > 100 ? 100 : n);
    tar_octal(h + TAR_MODE, 8, 0644);
    tar_octal(h + TAR_UID, 8, 0);
    tar_octal(h + TAR_GID, 8, 0);
    tar_octal(h + TAR_SIZE, 12, size);
    tar_octal(h + TAR_MTIME, 12, mtime > 0 ? (uint64_t)mtime : 0);
    h[TAR_TYPE] = (unsigned char)type;
    memcpy(h + TAR_MAGIC, "ustar", 6);
    memcpy(h + TAR_VERSION, "00", 2);
    tar_checksum(h);
    buf_put(out, h, sizeof(h));
}

size_t tar_padding(uint64_t size)
{
    return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}

int tar_file_header(struct buf *out, const char *path, uint64_t size, int64_t mtime)
{
    size_t n = strlen(path);
    if (n == 0 || n > TAR_MAX_PATH)
        return err_set(ERR_INVALID, "tar: path of %zu bytes (1 to %d allowed)", n, TAR_MAX_PATH);
    if (n > 100) {
        /* "LEN path=VALUE\n", where LEN counts its own digits too. */
        char rec[TAR_MAX_PATH + 32];
        size_t body = strlen(" path=\n") + n, len = body + 1;
        while ((size_t)snprintf(NULL, 0, "%zu", len) + body != len)
            len++;
        snprintf(rec, sizeof(rec), "%zu path=%s\n", len, path);
        tar_block(out, "././@PaxHeader", len, mtime, 'x');
        buf_put(out, rec, len);
        for (size_t i = tar_padding(len); i > 0; i--)
            buf_putc(out, '\0');
    }
    tar_block(out, path, size, mtime, '0');
    return 0;
}

/* ---- reader ---- */

void tar_reader_init(struct tar_reader *r, tar_read_fn fn, void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->read = fn;
    r->ctx = ctx;
}

void tar_entry_dispose(struct tar_entry *e)
{
    free(e->path);
    memset(e, 0, sizeof(*e));
}

/* Exactly n bytes, else "cut short". */
static int tar_read_full(struct tar_reader *r, void *p, size_t n)
{
    unsigned char *d = p;
    while (n > 0) {
        size_t got = 0;
        int rc = r->read(r->ctx, d, n, &got);
        if (rc < 0)
            return rc;
        if (got == 0)
            return err_set(ERR_INVALID, "tar: the archive ends in the middle (at byte %llu)",
                           (unsigned long long)r->offset);
        d += got;
        n -= got;
        r->offset += got;
    }
    return 0;
}

static int tar_skip(struct tar_reader *r, uint64_t n)
{
    unsigned char tmp[TAR_BLOCK];
    while (n > 0) {
        size_t take = n < sizeof(tmp) ? (size_t)n : sizeof(tmp);
        int rc = tar_read_full(r, tmp, take);
        if (rc < 0)
            return rc;
        n -= take;
    }
    return 0;
}

static int tar_parse_octal(const unsigned char *f, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    int digits = 0;
    while (i < len && f[i] == ' ')
        i++;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

static int tar_zero(const unsigned char *b)
{
    for (size_t i = 0; i < TAR_BLOCK; i++)
        if (b[i])
            return 0;
    return 1;
}

static const char *tar_type_name(unsigned char t)
{
    switch (t) {
    case '1':
        return "a hard link";
    case '2':
        return "a symbolic link";
    case '3':
    case '4':
        return "a device";
    case '5':
        return "a directory";
    case '6':
        return "a FIFO";
    case 'g':
        return "a global extended header";
    case 'L':
    case 'K':
        return "a GNU long name";
    default:
        return NULL;
    }
}

/* PAX records: path and size are taken, the others (mtime, ...) ignored. */
static int tar_parse_pax(const char *p, size_t n, char **path, uint64_t *size, int *has_size,
                         uint64_t at)
{
    size_t i = 0;
    while (i < n) {
        size_t len = 0, j = i, klen;
        const char *key, *eq, *val;
        while (j < n && p[j] >= '0' && p[j] <= '9' && len < TAR_MAX_PAX)
            len = len * 10 + (size_t)(p[j++] - '0');
        if (j == i || j >= n || p[j] != ' ' || len < 5 || len > n - i || p[i + len - 1] != '\n')
            return err_set(ERR_INVALID, "tar: entry at byte %llu: malformed PAX header",
                           (unsigned long long)at);
        key = p + j + 1;
        eq = memchr(key, '=', (size_t)(p + i + len - 1 - key));
        if (!eq)
            return err_set(ERR_INVALID, "tar: entry at byte %llu: malformed PAX record",
                           (unsigned long long)at);
        klen = (size_t)(eq - key);
        val = eq + 1;
        if (klen == 4 && memcmp(key, "path", 4) == 0) {
            size_t vlen = (size_t)(p + i + len - 1 - val);
            if (vlen == 0 || vlen > TAR_MAX_PATH || memchr(val, '\0', vlen))
                return err_set(ERR_INVALID,
                               "tar: entry at byte %llu: PAX path empty, too long "
                               "or with a NUL",
                               (unsigned long long)at);
            free(*path);
            *path = xstrndup(val, vlen);
        } else if (klen == 4 && memcmp(key, "size", 4) == 0) {
            uint64_t v = 0;
            const char *c = val;
            if (c == p + i + len - 1)
                return err_set(ERR_INVALID, "tar: entry at byte %llu: PAX size empty",
                               (unsigned long long)at);
            for (; c < p + i + len - 1; c++) {
                if (*c < '0' || *c > '9' || v > (UINT64_MAX - 9) / 10)
                    return err_set(ERR_INVALID, "tar: entry at byte %llu: PAX size not a number",
                                   (unsigned long long)at);
                v = v * 10 + (uint64_t)(*c - '0');
            }
            *size = v;
            *has_size = 1;
        }
        i += len;
    }
    return 0;
}

int tar_reader_next(struct tar_reader *r, struct tar_entry *e)
{
    unsigned char h[TAR_BLOCK];
    char *pax_path = NULL;
    uint64_t pax_size = 0;
    int has_pax_size = 0, rc;

    memset(e, 0, sizeof(*e));
    if (r->ended)
        return 0;
    if ((rc = tar_skip(r, r->left + r->pad)) < 0)
        return rc;
    r->left = 0;
    r->pad = 0;
    for (;;) {
        uint64_t at = r->offset, size, sum;
        unsigned calc = 0;
        unsigned char type;
        const char *bad;
        if ((rc = tar_read_full(r, h, sizeof(h))) < 0)
            goto fail;
        if (tar_zero(h)) {
            if ((rc = tar_read_full(r, h, sizeof(h))) < 0)
                goto fail;
            if (!tar_zero(h)) {
                rc = err_set(ERR_INVALID, "tar: a lone zero block at byte %llu",
                             (unsigned long long)at);
                goto fail;
            }
            if (pax_path || has_pax_size) {
                rc = err_set(ERR_INVALID, "tar: a PAX header with no entry after it");
                goto fail;
            }
            r->ended = 1;
            return 0;
        }
        for (size_t i = 0; i < TAR_BLOCK; i++)
            calc += (i >= TAR_CHKSUM && i < TAR_CHKSUM + 8) ? ' ' : h[i];
        if (tar_parse_octal(h + TAR_CHKSUM, 8, &sum) < 0 || sum != calc) {
            rc = err_set(ERR_INVALID, "tar: header at byte %llu: checksum mismatch (damaged)",
                         (unsigned long long)at);
            goto fail;
        }
        if (memcmp(h + TAR_MAGIC, "ustar", 5) != 0) {
            rc = err_set(ERR_INVALID, "tar: header at byte %llu: not a ustar header",
                         (unsigned long long)at);
            goto fail;
        }
        if (tar_parse_octal(h + TAR_SIZE, 12, &size) < 0) {
            rc = err_set(ERR_INVALID, "tar: header at byte %llu: size is not an octal number",
                         (unsigned long long)at);
            goto fail;
        }
        type = h[TAR_TYPE];
        if (type == 'x') {
            char *pax;
            if (size > TAR_MAX_PAX) {
                rc = err_set(ERR_TOOLARGE, "tar: header at byte %llu: PAX header over %d bytes",
                             (unsigned long long)at, TAR_MAX_PAX);
                goto fail;
            }
            pax = xmalloc((size_t)size + 1);
            rc = tar_read_full(r, pax, (size_t)size);
            if (rc == 0)
                rc = tar_skip(r, tar_padding(size));
            if (rc == 0)
                rc = tar_parse_pax(pax, (size_t)size, &pax_path, &pax_size, &has_pax_size, at);
            free(pax);
            if (rc < 0)
                goto fail;
            continue;
        }
        if (type != '0' && type != '\0') {
            bad = tar_type_name(type);
            if (bad)
                rc = err_set(ERR_INVALID,
                             "tar: entry at byte %llu is %s (only regular files "
                             "are allowed)",
                             (unsigned long long)at, bad);
            else
                rc = err_set(ERR_INVALID,
                             "tar: entry at byte %llu has type '%c' (only regular files are "
                             "allowed)",
                             (unsigned long long)at, type >= 32 && type < 127 ? type : '?');
            goto fail;
        }
        if (pax_path) {
            e->path = pax_path;
            pax_path = NULL;
        } else {
            size_t pn = strnlen((const char *)h + TAR_PREFIX, 155),
                   nn = strnlen((const char *)h + TAR_NAME, 100);
            if (nn == 0) {
                rc = err_set(ERR_INVALID, "tar: entry at byte %llu has no name",
                             (unsigned long long)at);
                goto fail;
            }
            e->path = pn ? xasprintf("%.*s/%.*s", (int)pn, (const char *)h + TAR_PREFIX, (int)nn,
                                     (const char *)h + TAR_NAME)
                         : xstrndup((const char *)h + TAR_NAME, nn);
        }
        e->size = has_pax_size ? pax_size : size;
        e->offset = at;
        r->left = e->size;
        r->pad = tar_padding(e->size);
        return 1;
    }
fail:
    free(pax_path);
    tar_entry_dispose(e);
    return rc;
}

int tar_reader_read(struct tar_reader *r, void *p, size_t n)
{
    int rc;
    if (n > r->left)
        return err_set(ERR_INVALID, "tar: read past the end of an entry");
    if ((rc = tar_read_full(r, p, n)) < 0)
        return rc;
    r->left -= n;
    return 0;
}
