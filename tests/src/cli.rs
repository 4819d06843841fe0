//! The `wasm-dl` command-line binary, built on demand into the same target directory and profile as
//! the running test (so it is never stale), or taken from `$WASM_DL_CLI`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of an up-to-date `wasm-dl` binary.
///
/// Runs `cargo build -p wasm-dl --bin wasm-dl` once per process (a no-op taking a fraction of a second
/// when `cargo build -p wasm-dl` ran before the tests). `$WASM_DL_CLI` skips that and names a binary.
pub fn wasm_dl_cli() -> Result<&'static Path> {
    static CLI: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    CLI.get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn build() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("WASM_DL_CLI") {
        return Ok(PathBuf::from(p));
    }
    // The running executable lives in <target>/<profile>/deps/ (tests) or <target>/<profile>/ (bins).
    let exe = std::env::current_exe()?;
    let target = crate::target_dir();
    let profile_dir = exe
        .ancestors()
        .find(|d| d.parent() == Some(target))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| target.join("debug"));
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "wasm-dl",
            "--bin",
            "wasm-dl",
            "--profile",
            &profile,
        ])
        .arg("--manifest-path")
        .arg(crate::workspace_root().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .with_context(|| format!("running {cargo:?} build -p wasm-dl"))?;
    if !status.success() {
        bail!("cargo build -p wasm-dl failed ({status})");
    }
    let bin = profile_dir.join(format!("wasm-dl{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!("{} missing after cargo build -p wasm-dl", bin.display());
    }
    Ok(bin)
}

/// Result of one CLI run.
#[derive(Debug)]
pub struct CliOutput {
    /// Whether it exited 0.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs `wasm-dl <args>` in `dir`.
pub fn run_cli(dir: &Path, args: &[&str]) -> Result<CliOutput> {
    let out = Command::new(wasm_dl_cli()?)
        .args(args)
        .current_dir(dir)
        .output()
        .context("running wasm-dl")?;
    Ok(CliOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
