//! Checks that the committed provider component (`provider/wasm-dl-provider.wasm`, embedded by the
//! composer) is what the provider sources build to.
//!
//! It rebuilds the `wasm-dl-provider` crate for `wasm32-unknown-unknown` with the `provider`
//! profile, turns the core module into a component and compares bytes. With `WASM_DL_BLESS=1` it
//! writes the file instead (that is what `scripts/build-provider.sh` does). Skipped when the
//! wasm32-unknown-unknown target is not installed (a failure when `CI` is set).
//!
//! The build is reproducible across checkouts at different paths and machines: the workspace path
//! and the cargo home are remapped (`--remap-path-prefix`), so no local path ends up in the module.

use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

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

fn cargo_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo"))
}

/// Builds the provider core module exactly as `scripts/build-provider.sh` documents.
fn build_core(root: &Path) -> Result<Vec<u8>> {
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
            "wasm-dl-provider",
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
        .context("running cargo build for the provider")?;
    ensure!(
        status.success(),
        "building wasm-dl-provider for {TARGET} failed ({status})"
    );
    let core = target_dir
        .join(TARGET)
        .join("provider")
        .join("wasm_dl_provider.wasm");
    std::fs::read(&core).with_context(|| format!("reading {}", core.display()))
}

/// The provider component built from the sources under `root`.
fn build_component(root: &Path) -> Result<Vec<u8>> {
    let core = build_core(root)?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&core)?
        .encode()
        .context("componentizing the provider core module")
}

#[test]
fn provider_component_is_fresh() -> Result<()> {
    if !target_installed() {
        // No silent skip in CI: scripts/setup.sh installs the target.
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        ensure!(
            !ci,
            "the {TARGET} target is not installed (CI is set): run `bash scripts/setup.sh` \
             or `rustup target add {TARGET}`"
        );
        eprintln!(
            "skipping provider_fresh: the {TARGET} target is not installed \
             (rustup target add {TARGET})"
        );
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("composer has a parent directory")?
        .to_path_buf();
    let committed_path = root.join("provider").join("wasm-dl-provider.wasm");
    let built = build_component(&root)?;

    if std::env::var_os("WASM_DL_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&committed_path, &built)
            .with_context(|| format!("writing {}", committed_path.display()))?;
        eprintln!("wrote {} ({} bytes)", committed_path.display(), built.len());
        return Ok(());
    }

    let committed = std::fs::read(&committed_path).unwrap_or_default();
    if committed != built {
        bail!(
            "{} is stale ({} bytes committed, {} bytes built from provider/): \
             run scripts/build-provider.sh and commit the result",
            committed_path.display(),
            committed.len(),
            built.len()
        );
    }
    Ok(())
}
