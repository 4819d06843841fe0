//! `wasm-dl flags`: the compiler and linker flags that make clang/wasm-ld output fit wasm-dl.

use crate::parse;
use crate::Input;
use anyhow::Result;
use std::collections::BTreeSet;
use wasm_dl_abi::ftalloc::{FTALLOC_EXPORT, FTFREE_EXPORT};

/// Flags every main module needs, whatever its libraries import.
pub const MAIN_BASE_FLAGS: &[&str] = &[
    "-Wl,--export-table",
    "-Wl,--growable-table",
    "-Wl,--export=__stack_pointer",
    "-Wl,--export=malloc",
    "-Wl,--export=free",
];

/// What `wasm-dl flags main LIB...` says on stderr (so that `$(wasm-dl flags main ...)` stays
/// only flags): a main linked against libraries should be compiled `-fPIC`.
pub const MAIN_PIC_NOTE: &str = "wasm-dl: note: if the main module is linked against these \
    libraries (`clang main.c libfoo.so`), compile it with -fPIC as well: wasm-ld links a non-PIC \
    main's references to library data, and the addresses it takes of library functions, as 0 \
    without a diagnostic (a -fPIC main is still an ordinary executable)";

/// Compile flags for a shared library's objects.
pub const LIB_COMPILE_FLAGS: &[&str] = &["-fPIC", "-fvisibility=default"];

/// `wasm-ld` flags that link a shared library.
pub const LIB_LINK_FLAGS: &[&str] = &[
    "-shared",
    "--experimental-pic",
    "--unresolved-symbols=import-dynamic",
];

/// Imports the linker resolves itself; the main module never needs to export them.
fn is_linker_provided(module: &str, field: &str) -> bool {
    module == "env"
        && matches!(
            field,
            "memory"
                | "__indirect_function_table"
                | "__stack_pointer"
                | "__memory_base"
                | "__table_base"
        )
}

/// What the main module must export for the given libraries.
#[derive(Debug, Default)]
struct Wanted {
    /// Symbols some library imports and none defines: main must define and export them.
    required: BTreeSet<String>,
    /// Symbols some library imports and some library defines (weak functions, C++ type info,
    /// vtables, inline variables and their guards): if main defines them too, its copy must be
    /// the one every library binds to, as lld and GNU ld export an executable's definition that
    /// a shared library refers to.
    if_defined: BTreeSet<String>,
}

fn wanted(libs: &[Input]) -> Result<Wanted> {
    let parsed = libs
        .iter()
        .map(parse::library)
        .collect::<Result<Vec<_>>>()?;
    let defined: BTreeSet<&str> = parsed
        .iter()
        .flat_map(|l| {
            l.funcs
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(l.data.iter().map(|(n, _)| n.as_str()))
        })
        .collect();
    let mut wanted = Wanted::default();
    for lib in &parsed {
        for imp in &lib.imports {
            let symbol = matches!(imp.module.as_str(), "env" | "GOT.mem" | "GOT.func");
            // dlfcn.h functions declared without its import module come from the dl shim.
            let dl_call = imp.module == "env"
                && matches!(&imp.kind, parse::ImportKind::Func(ty)
                    if crate::dlfcn::func_type(&imp.field).as_ref() == Some(ty));
            // Tags are linked by wasm-dl itself (defined in main when no module defines them).
            let tag = matches!(imp.kind, parse::ImportKind::Tag(_));
            if !symbol || dl_call || tag || is_linker_provided(&imp.module, &imp.field) {
                continue;
            }
            // The setjmp runtime: wasm-dl provides it where no input defines it (a main may,
            // from a static libsetjmp.a; then its copy is the one every library binds to).
            let runtime = crate::synth::sjlj::FUNCS.contains(&imp.field.as_str());
            if defined.contains(imp.field.as_str()) || imp.weak || runtime {
                wanted.if_defined.insert(imp.field.clone());
            } else {
                wanted.required.insert(imp.field.clone());
            }
        }
    }
    Ok(wanted)
}

/// Symbols the given libraries import that none of them defines: the main module must export
/// each one (with `-Wl,--export=NAME`).
pub fn main_exports(libs: &[Input]) -> Result<Vec<String>> {
    Ok(wanted(libs)?.required.into_iter().collect())
}

/// Every flag a main module linked against `libs` needs.
pub fn main_flags(libs: &[Input]) -> Result<Vec<String>> {
    let mut flags: Vec<String> = MAIN_BASE_FLAGS.iter().map(|s| s.to_string()).collect();
    // The function-table allocator, when main defines one (include/wasm-dl/ftalloc.h): every
    // table range wasm-dl takes at run time then comes from it.
    for name in [FTALLOC_EXPORT, FTFREE_EXPORT] {
        flags.push(format!("-Wl,--export-if-defined={name}"));
    }
    let wanted = wanted(libs)?;
    for name in wanted.required {
        let flag = format!("-Wl,--export={name}");
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    // Weak imports too: main's definition, if it has one, is what a weak reference finds.
    for name in wanted.if_defined {
        flags.push(format!("-Wl,--export-if-defined={name}"));
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library that calls the setjmp runtime and `puts`: main must export `puts`, and the
    /// runtime only if it defines it (wasm-dl provides it otherwise, so a main that never calls
    /// setjmp itself, e.g. one that links against a `liblua.so`, does not define it).
    #[test]
    fn the_setjmp_runtime_is_exported_only_if_main_defines_it() {
        let lib = wat::parse_str(
            r#"(module (@dylink.0)
                 (import "env" "__wasm_setjmp" (func (param i32 i32 i32)))
                 (import "env" "__wasm_longjmp" (func (param i32 i32)))
                 (import "env" "puts" (func (param i32) (result i32))))"#,
        )
        .expect("test module");
        let libs = [Input {
            name: "liblua.so".into(),
            bytes: lib,
        }];
        let flags = main_flags(&libs).expect("flags");
        assert!(
            flags.contains(&"-Wl,--export=puts".to_string()),
            "{flags:?}"
        );
        for f in ["__wasm_setjmp", "__wasm_longjmp"] {
            assert!(
                flags.contains(&format!("-Wl,--export-if-defined={f}")),
                "{flags:?}"
            );
            assert!(!flags.contains(&format!("-Wl,--export={f}")), "{flags:?}");
        }
        assert_eq!(main_exports(&libs).expect("exports"), ["puts"]);
    }
}
