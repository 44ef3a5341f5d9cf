/*
 * Fault injection for API requests: added latency, a share of 429 (with
 * Retry-After) and 500 answers, and dropped connections, so tests can see
 * how edgecd copes with a struggling API server. The admin endpoint sets
 * the knobs; handlers.c asks faults_apply before serving each API request.
 * Admin and health paths are never faulted, so a test can always switch
 * faults off again.
 *
 * Thread-safe: its own mutex, independent of the API lock, so an injected
 * delay never holds up other connections.
 */
#ifndef KUBESIM_FAULTS_H
#define KUBESIM_FAULTS_H

#include <jansson.h>

#include "httpd.h"

void faults_init(void);
void faults_dispose(void);

/* Count one API request (by method, and whether it is a dry run or a
 * watch) and maybe fault it: sleeps the configured latency, then with the
 * configured shares fills res with a 429 or 500 Status or marks it
 * dropped. 1 if res now holds the answer (the handler must not serve the
 * request), 0 if the request should be served. Any thread. */
int faults_apply(const struct httpd_request *req, struct httpd_response *res);

/* Change the settings from a partial JSON object (latencyMs, rate429,
 * rate500, dropRate, retryAfterSeconds, pathPrefix: only API paths that
 * start with it are faulted, "" all of them); unknown keys and out-of-range
 * values are ERR_INVALID with nothing changed. Any thread. */
int faults_update(const json_t *patch);

/* Back to no faults; the counters stay. Any thread. */
void faults_reset(void);

/* The settings as the admin endpoint shows them: a new object. */
json_t *faults_settings(void);

/* The counters: {"requests": n, "byMethod": {"GET", "POST", "PUT", "PATCH",
 * "DELETE", "other"}, "dryRun": n (dryRun=All), "watch": n (watch=true),
 * "injected": {"latency", "429", "500", "drop", "watchCut"}}; a new
 * object. Any thread. */
json_t *faults_counters(void);

/* Record n watch streams cut at a test's request (counted as
 * injected.watchCut). */
void faults_count_watch_cuts(unsigned n);

#endif
