//! Host unit tests of the index decoder and the dl state machine.

mod close;
mod index;
mod open;
mod paths;

use crate::dl::*;
use crate::index::{basename, Index, Kind};

use wasm_dl_abi::index::{KIND_DATA as DATA, KIND_FUNC as FUNC};

/// A library for the test encoder.
#[derive(Clone, Default)]
struct L {
    name: &'static [u8],
    aliases: Vec<&'static [u8]>,
    /// RUNPATH directories (as the composer writes them: `$ORIGIN` expanded).
    runpath: Vec<&'static [u8]>,
    table_size: u32,
    mem_size: u32,
    deps: Vec<u32>,
    syms: Vec<(&'static [u8], u8, u32)>,
    /// The shim's table holds its symbols (the index leaves them out).
    in_shim: bool,
}

fn lib(name: &'static str, deps: &[u32]) -> L {
    L {
        name: name.as_bytes(),
        deps: deps.to_vec(),
        ..L::default()
    }
}

/// The index of `libs` and `main`'s symbols, written by the composer's encoder
/// (`wasm_dl_abi::index::encode`): these tests are the round trip of the format.
fn encode(libs: &[L], main: &[(&[u8], u8, u32)]) -> Vec<u8> {
    encode_with_startup(libs, main, &[])
}

/// The index encoder with a start-up list.
fn encode_with_startup(libs: &[L], main: &[(&[u8], u8, u32)], startup: &[u32]) -> Vec<u8> {
    encode_blocks(libs, main, startup, &|_, b| b.to_vec())
}

thread_local! {
    /// Main's RUNPATH for the encoder (tests of `dlopen` from main set it).
    static MAIN_RUNPATH: core::cell::RefCell<Vec<&'static [u8]>> =
        const { core::cell::RefCell::new(Vec::new()) };
}

fn symbols<'a>(syms: &[(&'a [u8], u8, u32)]) -> Vec<wasm_dl_abi::index::Symbol<'a>> {
    syms.iter()
        .map(|&(name, kind, value)| wasm_dl_abi::index::Symbol { name, kind, value })
        .collect()
}

/// The index encoder, with `block(lib, encoded)` replacing each library's symbol block (the
/// length prefix follows the replacement).
fn encode_blocks(
    libs: &[L],
    main: &[(&[u8], u8, u32)],
    startup: &[u32],
    block: &dyn Fn(usize, &[u8]) -> Vec<u8>,
) -> Vec<u8> {
    // The guest paths, as the composer computes them.
    let paths: Vec<Vec<u8>> = libs
        .iter()
        .map(|l| wasm_dl_abi::path::normalize(l.name).unwrap_or_else(|| l.name.to_vec()))
        .collect();
    let entries: Vec<wasm_dl_abi::index::LibEntry<'_>> = libs
        .iter()
        .zip(&paths)
        .map(|(l, path)| wasm_dl_abi::index::LibEntry {
            name: l.name,
            path,
            aliases: l.aliases.iter().map(|a| a.to_vec()).collect(),
            runpath: l.runpath.iter().map(|r| r.to_vec()).collect(),
            table_size: l.table_size,
            mem_size: l.mem_size,
            deps: l.deps.clone(),
            syms: symbols(&l.syms),
            in_shim: l.in_shim,
        })
        .collect();
    let main_runpath: Vec<Vec<u8>> =
        MAIN_RUNPATH.with(|r| r.borrow().iter().map(|d| d.to_vec()).collect());
    wasm_dl_abi::index::encode_with_blocks(
        &entries,
        &main_runpath,
        &symbols(main),
        startup,
        &mut |i, b| block(i, &b),
    )
}

fn dl(libs: &[L]) -> Dl {
    Dl::new(encode(libs, &[]))
}

fn msg(e: Vec<u8>) -> String {
    assert_eq!(e.last(), Some(&0), "error messages end with NUL: {e:?}");
    assert!(!e[..e.len() - 1].contains(&0));
    String::from_utf8_lossy(&e[..e.len() - 1]).into_owned()
}

fn open(d: &mut Dl, name: &str, mode: i32) -> Opened {
    d.open(Some(name.as_bytes()), mode)
        .unwrap_or_else(|e| panic!("{}", msg(e)))
}

fn open_err(d: &mut Dl, name: &[u8], mode: i32) -> String {
    msg(d.open(Some(name), mode).expect_err("open should fail"))
}

/// A set of libraries with names, aliases, symbols and dependencies.
fn greet_set() -> Vec<L> {
    vec![
        L {
            name: b"plugins/libgreet.so",
            aliases: vec![b"libgreet.so.1", b"greet"],
            table_size: 3,
            mem_size: 0,
            deps: vec![1],
            syms: vec![
                (b"greet", FUNC, 0),
                (b"greet_count", DATA, 16),
                (b"shout", FUNC, 1),
            ],
            ..L::default()
        },
        L {
            name: b"libutil.so",
            aliases: vec![b"libutil.so.2"],
            table_size: 1,
            mem_size: 0,
            deps: vec![],
            syms: vec![
                (b"util", FUNC, 0),
                (b"shout", FUNC, 1),
                (b"util_data", DATA, 8),
            ],
            ..L::default()
        },
        L {
            name: b"/opt/lib/libother.so",
            syms: vec![(b"other", FUNC, 0)],
            ..L::default()
        },
    ]
}

fn main_syms() -> Vec<(&'static [u8], u8, u32)> {
    vec![
        (b"malloc", FUNC, 7),
        (b"errno", DATA, 0x1000),
        (b"util", FUNC, 9),
    ]
}

// ---------------------------------------------------------------------------------------------
// Index decoding

/// 0 = app needs [1, 2]; 1 needs [3]; 2 needs [3]; 3 needs [].
fn diamond() -> Vec<L> {
    vec![
        lib("libapp.so", &[1, 2]),
        lib("libb.so", &[3]),
        lib("libc.so", &[3]),
        lib("libd.so", &[]),
    ]
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = Vec::from(s.as_bytes());
    v.push(0);
    v
}
