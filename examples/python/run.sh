#!/usr/bin/env bash
# CPython as componentize-py ships it, composed with wasm-dl: componentize-py's libpython3.14.so,
# libc.so and libwasi-emulated-*.so (extracted from the PyPI package by
# scripts/componentize-py-libs.py), a -shared C main embedding CPython (main.c) and two extension
# modules of ours (spam.abi3.so, noinit.abi3.so); runs test.py in wasmtime:
#
#   examples/python/run.sh [--native]     # outputs go to examples/python/build/
#
# --native also builds main.c, spam.c and noinit.c with gcc against this machine's CPython 3.11
# (python3.11-dev) and diffs the outputs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EX=examples/python
B=$EX/build
mkdir -p "$B/ext"
# 1. The toolchain and the project venv (scripts/setup.sh installs componentize-py from PyPI with
#    pip, scripts/python-requirements.txt), componentize-py's libraries and stdlib extracted.
SYSROOT="$(bash scripts/setup.sh --print-sysroot)"
CACHE="${WASM_DL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasm-dl}"
W="$("$CACHE/venv/bin/python" scripts/componentize-py-libs.py -q)"

# 2. main.so (a -shared main with wasip2's crt1-command.o: an all-PIC input set, as wasi-sdk
#    builds), the extension modules, with clang-19.
P2="$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2/lib/self-contained"
CC=(clang-19 --target=wasm32-wasi "--sysroot=$SYSROOT" -fPIC -fvisibility=default -O2)
LD=(wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic)
"${CC[@]}" -c $EX/main.c -o "$B/main.o"
"${LD[@]}" "$P2/crt1-command.o" "$B/main.o" -o "$B/main.so"
for m in spam noinit; do
  "${CC[@]}" -c "$EX/$m.c" -o "$B/$m.o"
  "${LD[@]}" "$B/$m.o" -o "$B/ext/$m.abi3.so"
done
cp $EX/test.py $EX/bad.abi3.so "$B/ext/"

# 3. Compose. libpython's dylink.0 NEEDs libdl.so, which nobody ships: wasm-dl provides it.
rm -f "$B/app.wasm"
cargo run -q -p wasm-dl -- compose "$B/main.so" "$W/libc.so" "$W/libpython3.14.so" \
  "$W/libwasi-emulated-signal.so" "$W/libwasi-emulated-getpid.so" \
  "$W/libwasi-emulated-process-clocks.so" "$B/ext/spam.abi3.so" "$B/ext/noinit.abi3.so" -o "$B/app.wasm"

# 4. Run: the stdlib at /python-home (PYTHONHOME), test.py and the extensions at /ext, where
#    CPython's importer finds spam.abi3.so and calls dlopen("/ext/spam.abi3.so"), which wasm-dl
#    matches by basename. The first run compiles the component (about a minute in this debug build
#    of wasmtime); later runs of the same app.wasm load it compiled.
cargo run -q -p wasm-dl-tests --bin wasm-dl-run -- --dir "$W/python-home::/python-home" \
  --dir "$B/ext::/ext" --env PYTHONHOME=/python-home --env PYTHONDONTWRITEBYTECODE=1 "$B/app.wasm" /ext/test.py one two | tee "$B/wasm.out"

# 5. Optionally the native reference: the same sources with gcc and CPython 3.11.
if [ "${1:-}" = "--native" ]; then
  N=$B/native
  mkdir -p "$N"
  read -r -a PYLIBS < <(python3.11-config --embed --ldflags)
  gcc -O2 $EX/main.c -o "$N/main" "${PYLIBS[@]}"
  for m in spam noinit; do gcc -O2 -fPIC -shared "$EX/$m.c" -o "$N/$m.abi3.so"; done
  cp $EX/test.py $EX/bad.abi3.so "$N/"
  PYTHONHOME="$(python3.11-config --prefix)" PYTHONDONTWRITEBYTECODE=1 PYTHONIOENCODING=utf-8 "$N/main" "$N/test.py" one two >"$B/native.out"
  diff -u "$B/native.out" "$B/wasm.out" && echo "run.sh: same output as native CPython"
fi
