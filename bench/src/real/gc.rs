//! The `--gc` rows of a real program: wasm-dl composing the same files with `--gc` (the
//! libraries wasm-tools gets as `--dl-openable` named `--dl-openable`, so both keep the same
//! exports findable by `dlsym`), its output's size and wasmtime compile time beside
//! wasm-tools', and its program's first useful output, which must be the expected one.

use super::RealSet;
use crate::measure::{median_duration, run_child};
use crate::report::Row;
use crate::{runtime, Bench, Results, Tool};
use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

/// The `--gc` results live in the `DlPic` slot of results tables of their own.
const GC: Tool = Tool::DlPic;
const WT: Tool = Tool::WasmTools;

impl RealSet {
    /// wasm-dl's component composed with `--gc`.
    fn gc_out(&self) -> PathBuf {
        self.dir.join("wasm-dl-pic-gc.wasm")
    }
    /// That component, precompiled.
    fn gc_cwasm(&self) -> PathBuf {
        self.dir.join("wasm-dl-pic-gc.cwasm")
    }
}

impl Bench<'_> {
    /// wasm-dl's `--gc` command: the same inputs; a `+LIB` is a `--dl-openable` one.
    pub(super) fn real_gc_compose_cmd(&self, set: &RealSet) -> Command {
        let mut c = Command::new(&self.cfg.exe);
        c.arg("child-compose-gc")
            .arg(set.gc_out())
            .arg(&set.main_so)
            .args(&set.linked);
        for lib in &set.openable {
            c.arg(format!("+{}", lib.display()));
        }
        c
    }

    /// The compose-time and size rows (`g`: the `--gc` composes, `r`: wasm-tools' among them).
    pub(super) fn real_gc_rows(&mut self, set: &RealSet, g: &Results, r: &Results) {
        let input = set.name.as_str();
        self.report.push_real(Row::durations(
            "compose wall time, wasm-dl `--gc`",
            input,
            g.wall(GC),
            r.wall(WT),
            g.fail(GC),
            r.fail(WT),
            "",
        ));
        let size = |p: PathBuf| std::fs::metadata(p).ok().map(|m| m.len() as f64);
        self.report.push_real(Row::bytes(
            "output component size, wasm-dl `--gc`",
            input,
            g.ok(GC).then(|| size(set.gc_out())).flatten(),
            r.ok(WT).then(|| size(set.out(WT))).flatten(),
            g.fail(GC),
            r.fail(WT),
            if set.goals { "≤ 0.8×" } else { "" },
        ));
    }

    /// One wasmtime compile of the `--gc` output into `gc` (nothing once one failed).
    pub(super) fn gc_compile_once(&self, set: &RealSet, gc: &mut Results) -> Result<()> {
        if gc.failed(GC) || !set.gc_out().is_file() {
            return Ok(());
        }
        let mut cmd = Command::new(&self.cfg.exe);
        cmd.arg("child-compile")
            .arg(set.gc_out())
            .arg(set.gc_cwasm());
        gc.push(GC, run_child(&self.cfg.exe, &cmd, self.cfg.limit * 3)?);
        Ok(())
    }

    /// The compile row (`gc`: the `--gc` output's compiles, `c`: wasm-tools' among them) and
    /// the first useful output of the `--gc` program.
    pub(super) fn real_gc_compile(
        &mut self,
        set: &RealSet,
        reps: usize,
        c: &Results,
        gc: &Results,
    ) -> Result<()> {
        let input = set.name.as_str();
        self.report.push_real(Row::durations(
            "wasmtime compile time, wasm-dl `--gc`",
            input,
            gc.wall(GC),
            c.wall(WT),
            gc.fail(GC),
            c.fail(WT),
            if set.goals { "≤ 0.8×" } else { "" },
        ));
        // The program must still do its work: the first useful output, timed server-style.
        let args: Vec<&str> = set.first.args.iter().map(String::as_str).collect();
        let mut times = Vec::new();
        let mut fail = gc.fail(GC);
        if fail.is_none() {
            match runtime::Runner::load(&set.gc_cwasm()) {
                Ok(runner) => {
                    for rep in 0..=reps.max(2) {
                        match runner.run_in(&args, &set.first.env) {
                            Ok((d, out)) if out.contains(&set.first.expect) => {
                                if rep > 0 {
                                    times.push(d);
                                }
                            }
                            Ok((_, out)) => {
                                fail = Some(format!("unexpected output {out:?}"));
                                break;
                            }
                            Err(e) => {
                                fail = Some(format!("{e:#}"));
                                break;
                            }
                        }
                    }
                }
                Err(e) => fail = Some(format!("{e:#}")),
            }
        }
        self.report.push_real(Row::durations(
            &format!(
                "start-up to the first useful output ({}), wasm-dl `--gc` alone, server-style",
                set.first.what
            ),
            input,
            median_duration(times),
            None,
            fail,
            None,
            "",
        ));
        Ok(())
    }
}
