//! `examples/compose-pipeline/run.sh`: compose `--provider external`, `wasm-dl provider`, plug with
//! `wasm-tools compose` (or `wac plug`), run. Its output must be plugin-app's.
//! Uses the `wasm-tools` that `scripts/setup.sh` installs (a failure in CI when it is missing).

use std::process::Command;
use wasm_dl_tests::{cli::wasm_dl_cli, tools, workspace_root};

#[test]
fn compose_pipeline_example() {
    let Some(wasm_tools) = tools::require("compose_pipeline_example", tools::wasm_tools())
        .expect("wasm-tools for the plug step")
    else {
        return;
    };
    let root = workspace_root();
    let cli = wasm_dl_cli().expect("wasm-dl binary");
    let out = Command::new("bash")
        .arg(root.join("examples/compose-pipeline/run.sh"))
        .env("WASM_DL", cli)
        .env("WASM_TOOLS", wasm_tools)
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
