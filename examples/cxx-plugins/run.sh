#!/usr/bin/env bash
# A C++ plugin host composed with wasm-dl, built two ways, run in wasmtime:
#
#   examples/cxx-plugins/run.sh [--native]     # outputs go to examples/cxx-plugins/build/
#
#   static:  a non-PIC main.wasm with Debian's wasm32 libc++.a/libc++abi.a linked into it
#            (apt libc++-19-dev-wasm32 libc++abi-19-dev-wasm32), exporting what
#            `wasm-dl flags main libgreet.so libshout.so` asks for;
#   all-PIC: a -shared main.so with the libc.so, libc++.so and libc++abi.so that componentize-py
#            (PyPI) bundles (extracted by scripts/componentize-py-libs.py).
#
# compose's warnings (one per weak definition several modules share: normal for C++, see
# README.md) go to build/*.warnings. The plugins are the same PIC libgreet.so and libshout.so in
# both. Everything is compiled -fno-exceptions (Debian's libc++ is built without exceptions). --native also builds the same
# sources with g++ and diffs the outputs (tests/tests/cxx.rs does all of this too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EX=examples/cxx-plugins
B=$EX/build
mkdir -p "$B"
SYSROOT="$(bash scripts/setup.sh --print-sysroot)"
CACHE="${WASM_DL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasm-dl}"
cargo build -q -p wasm-dl -p wasm-dl-tests --bin wasm-dl --bin wasm-dl-run
TARGET="${CARGO_TARGET_DIR:-target}"
WASM_DL="$TARGET/debug/wasm-dl"
RUN="$TARGET/debug/wasm-dl-run"

CXX=(clang++-19 --target=wasm32-wasi "--sysroot=$SYSROOT" -Iinclude -fno-exceptions -O2)
LD=(wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic)

# 1. The plugins (PIC side modules).
for p in greet shout; do
  "${CXX[@]}" -fPIC -fvisibility=default -c "$EX/$p.cpp" -o "$B/$p.o"
  "${LD[@]}" "$B/$p.o" -o "$B/lib$p.so"
done

# 2. Static: main.wasm with libc++ linked in; `wasm-dl flags main` exports what the plugins import
#    from it (libc++'s std::string members, operator new/delete, __dynamic_cast, the type-info
#    vtables, main's Registry) and, with --export-if-defined, main's copies of what the plugins
#    define weakly too (Describable's type info, the inline variable and its guard), so that one
#    definition wins, as with -rdynamic on Linux.
mapfile -t FLAGS < <("$WASM_DL" flags main "$B/libgreet.so" "$B/libshout.so" 2>/dev/null)
"${CXX[@]}" "$EX/main.cpp" -L/usr/lib/llvm-19/lib/wasm32-wasi "${FLAGS[@]}" -o "$B/main.wasm"
"$WASM_DL" compose "$B/main.wasm" "$B/libgreet.so" "$B/libshout.so" -o "$B/app-static.wasm" 2>"$B/static.warnings"
echo "== static libc++ (main.wasm + libgreet.so + libshout.so)"
"$RUN" "$B/app-static.wasm" | tee "$B/static.out"

# 3. All-PIC: main.so (wasip2's crt1-command.o) with componentize-py's libc.so, libc++.so and
#    libc++abi.so (compiled against Debian's libc++ 19 headers: the same ABI namespace, __2).
W="$("$CACHE/venv/bin/python" scripts/componentize-py-libs.py -q)"
P2="$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2/lib/self-contained"
"${CXX[@]}" -fPIC -fvisibility=default -c "$EX/main.cpp" -o "$B/main.o"
"${LD[@]}" "$P2/crt1-command.o" "$B/main.o" -o "$B/main.so"
"$WASM_DL" compose "$B/main.so" "$W/libc.so" "$W/libc++abi.so" "$W/libc++.so" \
  "$B/libgreet.so" "$B/libshout.so" -o "$B/app-pic.wasm" 2>"$B/pic.warnings"
echo "== all-PIC (main.so + componentize-py's libc.so, libc++.so, libc++abi.so + plugins)"
"$RUN" "$B/app-pic.wasm" | tee "$B/pic.out"

# 4. Optionally the native reference: g++, plugins -fPIC -shared, main -rdynamic -ldl.
#    -fno-gnu-unique: g++ otherwise makes inline variables STB_GNU_UNIQUE, and glibc then never
#    unloads a library defining one (dlclose would keep libgreet.so loaded).
if [ "${1:-}" = "--native" ]; then
  N=$B/native
  mkdir -p "$N"
  GXX=(g++ -O1 -fno-exceptions -fno-gnu-unique)
  for p in greet shout; do "${GXX[@]}" -fPIC -shared "$EX/$p.cpp" -o "$N/lib$p.so"; done
  "${GXX[@]}" -rdynamic "$EX/main.cpp" -o "$N/main" -ldl
  (cd "$N" && LD_LIBRARY_PATH=. ./main) >"$B/native.out"
  diff -u "$B/native.out" "$B/static.out" && diff -u "$B/native.out" "$B/pic.out" &&
    echo "run.sh: both builds print what the native g++ build prints"
fi
