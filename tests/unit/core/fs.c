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

int main(void)
{
    dir = test_tmpdir("core-fs");
    RUN(atomic_write_replaces_with_mode);
    RUN(atomic_write_leaves_no_temp_on_failure);
    RUN(read_limits_and_missing);
    free(dir);
    return TEST_END();
}
