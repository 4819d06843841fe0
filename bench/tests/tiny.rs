//! Runs the whole benchmark at tiny scale so that the generator, the tool invocations and the
//! report cannot rot. No timing assertions: only that every row was produced and nothing failed.

use std::time::Duration;
use wasm_dl_bench::{Config, Scale};

#[test]
fn tiny_run_fills_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BENCHMARKS.md");
    let cfg = Config {
        scale: Scale::Tiny,
        out: out.clone(),
        work: dir.path().join("work"),
        exe: env!("CARGO_BIN_EXE_wasm-dl-bench").into(),
        limit: Duration::from_secs(300),
        keep: false,
        only_real: false,
        only_dlsym: false,
        real_sets: Vec::new(),
    };
    wasm_dl_bench::run(&cfg).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    for metric in [
        "compose wall time",
        "composer peak RSS",
        "output component size",
        "wasmtime compile time",
        "wasmtime compile peak RSS",
        "startup",
        "compose time scaling",
        "dlsym latency, repeated lookups",
        "the first `dlsym` of a name",
        "call through the dlsym'ed pointer",
    ] {
        // As many rows in the same-input (all-PIC) table as in the non-PIC one.
        let count = |t: &str| {
            t.lines()
                .filter(|l| l.starts_with(&format!("| {metric}")))
                .count()
        };
        let (same, nonpic) = text
            .split_once("## wasm-dl's non-PIC path")
            .expect("no non-PIC table");
        assert!(
            count(same) >= 1 && count(same) == count(nonpic),
            "`{metric}` rows missing in\n{text}"
        );
    }
    for row in text.lines().filter(|l| l.starts_with("| ")) {
        assert!(
            !row.contains("failed:") && !row.contains("(killed)"),
            "a tool failed or timed out: {row}"
        );
    }
}
