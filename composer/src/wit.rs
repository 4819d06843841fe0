//! The project's WIT package (`wit/dl.wit`), compiled in.

use anyhow::{Context, Result};
use wit_parser::{PackageId, Resolve};

/// The text of `wit/dl.wit`.
pub const DL_WIT: &str = include_str!("../../wit/dl.wit");
/// The WASI interface the provider imports (`wit/deps/cli/environment.wit`).
pub const ENVIRONMENT_WIT: &str = include_str!("../../wit/deps/cli/environment.wit");

/// The interface names (with version) of the package.
pub const DL_INTERFACE: &str = "wasm-dl:dl/dl@0.1.0";
/// The index interface name.
pub const INDEX_INTERFACE: &str = "wasm-dl:dl/index@0.1.0";

/// Parses the package.
pub fn resolve() -> Result<(Resolve, PackageId)> {
    let mut resolve = Resolve::default();
    resolve
        .push_str("environment.wit", ENVIRONMENT_WIT)
        .context("internal error: wit/deps/cli/environment.wit does not parse")?;
    let pkg = resolve
        .push_str("dl.wit", DL_WIT)
        .context("internal error: wit/dl.wit does not parse")?;
    Ok((resolve, pkg))
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use wasm_dl_abi::loader;
    use wit_parser::TypeDefKind;

    /// The loader's failure answers are the discriminants of the WIT enum `failure`, which the
    /// shim passes to the provider's `abort` unchanged.
    #[test]
    fn alloc_failures_are_the_wit_enum() {
        let (resolve, _) = resolve().unwrap();
        let failure = resolve
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some("failure"))
            .map(|(_, t)| &t.kind);
        let Some(TypeDefKind::Enum(e)) = failure else {
            panic!("no enum failure in wit/dl.wit");
        };
        let wit: Vec<&str> = e.cases.iter().map(|c| c.name.as_str()).collect();
        let abi: Vec<&str> = loader::Alloc::FAILURES.iter().map(|(_, n)| *n).collect();
        assert_eq!(wit, abi);
        for (k, (failure, _)) in loader::Alloc::FAILURES.iter().enumerate() {
            assert_eq!(failure.code() as usize, k);
        }
        assert!(loader::Alloc::Ok.code() < 0);
    }
}
