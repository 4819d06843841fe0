//! A `dylink.0` section as data: decoded from a module, changed, encoded again.
//! (Tool Conventions, DynamicLinking.md: subsections MEM_INFO = 1, NEEDED = 2, EXPORT_INFO = 3,
//! IMPORT_INFO = 4; all integers LEB128.)

use arbitrary::{Arbitrary, Result, Unstructured};

/// MEM_INFO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub memory_size: u32,
    pub memory_align: u32,
    pub table_size: u32,
    pub table_align: u32,
}

/// One subsection, in the order they are written. `Raw` keeps an unknown (or deliberately
/// malformed) subsection's bytes.
#[derive(Clone, Debug)]
pub enum Sub {
    MemInfo(MemInfo),
    Needed(Vec<String>),
    ExportInfo(Vec<(String, u32)>),
    ImportInfo(Vec<(String, String, u32)>),
    Raw(u8, Vec<u8>),
}

/// A whole section.
#[derive(Clone, Debug, Default)]
pub struct Dylink {
    pub subs: Vec<Sub>,
}

pub fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

pub fn name(out: &mut Vec<u8>, s: &str) {
    leb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

impl Dylink {
    /// Decodes the `dylink.0` custom section's payload (wasmparser's reader); None if malformed.
    pub fn decode(data: &[u8], offset: u64) -> Option<Dylink> {
        use wasmparser::Dylink0Subsection as S;
        let reader =
            wasmparser::Dylink0SectionReader::new(wasmparser::BinaryReader::new(data, offset));
        let mut subs = Vec::new();
        for sub in reader {
            subs.push(match sub.ok()? {
                S::MemInfo(m) => Sub::MemInfo(MemInfo {
                    memory_size: m.memory_size,
                    memory_align: m.memory_alignment,
                    table_size: m.table_size,
                    table_align: m.table_alignment,
                }),
                S::Needed(n) => Sub::Needed(n.iter().map(|s| s.to_string()).collect()),
                S::ExportInfo(e) => Sub::ExportInfo(
                    e.iter()
                        .map(|i| (i.name.to_string(), i.flags.bits()))
                        .collect(),
                ),
                S::ImportInfo(e) => Sub::ImportInfo(
                    e.iter()
                        .map(|i| (i.module.to_string(), i.field.to_string(), i.flags.bits()))
                        .collect(),
                ),
                S::RuntimePath(_) => continue,
                S::Unknown { ty, data, .. } => Sub::Raw(ty, data.to_vec()),
            });
        }
        Some(Dylink { subs })
    }

    /// The custom section's payload (without the section header and name).
    pub fn payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.subs {
            let mut body = Vec::new();
            let id = match s {
                Sub::MemInfo(m) => {
                    for v in [m.memory_size, m.memory_align, m.table_size, m.table_align] {
                        leb(&mut body, v.into());
                    }
                    1
                }
                Sub::Needed(n) => {
                    leb(&mut body, n.len() as u64);
                    for s in n {
                        name(&mut body, s);
                    }
                    2
                }
                Sub::ExportInfo(e) => {
                    leb(&mut body, e.len() as u64);
                    for (n, f) in e {
                        name(&mut body, n);
                        leb(&mut body, (*f).into());
                    }
                    3
                }
                Sub::ImportInfo(e) => {
                    leb(&mut body, e.len() as u64);
                    for (m, n, f) in e {
                        name(&mut body, m);
                        name(&mut body, n);
                        leb(&mut body, (*f).into());
                    }
                    4
                }
                Sub::Raw(id, bytes) => {
                    body.extend_from_slice(bytes);
                    *id
                }
            };
            out.push(id);
            leb(&mut out, body.len() as u64);
            out.extend_from_slice(&body);
        }
        out
    }

    /// The whole custom section (id 0, size, name `dylink.0`, payload).
    pub fn section(&self) -> Vec<u8> {
        let mut body = Vec::new();
        name(&mut body, "dylink.0");
        body.extend_from_slice(&self.payload());
        let mut out = vec![0u8];
        leb(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        out
    }

    pub fn mem_info_mut(&mut self) -> &mut MemInfo {
        let i = match self.subs.iter().position(|s| matches!(s, Sub::MemInfo(_))) {
            Some(i) => i,
            None => {
                self.subs.insert(0, Sub::MemInfo(MemInfo::default()));
                0
            }
        };
        match &mut self.subs[i] {
            Sub::MemInfo(m) => m,
            _ => unreachable!(),
        }
    }
}

/// A u32 biased towards the values that break size arithmetic: small ones, powers of two and
/// their neighbours, and the top of the range.
pub fn interesting_u32(u: &mut Unstructured<'_>) -> Result<u32> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 | 1 | 2 => u.int_in_range(0..=64)?,
        3 => {
            let p = u.int_in_range(0..=31u32)?;
            let d = u.int_in_range(0..=2u32)?;
            (1u32 << p).wrapping_add(d).wrapping_sub(1)
        }
        4 => u32::MAX - u.int_in_range(0..=64)?,
        5 => 0x8000_0000u32
            .wrapping_add(u.int_in_range(0..=4u32)?)
            .wrapping_sub(2),
        6 => u.int_in_range(0..=1 << 20)?,
        _ => u32::arbitrary(u)?,
    })
}

/// Flags of EXPORT_INFO/IMPORT_INFO: the defined bits, sometimes any bits.
pub fn symbol_flags(u: &mut Unstructured<'_>) -> Result<u32> {
    // BINDING_WEAK 1, BINDING_LOCAL 2, VISIBILITY_HIDDEN 4, UNDEFINED 0x10, EXPORTED 0x20,
    // EXPLICIT_NAME 0x40, NO_STRIP 0x80, TLS 0x100, ABSOLUTE 0x200.
    const BITS: [u32; 10] = [1, 2, 4, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200, 0x400];
    if u.ratio(1, 16)? {
        return u32::arbitrary(u);
    }
    // TLS (0x100) is rare: the composer refuses it outright.
    let mut f = 0;
    for b in BITS {
        if u.ratio(1, if b == 0x100 { 40 } else { 6 })? {
            f |= b;
        }
    }
    Ok(f)
}
