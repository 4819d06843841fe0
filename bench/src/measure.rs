//! Child processes timed from the outside: wall time, peak RSS (`wait4`'s `ru_maxrss`), a time box.
//!
//! Each measured command is started by a fresh `wasm-dl-bench child-measure` process, not by the
//! bench itself: a child's `ru_maxrss` counts the memory its parent had when it forked (the kernel
//! takes the old address space's high-water mark at `exec`, and a `vfork`/`fork` child's is the
//! parent's), so children of the bench, which holds wasmtime and earlier results (about 60 MiB),
//! all reported at least that much. The intermediary is small when it forks; it reports the
//! command's wall time, CPU time and peak RSS on its stdout.

use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;
use std::path::Path;
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

/// Runs `cmd` to completion (stdout discarded, stderr captured) through `exe child-measure` (`exe`
/// is the `wasm-dl-bench` executable), killing both after `limit`.
pub fn run_child(exe: &Path, cmd: &Command, limit: Duration) -> Result<Outcome> {
    let stderr_file = tempfile::NamedTempFile::new()?;
    let stdout_file = tempfile::NamedTempFile::new()?;
    let mut outer = Command::new(exe);
    outer
        .arg("child-measure")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdout(stdout_file.reopen()?)
        .stderr(stderr_file.reopen()?)
        .stdin(Stdio::null())
        .env("RUST_BACKTRACE", "0")
        // Its own process group, so that the time box kills the command too.
        .process_group(0);
    if let Some(dir) = cmd.get_current_dir() {
        outer.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => outer.env(k, v),
            None => outer.env_remove(k),
        };
    }
    let child = outer
        .spawn()
        .with_context(|| format!("spawning {outer:?}"))?;
    let pid = child.id() as libc::pid_t;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            // The child is ours and not yet reaped (we only reap after this thread decides), so
            // its process group is still its own.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
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
    let report = std::fs::read_to_string(stdout_file.path()).unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        report
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    let inner = field("status ");
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && inner == Some(0) {
        let (Some(wall), Some(rss), Some(cpu)) =
            (field("wall_ns "), field("max_rss "), field("cpu_ns "))
        else {
            bail!("child-measure printed {report:?}");
        };
        return Ok(Outcome::Ok(Sample {
            wall: Duration::from_nanos(wall),
            max_rss: rss,
            cpu: Duration::from_nanos(cpu),
        }));
    }
    let status = inner.map_or(status, |s| s as libc::c_int);
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

/// `child-measure PROGRAM ARGS...`: runs the command (stdout discarded, stderr inherited) and prints its wall time
/// (`wall_ns`), CPU time (`cpu_ns`, user + system, all threads), peak RSS in bytes (`max_rss`) and
/// raw wait status (`status`), one `name value` a line.
pub fn child_measure(program: &str, args: &[String]) -> Result<()> {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("spawning {program}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4: {e}");
        }
    }
    let wall = start.elapsed();
    drop(child); // already reaped
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    println!(
        "wall_ns {}\ncpu_ns {}\nmax_rss {}\nstatus {status}",
        wall.as_nanos(),
        cpu.as_nanos(),
        usage.ru_maxrss as u64 * 1024
    );
    Ok(())
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
