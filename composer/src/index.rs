//! The library index: what the provider needs to answer `dlopen`/`dlsym` for one composition.
//!
//! Byte format (every integer a little-endian u32; `str` = u32 length + bytes):
//! ```text
//! magic "WDLX", version 5
//! nlibs
//! per library (its position is its id):
//!   str name            the name given at compose time (messages, `dladdr`)
//!   str path            its guest path (`wasm_dl_abi::path`): the name, absolute, normalized
//!   n_aliases, str...   `--lib` aliases (one containing `/` is a guest path too)
//!   n_runpath, str...   its RUNPATH directories, `$ORIGIN` expanded (for its `dlopen`s)
//!   table_size          slots of its own element segments; its function slots follow them
//!   mem_size            bytes of memory it is given (MEM_INFO), for `dladdr`
//!   n_deps, u32...      direct dependencies (load these first)
//!   sym_len             byte length of the symbol block that follows (its n_syms included):
//!                       the provider skips the block at start-up and checks it when the
//!                       library's symbols are first looked up
//!   symbol block: n_syms, then per symbol: str name, u8 kind (0 function, 1 data), u32 value
//!                       (function: k, slot = table_base + table_size + k;
//!                        data: offset from memory_base)
//! main:
//!   n_runpath, str...   main's RUNPATH directories, `$ORIGIN` expanded
//!   n_syms, then per symbol: str name, u8 kind, u32 value (absolute slot or address)
//! start-up:
//!   n, u32...           libraries main was linked against: loaded before it runs, in order
//! ```
//! The provider (`provider/src/index.rs`) is the only reader. The composer places the encoded
//! index in the provider's own linear memory (see `provider.rs`), so it is read in place.

use crate::parse::{Library, MainModule};
use crate::resolve::Resolution;

/// The format version (the provider accepts only this one).
pub const VERSION: u32 = 5;

/// Symbol kind tag: a function.
pub const KIND_FUNC: u8 = 0;
/// Symbol kind tag: data.
pub const KIND_DATA: u8 = 1;

/// One symbol entry.
#[derive(Clone, Debug)]
pub struct Symbol<'a> {
    /// Its name.
    pub name: &'a str,
    /// [`KIND_FUNC`] or [`KIND_DATA`].
    pub kind: u8,
    /// Slot index k, data offset, or absolute value (main).
    pub value: u32,
}

/// One library entry.
#[derive(Clone, Debug)]
pub struct LibEntry<'a> {
    /// Name given at compose time (a byte string: file names need not be UTF-8).
    pub name: &'a [u8],
    /// Its guest path.
    pub path: &'a [u8],
    /// Other names it is found by (`--lib` aliases; one containing `/` normalized like a path).
    pub aliases: Vec<Vec<u8>>,
    /// Its RUNPATH directories, `$ORIGIN` expanded.
    pub runpath: Vec<Vec<u8>>,
    /// MEM_INFO table size.
    pub table_size: u32,
    /// MEM_INFO memory size.
    pub mem_size: u32,
    /// Direct dependencies, by library position.
    pub deps: Vec<u32>,
    /// Exported symbols.
    pub syms: Vec<Symbol<'a>>,
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s);
}

fn put_syms(out: &mut Vec<u8>, syms: &[Symbol<'_>]) {
    put_u32(out, syms.len() as u32);
    for s in syms {
        put_str(out, s.name);
        out.push(s.kind);
        put_u32(out, s.value);
    }
}

fn put_list(out: &mut Vec<u8>, items: impl ExactSizeIterator<Item = impl AsRef<[u8]>>) {
    put_u32(out, items.len() as u32);
    for i in items {
        put_bytes(out, i.as_ref());
    }
}

/// Encodes the index; `main_runpath` are main's RUNPATH directories, `$ORIGIN` expanded.
pub fn encode(
    libs: &[LibEntry<'_>],
    main_runpath: &[Vec<u8>],
    main_syms: &[Symbol<'_>],
    startup: &[u32],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"WDLX");
    put_u32(&mut out, VERSION);
    put_u32(&mut out, libs.len() as u32);
    for lib in libs {
        put_bytes(&mut out, lib.name);
        put_bytes(&mut out, lib.path);
        put_list(&mut out, lib.aliases.iter());
        put_list(&mut out, lib.runpath.iter());
        put_u32(&mut out, lib.table_size);
        put_u32(&mut out, lib.mem_size);
        put_u32(&mut out, lib.deps.len() as u32);
        for d in &lib.deps {
            put_u32(&mut out, *d);
        }
        // The symbol block, prefixed by its byte length.
        let len_at = out.len();
        put_u32(&mut out, 0);
        put_syms(&mut out, &lib.syms);
        let len = (out.len() - len_at - 4) as u32;
        out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
    put_list(&mut out, main_runpath.iter());
    put_syms(&mut out, main_syms);
    put_u32(&mut out, startup.len() as u32);
    for l in startup {
        put_u32(&mut out, *l);
    }
    out
}

/// The index of a composition: every library's names (its name, basename and `aliases[j]`),
/// sizes, dependencies and symbols, and the symbols of main that `dlsym` finds. Decided by
/// the resolution alone (the layout does not change it).
pub fn build(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    aliases: &[Vec<&str>],
    res: &Resolution,
) -> Vec<u8> {
    let entries: Vec<LibEntry<'_>> = libs
        .iter()
        .enumerate()
        .map(|(i, lib)| {
            let mut syms: Vec<Symbol<'_>> = lib
                .funcs
                .iter()
                .enumerate()
                .map(|(k, (name, _))| Symbol {
                    name,
                    kind: KIND_FUNC,
                    value: k as u32,
                })
                .collect();
            syms.extend(lib.data.iter().map(|(name, off)| Symbol {
                name,
                kind: KIND_DATA,
                value: *off,
            }));
            LibEntry {
                name: &lib.name_bytes,
                path: &lib.path,
                aliases: aliases
                    .get(i)
                    .into_iter()
                    .flatten()
                    .map(|a| alias_name(a))
                    .collect(),
                runpath: crate::resolve::search::runpath_dirs(&lib.runpath, &lib.path),
                table_size: lib.table_size,
                mem_size: lib.mem_size,
                deps: res.deps[i].iter().map(|d| d.0).collect(),
                syms,
            }
        })
        .collect();
    let mut main_syms: Vec<Symbol<'_>> = main
        .data
        .iter()
        .map(|(name, v)| Symbol {
            name,
            kind: KIND_DATA,
            value: *v,
        })
        .collect();
    main_syms.extend(res.main_func_slots.iter().map(|(name, slot)| Symbol {
        name,
        kind: KIND_FUNC,
        value: *slot,
    }));
    // Functions main imports and takes the address of: their PLT entry is their address.
    main_syms.extend(main.lib_imports.iter().filter_map(|imp| {
        Some(Symbol {
            name: &imp.name,
            kind: KIND_FUNC,
            value: main.canonical_plt_slot(&imp.name)?,
        })
    }));
    main_syms.sort_by(|a, b| a.name.cmp(b.name));
    let startup: Vec<u32> = res.startup.iter().map(|l| l.0).collect();
    let main_runpath = crate::resolve::search::runpath_dirs(
        &main.runpath,
        &crate::resolve::search::main_path(main),
    );
    encode(&entries, &main_runpath, &main_syms, &startup)
}

/// An alias as the index holds it: one containing `/` is a guest path, normalized as the
/// provider normalizes `dlopen` paths (see [`wasm_dl_abi::path`]).
fn alias_name(alias: &str) -> Vec<u8> {
    match alias.contains('/') {
        true => wasm_dl_abi::path::normalize(alias.as_bytes()),
        false => None,
    }
    .unwrap_or_else(|| alias.as_bytes().to_vec())
}
