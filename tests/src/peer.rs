//! The peer: `wasm-tools component link` (wit-component's `Linker`, what componentize-py uses),
//! given the same all-PIC files as wasm-dl, so that the two tools' programs can be compared.

use anyhow::{bail, Context, Result};
use std::process::Command;

/// The C define that makes `include/dlfcn.h` declare the dl functions as ordinary `env` imports,
/// which both tools bind (wasm-tools to its built-in libdl).
pub const PLAIN_DL_IMPORTS: &str = "-DWASM_DL_PLAIN_IMPORTS";

/// Links a `-shared` PIC main, its `libc.so` and libraries with
/// `wasm-tools component link --use-built-in-libdl`: `libc.so` and the libraries `linked` names
/// are linked as the program's own, every other library is `--dl-openable` by its name.
pub fn link(
    main: &(String, Vec<u8>),
    libs: &[(String, Vec<u8>)],
    linked: &[String],
) -> Result<Vec<u8>> {
    let wasm_tools = crate::tools::wasm_tools()?;
    let dir = tempfile::tempdir()?;
    let write = |name: &str, bytes: &[u8]| -> Result<std::path::PathBuf> {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    let mut cmd = Command::new(&wasm_tools);
    cmd.args(["component", "link", "--use-built-in-libdl"]);
    cmd.arg(write("main.so", &main.1)?);
    for (name, bytes) in libs {
        let path = write(name, bytes)?;
        if name == "libc.so" || linked.contains(name) {
            cmd.arg(path);
        } else {
            cmd.arg("--dl-openable")
                .arg(format!("{name}={}", path.display()));
        }
    }
    let out_path = dir.path().join("peer.wasm");
    cmd.arg("-o").arg(&out_path);
    let out = cmd
        .output()
        .with_context(|| format!("running {}", wasm_tools.display()))?;
    if !out.status.success() {
        bail!(
            "wasm-tools component link failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::read(&out_path).with_context(|| format!("reading {}", out_path.display()))
}
