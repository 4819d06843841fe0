//! Pass 5: assemble the component.
//!
//! 1. wit-component builds the main component: the patched main module, the WASI preview1
//!    adapter and the dl shim adapter (importing `wasm-dl:dl/dl`).
//! 2. The libraries are appended to that component: the env module instance, one core instance
//!    per rewritten library (its `env`/`GOT.mem`/`GOT.func` imports bound to aliases of main's,
//!    the env module's and earlier libraries' exports), and the loader instance. Appending only
//!    adds indices, so nothing wit-component wrote moves.
//! 3. Unless the provider stays external, the provider component (with this composition's
//!    index component plugged into it) is plugged into the main component with wac-graph.

use crate::layout::Layout;
use crate::parse::Library;
use crate::resolve::{Binding, FuncSource, Resolution};
use crate::synth::{env, loader, main_module};
use anyhow::{anyhow, bail, Context, Result};
use hashbrown::HashMap;
use wasm_encoder::{
    Alias, ComponentAliasSection, ExportKind, InstanceSection, ModuleArg, RawSection,
};
use wasmparser::{Instance, Parser, Payload, Validator, WasmFeatures};

/// Validates a component, naming what it is in the error.
pub fn validate_component(bytes: &[u8], what: &str) -> Result<wasmparser::types::Types> {
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| anyhow!("internal error: the {what} does not validate: {e}"))
}

/// A core export item: (name, kind, index).
type Item = (String, ExportKind, u32);

/// Index-space counters of the component being appended to.
struct Spaces {
    core_instances: u32,
    funcs: u32,
    tables: u32,
    memories: u32,
    globals: u32,
    modules: u32,
}

/// Appends one core module per item, instances wired as described in the module docs.
pub struct Appender<'a> {
    out: Vec<u8>,
    spaces: Spaces,
    main_instance: u32,
    aliases: HashMap<(u32, String), u32>,
    pending_aliases: ComponentAliasSection,
    _marker: std::marker::PhantomData<&'a ()>,
}

impl<'a> Appender<'a> {
    /// Starts from wit-component's main component.
    pub fn new(component: Vec<u8>) -> Result<Self> {
        let types = validate_component(&component, "main component")?;
        let t = types.as_ref();
        let spaces = Spaces {
            core_instances: t.core_instance_count(),
            funcs: t.function_count(),
            tables: t.table_count(),
            memories: t.memory_count(),
            globals: t.global_count(),
            modules: t.module_count(),
        };
        let main_instance = find_main_instance(&component)?;
        Ok(Self {
            out: component,
            spaces,
            main_instance,
            aliases: HashMap::new(),
            pending_aliases: ComponentAliasSection::new(),
            _marker: std::marker::PhantomData,
        })
    }

    fn module(&mut self, bytes: &[u8]) -> u32 {
        self.flush_aliases();
        let section = RawSection {
            id: wasm_encoder::ComponentSectionId::CoreModule as u8,
            data: bytes,
        };
        push_section(&mut self.out, &section);
        self.spaces.modules += 1;
        self.spaces.modules - 1
    }

    fn alias(&mut self, instance: u32, kind: ExportKind, name: &str) -> u32 {
        if let Some(i) = self.aliases.get(&(instance, name.to_string())) {
            return *i;
        }
        self.pending_aliases.alias(Alias::CoreInstanceExport {
            instance,
            kind,
            name,
        });
        let space = match kind {
            ExportKind::Func => &mut self.spaces.funcs,
            ExportKind::Table => &mut self.spaces.tables,
            ExportKind::Memory => &mut self.spaces.memories,
            _ => &mut self.spaces.globals,
        };
        *space += 1;
        self.aliases
            .insert((instance, name.to_string()), *space - 1);
        *space - 1
    }

    fn flush_aliases(&mut self) {
        if !self.pending_aliases.is_empty() {
            let section = std::mem::take(&mut self.pending_aliases);
            push_section(&mut self.out, &section);
        }
    }

    fn instantiate(&mut self, module: u32, args: Vec<(String, u32)>) -> u32 {
        self.flush_aliases();
        let mut s = InstanceSection::new();
        s.instantiate(
            module,
            args.iter()
                .map(|(n, i)| (n.as_str(), ModuleArg::Instance(*i))),
        );
        push_section(&mut self.out, &s);
        self.spaces.core_instances += 1;
        self.spaces.core_instances - 1
    }

    fn instance_of_exports(&mut self, items: Vec<Item>) -> u32 {
        self.flush_aliases();
        let mut s = InstanceSection::new();
        s.export_items(items.iter().map(|(n, k, i)| (n.as_str(), *k, *i)));
        push_section(&mut self.out, &s);
        self.spaces.core_instances += 1;
        self.spaces.core_instances - 1
    }

    /// Appends the env module, the libraries and the loader; returns the component.
    pub fn append(
        mut self,
        libs: &[Library<'_>],
        rewritten: &[Vec<u8>],
        res: &Resolution,
        layout: &Layout,
        env_module: &[u8],
        loader_module: &[u8],
    ) -> Result<Vec<u8>> {
        let main = self.main_instance;
        let env_mod = self.module(env_module);
        let env_inst = self.instantiate(env_mod, vec![("main".into(), main)]);
        let mut lib_instances: Vec<Option<u32>> = vec![None; libs.len()];
        for &id in &layout.order {
            let j = id.index();
            let lib = &libs[j];
            let module = self.module(&rewritten[j]);
            let mut by_module: Vec<(String, Vec<Item>)> = Vec::new();
            for (i, (imp, b)) in lib.imports.iter().zip(&res.bindings[j]).enumerate() {
                let (kind, index) = match b {
                    Binding::Memory => (
                        ExportKind::Memory,
                        self.alias(main, ExportKind::Memory, "memory"),
                    ),
                    Binding::Table => (
                        ExportKind::Table,
                        self.alias(main, ExportKind::Table, main_module::TABLE_EXPORT),
                    ),
                    Binding::StackPointer => (
                        ExportKind::Global,
                        self.alias(main, ExportKind::Global, "__stack_pointer"),
                    ),
                    Binding::MemoryBase => (
                        ExportKind::Global,
                        self.alias(env_inst, ExportKind::Global, &env::memory_base(id.0)),
                    ),
                    Binding::TableBase => (
                        ExportKind::Global,
                        self.alias(env_inst, ExportKind::Global, &env::table_base(id.0)),
                    ),
                    Binding::Got(g) => (
                        ExportKind::Global,
                        self.alias(env_inst, ExportKind::Global, &env::got(*g)),
                    ),
                    Binding::Func(src) => {
                        let f = if let Some(g) = layout.trampolines.get(&(id, i)) {
                            self.alias(env_inst, ExportKind::Func, &env::trampoline(*g))
                        } else {
                            match src {
                                FuncSource::Main(name) => self.alias(main, ExportKind::Func, name),
                                FuncSource::Lib(m, k) => {
                                    let inst = lib_instances[m.index()].ok_or_else(|| {
                                        anyhow!("internal error: library instantiated out of order")
                                    })?;
                                    let name = &libs[m.index()].funcs[*k as usize].0;
                                    self.alias(inst, ExportKind::Func, name)
                                }
                                FuncSource::Trap => {
                                    let n = layout.stub_of.get(&(id, i)).ok_or_else(|| {
                                        anyhow!("internal error: missing trap stub")
                                    })?;
                                    self.alias(env_inst, ExportKind::Func, &env::stub(*n))
                                }
                            }
                        };
                        (ExportKind::Func, f)
                    }
                };
                match by_module.iter_mut().find(|(m, _)| *m == imp.module) {
                    Some((_, items)) => items.push((imp.field.clone(), kind, index)),
                    None => {
                        by_module.push((imp.module.clone(), vec![(imp.field.clone(), kind, index)]))
                    }
                }
            }
            let mut args = Vec::with_capacity(by_module.len());
            for (module_name, items) in by_module {
                let inst = self.instance_of_exports(items);
                args.push((module_name, inst));
            }
            lib_instances[j] = Some(self.instantiate(module, args));
        }
        let loader_mod = self.module(loader_module);
        let mut args = vec![("main".to_string(), main), ("env".to_string(), env_inst)];
        for (j, inst) in lib_instances.iter().enumerate() {
            let inst =
                inst.ok_or_else(|| anyhow!("internal error: library {j} not instantiated"))?;
            args.push((loader::lib_module(j as u32), inst));
        }
        self.instantiate(loader_mod, args);
        self.flush_aliases();
        validate_component(&self.out, "composed component")?;
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

/// Plugs the provider (with `index`) into the main component.
pub fn plug_provider(main_component: &[u8], index: &[u8]) -> Result<Vec<u8>> {
    use wac_graph::{types::Package, CompositionGraph, EncodeOptions};
    let index_component = crate::provider::index_component(index)?;
    let mut graph = CompositionGraph::new();
    let app = Package::from_bytes("app", None, main_component.to_vec(), graph.types_mut())
        .context("internal error: cannot read the main component")?;
    let app = graph.register_package(app)?;
    let provider = Package::from_bytes(
        "wasm-dl:provider",
        None,
        crate::provider::PROVIDER,
        graph.types_mut(),
    )
    .context("internal error: cannot read the embedded provider")?;
    let provider = graph.register_package(provider)?;
    let idx = Package::from_bytes("wasm-dl:index", None, index_component, graph.types_mut())?;
    let idx = graph.register_package(idx)?;

    let idx_inst = graph.instantiate(idx);
    let idx_export = graph.alias_instance_export(idx_inst, crate::wit::INDEX_INTERFACE)?;
    let prov_inst = graph.instantiate(provider);
    graph.set_instantiation_argument(prov_inst, crate::wit::INDEX_INTERFACE, idx_export)?;
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
    validate_component(&bytes, "final component")?;
    Ok(bytes)
}
