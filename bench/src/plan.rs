//! How much each comparison measures at each [`Scale`]: input grids and repetitions.

use crate::Scale;

/// The inputs and repetition counts of one run.
pub(crate) struct Plan {
    /// Repetitions of each compose.
    pub(crate) reps: usize,
    /// The (libraries, symbols per library) sets composed by every subject.
    pub(crate) compose_grid: Vec<(u32, u32)>,
    /// The input of the compose/compile/startup comparison (the 100 × 1000).
    pub(crate) focus: (u32, u32),
    /// Scaling rows: (m, n_small, n_large).
    pub(crate) scaling: Vec<(u32, u32, u32)>,
    /// Repetitions of each wasmtime precompile.
    pub(crate) compile_reps: usize,
    /// Repetitions of each start-up measurement.
    pub(crate) startup_reps: usize,
    /// Function symbols in the dlsym library (it has as many data symbols too).
    pub(crate) dlsym_funcs: u32,
    /// Lookups per repeated-`dlsym` measurement.
    pub(crate) dlsym_iters: u64,
    /// Calls per call-through-pointer measurement.
    pub(crate) call_iters: u64,
}

impl Plan {
    pub(crate) fn new(scale: Scale) -> Self {
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
