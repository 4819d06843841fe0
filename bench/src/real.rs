//! Real programs, each an all-PIC set composed by both tools from the same files: wasm-dl
//! (`child-compose`, what `wasm-dl compose main.so libs...` does) and `wasm-tools component link`
//! (the libraries main needs as positional arguments, the ones only `dlopen` finds as
//! `--dl-openable`). The subjects alternate; every row is a median.
//!
//! - CPython as componentize-py ships it: its `libpython3.14.so`, wasip2 `libc.so` and
//!   `libwasi-emulated-*.so` (extracted from the PyPI package by `scripts/componentize-py-libs.py`),
//!   a `-shared` main embedding CPython (`python_main.c`) and one extension module
//!   (`examples/python/spam.c`), dl-openable.
//! - QuickJS (quickjs-ng, the sources of the crates.io crate `rquickjs-sys`): the engine
//!   (`quickjs.c`, `libregexp.c`, `libunicode.c`, `dtoa.c`) as `libqjs.so`, a `-shared` main using
//!   it (`quickjs_main.c`), componentize-py's `libc.so`, and quickjs-ng's native-module example
//!   `fib.c` as `fib.so`, dl-openable.
//! - SQLite (the amalgamation of the crates.io crate `libsqlite3-sys`) with the sqlite-vec
//!   extension (crate `sqlite-vec`), dl-openable and loaded by `sqlite3_load_extension`
//!   (`real/sqlite.rs`).
//!
//! wasm-dl also composes each set with `--gc` (`real/gc.rs`): its rows compare that output with
//! wasm-tools'.

mod gc;
mod sqlite;
pub(crate) use sqlite::sqlite_set;

use crate::measure::{median_duration, run_child};
use crate::report::Row;
use crate::toolchain::{run, workspace_root, Tools};
use crate::{runtime, Bench, Results, Scale, Tool};
use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One real program's input set, on disk.
pub(crate) struct RealSet {
    /// How the rows name it.
    name: String,
    /// Where the outputs go.
    dir: PathBuf,
    /// The PIC main (`-shared`, wasip2 `crt1-command.o`).
    main_so: PathBuf,
    /// The libraries main's imports need: placed before `_start`.
    linked: Vec<PathBuf>,
    /// The libraries only `dlopen` finds (not opened in any row).
    openable: Vec<PathBuf>,
    /// The program's first useful output: `main ARGS` in this environment prints `expect`.
    first: FirstOutput,
    /// The goals of the issue for this set (CPython's), or none.
    goals: bool,
}

/// What "the first useful output" of a real program is.
pub(crate) struct FirstOutput {
    /// The row's description of it.
    what: String,
    args: Vec<String>,
    expect: String,
    env: runtime::Env,
}

/// The two subjects of the real-program rows.
const SUBJECTS: [Tool; 2] = [Tool::DlPic, Tool::WasmTools];

fn order(rep: usize) -> [Tool; 2] {
    let mut o = SUBJECTS;
    o.rotate_left(rep % 2);
    o
}

/// How often each real-program measurement is repeated.
struct Reps {
    compose: usize,
    compile: usize,
    startup: usize,
    cli: usize,
}

impl Reps {
    fn new(scale: Scale) -> Self {
        match scale {
            Scale::Full => Reps {
                compose: 9,
                compile: 5,
                startup: 15,
                cli: 7,
            },
            _ => Reps {
                compose: 1,
                compile: 1,
                startup: 2,
                cli: 1,
            },
        }
    }
}

impl RealSet {
    fn out(&self, t: Tool) -> PathBuf {
        self.dir.join(format!("{}.wasm", t.stem()))
    }
    fn cwasm(&self, t: Tool) -> PathBuf {
        self.dir.join(format!("{}.cwasm", t.stem()))
    }
}

/// Compiles `src` into the `-fPIC` object `obj` with clang (`args` first: include directories,
/// defines), as wasi-sdk builds PIC code.
fn cc_pic<A: AsRef<OsStr>>(tools: &Tools, args: &[A], src: &Path, obj: &Path) -> Result<()> {
    run(Command::new(&tools.clang)
        .arg("--target=wasm32-wasi")
        .arg(format!("--sysroot={}", tools.sysroot.display()))
        .args(args)
        .args(["-fPIC", "-fvisibility=default", "-O2", "-c"])
        .arg(src)
        .arg("-o")
        .arg(obj))?;
    Ok(())
}

/// Links `objs` into the shared library (or `-shared` main) `out`; what the library imports is
/// resolved when it is composed.
fn ld_shared(tools: &Tools, objs: &[PathBuf], out: &Path) -> Result<()> {
    run(Command::new(&tools.wasm_ld)
        .args([
            "-shared",
            "--experimental-pic",
            "--unresolved-symbols=import-dynamic",
        ])
        .args(objs)
        .arg("-o")
        .arg(out))?;
    Ok(())
}

/// Builds a `-fPIC` object of `src` with clang and links it `-shared` (with `extra` objects
/// first), as wasi-sdk builds PIC programs and extensions.
fn build_pic(
    tools: &Tools,
    src: &Path,
    include: &Path,
    extra: &[PathBuf],
    out: &Path,
) -> Result<()> {
    let obj = out.with_extension("o");
    cc_pic(tools, &[format!("-I{}", include.display())], src, &obj)?;
    let mut objs = extra.to_vec();
    objs.push(obj);
    ld_shared(tools, &objs, out)
}

/// The directory of the crates.io crate `name` that tests/Cargo.toml declares as a never-built
/// dependency (cargo downloads it, compiles none of its C), and its `name-VERSION` directory name.
fn crate_dir(name: &str) -> Result<(PathBuf, String)> {
    let dir = wasm_dl_tests::tools::crate_source_dir(name)?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    Ok((dir, base))
}

/// componentize-py's libraries, extracted (cached) by `scripts/componentize-py-libs.py`.
pub(crate) fn componentize_py_libs() -> Result<PathBuf> {
    let python = wasm_dl_tests::tools::venv_python()?;
    let printed = run(Command::new(&python)
        .arg(workspace_root().join("scripts/componentize-py-libs.py"))
        .arg("-q"))
    .context("extracting componentize-py's libraries (run `bash scripts/setup.sh`)")?;
    Ok(PathBuf::from(
        printed
            .lines()
            .last()
            .context("componentize-py-libs.py printed nothing")?
            .trim(),
    ))
}

/// The CPython set (see the module docs).
pub(crate) fn python_set(tools: &Tools, work: &Path) -> Result<RealSet> {
    let libs = componentize_py_libs()?;
    let dir = work.join("real-cpython");
    std::fs::create_dir_all(&dir)?;
    let src = dir.join("python_main.c");
    std::fs::write(&src, include_str!("python_main.c"))?;
    let examples = workspace_root().join("examples/python");
    let main_so = dir.join("main.so");
    build_pic(
        tools,
        &src,
        &examples,
        &[tools.wasip2_lib.join("crt1-command.o")],
        &main_so,
    )?;
    let spam = dir.join("spam.abi3.so");
    build_pic(tools, &examples.join("spam.c"), &examples, &[], &spam)?;
    let linked: Vec<PathBuf> = [
        "libc.so",
        "libpython3.14.so",
        "libwasi-emulated-signal.so",
        "libwasi-emulated-getpid.so",
        "libwasi-emulated-process-clocks.so",
    ]
    .iter()
    .map(|n| libs.join(n))
    .collect();
    for l in &linked {
        if !l.is_file() {
            bail!("{} is missing: run `bash scripts/setup.sh`", l.display());
        }
    }
    let home = "/python-home";
    Ok(RealSet {
        name: "CPython 3.14 (componentize-py's libpython3.14.so, libc.so, 3 emulated libs; main.so; spam.abi3.so dl-openable)".into(),
        dir,
        main_so,
        linked,
        openable: vec![spam],
        first: FirstOutput {
            what: "`Py_Initialize` + `print` + `Py_FinalizeEx`".into(),
            args: vec!["hello".into()],
            expect: "hello from CPython".into(),
            env: runtime::Env {
                vars: vec![
                    ("PYTHONHOME".into(), home.into()),
                    ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
                ],
                preopens: vec![(libs.join("python-home"), home.into())],
            },
        },
        goals: true,
    })
}

impl Bench<'_> {
    fn real_compose_cmd(&self, set: &RealSet, t: Tool) -> Command {
        match t {
            Tool::WasmTools => {
                let mut c = Command::new(&self.tools.wasm_tools);
                c.args(["component", "link", "--use-built-in-libdl"])
                    .arg(&set.main_so)
                    .args(&set.linked);
                for lib in &set.openable {
                    let name = lib.file_name().unwrap_or_default().to_string_lossy();
                    c.arg("--dl-openable")
                        .arg(format!("{name}={}", lib.display()));
                }
                c.arg("-o").arg(set.out(t));
                c
            }
            _ => {
                let mut c = Command::new(&self.cfg.exe);
                c.arg("child-compose")
                    .arg(set.out(t))
                    .arg(&set.main_so)
                    .args(&set.linked)
                    .args(&set.openable);
                c
            }
        }
    }

    /// Measures one real program: every row of the real-program table.
    pub(crate) fn real(&mut self, set: &RealSet) -> Result<()> {
        const WT: Tool = Tool::WasmTools;
        const DL: Tool = Tool::DlPic;
        let reps = Reps::new(self.cfg.scale);
        let goal = |g: &'static str| if set.goals { g } else { "" };
        self.section(&format!("real program: {}", set.name));
        let mut r = Results::default();
        // wasm-dl with `--gc`, in the `DlPic` slot of a results table of its own.
        let mut g = Results::default();
        for rep in 0..reps.compose {
            for t in order(rep) {
                if !r.failed(t) {
                    r.push(
                        t,
                        run_child(
                            &self.cfg.exe,
                            &self.real_compose_cmd(set, t),
                            self.cfg.limit,
                        )?,
                    );
                }
            }
            if !g.failed(DL) {
                let cmd = self.real_gc_compose_cmd(set);
                g.push(DL, run_child(&self.cfg.exe, &cmd, self.cfg.limit)?);
            }
        }
        let input = set.name.as_str();
        let rows = vec![
            Row::durations(
                "compose wall time",
                input,
                r.wall(DL),
                r.wall(WT),
                r.fail(DL),
                r.fail(WT),
                goal("≤ 0.5×"),
            ),
            Row::durations(
                "compose CPU time (user + sys, all threads)",
                input,
                r.cpu(DL),
                r.cpu(WT),
                r.fail(DL),
                r.fail(WT),
                "",
            ),
            Row::bytes(
                "composer peak RSS",
                input,
                r.rss(DL),
                r.rss(WT),
                r.fail(DL),
                r.fail(WT),
                goal("≤ 1.0×"),
            ),
        ];
        for row in rows {
            self.report.push_real(row);
        }
        let size = |t: Tool| {
            r.ok(t)
                .then(|| std::fs::metadata(set.out(t)).ok().map(|m| m.len() as f64))
                .flatten()
        };
        self.report.push_real(Row::bytes(
            "output component size",
            input,
            size(DL),
            size(WT),
            r.fail(DL),
            r.fail(WT),
            "",
        ));
        self.real_gc_rows(set, &g, &r);
        // wasmtime compile, in child processes; wasm-dl's `--gc` output (in the `DlPic` slot
        // of a results table of its own) in turn with the others, each of the three first in
        // a third of the repetitions (the machine's speed drifts over a run).
        let mut c = Results::default();
        let mut gc = Results::default();
        for rep in 0..reps.compile {
            let mut turn = [Some(DL), Some(WT), None];
            turn.rotate_left(rep % 3);
            for t in turn {
                let Some(t) = t else {
                    self.gc_compile_once(set, &mut gc)?;
                    continue;
                };
                if c.failed(t) || !set.out(t).is_file() {
                    continue;
                }
                let mut cmd = Command::new(&self.cfg.exe);
                cmd.arg("child-compile").arg(set.out(t)).arg(set.cwasm(t));
                c.push(t, run_child(&self.cfg.exe, &cmd, self.cfg.limit * 3)?);
            }
        }
        self.report.push_real(Row::durations(
            "wasmtime compile time (precompile_component)",
            input,
            c.wall(DL),
            c.wall(WT),
            c.fail(DL),
            c.fail(WT),
            "",
        ));
        self.real_gc_compile(set, reps.compile, &c, &gc)?;
        self.report.push_real(Row::bytes(
            "wasmtime compile peak RSS",
            input,
            c.rss(DL),
            c.rss(WT),
            c.fail(DL),
            c.fail(WT),
            "",
        ));
        self.real_startup(set, &reps, &c)
    }

    /// The start-up rows: the dynamic linker's work alone (`main` returns at once), server-style
    /// and CLI-style, and the first useful output.
    fn real_startup(&mut self, set: &RealSet, reps: &Reps, compiled: &Results) -> Result<()> {
        const WT: Tool = Tool::WasmTools;
        const DL: Tool = Tool::DlPic;
        let goal = |g: &'static str| if set.goals { g } else { "" };
        let mut fails: [Option<String>; 3] = Default::default();
        for t in SUBJECTS {
            if compiled.failed(t) || !set.cwasm(t).is_file() {
                fails[t.idx()] = Some(compiled.fail(t).unwrap_or_else(|| "not compiled".into()));
            }
        }
        let mut runners: [Option<runtime::Runner>; 3] = Default::default();
        for t in SUBJECTS {
            if fails[t.idx()].is_none() {
                match runtime::Runner::load(&set.cwasm(t)) {
                    Ok(r) => runners[t.idx()] = Some(r),
                    Err(e) => fails[t.idx()] = Some(format!("{e:#}")),
                }
            }
        }
        // Server-style: deserialized once; a new store, instantiate and run each time.
        let mut server: [Vec<Duration>; 3] = Default::default();
        let mut first: [Vec<Duration>; 3] = Default::default();
        let first_args: Vec<&str> = set.first.args.iter().map(String::as_str).collect();
        for rep in 0..=reps.startup {
            for t in order(rep) {
                let i = t.idx();
                let (Some(runner), None) = (&runners[i], &fails[i]) else {
                    continue;
                };
                match runner.run(&[]) {
                    // Repetition 0 warms up.
                    Ok((d, _)) if rep > 0 => server[i].push(d),
                    Ok(_) => {}
                    Err(e) => fails[i] = Some(format!("{e:#}")),
                }
                if rep > reps.cli {
                    continue;
                }
                match runner.run_in(&first_args, &set.first.env) {
                    Ok((d, out)) if out.contains(&set.first.expect) => {
                        if rep > 0 {
                            first[i].push(d)
                        }
                    }
                    Ok((_, out)) => fails[i] = Some(format!("unexpected output {out:?}")),
                    Err(e) => fails[i] = Some(format!("{e:#}")),
                }
            }
        }
        drop(runners);
        // CLI-style: the `.cwasm` file deserialized (and an engine made) every time.
        let mut cli: [Vec<Duration>; 3] = Default::default();
        for rep in 0..reps.cli {
            for t in order(rep) {
                let i = t.idx();
                if fails[i].is_some() {
                    continue;
                }
                let start = Instant::now();
                match runtime::Runner::load(&set.cwasm(t)).and_then(|r| r.run(&[])) {
                    Ok(_) => cli[i].push(start.elapsed()),
                    Err(e) => fails[i] = Some(format!("{e:#}")),
                }
            }
        }
        let input = set.name.as_str();
        let rows = [
            (
                "start-up, the linker's work alone (main returns at once), server-style: \
                 deserialized once, new store + instantiate + run",
                server,
                goal("≤ 0.5× (prelinked: memory and data; relocations at run time)"),
            ),
            (
                "start-up, the linker's work alone, CLI-style: the `.cwasm` deserialized each \
                 time (engine, deserialize, instantiate, run)",
                cli,
                goal("≤ 0.7× (prelinked: memory and data; relocations at run time)"),
            ),
        ];
        for (metric, times, g) in rows {
            let med = times.map(median_duration);
            self.report.push_real(Row::durations(
                metric,
                input,
                med[DL.idx()],
                med[WT.idx()],
                fails[DL.idx()].clone(),
                fails[WT.idx()].clone(),
                g,
            ));
        }
        let med = first.map(median_duration);
        self.report.push_real(Row::durations(
            &format!(
                "start-up to the first useful output ({}), server-style",
                set.first.what
            ),
            input,
            med[DL.idx()],
            med[WT.idx()],
            fails[DL.idx()].clone(),
            fails[WT.idx()].clone(),
            "",
        ));
        Ok(())
    }
}

/// The quickjs-ng engine sources (`qjs_srcs` in its CMakeLists.txt, without quickjs-libc: the
/// benchmark's main needs none of it).
const QUICKJS_ENGINE: &[&str] = &["quickjs.c", "libregexp.c", "libunicode.c", "dtoa.c"];

/// The QuickJS set (see the module docs). The engine takes about a minute of CPU to compile: it is
/// built once per quickjs-ng version into the work directory.
pub(crate) fn quickjs_set(tools: &Tools, work: &Path, libc_so: &Path) -> Result<RealSet> {
    // `<rquickjs-sys>/quickjs`.
    let (krate, version) = crate_dir("rquickjs-sys")?;
    let q = krate.join("quickjs");
    if !q.join("quickjs.c").is_file() {
        bail!("{} has no quickjs.c", q.display());
    }
    let dir = work.join(format!("real-quickjs-{version}"));
    std::fs::create_dir_all(&dir)?;
    let cc = |src: &Path, obj: &Path, extra: &[&str]| -> Result<()> {
        let mut args = vec![
            format!("-I{}", q.display()),
            "-D_GNU_SOURCE".into(),
            "-w".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        cc_pic(tools, &args, src, obj)
    };
    let ld = |objs: &[PathBuf], out: &Path| ld_shared(tools, objs, out);
    let libqjs = dir.join("libqjs.so");
    if !libqjs.is_file() {
        let objs: Vec<PathBuf> = QUICKJS_ENGINE
            .iter()
            .map(|f| dir.join(f).with_extension("o"))
            .collect();
        let (q, cc) = (&q, &cc);
        std::thread::scope(|s| -> Result<()> {
            let jobs: Vec<_> = QUICKJS_ENGINE
                .iter()
                .zip(&objs)
                .map(|(f, o)| s.spawn(move || cc(&q.join(f), o, &[])))
                .collect();
            for j in jobs {
                j.join()
                    .map_err(|_| anyhow::anyhow!("compiling QuickJS panicked"))??;
            }
            Ok(())
        })?;
        ld(&objs, &libqjs)?;
    }
    let src = dir.join("quickjs_main.c");
    std::fs::write(&src, include_str!("quickjs_main.c"))?;
    let main_o = dir.join("main.o");
    cc(&src, &main_o, &[])?;
    let main_so = dir.join("main.so");
    ld(&[tools.wasip2_lib.join("crt1-command.o"), main_o], &main_so)?;
    let fib_o = dir.join("fib.o");
    cc(
        &q.join("examples/fib.c"),
        &fib_o,
        &["-DQUICKJS_NG_MODULE_BUILD"],
    )?;
    let fib = dir.join("fib.so");
    ld(&[fib_o], &fib)?;
    Ok(RealSet {
        name: format!(
            "QuickJS ({version}: libqjs.so {}, componentize-py's libc.so; main.so; fib.so dl-openable)",
            crate::report::size_text(std::fs::metadata(&libqjs)?.len() as f64)
        ),
        dir,
        main_so,
        linked: vec![libqjs, libc_so.to_path_buf()],
        openable: vec![fib],
        first: FirstOutput {
            what: "a runtime and a context made, one expression evaluated and printed, both freed"
                .into(),
            args: vec!["hello".into()],
            expect: "hello from QuickJS".into(),
            env: runtime::Env::default(),
        },
        goals: false,
    })
}
