/*
 * Every route the server answers, in one table. The dispatcher matches
 * requests against it in order; the OpenAPI document and the security
 * tests (every SERVER_AUTH_USER route answers 401 without credentials)
 * are generated from it, so a route cannot be added without being
 * described and covered.
 */
#include "server/internal.h"

const struct server_route server_routes[] = {
    {"GET", "/healthz", SERVER_AUTH_NONE, NULL, NULL, server_get_healthz, "liveness"},
    {"GET", "/api/v1/applications", SERVER_AUTH_USER, "applications", "get", server_get_apps,
     "list applications"},
    {"GET", "/api/v1/applications/*", SERVER_AUTH_USER, "applications", "get", server_get_app,
     "get an application"},
    {"DELETE", "/api/v1/applications/*", SERVER_AUTH_USER, "applications", "delete",
     server_delete_app, "delete an application (?cascade=false keeps its resources)"},
    {"GET", "/api/v1/applications/*/diff", SERVER_AUTH_USER, "applications", "get", server_get_diff,
     "the application's diff, desired against live"},
    {"POST", "/api/v1/applications/*/sync", SERVER_AUTH_USER, "applications", "sync",
     server_post_sync, "start a sync operation"},
    {"DELETE", "/api/v1/applications/*/operation", SERVER_AUTH_USER, "applications", "sync",
     server_delete_operation, "terminate the running operation"},
    {"POST", "/api/v1/applications/*/rollback", SERVER_AUTH_USER, "applications", "sync",
     server_post_rollback, "sync to the revision of a history entry"},
    {"GET", "/api/v1/applications/*/history", SERVER_AUTH_USER, "applications", "get",
     server_get_history, "the application's sync history"},
    {"GET", "/api/v1/applications/*/events", SERVER_AUTH_USER, "applications", "get",
     server_get_events, "the application's events"},
    {"GET", "/api/v1/applicationsets", SERVER_AUTH_USER, "applicationsets", "get",
     server_get_appsets, "list ApplicationSets"},
    {"GET", "/api/v1/applicationsets/*", SERVER_AUTH_USER, "applicationsets", "get",
     server_get_appset, "get an ApplicationSet"},
    {"GET", "/api/v1/backups", SERVER_AUTH_USER, "backups", "get", server_get_backups,
     "list backups (?location=)"},
    {"POST", "/api/v1/backups", SERVER_AUTH_USER, "backups", "create", server_post_backup,
     "start a backup (Velero's Backup: metadata.name, spec)"},
    {"GET", "/api/v1/backups/*", SERVER_AUTH_USER, "backups", "get", server_get_backup,
     "get a backup, with its progress while it runs"},
    {"DELETE", "/api/v1/backups/*", SERVER_AUTH_USER, "backups", "delete", server_delete_backup,
     "delete a backup"},
    {"GET", "/api/v1/restores", SERVER_AUTH_USER, "backups", "get", server_get_restores,
     "list restores"},
    {"POST", "/api/v1/restores", SERVER_AUTH_USER, "backups", "create", server_post_restore,
     "start a restore (Velero's Restore: metadata.name, spec.backupName, ...)"},
    {"GET", "/api/v1/restores/*", SERVER_AUTH_USER, "backups", "get", server_get_restore,
     "get a restore, with its progress while it runs"},
    {"GET", "/api/v1/schedules", SERVER_AUTH_USER, "backups", "get", server_get_schedules,
     "list backup schedules"},
    {"POST", "/api/v1/schedules", SERVER_AUTH_USER, "backups", "create", server_post_schedule,
     "add a backup schedule (metadata.name, spec.schedule, spec.template, spec.keep)"},
    {"GET", "/api/v1/schedules/*", SERVER_AUTH_USER, "backups", "get", server_get_schedule,
     "get a backup schedule with its status"},
    {"DELETE", "/api/v1/schedules/*", SERVER_AUTH_USER, "backups", "delete", server_delete_schedule,
     "delete a backup schedule (not its backups)"},
    {"POST", "/api/v1/schedules/*/pause", SERVER_AUTH_USER, "backups", "update",
     server_post_schedule_pause, "pause a backup schedule"},
    {"POST", "/api/v1/schedules/*/unpause", SERVER_AUTH_USER, "backups", "update",
     server_post_schedule_unpause, "resume a backup schedule"},
    {"POST", SERVER_WEBHOOK_PATH, SERVER_AUTH_SIGNED, NULL, NULL, server_post_webhook,
     "a Git provider's push event (GitHub, GitLab, Gitea, Bitbucket)"},
};

const size_t server_routes_count = sizeof(server_routes) / sizeof(server_routes[0]);
