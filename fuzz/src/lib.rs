//! Helpers shared by the fuzz targets: input checks, module rewriting, a `dylink.0` encoder and
//! the structured generator of compositions.

pub mod dylink;
pub mod gen;
pub mod rewrite;

/// Every error must name the input it is about (issue 13: "errors name the input"). Set
/// `WASM_DL_FUZZ_NO_NAME_CHECK=1` to fuzz for panics only.
pub fn check_error_names(e: &anyhow::Error, name: &str) {
    if name_check_disabled() {
        return;
    }
    let msg = format!("{e:#}");
    assert!(
        msg.contains(name),
        "an error that does not name its input `{name}`: {msg}"
    );
}

fn name_check_disabled() -> bool {
    use std::sync::OnceLock;
    static OFF: OnceLock<bool> = OnceLock::new();
    *OFF.get_or_init(|| std::env::var_os("WASM_DL_FUZZ_NO_NAME_CHECK").is_some_and(|v| v != "0"))
}

/// The outputs must validate (core wasm and the component model, the features wasmtime enables
/// by default).
pub fn check_valid_component(bytes: &[u8]) {
    let mut v = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default());
    if let Err(e) = v.validate_all(bytes) {
        panic!("the composer returned an invalid component: {e}");
    }
}

/// Like [`check_error_names`], for a composition: the error must name one of its inputs, and
/// not be an internal error.
pub fn check_error_names_any(e: &anyhow::Error, names: &[&str]) {
    if name_check_disabled() {
        return;
    }
    let msg = format!("{e:#}");
    assert!(
        names.iter().any(|n| msg.contains(n)),
        "an error that names no input (of {names:?}): {msg}"
    );
    // "internal error" is reserved for bugs in wasm-dl (issue 13), and a module the composer
    // made that does not validate is one too.
    for bug in ["internal error", "does not validate"] {
        assert!(!msg.contains(bug), "an error that is a bug of wasm-dl ({bug}): {msg}");
    }
}

#[cfg(feature = "instantiate")]
pub mod instantiate;

/// With `WASM_DL_FUZZ_DUMP=DIR`, writes the composition's inputs to DIR. With
/// `WASM_DL_FUZZ_TRACE=1`, prints each composition's outcome (to see what a corpus reaches:
/// `WASM_DL_FUZZ_TRACE=1 cargo fuzz run compose CORPUS -- -runs=0 2>&1 | grep ^trace | sort | uniq -c`).
pub fn trace(c: &gen::Composition, r: &anyhow::Result<wasm_dl::Composed>) {
    use std::sync::OnceLock;
    static ON: OnceLock<bool> = OnceLock::new();
    if let Some(dir) = std::env::var_os("WASM_DL_FUZZ_DUMP") {
        // The inputs of the composition, as files (to reproduce it with the CLI).
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("main.wasm"), &c.main.1);
        for (n, b) in &c.libs {
            let _ = std::fs::write(dir.join(n.replace('/', "_")), b);
        }
        let _ = std::fs::write(dir.join("options"), format!("external={} strict={} stub_missing={} map={} aliases={:?} libs={:?}\n", c.external, c.strict, c.stub_missing, c.map, c.aliases, c.libs.iter().map(|l| &l.0).collect::<Vec<_>>()));
    }
    if !*ON.get_or_init(|| std::env::var_os("WASM_DL_FUZZ_TRACE").is_some_and(|v| v != "0")) {
        return;
    }
    match r {
        Ok(out) => eprintln!("trace: ok ({} libs, {} bytes)", c.libs.len(), out.component.len()),
        Err(e) => {
            let msg = format!("{e:#}");
            let short: String = msg.chars().take(110).collect();
            eprintln!("trace: error: {short}");
        }
    }
}
