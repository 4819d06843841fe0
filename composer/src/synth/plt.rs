//! A main module linked against shared libraries: break the instantiation cycle with PLT stubs.
//!
//! Main is instantiated before every library (they need its memory and table), so it cannot
//! import their functions. Each function main imports from `env` is turned into a defined
//! function of main, its PLT entry, that calls through main's table at a slot held in a mutable
//! global (its GOT entry), exported as [`plt_global`]`(name)`; the loader sets that global when
//! it places the library (0 until then, so an early call traps like a call through NULL).
//! Main's `_start` becomes a wrapper that first calls the shim's [`STARTUP_IMPORT`], which loads
//! the libraries main was linked against, as a dynamic linker does before an executable runs.
//!
//! The same pass gives main the host imports (dlfcn.h functions of the `wasm-dl` shim, WASI)
//! libraries call but main does not (main re-exports them, see `main_module`), and renames
//! main's `env` imports of dlfcn.h functions (declared without `include/dlfcn.h`) to `wasm-dl`.
//!
//! Removing imports renumbers main's functions and globals: the module is copied by the
//! rewriter (`rewrite`) with index maps, which keeps every body at its code offset, so main
//! keeps its DWARF, and renumbers the name section.

use super::rewrite::{self as rw, Additions, Edit, ImportAt, IndexMap, Maps};
use crate::parse::{MainGot, MainImport, MainModule};
use crate::resolve::{FuncSource, HostImport, Resolution};
use anyhow::{bail, Context, Result};
use wasm_encoder::{
    ConstExpr, EntityType, ExportKind, ExportSection, Function, GlobalType, ImportSection, ValType,
};
use wasmparser::{ExternalKind, Payload, TypeRef};

/// Exports that are a command's entry point: wrapped so that start-up runs first.
const ENTRY_EXPORTS: &[&str] = &["_start", crate::parse::RUN_EXPORT];

/// The shim export main's `_start` wrapper calls first: `() -> ()`.
pub const STARTUP_IMPORT: &str = "__wasm_dl_startup";

/// Name of the exported global that replaces main's `GOT.mem`/`GOT.func` import `name`.
pub fn got_global(func: bool, name: &str) -> String {
    format!(
        "__wasm_dl_got:{}.{name}",
        if func { "GOT.func" } else { "GOT.mem" }
    )
}

/// Name of the exported global holding the table slot main's import `name` calls.
pub fn plt_global(name: &str) -> String {
    format!("__wasm_dl_plt:{name}")
}

/// What the pass does to main, decided from the resolution.
pub struct Plan<'m> {
    /// Imports that become PLT entries (bound to a library, or weak/stubbed undefined).
    plt: Vec<&'m MainImport>,
    /// Function indices of `env` imports that are dlfcn.h functions: renamed to `wasm-dl`.
    renamed: Vec<u32>,
    /// Host functions libraries call that main does not import: added (main re-exports them).
    added: Vec<&'m HostImport>,
    /// `GOT.mem`/`GOT.func` imports (main compiled `-fPIC`): become globals the loader sets.
    gots: Vec<&'m MainGot>,
    /// Whether libraries must be loaded before `_start`.
    startup: bool,
}

impl<'m> Plan<'m> {
    /// Plans the pass for `main`; `None` when main needs none of it.
    pub fn new(main: &'m MainModule<'_>, res: &'m Resolution) -> Option<Plan<'m>> {
        let mut plt = Vec::new();
        let mut renamed = Vec::new();
        let mut imported: Vec<(&str, &str)> = main
            .host_imports
            .iter()
            .map(|(m, f)| (m.as_str(), f.as_str()))
            .collect();
        for (imp, src) in main.lib_imports.iter().zip(&res.main_imports) {
            match src {
                FuncSource::Reexport(h) => {
                    renamed.push(imp.func);
                    imported.push((h.module.as_str(), h.field.as_str()));
                }
                _ => plt.push(imp),
            }
        }
        let added: Vec<&HostImport> = res
            .reexports
            .iter()
            .filter(|h| !imported.contains(&(h.module.as_str(), h.field.as_str())))
            .collect();
        let startup = !res.startup.is_empty();
        let gots: Vec<&MainGot> = main.got_imports.iter().collect();
        let needed = startup
            || !plt.is_empty()
            || !renamed.is_empty()
            || !added.is_empty()
            || !gots.is_empty();
        needed.then_some(Plan {
            plt,
            renamed,
            added,
            gots,
            startup,
        })
    }
}

/// Rewrites main (see the module docs).
pub fn rewrite(main: &MainModule<'_>, plan: &Plan<'_>) -> Result<Vec<u8>> {
    rewrite_inner(main, plan).with_context(|| {
        format!(
            "{}: cannot link the main module to the libraries it imports from",
            main.name
        )
    })
}

struct Plt<'m> {
    plan: &'m Plan<'m>,
    /// Function imports of the input module.
    n_imports: u32,
    /// All functions of the input module.
    n_funcs: u32,
    /// Sorted function indices of the imports that become PLT entries.
    removed: Vec<u32>,
    /// Type index of `() -> ()`, then of each added dl import (appended).
    void_type: u32,
    /// The input's entry points (export name, function, type), wrapped when libraries load
    /// before they run.
    entries: Vec<(String, u32, u32)>,
    /// Global index of the first PLT global (the GOT globals follow them).
    first_plt_global: u32,
    /// Global imports of the input module.
    n_global_imports: u32,
    /// Sorted global indices of the `GOT.*` imports that become defined globals.
    removed_globals: Vec<u32>,
}

impl Plt<'_> {
    fn added_imports(&self) -> u32 {
        u32::from(self.plan.startup) + self.plan.added.len() as u32
    }

    /// The new index of the first added import (the start-up import, if any, then the dl ones).
    fn first_added(&self) -> u32 {
        self.n_imports - self.removed.len() as u32
    }

    /// The new index of the wrapper of entry `i` (after the PLT entries).
    fn wrapper_func(&self, i: usize) -> u32 {
        self.n_funcs + self.added_imports() + i as u32
    }

    /// The new index of global `g`: imports kept, then defined globals, then the PLT globals,
    /// then the former `GOT.*` imports.
    fn map_global(&self, g: u32) -> u32 {
        let r = self.removed_globals.len() as u32;
        if g >= self.n_global_imports {
            return g - r;
        }
        match self.removed_globals.binary_search(&g) {
            Ok(j) => self.first_plt_global + self.plan.plt.len() as u32 + j as u32,
            Err(before) => g - before as u32,
        }
    }

    fn map(&self, f: u32) -> u32 {
        let r = self.removed.len() as u32;
        if f >= self.n_imports {
            return f - r + self.added_imports();
        }
        match self.removed.binary_search(&f) {
            Ok(j) => self.n_funcs - r + self.added_imports() + j as u32,
            Err(before) => f - before as u32,
        }
    }
}

impl Edit for Plt<'_> {
    fn import(
        &mut self,
        at: ImportAt,
        imp: &wasmparser::Import<'_>,
        ty: EntityType,
        out: &mut ImportSection,
    ) -> Result<()> {
        let mut module = imp.module;
        match imp.ty {
            TypeRef::Global(_) if self.removed_globals.binary_search(&at.kind_index).is_ok() => {
                return Ok(());
            }
            TypeRef::Func(_) => {
                if self.removed.binary_search(&at.kind_index).is_ok() {
                    return Ok(());
                }
                if self.plan.renamed.contains(&at.kind_index) {
                    module = crate::DL_MODULE;
                }
            }
            _ => {}
        }
        out.import(module, imp.name, ty);
        Ok(())
    }

    fn export(
        &mut self,
        name: &str,
        kind: ExportKind,
        index: u32,
        out: &mut ExportSection,
    ) -> Result<()> {
        match self.entries.iter().position(|(n, _, _)| n == name) {
            Some(i) if self.plan.startup => out.export(name, kind, self.wrapper_func(i)),
            _ => out.export(name, kind, index),
        };
        Ok(())
    }
}

impl Plt<'_> {
    /// What the pass appends: the PLT entries and their globals, the start-up import and the
    /// entry wrappers, the host imports libraries need.
    fn additions(&self) -> Result<Additions> {
        let mut add = Additions::default();
        add.types.push((vec![], vec![]));
        for h in &self.plan.added {
            add.types.push(rw::func_type(&h.ty)?);
        }
        if self.plan.startup {
            add.imports.push((
                crate::DL_MODULE.to_string(),
                STARTUP_IMPORT.to_string(),
                EntityType::Function(self.void_type),
            ));
        }
        for (i, h) in self.plan.added.iter().enumerate() {
            add.imports.push((
                h.module.clone(),
                h.field.clone(),
                EntityType::Function(self.void_type + 1 + i as u32),
            ));
        }
        for (i, imp) in self.plan.plt.iter().enumerate() {
            let mut f = Function::new([]);
            let mut ins = f.instructions();
            for p in 0..imp.ty.params().len() as u32 {
                ins.local_get(p);
            }
            ins.global_get(self.first_plt_global + i as u32)
                .call_indirect(0, imp.type_index)
                .end();
            add.funcs.push((imp.type_index, f));
        }
        if self.plan.startup {
            for (_, func, ty) in &self.entries {
                let mut f = Function::new([]);
                f.instructions()
                    .call(self.first_added())
                    .call(self.map(*func))
                    .end();
                add.funcs.push((*ty, f));
            }
        }
        // The PLT slots, then what the GOT imports became: set by the loader, 0 until then.
        for _ in 0..self.plan.plt.len() + self.plan.gots.len() {
            let ty = GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            };
            add.globals.push((ty, ConstExpr::i32_const(0)));
        }
        for (i, imp) in self.plan.plt.iter().enumerate() {
            add.exports.push((
                plt_global(&imp.name),
                ExportKind::Global,
                self.first_plt_global + i as u32,
            ));
        }
        let first_got = self.first_plt_global + self.plan.plt.len() as u32;
        for (j, got) in self.plan.gots.iter().enumerate() {
            // The import order is the global order (`removed_globals` is sorted by it).
            add.exports.push((
                got_global(got.func, &got.name),
                ExportKind::Global,
                first_got + j as u32,
            ));
        }
        Ok(add)
    }
}

fn rewrite_inner(main: &MainModule<'_>, plan: &Plan<'_>) -> Result<Vec<u8>> {
    let bytes = main.bytes;
    let (mut n_types, mut n_imports, mut n_funcs, mut n_globals) = (0u32, 0u32, 0u32, 0u32);
    let mut n_global_imports = 0u32;
    let mut entries: Vec<(String, u32)> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut has = [false; 4]; // type, import, global, export sections
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(r) => {
                has[0] = true;
                n_types = r.count();
            }
            Payload::ImportSection(r) => {
                has[1] = true;
                for imp in r.into_imports() {
                    match imp?.ty {
                        TypeRef::Func(t) => {
                            n_imports += 1;
                            func_types.push(t);
                        }
                        TypeRef::Global(_) => {
                            n_globals += 1;
                            n_global_imports += 1;
                        }
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => {
                n_funcs = r.count();
                for t in r {
                    func_types.push(t?);
                }
            }
            Payload::GlobalSection(r) => {
                has[2] = true;
                n_globals += r.count();
            }
            Payload::ExportSection(r) => {
                has[3] = true;
                for e in r {
                    let e = e?;
                    if ENTRY_EXPORTS.contains(&e.name) && matches!(e.kind, ExternalKind::Func) {
                        entries.push((e.name.to_string(), e.index));
                    }
                }
            }
            _ => {}
        }
    }
    if plan.startup && entries.is_empty() {
        bail!(
            "it is linked against shared libraries, which are loaded before `_start`, but it \
             exports no `_start` (build it as a command: do not link it with `-mexec-model=reactor`)"
        );
    };
    if !has.iter().all(|h| *h) {
        bail!("it lacks a type, import, global or export section");
    }
    let mut removed: Vec<u32> = plan.plt.iter().map(|i| i.func).collect();
    removed.sort_unstable();
    let mut plt = Plt {
        plan,
        n_imports,
        n_funcs: n_imports + n_funcs,
        removed,
        void_type: n_types,
        entries: entries
            .into_iter()
            .map(|(n, f)| {
                let ty = func_types.get(f as usize).copied().unwrap_or(0);
                (n, f, ty)
            })
            .collect(),
        first_plt_global: n_globals - plan.gots.len() as u32,
        n_global_imports,
        removed_globals: plan.gots.iter().map(|g| g.global).collect(),
    };
    let maps = Maps {
        funcs: IndexMap::Table((0..plt.n_funcs).map(|f| plt.map(f)).collect()),
        globals: IndexMap::Table((0..n_globals).map(|g| plt.map_global(g)).collect()),
        tags: IndexMap::Identity,
        folded: Vec::new(),
    };
    let add = plt.additions()?;
    rw::rewrite(bytes, &maps, add, &mut plt)
}
