//! Per-library destructor lists: what glibc keys by `__dso_handle`.
//!
//! clang registers a shared library's `__attribute__((destructor))` functions (and C++ static
//! destructors) with `__cxa_atexit`, which the library imports from main's libc. Bound there
//! directly, they would run only at exit. Instead each library's `__cxa_atexit` import is bound
//! to `reg<lib>` here: the entry goes on that library's list, and the first registration also
//! registers [`DRAIN_EXPORT`]`(lib)` with main's own `__cxa_atexit`. So `dlclose` (the loader's
//! destruct step) drains the list, most recent first, and whatever is still registered at exit
//! runs then, as on Linux.
//!
//! The lists themselves are Rust (`atexit/`, committed as `atexit/wasm-dl-atexit.wasm` and
//! fitted here by `runtime`); this module adds what differs per composition (the library count,
//! one `reg<lib>` per library that registers) and the two functions Rust cannot write: taking a
//! table slot for `drain` (`ref.func`, with `table.grow` or main's `ftalloc`) and calling a
//! destructor through main's table (`call_indirect`).

use crate::synth::ftalloc::TableAllocator;
use anyhow::{bail, Result};
use wasm_dl_abi::ftalloc::FTALLOC_EXPORT;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection, Module,
    TypeSection, ValType,
};

/// The committed lists (`atexit/`; rebuild with `scripts/build-runtime.sh`).
const LISTS: &[u8] = include_bytes!("../../../atexit/wasm-dl-atexit.wasm");
/// The import module of what this module writes for the lists.
const TABLE_MODULE: &str = "wasm-dl-table";

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

/// Encodes the module for `n_libs` libraries; `users` are the libraries that import
/// `__cxa_atexit` (each gets a `reg<lib>` export). With main's table allocator, the drain
/// function's slot comes from its `ftalloc` (see `synth::ftalloc`), not `table.grow`.
pub fn encode(n_libs: u32, users: &[u32], table_alloc: Option<TableAllocator>) -> Result<Vec<u8>> {
    let lists = super::runtime::Linked::parse("destructor lists", LISTS)?;
    let mut types = TypeSection::new();
    lists.encode_types(&mut types)?;
    let ty = |types: &mut TypeSection, params: &[ValType], results: &[ValType]| {
        types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
        types.len() - 1
    };
    let i32 = ValType::I32;
    let slot_ty = ty(&mut types, &[], &[i32]);
    let call_ty = ty(&mut types, &[i32, i32], &[]);
    let destructor_ty = ty(&mut types, &[i32], &[]);
    let reg_ty = ty(&mut types, &[i32, i32, i32], &[i32]);
    let ftalloc_ty = ty(&mut types, &[i32, i32], &[i32]);

    let mut imports = ImportSection::new();
    imports.import("main", "memory", super::ANY_MEMORY);
    imports.import(
        "main",
        super::main_module::TABLE_EXPORT,
        super::ANY_FUNC_TABLE,
    );
    // The lists' imports from main, as they are; then main's `ftalloc`.
    let mut n_imports = 0u32;
    for (module, name, ty) in lists.func_imports() {
        if module == "main" {
            imports.import(module, name, EntityType::Function(ty));
            n_imports += 1;
        }
    }
    let ftalloc = table_alloc.map(|_| {
        imports.import("main", FTALLOC_EXPORT, EntityType::Function(ftalloc_ty));
        n_imports += 1;
        n_imports - 1
    });
    // Defined: drain_slot, call, the lists' functions, then reg<lib> per user.
    let (slot_fn, call_fn) = (n_imports, n_imports + 1);
    let func_base = n_imports + 2;
    let mut main_funcs = 0u32;
    let mut placed = Vec::new();
    for (module, name, _) in lists.func_imports() {
        placed.push(match (module, name) {
            ("main", _) => {
                main_funcs += 1;
                main_funcs - 1
            }
            (TABLE_MODULE, "drain_slot") => slot_fn,
            (TABLE_MODULE, "call") => call_fn,
            _ => bail!("internal error: the destructor lists import {module}.{name}"),
        });
    }
    // Globals: the library count, the lists' address, the drain function's slot.
    let (libs_global, lists_global, slot_global) = (0, 1, 2);
    let globals = lists
        .state()
        .iter()
        .map(|name| match *name {
            "libs" => Ok(libs_global),
            "lists" => Ok(lists_global),
            other => bail!("internal error: the destructor lists keep unknown state `{other}`"),
        })
        .collect::<Result<Vec<u32>>>()?;
    let placement = super::runtime::Placement {
        type_base: 0,
        imports: placed,
        func_base,
        globals,
    };
    let drain = lists.export(&placement, DRAIN_EXPORT)?;
    let register_fn = lists.export(&placement, "register")?;

    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    // drain_slot() -> slot, taken the first time; -1 when main's table has none to give.
    funcs.function(slot_ty);
    {
        let mut f = Function::new([(1, ValType::I32)]);
        let mut ins = f.instructions();
        ins.global_get(slot_global)
            .i32_const(-1)
            .i32_eq()
            .if_(BlockType::Empty);
        match ftalloc {
            // Never given back: main's exit calls it.
            Some(fa) => {
                crate::synth::ftalloc::emit_alloc(&mut ins, fa, 1, 1, 0, -1, -1);
                ins.local_get(0).ref_func(drain).table_set(0);
            }
            None => {
                ins.ref_func(drain)
                    .i32_const(1)
                    .table_grow(0)
                    .local_tee(0)
                    .i32_const(-1)
                    .i32_eq()
                    .if_(BlockType::Empty)
                    .i32_const(-1)
                    .return_()
                    .end();
            }
        }
        ins.local_get(0).global_set(slot_global).end();
        ins.global_get(slot_global).end();
        code.function(&f);
    }
    // call(func, arg): func(arg) through main's table.
    funcs.function(call_ty);
    {
        let mut f = Function::new([]);
        f.instructions()
            .local_get(1)
            .local_get(0)
            .call_indirect(0, destructor_ty)
            .end();
        code.function(&f);
    }
    for ty in lists.func_types() {
        funcs.function(*ty);
    }
    lists.encode_code(&placement, &mut code)?;
    let mut exports = ExportSection::new();
    exports.export(DRAIN_EXPORT, ExportKind::Func, drain);
    // reg<lib>(func, arg, dso) for each library that registers destructors.
    let reg_base = func_base + lists.func_types().len() as u32;
    for (k, lib) in users.iter().enumerate() {
        funcs.function(reg_ty);
        let mut f = Function::new([]);
        f.instructions()
            .i32_const(*lib as i32)
            .local_get(0)
            .local_get(1)
            .call(register_fn)
            .end();
        code.function(&f);
        exports.export(&register(*lib), ExportKind::Func, reg_base + k as u32);
    }
    let mut global_section = GlobalSection::new();
    let global = |mutable: bool, value: i32, g: &mut GlobalSection| {
        let ty = GlobalType {
            val_type: ValType::I32,
            mutable,
            shared: false,
        };
        g.global(ty, &ConstExpr::i32_const(value));
    };
    global(false, n_libs as i32, &mut global_section);
    global(true, 0, &mut global_section);
    global(true, -1, &mut global_section);
    let mut elems = ElementSection::new();
    elems.declared(Elements::Functions(std::borrow::Cow::Owned(vec![drain])));

    let mut module = Module::new();
    module.section(&types);
    module.section(&imports);
    module.section(&funcs);
    module.section(&global_section);
    module.section(&exports);
    module.section(&elems);
    module.section(&code);
    Ok(module.finish())
}
