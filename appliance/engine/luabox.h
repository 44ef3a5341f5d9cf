/*
 * A sandbox for the Lua scripts that Argo CD's resource customizations
 * carry (health checks now, resource actions later): one script, one
 * object, one answer, with nothing shared between runs.
 *
 * Every run gets a fresh lua_State (about 20 microseconds with the
 * libraries below; see the README's Health section for the measurements),
 * so no global a script sets can leak into the next object. The state
 * holds:
 *   - base, without dofile, loadfile, require, collectgarbage, warn;
 *     print does nothing; load only ever loads text (never bytecode);
 *     pcall and xpcall cannot swallow a limit being hit;
 *   - table, string (without string.dump), math, utf8;
 *   - os with only time, date, clock and difftime (Argo CD offers time
 *     and date);
 * and never io, the rest of os, debug, package or coroutine. Limits:
 * bytes allocated (a custom lua_Alloc), VM instructions (a count hook)
 * and wall-clock time (checked from the same hook).
 *
 * The object becomes the global `obj` (JSON objects and arrays as
 * tables, integers as Lua integers, null members left out, as Argo CD's
 * decoder does); the script's first return value comes back as JSON.
 */
#ifndef EDGECD_ENGINE_LUABOX_H
#define EDGECD_ENGINE_LUABOX_H

#include <jansson.h>
#include <stddef.h>

struct luabox_limits {
    size_t memory_bytes; /* everything the state allocates */
    long instructions;   /* VM instructions, counted in steps of 1,000 */
    long time_ms;        /* wall clock, checked between instructions */
};

/* 32 MiB, 10 million instructions, 1 second (Argo CD's own timeout). */
#define LUABOX_LIMITS_INIT                                                                         \
    {                                                                                              \
        32u << 20, 10000000, 1000                                                                  \
    }

/* Compile script without running it. name is the chunk name Lua puts in
 * front of messages ("apps/Deployment health.lua:3: ..."). ERR_INVALID
 * with Lua's message on a syntax error or a binary chunk. Any thread. */
int luabox_check(const char *script, size_t len, const char *name);

/* Run script with the global obj set from obj (borrowed; may be NULL for
 * no object). *out receives the script's first return value as a new
 * JSON value (nil is JSON null). Errors, with Lua's message or ours:
 *   ERR_INVALID  syntax or runtime error, or a return value with no JSON
 *                form (a function, a table holding itself, mixed keys)
 *   ERR_TOOLARGE the memory limit was hit
 *   ERR_TIMEOUT  the instruction or time limit was hit
 * lim NULL means LUABOX_LIMITS_INIT. Any thread; runs share nothing. */
int luabox_run(json_t **out, const char *script, size_t len, const char *name, const json_t *obj,
               const struct luabox_limits *lim);

#endif
