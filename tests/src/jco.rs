//! Stage 3 of the seed: composed components "should just work in any valid component model
//! implementation". jco (`@bytecodealliance/jco`, installed by `scripts/setup.sh` when npm
//! exists) runs them on the machine's Node.js, with no experimental flags.

use crate::run::Output;
use anyhow::{Context, Result};
use std::process::Command;

/// Runs a command component with `jco run` (no arguments besides the program name).
pub fn run_jco(jco: &std::path::Path, component: &[u8]) -> Result<Output> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, component)?;
    let out = Command::new(jco)
        .arg("run")
        .arg(&path)
        .output()
        .with_context(|| format!("running {}", jco.display()))?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}
