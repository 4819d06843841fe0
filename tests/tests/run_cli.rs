//! `wasm-dl run`: composes in memory and runs in the embedded wasmtime with `wasmtime run`'s
//! habits — arguments after `--`, `--env`, `--dir HOST::GUEST`, the exit code passed through, a
//! trap reported with its wasm backtrace and exit code 134, no Rust backtrace.
//!
//! The exit code is the one the component reports: WASI preview 2's `exit` carries only success
//! or failure, and the preview 1 adapter makes every nonzero status a failure, so `return 7`
//! exits with 1 (as under `wasmtime run`).

use anyhow::{ensure, Context, Result};
use std::path::Path;
use std::process::Command;
use wasm_dl_tests::cli::wasm_dl_cli;
use wasm_dl_tests::{build_lib, build_main, CSource};

const MAIN: &str = r#"#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    printf("arg %d: %s\n", i, argv[i]);
  const char *greeting = getenv("GREETING"), *home = getenv("HOME");
  printf("GREETING=%s HOME=%s\n", greeting ? greeting : "(unset)", home ? home : "(unset)");
  FILE *f = fopen("/data/in.txt", "r");
  if (f) {
    char line[64] = {0};
    fgets(line, sizeof line, f);
    printf("in.txt: %s", line);
    fclose(f);
    f = fopen("/data/out.txt", "w");
    fputs("written by the guest\n", f);
    fclose(f);
  } else {
    printf("in.txt: cannot open\n");
  }
  fflush(stdout);
  void *h = dlopen("libexit.so", RTLD_NOW);
  int (*code)(const char *) = (int (*)(const char *))dlsym(h, "exit_code");
  void (*trap)(void) = (void (*)(void))dlsym(h, "plugin_trap");
  if (argc > 1 && strcmp(argv[1], "trap") == 0)
    trap();
  return code(argc > 1 ? argv[argc - 1] : "0");
}
"#;

const LIB: &str = r#"int atoi(const char *);
int exit_code(const char *s) { return atoi(s); }
__attribute__((noinline)) void plugin_trap(void) { __builtin_trap(); }
"#;

/// Writes main.wasm and libexit.so into `dir`.
fn inputs(dir: &Path) -> Result<()> {
    let lib = build_lib(&[CSource::inline("exit.c", LIB)], &[])?;
    let main = build_main(
        &[CSource::inline("main.c", MAIN)],
        &[("libexit.so", &lib)],
        &[],
    )?;
    std::fs::write(dir.join("main.wasm"), main)?;
    std::fs::write(dir.join("libexit.so"), lib)?;
    Ok(())
}

fn wasm_dl(dir: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new(wasm_dl_cli()?)
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .env("GREETING", "from the host")
        .output()
        .context("running wasm-dl")
}

#[test]
fn args_env_dirs_and_exit_code() -> Result<()> {
    let dir = tempfile::tempdir()?;
    inputs(dir.path())?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;
    std::fs::write(data.join("in.txt"), "hello from the host\n")?;
    let dir_arg = format!("{}::/data", data.display());
    let args = [
        "run",
        "--dir",
        &dir_arg,
        "--env",
        "GREETING=hi",
        "main.wasm",
        "libexit.so",
        "--",
        "one",
        "two words",
        "7",
    ];
    let out = wasm_dl(dir.path(), &args)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.code() == Some(1),
        "exit {:?}, expected 1 (the status 7 as a failure)\n{stdout}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        stdout
            == "arg 1: one\narg 2: two words\narg 3: 7\nGREETING=hi HOME=(unset)\n\
                in.txt: hello from the host\n",
        "stdout:\n{stdout}"
    );
    ensure!(std::fs::read_to_string(data.join("out.txt"))? == "written by the guest\n");

    // `--env NAME` passes the host's value; no `--dir`, no files.
    let out = wasm_dl(
        dir.path(),
        &["run", "--env", "GREETING", "main.wasm", "libexit.so"],
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.code() == Some(0), "exit {:?}", out.status.code());
    ensure!(
        stdout == "GREETING=from the host HOME=(unset)\nin.txt: cannot open\n",
        "stdout:\n{stdout}"
    );
    Ok(())
}

#[test]
fn a_composed_component_runs_as_given() -> Result<()> {
    let dir = tempfile::tempdir()?;
    inputs(dir.path())?;
    let out = wasm_dl(
        dir.path(),
        &["compose", "main.wasm", "libexit.so", "-o", "app.wasm"],
    )?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = wasm_dl(dir.path(), &["run", "app.wasm", "--", "3"])?;
    ensure!(out.status.code() == Some(1), "exit {:?}", out.status.code());
    let out = wasm_dl(dir.path(), &["run", "app.wasm", "--", "0"])?;
    ensure!(out.status.code() == Some(0), "exit {:?}", out.status.code());
    let out = wasm_dl(dir.path(), &["run", "app.wasm", "libexit.so"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && stderr.contains("app.wasm: is a component already"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_trap_shows_the_wasm_backtrace() -> Result<()> {
    let dir = tempfile::tempdir()?;
    inputs(dir.path())?;
    let out = wasm_dl(
        dir.path(),
        &["run", "main.wasm", "libexit.so", "--", "trap"],
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(wasm_dl::run::TRAP_EXIT_CODE),
        "exit {:?}, expected 134\n{stderr}",
        out.status.code()
    );
    ensure!(
        String::from_utf8_lossy(&out.stdout)
            == "arg 1: trap\nGREETING=(unset) HOME=(unset)\nin.txt: cannot open\n"
    );
    for want in [
        "wasm-dl: error: main.wasm",
        "wasm backtrace",
        "plugin_trap",
        "wasm trap",
    ] {
        ensure!(stderr.contains(want), "stderr lacks {want:?}:\n{stderr}");
    }
    // RUST_BACKTRACE=1 is set: still no Rust frames.
    for noise in [
        "Stack backtrace",
        "stack backtrace",
        "RUST_BACKTRACE",
        "std::rt",
    ] {
        ensure!(!stderr.contains(noise), "stderr has {noise:?}:\n{stderr}");
    }
    Ok(())
}

#[test]
fn a_compose_error_names_the_input() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("main.wasm"), "not wasm")?;
    let out = wasm_dl(dir.path(), &["run", "main.wasm"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && stderr.contains("main.wasm"),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    Ok(())
}
