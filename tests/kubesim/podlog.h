/*
 * Pod logs: GET /api/v1/namespaces/NS/pods/NAME/log with container,
 * tailLines, timestamps and follow, answered as a kubelet would (plain
 * text, one line each, "RFC3339Nano text" with timestamps). kubesim runs
 * no containers, so each container's log is what kubesim writes into it:
 * two start-up lines when the log is first read, then whatever a test
 * appends through the admin endpoint:
 *
 *   POST /kubesim/admin/podlog?namespace=NS&pod=NAME[&container=C]
 *        body: lines of text, appended to that container's log
 *
 * A follow streams new lines as they are appended and ends when the pod
 * is deleted (or the client goes).
 */
#ifndef KUBESIM_PODLOG_H
#define KUBESIM_PODLOG_H

#include "httpd.h"
#include "verbs.h"

/* The log subresource of pod c->name (API lock held). */
void podlog_serve(struct verbs_call *c);

/* The admin endpoint above (no lock held). */
void podlog_admin(const struct httpd_request *req, struct httpd_response *res);

/* Forget every log (kubesim shutting down). */
void podlog_dispose(void);

#endif
