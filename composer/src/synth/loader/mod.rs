//! The loader module: places libraries at run time, as the seed's `init` does.
//!
//! What it does for each library is decided first, as data ([`plan()`] → [`LoaderPlan`]: where
//! its memory and slots come from, which globals it sets to which base plus offset, which
//! entry points it calls); [`encode`] only turns that plan into instructions.
//!
//! Instantiated after every library, it imports main (memory, table, `malloc`), the env module's
//! globals and each library's entry points. At start it registers its `dispatch` function in
//! main's table (see `main_module`), and gives main functions that need a fresh slot one.
//! `dispatch(op, lib)` runs one step for one library:
//!
//! | op | step |
//! |----|------|
//! | [`Op::Alloc`] | `malloc` the library's memory (MEM_INFO size and alignment, zeroed), grow the table by its own slots plus one per exported function (its init fills its own and the observed function slots; slots from `ftalloc` are set to NULL first; the base rounded up to the MEM_INFO table alignment), set its bases and the GOT entries that point into it, and `malloc` a stack for it if it cannot share main's (`Binding::OwnStack`); [`Alloc::Ok`], or [`Alloc::NoMemory`] when `malloc` fails, or [`Alloc::NoTable`] when the table cannot grow (`table.grow` fails, or main's table would pass `parse::MAX_TABLE_SLOTS`). A library placed before (closed and opened again) keeps its memory and slots, which are zeroed again |
//! | [`Op::MemoryBase`] | its memory base |
//! | [`Op::TableBase`] | its table base |
//! | [`Op::Relocate`] | copy its segments into place, apply global and data relocations |
//! | [`Op::Construct`] | run its constructors |
//! | [`Op::Destruct`] | run the destructors it registered with `__cxa_atexit` (see `atexit`), then its `__wasm_call_dtors`, if it exports one (`dlclose`) |
//! | [`Op::Release`] | with main's `ftfree`: set its slots to NULL and give them back (`dlclose` after the destructors of everything it unloads, or a `dlopen` that failed after placing it), so that its next placement asks `ftalloc` again; otherwise nothing |
//! | [`Op::Fill`] | the operand is a `dlsym` answer, not a library: if it is a null slot of an exported function of a placed library (init fills only the observed ones: see `library`), that library's fill export fills it |
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

mod plan;

pub use plan::{main_slots, observed_slots, plan, LoaderPlan};
use plan::{MemoryPlan, TablePlan, Target, Value};

use crate::parse::MAX_TABLE_SLOTS;
use crate::synth::env;
use crate::synth::library::{FILL_EXPORT, INIT_EXPORT, START_EXPORT};
use crate::synth::main_module::{SLOT_EXPORT, TABLE_EXPORT};
use std::borrow::Cow;
use wasm_dl_abi::ftalloc::{FTALLOC_EXPORT, FTFREE_EXPORT};
use wasm_dl_abi::loader::{Alloc, Op};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalType, ImportSection, Module, RefType,
    StartSection, TableSection, TableType, TypeSection, ValType,
};

const N_OPS: u32 = Op::STEPS.len() as u32;

/// Encodes the loader of `plan` (see [`plan()`]). A library prelinked by the layout
/// (`layout::Prelink`) has its memory base fixed and its data in place ([`MemoryPlan::Fixed`]),
/// and maybe its table base fixed, its slots inside main's initial table
/// ([`TablePlan::Fixed`]): [`Op::Alloc`] only sets those bases.
pub fn encode(plan: &LoaderPlan) -> Vec<u8> {
    let n = plan.libs.len() as u32;
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
    imports.import("main", "memory", crate::synth::ANY_MEMORY);
    imports.import("main", TABLE_EXPORT, crate::synth::ANY_FUNC_TABLE);
    // Only placing a library allocates: a main without libraries need not export `malloc`.
    let malloc = n_funcs;
    if n > 0 {
        imports.import("main", "malloc", EntityType::Function(1));
        n_funcs += 1;
    }
    // Main's table allocator, when it has one (and there is something to place).
    let mut ftalloc = None;
    let mut ftfree = None;
    if let Some(a) = plan.table_alloc {
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
    // Main's PLT and GOT globals: global `main_global + i` is `plan.main_slots[i]`.
    let main_global = n_globals;
    for global in &plan.main_slots {
        imports.import("main", global, mut_i32);
        n_globals += 1;
    }
    // The per-library destructor lists (see `atexit`), when some library registers any.
    let drain = plan.atexit.then(|| {
        imports.import(
            super::atexit::MODULE,
            super::atexit::DRAIN_EXPORT,
            EntityType::Function(5),
        );
        n_funcs += 1;
        n_funcs - 1
    });
    // env globals: bases, then every GOT entry the loader sets.
    let mut base_globals = Vec::with_capacity(plan.libs.len());
    for lib in 0..n {
        imports.import("env", &env::memory_base(lib), mut_i32);
        imports.import("env", &env::table_base(lib), mut_i32);
        base_globals.push((n_globals, n_globals + 1));
        n_globals += 2;
    }
    // Own stack pointers (libraries that cannot share main's).
    let mut sp_global: Vec<Option<u32>> = vec![None; plan.libs.len()];
    for (j, lib) in plan.libs.iter().enumerate() {
        if lib.own_stack {
            imports.import("env", &env::stack_pointer(lib.lib.0), mut_i32);
            sp_global[j] = Some(n_globals);
            n_globals += 1;
        }
    }
    let mut got_global = hashbrown::HashMap::new();
    for got in &plan.gots {
        imports.import("env", &env::got(*got), mut_i32);
        got_global.insert(*got, n_globals);
        n_globals += 1;
    }
    // Library entry points and exported functions.
    struct LibFuncs {
        init: u32,
        fill: Option<u32>,
        start: Option<u32>,
        relocs: Option<u32>,
        ctor: Option<u32>,
        dtor: Option<u32>,
    }
    let mut lib_funcs = Vec::with_capacity(plan.libs.len());
    for lib in &plan.libs {
        let m = lib.group.module_name();
        let id = lib.lib;
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
        let fill = (lib.exported > 0).then(|| import_fn(FILL_EXPORT, 2, &mut imports));
        let start = lib.start.then(|| import_fn(START_EXPORT, 0, &mut imports));
        let relocs = lib
            .apply_data_relocs
            .then(|| import_fn("__wasm_apply_data_relocs", 0, &mut imports));
        let ctor = lib.ctor.as_deref().map(|c| import_fn(c, 0, &mut imports));
        let dtor = lib
            .dtor
            .then(|| import_fn("__wasm_call_dtors", 0, &mut imports));
        lib_funcs.push(LibFuncs {
            init,
            fill,
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
    // After dispatch, start and the steps.
    let fill = n_funcs + 2 + N_OPS * n;
    funcs.function(4);
    {
        let mut f = Function::new([]);
        f.instructions()
            // Fill's operand is a slot, not a library.
            .local_get(0)
            .i32_const(Op::Fill.code())
            .i32_eq()
            .if_(BlockType::Empty)
            .local_get(1)
            .call(fill)
            .i32_const(1)
            .return_()
            .end()
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
    for op in Op::STEPS {
        for (j, lib) in plan.libs.iter().enumerate() {
            funcs.function(3);
            let (mb, tb) = base_globals[j];
            let lf = &lib_funcs[j];
            let mut f = Function::new([(1, ValType::I32)]);
            let mut ins = f.instructions();
            match op {
                Op::Alloc => {
                    // Placed before: reuse the memory (zeroed again) and the slots. (A
                    // prelinked library is never unloaded: its data would be lost.)
                    ins.global_get(tb).if_(BlockType::Empty);
                    if let MemoryPlan::Malloc { size, .. } = lib.memory {
                        ins.global_get(mb)
                            .i32_const(0)
                            .i32_const(size as i32)
                            .memory_fill(0);
                    }
                    ins.i32_const(Alloc::Ok.code()).return_().end();
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
                    match lib.memory {
                        MemoryPlan::None => {}
                        MemoryPlan::Fixed(base) => {
                            // Its region starts zeroed, and holds its data already.
                            ins.i32_const(base as i32).global_set(mb);
                        }
                        MemoryPlan::Malloc { size, align } => {
                            ins.global_get(mb).i32_eqz().if_(BlockType::Empty);
                            // parse bounds size + align - 1 by u32::MAX.
                            malloc_or_fail(&mut ins, size.saturating_add(align - 1));
                            ins.local_get(0)
                                .i32_const((align - 1) as i32)
                                .i32_add()
                                .i32_const(align.wrapping_neg() as i32)
                                .i32_and()
                                .global_set(mb)
                                .end()
                                .global_get(mb)
                                .i32_const(0)
                                .i32_const(size as i32)
                                .memory_fill(0);
                        }
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
                    match lib.table {
                        TablePlan::Fixed { base, .. } => {
                            // Inside main's initial table (see `layout::Prelink`).
                            ins.i32_const(base.0 as i32).global_set(tb);
                        }
                        TablePlan::Take { slots, align } => {
                            // The base is the table size rounded up to `align`; the slots in
                            // between stay null. Main's table (at most MAX_TABLE_SLOTS, which
                            // the loader never passes) cannot wrap here.
                            let room = MAX_TABLE_SLOTS.saturating_sub(slots);
                            let talign = align as i32;
                            if let (Some(fa), true) = (ftalloc, slots > 0) {
                                // Main's allocator grows the table itself, and checks its own
                                // limits.
                                super::ftalloc::emit_alloc(
                                    &mut ins,
                                    fa,
                                    slots,
                                    align,
                                    0,
                                    Alloc::FtallocFailed.code(),
                                    Alloc::FtallocBad.code(),
                                );
                                // Null: `Op::Fill` fills the slots init leaves null, and
                                // `ftalloc` may hand out slots that held something.
                                ins.local_get(0)
                                    .ref_null(wasm_encoder::HeapType::FUNC)
                                    .i32_const(slots as i32)
                                    .table_fill(0)
                                    .local_get(0)
                                    .global_set(tb);
                            } else {
                                ins.table_size(0)
                                    .i32_const(talign - 1)
                                    .i32_add()
                                    .i32_const(-talign)
                                    .i32_and()
                                    .local_tee(0)
                                    // A table past MAX_TABLE_SLOTS is refused before wasmtime
                                    // tries to allocate it (a huge `table.grow` may abort the
                                    // program, not fail).
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
                        }
                    }
                    // The library's own init fills its function slots (see `library`).
                    for a in &lib.assigns {
                        let global = match a.target {
                            Target::Got(got) => match got_global.get(&got) {
                                Some(g) => *g,
                                None => continue,
                            },
                            Target::Main(i) => main_global + i,
                        };
                        match a.value {
                            Value::Memory(off) => ins.global_get(mb).i32_const(off as i32),
                            Value::Table(slot) => ins.global_get(tb).i32_const(slot.0 as i32),
                        };
                        ins.i32_add().global_set(global);
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
                    let slots = lib.table.slots();
                    // Fixed slots are main's own (a prelinked library is never unloaded).
                    let take = matches!(lib.table, TablePlan::Take { .. });
                    if let (Some(ff), true, true) = (ftfree, slots > 0, take) {
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
                // Not a step (not in `Op::STEPS`): dispatch calls `fill` instead.
                Op::Fill => {
                    ins.unreachable();
                }
                Op::Destruct => {
                    // `__cxa_atexit` registrations (destructor attributes), most recent first,
                    // then the library's own destructor entry point.
                    if let Some(d) = drain {
                        ins.i32_const(lib.lib.0 as i32).call(d);
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
    // fill(slot): `Op::Fill`.
    funcs.function(5);
    code.function(&fill_body(
        plan,
        &base_globals,
        &lib_funcs.iter().map(|l| l.fill).collect::<Vec<_>>(),
    ));
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

/// `fill(slot)` ([`Op::Fill`]): when `slot` is in main's table and null, and it is the slot of
/// an exported function of a placed library (table base not 0), that library's fill function
/// fills it. `fills[j]` is library j's fill function, if it exports functions.
fn fill_body(plan: &LoaderPlan, base_globals: &[(u32, u32)], fills: &[Option<u32>]) -> Function {
    let mut f = Function::new([(1, ValType::I32)]);
    let mut ins = f.instructions();
    ins.local_get(0)
        .table_size(0)
        .i32_ge_u()
        .if_(BlockType::Empty)
        .return_()
        .end()
        .local_get(0)
        .table_get(0)
        .ref_is_null()
        .i32_eqz()
        .if_(BlockType::Empty)
        .return_()
        .end();
    for ((lib, fill), (_, tb)) in plan.libs.iter().zip(fills).zip(base_globals) {
        let Some(fill) = *fill else { continue };
        let own = lib.table.slots().saturating_sub(lib.exported);
        // k = slot - base - own, unsigned: below `exported` only for this library's slots.
        ins.global_get(*tb)
            .if_(BlockType::Empty)
            .local_get(0)
            .global_get(*tb)
            .i32_sub()
            .i32_const(own as i32)
            .i32_sub()
            .local_tee(1)
            .i32_const(lib.exported as i32)
            .i32_lt_u()
            .if_(BlockType::Empty)
            .global_get(*tb)
            .local_get(1)
            .call(fill)
            .return_()
            .end()
            .end();
    }
    ins.end();
    f
}
