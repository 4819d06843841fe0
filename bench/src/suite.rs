//! The synthetic comparisons: compose, compile and start-up of generated library sets, the scaling
//! rows, and the order in which [`Bench::run`] measures them.

use crate::measure::{median_duration, run_child};
use crate::plan::Plan;
use crate::report::{Report, Row};
use crate::subject::{order, InputSet, Results, Tool, TOOLS};
use crate::toolchain::Tools;
use crate::{real, runtime, Config, Scale, REAL_SETS};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// One run's state: the configuration, the tools and the report being filled.
pub(crate) struct Bench<'a> {
    pub(crate) cfg: &'a Config,
    pub(crate) plan: Plan,
    pub(crate) tools: Tools,
    /// wasm-dl's non-PIC main (libc linked in).
    pub(crate) main_wasm: PathBuf,
    /// The PIC main of the all-PIC set, given to both tools.
    pub(crate) main_so: PathBuf,
    /// The PIC libc of the all-PIC set, given to both tools.
    pub(crate) libc_so: PathBuf,
    pub(crate) report: Report,
}

impl Bench<'_> {
    pub(crate) fn compose_cmd(&self, set: &InputSet, t: Tool) -> Command {
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
    pub(crate) fn compose(&self, set: &InputSet, reps: usize) -> Result<Results> {
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
    pub(crate) fn compile(&self, set: &InputSet, reps: usize) -> Result<Results> {
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
    pub(crate) fn rows(&mut self, goal: &str, make: impl Fn(Tool, &str) -> Row) {
        self.report.push(make(Tool::DlPic, goal));
        self.report.push_nonpic(make(Tool::DlNonPic, ""));
    }

    pub(crate) fn section(&mut self, what: &str) {
        eprintln!("bench: {what}");
    }

    pub(crate) fn done_with(&self, set: &InputSet) {
        if !self.cfg.keep {
            let _ = std::fs::remove_dir_all(&set.dir);
        }
    }

    pub(crate) fn run(&mut self) -> Result<()> {
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

    pub(crate) fn startup(
        &mut self,
        set: &InputSet,
        input: &str,
        compiled: &Results,
    ) -> Result<()> {
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

fn input_label(n: u32, m: u32) -> String {
    format!("{n} libs × {m} funcs + {m} data")
}
