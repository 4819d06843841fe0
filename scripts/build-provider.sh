#!/usr/bin/env bash
# Rebuilds the provider component and writes provider/wasm-dl-provider.wasm (commit the result).
#
# The source of truth is the composer's `provider_fresh` test: it builds the `wasm-dl-provider` crate
# for wasm32-unknown-unknown with the `provider` profile (paths remapped, so the bytes do not depend
# on where the checkout lives), componentizes it and, with WASM_DL_BLESS=1, writes the file.
# Without WASM_DL_BLESS the same test fails when the committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
  echo "installing the wasm32-unknown-unknown target" >&2
  rustup target add wasm32-unknown-unknown
fi

WASM_DL_BLESS=1 cargo test -p wasm-dl --test provider_fresh -- --nocapture
ls -l provider/wasm-dl-provider.wasm
