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
    /* Sessions, accounts and tokens (api_account.c). The literal
     * /api/v1/account/password comes before /api/v1/account/NAME. Tokens
     * and password: NULL resource, as a user manages their own; the
     * handler asks for accounts/update on anyone else. */
    {"POST", "/api/v1/session", SERVER_AUTH_NONE, NULL, NULL, server_post_session,
     "log in: {username, password} -> session cookie and {username, csrfToken}"},
    {"DELETE", "/api/v1/session", SERVER_AUTH_USER, NULL, NULL, server_delete_session,
     "log out (ends the session)"},
    {"GET", "/api/v1/session/userinfo", SERVER_AUTH_USER, NULL, NULL, server_get_userinfo,
     "who is signed in: {loggedIn, username, roles, csrfToken}"},
    {"GET", "/api/v1/account/can-i/*/*/*", SERVER_AUTH_USER, NULL, NULL, server_get_can_i,
     "may the caller do ACTION on RESOURCE's OBJECT: {value: yes|no}"},
    {"PUT", "/api/v1/account/password", SERVER_AUTH_USER, NULL, NULL, server_put_password,
     "change a password: {name?, currentPassword, newPassword}"},
    {"GET", "/api/v1/account", SERVER_AUTH_USER, "accounts", "get", server_get_accounts,
     "list accounts with their tokens (never a secret)"},
    {"POST", "/api/v1/account", SERVER_AUTH_USER, "accounts", "create", server_post_account,
     "create an account: {name, password, roles}"},
    {"GET", "/api/v1/account/*", SERVER_AUTH_USER, "accounts", "get", server_get_account,
     "get an account"},
    {"DELETE", "/api/v1/account/*", SERVER_AUTH_USER, "accounts", "delete", server_delete_account,
     "delete an account (its sessions and tokens end)"},
    {"POST", "/api/v1/account/*/token", SERVER_AUTH_USER, NULL, NULL, server_post_token,
     "create an API token: {id?, role?, expiresIn?} -> {token} (shown once)"},
    {"DELETE", "/api/v1/account/*/token/*", SERVER_AUTH_USER, NULL, NULL, server_delete_token,
     "revoke an API token"},
    {"POST", SERVER_WEBHOOK_PATH, SERVER_AUTH_SIGNED, NULL, NULL, server_post_webhook,
     "a Git provider's push event (GitHub, GitLab, Gitea, Bitbucket)"},
};

const size_t server_routes_count = sizeof(server_routes) / sizeof(server_routes[0]);
