//! Scale: a component bundles a thousand libraries (more than a component may hold core modules
//! or instances one per library, so the composer merges consecutive libraries into one module),
//! and calls, data and function pointers cross library and merge-group boundaries.

use anyhow::{ensure, Result};
use wasm_dl_tests::{build_lib, build_main, run, CSource};

/// 1000 copies of one library, each with its own static data, all opened and called.
#[test]
fn thousand_libraries_each_with_own_data() -> Result<()> {
    let lib = build_lib(
        &[CSource::inline(
            "counter.c",
            "static int counter;\nint bump(int by) { counter += by; return counter; }\n",
        )],
        &[],
    )?;
    let main = build_main(
        &[CSource::inline(
            "main.c",
            r#"#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  long total = 0;
  for (int i = 0; i < 1000; i++) {
    char name[32];
    snprintf(name, sizeof name, "lib%d.so", i);
    void *h = dlopen(name, RTLD_NOW);
    if (!h) { printf("%s\n", dlerror()); return 1; }
    int (*bump)(int) = (int (*)(int))dlsym(h, "bump");
    total += bump(i) + bump(1); /* i, then i + 1: each library counts alone */
  }
  printf("total = %ld\n", total);
  return 0;
}
"#,
        )],
        &[("lib0.so", lib.as_slice())],
        &[],
    )?;
    let mut composer = wasm_dl::Composer::new().main("main.wasm", main);
    for i in 0..1000 {
        composer = composer.library(format!("lib{i}.so"), lib.clone());
    }
    let out = run(&composer.compose()?, &[], &[])?;
    ensure!(
        out.stdout_str() == "total = 1000000\n",
        "got {:?}",
        out.stdout_str()
    );
    Ok(())
}

/// 300 distinct libraries (merged three to a module): library i calls library i-1 (an earlier
/// library: same group or an earlier one), reads its data through GOT.mem, and takes the address
/// of library i+1's function (a later group: GOT.func and a trampoline).
#[test]
fn chained_libraries_across_merge_groups() -> Result<()> {
    const N: usize = 300;
    let mut libs = Vec::with_capacity(N);
    for i in 0..N {
        let prev = if i == 0 {
            "static int f_prev(int n) { return n; }\nstatic int v_prev = 0;\n".to_string()
        } else {
            format!(
                "int f{p}(int n);\nextern int v{p};\n#define f_prev f{p}\n#define v_prev v{p}\n",
                p = i - 1
            )
        };
        let next = format!("int f{}(int n);\n", (i + 1) % N);
        let src = format!(
            "{prev}{next}int v{i} = {i};\n\
             int f{i}(int n) {{ return f_prev(n) + v_prev + 1; }}\n\
             void *next{i}(void) {{ return (void *)f{n}; }}\n",
            n = (i + 1) % N
        );
        libs.push(build_lib(&[CSource::inline(format!("l{i}.c"), src)], &[])?);
    }
    let main_src = format!(
        r#"#include <dlfcn.h>
#include <stdio.h>
int main(void) {{
  void *h = dlopen("libl{last}.so", RTLD_NOW);
  if (!h) {{ printf("%s\n", dlerror()); return 1; }}
  int (*f)(int) = (int (*)(int))dlsym(h, "f{last}");
  printf("f{last}(0) = %d\n", f(0));
  void *first = dlopen("libl0.so", RTLD_NOW);
  void *(*next)(void) = (void *(*)(void))dlsym(h, "next{last}");
  printf("next{last}() == dlsym(f0): %s\n", next() == dlsym(first, "f0") ? "yes" : "no");
  return 0;
}}
"#,
        last = N - 1
    );
    let named: Vec<(String, &[u8])> = libs
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("libl{i}.so"), b.as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let main = build_main(&[CSource::inline("main.c", main_src)], &refs, &[])?;
    let mut composer = wasm_dl::Composer::new().main("main.wasm", main);
    for (name, bytes) in &named {
        composer = composer.library(name.clone(), bytes.to_vec());
    }
    let out = run(&composer.compose()?, &[], &[])?;
    // f_i(0) = f_{i-1}(0) + (i - 1) + 1 = sum of 1..=i, with f_0(0) = 1.
    let expected = (1..N).sum::<usize>() + 1;
    ensure!(
        out.stdout_str()
            == format!(
                "f{l}(0) = {expected}\nnext{l}() == dlsym(f0): yes\n",
                l = N - 1
            ),
        "got {:?}",
        out.stdout_str()
    );
    Ok(())
}

/// 10,000 libraries, each exporting functions: wasmtime allows 10,000 tables in a store, so the
/// libraries merged into one core module share one slot table (one table per library made a
/// component that composed but did not instantiate: "table count too high").
#[test]
fn ten_thousand_libraries_instantiate() -> Result<()> {
    const N: usize = 10_000;
    let lib = wat::parse_str(
        r#"(module
  (@dylink.0 (mem-info (memory 4 2)))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global $mb i32))
  (func (export "get") (result i32) global.get $mb i32.load)
  (func (export "set") (param i32) global.get $mb local.get 0 i32.store))"#,
    )?;
    let main = build_main(
        &[CSource::inline(
            "main.c",
            r#"#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  const char *names[] = {"lib0.so", "lib4999.so", "lib9999.so"};
  int sum = 0;
  for (int i = 0; i < 3; i++) {
    void *h = dlopen(names[i], RTLD_NOW);
    if (!h) { printf("%s\n", dlerror()); return 1; }
    void (*set)(int) = (void (*)(int))dlsym(h, "set");
    int (*get)(void) = (int (*)(void))dlsym(h, "get");
    set(i + 1);
    sum += get() * 10 + get();
  }
  printf("sum = %d\n", sum);
  return 0;
}
"#,
        )],
        &[],
        &[],
    )?;
    let mut composer = wasm_dl::Composer::new().main("main.wasm", main);
    for i in 0..N {
        composer = composer.library(format!("lib{i}.so"), lib.clone());
    }
    let out = run(&composer.compose()?, &[], &[])?;
    ensure!(
        out.stdout_str() == "sum = 66\n",
        "got {:?}",
        out.stdout_str()
    );
    Ok(())
}
