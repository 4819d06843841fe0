#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then lints and tests.
#
#   scripts/test.sh
#
# Set CARGO_TARGET_DIR to reuse compiled dependencies between clones (CI does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The runtime crates have code only for wasm (off wasm they are empty).
cargo clippy -p wasm-dl-shim -p wasm-dl-root-alloc -p wasm-dl-atexit --target wasm32-unknown-unknown --quiet -- -D warnings
# The CLI binary is used by the data-driven tests.
cargo build -p wasm-dl --quiet
cargo test --workspace --quiet
