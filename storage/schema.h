/*
 * The schema as an ordered list of migrations (internal to storage/).
 * Migration i (0-based) brings PRAGMA user_version from i to i + 1; the
 * store runs each in its own transaction together with the version bump, so
 * a crash mid-upgrade leaves the database at the last whole version.
 * Migrations are only ever appended: a released one is never edited.
 */
#ifndef EDGECD_STORAGE_SCHEMA_H
#define EDGECD_STORAGE_SCHEMA_H

#include <stddef.h>

/* The SQL of each migration, oldest first; schema_count entries. */
extern const char *const schema_migrations[];
extern const size_t schema_count;

#endif
