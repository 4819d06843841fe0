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
