//! `dlsym`'s first stop for a library handle: the library's own symbol table, laid out at
//! compose time in main's memory (the format and why a hit is always the answer:
//! [`wasm_dl_abi::symtab`]). The shim keeps each library's run-time record there: its bases
//! (from every placement) and how many `dlopen`s of its handle are not `dlclose`d yet, so that
//! only a handle that is open finds anything (any other goes to the provider, which says why it
//! is invalid). The count never exceeds the provider's reference count: a library main was
//! linked against has one more there, which a `dlclose` the shim counts from 0 saturates.

use crate::sys::{load, state, store};
use wasm_dl_abi::dl::Handle;
use wasm_dl_abi::symtab::{self, Memory, LAZY, MEMORY_BASE, OPEN, RECORD, TABLE_BASE};

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

/// The record of the library of `handle`, or null when the composition has no tables or
/// `handle` is no library's (a plain pointer: an `Option` result would go through the shadow
/// stack where not inlined).
#[inline(always)]
fn record(handle: u32) -> *mut u8 {
    let region = state::symtab::get();
    let lib = handle.wrapping_sub(Handle::LIB_BASE);
    if region == 0 || handle < Handle::LIB_BASE || lib >= Main.u32(region) {
        return core::ptr::null_mut();
    }
    region
        .wrapping_add(4)
        .wrapping_add(lib.wrapping_mul(RECORD)) as usize as *mut u8
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
    match symtab::find(&Main, r as u32, h, name as u32) {
        Some(word) if word & 1 == 0 => {
            let slot = load(r, TABLE_BASE as usize).wrapping_add(word >> 1);
            if load(r, LAZY as usize) != 0 {
                crate::dl::filled(slot)
            } else {
                slot
            }
        }
        Some(word) => load(r, MEMORY_BASE as usize).wrapping_add(word >> 1),
        None => 0,
    }
}
