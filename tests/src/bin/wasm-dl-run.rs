//! `wasm-dl-run [--dir DIR] app.wasm [args...]`: runs a command component (wasi:cli/run, WASI p2) in
//! wasmtime with this process's stdio and exits with its exit code. argv[0] inside is the component's
//! path. `--dir DIR` preopens the host directory DIR read-only as the guest's `.`.

use anyhow::Context;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = None;
    if args.first().map(String::as_str) == Some("--dir") && args.len() > 1 {
        dir = Some(std::path::PathBuf::from(args.remove(1)));
        args.remove(0);
    }
    let Some(path) = args.first() else {
        eprintln!("usage: wasm-dl-run [--dir DIR] app.wasm [args...]");
        std::process::exit(2);
    };
    let code = std::fs::read(path)
        .with_context(|| format!("reading {path}"))
        .and_then(|bytes| wasm_dl_tests::run::run_inherited(&bytes, &args, dir.as_deref()));
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("wasm-dl-run: {e:?}");
            std::process::exit(125);
        }
    }
}
