//! wasm-dl's benchmark harness: the same all-PIC input set (a PIC `main.so`, a PIC `libc.so` and
//! synthetic `dylink.0` libraries) composed by wasm-dl and by `wasm-tools component link`, plus
//! wasm-dl's own non-PIC path (a non-PIC `main.wasm` with the same libraries) on its own rows; the
//! subjects run alternately, medians and ratios written to `BENCHMARKS.md`.
//!
//! `cargo run -p wasm-dl-bench --release [-- --quick] [-- --out FILE]`

mod dlsym;
pub mod measure;
mod real;
pub mod report;
pub mod runtime;
pub mod synth;
pub mod toolchain;

use anyhow::{bail, Context, Result};
use measure::{median, median_duration, run_child, Outcome, Sample};
use report::{Report, Row};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use toolchain::Tools;

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

struct Plan {
    reps: usize,
    compose_grid: Vec<(u32, u32)>,
    /// The input of the compose/compile/startup comparison (the 100 × 1000).
    focus: (u32, u32),
    /// Scaling rows: (m, n_small, n_large).
    scaling: Vec<(u32, u32, u32)>,
    compile_reps: usize,
    startup_reps: usize,
    /// Function symbols in the dlsym library (it has as many data symbols too).
    dlsym_funcs: u32,
    dlsym_iters: u64,
    call_iters: u64,
}

impl Plan {
    fn new(scale: Scale) -> Self {
        match scale {
            Scale::Full => Plan {
                reps: 3,
                // 1000 libraries exceed the component model's 1000-instance limit in both tools;
                // 900 × 10 is the largest set both can compose, for the scaling row.
                compose_grid: [1, 10, 100, 1000]
                    .into_iter()
                    .flat_map(|n| [10, 1000].map(|m| (n, m)))
                    .chain([(900, 10)])
                    .collect(),
                focus: (100, 1000),
                scaling: vec![(10, 10, 900), (1000, 10, 100)],
                // wasmtime needs minutes for the 100 × 1000 outputs on 2 cores: one repetition.
                compile_reps: 1,
                startup_reps: 15,
                dlsym_funcs: 5000,
                dlsym_iters: 200_000,
                call_iters: 20_000_000,
            },
            Scale::Quick => Plan {
                reps: 1,
                compose_grid: vec![(1, 10), (10, 10), (10, 1000), (100, 10)],
                focus: (10, 1000),
                scaling: vec![(10, 1, 100)],
                compile_reps: 1,
                startup_reps: 3,
                dlsym_funcs: 5000,
                dlsym_iters: 20_000,
                call_iters: 1_000_000,
            },
            Scale::Tiny => Plan {
                reps: 1,
                compose_grid: vec![(1, 4), (2, 4)],
                focus: (2, 4),
                scaling: vec![(4, 1, 2)],
                compile_reps: 1,
                startup_reps: 1,
                dlsym_funcs: 8,
                dlsym_iters: 10,
                call_iters: 10,
            },
        }
    }
}

/// What is measured: wasm-dl and wasm-tools on the same all-PIC input set (the primary
/// comparison), and wasm-dl's own non-PIC path (its own rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    /// wasm-dl composing the all-PIC set: `main.so`, `libc.so` and the libraries.
    DlPic,
    /// `wasm-tools component link` on the same all-PIC set.
    WasmTools,
    /// wasm-dl composing its non-PIC `main.wasm` (libc linked in) and the same libraries.
    DlNonPic,
}

const TOOLS: [Tool; 3] = [Tool::DlPic, Tool::WasmTools, Tool::DlNonPic];

impl Tool {
    fn idx(self) -> usize {
        match self {
            Tool::DlPic => 0,
            Tool::WasmTools => 1,
            Tool::DlNonPic => 2,
        }
    }
    /// The file stem of this tool's outputs in an input set's directory.
    fn stem(self) -> &'static str {
        match self {
            Tool::DlPic => "wasm-dl-pic",
            Tool::WasmTools => "wasm-tools",
            Tool::DlNonPic => "wasm-dl-nonpic",
        }
    }
}

/// The three subjects' runs on one input.
#[derive(Default)]
struct Results {
    samples: [Vec<Sample>; 3],
    fails: [Option<String>; 3],
}

impl Results {
    fn push(&mut self, t: Tool, outcome: Outcome) {
        match outcome {
            Outcome::Ok(s) => self.samples[t.idx()].push(s),
            Outcome::TimedOut(d) => {
                self.fails[t.idx()] = Some(format!("> {} s (killed)", d.as_secs()))
            }
            Outcome::Failed(e) => self.fails[t.idx()] = Some(format!("failed: {e}")),
        }
    }
    fn failed(&self, t: Tool) -> bool {
        self.fails[t.idx()].is_some()
    }
    fn ok(&self, t: Tool) -> bool {
        !self.samples[t.idx()].is_empty()
    }
    fn wall(&self, t: Tool) -> Option<Duration> {
        median_duration(self.samples[t.idx()].iter().map(|s| s.wall).collect())
    }
    fn cpu(&self, t: Tool) -> Option<Duration> {
        median_duration(self.samples[t.idx()].iter().map(|s| s.cpu).collect())
    }
    fn rss(&self, t: Tool) -> Option<f64> {
        median(
            self.samples[t.idx()]
                .iter()
                .map(|s| s.max_rss as f64)
                .collect(),
        )
    }
    fn fail(&self, t: Tool) -> Option<String> {
        self.fails[t.idx()].clone()
    }
}

/// One composed input set, on disk.
struct InputSet {
    dir: PathBuf,
    libs: Vec<PathBuf>,
}

impl InputSet {
    fn write(dir: &Path, n: u32, m: u32) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut libs = Vec::new();
        for (name, bytes) in synth::library_set(n, m) {
            let p = dir.join(name);
            std::fs::write(&p, bytes)?;
            libs.push(p);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            libs,
        })
    }
    /// The component `t` composes from this set.
    fn out(&self, t: Tool) -> PathBuf {
        self.dir.join(format!("{}.wasm", t.stem()))
    }
    /// That component, precompiled by wasmtime.
    fn cwasm(&self, t: Tool) -> PathBuf {
        self.dir.join(format!("{}.cwasm", t.stem()))
    }
}

struct Bench<'a> {
    cfg: &'a Config,
    plan: Plan,
    tools: Tools,
    /// wasm-dl's non-PIC main (libc linked in).
    main_wasm: PathBuf,
    /// The PIC main of the all-PIC set, given to both tools.
    main_so: PathBuf,
    /// The PIC libc of the all-PIC set, given to both tools.
    libc_so: PathBuf,
    report: Report,
}

impl Bench<'_> {
    fn compose_cmd(&self, set: &InputSet, t: Tool) -> Command {
        match t {
            Tool::DlPic | Tool::DlNonPic => {
                let mut c = Command::new(&self.cfg.exe);
                c.arg("child-compose").arg(set.out(t));
                if t == Tool::DlPic {
                    // What `wasm-dl compose main.so libc.so lib0.so ...` does: the PIC main is the
                    // main module, libc.so an ordinary library.
                    c.arg(&self.main_so).arg(&self.libc_so);
                } else {
                    c.arg(&self.main_wasm);
                }
                c.args(&set.libs);
                c
            }
            Tool::WasmTools => {
                let mut c = Command::new(&self.tools.wasm_tools);
                c.args(["component", "link", "--use-built-in-libdl"])
                    .arg(&self.main_so)
                    .arg(&self.libc_so);
                for lib in &set.libs {
                    let name = lib.file_name().unwrap_or_default().to_string_lossy();
                    c.arg("--dl-openable")
                        .arg(format!("{name}={}", lib.display()));
                }
                c.arg("-o").arg(set.out(t));
                c
            }
        }
    }

    /// Composes `set` with all three subjects, in rotating order, `reps` times.
    fn compose(&self, set: &InputSet, reps: usize) -> Result<Results> {
        let mut res = Results::default();
        for rep in 0..reps {
            for t in order(rep) {
                if res.failed(t) {
                    continue;
                }
                let outcome = run_child(&self.cfg.exe, &self.compose_cmd(set, t), self.cfg.limit)?;
                res.push(t, outcome);
            }
        }
        Ok(res)
    }

    /// Precompiles the three outputs of `set` in child processes, in rotating order.
    fn compile(&self, set: &InputSet, reps: usize) -> Result<Results> {
        let mut res = Results::default();
        for rep in 0..reps {
            for t in order(rep) {
                let input = set.out(t);
                if res.failed(t) || !input.is_file() {
                    continue;
                }
                let mut c = Command::new(&self.cfg.exe);
                c.arg("child-compile").arg(&input).arg(set.cwasm(t));
                // The time box is for the composers; wasmtime gets three times as long.
                let outcome = run_child(&self.cfg.exe, &c, self.cfg.limit * 3)?;
                res.push(t, outcome);
            }
        }
        Ok(res)
    }

    /// Pushes a metric's rows: `make(Tool::DlPic, goal)` into the same-input table and
    /// `make(Tool::DlNonPic, "")` into the non-PIC table; each compares its subject with wasm-tools.
    fn rows(&mut self, goal: &str, make: impl Fn(Tool, &str) -> Row) {
        self.report.push(make(Tool::DlPic, goal));
        self.report.push_nonpic(make(Tool::DlNonPic, ""));
    }

    fn section(&mut self, what: &str) {
        eprintln!("bench: {what}");
    }

    fn done_with(&self, set: &InputSet) {
        if !self.cfg.keep {
            let _ = std::fs::remove_dir_all(&set.dir);
        }
    }

    fn run(&mut self) -> Result<()> {
        const WT: Tool = Tool::WasmTools;
        if self.cfg.only_dlsym {
            self.section("dlsym and call-through-pointer");
            return self.dlsym();
        }
        // 0. Real programs (not at the tiny scale of the generator's test).
        if self.cfg.scale != Scale::Tiny {
            let libc = real::componentize_py_libs()?.join("libc.so");
            for name in &self.cfg.real_sets {
                let set = match name.as_str() {
                    "cpython" => real::python_set(&self.tools, &self.cfg.work)?,
                    "quickjs" => real::quickjs_set(&self.tools, &self.cfg.work, &libc)?,
                    "sqlite" => real::sqlite_set(&self.tools, &self.cfg.work, &libc)?,
                    other => bail!("no real program `{other}` (there are {REAL_SETS:?})"),
                };
                self.real(&set)?;
            }
        }
        if self.cfg.only_real {
            return Ok(());
        }
        let scale = self.plan.focus;
        // 1. Compose wall time, peak RSS and output size over the grid.
        let mut walls: std::collections::HashMap<(u32, u32), Results> = Default::default();
        for &(n, m) in &self.plan.compose_grid.clone() {
            self.section(&format!("compose {n} libs × {m} exports"));
            let set = InputSet::write(&self.cfg.work.join(format!("n{n}-m{m}")), n, m)?;
            let r = self.compose(&set, self.plan.reps)?;
            let input = input_label(n, m);
            let focus = (n, m) == scale;
            self.rows(if focus { "≤ 0.5×" } else { "" }, |t, goal| {
                Row::durations(
                    "compose wall time",
                    &input,
                    r.wall(t),
                    r.wall(WT),
                    r.fail(t),
                    r.fail(WT),
                    goal,
                )
            });
            if focus {
                self.rows("≤ 0.5×", |t, goal| {
                    Row::durations(
                        "compose CPU time (user + sys)",
                        &input,
                        r.cpu(t),
                        r.cpu(WT),
                        r.fail(t),
                        r.fail(WT),
                        goal,
                    )
                });
                self.rows("≤ 1.0×", |t, goal| {
                    Row::bytes(
                        "composer peak RSS",
                        &input,
                        r.rss(t),
                        r.rss(WT),
                        r.fail(t),
                        r.fail(WT),
                        goal,
                    )
                });
                let size = |t: Tool| {
                    r.ok(t)
                        .then(|| std::fs::metadata(set.out(t)).ok().map(|m| m.len() as f64))
                        .flatten()
                };
                self.rows("≤ 1.0×", |t, goal| {
                    Row::bytes(
                        "output component size",
                        &input,
                        size(t),
                        size(WT),
                        r.fail(t),
                        r.fail(WT),
                        goal,
                    )
                });
                // 2. wasmtime compile time and peak memory of the composed components.
                self.section("wasmtime compile");
                let c = self.compile(&set, self.plan.compile_reps)?;
                self.rows("≤ 0.7×", |t, goal| {
                    Row::durations(
                        "wasmtime compile time (precompile_component)",
                        &input,
                        c.wall(t),
                        c.wall(WT),
                        c.fail(t),
                        c.fail(WT),
                        goal,
                    )
                });
                self.rows("≤ 0.7×", |t, goal| {
                    Row::durations(
                        "wasmtime compile CPU time (user + sys, all threads)",
                        &input,
                        c.cpu(t),
                        c.cpu(WT),
                        c.fail(t),
                        c.fail(WT),
                        goal,
                    )
                });
                self.rows("≤ 0.7×", |t, goal| {
                    Row::bytes(
                        "wasmtime compile peak RSS",
                        &input,
                        c.rss(t),
                        c.rss(WT),
                        c.fail(t),
                        c.fail(WT),
                        goal,
                    )
                });
                // 3. Startup on the precompiled components: all libraries bundled, lib0 opened.
                self.section("startup");
                self.startup(&set, &input, &c)?;
            }
            self.done_with(&set);
            walls.insert((n, m), r);
        }
        // 4. Scaling: per-library compose time, large N over small N.
        for (m, small, large) in self.plan.scaling.clone() {
            let (Some(a), Some(b)) = (walls.get(&(small, m)), walls.get(&(large, m))) else {
                continue;
            };
            let slope = |t: Tool| match (a.cpu(t), b.cpu(t)) {
                (Some(x), Some(y)) => Some(format!(
                    "{:.2}",
                    (y.as_secs_f64() / x.as_secs_f64()) / (large as f64 / small as f64)
                )),
                _ => None,
            };
            let input = format!("N {small} → {large}, M = {m}");
            self.rows("linear", |t, goal| {
                Row::plain(
                    "compose time scaling: (cpu(N₂)/cpu(N₁)) / (N₂/N₁); 1.0 = linear, < 1 = fixed cost dominates",
                    &input,
                    slope(t),
                    slope(WT),
                    b.fail(t),
                    b.fail(WT),
                    goal,
                )
            });
        }
        // 5. dlsym latency and calls through a dlsym'ed pointer.
        self.section("dlsym and call-through-pointer");
        self.dlsym()?;
        Ok(())
    }

    fn startup(&mut self, set: &InputSet, input: &str, compiled: &Results) -> Result<()> {
        const WT: Tool = Tool::WasmTools;
        let label = format!("{input}, 1 opened (`main start`)");
        let runners = TOOLS.map(|t| {
            let cwasm = set.cwasm(t);
            if compiled.failed(t) || !cwasm.is_file() {
                Err(compiled
                    .fail(t)
                    .unwrap_or_else(|| "not compiled".to_string()))
            } else {
                runtime::Runner::load(&cwasm).map_err(|e| format!("{e:#}"))
            }
        });
        let mut times: [Vec<Duration>; 3] = Default::default();
        let mut fails: [Option<String>; 3] = Default::default();
        for rep in 0..=self.plan.startup_reps {
            for t in order(rep) {
                let i = t.idx();
                let Ok(runner) = &runners[i] else { continue };
                if fails[i].is_some() {
                    continue;
                }
                match runner.run(&["start"]) {
                    Ok((d, out)) if out.starts_with("ok ") => {
                        if rep > 0 {
                            times[i].push(d) // rep 0 warms up
                        }
                    }
                    Ok((_, out)) => fails[i] = Some(format!("unexpected output {out:?}")),
                    Err(e) => fails[i] = Some(format!("{e:#}")),
                }
            }
        }
        for (i, r) in runners.iter().enumerate() {
            if let Err(e) = r {
                fails[i] = Some(e.clone());
            }
        }
        let med = times.map(median_duration);
        self.rows("≤ 0.3×", |t, goal| {
            Row::durations(
                "startup: instantiate + run on a precompiled component",
                &label,
                med[t.idx()],
                med[WT.idx()],
                fails[t.idx()].clone(),
                fails[WT.idx()].clone(),
                goal,
            )
        });
        Ok(())
    }
}

/// The order of the three subjects in repetition `rep`: rotated, so that none always runs first
/// (after a cold cache) or always right after another.
fn order(rep: usize) -> [Tool; 3] {
    let mut o = TOOLS;
    o.rotate_left(rep % 3);
    o
}

fn input_label(n: u32, m: u32) -> String {
    format!("{n} libs × {m} funcs + {m} data")
}

/// Runs every comparison of `cfg.scale` and writes the report to `cfg.out`.
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

/// The measured child processes: `child-compose OUT MAIN LIBS...` (what `wasm-dl compose` does)
/// and `child-compile IN OUT` (wasmtime's `precompile_component`).
pub fn child(args: &[String]) -> Result<()> {
    match args {
        [mode, out, main, libs @ ..] if mode == "child-compose" => {
            let read = |p: &String| std::fs::read(p).with_context(|| format!("reading {p}"));
            let mut composer = wasm_dl::Composer::new().main(main.clone(), read(main)?);
            for lib in libs {
                composer = composer.library(lib.clone(), read(lib)?);
            }
            let composed = composer.compose_report()?;
            std::fs::write(out, composed.component)?;
            Ok(())
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
