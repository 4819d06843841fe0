//! Pass 3: decide the shape of the composition: the order libraries are instantiated in,
//! which cross-library calls need a trampoline (the callee is instantiated later, e.g. in a
//! cycle), which GOT entries each library's allocation fills in, and the provider's index.

use crate::index::{self, LibEntry, Symbol};
use crate::parse::{Library, MainModule};
use crate::resolve::{Binding, FuncSource, GotId, GotTarget, LibId, Resolution};
use hashbrown::HashMap;

/// The composition's shape.
#[derive(Debug)]
pub struct Layout {
    /// Libraries in instantiation order (callees before callers where the call graph allows).
    pub order: Vec<LibId>,
    /// Consecutive runs of `order` merged into one core module each (see [`MAX_LIB_MODULES`]).
    pub groups: Vec<Vec<LibId>>,
    /// The group of each library.
    pub group_of: Vec<usize>,
    /// Function imports that go through a trampoline: (importer, import index) → GOT entry of the
    /// callee's slot.
    pub trampolines: HashMap<(LibId, usize), GotId>,
    /// Per library, the GOT entries whose value its allocation sets.
    pub got_by_lib: Vec<Vec<GotId>>,
    /// Trap stubs (weak undefined or, with `stub_missing`, missing functions): symbol and type.
    pub stubs: Vec<(String, wasmparser::FuncType)>,
    /// Which stub each stubbed function import uses: (importer, import index) → stub number.
    pub stub_of: HashMap<(LibId, usize), usize>,
    /// Per library: whether it gets a stack of its own (`Binding::OwnStack`).
    pub own_stack: Vec<bool>,
    /// The encoded provider index.
    pub index: Vec<u8>,
}

/// Most core modules the libraries may take. Runtimes bound the core modules and instances of a
/// component (wasmparser: 1000 instances; wasmtime 48's alias analysis: 256 modules), so beyond
/// this many libraries, consecutive libraries are merged into one module.
pub const MAX_LIB_MODULES: usize = 128;

/// Import module name under which a group's instance is seen.
pub fn group_module(group: usize) -> String {
    format!("grp{group}")
}

/// Name under which a library's export is exported from its group's module.
pub fn export_name(lib: LibId, name: &str) -> String {
    format!("{}:{name}", lib.0)
}

/// Computes the layout. May add GOT entries (for trampolines) to `res`.
pub fn layout(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    aliases: &[Vec<&str>],
    res: &mut Resolution,
) -> Layout {
    // Instantiation order: depth-first post-order over direct function imports.
    let n = libs.len();
    let mut order = Vec::with_capacity(n);
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (l, ref mut next)) = stack.last_mut() {
            let binds = &res.bindings[l];
            let mut pushed = false;
            while *next < binds.len() {
                let b = &binds[*next];
                *next += 1;
                if let Binding::Func(FuncSource::Lib(m, _)) = b {
                    if state[m.index()] == 0 {
                        state[m.index()] = 1;
                        stack.push((m.index(), 0));
                        pushed = true;
                        break;
                    }
                }
            }
            if !pushed {
                state[l] = 2;
                order.push(LibId(l as u32));
                stack.pop();
            }
        }
    }
    let group_size = n.div_ceil(MAX_LIB_MODULES).max(1);
    let groups: Vec<Vec<LibId>> = order.chunks(group_size).map(|c| c.to_vec()).collect();
    let mut group_of = vec![0usize; n];
    for (g, members) in groups.iter().enumerate() {
        for l in members {
            group_of[l.index()] = g;
        }
    }

    let mut got_index: HashMap<GotTarget, GotId> = res
        .gots
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), GotId(i as u32)))
        .collect();
    let mut trampolines = HashMap::new();
    for (l, binds) in res.bindings.iter().enumerate() {
        for (i, b) in binds.iter().enumerate() {
            if let Binding::Func(FuncSource::Lib(m, k)) = b {
                // A callee in a later group is not instantiated yet; in the same group the merged
                // module calls it directly.
                if group_of[m.index()] > group_of[l] {
                    let t = GotTarget::LibFunc(*m, *k);
                    let id = *got_index.entry(t.clone()).or_insert_with(|| {
                        res.gots.push(t);
                        GotId(res.gots.len() as u32 - 1)
                    });
                    trampolines.insert((LibId(l as u32), i), id);
                }
            }
        }
    }

    let mut stubs: Vec<(String, wasmparser::FuncType)> = Vec::new();
    let mut stub_index: HashMap<(String, wasmparser::FuncType), usize> = HashMap::new();
    let mut stub_of = HashMap::new();
    for (l, binds) in res.bindings.iter().enumerate() {
        for (i, b) in binds.iter().enumerate() {
            let imp = &libs[l].imports[i];
            if let (Binding::Func(FuncSource::Trap), crate::parse::ImportKind::Func(ty)) =
                (b, &imp.kind)
            {
                let key = (imp.field.clone(), ty.clone());
                let n = *stub_index.entry(key.clone()).or_insert_with(|| {
                    stubs.push(key);
                    stubs.len() - 1
                });
                stub_of.insert((LibId(l as u32), i), n);
            }
        }
    }

    let mut got_by_lib = vec![Vec::new(); n];
    for (i, t) in res.gots.iter().enumerate() {
        match t {
            GotTarget::LibData(l, _) | GotTarget::LibFunc(l, _) => {
                got_by_lib[l.index()].push(GotId(i as u32))
            }
            GotTarget::Null | GotTarget::Abs(_) => {}
        }
    }

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
                    kind: index::KIND_FUNC,
                    value: k as u32,
                })
                .collect();
            syms.extend(lib.data.iter().map(|(name, off)| Symbol {
                name,
                kind: index::KIND_DATA,
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
            kind: index::KIND_DATA,
            value: *v,
        })
        .collect();
    main_syms.extend(res.main_func_slots.iter().map(|(name, slot)| Symbol {
        name,
        kind: index::KIND_FUNC,
        value: *slot,
    }));
    // Functions main imports and takes the address of: their PLT entry is their address.
    main_syms.extend(main.lib_imports.iter().filter_map(|imp| {
        Some(Symbol {
            name: &imp.name,
            kind: index::KIND_FUNC,
            value: main.canonical_plt_slot(&imp.name)?,
        })
    }));
    main_syms.sort_by(|a, b| a.name.cmp(b.name));
    let startup: Vec<u32> = res.startup.iter().map(|l| l.0).collect();
    let main_runpath = crate::resolve::search::runpath_dirs(
        &main.runpath,
        &crate::resolve::search::main_path(main),
    );
    let index = index::encode(&entries, &main_runpath, &main_syms, &startup);

    Layout {
        order,
        groups,
        group_of,
        trampolines,
        got_by_lib,
        stubs,
        stub_of,
        own_stack: res
            .bindings
            .iter()
            .map(|b| b.contains(&Binding::OwnStack))
            .collect(),
        index,
    }
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
