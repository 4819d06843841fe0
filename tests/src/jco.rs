//! Stage 3 of the seed: composed components "should just work in any valid component model
//! implementation". jco (`@bytecodealliance/jco`, installed by `scripts/setup.sh` when npm
//! exists) runs them on the machine's Node.js, with no experimental flags.

use crate::run::Output;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Runs a command component with `jco run` (no arguments besides the program name).
pub fn run_jco(jco: &std::path::Path, component: &[u8]) -> Result<Output> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, component)?;
    let out = Command::new(jco)
        .arg("run")
        .arg(&path)
        .output()
        .with_context(|| format!("running {}", jco.display()))?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// What a `jco run` gets besides the component: arguments after the program name, environment
/// variables, and host directories preopened at guest paths. The default is what [`run_jco`] does
/// (nothing: jco's own defaults, the host's environment and its `/`).
#[derive(Clone, Debug, Default)]
pub struct JcoRun<'a> {
    /// Arguments after the program name.
    pub args: &'a [&'a str],
    /// Environment variables. When `env` or `preopens` is given, the component sees only these
    /// (and only the preopens below), as under wasmtime.
    pub env: &'a [(&'a str, &'a str)],
    /// `(host directory, guest path)`.
    pub preopens: &'a [(&'a std::path::Path, &'a str)],
}

/// [`run_jco`] with arguments, environment and preopens. jco 1.35's command line has no flags for
/// the environment or preopens, so they are set by a module given to `--jco-import`, which calls
/// preview2-shim's `_setEnv`/`_setPreopens`/`_addPreopen` (the same module instances as the
/// component's bindings: node resolves jco's symlinked `node_modules` to these real paths), as
/// jco's own (API-only) sandbox setup does; the guest then has no initial working directory.
pub fn run_jco_with(jco: &std::path::Path, component: &[u8], run: &JcoRun) -> Result<Output> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, component)?;
    let mut cmd = Command::new(jco);
    cmd.arg("run");
    if !run.env.is_empty() || !run.preopens.is_empty() {
        let shim = preview2_shim(jco)?;
        let url = |file: &str| format!("file://{}", shim.join("dist/nodejs").join(file).display());
        let env: Vec<String> = run
            .env
            .iter()
            .map(|(k, v)| format!("{}: {}", js_string(k), js_string(v)))
            .collect();
        let preopens: Vec<String> = run
            .preopens
            .iter()
            .map(|(host, guest)| {
                format!(
                    "_addPreopen({}, {});",
                    js_string(guest),
                    js_string(&host.display().to_string())
                )
            })
            .collect();
        let setup = format!(
            "import {{ _setEnv, _setCwd }} from {};\n\
             import {{ _setPreopens, _addPreopen }} from {};\n\
             _setEnv({{ {} }});\n_setCwd(undefined);\n_setPreopens({{}});\n{}\n",
            js_string(&url("cli.js")),
            js_string(&url("filesystem.js")),
            env.join(", "),
            preopens.join("\n")
        );
        let setup_path = dir.path().join("setup.mjs");
        std::fs::write(&setup_path, setup)?;
        cmd.arg("--jco-import").arg(&setup_path);
    }
    let out = cmd
        .arg(&path)
        .args(run.args)
        .output()
        .with_context(|| format!("running {}", jco.display()))?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// preview2-shim's package directory next to jco's (`<prefix>/node_modules/@bytecodealliance/`).
fn preview2_shim(jco: &std::path::Path) -> Result<PathBuf> {
    let modules = jco
        .parent()
        .and_then(|bin| bin.parent())
        .context("jco is not in node_modules/.bin")?;
    let shim = modules.join("@bytecodealliance/preview2-shim");
    anyhow::ensure!(
        shim.join("dist/nodejs/filesystem.js").is_file(),
        "{} has no dist/nodejs/filesystem.js (another preview2-shim version?)",
        shim.display()
    );
    Ok(shim)
}

/// A JavaScript string literal.
fn js_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
