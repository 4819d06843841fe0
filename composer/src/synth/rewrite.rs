//! The one module rewriter: copies a core module, changing only what a pass asks for.
//!
//! The passes that edit an input module (the PLT pass and the patch of main, the library
//! rewrite) describe their change as data and hooks, and [`rewrite`] does the copying on
//! wasm-encoder's reencoder:
//! - [`Maps`]: where the input's functions, globals and tags land (removing an import, or
//!   turning it into a definition, renumbers the rest);
//! - an [`Edit`]: hooks for the imports, exports, tables, globals and segments the pass changes
//!   (removed, renamed, retyped, made passive), everything else kept as it is;
//! - [`Additions`]: what is appended to each section (a section the input lacks is inserted in
//!   its place in the section order).
//!
//! Every section the pass does not change is kept: tags, the start function, custom sections
//! (`producers`, `target_features`, the name section renumbered through the maps) and the
//! DWARF `.debug_*` sections. DWARF addresses code by its offset in the code section, so the
//! code section is written to keep every input body at its offset: bodies are copied byte for
//! byte, and when indices move, the function and global indices in them are rewritten in place
//! at the width the input gave them (wasm-ld pads relocated indices to 5 bytes, so any index
//! fits); the function count keeps its width too. Only when that is impossible (an index that
//! outgrows its encoding, a tag renumbered), or when the pass asks for the shortest encoding
//! ([`Edit::compact_code`]), are the bodies re-encoded; the sections that address code by
//! offset, which would then point at the wrong code, are dropped: DWARF's `.debug_*` when the
//! bodies moved (LLVM writes them after the code section, so that is known when they come),
//! the code metadata `metadata.code.*` (branch hints: before the code section, by function
//! index and offset in the body) whenever a body may change.
//!
//! Merging several libraries into one module (`merge`) is not a rewrite of one module: it
//! renumbers every index space and re-encodes the bodies through wasm-encoder's reencoder too.

use anyhow::{anyhow, Result};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    ConstExpr, DataCountSection, DataSection, FunctionSection, GlobalSection, ImportSection,
    Module, RawSection, SectionId, StartSection, TableSection, TagSection, TypeSection,
};
use wasmparser::Payload;

mod bodies;
mod code;
mod edit;
#[cfg(test)]
mod tests;

pub use edit::{
    func_type, ActiveFuncs, Additions, Edit, EmptiedBody, ImportAt, IndexMap, Maps, SegmentAs,
};

pub use bodies::body_runs;

/// The output index [`Maps::funcs`] gives a defined function the rewrite removes (the `--gc`
/// pass, `crate::gc`): its entry in the function section, its body, its exports and its names
/// go; any other use of it (a call, a segment, the start section) is an error.
pub const REMOVED: u32 = u32::MAX;

/// Copies module `bytes` with the changes `maps`, `edit` and `add` describe (see the module
/// docs).
pub fn rewrite(bytes: &[u8], maps: &Maps, add: Additions, edit: &mut impl Edit) -> Result<Vec<u8>> {
    let mut rw = Rewriter {
        maps,
        add,
        edit,
        done: Vec::new(),
        code_moved: false,
        imported: [0; 5],
    };
    rw.run(bytes).map_err(|e| match e {
        reencode::Error::UserError(e) => anyhow!("{e}"),
        other => anyhow!("{other}"),
    })
}

/// The rank of a non-custom section in the binary format's order.
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

/// The sections [`Additions`] can add to, in order.
const ADDABLE: [SectionId; 11] = [
    SectionId::Type,
    SectionId::Import,
    SectionId::Function,
    SectionId::Table,
    SectionId::Tag,
    SectionId::Global,
    SectionId::Export,
    SectionId::Element,
    SectionId::DataCount,
    SectionId::Code,
    SectionId::Data,
];

type Res<T> = Result<T, reencode::Error<String>>;

fn user(e: anyhow::Error) -> reencode::Error<String> {
    reencode::Error::UserError(format!("{e:#}"))
}

struct Rewriter<'a, E> {
    maps: &'a Maps,
    add: Additions,
    edit: &'a mut E,
    /// The sections written so far (non-custom).
    done: Vec<SectionId>,
    /// Whether the input's bodies moved in the code section (the `.debug_*` sections go).
    code_moved: bool,
    /// The input's imports of each kind: functions, tables, memories, globals, tags.
    imported: [u32; 5],
}

impl<E> Reencode for Rewriter<'_, E> {
    type Error = String;

    fn function_index(&mut self, f: u32) -> Res<u32> {
        self.maps.funcs.get(f, "function")
    }
    fn global_index(&mut self, g: u32) -> Res<u32> {
        self.maps.globals.get(g, "global")
    }
    fn tag_index(&mut self, t: u32) -> Res<u32> {
        self.maps.tags.get(t, "tag")
    }
}

impl<E: Edit> Rewriter<'_, E> {
    fn run(&mut self, bytes: &[u8]) -> Res<Vec<u8>> {
        let mut module = Module::new();
        // The code section is copied whole (see `code`): not body by body.
        for payload in crate::parse::sections(bytes) {
            let payload = payload?;
            if let Some((id, _)) = payload.as_section() {
                if id != SectionId::Custom as u8 {
                    self.before(&mut module, id)?;
                }
            }
            match payload {
                Payload::TypeSection(r) => self.types(&mut module, Some(r))?,
                Payload::ImportSection(r) => self.imports(&mut module, Some(r))?,
                Payload::FunctionSection(r) => self.functions(&mut module, Some(r))?,
                Payload::TableSection(r) => self.tables(&mut module, Some(r))?,
                Payload::TagSection(r) => self.tags(&mut module, Some(r))?,
                Payload::GlobalSection(r) => self.globals(&mut module, Some(r))?,
                Payload::ExportSection(r) => self.exports(&mut module, Some(r))?,
                Payload::ElementSection(r) => self.elements(&mut module, Some(r))?,
                Payload::DataCountSection { count, .. } => {
                    let count = count.saturating_add(self.add.data.len() as u32);
                    module.section(&DataCountSection { count });
                }
                Payload::MemorySection(r) if self.add.memory_min.is_some() => {
                    let mut memories = wasm_encoder::MemorySection::new();
                    for (i, m) in r.into_iter().enumerate() {
                        let mut m = self.memory_type(m?)?;
                        if let (0, Some(min)) = (i, self.add.memory_min) {
                            m.minimum = m.minimum.max(min);
                        }
                        memories.memory(m);
                    }
                    module.section(&memories);
                }
                Payload::StartSection { func, .. } => {
                    if self.edit.keep_start() {
                        let function_index = self.function_index(func)?;
                        module.section(&StartSection { function_index });
                    }
                }
                Payload::CodeSectionStart { range, .. } => {
                    let payload = slice(bytes, range)?;
                    self.code(&mut module, Some(payload))?;
                }
                Payload::CodeSectionEntry(_) | Payload::Version { .. } => {}
                Payload::DataSection(r) => {
                    let mut data = DataSection::new();
                    for (i, d) in r.into_iter().enumerate() {
                        let d = d?;
                        let len = d.data.len() as u32;
                        match self.edit.data(i as u32, &d.kind, len).map_err(user)? {
                            SegmentAs::Keep => self.parse_data(&mut data, d)?,
                            SegmentAs::Passive => {
                                data.passive(d.data.iter().copied());
                            }
                            SegmentAs::Emptied => {
                                data.passive([]);
                            }
                        }
                    }
                    self.added_data(&mut data);
                    module.section(&data);
                }
                Payload::CustomSection(c) => self.custom(&mut module, c)?,
                Payload::End(_) => self.before(&mut module, u8::MAX)?,
                other => {
                    if let Some((id, range)) = other.as_section() {
                        let data = slice(bytes, range)?;
                        module.section(&RawSection { id, data });
                    }
                }
            }
        }
        Ok(module.finish())
    }

    /// Appends the added active data segments to `data`.
    fn added_data(&mut self, data: &mut DataSection) {
        for (offset, bytes) in std::mem::take(&mut self.add.data) {
            data.active(0, &ConstExpr::i32_const(offset as i32), bytes);
        }
    }

    /// Inserts the sections with additions that the input lacks and that come before a
    /// section of id `next` (all of them at the end).
    fn before(&mut self, module: &mut Module, next: u8) -> Res<()> {
        let next_rank = section_id(next).map_or(u8::MAX, rank);
        for id in ADDABLE {
            if rank(id) >= next_rank || self.done.contains(&id) {
                continue;
            }
            let a = &self.add;
            let needed = match id {
                SectionId::Type => !a.types.is_empty(),
                SectionId::Import => !a.imports.is_empty(),
                SectionId::Function | SectionId::Code => !a.funcs.is_empty(),
                SectionId::Table => !a.tables.is_empty(),
                SectionId::Tag => !a.tags.is_empty() || !a.tags_first.is_empty(),
                SectionId::Global => !a.globals.is_empty(),
                SectionId::Export => !a.exports.is_empty(),
                SectionId::Element => !a.elements.is_empty(),
                SectionId::DataCount => a.data_count.is_some(),
                SectionId::Data => !a.data.is_empty(),
                _ => false,
            };
            if !needed {
                continue;
            }
            match id {
                SectionId::Type => self.types(module, None)?,
                SectionId::Import => self.imports(module, None)?,
                SectionId::Function => self.functions(module, None)?,
                SectionId::Table => self.tables(module, None)?,
                SectionId::Tag => self.tags(module, None)?,
                SectionId::Global => self.globals(module, None)?,
                SectionId::Export => self.exports(module, None)?,
                SectionId::Element => self.elements(module, None)?,
                SectionId::DataCount => {
                    if let Some(count) = self.add.data_count {
                        module.section(&DataCountSection { count });
                    }
                }
                SectionId::Data => {
                    let mut data = DataSection::new();
                    self.added_data(&mut data);
                    module.section(&data);
                }
                _ => self.code(module, None)?,
            }
            self.done.push(id);
        }
        if let Some(id) = section_id(next) {
            self.done.push(id);
        }
        Ok(())
    }

    fn types(&mut self, module: &mut Module, r: Option<wasmparser::TypeSectionReader>) -> Res<()> {
        let mut types = TypeSection::new();
        if let Some(r) = r {
            self.parse_type_section(&mut types, r)?;
        }
        for (params, results) in std::mem::take(&mut self.add.types) {
            types.ty().function(params, results);
        }
        module.section(&types);
        Ok(())
    }

    fn imports(
        &mut self,
        module: &mut Module,
        r: Option<wasmparser::ImportSectionReader>,
    ) -> Res<()> {
        let mut imports = ImportSection::new();
        let mut counts = [0u32; 5]; // func, table, memory, global, tag
        for (index, imp) in r.into_iter().flat_map(|r| r.into_imports()).enumerate() {
            let imp = imp?;
            let kind = match imp.ty {
                wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_) => 0,
                wasmparser::TypeRef::Table(_) => 1,
                wasmparser::TypeRef::Memory(_) => 2,
                wasmparser::TypeRef::Global(_) => 3,
                wasmparser::TypeRef::Tag(_) => 4,
            };
            let at = ImportAt {
                index: index as u32,
                kind_index: counts[kind],
            };
            counts[kind] += 1;
            let ty = self.entity_type(imp.ty)?;
            self.edit.import(at, &imp, ty, &mut imports).map_err(user)?;
        }
        self.imported = counts;
        for (module, name, ty) in std::mem::take(&mut self.add.imports) {
            imports.import(&module, &name, ty);
        }
        module.section(&imports);
        Ok(())
    }

    fn functions(
        &mut self,
        module: &mut Module,
        r: Option<wasmparser::FunctionSectionReader>,
    ) -> Res<()> {
        let mut funcs = FunctionSection::new();
        for (k, ty) in r.into_iter().flatten().enumerate() {
            let ty = ty?;
            if self.maps.defines(self.imported[0] + k as u32) {
                funcs.function(self.type_index(ty)?);
            }
        }
        for (ty, _) in &self.add.funcs {
            funcs.function(*ty);
        }
        module.section(&funcs);
        Ok(())
    }

    fn tables(
        &mut self,
        module: &mut Module,
        r: Option<wasmparser::TableSectionReader>,
    ) -> Res<()> {
        let mut tables = TableSection::new();
        if let Some(r) = r {
            for t in r {
                let t = t?;
                let mut ty = self.table_type(t.ty)?;
                // Tables are counted among all tables: the imported ones come first.
                let index = self.imported[1] + tables.len();
                self.edit.table(index, &mut ty).map_err(user)?;
                match t.init {
                    wasmparser::TableInit::RefNull => tables.table(ty),
                    wasmparser::TableInit::Expr(e) => {
                        let e = self.const_expr(e)?;
                        tables.table_with_init(ty, &e)
                    }
                };
            }
        }
        for ty in std::mem::take(&mut self.add.tables) {
            tables.table(ty);
        }
        module.section(&tables);
        Ok(())
    }

    fn tags(&mut self, module: &mut Module, r: Option<wasmparser::TagSectionReader>) -> Res<()> {
        let mut tags = TagSection::new();
        for t in std::mem::take(&mut self.add.tags_first) {
            tags.tag(t);
        }
        if let Some(r) = r {
            self.parse_tag_section(&mut tags, r)?;
        }
        for t in std::mem::take(&mut self.add.tags) {
            tags.tag(t);
        }
        module.section(&tags);
        Ok(())
    }

    fn globals(
        &mut self,
        module: &mut Module,
        r: Option<wasmparser::GlobalSectionReader>,
    ) -> Res<()> {
        let mut globals = GlobalSection::new();
        if let Some(r) = r {
            let first = self.imported[3];
            for (k, g) in r.into_iter().enumerate() {
                let g = g?;
                let mut ty = self.global_type(g.ty)?;
                let init = match self.edit.global(first + k as u32, &mut ty).map_err(user)? {
                    Some(init) => init,
                    None => self.const_expr(g.init_expr)?,
                };
                globals.global(ty, &init);
            }
        }
        for (ty, init) in std::mem::take(&mut self.add.globals) {
            globals.global(ty, &init);
        }
        module.section(&globals);
        Ok(())
    }
}

fn section_id(id: u8) -> Option<SectionId> {
    [
        SectionId::Type,
        SectionId::Import,
        SectionId::Function,
        SectionId::Table,
        SectionId::Memory,
        SectionId::Global,
        SectionId::Export,
        SectionId::Start,
        SectionId::Element,
        SectionId::Code,
        SectionId::Data,
        SectionId::DataCount,
        SectionId::Tag,
    ]
    .into_iter()
    .find(|s| *s as u8 == id)
}

fn slice(bytes: &[u8], range: std::ops::Range<u64>) -> Res<&[u8]> {
    usize::try_from(range.end)
        .ok()
        .and_then(|end| bytes.get(range.start as usize..end))
        .ok_or_else(|| reencode::Error::UserError("a section extends past the end".into()))
}
