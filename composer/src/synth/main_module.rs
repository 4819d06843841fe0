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
//! order, by the first definitions: tag indices stay); the module is copied by the rewriter
//! (`rewrite`), which keeps every other section, debug info included.

use super::rewrite::{ActiveFuncs, Additions, Edit, ImportAt, Maps};
use crate::parse::MainModule;
use crate::resolve::HostImport;
use anyhow::{anyhow, bail, Context, Result};
use wasm_encoder::{
    ConstExpr, EntityType, ExportKind, Function, GlobalType, ImportSection, TableType, TagKind,
    TagType, ValType,
};
use wasmparser::{ExternalKind, FuncType, Parser, Payload};

/// Exported function main gains: `(func (param op lib) (result i32))`, calls the loader.
pub const DISPATCH_EXPORT: &str = "__wasm_dl_dispatch";
/// Exported mutable global main gains: the loader's dispatch slot (-1 until the loader starts).
pub const SLOT_EXPORT: &str = "__wasm_dl_loader_slot";
/// Name of main's exported table.
pub const TABLE_EXPORT: &str = "__indirect_function_table";

/// Name of main's export of tag `name` (one it defines, or one wasm-dl defines there).
pub fn tag_export(name: &str) -> String {
    format!("__wasm_dl_tag:{name}")
}

/// Name of main's export that re-exports host import `k` of `Resolution::reexports` (one of its
/// imports) to libraries. Short, since every library importing it repeats it (CPython: 136,
/// 16 KB as `__wasm_dl_import:{module}:{field}`); no C symbol contains a `:`, so it cannot be
/// one of main's own exports.
pub fn reexport_name(k: usize) -> String {
    format!("i:{k}")
}

/// [`reexport_name`] of host import `module.field`, found in `reexports`
/// (`Resolution::reexports`).
pub fn reexport_name_of(reexports: &[HostImport], module: &str, field: &str) -> Result<String> {
    reexports
        .iter()
        .position(|h| h.module == module && h.field == field)
        .map(reexport_name)
        .ok_or_else(|| anyhow!("internal error: `{module}.{field}` is not re-exported by main"))
}

/// What prelinking (`layout::Prelink`) adds to main, which defines the memory.
#[derive(Debug, Default)]
pub struct Prelinked {
    /// The least initial size of its memory, in pages.
    pub memory_pages: Option<u64>,
    /// The least initial size of its table (the prelinked libraries' slots).
    pub table_min: Option<u64>,
}

/// Main's data section in the composition (id, size and contents): its own segments, then the
/// prelinked libraries' data, which `encode::Hollow::fill` puts in place of the section
/// wit-component saw.
#[derive(Debug)]
pub struct MainData {
    /// The section: id, size and contents.
    pub section: Vec<u8>,
    /// How many segments it holds (main's data count, where it declares one).
    pub count: u32,
}

/// The data section of `module` (main as [`patch`] made it) with the active segments `added`
/// (address, bytes) after its own.
pub fn data<'a>(
    module: &[u8],
    added: impl IntoIterator<Item = &'a (u32, Vec<u8>)>,
) -> Result<MainData> {
    let mut section = wasm_encoder::DataSection::new();
    let sections = crate::parse::section_headers(module)
        .context("internal error: the patched main module does not read")?;
    if let Some(own) = sections
        .into_iter()
        .find(|s| s.id == wasm_encoder::SectionId::Data as u8)
    {
        let at = own.contents.start;
        let reader = wasmparser::DataSectionReader::new(wasmparser::BinaryReader::new(
            &module[own.contents],
            0,
        ))?;
        for d in reader {
            let range = d?.range;
            let raw = module
                .get(at + usize::try_from(range.start)?..at + usize::try_from(range.end)?)
                .context("internal error: a data segment out of its module")?;
            section.raw(raw);
        }
    }
    for (address, bytes) in added {
        // Addresses are below 4 GiB (`layout::prelink`): the i32 is their bit pattern.
        section.active(
            0,
            &ConstExpr::i32_const(*address as i32),
            bytes.iter().copied(),
        );
    }
    let mut bytes = vec![wasm_encoder::SectionId::Data as u8];
    wasm_encoder::Encode::encode(&section, &mut bytes);
    Ok(MainData {
        count: section.len(),
        section: bytes,
    })
}

/// The initial and maximum size, in pages, of the memory `bytes` defines (its first), if any.
pub fn memory_limits(bytes: &[u8]) -> Result<Option<(u64, Option<u64>)>> {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::MemorySection(r) => {
                if let Some(m) = r.into_iter().next() {
                    let m = m?;
                    if m.memory64 || m.shared || m.page_size_log2.is_some() {
                        return Ok(None);
                    }
                    return Ok(Some((m.initial, m.maximum)));
                }
                return Ok(None);
            }
            Payload::CodeSectionStart { .. } => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// Patches main (see the module docs); `bytes` is main as the earlier passes left it,
/// `reexport` the host functions libraries call, which main imports by then, `new_slots`
/// the exported functions (by export name) that get a table slot of their own, and
/// `prelinked` the memory and data of the prelinked libraries.
pub fn patch(
    main: &MainModule<'_>,
    bytes: &[u8],
    reexport: &[HostImport],
    new_slots: &[(String, u32)],
    tags: &[(String, FuncType)],
    prelinked: Prelinked,
) -> Result<Vec<u8>> {
    patch_inner(main, bytes, reexport, new_slots, tags, prelinked)
        .with_context(|| format!("{}: cannot patch the main module", main.name))
}

fn patch_inner(
    main: &MainModule<'_>,
    bytes: &[u8],
    reexport: &[HostImport],
    new_slots: &[(String, u32)],
    tags: &[(String, FuncType)],
    prelinked: Prelinked,
) -> Result<Vec<u8>> {
    if !main.defines_table {
        bail!("has no function table; link it with `-Wl,--export-table -Wl,--growable-table`");
    }
    let (mut n_types, mut n_funcs, mut n_globals) = (0u32, 0u32, 0u32);
    let mut table_exported = false;
    // (index in `reexport`, function index)
    let mut reexported: Vec<(usize, u32)> = Vec::new();
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
                            if let Some(k) = reexport
                                .iter()
                                .position(|h| h.module == imp.module && h.field == imp.name)
                            {
                                reexported.push((k, n_funcs));
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
    if let Some(h) = (0..reexport.len())
        .find(|k| !reexported.iter().any(|(n, _)| n == k))
        .map(|k| &reexport[k])
    {
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

    let mut add = Additions {
        memory_min: prelinked.memory_pages,
        ..Additions::default()
    };
    add.types
        .push((vec![ValType::I32, ValType::I32], vec![ValType::I32]));
    for (_, ty) in tags {
        add.types.push(super::rewrite::func_type(ty)?);
    }
    let tag = |i: usize| TagType {
        kind: TagKind::Exception,
        func_type_idx: first_tag_type + i as u32,
    };
    add.tags_first = (0..n_tag_imports as usize).map(tag).collect();
    add.tags = (n_tag_imports as usize..tags.len()).map(tag).collect();
    let mut f = Function::new([]);
    f.instructions()
        .local_get(0)
        .local_get(1)
        .global_get(slot_global)
        .call_indirect(0, dispatch_type)
        .end();
    add.funcs.push((dispatch_type, f));
    let slot_type = GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    };
    add.globals.push((slot_type, ConstExpr::i32_const(-1)));
    if !table_exported {
        add.exports
            .push((TABLE_EXPORT.to_string(), ExportKind::Table, 0));
    }
    add.exports
        .push((DISPATCH_EXPORT.to_string(), ExportKind::Func, dispatch_func));
    for (k, f) in reexported {
        add.exports.push((reexport_name(k), ExportKind::Func, f));
    }
    add.exports
        .push((SLOT_EXPORT.to_string(), ExportKind::Global, slot_global));
    for (name, index) in tag_export_list {
        add.exports.push((name, ExportKind::Tag, index));
    }
    if let Some((first, _)) = new_segment {
        add.elements.push(ActiveFuncs {
            table: None,
            offset: first as i32,
            funcs: new_funcs,
        });
    }
    let mut edit = Patch {
        table_min: new_segment.map(|(_, end)| end).max(prelinked.table_min),
    };
    let out = super::rewrite::rewrite(bytes, &Maps::default(), add, &mut edit)?;
    // The finished component is validated in every build; validating each module as well
    // names the culprit, at a cost that matters for large compositions: debug builds only.
    if cfg!(debug_assertions) {
        wasmparser::Validator::new_with_features(crate::parse::features())
            .validate_all(&out)
            .map_err(|e| anyhow!("the patched module does not validate: {e}"))?;
    }
    Ok(out)
}

/// The changes to main's own items: its tag imports go (they become definitions), its table
/// grows without bound.
struct Patch {
    /// The least initial size of table 0 (to hold the new slots).
    table_min: Option<u64>,
}

impl Edit for Patch {
    fn import(
        &mut self,
        _: ImportAt,
        imp: &wasmparser::Import<'_>,
        ty: EntityType,
        out: &mut ImportSection,
    ) -> Result<()> {
        // Its tags become definitions (see `Additions::tags_first`).
        if !matches!(imp.ty, wasmparser::TypeRef::Tag(_)) {
            out.import(imp.module, imp.name, ty);
        }
        Ok(())
    }

    fn table(&mut self, index: u32, ty: &mut TableType) -> Result<()> {
        if index == 0 {
            // The loader grows the table; wasm-ld without `--growable-table` caps it.
            ty.maximum = None;
            if let Some(end) = self.table_min {
                ty.minimum = ty.minimum.max(end);
            }
        }
        Ok(())
    }
}
