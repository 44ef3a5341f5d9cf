/*
 * kubeclient: edgecd's Kubernetes client as a small command line, so the
 * conformance scenarios can run the same steps through it and through
 * real kubectl. Prints objects as compact JSON, one per line.
 *
 *   kubeclient KUBECONFIG apply [--dry-run] [--manager M] [--no-force] FILE
 *   kubeclient KUBECONFIG get APIVERSION KIND NS NAME
 *   kubeclient KUBECONFIG list APIVERSION KIND NS [SELECTOR]
 *   kubeclient KUBECONFIG delete APIVERSION KIND NS NAME [POLICY [--wait]]
 *   kubeclient KUBECONFIG watch APIVERSION KIND NS SECONDS
 *
 * watch prints {"type":..., "object":...} lines as kubectl's
 * --output-watch-events does; the objects of the first listing come as
 * ADDED, as a watch from resourceVersion "" sends them.
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

static int kubeclient_apply(kube_client *c, int argc, char **argv)
{
    struct kube_apply_options o = KUBE_APPLY_OPTIONS_INIT;
    struct buf data = BUF_INIT;
    json_t *docs = NULL;
    size_t i;
    json_t *obj;
    int rc;

    for (; argc > 1; argc--, argv++) {
        if (strcmp(argv[0], "--dry-run") == 0)
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
                        "[--no-force] FILE\n");
        return 2;
    }
    if ((rc = fs_read_file(argv[0], 8u << 20, &data)) < 0 ||
        (rc = doc_parse_file_data(&docs, buf_cstr(&data), data.len, argv[0], NULL)) < 0) {
        buf_dispose(&data);
        return kubeclient_fail(rc);
    }
    buf_dispose(&data);
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
