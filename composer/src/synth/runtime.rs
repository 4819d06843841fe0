//! Runtime code that is the same for every composition, written in Rust: the dl shim (`shim/`)
//! and the root's allocator (`root-alloc/`). Each crate is built for wasm32 and its module, as
//! wasm-ld links it, is committed (the composer's `runtime_fresh` test checks the copies are
//! current); this module fits such a module into the one that runs it.
//!
//! The code runs in memory someone else owns (main's, or the root's), so it may keep nothing in
//! memory of its own: the fitted module has no data or element segments, tables or memory (all
//! also wit-component's rules for adapters: `wit-component/src/encoding.rs`, module docs, and
//! `gc.rs`), and no function may use the shadow stack (its linker-given place would lie in the
//! owner's data). Rust cannot define a wasm global, so the state it needs is read and written
//! through imports `wasm-dl-global.get_NAME`/`set_NAME`, which become `global.get`/`global.set`
//! of a global the fitting chooses per name. The linker's own globals (`__stack_pointer`,
//! `__data_end`, `__heap_base`) are dropped, an error if any code uses them.

use anyhow::{bail, ensure, Context, Result};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, FunctionSection, GlobalSection, GlobalType,
    ImportSection, Instruction, MemoryType, Module, TypeSection, ValType,
};
use wasmparser::{ExternalKind, FuncType, FunctionBody, Operator, Parser, Payload, TypeRef};

/// The import module of the state accessors (`globals!` in `shim/src/sys.rs`).
pub const STATE_MODULE: &str = "wasm-dl-global";

/// What an import of the linked module is.
enum Import<'a> {
    /// A function the fitted module imports too: (module, name, type).
    Func(&'a str, &'a str, u32),
    /// A state accessor: (state index, whether it reads).
    State(u32, bool),
}

/// A module wasm-ld linked from a runtime crate, checked against the rules above.
pub struct Linked<'a> {
    name: &'static str,
    types: Vec<FuncType>,
    /// Function imports, in index order.
    imports: Vec<Import<'a>>,
    /// Whether it imports `env.memory`.
    memory: bool,
    /// The state names, in the order of their first accessor.
    state: Vec<&'a str>,
    /// The type of each defined function.
    funcs: Vec<u32>,
    bodies: Vec<FunctionBody<'a>>,
    /// Function exports: (name, function index).
    exports: Vec<(&'a str, u32)>,
}

/// Where a fitted module's items go: new type index = `type_base` + old; the function the
/// k-th kept import stands for is `imports[k]`; defined function j becomes `func_base` + j;
/// state `state[k]` is global `globals[k]`.
pub struct Placement {
    /// Added to every type index.
    pub type_base: u32,
    /// The new index of each kept function import, in order.
    pub imports: Vec<u32>,
    /// The new index of the first defined function.
    pub func_base: u32,
    /// The global of each state name, in [`Linked::state`] order.
    pub globals: Vec<u32>,
}

impl<'a> Linked<'a> {
    /// Parses and checks `bytes`, the committed module of runtime crate `name`.
    pub fn parse(name: &'static str, bytes: &'a [u8]) -> Result<Self> {
        Self::parse_inner(name, bytes)
            .with_context(|| format!("internal error: the committed {name} module is unusable"))
    }

    fn parse_inner(name: &'static str, bytes: &'a [u8]) -> Result<Self> {
        let mut linked = Linked {
            name,
            types: Vec::new(),
            imports: Vec::new(),
            memory: false,
            state: Vec::new(),
            funcs: Vec::new(),
            bodies: Vec::new(),
            exports: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::Version { .. }
                | Payload::End(_)
                | Payload::CustomSection(_)
                | Payload::CodeSectionStart { .. } => {}
                Payload::TypeSection(section) => {
                    for ty in section.into_iter_err_on_gc_types() {
                        linked.types.push(ty?);
                    }
                }
                Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        linked.import(import?)?;
                    }
                }
                Payload::FunctionSection(section) => {
                    for ty in section {
                        linked.funcs.push(ty?);
                    }
                }
                // The linker's globals only (see `Fitter::global_index`).
                Payload::GlobalSection(_) => {}
                Payload::ExportSection(section) => {
                    for export in section {
                        let export = export?;
                        match export.kind {
                            ExternalKind::Func => linked.exports.push((export.name, export.index)),
                            // wasm-ld's `__data_end` and `__heap_base`: nothing to say.
                            ExternalKind::Global => {}
                            kind => bail!("it exports {} ({kind:?}): only functions", export.name),
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => linked.bodies.push(body),
                other => match other.as_section() {
                    Some((id, _)) => bail!(
                        "it has section {id}: runtime code may have no static data, no indirect \
                         calls and no memory of its own"
                    ),
                    None => bail!("it has an unexpected payload"),
                },
            }
        }
        ensure!(linked.funcs.len() == linked.bodies.len(), "function count");
        Ok(linked)
    }

    fn import(&mut self, import: wasmparser::Import<'a>) -> Result<()> {
        match (import.module, import.ty) {
            (STATE_MODULE, TypeRef::Func(ty)) => {
                let ty = self.types.get(ty as usize).context("bad type index")?;
                let (state, get) = match import.name.split_at_checked(4) {
                    Some(("get_", state)) => (state, true),
                    Some(("set_", state)) => (state, false),
                    _ => bail!("unknown state accessor {}", import.name),
                };
                let i32 = [wasmparser::ValType::I32];
                let expected = if get {
                    FuncType::new([], i32)
                } else {
                    FuncType::new(i32, [])
                };
                ensure!(
                    *ty == expected,
                    "state accessor {} has the wrong type",
                    import.name
                );
                let k = match self.state.iter().position(|s| *s == state) {
                    Some(k) => k,
                    None => {
                        self.state.push(state);
                        self.state.len() - 1
                    }
                };
                self.imports.push(Import::State(k as u32, get));
            }
            ("env", TypeRef::Memory(ty)) if import.name == "memory" => {
                ensure!(
                    !ty.memory64 && !ty.shared,
                    "its memory is not a plain 32-bit one"
                );
                self.memory = true;
            }
            (module, TypeRef::Func(ty)) => self.imports.push(Import::Func(module, import.name, ty)),
            (module, _) => bail!(
                "it imports {module}.{}: only functions and env.memory",
                import.name
            ),
        }
        Ok(())
    }

    /// The state names its accessors use.
    pub fn state(&self) -> &[&'a str] {
        &self.state
    }

    /// Its function types, to be added at [`Placement::type_base`].
    pub fn encode_types(&self, types: &mut TypeSection) -> Result<()> {
        for ty in &self.types {
            let mut r = reencode::RoundtripReencoder;
            let params: Vec<ValType> = ty
                .params()
                .iter()
                .map(|t| r.val_type(*t))
                .collect::<Result<_, _>>()?;
            let results: Vec<ValType> = ty
                .results()
                .iter()
                .map(|t| r.val_type(*t))
                .collect::<Result<_, _>>()?;
            types.ty().function(params, results);
        }
        Ok(())
    }

    /// Its kept function imports: (module, name, type index in the linked module).
    pub fn func_imports(&self) -> impl Iterator<Item = (&'a str, &'a str, u32)> + '_ {
        self.imports.iter().filter_map(|i| match i {
            Import::Func(module, name, ty) => Some((*module, *name, *ty)),
            Import::State(..) => None,
        })
    }

    /// The types of its defined functions (linked-module type indices).
    pub fn func_types(&self) -> &[u32] {
        &self.funcs
    }

    /// Its defined functions' bodies, rewritten for `placement`, appended to `code`.
    pub fn encode_code(&self, placement: &Placement, code: &mut CodeSection) -> Result<()> {
        ensure!(
            placement.globals.len() == self.state.len()
                && placement.imports.len() == self.func_imports().count(),
            "internal error: a placement of the {} module that does not fit it",
            self.name
        );
        let mut fitter = Fitter {
            linked: self,
            placement,
        };
        for body in &self.bodies {
            fitter
                .parse_function_body(code, body.clone())
                .with_context(|| format!("internal error: fitting the {} module", self.name))?;
        }
        Ok(())
    }

    /// Its exported function `name`'s index under `placement`.
    pub fn export(&self, placement: &Placement, name: &str) -> Result<u32> {
        let Some((_, index)) = self.exports.iter().find(|(n, _)| *n == name) else {
            bail!(
                "internal error: the {} module does not export {name}",
                self.name
            )
        };
        Ok(Fitter {
            linked: self,
            placement,
        }
        .function_index(*index)?)
    }

    /// As a module of its own: a wit-component adapter (the dl shim), importing main's memory
    /// (any size), its state in fresh globals: 0 at start, but the states `initial` names
    /// (name, value), which start at their value.
    pub fn adapter(&self, initial: &[(&str, i32)]) -> Result<Vec<u8>> {
        let mut types = TypeSection::new();
        self.encode_types(&mut types)?;
        let mut imports = ImportSection::new();
        if self.memory {
            let memory = MemoryType {
                minimum: 0,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            };
            imports.import("env", "memory", memory);
        }
        for (module, name, ty) in self.func_imports() {
            imports.import(module, name, EntityType::Function(ty));
        }
        let kept = self.func_imports().count() as u32;
        let placement = Placement {
            type_base: 0,
            imports: (0..kept).collect(),
            func_base: kept,
            globals: (0..self.state.len() as u32).collect(),
        };
        let mut functions = FunctionSection::new();
        for ty in &self.funcs {
            functions.function(*ty);
        }
        let mut globals = GlobalSection::new();
        for name in &self.state {
            let ty = GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            };
            let value = initial
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, v)| *v);
            globals.global(ty, &wasm_encoder::ConstExpr::i32_const(value));
        }
        let mut exports = ExportSection::new();
        for (name, _) in &self.exports {
            exports.export(name, ExportKind::Func, self.export(&placement, name)?);
        }
        let mut code = CodeSection::new();
        self.encode_code(&placement, &mut code)?;
        let mut module = Module::new();
        module
            .section(&types)
            .section(&imports)
            .section(&functions)
            .section(&globals)
            .section(&exports)
            .section(&code);
        Ok(module.finish())
    }
}

/// Why a function body cannot be fitted.
#[derive(Debug)]
pub struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Rewrites function bodies for a placement: accessor calls become global accesses.
struct Fitter<'l, 'a> {
    linked: &'l Linked<'a>,
    placement: &'l Placement,
}

impl Reencode for Fitter<'_, '_> {
    type Error = Refused;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Refused>> {
        Ok(self.placement.type_base + ty)
    }

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Refused>> {
        let n_imports = self.linked.imports.len() as u32;
        if let Some(defined) = func.checked_sub(n_imports) {
            return Ok(self.placement.func_base + defined);
        }
        let kept = self.linked.imports[..func as usize]
            .iter()
            .filter(|i| matches!(i, Import::Func(..)))
            .count();
        match (
            &self.linked.imports[func as usize],
            self.placement.imports.get(kept),
        ) {
            (Import::Func(..), Some(new)) => Ok(*new),
            _ => Err(reencode::Error::UserError(Refused(format!(
                "function {func} (a state accessor) is used other than by a call"
            )))),
        }
    }

    fn global_index(&mut self, global: u32) -> Result<u32, reencode::Error<Refused>> {
        Err(reencode::Error::UserError(Refused(format!(
            "its code uses the linker's global {global} (the shadow stack): the code runs in \
             memory it does not own; rewrite the function so that it keeps nothing in memory \
             (no address-taken locals, no Option or aggregate results of calls not inlined)"
        ))))
    }

    fn parse_instruction<'b>(
        &mut self,
        reader: &mut wasmparser::OperatorsReader<'b>,
    ) -> Result<Instruction<'b>, reencode::Error<Refused>> {
        let op = reader.read()?;
        if let Operator::Call { function_index } = op {
            if let Some(Import::State(k, get)) = self.linked.imports.get(function_index as usize) {
                let global = self.placement.globals[*k as usize];
                return Ok(if *get {
                    Instruction::GlobalGet(global)
                } else {
                    Instruction::GlobalSet(global)
                });
            }
        }
        reencode::utils::instruction(self, op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINKED: &str = r#"
    (module
      (import "env" "memory" (memory 17))
      (import "wasm-dl-global" "get_count" (func $get (result i32)))
      (import "main" "f" (func $f (param i32)))
      (import "wasm-dl-global" "set_count" (func $set (param i32)))
      (global $sp (mut i32) (i32.const 1048576))
      (func (export "bump") (result i32)
        call $get
        i32.const 1
        i32.add
        call $set
        call $get
        call $f
        call $get)
      (export "__heap_base" (global $sp)))
    "#;

    #[test]
    fn accessors_become_globals() {
        let bytes = wat::parse_str(LINKED).unwrap();
        let adapter = Linked::parse("test", &bytes).unwrap().adapter(&[]).unwrap();
        wasmparser::validate(&adapter).unwrap();
        let text = wasmprinter::print_bytes(&adapter).unwrap();
        assert!(text.contains("(memory (;0;) 0)"), "{text}");
        assert!(text.contains("global.set 0"), "{text}");
        assert!(text.contains("call 0"), "{text}");
        assert!(!text.contains("wasm-dl-global"), "{text}");
        assert!(!text.contains("__heap_base"), "{text}");
    }

    #[test]
    fn the_shadow_stack_is_refused() {
        let wat = LINKED.replace(
            "call $get\n        i32.const 1",
            "global.get $sp\n        i32.const 1",
        );
        let bytes = wat::parse_str(wat).unwrap();
        let err = Linked::parse("test", &bytes)
            .unwrap()
            .adapter(&[])
            .unwrap_err();
        assert!(format!("{err:#}").contains("shadow stack"), "{err:#}");
    }

    #[test]
    fn data_is_refused() {
        let wat = LINKED.replace(
            "(export \"__heap_base\"",
            "(data (i32.const 8) \"x\") (export \"__heap_base\"",
        );
        let bytes = wat::parse_str(wat).unwrap();
        let err = Linked::parse("test", &bytes).err().unwrap();
        assert!(format!("{err:#}").contains("no static data"), "{err:#}");
    }
}
