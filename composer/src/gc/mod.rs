//! The `--gc` pass (between resolve and layout): removes the functions and exports of the
//! libraries that no program can reach, and hands on the libraries as if they had been given
//! that way.
//!
//! **Roots** (kept, with everything they reach):
//! - every export of main's dynamic symbol table: an ordinary main is not rewritten at all
//!   (wasm-ld's `--gc-sections` already removed what it does not export), and the `-shared`
//!   main of an all-PIC set keeps every export;
//! - every export of a library that may be `dlopen`ed by name: the ones named with
//!   `--dl-openable` ([`Options::dl_openable`], wasm-tools' model), or, when none is named, each
//!   library that no NEEDED entry (of main or of a library) names;
//! - every export some module of the composition binds an import to (a function import, a
//!   `GOT.func` entry of any module, main's imports), whether or not the importing code is
//!   itself live (conservative: imports are never removed, so their targets must stay);
//! - the exports that are not symbols (the constructors `__wasm_call_ctors`/`_initialize`,
//!   `__wasm_apply_data_relocs` and the other linker entry points, hidden exports) and those
//!   the composer calls by name (`__wasm_call_dtors`, `cabi_realloc`, `__cxa_atexit`,
//!   `_start`, `wasi:cli/run`, the setjmp runtime's functions);
//! - in every module: the start function, every function of an element segment (what a
//!   library puts in the table: address-taken functions) and every `ref.func` of a global's or
//!   segment's initializer.
//!
//! **Reachability** within a module follows `call`, `return_call` and `ref.func` in live
//! bodies; across modules it follows the bindings, which are all roots (above).
//!
//! **Removed**: the bodies of the defined functions no root reaches (renumbered away through
//! the module rewriter, `synth::rewrite::REMOVED`; the `.debug_*` sections of a library that
//! loses a body go, since its code moves), and the function exports of a library that is not
//! `dlopen`able which nothing binds (but not one whose live function a body takes with
//! `ref.func`: the export may be its only declaration): they leave the provider's index too, so
//! `dlsym` of such a name says "undefined symbol", as for a name never defined. Data exports, tags, imports,
//! segments and globals are kept.
//!
//! **Folded**: live functions of one library that are the same function become one (see
//! `fold`); not those later passes find by an export's name (the non-symbol exports and the
//! ones the composer calls), the start function, or any a body names with `ref.func`.
//!
//! **Re-encoded**: every library, also one that loses nothing, is rewritten with its kept
//! bodies re-encoded at the shortest LEB128 immediates (`Edit::compact_code`: `wasm-ld -shared`
//! pads every relocated immediate to 5 bytes); its `.debug_*` and `metadata.code.*` sections
//! go, since its code moves.

mod fold;
mod reach;

use crate::parse::{Library, MainModule};
use crate::resolve::{self, Binding, FuncSource, FuncSym, GotTarget, LibId, Resolution};
use crate::synth::rewrite::{self, Additions, Edit, IndexMap, Maps, REMOVED};
use anyhow::{Context, Result};
use hashbrown::HashSet;
use std::fmt::Write as _;
use wasm_encoder::{ExportKind, ExportSection};

/// What `--gc` is told beyond the inputs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The libraries (names as `--lib` takes them) that may be `dlopen`ed, and so keep every
    /// export; `None`: each library no NEEDED entry names.
    pub dl_openable: Option<Vec<String>>,
}

/// What the pass removed from one library.
#[derive(Clone, Debug, Default)]
pub struct Removed {
    /// Defined functions before.
    pub funcs_before: u32,
    /// Defined functions removed.
    pub funcs: u32,
    /// Bytes of the code section removed (the bodies with their sizes).
    pub bytes: u64,
    /// Bytes of the code section before.
    pub bytes_before: u64,
    /// Function exports removed (not reachable by `dlsym`), in export order.
    pub exports: Vec<String>,
    /// Whether its exports are all roots (it may be `dlopen`ed).
    pub openable: bool,
    /// Code bytes its own roots (the table's functions, the start function, `ref.func`s)
    /// reach without any export: what `--gc` could never remove from it.
    pub table_reach_bytes: u64,
    /// Bytes of the code section after (the kept bodies re-encoded with every immediate in its
    /// shortest LEB128).
    pub bytes_after: u64,
    /// Live functions folded into an identical one (see `fold`).
    pub folded: u32,
    /// Bytes of the code section their bodies took (input encoding, with their sizes).
    pub folded_bytes: u64,
}

/// The pass's output: per library, its rewritten bytes and what went.
#[derive(Debug, Default)]
pub struct Collected {
    /// Per library, the module without what was removed, its bodies re-encoded.
    pub bytes: Vec<Vec<u8>>,
    /// Per library, where its functions went: input function index to output index, or
    /// [`REMOVED`] (what the output's validation needs to reuse the input's, see
    /// `validate::rewritten`).
    pub funcs: Vec<Vec<u32>>,
    /// Per library, the functions its bodies name with `ref.func` (input indices, sorted).
    pub body_refs: Vec<Vec<u32>>,
    /// Per library, what was removed.
    pub removed: Vec<Removed>,
}

/// Names the composer's own modules call in a library by name (see the module docs).
fn used_by_composer(name: &str) -> bool {
    matches!(
        name,
        "__wasm_call_dtors" | "cabi_realloc" | "_start" | crate::parse::RUN_EXPORT
    ) || name == crate::synth::atexit::SYMBOL
        || crate::synth::sjlj::FUNCS.contains(&name)
}

/// Finds what no root reaches in `libs` (bound as `res` says) and rewrites the libraries
/// without it.
pub fn collect(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    res: &Resolution,
    opts: &Options,
) -> Result<Collected> {
    let openable = openable(main, libs, res, opts)?;
    let bound = bound(res);
    let mut out = Collected::default();
    for (l, lib) in libs.iter().enumerate() {
        let id = LibId(l as u32);
        let graph = reach::Graph::read(&lib.name, lib.bytes)?;
        let symbols: hashbrown::HashMap<&str, FuncSym> = lib
            .funcs
            .iter()
            .enumerate()
            .map(|(k, (n, _))| (n.as_str(), FuncSym(k as u32)))
            .collect();
        let all = openable[l];
        let mut dropped = HashSet::new();
        let mut roots = graph.roots.clone();
        // Functions later passes find by their export's name and may change (the linker entry
        // points: `__wasm_apply_data_relocs` is evaluated and emptied), or that the composer
        // calls: they keep their own definitions.
        let mut own = graph.body_refs.clone();
        own.extend(graph.start);
        for (name, f) in &graph.exports {
            let special = used_by_composer(name) || !symbols.contains_key(name.as_str());
            if special {
                own.push(*f);
            }
            let keep = all
                || special
                || symbols
                    .get(name.as_str())
                    .is_some_and(|k| bound.contains(&(id, *k)));
            if keep {
                roots.push(*f);
            } else {
                dropped.insert(name.clone());
            }
        }
        let table_reach_bytes = graph
            .live(graph.roots.iter().copied())
            .iter()
            .zip(&graph.body_size)
            .filter(|(l, _)| **l)
            .map(|(_, b)| u64::from(*b))
            .sum();
        let live = graph.live(roots);
        // A live function whose export is its only declaration as referenceable keeps the
        // export when some body takes its `ref.func` (that body would not validate otherwise;
        // the function is live already, so the live set stays). wasm-ld never emits such
        // bodies; hand-written modules may.
        for (name, f) in &graph.exports {
            let is_live = f
                .checked_sub(graph.imported)
                .and_then(|k| live.get(k as usize))
                .is_some_and(|l| *l);
            if is_live && graph.body_refs.binary_search(f).is_ok() {
                dropped.remove(name);
            }
        }
        let mut removed = Removed {
            funcs_before: graph.callees.len() as u32,
            bytes_before: graph.body_size.iter().map(|b| u64::from(*b)).sum(),
            openable: all,
            table_reach_bytes,
            ..Removed::default()
        };
        removed.exports = graph
            .exports
            .iter()
            .filter(|(n, _)| dropped.contains(n))
            .map(|(n, _)| n.clone())
            .collect();
        own.sort_unstable();
        let into = fold::fold(&graph, lib.bytes, &live, |f| own.binary_search(&f).is_ok());
        let mut map: Vec<u32> = (0..graph.imported).collect();
        let mut folded = Vec::new();
        let mut next = graph.imported;
        for (k, is_live) in live.iter().enumerate() {
            let size = u64::from(graph.body_size.get(k).copied().unwrap_or(0));
            let rep = into
                .get(k)
                .copied()
                .flatten()
                .and_then(|r| map.get(graph.imported.checked_add(r)? as usize).copied());
            if let (true, Some(rep)) = (*is_live, rep) {
                // Its class's lowest function is before it, so numbered already.
                map.push(rep);
                folded.push(graph.imported.saturating_add(k as u32));
                removed.folded += 1;
                removed.folded_bytes += size;
            } else if *is_live {
                map.push(next);
                next += 1;
            } else {
                map.push(REMOVED);
                removed.funcs += 1;
                removed.bytes += size;
            }
        }
        // Every library is rewritten, also one that loses nothing: its bodies are re-encoded
        // (wasm-ld pads every relocated immediate to 5 bytes; `--gc` is the size mode).
        let maps = Maps {
            funcs: IndexMap::Table(map.clone()),
            folded,
            ..Maps::default()
        };
        let mut edit = DropExports {
            dropped: &dropped,
            reencoded_at: &graph.reencoded_at,
        };
        let bytes = rewrite::rewrite(lib.bytes, &maps, Additions::default(), &mut edit)
            .with_context(|| format!("{}: removing what --gc found unreachable", lib.name))?;
        removed.bytes_after = code_size(&bytes)
            .with_context(|| format!("{}: reading the module --gc rewrote", lib.name))?;
        out.bytes.push(bytes);
        out.funcs.push(map);
        out.body_refs.push(graph.body_refs);
        out.removed.push(removed);
    }
    Ok(out)
}

/// The libraries as the later passes see them: the rewritten bytes, without the removed
/// exports among their symbols (their other data is unchanged).
pub fn apply<'c>(libs: &[Library<'c>], collected: &'c Collected) -> Vec<Library<'c>> {
    libs.iter()
        .zip(collected.bytes.iter().zip(&collected.removed))
        .map(|(lib, (bytes, removed))| {
            let mut lib = lib.clone();
            lib.bytes = bytes;
            let gone: HashSet<&str> = removed.exports.iter().map(String::as_str).collect();
            lib.funcs.retain(|(n, _)| !gone.contains(n.as_str()));
            lib
        })
        .collect()
}

/// Per library, whether it may be `dlopen`ed (every export is a root).
fn openable(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    res: &Resolution,
    opts: &Options,
) -> Result<Vec<bool>> {
    let mut openable: Vec<bool> = (0..libs.len())
        .map(|l| opts.dl_openable.is_none() && res.linked.binary_search(&LibId(l as u32)).is_err())
        .collect();
    if main.synthesized {
        // The `-shared` main of an all-PIC set: its exports are main's dynamic symbol table.
        if let Some(first) = openable.first_mut() {
            *first = true;
        }
    }
    for name in opts.dl_openable.iter().flatten() {
        let id = resolve::find_lib(libs, name).with_context(|| {
            format!(
                "--dl-openable {name}: {}",
                resolve::search::no_library(libs, name)
            )
        })?;
        openable[id.index()] = true;
    }
    Ok(openable)
}

/// Every library function symbol some binding names.
fn bound(res: &Resolution) -> HashSet<(LibId, FuncSym)> {
    let mut bound = HashSet::new();
    let funcs = res.bindings.iter().flatten().filter_map(|b| match b {
        Binding::Func(FuncSource::Lib(l, k)) => Some((*l, *k)),
        _ => None,
    });
    bound.extend(funcs);
    bound.extend(res.main_imports.iter().filter_map(|s| match s {
        FuncSource::Lib(l, k) => Some((*l, *k)),
        _ => None,
    }));
    bound.extend(
        res.gots
            .iter()
            .chain(&res.main_gots)
            .filter_map(|g| match g {
                GotTarget::LibFunc(l, k) => Some((*l, *k)),
                _ => None,
            }),
    );
    bound
}

/// The rewrite's edit: drops the exports `--gc` removed; re-encodes the bodies reading only
/// the instructions the call graph's reading found may change.
struct DropExports<'a> {
    dropped: &'a HashSet<String>,
    /// [`reach::Graph::reencoded_at`].
    reencoded_at: &'a [Vec<u32>],
}

impl Edit for DropExports<'_> {
    fn export(
        &mut self,
        name: &str,
        kind: ExportKind,
        index: u32,
        out: &mut ExportSection,
    ) -> Result<()> {
        if !(kind == ExportKind::Func && self.dropped.contains(name)) {
            out.export(name, kind, index);
        }
        Ok(())
    }

    fn compact_code(&self) -> bool {
        true
    }

    fn reencoded_at(&self, k: u32) -> Option<&[u32]> {
        self.reencoded_at.get(k as usize).map(Vec::as_slice)
    }
}

/// The bytes of the entries of the code section of module `bytes` (0 without one): its size
/// without the count in front, as [`Removed::bytes_before`] counts.
fn code_size(bytes: &[u8]) -> Result<u64> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CodeSectionStart { range, .. } = payload? {
            let section = bytes
                .get(range.start as usize..range.end as usize)
                .unwrap_or(&[]);
            let mut reader = wasmparser::BinaryReader::new(section, 0);
            reader.read_var_u32()?;
            return Ok((section.len() as u64).saturating_sub(reader.original_position()));
        }
    }
    Ok(0)
}

/// The link map's section on what `--gc` removed, per library.
pub fn render(libs: &[Library<'_>], collected: &Collected) -> String {
    let mut out = String::from("# --gc: removed\n");
    for (lib, r) in libs.iter().zip(&collected.removed) {
        let _ = writeln!(
            out,
            "{}: {} of {} functions ({} of {} code bytes), {} exports; {} functions folded into \
             identical ones ({} code bytes); code {} -> {} bytes; the table alone reaches {} \
             code bytes{}",
            lib.name,
            r.funcs,
            r.funcs_before,
            r.bytes,
            r.bytes_before,
            r.exports.len(),
            r.folded,
            r.folded_bytes,
            r.bytes_before,
            r.bytes_after,
            r.table_reach_bytes,
            if r.openable {
                " (dlopen-able: every export kept)"
            } else {
                ""
            }
        );
        for e in &r.exports {
            let _ = writeln!(out, "  export {e}");
        }
    }
    out
}
