//! When the index spaces of an output module answer every question a body's validation asks
//! at least as permissively as its input's did (the soundness argument is in the parent
//! module's docs), and the module `--gc` rewrote from a validated input, validated without
//! validating its bodies again when that argument carries over (see [`rewritten`]).

use super::{features, invalid, threads, ValidatedModule};
use crate::synth::rewrite::REMOVED;
use anyhow::{anyhow, Result};
use wasmparser::{
    CompositeInnerType, Parser, RefType, SubType, ValType, ValidPayload, Validator,
    ValidatorResources, WasmModuleResources,
};

/// Module `bytes`, which the `--gc` pass made from the validated `input` (`name` for messages),
/// validated: its structure completely, its function bodies only if the argument below does
/// not hold for it. `funcs` is the rewrite's function map (input index to output index, or
/// [`REMOVED`]); `body_refs` the functions the input's bodies name with `ref.func` (sorted).
///
/// The rewrite (`synth::rewrite` with a table of function indices and
/// `Edit::compact_code`) writes every kept body as the input's body re-encoded by
/// wasm-encoder's reencoder, instruction for instruction, with each function index mapped
/// through `funcs` and every immediate in its shortest LEB128; it keeps the type section and
/// every other index space (globals, tables, memories, tags, segments, the data count) as
/// they are. A body's validity depends only on its instructions and on the answers of the
/// module's index spaces ([`WasmModuleResources`], see the parent module); the re-encoded
/// body asks about function `funcs[f]` where the input's asked about `f`, and the same
/// questions about everything else. So when [`compatible_mapped`] finds the output's answers
/// for `funcs[f]` equal to (or more permissive than) the input's for `f` (whether a function
/// is declared referenceable is asked only by `ref.func`, so it matters only for the
/// functions in `body_refs`: `--gc` drops exports, and an export declares its function), and the other
/// index spaces compatible, every re-encoded body is valid because its input body was (the
/// input's bodies are validated meanwhile in the background, and nothing made from them is
/// accepted before that ends, see [`super::inputs_in`]). Otherwise its bodies are validated
/// here. The output component is validated again all the same, its structure completely
/// (the final component's copy of each of these bodies is then skipped as a byte-for-byte
/// copy of this module's, see [`super::component`]).
pub fn rewritten<'a>(
    name: &str,
    input: &ValidatedModule<'_>,
    bytes: &'a [u8],
    funcs: &[u32],
    body_refs: &[u32],
) -> Result<ValidatedModule<'a>> {
    rewritten_counted(name, input, bytes, funcs, body_refs).map(|(m, _)| m)
}

/// [`rewritten`], and how many bodies it validated.
fn rewritten_counted<'a>(
    name: &str,
    input: &ValidatedModule<'_>,
    bytes: &'a [u8],
    funcs: &[u32],
    body_refs: &[u32],
) -> Result<(ValidatedModule<'a>, usize)> {
    let mut validator = Validator::new_with_features(features());
    let mut module = ValidatedModule {
        resources: None,
        first_defined: 0,
        bodies: Vec::new(),
    };
    let mut jobs = Vec::new();
    let mut trusted = false;
    for payload in Parser::new(0).parse_all(bytes) {
        let valid = payload.and_then(|p| validator.payload(&p));
        match valid.map_err(|e| invalid(name, e))? {
            ValidPayload::Func(f, body) => {
                if module.resources.is_none() {
                    module.first_defined = f.index;
                    trusted = input
                        .resources
                        .as_ref()
                        .is_some_and(|r| compatible_mapped(r, &f.resources, funcs, body_refs));
                    module.resources = Some(f.resources.clone());
                }
                module.bodies.push(body.as_bytes());
                if !trusted {
                    jobs.push((f, body));
                }
            }
            ValidPayload::End(_) => break,
            _ => {}
        }
    }
    let validated = jobs.len();
    threads::run(jobs)
        .map_err(|(_, e)| anyhow!("internal error: {name} as --gc rewrote it: {e}"))?;
    Ok((module, validated))
}

/// Whether every function body valid against `input` is valid against `output` (see the module
/// docs): the same answer to every question body validation asks about an index `input` has,
/// or a more permissive one. Only types without GC features are compared (wasm-ld emits no
/// others); anything else is "not compatible", and the bodies are validated again.
pub(super) fn compatible(input: &ValidatorResources, output: &ValidatorResources) -> bool {
    compatible_in(input, output, Some, |_| true)
}

/// [`compatible`] for an output whose functions were renumbered: input function `f` is
/// output function `funcs[f]` ([`REMOVED`]: gone; a valid output body cannot name it, since
/// the rewrite refuses any use of a removed function). Function indices past `funcs` are
/// not compatible. Only the functions in `body_refs` must stay declared referenceable.
fn compatible_mapped(
    input: &ValidatorResources,
    output: &ValidatorResources,
    funcs: &[u32],
    body_refs: &[u32],
) -> bool {
    compatible_in(
        input,
        output,
        |f| funcs.get(f as usize).copied(),
        |f| body_refs.binary_search(&f).is_ok(),
    )
}

/// [`compatible`] with input function `f` at output index `func(f)` (`Some(REMOVED)`: not in
/// the output; `None`: not compatible), which must stay declared referenceable if
/// `referenced(f)` says a body may `ref.func` it (the only instruction whose validation asks).
fn compatible_in(
    input: &ValidatorResources,
    output: &ValidatorResources,
    func: impl Fn(u32) -> Option<u32>,
    referenced: impl Fn(u32) -> bool,
) -> bool {
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
        let o = match func(f) {
            None => return false,
            Some(REMOVED) => {
                f += 1;
                continue;
            }
            Some(o) => o,
        };
        if output.type_index_of_function(o) != Some(a)
            || input.has_function_exact_type(f) != output.has_function_exact_type(o)
            || (input.is_function_referenced(f)
                && !output.is_function_referenced(o)
                && referenced(f))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::rewrite::{self, Additions, Edit, IndexMap, Maps};

    const LIB: &str = r#"(module
        (import "env" "f" (func $f (param i32)))
        (table 2 funcref)
        (elem (i32.const 0) func $c)
        (func $dead (call $f (i32.const 1000000)))
        (func $a (param i32) (result i32) (call $c) local.get 0)
        (func $c (call $f (i32.const 7)))
        (export "a" (func $a)))"#;

    struct Compact;
    impl Edit for Compact {
        fn compact_code(&self) -> bool {
            true
        }
    }

    /// `LIB` without `$dead`, re-encoded as `--gc` does; its function map.
    fn gc_lib(input: &[u8]) -> (Vec<u8>, Vec<u32>) {
        let funcs = vec![0, REMOVED, 1, 2];
        let maps = Maps {
            funcs: IndexMap::Table(funcs.clone()),
            ..Maps::default()
        };
        let out = rewrite::rewrite(input, &maps, Additions::default(), &mut Compact).unwrap();
        (out, funcs)
    }

    #[test]
    fn a_gc_rewrite_reuses_the_inputs_validation() {
        let input = wat::parse_str(LIB).unwrap();
        let validated = super::super::inputs(&[("lib", &input)]).unwrap();
        let (out, funcs) = gc_lib(&input);
        assert!(out.len() < input.len());
        let (module, count) = rewritten_counted("lib", &validated[0], &out, &funcs, &[]).unwrap();
        assert_eq!((count, module.bodies.len()), (0, 2));
        // The output component's copy of the rewritten module skips both bodies.
        let component = super::super::tests::wrap(&out);
        let copies = [super::super::Copied {
            module: &out,
            input: &module,
        }];
        let (_, skipped) =
            super::super::component_inner(&component, "test", &copies, super::super::Bodies::All)
                .unwrap();
        assert_eq!(skipped, 2);
    }

    /// Drops every export (as `--gc` drops the unbound ones), re-encoding.
    struct DropAll;
    impl Edit for DropAll {
        fn export(
            &mut self,
            _: &str,
            _: wasm_encoder::ExportKind,
            _: u32,
            _: &mut wasm_encoder::ExportSection,
        ) -> Result<()> {
            Ok(())
        }
        fn compact_code(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_dropped_export_matters_only_to_a_ref_func() {
        // `$a` is declared referenceable by its export alone; `$c` calls it, `$r` takes its
        // reference.
        let lib = r#"(module
            (func $a (export "a"))
            (func $c (call $a))
            (func $r (result funcref) (ref.func $a))
            (export "r" (func $r)))"#;
        let input = wat::parse_str(lib).unwrap();
        let validated = super::super::inputs(&[("lib", &input)]).unwrap();
        let funcs = vec![0, 1, 2];
        let maps = Maps {
            funcs: IndexMap::Table(funcs.clone()),
            ..Maps::default()
        };
        let out = rewrite::rewrite(&input, &maps, Additions::default(), &mut DropAll).unwrap();
        // No body takes a reference: trusted.
        let (_, count) = rewritten_counted("lib", &validated[0], &out, &funcs, &[]).unwrap();
        assert_eq!(count, 0);
        // `$r`'s `ref.func $a` lost its declaration: validated, and found invalid.
        let e = rewritten_counted("lib", &validated[0], &out, &funcs, &[0]).unwrap_err();
        assert!(
            format!("{e:#}").contains("undeclared function reference"),
            "{e:#}"
        );
    }

    #[test]
    fn a_map_that_changes_a_type_validates_the_bodies() {
        let input = wat::parse_str(LIB).unwrap();
        let validated = super::super::inputs(&[("lib", &input)]).unwrap();
        let (out, _) = gc_lib(&input);
        // Told that `$a` and `$c` swapped places: their types differ, so nothing is trusted,
        // and the bodies (valid) are validated.
        let swapped = [0, REMOVED, 2, 1];
        let (_, count) = rewritten_counted("lib", &validated[0], &out, &swapped, &[]).unwrap();
        assert_eq!(count, 2);
        // A body that is not valid in the output is an error, not trusted.
        let bad = wat::parse_str(
            r#"(module
            (import "env" "f" (func $f (param i32)))
            (table 2 funcref)
            (elem (i32.const 0) func $c)
            (func $a (param i32) (result i32) (call $c))
            (func $c (call $f (i32.const 7)))
            (export "a" (func $a)))"#,
        );
        // `wat` checks no types: the module parses, and its `$a` leaves no result.
        let bad = bad.unwrap();
        let e = rewritten_counted("lib", &validated[0], &bad, &swapped, &[]).unwrap_err();
        assert!(format!("{e}").contains("as --gc rewrote it"), "{e}");
    }
}
