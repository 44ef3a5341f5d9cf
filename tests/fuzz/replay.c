/*
 * Runs a libFuzzer target over saved inputs without libFuzzer, so the
 * corpus is an ordinary test in every build (gcc included).
 * usage: replay DIR_OR_FILE...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    struct buf b = BUF_INIT;
    if (fs_read_file(path, 64u << 20, &b) < 0) {
        fprintf(stderr, "replay: %s\n", err_last());
        return -1;
    }
    /* A copy of exactly len bytes, so ASan sees reads past the end. */
    {
        uint8_t *copy = xmalloc(b.len ? b.len : 1);
        if (b.len)
            memcpy(copy, b.ptr, b.len);
        LLVMFuzzerTestOneInput(copy, b.len);
        free(copy);
    }
    buf_dispose(&b);
    return 0;
}

static int replay_path(const char *path, int *count)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d))) {
        char *child;
        if (e->d_name[0] == '.')
            continue;
        child = xasprintf("%s/%s", path, e->d_name);
        if (replay_path(child, count) < 0)
            rc = -1;
        free(child);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int i, count = 0, rc = 0;
    for (i = 1; i < argc; i++)
        if (replay_path(argv[i], &count) < 0)
            rc = 1;
    printf("replayed %d inputs\n", count);
    return rc || count == 0;
}
