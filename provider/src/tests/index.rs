//! Decoding the index: every field, lazily checked symbol blocks, corrupt input.

use super::*;

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
            handle: Handle(1),
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
    assert_eq!(open(&mut d, "liba.so", RTLD_NOW).handle, Handle(2));
    assert_eq!(d.sym(Handle(2), b"f"), Ok(0));
    assert_eq!(open(&mut d, "dir/liba.so", RTLD_NOW).handle, Handle(3));
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
        d.sym(Handle(0), b"greet").map(|_| ()),
        d.sym(Handle(2), b"greet").map(|_| ()),
        d.close(Handle(2)).map(|_| ()),
        d.close(Handle(1)).map(|_| ()),
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
    let m = msg(Dl::new(b"WDLX".to_vec())
        .sym(Handle::DEFAULT, b"x")
        .unwrap_err());
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
    // Its function slots (their count is in the library's header) and memory are still its
    // own, without symbols.
    let info = d.addr(53).map(|i| (i.fname, i.sname));
    assert_eq!(info, Some((cstr("plugins/libgreet.so"), Vec::new())));
    let info = d.addr(0x3000).map(|i| (i.fname, i.sname));
    assert!(info.is_none_or(|(f, s)| f == cstr("plugins/libgreet.so") && s.is_empty()));
    // Elsewhere: libutil, main.
    assert_eq!(d.sym(util, b"util_data"), Ok(0x2008));
    assert_eq!(d.sym(Handle(0), b"errno"), Ok(0x1000));
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
    assert_eq!(d.sym(Handle(0), b"malloc"), Ok(7));
    assert!(msg(d.sym(Handle(0), b"util_data").unwrap_err()).contains("library index is corrupt"));
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
        let _ = d.sym(Handle(0), b"greet");
        let _ = d.sym(Handle(2), b"util");
        let _ = d.close(Handle(2));
        let _ = d.addr(50);
        let _ = d.addr(0x3010);
    }
}

// ---------------------------------------------------------------------------------------------
// open: names and modes
