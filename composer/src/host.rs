//! Host functions libraries import (WASI): main re-exports them, adding the imports it lacks
//! (see `synth::plt`), so a bad one would surface as an error about main. These checks name the
//! library instead.

use crate::parse::{ImportKind, Library, MainModule};
use crate::resolve::{sig, HostImport, Resolution};
use anyhow::{bail, Result};
use wasmparser::{FuncType, Parser, Payload, TypeRef};

/// The first library that imports `h` (by its module, or from `env` for the dl shim's).
pub fn importer<'l>(libs: &'l [Library<'_>], h: &HostImport) -> Option<&'l Library<'l>> {
    libs.iter().find(|l| {
        l.imports.iter().any(|i| {
            i.field == h.field
                && (i.module == h.module || i.module == "env")
                && i.kind == ImportKind::Func(h.ty.clone())
        })
    })
}

/// The host imports main gains for the libraries: those it does not import itself.
pub fn added<'r>(main: &MainModule<'_>, res: &'r Resolution) -> Vec<&'r HostImport> {
    res.reexports
        .iter()
        .filter(|h| {
            !main
                .host_imports
                .iter()
                .any(|(m, f)| *m == h.module && *f == h.field)
        })
        .collect()
}

/// Checks every WASI preview 1 function the libraries import against what the adapter
/// (`adapter`, a core module) exports: an unknown name or another type is an error naming the
/// library.
pub fn check_wasi_p1(libs: &[Library<'_>], res: &Resolution, adapter: &[u8]) -> Result<()> {
    let wanted: Vec<&HostImport> = res
        .reexports
        .iter()
        .filter(|h| h.module == "wasi_snapshot_preview1")
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let provided = exports(adapter);
    for h in wanted {
        let who = importer(libs, h).map_or("a library", |l| l.name.as_str());
        match provided.iter().find(|(n, _)| *n == h.field) {
            None => bail!(
                "{who}: imports `{}.{}`, which WASI preview 1 does not define; remove the call \
                 or link the function's definition into the library",
                h.module,
                h.field
            ),
            Some((_, ty)) if *ty != h.ty => bail!(
                "{who}: imports `{}.{}` as {}, but WASI preview 1 defines it as {}; declare it \
                 as wasi-libc does",
                h.module,
                h.field,
                sig(&h.ty),
                sig(ty)
            ),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A core module's exported functions with their types (empty if it does not parse).
fn exports(module: &[u8]) -> Vec<(String, FuncType)> {
    let mut types: Vec<FuncType> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        let Ok(payload) = payload else {
            break;
        };
        match payload {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types().flatten() {
                    types.push(ty);
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports().flatten() {
                    if let TypeRef::Func(t) = imp.ty {
                        funcs.push(t);
                    }
                }
            }
            Payload::FunctionSection(r) => funcs.extend(r.into_iter().flatten()),
            Payload::ExportSection(r) => {
                for e in r.into_iter().flatten() {
                    if e.kind != wasmparser::ExternalKind::Func {
                        continue;
                    }
                    let ty = funcs
                        .get(e.index as usize)
                        .and_then(|t| types.get(*t as usize));
                    if let Some(ty) = ty {
                        out.push((e.name.to_string(), ty.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
