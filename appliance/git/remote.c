/*
 * Remote access for mirrors. libgit2 does the protocol; edgecd decides
 * here what it may send and whom it trusts:
 *
 * - credentials: the configured username and password (or token) are
 *   offered once; a second request means the server refused them, and
 *   the fetch stops with ERR_AUTH instead of asking again forever.
 * - certificates: a chain libgit2 accepted (system CAs) is accepted; if
 *   not, a repository's own CA bundle is tried with mbedTLS, checking the
 *   chain and the host name; `insecure` accepts anything.
 * - nothing printed carries a URL's userinfo.
 */
#include "git/remote.h"

#include <git2.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Scheme prefixes and what edgecd does with them. */
static const struct {
    const char *prefix;
    int kind; /* enum remote_kind, or -1 for ssh */
} remote_schemes[] = {
    {"file://", REMOTE_LOCAL}, {"http://", REMOTE_HTTP}, {"https://", REMOTE_HTTP}, {"ssh://", -1},
    {"git+ssh://", -1},        {"ssh+git://", -1},
};

void remote_redact(const char *url, char *out, size_t len)
{
    size_t o = 0;
    const char *p = url;

    if (!len)
        return;
    while (*p && o + 1 < len) {
        if (str_has_prefix(p, "://")) {
            const char *host = p + 3;
            size_t n = strcspn(host, "/ \t\n'\"@");
            for (int i = 0; i < 3 && o + 1 < len; i++)
                out[o++] = p[i];
            /* drop "user:password@" up to the host */
            p = host[n] == '@' ? host + n + 1 : host;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

int remote_kind(const char *url, enum remote_kind *out)
{
    char safe[512];
    const char *sep;
    size_t i;

    if (!url || !url[0])
        return err_set(ERR_INVALID, "repository URL: empty");
    remote_redact(url, safe, sizeof(safe));
    for (i = 0; i < sizeof(remote_schemes) / sizeof(remote_schemes[0]); i++) {
        if (!str_has_prefix(url, remote_schemes[i].prefix))
            continue;
        if (remote_schemes[i].kind < 0)
            break;
        *out = (enum remote_kind)remote_schemes[i].kind;
        return 0;
    }
    sep = strpbrk(url, ":/");
    if (i < sizeof(remote_schemes) / sizeof(remote_schemes[0]) ||
        (sep && *sep == ':' && !strstr(url, "://")))
        return err_set(ERR_UNSUPPORTED,
                       "%s: ssh is not supported by this build; use https or a file mirror", safe);
    if (strstr(url, "://"))
        return err_set(ERR_UNSUPPORTED,
                       "%s: unsupported URL scheme; use https://, http://, file:// or a path",
                       safe);
    *out = REMOTE_LOCAL;
    return 0;
}

static int remote_cred_cb(git_credential **out, const char *url, const char *user_from_url,
                          unsigned int allowed, void *payload)
{
    struct remote_session *s = payload;
    const char *user;

    (void)url;
    s->cred_calls++;
    /* Once only: a second request is the server refusing the first. */
    if (s->cred_calls > 1 || !s->auth || !s->auth->password || !s->auth->password[0] ||
        !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
        s->auth_failed = 1;
        git_error_set_str(GIT_ERROR_HTTP, "authentication failed");
        return GIT_EUSER;
    }
    user = s->auth->username && s->auth->username[0] ? s->auth->username
           : user_from_url && user_from_url[0]       ? user_from_url
                                                     : "git"; /* tokens: any name works */
    return git_credential_userpass_plaintext_new(out, user, s->auth->password);
}

/* Verify der against the PEM bundle ca_file for host. 0 or -1 with s->why. */
static int remote_verify_ca(struct remote_session *s, const void *der, size_t len, const char *host)
{
    mbedtls_x509_crt ca, crt;
    uint32_t flags = 0;
    int rc = -1, mrc;

    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&crt);
    mrc = mbedtls_x509_crt_parse_file(&ca, s->auth->ca_file);
    if (mrc < 0 || !ca.version) {
        snprintf(s->why, sizeof(s->why), "CA file %s has no readable PEM certificate",
                 s->auth->ca_file);
        goto out;
    }
    if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0) {
        snprintf(s->why, sizeof(s->why), "the server sent an unreadable certificate");
        goto out;
    }
    if (mbedtls_x509_crt_verify(&crt, &ca, NULL, host, &flags, NULL, NULL) != 0) {
        char info[160];
        int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
        while (n > 0 && (info[n - 1] == '\n' || info[n - 1] == ' '))
            info[--n] = '\0';
        for (char *nl = info; (nl = strchr(nl, '\n')) != NULL;)
            *nl = ';';
        snprintf(s->why, sizeof(s->why), "not valid for %s under CA file %s: %s", host,
                 s->auth->ca_file, n > 0 ? info : "verification failed");
        goto out;
    }
    rc = 0;
out:
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&crt);
    return rc;
}

static int remote_cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
    struct remote_session *s = payload;
    const git_cert_x509 *x;

    if (s->auth && s->auth->insecure)
        return 0;
    if (valid)
        return 0;
    if (!s->auth || !s->auth->ca_file || !s->auth->ca_file[0] || cert->cert_type != GIT_CERT_X509) {
        snprintf(s->why, sizeof(s->why),
                 "not trusted for %s (configure a CA file for the repository, or insecure)",
                 host ? host : "the server");
        s->cert_failed = 1;
        return GIT_ECERTIFICATE;
    }
    x = (const git_cert_x509 *)cert;
    if (remote_verify_ca(s, x->data, x->len, host ? host : "") < 0) {
        s->cert_failed = 1;
        return GIT_ECERTIFICATE;
    }
    return 0;
}

/* The pack a server sends is untrusted input too: stop it at the limits. */
static int remote_progress_cb(const git_indexer_progress *stats, void *payload)
{
    struct remote_session *s = payload;

    if (!s->limits)
        return 0;
    if (stats->total_objects > s->limits->max_objects)
        snprintf(s->why, sizeof(s->why), "the pack's %u objects are over the limit of %llu",
                 stats->total_objects, (unsigned long long)s->limits->max_objects);
    else if (stats->received_bytes > s->limits->max_bytes)
        snprintf(s->why, sizeof(s->why), "the pack is over the limit of %llu bytes",
                 (unsigned long long)s->limits->max_bytes);
    else
        return 0;
    s->too_large = 1;
    git_error_set_str(GIT_ERROR_INDEXER, s->why);
    return GIT_EUSER;
}

void remote_session_bind(struct remote_session *s, void *git_callbacks)
{
    git_remote_callbacks *cb = git_callbacks;

    cb->credentials = remote_cred_cb;
    cb->certificate_check = remote_cert_cb;
    cb->transfer_progress = remote_progress_cb;
    cb->payload = s;
}

int remote_session_fail(struct remote_session *s, const char *doing)
{
    char safe_url[512], msg[512];
    const git_error *e = git_error_last();

    remote_redact(s->url, safe_url, sizeof(safe_url));
    if (s->auth_failed)
        return err_set(ERR_AUTH, "%s: authentication failed%s", safe_url,
                       s->cred_calls > 1 || (s->auth && s->auth->password && s->auth->password[0])
                           ? ""
                           : " (no credentials configured for it: edgecd repo add)");
    if (s->cert_failed)
        return err_set(ERR_AUTH, "%s: server certificate refused: %s", safe_url, s->why);
    if (s->too_large)
        return err_set(ERR_TOOLARGE, "%s: %s: %s", safe_url, doing, s->why);
    remote_redact(e && e->message ? e->message : "unknown libgit2 error", msg, sizeof(msg));
    if (strstr(msg, "status code: 404") ||
        (e && e->klass == GIT_ERROR_REPOSITORY && !str_has_prefix(s->url, "http")))
        return err_set(ERR_NOTFOUND, "%s: repository not found (%s)", safe_url, msg);
    return err_set(ERR_IO, "%s: %s: %s", safe_url, doing, msg);
}
