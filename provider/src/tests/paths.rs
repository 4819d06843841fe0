//! `dlopen` names between libraries of one basename: paths, `LD_LIBRARY_PATH`, RUNPATH, the
//! names loaded libraries were found by (see `dl/find.rs`).

use super::*;

/// `a/libx.so` (0), `b/libx.so` (1), `/opt/top/libtop.so` (2, RUNPATH `/b`), `liby.so` (3).
fn same_basename_set() -> Vec<L> {
    vec![
        lib("a/libx.so", &[]),
        lib("b/libx.so", &[]),
        L {
            name: b"/opt/top/libtop.so",
            runpath: vec![b"/opt/top/../../b"],
            ..L::default()
        },
        lib("liby.so", &[]),
    ]
}

#[test]
fn open_same_basename_by_path() {
    let mut d = dl(&same_basename_set());
    assert_eq!(open(&mut d, "/a/libx.so", RTLD_NOW).handle, Handle(2));
    assert_eq!(open(&mut d, "b/libx.so", RTLD_NOW).handle, Handle(3));
    assert_eq!(
        open(&mut d, "./a/../b//libx.so", RTLD_NOW).handle,
        Handle(3)
    );
    // A unique basename is still found anywhere.
    assert_eq!(
        open(&mut d, "/somewhere/liby.so", RTLD_NOW).handle,
        Handle(5)
    );
    assert_eq!(open(&mut d, "liby.so", RTLD_NOW).handle, Handle(5));
    assert_eq!(
        open_err(&mut d, b"libx.so", RTLD_NOW),
        "libx.so: cannot open shared object file: No such file or directory (wasm-dl: \
         libx.so is the name of several bundled libraries: /a/libx.so /b/libx.so; dlopen one \
         by its path, or name its directory in LD_LIBRARY_PATH or in the caller's RUNPATH)"
    );
    assert!(open_err(&mut d, b"/c/libx.so", RTLD_NOW).starts_with("/c/libx.so: cannot open"));
}

/// A fresh state over [`same_basename_set`] with `LD_LIBRARY_PATH` set to `ldlp`.
fn same_basename_dl(ldlp: Option<&[u8]>) -> Dl {
    let mut d = dl(&same_basename_set());
    d.set_library_path(ldlp.map(<[u8]>::to_vec));
    d
}

#[test]
fn open_searches_ld_library_path_then_runpath() {
    let mut d = same_basename_dl(Some(b"/nowhere::/a;/b"));
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(2));
    // From libtop.so: LD_LIBRARY_PATH first, as glibc.
    let mut d = same_basename_dl(Some(b"/nowhere::/a;/b"));
    assert_eq!(
        d.open_from(Some(2), Some(b"libx.so"), RTLD_NOW)
            .unwrap()
            .handle,
        Handle(2)
    );
    let mut d = same_basename_dl(Some(b"/b"));
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(3));
    // A path ignores the search path.
    assert_eq!(open(&mut d, "/a/libx.so", RTLD_NOW).handle, Handle(2));
    // libtop.so's RUNPATH picks b; main has none.
    let mut d = same_basename_dl(None);
    assert!(open_err(&mut d, b"libx.so", RTLD_NOW).contains("several bundled libraries"));
    assert_eq!(
        d.open_from(Some(2), Some(b"libx.so"), RTLD_NOW)
            .unwrap()
            .handle,
        Handle(3)
    );
    // An empty LD_LIBRARY_PATH entry is the working directory, `/`: nothing there.
    let mut d = same_basename_dl(Some(b""));
    assert!(open_err(&mut d, b"libx.so", RTLD_NOW).contains("several bundled libraries"));
    // A caller that is no library: the index is corrupt.
    assert!(msg(d
        .open_from(Some(99), Some(b"libx.so"), RTLD_NOW)
        .unwrap_err())
    .contains("corrupt"));
}

#[test]
fn open_by_a_name_already_loaded_skips_the_search() {
    // libtop.so's dlopen("libx.so") found /b/libx.so: main's dlopen("libx.so") gets it too
    // (glibc matches the names of loaded objects first), though main's search finds a.
    let mut d = same_basename_dl(None);
    assert_eq!(
        d.open_from(Some(2), Some(b"libx.so"), RTLD_NOW)
            .unwrap()
            .handle,
        Handle(3)
    );
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(3));
    // Unloaded, the name is forgotten.
    assert_eq!(d.close(Handle(3)), Ok(vec![]));
    assert_eq!(d.close(Handle(3)), Ok(vec![1]));
    assert!(open_err(&mut d, b"libx.so", RTLD_NOW).contains("several"));
    // A path is no such name: /a/libx.so loaded by path is not `libx.so`.
    let mut d = same_basename_dl(Some(b"/b"));
    assert_eq!(open(&mut d, "/a/libx.so", RTLD_NOW).handle, Handle(2));
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(3));
}

#[test]
fn open_searches_main_runpath() {
    MAIN_RUNPATH.with(|r| *r.borrow_mut() = vec![b"/a"]);
    let bytes = encode(&same_basename_set(), &[]);
    MAIN_RUNPATH.with(|r| r.borrow_mut().clear());
    let mut d = Dl::new(bytes.clone());
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(2));
    let mut d = Dl::new(bytes);
    d.set_library_path(Some(b"/b".to_vec()));
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(3));
}

#[test]
fn open_by_path_alias() {
    let mut libs = same_basename_set();
    libs[1].aliases = vec![b"/usr/lib/libx.so.1"];
    let mut d = dl(&libs);
    assert_eq!(
        open(&mut d, "/usr/lib/libx.so.1", RTLD_NOW).handle,
        Handle(3)
    );
    assert_eq!(open(&mut d, "libx.so.1", RTLD_NOW).handle, Handle(3));
    // The default directory /usr/lib holds no `libx.so`: still ambiguous.
    assert!(open_err(&mut d, b"libx.so", RTLD_NOW).contains("several"));
}

#[test]
fn open_by_a_name_a_dependency_was_loaded_by() {
    // libtop.so (RUNPATH /b) depends on /b/libx.so: loaded as its NEEDED `libx.so`, so main's
    // dlopen("libx.so") means it, as in glibc, though main's search alone is ambiguous.
    let mut libs = same_basename_set();
    libs[2].deps = vec![1];
    let mut d = dl(&libs);
    assert_eq!(open(&mut d, "/opt/top/libtop.so", RTLD_NOW).load, [1, 2]);
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(3));
    // Libraries main was linked against likewise.
    let mut d = Dl::new(encode_with_startup(&libs, &[], &[0]));
    assert_eq!(d.startup(), Ok(vec![0]));
    assert_eq!(open(&mut d, "libx.so", RTLD_NOW).handle, Handle(2));
}
