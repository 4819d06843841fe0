//! `dlopen` modes and handle values: what `include/dlfcn.h` gives C programs, the provider
//! interprets and the composer's synthesized modules pass on. `include/dlfcn.h` is the C
//! spelling of the same values (a test of the composer compares the two).

/// `RTLD_LAZY`.
pub const RTLD_LAZY: i32 = 0x1;
/// `RTLD_NOW`.
pub const RTLD_NOW: i32 = 0x2;
/// `RTLD_NOLOAD`.
pub const RTLD_NOLOAD: i32 = 0x4;
/// `RTLD_DEEPBIND`.
pub const RTLD_DEEPBIND: i32 = 0x8;
/// `RTLD_GLOBAL`.
pub const RTLD_GLOBAL: i32 = 0x100;
/// `RTLD_LOCAL`.
pub const RTLD_LOCAL: i32 = 0;
/// `RTLD_NODELETE`.
pub const RTLD_NODELETE: i32 = 0x1000;
/// Every mode bit `dlopen` accepts.
pub const RTLD_KNOWN: i32 =
    RTLD_LAZY | RTLD_NOW | RTLD_NOLOAD | RTLD_DEEPBIND | RTLD_GLOBAL | RTLD_NODELETE;

/// `RTLD_DEFAULT` (`(void *)0`) as a handle.
pub const HANDLE_DEFAULT: u32 = 0;
/// The handle `dlopen(NULL)` returns (the global scope), also the handle of a system library
/// (`crate::system`).
pub const HANDLE_GLOBAL: u32 = 1;
/// `RTLD_NEXT` (`(void *)-1`) as a handle.
pub const HANDLE_NEXT: u32 = u32::MAX;
/// The first handle of a library: library `k` of the index is handle `LIB_HANDLE_BASE + k`.
pub const LIB_HANDLE_BASE: u32 = 2;

/// The `(name, value)` of every `#define` of `include/dlfcn.h` that this module defines.
pub const DLFCN_DEFINES: &[(&str, i64)] = &[
    ("RTLD_LAZY", RTLD_LAZY as i64),
    ("RTLD_NOW", RTLD_NOW as i64),
    ("RTLD_NOLOAD", RTLD_NOLOAD as i64),
    ("RTLD_DEEPBIND", RTLD_DEEPBIND as i64),
    ("RTLD_GLOBAL", RTLD_GLOBAL as i64),
    ("RTLD_LOCAL", RTLD_LOCAL as i64),
    ("RTLD_NODELETE", RTLD_NODELETE as i64),
    ("RTLD_DEFAULT", HANDLE_DEFAULT as i64),
    ("RTLD_NEXT", -1),
];
