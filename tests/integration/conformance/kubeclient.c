/*
 * kubeclient: edgecd's Kubernetes client as a small command line, so the
 * conformance scenarios can run the same steps through it and through
 * real kubectl. Prints objects as compact JSON, one per line.
 *
 *   kubeclient KUBECONFIG apply [--dry-run] [--manager M] [--no-force]
 *                               [--parallel N] FILE
 *   kubeclient KUBECONFIG get APIVERSION KIND NS NAME
 *   kubeclient KUBECONFIG list APIVERSION KIND NS [SELECTOR]
 *   kubeclient KUBECONFIG delete APIVERSION KIND NS NAME [POLICY [--wait]]
 *   kubeclient KUBECONFIG watch APIVERSION KIND NS SECONDS
 *
 * watch prints {"type":..., "object":...} lines as kubectl's
 * --output-watch-events does; the objects of the first listing come as
 * ADDED, as a watch from resourceVersion "" sends them.
 *
 * apply --parallel N sends N applies at once over the client's connection
 * pool (order between objects is then not kept: for objects that do not
 * depend on each other); the answers still print in file order.
 *
 * NS "-" means none (cluster-scoped kinds, or all namespaces for list).
 * Exit 0 on success, 3 when the object does not exist, 1 on other errors
 * (the client's message on stderr).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/watch.h"

static int kubeclient_fail(int rc)
{
    fprintf(stderr, "kubeclient: %s\n", err_last());
    return rc == ERR_NOTFOUND ? 3 : 1;
}

static void kubeclient_print(const json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (text)
        puts(text);
    free(text);
}

static const char *kubeclient_ns(const char *arg)
{
    return strcmp(arg, "-") == 0 ? NULL : arg;
}

/* Concurrent applies: threads take the next document until none is left
 * or one failed; the first failure's message is kept (err_last is per
 * thread). */
struct kubeclient_batch {
    kube_client *c;
    const struct kube_apply_options *o;
    json_t *docs;
    json_t **live;
    size_t next;
    int rc;
    char err[1024];
    pthread_mutex_t mu;
};

static void *kubeclient_batch_worker(void *arg)
{
    struct kubeclient_batch *b = arg;
    for (;;) {
        size_t i;
        int rc;
        pthread_mutex_lock(&b->mu);
        i = b->next++;
        if (b->rc < 0 || i >= json_array_size(b->docs)) {
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
        pthread_mutex_unlock(&b->mu);
        rc = kube_client_apply_opts(b->c, json_array_get(b->docs, i), b->o, &b->live[i]);
        if (rc < 0) {
            pthread_mutex_lock(&b->mu);
            if (b->rc == 0) {
                b->rc = rc;
                snprintf(b->err, sizeof(b->err), "%s", err_last());
            }
            pthread_mutex_unlock(&b->mu);
        }
    }
}

static int kubeclient_apply_parallel(kube_client *c, const struct kube_apply_options *o,
                                     json_t *docs, long threads)
{
    struct kubeclient_batch b;
    pthread_t th[16];
    size_t n = json_array_size(docs);
    long started = 0;

    memset(&b, 0, sizeof(b));
    b.c = c;
    b.o = o;
    b.docs = docs;
    b.live = xcalloc(n ? n : 1, sizeof(*b.live));
    pthread_mutex_init(&b.mu, NULL);
    for (; started < threads; started++)
        if (pthread_create(&th[started], NULL, kubeclient_batch_worker, &b) != 0)
            break;
    if (started == 0)
        kubeclient_batch_worker(&b);
    for (long t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < n; i++) {
        if (b.rc == 0)
            kubeclient_print(b.live[i]);
        json_decref(b.live[i]);
    }
    free(b.live);
    pthread_mutex_destroy(&b.mu);
    if (b.rc < 0) {
        fprintf(stderr, "kubeclient: %s\n", b.err);
        return b.rc == ERR_NOTFOUND ? 3 : 1;
    }
    return 0;
}

static int kubeclient_apply(kube_client *c, int argc, char **argv)
{
    struct kube_apply_options o = KUBE_APPLY_OPTIONS_INIT;
    struct buf data = BUF_INIT;
    json_t *docs = NULL;
    size_t i;
    json_t *obj;
    long parallel = 1;
    int rc;

    for (; argc > 1; argc--, argv++) {
        if (strcmp(argv[0], "--parallel") == 0 && argc > 2) {
            if (str_to_long(argv[1], 1, 16, "--parallel", &parallel) < 0)
                return kubeclient_fail(ERR_INVALID);
            argc--;
            argv++;
        } else if (strcmp(argv[0], "--dry-run") == 0)
            o.dry_run = 1;
        else if (strcmp(argv[0], "--no-force") == 0)
            o.force = 0;
        else if (strcmp(argv[0], "--manager") == 0 && argc > 2) {
            o.manager = argv[1];
            argc--;
            argv++;
        } else
            break;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: kubeclient KUBECONFIG apply [--dry-run] [--manager M] "
                        "[--no-force] [--parallel N] FILE\n");
        return 2;
    }
    if ((rc = fs_read_file(argv[0], 8u << 20, &data)) < 0 ||
        (rc = doc_parse_file_data(&docs, buf_cstr(&data), data.len, argv[0], NULL)) < 0) {
        buf_dispose(&data);
        return kubeclient_fail(rc);
    }
    buf_dispose(&data);
    if (parallel > 1) {
        rc = kubeclient_apply_parallel(c, &o, docs, parallel);
        json_decref(docs);
        return rc;
    }
    json_array_foreach(docs, i, obj)
    {
        json_t *live = NULL;
        if ((rc = kube_client_apply_opts(c, obj, &o, &live)) < 0) {
            json_decref(docs);
            return kubeclient_fail(rc);
        }
        kubeclient_print(live);
        json_decref(live);
    }
    json_decref(docs);
    return 0;
}

static pthread_mutex_t kubeclient_out_mu = PTHREAD_MUTEX_INITIALIZER;

static void kubeclient_event(void *ctx, enum kube_watch_event ev, json_t *obj)
{
    const char *type = ev == KUBE_WATCH_ADDED || ev == KUBE_WATCH_LISTED ? "ADDED"
                       : ev == KUBE_WATCH_MODIFIED                       ? "MODIFIED"
                       : ev == KUBE_WATCH_DELETED                        ? "DELETED"
                                                                         : NULL;
    json_t *line;
    (void)ctx;
    if (!type)
        return;
    line = json_pack("{s:s, s:O}", "type", type, "object", obj);
    pthread_mutex_lock(&kubeclient_out_mu);
    kubeclient_print(line);
    fflush(stdout);
    pthread_mutex_unlock(&kubeclient_out_mu);
    json_decref(line);
}

static int kubeclient_watch(const struct kubeconfig *kc, int argc, char **argv)
{
    struct kube_watch_options o = KUBE_WATCH_OPTIONS_INIT;
    kube_watch *w = NULL;
    long seconds;
    int rc;

    if (argc != 4 || str_to_long(argv[3], 1, 3600, "SECONDS", &seconds) < 0) {
        fprintf(stderr, "usage: kubeclient KUBECONFIG watch APIVERSION KIND NS SECONDS\n");
        return 2;
    }
    o.namespace_ = kubeclient_ns(argv[2]);
    if ((rc = kube_watch_new(&w, kc, argv[0], argv[1], &o, kubeclient_event, NULL)) < 0)
        return kubeclient_fail(rc);
    sleep((unsigned)seconds);
    kube_watch_free(w);
    return 0;
}

static int kubeclient_run(kube_client *c, const char *verb, int argc, char **argv)
{
    json_t *out = NULL;
    int rc;

    if (strcmp(verb, "apply") == 0)
        return kubeclient_apply(c, argc, argv);
    if (strcmp(verb, "get") == 0 && argc == 4) {
        if ((rc = kube_client_get(c, argv[0], argv[1], kubeclient_ns(argv[2]), argv[3], &out)) < 0)
            return kubeclient_fail(rc);
    } else if (strcmp(verb, "list") == 0 && (argc == 3 || argc == 4)) {
        if ((rc = kube_client_list(c, argv[0], argv[1], kubeclient_ns(argv[2]),
                                   argc == 4 ? argv[3] : NULL, &out)) < 0)
            return kubeclient_fail(rc);
    } else if (strcmp(verb, "delete") == 0 && argc == 6 && strcmp(argv[5], "--wait") == 0) {
        if ((rc = kube_client_delete_wait(c, argv[0], argv[1], kubeclient_ns(argv[2]), argv[3],
                                          argv[4], 30000)) < 0)
            return kubeclient_fail(rc);
        return 0;
    } else if (strcmp(verb, "delete") == 0 && (argc == 4 || argc == 5)) {
        if ((rc = kube_client_delete(c, argv[0], argv[1], kubeclient_ns(argv[2]), argv[3],
                                     argc == 5 ? argv[4] : NULL)) < 0)
            return kubeclient_fail(rc);
        return 0;
    } else {
        fprintf(stderr, "kubeclient: bad arguments for %s\n", verb);
        return 2;
    }
    kubeclient_print(out);
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    struct kubeconfig kc;
    kube_client *c = NULL;
    int rc;

    if (argc < 3) {
        fprintf(stderr, "usage: kubeclient KUBECONFIG apply|get|list|delete|watch ...\n");
        return 2;
    }
    if ((rc = kubeconfig_load(&kc, argv[1], NULL)) < 0)
        return kubeclient_fail(rc);
    if (strcmp(argv[2], "watch") == 0) {
        rc = kubeclient_watch(&kc, argc - 3, argv + 3);
        kubeconfig_dispose(&kc);
        return rc;
    }
    rc = kube_client_new(&c, &kc);
    kubeconfig_dispose(&kc);
    if (rc < 0)
        return kubeclient_fail(rc);
    rc = kubeclient_run(c, argv[2], argc - 3, argv + 3);
    kube_client_free(c);
    return rc;
}
