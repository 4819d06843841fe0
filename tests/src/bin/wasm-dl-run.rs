//! `wasm-dl-run [--dir DIR] [--dir HOST::GUEST]... [--env NAME=VALUE]... app.wasm [args...]`: runs
//! a command component (wasi:cli/run, WASI p2) in wasmtime with this process's stdio and exits with
//! its exit code. argv[0] inside is the component's path. `--dir DIR` preopens the host directory
//! DIR read-only as the guest's `.`; `--dir HOST::GUEST` preopens HOST read-only at the guest path
//! GUEST (e.g. `--dir build/python-home::/python-home`); `--env` sets an environment variable of the
//! component (it sees no others). With `::` or `--env`, the compiled component is cached in
//! `<target>/wasm-dl-fixtures/compiled/` (`wasm_dl_tests::run::compile_cached`).

use anyhow::Context;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dot_dir = None;
    let mut preopens = Vec::new();
    let mut env = Vec::new();
    loop {
        match (args.first().map(String::as_str), args.get(1)) {
            (Some("--dir"), Some(d)) => {
                match d.split_once("::") {
                    Some((host, guest)) => preopens.push((host.into(), guest.to_string())),
                    None => dot_dir = Some(std::path::PathBuf::from(d)),
                }
                args.drain(..2);
            }
            (Some("--env"), Some(kv)) => {
                let Some((k, v)) = kv.split_once('=') else {
                    eprintln!("wasm-dl-run: --env needs NAME=VALUE, not {kv}");
                    std::process::exit(2);
                };
                env.push((k.to_string(), v.to_string()));
                args.drain(..2);
            }
            _ => break,
        }
    }
    let Some(path) = args.first() else {
        eprintln!(
            "usage: wasm-dl-run [--dir DIR] [--dir HOST::GUEST]... [--env NAME=VALUE]... app.wasm [args...]"
        );
        std::process::exit(2);
    };
    let code = std::fs::read(path)
        .with_context(|| format!("reading {path}"))
        .and_then(|bytes| {
            if preopens.is_empty() && env.is_empty() {
                wasm_dl_tests::run::run_inherited(&bytes, &args, dot_dir.as_deref())
            } else {
                if let Some(d) = dot_dir {
                    preopens.push((d, ".".to_string()));
                }
                wasm_dl_tests::run::run_inherited_with(&bytes, &args, &env, &preopens)
            }
        });
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("wasm-dl-run: {e:?}");
            std::process::exit(125);
        }
    }
}
