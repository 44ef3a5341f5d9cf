/*
 * Start and stop a kubesim process from a C test. The binary is the one in
 * $EDGECD_KUBESIM (set by CMake for every test). kubesim writes its
 * kubeconfig files only once it listens, so waiting for the file is
 * waiting for readiness.
 */
#ifndef EDGECD_TESTS_KUBESIM_FIXTURE_H
#define EDGECD_TESTS_KUBESIM_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"

struct kubesim_proc {
    pid_t pid;
    char *dir;             /* state directory */
    char *kubeconfig;      /* token user */
    char *kubeconfig_cert; /* client-certificate user */
};

/* Start kubesim with state in dir (created). 0 or -1 with a message on
 * stderr. */
static inline int kubesim_proc_start(struct kubesim_proc *p, const char *dir)
{
    const char *bin = getenv("EDGECD_KUBESIM");
    struct stat st;
    p->pid = -1;
    p->dir = xstrdup(dir);
    p->kubeconfig = xasprintf("%s/kubeconfig", dir);
    p->kubeconfig_cert = xasprintf("%s/kubeconfig-cert", dir);
    if (!bin) {
        fprintf(stderr, "EDGECD_KUBESIM is not set\n");
        return -1;
    }
    mkdir(dir, 0700);
    unlink(p->kubeconfig);
    p->pid = fork();
    if (p->pid == 0) {
        char *log = xasprintf("%s/kubesim.log", dir);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execl(bin, "kubesim", "--listen", "127.0.0.1:0", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (stat(p->kubeconfig, &st) == 0)
            return 0;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "kubesim did not write %s within 10 s (see %s/kubesim.log)\n", p->kubeconfig,
            dir);
    return -1;
}

static inline void kubesim_proc_stop(struct kubesim_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
    }
    free(p->dir);
    free(p->kubeconfig);
    free(p->kubeconfig_cert);
    p->pid = -1;
    p->dir = p->kubeconfig = p->kubeconfig_cert = NULL;
}

#endif
