//! examples/cmake-plugins: a CMake project (Debian's `cmake`, installed by scripts/setup.sh)
//! whose plugins are `add_library(NAME SHARED ...)` and whose host is `add_executable(...)`,
//! configured with cmake/wasm32-wasi-toolchain.cmake and composed by `wasm_dl_compose`
//! (cmake/WasmDl.cmake); its component is run with `wasm-dl run` and its output checked.

use anyhow::{ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasm_dl_tests::cli::wasm_dl_cli;
use wasm_dl_tests::tools::run_tool;

fn cmake() -> Result<PathBuf> {
    let out = Command::new("cmake")
        .arg("--version")
        .output()
        .context("cmake is not on PATH: run `bash scripts/setup.sh` (apt package cmake)")?;
    ensure!(out.status.success(), "cmake --version failed");
    Ok(PathBuf::from("cmake"))
}

/// Configures and builds `project` into `build` with the project's toolchain file.
fn configure_and_build(cmake: &Path, project: &Path, build: &Path, extra: &[&str]) -> Result<()> {
    let root = wasm_dl_tests::workspace_root();
    let tc = wasm_dl_tests::toolchain::toolchain()?;
    run_tool(
        Command::new(cmake)
            .arg("-S")
            .arg(project)
            .arg("-B")
            .arg(build)
            .arg(format!(
                "-DCMAKE_TOOLCHAIN_FILE={}",
                root.join("cmake/wasm32-wasi-toolchain.cmake").display()
            ))
            .arg(format!("-DWASM_DL={}", wasm_dl_cli()?.display()))
            .arg(format!("-DWASM_DL_SYSROOT={}", tc.sysroot.display()))
            .arg(format!("-DWASM_DL_CLANG={}", tc.clang.display()))
            .args(extra),
    )?;
    run_tool(Command::new(cmake).arg("--build").arg(build))?;
    Ok(())
}

#[test]
fn cmake_plugins_example_builds_and_runs() -> Result<()> {
    let Some(cmake) = wasm_dl_tests::tools::require("the CMake example", cmake())? else {
        return Ok(());
    };
    let root = wasm_dl_tests::workspace_root();
    let project = root.join("examples/cmake-plugins");
    let build = tempfile::tempdir()?;
    configure_and_build(
        &cmake,
        &project,
        build.path(),
        &["-DCMAKE_BUILD_TYPE=Release"],
    )?;
    for file in [
        "libtextutil.so",
        "libupper.so",
        "libcount.so",
        "host.wasm",
        "app.wasm",
    ] {
        ensure!(
            build.path().join(file).is_file(),
            "the build made no {file}"
        );
    }
    let expected = std::fs::read_to_string(project.join("expected-stdout"))?;
    let out = Command::new(wasm_dl_cli()?)
        .arg("run")
        .arg(build.path().join("app.wasm"))
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout == expected,
        "exit {:?}\n--- expected ---\n{expected}--- actual ---\n{stdout}--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The host takes its text from argv[1].
    let out = Command::new(wasm_dl_cli()?)
        .arg("run")
        .arg(build.path().join("app.wasm"))
        .args(["--", "one two"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        stdout.contains("host: upper(\"one two\") = \"ONE TWO\" (7)"),
        "{stdout}"
    );
    Ok(())
}

/// A mistake in the CMake project is a configure error naming the target and the fix.
#[test]
fn wasm_dl_compose_names_a_wrong_target() -> Result<()> {
    let Some(cmake) = wasm_dl_tests::tools::require("the CMake example", cmake())? else {
        return Ok(());
    };
    let project = tempfile::tempdir()?;
    let root = wasm_dl_tests::workspace_root();
    std::fs::write(project.path().join("p.c"), "int p(void) { return 1; }\n")?;
    std::fs::write(
        project.path().join("CMakeLists.txt"),
        format!(
            "cmake_minimum_required(VERSION 3.20)\nproject(bad C)\n\
             include(\"{}/cmake/WasmDl.cmake\")\n\
             add_library(p STATIC p.c)\nadd_executable(host p.c)\n\
             wasm_dl_compose(app MAIN host LIBRARIES p)\n",
            root.display()
        ),
    )?;
    let build = tempfile::tempdir()?;
    let err = configure_and_build(&cmake, project.path(), build.path(), &[])
        .expect_err("configuring with a static library succeeded");
    let text = format!("{err:#}");
    ensure!(
        text.contains("library p is a STATIC_LIBRARY") && text.contains("add_library(p SHARED"),
        "{text}"
    );
    Ok(())
}
