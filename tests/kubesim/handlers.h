/*
 * The API: authentication, routing of /api, /apis, /openapi and resource
 * URLs, and every verb on objects. One mutex (the API lock) serialises
 * whole requests, which keeps the store, the CRD-made kinds and
 * resourceVersions consistent without finer locking; kubesim's requests
 * are short and in memory, so that is not the bottleneck. A watch takes
 * the lock only to start; its stream runs after the lock is released
 * (watch.h).
 */
#ifndef KUBESIM_HANDLERS_H
#define KUBESIM_HANDLERS_H

#include "httpd.h"

/* token: the bearer token that authenticates (copied). Creates the
 * namespaces every cluster has. Main thread, before serving. */
void handlers_init(const char *token);
void handlers_dispose(void);

/* Take / release the API lock, for work outside a request that touches
 * the store (the workload simulator, the admin state dump). Not
 * re-entrant: never call from inside handlers_handle's routing. */
void handlers_lock_api(void);
void handlers_unlock_api(void);

/* The httpd_handler; ctx unused. Authenticates, sends /kubesim/admin/
 * paths to admin.c, lets faults.c fault other API requests, then serves
 * them under the API lock. Any connection thread. */
void handlers_handle(void *ctx, const struct httpd_request *req, struct httpd_response *res);

#endif
