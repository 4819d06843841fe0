/* A stand-alone Lua interpreter: what Lua's own lua.c does to run a script file (the crate
 * lua-src ships Lua's library sources but not lua.c). `lua SCRIPT [ARGS]` opens the standard
 * libraries, sets the global `arg`, runs SCRIPT under a message handler that adds a traceback,
 * reports an error as lua.c does ("lua: MESSAGE" on stderr, exit status 1) and closes the state,
 * which runs the finalizers and unloads the C modules `require` loaded (dlclose). */
#include <stdio.h>
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* lua.c's msghandler: a non-string error object with a __tostring is converted; the message
 * gets a traceback. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s script [args]\n", argv[0]);
        return 1;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "%s: cannot create state: not enough memory\n", argv[0]);
        return 1;
    }
    luaL_openlibs(L);

    /* arg[0] is the script, arg[1..] its arguments, arg[-1] the interpreter (as lua.c). */
    lua_createtable(L, argc - 2, 2);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, msghandler);
    int status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, 1);
    if (status != LUA_OK) {
        fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
        fflush(stderr);
    }
    fflush(stdout);
    lua_close(L);
    return status == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
