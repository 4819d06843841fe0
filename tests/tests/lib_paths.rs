//! Library paths through the API: the link map says where each library is in the component and
//! which library each NEEDED entry found (and how); names that no rule can tell apart are
//! errors naming the candidates. The run-time behaviour is in the `dl-ld-library-path`,
//! `dl-runpath`, `dl-same-basename` and `error-needed-ambiguous` cases.

use anyhow::{ensure, Result};
use wasm_dl_tests::{build_main, CSource};

/// A library exporting `value`, with `dylink.0` NEEDED and RUNPATH entries.
fn lib(needed: &[&str], runpath: &[&str]) -> Result<Vec<u8>> {
    let list = |v: &[&str]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut dylink = String::from("(mem-info (memory 0 0))");
    if !needed.is_empty() {
        dylink += &format!(" (needed {})", list(needed));
    }
    if !runpath.is_empty() {
        dylink += &format!(" (runtime-path {})", list(runpath));
    }
    Ok(wat::parse_str(format!(
        r#"(module
  (@dylink.0 {dylink})
  (import "env" "memory" (memory 0))
  (func (export "value") (result i32) i32.const 1))"#
    ))?)
}

fn main_module() -> Result<Vec<u8>> {
    build_main(
        &[CSource::inline("main.c", "int main(void) { return 0; }\n")],
        &[],
        &[],
    )
}

#[test]
fn map_shows_guest_paths_runpath_and_needed() -> Result<()> {
    let composed = wasm_dl::Composer::new()
        .main("main.wasm", main_module()?)
        .library("a/libx.so", lib(&[], &[])?)
        .library("./b//libx.so", lib(&[], &[])?)
        .library(
            "top/libtop.so",
            lib(&["libx.so", "libz.so"], &["$ORIGIN/../b"])?,
        )
        .library("/opt/z/libz.so", lib(&[], &[])?)
        .map(true)
        .compose_report()?;
    let map = composed.map.unwrap_or_default();
    for want in [
        "library ./b//libx.so (id 1)\n  memory: 0 bytes, align 2^0; table: 0 slots + 1 function slots, align 2^0\n  guest path: /b/libx.so\n",
        "  guest path: /top/libtop.so\n  runpath: $ORIGIN/../b (searched: /top/../b)\n",
        "  needed: libx.so -> /b/libx.so, libz.so -> /opt/z/libz.so (by basename)\n",
    ] {
        ensure!(map.contains(want), "the map lacks {want:?}:\n{map}");
    }
    Ok(())
}

#[test]
fn one_path_given_twice_is_an_error() -> Result<()> {
    let err = wasm_dl::Composer::new()
        .main("main.wasm", main_module()?)
        .library("sub/libx.so", lib(&[], &[])?)
        .library("./sub//libx.so", lib(&[], &[])?)
        .compose()
        .expect_err("two libraries at /sub/libx.so");
    let msg = format!("{err:#}");
    ensure!(
        msg.contains(
            "two libraries are at the guest path `/sub/libx.so` (sub/libx.so and ./sub//libx.so); \
             give each library once"
        ),
        "{msg}"
    );
    Ok(())
}

#[test]
fn alias_of_an_ambiguous_name_is_an_error() -> Result<()> {
    let err = wasm_dl::Composer::new()
        .main("main.wasm", main_module()?)
        .library("a/libx.so", lib(&[], &[])?)
        .library("b/libx.so", lib(&[], &[])?)
        .alias("libx.so.1", "libx.so")
        .compose()
        .expect_err("libx.so is two libraries");
    let msg = format!("{err:#}");
    ensure!(
        msg.contains(
            "alias `libx.so.1`: 2 given libraries are called `libx.so` (a/libx.so, b/libx.so); \
             name one by the path it was given"
        ),
        "{msg}"
    );
    // By its path it is one.
    wasm_dl::Composer::new()
        .main("main.wasm", main_module()?)
        .library("a/libx.so", lib(&[], &[])?)
        .library("b/libx.so", lib(&[], &[])?)
        .alias("libx.so.1", "b/libx.so")
        .compose()?;
    Ok(())
}
