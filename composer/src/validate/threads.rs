//! Function bodies validated on all cores: in chunks handed to whichever thread is free, in
//! the background while the caller composes ([`Pending`]) or right away ([`run`]).

use anyhow::{bail, Result};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use wasmparser::{FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources};

/// One body to validate: what wasmparser's module validation handed out for it.
pub(super) type Job<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

type BodyError = (usize, wasmparser::BinaryReaderError);

/// Threads pay off only for enough code (spawning one costs tens of microseconds).
const MIN_BYTES_PER_THREAD: usize = 256 * 1024;

/// Bodies to validate, in chunks of about equal code size handed out in order to whichever
/// thread is free (the cores are shared, so a static split would wait for the slowest), and the
/// first error found. Chunks may be added while threads validate ([`Feed`]): a thread finding
/// the queue empty waits for more until the queue is closed.
struct Work<'a> {
    queue: Mutex<Queue<'a>>,
    /// Signalled when a chunk is added or the queue is closed.
    more: Condvar,
    first_error: Mutex<Option<BodyError>>,
}

type Chunk<'a> = Vec<(usize, Job<'a>)>;

struct Queue<'a> {
    chunks: VecDeque<Chunk<'a>>,
    /// No chunk will be added.
    closed: bool,
}

impl<'a> Work<'a> {
    fn new() -> Self {
        Work {
            queue: Mutex::new(Queue {
                chunks: VecDeque::new(),
                closed: false,
            }),
            more: Condvar::new(),
            first_error: Mutex::new(None),
        }
    }

    /// Hands out `chunk`.
    fn add(&self, chunk: Chunk<'a>) {
        if let Ok(mut q) = self.queue.lock() {
            q.chunks.push_back(chunk);
        }
        self.more.notify_one();
    }

    /// Says that no chunk will be added.
    fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.closed = true;
        }
        self.more.notify_all();
    }

    /// The next chunk, waiting for one while the queue is open; `None` when the queue is closed
    /// and empty.
    fn next(&self) -> Option<Chunk<'a>> {
        let mut q = self.queue.lock().ok()?;
        loop {
            if let Some(c) = q.chunks.pop_front() {
                return Some(c);
            }
            if q.closed {
                return None;
            }
            q = self.more.wait(q).ok()?;
        }
    }

    /// Validates chunks until the queue is closed and empty.
    fn work(&self) {
        let mut allocs = FuncValidatorAllocations::default();
        while let Some(chunk) = self.next() {
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

/// Cuts bodies, numbered in the order given, into chunks of about `chunk_bytes` of code.
struct Chunker<'a> {
    chunk_bytes: usize,
    current: Chunk<'a>,
    size: usize,
    count: usize,
}

impl<'a> Chunker<'a> {
    /// Chunks for `threads` threads sharing `total` bytes of code: many per thread, so that
    /// the threads finish close together (a chunk is about a millisecond on CPython's set).
    fn new(total: usize, threads: usize) -> Self {
        Chunker {
            chunk_bytes: (total / (threads * 64)).max(1),
            current: Vec::new(),
            size: 0,
            count: 0,
        }
    }

    /// Adds `job`; returns a chunk when one is full.
    fn push(&mut self, job: Job<'a>) -> Option<Chunk<'a>> {
        self.size += job.1.as_bytes().len();
        self.current.push((self.count, job));
        self.count += 1;
        if self.size >= self.chunk_bytes {
            self.size = 0;
            return Some(std::mem::take(&mut self.current));
        }
        None
    }

    /// The last chunk.
    fn rest(&mut self) -> Chunk<'a> {
        self.size = 0;
        std::mem::take(&mut self.current)
    }
}

/// How many threads `total` bytes of code are worth.
fn threads_for(total: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(total / MIN_BYTES_PER_THREAD).max(1)
}

/// Validates `jobs` on all cores. On failure, the index (in `jobs`) of the first invalid body
/// with its error, the same one a sequential validation reports.
pub(super) fn run(jobs: Vec<Job<'_>>) -> Result<(), BodyError> {
    let total: usize = jobs.iter().map(|(_, b)| b.as_bytes().len()).sum();
    let threads = threads_for(total);
    let work = Work::new();
    let mut chunker = Chunker::new(total, threads);
    for job in jobs {
        if let Some(chunk) = chunker.push(job) {
            work.add(chunk);
        }
    }
    work.add(chunker.rest());
    work.close();
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

/// Input bodies handed to validation threads as they are found (see [`super::inputs_in`]):
/// the threads start on the first chunk while the caller still reads the modules' structure.
/// [`Feed::finish`] hands out the last chunk.
pub struct Feed<'scope, 'a> {
    work: Arc<Work<'a>>,
    chunker: Chunker<'a>,
    threads: Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
    /// For each body, the index in `names` of its input.
    owners: Vec<usize>,
    names: Vec<String>,
}

impl<'scope, 'a: 'scope> Feed<'scope, 'a> {
    /// Starts the threads for `total` bytes of code (`names`: the inputs' names, for errors):
    /// in `scope`, all cores but one (the caller's thread goes on composing, the longer path,
    /// and validates what is left in [`Pending::wait`]); none without a scope or for little
    /// code (the caller then validates everything in `wait`).
    pub(super) fn start(
        scope: Option<&'scope std::thread::Scope<'scope, '_>>,
        total: usize,
        names: Vec<String>,
    ) -> Self {
        let threads = threads_for(total);
        let work = Arc::new(Work::new());
        let mut handles = Vec::new();
        if let Some(scope) = scope {
            for _ in 1..threads {
                let work = Arc::clone(&work);
                handles.push(scope.spawn(move || work.work()));
            }
        }
        Feed {
            work,
            chunker: Chunker::new(total, threads),
            threads: handles,
            owners: Vec::new(),
            names,
        }
    }

    /// Hands out `job`, a body of input `owner` (an index in the names given).
    pub(super) fn push(&mut self, owner: usize, job: Job<'a>) {
        self.owners.push(owner);
        if let Some(chunk) = self.chunker.push(job) {
            self.work.add(chunk);
        }
    }

    /// Every body is handed out: the bodies being validated.
    pub(super) fn finish(mut self) -> Pending<'scope, 'a> {
        self.work.add(self.chunker.rest());
        // Dropping `self` closes the queue.
        Pending {
            work: Arc::clone(&self.work),
            threads: std::mem::take(&mut self.threads),
            owners: std::mem::take(&mut self.owners),
            names: std::mem::take(&mut self.names),
        }
    }
}

impl Drop for Feed<'_, '_> {
    /// Closes the queue, also when the caller stops early: the threads then end with the chunks
    /// they have (the scope they belong to waits for them).
    fn drop(&mut self) {
        self.work.close();
    }
}

/// Input bodies being validated in the background (see [`super::inputs_in`]);
/// [`Pending::wait`] says whether they are valid.
pub struct Pending<'scope, 'a> {
    work: Arc<Work<'a>>,
    threads: Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
    /// For each body, the index in `names` of its input.
    owners: Vec<usize>,
    names: Vec<String>,
}

impl<'scope, 'a: 'scope> Pending<'scope, 'a> {
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
