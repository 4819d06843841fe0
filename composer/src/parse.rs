//! Pass 1: read the main module and the shared libraries into plain data.
//!
//! Nothing here decides anything; it only records what the inputs declare (imports, exports,
//! `dylink.0` metadata, where main's functions sit in its table) and rejects bytes that are not
//! the kind of module the role needs, naming the file and the flag that fixes it.

use crate::Input;
use anyhow::{anyhow, bail, Context, Result};
use hashbrown::HashMap;
use wasmparser::{
    Dylink0Subsection, ElementItems, ElementKind, ExternalKind, FuncType, KnownCustom, Operator,
    Parser, Payload, SymbolFlags, TypeRef, ValType, Validator, WasmFeatures,
};

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
    /// A tag (exception handling); never satisfiable here.
    Tag,
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
#[derive(Debug)]
pub struct Library<'a> {
    /// The name it was given (path on the command line); `dlopen` finds it by this and its basename.
    pub name: String,
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
}

/// Largest MEM_INFO table alignment (log2) accepted: up to 2^16 - 1 padding slots per library.
pub const MAX_TABLE_ALIGN: u32 = 16;

/// The main module: a stock non-PIC `wasm-ld` command.
#[derive(Debug)]
pub struct MainModule<'a> {
    /// The name it was given (for messages).
    pub name: String,
    /// The module bytes.
    pub bytes: &'a [u8],
    /// Exported functions: name → (function index, type).
    pub funcs: HashMap<String, (u32, FuncType)>,
    /// Exported immutable i32 globals with constant values: name → absolute address.
    pub data: HashMap<String, u32>,
    /// Whether `__stack_pointer` is exported (mutable i32).
    pub stack_pointer: bool,
    /// Whether a memory is exported as `memory`.
    pub memory_export: bool,
    /// Function index → table slot, for functions main's own element segments place.
    pub elem_slots: HashMap<u32, u32>,
    /// Names main imports from the `wasm-dl` module (its `dl*` calls).
    pub dl_imports: Vec<String>,
    /// Whether main defines (not imports) table 0.
    pub defines_table: bool,
    /// Synthesized by the composer for an all-PIC input set (`synth::root`).
    pub synthesized: bool,
    /// Functions main imports from the host side (`wasm-dl`, WASI): (module, field).
    pub host_imports: Vec<(String, String)>,
    /// NEEDED names of its `dylink.0` (wasm-ld writes them when main is linked against a `.so`).
    pub needed: Vec<String>,
    /// Functions main imports from `env`: defined by a library it was linked against (or left
    /// undefined with `--allow-undefined`), in import order.
    pub lib_imports: Vec<MainImport>,
}

/// A function the main module imports from a library.
#[derive(Clone, Debug)]
pub struct MainImport {
    /// Its function index in main (an import, so below main's first defined function).
    pub func: u32,
    /// The symbol name (`env.<name>`).
    pub name: String,
    /// Its type.
    pub ty: FuncType,
    /// Its type's index in main's type section.
    pub type_index: u32,
    /// `dylink.0` marks it weak: unresolved is allowed (calling it then traps, as calling NULL).
    pub weak: bool,
}

impl MainModule<'_> {
    /// The table slot of main's PLT entry for its import `name`, when main's own element
    /// segments place it (main takes the function's address): its canonical address.
    pub fn canonical_plt_slot(&self, name: &str) -> Option<u32> {
        let imp = self.lib_imports.iter().find(|i| i.name == name)?;
        self.elem_slots.get(&imp.func).copied()
    }
}

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

/// Features the composer accepts in inputs: what wasm-ld emits by default plus common extensions.
pub fn features() -> WasmFeatures {
    WasmFeatures::default()
}

fn validate(name: &str, bytes: &[u8]) -> Result<()> {
    if !bytes.starts_with(b"\0asm") {
        bail!("{name}: not a WebAssembly file (it does not start with the `\\0asm` magic)");
    }
    if Parser::is_component(bytes) {
        bail!("{name}: is a component; wasm-dl takes core modules built by clang/wasm-ld");
    }
    Validator::new_with_features(features())
        .validate_all(bytes)
        .map_err(|e| anyhow!("{name}: invalid WebAssembly module: {e}"))?;
    Ok(())
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

/// Reads a shared library.
pub fn library(input: &Input) -> Result<Library<'_>> {
    let name = &input.name;
    validate(name, &input.bytes)?;
    let mut lib = Library {
        name: name.clone(),
        bytes: &input.bytes,
        mem_size: 0,
        mem_align: 0,
        table_size: 0,
        table_align: 0,
        needed: Vec::new(),
        imports: Vec::new(),
        funcs: Vec::new(),
        data: Vec::new(),
        ctor: None,
        dtor: false,
        apply_data_relocs: false,
        weak_defs: hashbrown::HashSet::new(),
        hidden: hashbrown::HashSet::new(),
    };
    let mut has_dylink = false;
    let mut weak: hashbrown::HashSet<String> = hashbrown::HashSet::new();
    let mut tls: Vec<String> = Vec::new();
    let mut tls_imports: Vec<String> = Vec::new();
    let mut shared_memory: Option<String> = None;
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut global_values: Vec<Option<i32>> = Vec::new();
    let mut global_mutable: Vec<bool> = Vec::new();
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();

    for payload in Parser::new(0).parse_all(&input.bytes) {
        match payload.with_context(|| format!("{name}: malformed module"))? {
            Payload::CustomSection(c) => {
                if let KnownCustom::Dylink0(reader) = c.as_known() {
                    has_dylink = true;
                    for sub in reader {
                        let sub = sub.with_context(|| format!("{name}: malformed `dylink.0`"))?;
                        match sub {
                            Dylink0Subsection::MemInfo(m) => {
                                let align = 1u64 << m.memory_alignment.min(63);
                                if m.memory_alignment > 31
                                    || m.memory_size as u64 + align - 1 > u32::MAX as u64
                                {
                                    bail!(
                                        "{name}: `dylink.0` MEM_INFO asks for {} bytes aligned to \
                                         2^{}, more than a 32-bit memory holds",
                                        m.memory_size,
                                        m.memory_alignment
                                    );
                                }
                                if m.table_alignment > MAX_TABLE_ALIGN {
                                    bail!(
                                        "{name}: `dylink.0` MEM_INFO asks for a table alignment of \
                                         2^{}; wasm-dl places tables aligned to at most \
                                         2^{MAX_TABLE_ALIGN} slots: link it with `wasm-ld -shared`, which asks for 2^0",
                                        m.table_alignment
                                    );
                                }
                                lib.mem_size = m.memory_size;
                                lib.mem_align = m.memory_alignment;
                                lib.table_size = m.table_size;
                                lib.table_align = m.table_alignment;
                            }
                            Dylink0Subsection::Needed(n) => {
                                lib.needed.extend(n.iter().map(|s| s.to_string()))
                            }
                            Dylink0Subsection::ExportInfo(infos) => {
                                for i in infos {
                                    if i.flags.contains(SymbolFlags::TLS) {
                                        tls.push(i.name.to_string());
                                    }
                                    if i.flags.contains(SymbolFlags::BINDING_WEAK) {
                                        lib.weak_defs.insert(i.name.to_string());
                                    }
                                    if i.flags.intersects(
                                        SymbolFlags::VISIBILITY_HIDDEN | SymbolFlags::BINDING_LOCAL,
                                    ) {
                                        lib.hidden.insert(i.name.to_string());
                                    }
                                }
                            }
                            Dylink0Subsection::ImportInfo(infos) => {
                                for i in infos {
                                    // wasm-ld names the symbol's module `env` here even when it
                                    // is imported from `GOT.mem`/`GOT.func`.
                                    let w = i.flags.contains(SymbolFlags::BINDING_WEAK);
                                    if w {
                                        weak.insert(i.field.to_string());
                                    }
                                    if i.flags.contains(SymbolFlags::TLS) {
                                        tls_imports.push(i.field.to_string());
                                    }
                                }
                            }
                            Dylink0Subsection::RuntimePath(_)
                            | Dylink0Subsection::Unknown { .. } => {}
                        }
                    }
                }
            }
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.with_context(|| format!("{name}: malformed type section"))?);
                }
            }
            Payload::ImportSection(reader) => {
                for imp in reader.into_imports() {
                    let imp = imp.with_context(|| format!("{name}: malformed import section"))?;
                    let kind = match imp.ty {
                        TypeRef::Func(t) => {
                            func_types.push(t);
                            ImportKind::Func(types.get(t as usize).cloned().ok_or_else(|| {
                                anyhow!("{name}: import `{}` uses an unknown type", imp.name)
                            })?)
                        }
                        TypeRef::Global(g) => {
                            global_values.push(None);
                            global_mutable.push(g.mutable);
                            ImportKind::Global {
                                ty: g.content_type,
                                mutable: g.mutable,
                            }
                        }
                        TypeRef::Memory(m) => {
                            if m.shared && shared_memory.is_none() {
                                shared_memory = Some(format!("{}.{}", imp.module, imp.name));
                            }
                            ImportKind::Memory
                        }
                        TypeRef::Table(_) => ImportKind::Table,
                        _ => ImportKind::Tag,
                    };
                    lib.imports.push(Import {
                        module: imp.module.to_string(),
                        field: imp.name.to_string(),
                        kind,
                        weak: false,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    func_types.push(t?);
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    global_values.push(const_i32(&g.init_expr));
                    global_mutable.push(g.ty.mutable);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            _ => {}
        }
    }
    if !has_dylink {
        bail!(
            "{name}: not a shared library (no `dylink.0` section); build it with \
             `clang --target=wasm32-wasi -fPIC -fvisibility=default -c` and link with \
             `wasm-ld -shared --experimental-pic --unresolved-symbols=import-dynamic`"
        );
    }
    if let Some(t) = tls.first() {
        bail!(
            "{name}: exports thread-local symbol `{t}` (`dylink.0` EXPORT_INFO flag TLS); \
             thread-local storage in shared libraries is not supported: make `{t}` an ordinary \
             global (drop `_Thread_local`/`thread_local`) and build without `-pthread`"
        );
    }
    if let Some(t) = tls_imports.first() {
        bail!(
            "{name}: imports thread-local symbol `{t}` (`dylink.0` IMPORT_INFO flag TLS); \
             thread-local storage in shared libraries is not supported: make `{t}` an ordinary \
             global (drop `_Thread_local`/`thread_local`) and build without `-pthread`"
        );
    }
    if let Some(m) = shared_memory {
        bail!(
            "{name}: imports a shared memory (`{m}`): it was linked with `--shared-memory` \
             (clang `-pthread`), but the main module's memory is not shared; build the library \
             without `-pthread` / `-matomics`"
        );
    }
    for imp in &mut lib.imports {
        imp.weak = weak.contains(&imp.field);
    }
    // wasm-ld makes a weak *defined* function interposable: the library imports `env.f` and
    // exports `f` too. (A strong definition is called directly and never imported.)
    let imported_funcs: hashbrown::HashSet<String> = lib
        .imports
        .iter()
        .filter(|i| i.module == "env" && matches!(i.kind, ImportKind::Func(_)))
        .map(|i| i.field.clone())
        .collect();
    let weak_defs: Vec<String> = exports
        .iter()
        .filter(|(n, k, _)| *k == ExternalKind::Func && imported_funcs.contains(n))
        .map(|(n, _, _)| n.clone())
        .collect();
    lib.weak_defs.extend(weak_defs);
    for (ename, kind, index) in exports {
        match kind {
            ExternalKind::Func => {
                if ename == "__wasm_call_ctors" || ename == "_initialize" {
                    if let Some(other) = &lib.ctor {
                        // Like wit-component: which of the two runs the constructors is unknown.
                        bail!(
                            "{name}: exports both `{other}` and `{ename}` as constructor entry \
                             points; expected at most one of the two: link it with \
                             `--entry _initialize` (what `clang -shared -mexec-model=reactor` \
                             does) so that only `_initialize` is exported, or do not define \
                             `_initialize`"
                        );
                    }
                    lib.ctor = Some(ename.clone());
                }
                if ename == "__wasm_apply_data_relocs" {
                    lib.apply_data_relocs = true;
                }
                if ename == "__wasm_call_dtors" {
                    lib.dtor = true;
                }
                if is_linker_entry(&ename) || lib.hidden.contains(&ename) {
                    continue;
                }
                let ty = func_types
                    .get(index as usize)
                    .and_then(|t| types.get(*t as usize))
                    .cloned()
                    .ok_or_else(|| anyhow!("{name}: export `{ename}` has no type"))?;
                lib.funcs.push((ename, ty));
            }
            ExternalKind::Global => {
                if is_linker_entry(&ename) || lib.hidden.contains(&ename) {
                    continue;
                }
                let i = index as usize;
                match (
                    global_values.get(i).copied().flatten(),
                    global_mutable.get(i),
                ) {
                    (Some(off), Some(false)) => lib.data.push((ename, off as u32)),
                    _ => bail!(
                        "{name}: exports global `{ename}` that is not a data symbol \
                         (an immutable i32 with a constant offset)"
                    ),
                }
            }
            ExternalKind::Memory | ExternalKind::Table => {
                bail!(
                "{name}: exports a {} (`{ename}`); a shared library must import its memory and \
                 table from the main module (link with `wasm-ld -shared`)",
                if kind == ExternalKind::Memory { "memory" } else { "table" }
            )
            }
            _ => {}
        }
    }
    Ok(lib)
}

/// Reads the main module.
pub fn main_module(input: &Input) -> Result<MainModule<'_>> {
    let name = &input.name;
    validate(name, &input.bytes)?;
    let mut main = MainModule {
        name: name.clone(),
        bytes: &input.bytes,
        funcs: HashMap::new(),
        data: HashMap::new(),
        stack_pointer: false,
        memory_export: false,
        elem_slots: HashMap::new(),
        dl_imports: Vec::new(),
        defines_table: false,
        needed: Vec::new(),
        lib_imports: Vec::new(),
        host_imports: Vec::new(),
        synthesized: false,
    };
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut globals: Vec<(Option<i32>, bool)> = Vec::new();
    let mut exports = Vec::new();
    let mut other_imports: Vec<String> = Vec::new();
    let mut has_dylink = false;
    let mut weak: hashbrown::HashSet<String> = hashbrown::HashSet::new();
    let pic_error = || {
        anyhow!(
            "{name}: is position-independent (it imports globals such as `__memory_base`) but \
             defines its own memory; link the main module either as an ordinary executable or \
             with `-shared` (an all-PIC input set, with a PIC `libc.so`)"
        )
    };
    for payload in Parser::new(0).parse_all(&input.bytes) {
        match payload.with_context(|| format!("{name}: malformed module"))? {
            Payload::CustomSection(c) => {
                // A non-PIC executable linked against a `.so` carries a `dylink.0` with only
                // NEEDED (and IMPORT_INFO for weak imports).
                if let KnownCustom::Dylink0(reader) = c.as_known() {
                    has_dylink = true;
                    for sub in reader {
                        match sub.with_context(|| format!("{name}: malformed `dylink.0`"))? {
                            Dylink0Subsection::Needed(n) => {
                                main.needed.extend(n.iter().map(|s| s.to_string()))
                            }
                            Dylink0Subsection::ImportInfo(infos) => weak.extend(
                                infos
                                    .iter()
                                    .filter(|i| i.flags.contains(SymbolFlags::BINDING_WEAK))
                                    .map(|i| i.field.to_string()),
                            ),
                            _ => {}
                        }
                    }
                }
            }
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty?);
                }
            }
            Payload::ImportSection(reader) => {
                for imp in reader.into_imports() {
                    let imp = imp?;
                    if has_dylink
                        && imp.module == "env"
                        && matches!(imp.ty, TypeRef::Memory(_) | TypeRef::Global(_))
                    {
                        return Err(pic_error());
                    }
                    match imp.ty {
                        TypeRef::Func(t) => {
                            if imp.module == "env" {
                                let ty = types.get(t as usize).cloned().ok_or_else(|| {
                                    anyhow!("{name}: import `{}` uses an unknown type", imp.name)
                                })?;
                                main.lib_imports.push(MainImport {
                                    func: func_types.len() as u32,
                                    name: imp.name.to_string(),
                                    ty,
                                    type_index: t,
                                    weak: false,
                                });
                                func_types.push(t);
                                continue;
                            }
                            main.host_imports
                                .push((imp.module.to_string(), imp.name.to_string()));
                            func_types.push(t)
                        }
                        TypeRef::Global(g) => globals.push((None, g.mutable)),
                        TypeRef::Table(_) => bail!(
                            "{name}: imports its table (`{}.{}`); the main module must define it \
                             (do not link it with `--import-table`)",
                            imp.module,
                            imp.name
                        ),
                        TypeRef::Memory(_) => bail!(
                            "{name}: imports its memory (`{}.{}`); the main module must define it \
                             (do not link it with `--import-memory`)",
                            imp.module,
                            imp.name
                        ),
                        _ => {}
                    }
                    if imp.module == crate::DL_MODULE {
                        main.dl_imports.push(imp.name.to_string());
                    } else if !imp.module.starts_with("wasi_snapshot_preview1")
                        && !imp.module.starts_with("wasi:")
                    {
                        other_imports.push(format!("{}.{}", imp.module, imp.name));
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    func_types.push(t?);
                }
            }
            Payload::TableSection(reader) if reader.count() > 0 => main.defines_table = true,
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    globals.push((const_i32(&g.init_expr), g.ty.mutable));
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem?;
                    let ElementKind::Active {
                        table_index,
                        offset_expr,
                    } = elem.kind
                    else {
                        continue;
                    };
                    if table_index.unwrap_or(0) != 0 {
                        continue;
                    }
                    let Some(base) = const_i32(&offset_expr) else {
                        continue;
                    };
                    if let ElementItems::Functions(funcs) = elem.items {
                        for (i, f) in funcs.into_iter().enumerate() {
                            main.elem_slots.entry(f?).or_insert(base as u32 + i as u32);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (ename, kind, index) in exports {
        match kind {
            ExternalKind::Func => {
                let ty = func_types
                    .get(index as usize)
                    .and_then(|t| types.get(*t as usize))
                    .cloned()
                    .ok_or_else(|| anyhow!("{name}: export `{ename}` has no type"))?;
                main.funcs.insert(ename, (index, ty));
            }
            ExternalKind::Global => match globals.get(index as usize) {
                Some((_, true)) if ename == "__stack_pointer" => main.stack_pointer = true,
                Some((Some(v), false)) => {
                    main.data.insert(ename, *v as u32);
                }
                _ => {}
            },
            ExternalKind::Memory if ename == "memory" => main.memory_export = true,
            _ => {}
        }
    }
    if !main.memory_export {
        bail!(
            "{name}: does not export its memory as `memory` (link it with `-Wl,--export-memory`)"
        );
    }
    for imp in &mut main.lib_imports {
        imp.weak = weak.contains(&imp.name);
    }
    if !other_imports.is_empty() {
        let shown: Vec<&str> = other_imports.iter().take(8).map(String::as_str).collect();
        bail!(
            "{name}: imports {} ({}{}) that no library can provide: only functions imported \
             from `env` are linked to libraries, `wasm-dl` (dlfcn.h) and WASI imports are \
             provided by the component; link their definitions into the main module",
            if other_imports.len() == 1 {
                "a symbol"
            } else {
                "symbols"
            },
            shown.join(", "),
            if other_imports.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    Ok(main)
}
