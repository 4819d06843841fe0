//! The rewriter's re-encoding of function bodies (`Edit::compact_code`): each immediate in
//! its shortest LEB128 and the indices through the maps, on all cores, reading again only what
//! may change.

use super::{Maps, Res};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::Encode;
use wasmparser::{
    BinaryReader, FunctionBody, Operator, OperatorsReader, OperatorsReaderAllocations,
};

/// Threads pay off only for enough code (spawning one costs tens of microseconds).
const MIN_BYTES_PER_THREAD: usize = 256 * 1024;

/// `bodies` in contiguous runs of about equal code size, one per available core (one run for
/// less than [`MIN_BYTES_PER_THREAD`] per core): work that is independent per body (the `--gc`
/// call graph, re-encoding) split among threads, in order.
pub fn body_runs<'b, 'a>(bodies: &'b [FunctionBody<'a>]) -> Vec<&'b [FunctionBody<'a>]> {
    let total: usize = bodies.iter().map(|b| b.as_bytes().len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(total / MIN_BYTES_PER_THREAD).max(1);
    let mut runs = Vec::with_capacity(threads);
    let (mut start, mut size) = (0, 0);
    for (k, b) in bodies.iter().enumerate() {
        size += b.as_bytes().len();
        if size >= total / threads && runs.len() + 1 < threads {
            runs.push(&bodies[start..=k]);
            (start, size) = (k + 1, 0);
        }
    }
    runs.push(&bodies[start..]);
    runs
}

/// `bodies` re-encoded through `maps` (their code section entries, sizes included, in order),
/// each run of [`body_runs`] on a thread; `at`: per body, [`Edit::reencoded_at`].
///
/// [`Edit::reencoded_at`]: super::Edit::reencoded_at
pub(super) fn reencode_in_parallel(
    maps: &Maps,
    bodies: &[FunctionBody<'_>],
    at: &[Option<&[u32]>],
) -> Res<Vec<u8>> {
    let runs = body_runs(bodies);
    // The runs are contiguous and in order: each one's offsets are the next `run.len()`.
    let mut runs_at = Vec::with_capacity(runs.len());
    let mut start = 0;
    for run in &runs {
        runs_at.push(at.get(start..start + run.len()).unwrap_or(&[]));
        start += run.len();
    }
    if let ([one], [one_at]) = (runs.as_slice(), runs_at.as_slice()) {
        return reencode_bodies(maps, one, one_at);
    }
    let total: usize = bodies.iter().map(|b| b.as_bytes().len()).sum();
    let parts: Vec<Res<Vec<u8>>> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .zip(&runs_at)
            .skip(1)
            .map(|(run, run_at)| s.spawn(move || reencode_bodies(maps, run, run_at)))
            .collect();
        let mut parts = vec![reencode_bodies(maps, runs[0], runs_at[0])];
        for h in handles {
            parts.push(h.join().unwrap_or_else(|_| {
                Err(reencode::Error::UserError(
                    "internal error: a thread re-encoding bodies panicked".into(),
                ))
            }));
        }
        parts
    });
    let mut out = Vec::with_capacity(total);
    for p in parts {
        out.extend_from_slice(&p?);
    }
    Ok(out)
}

/// `bodies` re-encoded through `maps`, as code section entries (`at`: per body, where the
/// instructions to re-encode are, if known; missing entries are unknown).
///
/// Only the instructions whose encoding may change are converted and encoded again: those
/// that name a function (renumbered), a global when globals move, and every instruction of
/// more than two bytes (one with an immediate that may be padded: wasm-ld pads every relocated
/// one to 5 bytes). An instruction of one or two bytes is an opcode with at most a one-byte
/// immediate, already in its shortest form, which re-encoding would write again as it is: it
/// is copied (most instructions: `local.get`, `i32.add`, `end`, ...). The output is byte for byte
/// what re-encoding every instruction writes. When tags move, every instruction is re-encoded.
/// A body whose instructions to re-encode are known (and globals do not move) is not read
/// whole: only those instructions are.
fn reencode_bodies(
    maps: &Maps,
    bodies: &[FunctionBody<'_>],
    at: &[Option<&[u32]>],
) -> Res<Vec<u8>> {
    reencode_bodies_as(maps, bodies, at, maps.tags.is_identity())
}

/// [`reencode_bodies`], copying the short instructions when `copy_short`.
fn reencode_bodies_as(
    maps: &Maps,
    bodies: &[FunctionBody<'_>],
    at: &[Option<&[u32]>],
    copy_short: bool,
) -> Res<Vec<u8>> {
    let mut re = BodyMaps(maps);
    // Re-encoding only shortens immediates (but for renumbered indices).
    let mut out = Vec::with_capacity(bodies.iter().map(|b| b.as_bytes().len() + 5).sum());
    let globals_move = !maps.globals.is_identity();
    let mut scratch = Scratch::default();
    for (k, body) in bodies.iter().enumerate() {
        if let (true, false, Some(Some(at))) = (copy_short, globals_move, at.get(k)) {
            if reencode_at(&mut re, body, at, &mut scratch)? {
                // As `Function::encode` writes it: the size, then the body.
                scratch.body.as_slice().encode(&mut out);
                continue;
            }
            // Offsets that do not fit the body: it is read whole.
        }
        let mut f = re.new_function_with_parsed_locals(body)?;
        let mut ops = body.get_operators_reader()?;
        if !copy_short {
            while !ops.eof() {
                f.instruction(&re.parse_instruction(&mut ops)?);
            }
            f.encode(&mut out);
            continue;
        }
        let bytes = body.as_bytes();
        let base = body.range().start;
        let offset = |p: u64| {
            usize::try_from(p.checked_sub(base)?)
                .ok()
                .filter(|o| *o <= bytes.len())
        };
        // The run of copied instructions not written yet: its start (offset in `bytes`).
        let mut run = None;
        while !ops.eof() {
            let (op, at) = ops.read_with_offset()?;
            let (Some(at), Some(end)) = (offset(at), offset(ops.original_position())) else {
                return Err(reencode::Error::UserError(
                    "an instruction outside its body".into(),
                ));
            };
            let names_index = match op {
                Operator::Call { .. } | Operator::ReturnCall { .. } | Operator::RefFunc { .. } => {
                    true
                }
                Operator::GlobalGet { .. } | Operator::GlobalSet { .. } => globals_move,
                _ => false,
            };
            if end - at <= 2 && !names_index {
                run.get_or_insert(at);
                continue;
            }
            if let Some(start) = run.take() {
                f.raw(bytes[start..at].iter().copied());
            }
            f.instruction(&re.instruction(op)?);
        }
        if let Some(start) = run {
            f.raw(bytes[start..].iter().copied());
        }
        f.encode(&mut out);
    }
    Ok(out)
}

/// What [`reencode_at`] reuses from one body to the next.
#[derive(Default)]
struct Scratch {
    /// The body re-encoded (locals and instructions, without its size).
    body: Vec<u8>,
    locals: Vec<(u32, wasm_encoder::ValType)>,
    allocs: OperatorsReaderAllocations,
}

/// `body` re-encoded into `scratch.body`, reading only the instructions at offsets `at` (see
/// [`super::Edit::reencoded_at`]) and copying the bytes between: what [`reencode_bodies_as`]
/// writes when `at` are the instructions it re-encodes (they must start instructions: the
/// pass read them from the same body). False when an offset does not fit the body (not in
/// order, past its end, or no instruction readable there): the caller then reads the body
/// whole, which reports what is wrong.
fn reencode_at(
    re: &mut BodyMaps<'_>,
    body: &FunctionBody<'_>,
    at: &[u32],
    scratch: &mut Scratch,
) -> Res<bool> {
    let out = &mut scratch.body;
    out.clear();
    // The locals as `Function::new` writes them.
    scratch.locals.clear();
    for pair in body.get_locals_reader()? {
        let (count, ty) = pair?;
        scratch.locals.push((count, re.val_type(ty)?));
    }
    scratch.locals.len().encode(out);
    for (count, ty) in &scratch.locals {
        count.encode(out);
        ty.encode(out);
    }
    let bytes = body.as_bytes();
    let base = body.range().start;
    let whole = body.get_binary_reader();
    let ops_start = body.get_operators_reader()?.original_position();
    let Some(mut copied) = ops_start
        .checked_sub(base)
        .and_then(|o| usize::try_from(o).ok())
    else {
        return Ok(false);
    };
    for &a in at {
        let a = a as usize;
        let (Some(between), mut reader) = (bytes.get(copied..a), whole.clone()) else {
            return Ok(false);
        };
        if reader.read_bytes(a).is_err() {
            return Ok(false);
        }
        out.extend_from_slice(between);
        if compact_simple(re, &mut reader.clone(), out)?.is_some_and(|end| {
            copied = end.saturating_sub(base) as usize;
            true
        }) {
            continue;
        }
        // One instruction, read as the body's reader would (the frame kinds only check
        // `else`, `catch`, `delegate`, ..., which are never long: a failure reads it whole).
        let mut ops = OperatorsReader::new_with_allocs(reader, std::mem::take(&mut scratch.allocs));
        let op = ops.read();
        let end = ops.original_position();
        scratch.allocs = ops.into_allocations();
        let (Ok(op), Some(end)) = (
            op,
            end.checked_sub(base).and_then(|e| usize::try_from(e).ok()),
        ) else {
            return Ok(false);
        };
        re.instruction(op)?.encode(out);
        copied = end;
    }
    let Some(rest) = bytes.get(copied..) else {
        return Ok(false);
    };
    out.extend_from_slice(rest);
    Ok(true)
}

/// The instruction at `reader` appended to `out` as re-encoding writes it (immediates in
/// their shortest LEB128, indices through the maps), for the common instructions whose
/// immediates are LEB128 numbers alone (`call`, `local.get`, loads and stores, `i32.const`,
/// ...): what `re.instruction` and `Instruction::encode` write, without building either.
/// The position after it; `None`, with nothing appended, for any other instruction (or one
/// that does not read), which goes through wasmparser and wasm-encoder.
fn compact_simple(
    re: &mut BodyMaps<'_>,
    reader: &mut BinaryReader<'_>,
    out: &mut Vec<u8>,
) -> Res<Option<u64>> {
    let start = out.len();
    macro_rules! read {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(_) => {
                    out.truncate(start);
                    return Ok(None);
                }
            }
        };
    }
    let op = read!(reader.read_u8());
    out.push(op);
    match op {
        // br, br_if, local.get, local.set, local.tee
        0x0c | 0x0d | 0x20..=0x22 => read!(reader.read_var_u32()).encode(out),
        // call, return_call, ref.func
        0x10 | 0x12 | 0xd2 => re.function_index(read!(reader.read_var_u32()))?.encode(out),
        // call_indirect
        0x11 => {
            let ty = read!(reader.read_var_u32());
            let table = read!(reader.read_var_u32());
            re.type_index(ty)?.encode(out);
            re.table_index(table)?.encode(out);
        }
        // global.get, global.set
        0x23 | 0x24 => re.global_index(read!(reader.read_var_u32()))?.encode(out),
        // Loads and stores: a memarg, as wasmparser reads it and `MemArg::encode` writes it.
        0x28..=0x3e => {
            let flags = read!(reader.read_var_u32());
            let memory = if flags & (1 << 6) != 0 {
                read!(reader.read_var_u32())
            } else {
                0
            };
            let offset = read!(reader.read_var_u64());
            let align = flags & !(1 << 6);
            match re.memory_index(memory)? {
                0 => align.encode(out),
                m => {
                    (align | (1 << 6)).encode(out);
                    m.encode(out);
                }
            }
            offset.encode(out);
        }
        0x41 => read!(reader.read_var_i32()).encode(out),
        0x42 => read!(reader.read_var_i64()).encode(out),
        _ => {
            out.truncate(start);
            return Ok(None);
        }
    }
    Ok(Some(reader.original_position()))
}

/// The reencoder of bodies alone: what the rewriter's maps move, nothing else (its threads
/// share the maps, not the rewriter).
struct BodyMaps<'a>(&'a Maps);

impl Reencode for BodyMaps<'_> {
    type Error = String;

    fn function_index(&mut self, f: u32) -> Res<u32> {
        self.0.funcs.get(f, "function")
    }
    fn global_index(&mut self, g: u32) -> Res<u32> {
        self.0.globals.get(g, "global")
    }
    fn tag_index(&mut self, t: u32) -> Res<u32> {
        self.0.tags.get(t, "tag")
    }
}

#[cfg(test)]
mod tests {
    use super::reencode_bodies_as;
    use crate::synth::rewrite::{IndexMap, Maps};

    #[test]
    fn copying_short_instructions_writes_what_re_encoding_all_does() {
        use wasm_encoder::{
            CodeSection, EntityType, Function, FunctionSection, GlobalSection, GlobalType,
            ImportSection, MemorySection, MemoryType, Module, TypeSection, ValType,
        };
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([ValType::I32], [ValType::I32]);
        types.ty().function([], [ValType::I32]);
        module.section(&types);
        let mut imports = ImportSection::new();
        imports.import("env", "f", EntityType::Function(0));
        module.section(&imports);
        let mut funcs = FunctionSection::new();
        funcs.function(0).function(1);
        module.section(&funcs);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        module.section(&memories);
        let mut globals = GlobalSection::new();
        let ty = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &wasm_encoder::ConstExpr::i32_const(0));
        module.section(&globals);
        let mut code = CodeSection::new();
        // Padded immediates, as wasm-ld writes relocated ones, among one- and two-byte
        // instructions, and calls that move.
        let mut a = Function::new([(1, ValType::I64)]);
        a.raw([
            0x20, 0x00, // local.get 0
            0x41, 0xac, 0x82, 0x80, 0x80, 0x00, // i32.const 300, padded
            0x6a, // i32.add
            0x10, 0x80, 0x80, 0x80, 0x80, 0x00, // call $f, padded
            0x23, 0x00, // global.get 0
            0x6a, // i32.add
            0x28, 0x02, 0x88, 0x80, 0x80, 0x80, 0x00, // i32.load offset=8, padded
            0x10, 0x02, // call $b
            0x6a, // i32.add
            0x0b, // end
        ]);
        code.function(&a);
        let mut b = Function::new([]);
        b.raw([0x41, 0x07, 0x10, 0x00, 0x0b]); // i32.const 7, call $f, end
        code.function(&b);
        module.section(&code);
        let input = module.finish();
        wasmparser::Validator::new().validate_all(&input).unwrap();
        let mut bodies = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(&input) {
            if let wasmparser::Payload::CodeSectionEntry(b) = p.unwrap() {
                bodies.push(b);
            }
        }
        // f -> 2, a -> 0, b -> 1.
        let maps = Maps {
            funcs: IndexMap::Table(vec![2, 0, 1]),
            ..Maps::default()
        };
        let copied = reencode_bodies_as(&maps, &bodies, &[], true).unwrap();
        let all = reencode_bodies_as(&maps, &bodies, &[], false).unwrap();
        assert_eq!(copied, all);
        // Reading only the long instructions and those naming a function (what `--gc`'s call
        // graph finds) writes the same; offsets past the body read it whole.
        let long_at = |b: &wasmparser::FunctionBody<'_>| {
            let base = b.range().start;
            let mut ops = b.get_operators_reader().unwrap();
            let mut at = Vec::new();
            while !ops.eof() {
                let start = ops.original_position();
                let op = ops.read().unwrap();
                let names = matches!(op, wasmparser::Operator::Call { .. });
                if names || ops.original_position() - start > 2 {
                    at.push((start - base) as u32);
                }
            }
            at
        };
        let at: Vec<Vec<u32>> = bodies.iter().map(long_at).collect();
        assert_eq!(at[0], [5, 12, 21, 28]);
        let hinted: Vec<Option<&[u32]>> = at.iter().map(|a| Some(a.as_slice())).collect();
        assert_eq!(
            reencode_bodies_as(&maps, &bodies, &hinted, true).unwrap(),
            all
        );
        let wrong: [&[u32]; 2] = [&[12, 5], &[1000]];
        let wrong: Vec<Option<&[u32]>> = wrong.into_iter().map(Some).collect();
        assert_eq!(
            reencode_bodies_as(&maps, &bodies, &wrong, true).unwrap(),
            all
        );
        // The padding went, the calls moved.
        let a_len = copied[0] as usize;
        // Locals (3 bytes), then 2 + 3 + 1 + 2 + 2 + 1 + 3 + 2 + 1 + 1.
        assert_eq!(a_len, 21);
        assert_eq!(
            &copied[1 + a_len + 1..],
            [0x00, 0x41, 0x07, 0x10, 0x02, 0x0b]
        );
    }

    #[test]
    fn compact_simple_writes_what_re_encoding_writes() {
        use super::{compact_simple, BodyMaps};
        use wasm_encoder::{reencode::Reencode, Encode};
        let maps = Maps {
            funcs: IndexMap::Table(vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 7]),
            ..Maps::default()
        };
        let mut re = BodyMaps(&maps);
        let cases: &[&[u8]] = &[
            &[0x10, 0x8d, 0x80, 0x80, 0x80, 0x00], // call 13 (-> 7), padded
            &[0x12, 0x8d, 0x00],                   // return_call 13, padded
            &[0xd2, 0x03],                         // ref.func 3
            &[0x11, 0x82, 0x80, 0x00, 0x80, 0x00], // call_indirect type 2 table 0
            &[0x0d, 0x81, 0x80, 0x80, 0x80, 0x00], // br_if 1, padded
            &[0x22, 0x85, 0x80, 0x00],             // local.tee 5, padded
            &[0x24, 0x80, 0x80, 0x80, 0x80, 0x00], // global.set 0, padded
            &[0x28, 0x82, 0x80, 0x00, 0x88, 0x80, 0x00], // i32.load align=4 offset=8
            &[0x36, 0x42, 0x01, 0x90, 0x80, 0x80, 0x80, 0x00], // i32.store memory 1
            &[0x29, 0x43, 0x80, 0x00, 0x04],       // i64.load memory 0, flagged
            &[0x41, 0xff, 0xff, 0xff, 0xff, 0x7f], // i32.const -1, padded
            &[0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], // i64.const 0, padded
        ];
        for bytes in cases {
            let mut out = Vec::new();
            let mut reader = wasmparser::BinaryReader::new(bytes, 0);
            let end = compact_simple(&mut re, &mut reader, &mut out).unwrap();
            assert_eq!(end, Some(bytes.len() as u64), "{bytes:x?}");
            let mut ops = wasmparser::OperatorsReader::new(wasmparser::BinaryReader::new(bytes, 0));
            let mut want = Vec::new();
            re.instruction(ops.read().unwrap())
                .unwrap()
                .encode(&mut want);
            assert_eq!(out, want, "{bytes:x?}");
        }
        // Anything else is left to wasmparser and wasm-encoder.
        let mut out = vec![1];
        let mut reader = wasmparser::BinaryReader::new(&[0x0e, 0x00, 0x00], 0);
        assert_eq!(
            compact_simple(&mut re, &mut reader, &mut out).unwrap(),
            None
        );
        assert_eq!(out, [1]);
    }
}
