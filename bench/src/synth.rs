//! Synthetic `dylink.0` side modules, shaped like what `wasm-ld-19 -shared --experimental-pic`
//! writes for a C library (see TOOLCHAIN.md), at any scale.
//!
//! Library `i` (file `lib{i}.so`) with `m` exports defines
//! - `m` functions `l{i}_f{k}: (i32) -> i32`, each returning `x + l{i}_d{k}` (a load at
//!   `__memory_base + 4k`);
//! - `m` data symbols `l{i}_d{k}` (exported immutable i32 globals holding the offset `4k`), backed by
//!   one active data segment at `global.get __memory_base`;
//! - `__wasm_call_ctors` and `__wasm_apply_data_relocs` (empty, as wasm-ld emits them).
//!
//! It imports `env.memory`, `env.__indirect_function_table`, `env.__stack_pointer` (used by its last
//! function, like a function with a stack frame), `env.__memory_base`, `env.__table_base`, its own
//! `GOT.mem.l{i}_d0` / `GOT.func.l{i}_f0` (wasm-ld imports default-visibility symbols whose address
//! is taken through the GOT, even its own), and for `i > 0` up to [`LINKS`] functions
//! `env.l{i-1}_f{j}` plus `GOT.mem.l{i-1}_d{j}` and `GOT.func.l{i-1}_f{j}` of the previous library:
//! `l{i}_f{j}` (j < LINKS) also adds `l{i-1}_d{j}`, the address of `l{i-1}_f{j}` and the result of
//! calling it.

use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, Encode, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection,
    Instruction, MemArg, MemoryType, Module, RefType, TableType, TypeSection, ValType,
};

/// How many symbols of the previous library each library imports (functions, GOT.mem, GOT.func).
pub const LINKS: u32 = 10;

/// Name of library `i`'s file (what `dlopen` finds it by).
pub fn lib_name(i: u32) -> String {
    format!("lib{i}.so")
}

fn func_name(i: u32, k: u32) -> String {
    format!("l{i}_f{k}")
}

fn data_name(i: u32, k: u32) -> String {
    format!("l{i}_d{k}")
}

fn dylink0(mem_size: u32, mem_align: u32) -> Vec<u8> {
    // Subsection 1 (WASM_DYLINK_MEM_INFO): memsize, memalign (log2), tablesize, tablealign (log2).
    let mut mem_info = Vec::new();
    mem_size.encode(&mut mem_info);
    mem_align.encode(&mut mem_info);
    0u32.encode(&mut mem_info);
    0u32.encode(&mut mem_info);
    let mut data = vec![1u8];
    mem_info.encode(&mut data); // length-prefixed payload
    data
}

/// Library `i` of a set, with `m` exported functions and `m` exported data symbols.
pub fn library(i: u32, m: u32) -> Vec<u8> {
    let links = if i == 0 { 0 } else { LINKS.min(m) };
    let mut module = Module::new();
    module.section(&CustomSection {
        name: "dylink.0".into(),
        data: dylink0(4 * m, 2).into(),
    });

    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]); // 0: symbol functions
    types.ty().function([], []); // 1: ctors, relocs
    module.section(&types);

    // Imports, in wasm-ld's order. Globals: 0 __stack_pointer, 1 __memory_base, 2 __table_base,
    // 3 GOT.mem own d0, 4 GOT.func own f0, 5.. GOT.mem prev, 5+links.. GOT.func prev.
    let mut imports = ImportSection::new();
    imports.import(
        "env",
        "memory",
        EntityType::Memory(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        }),
    );
    imports.import(
        "env",
        "__indirect_function_table",
        EntityType::Table(TableType {
            element_type: RefType::FUNCREF,
            minimum: 0,
            maximum: None,
            table64: false,
            shared: false,
        }),
    );
    let global = |mutable| {
        EntityType::Global(GlobalType {
            val_type: ValType::I32,
            mutable,
            shared: false,
        })
    };
    imports.import("env", "__stack_pointer", global(true));
    imports.import("env", "__memory_base", global(false));
    imports.import("env", "__table_base", global(false));
    for j in 0..links {
        imports.import("env", &func_name(i - 1, j), EntityType::Function(0));
    }
    imports.import("GOT.mem", &data_name(i, 0), global(true));
    imports.import("GOT.func", &func_name(i, 0), global(true));
    for j in 0..links {
        imports.import("GOT.mem", &data_name(i - 1, j), global(true));
    }
    for j in 0..links {
        imports.import("GOT.func", &func_name(i - 1, j), global(true));
    }
    module.section(&imports);

    let (g_sp, g_mb) = (0u32, 1u32);
    let g_got_mem_prev = 5;
    let g_got_func_prev = 5 + links;
    let first_own_global = 5 + 2 * links;
    let first_own_func = links; // after the imported functions
    let ctors = first_own_func;
    let relocs = first_own_func + 1;
    let f = |k: u32| first_own_func + 2 + k;

    let mut funcs = FunctionSection::new();
    funcs.function(1);
    funcs.function(1);
    for _ in 0..m {
        funcs.function(0);
    }
    module.section(&funcs);

    let mut globals = GlobalSection::new();
    for k in 0..m {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: false,
                shared: false,
            },
            &ConstExpr::i32_const((4 * k) as i32),
        );
    }
    module.section(&globals);

    let mut exports = ExportSection::new();
    exports.export("__wasm_call_ctors", ExportKind::Func, ctors);
    exports.export("__wasm_apply_data_relocs", ExportKind::Func, relocs);
    for k in 0..m {
        exports.export(&func_name(i, k), ExportKind::Func, f(k));
        exports.export(&data_name(i, k), ExportKind::Global, first_own_global + k);
    }
    module.section(&exports);

    let mut code = CodeSection::new();
    for _ in 0..2 {
        let mut body = Function::new([]);
        body.instruction(&Instruction::End);
        code.function(&body);
    }
    for k in 0..m {
        let mut body = Function::new([]);
        let load = |offset: u64| {
            Instruction::I32Load(MemArg {
                offset,
                align: 2,
                memory_index: 0,
            })
        };
        let frame = k + 1 == m && k > 0;
        if frame {
            body.instruction(&Instruction::GlobalGet(g_sp))
                .instruction(&Instruction::I32Const(16))
                .instruction(&Instruction::I32Sub)
                .instruction(&Instruction::GlobalSet(g_sp));
        }
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::GlobalGet(g_mb))
            .instruction(&load(4 * k as u64))
            .instruction(&Instruction::I32Add);
        if k < links {
            body.instruction(&Instruction::GlobalGet(g_got_mem_prev + k))
                .instruction(&load(0))
                .instruction(&Instruction::I32Add)
                .instruction(&Instruction::GlobalGet(g_got_func_prev + k))
                .instruction(&Instruction::I32Add)
                .instruction(&Instruction::LocalGet(0))
                .instruction(&Instruction::Call(k))
                .instruction(&Instruction::I32Add);
        }
        if frame {
            body.instruction(&Instruction::GlobalGet(g_sp))
                .instruction(&Instruction::I32Const(16))
                .instruction(&Instruction::I32Add)
                .instruction(&Instruction::GlobalSet(g_sp));
        }
        body.instruction(&Instruction::End);
        code.function(&body);
    }
    module.section(&code);

    let mut data = DataSection::new();
    let mut bytes = Vec::with_capacity(4 * m as usize);
    for k in 0..m {
        bytes.extend_from_slice(&(k + 1).to_le_bytes());
    }
    data.active(0, &ConstExpr::global_get(g_mb), bytes);
    module.section(&data);
    module.finish()
}

/// The `n` libraries of an `n × m` input set, in dependency order (`lib{i}` imports from `lib{i-1}`).
pub fn library_set(n: u32, m: u32) -> Vec<(String, Vec<u8>)> {
    (0..n).map(|i| (lib_name(i), library(i, m))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_valid_and_parse_as_shared_libraries() {
        for (i, m) in [(0, 1), (0, 10), (3, 4), (5, 20)] {
            let bytes = library(i, m);
            wasmparser::Validator::new()
                .validate_all(&bytes)
                .unwrap_or_else(|e| panic!("lib{i} m={m}: {e}"));
            let input = wasm_dl::Input {
                name: lib_name(i),
                bytes,
            };
            let lib = wasm_dl::inspect::library(&input).unwrap();
            assert_eq!(lib.mem_size, 4 * m);
            assert_eq!(lib.mem_align, 2);
            assert_eq!(lib.funcs.len(), m as usize);
            assert_eq!(lib.data.len(), m as usize);
            assert_eq!(lib.data.last().unwrap().1, 4 * (m - 1));
            assert_eq!(lib.ctor.as_deref(), Some("__wasm_call_ctors"));
            let links = if i == 0 { 0 } else { LINKS.min(m) } as usize;
            assert_eq!(lib.imports.len(), 5 + 2 + 3 * links);
        }
    }
}
