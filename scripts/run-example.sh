#!/usr/bin/env bash
# Builds and runs examples/plugin-app: two C plugins (libgreet.so, libother.so) and a main module that
# dlopens them, composed with wasm-dl into one component and run in wasmtime.
#
#   scripts/run-example.sh        # output goes to examples/plugin-app/build/
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Compiled dependencies (wasmtime among them) are shared with scripts/test.sh and CI.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wasm-dl/target}"
EX=examples/plugin-app
B=$EX/build

SYSROOT="$(bash scripts/setup.sh --print-sysroot)"
CC=(clang-19 --target=wasm32-wasi "--sysroot=$SYSROOT")
mkdir -p "$B"

# 1. The plugins: ordinary PIC shared libraries (side modules with a dylink.0 section).
for lib in greet other; do
  "${CC[@]}" -fPIC -fvisibility=default -O2 -c "$EX/$lib.c" -o "$B/$lib.o"
  wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic "$B/$lib.o" -o "$B/lib$lib.so"
done

# 2. The main module: non-PIC, exporting its table, malloc/free and the libc symbols the plugins use.
MAIN_FLAGS=()
while read -r flag; do
  [ -n "$flag" ] && MAIN_FLAGS+=("$flag")
done < <(cargo run -q -p wasm-dl -- flags main "$B/libgreet.so" "$B/libother.so" | tr ' ' '\n')
"${CC[@]}" -O2 -Iinclude "$EX/main.c" -o "$B/main.wasm" "${MAIN_FLAGS[@]}"

# 3. Compose one component (for any component runtime: `wasmtime run app.wasm`), 4. run it in the
# wasmtime embedded in wasm-dl (`wasm-dl run MAIN LIBS...` would compose in memory instead).
rm -f "$B/app.wasm"
cargo build -q -p wasm-dl
WASM_DL="$CARGO_TARGET_DIR/debug/wasm-dl"
"$WASM_DL" compose "$B/main.wasm" "$B/libgreet.so" "$B/libother.so" -o "$B/app.wasm"
[ -f "$B/app.wasm" ] || { echo "run-example.sh: wasm-dl compose wrote no $B/app.wasm" >&2; exit 1; }
"$WASM_DL" run "$B/app.wasm"
