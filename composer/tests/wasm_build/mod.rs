//! Building the committed runtime modules (the provider component, the dl shim) from their Rust
//! crates, and the freshness check both tests share: rebuild, compare with the committed file,
//! or write it with `WASM_DL_BLESS=1`.
//!
//! The build is reproducible across checkouts at different paths and machines: the workspace path
//! and the cargo home are remapped (`--remap-path-prefix`), so no local path ends up in a module.

use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every runtime crate is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// Whether the rust standard library for `TARGET` is installed (no rustup needed).
fn target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    out.status.success()
        && Path::new(&sysroot)
            .join("lib/rustlib")
            .join(TARGET)
            .join("lib")
            .is_dir()
}

/// False when `TARGET` is missing and the test may skip (outside CI, with a message); an error
/// in CI, where no test skips silently.
pub fn can_build(test: &str) -> Result<bool> {
    if target_installed() {
        return Ok(true);
    }
    // No silent skip in CI: scripts/setup.sh installs the target.
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    ensure!(
        !ci,
        "the {TARGET} target is not installed (CI is set): run `bash scripts/setup.sh` \
         or `rustup target add {TARGET}`"
    );
    eprintln!("skipping {test}: the {TARGET} target is not installed (rustup target add {TARGET})");
    Ok(false)
}

/// The workspace root.
pub fn root() -> Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("composer has a parent directory")?
        .to_path_buf())
}

fn cargo_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo"))
}

/// Builds workspace crate `package` for `TARGET` with the `provider` profile (small and
/// reproducible: see the workspace Cargo.toml) and returns its cdylib `artifact`.wasm.
pub fn build(root: &Path, package: &str, artifact: &str) -> Result<Vec<u8>> {
    // Reuse the outer target directory (CI caches it) but not its lock.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("provider-build");
    let mut rustflags = format!("--remap-path-prefix={}=/wasm-dl", root.display());
    if let Some(home) = cargo_home() {
        rustflags += &format!(" --remap-path-prefix={}=/cargo", home.display());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            package,
            "--target",
            TARGET,
            "--profile",
            "provider",
        ])
        .env("RUSTFLAGS", &rustflags)
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags from the environment must not leak into the pinned build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env_remove("CARGO_PROFILE_PROVIDER_DEBUG")
        .status()
        .with_context(|| format!("running cargo build for {package}"))?;
    ensure!(
        status.success(),
        "building {package} for {TARGET} failed ({status})"
    );
    let core = target_dir
        .join(TARGET)
        .join("provider")
        .join(format!("{artifact}.wasm"));
    std::fs::read(&core).with_context(|| format!("reading {}", core.display()))
}

/// Compares `built` with the committed file `committed_path`, or writes it there when
/// `WASM_DL_BLESS=1`; `script` is what rebuilds it.
pub fn check_fresh(committed_path: &Path, built: &[u8], script: &str) -> Result<()> {
    if std::env::var_os("WASM_DL_BLESS").is_some_and(|v| v == "1") {
        // Through a temporary file, so that a test reading the committed file meanwhile never
        // sees half of it.
        let partial = committed_path.with_extension("wasm.partial");
        std::fs::write(&partial, built)
            .and_then(|()| std::fs::rename(&partial, committed_path))
            .with_context(|| format!("writing {}", committed_path.display()))?;
        eprintln!("wrote {} ({} bytes)", committed_path.display(), built.len());
        return Ok(());
    }
    let committed = std::fs::read(committed_path).unwrap_or_default();
    if committed != built {
        bail!(
            "{} is stale ({} bytes committed, {} bytes built from the sources): \
             run {script} and commit the result",
            committed_path.display(),
            committed.len(),
            built.len()
        );
    }
    Ok(())
}
