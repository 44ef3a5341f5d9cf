/*
 * The mirror store: one bare Git repository per source URL under the data
 * directory's mirrors/ folder, fetched with libgit2. Files are read
 * straight from the object database at a commit (git/tree.h); nothing is
 * ever checked out to disk.
 *
 * Call mirror_global_init() once before any other function (any thread
 * afterwards; one mirror handle is used by one thread at a time).
 */
#ifndef EDGECD_GIT_MIRROR_H
#define EDGECD_GIT_MIRROR_H

#include <stddef.h>
#include <stdint.h>

typedef struct mirror mirror;

/* Initialise libgit2 once per process. 0 or ERR_GENERIC. */
int mirror_global_init(void);
void mirror_global_shutdown(void);

/* "libgit2 1.5.1" into out. */
void mirror_lib_version(char *out, size_t len);

/* Open the mirror of url under mirrors_dir, creating an empty bare
 * repository named after a hash of the URL on first use. Any URL names a
 * mirror (a bundle can fill one); mirror_fetch_from says which URLs
 * can be fetched. */
int mirror_open(mirror **out, const char *mirrors_dir, const char *url);
void mirror_free(mirror *m);

/* How to reach a remote: all fields borrowed, any may be NULL/0. */
struct mirror_auth {
    const char *username; /* "" or NULL with a password: "git" is sent (tokens) */
    const char *password; /* password or token */
    const char *ca_file;  /* PEM bundle trusted for this server, besides the system's */
    int insecure;         /* accept any server certificate */
};

/* Fetch every branch and tag from the mirror's URL into the mirror,
 * removing refs the remote no longer has: mirror_fetch_from(m, NULL,
 * NULL, NULL). */
int mirror_fetch(mirror *m);

/* Fetch from url (NULL = the mirror's own URL; a rewrite rule may name a
 * different place holding the same history) with auth (NULL = anonymous).
 * The remote's refs are listed first; when every branch and tag already
 * matches the mirror's and none was removed, nothing is downloaded and
 * *out_downloaded (if not NULL) is 0, else 1. Local paths, file://,
 * http:// and https:// URLs are fetched. A local source's packs are
 * copied as they are and checked as they are indexed (see git/localfetch.h)
 * instead of being packed again. Errors name the URL without userinfo:
 * ERR_NOTFOUND if the repository does not exist, ERR_AUTH when the server
 * refuses the credentials (asked once, never again) or its certificate is
 * not trusted, ERR_UNSUPPORTED for ssh and other schemes, ERR_TOOLARGE
 * over the pack limits, ERR_INVALID for a local source edgecd refuses to
 * read (symbolic links, alternates) or a damaged pack, ERR_IO for other
 * failures. A failed fetch leaves the mirror's refs as they were. */
int mirror_fetch_from(mirror *m, const char *url, const struct mirror_auth *auth,
                      int *out_downloaded);

/* Connect to url and list its refs without a mirror (a repository's
 * "test connection"); *out_refs: how many branches and tags it has.
 * Errors as for mirror_fetch_from. Any thread. */
int mirror_ls_remote(const char *url, const struct mirror_auth *auth, size_t *out_refs);

/* What one fetch or bundle import may bring into a mirror: the packs are
 * untrusted input. Over a limit the fetch or import stops with
 * ERR_TOOLARGE naming it, and the mirror's refs stay as they were. */
struct mirror_pack_limits {
    uint64_t max_bytes;   /* pack bytes received or copied (and loose object files) */
    uint64_t max_objects; /* objects in them */
};
#define MIRROR_PACK_LIMITS_INIT                                                                    \
    {                                                                                              \
        1ull << 30, 1000000                                                                        \
    }

/* Replace m's limits (MIRROR_PACK_LIMITS_INIT when opened). */
void mirror_set_pack_limits(mirror *m, const struct mirror_pack_limits *limits);

/* How the last mirror_fetch_from on a handle got its objects. */
struct mirror_fetch_stats {
    int local_copy;        /* 1: the source's own packs were copied (local sources) */
    size_t packs;          /* source packs copied as they are */
    uint64_t pack_objects; /* objects in them */
    size_t loose;          /* the source's loose objects packed and copied */
    uint64_t bytes;        /* bytes indexed by the copy */
    uint64_t received;     /* objects libgit2's own fetch transferred */
};

/* The stats of m's last mirror_fetch_from (zeros before any, or after one
 * that downloaded nothing). */
void mirror_last_fetch_stats(const mirror *m, struct mirror_fetch_stats *out);

/* 1 if the mirror holds at least one branch or tag (a fetch or a bundle
 * filled it), else 0. */
int mirror_has_refs(mirror *m);

/* Resolve rev (branch, tag, full or short SHA, "HEAD", "" = HEAD) to a
 * commit id (40 hex + NUL). ERR_NOTFOUND naming rev otherwise. */
int mirror_resolve(mirror *m, const char *rev, char out_sha[41]);

struct mirror_limits {
    size_t max_file_bytes;  /* one blob */
    size_t max_files;       /* files read in one tree session, and entries per folder */
    size_t max_total_bytes; /* all blobs read in one tree session */
};
#define MIRROR_LIMITS_INIT                                                                         \
    {                                                                                              \
        4u << 20, 5000, 64u << 20                                                                  \
    }

struct mirror_file {
    char *path; /* relative to the repository root, '/'-separated */
    char *data; /* NUL-terminated for convenience; len excludes it */
    size_t len;
};

struct mirror_files {
    struct mirror_file *v;
    size_t n;
};

/* Release the files of a set read through a mirror_tree or render_fs
 * (render_collect) and empty it. */
void mirror_files_dispose(struct mirror_files *files);

#endif
