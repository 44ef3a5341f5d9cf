/*
 * kubeconfig files: the current context or a named one, resolved to what a
 * connection needs. File references are resolved relative to the
 * kubeconfig's directory, as kubectl does. Supported: CA, client
 * certificate and key (file or -data), token, tokenFile, username and
 * password, tls-server-name, insecure-skip-tls-verify, the context's
 * namespace; and the in-cluster service account. Not supported, with an
 * ERR_UNSUPPORTED naming the user or cluster: exec and auth-provider
 * plugins, proxy-url, impersonation (as, as-groups, as-uid).
 */
#ifndef EDGECD_KUBE_KUBECONFIG_H
#define EDGECD_KUBE_KUBECONFIG_H

#include <stddef.h>

struct buf;

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
    char *token_file; /* tokenFile (re-read by the client when it changes), or NULL */
    char *username;   /* basic authentication, or NULL (then password is NULL) */
    char *password;
    int insecure; /* insecure-skip-tls-verify */
    char *tls_server_name;
};

/* Load path; context NULL = current-context. ERR_NOTFOUND (file, context,
 * cluster, user), ERR_INVALID (naming the field), ERR_UNSUPPORTED. */
int kubeconfig_load(struct kubeconfig *out, const char *path, const char *context);
void kubeconfig_dispose(struct kubeconfig *kc);

/* The longest kubeconfig accepted as text. */
#define KUBECONFIG_MAX_TEXT 65536u

/* Parse a kubeconfig given as text (an upload; label names it in errors)
 * as kubeconfig_load does, except that it may refer to no file: a
 * certificate, key or tokenFile given as a path is ERR_UNSUPPORTED, so
 * whoever uploads it cannot make edgecd read its own node's files.
 * ERR_TOOLARGE over KUBECONFIG_MAX_TEXT. */
int kubeconfig_from_text(struct kubeconfig *out, const char *text, size_t len, const char *label,
                         const char *context);

/* kc as a kubeconfig of one context, every credential inline (Base64
 * -data fields, the token of a tokenFile read now): what
 * kubeconfig_from_text accepts. The text (JSON, which is YAML too) is
 * appended to out; it holds kc's secrets, so the caller wipes it.
 * ERR_NOTFOUND/ERR_IO when the tokenFile cannot be read. */
int kubeconfig_flatten(const struct kubeconfig *kc, const char *name, struct buf *out);

/* The additional data a cluster's stored kubeconfig is sealed with
 * (core/seal.h): "cluster:" + name, so one cluster's sealed text does not
 * open as another's. New string. */
char *kubeconfig_sealed_ad(const char *name);

/* Open the kubeconfig stored sealed for cluster name (the store's
 * clusters table) with data_dir's key, and parse it as
 * kubeconfig_from_text does. ERR_INVALID for a wrong key or a changed
 * byte ("stored kubeconfig of cluster NAME cannot be decrypted"). The
 * plain text is wiped before this returns. */
int kubeconfig_open_sealed(struct kubeconfig *out, const char *data_dir, const char *name,
                           const char *sealed, const char *context);

/* The default folder of the in-cluster service account. */
#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* The configuration of a pod's service account, as client-go's
 * InClusterConfig: server from $KUBERNETES_SERVICE_HOST and
 * $KUBERNETES_SERVICE_PORT, token_file sa_dir/token (checked readable now,
 * re-read by the client as the kubelet rotates it), ca.crt and namespace
 * from sa_dir (NULL = KUBECONFIG_SA_DIR). context is "in-cluster".
 * ERR_NOTFOUND when not running in a cluster (variables unset, token
 * missing), ERR_INVALID for a bad host or port. */
int kubeconfig_in_cluster(struct kubeconfig *out, const char *sa_dir);

#endif
