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
    {"POST", SERVER_WEBHOOK_PATH, SERVER_AUTH_SIGNED, NULL, NULL, server_post_webhook,
     "a Git provider's push event (GitHub, GitLab, Gitea, Bitbucket)"},

    /* The site: readiness, metrics, the API's own description, settings,
     * projects, repositories, clusters (api_site.c, api_metrics.c). */
    {"GET", "/readyz", SERVER_AUTH_NONE, NULL, NULL, server_get_readyz,
     "readiness: 200 once the store answers and the engine has been through every app"},
    {"GET", "/metrics", SERVER_AUTH_USER, NULL, NULL, server_get_metrics,
     "Prometheus metrics (text format 0.0.4)"},
    {"GET", "/api/v1/openapi.json", SERVER_AUTH_USER, NULL, NULL, server_get_openapi,
     "this document"},
    {"GET", "/api/v1/version", SERVER_AUTH_USER, NULL, NULL, server_get_version,
     "edgecd's version and platform"},
    {"GET", "/api/v1/settings", SERVER_AUTH_USER, NULL, NULL, server_get_settings,
     "the site's settings (no secrets)"},
    {"GET", "/api/v1/projects", SERVER_AUTH_USER, "projects", "get", server_get_projects,
     "list AppProjects"},
    {"POST", "/api/v1/projects", SERVER_AUTH_USER, "projects", "create", server_post_project,
     "create an AppProject (409 if it exists)"},
    {"GET", "/api/v1/projects/*", SERVER_AUTH_USER, "projects", "get", server_get_project,
     "get an AppProject"},
    {"PUT", "/api/v1/projects/*", SERVER_AUTH_USER, "projects", "update", server_put_project,
     "replace an AppProject (not one the site config defines)"},
    {"DELETE", "/api/v1/projects/*", SERVER_AUTH_USER, "projects", "delete", server_delete_project,
     "delete an AppProject no application uses"},
    {"GET", "/api/v1/repositories", SERVER_AUTH_USER, "repositories", "get", server_get_repos,
     "list repositories (never a password)"},
    {"POST", "/api/v1/repositories", SERVER_AUTH_USER, "repositories", "create", server_post_repo,
     "add or replace a repository and its credentials"},
    {"DELETE", "/api/v1/repositories/*", SERVER_AUTH_USER, "repositories", "delete",
     server_delete_repo, "remove a repository (its URL, URL-encoded)"},
    {"POST", "/api/v1/repositories/*/validate", SERVER_AUTH_USER, "repositories", "get",
     server_post_repo_validate, "list the repository's refs with its credentials"},
    {"GET", "/api/v1/clusters", SERVER_AUTH_USER, "clusters", "get", server_get_clusters,
     "list clusters (never credentials)"},
    {"POST", "/api/v1/clusters", SERVER_AUTH_USER, "clusters", "create", server_post_cluster,
     "add a cluster from a kubeconfig"},
    {"DELETE", "/api/v1/clusters/*", SERVER_AUTH_USER, "clusters", "delete", server_delete_cluster,
     "remove a cluster"},
    {"POST", "/api/v1/clusters/*/validate", SERVER_AUTH_USER, "clusters", "get",
     server_post_cluster_validate, "run discovery against the cluster"},
};

const size_t server_routes_count = sizeof(server_routes) / sizeof(server_routes[0]);
