//! Stage 0 of the seed, completed by the composer: patch the main module so that the dl shim can
//! reach the loader.
//!
//! The loader core instance is created after main (it needs main's memory, table and `malloc`),
//! so main cannot import it. Instead main gets a mutable global [`SLOT_EXPORT`] that the loader
//! fills with the table slot of its dispatch function at start-up, and an exported function
//! [`DISPATCH_EXPORT`]`(op, lib) -> i32` that calls through that slot. The shim imports it.
//! The table is also exported (as `__indirect_function_table`) and made growable if the link
//! did not do so. The host functions libraries call (the dl shim's dlfcn.h functions, WASI) are
//! re-exported from main's imports ([`reexport_name`]): libraries cannot reach the adapters
//! otherwise.
//! Exported functions that no element segment places get the slots the resolution gave them
//! (`Resolution::main_new_slots`, right after main's table): the table's initial size grows to
//! hold them and one active element segment fills them, so every function main exports has an
//! address at compose time.
//! Tags main imports from `env` become tags it defines, and the tags libraries import that no
//! module defines are defined after them (`Resolution::main_tags`); each is exported as
//! [`tag_export`], for the libraries to import (see `resolve::tags`).
//! Everything is appended, so no existing index moves (main's imported tags are replaced, in
//! order, by the first definitions: tag indices stay).

use crate::parse::MainModule;
use crate::resolve::HostImport;
use anyhow::{anyhow, bail, Context, Result};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, ImportSection, Module, TableSection, TableType,
    TagKind, TagSection, TagType, ValType,
};
use wasmparser::{ExternalKind, FuncType, Parser, Payload};

/// Exported function main gains: `(func (param op lib) (result i32))`, calls the loader.
pub const DISPATCH_EXPORT: &str = "__wasm_dl_dispatch";
/// Exported mutable global main gains: the loader's dispatch slot (-1 until the loader starts).
pub const SLOT_EXPORT: &str = "__wasm_dl_loader_slot";
/// Name of main's exported table.
pub const TABLE_EXPORT: &str = "__indirect_function_table";

/// Section order ranks of the core binary format (custom sections excluded).
fn rank(id: u8) -> u8 {
    match id {
        1 => 1,   // type
        2 => 2,   // import
        3 => 3,   // function
        4 => 4,   // table
        5 => 5,   // memory
        13 => 6,  // tag
        6 => 7,   // global
        7 => 8,   // export
        8 => 9,   // start
        9 => 10,  // element
        12 => 11, // data count
        10 => 12, // code
        11 => 13, // data
        _ => 0,
    }
}

/// Name of main's export of tag `name` (one it defines, or one wasm-dl defines there).
pub fn tag_export(name: &str) -> String {
    format!("__wasm_dl_tag:{name}")
}

/// Name of main's export that re-exports its import `module.field` to libraries.
pub fn reexport_name(module: &str, field: &str) -> String {
    format!("__wasm_dl_import:{module}:{field}")
}

/// Patches main (see the module docs); `bytes` is main as the earlier passes left it,
/// `reexport` the host functions libraries call, which main imports by then, and `new_slots`
/// the exported functions (by export name) that get a table slot of their own.
pub fn patch(
    main: &MainModule<'_>,
    bytes: &[u8],
    reexport: &[HostImport],
    new_slots: &[(String, u32)],
    tags: &[(String, FuncType)],
) -> Result<Vec<u8>> {
    patch_inner(main, bytes, reexport, new_slots, tags)
        .with_context(|| format!("{}: cannot patch the main module", main.name))
}

fn patch_inner(
    main: &MainModule<'_>,
    bytes: &[u8],
    reexport: &[HostImport],
    new_slots: &[(String, u32)],
    tags: &[(String, FuncType)],
) -> Result<Vec<u8>> {
    if !main.defines_table {
        bail!("has no function table; link it with `-Wl,--export-table -Wl,--growable-table`");
    }
    let (mut n_types, mut n_funcs, mut n_globals) = (0u32, 0u32, 0u32);
    let mut table_exported = false;
    let mut reexported: Vec<(String, u32)> = Vec::new();
    let mut func_exports: hashbrown::HashMap<&str, u32> = hashbrown::HashMap::new();
    // Tags: main's imported ones (all from `env`: see `parse`), its defined ones, their exports.
    let (mut n_tag_imports, mut n_tags_defined) = (0u32, 0u32);
    let mut tag_exports: Vec<(String, u32)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    ty?;
                    n_types += 1;
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp?;
                    match imp.ty {
                        wasmparser::TypeRef::Func(_) => {
                            if reexport
                                .iter()
                                .any(|h| h.module == imp.module && h.field == imp.name)
                            {
                                reexported.push((reexport_name(imp.module, imp.name), n_funcs));
                            }
                            n_funcs += 1
                        }
                        wasmparser::TypeRef::Global(_) => n_globals += 1,
                        wasmparser::TypeRef::Tag(_) => n_tag_imports += 1,
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => n_funcs += r.count(),
            Payload::GlobalSection(r) => n_globals += r.count(),
            Payload::TagSection(r) => n_tags_defined += r.count(),
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e?;
                    if e.kind == ExternalKind::Tag {
                        tag_exports.push((e.name.to_string(), e.index));
                    }
                    if matches!(e.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        func_exports.insert(e.name, e.index);
                    }
                    if e.kind == ExternalKind::Table && e.index == 0 {
                        if e.name != TABLE_EXPORT {
                            bail!(
                                "exports its table as `{}`; wasm-dl needs it as `{TABLE_EXPORT}` \
                                 (link with `-Wl,--export-table`)",
                                e.name
                            );
                        }
                        table_exported = true;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(h) = reexport.iter().find(|h| {
        let name = reexport_name(&h.module, &h.field);
        !reexported.iter().any(|(n, _)| *n == name)
    }) {
        bail!(
            "internal error: main does not import `{}.{}`",
            h.module,
            h.field
        );
    }
    // The new slots are consecutive from the first one (see `resolve::assign_main_slots`).
    let new_funcs = new_slots
        .iter()
        .map(|(name, _)| {
            func_exports.get(name.as_str()).copied().with_context(|| {
                format!("internal error: main does not export the function `{name}`")
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    let new_segment = match (new_slots.first(), new_slots.last()) {
        (Some((_, first)), Some((_, last))) => Some((*first, u64::from(*last) + 1)),
        _ => None,
    };
    let mut elems_done = new_segment.is_none();
    let new_elems = |module: &mut Module,
                     existing: Option<wasmparser::ElementSectionReader<'_>>|
     -> Result<()> {
        let mut elems = ElementSection::new();
        if let Some(r) = existing {
            RoundtripReencoder.parse_element_section(&mut elems, r)?;
        }
        if let Some((first, _)) = new_segment {
            elems.active(
                None,
                &ConstExpr::i32_const(first as i32),
                Elements::Functions(std::borrow::Cow::Borrowed(&new_funcs)),
            );
        }
        module.section(&elems);
        Ok(())
    };
    // The first `n_tag_imports` of `tags` replace main's imports, the rest follow its own.
    if tags.len() < n_tag_imports as usize
        || tags
            .iter()
            .zip(&main.tag_imports)
            .any(|((a, _), (b, _))| a != b)
    {
        bail!("internal error: the tags to define do not start with main's tag imports");
    }
    let tag_index = |i: usize| -> u32 {
        if i < n_tag_imports as usize {
            i as u32
        } else {
            n_tags_defined + i as u32
        }
    };
    let mut tag_export_list: Vec<(String, u32)> = tags
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (tag_export(name), tag_index(i)))
        .collect();
    for (name, index) in &tag_exports {
        if !tags.iter().any(|(n, _)| n == name) {
            tag_export_list.push((tag_export(name), *index));
        }
    }
    let first_tag_type = n_types + 1;
    let dispatch_type = n_types;
    let dispatch_func = n_funcs;
    let slot_global = n_globals;

    let mut module = Module::new();
    let mut re = RoundtripReencoder;
    let mut code: Option<CodeSection> = None;
    let mut globals_done = false;
    let mut exports_done = false;
    let mut tags_done = tags.is_empty();
    let new_tags =
        |module: &mut Module, existing: Option<wasmparser::TagSectionReader<'_>>| -> Result<()> {
            let mut section = TagSection::new();
            let tag = |i: usize| TagType {
                kind: TagKind::Exception,
                func_type_idx: first_tag_type + i as u32,
            };
            for i in 0..n_tag_imports as usize {
                section.tag(tag(i));
            }
            if let Some(r) = existing {
                for t in r {
                    section.tag(RoundtripReencoder.tag_type(t?)?);
                }
            }
            for i in n_tag_imports as usize..tags.len() {
                section.tag(tag(i));
            }
            module.section(&section);
            Ok(())
        };

    let new_globals = |module: &mut Module,
                       existing: Option<wasmparser::GlobalSectionReader<'_>>|
     -> Result<()> {
        let mut globals = GlobalSection::new();
        if let Some(r) = existing {
            for g in r {
                let g = g?;
                globals.global(
                    RoundtripReencoder.global_type(g.ty)?,
                    &RoundtripReencoder.const_expr(g.init_expr)?,
                );
            }
        }
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(-1),
        );
        module.section(&globals);
        Ok(())
    };
    let new_exports = |module: &mut Module,
                       existing: Option<wasmparser::ExportSectionReader<'_>>|
     -> Result<()> {
        let mut exports = ExportSection::new();
        if let Some(r) = existing {
            for e in r {
                let e = e?;
                let kind = match e.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                    ExternalKind::Table => ExportKind::Table,
                    ExternalKind::Memory => ExportKind::Memory,
                    ExternalKind::Global => ExportKind::Global,
                    ExternalKind::Tag => ExportKind::Tag,
                };
                exports.export(e.name, kind, e.index);
            }
        }
        if !table_exported {
            exports.export(TABLE_EXPORT, ExportKind::Table, 0);
        }
        exports.export(DISPATCH_EXPORT, ExportKind::Func, dispatch_func);
        for (name, f) in &reexported {
            exports.export(name, ExportKind::Func, *f);
        }
        exports.export(SLOT_EXPORT, ExportKind::Global, slot_global);
        for (name, index) in &tag_export_list {
            exports.export(name, ExportKind::Tag, *index);
        }
        module.section(&exports);
        Ok(())
    };

    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let Payload::CodeSectionEntry(body) = &payload {
            if let Some(code) = code.as_mut() {
                code.raw(body.as_bytes());
            }
            continue;
        }
        if let Some(mut c) = code.take() {
            let mut f = Function::new([]);
            f.instructions()
                .local_get(0)
                .local_get(1)
                .global_get(slot_global)
                .call_indirect(0, dispatch_type)
                .end();
            c.function(&f);
            module.section(&c);
        }
        let section_rank = payload.as_section().map(|(id, _)| rank(id)).unwrap_or(0);
        if section_rank > rank(13) && !tags_done {
            new_tags(&mut module, None)?;
            tags_done = true;
        }
        if section_rank > rank(6) && !globals_done {
            new_globals(&mut module, None)?;
            globals_done = true;
        }
        if section_rank > rank(7) && !exports_done {
            new_exports(&mut module, None)?;
            exports_done = true;
        }
        if section_rank > rank(9) && !elems_done {
            new_elems(&mut module, None)?;
            elems_done = true;
        }
        match &payload {
            Payload::TypeSection(r) => {
                let mut types = super::section::copy_types(r)?;
                types
                    .ty()
                    .function([ValType::I32, ValType::I32], [ValType::I32]);
                for (_, ty) in tags {
                    let (params, results) = super::section::func_type(ty);
                    types.ty().function(params, results);
                }
                module.section(&types);
            }
            Payload::ImportSection(r) if n_tag_imports > 0 => {
                // Its tags become definitions (see `new_tags`).
                let mut imports = ImportSection::new();
                for imp in r.clone().into_imports() {
                    let imp = imp?;
                    if !matches!(imp.ty, wasmparser::TypeRef::Tag(_)) {
                        imports.import(imp.module, imp.name, re.entity_type(imp.ty)?);
                    }
                }
                module.section(&imports);
            }
            Payload::TagSection(r) => {
                new_tags(&mut module, Some(r.clone()))?;
                tags_done = true;
            }
            Payload::FunctionSection(r) => {
                let mut funcs = FunctionSection::new();
                for t in r.clone() {
                    funcs.function(t?);
                }
                funcs.function(dispatch_type);
                module.section(&funcs);
            }
            Payload::TableSection(r) => {
                let mut tables = TableSection::new();
                for (i, t) in r.clone().into_iter().enumerate() {
                    let t = t?;
                    let mut ty: TableType = re.table_type(t.ty)?;
                    if i == 0 {
                        // The loader grows the table; wasm-ld without `--growable-table` caps it.
                        ty.maximum = None;
                        if let Some((_, end)) = new_segment {
                            ty.minimum = ty.minimum.max(end);
                        }
                    }
                    match t.init {
                        wasmparser::TableInit::RefNull => tables.table(ty),
                        wasmparser::TableInit::Expr(e) => {
                            tables.table_with_init(ty, &re.const_expr(e)?)
                        }
                    };
                }
                module.section(&tables);
            }
            Payload::GlobalSection(r) => {
                new_globals(&mut module, Some(r.clone()))?;
                globals_done = true;
            }
            Payload::ExportSection(r) => {
                new_exports(&mut module, Some(r.clone()))?;
                exports_done = true;
            }
            Payload::ElementSection(r) if !elems_done => {
                new_elems(&mut module, Some(r.clone()))?;
                elems_done = true;
            }
            Payload::CodeSectionStart { .. } => code = Some(CodeSection::new()),
            other => super::section::copy_raw(&mut module, bytes, other)?,
        }
    }
    let out = module.finish();
    // The finished component is validated in every build; validating each module as well
    // names the culprit, at a cost that matters for large compositions: debug builds only.
    if cfg!(debug_assertions) {
        wasmparser::Validator::new_with_features(crate::parse::features())
            .validate_all(&out)
            .map_err(|e| anyhow!("the patched module does not validate: {e}"))?;
    }
    Ok(out)
}
