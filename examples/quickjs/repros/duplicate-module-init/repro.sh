#!/usr/bin/env bash
# Two libraries that each define `module_init`, looked up per handle (RTLD_LOCAL): compose warns, and
# `compose --strict` refuses, although nothing binds to the symbol globally. Run from anywhere.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../../.." && pwd)"
S="$(bash "$ROOT/scripts/setup.sh" --print-sysroot)"
B="$(mktemp -d)"
W=(cargo run -q --manifest-path "$ROOT/Cargo.toml" -p wasm-dl --)
for l in a b; do
  clang-19 --target=wasm32-wasi "--sysroot=$S" -fPIC -fvisibility=default -O2 -c "$HERE/$l.c" -o "$B/$l.o"
  wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic "$B/$l.o" -o "$B/$l.so"
done
# shellcheck disable=SC2046
clang-19 --target=wasm32-wasi "--sysroot=$S" -O2 "-I$ROOT/include" "$HERE/main.c" -o "$B/main.wasm" \
  $("${W[@]}" flags main "$B/a.so" "$B/b.so")
cd "$B"
"${W[@]}" compose main.wasm a.so b.so -o app.wasm
cargo run -q --manifest-path "$ROOT/Cargo.toml" -p wasm-dl-tests --bin wasm-dl-run -- app.wasm
"${W[@]}" compose --strict main.wasm a.so b.so -o app2.wasm || echo "compose --strict: exit $?"
