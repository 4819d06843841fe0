//! The `dl*` functions as modules see them: what main and libraries import from wasm-dl
//! (`include/dlfcn.h`), with their core types. Shared by the passes that check imports (parse,
//! resolve, flags) and the dl shim that defines them (`synth::shim`), so none of the earlier
//! passes reaches into synth for it.

/// The core module name main imports the `dl*` functions from (see `include/dlfcn.h`).
pub const DL_MODULE: &str = "wasm-dl";

/// The functions the dl shim exports, which main may import from [`DL_MODULE`] (and libraries
/// from `env`).
pub const EXPORTS: &[&str] = &["dlopen", "dlsym", "dlclose", "dlerror", "dladdr"];

/// The shim's `dlsym(RTLD_NEXT, name)` for a library: `(caller, name) -> value`. Not in
/// dlfcn.h and not importable by main or a library (only the env module imports it, through
/// main's re-export: see `synth::env::dlsym_from`), so the caller cannot be forged with a
/// handle value.
pub const DLSYM_NEXT: &str = "__wasm_dl_dlsym_next";

/// The shim's `dlopen` for a library: `(caller, name, mode) -> handle`, so that a name
/// without `/` is searched in the caller's RUNPATH. Like [`DLSYM_NEXT`], only the env module
/// imports it (`synth::env::dlopen_from`).
pub const DLOPEN_FROM: &str = "__wasm_dl_dlopen_from";

/// The core type of a dlfcn.h function the shim exports: every parameter is an `i32` (pointer,
/// handle or mode) and the result is one `i32`.
pub fn func_type(name: &str) -> Option<wasmparser::FuncType> {
    let params = match name {
        "dlerror" => 0,
        "dlclose" => 1,
        "dlopen" | "dlsym" | "dladdr" | DLSYM_NEXT => 2,
        DLOPEN_FROM => 3,
        _ => return None,
    };
    Some(wasmparser::FuncType::new(
        vec![wasmparser::ValType::I32; params],
        [wasmparser::ValType::I32],
    ))
}
