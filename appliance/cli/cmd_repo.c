/*
 * `edgecd repo SUBCOMMAND`: work on the Git mirrors of a data directory
 * directly, without the server: importing a `git bundle` (from a USB
 * stick) into the mirror of a repository URL, so the appliance can deploy
 * that history with no network at all, and fetching a mirror now.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_repo_creds.h"
#include "core/err.h"
#include "core/mem.h"
#include "git/bundle.h"
#include "git/mirror.h"

#define REPO_DEFAULT_DATA "/var/lib/edgecd"

static int repo_import_bundle(int argc, char **argv)
{
    static const struct option longopts[] = {{"repo", required_argument, NULL, 'r'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"force", no_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
    const char *url = NULL,
               *data = getenv("EDGECD_DATA") ? getenv("EDGECD_DATA") : REPO_DEFAULT_DATA;
    int force = 0, c, rc = 1;
    char *mirrors;
    mirror *m = NULL;
    struct bundle_result res;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r')
            url = optarg;
        else if (c == 'd')
            data = optarg;
        else if (c == 'f')
            force = 1;
        else
            return 2;
    }
    if (!url || optind != argc - 1) {
        fprintf(stderr, "usage: edgecd repo import-bundle FILE --repo URL [--data DIR] "
                        "[--force]\n");
        return 2;
    }
    mirrors = xasprintf("%s/mirrors", data);
    if (mirror_global_init() < 0 || mirror_open(&m, mirrors, url) < 0 ||
        bundle_import(m, argv[optind], force, &res) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("imported a v%d bundle into the mirror of %s\n", res.version, url);
    for (size_t i = 0; i < res.n; i++) {
        const struct bundle_ref *r = &res.refs[i];
        if (!strcmp(r->name, "HEAD"))
            continue;
        if (!r->old[0])
            printf("  %s  (new) %.7s\n", r->name, r->now);
        else if (!strcmp(r->old, r->now))
            printf("  %s  %.7s (unchanged)\n", r->name, r->now);
        else
            printf("  %s  %.7s..%.7s\n", r->name, r->old, r->now);
    }
    bundle_result_dispose(&res);
    rc = 0;
out:
    mirror_free(m);
    mirror_global_shutdown();
    free(mirrors);
    return rc;
}

static int repo_fetch(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    const char *data = getenv("EDGECD_DATA") ? getenv("EDGECD_DATA") : REPO_DEFAULT_DATA;
    char *mirrors = NULL, sha[41];
    mirror *m = NULL;
    int c, rc = 1, downloaded = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 'd')
            return 2;
        data = optarg;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: edgecd repo fetch URL [--data DIR]\n");
        return 2;
    }
    mirrors = xasprintf("%s/mirrors", data);
    if (mirror_global_init() < 0 || mirror_open(&m, mirrors, argv[optind]) < 0 ||
        mirror_fetch_from(m, NULL, NULL, &downloaded) < 0 || mirror_resolve(m, "HEAD", sha) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("%s HEAD %s%s\n", argv[optind], sha,
           downloaded ? "" : " (refs unchanged, nothing downloaded)");
    rc = 0;
out:
    mirror_free(m);
    mirror_global_shutdown();
    free(mirrors);
    return rc;
}

static const struct cli_sub repo_subs[] = {
    {"import-bundle", "FILE --repo URL [--data DIR] [--force]",
     "import a git bundle into the mirror of URL", repo_import_bundle},
    {"fetch", "URL [--data DIR]", "fetch the mirror of URL now (anonymously) and print HEAD",
     repo_fetch},
    {"add", "URL [--username U] [--password-stdin] [--ca-file F] [--insecure] [--data DIR]",
     "store credentials for a URL or URL prefix (password/token read from stdin, sealed)",
     repo_creds_add},
    {"list", "[--data DIR]", "list stored credentials (never the secrets)", repo_creds_list},
    {"rm", "URL [--data DIR]", "remove the credentials of URL", repo_creds_rm},
};

static int cmd_repo_run(int argc, char **argv)
{
    return cli_dispatch(&cli_cmd_repo, repo_subs, sizeof(repo_subs) / sizeof(repo_subs[0]), argc,
                        argv);
}

const struct cli_cmd cli_cmd_repo = {
    "repo",
    "import-bundle FILE --repo URL [--data DIR] [--force] | fetch URL | add URL [options] | "
    "list | rm URL",
    "Work on the data directory's Git mirrors: import a git bundle (v2 or v3) into the mirror of "
    "a repository URL, fast-forward only unless --force; fetch a mirror now; add, list and "
    "remove the credentials used to fetch repository URLs.",
    cmd_repo_run,
};
