//! Child processes timed from the outside: wall time, peak RSS (`wait4`'s `ru_maxrss`), a time box.

use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One finished child process.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Peak resident set size in bytes.
    pub max_rss: u64,
    /// User + system CPU time (all threads): steadier than wall time on a busy machine.
    pub cpu: Duration,
}

/// How a measured run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Exited 0.
    Ok(Sample),
    /// Killed after the time box.
    TimedOut(Duration),
    /// Exited non-zero: the first lines of stderr.
    Failed(String),
}

/// Runs `cmd` to completion (stdout discarded, stderr captured), killing it after `limit`.
pub fn run_child(cmd: &mut Command, limit: Duration) -> Result<Outcome> {
    let stderr_file = tempfile::NamedTempFile::new()?;
    cmd.stdout(Stdio::null())
        .stderr(stderr_file.reopen()?)
        .stdin(Stdio::null())
        .env("RUST_BACKTRACE", "0");
    let start = Instant::now();
    let child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            // The child is ours and not yet reaped (we only reap after this thread decides).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // Wait without reaping first so the watchdog can never signal a recycled pid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as _,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("waitid: {e}");
        }
    }
    let wall = start.elapsed();
    let _ = done_tx.send(());
    let killed = watchdog.join().unwrap_or(false);
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    drop(child); // already reaped; dropping a Child does not wait
    if killed {
        return Ok(Outcome::TimedOut(limit));
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        return Ok(Outcome::Ok(Sample {
            wall,
            max_rss: usage.ru_maxrss as u64 * 1024,
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        }));
    }
    let err = std::fs::read_to_string(stderr_file.path()).unwrap_or_default();
    let brief: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(6)
        .collect();
    Ok(Outcome::Failed(format!(
        "exit status {status:#x}: {}",
        brief.join(" / ")
    )))
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// The median of some durations.
pub fn median_duration(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

/// The median of some numbers.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}
