//! Pass 1: read the main module and the shared libraries into plain data.
//!
//! Nothing here decides anything; it only records what the inputs declare (imports, exports,
//! `dylink.0` metadata, where main's functions sit in its table) and rejects bytes that are not
//! the kind of module the role needs, naming the file and the flag that fixes it.

mod checks;
mod library;
mod main;

pub use library::{library, pic_main, Role};
pub(crate) use library::{read_library, read_library_as};
pub(crate) use main::read_main;
pub use main::{main_module, MainGot, MainImport, MainModule};

use anyhow::{anyhow, bail, Result};
use wasmparser::{BinaryReader, Chunk, FuncType, Operator, Parser, Payload, ValType, WasmFeatures};

/// What a core import asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// A function of this type.
    Func(FuncType),
    /// A global.
    Global {
        /// Its value type.
        ty: ValType,
        /// Whether it is declared mutable.
        mutable: bool,
    },
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// A tag (exception handling) whose payload is this function type's parameters.
    Tag(FuncType),
}

/// One import of a library.
#[derive(Clone, Debug)]
pub struct Import {
    /// Import module (`env`, `GOT.mem`, `GOT.func`, ...).
    pub module: String,
    /// Import field (the symbol name for symbols).
    pub field: String,
    /// What is imported.
    pub kind: ImportKind,
    /// `dylink.0` marks the symbol weak: unresolved is allowed and means 0.
    pub weak: bool,
}

/// A shared library as `wasm-ld -shared` wrote it.
#[derive(Clone, Debug)]
pub struct Library<'a> {
    /// The name it was given (path on the command line), for messages.
    pub name: String,
    /// The name `dlopen` finds it by (with its basename): `name`'s bytes, or the exact bytes of
    /// a file name that is not UTF-8.
    pub name_bytes: Vec<u8>,
    /// The module bytes (rewritten later by the synth pass).
    pub bytes: &'a [u8],
    /// MEM_INFO memory size in bytes.
    pub mem_size: u32,
    /// MEM_INFO memory alignment, log2.
    pub mem_align: u32,
    /// MEM_INFO table size (slots its element segments fill).
    pub table_size: u32,
    /// MEM_INFO table alignment, log2: the table base must be a multiple of `2^table_align`.
    pub table_align: u32,
    /// NEEDED names.
    pub needed: Vec<String>,
    /// Its `dylink.0` RUNPATH entries (`wasm-ld -rpath`), as written (`$ORIGIN` unexpanded).
    pub runpath: Vec<String>,
    /// Its guest path (see [`wasm_dl_abi::path`]): [`Library::name_bytes`] made absolute and
    /// normalized; set once every name is known (`resolve::search::assign_paths`).
    pub path: Vec<u8>,
    /// Every import, in order.
    pub imports: Vec<Import>,
    /// Exported functions that are symbols, in export order; slot k is `table_base + table_size + k`.
    pub funcs: Vec<(String, FuncType)>,
    /// Exported data symbols with their offset from `__memory_base`.
    pub data: Vec<(String, u32)>,
    /// The constructor entry point, if any (`__wasm_call_ctors` or `_initialize`).
    pub ctor: Option<String>,
    /// Whether `__wasm_call_dtors` is exported (run by `dlclose`).
    pub dtor: bool,
    /// Whether `__wasm_apply_data_relocs` is exported (LLVM 22 omits it when empty).
    pub apply_data_relocs: bool,
    /// Exported symbols `dylink.0` marks as weak definitions.
    pub weak_defs: hashbrown::HashSet<String>,
    /// Exports `dylink.0` EXPORT_INFO marks hidden or local: module exports, but not symbols
    /// (neither in [`Library::funcs`] / [`Library::data`] nor visible to `dlsym`).
    pub hidden: hashbrown::HashSet<String>,
    /// Exported tags that are symbols (exception handling: `__cpp_exception`, `__c_longjmp`, or
    /// a tag of its own), in export order, with their types.
    pub tags: Vec<(String, FuncType)>,
    /// Tables it defines itself (`wasm-ld -shared` defines none): each is a table of the
    /// component, which runtimes count (see `encode::MAX_STORE_TABLES`).
    pub own_tables: u32,
}

/// Largest MEM_INFO table alignment (log2) accepted: up to 2^16 - 1 padding slots per library.
pub const MAX_TABLE_ALIGN: u32 = 16;

/// The export of a WASI preview 2 command's entry point: `wasi:cli/run`'s `run`, `() -> result`
/// as `() -> i32` (a PIC main built with wasip2's `crt1-command.o` exports it; so does the root
/// module of an all-PIC set that uses preview 2, see `synth::root`).
pub const RUN_EXPORT: &str = "wasi:cli/run@0.2.0#run";

/// Most table slots main's table may reach: wasmparser's limit on a table's declared size
/// (`MAX_WASM_TABLE_ENTRIES`), 10 million slots (80 MB of table in wasmtime). One library asks
/// for at most this many (its MEM_INFO table size, one slot per exported function and the
/// alignment padding; checked at compose time), and the loader refuses to grow main's table past
/// it (`dlopen` then fails), so a runtime never tries to allocate a table it cannot hold.
pub const MAX_TABLE_SLOTS: u32 = 10_000_000;

/// Names wasm-ld synthesizes in a library's exports: linker entry points, not symbols.
/// (`__wasm_call_dtors` is a libc function and `_start` a PIC main's entry point: symbols.)
pub fn is_linker_entry(name: &str) -> bool {
    matches!(
        name,
        "__wasm_call_ctors"
            | "__wasm_apply_data_relocs"
            | "__wasm_apply_global_relocs"
            | "__wasm_apply_tls_relocs"
            | "__wasm_init_memory"
            | "__wasm_init_tls"
            | "__wasm_start"
            | "_initialize"
    )
}

/// One top-level section of a module or component, where it lies in its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionAt {
    /// The section id.
    pub id: u8,
    /// The whole section: id, size and contents.
    pub range: std::ops::Range<usize>,
    /// Its contents.
    pub contents: std::ops::Range<usize>,
}

/// The top-level sections of a module or component, from the section headers alone (no
/// section is read: a pass that needs one or two sections of a large module skips the rest for
/// free); `None` where the headers do not read.
pub fn section_headers(bytes: &[u8]) -> Option<Vec<SectionAt>> {
    let mut reader = wasmparser::BinaryReader::new(bytes, 0);
    reader.read_bytes(8).ok()?;
    let mut out = Vec::new();
    while !reader.eof() {
        let start = bytes.len() - reader.bytes_remaining();
        let id = reader.read_u8().ok()?;
        let size = reader.read_var_u32().ok()? as usize;
        let at = bytes.len() - reader.bytes_remaining();
        reader.read_bytes(size).ok()?;
        out.push(SectionAt {
            id,
            range: start..at + size,
            contents: at..at + size,
        });
    }
    Some(out)
}

/// The payloads of a core module as [`Parser::parse_all`] hands them out, but the code section
/// as its [`Payload::CodeSectionStart`] alone, not one [`Payload::CodeSectionEntry`] per body:
/// for passes that read the module's other sections and the code section whole (a large
/// library has tens of thousands of bodies; their validation reads them one by one).
pub fn sections(bytes: &[u8]) -> impl Iterator<Item = wasmparser::Result<Payload<'_>>> {
    let mut parser = Parser::new(0);
    let mut rest = bytes;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let (payload, consumed) = match parser.parse(rest, true) {
            Ok(Chunk::Parsed { payload, consumed }) => (payload, consumed),
            Ok(Chunk::NeedMoreData(_)) => {
                // Not with `eof` (as in `parse_all`); reported as the end the parser wanted.
                done = true;
                let at = (bytes.len() - rest.len()) as u64;
                return BinaryReader::new(&[], at).read_u8().err().map(Err);
            }
            Err(e) => {
                done = true;
                return Some(Err(e));
            }
        };
        rest = rest.get(consumed..).unwrap_or_default();
        match &payload {
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                rest = rest.get(*size as usize..).unwrap_or_default();
            }
            Payload::End(_) => done = true,
            _ => {}
        }
        Some(Ok(payload))
    })
}

/// Features the composer accepts in inputs: what wasm-ld emits by default plus common extensions.
pub fn features() -> WasmFeatures {
    WasmFeatures::default()
}

fn validate(name: &str, bytes: &[u8]) -> Result<()> {
    check_kind(name, bytes)?;
    crate::validate::inputs(&[(name, bytes)])?;
    Ok(())
}

/// Validates input modules (`(name, bytes)`), every function body once, on all cores, in
/// threads of `scope` (see [`crate::validate::inputs_in`]: wait for the [`crate::validate::Pending`]
/// before accepting anything made from the bodies); the error names the first invalid input in
/// the order given.
pub fn validate_inputs<'scope, 'a: 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    inputs: &[(&str, &'a [u8])],
) -> Result<(
    Vec<crate::validate::ValidatedModule<'a>>,
    crate::validate::Pending<'scope, 'a>,
)> {
    for (name, bytes) in inputs {
        check_kind(name, bytes)?;
    }
    crate::validate::inputs_in(scope, inputs)
}

/// Rejects what is not a core module, naming what it is.
fn check_kind(name: &str, bytes: &[u8]) -> Result<()> {
    if !bytes.starts_with(b"\0asm") {
        bail!("{name}: not a WebAssembly file (it does not start with the `\\0asm` magic)");
    }
    if Parser::is_component(bytes) {
        bail!("{name}: is a component; wasm-dl takes core modules built by clang/wasm-ld");
    }
    Ok(())
}

/// The function types of a type section; a type the GC proposal adds (struct, array, a
/// recursion group) is an error naming the file.
fn read_func_types(name: &str, reader: wasmparser::TypeSectionReader<'_>) -> Result<Vec<FuncType>> {
    let mut types = Vec::new();
    for ty in reader.into_iter_err_on_gc_types() {
        types.push(ty.map_err(|e| {
            anyhow!(
                "{name}: its type section uses the GC proposal (struct, array or recursive \
                 types; {e}), which wasm-dl does not support: build it for plain wasm32 \
                 (clang/wasm-ld emit none)"
            )
        })?);
    }
    Ok(types)
}

fn const_i32(expr: &wasmparser::ConstExpr<'_>) -> Option<i32> {
    let mut ops = expr.get_operators_reader();
    let first = ops.read().ok()?;
    let end = ops.read().ok()?;
    match (first, end) {
        (Operator::I32Const { value }, Operator::End) => Some(value),
        _ => None,
    }
}
