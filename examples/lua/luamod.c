/* A Lua C module, loaded by `require "luamod"` (loadlib.c: dlopen, then dlsym of luaopen_luamod).
 * Its functions call back into Lua and raise Lua errors, so that Lua's setjmp/longjmp error
 * handling unwinds through the frames of this library (and of the main module or liblua.so). */
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

/* Counts the finalized counters (userdata with __gc); reported by the destructor at dlclose. */
static int finalized;

__attribute__((constructor)) static void luamod_loaded(void)
{
    printf("luamod: constructor\n");
}

__attribute__((destructor)) static void luamod_unloaded(void)
{
    printf("luamod: destructor, %d counters finalized\n", finalized);
}

/* add(a, b): integers, with luaL_check* argument errors. */
static int add(lua_State *L)
{
    lua_Integer a = luaL_checkinteger(L, 1);
    lua_Integer b = luaL_checkinteger(L, 2);
    lua_pushinteger(L, a + b);
    return 1;
}

/* map(t, f): a new table of f(t[i]); f is called from C. */
static int map(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_Integer n = luaL_len(L, 1);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushvalue(L, 2);
        lua_geti(L, 1, i);
        lua_call(L, 1, 1);
        lua_seti(L, -2, i);
    }
    return 1;
}

/* fail(msg): error() raised in C (luaL_error: a longjmp out of this library). */
static int fail(lua_State *L)
{
    const char *msg = luaL_checkstring(L, 1);
    return luaL_error(L, "luamod.fail: %s", msg);
}

/* call(f, ...): calls f unprotected; an error in f unwinds through this frame. */
static int call(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* protect(f): calls f with lua_pcall from C; returns "ok" and f's result, or "caught" and the
 * error. The setjmp is in the library that defines lua_pcall, the longjmp wherever f fails. */
static int protect(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    int status = lua_pcall(L, 0, 1, 0);
    lua_pushstring(L, status == LUA_OK ? "ok" : "caught");
    lua_insert(L, -2);
    return 2;
}

/* callk(f): calls f with a continuation, so that f may yield across this C function: the yield
 * longjmps out of this frame, and coroutine.resume continues in finish. */
static int finish(lua_State *L, int status, lua_KContext ctx)
{
    lua_pushfstring(L, "callk(%s) finished with %s (%s)", (const char *)ctx,
                    luaL_tolstring(L, -1, NULL), status == LUA_YIELD ? "after a yield" : "directly");
    return 1;
}

static int callk(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    static const char tag[] = "f";
    lua_callk(L, 0, 1, (lua_KContext)tag, finish);
    return finish(L, LUA_OK, (lua_KContext)tag);
}

/* counter(): a userdata with methods and a finalizer. */
typedef struct {
    lua_Integer n;
} Counter;

static int counter_new(lua_State *L)
{
    Counter *c = lua_newuserdatauv(L, sizeof *c, 0);
    c->n = 0;
    luaL_setmetatable(L, "luamod.Counter");
    return 1;
}

static int counter_inc(lua_State *L)
{
    Counter *c = luaL_checkudata(L, 1, "luamod.Counter");
    c->n += luaL_optinteger(L, 2, 1);
    lua_pushinteger(L, c->n);
    return 1;
}

static int counter_gc(lua_State *L)
{
    (void)luaL_checkudata(L, 1, "luamod.Counter");
    finalized++;
    return 0;
}

static int counter_tostring(lua_State *L)
{
    Counter *c = luaL_checkudata(L, 1, "luamod.Counter");
    lua_pushfstring(L, "Counter(%d)", (int)c->n);
    return 1;
}

static const luaL_Reg counter_methods[] = {
    {"inc", counter_inc},
    {"__gc", counter_gc},
    {"__tostring", counter_tostring},
    {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"add", add},         {"map", map},         {"fail", fail},
    {"call", call},       {"protect", protect}, {"callk", callk},
    {"counter", counter_new}, {NULL, NULL},
};

int luaopen_luamod(lua_State *L)
{
    if (luaL_newmetatable(L, "luamod.Counter")) {
        luaL_setfuncs(L, counter_methods, 0);
        lua_pushvalue(L, -1);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, functions);
    /* require passes the module name and the file it was found in. */
    lua_pushstring(L, luaL_checkstring(L, 1));
    lua_setfield(L, -2, "name");
    lua_pushstring(L, luaL_checkstring(L, 2));
    lua_setfield(L, -2, "file");
    return 1;
}
