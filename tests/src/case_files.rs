//! The files of a data-driven case (`tests/cases/<case>/`, see `tests/tests/cases.rs`), shared
//! by its wasm and native builds.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files of a case: the case directory over its optional `sources` directory. Files in a
/// subdirectory (one level: `a/libx.c`) are keyed by their relative path (`a/libx.c`): libraries
/// of the same basename in two directories.
pub struct CaseFiles {
    /// Relative name to path.
    pub files: BTreeMap<String, PathBuf>,
}

impl CaseFiles {
    /// Reads the case directory `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut files = BTreeMap::new();
        let mut add_dir = |d: &Path, sub: bool| -> Result<()> {
            for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
                let p = e?.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if p.is_file() {
                    files.insert(name, p);
                } else if p.is_dir() && sub {
                    for e in std::fs::read_dir(&p)? {
                        let q = e?.path();
                        if q.is_file() {
                            let file = q.file_name().unwrap().to_string_lossy().into_owned();
                            files.insert(format!("{name}/{file}"), q);
                        }
                    }
                }
            }
            Ok(())
        };
        if let Ok(rel) = std::fs::read_to_string(dir.join("sources")) {
            add_dir(&dir.join(rel.trim()), false)?;
        }
        add_dir(dir, true)?;
        Ok(Self { files })
    }

    /// The text of file `name`, if the case has it.
    pub fn text(&self, name: &str) -> Result<Option<String>> {
        match self.files.get(name) {
            Some(p) => Ok(Some(
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            )),
            None => Ok(None),
        }
    }

    /// The `NAME=VALUE` lines of the case's `env` file: the component's environment (and the
    /// native program's).
    pub fn env(&self) -> Result<Vec<(String, String)>> {
        let text = self.text("env")?.unwrap_or_default();
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l
                    .split_once('=')
                    .with_context(|| format!("env: expected NAME=VALUE, got {l:?}"))?;
                Ok((k.to_string(), v.to_string()))
            })
            .collect()
    }
}

/// The library a C source stem builds: `lib<stem>.so` (`<stem>.so` when the stem already starts
/// with `lib`), in the stem's directory (`a/x` -> `a/libx.so`).
pub fn so_name(stem: &str) -> String {
    let (dir, base) = match stem.rsplit_once('/') {
        Some((d, b)) => (format!("{d}/"), b),
        None => (String::new(), stem),
    };
    if base.starts_with("lib") {
        format!("{dir}{base}.so")
    } else {
        format!("{dir}lib{base}.so")
    }
}

/// The whitespace-separated words of an optional file's text.
pub fn words(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
