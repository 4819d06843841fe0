//! All-PIC input sets (the wasi-sdk model): a main that is itself a `-shared` library, beside a
//! PIC `libc.so` and plugins. Nothing in such a set owns the memory, the table or the stack, so
//! the composer synthesizes a small non-PIC *root* main module that does, and treats the PIC
//! main as a library the root is linked against. The rest of the pipeline is unchanged: the
//! PIC main (and, through its imports, libc.so) is loaded before the root's `_start`, which
//! then calls the PIC main's entry point through its PLT entry (see `plt`).
//!
//! The root provides:
//! - `memory` with a 1 MiB stack at its bottom (`__stack_pointer`, `__stack_low`,
//!   `__stack_high`), and `__heap_base` = `__heap_end` at its top, so libc's allocator starts
//!   empty and takes memory with `memory.grow`;
//! - the table, growable;
//! - `cabi_realloc` and `__cxa_atexit`: libc's, through PLT entries;
//! - `malloc`/`free` for the loader and the dl shim (libc's allocator is a library that is not
//!   loaded when the first library is placed): power-of-two blocks with free lists, over pages it
//!   grows itself, written in Rust (`root-alloc/`, fitted in by `runtime`);
//! - every host function the libraries import (WASI preview 2 interfaces, preview 1), imported
//!   (`main_module` re-exports them to the libraries), with the libraries' `component-type`
//!   sections so that wit-component knows their WIT types;
//! - the command's entry point, which calls the PIC main's `wasi:cli/run@0.2.0#run` or
//!   `_start`: [`RUN_EXPORT`] when the libraries use WASI preview 2 (wasi-libc's preview 2
//!   `libc.so` declares a world that exports it; the preview 1 adapter, if a library needs it,
//!   is then the reactor one), else `_start` (the command adapter calls it), which exits with
//!   status 1 through `proc_exit` when the PIC main's `run` reports an error.

use crate::parse::Library;
use crate::resolve::is_host_module;
use anyhow::{bail, Result};
use std::borrow::Cow;
use wasm_dl_abi::root::{ALLOC_STATE, STACK_LOW};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, CustomSection, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, GlobalSection, GlobalType, ImportSection, MemorySection, MemoryType,
    Module, RefType, TableSection, TableType, TypeSection, ValType,
};
use wasmparser::{FuncType, Parser, Payload};

/// The stack's top (it grows down towards `STACK_LOW`).
const STACK_HIGH: u32 = 1 << 20;
/// The root allocator: `malloc`/`free` (the `wasm-dl-root-alloc` crate, as wasm-ld links it).
const ROOT_ALLOC: &[u8] = include_bytes!("../../../root-alloc/wasm-dl-root-alloc.wasm");
/// The largest stack a root may be given (`Composer::stack_size`): 1 GiB, a quarter of a
/// 32-bit memory, so that the heap keeps room.
pub const MAX_STACK_SIZE: u32 = 1 << 30;

pub use crate::parse::RUN_EXPORT;

/// The PIC main's entry point export, in order of preference.
const ENTRIES: &[&str] = &[RUN_EXPORT, "_start"];

/// Whether `bytes` is a position-independent main module (it has `dylink.0` and imports its
/// memory): the all-PIC model.
pub fn is_pic_main(bytes: &[u8]) -> bool {
    let mut dylink = false;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::CustomSection(c)) if c.name() == "dylink.0" => dylink = true,
            Ok(Payload::ImportSection(r)) => {
                return dylink
                    && r.into_imports()
                        .any(|i| i.is_ok_and(|i| matches!(i.ty, wasmparser::TypeRef::Memory(_))));
            }
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => return false,
            _ => {}
        }
    }
    false
}

/// The PIC main's entry point: its name, and whether it returns a status (`run`).
pub fn entry(pic_main: &Library<'_>) -> Result<(&'static str, bool)> {
    for e in ENTRIES {
        if let Some((_, ty)) = pic_main.funcs.iter().find(|(n, _)| n == e) {
            let status = match (ty.params(), ty.results()) {
                ([], []) => false,
                ([], [wasmparser::ValType::I32]) => true,
                _ => bail!("{}: its `{e}` export has an unexpected type", pic_main.name),
            };
            return Ok((e, status));
        }
    }
    bail!(
        "{}: is position-independent (linked with `-shared`) but exports no entry point \
         (`_start` or `wasi:cli/run@0.2.0#run`); link it with a `crt1-command.o`, or give an \
         ordinary (non-PIC) main module",
        pic_main.name
    )
}

/// Where the stack ends (its top, page-aligned) for a stack of `stack_size` bytes above
/// `STACK_LOW`; `None` keeps the default 1 MiB region.
fn stack_high(stack_size: Option<u32>) -> Result<u32> {
    let Some(size) = stack_size else {
        return Ok(STACK_HIGH);
    };
    if size > MAX_STACK_SIZE {
        bail!("a stack size of {size} bytes is more than wasm-dl allows ({MAX_STACK_SIZE}); give a smaller one");
    }
    // Page-aligned, so that the heap the bump allocator grows starts on a page.
    Ok((STACK_LOW + size).div_ceil(1 << 16) << 16)
}

/// Encodes the root module for `pic_main` and the libraries of the set (`pic_main` included),
/// with a stack of `stack_size` bytes (default: 1 MiB less the first KiB).
pub fn encode(
    pic_main: &Library<'_>,
    libs: &[Library<'_>],
    stack_size: Option<u32>,
) -> Result<Vec<u8>> {
    let stack_high = stack_high(stack_size)?;
    // Pages of the initial memory: the stack, then one page the bump allocator starts in.
    let initial_pages = u64::from(stack_high >> 16) + 1;
    let (entry, status) = entry(pic_main)?;
    // Host imports of every library, once each.
    let mut host: Vec<(&str, &str, &FuncType)> = Vec::new();
    for lib in libs {
        for imp in &lib.imports {
            let crate::parse::ImportKind::Func(ty) = &imp.kind else {
                continue;
            };
            if !is_host_module(&imp.module) {
                continue;
            }
            match host
                .iter()
                .find(|(m, f, _)| *m == imp.module && *f == imp.field)
            {
                Some((_, _, t)) if *t != ty => bail!(
                    "{}: imports `{}.{}` with another type than other modules do",
                    lib.name,
                    imp.module,
                    imp.field
                ),
                Some(_) => {}
                None => host.push((&imp.module, &imp.field, ty)),
            }
        }
    }

    // WASI preview 2 libraries: the root is a preview 2 command (it exports `run`); otherwise a
    // preview 1 one (it exports `_start`).
    let preview2 = host.iter().any(|(m, _, _)| m.starts_with("wasi:"));
    let proc_exit_ty = FuncType::new([wasmparser::ValType::I32], []);
    if !preview2 && status {
        match host
            .iter()
            .find(|(m, f, _)| *m == "wasi_snapshot_preview1" && *f == "proc_exit")
        {
            Some((_, _, t)) if **t != proc_exit_ty => {
                bail!("`wasi_snapshot_preview1.proc_exit` is imported with the wrong type")
            }
            Some(_) => {}
            None => host.push(("wasi_snapshot_preview1", "proc_exit", &proc_exit_ty)),
        }
    }

    let mut types = TypeSection::new();
    if preview2 {
        types.ty().function([], [ValType::I32]); // 0: run
    } else {
        types.ty().function([], []); // 0: _start
    }
    let entry_results: &[ValType] = if status { &[ValType::I32] } else { &[] };
    types.ty().function([], entry_results.iter().copied()); // 1: entry
    let mut imports = ImportSection::new();
    let mut exports = ExportSection::new();
    imports.import("env", entry, EntityType::Function(1));
    let entry_fn = 0;
    // Functions of libc that the component needs from main, reached through PLT entries:
    // wit-component lowers preview 2 imports that return lists with main's `cabi_realloc`, and
    // the per-library destructor lists (`atexit`) register with main's `__cxa_atexit`.
    let mut first_host = 1;
    for (name, params) in [("cabi_realloc", 4), (super::atexit::SYMBOL, 3)] {
        let ty = FuncType::new(
            vec![wasmparser::ValType::I32; params],
            [wasmparser::ValType::I32],
        );
        if libs
            .iter()
            .any(|l| l.funcs.iter().any(|(n, t)| n == name && *t == ty))
        {
            types
                .ty()
                .function(vec![ValType::I32; params], [ValType::I32]);
            imports.import("env", name, EntityType::Function(types.len() - 1));
            exports.export(name, ExportKind::Func, first_host);
            first_host += 1;
        }
    }
    for (module, field, ty) in &host {
        let (params, results) = super::rewrite::func_type(ty)?;
        types.ty().function(params, results);
        imports.import(module, field, EntityType::Function(types.len() - 1));
    }
    let n_imports = first_host + host.len() as u32;
    let proc_exit = host
        .iter()
        .position(|(m, f, _)| *m == "wasi_snapshot_preview1" && *f == "proc_exit")
        .map(|i| first_host + i as u32);

    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let run = n_imports;
    funcs.function(0);
    {
        let mut f = Function::new([]);
        let mut ins = f.instructions();
        ins.call(entry_fn);
        match (preview2, status, proc_exit) {
            (true, false, _) => {
                ins.i32_const(0);
            }
            (false, true, Some(exit)) => {
                ins.if_(BlockType::Empty).i32_const(1).call(exit).end();
            }
            _ => {}
        }
        ins.end();
        code.function(&f);
    }
    // malloc/free: the committed root allocator (`root-alloc/`, see `runtime`), its state in
    // globals 5 (next) and 6 (end), after `run`.
    let (g_next, g_end) = (5u32, 6u32);
    let alloc = super::runtime::Linked::parse("root allocator", ROOT_ALLOC)?;
    let globals_of_state = alloc
        .state()
        .iter()
        .map(|name| match ALLOC_STATE.iter().position(|s| s == name) {
            Some(0) => Ok(g_next),
            Some(_) => Ok(g_end),
            None => bail!("internal error: the root allocator keeps unknown state `{name}`"),
        })
        .collect::<Result<Vec<u32>>>()?;
    let placement = super::runtime::Placement {
        type_base: types.len(),
        imports: Vec::new(),
        func_base: run + 1,
        globals: globals_of_state,
    };
    alloc.encode_types(&mut types)?;
    for ty in alloc.func_types() {
        funcs.function(placement.type_base + ty);
    }
    alloc.encode_code(&placement, &mut code)?;
    let malloc = alloc.export(&placement, "malloc")?;
    let free = alloc.export(&placement, "free")?;

    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        minimum: 1,
        maximum: None,
        table64: false,
        shared: false,
    });
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: initial_pages,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    let constant = |v: u32, mutable: bool, g: &mut GlobalSection| {
        g.global(
            GlobalType {
                val_type: ValType::I32,
                mutable,
                shared: false,
            },
            &ConstExpr::i32_const(v as i32),
        );
    };
    constant(stack_high, true, &mut globals); // 0 __stack_pointer
    constant(stack_high, false, &mut globals); // 1 __stack_high
    constant(STACK_LOW, false, &mut globals); // 2 __stack_low
    constant(stack_high, false, &mut globals); // 3 __heap_base
    constant(stack_high, false, &mut globals); // 4 __heap_end
    constant(stack_high, true, &mut globals); // 5 bump: next
                                              // At most 2^14 + 1 pages (MAX_STACK_SIZE), so the shift stays within 32 bits.
    constant((initial_pages as u32) << 16, true, &mut globals); // 6 bump: end

    exports.export("memory", ExportKind::Memory, 0);
    exports.export(super::main_module::TABLE_EXPORT, ExportKind::Table, 0);
    exports.export("__stack_pointer", ExportKind::Global, 0);
    exports.export("__stack_high", ExportKind::Global, 1);
    exports.export("__stack_low", ExportKind::Global, 2);
    exports.export("__heap_base", ExportKind::Global, 3);
    exports.export("__heap_end", ExportKind::Global, 4);
    exports.export(
        if preview2 { RUN_EXPORT } else { "_start" },
        ExportKind::Func,
        run,
    );
    exports.export("malloc", ExportKind::Func, malloc);
    exports.export("free", ExportKind::Func, free);

    let mut module = Module::new();
    module.section(&types);
    module.section(&imports);
    module.section(&funcs);
    module.section(&tables);
    module.section(&memories);
    module.section(&globals);
    module.section(&exports);
    module.section(&code);
    // The WIT of the host imports, for wit-component (which merges these sections).
    let mut seen: Vec<(&str, &[u8])> = Vec::new();
    for lib in libs {
        for payload in Parser::new(0).parse_all(lib.bytes) {
            let Ok(Payload::CustomSection(c)) = payload else {
                continue;
            };
            let key = (c.name(), c.data());
            if c.name().starts_with("component-type") && !seen.contains(&key) {
                seen.push(key);
                module.section(&CustomSection {
                    name: Cow::Borrowed(c.name()),
                    data: Cow::Borrowed(c.data()),
                });
            }
        }
    }
    Ok(module.finish())
}
