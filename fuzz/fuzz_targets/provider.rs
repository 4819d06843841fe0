//! The provider's index decoder and dl state machine (`provider/src/index.rs`, `dl.rs`), on the
//! host: arbitrary index bytes, or an index encoded from an arbitrary description of libraries,
//! then an arbitrary sequence of `dlopen`/`dlsym`/`dlclose`/`dladdr` calls (and the loader's
//! `loaded`/`abort` and `startup`, in the order the shim makes them).
//!
//! Properties: no panic; every error message is one NUL-terminated string (what `dlerror`
//! returns); and against a model of the reference counts: `refcount` and `is_loaded` agree with
//! the model after every call, the libraries loaded are exactly those reachable from an open or
//! `RTLD_NODELETE` library, `open` lists only libraries not loaded yet (each once) and `close`
//! only loaded ones, a handle works while its library is open and fails once it is closed, and
//! `dlsym` on a library handle finds exactly the first definition in the library's local scope,
//! with the value the loader's bases give.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wasm_dl_abi::index;
use wasm_dl_provider::dl::{self, Dl};

/// Which resource a fuzzed placement failure ran out of.
fn failure(bits: u32) -> dl::Failure {
    match bits & 3 {
        0 => dl::Failure::Memory,
        1 => dl::Failure::Table,
        2 => dl::Failure::Allocator,
        _ => dl::Failure::AllocatorRange,
    }
}

#[derive(Arbitrary, Debug)]
struct LibDesc {
    name: u8,
    /// Its guest path (any name: the provider must not trust the index).
    path: u8,
    aliases: Vec<u8>,
    runpath: Vec<u8>,
    table_size: u32,
    mem_size: u32,
    deps: Vec<u8>,
    syms: Vec<(u8, bool, u32)>,
    /// Replaces the symbol block (a corrupt one, checked at the first lookup).
    bad_block: Option<Vec<u8>>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// dlopen(name, mode) (name None is dlopen(NULL)); `fail` makes the loader fail to place
    /// library k of the load list (the shim then calls `abort`); otherwise it calls `loaded`.
    Open {
        name: Option<u8>,
        mode: u16,
        fail: Option<u8>,
        mb: u32,
        tb: u32,
    },
    Sym {
        handle: Handle,
        name: u8,
    },
    Close {
        handle: Handle,
    },
    Addr {
        address: u32,
    },
}

#[derive(Arbitrary, Debug)]
enum Handle {
    /// A handle `open` returned earlier (by position).
    Got(u8),
    /// A library's handle, open or not.
    Lib(u8),
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(Vec<u8>, Vec<Op>),
    Index {
        libs: Vec<LibDesc>,
        main: Vec<(u8, bool, u32)>,
        startup: Vec<u8>,
        ops: Vec<Op>,
    },
}

/// Names (of libraries and symbols) the calls use: C strings, so without NUL.
const NAMES: &[&[u8]] = &[
    b"liba.so",
    b"libb.so",
    b"/usr/lib/liba.so",
    b"dir/libc.so",
    b"libc.so",
    b"libd.so.1",
    b"",
    b"x/",
    b"f",
    b"g",
    b"d0",
    b"main",
    b"liba.so.1",
    b"\xff\xfe",
];

fn name(i: u8) -> &'static [u8] {
    NAMES[i as usize % NAMES.len()]
}

fn symbols(syms: &[(u8, bool, u32)]) -> Vec<index::Symbol<'static>> {
    syms.iter()
        .map(|&(n, data, value)| index::Symbol {
            name: name(n),
            kind: if data { index::KIND_DATA } else { index::KIND_FUNC },
            value,
        })
        .collect()
}

/// What the model knows of a library (the encoded description, with deps as valid lib ids).
struct ModelLib {
    table_size: u32,
    deps: Vec<u32>,
    syms: Option<Vec<(u8, bool, u32)>>,
}

/// The index of the description, written by the composer's encoder (`wasm_dl_abi::index`).
fn encode(
    libs: &[LibDesc],
    main: &[(u8, bool, u32)],
    startup: &[u8],
) -> (Vec<u8>, Vec<ModelLib>, Vec<u32>) {
    let n = libs.len().min(12);
    let libs = &libs[..n];
    let mut model = Vec::new();
    let mut entries = Vec::new();
    for l in libs {
        let deps: Vec<u32> = l.deps.iter().map(|&d| d as u32 % n as u32).collect();
        entries.push(index::LibEntry {
            name: name(l.name),
            path: name(l.path),
            aliases: l.aliases.iter().map(|&a| name(a).to_vec()).collect(),
            runpath: l.runpath.iter().map(|&r| name(r).to_vec()).collect(),
            table_size: l.table_size,
            mem_size: l.mem_size,
            deps: deps.clone(),
            syms: symbols(&l.syms),
            in_shim: false,
        });
        model.push(ModelLib {
            table_size: l.table_size,
            deps,
            syms: l.bad_block.is_none().then(|| l.syms.clone()),
        });
    }
    let startup: Vec<u32> = if n == 0 {
        Vec::new()
    } else {
        startup.iter().map(|&s| s as u32 % n as u32).collect()
    };
    let o = index::encode_with_blocks(&entries, &[], &symbols(main), &startup, &mut |i, b| {
        libs[i].bad_block.clone().unwrap_or(b)
    });
    (o, model, startup)
}

fn check_msg(m: &[u8]) {
    assert_eq!(
        m.last(),
        Some(&0),
        "error message not NUL-terminated: {m:?}"
    );
    assert!(
        !m[..m.len() - 1].contains(&0),
        "error message with an inner NUL: {m:?}"
    );
}

/// Garbage calls on any index: only no panic and well-formed messages.
fn run_raw(bytes: Vec<u8>, ops: &[Op]) {
    let mut d = Dl::new(bytes);
    if let Err(m) = d.startup() {
        check_msg(&m);
    }
    for op in ops {
        match op {
            Op::Open {
                name: n,
                mode,
                fail,
                mb,
                tb,
            } => match d.open(n.map(name), *mode as i32) {
                Ok(o) => {
                    for &l in &o.load {
                        d.loaded(l, *mb, *tb);
                    }
                    if let Some(f) = fail {
                        check_msg(&d.abort(o.handle, *f as u32, failure(u32::from(*f))));
                    }
                }
                Err(m) => check_msg(&m),
            },
            Op::Sym { handle, name: n } => {
                if let Err(m) = d.sym(dl::Handle(raw_handle(handle)), name(*n)) {
                    check_msg(&m)
                }
            }
            Op::Close { handle } => {
                if let Err(m) = d.close(dl::Handle(raw_handle(handle))) {
                    check_msg(&m)
                }
            }
            Op::Addr { address } => {
                let _ = d.addr(*address);
            }
        }
    }
}

fn raw_handle(h: &Handle) -> u32 {
    match h {
        Handle::Got(i) => *i as u32,
        Handle::Lib(l) => *l as u32 + dl::Handle::LIB_BASE,
        Handle::Raw(r) => *r,
    }
}

struct Model {
    libs: Vec<ModelLib>,
    refcount: Vec<u32>,
    nodelete: Vec<bool>,
    loaded: Vec<bool>,
    bases: Vec<(u32, u32)>,
}

impl Model {
    fn reachable(&self, roots: impl Iterator<Item = u32>) -> Vec<bool> {
        let mut seen = vec![false; self.libs.len()];
        let mut stack: Vec<u32> = roots.collect();
        while let Some(l) = stack.pop() {
            if !std::mem::replace(&mut seen[l as usize], true) {
                stack.extend(self.libs[l as usize].deps.iter().copied());
            }
        }
        seen
    }

    fn check(&self, d: &Dl, when: &str) {
        let n = self.libs.len() as u32;
        for l in 0..n {
            assert_eq!(
                d.refcount(l),
                self.refcount[l as usize],
                "refcount of lib {l} after {when}"
            );
            assert_eq!(
                d.is_loaded(l),
                self.loaded[l as usize],
                "loaded state of lib {l} after {when}"
            );
        }
        let roots = (0..n).filter(|&l| self.refcount[l as usize] > 0 || self.nodelete[l as usize]);
        let must = self.reachable(roots);
        assert_eq!(
            must, self.loaded,
            "loaded libraries are not those reachable from open ones after {when}"
        );
    }

    fn load(&mut self, load: &[u32], what: &str) {
        let mut seen = std::collections::HashSet::new();
        for &l in load {
            assert!(
                (l as usize) < self.libs.len(),
                "{what} lists a bad lib id {l}"
            );
            assert!(seen.insert(l), "{what} lists lib {l} twice: {load:?}");
            assert!(
                !self.loaded[l as usize],
                "{what} lists lib {l}, loaded already: {load:?}"
            );
            self.loaded[l as usize] = true;
        }
    }

    /// The first definition of `name` in `lib`'s local scope (breadth first over deps).
    fn lookup(&self, lib: u32, name: &[u8]) -> Option<Result<u32, ()>> {
        let mut seen = vec![false; self.libs.len()];
        let mut queue = vec![lib];
        seen[lib as usize] = true;
        let mut i = 0;
        while let Some(&l) = queue.get(i) {
            i += 1;
            let x = &self.libs[l as usize];
            let Some(syms) = &x.syms else {
                return Some(Err(()));
            };
            let (mb, tb) = self.bases[l as usize];
            // The first symbol of that name in the block wins.
            if let Some(&(_, data, v)) = syms.iter().find(|s| crate::name(s.0) == name) {
                return Some(Ok(if data {
                    mb.wrapping_add(v)
                } else {
                    tb.wrapping_add(x.table_size).wrapping_add(v)
                }));
            }
            for &dep in &x.deps {
                if !std::mem::replace(&mut seen[dep as usize], true) {
                    queue.push(dep);
                }
            }
        }
        None
    }
}

fn run_model(libs: &[LibDesc], main: &[(u8, bool, u32)], startup: &[u8], ops: &[Op]) {
    let (bytes, mlibs, startup) = encode(libs, main, startup);
    let n = mlibs.len();
    let mut d = Dl::new(bytes);
    let mut m = Model {
        libs: mlibs,
        refcount: vec![0; n],
        nodelete: vec![false; n],
        loaded: vec![false; n],
        bases: vec![(0, 0); n],
    };
    let load = match d.startup() {
        Ok(load) => load,
        Err(msg) => {
            // Only a replaced symbol block can make the encoded index undecodable (the
            // decoder's bound on the library count assumes blocks of at least 4 bytes).
            check_msg(&msg);
            assert!(
                libs.iter().take(12).any(|l| l.bad_block.is_some()),
                "a well-formed index was refused: {:?}",
                String::from_utf8_lossy(&msg)
            );
            return;
        }
    };
    m.load(&load, "startup");
    for &s in &startup {
        m.refcount[s as usize] = m.refcount[s as usize].saturating_add(1);
        m.nodelete[s as usize] = true;
    }
    m.check(&d, "startup");
    let mut handles: Vec<u32> = Vec::new();
    for op in ops {
        match op {
            Op::Open {
                name: nm,
                mode,
                fail,
                mb,
                tb,
            } => {
                let mode = *mode as i32;
                let r = d.open(nm.map(name), mode);
                let valid_mode =
                    mode & (dl::RTLD_LAZY | dl::RTLD_NOW) != 0 && mode & !dl::RTLD_KNOWN == 0;
                let o = match r {
                    Err(msg) => {
                        check_msg(&msg);
                        assert!(
                            nm.is_some() || !valid_mode,
                            "dlopen(NULL) with a valid mode failed"
                        );
                        continue;
                    }
                    Ok(o) => o,
                };
                assert!(valid_mode, "dlopen accepted mode {mode:#x}");
                // dlopen(NULL), and system libraries (libc.so, libdl.so.2, ...) not bundled: the global scope.
                if o.handle == dl::Handle::GLOBAL {
                    assert!(o.load.is_empty());
                    continue;
                }
                if o.handle == dl::Handle::DEFAULT {
                    assert!(
                        mode & dl::RTLD_NOLOAD != 0 && o.load.is_empty(),
                        "handle 0 without RTLD_NOLOAD"
                    );
                    continue;
                }
                let lib = o.handle.0 - dl::Handle::LIB_BASE;
                assert!((lib as usize) < n, "dlopen returned handle {:#x}", o.handle.0);
                assert!(
                    o.load.is_empty() || o.load.last() == Some(&lib),
                    "load list {:?} does not end with lib {lib}",
                    o.load
                );
                if mode & dl::RTLD_NOLOAD != 0 {
                    assert!(
                        m.loaded[lib as usize],
                        "RTLD_NOLOAD opened an unloaded library"
                    );
                }
                let before = (
                    m.loaded.clone(),
                    m.refcount[lib as usize],
                    m.nodelete[lib as usize],
                );
                m.load(&o.load, "open");
                m.refcount[lib as usize] = m.refcount[lib as usize].saturating_add(1);
                m.nodelete[lib as usize] |= mode & dl::RTLD_NODELETE != 0;
                match fail.filter(|_| !o.load.is_empty()) {
                    Some(k) => {
                        let failed = o.load[k as usize % o.load.len()];
                        check_msg(&d.abort(o.handle, failed, failure(k as u32)));
                        m.loaded = before.0;
                        m.refcount[lib as usize] = before.1;
                        m.nodelete[lib as usize] = before.2;
                        m.check(&d, "abort");
                    }
                    None => {
                        for &l in &o.load {
                            d.loaded(l, *mb, *tb);
                            m.bases[l as usize] = (*mb, *tb);
                        }
                        handles.push(o.handle.0);
                        m.check(&d, "open");
                    }
                }
            }
            Op::Sym { handle, name: nm } => {
                let h = model_handle(handle, &handles);
                let r = d.sym(dl::Handle(h), name(*nm));
                if let Err(msg) = &r {
                    check_msg(msg);
                }
                // Library handles (below the RTLD_NEXT range the composer reserves for libraries).
                let Some(lib) = h
                    .checked_sub(dl::Handle::LIB_BASE)
                    .filter(|&l| (l as usize) < n)
                else {
                    continue;
                };
                if m.refcount[lib as usize] == 0 {
                    assert!(r.is_err(), "dlsym on closed handle {h:#x} succeeded");
                    continue;
                }
                match m.lookup(lib, name(*nm)) {
                    Some(Ok(v)) => assert_eq!(r.ok(), Some(v), "dlsym(lib {lib}, {:?})", name(*nm)),
                    // A corrupt block on the way: an error, unless found before it.
                    Some(Err(())) => {}
                    None => assert!(r.is_err(), "dlsym(lib {lib}, {:?}) found {r:?}", name(*nm)),
                }
            }
            Op::Close { handle } => {
                let h = model_handle(handle, &handles);
                let r = d.close(dl::Handle(h));
                let lib = h
                    .checked_sub(dl::Handle::LIB_BASE)
                    .filter(|&l| (l as usize) < n);
                match (r, lib) {
                    (Err(msg), lib) => {
                        check_msg(&msg);
                        assert!(
                            lib.is_none_or(|l| m.refcount[l as usize] == 0)
                                && h != dl::Handle::GLOBAL.0,
                            "dlclose({h:#x}) of an open library failed"
                        );
                    }
                    (Ok(fini), None) => {
                        assert_eq!(
                            h,
                            dl::Handle::GLOBAL.0,
                            "dlclose({h:#x}) of no library succeeded"
                        );
                        assert!(fini.is_empty());
                    }
                    (Ok(fini), Some(l)) => {
                        assert!(
                            m.refcount[l as usize] > 0,
                            "dlclose of a closed library succeeded"
                        );
                        m.refcount[l as usize] -= 1;
                        let mut seen = std::collections::HashSet::new();
                        for &f in &fini {
                            assert!(
                                (f as usize) < n && m.loaded[f as usize] && seen.insert(f),
                                "dlclose finalizes {f}: {fini:?}"
                            );
                            m.loaded[f as usize] = false;
                        }
                        m.check(&d, "close");
                    }
                }
            }
            Op::Addr { address } => {
                if let Some(info) = d.addr(*address) {
                    assert_eq!(info.fname.last(), Some(&0));
                }
            }
        }
    }
}

fn model_handle(h: &Handle, handles: &[u32]) -> u32 {
    match h {
        Handle::Got(i) if !handles.is_empty() => handles[*i as usize % handles.len()],
        // Library handles and small garbage; handles from 0x8000_0000 mean RTLD_NEXT from a
        // library (the composer's encoding) and are fuzzed by the raw mode.
        Handle::Raw(r) => *r & 0x7fff_ffff,
        other => raw_handle(other),
    }
}

fuzz_target!(|data: &[u8]| wasm_dl_fuzz::run_guarded(|| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    match input {
        Input::Raw(bytes, ops) => run_raw(bytes, &ops),
        Input::Index {
            libs,
            main,
            startup,
            ops,
        } => {
            // The same index, corrupted or not, also takes garbage calls.
            let (bytes, _, _) = encode(&libs, &main, &startup);
            run_raw(bytes, &ops);
            run_model(&libs, &main, &startup, &ops);
        }
    }
}));
