//! The dl shim core module (see `shim.wat`), with its `component-type` metadata embedded so
//! that wit-component lowers the provider's `dl` interface into it.

use anyhow::{Context, Result};
use wit_component::StringEncoding;

const SHIM_WAT: &str = include_str!("shim.wat");

/// The shim's exports that main may import from the `wasm-dl` module.
pub const EXPORTS: &[&str] = &["dlopen", "dlsym", "dlclose", "dlerror", "dladdr"];

/// The core type of a dlfcn.h function the shim exports: every parameter is an `i32` (pointer,
/// handle or mode) and the result is one `i32`.
pub fn func_type(name: &str) -> Option<wasmparser::FuncType> {
    let params = match name {
        "dlerror" => 0,
        "dlclose" => 1,
        "dlopen" | "dlsym" | "dladdr" => 2,
        _ => return None,
    };
    Some(wasmparser::FuncType::new(
        vec![wasmparser::ValType::I32; params],
        [wasmparser::ValType::I32],
    ))
}

/// The shim module, ready to be given to wit-component as the `wasm-dl` adapter.
pub fn module() -> Result<Vec<u8>> {
    let mut bytes = wat::parse_str(SHIM_WAT).context("internal error: shim.wat does not parse")?;
    let (resolve, pkg) = crate::wit::resolve()?;
    let world = resolve.select_world(&[pkg], Some("shim"))?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, StringEncoding::UTF8)?;
    Ok(bytes)
}
