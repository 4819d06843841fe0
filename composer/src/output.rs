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
/// rename cannot cross file systems), then all renamed into place ([`Staged`]). A failure (a
/// full disk, `ulimit -f`, an unwritable directory) removes the temporary files and leaves
/// every destination as it was. Like the native linkers, it does not wait for the disk
/// (`fsync`): a reader never sees a partial file, and waiting cost more than a tenth of
/// composing CPython's set.
pub fn write_all(outputs: &[Output<'_>]) -> Result<()> {
    let mut staged = Staged::default();
    for out in outputs {
        staged.stage(out.path, &[out.bytes], out.what)?;
    }
    staged.commit()
}

/// Outputs written to temporary files beside their destinations, not yet in place:
/// [`Staged::commit`] renames them all; dropping it uncommitted removes them (what
/// [`write_all`] does in two steps, for bytes written before they are known to be wanted:
/// `Composer::compose_with`'s).
#[derive(Default)]
pub struct Staged {
    /// (temporary file, destination, what it is).
    files: Vec<(PathBuf, PathBuf, String)>,
}

impl Staged {
    /// Writes `parts`, concatenated, to a new temporary file beside `path`; `what` names them
    /// in errors ("component", "map").
    pub fn stage(&mut self, path: &Path, parts: &[&[u8]], what: &str) -> Result<()> {
        let temp = write_temp(path, parts, what)?;
        self.files
            .push((temp, path.to_path_buf(), what.to_string()));
        Ok(())
    }

    /// Renames every staged file into place; on an error the ones not yet renamed are
    /// removed.
    pub fn commit(mut self) -> Result<()> {
        while !self.files.is_empty() {
            // Dropping `self` on an error removes the files left in it.
            let (temp, path, what) = self.files.remove(0);
            if let Err(e) = replace(&temp, &path) {
                let _ = std::fs::remove_file(&temp);
                return Err(e)
                    .with_context(|| format!("{}: cannot write the {what}", path.display()));
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _, _) in &self.files {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Renames `temp` to `path`. A regular file (or symbolic link) at `path` is exchanged with
/// `temp` atomically and then removed, rather than renamed over: ext4 (`auto_da_alloc`)
/// writes a file renamed over another to disk within the rename, to keep the old contents
/// or the new after a crash, which cost as long as writing CPython's composition (6 ms);
/// lld moves an old output aside for a like reason.
fn replace(temp: &Path, path: &Path) -> std::io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let replaces_file = std::fs::symlink_metadata(path)
            .is_ok_and(|m| m.file_type().is_file() || m.file_type().is_symlink());
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).ok();
        if let (true, Some(from), Some(to)) = (replaces_file, c(temp), c(path)) {
            // SAFETY: two NUL-terminated paths, relative to the working directory.
            let r = unsafe {
                libc::renameat2(
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
            if r == 0 {
                // `temp` is the old file now.
                let _ = std::fs::remove_file(temp);
                return Ok(());
            }
            // Not supported here (or `path` went away): an ordinary rename.
        }
    }
    std::fs::rename(temp, path)
}

/// Writes `parts` to a new temporary file beside `path` and returns that file's path.
fn write_temp(path: &Path, parts: &[&[u8]], what: &str) -> Result<PathBuf> {
    use std::io::Write as _;
    let err = || format!("{}: cannot write the {what}", path.display());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| "out".as_ref()));
    name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(name);
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        for part in parts {
            f.write_all(part)?;
        }
        Ok(())
    })();
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e).with_context(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory of this test's own.
    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("wasm-dl-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn committed_parts_are_the_file() {
        let d = dir("commit");
        let out = d.join("out.wasm");
        std::fs::write(&out, b"old").unwrap();
        let mut staged = Staged::default();
        staged
            .stage(&out, &[b"ab", b"", b"cd"], "component")
            .unwrap();
        staged.stage(&d.join("map"), &[b"m"], "map").unwrap();
        // Nothing in place before the commit.
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"abcd");
        assert_eq!(entries(&d), ["map", "out.wasm"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn uncommitted_files_are_removed() {
        let d = dir("drop");
        let out = d.join("out.wasm");
        let mut staged = Staged::default();
        staged.stage(&out, &[b"ab"], "component").unwrap();
        assert_eq!(entries(&d).len(), 1);
        drop(staged);
        assert!(entries(&d).is_empty());
        // A failed rename (onto a directory) leaves no temporary file behind.
        std::fs::create_dir(d.join("taken")).unwrap();
        let mut staged = Staged::default();
        staged.stage(&out, &[b"ab"], "component").unwrap();
        staged.stage(&d.join("taken"), &[b"m"], "map").unwrap();
        let e = staged.commit().unwrap_err();
        assert!(format!("{e:#}").contains("cannot write the map"), "{e:#}");
        assert_eq!(entries(&d), ["out.wasm", "taken"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
