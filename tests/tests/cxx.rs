//! A C++ plugin host (`examples/cxx-plugins/`): main.cpp defines the abstract `Plugin` interface
//! and a registry; libgreet.so and libshout.so implement it. The host `dlopen`s them, gets
//! factories with `dlsym` and from the registry (filled by the plugins' static constructors),
//! calls virtual functions, uses `dynamic_cast` and `typeid` across the library boundary (type info
//! defined in main, in a plugin, and weakly in every library), passes `std::string`, `std::vector`
//! and `std::map` both ways, deletes in main objects made in a plugin, shares an inline variable
//! and a template static (each with a dynamic initializer and a guard: one definition wins, so
//! each is initialised once), and closes one plugin (its static destructors run at `dlclose`, the
//! other's at exit, before main's).
//!
//! The expected output is what the same sources print built with g++ (plugins `-fPIC -shared`,
//! main `-rdynamic -ldl`) and run on Linux. Two wasm builds must print exactly that:
//! - **static**: a non-PIC main with Debian's wasm32 libc++/libc++abi (apt `libc++-19-dev-wasm32`,
//!   `libc++abi-19-dev-wasm32`, built without exceptions) linked into it, with the flags of
//!   `wasm-dl flags main libgreet.so libshout.so`;
//! - **all-PIC**: a `-shared` main and the wasi-sdk-built `libc.so`, `libc++.so` and
//!   `libc++abi.so` that componentize-py 0.25.1 (PyPI) bundles.
//!
//! Everything is compiled `-fno-exceptions` (Debian's libc++ has no exceptions). Each build runs in
//! wasmtime and under jco on Node.js.

use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasm_dl_tests::toolchain::{toolchain, wasip2_lib};
use wasm_dl_tests::tools::{self, require, run_tool};
use wasm_dl_tests::{build_cached, componentize_py, CSource};

/// The plugins, built as `lib<name>.so` from `<name>.cpp`.
const PLUGINS: &[&str] = &["greet", "shout"];

/// Where Debian's `libc++-19-dev-wasm32` and `libc++abi-19-dev-wasm32` put their archives.
const DEBIAN_LIBCXX: &str = "/usr/lib/llvm-19/lib/wasm32-wasi";

/// Compile flags of every wasm object (and of the native build: `-fno-exceptions`).
const CXX_FLAGS: &[&str] = &["-fno-exceptions", "-O2"];

fn example_dir() -> PathBuf {
    wasm_dl_tests::workspace_root().join("examples/cxx-plugins")
}

/// `file` and `plugin.h` (so that the header is part of every cache key).
fn sources(file: &str) -> Result<Vec<CSource>> {
    Ok(vec![
        CSource::file(example_dir().join(file))?,
        CSource::file(example_dir().join("plugin.h"))?,
    ])
}

/// clang as `clang++` for wasm32-wasi with the project sysroot and `include/` (dlfcn.h).
fn clangxx() -> Result<Command> {
    let tc = toolchain()?;
    let mut cmd = Command::new(&tc.clang);
    cmd.arg("--driver-mode=g++")
        .arg("--target=wasm32-wasi")
        .arg(format!("--sysroot={}", tc.sysroot.display()))
        .arg(format!(
            "-I{}",
            wasm_dl_tests::workspace_root().join("include").display()
        ))
        .args(CXX_FLAGS);
    Ok(cmd)
}

/// Debian's wasm32 libc++ and its headers, or an error naming the packages.
fn check_debian_libcxx() -> Result<()> {
    let tc = toolchain()?;
    for file in [
        PathBuf::from(DEBIAN_LIBCXX).join("libc++.a"),
        PathBuf::from(DEBIAN_LIBCXX).join("libc++abi.a"),
        tc.sysroot.join("include/wasm32-wasi/c++/v1/string"),
    ] {
        ensure!(
            file.exists(),
            "{} is missing: the apt packages libc++-19-dev-wasm32 and libc++abi-19-dev-wasm32 \
             provide it (run `{}`)",
            file.display(),
            tools::SETUP
        );
    }
    Ok(())
}

/// A PIC object of `file`, linked with `-shared` (after `first`, a crt1 object, if given).
fn build_shared(kind: &str, file: &str, first: Option<&Path>) -> Result<Vec<u8>> {
    let src = sources(file)?;
    let mut key = vec![toolchain()?.clang_version.clone()];
    key.extend(first.map(|f| f.display().to_string()));
    build_cached(kind, &src, &key, |dir, out| {
        let obj = dir.join("out.o");
        run_tool(
            clangxx()?
                .args(wasm_dl::flags::LIB_COMPILE_FLAGS)
                .arg("-c")
                .arg(dir.join(file))
                .arg("-o")
                .arg(&obj),
        )?;
        run_tool(
            Command::new(&toolchain()?.wasm_ld)
                .args(wasm_dl::flags::LIB_LINK_FLAGS)
                .args(first)
                .arg(&obj)
                .arg("-o")
                .arg(out),
        )
        .map(drop)
    })
}

/// The plugins as `(lib<name>.so, bytes)`.
fn plugins() -> Result<Vec<(String, Vec<u8>)>> {
    PLUGINS
        .iter()
        .map(|p| {
            let so = build_shared("C++ plugin", &format!("{p}.cpp"), None)?;
            Ok((format!("lib{p}.so"), so))
        })
        .collect()
}

fn inputs(libs: &[(String, Vec<u8>)]) -> Vec<wasm_dl::Input> {
    libs.iter()
        .map(|(name, bytes)| wasm_dl::Input {
            name: name.clone(),
            bytes: bytes.clone(),
        })
        .collect()
}

/// The non-PIC main with Debian's libc++ linked in and `wasm-dl flags main` for the plugins.
fn static_main(plugins: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    check_debian_libcxx()?;
    let flags = wasm_dl::flags::main_flags(&inputs(plugins))?;
    // What the plugins need from main's libc++ and libc++abi, and what one definition must win for.
    for wanted in [
        "-Wl,--export=_Znwm",
        "-Wl,--export=__dynamic_cast",
        "-Wl,--export=_ZTI6Plugin",
        "-Wl,--export=_ZTVN10__cxxabiv121__vmi_class_type_infoE",
        "-Wl,--export-if-defined=_ZTI11Describable",
        "-Wl,--export-if-defined=_ZGV11serial_base",
    ] {
        ensure!(
            flags.iter().any(|f| f == wanted),
            "`wasm-dl flags main` lacks {wanted}: {flags:?}"
        );
    }
    let src = sources("main.cpp")?;
    let mut key = vec![toolchain()?.clang_version.clone()];
    key.extend(flags.iter().cloned());
    build_cached("C++ main with libc++", &src, &key, |dir, out| {
        run_tool(
            clangxx()?
                .arg(dir.join("main.cpp"))
                .arg(format!("-L{DEBIAN_LIBCXX}"))
                .args(&flags)
                .arg("-o")
                .arg(out),
        )
        .map(drop)
    })
}

/// The same sources built with g++ and run on Linux: the expected stdout.
fn native_output() -> Result<String> {
    let gcc = Command::new("g++")
        .arg("--version")
        .output()
        .context("running g++ --version (g++ builds the native reference)")?;
    let version = String::from_utf8_lossy(&gcc.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    // -fno-gnu-unique: g++ otherwise makes the inline variable and the template static
    // STB_GNU_UNIQUE, and glibc never unloads a library defining one (dlclose keeps libgreet).
    // Plain weak definitions are what clang emits, on Linux too.
    let flags: Vec<String> = [
        version.as_str(),
        "-O1",
        "-fno-exceptions",
        "-fno-gnu-unique",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let dir = tempfile::tempdir()?;
    let gxx = |src: &[CSource], extra: &[&str], name: &str| -> Result<()> {
        let bin = build_cached("native C++", src, &flags, |d, out| {
            run_tool(
                Command::new("g++")
                    .args(&flags[1..])
                    .args(extra)
                    .arg(d.join(&src[0].name))
                    .arg("-o")
                    .arg(out),
            )
            .map(drop)
        })?;
        let path = dir.path().join(name);
        std::fs::write(&path, bin)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(())
    };
    for p in PLUGINS {
        gxx(
            &sources(&format!("{p}.cpp"))?,
            &["-fPIC", "-shared"],
            &format!("lib{p}.so"),
        )?;
    }
    // -rdynamic: the plugins bind to main's registry, type info and inline variables.
    gxx(&sources("main.cpp")?, &["-rdynamic", "-ldl"], "main")?;
    let out = Command::new(dir.path().join("main"))
        .current_dir(dir.path())
        .env("LD_LIBRARY_PATH", dir.path())
        .output()
        .context("running the native C++ host")?;
    let stdout = String::from_utf8(out.stdout)?;
    ensure!(
        out.status.success() && stdout.ends_with("main: static destructor\n"),
        "the native C++ host failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

fn compare(what: &str, expected: &str, out: &wasm_dl_tests::Output) -> Result<()> {
    if out.code != 0 || out.stdout_str() != expected {
        bail!(
            "{what}: differs from the native g++ build (exit {})\n--- native ---\n{expected}\
             --- {what} stdout ---\n{}--- {what} stderr ---\n{}",
            out.code,
            out.stdout_str(),
            out.stderr_str()
        );
    }
    Ok(())
}

/// Composes (printing what wasm-dl warns about), runs in wasmtime and under jco, compares.
fn compose_and_run(what: &str, main: (&str, Vec<u8>), libs: &[(String, Vec<u8>)]) -> Result<()> {
    let expected = native_output()?;
    let mut composer = wasm_dl::Composer::new().main(main.0, main.1);
    for (name, bytes) in libs {
        composer = composer.library(name.clone(), bytes.clone());
    }
    let composed = composer.compose_report()?;
    for w in &composed.warnings {
        eprintln!("cxx ({what}): wasm-dl warning: {w}");
    }
    let app = composed.component;
    compare(
        &format!("{what} (wasmtime)"),
        &expected,
        &wasm_dl_tests::run(&app, &["main"], &[])?,
    )?;
    let Some(jco) = require(&format!("cxx {what}::jco"), tools::jco())? else {
        return Ok(());
    };
    compare(
        &format!("{what} (jco)"),
        &expected,
        &wasm_dl_tests::jco::run_jco(&jco, &app)?,
    )
}

/// Build (a): a non-PIC main with Debian's wasm32 libc++ linked into it.
#[test]
fn cxx_plugins_static_libcxx_like_native() -> Result<()> {
    let libs = plugins()?;
    let main = static_main(&libs)?;
    compose_and_run("static libc++", ("main.wasm", main), &libs)
}

/// Build (b): all PIC, with the `libc.so`, `libc++.so` and `libc++abi.so` componentize-py ships.
#[test]
fn cxx_plugins_all_pic_libcxx_so_like_native() -> Result<()> {
    let Some(python) = require(
        "cxx all-PIC (componentize-py)",
        componentize_py::venv_python(),
    )?
    else {
        return Ok(());
    };
    let (wheel, _) = componentize_py::extract(&python)?;
    let crt1 = wasip2_lib()?.join("crt1-command.o");
    let main = build_shared("C++ PIC main", "main.cpp", Some(&crt1))?;
    let mut libs = Vec::new();
    for name in ["libc.so", "libc++abi.so", "libc++.so"] {
        let path = wheel.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        libs.push((name.to_string(), bytes));
    }
    libs.extend(plugins()?);
    compose_and_run("all-PIC libc++.so", ("main.so", main), &libs)
}
