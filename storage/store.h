/*
 * The store: all of edgecd's state in one SQLite database (WAL,
 * synchronous=FULL, schema version in PRAGMA user_version, migrations
 * applied in order at open). Nothing outside storage/ writes SQL. Writes
 * happen only when something changed, to spare flash storage.
 *
 * A store handle may be used from several threads at once (the engine
 * writes while HTTP handlers read); calls are serialised inside.
 */
#ifndef EDGECD_STORAGE_STORE_H
#define EDGECD_STORAGE_STORE_H

#include <stddef.h>

typedef struct store store;

/* Open or create the database at path and migrate it to the current
 * schema. ERR_IO if it cannot be opened, ERR_INVALID if it was written by a
 * newer edgecd (user_version above ours). */
int store_open(store **out, const char *path);
void store_close(store *s);

/* The schema version this build writes. */
int store_schema_version(void);

/* "SQLite 3.40.1" into out. */
void store_lib_version(char *out, size_t len);

/* Check the database file and its references (PRAGMA integrity_check and
 * foreign_key_check): 0 if sound, ERR_INVALID naming the first problem,
 * ERR_IO if it cannot be read. Reads the whole file: for tests, a doctor
 * command or a self-backup, not for every pass. Any thread. */
int store_integrity_check(store *s);

/* Applications: the manifest as JSON text. put creates or replaces and
 * writes nothing when unchanged. */
int store_app_put(store *s, const char *name, const char *manifest_json);
/* *out is a new string the caller frees. ERR_NOTFOUND. */
int store_app_get(store *s, const char *name, char **out_manifest_json);
/* *out_names: array of n new strings, sorted; free with store_names_free. */
int store_app_list(store *s, char ***out_names, size_t *out_n);
void store_names_free(char **names, size_t n);
/* Removes the app and its status. ERR_NOTFOUND. */
int store_app_delete(store *s, const char *name);

/* The result of the last reconcile of an application. */
struct store_resource {
    char *group; /* "" for core */
    char *version;
    char *kind;
    char *namespace_; /* "" for cluster-scoped */
    char *name;
    char *status;  /* "Synced", "OutOfSync", "Missing", "Pruned", "PruneSkipped", "Failed" */
    char *message; /* may be "" */
};

struct store_app_status {
    char *name;
    char *sync_status; /* "Synced", "OutOfSync", "Unknown" */
    char *revision;    /* commit compared/applied; "" if never fetched */
    char *last_error;  /* "" when the last pass succeeded */
    char *synced_at;   /* RFC 3339 of the last successful sync, or "" */
    char *changed_at;  /* RFC 3339 of the last change to this record */
    struct store_resource *resources;
    size_t n_resources;
    char *message; /* "" or a note on the pass (fetched from upstream, ...) */
};

/* Credentials for a repository URL or URL prefix (Argo CD's credential
 * template): the longest stored prefix of a URL applies to it. */
struct store_repo {
    char *url;
    char *username;        /* "" = none */
    char *password_sealed; /* core/seal.c text bound to url; "" = none */
    char *ca_file;         /* PEM bundle path; "" = none */
    int insecure;
};

/* Add or replace the entry for r->url. ERR_INVALID for an empty URL. */
int store_repo_put(store *s, const struct store_repo *r);
/* ERR_NOTFOUND if url has no entry. */
int store_repo_delete(store *s, const char *url);
/* All entries, by URL. *out is caller-owned: store_repos_free. */
int store_repo_list(store *s, struct store_repo **out, size_t *out_n);
/* The entry whose url is the longest prefix of url. ERR_NOTFOUND if none.
 * out is caller-owned: store_repo_dispose. */
int store_repo_match(store *s, const char *url, struct store_repo *out);
void store_repo_dispose(struct store_repo *r);
void store_repos_free(struct store_repo *v, size_t n);

/* Replace the status and resources of st->name in one transaction;
 * changed_at is set here, and nothing is written when everything else is
 * equal to what is stored. Returns 1 if written, 0 if unchanged.
 * ERR_NOTFOUND if the application is not stored, ERR_INVALID if a resource
 * (group, kind, namespace, name) is listed twice; NULL strings count as "".
 * Resources are read back in the order given. st stays the caller's. */
int store_app_status_put(store *s, const struct store_app_status *st);
/* Fill out (caller-owned; dispose after). ERR_NOTFOUND if never stored. */
int store_app_status_get(store *s, const char *name, struct store_app_status *out);
void store_app_status_dispose(struct store_app_status *st);

#endif
