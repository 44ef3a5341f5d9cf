/*
 * The admin endpoint tests use to steer kubesim and look inside it, under
 * /kubesim/admin/ with the same credentials as the API:
 *
 *   GET    /kubesim/admin/faults   the fault settings and counters
 *   POST   /kubesim/admin/faults   change settings from a partial JSON object
 *                                  {"latencyMs", "rate429", "rate500",
 *                                   "dropRate", "retryAfterSeconds",
 *                                   "cutWatches": true (cut open watches now)}
 *   DELETE /kubesim/admin/faults   no more faults (counters stay)
 *   GET    /kubesim/admin/state    every stored object and the counters
 *                                  (requests, by method, dry runs,
 *                                  watches, injected faults by type,
 *                                  openWatches);
 *                                  ?kind=Deployment|deployments&namespace=ns
 *   POST   /kubesim/admin/podlog   append the body's lines to a pod's log
 *                                  ?namespace=&pod=&container= (podlog.h)
 *
 * Faults never apply to these paths (see faults.h).
 */
#ifndef KUBESIM_ADMIN_H
#define KUBESIM_ADMIN_H

#include "httpd.h"

#define ADMIN_PREFIX "/kubesim/admin/"

/* Serve one admin request (path starts with ADMIN_PREFIX; already
 * authenticated). Takes the API lock itself where it reads the store. Any
 * connection thread. */
void admin_handle(const struct httpd_request *req, struct httpd_response *res);

#endif
