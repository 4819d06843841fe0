#!/usr/bin/env bash
# Builds QuickJS as a wasm-dl main module, quickjs-ng's native-module examples fib.c and point.c
# (unmodified) and our callbacks.c and noinit.c as shared libraries, composes them into one
# component and runs test.js and callbacks.js in it with wasmtime:
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
# What quickjs-ng's CMakeLists.txt uses on WASI. It also links -lwasi-emulated-signal and
# -lwasi-emulated-process-clocks; this sysroot has neither library: qjs-dl.c stubs signal(), and
# nothing needs the process clocks.
DEFINES=(-D_GNU_SOURCE -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS)

# 1. The native modules: ordinary PIC side modules. QUICKJS_NG_MODULE_BUILD makes JS_MODULE_EXTERN
#    (on js_init_module) default visibility, as quickjs-ng's own build does.
read -r -a LIB_CFLAGS < <("${WASM_DL[@]}" flags lib | sed -n 's/^compile: //p')
read -r -a LIB_LDFLAGS < <("${WASM_DL[@]}" flags lib | sed -n 's/^link (wasm-ld): //p')
LIBS=(fib point callbacks noinit)
src() { case "$1" in fib | point) echo "$Q/examples/$1.c" ;; *) echo "$EX/$1.c" ;; esac; }
for m in "${LIBS[@]}"; do
  "${CC[@]}" "${LIB_CFLAGS[@]}" -O2 -DQUICKJS_NG_MODULE_BUILD "-I$Q" -c "$(src "$m")" -o "$B/$m.o"
  wasm-ld-19 "${LIB_LDFLAGS[@]}" "$B/$m.o" -o "$B/$m.so"
done
SOS=()
for m in "${LIBS[@]}"; do SOS+=("$B/$m.so"); done

# 2. The main module: the engine, quickjs-libc and our driver, non-PIC, exporting what the modules
#    import from it (`wasm-dl flags main` reads their imports).
pids=()
for f in "${ENGINE[@]}"; do
  if [ ! "$B/$f.o" -nt "$Q/$f.c" ]; then
    "${CC[@]}" -O2 "${DEFINES[@]}" "-I$Q" -w -c "$Q/$f.c" -o "$B/$f.o" & pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
OBJS=()
for f in "${ENGINE[@]}"; do OBJS+=("$B/$f.o"); done
MAIN_FLAGS=()
while read -r flag; do
  [ -n "$flag" ] && MAIN_FLAGS+=("$flag")
done < <("${WASM_DL[@]}" flags main "${SOS[@]}" | tr ' ' '\n')
"${CC[@]}" -O2 "${DEFINES[@]}" -Iinclude "-I$Q" "$EX/qjs-dl.c" "${OBJS[@]}" -o "$B/qjs-dl.wasm" \
  "${MAIN_FLAGS[@]}"

# 3. Compose one component; 4. run the scripts in it (the build directory is preopened as `.`, where
#    the driver finds them).
rm -f "$B/app.wasm"
"${WASM_DL[@]}" compose "$B/qjs-dl.wasm" "${SOS[@]}" -o "$B/app.wasm"
[ -f "$B/app.wasm" ] || { echo "run.sh: wasm-dl compose wrote no $B/app.wasm" >&2; exit 1; }
SCRIPTS=(test.js callbacks.js)
: > "$B/wasm.out"
for js in "${SCRIPTS[@]}"; do
  cp "$EX/$js" "$B/$js"
  echo "== $js"
  cargo run -q -p wasm-dl-tests --bin wasm-dl-run -- --dir "$B" "$B/app.wasm" "$js" | tee -a "$B/wasm.out"
done

# 5. Optionally the native reference: the same sources with gcc and glibc's dlopen.
if [ "${1:-}" = "--native" ]; then
  N=$B/native
  mkdir -p "$N"
  SRCS=()
  for f in "${ENGINE[@]}"; do SRCS+=("$Q/$f.c"); done
  gcc -O2 -D_GNU_SOURCE "-I$Q" -w "$EX/qjs-dl.c" "${SRCS[@]}" -o "$N/qjs-dl" -rdynamic -lm -ldl -lpthread
  for m in "${LIBS[@]}"; do
    gcc -O2 -fPIC -shared -DQUICKJS_NG_MODULE_BUILD "-I$Q" "$(src "$m")" -o "$N/$m.so"
  done
  : > "$B/native.out"
  for js in "${SCRIPTS[@]}"; do
    cp "$EX/$js" "$N/$js"
    (cd "$N" && ./qjs-dl "$js") >> "$B/native.out"
  done
  diff -u "$B/native.out" "$B/wasm.out" && echo "run.sh: same output as the native build"
fi
