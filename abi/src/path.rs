//! Library names and paths: how a `dlopen` name or a NEEDED entry picks one bundled library.
//!
//! Every bundled library has a *guest path*: the name it was given at compose time (the path on
//! the `wasm-dl compose` command line, or the API's name), made absolute from the component's
//! root `/` and normalized (see [`normalize`]). `wasm-dl compose main.wasm plugins/a/libx.so`
//! bundles `/plugins/a/libx.so`; a `--lib ALIAS=LIB` alias containing a `/` is one more guest
//! path of its library. Then, as glibc's `ld.so` does:
//!
//! - a name containing `/` is a path: the library at that guest path (relative paths are taken
//!   from `/`, the component's initial working directory; `chdir` does not change them);
//! - a name without `/` is searched for in the directories of `LD_LIBRARY_PATH` (the component's
//!   environment when it starts, as glibc reads it at start-up), then of the RUNPATH of the
//!   object that asks (`wasm-ld -rpath`, `$ORIGIN` being the directory of that object's guest
//!   path), then in the default directories [`DEFAULT_DIRS`]; NEEDED entries are resolved at
//!   compose time, with the needing library's RUNPATH (no `LD_LIBRARY_PATH`).
//!
//! What no directory finds falls back to *basename matching*, as if every bundled library also
//! sat in the default directories: the library whose basename (or a `--lib` alias without `/`)
//! is the name's basename, provided only one library is called that. When two bundled libraries
//! share the name and neither rule picks one, the name is ambiguous and finds nothing (compose
//! refuses such a NEEDED entry; `dlopen` fails and its `dlerror` says why).
//!
//! Both the composer (NEEDED entries) and the provider (`dlopen`) use [`lookup`].

extern crate alloc;

use alloc::vec::Vec;

/// The text after the last `/` (the whole name if there is none).
pub fn basename(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b'/') {
        Some(i) => name.get(i + 1..).unwrap_or(&[]),
        None => name,
    }
}

/// `name` as an absolute path without `.`, `..` or repeated slashes (`plugins/./a//libx.so` is
/// `/plugins/a/libx.so`; `..` at the root stays at the root, as in POSIX). `None` when the name
/// is empty or names a directory (it ends with `/`, `.` or `..`): no library is found by it.
pub fn normalize(name: &[u8]) -> Option<Vec<u8>> {
    let last = name.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    if last.is_empty() || last == b"." || last == b".." {
        return None;
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = Vec::with_capacity(name.len() + 1);
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    Some(out)
}

/// `name` in directory `dir`, normalized (see [`normalize`]).
pub fn join(dir: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    path.extend_from_slice(dir);
    path.push(b'/');
    path.extend_from_slice(name);
    normalize(&path)
}

/// The directory of a normalized guest path (`/a/libx.so` -> `/a`, `/libx.so` -> `/`).
pub fn dirname(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(i) => path.get(..i).unwrap_or(b"/"),
    }
}

/// A RUNPATH entry with `$ORIGIN` (or `${ORIGIN}`) replaced by `origin`, the directory of the
/// object's guest path, as glibc expands it. `$LIB` and `$PLATFORM` mean nothing for wasm and
/// stay as they are (such an entry finds no bundled library).
pub fn expand_origin(entry: &[u8], origin: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.len() + origin.len());
    let mut rest = entry;
    while let Some(at) = rest.iter().position(|&b| b == b'$') {
        out.extend_from_slice(rest.get(..at).unwrap_or(&[]));
        let after = rest.get(at + 1..).unwrap_or(&[]);
        let token = [&b"{ORIGIN}"[..], &b"ORIGIN"[..]]
            .into_iter()
            .find(|t| after.starts_with(t));
        match token {
            // Unbraced, the name ends where an identifier would (glibc's `$ORIGINX` is no DST).
            Some(t)
                if t.starts_with(b"{")
                    || after
                        .get(t.len())
                        .is_none_or(|&b| !b.is_ascii_alphanumeric() && b != b'_') =>
            {
                out.extend_from_slice(origin);
                rest = after.get(t.len()..).unwrap_or(&[]);
            }
            _ => {
                out.push(b'$');
                rest = after;
            }
        }
    }
    out.extend_from_slice(rest);
    out
}

/// The directories of an `LD_LIBRARY_PATH` value: separated by `:` or `;` as glibc splits it;
/// an empty entry is the working directory (`/` here).
pub fn search_path(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b':' || b == b';')
}

/// The default directories searched after `LD_LIBRARY_PATH` and RUNPATH: `/`, where a library
/// given without a directory is bundled, then glibc's own defaults.
pub const DEFAULT_DIRS: [&[u8]; 3] = [b"/", b"/lib", b"/usr/lib"];

/// What basename matching found (see [`lookup`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basename {
    /// No library has that basename (or alias).
    None,
    /// Exactly one library.
    One(u32),
    /// Several libraries share it.
    Many,
}

/// How a name was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The library at the path the name gives, or that one of the search directories holds.
    Path(u32),
    /// The one library with the name's basename (no path or directory found one).
    Basename(u32),
    /// Several libraries have the name's basename and no path or directory picks one.
    Ambiguous,
    /// No library.
    Missing,
}

impl Found {
    /// The library found, if one was.
    pub fn lib(self) -> Option<u32> {
        match self {
            Found::Path(l) | Found::Basename(l) => Some(l),
            Found::Ambiguous | Found::Missing => None,
        }
    }
}

/// Resolves `name` (a `dlopen` argument or a NEEDED entry; see the module docs). `dirs` are the
/// search directories for a name without `/`, in order (`LD_LIBRARY_PATH`'s, then the asking
/// object's RUNPATH with `$ORIGIN` expanded), before [`DEFAULT_DIRS`]; `by_path` finds the library at a normalized guest
/// path; `by_basename` the libraries whose basename or `/`-less alias is the given one.
pub fn lookup<'d>(
    name: &[u8],
    dirs: impl IntoIterator<Item = &'d [u8]>,
    by_path: impl Fn(&[u8]) -> Option<u32>,
    by_basename: impl Fn(&[u8]) -> Basename,
) -> Found {
    // A directory (`libx.so/`) or the empty name: no library, as on Linux.
    if normalize(name).is_none() {
        return Found::Missing;
    }
    if name.contains(&b'/') {
        if let Some(lib) = normalize(name).and_then(|p| by_path(&p)) {
            return Found::Path(lib);
        }
    } else {
        for dir in dirs.into_iter().chain(DEFAULT_DIRS) {
            if let Some(lib) = join(dir, name).and_then(|p| by_path(&p)) {
                return Found::Path(lib);
            }
        }
    }
    match by_basename(basename(name)) {
        Basename::One(lib) => Found::Basename(lib),
        Basename::Many => Found::Ambiguous,
        Basename::None => Found::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<Vec<u8>> {
        normalize(s.as_bytes())
    }

    #[test]
    fn normalizes_like_a_path() {
        assert_eq!(n("libx.so").as_deref(), Some(&b"/libx.so"[..]));
        assert_eq!(n("./a//b/../libx.so").as_deref(), Some(&b"/a/libx.so"[..]));
        assert_eq!(n("/../../libx.so").as_deref(), Some(&b"/libx.so"[..]));
        assert_eq!(n("/usr/lib/libx.so/"), None);
        assert_eq!(n("/usr/lib/.."), None);
        assert_eq!(n("."), None);
        assert_eq!(n(""), None);
        assert_eq!(join(b"", b"libx.so").as_deref(), Some(&b"/libx.so"[..]));
        assert_eq!(
            join(b"/opt/", b"libx.so").as_deref(),
            Some(&b"/opt/libx.so"[..])
        );
        assert_eq!(dirname(b"/a/b/libx.so"), b"/a/b");
        assert_eq!(dirname(b"/libx.so"), b"/");
    }

    #[test]
    fn expands_origin_as_glibc() {
        let e = |s: &str| expand_origin(s.as_bytes(), b"/plugins/a");
        assert_eq!(e("$ORIGIN/../b"), b"/plugins/a/../b");
        assert_eq!(e("${ORIGIN}/lib:x"), b"/plugins/a/lib:x");
        assert_eq!(e("$ORIGIN"), b"/plugins/a");
        assert_eq!(e("$ORIGINX/lib"), b"$ORIGINX/lib");
        assert_eq!(e("$LIB/$"), b"$LIB/$");
        assert_eq!(e("/opt/lib"), b"/opt/lib");
    }

    #[test]
    fn lookup_order() {
        // Two `libx.so`: /a/libx.so (0), /b/libx.so (1); one /c/liby.so (2).
        let paths: [&[u8]; 5] = [
            b"/a/libx.so",
            b"/b/libx.so",
            b"/c/liby.so",
            b"/usr/lib/libz.so",
            b"/z/libz.so",
        ];
        let by_path = |p: &[u8]| paths.iter().position(|q| *q == p).map(|i| i as u32);
        let by_base = |b: &[u8]| {
            let mut hits = paths.iter().enumerate().filter(|(_, p)| basename(p) == b);
            match (hits.next(), hits.next()) {
                (None, _) => Basename::None,
                (Some((i, _)), None) => Basename::One(i as u32),
                _ => Basename::Many,
            }
        };
        let find = |name: &str, dirs: &[&str]| {
            lookup(
                name.as_bytes(),
                dirs.iter().map(|d| d.as_bytes()),
                by_path,
                by_base,
            )
        };
        assert_eq!(find("/b/libx.so", &[]), Found::Path(1));
        assert_eq!(find("a/../b/libx.so", &[]), Found::Path(1));
        assert_eq!(find("libx.so", &["/nowhere", "/b", "/a"]), Found::Path(1));
        assert_eq!(find("libx.so", &[]), Found::Ambiguous);
        assert_eq!(find("/elsewhere/libx.so", &["/a"]), Found::Ambiguous);
        assert_eq!(find("/elsewhere/liby.so", &[]), Found::Basename(2));
        assert_eq!(find("liby.so", &["/a"]), Found::Basename(2));
        assert_eq!(find("libw.so", &["/a"]), Found::Missing);
        // A default directory picks one; a path elsewhere does not.
        assert_eq!(find("libz.so", &[]), Found::Path(3));
        assert_eq!(find("libz.so", &["/z"]), Found::Path(4));
        assert_eq!(find("/elsewhere/libz.so", &[]), Found::Ambiguous);
        assert_eq!(find("/c/liby.so/", &[]), Found::Missing);
    }
}
