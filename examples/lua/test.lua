-- Run by `lua test.lua` in a directory holding luamod.so and noinit.so, natively and in the
-- component; both must print the same. C modules are searched only here (and Lua files
-- nowhere), so that no message depends on where Lua is installed.
package.path = "./?.lua"
package.cpath = "./?.so"
print(_VERSION)

local m = require "luamod"
print("require:", m.name, m.file, package.loaded.luamod == m)
print("require again:", require "luamod" == m)

-- Calls into the C module and back into Lua.
print("add:", m.add(2, 40))
print("map:", table.concat(m.map({ 1, 2, 3, 4 }, function(x) return x * x end), " "))
print("call:", m.call(function(a, b) return b, a end, "x", "y"))

-- error() raised inside the C module, caught by pcall in Lua.
print("fail:", pcall(m.fail, "boom"))
print("bad argument:", pcall(m.add, 1, "two"))
print("bad self:", pcall(m.counter().inc, 5))

-- A Lua error unwinds through the C module's frame to pcall; an error object that is a table.
print("error through C:", pcall(m.call, function() error("from the callback") end))
local ok, e = pcall(m.call, function() error({ code = 7 }) end)
print("error object:", ok, type(e), e.code)
print("error through C, twice:", pcall(m.call, m.call, m.fail, "deep"))

-- The C module's own lua_pcall catches the error.
print("protect:", m.protect(function() return "fine" end))
print("protect:", m.protect(function() error("caught in C", 0) end))
print("protect, C error:", m.protect(function() m.fail("inner") end))

-- Coroutines: a yield across the C function (lua_callk continuation), an error inside a
-- coroutine, and a yield across a C function without a continuation.
local co = coroutine.create(function()
    return m.callk(function()
        local v = coroutine.yield("yielded from the callback")
        return "resumed with " .. v
    end)
end)
print("resume 1:", coroutine.resume(co))
print("resume 2:", coroutine.resume(co, 99))
print("status:", coroutine.status(co))
print("callk without a yield:", m.callk(function() return "direct" end))
co = coroutine.wrap(function() m.call(function() coroutine.yield(1) end) end)
print("yield across call:", pcall(co))
co = coroutine.create(function() m.fail("in a coroutine") end)
print("coroutine error:", coroutine.resume(co))

-- Userdata from the C module with methods and a finalizer.
local c = m.counter()
c:inc()
c:inc(10)
print("counter:", tostring(c), c:inc())
for _ = 1, 3 do m.counter():inc() end
c = nil
collectgarbage()
collectgarbage()

-- Deep recursion through C frames: Lua's C-stack limit, a longjmp from deep inside.
local depth = 0
local function recurse()
    depth = depth + 1
    return m.call(recurse)
end
ok, e = pcall(recurse)
print("deep recursion:", ok, e, depth > 100)

-- Modules that cannot be loaded: none found (the first line of the message, the rest lists
-- the paths tried), and a library without luaopen_noinit (dlsym's error).
ok, e = pcall(require, "missing")
print("missing:", ok, (e:match("^[^\n]*")))
print("paths tried:", select(2, e:gsub("no file", "")))
print("noinit:", pcall(require, "noinit"))
local f, why, where = package.loadlib("./noinit.so", "noinit_answer")
print("loadlib:", type(f), why, where)
print("loadlib missing:", select(3, package.loadlib("./absent.so", "f")))

print("done")
