//! Function bodies validated on all cores: in chunks handed to whichever thread is free, in
//! the background while the caller composes ([`Pending`]) or right away ([`run`]).

use anyhow::{bail, Result};
use std::sync::{Arc, Mutex};
use wasmparser::{FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources};

/// One body to validate: what wasmparser's module validation handed out for it.
pub(super) type Job<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

type BodyError = (usize, wasmparser::BinaryReaderError);

/// Threads pay off only for enough code (spawning one costs tens of microseconds).
const MIN_BYTES_PER_THREAD: usize = 256 * 1024;

/// Bodies to validate, in chunks of about equal code size handed out in order to whichever
/// thread is free (the cores are shared, so a static split would wait for the slowest), and the
/// first error found.
struct Work<'a> {
    queue: Mutex<std::vec::IntoIter<Vec<(usize, Job<'a>)>>>,
    first_error: Mutex<Option<BodyError>>,
}

impl<'a> Work<'a> {
    fn new(jobs: Vec<Job<'a>>, threads: usize) -> Self {
        let total: usize = jobs.iter().map(|(_, b)| b.as_bytes().len()).sum();
        let chunk_bytes = (total / (threads * 16)).max(1);
        let mut chunks: Vec<Vec<(usize, Job<'a>)>> = Vec::new();
        let mut current = Vec::new();
        let mut size = 0;
        for (i, job) in jobs.into_iter().enumerate() {
            size += job.1.as_bytes().len();
            current.push((i, job));
            if size >= chunk_bytes {
                chunks.push(std::mem::take(&mut current));
                size = 0;
            }
        }
        chunks.push(current);
        Work {
            queue: Mutex::new(chunks.into_iter()),
            first_error: Mutex::new(None),
        }
    }

    /// Validates chunks until none is left.
    fn work(&self) {
        let mut allocs = FuncValidatorAllocations::default();
        loop {
            let chunk = match self.queue.lock() {
                Ok(mut q) => q.next(),
                Err(_) => None,
            };
            let Some(chunk) = chunk else { break };
            for (i, (f, body)) in chunk {
                let mut v = f.into_validator(allocs);
                let result = v.validate(&body);
                allocs = v.into_allocations();
                if let Err(e) = result {
                    if let Ok(mut first) = self.first_error.lock() {
                        if first.as_ref().is_none_or(|(j, _)| i < *j) {
                            *first = Some((i, e));
                        }
                    }
                    // The rest of this chunk comes after `i`: not the first error.
                    break;
                }
            }
        }
    }

    /// The first invalid body (by index), the one a sequential validation reports.
    fn result(&self) -> Result<(), BodyError> {
        let first = match self.first_error.lock() {
            Ok(mut f) => f.take(),
            Err(p) => p.into_inner().take(),
        };
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

/// How many threads `jobs` are worth.
fn threads_for(jobs: &[Job<'_>]) -> usize {
    let total: usize = jobs.iter().map(|(_, b)| b.as_bytes().len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(total / MIN_BYTES_PER_THREAD).max(1)
}

/// Validates `jobs` on all cores. On failure, the index (in `jobs`) of the first invalid body
/// with its error, the same one a sequential validation reports.
pub(super) fn run(jobs: Vec<Job<'_>>) -> Result<(), BodyError> {
    let threads = threads_for(&jobs);
    let work = Work::new(jobs, threads);
    if threads == 1 {
        work.work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(|| work.work());
            }
            work.work();
        });
    }
    work.result()
}

/// Input bodies being validated in the background (see [`super::inputs_in`]);
/// [`Pending::wait`] says whether they are valid.
pub struct Pending<'scope, 'a> {
    work: Arc<Work<'a>>,
    threads: Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
    /// For each body, the name of its input.
    owners: Vec<usize>,
    names: Vec<String>,
}

impl<'scope, 'a: 'scope> Pending<'scope, 'a> {
    /// Starts validating `jobs` (`owners[i]`: the index in `names` of job i's input): in threads
    /// of `scope`, or, without one or for little code, right here.
    pub(super) fn start(
        scope: Option<&'scope std::thread::Scope<'scope, '_>>,
        jobs: Vec<Job<'a>>,
        owners: Vec<usize>,
        names: Vec<String>,
    ) -> Self {
        let threads = threads_for(&jobs);
        let work = Arc::new(Work::new(jobs, threads));
        let mut handles = Vec::new();
        match scope {
            // One core stays the caller's, which composes meanwhile (the critical path) and
            // validates what is left in `wait`.
            Some(scope) if threads > 1 => {
                for _ in 1..threads {
                    let work = Arc::clone(&work);
                    handles.push(scope.spawn(move || work.work()));
                }
            }
            _ => work.work(),
        }
        Pending {
            work,
            threads: handles,
            owners,
            names,
        }
    }

    /// Waits for the validation; the error names the input of the first invalid body.
    pub fn wait(self) -> Result<()> {
        // The caller's thread takes the chunks no other thread has taken yet.
        self.work.work();
        for t in self.threads {
            if t.join().is_err() {
                bail!("internal error: a validation thread panicked");
            }
        }
        if let Err((i, e)) = self.work.result() {
            let name = self
                .owners
                .get(i)
                .and_then(|m| self.names.get(*m))
                .map_or("an input", String::as_str);
            return Err(super::invalid(name, e));
        }
        Ok(())
    }
}
