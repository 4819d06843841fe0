//! `cargo run -p wasm-dl-bench --release [-- --quick] [-- --only real|dlsym] [-- --out FILE] [-- --work DIR]
//! [-- --keep]`: runs every comparison and writes BENCHMARKS.md at the workspace root. Inputs and
//! outputs go to `--work` (default `target/wasm-dl-bench`); each input set's directory is removed
//! once measured unless `--keep` is given. `--only real` measures only the real programs (CPython,
//! QuickJS, SQLite; `--only sqlite` one of them) and, unless `--out` is given, writes
//! `BENCHMARKS-real.md` in the work directory: a partial report must not replace BENCHMARKS.md.
//! `--only dlsym` measures only the `dlsym` and call-through-pointer rows (into
//! `BENCHMARKS-dlsym.md` in the work directory unless `--out` is given).

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;
use wasm_dl_bench::{toolchain::workspace_root, Config, Scale, REAL_SETS};

/// The `wasm-dl` command's allocator (composer/src/main.rs), so that `child-compose` measures
/// what the command does; both tools' outputs then also run in a wasmtime on it.
#[global_allocator]
static GLOBAL: wasm_dl::alloc::HugePages = wasm_dl::alloc::HugePages;

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
        only_real: false,
        only_dlsym: false,
        real_sets: REAL_SETS.map(String::from).to_vec(),
    };
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => cfg.scale = Scale::Quick,
            "--tiny" => cfg.scale = Scale::Tiny,
            "--keep" => cfg.keep = true,
            "--only" => match it.next().map(String::as_str) {
                Some("real") => cfg.only_real = true,
                Some("dlsym") => cfg.only_dlsym = true,
                Some(set) if REAL_SETS.contains(&set) => {
                    cfg.only_real = true;
                    cfg.real_sets = vec![set.to_string()];
                }
                other => {
                    bail!("--only takes `real`, `dlsym` or one of {REAL_SETS:?}, not {other:?}")
                }
            },
            "--out" => out = Some(it.next().map(PathBuf::from).context("--out needs a file")?),
            "--work" => cfg.work = it.next().map(PathBuf::from).unwrap_or(cfg.work),
            "-h" | "--help" => {
                println!(
                    "usage: wasm-dl-bench [--quick | --tiny] [--only real|dlsym|cpython|quickjs|sqlite] [--out FILE] [--work DIR] [--keep]"
                );
                return Ok(());
            }
            other => bail!("unknown argument `{other}` (try --help)"),
        }
    }
    cfg.out = match out {
        Some(o) => o,
        None if cfg.only_real => cfg.work.join("BENCHMARKS-real.md"),
        None if cfg.only_dlsym => cfg.work.join("BENCHMARKS-dlsym.md"),
        None => cfg.out,
    };
    if cfg.only_real && cfg.scale == Scale::Tiny {
        bail!("--only real measures nothing at --tiny (the real programs are skipped there)");
    }
    wasm_dl_bench::run(&cfg)?;
    eprintln!("bench: wrote {}", cfg.out.display());
    Ok(())
}
