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
//! Success cases also run under jco (`::jco`), where `scripts/setup.sh` installed it.
//!
//! Run a single case with `cargo test -p wasm-dl-tests --test cases -- plugin-app`.

use anyhow::{bail, ensure, Context, Result};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasm_dl_tests::cli::run_cli;
use wasm_dl_tests::{
    build_lib, build_main, build_main_with_flags, build_plain_module, main_flags, run, CSource,
};

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
    let jco = wasm_dl_tests::jco::jco().is_some();
    if !jco {
        eprintln!(
            "no jco/node (scripts/setup.sh installs jco when npm exists): skipping the ::jco runs"
        );
    }
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let vias: &[Via] = if jco && !name.starts_with("error-") {
            &[Via::Api, Via::Cli, Via::Jco]
        } else {
            &[Via::Api, Via::Cli]
        };
        for &via in vias {
            let dir = dir.clone();
            trials.push(Trial::test(format!("{name}::{}", via.name()), move || {
                run_case(&dir, via).map_err(|e| Failed::from(format!("{e:#}")))
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
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Cli => "cli",
            Via::Jco => "jco",
        }
    }
}

/// The files of a case: the case directory over its optional `sources` directory.
struct CaseFiles {
    files: BTreeMap<String, PathBuf>,
}

impl CaseFiles {
    fn load(dir: &Path) -> Result<Self> {
        let mut files = BTreeMap::new();
        let mut add_dir = |d: &Path| -> Result<()> {
            for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
                let p = e?.path();
                if p.is_file() {
                    files.insert(p.file_name().unwrap().to_string_lossy().into_owned(), p);
                }
            }
            Ok(())
        };
        if let Ok(rel) = std::fs::read_to_string(dir.join("sources")) {
            add_dir(&dir.join(rel.trim()))?;
        }
        add_dir(dir)?;
        Ok(Self { files })
    }

    fn text(&self, name: &str) -> Result<Option<String>> {
        match self.files.get(name) {
            Some(p) => Ok(Some(
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            )),
            None => Ok(None),
        }
    }
}

fn so_name(stem: &str) -> String {
    if stem.starts_with("lib") {
        format!("{stem}.so")
    } else {
        format!("lib{stem}.so")
    }
}

fn words(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A file name and its bytes.
type Named = (String, Vec<u8>);

/// Builds (or takes) main and the libraries, in compose order.
fn inputs(files: &CaseFiles) -> Result<(Named, Vec<Named>)> {
    let lib_flags = words(&files.text("lib-flags")?);
    let plain = lib_flags.iter().any(|f| f == "plain");
    let lib_flags: Vec<&str> = lib_flags
        .iter()
        .filter(|f| *f != "plain")
        .map(String::as_str)
        .collect();

    let mut libs = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for (name, path) in &files.files {
        if let Some(stem) = name.strip_suffix(".c") {
            if stem != "main" {
                sources.insert(so_name(stem), (stem.to_string(), path.clone()));
            }
        } else if name.ends_with(".so") {
            libs.insert(name.clone(), std::fs::read(path)?);
        } else if let Some(so) = name.strip_suffix(".wat").filter(|s| *s != "main") {
            // Hand-written modules (malformed inputs that no compiler emits); `main.wat` is the
            // main module, not a library.
            let bytes = wat::parse_file(path).with_context(|| format!("{}", path.display()))?;
            libs.insert(so.to_string(), bytes);
        }
    }
    let names: Vec<String> = sources.keys().cloned().collect();
    for name in names {
        build_case_lib(files, &name, &sources, &mut libs, plain, &lib_flags, 0)?;
    }
    // An all-PIC case: the wasi-sdk style `libc.so` is one more library.
    let pic = words(&files.text("main-flags")?).iter().any(|f| f == "pic");
    if pic {
        libs.insert("libc.so".to_string(), wasm_dl_tests::build_libc_so()?);
    }
    let order = match files.text("compose-args")? {
        Some(s) => s.split_whitespace().map(str::to_string).collect(),
        None => libs.keys().cloned().collect::<Vec<_>>(),
    };
    let mut ordered = Vec::new();
    for name in order {
        let bytes = libs
            .get(&name)
            .with_context(|| format!("compose-args names {name}, which the case lacks"))?;
        ordered.push((name, bytes.clone()));
    }

    let main = if let Some(path) = files.files.get("main.wasm") {
        std::fs::read(path)?
    } else if let Some(path) = files.files.get("main.wat") {
        wat::parse_file(path).with_context(|| format!("{}", path.display()))?
    } else {
        let src = [CSource::file(
            files
                .files
                .get("main.c")
                .context("case has neither main.c nor main.wasm")?,
        )?];
        let mut flags = words(&files.text("main-flags")?);
        for dep in words(&files.text("main.needs")?) {
            let bytes = libs
                .get(&dep)
                .with_context(|| format!("main.needs names {dep}, which the case lacks"))?;
            flags.push(wasm_dl_tests::link_against(&dep, bytes)?);
        }
        if pic {
            let rest: Vec<&str> = flags
                .iter()
                .filter(|f| *f != "pic")
                .map(String::as_str)
                .collect();
            wasm_dl_tests::build_pic_main(&src, &rest)?
        } else if flags.iter().any(|f| f == "none") {
            let rest: Vec<String> = flags.iter().filter(|f| *f != "none").cloned().collect();
            build_main_with_flags(&src, &rest)?
        } else {
            // A library that `main_flags` itself rejects (an error case's bad input) is left out of
            // main's flags, so that the error comes from compose.
            let libs: Vec<(&str, &[u8])> = ordered
                .iter()
                .filter(|(n, b)| {
                    main_flags(&[wasm_dl::Input {
                        name: n.clone(),
                        bytes: b.clone(),
                    }])
                    .is_ok()
                })
                .map(|(n, b)| (n.as_str(), b.as_slice()))
                .collect();
            let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
            build_main(&src, &libs, &extra)?
        }
    };
    Ok((("main.wasm".to_string(), main), ordered))
}

/// Builds library `name` (after the libraries its `<stem>.needs` file lists, which it is linked
/// against so that they become its `dylink.0` NEEDED entries).
fn build_case_lib(
    files: &CaseFiles,
    name: &str,
    sources: &BTreeMap<String, (String, PathBuf)>,
    libs: &mut BTreeMap<String, Vec<u8>>,
    plain: bool,
    lib_flags: &[&str],
    depth: usize,
) -> Result<()> {
    ensure!(depth < 64, "`.needs` files form a cycle at {name}");
    if libs.contains_key(name) {
        return Ok(());
    }
    let (stem, path) = sources
        .get(name)
        .with_context(|| format!("a `.needs` file names {name}, which the case lacks"))?;
    let mut flags: Vec<String> = lib_flags.iter().map(|s| s.to_string()).collect();
    for dep in words(&files.text(&format!("{stem}.needs"))?) {
        build_case_lib(files, &dep, sources, libs, plain, lib_flags, depth + 1)?;
        flags.push(wasm_dl_tests::link_against(&dep, &libs[&dep])?);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let src = [CSource::file(path)?];
    let bytes = if plain {
        build_plain_module(&src, &flags)?
    } else {
        build_lib(&src, &flags)?
    };
    libs.insert(name.to_string(), bytes);
    Ok(())
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
        Via::Api | Via::Jco => {
            let mut c = wasm_dl::Composer::new().main(main.0.clone(), main.1.clone());
            for (name, bytes) in libs {
                c = c.library(name.clone(), bytes.clone());
            }
            for a in aliases {
                match a.as_str() {
                    "--strict" => c = c.strict(true),
                    "--stub-missing" => c = c.stub_missing(true),
                    _ => {
                        let (alias, lib) =
                            a.split_once('=').context("aliases: expected ALIAS=LIB")?;
                        c = c.alias(alias, lib);
                    }
                }
            }
            Ok(c.compose().map_err(|e| format!("{e:#}")))
        }
        Via::Cli => {
            let dir = tempfile::tempdir()?;
            std::fs::write(dir.path().join(&main.0), &main.1)?;
            let mut args = vec!["compose", main.0.as_str()];
            for (name, bytes) in libs {
                std::fs::write(dir.path().join(name), bytes)?;
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
    let is_error_case = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("error-");
    let (main, libs) = inputs(&files)?;
    let mut aliases = words(&files.text("aliases")?);
    // `compose-options`: CLI flags (`--strict`, `--stub-missing`), mapped to the API's builder.
    aliases.extend(words(&files.text("compose-options")?));
    let composed = compose(via, &main, &libs, &aliases)?;

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
    let out = match via {
        Via::Jco => {
            let jco = wasm_dl_tests::jco::jco().context("jco disappeared")?;
            wasm_dl_tests::jco::run_jco(&jco, &component)?
        }
        _ => run(&component, &["app.wasm"], &[])?,
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
    Ok(())
}
