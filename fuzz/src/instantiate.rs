//! The instantiation property (feature `instantiate`): a composed component instantiates in
//! wasmtime with WASI preview 2. Traps while instantiating (a start function's or a segment's
//! of an input) are the inputs' business; any other failure (a link or limit error) is a bug.

use std::sync::OnceLock;
use wasm_dl::run::{wasi_linker, WasiState};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        Engine::new(&config).expect("creating the wasmtime engine")
    })
}

fn linker() -> &'static Linker<WasiState> {
    static LINKER: OnceLock<Linker<WasiState>> = OnceLock::new();
    LINKER.get_or_init(|| wasi_linker(engine()).expect("adding WASI"))
}

/// Panics unless `component` compiles and instantiates (or traps while instantiating).
pub fn instantiate(component: &[u8]) {
    let component = match Component::new(engine(), component) {
        Ok(c) => c,
        Err(e) => panic!("wasmtime refuses the composed component: {e:?}"),
    };
    // A component that still imports `wasm-dl:dl/dl` (external provider) cannot be instantiated
    // alone.
    let ty = component.component_type();
    if ty
        .imports(engine())
        .any(|(name, _)| name.starts_with("wasm-dl:"))
    {
        return;
    }
    let mut store = Store::new(engine(), WasiState::new(WasiCtx::builder().build()));
    store.set_fuel(10_000_000).unwrap();
    if let Err(e) = linker().instantiate(&mut store, &component) {
        if e.downcast_ref::<wasmtime::Trap>().is_none() {
            panic!("the composed component does not instantiate: {e:?}");
        }
    }
}
