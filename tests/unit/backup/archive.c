/*
 * Tests for backup/archive.c: the layout's paths, archives written and
 * read back (plain and encrypted), the second pass against a verified
 * manifest, and hand-made hostile archives: traversal and absolute paths,
 * entries that lie about their object, a manifest that does not match,
 * entries after the manifest, trailing data, foreign files.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "backup/archive.h"
#include "backup/tar.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/util.h"
#include "doc/doc.h"
#include "test.h"

static char *dir;
/* craft_verify reads with this tmpdir (NULL: the list in memory). */
static const char *craft_tmpdir;

static const char *const cm_a = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
                                "\"name\":\"a\",\"namespace\":\"shop\"},\"data\":{\"k\":\"v\"}}";
static const char *const ns_shop =
    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"shop\"}}";
static const char *const role =
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{"
    "\"name\":\"system:edge:reader\"}}";

TEST(paths)
{
    struct archive_path p;
    static const char *const good[] = {
        "resources/configmaps/namespaces/shop/a.json",
        "resources/deployments.apps/v1-preferredversion/namespaces/shop/web.json",
        "resources/namespaces/cluster/shop.json",
        "resources/clusterroles.rbac.authorization.k8s.io/cluster/system:edge:reader.json",
        "resources/horizontalpodautoscalers.autoscaling/v2beta2/namespaces/a/h.json",
    };
    static const char *const bad[][2] = {
        {"/etc/passwd", "an absolute path"},
        {"resources/configmaps/namespaces/../../../etc/x.json", "a \"..\" component"},
        {"resources/configmaps/namespaces/shop/..", "a \"..\" component"},
        {"resources//namespaces/shop/a.json", "empty"},
        {"resources/configmaps/namespaces/shop/./a.json", "\".\" component"},
        {"resources/configmaps/namespaces/Shop/a.json", "not a namespace name"},
        {"resources/configmaps/namespaces/shop/a.yaml", "not an object file"},
        {"resources/configmaps/elsewhere/shop/a.json", "not in the backup layout"},
        {"resources/configmaps/namespaces/shop/deep/a.json", "not in the backup layout"},
        {"resources/configmaps/cluster/.json", "not an object file"},
        {"resources/ConfigMaps/cluster/a.json", "not resource[.group]"},
        {"etc/passwd", "not in the backup layout"},
        {"metadata/other", "not in the backup layout"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (archive_path_check(good[i], NULL) != 1)
            TEST_FAIL_("%s refused: %s", good[i], err_last());
    }
    CHECK(archive_path_check("metadata/version", NULL) == 0);
    CHECK(archive_path_check(ARCHIVE_MANIFEST_PATH, NULL) == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_ERR(archive_path_check(bad[i][0], NULL), ERR_INVALID);
        CHECK_CONTAINS(err_last(), bad[i][1]);
    }
    CHECK(archive_path_check("resources/deployments.apps/v1-preferredversion/namespaces/shop/"
                             "web.json",
                             &p) == 1);
    CHECK_STR(p.resource, "deployments.apps");
    CHECK_STR(p.version, "v1");
    CHECK(p.preferred == 1);
    CHECK_STR(p.namespace_, "shop");
    CHECK_STR(p.name, "web");
    archive_path_dispose(&p);
    {
        char *s = archive_object_path("deployments.apps", "v1", "shop", "web");
        CHECK_STR(s, "resources/deployments.apps/v1-preferredversion/namespaces/shop/web.json");
        free(s);
        s = archive_object_path("namespaces", NULL, NULL, "shop");
        CHECK_STR(s, "resources/namespaces/cluster/shop.json");
        free(s);
    }
}

/* Write an archive of the three objects (both folders each) to path. */
static int write_archive(const char *path, const struct crypt_key *key)
{
    archive_writer *w = NULL;
    json_t *manifest = json_pack("{s:s, s:s}", "kind", ARCHIVE_MANIFEST_KIND, "name", "t");
    uint64_t size = 0;
    char sha[65];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;
    static const struct {
        const char *res, *ns, *name;
    } objs[] = {{"configmaps", "shop", "a"},
                {"namespaces", NULL, "shop"},
                {"clusterroles.rbac.authorization.k8s.io", NULL, "system:edge:reader"}};
    const char *json[] = {cm_a, ns_shop, role};
    if ((rc = archive_writer_new(&w, fd, path, key)) == 0) {
        for (size_t i = 0; rc == 0 && i < 3; i++) {
            for (int pref = 0; rc == 0 && pref < 2; pref++) {
                char *p =
                    archive_object_path(objs[i].res, pref ? "v1" : NULL, objs[i].ns, objs[i].name);
                rc = archive_writer_add(w, p, json[i], strlen(json[i]));
                free(p);
            }
        }
        if (rc == 0)
            rc = archive_writer_finish(w, manifest, &size, sha);
    }
    if (rc == 0) {
        struct buf b = BUF_INIT;
        char check[65];
        fs_read_file(path, 1 << 20, &b);
        util_sha256_hex(b.ptr, b.len, check);
        if (b.len != size || strcmp(check, sha) != 0)
            rc = err_set(ERR_GENERIC, "size or SHA-256 of the file differs from the writer's");
        buf_dispose(&b);
    }
    archive_writer_free(w);
    json_decref(manifest);
    close(fd);
    return rc;
}

TEST(plain_round_trip_and_second_pass)
{
    char *path = xasprintf("%s/plain.tar.gz", dir);
    struct archive_read_options o = ARCHIVE_READ_OPTIONS_INIT;
    archive_reader *r = NULL;
    struct archive_entry e;
    json_t *m = NULL;
    int n = 0, rc;

    CHECK_OK(write_archive(path, NULL));
    CHECK_ERR(archive_verify(path, &o, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not encrypted (a plain tar.gz), and encryption is required");
    o.allow_plain = 1;
    CHECK_OK(archive_verify(path, &o, &m));
    CHECK(json_array_size(json_object_get(m, "entries")) == 7); /* version + 3 x 2 */
    CHECK_STR(archive_manifest_entry_path(json_array_get(json_object_get(m, "entries"), 0)),
              "metadata/version");

    /* The second pass, against the verified manifest. */
    o.expect = m;
    CHECK_OK(archive_reader_open(&r, path, "plain", &o));
    CHECK(!archive_reader_encrypted(r));
    while ((rc = archive_reader_next(r, &e)) > 0) {
        if (n == 0) {
            CHECK_STR(e.path, "resources/configmaps/namespaces/shop/a.json");
            CHECK_STR(e.where.namespace_, "shop");
            CHECK_STR(doc_get_str(e.object, "data.k"), "v");
        }
        n++;
    }
    CHECK_OK(rc);
    CHECK(n == 6);
    CHECK(archive_reader_manifest(r) != NULL);
    CHECK(archive_reader_manifest_sha256(r) != NULL);
    {
        /* compared by digest: the right one passes, another is refused */
        char sha[65];
        memcpy(sha, archive_reader_manifest_sha256(r), sizeof(sha));
        archive_reader_close(r);
        o.expect_sha256 = sha;
        CHECK_OK(archive_reader_open(&r, path, "plain", &o));
        while ((rc = archive_reader_next(r, &e)) > 0)
            ;
        CHECK_OK(rc);
        CHECK(archive_reader_manifest(r) == m);
        archive_reader_close(r);
        sha[0] = sha[0] == '0' ? '1' : '0';
        CHECK_OK(archive_reader_open(&r, path, "plain", &o));
        while ((rc = archive_reader_next(r, &e)) > 0)
            ;
        CHECK_ERR(rc, ERR_INVALID);
        CHECK_CONTAINS(err_last(), "the manifest changed since it was verified");
        err_clear();
    }
    archive_reader_close(r);
    json_decref(m);
    free(path);
}

TEST(encrypted_round_trip)
{
    char *path = xasprintf("%s/enc.tar.gz.enc", dir);
    struct archive_read_options o = ARCHIVE_READ_OPTIONS_INIT;
    struct crypt_key k, other;
    struct buf b = BUF_INIT;
    json_t *m = NULL;

    memset(&k, 0, sizeof(k));
    k.kdf = CRYPT_KDF_KEYFILE;
    memset(k.key, 9, sizeof(k.key));
    other = k;
    other.key[0] = 8;
    CHECK_OK(write_archive(path, &k));
    /* Nothing readable on disk. */
    CHECK_OK(fs_read_file(path, 1 << 20, &b));
    CHECK(memmem(b.ptr, b.len, "system:edge:reader", 18) == NULL);
    buf_dispose(&b);
    CHECK_ERR(archive_verify(path, &o, NULL), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "encrypted: a key file or passphrase is needed");
    o.key = &other;
    CHECK_ERR(archive_verify(path, &o, NULL), ERR_AUTH);
    CHECK_CONTAINS(err_last(), "wrong key");
    o.key = &k;
    CHECK_OK(archive_verify(path, &o, &m));
    CHECK(json_array_size(json_object_get(m, "entries")) == 7);
    json_decref(m);
    free(path);
}

/* A plain archive made entry by entry, as an attacker would. */
struct craft {
    struct buf tar;
    json_t *entries;
};

static void craft_init(struct craft *c)
{
    buf_init(&c->tar);
    c->entries = json_array();
}

static void craft_add(struct craft *c, const char *path, const char *content, int list)
{
    size_t n = strlen(content);
    char sha[65];
    tar_file_header(&c->tar, path, n, 0);
    buf_put(&c->tar, content, n);
    for (size_t i = tar_padding(n); i > 0; i--)
        buf_putc(&c->tar, '\0');
    util_sha256_hex(content, n, sha);
    if (list)
        json_array_append_new(c->entries, json_pack("{s:s, s:I, s:s}", "path", path, "size",
                                                    (json_int_t)n, "sha256", sha));
}

static void craft_manifest(struct craft *c)
{
    json_t *m = json_pack("{s:s, s:O}", "kind", ARCHIVE_MANIFEST_KIND, "entries", c->entries);
    struct buf t = BUF_INIT;
    doc_emit_json(&t, m, 0);
    craft_add(c, ARCHIVE_MANIFEST_PATH, buf_cstr(&t), 0);
    buf_dispose(&t);
    json_decref(m);
}

/* A manifest written by hand: text with "%s" where the entries go,
 * comma-separated (or none). */
static void craft_manifest_text(struct craft *c, const char *text)
{
    struct buf list = BUF_INIT;
    const char *at = strstr(text, "%s");
    char *full;
    doc_emit_json(&list, c->entries, 0);
    /* the entries, without the list's brackets */
    full = at ? xasprintf("%.*s%.*s%s", (int)(at - text), text, (int)list.len - 2, list.ptr + 1,
                          at + 2)
              : xstrdup(text);
    craft_add(c, ARCHIVE_MANIFEST_PATH, full, 0);
    free(full);
    buf_dispose(&list);
}

/* gzip the tar (plus two end blocks and extra) and verify it. */
static int craft_verify(struct craft *c, const char *extra, size_t extra_len)
{
    struct archive_read_options o = ARCHIVE_READ_OPTIONS_INIT;
    unsigned char *out = xmalloc(c->tar.len + 4096 + extra_len);
    z_stream z;
    int rc;
    for (int i = 0; i < TAR_END_LEN; i++)
        buf_putc(&c->tar, '\0');
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)c->tar.ptr;
    z.avail_in = (uInt)c->tar.len;
    z.next_out = out;
    z.avail_out = (uInt)(c->tar.len + 4096);
    deflate(&z, Z_FINISH);
    memcpy(out + z.total_out, extra, extra_len);
    o.allow_plain = 1;
    o.tmpdir = craft_tmpdir;
    rc = archive_verify_mem(out, z.total_out + extra_len, &o, NULL);
    deflateEnd(&z);
    free(out);
    buf_dispose(&c->tar);
    json_decref(c->entries);
    return rc;
}

TEST(hostile_archives)
{
    struct craft c;

    /* A well-formed one passes: the crafting is right. */
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_add(&c, "resources/configmaps/namespaces/shop/a.json", cm_a, 1);
    craft_manifest(&c);
    CHECK_OK(craft_verify(&c, "", 0));

    /* The manifest's list is read entry by entry from its text: any key
     * order, spacing and strings that look like the list are fine; a
     * list that is not one JSON array of entries, or two lists, is not. */
    static const struct {
        const char *text;
        const char *err; /* NULL: verifies */
    } manifests[] = {
        {"{ \"entries\" : [ %s ] , \"kind\":\"" ARCHIVE_MANIFEST_KIND "\"}", NULL},
        {"{\"note\":\"\\\"entries\\\":[\",\"kind\":\"" ARCHIVE_MANIFEST_KIND
         "\",\"x\":{\"entries\":[1]},\"entries\":[%s]}",
         NULL},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\"}", "no entries list"},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\",\"entries\":{}}", "no entries list"},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\",\"entries\":[%s],\"entries\":[]}", "duplicate"},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\",\"entries\":[[%s]]}", "not an object"},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\",\"entries\":[{\"path\":1}]}",
         "needs path, size and sha256"},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\",\"entries\":[%s {}]}", "expected ','"},
        {"{\"kind\":\"" ARCHIVE_MANIFEST_KIND "\",\"entries\":[{\"a\":\"]\"", "no entries list"},
    };
    for (size_t i = 0; i < sizeof(manifests) / sizeof(manifests[0]); i++) {
        craft_init(&c);
        craft_add(&c, "metadata/version", "1.1.0", 1);
        craft_add(&c, "resources/configmaps/namespaces/shop/a.json", cm_a, 1);
        craft_manifest_text(&c, manifests[i].text);
        if (!manifests[i].err) {
            CHECK_OK(craft_verify(&c, "", 0));
        } else {
            CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
            CHECK_CONTAINS(err_last(), manifests[i].err);
        }
    }

    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_add(&c, "resources/configmaps/namespaces/../../../../tmp/evil.json", cm_a, 1);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "a \"..\" component");

    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_add(&c, "/etc/cron.d/evil", cm_a, 1);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "an absolute path");

    /* The path says shop/b, the object is shop/a. */
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_add(&c, "resources/configmaps/namespaces/shop/b.json", cm_a, 1);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not the object its path names");

    /* An entry the manifest does not list, and one whose content
     * changed after the manifest was made. */
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_add(&c, "resources/configmaps/namespaces/shop/a.json", cm_a, 0);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "the manifest lists 1 entries, the archive holds 2");
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    json_array_append_new(
        c.entries,
        json_pack("{s:s, s:I, s:s}", "path", "resources/configmaps/namespaces/shop/a.json", "size",
                  (json_int_t)strlen(cm_a), "sha256",
                  "0000000000000000000000000000000000000000000000000000000000000000"));
    craft_add(&c, "resources/configmaps/namespaces/shop/a.json", cm_a, 0);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "SHA-256 differs from the manifest");

    /* No manifest; something after it; version not first. */
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "ends without its manifest");
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_manifest(&c);
    craft_add(&c, "resources/configmaps/namespaces/shop/a.json", cm_a, 0);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "after the manifest");
    craft_init(&c);
    craft_add(&c, "resources/configmaps/namespaces/shop/a.json", cm_a, 1);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not metadata/version");

    /* Bytes after the gzip stream. */
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "tail", 4), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "data after the end of the compressed stream");

    /* A format Velero has not made. */
    craft_init(&c);
    craft_add(&c, "metadata/version", "2.0.0", 1);
    craft_manifest(&c);
    CHECK_ERR(craft_verify(&c, "", 0), ERR_UNSUPPORTED);
}

TEST(foreign_files)
{
    struct archive_read_options o = ARCHIVE_READ_OPTIONS_INIT;
    static const char png[] = "\x89PNG\r\n\x1a\n not a backup";
    static const char gz_cut[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00";
    o.allow_plain = 1;
    CHECK_ERR(archive_verify_mem(png, sizeof(png), &o, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not a backup archive");
    CHECK_ERR(archive_verify_mem("", 0, &o, NULL), ERR_INVALID);
    CHECK_ERR(archive_verify_mem(gz_cut, sizeof(gz_cut) - 1, &o, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "truncated");
}

TEST(writer_refuses_bad_entries)
{
    char *path = xasprintf("%s/refuse.tar.gz", dir);
    archive_writer *w = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *big = xmalloc(ARCHIVE_MAX_ENTRY + 1);
    memset(big, ' ', ARCHIVE_MAX_ENTRY + 1);
    CHECK_OK(archive_writer_new(&w, fd, path, NULL));
    CHECK_ERR(archive_writer_add(w, "../x.json", "{}", 2), ERR_INVALID);
    CHECK_ERR(archive_writer_add(w, ARCHIVE_MANIFEST_PATH, "{}", 2), ERR_INVALID);
    CHECK_ERR(archive_writer_add(w, "resources/configmaps/namespaces/a/big.json", big,
                                 ARCHIVE_MAX_ENTRY + 1),
              ERR_TOOLARGE);
    CHECK(archive_writer_count(w) == 1);
    archive_writer_free(w);
    close(fd);
    free(big);
    free(path);
}

/* ConfigMap i, as crafted archives and the big one hold it. */
static char *cm_json(int i)
{
    return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                     "\"cm-%d\",\"namespace\":\"shop\"},\"data\":{\"k\":\"v%d\"}}",
                     i, i);
}

static char *cm_path(int i)
{
    char *name = xasprintf("cm-%d", i);
    char *p = archive_object_path("configmaps", NULL, "shop", name);
    free(name);
    return p;
}

/* Enough entries that the entry list leaves memory (SPILL_MEM). */
#define MANY 6000

/* A big archive written and read with a temporary folder: the same
 * verdict and list as in memory, no "entries" in the manifest, every
 * later pass checked against the list from the file, and nothing left in
 * the folder or open afterwards. */
TEST(spilled_list_many_entries)
{
    char *path = xasprintf("%s/many.tar.gz", dir), *tmp = xasprintf("%s/tmp", dir);
    struct archive_read_options o = ARCHIVE_READ_OPTIONS_INIT;
    archive_writer *w = NULL;
    archive_reader *r = NULL;
    archive_list *list = NULL;
    struct archive_entry e;
    json_t *manifest = json_pack("{s:s}", "kind", ARCHIVE_MANIFEST_KIND), *m = NULL;
    uint64_t size;
    char sha[65], msha[65];
    int fd, rc, n = 0, fds = test_open_fds();

    CHECK_OK(fs_mkdir_p(tmp, 0700));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK_OK(archive_writer_new(&w, fd, path, NULL));
    archive_writer_set_tmpdir(w, tmp);
    for (int i = 0; i < MANY; i++) {
        char *p = cm_path(i), *j = cm_json(i);
        rc = archive_writer_add(w, p, j, strlen(j));
        free(p);
        free(j);
        CHECK_OK(rc);
    }
    CHECK_OK(archive_writer_finish(w, manifest, &size, sha));
    archive_writer_free(w);
    close(fd);

    /* in memory, as before */
    o.allow_plain = 1;
    CHECK_OK(archive_verify(path, &o, &m));
    CHECK(json_array_size(json_object_get(m, "entries")) == MANY + 1);
    json_decref(m);
    m = NULL;

    /* with the folder */
    o.tmpdir = tmp;
    CHECK_OK(archive_reader_open(&r, path, NULL, &o));
    while ((rc = archive_reader_next(r, &e)) > 0)
        n++;
    CHECK_OK(rc);
    CHECK(n == MANY);
    /* the archive, and the list's unnamed file */
    CHECK(test_open_fds() == fds + 2);
    CHECK(archive_reader_count(r) == MANY + 1);
    CHECK(json_object_get(archive_reader_manifest(r), "entries") == NULL);
    CHECK_STR(doc_get_str(archive_reader_manifest(r), "kind"), ARCHIVE_MANIFEST_KIND);
    m = json_incref((json_t *)archive_reader_manifest(r));
    memcpy(msha, archive_reader_manifest_sha256(r), sizeof(msha));
    list = archive_reader_take_list(r);
    CHECK(archive_reader_take_list(r) == NULL);
    archive_reader_close(r);
    r = NULL;
    CHECK(archive_list_count(list) == MANY + 1);

    /* later passes against the list: by digest, and parsing the
     * manifest again */
    o.expect = m;
    o.expect_list = list;
    for (int by_digest = 1; by_digest >= 0; by_digest--) {
        o.expect_sha256 = by_digest ? msha : NULL;
        n = 0;
        CHECK_OK(archive_reader_open(&r, path, NULL, &o));
        while ((rc = archive_reader_next(r, &e)) > 0) {
            if (n == MANY - 1)
                CHECK_STR(doc_get_str(e.object, "metadata.name"), "cm-5999");
            n++;
        }
        CHECK_OK(rc);
        CHECK(n == MANY);
        archive_reader_close(r);
        r = NULL;
    }
    /* another archive against this list: its first object differs */
    {
        char *other = xasprintf("%s/other.tar.gz", dir);
        CHECK_OK(write_archive(other, NULL));
        o.expect_sha256 = msha;
        CHECK_OK(archive_reader_open(&r, other, NULL, &o));
        CHECK_ERR(archive_reader_next(r, &e), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "differs from the verified manifest");
        err_clear();
        archive_reader_close(r);
        free(other);
    }
    archive_list_free(list);
    json_decref(m);
    json_decref(manifest);
    CHECK(test_dir_entries(tmp) == 0);
    CHECK(test_open_fds() == fds);
    free(tmp);
    free(path);
}

/* A crafted archive of many objects (the list on disk), damaged one way
 * near its end (at object MANY - 10). */
enum { DAMAGE_NONE, DAMAGE_MISSING, DAMAGE_EXTRA, DAMAGE_TWICE, DAMAGE_CONTENT, DAMAGE_ORDER };

/* List an entry in the manifest without storing it. */
static void craft_list(struct craft *c, const char *path, const char *content)
{
    char sha[65];
    util_sha256_hex(content, strlen(content), sha);
    json_array_append_new(c->entries, json_pack("{s:s, s:I, s:s}", "path", path, "size",
                                                (json_int_t)strlen(content), "sha256", sha));
}

static int craft_many(int how)
{
    struct craft c;
    craft_init(&c);
    craft_add(&c, "metadata/version", "1.1.0", 1);
    for (int i = 0; i < MANY; i++) {
        char *p = cm_path(i), *j = cm_json(i);
        if (i != MANY - 10 || how == DAMAGE_NONE) {
            craft_add(&c, p, j, 1);
        } else if (how == DAMAGE_MISSING) {
            craft_list(&c, p, j);
        } else if (how == DAMAGE_EXTRA) {
            craft_add(&c, p, j, 0);
        } else if (how == DAMAGE_TWICE) {
            craft_add(&c, p, j, 1);
            craft_add(&c, p, j, 0);
        } else if (how == DAMAGE_CONTENT) {
            char *changed = xstrdup(j);
            changed[strstr(j, "\"k\":\"v") - j + 5] = 'w'; /* the same length */
            craft_list(&c, p, j);
            craft_add(&c, p, changed, 0);
            free(changed);
        } else if (how == DAMAGE_ORDER) {
            char *p2 = cm_path(i + 1), *j2 = cm_json(i + 1);
            craft_add(&c, p2, j2, 0);
            craft_add(&c, p, j, 0);
            craft_list(&c, p, j);
            craft_list(&c, p2, j2);
            i++;
            free(p2);
            free(j2);
        }
        free(p);
        free(j);
    }
    craft_manifest(&c);
    return craft_verify(&c, "", 0);
}

/* The refusals hold when the list is in a file: an entry missing, one
 * the manifest does not list, one stored twice, one whose bytes changed,
 * two swapped; the folder is empty and nothing open after each. */
TEST(spilled_refusals)
{
    static const struct {
        int how;
        const char *err;
    } cases[] = {
        {DAMAGE_MISSING, "entry 5992 is \"resources/configmaps/namespaces/shop/cm-5991.json\", "
                         "the manifest says \"resources/configmaps/namespaces/shop/cm-5990.json\""},
        {DAMAGE_EXTRA, "entry 5992 is \"resources/configmaps/namespaces/shop/cm-5990.json\", "
                       "the manifest says \"resources/configmaps/namespaces/shop/cm-5991.json\""},
        {DAMAGE_TWICE, "entry 5993 is \"resources/configmaps/namespaces/shop/cm-5990.json\", "
                       "the manifest says \"resources/configmaps/namespaces/shop/cm-5991.json\""},
        {DAMAGE_CONTENT, "entry \"resources/configmaps/namespaces/shop/cm-5990.json\": SHA-256 "
                         "differs from the manifest"},
        {DAMAGE_ORDER, "entry 5992 is \"resources/configmaps/namespaces/shop/cm-5991.json\", "
                       "the manifest says \"resources/configmaps/namespaces/shop/cm-5990.json\""},
    };
    char *tmp = xasprintf("%s/tmp-refusals", dir);
    int fds = test_open_fds();

    CHECK_OK(fs_mkdir_p(tmp, 0700));
    craft_tmpdir = tmp;
    CHECK_OK(craft_many(DAMAGE_NONE));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = craft_many(cases[i].how);
        if (rc != ERR_INVALID)
            TEST_FAIL_("case %zu: %d (%s)", i, rc, err_last());
        CHECK_CONTAINS(err_last(), cases[i].err);
        err_clear();
        CHECK(test_dir_entries(tmp) == 0);
    }
    craft_tmpdir = NULL;
    CHECK(test_open_fds() == fds);
    free(tmp);
}

int main(void)
{
    dir = test_tmpdir("backup-archive");
    RUN(paths);
    RUN(plain_round_trip_and_second_pass);
    RUN(encrypted_round_trip);
    RUN(hostile_archives);
    RUN(foreign_files);
    RUN(writer_refuses_bad_entries);
    RUN(spilled_list_many_entries);
    RUN(spilled_refusals);
    free(dir);
    return TEST_END();
}
