//! BENCHMARKS.md: machine info, the table, what the inputs are.

use crate::toolchain::{run, Tools};
use crate::Scale;
use std::process::Command;
use std::time::Duration;

/// One table row, already formatted.
#[derive(Clone, Debug)]
pub struct Row {
    metric: String,
    input: String,
    dl: String,
    wt: String,
    ratio: String,
    goal: String,
}

fn cell(value: Option<String>, fail: Option<String>) -> String {
    match (value, fail) {
        (Some(v), None) => v,
        (_, Some(f)) => f.replace('|', "\\|").replace('\n', " "),
        (None, None) => "—".to_string(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_string(),
    }
}

/// A time in seconds as the tables print it.
fn fmt_secs(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.001 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// A size as the tables print it.
pub fn size_text(b: f64) -> String {
    fmt_bytes(b)
}

fn fmt_bytes(b: f64) -> String {
    if b >= (1 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

impl Row {
    /// Times (median wall time of each tool).
    pub fn durations(
        metric: &str,
        input: &str,
        dl: Option<Duration>,
        wt: Option<Duration>,
        dl_fail: Option<String>,
        wt_fail: Option<String>,
        goal: &str,
    ) -> Self {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        Self::measured(
            metric,
            input,
            [secs(dl), secs(wt)],
            [dl_fail, wt_fail],
            goal,
            fmt_secs,
        )
    }

    /// Sizes in bytes.
    pub fn bytes(
        metric: &str,
        input: &str,
        dl: Option<f64>,
        wt: Option<f64>,
        dl_fail: Option<String>,
        wt_fail: Option<String>,
        goal: &str,
    ) -> Self {
        Self::measured(metric, input, [dl, wt], [dl_fail, wt_fail], goal, fmt_bytes)
    }

    /// Nanoseconds measured inside wasm.
    pub fn nanos(
        metric: &str,
        input: &str,
        dl: Option<f64>,
        wt: Option<f64>,
        dl_fail: Option<String>,
        wt_fail: Option<String>,
        goal: &str,
    ) -> Self {
        let fmt = |v: f64| format!("{v:.2} ns");
        Self::measured(metric, input, [dl, wt], [dl_fail, wt_fail], goal, fmt)
    }

    /// A row of two measured values (wasm-dl's, wasm-tools'), each shown with `fmt` or as its
    /// failure; the ratio only when both were measured.
    fn measured(
        metric: &str,
        input: &str,
        [dl, wt]: [Option<f64>; 2],
        [dl_fail, wt_fail]: [Option<String>; 2],
        goal: &str,
        fmt: impl Fn(f64) -> String,
    ) -> Self {
        Self {
            metric: metric.into(),
            input: input.into(),
            ratio: ratio(
                dl.filter(|_| dl_fail.is_none()),
                wt.filter(|_| wt_fail.is_none()),
            ),
            dl: cell(dl.map(&fmt), dl_fail),
            wt: cell(wt.map(&fmt), wt_fail),
            goal: goal.into(),
        }
    }

    /// Pre-formatted values, no ratio.
    pub fn plain(
        metric: &str,
        input: &str,
        dl: Option<String>,
        wt: Option<String>,
        dl_fail: Option<String>,
        wt_fail: Option<String>,
        goal: &str,
    ) -> Self {
        Self {
            metric: metric.into(),
            input: input.into(),
            dl: cell(dl, dl_fail),
            wt: cell(wt, wt_fail),
            ratio: "—".into(),
            goal: goal.into(),
        }
    }
}

/// The whole report.
pub struct Report {
    scale: Scale,
    machine: Vec<(String, String)>,
    /// Real programs: wasm-dl and wasm-tools on the same all-PIC files.
    real: Vec<Row>,
    /// wasm-dl and wasm-tools on the same all-PIC input set.
    rows: Vec<Row>,
    /// wasm-dl's non-PIC path against wasm-tools' all-PIC path (different main and libc).
    nonpic: Vec<Row>,
}

fn first_line(cmd: &mut Command) -> String {
    run(cmd)
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "?".into())
}

impl Report {
    /// An empty report with this machine's description.
    pub fn new(scale: Scale, tools: &Tools) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "?".into());
        let nproc = std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        let machine = vec![
            (
                "date (UTC)".into(),
                first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M"])),
            ),
            ("nproc".into(), nproc),
            ("CPU".into(), cpu),
            (
                "rustc".into(),
                first_line(Command::new("rustc").arg("--version")),
            ),
            ("wasm-tools".into(), tools.wasm_tools_version()),
            (
                "clang".into(),
                first_line(Command::new(&tools.clang).arg("--version")),
            ),
            (
                "wasmtime (crate)".into(),
                "48, default Config (cranelift, parallel compilation)".into(),
            ),
        ];
        let mut machine = machine;
        machine.push((
            "load average (1, 5, 15 min) at the start".into(),
            load_average(),
        ));
        Self {
            scale,
            machine,
            real: Vec::new(),
            rows: Vec::new(),
            nonpic: Vec::new(),
        }
    }

    /// Adds a row to the main table: wasm-dl and wasm-tools on the same all-PIC input set.
    pub fn push(&mut self, row: Row) {
        eprintln!(
            "bench:   {} | {} | {} | {} | {}",
            row.metric, row.input, row.dl, row.wt, row.ratio
        );
        self.rows.push(row);
    }

    /// Adds a row to the real-program table.
    pub fn push_real(&mut self, row: Row) {
        eprintln!(
            "bench:   [real] {} | {} | {} | {} | {}",
            row.metric, row.input, row.dl, row.wt, row.ratio
        );
        self.real.push(row);
    }

    /// Adds a row to the non-PIC table: wasm-dl's non-PIC main against wasm-tools' all-PIC set.
    pub fn push_nonpic(&mut self, row: Row) {
        eprintln!(
            "bench:   [non-PIC] {} | {} | {} | {} | {}",
            row.metric, row.input, row.dl, row.wt, row.ratio
        );
        self.nonpic.push(row);
    }

    /// The markdown text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# Benchmarks\n\n");
        s.push_str(
            "Generated by `cargo run -p wasm-dl-bench --release` (bench/); do not edit by hand.\n\n",
        );
        let scale = match self.scale {
            Scale::Full => "full (N ∈ {1, 10, 100, 1000} × M ∈ {10, 1000}, 3 repetitions)",
            Scale::Quick => "`--quick` (small N, 1 repetition: a smoke run, not a measurement)",
            Scale::Tiny => "tiny (the test run: numbers mean nothing)",
        };
        s.push_str(&format!("Scale: {scale}.\n\n"));
        for (k, v) in &self.machine {
            s.push_str(&format!("- {k}: {v}\n"));
        }
        s.push_str(&format!(
            "- load average (1, 5, 15 min) at the end: {}\n\n\
             The machine is shared (other builds run on its 2 cores): the subjects alternate and \
             every value is a median, but wall times carry that noise; CPU times and sizes less \
             so.\n",
            load_average()
        ));
        s.push_str(
            "\n## Real programs: the same all-PIC files\n\n\
             Both tools compose the same files (see *What is compared* below). A goal is the \
             issue's (#12), for the CPython set.\n\n\
             | metric | input | wasm-dl | wasm-tools | ratio (wasm-dl ÷ wasm-tools) | goal |\n\
             |---|---|---|---|---|---|\n",
        );
        if self.real.is_empty() {
            s.push_str("| (not measured at this scale) | | | | | |\n");
        }
        for r in &self.real {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.metric, r.input, r.dl, r.wt, r.ratio, r.goal
            ));
        }
        s.push_str(
            "\n## Synthetic libraries, same input: the all-PIC set\n\n\
             Both tools compose the same files: `main.so`, `libc.so` and the synthetic libraries \
             (see *What is compared* below).\n\n\
             | metric | input | wasm-dl | wasm-tools | ratio (wasm-dl ÷ wasm-tools) | goal |\n\
             |---|---|---|---|---|---|\n",
        );
        if self.rows.is_empty() {
            s.push_str("| (not measured in this run) | | | | | |\n");
        }
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.metric, r.input, r.dl, r.wt, r.ratio, r.goal
            ));
        }
        s.push_str(
            "\n## wasm-dl's non-PIC path (its own rows: not the same input)\n\n\
             wasm-dl composing a non-PIC `main.wasm` (libc linked in, only what main uses) with the \
             same synthetic libraries, against the wasm-tools column of the table above (the \
             all-PIC set). The ratio compares different inputs; the issue's goals are for the \
             table above.\n\n\
             | metric | input | wasm-dl, non-PIC main | wasm-tools, all-PIC set | ratio (wasm-dl non-PIC ÷ wasm-tools) |\n\
             |---|---|---|---|---|\n",
        );
        if self.nonpic.is_empty() {
            s.push_str("| (not measured in this run) | | | | |\n");
        }
        for r in &self.nonpic {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.metric, r.input, r.dl, r.wt, r.ratio
            ));
        }
        s.push_str(include_str!("notes.md"));
        s
    }
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "?".into())
}
