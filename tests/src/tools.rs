//! Where the tools that `scripts/setup.sh` installs live, found the same way by the tests and the
//! bench: the project's cache directory, its Python venv (`wasm-tools`, `zstandard`,
//! `componentize-py`) and jco. Nothing is looked up on `PATH` except what apt installs, because a
//! fresh machine's `PATH` has nothing else (`pip --user`'s `~/.local/bin` is not on it).
//!
//! A test whose tool is missing calls [`require`]: with `CI` set that is a failure naming the
//! command that installs the tool; elsewhere the test says it skips, once, on stderr.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Output};

/// How every missing tool is installed.
pub const SETUP: &str = "bash scripts/setup.sh";

/// The `wasm-tools` version the tests and the bench compare against (`python-requirements.txt`).
pub const WASM_TOOLS_VERSION: &str = "1.262.0";

/// The project's cache: `$WASM_DL_CACHE`, else `$XDG_CACHE_HOME/wasm-dl`, else `~/.cache/wasm-dl`
/// (the rule `scripts/setup.sh` follows).
pub fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("WASM_DL_CACHE") {
        return PathBuf::from(c);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("wasm-dl");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    PathBuf::from(home).join(".cache/wasm-dl")
}

/// The venv `scripts/setup.sh` makes.
pub fn venv() -> PathBuf {
    cache_dir().join("venv")
}

/// A program in the venv's `bin/`, if it is there.
fn venv_bin(name: &str) -> Result<PathBuf> {
    let bin = venv().join("bin").join(name);
    if !bin.is_file() {
        bail!("{} is missing: run `{SETUP}`", bin.display());
    }
    Ok(bin)
}

/// The venv's Python (with `zstandard` and `componentize-py`).
pub fn venv_python() -> Result<PathBuf> {
    venv_bin("python")
}

/// `wasm-tools` at [`WASM_TOOLS_VERSION`]: `$WASM_TOOLS`, else the venv's.
pub fn wasm_tools() -> Result<PathBuf> {
    let bin = match std::env::var_os("WASM_TOOLS") {
        Some(p) => PathBuf::from(p),
        None => venv_bin("wasm-tools")?,
    };
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", bin.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !version.contains(&format!(" {WASM_TOOLS_VERSION}")) {
        bail!(
            "{} is not wasm-tools {WASM_TOOLS_VERSION} ({}): run `{SETUP}`",
            bin.display(),
            version.trim()
        );
    }
    Ok(bin)
}

/// jco (`$WASM_DL_CACHE/jco`), when it and Node.js are there.
pub fn jco() -> Result<PathBuf> {
    let jco = cache_dir().join("jco/node_modules/.bin/jco");
    if !jco.is_file() {
        bail!("{} is missing: run `{SETUP}`", jco.display());
    }
    Command::new("node")
        .arg("--version")
        .output()
        .context("node (Node.js 20) is not on PATH: apt-get install nodejs")?;
    Ok(jco)
}

/// Whether the tests run in CI (`$CI` set and not `false`/`0`/empty).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A tool a test needs: `Ok(Some(tool))` when found; `Ok(None)` (after saying, on stderr, that
/// `what` is skipped and why) when missing outside CI; an error naming the install command in CI.
pub fn require<T>(what: &str, found: Result<T>) -> Result<Option<T>> {
    match found {
        Ok(tool) => Ok(Some(tool)),
        Err(e) if in_ci() => Err(e.context(format!("{what}: a tool is missing (CI is set)"))),
        Err(e) => {
            eprintln!("{what}: SKIPPED, {e:#}");
            Ok(None)
        }
    }
}

/// Runs a tool; a failure is an error with its exit status and output.
pub fn run_tool(cmd: &mut Command) -> Result<Output> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// The source directory of the crates.io crate `name` (where cargo unpacked it), located with
/// `cargo metadata`. tests/Cargo.toml declares the crates whose C sources the tests and the bench
/// build (`rquickjs-sys`, `libsqlite3-sys`, `sqlite-vec`) as dependencies that are never built (their
/// cfg is always false), so cargo downloads them but compiles none of their C.
pub fn crate_source_dir(name: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = run_tool(
        Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(crate::workspace_root().join("Cargo.toml")),
    )?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing cargo metadata's output")?;
    let manifest = meta["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["manifest_path"].as_str())
        .with_context(|| format!("cargo metadata lists no {name} (see tests/Cargo.toml)"))?;
    let dir = std::path::Path::new(manifest)
        .parent()
        .with_context(|| format!("{name}'s manifest path {manifest} has no parent"))?;
    Ok(dir.to_path_buf())
}
