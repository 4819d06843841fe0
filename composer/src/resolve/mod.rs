//! Pass 2: bind every library import to where it comes from, the way a Linux dynamic linker
//! resolves relocations: the main program first, then the library's own scope (itself and its
//! NEEDED closure, breadth first), then the other bundled libraries in command-line order.
//! A library that satisfies another's import becomes its dependency, so it is loaded first.

mod main;
mod scope;
pub mod search;
mod tags;

pub use search::find_lib;
pub(crate) use search::{find_needed, Needed};

pub use tags::TagSource;

use crate::parse::{ImportKind, Library, MainModule};
use anyhow::{bail, Context, Result};
use hashbrown::HashMap;
use std::fmt::Write as _;
use wasmparser::{FuncType, ValType};

/// Position of a library on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LibId(pub u32);

impl LibId {
    /// As a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a GOT entry (a mutable global shared by every library importing the same symbol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GotId(pub u32);

/// Where a function import is satisfied from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FuncSource {
    /// An export of the main module.
    Main(String),
    /// Function symbol `k` of a library.
    Lib(LibId, u32),
    /// A function main imports from the component's host side (the dl shim's dlfcn.h functions,
    /// WASI): main re-exports its import (see `synth::main_module::reexport_name`).
    Reexport(HostImport),
    /// A weak undefined function: a stub that traps if called.
    Trap,
}

impl FuncSource {
    /// Whether this is the dl shim's `dlsym` (which a library reaches through a `dlsym` of its
    /// own, `synth::env::dlsym_from`, so that `RTLD_NEXT` knows the caller).
    pub fn is_dlsym(&self) -> bool {
        matches!(self, FuncSource::Reexport(h) if h.module == crate::DL_MODULE && h.field == "dlsym")
    }

    /// Whether this is the dl shim's `dlopen` (which a library reaches through a `dlopen` of
    /// its own, `synth::env::dlopen_from`, so that its RUNPATH is searched).
    pub fn is_dlopen(&self) -> bool {
        matches!(self, FuncSource::Reexport(h) if h.module == crate::DL_MODULE && h.field == "dlopen")
    }
}

/// The value a GOT entry holds once its target is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GotTarget {
    /// Weak undefined: 0.
    Null,
    /// Known at compose time: a main data address or a slot of main's own table.
    Abs(u32),
    /// `memory_base + offset` of a library.
    LibData(LibId, u32),
    /// Function symbol `k` of a library: `table_base + table_size + k`.
    LibFunc(LibId, u32),
}

/// How one import is bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `env.memory`: main's memory.
    Memory,
    /// `env.__indirect_function_table`: main's table.
    Table,
    /// `env.__stack_pointer`: main's exported stack pointer.
    StackPointer,
    /// `env.__stack_pointer` when main does not export its own: the library gets a stack of its
    /// own ([`OWN_STACK_SIZE`] bytes from main's `malloc`, when it is placed). Calls between
    /// modules nest, so each module's frames stay last-in first-out on its own stack.
    OwnStack,
    /// `env.__memory_base` of this library.
    MemoryBase,
    /// `env.__table_base` of this library.
    TableBase,
    /// A function.
    Func(FuncSource),
    /// A `GOT.mem`/`GOT.func` global.
    Got(GotId),
    /// A tag (exception handling).
    Tag(TagSource),
}

/// Bytes of the stack a library gets when main does not export `__stack_pointer`.
pub const OWN_STACK_SIZE: u32 = 64 * 1024;

/// Choices that change how resolution treats problems.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkOptions {
    /// Bind undefined strong functions to stubs that trap when called (and undefined data to
    /// address 0) instead of failing.
    pub stub_missing: bool,
    /// Treat duplicate definitions as errors instead of warnings.
    pub strict: bool,
}

/// The result of resolution.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Per library, per import (parallel to `Library::imports`).
    pub bindings: Vec<Vec<Binding>>,
    /// GOT entries, deduplicated by target.
    pub gots: Vec<GotTarget>,
    /// Per library, the libraries to load before it (NEEDED first), without itself.
    pub deps: Vec<Vec<LibId>>,
    /// Human-readable notes (duplicate definitions: the first in load order won).
    pub warnings: Vec<String>,
    /// How each function main imports from a library is bound (parallel to
    /// `MainModule::lib_imports`): `Lib`, or `Trap` for a weak or stubbed undefined one.
    pub main_imports: Vec<FuncSource>,
    /// What each `GOT.mem`/`GOT.func` global main imports holds (parallel to
    /// `MainModule::got_imports`): a library's data address or function slot, or 0.
    pub main_gots: Vec<GotTarget>,
    /// Libraries loaded before main runs, as the executable's DT_NEEDED on Linux: main's NEEDED,
    /// then each other library that defines a function main imports.
    pub startup: Vec<LibId>,
    /// The host functions libraries call (sorted, unique): main re-exports them.
    pub reexports: Vec<HostImport>,
    /// The table slot of every function main exports (`&f` for main's `f`, everywhere): the slot
    /// main's own element segments give it, else one of [`Resolution::main_new_slots`].
    pub main_func_slots: HashMap<String, u32>,
    /// Exported functions of main that no element segment places, with the slot each gets after
    /// main's table (`MainModule::table_min` on, consecutive, by name): `synth::main_module`
    /// adds them with an active element segment, so that `dlsym(RTLD_DEFAULT, f)` finds every
    /// function main exports, at compose-time addresses.
    pub main_new_slots: Vec<(String, u32)>,
    /// NEEDED names no given file matches that wasm-dl provides itself (`libdl.so`, `libm.so.6`,
    /// ...: see [`wasm_dl_abi::system`]), sorted and unique. They add no dependency.
    pub system: Vec<String>,
    /// Tags wasm-dl defines in main (see `tags`): main's own `env` tag imports first, in import
    /// order, then those libraries import and no module defines, in the order first imported.
    pub main_tags: Vec<(String, FuncType)>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Def {
    /// Function symbol `k` of a library.
    Func(LibId, u32),
    /// Data symbol of a library at this offset from its `__memory_base`.
    Data(LibId, u32),
    /// Tag `k` of a library (`Library::tags`); tags are looked up in a map of their own.
    Tag(LibId, u32),
}

impl Def {
    /// The library that defines it.
    pub(crate) fn lib(self) -> LibId {
        let (Def::Func(l, _) | Def::Data(l, _) | Def::Tag(l, _)) = self;
        l
    }
}

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

/// A function imported from the component's host side (not from another module of the link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostImport {
    /// Import module (`wasm-dl`, `wasi_snapshot_preview1`, `wasi:io/streams@0.2.0`, ...).
    pub module: String,
    /// Import field.
    pub field: String,
    /// Its type.
    pub ty: FuncType,
}

impl HostImport {
    fn new(module: &str, field: &str, ty: &FuncType) -> Self {
        HostImport {
            module: module.to_string(),
            field: field.to_string(),
            ty: ty.clone(),
        }
    }
}

/// Modules whose functions the component's host side provides to main: WASI (preview 1 through
/// the adapter, preview 2 interfaces directly).
pub fn is_host_module(module: &str) -> bool {
    module == "wasi_snapshot_preview1" || module.starts_with("wasi:")
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
                .push(Def::Func(id, k as u32));
        }
        for (name, off) in &lib.data {
            defs.entry(name.as_str())
                .or_default()
                .push(Def::Data(id, *off));
        }
    }
    // The global scope the program starts with: main's NEEDED closure (a PIC main first).
    let main_dirs = search::runpath_dirs(&main.runpath, &search::main_path(main));
    let main_needed: Vec<LibId> = main
        .needed
        .iter()
        .filter_map(|n| names.find(n, &main_dirs).lib().map(LibId))
        .collect();
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
                                (FuncSource::Lib(l, k), &libs[l.index()].funcs[k as usize].1)
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
