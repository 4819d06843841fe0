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
        assert!(
            !msg.contains(bug),
            "an error that is a bug of wasm-dl ({bug}): {msg}"
        );
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
        let _ = std::fs::write(
            dir.join("options"),
            format!(
                "external={} strict={} stub_missing={} map={} gc={} aliases={:?} libs={:?}\n",
                c.external,
                c.strict,
                c.stub_missing,
                c.map,
                c.gc,
                c.aliases,
                c.libs.iter().map(|l| &l.0).collect::<Vec<_>>()
            ),
        );
    }
    if !*ON.get_or_init(|| std::env::var_os("WASM_DL_FUZZ_TRACE").is_some_and(|v| v != "0")) {
        return;
    }
    match r {
        Ok(out) => eprintln!(
            "trace: ok ({} libs, {} bytes)",
            c.libs.len(),
            out.component.len()
        ),
        Err(e) => {
            let msg = format!("{e:#}");
            let short: String = msg.chars().take(110).collect();
            eprintln!("trace: error: {short}");
        }
    }
}

thread_local! {
    static KNOWN_HIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The open findings of this target: the signatures of `known-open.txt` (lines
/// `TARGET<TAB>SIGNATURE<TAB>what`) in the file `$WASM_DL_FUZZ_KNOWN`, for the target named like
/// this executable.
fn known_signatures() -> &'static [String] {
    use std::sync::OnceLock;
    static SIGS: OnceLock<Vec<String>> = OnceLock::new();
    SIGS.get_or_init(|| {
        let Some(path) = std::env::var_os("WASM_DL_FUZZ_KNOWN") else {
            return Vec::new();
        };
        let target = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (t, sig) = (f.next()?, f.next()?);
                (t == target && !sig.is_empty()).then(|| sig.to_string())
            })
            .collect()
    })
}

/// Runs one execution. A panic whose location or message contains the signature of an open
/// finding (see [`known_signatures`]) ends the execution quietly, so that a long run is not
/// stopped by what is already reported; any other panic goes to libFuzzer (a crash).
pub fn run_guarded(f: impl FnOnce()) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    if known_signatures().is_empty() {
        return f();
    }
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            let loc = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let text = format!("{loc}: {msg}");
            if known_signatures().iter().any(|s| text.contains(s.as_str())) {
                KNOWN_HIT.with(|k| k.set(true));
                return;
            }
            prev(info)
        }));
    });
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        if KNOWN_HIT.with(|k| k.replace(false)) {
            return;
        }
        std::panic::resume_unwind(p);
    }
}
