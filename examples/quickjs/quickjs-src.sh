#!/usr/bin/env bash
# Prints the directory of the QuickJS (quickjs-ng) sources: `quickjs/` inside the crates.io crate
# rquickjs-sys, which tests/Cargo.toml declares as a never-built dependency so that cargo downloads it.
# Nothing of QuickJS is committed here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo metadata --format-version 1 --manifest-path "$ROOT/Cargo.toml" | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "rquickjs-sys":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "quickjs"))
        break
else:
    sys.exit("quickjs-src.sh: cargo metadata lists no rquickjs-sys (see tests/Cargo.toml)")
'
