//! Helpers shared by the passes that copy a module while changing a few sections.

use anyhow::{anyhow, Result};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Module, RawSection, TypeSection, ValType};
use wasmparser::{FuncType, Payload, TypeSectionReader};

fn val(t: &wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        // The reference type as given (externref stays externref); the round-trip conversion
        // cannot fail on a validated module's types.
        wasmparser::ValType::Ref(r) => RoundtripReencoder
            .ref_type(*r)
            .map_or(ValType::FUNCREF, ValType::Ref),
    }
}

/// The encoder's form of a function type: (params, results).
pub fn func_type(ty: &FuncType) -> (Vec<ValType>, Vec<ValType>) {
    (
        ty.params().iter().map(val).collect(),
        ty.results().iter().map(val).collect(),
    )
}

/// A copy of a type section (function types only, as wasm-ld emits).
pub fn copy_types(reader: &TypeSectionReader<'_>) -> Result<TypeSection> {
    let mut types = TypeSection::new();
    for ty in reader.clone().into_iter_err_on_gc_types() {
        let (params, results) = func_type(&ty?);
        types.ty().function(params, results);
    }
    Ok(types)
}

/// Copies a section the pass does not change, byte for byte.
pub fn copy_raw(module: &mut Module, bytes: &[u8], payload: &Payload<'_>) -> Result<()> {
    if let Some((id, range)) = payload.as_section() {
        let data = bytes
            .get(range.start as usize..range.end as usize)
            .ok_or_else(|| anyhow!("section extends past the end of the file"))?;
        module.section(&RawSection { id, data });
    }
    Ok(())
}
