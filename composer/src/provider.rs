//! The precompiled provider component, the per-composition index placed in its memory, and the
//! index component that says where (the `index` interface of `wit/dl.wit`).
//!
//! The index is not passed as a `list<u8>` (the canonical ABI would copy its megabytes into the
//! provider at every start-up): [`provider_with_index`] adds it to the provider's main core module
//! as a data segment in pages past the module's initial memory, which wasmtime maps
//! copy-on-write, and [`index_component`] returns its location.

use anyhow::{ensure, Context, Result};
use std::ops::Range;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ExportKind, ExportSection, Function,
    FunctionSection, MemorySection, MemoryType, Module, RawSection, TypeSection, ValType,
};
use wasmparser::{Parser, Payload};
use wit_component::StringEncoding;

/// The provider component, built from `provider/` (see `scripts/build-provider.sh`).
pub const PROVIDER: &[u8] = include_bytes!("../../provider/wasm-dl-provider.wasm");

const PAGE: u64 = 65536;

/// A component exporting `wasm-dl:dl/index` whose `get` returns the location `offset`, `len`.
pub fn index_component(offset: u32, len: u32) -> Result<Vec<u8>> {
    // Memory layout: the returned `location` record at 0.
    let pages = 1;
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: pages,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export(
        &format!("{}#get", crate::wit::INDEX_INTERFACE),
        ExportKind::Func,
        0,
    );
    let mut code = CodeSection::new();
    let mut f = Function::new([]);
    f.instructions().i32_const(0).end();
    code.function(&f);
    let mut data = DataSection::new();
    let mut location = Vec::with_capacity(8);
    location.extend_from_slice(&offset.to_le_bytes());
    location.extend_from_slice(&len.to_le_bytes());
    data.active(0, &ConstExpr::i32_const(0), location);
    let mut module = Module::new();
    module.section(&types);
    module.section(&funcs);
    module.section(&memories);
    module.section(&exports);
    module.section(&code);
    module.section(&data);
    let mut bytes = module.finish();

    let (resolve, pkg) = crate::wit::resolve()?;
    let world = resolve.select_world(&[pkg], Some("index-data"))?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, StringEncoding::UTF8)?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&bytes)?
        .encode()
        .context("internal error: cannot build the index component")
}

fn range(r: Range<u64>) -> Range<usize> {
    r.start as usize..r.end as usize
}

/// The provider component ([`PROVIDER`]) with `index` in the memory of its main core module (the
/// one module that defines a memory), and the index's address there.
///
/// The component is copied section by section, that module rewritten: its memory's minimum grows
/// by the pages the index needs and a data segment puts the index at the old minimum. Everything
/// the module uses lies below that: its stack, data and the linker's heap end at the initial
/// memory, and its allocator (dlmalloc) takes further memory only with `memory.grow`, which hands
/// out pages past the new minimum.
pub fn provider_with_index(index: &[u8]) -> Result<(Vec<u8>, u32)> {
    let mut out = wasm_encoder::Component::new();
    let mut at = None;
    // The contents of nested modules and components are skipped: only the top level is copied.
    let mut depth = 0u32;
    for payload in Parser::new(0).parse_all(PROVIDER) {
        let payload = payload.context("internal error: cannot read the embedded provider")?;
        match &payload {
            Payload::Version { .. } if depth == 0 => continue,
            Payload::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            _ if depth > 0 => continue,
            _ => {}
        }
        let Some((id, r)) = payload.as_section() else {
            continue;
        };
        let bytes = PROVIDER
            .get(range(r))
            .context("internal error: provider section out of range")?;
        if let Payload::ComponentSection { .. } = payload {
            depth += 1;
        }
        if let Payload::ModuleSection { .. } = payload {
            depth += 1;
            if let Some((module, offset)) = module_with_index(bytes, index)? {
                ensure!(at.is_none(), "internal error: two provider memories");
                at = Some(offset);
                out.section(&RawSection { id, data: &module });
                continue;
            }
        }
        out.section(&RawSection { id, data: bytes });
    }
    let at = at.context("internal error: the provider has no memory")?;
    Ok((out.finish(), at))
}

/// `module` with `index` added to the memory it defines, and the index's address; `None` if the
/// module defines no memory.
fn module_with_index(module: &[u8], index: &[u8]) -> Result<Option<(Vec<u8>, u32)>> {
    let mut out = Module::new();
    let mut at = None;
    let mut data_seen = false;
    let len = index.len() as u64;
    let segment = |data: &mut DataSection, at: u64| {
        data.active(
            0,
            &ConstExpr::i32_const(at as u32 as i32),
            index.iter().copied(),
        );
    };
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.context("internal error: cannot read the provider module")?;
        match payload {
            Payload::Version { .. } | Payload::End(_) | Payload::CodeSectionEntry(_) => {}
            Payload::MemorySection(reader) => {
                let mut memories = MemorySection::new();
                for ty in reader {
                    let mut ty = RoundtripReencoder.memory_type(ty?)?;
                    ensure!(
                        at.is_none() && !ty.memory64 && ty.page_size_log2.is_none(),
                        "internal error: unexpected provider memory"
                    );
                    let start = ty.minimum * PAGE;
                    ty.minimum += len.div_ceil(PAGE);
                    ensure!(
                        start + len <= 1 << 32 && ty.maximum.is_none_or(|m| m >= ty.minimum),
                        "the library index ({len} bytes) does not fit in the provider's memory"
                    );
                    at = Some(start);
                    memories.memory(ty);
                }
                out.section(&memories);
            }
            Payload::DataCountSection { count, .. } if at.is_some() => {
                out.section(&DataCountSection { count: count + 1 });
            }
            Payload::DataSection(reader) if at.is_some() => {
                let mut data = DataSection::new();
                RoundtripReencoder.parse_data_section(&mut data, reader)?;
                segment(&mut data, at.unwrap_or_default());
                out.section(&data);
                data_seen = true;
            }
            other => {
                let Some((id, r)) = other.as_section() else {
                    continue;
                };
                let bytes = module
                    .get(range(r))
                    .context("internal error: provider section out of range")?;
                out.section(&RawSection { id, data: bytes });
            }
        }
    }
    let Some(at) = at else {
        return Ok(None);
    };
    ensure!(
        data_seen,
        "internal error: the provider module has no data section"
    );
    Ok(Some((out.finish(), at as u32)))
}

/// The provider component with `index` plugged in: a component that imports nothing and exports
/// `wasm-dl:dl/dl`, ready to be plugged into a component composed with
/// [`ProviderMode::External`](crate::ProviderMode::External) (`wac plug`, `wasm-tools compose`).
pub fn provider_component(index: &[u8]) -> Result<Vec<u8>> {
    let bytes = unvalidated_provider_component(index)?;
    crate::encode::validate_component(&bytes, "provider component")?;
    Ok(bytes)
}

/// [`provider_component`], not validated: for a component that holds it and is validated
/// whole (`encode::plug_provider`).
pub(crate) fn unvalidated_provider_component(index: &[u8]) -> Result<Vec<u8>> {
    use wac_graph::{types::Package, CompositionGraph, EncodeOptions};
    let mut graph = CompositionGraph::new();
    let (provider, at) = provider_with_index(index)?;
    let provider = Package::from_bytes("wasm-dl:provider", None, provider, graph.types_mut())
        .context("internal error: cannot read the embedded provider")?;
    let provider = graph.register_package(provider)?;
    let len = u32::try_from(index.len()).context("the library index is too large")?;
    let idx = Package::from_bytes(
        "wasm-dl:index",
        None,
        index_component(at, len)?,
        graph.types_mut(),
    )?;
    let idx = graph.register_package(idx)?;
    let idx_inst = graph.instantiate(idx);
    let idx_export = graph.alias_instance_export(idx_inst, crate::wit::INDEX_INTERFACE)?;
    let prov_inst = graph.instantiate(provider);
    graph.set_instantiation_argument(prov_inst, crate::wit::INDEX_INTERFACE, idx_export)?;
    let dl = graph.alias_instance_export(prov_inst, crate::wit::DL_INTERFACE)?;
    graph.export(dl, crate::wit::DL_INTERFACE)?;
    let bytes = graph
        .encode(EncodeOptions {
            validate: false,
            ..Default::default()
        })
        .context("internal error: cannot encode the provider component")?;
    Ok(bytes)
}

impl crate::Composer {
    /// The provider component for this composition (its index plugged in), for a component
    /// composed with [`ProviderMode::External`](crate::ProviderMode::External): runs the passes
    /// up to the resolution and the layout, which decide the index.
    pub fn provider_component(&self) -> Result<Vec<u8>> {
        let (mut root, mut runtime) = (None, None);
        let (main, libs) = self.parse(&mut root, &mut runtime)?;
        let res = crate::resolve::resolve(&main, &libs, self.link)?;
        let tables = self.tables(&main, &libs, &res)?;
        provider_component(&self.index(&main, &libs, &res, &tables)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{DataKind, Operator};

    /// Active data segments: (offset, bytes).
    type Segments = Vec<(i32, Vec<u8>)>;

    /// The initial memory (pages) of the memory-defining module, and its active data segments.
    fn memory_and_segments(component: &[u8]) -> Result<(u64, Segments)> {
        let mut pages = None;
        let mut segments = Vec::new();
        for payload in Parser::new(0).parse_all(component) {
            match payload? {
                Payload::MemorySection(r) => {
                    for m in r {
                        assert!(pages.is_none(), "one memory");
                        pages = Some(m?.initial);
                    }
                }
                Payload::DataSection(r) => {
                    for d in r {
                        let d = d?;
                        if let DataKind::Active { offset_expr, .. } = d.kind {
                            if let Operator::I32Const { value } =
                                offset_expr.get_operators_reader().read()?
                            {
                                segments.push((value, d.data.to_vec()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok((pages.context("a memory")?, segments))
    }

    #[test]
    fn index_lands_past_the_provider_memory() -> Result<()> {
        let index: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (component, at) = provider_with_index(&index)?;
        crate::encode::validate_component(&component, "provider component")?;
        let (old_pages, old_segments) = memory_and_segments(PROVIDER)?;
        let (pages, segments) = memory_and_segments(&component)?;
        // At the old end of the memory, which grows by just enough pages.
        assert_eq!(u64::from(at), old_pages * PAGE);
        assert_eq!(pages, old_pages + (index.len() as u64).div_ceil(PAGE));
        // The old segments, then the index.
        assert_eq!(segments[..old_segments.len()], old_segments[..]);
        assert_eq!(segments[old_segments.len()..], [(at as i32, index)]);
        // Everything else is as it was: the rest of the component is copied.
        assert!(component.len() > PROVIDER.len() + 200_000);
        assert!(component.len() < PROVIDER.len() + 200_000 + 64);
        Ok(())
    }

    #[test]
    fn index_component_returns_the_location() -> Result<()> {
        let component = index_component(0x11_0000, 1234)?;
        crate::encode::validate_component(&component, "index component")?;
        let (_, segments) = memory_and_segments(&component)?;
        let mut location = 0x11_0000u32.to_le_bytes().to_vec();
        location.extend_from_slice(&1234u32.to_le_bytes());
        assert_eq!(segments, [(0, location)]);
        Ok(())
    }
}
