#include "core/fs.h"

#include <dirent.h>

#include "test.h"

static char *dir;

TEST(atomic_write_replaces_with_mode)
{
    char *path = xasprintf("%s/a/b/file", dir);
    char *parent = xasprintf("%s/a/b", dir);
    struct buf b = BUF_INIT;
    struct stat st;
    CHECK_OK(fs_mkdir_p(parent, 0700));
    CHECK_OK(fs_write_atomic(path, "one", 3, 0600));
    CHECK_OK(fs_write_atomic(path, "two!", 4, 0600));
    CHECK_OK(fs_read_file(path, 100, &b));
    CHECK_STR(buf_cstr(&b), "two!");
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    buf_dispose(&b);
    free(path);
    free(parent);
}

TEST(atomic_write_leaves_no_temp_on_failure)
{
    char *path = xasprintf("%s/missing-dir/file", dir);
    DIR *d;
    struct dirent *e;
    int others = 0;
    CHECK_ERR(fs_write_atomic(path, "x", 1, 0600), ERR_IO);
    d = opendir(dir);
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            others++;
    closedir(d);
    CHECK(others == 0);
    free(path);
}

TEST(read_limits_and_missing)
{
    char *path = xasprintf("%s/big", dir);
    char *missing = xasprintf("%s/nope", dir);
    struct buf b = BUF_INIT;
    CHECK_OK(fs_write_atomic(path, "0123456789", 10, 0644));
    CHECK_ERR(fs_read_file(path, 9, &b), ERR_TOOLARGE);
    CHECK_ERR(fs_read_file(missing, 9, &b), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "nope");
    buf_dispose(&b);
    free(path);
    free(missing);
}

/* Written in pieces: nothing at the path until commit, the old content
 * kept by abort, no temporary file left either way. */
TEST(atomic_in_pieces)
{
    char *path = xasprintf("%s/pieces", dir), *tmp = NULL;
    struct fs_atomic a;
    struct buf b = BUF_INIT;
    CHECK_OK(fs_atomic_begin(&a, path, 0600));
    tmp = xstrdup(a.tmp);
    CHECK_OK(fs_atomic_write(&a, "first ", 6));
    CHECK_OK(fs_atomic_write(&a, "second", 6));
    CHECK(!fs_exists(path));
    CHECK_OK(fs_atomic_commit(&a));
    CHECK_OK(fs_read_file(path, 100, &b));
    CHECK_STR(buf_cstr(&b), "first second");
    CHECK(!fs_exists(tmp));
    CHECK_OK(fs_atomic_begin(&a, path, 0600));
    CHECK_OK(fs_atomic_write(&a, "never", 5));
    fs_atomic_abort(&a);
    fs_atomic_abort(&a); /* twice is fine */
    buf_clear(&b);
    CHECK_OK(fs_read_file(path, 100, &b));
    CHECK_STR(buf_cstr(&b), "first second");
    CHECK(!fs_exists(tmp));
    buf_dispose(&b);
    free(tmp);
    free(path);
}

int main(void)
{
    dir = test_tmpdir("core-fs");
    RUN(atomic_write_replaces_with_mode);
    RUN(atomic_write_leaves_no_temp_on_failure);
    RUN(read_limits_and_missing);
    RUN(atomic_in_pieces);
    free(dir);
    return TEST_END();
}
