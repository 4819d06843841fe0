//! `wasm-dl-run app.wasm [args...]`: runs a command component (wasi:cli/run, WASI p2) in wasmtime with
//! this process's stdio and exits with its exit code. argv[0] inside is the component's path.

use anyhow::Context;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: wasm-dl-run app.wasm [args...]");
        std::process::exit(2);
    };
    let code = std::fs::read(path)
        .with_context(|| format!("reading {path}"))
        .and_then(|bytes| wasm_dl_tests::run::run_inherited(&bytes, &args));
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("wasm-dl-run: {e:?}");
            std::process::exit(125);
        }
    }
}
