//! Data-driven end-to-end cases: one directory per case under `tests/cases/`, each composed through the
//! library API and through the `wasm-dl` binary, run in wasmtime, stdout compared exactly.
//!
//! A case directory holds:
//! - `main.c` (built as the non-PIC main module), or `main.wasm` used as given (any bytes), or
//!   `main.wat` (a hand-written main module);
//! - libraries: every other `*.c` is built as a shared library named `lib<stem>.so` (`<stem>.so` when the
//!   stem already starts with `lib`: `libgreet.c` and `greet.c` both give `libgreet.so`, the name `dlopen`
//!   uses); `*.so` files are used as given; `<stem>.needs` lists the libraries (`libx.so ...`) that
//!   library is linked against, which become its `dylink.0` NEEDED entries; `main.needs` likewise
//!   links the main module against libraries (it then imports their functions from `env`);
//! - `sources` (optional): a directory, relative to the case, whose files are used as if they were in
//!   the case (files in the case directory win) -- to test `examples/` without copying them;
//! - `compose-args` (optional): the library names in the order they are passed to compose (default: all
//!   libraries, sorted by name);
//! - `aliases` (optional): lines `ALIAS=LIB`, given as `Composer::alias(ALIAS, LIB)` (API) and
//!   `--lib ALIAS=LIB` (CLI);
//! - `main-flags` (optional): `none` builds main without the computed export flags (other words are
//!   then its only flags); `pic` builds it position-independent (`-fPIC`, `-shared` with wasip2's
//!   `crt1-command.o`) and adds a PIC `libc.so` built from wasip2's `libc.a` to the libraries: an
//!   all-PIC input set; otherwise extra clang flags;
//! - `<name>.so.wat`: a hand-written library (malformed inputs no compiler emits);
//! - `compose-options` (optional): `--strict`, `--stub-missing` (CLI flags, mapped to the API);
//! - `lib-flags` (optional): `plain` builds the libraries as plain non-shared modules (no `dylink.0`);
//!   otherwise extra clang flags;
//! - `expected-stdout`: the exact output; `expected-exit` (optional, default 0);
//! - or, for cases named `error-*`, `expected-error`: each non-empty line must occur in the compose error
//!   (API) and in the CLI's stderr, and no output file may be written.
//!
//! - `native` (optional): the case is also built with gcc and run with glibc's `ld.so` (`::native`),
//!   whose output must be `expected-stdout` too: Linux is the specification. The file's words are
//!   extra gcc flags for main (`-rdynamic`, ...).
//! - subdirectories (one level): a library source `a/libx.c` builds `a/libx.so`, composed under
//!   that name (its guest path `/a/libx.so`), so that two libraries can share a basename;
//!   natively it is built in that directory of the program's, and a library linked against it
//!   (`.needs`) records its basename as NEEDED (`-L DIR -l:libx.so`), as wasm-ld does;
//! - `<stem>.ldflags` (optional): extra link flags of one library, for clang and gcc alike
//!   (`-Wl,-rpath,$ORIGIN/../b`; wasm-ld 20 or later writes RUNPATH: such a case says `llvm`
//!   `22`);
//! - `env` (optional): `NAME=VALUE` lines, the component's environment (wasmtime and jco) and
//!   the native program's (there, `LD_LIBRARY_PATH` is followed by the build directory; give
//!   directories relative to the case, which are relative to the program's working directory
//!   natively and to `/` in the component).
//!
//! A `.needs` name that is no library of the case but a system library (`libdl.so`, `libm.so.6`:
//! [`wasm_dl_abi::system`]) is linked against an empty placeholder, as wasi-sdk's sysroot has one,
//! and is not given to compose: wasm-dl provides it. The native build links glibc's (`-ldl`).
//!
//! - `expected-warnings` (optional): each non-empty line must occur in a warning of the
//!   composition (checked through the API);
//! - snapshots, written by `BLESS=1` and compared whole by `::api`: `link.map`, the link map
//!   of a success case (`--map`), and `error.txt`, the whole compose error of an `error-*` case;
//! - `peer-differs` (optional, all-PIC cases): why `wasm-tools component link` cannot give the
//!   expected output (a feature it lacks); without it, the peer's program must print it too.
//!
//! - `llvm` (optional): the LLVM versions the case is built with (default `19 22`: `::api`, `::cli`,
//!   `::jco` and `::peer` with clang-19, `::llvm22` through the API with clang-22); a case that
//!   needs LLVM 20 or later (wasm exception handling, setjmp/longjmp) says `22`, and its runs
//!   use clang-22;
//! - `jco-differs` (optional): why the case cannot run under jco on Node 20 (a wasm feature
//!   Node 20 lacks); without it, success cases also run there.
//!
//! Success cases also run under jco (`::jco`). All-PIC success cases (`main-flags` `pic`) also
//! run as `::peer`: built with plain `env` dl imports, one `component link` command line
//! (`--use-built-in-libdl main.so libc.so ... --dl-openable NAME=LIB ...`) is run through
//! `wasm-dl link` and through `wasm-tools component link`, both programs run in wasmtime.
//! Both tools come from `scripts/setup.sh`; with `CI` set, a missing one is a failure.
//!
//! Every case also runs as `::gc`: composed through the API with `--gc` (`Composer::gc`), it must
//! print the same (an `error-*` case must fail with the same error lines). `gc-options`
//! (optional) holds the `--dl-openable LIB` words of a case that `dlsym`s a name no module
//! imports from a library some NEEDED entry names (then every `dlopen`ed library is listed); a
//! case named `gc-*` also snapshots the `--gc` section of its link map in `gc.map`.
//!
//! Run a single case with `cargo test -p wasm-dl-tests --test cases -- plugin-app`.

use anyhow::{bail, ensure, Context, Result};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasm_dl_tests::case_files::{so_name, words, CaseFiles};
use wasm_dl_tests::cli::run_cli;
use wasm_dl_tests::run;

#[path = "cases/inputs.rs"]
mod inputs;
use inputs::{inputs, Named};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut trials = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("reading tests/cases")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let peer = match wasm_dl_tests::tools::require(
        "the ::peer runs",
        wasm_dl_tests::tools::wasm_tools(),
    ) {
        Ok(found) => found.is_some(),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    };
    let jco = match wasm_dl_tests::tools::require("the ::jco runs", wasm_dl_tests::tools::jco()) {
        Ok(found) => found.is_some(),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    };
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let llvm: Vec<u32> = std::fs::read_to_string(dir.join("llvm"))
            .map(|s| {
                s.split_whitespace()
                    .filter_map(|w| w.parse().ok())
                    .collect()
            })
            .unwrap_or_else(|_| wasm_dl_tests::toolchain::LLVM_VERSIONS.to_vec());
        let first = llvm.first().copied().unwrap_or(19);
        let mut vias = vec![Via::Api, Via::Cli, Via::Gc];
        if jco && !name.starts_with("error-") && !dir.join("jco-differs").is_file() {
            vias.push(Via::Jco);
        }
        if llvm.len() > 1 && llvm.contains(&22) {
            vias.push(Via::Llvm22);
        }
        if dir.join("native").is_file() {
            vias.push(Via::Native);
        }
        let all_pic = std::fs::read_to_string(dir.join("main-flags"))
            .is_ok_and(|f| f.split_whitespace().any(|w| w == "pic"));
        if peer && all_pic && !name.starts_with("error-") {
            vias.push(Via::Peer);
        }
        for via in vias {
            let dir = dir.clone();
            let major = if let Via::Llvm22 = via { 22 } else { first };
            trials.push(Trial::test(format!("{name}::{}", via.name()), move || {
                wasm_dl_tests::toolchain::with_llvm(major, || run_case(&dir, via))
                    .map_err(|e| Failed::from(format!("{e:#}")))
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

#[derive(Clone, Copy, Debug)]
enum Via {
    Api,
    Cli,
    /// Composed through the API, run by jco on Node.js instead of wasmtime.
    Jco,
    /// Built with gcc and run natively: what Linux prints.
    Native,
    /// The same all-PIC files linked by the peer, `wasm-tools component link`, run in wasmtime.
    Peer,
    /// Like `Api`, with every fixture built by clang-22 / wasm-ld-22.
    Llvm22,
    /// Like `Api`, composed with `--gc`.
    Gc,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Cli => "cli",
            Via::Jco => "jco",
            Via::Native => "native",
            Via::Peer => "peer",
            Via::Llvm22 => "llvm22",
            Via::Gc => "gc",
        }
    }
}

/// The API's composer for these inputs (`aliases`: `ALIAS=LIB` and the `compose-options`).
fn composer(main: &Named, libs: &[Named], aliases: &[String]) -> Result<wasm_dl::Composer> {
    let mut c = wasm_dl::Composer::new().main(main.0.clone(), main.1.clone());
    for (name, bytes) in libs {
        c = c.library(name.clone(), bytes.clone());
    }
    for a in aliases {
        match a.as_str() {
            "--strict" => c = c.strict(true),
            "--stub-missing" => c = c.stub_missing(true),
            "--gc" => c = c.gc(true),
            "--no-prelink" => c = c.prelink(false),
            _ if a.starts_with("--dl-openable=") => {
                c = c.dl_openable([&a["--dl-openable=".len()..]]);
            }
            _ => {
                let (alias, lib) = a.split_once('=').context("aliases: expected ALIAS=LIB")?;
                c = c.alias(alias, lib);
            }
        }
    }
    Ok(c)
}

/// Composes through the API or the CLI. `Err` is the compose error (message, or CLI stderr); the
/// outer `Result` is a harness failure.
fn compose(
    via: Via,
    main: &Named,
    libs: &[Named],
    aliases: &[String],
) -> Result<Result<Vec<u8>, String>> {
    match via {
        Via::Api | Via::Jco | Via::Native | Via::Peer | Via::Llvm22 | Via::Gc => {
            Ok(composer(main, libs, aliases)?
                .compose()
                .map_err(|e| format!("{e:#}")))
        }
        Via::Cli => {
            let dir = tempfile::tempdir()?;
            std::fs::write(dir.path().join(&main.0), &main.1)?;
            let mut args = vec!["compose", main.0.as_str()];
            for (name, bytes) in libs {
                let file = dir.path().join(name);
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(file, bytes)?;
                args.push(name);
            }
            for a in aliases {
                if a.starts_with("--") {
                    args.push(a.as_str());
                } else {
                    args.extend(["--lib", a.as_str()]);
                }
            }
            args.extend(["-o", "app.wasm"]);
            let out = run_cli(dir.path(), &args)?;
            let app = dir.path().join("app.wasm");
            if out.success {
                ensure!(
                    app.is_file(),
                    "wasm-dl {} succeeded but wrote no app.wasm",
                    args.join(" ")
                );
                Ok(Ok(std::fs::read(app)?))
            } else {
                ensure!(
                    !app.exists(),
                    "wasm-dl {} failed but left app.wasm behind; stderr:\n{}",
                    args.join(" "),
                    out.stderr
                );
                Ok(Err(out.stderr))
            }
        }
    }
}

fn run_case(dir: &Path, via: Via) -> Result<()> {
    let files = CaseFiles::load(dir)?;
    if let Via::Native = via {
        return run_native_case(&files);
    }
    let is_error_case = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("error-");
    let (main, libs) = inputs(&files, via)?;
    let mut aliases = words(&files.text("aliases")?);
    // `compose-options`: CLI flags (`--strict`, `--stub-missing`), mapped to the API's builder.
    aliases.extend(words(&files.text("compose-options")?));
    if let Via::Gc = via {
        aliases.push("--gc".to_string());
        for lib in words(&files.text("gc-options")?) {
            if lib != "--dl-openable" {
                aliases.push(format!("--dl-openable={lib}"));
            }
        }
    }
    let composed = match via {
        // The peer's own command line, run through `wasm-dl link` (its drop-in).
        Via::Peer => {
            let linked = words(&files.text("main.needs")?);
            wasm_dl_tests::peer::link_wasm_dl(&main, &libs, &linked).map_err(|e| format!("{e:#}"))
        }
        _ => compose(via, &main, &libs, &aliases)?,
    };

    if is_error_case {
        let expected = files
            .text("expected-error")?
            .context("error-* case without expected-error")?;
        let message = match composed {
            Ok(_) => bail!("compose succeeded; expected an error containing:\n{expected}"),
            Err(m) => m,
        };
        for want in expected.lines().map(str::trim).filter(|l| !l.is_empty()) {
            ensure!(
                message.contains(want),
                "compose error lacks {want:?}; the error was:\n{message}"
            );
        }
        if let Via::Api = via {
            wasm_dl_tests::snapshot::check(&dir.join("error.txt"), &format!("{message}\n"))?;
        }
        return Ok(());
    }

    let expected = files
        .text("expected-stdout")?
        .context("case without expected-stdout")?;
    let expected_exit: i32 = match files.text("expected-exit")? {
        Some(s) => s.trim().parse().context("expected-exit")?,
        None => 0,
    };
    let component = match composed {
        Ok(c) => c,
        Err(m) => bail!("compose failed:\n{m}"),
    };
    let env = files.env()?;
    if let Via::Api = via {
        let report = composer(&main, &libs, &aliases)?
            .map(true)
            .compose_report()?;
        if let Some(want) = files.text("expected-warnings")? {
            let warnings = report.warnings.join("\n");
            for line in want.lines().map(str::trim).filter(|l| !l.is_empty()) {
                ensure!(
                    warnings.contains(line),
                    "no warning contains {line:?}; the warnings were:\n{warnings}"
                );
            }
        }
        let map = report.map.context("the API rendered no link map")?;
        wasm_dl_tests::snapshot::check(&dir.join("link.map"), &map)?;
    }
    let gc_case = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("gc-"));
    if let (Via::Gc, true) = (via, gc_case) {
        let report = composer(&main, &libs, &aliases)?
            .map(true)
            .compose_report()?;
        let map = report.map.context("the API rendered no link map")?;
        let gc = map
            .find("# --gc: removed")
            .map(|at| &map[at..])
            .context("the link map has no --gc section")?;
        wasm_dl_tests::snapshot::check(&dir.join("gc.map"), gc)?;
    }
    let out = match via {
        Via::Native => bail!("native cases are not composed"),
        Via::Jco => {
            let jco = wasm_dl_tests::tools::jco()?;
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            let run = wasm_dl_tests::jco::JcoRun {
                env: &env,
                ..Default::default()
            };
            match env.is_empty() {
                true => wasm_dl_tests::jco::run_jco(&jco, &component)?,
                false => wasm_dl_tests::jco::run_jco_with(&jco, &component, &run)?,
            }
        }
        _ => {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            run(&component, &["app.wasm"], &env)?
        }
    };
    if out.stdout_str() != expected || out.code != expected_exit {
        bail!(
            "unexpected result (exit {} , expected {expected_exit})\n--- expected stdout ---\n{expected}\
             --- actual stdout ---\n{}--- stderr ---\n{}",
            out.code,
            out.stdout_str(),
            out.stderr_str()
        );
    }
    // The same files (plain dl imports), linked by the peer.
    if let Via::Peer = via {
        return run_peer_case(&files, &main, &libs, &expected, expected_exit);
    }
    Ok(())
}

/// The `native` half of a case: gcc and glibc must print `expected-stdout` too.
fn run_native_case(files: &CaseFiles) -> Result<()> {
    let libs: BTreeMap<String, PathBuf> = files
        .files
        .iter()
        .filter_map(|(name, path)| {
            let stem = name.strip_suffix(".c")?;
            (stem != "main").then(|| (so_name(stem), path.clone()))
        })
        .collect();
    let case = wasm_dl_tests::native::NativeCase {
        files: &files.files,
        libs: &libs,
        main_flags: words(&files.text("native")?),
        env: files.env()?,
    };
    let out = wasm_dl_tests::native::run_native(&case)?;
    let expected = files
        .text("expected-stdout")?
        .context("case without expected-stdout")?;
    let expected_exit: i32 = match files.text("expected-exit")? {
        Some(s) => s.trim().parse().context("expected-exit")?,
        None => 0,
    };
    ensure!(
        out.stdout_str() == expected && out.code == expected_exit,
        "Linux (gcc + glibc) prints something else (exit {}, expected {expected_exit})\n\
         --- expected stdout ---\n{expected}--- native stdout ---\n{}--- stderr ---\n{}",
        out.code,
        out.stdout_str(),
        out.stderr_str()
    );
    Ok(())
}

/// The `peer` half of an all-PIC case: `wasm-tools component link` on the same files (built with
/// plain dl imports, which wasm-dl binds too) must print `expected-stdout`, unless the case's
/// `peer-differs` says why it cannot (then it must indeed differ, so the note stays true).
fn run_peer_case(
    files: &CaseFiles,
    main: &Named,
    libs: &[Named],
    expected: &str,
    expected_exit: i32,
) -> Result<()> {
    let linked = words(&files.text("main.needs")?);
    let differs = files.text("peer-differs")?;
    let out =
        wasm_dl_tests::peer::link(main, libs, &linked).and_then(|c| run(&c, &["app.wasm"], &[]));
    let same = out
        .as_ref()
        .is_ok_and(|o| o.stdout_str() == expected && o.code == expected_exit);
    match (same, differs) {
        (true, None) => Ok(()),
        (false, Some(why)) => {
            eprintln!("peer differs, as recorded: {}", why.trim());
            Ok(())
        }
        (true, Some(why)) => bail!(
            "wasm-tools now prints the expected output: remove peer-differs ({})",
            why.trim()
        ),
        (false, None) => match out {
            Ok(o) => bail!(
                "wasm-tools' program prints something else (exit {}); record why in \
                 peer-differs if it lacks a feature\n--- expected ---\n{expected}--- \
                 wasm-tools ---\n{}--- stderr ---\n{}",
                o.code,
                o.stdout_str(),
                o.stderr_str()
            ),
            Err(e) => bail!(
                "wasm-tools could not link or run the case ({e:#}); record why in peer-differs \
                 if it lacks a feature"
            ),
        },
    }
}
