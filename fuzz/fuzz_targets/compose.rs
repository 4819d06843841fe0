//! Whole compositions: wasm-smith modules with forged `dylink.0` sections and imports/exports
//! named like wasm-ld's, or real fixtures (concatenated `.wasm`/`.so` files, main first) mutated
//! structurally (see `wasm_dl_fuzz::gen`).
//!
//! Properties: no panic; every output validates; every error names an input.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasm_dl_fuzz::run_guarded(|| {
    let Some(c) = wasm_dl_fuzz::gen::composition(data) else {
        return;
    };
    let result = c.composer().compose_report();
    wasm_dl_fuzz::trace(&c, &result);
    match result {
        Ok(out) => wasm_dl_fuzz::check_valid_component(&out.component),
        Err(e) => wasm_dl_fuzz::check_error_names_any(&e, &c.input_names()),
    }
}));
