//! Links the shim the way a wit-component adapter must be: it has no memory of its own but uses
//! the main module's (`env.memory`). The composer turns the linked module into the adapter
//! (`composer/src/synth/runtime.rs`).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32") {
        println!("cargo:rustc-cdylib-link-arg=--import-memory");
    }
}
