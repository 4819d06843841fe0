//! Running a command component (`wasi:cli/run`, WASI preview 2) in an embedded wasmtime: what
//! `wasm-dl run` and the test suite use (feature `run`, on by default; turn default features off
//! to use the composer without building wasmtime).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let app = std::fs::read("app.wasm")?;
//! let component = wasm_dl::run::compile(&app)?;
//! let mut wasi = wasm_dl::run::WasiCtx::builder();
//! wasi.inherit_stdio().args(&["app.wasm", "--verbose"]);
//! let code = wasm_dl::run::run(&component, &mut wasi)?;
//! std::process::exit(code);
//! # }
//! ```

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::OnceLock;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{I32Exit, WasiCtxView, WasiView};

pub use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

/// The exit code `wasmtime run` gives a program that trapped on Unix (`128 + SIGABRT`).
pub const TRAP_EXIT_CODE: i32 = 134;

/// A store's data for a WASI preview 2 command: its WASI context and resource table. The embedders
/// in this workspace (`wasm-dl run`, the bench, the fuzzer's instantiation check) all use it.
pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiState {
    /// The state of one instance with the WASI context `ctx`.
    pub fn new(ctx: WasiCtx) -> Self {
        Self {
            ctx,
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for WasiState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The shared engine (component model on, wasmtime's defaults otherwise): one per process, so
/// that compiled components can be reused across runs.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("wasmtime's default configuration with the component model")
    })
}

/// A linker for `engine` that provides WASI preview 2 (synchronous) and nothing else.
pub fn wasi_linker(engine: &Engine) -> Result<Linker<WasiState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(anyhow::Error::from)
        .context("adding WASI preview 2 to the linker")?;
    Ok(linker)
}

fn linker() -> Result<&'static Linker<WasiState>> {
    static LINKER: OnceLock<Linker<WasiState>> = OnceLock::new();
    if let Some(l) = LINKER.get() {
        return Ok(l);
    }
    let linker = wasi_linker(engine())?;
    Ok(LINKER.get_or_init(|| linker))
}

/// Compiles a component for [`engine`].
pub fn compile(component: &[u8]) -> Result<Component> {
    Component::new(engine(), component)
        .map_err(anyhow::Error::from)
        .context("compiling the component")
}

/// Instantiates `component` with the WASI context `wasi` builds and calls `wasi:cli/run`.
/// `Ok(code)`: 0 when `run` returns ok, 1 when it returns an error, the code of an
/// `exit`/`proc_exit`. `Err` for a trap (see [`is_trap`]) or a component that cannot be
/// instantiated with WASI preview 2.
pub fn run(component: &Component, wasi: &mut WasiCtxBuilder) -> Result<i32> {
    let mut store = Store::new(engine(), WasiState::new(wasi.build()));
    let (what, result) = match Command::instantiate(&mut store, component, linker()?) {
        Ok(cmd) => (
            "running wasi:cli/run",
            cmd.wasi_cli_run().call_run(&mut store),
        ),
        Err(e) => ("instantiating the component", Err(e)),
    };
    match result {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(anyhow::Error::from(e).context(what)),
        },
    }
}

/// Whether an error of [`run`] is a trap (the program failed), not a setup failure.
pub fn is_trap(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<wasmtime::Trap>())
}

/// An error as its chain of messages, one per line (a trap's message includes the wasm
/// backtrace), without the Rust backtrace `{:?}` may add.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for (i, cause) in e.chain().enumerate() {
        if i > 0 {
            out.push_str("\n\nCaused by:\n    ");
        }
        out.push_str(&cause.to_string().replace('\n', "\n    "));
    }
    out
}

/// Preopens host directory `host` at guest path `guest` with `perms`, naming both on failure.
pub fn preopen(wasi: &mut WasiCtxBuilder, host: &Path, guest: &str, perms: FsPerms) -> Result<()> {
    wasi.preopened_dir(host, guest, perms)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}: cannot preopen it as {guest}", host.display()))?;
    Ok(())
}
