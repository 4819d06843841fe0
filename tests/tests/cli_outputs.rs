//! The command line's file handling: library names are byte strings (file names need not be
//! UTF-8), and its outputs are written atomically, all or none.

use anyhow::{ensure, Context, Result};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::Command;
use wasm_dl_tests::cli::wasm_dl_cli;
use wasm_dl_tests::{build_main, run, CSource};

/// A library exporting `value() -> n`.
fn lib_returning(n: i32) -> Result<Vec<u8>> {
    Ok(wat::parse_str(format!(
        r#"(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (func (export "value") (result i32) i32.const {n}))"#
    ))?)
}

fn main_module() -> Result<Vec<u8>> {
    build_main(
        &[CSource::inline("main.c", "int main(void) { return 0; }\n")],
        &[],
        &[],
    )
}

fn wasm_dl(dir: &Path, args: &[OsString]) -> Result<std::process::Output> {
    Command::new(wasm_dl_cli()?)
        .args(args)
        .current_dir(dir)
        .output()
        .context("running wasm-dl")
}

fn os(s: &str) -> OsString {
    OsString::from(s)
}

/// `lib\xff.so` and `lib\xfe.so` are two libraries, and `dlopen` finds each by its bytes.
#[test]
fn non_utf8_library_names_stay_distinct() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let main = build_main(
        &[CSource::inline(
            "main.c",
            r#"#include <dlfcn.h>
#include <stdio.h>
static int call(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  if (!h) { printf("%s\n", dlerror()); return -1; }
  int (*f)(void) = (int (*)(void))dlsym(h, "value");
  return f ? f() : -2;
}
int main(void) {
  printf("lib\\xff.so: %d\n", call("lib\xff.so"));
  printf("lib\\xfe.so: %d\n", call("lib\xfe.so"));
  return 0;
}
"#,
        )],
        &[],
        &[],
    )?;
    std::fs::write(dir.path().join("main.wasm"), &main)?;
    let names = [b"lib\xff.so".to_vec(), b"lib\xfe.so".to_vec()];
    for (i, name) in names.iter().enumerate() {
        let path = dir.path().join(OsString::from_vec(name.clone()));
        std::fs::write(path, lib_returning(i as i32 + 1)?)?;
    }
    let mut args = vec![os("compose"), os("main.wasm")];
    args.extend(names.iter().map(|n| OsString::from_vec(n.clone())));
    args.extend([os("-o"), os("app.wasm")]);
    let out = wasm_dl(dir.path(), &args)?;
    ensure!(
        out.status.success(),
        "wasm-dl failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = std::fs::read(dir.path().join("app.wasm"))?;
    let ran = run(&app, &[], &[])?;
    ensure!(
        ran.stdout_str() == "lib\\xff.so: 1\nlib\\xfe.so: 2\n",
        "got {:?}",
        ran.stdout_str()
    );
    // The same name twice is still refused, and the message shows the byte.
    let mut args = vec![os("compose"), os("main.wasm")];
    args.extend([names[0].clone(), names[0].clone()].map(OsString::from_vec));
    args.extend([os("-o"), os("twice.wasm")]);
    let out = wasm_dl(dir.path(), &args)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains(r"two libraries are named `lib\xff.so`"),
        "{stderr}"
    );
    Ok(())
}

/// Files in `dir` other than `keep`.
fn others(dir: &Path, keep: &[&str]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name.as_str()) {
            found.push(name);
        }
    }
    Ok(found)
}

/// A write that fails part-way (`ulimit -f`) leaves neither a truncated output nor a temporary
/// file, and an existing output as it was.
#[test]
fn failed_write_leaves_no_truncated_output() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("main.wasm"), main_module()?)?;
    std::fs::write(dir.path().join("libx.so"), lib_returning(1)?)?;
    std::fs::write(dir.path().join("app.wasm"), b"old")?;
    // 1 block of 512 bytes: far less than a component (the inputs are already written).
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 1; exec \"$0\" compose main.wasm libx.so -o app.wasm --map app.map")
        .arg(wasm_dl_cli()?)
        .current_dir(dir.path())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "wasm-dl succeeded under ulimit -f 1");
    ensure!(stderr.contains("app.wasm: cannot write"), "{stderr}");
    ensure!(std::fs::read(dir.path().join("app.wasm"))? == b"old");
    let left = others(dir.path(), &["main.wasm", "libx.so", "app.wasm"])?;
    ensure!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}

/// With `--map` and an output that cannot be written, no map is left behind either.
#[test]
fn unwritable_output_leaves_no_map() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("main.wasm"), main_module()?)?;
    std::fs::write(dir.path().join("libx.so"), lib_returning(1)?)?;
    let args = ["compose", "main.wasm", "libx.so", "--map", "app.map", "-o"].map(os);
    let mut args = args.to_vec();
    args.push(os("no-such-dir/app.wasm"));
    let out = wasm_dl(dir.path(), &args)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "wasm-dl succeeded");
    ensure!(
        stderr.contains("no-such-dir/app.wasm: cannot write"),
        "{stderr}"
    );
    let left = others(dir.path(), &["main.wasm", "libx.so"])?;
    ensure!(left.is_empty(), "left behind: {left:?}");
    // Both are written when both can be.
    let mut args = ["compose", "main.wasm", "libx.so", "--map", "app.map", "-o"]
        .map(os)
        .to_vec();
    args.push(os("app.wasm"));
    let out = wasm_dl(dir.path(), &args)?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut left = others(dir.path(), &["main.wasm", "libx.so"])?;
    left.sort();
    ensure!(left == ["app.map", "app.wasm"], "{left:?}");
    Ok(())
}
