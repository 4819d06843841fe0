//! `dlsym`'s memo: an open-addressing hash table (linear probing) of 16-byte entries (hash,
//! handle, copy of the name or 0 when free, value) in main's memory, doubled when three
//! quarters full. Only successes are kept, and every `dlopen` and `dlclose` empties it: between
//! them, search orders and symbol values do not change.
//!
//! Every first lookup of a name adds an entry, so the memo's memory is part of what a first
//! `dlsym` costs: fresh pages of main's memory are page faults (about 3 µs each on the bench
//! machine, as much as ten lookups). Hence the three-quarters load (half the table pages of a
//! half-full rule) and the names copied one after another into chunks of [`CHUNK`] bytes
//! (no allocator header or rounding per name, one `malloc` per chunk), freed together by
//! [`flush`].

use crate::sys::{load, main, state, store};

/// The size of an entry in bytes.
const ENTRY: usize = 16;
/// The capacity of a new table.
const FIRST_CAP: u32 = 256;
/// The size of a chunk of name copies: its first 4 bytes hold the previous chunk (or 0). A name
/// longer than a chunk gets a chunk of its own size.
const CHUNK: usize = 4096;

/// The memo's hash of `dlsym(handle, name)`: the name's FNV-1a hash (`fnv`, as the symbol
/// tables hash it: `wasm_dl_abi::symtab::fnv`), mixed with the handle.
#[inline(always)]
pub fn hash(handle: u32, fnv: u32) -> u32 {
    fnv ^ handle.wrapping_mul(0x9e37_79b1)
}

/// Whether the NUL-terminated strings at `a` and `b` are equal.
///
/// # Safety
/// Both point to NUL-terminated strings.
unsafe fn streq(mut a: *const u8, mut b: *const u8) -> bool {
    loop {
        let c = *a;
        if c != *b {
            return false;
        }
        if c == 0 {
            return true;
        }
        a = a.add(1);
        b = b.add(1);
    }
}

/// The first entry of table `t` (capacity `cap`) on hash `h`'s probe sequence that is free or
/// holds (`h`, `handle`, `name`); a null `name` matches free entries only.
///
/// # Safety
/// `t` is a table of `cap` entries (a power of two) with at least one free entry; `name` is null
/// or a NUL-terminated string.
unsafe fn probe(t: *mut u8, cap: u32, h: u32, handle: u32, name: *const u8) -> *mut u8 {
    let mut i = h;
    loop {
        let e = t.add(((i & cap.wrapping_sub(1)) as usize) * ENTRY);
        let copy = load(e, 8);
        if copy == 0 {
            return e;
        }
        if !name.is_null()
            && load(e, 0) == h
            && load(e, 4) == handle
            && streq(copy as *const u8, name)
        {
            return e;
        }
        i = i.wrapping_add(1);
    }
}

/// The memoized value of `dlsym(handle, name)` (`h` its hash), if any.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[inline(always)] // an `Option<u32>` result of a call is returned through the shadow stack
pub unsafe fn get(h: u32, handle: u32, name: *const u8) -> Option<u32> {
    if state::memo_count::get() == 0 {
        return None;
    }
    let e = probe(
        state::memo::get() as *mut u8,
        state::memo_cap::get(),
        h,
        handle,
        name,
    );
    (load(e, 8) != 0).then(|| load(e, 12))
}

/// Makes room for one more entry: allocates or doubles the table. False when out of memory.
///
/// # Safety
/// The state describes a valid table (or none).
unsafe fn room() -> bool {
    let cap = state::memo_cap::get();
    let old = state::memo::get() as *mut u8;
    // At most three quarters full, so there is always a free entry to end a probe.
    let count = state::memo_count::get() as usize;
    if count.wrapping_add(1).wrapping_mul(4) <= (cap as usize).wrapping_mul(3) {
        return true;
    }
    let new_cap = if cap == 0 {
        FIRST_CAP
    } else {
        cap.wrapping_mul(2)
    };
    let bytes = (new_cap as usize).wrapping_mul(ENTRY);
    let t = main::malloc(bytes);
    if t.is_null() {
        return false;
    }
    t.write_bytes(0, bytes);
    // Move the old entries over, by their stored hashes.
    for k in 0..cap as usize {
        let e = old.add(k * ENTRY);
        if load(e, 8) != 0 {
            let to = probe(t, new_cap, load(e, 0), 0, core::ptr::null());
            core::ptr::copy_nonoverlapping(e, to, ENTRY);
        }
    }
    if !old.is_null() {
        main::free(old);
    }
    state::memo::set(t as u32);
    state::memo_cap::set(new_cap);
    true
}

/// A copy of the `size` bytes at `name` in the current chunk of name copies (a new chunk when
/// they do not fit), or null without memory.
///
/// # Safety
/// `name` points to `size` readable bytes.
unsafe fn copy_name(name: *const u8, size: usize) -> *mut u8 {
    let mut chunk = state::memo_chunk::get() as *mut u8;
    let mut used = state::memo_chunk_used::get() as usize;
    if chunk.is_null() || size > CHUNK.saturating_sub(used) {
        // A chunk of `bytes`; once `used` is past CHUNK, the next name starts a new one.
        let bytes = size.saturating_add(4).max(CHUNK);
        let fresh = main::malloc(bytes);
        if fresh.is_null() {
            return fresh;
        }
        store(fresh, 0, chunk as u32);
        chunk = fresh;
        used = 4;
        state::memo_chunk::set(chunk as u32);
    }
    let copy = chunk.add(used);
    core::ptr::copy_nonoverlapping(name, copy, size);
    state::memo_chunk_used::set(used.wrapping_add(size) as u32);
    copy
}

/// Remembers `dlsym(handle, name) == value` (`h` the hash, `len` the name's length); best
/// effort: without memory, it does not.
///
/// # Safety
/// `name` is a NUL-terminated string of `len` bytes, not memoized yet for `handle`.
pub unsafe fn put(h: u32, handle: u32, name: *const u8, len: usize, value: u32) {
    if !room() {
        return;
    }
    let copy = copy_name(name, len.wrapping_add(1));
    if copy.is_null() {
        return;
    }
    let e = probe(
        state::memo::get() as *mut u8,
        state::memo_cap::get(),
        h,
        0,
        core::ptr::null(),
    );
    store(e, 0, h);
    store(e, 4, handle);
    store(e, 8, copy as u32);
    store(e, 12, value);
    state::memo_count::set(state::memo_count::get().wrapping_add(1));
}

/// Empties the memo (`dlopen`, `dlclose`).
pub fn flush() {
    if state::memo_count::get() != 0 {
        let t = state::memo::get() as *mut u8;
        // SAFETY: the state describes a valid table of `memo_cap` entries.
        unsafe { t.write_bytes(0, (state::memo_cap::get() as usize).wrapping_mul(ENTRY)) };
    }
    let mut chunk = state::memo_chunk::get() as *mut u8;
    while !chunk.is_null() {
        // SAFETY: each chunk came from main's malloc, and only the chunk list holds it.
        unsafe {
            let previous = load(chunk, 0) as *mut u8;
            main::free(chunk);
            chunk = previous;
        }
    }
    state::memo_chunk::set(0);
    state::memo_chunk_used::set(0);
    state::memo_count::set(0);
}
