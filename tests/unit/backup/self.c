/*
 * Self-backups (backup/self.c): a backup of a store, config and keys
 * restored into a fresh data directory; refusals that write nothing
 * (wrong key, a flipped byte, a non-empty data directory, a cluster
 * backup); keep-last-N; the catch-up rule; the appliance entry paths.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>

#include "backup/archive.h"
#include "backup/location.h"
#include "backup/self.h"
#include "core/fs.h"
#include "storage/store.h"
#include "test.h"

static char *dir;

static void test_key(struct crypt_key *k, unsigned char fill)
{
    memset(k, 0, sizeof(*k));
    k->kdf = CRYPT_KDF_KEYFILE;
    memset(k->key, fill, sizeof(k->key));
}

/* A data directory with a store holding app "web" and two keys, and a
 * site config naming a settings file by an absolute path. */
static void make_node(const char *data, const char *site)
{
    char *db = xasprintf("%s/state.db", data), *keys = xasprintf("%s/keys", data);
    char *tok = xasprintf("%s/api-token", keys), *sec = xasprintf("%s/secret.key", keys);
    char *cm = xasprintf("%s.cm.yaml", site);
    char *text = xasprintf("apiVersion: edgecd.io/v1alpha1\nkind: SiteConfig\nsettingsFile: %s\n"
                           "clusters:\n  - name: in-cluster\n",
                           cm);
    store *s = NULL;
    fs_mkdir_p(keys, 0700);
    if (store_open(&s, db) == 0) {
        store_app_put(s, "web", "{\"kind\":\"Application\",\"metadata\":{\"name\":\"web\"}}");
        store_close(s);
    }
    fs_write_atomic(tok, "0123456789abcdef0123\n", 21, 0600);
    fs_write_atomic(sec, "01234567890123456789012345678901", 32, 0600);
    fs_write_atomic(cm, "kind: ConfigMap\n", 16, 0644);
    fs_write_atomic(site, text, strlen(text), 0644);
    free(db);
    free(keys);
    free(tok);
    free(sec);
    free(cm);
    free(text);
}

/* Back up data (with an open store) into loc at time now. */
static int take(const char *data, const char *site, const char *loc, const struct crypt_key *k,
                int keep, int64_t now, json_t **rec)
{
    char *db = xasprintf("%s/state.db", data), *cm = xasprintf("%s.cm.yaml", site);
    struct self_options o = {0};
    store *s = NULL;
    int rc = store_open(&s, db);
    o.data_dir = data;
    o.config_path = site;
    o.settings_file = cm;
    o.location = loc;
    o.key = k;
    o.keep = keep;
    o.now = now;
    if (rc == 0)
        rc = self_backup(s, &o, rec);
    store_close(s);
    free(db);
    free(cm);
    return rc;
}

static char *archive_of(const char *loc, const char *name)
{
    return xasprintf("%s/%s/%s.tar.gz.enc", loc, name, name);
}

TEST(round_trip)
{
    char *data = xasprintf("%s/rt-data", dir), *site = xasprintf("%s/rt-site.yaml", dir);
    char *loc = xasprintf("%s/rt-loc", dir), *fresh = xasprintf("%s/rt-fresh", dir);
    char *out = xasprintf("%s/rt-out/site.yaml", dir), *arch = NULL, *db = NULL, *text = NULL;
    struct self_restore_options ro = {0};
    struct crypt_key k;
    json_t *rec = NULL, *report = NULL;
    struct buf b = BUF_INIT;
    struct stat sb;
    store *s = NULL;

    test_key(&k, 7);
    make_node(data, site);
    CHECK_OK(take(data, site, loc, &k, 0, 1700000000, &rec));
    CHECK_STR(json_string_value(json_object_get(json_object_get(rec, "metadata"), "name")),
              "self-20231114221320");
    arch = archive_of(loc, "self-20231114221320");
    ro.archive = arch;
    ro.data_dir = fresh;
    ro.key = &k;
    ro.config_out = out;
    CHECK_OK(self_restore(&ro, &report));
    db = xasprintf("%s/state.db", fresh);
    CHECK_OK(store_open(&s, db));
    CHECK_OK(store_app_get(s, "web", &text));
    CHECK_CONTAINS(text, "\"web\"");
    store_close(s);
    free(db);
    db = xasprintf("%s/keys/secret.key", fresh);
    CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK_OK(fs_read_file(db, 100, &b));
    CHECK(b.len == 32 && memcmp(b.ptr, "01234567890123456789012345678901", 32) == 0);
    buf_clear(&b);
    /* The config now names the settings file restored beside it. */
    CHECK_OK(fs_read_file(out, 4096, &b));
    CHECK_CONTAINS(buf_cstr(&b), "settingsFile: rt-site.yaml.cm.yaml");
    free(db);
    db = xasprintf("%s/rt-out/rt-site.yaml.cm.yaml", dir);
    CHECK(fs_exists(db));
    /* A second restore into the same place: refused without --force. */
    CHECK_ERR(self_restore(&ro, NULL), ERR_CONFLICT);
    CHECK_CONTAINS(err_last(), "not empty");
    ro.force = 1;
    CHECK_OK(self_restore(&ro, NULL));
    free(db);
    buf_dispose(&b);
    free(text);
    json_decref(rec);
    json_decref(report);
    free(arch);
    free(data);
    free(site);
    free(loc);
    free(fresh);
    free(out);
}

/* Nothing at all in path: not even the folder. */
static int untouched(const char *path)
{
    return !fs_exists(path);
}

TEST(refusals_write_nothing)
{
    char *data = xasprintf("%s/rf-data", dir), *site = xasprintf("%s/rf-site.yaml", dir);
    char *loc = xasprintf("%s/rf-loc", dir), *fresh = xasprintf("%s/rf-fresh", dir);
    char *arch = NULL, *bad = xasprintf("%s/rf-bad.enc", dir), *keyfile = NULL;
    struct self_restore_options ro = {0};
    struct archive_read_options co = ARCHIVE_READ_OPTIONS_INIT;
    struct crypt_key k, wrong, loaded;
    struct buf b = BUF_INIT;

    test_key(&k, 7);
    test_key(&wrong, 8);
    make_node(data, site);
    CHECK_OK(take(data, site, loc, &k, 0, 1700000000, NULL));
    arch = archive_of(loc, "self-20231114221320");
    ro.archive = arch;
    ro.data_dir = fresh;
    ro.key = &wrong;
    CHECK_ERR(self_restore(&ro, NULL), ERR_AUTH);
    CHECK(untouched(fresh));
    /* A flipped byte in the middle. */
    CHECK_OK(fs_read_file(arch, 1u << 20, &b));
    b.ptr[b.len / 2] ^= 1;
    CHECK_OK(fs_write_atomic(bad, b.ptr, b.len, 0600));
    ro.archive = bad;
    ro.key = &k;
    CHECK_ERR(self_restore(&ro, NULL), ERR_INVALID);
    CHECK(untouched(fresh));
    /* Cut short. */
    CHECK_OK(fs_write_atomic(bad, b.ptr, b.len - 100, 0600));
    CHECK(self_restore(&ro, NULL) < 0);
    CHECK(untouched(fresh));
    /* A cluster-backup reader does not take it, nor it a cluster backup's
     * entries. */
    co.key = &k;
    CHECK_ERR(archive_verify(arch, &co, NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not in the backup layout");
    /* The recovery key may not sit among the keys it protects. */
    keyfile = xasprintf("%s/keys/recovery.key", data);
    CHECK_OK(fs_write_atomic(keyfile, "01234567890123456789012345678901", 32, 0600));
    CHECK_ERR(self_key_load(&loaded, NULL, keyfile, data), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "inside the data directory");
    CHECK_OK(self_key_load(&loaded, NULL, keyfile, NULL));
    crypt_key_dispose(&loaded);
    CHECK_ERR(self_backup(NULL, &(struct self_options){.location = loc}, NULL), ERR_INVALID);
    buf_dispose(&b);
    free(keyfile);
    free(arch);
    free(bad);
    free(data);
    free(site);
    free(loc);
    free(fresh);
}

TEST(keep_last_n)
{
    char *data = xasprintf("%s/kp-data", dir), *site = xasprintf("%s/kp-site.yaml", dir);
    char *loc = xasprintf("%s/kp-loc", dir), *cut = NULL;
    struct crypt_key k;
    json_t *list = NULL;
    int64_t last = 0;
    int deleted = -1;

    test_key(&k, 7);
    make_node(data, site);
    CHECK(self_last(loc, &last) == 0);
    for (int i = 0; i < 5; i++)
        CHECK_OK(take(data, site, loc, &k, 3, 1700000000 + 86400 * i, NULL));
    CHECK_OK(location_list(loc, &list));
    CHECK(json_array_size(list) == 3);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(list, 0), "metadata"), "name")),
              "self-20231116221320");
    json_decref(list);
    CHECK(self_last(loc, &last) == 1 && last == 1700000000 + 86400 * 4);
    /* The newest one damaged (cut): it does not count as kept, and is
     * left for a look; the sound ones are kept. */
    cut = archive_of(loc, "self-20231118221320");
    CHECK(truncate(cut, 100) == 0);
    CHECK(self_last(loc, &last) == 1 && last == 1700000000 + 86400 * 3);
    CHECK_OK(self_prune(loc, 2, &deleted));
    CHECK(deleted == 0);
    CHECK_OK(self_prune(loc, 1, &deleted));
    CHECK(deleted == 1);
    CHECK_OK(location_list(loc, &list));
    CHECK(json_array_size(list) == 2);
    json_decref(list);
    free(cut);
    free(data);
    free(site);
    free(loc);
}

TEST(catch_up_rule)
{
    struct cron daily, hourly, bad;
    int64_t next = 0;
    const int64_t day = 86400, t0 = 1700006400; /* 2023-11-15 00:00:00 UTC */

    CHECK_OK(cron_parse_schedule(&daily, "@daily"));
    CHECK_OK(cron_parse_schedule(&hourly, "0 * * * *"));
    CHECK_ERR(cron_parse_schedule(&bad, "@sometimes"), ERR_INVALID);
    /* Never ran: due now. */
    CHECK(self_due(&daily, -1, t0 + 100, &next) == 1);
    /* Ran at today's midnight: the next is tomorrow's, not due at noon. */
    CHECK(self_due(&daily, t0, t0 + day / 2, &next) == 0);
    CHECK(next == t0 + day);
    /* Ran at 23:59 and the node was off over midnight: one catch-up. */
    CHECK(self_due(&daily, t0 - 60, t0 + 3 * day, &next) == 1);
    CHECK(next == t0);
    /* A run a few seconds into the firing minute does not fire again in
     * that minute. */
    CHECK(self_due(&hourly, t0 + 5, t0 + 30, &next) == 0);
    CHECK(next == t0 + 3600);
}

/* How many sound self-backups loc holds, waiting up to 10 s for want. */
static int count_backups(const char *loc, size_t want)
{
    json_t *list = NULL;
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        n = 0;
        if (location_list(loc, &list) == 0) {
            n = json_array_size(list);
            json_decref(list);
        }
        err_clear();
        if (n >= want)
            break;
        usleep(100000);
    }
    return (int)n;
}

TEST(scheduler_catch_up)
{
    char *data = xasprintf("%s/sc-data", dir), *site = xasprintf("%s/sc-site.yaml", dir);
    char *loc = xasprintf("%s/sc-loc", dir), *db = NULL, *blocked = NULL;
    struct self_options o = {0};
    struct crypt_key k;
    self_scheduler *sch = NULL;
    struct cron daily;
    store *s = NULL;

    test_key(&k, 7);
    make_node(data, site);
    db = xasprintf("%s/state.db", data);
    CHECK_OK(store_open(&s, db));
    CHECK_OK(cron_parse_schedule(&daily, "@daily"));
    o.data_dir = data;
    o.config_path = site;
    o.key = &k;
    o.keep = 7;
    /* A location that cannot be made (a file is in the way): the run
     * fails, is logged, and the thread waits for the next firing. */
    blocked = xasprintf("%s/sc-blocked", dir);
    CHECK_OK(fs_write_atomic(blocked, "x", 1, 0600));
    o.location = blocked;
    CHECK_OK(self_scheduler_start(&sch, s, &daily, &o));
    usleep(300000);
    self_scheduler_stop(sch);
    /* None taken yet: one catch-up run at start. */
    o.location = loc;
    CHECK_OK(self_scheduler_start(&sch, s, &daily, &o));
    CHECK(count_backups(loc, 1) == 1);
    self_scheduler_stop(sch);
    /* Taken today: a restart takes none until the next midnight (a
     * second later, so a wrong run would not collide with the name). */
    usleep(1100000);
    CHECK_OK(self_scheduler_start(&sch, s, &daily, &o));
    usleep(500000);
    self_scheduler_stop(sch);
    CHECK(count_backups(loc, 0) == 1); /* stop joined the thread: any run is done */
    store_close(s);
    free(db);
    free(blocked);
    free(data);
    free(site);
    free(loc);
}

TEST(appliance_paths)
{
    CHECK(archive_appliance_path_check("appliance/state.db") == 1);
    CHECK(archive_appliance_path_check("appliance/keys/api-token") == 1);
    CHECK(archive_appliance_path_check("metadata/version") == 0);
    CHECK_ERR(archive_appliance_path_check("appliance/../etc/passwd"), ERR_INVALID);
    CHECK_ERR(archive_appliance_path_check("appliance/keys/a b"), ERR_INVALID);
    CHECK_ERR(archive_appliance_path_check("appliance//x"), ERR_INVALID);
    CHECK_ERR(archive_appliance_path_check("/appliance/x"), ERR_INVALID);
    CHECK_ERR(archive_appliance_path_check("resources/configmaps/cluster/a.json"), ERR_INVALID);
    CHECK_ERR(archive_appliance_path_check("appliance/a/b/c/d"), ERR_INVALID);
}

int main(void)
{
    dir = test_tmpdir("backup-self");
    RUN(round_trip);
    RUN(refusals_write_nothing);
    RUN(keep_last_n);
    RUN(catch_up_rule);
    RUN(scheduler_catch_up);
    RUN(appliance_paths);
    free(dir);
    return TEST_END();
}
