//! Compositions from valid inputs (wasm-smith modules, unmodified fixtures) that compose must
//! also instantiate in wasmtime with WASI. Slow (each output is compiled by Cranelift), so it is
//! a target of its own, built with `--features instantiate`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasm_dl_fuzz::run_guarded(|| {
    let Some(c) = wasm_dl_fuzz::gen::composition(data) else {
        return;
    };
    if !c.valid_inputs {
        return;
    }
    if let Ok(out) = c.composer().compose_report() {
        wasm_dl_fuzz::check_valid_component(&out.component);
        wasm_dl_fuzz::instantiate::instantiate(&out.component);
    }
}));
