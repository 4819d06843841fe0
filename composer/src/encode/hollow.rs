//! wit-component's main component made from main without data, the data put in after.
//!
//! A prelinked main holds every start-up library's data image (3 MB on CPython's set), known
//! only once pass 4 has rewritten the libraries. Neither wit-component nor the plugging of the
//! provider looks at data segments: wit-component copies the module four times over (stripping
//! its custom sections, renaming duplicate imports, adding a producers section, embedding it),
//! and `plug_provider` copies the main component three times more (its stand-in), each copy
//! into fresh memory, a page fault per 4 KiB. So wit-component gets main as pass 4a shapes it
//! (`synth::MainShape`: no prelinked data) with each of its own data segments emptied and one
//! passive segment added, [`MARKER`] ([`Hollow::of`]: the same imports and exports, so the
//! same component type, made beside pass 4), and [`Hollow::fill`] puts main's whole data
//! section (`synth::main_module::MainData`) into the component it made, in place of the
//! hollow one (found byte for byte by the marker; anything else is an internal error, not a
//! guess), with the data count to match. The filled component is validated with the rest of
//! the output.

use super::leb;
use crate::parse::{section_headers, SectionAt};
use crate::synth::main_module::MainData;
use anyhow::{bail, Context, Result};
use std::ops::Range;
use wasmparser::{BinaryReader, DataSectionReader};

/// The passive segment the hollow module's data section ends with: what makes that section,
/// and so the module wit-component embeds, unique in the component (no instruction refers to
/// it; the filled module does not have it).
pub const MARKER: &[u8] = b"wasm-dl: main's data section goes here";

const DATA_SECTION: u8 = wasm_encoder::SectionId::Data as u8;
const DATA_COUNT_SECTION: u8 = wasm_encoder::SectionId::DataCount as u8;
const CUSTOM_SECTION: u8 = wasm_encoder::SectionId::Custom as u8;
const CORE_MODULE: u8 = wasm_encoder::ComponentSectionId::CoreModule as u8;

/// A main module with its data section emptied and marked.
pub struct Hollow {
    /// The module, each data segment's bytes empty, [`MARKER`] last.
    pub module: Vec<u8>,
    /// The hollow data section (id, size and contents), as in `module`.
    empty: Vec<u8>,
}

impl Hollow {
    /// `module` hollowed: its data segments emptied (or a data section added after its last
    /// section that is not custom), the marker appended, its data count raised by one.
    pub fn of(module: &[u8]) -> Result<Hollow> {
        let sections = section_headers(module)
            .context("internal error: the patched main module does not read")?;
        let data = sections.iter().find(|s| s.id == DATA_SECTION);
        let mut contents = Vec::new();
        let headers = match data {
            Some(d) => segment_headers(module, &d.contents)?,
            None => Vec::new(),
        };
        leb(&mut contents, headers.len() + 1)?;
        for header in &headers {
            contents.extend_from_slice(&module[header.clone()]);
            leb(&mut contents, 0)?;
        }
        // A passive segment: flags 1, then its bytes.
        contents.push(1);
        leb(&mut contents, MARKER.len())?;
        contents.extend_from_slice(MARKER);
        let mut empty = vec![DATA_SECTION];
        leb(&mut empty, contents.len())?;
        empty.extend_from_slice(&contents);
        let at = match data {
            Some(d) => d.range.clone(),
            None => {
                let end = sections
                    .iter()
                    .rfind(|s| s.id != CUSTOM_SECTION)
                    .map_or(8, |s| s.range.end);
                end..end
            }
        };
        let count = u32::try_from(headers.len() + 1)?;
        let module = splice(module, &sections, &at, &empty, count)?;
        Ok(Hollow { module, empty })
    }

    /// `component` (wit-component's, made from [`Hollow::module`]) with `data` in place of the
    /// hollow data section of the one top-level module that has it (and its data count, if it
    /// declares one, `data`'s), in a buffer with room for `spare` more bytes (what
    /// [`super::Appender`] appends: growing it later would copy it all to fresh memory).
    pub fn fill(&self, component: &[u8], data: &MainData, spare: usize) -> Result<Vec<u8>> {
        let sections = section_headers(component)
            .context("internal error: wit-component's main component does not read")?;
        let mut found = None;
        for s in sections.iter().filter(|s| s.id == CORE_MODULE) {
            let module = &component[s.contents.clone()];
            let Some(inner) = section_headers(module) else {
                bail!("internal error: a module of the main component does not read");
            };
            let hollow = inner
                .iter()
                .find(|m| m.id == DATA_SECTION)
                .filter(|m| module.get(m.range.clone()) == Some(self.empty.as_slice()));
            if let Some(d) = hollow {
                if found.is_some() {
                    bail!("internal error: two modules of the main component hold main's data");
                }
                found = Some((s, inner.clone(), d.range.clone()));
            }
        }
        let (section, inner, at) =
            found.context("internal error: wit-component's main component lost main's data")?;
        let module = &component[section.contents.clone()];
        let filled = splice(module, &inner, &at, &data.section, data.count)?;
        let mut out = Vec::with_capacity(component.len() + data.section.len() + spare);
        out.extend_from_slice(&component[..section.range.start]);
        out.push(CORE_MODULE);
        leb(&mut out, filled.len())?;
        out.extend_from_slice(&filled);
        out.extend_from_slice(&component[section.range.end..]);
        Ok(out)
    }
}

/// `module` (its `sections`) with `data` (a data section) in place of the bytes `at` and its
/// data count section, if any, saying `count`.
fn splice(
    module: &[u8],
    sections: &[SectionAt],
    at: &Range<usize>,
    data: &[u8],
    count: u32,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(module.len() - at.len() + data.len());
    let mut from = 0;
    if let Some(dc) = sections.iter().find(|s| s.id == DATA_COUNT_SECTION) {
        if dc.range.end > at.start {
            bail!("internal error: main's data count section follows its data section");
        }
        out.extend_from_slice(&module[..dc.range.start]);
        let mut contents = Vec::new();
        leb(&mut contents, count as usize)?;
        out.push(DATA_COUNT_SECTION);
        leb(&mut out, contents.len())?;
        out.extend_from_slice(&contents);
        from = dc.range.end;
    }
    out.extend_from_slice(&module[from..at.start]);
    out.extend_from_slice(data);
    out.extend_from_slice(&module[at.end..]);
    Ok(out)
}

/// The range of each segment's header (what comes before its length and bytes) of the data
/// section with `contents` in `module` (written by wasm-encoder: lengths in the fewest bytes).
fn segment_headers(module: &[u8], contents: &Range<usize>) -> Result<Vec<Range<usize>>> {
    let reader = DataSectionReader::new(BinaryReader::new(
        &module[contents.clone()],
        contents.start as u64,
    ))?;
    let mut headers = Vec::new();
    for data in reader {
        let data = data?;
        let range = usize::try_from(data.range.start)?..usize::try_from(data.range.end)?;
        let bytes_start = range
            .end
            .checked_sub(data.data.len())
            .context("internal error: a data segment longer than its range")?;
        let mut len = Vec::new();
        leb(&mut len, data.data.len())?;
        let header_end = bytes_start
            .checked_sub(len.len())
            .filter(|h| module.get(*h..bytes_start) == Some(len.as_slice()))
            .context("internal error: a data segment's length not in the fewest bytes")?;
        headers.push(range.start..header_end);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::main_module;
    use wasm_encoder::{
        ComponentSectionId, ConstExpr, DataCountSection, DataSection, MemorySection, MemoryType,
        Module, RawSection,
    };

    /// A module with a memory and, if `data` is given, a data count and these segments (a
    /// passive one second).
    fn module(data: Option<&[&[u8]]>) -> Vec<u8> {
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
        if let Some(segments) = data {
            m.section(&DataCountSection {
                count: segments.len() as u32,
            });
            let mut d = DataSection::new();
            for (k, bytes) in segments.iter().enumerate() {
                match k {
                    1 => d.passive(bytes.iter().copied()),
                    _ => d.active(
                        0,
                        &ConstExpr::i32_const(1024 * k as i32),
                        bytes.iter().copied(),
                    ),
                };
            }
            m.section(&d);
        }
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

    fn valid(module: &[u8]) {
        wasmparser::Validator::new().validate_all(module).unwrap();
    }

    #[test]
    fn filled_has_the_whole_data_and_its_count() {
        let own: [&[u8]; 2] = [&[1, 2, 3], &[4, 5]];
        let shaped = module(Some(&own));
        let big = vec![7u8; 100_000];
        let data = main_module::data(&shaped, [(2048u32, big.clone())].iter()).unwrap();
        assert_eq!(data.count, 3);
        let h = Hollow::of(&shaped).unwrap();
        valid(&h.module);
        assert!(h.module.len() < 200, "{}", h.module.len());
        let other = module(Some(&[&[1, 2, 3]]));
        let filled = h.fill(&component(&[&other, &h.module]), &data, 0).unwrap();
        let whole = module(Some(&[&[1, 2, 3], &[4, 5], &big]));
        valid(&whole);
        assert_eq!(filled, component(&[&other, &whole]));
    }

    #[test]
    fn a_main_without_data_gets_a_data_section() {
        let shaped = module(None);
        let h = Hollow::of(&shaped).unwrap();
        valid(&h.module);
        let data = main_module::data(&shaped, [(0u32, vec![9u8; 5])].iter()).unwrap();
        let filled = h.fill(&component(&[&h.module]), &data, 0).unwrap();
        let mut whole = shaped.clone();
        whole.extend_from_slice(&data.section);
        valid(&whole);
        assert_eq!(filled, component(&[&whole]));
    }

    #[test]
    fn a_lost_or_doubled_hollow_module_is_an_error() {
        let shaped = module(Some(&[&[1]]));
        let h = Hollow::of(&shaped).unwrap();
        let data = main_module::data(&shaped, []).unwrap();
        let e = h.fill(&component(&[&shaped]), &data, 0).unwrap_err();
        assert!(format!("{e}").contains("lost main's data"), "{e}");
        let e = h
            .fill(&component(&[&h.module, &h.module]), &data, 0)
            .unwrap_err();
        assert!(format!("{e}").contains("two modules"), "{e}");
    }
}
