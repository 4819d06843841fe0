//! Which bundled library a name means: the guest paths of the libraries and the lookup of
//! NEEDED entries through the needing object's RUNPATH, as glibc's `ld.so` looks them up (the
//! rules, shared with the provider's `dlopen`, are [`wasm_dl_abi::path`]'s).

use super::LibId;
use crate::parse::{Library, MainModule};
use anyhow::{bail, Result};
use hashbrown::HashMap;
use wasm_dl_abi::path::{self, Basename, Found};

/// Sets every library's guest path ([`Library::path`]) and refuses two libraries at one path
/// (the same name given twice).
pub fn assign_paths(libs: &mut [Library<'_>]) -> Result<()> {
    let mut seen: HashMap<Vec<u8>, (String, Vec<u8>)> = HashMap::new();
    for lib in libs.iter_mut() {
        let Some(p) = path::normalize(&lib.name_bytes) else {
            bail!(
                "library `{}`: the name ends in a directory (`/`, `.` or `..`); give the \
                 library's file name",
                lib.name
            );
        };
        if let Some((other, other_bytes)) =
            seen.insert(p.clone(), (lib.name.clone(), lib.name_bytes.clone()))
        {
            if other_bytes == lib.name_bytes {
                bail!(
                    "two libraries are named `{}` ({other} and {}); give each library once",
                    crate::display_name(&lib.name_bytes),
                    lib.name
                );
            }
            bail!(
                "two libraries are at the guest path `{}` ({other} and {}); give each library once",
                crate::display_name(&p),
                lib.name
            );
        }
        lib.path = p;
    }
    Ok(())
}

/// The names of the bundled libraries: by guest path and by basename.
pub struct Names {
    by_path: HashMap<Vec<u8>, LibId>,
    by_base: HashMap<Vec<u8>, Vec<LibId>>,
}

impl Names {
    /// The names of `libs` (their guest paths set).
    pub fn new(libs: &[Library<'_>]) -> Self {
        let mut by_path = HashMap::with_capacity(libs.len());
        let mut by_base: HashMap<Vec<u8>, Vec<LibId>> = HashMap::with_capacity(libs.len());
        for (i, lib) in libs.iter().enumerate() {
            let id = LibId(i as u32);
            by_path.entry(lib.path.clone()).or_insert(id);
            by_base
                .entry(path::basename(&lib.path).to_vec())
                .or_default()
                .push(id);
        }
        Names { by_path, by_base }
    }

    /// The libraries whose basename is `base`.
    pub fn with_basename(&self, base: &[u8]) -> &[LibId] {
        self.by_base.get(base).map_or(&[], Vec::as_slice)
    }

    /// Resolves `name` with the search directories `dirs` (see [`path::lookup`]).
    pub fn find(&self, name: &str, dirs: &[Vec<u8>]) -> Found {
        path::lookup(
            name.as_bytes(),
            dirs.iter().map(Vec::as_slice),
            |p| self.by_path.get(p).map(|l| l.0),
            |b| match self.with_basename(b) {
                [] => Basename::None,
                [one] => Basename::One(one.0),
                _ => Basename::Many,
            },
        )
    }
}

/// How a NEEDED name is satisfied.
pub(crate) enum Needed {
    /// By a given library.
    Lib(LibId),
    /// By wasm-dl itself: a system library (its functions live in libc and the dynamic linker).
    System,
    /// Not at all.
    Missing,
    /// Several given libraries have its basename, and no path or RUNPATH directory picks one.
    Ambiguous,
}

/// Satisfies a NEEDED name of an object whose RUNPATH directories are `dirs`: a given library
/// (see [`wasm_dl_abi::path`]), else a system library.
pub(crate) fn find_needed(
    names: &Names,
    dirs: &[Vec<u8>],
    name: &str,
    res: &mut super::Resolution,
) -> Needed {
    match names.find(name, dirs) {
        wasm_dl_abi::path::Found::Path(l) | wasm_dl_abi::path::Found::Basename(l) => {
            return Needed::Lib(LibId(l))
        }
        wasm_dl_abi::path::Found::Ambiguous => return Needed::Ambiguous,
        wasm_dl_abi::path::Found::Missing => {}
    }
    if !wasm_dl_abi::system::is_system_library(name.as_bytes()) {
        return Needed::Missing;
    }
    if let Err(at) = res.system.binary_search_by(|n| n.as_str().cmp(name)) {
        res.system.insert(at, name.to_string());
    }
    Needed::System
}

/// Finds a library by the name it was given (`--lib ALIAS=LIB`'s LIB): that name exactly,
/// else as a NEEDED entry without RUNPATH would (its path, else its unique basename).
pub fn find_lib(libs: &[Library<'_>], name: &str) -> Option<LibId> {
    if let Some(i) = libs.iter().position(|l| l.name == name) {
        return Some(LibId(i as u32));
    }
    Names::new(libs).find(name, &[]).lib().map(LibId)
}

/// The main module's guest path: its name, made absolute (`$ORIGIN` of its RUNPATH is that
/// directory, as for an executable on Linux).
pub fn main_path(main: &MainModule<'_>) -> Vec<u8> {
    path::normalize(main.name.as_bytes()).unwrap_or_else(|| b"/".to_vec())
}

/// The RUNPATH directories of an object at guest path `at`: each entry with `$ORIGIN` expanded
/// to `at`'s directory.
pub fn runpath_dirs(runpath: &[String], at: &[u8]) -> Vec<Vec<u8>> {
    let origin = path::dirname(at);
    runpath
        .iter()
        .map(|e| path::expand_origin(e.as_bytes(), origin))
        .collect()
}

/// The message for a NEEDED entry `name` of `who` that several libraries could satisfy.
pub fn ambiguous(who: &str, name: &str, libs: &[Library<'_>], names: &Names) -> String {
    let base = path::basename(name.as_bytes());
    let candidates: Vec<String> = names
        .with_basename(base)
        .iter()
        .map(|l| crate::display_name(&libs[l.index()].path))
        .collect();
    format!(
        "{who}: needs `{name}` (dylink.0 NEEDED), and {} given libraries are called that ({}); \
         no RUNPATH of {who} picks one: link {who} with `-Wl,-rpath,'$ORIGIN/DIR'` (wasm-ld 20 \
         or later) naming the directory of the one it needs, or give only one",
        candidates.len(),
        candidates.join(", ")
    )
}

/// Why no library is named `target` (a `--lib ALIAS=LIB`'s LIB): none is, or several have its
/// basename.
pub fn no_library(libs: &[Library<'_>], target: &str) -> String {
    let names = Names::new(libs);
    let candidates: Vec<String> = names
        .with_basename(path::basename(target.as_bytes()))
        .iter()
        .map(|l| libs[l.index()].name.clone())
        .collect();
    match candidates.len() {
        0 | 1 => format!("no library named `{target}` was given"),
        n => format!(
            "{n} given libraries are called `{target}` ({}); name one by the path it was given",
            candidates.join(", ")
        ),
    }
}

/// The link map's lines for a library's names (see `map`): its guest path, its RUNPATH, and
/// which library each NEEDED entry found and how.
pub fn render_paths(
    out: &mut String,
    lib: &Library<'_>,
    libs: &[Library<'_>],
    names: &Names,
    res: &super::Resolution,
) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "  guest path: {}", crate::display_name(&lib.path));
    if !lib.runpath.is_empty() {
        let dirs: Vec<String> = runpath_dirs(&lib.runpath, &lib.path)
            .iter()
            .map(|d| crate::display_name(d))
            .collect();
        let _ = writeln!(
            out,
            "  runpath: {} (searched: {})",
            lib.runpath.join(":"),
            dirs.join(":")
        );
    }
    if lib.needed.is_empty() {
        return;
    }
    let dirs = runpath_dirs(&lib.runpath, &lib.path);
    let needed: Vec<String> = lib
        .needed
        .iter()
        .map(|n| match names.find(n, &dirs) {
            Found::Path(l) => format!("{n} -> {}", crate::display_name(&libs[l as usize].path)),
            Found::Basename(l) => format!(
                "{n} -> {} (by basename)",
                crate::display_name(&libs[l as usize].path)
            ),
            _ if res.system.binary_search(n).is_ok() => {
                format!("{n} (system library, provided by wasm-dl)")
            }
            _ => n.clone(),
        })
        .collect();
    let _ = writeln!(out, "  needed: {}", needed.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runpath_expands_origin_at_the_guest_path() {
        let dirs = runpath_dirs(
            &["$ORIGIN/../b".to_string(), "/opt/lib".to_string()],
            b"/plugins/a/libtop.so",
        );
        assert_eq!(dirs, [b"/plugins/a/../b".to_vec(), b"/opt/lib".to_vec()]);
    }
}
