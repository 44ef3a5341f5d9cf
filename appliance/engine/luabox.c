/*
 * The Lua sandbox. Everything that can raise a Lua error (opening the
 * libraries, building `obj`, running the script) happens inside one
 * lua_pcall of luabox_main, so a failed allocation or a limit never
 * reaches Lua's panic handler; reading the result back uses only calls
 * that cannot raise. The allocator's user data is the run's struct
 * luabox, which is how the hook and the pcall wrappers find it.
 *
 * Limits are sticky: once the instruction or time limit is hit, the hook
 * raises again at every check, and the pcall/xpcall replacements re-raise
 * a limit error or an out-of-memory error instead of returning it, so
 * `while true do pcall(spin) end` cannot outlive its budget.
 */
#include "engine/luabox.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

#define LUABOX_HOOK_EVERY 1000
#define LUABOX_MAX_DEPTH 100    /* object nesting, both ways */
#define LUABOX_MAX_NODES 100000 /* values in the returned JSON */

enum luabox_kill { LUABOX_ALIVE, LUABOX_STEPS, LUABOX_TIME };

struct luabox {
    struct luabox_limits lim;
    size_t used;
    long steps;
    int64_t deadline_ms;
    enum luabox_kill killed;
    const char *script;
    size_t len;
    const char *name;
    const json_t *obj;
    size_t nodes;
};

static void *luabox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct luabox *b = ud;
    size_t old = ptr ? osize : 0; /* without ptr, osize is a type tag */
    void *p;

    if (nsize == 0) {
        free(ptr);
        b->used -= old;
        return NULL;
    }
    if (nsize > old && b->used + (nsize - old) > b->lim.memory_bytes)
        return NULL;
    p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    b->used = b->used - old + nsize;
    return p;
}

static struct luabox *luabox_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

static void luabox_kill_message(struct buf *msg, const struct luabox *b)
{
    if (b->killed == LUABOX_STEPS)
        buf_printf(msg, "instruction limit of %ld exceeded", b->lim.instructions);
    else
        buf_printf(msg, "time limit of %ld ms exceeded", b->lim.time_ms);
}

static int luabox_raise_kill(lua_State *L, const struct luabox *b)
{
    if (b->killed == LUABOX_STEPS)
        lua_pushfstring(L, "instruction limit of %I exceeded", (lua_Integer)b->lim.instructions);
    else
        lua_pushfstring(L, "time limit of %I ms exceeded", (lua_Integer)b->lim.time_ms);
    return lua_error(L);
}

static void luabox_hook(lua_State *L, lua_Debug *ar)
{
    struct luabox *b = luabox_of(L);
    (void)ar;
    b->steps += LUABOX_HOOK_EVERY;
    if (b->killed == LUABOX_ALIVE) {
        if (b->steps > b->lim.instructions)
            b->killed = LUABOX_STEPS;
        else if (time_mono_ms() > b->deadline_ms)
            b->killed = LUABOX_TIME;
    }
    if (b->killed != LUABOX_ALIVE)
        luabox_raise_kill(L, b);
}

/* pcall(f, ...) and xpcall(f, msgh, ...) as the base library has them
 * (same stack shuffles), except that a limit or out-of-memory error goes
 * on up instead of being returned. */
static int luabox_finish_pcall(lua_State *L, int status, int extra)
{
    struct luabox *b = luabox_of(L);
    if (status != LUA_OK) {
        if (b->killed != LUABOX_ALIVE || status == LUA_ERRMEM)
            return lua_error(L);
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - extra;
}

static int luabox_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    return luabox_finish_pcall(L, lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0), 0);
}

static int luabox_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2); /* f, msgh, true, f, args... */
    return luabox_finish_pcall(L, lua_pcall(L, n - 2, LUA_MULTRET, 2), 2);
}

/* load(chunk [, chunkname [, mode [, env]]]) with mode always "t". */
static int luabox_load(lua_State *L)
{
    int n = lua_gettop(L), nargs = 3;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (n >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4) {
        lua_pushvalue(L, 4);
        nargs = 4;
    }
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L) - n;
}

static int luabox_print(lua_State *L)
{
    (void)L;
    return 0;
}

static void luabox_open(lua_State *L)
{
    static const char *const base_removed[] = {"dofile", "loadfile", "require", "collectgarbage",
                                               "warn"};
    static const char *const os_kept[] = {"time", "date", "clock", "difftime"};
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}};

    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof(base_removed) / sizeof(base_removed[0]); i++) {
        lua_pushnil(L);
        lua_setglobal(L, base_removed[i]);
    }
    lua_getglobal(L, "load");
    lua_pushcclosure(L, luabox_load, 1);
    lua_setglobal(L, "load");
    lua_register(L, "pcall", luabox_pcall);
    lua_register(L, "xpcall", luabox_xpcall);
    lua_register(L, "print", luabox_print);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    /* os: a new table holding the harmless functions only; the full
     * library stays unreachable in the registry. */
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_createtable(L, 0, 4);
    for (size_t i = 0; i < sizeof(os_kept) / sizeof(os_kept[0]); i++) {
        lua_getfield(L, -2, os_kept[i]);
        lua_setfield(L, -2, os_kept[i]);
    }
    lua_setglobal(L, LUA_OSLIBNAME);
    lua_pop(L, 1);
}

static void luabox_push_json(lua_State *L, const json_t *v, int depth)
{
    if (depth > LUABOX_MAX_DEPTH)
        luaL_error(L, "obj is nested deeper than %d", LUABOX_MAX_DEPTH);
    luaL_checkstack(L, 4, "obj is nested too deeply");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        const json_t *m;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, key, m)
        {
            if (json_is_null(m))
                continue;
            lua_pushstring(L, key);
            luabox_push_json(L, m, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        const json_t *e;
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, e)
        {
            if (json_is_null(e))
                continue;
            luabox_push_json(L, e, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(v));
        break;
    case JSON_NULL:
        lua_pushnil(L);
        break;
    }
}

/* Runs in protected mode: libraries, obj, the script; leaves its first
 * result on the stack. */
static int luabox_main(lua_State *L)
{
    struct luabox *b = lua_touserdata(L, 1);
    lua_settop(L, 0);
    luabox_open(L);
    if (b->obj) {
        luabox_push_json(L, b->obj, 0);
        lua_setglobal(L, "obj");
    }
    if (luaL_loadbufferx(L, b->script, b->len, b->name, "t") != LUA_OK)
        return lua_error(L);
    lua_sethook(L, luabox_hook, LUA_MASKCOUNT, LUABOX_HOOK_EVERY);
    lua_call(L, 0, 1);
    lua_sethook(L, NULL, 0, 0);
    return 1;
}

static int luabox_to_json(json_t **out, lua_State *L, int idx, int depth, struct luabox *b);

static int luabox_table_to_json(json_t **out, lua_State *L, int idx, int depth, struct luabox *b)
{
    lua_Integer n = 0, max = 0;
    size_t strings = 0;
    int rc = 0;

    /* First pass: what kind of keys. */
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            strings++;
        else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            n++;
            if (lua_tointeger(L, -1) > max)
                max = lua_tointeger(L, -1);
        } else {
            return err_set(ERR_INVALID, "returned a table with a %s key, which JSON cannot hold",
                           luaL_typename(L, -1));
        }
    }
    if (strings && n)
        return err_set(ERR_INVALID, "returned a table that mixes string and number keys");
    if (n && max != n)
        return err_set(ERR_INVALID, "returned a list with holes");
    if (n) {
        *out = json_array();
        for (lua_Integer i = 1; i <= n && rc == 0; i++) {
            json_t *e = NULL;
            lua_rawgeti(L, idx, i);
            rc = luabox_to_json(&e, L, lua_gettop(L), depth + 1, b);
            lua_pop(L, 1);
            if (rc == 0)
                json_array_append_new(*out, e);
        }
        return rc;
    }
    *out = json_object();
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, idx) != 0) {
        json_t *m = NULL;
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        rc = luabox_to_json(&m, L, lua_gettop(L), depth + 1, b);
        lua_pop(L, 1);
        if (rc == 0 && strlen(k) != klen)
            rc = err_set(ERR_INVALID, "returned a key with a NUL byte");
        if (rc == 0)
            json_object_set_new(*out, k, m);
        else
            json_decref(m);
    }
    if (rc < 0)
        lua_pop(L, 1); /* the key lua_next left */
    return rc;
}

/* The value at idx as JSON, using only calls that cannot raise. */
static int luabox_to_json(json_t **out, lua_State *L, int idx, int depth, struct luabox *b)
{
    *out = NULL;
    if (depth > LUABOX_MAX_DEPTH || !lua_checkstack(L, 4))
        return err_set(ERR_INVALID, "returned tables nested deeper than %d (one holding itself?)",
                       LUABOX_MAX_DEPTH);
    if (++b->nodes > LUABOX_MAX_NODES)
        return err_set(ERR_INVALID, "returned more than %d values", LUABOX_MAX_NODES);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        *out = json_null();
        return 0;
    case LUA_TBOOLEAN:
        *out = json_boolean(lua_toboolean(L, idx));
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            *out = json_integer((json_int_t)lua_tointeger(L, idx));
            return 0;
        }
        if (!isfinite(lua_tonumber(L, idx)))
            return err_set(ERR_INVALID, "returned a number JSON cannot hold (inf or nan)");
        *out = json_real(lua_tonumber(L, idx));
        return 0;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (!(*out = json_stringn(s, len)))
            return err_set(ERR_INVALID, "returned a string that is not UTF-8");
        return 0;
    }
    case LUA_TTABLE: {
        int rc = luabox_table_to_json(out, L, lua_absindex(L, idx), depth, b);
        if (rc < 0) {
            json_decref(*out);
            *out = NULL;
        }
        return rc;
    }
    default:
        return err_set(ERR_INVALID, "returned a %s value, which JSON cannot hold",
                       luaL_typename(L, idx));
    }
}

/* The error object on top of the stack, as a message, without raising. */
static void luabox_error_message(struct buf *msg, lua_State *L)
{
    if (lua_type(L, -1) == LUA_TSTRING)
        buf_puts(msg, lua_tostring(L, -1));
    else
        buf_printf(msg, "error object is a %s value", luaL_typename(L, -1));
}

static int luabox_open_state(lua_State **out, struct luabox *b, const struct luabox_limits *lim)
{
    static const struct luabox_limits defaults = LUABOX_LIMITS_INIT;
    b->lim = lim ? *lim : defaults;
    b->deadline_ms = time_mono_ms() + b->lim.time_ms;
    if (!(*out = lua_newstate(luabox_alloc, b)))
        return err_set(ERR_TOOLARGE, "memory limit of %zu bytes is too small for Lua",
                       b->lim.memory_bytes);
    return 0;
}

int luabox_check(const char *script, size_t len, const char *name)
{
    struct luabox b = {0};
    lua_State *L;
    int rc;

    if ((rc = luabox_open_state(&L, &b, NULL)) < 0)
        return rc;
    if (luaL_loadbufferx(L, script, len, name, "t") != LUA_OK) {
        struct buf msg = BUF_INIT;
        luabox_error_message(&msg, L);
        rc = err_set(ERR_INVALID, "%s", buf_cstr(&msg));
        buf_dispose(&msg);
    }
    lua_close(L);
    return rc;
}

int luabox_run(json_t **out, const char *script, size_t len, const char *name, const json_t *obj,
               const struct luabox_limits *lim)
{
    struct luabox b = {0};
    lua_State *L;
    int rc, status;

    *out = NULL;
    b.script = script;
    b.len = len;
    b.name = name;
    b.obj = obj;
    if ((rc = luabox_open_state(&L, &b, lim)) < 0)
        return rc;
    lua_pushcfunction(L, luabox_main);
    lua_pushlightuserdata(L, &b);
    status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_OK) {
        rc = luabox_to_json(out, L, -1, 0, &b);
    } else {
        struct buf msg = BUF_INIT;
        if (b.killed != LUABOX_ALIVE) {
            luabox_kill_message(&msg, &b);
            rc = err_set(ERR_TIMEOUT, "%s", buf_cstr(&msg));
        } else if (status == LUA_ERRMEM) {
            rc = err_set(ERR_TOOLARGE, "memory limit of %zu bytes exceeded", b.lim.memory_bytes);
        } else {
            luabox_error_message(&msg, L);
            rc = err_set(ERR_INVALID, "%s", buf_cstr(&msg));
        }
        buf_dispose(&msg);
    }
    lua_close(L);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
