//! Links the shim the way a wit-component adapter must be: it has no memory of its own but uses
//! the main module's (`env.memory`). The composer's `shim_fresh` test then turns the linked module
//! into the committed adapter (see `composer/tests/shim_fresh.rs`).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32") {
        println!("cargo:rustc-cdylib-link-arg=--import-memory");
    }
}
