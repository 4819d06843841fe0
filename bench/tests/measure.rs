//! The measured child processes (`wasm_dl_bench::measure::run_child` through `child-measure`):
//! a command's own peak RSS, its failure, and the time box killing it.

use std::process::Command;
use std::time::{Duration, Instant};
use wasm_dl_bench::measure::{run_child, Outcome};

fn exe() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_wasm-dl-bench"))
}

#[test]
fn a_small_command_reports_its_own_peak_rss() {
    // `true` needs a few MiB; the test process (the parent) is not what is measured.
    match run_child(exe(), &Command::new("true"), Duration::from_secs(60)).unwrap() {
        Outcome::Ok(s) => assert!(s.max_rss < 20 << 20, "max_rss {} of `true`", s.max_rss),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failing_command_is_a_failure_with_its_status() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo broken >&2; exit 3"]);
    match run_child(exe(), &cmd, Duration::from_secs(60)).unwrap() {
        Outcome::Failed(e) => assert!(e.contains("0x300") && e.contains("broken"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_time_box_kills_the_command_too() {
    let start = Instant::now();
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    match run_child(exe(), &cmd, Duration::from_secs(1)).unwrap() {
        Outcome::TimedOut(_) => {}
        other => panic!("{other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "waited for the command"
    );
}
