/*
 * kubeconfig files: the current context or a named one, resolved to what a
 * connection needs. File references are resolved relative to the
 * kubeconfig's directory, as kubectl does. exec and auth-provider plugins
 * are not supported (ERR_UNSUPPORTED).
 */
#ifndef EDGECD_KUBE_KUBECONFIG_H
#define EDGECD_KUBE_KUBECONFIG_H

#include <stddef.h>

struct kubeconfig {
    char *context;    /* the context used */
    char *server;     /* https://host:port */
    char *namespace_; /* the context's namespace or "default" */
    char *ca_pem;     /* certificate-authority(-data), or NULL */
    size_t ca_pem_len;
    char *client_cert_pem; /* client-certificate(-data), or NULL */
    size_t client_cert_pem_len;
    char *client_key_pem;
    size_t client_key_pem_len;
    char *token;      /* token, or NULL */
    char *token_file; /* tokenFile, read at each connect, or NULL */
    int insecure;     /* insecure-skip-tls-verify */
    char *tls_server_name;
};

/* Load path; context NULL = current-context. ERR_NOTFOUND (file, context,
 * cluster, user), ERR_INVALID (naming the field), ERR_UNSUPPORTED. */
int kubeconfig_load(struct kubeconfig *out, const char *path, const char *context);
void kubeconfig_dispose(struct kubeconfig *kc);

#endif
