#!/usr/bin/env bash
# Builds Lua 5.4 (sources from the crate lua-src, fetched by cargo) as a shared library liblua.so
# with its setjmp/longjmp error handling (clang-22, wasm exception handling), lua.c as the main
# module linked against it, and the C modules luamod.so and noinit.so, which Lua's `require` opens
# with dlopen. Composes them into one component and runs test.lua in it with wasmtime:
#
#   examples/lua/run.sh [--native]    # outputs go to examples/lua/build/
#
# --native also builds the same sources with gcc (real dlopen) and diffs the outputs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EX=examples/lua
B=$EX/build
mkdir -p "$B"

L="$(bash $EX/lua-src.sh)"   # Lua's sources, fetched by cargo
SYSROOT="$(bash scripts/setup.sh --print-sysroot)"
CC=(clang-22 --target=wasm32-wasi -Wno-deprecated "--sysroot=$SYSROOT")
WASM_DL=(cargo run -q -p wasm-dl --)
# Lua's makefile (CORE_O, LIB_O).
LUA=(lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes lparser lstate lstring
  ltable ltm lundump lvm lzio lauxlib lbaselib lcorolib ldblib liolib lmathlib loadlib loslib
  lstrlib ltablib lutf8lib linit)
# What lua-src builds Lua with for WASI, plus LUA_USE_DLOPEN (Linux's: require uses dlopen, from
# wasm-dl's include/dlfcn.h), and wasm setjmp/longjmp in the standard encoding (include/setjmp.h).
DEFINES=(-DLUA_COMPAT_5_3 -DLUA_USE_POSIX -DLUA_USE_DLOPEN -D_WASI_EMULATED_SIGNAL -Iinclude "-I$L")
SJLJ=(-mllvm -wasm-enable-sjlj -mllvm -wasm-use-legacy-eh=false)

read -r -a LIB_CFLAGS < <("${WASM_DL[@]}" flags lib | sed -n 's/^compile: //p')
read -r -a LIB_LDFLAGS < <("${WASM_DL[@]}" flags lib | sed -n 's/^link (wasm-ld): //p')

# 1. liblua.so and the C modules: ordinary PIC side modules.
pids=()
for f in "${LUA[@]}"; do
  if [ ! "$B/$f.o" -nt "$L/$f.c" ]; then
    "${CC[@]}" "${LIB_CFLAGS[@]}" -O2 "${DEFINES[@]}" "${SJLJ[@]}" -c "$L/$f.c" -o "$B/$f.o" &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
OBJS=()
for f in "${LUA[@]}"; do OBJS+=("$B/$f.o"); done
wasm-ld-22 "${LIB_LDFLAGS[@]}" "${OBJS[@]}" -o "$B/liblua.so"
MODS=(luamod noinit)
for m in "${MODS[@]}"; do
  "${CC[@]}" "${LIB_CFLAGS[@]}" -O2 "${DEFINES[@]}" "${SJLJ[@]}" -c "$EX/$m.c" -o "$B/$m.o"
  wasm-ld-22 "${LIB_LDFLAGS[@]}" "$B/$m.o" -o "$B/$m.so"
done

# 2. The main module: lua.c, linked against liblua.so, exporting what the libraries import from it.
MAIN_FLAGS=()
while read -r flag; do
  [ -n "$flag" ] && MAIN_FLAGS+=("$flag")
done < <("${WASM_DL[@]}" flags main "$B/liblua.so" "$B/luamod.so" "$B/noinit.so" | tr ' ' '\n')
"${CC[@]}" -O2 -fPIC "${DEFINES[@]}" "$EX/lua.c" -Wl,-Bdynamic "$B/liblua.so" -o "$B/lua.wasm" \
  "${MAIN_FLAGS[@]}"

# 3. Compose; 4. run test.lua in a directory holding the modules (Lua's searcher checks that
#    ./luamod.so can be opened before it calls dlopen).
rm -f "$B/app.wasm"
"${WASM_DL[@]}" compose "$B/lua.wasm" "$B/liblua.so" "$B/luamod.so" "$B/noinit.so" -o "$B/app.wasm"
[ -f "$B/app.wasm" ] || { echo "run.sh: wasm-dl compose wrote no $B/app.wasm" >&2; exit 1; }
R=$B/run
mkdir -p "$R"
cp "$EX/test.lua" "$B/luamod.so" "$B/noinit.so" "$R/"
cargo run -q -p wasm-dl-tests --bin wasm-dl-run -- --dir "$R" "$B/app.wasm" test.lua | tee "$B/wasm.out"

# 5. Optionally the native reference, built as Lua's makefile does on Linux.
if [ "${1:-}" = "--native" ]; then
  N=$B/native
  mkdir -p "$N"
  SRCS=()
  for f in "${LUA[@]}"; do SRCS+=("$L/$f.c"); done
  gcc -O2 -DLUA_COMPAT_5_3 -DLUA_USE_LINUX "-I$L" "$EX/lua.c" "${SRCS[@]}" -o "$N/lua" -Wl,-E -ldl -lm
  for m in "${MODS[@]}"; do
    gcc -O2 -fPIC -shared "-I$L" "$EX/$m.c" -o "$N/$m.so"
  done
  cp "$EX/test.lua" "$N/"
  (cd "$N" && ./lua test.lua) > "$B/native.out"
  diff -u "$B/native.out" "$B/wasm.out" && echo "run.sh: same output as the native build"
fi
