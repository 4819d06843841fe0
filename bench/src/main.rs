//! `cargo run -p wasm-dl-bench --release [-- --quick] [-- --out FILE] [-- --work DIR] [-- --keep]`:
//! runs every comparison and writes BENCHMARKS.md at the workspace root. Inputs and outputs go to
//! `--work` (default `target/wasm-dl-bench`); each input set's directory is removed once measured
//! unless `--keep` is given.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::time::Duration;
use wasm_dl_bench::{toolchain::workspace_root, Config, Scale};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a.starts_with("child-")) {
        return wasm_dl_bench::child(&args);
    }
    let root = workspace_root();
    let mut cfg = Config {
        scale: Scale::Full,
        out: root.join("BENCHMARKS.md"),
        work: root.join("target/wasm-dl-bench"),
        exe: std::env::current_exe()?,
        limit: Duration::from_secs(120),
        keep: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => cfg.scale = Scale::Quick,
            "--tiny" => cfg.scale = Scale::Tiny,
            "--keep" => cfg.keep = true,
            "--out" => cfg.out = it.next().map(PathBuf::from).unwrap_or(cfg.out),
            "--work" => cfg.work = it.next().map(PathBuf::from).unwrap_or(cfg.work),
            "-h" | "--help" => {
                println!(
                    "usage: wasm-dl-bench [--quick | --tiny] [--out FILE] [--work DIR] [--keep]"
                );
                return Ok(());
            }
            other => bail!("unknown argument `{other}` (try --help)"),
        }
    }
    wasm_dl_bench::run(&cfg)?;
    eprintln!("bench: wrote {}", cfg.out.display());
    Ok(())
}
