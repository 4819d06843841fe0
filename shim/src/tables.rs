//! Scope tables: once the provider has answered enough lookups of one `dlsym` handle, the shim
//! asks it for the symbol tables (`wasm_dl_abi::symtab`, written by the composer) of every
//! library in that handle's scope, in search order, with their bases (`sym-tables`), and
//! answers the handle's later lookups in main's memory, without a component call: the first
//! table with the name wins, as in the provider's `sym`. The bases and the scope hold only while
//! search orders and placements stay as they are, so every `dlopen` and `dlclose` drops them
//! all (with the memo): glibc's answers can change only there too.
//!
//! State: an array of [`SLOTS`] slots of 16 bytes (handle; the `scope-table` list's pointer
//! and its length + 1, or 0 while the handle has none; provider lookups of the handle since the
//! last flush, a slot with none being free) in main's memory, allocated on first use. Beyond
//! [`SLOTS`] handles, lookups go to the provider (and the memo) as before. A `scope-table` as
//! the canonical ABI lays it out: memory base @0, function base @4, table pointer @8, length @12.

use crate::sys::{load, main, provider, state, store};
use wasm_dl_abi::symtab;

/// Handles that can have a table at once (programs look into few handles).
const SLOTS: usize = 8;
/// The size of a slot in bytes.
const SLOT: usize = 16;
/// The size of a `scope-table` record in bytes.
const PART: usize = 16;

/// The slot of `handle`, claimed if it has none; null when every slot is taken by other handles
/// or there is no memory for the slots.
pub fn slot(handle: u32) -> *mut u8 {
    let mut t = state::tabs::get() as *mut u8;
    if t.is_null() {
        // SAFETY: main's malloc; the slots are zeroed (free) before use.
        unsafe {
            t = main::malloc(SLOTS * SLOT);
            if t.is_null() {
                return t;
            }
            t.write_bytes(0, SLOTS * SLOT);
        }
        state::tabs::set(t as u32);
    }
    let mut free: *mut u8 = core::ptr::null_mut();
    for k in 0..SLOTS {
        // SAFETY: `t` holds SLOTS slots.
        unsafe {
            let s = t.add(k * SLOT);
            if load(s, 12) == 0 {
                if free.is_null() {
                    free = s;
                }
            } else if load(s, 0) == handle {
                return s;
            }
        }
    }
    if !free.is_null() {
        // SAFETY: a slot of `t`.
        unsafe { store(free, 0, handle) };
    }
    free
}

/// The value of `name` (`len` bytes) for slot `s`'s handle from its tables: `None` when it has
/// none (ask the provider), `Some(None)` when no table has the name (`dlsym` fails: the
/// provider says why).
///
/// # Safety
/// `s` is null or a slot; `name` points to `len` readable bytes.
#[inline(always)] // an `Option` result of a call is returned through the shadow stack
pub unsafe fn get(s: *mut u8, name: *const u8, len: usize) -> Option<Option<u32>> {
    if s.is_null() || load(s, 8) == 0 {
        return None;
    }
    let parts = load(s, 4) as *const u8;
    let name = core::slice::from_raw_parts(name, len);
    let h = symtab::hash(name);
    for k in 0..load(s, 8).wrapping_sub(1) as usize {
        let p = parts.add(k * PART);
        let t = core::slice::from_raw_parts(load(p, 8) as *const u8, load(p, 12) as usize);
        if let Some((value, data)) = symtab::lookup(t, h, name) {
            let base = if data { load(p, 0) } else { load(p, 4) };
            return Some(Some(base.wrapping_add(value)));
        }
    }
    Some(None)
}

/// Counts a lookup of slot `s`'s handle the provider answered, and asks the provider for the
/// handle's tables after `symtab::FIRST_ASK` of them and at every doubling.
///
/// # Safety
/// `s` is null or a slot; `r` is the return area (its contents are overwritten).
pub unsafe fn answered(s: *mut u8, r: *mut u8) {
    if s.is_null() {
        return;
    }
    let misses = load(s, 12).wrapping_add(1);
    store(s, 12, misses);
    if misses < symtab::FIRST_ASK || !misses.is_power_of_two() {
        return;
    }
    provider::sym_tables(load(s, 0), misses, r);
    if *r != 0 {
        store(s, 4, load(r, 4));
        store(s, 8, load(r, 8).wrapping_add(1));
    }
}

/// Drops every table (`dlopen`, `dlclose`).
pub fn flush() {
    let t = state::tabs::get() as *mut u8;
    if t.is_null() {
        return;
    }
    for k in 0..SLOTS {
        // SAFETY: `t` holds SLOTS slots; each list and table came from main's malloc (the
        // canonical ABI's `cabi_import_realloc`; an empty list is not allocated) and only its
        // slot holds it.
        unsafe {
            let s = t.add(k * SLOT);
            let n = load(s, 8).wrapping_sub(1) as usize;
            if load(s, 8) != 0 && n != 0 {
                let parts = load(s, 4) as *mut u8;
                for j in 0..n {
                    let p = parts.add(j * PART);
                    if load(p, 12) != 0 {
                        main::free(load(p, 8) as *mut u8);
                    }
                }
                main::free(parts);
            }
        }
    }
    // SAFETY: as above.
    unsafe { t.write_bytes(0, SLOTS * SLOT) };
}
