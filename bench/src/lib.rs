//! wasm-dl's benchmark harness: the same all-PIC input set (a PIC `main.so`, a PIC `libc.so` and
//! synthetic `dylink.0` libraries) composed by wasm-dl and by `wasm-tools component link`, plus
//! wasm-dl's own non-PIC path (a non-PIC `main.wasm` with the same libraries) on its own rows; the
//! subjects run alternately, medians and ratios written to `BENCHMARKS.md`.
//!
//! `cargo run -p wasm-dl-bench --release [-- --quick] [-- --out FILE]`

mod dlsym;
pub mod measure;
mod plan;
mod real;
pub mod report;
pub mod runtime;
mod subject;
mod suite;
pub mod synth;
pub mod toolchain;

use anyhow::{bail, Context, Result};
use measure::median_duration;
use plan::Plan;
use report::Report;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toolchain::Tools;

pub(crate) use subject::{order, InputSet, Results, Tool, TOOLS};
pub(crate) use suite::Bench;

/// How much work a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Every input of the issue (N ∈ {1, 10, 100, 1000}, M ∈ {10, 1000}), several repetitions.
    Full,
    /// Small N, one repetition: a smoke run that still fills every row.
    Quick,
    /// Smaller still, for the test that keeps the generator from rotting.
    Tiny,
}

/// One benchmark run.
#[derive(Clone, Debug)]
pub struct Config {
    /// How much work.
    pub scale: Scale,
    /// Where to write the report.
    pub out: PathBuf,
    /// Scratch directory for inputs and outputs.
    pub work: PathBuf,
    /// The `wasm-dl-bench` executable (its `child-*` modes are the measured child processes).
    pub exe: PathBuf,
    /// Time box for one child process.
    pub limit: Duration,
    /// Keep every input set's libraries, components and `.cwasm`s in `work` (by default each set's
    /// directory is removed once its rows are measured: the 1000-library sets are large).
    pub keep: bool,
    /// Measure only the real programs (`--only real`, or `--only cpython|quickjs|sqlite`), at any
    /// scale but tiny.
    pub only_real: bool,
    /// The real programs to measure, of [`REAL_SETS`].
    pub real_sets: Vec<String>,
    /// Measure only the `dlsym` and call-through-pointer rows (`--only dlsym`).
    pub only_dlsym: bool,
}

/// The real programs' names, in the order they are measured.
pub const REAL_SETS: [&str; 3] = ["cpython", "quickjs", "sqlite"];

pub fn run(cfg: &Config) -> Result<()> {
    std::fs::create_dir_all(&cfg.work)
        .with_context(|| format!("creating {}", cfg.work.display()))?;
    let tools = Tools::locate()?;
    let probe: Vec<wasm_dl::Input> = synth::library_set(2, 2)
        .into_iter()
        .map(|(name, bytes)| wasm_dl::Input { name, bytes })
        .collect();
    let main_wasm = tools.main_for_wasm_dl(&cfg.work, &probe)?;
    let main_so = tools.pic_main(&cfg.work)?;
    let libc_so = tools.libc_so(&cfg.work)?;
    let report = Report::new(cfg.scale, &tools);
    let mut bench = Bench {
        cfg,
        plan: Plan::new(cfg.scale),
        tools,
        main_wasm,
        main_so,
        libc_so,
        report,
    };
    bench.run()?;
    let text = bench.report.render();
    std::fs::write(&cfg.out, text).with_context(|| format!("writing {}", cfg.out.display()))?;
    Ok(())
}

/// The measured child processes: `child-compose OUT MAIN LIBS...` (what `wasm-dl compose` does;
/// `child-compose-gc`: with `--gc`, a `+LIB` being `--dl-openable LIB`) and
/// `child-compile IN OUT` (wasmtime's `precompile_component`).
pub fn child(args: &[String]) -> Result<()> {
    match args {
        [mode, out, main, libs @ ..] if mode == "child-compose" || mode == "child-compose-gc" => {
            let read = |p: &String| std::fs::read(p).with_context(|| format!("reading {p}"));
            let mut composer = wasm_dl::Composer::new()
                .main(main.clone(), read(main)?)
                .gc(mode == "child-compose-gc");
            let mut openable = Vec::new();
            for lib in libs {
                let lib = match lib.strip_prefix('+') {
                    Some(l) if mode == "child-compose-gc" => {
                        openable.push(l.to_string());
                        l.to_string()
                    }
                    _ => lib.clone(),
                };
                composer = composer.library(lib.clone(), read(&lib)?);
            }
            if mode == "child-compose-gc" {
                composer = composer.dl_openable(openable);
            }
            // Written as the command writes it.
            let mut staged = wasm_dl::output::Staged::default();
            composer.compose_with(|parts| staged.stage(Path::new(out), parts, "component"))?;
            staged.commit()
        }
        [mode, program, rest @ ..] if mode == "child-measure" => {
            measure::child_measure(program, rest)
        }
        [mode, input, out] if mode == "child-compile" => {
            runtime::precompile(Path::new(input), Path::new(out))
        }
        // For profiling startup: `child-startup CWASM REPS` runs `main start` REPS times.
        [mode, cwasm, reps] if mode == "child-startup" => {
            let runner = runtime::Runner::load(Path::new(cwasm))?;
            let mut times = Vec::new();
            for _ in 0..reps.parse::<usize>()? {
                times.push(runner.run(&["start"])?.0);
            }
            println!("median {:?}", median_duration(times).unwrap_or_default());
            Ok(())
        }
        // For profiling a row: `child-repeat CWASM REPS ARGS...` runs `main ARGS...` REPS times
        // in one process (one load, so a profiler's JIT map is written once).
        [mode, cwasm, reps, rest @ ..] if mode == "child-repeat" => {
            let runner = runtime::Runner::load(Path::new(cwasm))?;
            let args: Vec<&str> = rest.iter().map(String::as_str).collect();
            for _ in 0..reps.parse::<usize>()? {
                print!("{}", runner.run(&args)?.1);
            }
            Ok(())
        }
        // For measuring one row by hand: `child-run CWASM ARGS...` runs `main ARGS...` once and
        // prints its stdout (e.g. `child-run X.cwasm dlsym 5000 200000`).
        [mode, cwasm, rest @ ..] if mode == "child-run" => {
            let runner = runtime::Runner::load(Path::new(cwasm))?;
            let args: Vec<&str> = rest.iter().map(String::as_str).collect();
            print!("{}", runner.run(&args)?.1);
            Ok(())
        }
        _ => bail!("unknown child mode {args:?}"),
    }
}
