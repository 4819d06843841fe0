//! A real program that unwinds with setjmp/longjmp: Lua 5.4 (its C sources from the crates.io crate
//! `lua-src`, unmodified) with its normal error handling — `LUAI_TRY`/`LUAI_THROW` are
//! `_setjmp`/`_longjmp` under `LUA_USE_POSIX` — built by clang-22 with wasm setjmp/longjmp
//! (`-mllvm -wasm-enable-sjlj`, standard exception handling), and a C module of ours,
//! `examples/lua/luamod.c`, that Lua's `require` loads with `dlopen`/`dlsym` (loadlib.c with
//! `LUA_USE_DLOPEN`, as on Linux). `examples/lua/test.lua` calls into the module and back, raises
//! `error()` inside it and catches it with `pcall`, unwinds Lua errors and coroutine yields through
//! its frames, and requires a missing module and a library without `luaopen_noinit`.
//!
//! wasm-dl provides the setjmp runtime (`__wasm_setjmp`, ...; no input defines it) and the one
//! `__c_longjmp` tag every module shares, so an error raised in luamod.so (`luaL_error`, whose
//! `_longjmp` is in Lua's `luaD_throw`) unwinds through luamod.so's frames to the `_setjmp` of
//! `lua_pcall` or `coroutine.resume`. Two builds, the way Lua is ported:
//! - **Lua in main**: the interpreter `examples/lua/lua.c` and Lua, non-PIC, with the flags of
//!   `wasm-dl flags main luamod.so noinit.so` (Lua's Linux makefile links `lua` with `-Wl,-E`);
//! - **liblua.so**: Lua as a PIC shared library (as Debian packages it: `liblua5.4.so`, which its
//!   `lua5.4` links against), and lua.c linked against it.
//!
//! The expected output is what the same lua.c, Lua sources, luamod.c and test.lua print built
//! with gcc as Lua's makefile does on Linux (`-DLUA_COMPAT_5_3 -DLUA_USE_LINUX`, `-Wl,-E -ldl`,
//! the module `-fPIC -shared`). Every build is cached in `target/wasm-dl-fixtures`.
//!
//! Node 20 (jco) is not run: it knows only the legacy exception-handling encoding (see
//! `include/setjmp.h`).

use anyhow::{ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasm_dl_tests::native::{gcc_cached, write_exe};
use wasm_dl_tests::toolchain::with_llvm;
use wasm_dl_tests::{build_lib, build_main, link_against, run_in, CSource};

/// The version of `lua-src` in tests/Cargo.toml and the Lua it ships.
const LUA_DIR: &str = "lua-5.4.9";

/// Lua's library: `CORE_O` and `LIB_O` of its makefile (everything but lua.c and luac.c, which the
/// crate does not ship).
const LUA: &[&str] = &[
    "lapi.c",
    "lcode.c",
    "lctype.c",
    "ldebug.c",
    "ldo.c",
    "ldump.c",
    "lfunc.c",
    "lgc.c",
    "llex.c",
    "lmem.c",
    "lobject.c",
    "lopcodes.c",
    "lparser.c",
    "lstate.c",
    "lstring.c",
    "ltable.c",
    "ltm.c",
    "lundump.c",
    "lvm.c",
    "lzio.c",
    "lauxlib.c",
    "lbaselib.c",
    "lcorolib.c",
    "ldblib.c",
    "liolib.c",
    "lmathlib.c",
    "loadlib.c",
    "loslib.c",
    "lstrlib.c",
    "ltablib.c",
    "lutf8lib.c",
    "linit.c",
];

/// The C modules in `examples/lua/`, built as `<name>.so`.
const MODULES: &[&str] = &["luamod", "noinit"];

/// Lua's makefile (`-DLUA_COMPAT_5_3`) and its `linux` target (`-DLUA_USE_LINUX`: POSIX and dlopen).
const NATIVE_DEFINES: &[&str] = &["-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX"];

/// What `lua-src` builds Lua with for WASI (`LUA_USE_POSIX`; `_WASI_EMULATED_SIGNAL` for
/// `signal.h`, whose `sig_atomic_t` lstate.h uses), plus `LUA_USE_DLOPEN`, which `LUA_USE_LINUX`
/// adds: `require` then loads C modules with `dlopen`, from wasm-dl's `include/dlfcn.h`.
const WASM_DEFINES: &[&str] = &[
    "-DLUA_COMPAT_5_3",
    "-DLUA_USE_POSIX",
    "-DLUA_USE_DLOPEN",
    "-D_WASI_EMULATED_SIGNAL",
];

/// wasm setjmp/longjmp in the standard exception-handling encoding (`include/setjmp.h`).
const SJLJ: &[&str] = &[
    "-mllvm",
    "-wasm-enable-sjlj",
    "-mllvm",
    "-wasm-use-legacy-eh=false",
];

/// The LLVM that builds every wasm module here: wasm setjmp/longjmp needs LLVM 20 or later.
const LLVM: u32 = 22;

fn example_dir() -> PathBuf {
    wasm_dl_tests::workspace_root().join("examples/lua")
}

/// `<lua-src>/lua-5.4.9` (tests/Cargo.toml declares the crate as a never-built dependency).
fn lua_dir() -> Result<PathBuf> {
    let dir = wasm_dl_tests::tools::crate_source_dir("lua-src")?.join(LUA_DIR);
    ensure!(
        dir.join("ldo.c").is_file(),
        "{} has no ldo.c (another lua-src version than tests/Cargo.toml's?)",
        dir.display()
    );
    Ok(dir)
}

/// Lua's library sources (its headers are pinned with the crate's version).
fn lua_sources(l: &Path) -> Result<Vec<CSource>> {
    LUA.iter().map(|f| CSource::file(l.join(f))).collect()
}

fn example(name: &str) -> Result<CSource> {
    CSource::file(example_dir().join(name))
}

/// The native reference: `lua` (lua.c and Lua, `-Wl,-E -ldl` as Lua's makefile links it on
/// Linux) and the modules, built with gcc; runs test.lua in a directory holding them and returns
/// its stdout.
fn native_output(l: &Path) -> Result<String> {
    let include = format!("-I{}", l.display());
    let mut src = vec![example("lua.c")?];
    src.extend(lua_sources(l)?);
    let mut flags = vec!["-O2", include.as_str()];
    flags.extend(NATIVE_DEFINES);
    let exe = gcc_cached("native lua", &src, &flags, &["-Wl,-E", "-ldl", "-lm"])?;
    let run_dir = tempfile::tempdir()?;
    write_exe(run_dir.path(), "lua", &exe)?;
    for m in MODULES {
        let src = [example(&format!("{m}.c"))?];
        let flags = ["-O2", "-fPIC", "-shared", include.as_str()];
        let so = gcc_cached("native lua module", &src, &flags, &[])?;
        std::fs::write(run_dir.path().join(format!("{m}.so")), so)?;
    }
    let script = example("test.lua")?;
    std::fs::write(run_dir.path().join(&script.name), &script.code)?;
    let out = Command::new(run_dir.path().join("lua"))
        .arg(&script.name)
        .current_dir(run_dir.path())
        .output()
        .context("running the native lua")?;
    let stdout = String::from_utf8(out.stdout)?;
    ensure!(
        out.status.success() && stdout.contains("\ndone\n"),
        "native lua test.lua failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

/// Flags of every wasm module that contains Lua or a module.
fn wasm_flags(l: &Path) -> Vec<String> {
    let mut flags: Vec<String> = WASM_DEFINES.iter().map(|s| s.to_string()).collect();
    flags.extend(SJLJ.iter().map(|s| s.to_string()));
    flags.push(format!("-I{}", l.display()));
    flags
}

/// The modules as wasm shared libraries, `(file name, bytes)`.
fn wasm_modules(l: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let flags = wasm_flags(l);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    MODULES
        .iter()
        .map(|m| {
            let so = build_lib(&[example(&format!("{m}.c"))?], &flags)?;
            Ok((format!("{m}.so"), so))
        })
        .collect()
}

/// Composes `main` with `libs`, runs test.lua in a directory holding the modules' files (Lua's
/// searcher checks that `./luamod.so` can be opened before it calls `dlopen`) and compares the
/// output with the native one.
fn compose_and_run(
    what: &str,
    main: &[u8],
    libs: &[(String, Vec<u8>)],
    modules: &[(String, Vec<u8>)],
    expected: &str,
) -> Result<()> {
    let start = Instant::now();
    let mut composer = wasm_dl::Composer::new().main("lua.wasm", main.to_vec());
    for (name, bytes) in libs {
        composer = composer.library(name.clone(), bytes.clone());
    }
    let app = composer
        .compose()
        .with_context(|| format!("composing Lua ({what})"))?;
    eprintln!(
        "lua ({what}): lua.wasm {} bytes, {}, app.wasm {} bytes, compose {:.0?}",
        main.len(),
        libs.iter()
            .map(|(n, b)| format!("{n} {} bytes", b.len()))
            .collect::<Vec<_>>()
            .join(", "),
        app.len(),
        start.elapsed()
    );
    let dir = tempfile::tempdir()?;
    for (name, bytes) in modules {
        std::fs::write(dir.path().join(name), bytes)?;
    }
    let script = example("test.lua")?;
    std::fs::write(dir.path().join(&script.name), &script.code)?;
    let out = run_in(&app, &["lua", "test.lua"], &[], Some(dir.path()))?;
    wasm_dl_tests::native::check_same_as_native(&format!("Lua ({what})"), &out, expected)
}

/// Lua in the main module: lua.c and Lua non-PIC, with `wasm-dl flags main` for the modules and
/// `--unresolved-symbols=import-dynamic` for the `__c_longjmp` tag that only wasm-dl defines.
#[test]
fn lua_in_main_requires_c_modules_like_linux() -> Result<()> {
    let l = lua_dir()?;
    let expected = native_output(&l)?;
    with_llvm(LLVM, || {
        let modules = wasm_modules(&l)?;
        let mut src = vec![example("lua.c")?];
        src.extend(lua_sources(&l)?);
        let mut flags = wasm_flags(&l);
        flags.push("-Wl,--unresolved-symbols=import-dynamic".into());
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let refs: Vec<(&str, &[u8])> = modules
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let main = build_main(&src, &refs, &flags)?;
        compose_and_run("Lua in main", &main, &modules, &modules, &expected)
    })
}

/// Lua as a shared library: `liblua.so` (Lua, PIC) and lua.c linked against it, compiled `-fPIC`
/// as `wasm-dl flags main` advises for a main linked against libraries (lua.c takes no address
/// of a liblua function, so a non-PIC lua.c links and runs as well); luamod.so binds its `lua_*`
/// and `luaL_*` imports to liblua.so, whose `_setjmp` catches the longjmp of luamod's errors.
#[test]
fn lua_as_a_shared_library() -> Result<()> {
    let l = lua_dir()?;
    let expected = native_output(&l)?;
    with_llvm(LLVM, || {
        let flags = wasm_flags(&l);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let liblua = build_lib(&lua_sources(&l)?, &flags)?;
        let modules = wasm_modules(&l)?;
        let mut libs = vec![("liblua.so".to_string(), liblua)];
        libs.extend(modules.iter().cloned());

        let link = link_against("liblua.so", &libs[0].1)?;
        let mut main_flags = flags.clone();
        main_flags.push("-fPIC");
        main_flags.push(&link);
        let refs: Vec<(&str, &[u8])> = libs
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let main = build_main(&[example("lua.c")?], &refs, &main_flags)?;
        compose_and_run("liblua.so", &main, &libs, &modules, &expected)
    })
}
