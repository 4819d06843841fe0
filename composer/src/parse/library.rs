//! Pass 1 for a shared library: what `wasm-ld -shared` declares in `dylink.0`, imports and exports.

use super::{
    const_i32, is_linker_entry, read_func_types, validate, Import, ImportKind, Library,
    MAX_TABLE_ALIGN, MAX_TABLE_SLOTS,
};
use crate::Input;
use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{
    Dylink0Subsection, ExternalKind, FuncType, KnownCustom, Payload, SymbolFlags, TypeRef,
};

/// What a `dylink.0` module is to the composition, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A shared library (`wasm-ld -shared`).
    Library,
    /// The main module of an all-PIC input set (also linked `-shared`).
    PicMain,
}

impl Role {
    /// "a shared library" / "a position-independent main module".
    fn noun(self) -> &'static str {
        match self {
            Role::Library => "a shared library",
            Role::PicMain => "a position-independent main module",
        }
    }
}

/// Reads a shared library (validating it first).
pub fn library(input: &Input) -> Result<Library<'_>> {
    validate(&input.name, &input.bytes)?;
    read_library(input)
}

/// Reads a position-independent main module (validating it first), as a library is read.
pub fn pic_main(input: &Input) -> Result<Library<'_>> {
    validate(&input.name, &input.bytes)?;
    read_library_as(input, Role::PicMain)
}

/// Reads a shared library that [`super::validate_inputs`] validated.
pub(crate) fn read_library(input: &Input) -> Result<Library<'_>> {
    read_library_as(input, Role::Library)
}

/// Reads a validated `dylink.0` module in the given role (a PIC main is read as a library).
pub(crate) fn read_library_as(input: &Input, role: Role) -> Result<Library<'_>> {
    let name = &input.name;
    let mut lib = Library {
        name: name.clone(),
        name_bytes: name.as_bytes().to_vec(),
        bytes: &input.bytes,
        mem_size: 0,
        mem_align: 0,
        table_size: 0,
        table_align: 0,
        needed: Vec::new(),
        runpath: Vec::new(),
        path: Vec::new(),
        imports: Vec::new(),
        funcs: Vec::new(),
        data: Vec::new(),
        ctor: None,
        dtor: false,
        apply_data_relocs: false,
        weak_defs: hashbrown::HashSet::new(),
        hidden: hashbrown::HashSet::new(),
        tags: Vec::new(),
        own_tables: 0,
    };
    let mut has_dylink = false;
    let mut weak: hashbrown::HashSet<String> = hashbrown::HashSet::new();
    let mut tls: Vec<String> = Vec::new();
    let mut tls_imports: Vec<String> = Vec::new();
    let mut shared_memory: Option<String> = None;
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut tag_types: Vec<u32> = Vec::new();
    let mut global_values: Vec<Option<i32>> = Vec::new();
    let mut global_mutable: Vec<bool> = Vec::new();
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
    let mut seen_imports = hashbrown::HashSet::new();

    for payload in super::sections(&input.bytes) {
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
                            Dylink0Subsection::RuntimePath(r) => {
                                lib.runpath.extend(r.iter().map(|s| s.to_string()))
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
                            Dylink0Subsection::Unknown { .. } => {}
                        }
                    }
                }
            }
            Payload::TypeSection(reader) => {
                types.extend(read_func_types(name, reader)?);
            }
            Payload::ImportSection(reader) => {
                for imp in reader.into_imports() {
                    let imp = imp.with_context(|| format!("{name}: malformed import section"))?;
                    super::checks::import(name, &imp, &mut seen_imports)?;
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
                        TypeRef::Tag(t) => {
                            tag_types.push(t.func_type_idx);
                            ImportKind::Tag(tag_type(name, &types, t.func_type_idx, imp.name)?)
                        }
                        TypeRef::FuncExact(_) => bail!(
                            "{name}: import `{}.{}` is an exact function import (custom \
                             descriptors proposal), which `wasm-ld -shared` does not emit",
                            imp.module,
                            imp.name
                        ),
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
            Payload::TableSection(reader) => lib.own_tables += reader.count(),
            Payload::TagSection(reader) => {
                for t in reader {
                    tag_types.push(t?.func_type_idx);
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
    // Thread-local storage appears only in `-pthread` builds (clang drops `_Thread_local` to an
    // ordinary global without atomics), and wasm-dl has no threads yet.
    let noun = role.noun();
    if let Some(t) = tls.first() {
        bail!(
            "{name}: exports thread-local symbol `{t}` (`dylink.0` EXPORT_INFO flag TLS); \
             thread-local storage in {noun} is not supported (wasm-dl has no threads): make \
             `{t}` an ordinary global (drop `_Thread_local`/`thread_local`) and build without \
             `-pthread`"
        );
    }
    if let Some(t) = tls_imports.first() {
        bail!(
            "{name}: imports thread-local symbol `{t}` (`dylink.0` IMPORT_INFO flag TLS); \
             thread-local storage in {noun} is not supported (wasm-dl has no threads): make \
             `{t}` an ordinary global (drop `_Thread_local`/`thread_local`) and build without \
             `-pthread`"
        );
    }
    if let Some(m) = shared_memory {
        bail!(
            "{name}: imports a shared memory (`{m}`): it was linked with `--shared-memory` \
             (clang `-pthread`), but the composition's memory is not shared; build {noun} \
             without `-pthread` / `-matomics`",
            noun = if role == Role::Library {
                "the library"
            } else {
                "the main module"
            }
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
                let ty = func_types
                    .get(index as usize)
                    .and_then(|t| types.get(*t as usize))
                    .cloned()
                    .ok_or_else(|| anyhow!("{name}: export `{ename}` has no type"))?;
                if matches!(
                    ename.as_str(),
                    "__wasm_call_ctors"
                        | "_initialize"
                        | "__wasm_call_dtors"
                        | "__wasm_apply_data_relocs"
                ) {
                    super::checks::entry_point(name, &ename, &ty)?;
                }
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
            ExternalKind::Tag => {
                if lib.hidden.contains(&ename) {
                    continue;
                }
                let ty = tag_types
                    .get(index as usize)
                    .ok_or_else(|| anyhow!("{name}: export `{ename}` names an unknown tag"))?;
                lib.tags
                    .push((ename.clone(), tag_type(name, &types, *ty, &ename)?));
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
    check_table_slots(&lib)?;
    Ok(lib)
}

/// The function type of a tag (its payload), by type index.
pub(super) fn tag_type(name: &str, types: &[FuncType], index: u32, tag: &str) -> Result<FuncType> {
    types
        .get(index as usize)
        .cloned()
        .ok_or_else(|| anyhow!("{name}: tag `{tag}` uses an unknown type"))
}

/// The table slots one library takes when it is placed (MEM_INFO table size, one per exported
/// function, at most `2^table_align - 1` of alignment padding) must fit [`MAX_TABLE_SLOTS`].
fn check_table_slots(lib: &Library<'_>) -> Result<()> {
    let padding = (1u64 << lib.table_align) - 1;
    let slots = u64::from(lib.table_size) + lib.funcs.len() as u64 + padding;
    if slots > u64::from(MAX_TABLE_SLOTS) {
        bail!(
            "{}: `dylink.0` MEM_INFO table size {} plus its {} exported functions asks for {slots} \
             table slots, more than wasm-dl places for one library ({MAX_TABLE_SLOTS}, the \
             largest table a runtime is sure to accept); MEM_INFO table size is the number of \
             slots its element segments fill: relink it with `wasm-ld -shared`",
            lib.name,
            lib.table_size,
            lib.funcs.len()
        );
    }
    Ok(())
}
