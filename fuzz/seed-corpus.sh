#!/usr/bin/env bash
# Gathers the fuzzers' seed corpus from the test cases, into OUT (default
# ~/.cache/wasm-dl/fuzz-corpus/seeds): OUT/parse gets single modules, OUT/compose whole
# compositions (main module and libraries concatenated, main first: the compose target splits its
# input at each `\0asm`).
#
#   fuzz/seed-corpus.sh [OUT]
#
# Sources, each used when present:
# - the fixtures the test suite cached (`cargo test -p wasm-dl-tests --test cases` builds them into
#   ${CARGO_TARGET_DIR:-~/.cache/wasm-dl/target}/wasm-dl-fixtures);
# - tests/cases/*: every library source built with clang-19/wasm-ld-19 as README shows (PIC,
#   `-shared`), main.c as an ordinary executable exporting its symbols; builds are cached in
#   OUT/../builds by the hash of their sources and flags, and failures (cases about malformed
#   inputs) skipped;
# - the cases' hand-written `.so`/`main.wasm` files and, with wasm-tools on PATH, their `.wat` files.
# Nothing built here is committed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
cache=${WASM_DL_CACHE:-$HOME/.cache/wasm-dl}
out=${1:-$cache/fuzz-corpus/seeds}
builds=$(dirname "$out")/builds
mkdir -p "$out/parse" "$out/compose" "$builds"
sysroot=${WASM_DL_SYSROOT:-$cache/sysroot}
clang=${WASM_DL_CLANG:-$(command -v clang-19 || echo /usr/lib/llvm-19/bin/clang)}
wasm_ld=${WASM_DL_WASM_LD:-$(command -v wasm-ld-19 || echo /usr/lib/llvm-19/bin/wasm-ld)}

# add DIR FILE: copies FILE into DIR under its content hash.
add() {
    local h
    h=$(sha256sum "$2" | cut -c1-16)
    cp "$2" "$1/$h"
}

n_fixtures=0
fixtures=${CARGO_TARGET_DIR:-$cache/target}/wasm-dl-fixtures
if [ -d "$fixtures" ]; then
    for f in "$fixtures"/*.wasm; do
        [ -f "$f" ] || continue
        # Skip big builds (libc.so): they slow every execution down.
        [ "$(stat -c %s "$f")" -le 262144 ] || continue
        add "$out/parse" "$f"
        n_fixtures=$((n_fixtures + 1))
    done
fi

# build KIND OUT SOURCES...: cached clang build of a library (lib) or main module (main).
build() {
    local kind=$1 dst=$2
    shift 2
    local key
    key=$( (echo "$kind v1"; "$clang" --version | head -1; cat "$root/include/dlfcn.h" "$@") | sha256sum | cut -c1-32)
    if [ ! -f "$builds/$key.wasm" ]; then
        local tmp
        tmp=$(mktemp -d)
        local ok=1
        if [ "$kind" = lib ]; then
            local objs=()
            for s in "$@"; do
                "$clang" --target=wasm32-wasi --sysroot="$sysroot" -fPIC -fvisibility=default -O2 \
                    -I"$root/include" -c "$s" -o "$tmp/$(basename "$s").o" 2>/dev/null || ok=0
                objs+=("$tmp/$(basename "$s").o")
            done
            [ $ok = 1 ] && "$wasm_ld" -shared --experimental-pic --unresolved-symbols=import-dynamic \
                "${objs[@]}" -o "$tmp/out.wasm" 2>/dev/null || ok=0
        else
            "$clang" --target=wasm32-wasi --sysroot="$sysroot" -O2 -fvisibility=default -I"$root/include" \
                -Wl,--export-table -Wl,--growable-table -Wl,--export=__stack_pointer \
                -Wl,--export=malloc -Wl,--export=free -Wl,--export-dynamic -Wl,--allow-undefined \
                "$@" -o "$tmp/out.wasm" 2>/dev/null || ok=0
        fi
        if [ $ok = 1 ]; then
            mv "$tmp/out.wasm" "$builds/$key.wasm"
        else
            : >"$builds/$key.failed"
        fi
        rm -rf "$tmp"
    fi
    [ -f "$builds/$key.wasm" ] && cp "$builds/$key.wasm" "$dst"
}

n_cases=0
if [ -x "$clang" ] && [ -x "$wasm_ld" ] && [ -f "$sysroot/lib/wasm32-wasi/libc.a" -o -d "$sysroot/lib" ]; then
    for case in tests/cases/*/; do
        name=$(basename "$case")
        # All-PIC cases need wasip2's libc.so, left to the test suite's cached fixtures.
        grep -qx pic "$case/main-flags" 2>/dev/null && continue
        dir=$(mktemp -d)
        src=$case
        [ -f "$case/sources" ] && src="$case/$(cat "$case/sources")"
        parts=()
        if [ -f "$case/main.c" ]; then
            build main "$dir/main.wasm" "$case/main.c" && parts+=("$dir/main.wasm")
        elif [ -f "$src/main.c" ]; then
            build main "$dir/main.wasm" "$src/main.c" && parts+=("$dir/main.wasm")
        elif [ -f "$case/main.wasm" ]; then
            parts+=("$case/main.wasm")
        fi
        for c in "$case"/*.c "$src"/*.c; do
            [ -f "$c" ] || continue
            stem=$(basename "$c" .c)
            [ "$stem" = main ] && continue
            [ -f "$dir/$stem.so" ] && continue
            build lib "$dir/$stem.so" "$c" && parts+=("$dir/$stem.so")
        done
        for so in "$case"/*.so; do
            [ -f "$so" ] && parts+=("$so")
        done
        if command -v wasm-tools >/dev/null; then
            for w in "$case"/*.wat; do
                [ -f "$w" ] || continue
                wasm-tools parse "$w" -o "$dir/$(basename "$w" .wat).wasm" 2>/dev/null &&
                    parts+=("$dir/$(basename "$w" .wat).wasm")
            done
        fi
        for p in "${parts[@]}"; do
            add "$out/parse" "$p"
        done
        if [ ${#parts[@]} -gt 0 ]; then
            cat "${parts[@]}" >"$out/compose/$name"
            n_cases=$((n_cases + 1))
        fi
        rm -rf "$dir"
    done
else
    echo "seed-corpus.sh: no clang-19/wasm-ld-19/sysroot (scripts/setup.sh installs them): no case builds" >&2
fi
echo "seed-corpus.sh: $(ls "$out/parse" | wc -l) parse seeds ($n_fixtures cached fixtures), $n_cases compose seeds in $out" >&2
