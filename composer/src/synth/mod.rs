//! Pass 4: synthesize the modules of the composition (plain bytes, validated by the encoder).
//!
//! [`main_shape`] (pass 4a) makes main with its PLT and re-exports, but without the prelinked
//! data; [`synthesize`] takes the resolution, the layout and that shape and makes every other
//! module besides what wit-component makes: main's data section, each library rewritten to import
//! from the instances that provide its symbols (merged per group), the env module, the
//! destructor lists and the loader. It reads no module another step of it made, except the
//! import names, which the rewritten libraries and the destructor lists share.

pub mod atexit;
pub mod env;
pub mod ftalloc;
pub mod library;
pub mod loader;
pub mod main_module;
pub mod merge;
pub mod names;
pub mod plt;
pub mod rewrite;
pub mod root;
pub mod runtime;
pub mod shim;
pub mod sjlj;
pub mod symtab;

use crate::layout::{self, Layout};
use crate::parse::{Library, MainModule};
use crate::resolve::{LibId, Resolution};
use anyhow::{bail, Context, Result};
use ftalloc::TableAllocator;

/// What a synthesized module imports as main's (or the root's) memory: 32-bit, any size.
pub const ANY_MEMORY: wasm_encoder::EntityType =
    wasm_encoder::EntityType::Memory(wasm_encoder::MemoryType {
        minimum: 0,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });

/// What a synthesized module imports as main's function table: funcref, any size.
pub const ANY_FUNC_TABLE: wasm_encoder::EntityType =
    wasm_encoder::EntityType::Table(wasm_encoder::TableType {
        element_type: wasm_encoder::RefType::FUNCREF,
        minimum: 0,
        maximum: None,
        table64: false,
        shared: false,
    });

/// Main as the composition has it but for the prelinked data (pass 4a): all that
/// wit-component needs of it (its imports, exports, memory and table), known before any
/// library is rewritten, so that wit-component's main component is made beside pass 4.
pub struct MainShape {
    /// Main with its PLT, GOT and re-exports (`plt`, `main_module`), its memory and table
    /// sized for the composition, and only its own data segments.
    pub module: Vec<u8>,
    /// The address of the shim's symbol tables in main's memory (`symtab`), or 0.
    pub symtab: u32,
    /// Per library, whether the shim's tables hold its symbols (then the provider's index
    /// leaves them out: `index::build`).
    pub tables: Vec<bool>,
    /// The shim's symbol tables: active segments (address, bytes) for main's data.
    symtab_data: Vec<(u32, Vec<u8>)>,
}

/// Pass 4a (the shim's symbol tables placed above the prelinked region when `symtab`: see
/// `symtab`).
pub fn main_shape(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    res: &Resolution,
    layout: &Layout,
    symtab: bool,
) -> Result<MainShape> {
    let prelink = &layout.prelink;
    let main_bytes = match plt::Plan::new(main, res) {
        Some(plan) => std::borrow::Cow::Owned(plt::rewrite(main, &plan)?),
        None => std::borrow::Cow::Borrowed(main.bytes),
    };
    let mut symtab_data = Vec::new();
    let symtab = match symtab {
        true => symtab::place(
            main,
            libs,
            prelink.memory_pages,
            &lazy(libs, layout),
            &mut symtab_data,
        )?,
        false => None,
    };
    let memory_pages = match &symtab {
        Some((t, _)) => Some(t.memory_pages),
        None => prelink.memory_pages,
    };
    let module = main_module::patch(
        main,
        &main_bytes,
        &res.reexports,
        &res.main_new_slots,
        &res.main_tags,
        main_module::Prelinked {
            memory_pages,
            table_min: prelink.table_min,
        },
    )?;
    Ok(MainShape {
        module,
        symtab: symtab.as_ref().map_or(0, |(t, _)| t.address),
        tables: symtab.map_or_else(|| vec![false; libs.len()], |(_, tables)| tables),
        symtab_data,
    })
}

/// What pass 4 hands to pass 5.
pub struct Synthesized {
    /// Main's data section: its own segments, the prelinked libraries' data and the shim's
    /// symbol tables (what [`MainShape::module`] lacks).
    pub main_data: main_module::MainData,
    /// Per library, what its imports are renamed to (`names::import_names`).
    pub import_names: Vec<Vec<names::ImportName>>,
    /// The module of each group of `Layout::groups` (`merge`).
    pub groups: Vec<Vec<u8>>,
    /// The env module (GOT and base globals, trampolines, stubs).
    pub env: Vec<u8>,
    /// The per-library destructor lists, if any library registers destructors.
    pub atexit: Option<Vec<u8>>,
    /// The loader.
    pub loader: Vec<u8>,
    /// Per library, whether what its `__wasm_apply_data_relocs` stores is in the data image
    /// already (the function is not called, its body emptied: see `library`).
    pub relocs_applied: Vec<bool>,
}

/// Per library, whether it is prelinked (loaded at every start: see `layout::Prelink`).
fn lazy(libs: &[Library<'_>], layout: &Layout) -> Vec<bool> {
    (0..libs.len())
        .map(|j| {
            layout
                .prelink
                .memory_base
                .get(j)
                .is_some_and(Option::is_some)
        })
        .collect()
}

/// Pass 4 after pass 4a (`shape`); the prelinked libraries' data goes to main (see
/// `layout::Prelink`).
pub fn synthesize(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    res: &Resolution,
    layout: &Layout,
    table_alloc: Option<TableAllocator>,
    shape: &MainShape,
) -> Result<Synthesized> {
    let mut rewritten = Vec::with_capacity(libs.len());
    let mut has_start = Vec::with_capacity(libs.len());
    let mut relocs_applied = Vec::with_capacity(libs.len());
    let mut slot_tables = Vec::with_capacity(libs.len());
    let mut import_names = Vec::with_capacity(libs.len());
    let slot_base = slot_bases(libs, layout)?;
    let main_slots = loader::main_slots(main, res);
    // Only a prelinked library (loaded at every start) leaves the slots nothing refers to at
    // compose time null: one loaded by `dlopen` fills them all when placed, so that its
    // lookups need no fill.
    let lazy = lazy(libs, layout);
    let observed = loader::observed_slots(libs, &layout.gots, &main_slots, &lazy);
    let prelink = &layout.prelink;
    // Prelinked data, at its final addresses, for the module that defines the memory.
    let mut data: Vec<(u32, Vec<u8>)> = Vec::new();
    for (j, lib) in libs.iter().enumerate() {
        let names = names::import_names(LibId(j as u32), libs, res, layout)?;
        let prefix = layout::export_name(LibId(j as u32), "");
        let base = prelink.memory_base.get(j).copied().flatten();
        let placed = base.map(|memory_base| library::Prelinked {
            memory_base,
            import_values: prelink.import_values(LibId(j as u32), libs, res, &layout.gots),
        });
        let r = library::rewrite(
            lib,
            &names,
            &prefix,
            slot_base[j],
            &observed[j],
            placed.as_ref(),
        )?;
        if let Some(base) = base {
            for (off, d) in r.data {
                // `layout::prelink` keeps every region below 4 GiB.
                let at = base.checked_add(off).with_context(|| {
                    format!("internal error: {}'s prelinked data passes 4 GiB", lib.name)
                })?;
                data.push((at, d));
            }
        }
        import_names.push(names);
        rewritten.push(r.bytes);
        has_start.push(r.has_start);
        relocs_applied.push(r.relocs_applied);
        slot_tables.push(r.slot_table);
    }
    // Cutting out the runs of zeros can make many segments (see `library::keep_segments_below`).
    library::keep_segments_below(&mut data, library::MAX_PRELINKED_SEGMENTS);
    let env = env::EnvModule::new(libs, res, layout).encode(
        libs.len() as u32,
        &layout.gots,
        &layout.stubs,
        &layout.own_stack,
    )?;
    let atexit_users: Vec<u32> = import_names
        .iter()
        .enumerate()
        .filter(|(_, names)| names.iter().any(|n| n.from == names::Supplier::Atexit))
        .map(|(j, _)| j as u32)
        .collect();
    let atexit = (!atexit_users.is_empty())
        .then(|| atexit::encode(libs.len() as u32, &atexit_users, table_alloc))
        .transpose()?;
    let loader_plan = loader::plan(
        libs,
        &has_start,
        &relocs_applied,
        layout,
        atexit.is_some(),
        &main_slots,
        table_alloc,
    );
    let loader = loader::encode(&loader_plan);
    // The shim's symbol tables lie above the prelinked region.
    let main_data = main_module::data(&shape.module, data.iter().chain(&shape.symtab_data))
        .with_context(|| format!("{}: cannot add the prelinked data", main.name))?;
    let groups = merge::group_modules(libs, rewritten, &slot_tables, &import_names, layout)?;
    Ok(Synthesized {
        main_data,
        import_names,
        groups,
        env,
        atexit,
        loader,
        relocs_applied,
    })
}

/// Where each library's function slots start in its group's shared slot table (see
/// `synth::merge`): after those of the group's earlier members. A group's table holds at most
/// `crate::parse::MAX_TABLE_SLOTS` entries (the largest table a module may declare).
fn slot_bases(libs: &[Library<'_>], layout: &Layout) -> Result<Vec<u32>> {
    let mut base = vec![0u32; libs.len()];
    for members in &layout.groups {
        let mut next = 0u64;
        for l in members {
            base[l.index()] = next as u32;
            next += libs[l.index()].funcs.len() as u64;
            if next > u64::from(crate::parse::MAX_TABLE_SLOTS) {
                bail!(
                    "the libraries merged with {} into one core module export {next} functions \
                     or more, more than one table may hold ({}); compose fewer libraries or \
                     libraries exporting fewer functions",
                    libs[l.index()].name,
                    crate::parse::MAX_TABLE_SLOTS
                );
            }
        }
    }
    Ok(base)
}
