//! Whether a component has the type of a smaller stand-in for it: what lets the provider be
//! plugged into, and the plugged component be validated with, the stand-in while the real
//! component is validated on its own (see [`crate::encode::plug_provider`]).

use anyhow::{bail, Context, Result};

const CORE_MODULE: u8 = wasm_encoder::ComponentSectionId::CoreModule as u8;
const CORE_INSTANCE: u8 = wasm_encoder::ComponentSectionId::CoreInstance as u8;
const DATA: u8 = wasm_encoder::SectionId::Data as u8;
const DATA_COUNT: u8 = wasm_encoder::SectionId::DataCount as u8;

/// Checks that component `real` has the type (imports and exports) of component `stand_in`, by
/// its structure: `real` is `stand_in`, section for section and byte for byte, except that
/// (a) a core module section may differ in its module's data and data count sections and (b)
/// core module and core instance sections may follow. A component's type is the types of its
/// imports and exports; (a) changes no module's type (its imports and exports: data segments
/// are neither); (b) declares no import or export and only
/// adds indices past every one the stand-in's sections name, so every import and export
/// reads the same. Whether `real` is valid is a separate question (its own validation).
pub fn check_stand_in(real: &[u8], stand_in: &[u8]) -> Result<()> {
    let real_sections = sections(real).context("internal error: reading the composed component")?;
    let stand_in_sections = sections(stand_in).context("internal error: reading the stand-in")?;
    if real.get(..8) != stand_in.get(..8) {
        bail!("internal error: the composed component's header is not its stand-in's");
    }
    let mut real_sections = real_sections.into_iter();
    for (k, s) in stand_in_sections.into_iter().enumerate() {
        let Some(r) = real_sections.next() else {
            bail!("internal error: the composed component lacks section {k} of its stand-in");
        };
        let same = r == s || (r.0 == CORE_MODULE && s.0 == CORE_MODULE && same_but_data(r.1, s.1));
        if !same {
            bail!("internal error: section {k} of the composed component is not its stand-in's");
        }
    }
    for (id, _) in real_sections {
        if id != CORE_MODULE && id != CORE_INSTANCE {
            bail!("internal error: the composed component adds a section {id} to its stand-in");
        }
    }
    Ok(())
}

/// Whether core modules `a` and `b` are the same section for section, except their data and
/// data count sections' contents.
fn same_but_data(a: &[u8], b: &[u8]) -> bool {
    let (Some(x), Some(y)) = (sections(a), sections(b)) else {
        return false;
    };
    a.get(..8) == b.get(..8)
        && x.len() == y.len()
        && x.iter()
            .zip(&y)
            .all(|(p, q)| p == q || (p.0 == q.0 && (p.0 == DATA || p.0 == DATA_COUNT)))
}

/// The top-level sections of a module or component (`id`, contents), from the section
/// headers; `None` where they do not read.
fn sections(bytes: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    crate::parse::section_headers(bytes)?
        .into_iter()
        .map(|s| Some((s.id, bytes.get(s.contents)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{Component, ComponentSectionId, RawSection};

    fn component(sections: &[(ComponentSectionId, &[u8])]) -> Vec<u8> {
        let mut c = Component::new();
        for (id, data) in sections {
            c.section(&RawSection {
                id: *id as u8,
                data,
            });
        }
        c.finish()
    }

    fn module(data: &[u8], export: &str) -> Vec<u8> {
        let text = format!(
            r#"(module (memory 1) (export "{export}" (memory 0)) (data (i32.const 0) "{}"))"#,
            String::from_utf8_lossy(data)
        );
        wat::parse_str(text).unwrap()
    }

    #[test]
    fn data_and_appended_modules_keep_the_type() {
        use ComponentSectionId::{CoreInstance, CoreModule};
        let hollow = module(b"", "m");
        let full = module(b"abc", "m");
        let other = module(b"", "n");
        let stand_in = component(&[(CoreModule, &hollow)]);
        let real = component(&[(CoreModule, &full), (CoreModule, &other)]);
        check_stand_in(&real, &stand_in).unwrap();
        // An export changed: not the same type.
        let renamed = component(&[(CoreModule, &module(b"abc", "x"))]);
        assert!(check_stand_in(&renamed, &stand_in).is_err());
        // Anything but modules and core instances appended: refused.
        let extra = component(&[(CoreModule, &full), (ComponentSectionId::Export, &[0])]);
        assert!(check_stand_in(&extra, &stand_in).is_err());
        let instance = component(&[(CoreModule, &full), (CoreInstance, &[0])]);
        check_stand_in(&instance, &stand_in).unwrap();
        // A section of the stand-in missing: refused.
        assert!(check_stand_in(&component(&[]), &stand_in).is_err());
    }
}
