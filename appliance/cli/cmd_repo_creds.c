/*
 * Repository credentials from the command line. The password or token is
 * read from stdin only (never argv, which other users can see), sealed
 * with core/seal.c bound to the URL, and never printed: `repo list` says
 * only whether there is one.
 */
#include "cli/cmd_repo_creds.h"

#include <getopt.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/seal.h"
#include "git/remote.h"
#include "storage/store.h"

#define REPO_CREDS_DEFAULT_DATA "/var/lib/edgecd"

static const char *repo_creds_data_default(void)
{
    return getenv("EDGECD_DATA") ? getenv("EDGECD_DATA") : REPO_CREDS_DEFAULT_DATA;
}

static int repo_creds_open(store **out, const char *data)
{
    char *db = xasprintf("%s/state.db", data);
    int rc = fs_mkdir_p(data, 0700);
    if (rc == 0)
        rc = store_open(out, db);
    free(db);
    return rc;
}

/* The secret from stdin: everything up to EOF, one trailing newline (or
 * CRLF) removed. ERR_INVALID if empty, ERR_TOOLARGE over the limit. */
static int repo_creds_read_secret(char **out)
{
    struct buf b = BUF_INIT;
    char chunk[512];
    size_t n;
    int rc = 0;

    *out = NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (b.len + n > SEAL_MAX_PLAIN + 2) {
            rc = err_set(ERR_TOOLARGE, "password: longer than %d bytes", SEAL_MAX_PLAIN);
            goto out;
        }
        buf_put(&b, chunk, n);
    }
    if (b.len && b.ptr[b.len - 1] == '\n')
        b.len--;
    if (b.len && b.ptr[b.len - 1] == '\r')
        b.len--;
    if (!b.len || memchr(b.ptr, '\0', b.len) || memchr(b.ptr, '\n', b.len)) {
        rc = err_set(ERR_INVALID, "password: stdin must hold one non-empty line");
        goto out;
    }
    *out = xstrndup(b.ptr, b.len);
out:
    if (b.ptr)
        mbedtls_platform_zeroize(b.ptr, b.len);
    buf_dispose(&b);
    return rc;
}

int repo_creds_add(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"username", required_argument, NULL, 'u'}, {"password-stdin", no_argument, NULL, 'p'},
        {"ca-file", required_argument, NULL, 'c'},  {"insecure", no_argument, NULL, 'k'},
        {"data", required_argument, NULL, 'd'},     {NULL, 0, NULL, 0}};
    const char *data = repo_creds_data_default(), *url, *user = "", *ca = NULL;
    int pw_stdin = 0, insecure = 0, c, rc = 1;
    char *secret = NULL, *sealed = NULL, *ca_abs = NULL, safe[512];
    unsigned char key[SEAL_KEY_LEN];
    enum remote_kind kind;
    struct store_repo r = {0};
    store *st = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'u')
            user = optarg;
        else if (c == 'p')
            pw_stdin = 1;
        else if (c == 'c')
            ca = optarg;
        else if (c == 'k')
            insecure = 1;
        else if (c == 'd')
            data = optarg;
        else
            return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: edgecd repo add URL [--username U] [--password-stdin] "
                        "[--ca-file F] [--insecure] [--data DIR]\n");
        return 2;
    }
    url = argv[optind];
    if (remote_kind(url, &kind) < 0)
        return cli_fail();
    if (kind != REMOTE_HTTP) {
        err_set(ERR_INVALID, "%s: credentials are for http:// and https:// URLs", url);
        return cli_fail();
    }
    remote_redact(url, safe, sizeof(safe));
    if (strcmp(safe, url) != 0) {
        err_set(ERR_INVALID,
                "%s: put the username in --username and the password on stdin, "
                "not in the URL",
                safe);
        return cli_fail();
    }
    if (ca) {
        ca_abs = realpath(ca, NULL);
        if (!ca_abs || access(ca_abs, R_OK) != 0) {
            err_set(ERR_NOTFOUND, "--ca-file %s: not a readable file", ca);
            goto out;
        }
    }
    if (pw_stdin && repo_creds_read_secret(&secret) < 0)
        goto out;
    if (secret && (seal_key_load(key, data) < 0 || seal_value(&sealed, key, secret, url) < 0))
        goto out;
    if (repo_creds_open(&st, data) < 0)
        goto out;
    r.url = (char *)url;
    r.username = (char *)user;
    r.password_sealed = sealed ? sealed : "";
    r.ca_file = ca_abs ? ca_abs : "";
    r.insecure = insecure;
    if (store_repo_put(st, &r) < 0)
        goto out;
    printf("credentials for %s stored%s\n", url, secret ? " (password sealed)" : "");
    rc = 0;
out:
    if (rc)
        cli_fail();
    mbedtls_platform_zeroize(key, sizeof(key));
    if (secret) {
        mbedtls_platform_zeroize(secret, strlen(secret));
        free(secret);
    }
    free(sealed);
    free(ca_abs);
    store_close(st);
    return rc;
}

/* Only --data DIR and no argument (list), or one URL (rm). */
static int repo_creds_args(int argc, char **argv, int want_url, const char **data)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    int c;

    *data = repo_creds_data_default();
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 'd')
            return -1;
        *data = optarg;
    }
    return argc - optind == want_url ? 0 : -1;
}

int repo_creds_list(int argc, char **argv)
{
    const char *data;
    struct store_repo *v = NULL;
    size_t n = 0;
    store *st = NULL;
    int rc = 1;

    if (repo_creds_args(argc, argv, 0, &data) < 0) {
        fprintf(stderr, "usage: edgecd repo list [--data DIR]\n");
        return 2;
    }
    if (repo_creds_open(&st, data) < 0 || store_repo_list(st, &v, &n) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("%-40s %-16s %-8s %-8s %s\n", "URL", "USERNAME", "PASSWORD", "INSECURE", "CA FILE");
    for (size_t i = 0; i < n; i++)
        printf("%-40s %-16s %-8s %-8s %s\n", v[i].url, v[i].username[0] ? v[i].username : "-",
               v[i].password_sealed[0] ? "yes" : "no", v[i].insecure ? "yes" : "no",
               v[i].ca_file[0] ? v[i].ca_file : "-");
    rc = 0;
out:
    store_repos_free(v, n);
    store_close(st);
    return rc;
}

int repo_creds_rm(int argc, char **argv)
{
    const char *data;
    store *st = NULL;
    int rc = 1;

    if (repo_creds_args(argc, argv, 1, &data) < 0) {
        fprintf(stderr, "usage: edgecd repo rm URL [--data DIR]\n");
        return 2;
    }
    if (repo_creds_open(&st, data) < 0 || store_repo_delete(st, argv[optind]) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("credentials for %s removed\n", argv[optind]);
    rc = 0;
out:
    store_close(st);
    return rc;
}
