//! Stage 3 of the seed: the composed component "should just work in any valid component model
//! implementation". The plugin-app example, composed by wasm-dl, also runs under jco (Node.js,
//! no experimental flags) and prints exactly what it prints under wasmtime.
//!
//! Skips (saying so) where Node.js or jco is missing; `scripts/setup.sh` installs jco when npm
//! exists.

use anyhow::{ensure, Context, Result};
use std::path::PathBuf;
use std::process::Command;
use wasm_dl_tests::toolchain::toolchain;
use wasm_dl_tests::{build_lib, build_main, workspace_root, CSource};

fn jco() -> Option<PathBuf> {
    let cache = toolchain().ok()?.sysroot.parent()?.to_path_buf();
    let jco = cache.join("jco/node_modules/.bin/jco");
    (jco.is_file() && Command::new("node").arg("--version").output().is_ok()).then_some(jco)
}

#[test]
fn plugin_app_runs_under_jco() -> Result<()> {
    let Some(jco) = jco() else {
        eprintln!(
            "skipping: jco or node not found (scripts/setup.sh installs jco when npm exists)"
        );
        return Ok(());
    };
    let ex = workspace_root().join("examples/plugin-app");
    let greet = build_lib(&[CSource::file(ex.join("greet.c"))?], &[])?;
    let other = build_lib(&[CSource::file(ex.join("other.c"))?], &[])?;
    let libs = [
        ("libgreet.so", greet.as_slice()),
        ("libother.so", other.as_slice()),
    ];
    let main = build_main(&[CSource::file(ex.join("main.c"))?], &libs, &[])?;
    let app = wasm_dl::Composer::new()
        .main("main.wasm", main)
        .library("libgreet.so", greet.clone())
        .library("libother.so", other.clone())
        .compose()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, &app)?;
    let out = Command::new(&jco)
        .arg("run")
        .arg(&path)
        .output()
        .with_context(|| format!("running {}", jco.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "jco run failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let expected =
        std::fs::read_to_string(workspace_root().join("tests/cases/plugin-app/expected-stdout"))?;
    ensure!(
        stdout == expected,
        "jco output differs:\n{stdout}\nexpected:\n{expected}"
    );
    Ok(())
}
