//! Pass 2 for tags (exception handling): every module that throws or catches a tag must name
//! the same tag instance, or a `catch` in one library never matches a `throw` in another.
//!
//! LLVM imports the tags it uses (`env.__cpp_exception` for C++ exceptions, `env.__c_longjmp`
//! for setjmp/longjmp) from every module, PIC or not, and no object defines them: on the web the
//! loader (emscripten's JS) creates one of each. wasm-dl does the same inside the component:
//! a tag no module defines is defined in main (`synth::main_module`), which is instantiated
//! before every library, and each import binds to it. A tag a library defines and exports is a
//! symbol like any other and found by the one precedence rule (`scope`); main's own definition
//! comes first, as main's symbols do.

use super::scope::Scope;
use super::{sig, Def, LibId, Resolution, TagSym};
use crate::parse::{Library, MainModule};
use hashbrown::HashMap;
use wasmparser::FuncType;

/// Where a tag import binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagSource {
    /// A tag of the main module: one it exports, or one wasm-dl defines there
    /// ([`Resolution::main_tags`]); main exports it as `synth::main_module::tag_export(name)`.
    Main(String),
    /// Tag `k` of a library (`Library::tags`).
    Lib(LibId, TagSym),
}

/// Every tag libraries define, by name, in load order.
pub(super) fn definitions<'a>(libs: &'a [Library<'_>]) -> HashMap<&'a str, Vec<Def>> {
    let mut defs: HashMap<&str, Vec<Def>> = HashMap::new();
    for (i, lib) in libs.iter().enumerate() {
        for (k, (name, _)) in lib.tags.iter().enumerate() {
            defs.entry(name.as_str())
                .or_default()
                .push(Def::Tag(LibId(i as u32), TagSym(k as u32)));
        }
    }
    defs
}

/// Main's own tag imports: wasm-dl defines each in main, in import order (so that no tag index
/// of main moves). A library's definition of one cannot be used: main is instantiated first.
pub(super) fn main_tags(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    defs: &HashMap<&str, Vec<Def>>,
    res: &mut Resolution,
    errors: &mut Vec<String>,
) {
    for (name, ty) in &main.tag_imports {
        if let Some(def) = defs.get(name.as_str()).and_then(|l| l.first()) {
            errors.push(format!(
                "{}: imports tag `env.{name}`, which {} defines; main is instantiated before \
                 every library, so its tags must be its own: let wasm-dl define `{name}` \
                 (remove the library's definition) or define it in main",
                main.name,
                libs[def.lib().index()].name
            ));
        }
        res.main_tags.push((name.clone(), ty.clone()));
    }
}

/// Binds a library's import of tag `env.<name>` of type `ty` (see the module docs).
#[allow(clippy::too_many_arguments)]
pub(super) fn bind(
    what: &str,
    name: &str,
    ty: &FuncType,
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    defs: &HashMap<&str, Vec<Def>>,
    scope: &Scope<'_>,
    res: &mut Resolution,
    errors: &mut Vec<String>,
) -> TagSource {
    let (source, found, owner) = if let Some(mty) = main.tags.get(name) {
        (
            TagSource::Main(name.to_string()),
            mty.clone(),
            main.name.as_str(),
        )
    } else if let Some(Def::Tag(l, k)) = defs.get(name).and_then(|list| scope.best(list, None)) {
        let lib = &libs[l.index()];
        let found = lib.tags.get(k.index()).map_or(ty, |(_, t)| t).clone();
        (TagSource::Lib(l, k), found, lib.name.as_str())
    } else {
        match res.main_tags.iter().find(|(n, _)| n == name) {
            Some((_, t)) => (
                TagSource::Main(name.to_string()),
                t.clone(),
                "an earlier import",
            ),
            None => {
                res.main_tags.push((name.to_string(), ty.clone()));
                (TagSource::Main(name.to_string()), ty.clone(), "")
            }
        }
    };
    if found != *ty {
        let other = if owner == "an earlier import" {
            importer_of(name, &found, main, libs)
                .unwrap_or(owner)
                .to_string()
        } else {
            owner.to_string()
        };
        errors.push(format!(
            "{what}: tag type mismatch: imported as {} but {other} has it as {}; every module \
             must declare `{name}` with the same payload",
            sig(ty),
            sig(&found)
        ));
    }
    source
}

/// The first module that imports tag `name` with type `ty` (for messages).
fn importer_of<'l>(
    name: &str,
    ty: &FuncType,
    main: &'l MainModule<'_>,
    libs: &'l [Library<'_>],
) -> Option<&'l str> {
    if main.tag_imports.iter().any(|(n, t)| n == name && t == ty) {
        return Some(&main.name);
    }
    libs.iter()
        .find(|l| {
            l.imports.iter().any(|i| {
                i.field == name && matches!(&i.kind, crate::parse::ImportKind::Tag(t) if t == ty)
            })
        })
        .map(|l| l.name.as_str())
}
