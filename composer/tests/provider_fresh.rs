//! Checks that the committed provider component (`provider/wasm-dl-provider.wasm`, embedded by the
//! composer) is what the provider sources build to.
//!
//! It rebuilds the `wasm-dl-provider` crate for `wasm32-unknown-unknown` with the `provider`
//! profile, turns the core module into a component and compares bytes. With `WASM_DL_BLESS=1` it
//! writes the file instead (that is what `scripts/build-provider.sh` does). Skipped when the
//! wasm32-unknown-unknown target is not installed (a failure when `CI` is set).

mod wasm_build;

use anyhow::{Context, Result};

#[test]
fn provider_component_is_fresh() -> Result<()> {
    if !wasm_build::can_build("provider_fresh")? {
        return Ok(());
    }
    let root = wasm_build::root()?;
    let core = wasm_build::build(&root, "wasm-dl-provider", "wasm_dl_provider")?;
    let built = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&core)?
        .encode()
        .context("componentizing the provider core module")?;
    wasm_build::check_fresh(
        &root.join("provider").join("wasm-dl-provider.wasm"),
        &built,
        "scripts/build-provider.sh",
    )
}
