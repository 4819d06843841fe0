//! wasm-dl's benchmark harness: the same synthetic `dylink.0` libraries composed by wasm-dl and by
//! `wasm-tools component link`, both tools run alternately, medians and ratios written to
//! `BENCHMARKS.md`.
//!
//! `cargo run -p wasm-dl-bench --release [-- --quick] [-- --out FILE]`

pub mod measure;
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
}

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

/// The two tools' runs on one input.
#[derive(Default)]
struct Pair {
    dl: Vec<Sample>,
    wt: Vec<Sample>,
    dl_fail: Option<String>,
    wt_fail: Option<String>,
}

impl Pair {
    fn push(&mut self, dl: bool, outcome: Outcome) {
        let (samples, fail) = if dl {
            (&mut self.dl, &mut self.dl_fail)
        } else {
            (&mut self.wt, &mut self.wt_fail)
        };
        match outcome {
            Outcome::Ok(s) => samples.push(s),
            Outcome::TimedOut(d) => *fail = Some(format!("> {} s (killed)", d.as_secs())),
            Outcome::Failed(e) => *fail = Some(format!("failed: {e}")),
        }
    }
    fn failed(&self, dl: bool) -> bool {
        if dl {
            self.dl_fail.is_some()
        } else {
            self.wt_fail.is_some()
        }
    }
    fn wall(&self, dl: bool) -> Option<Duration> {
        median_duration(
            (if dl { &self.dl } else { &self.wt })
                .iter()
                .map(|s| s.wall)
                .collect(),
        )
    }
    fn cpu(&self, dl: bool) -> Option<Duration> {
        median_duration(
            (if dl { &self.dl } else { &self.wt })
                .iter()
                .map(|s| s.cpu)
                .collect(),
        )
    }
    fn rss(&self, dl: bool) -> Option<f64> {
        median(
            (if dl { &self.dl } else { &self.wt })
                .iter()
                .map(|s| s.max_rss as f64)
                .collect(),
        )
    }
    fn fail(&self, dl: bool) -> Option<String> {
        if dl {
            self.dl_fail.clone()
        } else {
            self.wt_fail.clone()
        }
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
    fn dl_out(&self) -> PathBuf {
        self.dir.join("wasm-dl.wasm")
    }
    fn wt_out(&self) -> PathBuf {
        self.dir.join("wasm-tools.wasm")
    }
}

struct Bench<'a> {
    cfg: &'a Config,
    plan: Plan,
    tools: Tools,
    main_dl: PathBuf,
    main_wt: PathBuf,
    libc_so: PathBuf,
    report: Report,
}

impl Bench<'_> {
    fn compose_cmd(&self, set: &InputSet, dl: bool) -> Command {
        if dl {
            let mut c = Command::new(&self.cfg.exe);
            c.arg("child-compose")
                .arg(set.dl_out())
                .arg(&self.main_dl)
                .args(&set.libs);
            c
        } else {
            let mut c = Command::new(&self.tools.wasm_tools);
            c.args(["component", "link", "--use-built-in-libdl"])
                .arg(&self.main_wt)
                .arg(&self.libc_so);
            for lib in &set.libs {
                let name = lib.file_name().unwrap_or_default().to_string_lossy();
                c.arg("--dl-openable")
                    .arg(format!("{name}={}", lib.display()));
            }
            c.arg("-o").arg(set.wt_out());
            c
        }
    }

    /// Composes `set` with both tools, alternately, `reps` times.
    fn compose(&self, set: &InputSet, reps: usize) -> Result<Pair> {
        let mut pair = Pair::default();
        for rep in 0..reps {
            for dl in order(rep) {
                if pair.failed(dl) {
                    continue;
                }
                let outcome = run_child(&mut self.compose_cmd(set, dl), self.cfg.limit)?;
                pair.push(dl, outcome);
            }
        }
        Ok(pair)
    }

    /// Precompiles both outputs of `set` in child processes, alternately.
    fn compile(&self, set: &InputSet, reps: usize) -> Result<Pair> {
        let mut pair = Pair::default();
        for rep in 0..reps {
            for dl in order(rep) {
                let (input, out) = cwasm_paths(set, dl);
                if pair.failed(dl) || !input.is_file() {
                    continue;
                }
                let mut c = Command::new(&self.cfg.exe);
                c.arg("child-compile").arg(&input).arg(&out);
                // The time box is for the composers; wasmtime gets three times as long.
                let outcome = run_child(&mut c, self.cfg.limit * 3)?;
                pair.push(dl, outcome);
            }
        }
        Ok(pair)
    }

    fn section(&mut self, what: &str) {
        eprintln!("bench: {what}");
    }

    fn run(&mut self) -> Result<()> {
        let scale = self.plan.focus;
        // 1. Compose wall time, peak RSS and output size over the grid.
        let mut walls: std::collections::HashMap<(u32, u32), Pair> = Default::default();
        for &(n, m) in &self.plan.compose_grid.clone() {
            self.section(&format!("compose {n} libs × {m} exports"));
            let set = InputSet::write(&self.cfg.work.join(format!("n{n}-m{m}")), n, m)?;
            let pair = self.compose(&set, self.plan.reps)?;
            let input = input_label(n, m);
            self.report.push(Row::durations(
                "compose wall time",
                &input,
                pair.wall(true),
                pair.wall(false),
                pair.fail(true),
                pair.fail(false),
                if (n, m) == scale { "≤ 0.5×" } else { "" },
            ));
            if (n, m) == scale {
                self.report.push(Row::durations(
                    "compose CPU time (user + sys)",
                    &input,
                    pair.cpu(true),
                    pair.cpu(false),
                    pair.fail(true),
                    pair.fail(false),
                    "≤ 0.5×",
                ));
                self.report.push(Row::bytes(
                    "composer peak RSS",
                    &input,
                    pair.rss(true),
                    pair.rss(false),
                    pair.fail(true),
                    pair.fail(false),
                    "≤ 1.0×",
                ));
                let size = |p: PathBuf, ok: bool| {
                    ok.then(|| std::fs::metadata(p).ok().map(|m| m.len() as f64))
                        .flatten()
                };
                self.report.push(Row::bytes(
                    "output component size",
                    &input,
                    size(set.dl_out(), !pair.dl.is_empty()),
                    size(set.wt_out(), !pair.wt.is_empty()),
                    pair.fail(true),
                    pair.fail(false),
                    "≤ 1.0×",
                ));
                // 2. wasmtime compile time and peak memory of the composed components.
                self.section("wasmtime compile");
                let compiled = self.compile(&set, self.plan.compile_reps)?;
                self.report.push(Row::durations(
                    "wasmtime compile time (precompile_component)",
                    &input,
                    compiled.wall(true),
                    compiled.wall(false),
                    compiled.fail(true),
                    compiled.fail(false),
                    "≤ 0.7×",
                ));
                self.report.push(Row::durations(
                    "wasmtime compile CPU time (user + sys, all threads)",
                    &input,
                    compiled.cpu(true),
                    compiled.cpu(false),
                    compiled.fail(true),
                    compiled.fail(false),
                    "≤ 0.7×",
                ));
                self.report.push(Row::bytes(
                    "wasmtime compile peak RSS",
                    &input,
                    compiled.rss(true),
                    compiled.rss(false),
                    compiled.fail(true),
                    compiled.fail(false),
                    "≤ 0.7×",
                ));
                // 3. Startup on the precompiled components: all libraries bundled, lib0 opened.
                self.section("startup");
                self.startup(&set, &input, &compiled)?;
            }
            walls.insert((n, m), pair);
        }
        // 4. Scaling: per-library compose time, large N over small N.
        for &(m, small, large) in &self.plan.scaling {
            let (Some(a), Some(b)) = (walls.get(&(small, m)), walls.get(&(large, m))) else {
                continue;
            };
            let slope = |dl: bool| match (a.cpu(dl), b.cpu(dl)) {
                (Some(x), Some(y)) => {
                    Some((y.as_secs_f64() / x.as_secs_f64()) / (large as f64 / small as f64))
                }
                _ => None,
            };
            self.report.push(Row::plain(
                "compose time scaling: (cpu(N₂)/cpu(N₁)) / (N₂/N₁); 1.0 = linear, < 1 = fixed cost dominates",
                &format!("N {small} → {large}, M = {m}"),
                slope(true).map(|x| format!("{x:.2}")),
                slope(false).map(|x| format!("{x:.2}")),
                b.fail(true),
                b.fail(false),
                "linear",
            ));
        }
        // 5. dlsym latency and calls through a dlsym'ed pointer.
        self.section("dlsym and call-through-pointer");
        self.dlsym()?;
        Ok(())
    }

    fn startup(&mut self, set: &InputSet, input: &str, compiled: &Pair) -> Result<()> {
        let label = format!("{input}, 1 opened (`main start`)");
        let mut runners = Vec::new();
        for dl in [true, false] {
            let (_, cwasm) = cwasm_paths(set, dl);
            runners.push(if compiled.failed(dl) || !cwasm.is_file() {
                Err(compiled
                    .fail(dl)
                    .unwrap_or_else(|| "not compiled".to_string()))
            } else {
                runtime::Runner::load(&cwasm).map_err(|e| format!("{e:#}"))
            });
        }
        let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        let mut fails: [Option<String>; 2] = [None, None];
        for rep in 0..=self.plan.startup_reps {
            for dl in order(rep) {
                let i = usize::from(!dl);
                let Ok(runner) = &runners[i] else { continue };
                if fails[i].is_some() {
                    continue;
                }
                match runner.run(&["start"]) {
                    Ok((t, out)) if out.starts_with("ok ") => {
                        if rep > 0 {
                            times[i].push(t) // rep 0 warms up
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
        let [t_dl, t_wt] = times;
        let [f_dl, f_wt] = fails;
        self.report.push(Row::durations(
            "startup: instantiate + run on a precompiled component",
            &label,
            median_duration(t_dl),
            median_duration(t_wt),
            f_dl,
            f_wt,
            "≤ 0.3×",
        ));
        Ok(())
    }

    fn dlsym(&mut self) -> Result<()> {
        let m = self.plan.dlsym_funcs;
        let set = InputSet::write(&self.cfg.work.join(format!("dlsym-m{m}")), 1, m)?;
        let composed = self.compose(&set, 1)?;
        let compiled = self.compile(&set, 1)?;
        let input = format!("1 library, {} symbols ({m} functions + {m} data)", 2 * m);
        let iters = self.plan.dlsym_iters.to_string();
        let call_iters = self.plan.call_iters.to_string();
        let nsyms = m.to_string();
        let mut dlsym_ns: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut call_dl: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut call_local: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut fails: [Option<String>; 2] = [composed.fail(true), composed.fail(false)];
        for (i, dl) in [true, false].into_iter().enumerate() {
            if fails[i].is_none() {
                fails[i] = compiled.fail(dl);
            }
        }
        let runners: Vec<Option<runtime::Runner>> = [true, false]
            .into_iter()
            .enumerate()
            .map(|(i, dl)| {
                if fails[i].is_some() {
                    return None;
                }
                match runtime::Runner::load(&cwasm_paths(&set, dl).1) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        fails[i] = Some(format!("{e:#}"));
                        None
                    }
                }
            })
            .collect();
        for rep in 0..self.plan.reps.max(3) {
            for dl in order(rep) {
                let i = usize::from(!dl);
                let Some(runner) = &runners[i] else { continue };
                if fails[i].is_some() {
                    continue;
                }
                let res = runner
                    .run(&["dlsym", &nsyms, &iters])
                    .and_then(|(_, out)| {
                        runtime::field(&out, "dlsym_ns").context(format!("no dlsym_ns in {out:?}"))
                    })
                    .and_then(|d| {
                        let (_, out) = runner.run(&["call", &call_iters])?;
                        let a = runtime::field(&out, "call_dl_ns").context("no call_dl_ns")?;
                        let b =
                            runtime::field(&out, "call_local_ns").context("no call_local_ns")?;
                        Ok((d, a, b))
                    });
                match res {
                    Ok((d, a, b)) => {
                        dlsym_ns[i].push(d);
                        call_dl[i].push(a);
                        call_local[i].push(b);
                    }
                    Err(e) => fails[i] = Some(format!("{e:#}")),
                }
            }
        }
        let [d_dl, d_wt] = dlsym_ns;
        let [c_dl, c_wt] = call_dl;
        let [l_dl, l_wt] = call_local;
        let [f_dl, f_wt] = fails;
        self.report.push(Row::nanos(
            "dlsym latency (C loop inside wasmtime, ns/call)",
            &input,
            median(d_dl),
            median(d_wt),
            f_dl.clone(),
            f_wt.clone(),
            "≤ 1.0×",
        ));
        self.report.push(Row::nanos(
            "call through the dlsym'ed pointer (ns/call)",
            &input,
            median(c_dl.clone()),
            median(c_wt.clone()),
            f_dl.clone(),
            f_wt.clone(),
            "",
        ));
        let (ml, mw) = (median(l_dl), median(l_wt));
        self.report.push(Row::nanos(
            "call through a pointer to main's own identical function (ns/call; a statically linked call_indirect)",
            "same run",
            ml,
            mw,
            f_dl.clone(),
            f_wt.clone(),
            "",
        ));
        let rel = |c: Option<f64>, l: Option<f64>| match (c, l) {
            (Some(c), Some(l)) if l > 0.0 => Some(format!("{:.2}×", c / l)),
            _ => None,
        };
        self.report.push(Row::plain(
            "dlsym'ed pointer call ÷ static pointer call (each tool against itself)",
            "same run",
            rel(median(c_dl), ml),
            rel(median(c_wt), mw),
            f_dl,
            f_wt,
            "1.00×",
        ));
        Ok(())
    }
}

fn order(rep: usize) -> [bool; 2] {
    if rep % 2 == 0 {
        [true, false]
    } else {
        [false, true]
    }
}

fn cwasm_paths(set: &InputSet, dl: bool) -> (PathBuf, PathBuf) {
    if dl {
        (set.dl_out(), set.dir.join("wasm-dl.cwasm"))
    } else {
        (set.wt_out(), set.dir.join("wasm-tools.cwasm"))
    }
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
    let main_dl = tools.main_for_wasm_dl(&cfg.work, &probe)?;
    let main_wt = tools.main_for_wasm_tools(&cfg.work)?;
    let libc_so = tools.libc_so(&cfg.work)?;
    let report = Report::new(cfg.scale, &tools);
    let mut bench = Bench {
        cfg,
        plan: Plan::new(cfg.scale),
        tools,
        main_dl,
        main_wt,
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
