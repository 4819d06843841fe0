//! A real CPython: the wasi-sdk-built libraries that componentize-py 0.25.1 (PyPI) bundles —
//! `libpython3.14.so`, its wasip2 `libc.so`, `libwasi-emulated-{signal,getpid,process-clocks}.so` —
//! taken as they are, with a `-shared` C main that embeds CPython through its C API
//! (`examples/python/main.c`) and a C extension module of our own (`spam.c`, built as
//! `spam.abi3.so`), which CPython's importer opens with `dlopen("/ext/spam.abi3.so")` and
//! `dlsym(h, "PyInit_spam")`. `examples/python/test.py` exercises the standard library (read from the
//! preopened home `/python-home/lib/python3.14`), the extension (calls in both directions,
//! exceptions, module state) and two imports that must fail with ImportError: `bad.abi3.so`, a text
//! file (dlopen returns NULL), and `noinit.abi3.so`, a library without `PyInit_noinit` (dlsym fails).
//!
//! The expected output is what the same main.c, spam.c and test.py print built natively with gcc
//! against this machine's CPython 3.11. The component runs in wasmtime and under jco on Node.js.
//!
//! componentize-py comes from PyPI with pip, into the project venv (`scripts/setup.sh`, from
//! `scripts/python-requirements.txt`); `scripts/componentize-py-libs.py` extracts its libraries
//! (cached in `~/.cache/wasm-dl/componentize-py-0.25.1/`). libpython's dylink.0 NEEDs `libdl.so`,
//! which no package ships: wasm-dl provides it (a system library name). A missing venv, gcc,
//! libpython3.11 or jco skips the test (saying so), or fails it when `CI` is set.
//!
//! `cargo test -p wasm-dl-tests --test python -- --nocapture` prints the timings.

use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasm_dl_tests::componentize_py;
use wasm_dl_tests::native::{gcc_cached, gcc_version, write_exe};
use wasm_dl_tests::tools::{self, require};
use wasm_dl_tests::{build_lib, build_pic_main, run_with_preopens, CSource};

/// Where the guest finds the standard library (`PYTHONHOME`) and the script with the extensions.
const GUEST_HOME: &str = "/python-home";
const GUEST_EXT: &str = "/ext";

/// Arguments after the script: test.py prints them.
const SCRIPT_ARGS: &[&str] = &["one", "two"];

fn example_dir() -> PathBuf {
    wasm_dl_tests::workspace_root().join("examples/python")
}

/// `(name, bytes)` of each library.
type Libraries = Vec<(String, Vec<u8>)>;

/// libpython and its NEEDED closure from the wheel, in breadth-first order (libpython first), as
/// `(name, bytes)`; the NEEDED names the wheel does not carry (`libdl.so`) are returned apart.
fn wheel_libraries(dir: &Path, manifest: &serde_json::Value) -> Result<(Libraries, Vec<String>)> {
    let payloads = manifest["payloads"]
        .as_array()
        .context("manifest: no payloads")?;
    let python = manifest["python"]
        .as_str()
        .context("manifest: no python version")?;
    let needed = |name: &str| -> Option<Vec<String>> {
        payloads.iter().find(|p| p["name"] == name).map(|p| {
            p["needed"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    let mut order = vec![format!("libpython{python}.so")];
    let mut missing = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let deps = needed(&order[i]).with_context(|| format!("the wheel has no {}", order[i]))?;
        for d in deps {
            if order.contains(&d) || missing.contains(&d) {
                continue;
            }
            if needed(&d).is_some() {
                order.push(d);
            } else {
                missing.push(d);
            }
        }
        i += 1;
    }
    let libs = order
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).with_context(|| format!("reading {n}"))?;
            Ok((n, bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((libs, missing))
}

/// A `-D` flag naming py-abi.h's content, so that the fixture cache (keyed by sources and flags)
/// rebuilds main.c and spam.c when the header they include changes.
fn header_flag() -> Result<String> {
    use sha2::{Digest, Sha256};
    let header = std::fs::read(example_dir().join("py-abi.h"))?;
    Ok(format!("-DPY_ABI_H_SHA256={:x}", Sha256::digest(&header)))
}

/// The extension modules, under the file names CPython's importer looks for.
const EXTENSIONS: &[(&str, &str)] = &[("spam.c", "spam.abi3.so"), ("noinit.c", "noinit.abi3.so")];

/// The files test.py's directory holds besides the extensions.
const SCRIPT_FILES: &[&str] = &["test.py", "bad.abi3.so"];

/// This machine's CPython 3.11 (`python3.11-config`): `(prefix, ldflags)`.
fn native_python() -> Result<(String, Vec<String>)> {
    gcc_version()?;
    let config = |arg: &[&str]| {
        Command::new("python3.11-config")
            .args(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .context("python3.11-config is missing: apt-get install python3.11-dev")
    };
    let prefix = config(&["--prefix"])?;
    let ldflags = config(&["--embed", "--ldflags"])?;
    Ok((
        prefix,
        ldflags.split_whitespace().map(String::from).collect(),
    ))
}

/// Builds main.c and the extensions with gcc (cached) into a directory with test.py; runs
/// `main <dir>/test.py ARGS` with `PYTHONHOME` = CPython 3.11's prefix; returns its stdout.
fn native_output(prefix: &str, ldflags: &[String]) -> Result<String> {
    let ex = example_dir();
    let dir = tempfile::tempdir()?;
    let main_src = [
        CSource::file(ex.join("main.c"))?,
        CSource::file(ex.join("py-abi.h"))?,
    ];
    let link: Vec<&str> = ldflags.iter().map(String::as_str).collect();
    let exe = gcc_cached("native python main", &main_src, &["-O2"], &link)?;
    let exe_path = write_exe(dir.path(), "main", &exe)?;
    for (src, so) in EXTENSIONS {
        let src = [
            CSource::file(ex.join(src))?,
            CSource::file(ex.join("py-abi.h"))?,
        ];
        let flags = ["-O2", "-fPIC", "-shared"];
        let bytes = gcc_cached("native python extension", &src, &flags, &[])?;
        std::fs::write(dir.path().join(so), bytes)?;
    }
    for f in SCRIPT_FILES {
        std::fs::copy(ex.join(f), dir.path().join(f))?;
    }
    let out = Command::new(&exe_path)
        .arg(dir.path().join("test.py"))
        .args(SCRIPT_ARGS)
        .env("PYTHONHOME", prefix)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONSTARTUP")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // UTF-8 stdio whatever the locale (CI's scrubbed environment has none; WASI CPython
        // always writes UTF-8).
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .context("running the native main")?;
    ensure!(
        out.status.success(),
        "the native run failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// The directory preopened as `/ext`: test.py, bad.abi3.so and the wasm extensions (CPython's
/// importer finds `spam.abi3.so` there and calls dlopen with its path, which wasm-dl matches by
/// basename against the bundled library of that name).
fn guest_ext_dir(extensions: &[(String, Vec<u8>)]) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for f in SCRIPT_FILES {
        std::fs::copy(example_dir().join(f), dir.path().join(f))?;
    }
    for (name, bytes) in extensions {
        std::fs::write(dir.path().join(name), bytes)?;
    }
    Ok(dir)
}

#[test]
fn cpython_from_componentize_py_runs_like_native() -> Result<()> {
    let Some(python) = require("python (componentize-py)", componentize_py::venv_python())? else {
        return Ok(());
    };
    let Some((prefix, ldflags)) = require("python (the native reference)", native_python())? else {
        return Ok(());
    };

    let t = Instant::now();
    let (wheel_dir, manifest) = componentize_py::extract(&python)?;
    let extract_time = t.elapsed();
    let (libs, missing) = wheel_libraries(&wheel_dir, &manifest)?;
    // What the wheel lacks is what wasm-dl provides: libdl.so (dlopen & co. are its own).
    ensure!(
        missing == ["libdl.so"],
        "libpython's NEEDED closure lacks {missing:?} in the wheel (expected only libdl.so)"
    );

    let t = Instant::now();
    let ex = example_dir();
    let header = header_flag()?;
    let main = build_pic_main(&[CSource::file(ex.join("main.c"))?], &[&header])?;
    let mut extensions = Vec::new();
    for (src, so) in EXTENSIONS {
        let lib = build_lib(&[CSource::file(ex.join(src))?], &[&header])?;
        extensions.push((so.to_string(), lib));
    }
    let build_time = t.elapsed();

    let t = Instant::now();
    let expected = native_output(&prefix, &ldflags)?;
    let native_time = t.elapsed();
    ensure!(
        expected.contains("on_exit returned"),
        "the native run did not finish:\n{expected}"
    );

    let t = Instant::now();
    let mut composer = wasm_dl::Composer::new()
        .main("main.so", main.clone())
        .map(true);
    for (name, bytes) in libs.iter().chain(&extensions) {
        composer = composer.library(name.clone(), bytes.clone());
    }
    let composed = composer.compose_report()?;
    let compose_time = t.elapsed();
    for w in &composed.warnings {
        eprintln!("python: wasm-dl warning: {w}");
    }
    let map = composed.map.unwrap_or_default();
    ensure!(
        map.lines()
            .any(|l| l.contains("system libraries provided by wasm-dl") && l.contains("libdl.so")),
        "the link map does not say that wasm-dl provides libdl.so:\n{}",
        map.lines().take(12).collect::<Vec<_>>().join("\n")
    );
    let app = composed.component;

    let ext_dir = guest_ext_dir(&extensions)?;
    let home = wheel_dir.join("python-home");
    let script = format!("{GUEST_EXT}/test.py");
    let mut args = vec!["main", script.as_str()];
    args.extend(SCRIPT_ARGS);
    let env = [("PYTHONHOME", GUEST_HOME), ("PYTHONDONTWRITEBYTECODE", "1")];
    let preopens = [(home.as_path(), GUEST_HOME), (ext_dir.path(), GUEST_EXT)];

    let t = Instant::now();
    let out = run_with_preopens(&app, &args, &env, &preopens)?;
    let run_time = t.elapsed();
    compare(
        "wasmtime",
        &expected,
        out.code,
        &out.stdout_str(),
        &out.stderr_str(),
    )?;
    ensure!(
        out.stderr.is_empty(),
        "wasmtime: the component wrote to stderr (native CPython writes nothing there):\n{}",
        out.stderr_str()
    );

    eprintln!(
        "python: {} libraries ({}), main.so {} bytes, app.wasm {} bytes; extract {extract_time:.1?}, \
         clang builds {build_time:.1?}, native build+run {native_time:.1?}, compose \
         {compose_time:.1?}, wasmtime run {run_time:.1?} (compiling the component, \
         or loading it compiled from the cache)",
        libs.len() + extensions.len(),
        libs.iter()
            .chain(&extensions)
            .map(|(n, b)| format!("{n} {b}", b = b.len()))
            .collect::<Vec<_>>()
            .join(", "),
        main.len(),
        app.len(),
    );

    // The same component under jco on Node.js.
    let Some(jco) = require("python::jco", tools::jco())? else {
        return Ok(());
    };
    let t = Instant::now();
    let run = wasm_dl_tests::jco::JcoRun {
        args: &args[1..],
        env: &env,
        preopens: &preopens,
    };
    let out = wasm_dl_tests::jco::run_jco_with(&jco, &app, &run)?;
    eprintln!("python: jco run {:.1?}", t.elapsed());
    compare(
        "jco",
        &expected,
        out.code,
        &out.stdout_str(),
        &out.stderr_str(),
    )
}

fn compare(runtime: &str, expected: &str, code: i32, stdout: &str, stderr: &str) -> Result<()> {
    if code != 0 || stdout != expected {
        bail!(
            "{runtime}: the component differs from native CPython (exit {code})\n\
             --- native stdout ---\n{expected}--- component stdout ---\n{stdout}\
             --- component stderr ---\n{stderr}"
        );
    }
    Ok(())
}
