#!/usr/bin/env bash
# A non-PIC main module that imports a function defined by a library (undefined at link time,
# -Wl,--allow-undefined gives `(import "env" "lib_value")`). DESIGN.md says the composer breaks this
# cycle with trampolines; compose rejects the main module instead.
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
  $("${W[@]}" flags main "$B/lib.so") -Wl,--allow-undefined
wasm-tools print "$B/main.wasm" | grep '(import "env"' || true
cd "$B"
"${W[@]}" compose main.wasm lib.so -o app.wasm || echo "compose: exit $?"
