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

/// A `dlopen` handle: the `void *` C programs hold, as the provider hands it out and the shim
/// passes it back. Library `k` of the index is handle [`Handle::LIB_BASE`]` + k`; the values
/// below it and `u32::MAX` are the pseudo-handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Handle(pub u32);

impl Handle {
    /// `RTLD_DEFAULT` (`(void *)0`); also what an `RTLD_NOLOAD` miss returns (`NULL`).
    pub const DEFAULT: Handle = Handle(0);
    /// What `dlopen(NULL)` returns (the global scope), also the handle of a system library
    /// (`crate::system`).
    pub const GLOBAL: Handle = Handle(1);
    /// `RTLD_NEXT` (`(void *)-1`).
    pub const NEXT: Handle = Handle(u32::MAX);
    /// The handle of library 0.
    pub const LIB_BASE: u32 = 2;

    /// The handle of library `lib` (an id of the index; the index has fewer than
    /// `u32::MAX - 2` libraries, so this does not saturate on one).
    pub const fn of_lib(lib: u32) -> Handle {
        Handle(lib.saturating_add(Self::LIB_BASE))
    }

    /// The library this handle names, if it names one.
    pub fn lib(self) -> Option<u32> {
        if self == Self::NEXT {
            return None;
        }
        self.0.checked_sub(Self::LIB_BASE)
    }
}

/// In a search order the provider hands the shim (its `scope` and `scope-next`), the entry
/// that stands for main's own symbols (no library id is this large).
pub const SCOPE_MAIN: u32 = u32::MAX;

/// The `(name, value)` of every `#define` of `include/dlfcn.h` that this module defines.
pub const DLFCN_DEFINES: &[(&str, i64)] = &[
    ("RTLD_LAZY", RTLD_LAZY as i64),
    ("RTLD_NOW", RTLD_NOW as i64),
    ("RTLD_NOLOAD", RTLD_NOLOAD as i64),
    ("RTLD_DEEPBIND", RTLD_DEEPBIND as i64),
    ("RTLD_GLOBAL", RTLD_GLOBAL as i64),
    ("RTLD_LOCAL", RTLD_LOCAL as i64),
    ("RTLD_NODELETE", RTLD_NODELETE as i64),
    ("RTLD_DEFAULT", Handle::DEFAULT.0 as i64),
    ("RTLD_NEXT", -1),
];
