#!/usr/bin/env bash
# Prints the directory of Lua 5.4's sources: `lua-5.4.9/` inside the crates.io crate lua-src, which
# tests/Cargo.toml declares as a never-built dependency so that cargo downloads it. Nothing of Lua
# is committed here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo metadata --format-version 1 --manifest-path "$ROOT/Cargo.toml" | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "lua-src":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "lua-5.4.9"))
        break
else:
    sys.exit("lua-src.sh: cargo metadata lists no lua-src (see tests/Cargo.toml)")
'
