//! wit-component's main component made from main without its data, the data put back after.
//!
//! A prelinked main holds every start-up library's data image (3 MB on CPython's set). Neither
//! wit-component nor the plugging of the provider looks at data segments: wit-component copies
//! the module four times over (stripping its custom sections, renaming duplicate imports,
//! adding a producers section, embedding it), and `plug_provider` copies the main component
//! three times more (its stand-in), each copy into fresh memory, a page fault per 4 KiB. So
//! wit-component gets main with each data segment emptied ([`Hollow::of`]: the same segments,
//! modes and offsets, so the same module type and the same validity of everything but the
//! bytes), and [`Hollow::fill`] puts the data section back into the component it made, in place
//! of the hollow one (found byte for byte; anything else is an internal error, not a guess).
//! The filled component is validated with the rest of the output.

use super::leb;
use anyhow::{bail, Context, Result};
use std::ops::Range;
use wasmparser::{Parser, Payload};

/// Data sections smaller than this are left in place (the copies they save cost less than the
/// search for them).
const MIN_DATA_BYTES: usize = 256 * 1024;

const DATA_SECTION: u8 = wasm_encoder::SectionId::Data as u8;

/// A main module with its data section emptied, and the section it had.
pub struct Hollow<'a> {
    /// The module, each data segment's bytes empty.
    pub module: Vec<u8>,
    /// The emptied data section, as in `module` (id, size and contents).
    empty: Vec<u8>,
    /// The original data section (id, size and contents), in the module given (not copied:
    /// megabytes of fresh memory cost a page fault per 4 KiB).
    full: &'a [u8],
}

impl<'a> Hollow<'a> {
    /// `module` hollowed, or `None` when its data section is small or not laid out as
    /// wasm-encoder writes one (minimal LEB128 lengths).
    pub fn of(module: &'a [u8]) -> Result<Option<Hollow<'a>>> {
        let Some((range, segments)) = data_section(module)? else {
            return Ok(None);
        };
        if range.len() < MIN_DATA_BYTES {
            return Ok(None);
        }
        let mut contents = Vec::new();
        leb(&mut contents, segments.len())?;
        for (header, _) in &segments {
            contents.extend_from_slice(&module[header.clone()]);
            leb(&mut contents, 0)?;
        }
        let mut empty = vec![DATA_SECTION];
        leb(&mut empty, contents.len())?;
        empty.extend_from_slice(&contents);
        let full = &module[range.clone()];
        let mut hollow = Vec::with_capacity(module.len() - full.len() + empty.len());
        hollow.extend_from_slice(&module[..range.start]);
        hollow.extend_from_slice(&empty);
        hollow.extend_from_slice(&module[range.end..]);
        Ok(Some(Hollow {
            module: hollow,
            empty,
            full,
        }))
    }

    /// `component` (wit-component's, made from [`Hollow::module`]) with the data section put
    /// back into the one top-level module whose data section is the emptied one, in a buffer
    /// with room for `spare` more bytes (what [`super::Appender`] appends: growing it later
    /// would copy it all to fresh memory).
    pub fn fill(&self, component: &[u8], spare: usize) -> Result<Vec<u8>> {
        let mut found = None;
        // Only modules of the component itself: nested components are not searched (their
        // sizes would change too).
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(component) {
            let payload = payload?;
            let top = depth == 0;
            match &payload {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            if let (
                true,
                Payload::ModuleSection {
                    unchecked_range, ..
                },
            ) = (top, &payload)
            {
                let range =
                    usize::try_from(unchecked_range.start)?..usize::try_from(unchecked_range.end)?;
                let Some(module) = component.get(range.clone()) else {
                    bail!("internal error: a module of the main component ends early");
                };
                if let Some(at) = section_range(module, DATA_SECTION)? {
                    if module.get(at.clone()) == Some(self.empty.as_slice()) {
                        if found.is_some() {
                            bail!("internal error: two modules of the main component hold main's data");
                        }
                        found = Some((range, at));
                    }
                }
            }
        }
        let (module, at) =
            found.context("internal error: wit-component's main component lost main's data")?;
        let id = wasm_encoder::ComponentSectionId::CoreModule as u8;
        let start = super::section_start(component, &module, id)?
            .context("internal error: unexpected module section header in the main component")?;
        let new_len = module.len() - self.empty.len() + self.full.len();
        let mut out =
            Vec::with_capacity(component.len() - self.empty.len() + self.full.len() + spare);
        out.extend_from_slice(&component[..start]);
        out.push(id);
        leb(&mut out, new_len)?;
        out.extend_from_slice(&component[module.start..module.start + at.start]);
        out.extend_from_slice(self.full);
        out.extend_from_slice(&component[module.start + at.end..]);
        Ok(out)
    }
}

/// The range of `module`'s data section (id, size and contents) and of each segment's header
/// (what comes before its length and bytes) with its bytes' range; `None` without a data
/// section or with a length not written in the fewest bytes.
type Segments = Vec<(Range<usize>, Range<usize>)>;

fn data_section(module: &[u8]) -> Result<Option<(Range<usize>, Segments)>> {
    let Some(range) = section_range(module, DATA_SECTION)? else {
        return Ok(None);
    };
    let mut segments = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        if let Payload::DataSection(reader) = payload? {
            for data in reader {
                let data = data?;
                let range = usize::try_from(data.range.start)?..usize::try_from(data.range.end)?;
                let bytes_start = range
                    .end
                    .checked_sub(data.data.len())
                    .context("internal error: a data segment longer than its range")?;
                let mut len = Vec::new();
                leb(&mut len, data.data.len())?;
                let Some(header_end) = bytes_start.checked_sub(len.len()) else {
                    return Ok(None);
                };
                if module.get(header_end..bytes_start) != Some(len.as_slice()) {
                    return Ok(None);
                }
                segments.push((range.start..header_end, bytes_start..range.end));
            }
            return Ok(Some((range, segments)));
        }
    }
    Ok(None)
}

/// The range of `module`'s top-level section with `id` (id, size and contents), if its size is
/// written in the fewest bytes.
fn section_range(module: &[u8], id: u8) -> Result<Option<Range<usize>>> {
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload?;
        if let Some((sid, contents)) = payload.as_section() {
            if sid != id {
                continue;
            }
            let contents = usize::try_from(contents.start)?..usize::try_from(contents.end)?;
            let mut header = vec![id];
            leb(&mut header, contents.len())?;
            let start = contents.start.checked_sub(header.len());
            return Ok(start
                .filter(|s| module.get(*s..contents.start) == Some(header.as_slice()))
                .map(|s| s..contents.end));
        }
    }
    Ok(None)
}

/// Appends `n` as an unsigned LEB128 `u32`.
#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        ComponentSectionId, ConstExpr, DataCountSection, DataSection, MemorySection, MemoryType,
        Module, RawSection,
    };

    fn module(data: &[u8]) -> Vec<u8> {
        let mut m = Module::new();
        let mut mem = MemorySection::new();
        mem.memory(MemoryType {
            minimum: 16,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        m.section(&mem);
        m.section(&DataCountSection { count: 3 });
        let mut d = DataSection::new();
        d.active(0, &ConstExpr::i32_const(1024), data.iter().copied());
        d.passive([1u8, 2, 3]);
        d.active(0, &ConstExpr::i32_const(4), [9u8]);
        m.section(&d);
        m.finish()
    }

    fn component(modules: &[&[u8]]) -> Vec<u8> {
        let mut c = wasm_encoder::Component::new();
        for m in modules {
            c.section(&RawSection {
                id: ComponentSectionId::CoreModule as u8,
                data: m,
            });
        }
        c.finish()
    }

    #[test]
    fn filled_is_the_original() {
        let data: Vec<u8> = (0..MIN_DATA_BYTES + 7).map(|i| (i % 251) as u8).collect();
        let full = module(&data);
        let h = Hollow::of(&full)
            .unwrap()
            .expect("a large data section is hollowed");
        assert!(h.module.len() < 1024, "{}", h.module.len());
        wasmparser::Validator::new()
            .validate_all(&h.module)
            .unwrap();
        let other = module(&[1, 2, 3]);
        let filled = h.fill(&component(&[&other, &h.module]), 0).unwrap();
        assert_eq!(filled, component(&[&other, &full]));
    }

    #[test]
    fn small_data_is_kept() {
        assert!(Hollow::of(&module(&[1; 100])).unwrap().is_none());
    }

    #[test]
    fn a_lost_hollow_module_is_an_error() {
        let data = vec![7u8; MIN_DATA_BYTES];
        let m = module(&data);
        let h = Hollow::of(&m).unwrap().unwrap();
        let e = h.fill(&component(&[&module(&[1])]), 0).unwrap_err();
        assert!(format!("{e}").contains("lost main's data"), "{e}");
    }
}
