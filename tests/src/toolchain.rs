//! clang / wasm-ld (LLVM 19 by default, LLVM 22 for the second column of the case matrix: see
//! [`with_llvm`]) and the wasi sysroot made by `scripts/setup.sh`, and cached fixture builders.
//!
//! Every build is cached in `<target>/wasm-dl-fixtures/<sha256>.wasm`, keyed by the clang version,
//! the kind of build, all flags, the sources (names and bytes) and the headers of `include/`.

use crate::tools::run_tool;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The LLVM versions fixtures are built with: Debian's clang-19 and clang-22 (bookworm-security).
pub const LLVM_VERSIONS: [u32; 2] = [19, 22];

thread_local! {
    static LLVM: std::cell::Cell<u32> = const { std::cell::Cell::new(LLVM_VERSIONS[0]) };
}

/// Runs `f` with every fixture of this thread built by LLVM `major` (one of [`LLVM_VERSIONS`]).
pub fn with_llvm<T>(major: u32, f: impl FnOnce() -> T) -> T {
    let before = LLVM.with(|l| l.replace(major));
    let out = f();
    LLVM.with(|l| l.set(before));
    out
}

/// The LLVM major version this thread builds fixtures with.
pub fn llvm() -> u32 {
    LLVM.with(|l| l.get())
}

/// The located tools.
#[derive(Debug)]
pub struct Toolchain {
    /// `clang-N` (or `$WASM_DL_CLANG` for LLVM 19).
    pub clang: PathBuf,
    /// `wasm-ld-N` (or `$WASM_DL_WASM_LD` for LLVM 19).
    pub wasm_ld: PathBuf,
    /// The target flags: LLVM 22 calls `wasm32-wasi` deprecated (the sysroot's directories have
    /// that name), so its warning is silenced.
    pub target: &'static [&'static str],
    /// The wasi sysroot (`$WASM_DL_SYSROOT`, else `${WASM_DL_CACHE:-~/.cache/wasm-dl}/sysroot`).
    pub sysroot: PathBuf,
    /// First line of `clang --version`, part of every cache key.
    pub clang_version: String,
}

const SETUP_HINT: &str = "run scripts/setup.sh (it installs clang-19, lld-19, clang-22, lld-22, \
     wasi-libc and makes the sysroot)";

/// The toolchain of this thread's LLVM version ([`with_llvm`]), located once; the error says to
/// run `scripts/setup.sh`.
pub fn toolchain() -> Result<&'static Toolchain> {
    type Slot = OnceLock<std::result::Result<Toolchain, String>>;
    static TC: [Slot; 2] = [OnceLock::new(), OnceLock::new()];
    let major = llvm();
    let i = LLVM_VERSIONS
        .iter()
        .position(|v| *v == major)
        .with_context(|| format!("no LLVM {major} toolchain (there are {LLVM_VERSIONS:?})"))?;
    TC[i]
        .get_or_init(|| locate(major).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn locate(major: u32) -> Result<Toolchain> {
    let (clang_var, ld_var) = if major == LLVM_VERSIONS[0] {
        ("WASM_DL_CLANG", "WASM_DL_WASM_LD")
    } else {
        ("WASM_DL_CLANG22", "WASM_DL_WASM_LD22")
    };
    let clang = find_tool(
        clang_var,
        &format!("clang-{major}"),
        &format!("/usr/lib/llvm-{major}/bin/clang"),
    )?;
    let wasm_ld = find_tool(
        ld_var,
        &format!("wasm-ld-{major}"),
        &format!("/usr/lib/llvm-{major}/bin/wasm-ld"),
    )?;
    let target: &'static [&'static str] = if major >= 22 {
        &["--target=wasm32-wasi", "-Wno-deprecated"]
    } else {
        &["--target=wasm32-wasi"]
    };
    let sysroot = match std::env::var_os("WASM_DL_SYSROOT") {
        Some(s) => PathBuf::from(s),
        None => crate::tools::cache_dir().join("sysroot"),
    };
    for needed in [
        "include/wasm32-wasi/stdio.h",
        "lib/wasm32-wasi/crt1-command.o",
        "lib/wasm32-wasi/libc.a",
    ] {
        if !sysroot.join(needed).exists() {
            bail!(
                "wasi sysroot {} lacks {needed}: {SETUP_HINT}",
                sysroot.display()
            );
        }
    }
    let out = Command::new(&clang)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", clang.display()))?;
    let clang_version = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    Ok(Toolchain {
        clang,
        wasm_ld,
        target,
        sysroot,
        clang_version,
    })
}

fn find_tool(var: &str, name: &str, fallback: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Ok(PathBuf::from(p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    if Path::new(fallback).is_file() {
        return Ok(PathBuf::from(fallback));
    }
    bail!("{name} not found on PATH (or set ${var}): {SETUP_HINT}")
}

/// One C source: a file name (used as-is inside the build directory) and its contents.
#[derive(Clone, Debug)]
pub struct CSource {
    /// File name, e.g. `greet.c`.
    pub name: String,
    /// Source text.
    pub code: Vec<u8>,
    /// Directory added with `-I` so that `#include "x.h"` next to the original file works.
    pub include_dir: Option<PathBuf>,
}

impl CSource {
    /// Reads a source file.
    pub fn file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let code = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .context("source path has no file name")?
            .to_string_lossy()
            .into_owned();
        Ok(Self {
            name,
            code,
            include_dir: path.parent().map(Path::to_path_buf),
        })
    }

    /// An inline source.
    pub fn inline(name: impl Into<String>, code: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            code: code.into(),
            include_dir: None,
        }
    }
}

fn include_dir() -> PathBuf {
    crate::workspace_root().join("include")
}

fn cache_dir() -> Result<PathBuf> {
    let dir = crate::target_dir().join("wasm-dl-fixtures");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Returns the cached output for this key, or runs `build(dir, out)` in a fresh temporary directory
/// and stores `out` in the cache atomically (tests build in parallel).
fn cached(
    kind: &str,
    sources: &[CSource],
    flags: &[String],
    build: impl FnOnce(&Toolchain, &Path, &Path) -> Result<()>,
) -> Result<Vec<u8>> {
    let tc = toolchain()?;
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(b"wasm-dl-fixture v1");
    field(kind.as_bytes());
    field(tc.clang_version.as_bytes());
    field(tc.sysroot.to_string_lossy().as_bytes());
    for f in flags {
        field(f.as_bytes());
    }
    for s in sources {
        field(s.name.as_bytes());
        field(&s.code);
    }
    for header in ["dlfcn.h", "wasm-dl/ftalloc.h"] {
        field(&std::fs::read(include_dir().join(header)).unwrap_or_default());
    }
    let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();

    let cache = cache_dir()?;
    let path = cache.join(format!("{key}.wasm"));
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes);
    }
    let tmp = tempfile::tempdir_in(&cache)?;
    for s in sources {
        std::fs::write(tmp.path().join(&s.name), &s.code)?;
    }
    let out = tmp.path().join("out.wasm");
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    build(tc, tmp.path(), &out)
        .with_context(|| format!("building {kind} from {}", names.join(" ")))?;
    let bytes = std::fs::read(&out)?;
    let staged = tmp.path().join("staged");
    std::fs::write(&staged, &bytes)?;
    std::fs::rename(&staged, &path)?;
    Ok(bytes)
}

/// Any other build, cached like the fixtures: `build(dir, out)` runs in a fresh directory holding the
/// `sources` and writes `out`, unless a build with the same `kind`, `flags` and sources is cached.
/// Put everything the output depends on (e.g. another compiler's version) in `kind` or `flags`.
pub fn build_cached(
    kind: &str,
    sources: &[CSource],
    flags: &[String],
    build: impl FnOnce(&Path, &Path) -> Result<()>,
) -> Result<Vec<u8>> {
    cached(kind, sources, flags, |_, dir, out| build(dir, out))
}

fn source_includes(sources: &[CSource]) -> Vec<String> {
    let mut dirs = BTreeSet::new();
    for s in sources {
        if let Some(d) = &s.include_dir {
            dirs.insert(format!("-I{}", d.display()));
        }
    }
    dirs.into_iter().collect()
}

/// Splits `extra_flags` into compiler flags and `-Wl,` linker flags (passed to wasm-ld without `-Wl,`).
fn split_flags(extra_flags: &[&str]) -> (Vec<String>, Vec<String>) {
    let (mut cc, mut ld) = (Vec::new(), Vec::new());
    for f in extra_flags {
        match f.strip_prefix("-Wl,") {
            Some(rest) => ld.extend(rest.split(',').map(str::to_string)),
            None => cc.push(f.to_string()),
        }
    }
    (cc, ld)
}

/// Builds a PIC shared library (`dylink.0` side module):
/// `clang-19 --target=wasm32-wasi --sysroot=S -fPIC -fvisibility=default -O2 -c` for each source, then
/// `wasm-ld-19 -shared --experimental-pic --unresolved-symbols=import-dynamic`.
/// `extra_flags` go to clang, except `-Wl,a,b` ones, which go to wasm-ld as `a b`.
pub fn build_lib(c_sources: &[CSource], extra_flags: &[&str]) -> Result<Vec<u8>> {
    build_shared("shared library", c_sources, extra_flags, None)
}

/// Compiles `c_sources` `-fPIC` and links them `-shared` after `first` (a crt1 object), if any.
fn build_shared(
    kind: &str,
    c_sources: &[CSource],
    extra_flags: &[&str],
    first: Option<&Path>,
) -> Result<Vec<u8>> {
    let mut flags: Vec<String> = extra_flags.iter().map(|s| s.to_string()).collect();
    if let Some(f) = first {
        flags.push(format!("first object {}", f.display()));
    }
    cached(kind, c_sources, &flags, |tc, dir, out| {
        let (cc, ld) = split_flags(extra_flags);
        let mut objects: Vec<PathBuf> = first.into_iter().map(Path::to_path_buf).collect();
        for s in c_sources {
            let obj = dir.join(format!("{}.o", s.name));
            run_tool(
                Command::new(&tc.clang)
                    .args(tc.target)
                    .arg(format!("--sysroot={}", tc.sysroot.display()))
                    .args(["-fPIC", "-fvisibility=default", "-O2", "-c"])
                    .arg(format!("-I{}", include_dir().display()))
                    .args(source_includes(std::slice::from_ref(s)))
                    .args(&cc)
                    .arg(dir.join(&s.name))
                    .arg("-o")
                    .arg(&obj),
            )?;
            objects.push(obj);
        }
        run_tool(
            Command::new(&tc.wasm_ld)
                .args([
                    "-shared",
                    "--experimental-pic",
                    "--unresolved-symbols=import-dynamic",
                ])
                .args(&ld)
                .args(&objects)
                .arg("-o")
                .arg(out),
        )
        .map(drop)
    })
}

/// Builds a plain (non-shared, no `dylink.0`) reactor module exporting its default-visibility symbols:
/// what a user gets by forgetting `-shared`.
pub fn build_plain_module(c_sources: &[CSource], extra_flags: &[&str]) -> Result<Vec<u8>> {
    let mut flags: Vec<String> = vec![
        "-O2".into(),
        "-fvisibility=default".into(),
        "-mexec-model=reactor".into(),
        "-Wl,--export-dynamic".into(),
    ];
    flags.extend(extra_flags.iter().map(|s| s.to_string()));
    build_clang_link("plain module", c_sources, flags)
}

/// Builds the non-PIC main module with `-I include/` and the flags of [`main_flags`] for `libs`.
pub fn build_main(
    c_sources: &[CSource],
    libs: &[(&str, &[u8])],
    extra_flags: &[&str],
) -> Result<Vec<u8>> {
    let inputs: Vec<wasm_dl::Input> = libs
        .iter()
        .map(|(n, b)| wasm_dl::Input {
            name: n.to_string(),
            bytes: b.to_vec(),
        })
        .collect();
    let mut flags = main_flags(&inputs)?;
    flags.extend(extra_flags.iter().map(|s| s.to_string()));
    build_main_with_flags(c_sources, &flags)
}

/// The link flag that links a module against library `name` (`bytes`). wasm-ld records the file
/// name as NEEDED: the library is placed under its own name in a directory named by its content,
/// so the fixture cache key changes with it.
pub fn link_against(name: &str, bytes: &[u8]) -> Result<String> {
    let dir = crate::target_dir()
        .join("wasm-dl-fixtures")
        .join("needs")
        .join(format!("{:x}", Sha256::digest(bytes)));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(name);
    // `name` may have a directory (`b/libx.so`); wasm-ld records the basename as NEEDED.
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if !file.exists() {
        // Cases run in parallel and share libraries: write aside, then rename into place, so
        // that no link ever reads a half-written file.
        let tmp = tempfile::NamedTempFile::new_in(&dir)?;
        std::fs::write(tmp.path(), bytes)?;
        tmp.persist(&file).map_err(|e| e.error)?;
    }
    // `-Bdynamic`: wasm-ld 22 refuses to link an executable against a `.so` without it
    // ("attempted static link of dynamic object"); wasm-ld 19 accepts it too.
    Ok(format!("-Wl,-Bdynamic,{}", file.display()))
}

/// Rust's wasm32-wasip2 self-contained libraries (`libc.a` built PIC, `crt1-command.o`), which
/// `scripts/setup.sh` installs: the wasi-sdk style all-PIC toolchain.
pub fn wasip2_lib() -> Result<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        .join("lib/rustlib/wasm32-wasip2/lib/self-contained");
    if !dir.join("libc.a").is_file() {
        bail!("{} has no libc.a: {SETUP_HINT}", dir.display());
    }
    Ok(dir)
}

/// Builds a position-independent main module (all-PIC input sets): objects compiled `-fPIC`,
/// linked `-shared` with wasip2's `crt1-command.o`, as wasi-sdk does.
pub fn build_pic_main(c_sources: &[CSource], extra_flags: &[&str]) -> Result<Vec<u8>> {
    let crt1 = wasip2_lib()?.join("crt1-command.o");
    build_shared("PIC main module", c_sources, extra_flags, Some(&crt1))
}

/// A PIC `libc.so` from Rust's wasip2 `libc.a` and the wasm32 compiler-rt builtins
/// (TOOLCHAIN.md): the C library of all-PIC input sets.
pub fn build_libc_so() -> Result<Vec<u8>> {
    let libc = wasip2_lib()?.join("libc.a");
    let major = llvm();
    let builtins = PathBuf::from(format!(
        "/usr/lib/llvm-{major}/lib/clang/{major}/lib/wasi/libclang_rt.builtins-wasm32.a"
    ));
    let key = vec![format!("{} {}", libc.display(), builtins.display())];
    cached("libc.so", &[], &key, |tc, _dir, out| {
        run_tool(
            Command::new(&tc.wasm_ld)
                .args([
                    "-shared",
                    "--experimental-pic",
                    "--unresolved-symbols=import-dynamic",
                    "--export-all",
                    "--whole-archive",
                ])
                .arg(&libc)
                .arg("--no-whole-archive")
                .arg(&builtins)
                .arg("-o")
                .arg(out),
        )
        .map(drop)
    })
}

/// Builds a non-PIC main module with exactly these extra flags (e.g. none of the export flags).
pub fn build_main_with_flags(c_sources: &[CSource], flags: &[String]) -> Result<Vec<u8>> {
    let mut all = vec!["-O2".to_string()];
    all.extend(flags.iter().cloned());
    build_clang_link("main module", c_sources, all)
}

fn build_clang_link(kind: &str, c_sources: &[CSource], flags: Vec<String>) -> Result<Vec<u8>> {
    cached(kind, c_sources, &flags, |tc, dir, out| {
        run_tool(
            Command::new(&tc.clang)
                .args(tc.target)
                .arg(format!("--sysroot={}", tc.sysroot.display()))
                .arg(format!("-I{}", include_dir().display()))
                .args(source_includes(c_sources))
                .args(&flags)
                .args(c_sources.iter().map(|s| dir.join(&s.name)))
                .arg("-o")
                .arg(out),
        )
        .map(drop)
    })
}

/// The clang flags a main module needs so that `libs` can be composed with it
/// (`wasm_dl::flags::main_flags`, what `wasm-dl flags main LIB...` prints).
pub fn main_flags(libs: &[wasm_dl::Input]) -> Result<Vec<String>> {
    wasm_dl::flags::main_flags(libs)
}
