#include "engine/luabox.h"

#include <lauxlib.h>
#include <lua.h>

#include "core/buf.h"
#include "core/util.h"
#include "doc/doc.h"
#include "test.h"

static const struct luabox_limits small = {4u << 20, 200000, 5000};

static int run(json_t **out, const char *script, const json_t *obj)
{
    return luabox_run(out, script, strlen(script), "=test.lua", obj, &small);
}

/* JSON text with sorted keys (Lua tables have no order). */
static char *sorted_json(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* The JSON of a run that must succeed, for comparison. */
static char *run_json(const char *script, const char *obj_json)
{
    json_t *obj = obj_json ? json_loads(obj_json, 0, NULL) : NULL, *out = NULL;
    char *s;
    if (run(&out, script, obj) < 0) {
        json_decref(obj);
        return xasprintf("error: %s", err_last());
    }
    s = sorted_json(out);
    json_decref(obj);
    json_decref(out);
    return s;
}

/* The run's result must equal the expected JSON, keys in any order. */
#define CHECK_RUN(script, obj_json, expected)                                                      \
    do {                                                                                           \
        char *got_ = run_json(script, obj_json);                                                   \
        json_t *want_ = json_loads(expected, JSON_DECODE_ANY, NULL);                               \
        char *w_ = sorted_json(want_);                                                             \
        int same_ = !strcmp(got_, w_);                                                             \
        if (!same_)                                                                                \
            fprintf(stderr, "got  %s\nwant %s\n", got_, w_);                                       \
        free(got_);                                                                                \
        free(w_);                                                                                  \
        json_decref(want_);                                                                        \
        CHECK(same_);                                                                              \
    } while (0)

TEST(obj_in_result_out)
{
    CHECK_RUN("return {status = 'Healthy', message = obj.metadata.name .. '/' .. "
              "#obj.spec.list .. '/' .. math.type(obj.spec.n) .. '/' .. tostring(obj.spec.x)}",
              "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"list\":[1,2,3],\"n\":3,\"x\":null}}",
              "{\"status\":\"Healthy\",\"message\":\"web/3/integer/nil\"}");
    CHECK_RUN("return {1, 'two', {a = true}, 2.5}", NULL, "[1,\"two\",{\"a\":true},2.5]");
    CHECK_RUN("return nil", NULL, "null");
    /* the global is there for scripts that ask "obj ~= nil" */
    CHECK_RUN("return {has = obj ~= nil}", "{}", "{\"has\":true}");
}

TEST(libraries_are_the_safe_ones)
{
    CHECK_RUN("return {io = type(io), os_execute = type(os.execute), os_exit = type(os.exit), "
              "getenv = type(os.getenv), remove = type(os.remove), require = type(require), "
              "dofile = type(dofile), loadfile = type(loadfile), debug = type(debug), "
              "package = type(package), dump = type(string.dump), coroutine = type(coroutine), "
              "gc = type(collectgarbage), time = type(os.time), date = type(os.date), "
              "clock = type(os.clock), fmt = string.format('%d-%s', 7, ('x'):rep(2)), "
              "floor = math.floor(2.5), ins = type(table.insert), utf8 = utf8.char(72), "
              "printed = (print('hello') == nil)}",
              NULL,
              "{\"io\":\"nil\",\"os_execute\":\"nil\",\"os_exit\":\"nil\",\"getenv\":\"nil\","
              "\"remove\":\"nil\",\"require\":\"nil\",\"dofile\":\"nil\",\"loadfile\":\"nil\","
              "\"debug\":\"nil\",\"package\":\"nil\",\"dump\":\"nil\",\"coroutine\":\"nil\","
              "\"gc\":\"nil\",\"time\":\"function\",\"date\":\"function\",\"clock\":"
              "\"function\",\"fmt\":\"7-xx\",\"floor\":2,\"ins\":\"function\",\"utf8\":\"H\","
              "\"printed\":true}");
    /* os.time with a table, as Argo CD's CronJob script uses it */
    CHECK_RUN("local a = os.time({year=2024, month=1, day=1, hour=0})\n"
              "local b = os.time({year=2024, month=1, day=2, hour=0})\n"
              "return {d = b - a, date = os.date('!%Y-%m-%d', 0)}",
              NULL, "{\"d\":86400,\"date\":\"1970-01-01\"}");
}

TEST(os_execute_attempt_fails)
{
    json_t *out = NULL;
    CHECK_ERR(run(&out, "os.execute('touch /tmp/edgecd-luabox-pwned')\nreturn {}", NULL),
              ERR_INVALID);
    CHECK_CONTAINS(err_last(), "test.lua:1: attempt to call a nil value (field 'execute')");
    CHECK(out == NULL);
    CHECK(access("/tmp/edgecd-luabox-pwned", F_OK) != 0);
    CHECK_ERR(run(&out, "local f = io.open('/etc/passwd')", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "attempt to index a nil value (global 'io')");
    /* the full os library is not reachable through the string metatable
     * or load's environment either */
    CHECK_ERR(run(&out, "return load('return os.execute')()('true')", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "attempt to call a nil value");
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    buf_put(ud, p, sz);
    return 0;
}

/* Real Lua 5.4 bytecode for src. */
static void dump_bytecode(struct buf *out, const char *src)
{
    lua_State *L = luaL_newstate();
    luaL_loadstring(L, src);
    lua_dump(L, dump_writer, out, 0);
    lua_close(L);
}

TEST(bytecode_is_never_loaded)
{
    struct buf code = BUF_INIT;
    json_t *out = NULL;

    dump_bytecode(&code, "return {status = 'Healthy'}");
    CHECK(code.len > 4 && code.ptr[0] == 0x1b);
    CHECK_ERR(luabox_run(&out, code.ptr, code.len, "=test.lua", NULL, &small), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "attempt to load a binary chunk (mode is 't')");
    CHECK_ERR(luabox_check(code.ptr, code.len, "=test.lua"), ERR_INVALID);
    buf_dispose(&code);
    /* nor through load(), whatever mode the script asks for */
    CHECK_RUN("local f, e1 = load('\\27Lua\\84\\0\\25\\147')\n"
              "local g, e2 = load('\\27Lua\\84\\0', 'x', 'b')\n"
              "local h = load(function() return nil end, 'y', 'bt')\n"
              "return {f = type(f), e1 = e1, g = type(g), e2 = e2, h = type(h)}",
              NULL,
              "{\"f\":\"nil\",\"e1\":\"attempt to load a binary chunk (mode is 't')\","
              "\"g\":\"nil\",\"e2\":\"attempt to load a binary chunk (mode is 't')\","
              "\"h\":\"function\"}");
    /* text still loads */
    CHECK_RUN("return load('return 1 + 1')()", NULL, "2");
}

TEST(errors_are_lua_messages)
{
    json_t *out = NULL;
    CHECK_ERR(run(&out, "hs = {\nreturn hs", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "test.lua:2: unexpected symbol near 'return'");
    CHECK_ERR(luabox_check("if x then", 9, "=apps/Deployment health.lua"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "apps/Deployment health.lua:1: 'end' expected near <eof>");
    CHECK_OK(luabox_check("return 1", 8, "=x"));
    CHECK_ERR(run(&out, "return obj.status.phase", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "attempt to index a nil value (global 'obj')");
    CHECK_ERR(run(&out, "error('custom failure')", NULL), ERR_INVALID);
    CHECK_STR(err_last(), "test.lua:1: custom failure");
    CHECK_ERR(run(&out, "error({})", NULL), ERR_INVALID);
    CHECK_STR(err_last(), "error object is a table value");
}

TEST(instruction_limit)
{
    json_t *out = NULL;
    CHECK_ERR(run(&out, "while true do end", NULL), ERR_TIMEOUT);
    CHECK_STR(err_last(), "instruction limit of 200000 exceeded");
    /* pcall cannot catch the limit and carry on */
    CHECK_ERR(run(&out, "while true do pcall(function() while true do end end) end", NULL),
              ERR_TIMEOUT);
    CHECK_ERR(run(&out,
                  "local n = 0\n"
                  "while true do xpcall(function() while true do end end, "
                  "function(m) n = n + 1 return m end) end",
                  NULL),
              ERR_TIMEOUT);
    /* nor can a recursion through load */
    CHECK_ERR(run(&out, "local function f() return load('while true do end')() end f()", NULL),
              ERR_TIMEOUT);
    /* ordinary pcall still works */
    {
        CHECK_RUN("local ok, e = pcall(error, 'x', 0)\n"
                  "local ok2, v = pcall(function(a) return a * 2 end, 21)\n"
                  "local ok3, h = xpcall(error, function(m) return 'handled ' .. m end,"
                  " 'y', 0)\n"
                  "return {ok = ok, e = e, ok2 = ok2, v = v, ok3 = ok3, h = h}",
                  NULL,
                  "{\"ok\":false,\"e\":\"x\",\"ok2\":true,\"v\":42,\"ok3\":false,"
                  "\"h\":\"handled y\"}");
    }
}

TEST(time_limit)
{
    struct luabox_limits lim = {4u << 20, 1000000000000L, 100};
    json_t *out = NULL;
    int64_t start = time_mono_ms();
    CHECK_ERR(luabox_run(&out, "while true do end", 17, "=t", NULL, &lim), ERR_TIMEOUT);
    CHECK_STR(err_last(), "time limit of 100 ms exceeded");
    CHECK(time_mono_ms() - start < 2000);
}

TEST(memory_limit)
{
    json_t *out = NULL;
    CHECK_ERR(run(&out, "local s = string.rep('x', 1e9)", NULL), ERR_TOOLARGE);
    CHECK_STR(err_last(), "memory limit of 4194304 bytes exceeded");
    CHECK_ERR(run(&out, "local s = 'x' while true do s = s .. s end", NULL), ERR_TOOLARGE);
    CHECK_ERR(run(&out, "local t = {} for i = 1, 1e7 do t[i] = ('x'):rep(1000) .. i end", NULL),
              ERR_TOOLARGE);
    /* a caught out-of-memory error is not swallowed */
    CHECK_ERR(run(&out, "local ok = pcall(string.rep, 'x', 1e9) return {ok = ok}", NULL),
              ERR_TOOLARGE);
    /* an object too large for the limit fails the same way */
    {
        json_t *big = json_array();
        for (int i = 0; i < 200000; i++) {
            char *t = xasprintf("item %d, with a text long enough to be its own string", i);
            json_array_append_new(big, json_string(t));
            free(t);
        }
        CHECK_ERR(run(&out, "return #obj", big), ERR_TOOLARGE);
        json_decref(big);
    }
}

TEST(bad_return_values)
{
    json_t *out = NULL;
    CHECK_ERR(run(&out, "return function() end", NULL), ERR_INVALID);
    CHECK_STR(err_last(), "returned a function value, which JSON cannot hold");
    CHECK_ERR(run(&out, "local t = {} t.self = t return t", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "nested deeper than");
    CHECK_ERR(run(&out, "return {1, 2, x = 3}", NULL), ERR_INVALID);
    CHECK_STR(err_last(), "returned a table that mixes string and number keys");
    CHECK_ERR(run(&out, "return {[1] = 1, [3] = 3}", NULL), ERR_INVALID);
    CHECK_ERR(run(&out, "return {[true] = 1}", NULL), ERR_INVALID);
    CHECK_ERR(run(&out, "return {status = 0/0}", NULL), ERR_INVALID);
    CHECK_ERR(run(&out, "return {message = '\\255'}", NULL), ERR_INVALID);
    CHECK(out == NULL);
}

/* Globals a script sets never reach the next run. */
TEST(no_state_between_runs)
{
    json_t *out = NULL;
    CHECK_OK(run(&out, "leak = 'x'; string.upper = nil; return {}", NULL));
    json_decref(out);
    CHECK_RUN("return {leak = leak == nil, upper = string.upper('a')}", NULL,
              "{\"leak\":true,\"upper\":\"A\"}");
}

/* What a fresh state per run costs, for the README. */
TEST(cost_of_a_fresh_state)
{
    static const char script[] = "hs = {}\n"
                                 "if obj.status ~= nil and obj.status.conditions ~= nil then\n"
                                 "  for i, c in ipairs(obj.status.conditions) do\n"
                                 "    if c.type == 'Ready' and c.status == 'True' then\n"
                                 "      hs.status = 'Healthy'; hs.message = c.message; return hs\n"
                                 "    end\n"
                                 "  end\n"
                                 "end\n"
                                 "hs.status = 'Progressing'; hs.message = 'Waiting'\n"
                                 "return hs\n";
    json_t *obj = json_loads(
        "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":"
        "\"web\",\"namespace\":\"shop\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"secretName\":"
        "\"web-tls\",\"dnsNames\":[\"web.example.com\"]},\"status\":{\"conditions\":[{\"type\":"
        "\"Issuing\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\",\"message\":"
        "\"Certificate is up to date\"}]}}",
        0, NULL);
    const char *scripts[] = {"return nil", script};
    const json_t *objs[] = {NULL, obj};
    const char *what[] = {"fresh state and libraries only", "+ obj and a Certificate check"};
    int n = 2000;
    for (int k = 0; k < 2; k++) {
        int64_t start = time_mono_ms();
        for (int i = 0; i < n; i++) {
            json_t *out = NULL;
            CHECK_OK(luabox_run(&out, scripts[k], strlen(scripts[k]), "=c", objs[k], NULL));
            json_decref(out);
        }
        fprintf(stderr, "     %.1f us per run: %s\n", (double)(time_mono_ms() - start) * 1000.0 / n,
                what[k]);
    }
    json_decref(obj);
}

int main(void)
{
    RUN(obj_in_result_out);
    RUN(libraries_are_the_safe_ones);
    RUN(os_execute_attempt_fails);
    RUN(bytecode_is_never_loaded);
    RUN(errors_are_lua_messages);
    RUN(instruction_limit);
    RUN(time_limit);
    RUN(memory_limit);
    RUN(bad_return_values);
    RUN(no_state_between_runs);
    RUN(cost_of_a_fresh_state);
    return TEST_END();
}
