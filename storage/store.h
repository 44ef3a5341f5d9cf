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

/* Copy the whole database, as of one moment, into a new database file at
 * path (which must not exist, or be empty), with SQLite's online backup
 * API over a connection of its own: the copy is one read transaction, so
 * it is consistent, and under WAL it blocks neither this handle's writers
 * nor another process's. The store's lock is not held meanwhile. ERR_IO
 * (with SQLite's message), ERR_TIMEOUT if the database stayed locked.
 * Any thread. */
int store_snapshot(store *s, const char *path);

/* Applications: the manifest as JSON text. put creates or replaces and
 * writes nothing when unchanged. */
int store_app_put(store *s, const char *name, const char *manifest_json);
/* *out is a new string the caller frees. ERR_NOTFOUND. */
int store_app_get(store *s, const char *name, char **out_manifest_json);
/* *out_names: array of n new strings, sorted; free with store_names_free. */
int store_app_list(store *s, char ***out_names, size_t *out_n);
void store_names_free(char **names, size_t n);
/* Removes the app and its status, operation, history and events.
 * ERR_NOTFOUND. */
int store_app_delete(store *s, const char *name);

/* AppProjects: the manifest as JSON text, as for applications (put writes
 * nothing when unchanged; get ERR_NOTFOUND; list sorted). */
int store_project_put(store *s, const char *name, const char *manifest_json);
int store_project_get(store *s, const char *name, char **out_manifest_json);
int store_project_list(store *s, char ***out_names, size_t *out_n);
int store_project_delete(store *s, const char *name);

/* ApplicationSets: the manifest as JSON text, as for applications. Delete
 * takes the status below with it. */
int store_appset_put(store *s, const char *name, const char *manifest_json);
int store_appset_get(store *s, const char *name, char **out_manifest_json);
int store_appset_list(store *s, char ***out_names, size_t *out_n);
int store_appset_delete(store *s, const char *name);

/* The engine's record of an ApplicationSet's last evaluation, JSON text
 * the store keeps as it is. put writes only when the text changed (then
 * *changed_at is set here) and returns 1, else 0; ERR_NOTFOUND if the
 * appset is not stored. get: *out_status_json and *out_changed_at (may
 * be NULL) are new strings; ERR_NOTFOUND if never recorded. Any thread. */
int store_appset_status_put(store *s, const char *name, const char *status_json);
int store_appset_status_get(store *s, const char *name, char **out_status_json,
                            char **out_changed_at);

/* The result of the last reconcile of an application. */
struct store_resource {
    char *group; /* "" for core */
    char *version;
    char *kind;
    char *namespace_; /* "" for cluster-scoped */
    char *name;
    char *status;  /* "Synced", "OutOfSync", "Missing", "Pruned", "PruneSkipped", "Failed" */
    char *message; /* may be "" */
    /* Healthy, Progressing, Degraded, Suspended, Missing, Unknown, or ""
     * for kinds without health */
    char *health;
    char *health_message;
    char *hook; /* "" or the hook type: PreSync, Sync, PostSync, SyncFail */
    int wave;   /* argocd.argoproj.io/sync-wave */
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
    char *health;  /* the app's health, as a resource's; "" if not assessed */
    char *health_message;
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

/* A cluster added through the API (the site config's are not stored). */
struct store_cluster {
    char *name;
    char *server;            /* the API server URL its kubeconfig names */
    char *context;           /* the kubeconfig context to use; "" = current */
    char *kubeconfig_sealed; /* core/seal.c text bound to "cluster:" + name */
    char *created_at;        /* RFC 3339, set by the store */
};

/* Add c. ERR_CONFLICT if a stored cluster has its name or its server,
 * ERR_INVALID for an empty name, server or kubeconfig. */
int store_cluster_add(store *s, const struct store_cluster *c);
/* ERR_NOTFOUND if no stored cluster has that name. */
int store_cluster_delete(store *s, const char *name);
/* All stored clusters by name. *out is caller-owned: store_clusters_free. */
int store_cluster_list(store *s, struct store_cluster **out, size_t *out_n);
void store_clusters_free(struct store_cluster *v, size_t n);

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

/* ---- Resource health and app health (added to the status above) ----
 * struct store_resource gains:  char *health;  (Healthy, Progressing,
 * Degraded, Suspended, Missing, Unknown, or "" for kinds without health)
 *                               char *health_message;
 *                               char *hook;    ("" or the hook type:
 *                               PreSync, Sync, PostSync, SyncFail)
 *                               int wave;      (argocd.argoproj.io/sync-wave)
 * struct store_app_status gains: char *health; char *health_message;
 * All compared by store_app_status_put's "write only when changed". */

/* ---- Pauses: automated sync held back while something else writes an
 * app's objects (a restore). Keyed by the app's label value (what its
 * objects carry in edgecd.io/app), so a writer that only sees objects can
 * set one; until_unix bounds it when the writer dies. Any thread, any
 * process sharing state.db. ---- */
/* Set or replace the pause of label. ERR_INVALID for an empty label. */
int store_pause_set(store *s, const char *label, const char *reason, long long until_unix);
/* Remove it; no error when there is none. */
int store_pause_clear(store *s, const char *label);
/* The reason (new string) of the pause of label in force at now_unix;
 * ERR_NOTFOUND when there is none or it ran out. */
int store_pause_get(store *s, const char *label, long long now_unix, char **out_reason);

/* ---- Backup schedules (backup/schedule.h reads the JSON): the spec the
 * operator writes (CLI) and the status the scheduler writes (serve), kept
 * apart so neither overwrites the other. Any thread, any process sharing
 * state.db. ---- */
struct store_schedule {
    char *name;
    char *spec_json;   /* JSON text */
    char *status_json; /* JSON text; "{}" until the scheduler writes one */
    char *created_at;  /* RFC 3339, set by the store */
    char *updated_at;
};
/* Add a schedule. ERR_CONFLICT if name exists, ERR_INVALID for no name. */
int store_schedule_create(store *s, const char *name, const char *spec_json);
/* Replace the spec (status kept). ERR_NOTFOUND. */
int store_schedule_spec_put(store *s, const char *name, const char *spec_json);
/* Replace the status; writes only when it changed (returns 1, else 0).
 * ERR_NOTFOUND (deleted meanwhile). */
int store_schedule_status_put(store *s, const char *name, const char *status_json);
/* out is caller-owned: store_schedule_dispose. ERR_NOTFOUND. */
int store_schedule_get(store *s, const char *name, struct store_schedule *out);
/* All schedules by name; *out is caller-owned: store_schedules_free. */
int store_schedule_list(store *s, struct store_schedule **out, size_t *out_n);
/* ERR_NOTFOUND. */
int store_schedule_delete(store *s, const char *name);
void store_schedule_dispose(struct store_schedule *sc);
void store_schedules_free(struct store_schedule *v, size_t n);

/* ---- Backup and restore runs: one row per (kind, name) while it runs
 * and after, with Velero's progress counters, so `backup describe` or the
 * API can show one that has no record in its location yet. Finished rows
 * beyond the newest STORE_RUNS_KEPT per kind are dropped. ---- */
#define STORE_RUNS_KEPT 50
struct store_run {
    char *kind;     /* "Backup" or "Restore" */
    char *name;     /* the backup's or restore's name */
    char *location; /* where it is written or read */
    char *phase;    /* InProgress, Completed, PartiallyFailed, Failed */
    long long total_items;
    long long items_done; /* itemsBackedUp or itemsRestored */
    long long pid;        /* the process running it */
    char *message;        /* "" or why it failed */
    char *started_at;     /* RFC 3339, set by the store when the row is new */
    char *updated_at;
};
/* Create or update the row of (r->kind, r->name); a new InProgress row
 * replaces an ended one of the same name. ERR_INVALID for no kind or
 * name. r stays the caller's. */
int store_run_put(store *s, const struct store_run *r);
/* out is caller-owned: store_run_dispose. ERR_NOTFOUND. */
int store_run_get(store *s, const char *kind, const char *name, struct store_run *out);
/* Mark every InProgress row whose process is gone as Failed with
 * message: gone(ctx, pid) says 1 for a pid that no longer runs this run.
 * *out_n (may be NULL): how many. */
int store_run_fail_orphans(store *s, int (*gone)(void *ctx, long long pid), void *ctx,
                           const char *message, int *out_n);
void store_run_dispose(struct store_run *r);

/* ---- Operations: one per app, the running or the last one ----
 * The engine keeps the whole state of a sync operation as JSON text
 * (phases, waves, per-task results: the store does not look inside) and the
 * desired objects it applies as JSON text, which the store keeps
 * compressed (zlib, already linked through libgit2). */
struct store_operation {
    char *app;
    long long id;         /* increasing per app, from 1 */
    char *phase;          /* Running, Terminating, Succeeded, Failed, Error */
    char *state_json;     /* the engine's JSON text */
    char *manifests_json; /* the objects to apply, a JSON array text; may be
                           * NULL when only reading the state (see get) */
    char *updated_at;     /* RFC 3339, set by the store */
};
/* Create or replace the app's operation (op->id > previous id starts a new
 * one; the same id updates it). Writes nothing when phase and state are
 * equal to what is stored and manifests_json is NULL or equal. A NULL
 * manifests_json keeps the stored manifests. ERR_NOTFOUND if the app is
 * not stored. Returns 1 if written, 0 if unchanged.
 * Also: a new operation (a greater id) given NULL manifests stores "" (the
 * previous operation's manifests are not its own); ERR_CONFLICT for an id
 * below the stored one (a stale writer); ERR_INVALID for no app, an id
 * below 1 or a phase not in the list above; ERR_TOOLARGE for manifests
 * over STORE_MANIFESTS_MAX. op stays the caller's; updated_at is ignored.
 * Any thread. */
int store_operation_put(store *s, const struct store_operation *op);
/* with_manifests 0: manifests_json stays NULL (cheap). ERR_NOTFOUND.
 * out is caller-owned: store_operation_dispose. ERR_INVALID if the stored
 * manifests do not decompress (a damaged file). Any thread. */
int store_operation_get(store *s, const char *app, int with_manifests, struct store_operation *out);
void store_operation_dispose(struct store_operation *op);
/* Names of apps whose operation phase is Running or Terminating (for
 * resuming after a restart). Sorted; free with store_names_free. */
int store_operation_running(store *s, char ***out_names, size_t *out_n);

/* The largest manifests text an operation or history entry holds (bytes,
 * uncompressed). */
#define STORE_MANIFESTS_MAX (64u << 20)

/* ---- History: one entry per successful sync, newest last, at most
 * `limit` kept per app (Argo CD's revisionHistoryLimit, default 10) ---- */
struct store_history {
    long long id;         /* increasing per app (Argo CD's history id) */
    char *revision;       /* commit(s) */
    char *source_json;    /* the app's spec.source / spec.sources at the time */
    char *started_at;     /* RFC 3339 */
    char *deployed_at;    /* RFC 3339 */
    char *initiated_by;   /* "automated" or "user:NAME" */
    char *manifests_json; /* NULL in lists; set by store_history_get */
};
/* Append (h->id is assigned and returned in *out_id) and drop the oldest
 * beyond limit (limit <= 0: 10). ERR_NOTFOUND if the app is not stored.
 * Also: NULL strings count as "" (manifests too); out_id may be NULL;
 * ERR_TOOLARGE as for operations. One transaction. Any thread. */
int store_history_add(store *s, const char *app, const struct store_history *h, int limit,
                      long long *out_id);
/* All entries of app, oldest first, without manifests. *out is
 * caller-owned (store_history_free); an unknown app has none. */
int store_history_list(store *s, const char *app, struct store_history **out, size_t *out_n);
/* One entry with its manifests. ERR_NOTFOUND. ERR_INVALID if the stored
 * manifests do not decompress. out is caller-owned: store_history_dispose. */
int store_history_get(store *s, const char *app, long long id, struct store_history *out);
void store_history_dispose(struct store_history *h);
void store_history_free(struct store_history *v, size_t n);

/* ---- Events: Kubernetes-style, kept with a size bound ---- */
struct store_event {
    long long id; /* increasing over the whole store */
    char *app;
    char *time;   /* RFC 3339 */
    char *type;   /* Normal or Warning */
    char *reason; /* OperationStarted, ResourceUpdated, ... (CamelCase) */
    char *message;
};
/* Append; then keep at most max_events rows in the store (the oldest go
 * first; max_events <= 0: 10,000) and at most 1,000 per app.
 * Also: time is set here; a message longer than STORE_EVENT_MESSAGE_MAX is
 * cut there (as Kubernetes' event recorder does). ERR_NOTFOUND if the app
 * is not stored, ERR_INVALID for no app or reason, or a type other than
 * Normal or Warning. One transaction. Any thread. */
int store_event_add(store *s, const char *app, const char *type, const char *reason,
                    const char *message, int max_events);
/* The newest `limit` events of app (NULL: of all apps), oldest first.
 * limit 0: all that are kept. *out is caller-owned: store_events_free. */
int store_event_list(store *s, const char *app, size_t limit, struct store_event **out,
                     size_t *out_n);
void store_events_free(struct store_event *v, size_t n);

/* Bytes of an event message that are kept. */
#define STORE_EVENT_MESSAGE_MAX 1024

/* ---- Change notification, for the API's event stream ----
 * A generation counter in memory (nothing is written): every write that
 * changes an application (its manifest, status, operation, or its
 * deletion) through this handle bumps it and records the app's name with
 * the new value, so a reader polling it learns what changed without
 * reading the database. Starts at 0 at store_open. Any thread. */
unsigned long long store_app_generation(store *s);
/* The apps changed after generation since (sorted names, new array:
 * store_names_free; deleted apps included) and the current generation in
 * *out_now. */
int store_app_changes(store *s, unsigned long long since, char ***out_names, size_t *out_n,
                      unsigned long long *out_now);
/* ---- Accounts, sessions and API tokens (storage/accounts.c) ----
 * Local users of the UI and API. The store keeps what it is given: the
 * password hash is made by core/password.h, session ids and tokens arrive
 * as SHA-256 hex (the secrets themselves never reach the store). Deleting
 * an account deletes its sessions and tokens. Any thread, any process
 * sharing state.db. */
struct store_account {
    char *name;
    char *hash;       /* "$pbkdf2-sha256$..." */
    int enabled;      /* 0: may not log in, its sessions and tokens do not work */
    char *roles;      /* "" or a comma list of "role:..." */
    char *created_at; /* RFC 3339, set by the store */
};
/* Add a new account. ERR_CONFLICT if the name is taken, ERR_INVALID for
 * an empty name or hash. a stays the caller's. */
int store_account_add(store *s, const struct store_account *a);
/* ERR_NOTFOUND. out is caller-owned: store_account_dispose. */
int store_account_get(store *s, const char *name, struct store_account *out);
/* All accounts by name. *out is caller-owned: store_accounts_free. */
int store_account_list(store *s, struct store_account **out, size_t *out_n);
/* Replace the hash; with keep_session_sha (SHA-256 hex, or NULL) every
 * session of the account but that one is deleted in the same
 * transaction. ERR_NOTFOUND. */
int store_account_set_hash(store *s, const char *name, const char *hash,
                           const char *keep_session_sha);
/* Enable or disable; a disabled account's sessions and tokens stop
 * working (they are kept, to work again once it is enabled, unless they
 * expire). ERR_NOTFOUND. */
int store_account_set_enabled(store *s, const char *name, int enabled);
/* ERR_NOTFOUND. */
int store_account_delete(store *s, const char *name);
void store_account_dispose(struct store_account *a);
void store_accounts_free(struct store_account *v, size_t n);

struct store_session {
    char *id_sha; /* SHA-256 hex of the cookie's token */
    char *account;
    char *csrf;
    long long created_unix, seen_unix;
};
/* ERR_NOTFOUND if the account is not stored. */
int store_session_add(store *s, const struct store_session *ss);
/* ERR_NOTFOUND. out is caller-owned: store_session_dispose. */
int store_session_get(store *s, const char *id_sha, struct store_session *out);
/* Record the time of use (the caller rate-limits: each call writes). */
int store_session_touch(store *s, const char *id_sha, long long seen_unix);
/* No error when there is none. */
int store_session_delete(store *s, const char *id_sha);
/* Delete the sessions created before created_before or last seen before
 * seen_before; *out_n (may be NULL) gets how many. */
int store_session_expire(store *s, long long created_before, long long seen_before, size_t *out_n);
void store_session_dispose(struct store_session *ss);

struct store_token {
    char *account;
    char *id;  /* unique per account */
    char *sha; /* SHA-256 hex of the token; "" in lists */
    char *role;
    long long issued_unix;
    long long expires_unix; /* 0: never */
};
/* ERR_CONFLICT if the account has a token with that id, ERR_NOTFOUND if
 * the account is not stored, ERR_INVALID for an empty id or sha. */
int store_token_add(store *s, const struct store_token *t);
/* The token whose SHA-256 hex is sha. ERR_NOTFOUND. out is caller-owned:
 * store_token_dispose. */
int store_token_find(store *s, const char *sha, struct store_token *out);
/* The tokens of account (NULL: of all), by account and id, sha "". */
int store_token_list(store *s, const char *account, struct store_token **out, size_t *out_n);
/* ERR_NOTFOUND. */
int store_token_delete(store *s, const char *account, const char *id);
void store_token_dispose(struct store_token *t);
void store_tokens_free(struct store_token *v, size_t n);

#endif
