//! The SQLite set: SQLite's amalgamation (`sqlite3/sqlite3.c` of the crates.io crate
//! `libsqlite3-sys`, what its `bundled` feature compiles) as `libsqlite3.so`, a `-shared` main
//! (`sqlite_main.c`), componentize-py's `libc.so`, and the sqlite-vec extension (`sqlite-vec.c` of
//! the crate `sqlite-vec`) as `sqlite-vec.so`, dl-openable: main loads it with
//! `sqlite3_load_extension`, so SQLite's own `dlopen`/`dlsym` path runs.

use super::{cc_pic, crate_dir, ld_shared, FirstOutput, RealSet};
use crate::runtime;
use crate::toolchain::Tools;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The defines SQLite needs for Debian's wasi-libc, as libsqlite3-sys's build script sets them for
/// `wasm32-wasi*` (no threads, `long double` as `double`, the emulated mman/getpid/signal/clock
/// headers), and no WAL or shared cache (they need `mmap` of shared memory and locks, which WASI
/// has not). Extension loading stays enabled (see [`CONFIG_H`]).
const SQLITE_DEFINES: &[&str] = &[
    "-DSQLITE_THREADSAFE=0",
    "-DSQLITE_OMIT_WAL",
    "-DSQLITE_OMIT_SHARED_CACHE",
    "-DLONGDOUBLE_TYPE=double",
    "-D_WASI_EMULATED_MMAN",
    "-D_WASI_EMULATED_GETPID",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
    "-D_WASI_EMULATED_SIGNAL",
    // SQLite's `#include <dlfcn.h>` is the project's include/dlfcn.h (Debian's wasi-libc has
    // none), with `dlopen`/`dlsym`/`dlerror`/`dlclose` as plain `env` imports: wasm-tools' built-in
    // libdl and wasm-dl both bind those.
    "-DWASM_DL_PLAIN_IMPORTS",
    // Includes `sqlite_cfg.h` (CONFIG_H) after sqlite3.h's part of the amalgamation.
    "-D_HAVE_SQLITE_CONFIG_H",
];

/// `sqlite_cfg.h`, the configuration header SQLite includes (with `_HAVE_SQLITE_CONFIG_H`) after
/// its public header: sqlite3.h defines `SQLITE_OMIT_LOAD_EXTENSION` whenever `__wasi__` is
/// (WASI has no `dlopen`); here both composers provide one, so it is undone.
const CONFIG_H: &str = "/* bench/src/real/sqlite.rs: sqlite3.h omits extension loading on WASI; \
                        the composed program has dlopen */\n#undef SQLITE_OMIT_LOAD_EXTENSION\n";

/// The extension's translation unit: sqlite3ext.h only redirects `sqlite3_*` calls through the
/// `sqlite3_api` table the loader passes in when `SQLITE_OMIT_LOAD_EXTENSION` is not defined, and
/// sqlite3.h (which it includes) defines it on WASI; including sqlite3.h first (it has an
/// include guard) and undefining it makes the extension import nothing from libsqlite3.so, as a
/// loadable extension should.
const VEC_WRAPPER: &str =
    "/* bench/src/real/sqlite.rs: see VEC_WRAPPER */\n#include \"sqlite3.h\"\n\
                           #undef SQLITE_OMIT_LOAD_EXTENSION\n#include \"sqlite-vec.c\"\n";

/// The `#define NAME "VALUE"` of a C header, if there is one.
fn c_string_define(header: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(header).ok()?;
    text.lines().find_map(|l| {
        let rest = l
            .strip_prefix("#define ")?
            .trim_start()
            .strip_prefix(name)?;
        let value = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
        Some(value.to_string())
    })
}

/// The SQLite set (see the module docs). libsqlite3.so takes one to two minutes of CPU to compile:
/// it is built once per libsqlite3-sys version and set of flags into the work directory.
pub(crate) fn sqlite_set(tools: &Tools, work: &Path, libc_so: &Path) -> Result<RealSet> {
    let (krate, krate_version) = crate_dir("libsqlite3-sys")?;
    let amalgamation = krate.join("sqlite3");
    if !amalgamation.join("sqlite3.c").is_file() {
        bail!("{} has no sqlite3.c", amalgamation.display());
    }
    let (vec_dir, vec_version) = crate_dir("sqlite-vec")?;
    if !vec_dir.join("sqlite-vec.c").is_file() {
        bail!("{} has no sqlite-vec.c", vec_dir.display());
    }
    let sqlite_version = c_string_define(&amalgamation.join("sqlite3.h"), "SQLITE_VERSION")
        .context("sqlite3.h has no SQLITE_VERSION")?;
    let vec_release =
        c_string_define(&vec_dir.join("sqlite-vec.h"), "SQLITE_VEC_VERSION").unwrap_or(vec_version);
    let dir = work.join(format!("real-sqlite-{krate_version}"));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("sqlite_cfg.h"), CONFIG_H)?;
    let include = |d: &Path| format!("-I{}", d.display());
    let mut lib_args: Vec<String> = SQLITE_DEFINES.iter().map(|d| d.to_string()).collect();
    lib_args.extend([
        include(&dir),
        include(&crate::toolchain::workspace_root().join("include")),
        "-w".into(),
    ]);
    let libsqlite = dir.join("libsqlite3.so");
    // The flags it was built with: a change rebuilds it.
    let stamp = dir.join("libsqlite3.flags");
    let flags = lib_args.join(" ");
    if !libsqlite.is_file() || std::fs::read_to_string(&stamp).ok().as_deref() != Some(&flags) {
        eprintln!("bench: compiling SQLite {sqlite_version} (a minute or two)");
        let obj = dir.join("sqlite3.o");
        cc_pic(tools, &lib_args, &amalgamation.join("sqlite3.c"), &obj)?;
        ld_shared(tools, &[obj], &libsqlite)?;
        std::fs::write(&stamp, &flags)?;
    }
    let src = dir.join("sqlite_main.c");
    std::fs::write(&src, include_str!("../sqlite_main.c"))?;
    let main_o = dir.join("main.o");
    cc_pic(tools, &[include(&amalgamation)], &src, &main_o)?;
    let main_so = dir.join("main.so");
    ld_shared(
        tools,
        &[tools.wasip2_lib.join("crt1-command.o"), main_o],
        &main_so,
    )?;
    let wrapper = dir.join("sqlite-vec-wasi.c");
    std::fs::write(&wrapper, VEC_WRAPPER)?;
    let vec_o = dir.join("sqlite-vec.o");
    cc_pic(tools, &[include(&vec_dir), "-w".into()], &wrapper, &vec_o)?;
    let vec_so = dir.join("sqlite-vec.so");
    ld_shared(tools, &[vec_o], &vec_so)?;
    let size = |p: &PathBuf| -> Result<String> {
        Ok(crate::report::size_text(std::fs::metadata(p)?.len() as f64))
    };
    Ok(RealSet {
        name: format!(
            "SQLite {sqlite_version} + sqlite-vec {vec_release} (libsqlite3.so {}, \
             componentize-py's libc.so; main.so; sqlite-vec.so {} dl-openable)",
            size(&libsqlite)?,
            size(&vec_so)?,
        ),
        dir,
        main_so,
        linked: vec![libsqlite, libc_so.to_path_buf()],
        openable: vec![vec_so],
        first: FirstOutput {
            what: "an in-memory database opened, a table created, 3 rows inserted, sqlite-vec \
                   loaded with `sqlite3_load_extension`, the rows and `vec_distance_l2` queried, \
                   closed"
                .into(),
            args: vec!["hello".into()],
            expect: "hello from SQLite; sqlite-vec: vec_distance_l2 = 13.0".into(),
            env: runtime::Env::default(),
        },
        goals: false,
    })
}
