#!/usr/bin/env bash
# Installs what wasm-dl's tests and examples need and prepares a wasi sysroot.
#
#   scripts/setup.sh            # idempotent; silent and fast when everything is there
#   WASM_DL_CACHE=/some/dir scripts/setup.sh
#
# Needs: Debian 12 (bookworm) with rustup. Installs the apt packages clang-19, lld-19, clang-22,
# lld-22, libclang-rt-{19,22}-dev-wasm32, wasi-libc, libc++-19-dev-wasm32 and
# libc++abi-19-dev-wasm32 (wasm32 libc++.a/libc++abi.a in /usr/lib/llvm-19/lib/wasm32-wasi, headers
# under the wasi include dir; built without exceptions), cmake (examples/cmake-plugins) and the
# rustup targets wasm32-wasip1, wasm32-wasip2 (its PIC libc.a makes the libc.so of all-PIC input
# sets), wasm32-unknown-unknown; jco (npm) into
# $WASM_DL_CACHE/jco and a Python venv $WASM_DL_CACHE/venv with scripts/python-requirements.txt
# (wasm-tools, zstandard, componentize-py). Everything the tests use comes from here or from apt.
#
# The sysroot ($WASM_DL_CACHE/sysroot, default ~/.cache/wasm-dl/sysroot) is made of symlinks:
#   include/wasm32-wasi -> /usr/include/wasm32-wasi                       (Debian's wasi-libc headers)
#   lib/wasm32-wasi/*   -> <rust sysroot>/lib/rustlib/wasm32-wasip1/lib/self-contained/*
# Rust's wasi-libc is used for crt1/libc.a because Debian's (2022) crt1-command.o does not call
# __wasm_call_ctors, which makes wasm-ld wrap every export of main so that it runs the destructors
# (stdio flush) after each call: fatal when libraries call back into main. Debian's empty placeholder
# archives (libm.a, libdl.a, ...) are linked too so that -lm and friends keep working, and so are its
# libwasi-emulated-signal.a and libwasi-emulated-process-clocks.a (small, self-contained; quickjs-ng
# links both on WASI), which Rust's directory lacks.
# Prints the sysroot path as its last line only with --print-sysroot.
set -euo pipefail

# clang-22/lld-22 (bookworm-security): the second LLVM of the case matrix, and the one that emits
# the standard exception-handling encoding that setjmp/longjmp needs.
APT_PACKAGES=(clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc clang-22 lld-22
  libclang-rt-22-dev-wasm32 libc++-19-dev-wasm32 libc++abi-19-dev-wasm32 cmake)
RUST_TARGETS=(wasm32-wasip1 wasm32-wasip2 wasm32-unknown-unknown)
CACHE="${WASM_DL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasm-dl}"
SYSROOT="$CACHE/sysroot"
PRINT_SYSROOT=0
for arg in "$@"; do
  case "$arg" in
    --print-sysroot) PRINT_SYSROOT=1 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

say() { echo "setup.sh: $*" >&2; }

# --- apt packages --------------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    say "missing packages ${missing[*]} and no apt-get: install them by hand"
    exit 1
  fi
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "need root or sudo to install: ${missing[*]}"; exit 1; }
    SUDO=(sudo)
  fi
  say "installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- rustup targets ------------------------------------------------------------------------------
command -v rustc >/dev/null || { say "rustc not found: install Rust with rustup first"; exit 1; }
if command -v rustup >/dev/null; then
  installed="$(rustup target list --installed)"
  for t in "${RUST_TARGETS[@]}"; do
    if ! grep -qx "$t" <<<"$installed"; then
      say "adding rustup target $t"
      rustup target add "$t" >/dev/null
    fi
  done
fi

# --- rustup components used by scripts/test.sh --------------------------------------------------
if command -v rustup >/dev/null; then
  components="$(rustup component list --installed 2>/dev/null || true)"
  for c in rustfmt clippy; do
    if ! grep -q "^$c" <<<"$components"; then
      say "adding rustup component $c"
      rustup component add "$c" >/dev/null
    fi
  done
fi

# --- sysroot -------------------------------------------------------------------------------------
RUST_LIBDIR="$(rustc --print sysroot)/lib/rustlib/wasm32-wasip1/lib/self-contained"
DEB_INCLUDE=/usr/include/wasm32-wasi
DEB_LIBDIR=/usr/lib/wasm32-wasi
[ -f "$RUST_LIBDIR/crt1-command.o" ] || { say "no $RUST_LIBDIR/crt1-command.o (rustup target add wasm32-wasip1)"; exit 1; }
[ -f "$DEB_INCLUDE/stdio.h" ] || { say "no $DEB_INCLUDE/stdio.h (apt-get install wasi-libc)"; exit 1; }

# link NAME TARGET: make NAME a symlink to TARGET unless it already is one.
link() {
  if [ "$(readlink "$1" 2>/dev/null)" != "$2" ]; then
    ln -sfn "$2" "$1"
  fi
}
mkdir -p "$SYSROOT/include" "$SYSROOT/lib/wasm32-wasi"
link "$SYSROOT/include/wasm32-wasi" "$DEB_INCLUDE"
for f in "$RUST_LIBDIR"/*; do
  link "$SYSROOT/lib/wasm32-wasi/$(basename "$f")" "$f"
done
# Debian's empty placeholder archives (8 bytes: just the ar magic) for libraries Rust's dir lacks.
for f in "$DEB_LIBDIR"/lib*.a; do
  name="$(basename "$f")"
  if [ ! -e "$RUST_LIBDIR/$name" ] && [ "$(stat -c %s "$f")" -le 8 ]; then
    link "$SYSROOT/lib/wasm32-wasi/$name" "$f"
  fi
done
# wasi-libc's emulation libraries (signal(), clock()/times()), which Rust's directory lacks.
for name in libwasi-emulated-signal.a libwasi-emulated-process-clocks.a; do
  if [ ! -e "$RUST_LIBDIR/$name" ] && [ -f "$DEB_LIBDIR/$name" ]; then
    link "$SYSROOT/lib/wasm32-wasi/$name" "$DEB_LIBDIR/$name"
  fi
done
# Drop links left dangling by a Rust toolchain update.
find "$SYSROOT/lib/wasm32-wasi" -xtype l -delete

# --- smoke test, once per sysroot content --------------------------------------------------------
stamp="$SYSROOT/.checked"
key="$(clang-19 --version | head -1) $RUST_LIBDIR $(stat -c %Y "$RUST_LIBDIR/libc.a")"
if [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >"$tmp/hello.c"
  if ! clang-19 --target=wasm32-wasi --sysroot="$SYSROOT" -O2 "$tmp/hello.c" -o "$tmp/hello.wasm"; then
    say "clang-19 cannot build a wasi hello world with --sysroot=$SYSROOT"
    exit 1
  fi
  printf '%s\n' "$key" >"$stamp"
fi

# --- jco: a second component-model runtime (Node.js), for the ::jco runs of tests/tests/cases.rs -----
# Node's own CA store lacks a machine's local CAs; npm's config may name them (cafile), node may not.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
JCO_DIR="$CACHE/jco"
if [ ! -x "$JCO_DIR/node_modules/.bin/jco" ]; then
  command -v npm >/dev/null || { say "npm not found: install Node.js 20 and npm (apt-get install nodejs npm)"; exit 1; }
  say "installing jco 1.35.0 into $JCO_DIR"
  mkdir -p "$JCO_DIR"
  npm install --silent --no-audit --no-fund --prefix "$JCO_DIR" \
    @bytecodealliance/jco@1.35.0 @bytecodealliance/preview2-shim@0.26.1 >/dev/null
fi

# --- Python tools in a venv the project owns ($CACHE/venv): wasm-tools (the peer, and the plug step of
# examples/compose-pipeline), zstandard and componentize-py (CPython's wasi-sdk libraries). Nothing is
# installed with `pip --user` (~/.local/bin is not on PATH on a fresh machine); tests and the bench find
# the tools here (tests/src/tools.rs).
VENV="$CACHE/venv"
REQS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/python-requirements.txt"
venv_key="$(cat "$REQS")"
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$venv_key" ] || [ ! -x "$VENV/bin/python" ]; then
  command -v python3 >/dev/null || { say "python3 not found: apt-get install python3 python3-venv"; exit 1; }
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python venv $VENV"
    python3 -m venv "$VENV" || { say "python3 -m venv failed: apt-get install python3-venv"; exit 1; }
  fi
  say "installing $(grep -v '^#' "$REQS" | tr '\n' ' ')into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
  printf '%s' "$venv_key" >"$VENV/.installed"
fi

if ((PRINT_SYSROOT)); then
  echo "$SYSROOT"
fi
