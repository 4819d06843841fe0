//! The `dlsym` and call-through-pointer rows: one synthetic library, `main` (bench/src/main.c)
//! timing inside wasm with `clock_gettime(CLOCK_MONOTONIC)`: repeated lookups of its names, the
//! first lookup of each name (a new instance per run, one call per name), and calls through the
//! `dlsym`ed pointer against a pointer to main's own identical function.

use crate::measure::median;
use crate::report::Row;
use crate::{order, runtime, Bench, InputSet, Tool, TOOLS};
use anyhow::{Context, Result};

impl Bench<'_> {
    /// The dlsym and call rows: repeated lookups, first lookups, calls through the pointer.
    pub(crate) fn dlsym(&mut self) -> Result<()> {
        const WT: Tool = Tool::WasmTools;
        let m = self.plan.dlsym_funcs;
        let set = InputSet::write(&self.cfg.work.join(format!("dlsym-m{m}")), 1, m)?;
        let composed = self.compose(&set, 1)?;
        let compiled = self.compile(&set, 1)?;
        let input = format!("1 library, {} symbols ({m} functions + {m} data)", 2 * m);
        let iters = self.plan.dlsym_iters.to_string();
        let call_iters = self.plan.call_iters.to_string();
        let nsyms = m.to_string();
        let mut dlsym_ns: [Vec<f64>; 3] = Default::default();
        let mut first_ns: [Vec<f64>; 3] = Default::default();
        let mut call_dl: [Vec<f64>; 3] = Default::default();
        let mut call_local: [Vec<f64>; 3] = Default::default();
        let mut fails: [Option<String>; 3] = TOOLS.map(|t| composed.fail(t).or(compiled.fail(t)));
        let runners: Vec<Option<runtime::Runner>> = TOOLS
            .into_iter()
            .map(|t| {
                let i = t.idx();
                if fails[i].is_some() {
                    return None;
                }
                match runtime::Runner::load(&set.cwasm(t)) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        fails[i] = Some(format!("{e:#}"));
                        None
                    }
                }
            })
            .collect();
        for rep in 0..self.plan.reps.max(3) {
            for t in order(rep) {
                let i = t.idx();
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
                        // A new instance: every name but the one `main` starts with is looked up
                        // for the first time.
                        let (_, out) = runner.run(&["dlsym-first", &nsyms])?;
                        let f = runtime::field(&out, "dlsym_first_ns")
                            .context(format!("no dlsym_first_ns in {out:?}"))?;
                        Ok((d, f))
                    })
                    .and_then(|(d, f)| {
                        let (_, out) = runner.run(&["call", &call_iters])?;
                        let a = runtime::field(&out, "call_dl_ns").context("no call_dl_ns")?;
                        let b =
                            runtime::field(&out, "call_local_ns").context("no call_local_ns")?;
                        Ok((d, f, a, b))
                    });
                match res {
                    Ok((d, f, a, b)) => {
                        dlsym_ns[i].push(d);
                        first_ns[i].push(f);
                        call_dl[i].push(a);
                        call_local[i].push(b);
                    }
                    Err(e) => fails[i] = Some(format!("{e:#}")),
                }
            }
        }
        self.done_with(&set);
        let d = dlsym_ns.map(median);
        let first = first_ns.map(median);
        let c = call_dl.map(median);
        let l = call_local.map(median);
        let fail = |t: Tool| fails[t.idx()].clone();
        self.rows("", |t, goal| {
            Row::nanos(
                "dlsym latency, repeated lookups (C loop inside wasmtime, ns/call)",
                &input,
                d[t.idx()],
                d[WT.idx()],
                fail(t),
                fail(WT),
                goal,
            )
        });
        let first_input = format!(
            "{input}: {} names, each looked up once",
            m.saturating_sub(1)
        );
        self.rows("≤ 1.0×", |t, goal| {
            Row::nanos(
                "the first `dlsym` of a name (C loop inside wasmtime, ns/call)",
                &first_input,
                first[t.idx()],
                first[WT.idx()],
                fail(t),
                fail(WT),
                goal,
            )
        });
        self.rows("", |t, goal| {
            Row::nanos(
                "call through the dlsym'ed pointer (ns/call)",
                &input,
                c[t.idx()],
                c[WT.idx()],
                fail(t),
                fail(WT),
                goal,
            )
        });
        self.rows("", |t, goal| {
            Row::nanos(
                "call through a pointer to main's own identical function (ns/call; a statically linked call_indirect)",
                "same run",
                l[t.idx()],
                l[WT.idx()],
                fail(t),
                fail(WT),
                goal,
            )
        });
        let rel = |t: Tool| match (c[t.idx()], l[t.idx()]) {
            (Some(c), Some(l)) if l > 0.0 => Some(format!("{:.2}×", c / l)),
            _ => None,
        };
        self.rows("1.00×", |t, goal| {
            Row::plain(
                "dlsym'ed pointer call ÷ static pointer call (each tool against itself)",
                "same run",
                rel(t),
                rel(WT),
                fail(t),
                fail(WT),
                goal,
            )
        });
        Ok(())
    }
}
