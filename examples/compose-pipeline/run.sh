#!/usr/bin/env bash
# The compose pipeline: build examples/plugin-app, compose it with `--provider external` (the
# component keeps importing wasm-dl:dl/dl), write the matching provider with `wasm-dl provider`,
# plug the two with `wasm-tools compose` (or `wac plug` when wasm-tools is missing), run the result.
#
#   examples/compose-pipeline/run.sh        # output in examples/compose-pipeline/build/
#
# Needs `wasm-tools`: $WASM_TOOLS, else the one scripts/setup.sh installs into the project's venv
# (~/.cache/wasm-dl/venv/bin/wasm-tools), else one on PATH; or `wac` (cargo install wac-cli).
# WASM_DL and WASM_DL_RUN name prebuilt `wasm-dl` and `wasm-dl-run` binaries (the test does that);
# otherwise they are run with cargo.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EX=examples/plugin-app
B=examples/compose-pipeline/build
if [ -n "${WASM_DL:-}" ]; then WDL=("$WASM_DL"); else WDL=(cargo run -q -p wasm-dl --); fi
if [ -n "${WASM_DL_RUN:-}" ]; then RUN=("$WASM_DL_RUN"); else RUN=(cargo run -q -p wasm-dl-tests --bin wasm-dl-run --); fi

SYSROOT="$(bash scripts/setup.sh --print-sysroot)"
CACHE="${WASM_DL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasm-dl}"
if [ -z "${WASM_TOOLS:-}" ] && [ -x "$CACHE/venv/bin/wasm-tools" ]; then WASM_TOOLS="$CACHE/venv/bin/wasm-tools"; fi
if [ -z "${WASM_TOOLS:-}" ] && command -v wasm-tools >/dev/null; then WASM_TOOLS=wasm-tools; fi
CC=(clang-19 --target=wasm32-wasi "--sysroot=$SYSROOT")
rm -rf "$B"
mkdir -p "$B"

# 1. The plugins and the main module, as in scripts/run-example.sh.
for lib in greet other; do
  "${CC[@]}" -fPIC -fvisibility=default -O2 -c "$EX/$lib.c" -o "$B/$lib.o"
  wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic "$B/$lib.o" -o "$B/lib$lib.so"
done
MAIN_FLAGS=()
while read -r flag; do
  [ -n "$flag" ] && MAIN_FLAGS+=("$flag")
done < <("${WDL[@]}" flags main "$B/libgreet.so" "$B/libother.so" | tr ' ' '\n')
"${CC[@]}" -O2 -Iinclude "$EX/main.c" -o "$B/main.wasm" "${MAIN_FLAGS[@]}"

# 2. The application, still importing wasm-dl:dl/dl@0.1.0 ...
"${WDL[@]}" compose "$B/main.wasm" "$B/libgreet.so" "$B/libother.so" --provider external -o "$B/app.wasm"
# 3. ... and the provider that exports it, with this composition's library index.
"${WDL[@]}" provider "$B/main.wasm" "$B/libgreet.so" "$B/libother.so" -o "$B/provider.wasm"

# 4. Plug the provider into the application.
if [ -n "${WASM_TOOLS:-}" ]; then
  # wasm-tools compose (deprecated but fine) wants kebab-case file stems: provider.wasm is one.
  "$WASM_TOOLS" compose "$B/app.wasm" -d "$B/provider.wasm" -o "$B/composed.wasm" >/dev/null 2>&1 \
    || "$WASM_TOOLS" compose "$B/app.wasm" -d "$B/provider.wasm" -o "$B/composed.wasm"
elif command -v wac >/dev/null; then
  wac plug "$B/app.wasm" --plug "$B/provider.wasm" -o "$B/composed.wasm"
else
  echo "compose-pipeline: needs wasm-tools (bash scripts/setup.sh installs it) or wac" >&2
  exit 2
fi

# 5. Run it.
"${RUN[@]}" "$B/composed.wasm"
