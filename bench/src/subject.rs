//! The measured subjects (the two tools and wasm-dl's non-PIC path), their results on one input,
//! and the synthetic input sets on disk.

use crate::measure::{median, median_duration, Outcome, Sample};
use crate::synth;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What is measured: wasm-dl and wasm-tools on the same all-PIC input set (the primary
/// comparison), and wasm-dl's own non-PIC path (its own rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tool {
    /// wasm-dl composing the all-PIC set: `main.so`, `libc.so` and the libraries.
    DlPic,
    /// `wasm-tools component link` on the same all-PIC set.
    WasmTools,
    /// wasm-dl composing its non-PIC `main.wasm` (libc linked in) and the same libraries.
    DlNonPic,
}

pub(crate) const TOOLS: [Tool; 3] = [Tool::DlPic, Tool::WasmTools, Tool::DlNonPic];

impl Tool {
    pub(crate) fn idx(self) -> usize {
        match self {
            Tool::DlPic => 0,
            Tool::WasmTools => 1,
            Tool::DlNonPic => 2,
        }
    }
    /// The file stem of this tool's outputs in an input set's directory.
    pub(crate) fn stem(self) -> &'static str {
        match self {
            Tool::DlPic => "wasm-dl-pic",
            Tool::WasmTools => "wasm-tools",
            Tool::DlNonPic => "wasm-dl-nonpic",
        }
    }
}

/// The three subjects' runs on one input.
#[derive(Default)]
pub(crate) struct Results {
    samples: [Vec<Sample>; 3],
    fails: [Option<String>; 3],
}

impl Results {
    pub(crate) fn push(&mut self, t: Tool, outcome: Outcome) {
        match outcome {
            Outcome::Ok(s) => self.samples[t.idx()].push(s),
            Outcome::TimedOut(d) => {
                self.fails[t.idx()] = Some(format!("> {} s (killed)", d.as_secs()))
            }
            Outcome::Failed(e) => self.fails[t.idx()] = Some(format!("failed: {e}")),
        }
    }
    pub(crate) fn failed(&self, t: Tool) -> bool {
        self.fails[t.idx()].is_some()
    }
    pub(crate) fn ok(&self, t: Tool) -> bool {
        !self.samples[t.idx()].is_empty()
    }
    pub(crate) fn wall(&self, t: Tool) -> Option<Duration> {
        median_duration(self.samples[t.idx()].iter().map(|s| s.wall).collect())
    }
    pub(crate) fn cpu(&self, t: Tool) -> Option<Duration> {
        median_duration(self.samples[t.idx()].iter().map(|s| s.cpu).collect())
    }
    pub(crate) fn rss(&self, t: Tool) -> Option<f64> {
        median(
            self.samples[t.idx()]
                .iter()
                .map(|s| s.max_rss as f64)
                .collect(),
        )
    }
    pub(crate) fn fail(&self, t: Tool) -> Option<String> {
        self.fails[t.idx()].clone()
    }
}

/// One composed input set, on disk.
pub(crate) struct InputSet {
    pub(crate) dir: PathBuf,
    pub(crate) libs: Vec<PathBuf>,
}

impl InputSet {
    pub(crate) fn write(dir: &Path, n: u32, m: u32) -> Result<Self> {
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
    pub(crate) fn out(&self, t: Tool) -> PathBuf {
        self.dir.join(format!("{}.wasm", t.stem()))
    }
    /// That component, precompiled by wasmtime.
    pub(crate) fn cwasm(&self, t: Tool) -> PathBuf {
        self.dir.join(format!("{}.cwasm", t.stem()))
    }
}

/// The order of the three subjects in repetition `rep`: rotated, so that none always runs first
/// (after a cold cache) or always right after another.
pub(crate) fn order(rep: usize) -> [Tool; 3] {
    let mut o = TOOLS;
    o.rotate_left(rep % 3);
    o
}
