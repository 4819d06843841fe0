//! Composition keeps a main module's debug info, and keeps it true.
//!
//! A main compiled `-g -fPIC` and linked against a library goes through the PLT pass, which
//! removes its imports of the library's functions and its `GOT.*` imports (renumbering its
//! functions and globals), and through the patch that appends the loader's dispatch function.
//! DWARF addresses code by its offset in the code section, so the debug info stays true only if
//! every function body stays at its offset: this test checks that the composed main keeps its
//! `.debug_*` sections byte for byte and its name section, that each of its functions (by name)
//! is at the code offset it had, with a body of the same size, and that the program still runs;
//! the same for the library, which the library rewrite changes.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use wasm_dl_tests::{build_lib, build_main, link_against, run, CSource};
use wasmparser::{KnownCustom, Name, Parser, Payload};

const LIB: &str = r#"int lib_counter = 40;
int lib_value(void) { return 42; }
"#;

const MAIN: &str = r#"#include <stdio.h>
int lib_value(void);
extern int lib_counter;
__attribute__((noinline)) int twice(int (*f)(void)) { return 2 * f(); }
int main(void) {
    lib_counter += 2;
    printf("twice(lib_value) = %d, lib_counter = %d\n", twice(lib_value), lib_counter);
    return 0;
}
"#;

/// A core module's code layout and debug sections.
struct Layout {
    /// Custom sections by name (`.debug_*`, `name`).
    custom: HashMap<String, Vec<u8>>,
    /// Function name to (offset of its body in the code section's contents, body size).
    bodies: HashMap<String, (u64, usize)>,
}

fn layout(module: &[u8]) -> Result<Layout> {
    let mut custom = HashMap::new();
    let mut code_start = 0;
    let mut first_defined = 0u32;
    let mut offsets = Vec::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    if matches!(imp?.ty, wasmparser::TypeRef::Func(_)) {
                        first_defined += 1;
                    }
                }
            }
            Payload::CodeSectionStart { range, .. } => code_start = range.start,
            Payload::CodeSectionEntry(body) => {
                offsets.push((body.range().start - code_start, body.as_bytes().len()));
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(reader) = c.as_known() {
                    for sub in reader {
                        if let Name::Function(map) = sub? {
                            for n in map {
                                let n = n?;
                                names.insert(n.index, n.name.to_string());
                            }
                        }
                    }
                }
                custom.insert(c.name().to_string(), c.data().to_vec());
            }
            _ => {}
        }
    }
    let bodies = offsets
        .into_iter()
        .enumerate()
        .filter_map(|(i, b)| Some((names.get(&(first_defined + i as u32))?.clone(), b)))
        .collect();
    Ok(Layout { custom, bodies })
}

/// The core modules of `component`.
fn core_modules(component: &[u8]) -> Result<Vec<Layout>> {
    let mut found = Vec::new();
    for payload in Parser::new(0).parse_all(component) {
        if let Payload::ModuleSection {
            unchecked_range, ..
        } = payload?
        {
            let range = unchecked_range.start as usize..unchecked_range.end as usize;
            found.push(layout(&component[range])?);
        }
    }
    Ok(found)
}

/// Checks that the core module of `modules` made from `input` (the one with its `.debug_info`)
/// has all of its `.debug_*` sections, its name section and every function at its code offset.
fn check_kept(what: &str, input: &Layout, modules: &[Layout], functions: &[&str]) -> Result<()> {
    let info = input.custom.get(".debug_info");
    let output = modules
        .iter()
        .find(|m| m.custom.get(".debug_info") == info)
        .with_context(|| format!("no core module of the component has {what}'s .debug_info"))?;
    for (name, data) in &input.custom {
        if name.starts_with(".debug_") {
            let kept = output
                .custom
                .get(name)
                .with_context(|| format!("{what}: {name} was dropped"))?;
            assert!(kept == data, "{what}: {name} changed");
        }
    }
    assert!(
        output.custom.contains_key("name"),
        "{what}: the name section was dropped"
    );
    for f in functions {
        assert!(
            input.bodies.contains_key(*f),
            "{what} has no function `{f}`: {:?}",
            input.bodies.keys().collect::<Vec<_>>()
        );
    }
    // Every function of the input (the output's name section renumbered with it) is where its
    // DWARF says, with a body of the same size (indices patched in place).
    for (name, at) in &input.bodies {
        assert_eq!(
            output.bodies.get(name),
            Some(at),
            "{what}: function `{name}` moved in the code section: its DWARF no longer holds"
        );
    }
    Ok(())
}

#[test]
fn pic_main_keeps_its_debug_info() -> Result<()> {
    let lib = build_lib(&[CSource::inline("libprovides.c", LIB)], &["-g"])?;
    let needs = link_against("libprovides.so", &lib)?;
    let main = build_main(
        &[CSource::inline("main.c", MAIN)],
        &[("libprovides.so", &lib)],
        &["-g", "-fPIC", &needs],
    )?;
    let (main_in, lib_in) = (layout(&main)?, layout(&lib)?);
    for section in [".debug_info", ".debug_line", "name"] {
        if !main_in.custom.contains_key(section) || !lib_in.custom.contains_key(section) {
            bail!("clang -g gave main or the library no {section} section");
        }
    }
    let component = wasm_dl::Composer::new()
        .main("main", main)
        .library("libprovides.so", lib)
        .compose()?;
    let modules = core_modules(&component)?;
    check_kept("main", &main_in, &modules, &["__original_main", "_start"])?;
    // The library rewrite (segments made passive, an init function appended) keeps it too.
    check_kept("libprovides.so", &lib_in, &modules, &["lib_value"])?;
    let out = run(&component, &[], &[])?;
    assert_eq!(
        out.stdout_str(),
        "twice(lib_value) = 84, lib_counter = 42\n"
    );
    Ok(())
}
