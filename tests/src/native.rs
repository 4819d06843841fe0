//! Linux as the specification: a case's C sources built natively with gcc (shared libraries with
//! `-shared -fPIC`, the main program linked with `-ldl`) and run with glibc's `ld.so`, so that
//! the output wasm-dl's component must print is the one Linux prints.

use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The sources of a case as the native build sees them.
pub struct NativeCase<'a> {
    /// Every file of the case by name (`main.c`, `greet.c`, `greet.needs`, ...).
    pub files: &'a BTreeMap<String, PathBuf>,
    /// Library name (`libgreet.so`) to its C source, for every library built from C.
    pub libs: &'a BTreeMap<String, PathBuf>,
    /// Extra gcc flags for the main program (the case's `native` file).
    pub main_flags: Vec<String>,
    /// The program's environment (the case's `env` file).
    pub env: Vec<(String, String)>,
}

/// `-l<stem>` for a system library name (`libdl.so.2` -> `-ldl`), which the native build takes
/// from glibc instead of a case source.
fn system_flag(name: &str) -> Option<String> {
    if !wasm_dl_abi::system::is_system_library(name.as_bytes()) {
        return None;
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base.strip_prefix("lib")?.split(".so").next()?;
    Some(format!("-l{stem}"))
}

/// The words of the case's `<stem>.<what>` file.
fn needs_file(case: &NativeCase<'_>, stem: &str, what: &str) -> Result<Vec<String>> {
    Ok(match case.files.get(&format!("{stem}.{what}")) {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    })
}

fn needs(case: &NativeCase<'_>, stem: &str) -> Result<Vec<String>> {
    needs_file(case, stem, "needs")
}

/// Link flags for a list of NEEDED names: a case library by its path, a system library by `-l`.
fn link_flags(case: &NativeCase<'_>, out: &Path, names: &[String]) -> Result<Vec<String>> {
    let mut flags = Vec::new();
    for n in names {
        match system_flag(n) {
            Some(flag) if !case.libs.contains_key(n) => flags.push(flag),
            _ => {
                ensure!(
                    case.libs.contains_key(n),
                    "`.needs` names {n}, which the case lacks"
                );
                match n.rsplit_once('/') {
                    // In a subdirectory: found through `-L`, so that NEEDED is the basename
                    // (as wasm-ld records it), searched for at run time.
                    Some((dir, base)) => {
                        flags.push(format!("-L{}", out.join(dir).display()));
                        flags.push(format!("-l:{base}"));
                    }
                    None => flags.push(out.join(n).display().to_string()),
                }
            }
        }
    }
    Ok(flags)
}

fn gcc(args: &[String], what: &str) -> Result<()> {
    let out = Command::new("gcc")
        .args(args)
        .output()
        .context("running gcc (the machine's C compiler)")?;
    if !out.status.success() {
        bail!(
            "gcc failed building {what}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn build_lib(
    case: &NativeCase<'_>,
    out: &Path,
    name: &str,
    built: &mut Vec<String>,
    depth: usize,
) -> Result<()> {
    ensure!(depth < 64, "`.needs` files form a cycle at {name}");
    if built.iter().any(|b| b == name) {
        return Ok(());
    }
    let src = case
        .libs
        .get(name)
        .with_context(|| format!("no C source for {name}"))?;
    // The stem with its directory (`a/libx`), as the case names its `.needs` file.
    let file_stem = src
        .file_stem()
        .context("library source without a name")?
        .to_string_lossy()
        .into_owned();
    let stem = match name.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{file_stem}"),
        None => file_stem,
    };
    let deps = needs(case, &stem)?;
    for d in &deps {
        if case.libs.contains_key(d) {
            build_lib(case, out, d, built, depth + 1)?;
        }
    }
    let mut args: Vec<String> = ["-shared", "-fPIC", "-O1", "-o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let file = out.join(name);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    args.push(file.display().to_string());
    args.push(src.display().to_string());
    args.extend(link_flags(case, out, &deps)?);
    args.extend(needs_file(case, &stem, "ldflags")?);
    gcc(&args, name)?;
    built.push(name.to_string());
    Ok(())
}

/// Builds the case natively in a temporary directory and runs its main program there (libraries
/// found through `LD_LIBRARY_PATH`, as `dlopen("libx.so")` finds them on Linux).
pub fn run_native(case: &NativeCase<'_>) -> Result<crate::Output> {
    let dir = tempfile::tempdir()?;
    let out = dir.path();
    let mut built = Vec::new();
    for name in case.libs.keys() {
        build_lib(case, out, name, &mut built, 0)?;
    }
    let main_src = case
        .files
        .get("main.c")
        .context("a native case needs main.c")?;
    let mut args = vec![
        "-O1".to_string(),
        "-o".to_string(),
        out.join("main").display().to_string(),
        main_src.display().to_string(),
    ];
    args.extend(link_flags(case, out, &needs(case, "main")?)?);
    args.extend(case.main_flags.iter().cloned());
    args.push("-ldl".to_string());
    gcc(&args, "main")?;
    let mut cmd = Command::new(out.join("main"));
    cmd.current_dir(out).env("LD_LIBRARY_PATH", out);
    for (k, v) in &case.env {
        match k.as_str() {
            // The case's directories first, then the build directory (where `dlopen("libx.so")`
            // of a library at the top of the case finds it).
            "LD_LIBRARY_PATH" => cmd.env(k, format!("{v}:{}", out.display())),
            _ => cmd.env(k, v),
        };
    }
    let run = cmd.output().context("running the native main program")?;
    Ok(crate::Output {
        code: run.status.code().unwrap_or(-1),
        stdout: run.stdout,
        stderr: run.stderr,
    })
}

/// Fails unless the component's run `out` exited 0 and printed `expected`, what the native build
/// of the same program printed; `what` names the program in the message.
pub fn check_same_as_native(what: &str, out: &crate::Output, expected: &str) -> Result<()> {
    if out.code != 0 || out.stdout_str() != expected {
        bail!(
            "{what}: the component differs from the native build (exit {})\n\
             --- native stdout ---\n{expected}--- component stdout ---\n{}\
             --- component stderr ---\n{}",
            out.code,
            out.stdout_str(),
            out.stderr_str()
        );
    }
    Ok(())
}

/// The first line of `gcc --version`: part of the cache key of every native build, so that a new
/// gcc rebuilds the references.
pub fn gcc_version() -> Result<String> {
    let out = Command::new("gcc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .context("gcc (the native reference's compiler) is missing: apt-get install gcc")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// A real program's native reference: `gcc FLAGS SOURCES... -o OUT LINK...`, where SOURCES are
/// the `.c` files of `sources` (headers among them only take part in the cache key), cached like
/// the wasm builds by the sources, both flag lists and gcc's version.
pub fn gcc_cached(
    what: &str,
    sources: &[crate::CSource],
    flags: &[&str],
    link: &[&str],
) -> Result<Vec<u8>> {
    let mut key = vec![gcc_version()?];
    key.extend(flags.iter().map(|f| f.to_string()));
    key.push("--".into());
    key.extend(link.iter().map(|f| f.to_string()));
    crate::build_cached(what, sources, &key, |dir, out| {
        let c_files = sources
            .iter()
            .filter(|s| s.name.ends_with(".c"))
            .map(|s| dir.join(&s.name));
        crate::tools::run_tool(
            Command::new("gcc")
                .args(flags)
                .args(c_files)
                .arg("-o")
                .arg(out)
                .args(link),
        )
        .map(drop)
    })
}

/// Writes `bytes` to `dir/name` as an executable file; returns its path.
pub fn write_exe(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}
