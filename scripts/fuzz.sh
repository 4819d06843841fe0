#!/usr/bin/env bash
# Runs each fuzz target of fuzz/ briefly: builds them (cargo-fuzz, nightly), replays the committed
# reproducers in fuzz/regressions/<target>/, then fuzzes each target for SECONDS_PER_TARGET
# (default 30) from its corpus (~/.cache/wasm-dl/fuzz-corpus/<target>, kept between runs) and
# the seeds fuzz/seed-corpus.sh gathers from tests/cases. Exits non-zero if any target finds a
# crash, a hang or an invalid output; the input is left in ~/.cache/wasm-dl/fuzz-artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Installs cargo-fuzz (into ~/.cache/wasm-dl/cargo-fuzz) if missing. A long campaign: fuzz/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-30}
cache=${WASM_DL_CACHE:-$HOME/.cache/wasm-dl}
export CARGO_TARGET_DIR=${WASM_DL_FUZZ_TARGET_DIR:-$cache/fuzz-target}
export PATH="$cache/cargo-fuzz/bin:$HOME/.cargo/bin:$PATH"
targets=(parse compose provider)

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz.sh: no nightly toolchain; install it with: rustup toolchain install nightly --profile minimal" >&2
    exit 1
fi
if ! cargo-fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz into $cache/cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --root "$cache/cargo-fuzz"
fi

bash fuzz/seed-corpus.sh "$cache/fuzz-corpus/seeds"
# No sanitizer: the targets are safe Rust (twice the executions); overflow checks and debug
# assertions are on (cargo-fuzz's default), which is what finds arithmetic faults.
(cd fuzz && cargo +nightly fuzz build --sanitizer none)
bin=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release

# open_finding TARGET LOG: prints the open finding (fuzz/known-open.txt) the panic in LOG
# is, if it is one.
open_finding() {
    local t=$1 log=$2 sig what
    while IFS=$'\t' read -r target sig what; do
        case $target in '#'* | '') continue ;; esac
        [ "$target" = "$t" ] || continue
        if grep -qF -- "$sig" "$log"; then
            echo "$what"
            return 0
        fi
    done <fuzz/known-open.txt
    return 1
}

failed=()
open=()
for t in "${targets[@]}"; do
    corpus=$cache/fuzz-corpus/$t
    artifacts=$cache/fuzz-artifacts/$t
    mkdir -p "$corpus" "$artifacts" "$cache/fuzz-corpus/seeds/$t" "fuzz/regressions/$t"
    log=$artifacts/last-run.log
    for r in fuzz/regressions/"$t"/*; do
        [ -f "$r" ] || continue
        if ! "$bin/$t" -runs=1 "$r" >"$log" 2>&1; then
            if what=$(open_finding "$t" "$log"); then
                echo "fuzz.sh: $t: $r: still open: $what" >&2
                open+=("$r")
            else
                echo "fuzz.sh: $t: the reproducer $r fails:" >&2
                grep -A1 "panicked at" "$log" | head -4 >&2
                failed+=("$r")
            fi
        fi
    done
    max_len=()
    [ "$t" = parse ] && max_len=(-max_len=16384)
    echo "fuzz.sh: $t for ${secs}s" >&2
    if WASM_DL_FUZZ_KNOWN=$PWD/fuzz/known-open.txt "$bin/$t" -max_total_time="$secs" -timeout=60 -rss_limit_mb=3072 -print_final_stats=1 \
        "${max_len[@]}" -artifact_prefix="$artifacts/" "$corpus" "$cache/fuzz-corpus/seeds/$t" \
        >"$log" 2>&1; then
        grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" "$log" | sed "s/^/  $t /" >&2
    elif what=$(open_finding "$t" "$log"); then
        echo "fuzz.sh: $t stopped on an open finding ($what); log: $log" >&2
        open+=("$t")
    else
        echo "fuzz.sh: $t FOUND A FAULT (log: $log):" >&2
        grep -E "^Failing input|artifact_prefix|ERROR: libFuzzer" "$log" | head -4 >&2
        grep -A1 "panicked at" "$log" | head -4 >&2
        echo "  input: $(ls -t "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* 2>/dev/null | head -1)" >&2
        failed+=("$t")
    fi
done
[ ${#open[@]} -eq 0 ] || echo "fuzz.sh: open findings (fuzz/known-open.txt): ${open[*]}" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: findings in: ${failed[*]} (minimize with: cd fuzz && cargo +nightly fuzz tmin -s none TARGET INPUT)" >&2
    exit 1
fi
echo "fuzz.sh: no new findings" >&2
