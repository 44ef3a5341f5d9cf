/*
 * Watches: the event history every write feeds and the streams clients
 * read from it.
 *
 * The history is one bounded ring of events in resourceVersion order, fed
 * only by objects_put and objects_remove, so no writer can forget to emit.
 * Each event keeps the object as JSON text (without apiVersion and kind,
 * which a stream fills in for the version the client asked for) and
 * immutable copies of what selectors look at, now and before the write,
 * so stream threads can filter and send without the API lock: they take
 * only the history's own lock, which ranks below the API lock. As on the
 * real server, a write that makes an object stop (start) matching a
 * watch's selectors reaches that watch as DELETED (ADDED), and a watch
 * that asks to start before the oldest kept event gets a 410 Expired
 * ERROR event.
 */
#ifndef KUBESIM_WATCH_H
#define KUBESIM_WATCH_H

#include <jansson.h>
#include <stdint.h>

#include "resources.h"
#include "verbs.h"

#define WATCH_HISTORY_DEFAULT 10000

enum watch_type { WATCH_ADDED, WATCH_MODIFIED, WATCH_DELETED };

/* Keep the last history events (at least 1). first_rv: the resourceVersion
 * the store starts from; asking for anything older is Expired. Main
 * thread, before serving. */
void watch_init(size_t history, uint64_t first_rv);
/* Forget the history. Main thread, after the server has stopped. */
void watch_dispose(void);

/* Record a write of r's object obj (with its new resourceVersion in
 * metadata) whose previous state was prev (NULL for ADDED). Wakes every
 * watch. Caller holds the API lock; nothing is kept of obj or prev. */
void watch_record(enum watch_type type, const struct resource *r, const json_t *obj,
                  const json_t *prev);

/* 1 if every event after rv is still in the history; else 0 and, if
 * oldest is not NULL, *oldest is the resourceVersion a client may start
 * from at the earliest. Caller holds the API lock. */
int watch_covers(uint64_t rv, uint64_t *oldest);

/* 1 if an object of r's kind changed after rv, or the history no longer
 * reaches back to rv: whether the current objects of the kind still are
 * their state at rv. Caller holds the API lock. */
int watch_changed_since(const struct resource *r, uint64_t rv);

/* Answer GET ...?watch=true on c's collection: validates the query, then
 * turns c->res into a stream (or fills it with a Status on bad input).
 * Caller holds the API lock. */
void watch_serve(struct verbs_call *c);

/* End every open watch stream abruptly: the connection closes without
 * the terminating chunk, as when a proxy or the API server drops it.
 * Clients must re-list or re-watch. Any thread, with or without the API
 * lock. */
void watch_cut_all(void);

/* The number of watch streams running now. Any thread. */
int watch_open_count(void);

#endif
