//! A tool built on `wit_component::Linker` (as `wasm-tools component link` and componentize-py
//! are), switched to wasm-dl by one line: `use wasm_dl::Linker` instead of
//! `use wit_component::Linker`. The rest is the peer's API.
//!
//!   cargo run -p wasm-dl --example linker-api -- OUT.wasm main.so libc.so +libplugin.so=build/p.so
//!
//! Each argument after OUT is `[NAME=]MODULE` (NAME defaults to the file name); a leading `+`
//! makes the library `dl_openable`. `tests/tests/linker_api.rs` runs it next to the same code on
//! `wit_component::Linker`.

use anyhow::{Context, Result};
use wasm_dl::Linker; // was: use wit_component::Linker;

/// Links `libs` — `(name, module, dl_openable)` — into a component.
pub fn link(libs: &[(String, Vec<u8>, bool)]) -> Result<Vec<u8>> {
    let mut linker = Linker::default();
    for (name, module, dl_openable) in libs {
        linker.library(name, module, *dl_openable)?;
    }
    linker
        .validate(true)
        .use_built_in_libdl(true)
        .stub_missing_functions(false);
    linker.encode()
}

/// `[+][NAME=]MODULE` as `(name, module, dl_openable)`.
pub fn parse_arg(arg: &str) -> Result<(String, Vec<u8>, bool)> {
    let (dl_openable, arg) = match arg.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    let (name, path) = match arg.split_once('=') {
        Some((name, path)) => (name.to_string(), path),
        None => {
            let name = std::path::Path::new(arg)
                .file_name()
                .with_context(|| format!("`{arg}`: not a file name"))?;
            (name.to_string_lossy().into_owned(), arg)
        }
    };
    let module = std::fs::read(path).with_context(|| format!("{path}: cannot read"))?;
    Ok((name, module, dl_openable))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .context("usage: linker-api OUT.wasm [+][NAME=]MODULE...")?;
    let libs = args.map(|a| parse_arg(&a)).collect::<Result<Vec<_>>>()?;
    let component = link(&libs)?;
    std::fs::write(&out, component).with_context(|| format!("{out}: cannot write"))
}
