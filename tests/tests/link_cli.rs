//! `wasm-dl link`: the command line of `wasm-tools component link` 1.262. One all-PIC set (a
//! `-shared` main, its `libc.so`, a plugin it `dlopen`s) through both tools with the same
//! arguments: both programs print the same. Flags without an effect here are accepted with a
//! one-line note each; `-t` prints text; without `-o` the component goes to stdout.

use anyhow::{ensure, Context, Result};
use std::path::Path;
use std::process::Command;
use wasm_dl_tests::cli::wasm_dl_cli;
use wasm_dl_tests::peer::PLAIN_DL_IMPORTS;
use wasm_dl_tests::{build_lib, build_libc_so, build_pic_main, run, CSource};

const MAIN: &str = r#"#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libplugin.so", RTLD_NOW);
  if (!h) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  int (*add)(int, int) = (int (*)(int, int))dlsym(h, "plugin_add");
  printf("plugin_add(2, 3) = %d\n", add(2, 3));
  printf("dlopen(libnone.so) = %s\n", dlopen("libnone.so", RTLD_NOW) ? "a handle" : "NULL");
  return 0;
}
"#;

const PLUGIN: &str = r#"#include <stdio.h>
int plugin_add(int a, int b) { printf("plugin: %d + %d\n", a, b); return a + b; }
"#;

const EXPECTED: &str = "plugin: 2 + 3\nplugin_add(2, 3) = 5\ndlopen(libnone.so) = NULL\n";

/// Writes main.so, libc.so and build/p.so (the plugin) into `dir`.
fn inputs(dir: &Path) -> Result<()> {
    let main = build_pic_main(&[CSource::inline("main.c", MAIN)], &[PLAIN_DL_IMPORTS])?;
    let plugin = build_lib(&[CSource::inline("plugin.c", PLUGIN)], &[PLAIN_DL_IMPORTS])?;
    std::fs::write(dir.join("main.so"), main)?;
    std::fs::write(dir.join("libc.so"), build_libc_so()?)?;
    std::fs::create_dir(dir.join("build"))?;
    std::fs::write(dir.join("build/p.so"), plugin)?;
    Ok(())
}

fn output(tool: &Path, pre: &[&str], args: &[&str], dir: &Path) -> Result<std::process::Output> {
    Command::new(tool)
        .args(pre)
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {}", tool.display()))
}

/// The plugin is found by the NAME of `--dl-openable NAME=MODULE`, with both tools.
#[test]
fn same_invocation_same_output_as_wasm_tools() -> Result<()> {
    let dir = tempfile::tempdir()?;
    inputs(dir.path())?;
    let args = [
        "--use-built-in-libdl",
        "main.so",
        "libc.so",
        "--dl-openable",
        "libplugin.so=build/p.so",
        "-o",
        "app.wasm",
    ];
    let out = output(wasm_dl_cli()?, &["link"], &args, dir.path())?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = run(
        &std::fs::read(dir.path().join("app.wasm"))?,
        &["app.wasm"],
        &[],
    )?;
    ensure!(
        ours.stdout_str() == EXPECTED && ours.code == 0,
        "wasm-dl's program: {ours:?}"
    );
    let Some(wasm_tools) =
        wasm_dl_tests::tools::require("the peer", wasm_dl_tests::tools::wasm_tools())?
    else {
        return Ok(());
    };
    let out = output(&wasm_tools, &["component", "link"], &args, dir.path())?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer = run(
        &std::fs::read(dir.path().join("app.wasm"))?,
        &["app.wasm"],
        &[],
    )?;
    ensure!(
        peer.stdout_str() == ours.stdout_str() && peer.code == ours.code,
        "wasm-tools' program: {peer:?}\nwasm-dl's: {ours:?}"
    );
    Ok(())
}

#[test]
fn flags_without_effect_are_noted_and_text_goes_to_stdout() -> Result<()> {
    let dir = tempfile::tempdir()?;
    inputs(dir.path())?;
    let args = [
        "link",
        "-v",
        "--color",
        "never",
        "--validate=false",
        "--use-built-in-libdl",
        "--debug-names",
        "--stack-size",
        "2097152",
        "main.so",
        "libc.so",
        "--dl-openable",
        "libplugin.so=build/p.so",
        "-t",
    ];
    let out = output(wasm_dl_cli()?, &[], &args, dir.path())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "{stderr}");
    ensure!(
        String::from_utf8_lossy(&out.stdout).starts_with("(component"),
        "-t printed no component text"
    );
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("wasm-dl: note: "))
        .collect();
    for flag in [
        "-v",
        "--color",
        "--validate",
        "--use-built-in-libdl",
        "--debug-names",
    ] {
        ensure!(
            notes
                .iter()
                .filter(|n| n.starts_with(&format!("wasm-dl: note: {flag}")))
                .count()
                == 1,
            "no one note for {flag}:\n{stderr}"
        );
    }
    ensure!(
        !stderr.contains("stack-size"),
        "--stack-size has an effect:\n{stderr}"
    );

    // Binary to stdout when it is no terminal (here a pipe), as the peer does.
    let out = output(
        wasm_dl_cli()?,
        &["link"],
        &[
            "main.so",
            "libc.so",
            "--dl-openable",
            "libplugin.so=build/p.so",
        ],
        dir.path(),
    )?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(out.stdout.starts_with(b"\0asm"), "stdout is no wasm binary");
    let ran = run(&out.stdout, &["app.wasm"], &[])?;
    ensure!(ran.stdout_str() == EXPECTED, "{ran:?}");
    Ok(())
}

#[test]
fn errors_name_the_input_and_the_fix() -> Result<()> {
    let dir = tempfile::tempdir()?;
    inputs(dir.path())?;
    let cli = wasm_dl_cli()?;
    let cases: &[(&[&str], &[&str])] = &[
        // No module with `_start` among those linked in.
        (
            &[
                "link",
                "libc.so",
                "--dl-openable",
                "build/p.so",
                "-o",
                "x.wasm",
            ],
            &["no main module", "`libc.so`", "crt1-command.o"],
        ),
        (
            &["link", "main.so", "libc.so", "missing.so", "-o", "x.wasm"],
            &["missing.so: cannot read"],
        ),
        (
            &["link", "main.so", "=libc.so", "-o", "x.wasm"],
            &["`=libc.so`: expected [NAME=]MODULE"],
        ),
    ];
    for (args, wants) in cases {
        let out = output(cli, &[], args, dir.path())?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(!out.status.success(), "{args:?} succeeded");
        ensure!(!dir.path().join("x.wasm").exists(), "{args:?} wrote x.wasm");
        for want in *wants {
            ensure!(
                stderr.contains(want),
                "{args:?}: stderr lacks {want:?}:\n{stderr}"
            );
        }
    }
    Ok(())
}
