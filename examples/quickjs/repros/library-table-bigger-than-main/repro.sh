#!/usr/bin/env bash
# A library whose table import asks for more slots (its minimum) than main's table has initially:
# compose produces a component that does not validate (main's table is passed as is).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../../.." && pwd)"
S="$(bash "$ROOT/scripts/setup.sh" --print-sysroot)"
B="$(mktemp -d)"
W=(cargo run -q --manifest-path "$ROOT/Cargo.toml" -p wasm-dl --)
clang-19 --target=wasm32-wasi "--sysroot=$S" -fPIC -fvisibility=default -O2 -c "$HERE/lib.c" -o "$B/lib.o"
wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic "$B/lib.o" -o "$B/lib.so"
# shellcheck disable=SC2046
clang-19 --target=wasm32-wasi "--sysroot=$S" -O2 "-I$ROOT/include" "$HERE/main.c" -o "$B/main.wasm" \
  $("${W[@]}" flags main "$B/lib.so")
wasm-tools print "$B/lib.so" | grep '__indirect_function_table' | head -1 || true
wasm-tools print "$B/main.wasm" | grep '(table' | head -1 || true
cd "$B"
"${W[@]}" compose main.wasm lib.so -o app.wasm || echo "compose: exit $?"
