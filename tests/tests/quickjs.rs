//! A real program: QuickJS (quickjs-ng, from the crates.io crate `rquickjs-sys`) with our driver
//! `examples/quickjs/qjs-dl.c` as the main module, and quickjs-ng's own native-module examples `fib.c`
//! and `point.c`, built unmodified, as shared libraries. `examples/quickjs/test.js` imports both.
//!
//! `examples/quickjs/callbacks.js` uses two libraries of ours, `callbacks.c` (C calling back into JS,
//! C closures, libc data from the main module) and `noinit.c` (no `js_init_module`: the loader's
//! error path). The same sources are built natively with gcc (real `dlopen`) and each script's
//! output there is the expected output of the one composed component. Every build is cached in `target/wasm-dl-fixtures`
//! (the first run compiles QuickJS twice, about a minute on two cores).
//!
//! Run with `cargo test -p wasm-dl-tests --test quickjs -- --nocapture` to see the numbers (exports,
//! sizes, compose time).

use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasm_dl_tests::{build_cached, build_lib, build_main, main_flags, run_in, CSource};

/// The QuickJS engine sources linked into the main module (quickjs-ng's `qjs_srcs` + `qjs_libc_srcs`).
const ENGINE: &[&str] = &[
    "quickjs.c",
    "libregexp.c",
    "libunicode.c",
    "dtoa.c",
    "quickjs-libc.c",
];

/// quickjs-ng's native-module examples, built unmodified as `<name>.so` from `<quickjs>/examples/`.
const QUICKJS_MODULES: &[&str] = &["fib", "point"];

/// Our libraries, built as `<name>.so` from `examples/quickjs/<name>.c`.
const OUR_MODULES: &[&str] = &["callbacks", "noinit"];

/// The scripts in `examples/quickjs/`, each run natively and in the component.
const SCRIPTS: &[&str] = &["test.js", "callbacks.js"];

/// Every library's source file and `.so` name.
fn modules(q: &Path) -> Vec<(PathBuf, String)> {
    let ours = OUR_MODULES
        .iter()
        .map(|m| (example_dir().join(format!("{m}.c")), format!("{m}.so")));
    QUICKJS_MODULES
        .iter()
        .map(|m| (q.join(format!("examples/{m}.c")), format!("{m}.so")))
        .chain(ours)
        .collect()
}

/// Defines quickjs-ng's build uses for the engine (`_GNU_SOURCE`; on WASI the emulated signal and
/// process-clock headers, see its CMakeLists.txt).
const WASI_ENGINE_DEFINES: &[&str] = &[
    "-D_GNU_SOURCE",
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
];

/// What quickjs-ng's CMakeLists.txt/meson.build define for native modules (`JS_MODULE_EXTERN`).
const MODULE_DEFINES: &[&str] = &["-DQUICKJS_NG_MODULE_BUILD"];

fn example_dir() -> PathBuf {
    wasm_dl_tests::workspace_root().join("examples/quickjs")
}

/// `<rquickjs-sys>/quickjs`, located with `cargo metadata` (tests/Cargo.toml declares the crate as a
/// never-built dependency, so cargo downloads it but does not compile its C).
fn quickjs_dir() -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(wasm_dl_tests::workspace_root().join("Cargo.toml"))
        .output()
        .context("running cargo metadata")?;
    ensure!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let manifest = meta["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
        .iter()
        .find(|p| p["name"] == "rquickjs-sys")
        .and_then(|p| p["manifest_path"].as_str())
        .context("cargo metadata lists no rquickjs-sys (see tests/Cargo.toml)")?;
    let dir = Path::new(manifest)
        .parent()
        .context("manifest path")?
        .join("quickjs");
    ensure!(
        dir.join("quickjs.c").is_file(),
        "{} has no quickjs.c",
        dir.display()
    );
    Ok(dir)
}

fn run_tool(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn gcc_version() -> Result<String> {
    let out = Command::new("gcc")
        .arg("--version")
        .output()
        .context("running gcc --version (gcc builds the native reference)")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// The native reference: `qjs-dl` and the modules built with gcc, in a directory where the scripts
/// then run.
fn native_build(q: &Path) -> Result<tempfile::TempDir> {
    let gcc = gcc_version()?;
    let mut main_src = vec![CSource::file(example_dir().join("qjs-dl.c"))?];
    for f in ENGINE {
        main_src.push(CSource::file(q.join(f))?);
    }
    let flags: Vec<String> = vec![
        gcc.clone(),
        "-O2".into(),
        "-D_GNU_SOURCE".into(),
        format!("-I{}", q.display()),
        "-rdynamic".into(),
        "-lm".into(),
        "-ldl".into(),
        "-lpthread".into(),
    ];
    let exe = build_cached("native qjs-dl", &main_src, &flags, |dir, out| {
        run_tool(
            Command::new("gcc")
                .args(&flags[1..4])
                .args(main_src.iter().map(|s| dir.join(&s.name)))
                .arg("-o")
                .arg(out)
                .args(&flags[4..]),
        )
    })?;

    let run_dir = tempfile::tempdir()?;
    let exe_path = run_dir.path().join("qjs-dl");
    std::fs::write(&exe_path, exe)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe_path, std::fs::Permissions::from_mode(0o755))?;
    }
    for (path, name) in modules(q) {
        let src = [CSource::file(path)?];
        let flags: Vec<String> = vec![
            gcc.clone(),
            "-O2".into(),
            "-fPIC".into(),
            "-shared".into(),
            MODULE_DEFINES[0].into(),
            format!("-I{}", q.display()),
        ];
        let so = build_cached("native module", &src, &flags, |dir, out| {
            run_tool(
                Command::new("gcc")
                    .args(&flags[1..])
                    .arg(dir.join(&src[0].name))
                    .arg("-o")
                    .arg(out),
            )
        })?;
        std::fs::write(run_dir.path().join(name), so)?;
    }
    Ok(run_dir)
}

/// Runs `script` with the native build in `dir`; returns its stdout.
fn native_output(dir: &Path, script: &CSource) -> Result<String> {
    std::fs::write(dir.join(&script.name), &script.code)?;
    let out = Command::new(dir.join("qjs-dl"))
        .arg(&script.name)
        .current_dir(dir)
        .output()
        .context("running the native qjs-dl")?;
    ensure!(
        out.status.success(),
        "native qjs-dl {} failed ({}):\n{}{}",
        script.name,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// The side modules, as `(name, bytes)`.
fn wasm_modules(q: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let include = format!("-I{}", q.display());
    let mut flags: Vec<&str> = MODULE_DEFINES.to_vec();
    flags.push(&include);
    modules(q)
        .into_iter()
        .map(|(path, name)| Ok((name, build_lib(&[CSource::file(path)?], &flags)?)))
        .collect()
}

/// The main module: engine + quickjs-libc + driver, non-PIC, with `wasm-dl flags main` for `libs`.
fn wasm_main(q: &Path, libs: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut src = vec![CSource::file(example_dir().join("qjs-dl.c"))?];
    for f in ENGINE {
        src.push(CSource::file(q.join(f))?);
    }
    let libs: Vec<(&str, &[u8])> = libs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    build_main(&src, &libs, WASI_ENGINE_DEFINES)
}

#[test]
fn quickjs_loads_native_modules_like_linux() -> Result<()> {
    let q = quickjs_dir()?;
    let native = native_build(&q)?;

    let libs = wasm_modules(&q)?;
    let main = wasm_main(&q, &libs)?;

    let start = Instant::now();
    let mut composer = wasm_dl::Composer::new().main("qjs-dl.wasm", main.clone());
    for (name, bytes) in &libs {
        composer = composer.library(name.clone(), bytes.clone());
    }
    let app = composer.compose()?;
    let compose_time = start.elapsed();

    let inputs: Vec<wasm_dl::Input> = libs
        .iter()
        .map(|(n, b)| wasm_dl::Input {
            name: n.clone(),
            bytes: b.clone(),
        })
        .collect();
    let exported = wasm_dl::flags::main_exports(&inputs)?;
    eprintln!(
        "quickjs: main exports {} symbols for the libraries ({} flags from `wasm-dl flags main`)",
        exported.len(),
        main_flags(&inputs)?.len()
    );
    eprintln!(
        "quickjs: main.wasm {} bytes, {}, app.wasm {} bytes, compose {:.0?}",
        main.len(),
        libs.iter()
            .map(|(n, b)| format!("{n} {} bytes", b.len()))
            .collect::<Vec<_>>()
            .join(", "),
        app.len(),
        compose_time
    );

    run_scripts(&app, native.path())
}

/// Runs each script in the component `app` and natively (in `native`), and compares their stdout.
fn run_scripts(app: &[u8], native: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    for name in SCRIPTS {
        let script = CSource::file(example_dir().join(name))?;
        let expected = native_output(native, &script)?;
        ensure!(
            expected.ends_with("done\n"),
            "the native run of {name} did not finish:\n{expected}"
        );
        std::fs::write(dir.path().join(&script.name), &script.code)?;
        let out = run_in(app, &["qjs-dl", name], &[], Some(dir.path()))?;
        if out.code != 0 || out.stdout_str() != expected {
            bail!(
                "{name}: the component differs from the native build (exit {})\n\
                 --- native stdout ---\n{expected}--- component stdout ---\n{}\
                 --- component stderr ---\n{}",
                out.code,
                out.stdout_str(),
                out.stderr_str()
            );
        }
    }
    Ok(())
}

/// QuickJS as a shared library: `libqjs.so` (engine, quickjs-libc and `qjs-dl.c` built with
/// `-DQJS_DL_IN_LIBRARY`, all PIC, about 1.2 MB) with the small `shared-main.c` as the main module;
/// fib.so and point.so bind their `JS_*` imports to libqjs.so. The same scripts, the same output.
#[test]
fn quickjs_as_a_shared_library() -> Result<()> {
    let q = quickjs_dir()?;
    let native = native_build(&q)?;

    let mut engine = vec![CSource::file(example_dir().join("qjs-dl.c"))?];
    for f in ENGINE {
        engine.push(CSource::file(q.join(f))?);
    }
    let include = format!("-I{}", q.display());
    let mut flags: Vec<&str> = WASI_ENGINE_DEFINES.to_vec();
    flags.extend(["-DQJS_DL_IN_LIBRARY", "-w", include.as_str()]);
    let mut libs = vec![("libqjs.so".to_string(), build_lib(&engine, &flags)?)];
    libs.extend(wasm_modules(&q)?);

    let lib_refs: Vec<(&str, &[u8])> = libs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    // libqjs.so's table import asks for 571 slots, main's table has a handful: wasm-dl must cope
    // (now tests/cases/link-table-bigger-than-main).
    let main = build_main(
        &[CSource::file(example_dir().join("shared-main.c"))?],
        &lib_refs,
        &[],
    )?;

    let start = Instant::now();
    let mut composer = wasm_dl::Composer::new().main("shared-main.wasm", main.clone());
    for (name, bytes) in &libs {
        composer = composer.library(name.clone(), bytes.clone());
    }
    let app = composer.compose()?;
    eprintln!(
        "quickjs (shared): main.wasm {} bytes, libqjs.so {} bytes, app.wasm {} bytes, compose {:.0?}",
        main.len(),
        libs[0].1.len(),
        app.len(),
        start.elapsed()
    );
    run_scripts(&app, native.path())
}
