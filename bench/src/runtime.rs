//! wasmtime 48 with WASI p2: precompile a component, and run a precompiled one (`wasi:cli/run`).

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};
use wasm_dl::run::{wasi_linker, WasiState};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx};

/// The engine every measurement uses: wasmtime's defaults (cranelift, parallel compilation).
/// For profiling by hand, `WASM_DL_BENCH_PERFMAP=1` makes wasmtime write `/tmp/perf-PID.map`
/// (what `perf report` names JIT code by); it does not change the generated code.
pub fn engine() -> Result<Engine> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    if std::env::var_os("WASM_DL_BENCH_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config).map_err(anyhow::Error::from)
}

/// Compiles a component and writes wasmtime's serialized form (what `wasmtime compile` does).
pub fn precompile(input: &Path, output: &Path) -> Result<()> {
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let engine = engine()?;
    let cwasm = engine
        .precompile_component(&bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling {}", input.display()))?;
    std::fs::write(output, cwasm)?;
    Ok(())
}

/// What a run sees besides its arguments.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Environment variables.
    pub vars: Vec<(String, String)>,
    /// Host directory, guest path: preopened read-only.
    pub preopens: Vec<(std::path::PathBuf, String)>,
}

/// A precompiled component, loaded once, run many times.
pub struct Runner {
    engine: Engine,
    component: Component,
    linker: Linker<WasiState>,
}

impl Runner {
    /// Loads a `.cwasm` written by [`precompile`].
    pub fn load(cwasm: &Path) -> Result<Self> {
        let engine = engine()?;
        // SAFETY: the file was written by `precompile` with the same engine configuration.
        let component = unsafe { Component::deserialize_file(&engine, cwasm) }
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading {}", cwasm.display()))?;
        let linker = wasi_linker(&engine)?;
        Ok(Self {
            engine,
            component,
            linker,
        })
    }

    /// Instantiates and runs `main args...` once: the wall time of instantiate + run, and stdout.
    /// Fails unless the program exits 0.
    pub fn run(&self, args: &[&str]) -> Result<(Duration, String)> {
        self.run_in(args, &Env::default())
    }

    /// [`Runner::run`] with environment variables and read-only preopened directories.
    pub fn run_in(&self, args: &[&str], env: &Env) -> Result<(Duration, String)> {
        let stdout = MemoryOutputPipe::new(1 << 20);
        let stderr = MemoryOutputPipe::new(1 << 20);
        let mut argv = vec!["main"];
        argv.extend_from_slice(args);
        let mut builder = WasiCtx::builder();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .args(&argv);
        for (k, v) in &env.vars {
            builder.env(k, v);
        }
        for (host, guest) in &env.preopens {
            builder
                .preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("preopening {} as {guest}", host.display()))?;
        }
        let ctx = builder.build();
        let start = Instant::now();
        let mut store = Store::new(&self.engine, WasiState::new(ctx));
        let result = Command::instantiate(&mut store, &self.component, &self.linker)
            .and_then(|cmd| cmd.wasi_cli_run().call_run(&mut store));
        let elapsed = start.elapsed();
        let code = match result {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => bail!(
                    "{e:?}\nstdout: {}\nstderr: {}",
                    String::from_utf8_lossy(&stdout.contents()),
                    String::from_utf8_lossy(&stderr.contents())
                ),
            },
        };
        let out = String::from_utf8_lossy(&stdout.contents()).into_owned();
        if code != 0 {
            bail!(
                "exit {code}\nstdout: {out}\nstderr: {}",
                String::from_utf8_lossy(&stderr.contents())
            );
        }
        Ok((elapsed, out))
    }
}

/// The number after `key ` on a line of `out`.
pub fn field(out: &str, key: &str) -> Option<f64> {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}
