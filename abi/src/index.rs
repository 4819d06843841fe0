//! The library index: what the provider needs to answer `dlopen`/`dlsym` for one composition.
//! The composer writes it with [`encode`]; the provider reads it (`provider/src/index.rs`, which
//! checks it lazily and builds hash tables over it) — its round-trip test encodes with [`encode`].
//!
//! Byte format (every integer a little-endian u32; `str` = u32 length + bytes):
//! ```text
//! magic "WDLX", version 8
//! nlibs
//! per library (its position is its id):
//!   str name            the name given at compose time (messages, `dladdr`)
//!   str path            its guest path (`crate::path`): the name, absolute, normalized
//!   n_aliases, str...   `--lib` aliases (one containing `/` is a guest path too)
//!   n_runpath, str...   its RUNPATH directories, `$ORIGIN` expanded (for its `dlopen`s)
//!   table_size          slots of its own element segments; its function slots follow them
//!   mem_size            bytes of memory it is given (MEM_INFO), for `dladdr`
//!   n_deps, u32...      direct dependencies (load these first)
//!   n_funcs             its exported functions (their slots, for `dladdr`)
//!   sym_len             byte length of the symbol block that follows (its n_syms included):
//!                       the provider skips the block at start-up and checks it when the
//!                       library's symbols are first looked up
//!   symbol block: n_syms, then per symbol: str name, u8 kind (0 function, 1 data), u32 value
//!                       (function: k, slot = table_base + table_size + k;
//!                        data: offset from memory_base). Empty (n_syms 0) for a library
//!                       whose symbols the shim's table holds (`crate::symtab`): the shim
//!                       looks its names up, the provider gives the search order; so every
//!                       name is stored once in the output
//! main:
//!   n_runpath, str...   main's RUNPATH directories, `$ORIGIN` expanded
//!   n_syms, then per symbol: str name, u8 kind, u32 value (absolute slot or address)
//! start-up:
//!   n, u32...           libraries main was linked against: loaded before it runs, in order
//! ```

use alloc::vec::Vec;

/// The magic the index starts with.
pub const MAGIC: &[u8; 4] = b"WDLX";
/// The format version (the provider accepts only this one). Version 6 added a hash table per
/// library for the shim, which cost 40 bytes a symbol in the output and did not make first
/// lookups faster (the hand-over to the shim cost more than the provider lookups it saved);
/// version 7 was version 5's format; version 8 added `n_funcs` and leaves the symbols of a
/// library with a shim table out.
pub const VERSION: u32 = 8;

/// Symbol kind tag: a function.
pub const KIND_FUNC: u8 = 0;
/// Symbol kind tag: data.
pub const KIND_DATA: u8 = 1;

/// One symbol entry.
#[derive(Clone, Debug)]
pub struct Symbol<'a> {
    /// Its name.
    pub name: &'a [u8],
    /// [`KIND_FUNC`] or [`KIND_DATA`].
    pub kind: u8,
    /// Slot index k, data offset, or absolute value (main).
    pub value: u32,
}

/// One library entry.
#[derive(Clone, Debug, Default)]
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
    /// The shim's table holds its symbols (`crate::symtab::encode` said so): its symbol block
    /// is left empty (only the count of its functions, from `syms`, is written).
    pub in_shim: bool,
}

/// Lengths and counts are u32: the composer's inputs are wasm modules, whose own sizes are
/// u32, so no list or name of one passes `u32::MAX`.
fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
}

fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len());
    out.extend_from_slice(s);
}

fn put_syms(out: &mut Vec<u8>, syms: &[Symbol<'_>]) {
    put_len(out, syms.len());
    for s in syms {
        put_bytes(out, s.name);
        out.push(s.kind);
        put_u32(out, s.value);
    }
}

fn put_list(out: &mut Vec<u8>, items: &[Vec<u8>]) {
    put_len(out, items.len());
    for i in items {
        put_bytes(out, i);
    }
}

/// Encodes the index; `main_runpath` are main's RUNPATH directories, `$ORIGIN` expanded.
pub fn encode(
    libs: &[LibEntry<'_>],
    main_runpath: &[Vec<u8>],
    main_syms: &[Symbol<'_>],
    startup: &[u32],
) -> Vec<u8> {
    encode_with_blocks(libs, main_runpath, main_syms, startup, &mut |_, block| {
        block
    })
}

/// [`encode`], with each library's encoded symbol block passed through `block(lib, bytes)`
/// before it is written (its length prefix follows the result): how tests make corrupt blocks.
pub fn encode_with_blocks(
    libs: &[LibEntry<'_>],
    main_runpath: &[Vec<u8>],
    main_syms: &[Symbol<'_>],
    startup: &[u32],
    block: &mut dyn FnMut(usize, Vec<u8>) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    put_len(&mut out, libs.len());
    for (i, lib) in libs.iter().enumerate() {
        put_bytes(&mut out, lib.name);
        put_bytes(&mut out, lib.path);
        put_list(&mut out, &lib.aliases);
        put_list(&mut out, &lib.runpath);
        put_u32(&mut out, lib.table_size);
        put_u32(&mut out, lib.mem_size);
        put_len(&mut out, lib.deps.len());
        for d in &lib.deps {
            put_u32(&mut out, *d);
        }
        put_len(
            &mut out,
            lib.syms.iter().filter(|s| s.kind == KIND_FUNC).count(),
        );
        // The symbol block, prefixed by its byte length.
        let mut syms = Vec::new();
        put_syms(&mut syms, if lib.in_shim { &[] } else { &lib.syms });
        put_bytes(&mut out, &block(i, syms));
    }
    put_list(&mut out, main_runpath);
    put_syms(&mut out, main_syms);
    put_len(&mut out, startup.len());
    for l in startup {
        put_u32(&mut out, *l);
    }
    out
}
