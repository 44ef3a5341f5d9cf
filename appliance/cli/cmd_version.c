/*
 * `edgecd version`: edgecd's version and the version each linked library
 * reports at run time (not the headers it was compiled with), so an
 * operator can tell exactly what a binary carries.
 */
#include <stdio.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <mbedtls/version.h>
#include <yaml.h>
#include <zlib.h>

#include "cli/cli.h"
#include "git/mirror.h"
#include "server/server.h"
#include "storage/store.h"

#ifndef EDGECD_VERSION
#define EDGECD_VERSION "0.0.0"
#endif

/* Lua reports its version from a live interpreter state. */
static void cmd_version_lua(char *out, size_t len)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        snprintf(out, len, "Lua (unavailable)");
        return;
    }
    /* _VERSION is set by the base library; lua_version is the core's number. */
    luaL_requiref(L, "_G", luaopen_base, 1);
    lua_pop(L, 1);
    lua_getglobal(L, "_VERSION");
    const char *v = lua_tostring(L, -1);
    snprintf(out, len, "%s (core %d)", v ? v : "Lua", (int)lua_version(L));
    lua_close(L);
}

static int cmd_version_run(int argc, char **argv)
{
    char mbed[64], git[64], sqlite[64], civet[64], lua[64];
    if (argc > 1)
        return cli_usage(&cli_cmd_version);
    mbedtls_version_get_string_full(mbed);
    mirror_lib_version(git, sizeof(git));
    store_lib_version(sqlite, sizeof(sqlite));
    server_lib_version(civet, sizeof(civet));
    cmd_version_lua(lua, sizeof(lua));
    printf("edgecd %s\n", EDGECD_VERSION);
    printf("  %s\n", mbed);
    printf("  libyaml %s\n", yaml_get_version_string());
    printf("  jansson %s\n", jansson_version_str());
    printf("  %s\n", git);
    printf("  %s\n", sqlite);
    printf("  %s\n", civet);
    printf("  %s\n", lua);
    printf("  zlib %s\n", zlibVersion());
    return 0;
}

const struct cli_cmd cli_cmd_version = {
    "version",
    "",
    "print edgecd's version and the versions of its linked libraries",
    cmd_version_run,
};
