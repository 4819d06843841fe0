//! A symbol table: one library's (or main's) exported names as a ready-made open-addressing
//! hash table in one byte string, values relative to the library's bases. The composer builds
//! one per library ([`Builder`], in the index's symbol order, so the first of duplicate names
//! wins as in the provider's own lookups) and the index carries it (`crate::index`). When a
//! `dlsym` handle has been looked into often enough, the provider hands the shim the tables of
//! the handle's scope, in search order, with each library's bases, and the shim answers that
//! handle's lookups with [`lookup`] in main's memory, without calling into the provider (see
//! `shim/src/tables.rs`).
//!
//! Byte format (every integer a little-endian u32):
//! ```text
//! cap                      number of entries, a power of two, more than the names held
//! count                    number of names held
//! cap × entry:
//!   hash                   [`hash`] of the name
//!   name_off               offset of the name's bytes from the table's start; 0: free entry
//!   name_len | kind << 31  its length, and whether it is data ([`KIND_BIT`])
//!   value                  function k (slot = function base + k), data offset from the
//!                          memory base, or for main's table the absolute value (kind 0)
//! names                    the names' bytes, one after another
//! ```
//! Probing is linear from `hash & (cap - 1)`.
//!
//! [`lookup`] is written for the shim's rules (no panics, no static data, no shadow stack: it
//! must inline into its caller): every read is bounds-checked with `get` and a malformed table
//! only gives a miss.

use alloc::vec;
use alloc::vec::Vec;

/// Size of the header (`cap`, `count`) in bytes.
const HEADER: usize = 8;
/// Size of an entry in bytes.
const ENTRY: usize = 16;

/// The bit of an entry's `name_len` word that marks data (clear: a function).
pub const KIND_BIT: u32 = 1 << 31;

/// When a handle's tables are worth copying to the shim: once the provider has answered at
/// least `symbols / SYMBOLS_PER_MISS` lookups for the handle (`symbols` in all tables of its
/// scope). A lookup through the provider (a component call, the name copied in and freed, the
/// answer copied out: about 19,000 x86 instructions in wasmtime 48, counted with callgrind)
/// costs about as much as copying the table bytes of this many symbols into main's memory
/// (about 30 bytes each, plus the pages main's `malloc` grows by), so by then the lookups
/// already spent as much as the copy will (the rent-or-buy rule: never much more than twice
/// the better choice).
pub const SYMBOLS_PER_MISS: u64 = 256;

/// The first number of provider lookups for one handle after which the shim asks for its table;
/// it asks again each time the number doubles, until the provider builds one.
pub const FIRST_ASK: u32 = 8;

/// FNV-1a (32 bits) of a name.
#[inline(always)]
pub fn hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// The `u32` at byte `at` of `t`, if the table is long enough.
#[inline(always)]
fn word(t: &[u8], at: usize) -> Option<u32> {
    let b = t.get(at..at.wrapping_add(4))?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// The number of names table `t` holds (0 if it is too short to say).
pub fn count(t: &[u8]) -> u32 {
    word(t, 4).unwrap_or(0)
}

/// The value of `name` in table `t` (`h` = [`hash`]`(name)`) and whether it is data, if `t` has
/// the name.
#[inline(always)]
pub fn lookup(t: &[u8], h: u32, name: &[u8]) -> Option<(u32, bool)> {
    let cap = word(t, 0)?;
    let mask = cap.wrapping_sub(1);
    let mut i = h;
    // Each entry at most once: a malformed table without free entries cannot loop forever.
    for _ in 0..cap {
        let e = HEADER.wrapping_add(((i & mask) as usize).wrapping_mul(ENTRY));
        let off = word(t, e.wrapping_add(4))?;
        if off == 0 {
            return None;
        }
        if word(t, e)? == h {
            let len_kind = word(t, e.wrapping_add(8))?;
            let len = (len_kind & !KIND_BIT) as usize;
            let off = off as usize;
            if t.get(off..off.wrapping_add(len)) == Some(name) {
                return Some((word(t, e.wrapping_add(12))?, len_kind & KIND_BIT != 0));
            }
        }
        i = i.wrapping_add(1);
    }
    None
}

/// Builds a table; insert names in symbol order (the first insertion of a name wins).
pub struct Builder {
    out: Vec<u8>,
    cap: u32,
    count: u32,
}

impl Builder {
    /// A table for at most `n` names (duplicates included).
    pub fn with_capacity(n: usize) -> Builder {
        // At most three quarters full: short probe sequences (about 2 for a hit), always a
        // free entry, and no more bytes to copy than needed.
        let cap = n
            .saturating_mul(4)
            .div_ceil(3)
            .saturating_add(1)
            .max(8)
            .checked_next_power_of_two()
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1 << 31);
        let mut out = vec![0; HEADER + cap as usize * ENTRY];
        out[..4].copy_from_slice(&cap.to_le_bytes());
        Builder { out, cap, count: 0 }
    }

    fn put(&mut self, at: usize, v: u32) {
        if let Some(b) = self.out.get_mut(at..at + 4) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Adds `name` = `value` (data if `data`) unless the table has `name` already, or is full
    /// (a table given its true capacity never is), or the name is 2 GiB or longer (no wasm
    /// name is). Returns whether it was added.
    pub fn insert(&mut self, name: &[u8], data: bool, value: u32) -> bool {
        let Some(len) = u32::try_from(name.len()).ok().filter(|l| l & KIND_BIT == 0) else {
            return false;
        };
        let h = hash(name);
        let mask = self.cap - 1;
        let mut i = h;
        for _ in 0..self.cap {
            let e = HEADER + (i & mask) as usize * ENTRY;
            let off = word(&self.out, e + 4).unwrap_or(0);
            if off == 0 {
                let Ok(name_off) = u32::try_from(self.out.len()) else {
                    return false;
                };
                self.out.extend_from_slice(name);
                self.put(e, h);
                self.put(e + 4, name_off);
                self.put(e + 8, if data { len | KIND_BIT } else { len });
                self.put(e + 12, value);
                self.count += 1;
                return true;
            }
            if word(&self.out, e) == Some(h) {
                let len = (word(&self.out, e + 8).unwrap_or(0) & !KIND_BIT) as usize;
                let off = off as usize;
                if self.out.get(off..off + len) == Some(name) {
                    return false;
                }
            }
            i = i.wrapping_add(1);
        }
        false
    }

    /// The encoded table.
    pub fn finish(mut self) -> Vec<u8> {
        let count = self.count;
        self.put(4, count);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_insertion_wins_and_misses_miss() {
        let mut b = Builder::with_capacity(3);
        assert!(b.insert(b"f", false, 1));
        assert!(b.insert(b"g", true, 2));
        assert!(!b.insert(b"f", true, 3));
        let t = b.finish();
        assert_eq!(count(&t), 2);
        assert_eq!(lookup(&t, hash(b"f"), b"f"), Some((1, false)));
        assert_eq!(lookup(&t, hash(b"g"), b"g"), Some((2, true)));
        assert_eq!(lookup(&t, hash(b"h"), b"h"), None);
        assert_eq!(lookup(&t, hash(b""), b""), None);
    }

    #[test]
    fn many_names_and_truncated_tables() {
        let names: Vec<Vec<u8>> = (0..1000)
            .map(|k| alloc::format!("l0_f{k}").into())
            .collect();
        let mut b = Builder::with_capacity(names.len());
        for (k, n) in names.iter().enumerate() {
            assert!(b.insert(n, k % 2 == 1, k as u32));
        }
        let t = b.finish();
        for (k, n) in names.iter().enumerate() {
            assert_eq!(lookup(&t, hash(n), n), Some((k as u32, k % 2 == 1)));
        }
        // A cut table only misses; it never reads past its end.
        for cut in [0, 3, 4, 20, t.len() / 2, t.len() - 1] {
            for n in &names {
                let v = lookup(&t[..cut], hash(n), n);
                assert!(v.is_none() || v == lookup(&t, hash(n), n));
            }
        }
    }
}
