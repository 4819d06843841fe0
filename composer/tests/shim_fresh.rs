//! Checks that the committed dl shim (`shim/wasm-dl-shim.wasm`, embedded by the composer as the
//! `wasm-dl` adapter of the main module) is what the `wasm-dl-shim` crate builds to.
//!
//! It rebuilds the crate for `wasm32-unknown-unknown` (as the provider: `wasm_build`), turns the
//! linked module into a wit-component adapter ([`adapt`]) and compares bytes. With
//! `WASM_DL_BLESS=1` it writes the file instead (that is what `scripts/build-shim.sh` does).
//! Skipped when the target is not installed (a failure when `CI` is set).

mod wasm_build;

use anyhow::{bail, ensure, Context, Result};
use std::collections::HashMap;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, FunctionSection, GlobalSection, GlobalType,
    ImportSection, Instruction, MemoryType, Module, TypeSection, ValType,
};
use wasmparser::{ExternalKind, Operator, Parser, Payload, TypeRef};

/// The import module through which the shim's Rust code reads and writes its state
/// (`shim/src/sys.rs`, `globals!`).
const STATE_MODULE: &str = "wasm-dl-global";

/// Why a function body cannot be part of the adapter.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// What a state accessor import becomes.
#[derive(Clone, Copy)]
enum Access {
    Get(u32),
    Set(u32),
}

/// Rewrites the function bodies: accessor calls become global accesses, the other functions
/// are renumbered, and the linker's own globals must not be used.
struct Adapter {
    /// Old function index to new one (accessors have none).
    funcs: Vec<Option<u32>>,
    /// Old function index of each accessor.
    accessors: HashMap<u32, Access>,
}

impl Reencode for Adapter {
    type Error = Refused;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Refused>> {
        match self.funcs.get(func as usize) {
            Some(Some(new)) => Ok(*new),
            _ => Err(reencode::Error::UserError(Refused(format!(
                "function {func} (a state accessor or out of range) is used other than by a call"
            )))),
        }
    }

    fn global_index(&mut self, global: u32) -> Result<u32, reencode::Error<Refused>> {
        // Only the linker defines globals: `__stack_pointer` (its shadow stack would lie in
        // main's data, at an address the shim's linker chose), `__data_end`, `__heap_base`.
        Err(reencode::Error::UserError(Refused(format!(
            "the shim's code uses the linker's global {global} (the shadow stack): an adapter has \
             no memory of its own; rewrite the function so that it keeps nothing in memory (no \
             address-taken locals, no Option/aggregate results of non-inlined calls)"
        ))))
    }

    fn parse_instruction<'a>(
        &mut self,
        reader: &mut wasmparser::OperatorsReader<'a>,
    ) -> Result<Instruction<'a>, reencode::Error<Refused>> {
        let op = reader.read()?;
        if let Operator::Call { function_index } = op {
            match self.accessors.get(&function_index) {
                Some(Access::Get(global)) => return Ok(Instruction::GlobalGet(*global)),
                Some(Access::Set(global)) => return Ok(Instruction::GlobalSet(*global)),
                None => {}
            }
        }
        reencode::utils::instruction(self, op)
    }
}

/// Turns the module wasm-ld linked from the shim crate into a wit-component adapter, within the
/// rules wit-component states for adapters (`wit-component/src/encoding.rs`, module docs, and
/// `gc.rs`): the memory is imported (main's `env.memory`), at 0 pages minimum so that any main
/// fits; no data, element, table or start sections; and the state lives in globals, not memory:
/// the `wasm-dl-global` accessor imports become `global.get`/`global.set` of one mutable `i32`
/// per name (0 at start), and the linker's globals (`__stack_pointer`, `__data_end`,
/// `__heap_base`) are dropped, an error if any code uses them. Custom sections are dropped (the
/// composer embeds the `component-type` section).
fn adapt(linked: &[u8]) -> Result<Vec<u8>> {
    let mut adapter = Adapter {
        funcs: Vec::new(),
        accessors: HashMap::new(),
    };
    let mut state: Vec<String> = Vec::new();
    let mut types = TypeSection::new();
    let mut func_types: Vec<wasmparser::FuncType> = Vec::new();
    let mut imports = ImportSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let mut kept_imports = 0u32;
    for payload in Parser::new(0).parse_all(linked) {
        match payload? {
            Payload::Version { .. } | Payload::End(_) | Payload::CustomSection(_) => {}
            Payload::TypeSection(section) => {
                for ty in section.clone().into_iter_err_on_gc_types() {
                    func_types.push(ty?);
                }
                adapter.parse_type_section(&mut types, section)?;
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import?;
                    match (import.module, import.ty) {
                        (STATE_MODULE, TypeRef::Func(ty)) => {
                            let ty = func_types.get(ty as usize).context("bad type index")?;
                            let (name, get) = match import.name.split_at_checked(4) {
                                Some(("get_", name)) => (name, true),
                                Some(("set_", name)) => (name, false),
                                _ => bail!("unknown state accessor {}", import.name),
                            };
                            let expected: (&[ValType], &[ValType]) = if get {
                                (&[], &[ValType::I32])
                            } else {
                                (&[ValType::I32], &[])
                            };
                            let params: Vec<ValType> = ty
                                .params()
                                .iter()
                                .map(|t| adapter.val_type(*t))
                                .collect::<Result<_, _>>()?;
                            let results: Vec<ValType> = ty
                                .results()
                                .iter()
                                .map(|t| adapter.val_type(*t))
                                .collect::<Result<_, _>>()?;
                            ensure!(
                                (params.as_slice(), results.as_slice()) == expected,
                                "state accessor {} has the wrong type",
                                import.name
                            );
                            let global = match state.iter().position(|s| s == name) {
                                Some(k) => k,
                                None => {
                                    state.push(name.to_string());
                                    state.len() - 1
                                }
                            } as u32;
                            let access = if get {
                                Access::Get(global)
                            } else {
                                Access::Set(global)
                            };
                            adapter.accessors.insert(adapter.funcs.len() as u32, access);
                            adapter.funcs.push(None);
                        }
                        ("env", TypeRef::Memory(ty)) if import.name == "memory" => {
                            ensure!(
                                !ty.memory64 && !ty.shared,
                                "the shim's memory must be main's"
                            );
                            let memory = MemoryType {
                                minimum: 0,
                                maximum: None,
                                memory64: false,
                                shared: false,
                                page_size_log2: None,
                            };
                            imports.import("env", "memory", memory);
                        }
                        (module, TypeRef::Func(ty)) => {
                            let ty = adapter.type_index(ty)?;
                            imports.import(module, import.name, EntityType::Function(ty));
                            adapter.funcs.push(Some(kept_imports));
                            kept_imports += 1;
                        }
                        (module, _) => {
                            bail!(
                                "the shim imports {module}.{}: only functions and env.memory",
                                import.name
                            )
                        }
                    }
                }
            }
            Payload::FunctionSection(section) => {
                let imported = adapter.funcs.len() as u32;
                for (k, ty) in section.into_iter().enumerate() {
                    functions.function(adapter.type_index(ty?)?);
                    adapter.funcs.push(Some(kept_imports + k as u32));
                }
                ensure!(adapter.funcs.len() as u32 >= imported, "function count");
            }
            // The linker's globals only; dropped (`Adapter::global_index` rejects any use).
            Payload::GlobalSection(_) => {}
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export?;
                    match export.kind {
                        ExternalKind::Func => {
                            let index = adapter.function_index(export.index)?;
                            exports.export(export.name, ExportKind::Func, index);
                        }
                        // wasm-ld's `__data_end` and `__heap_base`: nothing to say to main.
                        ExternalKind::Global => {}
                        kind => bail!(
                            "the shim exports {} ({kind:?}): only functions",
                            export.name
                        ),
                    }
                }
            }
            Payload::CodeSectionStart { .. } => {}
            Payload::CodeSectionEntry(body) => {
                adapter.parse_function_body(&mut code, body)?;
            }
            other => match other.as_section() {
                // Data (static data, panic messages), elements (indirect calls), tables, a start
                // function, its own memory: wit-component's adapter rules forbid them all.
                Some((id, _)) => bail!(
                    "the linked shim has section {id}, which a wit-component adapter may not have \
                     (no static data, no indirect calls, no memory of its own)"
                ),
                None => bail!("the linked shim has an unexpected payload"),
            },
        }
    }
    let mut globals = GlobalSection::new();
    for _ in &state {
        let ty = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &wasm_encoder::ConstExpr::i32_const(0));
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&globals)
        .section(&exports)
        .section(&code);
    let bytes = module.finish();
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .context("the adapted shim does not validate")?;
    Ok(bytes)
}

#[test]
fn shim_adapter_is_fresh() -> Result<()> {
    if !wasm_build::can_build("shim_fresh")? {
        return Ok(());
    }
    let root = wasm_build::root()?;
    let linked = wasm_build::build(&root, "wasm-dl-shim", "wasm_dl_shim")?;
    let built = adapt(&linked).context("turning the linked shim into an adapter")?;
    wasm_build::check_fresh(
        &root.join("shim").join("wasm-dl-shim.wasm"),
        &built,
        "scripts/build-shim.sh",
    )
}

/// The committed shim keeps to the adapter rules it was made for: what `adapt` guarantees,
/// checked on the file the composer embeds.
#[test]
fn committed_shim_is_an_adapter() -> Result<()> {
    let bytes = std::fs::read(wasm_build::root()?.join("shim").join("wasm-dl-shim.wasm"))?;
    let mut memory_imports = 0;
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import?;
                    if let TypeRef::Memory(ty) = import.ty {
                        assert_eq!(
                            (import.module, import.name, ty.initial),
                            ("env", "memory", 0)
                        );
                        memory_imports += 1;
                    }
                    assert_ne!(import.module, STATE_MODULE);
                }
            }
            Payload::DataSection(_)
            | Payload::ElementSection(_)
            | Payload::TableSection(_)
            | Payload::MemorySection(_)
            | Payload::StartSection { .. } => bail!("the committed shim is not an adapter"),
            _ => {}
        }
    }
    assert_eq!(memory_imports, 1);
    Ok(())
}
