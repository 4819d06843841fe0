//! The dynamic-linker state machine behind `dlopen`/`dlsym`/`dlclose`.
//!
//! Plain Rust with no knowledge of the component model: the wasm glue in `lib.rs` forwards here.

mod addr;
mod find;
mod msg;

use crate::index::{Corrupt, Index, Kind, Sym};
use alloc::vec;
use alloc::vec::Vec;
use msg::Msg;

// A library's `RTLD_NEXT` arrives as [`Dl::sym_next`], through a `dlsym` of its own that the
// composer gives it, so `Handle::NEXT` is always main's.
pub use wasm_dl_abi::dl::{
    Handle, RTLD_DEEPBIND, RTLD_GLOBAL, RTLD_KNOWN, RTLD_LAZY, RTLD_NODELETE, RTLD_NOLOAD,
    RTLD_NOW, SCOPE_MAIN,
};

/// Why a library of a load list could not be placed (see [`Dl::abort`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Main's `malloc` failed.
    Memory,
    /// Main's table cannot grow by the library's slots.
    Table,
    /// Main's `ftalloc` failed.
    Allocator,
    /// Main's `ftalloc` returned a range that is not usable.
    AllocatorRange,
}

/// What `open` decided.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    /// The handle for `dlopen` ([`Handle::DEFAULT`], `NULL`, only for an `RTLD_NOLOAD` miss).
    pub handle: Handle,
    /// Libraries to load now, dependencies first.
    pub load: Vec<u32>,
}

/// A NUL-terminated error message.
pub type Error = Vec<u8>;

/// What `dladdr` reports about an address.
#[derive(Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// The library's name as given at compose time, NUL-terminated.
    pub fname: Vec<u8>,
    /// Its memory base.
    pub fbase: u32,
    /// The nearest symbol at or below the address, NUL-terminated; empty when there is none.
    pub sname: Vec<u8>,
    /// That symbol's value (0 when there is none).
    pub saddr: u32,
    /// The library's id: the shim looks the symbol up in its table when `sname` is empty.
    pub lib: u32,
    /// Whether `address` is one of the library's function slots (else in its memory).
    pub function: bool,
}

/// Per-library runtime state.
#[derive(Clone, Default, Debug)]
struct LibState {
    /// In memory (or about to be: the shim loads the libraries `open` lists).
    loaded: bool,
    /// `dlopen` count minus `dlclose` count.
    refcount: u32,
    memory_base: u32,
    table_base: u32,
    /// In the global scope: opened `RTLD_GLOBAL`, or a dependency of a library that was
    /// (as in glibc). Cleared when unloaded.
    global: bool,
    /// Ever opened with `RTLD_NODELETE`: never unloaded.
    nodelete: bool,
    /// The names it was loaded and found by while loaded, cleared when unloaded: the name
    /// `dlopen` first loaded it by if that is a path (has a `/`; at most one such entry), which
    /// glibc keeps as the object's name (`l_name`) and puts in `dlsym`'s error, e.g.
    /// `./mod.so: undefined symbol: f` (Lua's `require` prints it); and every name without `/`
    /// a `dlopen` or a NEEDED entry found it by, which a later `dlopen` of that name returns
    /// before any search, as glibc matches loaded objects' names first.
    names: Vec<Vec<u8>>,
}

/// The dl state of one composition.
pub struct Dl {
    index: Result<Index, Corrupt>,
    libs: Vec<LibState>,
    /// Loaded libraries, in load order.
    load_order: Vec<u32>,
    /// The global scope after main: libraries in the order they became global (as glibc adds a
    /// library opened `RTLD_GLOBAL`, and its dependencies, at the end of the global list).
    global_order: Vec<u32>,
    /// How to undo the last `open` (see [`Dl::abort`]).
    undo: Option<Undo>,
    /// `LD_LIBRARY_PATH` of the component's environment (`None`: not set).
    library_path: Option<Vec<u8>>,
}

/// The state an `open` changed, for [`Dl::abort`].
#[derive(Debug)]
struct Undo {
    lib: u32,
    load: Vec<u32>,
    load_order_len: usize,
    global_order_len: usize,
    nodelete: bool,
}

fn invalid_handle() -> Error {
    Msg::new("dlsym: invalid handle").end()
}

fn corrupt(c: &Corrupt) -> Error {
    Msg::new("wasm-dl: the library index is corrupt (bad ")
        .s(c.what)
        .s(" at byte ")
        .dec(c.at)
        .s(")")
        .end()
}

impl Dl {
    /// A state machine over an encoded index (a malformed index makes every call fail; a
    /// malformed symbol block of a library, every symbol lookup in that library).
    pub fn new(index: impl Into<alloc::borrow::Cow<'static, [u8]>>) -> Dl {
        let index = Index::decode(index);
        let n = index.as_ref().map_or(0, |i| i.libs.len());
        Dl {
            index,
            libs: vec![LibState::default(); n],
            load_order: Vec::new(),
            global_order: Vec::new(),
            undo: None,
            library_path: None,
        }
    }

    /// The decoded index, or the corrupt-index message.
    #[inline(always)]
    fn index(&self) -> Result<&Index, Error> {
        self.index.as_ref().map_err(corrupt)
    }

    /// `dlopen(name, mode)` from main; `None` is `dlopen(NULL)`.
    pub fn open(&mut self, name: Option<&[u8]>, mode: i32) -> Result<Opened, Error> {
        self.open_from(None, name, mode)
    }

    /// `dlopen(name, mode)` from library `caller` (`None`: from main), whose RUNPATH a name
    /// without `/` is searched in after `LD_LIBRARY_PATH`.
    pub fn open_from(
        &mut self,
        caller: Option<u32>,
        name: Option<&[u8]>,
        mode: i32,
    ) -> Result<Opened, Error> {
        let index = self.index.as_ref().map_err(corrupt)?;
        if mode & (RTLD_LAZY | RTLD_NOW) == 0 {
            return Err(Msg::new("dlopen: invalid mode ")
                .hex(mode as u32)
                .s(": one of RTLD_LAZY or RTLD_NOW is required")
                .end());
        }
        let unknown = mode & !RTLD_KNOWN;
        if unknown != 0 {
            return Err(Msg::new("dlopen: invalid mode ")
                .hex(mode as u32)
                .s(": unknown flag bits ")
                .hex(unknown as u32)
                .end());
        }
        let Some(name) = name else {
            return Ok(Opened {
                handle: Handle::GLOBAL,
                load: Vec::new(),
            });
        };
        let found = self.find(index, caller, name)?;
        let Some(lib) = found.lib() else {
            // libdl.so.2, libm.so.6, ...: their functions are libc's and ours, in the global
            // scope; glibc's dlopen of them succeeds too (also with RTLD_NOLOAD: always loaded).
            if wasm_dl_abi::system::is_system_library(name) {
                return Ok(Opened {
                    handle: Handle::GLOBAL,
                    load: Vec::new(),
                });
            }
            return Err(Msg::new("")
                .b(name)
                .s(": cannot open shared object file: No such file or directory")
                .end());
        };
        let Some(state) = self.libs.get(lib as usize) else {
            return Err(corrupt(&Corrupt {
                what: "library id",
                at: 0,
            }));
        };
        // Like glibc, RTLD_NOLOAD succeeds for a library already in memory, also one loaded
        // only as a dependency of another.
        if mode & RTLD_NOLOAD != 0 && !state.loaded {
            return Ok(Opened {
                handle: Handle::DEFAULT,
                load: Vec::new(),
            });
        }
        let first_load = !state.loaded;
        let opened = self.open_id(lib, mode);
        if first_load && name.contains(&b'/') {
            if let Some(s) = self.libs.get_mut(lib as usize) {
                s.names.push(Vec::from(name));
            }
        }
        self.requested_by(lib, name);
        Ok(opened)
    }

    /// The libraries main was linked against, as a dynamic linker loads an executable's NEEDED
    /// list before it runs: each opened `RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE` (so never
    /// unloaded, and in the global scope right after main). Returns what to load now,
    /// dependencies first. The shim calls it once, before main's `_start`.
    pub fn startup(&mut self) -> Result<Vec<u32>, Error> {
        let startup = self.index()?.startup.clone();
        let mut load = Vec::new();
        for lib in startup {
            load.extend(
                self.open_id(lib, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE)
                    .load,
            );
            self.requested_by_needed(lib);
        }
        Ok(load)
    }

    /// Opens library `lib` (an id of the index) with a valid `mode`.
    fn open_id(&mut self, lib: u32, mode: i32) -> Opened {
        let load = self.load_list(lib);
        self.undo = Some(Undo {
            lib,
            load: load.clone(),
            load_order_len: self.load_order.len(),
            global_order_len: self.global_order.len(),
            nodelete: self.libs.get(lib as usize).is_some_and(|s| s.nodelete),
        });
        for &l in &load {
            if let Some(s) = self.libs.get_mut(l as usize) {
                s.loaded = true;
            }
            self.load_order.push(l);
            if l != lib {
                self.requested_by_needed(l);
            }
        }
        if let Some(s) = self.libs.get_mut(lib as usize) {
            s.refcount = s.refcount.saturating_add(1);
            s.nodelete |= mode & RTLD_NODELETE != 0;
        }
        if mode & RTLD_GLOBAL != 0 {
            self.make_global(lib);
        }
        Opened {
            handle: Handle::of_lib(lib),
            load,
        }
    }

    /// Undoes the last `open` of `handle`, whose library `failed` could not be placed (`why`,
    /// before any constructor ran): as if it had not happened. Returns the message for
    /// `dlerror`.
    pub fn abort(&mut self, handle: Handle, failed: u32, why: Failure) -> Error {
        let name = self
            .index
            .as_ref()
            .ok()
            .and_then(|i| {
                i.libs
                    .get(failed as usize)
                    .map(|l| Vec::from(i.str(&l.name)))
            })
            .unwrap_or_default();
        let msg = Msg::new("")
            .b(&name)
            .s(match why {
                Failure::Memory => ": cannot load shared object: out of memory",
                Failure::Table => {
                    ": cannot load shared object: out of table space (the function table \
                     cannot grow by its slots)"
                }
                Failure::Allocator => {
                    ": cannot load shared object: out of table space (main's ftalloc gave no \
                     slots)"
                }
                Failure::AllocatorRange => {
                    ": cannot load shared object: main's ftalloc returned slots wasm-dl cannot \
                     use (0, not aligned as asked, or past the table's size)"
                }
            })
            .end();
        let Some(undo) = self.undo.take() else {
            return msg;
        };
        if handle.lib() != Some(undo.lib) {
            return msg;
        }
        for &l in &undo.load {
            if let Some(s) = self.libs.get_mut(l as usize) {
                s.loaded = false;
                s.names.clear();
            }
        }
        self.load_order.truncate(undo.load_order_len);
        for &l in self
            .global_order
            .get(undo.global_order_len..)
            .unwrap_or(&[])
        {
            if let Some(s) = self.libs.get_mut(l as usize) {
                s.global = false;
            }
        }
        self.global_order.truncate(undo.global_order_len);
        if let Some(s) = self.libs.get_mut(undo.lib as usize) {
            s.refcount = s.refcount.saturating_sub(1);
            s.nodelete = undo.nodelete;
        }
        msg
    }

    /// Puts `lib` and everything it depends on (transitively) into the global scope.
    fn make_global(&mut self, lib: u32) {
        let Ok(index) = &self.index else {
            return;
        };
        // Breadth-first from `lib`, as glibc walks the new object's search list.
        let mut queue = vec![lib];
        let mut i = 0;
        while let Some(&l) = queue.get(i) {
            i += 1;
            match self.libs.get_mut(l as usize) {
                Some(s) if !s.global => s.global = true,
                _ => continue,
            }
            self.global_order.push(l);
            if let Some(x) = index.libs.get(l as usize) {
                queue.extend(x.deps.iter().copied());
            }
        }
    }

    /// `lib` and its dependencies not loaded yet, dependencies first (post-order DFS over the
    /// dependency lists, each library once; cycles are cut where they close).
    fn load_list(&self, lib: u32) -> Vec<u32> {
        let Ok(index) = &self.index else {
            return Vec::new();
        };
        let is_loaded = |l: u32| self.libs.get(l as usize).is_none_or(|s| s.loaded);
        let deps = |l: u32| index.libs.get(l as usize).map_or(&[][..], |x| &x.deps[..]);
        wasm_dl_abi::order::load_order(lib, index.libs.len(), deps, is_loaded)
    }

    /// Records where the loader placed library `lib` (bad lib ids are ignored).
    pub fn loaded(&mut self, lib: u32, memory_base: u32, table_base: u32) {
        if let Some(s) = self.libs.get_mut(lib as usize) {
            s.memory_base = memory_base;
            s.table_base = table_base;
        }
    }

    /// The value of a library's symbol (a table slot or an address).
    #[inline]
    fn lib_value(&self, index: &Index, lib: u32, sym: &Sym) -> u32 {
        let Some(s) = self.libs.get(lib as usize) else {
            return 0;
        };
        match sym.kind {
            Kind::Func => {
                let table_size = index.libs.get(lib as usize).map_or(0, |l| l.table_size);
                s.table_base
                    .wrapping_add(table_size)
                    .wrapping_add(sym.value)
            }
            Kind::Data => s.memory_base.wrapping_add(sym.value),
        }
    }

    /// Looks `name` up in library `lib` alone (fails if its symbol block is corrupt).
    #[inline]
    fn find_in(&self, index: &Index, lib: u32, name: &[u8]) -> Result<Option<u32>, Error> {
        let Some(l) = index.libs.get(lib as usize) else {
            return Ok(None);
        };
        let syms = l.symbols(&index.bytes).map_err(|c| corrupt(&c))?;
        Ok(syms
            .syms
            .get(&index.bytes, name)
            .map(|sym| self.lib_value(index, lib, sym)))
    }

    /// `dlsym(handle, name)`.
    pub fn sym(&self, handle: Handle, name: &[u8]) -> Result<u32, Error> {
        self.sym_before(handle, name, u32::MAX)
    }

    /// `dlsym(handle, name)` searching only the first `before` entries of the handle's search
    /// order ([`Dl::scope`]): the shim, which holds the names of the libraries with a shim
    /// table (their symbol blocks here are empty), asks for the entries before its own first
    /// hit. The error (also when `before` cut the search short) is `dlsym`'s for a name found
    /// nowhere.
    pub fn sym_before(&self, handle: Handle, name: &[u8], before: u32) -> Result<u32, Error> {
        let index = self.index()?;
        let undefined = |who: &[u8]| Msg::new("").b(who).s(": undefined symbol: ").b(name).end();
        match handle {
            Handle::DEFAULT | Handle::GLOBAL | Handle::NEXT => {
                let main = handle != Handle::NEXT;
                if main && before > 0 {
                    if let Some(sym) = index.main.get(&index.bytes, name) {
                        return Ok(sym.value);
                    }
                }
                // The global scope: main, then the RTLD_GLOBAL libraries. RTLD_NEXT from main:
                // the global scope after main.
                let skip = usize::from(main && !index.main.syms.is_empty());
                let n = (before as usize).saturating_sub(skip);
                for &lib in self.global_order.iter().take(n) {
                    if let Some(v) = self.find_in(index, lib, name)? {
                        return Ok(v);
                    }
                }
                Err(undefined(match main {
                    true => b"main program",
                    false => b"dlsym(RTLD_NEXT)",
                }))
            }
            _ => {
                let Some(lib) = self.open_lib(handle) else {
                    return Err(invalid_handle());
                };
                // The library (without allocating: the common case), then its dependencies
                // breadth-first.
                if before > 0 {
                    if let Some(v) = self.find_in(index, lib, name)? {
                        return Ok(v);
                    }
                }
                let scope = self.local_scope(index, lib);
                for &l in scope.iter().take(before as usize).skip(1) {
                    if let Some(v) = self.find_in(index, l, name)? {
                        return Ok(v);
                    }
                }
                let who = match self
                    .libs
                    .get(lib as usize)
                    .and_then(|s| s.names.iter().find(|n| n.contains(&b'/')))
                {
                    Some(path) => path.as_slice(),
                    None => index
                        .libs
                        .get(lib as usize)
                        .map_or(&[][..], |l| index.str(&l.name)),
                };
                Err(undefined(who))
            }
        }
    }

    /// The search order of `dlsym(handle)`, as lib ids and [`SCOPE_MAIN`] for main's own
    /// symbols (only when it has some): `RTLD_DEFAULT` and `dlopen(NULL)`'s handle, main and
    /// then the global scope in the order libraries joined it; `RTLD_NEXT` (main's), the
    /// global scope; a library handle (open), its library and its dependencies breadth-first.
    pub fn scope(&self, handle: Handle) -> Result<Vec<u32>, Error> {
        let index = self.index()?;
        match handle {
            Handle::DEFAULT | Handle::GLOBAL => {
                let main = (!index.main.syms.is_empty()).then_some(SCOPE_MAIN);
                Ok(main
                    .into_iter()
                    .chain(self.global_order.iter().copied())
                    .collect())
            }
            Handle::NEXT => Ok(self.global_order.clone()),
            _ => match self.open_lib(handle) {
                Some(lib) => Ok(self.local_scope(index, lib)),
                None => Err(invalid_handle()),
            },
        }
    }

    /// `dlsym(RTLD_NEXT, name)` called from library `caller`: from a library in the global
    /// scope, the global scope after it; from one opened RTLD_LOCAL, its own dependencies (its
    /// local scope after itself).
    pub fn sym_next(&self, caller: u32, name: &[u8]) -> Result<u32, Error> {
        self.sym_next_before(caller, name, u32::MAX)
    }

    /// [`Dl::sym_next`] searching only the first `before` entries of [`Dl::scope_next`] (see
    /// [`Dl::sym_before`]).
    pub fn sym_next_before(&self, caller: u32, name: &[u8], before: u32) -> Result<u32, Error> {
        let index = self.index()?;
        for lib in self.scope_next(caller)?.into_iter().take(before as usize) {
            if let Some(v) = self.find_in(index, lib, name)? {
                return Ok(v);
            }
        }
        Err(Msg::new("dlsym(RTLD_NEXT): undefined symbol: ")
            .b(name)
            .end())
    }

    /// The search order of `dlsym(RTLD_NEXT)` from library `caller` (see [`Dl::sym_next`]).
    pub fn scope_next(&self, caller: u32) -> Result<Vec<u32>, Error> {
        let index = self.index()?;
        if index.libs.get(caller as usize).is_none() {
            return Err(corrupt(&Corrupt {
                what: "library id",
                at: 0,
            }));
        }
        Ok(match self.global_order.iter().position(|&l| l == caller) {
            Some(p) => self.global_order.get(p + 1..).unwrap_or(&[]).to_vec(),
            None => {
                let mut scope = self.local_scope(index, caller);
                scope.retain(|&l| l != caller);
                scope
            }
        })
    }

    /// `lib` and its dependencies, breadth-first, each once: the library's local scope.
    fn local_scope(&self, index: &Index, lib: u32) -> Vec<u32> {
        let mut seen = vec![false; index.libs.len()];
        let mut queue = vec![lib];
        if let Some(s) = seen.get_mut(lib as usize) {
            *s = true;
        }
        let mut i = 0;
        while let Some(&l) = queue.get(i) {
            i += 1;
            for &d in index.libs.get(l as usize).map_or(&[][..], |x| &x.deps[..]) {
                if let Some(s) = seen.get_mut(d as usize) {
                    if !*s {
                        *s = true;
                        queue.push(d);
                    }
                }
            }
        }
        queue
    }

    /// The lib id of a library handle that is currently open.
    #[inline(always)]
    fn open_lib(&self, handle: Handle) -> Option<u32> {
        let lib = handle.lib()?;
        self.libs
            .get(lib as usize)
            .filter(|s| s.refcount > 0)
            .map(|_| lib)
    }

    /// `dlclose(handle)`: the libraries whose destructors must run now, in order.
    pub fn close(&mut self, handle: Handle) -> Result<Vec<u32>, Error> {
        self.index()?;
        if handle == Handle::GLOBAL {
            // dlclose(dlopen(NULL)) succeeds and does nothing, as in glibc.
            return Ok(Vec::new());
        }
        let Some(lib) = self.open_lib(handle) else {
            return Err(Msg::new("dlclose: invalid handle ").hex(handle.0).end());
        };
        let mut fini = Vec::new();
        if let Some(s) = self.libs.get_mut(lib as usize) {
            s.refcount = s.refcount.saturating_sub(1);
            if s.refcount == 0 && !s.nodelete {
                fini = self.unload();
            }
        }
        Ok(fini)
    }

    /// Unloads what is no longer needed after a reference count reached 0, and returns those
    /// libraries in destructor order (reverse load order: dependents before their dependencies).
    ///
    /// A loaded library stays loaded while it is reachable, through dependency lists, from a
    /// library that is open (`refcount > 0`) or was ever opened `RTLD_NODELETE` (glibc's rule;
    /// cycles are handled because reachability is computed, not counted). Unloaded libraries
    /// leave the global scope and are loaded (and constructed) again by a later `dlopen`.
    fn unload(&mut self) -> Vec<u32> {
        let Ok(index) = &self.index else {
            return Vec::new();
        };
        let mut keep = vec![false; self.libs.len()];
        let mut stack: Vec<u32> = Vec::new();
        for &l in &self.load_order {
            let root = self
                .libs
                .get(l as usize)
                .is_some_and(|s| s.refcount > 0 || s.nodelete);
            if root {
                stack.push(l);
            }
        }
        while let Some(l) = stack.pop() {
            match keep.get_mut(l as usize) {
                Some(k) if !*k => *k = true,
                _ => continue,
            }
            if let Some(x) = index.libs.get(l as usize) {
                stack.extend(x.deps.iter().copied());
            }
        }
        let mut fini = Vec::new();
        for &l in self.load_order.iter().rev() {
            if !keep.get(l as usize).copied().unwrap_or(true) {
                fini.push(l);
            }
        }
        for &l in &fini {
            if let Some(s) = self.libs.get_mut(l as usize) {
                s.loaded = false;
                s.global = false;
                s.refcount = 0;
                s.names.clear();
            }
        }
        self.load_order
            .retain(|&l| keep.get(l as usize).copied().unwrap_or(true));
        self.global_order
            .retain(|&l| keep.get(l as usize).copied().unwrap_or(true));
        fini
    }

    /// The current reference count of library `lib` (tests and diagnostics).
    pub fn refcount(&self, lib: u32) -> u32 {
        self.libs.get(lib as usize).map_or(0, |s| s.refcount)
    }

    /// Whether library `lib` is loaded (or pending load).
    pub fn is_loaded(&self, lib: u32) -> bool {
        self.libs.get(lib as usize).is_some_and(|s| s.loaded)
    }
}
