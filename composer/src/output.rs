//! Writing what a command makes: all outputs or none, never a partial file (the `wasm-dl`
//! command line's, public so that the benchmarks measure the same writes).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One file to write.
pub struct Output<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    what: &'a str,
}

impl<'a> Output<'a> {
    /// `bytes` to be written to `path`; `what` names them in errors ("component", "map").
    pub fn new(path: &'a Path, bytes: &'a [u8], what: &'a str) -> Self {
        Self { path, bytes, what }
    }
}

/// Writes every output or none: each to a temporary file in its own directory (so that the
/// rename cannot cross file systems), then all renamed into place. A failure (a full disk,
/// `ulimit -f`, an unwritable directory) removes the temporary files and leaves every
/// destination as it was. Like the native linkers, it does not wait for the disk (`fsync`):
/// a reader never sees a partial file, and waiting cost more than a tenth of composing
/// CPython's set.
pub fn write_all(outputs: &[Output<'_>]) -> Result<()> {
    let mut temps = Vec::with_capacity(outputs.len());
    for out in outputs {
        match write_temp(out) {
            Ok(t) => temps.push(t),
            Err(e) => {
                for t in temps {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    for (i, (out, temp)) in outputs.iter().zip(&temps).enumerate() {
        if let Err(e) = std::fs::rename(temp, out.path) {
            for t in &temps[i..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(e)
                .with_context(|| format!("{}: cannot write the {}", out.path.display(), out.what));
        }
    }
    Ok(())
}

/// Writes `out` to a new temporary file beside its destination and returns that file's path.
fn write_temp(out: &Output<'_>) -> Result<PathBuf> {
    use std::io::Write as _;
    let err = || format!("{}: cannot write the {}", out.path.display(), out.what);
    let dir = match out.path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut name = std::ffi::OsString::from(".");
    name.push(out.path.file_name().unwrap_or_else(|| "out".as_ref()));
    name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(name);
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        f.write_all(out.bytes)
    })();
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e).with_context(err)
        }
    }
}
