//! The dl shim core module: `dlfcn.h`'s C ABI in front of the provider's `dl` interface, given to
//! wit-component as the `wasm-dl` adapter of the main module. It is the same for every
//! composition: Rust (the `wasm-dl-shim` crate, `shim/`), committed as wasm-ld links it
//! (`shim/wasm-dl-shim.wasm`; rebuild with `scripts/build-runtime.sh`, the composer's
//! `runtime_fresh` test checks it is current). Here it becomes an adapter (`runtime`) and gets
//! its `component-type` metadata, so that wit-component lowers the provider's `dl` interface
//! into it.

use anyhow::Result;
use wit_component::StringEncoding;

/// The linked shim.
const SHIM: &[u8] = include_bytes!("../../../shim/wasm-dl-shim.wasm");

/// The shim state that holds the address of its symbol tables (`shim/src/sys.rs`).
const SYMTAB_STATE: &str = "symtab";

/// The shim module, ready to be given to wit-component as the `wasm-dl` adapter; `symtab` is
/// the address of its symbol tables in main's memory (`synth::symtab`), or 0.
pub fn module(symtab: u32) -> Result<Vec<u8>> {
    let mut bytes = super::runtime::Linked::parse("dl shim", SHIM)?
        .adapter(&[(SYMTAB_STATE, symtab as i32)])?;
    let (resolve, pkg) = crate::wit::resolve()?;
    let world = resolve.select_world(&[pkg], Some("shim"))?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, StringEncoding::UTF8)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    /// The shim exports every dlfcn.h function the composer lets main and libraries import,
    /// with the core type the composer checks their imports against, and keeps to the rules of
    /// an adapter (wit-component checks the rest).
    #[test]
    fn is_an_adapter_exporting_the_dlfcn_functions() {
        let adapter = super::module(0).unwrap();
        let mut exports = std::collections::HashMap::new();
        let mut memories = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&adapter) {
            match payload.unwrap() {
                wasmparser::Payload::ExportSection(section) => {
                    for export in section {
                        let export = export.unwrap();
                        exports.insert(export.name.to_string(), export.index);
                    }
                }
                wasmparser::Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        let import = import.unwrap();
                        if let wasmparser::TypeRef::Memory(ty) = import.ty {
                            memories.push((import.module, import.name, ty.initial));
                        }
                    }
                }
                _ => {}
            }
        }
        assert_eq!(memories, [("env", "memory", 0)]);
        let types = wasmparser::validate(&adapter).unwrap();
        let types = types.as_ref();
        for name in crate::dlfcn::EXPORTS
            .iter()
            .chain([&crate::dlfcn::DLSYM_NEXT, &crate::dlfcn::DLOPEN_FROM])
        {
            let index = exports[*name];
            let ty = &types[types.core_function_at(index)];
            let expected = crate::dlfcn::func_type(name).unwrap();
            assert_eq!(ty.unwrap_func(), &expected, "{name}");
        }
    }
}
