//! When the index spaces of an output module answer every question a body's validation asks
//! at least as permissively as its input's did (the soundness argument is in the parent
//! module's docs).

use wasmparser::{
    CompositeInnerType, RefType, SubType, ValType, ValidatorResources, WasmModuleResources,
};

/// Whether every function body valid against `input` is valid against `output` (see the module
/// docs): the same answer to every question body validation asks about an index `input` has,
/// or a more permissive one. Only types without GC features are compared (wasm-ld emits no
/// others); anything else is "not compatible", and the bodies are validated again.
pub(super) fn compatible(input: &ValidatorResources, output: &ValidatorResources) -> bool {
    let plain_val = |v: &ValType| match v {
        ValType::Ref(r) => !r.is_concrete_type_ref(),
        _ => true,
    };
    let plain_ref = |r: &RefType| !r.is_concrete_type_ref();
    let plain = |t: &SubType| {
        t.is_final
            && t.supertype_idx.is_none()
            && !t.composite_type.shared
            && t.composite_type.descriptor_idx.is_none()
            && t.composite_type.describes_idx.is_none()
            && matches!(&t.composite_type.inner, CompositeInnerType::Func(f)
                if f.params().iter().chain(f.results()).all(plain_val))
    };
    // Types: equal, index by index.
    let mut i = 0u32;
    while let Some(a) = input.sub_type_at(i) {
        match output.sub_type_at(i) {
            Some(b) if plain(a) && a == b => {}
            _ => return false,
        }
        i += 1;
    }
    // Functions: the same type index (so the same type), the same exactness, and declared
    // referenceable wherever the input declared them.
    let mut f = 0u32;
    while let Some(a) = input.type_index_of_function(f) {
        if output.type_index_of_function(f) != Some(a)
            || input.has_function_exact_type(f) != output.has_function_exact_type(f)
            || (input.is_function_referenced(f) && !output.is_function_referenced(f))
        {
            return false;
        }
        f += 1;
    }
    // Tables: element type and index type (limits do not type instructions).
    let mut t = 0u32;
    while let Some(a) = input.table_at(t) {
        match output.table_at(t) {
            Some(b)
                if plain_ref(&a.element_type)
                    && a.element_type == b.element_type
                    && a.table64 == b.table64
                    && a.shared == b.shared => {}
            _ => return false,
        }
        t += 1;
    }
    // Memories: index type, sharing, page size (not limits).
    let mut m = 0u32;
    while let Some(a) = input.memory_at(m) {
        match output.memory_at(m) {
            Some(b)
                if a.memory64 == b.memory64
                    && a.shared == b.shared
                    && a.page_size_log2 == b.page_size_log2 => {}
            _ => return false,
        }
        m += 1;
    }
    // Globals: the same value type; mutable wherever the input's was (an immutable one may
    // have become mutable: a valid body never set it).
    let mut g = 0u32;
    while let Some(a) = input.global_at(g) {
        match output.global_at(g) {
            Some(b)
                if plain_val(&a.content_type)
                    && a.content_type == b.content_type
                    && a.shared == b.shared
                    && (!a.mutable || b.mutable) => {}
            _ => return false,
        }
        g += 1;
    }
    // Tags: the same function type.
    let mut k = 0u32;
    while let Some(a) = input.tag_at(k) {
        match output.tag_at(k) {
            Some(b) if a.params().iter().chain(a.results()).all(plain_val) && a == b => {}
            _ => return false,
        }
        k += 1;
    }
    // Element segments: the same types, at least as many.
    if output.element_count() < input.element_count() {
        return false;
    }
    for e in 0..input.element_count() {
        match (input.element_type_at(e), output.element_type_at(e)) {
            (Some(a), Some(b)) if plain_ref(&a) && a == b => {}
            _ => return false,
        }
    }
    // Data count: a body may use `memory.init`/`data.drop` only with one, below it.
    match (input.data_count(), output.data_count()) {
        (None, _) => true,
        (Some(a), Some(b)) => b >= a,
        (Some(_), None) => false,
    }
}
