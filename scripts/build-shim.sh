#!/usr/bin/env bash
# Rebuilds the dl shim adapter and writes shim/wasm-dl-shim.wasm (commit the result).
#
# The source of truth is the composer's `shim_fresh` test: it builds the `wasm-dl-shim` crate for
# wasm32-unknown-unknown with the `provider` profile (paths remapped, as for the provider), turns
# the linked module into a wit-component adapter (state in globals, main's memory, no stack) and,
# with WASM_DL_BLESS=1, writes the file. Without WASM_DL_BLESS the same test fails when the
# committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
  echo "installing the wasm32-unknown-unknown target" >&2
  rustup target add wasm32-unknown-unknown
fi

WASM_DL_BLESS=1 cargo test -p wasm-dl --test shim_fresh -- --nocapture shim_adapter_is_fresh
ls -l shim/wasm-dl-shim.wasm
