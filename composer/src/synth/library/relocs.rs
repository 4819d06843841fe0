//! `__wasm_apply_data_relocs` of a prelinked library, evaluated at compose time.
//!
//! wasm-ld writes the function as straight-line code, one store per relocation in the data
//! segments (lld `InputChunk::generateRelocationCode`):
//!
//! ```text
//! i32.const <offset>  global.get __memory_base  i32.add          ;; where
//! global.get <GOT entry> [i32.const <addend> i32.add]             ;; what: a preemptible symbol
//!   or  global.get __memory_base|__table_base  i32.const <v>  i32.add   ;; a local one
//! i32.store
//! ```
//!
//! When both bases of the library are fixed (`layout::Prelink`) and every global the function
//! reads is a constant at compose time, each store's address and value are known, and the
//! stores go into the data image instead of running at every start (where they also write into
//! the copy-on-write image, faulting its pages in). Any other form (another instruction, a
//! global not known, a store outside the library's data segments) keeps the run-time call.

use wasmparser::FunctionBody;

/// Evaluates the body of `__wasm_apply_data_relocs`: the stores it makes, as (offset from the
/// memory base, value), in order; `None` when the body is not of the recognised form.
/// `global_value(g)` is the compose-time value of global `g`, if it has one; `memory_base` the
/// library's.
pub(super) fn evaluate(
    body: &FunctionBody<'_>,
    memory_base: u32,
    global_value: impl Fn(u32) -> Option<u32>,
) -> Option<Vec<(u32, u32)>> {
    let mut locals = body.get_locals_reader().ok()?;
    for _ in 0..locals.get_count() {
        let (count, _) = locals.read().ok()?;
        if count > 0 {
            return None;
        }
    }
    // The five opcodes are decoded here rather than by wasmparser's operator reader: the body
    // is one store per relocation (tens of thousands in libpython), and the general reader
    // cost four times as much. Anything else is `None`, as before.
    let mut ops = body.get_binary_reader_for_operators().ok()?;
    let mut stack: Vec<u32> = Vec::new();
    let mut stores = Vec::new();
    while !ops.eof() {
        match ops.read_u8().ok()? {
            I32_CONST => stack.push(ops.read_var_i32().ok()? as u32),
            GLOBAL_GET => stack.push(global_value(ops.read_var_u32().ok()?)?),
            I32_ADD => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                stack.push(a.wrapping_add(b));
            }
            I32_STORE => {
                // memarg: alignment flags (bit 6: a memory index follows), offset.
                let flags = ops.read_var_u32().ok()?;
                if flags & MEMARG_HAS_MEMORY != 0 && ops.read_var_u32().ok()? != 0 {
                    return None;
                }
                if flags & !MEMARG_HAS_MEMORY >= MEMARG_HAS_MEMORY {
                    return None;
                }
                let offset = ops.read_var_u32().ok()?;
                let value = stack.pop()?;
                let addr = stack.pop()?;
                // The effective address, as wasm computes it (no wrap: a store past 4 GiB traps).
                let at = u64::from(addr) + u64::from(offset);
                let rel = at.checked_sub(u64::from(memory_base))?;
                stores.push((u32::try_from(rel).ok()?, value));
            }
            END if stack.is_empty() && ops.eof() => return Some(stores),
            _ => return None,
        }
    }
    None
}

const I32_CONST: u8 = 0x41;
const GLOBAL_GET: u8 = 0x23;
const I32_ADD: u8 = 0x6a;
const I32_STORE: u8 = 0x36;
const END: u8 = 0x0b;
const MEMARG_HAS_MEMORY: u32 = 1 << 6;

/// Applies `stores` (offset from the memory base, value; in program order) to the library's
/// data segments `segs` (offset from the memory base, bytes), which do not overlap. `false`
/// (and `segs` unchanged) when a store does not fall wholly inside one segment.
pub(super) fn apply(stores: &[(u32, u32)], segs: &mut [(u32, Vec<u8>)]) -> bool {
    let mut order: Vec<usize> = (0..segs.len()).collect();
    order.sort_by_key(|&i| segs[i].0);
    let find = |rel: u32, segs: &[(u32, Vec<u8>)]| -> Option<(usize, usize)> {
        // The last segment starting at or before `rel`.
        let k = order
            .partition_point(|&i| segs[i].0 <= rel)
            .checked_sub(1)?;
        let i = order[k];
        let start = (rel - segs[i].0) as usize;
        (start.checked_add(4)? <= segs[i].1.len()).then_some((i, start))
    };
    let mut places = Vec::with_capacity(stores.len());
    for &(rel, _) in stores {
        match find(rel, segs) {
            Some(p) => places.push(p),
            None => return false,
        }
    }
    for (&(i, start), &(_, value)) in places.iter().zip(stores) {
        segs[i].1[start..start + 4].copy_from_slice(&value.to_le_bytes());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_land_in_their_segment_in_order() {
        let mut segs = vec![(16, vec![0u8; 8]), (0, vec![0u8; 8])];
        assert!(apply(&[(4, 7), (16, 1), (4, 9)], &mut segs));
        assert_eq!(segs[1].1, [0, 0, 0, 0, 9, 0, 0, 0]);
        assert_eq!(segs[0].1, [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_store_across_a_segment_end_is_refused() {
        let mut segs = vec![(0, vec![0u8; 8])];
        assert!(!apply(&[(0, 1), (6, 2)], &mut segs));
        assert_eq!(segs[0].1, [0u8; 8]);
        assert!(!apply(&[(8, 2)], &mut segs));
    }

    fn eval(wat: &str, globals: &[Option<u32>]) -> Option<Vec<(u32, u32)>> {
        let module = wat::parse_str(wat).unwrap();
        for p in wasmparser::Parser::new(0).parse_all(&module) {
            if let wasmparser::Payload::CodeSectionEntry(body) = p.unwrap() {
                return evaluate(&body, 1000, |g| globals.get(g as usize).copied().flatten());
            }
        }
        panic!("no function");
    }

    const MODULE: &str = r#"(module
        (import "env" "memory" (memory 1))
        (import "env" "__memory_base" (global $mb i32))
        (import "env" "__table_base" (global $tb i32))
        (import "GOT.mem" "x" (global $x (mut i32)))
        (func BODY))"#;

    #[test]
    fn wasm_ld_form_is_evaluated() {
        let wat = MODULE.replace(
            "BODY",
            "i32.const 8 global.get $mb i32.add global.get $mb i32.const 3 i32.add i32.store
             i32.const 12 global.get $mb i32.add global.get $tb i32.const 2 i32.add i32.store
             i32.const 16 global.get $mb i32.add global.get $x i32.const 4 i32.add i32.store
             i32.const 20 global.get $mb i32.add global.get $x i32.store offset=4",
        );
        let got = eval(&wat, &[Some(1000), Some(50), Some(77)]);
        assert_eq!(got, Some(vec![(8, 1003), (12, 52), (16, 81), (24, 77)]));
    }

    #[test]
    fn unknown_globals_and_other_code_keep_the_call() {
        let store = "i32.const 8 global.get $mb i32.add global.get $x i32.store";
        assert_eq!(
            eval(
                &MODULE.replace("BODY", store),
                &[Some(1000), Some(50), None]
            ),
            None
        );
        let other =
            "i32.const 8 global.get $mb i32.add global.get $tb i32.const 1 i32.sub i32.store";
        assert_eq!(
            eval(
                &MODULE.replace("BODY", other),
                &[Some(1000), Some(50), None]
            ),
            None
        );
        let below = "i32.const 0 global.get $tb i32.store";
        assert_eq!(
            eval(
                &MODULE.replace("BODY", below),
                &[Some(1000), Some(50), None]
            ),
            None
        );
    }
}
