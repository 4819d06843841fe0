//! Pass 2: bind every library import to where it comes from, the way a Linux dynamic linker
//! resolves relocations: the main program first, then the library's own scope (itself and its
//! NEEDED closure, breadth first), then the other bundled libraries in command-line order.
//! A library that satisfies another's import becomes its dependency, so it is loaded first.

mod main;
mod scope;
pub mod search;
mod tags;
mod types;

pub use search::find_lib;
pub(crate) use search::{find_needed, Needed};

pub use tags::TagSource;
pub(crate) use types::Def;
pub use types::{
    is_host_module, Binding, DataOffset, FuncSource, FuncSym, GotId, GotTarget, HostImport, LibId,
    LibImport, LinkOptions, Resolution, TagSym, OWN_STACK_SIZE,
};

use crate::parse::{ImportKind, Library, MainModule};
use anyhow::{bail, Context, Result};
use hashbrown::HashMap;
use std::fmt::Write as _;
use wasmparser::{FuncType, ValType};

/// Gives every function main exports a table slot: its own element segments' slot, else a new
/// one after main's table. Functions in several segments keep their first slot.
fn assign_main_slots(main: &MainModule<'_>, res: &mut Resolution) -> Result<()> {
    let mut unplaced: Vec<&str> = Vec::new();
    for (name, (idx, _)) in &main.funcs {
        match main.elem_slots.get(idx) {
            Some(slot) => {
                res.main_func_slots.insert(name.clone(), *slot);
            }
            None if main.defines_table => unplaced.push(name),
            None => {}
        }
    }
    unplaced.sort_unstable();
    let limit = u64::from(u32::MAX);
    for (i, name) in unplaced.into_iter().enumerate() {
        let slot = main
            .table_min
            .checked_add(i as u64)
            .filter(|s| *s < limit)
            .with_context(|| {
                format!(
                    "{}: its table ({} slots) leaves no room for a slot of `{name}` (the 32-bit \
                     table index space ends at {limit})",
                    main.name, main.table_min
                )
            })? as u32;
        res.main_func_slots.insert(name.to_string(), slot);
        res.main_new_slots.push((name.to_string(), slot));
    }
    Ok(())
}

pub(crate) fn sig(ty: &FuncType) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(|t| format!("{t}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "(func (param {}) (result {}))",
        list(ty.params()),
        list(ty.results())
    )
}

/// Resolves every import of every library.
pub fn resolve(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    opts: LinkOptions,
) -> Result<Resolution> {
    let mut res = Resolution::default();
    assign_main_slots(main, &mut res)?;
    let mut errors: Vec<String> = Vec::new();
    let mut unresolved_main: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();

    let tag_defs = tags::definitions(libs);
    tags::main_tags(main, libs, &tag_defs, &mut res, &mut errors);

    // NEEDED edges, each found through the needing library's RUNPATH.
    let names = search::Names::new(libs);
    let mut needed: Vec<Vec<LibId>> = Vec::with_capacity(libs.len());
    for lib in libs {
        let mut n = Vec::new();
        let dirs = search::runpath_dirs(&lib.runpath, &lib.path);
        for name in &lib.needed {
            match find_needed(&names, &dirs, name, &mut res) {
                // libc++.so records `libc.so` twice: one edge each.
                Needed::Lib(id) if !n.contains(&id) => n.push(id),
                Needed::Lib(_) | Needed::System => {}
                Needed::Missing => errors.push(format!(
                    "{}: needs `{name}` (dylink.0 NEEDED), which was not given; add it to the \
                     `wasm-dl compose` command line",
                    lib.name
                )),
                Needed::Ambiguous => errors.push(search::ambiguous(&lib.name, name, libs, &names)),
            }
        }
        needed.push(n);
    }

    // Every definition, in load order. Main's exports are looked up separately (it comes first).
    let mut defs: HashMap<&str, Vec<Def>> = HashMap::new();
    for (i, lib) in libs.iter().enumerate() {
        let id = LibId(i as u32);
        for (k, (name, _)) in lib.funcs.iter().enumerate() {
            defs.entry(name.as_str())
                .or_default()
                .push(Def::Func(id, FuncSym(k as u32)));
        }
        for (name, off) in &lib.data {
            defs.entry(name.as_str())
                .or_default()
                .push(Def::Data(id, DataOffset(*off)));
        }
    }
    // The global scope the program starts with: main's NEEDED closure (a PIC main first).
    let main_dirs = search::runpath_dirs(&main.runpath, &search::main_path(main));
    let main_needed: Vec<LibId> = main
        .needed
        .iter()
        .filter_map(|n| names.find(n, &main_dirs).lib().map(LibId))
        .collect();
    res.linked = needed
        .iter()
        .flatten()
        .chain(&main_needed)
        .copied()
        .collect();
    res.linked.sort_unstable();
    res.linked.dedup();
    let global = scope::bfs_ranks(main_needed, &needed);
    let outside = scope::Scope {
        global: &global,
        local: HashMap::new(),
    };
    // Duplicates matter (and are reported) only where some import binds the name: several
    // plugins each defining `plugin_init` for dlsym is normal, as on Linux.
    let used: hashbrown::HashSet<&str> = libs
        .iter()
        .flat_map(|l| l.imports.iter())
        .filter(|i| matches!(i.module.as_str(), "env" | "GOT.mem" | "GOT.func"))
        .map(|i| i.field.as_str())
        .chain(main.lib_imports.iter().map(|i| i.name.as_str()))
        .collect();
    for (name, list) in &defs {
        if !used.contains(*name) {
            continue;
        }
        // A synthesized root's exports (all-PIC sets) are plumbing, not definitions.
        let main_defines =
            !main.synthesized && (main.funcs.contains_key(*name) || main.data.contains_key(*name));
        if list.len() > 1 || main_defines {
            let mut who: Vec<&str> = Vec::new();
            if main_defines {
                who.push(&main.name);
            }
            let owner = |d: &Def| &libs[d.lib().index()];
            who.extend(list.iter().map(|d| owner(d).name.as_str()));
            // Main comes first; otherwise what an importer outside every NEEDED scope gets.
            let winner = if who.len() > list.len() {
                main.name.as_str()
            } else {
                outside.winner(list, libs).map_or("", |l| l.name.as_str())
            };
            res.warnings.push(format!(
                "symbol `{name}` is defined by {}; the definition in {winner} is used \
                 (main first, then the libraries loaded at start-up, then the importer's own \
                 NEEDED scope, then load order)",
                who.join(", ")
            ));
        }
    }
    res.warnings.sort();
    main::resolve_main_imports(
        main,
        libs,
        &defs,
        &outside,
        &mut res,
        &mut errors,
        &mut missing,
    );

    // One GOT entry per (import, target): shared by every library importing the same symbol the
    // same way, and never two imports of one library bound to the same entry (a component does
    // not allow duplicate import names, and imports are renamed to their entries).
    let mut got_ids: HashMap<(String, GotTarget), GotId> = HashMap::new();
    let mut got = |key: String, t: GotTarget, gots: &mut Vec<GotTarget>| -> GotId {
        *got_ids.entry((key, t.clone())).or_insert_with(|| {
            gots.push(t);
            GotId(gots.len() as u32 - 1)
        })
    };

    for (i, lib) in libs.iter().enumerate() {
        let me = LibId(i as u32);
        let scope = scope::Scope {
            global: &global,
            local: scope::bfs_ranks([me], &needed),
        };
        let lookup = |name: &str| -> Option<Def> { scope.best(defs.get(name)?, None) };
        let mut deps: Vec<LibId> = needed[i].clone();
        let mut bindings = Vec::with_capacity(lib.imports.len());
        for imp in &lib.imports {
            let field = imp.field.as_str();
            let what = format!("{}: import `{}.{}`", lib.name, imp.module, field);
            let binding = match (imp.module.as_str(), &imp.kind) {
                ("env", ImportKind::Memory) if field == "memory" => Binding::Memory,
                ("env", ImportKind::Table) if field == "__indirect_function_table" => {
                    Binding::Table
                }
                ("env", ImportKind::Global { .. }) if field == "__stack_pointer" => {
                    if main.stack_pointer {
                        Binding::StackPointer
                    } else {
                        Binding::OwnStack
                    }
                }
                ("env", ImportKind::Global { .. }) if field == "__memory_base" => {
                    Binding::MemoryBase
                }
                ("env", ImportKind::Global { .. }) if field == "__table_base" => Binding::TableBase,
                (
                    module @ ("GOT.mem" | "GOT.func"),
                    ImportKind::Global {
                        ty: ValType::I32, ..
                    },
                ) => {
                    let func = module == "GOT.func";
                    let main_value = if func {
                        match res.main_func_slots.get(field) {
                            Some(slot) => Some(GotTarget::Abs(*slot)),
                            // main took the address of its import: as in ELF, the executable's
                            // PLT entry is the function's address everywhere.
                            None => main.canonical_plt_slot(field).map(GotTarget::Abs),
                        }
                    } else {
                        main.data.get(field).map(|addr| GotTarget::Abs(*addr))
                    };
                    let target = main_value.or_else(|| match lookup(field) {
                        Some(Def::Func(l, k)) if func => Some(GotTarget::LibFunc(l, k)),
                        Some(Def::Data(l, off)) if !func => Some(GotTarget::LibData(l, off)),
                        Some(_) => {
                            errors.push(if func {
                                format!("{what}: `{field}` is data, but its address is taken as a function")
                            } else {
                                format!("{what}: `{field}` is a function, but is used as data")
                            });
                            Some(GotTarget::Null)
                        }
                        None if imp.weak => Some(GotTarget::Null),
                        None => None,
                    });
                    let target = target.unwrap_or_else(|| {
                        unresolved_main.push(field.to_string());
                        let kind = if func { "function" } else { "data symbol" };
                        missing.push(format!("{}: undefined {kind} `{field}`", lib.name));
                        GotTarget::Null
                    });
                    Binding::Got(got(format!("{module}.{field}"), target, &mut res.gots))
                }
                ("env", ImportKind::Func(ty)) => {
                    let dl_ty = crate::dlfcn::func_type(field);
                    let (src, found) = if let Some((_, mty)) = main.funcs.get(field) {
                        (FuncSource::Main(field.to_string()), mty)
                    } else {
                        match lookup(field) {
                            // Declared without dlfcn.h's import module: still the dl shim's.
                            None if dl_ty.as_ref() == Some(ty) => (
                                FuncSource::Reexport(HostImport::new(crate::DL_MODULE, field, ty)),
                                ty,
                            ),
                            Some(Def::Func(l, k)) => {
                                (FuncSource::Lib(l, k), &libs[l.index()].funcs[k.index()].1)
                            }
                            Some(Def::Data(..) | Def::Tag(..)) => {
                                errors.push(format!("{what}: `{field}` is data, but is called"));
                                (FuncSource::Trap, ty)
                            }
                            None if imp.weak => (FuncSource::Trap, ty),
                            None => {
                                unresolved_main.push(field.to_string());
                                missing.push(format!("{}: undefined function `{field}`", lib.name));
                                (FuncSource::Trap, ty)
                            }
                        }
                    };
                    if found != ty {
                        errors.push(format!(
                            "{what}: type mismatch: imported as {} but defined as {}",
                            sig(ty),
                            sig(found)
                        ));
                    }
                    Binding::Func(src)
                }
                ("env", ImportKind::Tag(ty)) => Binding::Tag(tags::bind(
                    &what,
                    field,
                    ty,
                    main,
                    libs,
                    &tag_defs,
                    &scope,
                    &mut res,
                    &mut errors,
                )),
                (crate::DL_MODULE, ImportKind::Func(ty)) => {
                    match crate::dlfcn::func_type(field) {
                        Some(dl_ty) if dl_ty == *ty => {}
                        Some(dl_ty) => errors.push(format!(
                            "{what}: type mismatch: imported as {} but the dl shim defines it as \
                             {} (declare it as dlfcn.h does)",
                            sig(ty),
                            sig(&dl_ty)
                        )),
                        None => errors.push(format!(
                            "{what}: wasm-dl does not provide `{field}` (it provides {})",
                            crate::dlfcn::EXPORTS.join(", ")
                        )),
                    }
                    Binding::Func(FuncSource::Reexport(HostImport::new(
                        crate::DL_MODULE,
                        field,
                        ty,
                    )))
                }
                (m, ImportKind::Func(ty)) if is_host_module(m) => {
                    Binding::Func(FuncSource::Reexport(HostImport::new(m, field, ty)))
                }
                _ => {
                    errors.push(format!(
                        "{what}: unsupported import (shared libraries may import functions and \
                         `GOT.mem`/`GOT.func` globals, plus `env.memory`, \
                         `env.__indirect_function_table`, `env.__stack_pointer`, \
                         `env.__memory_base`, `env.__table_base` and tags from `env`)"
                    ));
                    Binding::Func(FuncSource::Trap)
                }
            };
            let dep = match &binding {
                Binding::Func(FuncSource::Lib(l, _)) | Binding::Tag(TagSource::Lib(l, _)) => {
                    Some(*l)
                }
                Binding::Got(g) => match &res.gots[g.0 as usize] {
                    GotTarget::LibData(l, _) | GotTarget::LibFunc(l, _) => Some(*l),
                    _ => None,
                },
                _ => None,
            };
            if let Some(l) = dep {
                if l != me && !deps.contains(&l) {
                    deps.push(l);
                }
            }
            if let Binding::Func(FuncSource::Reexport(h)) = &binding {
                if !res.reexports.contains(h) {
                    res.reexports.push(h.clone());
                }
            }
            bindings.push(binding);
        }
        res.bindings.push(bindings);
        res.deps.push(deps);
    }

    res.reexports
        .sort_by(|a, b| (&a.module, &a.field).cmp(&(&b.module, &b.field)));
    for pair in res.reexports.windows(2) {
        if let [a, b] = pair {
            if a.module == b.module && a.field == b.field {
                let by = |h: &HostImport| {
                    crate::host::importer(libs, h).map_or("a library", |l| l.name.as_str())
                };
                errors.push(format!(
                    "`{}.{}` is imported with different types: as {} by {} and as {} by {}; \
                     declare it the same way in every library (include the system header)",
                    a.module,
                    a.field,
                    sig(&a.ty),
                    by(a),
                    sig(&b.ty),
                    by(b)
                ));
            }
        }
    }
    // Libraries reach `dlsym` and `dlopen` through env-module wrappers that tell the shim the
    // caller (`dlfcn::DLSYM_NEXT`, `dlfcn::DLOPEN_FROM`): main re-exports those too.
    let calls = |f: fn(&FuncSource) -> bool| {
        res.bindings
            .iter()
            .flatten()
            .any(|b| matches!(b, Binding::Func(src) if f(src)))
    };
    let wrapped: Vec<&str> = [
        (calls(FuncSource::is_dlsym), crate::dlfcn::DLSYM_NEXT),
        (calls(FuncSource::is_dlopen), crate::dlfcn::DLOPEN_FROM),
    ]
    .into_iter()
    .filter_map(|(called, field)| called.then_some(field))
    .collect();
    for field in wrapped {
        res.reexports.push(HostImport {
            module: crate::DL_MODULE.to_string(),
            field: field.to_string(),
            ty: crate::dlfcn::func_type(field)
                .ok_or_else(|| anyhow::anyhow!("internal error: no type for {field}"))?,
        });
    }
    if opts.strict && !res.warnings.is_empty() {
        errors.extend(
            res.warnings
                .iter()
                .map(|w| format!("duplicate definition (--strict): {w}")),
        );
    }
    if opts.stub_missing {
        unresolved_main.clear();
        res.warnings.extend(
            missing
                .into_iter()
                .map(|m| format!("{m}: stubbed (a call traps; its address is 0)")),
        );
    } else {
        errors.extend(missing);
    }
    if !errors.is_empty() {
        let mut msg = String::new();
        for e in &errors {
            let _ = writeln!(msg, "{e}");
        }
        if !unresolved_main.is_empty() {
            unresolved_main.sort();
            unresolved_main.dedup();
            let flags: Vec<String> = unresolved_main
                .iter()
                .map(|s| format!("-Wl,--export={s}"))
                .collect();
            let _ = writeln!(
                msg,
                "fix: if the main module defines them (libc does for most), export them by \
                 linking it with `{}` (`wasm-dl flags main LIB...` prints every flag it needs); \
                 or compose with `--stub-missing` to make calls to them trap instead",
                flags.join(" ")
            );
        }
        bail!("{}", msg.trim_end());
    }
    Ok(res)
}
