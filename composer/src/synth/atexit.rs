//! Per-library destructor lists: what glibc keys by `__dso_handle`.
//!
//! clang registers a shared library's `__attribute__((destructor))` functions (and C++ static
//! destructors) with `__cxa_atexit`, which the library imports from main's libc. Bound there
//! directly, they would run only at exit. Instead each library's `__cxa_atexit` import is bound
//! to `reg<lib>` here: the entry goes on that library's list, and the first registration also
//! registers [`DRAIN_EXPORT`]`(lib)` with main's own `__cxa_atexit`. So `dlclose` (the loader's
//! destruct step) drains the list, most recent first, and whatever is still registered at exit
//! runs then, as on Linux.

use crate::synth::ftalloc::TableAllocator;
use wasm_dl_abi::ftalloc::FTALLOC_EXPORT;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection, MemArg,
    Module, TypeSection, ValType,
};

/// Import module name of this module's instance.
pub const MODULE: &str = "atexit";
/// Export that runs and empties a library's list: `(func (param lib))`.
pub const DRAIN_EXPORT: &str = "drain";
/// The symbol a library's import of which is bound here.
pub const SYMBOL: &str = "__cxa_atexit";

/// Export name of library `lib`'s `__cxa_atexit`.
pub fn register(lib: u32) -> String {
    format!("reg{lib}")
}

fn mem(offset: u64) -> MemArg {
    MemArg {
        offset,
        align: 2,
        memory_index: 0,
    }
}

/// Encodes the module for `n_libs` libraries; `users` are the libraries that import
/// `__cxa_atexit` (each gets a `reg<lib>` export). With main's table allocator, the drain
/// function's slot comes from its `ftalloc` (see `synth::ftalloc`), not `table.grow`.
pub fn encode(n_libs: u32, users: &[u32], table_alloc: Option<TableAllocator>) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]); // 0 malloc
    types.ty().function([ValType::I32], []); // 1 free, drain, destructor
    types
        .ty()
        .function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32]); // 2 __cxa_atexit
    types
        .ty()
        .function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32]); // 3 register
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]); // 4 ftalloc
    let mut imports = ImportSection::new();
    imports.import("main", "memory", super::ANY_MEMORY);
    imports.import(
        "main",
        crate::synth::main_module::TABLE_EXPORT,
        super::ANY_FUNC_TABLE,
    );
    let (malloc, free, cxa_atexit) = (0, 1, 2);
    imports.import("main", "malloc", EntityType::Function(0));
    imports.import("main", "free", EntityType::Function(1));
    imports.import("main", SYMBOL, EntityType::Function(2));
    let ftalloc = table_alloc.map(|_| {
        imports.import("main", FTALLOC_EXPORT, EntityType::Function(4));
        3
    });
    let n_imports = 3 + u32::from(ftalloc.is_some());
    let (register_fn, drain_fn) = (n_imports, n_imports + 1);

    let mut globals = GlobalSection::new();
    let mut_i32 = GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    };
    // Pointer to 2 * n_libs words in main's memory (list heads, then "registered with main"
    // flags), allocated at the first registration; the drain function's table slot.
    let (lists, drain_slot) = (0, 1);
    globals.global(mut_i32, &ConstExpr::i32_const(0));
    globals.global(mut_i32, &ConstExpr::i32_const(-1));

    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let n = n_libs as i32;

    // register(lib, func, arg) -> 0, or -1 when out of memory (or table slots).
    funcs.function(3);
    {
        let (lib, func, arg, node) = (0, 1, 2, 3);
        let mut f = Function::new([(1, ValType::I32)]);
        let mut ins = f.instructions();
        ins.global_get(lists)
            .i32_eqz()
            .if_(BlockType::Empty)
            .i32_const(8 * n)
            .call(malloc)
            .global_set(lists)
            .global_get(lists)
            .i32_eqz()
            .if_(BlockType::Empty)
            .i32_const(-1)
            .return_()
            .end()
            .global_get(lists)
            .i32_const(0)
            .i32_const(8 * n)
            .memory_fill(0)
            .end();
        ins.global_get(drain_slot)
            .i32_const(-1)
            .i32_eq()
            .if_(BlockType::Empty);
        if let Some(fa) = ftalloc {
            // Never given back: main's exit calls it.
            crate::synth::ftalloc::emit_alloc(&mut ins, fa, 1, 1, node, -1, -1);
            ins.local_get(node)
                .ref_func(drain_fn)
                .table_set(0)
                .local_get(node)
                .global_set(drain_slot);
        } else {
            ins.ref_func(drain_fn)
                .i32_const(1)
                .table_grow(0)
                .global_set(drain_slot);
        }
        ins.end();
        // The first time: have main's exit drain this library's list too.
        ins.global_get(lists)
            .local_get(lib)
            .i32_const(2)
            .i32_shl()
            .i32_add()
            .i32_load(mem(4 * n as u64))
            .i32_eqz()
            .if_(BlockType::Empty)
            .global_get(lists)
            .local_get(lib)
            .i32_const(2)
            .i32_shl()
            .i32_add()
            .i32_const(1)
            .i32_store(mem(4 * n as u64))
            .global_get(drain_slot)
            .local_get(lib)
            .i32_const(0)
            .call(cxa_atexit)
            .drop()
            .end();
        // Push (func, arg) on the library's list.
        ins.i32_const(12)
            .call(malloc)
            .local_tee(node)
            .i32_eqz()
            .if_(BlockType::Empty)
            .i32_const(-1)
            .return_()
            .end()
            .local_get(node)
            .local_get(func)
            .i32_store(mem(0))
            .local_get(node)
            .local_get(arg)
            .i32_store(mem(4))
            .local_get(node)
            .global_get(lists)
            .local_get(lib)
            .i32_const(2)
            .i32_shl()
            .i32_add()
            .i32_load(mem(0))
            .i32_store(mem(8))
            .global_get(lists)
            .local_get(lib)
            .i32_const(2)
            .i32_shl()
            .i32_add()
            .local_get(node)
            .i32_store(mem(0))
            .i32_const(0)
            .end();
        code.function(&f);
    }
    // drain(lib): run and free the list, most recent first (entries added meanwhile run too).
    funcs.function(1);
    {
        let (lib, head, node) = (0, 1, 2);
        let mut f = Function::new([(2, ValType::I32)]);
        let mut ins = f.instructions();
        ins.global_get(lists)
            .i32_eqz()
            .local_get(lib)
            .i32_const(n)
            .i32_ge_u()
            .i32_or()
            .if_(BlockType::Empty)
            .return_()
            .end()
            .global_get(lists)
            .local_get(lib)
            .i32_const(2)
            .i32_shl()
            .i32_add()
            .local_set(head)
            .block(BlockType::Empty)
            .loop_(BlockType::Empty)
            .local_get(head)
            .i32_load(mem(0))
            .local_tee(node)
            .i32_eqz()
            .br_if(1)
            .local_get(head)
            .local_get(node)
            .i32_load(mem(8))
            .i32_store(mem(0))
            .local_get(node)
            .i32_load(mem(4))
            .local_get(node)
            .i32_load(mem(0))
            .call_indirect(0, 1)
            .local_get(node)
            .call(free)
            .br(0)
            .end()
            .end()
            .end();
        code.function(&f);
    }
    let mut exports = ExportSection::new();
    exports.export(DRAIN_EXPORT, ExportKind::Func, drain_fn);
    // reg<lib>(func, arg, dso) for each library that registers destructors.
    for (k, lib) in users.iter().enumerate() {
        funcs.function(2);
        let mut f = Function::new([]);
        f.instructions()
            .i32_const(*lib as i32)
            .local_get(0)
            .local_get(1)
            .call(register_fn)
            .end();
        code.function(&f);
        exports.export(&register(*lib), ExportKind::Func, n_imports + 2 + k as u32);
    }
    let mut elems = ElementSection::new();
    elems.declared(Elements::Functions(std::borrow::Cow::Owned(vec![drain_fn])));

    let mut module = Module::new();
    module.section(&types);
    module.section(&imports);
    module.section(&funcs);
    module.section(&globals);
    module.section(&exports);
    module.section(&elems);
    module.section(&code);
    module.finish()
}
