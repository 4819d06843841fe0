//! The precompiled provider component and the per-composition index component it imports.

use anyhow::{Context, Result};
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_component::StringEncoding;

/// The provider component, built from `provider/` (see `scripts/build-provider.sh`).
pub const PROVIDER: &[u8] = include_bytes!("../../provider/wasm-dl-provider.wasm");

/// A component exporting `wasm-dl:dl/index` whose `get` returns `index`.
pub fn index_component(index: &[u8]) -> Result<Vec<u8>> {
    // Memory layout: the (ptr, len) return area at 0, the bytes at 16.
    let len = index.len() as u32;
    let pages = (16 + len as u64).div_ceil(65536).max(1);
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
    let mut header = Vec::with_capacity(16);
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    data.active(0, &ConstExpr::i32_const(0), header);
    data.active(0, &ConstExpr::i32_const(16), index.iter().copied());
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

/// The provider component with `index` plugged in: a component that imports nothing and exports
/// `wasm-dl:dl/dl`, ready to be plugged into a component composed with
/// [`ProviderMode::External`](crate::ProviderMode::External) (`wac plug`, `wasm-tools compose`).
pub fn provider_component(index: &[u8]) -> Result<Vec<u8>> {
    use wac_graph::{types::Package, CompositionGraph, EncodeOptions};
    let mut graph = CompositionGraph::new();
    let provider = Package::from_bytes("wasm-dl:provider", None, PROVIDER, graph.types_mut())
        .context("internal error: cannot read the embedded provider")?;
    let provider = graph.register_package(provider)?;
    let idx = Package::from_bytes(
        "wasm-dl:index",
        None,
        index_component(index)?,
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
    crate::encode::validate_component(&bytes, "provider component")?;
    Ok(bytes)
}

impl crate::Composer {
    /// The provider component for this composition (its index plugged in), for a component
    /// composed with [`ProviderMode::External`](crate::ProviderMode::External): runs the passes
    /// up to the layout, which decides the index.
    pub fn provider_component(&self) -> Result<Vec<u8>> {
        let mut root = None;
        let (main, libs) = self.parse(&mut root)?;
        let (_, layout) = self.resolve_and_layout(&main, &libs)?;
        provider_component(&layout.index)
    }
}
