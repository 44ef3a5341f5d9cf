/*
 * The schema of state.db, one migration per entry. Every column is NOT NULL
 * with "" for "none" so that the store's compare-before-write never has to
 * treat NULL and "" as different values. Resources keep the order the
 * engine reported them in (seq), which is sync-wave order and what an
 * operator expects to read; their key is the one Kubernetes uses.
 */
#include "storage/schema.h"

const char *const schema_migrations[] = {
    /* 1: applications, their last reconcile, and its resources. */
    "CREATE TABLE apps ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  manifest TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");"
    "CREATE TABLE app_status ("
    "  name TEXT PRIMARY KEY NOT NULL REFERENCES apps(name) ON DELETE CASCADE,"
    "  sync_status TEXT NOT NULL,"
    "  revision TEXT NOT NULL,"
    "  last_error TEXT NOT NULL,"
    "  synced_at TEXT NOT NULL,"
    "  changed_at TEXT NOT NULL"
    ");"
    "CREATE TABLE app_resources ("
    "  app TEXT NOT NULL REFERENCES app_status(name) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  grp TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  PRIMARY KEY (app, grp, kind, namespace, name)"
    ");",
    /* 2: credentials per repository URL or URL prefix (password sealed
     * with core/seal.c, "" = none), and a note on where the last pass
     * fetched from when it was not the usual place. */
    "CREATE TABLE repo_creds ("
    "  url TEXT PRIMARY KEY NOT NULL,"
    "  username TEXT NOT NULL,"
    "  password_sealed TEXT NOT NULL,"
    "  ca_file TEXT NOT NULL,"
    "  insecure INTEGER NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");"
    "ALTER TABLE app_status ADD COLUMN message TEXT NOT NULL DEFAULT '';",
    /* 3: health of apps and resources, hooks and waves; the sync
     * operation of each app, the history of its syncs, and events.
     * Manifests are zlib text with its length (ops.c). An operation's
     * manifests sit in a table of their own: the engine rewrites the
     * operation's state at every step, and SQLite rewrites a whole row,
     * blob and all, when any column of it changes. Event ids are
     * AUTOINCREMENT so they never go back, even when the table empties. */
    "ALTER TABLE app_status ADD COLUMN health TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE app_status ADD COLUMN health_message TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE app_resources ADD COLUMN health TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE app_resources ADD COLUMN health_message TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE app_resources ADD COLUMN hook TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE app_resources ADD COLUMN wave INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE operations ("
    "  app TEXT PRIMARY KEY NOT NULL REFERENCES apps(name) ON DELETE CASCADE,"
    "  id INTEGER NOT NULL,"
    "  phase TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");"
    "CREATE TABLE operation_manifests ("
    "  app TEXT PRIMARY KEY NOT NULL REFERENCES operations(app) ON DELETE CASCADE,"
    "  size INTEGER NOT NULL,"
    "  data BLOB NOT NULL"
    ");"
    "CREATE TABLE history ("
    "  app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,"
    "  id INTEGER NOT NULL,"
    "  revision TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  started_at TEXT NOT NULL,"
    "  deployed_at TEXT NOT NULL,"
    "  initiated_by TEXT NOT NULL,"
    "  manifests_size INTEGER NOT NULL,"
    "  manifests BLOB NOT NULL,"
    "  PRIMARY KEY (app, id)"
    ");"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,"
    "  time TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  message TEXT NOT NULL"
    ");"
    "CREATE INDEX events_app ON events (app, id);",
    /* 4: AppProjects, registered from the site config or rendered by an
     * app (App of Apps), as JSON text. */
    "CREATE TABLE projects ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  manifest TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");",
    /* 5: ApplicationSets, registered from the site config or rendered by
     * an app, and the engine's record of their last evaluation (JSON text
     * the store does not look inside: conditions, generated apps). */
    "CREATE TABLE appsets ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  manifest TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");"
    "CREATE TABLE appset_status ("
    "  name TEXT PRIMARY KEY NOT NULL REFERENCES appsets(name) ON DELETE CASCADE,"
    "  status TEXT NOT NULL,"
    "  changed_at TEXT NOT NULL"
    ");",
    /* 6: automated sync held back per app label value while something
     * else writes the app's objects (a restore), until a time (Unix
     * seconds) so that a writer killed mid-way does not hold it forever. */
    "CREATE TABLE pauses ("
    "  label TEXT PRIMARY KEY NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  until_unix INTEGER NOT NULL"
    ");",
    /* 7: local accounts (a PBKDF2 hash, core/password.h; roles a comma
     * list of "role:..."), their browser sessions and their API tokens.
     * Session ids and tokens are kept only as SHA-256 hex, so the file
     * (or a backup of it) hands out no credential; times are Unix
     * seconds. The CSRF token is not a credential on its own (it is sent
     * with the cookie, never instead of it) and is kept as is. */
    "CREATE TABLE accounts ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  roles TEXT NOT NULL,"
    "  created_at TEXT NOT NULL"
    ");"
    "CREATE TABLE sessions ("
    "  id_sha TEXT PRIMARY KEY NOT NULL,"
    "  account TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,"
    "  csrf TEXT NOT NULL,"
    "  created_unix INTEGER NOT NULL,"
    "  seen_unix INTEGER NOT NULL"
    ");"
    "CREATE INDEX sessions_account ON sessions (account);"
    "CREATE TABLE tokens ("
    "  account TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,"
    "  id TEXT NOT NULL,"
    "  sha TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  issued_unix INTEGER NOT NULL,"
    "  expires_unix INTEGER NOT NULL,"
    "  PRIMARY KEY (account, id)"
    ");",
    /* 8: backup schedules (Velero's Schedule: the operator's spec and the
     * scheduler's status, each JSON text in its own column so the CLI
     * editing one and `edgecd serve` writing the other never undo each
     * other), and the backups and restores running or recently ended,
     * with their progress, so another process (the CLI, the API) can see
     * one that has no record in its location yet. */
    "CREATE TABLE schedules ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");"
    "CREATE TABLE backup_runs ("
    "  kind TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  location TEXT NOT NULL,"
    "  phase TEXT NOT NULL,"
    "  total_items INTEGER NOT NULL,"
    "  items_done INTEGER NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  message TEXT NOT NULL,"
    "  started_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  PRIMARY KEY (kind, name)"
    ");",
    /* 9: clusters added through the API (those of the site config are
     * not here): the kubeconfig as uploaded, sealed with core/seal.c and
     * bound to the cluster's name; its server, unique like the name,
     * because an Application may pick its cluster by either. */
    "CREATE TABLE clusters ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  server TEXT NOT NULL UNIQUE,"
    "  context TEXT NOT NULL,"
    "  kubeconfig_sealed TEXT NOT NULL,"
    "  created_at TEXT NOT NULL"
    ");",
};

const size_t schema_count = sizeof(schema_migrations) / sizeof(schema_migrations[0]);
