/*
 * store_snapshot while another thread writes through the same store: each
 * snapshot is a sound database as of one commit. The writer keeps an
 * invariant that only whole transactions satisfy (an app's status message
 * says how many resources it has, and both are replaced in one
 * store_app_status_put), so a copy that mixed two commits would show a
 * message that disagrees with its resources.
 */
#include <pthread.h>
#include <stdio.h>

#include "storage/store.h"
#include "test.h"

static char *dir;
static volatile int stop_writer;
static volatile long written;

/* One status with n resources and the message "n=<n>". */
static int put_status(store *s, int n)
{
    struct store_app_status st;
    char msg[32];
    int rc;

    memset(&st, 0, sizeof(st));
    st.name = "web";
    st.sync_status = "Synced";
    snprintf(msg, sizeof(msg), "n=%d", n);
    st.message = msg;
    st.resources = xcalloc((size_t)n, sizeof(*st.resources));
    st.n_resources = (size_t)n;
    for (int i = 0; i < n; i++) {
        st.resources[i].kind = "ConfigMap";
        st.resources[i].version = "v1";
        st.resources[i].namespace_ = "shop";
        st.resources[i].name = xasprintf("cm-%d", i);
        st.resources[i].status = "Synced";
    }
    rc = store_app_status_put(s, &st);
    for (int i = 0; i < n; i++)
        free(st.resources[i].name);
    free(st.resources);
    return rc;
}

static void *writer(void *arg)
{
    store *s = arg;
    for (int i = 1; !stop_writer; i++) {
        if (put_status(s, 1 + i % 97) < 0)
            break;
        written = i;
    }
    return NULL;
}

TEST(snapshot_while_writing)
{
    char *db = xasprintf("%s/state.db", dir);
    store *s = NULL, *copy = NULL;
    pthread_t t;
    long before;

    CHECK_OK(store_open(&s, db));
    CHECK_OK(store_app_put(s, "web", "{\"kind\":\"Application\"}"));
    CHECK_OK(put_status(s, 1));
    CHECK(pthread_create(&t, NULL, writer, s) == 0);
    for (int k = 0; k < 8; k++) {
        char *snap = xasprintf("%s/snap-%d.db", dir, k);
        struct store_app_status st;
        int n = -1;
        before = written;
        CHECK_OK(store_snapshot(s, snap));
        CHECK_OK(store_open(&copy, snap));
        CHECK_OK(store_integrity_check(copy));
        memset(&st, 0, sizeof(st));
        CHECK_OK(store_app_status_get(copy, "web", &st));
        CHECK(sscanf(st.message, "n=%d", &n) == 1);
        if ((size_t)n != st.n_resources)
            fprintf(stderr, "snapshot %d: message %s with %zu resources\n", k, st.message,
                    st.n_resources);
        CHECK((size_t)n == st.n_resources);
        store_app_status_dispose(&st);
        store_close(copy);
        copy = NULL;
        free(snap);
        usleep(20000);
    }
    stop_writer = 1;
    pthread_join(t, NULL);
    /* The writer was not held off by the copies. */
    CHECK(written > before);
    store_close(s);
    free(db);
}

TEST(snapshot_refuses_a_bad_target)
{
    char *db = xasprintf("%s/other.db", dir), *bad = xasprintf("%s/no/such/dir/x.db", dir);
    store *s = NULL;
    CHECK_OK(store_open(&s, db));
    CHECK_ERR(store_snapshot(s, bad), ERR_IO);
    CHECK_CONTAINS(err_last(), "snapshot");
    store_close(s);
    free(db);
    free(bad);
}

int main(void)
{
    dir = test_tmpdir("store-snapshot");
    RUN(snapshot_while_writing);
    RUN(snapshot_refuses_a_bad_target);
    free(dir);
    return TEST_END();
}
