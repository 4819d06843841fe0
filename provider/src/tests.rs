//! Host unit tests of the index decoder and the dl state machine.

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

#[test]
fn decodes_index() {
    let idx = Index::decode(encode(&greet_set(), &main_syms())).expect("valid");
    assert_eq!(idx.libs.len(), 3);
    let g = &idx.libs[0];
    assert_eq!(idx.str(&g.name), b"plugins/libgreet.so");
    assert_eq!(
        g.aliases.iter().map(|a| idx.str(a)).collect::<Vec<_>>(),
        [&b"libgreet.so.1"[..], b"greet"]
    );
    assert_eq!(g.table_size, 3);
    assert_eq!(g.deps, [1]);
    assert_eq!(
        g.symbols(&idx.bytes).expect("valid block").syms.syms.len(),
        3
    );
    let s = g
        .symbols(&idx.bytes)
        .expect("valid block")
        .syms
        .get(&idx.bytes, b"greet_count")
        .expect("symbol");
    assert_eq!((s.kind, s.value), (Kind::Data, 16));
    let s = g
        .symbols(&idx.bytes)
        .expect("valid block")
        .syms
        .get(&idx.bytes, b"shout")
        .expect("symbol");
    assert_eq!((s.kind, s.value), (Kind::Func, 1));
    assert!(g
        .symbols(&idx.bytes)
        .expect("valid block")
        .syms
        .get(&idx.bytes, b"util")
        .is_none());
    let m = idx.main.get(&idx.bytes, b"errno").expect("main symbol");
    assert_eq!((m.kind, m.value), (Kind::Data, 0x1000));
}

#[test]
fn decodes_empty_index() {
    let idx = Index::decode(encode(&[], &[])).expect("valid");
    assert!(idx.libs.is_empty());
    let mut d = dl(&[]);
    assert_eq!(
        d.open(None, RTLD_NOW),
        Ok(Opened {
            handle: 1,
            load: vec![]
        })
    );
    assert!(open_err(&mut d, b"libx.so", RTLD_NOW).contains("cannot open"));
}

#[test]
fn many_symbols_are_hashed() {
    let names: Vec<&'static [u8]> = (0..2000)
        .map(|i| &*Box::leak(format!("sym_{i}").into_bytes().into_boxed_slice()))
        .collect();
    let syms: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, FUNC, i as u32))
        .collect();
    let mut d = dl(&[L {
        name: b"libbig.so",
        table_size: 5,
        syms,
        ..L::default()
    }]);
    let h = open(&mut d, "libbig.so", RTLD_NOW).handle;
    d.loaded(0, 0, 100);
    for (i, n) in names.iter().enumerate() {
        assert_eq!(d.sym(h, n), Ok(105 + i as u32));
    }
    assert!(d.sym(h, b"sym_2000").is_err());
}

#[test]
fn duplicate_names_first_wins() {
    let mut a = lib("liba.so", &[]);
    a.syms = vec![(b"f", FUNC, 0), (b"f", FUNC, 1)];
    let mut b = lib("dir/liba.so", &[]);
    b.aliases = vec![b"liba.so"];
    let mut d = dl(&[a, b, lib("liba.so", &[])]);
    assert_eq!(open(&mut d, "liba.so", RTLD_NOW).handle, 2);
    assert_eq!(d.sym(2, b"f"), Ok(0));
    assert_eq!(open(&mut d, "dir/liba.so", RTLD_NOW).handle, 3);
}

#[test]
fn basename_helper() {
    assert_eq!(basename(b"a/b/c.so"), b"c.so");
    assert_eq!(basename(b"c.so"), b"c.so");
    assert_eq!(basename(b"dir/"), b"");
    assert_eq!(basename(b""), b"");
}

// ---------------------------------------------------------------------------------------------
// Corrupt indexes

fn assert_corrupt(bytes: Vec<u8>) {
    let mut d = Dl::new(bytes);
    for r in [
        d.open(None, RTLD_NOW).map(|_| ()),
        d.open(Some(b"libgreet.so"), RTLD_NOW).map(|_| ()),
        d.sym(0, b"greet").map(|_| ()),
        d.sym(2, b"greet").map(|_| ()),
        d.close(2).map(|_| ()),
        d.close(1).map(|_| ()),
    ] {
        let m = msg(r.expect_err("corrupt index"));
        assert!(m.contains("library index is corrupt"), "{m}");
    }
    d.loaded(0, 1, 2); // ignored, no panic
}

#[test]
fn corrupt_index_every_truncation() {
    let good = encode(&greet_set(), &main_syms());
    assert!(Index::decode(good.clone()).is_ok());
    for n in 0..good.len() {
        assert_corrupt(good[..n].to_vec());
    }
    let mut long = good.clone();
    long.push(0);
    assert_corrupt(long);
}

#[test]
fn corrupt_index_fields() {
    let good = encode(&greet_set(), &main_syms());
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    assert_corrupt(bad_magic);
    let mut bad_version = good.clone();
    bad_version[4] = 1;
    assert_corrupt(bad_version);
    let mut huge_count = good.clone();
    huge_count[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_corrupt(huge_count);
    // A dependency that is not a library.
    assert_corrupt(encode(&[lib("liba.so", &[1])], &[]));
    // A symbol kind of main that is neither function nor data (main's symbols are checked at
    // once; a library's when first looked up: see `corrupt_symbol_block_*`).
    assert_corrupt(encode(&[], &[(b"f", 7, 0)]));
    let m = msg(Dl::new(b"WDLX".to_vec()).sym(0, b"x").unwrap_err());
    assert_eq!(
        m,
        "wasm-dl: the library index is corrupt (bad version at byte 4)"
    );
}

/// Checks a `greet_set` index whose library 0 (libgreet, depending on libutil) has a corrupt symbol
/// block: it decodes, libraries open, lookups elsewhere work, and every lookup in libgreet fails
/// with the corrupt-index error (`what` at byte `at`), never a panic.
fn assert_lazy_corrupt(bytes: Vec<u8>, what: &str, at: Option<usize>) {
    let mut d = Dl::new(bytes);
    let util = open(&mut d, "libutil.so", RTLD_NOW).handle;
    let greet = open(&mut d, "libgreet.so", RTLD_NOW);
    assert_eq!(greet.load, [0]);
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    assert_eq!(d.sym(util, b"util"), Ok(41));
    for _ in 0..2 {
        let m = msg(d.sym(greet.handle, b"greet").expect_err("corrupt block"));
        assert!(
            m.starts_with("wasm-dl: the library index is corrupt (bad ") && m.contains(what),
            "{m}"
        );
        if let Some(at) = at {
            assert!(m.ends_with(&format!(" at byte {at})")), "{m}");
        }
    }
    // Its function slots are unknown; its memory is still its own, without symbols.
    assert_eq!(d.addr(53), None);
    let info = d.addr(0x3000).map(|i| (i.fname, i.sname));
    assert!(info.is_none_or(|(f, s)| f == cstr("plugins/libgreet.so") && s.is_empty()));
    // Elsewhere: libutil, main.
    assert_eq!(d.sym(util, b"util_data"), Ok(0x2008));
    assert_eq!(d.sym(0, b"errno"), Ok(0x1000));
    assert_eq!(d.close(greet.handle), Ok(vec![0]));
    assert_eq!(d.close(util), Ok(vec![1]));
}

/// The symbol block of library 0 of `greet_set`, encoded.
fn greet_block() -> Vec<u8> {
    let block = core::cell::RefCell::new(Vec::new());
    encode_blocks(&greet_set()[..1], &[], &[], &|_, b| {
        *block.borrow_mut() = b.to_vec();
        b.to_vec()
    });
    block.into_inner()
}

#[test]
fn corrupt_symbol_block_is_found_at_first_lookup() {
    let good = encode(&greet_set(), &main_syms());
    let block = greet_block();
    let start = good
        .windows(block.len())
        .position(|w| w == block)
        .expect("library 0's block");
    assert_eq!(
        good[start - 4..start],
        (greet_block().len() as u32).to_le_bytes()
    );
    // A symbol kind that is neither function nor data: "greet" is the first symbol, its kind
    // byte follows the count, the name length and the name.
    let kind_at = start + 4 + 4 + 5;
    let mut bad_kind = good.clone();
    assert_eq!(bad_kind[kind_at], FUNC);
    bad_kind[kind_at] = 2;
    assert_lazy_corrupt(bad_kind, "symbol kind", Some(kind_at));
    // A symbol count the block cannot hold.
    let mut bad_count = good.clone();
    bad_count[start..start + 4].copy_from_slice(&4u32.to_le_bytes());
    assert_lazy_corrupt(bad_count, "symbol", None);
    // A name running past the block (into the next library's bytes).
    let mut long_name = good.clone();
    long_name[start + 4..start + 8].copy_from_slice(&60u32.to_le_bytes());
    assert_lazy_corrupt(long_name, "symbol name", Some(start + 8));
}

#[test]
fn corrupt_symbol_block_every_truncation() {
    let block = greet_block();
    for n in 0..block.len() {
        let bytes = encode_blocks(&greet_set(), &main_syms(), &[], &|lib, b| {
            if lib == 0 {
                b[..n].to_vec()
            } else {
                b.to_vec()
            }
        });
        assert_lazy_corrupt(bytes, "symbol", None);
    }
    // A byte after the last symbol.
    let bytes = encode_blocks(&greet_set(), &main_syms(), &[], &|lib, b| {
        let mut b = b.to_vec();
        if lib == 0 {
            b.push(0);
        }
        b
    });
    assert_lazy_corrupt(bytes, "symbol block length", None);
}

#[test]
fn symbol_blocks_are_checked_only_when_used() {
    // Every block but libutil's is garbage: libutil still works, alone and as a dependency.
    let bytes = encode_blocks(&greet_set(), &main_syms(), &[], &|lib, b| {
        if lib == 1 {
            b.to_vec()
        } else {
            vec![0xff; 7]
        }
    });
    let idx = Index::decode(bytes.clone()).expect("decodes without looking at the blocks");
    assert!(idx.libs[1].symbols(&idx.bytes).is_ok());
    let c = idx.libs[0].symbols(&idx.bytes).err().expect("corrupt");
    assert_eq!(c.what, "symbol count");
    assert!(idx.libs[2].symbols(&idx.bytes).is_err());
    let mut d = Dl::new(bytes);
    let h = open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL).handle;
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    // Main first; then the global scope reaches libgreet's corrupt block.
    assert_eq!(d.sym(0, b"malloc"), Ok(7));
    assert!(msg(d.sym(0, b"util_data").unwrap_err()).contains("library index is corrupt"));
    assert!(msg(d.sym(h, b"util_data").unwrap_err()).contains("library index is corrupt"));
    let u = open(&mut d, "libutil.so", RTLD_NOW).handle;
    assert_eq!(d.sym(u, b"util_data"), Ok(0x2008));
    assert_eq!(d.addr(41).map(|i| i.sname), Some(cstr("util")));
}

#[test]
fn corrupt_index_mutations_never_panic() {
    let good = encode(&greet_set(), &main_syms());
    let mut seed: u64 = 0x1234_5678_9abc_def0;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for _ in 0..3000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let i = next() % b.len();
            b[i] = next() as u8;
        }
        let mut d = Dl::new(b);
        let _ = d.open(Some(b"libgreet.so"), RTLD_NOW);
        let _ = d.open(Some(b"libother.so"), RTLD_NOW);
        let _ = d.sym(0, b"greet");
        let _ = d.sym(2, b"util");
        let _ = d.close(2);
        let _ = d.addr(50);
        let _ = d.addr(0x3010);
    }
}

// ---------------------------------------------------------------------------------------------
// open: names and modes

#[test]
fn open_by_exact_alias_basename_and_path() {
    let mut d = dl(&greet_set());
    let mut h = |name: &str| open(&mut d, name, RTLD_NOW).handle;
    assert_eq!(h("plugins/libgreet.so"), 2); // exact
    assert_eq!(h("libgreet.so.1"), 2); // alias
    assert_eq!(h("greet"), 2); // alias
    assert_eq!(h("libgreet.so"), 2); // basename of a name
    assert_eq!(h("/some/where/plugins/libgreet.so"), 2); // path: basename
    assert_eq!(h("./lib/libgreet.so.1"), 2); // path: basename is an alias
    assert_eq!(h("libutil.so"), 3);
    assert_eq!(h("libutil.so.2"), 3);
    assert_eq!(h("/usr/lib/libutil.so"), 3);
    assert_eq!(h("/opt/lib/libother.so"), 4); // exact absolute
    assert_eq!(h("libother.so"), 4);
}

#[test]
fn open_not_found() {
    let mut d = dl(&greet_set());
    assert_eq!(
        open_err(&mut d, b"libnope.so", RTLD_NOW),
        "libnope.so: cannot open shared object file: No such file or directory"
    );
    assert!(open_err(&mut d, b"plugins/", RTLD_NOW).starts_with("plugins/: cannot open"));
    assert!(open_err(&mut d, b"", RTLD_LAZY).starts_with(": cannot open"));
}

#[test]
fn open_non_utf8_names() {
    let mut libs = greet_set();
    libs.push(L {
        name: b"lib\xff\xfe.so",
        ..L::default()
    });
    let mut d = dl(&libs);
    let e = d.open(Some(b"/x/lib\xc3\x28bad.so"), RTLD_NOW).unwrap_err();
    assert_eq!(
        e,
        b"/x/lib\xc3\x28bad.so: cannot open shared object file: No such file or directory\0"
    );
    assert_eq!(
        d.open(Some(b"dir/lib\xff\xfe.so"), RTLD_NOW)
            .map(|o| o.handle),
        Ok(5)
    );
    assert!(d
        .sym(5, b"\xff")
        .unwrap_err()
        .starts_with(b"dir/lib\xff\xfe.so: undefined symbol: \xff")); // the path it was opened by
}

#[test]
fn open_invalid_mode() {
    let mut d = dl(&greet_set());
    for mode in [0, RTLD_GLOBAL, RTLD_NOLOAD, RTLD_NODELETE | RTLD_GLOBAL] {
        let m = open_err(&mut d, b"libutil.so", mode);
        assert!(
            m.ends_with(": one of RTLD_LAZY or RTLD_NOW is required"),
            "{m}"
        );
        assert!(
            m.starts_with(&format!("dlopen: invalid mode {mode:#x}")),
            "{m}"
        );
        let m = msg(d.open(None, mode).unwrap_err());
        assert!(m.starts_with("dlopen: invalid mode"), "{m}");
    }
    assert_eq!(
        open_err(&mut d, b"libutil.so", RTLD_NOW | 0x10000),
        "dlopen: invalid mode 0x10002: unknown flag bits 0x10000"
    );
    assert_eq!(
        open_err(&mut d, b"libutil.so", -1),
        "dlopen: invalid mode 0xffffffff: unknown flag bits 0xffffeef0"
    );
    // Nothing was loaded by the failed calls.
    assert!(!d.is_loaded(1));
    // Every known flag together is fine.
    let all = RTLD_LAZY | RTLD_NOW | RTLD_DEEPBIND | RTLD_GLOBAL | RTLD_NODELETE;
    assert_eq!(open(&mut d, "libutil.so", all).handle, 3);
}

#[test]
fn open_null_is_global_scope() {
    let mut d = dl(&greet_set());
    for mode in [RTLD_NOW, RTLD_LAZY | RTLD_GLOBAL, RTLD_NOW | RTLD_NOLOAD] {
        assert_eq!(
            d.open(None, mode),
            Ok(Opened {
                handle: HANDLE_GLOBAL,
                load: vec![]
            })
        );
    }
}

#[test]
fn noload() {
    let mut d = dl(&greet_set());
    assert_eq!(
        open(&mut d, "libgreet.so", RTLD_NOW | RTLD_NOLOAD),
        Opened {
            handle: 0,
            load: vec![]
        }
    );
    assert!(!d.is_loaded(0));
    assert_eq!(d.refcount(0), 0);
    // Unknown names are still an error with NOLOAD.
    assert!(open_err(&mut d, b"libnope.so", RTLD_NOW | RTLD_NOLOAD).contains("cannot open"));
    assert_eq!(open(&mut d, "libgreet.so", RTLD_NOW).load, [1, 0]);
    assert_eq!(
        open(&mut d, "greet", RTLD_NOW | RTLD_NOLOAD),
        Opened {
            handle: 2,
            load: vec![]
        }
    );
    assert_eq!(d.refcount(0), 2);
    // libutil was loaded as a dependency: NOLOAD finds it (as glibc does).
    assert_eq!(
        open(&mut d, "libutil.so", RTLD_LAZY | RTLD_NOLOAD),
        Opened {
            handle: 3,
            load: vec![]
        }
    );
    assert_eq!(d.refcount(1), 1);
}

#[test]
fn same_library_twice_same_handle_refcount() {
    let mut d = dl(&greet_set());
    let a = open(&mut d, "libutil.so", RTLD_NOW);
    assert_eq!(
        a,
        Opened {
            handle: 3,
            load: vec![1]
        }
    );
    assert_eq!(d.refcount(1), 1);
    let b = open(&mut d, "/x/libutil.so.2", RTLD_LAZY);
    assert_eq!(
        b,
        Opened {
            handle: 3,
            load: vec![]
        }
    );
    assert_eq!(d.refcount(1), 2);
    assert_eq!(d.close(3), Ok(vec![]));
    assert_eq!(d.refcount(1), 1);
    assert_eq!(d.sym(3, b"util"), Ok(1));
    assert_eq!(d.close(3), Ok(vec![1]));
    assert_eq!(d.refcount(1), 0);
    assert!(!d.is_loaded(1));
    assert_eq!(msg(d.close(3).unwrap_err()), "dlclose: invalid handle 0x3");
    assert_eq!(msg(d.sym(3, b"util").unwrap_err()), "dlsym: invalid handle");
    // Opening again loads (and constructs) it again.
    assert_eq!(
        open(&mut d, "libutil.so", RTLD_NOW),
        Opened {
            handle: 3,
            load: vec![1]
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Load lists

/// 0 = app needs [1, 2]; 1 needs [3]; 2 needs [3]; 3 needs [].
fn diamond() -> Vec<L> {
    vec![
        lib("libapp.so", &[1, 2]),
        lib("libb.so", &[3]),
        lib("libc.so", &[3]),
        lib("libd.so", &[]),
    ]
}

#[test]
fn load_list_diamond() {
    let mut d = dl(&diamond());
    assert_eq!(open(&mut d, "libapp.so", RTLD_NOW).load, [3, 1, 2, 0]);
    assert_eq!(open(&mut d, "libc.so", RTLD_NOW).load, Vec::<u32>::new());
    assert_eq!(open(&mut d, "libd.so", RTLD_NOW).load, Vec::<u32>::new());
    assert_eq!(
        (d.refcount(0), d.refcount(1), d.refcount(2), d.refcount(3)),
        (1, 0, 1, 1)
    );
}

#[test]
fn load_list_skips_loaded() {
    let mut d = dl(&diamond());
    assert_eq!(open(&mut d, "libb.so", RTLD_NOW).load, [3, 1]);
    assert_eq!(open(&mut d, "libapp.so", RTLD_NOW).load, [2, 0]);
}

#[test]
fn load_list_cycle() {
    // 0 needs 1, 1 needs 2, 2 needs 0 and itself.
    let libs = vec![
        lib("liba.so", &[1]),
        lib("libb.so", &[2]),
        lib("libc.so", &[0, 2]),
    ];
    let mut d = dl(&libs);
    assert_eq!(open(&mut d, "liba.so", RTLD_NOW).load, [2, 1, 0]);
    let mut d = dl(&libs);
    assert_eq!(open(&mut d, "libc.so", RTLD_NOW).load, [1, 0, 2]);
    assert_eq!(open(&mut d, "libb.so", RTLD_NOW).load, Vec::<u32>::new());
}

#[test]
fn load_list_self_dependency_and_repeats() {
    let mut d = dl(&[lib("liba.so", &[0, 1, 1]), lib("libb.so", &[1])]);
    assert_eq!(open(&mut d, "liba.so", RTLD_NOW).load, [1, 0]);
}

#[test]
fn load_list_deep_chain() {
    // A long chain must not overflow any stack.
    let names: Vec<&'static str> = (0..5000)
        .map(|i| &*Box::leak(format!("lib{i}.so").into_boxed_str()))
        .collect();
    let libs: Vec<L> = (0..5000u32)
        .map(|i| {
            let deps: &[u32] = if i + 1 < 5000 { &[i + 1] } else { &[] };
            lib(names[i as usize], deps)
        })
        .collect();
    let mut d = dl(&libs);
    let load = open(&mut d, "lib0.so", RTLD_NOW).load;
    assert_eq!(load, (0..5000).rev().collect::<Vec<u32>>());
}

// ---------------------------------------------------------------------------------------------
// sym

#[test]
fn sym_global_scope() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    // Main's symbols are visible before anything is loaded, values as is.
    for h in [HANDLE_DEFAULT, HANDLE_GLOBAL] {
        assert_eq!(d.sym(h, b"malloc"), Ok(7));
        assert_eq!(d.sym(h, b"errno"), Ok(0x1000));
        assert_eq!(
            msg(d.sym(h, b"greet").unwrap_err()),
            "main program: undefined symbol: greet"
        );
    }
    // RTLD_GLOBAL puts libgreet and its dependency libutil into the global scope.
    assert_eq!(
        open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL).load,
        [1, 0]
    );
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    d.loaded(99, 1, 1); // ignored
    for h in [HANDLE_DEFAULT, HANDLE_GLOBAL] {
        assert_eq!(d.sym(h, b"greet"), Ok(50 + 3)); // function: table_base + table_size + k
        assert_eq!(d.sym(h, b"greet_count"), Ok(0x3000 + 16)); // data: memory_base + offset
        assert_eq!(d.sym(h, b"util_data"), Ok(0x2000 + 8));
        assert_eq!(d.sym(h, b"util"), Ok(9)); // main first
                                              // libgreet joined the global scope before its dependency (glibc adds the object's
                                              // search list: itself, then its dependencies breadth-first).
        assert_eq!(d.sym(h, b"shout"), Ok(50 + 3 + 1));
        assert!(d.sym(h, b"other").is_err()); // not loaded
    }
}

/// glibc names a library in dlsym's error by the path it was first opened by (its `l_name`), as
/// given: Lua's `require` prints `./mod.so: undefined symbol: luaopen_mod`.
#[test]
fn sym_error_names_the_path_the_library_was_opened_by() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let g = open(&mut d, "./here/libgreet.so", RTLD_NOW).handle;
    d.loaded(0, 0x3000, 50);
    d.loaded(1, 0x2000, 40);
    // A second open by another name does not rename it.
    assert_eq!(open(&mut d, "/elsewhere/libgreet.so", RTLD_NOW).handle, g);
    assert_eq!(
        msg(d.sym(g, b"other").unwrap_err()),
        "./here/libgreet.so: undefined symbol: other"
    );
    // Unloaded, then opened by a name without a slash: its composed name again.
    assert!(d.close(g).is_ok());
    assert!(d.close(g).is_ok());
    let g = open(&mut d, "libgreet.so", RTLD_NOW).handle;
    assert_eq!(
        msg(d.sym(g, b"other").unwrap_err()),
        "plugins/libgreet.so: undefined symbol: other"
    );
}

#[test]
fn sym_library_handle_with_deps() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let g = open(&mut d, "libgreet.so", RTLD_NOW).handle;
    let o = open(&mut d, "libother.so", RTLD_NOW).handle;
    d.loaded(0, 0x3000, 50);
    d.loaded(1, 0x2000, 40);
    d.loaded(2, 0x4000, 60);
    assert_eq!(d.sym(g, b"shout"), Ok(50 + 3 + 1)); // its own first
    assert_eq!(d.sym(g, b"util"), Ok(40 + 1)); // then its dependency (not main)
    assert_eq!(d.sym(g, b"util_data"), Ok(0x2008));
    assert_eq!(
        msg(d.sym(g, b"other").unwrap_err()),
        "plugins/libgreet.so: undefined symbol: other"
    );
    assert_eq!(
        msg(d.sym(g, b"malloc").unwrap_err()),
        "plugins/libgreet.so: undefined symbol: malloc"
    );
    assert_eq!(d.sym(o, b"other"), Ok(60));
    assert_eq!(
        msg(d.sym(o, b"greet").unwrap_err()),
        "/opt/lib/libother.so: undefined symbol: greet"
    );
}

#[test]
fn sym_dependencies_breadth_first() {
    // 0 needs [1, 2]; 1 needs [3]; 2 defines f; 3 defines f: breadth-first finds 2's.
    let mut libs = diamond();
    libs[2].syms = vec![(b"f", DATA, 1)];
    libs[3].syms = vec![(b"f", DATA, 2), (b"g", DATA, 3)];
    let mut d = dl(&libs);
    let h = open(&mut d, "libapp.so", RTLD_NOW | RTLD_GLOBAL).handle;
    for l in 0..4 {
        d.loaded(l, 1000 * (l + 1), 0);
    }
    assert_eq!(d.sym(h, b"f"), Ok(3001));
    assert_eq!(d.sym(h, b"g"), Ok(4003));
    // Global scope: libapp's search list [0, 1, 2, 3] (not the load order [3, 1, 2, 0]).
    assert_eq!(d.sym(0, b"f"), Ok(3001));
}

#[test]
fn sym_bad_handles() {
    let mut d = dl(&greet_set());
    assert_eq!(
        msg(d.sym(HANDLE_NEXT, b"x").unwrap_err()),
        "dlsym(RTLD_NEXT): undefined symbol: x"
    );
    for h in [2, 3, 4, 5, 1000, 0x7FFF_FFFF] {
        assert_eq!(
            msg(d.sym(h, b"greet").unwrap_err()),
            "dlsym: invalid handle"
        );
    }
    open(&mut d, "libgreet.so", RTLD_NOW);
    assert!(d.sym(2, b"greet").is_ok());
    // libutil is loaded as a dependency but was never opened: its handle is not valid.
    assert_eq!(msg(d.sym(3, b"util").unwrap_err()), "dlsym: invalid handle");
}

// ---------------------------------------------------------------------------------------------
// close

#[test]
fn close_handles() {
    let mut d = dl(&greet_set());
    for h in [0, 2, 3, 5, 0xFFFF_FFFF] {
        assert_eq!(
            msg(d.close(h).unwrap_err()),
            format!("dlclose: invalid handle {h:#x}")
        );
    }
    assert_eq!(d.close(HANDLE_GLOBAL), Ok(vec![]));
    let h = open(
        &mut d,
        "libother.so",
        RTLD_NOW | RTLD_NODELETE | RTLD_GLOBAL,
    )
    .handle;
    assert_eq!(d.close(h), Ok(vec![]));
    assert!(d.close(h).is_err());
    // RTLD_NODELETE: still loaded and visible globally.
    assert!(d.is_loaded(2));
    assert!(d.sym(0, b"other").is_ok());
    assert_eq!(
        open(&mut d, "libother.so", RTLD_NOW).load,
        Vec::<u32>::new()
    );
}

#[test]
fn close_unloads_dependencies_in_reverse_load_order() {
    let mut d = dl(&diamond());
    let app = open(&mut d, "libapp.so", RTLD_NOW | RTLD_GLOBAL).handle;
    assert_eq!(d.close(app), Ok(vec![0, 2, 1, 3]));
    for l in 0..4 {
        assert!(!d.is_loaded(l));
    }
    assert!(d.sym(0, b"anything").is_err());
    assert_eq!(open(&mut d, "libapp.so", RTLD_NOW).load, [3, 1, 2, 0]);
}

#[test]
fn close_keeps_what_others_need() {
    let mut d = dl(&diamond());
    let c = open(&mut d, "libc.so", RTLD_NOW).handle; // loads 3, 2
    let app = open(&mut d, "libapp.so", RTLD_NOW).handle; // loads 1, 0
                                                          // libc is still open: app and libb go, libc and libd stay.
    assert_eq!(d.close(app), Ok(vec![0, 1]));
    assert!(d.is_loaded(2) && d.is_loaded(3));
    assert_eq!(d.close(c), Ok(vec![2, 3]));
    // A dependency opened directly stays while its handle is open.
    let app = open(&mut d, "libapp.so", RTLD_NOW).handle;
    let dd = open(&mut d, "libd.so", RTLD_NOW).handle;
    assert_eq!(d.close(app), Ok(vec![0, 2, 1]));
    assert_eq!(d.close(dd), Ok(vec![3]));
}

#[test]
fn close_nodelete_dependency_and_cycles() {
    let mut d = dl(&diamond());
    open(&mut d, "libb.so", RTLD_NOW | RTLD_NODELETE); // 3, 1; never unloaded
    let app = open(&mut d, "libapp.so", RTLD_NOW).handle; // 2, 0
    assert_eq!(d.close(app), Ok(vec![0, 2]));
    assert!(d.is_loaded(1) && d.is_loaded(3));

    // 0 needs 1, 1 needs 2, 2 needs 0: one close unloads the whole cycle.
    let libs = vec![
        lib("liba.so", &[1]),
        lib("libb.so", &[2]),
        lib("libc.so", &[0, 2]),
    ];
    let mut d = dl(&libs);
    let a = open(&mut d, "liba.so", RTLD_NOW).handle;
    let b = open(&mut d, "libb.so", RTLD_NOW).handle;
    assert_eq!(d.close(a), Ok(vec![]));
    assert_eq!(d.close(b), Ok(vec![0, 1, 2]));
}

// ---------------------------------------------------------------------------------------------
// addr (dladdr)

fn cstr(s: &str) -> Vec<u8> {
    let mut v = Vec::from(s.as_bytes());
    v.push(0);
    v
}

#[test]
fn addr_functions_and_data() {
    let mut set = greet_set();
    set[0].mem_size = 64;
    set[0].syms.push((b"greet_alias", FUNC, 2));
    set[0].syms.push((b"greet_table", DATA, 32));
    set[0].syms.push((b"greet_table_too", DATA, 32));
    set[1].mem_size = 16;
    let mut d = Dl::new(encode(&set, &main_syms()));
    assert_eq!(d.addr(53), None); // nothing loaded
    open(&mut d, "libgreet.so", RTLD_NOW);
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    let info = |fname: &str, fbase: u32, sname: Option<&str>, saddr: u32| {
        Some(AddrInfo {
            fname: cstr(fname),
            fbase,
            sname: sname.map(cstr).unwrap_or_default(),
            saddr,
        })
    };
    // libgreet: own slots 50..53, function slots 53 (greet), 54 (shout), 55 (greet_alias).
    assert_eq!(
        d.addr(53),
        info("plugins/libgreet.so", 0x3000, Some("greet"), 53)
    );
    assert_eq!(
        d.addr(54),
        info("plugins/libgreet.so", 0x3000, Some("shout"), 54)
    );
    assert_eq!(
        d.addr(55),
        info("plugins/libgreet.so", 0x3000, Some("greet_alias"), 55)
    );
    assert_eq!(d.addr(51), info("plugins/libgreet.so", 0x3000, None, 0));
    assert_eq!(d.addr(56), None);
    assert_eq!(d.addr(41), info("libutil.so", 0x2000, Some("util"), 41));
    // Data: nearest symbol at or below; several names at one address: the first.
    assert_eq!(d.addr(0x3000), info("plugins/libgreet.so", 0x3000, None, 0));
    assert_eq!(
        d.addr(0x3010),
        info("plugins/libgreet.so", 0x3000, Some("greet_count"), 0x3010)
    );
    assert_eq!(
        d.addr(0x3013),
        info("plugins/libgreet.so", 0x3000, Some("greet_count"), 0x3010)
    );
    assert_eq!(
        d.addr(0x303f),
        info("plugins/libgreet.so", 0x3000, Some("greet_table"), 0x3020)
    );
    assert_eq!(d.addr(0x3040), None);
    assert_eq!(
        d.addr(0x200f),
        info("libutil.so", 0x2000, Some("util_data"), 0x2008)
    );
    assert_eq!(d.addr(0xffff_ffff), None);
    // Unloaded libraries are not reported.
    d.close(2).expect("close");
    assert_eq!(d.addr(53), None);
    assert_eq!(d.addr(0x3010), None);
}

#[test]
fn sym_global_scope_only_rtld_global() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let o = open(&mut d, "libother.so", RTLD_NOW).handle; // RTLD_LOCAL
    d.loaded(2, 0x4000, 60);
    assert!(d.sym(HANDLE_DEFAULT, b"other").is_err());
    assert!(d.sym(HANDLE_GLOBAL, b"other").is_err());
    assert_eq!(d.sym(o, b"other"), Ok(60));
    // Opening it again RTLD_GLOBAL promotes it, as in glibc.
    open(&mut d, "libother.so", RTLD_LAZY | RTLD_GLOBAL);
    assert_eq!(d.sym(HANDLE_DEFAULT, b"other"), Ok(60));
    // Unloading takes it out of the global scope; reloading RTLD_LOCAL keeps it out.
    d.close(o).expect("close");
    d.close(o).expect("close");
    assert!(d.sym(HANDLE_DEFAULT, b"other").is_err());
    open(&mut d, "libother.so", RTLD_NOW);
    assert!(d.sym(HANDLE_DEFAULT, b"other").is_err());
}

// Start-up: the libraries main was linked against

#[test]
fn startup_loads_needed_libraries_global_and_nodelete() {
    // main was linked against libgreet (which needs libutil) and libother.
    let mut d = Dl::new(encode_with_startup(&greet_set(), &[], &[0, 2]));
    assert_eq!(d.startup().unwrap(), [1, 0, 2]);
    assert!(d.is_loaded(0) && d.is_loaded(1) && d.is_loaded(2));
    d.loaded(0, 0x1000, 10);
    // In the global scope: RTLD_DEFAULT finds their symbols.
    assert_eq!(d.sym(HANDLE_DEFAULT, b"greet").unwrap(), 10 + 3);
    // dlopen finds them loaded (nothing to load again) and dlclose never unloads them.
    let o = open(&mut d, "libgreet.so", RTLD_NOW);
    assert_eq!(o.load, Vec::<u32>::new());
    assert_eq!(d.close(o.handle).unwrap(), Vec::<u32>::new());
    assert_eq!(d.close(o.handle).unwrap(), Vec::<u32>::new());
    assert!(d.is_loaded(0));
}

#[test]
fn startup_lib_id_out_of_range_is_corrupt() {
    let mut d = Dl::new(encode_with_startup(&greet_set(), &[], &[3]));
    assert!(msg(d.startup().unwrap_err()).contains("start-up lib id"));
}

#[test]
fn abort_undoes_an_open() {
    let mut d = dl(&greet_set());
    let o = open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL);
    assert_eq!(o.load, [1, 0]);
    // libgreet could not be placed: nothing of this open remains.
    let m = msg(d.abort(o.handle, 0, Failure::Memory));
    assert!(m.contains("plugins/libgreet.so: cannot load shared object: out of memory"));
    assert!(!d.is_loaded(0) && !d.is_loaded(1));
    assert_eq!(d.refcount(0), 0);
    assert!(d.sym(HANDLE_DEFAULT, b"util").is_err());
    // A later open loads everything again.
    assert_eq!(open(&mut d, "libgreet.so", RTLD_NOW).load, [1, 0]);
}

#[test]
fn rtld_next_searches_after_the_caller() {
    // libgreet (0) needs libutil (1); both define `shout`; libother (2) is separate.
    let mut d = dl(&greet_set());
    open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL);
    d.loaded(0, 0x1000, 10);
    d.loaded(1, 0x2000, 20);
    // Global scope: libgreet, then libutil. From main: the first definition.
    assert_eq!(d.sym(HANDLE_NEXT, b"shout"), Ok(10 + 3 + 1));
    // From libgreet: the next one, libutil's.
    assert_eq!(d.sym_next(0, b"shout"), Ok(20 + 1 + 1));
    // From libutil: nothing after it.
    assert!(d.sym_next(1, b"shout").is_err());
    // From a library opened RTLD_LOCAL: its own dependencies.
    let mut d = dl(&greet_set());
    open(&mut d, "libgreet.so", RTLD_NOW);
    d.loaded(1, 0x2000, 20);
    assert_eq!(d.sym_next(0, b"util"), Ok(20 + 1));
    assert!(d.sym_next(0, b"greet").is_err());
}

#[test]
fn abort_names_table_exhaustion() {
    let mut d = dl(&greet_set());
    let o = open(&mut d, "libgreet.so", RTLD_NOW);
    let m = msg(d.abort(o.handle, 1, Failure::Table));
    assert!(
        m.contains(": cannot load shared object: out of table space"),
        "{m}"
    );
    assert!(!d.is_loaded(0) && !d.is_loaded(1));
}

#[test]
fn abort_names_the_table_allocator() {
    for (why, text) in [
        (
            Failure::Allocator,
            "out of table space (main's ftalloc gave no slots)",
        ),
        (
            Failure::AllocatorRange,
            "main's ftalloc returned slots wasm-dl cannot use",
        ),
    ] {
        let mut d = dl(&greet_set());
        let o = open(&mut d, "libgreet.so", RTLD_NOW);
        let m = msg(d.abort(o.handle, 0, why));
        assert!(m.contains(": cannot load shared object: "), "{m}");
        assert!(m.contains(text), "{m}");
        assert!(!d.is_loaded(0) && !d.is_loaded(1));
    }
}

#[test]
fn garbage_handles_are_not_rtld_next() {
    // Handles at and above 0x80000000 were once taken for a library's RTLD_NEXT.
    let mut d = dl(&greet_set());
    open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL);
    d.loaded(0, 0x1000, 10);
    d.loaded(1, 0x2000, 20);
    for h in [
        0x8000_0000,
        0x8000_0001,
        0x8000_0002,
        0xFFFF_FFFE,
        0x1234_5678,
    ] {
        let e = d.sym(h, b"shout").unwrap_err();
        assert!(msg(e).contains("dlsym: invalid handle"), "handle {h:#x}");
    }
    // A caller the index does not have is refused, not searched.
    assert!(d.sym_next(7, b"shout").is_err());
}
