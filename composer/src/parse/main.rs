//! Pass 1 for the main module: a stock non-PIC `wasm-ld` command (possibly linked against
//! shared libraries).

use super::{const_i32, read_func_types, validate};
use crate::Input;
use anyhow::{anyhow, bail, Context, Result};
use hashbrown::HashMap;
use wasmparser::{
    Dylink0Subsection, ElementItems, ElementKind, ExternalKind, FuncType, KnownCustom, Parser,
    Payload, SymbolFlags, TypeRef, ValType,
};

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
    /// The initial size of the table main defines (0 when it imports it): slots from here on
    /// are free at compose time.
    pub table_min: u64,
    /// `GOT.mem`/`GOT.func` globals main imports (compiled `-fPIC` and linked against a
    /// library: the address of a library's data or function), in import order.
    pub got_imports: Vec<MainGot>,
    /// Exports `wasi:cli/run@0.2.0#run` itself (a WASI preview 2 command).
    pub exports_run: bool,
    /// Synthesized by the composer for an all-PIC input set (`synth::root`).
    pub synthesized: bool,
    /// Functions main imports from the host side (`wasm-dl`, WASI): (module, field).
    pub host_imports: Vec<(String, String)>,
    /// NEEDED names of its `dylink.0` (wasm-ld writes them when main is linked against a `.so`).
    pub needed: Vec<String>,
    /// RUNPATH entries of its `dylink.0` (`-Wl,-rpath,DIR` with wasm-ld 20 or later), as written.
    pub runpath: Vec<String>,
    /// Functions main imports from `env`: defined by a library it was linked against (or left
    /// undefined with `--allow-undefined`), in import order.
    pub lib_imports: Vec<MainImport>,
    /// Tags main imports from `env` (`__c_longjmp`, `__cpp_exception`: LLVM imports the tags
    /// it throws), in import order, with their types: wasm-dl defines them in main
    /// (`synth::main_module`), and every library binds to those.
    pub tag_imports: Vec<(String, FuncType)>,
    /// Tags main exports, with their types.
    pub tags: HashMap<String, FuncType>,
}

/// A `GOT.mem`/`GOT.func` global the main module imports.
#[derive(Clone, Debug)]
pub struct MainGot {
    /// Its global index in main (an import).
    pub global: u32,
    /// `GOT.func` (a function's table slot) rather than `GOT.mem` (a data address).
    pub func: bool,
    /// The symbol.
    pub name: String,
    /// `dylink.0` marks it weak: unresolved is allowed (the address is 0).
    pub weak: bool,
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

/// Reads the main module (validating it first).
pub fn main_module(input: &Input) -> Result<MainModule<'_>> {
    validate(&input.name, &input.bytes)?;
    read_main(input)
}

/// Reads a main module that [`super::validate_inputs`] validated.
pub(crate) fn read_main(input: &Input) -> Result<MainModule<'_>> {
    let name = &input.name;
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
        table_min: 0,
        needed: Vec::new(),
        runpath: Vec::new(),
        lib_imports: Vec::new(),
        host_imports: Vec::new(),
        synthesized: false,
        exports_run: false,
        got_imports: Vec::new(),
        tag_imports: Vec::new(),
        tags: HashMap::new(),
    };
    let mut tag_types: Vec<u32> = Vec::new();
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
                            Dylink0Subsection::RuntimePath(r) => {
                                main.runpath.extend(r.iter().map(|s| s.to_string()))
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
                types.extend(read_func_types(name, reader)?);
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
                        TypeRef::Global(g) => {
                            if matches!(imp.module, "GOT.mem" | "GOT.func")
                                && g.content_type == ValType::I32
                            {
                                main.got_imports.push(MainGot {
                                    global: globals.len() as u32,
                                    func: imp.module == "GOT.func",
                                    name: imp.name.to_string(),
                                    weak: false,
                                });
                                globals.push((None, g.mutable));
                                continue;
                            }
                            globals.push((None, g.mutable))
                        }
                        TypeRef::Table(_) => bail!(
                            "{name}: imports its table (`{}.{}`); the main module must define it \
                             (do not link it with `--import-table`)",
                            imp.module,
                            imp.name
                        ),
                        TypeRef::Tag(t) if imp.module == "env" => {
                            tag_types.push(t.func_type_idx);
                            let ty =
                                super::library::tag_type(name, &types, t.func_type_idx, imp.name)?;
                            main.tag_imports.push((imp.name.to_string(), ty));
                            continue;
                        }
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
            Payload::TableSection(reader) => {
                if let Some(t) = reader.into_iter().next() {
                    let ty = t?.ty;
                    // Main imports no table, so its first is table 0, where libraries'
                    // functions go.
                    if ty.element_type != wasmparser::RefType::FUNCREF {
                        bail!(
                            "{name}: its table 0 holds `{}`, not `funcref`; wasm-dl places \
                             library functions in table 0, the function table wasm-ld makes",
                            ty.element_type
                        );
                    }
                    main.defines_table = true;
                    main.table_min = ty.initial;
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    globals.push((const_i32(&g.init_expr), g.ty.mutable));
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    tag_types.push(t?.func_type_idx);
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
                        let count = funcs.count();
                        // A segment reaching past slot 2^32 - 1 cannot be placed (instantiating
                        // main would trap): say so instead of numbering slots that wrap.
                        let end = u64::from(base as u32) + u64::from(count);
                        if end > u64::from(u32::MAX) {
                            bail!(
                                "{name}: an element segment places {count} functions at table \
                                 slot {} (`i32.const {base}`), past the last slot of a 32-bit \
                                 table (2^32 - 1); relink the main module with wasm-ld",
                                base as u32
                            );
                        }
                        for (i, f) in funcs.into_iter().enumerate() {
                            let slot = (base as u32).saturating_add(i as u32);
                            main.elem_slots.entry(f?).or_insert(slot);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    main.exports_run = exports
        .iter()
        .any(|(n, k, _)| n == super::RUN_EXPORT && *k == ExternalKind::Func);
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
            ExternalKind::Tag => {
                let ty = tag_types
                    .get(index as usize)
                    .ok_or_else(|| anyhow!("{name}: export `{ename}` names an unknown tag"))?;
                let ty = super::library::tag_type(name, &types, *ty, &ename)?;
                main.tags.insert(ename, ty);
            }
            // Libraries' slots are placed in table 0, which the patched main exports under this
            // name: another table exported so would be a duplicate export.
            ExternalKind::Table if ename == "__indirect_function_table" && index != 0 => bail!(
                "{name}: exports table {index} as `__indirect_function_table`; wasm-dl places \
                 library functions in table 0, the function table: export that one under this \
                 name (`-Wl,--export-table`)"
            ),
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
    for g in &mut main.got_imports {
        g.weak = weak.contains(&g.name);
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
