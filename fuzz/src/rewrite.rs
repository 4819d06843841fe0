//! Structure-aware mutation of a real module: its `dylink.0` changed or forged, imports renamed
//! into `env`/`GOT.mem`/`GOT.func` (and other modules), exports renamed to symbols other modules
//! use or to the names the composer treats specially. Everything else is copied as is, so the
//! module stays valid unless the renaming makes two exports collide.

use crate::dylink::{interesting_u32, symbol_flags, Dylink, MemInfo, Sub};
use arbitrary::{Result, Unstructured};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::Section;
use wasmparser::{Parser, Payload};

/// Names the composer gives meaning to, and a few plain symbols.
pub const SPECIAL: &[&str] = &[
    "memory",
    "__indirect_function_table",
    "__stack_pointer",
    "__memory_base",
    "__table_base",
    "__wasm_call_ctors",
    "__wasm_call_dtors",
    "__wasm_apply_data_relocs",
    "__wasm_apply_global_relocs",
    "_initialize",
    "_start",
    "malloc",
    "free",
    "cabi_realloc",
    "__cxa_atexit",
    "dlopen",
    "dlsym",
    "dlclose",
    "dlerror",
    "dladdr",
    "wasi:cli/run@0.2.0#run",
    "f0",
    "f1",
    "f2",
    "d0",
    "d1",
];

/// Import modules worth renaming into.
pub const MODULES: &[&str] = &[
    "env",
    "env",
    "env",
    "GOT.mem",
    "GOT.func",
    "wasm-dl",
    "wasi_snapshot_preview1",
    "wasi:cli/environment@0.2.0",
    "other",
];

/// A symbol name: one another input uses (`names`), a special one, or arbitrary.
pub fn pick_name(u: &mut Unstructured<'_>, names: &[String]) -> Result<String> {
    Ok(match u.int_in_range(0..=9u8)? {
        0..=4 if !names.is_empty() => u.choose(names)?.clone(),
        0..=7 => u.choose(SPECIAL)?.to_string(),
        8 => String::new(),
        _ => {
            let s: String = u.arbitrary()?;
            s.chars().take(24).collect()
        }
    })
}

/// The import and export names of a module (for cross-module renaming).
pub fn names(module: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for p in Parser::new(0).parse_all(module) {
        match p {
            Ok(Payload::ImportSection(r)) => {
                for i in r.into_imports().flatten() {
                    out.push(i.name.to_string());
                }
            }
            Ok(Payload::ExportSection(r)) => {
                for e in r.into_iter().flatten() {
                    out.push(e.name.to_string());
                }
            }
            Err(_) => break,
            _ => {}
        }
    }
    out
}

/// Changes a decoded (or empty) `dylink.0`: MEM_INFO fields, NEEDED names, EXPORT_INFO and
/// IMPORT_INFO flags, subsection order, a raw subsection.
pub fn mutate_dylink(
    u: &mut Unstructured<'_>,
    d: &mut Dylink,
    libs: &[String],
    names: &[String],
) -> Result<()> {
    let n = u.int_in_range(0..=4u8)?;
    for _ in 0..n {
        match u.int_in_range(0..=9u8)? {
            0..=2 => {
                let m: &mut MemInfo = d.mem_info_mut();
                match u.int_in_range(0..=3u8)? {
                    0 => m.memory_size = interesting_u32(u)?,
                    1 => m.memory_align = u.int_in_range(0..=40)?,
                    2 => m.table_size = interesting_u32(u)?,
                    _ => m.table_align = u.int_in_range(0..=40)?,
                }
            }
            3 => {
                let mut needed = Vec::new();
                for _ in 0..u.int_in_range(0..=3u8)? {
                    needed.push(match u.int_in_range(0..=3u8)? {
                        0..=1 if !libs.is_empty() => u.choose(libs)?.clone(),
                        2 => "libmissing.so".into(),
                        _ => pick_name(u, &[])?,
                    });
                }
                d.subs.push(Sub::Needed(needed));
            }
            4 | 5 => {
                let mut e = Vec::new();
                for _ in 0..u.int_in_range(1..=4u8)? {
                    e.push((pick_name(u, names)?, symbol_flags(u)?));
                }
                d.subs.push(Sub::ExportInfo(e));
            }
            6 | 7 => {
                let mut e = Vec::new();
                for _ in 0..u.int_in_range(1..=4u8)? {
                    let module = if u.ratio(7, 8)? {
                        "env".to_string()
                    } else {
                        u.choose(MODULES)?.to_string()
                    };
                    e.push((module, pick_name(u, names)?, symbol_flags(u)?));
                }
                d.subs.push(Sub::ImportInfo(e));
            }
            8 if !d.subs.is_empty() => {
                let i = u.choose_index(d.subs.len())?;
                d.subs.remove(i);
            }
            8 => {}
            _ => {
                let id = u.int_in_range(0..=6u8)?;
                let bytes: Vec<u8> = u.arbitrary()?;
                d.subs
                    .push(Sub::Raw(id, bytes.into_iter().take(16).collect()));
            }
        }
    }
    Ok(())
}

/// What to do to one module.
pub struct Plan<'a> {
    /// Other libraries' names (NEEDED candidates).
    pub libs: &'a [String],
    /// Symbol names of the whole composition.
    pub names: &'a [String],
    /// Add a `dylink.0` when there is none.
    pub forge_dylink: bool,
}

/// Rewrites `module` under the control of `u`. Returns None when the bytes are not a module
/// wasmparser can walk (they are then used as they are).
pub fn rewrite(u: &mut Unstructured<'_>, module: &[u8], plan: &Plan<'_>) -> Option<Vec<u8>> {
    rewrite_inner(u, module, plan).ok().flatten()
}

fn rewrite_inner(
    u: &mut Unstructured<'_>,
    module: &[u8],
    plan: &Plan<'_>,
) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::from(&module[..module.len().min(8)]);
    if module.len() < 8 {
        return Ok(None);
    }
    let rename_imports = u.ratio(1, 2)?;
    let rename_exports = u.ratio(1, 2)?;
    let touch_dylink = u.ratio(2, 3)?;
    let mut saw_dylink = false;
    let mut pending = Vec::new();
    for p in Parser::new(0).parse_all(module) {
        let Ok(p) = p else { return Ok(None) };
        match &p {
            Payload::CustomSection(c) if c.name() == "dylink.0" => {
                saw_dylink = true;
                if touch_dylink {
                    let mut d = Dylink::decode(c.data(), c.data_offset()).unwrap_or_default();
                    mutate_dylink(u, &mut d, plan.libs, plan.names)?;
                    out.extend_from_slice(&d.section());
                    continue;
                }
            }
            Payload::ImportSection(r) if rename_imports => {
                let mut s = wasm_encoder::ImportSection::new();
                for imp in r.clone().into_imports() {
                    let Ok(imp) = imp else { return Ok(None) };
                    let Ok(ty) = RoundtripReencoder.entity_type(imp.ty) else {
                        return Ok(None);
                    };
                    let (module, name) = if u.ratio(1, 3)? {
                        (u.choose(MODULES)?.to_string(), pick_name(u, plan.names)?)
                    } else {
                        (imp.module.to_string(), imp.name.to_string())
                    };
                    s.import(&module, &name, ty);
                }
                s.append_to(&mut out);
                continue;
            }
            Payload::ExportSection(r) if rename_exports => {
                let mut s = wasm_encoder::ExportSection::new();
                let mut taken = std::collections::HashSet::new();
                let exports: Vec<_> = r
                    .clone()
                    .into_iter()
                    .collect::<std::result::Result<_, _>>()
                    .unwrap_or_default();
                for e in &exports {
                    taken.insert(e.name.to_string());
                }
                for e in exports {
                    let mut name = e.name.to_string();
                    if u.ratio(1, 3)? {
                        let n = pick_name(u, plan.names)?;
                        if taken.insert(n.clone()) {
                            name = n;
                        }
                    }
                    let Ok(kind) = RoundtripReencoder.export_kind(e.kind) else {
                        return Ok(None);
                    };
                    s.export(&name, kind, e.index);
                }
                s.append_to(&mut out);
                continue;
            }
            _ => {}
        }
        if let Some((id, range)) = p.as_section() {
            // A forged `dylink.0` goes first, where wasm-ld puts it.
            if !saw_dylink && plan.forge_dylink && u.ratio(1, 2)? {
                saw_dylink = true;
                let mut d = Dylink::default();
                mutate_dylink(u, &mut d, plan.libs, plan.names)?;
                pending.extend_from_slice(&d.section());
            }
            out.extend_from_slice(&pending);
            pending.clear();
            out.push(id);
            let (start, end) = (range.start as usize, range.end as usize);
            crate::dylink::leb(&mut out, (end - start) as u64);
            let Some(body) = module.get(start..end) else {
                return Ok(None);
            };
            out.extend_from_slice(body);
        }
    }
    Ok(Some(out))
}

/// Gives every exported immutable i32 global of `module` a constant initializer (`i32.const`,
/// small values: offsets into the library's memory), as wasm-ld writes data symbols; wasm-smith
/// often initializes them from an imported global instead. None if the module cannot be walked.
pub fn constant_data_exports(u: &mut Unstructured<'_>, module: &[u8]) -> Option<Vec<u8>> {
    let mut imported_globals = 0u32;
    let mut exported = std::collections::HashSet::new();
    for p in Parser::new(0).parse_all(module) {
        match p.ok()? {
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    if matches!(i.ok()?.ty, wasmparser::TypeRef::Global(_)) {
                        imported_globals += 1;
                    }
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.ok()?;
                    if e.kind == wasmparser::ExternalKind::Global {
                        exported.insert(e.index);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::from(module.get(..8)?);
    for p in Parser::new(0).parse_all(module) {
        let p = p.ok()?;
        if let Payload::GlobalSection(r) = &p {
            let mut s = wasm_encoder::GlobalSection::new();
            for (k, g) in r.clone().into_iter().enumerate() {
                let g = g.ok()?;
                let index = imported_globals + k as u32;
                let ty = RoundtripReencoder.global_type(g.ty).ok()?;
                let data = exported.contains(&index)
                    && !g.ty.mutable
                    && g.ty.content_type == wasmparser::ValType::I32;
                let init = if data {
                    wasm_encoder::ConstExpr::i32_const(u.int_in_range(0..=256).unwrap_or(0) * 4)
                } else {
                    RoundtripReencoder.const_expr(g.init_expr).ok()?
                };
                s.global(ty, &init);
            }
            s.append_to(&mut out);
            continue;
        }
        if let Some((id, range)) = p.as_section() {
            let body = module.get(range.start as usize..range.end as usize)?;
            out.push(id);
            crate::dylink::leb(&mut out, body.len() as u64);
            out.extend_from_slice(body);
        }
    }
    Some(out)
}
