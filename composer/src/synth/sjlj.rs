//! The setjmp/longjmp runtime that LLVM's wasm lowering calls (`clang -mllvm -wasm-enable-sjlj`),
//! for programs whose inputs do not define it (Debian's and Rust's wasi-libc have none; emscripten
//! and wasi-sdk ship it as a static library, which a PIC input set cannot share).
//!
//! It is an ordinary shared library, synthesized: every module that calls one of its functions
//! binds to it as to any library (a main through its PLT, loaded at start-up), and the
//! `__c_longjmp` tag it throws is the one tag of the composition (`resolve::tags`), so a
//! `longjmp` in one library unwinds to the `setjmp` of another. The code follows wasi-libc's and
//! emscripten's `rt.c`: the compiler's landing pad reads the `{env, val}` pair the tag carries
//! and asks `__wasm_setjmp_test` whether that `env` was set up by the current function call.
//!
//! `jmp_buf` layout (at least 16 bytes; `include/setjmp.h` reserves more):
//! `0: func_invocation_id`, `4: label`, `8: env` (thrown pair), `12: val`.

use crate::parse::{ImportKind, Library, MainModule};
use wasm_encoder::{
    CodeSection, CustomSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    ImportSection, MemArg, Module, TagKind, TagType, TypeSection, ValType,
};

/// The runtime's functions, as LLVM names them.
pub const FUNCS: [&str; 3] = ["__wasm_setjmp", "__wasm_setjmp_test", "__wasm_longjmp"];
/// The tag `__wasm_longjmp` throws (payload: the address of the `{env, val}` pair).
pub const TAG: &str = "__c_longjmp";
/// The name the runtime library has in link maps and messages.
pub const NAME: &str = "<wasm-dl setjmp runtime>";

/// Whether some module calls a runtime function that no input defines.
pub fn needed(main: &MainModule<'_>, libs: &[Library<'_>]) -> bool {
    let defined = |f: &str| {
        main.funcs.contains_key(f) || libs.iter().any(|l| l.funcs.iter().any(|(n, _)| n == f))
    };
    let wanted = |f: &str| FUNCS.contains(&f) && !defined(f);
    main.lib_imports.iter().any(|i| wanted(&i.name))
        || libs
            .iter()
            .flat_map(|l| &l.imports)
            .any(|i| i.module == "env" && matches!(i.kind, ImportKind::Func(_)) && wanted(&i.field))
}

/// The runtime library's module (see the module docs).
pub fn module() -> Vec<u8> {
    let mut module = Module::new();
    // dylink.0 with an empty MEM_INFO: no data, no table slots of its own.
    module.section(&CustomSection {
        name: "dylink.0".into(),
        data: std::borrow::Cow::Borrowed(&[1, 4, 0, 0, 0, 0]),
    });
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32; 3], []); // 0: __wasm_setjmp(env, label, id)
    types.ty().function([ValType::I32; 2], [ValType::I32]); // 1: __wasm_setjmp_test(env, id)
    types.ty().function([ValType::I32; 2], []); // 2: __wasm_longjmp(env, val)
    types.ty().function([ValType::I32], []); // 3: the tag's payload
    module.section(&types);
    let mut imports = ImportSection::new();
    imports.import("env", "memory", super::ANY_MEMORY);
    imports.import(
        "env",
        TAG,
        EntityType::Tag(TagType {
            kind: TagKind::Exception,
            func_type_idx: 3,
        }),
    );
    module.section(&imports);
    let mut funcs = FunctionSection::new();
    for ty in 0..3 {
        funcs.function(ty);
    }
    module.section(&funcs);
    let mut exports = ExportSection::new();
    for (i, name) in FUNCS.iter().enumerate() {
        exports.export(name, ExportKind::Func, i as u32);
    }
    module.section(&exports);

    let at = |offset: u64| MemArg {
        offset,
        align: 2,
        memory_index: 0,
    };
    let mut code = CodeSection::new();
    // __wasm_setjmp: remember which call of which function set `env` up, and where it resumes.
    let mut f = Function::new([]);
    f.instructions()
        .local_get(0)
        .local_get(2)
        .i32_store(at(0))
        .local_get(0)
        .local_get(1)
        .i32_store(at(4))
        .end();
    code.function(&f);
    // __wasm_setjmp_test: the label if `env` belongs to this call, else 0 (keep unwinding).
    let mut f = Function::new([]);
    f.instructions()
        .local_get(0)
        .i32_load(at(0))
        .local_get(1)
        .i32_eq()
        .if_(wasm_encoder::BlockType::Result(ValType::I32))
        .local_get(0)
        .i32_load(at(4))
        .else_()
        .i32_const(0)
        .end()
        .end();
    code.function(&f);
    // __wasm_longjmp: store {env, val ? val : 1} in the jmp_buf and throw its address.
    let mut f = Function::new([]);
    f.instructions()
        .local_get(0)
        .local_get(0)
        .i32_store(at(8))
        .local_get(0)
        .local_get(1)
        .i32_const(1)
        .local_get(1)
        .select()
        .i32_store(at(12))
        .local_get(0)
        .i32_const(8)
        .i32_add()
        .throw(0)
        .end();
    code.function(&f);
    module.section(&code);
    module.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn runtime_validates() {
        wasmparser::Validator::new_with_features(crate::parse::features())
            .validate_all(&super::module())
            .expect("the setjmp runtime validates");
    }
}
