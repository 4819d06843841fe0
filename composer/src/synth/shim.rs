//! The dl shim core module (see `shim.wat`), with its `component-type` metadata embedded so
//! that wit-component lowers the provider's `dl` interface into it.

use anyhow::{Context, Result};
use wit_component::StringEncoding;

const SHIM_WAT: &str = include_str!("shim.wat");

/// The shim's source with the loader protocol's values (`{{NAME}}`, from
/// [`wasm_dl_abi::loader::WAT_CONSTANTS`]) filled in.
fn source() -> Result<String> {
    let mut wat = SHIM_WAT.to_string();
    for (name, value) in wasm_dl_abi::loader::WAT_CONSTANTS {
        wat = wat.replace(&format!("{{{{{name}}}}}"), &value.to_string());
    }
    match wat.find("{{") {
        Some(at) => anyhow::bail!(
            "internal error: shim.wat names an unknown constant: {}",
            wat[at..].lines().next().unwrap_or_default()
        ),
        None => Ok(wat),
    }
}

/// The shim module, ready to be given to wit-component as the `wasm-dl` adapter.
pub fn module() -> Result<Vec<u8>> {
    let mut bytes = wat::parse_str(source()?).context("internal error: shim.wat does not parse")?;
    let (resolve, pkg) = crate::wit::resolve()?;
    let world = resolve.select_world(&[pkg], Some("shim"))?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, StringEncoding::UTF8)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_placeholder_is_filled() {
        let wat = super::source().unwrap();
        assert!(wat.contains("i32.const -1"), "{}", &wat[..200]);
        for (name, _) in wasm_dl_abi::loader::WAT_CONSTANTS {
            assert!(!wat.contains(name), "{name} left in the shim");
        }
    }
}
