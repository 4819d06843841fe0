//! Test support for wasm-dl: build C fixtures with clang-19 (cached by content hash), compose them,
//! and run the result in wasmtime with WASI p2.
//!
//! Needs the toolchain that `scripts/setup.sh` installs (clang-19, wasm-ld-19, a wasi sysroot).

pub mod cli;
pub mod componentize_py;
pub mod jco;
pub mod native;
pub mod peer;
pub mod run;
pub mod snapshot;
pub mod toolchain;
pub mod tools;

pub use run::{run, run_in, run_with_preopens, Output};
pub use toolchain::{
    build_cached, build_lib, build_libc_so, build_main, build_main_with_flags, build_pic_main,
    build_plain_module, link_against, main_flags, CSource,
};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> &'static Path {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the ancestor of the running executable that
/// holds cargo's `CACHEDIR.TAG`, else `<workspace>/target`.
pub fn target_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
            let dir = PathBuf::from(dir);
            return if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            };
        }
        if let Ok(exe) = std::env::current_exe() {
            if let Some(dir) = exe
                .ancestors()
                .skip(1)
                .find(|d| d.join("CACHEDIR.TAG").is_file())
            {
                return dir.to_path_buf();
            }
        }
        workspace_root().join("target")
    })
}
