//! Pass 5: assemble the component.
//!
//! 1. wit-component builds the main component: the patched main module, the WASI preview1
//!    adapter and the dl shim adapter (importing `wasm-dl:dl/dl`).
//! 2. The libraries are appended to that component: the env module instance, one core instance
//!    per rewritten library (its imports renamed to the instances that provide them: main's, the
//!    env module's, earlier libraries'; see `synth::names`), and the loader instance. Appending
//!    only adds indices, so nothing wit-component wrote moves.
//! 3. Unless the provider stays external, the provider component (with this composition's
//!    index in its memory, and the index component saying where plugged into it; see
//!    `provider.rs`) is plugged into the main component with wac-graph.

mod hollow;

pub use hollow::Hollow;

use crate::layout::{GroupId, Layout};
use crate::parse::Library;
use crate::synth::names::{Supplier, ENV, MAIN};
use crate::synth::{atexit, main_module, Synthesized};
use anyhow::{anyhow, bail, Context, Result};
use std::ops::Range;
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
        // It is validated as part of the final component (which contains it); here it is only
        // counted (validating its structure twice cost more than the counting).
        let counts = Counts::of(&component)?;
        if cfg!(debug_assertions) {
            let types = crate::validate::component_structure(&component, "main component")?;
            let t = types.as_ref();
            let validated = Counts {
                core_instances: t.core_instance_count(),
                component_instances: t.component_instance_count(),
                modules: t.module_count(),
            };
            if counts != validated {
                bail!("internal error: main component counted as {counts:?}, not {validated:?}");
            }
        }
        let Counts {
            core_instances,
            component_instances,
            modules,
        } = counts;
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
    /// `validate` is `None` only when
    /// the caller validates a component containing this one anyway (validation is most of the
    /// cost of a large composition); otherwise the modules made from validated inputs, whose
    /// unchanged bodies need no second validation (see [`crate::validate::component`]).
    pub fn append(
        mut self,
        layout: &Layout,
        synthesized: &Synthesized,
        validate: Option<&[crate::validate::Copied<'_>]>,
    ) -> Result<Vec<u8>> {
        let Synthesized {
            env: env_module,
            atexit: atexit_module,
            loader: loader_module,
            groups: group_modules,
            import_names,
            ..
        } = synthesized;
        // The component is most of the output's bytes (the libraries' code): grown once, with
        // room for what [`plug_provider`] puts around it, since every copy of it into fresh
        // memory costs a page fault per 4 KiB (on CPython's set they were a third of the
        // composer's time). A filled hollow main component has the room already.
        self.out.reserve(appended_len(synthesized));
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
        // Group g's instance is `group_instances[g]`: groups are instantiated in index order.
        let mut group_instances: Vec<u32> = Vec::with_capacity(group_modules.len());
        for (g, members) in layout.groups.iter().enumerate() {
            let own = GroupId(g as u32);
            let bytes = group_modules
                .get(g)
                .ok_or_else(|| anyhow!("internal error: group {g} has no module"))?;
            let module = self.module(bytes);
            // Main always: a library that imports nothing from main still gets main's table
            // imported (see `synth::library`), outside its import names.
            let mut from = vec![Supplier::Main];
            for name in members.iter().flat_map(|l| &import_names[l.index()]) {
                if name.from != Supplier::Group(own) && !from.contains(&name.from) {
                    from.push(name.from);
                }
            }
            let mut args = Vec::with_capacity(from.len());
            for f in from {
                let inst = match f {
                    Supplier::Main => main,
                    Supplier::Env => env_inst,
                    Supplier::Atexit => atexit_inst
                        .ok_or_else(|| anyhow!("internal error: no destructor-list instance"))?,
                    Supplier::Group(h) => *group_instances.get(h.index()).ok_or_else(|| {
                        anyhow!("internal error: group {g} imports from later group {}", h.0)
                    })?,
                };
                args.push((f.module_name().into_owned(), inst));
            }
            let inst = self.instantiate(module, &args);
            group_instances.push(inst);
        }
        let loader_mod = self.module(loader_module);
        let mut args = vec![(MAIN.to_string(), main), (ENV.to_string(), env_inst)];
        if let Some(inst) = atexit_inst {
            args.push((atexit::MODULE.to_string(), inst));
        }
        args.extend(
            group_instances
                .into_iter()
                .enumerate()
                .map(|(g, inst)| (GroupId(g as u32).module_name(), inst)),
        );
        self.instantiate(loader_mod, &args);
        if let Some(copies) = validate {
            crate::validate::component(&self.out, "composed component", copies)?;
        }
        Ok(self.out)
    }
}

/// How many bytes [`Appender::append`] adds to the main component (an upper bound), with
/// room for what [`plug_provider`] puts around the result.
pub fn appended_len(synthesized: &Synthesized) -> usize {
    let modules: usize = synthesized.groups.iter().map(Vec::len).sum::<usize>()
        + synthesized.env.len()
        + synthesized.loader.len()
        + synthesized.atexit.as_ref().map_or(0, Vec::len);
    modules + synthesized.groups.len() * 64 + PLUG_HEADROOM
}

/// Room left after an appended component for what [`plug_provider`] adds around it: the
/// provider (about 70 KiB with a small index) and the outer component's types and instances.
const PLUG_HEADROOM: usize = 512 * 1024;

fn push_section(out: &mut Vec<u8>, section: &impl wasm_encoder::ComponentSection) {
    out.push(section.id());
    // `encode` of a section writes its length-prefixed contents.
    section.encode(out);
}

/// The core instance of the main module: the first instantiation of the module that exports
/// the dispatch function the composer added.
/// The sizes of a component's index spaces that [`Appender`] appends to.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    core_instances: u32,
    component_instances: u32,
    modules: u32,
}

impl Counts {
    /// Counts the top-level items of `component` that add to these index spaces: core
    /// instances come only from core instance sections; core modules from module sections,
    /// imports, outer aliases and exports; component instances from instance sections,
    /// imports, instance-export aliases and exports (an export adds an index too).
    fn of(component: &[u8]) -> Result<Self> {
        use wasmparser::ComponentTypeRef;
        use wasmparser::{ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind};
        let mut c = Counts {
            core_instances: 0,
            component_instances: 0,
            modules: 0,
        };
        let mut depth = 0usize;
        let add = |n: &mut u32, k: u32| -> Result<()> {
            *n = n
                .checked_add(k)
                .context("internal error: too many items in the main component")?;
            Ok(())
        };
        for payload in Parser::new(0).parse_all(component) {
            let payload = payload?;
            match &payload {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                    if depth == 0 && matches!(payload, Payload::ModuleSection { .. }) {
                        add(&mut c.modules, 1)?;
                    }
                    depth += 1;
                }
                Payload::End(_) => depth = depth.saturating_sub(1),
                _ if depth > 0 => {}
                Payload::InstanceSection(r) => add(&mut c.core_instances, r.count())?,
                Payload::ComponentInstanceSection(r) => add(&mut c.component_instances, r.count())?,
                Payload::ComponentImportSection(r) => {
                    for i in r.clone() {
                        match i?.ty {
                            ComponentTypeRef::Module(_) => add(&mut c.modules, 1)?,
                            ComponentTypeRef::Instance(_) => add(&mut c.component_instances, 1)?,
                            _ => {}
                        }
                    }
                }
                Payload::ComponentAliasSection(r) => {
                    for a in r.clone() {
                        match a? {
                            ComponentAlias::InstanceExport {
                                kind: ComponentExternalKind::Instance,
                                ..
                            } => add(&mut c.component_instances, 1)?,
                            ComponentAlias::Outer {
                                kind: ComponentOuterAliasKind::CoreModule,
                                ..
                            } => add(&mut c.modules, 1)?,
                            _ => {}
                        }
                    }
                }
                Payload::ComponentExportSection(r) => {
                    for e in r.clone() {
                        match e?.kind {
                            ComponentExternalKind::Module => add(&mut c.modules, 1)?,
                            ComponentExternalKind::Instance => add(&mut c.component_instances, 1)?,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

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

/// The provider plugged into a stand-in of the composed component ([`plug_stand_in`]).
pub struct Plugged {
    /// wac-graph's output: the stand-in with the provider plugged in; validated, but for the
    /// stand-in's bodies.
    outer: Vec<u8>,
    /// The stand-in's bytes as wac-graph embedded them.
    stand_in: Vec<u8>,
}

/// Puts `component` in place of the stand-in of `plugged` (see [`plug_stand_in`]) and
/// validates the result (`copies`: the modules made from validated inputs; see
/// [`crate::validate::component`]); `plugged` is `None` when there was nothing to plug (the
/// result is `component`).
///
/// The result is valid when wac-graph's output (the stand-in plugged) is, `component` is,
/// and `component` has the stand-in's type ([`crate::validate::check_stand_in`]): a component
/// nested in another is validated on its own, and the outer one sees only its type. So
/// `component` is validated here, on another thread while the result is written (it is most
/// of the output), and wac-graph's output was validated when it was made.
///
/// With `write`, the result goes to it instead (and an empty vector is returned), in pieces
/// and while `component`'s validation ends (see [`crate::Composer::compose_with`]).
pub fn plug_provider(
    plugged: Option<Plugged>,
    component: Vec<u8>,
    copies: &[crate::validate::Copied<'_>],
    write: Option<&mut crate::Write<'_>>,
) -> Result<Vec<u8>> {
    let write_given = write.is_some();
    let written = std::thread::scope(|scope| {
        let validated = scope.spawn(|| {
            crate::validate::component(&component, "composed component", copies).map(drop)
        });
        // The result is written while the validation ends, in pieces (`splice` would move
        // the component, which the validation reads).
        let written = match (write, &plugged) {
            (Some(write), Some(p)) => crate::validate::check_stand_in(&component, &p.stand_in)
                .and_then(|()| {
                    let (prefix, suffix) = splice_parts(&p.outer, &p.stand_in, component.len())?;
                    write(&[&prefix, &component, &p.outer[suffix]])
                }),
            (Some(write), None) => write(&[&component]),
            (None, _) => Ok(()),
        };
        let joined = validated
            .join()
            .unwrap_or_else(|_| Err(anyhow!("internal error: a validation thread panicked")));
        // The component's own error first.
        joined.and(written)
    });
    written?;
    if write_given {
        return Ok(Vec::new());
    }
    let Some(p) = plugged else {
        return Ok(component);
    };
    crate::validate::check_stand_in(&component, &p.stand_in)?;
    splice(&p.outer, &p.stand_in, component)
}

/// The provider (with `index`) plugged by wac-graph into `stand_in`, validated but for the
/// stand-in's bodies; `None` when there is nothing to plug.
///
/// `stand_in` is wit-component's main component, before [`Appender`] adds the libraries: it
/// has the composed component's imports and exports (appending adds only core modules and
/// instances), and it is a fraction of the size. wac-graph reads and copies a package whole
/// (validating its structure, the libraries' modules too) only to learn its type, and embeds
/// its bytes as they are, so wac-graph composes the stand-in, as soon as wit-component made
/// it (beside pass 4), and the complete component takes its place in wac-graph's output
/// ([`plug_provider`]).
pub fn plug_stand_in(stand_in: Vec<u8>, index: &[u8]) -> Result<Option<Plugged>> {
    use wac_graph::{types::Package, CompositionGraph, EncodeOptions};
    // The same provider component `wasm-dl provider` writes (validated with the result).
    let provider_component = crate::provider::unvalidated_provider_component(index)?;
    let mut graph = CompositionGraph::new();
    let app = Package::from_bytes("app", None, stand_in, graph.types_mut())
        .context("internal error: cannot read the main component")?;
    let app = graph.register_package(app)?;
    // wit-component drops the shim's `dl` import when main's dl calls never reach the provider
    // (a main importing only `dlerror`): nothing to plug then.
    if !graph.types()[graph[app].ty()]
        .imports
        .contains_key(crate::wit::DL_INTERFACE)
    {
        return Ok(None);
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
    let plugged = graph
        .encode(EncodeOptions {
            validate: false,
            ..Default::default()
        })
        .context("internal error: cannot encode the composition")?;
    // The stand-in's bytes as wac-graph embedded them.
    let stand_in = graph[app].bytes().to_vec();
    crate::validate::with_stand_in(&plugged, "plugged stand-in", &stand_in)?;
    Ok(Some(Plugged {
        outer: plugged,
        stand_in,
    }))
}

/// `outer` with its one top-level nested component whose bytes are `stand_in` replaced by
/// `real` (see [`plug_provider`]), in `real`'s buffer: `real` is most of the bytes, and moving
/// it within memory it already touched is cheaper than copying it to fresh memory.
fn splice(outer: &[u8], stand_in: &[u8], mut real: Vec<u8>) -> Result<Vec<u8>> {
    let (prefix, suffix) = splice_parts(outer, stand_in, real.len())?;
    let suffix = &outer[suffix];
    real.reserve(prefix.len() + suffix.len());
    let len = real.len();
    real.resize(len + prefix.len(), 0);
    real.copy_within(..len, prefix.len());
    real[..prefix.len()].copy_from_slice(&prefix);
    real.extend_from_slice(suffix);
    Ok(real)
}

/// What comes before and (a range of `outer`) after a component of `len` bytes in place of
/// the one nested component of `outer` whose bytes are `stand_in`: the result of [`splice`].
fn splice_parts(outer: &[u8], stand_in: &[u8], len: usize) -> Result<(Vec<u8>, Range<usize>)> {
    let id = wasm_encoder::ComponentSectionId::Component as u8;
    let mut found = None;
    let mut parser = Parser::new(0);
    let mut rest = outer;
    loop {
        let (payload, consumed) = match parser.parse(rest, true)? {
            wasmparser::Chunk::Parsed { payload, consumed } => (payload, consumed),
            wasmparser::Chunk::NeedMoreData(_) => {
                bail!("internal error: wac-graph's output ends early")
            }
        };
        rest = rest.get(consumed..).unwrap_or_default();
        match payload {
            Payload::ComponentSection {
                unchecked_range, ..
            } => {
                let range =
                    usize::try_from(unchecked_range.start)?..usize::try_from(unchecked_range.end)?;
                let end = range.end;
                if outer.get(range.clone()) == Some(stand_in) {
                    if found.is_some() {
                        bail!("internal error: wac-graph's output holds the main component twice");
                    }
                    found = Some(range);
                }
                // Not into the nested component (its payloads are not this level's): the
                // parser goes on after it, as `Parser::parse_all` resumes a parent.
                rest = outer.get(end..).unwrap_or_default();
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    let range = found.context("internal error: wac-graph's output lacks the main component")?;
    let start = section_start(outer, &range, id)?
        .context("internal error: unexpected section header in wac-graph's output")?;
    let mut prefix = outer[..start].to_vec();
    prefix.push(id);
    leb(&mut prefix, len)?;
    Ok((prefix, range.end..outer.len()))
}

/// Appends `n` as the unsigned LEB128 of a section or vector length (at most 4 GiB).
fn leb(out: &mut Vec<u8>, n: usize) -> Result<()> {
    let n = u32::try_from(n).context("a section is larger than 4 GiB")?;
    wasm_encoder::Encode::encode(&n, out);
    Ok(())
}

/// Where the section of `bytes` whose contents are `contents` starts, when the bytes before
/// them are that section's header: its id `id` and the contents' length in the shortest
/// LEB128 (what wasm-encoder writes); `None` otherwise.
fn section_start(bytes: &[u8], contents: &std::ops::Range<usize>, id: u8) -> Result<Option<usize>> {
    let mut header = vec![id];
    leb(&mut header, contents.len())?;
    Ok(contents
        .start
        .checked_sub(header.len())
        .filter(|s| bytes.get(*s..contents.start) == Some(header.as_slice())))
}
