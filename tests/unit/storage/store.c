/*
 * Tests for storage/store.c and the schema's migrations. A second, raw
 * SQLite connection watches the file from outside (fixture.h).
 */
#include "storage/store.h"

#include <pthread.h>

#include "core/fs.h"
#include "core/seal.h"
#include "core/util.h"
#include "fixture.h"
#include "storage/schema.h"

static char *dir;

static char *db_path(const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* A status with n resources whose messages all carry rev, so a reader can
 * tell whether the list it got belongs to the status it got. */
struct fixture_status {
    struct store_app_status st;
    struct store_resource res[16];
    char names[16][32];
};

static void fixture_fill(struct fixture_status *f, const char *app, const char *rev, size_t n)
{
    size_t i;
    memset(f, 0, sizeof(*f));
    f->st.name = (char *)app;
    f->st.sync_status = "Synced";
    f->st.revision = (char *)rev;
    f->st.last_error = "";
    f->st.synced_at = "2026-01-02T03:04:05Z";
    for (i = 0; i < n && i < 16; i++) {
        struct store_resource *r = &f->res[i];
        snprintf(f->names[i], sizeof(f->names[i]), "obj-%zu", i);
        r->group = i % 2 ? "apps" : "";
        r->version = "v1";
        r->kind = i % 2 ? "Deployment" : "ConfigMap";
        r->namespace_ = i == 0 ? "" : "default";
        r->name = f->names[i];
        r->status = "Synced";
        r->message = (char *)rev;
    }
    f->st.resources = f->res;
    f->st.n_resources = n;
}

TEST(open_create_reopen_keeps_data)
{
    char *path = db_path("reopen.db"), *m = NULL;
    store *s = NULL;
    char ver[64];

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "guestbook", "{\"spec\":{\"project\":\"default\"}}"));
    store_close(s);
    s = NULL;
    CHECK(fs_exists(path));
    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_get(s, "guestbook", &m));
    CHECK_STR(m, "{\"spec\":{\"project\":\"default\"}}");
    free(m);
    store_close(s);
    store_lib_version(ver, sizeof(ver));
    CHECK(str_has_prefix(ver, "SQLite 3."));
    free(path);
}

TEST(migrations_idempotent_and_pragmas)
{
    char *path = db_path("migrate.db"), *mode;
    store *s = NULL, *s2 = NULL;
    sqlite3 *raw;

    CHECK(store_schema_version() >= 1);
    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "a", "{}"));
    store_close(s);
    s = NULL;
    /* Opening again must not re-run a migration (it would fail: the
     * tables exist) nor lose data. */
    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_open(&s2, path));
    store_close(s2);
    raw = raw_open(path);
    CHECK(raw_int(raw, "PRAGMA user_version") == store_schema_version());
    CHECK(raw_int(raw, "SELECT count(*) FROM apps") == 1);
    mode = raw_text(raw, "PRAGMA journal_mode");
    CHECK_STR(mode, "wal");
    free(mode);
    sqlite3_close(raw);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

TEST(put_get_list_delete)
{
    char *path = db_path("crud.db"), *m = NULL, **names = NULL;
    size_t n = 0;
    store *s = NULL;
    struct fixture_status f;
    struct store_app_status got;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_list(s, &names, &n));
    CHECK(n == 0);
    store_names_free(names, n);
    CHECK_OK(store_app_put(s, "zeta", "{\"z\":1}"));
    CHECK_OK(store_app_put(s, "alpha", "{\"a\":1}"));
    CHECK_OK(store_app_put(s, "mid", "{\"m\":1}"));
    CHECK_OK(store_app_put(s, "alpha", "{\"a\":2}"));
    CHECK_OK(store_app_list(s, &names, &n));
    CHECK(n == 3);
    CHECK_STR(names[0], "alpha");
    CHECK_STR(names[1], "mid");
    CHECK_STR(names[2], "zeta");
    store_names_free(names, n);
    CHECK_OK(store_app_get(s, "alpha", &m));
    CHECK_STR(m, "{\"a\":2}");
    free(m);
    m = (char *)1;
    CHECK_ERR(store_app_get(s, "nope", &m), ERR_NOTFOUND);
    CHECK(m == NULL);
    CHECK_CONTAINS(err_last(), "nope");
    CHECK_ERR(store_app_put(s, "", "{}"), ERR_INVALID);
    CHECK_ERR(store_app_put(s, NULL, "{}"), ERR_INVALID);

    /* Deleting an app takes its status and resources with it. */
    fixture_fill(&f, "mid", "abc", 3);
    CHECK(store_app_status_put(s, &f.st) == 1);
    CHECK_OK(store_app_delete(s, "mid"));
    CHECK_ERR(store_app_delete(s, "mid"), ERR_NOTFOUND);
    CHECK_ERR(store_app_get(s, "mid", &m), ERR_NOTFOUND);
    CHECK_OK(store_app_put(s, "mid", "{\"m\":1}"));
    CHECK_ERR(store_app_status_get(s, "mid", &got), ERR_NOTFOUND);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

/* ApplicationSets are kept like applications; their status is written
 * only when it changes, needs the appset, and goes with it. */
TEST(appsets_and_their_status)
{
    char *path = db_path("appsets.db"), *m = NULL, *at = NULL, **names = NULL;
    size_t n = 0;
    store *s = NULL;
    sqlite3 *raw;
    long long v0, v1;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_appset_put(s, "guestbook", "{\"s\":1}"));
    CHECK_OK(store_app_put(s, "guestbook", "{\"a\":1}"));
    CHECK_OK(store_appset_list(s, &names, &n));
    CHECK(n == 1);
    CHECK_STR(names[0], "guestbook");
    store_names_free(names, n);
    CHECK_ERR(store_appset_status_get(s, "guestbook", &m, NULL), ERR_NOTFOUND);
    CHECK(store_appset_status_put(s, "guestbook", "{\"apps\":[\"a\"]}") == 1);
    raw = raw_open(path);
    v0 = raw_int(raw, "PRAGMA data_version");
    CHECK(store_appset_status_put(s, "guestbook", "{\"apps\":[\"a\"]}") == 0);
    v1 = raw_int(raw, "PRAGMA data_version");
    CHECK(v0 == v1);
    sqlite3_close(raw);
    CHECK_OK(store_appset_status_get(s, "guestbook", &m, &at));
    CHECK_STR(m, "{\"apps\":[\"a\"]}");
    CHECK(strlen(at) == 20);
    free(m);
    free(at);
    CHECK_ERR(store_appset_status_put(s, "nowhere", "{}"), ERR_NOTFOUND);
    CHECK_OK(store_appset_delete(s, "guestbook"));
    CHECK_ERR(store_appset_status_get(s, "guestbook", &m, NULL), ERR_NOTFOUND);
    CHECK_ERR(store_appset_get(s, "guestbook", &m), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "applicationset \"guestbook\" not found");
    CHECK_OK(store_app_get(s, "guestbook", &m)); /* the app of that name stays */
    free(m);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

/* Projects are kept like applications, in their own table: a project and
 * an app may share a name; an unchanged put writes nothing. */
TEST(projects_put_get_list_delete)
{
    char *path = db_path("projects.db"), *m = NULL, **names = NULL;
    size_t n = 0;
    store *s = NULL;
    sqlite3 *raw;
    long long v0, v1;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_project_put(s, "shop", "{\"p\":1}"));
    CHECK_OK(store_project_put(s, "default", "{\"d\":1}"));
    CHECK_OK(store_app_put(s, "shop", "{\"a\":1}"));
    CHECK_OK(store_project_list(s, &names, &n));
    CHECK(n == 2);
    CHECK_STR(names[0], "default");
    CHECK_STR(names[1], "shop");
    store_names_free(names, n);
    CHECK_OK(store_project_get(s, "shop", &m));
    CHECK_STR(m, "{\"p\":1}");
    free(m);
    raw = raw_open(path);
    v0 = raw_int(raw, "PRAGMA data_version");
    CHECK_OK(store_project_put(s, "shop", "{\"p\":1}"));
    v1 = raw_int(raw, "PRAGMA data_version");
    CHECK(v0 == v1);
    sqlite3_close(raw);
    CHECK_OK(store_project_delete(s, "shop"));
    CHECK_ERR(store_project_get(s, "shop", &m), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "project \"shop\" not found");
    CHECK_ERR(store_project_delete(s, "shop"), ERR_NOTFOUND);
    CHECK_OK(store_app_get(s, "shop", &m)); /* the app of that name stays */
    free(m);
    CHECK_ERR(store_project_put(s, "", "{}"), ERR_INVALID);
    store_close(s);
    free(path);
}

TEST(status_round_trip_with_resources)
{
    char *path = db_path("status.db");
    store *s = NULL;
    struct fixture_status f;
    struct store_app_status got = {0};
    char changed[64];
    size_t i;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "web", "{}"));
    fixture_fill(&f, "web", "0123456789abcdef0123456789abcdef01234567", 5);
    f.st.sync_status = "OutOfSync";
    f.st.last_error = "apply Deployment default/obj-1: forbidden";
    f.res[2].status = "Failed";
    f.res[2].message = "quota exceeded";
    f.st.message = "fetched from upstream https://a/x.git: mirror file:///m/x.git failed: gone";
    CHECK(store_app_status_put(s, &f.st) == 1);
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK_STR(got.name, "web");
    CHECK_STR(got.message, f.st.message);
    CHECK_STR(got.sync_status, "OutOfSync");
    CHECK_STR(got.revision, f.st.revision);
    CHECK_STR(got.last_error, "apply Deployment default/obj-1: forbidden");
    CHECK_STR(got.synced_at, "2026-01-02T03:04:05Z");
    CHECK(strlen(got.changed_at) == 20 && got.changed_at[19] == 'Z');
    CHECK(got.n_resources == 5);
    for (i = 0; i < got.n_resources; i++) {
        CHECK_STR(got.resources[i].group, f.res[i].group);
        CHECK_STR(got.resources[i].version, "v1");
        CHECK_STR(got.resources[i].kind, f.res[i].kind);
        CHECK_STR(got.resources[i].namespace_, f.res[i].namespace_);
        CHECK_STR(got.resources[i].name, f.res[i].name);
        CHECK_STR(got.resources[i].status, f.res[i].status);
        CHECK_STR(got.resources[i].message, f.res[i].message);
    }
    str_copy(changed, got.changed_at, sizeof(changed));
    store_app_status_dispose(&got);
    CHECK(got.resources == NULL && got.name == NULL);

    /* Same content again (changed_at is not part of the comparison):
     * nothing written, changed_at kept. */
    f.st.changed_at = "1999-01-01T00:00:00Z";
    CHECK(store_app_status_put(s, &f.st) == 0);
    sleep(1);
    CHECK(store_app_status_put(s, &f.st) == 0);
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK_STR(got.changed_at, changed);
    store_app_status_dispose(&got);

    /* Fewer resources and a new revision replace the old list. */
    fixture_fill(&f, "web", "fedcba", 2);
    CHECK(store_app_status_put(s, &f.st) == 1);
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK(got.n_resources == 2);
    CHECK_STR(got.revision, "fedcba");
    CHECK_STR(got.resources[1].message, "fedcba");
    CHECK(strcmp(got.changed_at, changed) != 0);
    store_app_status_dispose(&got);

    /* NULL strings are "", and an empty list round-trips. */
    fixture_fill(&f, "web", "fedcba", 0);
    f.st.synced_at = NULL;
    f.st.last_error = NULL;
    CHECK(store_app_status_put(s, &f.st) == 1);
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK(got.n_resources == 0);
    CHECK_STR(got.synced_at, "");
    CHECK_STR(got.last_error, "");
    store_app_status_dispose(&got);
    f.st.synced_at = "";
    CHECK(store_app_status_put(s, &f.st) == 0);
    store_close(s);
    free(path);
}

TEST(status_health_hooks_waves_round_trip_and_compare)
{
    char *path = db_path("health.db");
    store *s = NULL;
    struct fixture_status f;
    struct store_app_status got = {0};

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "web", "{}"));
    fixture_fill(&f, "web", "r1", 3);
    f.st.health = "Progressing";
    f.st.health_message = "Waiting for rollout to finish: 1 of 2 updated replicas are available";
    f.res[0].health = "Healthy";
    f.res[1].health = "Progressing";
    f.res[1].health_message = "Waiting for rollout";
    f.res[1].wave = -2;
    f.res[2].hook = "PreSync";
    f.res[2].wave = 5;
    CHECK(store_app_status_put(s, &f.st) == 1);
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK_STR(got.health, "Progressing");
    CHECK_STR(got.health_message, f.st.health_message);
    CHECK_STR(got.resources[0].health, "Healthy");
    CHECK_STR(got.resources[0].health_message, "");
    CHECK_STR(got.resources[0].hook, "");
    CHECK(got.resources[0].wave == 0);
    CHECK_STR(got.resources[1].health_message, "Waiting for rollout");
    CHECK(got.resources[1].wave == -2);
    CHECK_STR(got.resources[2].health, "");
    CHECK_STR(got.resources[2].hook, "PreSync");
    CHECK(got.resources[2].wave == 5);
    store_app_status_dispose(&got);
    CHECK(store_app_status_put(s, &f.st) == 0);

    /* Each new field alone is a change; "" and NULL are the same. */
    f.res[2].wave = 6;
    CHECK(store_app_status_put(s, &f.st) == 1);
    f.res[2].hook = "PostSync";
    CHECK(store_app_status_put(s, &f.st) == 1);
    f.res[0].health_message = "all replicas ready";
    CHECK(store_app_status_put(s, &f.st) == 1);
    f.res[1].health = "Healthy";
    CHECK(store_app_status_put(s, &f.st) == 1);
    f.st.health = "Healthy";
    CHECK(store_app_status_put(s, &f.st) == 1);
    f.st.health_message = NULL;
    CHECK(store_app_status_put(s, &f.st) == 1);
    f.st.health_message = "";
    CHECK(store_app_status_put(s, &f.st) == 0);
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK_STR(got.health, "Healthy");
    CHECK_STR(got.health_message, "");
    CHECK_STR(got.resources[2].hook, "PostSync");
    CHECK(got.resources[2].wave == 6);
    store_app_status_dispose(&got);
    store_close(s);
    free(path);
}

TEST(status_bad_input_changes_nothing)
{
    char *path = db_path("badstatus.db");
    store *s = NULL;
    struct fixture_status f;
    struct store_app_status got = {0};

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "web", "{}"));
    fixture_fill(&f, "ghost", "r1", 1);
    CHECK_ERR(store_app_status_put(s, &f.st), ERR_NOTFOUND);
    CHECK_CONTAINS(err_last(), "ghost");

    fixture_fill(&f, "web", "r1", 3);
    CHECK(store_app_status_put(s, &f.st) == 1);
    fixture_fill(&f, "web", "r2", 3);
    f.res[2] = f.res[0];
    CHECK_ERR(store_app_status_put(s, &f.st), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "listed twice");
    /* The failed write rolled back whole: r1 with its three resources. */
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK_STR(got.revision, "r1");
    CHECK(got.n_resources == 3);
    store_app_status_dispose(&got);
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

TEST(unchanged_put_writes_nothing)
{
    char *path = db_path("quiet.db"), *updated, *updated2;
    store *s = NULL;
    sqlite3 *raw;
    struct fixture_status f;
    long long v0, v1;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "web", "{\"spec\":1}"));
    fixture_fill(&f, "web", "r1", 4);
    CHECK(store_app_status_put(s, &f.st) == 1);
    raw = raw_open(path);
    updated = raw_text(raw, "SELECT updated_at FROM apps WHERE name = 'web'");
    v0 = raw_int(raw, "PRAGMA data_version");
    sleep(1);
    CHECK_OK(store_app_put(s, "web", "{\"spec\":1}"));
    CHECK(store_app_status_put(s, &f.st) == 0);
    v1 = raw_int(raw, "PRAGMA data_version");
    CHECK(v0 >= 0 && v0 == v1);
    updated2 = raw_text(raw, "SELECT updated_at FROM apps WHERE name = 'web'");
    CHECK_STR(updated2, updated);
    free(updated2);
    /* a new message alone is a change */
    f.st.message = "not fetched, deployed from the mirror's copy";
    CHECK(store_app_status_put(s, &f.st) == 1);
    CHECK(store_app_status_put(s, &f.st) == 0);

    /* The watcher does see real changes, so the check above can fail. */
    CHECK_OK(store_app_put(s, "web", "{\"spec\":2}"));
    CHECK(raw_int(raw, "PRAGMA data_version") != v1);
    updated2 = raw_text(raw, "SELECT updated_at FROM apps WHERE name = 'web'");
    CHECK(updated2 && strcmp(updated2, updated) != 0);
    CHECK(raw_int(raw, "SELECT count(*) FROM apps WHERE created_at < updated_at") == 1);
    free(updated2);
    free(updated);
    sqlite3_close(raw);
    store_close(s);
    free(path);
}

/* 1 if needle occurs in the file at path. */
static int file_contains(const char *path, const char *needle)
{
    struct buf b = BUF_INIT;
    int found = 0;
    if (fs_read_file(path, 64u << 20, &b) == 0)
        found = memmem(b.ptr, b.len, needle, strlen(needle)) != NULL;
    buf_dispose(&b);
    return found;
}

TEST(repo_credentials_longest_prefix_and_sealed_at_rest)
{
    char *path = db_path("repos.db"), *wal = xasprintf("%s-wal", path), *sealed = NULL;
    char *plain = NULL;
    unsigned char key[SEAL_KEY_LEN];
    store *s = NULL;
    struct store_repo r = {0}, got = {0}, *list = NULL;
    size_t n = 0;

    CHECK_OK(seal_key_load(key, dir));
    CHECK_OK(store_open(&s, path));
    CHECK_OK(seal_value(&sealed, key, "Sup3rSecretToken", "https://git.lan/org/"));
    r.url = "https://git.lan/org/";
    r.username = "deploy";
    r.password_sealed = sealed;
    r.ca_file = "/etc/edgecd/ca.pem";
    CHECK_OK(store_repo_put(s, &r));
    r.url = "https://git.lan/";
    r.username = "reader";
    r.password_sealed = "";
    r.ca_file = "";
    r.insecure = 1;
    CHECK_OK(store_repo_put(s, &r));
    r.url = "";
    CHECK_ERR(store_repo_put(s, &r), ERR_INVALID);

    CHECK_OK(store_repo_match(s, "https://git.lan/org/config.git", &got));
    CHECK_STR(got.url, "https://git.lan/org/");
    CHECK_STR(got.username, "deploy");
    CHECK_STR(got.ca_file, "/etc/edgecd/ca.pem");
    CHECK(got.insecure == 0);
    CHECK_OK(seal_open(&plain, key, got.password_sealed, got.url));
    CHECK_STR(plain, "Sup3rSecretToken");
    free(plain);
    store_repo_dispose(&got);
    CHECK_OK(store_repo_match(s, "https://git.lan/other/x.git", &got));
    CHECK_STR(got.username, "reader");
    CHECK(got.insecure == 1);
    store_repo_dispose(&got);
    /* a prefix is a prefix of characters, and % or _ are not wildcards */
    CHECK_ERR(store_repo_match(s, "https://git.la", &got), ERR_NOTFOUND);
    CHECK_ERR(store_repo_match(s, "https://git_lan/x", &got), ERR_NOTFOUND);

    CHECK_OK(store_repo_list(s, &list, &n));
    CHECK(n == 2);
    CHECK_STR(list[0].url, "https://git.lan/");
    CHECK_STR(list[1].url, "https://git.lan/org/");
    store_repos_free(list, n);

    /* the database file (and its log) hold the sealed text, never the secret */
    CHECK(file_contains(path, "Sup3rSecretToken") == 0);
    CHECK(file_contains(wal, "Sup3rSecretToken") == 0);
    CHECK(file_contains(path, sealed + 3) || file_contains(wal, sealed + 3));

    CHECK_OK(store_repo_delete(s, "https://git.lan/org/"));
    CHECK_ERR(store_repo_delete(s, "https://git.lan/org/"), ERR_NOTFOUND);
    CHECK_OK(store_repo_match(s, "https://git.lan/org/config.git", &got));
    CHECK_STR(got.url, "https://git.lan/");
    store_repo_dispose(&got);
    store_close(s);
    free(sealed);
    free(wal);
    free(path);
}

TEST(newer_schema_refused_untouched)
{
    char *path = db_path("newer.db"), *want, *mode;
    store *s = NULL;
    sqlite3 *raw = raw_open(path);
    char sql[64];
    int newer = store_schema_version() + 1;

    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
    CHECK(sqlite3_exec(raw, "CREATE TABLE future (x)", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(raw);

    CHECK_ERR(store_open(&s, path), ERR_INVALID);
    CHECK(s == NULL);
    want = xasprintf("state.db: schema version %d is newer than this edgecd (%d)", newer,
                     store_schema_version());
    /* The message names the file as given; compare from its base name. */
    CHECK_CONTAINS(err_last(), want + strlen("state.db"));
    CHECK_CONTAINS(err_last(), "newer.db: schema version");
    free(want);
    raw = raw_open(path);
    CHECK(raw_int(raw, "PRAGMA user_version") == newer);
    mode = raw_text(raw, "PRAGMA journal_mode");
    CHECK_STR(mode, "delete");
    free(mode);
    sqlite3_close(raw);
    free(path);
}

/* A database as edgecd with schema version 2 left it: applied from the
 * released migrations, with an app, a status and a resource in it. */
static void make_version_2(const char *path)
{
    sqlite3 *raw = raw_open(path);
    size_t i;

    for (i = 0; i < 2; i++)
        if (sqlite3_exec(raw, schema_migrations[i], NULL, NULL, NULL) != SQLITE_OK)
            fprintf(stderr, "migration %zu: %s\n", i + 1, sqlite3_errmsg(raw));
    if (sqlite3_exec(raw,
                     "PRAGMA user_version = 2;"
                     "INSERT INTO apps VALUES ('web', '{}', '2025-01-01T00:00:00Z',"
                     " '2025-01-01T00:00:00Z');"
                     "INSERT INTO app_status VALUES ('web', 'Synced', 'abc', '',"
                     " '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'from the mirror');"
                     "INSERT INTO app_resources VALUES ('web', 0, 'apps', 'v1', 'Deployment',"
                     " 'default', 'web', 'Synced', '');",
                     NULL, NULL, NULL) != SQLITE_OK)
        fprintf(stderr, "version 2 rows: %s\n", sqlite3_errmsg(raw));
    sqlite3_close(raw);
}

TEST(migrates_from_version_2)
{
    char *path = db_path("v2.db");
    store *s = NULL;
    sqlite3 *raw;
    struct store_app_status got = {0};
    struct store_operation op = {0};
    struct fixture_status f;

    CHECK(store_schema_version() == 9);
    make_version_2(path);
    raw = raw_open(path);
    CHECK(raw_int(raw, "PRAGMA user_version") == 2);
    sqlite3_close(raw);

    CHECK_OK(store_open(&s, path));
    raw = raw_open(path);
    CHECK(raw_int(raw, "PRAGMA user_version") == 9);
    sqlite3_close(raw);
    CHECK_OK(store_integrity_check(s));
    /* The old rows read with the new fields empty... */
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK_STR(got.revision, "abc");
    CHECK_STR(got.message, "from the mirror");
    CHECK_STR(got.health, "");
    CHECK(got.n_resources == 1);
    CHECK_STR(got.resources[0].kind, "Deployment");
    CHECK_STR(got.resources[0].health, "");
    CHECK_STR(got.resources[0].hook, "");
    CHECK(got.resources[0].wave == 0);
    store_app_status_dispose(&got);
    /* ...equal to the same status put without the new fields... */
    fixture_fill(&f, "web", "abc", 1);
    f.st.synced_at = "2025-01-01T00:00:00Z";
    f.st.message = "from the mirror";
    f.res[0].group = "apps";
    f.res[0].kind = "Deployment";
    f.res[0].namespace_ = "default";
    f.res[0].name = "web";
    f.res[0].message = "";
    CHECK(store_app_status_put(s, &f.st) == 0);
    /* ...and the new tables are there. */
    op.app = "web";
    op.id = 1;
    op.phase = "Running";
    op.state_json = "{}";
    op.manifests_json = "[]";
    CHECK(store_operation_put(s, &op) == 1);
    CHECK_OK(store_event_add(s, "web", "Normal", "OperationStarted", "sync", 0));
    store_close(s);
    s = NULL;
    /* Reopening at version 3 runs nothing again. */
    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_integrity_check(s));
    store_close(s);
    free(path);
}

TEST(garbage_file_and_bad_path)
{
    char *path = db_path("garbage.db"), *missing = db_path("no/such/dir/state.db");
    store *s = NULL;
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    fputs("this is not an SQLite database, just some text long enough to have a header\n", f);
    fclose(f);
    CHECK_ERR(store_open(&s, path), ERR_IO);
    CHECK_CONTAINS(err_last(), "garbage.db");
    CHECK_ERR(store_open(&s, missing), ERR_IO);
    CHECK_ERR(store_open(&s, ""), ERR_INVALID);
    CHECK(s == NULL);
    free(path);
    free(missing);
}

struct reader_arg {
    store *s;
    int failures;
    volatile int stop;
};

static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    while (!a->stop) {
        struct store_app_status got;
        char **names = NULL;
        size_t n = 0, i;
        if (store_app_list(a->s, &names, &n) < 0)
            a->failures++;
        store_names_free(names, n);
        if (store_app_status_get(a->s, "web", &got) == 0) {
            for (i = 0; i < got.n_resources; i++)
                if (strcmp(got.resources[i].message, got.revision) != 0)
                    a->failures++;
            store_app_status_dispose(&got);
        }
    }
    return NULL;
}

TEST(concurrent_reader_sees_whole_statuses)
{
    char *path = db_path("threads.db");
    store *s = NULL;
    struct fixture_status f;
    struct reader_arg a = {0};
    pthread_t t;
    char rev[32];
    int i, write_failures = 0;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "web", "{}"));
    a.s = s;
    CHECK(pthread_create(&t, NULL, reader_main, &a) == 0);
    for (i = 0; i < 100; i++) {
        snprintf(rev, sizeof(rev), "rev-%d", i);
        fixture_fill(&f, "web", rev, (size_t)(i % 7 + 1));
        if (store_app_status_put(s, &f.st) != 1)
            write_failures++;
    }
    a.stop = 1;
    pthread_join(t, NULL);
    CHECK(a.failures == 0 && write_failures == 0);
    store_close(s);
    free(path);
}

/* The writer in the crash test: status rev-i with i % 7 + 1 resources. */
static int crash_status_write(store *s, int i)
{
    struct fixture_status f;
    char rev[32];

    snprintf(rev, sizeof(rev), "rev-%d", i);
    fixture_fill(&f, "web", rev, (size_t)(i % 7 + 1));
    return store_app_status_put(s, &f.st);
}

TEST(crash_mid_write_keeps_last_commit)
{
    char *path = db_path("crash.db");
    store *s = NULL;
    struct store_app_status got = {0};
    int acked, k;
    size_t i;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_app_put(s, "web", "{}"));
    store_close(s);
    s = NULL;
    acked = crash_writer(path, crash_status_write, 60);
    CHECK(acked >= 60);

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_integrity_check(s));
    CHECK_OK(store_app_status_get(s, "web", &got));
    CHECK(sscanf(got.revision, "rev-%d", &k) == 1);
    /* Everything the child saw committed is there, and the resources are
     * exactly those of the committed status that is there. */
    CHECK(k >= acked);
    CHECK(got.n_resources == (size_t)(k % 7 + 1));
    for (i = 0; i < got.n_resources; i++)
        CHECK_STR(got.resources[i].message, got.revision);
    store_app_status_dispose(&got);
    store_close(s);
    free(path);
}

/* Clusters added through the API: name and server each unique, listed by
 * name, a refused add changes nothing, delete of an unknown one says so. */
TEST(clusters_unique_by_name_and_server)
{
    char *path = db_path("clusters.db");
    store *s = NULL;
    struct store_cluster a = {"edge-b", "https://10.0.0.2:6443", "", "v1:aa", NULL};
    struct store_cluster b = {"edge-a", "https://10.0.0.1:6443", "ctx", "v1:bb", NULL};
    struct store_cluster same_name = {"edge-b", "https://10.0.0.9:6443", "", "v1:cc", NULL};
    struct store_cluster same_server = {"edge-c", "https://10.0.0.1:6443", "", "v1:dd", NULL};
    struct store_cluster empty = {"edge-d", "https://10.0.0.4:6443", "", "", NULL};
    struct store_cluster *v = NULL;
    size_t n = 0;

    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_cluster_add(s, &a));
    CHECK_OK(store_cluster_add(s, &b));
    CHECK_ERR(store_cluster_add(s, &same_name), ERR_CONFLICT);
    CHECK_ERR(store_cluster_add(s, &same_server), ERR_CONFLICT);
    CHECK_ERR(store_cluster_add(s, &empty), ERR_INVALID);
    CHECK_OK(store_cluster_list(s, &v, &n));
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(v[0].name, "edge-a");
        CHECK_STR(v[0].context, "ctx");
        CHECK_STR(v[0].kubeconfig_sealed, "v1:bb");
        CHECK_STR(v[1].name, "edge-b");
        CHECK_STR(v[1].server, "https://10.0.0.2:6443");
        CHECK(strlen(v[1].created_at) == 20);
    }
    store_clusters_free(v, n);
    CHECK_ERR(store_cluster_delete(s, "nope"), ERR_NOTFOUND);
    CHECK_OK(store_cluster_delete(s, "edge-a"));
    /* its server is free again */
    CHECK_OK(store_cluster_add(s, &same_server));
    store_close(s);
    CHECK_OK(store_open(&s, path));
    CHECK_OK(store_cluster_list(s, &v, &n));
    CHECK(n == 2 && !strcmp(v[0].name, "edge-b") && !strcmp(v[1].name, "edge-c"));
    store_clusters_free(v, n);
    store_close(s);
    free(path);
}

int main(void)
{
    dir = test_tmpdir("storage");
    RUN(open_create_reopen_keeps_data);
    RUN(migrations_idempotent_and_pragmas);
    RUN(put_get_list_delete);
    RUN(projects_put_get_list_delete);
    RUN(appsets_and_their_status);
    RUN(status_round_trip_with_resources);
    RUN(status_health_hooks_waves_round_trip_and_compare);
    RUN(status_bad_input_changes_nothing);
    RUN(unchanged_put_writes_nothing);
    RUN(repo_credentials_longest_prefix_and_sealed_at_rest);
    RUN(newer_schema_refused_untouched);
    RUN(migrates_from_version_2);
    RUN(garbage_file_and_bad_path);
    RUN(concurrent_reader_sees_whole_statuses);
    RUN(crash_mid_write_keeps_last_commit);
    RUN(clusters_unique_by_name_and_server);
    free(dir);
    return TEST_END();
}
