//! `dlsym`, `dlclose`, `dladdr`, start-up, `abort` and `RTLD_NEXT`.

use super::*;

#[test]
fn sym_global_scope() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    // Main's symbols are visible before anything is loaded, values as is.
    for h in [Handle::DEFAULT, Handle::GLOBAL] {
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
    for h in [Handle::DEFAULT, Handle::GLOBAL] {
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
    assert_eq!(d.sym(Handle(0), b"f"), Ok(3001));
}

#[test]
fn sym_bad_handles() {
    let mut d = dl(&greet_set());
    assert_eq!(
        msg(d.sym(Handle::NEXT, b"x").unwrap_err()),
        "dlsym(RTLD_NEXT): undefined symbol: x"
    );
    for h in [2, 3, 4, 5, 1000, 0x7FFF_FFFF] {
        assert_eq!(
            msg(d.sym(Handle(h), b"greet").unwrap_err()),
            "dlsym: invalid handle"
        );
    }
    open(&mut d, "libgreet.so", RTLD_NOW);
    assert!(d.sym(Handle(2), b"greet").is_ok());
    // libutil is loaded as a dependency but was never opened: its handle is not valid.
    assert_eq!(
        msg(d.sym(Handle(3), b"util").unwrap_err()),
        "dlsym: invalid handle"
    );
}

// ---------------------------------------------------------------------------------------------
// close

#[test]
fn close_handles() {
    let mut d = dl(&greet_set());
    for h in [0, 2, 3, 5, 0xFFFF_FFFF] {
        assert_eq!(
            msg(d.close(Handle(h)).unwrap_err()),
            format!("dlclose: invalid handle {h:#x}")
        );
    }
    assert_eq!(d.close(Handle::GLOBAL), Ok(vec![]));
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
    assert!(d.sym(Handle(0), b"other").is_ok());
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
    assert!(d.sym(Handle(0), b"anything").is_err());
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

/// `d.addr(a)` with its `lib` and `function` checked (libgreet is library 0, libutil 1; the
/// slots of these tests are below 0x1000, the addresses above) and then zeroed.
fn addr(d: &Dl, a: u32) -> Option<AddrInfo> {
    let info = d.addr(a)?;
    assert_eq!(info.function, a < 0x1000, "{a:#x}");
    let lib = u32::from(info.fname.starts_with(b"libutil"));
    assert_eq!(info.lib, lib, "{a:#x}");
    Some(AddrInfo {
        lib: 0,
        function: false,
        ..info
    })
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
    assert_eq!(addr(&d, 53), None); // nothing loaded
    open(&mut d, "libgreet.so", RTLD_NOW);
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    let info = |fname: &str, fbase: u32, sname: Option<&str>, saddr: u32| {
        Some(AddrInfo {
            fname: cstr(fname),
            fbase,
            sname: sname.map(cstr).unwrap_or_default(),
            saddr,
            lib: 0,
            function: false,
        })
    };
    // libgreet: own slots 50..53, function slots 53 (greet), 54 (shout), 55 (greet_alias).
    assert_eq!(
        addr(&d, 53),
        info("plugins/libgreet.so", 0x3000, Some("greet"), 53)
    );
    assert_eq!(
        addr(&d, 54),
        info("plugins/libgreet.so", 0x3000, Some("shout"), 54)
    );
    assert_eq!(
        addr(&d, 55),
        info("plugins/libgreet.so", 0x3000, Some("greet_alias"), 55)
    );
    assert_eq!(addr(&d, 51), info("plugins/libgreet.so", 0x3000, None, 0));
    assert_eq!(addr(&d, 56), None);
    assert_eq!(addr(&d, 41), info("libutil.so", 0x2000, Some("util"), 41));
    // Data: nearest symbol at or below; several names at one address: the first.
    assert_eq!(
        addr(&d, 0x3000),
        info("plugins/libgreet.so", 0x3000, None, 0)
    );
    assert_eq!(
        addr(&d, 0x3010),
        info("plugins/libgreet.so", 0x3000, Some("greet_count"), 0x3010)
    );
    assert_eq!(
        addr(&d, 0x3013),
        info("plugins/libgreet.so", 0x3000, Some("greet_count"), 0x3010)
    );
    assert_eq!(
        addr(&d, 0x303f),
        info("plugins/libgreet.so", 0x3000, Some("greet_table"), 0x3020)
    );
    assert_eq!(addr(&d, 0x3040), None);
    assert_eq!(
        addr(&d, 0x200f),
        info("libutil.so", 0x2000, Some("util_data"), 0x2008)
    );
    assert_eq!(addr(&d, 0xffff_ffff), None);
    // Unloaded libraries are not reported.
    d.close(Handle(2)).expect("close");
    assert_eq!(addr(&d, 53), None);
    assert_eq!(addr(&d, 0x3010), None);
}

#[test]
fn sym_global_scope_only_rtld_global() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let o = open(&mut d, "libother.so", RTLD_NOW).handle; // RTLD_LOCAL
    d.loaded(2, 0x4000, 60);
    assert!(d.sym(Handle::DEFAULT, b"other").is_err());
    assert!(d.sym(Handle::GLOBAL, b"other").is_err());
    assert_eq!(d.sym(o, b"other"), Ok(60));
    // Opening it again RTLD_GLOBAL promotes it, as in glibc.
    open(&mut d, "libother.so", RTLD_LAZY | RTLD_GLOBAL);
    assert_eq!(d.sym(Handle::DEFAULT, b"other"), Ok(60));
    // Unloading takes it out of the global scope; reloading RTLD_LOCAL keeps it out.
    d.close(o).expect("close");
    d.close(o).expect("close");
    assert!(d.sym(Handle::DEFAULT, b"other").is_err());
    open(&mut d, "libother.so", RTLD_NOW);
    assert!(d.sym(Handle::DEFAULT, b"other").is_err());
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
    assert_eq!(d.sym(Handle::DEFAULT, b"greet").unwrap(), 10 + 3);
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
    assert!(d.sym(Handle::DEFAULT, b"util").is_err());
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
    assert_eq!(d.sym(Handle::NEXT, b"shout"), Ok(10 + 3 + 1));
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
        let e = d.sym(Handle(h), b"shout").unwrap_err();
        assert!(msg(e).contains("dlsym: invalid handle"), "handle {h:#x}");
    }
    // A caller the index does not have is refused, not searched.
    assert!(d.sym_next(7, b"shout").is_err());
}

// ---------------------------------------------------------------------------------------------
// Search orders for the shim (scope, scope-next) and lookups bounded by them (before)

#[test]
fn scopes_are_the_search_orders() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    // Nothing global yet: main alone.
    assert_eq!(d.scope(Handle::DEFAULT), Ok(vec![SCOPE_MAIN]));
    let greet = open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL).handle;
    let other = open(&mut d, "libother.so", RTLD_NOW).handle;
    assert_eq!(d.scope(Handle::DEFAULT), Ok(vec![SCOPE_MAIN, 0, 1]));
    assert_eq!(d.scope(Handle::GLOBAL), Ok(vec![SCOPE_MAIN, 0, 1]));
    assert_eq!(d.scope(Handle::NEXT), Ok(vec![0, 1]));
    assert_eq!(d.scope(greet), Ok(vec![0, 1]));
    assert_eq!(d.scope(other), Ok(vec![2]));
    assert_eq!(
        d.scope(Handle(99)).map_err(msg),
        Err("dlsym: invalid handle".into())
    );
    // RTLD_NEXT from a global library: the global scope after it; from a local one: its
    // dependencies.
    assert_eq!(d.scope_next(0), Ok(vec![1]));
    assert_eq!(d.scope_next(2), Ok(vec![]));
    // A main without symbols has no entry in the order.
    let mut d = Dl::new(encode(&greet_set(), &[]));
    open(&mut d, "libutil.so", RTLD_NOW | RTLD_GLOBAL);
    assert_eq!(d.scope(Handle::DEFAULT), Ok(vec![1]));
}

#[test]
fn lookups_bounded_by_before() {
    let mut d = Dl::new(encode(&greet_set(), &main_syms()));
    let greet = open(&mut d, "libgreet.so", RTLD_NOW | RTLD_GLOBAL).handle;
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    // main's util (position 0), then libutil's (position 2).
    assert_eq!(d.sym_before(Handle::DEFAULT, b"util", 1), Ok(9));
    let m = msg(d.sym_before(Handle::DEFAULT, b"util", 0).unwrap_err());
    assert_eq!(m, "main program: undefined symbol: util");
    assert_eq!(d.sym_before(Handle::DEFAULT, b"util_data", 3), Ok(0x2008));
    assert!(d.sym_before(Handle::DEFAULT, b"util_data", 2).is_err());
    // RTLD_NEXT from main: no main entry.
    assert_eq!(d.sym_before(Handle::NEXT, b"shout", 1), Ok(54));
    assert!(d.sym_before(Handle::NEXT, b"util", 1).is_err());
    // A library handle: its library (position 0), then libutil.
    assert_eq!(d.sym_before(greet, b"shout", 1), Ok(54));
    let m = msg(d.sym_before(greet, b"shout", 0).unwrap_err());
    assert_eq!(m, "plugins/libgreet.so: undefined symbol: shout");
    assert_eq!(d.sym_before(greet, b"util", 2), Ok(41));
    assert!(d.sym_before(greet, b"util", 1).is_err());
    assert_eq!(d.sym_next_before(0, b"shout", 1), Ok(42));
    assert!(d.sym_next_before(0, b"shout", 0).is_err());
}

#[test]
fn a_library_in_the_shims_table_has_no_symbols_here() {
    let mut set = greet_set();
    set[0].in_shim = true;
    set[0].mem_size = 32;
    let mut d = Dl::new(encode(&set, &main_syms()));
    let greet = open(&mut d, "libgreet.so", RTLD_NOW).handle;
    d.loaded(1, 0x2000, 40);
    d.loaded(0, 0x3000, 50);
    // The provider finds libutil's shout: the shim searches libgreet (position 0) first.
    assert_eq!(d.sym(greet, b"shout"), Ok(42));
    assert!(d.sym(greet, b"greet").is_err());
    // dladdr: the library and whether a function slot, without a symbol (the shim names it).
    let a = d.addr(53).expect("a function slot of libgreet");
    assert_eq!((a.lib, a.function, a.sname), (0, true, vec![]));
    let a = d.addr(0x3010).expect("libgreet's memory");
    assert_eq!((a.lib, a.function, a.sname), (0, false, vec![]));
    assert_eq!(d.addr(56), None);
}
