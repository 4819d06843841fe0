//! componentize-py (PyPI, installed into the project venv by `scripts/setup.sh`) and the
//! wasi-sdk-built PIC libraries it bundles, extracted by `scripts/componentize-py-libs.py`: CPython
//! (`tests/tests/python.rs`) and the C++ plugin host's all-PIC build (`tests/tests/cxx.rs`) use them.

use crate::tools::{self, run_tool};
use anyhow::{ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py release whose libraries are used (`scripts/python-requirements.txt`).
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The venv's Python, when it has componentize-py at [`COMPONENTIZE_PY`] and zstandard.
pub fn venv_python() -> Result<PathBuf> {
    let python = tools::venv_python()?;
    let out = Command::new(&python)
        .args([
            "-c",
            "import zstandard, importlib.metadata as m; print(m.version('componentize-py'))",
        ])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && version.trim() == COMPONENTIZE_PY,
        "{} has no componentize-py {COMPONENTIZE_PY} with zstandard ({}): run `{}`",
        python.display(),
        String::from_utf8_lossy(&out.stderr).trim(),
        tools::SETUP
    );
    Ok(python)
}

/// componentize-py's libraries, extracted (cached): the directory holding them and the manifest.
pub fn extract(python: &Path) -> Result<(PathBuf, serde_json::Value)> {
    let out_dir = tools::cache_dir().join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let out = run_tool(
        Command::new(python)
            .arg(crate::workspace_root().join("scripts/componentize-py-libs.py"))
            .arg("-q")
            .arg("-o")
            .arg(&out_dir),
    )?;
    let printed = String::from_utf8_lossy(&out.stdout);
    ensure!(
        printed.trim().lines().last() == Some(out_dir.to_string_lossy().as_ref()),
        "componentize-py-libs.py printed {printed:?}, not {}",
        out_dir.display()
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("manifest.json"))?)?;
    Ok((out_dir, manifest))
}
