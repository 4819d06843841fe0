#!/usr/bin/env bash
# Rebuilds the runtime modules written in Rust that the composer fits into compositions, and
# writes them (commit the result): shim/wasm-dl-shim.wasm (the dl shim),
# root-alloc/wasm-dl-root-alloc.wasm (the all-PIC root's malloc/free) and
# atexit/wasm-dl-atexit.wasm (the per-library destructor lists).
#
# The source of truth is the composer's `runtime_fresh` test: it builds each crate for
# wasm32-unknown-unknown with the `provider` profile (paths remapped, as for the provider) and,
# with WASM_DL_BLESS=1, writes the linked module. Without WASM_DL_BLESS the same test fails when
# a committed file is stale. `composer/src/synth/runtime.rs` checks the rules the code must keep
# (no static data, no shadow stack) when it fits a module in.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
  echo "installing the wasm32-unknown-unknown target" >&2
  rustup target add wasm32-unknown-unknown
fi

WASM_DL_BLESS=1 cargo test -p wasm-dl --test runtime_fresh -- --nocapture
ls -l shim/wasm-dl-shim.wasm root-alloc/wasm-dl-root-alloc.wasm atexit/wasm-dl-atexit.wasm
