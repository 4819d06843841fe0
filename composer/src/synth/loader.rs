//! The loader module: places libraries at run time, as the seed's `init` does.
//!
//! Instantiated after every library, it imports main (memory, table, `malloc`), the env module's
//! globals and each library's entry points. At start it registers its `dispatch` function in
//! main's table (see `main_module`), and gives main functions that need a fresh slot one.
//! `dispatch(op, lib)` runs one step for one library:
//!
//! | op | step |
//! |----|------|
//! | [`Op::Alloc`] | `malloc` the library's memory (MEM_INFO size and alignment, zeroed), grow the table by its own slots plus one per exported function (its init fills them; the base rounded up to the MEM_INFO table alignment), set its bases and the GOT entries that point into it, and `malloc` a stack for it if it cannot share main's (`Binding::OwnStack`); [`Alloc::Ok`], or [`Alloc::NoMemory`] when `malloc` fails, or [`Alloc::NoTable`] when the table cannot grow (`table.grow` fails, or main's table would pass `parse::MAX_TABLE_SLOTS`). A library placed before (closed and opened again) keeps its memory and slots, which are zeroed again |
//! | [`Op::MemoryBase`] | its memory base |
//! | [`Op::TableBase`] | its table base |
//! | [`Op::Relocate`] | copy its segments into place, apply global and data relocations |
//! | [`Op::Construct`] | run its constructors |
//! | [`Op::Destruct`] | run the destructors it registered with `__cxa_atexit` (see `atexit`), then its `__wasm_call_dtors`, if it exports one (`dlclose`) |
//! | [`Op::Release`] | with main's `ftfree`: set its slots to NULL and give them back (`dlclose` after the destructors of everything it unloads, or a `dlopen` that failed after placing it), so that its next placement asks `ftalloc` again; otherwise nothing |
//!
//! When main exports `ftalloc` (see `synth::ftalloc`), [`Op::Alloc`] takes a library's slots
//! from it instead of growing the table ([`Alloc::FtallocFailed`], [`Alloc::FtallocBad`]).
//! The dispatch slot the start function takes is grown before any code of main runs, so it is
//! part of the table main starts with.
//!
//! Destructors that clang registers with `__cxa_atexit` (all of `__attribute__((destructor))`
//! and C++ static destructors in `-shared` output) go to main's libc and run at exit, not at
//! `dlclose`: wasi-libc has no `__cxa_finalize(dso)`. Since a closed library keeps its memory,
//! such a destructor stays safe to run at exit; a library loaded n times registers it n times.

use crate::layout::Layout;
use crate::parse::{Library, MAX_TABLE_SLOTS};
use crate::resolve::GotTarget;
use crate::synth::env;
use crate::synth::ftalloc::TableAllocator;
use crate::synth::library::{INIT_EXPORT, START_EXPORT};
use crate::synth::main_module::{SLOT_EXPORT, TABLE_EXPORT};
use std::borrow::Cow;
use wasm_dl_abi::ftalloc::{FTALLOC_EXPORT, FTFREE_EXPORT};
use wasm_dl_abi::loader::{Alloc, Op};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalType, ImportSection, MemoryType, Module,
    RefType, StartSection, TableSection, TableType, TypeSection, ValType,
};

const N_OPS: u32 = Op::ALL.len() as u32;

/// A global of main that holds an address in a library (see `synth::plt`): a PLT entry's slot,
/// or what a `GOT.func`/`GOT.mem` import of main became. The loader sets it when it places the
/// library.
#[derive(Clone, Debug)]
pub struct MainSlot {
    /// Main's export of the global.
    pub global: String,
    /// The library it points into.
    pub lib: crate::resolve::LibId,
    /// What of the library it holds.
    pub value: SlotValue,
}

/// What a [`MainSlot`] holds once its library is placed.
#[derive(Clone, Copy, Debug)]
pub enum SlotValue {
    /// The table slot of the library's function symbol.
    Func(crate::resolve::FuncSym),
    /// The address of the library's data symbol.
    Data(crate::resolve::DataOffset),
}

/// Encodes the loader for this composition. `has_start[j]` says whether library j kept a start
/// function (exported as [`START_EXPORT`]), `relocs_applied[j]` whether its data relocations
/// are in its data already (`synth::library`: [`Op::Relocate`] does not call
/// `__wasm_apply_data_relocs`). A library prelinked by the layout (`layout::Prelink`) has its
/// memory base fixed and its data in place, and maybe its table base fixed (its slots inside
/// main's initial table): [`Op::Alloc`] only sets those bases.
#[allow(clippy::too_many_arguments)]
pub fn encode(
    libs: &[Library<'_>],
    has_start: &[bool],
    relocs_applied: &[bool],
    gots: &[GotTarget],
    layout: &Layout,
    has_atexit: bool,
    main_slots: &[MainSlot],
    table_alloc: Option<TableAllocator>,
) -> Vec<u8> {
    let n = libs.len() as u32;
    let mut types = TypeSection::new();
    types.ty().function([], []); // 0
    types.ty().function([ValType::I32], [ValType::I32]); // 1 malloc
    types.ty().function([ValType::I32, ValType::I32], []); // 2 library init
    types.ty().function([], [ValType::I32]); // 3 step
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]); // 4 dispatch
    types.ty().function([ValType::I32], []); // 5 destructor-list drain
    let mut imports = ImportSection::new();
    let mut n_funcs = 0u32;
    let mut n_globals = 0u32;
    imports.import(
        "main",
        "memory",
        EntityType::Memory(MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        }),
    );
    let table_ty = TableType {
        element_type: RefType::FUNCREF,
        minimum: 0,
        maximum: None,
        table64: false,
        shared: false,
    };
    imports.import("main", TABLE_EXPORT, EntityType::Table(table_ty));
    // Only placing a library allocates: a main without libraries need not export `malloc`.
    let malloc = n_funcs;
    if n > 0 {
        imports.import("main", "malloc", EntityType::Function(1));
        n_funcs += 1;
    }
    // Main's table allocator, when it has one (and there is something to place).
    let mut ftalloc = None;
    let mut ftfree = None;
    if let (Some(a), true) = (table_alloc, n > 0) {
        imports.import("main", FTALLOC_EXPORT, EntityType::Function(4));
        ftalloc = Some(n_funcs);
        n_funcs += 1;
        if a.free {
            imports.import("main", FTFREE_EXPORT, EntityType::Function(2));
            ftfree = Some(n_funcs);
            n_funcs += 1;
        }
    }
    let mut_i32 = EntityType::Global(GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    });
    imports.import("main", SLOT_EXPORT, mut_i32);
    let slot_global = n_globals;
    n_globals += 1;
    // main's PLT and GOT globals, per library.
    let mut main_globals: Vec<Vec<(u32, &MainSlot)>> = vec![Vec::new(); libs.len()];
    for e in main_slots {
        imports.import("main", &e.global, mut_i32);
        if let Some(v) = main_globals.get_mut(e.lib.index()) {
            v.push((n_globals, e));
        }
        n_globals += 1;
    }
    // The per-library destructor lists (see `atexit`), when some library registers any.
    let drain = has_atexit.then(|| {
        imports.import(
            super::atexit::MODULE,
            super::atexit::DRAIN_EXPORT,
            EntityType::Function(5),
        );
        n_funcs += 1;
        n_funcs - 1
    });
    // env globals: bases, then every GOT entry the loader sets.
    let mut base_globals = Vec::with_capacity(libs.len());
    for lib in 0..n {
        imports.import("env", &env::memory_base(lib), mut_i32);
        imports.import("env", &env::table_base(lib), mut_i32);
        base_globals.push((n_globals, n_globals + 1));
        n_globals += 2;
    }
    // Own stack pointers (libraries that cannot share main's).
    let mut sp_global: Vec<Option<u32>> = vec![None; libs.len()];
    for (lib, own) in layout.own_stack.iter().enumerate() {
        if *own {
            imports.import("env", &env::stack_pointer(lib as u32), mut_i32);
            sp_global[lib] = Some(n_globals);
            n_globals += 1;
        }
    }
    let mut got_global = hashbrown::HashMap::new();
    let set_by_loader = layout.got_by_lib.iter().flatten().copied();
    for got in set_by_loader {
        if got_global.contains_key(&got) {
            continue;
        }
        imports.import("env", &env::got(got), mut_i32);
        got_global.insert(got, n_globals);
        n_globals += 1;
    }
    // Library entry points and exported functions.
    struct LibFuncs {
        init: u32,
        start: Option<u32>,
        relocs: Option<u32>,
        ctor: Option<u32>,
        dtor: Option<u32>,
    }
    let mut lib_funcs = Vec::with_capacity(libs.len());
    for (j, lib) in libs.iter().enumerate() {
        let m = crate::layout::group_module(layout.group_of[j]);
        let id = crate::resolve::LibId(j as u32);
        let mut import_fn = |name: &str, ty: u32, imports: &mut ImportSection| {
            imports.import(
                &m,
                &crate::layout::export_name(id, name),
                EntityType::Function(ty),
            );
            n_funcs += 1;
            n_funcs - 1
        };
        let init = import_fn(INIT_EXPORT, 2, &mut imports);
        let start = has_start[j].then(|| import_fn(START_EXPORT, 0, &mut imports));
        let applied = relocs_applied.get(j).copied().unwrap_or(false);
        let relocs = (lib.apply_data_relocs && !applied)
            .then(|| import_fn("__wasm_apply_data_relocs", 0, &mut imports));
        let ctor = lib.ctor.as_deref().map(|c| import_fn(c, 0, &mut imports));
        let dtor = lib
            .dtor
            .then(|| import_fn("__wasm_call_dtors", 0, &mut imports));
        lib_funcs.push(LibFuncs {
            init,
            start,
            relocs,
            ctor,
            dtor,
        });
    }

    // Defined functions: dispatch, start, then per library its five steps.
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let dispatch = n_funcs;
    funcs.function(4);
    {
        let mut f = Function::new([]);
        f.instructions()
            .local_get(0)
            .i32_const(N_OPS as i32)
            .i32_ge_u()
            .local_get(1)
            .i32_const(n as i32)
            .i32_ge_u()
            .i32_or()
            .if_(BlockType::Empty)
            .unreachable()
            .end()
            .local_get(0)
            .i32_const(n as i32)
            .i32_mul()
            .local_get(1)
            .i32_add()
            .call_indirect(1, 3)
            .end();
        code.function(&f);
    }
    let start = n_funcs + 1;
    funcs.function(0);
    {
        let mut f = Function::new([]);
        let mut ins = f.instructions();
        ins.ref_func(dispatch)
            .i32_const(1)
            .table_grow(0)
            .global_set(slot_global)
            .global_get(slot_global)
            .i32_const(-1)
            .i32_eq()
            .if_(BlockType::Empty)
            .unreachable()
            .end();
        ins.end();
        code.function(&f);
    }
    let steps_base = n_funcs + 2;
    let mut elems = ElementSection::new();
    let mut step_funcs: Vec<u32> = Vec::with_capacity((N_OPS * n) as usize);
    // Order in the loader's own table: op-major, so slot = op * n + lib.
    for op in 0..N_OPS {
        for lib in 0..n {
            step_funcs.push(steps_base + op * n + lib);
        }
    }
    for op in Op::ALL {
        for (j, lib) in libs.iter().enumerate() {
            funcs.function(3);
            let (mb, tb) = base_globals[j];
            let lf = &lib_funcs[j];
            let mut f = Function::new([(1, ValType::I32)]);
            let mut ins = f.instructions();
            match op {
                Op::Alloc => {
                    let fixed = layout.prelink.memory_base.get(j).copied().flatten();
                    let fixed_table = layout.prelink.table_base.get(j).copied().flatten();
                    // Placed before: reuse the memory (zeroed again) and the slots. (A
                    // prelinked library is never unloaded: its data would be lost.)
                    ins.global_get(tb).if_(BlockType::Empty);
                    if lib.mem_size > 0 && fixed.is_none() {
                        ins.global_get(mb)
                            .i32_const(0)
                            .i32_const(lib.mem_size as i32)
                            .memory_fill(0);
                    }
                    ins.i32_const(Alloc::Ok.code()).return_().end();
                    // parse bounds mem_align (<= 31) and mem_size + align - 1 (<= u32::MAX).
                    let align = 1u32 << lib.mem_align.min(31);
                    // `malloc(size)` into local 0, or return 0 (out of memory).
                    let malloc_or_fail = |ins: &mut wasm_encoder::InstructionSink<'_>,
                                          size: u32| {
                        ins.i32_const(size as i32)
                            .call(malloc)
                            .local_tee(0)
                            .i32_eqz()
                            .if_(BlockType::Empty)
                            .i32_const(Alloc::NoMemory.code())
                            .return_()
                            .end();
                    };
                    // Memory (and stack) a failed earlier attempt got (the table could not
                    // grow) is kept for the next attempt, not allocated again.
                    if let Some(base) = fixed {
                        // Its region starts zeroed, and holds its data already.
                        ins.i32_const(base as i32).global_set(mb);
                    } else if lib.mem_size > 0 {
                        ins.global_get(mb).i32_eqz().if_(BlockType::Empty);
                        malloc_or_fail(&mut ins, lib.mem_size.saturating_add(align - 1));
                        ins.local_get(0)
                            .i32_const((align - 1) as i32)
                            .i32_add()
                            .i32_const(align.wrapping_neg() as i32)
                            .i32_and()
                            .global_set(mb)
                            .end()
                            .global_get(mb)
                            .i32_const(0)
                            .i32_const(lib.mem_size as i32)
                            .memory_fill(0);
                    }
                    if let Some(sp) = sp_global[j] {
                        let size = crate::resolve::OWN_STACK_SIZE;
                        ins.global_get(sp).i32_eqz().if_(BlockType::Empty);
                        malloc_or_fail(&mut ins, size);
                        ins.local_get(0)
                            .i32_const(size as i32)
                            .i32_add()
                            .i32_const(-16)
                            .i32_and()
                            .global_set(sp)
                            .end();
                    }
                    // parse bounds table_size + funcs + alignment padding by MAX_TABLE_SLOTS.
                    let slots = lib.table_size.saturating_add(lib.funcs.len() as u32);
                    let room = MAX_TABLE_SLOTS.saturating_sub(slots);
                    // MEM_INFO table alignment (parse bounds it by MAX_TABLE_ALIGN): the base is
                    // the table size rounded up; the slots in between stay null. Main's table
                    // (at most MAX_TABLE_SLOTS, which the loader never passes) cannot wrap here.
                    let talign = 1i32 << lib.table_align.min(crate::parse::MAX_TABLE_ALIGN);
                    if let Some(base) = fixed_table {
                        // Inside main's initial table (see `layout::Prelink`).
                        ins.i32_const(base as i32).global_set(tb);
                    } else if let (Some(fa), true) = (ftalloc, slots > 0) {
                        // Main's allocator grows the table itself, and checks its own limits.
                        super::ftalloc::emit_alloc(
                            &mut ins,
                            fa,
                            slots,
                            talign as u32,
                            0,
                            Alloc::FtallocFailed.code(),
                            Alloc::FtallocBad.code(),
                        );
                        ins.local_get(0).global_set(tb);
                    } else {
                        ins.table_size(0)
                            .i32_const(talign - 1)
                            .i32_add()
                            .i32_const(-talign)
                            .i32_and()
                            .local_tee(0)
                            // A table past MAX_TABLE_SLOTS is refused before wasmtime tries to
                            // allocate it (a huge `table.grow` may abort the program, not fail).
                            .i32_const(room as i32)
                            .i32_gt_u()
                            .if_(BlockType::Empty)
                            .i32_const(Alloc::NoTable.code())
                            .return_()
                            .end()
                            .ref_null(wasm_encoder::HeapType::FUNC)
                            .local_get(0)
                            .table_size(0)
                            .i32_sub()
                            .i32_const(slots as i32)
                            .i32_add()
                            .table_grow(0)
                            .i32_const(-1)
                            .i32_eq()
                            .if_(BlockType::Empty)
                            .i32_const(Alloc::NoTable.code())
                            .return_()
                            .end()
                            .local_get(0)
                            .global_set(tb);
                    }
                    // The library's own init fills its function slots (see `library`).
                    for got in &layout.got_by_lib[j] {
                        let Some(g) = got_global.get(got) else {
                            continue;
                        };
                        match &gots[got.0 as usize] {
                            GotTarget::LibData(_, off) => {
                                ins.global_get(mb).i32_const(off.0 as i32);
                            }
                            GotTarget::LibFunc(_, k) => {
                                ins.global_get(tb)
                                    .i32_const(lib.table_size.saturating_add(k.0) as i32);
                            }
                            _ => continue,
                        }
                        ins.i32_add().global_set(*g);
                    }
                    for (g, e) in &main_globals[j] {
                        match e.value {
                            SlotValue::Func(k) => {
                                ins.global_get(tb)
                                    .i32_const(lib.table_size.saturating_add(k.0) as i32);
                            }
                            SlotValue::Data(off) => {
                                ins.global_get(mb).i32_const(off.0 as i32);
                            }
                        }
                        ins.i32_add().global_set(*g);
                    }
                    ins.i32_const(Alloc::Ok.code());
                }
                Op::MemoryBase => {
                    ins.global_get(mb);
                }
                Op::TableBase => {
                    ins.global_get(tb);
                }
                Op::Relocate => {
                    ins.global_get(mb).global_get(tb).call(lf.init);
                    if let Some(s) = lf.start {
                        ins.call(s);
                    }
                    if let Some(r) = lf.relocs {
                        ins.call(r);
                    }
                    ins.i32_const(1);
                }
                Op::Construct => {
                    if let Some(c) = lf.ctor {
                        ins.call(c);
                    }
                    ins.i32_const(1);
                }
                Op::Release => {
                    let slots = lib.table_size.saturating_add(lib.funcs.len() as u32);
                    // Fixed slots are main's own (a prelinked library is never unloaded).
                    let fixed_table = layout.prelink.table_base.get(j).copied().flatten();
                    if let (Some(ff), true, None) = (ftfree, slots > 0, fixed_table) {
                        // NULL first: a stale pointer into the library traps rather than
                        // calling whatever main installs in the slot next.
                        ins.global_get(tb)
                            .if_(BlockType::Empty)
                            .global_get(tb)
                            .ref_null(wasm_encoder::HeapType::FUNC)
                            .i32_const(slots as i32)
                            .table_fill(0)
                            .global_get(tb)
                            .i32_const(slots as i32)
                            .call(ff)
                            .i32_const(0)
                            .global_set(tb)
                            .end();
                    }
                    ins.i32_const(1);
                }
                Op::Destruct => {
                    // `__cxa_atexit` registrations (destructor attributes), most recent first,
                    // then the library's own destructor entry point.
                    if let Some(d) = drain {
                        ins.i32_const(j as i32).call(d);
                    }
                    if let Some(d) = lf.dtor {
                        ins.call(d);
                    }
                    ins.i32_const(1);
                }
            }
            ins.end();
            code.function(&f);
        }
    }
    // Segment 0: the step table.
    elems.active(
        Some(1),
        &ConstExpr::i32_const(0),
        Elements::Functions(Cow::Owned(step_funcs)),
    );
    elems.declared(Elements::Functions(Cow::Owned(vec![dispatch])));

    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        minimum: (N_OPS * n) as u64,
        maximum: Some((N_OPS * n) as u64),
        table64: false,
        shared: false,
    });
    let mut exports = ExportSection::new();
    exports.export("dispatch", ExportKind::Func, dispatch);

    let mut module = Module::new();
    module.section(&types);
    module.section(&imports);
    module.section(&funcs);
    module.section(&tables);
    module.section(&exports);
    module.section(&StartSection {
        function_index: start,
    });
    module.section(&elems);
    module.section(&code);
    module.finish()
}
