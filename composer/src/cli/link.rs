//! `wasm-dl link`: the command line of `wasm-tools component link` 1.262, answered by
//! [`wasm_dl::Linker`], so that a script switches by changing the binary's name. Every flag that
//! version lists is accepted; one with no effect here says so in a one-line note on stderr.

use anyhow::{bail, Context, Result};
use clap::{ArgAction, Args};
use std::path::{Path, PathBuf};
use wasm_dl::output::{write_all, Output};

/// The flags of `wasm-tools component link` (1.262), with the peer's own help texts where the
/// meaning is the same.
#[derive(Args)]
pub struct LinkArgs {
    /// Input libraries to link: the program's main module (the one exporting `_start`, or an
    /// ordinary non-PIC module), `libc.so` and the libraries it is linked against. NAME (default:
    /// the file's name) is what NEEDED entries and `dlopen` find it by.
    #[arg(value_name = "[NAME=]MODULE")]
    inputs: Vec<String>,
    /// Input library to link and make available for dynamic resolution via `dlopen` (may be
    /// repeated): `dlopen(NAME)` finds it; it is placed at its first `dlopen`.
    #[arg(long, value_name = "[NAME=]MODULE")]
    dl_openable: Vec<String>,
    /// Size of stack (in bytes) to allocate in the synthesized main module.
    #[arg(long)]
    stack_size: Option<u32>,
    /// Where to place output; stdout when absent (refused for binary output to a terminal).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Accepted for compatibility: wasm-dl always prints its warnings.
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,
    /// Accepted for compatibility: wasm-dl prints no colours.
    #[arg(long, value_name = "COLOR")]
    color: Option<String>,
    /// Print the output in the WebAssembly text format instead of binary.
    #[arg(short = 't', long)]
    wat: bool,
    /// Generate trapping stubs for any missing functions.
    #[arg(long)]
    stub_missing_functions: bool,
    /// (wasm-dl only) Remove what no program can reach, keeping every export of the
    /// `--dl-openable` libraries and every export a module binds (`wasm-dl compose --gc`).
    #[arg(long)]
    gc: bool,
    /// Accepted for compatibility: wasm-dl always provides `dlopen`/`dlsym` itself (and leaves
    /// out a wit-component `libdl.so` given as a library).
    #[arg(long)]
    use_built_in_libdl: bool,
    /// The path to an adapter module to satisfy imports not otherwise bound to WIT interfaces
    /// (NAME defaults to the file name up to its first `.`): `wasi_snapshot_preview1` replaces
    /// wasm-dl's own WASI adapter.
    #[arg(long, value_name = "[NAME=]MODULE")]
    adapt: Vec<String>,
    /// Whether or not to validate the output component (wasm-dl always validates).
    #[arg(long, value_name = "true|false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    validate: Option<bool>,
    /// Accepted for compatibility; no effect here (wasm-dl's adapters are used as given).
    #[arg(long)]
    realloc_via_memory_grow: bool,
    /// Accepted for compatibility; imports are merged by semver ranges as wit-component does.
    #[arg(long, value_name = "true|false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    merge_imports_based_on_semver: Option<bool>,
    /// Accepted for compatibility; no effect here.
    #[arg(long)]
    emit_canonical_names: bool,
    /// Accepted for compatibility; no effect here.
    #[arg(long)]
    reject_legacy_names: bool,
    /// Accepted for compatibility; no effect here.
    #[arg(long, value_name = "true|false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    debug_names: Option<bool>,
    /// Accepted for compatibility; wasm-dl's shims use `call_indirect`.
    #[arg(long, value_name = "true|false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    return_call_ref: Option<bool>,
}

/// `[NAME=]MODULE`: NAME, else `default_name` of the path; and the path.
fn name_and_path(
    arg: &str,
    default_name: fn(&Path) -> Option<String>,
) -> Result<(String, PathBuf)> {
    if let Some((name, path)) = arg.split_once('=') {
        if name.is_empty() || path.is_empty() {
            bail!("`{arg}`: expected [NAME=]MODULE");
        }
        return Ok((name.to_string(), PathBuf::from(path)));
    }
    let path = PathBuf::from(arg);
    let name = default_name(&path).with_context(|| format!("`{arg}`: not a file name"))?;
    Ok((name, path))
}

fn file_name(path: &Path) -> Option<String> {
    Some(path.file_name()?.to_string_lossy().into_owned())
}

/// An adapter's import module name from its file: `wasi_snapshot_preview1.reactor.wasm` adapts
/// `wasi_snapshot_preview1`, as with the peer.
fn adapter_name(path: &Path) -> Option<String> {
    let name = file_name(path)?;
    Some(name.split('.').next().unwrap_or(&name).to_string())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

impl LinkArgs {
    /// The notes for flags that change nothing here.
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut no_effect = |flag: &str, why: &str| notes.push(format!("{flag}: {why}"));
        if self.verbose > 0 {
            no_effect(
                "-v",
                "wasm-dl prints its warnings and notes always; nothing more",
            );
        }
        if self.color.is_some() {
            no_effect("--color", "wasm-dl prints no colours");
        }
        if self.use_built_in_libdl {
            no_effect(
                "--use-built-in-libdl",
                "wasm-dl always provides dlopen/dlsym itself",
            );
        }
        if self.realloc_via_memory_grow {
            no_effect(
                "--realloc-via-memory-grow",
                "not supported; adapters import cabi_realloc from the main module",
            );
        }
        if self.merge_imports_based_on_semver == Some(false) {
            no_effect(
                "--merge-imports-based-on-semver=false",
                "not supported; imports are merged by semver ranges",
            );
        }
        if self.emit_canonical_names {
            no_effect(
                "--emit-canonical-names",
                "not supported; names stay as the WIT gives them",
            );
        }
        if self.reject_legacy_names {
            no_effect(
                "--reject-legacy-names",
                "not supported; legacy names are accepted",
            );
        }
        if let Some(v) = self.debug_names {
            no_effect(&format!("--debug-names={v}"), "not supported; no effect");
        }
        if self.return_call_ref == Some(true) {
            no_effect(
                "--return-call-ref",
                "not supported; wasm-dl's shims use call_indirect",
            );
        }
        notes
    }

    /// Links and writes the component (or its text).
    pub fn run(self) -> Result<()> {
        let mut linker = wasm_dl::Linker::default();
        for (list, dl_openable) in [(&self.inputs, false), (&self.dl_openable, true)] {
            for arg in list {
                let (name, path) = name_and_path(arg, file_name)?;
                linker.library(&name, &read(&path)?, dl_openable)?;
            }
        }
        for arg in &self.adapt {
            let (name, path) = name_and_path(arg, adapter_name)?;
            linker.adapter(&name, &read(&path)?)?;
        }
        if let Some(size) = self.stack_size {
            linker.stack_size(size);
        }
        if let Some(v) = self.validate {
            linker.validate(v);
        }
        linker
            .stub_missing_functions(self.stub_missing_functions)
            .gc(self.gc)
            .use_built_in_libdl(self.use_built_in_libdl);
        // Refused before the work, as the peer does.
        let to_terminal = self.output.is_none() && !self.wat && {
            use std::io::IsTerminal as _;
            std::io::stdout().is_terminal()
        };
        if to_terminal {
            bail!("cannot print a binary component to a terminal; give `-o FILE` or `-t`");
        }
        let mut notes = self.notes();
        let linked = linker.encode_report()?;
        notes.extend(linked.notes);
        for n in &notes {
            eprintln!("wasm-dl: note: {n}");
        }
        for w in &linked.warnings {
            eprintln!("wasm-dl: warning: {w}");
        }
        let bytes = if self.wat {
            let mut text = wasmprinter::print_bytes(&linked.component)
                .context("printing the component as text")?;
            text.push('\n');
            text.into_bytes()
        } else {
            linked.component
        };
        match &self.output {
            Some(path) => write_all(&[Output::new(path, &bytes, "component")]),
            None => {
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)
                    .and_then(|()| out.flush())
                    .context("writing the component to stdout")
            }
        }
    }
}
