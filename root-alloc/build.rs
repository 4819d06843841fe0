//! Links the allocator as code that owns no memory: it uses the root module's (`env.memory`).
//! The composer fits the linked module into the root (`composer/src/synth/runtime.rs`).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32") {
        println!("cargo:rustc-cdylib-link-arg=--import-memory");
    }
}
