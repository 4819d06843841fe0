//! Checks that the committed runtime modules the composer fits into every composition
//! (`composer/src/synth/runtime.rs`) are what their crates build to: the dl shim
//! (`shim/wasm-dl-shim.wasm`), the root allocator (`root-alloc/wasm-dl-root-alloc.wasm`) and
//! the destructor lists (`atexit/wasm-dl-atexit.wasm`), each as wasm-ld links it.
//!
//! Each test rebuilds its crate for `wasm32-unknown-unknown` (as the provider: `wasm_build`) and
//! compares bytes. With `WASM_DL_BLESS=1` it writes the file instead (that is what
//! `scripts/build-runtime.sh` does). Skipped when the target is not installed (a failure when
//! `CI` is set).

mod wasm_build;

use anyhow::Result;

fn check(package: &str, dir: &str) -> Result<()> {
    if !wasm_build::can_build("runtime_fresh")? {
        return Ok(());
    }
    let root = wasm_build::root()?;
    let built = wasm_build::build(&root, package, &package.replace('-', "_"))?;
    wasm_build::check_fresh(
        &root.join(dir).join(format!("{package}.wasm")),
        &built,
        "scripts/build-runtime.sh",
    )
}

#[test]
fn shim_is_fresh() -> Result<()> {
    check("wasm-dl-shim", "shim")
}

#[test]
fn root_allocator_is_fresh() -> Result<()> {
    check("wasm-dl-root-alloc", "root-alloc")
}

#[test]
fn destructor_lists_are_fresh() -> Result<()> {
    check("wasm-dl-atexit", "atexit")
}
