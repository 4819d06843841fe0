//! The shim's symbol tables: one open-addressing hash table per library of its own exported
//! symbols, laid out at compose time in main's memory image (an active data segment of the
//! memory main defines, which wasmtime maps copy-on-write: only the pages a lookup touches are
//! ever read in). They are the only copy of those libraries' names in the output: the
//! provider's index (`crate::index`) leaves the symbols of a library with a table out, since
//! the provider is a component of its own whose memory the shim cannot read (nor it main's).
//! So the shim answers every lookup in such a library: `dlsym(handle, name)` asks the provider
//! only for the search ORDER (the lib ids of the handle's scope, `crate::dl::SCOPE_MAIN` for
//! main's own symbols, which stay in the provider), memoised until the next `dlopen` or
//! `dlclose`, and walks it, asking the provider (with a bound on the positions it searches)
//! only where a library without a table comes first. A library handle's own library comes
//! first in its scope, as in glibc, so a hit in its table is the answer without even the order.
//!
//! The composer writes the region with [`encode`]; the shim reads it in place with [`find`]
//! and [`nearest`] (over raw pointers, [`Memory`]) and writes the run-time fields of each record.
//!
//! Byte format (every integer a little-endian u32, addresses absolute in main's memory):
//! ```text
//! nlibs
//! per library, a record of RECORD bytes (its position is its id):
//!   table     address of its hash table (0: none; the provider holds its symbols)
//!   cap       its capacity in entries: the symbols and a quarter more (at least one free)
//!   open      run time (the shim): successful dlopens of its handle minus dlcloses
//!   memory    run time: its memory base (from the last placement)
//!   slots     run time: its table base
//!   lazy      1 when its init leaves function slots null (a prelinked library: see the
//!             composer's `loader::observed_slots`): a function found here has its slot
//!             filled through the loader first (`loader::Op::Fill`); 0: every slot is filled
//! per library with symbols, its table: capacity entries of 8 bytes, then its names:
//!   entry     word 0: 0 when free, else (hash & 0xff) << 24 | offset of the NUL-terminated
//!                     name from the table's start (never 0: the names follow the entries)
//!             word 1: value << 1 | kind (0 function: slot = table base + value;
//!                     1 data: address = memory base + value)
//! ```
//! A name's [`mix`]ed hash `h` starts its probe at entry `(h * cap) >> 32` (its high bits) and
//! goes on linearly, wrapping at `cap`; its low byte is the entry's tag, which spares most name
//! comparisons. At four-fifths load the entries take 10 bytes a symbol besides the name.
//!
//! Values are relative to the library's bases, so a library placed at a new base after a
//! `dlclose` needs only its record updated. The first of duplicate names is kept, as the
//! provider keeps it (`provider/src/index.rs`); names follow in the order given, so the first
//! of several symbols at one address is the one of the lowest name offset ([`nearest`]).

use alloc::vec::Vec;

/// The bytes of one library's record.
pub const RECORD: u32 = 24;
/// Byte offset in a record of the table's address.
pub const TABLE: u32 = 0;
/// Byte offset in a record of the capacity.
pub const CAP: u32 = 4;
/// Byte offset in a record of the open count (written at run time).
pub const OPEN: u32 = 8;
/// Byte offset in a record of the memory base (written at run time).
pub const MEMORY_BASE: u32 = 12;
/// Byte offset in a record of the table base (written at run time).
pub const TABLE_BASE: u32 = 16;
/// Byte offset in a record of the lazy flag (see the format).
pub const LAZY: u32 = 20;
/// The bytes of a table entry.
pub const ENTRY: u32 = 8;
/// Name offsets take the low 24 bits of an entry's word 0: a library whose table and names do
/// not fit 16 MiB gets no table.
const OFFSET_MASK: u32 = (1 << 24) - 1;

/// FNV-1a's start value (see [`fnv`]).
pub const FNV_START: u32 = 0x811c_9dc5;

/// One byte of FNV-1a (see [`fnv`]).
#[inline(always)]
pub fn fnv_step(h: u32, byte: u8) -> u32 {
    (h ^ u32::from(byte)).wrapping_mul(0x0100_0193)
}

/// The hash of a name: FNV-1a (the shim computes it once, for its memo too, with
/// [`FNV_START`] and [`fnv_step`]) ...
#[inline(always)]
pub fn fnv(name: impl Iterator<Item = u8>) -> u32 {
    name.fold(FNV_START, fnv_step)
}

/// ... mixed (murmur3's finalizer), so that both the high bits (the probe's start) and the low byte (the
/// entry's tag) depend on every byte.
#[inline(always)]
pub fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// One symbol of a library's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its name (no NUL inside).
    pub name: &'a [u8],
    /// `crate::index::KIND_FUNC` or `KIND_DATA`.
    pub kind: u8,
    /// Relative to the library's table base (function) or memory base (data); below 2^31.
    pub value: u32,
}

/// The encoded region ([`encode`]).
pub struct Region {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Per library, whether it got a table: the provider's index must hold the symbols of
    /// every library that did not (`crate::index::LibEntry::in_shim`).
    pub tables: Vec<bool>,
}

/// The region for libraries `libs` (each its symbols, in the provider's order) at address
/// `base` (a multiple of 8). A library gets a table when it has symbols and every one fits the
/// format (a name without a NUL, a value below 2^31, the table and names within 16 MiB), and
/// the region's addresses stay below 2^32; else none (the provider holds all its symbols: a
/// library's symbols are in one place, so a scope walk asks one of the two per library).
/// `lazy[i]` is library i's lazy flag.
pub fn encode(base: u32, libs: &[Vec<Entry<'_>>], lazy: &[bool]) -> Region {
    let n = libs.len();
    let mut out = Vec::new();
    let mut tables = alloc::vec![false; n];
    put(&mut out, n as u32);
    let records = out.len();
    out.resize(records + n * RECORD as usize, 0);
    for (i, syms) in libs.iter().enumerate() {
        let Some((table, cap)) = table(syms) else {
            continue;
        };
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let Some(at) = u32::try_from(out.len())
            .ok()
            .and_then(|o| base.checked_add(o))
            .filter(|a| a.checked_add(table.len() as u32).is_some())
        else {
            break;
        };
        let r = records + i * RECORD as usize;
        out[r..r + 4].copy_from_slice(&at.to_le_bytes());
        out[r + 4..r + 8].copy_from_slice(&cap.to_le_bytes());
        let flag = u32::from(lazy.get(i).copied().unwrap_or(false));
        let l = r + LAZY as usize;
        out[l..l + 4].copy_from_slice(&flag.to_le_bytes());
        out.extend_from_slice(&table);
        tables[i] = true;
    }
    Region { bytes: out, tables }
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// One library's table and names, and its capacity; `None` when it has none.
fn table(syms: &[Entry<'_>]) -> Option<(Vec<u8>, u32)> {
    if syms.is_empty()
        || syms
            .iter()
            .any(|s| s.value >= 1 << 31 || s.name.contains(&0))
    {
        return None;
    }
    let cap = u32::try_from(syms.len().checked_add(syms.len() / 4 + 1)?).ok()?;
    let entries = (cap as usize).checked_mul(ENTRY as usize)?;
    let mut t = alloc::vec![0; entries];
    for s in syms {
        let h = mix(fnv(s.name.iter().copied()));
        let mut i = start(h, cap);
        loop {
            let e = i as usize * ENTRY as usize;
            let word0 = u32::from_le_bytes(t.get(e..e + 4)?.try_into().ok()?);
            if word0 == 0 {
                let offset = u32::try_from(t.len()).ok().filter(|o| *o <= OFFSET_MASK)?;
                let value = s.value << 1 | u32::from(s.kind & 1);
                t[e..e + 4].copy_from_slice(&(tag(h) | offset).to_le_bytes());
                t[e + 4..e + 8].copy_from_slice(&value.to_le_bytes());
                t.extend_from_slice(s.name);
                t.push(0);
                break;
            }
            // The first of duplicate names stays.
            let at = (word0 & OFFSET_MASK) as usize;
            if t.get(at..at + s.name.len() + 1)
                .is_some_and(|n| n[..s.name.len()] == *s.name && n[s.name.len()] == 0)
            {
                break;
            }
            i = next(i, cap);
        }
    }
    (t.len() <= OFFSET_MASK as usize).then_some((t, cap))
}

/// The first entry of the probe of a name of [`mix`]ed hash `h` in a table of `cap` entries.
#[inline(always)]
fn start(h: u32, cap: u32) -> u32 {
    ((u64::from(h) * u64::from(cap)) >> 32) as u32
}

/// The entry after `i`.
#[inline(always)]
fn next(i: u32, cap: u32) -> u32 {
    let n = i.wrapping_add(1);
    if n >= cap {
        0
    } else {
        n
    }
}

/// The tag of an entry whose name has [`mix`]ed hash `h`: bits the probe's start does not use.
#[inline(always)]
fn tag(h: u32) -> u32 {
    h << 24
}

/// Reads of the memory the region lives in (the shim: main's memory through raw pointers).
pub trait Memory {
    /// The u32 at `addr`.
    fn u32(&self, addr: u32) -> u32;
    /// The byte at `addr`.
    fn u8(&self, addr: u32) -> u8;
}

/// The word 1 (`value << 1 | kind`) of the entry of the NUL-terminated name at `name` (in the
/// same memory) in the table of the record at `record`, `h` the name's [`fnv`] hash; `None`
/// when the library has no table or the name is not in it.
#[inline(always)]
pub fn find(m: &impl Memory, record: u32, h: u32, name: u32) -> Option<u32> {
    let table = m.u32(record.wrapping_add(TABLE));
    if table == 0 {
        return None;
    }
    let cap = m.u32(record.wrapping_add(CAP));
    let h = mix(h);
    let tag = tag(h);
    let mut i = start(h, cap);
    // At most every entry (a table always has free entries; this bounds a corrupt one).
    for _ in 0..cap {
        let e = table.wrapping_add(i.wrapping_mul(ENTRY));
        let word0 = m.u32(e);
        if word0 == 0 {
            return None;
        }
        if word0 & !OFFSET_MASK == tag && same(m, table.wrapping_add(word0 & OFFSET_MASK), name) {
            return Some(m.u32(e.wrapping_add(4)));
        }
        i = next(i, cap);
    }
    None
}

/// For `dladdr`: in the table of the record at `record`, the symbol of kind `kind`
/// (`crate::index::KIND_FUNC` or `KIND_DATA`) whose value is `value` (a function: exactly;
/// data: the greatest at or below it), the first of several at one value: its name's address
/// and its value. `None` when the library has no table or no such symbol. A scan of every
/// entry, as glibc's `dladdr` scans a symbol table.
pub fn nearest(m: &impl Memory, record: u32, kind: u8, value: u32) -> Option<(u32, u32)> {
    let table = m.u32(record.wrapping_add(TABLE));
    if table == 0 {
        return None;
    }
    let cap = m.u32(record.wrapping_add(CAP));
    let kind = u32::from(kind & 1);
    // (value, name offset) of the best so far.
    let mut best: Option<(u32, u32)> = None;
    for i in 0..cap {
        let e = table.wrapping_add(i.wrapping_mul(ENTRY));
        let word0 = m.u32(e);
        let word1 = m.u32(e.wrapping_add(4));
        let v = word1 >> 1;
        if word0 == 0 || word1 & 1 != kind || v > value || (kind == 0 && v != value) {
            continue;
        }
        let offset = word0 & OFFSET_MASK;
        if best.is_none_or(|(bv, bo)| v > bv || (v == bv && offset < bo)) {
            best = Some((v, offset));
        }
    }
    best.map(|(v, offset)| (table.wrapping_add(offset), v))
}

/// Whether the NUL-terminated strings at `a` and `b` are equal.
#[inline(always)]
fn same(m: &impl Memory, mut a: u32, mut b: u32) -> bool {
    loop {
        let c = m.u8(a);
        if c != m.u8(b) {
            return false;
        }
        if c == 0 {
            return true;
        }
        a = a.wrapping_add(1);
        b = b.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{KIND_DATA, KIND_FUNC};
    use alloc::{format, vec};

    /// A memory holding `bytes` at `base`; reads elsewhere are 0.
    struct Image {
        base: u32,
        bytes: Vec<u8>,
    }

    impl Memory for Image {
        fn u32(&self, addr: u32) -> u32 {
            let at = addr.wrapping_sub(self.base) as usize;
            self.bytes
                .get(at..at + 4)
                .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
        }
        fn u8(&self, addr: u32) -> u8 {
            let at = addr.wrapping_sub(self.base) as usize;
            self.bytes.get(at).copied().unwrap_or(0)
        }
    }

    /// Looks `name` up in library `lib`: the name is written past the region, as the shim's
    /// query lives elsewhere in the same memory.
    fn lookup(image: &mut Image, lib: u32, name: &[u8]) -> Option<(u8, u32)> {
        let len = image.bytes.len();
        image.bytes.extend_from_slice(name);
        image.bytes.push(0);
        let record = image.base + 4 + lib * RECORD;
        let found = find(
            image,
            record,
            fnv(name.iter().copied()),
            image.base + len as u32,
        );
        image.bytes.truncate(len);
        found.map(|w| ((w & 1) as u8, w >> 1))
    }

    #[test]
    fn round_trip() {
        let names: Vec<Vec<u8>> = (0..1000).map(|k| format!("l0_f{k}").into_bytes()).collect();
        let mut lib0: Vec<Entry<'_>> = names
            .iter()
            .enumerate()
            .map(|(k, n)| Entry {
                name: n,
                kind: if k % 2 == 0 { KIND_FUNC } else { KIND_DATA },
                value: k as u32 * 3,
            })
            .collect();
        // A duplicate: the first stays.
        lib0.push(Entry {
            name: b"l0_f7",
            kind: KIND_FUNC,
            value: 99,
        });
        let lib2 = vec![Entry {
            name: b"",
            kind: KIND_DATA,
            value: 5,
        }];
        // A value the format cannot hold, or a name with a NUL: no table for the library.
        let big = |name: &'static [u8], value| {
            vec![
                Entry {
                    name: b"ok",
                    kind: KIND_DATA,
                    value: 1,
                },
                Entry {
                    name,
                    kind: KIND_DATA,
                    value,
                },
            ]
        };
        let base = 0x1_0000;
        let region = encode(
            base,
            &[
                lib0,
                Vec::new(),
                lib2,
                big(b"big", 1 << 31),
                big(b"n\0ul", 2),
            ],
            &[false, false, true],
        );
        assert_eq!(region.tables, [true, false, true, false, false]);
        let mut image = Image {
            base,
            bytes: region.bytes,
        };
        assert_eq!(image.u32(base), 5);
        for (k, n) in names.iter().enumerate() {
            let kind = if k % 2 == 0 { KIND_FUNC } else { KIND_DATA };
            assert_eq!(lookup(&mut image, 0, n), Some((kind, k as u32 * 3)), "{k}");
        }
        assert_eq!(lookup(&mut image, 3, b"ok"), None);
        assert_eq!(lookup(&mut image, 4, b"ok"), None);
        assert_eq!(lookup(&mut image, 0, b"l0_f1000"), None);
        assert_eq!(lookup(&mut image, 0, b"l0_f"), None);
        assert_eq!(lookup(&mut image, 0, b""), None);
        // Library 1 has no table; library 2 holds the empty name.
        assert_eq!(image.u32(base + 4 + RECORD + TABLE), 0);
        assert_eq!(lookup(&mut image, 1, b"l0_f1"), None);
        assert_eq!(lookup(&mut image, 2, b""), Some((KIND_DATA, 5)));
        assert_eq!(lookup(&mut image, 2, b"l0_f1"), None);
        // Tables are 8-aligned, their capacity a quarter more than the symbols.
        let t = image.u32(base + 4 + TABLE);
        assert_eq!(t % 8, 0);
        // (The duplicate counts: 1001 kept.)
        assert_eq!(image.u32(base + 4 + CAP), 1001 + 250 + 1);
        // dladdr: a function exactly, data the greatest at or below; the first name of a value.
        let record = |lib: u32| base + 4 + lib * RECORD;
        let name_at = |image: &Image, at: u32| {
            let mut n = Vec::new();
            while image.u8(at + n.len() as u32) != 0 {
                n.push(image.u8(at + n.len() as u32));
            }
            n
        };
        let (at, v) = nearest(&image, record(0), KIND_FUNC, 6).unwrap();
        assert_eq!((name_at(&image, at), v), (b"l0_f2".to_vec(), 6));
        assert_eq!(nearest(&image, record(0), KIND_FUNC, 7), None);
        let (at, v) = nearest(&image, record(0), KIND_DATA, 5).unwrap();
        assert_eq!((name_at(&image, at), v), (b"l0_f1".to_vec(), 3));
        assert_eq!(nearest(&image, record(0), KIND_DATA, 2), None);
        assert_eq!(nearest(&image, record(1), KIND_DATA, 9), None);
        // The lazy flags.
        assert_eq!(image.u32(base + 4 + LAZY), 0);
        assert_eq!(image.u32(base + 4 + 2 * RECORD + LAZY), 1);
    }
}
