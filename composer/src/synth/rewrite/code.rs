//! The rewriter's exports, element segments, code section and custom sections (see `rewrite`).

use super::{user, Edit, EmptiedBody, Maps, Res, Rewriter, SegmentAs};
use std::borrow::Cow;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, Encode, ExportSection, IndirectNameMap,
    Module, NameMap, NameSection, SectionId,
};
use wasmparser::{
    BinaryReader, FunctionBody, KnownCustom, Name, Operator, OperatorsReader,
    OperatorsReaderAllocations,
};

impl<E: Edit> Rewriter<'_, E> {
    pub(super) fn exports(
        &mut self,
        module: &mut Module,
        r: Option<wasmparser::ExportSectionReader>,
    ) -> Res<()> {
        let mut exports = ExportSection::new();
        if let Some(r) = r {
            for e in r {
                let e = e?;
                // A removed function's exports go with it.
                if e.kind == wasmparser::ExternalKind::Func && self.maps.funcs.removed(e.index) {
                    continue;
                }
                let kind = self.export_kind(e.kind)?;
                let index = self.external_index(e.kind, e.index)?;
                self.edit
                    .export(e.name, kind, index, &mut exports)
                    .map_err(user)?;
            }
        }
        for (name, kind, index) in std::mem::take(&mut self.add.exports) {
            exports.export(&name, kind, index);
        }
        module.section(&exports);
        Ok(())
    }

    pub(super) fn elements(
        &mut self,
        module: &mut Module,
        r: Option<wasmparser::ElementSectionReader>,
    ) -> Res<()> {
        let mut elems = ElementSection::new();
        for (i, e) in r.into_iter().flatten().enumerate() {
            let e = e?;
            let count = match &e.items {
                wasmparser::ElementItems::Functions(f) => f.count(),
                wasmparser::ElementItems::Expressions(_, x) => x.count(),
            };
            match self.edit.element(i as u32, &e.kind, count).map_err(user)? {
                SegmentAs::Keep => self.parse_element(&mut elems, e)?,
                SegmentAs::Passive => {
                    let declared = matches!(e.kind, wasmparser::ElementKind::Declared);
                    let items = self.element_items(e.items)?;
                    if declared {
                        elems.declared(items);
                    } else {
                        elems.passive(items);
                    }
                }
                SegmentAs::Emptied => {
                    return Err(reencode::Error::UserError(
                        "internal error: only data segments can be emptied".to_string(),
                    ))
                }
            }
        }
        for a in std::mem::take(&mut self.add.elements) {
            elems.active(
                a.table,
                &ConstExpr::i32_const(a.offset),
                Elements::Functions(Cow::Owned(a.funcs)),
            );
        }
        module.section(&elems);
        Ok(())
    }

    /// Writes the code section: the input's bodies (`payload`, the section's contents, count
    /// included) at their offsets if it can (see the module docs), then the added functions.
    pub(super) fn code(&mut self, module: &mut Module, payload: Option<&[u8]>) -> Res<()> {
        let added = std::mem::take(&mut self.add.funcs);
        let Some(payload) = payload else {
            let mut code = CodeSection::new();
            for (_, f) in &added {
                code.function(f);
            }
            module.section(&code);
            return Ok(());
        };
        let mut reader = BinaryReader::new(payload, 0);
        let count = reader.read_var_u32()?;
        let width = reader.original_position() as usize;
        let entries = payload
            .get(width..)
            .ok_or_else(|| reencode::Error::UserError("empty code section".into()))?;
        if self.edit.compact_code() {
            return self.reencode_code(module, payload, added);
        }
        let maps = self.maps;
        let (entries, count): (Cow<'_, [u8]>, u32) =
            if maps.funcs.is_identity() && maps.globals.is_identity() {
                let entries = match self.edit.emptied_body() {
                    Some(e) => Cow::Owned(self.empty_body(entries, count, e)?),
                    None => Cow::Borrowed(entries),
                };
                (entries, count)
            } else {
                match self.patch(entries, count)? {
                    Some((patched, kept)) => (Cow::Owned(patched), kept),
                    None => return self.reencode_code(module, payload, added),
                }
            };
        let total = count
            .checked_add(added.len() as u32)
            .ok_or_else(|| reencode::Error::UserError("too many functions".into()))?;
        let mut head = Vec::with_capacity(5);
        if !leb_at_width(&mut head, total, width) {
            // The count outgrew its encoding: every body moves by the difference.
            self.code_moved = true;
            total.encode(&mut head);
        }
        let mut tail = Vec::new();
        for (_, f) in &added {
            f.encode(&mut tail);
        }
        // Written in place: the input's bodies are most of a large module.
        module.section(&CodeParts {
            parts: [&head, &entries, &tail],
        });
        Ok(())
    }

    /// The bodies `entries` (`count` of them, sizes included) with the body of `e.func` emptied
    /// (see [`Edit::emptied_body`]).
    fn empty_body(&mut self, entries: &[u8], count: u32, e: EmptiedBody) -> Res<Vec<u8>> {
        let Some(k) = e.func.checked_sub(self.imported[0]).filter(|k| *k < count) else {
            return Ok(entries.to_vec());
        };
        let mut reader = BinaryReader::new(entries, 0);
        for _ in 0..k {
            let _: FunctionBody<'_> = reader.read()?;
        }
        let start = reader.original_position() as usize;
        let size = reader.read_var_u32()? as usize;
        let body_at = reader.original_position() as usize;
        let end = body_at
            .checked_add(size)
            .filter(|e| *e <= entries.len())
            .ok_or_else(|| reencode::Error::UserError("a body past its code section".into()))?;
        let mut out = Vec::with_capacity(entries.len());
        out.extend_from_slice(slice_at(entries, 0, start)?);
        if e.keep_offsets && size >= 2 {
            // No locals, `nop`s, `end`: the same size, so no later body moves.
            out.extend_from_slice(slice_at(entries, start, body_at)?);
            out.push(0x00);
            out.resize(out.len() + size - 2, 0x01);
            out.push(0x0b);
        } else {
            out.extend_from_slice(&[0x02, 0x00, 0x0b]);
            self.code_moved = true;
        }
        out.extend_from_slice(slice_at(entries, end, entries.len())?);
        Ok(out)
    }

    /// The bodies `entries` (`count` of them, sizes included) with their function and global
    /// indices mapped in place at their input width, the removed ones left out, and how many
    /// are kept; `None` if an index does not fit (or a tag moves: the bodies are then
    /// re-encoded).
    fn patch(&mut self, entries: &[u8], count: u32) -> Res<Option<(Vec<u8>, u32)>> {
        if !self.maps.tags.is_identity() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(entries.len());
        let mut kept = 0u32;
        let mut reader = BinaryReader::new(entries, 0);
        for k in 0..count {
            let start = reader.original_position() as usize;
            let body: FunctionBody<'_> = reader.read()?;
            let end = reader.original_position() as usize;
            if self.maps.funcs.removed(self.imported[0] + k) {
                // Every later body moves.
                self.code_moved = true;
                continue;
            }
            kept += 1;
            // Offsets in `entries` of this body's bytes become offsets in `out` by `shift`.
            let shift = start as isize - out.len() as isize;
            out.extend_from_slice(slice_at(entries, start, end)?);
            let mut ops = body.get_operators_reader()?;
            while !ops.eof() {
                let (op, at) = ops.read_with_offset()?;
                let (old, new) = match op {
                    Operator::Call { function_index }
                    | Operator::ReturnCall { function_index }
                    | Operator::RefFunc { function_index } => {
                        (function_index, self.function_index(function_index)?)
                    }
                    Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } => {
                        (global_index, self.global_index(global_index)?)
                    }
                    _ => continue,
                };
                if old == new {
                    continue;
                }
                // Each of these is a one-byte opcode followed by the index.
                let from = (at as isize + 1 - shift) as usize;
                let to = (ops.original_position() as isize - shift) as usize;
                let mut leb = Vec::with_capacity(5);
                if !leb_at_width(&mut leb, new, to.saturating_sub(from)) {
                    return Ok(None);
                }
                match out.get_mut(from..to) {
                    Some(dst) => dst.copy_from_slice(&leb),
                    None => return Ok(None),
                }
            }
        }
        Ok(Some((out, kept)))
    }

    /// The code section re-encoded instruction by instruction (bodies move: DWARF goes), every
    /// immediate in its shortest LEB128; the bodies are independent, so large sections are
    /// split among the cores.
    fn reencode_code(
        &mut self,
        module: &mut Module,
        payload: &[u8],
        added: Vec<(u32, wasm_encoder::Function)>,
    ) -> Res<()> {
        self.code_moved = true;
        let reader = wasmparser::CodeSectionReader::new(BinaryReader::new(payload, 0))?;
        let (mut bodies, mut at) = (Vec::new(), Vec::new());
        for (k, body) in reader.into_iter().enumerate() {
            let body = body?;
            if !self.maps.funcs.removed(self.imported[0] + k as u32) {
                bodies.push(body);
                at.push(self.edit.reencoded_at(k as u32));
            }
        }
        let entries = reencode_in_parallel(self.maps, &bodies, &at)?;
        let mut head = Vec::with_capacity(5);
        let total = bodies.len().saturating_add(added.len());
        u32::try_from(total)
            .map_err(|_| reencode::Error::UserError("too many functions".into()))?
            .encode(&mut head);
        let mut tail = Vec::new();
        for (_, f) in &added {
            f.encode(&mut tail);
        }
        module.section(&CodeParts {
            parts: [&head, &entries, &tail],
        });
        Ok(())
    }

    /// Copies custom section `c` unless the pass drops it (and `.debug_*` when the code moved,
    /// `metadata.code.*` when any body may change); the name section is renumbered through the
    /// maps.
    pub(super) fn custom(
        &mut self,
        module: &mut Module,
        c: wasmparser::CustomSectionReader<'_>,
    ) -> Res<()> {
        let maps = self.maps;
        let name = c.name();
        // Code metadata (branch hints) comes before the code section and names functions by
        // index and instructions by offset in their body: whether the bodies are patched in
        // place or re-encoded is not known yet, so it goes whenever a body may change.
        let may_change = self.edit.compact_code()
            || self.edit.emptied_body().is_some()
            || !(maps.funcs.is_identity() && maps.globals.is_identity() && maps.tags.is_identity());
        let stale = (self.code_moved && name.starts_with(".debug_"))
            || (may_change && name.starts_with("metadata.code."));
        if !self.edit.keep_custom(name) || stale {
            return Ok(());
        }
        match c.as_known() {
            KnownCustom::Name(names)
                if !(maps.funcs.is_identity() && maps.globals.is_identity()) =>
            {
                let mut out = NameSection::new();
                for sub in names {
                    self.name_subsection(&mut out, sub?)?;
                }
                module.section(&out);
            }
            _ => {
                module.section(&self.custom_section(c)?);
            }
        }
        Ok(())
    }

    fn name_subsection(&mut self, out: &mut NameSection, sub: Name<'_>) -> Res<()> {
        // Name maps must be in increasing index order, which a renumbering may not keep.
        match sub {
            Name::Function(map) => {
                let mut v = Vec::new();
                for n in map {
                    let n = n?;
                    if !self.maps.funcs.removed(n.index) {
                        v.push((self.function_index(n.index)?, n.name));
                    }
                }
                out.functions(&sorted(v));
            }
            Name::Global(map) => {
                let mut v = Vec::new();
                for n in map {
                    let n = n?;
                    v.push((self.global_index(n.index)?, n.name));
                }
                out.globals(&sorted(v));
            }
            Name::Local(map) => {
                let map = self.indirect(map)?;
                out.locals(&map);
            }
            Name::Label(map) => {
                let map = self.indirect(map)?;
                out.labels(&map);
            }
            other => reencode::utils::parse_custom_name_subsection(self, out, other)?,
        }
        Ok(())
    }
}

impl<E: Edit> Rewriter<'_, E> {
    /// A per-function name map (locals, labels) renumbered by function, in index order.
    fn indirect(&mut self, map: wasmparser::IndirectNameMap<'_>) -> Res<IndirectNameMap> {
        let mut v = Vec::new();
        for n in map {
            let n = n?;
            if self.maps.funcs.removed(n.index) {
                continue;
            }
            let mut names = NameMap::new();
            for l in n.names {
                let l = l?;
                names.append(l.index, l.name);
            }
            v.push((self.function_index(n.index)?, names));
        }
        v.sort_by_key(|(i, _)| *i);
        let mut out = IndirectNameMap::new();
        for (i, names) in &v {
            out.append(*i, names);
        }
        Ok(out)
    }
}

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
fn reencode_in_parallel(
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
        out.extend_from_slice(between);
        re.instruction(op)?.encode(out);
        copied = end;
    }
    let Some(rest) = bytes.get(copied..) else {
        return Ok(false);
    };
    out.extend_from_slice(rest);
    Ok(true)
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

/// `entries[start..end]`.
pub(super) fn slice_at(entries: &[u8], start: usize, end: usize) -> Res<&[u8]> {
    entries
        .get(start..end)
        .ok_or_else(|| reencode::Error::UserError("a body extends past the code section".into()))
}

/// A code section written from its parts, without copying them into one buffer first.
struct CodeParts<'a> {
    parts: [&'a [u8]; 3],
}

impl Encode for CodeParts<'_> {
    fn encode(&self, sink: &mut Vec<u8>) {
        let len: usize = self.parts.iter().map(|p| p.len()).sum();
        len.encode(sink);
        for p in self.parts {
            sink.extend_from_slice(p);
        }
    }
}

impl wasm_encoder::Section for CodeParts<'_> {
    fn id(&self) -> u8 {
        SectionId::Code as u8
    }
}

fn sorted(mut v: Vec<(u32, &str)>) -> NameMap {
    v.sort_by_key(|(i, _)| *i);
    let mut map = NameMap::new();
    for (i, name) in v {
        map.append(i, name);
    }
    map
}

/// Appends `value` as an unsigned LEB128 of exactly `width` bytes (padded with continuation
/// bytes, which the binary format allows up to 5 bytes for a u32); false if it does not fit.
pub(super) fn leb_at_width(out: &mut Vec<u8>, value: u32, width: usize) -> bool {
    if width == 0 || width > 5 || (width < 5 && u64::from(value) >> (7 * width) != 0) {
        return false;
    }
    let mut v = value;
    for i in 0..width {
        let mut byte = (v & 0x7f) as u8;
        v >>= 7;
        if i + 1 < width {
            byte |= 0x80;
        }
        out.push(byte);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{leb_at_width, reencode_bodies_as};
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
    fn padded_leb() {
        let mut v = Vec::new();
        assert!(leb_at_width(&mut v, 3, 5));
        assert_eq!(v, [0x83, 0x80, 0x80, 0x80, 0x00]);
        v.clear();
        assert!(leb_at_width(&mut v, 127, 1));
        assert_eq!(v, [0x7f]);
        assert!(!leb_at_width(&mut Vec::new(), 128, 1));
        assert!(leb_at_width(&mut Vec::new(), u32::MAX, 5));
        assert!(!leb_at_width(&mut Vec::new(), 1, 6));
    }
}
