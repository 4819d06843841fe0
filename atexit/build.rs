//! Links the lists as code that owns no memory: it uses main's (`env.memory`). The composer
//! fits the linked module into the destructor-list module (`composer/src/synth/atexit.rs`).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32") {
        println!("cargo:rustc-cdylib-link-arg=--import-memory");
    }
}
