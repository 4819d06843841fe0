//! The dl shim core module: `dlfcn.h`'s C ABI in front of the provider's `dl` interface, given to
//! wit-component as the `wasm-dl` adapter of the main module. It is the same for every
//! composition: Rust (the `wasm-dl-shim` crate, `shim/`), built and committed as
//! `shim/wasm-dl-shim.wasm` (rebuild with `scripts/build-shim.sh`; the composer's `shim_fresh`
//! test checks it is current). Here it only gets its `component-type` metadata embedded, so that
//! wit-component lowers the provider's `dl` interface into it.

use anyhow::Result;
use wit_component::StringEncoding;

/// The committed adapter module (no component-type section yet).
const SHIM: &[u8] = include_bytes!("../../../shim/wasm-dl-shim.wasm");

/// The shim module, ready to be given to wit-component as the `wasm-dl` adapter.
pub fn module() -> Result<Vec<u8>> {
    let mut bytes = SHIM.to_vec();
    let (resolve, pkg) = crate::wit::resolve()?;
    let world = resolve.select_world(&[pkg], Some("shim"))?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, StringEncoding::UTF8)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    /// The shim exports every dlfcn.h function the composer lets main and libraries import,
    /// with the core type the composer checks their imports against.
    #[test]
    fn exports_the_dlfcn_functions() {
        let mut exports = std::collections::HashMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(super::SHIM) {
            if let wasmparser::Payload::ExportSection(section) = payload.unwrap() {
                for export in section {
                    let export = export.unwrap();
                    exports.insert(export.name.to_string(), export.index);
                }
            }
        }
        let types = wasmparser::validate(super::SHIM).unwrap();
        let types = types.as_ref();
        for name in crate::dlfcn::EXPORTS
            .iter()
            .chain([&crate::dlfcn::DLSYM_NEXT])
        {
            let index = exports[*name];
            let ty = &types[types.core_function_at(index)];
            let expected = crate::dlfcn::func_type(name).unwrap();
            assert_eq!(ty.unwrap_func(), &expected, "{name}");
        }
    }
}
