//! The `init` function of a rewritten library (see `library`): computes the globals whose
//! initializers read a base, copies the segments into place and fills the observed function
//! slots; and the `fill` function, which fills one more.

use anyhow::{bail, Result};
use wasm_encoder::Function;
use wasmparser::Operator;

/// One operation of a global's initializer that reads a base (see [`BaseGlobal`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum InitOp {
    MemoryBase,
    TableBase,
    Global(u32),
    I32(i32),
    I64(i64),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// A defined global whose initializer reads `__memory_base` or `__table_base`: init computes it.
#[derive(Debug)]
pub(super) struct BaseGlobal {
    pub(super) index: u32,
    ops: Vec<InitOp>,
}

/// The initializer of global `index` as [`InitOp`]s, if it reads a base.
pub(super) fn base_global(
    index: u32,
    expr: &wasmparser::ConstExpr<'_>,
    memory_base: Option<u32>,
    table_base: Option<u32>,
) -> Result<Option<BaseGlobal>> {
    let mut ops = Vec::new();
    let mut reads_base = false;
    for op in expr.get_operators_reader() {
        ops.push(match op? {
            Operator::GlobalGet { global_index } if Some(global_index) == memory_base => {
                reads_base = true;
                InitOp::MemoryBase
            }
            Operator::GlobalGet { global_index } if Some(global_index) == table_base => {
                reads_base = true;
                InitOp::TableBase
            }
            Operator::GlobalGet { global_index } => InitOp::Global(global_index),
            Operator::I32Const { value } => InitOp::I32(value),
            Operator::I64Const { value } => InitOp::I64(value),
            Operator::I32Add => InitOp::I32Add,
            Operator::I32Sub => InitOp::I32Sub,
            Operator::I32Mul => InitOp::I32Mul,
            Operator::I64Add => InitOp::I64Add,
            Operator::I64Sub => InitOp::I64Sub,
            Operator::I64Mul => InitOp::I64Mul,
            Operator::End => continue,
            other => bail!("global {index} has an initializer wasm-dl cannot relocate ({other:?})"),
        });
    }
    Ok(reads_base.then_some(BaseGlobal { index, ops }))
}

/// Offset of a segment relative to a base global, from its offset expression.
pub(super) fn relative_offset(
    expr: &wasmparser::ConstExpr<'_>,
    base: Option<u32>,
    what: &str,
) -> Result<u32> {
    let ops: Vec<Operator<'_>> = expr
        .get_operators_reader()
        .into_iter()
        .collect::<wasmparser::Result<_>>()?;
    match (base, ops.as_slice()) {
        (Some(b), [Operator::GlobalGet { global_index }, Operator::End]) if *global_index == b => {
            Ok(0)
        }
        (
            Some(b),
            [Operator::GlobalGet { global_index }, Operator::I32Const { value }, Operator::I32Add, Operator::End],
        ) if *global_index == b => Ok(*value as u32),
        _ => bail!(
            "its {what} segment is placed at a fixed address, not relative to its base; \
             compile with `-fPIC` and link with `wasm-ld -shared`"
        ),
    }
}

/// The table of a library's function slots.
#[derive(Clone, Copy)]
pub(super) struct SlotTable {
    /// Its index in the rewritten module.
    pub(super) table: u32,
    /// Where the slots go in main's table, from the library's table base.
    pub(super) offset: u32,
    /// How many.
    pub(super) count: u32,
    /// Where they start in the slot table.
    pub(super) src: u32,
}

/// The init function: `observed[k]` says whether it fills exported function `k`'s slot.
pub(super) fn init_body(
    data: &[(u32, u32, u32)],
    elems: &[(u32, u32, u32, u32)],
    slots: Option<SlotTable>,
    observed: &[bool],
    globals: &[BaseGlobal],
) -> Function {
    let mut f = Function::new([]);
    let mut ins = f.instructions();
    for g in globals {
        for op in &g.ops {
            match op {
                InitOp::MemoryBase => ins.local_get(0),
                InitOp::TableBase => ins.local_get(1),
                InitOp::Global(i) => ins.global_get(*i),
                InitOp::I32(v) => ins.i32_const(*v),
                InitOp::I64(v) => ins.i64_const(*v),
                InitOp::I32Add => ins.i32_add(),
                InitOp::I32Sub => ins.i32_sub(),
                InitOp::I32Mul => ins.i32_mul(),
                InitOp::I64Add => ins.i64_add(),
                InitOp::I64Sub => ins.i64_sub(),
                InitOp::I64Mul => ins.i64_mul(),
            };
        }
        ins.global_set(g.index);
    }
    for &(seg, off, len) in data {
        ins.local_get(0)
            .i32_const(off as i32)
            .i32_add()
            .i32_const(0)
            .i32_const(len as i32)
            .memory_init(0, seg);
    }
    for &(seg, table, off, count) in elems {
        ins.local_get(1)
            .i32_const(off as i32)
            .i32_add()
            .i32_const(0)
            .i32_const(count as i32)
            .table_init(table, seg);
    }
    if let Some(s) = slots {
        // One `table.copy` per run of observed functions (a call each, against about 1,000
        // instructions per slot filled: see `library`).
        for (k, len) in runs(observed) {
            ins.local_get(1)
                .i32_const(s.offset.wrapping_add(k) as i32)
                .i32_add()
                .i32_const(s.src.wrapping_add(k) as i32)
                .i32_const(len as i32)
                .table_copy(0, s.table);
        }
    }
    ins.end();
    f
}

/// The maximal runs of `true` in `flags`: (first index, length), in order.
fn runs(flags: &[bool]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for (k, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
        let k = k as u32;
        match out.last_mut() {
            Some((first, len)) if *first + *len == k => *len += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

/// The fill function `(table_base, k)`: copies exported function `k`'s slot from the slot
/// table (the loader checks `k` against the count; out of range it would trap here).
pub(super) fn fill_body(s: SlotTable) -> Function {
    let mut f = Function::new([]);
    f.instructions()
        .local_get(0)
        .i32_const(s.offset as i32)
        .i32_add()
        .local_get(1)
        .i32_add()
        .local_get(1)
        .i32_const(s.src as i32)
        .i32_add()
        .i32_const(1)
        .table_copy(0, s.table)
        .end();
    f
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn runs_are_maximal() {
        let f = [true, true, false, true, false, false, true, true, true];
        assert_eq!(runs(&f), vec![(0, 2), (3, 1), (6, 3)]);
        assert_eq!(runs(&[false, false]), vec![]);
        assert_eq!(runs(&[]), vec![]);
    }
}
