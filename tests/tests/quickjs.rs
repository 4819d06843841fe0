//! A real program: QuickJS (quickjs-ng, from the crates.io crate `rquickjs-sys`) built the way
//! quickjs-ng builds `qjs` (its `qjs.c`, unmodified), and quickjs-ng's own native-module examples
//! `fib.c` and `point.c`, built unmodified, as shared libraries that quickjs-libc's own module loader
//! (`js_module_loader_so`: `dlopen`, `dlsym(h, "js_init_module")`) loads. `examples/quickjs/test.js`
//! imports both.
//!
//! `examples/quickjs/callbacks.js` uses two libraries of ours, `callbacks.c` (C calling back into JS,
//! C closures, libc data from the main module) and `noinit.c` (no `js_init_module`: the loader's
//! error path). The same sources are built natively with gcc (real `dlopen`) and each script's
//! output there is the expected output of the composed component, once with the engine in the main
//! module and once with the engine as a shared library `libqjs.so`. Every build is cached in
//! `target/wasm-dl-fixtures` (the first run compiles QuickJS three times, about a minute on two cores).
//!
//! One line of QuickJS is changed on the way (in memory, see [`LOADER_STUB`]): quickjs-libc compiles
//! its `dlopen` loader out on WASI.
//!
//! Run with `cargo test -p wasm-dl-tests --test quickjs -- --nocapture` to see the numbers (exports,
//! sizes, compose time).

use anyhow::{ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasm_dl_tests::native::{gcc_cached, write_exe};
use wasm_dl_tests::{build_lib, build_main, main_flags, run_in, CSource};

/// The QuickJS engine and quickjs-libc (quickjs-ng's `qjs_srcs` + `qjs_libc_srcs`).
const ENGINE: &[&str] = &[
    "quickjs.c",
    "libregexp.c",
    "libunicode.c",
    "dtoa.c",
    "quickjs-libc.c",
];

/// quickjs-ng's `qjs` executable (`qjs_exe` in its CMakeLists.txt): `qjs.c` and the precompiled
/// bytecode of its REPL and of the standalone-executable support.
const QJS: &[&str] = &["qjs.c", "gen/repl.c", "gen/standalone.c"];

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

/// What quickjs-ng's build uses on WASI (CMakeLists.txt: `_GNU_SOURCE`, the emulated signal and
/// process-clock headers), plus `-include dlfcn.h`: wasm-dl's `include/dlfcn.h`, which quickjs-libc
/// includes only when not on WASI, for its loader (see [`LOADER_STUB`]). `-w`: QuickJS's warnings
/// are not ours.
const WASI_DEFINES: &[&str] = &[
    "-D_GNU_SOURCE",
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
    "-include",
    "dlfcn.h",
    "-w",
];

/// What quickjs-ng links `qjs` with on WASI: `signal()` for `os.signal`, `clock()` for qjs.c's
/// `--trace` (`scripts/setup.sh` links both archives of Debian's wasi-libc into the sysroot).
const WASI_LIBS: &[&str] = &["-lwasi-emulated-signal", "-lwasi-emulated-process-clocks"];

/// What quickjs-ng's CMakeLists.txt/meson.build define for native modules (`JS_MODULE_EXTERN`).
const MODULE_DEFINES: &[&str] = &["-DQUICKJS_NG_MODULE_BUILD"];

/// quickjs-libc.c's loader for `.so` imports on WASI: a stub that throws "shared library modules are
/// not supported yet", chosen before the Linux loader (`dlopen(filename, RTLD_NOW | RTLD_LOCAL)`,
/// `dlsym(hd, "js_init_module")`, `dlclose` on failure). The one change made to QuickJS: this
/// condition becomes [`LOADER_ON`], so WASI gets the Linux loader. Everything else quickjs-libc leaves
/// out on WASI (popen, exec, workers, realpath, ...) stays out.
const LOADER_STUB: &str = "#elif defined(__wasi__)\nstatic JSModuleDef *js_module_loader_so(";
const LOADER_ON: &str =
    "#elif 0 /* wasm-dl: dlopen exists */\nstatic JSModuleDef *js_module_loader_so(";

fn example_dir() -> PathBuf {
    wasm_dl_tests::workspace_root().join("examples/quickjs")
}

/// `<rquickjs-sys>/quickjs` (tests/Cargo.toml declares the crate as a never-built dependency, so
/// cargo downloads it but does not compile its C).
fn quickjs_dir() -> Result<PathBuf> {
    let dir = wasm_dl_tests::tools::crate_source_dir("rquickjs-sys")?.join("quickjs");
    ensure!(
        dir.join("quickjs.c").is_file(),
        "{} has no quickjs.c",
        dir.display()
    );
    Ok(dir)
}

fn sources(q: &Path, names: &[&str]) -> Result<Vec<CSource>> {
    names.iter().map(|f| CSource::file(q.join(f))).collect()
}

/// The engine for WASI: [`ENGINE`], quickjs-libc.c with its `dlopen` loader switched on.
fn wasi_engine(q: &Path) -> Result<Vec<CSource>> {
    let mut src = sources(q, ENGINE)?;
    for s in &mut src {
        if s.name == "quickjs-libc.c" {
            let text = String::from_utf8(std::mem::take(&mut s.code))?;
            ensure!(
                text.matches(LOADER_STUB).count() == 1,
                "{}/quickjs-libc.c: the WASI stub of js_module_loader_so is not where this test \
                 expects it (another quickjs-ng version?)",
                q.display()
            );
            s.code = text.replace(LOADER_STUB, LOADER_ON).into_bytes();
        }
    }
    Ok(src)
}

/// The emulation libraries must be in the sysroot (older sysroots lack them).
fn check_sysroot() -> Result<()> {
    let lib = wasm_dl_tests::toolchain::toolchain()?
        .sysroot
        .join("lib/wasm32-wasi");
    for name in [
        "libwasi-emulated-signal.a",
        "libwasi-emulated-process-clocks.a",
    ] {
        ensure!(
            lib.join(name).exists(),
            "{} lacks {name}: run scripts/setup.sh",
            lib.display()
        );
    }
    Ok(())
}

/// The native reference: `qjs` (qjs.c and the engine, unmodified: quickjs-libc's Linux loader) and
/// the modules built with gcc, in a directory where the scripts then run.
fn native_build(q: &Path) -> Result<tempfile::TempDir> {
    let include = format!("-I{}", q.display());
    let mut main_src = sources(q, QJS)?;
    main_src.extend(sources(q, ENGINE)?);
    let flags = ["-O2", "-D_GNU_SOURCE", "-w", include.as_str()];
    let link = ["-rdynamic", "-lm", "-ldl", "-lpthread"];
    let exe = gcc_cached("native qjs", &main_src, &flags, &link)?;
    let run_dir = tempfile::tempdir()?;
    write_exe(run_dir.path(), "qjs", &exe)?;
    for (path, name) in modules(q) {
        let src = [CSource::file(path)?];
        let flags = [
            "-O2",
            "-fPIC",
            "-shared",
            MODULE_DEFINES[0],
            include.as_str(),
        ];
        let so = gcc_cached("native module", &src, &flags, &[])?;
        std::fs::write(run_dir.path().join(name), so)?;
    }
    Ok(run_dir)
}

/// Runs `script` with the native build in `dir`; returns its stdout.
fn native_output(dir: &Path, script: &CSource) -> Result<String> {
    std::fs::write(dir.join(&script.name), &script.code)?;
    let out = Command::new(dir.join("qjs"))
        .arg(&script.name)
        .current_dir(dir)
        .output()
        .context("running the native qjs")?;
    ensure!(
        out.status.success(),
        "native qjs {} failed ({}):\n{}{}",
        script.name,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// The native modules, as `(name, bytes)`.
fn wasm_modules(q: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let include = format!("-I{}", q.display());
    let mut flags: Vec<&str> = MODULE_DEFINES.to_vec();
    flags.push(&include);
    modules(q)
        .into_iter()
        .map(|(path, name)| Ok((name, build_lib(&[CSource::file(path)?], &flags)?)))
        .collect()
}

fn lib_refs(libs: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    libs.iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect()
}

/// Composes `main` with `libs`; prints the sizes and the compose time.
fn compose(what: &str, main: &[u8], libs: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let start = Instant::now();
    let mut composer = wasm_dl::Composer::new().main("qjs.wasm", main.to_vec());
    for (name, bytes) in libs {
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
    eprintln!(
        "quickjs ({what}): main exports {} symbols for the libraries ({} flags from `wasm-dl flags \
         main`); qjs.wasm {} bytes, {}, app.wasm {} bytes, compose {:.0?}",
        wasm_dl::flags::main_exports(&inputs)?.len(),
        main_flags(&inputs)?.len(),
        main.len(),
        libs.iter()
            .map(|(n, b)| format!("{n} {} bytes", b.len()))
            .collect::<Vec<_>>()
            .join(", "),
        app.len(),
        compose_time
    );
    Ok(app)
}

/// The engine in the main module: qjs.c + engine + quickjs-libc, non-PIC, with `wasm-dl flags main`
/// for the native modules. quickjs-libc's loader calls wasm-dl's `dlopen` from main.
#[test]
fn quickjs_loads_native_modules_like_linux() -> Result<()> {
    check_sysroot()?;
    let q = quickjs_dir()?;
    let native = native_build(&q)?;

    let libs = wasm_modules(&q)?;
    let mut src = sources(&q, QJS)?;
    src.extend(wasi_engine(&q)?);
    let mut flags = WASI_DEFINES.to_vec();
    flags.extend(WASI_LIBS);
    let main = build_main(&src, &lib_refs(&libs), &flags)?;

    let app = compose("engine in main", &main, &libs)?;
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
        let out = run_in(app, &["qjs", name], &[], Some(dir.path()))?;
        wasm_dl_tests::native::check_same_as_native(name, &out, &expected)?;
    }
    Ok(())
}

/// QuickJS as a shared library: `libqjs.so` (engine and quickjs-libc, PIC, about 1.2 MB) and
/// quickjs-ng's unmodified `qjs.c` as the main module, which calls into libqjs.so directly (the
/// composer loads libqjs.so before `_start`). quickjs-libc inside libqjs.so calls `dlopen`/`dlsym`
/// itself; fib.so and point.so bind their `JS_*` imports to libqjs.so.
///
/// main is compiled `-fPIC` and linked against libqjs.so: qjs.c passes the address of libqjs.so's
/// `js_module_loader` to `JS_SetModuleLoaderFunc2`, which then comes from a `GOT.func` import
/// (without `-fPIC`, wasm-ld 19 makes that address 0 and wasm-ld 20+ refuses the link).
#[test]
fn quickjs_as_a_shared_library() -> Result<()> {
    check_sysroot()?;
    let q = quickjs_dir()?;
    let native = native_build(&q)?;

    let mut libs = vec![(
        "libqjs.so".to_string(),
        build_lib(&wasi_engine(&q)?, WASI_DEFINES)?,
    )];
    libs.extend(wasm_modules(&q)?);

    let mut flags = WASI_DEFINES.to_vec();
    flags.extend(WASI_LIBS);
    let libqjs = wasm_dl_tests::link_against("libqjs.so", &libs[0].1)?;
    flags.push("-fPIC");
    flags.push(&libqjs);
    let main = build_main(&sources(&q, QJS)?, &lib_refs(&libs), &flags)?;

    let app = compose("engine in libqjs.so", &main, &libs)?;
    run_scripts(&app, native.path())
}
