//! The composer's parse pass on arbitrary bytes, as a library and as a main module.
//!
//! Inputs that start with `\0asm` are used as they are; others drive wasm-smith (a library with
//! a forged `dylink.0`, or a main module, see `wasm_dl_fuzz::gen::smith_module`).
//!
//! Properties: no panic; every error names the input file (errors must say which input is wrong).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_dl::Input;

fuzz_target!(|data: &[u8]| wasm_dl_fuzz::run_guarded(|| {
    let generated;
    let data = if data.starts_with(b"\0asm") {
        data
    } else {
        let mut u = arbitrary::Unstructured::new(data);
        match wasm_dl_fuzz::gen::smith_module(&mut u) {
            Ok(m) => {
                generated = m;
                &generated[..]
            }
            Err(_) => return,
        }
    };
    let lib = Input {
        name: "libfuzz.so".into(),
        bytes: data.to_vec(),
    };
    if let Err(e) = wasm_dl::inspect::library(&lib) {
        wasm_dl_fuzz::check_error_names(&e, &lib.name);
    }
    let main = Input {
        name: "main.wasm".into(),
        bytes: data.to_vec(),
    };
    if let Err(e) = wasm_dl::inspect::main_module(&main) {
        wasm_dl_fuzz::check_error_names(&e, &main.name);
    }
    // `wasm-dl flags main LIB`: the libraries' imports, through the same parse.
    if let Err(e) = wasm_dl::flags::main_flags(std::slice::from_ref(&lib)) {
        wasm_dl_fuzz::check_error_names(&e, &lib.name);
    }
}));
