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
    GlobalSection, GlobalType, ImportSection, Module, NameMap, NameSection, TypeSection, ValType,
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
/// Export name of library `lib`'s `dlsym`: see [`CallerWrapper::Dlsym`].
pub fn dlsym_from(lib: u32) -> String {
    CallerWrapper::Dlsym.export(lib)
}
/// Export name of library `lib`'s `dlopen`: see [`CallerWrapper::Dlopen`].
pub fn dlopen_from(lib: u32) -> String {
    CallerWrapper::Dlopen.export(lib)
}

/// A dl function each library that calls it gets a copy of, which tells the shim who calls
/// (the caller cannot be forged: no handle value stands for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallerWrapper {
    /// `dlsym<lib>(handle, name)`: `RTLD_NEXT` goes to the shim's `DLSYM_NEXT(lib, name)`,
    /// any other handle to its `dlsym` (a handle means the same from every caller).
    Dlsym,
    /// `dlopen<lib>(name, mode)`: the shim's `DLOPEN_FROM(lib, name, mode)`, so that a name
    /// without `/` is searched in `lib`'s RUNPATH.
    Dlopen,
}

impl CallerWrapper {
    /// Every wrapper, in the order the env module holds them.
    const ALL: [CallerWrapper; 2] = [CallerWrapper::Dlsym, CallerWrapper::Dlopen];

    /// The wrapper a call to `src` goes through, if any.
    fn of(src: &crate::resolve::FuncSource) -> Option<CallerWrapper> {
        if src.is_dlsym() {
            Some(CallerWrapper::Dlsym)
        } else if src.is_dlopen() {
            Some(CallerWrapper::Dlopen)
        } else {
            None
        }
    }

    /// Export name of library `lib`'s copy.
    fn export(self, lib: u32) -> String {
        match self {
            CallerWrapper::Dlsym => format!("dlsym{lib}"),
            CallerWrapper::Dlopen => format!("dlopen{lib}"),
        }
    }

    /// The shim functions (re-exported by main) the copies call, imported in this order.
    fn shim_functions(self) -> &'static [&'static str] {
        match self {
            CallerWrapper::Dlsym => &["dlsym", DLSYM_NEXT],
            CallerWrapper::Dlopen => &[DLOPEN_FROM],
        }
    }

    /// The body of `lib`'s copy; `shim` are the function indices of [`Self::shim_functions`].
    fn body(self, lib: u32, shim: &[u32]) -> Function {
        let mut body = Function::new([]);
        let mut ins = body.instructions();
        match (self, shim) {
            (CallerWrapper::Dlsym, &[dlsym, next, ..]) => {
                ins.local_get(0)
                    .i32_const(wasm_dl_abi::dl::Handle::NEXT.0 as i32)
                    .i32_eq()
                    .if_(wasm_encoder::BlockType::Result(ValType::I32))
                    .i32_const(lib as i32)
                    .local_get(1)
                    .call(next)
                    .else_()
                    .local_get(0)
                    .local_get(1)
                    .call(dlsym)
                    .end();
            }
            (CallerWrapper::Dlopen, &[open_from, ..]) => {
                ins.i32_const(lib as i32)
                    .local_get(0)
                    .local_get(1)
                    .call(open_from);
            }
            // `shim` always has `shim_functions().len()` entries.
            _ => {
                ins.unreachable();
            }
        }
        ins.end();
        body
    }
}

// The names below are short: each is repeated by every module importing it (CPython: about
// 1,600 imports and exports of GOT globals and 400 of trampolines). Each prefix letter is
// followed by a digit, so none is a prefix of another (`sp{lib}`, `tb{lib}`).

// The names below are short: each is repeated by every module importing it (CPython: about
// 1,600 imports and exports of GOT globals and 400 of trampolines). Each prefix letter is
// followed by a digit, so none is a prefix of another (`sp{lib}`, `tb{lib}`, `dlsym{lib}`).

/// Export name of a GOT global.
pub fn got(id: GotId) -> String {
    format!("g{}", id.0)
}
/// Export name of the trampoline that calls through GOT entry `id`.
pub fn trampoline(id: GotId) -> String {
    format!("t{}", id.0)
}
/// Export name of trap stub number `n` (see `Layout::stubs`).
pub fn stub(n: crate::layout::StubId) -> String {
    format!("s{}", n.0)
}

/// Builder of the env module.
#[derive(Default)]
pub struct EnvModule {
    trampolines: Vec<(GotId, FuncType)>,
    /// The [`CallerWrapper`]s the libraries call, each library once per wrapper.
    callers: Vec<(CallerWrapper, u32)>,
    /// The host functions main re-exports (`Resolution::reexports`): the shim's functions the
    /// wrappers call are among them.
    reexports: Vec<crate::resolve::HostImport>,
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
        let mut env = Self {
            reexports: res.reexports.clone(),
            ..Self::default()
        };
        for (l, binds) in res.bindings.iter().enumerate() {
            for (i, (bind, imp)) in binds.iter().zip(&libs[l].imports).enumerate() {
                let crate::parse::ImportKind::Func(ty) = &imp.kind else {
                    continue;
                };
                let at = crate::resolve::LibImport {
                    lib: crate::resolve::LibId(l as u32),
                    index: i as u32,
                };
                if let Some(g) = layout.trampolines.get(&at) {
                    env.trampoline(*g, ty);
                }
                let crate::resolve::Binding::Func(src) = bind else {
                    continue;
                };
                if let Some(w) = CallerWrapper::of(src) {
                    if !env.callers.contains(&(w, l as u32)) {
                        env.callers.push((w, l as u32));
                    }
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
            super::ANY_FUNC_TABLE,
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
        // The caller wrappers: the shim functions they call are imported first (for each
        // wrapper some library calls, in `CallerWrapper::ALL` order), then one copy per caller.
        let mut f = 0;
        let mut shim: Vec<(CallerWrapper, Vec<u32>)> = Vec::new();
        for w in CallerWrapper::ALL {
            if !self.callers.iter().any(|(c, _)| *c == w) {
                continue;
            }
            let mut indices = Vec::new();
            for &field in w.shim_functions() {
                let ty = crate::dlfcn::func_type(field)
                    .ok_or_else(|| anyhow::anyhow!("no core type for the shim's `{field}`"))?;
                let t = ty_of(&ty, &mut types)?;
                let name = crate::synth::main_module::reexport_name_of(
                    &self.reexports,
                    crate::DL_MODULE,
                    field,
                )?;
                imports.import("main", &name, EntityType::Function(t));
                indices.push(f);
                f += 1;
            }
            shim.push((w, indices));
        }
        // Each wrapper takes two i32s and returns one.
        let t2 = ty_of(
            &FuncType::new([wasmparser::ValType::I32; 2], [wasmparser::ValType::I32]),
            &mut types,
        )?;
        for (w, indices) in &shim {
            for &(_, lib) in self.callers.iter().filter(|(c, _)| c == w) {
                funcs.function(t2);
                code.function(&w.body(lib, indices));
                exports.export(&w.export(lib), ExportKind::Func, f);
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
        for (n, (symbol, ty)) in (0u32..).map(crate::layout::StubId).zip(stubs) {
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
