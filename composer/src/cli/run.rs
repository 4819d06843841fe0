//! `wasm-dl run MAIN [LIBS...] [-- ARGS...]`: composes in memory and runs the component in the
//! embedded wasmtime, with `wasmtime run`'s habits: `--dir HOST[::GUEST]`, `--env NAME[=VAL]`,
//! the program's arguments after `--`, stdio inherited, its exit code passed through, a trap
//! reported with the wasm backtrace (exit code 134, as `wasmtime run` on Unix).

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;
use wasm_dl::run::{self as runner, FsPerms};

/// The options of `wasm-dl run`.
#[derive(Args)]
pub struct RunArgs {
    /// The main module (as for `compose`), or an already composed component (then no LIBS).
    main: PathBuf,
    /// Shared libraries, as for `compose`.
    libs: Vec<PathBuf>,
    /// The program's arguments (argv[0] is MAIN as given).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
    /// Grant the program access to host directory HOST at guest path GUEST (default: the same
    /// path), read and write, as `wasmtime run --dir`.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable of the program (it sees no others); NAME alone passes this
    /// process's value of NAME.
    #[arg(long = "env", value_name = "NAME[=VAL]")]
    env: Vec<String>,
    /// Another name `dlopen` finds a library by (as for `compose`).
    #[arg(long = "lib", value_name = "ALIAS=LIB")]
    lib_aliases: Vec<String>,
    /// As for `compose`.
    #[arg(long)]
    strict: bool,
    /// As for `compose`.
    #[arg(long)]
    stub_missing: bool,
}

impl RunArgs {
    /// Composes (unless MAIN is a component), runs, and returns the program's exit code.
    pub fn run(self) -> Result<i32> {
        let bytes = std::fs::read(&self.main)
            .with_context(|| format!("{}: cannot read", self.main.display()))?;
        let component = if wasmparser::Parser::is_component(&bytes) {
            if !self.libs.is_empty() {
                bail!(
                    "{}: is a component already; give libraries only with a main module",
                    self.main.display()
                );
            }
            bytes
        } else {
            let composed = crate::composer(&self.main, &self.libs, &self.lib_aliases)?
                .strict(self.strict)
                .stub_missing(self.stub_missing)
                .compose_report()?;
            for w in &composed.warnings {
                eprintln!("wasm-dl: warning: {w}");
            }
            composed.component
        };
        let mut wasi = runner::WasiCtx::builder();
        wasi.inherit_stdio()
            .arg(self.main.to_string_lossy())
            .args(&self.args);
        for kv in &self.env {
            match kv.split_once('=') {
                Some((name, value)) if !name.is_empty() => {
                    wasi.env(name, value);
                }
                Some(_) => bail!("--env {kv}: expected NAME=VAL or NAME"),
                None => {
                    if let Ok(value) = std::env::var(kv) {
                        wasi.env(kv, value);
                    }
                }
            }
        }
        for d in &self.dirs {
            let (host, guest) = d.split_once("::").unwrap_or((d, d));
            if host.is_empty() || guest.is_empty() {
                bail!("--dir {d}: expected HOST or HOST::GUEST");
            }
            runner::preopen(&mut wasi, host.as_ref(), guest, FsPerms::ReadWrite)?;
        }
        let compiled = runner::compile(&component)?;
        match runner::run(&compiled, &mut wasi) {
            Ok(code) => Ok(code),
            Err(e) if runner::is_trap(&e) => {
                eprintln!(
                    "wasm-dl: error: {}: {}",
                    self.main.display(),
                    runner::error_text(&e)
                );
                Ok(runner::TRAP_EXIT_CODE)
            }
            Err(e) => Err(e),
        }
    }
}
