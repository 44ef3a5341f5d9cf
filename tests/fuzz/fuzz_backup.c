/*
 * Fuzz target for the backup archive reader (backup/archive, tar, crypt):
 * any bytes, read as a plain archive or as one encrypted under a fixed
 * key file key (0x42 x 32, what the corpus's encrypted seeds use), must
 * verify or fail with a message, never crash or leak; a verified one
 * yields a manifest with its entry list; reading twice, the second time
 * with the entry list in a temporary file's place, agrees. The same
 * bytes are read again as an appliance (self-)backup, whose entries are
 * streamed rather than parsed, and as a path through both layouts' path
 * checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup/archive.h"
#include "core/err.h"
#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct archive_read_options o = ARCHIVE_READ_OPTIONS_INIT;
    struct crypt_key key;
    struct archive_path p;
    json_t *m = NULL;
    char *path;
    int ra, rb;

    memset(&key, 0, sizeof(key));
    key.kdf = CRYPT_KDF_KEYFILE;
    memset(key.key, 0x42, sizeof(key.key));
    o.key = &key;
    o.allow_plain = 1;
    ra = archive_verify_mem(data, size, &o, &m);
    if (ra < 0 ? !err_last()[0] : !json_is_array(json_object_get(m, "entries")))
        abort();
    json_decref(m);
    m = NULL;
    /* again with a temporary folder for the entry list: the same verdict,
     * and no list in the manifest */
    o.tmpdir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    rb = archive_verify_mem(data, size, &o, &m);
    if (ra != rb || (rb == 0 && json_object_get(m, "entries")))
        abort();
    json_decref(m);
    m = NULL;
    o.tmpdir = NULL;
    o.appliance = 1;
    ra = archive_verify_mem(data, size, &o, &m);
    if (ra < 0 ? !err_last()[0] : !json_is_array(json_object_get(m, "entries")))
        abort();
    json_decref(m);

    path = xstrndup((const char *)data, size < 2048 ? size : 2048);
    if (archive_path_check(path, &p) == 1) {
        size_t n = strlen(path);
        if (!p.resource || !p.name || path[0] == '/' || !strncmp(path, "../", 3) ||
            strstr(path, "/../") || (n >= 3 && !strcmp(path + n - 3, "/..")))
            abort();
        archive_path_dispose(&p);
    }
    if (archive_appliance_path_check(path) == 1 &&
        (strncmp(path, "appliance/", 10) != 0 || strstr(path, "..") || strstr(path, "//")))
        abort();
    free(path);
    err_clear();
    return 0;
}
