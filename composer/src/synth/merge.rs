//! Merge several rewritten libraries into one core module.
//!
//! A component holds a bounded number of core modules and instances (see
//! `layout::MAX_LIB_MODULES`), so large compositions put consecutive libraries into one module.
//! The libraries keep their own functions, globals, segments and (already prefixed) exports; the
//! merged module shares one import of main's memory and table, imports every other name once,
//! and calls between libraries of the group become direct calls.
//!
//! This is not a copy of one module with changes (`rewrite`) but a new module made of several:
//! every index space is renumbered, so the bodies are re-encoded through each part's index maps
//! (wasm-encoder's reencoder). The parts' function and global names are kept, renumbered; their
//! DWARF is not (merging DWARF is relocation work, a linker's: a merged library has none).

use anyhow::{anyhow, bail, Context, Result};
use hashbrown::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, DataCountSection, DataSection, ElementSection, EntityType, ExportKind,
    ExportSection, FunctionSection, GlobalSection, ImportSection, Module, TableSection, TagSection,
    TypeSection,
};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

mod remap;

use remap::{copy_body, err, Remap};

/// A function import of a part: resolved inside the group, or imported by the merged module.
enum FuncImport {
    Internal(String),
    External(u32),
}

/// One module per group of `layout`: the rewritten library itself, or the group's libraries
/// merged (also a single library that binds an import to itself: a weak definition it exports).
/// `slot_tables[l]` is the slot table of library `l`'s rewritten module (see `library`), if any.
pub fn group_modules(
    libs: &[crate::parse::Library<'_>],
    mut rewritten: Vec<Vec<u8>>,
    slot_tables: &[Option<u32>],
    import_names: &[Vec<super::names::ImportName>],
    layout: &crate::layout::Layout,
) -> Result<Vec<Vec<u8>>> {
    let mut modules = Vec::with_capacity(layout.groups.len());
    for (g, members) in layout.groups.iter().enumerate() {
        let group = crate::layout::GroupId(g as u32);
        let own = group.module_name();
        let self_bound = members.iter().any(|l| {
            import_names[l.index()]
                .iter()
                .any(|n| n.from == super::names::Supplier::Group(group))
        });
        match members.as_slice() {
            [one] if !self_bound => modules.push(std::mem::take(&mut rewritten[one.index()])),
            _ => {
                let parts: Vec<&[u8]> = members
                    .iter()
                    .map(|l| rewritten[l.index()].as_slice())
                    .collect();
                let slots: Vec<Option<u32>> = members
                    .iter()
                    .map(|l| slot_tables.get(l.index()).copied().flatten())
                    .collect();
                let merged = merge(&parts, &slots, &own).with_context(|| {
                    let names: Vec<&str> = members
                        .iter()
                        .map(|l| libs[l.index()].name.as_str())
                        .collect();
                    format!("cannot merge libraries {}", names.join(", "))
                })?;
                modules.push(merged);
            }
        }
    }
    Ok(modules)
}

/// Merges `parts` (rewritten libraries whose imports from `own_module` are exports of other
/// parts) into one module. `slot_tables[p]` is part p's slot table: all of them become one
/// table of the merged module (each part's slots at the offset its rewrite was given), so that
/// a group costs one table, not one per library (wasmtime allows 10,000 tables in a store).
pub fn merge(parts: &[&[u8]], slot_tables: &[Option<u32>], own_module: &str) -> Result<Vec<u8>> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut funcs = FunctionSection::new();
    let mut tables = TableSection::new();
    let mut globals = GlobalSection::new();
    let mut tags = TagSection::new();
    let mut exports = ExportSection::new();
    let mut elems = ElementSection::new();
    let mut code = CodeSection::new();
    let mut data = DataSection::new();

    let mut n_types = 0u32;
    let mut import_index: HashMap<(String, String), u32> = HashMap::new();
    let (mut n_imported_funcs, mut n_imported_globals, mut n_imported_tags) = (0u32, 0u32, 0u32);
    let (mut memory_imported, mut table_imported) = (false, false);
    let mut remaps: Vec<Remap> = Vec::with_capacity(parts.len());
    let mut func_imports: Vec<Vec<FuncImport>> = Vec::with_capacity(parts.len());
    let mut defined_funcs: Vec<Vec<u32>> = Vec::with_capacity(parts.len()); // type per defined fn
    let mut func_exports: Vec<HashMap<String, u32>> = Vec::with_capacity(parts.len());

    // Pass 1: types and imports of every part; what each part defines.
    for (p, bytes) in parts.iter().enumerate() {
        let mut remap = Remap::default();
        let mut fimports = Vec::new();
        let mut defined = Vec::new();
        let mut fexports = HashMap::new();
        let mut types_here: Vec<wasmparser::FuncType> = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.with_context(|| format!("part {p}"))? {
                Payload::TypeSection(r) => {
                    for ty in r.into_iter_err_on_gc_types() {
                        let ty = ty?;
                        let (params, results) = crate::synth::rewrite::func_type(&ty)?;
                        types.ty().function(params, results);
                        remap.types.push(n_types);
                        n_types += 1;
                        types_here.push(ty);
                    }
                }
                Payload::ImportSection(r) => {
                    for imp in r.into_imports() {
                        let imp = imp?;
                        match imp.ty {
                            TypeRef::Memory(m) => {
                                remap.memories += 1;
                                if !memory_imported {
                                    let ty = RoundtripReencoder.memory_type(m)?;
                                    imports.import(imp.module, imp.name, EntityType::Memory(ty));
                                    memory_imported = true;
                                }
                            }
                            TypeRef::Table(t) => {
                                remap.tables.push(0);
                                if !table_imported {
                                    let ty = RoundtripReencoder.table_type(t)?;
                                    imports.import(imp.module, imp.name, EntityType::Table(ty));
                                    table_imported = true;
                                }
                            }
                            TypeRef::Global(g) => {
                                let key = (imp.module.to_string(), imp.name.to_string());
                                let idx = match import_index.get(&key) {
                                    Some(i) => *i,
                                    None => {
                                        let ty = RoundtripReencoder.global_type(g)?;
                                        imports.import(
                                            imp.module,
                                            imp.name,
                                            EntityType::Global(ty),
                                        );
                                        import_index.insert(key, n_imported_globals);
                                        n_imported_globals += 1;
                                        n_imported_globals - 1
                                    }
                                };
                                remap.globals.push(idx);
                            }
                            TypeRef::Tag(t) => {
                                let key = (imp.module.to_string(), imp.name.to_string());
                                let idx = match import_index.get(&key) {
                                    Some(i) => *i,
                                    None => {
                                        let ty = remap.tag_type(t).map_err(err)?;
                                        imports.import(imp.module, imp.name, EntityType::Tag(ty));
                                        import_index.insert(key, n_imported_tags);
                                        n_imported_tags += 1;
                                        n_imported_tags - 1
                                    }
                                };
                                remap.tags.push(idx);
                            }
                            TypeRef::Func(_) if imp.module == own_module => {
                                fimports.push(FuncImport::Internal(imp.name.to_string()));
                            }
                            TypeRef::Func(t) => {
                                let key = (imp.module.to_string(), imp.name.to_string());
                                let idx = match import_index.get(&key) {
                                    Some(i) => *i,
                                    None => {
                                        let ty = *remap
                                            .types
                                            .get(t as usize)
                                            .ok_or_else(|| anyhow!("import type out of range"))?;
                                        imports.import(
                                            imp.module,
                                            imp.name,
                                            EntityType::Function(ty),
                                        );
                                        import_index.insert(key, n_imported_funcs);
                                        n_imported_funcs += 1;
                                        n_imported_funcs - 1
                                    }
                                };
                                fimports.push(FuncImport::External(idx));
                            }
                            _ => bail!("unsupported import `{}.{}`", imp.module, imp.name),
                        }
                    }
                }
                Payload::FunctionSection(r) => {
                    for t in r {
                        defined.push(t?);
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e?;
                        if e.kind == ExternalKind::Func {
                            fexports.insert(e.name.to_string(), e.index);
                        }
                    }
                }
                _ => {}
            }
        }
        remaps.push(remap);
        func_imports.push(fimports);
        defined_funcs.push(defined);
        func_exports.push(fexports);
    }

    // Function index space: merged imports, then each part's defined functions in order.
    let mut func_base = Vec::with_capacity(parts.len());
    let mut next = n_imported_funcs;
    for defined in &defined_funcs {
        func_base.push(next);
        next += defined.len() as u32;
    }
    // Which part exports a `<lib>:<name>` export, for group-internal calls.
    let mut export_owner: HashMap<&str, usize> = HashMap::new();
    for (p, ex) in func_exports.iter().enumerate() {
        for name in ex.keys() {
            export_owner.insert(name.as_str(), p);
        }
    }
    for p in 0..parts.len() {
        let mut map = Vec::with_capacity(func_imports[p].len() + defined_funcs[p].len());
        for fi in &func_imports[p] {
            map.push(match fi {
                FuncImport::External(i) => *i,
                FuncImport::Internal(export) => {
                    let owner = *export_owner
                        .get(export.as_str())
                        .ok_or_else(|| anyhow!("no library of the group exports `{export}`"))?;
                    let local = func_exports[owner][export.as_str()];
                    let n_owner_imports = func_imports[owner].len() as u32;
                    if local < n_owner_imports {
                        bail!("`{export}` is a re-exported import");
                    }
                    func_base[owner] + local - n_owner_imports
                }
            });
        }
        for i in 0..defined_funcs[p].len() as u32 {
            map.push(func_base[p] + i);
        }
        remaps[p].funcs = map;
    }

    // The shared slot table: as large as the largest part's (each part's covers the slots of
    // the parts before it too).
    let mut shared_size: Option<u64> = None;
    for (p, bytes) in parts.iter().enumerate() {
        let Some(slot) = slot_tables.get(p).copied().flatten() else {
            continue;
        };
        let mut index = 0u32;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::ImportSection(r) => {
                    for imp in r.into_imports() {
                        if matches!(imp?.ty, TypeRef::Table(_)) {
                            index += 1;
                        }
                    }
                }
                Payload::TableSection(r) => {
                    for t in r {
                        let t = t?;
                        if index == slot {
                            let size = shared_size.get_or_insert(0);
                            *size = (*size).max(t.ty.initial);
                        }
                        index += 1;
                    }
                }
                _ => {}
            }
        }
    }
    let mut shared_table: Option<u32> = None;
    let mut names = Names::default();

    // Pass 2: definitions, re-encoded through each part's index maps.
    let (mut n_globals_defined, mut n_data, mut n_elems) = (0u32, 0u32, 0u32);
    let mut n_tags_defined = 0u32;
    let mut n_tables = u32::from(table_imported);
    for (p, bytes) in parts.iter().enumerate() {
        let slot = slot_tables.get(p).copied().flatten();
        let remap = &mut remaps[p];
        remap.data_base = n_data;
        remap.elem_base = n_elems;
        let mut only_functions = None;
        for t in &defined_funcs[p] {
            funcs.function(remap.type_index(*t).map_err(err)?);
        }
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::TableSection(r) => {
                    for t in r {
                        let t = t?;
                        if slot == Some(remap.tables.len() as u32) {
                            if let Some(i) = shared_table {
                                remap.tables.push(i);
                                continue;
                            }
                            let size = shared_size.unwrap_or(t.ty.initial);
                            tables.table(wasm_encoder::TableType {
                                element_type: wasm_encoder::RefType::FUNCREF,
                                minimum: size,
                                maximum: Some(size),
                                table64: false,
                                shared: false,
                            });
                            shared_table = Some(n_tables);
                        } else {
                            remap.parse_table(&mut tables, t).map_err(err)?;
                        }
                        remap.tables.push(n_tables);
                        n_tables += 1;
                    }
                }
                Payload::GlobalSection(r) => {
                    for g in r {
                        let g = g?;
                        let ty = remap.global_type(g.ty).map_err(err)?;
                        let init = remap.const_expr(g.init_expr).map_err(err)?;
                        globals.global(ty, &init);
                        remap.globals.push(n_imported_globals + n_globals_defined);
                        n_globals_defined += 1;
                    }
                }
                Payload::TagSection(r) => {
                    for t in r {
                        tags.tag(remap.tag_type(t?).map_err(err)?);
                        remap.tags.push(n_imported_tags + n_tags_defined);
                        n_tags_defined += 1;
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e?;
                        let (kind, index) = match e.kind {
                            ExternalKind::Tag => {
                                (ExportKind::Tag, remap.tag_index(e.index).map_err(err)?)
                            }
                            ExternalKind::Func | ExternalKind::FuncExact => (
                                ExportKind::Func,
                                remap.function_index(e.index).map_err(err)?,
                            ),
                            ExternalKind::Global => (
                                ExportKind::Global,
                                remap.global_index(e.index).map_err(err)?,
                            ),
                            _ => bail!(
                                "part {p} exports `{}`, not a function, global or tag",
                                e.name
                            ),
                        };
                        exports.export(e.name, kind, index);
                    }
                }
                Payload::ElementSection(r) => {
                    for e in r {
                        remap.parse_element(&mut elems, e?).map_err(err)?;
                        n_elems += 1;
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    // Decided at the first body: the part's index spaces are complete by then
                    // (its data and element segments' bases were set at its start).
                    if *only_functions.get_or_insert_with(|| remap.only_functions_move()) {
                        copy_body(remap, &body, &mut code)?;
                    } else {
                        remap.parse_function_body(&mut code, body).map_err(err)?;
                    }
                }
                Payload::DataSection(r) => {
                    for d in r {
                        remap.parse_data(&mut data, d?).map_err(err)?;
                        n_data += 1;
                    }
                }
                Payload::CustomSection(c) => {
                    if let wasmparser::KnownCustom::Name(reader) = c.as_known() {
                        names.add(remap, reader)?;
                    }
                }
                _ => {}
            }
        }
    }

    let mut module = Module::new();
    module.section(&types);
    module.section(&imports);
    module.section(&funcs);
    module.section(&tables);
    if n_tags_defined > 0 {
        module.section(&tags);
    }
    module.section(&globals);
    module.section(&exports);
    module.section(&elems);
    module.section(&DataCountSection { count: n_data });
    module.section(&code);
    module.section(&data);
    names.encode(&mut module);
    let bytes = module.finish();
    // The finished component is validated in every build; validating each module as well
    // names the culprit, at a cost that matters for large compositions: debug builds only.
    if cfg!(debug_assertions) {
        wasmparser::Validator::new_with_features(crate::parse::features())
            .validate_all(&bytes)
            .map_err(|e| {
                anyhow!("internal error: a merged library module does not validate: {e}")
            })?;
    }
    Ok(bytes)
}

/// The function and global names of the parts' name sections, in merged numbering (a function
/// named by several parts, a shared import or a call resolved inside the group, keeps the first
/// name).
#[derive(Default)]
struct Names {
    funcs: Vec<(u32, String)>,
    globals: Vec<(u32, String)>,
}

impl Names {
    fn add(&mut self, remap: &mut Remap, reader: wasmparser::NameSectionReader<'_>) -> Result<()> {
        for sub in reader {
            match sub? {
                wasmparser::Name::Function(map) => {
                    for n in map {
                        let n = n?;
                        let i = remap.function_index(n.index).map_err(err)?;
                        self.funcs.push((i, n.name.to_string()));
                    }
                }
                wasmparser::Name::Global(map) => {
                    for n in map {
                        let n = n?;
                        let i = remap.global_index(n.index).map_err(err)?;
                        self.globals.push((i, n.name.to_string()));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn encode(mut self, module: &mut Module) {
        if self.funcs.is_empty() && self.globals.is_empty() {
            return;
        }
        let mut section = wasm_encoder::NameSection::new();
        for (list, funcs) in [(&mut self.funcs, true), (&mut self.globals, false)] {
            // Stable: the first part's name of an index comes first, and stays.
            list.sort_by_key(|(i, _)| *i);
            list.dedup_by_key(|(i, _)| *i);
            let mut map = wasm_encoder::NameMap::new();
            for (i, name) in list.iter() {
                map.append(*i, name);
            }
            if funcs {
                section.functions(&map);
            } else {
                section.globals(&map);
            }
        }
        module.section(&section);
    }
}
