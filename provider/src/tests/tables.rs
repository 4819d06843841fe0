//! `sym_tables`: the shim's answers from the scope tables must be `sym`'s.

use super::*;
use wasm_dl_abi::symtab;

/// What the shim answers for `name` from `tables` (`shim/src/tables.rs` does the same).
fn from_tables(tables: &[ScopeTable], name: &[u8]) -> Option<u32> {
    tables.iter().find_map(|t| {
        symtab::lookup(&t.table, symtab::hash(name), name).map(|(v, data)| {
            let base = if data { t.memory_base } else { t.func_base };
            base.wrapping_add(v)
        })
    })
}

/// Every name of `names` gets the same answer from `handle`'s tables as from `sym`.
fn agrees(d: &Dl, handle: u32, names: &[&[u8]]) {
    let tables = d
        .sym_tables(handle, u32::MAX)
        .unwrap_or_else(|| panic!("no tables for handle {handle}"));
    for name in names {
        assert_eq!(
            from_tables(&tables, name),
            d.sym(handle, name).ok(),
            "handle {handle}, `{}`",
            String::from_utf8_lossy(name)
        );
    }
}

const NAMES: &[&[u8]] = &[
    b"shout",
    b"util",
    b"util_data",
    b"other",
    b"malloc",
    b"greet",
    b"f",
    b"g",
    b"main_f",
    b"main_d",
    b"errno",
    b"",
    b"nope",
];

#[test]
fn tables_answer_as_sym_for_every_kind_of_handle() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let g = open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL).handle;
    let o = open(&mut d, "libother.so", RTLD_NOW).handle;
    d.loaded(0, 0x3000, 50);
    d.loaded(1, 0x2000, 40);
    d.loaded(2, 0x4000, 60);
    for h in [g, o, HANDLE_DEFAULT, HANDLE_GLOBAL, HANDLE_NEXT] {
        agrees(&d, h, NAMES);
    }
    // After a close and a new open at other bases, new tables give the new answers.
    assert_eq!(d.close(o).map(|l| l.len()), Ok(1));
    assert_eq!(d.sym_tables(o, u32::MAX), None);
    let o = open(&mut d, "libother.so", RTLD_NOW).handle;
    d.loaded(2, 0x9000, 90);
    agrees(&d, o, NAMES);
}

#[test]
fn tables_keep_breadth_first_order_and_first_duplicates() {
    let mut libs = diamond();
    libs[2].syms = vec![(b"f", DATA, 1), (b"f", FUNC, 7)];
    libs[3].syms = vec![(b"f", DATA, 2), (b"g", DATA, 3)];
    let mut d = dl(&libs);
    let h = open(&mut d, "libapp.so", RTLD_NOW | RTLD_GLOBAL).handle;
    for l in 0..4 {
        d.loaded(l, 1000 * (l + 1), 10 * l);
    }
    for h in [h, HANDLE_DEFAULT, HANDLE_NEXT] {
        agrees(&d, h, NAMES);
    }
}

#[test]
fn tables_only_when_worth_copying_and_for_valid_handles() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let g = open(&mut d, "libgreet.so", RTLD_NOW).handle;
    // A few lookups do not pay for copying the scope's symbols yet.
    assert_eq!(d.sym_tables(g, 0), None);
    assert!(d.sym_tables(g, 1).is_some());
    assert_eq!(d.sym_tables(g + 7, u32::MAX), None);
    assert_eq!(d.sym_tables(12345, u32::MAX), None);
}
