#!/usr/bin/env bash
# Builds QuickJS the way quickjs-ng builds it, with the engine as a shared library: libqjs.so (the
# engine and quickjs-libc, PIC) and quickjs-ng's own qjs.c as the main module, which calls into
# libqjs.so directly. quickjs-ng's native-module examples fib.c and point.c (unmodified) and our
# callbacks.c and noinit.c are shared libraries too, which quickjs-libc's own module loader in
# libqjs.so opens with dlopen. Composes them into one component and runs test.js and callbacks.js
# in it with wasmtime:
#
#   examples/quickjs/run.sh [--native]    # outputs go to examples/quickjs/build/
#
# --native also builds the same sources with gcc (real dlopen) and diffs the outputs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EX=examples/quickjs
B=$EX/build
mkdir -p "$B"

Q="$(bash $EX/quickjs-src.sh)"   # the quickjs-ng sources, fetched by cargo
SYSROOT="$(bash scripts/setup.sh --print-sysroot)"
CC=(clang-19 --target=wasm32-wasi "--sysroot=$SYSROOT")
WASM_DL=(cargo run -q -p wasm-dl --)
ENGINE=(quickjs libregexp libunicode dtoa quickjs-libc)
QJS=(qjs.c gen/repl.c gen/standalone.c)   # quickjs-ng's qjs_exe
# What quickjs-ng's CMakeLists.txt uses on WASI (it links the two emulation libraries into qjs), plus
# wasm-dl's dlfcn.h, which quickjs-libc includes only when not on WASI.
DEFINES=(-D_GNU_SOURCE -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -Iinclude -include dlfcn.h)
WASI_LIBS=(-lwasi-emulated-signal -lwasi-emulated-process-clocks)

read -r -a LIB_CFLAGS < <("${WASM_DL[@]}" flags lib | sed -n 's/^compile: //p')
read -r -a LIB_LDFLAGS < <("${WASM_DL[@]}" flags lib | sed -n 's/^link (wasm-ld): //p')

# 1. The native modules: ordinary PIC side modules. QUICKJS_NG_MODULE_BUILD makes JS_MODULE_EXTERN
#    (on js_init_module) default visibility, as quickjs-ng's own build does.
LIBS=(fib point callbacks noinit)
src() { case "$1" in fib | point) echo "$Q/examples/$1.c" ;; *) echo "$EX/$1.c" ;; esac; }
for m in "${LIBS[@]}"; do
  "${CC[@]}" "${LIB_CFLAGS[@]}" -O2 -DQUICKJS_NG_MODULE_BUILD "-I$Q" -c "$(src "$m")" -o "$B/$m.o"
  wasm-ld-19 "${LIB_LDFLAGS[@]}" "$B/$m.o" -o "$B/$m.so"
done
SOS=()
for m in "${LIBS[@]}"; do SOS+=("$B/$m.so"); done

# 2. libqjs.so: the engine and quickjs-libc. quickjs-libc compiles its dlopen loader
#    (js_module_loader_so) out on WASI in favour of a stub that throws "shared library modules are
#    not supported yet": the one line of QuickJS changed here, in a copy, turns the stub off.
python3 - "$Q/quickjs-libc.c" "$B/quickjs-libc.c" <<'PY'
import sys
src = open(sys.argv[1]).read()
stub = "#elif defined(__wasi__)\nstatic JSModuleDef *js_module_loader_so("
if src.count(stub) != 1:
    sys.exit("run.sh: quickjs-libc.c's WASI loader stub is not where expected (another quickjs-ng?)")
on = "#elif 0 /* wasm-dl: dlopen exists */\nstatic JSModuleDef *js_module_loader_so("
open(sys.argv[2], "w").write(src.replace(stub, on))
PY
pids=()
for f in "${ENGINE[@]}"; do
  c="$Q/$f.c"
  [ "$f" = quickjs-libc ] && c="$B/$f.c"
  if [ ! "$B/$f.o" -nt "$c" ]; then
    "${CC[@]}" "${LIB_CFLAGS[@]}" -O2 "${DEFINES[@]}" "-I$Q" -w -c "$c" -o "$B/$f.o" & pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
OBJS=()
for f in "${ENGINE[@]}"; do OBJS+=("$B/$f.o"); done
wasm-ld-19 "${LIB_LDFLAGS[@]}" "${OBJS[@]}" -o "$B/libqjs.so"

# 3. The main module: quickjs-ng's qjs.c, unmodified, an ordinary executable linked against
#    libqjs.so, exporting what the libraries import from it (`wasm-dl flags main` reads their
#    imports). Compiled -fPIC: qjs.c takes the address of libqjs.so's js_module_loader, which then
#    comes from a GOT.func import (without -fPIC wasm-ld 19 links it as 0; README.md).
MAIN_FLAGS=()
while read -r flag; do
  [ -n "$flag" ] && MAIN_FLAGS+=("$flag")
done < <("${WASM_DL[@]}" flags main "$B/libqjs.so" "${SOS[@]}" | tr ' ' '\n')
QJS_SRCS=()
for f in "${QJS[@]}"; do QJS_SRCS+=("$Q/$f"); done
"${CC[@]}" -O2 -fPIC "${DEFINES[@]}" "-I$Q" -w "${QJS_SRCS[@]}" "$B/libqjs.so" -o "$B/qjs.wasm" \
  "${MAIN_FLAGS[@]}" "${WASI_LIBS[@]}"

# 4. Compose one component; 5. run the scripts in it (the build directory is preopened as `.`, where
#    qjs finds them and quickjs-libc's loader finds `./fib.so`).
rm -f "$B/app.wasm"
"${WASM_DL[@]}" compose "$B/qjs.wasm" "$B/libqjs.so" "${SOS[@]}" -o "$B/app.wasm"
[ -f "$B/app.wasm" ] || { echo "run.sh: wasm-dl compose wrote no $B/app.wasm" >&2; exit 1; }
SCRIPTS=(test.js callbacks.js)
: > "$B/wasm.out"
for js in "${SCRIPTS[@]}"; do
  cp "$EX/$js" "$B/$js"
  echo "== $js"
  cargo run -q -p wasm-dl-tests --bin wasm-dl-run -- --dir "$B" "$B/app.wasm" "$js" | tee -a "$B/wasm.out"
done

# 6. Optionally the native reference: the same sources, unmodified, with gcc and glibc's dlopen.
if [ "${1:-}" = "--native" ]; then
  N=$B/native
  mkdir -p "$N"
  SRCS=()
  for f in "${ENGINE[@]}"; do SRCS+=("$Q/$f.c"); done
  gcc -O2 -D_GNU_SOURCE "-I$Q" -w "${QJS_SRCS[@]}" "${SRCS[@]}" -o "$N/qjs" -rdynamic -lm -ldl -lpthread
  for m in "${LIBS[@]}"; do
    gcc -O2 -fPIC -shared -DQUICKJS_NG_MODULE_BUILD "-I$Q" "$(src "$m")" -o "$N/$m.so"
  done
  : > "$B/native.out"
  for js in "${SCRIPTS[@]}"; do
    cp "$EX/$js" "$N/$js"
    (cd "$N" && ./qjs "$js") >> "$B/native.out"
  done
  diff -u "$B/native.out" "$B/wasm.out" && echo "run.sh: same output as the native build"
fi
