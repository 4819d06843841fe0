//! Stage 1 of the seed: rewrite a `wasm-ld -shared` module so that it can be instantiated before
//! anyone knows where it lives, and placed later by an `init` call.
//!
//! - active data and element segments (at `__memory_base` / `__table_base`) become passive;
//! - `env.__memory_base` and `env.__table_base` become mutable imports, set at load time;
//! - a start function (global relocations) is no longer run at instantiation but exported as
//!   [`START_EXPORT`], because the bases are not known yet then;
//! - globals whose initializer reads a base (extended-const, as in wasi-sdk's PIC `libc.so`)
//!   become mutable and are computed by init instead (so the output needs no extended-const);
//! - a new export [`INIT_EXPORT`]`(memory_base, table_base)` copies the segments into place,
//!   and fills the library's *observed* function slots (of its slots, one per exported function
//!   after its own elements, those something in the composition refers to at compose time: see
//!   `loader::observed_slots`) with `table.copy` from a new slot table holding those functions
//!   (one table per core module: the libraries merged into one module share it, each at its
//!   own offset, because wasmtime allows 10,000 tables in a store); a library without a table
//!   import gets one;
//! - a new export [`FILL_EXPORT`]`(table_base, k)` fills the slot of exported function `k`,
//!   for the loader's `Op::Fill`, when `dlsym` returns a function whose slot init left null.
//!
//! Filling a slot costs wasmtime about 1,000 instructions (the funcref is made on first use:
//! a registry look-up and two searches of the module's functions), and a library exports
//! thousands of functions (libpython 1,857, libc 976) of which a program's other modules refer
//! to a few hundred; the rest are reachable only through `dlsym`, which fills its answer's
//! slot first. Only a prelinked library (placed at every start) leaves slots to `dlsym`; in a
//! library placed by `dlopen` every slot counts as observed (see `synth::synthesize`). A function pointer stays the same everywhere: every slot, filled early or
//! late, holds the one function `layout::LibSlot::func` assigns to it.
//!
//! The slots come from a slot table, not from a passive element segment, because wasmtime
//! evaluates every passive element segment when it instantiates a module (one `ref.func` per
//! function, for every bundled library, opened or not), while a defined table with a constant
//! active segment is an image filled lazily, at the `table.copy` of the library's first load.
//!
//! Everything else is kept, by the rewriter (`rewrite`): function bodies byte for byte, custom
//! sections (names, DWARF) as they are, except `dylink.0`.

mod init;
mod relocs;
mod zeros;

use super::rewrite::{ActiveFuncs, Additions, Edit, ImportAt, Maps, SegmentAs};
use crate::parse::Library;
use anyhow::{anyhow, bail, Context, Result};
use init::{base_global, fill_body, init_body, relative_offset, BaseGlobal, SlotTable};
use wasm_encoder::{
    ConstExpr, EntityType, ExportKind, ExportSection, GlobalType, ImportSection, RefType,
    TableType, ValType,
};
use wasmparser::{DataKind, ElementItems, ElementKind, Parser, Payload, TypeRef};
pub(super) use zeros::{keep_segments_below, MAX_PRELINKED_SEGMENTS};

/// Export that copies the library's segments into place: `(func (param memory_base table_base))`.
pub const INIT_EXPORT: &str = "__wasm_dl_init";
/// Export of the library's former start function (global relocations), if it had one.
pub const START_EXPORT: &str = "__wasm_dl_start";
/// Export that fills the slot of one exported function: `(func (param table_base k))`, for
/// `k` below the number of exported functions (the loader checks). Only in libraries that
/// export functions.
pub const FILL_EXPORT: &str = "__wasm_dl_fill";

/// A rewritten library.
#[derive(Debug)]
pub struct Rewritten {
    /// The new module.
    pub bytes: Vec<u8>,
    /// Whether [`START_EXPORT`] exists.
    pub has_start: bool,
    /// The index of the table holding its function slots, if it exports functions (see
    /// `merge`: the libraries of a group share one such table).
    pub slot_table: Option<u32>,
    /// A prelinked library's data (see `layout::Prelink`): (offset from its memory base,
    /// bytes), runs of zeros left out (the region starts zeroed); its own segments are emptied.
    pub data: Vec<(u32, Vec<u8>)>,
    /// Whether [`Rewritten::data`] holds what `__wasm_apply_data_relocs` stores (see `relocs`):
    /// the call is not needed at load time.
    pub relocs_applied: bool,
}

/// Where a prelinked library lives (see `layout::Prelink`).
#[derive(Debug)]
pub struct Prelinked {
    /// Its memory base.
    pub memory_base: u32,
    /// The compose-time value of each of its imports that is a constant global, by import
    /// index (`layout::Prelink::import_values`); `None` when its table base is not fixed.
    pub import_values: Option<Vec<Option<u32>>>,
}

/// Rewrites one library (see the module docs).
///
/// `import_names[i]` is what import `i` is renamed to: every import is renamed to the
/// instance that provides it (see `encode`), so a library is instantiated with whole instances
/// as arguments and costs the component exactly one core instance.
/// Every export is renamed with `export_prefix` (so that libraries merged into one module keep
/// distinct names). Its function slots are entries `slot_base..` of its slot table (the
/// libraries merged into one module share one table; see `merge`); init fills those of the
/// exported functions `k` with `observed[k]`. A `prelinked` library's data goes to the module
/// that defines the memory (see [`Rewritten::data`]).
pub fn rewrite(
    lib: &Library<'_>,
    import_names: &[super::names::ImportName],
    export_prefix: &str,
    slot_base: u32,
    observed: &[bool],
    prelinked: Option<&Prelinked>,
) -> Result<Rewritten> {
    rewrite_inner(
        lib,
        import_names,
        export_prefix,
        slot_base,
        observed,
        prelinked,
    )
    .with_context(|| format!("{}: cannot rewrite shared library", lib.name))
}

fn rewrite_inner(
    lib: &Library<'_>,
    import_names: &[super::names::ImportName],
    export_prefix: &str,
    slot_base: u32,
    observed: &[bool],
    prelinked_at: Option<&Prelinked>,
) -> Result<Rewritten> {
    let bytes = lib.bytes;
    let prelinked = prelinked_at.is_some();
    // A prelinked library's active segments (offset from its memory base, bytes).
    let mut segments: Vec<(u32, Vec<u8>)> = Vec::new();
    // Imported globals: global index → import index.
    let mut global_imports: Vec<u32> = Vec::new();
    let mut relocs_func = None;
    // What `__wasm_apply_data_relocs` stores, when evaluated at compose time (see `relocs`).
    let mut reloc_stores: Option<Vec<(u32, u32)>> = None;
    let (mut n_func_imports, mut n_defined) = (0u32, 0u32);
    // First pass: index spaces, the start function, and where data segments go (the data
    // section follows the code section, but the init function in the code section needs it).
    let (mut n_types, mut n_funcs, mut n_globals) = (0u32, 0u32, 0u32);
    let (mut memory_base, mut table_base) = (None, None);
    let mut start = None;
    // When the start function only zeroes parts of a prelinked library's memory: those ranges.
    let mut start_zero_fills: Option<Vec<(u32, u32)>> = None;
    let mut data_segs: Vec<(u32, u32, u32)> = Vec::new(); // (segment, offset, length)
    let mut n_data = 0;
    let mut has_table = false;
    // Tables, imported and defined: the private slot table comes after them.
    let mut n_tables = 0u32;
    // The functions that get a slot each (`dlsym`, GOT.func), in the order `parse` numbers them.
    let mut slot_funcs: Vec<u32> = Vec::new();
    let mut base_globals: Vec<BaseGlobal> = Vec::new();
    let mut elem_segs: Vec<(u32, u32, u32, u32)> = Vec::new(); // (segment, table, offset, count)
    let (mut saw_export, mut saw_imports) = (false, false);
    // DWARF addresses code by offset: bodies keep theirs when it is there.
    let mut has_debug = false;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::CustomSection(c) if c.name().starts_with(".debug_") => has_debug = true,
            Payload::GlobalSection(r) => {
                for (k, g) in r.into_iter().enumerate() {
                    let index = n_globals + k as u32;
                    if let Some(b) = base_global(index, &g?.init_expr, memory_base, table_base)? {
                        base_globals.push(b);
                    }
                }
            }
            Payload::ExportSection(r) => {
                saw_export = true;
                for e in r {
                    let e = e?;
                    if e.kind == wasmparser::ExternalKind::Func
                        && e.name == "__wasm_apply_data_relocs"
                    {
                        relocs_func = Some(e.index);
                    }
                    if e.kind == wasmparser::ExternalKind::Func
                        && !crate::parse::is_linker_entry(e.name)
                        && !lib.hidden.contains(e.name)
                    {
                        slot_funcs.push(e.index);
                    }
                }
            }
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    ty?;
                    n_types += 1;
                }
            }
            Payload::ImportSection(r) => {
                saw_imports = true;
                for (at, imp) in r.into_imports().enumerate() {
                    let imp = imp?;
                    match imp.ty {
                        TypeRef::Func(_) => n_funcs += 1,
                        TypeRef::Table(_) => {
                            has_table = true;
                            n_tables += 1;
                        }
                        TypeRef::Global(_) => {
                            if imp.module == "env" && imp.name == "__memory_base" {
                                memory_base = Some(n_globals);
                            }
                            if imp.module == "env" && imp.name == "__table_base" {
                                table_base = Some(n_globals);
                            }
                            global_imports.push(at as u32);
                            n_globals += 1;
                        }
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => {
                n_func_imports = n_funcs;
                n_funcs += r.count();
            }
            Payload::TableSection(r) => {
                n_tables += r.count();
            }
            Payload::StartSection { func, .. } => start = Some(func),
            Payload::CodeSectionEntry(body) => {
                let index = n_func_imports + n_defined;
                n_defined += 1;
                // (The start section comes before the code section.)
                if prelinked && Some(index) == start {
                    start_zero_fills =
                        zeros::only_zeroes_own_memory(&body, memory_base, lib.mem_size);
                }
                if let (Some(p), Some(values), true) = (
                    prelinked_at,
                    prelinked_at.and_then(|p| p.import_values.as_ref()),
                    Some(index) == relocs_func,
                ) {
                    let value = |g: u32| {
                        let at = *global_imports.get(g as usize)?;
                        values.get(at as usize).copied().flatten()
                    };
                    reloc_stores = relocs::evaluate(&body, p.memory_base, value);
                }
            }
            Payload::ElementSection(r) => {
                for (i, e) in r.into_iter().enumerate() {
                    let e = e?;
                    let count = match &e.items {
                        ElementItems::Functions(f) => f.count(),
                        ElementItems::Expressions(_, x) => x.count(),
                    };
                    if let ElementKind::Active {
                        table_index,
                        offset_expr,
                    } = e.kind
                    {
                        let off = relative_offset(&offset_expr, table_base, "element")?;
                        elem_segs.push((i as u32, table_index.unwrap_or(0), off, count));
                    }
                }
            }
            Payload::DataSection(r) => {
                n_data = r.count();
                for (i, d) in r.into_iter().enumerate() {
                    let d = d?;
                    match d.kind {
                        DataKind::Active {
                            memory_index: 0,
                            offset_expr,
                        } => {
                            let off = relative_offset(&offset_expr, memory_base, "data")?;
                            data_segs.push((i as u32, off, d.data.len() as u32));
                            if prelinked {
                                segments.push((off, d.data.to_vec()));
                            }
                        }
                        DataKind::Active { .. } => {
                            bail!("data for a second memory is not supported")
                        }
                        DataKind::Passive => {}
                    }
                }
            }
            _ => {}
        }
    }

    // Segments past what MEM_INFO reserves would overwrite memory the library does not own
    // (main's heap, another library's data).
    for &(seg, off, len) in &data_segs {
        let end = u64::from(off) + u64::from(len);
        if end > u64::from(lib.mem_size) {
            bail!(
                "its data segment {seg} fills bytes {off}..{end} from `__memory_base`, past the \
                 {} bytes its `dylink.0` MEM_INFO memory size reserves (it would overwrite \
                 memory it does not own); relink it with `wasm-ld -shared`, which reserves every \
                 segment",
                lib.mem_size
            );
        }
    }

    for &(i, _, off, count) in &elem_segs {
        let end = u64::from(off) + u64::from(count);
        if end > u64::from(lib.table_size) {
            bail!(
                "its element segment {i} fills table slots {off}..{end} from `__table_base`, \
                 past the {} slots its `dylink.0` MEM_INFO table size reserves (it would \
                 overwrite slots it does not own); relink it with `wasm-ld -shared`",
                lib.table_size
            );
        }
    }

    if slot_funcs.len() != lib.funcs.len() {
        bail!(
            "internal error: {} function slots, but parse counted {} exported functions",
            slot_funcs.len(),
            lib.funcs.len()
        );
    }

    if observed.len() != slot_funcs.len() {
        bail!(
            "internal error: {} function slots, but {} marked as observed or not",
            slot_funcs.len(),
            observed.len()
        );
    }

    if !saw_export {
        bail!("has no export section; build it with `-fvisibility=default`");
    }
    if !saw_imports {
        bail!("imports nothing (not even `env.memory`); not a module `wasm-ld -shared` emits");
    }
    // A prelinked library's region is zero where its data does not go (see `zeros`): a start
    // function that only zeroes such ranges is not run.
    if let Some(fills) = &start_zero_fills {
        let overlaps = fills.iter().any(|&(f, flen)| {
            data_segs.iter().any(|&(_, d, dlen)| {
                u64::from(f) < u64::from(d) + u64::from(dlen)
                    && u64::from(d) < u64::from(f) + u64::from(flen)
            })
        });
        if !overlaps {
            start = None;
        }
    }
    // The stores of `__wasm_apply_data_relocs` go into the moved data, when they all fall in it.
    let relocs_applied = match &reloc_stores {
        Some(stores) => relocs::apply(stores, &mut segments),
        None => false,
    };
    let mut moved: Vec<(u32, Vec<u8>)> = Vec::new();
    for (off, data) in &segments {
        zeros::split_zeros(*off, data, &mut moved);
    }
    drop(segments);
    let init_type = n_types;
    let init_func = n_funcs;
    if !has_table {
        n_tables += 1; // main's table, imported below
    }
    // The library's function slots follow its own elements: copied by init from a private table
    // that an active segment fills (see the module docs).
    let slots = (!slot_funcs.is_empty()).then_some(SlotTable {
        table: n_tables,
        offset: lib.table_size,
        count: slot_funcs.len() as u32,
        src: slot_base,
    });
    let mut add = Additions {
        data_count: Some(n_data), // `memory.init` in init needs it
        ..Additions::default()
    };
    add.types.push((vec![ValType::I32, ValType::I32], vec![]));
    if !has_table {
        // Its slots are filled from inside the library, which needs the table.
        add.imports.push((
            "main".to_string(),
            crate::synth::main_module::TABLE_EXPORT.to_string(),
            EntityType::Table(TableType {
                element_type: RefType::FUNCREF,
                minimum: 0,
                maximum: None,
                table64: false,
                shared: false,
            }),
        ));
    }
    // A prelinked library's data is in place before it is instantiated.
    let copied: &[(u32, u32, u32)] = if prelinked { &[] } else { &data_segs };
    let init = init_body(copied, &elem_segs, slots, observed, &base_globals);
    add.funcs.push((init_type, init));
    if let Some(s) = slots {
        // Same type as init: (table_base, k).
        add.funcs.push((init_type, fill_body(s)));
    }
    if let Some(s) = slots {
        let size = u64::from(s.src) + u64::from(s.count);
        add.tables.push(TableType {
            element_type: RefType::FUNCREF,
            minimum: size,
            maximum: Some(size),
            table64: false,
            shared: false,
        });
        add.elements.push(ActiveFuncs {
            table: Some(s.table),
            offset: s.src as i32,
            funcs: slot_funcs,
        });
    }
    add.exports.push((
        format!("{export_prefix}{INIT_EXPORT}"),
        ExportKind::Func,
        init_func,
    ));
    if slots.is_some() {
        add.exports.push((
            format!("{export_prefix}{FILL_EXPORT}"),
            ExportKind::Func,
            init_func + 1,
        ));
    }
    if let Some(s) = start {
        add.exports.push((
            format!("{export_prefix}{START_EXPORT}"),
            ExportKind::Func,
            s,
        ));
    }
    let mut edit = LibEdit {
        import_names,
        export_prefix,
        base_globals: &base_globals,
        prelinked,
        emptied: relocs_func
            .filter(|_| relocs_applied)
            .map(|func| super::rewrite::EmptiedBody {
                func,
                keep_offsets: has_debug,
            }),
    };
    let bytes = super::rewrite::rewrite(lib.bytes, &Maps::default(), add, &mut edit)?;
    // The finished component is validated in every build; validating each module as well
    // names the culprit, at a cost that matters for large compositions: debug builds only.
    if cfg!(debug_assertions) {
        wasmparser::Validator::new_with_features(crate::parse::features())
            .validate_all(&bytes)
            .map_err(|e| anyhow!("the rewritten module does not validate: {e}"))?;
    }
    Ok(Rewritten {
        bytes,
        has_start: start.is_some(),
        slot_table: slots.map(|s| s.table),
        data: moved,
        relocs_applied,
    })
}

/// The changes to the library's own items (see the module docs).
struct LibEdit<'a> {
    /// The new (module, field) of each import.
    import_names: &'a [super::names::ImportName],
    export_prefix: &'a str,
    /// The globals init computes: mutable, 0 until then.
    base_globals: &'a [BaseGlobal],
    /// Whether its data moved to the module that defines the memory.
    prelinked: bool,
    /// `__wasm_apply_data_relocs` when its stores are in the data image already (see
    /// `relocs`): nothing calls it, its body goes (often the largest function: 427 KB, 25,000
    /// stores, in componentize-py's libpython).
    emptied: Option<super::rewrite::EmptiedBody>,
}

impl Edit for LibEdit<'_> {
    fn import(
        &mut self,
        at: ImportAt,
        imp: &wasmparser::Import<'_>,
        mut ty: EntityType,
        out: &mut ImportSection,
    ) -> Result<()> {
        // wasm-ld declares the table (and memory) import with the library's own size as
        // minimum; main's may start smaller, and the loader grows the table before the library
        // uses it, so ask for nothing.
        match &mut ty {
            EntityType::Table(t) => {
                t.minimum = 0;
                t.maximum = None;
            }
            EntityType::Memory(m) => {
                m.minimum = 0;
                m.maximum = None;
            }
            _ => {}
        }
        if imp.module == "env" && (imp.name == "__memory_base" || imp.name == "__table_base") {
            ty = EntityType::Global(GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            });
        }
        let name = self
            .import_names
            .get(at.index as usize)
            .ok_or_else(|| anyhow!("import {} has no binding", at.index))?;
        out.import(&name.from.module_name(), &name.field, ty);
        Ok(())
    }

    fn export(
        &mut self,
        name: &str,
        kind: ExportKind,
        index: u32,
        out: &mut ExportSection,
    ) -> Result<()> {
        out.export(&format!("{}{name}", self.export_prefix), kind, index);
        Ok(())
    }

    fn global(&mut self, index: u32, ty: &mut GlobalType) -> Result<Option<ConstExpr>> {
        if !self.base_globals.iter().any(|b| b.index == index) {
            return Ok(None);
        }
        ty.mutable = true;
        Ok(Some(match ty.val_type {
            ValType::I64 => ConstExpr::i64_const(0),
            _ => ConstExpr::i32_const(0),
        }))
    }

    // Active segments are placed by init, at bases known only at load time.
    fn element(&mut self, _: u32, kind: &ElementKind<'_>, _: u32) -> Result<SegmentAs> {
        Ok(match kind {
            ElementKind::Active { .. } => SegmentAs::Passive,
            _ => SegmentAs::Keep,
        })
    }

    fn data(&mut self, _: u32, kind: &DataKind<'_>, _: u32) -> Result<SegmentAs> {
        Ok(match kind {
            DataKind::Active { .. } if self.prelinked => SegmentAs::Emptied,
            _ => SegmentAs::Passive,
        })
    }

    /// The start function runs at load time instead (see [`START_EXPORT`]).
    fn keep_start(&self) -> bool {
        false
    }

    /// `dylink.0` describes the input, which the component does not load as a shared library;
    /// `component-type*` is wit-component's record of the WIT the library imports, read from the
    /// input (see `synth::root`, `resolve`): the output's copy is never componentized again.
    fn keep_custom(&self, name: &str) -> bool {
        name != "dylink.0" && !name.starts_with("component-type")
    }

    fn emptied_body(&self) -> Option<super::rewrite::EmptiedBody> {
        self.emptied
    }
}
