//! Runs a command component (`wasi:cli/run`) in wasmtime with WASI p2: the composer crate's runner
//! (`wasm_dl::run`, what `wasm-dl run` uses), with captured output, preopens and a compile cache.

use anyhow::{Context, Result};
use std::path::Path;
use wasmtime::component::Component;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Exit code: 0 for a normal return, the `exit`/`proc_exit` code otherwise.
    pub code: i32,
    /// Captured standard output.
    pub stdout: Vec<u8>,
    /// Captured standard error.
    pub stderr: Vec<u8>,
}

impl Output {
    /// stdout as text (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// stderr as text (lossy).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The shared engine: the composer crate's (`wasm_dl::run`), which `wasm-dl run` uses too.
pub fn engine() -> &'static wasmtime::Engine {
    wasm_dl::run::engine()
}

/// Instantiates `component` and calls `wasi:cli/run` with the given WASI context. `Ok(code)` for a
/// return (0 or 1) or an exit; `Err` for a trap or a link error.
fn run_with(component: &[u8], builder: &mut WasiCtxBuilder) -> Result<i32> {
    run_component(&wasm_dl::run::compile(component)?, builder)
}

/// Compiles `component`, or loads its compiled form from `<target>/wasm-dl-fixtures/compiled/`,
/// where it is stored after the first compilation (keyed by the component's bytes and the engine's
/// compatibility hash). For large components — CPython's libpython is 9 MB of code, which a debug
/// build of wasmtime compiles in about 45 s on two cores — that are run again unchanged.
pub fn compile_cached(component: &[u8]) -> Result<Component> {
    use sha2::{Digest, Sha256};
    use std::hash::{Hash, Hasher};
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine()
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut h = Sha256::new();
    h.update(engine_hash.finish().to_le_bytes());
    h.update(component);
    let dir = crate::target_dir().join("wasm-dl-fixtures/compiled");
    let path = dir.join(format!("{:x}.cwasm", h.finalize()));
    if path.is_file() {
        // SAFETY: the file was written by `Component::serialize` below, into cargo's target
        // directory, under the hash of the engine it was compiled for; wasmtime checks that it
        // matches this engine and refuses it otherwise (then it is compiled again).
        if let Ok(c) = unsafe { Component::deserialize_file(engine(), &path) } {
            return Ok(c);
        }
    }
    let compiled = wasm_dl::run::compile(component)?;
    std::fs::create_dir_all(&dir)?;
    let tmp = tempfile::NamedTempFile::new_in(&dir)?;
    std::fs::write(
        tmp.path(),
        compiled.serialize().map_err(anyhow::Error::from)?,
    )?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(compiled)
}

/// Instantiates a compiled component and calls `wasi:cli/run` (see [`wasm_dl::run::run`]).
fn run_component(component: &Component, builder: &mut WasiCtxBuilder) -> Result<i32> {
    wasm_dl::run::run(component, builder)
}

/// Runs a command component with `args` (argv[0] included) and `env`, capturing stdout and stderr.
/// An exit through `exit`/`proc_exit` gives its code; a trap is an error that shows the output so far.
pub fn run(component: &[u8], args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
    run_in(component, args, env, None)
}

/// [`run`], with the host directory `dir` (when given) preopened read-only as the guest's `.`, so that
/// the component can open files relative to it (e.g. a script named in `args`).
pub fn run_in(
    component: &[u8],
    args: &[&str],
    env: &[(&str, &str)],
    dir: Option<&Path>,
) -> Result<Output> {
    let component = wasm_dl::run::compile(component)?;
    run_captured(&component, args, env, |builder| match dir {
        Some(dir) => preopen(builder, dir),
        None => Ok(()),
    })
}

/// [`run`], with each host directory of `preopens` preopened read-only at its guest path (e.g.
/// `(<cache>/python-home, "/python-home")`), so that the component opens files by absolute guest
/// paths.
///
/// The component is compiled through [`compile_cached`]: a second run of the same bytes loads the
/// compiled code instead of compiling it again.
pub fn run_with_preopens(
    component: &[u8],
    args: &[&str],
    env: &[(&str, &str)],
    preopens: &[(&Path, &str)],
) -> Result<Output> {
    let compiled = compile_cached(component)?;
    run_captured(&compiled, args, env, |builder| {
        for (host, guest) in preopens {
            builder
                .preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("preopening {} as {guest}", host.display()))?;
        }
        Ok(())
    })
}

/// Runs with stdout and stderr captured; `configure` adds preopens.
fn run_captured(
    component: &Component,
    args: &[&str],
    env: &[(&str, &str)],
    configure: impl FnOnce(&mut WasiCtxBuilder) -> Result<()>,
) -> Result<Output> {
    const CAPACITY: usize = 64 << 20;
    let stdout = MemoryOutputPipe::new(CAPACITY);
    let stderr = MemoryOutputPipe::new(CAPACITY);
    let mut builder = WasiCtx::builder();
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .args(args);
    for (k, v) in env {
        builder.env(k, v);
    }
    configure(&mut builder)?;
    let result = run_component(component, &mut builder);
    let stdout = stdout.contents().to_vec();
    let stderr = stderr.contents().to_vec();
    match result {
        Ok(code) => Ok(Output {
            code,
            stdout,
            stderr,
        }),
        Err(e) => Err(e.context(format!(
            "the component failed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ))),
    }
}

/// Runs a command component with this process's stdio, `args` (argv[0] included), and returns its
/// exit code.
/// `dir`, when given, is preopened read-only as the guest's `.`.
pub fn run_inherited(component: &[u8], args: &[String], dir: Option<&Path>) -> Result<i32> {
    let mut builder = WasiCtx::builder();
    builder.inherit_stdio().args(args);
    if let Some(dir) = dir {
        preopen(&mut builder, dir)?;
    }
    run_with(component, &mut builder)
}

/// [`run_inherited`] with environment variables and host directories preopened read-only at guest
/// paths (`(host, guest)`), the component compiled through [`compile_cached`].
pub fn run_inherited_with(
    component: &[u8],
    args: &[String],
    env: &[(String, String)],
    preopens: &[(std::path::PathBuf, String)],
) -> Result<i32> {
    let compiled = compile_cached(component)?;
    let mut builder = WasiCtx::builder();
    builder.inherit_stdio().args(args);
    for (k, v) in env {
        builder.env(k, v);
    }
    for (host, guest) in preopens {
        builder
            .preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("preopening {} as {guest}", host.display()))?;
    }
    run_component(&compiled, &mut builder)
}

fn preopen(builder: &mut WasiCtxBuilder, dir: &Path) -> Result<()> {
    builder
        .preopened_dir(dir, ".", FsPerms::ReadOnly)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("preopening {}", dir.display()))?;
    Ok(())
}

/// Turns a plain wasip1 command module (no `dl*` imports) into a component with the
/// `wasi_snapshot_preview1` command adapter; the harness's own check, independent of the composer.
pub fn componentize_command(module: &[u8]) -> Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )?
        .encode()
}
