/*
 * kubesim: a Kubernetes API server double for tests and the demo.
 *
 *   kubesim --listen HOST:PORT --dir DIR [--token TOKEN] [--watch-history N]
 *           [--ready-delay-ms N] [--no-workloads]
 *
 * --watch-history: how many events the watch history keeps (default
 * 10000); a small number lets a test reach 410 Expired quickly.
 * --ready-delay-ms: how long pods take to become ready (workload.h).
 * --no-workloads: no workload simulator: objects are stored and served
 * but nothing acts on them (benchmarks of the API path alone).
 * SIGUSR1 cuts every open watch stream (watch_cut_all), for tests of
 * clients that must survive a dropped watch.
 *
 * Makes fresh certificates, listens, and only then writes DIR/kubeconfig
 * (bearer token) and DIR/kubeconfig-cert (client certificate), each by
 * rename, so a waiting test that sees the file can connect at once.
 */
#include <errno.h>
#include <pthread.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "certs.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "faults.h"
#include "handlers.h"
#include "httpd.h"
#include "objects.h"
#include "watch.h"
#include "workload.h"

static volatile sig_atomic_t main_stop;
static int main_signals_stop; /* atomic: tells main_signals to end */

/* SIGUSR1 is blocked in every thread and taken here with sigwait, so
 * watch_cut_all runs in an ordinary thread, not a signal handler. The
 * thread ends when it receives SIGUSR1 with main_signals_stop set. */
static void *main_signals(void *arg)
{
    sigset_t set;
    int sig;
    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    while (sigwait(&set, &sig) == 0 && !__atomic_load_n(&main_signals_stop, __ATOMIC_ACQUIRE))
        watch_cut_all();
    return NULL;
}

static void main_on_signal(int sig)
{
    (void)sig;
    main_stop = 1;
}

static char *main_base64(const struct buf *b)
{
    size_t olen = 0;
    char *out;
    mbedtls_base64_encode(NULL, 0, &olen, (const unsigned char *)b->ptr, b->len);
    out = xmalloc(olen + 1);
    mbedtls_base64_encode((unsigned char *)out, olen + 1, &olen, (const unsigned char *)b->ptr,
                          b->len);
    out[olen] = '\0';
    return out;
}

static int main_write(const char *dir, const char *name, const char *text, mode_t mode)
{
    char *path = xasprintf("%s/%s", dir, name);
    int rc = fs_write_atomic(path, text, strlen(text), mode);
    free(path);
    return rc;
}

static int main_kubeconfig(const char *dir, const char *file, int port, const struct certs *c,
                           const char *token)
{
    struct buf out = BUF_INIT;
    char *ca = main_base64(&c->ca_pem);
    int rc;
    buf_printf(&out,
               "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n"
               "    server: https://127.0.0.1:%d\n    certificate-authority-data: %s\n"
               "users:\n- name: kubesim-admin\n  user:\n",
               port, ca);
    if (token) {
        buf_printf(&out, "    token: %s\n", token);
    } else {
        char *crt = main_base64(&c->client_pem), *key = main_base64(&c->client_key_pem);
        buf_printf(&out, "    client-certificate-data: %s\n    client-key-data: %s\n", crt, key);
        free(crt);
        free(key);
    }
    buf_puts(&out, "contexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n"
                   "    user: kubesim-admin\n    namespace: default\n"
                   "current-context: kubesim\n");
    rc = main_write(dir, file, out.ptr, 0600);
    buf_dispose(&out);
    free(ca);
    return rc;
}

static void main_usage(void)
{
    fprintf(stderr, "usage: kubesim --listen HOST:PORT --dir DIR [--token TOKEN] "
                    "[--watch-history N] [--ready-delay-ms N] [--no-workloads]\n");
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *dir = NULL, *token_arg = NULL;
    struct workload_options wopts = WORKLOAD_OPTIONS_INIT;
    char *host = NULL, token[65];
    long port = 0, history = WATCH_HISTORY_DEFAULT;
    pthread_t signals;
    sigset_t usr1;
    int signals_started = 0;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    struct certs certs;
    httpd *server = NULL;
    struct sigaction sa;
    int rc = 1, certs_ok = 0, workloads = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            token_arg = argv[++i];
        else if (strcmp(argv[i], "--no-workloads") == 0)
            workloads = 0;
        else if (strcmp(argv[i], "--ready-delay-ms") == 0 && i + 1 < argc) {
            if (str_to_long(argv[++i], 0, 3600000, "--ready-delay-ms", &wopts.ready_delay_ms) < 0) {
                fprintf(stderr, "kubesim: %s\n", err_last());
                return 2;
            }
        } else if (strcmp(argv[i], "--watch-history") == 0 && i + 1 < argc) {
            if (str_to_long(argv[++i], 1, 100000000, "--watch-history", &history) < 0) {
                fprintf(stderr, "kubesim: %s\n", err_last());
                return 2;
            }
        } else {
            main_usage();
            return 2;
        }
    }
    if (!listen || !dir) {
        main_usage();
        return 2;
    }
    {
        const char *colon = strrchr(listen, ':');
        if (!colon || str_to_long(colon + 1, 0, 65535, "--listen port", &port) < 0) {
            fprintf(stderr, "kubesim: --listen wants HOST:PORT\n");
            return 2;
        }
        host = xstrndup(listen, (size_t)(colon - listen));
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            char *h = xstrndup(host + 1, strlen(host) - 2);
            free(host);
            host = h;
        }
    }
    if (token_arg) {
        str_copy(token, token_arg, sizeof(token));
    } else {
        unsigned char rnd[24];
        if (util_random(rnd, sizeof(rnd)) < 0) {
            fprintf(stderr, "kubesim: %s\n", err_last());
            free(host);
            return 1;
        }
        util_hex(token, rnd, sizeof(rnd));
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = main_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    signals_started = pthread_create(&signals, NULL, main_signals, NULL) == 0;

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)"kubesim", 7) != 0) {
        fprintf(stderr, "kubesim: cannot seed the random generator\n");
        goto out;
    }
    if (fs_mkdir_p(dir, 0700) < 0 || certs_generate(&certs, &drbg) < 0) {
        fprintf(stderr, "kubesim: %s\n", err_last());
        goto out;
    }
    certs_ok = 1;
    if (main_write(dir, "ca.crt", certs.ca_pem.ptr, 0644) < 0 ||
        main_write(dir, "client.crt", certs.client_pem.ptr, 0644) < 0 ||
        main_write(dir, "client.key", certs.client_key_pem.ptr, 0600) < 0) {
        fprintf(stderr, "kubesim: %s\n", err_last());
        goto out;
    }
    watch_init((size_t)history, objects_rv());
    handlers_init(token);
    faults_init();
    if (workloads && workload_start(&wopts) < 0) {
        fprintf(stderr, "kubesim: %s\n", err_last());
        goto out_handlers;
    }
    if (httpd_new(&server, host, (int)port, &certs, handlers_handle, NULL) < 0) {
        fprintf(stderr, "kubesim: %s\n", err_last());
        goto out_handlers;
    }
    if (main_kubeconfig(dir, "kubeconfig-cert", httpd_port(server), &certs, NULL) < 0 ||
        main_kubeconfig(dir, "kubeconfig", httpd_port(server), &certs, token) < 0) {
        fprintf(stderr, "kubesim: %s\n", err_last());
        goto out_handlers;
    }
    printf("kubesim: serving https://127.0.0.1:%d\n", httpd_port(server));
    fflush(stdout);
    httpd_run(server, &main_stop);
    rc = 0;
out_handlers:
    workload_stop();
    httpd_free(server);
    handlers_dispose();
    watch_dispose();
out:
    if (certs_ok)
        certs_dispose(&certs);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    free(host);
    if (signals_started) {
        __atomic_store_n(&main_signals_stop, 1, __ATOMIC_RELEASE);
        pthread_kill(signals, SIGUSR1);
        pthread_join(signals, NULL);
    }
    return rc;
}
