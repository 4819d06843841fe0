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

failed=()
for t in "${targets[@]}"; do
    corpus=$cache/fuzz-corpus/$t
    artifacts=$cache/fuzz-artifacts/$t
    mkdir -p "$corpus" "$artifacts" "$cache/fuzz-corpus/seeds/$t" "fuzz/regressions/$t"
    log=$artifacts/last-run.log
    regressions=(fuzz/regressions/"$t"/*)
    if [ -e "${regressions[0]}" ]; then
        if ! "$bin/$t" -runs=1 "${regressions[@]}" >"$log" 2>&1; then
            echo "fuzz.sh: $t: a reproducer in fuzz/regressions/$t fails again:" >&2
            grep -E "panicked at|Running:" "$log" | tail -4 >&2
            failed+=("$t")
            continue
        fi
    fi
    max_len=()
    [ "$t" = parse ] && max_len=(-max_len=16384)
    echo "fuzz.sh: $t for ${secs}s" >&2
    if "$bin/$t" -max_total_time="$secs" -timeout=60 -rss_limit_mb=3072 -print_final_stats=1 \
        "${max_len[@]}" -artifact_prefix="$artifacts/" "$corpus" "$cache/fuzz-corpus/seeds/$t" \
        "fuzz/regressions/$t" >"$log" 2>&1; then
        grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" "$log" | sed "s/^/  $t /" >&2
    else
        echo "fuzz.sh: $t FOUND A FAULT (log: $log):" >&2
        grep -E "panicked at|^Failing input|artifact|ERROR" "$log" | head -8 >&2
        grep -A3 "panicked at" "$log" | head -6 >&2
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: findings in: ${failed[*]} (minimize with: cd fuzz && cargo +nightly fuzz tmin -s none TARGET INPUT)" >&2
    exit 1
fi
echo "fuzz.sh: no findings" >&2
