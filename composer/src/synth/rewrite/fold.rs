//! Folding globals whose value is a constant into the code (see [`Edit::constant_globals`]).
//!
//! Position-independent code reaches its own data and functions as a base plus an offset:
//! clang emits `global.get __memory_base; i32.const X; i32.add` (or the operands the other way
//! round) for every address of a local symbol, `__table_base` likewise for function pointers
//! (componentize-py's libpython: 50,000 such triples of `__memory_base`, 6,000 of
//! `__table_base`). When the base is a constant for the instance's whole life (a prelinked
//! library: `layout::Prelink`), the triple computes `i32.const (BASE + X)`, wrapping as
//! `i32.add` does, in one instruction of fewer bytes that reads no global.
//!
//! Only the exact pattern is folded: the three instructions adjacent, so in one block, in
//! either operand order, and only when the constant is not longer than the triple. Nothing is
//! inferred across instructions (no data flow): any other use of the global is left as it is.
//! The replacement has the triple's stack effect (`[] -> [i32]`, the global being an i32), so a
//! valid body stays valid; the output's validation still validates every body that changed
//! (`validate::component` skips only bodies byte for byte those of a validated input).
//!
//! [`Edit::constant_globals`]: super::Edit::constant_globals

use super::Res;
use wasm_encoder::Encode;
use wasmparser::{BinaryReader, FunctionBody, Operator};

/// An operand of a fold: a constant global's value or an `i32.const`.
#[derive(Clone, Copy)]
enum Operand {
    /// `global.get` of a constant global: its value.
    Global(u32),
    /// `i32.const`: its value.
    Const(i32),
}

/// The code section entries `entries` (`count` bodies, sizes included) with the reads of
/// `globals` (value by global index) folded (see the module docs), and how many triples were folded.
pub(super) fn fold_bodies(
    entries: &[u8],
    count: u32,
    globals: &[Option<u32>],
) -> Res<(Vec<u8>, u64)> {
    let mut out = Vec::with_capacity(entries.len());
    let mut folded = 0u64;
    let mut reader = BinaryReader::new(entries, 0);
    // The edits of one body: (start, end) of a triple in `entries`, and the new value.
    let mut edits: Vec<(usize, usize, i32)> = Vec::new();
    for _ in 0..count {
        let start = reader.original_position() as usize;
        let body: FunctionBody<'_> = reader.read()?;
        let end = reader.original_position() as usize;
        edits.clear();
        find(&body, globals, &mut edits)?;
        if edits.is_empty() {
            out.extend_from_slice(super::code::slice_at(entries, start, end)?);
            continue;
        }
        folded += edits.len() as u64;
        let range = body.range();
        let range = range.start as usize..range.end as usize;
        let mut content = Vec::with_capacity(range.end - range.start);
        let mut at = range.start;
        for &(from, to, value) in &edits {
            content.extend_from_slice(super::code::slice_at(entries, at, from)?);
            content.push(0x41); // i32.const
            value.encode(&mut content);
            at = to;
        }
        content.extend_from_slice(super::code::slice_at(entries, at, range.end)?);
        content.len().encode(&mut out);
        out.extend_from_slice(&content);
    }
    Ok((out, folded))
}

/// Appends to `edits` the triples of `body` to fold: (start, end, value), in order.
fn find(
    body: &FunctionBody<'_>,
    globals: &[Option<u32>],
    edits: &mut Vec<(usize, usize, i32)>,
) -> Res<()> {
    let mut ops = body.get_operators_reader()?;
    // The two operators before the current one, when they are operands: (operand, start).
    let mut last: [Option<(Operand, usize)>; 2] = [None, None];
    while !ops.eof() {
        let (op, at) = ops.read_with_offset()?;
        let operand = match op {
            Operator::GlobalGet { global_index } => globals
                .get(global_index as usize)
                .copied()
                .flatten()
                .map(Operand::Global),
            Operator::I32Const { value } => Some(Operand::Const(value)),
            Operator::I32Add => {
                let sum = match last {
                    [Some((Operand::Global(g), from)), Some((Operand::Const(x), _))]
                    | [Some((Operand::Const(x), from)), Some((Operand::Global(g), _))] => {
                        Some(((g as i32).wrapping_add(x), from))
                    }
                    _ => None,
                };
                let to = ops.original_position() as usize;
                if let Some((value, from)) = sum {
                    // Not when the constant would be longer (a value past 2^27).
                    // `i32.const` and its immediate.
                    if sleb_len(value) < to - from {
                        edits.push((from, to, value));
                        last = [None, None];
                        continue;
                    }
                }
                None
            }
            _ => None,
        };
        last = [last[1], operand.map(|o| (o, at as usize))];
    }
    Ok(())
}

/// The length of `value` as a signed LEB128.
fn sleb_len(value: i32) -> usize {
    let mut v = i64::from(value);
    let mut n = 1;
    while !(-64..64).contains(&v) {
        v >>= 7;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::sleb_len;
    use wasm_encoder::Encode;

    #[test]
    fn sleb_lengths() {
        for v in [
            0,
            63,
            64,
            -64,
            -65,
            8191,
            8192,
            i32::MAX,
            i32::MIN,
            1 << 27,
            -(1 << 27),
        ] {
            let mut b = Vec::new();
            v.encode(&mut b);
            assert_eq!(sleb_len(v), b.len(), "{v}");
        }
    }
}
