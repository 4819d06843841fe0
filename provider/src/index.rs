//! Decoding of the library index written by the composer.
//!
//! The format is [`wasm_dl_abi::index`]'s (its `encode` is the composer's writer).
//!
//! Strings are kept as ranges into the index bytes; every name lookup is a hash-table lookup.
//!
//! [`Index::decode`] checks everything but the libraries' symbol blocks, which it skips by their
//! length: a composition may bundle hundreds of thousands of symbols, and start-up should not pay
//! for libraries never looked into. A library's block is checked when its symbol tables are first
//! built ([`Lib::symbols`]); a corrupt block makes that, and every later, lookup in the library
//! fail with [`Corrupt`].

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::cell::OnceCell;
use core::ops::Range;
use hashbrown::HashTable;
use wasm_dl_abi::path::{Basename, Found};

use wasm_dl_abi::index::{KIND_DATA, KIND_FUNC};
pub use wasm_dl_abi::index::{MAGIC, VERSION};

/// What a symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A function: `value` is its position among the library's exported functions (or, for main,
    /// its absolute table slot).
    Func,
    /// Data: `value` is the offset from the library's memory base (or, for main, its address).
    Data,
}

/// One exported symbol.
#[derive(Clone, Debug)]
pub struct Sym {
    /// The name, as a range of the index bytes.
    pub name: Range<usize>,
    /// Function or data.
    pub kind: Kind,
    /// See [`Kind`].
    pub value: u32,
}

/// A set of symbols with a hash table over their names.
#[derive(Default)]
pub struct Symbols {
    /// The symbols, in index order.
    pub syms: Vec<Sym>,
    /// Indices into `syms`, keyed by name; the first of duplicate names wins.
    table: HashTable<u32>,
}

/// One library of the index.
pub struct Lib {
    /// The name given at compose time.
    pub name: Range<usize>,
    /// Its guest path.
    pub path: Range<usize>,
    /// Other names (`--lib` aliases).
    pub aliases: Vec<Range<usize>>,
    /// Its RUNPATH directories (`$ORIGIN` expanded): searched by its `dlopen`s.
    pub runpath: Vec<Range<usize>>,
    /// Table slots used by the library's own elements; its function slots follow them.
    pub table_size: u32,
    /// Bytes of memory the library is given.
    pub mem_size: u32,
    /// Direct dependencies (lib ids, all valid).
    pub deps: Vec<u32>,
    /// Its exported functions (their slots follow its own ones): for `dladdr`.
    pub n_funcs: u32,
    /// Its symbol block in the index bytes (count included), within the bytes but not checked
    /// by `decode`.
    sym_bytes: Range<usize>,
    /// Its symbol tables (or why its block is corrupt), built at the first lookup in this
    /// library: a composition may bundle hundreds of thousands of symbols, and start-up should not
    /// pay for libraries never used.
    symbols: OnceCell<Result<LibSymbols, Corrupt>>,
}

/// A library's symbol tables.
#[derive(Default)]
pub struct LibSymbols {
    /// Exported symbols.
    pub syms: Symbols,
    /// Its function symbols (indices into `syms.syms`), by value: for `dladdr`.
    pub funcs_by_value: Vec<u32>,
    /// Its data symbols (indices into `syms.syms`), by value.
    pub data_by_value: Vec<u32>,
}

impl Lib {
    /// The library's symbol tables, built (and its symbol block checked) on first use; `bytes`
    /// are the index bytes. Fails, now and at every later call, if the block is corrupt.
    #[inline]
    pub fn symbols(&self, bytes: &[u8]) -> Result<&LibSymbols, Corrupt> {
        self.symbols
            .get_or_init(|| self.build_symbols(bytes))
            .as_ref()
            .map_err(|c| *c)
    }

    fn build_symbols(&self, bytes: &[u8]) -> Result<LibSymbols, Corrupt> {
        let block = &self.sym_bytes;
        // The reader sees the index up to the block's end, so the block cannot overrun it.
        let mut r = Reader {
            bytes: bytes.get(..block.end).ok_or(Corrupt {
                what: "symbol block length",
                at: block.start,
            })?,
            pos: block.start,
        };
        let syms = r.syms()?;
        if r.pos != block.end {
            return Err(r.err("symbol block length"));
        }
        let by_value = |kind: Kind| {
            let mut v: Vec<u32> = (0..syms.len() as u32)
                .filter(|&i| syms.get(i as usize).is_some_and(|s| s.kind == kind))
                .collect();
            v.sort_by_key(|&i| syms.get(i as usize).map_or(0, |s| s.value));
            v
        };
        let funcs_by_value = by_value(Kind::Func);
        let data_by_value = by_value(Kind::Data);
        Ok(LibSymbols {
            syms: Symbols::build(syms, bytes),
            funcs_by_value,
            data_by_value,
        })
    }
}

/// A decoded index.
pub struct Index {
    /// The encoded index; every name is a range of it. In the provider component it is borrowed
    /// from where the composer placed it in linear memory.
    pub bytes: Cow<'static, [u8]>,
    /// The libraries, by lib id.
    pub libs: Vec<Lib>,
    /// The main module's exported symbols (absolute values).
    pub main: Symbols,
    /// Libraries main was linked against (lib ids, all valid), loaded before it runs.
    pub startup: Vec<u32>,
    /// Main's RUNPATH directories (`$ORIGIN` expanded).
    pub main_runpath: Vec<Range<usize>>,
    /// Guest paths (of libraries and `/` aliases) -> lib id (first wins).
    by_path: NameTable,
    /// Basenames of guest paths and aliases -> the first lib id, and whether another library
    /// has it too.
    by_basename: HashTable<(u32, Range<usize>, bool)>,
}

/// Why an index could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt {
    /// What was wrong.
    pub what: &'static str,
    /// Where (byte offset).
    pub at: usize,
}

/// A 64-bit hash of a byte string (FNV-1a with a final avalanche, so that both the low bits
/// hashbrown uses for the bucket and the high bits it uses for the tag are well mixed).
#[inline]
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

pub use wasm_dl_abi::path::basename;

#[inline(always)]
fn slice<'a>(bytes: &'a [u8], r: &Range<usize>) -> &'a [u8] {
    bytes.get(r.clone()).unwrap_or(&[])
}

impl Symbols {
    fn build(syms: Vec<Sym>, bytes: &[u8]) -> Self {
        let mut table: HashTable<u32> = HashTable::with_capacity(syms.len());
        let name = |v: u32| {
            syms.get(v as usize)
                .map_or(&[][..], |s| slice(bytes, &s.name))
        };
        for i in 0..syms.len() as u32 {
            let key = name(i);
            let h = hash(key);
            if table.find(h, |&v| name(v) == key).is_none() {
                table.insert_unique(h, i, |&v| hash(name(v)));
            }
        }
        Symbols { syms, table }
    }

    /// The symbol called `name`, if any.
    #[inline]
    pub fn get(&self, bytes: &[u8], name: &[u8]) -> Option<&Sym> {
        let syms = &self.syms;
        let i = self.table.find(hash(name), |&v| {
            syms.get(v as usize)
                .is_some_and(|s| slice(bytes, &s.name) == name)
        })?;
        syms.get(*i as usize)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn err(&self, what: &'static str) -> Corrupt {
        Corrupt { what, at: self.pos }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<Range<usize>, Corrupt> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let r = self.pos..end;
                self.pos = end;
                Ok(r)
            }
            None => Err(self.err(what)),
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, Corrupt> {
        let r = self.take(1, what)?;
        Ok(self.bytes.get(r.start).copied().unwrap_or(0))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, Corrupt> {
        let r = self.take(4, what)?;
        let b: [u8; 4] = slice(self.bytes, &r)
            .try_into()
            .map_err(|_| self.err(what))?;
        Ok(u32::from_le_bytes(b))
    }

    fn str(&mut self, what: &'static str) -> Result<Range<usize>, Corrupt> {
        let n = self.u32(what)?;
        self.take(n as usize, what)
    }

    /// A count of items at least `min_size` bytes each: refuses counts the remaining bytes cannot
    /// hold, so a corrupt count never causes a huge allocation.
    fn count(&mut self, min_size: usize, what: &'static str) -> Result<usize, Corrupt> {
        let at = self.pos;
        let n = self.u32(what)? as usize;
        let left = self.bytes.len() - self.pos;
        if n.checked_mul(min_size).is_none_or(|need| need > left) {
            return Err(Corrupt { what, at });
        }
        Ok(n)
    }

    fn strs(&mut self, what: &'static str) -> Result<Vec<Range<usize>>, Corrupt> {
        let n = self.count(4, what)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.str(what)?);
        }
        Ok(v)
    }

    fn syms(&mut self) -> Result<Vec<Sym>, Corrupt> {
        let n = self.count(9, "symbol count")?;
        let mut syms = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.str("symbol name")?;
            let kind = match self.u8("symbol kind")? {
                KIND_FUNC => Kind::Func,
                KIND_DATA => Kind::Data,
                _ => {
                    return Err(Corrupt {
                        what: "symbol kind",
                        at: self.pos - 1,
                    })
                }
            };
            let value = self.u32("symbol value")?;
            syms.push(Sym { name, kind, value });
        }
        Ok(syms)
    }
}

impl Index {
    /// Decodes an encoded index, checking everything (lib ids, kinds, lengths, no trailing bytes)
    /// but the contents of the libraries' symbol blocks (see [`Lib::symbols`]).
    pub fn decode(bytes: impl Into<Cow<'static, [u8]>>) -> Result<Index, Corrupt> {
        let bytes: Cow<'static, [u8]> = bytes.into();
        let mut r = Reader {
            bytes: &bytes,
            pos: 0,
        };
        let magic = r.take(4, "magic")?;
        if slice(&bytes, &magic) != MAGIC {
            return Err(Corrupt {
                what: "magic",
                at: 0,
            });
        }
        if r.u32("version")? != VERSION {
            return Err(Corrupt {
                what: "version",
                at: 4,
            });
        }
        // A library takes at least 40 bytes: name length, path length, n_aliases, n_runpath,
        // table_size, mem_size, n_deps, n_funcs, sym_len, n_syms.
        let nlibs = r.count(40, "library count")?;
        let mut libs = Vec::with_capacity(nlibs);
        for _ in 0..nlibs {
            let name = r.str("library name")?;
            let path = r.str("library path")?;
            let aliases = r.strs("alias")?;
            let runpath = r.strs("runpath")?;
            let table_size = r.u32("table size")?;
            let mem_size = r.u32("memory size")?;
            let ndeps = r.count(4, "dependency count")?;
            let mut deps = Vec::with_capacity(ndeps);
            for _ in 0..ndeps {
                let at = r.pos;
                let dep = r.u32("dependency")?;
                if dep as usize >= nlibs {
                    return Err(Corrupt {
                        what: "dependency lib id",
                        at,
                    });
                }
                deps.push(dep);
            }
            let n_funcs = r.u32("function count")?;
            let sym_len = r.u32("symbol block length")?;
            let sym_bytes = r.take(sym_len as usize, "symbol block length")?;
            libs.push(Lib {
                name,
                path,
                aliases,
                runpath,
                table_size,
                mem_size,
                deps,
                n_funcs,
                sym_bytes,
                symbols: OnceCell::new(),
            });
        }
        let main_runpath = r.strs("main runpath")?;
        let main = r.syms()?;
        let nstartup = r.count(4, "start-up count")?;
        let mut startup = Vec::with_capacity(nstartup);
        for _ in 0..nstartup {
            let at = r.pos;
            let lib = r.u32("start-up library")?;
            if lib as usize >= nlibs {
                return Err(Corrupt {
                    what: "start-up lib id",
                    at,
                });
            }
            startup.push(lib);
        }
        if r.pos != bytes.len() {
            return Err(r.err("trailing bytes"));
        }

        let main = Symbols::build(main, &bytes);

        let mut by_path = NameTable::with_capacity(libs.len());
        let mut by_basename = HashTable::with_capacity(libs.len());
        for (i, l) in libs.iter().enumerate() {
            let lib = i as u32;
            for r in core::iter::once(&l.path).chain(&l.aliases) {
                if slice(&bytes, r).contains(&b'/') {
                    add_name(&mut by_path, &bytes, lib, r.clone());
                }
                let base_len = basename(slice(&bytes, r)).len();
                add_basename(&mut by_basename, &bytes, lib, r.end - base_len..r.end);
            }
        }
        Ok(Index {
            bytes,
            libs,
            main,
            startup,
            main_runpath,
            by_path,
            by_basename,
        })
    }

    /// The bytes of a name range.
    pub fn str(&self, r: &Range<usize>) -> &[u8] {
        slice(&self.bytes, r)
    }

    /// Finds the library `name` means (see [`wasm_dl_abi::path`]): `dirs` are the search
    /// directories of a name without `/` (`LD_LIBRARY_PATH`'s, then the caller's RUNPATH).
    pub fn find_lib<'d>(&self, name: &[u8], dirs: impl IntoIterator<Item = &'d [u8]>) -> Found {
        wasm_dl_abi::path::lookup(
            name,
            dirs,
            |p| {
                self.by_path
                    .find(hash(p), |(_, r)| slice(&self.bytes, r) == p)
                    .map(|(lib, _)| *lib)
            },
            |b| match self
                .by_basename
                .find(hash(b), |(_, r, _)| slice(&self.bytes, r) == b)
            {
                None => Basename::None,
                Some((_, _, true)) => Basename::Many,
                Some((lib, _, false)) => Basename::One(*lib),
            },
        )
    }

    /// The guest paths of the libraries whose basename (or an alias) is `base`, for messages.
    pub fn paths_with_basename(&self, base: &[u8]) -> Vec<&[u8]> {
        self.libs
            .iter()
            .filter(|l| {
                core::iter::once(&l.path)
                    .chain(&l.aliases)
                    .any(|r| basename(self.str(r)) == base)
            })
            .map(|l| self.str(&l.path))
            .collect()
    }
}

/// Library names (lib id, key range) keyed by the key bytes.
type NameTable = HashTable<(u32, Range<usize>)>;

/// Adds a basename of library `lib`: the first library keeps it; another marks it shared.
fn add_basename(
    table: &mut HashTable<(u32, Range<usize>, bool)>,
    bytes: &[u8],
    lib: u32,
    r: Range<usize>,
) {
    let key = slice(bytes, &r);
    let h = hash(key);
    match table.find_mut(h, |(_, k, _)| slice(bytes, k) == key) {
        Some((first, _, many)) => *many |= *first != lib,
        None => {
            table.insert_unique(h, (lib, r, false), |(_, k, _)| hash(slice(bytes, k)));
        }
    }
}

/// Adds a name of library `lib` unless the name is taken already (first wins).
fn add_name(table: &mut NameTable, bytes: &[u8], lib: u32, r: Range<usize>) {
    let key = slice(bytes, &r);
    let h = hash(key);
    if table.find(h, |(_, k)| slice(bytes, k) == key).is_none() {
        table.insert_unique(h, (lib, r), |(_, k)| hash(slice(bytes, k)));
    }
}
