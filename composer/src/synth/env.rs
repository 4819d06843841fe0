//! The env module: the mutable globals the libraries' `env`/`GOT` imports bind to.
//!
//! It is instantiated before any library (it depends on nothing but main's table), so every
//! library can import from it, and the loader (instantiated after the libraries) sets its globals
//! when a library is placed. It also holds the trampolines for calls into libraries instantiated
//! later (cycles) and the trap stubs for weak undefined functions.

use crate::resolve::{GotId, GotTarget};
use anyhow::Result;
use hashbrown::HashMap;
use wasm_encoder::{
    CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, ImportSection, Module, NameMap, NameSection, TableType, TypeSection,
    ValType,
};
use wasmparser::FuncType;

/// Export name of library `lib`'s memory base global.
pub fn memory_base(lib: u32) -> String {
    format!("mb{lib}")
}
/// Export name of library `lib`'s table base global.
pub fn table_base(lib: u32) -> String {
    format!("tb{lib}")
}
/// Export name of library `lib`'s own stack pointer (see `Binding::OwnStack`).
pub fn stack_pointer(lib: u32) -> String {
    format!("sp{lib}")
}
/// Export name of library `lib`'s `dlsym`: it sends `RTLD_NEXT` to the shim's
/// [`DLSYM_NEXT`] with `lib` as the caller, every other handle to the shim's `dlsym`.
pub fn dlsym_from(lib: u32) -> String {
    format!("dlsym{lib}")
}
/// Export name of library `lib`'s `dlopen`: it calls the shim's [`DLOPEN_FROM`] with `lib` as
/// the caller, whose RUNPATH a name without `/` is searched in.
pub fn dlopen_from(lib: u32) -> String {
    format!("dlopen{lib}")
}
/// Export name of a GOT global.
pub fn got(id: GotId) -> String {
    format!("got{}", id.0)
}
/// Export name of the trampoline that calls through GOT entry `id`.
pub fn trampoline(id: GotId) -> String {
    format!("tramp{}", id.0)
}
/// Export name of trap stub number `n` (see `Layout::stubs`).
pub fn stub(n: usize) -> String {
    format!("stub{n}")
}

/// Builder of the env module.
#[derive(Default)]
pub struct EnvModule {
    trampolines: Vec<(GotId, FuncType)>,
    /// Libraries that call `dlsym` (each gets a [`dlsym_from`] of its own).
    dlsym_callers: Vec<u32>,
    /// Libraries that call `dlopen` (each gets a [`dlopen_from`] of its own).
    dlopen_callers: Vec<u32>,
}

pub use super::rewrite::func_type;
use crate::dlfcn::{DLOPEN_FROM, DLSYM_NEXT};

impl EnvModule {
    /// The env module for a composition: a trampoline for every call into a later group.
    pub fn new(
        libs: &[crate::parse::Library<'_>],
        res: &crate::resolve::Resolution,
        layout: &crate::layout::Layout,
    ) -> Self {
        let mut env = Self::default();
        for (l, binds) in res.bindings.iter().enumerate() {
            for (i, (bind, imp)) in binds.iter().zip(&libs[l].imports).enumerate() {
                let crate::parse::ImportKind::Func(ty) = &imp.kind else {
                    continue;
                };
                if let Some(g) = layout
                    .trampolines
                    .get(&(crate::resolve::LibId(l as u32), i))
                {
                    env.trampoline(*g, ty);
                }
                let dlsym = matches!(bind, crate::resolve::Binding::Func(src) if src.is_dlsym());
                if dlsym && !env.dlsym_callers.contains(&(l as u32)) {
                    env.dlsym_callers.push(l as u32);
                }
                let dlopen = matches!(bind, crate::resolve::Binding::Func(src) if src.is_dlopen());
                if dlopen && !env.dlopen_callers.contains(&(l as u32)) {
                    env.dlopen_callers.push(l as u32);
                }
            }
        }
        env
    }

    /// Adds a trampoline through GOT entry `id` (once per id).
    pub fn trampoline(&mut self, id: GotId, ty: &FuncType) {
        if !self.trampolines.iter().any(|(g, _)| *g == id) {
            self.trampolines.push((id, ty.clone()));
        }
    }

    /// Encodes the module for `n_libs` libraries and the given GOT entries.
    pub fn encode(
        &self,
        n_libs: u32,
        gots: &[GotTarget],
        stubs: &[(String, FuncType)],
        own_stack: &[bool],
    ) -> Result<Vec<u8>> {
        let mut types = TypeSection::new();
        let mut imports = ImportSection::new();
        let mut funcs = FunctionSection::new();
        let mut globals = GlobalSection::new();
        let mut exports = ExportSection::new();
        let mut code = CodeSection::new();

        imports.import(
            "main",
            crate::synth::main_module::TABLE_EXPORT,
            EntityType::Table(TableType {
                element_type: wasm_encoder::RefType::FUNCREF,
                minimum: 0,
                maximum: None,
                table64: false,
                shared: false,
            }),
        );
        let mut_i32 = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        let mut g = 0;
        for lib in 0..n_libs {
            globals.global(mut_i32, &ConstExpr::i32_const(0));
            exports.export(&memory_base(lib), ExportKind::Global, g);
            globals.global(mut_i32, &ConstExpr::i32_const(0));
            exports.export(&table_base(lib), ExportKind::Global, g + 1);
            g += 2;
        }
        for (lib, own) in own_stack.iter().enumerate() {
            if *own {
                globals.global(mut_i32, &ConstExpr::i32_const(0));
                exports.export(&stack_pointer(lib as u32), ExportKind::Global, g);
                g += 1;
            }
        }
        let got_base = g;
        for (i, t) in gots.iter().enumerate() {
            let init = match t {
                GotTarget::Abs(v) => *v as i32,
                _ => 0,
            };
            globals.global(mut_i32, &ConstExpr::i32_const(init));
            exports.export(
                &got(GotId(i as u32)),
                ExportKind::Global,
                got_base + i as u32,
            );
        }

        let mut ty_index: HashMap<FuncType, u32> = HashMap::new();
        let mut ty_of = |ty: &FuncType, types: &mut TypeSection| -> Result<u32> {
            if let Some(i) = ty_index.get(ty) {
                return Ok(*i);
            }
            let (p, r) = func_type(ty)?;
            types.ty().function(p, r);
            ty_index.insert(ty.clone(), types.len() - 1);
            Ok(types.len() - 1)
        };
        // `dlsym<lib>(handle, name)`: `RTLD_NEXT` goes to the shim's `DLSYM_NEXT(lib,
        // name)`, any other handle to its `dlsym` (both re-exported by main).
        // Imports come first: (dlsym, DLSYM_NEXT) at 0 and 1 if any library calls dlsym, then
        // DLOPEN_FROM if one calls dlopen.
        let t2 = ty_of(
            &FuncType::new([wasmparser::ValType::I32; 2], [wasmparser::ValType::I32]),
            &mut types,
        )?;
        let mut f = 0;
        let mut import = |field: &str, t: u32, f: &mut u32| {
            imports.import(
                "main",
                &crate::synth::main_module::reexport_name(crate::DL_MODULE, field),
                EntityType::Function(t),
            );
            *f += 1;
            *f - 1
        };
        if !self.dlsym_callers.is_empty() {
            import("dlsym", t2, &mut f);
            import(DLSYM_NEXT, t2, &mut f);
        }
        let open_from = match self.dlopen_callers.is_empty() {
            true => None,
            false => {
                let t3 = ty_of(
                    &FuncType::new([wasmparser::ValType::I32; 3], [wasmparser::ValType::I32]),
                    &mut types,
                )?;
                Some(import(DLOPEN_FROM, t3, &mut f))
            }
        };
        if !self.dlsym_callers.is_empty() {
            let t = t2;
            for &lib in &self.dlsym_callers {
                funcs.function(t);
                let mut body = Function::new([]);
                body.instructions()
                    .local_get(0)
                    .i32_const(wasm_dl_abi::dl::HANDLE_NEXT as i32)
                    .i32_eq()
                    .if_(wasm_encoder::BlockType::Result(ValType::I32))
                    .i32_const(lib as i32)
                    .local_get(1)
                    .call(1)
                    .else_()
                    .local_get(0)
                    .local_get(1)
                    .call(0)
                    .end()
                    .end();
                code.function(&body);
                exports.export(&dlsym_from(lib), ExportKind::Func, f);
                f += 1;
            }
        }
        // `dlopen<lib>(name, mode)`: the shim's `DLOPEN_FROM(lib, name, mode)`.
        if let Some(open_from) = open_from {
            for &lib in &self.dlopen_callers {
                funcs.function(t2);
                let mut body = Function::new([]);
                body.instructions()
                    .i32_const(lib as i32)
                    .local_get(0)
                    .local_get(1)
                    .call(open_from)
                    .end();
                code.function(&body);
                exports.export(&dlopen_from(lib), ExportKind::Func, f);
                f += 1;
            }
        }
        for (id, ty) in &self.trampolines {
            let t = ty_of(ty, &mut types)?;
            funcs.function(t);
            let mut body = Function::new([]);
            let mut ins = body.instructions();
            for p in 0..ty.params().len() as u32 {
                ins.local_get(p);
            }
            ins.global_get(got_base + id.0).call_indirect(0, t).end();
            code.function(&body);
            exports.export(&trampoline(*id), ExportKind::Func, f);
            f += 1;
        }
        // Each stub is named after its symbol, so a trap's backtrace says what was missing.
        let mut names = NameMap::new();
        for (n, (symbol, ty)) in stubs.iter().enumerate() {
            let t = ty_of(ty, &mut types)?;
            funcs.function(t);
            let mut body = Function::new([]);
            body.instructions().unreachable().end();
            code.function(&body);
            exports.export(&stub(n), ExportKind::Func, f);
            names.append(f, &format!("undefined symbol `{symbol}` called"));
            f += 1;
        }

        let mut module = Module::new();
        module.section(&types);
        module.section(&imports);
        module.section(&funcs);
        module.section(&globals);
        module.section(&exports);
        module.section(&code);
        let mut name_section = NameSection::new();
        name_section.functions(&names);
        module.section(&name_section);
        Ok(module.finish())
    }
}
