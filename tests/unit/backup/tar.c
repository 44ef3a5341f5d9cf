/*
 * Tests for backup/tar.c: our headers read back (short paths, PAX for long
 * ones), read by GNU tar, and archives GNU tar makes read by us; links,
 * directories, damaged checksums and cut archives refused by name.
 */
#include <stdio.h>
#include <string.h>

#include "backup/tar.h"
#include "core/buf.h"
#include "core/fs.h"
#include "test.h"

static char *dir;

struct src {
    const unsigned char *p;
    size_t len, off;
};

static int source(void *ctx, void *p, size_t n, size_t *got)
{
    struct src *s = ctx;
    /* Short reads on purpose: at most 100 bytes at a time. */
    size_t take = s->len - s->off < n ? s->len - s->off : n;
    if (take > 100)
        take = 100;
    memcpy(p, s->p + s->off, take);
    s->off += take;
    *got = take;
    return 0;
}

static void add_file(struct buf *t, const char *path, const char *content)
{
    size_t n = strlen(content);
    if (tar_file_header(t, path, n, 1700000000) < 0)
        exit(2);
    buf_put(t, content, n);
    for (size_t i = tar_padding(n); i > 0; i--)
        buf_putc(t, '\0');
}

static void end(struct buf *t)
{
    for (int i = 0; i < TAR_END_LEN; i++)
        buf_putc(t, '\0');
}

/* Every entry as "path=content;" into out; the reader's result. */
static int read_all(const void *data, size_t len, struct buf *out)
{
    struct src s = {data, len, 0};
    struct tar_reader r;
    struct tar_entry e;
    int rc;
    tar_reader_init(&r, source, &s);
    while ((rc = tar_reader_next(&r, &e)) > 0) {
        char *content = xmalloc(e.size + 1);
        if ((rc = tar_reader_read(&r, content, e.size)) == 0) {
            content[e.size] = '\0';
            buf_printf(out, "%s=%s;", e.path, content);
        }
        free(content);
        tar_entry_dispose(&e);
        if (rc < 0)
            return rc;
    }
    return rc;
}

static char *long_path(void)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "resources/widgets.very-long-group-name.example.com/v1beta1-preferredversion/"
                 "namespaces/some-namespace/");
    for (int i = 0; i < 30; i++)
        buf_puts(&b, "name-");
    buf_puts(&b, "end.json");
    return buf_detach(&b);
}

TEST(round_trip_short_and_long_paths)
{
    struct buf t = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
    char *lp = long_path();
    add_file(&t, "metadata/version", "1.1.0");
    add_file(&t, lp, "{\"long\":true}");
    add_file(&t, "resources/configmaps/namespaces/a/empty.json", "");
    add_file(&t, "resources/configmaps/namespaces/a/block.json",
             "0123456789012345678901234567890123456789012345678901234567890123456789");
    end(&t);
    CHECK(t.len % TAR_BLOCK == 0);
    CHECK_OK(read_all(t.ptr, t.len, &got));
    buf_printf(&want,
               "metadata/version=1.1.0;%s={\"long\":true};resources/configmaps/namespaces/a/"
               "empty.json=;resources/configmaps/namespaces/a/block.json="
               "0123456789012345678901234567890123456789012345678901234567890123456789;",
               lp);
    CHECK_STR(buf_cstr(&got), buf_cstr(&want));
    buf_dispose(&t);
    buf_dispose(&got);
    buf_dispose(&want);
    free(lp);
}

/* GNU tar reads what we write (paths, PAX, contents). */
TEST(gnu_tar_reads_ours)
{
    struct buf t = BUF_INIT, out = BUF_INIT;
    char *lp = long_path(), *file = xasprintf("%s/ours.tar", dir), *cmd;
    add_file(&t, "metadata/version", "1.1.0");
    add_file(&t, lp, "{}");
    end(&t);
    CHECK_OK(fs_write_atomic(file, t.ptr, t.len, 0600));
    cmd = xasprintf("tar -tf '%s' > '%s/list' && tar -xOf '%s' metadata/version >> '%s/list'", file,
                    dir, file, dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    cmd = xasprintf("%s/list", dir);
    CHECK_OK(fs_read_file(cmd, 65536, &out));
    free(cmd);
    {
        char *want = xasprintf("metadata/version\n%s\n1.1.0", lp);
        CHECK_STR(buf_cstr(&out), want);
        free(want);
    }
    buf_dispose(&t);
    buf_dispose(&out);
    free(lp);
    free(file);
}

/* What GNU tar writes (ustar and PAX) we read; its links we refuse. */
TEST(ours_reads_gnu_tar)
{
    struct buf data = BUF_INIT, got = BUF_INIT;
    char *cmd, *file;
    cmd = xasprintf("cd '%s' && mkdir -p src/metadata && printf 1.1.0 > src/metadata/version && "
                    "tar --format=ustar -C src -cf gnu-ustar.tar metadata/version && "
                    "tar --format=posix -C src -cf gnu-pax.tar metadata/version && "
                    "ln -sf /etc/passwd src/link && tar --format=ustar -C src -cf link.tar link && "
                    "tar --format=ustar -C src -cf dir.tar metadata",
                    dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    file = xasprintf("%s/gnu-ustar.tar", dir);
    CHECK_OK(fs_read_file(file, 1 << 20, &data));
    CHECK_OK(read_all(data.ptr, data.len, &got));
    CHECK_STR(buf_cstr(&got), "metadata/version=1.1.0;");
    free(file);
    buf_clear(&data);
    buf_clear(&got);
    file = xasprintf("%s/gnu-pax.tar", dir);
    CHECK_OK(fs_read_file(file, 1 << 20, &data));
    CHECK_OK(read_all(data.ptr, data.len, &got));
    CHECK_STR(buf_cstr(&got), "metadata/version=1.1.0;");
    free(file);
    buf_clear(&data);
    file = xasprintf("%s/link.tar", dir);
    CHECK_OK(fs_read_file(file, 1 << 20, &data));
    CHECK_ERR(read_all(data.ptr, data.len, &got), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "is a symbolic link (only regular files are allowed)");
    free(file);
    buf_clear(&data);
    file = xasprintf("%s/dir.tar", dir);
    CHECK_OK(fs_read_file(file, 1 << 20, &data));
    CHECK_ERR(read_all(data.ptr, data.len, &got), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "is a directory");
    free(file);
    buf_dispose(&data);
    buf_dispose(&got);
}

TEST(damaged_and_cut)
{
    struct buf t = BUF_INIT, got = BUF_INIT;
    add_file(&t, "metadata/version", "1.1.0");
    add_file(&t, "resources/configmaps/namespaces/a/b.json", "{}");
    end(&t);
    /* A changed byte in the second header's name. */
    t.ptr[TAR_BLOCK * 2 + 3] ^= 1;
    CHECK_ERR(read_all(t.ptr, t.len, &got), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "header at byte 1024: checksum mismatch");
    t.ptr[TAR_BLOCK * 2 + 3] ^= 1;
    /* Cut inside the content, and before the end blocks. */
    CHECK_ERR(read_all(t.ptr, TAR_BLOCK * 3 + 1, &got), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "ends in the middle");
    CHECK_ERR(read_all(t.ptr, TAR_BLOCK * 4, &got), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "ends in the middle");
    /* One zero block, then data. */
    buf_clear(&t);
    for (int i = 0; i < TAR_BLOCK; i++)
        buf_putc(&t, '\0');
    add_file(&t, "metadata/version", "1.1.0");
    CHECK_ERR(read_all(t.ptr, t.len, &got), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "a lone zero block");
    /* Not tar at all. */
    buf_clear(&t);
    for (int i = 0; i < TAR_BLOCK; i++)
        buf_putc(&t, 'x');
    CHECK_ERR(read_all(t.ptr, t.len, &got), ERR_INVALID);
    buf_dispose(&t);
    buf_dispose(&got);
    CHECK_ERR(tar_file_header(&t, "", 0, 0), ERR_INVALID);
    buf_dispose(&t);
}

int main(void)
{
    dir = test_tmpdir("backup-tar");
    RUN(round_trip_short_and_long_paths);
    RUN(gnu_tar_reads_ours);
    RUN(ours_reads_gnu_tar);
    RUN(damaged_and_cut);
    free(dir);
    return TEST_END();
}
