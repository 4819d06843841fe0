//! The data pass 2 hands on: what every import is bound to ([`Resolution`]), and the names
//! of what it binds to.

use super::tags::TagSource;
use hashbrown::HashMap;
use wasmparser::FuncType;

/// Position of a library on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LibId(pub u32);

impl LibId {
    /// As a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One import of one library: its position in the library's import section, which is also its
/// position in `Resolution::bindings[lib]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LibImport {
    /// The importing library.
    pub lib: LibId,
    /// The import's position.
    pub index: u32,
}

/// Function symbol `k` of a library: its position in `Library::funcs` (export order); its
/// table slot is `table_base + table_size + k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncSym(pub u32);

impl FuncSym {
    /// As an index into `Library::funcs`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A data symbol's offset in bytes from its library's `__memory_base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataOffset(pub u32);

/// Tag `k` of a library: its position in `Library::tags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagSym(pub u32);

impl TagSym {
    /// As an index into `Library::tags`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a GOT entry (a mutable global shared by every library importing the same symbol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GotId(pub u32);

/// Where a function import is satisfied from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FuncSource {
    /// An export of the main module.
    Main(String),
    /// Function symbol `k` of a library.
    Lib(LibId, FuncSym),
    /// A function main imports from the component's host side (the dl shim's dlfcn.h functions,
    /// WASI): main re-exports its import (see `synth::main_module::reexport_name`).
    Reexport(HostImport),
    /// A weak undefined function: a stub that traps if called.
    Trap,
}

impl FuncSource {
    /// Whether this is the dl shim's `dlsym` (which a library reaches through a `dlsym` of its
    /// own, `synth::env::dlsym_from`, so that `RTLD_NEXT` knows the caller).
    pub fn is_dlsym(&self) -> bool {
        matches!(self, FuncSource::Reexport(h) if h.module == crate::DL_MODULE && h.field == "dlsym")
    }

    /// Whether this is the dl shim's `dlopen` (which a library reaches through a `dlopen` of
    /// its own, `synth::env::dlopen_from`, so that its RUNPATH is searched).
    pub fn is_dlopen(&self) -> bool {
        matches!(self, FuncSource::Reexport(h) if h.module == crate::DL_MODULE && h.field == "dlopen")
    }
}

/// The value a GOT entry holds once its target is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GotTarget {
    /// Weak undefined: 0.
    Null,
    /// Known at compose time: a main data address or a slot of main's own table.
    Abs(u32),
    /// `memory_base + offset` of a library.
    LibData(LibId, DataOffset),
    /// Function symbol `k` of a library: `table_base + table_size + k`.
    LibFunc(LibId, FuncSym),
}

/// How one import is bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `env.memory`: main's memory.
    Memory,
    /// `env.__indirect_function_table`: main's table.
    Table,
    /// `env.__stack_pointer`: main's exported stack pointer.
    StackPointer,
    /// `env.__stack_pointer` when main does not export its own: the library gets a stack of its
    /// own ([`OWN_STACK_SIZE`] bytes from main's `malloc`, when it is placed). Calls between
    /// modules nest, so each module's frames stay last-in first-out on its own stack.
    OwnStack,
    /// `env.__memory_base` of this library.
    MemoryBase,
    /// `env.__table_base` of this library.
    TableBase,
    /// A function.
    Func(FuncSource),
    /// A `GOT.mem`/`GOT.func` global.
    Got(GotId),
    /// A tag (exception handling).
    Tag(TagSource),
}

/// Bytes of the stack a library gets when main does not export `__stack_pointer`.
pub const OWN_STACK_SIZE: u32 = 64 * 1024;

/// Choices that change how resolution treats problems.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkOptions {
    /// Bind undefined strong functions to stubs that trap when called (and undefined data to
    /// address 0) instead of failing.
    pub stub_missing: bool,
    /// Treat duplicate definitions as errors instead of warnings.
    pub strict: bool,
}

/// The result of resolution.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Per library, per import (parallel to `Library::imports`).
    pub bindings: Vec<Vec<Binding>>,
    /// GOT entries, deduplicated by target.
    pub gots: Vec<GotTarget>,
    /// Per library, the libraries to load before it (NEEDED first), without itself.
    pub deps: Vec<Vec<LibId>>,
    /// The libraries some NEEDED entry (of main or of a library) names: those the program is
    /// linked against, rather than only `dlopen`s (`gc` keeps every export of the others).
    pub linked: Vec<LibId>,
    /// Human-readable notes (duplicate definitions: the first in load order won).
    pub warnings: Vec<String>,
    /// How each function main imports from a library is bound (parallel to
    /// `MainModule::lib_imports`): `Lib`, or `Trap` for a weak or stubbed undefined one.
    pub main_imports: Vec<FuncSource>,
    /// What each `GOT.mem`/`GOT.func` global main imports holds (parallel to
    /// `MainModule::got_imports`): a library's data address or function slot, or 0.
    pub main_gots: Vec<GotTarget>,
    /// Libraries loaded before main runs, as the executable's DT_NEEDED on Linux: main's NEEDED,
    /// then each other library that defines a function main imports.
    pub startup: Vec<LibId>,
    /// The host functions libraries call (sorted, unique): main re-exports them.
    pub reexports: Vec<HostImport>,
    /// The table slot of every function main exports (`&f` for main's `f`, everywhere): the slot
    /// main's own element segments give it, else one of [`Resolution::main_new_slots`].
    pub main_func_slots: HashMap<String, u32>,
    /// Exported functions of main that no element segment places, with the slot each gets after
    /// main's table (`MainModule::table_min` on, consecutive, by name): `synth::main_module`
    /// adds them with an active element segment, so that `dlsym(RTLD_DEFAULT, f)` finds every
    /// function main exports, at compose-time addresses.
    pub main_new_slots: Vec<(String, u32)>,
    /// NEEDED names no given file matches that wasm-dl provides itself (`libdl.so`, `libm.so.6`,
    /// ...: see [`wasm_dl_abi::system`]), sorted and unique. They add no dependency.
    pub system: Vec<String>,
    /// Tags wasm-dl defines in main (see `tags`): main's own `env` tag imports first, in import
    /// order, then those libraries import and no module defines, in the order first imported.
    pub main_tags: Vec<(String, FuncType)>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Def {
    /// Function symbol `k` of a library.
    Func(LibId, FuncSym),
    /// Data symbol of a library at this offset from its `__memory_base`.
    Data(LibId, DataOffset),
    /// Tag `k` of a library (`Library::tags`); tags are looked up in a map of their own.
    Tag(LibId, TagSym),
}

impl Def {
    /// The library that defines it.
    pub(crate) fn lib(self) -> LibId {
        let (Def::Func(l, _) | Def::Data(l, _) | Def::Tag(l, _)) = self;
        l
    }
}

/// A function imported from the component's host side (not from another module of the link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostImport {
    /// Import module (`wasm-dl`, `wasi_snapshot_preview1`, `wasi:io/streams@0.2.0`, ...).
    pub module: String,
    /// Import field.
    pub field: String,
    /// Its type.
    pub ty: FuncType,
}

impl HostImport {
    pub(super) fn new(module: &str, field: &str, ty: &FuncType) -> Self {
        HostImport {
            module: module.to_string(),
            field: field.to_string(),
            ty: ty.clone(),
        }
    }
}

/// Modules whose functions the component's host side provides to main: WASI (preview 1 through
/// the adapter, preview 2 interfaces directly).
pub fn is_host_module(module: &str) -> bool {
    module == "wasi_snapshot_preview1" || module.starts_with("wasi:")
}
