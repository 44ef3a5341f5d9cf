/*
 * Tests for storage/accounts.c: accounts, sessions and tokens as rows,
 * their keys (a taken name or token id is ERR_CONFLICT), cascades (an
 * account's deletion ends its sessions and tokens), a password change
 * that keeps one session, and expiry by time.
 */
#include "storage/store.h"

#include "test.h"

static char *dir;

static store *open_store(const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    store *s = NULL;
    if (store_open(&s, path) < 0) {
        fprintf(stderr, "store_open: %s\n", err_last());
        exit(2);
    }
    free(path);
    return s;
}

TEST(accounts_add_get_list_delete)
{
    store *s = open_store("a.db");
    struct store_account a = {.name = "alice", .hash = "$h1", .enabled = 1, .roles = "role:x"};
    struct store_account got = {0}, *v = NULL;
    size_t n = 0;

    CHECK_OK(store_account_add(s, &a));
    CHECK_ERR(store_account_add(s, &a), ERR_CONFLICT);
    CHECK_CONTAINS(err_last(), "account \"alice\" exists");
    a.name = "";
    CHECK_ERR(store_account_add(s, &a), ERR_INVALID);
    a.name = "bob";
    a.enabled = 0;
    a.roles = NULL;
    CHECK_OK(store_account_add(s, &a));
    CHECK_OK(store_account_get(s, "alice", &got));
    CHECK_STR(got.hash, "$h1");
    CHECK_STR(got.roles, "role:x");
    CHECK(got.enabled == 1);
    CHECK(got.created_at[0] != '\0');
    store_account_dispose(&got);
    CHECK_OK(store_account_list(s, &v, &n));
    CHECK(n == 2);
    CHECK_STR(v[0].name, "alice");
    CHECK_STR(v[1].name, "bob");
    CHECK(v[1].enabled == 0);
    CHECK_STR(v[1].roles, "");
    store_accounts_free(v, n);
    CHECK_OK(store_account_set_enabled(s, "bob", 1));
    CHECK_OK(store_account_get(s, "bob", &got));
    CHECK(got.enabled == 1);
    store_account_dispose(&got);
    CHECK_ERR(store_account_set_enabled(s, "carol", 1), ERR_NOTFOUND);
    CHECK_OK(store_account_delete(s, "bob"));
    CHECK_ERR(store_account_delete(s, "bob"), ERR_NOTFOUND);
    CHECK_ERR(store_account_get(s, "bob", &got), ERR_NOTFOUND);
    store_close(s);
}

TEST(sessions_touch_expire_and_password_change)
{
    store *s = open_store("s.db");
    struct store_account a = {.name = "alice", .hash = "$h1", .enabled = 1, .roles = ""};
    struct store_session s1 = {
        .id_sha = "aa", .account = "alice", .csrf = "c1", .created_unix = 100, .seen_unix = 100};
    struct store_session s2 = {
        .id_sha = "bb", .account = "alice", .csrf = "c2", .created_unix = 200, .seen_unix = 200};
    struct store_session nobody = {.id_sha = "cc", .account = "nobody", .csrf = "c3"};
    struct store_session got = {0};
    struct store_account acc = {0};
    size_t n = 0;

    CHECK_OK(store_account_add(s, &a));
    CHECK_OK(store_session_add(s, &s1));
    CHECK_OK(store_session_add(s, &s2));
    CHECK_ERR(store_session_add(s, &nobody), ERR_NOTFOUND);
    CHECK_OK(store_session_touch(s, "aa", 150));
    CHECK_OK(store_session_get(s, "aa", &got));
    CHECK(got.created_unix == 100 && got.seen_unix == 150);
    CHECK_STR(got.csrf, "c1");
    CHECK_STR(got.account, "alice");
    store_session_dispose(&got);

    /* a password change keeps only the session that made it */
    CHECK_OK(store_account_set_hash(s, "alice", "$h2", "bb"));
    CHECK_ERR(store_session_get(s, "aa", &got), ERR_NOTFOUND);
    CHECK_OK(store_session_get(s, "bb", &got));
    store_session_dispose(&got);
    CHECK_OK(store_account_get(s, "alice", &acc));
    CHECK_STR(acc.hash, "$h2");
    store_account_dispose(&acc);
    CHECK_ERR(store_account_set_hash(s, "nobody", "$h2", NULL), ERR_NOTFOUND);

    /* expiry: by creation or by last use */
    CHECK_OK(store_session_expire(s, 150, 0, &n));
    CHECK(n == 0);
    CHECK_OK(store_session_expire(s, 0, 201, &n));
    CHECK(n == 1);
    CHECK_ERR(store_session_get(s, "bb", &got), ERR_NOTFOUND);

    /* deleting the account deletes its sessions */
    s1.id_sha = "dd";
    CHECK_OK(store_session_add(s, &s1));
    CHECK_OK(store_account_delete(s, "alice"));
    CHECK_ERR(store_session_get(s, "dd", &got), ERR_NOTFOUND);
    store_close(s);
}

TEST(tokens_add_find_list_revoke)
{
    store *s = open_store("t.db");
    struct store_account a = {.name = "alice", .hash = "$h1", .enabled = 1, .roles = ""};
    struct store_token t = {.account = "alice",
                            .id = "ci",
                            .sha = "s1",
                            .role = "role:readonly",
                            .issued_unix = 10,
                            .expires_unix = 20};
    struct store_token got = {0}, *v = NULL;
    size_t n = 0;

    CHECK_OK(store_account_add(s, &a));
    CHECK_OK(store_token_add(s, &t));
    CHECK_ERR(store_token_add(s, &t), ERR_CONFLICT);
    CHECK_CONTAINS(err_last(), "has a token \"ci\"");
    t.id = "cd";
    t.sha = "s2";
    t.expires_unix = 0;
    CHECK_OK(store_token_add(s, &t));
    t.account = "nobody";
    t.id = "x";
    t.sha = "s3";
    CHECK_ERR(store_token_add(s, &t), ERR_NOTFOUND);
    CHECK_OK(store_token_find(s, "s1", &got));
    CHECK_STR(got.id, "ci");
    CHECK_STR(got.role, "role:readonly");
    CHECK(got.issued_unix == 10 && got.expires_unix == 20);
    store_token_dispose(&got);
    CHECK_OK(store_token_list(s, "alice", &v, &n));
    CHECK(n == 2);
    CHECK_STR(v[0].id, "cd");
    CHECK_STR(v[0].sha, ""); /* lists never carry the digest */
    store_tokens_free(v, n);
    CHECK_OK(store_token_delete(s, "alice", "ci"));
    CHECK_ERR(store_token_delete(s, "alice", "ci"), ERR_NOTFOUND);
    CHECK_ERR(store_token_find(s, "s1", &got), ERR_NOTFOUND);
    CHECK_OK(store_account_delete(s, "alice"));
    CHECK_ERR(store_token_find(s, "s2", &got), ERR_NOTFOUND);
    CHECK_OK(store_token_list(s, NULL, &v, &n));
    CHECK(n == 0);
    store_tokens_free(v, n);
    err_clear();
    store_close(s);
}

int main(void)
{
    dir = test_tmpdir("storage-accounts");
    RUN(accounts_add_get_list_delete);
    RUN(sessions_touch_expire_and_password_change);
    RUN(tokens_add_find_list_revoke);
    free(dir);
    return TEST_END();
}
