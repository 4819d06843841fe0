//! `--gc` on the outside: a removed export is, to `dlsym`, exactly a name never defined; a
//! library named `--dl-openable` keeps it; and the component shrinks. (That programs behave the
//! same with `--gc` is the `::gc` trial of every case in `cases`.)

use anyhow::{ensure, Result};
use wasm_dl_tests::{build_lib, build_main, link_against, run, CSource};

const LIB: &str = r#"
int lib_used(int x) { return x + 1; }
__attribute__((noinline)) static int big(int x) {
  int s = 0;
  for (int i = 0; i < x; i++) s += i * i ^ (s >> 3);
  return s;
}
int lib_unused(int x) { return big(x) + 2; }
"#;

const MAIN: &str = r#"#include <dlfcn.h>
#include <stdio.h>
int lib_used(int x);
static void look(const char *name) {
  void *p = dlsym(RTLD_DEFAULT, name);
  const char *e = p ? 0 : dlerror();
  printf("%s: %s\n", name, p ? "found" : e);
}
int main(void) {
  printf("lib_used(1) = %d\n", lib_used(1));
  look("lib_unused");
  look("never_defined");
  return 0;
}
"#;

fn compose(gc: bool, openable: bool) -> Result<Vec<u8>> {
    let lib = build_lib(&[CSource::inline("lib.c", LIB)], &[])?;
    let needs = link_against("libgc.so", &lib)?;
    let main = build_main(
        &[CSource::inline("main.c", MAIN)],
        &[("libgc.so", &lib)],
        &[&needs],
    )?;
    let mut c = wasm_dl::Composer::new()
        .main("main.wasm", main)
        .library("libgc.so", lib)
        .gc(gc);
    if openable {
        c = c.dl_openable(["libgc.so"]);
    }
    c.compose()
}

#[test]
fn a_removed_export_is_an_undefined_symbol_to_dlsym() -> Result<()> {
    let plain = compose(false, false)?;
    let out = run(&plain, &["app.wasm"], &[])?;
    ensure!(out.code == 0, "{out:?}");
    ensure!(
        out.stdout_str().contains("lib_unused: found\n"),
        "{}",
        out.stdout_str()
    );

    let gc = compose(true, false)?;
    let out = run(&gc, &["app.wasm"], &[])?;
    let text = out.stdout_str();
    ensure!(
        out.code == 0 && text.starts_with("lib_used(1) = 2\n"),
        "{text}"
    );
    // The same message as for a name no library defines, but for the name.
    let message = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|m| m.replace(name, "NAME"))
    };
    let (removed, never) = (message("lib_unused"), message("never_defined"));
    ensure!(
        removed.is_some() && removed == never && removed.as_deref() != Some("found"),
        "{text}"
    );
    ensure!(gc.len() < plain.len(), "{} vs {}", gc.len(), plain.len());

    // `--dl-openable` keeps every export.
    let kept = run(&compose(true, true)?, &["app.wasm"], &[])?;
    ensure!(
        kept.stdout_str().contains("lib_unused: found\n"),
        "{}",
        kept.stdout_str()
    );
    Ok(())
}
