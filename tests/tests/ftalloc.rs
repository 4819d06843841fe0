//! Main's table allocator (`include/wasm-dl/ftalloc.h`) outside the run-time cases
//! (`tests/cases/dl-ftalloc*`, `link-main-needed-ftalloc`): `wasm-dl flags main` exports it, the
//! link map names who serves the table, and an `ftfree` without `ftalloc` is refused.

use anyhow::Result;
use wasm_dl::Composer;
use wasm_dl_tests::{build_lib, build_main, main_flags, CSource};

const LIB: &str = "int lib_fn(void) { return 7; }\n";

/// A main that opens libx.so; `extra` adds definitions (an allocator).
fn main_with(extra: &str) -> Result<Vec<u8>> {
    let code = format!(
        "#include <dlfcn.h>\n#include <stddef.h>\n#include <stdio.h>\n{extra}\n\
         int main(void) {{ printf(\"%p\\n\", dlopen(\"libx.so\", RTLD_NOW)); return 0; }}\n"
    );
    build_main(&[CSource::inline("main.c", code)], &[], &[])
}

fn compose(main: Vec<u8>, lib: Vec<u8>) -> Result<wasm_dl::Composed> {
    Composer::new()
        .main("main.wasm", main)
        .library("libx.so", lib)
        .map(true)
        .compose_report()
}

const FTALLOC: &str = "size_t ftalloc(size_t count, size_t align) { (void)count; (void)align; \
                       return (size_t)-1; }\n";
const FTFREE: &str = "void ftfree(size_t first, size_t count) { (void)first; (void)count; }\n";

#[test]
fn flags_main_exports_the_table_allocator() -> Result<()> {
    let flags = main_flags(&[])?;
    for f in [
        "-Wl,--export-if-defined=ftalloc",
        "-Wl,--export-if-defined=ftfree",
    ] {
        assert!(flags.iter().any(|x| x == f), "{f} not in {flags:?}");
    }
    Ok(())
}

#[test]
fn link_map_names_the_table_allocator() -> Result<()> {
    let lib = build_lib(&[CSource::inline("x.c", LIB)], &[])?;
    let map = |extra: &str| -> Result<String> {
        Ok(compose(main_with(extra)?, lib.clone())?
            .map
            .unwrap_or_default())
    };
    let line = |m: &str| {
        m.lines()
            .find(|l| l.contains("table slots for libraries from:"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no allocator line in the map:\n{m}"))
    };
    assert!(line(&map("")?).contains("table.grow of main's table"));
    let both = line(&map(&format!("{FTALLOC}{FTFREE}"))?);
    assert!(
        both.contains("main's `ftalloc`") && both.contains("`ftfree`"),
        "{both}"
    );
    let alloc_only = line(&map(FTALLOC)?);
    assert!(alloc_only.contains("no `ftfree`"), "{alloc_only}");
    Ok(())
}

#[test]
fn ftfree_without_ftalloc_is_refused() -> Result<()> {
    let lib = build_lib(&[CSource::inline("x.c", LIB)], &[])?;
    let err = match compose(main_with(FTFREE)?, lib) {
        Ok(_) => panic!("composed a main that exports ftfree without ftalloc"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("main.wasm: exports `ftfree` but not `ftalloc`")
            && err.contains("-Wl,--export-if-defined=ftalloc"),
        "{err}"
    );
    Ok(())
}
