//! System libraries: names a Linux program finds without a file of its own in the set.
//!
//! glibc (2.34 and later) keeps the functions of `libdl`, `libpthread`, `librt` and `libutil` in
//! `libc.so.6` and leaves those names as empty placeholders; wasi-libc links `libm` into libc too,
//! and `libc` itself is the main module (a non-PIC main) or a `libc.so` in the set. wasi-sdk's
//! libraries still record such names in `dylink.0` NEEDED (CPython's `libpython3.14.so` needs
//! `libdl.so`), and programs `dlopen` them (`dlopen("libm.so.6")`). wasm-dl satisfies them itself:
//! a NEEDED entry naming one adds no dependency, its functions bind to whoever defines them (the
//! dl functions to wasm-dl's own), and `dlopen` of one returns the global scope's handle.
//!
//! A library given by that name always wins: these rules apply only when no file matches.

/// The stems (`lib<stem>.so`) of the system libraries wasm-dl provides.
pub const SYSTEM_LIBRARIES: &[&str] = &["c", "dl", "m", "pthread", "rt", "util"];

/// Whether `name` (a NEEDED entry or a `dlopen` path) names a system library: its basename is
/// `lib<stem>.so` or a versioned `lib<stem>.so.N[.M...]` for a stem of [`SYSTEM_LIBRARIES`].
pub fn is_system_library(name: &[u8]) -> bool {
    let base = match name.iter().rposition(|&b| b == b'/') {
        Some(slash) => &name[slash + 1..],
        None => name,
    };
    let Some(rest) = base.strip_prefix(b"lib") else {
        return false;
    };
    SYSTEM_LIBRARIES.iter().any(|stem| {
        let Some(after) = rest.strip_prefix(stem.as_bytes()) else {
            return false;
        };
        let Some(version) = after.strip_prefix(b".so") else {
            return false;
        };
        // "", or ".N" components of decimal digits.
        version.is_empty()
            || version.strip_prefix(b".").is_some_and(|v| {
                v.split(|&b| b == b'.')
                    .all(|part| !part.is_empty() && part.iter().all(u8::is_ascii_digit))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::is_system_library;

    #[test]
    fn names_glibc_and_wasi_sdk_use() {
        for name in [
            "libdl.so",
            "libdl.so.2",
            "libm.so.6",
            "libpthread.so.0",
            "librt.so.1",
            "libutil.so.1",
            "libc.so",
            "libc.so.6",
            "/lib/x86_64-linux-gnu/libdl.so.2",
        ] {
            assert!(is_system_library(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn other_names_are_not() {
        for name in [
            "libdl.a",
            "libdl.so.",
            "libdl.so.2.",
            "libdl.so.x",
            "libdlx.so",
            "libmagic.so",
            "libc++.so",
            "libpython3.14.so",
            "dl.so",
            "libm.so/x",
            "",
            "libm.so.1..2",
        ] {
            assert!(!is_system_library(name.as_bytes()), "{name}");
        }
    }
}
