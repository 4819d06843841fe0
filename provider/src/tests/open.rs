//! `dlopen`: names, modes, `RTLD_NOLOAD`, reference counts and load lists.

use super::*;

#[test]
fn open_by_exact_alias_basename_and_path() {
    let mut d = dl(&greet_set());
    let mut h = |name: &str| open(&mut d, name, RTLD_NOW).handle.0;
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
            .map(|o| o.handle.0),
        Ok(5)
    );
    assert!(d
        .sym(Handle(5), b"\xff")
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
    assert_eq!(open(&mut d, "libutil.so", all).handle, Handle(3));
}

#[test]
fn open_null_is_global_scope() {
    let mut d = dl(&greet_set());
    for mode in [RTLD_NOW, RTLD_LAZY | RTLD_GLOBAL, RTLD_NOW | RTLD_NOLOAD] {
        assert_eq!(
            d.open(None, mode),
            Ok(Opened {
                handle: Handle::GLOBAL,
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
            handle: Handle(0),
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
            handle: Handle(2),
            load: vec![]
        }
    );
    assert_eq!(d.refcount(0), 2);
    // libutil was loaded as a dependency: NOLOAD finds it (as glibc does).
    assert_eq!(
        open(&mut d, "libutil.so", RTLD_LAZY | RTLD_NOLOAD),
        Opened {
            handle: Handle(3),
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
            handle: Handle(3),
            load: vec![1]
        }
    );
    assert_eq!(d.refcount(1), 1);
    let b = open(&mut d, "/x/libutil.so.2", RTLD_LAZY);
    assert_eq!(
        b,
        Opened {
            handle: Handle(3),
            load: vec![]
        }
    );
    assert_eq!(d.refcount(1), 2);
    assert_eq!(d.close(Handle(3)), Ok(vec![]));
    assert_eq!(d.refcount(1), 1);
    assert_eq!(d.sym(Handle(3), b"util"), Ok(1));
    assert_eq!(d.close(Handle(3)), Ok(vec![1]));
    assert_eq!(d.refcount(1), 0);
    assert!(!d.is_loaded(1));
    assert_eq!(
        msg(d.close(Handle(3)).unwrap_err()),
        "dlclose: invalid handle 0x3"
    );
    assert_eq!(
        msg(d.sym(Handle(3), b"util").unwrap_err()),
        "dlsym: invalid handle"
    );
    // Opening again loads (and constructs) it again.
    assert_eq!(
        open(&mut d, "libutil.so", RTLD_NOW),
        Opened {
            handle: Handle(3),
            load: vec![1]
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Load lists

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
