//! Pass 5: assemble the component.
//!
//! 1. wit-component builds the main component: the patched main module, the WASI preview1
//!    adapter and the dl shim adapter (importing `wasm-dl:dl/dl`).
//! 2. The libraries are appended to that component: the env module instance, one core instance
//!    per rewritten library (its imports renamed to the instances that provide them: main's, the
//!    env module's, earlier libraries'; see [`import_names`]), and the loader instance. Appending
//!    only adds indices, so nothing wit-component wrote moves.
//! 3. Unless the provider stays external, the provider component (with this composition's
//!    index in its memory, and the index component saying where plugged into it; see
//!    `provider.rs`) is plugged into the main component with wac-graph.

use crate::layout::{self, Layout};
use crate::parse::Library;
use crate::resolve::{Binding, FuncSource, Resolution, TagSource};
use crate::synth::{atexit, env, main_module};
use anyhow::{anyhow, bail, Context, Result};
use wasm_encoder::{InstanceSection, ModuleArg, RawSection};
use wasmparser::{Instance, Parser, Payload, Validator, WasmFeatures};

/// Validates a component, naming what it is in the error.
pub fn validate_component(bytes: &[u8], what: &str) -> Result<wasmparser::types::Types> {
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| anyhow!("internal error: the {what} does not validate: {e}"))
}

/// Most instances (core and component together) one component may hold: wasmparser's, and so
/// wasmtime's, limit.
pub const MAX_INSTANCES: u32 = 1000;

/// Most tables one wasmtime store holds by default (`wasmtime::DEFAULT_TABLE_LIMIT`): a
/// component defining more composes but does not instantiate ("table count too high").
pub const MAX_STORE_TABLES: u64 = 10_000;

/// Tables the composition defines besides the libraries' own: one slot table per library module,
/// the loader's, main's, and a margin for the adapters and the provider.
pub fn check_table_count(libs: &[Library<'_>], groups: usize) -> Result<()> {
    let own: u64 = libs.iter().map(|l| u64::from(l.own_tables)).sum();
    let total = own + groups as u64 + 16;
    if total > MAX_STORE_TABLES {
        let most = libs.iter().max_by_key(|l| l.own_tables);
        bail!(
            "the libraries define {own} tables of their own ({} defines {}), so the component \
             would hold about {total} tables, more than wasmtime allows in one store \
             ({MAX_STORE_TABLES}); `wasm-ld -shared` defines none: relink them with it",
            most.map_or("", |l| l.name.as_str()),
            most.map_or(0, |l| l.own_tables)
        );
    }
    Ok(())
}

/// Import module names the rewritten libraries use (see [`import_names`]).
const MAIN: &str = "main";
const ENV: &str = "env";

/// The (module, field) each import of library `lib` is renamed to: the instance that provides
/// it is passed whole as that module, so no alias or export-list instance is needed.
///
/// | binding | renamed to |
/// |---|---|
/// | memory, table, stack pointer, main function | `main.<main's export name>` |
/// | base globals, GOT entries, trampolines, stubs | `env.<env module export>` |
/// | function of library m (an earlier group, or its own) | `grp<g>.<m>:<its export name>` |
pub fn import_names(
    lib: crate::resolve::LibId,
    libs: &[Library<'_>],
    res: &Resolution,
    layout: &Layout,
) -> Result<Vec<(String, String)>> {
    let j = lib.index();
    let mut names = Vec::with_capacity(res.bindings[j].len());
    for (i, b) in res.bindings[j].iter().enumerate() {
        let name = match b {
            Binding::Memory => (MAIN.to_string(), "memory".to_string()),
            Binding::Table => (MAIN.to_string(), main_module::TABLE_EXPORT.to_string()),
            Binding::StackPointer => (MAIN.to_string(), "__stack_pointer".to_string()),
            Binding::Tag(TagSource::Main(t)) => (MAIN.to_string(), main_module::tag_export(t)),
            Binding::Tag(TagSource::Lib(m, k)) => {
                let tag = libs[m.index()]
                    .tags
                    .get(*k as usize)
                    .ok_or_else(|| anyhow!("internal error: tag {k} out of range"))?;
                (
                    layout::group_module(layout.group_of[m.index()]),
                    layout::export_name(*m, &tag.0),
                )
            }
            Binding::OwnStack => (ENV.to_string(), env::stack_pointer(lib.0)),
            Binding::MemoryBase => (ENV.to_string(), env::memory_base(lib.0)),
            Binding::TableBase => (ENV.to_string(), env::table_base(lib.0)),
            Binding::Got(g) => (ENV.to_string(), env::got(*g)),
            Binding::Func(src) => match (layout.trampolines.get(&(lib, i)), src) {
                (Some(g), _) => (ENV.to_string(), env::trampoline(*g)),
                (None, FuncSource::Main(name)) if name == atexit::SYMBOL => {
                    (atexit::MODULE.to_string(), atexit::register(lib.0))
                }
                (None, FuncSource::Main(name)) => (MAIN.to_string(), name.clone()),
                (None, src) if env::is_dlsym(src) => (ENV.to_string(), env::dlsym_from(lib.0)),
                (None, src) if env::is_dlopen(src) => (ENV.to_string(), env::dlopen_from(lib.0)),
                (None, FuncSource::Reexport(h)) => (
                    MAIN.to_string(),
                    main_module::reexport_name(&h.module, &h.field),
                ),
                (None, FuncSource::Lib(m, k)) => (
                    layout::group_module(layout.group_of[m.index()]),
                    layout::export_name(*m, &libs[m.index()].funcs[*k as usize].0),
                ),
                (None, FuncSource::Trap) => {
                    let n = layout
                        .stub_of
                        .get(&(lib, i))
                        .ok_or_else(|| anyhow!("internal error: missing trap stub"))?;
                    (ENV.to_string(), env::stub(*n))
                }
            },
        };
        names.push(name);
    }
    Ok(names)
}

/// The composition-wide modules the synth pass made (see `synth`).
#[derive(Clone, Copy)]
pub struct Synthesized<'a> {
    /// The env module (GOT and base globals, trampolines, stubs).
    pub env: &'a [u8],
    /// The per-library destructor lists, if any library registers destructors.
    pub atexit: Option<&'a [u8]>,
    /// The loader.
    pub loader: &'a [u8],
}

/// Appends modules and instances to wit-component's main component (see the module docs).
pub struct Appender {
    out: Vec<u8>,
    core_instances: u32,
    /// Component instances, which count against the same limit.
    component_instances: u32,
    modules: u32,
    main_instance: u32,
}

impl Appender {
    /// Starts from wit-component's main component.
    pub fn new(component: Vec<u8>) -> Result<Self> {
        // Its bodies are validated with the final component's (which contains it): here only
        // its structure, for the counts.
        let types = crate::validate::component_structure(&component, "main component")?;
        let t = types.as_ref();
        let core_instances = t.core_instance_count();
        let component_instances = t.component_instance_count();
        let modules = t.module_count();
        let main_instance = find_main_instance(&component)?;
        Ok(Self {
            out: component,
            core_instances,
            component_instances,
            modules,
            main_instance,
        })
    }

    fn module(&mut self, bytes: &[u8]) -> u32 {
        let section = RawSection {
            id: wasm_encoder::ComponentSectionId::CoreModule as u8,
            data: bytes,
        };
        push_section(&mut self.out, &section);
        self.modules += 1;
        self.modules - 1
    }

    fn instantiate(&mut self, module: u32, args: &[(String, u32)]) -> u32 {
        let mut s = InstanceSection::new();
        s.instantiate(
            module,
            args.iter()
                .map(|(n, i)| (n.as_str(), ModuleArg::Instance(*i))),
        );
        push_section(&mut self.out, &s);
        self.core_instances += 1;
        self.core_instances - 1
    }

    /// Appends the env module, the library groups and the loader; returns the component.
    /// `group_modules[g]` is the module of `layout.groups[g]`. `validate` is `None` only when
    /// the caller validates a component containing this one anyway (validation is most of the
    /// cost of a large composition); otherwise the modules made from validated inputs, whose
    /// unchanged bodies need no second validation (see [`crate::validate::component`]).
    pub fn append(
        mut self,
        group_modules: &[Vec<u8>],
        import_names: &[Vec<(String, String)>],
        layout: &Layout,
        modules: &Synthesized<'_>,
        validate: Option<&[crate::validate::Copied<'_>]>,
    ) -> Result<Vec<u8>> {
        let Synthesized {
            env: env_module,
            atexit: atexit_module,
            loader: loader_module,
        } = *modules;
        let fixed = self.core_instances + self.component_instances + 3;
        let needed = fixed as u64 + group_modules.len() as u64;
        if needed > MAX_INSTANCES as u64 {
            bail!(
                "internal error: {needed} instances in one component, more than runtimes accept \
                 ({MAX_INSTANCES})"
            );
        }
        let main = self.main_instance;
        let env_mod = self.module(env_module);
        let env_inst = self.instantiate(env_mod, &[(MAIN.into(), main)]);
        let atexit_inst = match atexit_module {
            Some(bytes) => {
                let m = self.module(bytes);
                Some(self.instantiate(m, &[(MAIN.into(), main)]))
            }
            None => None,
        };
        let mut group_instances: Vec<(String, u32)> = Vec::with_capacity(group_modules.len());
        for (g, members) in layout.groups.iter().enumerate() {
            let own = layout::group_module(g);
            let bytes = group_modules
                .get(g)
                .ok_or_else(|| anyhow!("internal error: group {g} has no module"))?;
            let module = self.module(bytes);
            // Main always: a library that imports nothing from main still gets main's table
            // imported (see `synth::library`), outside its import names.
            let mut args: Vec<(String, u32)> = vec![(MAIN.to_string(), main)];
            for (m, _) in members.iter().flat_map(|l| &import_names[l.index()]) {
                if *m == own || args.iter().any(|(a, _)| a == m) {
                    continue;
                }
                let inst = match m.as_str() {
                    MAIN => main,
                    ENV => env_inst,
                    atexit::MODULE => atexit_inst
                        .ok_or_else(|| anyhow!("internal error: no destructor-list instance"))?,
                    other => group_instances
                        .iter()
                        .find(|(name, _)| name == other)
                        .map(|(_, i)| *i)
                        .ok_or_else(|| {
                            anyhow!("internal error: group instantiated out of order")
                        })?,
                };
                args.push((m.clone(), inst));
            }
            let inst = self.instantiate(module, &args);
            group_instances.push((own, inst));
        }
        let loader_mod = self.module(loader_module);
        let mut args = vec![(MAIN.to_string(), main), (ENV.to_string(), env_inst)];
        if let Some(inst) = atexit_inst {
            args.push((atexit::MODULE.to_string(), inst));
        }
        args.extend(group_instances);
        self.instantiate(loader_mod, &args);
        if let Some(copies) = validate {
            crate::validate::component(&self.out, "composed component", copies)?;
        }
        Ok(self.out)
    }
}

fn push_section(out: &mut Vec<u8>, section: &impl wasm_encoder::ComponentSection) {
    out.push(section.id());
    let mut data = Vec::new();
    section.encode(&mut data);
    // `encode` of a section writes its length-prefixed contents.
    out.extend_from_slice(&data);
}

/// The core instance of the main module: the first instantiation of the module that exports
/// the dispatch function the composer added.
fn find_main_instance(component: &[u8]) -> Result<u32> {
    let mut modules = 0u32;
    let mut main_module = None;
    let mut instances = 0u32;
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload?;
        match &payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } if depth == 0 => {
                let bytes =
                    &component[unchecked_range.start as usize..unchecked_range.end as usize];
                if main_module.is_none() && exports_dispatch(bytes) {
                    main_module = Some(modules);
                }
                modules += 1;
                depth += 1;
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::InstanceSection(r) if depth == 0 => {
                for inst in r.clone() {
                    if let Instance::Instantiate { module_index, .. } = inst? {
                        if Some(module_index) == main_module {
                            return Ok(instances);
                        }
                    }
                    instances += 1;
                }
            }
            _ => {}
        }
    }
    bail!("internal error: wit-component's output has no main module instance")
}

fn exports_dispatch(module: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(module) {
        if let Ok(Payload::ExportSection(r)) = payload {
            return r
                .into_iter()
                .flatten()
                .any(|e| e.name == main_module::DISPATCH_EXPORT);
        }
    }
    false
}

/// Plugs the provider (with `index`) into the main component and validates the result
/// (`copies`: the modules made from validated inputs; see [`crate::validate::component`]).
pub fn plug_provider(
    main_component: &[u8],
    index: &[u8],
    copies: &[crate::validate::Copied<'_>],
) -> Result<Vec<u8>> {
    use wac_graph::{types::Package, CompositionGraph, EncodeOptions};
    // The same provider component `wasm-dl provider` writes.
    let provider_component = crate::provider::provider_component(index)?;
    let mut graph = CompositionGraph::new();
    let app = Package::from_bytes("app", None, main_component.to_vec(), graph.types_mut())
        .context("internal error: cannot read the main component")?;
    let app = graph.register_package(app)?;
    // wit-component drops the shim's `dl` import when main's dl calls never reach the provider
    // (a main importing only `dlerror`): nothing to plug then.
    if !graph.types()[graph[app].ty()]
        .imports
        .contains_key(crate::wit::DL_INTERFACE)
    {
        crate::validate::component(main_component, "final component", copies)?;
        return Ok(main_component.to_vec());
    }
    let provider = Package::from_bytes(
        "wasm-dl:provider",
        None,
        provider_component,
        graph.types_mut(),
    )
    .context("internal error: cannot read the provider component")?;
    let provider = graph.register_package(provider)?;
    let prov_inst = graph.instantiate(provider);
    let dl = graph.alias_instance_export(prov_inst, crate::wit::DL_INTERFACE)?;
    let app_inst = graph.instantiate(app);
    graph.set_instantiation_argument(app_inst, crate::wit::DL_INTERFACE, dl)?;
    let exports: Vec<String> = graph.types()[graph[app].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    for name in exports {
        let e = graph.alias_instance_export(app_inst, &name)?;
        graph.export(e, &name)?;
    }
    let bytes = graph
        .encode(EncodeOptions {
            validate: false,
            ..Default::default()
        })
        .context("internal error: cannot encode the composition")?;
    crate::validate::component(&bytes, "final component", copies)?;
    Ok(bytes)
}
