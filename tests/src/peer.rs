//! The peer: `wasm-tools component link` (wit-component's `Linker`, what componentize-py uses),
//! given the same all-PIC files as wasm-dl, so that the two tools' programs can be compared. The
//! same command line runs through `wasm-dl link` (its drop-in), so both read one invocation.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::Path;
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
    link_with(&wasm_tools, &["component", "link"], main, libs, linked)
}

/// [`link`]'s invocation, run through `wasm-dl link` instead.
pub fn link_wasm_dl(
    main: &(String, Vec<u8>),
    libs: &[(String, Vec<u8>)],
    linked: &[String],
) -> Result<Vec<u8>> {
    link_with(crate::cli::wasm_dl_cli()?, &["link"], main, libs, linked)
}

/// Runs `tool subcommand... ARGS -o OUT` with [`link`]'s arguments and returns OUT.
fn link_with(
    tool: &Path,
    subcommand: &[&str],
    main: &(String, Vec<u8>),
    libs: &[(String, Vec<u8>)],
    linked: &[String],
) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let write = |name: &str, bytes: &[u8]| -> Result<std::path::PathBuf> {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    let mut args: Vec<OsString> = vec!["--use-built-in-libdl".into()];
    args.push(write("main.so", &main.1)?.into());
    for (name, bytes) in libs {
        let path = write(name, bytes)?;
        if name == "libc.so" || linked.contains(name) {
            args.push(path.into());
        } else {
            args.push("--dl-openable".into());
            args.push(format!("{name}={}", path.display()).into());
        }
    }
    let out_path = dir.path().join("out.wasm");
    args.push("-o".into());
    args.push(out_path.clone().into());
    let out = Command::new(tool)
        .args(subcommand)
        .args(&args)
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    let line = || {
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        format!(
            "{} {} {}",
            tool.display(),
            subcommand.join(" "),
            args.join(" ")
        )
    };
    if !out.status.success() {
        bail!(
            "{} failed:\n{}",
            line(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::read(&out_path).with_context(|| format!("{}: wrote no {}", line(), out_path.display()))
}
