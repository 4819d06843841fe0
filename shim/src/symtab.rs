//! The symbol tables, laid out at compose time in main's memory (the format, and why they are
//! the only copy of their libraries' names: [`wasm_dl_abi::symtab`]): `dlsym`'s first stop for
//! a library handle is its library's own table (a hit is always the answer), then its search
//! order (`scope`); `dladdr` finds the names of those libraries here too. The shim keeps each library's run-time record there: its bases
//! (from every placement) and how many `dlopen`s of its handle are not `dlclose`d yet, so that
//! only a handle that is open finds anything (any other goes to the provider, which says why it
//! is invalid). The count never exceeds the provider's reference count: a library main was
//! linked against has one more there, which a `dlclose` the shim counts from 0 saturates.

use crate::sys::{load, state, store};
use wasm_dl_abi::dl::Handle;
use wasm_dl_abi::index::{KIND_DATA, KIND_FUNC};
use wasm_dl_abi::symtab::{self, Memory, LAZY, MEMORY_BASE, OPEN, RECORD, TABLE, TABLE_BASE};

/// Main's memory, read through raw pointers.
struct Main;

impl Memory for Main {
    #[inline(always)]
    fn u32(&self, addr: u32) -> u32 {
        // SAFETY: the region's addresses (the composer's) and the query name lie in main's
        // memory; reads past its end trap, as any bad pointer of C code would.
        unsafe { load(addr as usize as *const u8, 0) }
    }
    #[inline(always)]
    fn u8(&self, addr: u32) -> u8 {
        // SAFETY: as above.
        unsafe { *(addr as usize as *const u8) }
    }
}

/// The number of libraries of the region, or 0 when the composition has no tables.
#[inline(always)]
pub fn count() -> u32 {
    let region = state::symtab::get();
    if region == 0 {
        0
    } else {
        Main.u32(region)
    }
}

/// The record of the library of `handle`, or null when the composition has no tables or
/// `handle` is no library's (a plain pointer: an `Option` result would go through the shadow
/// stack where not inlined).
#[inline(always)]
pub fn record(handle: u32) -> *mut u8 {
    let region = state::symtab::get();
    let lib = handle.wrapping_sub(Handle::LIB_BASE);
    if region == 0 || handle < Handle::LIB_BASE || lib >= Main.u32(region) {
        return core::ptr::null_mut();
    }
    region
        .wrapping_add(4)
        .wrapping_add(lib.wrapping_mul(RECORD)) as usize as *mut u8
}

/// Whether the library of record `r` has a table (else the provider holds its symbols).
///
/// # Safety
/// `r` is a record of the region.
#[inline(always)]
pub unsafe fn has_table(r: *mut u8) -> bool {
    load(r, TABLE as usize) != 0
}

/// The entry's word 1 of `name` (`h` its FNV-1a hash) in the table of record `r`.
///
/// # Safety
/// `r` is a record of the region; `name` a NUL-terminated string in main's memory.
#[inline(always)]
pub unsafe fn find_in(r: *mut u8, h: u32, name: *const u8) -> Option<u32> {
    symtab::find(&Main, r as u32, h, name as u32)
}

/// What `dlsym` returns for the entry's word 1 `word` of record `r`'s table: a function's
/// slot (filled first when the library is marked lazy: `dl::filled`) or a data address.
///
/// # Safety
/// `r` is a record of the region.
#[inline(always)]
pub unsafe fn value(r: *mut u8, word: u32) -> u32 {
    if word & 1 == 0 {
        let slot = load(r, TABLE_BASE as usize).wrapping_add(word >> 1);
        if load(r, LAZY as usize) != 0 {
            crate::dl::filled(slot)
        } else {
            slot
        }
    } else {
        load(r, MEMORY_BASE as usize).wrapping_add(word >> 1)
    }
}

/// For `dladdr`, when the provider named library `lib` but no symbol (its table holds them):
/// the symbol of `address` in it (`function`: one of its function slots, exactly; else data,
/// the nearest at or below), written to `info`'s `dli_sname` and `dli_saddr` (a name of the
/// region, which lives as long as main's memory). Nothing when it has no table or no such
/// symbol.
///
/// # Safety
/// `info` points to a writable `Dl_info` in main's memory.
pub unsafe fn addr(lib: u32, function: bool, address: u32, info: *mut u8) {
    let r = record(lib.wrapping_add(Handle::LIB_BASE));
    if r.is_null() || !has_table(r) {
        return;
    }
    let (kind, base) = match function {
        true => (KIND_FUNC, load(r, TABLE_BASE as usize)),
        false => (KIND_DATA, load(r, MEMORY_BASE as usize)),
    };
    if let Some((name, value)) = symtab::nearest(&Main, r as u32, kind, address.wrapping_sub(base))
    {
        store(info, 8, name);
        store(info, 12, base.wrapping_add(value));
    }
}

/// Library `lib` was placed at these bases.
pub fn placed(lib: u32, memory_base: u32, table_base: u32) {
    let r = record(lib.wrapping_add(Handle::LIB_BASE));
    if !r.is_null() {
        // SAFETY: a record of the region, in main's memory.
        unsafe {
            store(r, MEMORY_BASE as usize, memory_base);
            store(r, TABLE_BASE as usize, table_base);
        }
    }
}

/// A `dlopen` returned `handle` (0 or a pseudo-handle: nothing to count).
pub fn opened(handle: u32) {
    let r = record(handle);
    if !r.is_null() {
        // SAFETY: a record of the region.
        unsafe { store(r, OPEN as usize, load(r, OPEN as usize).wrapping_add(1)) }
    }
}

/// A `dlclose(handle)` succeeded.
pub fn closed(handle: u32) {
    let r = record(handle);
    if !r.is_null() {
        // SAFETY: a record of the region.
        unsafe { store(r, OPEN as usize, load(r, OPEN as usize).saturating_sub(1)) }
    }
}

/// `dlsym(handle, name)` when the handle's library is open and defines `name` itself (`h` the
/// name's FNV-1a hash), else 0: also when the answer would be 0, which then comes from the
/// provider. A function of a library marked lazy has its slot filled first (`dl::filled`).
///
/// # Safety
/// `name` is a NUL-terminated string in main's memory.
#[inline(always)]
pub unsafe fn find(handle: u32, h: u32, name: *const u8) -> u32 {
    let r = record(handle);
    if r.is_null() || load(r, OPEN as usize) == 0 {
        return 0;
    }
    match find_in(r, h, name) {
        Some(word) => value(r, word),
        None => 0,
    }
}
