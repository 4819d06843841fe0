//! Building a case's inputs: main and its libraries from the case's files, in compose order.

use super::Via;
use anyhow::{ensure, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasm_dl_tests::case_files::{so_name, words, CaseFiles};
use wasm_dl_tests::{
    build_lib, build_main, build_main_with_flags, build_plain_module, main_flags, CSource,
};

/// A file name and its bytes.
pub(crate) type Named = (String, Vec<u8>);

/// Builds (or takes) main and the libraries, in compose order.
pub(crate) fn inputs(files: &CaseFiles, via: Via) -> Result<(Named, Vec<Named>)> {
    let mut lib_flags = words(&files.text("lib-flags")?);
    if let Via::Peer = via {
        lib_flags.push(wasm_dl_tests::peer::PLAIN_DL_IMPORTS.to_string());
    }
    let plain = lib_flags.iter().any(|f| f == "plain");
    let lib_flags: Vec<&str> = lib_flags
        .iter()
        .filter(|f| *f != "plain")
        .map(String::as_str)
        .collect();

    let mut libs = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for (name, path) in &files.files {
        if let Some(stem) = name.strip_suffix(".c") {
            if stem != "main" {
                sources.insert(so_name(stem), (stem.to_string(), path.clone()));
            }
        } else if name.ends_with(".so") {
            libs.insert(name.clone(), std::fs::read(path)?);
        } else if let Some(so) = name.strip_suffix(".wat").filter(|s| *s != "main") {
            // Hand-written modules (malformed inputs that no compiler emits); `main.wat` is the
            // main module, not a library.
            let bytes = wat::parse_file(path).with_context(|| format!("{}", path.display()))?;
            libs.insert(so.to_string(), bytes);
        }
    }
    let builder = LibBuild {
        files,
        sources: &sources,
        plain,
        flags: &lib_flags,
    };
    for name in sources.keys() {
        builder.build(name, &mut libs, 0)?;
    }
    // An all-PIC case: the wasi-sdk style `libc.so` is one more library.
    let pic = words(&files.text("main-flags")?).iter().any(|f| f == "pic");
    if pic {
        libs.insert("libc.so".to_string(), wasm_dl_tests::build_libc_so()?);
    }
    let order = match files.text("compose-args")? {
        Some(s) => s.split_whitespace().map(str::to_string).collect(),
        None => libs.keys().cloned().collect::<Vec<_>>(),
    };
    let mut ordered = Vec::new();
    for name in order {
        let bytes = libs
            .get(&name)
            .with_context(|| format!("compose-args names {name}, which the case lacks"))?;
        ordered.push((name, bytes.clone()));
    }

    let main = if let Some(path) = files.files.get("main.wasm") {
        std::fs::read(path)?
    } else if let Some(path) = files.files.get("main.wat") {
        wat::parse_file(path).with_context(|| format!("{}", path.display()))?
    } else {
        let src = [CSource::file(
            files
                .files
                .get("main.c")
                .context("case has neither main.c nor main.wasm")?,
        )?];
        let mut flags = words(&files.text("main-flags")?);
        for dep in words(&files.text("main.needs")?) {
            flags.push(builder.link_needed(&dep, &mut libs, 0)?);
        }
        if pic {
            let rest: Vec<&str> = flags
                .iter()
                .filter(|f| *f != "pic")
                .map(String::as_str)
                .collect();
            let mut rest = rest;
            if let Via::Peer = via {
                rest.push(wasm_dl_tests::peer::PLAIN_DL_IMPORTS);
            }
            wasm_dl_tests::build_pic_main(&src, &rest)?
        } else if flags.iter().any(|f| f == "none") {
            let rest: Vec<String> = flags.iter().filter(|f| *f != "none").cloned().collect();
            build_main_with_flags(&src, &rest)?
        } else {
            // A library that `main_flags` itself rejects (an error case's bad input) is left out of
            // main's flags, so that the error comes from compose.
            let libs: Vec<(&str, &[u8])> = ordered
                .iter()
                .filter(|(n, b)| {
                    main_flags(&[wasm_dl::Input {
                        name: n.clone(),
                        bytes: b.clone(),
                    }])
                    .is_ok()
                })
                .map(|(n, b)| (n.as_str(), b.as_slice()))
                .collect();
            let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
            build_main(&src, &libs, &extra)?
        }
    };
    Ok((("main.wasm".to_string(), main), ordered))
}

/// How a case's libraries are built.
struct LibBuild<'a> {
    files: &'a CaseFiles,
    /// Library name to (stem, C source).
    sources: &'a BTreeMap<String, (String, PathBuf)>,
    /// Plain (non-shared) modules instead of shared libraries.
    plain: bool,
    /// Extra clang flags.
    flags: &'a [&'a str],
}

impl LibBuild<'_> {
    /// The link flag that makes `dep` a NEEDED entry: the case's library (built first), or, for
    /// a system library the case lacks, an empty placeholder that is not composed.
    fn link_needed(
        &self,
        dep: &str,
        libs: &mut BTreeMap<String, Vec<u8>>,
        depth: usize,
    ) -> Result<String> {
        let system = wasm_dl_abi::system::is_system_library(dep.as_bytes());
        if system && !self.sources.contains_key(dep) && !libs.contains_key(dep) {
            let empty = build_lib(&[CSource::inline("placeholder.c", "")], &[])?;
            return wasm_dl_tests::link_against(dep, &empty);
        }
        self.build(dep, libs, depth + 1)?;
        wasm_dl_tests::link_against(dep, &libs[dep])
    }

    /// Builds library `name` (after the libraries its `<stem>.needs` file lists, which it is
    /// linked against so that they become its `dylink.0` NEEDED entries).
    fn build(&self, name: &str, libs: &mut BTreeMap<String, Vec<u8>>, depth: usize) -> Result<()> {
        ensure!(depth < 64, "`.needs` files form a cycle at {name}");
        if libs.contains_key(name) {
            return Ok(());
        }
        let (stem, path) = self
            .sources
            .get(name)
            .with_context(|| format!("a `.needs` file names {name}, which the case lacks"))?;
        let mut flags: Vec<String> = self.flags.iter().map(|s| s.to_string()).collect();
        flags.extend(words(&self.files.text(&format!("{stem}.ldflags"))?));
        for dep in words(&self.files.text(&format!("{stem}.needs"))?) {
            flags.push(self.link_needed(&dep, libs, depth)?);
        }
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let src = [CSource::file(path)?];
        let bytes = if self.plain {
            build_plain_module(&src, &flags)?
        } else {
            build_lib(&src, &flags)?
        };
        libs.insert(name.to_string(), bytes);
        Ok(())
    }
}
