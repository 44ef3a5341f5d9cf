/*
 * Taking a pack stream into a mirror's object database: every pack edgecd
 * stores without libgit2's fetch (a bundle's, or a local source's own
 * packs) comes through here. libgit2's indexer checks it as it writes it
 * to objects/pack (temporary file, renamed when complete): the pack
 * trailer, every zlib stream, every delta resolved and every object's id
 * computed from its content. Not for use outside appliance/git.
 *
 * A pack is untrusted input, so a budget of bytes and objects, taken from
 * the mirror's limits (mirror_set_pack_limits), is spent across every
 * pack of one fetch or import: the object count is refused as soon as
 * the pack's header announces it, the bytes as they arrive.
 *
 * Threads: a packin lives in one thread, on one mirror handle.
 */
#ifndef EDGECD_GIT_PACKIN_H
#define EDGECD_GIT_PACKIN_H

#include <git2.h>
#include <stdint.h>
#include <stdio.h>

#include "git/mirror.h"

typedef struct packin packin;

/* What one fetch or import may still bring in. */
struct packin_budget {
    uint64_t max_bytes, max_objects; /* the mirror's limits */
    uint64_t bytes, objects;         /* taken so far */
};

/* A budget holding m's limits, nothing taken yet. */
void packin_budget_init(struct packin_budget *b, mirror *m);

/* Charge n objects and bytes to b before any of them is read (a pack's
 * header or a folder's listing said how many). ERR_TOOLARGE naming what
 * and the limit, b unchanged; else 0. */
int packin_budget_take(struct packin_budget *b, uint64_t objects, uint64_t bytes, const char *what);

/* Start a pack for m's pack folder. bases: the object database a thin
 * pack's missing delta bases are taken from (a bundle's prerequisites),
 * or NULL: then a delta whose base is not in the pack itself is refused.
 * connected: also refuse a pack whose commits and trees name objects that
 * are neither in it nor in bases. what names the pack in errors
 * (borrowed, must outlive p). ERR_IO if the indexer cannot start. */
int packin_new(packin **out, mirror *m, git_odb *bases, int connected, struct packin_budget *budget,
               const char *what);

/* Feed the next piece of the pack. ERR_TOOLARGE over the budget,
 * ERR_INVALID for a damaged pack. */
int packin_append(packin *p, const void *data, size_t len);

/* Feed everything left in f. As packin_append, or ERR_IO reading f. */
int packin_append_file(packin *p, FILE *f);

/* Finish: check what only the whole pack shows (trailer, deltas, counts)
 * and move the pack and its index into place. ERR_INVALID for a damaged
 * or incomplete pack (a delta base missing named as such). */
int packin_commit(packin *p);

/* Objects the pack's header announced (0 before it arrived). */
uint64_t packin_objects(const packin *p);

void packin_free(packin *p);

#endif
