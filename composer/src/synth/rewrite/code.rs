//! The rewriter's exports, element segments, code section and custom sections (see `rewrite`).

use super::{user, Edit, EmptiedBody, Res, Rewriter, SegmentAs};
use std::borrow::Cow;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, Encode, ExportSection, IndirectNameMap,
    Module, NameMap, NameSection, SectionId,
};
use wasmparser::{BinaryReader, FunctionBody, KnownCustom, Name, Operator};

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
            if !self.maps.defines(self.imported[0] + k) {
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
            if self.maps.defines(self.imported[0] + k as u32) {
                bodies.push(body);
                at.push(self.edit.reencoded_at(k as u32));
            }
        }
        let entries = super::bodies::reencode_in_parallel(self.maps, &bodies, &at)?;
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
                    if self.maps.defines(n.index) {
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
            if !self.maps.defines(n.index) {
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
    use super::leb_at_width;

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
