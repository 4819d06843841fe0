//! `dlsym` beyond a library handle's own table: the search order (the provider's `scope`),
//! memoised per handle until the next `dlopen` or `dlclose` (only they change search orders,
//! and the shim sees both), walked here over the symbol tables (`symtab`), which are the only
//! copy of their libraries' names ([`wasm_dl_abi::symtab`]). The provider is asked to search
//! only where an entry it holds (main's own symbols, a library without a table) comes before
//! the first table hit, and only those entries (its `before` bound): the answer is the first
//! definition in the order either way, as glibc's.
//!
//! The memo is an array in main's memory (from its `malloc`) of 8-byte entries (the order's
//! list, its length + 1; 0: not memoised), one per handle value below the libraries' handles'
//! end: `RTLD_DEFAULT` and `dlopen(NULL)`'s handle (the same order) at 0, `RTLD_NEXT` at 1
//! (the global scope after main), library `k`'s handle at `k + 2`.

use crate::symtab;
use crate::sys::{load, main, state, store};
use wasm_dl_abi::dl::Handle;

/// The memo entry of `handle`'s order, or null when the composition has no tables or
/// `handle` is no library's nor a pseudo-handle (then the provider answers, with its error).
/// The array is allocated (zeroed) on first use; out of memory gives null too.
#[inline(always)]
fn entry(handle: u32) -> *mut u8 {
    let nlibs = symtab::count();
    let slot = match handle {
        _ if handle == Handle::NEXT.0 => 1,
        _ if handle == Handle::GLOBAL.0 => 0,
        _ => handle,
    };
    if nlibs == 0 || slot >= nlibs.wrapping_add(Handle::LIB_BASE) {
        return core::ptr::null_mut();
    }
    let mut memo = state::scopes::get() as *mut u8;
    if memo.is_null() {
        let bytes = (nlibs as usize + Handle::LIB_BASE as usize).wrapping_mul(8);
        // SAFETY: main's malloc; the new array is zeroed before use.
        unsafe {
            memo = main::malloc(bytes);
            if memo.is_null() {
                return memo;
            }
            memo.write_bytes(0, bytes);
        }
        state::scopes::set(memo as u32);
    }
    // SAFETY: `slot` is below the array's length.
    unsafe { memo.add(slot as usize * 8) }
}

/// Forgets every memoised order (a `dlopen` or `dlclose` may have changed them).
pub fn flush() {
    let memo = state::scopes::get() as *mut u8;
    if memo.is_null() {
        return;
    }
    let n = symtab::count() as usize + Handle::LIB_BASE as usize;
    for i in 0..n {
        // SAFETY: the array has `n` entries; each list came from main's malloc (through
        // `cabi_import_realloc`) and only the memo holds it.
        unsafe {
            let e = memo.add(i * 8);
            let list = load(e, 0) as *mut u8;
            if load(e, 4) > 1 {
                main::free(list);
            }
            store(e, 0, 0);
            store(e, 4, 0);
        }
    }
}

/// `dlsym(handle, name)` past the memo and the handle's own table (`h` the name's FNV-1a
/// hash, `len` its length): the answer, or 0 with the pending `dlerror` set (or, rarely, a
/// symbol whose value is 0). Null from [`entry`] leaves it all to the provider.
///
/// # Safety
/// `name` is a NUL-terminated string of `len` bytes in main's memory; `r` the return area.
pub unsafe fn sym(handle: u32, h: u32, name: *const u8, len: usize, r: *mut u8) -> u32 {
    let e = entry(handle);
    if e.is_null() {
        crate::sys::provider::sym(handle, name, len, u32::MAX, r);
        return crate::dl::answer(r);
    }
    if load(e, 4) == 0 {
        crate::sys::provider::scope(handle, r);
        if *r != 0 {
            crate::dl::set_error(load(r, 4));
            return 0;
        }
        store(e, 0, load(r, 4));
        store(e, 4, load(r, 8).wrapping_add(1));
    }
    let list = load(e, 0) as *const u32;
    let n = load(e, 4).wrapping_sub(1);
    walk(list, n, h, name, r, |before| {
        crate::sys::provider::sym(handle, name, len, before, r)
    })
}

/// `dlsym(RTLD_NEXT, name)` from library `caller` (`h`, `len` as for [`sym`]); its order is
/// not memoised (nor are its answers: see `dl::__wasm_dl_dlsym_next`).
///
/// # Safety
/// As for [`sym`].
pub unsafe fn sym_next(caller: u32, h: u32, name: *const u8, len: usize, r: *mut u8) -> u32 {
    if symtab::count() == 0 {
        crate::sys::provider::sym_next(caller, name, len, u32::MAX, r);
        return crate::dl::answer(r);
    }
    crate::sys::provider::scope_next(caller, r);
    if *r != 0 {
        crate::dl::set_error(load(r, 4));
        return 0;
    }
    let list = load(r, 4) as *mut u32;
    let n = load(r, 8);
    let value = walk(list, n, h, name, r, |before| {
        crate::sys::provider::sym_next(caller, name, len, before, r)
    });
    if n != 0 {
        main::free(list.cast());
    }
    value
}

/// The first definition of `name` in the order of `n` entries at `list`: the first table
/// hit, unless the provider (`ask(before)`, answering into `r`) finds one in the entries it
/// holds before it; with no hit anywhere, the provider's error.
///
/// # Safety
/// `list` holds `n` entries; `name` is NUL-terminated in main's memory; `r` the return area.
#[inline(always)]
unsafe fn walk(
    list: *const u32,
    n: u32,
    h: u32,
    name: *const u8,
    r: *mut u8,
    ask: impl FnOnce(u32),
) -> u32 {
    let mut provider_first = false;
    let mut at = n;
    let mut word = 0;
    let mut record = core::ptr::null_mut();
    for i in 0..n {
        let lib = *list.add(i as usize);
        let rec = symtab::record(lib.wrapping_add(Handle::LIB_BASE));
        // SCOPE_MAIN (no record), or a library whose symbols the provider holds.
        if rec.is_null() || !symtab::has_table(rec) {
            provider_first = true;
            continue;
        }
        if let Some(w) = symtab::find_in(rec, h, name) {
            (at, word, record) = (i, w, rec);
            break;
        }
    }
    if at == n || provider_first {
        ask(at);
        if *r == 0 {
            return crate::dl::filled(load(r, 4));
        }
        if at == n {
            crate::dl::set_error(load(r, 4));
            return 0;
        }
        // The table hit stands: the provider's "undefined" message is not needed.
        main::free(load(r, 4) as *mut u8);
    }
    symtab::value(record, word)
}
